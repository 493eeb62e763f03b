//! A compact encoding of a large, mostly empty disk image, for the filesystem targets whose
//! smallest real image is hundreds of MiB (XFS, Btrfs) while a seed must stay under 64 KiB.
//!
//! ```text
//! header   u32 LE  image size in 4 KiB units (0 means 4 KiB)
//!          u8      flags: bit 0 = reseal checksums after decoding (see below)
//! records  u32 LE  byte offset / 16
//!          u16 LE  length in bytes
//!          [u8]    the bytes (a record cut short by the end of the input keeps what is there)
//! ```
//!
//! Bytes not covered by a record read as zero; a later record overwrites an earlier one. Records
//! past the image size are dropped. At most [`MAX_PAGES`] pages of [`PAGE`] bytes are held, so
//! one input never costs more than a few MiB.
//!
//! Resealing: a mutation of a checksummed metadata block is rejected by the reader at the first
//! checksum, so the fuzzer would spend its time on checksum failures. With flag bit 0 set, the
//! decoder recomputes the CRC32C of every block that looks like a checksummed structure of the
//! filesystem named by [`Reseal`] (XFS v5 superblock, inodes, directory data blocks, remote
//! symlink blocks, extent B-tree blocks; Btrfs superblock and tree blocks of the same fsid), so
//! that the parsers behind the checksums are reached. Seeds derived from real images carry the
//! flag; the fuzzer may clear it to exercise the checksum checks themselves.

use imgcheck_core::{BlockSource, ReadError};
use std::collections::BTreeMap;

/// Bytes per page of the decoded image.
pub const PAGE: usize = 16 << 10;
/// Pages held at most (8 MiB).
pub const MAX_PAGES: usize = 512;
/// Header bytes.
pub const HEADER: usize = 5;
/// Granularity of a record's offset.
pub const OFFSET_UNIT: u64 = 16;
/// Flag bit: reseal checksums.
pub const FLAG_RESEAL: u8 = 1;

/// Which checksums [`SparseImage::decode`] recomputes when the input asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reseal {
    /// Nothing.
    None,
    /// XFS v5 metadata CRCs.
    Xfs,
    /// Btrfs superblock and tree block CRC32C.
    Btrfs,
}

/// A decoded sparse image: a [`BlockSource`] of the declared size.
#[derive(Debug, Clone)]
pub struct SparseImage {
    len: u64,
    pages: BTreeMap<u64, Vec<u8>>,
}

fn page_size() -> u64 {
    u64::try_from(PAGE).unwrap_or(u64::MAX)
}

impl SparseImage {
    /// Decode `data`; `None` when it is shorter than the header.
    pub fn decode(data: &[u8], reseal: Reseal) -> Option<SparseImage> {
        let units = u32::from_le_bytes(data.get(0..4)?.try_into().ok()?);
        let flags = *data.get(4)?;
        let len = u64::from(units.max(1)).checked_mul(4096)?;
        let mut img = SparseImage {
            len,
            pages: BTreeMap::new(),
        };
        let mut rest = data.get(HEADER..)?;
        while rest.len() >= 6 {
            let (Some(o), Some(l)) = (rest.get(0..4), rest.get(4..6)) else {
                break;
            };
            let off = u64::from(u32::from_le_bytes(o.try_into().ok()?)).checked_mul(OFFSET_UNIT)?;
            let n = usize::from(u16::from_le_bytes(l.try_into().ok()?));
            let body = rest.get(6..).unwrap_or_default();
            let take = n.min(body.len());
            img.write(off, body.get(..take).unwrap_or_default());
            rest = body.get(take..).unwrap_or_default();
        }
        if flags & FLAG_RESEAL != 0 {
            match reseal {
                Reseal::None => {}
                Reseal::Xfs => img.reseal_xfs(),
                Reseal::Btrfs => img.reseal_btrfs(),
            }
        }
        Some(img)
    }

