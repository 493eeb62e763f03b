//! GUID Partition Table reader: primary and backup headers, both CRC32s, entry arrays of
//! 128 × 2ⁿ-byte entries, 512- and 4096-byte sectors.
//!
//! Specification: UEFI Specification 2.10 §5.3 (GPT header, partition entry array, validity
//! rules in §5.3.2: signature, header CRC over `HeaderSize` bytes with the CRC field zeroed,
//! `MyLBA`, entry-array CRC; the backup header at `AlternateLBA`, normally the last LBA).
//!
//! Our own code rather than `gptman`/`gpt`: those take `Read + Seek` (or `Read + Write + Seek`),
//! `gpt` asserts the entry size is 128 (a spec-legal 256-byte entry panics it), and neither
//! reports a broken or disagreeing backup as a finding — we need every such problem as an
//! [`Anomaly`] while still listing the partitions from whichever header is intact.

use crate::error::VolumeError;
use crate::layout::{byte_range, check_disk_end, check_overlaps, disk_sectors};
use crate::table::{Partition, PartitionKind};
use crate::type_names::gpt_type_name;
use imgcheck_core::bytes::{array, guid_mixed_endian, slice, u32_le, u64_le, utf16le_until_nul};
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, Limits};

/// Layer name in errors and anomalies.
const LAYER: &str = "gpt";
/// Header signature, "EFI PART" (UEFI §5.3.2 Table 5-5).
pub(crate) const SIGNATURE: &[u8; 8] = b"EFI PART";
/// The only revision defined so far: 1.0.
const REVISION_1_0: u32 = 0x0001_0000;
/// Smallest header size: the fields defined by revision 1.0.
const MIN_HEADER_SIZE: u32 = 92;
/// Smallest (and usual) partition entry size; larger ones are 128 × 2ⁿ (UEFI §5.3.2).
const MIN_ENTRY_SIZE: u32 = 128;
/// LBA of the primary header.
pub(crate) const PRIMARY_LBA: u64 = 1;
/// Sector sizes a GPT is looked for with, in order.
pub(crate) const SECTOR_SIZES: [u32; 2] = [512, 4096];
/// Attribute bit 2: legacy BIOS bootable (UEFI §5.3.3 Table 5-8).
const ATTR_LEGACY_BIOS_BOOTABLE: u64 = 1 << 2;

// Header field offsets (UEFI §5.3.2 Table 5-5).
const H_SIGNATURE: usize = 0;
const H_REVISION: usize = 8;
const H_HEADER_SIZE: usize = 12;
const H_HEADER_CRC: usize = 16;
const H_MY_LBA: usize = 24;
const H_ALTERNATE_LBA: usize = 32;
const H_FIRST_USABLE: usize = 40;
const H_LAST_USABLE: usize = 48;
const H_DISK_GUID: usize = 56;
const H_ENTRIES_LBA: usize = 72;
const H_NUM_ENTRIES: usize = 80;
const H_ENTRY_SIZE: usize = 84;
const H_ENTRIES_CRC: usize = 88;

// Partition entry field offsets (UEFI §5.3.3 Table 5-6).
const E_TYPE_GUID: usize = 0;
const E_UNIQUE_GUID: usize = 16;
const E_START_LBA: usize = 32;
const E_END_LBA: usize = 40;
const E_ATTRIBUTES: usize = 48;
const E_NAME: usize = 56;
/// Partition name: 36 UTF-16LE code units.
const E_NAME_LEN: usize = 72;

/// Which of the two copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Primary,
    Backup,
}

impl Role {
    fn header(self) -> &'static str {
        match self {
            Role::Primary => "primary header",
            Role::Backup => "backup header",
        }
    }
    fn array(self) -> &'static str {
        match self {
            Role::Primary => "primary partition entry array",
            Role::Backup => "backup partition entry array",
        }
    }
}

