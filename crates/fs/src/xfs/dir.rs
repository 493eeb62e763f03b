//! XFS directories, version 2 and 3: short-form (in the inode) and the data blocks of block,
//! leaf, node and B-tree directories. Every form keeps its entries in data blocks below
//! `XFS_DIR2_LEAF_OFFSET` (32 GiB into the directory's address space); the leaf and free-index
//! blocks above it only speed up lookups, so this reader walks the data blocks and ignores the
//! hash index (lookups scan the cached listing instead).

use super::inode::{Extent, Inode, FMT_BTREE, FMT_EXTENTS, FMT_LOCAL};
use super::{corrupt, verify_crc, XfsFs};
use crate::FsError;
use imgcheck_core::bytes::{u16_be, u32_be, u64_be, u8_at};

/// Data block magics: `XD2B`/`XD2D` (v4), `XDB3`/`XDD3` (v5).
const BLOCK_MAGIC: u32 = 0x5844_3242;
const DATA_MAGIC: u32 = 0x5844_3244;
const BLOCK3_MAGIC: u32 = 0x5844_4233;
const DATA3_MAGIC: u32 = 0x5844_4433;
/// Header sizes and the v5 checksum offset.
const DATA_HDR_V4: usize = 16;
const DATA_HDR_V5: usize = 64;
const DIR3_CRC_OFF: usize = 4;
/// Byte offset of the leaf section of a directory's address space.
const LEAF_OFFSET_BYTES: u64 = 32 << 30;
/// Unused-space tag.
const FREE_TAG: u16 = 0xffff;

/// One raw directory entry.
#[derive(Debug, Clone)]
pub(super) struct RawEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    /// `XFS_DIR3_FT_*`, 0 when the filesystem has no ftype field.
    pub ftype: u8,
}

fn limit_err(fs: &XfsFs, path: &str, n: usize) -> FsError {
    FsError::Limit {
        fs: "xfs",
        path: path.to_string(),
        what: "directory entries",
        actual: u64::try_from(n).unwrap_or(u64::MAX),
        limit: fs.limits.max_dir_entries,
    }
}

/// Why `name` cannot be a directory entry's name, if it cannot: a name with `/` or NUL could not
/// be addressed by a path (and would alias another file), `.` and `..` are not stored in
/// short-form directories and are skipped in block ones.
fn invalid_name(name: &[u8]) -> Option<String> {
    (name.contains(&b'/') || name.contains(&0) || name == b"." || name == b"..")
        .then(|| format!("invalid name {:?}", String::from_utf8_lossy(name)))
}

fn push(fs: &XfsFs, path: &str, out: &mut Vec<RawEntry>, e: RawEntry) -> Result<(), FsError> {
    if u64::try_from(out.len()).unwrap_or(u64::MAX) >= fs.limits.max_dir_entries {
        return Err(limit_err(fs, path, out.len().saturating_add(1)));
    }
    out.push(e);
    Ok(())
}

impl XfsFs {
    /// Every entry of directory `dir` except `.` and `..`, in on-disk order.
    pub(super) fn dir_entries(&self, dir: &Inode, path: &str) -> Result<Vec<RawEntry>, FsError> {
        match dir.format {
            FMT_LOCAL => self.shortform(dir, path),
            FMT_EXTENTS | FMT_BTREE => self.data_blocks(dir, path),
            f => Err(corrupt(
                format!("directory inode {} ({path})", dir.ino),
                format!("data fork format {f}"),
            )),
        }
    }

