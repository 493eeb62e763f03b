//! MBR reader: the four primary entries of LBA 0 and the chain of extended boot records (EBRs)
//! inside an extended partition.
//!
//! Sources: the IBM PC/AT MBR layout (boot signature `55 AA` at offset 510, four 16-byte entries
//! at 446: status, CHS start, type, CHS end, LBA start, sector count) as summarised in UEFI
//! Specification 2.10 §5.2.1 (Legacy MBR) and §5.2.3 (Protective MBR); the EBR chain as Linux
//! reads it (`block/partitions/msdos.c`: a logical entry's start is relative to its own EBR, the
//! link entry's start is relative to the start of the extended partition).
//!
//! Our own code rather than `mbrman`: it adds the on-disk u32 LBAs unchecked (they wrap in
//! release builds), takes `Read + Seek`, and parses a FAT superfloppy boot sector as an MBR. Here
//! every sum is checked, the EBR chain is loop-detected and bounded by
//! [`Limits::max_ebr_chain`], and every problem becomes an anomaly; MBR sectors are always 512
//! bytes here (LBA × 512).

use crate::error::VolumeError;
use crate::layout::{byte_range, check_disk_end, check_overlaps, disk_sectors};
use crate::table::{Partition, PartitionKind};
use crate::type_names::mbr_type_name;
use imgcheck_core::bytes::{u32_le, u8_at};
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, Limits};
use std::collections::BTreeSet;

/// Layer name in errors and anomalies.
const LAYER: &str = "mbr";
/// Sector size MBR LBAs are counted in.
pub(crate) const SECTOR_SIZE: u32 = 512;
/// Bytes of an MBR or EBR sector.
const SECTOR_BYTES: usize = 512;
/// Offset of the boot signature `55 AA`.
const BOOT_SIGNATURE_OFFSET: usize = 510;
/// The boot signature bytes.
const BOOT_SIGNATURE: [u8; 2] = [0x55, 0xAA];
/// Offset of the optional 32-bit disk signature (Windows NT and later).
const DISK_SIGNATURE_OFFSET: usize = 440;
/// Offset of the first of the four partition entries.
const TABLE_OFFSET: usize = 446;
/// Size of one partition entry.
const ENTRY_SIZE: usize = 16;
/// Entry status byte: not active.
const STATUS_INACTIVE: u8 = 0x00;
/// Entry status byte: active (bootable).
const STATUS_ACTIVE: u8 = 0x80;
/// Partition type of a GPT protective entry (UEFI §5.2.3).
pub(crate) const TYPE_GPT_PROTECTIVE: u8 = 0xEE;
/// Extended partition types: DOS extended (CHS), W95 extended (LBA), Linux extended.
const EXTENDED_TYPES: [u8; 3] = [0x05, 0x0F, 0x85];

/// One 16-byte partition entry as stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// Slot 0..=3.
    pub slot: u8,
    /// Byte offset of the entry on the disk.
    pub offset: u64,
    pub status: u8,
    pub type_id: u8,
    pub start: u32,
    pub sectors: u32,
}

impl Entry {
    pub fn is_unused(&self) -> bool {
        self.type_id == 0
    }
    pub fn is_extended(&self) -> bool {
        EXTENDED_TYPES.contains(&self.type_id)
    }
}

/// An MBR or EBR sector, parsed without judging it.
#[derive(Debug, Clone)]
pub(crate) struct Sector {
    pub boot_signature: [u8; 2],
    pub disk_signature: u32,
    pub entries: Vec<Entry>,
}

impl Sector {
    pub fn has_boot_signature(&self) -> bool {
        self.boot_signature == BOOT_SIGNATURE
    }
    pub fn used(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| !e.is_unused())
    }
    /// Contains a 0xee entry.
    pub fn has_protective_entry(&self) -> bool {
        self.used().any(|e| e.type_id == TYPE_GPT_PROTECTIVE)
    }
    /// Every used entry has a valid status byte and lies inside a disk of `disk_sectors`
    /// sectors, and there is at least one: what a real partition table looks like.
    pub fn looks_like_table(&self, disk_sectors: u64) -> bool {
        self.used().count() > 0
            && self.used().all(|e| {
                matches!(e.status, STATUS_INACTIVE | STATUS_ACTIVE)
                    && e.start > 0
                    && e.sectors > 0
                    && u64::from(e.start).saturating_add(u64::from(e.sectors)) <= disk_sectors
            })
    }
}

