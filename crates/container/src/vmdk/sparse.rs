//! Hosted sparse extents: the `KDMV` header, grain directory, grain tables and grains, plain or
//! deflate-compressed (streamOptimized).
//!
//! Specification: VMware technical note "Virtual Disk Format 1.1", sections "Hosted Sparse
//! Extents" and "Stream-Optimized Compressed Sparse Extents"; the zeroed-grain table entry
//! (value 1) is from "Virtual Disk Format 5.0". Written from the notes, not from another reader.
//!
//! Layout (all integers little-endian, offsets and sizes in 512-byte sectors unless noted):
//!
//! | off | field              | off | field                           |
//! |-----|--------------------|-----|---------------------------------|
//! | 0   | magic `KDMV`       | 48  | rgdOffset (redundant GD)        |
//! | 4   | version u32        | 56  | gdOffset (or `GD_AT_END`)       |
//! | 8   | flags u32          | 64  | overHead                        |
//! | 12  | capacity u64       | 72  | uncleanShutdown u8              |
//! | 20  | grainSize u64      | 73  | `\n` ` ` `\r` `\n` newline test |
//! | 28  | descriptorOffset   | 77  | compressAlgorithm u16           |
//! | 36  | descriptorSize     |     |                                 |
//! | 44  | numGTEsPerGT u32   |     |                                 |
//!
//! The grain directory (GD) holds one u32 sector offset per grain table (GT); each GT holds
//! `numGTEsPerGT` u32 grain sector offsets. A GT entry of 0 is an unallocated grain (zeros, or
//! the parent's data in a delta disk), 1 is a zeroed grain. With the compressed flag each grain
//! starts with a 12-byte marker (LBA u64, compressed size u32) followed by a zlib stream.
//!
//! All grain tables are read when the extent is opened (their total size is bounded by
//! [`Limits::max_table_bytes`]): it gives the allocated size at once and makes reads lock-free.
//! A grain table that cannot be read is an anomaly, and only reads inside its range fail.

use crate::ContainerError;
use flate2::{Decompress, FlushDecompress, Status};
use imgcheck_core::bytes::{u16_le, u32_le, u64_le, u8_at};
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, Limits};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Format name used in errors.
const FMT: &str = "vmdk";
/// Bytes per sector: every offset and size in the header counts these.
pub(crate) const SECTOR: u64 = 512;
/// `KDMV` read as a little-endian u32: the hosted sparse extent magic.
pub(crate) const SPARSE_MAGIC: u32 = 0x564d_444b;
/// Size of the header structure read (one sector).
const HEADER_BYTES: usize = 512;
/// `gdOffset` value meaning "the real header is the footer copy at the end of the file"
/// (streamOptimized written in one pass).
pub(crate) const GD_AT_END: u64 = u64::MAX;
/// Header versions known: 1 (Format 1.1), 2 (zeroed-grain GTEs), 3 (streamOptimized by ESX and
/// qemu).
const MAX_VERSION: u32 = 3;
/// Flag bit 0: the newline-detection characters at offset 73 are valid.
const FLAG_NEWLINE_TEST: u32 = 1 << 0;
/// Flag bit 1: a redundant grain directory and grain tables exist at `rgdOffset`.
const FLAG_REDUNDANT_GT: u32 = 1 << 1;
/// Flag bit 16: grains are compressed.
const FLAG_COMPRESSED: u32 = 1 << 16;
/// Flag bit 17: the stream contains metadata markers (streamOptimized).
const FLAG_MARKERS: u32 = 1 << 17;
/// The newline-detection bytes expected at offset 73 when [`FLAG_NEWLINE_TEST`] is set. Different
/// bytes mean the file went through a text-mode transfer that rewrote line ends.
const NEWLINE_TEST: [u8; 4] = [b'\n', b' ', b'\r', b'\n'];
/// Offset of the newline-detection bytes.
const NEWLINE_TEST_OFFSET: usize = 73;
/// `compressAlgorithm` value for deflate (zlib streams).
const COMPRESS_DEFLATE: u16 = 1;
/// Largest grain accepted, in sectors (64 MiB). VMware writes 128 sectors (64 KiB); the bound
/// keeps a decompressed grain's buffer small.
const MAX_GRAIN_SECTORS: u64 = 1 << 17;
/// Most entries per grain table accepted. The notes fix it at 512; the bound keeps one table
/// under 256 KiB.
const MAX_GTES_PER_GT: u32 = 1 << 16;
/// GT entry value for an unallocated grain.
const GTE_UNALLOCATED: u32 = 0;
/// GT entry value for a zeroed grain (Format 5.0).
const GTE_ZERO: u32 = 1;
/// Size of the grain marker in front of a compressed grain: LBA u64 + size u32.
const GRAIN_MARKER_BYTES: u64 = 12;
/// Marker type of the footer marker that precedes the footer in a streamOptimized file.
const MARKER_FOOTER: u32 = 3;
/// Bytes of decompressed grains cached per disk (at least one grain).
const GRAIN_CACHE_BYTES: u64 = 4 << 20;
/// Bytes of consecutive grain tables read in one call at open.
const GT_BATCH_BYTES: u64 = 1 << 20;

