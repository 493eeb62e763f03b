//! `disk.system-image` (GUESTOS.SystemImage): the image is a system disk with an operating
//! system, not an empty, data-only or unreadable disk.
//!
//! Rule from checks.md §1 `system_image_valid` (Alibaba GUESTOS.SystemImage; Tencent
//! `PartitionNotPresent` / `RootPartitionNotFound`; virt-v2v rejects images without an installed
//! root). Our own code.
//!
//! Decision order: no volume at all, or every volume unreadable → SR; no filesystem anywhere →
//! SR, unless some volumes are opaque (encrypted, LVM, RAID), which hides the answer → Not
//! evaluated; filesystems present but the guest was not inspected → Not evaluated (filesystems
//! alone do not make a system disk: a data disk has them too); inspected with no root → SR
//! (or Not evaluated when opaque volumes could hold the root); otherwise Pass.

use crate::facts::{Facts, VolumeContent};
use crate::layout::{content_name, fs_of, fs_place, volume_name};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "disk.system-image",
    alibaba_item: Some("GUESTOS.SystemImage"),
    title: "Image is a system disk with an operating system",
    applies_to: Applicability::Any,
    inputs: &["table", "volumes[].content", "guest.roots_found"],
    remedy: "Import the disk that holds the operating system (a system disk), not a data disk, an \
empty disk or an installer ISO.",
    references: &[
        "Alibaba image check: GUESTOS.SystemImage",
        "Tencent Cloud import error codes PartitionNotPresent, RootPartitionNotFound",
        "virt-v2v inspect_source.ml",
    ],
    description: "The image must contain a partition or filesystem and, among its filesystems, an \
operating-system root (Linux: /etc with fstab; Windows: \\Windows\\System32\\config). An image with no \
volume, only unreadable volumes, no filesystem, or filesystems without any OS root cannot boot. When \
the guest has not been inspected, or its volumes are encrypted or LVM/RAID members not yet opened, the \
check says so instead of passing.",
};

/// The check.
pub struct SystemImage;

/// `encrypted`, `LVM physical volume`, `RAID member` for opaque contents.
fn opaque_kind(c: &VolumeContent) -> Option<String> {
    match c {
        VolumeContent::Encrypted { scheme, .. } => Some(format!("{scheme} encrypted")),
        VolumeContent::Lvm => Some("LVM physical volume".into()),
        VolumeContent::Raid => Some("RAID member".into()),
        _ => None,
    }
}

