//! VHDX log replay, in memory.
//!
//! Specification: [MS-VHDX] section 2.3 "Log". The log is a circular buffer of entries
//! ("loge" header, CRC-32C over the whole entry, sequence number, tail offset) whose
//! descriptors either zero a file range ("zero") or write one 4 KiB page ("desc" plus a "data"
//! sector holding 4084 of its bytes, the first 8 and last 4 being kept in the descriptor).
//! The *active sequence* ends at the valid entry with the highest sequence number whose tail
//! offset leads, through entries with consecutive sequence numbers, back to it. Replaying it
//! applies its writes in order.
//!
//! We never write the image: the writes become an overlay ([`LogOverlay`]) through which the
//! region table, metadata, BAT and payload are then read, exactly as a writer would see the file
//! after replay. Our own code, for the reasons given in the parent module.

use crate::ContainerError;
use imgcheck_core::bytes::{array, u32_le, u64_le};
use imgcheck_core::{BlockSource, ReadError};
use std::collections::HashMap;
use std::sync::Arc;

/// Format name used in errors.
const FMT: &str = "vhdx";
/// Log entry signature.
const ENTRY_SIG: &[u8; 4] = b"loge";
/// Zero descriptor signature.
const ZERO_SIG: &[u8; 4] = b"zero";
/// Data descriptor signature.
const DESC_SIG: &[u8; 4] = b"desc";
/// Data sector signature.
const DATA_SIG: &[u8; 4] = b"data";
/// Log sectors, data pages and file offsets in descriptors are 4 KiB units.
const SECTOR: usize = 4096;
/// Same, as u64.
const SECTOR_U64: u64 = 4096;
/// Size of the entry header.
const ENTRY_HEADER: usize = 64;
/// Size of one descriptor.
const DESCRIPTOR: usize = 32;
/// Offset of the leading bytes kept in a data descriptor / of the data in a data sector.
const LEADING: usize = 8;
/// Offset of the trailing bytes in a page (4096 - 4).
const TRAILING_AT: usize = 4092;

/// One write of the replayed log.
#[derive(Debug, Clone)]
enum Op {
    /// Zero `len` bytes at `off`.
    Zero { off: u64, len: u64 },
    /// Write a 4 KiB page at `off`.
    Data { off: u64, page: Box<[u8]> },
}

impl Op {
    fn range(&self) -> (u64, u64) {
        match self {
            Op::Zero { off, len } => (*off, off.saturating_add(*len)),
            Op::Data { off, .. } => (*off, off.saturating_add(SECTOR_U64)),
        }
    }
}

/// The file as it would be after replaying the log.
pub(super) struct LogOverlay {
    base: Arc<dyn BlockSource>,
    len: u64,
    ops: Vec<Op>,
}