/// The header fields used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SparseHeader {
    /// Header version.
    pub version: u32,
    /// Flag bits.
    pub flags: u32,
    /// Capacity in sectors.
    pub capacity: u64,
    /// Grain size in sectors.
    pub grain_sectors: u64,
    /// Embedded descriptor offset in sectors (0 = none).
    pub descriptor_offset: u64,
    /// Embedded descriptor size in sectors.
    pub descriptor_size: u64,
    /// Entries per grain table.
    pub gtes_per_gt: u32,
    /// Redundant grain directory, sectors.
    pub rgd_offset: u64,
    /// Grain directory, sectors.
    pub gd_offset: u64,
    /// Metadata size in sectors.
    pub overhead: u64,
    /// The image was not closed cleanly.
    pub unclean: bool,
    /// `compressAlgorithm`.
    pub compress_algorithm: u16,
}

impl SparseHeader {
    /// Decode a header from its sector; `offset` and `what` name it in errors.
    pub(crate) fn parse(b: &[u8], offset: u64, what: &str) -> Result<SparseHeader, ContainerError> {
        let short = || {
            ContainerError::corrupt(
                FMT,
                what.to_string(),
                offset,
                format!("header is {} bytes, expected {HEADER_BYTES}", b.len()),
            )
        };
        let magic = u32_le(b, 0).ok_or_else(short)?;
        if magic != SPARSE_MAGIC {
            return Err(ContainerError::corrupt(
                FMT,
                what.to_string(),
                offset,
                format!("magic is {magic:#010x}, expected {SPARSE_MAGIC:#010x} (\"KDMV\")"),
            ));
        }
        let h = SparseHeader {
            version: u32_le(b, 4).ok_or_else(short)?,
            flags: u32_le(b, 8).ok_or_else(short)?,
            capacity: u64_le(b, 12).ok_or_else(short)?,
            grain_sectors: u64_le(b, 20).ok_or_else(short)?,
            descriptor_offset: u64_le(b, 28).ok_or_else(short)?,
            descriptor_size: u64_le(b, 36).ok_or_else(short)?,
            gtes_per_gt: u32_le(b, 44).ok_or_else(short)?,
            rgd_offset: u64_le(b, 48).ok_or_else(short)?,
            gd_offset: u64_le(b, 56).ok_or_else(short)?,
            overhead: u64_le(b, 64).ok_or_else(short)?,
            unclean: u8_at(b, 72).ok_or_else(short)? != 0,
            compress_algorithm: u16_le(b, 77).ok_or_else(short)?,
        };
        if h.version == 0 || h.version > MAX_VERSION {
            return Err(ContainerError::Unsupported {
                format: FMT,
                feature: format!(
                    "{what} at offset {offset}: sparse header version {} (known: 1 to {MAX_VERSION})",
                    h.version
                ),
            });
        }
        if h.flags & FLAG_NEWLINE_TEST != 0 {
            let end = NEWLINE_TEST_OFFSET.saturating_add(NEWLINE_TEST.len());
            let got = b.get(NEWLINE_TEST_OFFSET..end).ok_or_else(short)?;
            if got != NEWLINE_TEST {
                return Err(ContainerError::corrupt(
                    FMT,
                    what.to_string(),
                    offset,
                    format!(
                        "newline test bytes are {got:02x?}, expected 0a 20 0d 0a (the file was probably copied in text mode)"
                    ),
                ));
            }
        }
        Ok(h)
    }

    /// Whether grains are compressed.
    pub(crate) fn compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0
    }

    /// Whether the file carries stream markers.
    pub(crate) fn markers(&self) -> bool {
        self.flags & FLAG_MARKERS != 0
    }
}

/// Fills a piece of an unallocated grain, given its extent offset.
pub(crate) type FillFn<'a> = dyn Fn(&mut [u8], u64) -> Result<(), ContainerError> + 'a;

/// State shared by the sparse extents of one disk while they are opened.
pub(crate) struct OpenShared<'a> {
    /// Parser bounds.
    pub limits: &'a Limits,
    /// Grain-table bytes still allowed in memory ([`Limits::max_table_bytes`] for all extents).
    pub table_budget: u64,
    /// The disk's decompressed-grain cache.
    pub cache: Arc<GrainCache>,
    /// Key of the next extent in the cache.
    pub next_id: u64,
}