/// Parse a 512-byte MBR/EBR sector that lies at byte `offset` on the disk.
pub(crate) fn parse_sector(b: &[u8], offset: u64) -> Sector {
    let mut entries = Vec::with_capacity(4);
    for slot in 0u8..4 {
        let at = TABLE_OFFSET.saturating_add(usize::from(slot).saturating_mul(ENTRY_SIZE));
        let at64 = u64::try_from(at).unwrap_or(u64::MAX);
        entries.push(Entry {
            slot,
            offset: offset.saturating_add(at64),
            status: u8_at(b, at).unwrap_or(0),
            type_id: u8_at(b, at.saturating_add(4)).unwrap_or(0),
            start: u32_le(b, at.saturating_add(8)).unwrap_or(0),
            sectors: u32_le(b, at.saturating_add(12)).unwrap_or(0),
        });
    }
    Sector {
        boot_signature: [
            u8_at(b, BOOT_SIGNATURE_OFFSET).unwrap_or(0),
            u8_at(b, BOOT_SIGNATURE_OFFSET.saturating_add(1)).unwrap_or(0),
        ],
        disk_signature: u32_le(b, DISK_SIGNATURE_OFFSET).unwrap_or(0),
        entries,
    }
}

/// Read and parse the 512-byte sector at `lba`.
fn read_sector(
    disk: &dyn BlockSource,
    lba: u64,
    structure: &str,
) -> Result<(Sector, Vec<u8>), VolumeError> {
    let offset = lba.checked_mul(u64::from(SECTOR_SIZE)).ok_or_else(|| {
        VolumeError::corrupt(
            LAYER,
            structure,
            u64::MAX,
            format!("LBA {lba} overflows a 64-bit byte offset"),
        )
    })?;
    let mut buf = vec![0u8; SECTOR_BYTES];
    disk.read_exact_at(&mut buf, offset)
        .map_err(|e| VolumeError::read(LAYER, structure, offset, e))?;
    Ok((parse_sector(&buf, offset), buf))
}

fn anomaly(structure: impl Into<String>, offset: u64, kind: ErrorKind, msg: String) -> Anomaly {
    Anomaly::new(LAYER, structure, Some(offset), kind, msg)
}

/// Build a partition from an entry whose start LBA is absolute (already checked) — or push an
/// anomaly and return `None` when it cannot be represented.
fn partition(
    number: u32,
    kind: PartitionKind,
    e: &Entry,
    abs_start: u64,
    disk_sectors: u64,
    anomalies: &mut Vec<Anomaly>,
) -> Option<Partition> {
    let structure = format!("partition {number}");
    let size_lba = u64::from(e.sectors);
    // MBR LBAs are 32-bit: a start or end beyond 2^32 − 1 cannot be expressed by any MBR tool
    // and is read differently by different implementations (mbrman wraps, Linux does not).
    let end = abs_start.checked_add(size_lba.saturating_sub(1));
    let u32_max = u64::from(u32::MAX);
    match end {
        Some(end) if end <= u32_max => {}
        Some(end) => anomalies.push(anomaly(
            &structure,
            e.offset,
            ErrorKind::Corrupt,
            format!(
                "sectors {abs_start}..={end} go beyond the 32-bit LBA range of an MBR \
                 (last addressable LBA {u32_max})"
            ),
        )),
        None => {
            anomalies.push(anomaly(
                &structure,
                e.offset,
                ErrorKind::Corrupt,
                format!(
                    "start LBA {abs_start} + {size_lba} sectors overflows 64 bits: entry ignored"
                ),
            ));
            return None;
        }
    }
    let (start, size) = match byte_range(abs_start, size_lba, SECTOR_SIZE) {
        Ok(r) => r,
        Err(msg) => {
            anomalies.push(anomaly(
                &structure,
                e.offset,
                ErrorKind::Corrupt,
                format!("{msg}: entry ignored"),
            ));
            return None;
        }
    };
    if !matches!(e.status, STATUS_INACTIVE | STATUS_ACTIVE) {
        anomalies.push(anomaly(
            &structure,
            e.offset,
            ErrorKind::Corrupt,
            format!("status byte is 0x{:02x}, expected 0x00 or 0x80", e.status),
        ));
    }
    if abs_start == 0 {
        anomalies.push(anomaly(
            &structure,
            e.offset,
            ErrorKind::Corrupt,
            "starts at LBA 0, over the MBR itself".to_string(),
        ));
    }
    let type_id = format!("0x{:02x}", e.type_id);
    let mut part = Partition {
        number,
        start,
        size,
        start_lba: abs_start,
        size_lba,
        type_name: mbr_type_name(e.type_id).map(str::to_string),
        type_id,
        name: None,
        guid: None,
        attributes: 0,
        bootable: e.status == STATUS_ACTIVE,
        kind,
        entry_offset: e.offset,
        beyond_disk_end: false,
    };
    check_disk_end(LAYER, &mut part, disk_sectors, anomalies);
    Some(part)
}