impl BlockSource for LogOverlay {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        let n = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let end = match offset.checked_add(n) {
            Some(end) if end <= self.len => end,
            _ => {
                return Err(ReadError::OutOfBounds {
                    offset,
                    len: n,
                    size: self.len,
                })
            }
        };
        let have = usize::try_from(self.base.len().saturating_sub(offset).min(n)).unwrap_or(0);
        let (head, rest) = buf.split_at_mut(have.min(buf.len()));
        if !head.is_empty() {
            self.base.read_exact_at(head, offset)?;
        }
        rest.fill(0);
        // Later writes override earlier ones: apply in log order.
        for op in &self.ops {
            let (s, e) = op.range();
            let lo = s.max(offset);
            let hi = e.min(end);
            if lo >= hi {
                continue;
            }
            let dst_lo = usize::try_from(lo.saturating_sub(offset)).unwrap_or(0);
            let dst_hi = usize::try_from(hi.saturating_sub(offset)).unwrap_or(0);
            let Some(dst) = buf.get_mut(dst_lo..dst_hi) else {
                continue;
            };
            match op {
                Op::Zero { .. } => dst.fill(0),
                Op::Data { page, .. } => {
                    let src_lo = usize::try_from(lo.saturating_sub(s)).unwrap_or(0);
                    if let Some(src) = page.get(src_lo..src_lo.saturating_add(dst.len())) {
                        dst.copy_from_slice(src);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A valid entry found in the log.
#[derive(Debug, Clone, Copy)]
struct Entry {
    pos: u64,
    len: u64,
    tail: u64,
    seq: u64,
    last_file_offset: u64,
    flushed_file_offset: u64,
}

/// What replay produced.
pub(super) struct Replayed {
    /// The file with the log applied.
    pub source: Arc<dyn BlockSource>,
    /// Entries replayed.
    pub entries: u64,
    /// Sequence numbers of the first and last entry replayed.
    pub seq_range: (u64, u64),
    /// Writes (zero ranges and pages) applied.
    pub writes: u64,
    /// The file is shorter than the head entry's FlushedFileOffset (truncated after a flush).
    pub truncated_below: Option<u64>,
}

/// The entry's bytes starting at `pos`, wrapping around the end of the circular log.
fn entry_bytes(log: &[u8], pos: u64, len: u64) -> Option<Vec<u8>> {
    let p = usize::try_from(pos).ok()?;
    let l = usize::try_from(len).ok()?;
    if l > log.len() {
        return None;
    }
    let end = p.checked_add(l)?;
    if end <= log.len() {
        return Some(log.get(p..end)?.to_vec());
    }
    let mut v = log.get(p..)?.to_vec();
    v.extend_from_slice(log.get(..end.checked_sub(log.len())?)?);
    Some(v)
}

/// Parse a valid entry at `pos` (signature, log GUID, length, CRC-32C).
fn entry_at(log: &[u8], pos: u64, guid: &[u8; 16]) -> Option<Entry> {
    let p = usize::try_from(pos).ok()?;
    let hdr = log.get(p..p.checked_add(ENTRY_HEADER)?)?;
    if !hdr.starts_with(ENTRY_SIG) || array::<16>(hdr, 32)? != *guid {
        return None;
    }
    let len = u64::from(u32_le(hdr, 8)?);
    if len == 0 || len.checked_rem(SECTOR_U64) != Some(0) {
        return None;
    }
    let bytes = entry_bytes(log, pos, len)?;
    if super::crc_with_zeroed(&bytes, 4) != u32_le(&bytes, 4)? {
        return None;
    }
    Some(Entry {
        pos,
        len,
        tail: u64::from(u32_le(hdr, 12)?),
        seq: u64_le(hdr, 16)?,
        flushed_file_offset: u64_le(hdr, 48)?,
        last_file_offset: u64_le(hdr, 56)?,
    })
}

/// Scan the log for valid entries: `Ok(None)` when there is none (nothing to replay).
pub(super) fn replay(
    file: Arc<dyn BlockSource>,
    log: &[u8],
    log_offset: u64,
    guid: &[u8; 16],
) -> Result<Option<Replayed>, ContainerError> {
    let log_len = u64::try_from(log.len()).unwrap_or(0);
    let mut entries: HashMap<u64, Entry> = HashMap::new();
    let mut pos = 0u64;
    while pos < log_len {
        if let Some(e) = entry_at(log, pos, guid) {
            entries.insert(pos, e);
        }
        pos = pos.saturating_add(SECTOR_U64);
    }
    if entries.is_empty() {
        return Ok(None);
    }
    let mut heads: Vec<Entry> = entries.values().copied().collect();
    heads.sort_by(|a, b| b.seq.cmp(&a.seq).then(a.pos.cmp(&b.pos)));
    let sequence = heads
        .iter()
        .find_map(|h| chain_to(h, &entries, log_len))
        .ok_or_else(|| {
            ContainerError::corrupt(
                FMT,
                "log",
                log_offset,
                format!(
                    "{} valid entries, but none whose tail leads through consecutive sequence numbers to it: the log cannot be replayed",
                    entries.len()
                ),
            )
        })?;
    let mut ops = Vec::new();
    for e in &sequence {
        let bytes = entry_bytes(log, e.pos, e.len).unwrap_or_default();
        descriptors(&bytes, e.seq, &mut ops).map_err(|p| {
            ContainerError::corrupt(
                FMT,
                format!("log entry {}", e.seq),
                log_offset.saturating_add(e.pos),
                p,
            )
        })?;
    }
    let (first, head) = match (sequence.first(), sequence.last()) {
        (Some(f), Some(h)) => (*f, *h),
        _ => return Ok(None),
    };
    let base_len = file.len();
    let ops_end = ops.iter().map(|o| o.range().1).max().unwrap_or(0);
    let len = base_len.max(ops_end).max(head.last_file_offset);
    let writes = u64::try_from(ops.len()).unwrap_or(u64::MAX);
    Ok(Some(Replayed {
        source: Arc::new(LogOverlay {
            base: file,
            len,
            ops,
        }),
        entries: u64::try_from(sequence.len()).unwrap_or(u64::MAX),
        seq_range: (first.seq, head.seq),
        writes,
        truncated_below: (base_len < head.flushed_file_offset).then_some(head.flushed_file_offset),
    }))
}

/// The entries from `head.tail` to `head` with consecutive sequence numbers, if they exist.
fn chain_to(head: &Entry, entries: &HashMap<u64, Entry>, log_len: u64) -> Option<Vec<Entry>> {
    let mut out = Vec::new();
    let mut pos = head.tail;
    let mut want: Option<u64> = None;
    for _ in 0..=entries.len() {
        let e = entries.get(&pos)?;
        if want.is_some_and(|w| w != e.seq) {
            return None;
        }
        out.push(*e);
        if e.pos == head.pos {
            return (e.seq == head.seq).then_some(out);
        }
        want = Some(e.seq.checked_add(1)?);
        pos = e.pos.saturating_add(e.len).checked_rem(log_len)?;
    }
    None
}

/// Decode the descriptors of one entry into writes.
fn descriptors(b: &[u8], seq: u64, ops: &mut Vec<Op>) -> Result<(), String> {
    let count = usize::try_from(u32_le(b, 24).unwrap_or(0)).unwrap_or(usize::MAX);
    let area = count
        .checked_mul(DESCRIPTOR)
        .and_then(|d| d.checked_add(ENTRY_HEADER))
        .filter(|&a| a <= b.len())
        .ok_or_else(|| {
            format!(
                "{count} descriptors do not fit in the entry of {} bytes",
                b.len()
            )
        })?;
    let mut data_sector = area.div_ceil(SECTOR);
    for i in 0..count {
        let d = b
            .get(ENTRY_HEADER.saturating_add(i.saturating_mul(DESCRIPTOR))..)
            .and_then(|s| s.get(..DESCRIPTOR))
            .ok_or_else(|| format!("descriptor {i} lies outside the entry"))?;
        let off = u64_le(d, 16).unwrap_or(0);
        let dseq = u64_le(d, 24).unwrap_or(0);
        if dseq != seq {
            return Err(format!(
                "descriptor {i} has sequence number {dseq}, expected {seq}"
            ));
        }
        if off.checked_rem(SECTOR_U64) != Some(0) {
            return Err(format!(
                "descriptor {i} file offset {off} is not 4 KiB aligned"
            ));
        }
        if d.starts_with(ZERO_SIG) {
            let len = u64_le(d, 8).unwrap_or(0);
            if len.checked_rem(SECTOR_U64) != Some(0) {
                return Err(format!(
                    "zero descriptor {i} length {len} is not 4 KiB aligned"
                ));
            }
            ops.push(Op::Zero { off, len });
        } else if d.starts_with(DESC_SIG) {
            let start = data_sector.saturating_mul(SECTOR);
            let s = b
                .get(start..)
                .and_then(|s| s.get(..SECTOR))
                .ok_or_else(|| format!("data sector of descriptor {i} lies outside the entry"))?;
            let high = u64::from(u32_le(s, 4).unwrap_or(0));
            let low = u64::from(u32_le(s, TRAILING_AT).unwrap_or(0));
            if !s.starts_with(DATA_SIG) || (high << 32 | low) != seq {
                return Err(format!(
                    "data sector {data_sector} of descriptor {i} has no \"data\" signature or a sequence number other than {seq}"
                ));
            }
            let mut page = vec![0u8; SECTOR];
            if let (Some(dst), Some(src)) = (page.get_mut(..LEADING), d.get(8..16)) {
                dst.copy_from_slice(src);
            }
            if let (Some(dst), Some(src)) = (
                page.get_mut(LEADING..TRAILING_AT),
                s.get(LEADING..TRAILING_AT),
            ) {
                dst.copy_from_slice(src);
            }
            if let (Some(dst), Some(src)) = (page.get_mut(TRAILING_AT..), d.get(4..8)) {
                dst.copy_from_slice(src);
            }
            ops.push(Op::Data {
                off,
                page: page.into_boxed_slice(),
            });
            data_sector = data_sector.saturating_add(1);
        } else {
            return Err(format!(
                "descriptor {i} has signature {:?}, expected \"zero\" or \"desc\"",
                String::from_utf8_lossy(d.get(..4).unwrap_or_default())
            ));
        }
    }
    Ok(())
}
