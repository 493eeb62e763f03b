//! VHD (Microsoft Virtual Hard Disk, qemu's `vpc`): fixed, dynamic and differencing disks.
//!
//! Specification: Microsoft, "Virtual Hard Disk Image Format Specification" v1.0 (2006):
//! a 512-byte big-endian *footer* ("conectix") at the end of the file (copied at offset 0 in
//! dynamic and differencing disks), a *dynamic disk header* ("cxsparse") at the footer's data
//! offset, a *block allocation table* (BAT) of big-endian sector numbers, and per allocated
//! block a sector bitmap followed by the block's data. Differencing disks name their parent in
//! the header (UTF-16BE) and in parent locators (W2ru/W2ku UTF-16LE paths, MacX file URLs).
//!
//! The virtual size follows qemu's documented rule (block/vpc.c, "Microsoft Virtual PC and
//! Microsoft Hyper-V produce and read VHD image sizes differently"): images whose creator is
//! `win `, `qem2`, `d2v `, `CTXS` or `tap\0`, or whose CHS geometry is the maximum, use the
//! footer's current size; all others (Virtual PC, older qemu) use cylinders × heads × sectors.
//! That keeps our size equal to `qemu-img info` for the images qemu makes.
//!
//! In a *dynamic* disk the sector bitmap is not consulted: allocated blocks are read whole, as
//! qemu and Hyper-V do (writers zero-fill new blocks). In a *differencing* disk a bitmap bit set
//! means the sector is stored in this file, clear means it comes from the parent.
//!
//! Our own code: `vhd-core` rejects differencing disks and is young (shared/dependencies.md);
//! this reader applies our limits, backing-file policy and error conventions.

use crate::util::for_each_unit;
use crate::{
    BackingRef, ContainerError, Format, FormatReader, ImageFacts, OpenContext, Probe, VirtualDisk,
};
use imgcheck_core::bytes::{array, slice, u16_be, u32_be, u64_be, u8_at, uuid_be};
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, ReadError, SliceSource};
use std::sync::Arc;

/// Format name used in errors and anomalies.
const FMT: &str = "vhd";
/// Size of the footer (and of its copy at offset 0).
const FOOTER_SIZE: u64 = 512;
/// Footer size written by some very old tools (the last reserved byte missing).
const OLD_FOOTER_SIZE: u64 = 511;
/// Footer cookie.
const FOOTER_COOKIE: &[u8; 8] = b"conectix";
/// Dynamic disk header cookie.
const DYN_COOKIE: &[u8; 8] = b"cxsparse";
/// Size of the dynamic disk header.
const DYN_HEADER_SIZE: usize = 1024;
/// VHD sectors are always 512 bytes.
const SECTOR: u64 = 512;
/// BAT entry of a block not allocated in this file.
const BAT_UNUSED: u32 = 0xFFFF_FFFF;
/// Disk types (footer offset 60).
const DISK_FIXED: u32 = 2;
/// Dynamic (sparse) disk.
const DISK_DYNAMIC: u32 = 3;
/// Differencing disk (sparse, with a parent).
const DISK_DIFFERENCING: u32 = 4;
/// Smallest block size accepted: one sector.
const MIN_BLOCK_SIZE: u64 = SECTOR;
/// Largest block size accepted. The spec's default is 2 MiB and no tool writes more than a few
/// MiB; 256 MiB keeps a block's sector bitmap at 64 KiB.
const MAX_BLOCK_SIZE: u64 = 256 << 20;
/// Largest CHS geometry (65535 cylinders, 16 heads, 255 sectors): qemu then trusts the
/// footer's current size.
const MAX_CHS_SECTORS: u64 = 65_535 * 16 * 255;
/// Creator applications whose images are sized by the footer's current size (qemu's table).
const CURRENT_SIZE_CREATORS: [&[u8; 4]; 5] = [b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\0"];
/// Seconds between the Unix epoch and the VHD epoch (2000-01-01 00:00:00 UTC).
const VHD_EPOCH_UNIX: u64 = 946_684_800;
/// Parent locator platform codes (dynamic header, big-endian u32).
const PLAT_W2RU: u32 = u32::from_be_bytes(*b"W2ru");
/// Absolute Windows path, UTF-16LE.
const PLAT_W2KU: u32 = u32::from_be_bytes(*b"W2ku");
/// Mac OS alias blob (not resolvable here).
const PLAT_MAC: u32 = u32::from_be_bytes(*b"Mac ");
/// Mac OS X file URL, UTF-8.
const PLAT_MACX: u32 = u32::from_be_bytes(*b"MacX");
/// Parent locator entries in the dynamic header.
const PARENT_LOCATORS: usize = 8;
/// Largest parent locator data read (a path; Windows' longest path is 32 Ki UTF-16 units).
const MAX_LOCATOR_BYTES: u32 = 64 * 1024;

/// The VHD format (qemu: `vpc`).
pub(crate) struct VhdFormat;

impl FormatReader for VhdFormat {
    fn name(&self) -> &'static str {
        FMT
    }

    fn probe(&self, probe: &Probe<'_>) -> bool {
        let tail_footer = tail_footer_len(probe).is_some();
        tail_footer || probe.head.starts_with(FOOTER_COOKIE)
    }

    fn open(
        &self,
        file: Arc<dyn BlockSource>,
        probe: &Probe<'_>,
        ctx: &OpenContext,
    ) -> Result<VirtualDisk, ContainerError> {
        open_vhd(file, probe, ctx)
    }
}

/// Length of the footer at the end of the file (512, or 511 for old images), if there is one.
fn tail_footer_len(probe: &Probe<'_>) -> Option<u64> {
    let t = probe.tail;
    let n = t.len();
    if n >= 512 && t.get(n.saturating_sub(512)..)?.starts_with(FOOTER_COOKIE) {
        return Some(FOOTER_SIZE);
    }
    if n >= 511 && t.get(n.saturating_sub(511)..)?.starts_with(FOOTER_COOKIE) {
        return Some(OLD_FOOTER_SIZE);
    }
    None
}