impl<'a> OpenShared<'a> {
    /// Fresh state for one disk.
    pub(crate) fn new(limits: &'a Limits) -> OpenShared<'a> {
        OpenShared {
            limits,
            table_budget: limits.max_table_bytes,
            cache: Arc::new(GrainCache::default()),
            next_id: 0,
        }
    }
}

/// Decompressed grains of all extents of one disk, least recently inserted evicted first,
/// bounded to [`GRAIN_CACHE_BYTES`] (or one grain, when a grain is larger).
#[derive(Default)]
pub(crate) struct GrainCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: VecDeque<(u64, u64, Arc<[u8]>)>,
    bytes: u64,
}

impl GrainCache {
    /// Bytes held (tests).
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    pub(crate) fn get(&self, extent: u64, grain: u64) -> Option<Arc<[u8]>> {
        let c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        c.entries
            .iter()
            .find(|(e, g, _)| *e == extent && *g == grain)
            .map(|(_, _, d)| d.clone())
    }

    pub(crate) fn put(&self, extent: u64, grain: u64, data: Arc<[u8]>) {
        let size = u64::try_from(data.len()).unwrap_or(u64::MAX);
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while !c.entries.is_empty() && c.bytes.saturating_add(size) > GRAIN_CACHE_BYTES {
            if let Some((_, _, old)) = c.entries.pop_front() {
                let n = u64::try_from(old.len()).unwrap_or(0);
                c.bytes = c.bytes.saturating_sub(n);
            }
        }
        c.bytes = c.bytes.saturating_add(size);
        c.entries.push_back((extent, grain, data));
    }
}

/// Where a piece of an extent's data comes from.
enum Grain {
    /// Not stored here: zeros, or the parent's bytes in a delta disk.
    Unallocated,
    /// Stored as zeros (zeroed-grain entry, or past the header's capacity).
    Zero,
    /// Uncompressed data at this file byte offset (start of the grain).
    Data(u64),
    /// Compressed grain whose marker is at this file byte offset.
    Compressed(u64),
}

/// A grain table that could not be loaded.
#[derive(Debug, Clone)]
struct BadTable {
    offset: u64,
    problem: String,
}

/// An opened hosted sparse extent.
pub(crate) struct SparseExtent {
    file: Arc<dyn BlockSource>,
    name: String,
    header: SparseHeader,
    grain_bytes: u64,
    /// One entry per grain of the header's capacity.
    entries: Vec<u32>,
    /// File byte offset of each grain table (for error messages), 0 when absent.
    gt_offsets: Vec<u64>,
    bad_tables: BTreeMap<u64, BadTable>,
    allocated_grains: u64,
    cache: Arc<GrainCache>,
    /// This extent's key in the shared cache.
    id: u64,
    max_compressed: u64,
}

impl std::fmt::Debug for SparseExtent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparseExtent")
            .field("name", &self.name)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// Read `len` bytes at `offset` of `file`, failing with a message naming `what` when the range is
/// outside the file.
fn read_checked(
    file: &dyn BlockSource,
    offset: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>, ContainerError> {
    let file_len = file.len();
    match offset.checked_add(len) {
        Some(end) if end <= file_len => {}
        _ => {
            return Err(ContainerError::corrupt(
                FMT,
                what.to_string(),
                offset,
                format!("{len} bytes run past the end of the {file_len}-byte file"),
            ))
        }
    }
    let n = usize::try_from(len).map_err(|_| {
        ContainerError::corrupt(FMT, what.to_string(), offset, "size does not fit in memory")
    })?;
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, offset)
        .map_err(|e| ContainerError::read(FMT, what.to_string(), offset, e))?;
    Ok(buf)
}

fn sectors_to_bytes(sectors: u64, what: &str, offset: u64) -> Result<u64, ContainerError> {
    sectors.checked_mul(SECTOR).ok_or_else(|| {
        ContainerError::corrupt(
            FMT,
            what.to_string(),
            offset,
            format!("{sectors} sectors overflow a 64-bit byte offset"),
        )
    })
}

/// `ceil(a / b)` for `b > 0`.
fn div_ceil(a: u64, b: u64) -> u64 {
    match (a.checked_div(b), a.checked_rem(b)) {
        (Some(q), Some(0)) => q,
        (Some(q), Some(_)) => q.saturating_add(1),
        _ => 0,
    }
}