/// List the partitions of an MBR whose sector 0 is `mbr` (boot signature already checked).
pub(crate) fn read(
    disk: &dyn BlockSource,
    mbr: &Sector,
    limits: &Limits,
    anomalies: &mut Vec<Anomaly>,
) -> Vec<Partition> {
    let disk_sectors = disk_sectors(disk.len(), SECTOR_SIZE);
    let mut parts = Vec::new();
    let mut extended: Option<(Entry, u32)> = None;
    for e in &mbr.entries {
        let number = u32::from(e.slot).saturating_add(1);
        if e.is_unused() {
            continue;
        }
        if e.sectors == 0 {
            anomalies.push(anomaly(
                format!("partition {number}"),
                e.offset,
                ErrorKind::Corrupt,
                format!("type 0x{:02x} but zero sectors: entry ignored", e.type_id),
            ));
            continue;
        }
        let kind = if e.is_extended() {
            PartitionKind::Extended
        } else {
            PartitionKind::Primary
        };
        if let Some(p) = partition(number, kind, e, u64::from(e.start), disk_sectors, anomalies) {
            parts.push(p);
        }
        if e.is_extended() {
            match extended {
                None => extended = Some((*e, number)),
                Some((_, first)) => anomalies.push(anomaly(
                    format!("partition {number}"),
                    e.offset,
                    ErrorKind::Corrupt,
                    format!(
                        "second extended partition (the first is partition {first}): its chain \
                         is not followed"
                    ),
                )),
            }
        }
    }
    if let Some((ext, ext_number)) = extended {
        walk_chain(
            disk,
            &ext,
            ext_number,
            limits,
            disk_sectors,
            &mut parts,
            anomalies,
        );
    }
    check_overlaps(LAYER, &parts, anomalies);
    parts.sort_by_key(|p| p.number);
    parts
}

