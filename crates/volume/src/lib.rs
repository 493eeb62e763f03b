//! # imgcheck-volume
//!
//! The partition-table layer: reads the GPT or MBR of a virtual disk (any
//! [`BlockSource`]) and lists its partitions, with every problem found recorded as an
//! [`Anomaly`] rather than an error wherever the table can still be listed.
//!
//! ```
//! use imgcheck_core::{BlockSource, Limits, MemSource};
//! use imgcheck_volume::{read_partition_table, Scheme};
//! use std::sync::Arc;
//!
//! let disk: Arc<dyn BlockSource> = Arc::new(MemSource::new(vec![0u8; 1 << 20]));
//! let table = read_partition_table(disk.as_ref(), &Limits::default())?;
//! assert_eq!(table.scheme, Scheme::None); // all zeros: no table, one whole-disk volume
//! for part in &table.partitions {
//!     let _bytes = part.source(disk.clone())?; // a SliceSource for the filesystem layer
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Why our own parsers
//!
//! The crates measured (see `dependencies.md` in the project notes) do not fit: `gptman` and
//! `mbrman` take `Read + Seek` only (we read positionally through `&self`), `mbrman` adds the
//! on-disk u32 LBAs of logical partitions unchecked (they wrap in release builds) and parses a
//! FAT "superfloppy" boot sector as an empty MBR, and `gpt` needs `Read + Write + Seek`, must be
//! told the sector size and asserts that the entry size is 128 (a spec-legal 256-byte entry
//! panics it). Above all we need a broken or disagreeing primary/backup GPT, an EBR loop or a
//! partition past the end of the disk reported as findings while the rest is still listed, not
//! turned into an error. The GPT and MBR formats are small; owning them gives uniform limits,
//! checked arithmetic and messages naming layer, structure and offset.
//!
//! ## Decision order ([`read_partition_table`])
//!
//! 1. A disk shorter than 512 bytes: [`Scheme::None`].
//! 2. LBA 0 has `55 AA` and a 0xee entry (protective or hybrid MBR): GPT, looked for at LBA 1
//!    with 512- then 4096-byte sectors (then at the last LBA when LBA 1 has no signature). A
//!    hybrid MBR (0xee plus other entries) sets [`PartitionTable::hybrid_mbr`], not an anomaly.
//!    If neither GPT header is usable: an error naming both, except behind a hybrid MBR, whose
//!    entries are then listed as an MBR with the GPT failure as an anomaly.
//! 3. LBA 0 is a FAT/NTFS/exFAT boot sector (jump instruction, valid BPB, file-system strings):
//!    [`Scheme::None`] — a "superfloppy" filesystem on the whole disk, never an MBR.
//! 4. A GPT header at LBA 1 (or only at the last LBA) without a 0xee entry: if LBA 0 holds a real
//!    MBR (`55 AA` and used entries), the MBR is used and the GPT ignored, as UEFI §5.2.3 and
//!    Linux do, with an anomaly; otherwise the GPT is used with an anomaly about the missing
//!    protective MBR.
//! 5. LBA 0 has `55 AA`: MBR (512-byte sectors), with the EBR chain of the first extended
//!    partition. Otherwise (no `55 AA`, no GPT signature at LBA 1 or at the last LBA):
//!    [`Scheme::None`].
//!
//! [`Scheme::None`] always means **no partitions**: the caller treats the whole disk as one
//! volume (and probes it for a filesystem, an LVM PV, LUKS …).
//!
//! ## What becomes an anomaly
//!
//! GPT: a broken primary (partitions then come from the backup), a broken, missing or misplaced
//! backup (disk grown or truncated), any primary/backup disagreement, entries outside the usable
//! LBAs, an unknown revision. MBR: bad status bytes, EBR loops, chains longer than
//! [`Limits::max_ebr_chain`], EBRs without signature, LBAs beyond 32 bits, logical partitions
//! outside their extended partition, a second extended partition. Both: overlapping partitions;
//! partitions past the end of the disk are **kept** and flagged
//! ([`Partition::beyond_disk_end`]); entries whose byte offsets overflow 64 bits or whose end
//! precedes their start are **dropped**. Each anomaly names the layer (`gpt`/`mbr`), the
//! structure (`primary header`, `backup header`, `partition 3`, `extended boot record`, …) and
//! its byte offset on the disk.

mod boot_sector;
mod error;
mod gpt;
mod layout;
pub mod lvm;
mod mbr;
pub mod md;
mod table;
mod type_names;

#[cfg(test)]
mod synth;
#[cfg(test)]
mod tests;

pub use error::VolumeError;
pub use table::{Partition, PartitionKind, PartitionTable, Scheme};
pub use type_names::{gpt_type_name, mbr_type_name};

use imgcheck_core::{Anomaly, BlockSource, ErrorKind, Limits};

