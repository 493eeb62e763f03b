//! VHDX (Microsoft Virtual Hard Disk v2): fixed, dynamic and differencing disks.
//!
//! Specification: Microsoft, "[MS-VHDX]: Virtual Hard Disk v2 (VHDX) File Format" (Open
//! Specifications). Layout: the file type identifier ("vhdxfile") at 0; two 4 KiB headers at
//! 64 KiB and 128 KiB ("head", CRC-32C, the valid one with the higher sequence number is
//! current); two copies of the region table at 192 KiB and 256 KiB ("regi", CRC-32C over
//! 64 KiB) locating the BAT and metadata regions; the metadata table ("metadata") with the File
//! Parameters, Virtual Disk Size, Logical/Physical Sector Size, Page 83 Data and Parent Locator
//! items; the BAT, whose 64-bit entries (state in bits 0–2, file offset in MiB in bits 20–63)
//! interleave one sector bitmap entry after every `chunk_ratio` payload entries.
//!
//! All integers are little-endian; GUIDs are stored in Microsoft's mixed-endian layout.
//!
//! An image whose current header names a log (non-zero LogGuid) was not closed cleanly: its log
//! is replayed in memory ([`log`]) and the region table, metadata, BAT and payload are read
//! through the result; the facts say `dirty` and an anomaly says what was replayed. A log that
//! holds valid entries but no replayable sequence is refused as corrupt.
//!
//! Our own code: the `vhdx` crate panics on qemu's images and `vhdx-core` is young and reads no
//! differencing chains under our policy (shared/dependencies.md).

mod log;

use crate::util::for_each_unit;
use crate::vhd::read_runs;
use crate::{
    BackingRef, ContainerError, Format, FormatReader, ImageFacts, OpenContext, Probe, VirtualDisk,
};
use imgcheck_core::bytes::{array, guid_mixed_endian, slice, u16_le, u32_le, u64_le};
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, ReadError};
use std::sync::Arc;

/// Format name used in errors and anomalies.
const FMT: &str = "vhdx";
/// File type identifier signature at offset 0.
const FILE_SIG: &[u8; 8] = b"vhdxfile";
/// Bytes of the creator string (UTF-16LE) after the file signature.
const CREATOR_BYTES: usize = 512;
/// 1 MiB: the unit of region offsets and BAT file offsets.
const MIB: u64 = 1 << 20;
/// Offsets of the two headers.
const HEADER_OFFSETS: [u64; 2] = [64 << 10, 128 << 10];
/// Bytes of a header covered by its checksum.
const HEADER_SIZE: usize = 4096;
/// Header signature.
const HEADER_SIG: &[u8; 4] = b"head";
/// The only header version defined.
const HEADER_VERSION: u16 = 1;
/// Offsets of the two region table copies.
const REGION_OFFSETS: [u64; 2] = [192 << 10, 256 << 10];
/// Bytes of a region table covered by its checksum.
const REGION_TABLE_SIZE: usize = 64 << 10;
/// Region table signature.
const REGION_SIG: &[u8; 4] = b"regi";
/// Most region table entries allowed by the spec.
const MAX_REGION_ENTRIES: u32 = 2047;
/// Metadata table signature.
const METADATA_SIG: &[u8; 8] = b"metadata";
/// Size of the metadata table at the start of the metadata region.
const METADATA_TABLE_SIZE: usize = 64 << 10;
/// Most metadata table entries allowed by the spec.
const MAX_METADATA_ENTRIES: u16 = 2047;
/// Metadata entry flag: the item must be understood to open the file.
const META_IS_REQUIRED: u32 = 1 << 2;
/// File Parameters flag: blocks stay allocated (a "fixed" VHDX).
const PARAM_LEAVE_ALLOCATED: u32 = 1;
/// File Parameters flag: the file is a differencing disk.
const PARAM_HAS_PARENT: u32 = 2;
/// Block size bounds (File Parameters: at least 1 MiB, at most 256 MiB, a power of two).
const MIN_BLOCK_SIZE: u64 = MIB;
/// Largest block size.
const MAX_BLOCK_SIZE: u64 = 256 * MIB;
/// Largest virtual disk size (64 TiB).
const MAX_VIRTUAL_SIZE: u64 = 64 << 40;
/// Sectors described by one 1 MiB sector bitmap block (2^23).
const SECTORS_PER_BITMAP_BLOCK: u64 = 1 << 23;
/// Size of a sector bitmap block.
const BITMAP_BLOCK_SIZE: u64 = MIB;
/// Largest parent locator item read.
const MAX_LOCATOR_BYTES: u32 = 1 << 20;

/// Payload block states (BAT entry bits 0–2).
const PAYLOAD_NOT_PRESENT: u64 = 0;
/// Contents undefined: read as zeros.
const PAYLOAD_UNDEFINED: u64 = 1;
/// Contents are zeros.
const PAYLOAD_ZERO: u64 = 2;
/// Unmapped (trimmed): read as zeros.
const PAYLOAD_UNMAPPED: u64 = 3;
/// The whole block is in the file.
const PAYLOAD_FULLY_PRESENT: u64 = 6;
/// Differencing only: the sector bitmap says which sectors are in the file.
const PAYLOAD_PARTIALLY_PRESENT: u64 = 7;
/// Sector bitmap block present.
const BITMAP_PRESENT: u64 = 6;
/// Mask of the state bits of a BAT entry.
const BAT_STATE_MASK: u64 = 7;

/// A GUID's on-disk (mixed-endian) bytes from its textual parts.
const fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5],
        d4[6], d4[7],
    ]
}

/// Region: BAT (2DC27766-F623-4200-9D64-115E9BFD4A08).
const REGION_BAT: [u8; 16] = guid(
    0x2DC2_7766,
    0xF623,
    0x4200,
    [0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08],
);
/// Region: metadata (8B7CA206-4790-4B9A-B8FE-575F050F886E).
const REGION_METADATA: [u8; 16] = guid(
    0x8B7C_A206,
    0x4790,
    0x4B9A,
    [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E],
);
/// Metadata item: File Parameters (CAA16737-FA36-4D43-B3B6-33F0AA44E76B).
const ITEM_FILE_PARAMETERS: [u8; 16] = guid(
    0xCAA1_6737,
    0xFA36,
    0x4D43,
    [0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B],
);
/// Metadata item: Virtual Disk Size (2FA54224-CD1B-4876-B211-5DBED83BF4B8).
const ITEM_VIRTUAL_DISK_SIZE: [u8; 16] = guid(
    0x2FA5_4224,
    0xCD1B,
    0x4876,
    [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8],
);
/// Metadata item: Page 83 Data (BECA12AB-B2E6-4523-93EF-C309E000C746).
const ITEM_PAGE83: [u8; 16] = guid(
    0xBECA_12AB,
    0xB2E6,
    0x4523,
    [0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46],
);
/// Metadata item: Logical Sector Size (8141BF1D-A96F-4709-BA47-F233A8FAAB5F).
const ITEM_LOGICAL_SECTOR: [u8; 16] = guid(
    0x8141_BF1D,
    0xA96F,
    0x4709,
    [0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F],
);
/// Metadata item: Physical Sector Size (CDA348C7-445D-4471-9CC9-E9885251C556).
const ITEM_PHYSICAL_SECTOR: [u8; 16] = guid(
    0xCDA3_48C7,
    0x445D,
    0x4471,
    [0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56],
);
/// Metadata item: Parent Locator (A8D35F2D-B30B-454D-ABF7-D3D84834AB0C).
const ITEM_PARENT_LOCATOR: [u8; 16] = guid(
    0xA8D3_5F2D,
    0xB30B,
    0x454D,
    [0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C],
);
/// Parent locator type of VHDX parents (B04AEFB7-D19E-4A81-B789-25B8E9445913).
const LOCATOR_TYPE_VHDX: [u8; 16] = guid(
    0xB04A_EFB7,
    0xD19E,
    0x4A81,
    [0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13],
);

/// The VHDX format.
pub(crate) struct VhdxFormat;