/// One's-complement of the byte sum, skipping the 4-byte checksum field at `skip`.
fn vhd_checksum(b: &[u8], skip: usize) -> u32 {
    let mut sum = 0u32;
    for (i, &c) in b.iter().enumerate() {
        if i < skip || i >= skip.saturating_add(4) {
            sum = sum.wrapping_add(u32::from(c));
        }
    }
    !sum
}

/// The fields of a footer we use.
#[derive(Debug, Clone)]
struct Footer {
    raw: [u8; 512],
    data_offset: u64,
    timestamp: u32,
    creator_app: [u8; 4],
    creator_version: u32,
    creator_os: [u8; 4],
    current_size: u64,
    cylinders: u16,
    heads: u8,
    sectors: u8,
    disk_type: u32,
    checksum_ok: bool,
    stored_checksum: u32,
    computed_checksum: u32,
    uuid: [u8; 16],
    saved_state: u8,
}

/// Parse a footer. `Err` describes why it is not a footer at all (cookie, type, truncated).
fn parse_footer(b: &[u8], offset: u64) -> Result<Footer, ContainerError> {
    let bad = |p: String| ContainerError::corrupt(FMT, "footer", offset, p);
    let mut raw = [0u8; 512];
    let n = b.len().min(512);
    if let (Some(dst), Some(src)) = (raw.get_mut(..n), b.get(..n)) {
        dst.copy_from_slice(src);
    }
    if !raw.starts_with(FOOTER_COOKIE) {
        return Err(bad(format!(
            "cookie is {:?}, expected \"conectix\"",
            String::from_utf8_lossy(raw.get(..8).unwrap_or_default())
        )));
    }
    let f = |o| u32_be(&raw, o).unwrap_or(0);
    let disk_type = f(60);
    if !matches!(disk_type, DISK_FIXED | DISK_DYNAMIC | DISK_DIFFERENCING) {
        return Err(bad(format!(
            "disk type is {disk_type}, expected 2 (fixed), 3 (dynamic) or 4 (differencing)"
        )));
    }
    let stored = f(64);
    let computed = vhd_checksum(&raw, 64);
    Ok(Footer {
        data_offset: u64_be(&raw, 16).unwrap_or(0),
        timestamp: f(24),
        creator_app: array(&raw, 28).unwrap_or_default(),
        creator_version: f(32),
        creator_os: array(&raw, 36).unwrap_or_default(),
        current_size: u64_be(&raw, 48).unwrap_or(0),
        cylinders: u16_be(&raw, 56).unwrap_or(0),
        heads: u8_at(&raw, 58).unwrap_or(0),
        sectors: u8_at(&raw, 59).unwrap_or(0),
        disk_type,
        checksum_ok: stored == computed,
        stored_checksum: stored,
        computed_checksum: computed,
        uuid: array(&raw, 68).unwrap_or_default(),
        saved_state: u8_at(&raw, 84).unwrap_or(0),
        raw,
    })
}

impl Footer {
    fn chs_sectors(&self) -> u64 {
        u64::from(self.cylinders)
            .saturating_mul(u64::from(self.heads))
            .saturating_mul(u64::from(self.sectors))
    }

