//! XFS inodes (`xfs_dinode`, core versions 1–3) and data-fork mapping: extent lists and extent
//! B-trees (`xfs_bmbt`), with depth, cycle and count bounds.

use super::{corrupt, verify_crc, XfsFs};
use crate::FsError;
use imgcheck_core::bytes::{u16_be, u32_be, u64_be, u8_at};
use std::collections::HashSet;

/// `IN`.
const DINODE_MAGIC: u16 = 0x494e;
/// Data fork formats (`xfs_dinode_fmt`).
pub(super) const FMT_LOCAL: u8 = 1;
pub(super) const FMT_EXTENTS: u8 = 2;
pub(super) const FMT_BTREE: u8 = 3;
/// `di_flags2` bits.
const DIFLAG2_BIGTIME: u64 = 1 << 3;
const DIFLAG2_NREXT64: u64 = 1 << 4;
/// Offset of `di_crc` and the size of the v3 core.
const DINODE_CRC_OFF: usize = 100;
const CORE_V3: usize = 176;
const CORE_V2: usize = 100;
/// Bmap B-tree block magics (`BMAP`, `BMA3`) and header sizes (long-pointer form).
const BMAP_MAGIC: u32 = 0x424d_4150;
const BMAP3_MAGIC: u32 = 0x424d_4133;
const BMBT_HDR_V4: usize = 24;
const BMBT_HDR_V5: usize = 72;
const BMBT_CRC_OFF: usize = 64;
/// Deepest extent B-tree walked (the kernel's maximum for 64-bit extent counts is 9 or 10).
const MAX_BMBT_LEVELS: u16 = 12;
/// Offset between bigtime nanoseconds' epoch and the Unix epoch, in seconds (`-S32_MIN`).
const BIGTIME_EPOCH_OFFSET: i64 = 1 << 31;

/// One mapping of file blocks to filesystem blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Extent {
    /// First file block.
    pub off: u64,
    /// First filesystem block (`xfs_fsblock_t`: AG number and AG block).
    pub start: u64,
    /// Blocks.
    pub len: u64,
    /// Preallocated, reads as zeros.
    pub unwritten: bool,
}

/// A parsed inode: the core fields and the raw bytes holding the forks.
#[derive(Debug, Clone)]
pub(super) struct Inode {
    pub ino: u64,
    pub mode: u16,
    pub format: u8,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
    pub crtime: Option<i64>,
    pub size: u64,
    pub nextents: u64,
    pub flags: u16,
    raw: Vec<u8>,
    fork_start: usize,
    fork_len: usize,
}

/// Decode an on-disk timestamp (8 bytes at `off`).
fn timestamp(b: &[u8], off: usize, bigtime: bool) -> Option<i64> {
    if bigtime {
        let ns = u64_be(b, off)?;
        let secs = i64::try_from(ns / 1_000_000_000).ok()?;
        secs.checked_sub(BIGTIME_EPOCH_OFFSET)
    } else {
        let secs = u32_be(b, off)?;
        Some(i64::from(i32::from_ne_bytes(secs.to_ne_bytes())))
    }
}

