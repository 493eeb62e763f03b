//! The XFS superblock (`xfs_dsb` in the kernel's `xfs_format.h`, big-endian): geometry, counters,
//! feature bits, and the v5 checksum.

use super::{corrupt, verify_crc};
use crate::FsError;
use imgcheck_core::bytes::{u16_be, u32_be, u64_be, u8_at};

/// `XFSB`.
pub(super) const SB_MAGIC: u32 = 0x5846_5342;
/// `sb_versionnum` bits (v4 feature bits).
const VERSION_NUMBITS: u16 = 0x000f;
const VERSION_DIRV2BIT: u16 = 0x2000;
const VERSION_NLINKBIT: u16 = 0x0020;
const VERSION_MOREBITSBIT: u16 = 0x8000;
/// `sb_features2`: file type in directory entries (v4).
const FEATURES2_FTYPE: u32 = 0x0200;
/// `sb_features_incompat` (v5).
const INCOMPAT_FTYPE: u32 = 0x1;
const INCOMPAT_META_UUID: u32 = 0x4;
/// `sb_features_incompat`: xfs_repair was interrupted; the kernel refuses to mount.
pub(super) const INCOMPAT_NEEDSREPAIR: u32 = 0x10;
/// Incompatible features this reader knows to be harmless for reading files: ftype, sparse
/// inodes, meta_uuid, bigtime, needsrepair, nrext64, exchrange (log items only), parent pointers
/// (extended attributes), metadir (metadata inodes only).
const INCOMPAT_KNOWN: u32 = 0x1ff;
/// Offset of `sb_crc`.
const SB_CRC_OFF: usize = 224;

/// The facts of the primary superblock this reader uses.
#[derive(Debug, Clone)]
pub(super) struct Superblock {
    pub block_size: u32,
    pub blocklog: u32,
    pub dblocks: u64,
    pub uuid: [u8; 16],
    /// The uuid stamped into v5 metadata (`sb_meta_uuid` with the meta_uuid feature).
    pub meta_uuid: [u8; 16],
    pub logstart: u64,
    pub rootino: u64,
    pub agblocks: u32,
    pub agcount: u32,
    pub logblocks: u32,
    pub version: u16,
    pub versionnum: u16,
    pub inode_size: u32,
    pub label: Option<String>,
    pub inopblog: u32,
    pub agblklog: u32,
    pub ifree: u64,
    pub icount: u64,
    pub fdblocks: u64,
    /// `sb_imax_pct`: the most of the space inodes may take, in percent (0: no limit).
    pub imax_pct: u8,
    pub dirblklog: u32,
    pub features2: u32,
    pub compat: u32,
    pub ro_compat: u32,
    pub incompat: u32,
    pub log_incompat: u32,
    pub ftype: bool,
}

fn field<T>(v: Option<T>, name: &str) -> Result<T, FsError> {
    v.ok_or_else(|| {
        corrupt(
            "superblock at offset 0".into(),
            format!("{name} lies outside the sector"),
        )
    })
}

fn log2_exact(v: u64) -> Option<u32> {
    if v.is_power_of_two() {
        Some(v.trailing_zeros())
    } else {
        None
    }
}