    fn shortform(&self, dir: &Inode, path: &str) -> Result<Vec<RawEntry>, FsError> {
        let b = dir.fork();
        let what = || format!("short-form directory in inode {} ({path})", dir.ino);
        let short = || corrupt(what(), "entry runs past the fork".into());
        let count = u8_at(b, 0).ok_or_else(short)?;
        let i8count = u8_at(b, 1).ok_or_else(short)?;
        let inosize: usize = if i8count != 0 { 8 } else { 4 };
        let size = usize::try_from(dir.size).unwrap_or(usize::MAX);
        if size > b.len() {
            return Err(corrupt(
                what(),
                format!("size {size} exceeds the fork of {}", b.len()),
            ));
        }
        let b = b.get(..size).ok_or_else(short)?;
        let read_ino = |off: usize| -> Option<u64> {
            if inosize == 8 {
                u64_be(b, off)
            } else {
                u32_be(b, off).map(u64::from)
            }
        };
        let mut pos = 2usize.checked_add(inosize).ok_or_else(short)?;
        read_ino(2).ok_or_else(short)?;
        let ft = usize::from(self.sb.ftype);
        let mut out = Vec::new();
        for _ in 0..count {
            let namelen = usize::from(u8_at(b, pos).ok_or_else(short)?);
            if namelen == 0 {
                return Err(corrupt(what(), "empty name".into()));
            }
            let name_at = pos.checked_add(3).ok_or_else(short)?;
            let name = imgcheck_core::bytes::slice(b, name_at, namelen).ok_or_else(short)?;
            if let Some(problem) = invalid_name(name) {
                return Err(corrupt(what(), format!("{problem} at offset {pos}")));
            }
            let after = name_at.checked_add(namelen).ok_or_else(short)?;
            let ftype = if ft == 1 {
                u8_at(b, after).ok_or_else(short)?
            } else {
                0
            };
            let ino_at = after.checked_add(ft).ok_or_else(short)?;
            let ino = read_ino(ino_at).ok_or_else(short)?;
            push(
                self,
                path,
                &mut out,
                RawEntry {
                    name: name.to_vec(),
                    ino,
                    ftype,
                },
            )?;
            pos = ino_at.checked_add(inosize).ok_or_else(short)?;
        }
        Ok(out)
    }

    /// Walk the data blocks (below the leaf offset) of a block/leaf/node/B-tree directory.
    fn data_blocks(&self, dir: &Inode, path: &str) -> Result<Vec<RawEntry>, FsError> {
        let extents = self.extents(dir)?;
        let fsb_per_dirblk = 1u64 << self.sb.dirblklog;
        let leaf_block = LEAF_OFFSET_BYTES >> self.sb.blocklog;
        let mut out = Vec::new();
        for e in &extents {
            let end = e.off.saturating_add(e.len).min(leaf_block);
            let mut b = e.off;
            // The first directory-block boundary at or after the extent's start.
            let rem = b.checked_rem(fsb_per_dirblk).unwrap_or(0);
            if rem != 0 {
                b = b.saturating_add(fsb_per_dirblk.saturating_sub(rem));
            }
            while b < end {
                let block = self.read_logical(dir, &extents, b, fsb_per_dirblk, path)?;
                let daddr = map_block(&extents, b)
                    .and_then(|fsb| self.fsb_byte(fsb))
                    .and_then(|x| x.checked_div(512));
                self.parse_data_block(dir, path, b, daddr, &block, &mut out)?;
                b = b.saturating_add(fsb_per_dirblk);
            }
        }
        Ok(out)
    }

    /// Read `count` file blocks from file block `first` of `inode` (no holes allowed).
    pub(super) fn read_logical(
        &self,
        inode: &Inode,
        extents: &[Extent],
        first: u64,
        count: u64,
        path: &str,
    ) -> Result<Vec<u8>, FsError> {
        let bs = u64::from(self.sb.block_size);
        let mut buf = Vec::new();
        for fb in first..first.saturating_add(count) {
            let fsb = map_block(extents, fb).ok_or_else(|| {
                corrupt(
                    format!("inode {} ({path})", inode.ino),
                    format!("file block {fb} of a directory or symlink is not mapped"),
                )
            })?;
            let (_, data) = self.read_fsb(fsb, 1, &format!("block {fb} of inode {}", inode.ino))?;
            if u64::try_from(data.len()).ok() != Some(bs) {
                return Err(corrupt(
                    format!("inode {}", inode.ino),
                    "short block".into(),
                ));
            }
            buf.extend_from_slice(&data);
        }
        Ok(buf)
    }

