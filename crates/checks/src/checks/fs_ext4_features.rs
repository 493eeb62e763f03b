//! `fs.ext4-features`: ext2/3/4 features the target's tooling does not accept.
//!
//! Rule from checks.md §1 `ext4_feature_compat` (Alibaba instructions for importing images: the
//! ext4 `64bit` feature must not be used, `quota` and `project` must not be combined; bit values
//! INCOMPAT_64BIT 0x80, RO_COMPAT_QUOTA 0x100, RO_COMPAT_PROJECT 0x2000 from the ext4 disk layout
//! — the fs layer turns them into names). The forbidden set is the [`TargetProfile`]'s.
//! Our own code.

use crate::facts::Facts;
use crate::layout::{fs_of, fs_place, is_ext};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "fs.ext4-features",
    alibaba_item: None,
    title: "ext4 features accepted by the target",
    applies_to: Applicability::Any,
    inputs: &["volumes[].fs.fs_type", "volumes[].fs.features"],
    remedy: "Turn the feature off with tune2fs/resize2fs on the unmounted filesystem (e.g. \
`resize2fs -s` for 64bit, `tune2fs -O ^project` or `-O ^quota`), or recreate the filesystem without \
it.",
    references: &[
        "Alibaba: Instructions for importing images (ext4 64bit; quota with project)",
        "ext4 disk layout (kernel.org): s_feature_incompat, s_feature_ro_compat",
    ],
    description: "Some targets' image tooling cannot handle some ext4 features: on Alibaba Cloud the \
64bit feature must not be used and quota must not be combined with project. Each such feature on an \
ext2/3/4 filesystem is a recommended optimisation.",
};

/// The check.
pub struct Ext4Features;

impl Check for Ext4Features {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let exts: Vec<_> = facts
            .volumes
            .iter()
            .filter_map(|v| fs_of(v).filter(|fs| is_ext(&fs.fs_type)).map(|fs| (v, fs)))
            .collect();
        if exts.is_empty() {
            return Verdict::not_applicable("the disk has no ext2/3/4 filesystem");
        }
        let mut out = Vec::new();
        for (v, fs) in &exts {
            let has = |name: &str| fs.features.iter().any(|f| f.eq_ignore_ascii_case(name));
            let place = fs_place(facts, v, fs);
            for bad in profile.ext4_forbidden_features.iter().filter(|b| has(b)) {
                let remedy = if bad.eq_ignore_ascii_case("64bit") {
                    "On the unmounted filesystem: `e2fsck -f DEV && resize2fs -s DEV` (converts \
                     to 32-bit block numbers, filesystems below 16 TiB)."
                        .to_string()
                } else {
                    format!("On the unmounted filesystem: `tune2fs -O ^{bad} DEV`.")
                };
                out.push(
                    Finding::recommended(
                        format!(
                            "{place} uses the ext4 feature {bad}, which {} does not support",
                            profile.display_name
                        ),
                        remedy,
                    )
                    .with_evidence(format!("features: {}", fs.features.join(" "))),
                );
            }
            if profile.ext4_quota_project_conflict && has("quota") && has("project") {
                out.push(
                    Finding::recommended(
                        format!(
                            "{place} combines the ext4 features quota and project, which {} \
                             does not support",
                            profile.display_name
                        ),
                        "On the unmounted filesystem: `tune2fs -O ^project DEV` (or `-O ^quota`).",
                    )
                    .with_evidence(format!("features: {}", fs.features.join(" "))),
                );
            }
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{} ext filesystem(s) without features {} rejects",
                exts.len(),
                profile.display_name
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::VolumeContent;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn with_features(list: &[&str]) -> Facts {
        let mut facts = good_linux();
        if let VolumeContent::Filesystem(fs) = &mut facts.volumes[2].content {
            fs.features = list.iter().map(|s| (*s).to_string()).collect();
        }
        facts
    }

    #[test]
    fn plain_ext4_passes() {
        let d = assert_pass(&Ext4Features.run(&good_linux(), &TargetProfile::alibaba()));
        assert_eq!(
            d.as_deref(),
            Some("1 ext filesystem(s) without features Alibaba Cloud ECS rejects")
        );
    }

    #[test]
    fn sixty_four_bit_and_quota_project_are_recommended_on_alibaba() {
        let facts = with_features(&["extent", "64bit", "quota", "project"]);
        let f = findings(
            &Ext4Features.run(&facts, &TargetProfile::alibaba()),
            &[Recommended, Recommended],
        );
        assert!(
            f[0].message.starts_with(
                "ext4 on partition 3 (byte offset 134217728) uses the ext4 feature 64bit"
            ),
            "{}",
            f[0].message
        );
        assert!(f[0].remedy.contains("resize2fs -s"));
        assert!(f[1]
            .message
            .contains("combines the ext4 features quota and project"));
        assert_eq!(f[1].evidence, vec!["features: extent 64bit quota project"]);
        // AWS has no such rule.
        assert_pass(&Ext4Features.run(&facts, &TargetProfile::aws()));
    }

    #[test]
    fn no_ext_filesystem_is_not_applicable() {
        let mut facts = good_linux();
        facts.volumes[2] = fs_vol(3, fs_with_roles("xfs", &["root"]));
        assert_not_applicable(&Ext4Features.run(&facts, &TargetProfile::alibaba()));
    }
}
