//! `disk.size-alignment`: the virtual size is a multiple of what the target requires (Azure:
//! 1 MiB), and a fixed VHD's file is the virtual size plus its 512-byte footer.
//!
//! Rule from checks.md §1 `size_alignment` (Azure prepare-for-upload-vhd-image.md and
//! create-upload-generic.md: "the virtual size of all VHDs on Azure must be aligned to 1 MB").
//! The alignment is the [`TargetProfile`]'s. Our own code.

use crate::facts::Facts;
use crate::layout::bytes_exact;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "disk.size-alignment",
    alibaba_item: None,
    title: "Virtual size aligned as the target requires",
    applies_to: Applicability::Any,
    inputs: &["image.virtual_size", "image.format", "image.subformat", "image.file_size"],
    remedy: "Resize the raw disk to a whole number of MiB (`qemu-img resize -f raw disk.raw SIZE`) \
before converting with `qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on`.",
    references: &["Azure: prepare-for-upload-vhd-image.md, create-upload-generic.md (1 MB alignment)"],
    description: "Some targets require the virtual size to be a whole multiple of an alignment (Azure: \
1 MiB); the upload is refused otherwise. A fixed VHD's file must also be exactly the virtual size plus \
the 512-byte footer. Not applicable to targets without such a rule.",
};

/// The check.
pub struct SizeAlignment;

/// Size of the VHD footer that ends a fixed VHD.
const VHD_FOOTER: u64 = 512;

impl Check for SizeAlignment {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let Some(align) = profile.size_alignment.filter(|a| *a > 0) else {
            return Verdict::not_applicable(format!(
                "{} has no size-alignment requirement",
                profile.display_name
            ));
        };
        let size = facts.image.virtual_size;
        if size == 0 {
            return Verdict::not_evaluated("the virtual size is unknown");
        }
        let mut out = Vec::new();
        let rem = size.checked_rem(align).unwrap_or(0);
        if rem != 0 {
            let up = size.saturating_add(align.saturating_sub(rem));
            out.push(
                Finding::strongly(
                    format!(
                        "virtual size {size} bytes is not a multiple of {align} bytes, as {} requires",
                        profile.display_name
                    ),
                    format!(
                        "Convert to raw, resize to {up} bytes (`qemu-img resize -f raw disk.raw \
                         {up}`), then convert to a fixed VHD with `-o subformat=fixed,force_size=on`."
                    ),
                )
                .with_evidence(format!("virtual size {}", bytes_exact(size)))
                .with_evidence(format!("remainder {rem} bytes")),
            );
        }
        let fixed_vhd = facts.image.format.eq_ignore_ascii_case("vhd")
            && facts
                .image
                .subformat
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("fixed"));
        if fixed_vhd && facts.image.file_size != size.saturating_add(VHD_FOOTER) {
            out.push(Finding::recommended(
                format!(
                    "fixed VHD file is {} bytes, expected the virtual size plus the 512-byte footer ({})",
                    facts.image.file_size,
                    size.saturating_add(VHD_FOOTER)
                ),
                "Recreate the fixed VHD with `qemu-img convert -O vpc -o subformat=fixed,force_size=on`.",
            ));
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "virtual size {size} bytes is a multiple of {align}"
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn aligned_size_passes_on_azure() {
        let d = assert_pass(&SizeAlignment.run(&good_linux(), &TargetProfile::azure()));
        assert_eq!(
            d.as_deref(),
            Some("virtual size 10737418240 bytes is a multiple of 1048576")
        );
    }

    #[test]
    fn chs_rounded_vhd_is_strongly_recommended_on_azure() {
        let mut facts = good_linux();
        facts.image.format = "vhd".into();
        facts.image.subformat = Some("fixed".into());
        facts.image.virtual_size = 419_586_048;
        facts.image.file_size = 419_586_048 + 512;
        let f = findings(
            &SizeAlignment.run(&facts, &TargetProfile::azure()),
            &[StronglyRecommended],
        );
        assert_eq!(
            f[0].message,
            "virtual size 419586048 bytes is not a multiple of 1048576 bytes, as Microsoft Azure requires"
        );
        assert!(
            f[0].remedy.contains("419430400") || f[0].remedy.contains("420478976"),
            "{}",
            f[0].remedy
        );
        facts.image.file_size = 1;
        findings(
            &SizeAlignment.run(&facts, &TargetProfile::azure()),
            &[StronglyRecommended, Recommended],
        );
    }

    #[test]
    fn other_targets_are_not_applicable_unknown_size_not_evaluated() {
        assert_not_applicable(&SizeAlignment.run(&good_linux(), &TargetProfile::alibaba()));
        assert_not_evaluated(&SizeAlignment.run(&Facts::default(), &TargetProfile::azure()));
    }
}