/// Read the partition table of `disk`. See the crate docs for the decision order.
///
/// Errors only when LBA 0 cannot be read, or when a protective MBR announces a GPT of which
/// neither header is usable; everything else is an anomaly on the returned table.
pub fn read_partition_table(
    disk: &dyn BlockSource,
    limits: &Limits,
) -> Result<PartitionTable, VolumeError> {
    let disk_size = disk.len();
    let mut table = PartitionTable::new(Scheme::None, mbr::SECTOR_SIZE, disk_size);
    let mut sector0 = [0u8; 512];
    if disk_size < 512 {
        return Ok(table);
    }
    disk.read_exact_at(&mut sector0, 0)
        .map_err(|e| VolumeError::read("mbr", "master boot record", 0, e))?;
    let mbr0 = mbr::parse_sector(&sector0, 0);
    let disk_sectors_512 = layout::disk_sectors(disk_size, mbr::SECTOR_SIZE);
    let has_mbr = mbr0.has_boot_signature();
    let signature = (has_mbr && mbr0.disk_signature != 0).then_some(mbr0.disk_signature);

    // 2. Protective or hybrid MBR: GPT.
    if has_mbr && mbr0.has_protective_entry() {
        let hybrid = mbr0.used().any(|e| e.type_id != mbr::TYPE_GPT_PROTECTIVE);
        let ss = gpt::probe_primary(disk)
            .or_else(|| gpt::probe_backup(disk))
            .unwrap_or(mbr::SECTOR_SIZE);
        return match gpt::read(disk, ss, limits) {
            Ok(g) => {
                let mut t = gpt_table(g, disk_size);
                t.mbr_signature = signature;
                t.hybrid_mbr = hybrid;
                if !hybrid {
                    check_protective_entry(&mbr0, &mut t.anomalies);
                }
                Ok(t)
            }
            Err(e) if hybrid => {
                table.scheme = Scheme::Mbr;
                table.mbr_signature = signature;
                table.anomalies.push(e.to_anomaly());
                table.partitions = mbr::read(disk, &mbr0, limits, &mut table.anomalies);
                Ok(table)
            }
            Err(e) => Err(e),
        };
    }

    // 3. A filesystem boot sector on the whole disk.
    if has_mbr {
        if let Some(fs) = boot_sector::sniff(&sector0) {
            if mbr0.looks_like_table(disk_sectors_512) {
                table.anomalies.push(Anomaly::new(
                    "mbr",
                    "master boot record",
                    Some(0),
                    ErrorKind::Corrupt,
                    format!(
                        "LBA 0 is a {} boot sector but its partition-table area also holds \
                         plausible entries: treated as a whole-disk filesystem",
                        fs.name()
                    ),
                ));
            }
            return Ok(table);
        }
    }

    // 4. A GPT without a protective MBR.
    let gpt_ss = gpt::probe_primary(disk).or_else(|| gpt::probe_backup(disk));
    if let Some(ss) = gpt_ss {
        if has_mbr && mbr0.used().count() > 0 {
            table.scheme = Scheme::Mbr;
            table.mbr_signature = signature;
            table.anomalies.push(Anomaly::new(
                "gpt",
                "primary header",
                Some(u64::from(ss)),
                ErrorKind::Corrupt,
                format!(
                    "a GPT header signature was found with {ss}-byte sectors, but the MBR has \
                     no 0xee protective entry: the GPT is ignored and the MBR used"
                ),
            ));
            table.partitions = mbr::read(disk, &mbr0, limits, &mut table.anomalies);
            return Ok(table);
        }
        let g = gpt::read(disk, ss, limits)?;
        let mut t = gpt_table(g, disk_size);
        t.mbr_signature = signature;
        t.anomalies.insert(
            0,
            Anomaly::new(
                "mbr",
                "protective MBR",
                Some(0),
                ErrorKind::Corrupt,
                if has_mbr {
                    "the MBR has no 0xee protective entry although the disk has a GPT".to_string()
                } else {
                    format!(
                        "no MBR boot signature (55 aa at offset 510, found {:02x} {:02x}) \
                         although the disk has a GPT",
                        mbr0.boot_signature[0], mbr0.boot_signature[1]
                    )
                },
            ),
        );
        return Ok(t);
    }

    // 5. A plain MBR.
    if has_mbr {
        table.scheme = Scheme::Mbr;
        table.mbr_signature = signature;
        table.partitions = mbr::read(disk, &mbr0, limits, &mut table.anomalies);
    }
    Ok(table)
}

/// A pure protective MBR's 0xee entry should start at LBA 1 (UEFI §5.2.3).
fn check_protective_entry(mbr0: &mbr::Sector, anomalies: &mut Vec<Anomaly>) {
    for e in mbr0.used() {
        if e.type_id == mbr::TYPE_GPT_PROTECTIVE && e.start != 1 {
            anomalies.push(Anomaly::new(
                "mbr",
                format!("partition {}", u32::from(e.slot).saturating_add(1)),
                Some(e.offset),
                ErrorKind::Corrupt,
                format!(
                    "protective 0xee entry starts at LBA {}, expected 1",
                    e.start
                ),
            ));
        }
    }
}

fn gpt_table(g: gpt::GptRead, disk_size: u64) -> PartitionTable {
    let mut t = PartitionTable::new(Scheme::Gpt, g.sector_size, disk_size);
    t.disk_guid = Some(g.header.disk_guid.clone());
    t.first_usable_lba = Some(g.header.first_usable);
    t.last_usable_lba = Some(g.header.last_usable);
    t.gpt_header_lba = Some(g.header.my_lba);
    t.alternate_header_lba = Some(g.header.alternate_lba);
    t.backup_header_lba = g.backup_found_at;
    t.gpt_from_backup = g.header.role == gpt::Role::Backup;
    t.gpt_entry_count = Some(g.header.num_entries);
    t.gpt_entry_size = Some(g.header.entry_size);
    t.partitions = g.partitions;
    t.anomalies = g.anomalies;
    t
}