impl Superblock {
    /// Parse and validate the superblock sector `b` (at least 512 bytes).
    pub(super) fn parse(b: &[u8]) -> Result<Superblock, FsError> {
        let bad = |problem: String| corrupt("superblock at offset 0".into(), problem);
        let magic = field(u32_be(b, 0), "sb_magicnum")?;
        if magic != SB_MAGIC {
            return Err(bad(format!("magic {magic:#010x}, expected XFSB")));
        }
        let block_size = field(u32_be(b, 4), "sb_blocksize")?;
        let versionnum = field(u16_be(b, 100), "sb_versionnum")?;
        let version = versionnum & VERSION_NUMBITS;
        if version != 4 && version != 5 {
            return Err(bad(format!("version {version}; versions 4 and 5 are read")));
        }
        let sectsize = field(u16_be(b, 102), "sb_sectsize")?;
        let inode_size = u32::from(field(u16_be(b, 104), "sb_inodesize")?);
        let inopblock = u32::from(field(u16_be(b, 106), "sb_inopblock")?);
        let blocklog = u32::from(field(u8_at(b, 120), "sb_blocklog")?);
        let inodelog = u32::from(field(u8_at(b, 122), "sb_inodelog")?);
        let inopblog = u32::from(field(u8_at(b, 123), "sb_inopblog")?);
        let agblklog = u32::from(field(u8_at(b, 124), "sb_agblklog")?);
        let dirblklog = u32::from(field(u8_at(b, 192), "sb_dirblklog")?);
        let agblocks = field(u32_be(b, 84), "sb_agblocks")?;
        let agcount = field(u32_be(b, 88), "sb_agcount")?;
        if !(512..=65536).contains(&block_size)
            || log2_exact(u64::from(block_size)) != Some(blocklog)
        {
            return Err(bad(format!(
                "block size {block_size} with blocklog {blocklog}"
            )));
        }
        if !(256..=2048).contains(&inode_size)
            || log2_exact(u64::from(inode_size)) != Some(inodelog)
            || inode_size > block_size
            || block_size.checked_div(inode_size) != Some(inopblock)
            || log2_exact(u64::from(inopblock)) != Some(inopblog)
        {
            return Err(bad(format!(
                "inode size {inode_size} (log {inodelog}), {inopblock} per block (log {inopblog})"
            )));
        }
        if !(512..=32768).contains(&sectsize) || !sectsize.is_power_of_two() {
            return Err(bad(format!("sector size {sectsize}")));
        }
        // agblklog is log2 of agblocks rounded up.
        let want_agblklog = u64::from(agblocks)
            .checked_next_power_of_two()
            .map(u64::trailing_zeros);
        if agblocks < 64 || agcount == 0 || want_agblklog != Some(agblklog) {
            return Err(bad(format!(
                "{agcount} allocation groups of {agblocks} blocks (agblklog {agblklog})"
            )));
        }
        if dirblklog > 16 || blocklog.checked_add(dirblklog).is_none_or(|l| l > 16) {
            return Err(bad(format!("directory block log {dirblklog}")));
        }
        if inopblog.checked_add(agblklog).is_none_or(|l| l > 56) {
            return Err(bad("inode number layout wider than 56 bits".into()));
        }
        if version == 5 {
            verify_crc(
                b.get(..usize::from(sectsize))
                    .ok_or_else(|| bad("short sector".into()))?,
                SB_CRC_OFF,
                "superblock at offset 0",
            )?;
        } else if versionnum & VERSION_DIRV2BIT == 0 {
            return Err(FsError::Unsupported {
                fs: "xfs",
                path: "/".into(),
                feature: "version 1 directories".into(),
            });
        }
        let features2 = if version == 5 || versionnum & VERSION_MOREBITSBIT != 0 {
            field(u32_be(b, 200), "sb_features2")?
        } else {
            0
        };
        let (compat, ro_compat, incompat, log_incompat) = if version == 5 {
            (
                field(u32_be(b, 208), "sb_features_compat")?,
                field(u32_be(b, 212), "sb_features_ro_compat")?,
                field(u32_be(b, 216), "sb_features_incompat")?,
                field(u32_be(b, 220), "sb_features_log_incompat")?,
            )
        } else {
            (0, 0, 0, 0)
        };
        if incompat & !INCOMPAT_KNOWN != 0 {
            return Err(FsError::Unsupported {
                fs: "xfs",
                path: "/".into(),
                feature: format!(
                    "incompatible feature bits {:#x}",
                    incompat & !INCOMPAT_KNOWN
                ),
            });
        }
        let uuid: [u8; 16] = field(imgcheck_core::bytes::array(b, 32), "sb_uuid")?;
        let meta_uuid = if version == 5 && incompat & INCOMPAT_META_UUID != 0 {
            field(imgcheck_core::bytes::array(b, 248), "sb_meta_uuid")?
        } else {
            uuid
        };
        let fname = field(imgcheck_core::bytes::slice(b, 108, 12), "sb_fname")?;
        let end = fname.iter().position(|&c| c == 0).unwrap_or(fname.len());
        let label = fname.get(..end).filter(|l| !l.is_empty());
        let ftype = if version == 5 {
            incompat & INCOMPAT_FTYPE != 0
        } else {
            features2 & FEATURES2_FTYPE != 0
        };
        Ok(Superblock {
            block_size,
            blocklog,
            dblocks: field(u64_be(b, 8), "sb_dblocks")?,
            uuid,
            meta_uuid,
            logstart: field(u64_be(b, 48), "sb_logstart")?,
            rootino: field(u64_be(b, 56), "sb_rootino")?,
            agblocks,
            agcount,
            logblocks: field(u32_be(b, 96), "sb_logblocks")?,
            version,
            versionnum,
            inode_size,
            label: label.map(|l| String::from_utf8_lossy(l).into_owned()),
            inopblog,
            agblklog,
            icount: field(u64_be(b, 128), "sb_icount")?,
            ifree: field(u64_be(b, 136), "sb_ifree")?,
            fdblocks: field(u64_be(b, 144), "sb_fdblocks")?,
            imax_pct: field(b.get(127).copied(), "sb_imax_pct")?,
            dirblklog,
            features2,
            compat,
            ro_compat,
            incompat,
            log_incompat,
            ftype,
        })
    }

