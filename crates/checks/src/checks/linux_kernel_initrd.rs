//! `linux.kernel-initrd`: the default kernel image, its initramfs and its module directory
//! exist.
//!
//! Rule from checks.md §2 `kernel_initrd_present` (virt-v2v linux_kernels.ml: "no initrd
//! found" / "only Xen kernels"): the boot loader's default kernel must exist, have a matching
//! initramfs (`/boot/initramfs-<v>.img`, `/boot/initrd.img-<v>`, `/boot/initrd-<v>`) and
//! `/lib/modules/<v>`. Strongly recommended. Our own code.

use super::linux_virtio::{default_kernel, linux_facts};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.kernel-initrd",
    alibaba_item: None,
    title: "Default kernel, initramfs and modules present",
    applies_to: Applicability::Linux,
    inputs: &[
        "guest.linux.kernels[default]",
        "/boot/vmlinuz-<version>",
        "/boot/initramfs-<version>.img, /boot/initrd.img-<version>, /boot/initrd-<version>",
        "/lib/modules/<version>",
    ],
    remedy: "Reinstall the default kernel package (it recreates the image and modules) and \
regenerate its initramfs (dracut -f, update-initramfs -u, mkinitrd).",
    references: &["virt-v2v linux_kernels.ml: kernels without initrd / modules are rejected"],
    description: "For the boot loader's default kernel: a missing initramfs or missing \
/lib/modules/<version> is a strongly recommended fix (the root disk driver cannot be loaded). \
Not evaluated when no default kernel can be found.",
};

/// The check.
pub struct KernelInitrd;

impl Check for KernelInitrd {
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
        let mut out = Vec::new();
        match &k.initrd {
            None => out.push(Finding::strongly(
                format!(
                    "default kernel {} ({}) has no initramfs (looked for /boot/initramfs-{v}.img, \
                     /boot/initrd.img-{v}, /boot/initrd-{v})",
                    k.version,
                    k.image,
                    v = k.version
                ),
                META.remedy,
            )),
            Some(p) => {
                if let Some(err) = k.initrd_summary.as_ref().and_then(|s| s.error.as_ref()) {
                    out.push(
                        Finding::strongly(
                            format!(
                                "initramfs {p} of default kernel {} is unreadable",
                                k.version
                            ),
                            "Regenerate the initramfs (dracut -f, update-initramfs -u).",
                        )
                        .with_evidence(err.clone()),
                    );
                }
            }
        }
        if !k.modules_dir {
            out.push(Finding::strongly(
                format!(
                    "/lib/modules/{} does not exist for default kernel {}",
                    k.version, k.image
                ),
                META.remedy,
            ));
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{} with {} and /lib/modules/{}",
                k.image,
                k.initrd.as_deref().unwrap_or("-"),
                k.version
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn complete_kernel_passes() {
        let d = assert_pass(
            &KernelInitrd.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
        );
        assert!(d
            .unwrap()
            .starts_with("/boot/vmlinuz-6.1.0-28-cloud-amd64 with /boot/initrd.img-"));
    }

    #[test]
    fn missing_initrd_and_modules_are_strongly_recommended() {
        let mut lf = good_linux_facts();
        lf.kernels[0].initrd = None;
        lf.kernels[0].modules_dir = false;
        let f = findings(
            &KernelInitrd.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[StronglyRecommended; 2],
        );
        assert!(f[0].message.contains("has no initramfs"));
        assert!(f[1]
            .message
            .starts_with("/lib/modules/6.1.0-28-cloud-amd64 does not exist"));
        lf = good_linux_facts();
        lf.kernels[0].initrd_summary.as_mut().unwrap().error = Some("gzip: invalid header".into());
        let f = findings(
            &KernelInitrd.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(f[0].message.ends_with("is unreadable"));
    }

    #[test]
    fn no_default_kernel_is_not_evaluated() {
        let mut lf = good_linux_facts();
        lf.kernels.clear();
        let r = assert_not_evaluated(&KernelInitrd.run(&with_linux(lf), &TargetProfile::alibaba()));
        assert_eq!(r, "no installed kernel was found under /boot");
    }
}