impl FormatReader for VhdxFormat {
    fn name(&self) -> &'static str {
        FMT
    }

    fn probe(&self, probe: &Probe<'_>) -> bool {
        probe.head.starts_with(FILE_SIG)
    }

    fn open(
        &self,
        file: Arc<dyn BlockSource>,
        _probe: &Probe<'_>,
        ctx: &OpenContext,
    ) -> Result<VirtualDisk, ContainerError> {
        open_vhdx(file, ctx)
    }
}

fn read_at(
    file: &dyn BlockSource,
    structure: &str,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, ContainerError> {
    let mut b = vec![0u8; len];
    file.read_exact_at(&mut b, offset)
        .map_err(|e| ContainerError::read(FMT, structure, offset, e))?;
    Ok(b)
}

/// CRC-32C of `b` with the 4-byte checksum field at `at` taken as zero.
fn crc_with_zeroed(b: &[u8], at: usize) -> u32 {
    let head = b.get(..at).unwrap_or_default();
    let tail = b.get(at.saturating_add(4)..).unwrap_or_default();
    let c = crc32c::crc32c(head);
    let c = crc32c::crc32c_append(c, &[0u8; 4]);
    crc32c::crc32c_append(c, tail)
}

fn guid_at(b: &[u8], off: usize) -> [u8; 16] {
    array(b, off).unwrap_or_default()
}

fn guid_str(g: &[u8; 16]) -> String {
    guid_mixed_endian(g)
}

/// A valid header.
#[derive(Debug, Clone)]
struct Header {
    seq: u64,
    file_write: [u8; 16],
    data_write: [u8; 16],
    log_guid: [u8; 16],
    log_length: u32,
    log_offset: u64,
}

fn parse_header(b: &[u8]) -> Result<Header, String> {
    if !b.starts_with(HEADER_SIG) {
        return Err(format!(
            "signature is {:?}, expected \"head\"",
            String::from_utf8_lossy(b.get(..4).unwrap_or_default())
        ));
    }
    let stored = u32_le(b, 4).unwrap_or(0);
    let computed = crc_with_zeroed(b, 4);
    if stored != computed {
        return Err(format!(
            "crc-32c mismatch: stored 0x{stored:08x}, computed 0x{computed:08x}"
        ));
    }
    let version = u16_le(b, 66).unwrap_or(0);
    if version != HEADER_VERSION {
        return Err(format!("version is {version}, expected {HEADER_VERSION}"));
    }
    Ok(Header {
        seq: u64_le(b, 8).unwrap_or(0),
        file_write: guid_at(b, 16),
        data_write: guid_at(b, 32),
        log_guid: guid_at(b, 48),
        log_length: u32_le(b, 68).unwrap_or(0),
        log_offset: u64_le(b, 72).unwrap_or(0),
    })
}

/// One region table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Region {
    guid: [u8; 16],
    offset: u64,
    length: u64,
    required: bool,
}

fn parse_region_table(b: &[u8]) -> Result<Vec<Region>, String> {
    if !b.starts_with(REGION_SIG) {
        return Err(format!(
            "signature is {:?}, expected \"regi\"",
            String::from_utf8_lossy(b.get(..4).unwrap_or_default())
        ));
    }
    let stored = u32_le(b, 4).unwrap_or(0);
    let computed = crc_with_zeroed(b, 4);
    if stored != computed {
        return Err(format!(
            "crc-32c mismatch: stored 0x{stored:08x}, computed 0x{computed:08x}"
        ));
    }
    let count = u32_le(b, 8).unwrap_or(0);
    if count > MAX_REGION_ENTRIES {
        return Err(format!(
            "entry count is {count}, above the maximum of {MAX_REGION_ENTRIES}"
        ));
    }
    let mut out = Vec::new();
    for i in 0..usize::try_from(count).unwrap_or(0) {
        let base = i.saturating_mul(32).saturating_add(16);
        let e = slice(b, base, 32).ok_or_else(|| format!("entry {i} lies outside the table"))?;
        out.push(Region {
            guid: guid_at(e, 0),
            offset: u64_le(e, 16).unwrap_or(0),
            length: u64::from(u32_le(e, 24).unwrap_or(0)),
            required: u32_le(e, 28).unwrap_or(0) & 1 == 1,
        });
    }
    Ok(out)
}

/// What the metadata region says.
#[derive(Debug)]
struct Metadata {
    block_size: u64,
    leave_allocated: bool,
    has_parent: bool,
    virtual_size: u64,
    logical_sector: u64,
    physical_sector: u64,
    page83: Option<[u8; 16]>,
    parent_locator: Option<Vec<u8>>,
}

fn parse_metadata(file: &dyn BlockSource, region: &Region) -> Result<Metadata, ContainerError> {
    let roff = region.offset;
    let bad = |s: &str, p: String| ContainerError::corrupt(FMT, s, roff, p);
    if region.length < u64::try_from(METADATA_TABLE_SIZE).unwrap_or(u64::MAX) {
        return Err(bad(
            "metadata region",
            format!(
                "length is {}, smaller than the {METADATA_TABLE_SIZE}-byte metadata table",
                region.length
            ),
        ));
    }
    let t = read_at(file, "metadata table", roff, METADATA_TABLE_SIZE)?;
    if !t.starts_with(METADATA_SIG) {
        return Err(bad(
            "metadata table",
            format!(
                "signature is {:?}, expected \"metadata\"",
                String::from_utf8_lossy(t.get(..8).unwrap_or_default())
            ),
        ));
    }
    let count = u16_le(&t, 10).unwrap_or(0);
    if count > MAX_METADATA_ENTRIES {
        return Err(bad(
            "metadata table",
            format!("entry count is {count}, above the maximum of {MAX_METADATA_ENTRIES}"),
        ));
    }
    let mut items: Vec<([u8; 16], u64, u32, u32)> = Vec::new();
    for i in 0..usize::from(count) {
        let base = i.saturating_add(1).saturating_mul(32);
        let id = guid_at(&t, base);
        let off = u32_le(&t, base.saturating_add(16)).unwrap_or(0);
        let len = u32_le(&t, base.saturating_add(20)).unwrap_or(0);
        let flags = u32_le(&t, base.saturating_add(24)).unwrap_or(0);
        let known = [
            ITEM_FILE_PARAMETERS,
            ITEM_VIRTUAL_DISK_SIZE,
            ITEM_PAGE83,
            ITEM_LOGICAL_SECTOR,
            ITEM_PHYSICAL_SECTOR,
            ITEM_PARENT_LOCATOR,
        ];
        if !known.contains(&id) {
            if flags & META_IS_REQUIRED != 0 {
                return Err(ContainerError::Unsupported {
                    format: FMT,
                    feature: format!(
                        "required metadata item {} (table entry {i} at offset {})",
                        guid_str(&id),
                        roff.saturating_add(u64::try_from(base).unwrap_or(0))
                    ),
                });
            }
            continue;
        }
        if len != 0
            && (u64::from(off) < u64::try_from(METADATA_TABLE_SIZE).unwrap_or(0)
                || u64::from(off).saturating_add(u64::from(len)) > region.length)
        {
            return Err(bad(
                "metadata table",
                format!(
                    "item {} at region offset {off} with length {len} lies outside the metadata region of {} bytes",
                    guid_str(&id),
                    region.length
                ),
            ));
        }
        items.push((id, roff.saturating_add(u64::from(off)), len, flags));
    }
    let find =
        |id: &[u8; 16], name: &str, max: u32| -> Result<Option<(u64, Vec<u8>)>, ContainerError> {
            match items.iter().find(|(i, ..)| i == id) {
                None => Ok(None),
                Some(&(_, off, len, _)) => {
                    if len > max {
                        return Err(ContainerError::corrupt(
                            FMT,
                            format!("metadata item {name}"),
                            off,
                            format!("length is {len}, expected at most {max}"),
                        ));
                    }
                    let b = read_at(
                        file,
                        &format!("metadata item {name}"),
                        off,
                        usize::try_from(len).unwrap_or(0),
                    )?;
                    Ok(Some((off, b)))
                }
            }
        };
    let missing = |name: &str| bad("metadata table", format!("required item {name} is missing"));
    let (poff, params) = find(&ITEM_FILE_PARAMETERS, "file parameters", 8)?
        .ok_or_else(|| missing("file parameters"))?;
    let block_size = u64::from(u32_le(&params, 0).unwrap_or(0));
    let pflags = u32_le(&params, 4).unwrap_or(0);
    if !block_size.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&block_size) {
        return Err(ContainerError::corrupt(
            FMT,
            "metadata item file parameters",
            poff,
            format!(
                "block size is {block_size}, expected a power of two from {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE}"
            ),
        ));
    }
    let (voff, vs) = find(&ITEM_VIRTUAL_DISK_SIZE, "virtual disk size", 8)?
        .ok_or_else(|| missing("virtual disk size"))?;
    let virtual_size = u64_le(&vs, 0).unwrap_or(0);
    if virtual_size > MAX_VIRTUAL_SIZE {
        return Err(ContainerError::corrupt(
            FMT,
            "metadata item virtual disk size",
            voff,
            format!("virtual size is {virtual_size}, above the maximum of {MAX_VIRTUAL_SIZE}"),
        ));
    }
    let sector = |id: &[u8; 16], name: &str| -> Result<u64, ContainerError> {
        let (off, b) = find(id, name, 4)?.ok_or_else(|| missing(name))?;
        let v = u64::from(u32_le(&b, 0).unwrap_or(0));
        if v != 512 && v != 4096 {
            return Err(ContainerError::corrupt(
                FMT,
                format!("metadata item {name}"),
                off,
                format!("sector size is {v}, expected 512 or 4096"),
            ));
        }
        Ok(v)
    };
    let logical_sector = sector(&ITEM_LOGICAL_SECTOR, "logical sector size")?;
    let physical_sector = sector(&ITEM_PHYSICAL_SECTOR, "physical sector size")?;
    let page83 = find(&ITEM_PAGE83, "page 83 data", 16)?.and_then(|(_, b)| array(&b, 0));
    let parent_locator =
        find(&ITEM_PARENT_LOCATOR, "parent locator", MAX_LOCATOR_BYTES)?.map(|(_, b)| b);
    Ok(Metadata {
        block_size,
        leave_allocated: pflags & PARAM_LEAVE_ALLOCATED != 0,
        has_parent: pflags & PARAM_HAS_PARENT != 0,
        virtual_size,
        logical_sector,
        physical_sector,
        page83,
        parent_locator,
    })
}

