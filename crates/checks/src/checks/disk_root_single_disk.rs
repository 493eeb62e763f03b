//! `disk.root-single-disk`: the root filesystem (and `/boot`) live entirely on this disk.
//!
//! Rule from checks.md §0.5 (Alibaba import notes: non-single-root layouts are not importable)
//! and §2 `fstab`: an image whose `/` or `/boot` is on another disk, or whose root LVM volume
//! group spans a physical volume that is not in the image, cannot boot alone. Evidence: the
//! fstab entries for `/` and `/boot` and their resolution (imgcheck-inspect assembly), and the
//! LVM volume groups with their missing PVs (imgcheck-volume). Strongly recommended. Our own code.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::fstab::DeviceSpec;
use imgcheck_inspect::Resolution;

static META: CheckMeta = CheckMeta {
    id: "disk.root-single-disk",
    alibaba_item: None,
    title: "Root and /boot on this disk",
    applies_to: Applicability::Linux,
    inputs: &[
        "guest.fstab[/, /boot].resolution",
        "volume_groups[].missing_pvs",
        "/etc/fstab",
    ],
    remedy: "Move the root filesystem and /boot onto the system disk (pvmove the root volume \
group's extents onto it and vgreduce the other PVs) or export all disks together.",
    references: &[
        "Alibaba Cloud import notes: non-single-root partition layouts are not supported",
        "LVM2 metadata: VG pv list",
    ],
    description: "The fstab entries for / and /boot must resolve to volumes of this image; when \
/ is an LVM logical volume, its volume group must have no physical volume missing from the \
image. Otherwise a strongly recommended fix. Not evaluated without /etc/fstab or its / entry.",
};

/// The check.
pub struct RootSingleDisk;

impl Check for RootSingleDisk {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let Some(g) = &facts.guest else {
            return Verdict::not_evaluated("no operating system inspected");
        };
        if !g.fstab.iter().any(|m| m.entry.mount_point == "/") {
            return Verdict::not_evaluated(if g.fstab_present {
                "/etc/fstab has no entry for /"
            } else {
                "/etc/fstab is missing, so the root device is not known"
            });
        }
        let mut out = Vec::new();
        let mut detail = Vec::new();
        for m in g
            .fstab
            .iter()
            .filter(|m| matches!(m.entry.mount_point.as_str(), "/" | "/boot"))
        {
            let e = &m.entry;
            let at = format!(
                "/etc/fstab line {} ({} on {})",
                e.line, e.spec_raw, e.mount_point
            );
            match &m.resolution {
                Resolution::Resolved { volume } => {
                    detail.push(format!("{} on volume {volume}", e.mount_point))
                }
                Resolution::Unresolved { reason } => out.push(
                    Finding::strongly(format!("{at} is not on this disk"), META.remedy)
                        .with_evidence(reason.clone()),
                ),
                Resolution::NotADevice => {}
            }
            if let DeviceSpec::Lvm { vg, lv } = &e.spec {
                match facts.volume_groups.iter().find(|v| &v.name == vg) {
                    Some(v) if !v.missing_pvs.is_empty() => out.push(Finding::strongly(
                        format!(
                            "{at}: volume group {vg} (logical volume {lv}) spans {} physical \
                             volume(s) not in this image: {}",
                            v.missing_pvs.len(),
                            v.missing_pvs.join(", ")
                        ),
                        META.remedy,
                    )),
                    Some(_) => detail.push(format!("volume group {vg} complete")),
                    None => {}
                }
            }
        }
        Verdict::from_findings(out, Some(detail.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::fstab::FstabEntry;
    use imgcheck_inspect::MountEntry;

    fn facts(spec: DeviceSpec, raw: &str, res: Resolution) -> Facts {
        let mut f = good_linux();
        let g = f.guest.as_mut().unwrap();
        g.fstab_present = true;
        g.fstab = vec![MountEntry {
            entry: FstabEntry {
                line: 3,
                spec_raw: raw.into(),
                spec,
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                options: vec!["defaults".into()],
                dump: 0,
                pass: 1,
            },
            resolution: res,
        }];
        f
    }

    fn vg(missing: &[&str]) -> imgcheck_volume::lvm::VolumeGroup {
        let mut v: imgcheck_volume::lvm::VolumeGroup =
            serde_json::from_str(r#"{"name":"vg0","uuid":"u","seqno":1,"extent_size_bytes":4194304,"status":[],"metadata_from":"","pvs":[],"lvs":[],"missing_pvs":[]}"#).unwrap();
        v.missing_pvs = missing.iter().map(|s| s.to_string()).collect();
        v
    }

    #[test]
    fn resolved_root_passes() {
        let f = facts(
            DeviceSpec::Uuid("a".into()),
            "UUID=a",
            Resolution::Resolved { volume: "3".into() },
        );
        assert_eq!(
            assert_pass(&RootSingleDisk.run(&f, &TargetProfile::alibaba())).as_deref(),
            Some("/ on volume 3")
        );
    }

    #[test]
    fn unresolved_root_and_missing_pv_are_strongly_recommended() {
        let f = facts(
            DeviceSpec::Uuid("a".into()),
            "UUID=a",
            Resolution::Unresolved {
                reason: "no filesystem with UUID a".into(),
            },
        );
        let x = findings(
            &RootSingleDisk.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert_eq!(
            x[0].message,
            "/etc/fstab line 3 (UUID=a on /) is not on this disk"
        );
        let mut f = facts(
            DeviceSpec::Lvm {
                vg: "vg0".into(),
                lv: "root".into(),
            },
            "/dev/mapper/vg0-root",
            Resolution::Resolved {
                volume: "vg0/root".into(),
            },
        );
        f.volume_groups = vec![vg(&["pv-uuid-2"])];
        let x = findings(
            &RootSingleDisk.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(
            x[0].message
                .contains("spans 1 physical volume(s) not in this image: pv-uuid-2"),
            "{}",
            x[0].message
        );
        f.volume_groups = vec![vg(&[])];
        assert_pass(&RootSingleDisk.run(&f, &TargetProfile::alibaba()));
    }

    #[test]
    fn no_root_entry_is_not_evaluated() {
        let mut f = good_linux();
        assert_not_evaluated(&RootSingleDisk.run(&f, &TargetProfile::alibaba()));
        f.guest = None;
        assert_not_evaluated(&RootSingleDisk.run(&f, &TargetProfile::alibaba()));
    }
}
