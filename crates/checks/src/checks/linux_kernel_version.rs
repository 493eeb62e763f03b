//! `linux.kernel-version` (Alibaba `GUESTOS.KernelVersion`): the default boot kernel's version.
//!
//! Rule from checks.md §2 `kernel_version` (virt-v2v linux_kernels.ml): informational — the
//! kernel of the boot loader's default entry, read from the entry's `linux` line and matched to
//! `/boot/vmlinuz-<v>`. Not evaluated when no default kernel can be determined. Our own code.

use super::linux_virtio::{default_kernel, linux_facts};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.kernel-version",
    alibaba_item: Some("GUESTOS.KernelVersion"),
    title: "Default kernel version",
    applies_to: Applicability::Linux,
    inputs: &[
        "guest.linux.boot.default_entry",
        "/boot/vmlinuz-<version>",
        "grub.cfg / BLS entries",
    ],
    remedy: "Make sure the boot loader's default entry boots an installed kernel.",
    references: &[
        "Alibaba Cloud image check: GUESTOS.KernelVersion",
        "virt-v2v linux_kernels.ml",
    ],
    description: "Informational: the version of the default kernel and where the default entry \
is defined. Not evaluated when the boot loader's default entry matches no installed kernel.",
};

/// The check.
pub struct KernelVersion;

impl Check for KernelVersion {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let k = match default_kernel(lf) {
            Ok(k) => k,
            Err(v) => return v,
        };
        let from = match &lf.boot.default_entry {
            Some(e) => format!(
                "default entry {:?} in {} line {}",
                e.title, e.source, e.line
            ),
            None => "the only installed kernel".into(),
        };
        Verdict::pass_with(format!("{} ({}; {from})", k.version, k.image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn reports_the_default_kernel() {
        let mut lf = good_linux_facts();
        lf.boot.default_entry = Some(imgcheck_inspect::bootloader::BootEntry {
            title: "Debian GNU/Linux".into(),
            source: "/boot/grub/grub.cfg".into(),
            line: 90,
            ..Default::default()
        });
        let d = assert_pass(&KernelVersion.run(&with_linux(lf), &TargetProfile::alibaba()));
        assert_eq!(
            d.as_deref(),
            Some("6.1.0-28-cloud-amd64 (/boot/vmlinuz-6.1.0-28-cloud-amd64; default entry \"Debian GNU/Linux\" in /boot/grub/grub.cfg line 90)")
        );
    }

    #[test]
    fn no_default_kernel_is_not_evaluated() {
        let mut lf = good_linux_facts();
        lf.kernels[0].default = false;
        assert_not_evaluated(&KernelVersion.run(&with_linux(lf), &TargetProfile::alibaba()));
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&KernelVersion.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
