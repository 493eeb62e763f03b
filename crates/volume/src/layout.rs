//! Checks shared by the GPT and MBR readers: turning sector extents into byte ranges without
//! overflow, flagging partitions past the end of the disk, and finding overlapping partitions.
//!
//! Policy (documented in the crate docs): a partition that extends past the end of the disk is
//! **kept** and flagged ([`Partition::beyond_disk_end`]) with an anomaly, because the table is
//! what the disk says and a truncated image is worth reporting per partition; a partition whose
//! byte offsets cannot be represented (u64 overflow) or whose end precedes its start is
//! **dropped** with an anomaly.

use crate::table::{Partition, PartitionKind};
use imgcheck_core::{Anomaly, ErrorKind};

/// Most overlaps reported one by one; the rest are counted in one final anomaly.
const MAX_OVERLAP_ANOMALIES: usize = 64;

/// Whole sectors of `sector_size` bytes in a disk of `len` bytes.
pub(crate) fn disk_sectors(len: u64, sector_size: u32) -> u64 {
    len.checked_div(u64::from(sector_size)).unwrap_or(0)
}

/// Byte range of `size_lba` sectors from `start_lba`, or a message saying what overflowed.
pub(crate) fn byte_range(
    start_lba: u64,
    size_lba: u64,
    sector_size: u32,
) -> Result<(u64, u64), String> {
    let ss = u64::from(sector_size);
    let start = start_lba.checked_mul(ss).ok_or_else(|| {
        format!("starting LBA {start_lba} × {ss}-byte sectors overflows a 64-bit byte offset")
    })?;
    let size = size_lba
        .checked_mul(ss)
        .ok_or_else(|| format!("{size_lba} sectors × {ss} bytes overflows a 64-bit byte size"))?;
    start.checked_add(size).ok_or_else(|| {
        format!("partition end (byte {start} + {size}) overflows a 64-bit byte offset")
    })?;
    Ok((start, size))
}

/// Flag `part` when it ends past the last sector of a disk of `disk_sectors` sectors.
pub(crate) fn check_disk_end(
    layer: &'static str,
    part: &mut Partition,
    disk_sectors: u64,
    anomalies: &mut Vec<Anomaly>,
) {
    let end = part.end_lba();
    if end >= disk_sectors {
        part.beyond_disk_end = true;
        anomalies.push(Anomaly::new(
            layer,
            format!("partition {}", part.number),
            Some(part.entry_offset),
            ErrorKind::Corrupt,
            format!(
                "sectors {}..={} extend past the last sector of the disk {} ({} sectors): \
                 partition kept but truncated image or wrong table",
                part.start_lba,
                end,
                disk_sectors.saturating_sub(1),
                disk_sectors
            ),
        ));
    }
}

/// Two partitions may share sectors without complaint only when one is the MBR extended
/// container and the other a logical partition (which lives inside it).
fn may_nest(a: PartitionKind, b: PartitionKind) -> bool {
    matches!(
        (a, b),
        (PartitionKind::Extended, PartitionKind::Logical)
            | (PartitionKind::Logical, PartitionKind::Extended)
    )
}

/// Report every pair of partitions that share sectors (sorted sweep; at most
/// [`MAX_OVERLAP_ANOMALIES`] reported individually).
pub(crate) fn check_overlaps(
    layer: &'static str,
    parts: &[Partition],
    anomalies: &mut Vec<Anomaly>,
) {
    let mut order: Vec<&Partition> = parts.iter().filter(|p| p.size_lba > 0).collect();
    order.sort_by_key(|p| (p.start_lba, p.number));
    let mut reported = 0usize;
    let mut truncated = false;
    'outer: for (i, a) in order.iter().enumerate() {
        let a_end = a.end_lba();
        for b in order.iter().skip(i.saturating_add(1)) {
            if b.start_lba > a_end {
                break;
            }
            if may_nest(a.kind, b.kind) {
                continue;
            }
            if reported >= MAX_OVERLAP_ANOMALIES {
                truncated = true;
                break 'outer;
            }
            reported = reported.saturating_add(1);
            let (first, second) = if a.number <= b.number { (a, b) } else { (b, a) };
            anomalies.push(Anomaly::new(
                layer,
                format!("partition {}", second.number),
                Some(second.entry_offset),
                ErrorKind::Corrupt,
                format!(
                    "sectors {}..={} overlap partition {} (sectors {}..={})",
                    second.start_lba,
                    second.end_lba(),
                    first.number,
                    first.start_lba,
                    first.end_lba()
                ),
            ));
        }
    }
    if truncated {
        anomalies.push(Anomaly::new(
            layer,
            "partition table",
            None,
            ErrorKind::Corrupt,
            format!("more than {MAX_OVERLAP_ANOMALIES} overlapping partition pairs; the rest are not listed"),
        ));
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    fn p(number: u32, start_lba: u64, size_lba: u64, kind: PartitionKind) -> Partition {
        Partition {
            number,
            start: start_lba * 512,
            size: size_lba * 512,
            start_lba,
            size_lba,
            type_id: "0x83".into(),
            type_name: None,
            name: None,
            guid: None,
            attributes: 0,
            bootable: false,
            kind,
            entry_offset: u64::from(number) * 16,
            beyond_disk_end: false,
        }
    }

    #[test]
    fn byte_range_overflows() {
        assert_eq!(byte_range(2048, 100, 4096), Ok((2048 * 4096, 100 * 4096)));
        assert_eq!(
            byte_range(u64::MAX / 512 + 1, 1, 512).unwrap_err(),
            "starting LBA 36028797018963968 × 512-byte sectors overflows a 64-bit byte offset"
        );
        assert_eq!(
            byte_range(1, u64::MAX / 4096 + 1, 4096).unwrap_err(),
            "4503599627370496 sectors × 4096 bytes overflows a 64-bit byte size"
        );
        assert!(byte_range(u64::MAX / 512 - 1, 10, 512)
            .unwrap_err()
            .starts_with("partition end"));
        assert_eq!(disk_sectors(1000, 0), 0);
        assert_eq!(disk_sectors(8192, 4096), 2);
    }

    #[test]
    fn overlaps_exempt_extended_and_logical_and_are_capped() {
        let parts = [
            p(1, 100, 100, PartitionKind::Primary),
            p(3, 300, 1000, PartitionKind::Extended),
            p(5, 301, 10, PartitionKind::Logical),
            p(6, 305, 10, PartitionKind::Logical),
            p(2, 1200, 200, PartitionKind::Primary),
        ];
        let mut a = Vec::new();
        check_overlaps("mbr", &parts, &mut a);
        let got: Vec<(&str, &str)> = a
            .iter()
            .map(|x| (x.structure.as_str(), x.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "partition 3",
                    "sectors 300..=1299 overlap partition 2 (sectors 1200..=1399)"
                ),
                (
                    "partition 6",
                    "sectors 305..=314 overlap partition 5 (sectors 301..=310)"
                ),
            ]
        );
        // 200 copies of one extent: 64 pairs reported, then one summary.
        let many: Vec<Partition> = (1..=200)
            .map(|n| p(n, 10, 10, PartitionKind::Gpt))
            .collect();
        let mut a = Vec::new();
        check_overlaps("gpt", &many, &mut a);
        assert_eq!(a.len(), MAX_OVERLAP_ANOMALIES + 1);
        assert_eq!(
            a.last().unwrap().message,
            "more than 64 overlapping partition pairs; the rest are not listed"
        );
    }
}
