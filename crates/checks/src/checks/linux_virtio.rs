//! `linux.virtio` (Alibaba `GUESTOS.Virtio`): the default kernel can drive virtio devices.
//!
//! Rule from checks.md §2 `virtio_kernel`: `virtio_blk`, `virtio_net` and `virtio_pci` must be
//! built in or available as modules of the default boot kernel (`virtio_scsi` is reported as
//! evidence but not required: a virtio-blk system disk does not need it). The kernel facts come
//! from `/boot/config-<v>`, `/lib/modules/<v>/modules.builtin` and the module inventory
//! (imgcheck-inspect `kconfig`). Only targets whose profile says `needs_virtio` are concerned.
//! Our own code.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::kconfig::DriverStatus;
use imgcheck_inspect::linux::{KernelInfo, LinuxFacts};

static META: CheckMeta = CheckMeta {
    id: "linux.virtio",
    alibaba_item: Some("GUESTOS.Virtio"),
    title: "Virtio drivers in the default kernel",
    applies_to: Applicability::Linux,
    inputs: &[
        "guest.linux.kernels[default].drivers",
        "/boot/config-<version>",
        "/lib/modules/<version>/modules.builtin",
        "/lib/modules/<version>/modules.dep",
    ],
    remedy: "Install a kernel that includes the virtio block, network and PCI drivers (the \
distribution's generic or cloud kernel does) and make it the default boot entry.",
    references: &[
        "Alibaba Cloud: Install a virtio driver (GUESTOS.Virtio, priority High)",
        "virt-v2v linux_kernels.ml: ki_supports_virtio_blk / ki_supports_virtio_net",
    ],
    description: "Finds the kernel of the boot loader's default entry and asks, for virtio_blk, \
virtio_net and virtio_pci, whether it is built in (modules.builtin or CONFIG_X=y) or a module \
file exists. A missing driver is a strongly recommended fix on targets with virtio devices \
(the disk or network would not be found); other targets get Not applicable.",
};

/// Drivers a virtio system disk and NIC need.
pub(crate) const REQUIRED: &[&str] = &["virtio_blk", "virtio_net", "virtio_pci"];

/// The check.
pub struct Virtio;

/// The Linux facts, or why they are missing.
pub(crate) fn linux_facts(facts: &Facts) -> Result<&LinuxFacts, Verdict> {
    facts
        .guest
        .as_ref()
        .and_then(|g| g.linux.as_ref())
        .ok_or_else(|| Verdict::not_evaluated("no Linux facts were collected from the guest"))
}

/// The default boot kernel, or why there is none.
pub(crate) fn default_kernel(lf: &LinuxFacts) -> Result<&KernelInfo, Verdict> {
    lf.kernels.iter().find(|k| k.default).ok_or_else(|| {
        Verdict::not_evaluated(if lf.kernels.is_empty() {
            "no installed kernel was found under /boot".to_string()
        } else {
            format!(
                "no default kernel found: the boot loader's default entry matches none of the \
                 {} installed kernels",
                lf.kernels.len()
            )
        })
    })
}

/// `builtin (evidence)`, `module (path)`, `absent`.
pub(crate) fn describe(status: Option<&DriverStatus>) -> String {
    match status {
        Some(DriverStatus::Builtin { evidence }) => format!("built in ({evidence})"),
        Some(DriverStatus::Module { path }) => format!("module {path}"),
        Some(DriverStatus::Absent {
            config_says_module: true,
        }) => "absent (config says =m but no module file)".into(),
        Some(DriverStatus::Absent { .. }) => "absent".into(),
        None => "not inspected".into(),
    }
}

impl Check for Virtio {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if !profile.needs_virtio {
            return Verdict::not_applicable(format!(
                "{} does not use virtio devices",
                profile.display_name
            ));
        }
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let k = match default_kernel(lf) {
            Ok(k) => k,
            Err(v) => return v,
        };
        if !k.modules.config_read && k.drivers.is_empty() && !k.modules_dir {
            return Verdict::not_evaluated(format!(
                "kernel {}: neither /boot/config-{} nor /lib/modules/{} could be read",
                k.version, k.version, k.version
            ));
        }
        let mut missing = Vec::new();
        let mut detail = Vec::new();
        for name in REQUIRED.iter().chain(["virtio_scsi"].iter()) {
            let st = k.drivers.get(*name);
            let d = describe(st);
            if REQUIRED.contains(name)
                && !matches!(
                    st,
                    Some(DriverStatus::Builtin { .. } | DriverStatus::Module { .. })
                )
            {
                missing.push(format!("{name}: {d}"));
            }
            detail.push(format!("{name}: {d}"));
        }
        if missing.is_empty() {
            return Verdict::pass_with(format!("kernel {}: {}", k.version, detail.join("; ")));
        }
        let mut f = Finding::strongly(
            format!(
                "default kernel {} ({}) lacks virtio drivers: {}",
                k.version,
                k.image,
                missing.join("; ")
            ),
            format!(
                "Install a kernel with virtio_blk, virtio_net and virtio_pci (built in or as \
                 modules) and make it the default; {} attaches disks and NICs as virtio devices.",
                profile.display_name
            ),
        );
        for d in detail {
            f = f.with_evidence(d);
        }
        Verdict::Findings(vec![f])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn modules_pass() {
        let d =
            assert_pass(&Virtio.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()));
        assert!(d.unwrap().contains("virtio_blk: module /lib/modules/"));
    }

    #[test]
    fn missing_driver_is_strongly_recommended() {
        let mut lf = good_linux_facts();
        lf.kernels[0].drivers.insert(
            "virtio_blk".into(),
            DriverStatus::Absent {
                config_says_module: false,
            },
        );
        lf.kernels[0].drivers.remove("virtio_net");
        let f = findings(
            &Virtio.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(
            f[0].message
                .contains("virtio_blk: absent; virtio_net: not inspected"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("/boot/vmlinuz-6.1.0-28-cloud-amd64"));
    }

    #[test]
    fn azure_is_not_applicable_and_missing_facts_not_evaluated() {
        assert_not_applicable(
            &Virtio.run(&with_linux(good_linux_facts()), &TargetProfile::azure()),
        );
        let mut lf = good_linux_facts();
        lf.kernels[0].default = false;
        let r = assert_not_evaluated(&Virtio.run(&with_linux(lf), &TargetProfile::alibaba()));
        assert!(r.starts_with("no default kernel found"), "{r}");
        let r = assert_not_evaluated(&Virtio.run(&good_linux(), &TargetProfile::alibaba()));
        assert!(r.contains("no Linux facts"), "{r}");
    }
}
