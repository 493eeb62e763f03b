//! `disk.partition-alignment`: partitions start on 4 KiB (ideally 1 MiB) boundaries, lie inside
//! the disk and do not overlap.
//!
//! Rule from checks.md §1 `partition_alignment` (inferred: cloud disks have 4 KiB physical
//! sectors; parted/fdisk align to 1 MiB = 2048 × 512 B since 2010). Beyond-end and overlapping
//! partitions are strongly recommended fixes because the filesystem is then cut or shared.
//! Our own code.

use crate::facts::Facts;
use crate::layout::{bytes_exact, MIB};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "disk.partition-alignment",
    alibaba_item: None,
    title: "Partitions aligned, inside the disk, not overlapping",
    applies_to: Applicability::Any,
    inputs: &[
        "table.partitions[].start",
        "table.partitions[].size",
        "image.virtual_size",
    ],
    remedy:
        "Recreate the layout with 1 MiB-aligned partitions (parted/fdisk defaults) that fit the \
disk, and copy the filesystems over.",
    references: &[
        "checks.md §1 partition_alignment (inferred)",
        "util-linux fdisk / parted: 1 MiB default alignment",
    ],
    description: "Each partition should start on a 4 KiB boundary (cloud block storage uses 4 KiB \
physical sectors; misaligned partitions turn each write into read-modify-write) — 1 MiB is the \
convention. A partition reaching beyond the end of the virtual disk (a truncated image) or \
overlapping another one is a strongly recommended fix.",
};

/// The check.
pub struct PartitionAlignment;

/// Minimum alignment: the 4 KiB physical sector of cloud block storage.
const MIN_ALIGN: u64 = 4096;

impl Check for PartitionAlignment {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let Some(table) = &facts.table else {
            return Verdict::not_evaluated("the partition table could not be read");
        };
        if table.scheme.eq_ignore_ascii_case("none") {
            return Verdict::not_applicable("the disk has no partition table");
        }
        let sector = u64::from(table.sector_size).max(1);
        let disk = facts.image.virtual_size;
        let mut out = Vec::new();
        let mut not_mib = Vec::new();
        let mut spans = Vec::new();
        for p in table.partitions.iter().filter(|p| p.size > 0) {
            let end = p.start.checked_add(p.size);
            if disk > 0 && end.is_none_or(|e| e > disk) {
                out.push(
                    Finding::strongly(
                        format!(
                            "partition {} (bytes {}..{}) extends beyond the end of the {}-byte \
                             virtual disk: the image is truncated or the table is wrong",
                            p.number,
                            p.start,
                            end.map_or_else(|| "overflow".to_string(), |e| e.to_string()),
                            disk
                        ),
                        "Export the complete disk again, or fix the partition's size in the table.",
                    )
                    .with_evidence(format!(
                        "partition {} start {} size {}",
                        p.number, p.start, p.size
                    ))
                    .with_evidence(format!("virtual disk size {}", bytes_exact(disk))),
                );
            }
            if p.kind.eq_ignore_ascii_case("extended") {
                continue;
            }
            if let Some(e) = end {
                spans.push((p.start, e, p.number));
            }
            if p.start % MIN_ALIGN != 0 {
                out.push(
                    Finding::recommended(
                        format!(
                            "partition {} starts at byte {} (sector {}), not a multiple of {MIN_ALIGN}: \
                             writes on 4 KiB-sector storage become read-modify-write",
                            p.number,
                            p.start,
                            p.start.checked_div(sector).unwrap_or(0)
                        ),
                        "Recreate the partition on a 1 MiB boundary (parted/fdisk defaults) and copy \
                         the filesystem over.",
                    )
                    .with_evidence(format!("start % 4096 = {}", p.start % MIN_ALIGN)),
                );
            } else if p.start % MIB != 0 {
                not_mib.push(p.number.to_string());
            }
        }
        spans.sort_unstable();
        for pair in spans.windows(2) {
            if let [(a_start, a_end, a), (b_start, b_end, b)] = pair {
                if b_start < a_end {
                    out.push(Finding::strongly(
                        format!(
                            "partition {b} (bytes {b_start}..{b_end}) overlaps partition {a} \
                             (bytes {a_start}..{a_end})"
                        ),
                        "Fix the partition table so that no two partitions share sectors; check \
                         both filesystems afterwards.",
                    ));
                }
            }
        }
        let mut detail = format!(
            "{} partition(s) aligned to 4 KiB, inside the disk",
            spans.len()
        );
        if !not_mib.is_empty() {
            detail.push_str(&format!(
                "; not 1 MiB-aligned: partition {}",
                not_mib.join(", ")
            ));
        }
        Verdict::from_findings(out, Some(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::TableInfo;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn run(f: &Facts) -> Verdict {
        PartitionAlignment.run(f, &TargetProfile::default())
    }

    #[test]
    fn aligned_layout_passes() {
        let d = assert_pass(&run(&good_linux()));
        assert_eq!(
            d.as_deref(),
            Some("3 partition(s) aligned to 4 KiB, inside the disk")
        );
    }

    #[test]
    fn four_k_but_not_mib_is_informational() {
        let mut facts = good_linux();
        facts.table = table("mbr", vec![part(1, 8192, 1 << 30, "0x83")]);
        let d = assert_pass(&run(&facts)).unwrap_or_default();
        assert!(d.ends_with("not 1 MiB-aligned: partition 1"), "{d}");
    }

    #[test]
    fn cylinder_aligned_partition_is_recommended() {
        let mut facts = good_linux();
        facts.table = table("mbr", vec![part(1, 63 * 512, 1 << 30, "0x83")]);
        let f = findings(&run(&facts), &[Recommended]);
        assert!(
            f[0].message
                .starts_with("partition 1 starts at byte 32256 (sector 63)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn beyond_end_and_overlap_are_strongly_recommended() {
        let mut facts = good_linux();
        facts.table = table(
            "mbr",
            vec![
                part(1, 1 << 20, 2 << 20, "0x83"),
                part(2, 2 << 20, 20 << 30, "0x83"),
                part(3, u64::MAX - 10, 100, "0x83"),
            ],
        );
        let f = findings(
            &run(&facts),
            &[
                StronglyRecommended,
                StronglyRecommended,
                Recommended,
                StronglyRecommended,
            ],
        );
        assert!(f[0].message.starts_with("partition 2 (bytes 2097152..21476933632) extends beyond the end of the 10737418240-byte"), "{}", f[0].message);
        assert!(
            f[1].message
                .contains("(bytes 18446744073709551605..overflow)"),
            "{}",
            f[1].message
        );
        assert_eq!(f[3].message, "partition 2 (bytes 2097152..21476933632) overlaps partition 1 (bytes 1048576..3145728)");
    }

    #[test]
    fn missing_table_is_not_evaluated_or_not_applicable() {
        let mut facts = good_linux();
        facts.table = None;
        assert_not_evaluated(&run(&facts));
        facts.table = Some(TableInfo {
            scheme: "none".into(),
            ..TableInfo::default()
        });
        assert_not_applicable(&run(&facts));
    }
}
