//! `fs.free-space`: enough free space on the system filesystems to install drivers and agents.
//!
//! Rule from checks.md §1 `root_free_space` (AWS VM Import: at least 250 MiB on Linux — its
//! checker tests /, /boot, /etc, /tmp, /var, /usr — and 6 GiB on Windows; Alibaba compliance tool
//! `disk_usage`). Thresholds are the [`TargetProfile`]'s. Needs the guest's roles: without them
//! it is Not evaluated. Our own code.

use crate::facts::Facts;
use crate::layout::{bytes_exact, fs_of, fs_place, has_role, roles_known};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "fs.free-space",
    alibaba_item: None,
    title: "Free space on system filesystems",
    applies_to: Applicability::Any,
    inputs: &[
        "volumes[].fs.free_bytes",
        "volumes[].fs.fs_type",
        "volumes[].fs.roles",
    ],
    remedy: "Free space on the filesystem (remove old kernels, logs, caches) or grow the disk and \
the filesystem before exporting.",
    references: &[
        "AWS vmie_prereqs.md: 250 MiB free on Linux, 6 GiB on Windows",
        "Alibaba image compliance tool: disk_usage",
    ],
    description:
        "The import tooling writes drivers, a new initramfs and agents to the root, /boot, \
/usr, /var and /tmp filesystems (Windows: the system volume). Less free space than the target's \
minimum is a recommended optimisation. Needs the filesystem roles from the guest assembly.",
};

/// The check.
pub struct FreeSpace;

/// Roles the tooling writes to.
pub(crate) const WRITTEN_ROLES: &[&str] = &["root", "boot", "usr", "var", "tmp"];

impl Check for FreeSpace {
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
            let Some(free) = fs.free_bytes else {
                unknown.push(roles);
                continue;
            };
            let min = if fs.fs_type.eq_ignore_ascii_case("ntfs") {
                profile.min_free_bytes_windows
            } else {
                profile.min_free_bytes_linux
            };
            if free < min {
                out.push(
                    Finding::recommended(
                        format!(
                            "{} ({roles}) has {} free, less than the {} {} needs to install \
                             drivers and agents",
                            fs_place(facts, v, fs),
                            bytes_exact(free),
                            bytes_exact(min),
                            profile.display_name
                        ),
                        "Free space (old kernels, logs, package caches) or grow the disk and the \
                         filesystem before exporting.",
                    )
                    .with_evidence(format!("free {free} of {} bytes", fs.size_bytes)),
                );
            } else {
                ok.push(format!(
                    "{roles}: {} free",
                    crate::layout::human_bytes(free)
                ));
            }
        }
        if out.is_empty() && ok.is_empty() {
            return Verdict::not_evaluated(if unknown.is_empty() {
                "no root, /boot, /usr or /var filesystem was identified".to_string()
            } else {
                format!("free space is not known for {}", unknown.join("; "))
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

    fn root_mut(facts: &mut Facts) -> &mut crate::facts::FsFacts {
        match &mut facts.volumes[2].content {
            VolumeContent::Filesystem(fs) => fs,
            _ => unreachable!(),
        }
    }

    #[test]
    fn enough_space_passes() {
        let d = assert_pass(&FreeSpace.run(&good_linux(), &TargetProfile::aws()));
        assert_eq!(d.as_deref(), Some("root: 5.0 GiB free"));
    }

    #[test]
    fn too_little_space_is_recommended() {
        let mut facts = good_linux();
        root_mut(&mut facts).free_bytes = Some(100 << 20);
        let f = findings(
            &FreeSpace.run(&facts, &TargetProfile::aws()),
            &[Recommended],
        );
        assert!(
            f[0].message
                .contains("(root) has 100.0 MiB (104857600 bytes) free, less than the 250.0 MiB"),
            "{}",
            f[0].message
        );
        // Windows system volume needs 6 GiB.
        facts.volumes[2] = fs_vol(
            3,
            crate::facts::FsFacts {
                free_bytes: Some(5 << 30),
                ..fs_with_roles("ntfs", &["root"])
            },
        );
        findings(
            &FreeSpace.run(&facts, &TargetProfile::aws()),
            &[Recommended],
        );
    }

    #[test]
    fn unknown_roles_or_space_is_not_evaluated() {
        let mut facts = good_linux();
        root_mut(&mut facts).free_bytes = None;
        let r = assert_not_evaluated(&FreeSpace.run(&facts, &TargetProfile::aws()));
        assert_eq!(r, "free space is not known for root");
        for v in &mut facts.volumes {
            if let VolumeContent::Filesystem(fs) = &mut v.content {
                fs.roles.clear();
            }
        }
        let r = assert_not_evaluated(&FreeSpace.run(&facts, &TargetProfile::aws()));
        assert!(r.starts_with("filesystem roles are unknown"), "{r}");
    }
}
