//! `disk.size-limits`: the virtual size fits the target's system-disk limits, and an MBR disk
//! does not exceed what MBR can address.
//!
//! Rules from checks.md §1 `disk_size_limits` (Alibaba import notes: system disk 40–500 GiB,
//! sized from the virtual size; AWS: MBR boot volumes ≤ 2 TiB; Azure Gen1 OS disk ≤ 2 TiB). The
//! limits are the [`TargetProfile`]'s; the 2 TiB MBR bound is 2^32 sectors of 512 bytes.
//! Our own code.

use crate::facts::Facts;
use crate::layout::{bytes_exact, scheme, MBR_MAX_BYTES_512};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "disk.size-limits",
    alibaba_item: None,
    title: "Disk size within the target's limits",
    applies_to: Applicability::Any,
    inputs: &["image.virtual_size", "table.scheme", "table.sector_size"],
    remedy: "Shrink the system disk (shrink the last filesystem, then the partition, then \
`qemu-img resize --shrink`) or move data to a separate data disk.",
    references: &[
        "Alibaba: Instructions for importing images (system disk size from the virtual size, 40–500 GiB)",
        "AWS VM Import: MBR boot volumes up to 2 TiB",
        "Azure: generation 1 OS disk up to 2 TiB",
    ],
    description: "The system disk the target creates is sized from the image's virtual size (not the \
used space). Above the target's hard limit the import fails (strongly recommended fix); above its \
recommended maximum, or an MBR-partitioned disk larger than 2 TiB (MBR cannot address more with \
512-byte sectors), is a recommended optimisation.",
};

/// The check.
pub struct SizeLimits;

impl Check for SizeLimits {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let size = facts.image.virtual_size;
        if size == 0 {
            return Verdict::not_evaluated("the virtual size is unknown");
        }
        let shown = bytes_exact(size);
        let mut out = Vec::new();
        if let Some(max) = profile.max_system_disk_bytes.filter(|m| size > *m) {
            out.push(
                Finding::strongly(
                    format!(
                        "virtual size {shown} exceeds {}'s system-disk limit of {}",
                        profile.display_name,
                        bytes_exact(max)
                    ),
                    "Shrink the disk below the limit (shrink the filesystem and partition, then \
                     `qemu-img resize --shrink`), or move data to a data disk.",
                )
                .with_evidence(format!("virtual size {shown}")),
            );
        } else if let Some(rec) = profile
            .recommended_max_system_disk_bytes
            .filter(|m| size > *m)
        {
            out.push(
                Finding::recommended(
                    format!(
                        "virtual size {shown} exceeds the {} system-disk size recommended by {}",
                        bytes_exact(rec),
                        profile.display_name
                    ),
                    "Keep the system disk small and put data on data disks; shrink the disk \
                     before importing.",
                )
                .with_evidence(format!("virtual size {shown}")),
            );
        }
        let sector = facts.table.as_ref().map_or(512, |t| t.sector_size);
        if scheme(facts) == Some("mbr") && sector <= 512 && size > MBR_MAX_BYTES_512 {
            out.push(Finding::recommended(
                format!(
                    "MBR-partitioned disk of {shown}: MBR addresses at most 2 TiB with 512-byte \
                     sectors, the space beyond is unusable"
                ),
                "Convert the table to GPT (`sgdisk -g`, with a BIOS boot partition for GRUB) or \
                 keep the system disk below 2 TiB.",
            ));
        }
        let mut limits = Vec::new();
        if let Some(m) = profile.max_system_disk_bytes {
            limits.push(format!("limit {}", crate::layout::human_bytes(m)));
        }
        if let Some(m) = profile.recommended_max_system_disk_bytes {
            limits.push(format!("recommended ≤ {}", crate::layout::human_bytes(m)));
        }
        let detail = if limits.is_empty() {
            format!(
                "virtual size {shown}; {} sets no limit",
                profile.display_name
            )
        } else {
            format!("virtual size {shown} ({})", limits.join(", "))
        };
        Verdict::from_findings(out, Some(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn small_disk_passes() {
        let d = assert_pass(&SizeLimits.run(&good_linux(), &TargetProfile::alibaba()));
        assert_eq!(
            d.as_deref(),
            Some("virtual size 10.0 GiB (10737418240 bytes) (limit 2.0 TiB, recommended ≤ 500.0 GiB)")
        );
        let d =
            assert_pass(&SizeLimits.run(&good_linux(), &TargetProfile::kvm())).unwrap_or_default();
        assert!(d.ends_with("KVM / QEMU sets no limit"), "{d}");
    }

    #[test]
    fn over_recommended_is_recommended_over_hard_limit_strongly() {
        let mut facts = good_linux();
        facts.image.virtual_size = 600 * GIB;
        let f = findings(
            &SizeLimits.run(&facts, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(
            f[0].message.contains(
                "exceeds the 500.0 GiB (536870912000 bytes) system-disk size recommended"
            ),
            "{}",
            f[0].message
        );
        facts.image.virtual_size = 3000 * GIB;
        let f = findings(
            &SizeLimits.run(&facts, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(
            f[0].message
                .contains("exceeds Alibaba Cloud ECS's system-disk limit of 2.0 TiB"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn big_mbr_disk_is_recommended() {
        let mut facts = good_linux();
        facts.table = table("mbr", vec![part(1, 1 << 20, 1 << 30, "0x83")]);
        facts.image.virtual_size = 3 << 40;
        let f = findings(
            &SizeLimits.run(&facts, &TargetProfile::kvm()),
            &[Recommended],
        );
        assert!(
            f[0].message.starts_with("MBR-partitioned disk of 3.0 TiB"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn unknown_size_is_not_evaluated() {
        assert_not_evaluated(&SizeLimits.run(&Facts::default(), &TargetProfile::alibaba()));
    }
}
