//! `windows.drive-letters`: `SYSTEM\MountedDevices` gives C: to the partition that holds
//! Windows, and drive letters do not depend on partitions missing from the image.
//!
//! Rule from checks.md §3 `domain_controller_volumes` and §4 (libguestfs drive mappings):
//! `MountedDevices` value `\DosDevices\X:` holds 12 bytes (MBR disk signature + partition byte
//! offset) or `DMIO:ID:` + the GPT unique partition GUID. When C: names a partition that is not
//! the Windows partition of this disk (a re-created partition table, a changed disk signature),
//! Windows gives its system volume another letter and logon fails (Microsoft KB 249321,
//! "Unable to log on if the boot partition drive letter has changed"): a strongly recommended
//! fix (the severity is ours, I). Other letters naming partitions absent from the image are the
//! catalogue's recommended fix ("a volume that Windows requires is missing", AWS). Our own code.

use super::windows_platform::{need_hive, windows};
use crate::facts::{Facts, PartitionId};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::windows::DiskLocation;

static META: CheckMeta = CheckMeta {
    id: "windows.drive-letters",
    alibaba_item: None,
    title: "Drive letters (MountedDevices) match this disk",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\MountedDevices: \DosDevices\X: (MBR signature + offset, DMIO:ID: + GPT partition GUID)",
        "partition table: MBR disk signature, partition offsets, GPT unique partition GUIDs",
    ],
    remedy: "Export the disk with its original partition table (same MBR disk signature or GPT \
partition GUIDs), or delete the stale \\DosDevices\\ values under SYSTEM\\MountedDevices in the \
source guest so that Windows assigns the letters again at first boot.",
    references: &[
        "Microsoft KB 249321: unable to log on if the boot partition drive letter has changed",
        "AWS VM Import troubleshooting: a volume that Windows requires is missing",
        "libguestfs inspect_fs_windows.ml (drive mappings)",
        "checks.md §3 domain_controller_volumes",
    ],
    description: "A strongly recommended fix when MountedDevices maps C: to a partition that is \
not the Windows partition of this image (another partition, another disk, or a device path): \
the system volume then gets another letter and logon fails. A recommended fix when other drive \
letters name partitions that are not in the image. Passes when C: names the Windows partition \
or is not mapped. Not evaluated when the SYSTEM hive cannot be read or the partition table's \
identifiers are unknown.",
};

/// The check.
pub struct DriveLetters;

/// The partition holding the Windows system volume (the inspected root), by its identifiers.
pub(crate) fn windows_partition(facts: &Facts) -> Option<&PartitionId> {
    let root = facts.guest.as_ref()?.root_volume.as_deref()?;
    let number = facts
        .volumes
        .iter()
        .find(|v| v.id == root)
        .and_then(|v| v.partition)?;
    facts
        .disk_ids
        .partitions
        .iter()
        .find(|p| p.number == number)
}

/// `partition 2 (gpt 7e1f…)` / `partition 1 (offset 1048576)`.
pub(crate) fn describe_partition(p: &PartitionId) -> String {
    match &p.guid {
        Some(g) => format!("partition {} ({g})", p.number),
        None => format!("partition {} (byte offset {})", p.number, p.start),
    }
}

/// What this disk's partitions are called, for evidence.
pub(crate) fn disk_evidence(facts: &Facts) -> String {
    let ids = &facts.disk_ids;
    let parts: Vec<String> = ids.partitions.iter().map(describe_partition).collect();
    let disk = match (&ids.gpt_disk_guid, &ids.mbr_signature) {
        (Some(g), _) => format!("gpt disk {g}"),
        (None, Some(s)) => format!("mbr disk signature {s}"),
        (None, None) => "disk".to_string(),
    };
    format!("this image: {disk}, {}", parts.join(", "))
}