/// A header whose signature, size, CRC, `MyLBA`, entry size, entry count and entry-array CRC
/// all checked out.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub role: Role,
    /// Byte offset of the header on the disk.
    pub offset: u64,
    pub my_lba: u64,
    pub alternate_lba: u64,
    pub first_usable: u64,
    pub last_usable: u64,
    pub disk_guid: String,
    pub entries_lba: u64,
    pub num_entries: u32,
    pub entry_size: u32,
    pub entries_crc: u32,
    /// Byte offset of the entry array.
    pub entries_offset: u64,
}

/// A valid header, its entry array, and non-fatal remarks about the header itself.
#[derive(Debug)]
pub(crate) struct HeaderCopy {
    pub header: Header,
    pub entries: Vec<u8>,
    pub notes: Vec<Anomaly>,
}

/// What [`read`] found.
#[derive(Debug)]
pub(crate) struct GptRead {
    pub sector_size: u32,
    /// The header the partitions come from.
    pub header: Header,
    /// LBA where a valid backup header was read, if any.
    pub backup_found_at: Option<u64>,
    pub partitions: Vec<Partition>,
    pub anomalies: Vec<Anomaly>,
}

fn sector_offset(lba: u64, ss: u32, structure: &'static str) -> Result<u64, VolumeError> {
    lba.checked_mul(u64::from(ss)).ok_or_else(|| {
        VolumeError::corrupt(
            LAYER,
            structure,
            u64::MAX,
            format!("LBA {lba} × {ss}-byte sectors overflows a 64-bit byte offset"),
        )
    })
}

/// Is there a GPT signature at `lba` with `ss`-byte sectors?
fn has_signature_at(disk: &dyn BlockSource, ss: u32, lba: u64) -> bool {
    let Some(off) = lba.checked_mul(u64::from(ss)) else {
        return false;
    };
    let mut sig = [0u8; 8];
    disk.read_exact_at(&mut sig, off).is_ok() && &sig == SIGNATURE
}

/// Sector size at which LBA 1 holds a GPT signature.
pub(crate) fn probe_primary(disk: &dyn BlockSource) -> Option<u32> {
    SECTOR_SIZES
        .into_iter()
        .find(|&ss| has_signature_at(disk, ss, PRIMARY_LBA))
}

/// Sector size at which the last LBA holds a GPT signature.
pub(crate) fn probe_backup(disk: &dyn BlockSource) -> Option<u32> {
    SECTOR_SIZES.into_iter().find(|&ss| {
        let sectors = disk_sectors(disk.len(), ss);
        sectors > PRIMARY_LBA.saturating_add(1)
            && has_signature_at(disk, ss, sectors.saturating_sub(1))
    })
}

/// Render a signature for a message: printable ASCII as is, other bytes as `\xNN`.
fn show_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                char::from(c).to_string()
            } else {
                format!("\\x{c:02x}")
            }
        })
        .collect()
}