    /// Copy `bytes` to `off`, clipped to the image and to [`MAX_PAGES`].
    fn write(&mut self, off: u64, bytes: &[u8]) {
        let ps = page_size();
        let mut pos = off;
        let mut src = bytes;
        while !src.is_empty() && pos < self.len {
            let page = pos.checked_div(ps).unwrap_or(0);
            let in_page = usize::try_from(pos.checked_rem(ps).unwrap_or(0)).unwrap_or(0);
            let room = PAGE.saturating_sub(in_page);
            let left_in_image = usize::try_from(self.len.saturating_sub(pos)).unwrap_or(usize::MAX);
            let n = room.min(src.len()).min(left_in_image);
            if n == 0 {
                break;
            }
            if !self.pages.contains_key(&page) && self.pages.len() >= MAX_PAGES {
                return;
            }
            let p = self.pages.entry(page).or_insert_with(|| vec![0u8; PAGE]);
            if let (Some(d), Some(s)) =
                (p.get_mut(in_page..in_page.saturating_add(n)), src.get(..n))
            {
                d.copy_from_slice(s);
            }
            src = src.get(n..).unwrap_or_default();
            pos = pos.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }

    /// Recompute the CRC32C (of `block` with the 4 bytes at `crc_off` taken as zero, stored LE
    /// at `crc_off`: the XFS v5 convention).
    fn seal_xfs(block: &mut [u8], crc_off: usize) {
        let Some(end) = crc_off.checked_add(4).filter(|&e| e <= block.len()) else {
            return;
        };
        if let Some(f) = block.get_mut(crc_off..end) {
            f.fill(0);
        }
        let crc = crc32c::crc32c(block);
        if let Some(f) = block.get_mut(crc_off..end) {
            f.copy_from_slice(&crc.to_le_bytes());
        }
    }

    fn reseal_xfs(&mut self) {
        // Geometry from the primary superblock (offset 0).
        let Some(p0) = self.pages.get(&0) else {
            return;
        };
        if p0.get(0..4) != Some(b"XFSB") {
            return;
        }
        let be16 = |b: &[u8], o: usize| {
            b.get(o..o.saturating_add(2))
                .and_then(|s| s.try_into().ok())
                .map_or(0, u16::from_be_bytes)
        };
        let version = be16(p0, 100) & 0xf;
        if version != 5 {
            return;
        }
        let blocksize = p0
            .get(4..8)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u32::from_be_bytes);
        let sectsize = usize::from(be16(p0, 102));
        let inodesize = usize::from(be16(p0, 104));
        let dirblklog = u32::from(p0.get(192).copied().unwrap_or(0));
        let Ok(bs) = usize::try_from(blocksize) else {
            return;
        };
        let dirbs = 1usize
            .checked_shl(dirblklog)
            .and_then(|m| m.checked_mul(bs))
            .unwrap_or(0);
        let ok = |s: usize| (256..=PAGE).contains(&s) && s.is_power_of_two();
        for page in self.pages.values_mut() {
            // Sectors/inodes first (512-byte steps), then whole blocks.
            let mut at = 0usize;
            while at < PAGE {
                let magic = page.get(at..at.saturating_add(4)).unwrap_or_default();
                let structure: Option<(usize, usize)> = match magic {
                    b"XFSB" if ok(sectsize) => Some((sectsize, 224)),
                    [b'I', b'N', _, 3] if ok(inodesize) => Some((inodesize, 100)),
                    b"XDB3" | b"XDD3" if ok(dirbs) => Some((dirbs, 4)),
                    b"XSLM" if ok(bs) => Some((bs, 12)),
                    b"BMA3" if ok(bs) => Some((bs, 64)),
                    _ => None,
                };
                if let Some((size, crc_off)) = structure {
                    if at.checked_rem(size) == Some(0) {
                        if let Some(b) = page.get_mut(at..at.saturating_add(size)) {
                            Self::seal_xfs(b, crc_off);
                        }
                    }
                }
                at = at.saturating_add(256);
            }
        }
    }

