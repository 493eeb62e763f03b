//! `fs.clean-state`: every filesystem was cleanly unmounted and has no journal to replay.
//!
//! Rule from checks.md §1 `fs_clean_state` (ext `s_state` bit 0 and incompat `needs_recovery`
//! 0x4 per the ext4 on-disk layout; XFS log clean; NTFS dirty flag; Alibaba: "verify the
//! integrity of the file system before importing"; virt-v2v refuses unsafe NTFS). The layers
//! supply `clean` and `journal_needs_recovery`. Our own code.

use crate::facts::Facts;
use crate::layout::{fs_of, fs_place, volume_name};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "fs.clean-state",
    alibaba_item: None,
    title: "Filesystems cleanly unmounted",
    applies_to: Applicability::Any,
    inputs: &["volumes[].fs.clean", "volumes[].fs.journal_needs_recovery"],
    remedy: "Shut the source machine down cleanly before exporting, or run fsck (Linux: `e2fsck -f`, \
`xfs_repair`; Windows: `chkdsk /f`) on the volume.",
    references: &[
        "Alibaba: Instructions for importing images (verify file-system integrity)",
        "ext4 disk layout: s_state, INCOMPAT_RECOVER",
        "virt-v2v inspect_source.ml (unsafe NTFS state)",
    ],
    description: "A filesystem that was not cleanly unmounted, or whose journal still has transactions \
to replay, was copied from a running or crashed machine: the offline view may miss recent writes and \
the import tooling may refuse to mount it read-write.",
};

/// The check.
pub struct CleanState;

impl Check for CleanState {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let mut out = Vec::new();
        let mut clean = Vec::new();
        let mut unknown = Vec::new();
        for v in &facts.volumes {
            let Some(fs) = fs_of(v) else { continue };
            let place = fs_place(facts, v, fs);
            if fs.journal_needs_recovery {
                out.push(
                    Finding::recommended(
                        format!("{place} has a journal that needs recovery: it was not unmounted"),
                        "Boot the source machine once and shut it down cleanly, or replay the \
                         journal with fsck (`e2fsck -fy`, `xfs_repair`) on a copy.",
                    )
                    .with_evidence("journal: needs recovery"),
                );
            } else if fs.clean == Some(false) {
                out.push(
                    Finding::recommended(
                        format!("{place} is marked not clean (not unmounted or errors found)"),
                        "Check the filesystem with fsck (`e2fsck -f`, `xfs_repair -n`, Windows \
                         `chkdsk /f`) before exporting.",
                    )
                    .with_evidence("state: not clean"),
                );
            } else if fs.clean == Some(true) {
                clean.push(format!("{} ({})", volume_name(v), fs.fs_type));
            } else {
                unknown.push(format!("{} ({})", volume_name(v), fs.fs_type));
            }
        }
        if out.is_empty() && clean.is_empty() {
            return Verdict::not_evaluated(if unknown.is_empty() {
                "no filesystem was recognised on the disk".to_string()
            } else {
                format!("the clean state is not known for {}", unknown.join(", "))
            });
        }
        let mut detail = format!("clean: {}", clean.join(", "));
        if !unknown.is_empty() {
            detail.push_str(&format!("; state unknown: {}", unknown.join(", ")));
        }
        Verdict::from_findings(out, Some(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::VolumeContent;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn set(facts: &mut Facts, i: usize, f: impl Fn(&mut crate::facts::FsFacts)) {
        if let VolumeContent::Filesystem(fs) = &mut facts.volumes[i].content {
            f(fs);
        }
    }

    #[test]
    fn clean_filesystems_pass() {
        let mut facts = good_linux();
        assert_eq!(
            assert_pass(&CleanState.run(&facts, &TargetProfile::default())).as_deref(),
            Some("clean: partition 2 (fat32), partition 3 (ext4)")
        );
        set(&mut facts, 1, |fs| fs.clean = None);
        let d = assert_pass(&CleanState.run(&facts, &TargetProfile::default())).unwrap_or_default();
        assert!(d.ends_with("state unknown: partition 2 (fat32)"), "{d}");
    }

    #[test]
    fn dirty_and_journal_are_recommended() {
        let mut facts = good_linux();
        set(&mut facts, 1, |fs| fs.clean = Some(false));
        set(&mut facts, 2, |fs| fs.journal_needs_recovery = true);
        let f = findings(
            &CleanState.run(&facts, &TargetProfile::default()),
            &[Recommended, Recommended],
        );
        assert!(f[0]
            .message
            .starts_with("fat32 on partition 2 (byte offset 2097152) is marked not clean"));
        assert!(f[1].message.contains("journal that needs recovery"));
    }

    #[test]
    fn unknown_state_is_not_evaluated() {
        let mut facts = good_linux();
        set(&mut facts, 1, |fs| fs.clean = None);
        set(&mut facts, 2, |fs| fs.clean = None);
        let r = assert_not_evaluated(&CleanState.run(&facts, &TargetProfile::default()));
        assert_eq!(
            r,
            "the clean state is not known for partition 2 (fat32), partition 3 (ext4)"
        );
        assert_not_evaluated(&CleanState.run(&Facts::default(), &TargetProfile::default()));
    }
}