    /// Free inodes as `statfs` reports them: XFS allocates inodes on demand, so the free count is
    /// the allocated-but-unused inodes plus as many as the free blocks could hold, capped by
    /// `imax_pct` of the space (the kernel's `xfs_fs_statfs`).
    pub(super) fn free_inodes(&self) -> u64 {
        let used = self.icount.saturating_sub(self.ifree.min(self.icount));
        let room = self.icount.saturating_add(
            self.fdblocks
                .min(self.dblocks)
                .checked_shl(self.inopblog)
                .unwrap_or(u64::MAX),
        );
        let max = if self.imax_pct == 0 {
            u64::MAX
        } else {
            u64::try_from(
                u128::from(self.dblocks)
                    .saturating_mul(u128::from(self.imax_pct))
                    .checked_div(100)
                    .unwrap_or(0),
            )
            .unwrap_or(u64::MAX)
            .checked_shl(self.inopblog)
            .unwrap_or(u64::MAX)
        };
        room.min(max).max(self.icount).saturating_sub(used)
    }

    /// Whether v1 inodes (16-bit link count) may exist: v4 without the nlink bit.
    pub(super) fn v1_inodes_allowed(&self) -> bool {
        self.version == 4 && self.versionnum & VERSION_NLINKBIT == 0
    }

    /// Feature names, sorted.
    pub(super) fn features(&self) -> Vec<String> {
        let mut out = vec![format!("version {}", self.version)];
        let named = |bits: u32, table: &[(u32, &str)], out: &mut Vec<String>, what: &str| {
            let mut rest = bits;
            for (bit, name) in table {
                if bits & bit != 0 {
                    out.push((*name).to_string());
                    rest &= !bit;
                }
            }
            if rest != 0 {
                out.push(format!("{what} {rest:#x}"));
            }
        };
        if self.version == 4 {
            let v4: &[(u32, &str)] = &[
                (0x0010, "attr"),
                (0x0020, "nlink"),
                (0x0040, "quota"),
                (0x0080, "align"),
                (0x0100, "dalign"),
                (0x0200, "shared"),
                (0x0400, "logv2"),
                (0x0800, "sector"),
                (0x1000, "extflg"),
                (0x2000, "dirv2"),
                (0x4000, "borg"),
            ];
            named(
                u32::from(self.versionnum & 0x7ff0),
                v4,
                &mut out,
                "versionnum",
            );
        } else {
            out.push("crc".into());
        }
        let f2: &[(u32, &str)] = &[
            (0x0002, "lazy_count"),
            (0x0008, "attr2"),
            (0x0010, "parent"),
            (0x0080, "projid32"),
            (0x0100, "crc"),
            (0x0200, "ftype"),
        ];
        named(self.features2 & !0x0100 & !0x1, f2, &mut out, "features2");
        if self.version == 5 {
            named(self.compat, &[], &mut out, "compat");
            let ro: &[(u32, &str)] = &[
                (0x1, "finobt"),
                (0x2, "rmapbt"),
                (0x4, "reflink"),
                (0x8, "inobtcount"),
            ];
            named(self.ro_compat, ro, &mut out, "ro_compat");
            let inc: &[(u32, &str)] = &[
                (0x1, "ftype"),
                (0x2, "sparse_inodes"),
                (0x4, "meta_uuid"),
                (0x8, "bigtime"),
                (0x10, "needsrepair"),
                (0x20, "nrext64"),
                (0x40, "exchrange"),
                (0x80, "parent"),
                (0x100, "metadir"),
            ];
            named(self.incompat, inc, &mut out, "incompat");
            named(
                self.log_incompat,
                &[(0x1, "log_xattrs")],
                &mut out,
                "log_incompat",
            );
        }
        out.sort();
        out.dedup();
        out
    }
}