/// Read and validate the header at `lba` and its entry array.
pub(crate) fn read_copy(
    disk: &dyn BlockSource,
    ss: u32,
    lba: u64,
    role: Role,
    limits: &Limits,
) -> Result<HeaderCopy, VolumeError> {
    let hs = role.header();
    let offset = sector_offset(lba, ss, hs)?;
    let corrupt = |problem: String| VolumeError::corrupt(LAYER, hs, offset, problem);
    let ss_len = usize::try_from(ss).map_err(|_| corrupt(format!("sector size {ss} too large")))?;
    let mut sector = vec![0u8; ss_len];
    disk.read_exact_at(&mut sector, offset)
        .map_err(|e| VolumeError::read(LAYER, hs, offset, e))?;
    let short = || corrupt("header shorter than its fields".to_string());

    let sig = slice(&sector, H_SIGNATURE, 8).ok_or_else(short)?;
    if sig != SIGNATURE {
        return Err(corrupt(format!(
            "signature is \"{}\", expected \"EFI PART\"",
            show_bytes(sig)
        )));
    }
    let header_size = u32_le(&sector, H_HEADER_SIZE).ok_or_else(short)?;
    if !(MIN_HEADER_SIZE..=ss).contains(&header_size) {
        return Err(corrupt(format!(
            "header size is {header_size}, expected {MIN_HEADER_SIZE}..={ss} (the sector size)"
        )));
    }
    let hlen = usize::try_from(header_size).map_err(|_| short())?;
    let stored_crc = u32_le(&sector, H_HEADER_CRC).ok_or_else(short)?;
    let mut crc_input = sector.get(..hlen).ok_or_else(short)?.to_vec();
    if let Some(field) = crc_input.get_mut(H_HEADER_CRC..H_HEADER_CRC.saturating_add(4)) {
        field.fill(0);
    }
    let computed_crc = crc32fast::hash(&crc_input);
    if computed_crc != stored_crc {
        return Err(corrupt(format!(
            "header CRC32 is 0x{stored_crc:08x}, computed 0x{computed_crc:08x} over {header_size} bytes"
        )));
    }

    let my_lba = u64_le(&sector, H_MY_LBA).ok_or_else(short)?;
    if my_lba != lba {
        return Err(corrupt(format!(
            "MyLBA is {my_lba}, expected {lba} (the LBA it was read from)"
        )));
    }
    let entry_size = u32_le(&sector, H_ENTRY_SIZE).ok_or_else(short)?;
    if entry_size < MIN_ENTRY_SIZE || !entry_size.is_power_of_two() {
        return Err(corrupt(format!(
            "partition entry size is {entry_size}, expected 128 × 2^n (128, 256, 512, …)"
        )));
    }
    let num_entries = u32_le(&sector, H_NUM_ENTRIES).ok_or_else(short)?;
    if num_entries > limits.max_gpt_entries {
        return Err(VolumeError::Limit {
            layer: LAYER,
            structure: hs.to_string(),
            offset,
            what: "partition entry count",
            actual: u64::from(num_entries),
            limit: u64::from(limits.max_gpt_entries),
        });
    }
    // u32 × u32 fits in u64.
    let array_bytes = u64::from(num_entries).saturating_mul(u64::from(entry_size));
    if array_bytes > limits.max_table_bytes {
        return Err(VolumeError::Limit {
            layer: LAYER,
            structure: hs.to_string(),
            offset,
            what: "partition entry array size in bytes",
            actual: array_bytes,
            limit: limits.max_table_bytes,
        });
    }
    let header = Header {
        role,
        offset,
        my_lba,
        alternate_lba: u64_le(&sector, H_ALTERNATE_LBA).ok_or_else(short)?,
        first_usable: u64_le(&sector, H_FIRST_USABLE).ok_or_else(short)?,
        last_usable: u64_le(&sector, H_LAST_USABLE).ok_or_else(short)?,
        disk_guid: guid_mixed_endian(&array::<16>(&sector, H_DISK_GUID).ok_or_else(short)?),
        entries_lba: u64_le(&sector, H_ENTRIES_LBA).ok_or_else(short)?,
        num_entries,
        entry_size,
        entries_crc: u32_le(&sector, H_ENTRIES_CRC).ok_or_else(short)?,
        entries_offset: 0,
    };

    let mut notes = Vec::new();
    let revision = u32_le(&sector, H_REVISION).ok_or_else(short)?;
    if revision != REVISION_1_0 {
        notes.push(Anomaly::new(
            LAYER,
            hs,
            Some(offset),
            ErrorKind::Unsupported,
            format!("revision is 0x{revision:08x}, expected 0x{REVISION_1_0:08x} (1.0)"),
        ));
    }

    let arr = role.array();
    let entries_offset = sector_offset(header.entries_lba, ss, arr)?;
    let array_len = usize::try_from(array_bytes).map_err(|_| {
        VolumeError::corrupt(
            LAYER,
            arr,
            entries_offset,
            format!("{array_bytes} bytes do not fit in memory"),
        )
    })?;
    let mut entries = vec![0u8; array_len];
    disk.read_exact_at(&mut entries, entries_offset)
        .map_err(|e| VolumeError::read(LAYER, arr, entries_offset, e))?;
    let computed = crc32fast::hash(&entries);
    if computed != header.entries_crc {
        return Err(VolumeError::corrupt(
            LAYER,
            arr,
            entries_offset,
            format!(
                "CRC32 recorded in the {hs} is 0x{:08x}, computed 0x{computed:08x} over {num_entries} entries of {entry_size} bytes",
                header.entries_crc
            ),
        ));
    }
    Ok(HeaderCopy {
        header: Header {
            entries_offset,
            ..header
        },
        entries,
        notes,
    })
}