/// Read the header at offset 0 of `file`, and, when its grain directory is at the end, the
/// footer copy in the second-to-last sector. Anomalies about the footer go to `anomalies`.
pub(crate) fn read_header(
    file: &dyn BlockSource,
    name: &str,
    anomalies: &mut Vec<Anomaly>,
) -> Result<SparseHeader, ContainerError> {
    let what = format!("sparse header of extent {name:?}");
    let head = read_checked(file, 0, SECTOR, &what)?;
    let header = SparseHeader::parse(&head, 0, &what)?;
    if header.gd_offset != GD_AT_END {
        return Ok(header);
    }
    // streamOptimized written in one pass: footer marker, footer (a header copy), end marker.
    let len = file.len();
    let footer_off = len.checked_sub(2 * SECTOR).filter(|&o| o >= SECTOR);
    let Some(footer_off) = footer_off else {
        return Err(ContainerError::corrupt(
            FMT,
            what,
            0,
            format!("grain directory is at the end of the file, but the file is only {len} bytes, too small for a footer"),
        ));
    };
    let fwhat = format!("footer of extent {name:?}");
    let foot = read_checked(file, footer_off, SECTOR, &fwhat)?;
    let footer = SparseHeader::parse(&foot, footer_off, &fwhat)?;
    if footer.gd_offset == GD_AT_END {
        return Err(ContainerError::corrupt(
            FMT,
            fwhat,
            footer_off,
            "footer's grain directory offset is also the at-end marker",
        ));
    }
    let marker_off = footer_off.saturating_sub(SECTOR);
    let marker = read_checked(file, marker_off, SECTOR, &fwhat)?;
    let (msize, mtype) = (u32_le(&marker, 8), u32_le(&marker, 12));
    if msize != Some(0) || mtype != Some(MARKER_FOOTER) {
        anomalies.push(Anomaly::new(
            FMT,
            format!("footer marker of extent {name:?}"),
            Some(marker_off),
            ErrorKind::Corrupt,
            format!(
                "marker size {} type {}, expected size 0 type {MARKER_FOOTER}",
                msize.unwrap_or(0),
                mtype.unwrap_or(0)
            ),
        ));
    }
    for (field, a, b) in [
        ("capacity", header.capacity, footer.capacity),
        ("grain size", header.grain_sectors, footer.grain_sectors),
    ] {
        if a != b {
            anomalies.push(Anomaly::new(
                FMT,
                format!("footer of extent {name:?}"),
                Some(footer_off),
                ErrorKind::Corrupt,
                format!("{field} {b} differs from the header's {a}; the footer is used"),
            ));
        }
    }
    Ok(footer)
}

impl SparseExtent {
    /// Open a sparse extent whose (validated) header is `header`.
    pub(crate) fn open(
        file: Arc<dyn BlockSource>,
        name: &str,
        header: SparseHeader,
        shared: &mut OpenShared<'_>,
        anomalies: &mut Vec<Anomaly>,
    ) -> Result<SparseExtent, ContainerError> {
        let limits = shared.limits;
        let hwhat = format!("sparse header of extent {name:?}");
        let g = header.grain_sectors;
        if g == 0 || g > MAX_GRAIN_SECTORS || !g.is_power_of_two() {
            return Err(ContainerError::corrupt(
                FMT,
                hwhat,
                0,
                format!("grain size is {g} sectors, expected a power of two from 1 to {MAX_GRAIN_SECTORS}"),
            ));
        }
        let grain_bytes = sectors_to_bytes(g, &hwhat, 0)?;
        let gtes = header.gtes_per_gt;
        if gtes == 0 || gtes > MAX_GTES_PER_GT {
            return Err(ContainerError::corrupt(
                FMT,
                hwhat,
                0,
                format!("{gtes} entries per grain table, expected 1 to {MAX_GTES_PER_GT}"),
            ));
        }
        sectors_to_bytes(header.capacity, &hwhat, 0)?;
        if header.compressed() {
            if header.compress_algorithm != COMPRESS_DEFLATE {
                return Err(ContainerError::Unsupported {
                    format: FMT,
                    feature: format!(
                        "{hwhat}: compression algorithm {}",
                        header.compress_algorithm
                    ),
                });
            }
            if grain_bytes > limits.max_compressed_unit_bytes {
                return Err(ContainerError::Limit {
                    format: FMT,
                    structure: hwhat,
                    offset: 0,
                    what: "compressed grain size in bytes".to_string(),
                    actual: grain_bytes,
                    limit: limits.max_compressed_unit_bytes,
                });
            }
        }
        let num_grains = div_ceil(header.capacity, g);
        let gtes64 = u64::from(gtes);
        let num_gts = div_ceil(num_grains, gtes64);
        // Grain tables in memory, for this extent and all those opened before it.
        let table_bytes = num_grains.saturating_mul(4);
        let used = limits.max_table_bytes.saturating_sub(shared.table_budget);
        if table_bytes > shared.table_budget {
            return Err(ContainerError::Limit {
                format: FMT,
                structure: format!("grain tables of extent {name:?}"),
                offset: 0,
                what: "total grain table size in bytes".to_string(),
                actual: table_bytes.saturating_add(used),
                limit: limits.max_table_bytes,
            });
        }
        shared.table_budget = shared.table_budget.saturating_sub(table_bytes);
        let id = shared.next_id;
        shared.next_id = shared.next_id.saturating_add(1);
        let gd = Self::read_gd(&*file, name, &header, num_gts, anomalies)?;
        let rgd = if header.flags & FLAG_REDUNDANT_GT != 0 && header.rgd_offset != 0 {
            Self::read_dir(&*file, name, header.rgd_offset, num_gts, "redundant").ok()
        } else {
            None
        };
        let n = usize::try_from(num_grains).unwrap_or(0);
        let mut ext = SparseExtent {
            file,
            name: name.to_string(),
            grain_bytes,
            entries: vec![GTE_UNALLOCATED; n],
            gt_offsets: vec![0; gd.len()],
            bad_tables: BTreeMap::new(),
            allocated_grains: 0,
            cache: shared.cache.clone(),
            id,
            max_compressed: limits.max_compressed_unit_bytes,
            header,
        };
        ext.load_tables(&gd, rgd.as_deref(), anomalies);
        ext.allocated_grains = u64::try_from(
            ext.entries
                .iter()
                .filter(|&&e| e != GTE_UNALLOCATED && e != GTE_ZERO)
                .count(),
        )
        .unwrap_or(u64::MAX);
        Ok(ext)
    }