/// Pick the current header: the valid one with the higher sequence number.
fn current_header(
    file: &dyn BlockSource,
    anomalies: &mut Vec<Anomaly>,
) -> Result<Header, ContainerError> {
    let mut valid: Vec<Header> = Vec::new();
    let mut problems = Vec::new();
    for (i, &off) in HEADER_OFFSETS.iter().enumerate() {
        let b = read_at(
            file,
            &format!("header {}", i.saturating_add(1)),
            off,
            HEADER_SIZE,
        )?;
        match parse_header(&b) {
            Ok(h) => valid.push(h),
            Err(p) => problems.push((i.saturating_add(1), off, p)),
        }
    }
    let Some(best) = valid.iter().max_by_key(|h| h.seq).cloned() else {
        let detail: Vec<String> = problems
            .iter()
            .map(|(i, off, p)| format!("header {i} at offset {off}: {p}"))
            .collect();
        return Err(ContainerError::corrupt(
            FMT,
            "headers",
            HEADER_OFFSETS[0],
            format!("no valid header ({})", detail.join("; ")),
        ));
    };
    for (i, off, p) in problems {
        anomalies.push(Anomaly::new(
            FMT,
            format!("header {i}"),
            Some(off),
            ErrorKind::Corrupt,
            format!("{p}; using the other header"),
        ));
    }
    Ok(best)
}

/// The region table: the first valid copy, with an anomaly when a copy is bad or they differ.
fn region_table(
    file: &dyn BlockSource,
    anomalies: &mut Vec<Anomaly>,
) -> Result<Vec<Region>, ContainerError> {
    let mut tables = Vec::new();
    let mut problems = Vec::new();
    for (i, &off) in REGION_OFFSETS.iter().enumerate() {
        let b = read_at(file, "region table", off, REGION_TABLE_SIZE)?;
        match parse_region_table(&b) {
            Ok(t) => tables.push(t),
            Err(p) => problems.push((i.saturating_add(1), off, p)),
        }
    }
    let Some(first) = tables.first().cloned() else {
        let detail: Vec<String> = problems
            .iter()
            .map(|(i, off, p)| format!("copy {i} at offset {off}: {p}"))
            .collect();
        return Err(ContainerError::corrupt(
            FMT,
            "region table",
            REGION_OFFSETS[0],
            format!("no valid copy ({})", detail.join("; ")),
        ));
    };
    for (i, off, p) in problems {
        anomalies.push(Anomaly::new(
            FMT,
            format!("region table copy {i}"),
            Some(off),
            ErrorKind::Corrupt,
            format!("{p}; using the other copy"),
        ));
    }
    if tables.len() == 2 && tables.get(1) != Some(&first) {
        anomalies.push(Anomaly::new(
            FMT,
            "region table copy 2",
            Some(REGION_OFFSETS[1]),
            ErrorKind::Corrupt,
            "differs from copy 1; using copy 1",
        ));
    }
    Ok(first)
}

