//! `linux.fstab` (Alibaba `GUESTOS.Fstab`): every `/etc/fstab` entry resolves to a device of
//! this image, by a name that does not change on the target's hardware.
//!
//! Rules from checks.md §2 `fstab`: an entry naming a device the image does not have, without
//! `nofail`, stops boot in emergency mode (strongly recommended); kernel names (`/dev/sdX`,
//! `/dev/vdX`, `/dev/xvdX`, `/dev/hdX`, `/dev/nvmeXnY`) change with the controller — strongly
//! recommended for `/` and `/boot*`, recommended for other mounts; network filesystems without
//! `nofail` hang boot when unreachable (recommended); no fstab at all is recommended. The
//! entries and their resolution come from imgcheck-inspect's guest assembly. Our own code.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::fstab::DeviceSpec;
use imgcheck_inspect::{Resolution, NETWORK_FS};

static META: CheckMeta = CheckMeta {
    id: "linux.fstab",
    alibaba_item: Some("GUESTOS.Fstab"),
    title: "fstab entries resolve by stable names",
    applies_to: Applicability::Linux,
    inputs: &[
        "/etc/fstab",
        "guest.fstab[].resolution",
        "volumes[].fs.uuid",
        "volumes[].fs.label",
    ],
    remedy: "Refer to filesystems in /etc/fstab by UUID= or LABEL= (or LVM names), remove entries \
for disks that will not exist, and add `nofail` to optional and network mounts.",
    references: &[
        "Alibaba Cloud import requirements: Fstab (priority High)",
        "AWS VM Import prerequisites: fstab rewritten to UUIDs, nofail added",
        "libguestfs inspect_fs_unix_fstab.ml; virt-v2v remap_block_devices",
    ],
    description: "Reads /etc/fstab through the guest assembly. An entry that names a device this \
image does not hold and lacks `nofail` is a strongly recommended fix (boot stops); a kernel device \
name such as /dev/sda1 is strongly recommended for / and /boot and recommended elsewhere (names \
change between hypervisors); a network filesystem without `nofail` and a missing /etc/fstab are \
recommended optimisations. Lines that are not valid entries are reported too.",
};

/// The check.
pub struct FstabCheck;

/// Mount points whose failure stops boot regardless of `nofail` handling.
fn critical(mp: &str) -> bool {
    mp == "/" || mp == "/boot" || mp.starts_with("/boot/") || mp == "/usr"
}