    /// Read the primary grain directory, falling back to the redundant one.
    fn read_gd(
        file: &dyn BlockSource,
        name: &str,
        header: &SparseHeader,
        num_gts: u64,
        anomalies: &mut Vec<Anomaly>,
    ) -> Result<Vec<u32>, ContainerError> {
        let primary = if header.gd_offset == 0 {
            Err(ContainerError::corrupt(
                FMT,
                format!("sparse header of extent {name:?}"),
                0,
                "grain directory offset is 0",
            ))
        } else {
            Self::read_dir(file, name, header.gd_offset, num_gts, "")
        };
        match primary {
            Ok(gd) => Ok(gd),
            Err(e) if header.flags & FLAG_REDUNDANT_GT != 0 && header.rgd_offset != 0 => {
                match Self::read_dir(file, name, header.rgd_offset, num_gts, "redundant") {
                    Ok(gd) => {
                        anomalies.push(Anomaly::from_error(
                            FMT,
                            format!("grain directory of extent {name:?}"),
                            header.gd_offset.checked_mul(SECTOR),
                            e.kind(),
                            &e,
                        ));
                        Ok(gd)
                    }
                    Err(_) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn read_dir(
        file: &dyn BlockSource,
        name: &str,
        offset_sectors: u64,
        num_gts: u64,
        which: &str,
    ) -> Result<Vec<u32>, ContainerError> {
        let sep = if which.is_empty() { "" } else { " " };
        let what = format!("{which}{sep}grain directory of extent {name:?}");
        let off = sectors_to_bytes(offset_sectors, &what, 0)?;
        let raw = read_checked(file, off, num_gts.saturating_mul(4), &what)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| u32_le(c, 0).unwrap_or(0))
            .collect())
    }

    /// Fill `entries` from every grain table; unreadable tables become anomalies.
    fn load_tables(&mut self, gd: &[u32], rgd: Option<&[u32]>, anomalies: &mut Vec<Anomaly>) {
        let gtes = u64::from(self.header.gtes_per_gt);
        let gt_bytes = gtes.saturating_mul(4);
        let num_grains = u64::try_from(self.entries.len()).unwrap_or(0);
        let mut t = 0usize;
        while t < gd.len() {
            // Find a run of tables stored back to back, to read them in one call.
            let first = gd.get(t).copied().unwrap_or(0);
            let mut run = 1usize;
            if first != GTE_UNALLOCATED && gt_bytes % SECTOR == 0 {
                let step = gt_bytes / SECTOR;
                while let Some(&next) = gd.get(t.saturating_add(run)) {
                    let expect = u64::from(first)
                        .saturating_add(step.saturating_mul(u64::try_from(run).unwrap_or(0)));
                    let bytes = gt_bytes.saturating_mul(u64::try_from(run).unwrap_or(0));
                    if u64::from(next) != expect || bytes >= GT_BATCH_BYTES {
                        break;
                    }
                    run = run.saturating_add(1);
                }
            }
            let t64 = u64::try_from(t).unwrap_or(u64::MAX);
            let start_grain = t64.saturating_mul(gtes);
            let run64 = u64::try_from(run).unwrap_or(0);
            let grains = gtes
                .saturating_mul(run64)
                .min(num_grains.saturating_sub(start_grain));
            if first == GTE_UNALLOCATED {
                // No table: every grain in its range is unallocated.
                t = t.saturating_add(1);
                continue;
            }
            let off = u64::from(first).saturating_mul(SECTOR);
            let what = format!("grain table {t} of extent {:?}", self.name);
            match read_checked(&*self.file, off, grains.saturating_mul(4), &what) {
                Ok(raw) => {
                    for k in 0..run {
                        let k64 = u64::try_from(k).unwrap_or(0);
                        if let Some(slot) = self.gt_offsets.get_mut(t.saturating_add(k)) {
                            *slot = off.saturating_add(k64.saturating_mul(gt_bytes));
                        }
                    }
                    self.store(start_grain, &raw);
                    t = t.saturating_add(run);
                }
                Err(_) => {
                    // Retry the run table by table (from the redundant directory if need be),
                    // so that only the broken tables are lost.
                    for k in 0..run {
                        self.load_one(t.saturating_add(k), gd, rgd, anomalies);
                    }
                    t = t.saturating_add(run);
                }
            }
        }
    }

    /// Load grain table `t` alone, from the primary directory or else the redundant one.
    fn load_one(
        &mut self,
        t: usize,
        gd: &[u32],
        rgd: Option<&[u32]>,
        anomalies: &mut Vec<Anomaly>,
    ) {
        let gtes = u64::from(self.header.gtes_per_gt);
        let num_grains = u64::try_from(self.entries.len()).unwrap_or(0);
        let t64 = u64::try_from(t).unwrap_or(u64::MAX);
        let start_grain = t64.saturating_mul(gtes);
        let grains = gtes.min(num_grains.saturating_sub(start_grain));
        let what = format!("grain table {t} of extent {:?}", self.name);
        let entry = gd.get(t).copied().unwrap_or(0);
        let off = u64::from(entry).saturating_mul(SECTOR);
        if let Some(slot) = self.gt_offsets.get_mut(t) {
            *slot = off;
        }
        if entry == GTE_UNALLOCATED {
            return;
        }
        let err = match read_checked(&*self.file, off, grains.saturating_mul(4), &what) {
            Ok(raw) => {
                self.store(start_grain, &raw);
                return;
            }
            Err(e) => e,
        };
        let backup = rgd
            .and_then(|r| r.get(t).copied())
            .filter(|&r| r != GTE_UNALLOCATED)
            .map(|r| u64::from(r).saturating_mul(SECTOR));
        if let Some(roff) = backup {
            let rwhat = format!("redundant grain table {t} of extent {:?}", self.name);
            if let Ok(raw) = read_checked(&*self.file, roff, grains.saturating_mul(4), &rwhat) {
                self.store(start_grain, &raw);
                if let Some(slot) = self.gt_offsets.get_mut(t) {
                    *slot = roff;
                }
                anomalies.push(Anomaly::from_error(FMT, what, Some(off), err.kind(), &err));
                return;
            }
        }
        anomalies.push(Anomaly::from_error(
            FMT,
            what.clone(),
            Some(off),
            err.kind(),
            &err,
        ));
        self.bad_tables.insert(
            t64,
            BadTable {
                offset: off,
                problem: error_chain(&err),
            },
        );
    }

    fn store(&mut self, start_grain: u64, raw: &[u8]) {
        let start = usize::try_from(start_grain).unwrap_or(usize::MAX);
        for (i, c) in raw.chunks_exact(4).enumerate() {
            if let Some(slot) = self.entries.get_mut(start.saturating_add(i)) {
                *slot = u32_le(c, 0).unwrap_or(0);
            }
        }
    }

    /// The header this extent was opened with.
    pub(crate) fn header(&self) -> &SparseHeader {
        &self.header
    }

    /// Grain size in bytes.
    pub(crate) fn grain_bytes(&self) -> u64 {
        self.grain_bytes
    }

    /// Bytes of the extent's first `len` bytes that are stored in grains.
    pub(crate) fn allocated_bytes(&self, len: u64) -> u64 {
        self.allocated_grains
            .saturating_mul(self.grain_bytes)
            .min(len)
    }

    /// Capacity in bytes according to the header.
    pub(crate) fn capacity_bytes(&self) -> u64 {
        self.header.capacity.saturating_mul(SECTOR)
    }

    /// The file offset of grain table entry `g` (for messages).
    fn gte_offset(&self, g: u64) -> u64 {
        let gtes = u64::from(self.header.gtes_per_gt);
        let t = usize::try_from(g.checked_div(gtes).unwrap_or(0)).unwrap_or(usize::MAX);
        let within = g.checked_rem(gtes).unwrap_or(0);
        self.gt_offsets
            .get(t)
            .copied()
            .unwrap_or(0)
            .saturating_add(within.saturating_mul(4))
    }

    fn gte_error(&self, g: u64, problem: String) -> ContainerError {
        ContainerError::corrupt(
            FMT,
            format!("grain table entry {g} of extent {:?}", self.name),
            self.gte_offset(g),
            problem,
        )
    }

    /// Where grain `g` is.
    fn lookup(&self, g: u64) -> Result<Grain, ContainerError> {
        let gtes = u64::from(self.header.gtes_per_gt);
        let t = g.checked_div(gtes).unwrap_or(0);
        if let Some(bad) = self.bad_tables.get(&t) {
            return Err(ContainerError::corrupt(
                FMT,
                format!("grain table {t} of extent {:?}", self.name),
                bad.offset,
                format!(
                    "unreadable, so grain {g} cannot be located: {}",
                    bad.problem
                ),
            ));
        }
        let Some(&entry) = usize::try_from(g).ok().and_then(|i| self.entries.get(i)) else {
            // Past the header's capacity (the descriptor declared more): zeros.
            return Ok(Grain::Zero);
        };
        match entry {
            GTE_UNALLOCATED => Ok(Grain::Unallocated),
            GTE_ZERO => Ok(Grain::Zero),
            sector => {
                let off = u64::from(sector).saturating_mul(SECTOR);
                if self.header.compressed() {
                    Ok(Grain::Compressed(off))
                } else {
                    Ok(Grain::Data(off))
                }
            }
        }
    }

    /// Bytes of grain `g` that lie inside the header's capacity.
    fn grain_len(&self, g: u64) -> u64 {
        let start = g.saturating_mul(self.grain_bytes);
        self.capacity_bytes()
            .saturating_sub(start)
            .min(self.grain_bytes)
    }

    /// What the grain tables say about the bytes from extent offset `offset` on (at most `max`
    /// bytes, at most 65,536 grains): a run of zero grains (zeroed-grain entries, grains past
    /// the capacity, and unallocated grains when `unallocated_is_zero`) or of stored grains;
    /// `None` for an unreadable table or an unallocated grain of a delta disk.
    pub(crate) fn extent(
        &self,
        offset: u64,
        max: u64,
        unallocated_is_zero: bool,
    ) -> Option<imgcheck_core::Extent> {
        use imgcheck_core::Extent;
        if self.grain_bytes == 0 || max == 0 {
            return None;
        }
        let end = offset.saturating_add(max);
        let cap = self.capacity_bytes();
        let mut pos = offset;
        let mut kind: Option<bool> = None;
        let mut grains = 0u32;
        while pos < end && grains < 1 << 16 {
            let g = pos.checked_div(self.grain_bytes)?;
            let zero = if pos >= cap {
                true
            } else {
                match self.lookup(g).ok()? {
                    Grain::Zero => true,
                    Grain::Unallocated if unallocated_is_zero => true,
                    Grain::Unallocated => break,
                    Grain::Data(_) | Grain::Compressed(_) => false,
                }
            };
            match kind {
                None => kind = Some(zero),
                Some(k) if k != zero => break,
                _ => {}
            }
            let mut next = g.saturating_add(1).saturating_mul(self.grain_bytes);
            if pos < cap {
                next = next.min(cap);
            }
            pos = next.min(end);
            grains = grains.saturating_add(1);
        }
        let n = pos.saturating_sub(offset);
        Extent::of_run(kind, n)
    }

    /// Fill `buf` from extent offset `offset`. Unallocated grains are filled by `unallocated`
    /// (zeros, or the parent's bytes), called with the extent offset of the piece.
    pub(crate) fn read(
        &self,
        buf: &mut [u8],
        offset: u64,
        unallocated: &FillFn<'_>,
    ) -> Result<(), ContainerError> {
        // A run of uncompressed grains stored back to back is read with one call.
        let mut run: Option<(u64, usize, usize)> = None; // (file offset, buf start, buf end)
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset.saturating_add(u64::try_from(done).unwrap_or(u64::MAX));
            let g = pos.checked_div(self.grain_bytes).unwrap_or(0);
            let within = pos.checked_rem(self.grain_bytes).unwrap_or(0);
            let cap = self.capacity_bytes();
            // A piece ends at the grain's end, and at the capacity when it starts below it.
            let mut room = self.grain_bytes.saturating_sub(within);
            if pos < cap {
                room = room.min(cap.saturating_sub(pos));
            }
            let room = usize::try_from(room).unwrap_or(usize::MAX);
            let end = done.saturating_add(room.min(buf.len().saturating_sub(done)));
            let grain = if pos >= cap {
                // Declared by the descriptor beyond the header's capacity: zeros.
                Grain::Zero
            } else {
                self.lookup(g)?
            };
            match grain {
                Grain::Data(goff) => {
                    let glen = self.grain_len(g);
                    let file_len = self.file.len();
                    if goff.checked_add(glen).is_none_or(|e| e > file_len) {
                        return Err(self.gte_error(
                            g,
                            format!(
                                "grain at file offset {goff} ({glen} bytes) lies past the end of the {file_len}-byte file"
                            ),
                        ));
                    }
                    let foff = goff.saturating_add(within);
                    run = match run {
                        Some((rf, rs, re))
                            if rf.saturating_add(
                                u64::try_from(re.saturating_sub(rs)).unwrap_or(0),
                            ) == foff =>
                        {
                            Some((rf, rs, end))
                        }
                        prev => {
                            self.flush(buf, prev)?;
                            Some((foff, done, end))
                        }
                    };
                }
                other => {
                    self.flush(buf, run.take())?;
                    let piece = buf.get_mut(done..end).unwrap_or_default();
                    match other {
                        Grain::Unallocated => unallocated(piece, pos)?,
                        Grain::Zero => piece.fill(0),
                        Grain::Compressed(moff) => {
                            let data = self.compressed_grain(g, moff)?;
                            let w = usize::try_from(within).unwrap_or(usize::MAX);
                            let src = w
                                .checked_add(piece.len())
                                .and_then(|e| data.get(w..e))
                                .ok_or_else(|| {
                                    self.gte_error(
                                        g,
                                        format!(
                                            "compressed grain at file offset {moff} decompressed to {} bytes, too short for the read",
                                            data.len()
                                        ),
                                    )
                                })?;
                            piece.copy_from_slice(src);
                        }
                        Grain::Data(_) => {}
                    }
                }
            }
            done = end;
        }
        self.flush(buf, run)
    }

    fn flush(
        &self,
        buf: &mut [u8],
        run: Option<(u64, usize, usize)>,
    ) -> Result<(), ContainerError> {
        if let Some((foff, s, e)) = run {
            if let Some(piece) = buf.get_mut(s..e) {
                self.file.read_exact_at(piece, foff).map_err(|err| {
                    ContainerError::read(
                        FMT,
                        format!("grain data of extent {:?}", self.name),
                        foff,
                        err,
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The decompressed bytes of grain `g` whose marker is at `moff`, through the cache.
    fn compressed_grain(&self, g: u64, moff: u64) -> Result<Arc<[u8]>, ContainerError> {
        if let Some(d) = self.cache.get(self.id, g) {
            return Ok(d);
        }
        let data: Arc<[u8]> = self.decompress_grain(g, moff)?.into();
        self.cache.put(self.id, g, data.clone());
        Ok(data)
    }

    fn decompress_grain(&self, g: u64, moff: u64) -> Result<Vec<u8>, ContainerError> {
        let file_len = self.file.len();
        let what = format!("grain marker of extent {:?}", self.name);
        let marker = read_checked(&*self.file, moff, GRAIN_MARKER_BYTES, &what)
            .map_err(|e| self.gte_error(g, error_chain(&e)))?;
        let lba = u64_le(&marker, 0).unwrap_or(0);
        let size = u64::from(u32_le(&marker, 8).unwrap_or(0));
        let expect_lba = g.saturating_mul(self.header.grain_sectors);
        if size == 0 {
            return Err(self.gte_error(
                g,
                format!("points at file offset {moff}, which holds a metadata marker, not a grain"),
            ));
        }
        if lba != expect_lba {
            return Err(self.gte_error(
                g,
                format!("grain marker at file offset {moff} has LBA {lba}, expected {expect_lba}"),
            ));
        }
        let data_off = moff.saturating_add(GRAIN_MARKER_BYTES);
        if size > self.max_compressed {
            return Err(ContainerError::Limit {
                format: FMT,
                structure: what,
                offset: moff,
                what: "compressed grain size in bytes".to_string(),
                actual: size,
                limit: self.max_compressed,
            });
        }
        if data_off.checked_add(size).is_none_or(|e| e > file_len) {
            return Err(self.gte_error(
                g,
                format!(
                    "compressed grain at file offset {moff} ({size} bytes) runs past the end of the {file_len}-byte file"
                ),
            ));
        }
        let input = read_checked(&*self.file, data_off, size, &what)?;
        let want = usize::try_from(self.grain_len(g)).unwrap_or(0);
        let cap = usize::try_from(self.grain_bytes).unwrap_or(0);
        let out = inflate(&input, cap).map_err(|p| {
            self.gte_error(g, format!("compressed grain at file offset {moff}: {p}"))
        })?;
        if out.len() < want {
            return Err(self.gte_error(
                g,
                format!(
                    "compressed grain at file offset {moff} decompressed to {} bytes, expected {want}",
                    out.len()
                ),
            ));
        }
        Ok(out)
    }
}

/// Inflate a zlib stream (RFC 1950), or a raw deflate stream (RFC 1951) when no zlib header is
/// present, into at most `cap` bytes.
pub(crate) fn inflate(input: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    let zlib = matches!(input, [cmf, flg, ..]
        if cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0);
    let mut d = Decompress::new(zlib);
    let mut out = vec![0u8; cap];
    let status = d
        .decompress(input, &mut out, FlushDecompress::Finish)
        .map_err(|e| format!("invalid deflate data ({e})"))?;
    let produced = usize::try_from(d.total_out()).unwrap_or(usize::MAX);
    match status {
        Status::StreamEnd => {
            out.truncate(produced);
            Ok(out)
        }
        _ if produced >= cap => Err(format!("decompresses to more than the grain's {cap} bytes")),
        _ => Err(format!(
            "deflate stream ends early after {} input bytes",
            d.total_in()
        )),
    }
}

/// The error with its whole source chain, as one line.
fn error_chain(e: &ContainerError) -> String {
    let mut out = e.to_string();
    let mut cur = std::error::Error::source(e);
    let mut depth = 0u32;
    while let Some(inner) = cur {
        if depth >= 16 {
            break;
        }
        out.push_str(": ");
        out.push_str(&inner.to_string());
        cur = inner.source();
        depth = depth.saturating_add(1);
    }
    out
}