fn open_vhdx(file: Arc<dyn BlockSource>, ctx: &OpenContext) -> Result<VirtualDisk, ContainerError> {
    let orig_len = file.len();
    let mut anomalies = Vec::new();
    let id = read_at(
        &*file,
        "file type identifier",
        0,
        FILE_SIG.len().saturating_add(CREATOR_BYTES),
    )?;
    let creator = imgcheck_core::bytes::utf16le_until_nul(id.get(8..).unwrap_or_default());

    let header = current_header(&*file, &mut anomalies)?;
    // Everything after the headers is read as it would be after replaying the log.
    let (file, dirty) = apply_log(file, &header, ctx, &mut anomalies)?;
    let file_len = file.len();
    let regions = region_table(&*file, &mut anomalies)?;

    let mut bat_region = None;
    let mut meta_region = None;
    for r in &regions {
        let slot = if r.guid == REGION_BAT {
            &mut bat_region
        } else if r.guid == REGION_METADATA {
            &mut meta_region
        } else {
            if r.required {
                return Err(ContainerError::Unsupported {
                    format: FMT,
                    feature: format!(
                        "required region {} at offset {}",
                        guid_str(&r.guid),
                        r.offset
                    ),
                });
            }
            continue;
        };
        let end = r.offset.checked_add(r.length);
        if r.offset % MIB != 0 || r.offset < MIB || end.is_none_or(|e| e > file_len) {
            return Err(ContainerError::corrupt(
                FMT,
                "region table",
                REGION_OFFSETS[0],
                format!(
                    "region {} at offset {} with length {} is not 1 MiB aligned inside the file of {file_len} bytes",
                    guid_str(&r.guid),
                    r.offset,
                    r.length
                ),
            ));
        }
        *slot = Some(r.clone());
    }
    let missing = |what: &str| {
        ContainerError::corrupt(
            FMT,
            "region table",
            REGION_OFFSETS[0],
            format!("no {what} region"),
        )
    };
    let bat_region = bat_region.ok_or_else(|| missing("BAT"))?;
    let meta_region = meta_region.ok_or_else(|| missing("metadata"))?;
    let meta = parse_metadata(&*file, &meta_region)?;

    let mut facts = ImageFacts::new(Format::Vhdx, meta.virtual_size, orig_len);
    facts.version = Some(HEADER_VERSION.to_string());
    facts.cluster_size = Some(meta.block_size);
    facts.subformat = Some(
        if meta.has_parent {
            "differencing"
        } else if meta.leave_allocated {
            "fixed"
        } else {
            "dynamic"
        }
        .to_string(),
    );
    let d = &mut facts.details;
    d.insert("creator".into(), creator);
    d.insert(
        "logical_sector_size".into(),
        meta.logical_sector.to_string(),
    );
    d.insert(
        "physical_sector_size".into(),
        meta.physical_sector.to_string(),
    );
    d.insert("data_write_guid".into(), guid_str(&header.data_write));
    d.insert("file_write_guid".into(), guid_str(&header.file_write));
    d.insert("header_sequence".into(), header.seq.to_string());
    if let Some(p) = meta.page83 {
        d.insert("page83_disk_id".into(), guid_str(&p));
    }
    if meta.virtual_size.checked_rem(meta.logical_sector) != Some(0) {
        anomalies.push(Anomaly::new(
            FMT,
            "metadata item virtual disk size",
            Some(meta_region.offset),
            ErrorKind::Corrupt,
            format!(
                "virtual size {} is not a multiple of the logical sector size {}",
                meta.virtual_size, meta.logical_sector
            ),
        ));
    }

    facts.dirty = dirty;
    if dirty {
        facts
            .details
            .insert("log_guid".into(), guid_str(&header.log_guid));
    }

    // The BAT.
    let chunk_ratio = (SECTORS_PER_BITMAP_BLOCK.saturating_mul(meta.logical_sector))
        .checked_div(meta.block_size)
        .unwrap_or(1)
        .max(1);
    let data_blocks = meta.virtual_size.div_ceil(meta.block_size);
    let needed = if meta.has_parent {
        data_blocks
            .div_ceil(chunk_ratio)
            .saturating_mul(chunk_ratio.saturating_add(1))
    } else if data_blocks == 0 {
        0
    } else {
        data_blocks.saturating_add(
            (data_blocks.saturating_sub(1))
                .checked_div(chunk_ratio)
                .unwrap_or(0),
        )
    };
    let bat_bytes = needed.saturating_mul(8);
    let limit = ctx.limits().max_table_bytes;
    if bat_bytes > limit {
        return Err(ContainerError::Limit {
            format: FMT,
            structure: "BAT".into(),
            offset: bat_region.offset,
            what: "table size in bytes".into(),
            actual: bat_bytes,
            limit,
        });
    }
    if bat_bytes > bat_region.length {
        return Err(ContainerError::corrupt(
            FMT,
            "BAT",
            bat_region.offset,
            format!(
                "region of {} bytes is too small for the {needed} entries of a {}-byte disk with {}-byte blocks",
                bat_region.length, meta.virtual_size, meta.block_size
            ),
        ));
    }
    let raw = read_at(
        &*file,
        "BAT",
        bat_region.offset,
        usize::try_from(bat_bytes).unwrap_or(0),
    )?;
    let bat: Vec<u64> = raw
        .chunks_exact(8)
        .map(|c| u64_le(c, 0).unwrap_or(0))
        .collect();

    let mut allocated = 0u64;
    let mut problems: Vec<String> = Vec::new();
    let mut bad = 0u64;
    for (i, &e) in bat.iter().enumerate() {
        let i64_ = u64::try_from(i).unwrap_or(u64::MAX);
        let is_bitmap = i64_.checked_rem(chunk_ratio.saturating_add(1)) == Some(chunk_ratio);
        let state = e & BAT_STATE_MASK;
        let off = bat_file_offset(e);
        let (ok, size) = if is_bitmap {
            match state {
                PAYLOAD_NOT_PRESENT => (true, 0),
                BITMAP_PRESENT => (true, BITMAP_BLOCK_SIZE),
                _ => (false, 0),
            }
        } else {
            match state {
                PAYLOAD_NOT_PRESENT | PAYLOAD_UNDEFINED | PAYLOAD_ZERO | PAYLOAD_UNMAPPED => {
                    (true, 0)
                }
                PAYLOAD_FULLY_PRESENT => (true, meta.block_size),
                PAYLOAD_PARTIALLY_PRESENT => (meta.has_parent, meta.block_size),
                _ => (false, 0),
            }
        };
        let fits =
            size == 0 || (off >= MIB && off.checked_add(size).is_some_and(|end| end <= file_len));
        if !ok || !fits {
            bad = bad.saturating_add(1);
            if problems.is_empty() {
                let eoff = bat_region.offset.saturating_add(i64_.saturating_mul(8));
                problems.push(if ok {
                    format!("entry {i} at offset {eoff}: block at file offset {off} lies past the end of the file ({file_len} bytes)")
                } else {
                    format!("entry {i} at offset {eoff}: state {state} is not valid here")
                });
            }
        } else if !is_bitmap && size != 0 {
            let block =
                i64_.saturating_sub(i64_.checked_div(chunk_ratio.saturating_add(1)).unwrap_or(0));
            let start = block.saturating_mul(meta.block_size);
            allocated = allocated
                .saturating_add(meta.block_size.min(meta.virtual_size.saturating_sub(start)));
        }
    }
    if let Some(first) = problems.first() {
        anomalies.push(Anomaly::new(
            FMT,
            "BAT",
            Some(bat_region.offset),
            ErrorKind::Corrupt,
            format!("{bad} bad entries, the first: {first}; reading those blocks fails"),
        ));
    }
    facts.allocated_bytes = Some(allocated);

    let parent = if meta.has_parent {
        let (src, backing, mut more) = open_parent(
            meta.parent_locator.as_deref(),
            meta_region.offset,
            ctx,
            meta.virtual_size,
        )?;
        facts.backing = Some(backing);
        anomalies.append(&mut more);
        Some(src)
    } else {
        None
    };
    // A parent whose DataWriteGuid differs from the recorded linkage was modified after this
    // differencing disk was made.
    if let (Some(linkage), Some(b)) = (
        meta.parent_locator
            .as_deref()
            .and_then(|l| locator_value(l, "parent_linkage")),
        facts.backing.as_ref(),
    ) {
        facts
            .details
            .insert("parent_linkage".into(), linkage.clone());
        if let Some(pw) = b
            .parent
            .as_ref()
            .and_then(|p| p.details.get("data_write_guid"))
        {
            let norm = |s: &str| {
                s.trim_matches(|c| c == '{' || c == '}')
                    .to_ascii_uppercase()
            };
            if norm(pw) != norm(&linkage) {
                anomalies.push(Anomaly::new(
                    FMT,
                    "parent locator",
                    Some(meta_region.offset),
                    ErrorKind::Corrupt,
                    format!("parent_linkage is {linkage}, but the parent's data write GUID is {pw}: the parent changed after this disk was created"),
                ));
            }
        }
    }

    let src = VhdxSource {
        file,
        bat,
        bat_offset: bat_region.offset,
        block_size: meta.block_size,
        chunk_ratio,
        logical_sector: meta.logical_sector,
        virtual_size: meta.virtual_size,
        file_len,
        allocated,
        parent,
    };
    Ok(VirtualDisk::new(facts, anomalies, Arc::new(src)))
}

/// File offset of a BAT entry (FileOffsetMB in bits 20–63).
fn bat_file_offset(e: u64) -> u64 {
    (e >> 20).saturating_mul(MIB)
}