    fn parse_data_block(
        &self,
        dir: &Inode,
        path: &str,
        fblock: u64,
        daddr: Option<u64>,
        b: &[u8],
        out: &mut Vec<RawEntry>,
    ) -> Result<(), FsError> {
        let what = || format!("directory block {fblock} of inode {} ({path})", dir.ino);
        let bad = |p: String| corrupt(what(), p);
        let v5 = self.sb.version == 5;
        let magic = u32_be(b, 0).ok_or_else(|| bad("short block".into()))?;
        let (is_block, hdr) = match (magic, v5) {
            (BLOCK_MAGIC, false) => (true, DATA_HDR_V4),
            (DATA_MAGIC, false) => (false, DATA_HDR_V4),
            (BLOCK3_MAGIC, true) => (true, DATA_HDR_V5),
            (DATA3_MAGIC, true) => (false, DATA_HDR_V5),
            _ => return Err(bad(format!("magic {magic:#010x}"))),
        };
        if v5 {
            verify_crc(b, DIR3_CRC_OFF, &what())?;
            let blkno = u64_be(b, 8).unwrap_or(0);
            let owner = u64_be(b, 40).unwrap_or(0);
            if owner != dir.ino || daddr.is_some_and(|d| d != blkno) {
                return Err(bad(format!("records block {blkno} of owner {owner}")));
            }
        }
        let mut end = b.len();
        if is_block {
            // Tail: leaf count and stale count; the leaf entries precede it.
            let tail = end
                .checked_sub(8)
                .ok_or_else(|| bad("short block".into()))?;
            let count = usize::try_from(u32_be(b, tail).unwrap_or(u32::MAX)).unwrap_or(usize::MAX);
            end = count
                .checked_mul(8)
                .and_then(|l| tail.checked_sub(l))
                .filter(|&e| e >= hdr)
                .ok_or_else(|| bad(format!("{count} leaf entries do not fit")))?;
        }
        let ft = usize::from(self.sb.ftype);
        let mut pos = hdr;
        while pos < end {
            let short = || bad(format!("entry at offset {pos} runs past the block"));
            if u16_be(b, pos).ok_or_else(short)? == FREE_TAG {
                let len = usize::from(
                    u16_be(b, pos.checked_add(2).ok_or_else(short)?).ok_or_else(short)?,
                );
                if len < 8 || len % 8 != 0 || pos.checked_add(len).is_none_or(|e| e > end) {
                    return Err(bad(format!("free space of {len} bytes at offset {pos}")));
                }
                pos = pos.saturating_add(len);
                continue;
            }
            let ino = u64_be(b, pos).ok_or_else(short)?;
            let namelen =
                usize::from(u8_at(b, pos.checked_add(8).ok_or_else(short)?).ok_or_else(short)?);
            if namelen == 0 {
                return Err(bad(format!("empty name at offset {pos}")));
            }
            let name_at = pos.checked_add(9).ok_or_else(short)?;
            let name = imgcheck_core::bytes::slice(b, name_at, namelen).ok_or_else(short)?;
            let after = name_at.checked_add(namelen).ok_or_else(short)?;
            let ftype = if ft == 1 {
                u8_at(b, after).ok_or_else(short)?
            } else {
                0
            };
            // inumber, namelen, name, ftype, tag: rounded up to 8 bytes.
            let raw_len = 8usize
                .checked_add(1)
                .and_then(|x| x.checked_add(namelen))
                .and_then(|x| x.checked_add(ft))
                .and_then(|x| x.checked_add(2))
                .ok_or_else(short)?;
            let len = raw_len.checked_add(7).ok_or_else(short)? & !7;
            let next = pos
                .checked_add(len)
                .filter(|&n| n <= end)
                .ok_or_else(short)?;
            let tag = u16_be(b, next.checked_sub(2).ok_or_else(short)?).ok_or_else(short)?;
            if usize::from(tag) != pos {
                return Err(bad(format!("entry at offset {pos} has tag {tag}")));
            }
            if name != b"." && name != b".." {
                if let Some(problem) = invalid_name(name) {
                    return Err(bad(format!("{problem} at offset {pos}")));
                }
                push(
                    self,
                    path,
                    out,
                    RawEntry {
                        name: name.to_vec(),
                        ino,
                        ftype,
                    },
                )?;
            }
            pos = next;
        }
        Ok(())
    }
}

/// The filesystem block holding file block `fblock`, if mapped (and written).
pub(super) fn map_block(extents: &[Extent], fblock: u64) -> Option<u64> {
    // `extents` is sorted by file block and free of overlaps.
    let i = extents.partition_point(|e| e.off <= fblock);
    let e = extents.get(i.checked_sub(1)?)?;
    let rel = fblock.checked_sub(e.off)?;
    if rel >= e.len || e.unwritten {
        return None;
    }
    e.start.checked_add(rel)
}