impl Check for FstabCheck {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let Some(g) = &facts.guest else {
            return Verdict::not_evaluated("no operating system inspected");
        };
        if !g.fstab_present {
            return Verdict::Findings(vec![Finding::recommended(
                "/etc/fstab is missing: the root is mounted read-only as the kernel found it and \
                 no other filesystem is mounted",
                "Create /etc/fstab listing / (and /boot, swap, …) by UUID=.",
            )]);
        }
        let mut out = Vec::new();
        for p in &g.fstab_problems {
            out.push(Finding::recommended(
                format!("/etc/fstab line {}: {}", p.line, p.message),
                "Correct or remove the line.",
            ));
        }
        let mut resolved = 0usize;
        for m in &g.fstab {
            let e = &m.entry;
            let nofail = e.options.iter().any(|o| o == "nofail" || o == "noauto");
            let at = format!(
                "/etc/fstab line {} ({} on {})",
                e.line, e.spec_raw, e.mount_point
            );
            match &m.resolution {
                Resolution::Unresolved { reason } if !nofail => out.push(
                    Finding::strongly(
                        format!("{at} names a device this image does not have and lacks nofail: boot stops in emergency mode"),
                        "Point the entry at an existing filesystem by UUID=, remove it, or add \
                         `nofail` if the device is optional.",
                    )
                    .with_evidence(reason.clone()),
                ),
                Resolution::Resolved { .. } => resolved = resolved.saturating_add(1),
                _ => {}
            }
            if let DeviceSpec::KernelName(dev) = &e.spec {
                let msg = format!(
                    "{at} uses the kernel device name {dev}, which changes with the disk \
                     controller (sdX, vdX, xvdX, nvmeXnY)"
                );
                let fix = "Replace the device name with UUID=<uuid> (see blkid) or LABEL=.";
                out.push(if critical(&e.mount_point) {
                    Finding::strongly(msg, fix)
                } else {
                    Finding::recommended(msg, fix)
                });
            }
            if NETWORK_FS.contains(&e.fs_type.as_str()) && !nofail {
                out.push(Finding::recommended(
                    format!("{at} is a {} network filesystem without nofail: boot waits for it when it is unreachable", e.fs_type),
                    "Add `nofail` (and `_netdev`) to the options or remove the entry.",
                ));
            }
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{} entries, {resolved} resolved to volumes of this image",
                g.fstab.len()
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::fstab::{FstabEntry, FstabProblem};
    use imgcheck_inspect::MountEntry;

    fn entry(
        line: usize,
        spec: DeviceSpec,
        raw: &str,
        mp: &str,
        fs: &str,
        opts: &str,
        res: Resolution,
    ) -> MountEntry {
        MountEntry {
            entry: FstabEntry {
                line,
                spec_raw: raw.into(),
                spec,
                mount_point: mp.into(),
                fs_type: fs.into(),
                options: opts.split(',').map(str::to_string).collect(),
                dump: 0,
                pass: 1,
            },
            resolution: res,
        }
    }

    fn with_fstab(entries: Vec<MountEntry>) -> Facts {
        let mut f = good_linux();
        let g = f.guest.as_mut().unwrap();
        g.fstab_present = true;
        g.fstab = entries;
        f
    }

    fn root_ok() -> MountEntry {
        entry(
            1,
            DeviceSpec::Uuid("abcd".into()),
            "UUID=abcd",
            "/",
            "ext4",
            "defaults",
            Resolution::Resolved { volume: "3".into() },
        )
    }

    #[test]
    fn uuid_entries_pass() {
        let d =
            assert_pass(&FstabCheck.run(&with_fstab(vec![root_ok()]), &TargetProfile::alibaba()));
        assert_eq!(
            d.as_deref(),
            Some("1 entries, 1 resolved to volumes of this image")
        );
    }

    #[test]
    fn each_defect_is_reported() {
        let facts = with_fstab(vec![
            entry(
                1,
                DeviceSpec::KernelName("/dev/sda1".into()),
                "/dev/sda1",
                "/",
                "ext4",
                "defaults",
                Resolution::Resolved { volume: "3".into() },
            ),
            entry(
                2,
                DeviceSpec::Uuid("dead".into()),
                "UUID=dead",
                "/data",
                "xfs",
                "defaults",
                Resolution::Unresolved {
                    reason: "no filesystem with UUID dead".into(),
                },
            ),
            entry(
                3,
                DeviceSpec::Uuid("beef".into()),
                "UUID=beef",
                "/opt",
                "xfs",
                "defaults,nofail",
                Resolution::Unresolved {
                    reason: "no filesystem with UUID beef".into(),
                },
            ),
            entry(
                4,
                DeviceSpec::Other("srv:/x".into()),
                "srv:/x",
                "/mnt",
                "nfs",
                "defaults",
                Resolution::NotADevice,
            ),
            entry(
                5,
                DeviceSpec::KernelName("/dev/vdb1".into()),
                "/dev/vdb1",
                "/srv",
                "ext4",
                "nofail",
                Resolution::Unresolved {
                    reason: "no such disk".into(),
                },
            ),
        ]);
        let f = findings(
            &FstabCheck.run(&facts, &TargetProfile::alibaba()),
            &[
                StronglyRecommended,
                StronglyRecommended,
                Recommended,
                Recommended,
            ],
        );
        assert!(
            f[0].message
                .starts_with("/etc/fstab line 1 (/dev/sda1 on /) uses the kernel device name"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message
                .starts_with("/etc/fstab line 2 (UUID=dead on /data) names a device"),
            "{}",
            f[1].message
        );
        assert!(
            f[2].message.contains("line 4") && f[2].message.contains("nfs"),
            "{}",
            f[2].message
        );
        assert!(f[3].message.contains("line 5"), "{}", f[3].message);
    }

    #[test]
    fn missing_fstab_and_bad_lines() {
        let mut facts = with_fstab(vec![root_ok()]);
        facts.guest.as_mut().unwrap().fstab_problems = vec![FstabProblem {
            line: 7,
            message: "2 fields, need at least 3".into(),
        }];
        let f = findings(
            &FstabCheck.run(&facts, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.starts_with("/etc/fstab line 7: 2 fields"));
        facts.guest.as_mut().unwrap().fstab_present = false;
        findings(
            &FstabCheck.run(&facts, &TargetProfile::alibaba()),
            &[Recommended],
        );
        facts.guest = None;
        assert_not_evaluated(&FstabCheck.run(&facts, &TargetProfile::alibaba()));
    }
}