/// A non-zero LogGuid means the image was not closed cleanly: replay its log in memory (see
/// [`log`]) and read everything else through the result. Returns the source to read and
/// whether the image is dirty.
fn apply_log(
    file: Arc<dyn BlockSource>,
    header: &Header,
    ctx: &OpenContext,
    anomalies: &mut Vec<Anomaly>,
) -> Result<(Arc<dyn BlockSource>, bool), ContainerError> {
    if header.log_guid == [0u8; 16] {
        return Ok((file, false));
    }
    let len = u64::from(header.log_length);
    let off = header.log_offset;
    let limit = ctx.limits().max_table_bytes;
    if len > limit {
        return Err(ContainerError::Limit {
            format: FMT,
            structure: "log".into(),
            offset: off,
            what: "log length in bytes".into(),
            actual: len,
            limit,
        });
    }
    let file_len = file.len();
    if len.checked_rem(MIB) != Some(0)
        || off.checked_rem(MIB) != Some(0)
        || off.checked_add(len).is_none_or(|e| e > file_len)
    {
        return Err(ContainerError::corrupt(
            FMT,
            "log",
            off,
            format!(
                "log of {len} bytes at offset {off} is not 1 MiB aligned inside the file of {file_len} bytes"
            ),
        ));
    }
    let log_bytes = read_at(&*file, "log", off, usize::try_from(len).unwrap_or(0))?;
    match log::replay(file.clone(), &log_bytes, off, &header.log_guid)? {
        None => {
            anomalies.push(Anomaly::new(
                FMT,
                "log",
                Some(off),
                ErrorKind::Corrupt,
                format!(
                    "log GUID {} is set (the image was not closed cleanly) but the log holds no valid entry: nothing to replay",
                    guid_str(&header.log_guid)
                ),
            ));
            Ok((file, true))
        }
        Some(r) => {
            anomalies.push(Anomaly::new(
                FMT,
                "log",
                Some(off),
                ErrorKind::Corrupt,
                format!(
                    "the image was not closed cleanly: replayed its log in memory ({} entries, sequence numbers {} to {}, {} writes); the image file is unchanged",
                    r.entries, r.seq_range.0, r.seq_range.1, r.writes
                ),
            ));
            if let Some(flushed) = r.truncated_below {
                anomalies.push(Anomaly::new(
                    FMT,
                    "log",
                    Some(off),
                    ErrorKind::Corrupt,
                    format!(
                        "the file ({file_len} bytes) is shorter than the flushed file offset {flushed} recorded in the log: it was truncated"
                    ),
                ));
            }
            Ok((r.source, true))
        }
    }
}

/// The value of `key` in a parent locator item.
fn locator_value(loc: &[u8], key: &str) -> Option<String> {
    locator_pairs(loc)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn locator_pairs(loc: &[u8]) -> Vec<(String, String)> {
    let count = u16_le(loc, 18).unwrap_or(0);
    let text = |off: u32, len: u16| -> Option<String> {
        let b = slice(loc, usize::try_from(off).ok()?, usize::from(len))?;
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| {
                u16::from_le_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            })
            .collect();
        Some(String::from_utf16_lossy(&units))
    };
    let mut out = Vec::new();
    for i in 0..usize::from(count) {
        let base = i.saturating_mul(12).saturating_add(20);
        let (Some(ko), Some(vo), Some(kl), Some(vl)) = (
            u32_le(loc, base),
            u32_le(loc, base.saturating_add(4)),
            u16_le(loc, base.saturating_add(8)),
            u16_le(loc, base.saturating_add(10)),
        ) else {
            break;
        };
        if let (Some(k), Some(v)) = (text(ko, kl), text(vo, vl)) {
            out.push((k, v));
        }
    }
    out
}

type ParentParts = (Arc<dyn BlockSource>, BackingRef, Vec<Anomaly>);

fn open_parent(
    loc: Option<&[u8]>,
    meta_off: u64,
    ctx: &OpenContext,
    virtual_size: u64,
) -> Result<ParentParts, ContainerError> {
    let bad = |p: &str| ContainerError::corrupt(FMT, "parent locator", meta_off, p.to_string());
    let loc =
        loc.ok_or_else(|| bad("differencing disk (HasParent) without a parent locator item"))?;
    let kind: [u8; 16] = guid_at(loc, 0);
    if kind != LOCATOR_TYPE_VHDX {
        return Err(ContainerError::Unsupported {
            format: FMT,
            feature: format!("parent locator type {}", guid_str(&kind)),
        });
    }
    let pairs = locator_pairs(loc);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| host_path(v))
    };
    let mut candidates: Vec<String> = Vec::new();
    let rel = get("relative_path");
    let abs = get("absolute_win32_path");
    for c in [rel.clone(), abs.clone()].into_iter().flatten() {
        candidates.push(c);
    }
    for c in [rel, abs].into_iter().flatten() {
        if let Some(name) = c.rsplit('/').next() {
            candidates.push(name.to_string());
        }
    }
    candidates.retain(|c| !c.is_empty());
    candidates.dedup();
    let Some(first) = candidates.first().cloned() else {
        return Err(bad("no relative_path or absolute_win32_path entry"));
    };
    let mut first_err = None;
    for c in &candidates {
        match ctx.backing_source(FMT, c, Some("vhdx"), virtual_size) {
            Ok(parts) => return Ok(parts),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| bad(&format!("cannot resolve {first:?}"))))
}

/// `.\dir\parent.vhdx` → `dir/parent.vhdx`; `C:\x\p.vhdx` → `C:/x/p.vhdx` (the base name
/// fallback then applies on Unix hosts).
fn host_path(s: &str) -> String {
    let p = s.trim_end_matches('\0').replace('\\', "/");
    let mut p = p.as_str();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_string()
}

/// A VHDX presented as its virtual disk.
struct VhdxSource {
    file: Arc<dyn BlockSource>,
    bat: Vec<u64>,
    bat_offset: u64,
    block_size: u64,
    chunk_ratio: u64,
    logical_sector: u64,
    virtual_size: u64,
    file_len: u64,
    allocated: u64,
    parent: Option<Arc<dyn BlockSource>>,
}

impl VhdxSource {
    fn entry(&self, idx: u64) -> (u64, u64) {
        let e = usize::try_from(idx)
            .ok()
            .and_then(|i| self.bat.get(i).copied())
            .unwrap_or(PAYLOAD_NOT_PRESENT);
        (e, self.bat_offset.saturating_add(idx.saturating_mul(8)))
    }

    fn corrupt(&self, idx: u64, eoff: u64, voff: u64, problem: String) -> ReadError {
        ContainerError::corrupt(FMT, format!("BAT entry {idx}"), eoff, problem)
            .into_read_error(FMT, voff)
    }

    fn read_file(
        &self,
        buf: &mut [u8],
        off: u64,
        idx: u64,
        eoff: u64,
        voff: u64,
    ) -> Result<(), ReadError> {
        let n = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if off.checked_add(n).is_none_or(|e| e > self.file_len) {
            return Err(self.corrupt(
                idx,
                eoff,
                voff,
                format!(
                    "block data at file offset {off} lies past the end of the file ({} bytes)",
                    self.file_len
                ),
            ));
        }
        self.file.read_exact_at(buf, off).map_err(|e| {
            ContainerError::read(
                FMT,
                format!("payload block of BAT entry {idx} (at offset {eoff})"),
                off,
                e,
            )
            .into_read_error(FMT, voff)
        })
    }