impl Check for DriveLetters {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SYSTEM") {
            return v;
        }
        if facts.disk_ids.partitions.is_empty() {
            return Verdict::not_evaluated(
                "the partition table's identifiers (disk signature, partition GUIDs) are unknown",
            );
        }
        let win_part = windows_partition(facts);
        let value = |letter: &str, loc: &DiskLocation| {
            format!(
                r#"SYSTEM\MountedDevices "\DosDevices\{letter}" = {}"#,
                loc.describe()
            )
        };
        let mut out = Vec::new();
        let mut absent = Vec::new();
        let mut detail = "C: is not mapped in MountedDevices (Windows assigns it at boot)".into();
        for d in &w.drive_letters {
            let found = facts.disk_ids.find(&d.location);
            if d.letter.eq_ignore_ascii_case("C:") {
                let problem = match (found, win_part) {
                    (Some(p), Some(wp)) if p.number == wp.number => {
                        detail = format!(
                            "C: maps to the Windows {} ({})",
                            describe_partition(p),
                            d.location.describe()
                        );
                        None
                    }
                    (Some(p), Some(wp)) => Some(format!(
                        "{}, not the Windows {}",
                        describe_partition(p),
                        describe_partition(wp)
                    )),
                    (Some(p), None) => {
                        detail = format!("C: maps to {}", describe_partition(p));
                        None
                    }
                    (None, _) => Some(format!(
                        "{}, which is not on this disk",
                        d.location.describe()
                    )),
                };
                if let Some(p) = problem {
                    let mut f = Finding::strongly(
                        format!(
                            "MountedDevices maps C: to {p}: Windows will give its system volume \
                             another letter and logon fails"
                        ),
                        r"Delete \DosDevices\C: (and other stale \DosDevices\ values) under SYSTEM\MountedDevices in the source guest, or export the disk with its original partition identifiers, then export again.",
                    )
                    .with_evidence(value(&d.letter, &d.location))
                    .with_evidence(disk_evidence(facts));
                    if let Some(wp) = win_part {
                        f = f.with_evidence(format!("Windows is on {}", describe_partition(wp)));
                    }
                    out.push(f);
                }
            } else if found.is_none()
                && matches!(
                    d.location,
                    DiskLocation::Gpt { .. } | DiskLocation::Mbr { .. }
                )
            {
                absent.push(value(&d.letter, &d.location));
            }
        }
        if !absent.is_empty() {
            let mut f = Finding::recommended(
                format!(
                    "{} drive letter(s) name partitions that are not in this image: services, \
                     page files or data on those drives will be missing",
                    absent.len()
                ),
                "Attach those volumes as data disks, or remove what depends on them (page \
                 file, service and database paths) and their \\DosDevices\\ values, before \
                 exporting.",
            );
            for a in absent {
                f = f.with_evidence(a);
            }
            out.push(f);
        }
        Verdict::from_findings(out, Some(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::windows::DriveLetter;

    const OTHER_GUID: &str = "deadbeef-0000-4000-8000-000000000001";

    #[test]
    fn good_passes() {
        assert_eq!(
            assert_pass(&DriveLetters.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "C: maps to the Windows partition 2 (7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5) \
             (gpt partition 7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5 on disk \
             5c3e1a2b-6d4f-4e8a-9b0c-1d2e3f405162)"
        );
        let mut f = good_windows();
        win_mut(&mut f).drive_letters.clear();
        assert!(
            assert_pass(&DriveLetters.run(&f, &TargetProfile::alibaba()))
                .unwrap()
                .contains("not mapped")
        );
    }

    #[test]
    fn c_on_missing_partition() {
        let mut f = good_windows();
        win_mut(&mut f).drive_letters[0].location = DiskLocation::Gpt {
            partition_guid: OTHER_GUID.into(),
            disk_guid: None,
        };
        let x = findings(
            &DriveLetters.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(
            x[0].message.contains("not on this disk"),
            "{}",
            x[0].message
        );
        assert_eq!(
            x[0].evidence,
            [
                format!(r#"SYSTEM\MountedDevices "\DosDevices\C:" = gpt partition {OTHER_GUID}"#),
                "this image: gpt disk 5c3e1a2b-6d4f-4e8a-9b0c-1d2e3f405162, partition 1 \
                 (0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9), partition 2 \
                 (7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5)"
                    .to_string(),
                "Windows is on partition 2 (7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5)".to_string(),
            ]
        );
    }

    #[test]
    fn c_on_other_partition_and_absent_data_drive() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.drive_letters[0].location = DiskLocation::Gpt {
            partition_guid: "0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9".into(),
            disk_guid: None,
        };
        w.drive_letters.push(DriveLetter {
            letter: "D:".into(),
            location: DiskLocation::Mbr {
                disk_signature: "1a2b3c4d".into(),
                offset: 1 << 20,
            },
        });
        // A CD-ROM device path is no finding.
        w.drive_letters.push(DriveLetter {
            letter: "E:".into(),
            location: DiskLocation::DevicePath {
                path: r"\??\IDE#CdRom".into(),
            },
        });
        let x = findings(
            &DriveLetters.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, Recommended],
        );
        assert!(x[0].message.contains(
            "partition 1 (0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9), not the Windows partition 2"
        ));
        assert_eq!(
            x[1].evidence,
            [r#"SYSTEM\MountedDevices "\DosDevices\D:" = mbr disk 1a2b3c4d offset 1048576"#]
        );
    }

    #[test]
    fn mbr_disk() {
        let mut f = good_windows();
        f.disk_ids.gpt_disk_guid = None;
        f.disk_ids.mbr_signature = Some("1a2b3c4d".into());
        for p in &mut f.disk_ids.partitions {
            p.guid = None;
        }
        let start = f.disk_ids.partitions[1].start;
        win_mut(&mut f).drive_letters[0].location = DiskLocation::Mbr {
            disk_signature: "1A2B3C4D".into(),
            offset: start,
        };
        assert!(
            assert_pass(&DriveLetters.run(&f, &TargetProfile::alibaba()))
                .unwrap()
                .contains("Windows partition 2 (byte offset 105906176)")
        );
        // Another disk signature: not this disk.
        win_mut(&mut f).drive_letters[0].location = DiskLocation::Mbr {
            disk_signature: "99999999".into(),
            offset: start,
        };
        findings(
            &DriveLetters.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&DriveLetters.run(&f, &TargetProfile::alibaba()));
        let mut f = good_windows();
        f.disk_ids = Default::default();
        assert!(
            assert_not_evaluated(&DriveLetters.run(&f, &TargetProfile::alibaba()))
                .contains("identifiers")
        );
    }
}