/// Non-fatal checks of a valid header against the disk's size.
fn check_header(h: &Header, ss: u32, disk_sectors: u64, out: &mut Vec<Anomaly>) {
    let hs = h.role.header();
    let mut note = |msg: String| {
        out.push(Anomaly::new(
            LAYER,
            hs,
            Some(h.offset),
            ErrorKind::Corrupt,
            msg,
        ));
    };
    let last_lba = disk_sectors.saturating_sub(1);
    if h.first_usable > h.last_usable {
        note(format!(
            "first usable LBA {} is after last usable LBA {}",
            h.first_usable, h.last_usable
        ));
    }
    if h.last_usable > last_lba {
        note(format!(
            "last usable LBA {} lies past the last LBA of the disk {last_lba}: disk truncated or shrunk",
            h.last_usable
        ));
    }
    let array_sectors = u64::from(h.num_entries)
        .saturating_mul(u64::from(h.entry_size))
        .div_ceil(u64::from(ss));
    let array_last = h
        .entries_lba
        .saturating_add(array_sectors)
        .saturating_sub(1);
    if array_sectors > 0 && h.entries_lba <= h.last_usable && array_last >= h.first_usable {
        note(format!(
            "partition entry array at LBAs {}..={array_last} overlaps the usable LBAs {}..={}",
            h.entries_lba, h.first_usable, h.last_usable
        ));
    }
    if h.role == Role::Backup && h.alternate_lba != PRIMARY_LBA {
        note(format!(
            "AlternateLBA is {}, expected {PRIMARY_LBA} (the primary header)",
            h.alternate_lba
        ));
    }
}

/// Compare a valid backup with a valid primary; every difference is an anomaly on the backup.
fn compare(p: &Header, b: &Header, out: &mut Vec<Anomaly>) {
    let mut differ = |what: &str, pv: String, bv: String| {
        if pv != bv {
            out.push(Anomaly::new(
                LAYER,
                "backup header",
                Some(b.offset),
                ErrorKind::Corrupt,
                format!("{what} is {bv} in the backup, {pv} in the primary header"),
            ));
        }
    };
    differ("disk GUID", p.disk_guid.clone(), b.disk_guid.clone());
    differ(
        "first usable LBA",
        p.first_usable.to_string(),
        b.first_usable.to_string(),
    );
    differ(
        "last usable LBA",
        p.last_usable.to_string(),
        b.last_usable.to_string(),
    );
    differ(
        "partition entry count",
        p.num_entries.to_string(),
        b.num_entries.to_string(),
    );
    differ(
        "partition entry size",
        p.entry_size.to_string(),
        b.entry_size.to_string(),
    );
    differ(
        "partition entry array CRC32 (array contents)",
        format!("0x{:08x}", p.entries_crc),
        format!("0x{:08x}", b.entries_crc),
    );
}