impl Check for SystemImage {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        const REMEDY: &str = "Check that this is the system disk of the machine (the one holding \
            the operating system), that it was copied completely, and export it again if not.";
        if facts.volumes.is_empty() {
            let mut f = Finding::strongly(
                "the image holds no partition and no filesystem: it is empty or not a disk image",
                REMEDY,
            );
            if let Some(e) = &facts.table_error {
                f = f.with_evidence(format!("partition table: {e}"));
            }
            return Verdict::Findings(vec![f]);
        }
        let evidence: Vec<String> = facts
            .volumes
            .iter()
            .map(|v| match (fs_of(v), &v.error) {
                (Some(fs), _) => fs_place(facts, v, fs),
                (None, Some(e)) => {
                    format!("{}: {} ({e})", volume_name(v), content_name(&v.content))
                }
                (None, None) => format!("{}: {}", volume_name(v), content_name(&v.content)),
            })
            .collect();
        if facts
            .volumes
            .iter()
            .all(|v| v.content == VolumeContent::Unreadable)
        {
            let mut f = Finding::strongly(
                format!(
                    "none of the {} volumes could be read: the image is truncated or damaged",
                    facts.volumes.len()
                ),
                REMEDY,
            );
            f.evidence = evidence;
            return Verdict::Findings(vec![f]);
        }
        let filesystems = facts.volumes.iter().filter(|v| fs_of(v).is_some()).count();
        let opaque: Vec<String> = facts
            .volumes
            .iter()
            .filter_map(|v| opaque_kind(&v.content).map(|k| format!("{} ({k})", volume_name(v))))
            .collect();
        if filesystems == 0 {
            if !opaque.is_empty() {
                return Verdict::not_evaluated(format!(
                    "no plain filesystem; the operating system may be inside {} which was not opened",
                    opaque.join(", ")
                ));
            }
            let mut f = Finding::strongly(
                format!(
                    "none of the {} volumes holds a filesystem: this is not a system disk",
                    facts.volumes.len()
                ),
                REMEDY,
            );
            f.evidence = evidence;
            return Verdict::Findings(vec![f]);
        }
        let Some(guest) = &facts.guest else {
            return Verdict::not_evaluated(format!(
                "the disk holds {filesystems} filesystem(s) ({}), but no operating-system \
                 inspection was run, so whether one of them is a system root is unknown",
                evidence.join("; ")
            ));
        };
        if guest.roots_found == 0 {
            if !opaque.is_empty() {
                return Verdict::not_evaluated(format!(
                    "no operating-system root on the readable filesystems; {} not opened",
                    opaque.join(", ")
                ));
            }
            let mut f = Finding::strongly(
                format!(
                    "no operating-system root found on any of the {filesystems} filesystem(s): \
                     this looks like a data disk"
                ),
                REMEDY,
            );
            f.evidence = evidence;
            return Verdict::Findings(vec![f]);
        }
        let name = guest
            .pretty_name
            .clone()
            .or_else(|| guest.distro.clone())
            .unwrap_or_else(|| guest.os_type.clone());
        Verdict::pass_with(format!(
            "operating system found: {name} ({} root(s))",
            guest.roots_found
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn run(f: &Facts) -> Verdict {
        SystemImage.run(f, &TargetProfile::default())
    }

    #[test]
    fn inspected_guest_with_a_root_passes() {
        let d = assert_pass(&run(&good_linux()));
        assert_eq!(
            d.as_deref(),
            Some("operating system found: Test linux (1 root(s))")
        );
    }

    #[test]
    fn empty_image_is_strongly_recommended() {
        let facts = Facts {
            table_error: Some("no MBR signature at offset 510".into()),
            ..Facts::default()
        };
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert!(f[0].message.contains("no partition and no filesystem"));
        assert_eq!(
            f[0].evidence,
            vec!["partition table: no MBR signature at offset 510"]
        );
    }

    #[test]
    fn all_unreadable_is_strongly_recommended() {
        let mut facts = good_linux();
        for v in &mut facts.volumes {
            v.content = VolumeContent::Unreadable;
            v.error = Some("read beyond end of image".into());
        }
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert!(f[0].message.contains("none of the 3 volumes could be read"));
        assert_eq!(
            f[0].evidence[0],
            "partition 1: unreadable (read beyond end of image)"
        );
    }

    #[test]
    fn no_filesystem_is_strongly_recommended() {
        let mut facts = good_linux();
        facts.volumes = vec![
            vol(1, VolumeContent::Unknown),
            vol(
                2,
                VolumeContent::Swap {
                    uuid: None,
                    label: None,
                },
            ),
        ];
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert!(f[0]
            .message
            .contains("none of the 2 volumes holds a filesystem"));
    }

    #[test]
    fn filesystems_without_root_is_strongly_recommended() {
        let mut facts = good_linux();
        facts.guest = guest("unknown", 0);
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert!(f[0]
            .message
            .contains("no operating-system root found on any of the 2"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.starts_with("ext4 on partition 3 (byte offset 134217728)")));
    }

    #[test]
    fn uninspected_or_opaque_is_not_evaluated() {
        let mut facts = good_linux();
        facts.guest = None;
        let r = assert_not_evaluated(&run(&facts));
        assert!(r.contains("no operating-system inspection was run"), "{r}");

        facts.volumes = vec![vol(1, VolumeContent::Lvm)];
        let r = assert_not_evaluated(&run(&facts));
        assert!(r.contains("partition 1 (LVM physical volume)"), "{r}");

        let mut facts = good_linux();
        facts.guest = guest("unknown", 0);
        facts.volumes.push(vol(
            4,
            VolumeContent::Encrypted {
                scheme: "luks2".into(),
                uuid: None,
            },
        ));
        let r = assert_not_evaluated(&run(&facts));
        assert!(r.contains("partition 4 (luks2 encrypted)"), "{r}");
    }
}