    fn reseal_btrfs(&mut self) {
        /// Superblock copies: primary, then the mirrors at 64 MiB and 256 GiB.
        const SUPERS: [u64; 3] = [0x1_0000, 0x400_0000, 0x40_0000_0000];
        let ps = page_size();
        let mut geometry: Option<(Vec<u8>, u32, u16)> = None;
        for at in SUPERS {
            let in_page = usize::try_from(at.checked_rem(ps).unwrap_or(0)).unwrap_or(0);
            let Some(sb) = self
                .pages
                .get_mut(&at.checked_div(ps).unwrap_or(0))
                .and_then(|p| p.get_mut(in_page..in_page.saturating_add(4096)))
            else {
                continue;
            };
            if sb.get(0x40..0x48) != Some(b"_BHRfS_M") {
                continue;
            }
            let csum_type = sb
                .get(0xC4..0xC6)
                .and_then(|s| s.try_into().ok())
                .map_or(0, u16::from_le_bytes);
            seal_btrfs_block(sb, csum_type);
            if geometry.is_none() {
                let fsid = sb.get(0x20..0x30).unwrap_or_default().to_vec();
                let nodesize = sb
                    .get(0x94..0x98)
                    .and_then(|s| s.try_into().ok())
                    .map_or(0, u32::from_le_bytes);
                geometry = Some((fsid, nodesize, csum_type));
            }
        }
        let Some((fsid, nodesize, csum_type)) = geometry else {
            return;
        };
        let Ok(ns) = usize::try_from(nodesize) else {
            return;
        };
        if !(4096..=PAGE).contains(&ns) || !ns.is_power_of_two() {
            return;
        }
        for (&idx, page) in &mut self.pages {
            let mut at = 0usize;
            while at < PAGE {
                let abs = idx
                    .checked_mul(ps)
                    .and_then(|b| b.checked_add(u64::try_from(at).ok()?));
                let is_sb = abs.is_some_and(|a| SUPERS.contains(&a));
                if !is_sb
                    && page.get(at.saturating_add(0x20)..at.saturating_add(0x30)) == Some(&fsid[..])
                {
                    if let Some(b) = page.get_mut(at..at.saturating_add(ns)) {
                        seal_btrfs_block(b, csum_type);
                    }
                }
                at = at.saturating_add(ns);
            }
        }
    }
}

/// Write the Btrfs checksum of `block[32..]` (CRC32C, xxHash64, SHA-256 or BLAKE2b-256, as
/// the superblock's `csum_type` says) into the start of its 32-byte checksum field; blocks of
/// an unknown type are left as they are.
fn seal_btrfs_block(block: &mut [u8], csum_type: u16) {
    let Some(sum) = imgcheck_fs::btrfs_checksum(csum_type, block.get(32..).unwrap_or_default())
    else {
        return;
    };
    if let Some(f) = block.get_mut(..sum.len().min(32)) {
        f.copy_from_slice(sum.get(..f.len()).unwrap_or_default());
    }
}

impl BlockSource for SparseImage {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        let n = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if offset.checked_add(n).is_none_or(|e| e > self.len) {
            return Err(ReadError::OutOfBounds {
                offset,
                len: n,
                size: self.len,
            });
        }
        let ps = page_size();
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset.saturating_add(u64::try_from(done).unwrap_or(u64::MAX));
            let in_page = usize::try_from(pos.checked_rem(ps).unwrap_or(0)).unwrap_or(0);
            let k = PAGE
                .saturating_sub(in_page)
                .min(buf.len().saturating_sub(done));
            let Some(dst) = buf.get_mut(done..done.saturating_add(k)) else {
                break;
            };
            match self
                .pages
                .get(&pos.checked_div(ps).unwrap_or(0))
                .and_then(|p| p.get(in_page..in_page.saturating_add(k)))
            {
                Some(src) => dst.copy_from_slice(src),
                None => dst.fill(0),
            }
            done = done.saturating_add(k.max(1));
        }
        Ok(())
    }
}