/// Follow the EBR chain of the extended partition `ext`.
fn walk_chain(
    disk: &dyn BlockSource,
    ext: &Entry,
    ext_number: u32,
    limits: &Limits,
    disk_sectors: u64,
    parts: &mut Vec<Partition>,
    anomalies: &mut Vec<Anomaly>,
) {
    const EBR: &str = "extended boot record";
    let ext_start = u64::from(ext.start);
    let ext_last = ext_start.saturating_add(u64::from(ext.sectors).saturating_sub(1));
    let mut visited = BTreeSet::new();
    let mut ebr_lba = ext_start;
    let mut number: u32 = 5;
    loop {
        let ebr_offset = ebr_lba.saturating_mul(u64::from(SECTOR_SIZE));
        if visited.len() >= usize::try_from(limits.max_ebr_chain).unwrap_or(usize::MAX) {
            anomalies.push(anomaly(
                EBR,
                ebr_offset,
                ErrorKind::LimitExceeded,
                format!(
                    "extended partition {ext_number} chain is longer than the limit of {} EBRs: \
                     the rest is ignored",
                    limits.max_ebr_chain
                ),
            ));
            return;
        }
        if !visited.insert(ebr_lba) {
            anomalies.push(anomaly(
                EBR,
                ebr_offset,
                ErrorKind::Corrupt,
                format!(
                    "EBR chain loops back to LBA {ebr_lba}, already read: the chain stops here"
                ),
            ));
            return;
        }
        let first = ebr_lba == ext_start;
        if ebr_lba < ext_start || ebr_lba > ext_last {
            anomalies.push(anomaly(
                EBR,
                ebr_offset,
                ErrorKind::Corrupt,
                format!(
                    "EBR at LBA {ebr_lba} lies outside extended partition {ext_number} \
                     (LBAs {ext_start}..={ext_last})"
                ),
            ));
        }
        let (sector, raw) = match read_sector(disk, ebr_lba, EBR) {
            Ok(s) => s,
            Err(e) => {
                anomalies.push(e.to_anomaly());
                return;
            }
        };
        if !sector.has_boot_signature() {
            // An empty extended partition commonly has a zeroed first EBR: not an anomaly.
            if !(first && raw.iter().all(|&b| b == 0)) {
                anomalies.push(anomaly(
                    EBR,
                    ebr_offset,
                    ErrorKind::Corrupt,
                    format!(
                        "boot signature is {:02x} {:02x}, expected 55 aa: the chain stops here",
                        sector.boot_signature[0], sector.boot_signature[1]
                    ),
                ));
            }
            return;
        }
        let mut logicals = sector.used().filter(|e| !e.is_extended() && e.sectors != 0);
        let mut links = sector.used().filter(|e| e.is_extended() && e.sectors != 0);
        let logical = logicals.next().copied();
        let link = links.next().copied();
        if logicals.next().is_some() || links.next().is_some() {
            anomalies.push(anomaly(
                EBR,
                ebr_offset,
                ErrorKind::Corrupt,
                "more than one logical or link entry: only the first of each is used".to_string(),
            ));
        }
        if let Some(l) = logical {
            // Relative to this EBR. u64 + u32 cannot overflow for any LBA we can reach, but the
            // sum is checked anyway; the 32-bit range is checked in `partition`.
            match ebr_lba.checked_add(u64::from(l.start)) {
                Some(abs) => {
                    if let Some(p) = partition(
                        number,
                        PartitionKind::Logical,
                        &l,
                        abs,
                        disk_sectors,
                        anomalies,
                    ) {
                        let end = p.end_lba();
                        if p.start_lba < ext_start || end > ext_last {
                            anomalies.push(anomaly(
                                format!("partition {number}"),
                                l.offset,
                                ErrorKind::Corrupt,
                                format!(
                                    "logical partition sectors {}..={end} lie outside extended \
                                     partition {ext_number} (LBAs {ext_start}..={ext_last})",
                                    p.start_lba
                                ),
                            ));
                        }
                        parts.push(p);
                    }
                }
                None => anomalies.push(anomaly(
                    format!("partition {number}"),
                    l.offset,
                    ErrorKind::Corrupt,
                    format!(
                        "EBR LBA {ebr_lba} + relative start {} overflows 64 bits: entry ignored",
                        l.start
                    ),
                )),
            }
            number = number.saturating_add(1);
        }
        let Some(next) = link else {
            return;
        };
        // The link is relative to the start of the extended partition.
        let Some(next_lba) = ext_start.checked_add(u64::from(next.start)) else {
            anomalies.push(anomaly(
                EBR,
                next.offset,
                ErrorKind::Corrupt,
                format!(
                    "extended start {ext_start} + link {} overflows 64 bits: the chain stops here",
                    next.start
                ),
            ));
            return;
        };
        if next_lba > u64::from(u32::MAX) {
            anomalies.push(anomaly(
                EBR,
                next.offset,
                ErrorKind::Corrupt,
                format!(
                    "next EBR at LBA {next_lba} (extended start {ext_start} + link {}) is beyond \
                     the 32-bit LBA range of an MBR",
                    next.start
                ),
            ));
        }
        ebr_lba = next_lba;
    }
}