    fn read_block(
        &self,
        block: u64,
        within: u64,
        buf: &mut [u8],
        voff: u64,
    ) -> Result<(), ReadError> {
        let cr = self.chunk_ratio;
        let idx = block.saturating_add(block.checked_div(cr).unwrap_or(0));
        let (e, eoff) = self.entry(idx);
        let state = e & BAT_STATE_MASK;
        let off = bat_file_offset(e);
        match state {
            PAYLOAD_NOT_PRESENT => match &self.parent {
                Some(p) => p.read_exact_at(buf, voff),
                None => {
                    buf.fill(0);
                    Ok(())
                }
            },
            PAYLOAD_UNDEFINED | PAYLOAD_ZERO | PAYLOAD_UNMAPPED => {
                buf.fill(0);
                Ok(())
            }
            PAYLOAD_FULLY_PRESENT => {
                self.read_file(buf, off.saturating_add(within), idx, eoff, voff)
            }
            PAYLOAD_PARTIALLY_PRESENT => {
                let Some(parent) = &self.parent else {
                    return Err(self.corrupt(
                        idx,
                        eoff,
                        voff,
                        "partially present block in a disk without a parent".into(),
                    ));
                };
                let chunk = block.checked_div(cr).unwrap_or(0);
                let bidx = chunk
                    .saturating_mul(cr.saturating_add(1))
                    .saturating_add(cr);
                let (be, beoff) = self.entry(bidx);
                if be & BAT_STATE_MASK != BITMAP_PRESENT {
                    return Err(self.corrupt(
                        bidx,
                        beoff,
                        voff,
                        format!("sector bitmap block is in state {}, but payload BAT entry {idx} is partially present", be & BAT_STATE_MASK),
                    ));
                }
                let boff = bat_file_offset(be);
                let lss = self.logical_sector;
                // Sector of the chunk where this piece starts, and the bitmap bytes it needs.
                let base_sector = block
                    .checked_rem(cr)
                    .unwrap_or(0)
                    .saturating_mul(self.block_size.checked_div(lss).unwrap_or(0));
                let first = base_sector.saturating_add(within.checked_div(lss).unwrap_or(0));
                let nsect = (within
                    .saturating_add(u64::try_from(buf.len()).unwrap_or(0))
                    .div_ceil(lss))
                .saturating_sub(within.checked_div(lss).unwrap_or(0));
                let byte0 = first / 8;
                let byte_end = first.saturating_add(nsect).div_ceil(8);
                let mut bits =
                    vec![0u8; usize::try_from(byte_end.saturating_sub(byte0)).unwrap_or(0)];
                self.read_file(&mut bits, boff.saturating_add(byte0), bidx, beoff, voff)?;
                let present = |s: u64| -> bool {
                    // s is a sector of the block; bit 0 of byte 0 is the chunk's first sector.
                    let cs = base_sector
                        .saturating_add(s)
                        .saturating_sub(byte0.saturating_mul(8));
                    let byte = usize::try_from(cs / 8)
                        .ok()
                        .and_then(|i| bits.get(i).copied())
                        .unwrap_or(0);
                    (byte >> (cs % 8)) & 1 == 1
                };
                read_runs(buf, within, lss, present, |piece, off_in_block, here| {
                    let v = voff.saturating_add(off_in_block.saturating_sub(within));
                    if here {
                        self.read_file(piece, off.saturating_add(off_in_block), idx, eoff, voff)
                    } else {
                        parent.read_exact_at(piece, v)
                    }
                })
            }
            other => Err(self.corrupt(
                idx,
                eoff,
                voff,
                format!("unknown payload block state {other}"),
            )),
        }
    }
}

impl BlockSource for VhdxSource {
    fn len(&self) -> u64 {
        self.virtual_size
    }

    fn allocated_bytes(&self) -> Option<u64> {
        Some(self.allocated)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        imgcheck_core::check_range(offset, buf.len(), self.virtual_size)?;
        let bs = self.block_size;
        for_each_unit(buf, offset, bs, |block, within, piece| {
            let voff = block.saturating_mul(bs).saturating_add(within);
            self.read_block(block, within, piece, voff)
        })
    }

