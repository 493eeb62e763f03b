//! `fs.supported`: the system filesystems are ones the target's import and repair tooling
//! handles.
//!
//! Rule from checks.md §1 `fs_supported` (Alibaba compliance tool: xfs/ext3/ext4 recommended,
//! ext2 allowed; AWS: ext2/3/4, Btrfs, JFS, XFS; Baidu: ext3/ext4/XFS). The list is the
//! [`TargetProfile`]'s. FAT volumes are judged only when they carry a system role (an ESP is
//! FAT by definition and is `boot.uefi-fallback`'s concern). Our own code.

use crate::facts::Facts;
use crate::layout::{content_name, fs_of, fs_place, has_role, is_fat, roles_known, volume_name};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "fs.supported",
    alibaba_item: None,
    title: "System filesystems supported by the target",
    applies_to: Applicability::Any,
    inputs: &["volumes[].fs.fs_type", "volumes[].fs.roles"],
    remedy: "Move the system to a supported filesystem (e.g. ext4 or xfs for Linux, NTFS for \
Windows) in the source machine before exporting.",
    references: &[
        "Alibaba image compliance tool: file system (xfs, ext3, ext4; ext2 allowed)",
        "AWS vmie_prereqs.md: ext2, ext3, ext4, Btrfs, JFS, XFS",
        "Baidu BCC image import limits",
    ],
    description: "The target's import tooling mounts the system filesystems to inject drivers and \
agents and to fix configuration. A root, /boot, /usr or /var filesystem of a type the target does not \
list is a strongly recommended fix; any other filesystem of such a type (or one whose role is unknown \
because the guest was not assembled) is a recommended one.",
};

/// The check.
pub struct FsSupported;

/// Roles whose filesystem the target's tooling must be able to mount.
const SYSTEM_ROLES: &[&str] = &["root", "boot", "usr", "var"];

impl Check for FsSupported {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let known = roles_known(facts);
        let supported = |t: &str| {
            profile
                .system_filesystems
                .iter()
                .any(|s| s.eq_ignore_ascii_case(t))
        };
        let mut out = Vec::new();
        let mut ok = Vec::new();
        let mut other = Vec::new();
        let mut any_fs = false;
        for v in &facts.volumes {
            let Some(fs) = fs_of(v) else {
                other.push(format!("{}: {}", volume_name(v), content_name(&v.content)));
                continue;
            };
            any_fs = true;
            let system = has_role(fs, SYSTEM_ROLES);
            let label = if fs.roles.is_empty() {
                fs.fs_type.clone()
            } else {
                format!("{} ({})", fs.fs_type, fs.roles.join(", "))
            };
            if (is_fat(&fs.fs_type) && !system) || supported(&fs.fs_type) {
                ok.push(label);
                continue;
            }
            let accepted = profile.system_filesystems.join(", ");
            let f = if system {
                Finding::strongly(
                    format!(
                        "{} holds {} but {} supports {accepted} for system filesystems",
                        fs_place(facts, v, fs),
                        fs.roles.join(", "),
                        profile.display_name
                    ),
                    format!(
                        "Move {} to a supported filesystem ({accepted}) in the source machine.",
                        fs.roles.join(", ")
                    ),
                )
            } else {
                let role = if known {
                    "a non-system filesystem"
                } else {
                    "a filesystem whose role is unknown"
                };
                Finding::recommended(
                    format!(
                        "{} is {role} of a type {} does not support ({accepted})",
                        fs_place(facts, v, fs),
                        profile.display_name
                    ),
                    "If the system needs this filesystem at boot, move its data to a supported \
                     filesystem; otherwise mark it `nofail` in /etc/fstab.",
                )
            };
            out.push(f.with_evidence(format!("filesystem type: {}", fs.fs_type)));
        }
        if !any_fs {
            return Verdict::not_evaluated("no filesystem was recognised on the disk");
        }
        let mut detail = format!("supported: {}", ok.join("; "));
        if !other.is_empty() {
            detail.push_str(&format!("; not filesystems: {}", other.join("; ")));
        }
        Verdict::from_findings(out, Some(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn ext4_root_and_fat_esp_pass() {
        let d = assert_pass(&FsSupported.run(&good_linux(), &TargetProfile::alibaba()));
        assert_eq!(
            d.as_deref(),
            Some("supported: fat32 (esp); ext4 (root); not filesystems: partition 1: no recognised content")
        );
    }

    #[test]
    fn btrfs_root_on_alibaba_is_strongly_recommended() {
        let mut facts = good_linux();
        facts.volumes[2] = fs_vol(3, fs_with_roles("btrfs", &["root"]));
        let f = findings(
            &FsSupported.run(&facts, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(f[0].message.starts_with("btrfs on partition 3 (byte offset 134217728) holds root but Alibaba Cloud ECS supports ext2, ext3, ext4, xfs, ntfs"), "{}", f[0].message);
        assert_pass(&FsSupported.run(&facts, &TargetProfile::aws()));
    }

    #[test]
    fn unsupported_non_system_or_unknown_role_is_recommended() {
        let mut facts = good_linux();
        facts
            .volumes
            .push(fs_vol(4, fs_with_roles("btrfs", &["home"])));
        let f = findings(
            &FsSupported.run(&facts, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.contains("a non-system filesystem"));
        facts.volumes = vec![fs_vol(1, fs("btrfs"))];
        let f = findings(
            &FsSupported.run(&facts, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.contains("whose role is unknown"));
    }

    #[test]
    fn no_filesystem_is_not_evaluated() {
        let mut facts = good_linux();
        facts.volumes.retain(|v| fs_of(v).is_none());
        assert_not_evaluated(&FsSupported.run(&facts, &TargetProfile::alibaba()));
    }
}