/// Encode the `blocks` (offset, bytes) of an image of `len` bytes, dropping zero runs of 32
/// bytes or more, until the encoding would exceed `max_bytes`. Returns the encoding and the
/// number of blocks that fit. Used by the seed maker (`examples/sparse_seed.rs`).
pub fn encode(
    len: u64,
    flags: u8,
    blocks: &[(u64, Vec<u8>)],
    max_bytes: usize,
) -> (Vec<u8>, usize) {
    let units = u32::try_from(len.div_ceil(4096)).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    out.extend_from_slice(&units.to_le_bytes());
    out.push(flags);
    let mut fitted = 0usize;
    for (off, bytes) in blocks {
        let mut rec = Vec::new();
        for (s, e) in nonzero_runs(bytes) {
            // Align the start down to the offset unit.
            let abs = off.saturating_add(u64::try_from(s).unwrap_or(u64::MAX));
            let back = usize::try_from(abs % OFFSET_UNIT).unwrap_or(0);
            let s = s.saturating_sub(back);
            let abs = abs.saturating_sub(u64::try_from(back).unwrap_or(0));
            let Ok(unit) = u32::try_from(abs / OFFSET_UNIT) else {
                continue;
            };
            let mut p = s;
            while p < e {
                let q = e.min(p.saturating_add(usize::from(u16::MAX) & !15));
                let at =
                    unit.saturating_add(u32::try_from((p.saturating_sub(s)) / 16).unwrap_or(0));
                rec.extend_from_slice(&at.to_le_bytes());
                rec.extend_from_slice(
                    &u16::try_from(q.saturating_sub(p))
                        .unwrap_or(0)
                        .to_le_bytes(),
                );
                rec.extend_from_slice(bytes.get(p..q).unwrap_or_default());
                p = q;
            }
        }
        if out.len().saturating_add(rec.len()) > max_bytes {
            break;
        }
        out.extend_from_slice(&rec);
        fitted = fitted.saturating_add(1);
    }
    (out, fitted)
}

/// `[start, end)` ranges of `b` holding its non-zero bytes, gaps of fewer than 32 zeros merged.
fn nonzero_runs(b: &[u8]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0usize;
    while i < b.len() {
        if b.get(i) == Some(&0) {
            i = i.saturating_add(1);
            continue;
        }
        let start = i;
        let mut end = i;
        let mut zeros = 0usize;
        while i < b.len() {
            if b.get(i) == Some(&0) {
                zeros = zeros.saturating_add(1);
                if zeros >= 32 {
                    break;
                }
            } else {
                zeros = 0;
                end = i.saturating_add(1);
            }
            i = i.saturating_add(1);
        }
        runs.push((start, end));
    }
    runs
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::as_conversions
    )]
    use super::*;

    #[test]
    fn round_trip() {
        let mut a = vec![0u8; 8192];
        a[3] = 1;
        a[100..140].fill(7);
        a[8191] = 9;
        let b = vec![5u8; 70_000];
        let blocks = vec![(1 << 30, a.clone()), (12_345 * 16, b.clone())];
        let (enc, n) = encode(2 << 30, 0, &blocks, 1 << 20);
        assert_eq!(n, 2);
        let img = SparseImage::decode(&enc, Reseal::None).unwrap();
        assert_eq!(img.len(), 2 << 30);
        let mut got = vec![0u8; 8192];
        img.read_exact_at(&mut got, 1 << 30).unwrap();
        assert_eq!(got, a);
        let mut got = vec![0u8; 70_000];
        img.read_exact_at(&mut got, 12_345 * 16).unwrap();
        assert_eq!(got, b);
        let mut z = vec![1u8; 100];
        img.read_exact_at(&mut z, 5000).unwrap();
        assert!(z.iter().all(|&x| x == 0));
        assert!(img.read_exact_at(&mut z, (2 << 30) - 50).is_err());
        // Budget: only the first block fits.
        let (_, n) = encode(2 << 30, 0, &blocks, 200);
        assert_eq!(n, 1);
    }

    #[test]
    fn page_cap_and_short_inputs() {
        assert!(SparseImage::decode(&[1, 0, 0], Reseal::None).is_none());
        let mut enc = vec![0xff, 0xff, 0xff, 0xff, 0];
        for k in 0..(MAX_PAGES as u32 + 10) {
            enc.extend_from_slice(&(k * 1024).to_le_bytes());
            enc.extend_from_slice(&1u16.to_le_bytes());
            enc.push(1);
        }
        let img = SparseImage::decode(&enc, Reseal::Btrfs).unwrap();
        assert_eq!(img.pages.len(), MAX_PAGES);
    }
}