impl Inode {
    /// Parse the inode bytes `raw` of inode `ino`.
    pub(super) fn parse(fs: &XfsFs, ino: u64, raw: Vec<u8>) -> Result<Inode, FsError> {
        let what = || format!("inode {ino}");
        let bad = |p: String| corrupt(what(), p);
        let short = || bad("core lies outside the inode".into());
        let magic = u16_be(&raw, 0).ok_or_else(short)?;
        if magic != DINODE_MAGIC {
            return Err(bad(format!("magic {magic:#06x}, expected IN")));
        }
        let version = u8_at(&raw, 4).ok_or_else(short)?;
        let v5 = fs.sb.version == 5;
        match (version, v5) {
            (3, true) | (2, false) => {}
            (1, false) if fs.sb.v1_inodes_allowed() => {}
            _ => {
                return Err(bad(format!(
                    "inode version {version} on a version {} filesystem",
                    fs.sb.version
                )))
            }
        }
        let mut flags2 = 0;
        let core = if version == 3 {
            verify_crc(&raw, DINODE_CRC_OFF, &what())?;
            let on_disk = u64_be(&raw, 152).ok_or_else(short)?;
            if on_disk != ino {
                return Err(bad(format!("records inode number {on_disk}")));
            }
            let uuid = imgcheck_core::bytes::slice(&raw, 160, 16).ok_or_else(short)?;
            if uuid != fs.sb.meta_uuid {
                return Err(bad("belongs to another filesystem (uuid differs)".into()));
            }
            flags2 = u64_be(&raw, 120).ok_or_else(short)?;
            CORE_V3
        } else {
            CORE_V2
        };
        let bigtime = flags2 & DIFLAG2_BIGTIME != 0;
        let nlink = if version == 1 {
            u32::from(u16_be(&raw, 6).ok_or_else(short)?)
        } else {
            u32_be(&raw, 16).ok_or_else(short)?
        };
        let nextents = if flags2 & DIFLAG2_NREXT64 != 0 {
            u64_be(&raw, 24).ok_or_else(short)?
        } else {
            u64::from(u32_be(&raw, 76).ok_or_else(short)?)
        };
        let forkoff = usize::from(u8_at(&raw, 82).ok_or_else(short)?);
        let literal = raw.len().checked_sub(core).ok_or_else(short)?;
        let fork_len = if forkoff == 0 {
            literal
        } else {
            let l = forkoff.checked_mul(8).ok_or_else(short)?;
            if l >= literal {
                return Err(bad(format!(
                    "attribute fork offset {forkoff} beyond the inode"
                )));
            }
            l
        };
        let size = u64_be(&raw, 56).ok_or_else(short)?;
        if size > i64::MAX.unsigned_abs() {
            return Err(bad(format!("size {size}")));
        }
        Ok(Inode {
            ino,
            mode: u16_be(&raw, 2).ok_or_else(short)?,
            format: u8_at(&raw, 5).ok_or_else(short)?,
            uid: u32_be(&raw, 8).ok_or_else(short)?,
            gid: u32_be(&raw, 12).ok_or_else(short)?,
            nlink,
            atime: timestamp(&raw, 32, bigtime).ok_or_else(short)?,
            mtime: timestamp(&raw, 40, bigtime).ok_or_else(short)?,
            ctime: timestamp(&raw, 48, bigtime).ok_or_else(short)?,
            crtime: if version == 3 {
                Some(timestamp(&raw, 144, bigtime).ok_or_else(short)?)
            } else {
                None
            },
            size,
            nextents,
            flags: u16_be(&raw, 90).ok_or_else(short)?,
            raw,
            fork_start: core,
            fork_len,
        })
    }

    /// The data fork's bytes in the inode.
    pub(super) fn fork(&self) -> &[u8] {
        self.raw
            .get(self.fork_start..)
            .and_then(|r| r.get(..self.fork_len))
            .unwrap_or(&[])
    }

    /// File type bits of the mode.
    pub(super) fn ifmt(&self) -> u16 {
        self.mode & 0xf000
    }
}

/// Decode one 16-byte packed extent record.
fn unpack_extent(b: &[u8], off: usize) -> Option<Extent> {
    let l0 = u64_be(b, off)?;
    let l1 = u64_be(b, off.checked_add(8)?)?;
    Some(Extent {
        unwritten: l0 >> 63 != 0,
        off: (l0 & ((1 << 63) - 1)) >> 9,
        start: ((l0 & 0x1ff) << 43) | (l1 >> 21),
        len: l1 & ((1 << 21) - 1),
    })
}

impl XfsFs {
    /// The data fork's extents of `inode`, sorted by file block, checked for overlaps and for
    /// lying inside the filesystem. Local and device forks have none.
    pub(super) fn extents(&self, inode: &Inode) -> Result<Vec<Extent>, FsError> {
        let what = || format!("data fork of inode {}", inode.ino);
        let max = self.max_extents();
        let mut out = Vec::new();
        match inode.format {
            FMT_EXTENTS => {
                let n = usize::try_from(inode.nextents).unwrap_or(usize::MAX);
                if n.checked_mul(16).is_none_or(|b| b > inode.fork().len()) {
                    return Err(corrupt(
                        what(),
                        format!("{n} extents do not fit in the inode's fork"),
                    ));
                }
                for i in 0..n {
                    let off = i.saturating_mul(16);
                    out.push(
                        unpack_extent(inode.fork(), off)
                            .ok_or_else(|| corrupt(what(), "short extent record".into()))?,
                    );
                }
            }
            FMT_BTREE => {
                let root = inode.fork();
                let bad =
                    |p: String| corrupt(format!("extent B-tree root of inode {}", inode.ino), p);
                let level = u16_be(root, 0).ok_or_else(|| bad("short root".into()))?;
                let numrecs = usize::from(u16_be(root, 2).ok_or_else(|| bad("short root".into()))?);
                let maxrecs = root.len().saturating_sub(4) / 16;
                if level == 0 || level > MAX_BMBT_LEVELS || numrecs == 0 || numrecs > maxrecs {
                    return Err(bad(format!(
                        "level {level}, {numrecs} records (max {maxrecs})"
                    )));
                }
                let ptr_base = maxrecs.checked_mul(8).and_then(|x| x.checked_add(4));
                let mut visited = HashSet::new();
                for i in 0..numrecs {
                    let p = ptr_base
                        .and_then(|b| b.checked_add(i.checked_mul(8)?))
                        .and_then(|o| u64_be(root, o))
                        .ok_or_else(|| bad("short pointer".into()))?;
                    self.bmbt_walk(
                        inode.ino,
                        p,
                        level.saturating_sub(1),
                        &mut visited,
                        &mut out,
                        max,
                    )?;
                }
            }
            _ => return Ok(out),
        }
        out.sort_by_key(|e| e.off);
        let mut end = 0u64;
        for e in &out {
            if e.len == 0 || e.off < end {
                return Err(corrupt(
                    what(),
                    format!("extent at file block {} overlaps or is empty", e.off),
                ));
            }
            end = e
                .off
                .checked_add(e.len)
                .ok_or_else(|| corrupt(what(), "extent overflows".into()))?;
            self.check_extent(e).map_err(|p| corrupt(what(), p))?;
        }
        Ok(out)
    }