/// Read the GPT with `ss`-byte sectors: both headers, then the partitions from the primary, or
/// from the backup when the primary is unusable.
pub(crate) fn read(
    disk: &dyn BlockSource,
    ss: u32,
    limits: &Limits,
) -> Result<GptRead, VolumeError> {
    let disk_sectors = disk_sectors(disk.len(), ss);
    let last_lba = disk_sectors.saturating_sub(1);
    let mut anomalies = Vec::new();

    let primary = read_copy(disk, ss, PRIMARY_LBA, Role::Primary, limits);
    // Where to look for the backup: the primary's AlternateLBA if it is usable, else the last LBA.
    let mut backup_lba = last_lba;
    let backup = match &primary {
        Ok(p) if p.header.alternate_lba == last_lba => {
            read_copy(disk, ss, last_lba, Role::Backup, limits)
        }
        Ok(p) => {
            let alt = p.header.alternate_lba;
            if alt < last_lba && alt > PRIMARY_LBA {
                // Not damage: the disk was enlarged (qemu-img resize, a VHD rounded up to a
                // CHS geometry). Named as a backup-header matter so that checks treat it like
                // one (recommended: `sgdisk -e`), not like a broken primary table.
                anomalies.push(Anomaly::new(
                    LAYER,
                    "backup header location (primary header's AlternateLBA)",
                    Some(p.header.offset),
                    ErrorKind::Corrupt,
                    format!(
                        "AlternateLBA is {alt}, expected the last LBA of the disk {last_lba}: \
                         the disk was grown after partitioning (backup header not at the end)"
                    ),
                ));
                backup_lba = alt;
                read_copy(disk, ss, alt, Role::Backup, limits).or_else(|first| {
                    // Not at the recorded place: maybe it was moved to the end.
                    read_copy(disk, ss, last_lba, Role::Backup, limits)
                        .inspect(|_| backup_lba = last_lba)
                        .map_err(|_| first)
                })
            } else {
                anomalies.push(Anomaly::new(
                    LAYER,
                    "primary header",
                    Some(p.header.offset),
                    ErrorKind::Corrupt,
                    format!(
                        "AlternateLBA is {alt}, expected the last LBA of the disk {last_lba}: \
                         the disk was truncated or the header is wrong"
                    ),
                ));
                read_copy(disk, ss, last_lba, Role::Backup, limits)
            }
        }
        Err(_) => read_copy(disk, ss, last_lba, Role::Backup, limits),
    };

    let (used, backup_found_at) = match (primary, backup) {
        (Ok(p), Ok(b)) => {
            compare(&p.header, &b.header, &mut anomalies);
            if p.header.alternate_lba != b.header.my_lba {
                anomalies.push(Anomaly::new(
                    LAYER,
                    "primary header",
                    Some(p.header.offset),
                    ErrorKind::Corrupt,
                    format!(
                        "AlternateLBA is {}, but the backup header was found at LBA {}",
                        p.header.alternate_lba, b.header.my_lba
                    ),
                ));
            }
            check_header(&b.header, ss, disk_sectors, &mut anomalies);
            anomalies.extend(b.notes);
            (p, Some(backup_lba))
        }
        (Ok(p), Err(e)) => {
            let mut a = e.to_anomaly();
            if !has_signature_at(disk, ss, backup_lba) {
                a.message = format!(
                    "backup header missing at LBA {backup_lba} (disk grown or truncated, or \
                     never written): {}",
                    a.message
                );
            }
            anomalies.push(a);
            (p, None)
        }
        (Err(e), Ok(b)) => {
            let mut a = e.to_anomaly();
            a.message = format!("{}; partitions listed from the backup header", a.message);
            anomalies.push(a);
            (b, Some(backup_lba))
        }
        (Err(pe), Err(be)) => {
            let kind = match (pe.kind(), be.kind()) {
                (ErrorKind::LimitExceeded, ErrorKind::LimitExceeded) => ErrorKind::LimitExceeded,
                (ErrorKind::Io, _) | (_, ErrorKind::Io) => ErrorKind::Io,
                _ => ErrorKind::Corrupt,
            };
            return Err(VolumeError::NoUsableGpt {
                sector_size: ss,
                primary_offset: u64::from(ss),
                primary: pe.problem(),
                backup_offset: backup_lba.saturating_mul(u64::from(ss)),
                backup: be.problem(),
                kind,
            });
        }
    };

    check_header(&used.header, ss, disk_sectors, &mut anomalies);
    anomalies.extend(used.notes);
    let mut partitions = entries(
        &used.header,
        &used.entries,
        ss,
        disk_sectors,
        &mut anomalies,
    );
    check_overlaps(LAYER, &partitions, &mut anomalies);
    partitions.sort_by_key(|p| p.number);
    Ok(GptRead {
        sector_size: ss,
        header: used.header,
        backup_found_at,
        partitions,
        anomalies,
    })
}

