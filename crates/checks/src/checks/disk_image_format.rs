//! `disk.image-format`: the container format is one the target imports.
//!
//! Rule from checks.md §1 `image_format_detect` (ALI-imp: RAW, QCOW2, VHD; AWS: stream-optimized
//! VMDK, VHD/VHDX, raw; Azure: fixed VHD only; GCP import docs). The accepted list is the
//! [`TargetProfile`]'s. Our own code.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "disk.image-format",
    alibaba_item: None,
    title: "Image format accepted by the target",
    applies_to: Applicability::Any,
    inputs: &["image.format", "image.subformat"],
    remedy: "Convert the image with `qemu-img convert -O <format>` to a format the target imports.",
    references: &[
        "Alibaba: Import a custom image (QCOW2, VHD, RAW, VMDK; updated 2025-11-07)",
        "AWS VM Import/Export: vmie_prereqs.md (image formats)",
        "Azure: create-upload-generic.md (fixed VHD)",
        "GCP: importing-virtual-disks",
    ],
    description: "The container format, detected from the file's content (never its extension), must be \
one the target platform imports; some targets accept only one subformat (AWS: streamOptimized VMDK; \
Azure: fixed VHD). An unaccepted format is a strongly recommended fix: the import fails.",
};

/// The check.
pub struct ImageFormat;

/// qemu-img's name for a format (`vhd` is `vpc`).
fn qemu_name(format: &str) -> &str {
    if format.eq_ignore_ascii_case("vhd") {
        "vpc"
    } else {
        format
    }
}

impl Check for ImageFormat {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let img = &facts.image;
        if img.format.is_empty() {
            return Verdict::not_evaluated("the container format was not detected");
        }
        let shown = match &img.subformat {
            Some(s) => format!("{} ({s})", img.format),
            None => img.format.clone(),
        };
        if profile.accepts_format(&img.format, img.subformat.as_deref()) {
            return Verdict::pass_with(format!("{shown}, accepted by {}", profile.display_name));
        }
        let accepted: Vec<String> = profile.formats.iter().map(|r| r.describe()).collect();
        let Some(first) = profile.formats.first() else {
            return Verdict::not_evaluated(format!(
                "target profile {} lists no accepted format",
                profile.name
            ));
        };
        let mut cmd = format!(
            "qemu-img convert -f {} -O {}",
            qemu_name(&img.format),
            qemu_name(&first.format)
        );
        if let Some(sub) = first.subformats.first() {
            cmd.push_str(&format!(" -o subformat={sub}"));
        }
        cmd.push_str(" SOURCE DEST");
        let f = Finding::strongly(
            format!(
                "container format {shown} is not accepted by {}",
                profile.display_name
            ),
            format!("Convert the image: `{cmd}`."),
        )
        .with_evidence(format!("detected format: {shown}"))
        .with_evidence(format!("accepted: {}", accepted.join(", ")));
        Verdict::Findings(vec![f])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn accepted_format_passes() {
        let facts = good_linux();
        let d = assert_pass(&ImageFormat.run(&facts, &TargetProfile::alibaba()));
        assert_eq!(d.as_deref(), Some("qcow2, accepted by Alibaba Cloud ECS"));
    }

    #[test]
    fn unaccepted_format_is_strongly_recommended() {
        let mut facts = good_linux();
        facts.image.format = "vhdx".into();
        let f = findings(
            &ImageFormat.run(&facts, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert_eq!(
            f[0].message,
            "container format vhdx is not accepted by Alibaba Cloud ECS"
        );
        assert!(
            f[0].remedy.contains("qemu-img convert -f vhdx -O qcow2"),
            "{}",
            f[0].remedy
        );
        // VMDK: Alibaba (since its 2025 import page) and GCP take any; AWS wants streamOptimized.
        facts.image.format = "vmdk".into();
        facts.image.subformat = Some("monolithicSparse".into());
        assert_pass(&ImageFormat.run(&facts, &TargetProfile::alibaba()));
        assert_pass(&ImageFormat.run(&facts, &TargetProfile::gcp()));
        let f = findings(
            &ImageFormat.run(&facts, &TargetProfile::aws()),
            &[StronglyRecommended],
        );
        assert!(
            f[0].remedy.contains("-o subformat=streamOptimized"),
            "{}",
            f[0].remedy
        );
    }

    #[test]
    fn azure_wants_fixed_vhd() {
        let mut facts = good_linux();
        facts.image.format = "vhd".into();
        facts.image.subformat = Some("dynamic".into());
        let f = findings(
            &ImageFormat.run(&facts, &TargetProfile::azure()),
            &[StronglyRecommended],
        );
        assert!(
            f[0].remedy.contains("-f vpc -O vpc -o subformat=fixed"),
            "{}",
            f[0].remedy
        );
        facts.image.subformat = Some("fixed".into());
        assert_pass(&ImageFormat.run(&facts, &TargetProfile::azure()));
    }

    #[test]
    fn unknown_format_is_not_evaluated() {
        let facts = Facts::default();
        assert_not_evaluated(&ImageFormat.run(&facts, &TargetProfile::alibaba()));
    }
}