    /// Most extents collected for one fork (bounded memory).
    fn max_extents(&self) -> usize {
        usize::try_from(self.limits.max_table_bytes / 32).unwrap_or(usize::MAX)
    }

    /// Check that an extent's blocks lie inside one allocation group.
    fn check_extent(&self, e: &Extent) -> Result<(), String> {
        let agno = e.start >> self.sb.agblklog;
        let agbno = e.start & (1u64 << self.sb.agblklog).wrapping_sub(1);
        let end = agbno.checked_add(e.len);
        if agno >= u64::from(self.sb.agcount) || end.is_none_or(|x| x > u64::from(self.sb.agblocks))
        {
            return Err(format!(
                "extent of {} blocks at filesystem block {} lies outside its allocation group",
                e.len, e.start
            ));
        }
        Ok(())
    }

    /// Walk one extent B-tree block at `fsb` whose level must be `level`.
    fn bmbt_walk(
        &self,
        ino: u64,
        fsb: u64,
        level: u16,
        visited: &mut HashSet<u64>,
        out: &mut Vec<Extent>,
        max: usize,
    ) -> Result<(), FsError> {
        let what = || format!("extent B-tree block {fsb} of inode {ino}");
        if !visited.insert(fsb) {
            return Err(corrupt(what(), "visited twice (cyclic B-tree)".into()));
        }
        let (byte, block) = self.read_fsb(fsb, 1, &what())?;
        let bad = |p: String| corrupt(format!("{} at offset {byte}", what()), p);
        let v5 = self.sb.version == 5;
        let magic = u32_be(&block, 0).unwrap_or(0);
        let hdr = if v5 { BMBT_HDR_V5 } else { BMBT_HDR_V4 };
        if magic != if v5 { BMAP3_MAGIC } else { BMAP_MAGIC } {
            return Err(bad(format!("magic {magic:#010x}")));
        }
        if v5 {
            verify_crc(
                &block,
                BMBT_CRC_OFF,
                &format!("{} at offset {byte}", what()),
            )?;
            let blkno = u64_be(&block, 24).unwrap_or(0);
            let owner = u64_be(&block, 56).unwrap_or(0);
            if Some(blkno) != byte.checked_div(512) || owner != ino {
                return Err(bad(format!("records block {blkno} of owner {owner}")));
            }
        }
        let got_level = u16_be(&block, 4).unwrap_or(u16::MAX);
        let numrecs = usize::from(u16_be(&block, 6).unwrap_or(0));
        let maxrecs = block.len().saturating_sub(hdr) / 16;
        if got_level != level || numrecs == 0 || numrecs > maxrecs {
            return Err(bad(format!(
                "level {got_level} (expected {level}), {numrecs} records (max {maxrecs})"
            )));
        }
        for i in 0..numrecs {
            let rec = i.checked_mul(16).and_then(|x| x.checked_add(hdr));
            if level == 0 {
                if out.len() >= max {
                    return Err(FsError::Limit {
                        fs: "xfs",
                        path: format!("inode {ino}"),
                        what: "extents of one fork",
                        actual: u64::try_from(out.len()).unwrap_or(u64::MAX),
                        limit: u64::try_from(max).unwrap_or(u64::MAX),
                    });
                }
                let e = rec
                    .and_then(|o| unpack_extent(&block, o))
                    .ok_or_else(|| bad("short record".into()))?;
                out.push(e);
            } else {
                let p = maxrecs
                    .checked_mul(8)
                    .and_then(|x| x.checked_add(hdr))
                    .and_then(|x| x.checked_add(i.checked_mul(8)?))
                    .and_then(|o| u64_be(&block, o))
                    .ok_or_else(|| bad("short pointer".into()))?;
                self.bmbt_walk(ino, p, level.saturating_sub(1), visited, out, max)?;
            }
        }
        Ok(())
    }
}