/// Turn the entry array into partitions; unused entries (zero type GUID) are skipped.
fn entries(
    h: &Header,
    table: &[u8],
    ss: u32,
    disk_sectors: u64,
    anomalies: &mut Vec<Anomaly>,
) -> Vec<Partition> {
    let mut out = Vec::new();
    let Ok(esize) = usize::try_from(h.entry_size) else {
        return out;
    };
    for (index, entry) in table.chunks_exact(esize).enumerate() {
        let Some(type_raw) = array::<16>(entry, E_TYPE_GUID) else {
            continue;
        };
        if type_raw == [0u8; 16] {
            continue;
        }
        let index64 = u64::try_from(index).unwrap_or(u64::MAX);
        let number = u32::try_from(index.saturating_add(1)).unwrap_or(u32::MAX);
        let entry_offset = h
            .entries_offset
            .saturating_add(index64.saturating_mul(u64::from(h.entry_size)));
        let structure = format!("partition {number}");
        let mut note = |msg: String| {
            anomalies.push(Anomaly::new(
                LAYER,
                structure.clone(),
                Some(entry_offset),
                ErrorKind::Corrupt,
                msg,
            ));
        };
        let (Some(start_lba), Some(end_lba), Some(attributes), Some(unique)) = (
            u64_le(entry, E_START_LBA),
            u64_le(entry, E_END_LBA),
            u64_le(entry, E_ATTRIBUTES),
            array::<16>(entry, E_UNIQUE_GUID),
        ) else {
            continue;
        };
        if end_lba < start_lba {
            note(format!(
                "ending LBA {end_lba} is before starting LBA {start_lba}: entry ignored"
            ));
            continue;
        }
        let Some(size_lba) = end_lba
            .checked_sub(start_lba)
            .and_then(|d| d.checked_add(1))
        else {
            note(format!(
                "LBAs {start_lba}..={end_lba} span more than 2^64 sectors: entry ignored"
            ));
            continue;
        };
        let (start, size) = match byte_range(start_lba, size_lba, ss) {
            Ok(r) => r,
            Err(msg) => {
                note(format!("{msg}: entry ignored"));
                continue;
            }
        };
        if start_lba < h.first_usable || end_lba > h.last_usable {
            note(format!(
                "LBAs {start_lba}..={end_lba} lie outside the usable LBAs {}..={}",
                h.first_usable, h.last_usable
            ));
        }
        let type_id = guid_mixed_endian(&type_raw);
        let name = slice(entry, E_NAME, E_NAME_LEN)
            .map(utf16le_until_nul)
            .filter(|n| !n.is_empty());
        let mut part = Partition {
            number,
            start,
            size,
            start_lba,
            size_lba,
            type_name: gpt_type_name(&type_id).map(str::to_string),
            type_id,
            name,
            guid: Some(guid_mixed_endian(&unique)),
            attributes,
            bootable: attributes & ATTR_LEGACY_BIOS_BOOTABLE != 0,
            kind: PartitionKind::Gpt,
            entry_offset,
            beyond_disk_end: false,
        };
        check_disk_end(LAYER, &mut part, disk_sectors, anomalies);
        out.push(part);
    }
    out
}
