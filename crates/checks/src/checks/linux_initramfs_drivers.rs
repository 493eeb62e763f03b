//! `linux.initramfs-drivers`: root-disk drivers built as modules are inside the default
//! kernel's initramfs.
//!
//! Rule from checks.md §2 `initramfs_storage_drivers`: when the driver of the system disk is a
//! module (`=m`), the initramfs must carry it, or the kernel cannot find its root. Needed drivers:
//! `virtio_pci` and one of `virtio_blk`/`virtio_scsi` on virtio targets, `nvme` on NVMe targets.
//! The initramfs listing (cpio, all compressions) comes from imgcheck-inspect; absence only
//! counts when the listing was complete. Our own code.

use super::linux_virtio::{default_kernel, describe, linux_facts};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::kconfig::DriverStatus;

static META: CheckMeta = CheckMeta {
    id: "linux.initramfs-drivers",
    alibaba_item: None,
    title: "Root-disk drivers in the initramfs",
    applies_to: Applicability::Linux,
    inputs: &[
        "guest.linux.kernels[default].drivers",
        "guest.linux.kernels[default].initrd_summary",
        "/boot/initrd.img-<version>, /boot/initramfs-<version>.img",
    ],
    remedy: "Add the virtio (and, for NVMe instance types, nvme) drivers to the initramfs and \
rebuild it: dracut `add_drivers+=\" virtio_blk virtio_scsi virtio_pci nvme \"` then `dracut -f`, \
or list them in /etc/initramfs-tools/modules and run `update-initramfs -u`.",
    references: &[
        "Alibaba Cloud: Install a virtio driver (check and fix the temporary file system)",
        "virt-v2v convert_linux.ml: rebuild_initrd with virtio modules",
    ],
    description: "For the default kernel, each root-disk driver that is a loadable module \
(not built in) must appear in that kernel's initramfs: virtio_pci and virtio_blk or virtio_scsi \
when the target uses virtio, nvme when it uses NVMe. A missing one is a strongly recommended fix. \
Not evaluated when the initramfs is missing or could not be listed completely.",
};

/// The check.
pub struct InitramfsDrivers;

impl Check for InitramfsDrivers {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        // Groups of drivers: one of each group must be usable at boot.
        let mut groups: Vec<&[&str]> = Vec::new();
        if profile.needs_virtio {
            groups.push(&["virtio_pci"]);
            groups.push(&["virtio_blk", "virtio_scsi"]);
        }
        if profile.needs_nvme {
            groups.push(&["nvme"]);
        }
        if groups.is_empty() {
            return Verdict::not_applicable(format!(
                "{} uses neither virtio nor NVMe system disks",
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
        let Some(sum) = &k.initrd_summary else {
            return Verdict::not_evaluated(format!(
                "kernel {}: no initramfs found for it (linux.kernel-initrd reports that)",
                k.version
            ));
        };
        let in_initrd = |n: &str| sum.drivers_found.iter().any(|d| d.replace('-', "_") == n);
        let mut missing = Vec::new();
        let mut unknown = Vec::new();
        let mut ok = Vec::new();
        for group in groups {
            let mut states = Vec::new();
            let mut satisfied = false;
            let mut could_be = false;
            for n in group {
                match k.drivers.get(*n) {
                    Some(DriverStatus::Builtin { .. }) => {
                        satisfied = true;
                        states.push(format!("{n} built in"));
                    }
                    Some(DriverStatus::Module { .. }) if in_initrd(n) => {
                        satisfied = true;
                        states.push(format!("{n} in initramfs"));
                    }
                    Some(DriverStatus::Module { path }) => {
                        could_be = true;
                        states.push(format!("{n} is module {path} but not in {}", sum.path));
                    }
                    st => states.push(format!("{n}: {}", describe(st))),
                }
            }
            let text = states.join(", ");
            if satisfied {
                ok.push(text);
            } else if could_be && !sum.complete {
                unknown.push(text);
            } else {
                missing.push(text);
            }
        }
        let mut out = Vec::new();
        if !missing.is_empty() {
            let mut f = Finding::strongly(
                format!(
                    "initramfs {} of default kernel {} lacks root-disk drivers: {}",
                    sum.path,
                    k.version,
                    missing.join("; ")
                ),
                META.remedy,
            );
            f = f.with_evidence(format!(
                "{} lists {} modules: {}",
                sum.path,
                sum.module_count,
                sum.drivers_found.join(", ")
            ));
            out.push(f);
        }
        if out.is_empty() && !unknown.is_empty() {
            return Verdict::not_evaluated(format!(
                "initramfs {} could not be listed completely ({}): {}",
                sum.path,
                sum.error.as_deref().unwrap_or("listing limit reached"),
                unknown.join("; ")
            ));
        }
        Verdict::from_findings(
            out,
            Some(format!("kernel {}: {}", k.version, ok.join("; "))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn drivers_in_initramfs_pass() {
        let d = assert_pass(
            &InitramfsDrivers.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
        );
        assert!(d.unwrap().contains("virtio_blk in initramfs"));
    }

    #[test]
    fn module_outside_initramfs_is_strongly_recommended() {
        let mut lf = good_linux_facts();
        let s = lf.kernels[0].initrd_summary.as_mut().unwrap();
        s.drivers_found.retain(|d| !d.starts_with("virtio"));
        let f = findings(
            &InitramfsDrivers.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(
            f[0].message.contains("virtio_pci is module"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains("virtio_blk is module"),
            "{}",
            f[0].message
        );
        // Built in: fine without the initramfs.
        for n in ["virtio_pci", "virtio_blk"] {
            lf.kernels[0].drivers.insert(
                n.into(),
                DriverStatus::Builtin {
                    evidence: "modules.builtin".into(),
                },
            );
        }
        assert_pass(&InitramfsDrivers.run(&with_linux(lf), &TargetProfile::alibaba()));
    }

    #[test]
    fn a_listing_stopped_once_the_drivers_were_seen_passes() {
        // What `check` produces: the walk ends after the last module driver (not complete).
        let mut lf = good_linux_facts();
        let s = lf.kernels[0].initrd_summary.as_mut().unwrap();
        s.stopped_early = true;
        s.complete = false;
        s.entries = 40;
        let d = assert_pass(&InitramfsDrivers.run(&with_linux(lf), &TargetProfile::alibaba()));
        assert!(d.unwrap().contains("virtio_blk in initramfs"));
    }

    #[test]
    fn incomplete_or_missing_initramfs_is_not_evaluated() {
        let mut lf = good_linux_facts();
        let s = lf.kernels[0].initrd_summary.as_mut().unwrap();
        s.drivers_found.clear();
        s.complete = false;
        s.error = Some("xz: corrupt stream".into());
        let r = assert_not_evaluated(
            &InitramfsDrivers.run(&with_linux(lf.clone()), &TargetProfile::kvm()),
        );
        assert!(r.contains("xz: corrupt stream"), "{r}");
        lf.kernels[0].initrd_summary = None;
        assert_not_evaluated(&InitramfsDrivers.run(&with_linux(lf), &TargetProfile::kvm()));
        assert_not_applicable(
            &InitramfsDrivers.run(&with_linux(good_linux_facts()), &TargetProfile::azure()),
        );
    }
}