    /// Virtual size by qemu's rule (see the module docs), and whether CHS was used.
    fn virtual_size(&self) -> (u64, bool) {
        let chs = self.chs_sectors();
        let by_current = CURRENT_SIZE_CREATORS.contains(&&self.creator_app)
            || chs == MAX_CHS_SECTORS
            || chs == 0;
        if by_current {
            (self.current_size, false)
        } else {
            (chs.saturating_mul(SECTOR), true)
        }
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

fn open_vhd(
    file: Arc<dyn BlockSource>,
    probe: &Probe<'_>,
    ctx: &OpenContext,
) -> Result<VirtualDisk, ContainerError> {
    let file_len = file.len();
    let mut anomalies = Vec::new();

    // The footer at the end, and the copy at offset 0 (dynamic/differencing disks).
    let tail_len = tail_footer_len(probe);
    let tail_off = file_len.saturating_sub(tail_len.unwrap_or(FOOTER_SIZE));
    let tail = match tail_len {
        Some(n) => {
            let b = read_at(
                &*file,
                "footer",
                tail_off,
                usize::try_from(n).unwrap_or(512),
            )?;
            Some(parse_footer(&b, tail_off))
        }
        None => None,
    };
    let head = if probe.head.starts_with(FOOTER_COOKIE) {
        Some(parse_footer(probe.head.get(..512).unwrap_or(probe.head), 0))
    } else {
        None
    };
    if tail_len == Some(OLD_FOOTER_SIZE) {
        anomalies.push(Anomaly::new(
            FMT,
            "footer",
            Some(tail_off),
            ErrorKind::Corrupt,
            "footer is 511 bytes (written by an old tool), expected 512",
        ));
    }

    let footer = choose_footer(tail, head, tail_off, &mut anomalies)?;
    let (virtual_size, by_chs) = footer.virtual_size();
    let mut facts = ImageFacts::new(Format::Vhd, virtual_size, file_len);
    facts.version = Some("1.0".to_string());
    describe_footer(&footer, by_chs, &mut facts);
    if footer.saved_state != 0 {
        facts.dirty = true;
        anomalies.push(Anomaly::new(
            FMT,
            "footer",
            Some(tail_off),
            ErrorKind::Corrupt,
            "saved-state flag is set: the disk belongs to a saved (hibernated) virtual machine",
        ));
    }

    if footer.disk_type == DISK_FIXED {
        facts.subformat = Some("fixed".to_string());
        let data_len = if tail_len.is_some() {
            tail_off
        } else {
            file_len
        };
        facts.allocated_bytes = Some(data_len.min(virtual_size));
        if data_len < virtual_size {
            anomalies.push(Anomaly::new(
                FMT,
                "fixed disk data",
                Some(0),
                ErrorKind::Corrupt,
                format!(
                    "file holds {data_len} data bytes, virtual size is {virtual_size}: the rest reads as zeros"
                ),
            ));
        }
        let data: Arc<dyn BlockSource> = Arc::new(
            SliceSource::new(file, 0, data_len.min(virtual_size))
                .map_err(|e| ContainerError::read(FMT, "fixed disk data", 0, e))?,
        );
        let src = Arc::new(crate::util::PaddedSource::new(data, virtual_size));
        return Ok(VirtualDisk::new(facts, anomalies, src));
    }

    open_sparse(
        file,
        footer,
        tail_len.map(|_| tail_off),
        facts,
        anomalies,
        ctx,
    )
}

/// Pick the footer to trust among the one at the end and the copy at offset 0.
fn choose_footer(
    tail: Option<Result<Footer, ContainerError>>,
    head: Option<Result<Footer, ContainerError>>,
    tail_off: u64,
    anomalies: &mut Vec<Anomaly>,
) -> Result<Footer, ContainerError> {
    let head_ok = match &head {
        Some(Ok(h)) if h.checksum_ok => Some(h.clone()),
        _ => None,
    };
    match tail {
        Some(Ok(t)) => {
            if !t.checksum_ok {
                let msg = format!(
                    "checksum mismatch: stored 0x{:08x}, computed 0x{:08x}",
                    t.stored_checksum, t.computed_checksum
                );
                if let Some(h) = head_ok {
                    anomalies.push(Anomaly::new(
                        FMT,
                        "footer",
                        Some(tail_off),
                        ErrorKind::Corrupt,
                        format!("{msg}; using the copy at offset 0"),
                    ));
                    return Ok(h);
                }
                anomalies.push(Anomaly::new(
                    FMT,
                    "footer",
                    Some(tail_off),
                    ErrorKind::Corrupt,
                    msg,
                ));
            }
            if t.disk_type != DISK_FIXED {
                match &head {
                    Some(Ok(h)) if h.raw == t.raw => {}
                    Some(Ok(_)) => anomalies.push(Anomaly::new(
                        FMT,
                        "footer copy",
                        Some(0),
                        ErrorKind::Corrupt,
                        format!("the copy at offset 0 differs from the footer at offset {tail_off}"),
                    )),
                    Some(Err(e)) => anomalies.push(Anomaly::from_error(
                        FMT,
                        "footer copy",
                        Some(0),
                        ErrorKind::Corrupt,
                        e,
                    )),
                    None => anomalies.push(Anomaly::new(
                        FMT,
                        "footer copy",
                        Some(0),
                        ErrorKind::Corrupt,
                        "no copy of the footer at offset 0 (expected in a dynamic or differencing disk)",
                    )),
                }
            }
            Ok(t)
        }
        other => {
            // No usable footer at the end: fall back on the copy at offset 0.
            let why = match other {
                Some(Err(e)) => {
                    imgcheck_core::Anomaly::from_error(
                        FMT,
                        "footer",
                        Some(tail_off),
                        ErrorKind::Corrupt,
                        &e,
                    )
                    .message
                }
                _ => "no footer at the end of the file".to_string(),
            };
            match head {
                Some(Ok(h)) => {
                    if !h.checksum_ok {
                        anomalies.push(Anomaly::new(
                            FMT,
                            "footer copy",
                            Some(0),
                            ErrorKind::Corrupt,
                            format!(
                                "checksum mismatch: stored 0x{:08x}, computed 0x{:08x}",
                                h.stored_checksum, h.computed_checksum
                            ),
                        ));
                    }
                    anomalies.push(Anomaly::new(
                        FMT,
                        "footer",
                        Some(tail_off),
                        ErrorKind::Corrupt,
                        format!("{why}; using the copy at offset 0"),
                    ));
                    Ok(h)
                }
                Some(Err(e)) => Err(e),
                None => Err(ContainerError::corrupt(FMT, "footer", tail_off, why)),
            }
        }
    }
}

fn four_cc(b: &[u8; 4]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                char::from(c)
            } else {
                '.'
            }
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

fn describe_footer(f: &Footer, by_chs: bool, facts: &mut ImageFacts) {
    let d = &mut facts.details;
    d.insert("creator_application".into(), four_cc(&f.creator_app));
    d.insert(
        "creator_version".into(),
        format!("{}.{}", f.creator_version >> 16, f.creator_version & 0xFFFF),
    );
    d.insert(
        "creator_os".into(),
        match &f.creator_os {
            b"Wi2k" => "Windows".to_string(),
            b"Mac " => "Macintosh".to_string(),
            other => four_cc(other),
        },
    );
    d.insert("disk_uuid".into(), uuid_be(&f.uuid));
    d.insert(
        "timestamp".into(),
        iso8601(VHD_EPOCH_UNIX.saturating_add(u64::from(f.timestamp))),
    );
    d.insert("current_size".into(), f.current_size.to_string());
    d.insert(
        "geometry_chs".into(),
        format!("{}/{}/{}", f.cylinders, f.heads, f.sectors),
    );
    d.insert(
        "size_from".into(),
        if by_chs {
            "chs geometry"
        } else {
            "current size"
        }
        .to_string(),
    );
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub(crate) fn iso8601(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), in unsigned arithmetic from 0000-03-01.
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = doe
        .saturating_sub(doe / 1460)
        .saturating_add(doe / 36_524)
        .saturating_sub(doe / 146_096)
        / 365;
    let doy = doe.saturating_sub(
        yoe.saturating_mul(365)
            .saturating_add(yoe / 4)
            .saturating_sub(yoe / 100),
    );
    let mp = doy.saturating_mul(5).saturating_add(2) / 153;
    let day = doy
        .saturating_sub(mp.saturating_mul(153).saturating_add(2) / 5)
        .saturating_add(1);
    let month = if mp < 10 {
        mp.saturating_add(3)
    } else {
        mp.saturating_sub(9)
    };
    let year = yoe
        .saturating_add(era.saturating_mul(400))
        .saturating_add(u64::from(month <= 2));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The dynamic disk header fields we use.
struct DynHeader {
    table_offset: u64,
    max_entries: u32,
    block_size: u64,
    parent_uuid: [u8; 16],
    parent_name: String,
    locators: Vec<(u32, u64, u32)>,
}

fn parse_dyn_header(
    b: &[u8],
    offset: u64,
    anomalies: &mut Vec<Anomaly>,
) -> Result<DynHeader, ContainerError> {
    let bad = |p: String| ContainerError::corrupt(FMT, "dynamic disk header", offset, p);
    if !b.starts_with(DYN_COOKIE) {
        return Err(bad(format!(
            "cookie is {:?}, expected \"cxsparse\"",
            String::from_utf8_lossy(b.get(..8).unwrap_or_default())
        )));
    }
    let f = |o| u32_be(b, o).unwrap_or(0);
    let stored = f(36);
    let computed = vhd_checksum(b, 36);
    if stored != computed {
        anomalies.push(Anomaly::new(
            FMT,
            "dynamic disk header",
            Some(offset),
            ErrorKind::Corrupt,
            format!("checksum mismatch: stored 0x{stored:08x}, computed 0x{computed:08x}"),
        ));
    }
    let block_size = u64::from(f(32));
    if !block_size.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&block_size) {
        return Err(bad(format!(
            "block size is {block_size}, expected a power of two from {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE}"
        )));
    }
    let name_units: Vec<u16> = slice(b, 64, 512)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|c| {
            u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .take_while(|&u| u != 0)
        .collect();
    let mut locators = Vec::new();
    for i in 0..PARENT_LOCATORS {
        let base = 576usize.saturating_add(i.saturating_mul(24));
        let code = f(base);
        let len = f(base.saturating_add(8));
        let off = u64_be(b, base.saturating_add(16)).unwrap_or(0);
        if code != 0 && len != 0 {
            locators.push((code, off, len));
        }
    }
    Ok(DynHeader {
        table_offset: u64_be(b, 16).unwrap_or(u64::MAX),
        max_entries: f(28),
        block_size,
        parent_uuid: array(b, 40).unwrap_or_default(),
        parent_name: String::from_utf16_lossy(&name_units),
        locators,
    })
}

fn open_sparse(
    file: Arc<dyn BlockSource>,
    footer: Footer,
    footer_off: Option<u64>,
    mut facts: ImageFacts,
    mut anomalies: Vec<Anomaly>,
    ctx: &OpenContext,
) -> Result<VirtualDisk, ContainerError> {
    let file_len = file.len();
    let virtual_size = facts.virtual_size;
    let differencing = footer.disk_type == DISK_DIFFERENCING;
    facts.subformat = Some(
        if differencing {
            "differencing"
        } else {
            "dynamic"
        }
        .to_string(),
    );

    let hoff = footer.data_offset;
    let hb = read_at(&*file, "dynamic disk header", hoff, DYN_HEADER_SIZE)?;
    let hdr = parse_dyn_header(&hb, hoff, &mut anomalies)?;
    facts.cluster_size = Some(hdr.block_size);

    // Sector bitmap: one bit per sector, padded to a whole sector.
    let bitmap_bytes = (hdr.block_size / SECTOR).div_ceil(8);
    let bitmap_size = bitmap_bytes.div_ceil(SECTOR).saturating_mul(SECTOR);

    // The BAT.
    let table_bytes = u64::from(hdr.max_entries).saturating_mul(4);
    let limit = ctx.limits().max_table_bytes;
    if table_bytes > limit {
        return Err(ContainerError::Limit {
            format: FMT,
            structure: "block allocation table".into(),
            offset: hdr.table_offset,
            what: "table size in bytes".into(),
            actual: table_bytes,
            limit,
        });
    }
    let covered = u64::from(hdr.max_entries).saturating_mul(hdr.block_size);
    if covered < virtual_size {
        anomalies.push(Anomaly::new(
            FMT,
            "dynamic disk header",
            Some(hoff),
            ErrorKind::Corrupt,
            format!(
                "{} BAT entries of {} bytes cover {covered} bytes, less than the virtual size {virtual_size}: the rest reads as zeros",
                hdr.max_entries, hdr.block_size
            ),
        ));
    }
    let tb = read_at(
        &*file,
        "block allocation table",
        hdr.table_offset,
        usize::try_from(table_bytes).unwrap_or(0),
    )?;
    let bat: Vec<u32> = tb
        .chunks_exact(4)
        .map(|c| {
            u32::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
                c.get(2).copied().unwrap_or(0),
                c.get(3).copied().unwrap_or(0),
            ])
        })
        .collect();

    // Data must lie before the footer at the end.
    let data_end = footer_off.unwrap_or(file_len);
    let blocks_in_disk = virtual_size.div_ceil(hdr.block_size);
    let mut allocated = 0u64;
    let mut bad_count = 0u64;
    let mut first_bad: Option<(usize, u32)> = None;
    for (i, &e) in bat.iter().enumerate() {
        if e == BAT_UNUSED {
            continue;
        }
        let end = u64::from(e)
            .saturating_mul(SECTOR)
            .saturating_add(bitmap_size)
            .saturating_add(hdr.block_size);
        if end > data_end {
            bad_count = bad_count.saturating_add(1);
            first_bad.get_or_insert((i, e));
        } else if u64::try_from(i).unwrap_or(u64::MAX) < blocks_in_disk {
            let start = u64::try_from(i).unwrap_or(0).saturating_mul(hdr.block_size);
            allocated =
                allocated.saturating_add(hdr.block_size.min(virtual_size.saturating_sub(start)));
        }
    }
    if let Some((i, e)) = first_bad {
        anomalies.push(Anomaly::new(
            FMT,
            "block allocation table",
            Some(hdr.table_offset),
            ErrorKind::Corrupt,
            format!(
                "{bad_count} BAT entries point past the data end at {data_end}, the first is entry {i} (sector {e}); reading those blocks fails"
            ),
        ));
    }
    facts.allocated_bytes = Some(allocated);

    let parent = if differencing {
        let (src, backing, mut more) = open_parent(&*file, &hdr, ctx, virtual_size, file_len)?;
        facts.backing = Some(backing);
        facts
            .details
            .insert("parent_uuid".into(), uuid_be(&hdr.parent_uuid));
        facts
            .details
            .insert("parent_name".into(), hdr.parent_name.clone());
        anomalies.append(&mut more);
        Some(src)
    } else {
        None
    };

    let src = SparseVhd {
        file,
        bat,
        table_offset: hdr.table_offset,
        block_size: hdr.block_size,
        bitmap_size,
        virtual_size,
        data_end,
        allocated,
        parent,
    };
    Ok(VirtualDisk::new(facts, anomalies, Arc::new(src)))
}

/// Candidate references to the parent, in the order tried: relative locator, absolute locator,
/// Mac OS X URL, then the parent's file name in this image's directory.
fn parent_candidates(file: &dyn BlockSource, hdr: &DynHeader, file_len: u64) -> Vec<String> {
    let mut rel = Vec::new();
    let mut abs = Vec::new();
    for &(code, off, len) in &hdr.locators {
        if len > MAX_LOCATOR_BYTES || off.saturating_add(u64::from(len)) > file_len {
            continue;
        }
        let Ok(b) = read_at(
            file,
            "parent locator",
            off,
            usize::try_from(len).unwrap_or(0),
        ) else {
            continue;
        };
        let text = match code {
            PLAT_W2RU | PLAT_W2KU => imgcheck_core::bytes::utf16le_until_nul(&b),
            PLAT_MACX => {
                let s = String::from_utf8_lossy(&b);
                let s = s.trim_end_matches('\0');
                s.strip_prefix("file://").unwrap_or(s).to_string()
            }
            PLAT_MAC => continue,
            _ => continue,
        };
        let path = windows_to_host_path(&text);
        if path.is_empty() {
            continue;
        }
        if code == PLAT_W2RU {
            rel.push(path);
        } else {
            abs.push(path);
        }
    }
    let mut out: Vec<String> = Vec::new();
    let base_names: Vec<String> = rel
        .iter()
        .chain(abs.iter())
        .chain(std::iter::once(&windows_to_host_path(&hdr.parent_name)))
        .filter_map(|p| p.rsplit('/').next().map(str::to_string))
        .filter(|n| !n.is_empty())
        .collect();
    for c in rel.into_iter().chain(abs).chain(base_names) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// `.\dir\parent.vhd` → `dir/parent.vhd`; `C:\dir\p.vhd` → `C:/dir/p.vhd` (never resolves on
/// a Unix host, the base name fallback then applies).
fn windows_to_host_path(s: &str) -> String {
    let p = s.trim_end_matches('\0').replace('\\', "/");
    let mut p = p.as_str();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_string()
}

type ParentParts = (Arc<dyn BlockSource>, BackingRef, Vec<Anomaly>);

fn open_parent(
    file: &dyn BlockSource,
    hdr: &DynHeader,
    ctx: &OpenContext,
    virtual_size: u64,
    file_len: u64,
) -> Result<ParentParts, ContainerError> {
    let candidates = parent_candidates(file, hdr, file_len);
    let Some(first) = candidates.first() else {
        return Err(ContainerError::corrupt(
            FMT,
            "dynamic disk header",
            0,
            "differencing disk names no parent (no parent locator, empty parent name)",
        ));
    };
    let mut first_err = None;
    for c in &candidates {
        match ctx.backing_source(FMT, c, Some("vpc"), virtual_size) {
            Ok(parts) => return Ok(parts),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| {
        ContainerError::corrupt(
            FMT,
            "parent locator",
            0,
            format!("cannot resolve {first:?}"),
        )
    }))
}

/// A dynamic or differencing VHD presented as its virtual disk.
struct SparseVhd {
    file: Arc<dyn BlockSource>,
    bat: Vec<u32>,
    table_offset: u64,
    block_size: u64,
    bitmap_size: u64,
    virtual_size: u64,
    data_end: u64,
    allocated: u64,
    /// Differencing disks only: the parent (or zeros when not followed).
    parent: Option<Arc<dyn BlockSource>>,
}

impl SparseVhd {
    fn read_block(
        &self,
        index: u64,
        within: u64,
        buf: &mut [u8],
        voff: u64,
    ) -> Result<(), ReadError> {
        let entry = usize::try_from(index)
            .ok()
            .and_then(|i| self.bat.get(i).copied())
            .unwrap_or(BAT_UNUSED);
        if entry == BAT_UNUSED {
            return match &self.parent {
                Some(p) => p.read_exact_at(buf, voff),
                None => {
                    buf.fill(0);
                    Ok(())
                }
            };
        }
        let entry_off = self.table_offset.saturating_add(index.saturating_mul(4));
        let block_off = u64::from(entry).saturating_mul(SECTOR);
        let data_off = block_off.saturating_add(self.bitmap_size);
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if data_off.saturating_add(within).saturating_add(len) > self.data_end {
            return Err(ContainerError::corrupt(
                FMT,
                format!("BAT entry {index}"),
                entry_off,
                format!(
                    "block at sector {entry} (offset {block_off}) lies past the data end at {}",
                    self.data_end
                ),
            )
            .into_read_error(FMT, voff));
        }
        let Some(parent) = &self.parent else {
            return self
                .file
                .read_exact_at(buf, data_off.saturating_add(within))
                .map_err(|e| {
                    ContainerError::read(
                        FMT,
                        format!("data block {index} (BAT entry at offset {entry_off})"),
                        data_off,
                        e,
                    )
                    .into_read_error(FMT, voff)
                });
        };
        // Differencing: the sector bitmap says, per sector, this file (1) or the parent (0).
        let first_sector = within / SECTOR;
        let last_sector = (within.saturating_add(len).saturating_sub(1)) / SECTOR;
        let byte0 = first_sector / 8;
        let nbytes = (last_sector / 8).saturating_sub(byte0).saturating_add(1);
        let mut bits = vec![0u8; usize::try_from(nbytes).unwrap_or(0)];
        self.file
            .read_exact_at(&mut bits, block_off.saturating_add(byte0))
            .map_err(|e| {
                ContainerError::read(FMT, format!("sector bitmap of block {index}"), block_off, e)
                    .into_read_error(FMT, voff)
            })?;
        let present = |sector: u64| -> bool {
            let rel = sector.saturating_sub(byte0.saturating_mul(8));
            let byte = usize::try_from(rel / 8)
                .ok()
                .and_then(|i| bits.get(i).copied())
                .unwrap_or(0);
            // Bit 7 of byte 0 is the block's first sector (big-endian bit order).
            let shift = 7u64.saturating_sub(rel % 8);
            (byte >> shift) & 1 == 1
        };
        read_runs(buf, within, SECTOR, present, |piece, off_in_block, here| {
            let v = voff.saturating_add(off_in_block.saturating_sub(within));
            if here {
                self.file
                    .read_exact_at(piece, data_off.saturating_add(off_in_block))
                    .map_err(|e| {
                        ContainerError::read(FMT, format!("data block {index}"), data_off, e)
                            .into_read_error(FMT, voff)
                    })
            } else {
                parent.read_exact_at(piece, v)
            }
        })
    }
}

/// Split `buf` (which starts `within` bytes into a block) into runs of sectors of `sector`
/// bytes that share the same `present(sector_index)` value, and call
/// `f(piece, offset_in_block, present)` for each run.
pub(crate) fn read_runs(
    buf: &mut [u8],
    within: u64,
    sector: u64,
    present: impl Fn(u64) -> bool,
    mut f: impl FnMut(&mut [u8], u64, bool) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    if sector == 0 {
        return Ok(());
    }
    let total = buf.len();
    let mut done = 0usize;
    while done < total {
        let pos = within.saturating_add(u64::try_from(done).unwrap_or(u64::MAX));
        let s = pos.checked_div(sector).unwrap_or(0);
        let state = present(s);
        // Extend the run while the following sectors share the state.
        let mut end_pos = s.saturating_add(1).saturating_mul(sector);
        let limit = within.saturating_add(u64::try_from(total).unwrap_or(u64::MAX));
        while end_pos < limit && present(end_pos.checked_div(sector).unwrap_or(0)) == state {
            end_pos = end_pos.saturating_add(sector);
        }
        let run_end = usize::try_from(end_pos.min(limit).saturating_sub(within)).unwrap_or(total);
        if run_end <= done {
            break;
        }
        if let Some(piece) = buf.get_mut(done..run_end) {
            f(piece, pos, state)?;
        }
        done = run_end;
    }
    Ok(())
}

impl BlockSource for SparseVhd {
    fn len(&self) -> u64 {
        self.virtual_size
    }

    fn allocated_bytes(&self) -> Option<u64> {
        Some(self.allocated)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        imgcheck_core::check_range(offset, buf.len(), self.virtual_size)?;
        let bs = self.block_size;
        for_each_unit(buf, offset, bs, |index, within, piece| {
            let voff = index.saturating_mul(bs).saturating_add(within);
            self.read_block(index, within, piece, voff)
        })
    }

    /// Runs of blocks from the BAT: unused entries of a disk without a parent are
    /// [`Extent::Zero`], allocated blocks [`Extent::Data`]; an unused entry of a differencing
    /// disk ends the run (the parent holds those bytes).
    fn extent(&self, offset: u64, max: u64) -> Option<imgcheck_core::Extent> {
        use imgcheck_core::Extent;
        let room = imgcheck_core::extent_room(offset, max, self.virtual_size)?;
        let bs = self.block_size;
        let end = offset.saturating_add(room);
        let mut pos = offset;
        let mut kind: Option<bool> = None;
        while pos < end {
            let index = pos.checked_div(bs)?;
            let entry = usize::try_from(index)
                .ok()
                .and_then(|i| self.bat.get(i).copied())
                .unwrap_or(BAT_UNUSED);
            let zero = if entry == BAT_UNUSED {
                if self.parent.is_some() {
                    break;
                }
                true
            } else {
                false
            };
            match kind {
                None => kind = Some(zero),
                Some(k) if k != zero => break,
                _ => {}
            }
            pos = index.saturating_add(1).saturating_mul(bs).min(end);
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
pub(crate) mod tests {
    use super::*;
    use crate::{open_source, OpenOptions};
    use imgcheck_core::MemSource;

    /// Deterministic pseudo-random bytes.
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

    fn footer(disk_type: u32, size: u64, data_offset: u64, creator: &[u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 512];
        f[..8].copy_from_slice(FOOTER_COOKIE);
        f[8..12].copy_from_slice(&2u32.to_be_bytes());
        f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        f[16..24].copy_from_slice(&data_offset.to_be_bytes());
        f[24..28].copy_from_slice(&0x2000_0000u32.to_be_bytes());
        f[28..32].copy_from_slice(creator);
        f[36..40].copy_from_slice(b"Wi2k");
        f[40..48].copy_from_slice(&size.to_be_bytes());
        f[48..56].copy_from_slice(&size.to_be_bytes());
        // Geometry deliberately not matching: creator "win " sizes by current size.
        f[56..58].copy_from_slice(&1u16.to_be_bytes());
        f[58] = 1;
        f[59] = 1;
        f[60..64].copy_from_slice(&disk_type.to_be_bytes());
        f[68..84].copy_from_slice(&[0x11; 16]);
        let c = vhd_checksum(&f, 64);
        f[64..68].copy_from_slice(&c.to_be_bytes());
        f
    }

    fn dyn_header(table_offset: u64, entries: u32, block_size: u32) -> Vec<u8> {
        let mut h = vec![0u8; 1024];
        h[..8].copy_from_slice(DYN_COOKIE);
        h[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
        h[16..24].copy_from_slice(&table_offset.to_be_bytes());
        h[24..28].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        h[28..32].copy_from_slice(&entries.to_be_bytes());
        h[32..36].copy_from_slice(&block_size.to_be_bytes());
        let c = vhd_checksum(&h, 36);
        h[36..40].copy_from_slice(&c.to_be_bytes());
        h
    }

    const BS: u64 = 4096;

    /// A dynamic (or differencing) disk of 4 blocks of 4 KiB: block 0 and 2 allocated.
    /// Returns the image and the expected virtual disk.
    fn dynamic_image(disk_type: u32) -> (Vec<u8>, Vec<u8>) {
        let vsize = 4 * BS;
        let mut expect = vec![0u8; vsize as usize];
        let mut img = footer(disk_type, vsize, 512, b"win ");
        img.extend(dyn_header(1536, 4, BS as u32));
        // BAT at 1536, one sector.
        let mut bat = vec![0xFFu8; 512];
        let b0 = pattern(BS as usize, 1);
        let b2 = pattern(BS as usize, 2);
        // Blocks start at sector 4 (offset 2048): bitmap sector + data.
        bat[0..4].copy_from_slice(&4u32.to_be_bytes());
        bat[8..12].copy_from_slice(&(4u32 + 1 + 8).to_be_bytes());
        img.extend(bat);
        for b in [&b0, &b2] {
            img.extend(vec![0xFFu8; 512]); // all sectors present
            img.extend(b.iter());
        }
        expect[..BS as usize].copy_from_slice(&b0);
        expect[2 * BS as usize..3 * BS as usize].copy_from_slice(&b2);
        let f = img[..512].to_vec();
        img.extend(f);
        (img, expect)
    }

    /// An error and its sources joined by ": ".
    pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        let mut s = e.to_string();
        let mut cur = e.source();
        while let Some(c) = cur {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cur = c.source();
        }
        s
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
    fn fixed_disk() {
        let data = pattern(64 * 1024, 9);
        let mut img = data.clone();
        img.extend(footer(DISK_FIXED, data.len() as u64, u64::MAX, b"win "));
        let d = open_bytes(img).unwrap();
        assert_eq!(d.facts.format, Format::Vhd);
        assert_eq!(d.facts.subformat.as_deref(), Some("fixed"));
        assert_eq!(d.facts.virtual_size, 65536);
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        assert_eq!(read_all(&d), data);
        assert_eq!(d.facts.details["creator_application"], "win");
        assert_eq!(d.facts.details["timestamp"], "2017-01-04T18:48:32Z");
    }

    #[test]
    fn chs_sizing_for_qemu_creator() {
        let mut f = footer(DISK_FIXED, 1 << 20, u64::MAX, b"qemu");
        // 2 cylinders × 4 heads × 17 sectors = 136 sectors.
        f[56..58].copy_from_slice(&2u16.to_be_bytes());
        f[58] = 4;
        f[59] = 17;
        f[64..68].fill(0);
        let c = vhd_checksum(&f, 64);
        f[64..68].copy_from_slice(&c.to_be_bytes());
        let mut img = vec![7u8; 1 << 20];
        img.extend(f);
        let d = open_bytes(img).unwrap();
        assert_eq!(d.facts.virtual_size, 136 * 512);
        assert_eq!(d.facts.details["size_from"], "chs geometry");
    }

    #[test]
    fn dynamic_disk() {
        let (img, expect) = dynamic_image(DISK_DYNAMIC);
        let d = open_bytes(img).unwrap();
        assert_eq!(d.facts.subformat.as_deref(), Some("dynamic"));
        assert_eq!(d.facts.cluster_size, Some(BS));
        assert_eq!(d.facts.allocated_bytes, Some(2 * BS));
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        assert_eq!(read_all(&d), expect);
        // Unaligned read across blocks.
        let mut b = vec![0u8; 5000];
        d.source().read_exact_at(&mut b, 3000).unwrap();
        assert_eq!(b, expect[3000..8000]);
        assert!(d.source().read_exact_at(&mut b, 4 * BS - 10).is_err());
    }

    #[test]
    fn differencing_uses_bitmap_and_zero_parent() {
        let (mut img, mut expect) = dynamic_image(DISK_DIFFERENCING);
        // Header parent name "base.vhd" (UTF-16BE), so the disk names a parent.
        let name: Vec<u8> = "base.vhd"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        img[512 + 64..512 + 64 + name.len()].copy_from_slice(&name);
        let c = vhd_checksum(&img[512..1536], 36);
        img[512 + 36..512 + 40].copy_from_slice(&c.to_be_bytes());
        // Block 0's bitmap: only sectors 0 and 7 present (bit 7 of byte 0, bit 0 of byte 0).
        img[2048] = 0b1000_0001;
        img[2049..2048 + 512].fill(0);
        for (i, byte) in expect[..BS as usize].iter_mut().enumerate() {
            let s = i / 512;
            if s != 0 && s != 7 {
                *byte = 0;
            }
        }
        let d = open_bytes(img).unwrap();
        assert_eq!(d.facts.subformat.as_deref(), Some("differencing"));
        let backing = d.facts.backing.as_ref().unwrap();
        assert_eq!(backing.reference, "base.vhd");
        assert!(!backing.followed);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.message.contains("not followed")));
        assert_eq!(read_all(&d), expect);
    }

    #[test]
    fn bad_footer_checksum_is_an_anomaly() {
        let data = pattern(8192, 3);
        let mut img = data.clone();
        let mut f = footer(DISK_FIXED, 8192, u64::MAX, b"win ");
        f[64] ^= 0xFF;
        img.extend(f);
        let d = open_bytes(img).unwrap();
        assert_eq!(read_all(&d), data);
        let a = &d.anomalies[0];
        assert_eq!(a.layer, "vhd");
        assert_eq!(a.structure, "footer");
        assert_eq!(a.offset, Some(8192));
        assert!(a.message.contains("checksum mismatch"), "{a}");
    }

    #[test]
    fn footer_copy_mismatch_is_an_anomaly() {
        let (mut img, expect) = dynamic_image(DISK_DYNAMIC);
        img[24] ^= 1; // timestamp of the copy at 0
        let d = open_bytes(img).unwrap();
        assert_eq!(read_all(&d), expect);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.structure.contains("footer") && a.message.contains("differs")));
    }

    #[test]
    fn bad_dynamic_header_cookie() {
        let (mut img, _) = dynamic_image(DISK_DYNAMIC);
        img[512..520].copy_from_slice(b"xxsparse");
        let e = open_bytes(img).unwrap_err();
        assert_eq!(
            e.to_string(),
            "vhd: dynamic disk header at offset 512: cookie is \"xxsparse\", expected \"cxsparse\""
        );
        assert_eq!(e.kind(), ErrorKind::Corrupt);
    }

    #[test]
    fn absurd_block_size() {
        let (mut img, _) = dynamic_image(DISK_DYNAMIC);
        let h = dyn_header(1536, 4, 3 << 30);
        img[512..1536].copy_from_slice(&h);
        let e = open_bytes(img).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("vhd: dynamic disk header at offset 512: block size is 3221225472"),
            "{e}"
        );
    }

    #[test]
    fn bat_entry_past_eof() {
        let (mut img, _) = dynamic_image(DISK_DYNAMIC);
        img[1536 + 4..1536 + 8].copy_from_slice(&100_000u32.to_be_bytes());
        let d = open_bytes(img).unwrap();
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.structure == "block allocation table"
                && a.message.contains("entry 1 (sector 100000)")));
        let mut b = [0u8; 16];
        let e = d.source().read_exact_at(&mut b, BS + 8).unwrap_err();
        let chain = chain(&e);
        assert!(chain.contains("vhd: BAT entry 1 at offset 1540"), "{chain}");
        assert!(chain.contains("lies past the data end"), "{chain}");
        // The other blocks still read.
        d.source().read_exact_at(&mut b, 0).unwrap();
    }

    #[test]
    fn bat_over_limit() {
        let (mut img, _) = dynamic_image(DISK_DYNAMIC);
        let h = dyn_header(1536, u32::MAX, BS as u32);
        img[512..1536].copy_from_slice(&h);
        let opts = OpenOptions {
            limits: imgcheck_core::Limits {
                max_table_bytes: 1 << 20,
                ..Default::default()
            },
            ..Default::default()
        };
        let e =
            open_source(Arc::new(MemSource::new(img)), &OpenContext::detached(&opts)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LimitExceeded);
        assert!(
            e.to_string()
                .contains("block allocation table at offset 1536"),
            "{e}"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let (img, _) = dynamic_image(DISK_DIFFERENCING);
        for i in (0..img.len()).step_by(7) {
            let mut m = img.clone();
            m[i] ^= 0xA5;
            if let Ok(d) = open_bytes(m) {
                let s = d.source();
                let mut b = vec![0u8; s.len().min(1 << 20) as usize];
                let _ = s.read_exact_at(&mut b, 0);
            }
        }
        for n in [0usize, 1, 511, 512, 513, 1024, 2047] {
            let _ = open_bytes(img[img.len() - n.min(img.len())..].to_vec());
            let _ = open_bytes(img[..n.min(img.len())].to_vec());
        }
    }

    #[test]
    fn parent_candidates_order() {
        let enc = |t: &str| -> Vec<u8> { t.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
        let mut file = vec![0u8; 1024];
        let abs = enc("C:\\vms\\base.vhd");
        let rel = enc(".\\sub\\base.vhd");
        file[..abs.len()].copy_from_slice(&abs);
        file[512..512 + rel.len()].copy_from_slice(&rel);
        let hdr = DynHeader {
            table_offset: 0,
            max_entries: 0,
            block_size: 4096,
            parent_uuid: [0; 16],
            parent_name: "other.vhd".into(),
            // Absolute first on disk: the relative locator is still tried first.
            locators: vec![
                (PLAT_W2KU, 0, abs.len() as u32),
                (PLAT_W2RU, 512, rel.len() as u32),
                (PLAT_MAC, 0, 8),
                (PLAT_W2RU, 4000, 8), // past the end of the file: ignored
            ],
        };
        let src = MemSource::new(file);
        assert_eq!(
            parent_candidates(&src, &hdr, 1024),
            vec!["sub/base.vhd", "C:/vms/base.vhd", "base.vhd", "other.vhd"]
        );
    }

    #[test]
    fn path_and_time_helpers() {
        assert_eq!(windows_to_host_path(".\\sub\\base.vhd"), "sub/base.vhd");
        assert_eq!(windows_to_host_path("C:\\x\\base.vhd"), "C:/x/base.vhd");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }
}
