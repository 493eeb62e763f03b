//! `fs.free-inodes`: enough free inodes on the system filesystems.
//!
//! Rule from checks.md §1 `root_free_inodes` (Alibaba compliance tool "inode usage"; GCP Migrate
//! to VMs "insufficient inodes"; ext `s_free_inodes_count`, XFS `sb_ifree`). The minimum is the
//! [`TargetProfile`]'s (inferred: a kernel module tree is several thousand files). Needs the
//! guest's roles. Our own code.

use super::fs_free_space::WRITTEN_ROLES;
use crate::facts::Facts;
use crate::layout::{fs_of, fs_place, has_role, roles_known};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "fs.free-inodes",
    alibaba_item: None,
    title: "Free inodes on system filesystems",
    applies_to: Applicability::Any,
    inputs: &[
        "volumes[].fs.free_inodes",
        "volumes[].fs.total_inodes",
        "volumes[].fs.roles",
    ],
    remedy: "Delete unneeded small files (caches, old kernels' module trees, mail spools) on the \
filesystem before exporting.",
    references: &[
        "Alibaba image compliance tool: inode usage",
        "GCP Migrate to VMs OS-adaptation errors: insufficient inodes",
    ],
    description:
        "Installing a kernel-module package, a new initramfs and agents creates thousands of \
files; a system filesystem with fewer free inodes than the target's minimum is a recommended \
optimisation. Filesystems without a fixed inode count report none and are not judged.",
};

/// The check.
pub struct FreeInodes;

impl Check for FreeInodes {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if !roles_known(facts) {
            return Verdict::not_evaluated(
                "filesystem roles are unknown (the guest's filesystems were not assembled)",
            );
        }
        let mut out = Vec::new();
        let mut ok = Vec::new();
        let mut unknown = Vec::new();
        for v in &facts.volumes {
            let Some(fs) = fs_of(v).filter(|fs| has_role(fs, WRITTEN_ROLES)) else {
                continue;
            };
            let roles = fs.roles.join(", ");
            let Some(free) = fs.free_inodes else {
                unknown.push(roles);
                continue;
            };
            if free < profile.min_free_inodes {
                let mut f = Finding::recommended(
                    format!(
                        "{} ({roles}) has {free} free inodes, fewer than the {} needed to install \
                         drivers and agents",
                        fs_place(facts, v, fs),
                        profile.min_free_inodes
                    ),
                    "Delete unneeded small files (caches, old module trees) or recreate the \
                     filesystem with more inodes.",
                );
                if let Some(t) = fs.total_inodes {
                    f = f.with_evidence(format!("free inodes {free} of {t}"));
                }
                out.push(f);
            } else {
                ok.push(format!("{roles}: {free} free inodes"));
            }
        }
        if out.is_empty() && ok.is_empty() {
            return Verdict::not_evaluated(if unknown.is_empty() {
                "no root, /boot, /usr or /var filesystem was identified".to_string()
            } else {
                format!("free inodes are not known for {}", unknown.join("; "))
            });
        }
        let mut detail = ok.join("; ");
        if !unknown.is_empty() {
            detail.push_str(&format!("; unknown for {}", unknown.join("; ")));
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

    fn set_root(facts: &mut Facts, free: Option<u64>) {
        if let VolumeContent::Filesystem(fs) = &mut facts.volumes[2].content {
            fs.free_inodes = free;
        }
    }

    #[test]
    fn enough_inodes_pass() {
        let d = assert_pass(&FreeInodes.run(&good_linux(), &TargetProfile::default()));
        assert_eq!(d.as_deref(), Some("root: 500000 free inodes"));
    }

    #[test]
    fn few_inodes_are_recommended() {
        let mut facts = good_linux();
        set_root(&mut facts, Some(12));
        let f = findings(
            &FreeInodes.run(&facts, &TargetProfile::default()),
            &[Recommended],
        );
        assert!(f[0].message.ends_with("(root) has 12 free inodes, fewer than the 10000 needed to install drivers and agents"), "{}", f[0].message);
        assert_eq!(f[0].evidence, vec!["free inodes 12 of 600000"]);
    }

    #[test]
    fn unknown_inodes_or_roles_are_not_evaluated() {
        let mut facts = good_linux();
        set_root(&mut facts, None);
        assert_eq!(
            assert_not_evaluated(&FreeInodes.run(&facts, &TargetProfile::default())),
            "free inodes are not known for root"
        );
        facts.guest = None;
        for v in &mut facts.volumes {
            if let VolumeContent::Filesystem(fs) = &mut v.content {
                fs.roles.clear();
            }
        }
        assert_not_evaluated(&FreeInodes.run(&facts, &TargetProfile::default()));
    }
}
