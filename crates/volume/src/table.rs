//! The validated domain types this crate returns: [`PartitionTable`], [`Partition`], [`Scheme`],
//! [`PartitionKind`]. On-disk layouts live in the `gpt` and `mbr` modules; these types hold
//! only checked values (byte offsets that did not overflow, sizes of at least one sector).

use imgcheck_core::{Anomaly, BlockSource, ReadError, SliceSource};
use serde::Serialize;
use std::sync::Arc;

/// Which partitioning scheme the disk uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// GUID Partition Table (with a protective or hybrid MBR in LBA 0).
    Gpt,
    /// Classic MBR with optional extended/logical partitions.
    Mbr,
    /// No partition table: the caller treats the whole disk as one volume (a "superfloppy"
    /// filesystem, an LVM PV on the bare disk, an empty disk). [`PartitionTable::partitions`] is
    /// empty.
    None,
}

impl Scheme {
    /// `gpt`, `mbr` or `none`, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Gpt => "gpt",
            Scheme::Mbr => "mbr",
            Scheme::None => "none",
        }
    }
}

/// Where a partition's entry lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionKind {
    /// One of the four MBR entries, not an extended container.
    Primary,
    /// The MBR extended container (types 0x05, 0x0f, 0x85) that holds the EBR chain. Listed like
    /// `sfdisk` does; it holds no filesystem itself.
    Extended,
    /// A logical partition described by an EBR inside the extended container.
    Logical,
    /// A GPT partition entry.
    Gpt,
}

/// A partition table as read from a disk, with everything found wrong in it.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionTable {
    /// The scheme. [`Scheme::None`] means: no partitions, treat the whole disk as one volume.
    pub scheme: Scheme,
    /// Logical sector size in bytes the table was found with: 512 or 4096 for GPT, 512 for MBR
    /// and none.
    pub sector_size: u32,
    /// Size of the disk in bytes.
    pub disk_size: u64,
    /// GPT disk GUID, uppercase canonical form.
    pub disk_guid: Option<String>,
    /// MBR disk signature (offset 440), when non-zero; also set for a GPT's protective MBR.
    pub mbr_signature: Option<u32>,
    /// Partitions sorted by number. Empty for [`Scheme::None`].
    pub partitions: Vec<Partition>,
    /// Everything found wrong that did not stop the listing.
    pub anomalies: Vec<Anomaly>,
    /// GPT with a hybrid MBR: LBA 0 holds a 0xee entry plus other primary entries. A fact, not an
    /// anomaly.
    pub hybrid_mbr: bool,
    /// GPT: first LBA usable by partitions.
    pub first_usable_lba: Option<u64>,
    /// GPT: last LBA usable by partitions.
    pub last_usable_lba: Option<u64>,
    /// GPT: LBA of the header the partitions were read from (1 for the primary).
    pub gpt_header_lba: Option<u64>,
    /// GPT: LBA of the other (alternate) header as recorded in the header used — for the
    /// primary, where the backup header is expected.
    pub alternate_header_lba: Option<u64>,
    /// GPT: LBA where the backup header was actually read (the last LBA of the disk, or the
    /// primary's alternate LBA when the disk was grown), if one was found.
    pub backup_header_lba: Option<u64>,
    /// GPT: the partitions were listed from the backup header because the primary is unusable.
    pub gpt_from_backup: bool,
    /// GPT: number of entries in the partition entry array.
    pub gpt_entry_count: Option<u32>,
    /// GPT: size of one partition entry in bytes (128 × 2ⁿ).
    pub gpt_entry_size: Option<u32>,
}

impl PartitionTable {
    /// An empty table of `scheme` on a disk of `disk_size` bytes.
    pub(crate) fn new(scheme: Scheme, sector_size: u32, disk_size: u64) -> PartitionTable {
        PartitionTable {
            scheme,
            sector_size,
            disk_size,
            disk_guid: None,
            mbr_signature: None,
            partitions: Vec::new(),
            anomalies: Vec::new(),
            hybrid_mbr: false,
            first_usable_lba: None,
            last_usable_lba: None,
            gpt_header_lba: None,
            alternate_header_lba: None,
            backup_header_lba: None,
            gpt_from_backup: false,
            gpt_entry_count: None,
            gpt_entry_size: None,
        }
    }
}

/// One partition.
#[derive(Debug, Clone, Serialize)]
pub struct Partition {
    /// Number as Linux gives it: GPT entry index + 1; MBR primaries 1–4 by slot, logical
    /// partitions from 5 in chain order.
    pub number: u32,
    /// Start in bytes from the start of the disk.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// First sector (in [`PartitionTable::sector_size`] units).
    pub start_lba: u64,
    /// Number of sectors.
    pub size_lba: u64,
    /// GPT type GUID (uppercase), or the MBR type byte as `0x83`.
    pub type_id: String,
    /// Readable type name, when the type is known.
    pub type_name: Option<String>,
    /// GPT partition name (UTF-16LE on disk), when not empty.
    pub name: Option<String>,
    /// GPT unique partition GUID.
    pub guid: Option<String>,
    /// GPT attribute bits (0 for MBR).
    pub attributes: u64,
    /// MBR active flag (0x80), or GPT "legacy BIOS bootable" attribute (bit 2).
    pub bootable: bool,
    /// Primary, extended, logical or GPT.
    pub kind: PartitionKind,
    /// Byte offset of the table entry that describes this partition (MBR/EBR entry or GPT entry).
    pub entry_offset: u64,
    /// The partition extends past the end of the disk (an anomaly says so);
    /// [`Partition::source`] fails for it.
    pub beyond_disk_end: bool,
}

impl Partition {
    /// The partition's bytes as a window on `disk`; fails when it extends past the disk's end.
    pub fn source(&self, disk: Arc<dyn BlockSource>) -> Result<SliceSource, ReadError> {
        SliceSource::new(disk, self.start, self.size)
    }

    /// Last sector of the partition (inclusive).
    pub fn end_lba(&self) -> u64 {
        self.start_lba
            .saturating_add(self.size_lba)
            .saturating_sub(1)
    }
}