    /// Runs of payload blocks from the BAT: blocks in the zero, unmapped or undefined states
    /// (and not-present blocks of a disk without a parent) are [`Extent::Zero`]; fully present
    /// blocks are [`Extent::Data`]; anything that involves the parent ends the run.
    fn extent(&self, offset: u64, max: u64) -> Option<imgcheck_core::Extent> {
        use imgcheck_core::Extent;
        let room = imgcheck_core::extent_room(offset, max, self.virtual_size)?;
        let bs = self.block_size;
        let cr = self.chunk_ratio;
        let end = offset.saturating_add(room);
        let mut pos = offset;
        let mut kind: Option<bool> = None;
        while pos < end {
            let block = pos.checked_div(bs)?;
            let idx = block.saturating_add(block.checked_div(cr).unwrap_or(0));
            let (e, _) = self.entry(idx);
            let zero = match e & BAT_STATE_MASK {
                PAYLOAD_NOT_PRESENT if self.parent.is_none() => true,
                PAYLOAD_UNDEFINED | PAYLOAD_ZERO | PAYLOAD_UNMAPPED => true,
                PAYLOAD_FULLY_PRESENT => false,
                _ => break,
            };
            match kind {
                None => kind = Some(zero),
                Some(k) if k != zero => break,
                _ => {}
            }
            pos = block.saturating_add(1).saturating_mul(bs).min(end);
        }
        let n = pos.saturating_sub(offset);
        Extent::of_run(kind, n)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::as_conversions,
    clippy::arithmetic_side_effects,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::{open_source, OpenOptions};
    use imgcheck_core::MemSource;

    const M: usize = 1 << 20;

    fn pattern(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect()
    }

    fn put(img: &mut [u8], off: usize, b: &[u8]) {
        img[off..off + b.len()].copy_from_slice(b);
    }

    fn seal(img: &mut [u8], off: usize, len: usize) {
        img[off + 4..off + 8].fill(0);
        let c = crc32c::crc32c(&img[off..off + len]);
        put(img, off + 4, &c.to_le_bytes());
    }

    fn header(img: &mut [u8], off: usize, seq: u64, log_guid: [u8; 16]) {
        put(img, off, HEADER_SIG);
        put(img, off + 8, &seq.to_le_bytes());
        put(img, off + 16, &[0x22; 16]);
        put(img, off + 32, &[0x33; 16]);
        put(img, off + 48, &log_guid);
        put(img, off + 66, &1u16.to_le_bytes());
        put(img, off + 68, &(M as u32).to_le_bytes());
        put(img, off + 72, &(M as u64).to_le_bytes());
        seal(img, off, HEADER_SIZE);
    }

    struct Item {
        id: [u8; 16],
        data: Vec<u8>,
        flags: u32,
    }

    /// Layout: log at 1 MiB, metadata at 2 MiB, BAT at 3 MiB, payload from 4 MiB; 1 MiB blocks;
    /// virtual size 4 MiB. `bat` entries are written as given.
    fn build(flags: u32, bat: &[u64], extra_items: Vec<Item>, file_len: usize) -> Vec<u8> {
        let mut img = vec![0u8; file_len];
        put(&mut img, 0, FILE_SIG);
        let creator: Vec<u8> = "imgcheck test"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        put(&mut img, 8, &creator);
        header(&mut img, 64 << 10, 1, [0; 16]);
        header(&mut img, 128 << 10, 2, [0; 16]);
        for rt in REGION_OFFSETS {
            let rt = rt as usize;
            put(&mut img, rt, REGION_SIG);
            put(&mut img, rt + 8, &2u32.to_le_bytes());
            for (i, (g, off)) in [(REGION_BAT, 3 * M), (REGION_METADATA, 2 * M)]
                .iter()
                .enumerate()
            {
                let e = rt + 16 + i * 32;
                put(&mut img, e, g);
                put(&mut img, e + 16, &(*off as u64).to_le_bytes());
                put(&mut img, e + 24, &(M as u32).to_le_bytes());
                put(&mut img, e + 28, &1u32.to_le_bytes());
            }
            seal(&mut img, rt, REGION_TABLE_SIZE);
        }
        let mut items = vec![
            Item {
                id: ITEM_FILE_PARAMETERS,
                data: [(M as u32).to_le_bytes(), flags.to_le_bytes()].concat(),
                flags: 4,
            },
            Item {
                id: ITEM_VIRTUAL_DISK_SIZE,
                data: (4 * M as u64).to_le_bytes().to_vec(),
                flags: 6,
            },
            Item {
                id: ITEM_LOGICAL_SECTOR,
                data: 512u32.to_le_bytes().to_vec(),
                flags: 6,
            },
            Item {
                id: ITEM_PHYSICAL_SECTOR,
                data: 4096u32.to_le_bytes().to_vec(),
                flags: 6,
            },
            Item {
                id: ITEM_PAGE83,
                data: vec![0x44; 16],
                flags: 6,
            },
        ];
        items.extend(extra_items);
        let md = 2 * M;
        put(&mut img, md, METADATA_SIG);
        put(&mut img, md + 10, &(items.len() as u16).to_le_bytes());
        let mut data_off = 64 << 10;
        for (i, it) in items.iter().enumerate() {
            let e = md + 32 + i * 32;
            put(&mut img, e, &it.id);
            put(&mut img, e + 16, &(data_off as u32).to_le_bytes());
            put(&mut img, e + 20, &(it.data.len() as u32).to_le_bytes());
            put(&mut img, e + 24, &it.flags.to_le_bytes());
            put(&mut img, md + data_off, &it.data);
            data_off += it.data.len().next_multiple_of(8);
        }
        for (i, e) in bat.iter().enumerate() {
            put(&mut img, 3 * M + i * 8, &e.to_le_bytes());
        }
        img
    }

    fn present(mb: u64) -> u64 {
        (mb << 20) | PAYLOAD_FULLY_PRESENT
    }

    /// Dynamic: block 0 at 4 MiB, block 1 absent, block 2 zero, block 3 at 5 MiB.
    fn dynamic() -> (Vec<u8>, Vec<u8>) {
        let mut img = build(
            0,
            &[present(4), PAYLOAD_NOT_PRESENT, PAYLOAD_ZERO, present(5)],
            vec![],
            6 * M,
        );
        let b0 = pattern(M, 1);
        let b3 = pattern(M, 3);
        put(&mut img, 4 * M, &b0);
        put(&mut img, 5 * M, &b3);
        let mut expect = vec![0u8; 4 * M];
        put(&mut expect, 0, &b0);
        put(&mut expect, 3 * M, &b3);
        (img, expect)
    }

    fn open_bytes(b: Vec<u8>) -> Result<VirtualDisk, ContainerError> {
        open_source(
            Arc::new(MemSource::new(b)),
            &OpenContext::detached(&OpenOptions::default()),
        )
    }

    fn read_all(d: &VirtualDisk) -> Vec<u8> {
        let s = d.source();
        let mut v = vec![0u8; s.len() as usize];
        s.read_exact_at(&mut v, 0).unwrap();
        v
    }

    #[test]
    fn dynamic_disk() {
        let (img, expect) = dynamic();
        let d = open_bytes(img).unwrap();
        assert_eq!(d.facts.format, Format::Vhdx);
        assert_eq!(d.facts.subformat.as_deref(), Some("dynamic"));
        assert_eq!(d.facts.virtual_size, 4 * M as u64);
        assert_eq!(d.facts.cluster_size, Some(M as u64));
        assert_eq!(d.facts.allocated_bytes, Some(2 * M as u64));
        assert_eq!(d.facts.details["logical_sector_size"], "512");
        assert_eq!(d.facts.details["physical_sector_size"], "4096");
        assert_eq!(d.facts.details["creator"], "imgcheck test");
        assert!(!d.facts.dirty);
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        assert_eq!(read_all(&d), expect);
        let mut b = vec![0u8; 3 * M];
        d.source().read_exact_at(&mut b, M as u64 - 100).unwrap();
        assert_eq!(b, expect[M - 100..4 * M - 100]);
    }

    #[test]
    fn fixed_flag() {
        let (mut img, expect) = dynamic();
        let fixed = build(
            PARAM_LEAVE_ALLOCATED,
            &[present(4), PAYLOAD_NOT_PRESENT, PAYLOAD_ZERO, present(5)],
            vec![],
            6 * M,
        );
        img[2 * M..3 * M].copy_from_slice(&fixed[2 * M..3 * M]);
        let d = open_bytes(img).unwrap();
        assert_eq!(d.facts.subformat.as_deref(), Some("fixed"));
        assert_eq!(read_all(&d), expect);
    }

    fn locator(pairs: &[(&str, &str)]) -> Vec<u8> {
        let enc = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
        let mut head = LOCATOR_TYPE_VHDX.to_vec();
        head.extend(0u16.to_le_bytes());
        head.extend((pairs.len() as u16).to_le_bytes());
        let mut strings: Vec<u8> = Vec::new();
        let base = 20 + pairs.len() * 12;
        for (k, v) in pairs {
            let (k, v) = (enc(k), enc(v));
            let ko = base + strings.len();
            strings.extend(&k);
            let vo = base + strings.len();
            strings.extend(&v);
            head.extend((ko as u32).to_le_bytes());
            head.extend((vo as u32).to_le_bytes());
            head.extend((k.len() as u16).to_le_bytes());
            head.extend((v.len() as u16).to_le_bytes());
        }
        head.extend(strings);
        head
    }

    #[test]
    fn differencing_partial_block() {
        // Chunk ratio 4096: 4097 BAT entries; block 0 partial, its bitmap at 6 MiB.
        let mut bat = vec![PAYLOAD_NOT_PRESENT; 4097];
        bat[0] = (4 << 20) | PAYLOAD_PARTIALLY_PRESENT;
        bat[4096] = (6 << 20) | BITMAP_PRESENT;
        let loc = locator(&[
            ("parent_linkage", "{33333333-3333-3333-3333-333333333333}"),
            ("relative_path", ".\\base.vhdx"),
            ("absolute_win32_path", "C:\\vms\\base.vhdx"),
        ]);
        let item = Item {
            id: ITEM_PARENT_LOCATOR,
            data: loc,
            flags: 6,
        };
        let mut img = build(PARAM_HAS_PARENT, &bat, vec![item], 7 * M);
        let b0 = pattern(M, 5);
        put(&mut img, 4 * M, &b0);
        // Sectors 0 and 9 present: bit 0 of byte 0, bit 1 of byte 1.
        img[6 * M] = 0b0000_0001;
        img[6 * M + 1] = 0b0000_0010;
        let mut expect = vec![0u8; 4 * M];
        expect[..512].copy_from_slice(&b0[..512]);
        expect[9 * 512..10 * 512].copy_from_slice(&b0[9 * 512..10 * 512]);
        let d = open_bytes(img).unwrap();
        assert_eq!(d.facts.subformat.as_deref(), Some("differencing"));
        let b = d.facts.backing.as_ref().unwrap();
        assert_eq!(b.reference, "base.vhdx");
        assert!(!b.followed);
        assert_eq!(read_all(&d), expect);
        assert_eq!(
            locator_value(&locator(&[("a", "b")]), "a").as_deref(),
            Some("b")
        );
    }

    #[test]
    fn one_bad_header_is_an_anomaly() {
        let (mut img, expect) = dynamic();
        img[(128 << 10) + 100] ^= 1;
        let d = open_bytes(img).unwrap();
        assert_eq!(read_all(&d), expect);
        let a = &d.anomalies[0];
        assert_eq!(
            (a.layer.as_str(), a.structure.as_str(), a.offset),
            ("vhdx", "header 2", Some(131_072))
        );
        assert!(a.message.starts_with("crc-32c mismatch"), "{a}");
        assert_eq!(d.facts.details["header_sequence"], "1");
    }

    #[test]
    fn both_headers_bad() {
        let (mut img, _) = dynamic();
        img[64 << 10] = b'x';
        img[(128 << 10) + 100] ^= 1;
        let e = open_bytes(img).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        let s = e.to_string();
        assert!(
            s.starts_with(
                "vhdx: headers at offset 65536: no valid header (header 1 at offset 65536: \
                 signature is \"xead\", expected \"head\"; header 2 at offset 131072: \
                 crc-32c mismatch: stored 0x"
            ),
            "{s}"
        );
    }

    #[test]
    fn region_table_crc_bad() {
        let (mut img, expect) = dynamic();
        img[(192 << 10) + 5000] ^= 1;
        let d = open_bytes(img.clone()).unwrap();
        assert_eq!(read_all(&d), expect);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.structure == "region table copy 1"
                && a.offset == Some(196_608)
                && a.message.contains("crc-32c mismatch")));
        img[(256 << 10) + 5000] ^= 1;
        let e = open_bytes(img).unwrap_err();
        assert!(e.to_string().starts_with("vhdx: region table at offset 196608: no valid copy (copy 1 at offset 196608: crc-32c mismatch"), "{e}");
    }

    #[test]
    fn unknown_required_metadata_item() {
        let item = Item {
            id: [0x99; 16],
            data: vec![1, 2, 3, 4],
            flags: META_IS_REQUIRED,
        };
        let img = build(0, &[PAYLOAD_NOT_PRESENT; 4], vec![item], 4 * M);
        let e = open_bytes(img).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            e.to_string(),
            "vhdx: required metadata item 99999999-9999-9999-9999-999999999999 (table entry 5 at offset 2097344) is not supported"
        );
        // Not required: ignored.
        let item = Item {
            id: [0x99; 16],
            data: vec![1, 2, 3, 4],
            flags: 0,
        };
        assert!(open_bytes(build(0, &[PAYLOAD_NOT_PRESENT; 4], vec![item], 4 * M)).is_ok());
    }

    #[test]
    fn unknown_required_region() {
        let (mut img, _) = dynamic();
        for rt in REGION_OFFSETS {
            let rt = rt as usize;
            put(&mut img, rt + 8, &3u32.to_le_bytes());
            put(&mut img, rt + 16 + 64, &[0x77; 16]);
            put(&mut img, rt + 16 + 64 + 16, &(M as u64).to_le_bytes());
            put(&mut img, rt + 16 + 64 + 28, &1u32.to_le_bytes());
            seal(&mut img, rt, REGION_TABLE_SIZE);
        }
        let e = open_bytes(img).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(
            e.to_string()
                .contains("required region 77777777-7777-7777-7777-777777777777 at offset 1048576"),
            "{e}"
        );
    }

    const LOG_GUID: [u8; 16] = [0x55; 16];

    /// A log entry at the start of the log (1 MiB): one data descriptor rewriting the first BAT
    /// page (block 1 → 5 MiB) and one zero descriptor clearing the page at 5 MiB.
    fn log_entry(seq: u64, desc_seq: u64, tail: u32) -> Vec<u8> {
        let mut e = vec![0u8; 8192];
        put(&mut e, 0, b"loge");
        put(&mut e, 8, &8192u32.to_le_bytes());
        put(&mut e, 12, &tail.to_le_bytes());
        put(&mut e, 16, &seq.to_le_bytes());
        put(&mut e, 24, &2u32.to_le_bytes());
        put(&mut e, 32, &LOG_GUID);
        put(&mut e, 56, &(6 * M as u64).to_le_bytes());
        let mut page = vec![0u8; 4096];
        for (i, v) in [present(4), present(5), PAYLOAD_ZERO, present(5)]
            .iter()
            .enumerate()
        {
            put(&mut page, i * 8, &v.to_le_bytes());
        }
        // Data descriptor: trailing 4 bytes, leading 8 bytes, file offset, sequence number.
        put(&mut e, 64, b"desc");
        put(&mut e, 68, &page[4092..]);
        put(&mut e, 72, &page[..8]);
        put(&mut e, 80, &(3 * M as u64).to_le_bytes());
        put(&mut e, 88, &desc_seq.to_le_bytes());
        // Zero descriptor.
        put(&mut e, 96, b"zero");
        put(&mut e, 104, &4096u64.to_le_bytes());
        put(&mut e, 112, &(5 * M as u64).to_le_bytes());
        put(&mut e, 120, &seq.to_le_bytes());
        // Data sector.
        put(&mut e, 4096, b"data");
        put(&mut e, 4100, &((seq >> 32) as u32).to_le_bytes());
        put(&mut e, 4104, &page[8..4092]);
        put(&mut e, 8188, &(seq as u32).to_le_bytes());
        seal(&mut e, 0, 8192);
        e
    }

    fn with_log(entry: Option<Vec<u8>>) -> Vec<u8> {
        let (mut img, _) = dynamic();
        header(&mut img, 64 << 10, 1, LOG_GUID);
        header(&mut img, 128 << 10, 2, LOG_GUID);
        if let Some(e) = entry {
            put(&mut img, M, &e);
        }
        img
    }

    #[test]
    fn log_is_replayed_in_memory() {
        let img = with_log(Some(log_entry(7, 7, 0)));
        let (_, before) = dynamic();
        let d = open_bytes(img.clone()).unwrap();
        assert!(d.facts.dirty);
        assert_eq!(d.facts.allocated_bytes, Some(3 * M as u64));
        let a = d.anomalies.iter().find(|a| a.structure == "log").unwrap();
        assert!(
            a.message.contains(
                "replayed its log in memory (1 entries, sequence numbers 7 to 7, 2 writes)"
            ),
            "{a}"
        );
        let mut expect = before.clone();
        expect[M..2 * M].copy_from_slice(&before[3 * M..4 * M]);
        expect[M..M + 4096].fill(0);
        expect[3 * M..3 * M + 4096].fill(0);
        assert_eq!(read_all(&d), expect);
        // The image bytes themselves were not touched.
        assert_eq!(&img[3 * M + 8..3 * M + 16], &[0u8; 8]);
    }

    #[test]
    fn bad_log_descriptor_is_refused() {
        let e = open_bytes(with_log(Some(log_entry(7, 6, 0)))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert_eq!(
            e.to_string(),
            "vhdx: log entry 7 at offset 1048576: descriptor 0 has sequence number 6, expected 7"
        );
        // A tail that leads nowhere: valid entry, no replayable sequence.
        let e = open_bytes(with_log(Some(log_entry(7, 7, 4096)))).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "vhdx: log at offset 1048576: 1 valid entries, but none whose tail leads"
            ),
            "{e}"
        );
    }

    #[test]
    fn log_guid_without_entries_is_dirty() {
        let d = open_bytes(with_log(None)).unwrap();
        assert!(d.facts.dirty);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.structure == "log" && a.message.contains("not closed cleanly")));
    }

    #[test]
    fn bat_offset_past_eof() {
        let (mut img, _) = dynamic();
        put(&mut img, 3 * M + 8, &present(100).to_le_bytes());
        let d = open_bytes(img).unwrap();
        let a = d.anomalies.iter().find(|a| a.structure == "BAT").unwrap();
        assert!(a.message.contains("entry 1 at offset 3145736: block at file offset 104857600 lies past the end of the file (6291456 bytes)"), "{a}");
        let mut b = [0u8; 8];
        let e = d.source().read_exact_at(&mut b, M as u64 + 16).unwrap_err();
        let s = crate::vhd::tests::chain(&e);
        assert!(s.contains("vhdx: cannot serve read at virtual offset 1048592: vhdx: BAT entry 1 at offset 3145736: block data at file offset 104857616 lies past the end"), "{s}");
        d.source().read_exact_at(&mut b, 0).unwrap();
    }

    #[test]
    fn absurd_block_size() {
        let (mut img, _) = dynamic();
        // File parameters are the first item, at metadata offset 64 KiB.
        put(&mut img, 2 * M + (64 << 10), &(3u32 << 30).to_le_bytes());
        let e = open_bytes(img).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "vhdx: metadata item file parameters at offset 2162688: block size is 3221225472"
            ),
            "{e}"
        );
    }

    #[test]
    fn corrupt_log_never_panics() {
        let img = with_log(Some(log_entry(7, 7, 0)));
        for i in (0..8192).step_by(61) {
            let mut m = img.clone();
            m[M + i] ^= 0x5A;
            // Re-seal so the corruption reaches the descriptors.
            seal(&mut m, M, 8192);
            if let Ok(d) = open_bytes(m) {
                let s = d.source();
                let mut b = vec![0u8; s.len().min(M as u64) as usize];
                let _ = s.read_exact_at(&mut b, 0);
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let (img, _) = dynamic();
        let hot: Vec<usize> = (0..60)
            .map(|i| i * 7)
            .chain((64 << 10..(64 << 10) + 128).step_by(3))
            .chain((192 << 10..(192 << 10) + 128).step_by(3))
            .chain((2 * M..2 * M + 300).step_by(5))
            .chain((2 * M + (64 << 10)..2 * M + (64 << 10) + 64).step_by(1))
            .chain((3 * M..3 * M + 40).step_by(1))
            .collect();
        for &i in &hot {
            let mut m = img.clone();
            m[i] ^= 0xA5;
            // Re-seal so corruption reaches past the checksums.
            for off in HEADER_OFFSETS {
                seal(&mut m, off as usize, HEADER_SIZE);
            }
            for off in REGION_OFFSETS {
                seal(&mut m, off as usize, REGION_TABLE_SIZE);
            }
            if let Ok(d) = open_bytes(m) {
                let s = d.source();
                let mut b = vec![0u8; s.len().min(M as u64) as usize];
                let _ = s.read_exact_at(&mut b, 0);
            }
        }
        for n in [0usize, 8, 4096, 70_000, 200_000, 300_000, 2 * M + 10] {
            let _ = open_bytes(img[..n].to_vec());
        }
    }
}
