//! Our own minimal ext2/3/4 reader: superblock, group descriptors, inodes, extent trees,
//! indirect block maps, inline data, linear directory scans.
//!
//! Specification: the kernel's Documentation/filesystems/ext4/ (ondisk layout: super.rst,
//! group_descr.rst, inodes.rst, ifork.rst, directory.rst, inlinedata.rst, attributes.rst).
//!
//! Why our own code next to `ext4-view`: that crate exposes no inode numbers, link counts, inode
//! flags, free counts or feature flags, refuses whole filesystems with `inline_data` (and
//! `meta_bg`, `large_dir`), and errors on holes in ext2/ext3 files. This reader supplies those
//! facts and serves as the fallback reader for those cases. It verifies no checksums and does
//! not replay the journal; `ext4-view` remains the primary reader wherever it loads.

use crate::{FileFlags, FileId, FileType, FsError, FsType, Metadata};
use imgcheck_core::bytes::{array, u16_le, u32_le, uuid_be};
use imgcheck_core::{BlockSource, Limits};

/// Superblock offset from the start of the volume.
pub(crate) const SUPERBLOCK_OFFSET: usize = 1024;
/// Superblock size.
pub(crate) const SUPERBLOCK_SIZE: usize = 1024;
/// `s_magic`.
const EXT_MAGIC: u16 = 0xEF53;
/// Root directory inode.
pub(crate) const ROOT_INODE: u32 = 2;

// s_feature_compat bits.
const COMPAT_HAS_JOURNAL: u32 = 0x4;
// s_feature_incompat bits.
pub(crate) const INCOMPAT_RECOVER: u32 = 0x4;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
/// Incompat bits an ext3 filesystem may have (filetype, recover, meta_bg); any other → ext4.
const INCOMPAT_EXT3_OK: u32 = 0x2 | 0x4 | 0x10;
/// Ro-compat bits an ext3 filesystem may have (sparse_super, large_file, btree_dir).
const RO_COMPAT_EXT3_OK: u32 = 0x1 | 0x2 | 0x4;
/// `s_feature_ro_compat` metadata_csum.
pub(crate) const RO_COMPAT_METADATA_CSUM: u32 = 0x400;
/// Offset of `s_checksum` in the superblock.
pub(crate) const SB_CHECKSUM_OFFSET: usize = 0x3FC;
/// Offset of `s_feature_incompat` in the superblock.
pub(crate) const SB_INCOMPAT_OFFSET: usize = 0x60;

// i_flags bits.
const FL_COMPR: u32 = 0x4;
const FL_IMMUTABLE: u32 = 0x10;
const FL_APPEND: u32 = 0x20;
const FL_ENCRYPT: u32 = 0x800;
const FL_EXTENTS: u32 = 0x8_0000;
const FL_INLINE_DATA: u32 = 0x1000_0000;

/// Extent header magic.
const EXTENT_MAGIC: u16 = 0xF30A;
/// Extent trees deeper than this are corrupt (the kernel's limit is 5).
const MAX_EXTENT_DEPTH: u16 = 5;
/// In-inode extended attribute header magic.
const XATTR_MAGIC: u32 = 0xEA02_0000;
/// Extended-attribute name index of the `system.` namespace.
const XATTR_INDEX_SYSTEM: u8 = 7;
/// `i_block` is 60 bytes.
const I_BLOCK_LEN: usize = 60;
/// Symlinks shorter than this keep their target in `i_block` ("fast" symlinks).
const FAST_SYMLINK_MAX: u64 = 60;

const S_IFMT: u16 = 0xF000;
const S_IFDIR: u16 = 0x4000;
const S_IFREG: u16 = 0x8000;
const S_IFLNK: u16 = 0xA000;

/// Feature names, for `VolumeInfo::features` (compat, incompat, ro_compat).
const COMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "dir_prealloc"),
    (0x2, "imagic_inodes"),
    (0x4, "has_journal"),
    (0x8, "ext_attr"),
    (0x10, "resize_inode"),
    (0x20, "dir_index"),
    (0x200, "sparse_super2"),
    (0x400, "fast_commit"),
    (0x800, "stable_inodes"),
    (0x1000, "orphan_file"),
];
const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "compression"),
    (0x2, "filetype"),
    (0x4, "needs_recovery"),
    (0x8, "journal_dev"),
    (0x10, "meta_bg"),
    (0x40, "extent"),
    (0x80, "64bit"),
    (0x100, "mmp"),
    (0x200, "flex_bg"),
    (0x400, "ea_inode"),
    (0x1000, "dirdata"),
    (0x2000, "metadata_csum_seed"),
    (0x4000, "large_dir"),
    (0x8000, "inline_data"),
    (0x1_0000, "encrypt"),
    (0x2_0000, "casefold"),
];
const RO_COMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "sparse_super"),
    (0x2, "large_file"),
    (0x8, "huge_file"),
    (0x10, "uninit_bg"),
    (0x20, "dir_nlink"),
    (0x40, "extra_isize"),
    (0x100, "quota"),
    (0x200, "bigalloc"),
    (0x400, "metadata_csum"),
    (0x1000, "read-only"),
    (0x2000, "project"),
    (0x8000, "verity"),
    (0x1_0000, "orphan_present"),
];

/// The superblock fields this crate uses.
#[derive(Debug, Clone)]
pub(crate) struct Superblock {
    pub inodes_count: u32,
    pub blocks_count: u64,
    pub free_blocks: u64,
    pub free_inodes: u32,
    pub first_data_block: u32,
    pub block_size: u32,
    pub inodes_per_group: u32,
    pub state: u16,
    pub inode_size: u16,
    pub compat: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    pub uuid: [u8; 16],
    pub label: String,
    pub desc_size: u16,
}

impl Superblock {
    /// Parse when the magic matches (no further validation: for probing).
    pub(crate) fn parse_magic_only(sb: &[u8]) -> Option<Superblock> {
        if u16_le(sb, 0x38)? != EXT_MAGIC {
            return None;
        }
        let log = u32_le(sb, 0x18)?;
        let block_size = 1024u32.checked_shl(log).filter(|_| log <= 6)?;
        let incompat = u32_le(sb, 0x60)?;
        let is64 = incompat & INCOMPAT_64BIT != 0;
        let hi = |off: usize| -> u64 {
            if is64 {
                u64::from(u32_le(sb, off).unwrap_or(0)) << 32
            } else {
                0
            }
        };
        let rev = u32_le(sb, 0x4C)?;
        let label_raw: [u8; 16] = array(sb, 0x78)?;
        let label_end = label_raw.iter().position(|&c| c == 0).unwrap_or(16);
        Some(Superblock {
            inodes_count: u32_le(sb, 0x00)?,
            blocks_count: u64::from(u32_le(sb, 0x04)?) | hi(0x150),
            free_blocks: u64::from(u32_le(sb, 0x0C)?) | hi(0x158),
            free_inodes: u32_le(sb, 0x10)?,
            first_data_block: u32_le(sb, 0x14)?,
            block_size,
            inodes_per_group: u32_le(sb, 0x28)?,
            state: u16_le(sb, 0x3A)?,
            inode_size: if rev == 0 { 128 } else { u16_le(sb, 0x58)? },
            compat: u32_le(sb, 0x5C)?,
            incompat,
            ro_compat: u32_le(sb, 0x64)?,
            uuid: array(sb, 0x68)?,
            label: String::from_utf8_lossy(label_raw.get(..label_end).unwrap_or_default())
                .into_owned(),
            desc_size: if is64 { u16_le(sb, 0xFE)? } else { 32 },
        })
    }

    /// ext2, ext3 or ext4 by blkid's rule.
    pub(crate) fn fs_type(&self) -> FsType {
        if self.incompat & !INCOMPAT_EXT3_OK != 0 || self.ro_compat & !RO_COMPAT_EXT3_OK != 0 {
            FsType::Ext4
        } else if self.compat & COMPAT_HAS_JOURNAL != 0 {
            FsType::Ext3
        } else {
            FsType::Ext2
        }
    }

    pub(crate) fn uuid_string(&self) -> String {
        uuid_be(&self.uuid)
    }

    pub(crate) fn needs_recovery(&self) -> bool {
        self.incompat & INCOMPAT_RECOVER != 0
    }

    /// Feature names, sorted.
    pub(crate) fn feature_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (word, names) in [
            (self.compat, COMPAT_NAMES),
            (self.incompat, INCOMPAT_NAMES),
            (self.ro_compat, RO_COMPAT_NAMES),
        ] {
            for (bit, name) in names {
                if word & bit != 0 {
                    v.push((*name).to_string());
                }
            }
        }
        v.sort();
        v
    }
}

/// One inode, as far as this crate needs it.
#[derive(Debug, Clone)]
pub(crate) struct Inode {
    pub number: u32,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub crtime: Option<i64>,
    pub links: u16,
    pub flags: u32,
    pub i_block: [u8; I_BLOCK_LEN],
    /// The in-inode extended attribute area (after `i_extra_isize`), possibly empty.
    pub xattr_area: Vec<u8>,
}

impl Inode {
    pub(crate) fn file_type(&self) -> FileType {
        match self.mode & S_IFMT {
            S_IFREG => FileType::File,
            S_IFDIR => FileType::Dir,
            S_IFLNK => FileType::Symlink,
            _ => FileType::Other,
        }
    }

    pub(crate) fn flags(&self) -> FileFlags {
        FileFlags {
            immutable: self.flags & FL_IMMUTABLE != 0,
            append_only: self.flags & FL_APPEND != 0,
            compressed: self.flags & FL_COMPR != 0,
            encrypted: self.flags & FL_ENCRYPT != 0,
            raw: self.flags,
            ..FileFlags::default()
        }
    }

    pub(crate) fn metadata(&self) -> Metadata {
        Metadata {
            file_type: self.file_type(),
            size: self.size,
            mode: Some(u32::from(self.mode & 0o7777)),
            uid: Some(self.uid),
            gid: Some(self.gid),
            atime: Some(self.atime),
            mtime: Some(self.mtime),
            ctime: Some(self.ctime),
            crtime: self.crtime,
            inode: Some(u64::from(self.number)),
            id: Some(FileId::inode(u64::from(self.number))),
            links: Some(u32::from(self.links)),
            flags: self.flags(),
            streams: Vec::new(),
        }
    }
}

/// A directory entry found by a linear scan.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub name: Vec<u8>,
    pub inode: u32,
    pub file_type: FileType,
}

/// Our own reader over a volume.
pub(crate) struct ExtReader<'a> {
    pub src: &'a dyn BlockSource,
    pub sb: Superblock,
    pub fs: &'static str,
    pub limits: &'a Limits,
}

fn corrupt(fs: &'static str, structure: String, problem: impl Into<String>) -> FsError {
    FsError::Corrupt {
        fs,
        structure,
        problem: problem.into(),
    }
}

/// Seconds from a 32-bit ext timestamp plus the two epoch bits of its `_extra` field.
fn ext_time(lo: u32, extra: Option<u32>) -> i64 {
    let secs = i64::from(i32::from_ne_bytes(lo.to_ne_bytes()));
    let epoch = i64::from(extra.unwrap_or(0) & 0x3);
    secs.saturating_add(epoch.saturating_mul(1 << 32))
}

impl<'a> ExtReader<'a> {
    /// Read and validate the superblock.
    pub(crate) fn new(
        src: &'a dyn BlockSource,
        fs: &'static str,
        limits: &'a Limits,
    ) -> Result<ExtReader<'a>, FsError> {
        let mut raw = vec![0u8; SUPERBLOCK_SIZE];
        read_at(src, fs, &mut raw, 1024, "superblock")?;
        let sb = Superblock::parse_magic_only(&raw).ok_or_else(|| {
            corrupt(
                fs,
                "superblock at offset 1024".into(),
                "bad magic or block size",
            )
        })?;
        if sb.inodes_per_group == 0 || sb.inode_size < 128 || !sb.inode_size.is_power_of_two() {
            return Err(corrupt(
                fs,
                "superblock at offset 1024".into(),
                format!(
                    "inodes per group {} / inode size {} are invalid",
                    sb.inodes_per_group, sb.inode_size
                ),
            ));
        }
        Ok(ExtReader {
            src,
            sb,
            fs,
            limits,
        })
    }

    fn bs(&self) -> u64 {
        u64::from(self.sb.block_size)
    }

    fn read_block(&self, block: u64, what: &str) -> Result<Vec<u8>, FsError> {
        let off = block.checked_mul(self.bs()).ok_or_else(|| {
            corrupt(
                self.fs,
                what.to_string(),
                format!("block {block} overflows"),
            )
        })?;
        let mut buf = vec![0u8; usize::try_from(self.sb.block_size).unwrap_or(4096)];
        read_at(self.src, self.fs, &mut buf, off, what)?;
        Ok(buf)
    }

    /// Read inode `number`.
    pub(crate) fn inode(&self, number: u32) -> Result<Inode, FsError> {
        let what = format!("inode {number}");
        if number == 0 || number > self.sb.inodes_count {
            return Err(corrupt(
                self.fs,
                what,
                format!("inode number out of range 1..={}", self.sb.inodes_count),
            ));
        }
        if self.sb.incompat & INCOMPAT_META_BG != 0 {
            return Err(FsError::Unsupported {
                fs: self.fs,
                path: "/".into(),
                feature: "meta_bg group descriptor layout".into(),
            });
        }
        let idx = number.saturating_sub(1);
        let group = u64::from(idx.checked_div(self.sb.inodes_per_group).unwrap_or(0));
        let within = u64::from(idx.checked_rem(self.sb.inodes_per_group).unwrap_or(0));
        let desc_size = u64::from(self.sb.desc_size.max(32));
        let gdt_block = u64::from(self.sb.first_data_block).saturating_add(1);
        let desc_off = gdt_block
            .saturating_mul(self.bs())
            .saturating_add(group.saturating_mul(desc_size));
        let mut desc = vec![0u8; usize::try_from(desc_size).unwrap_or(32)];
        read_at(
            self.src,
            self.fs,
            &mut desc,
            desc_off,
            &format!("group descriptor {group}"),
        )?;
        let lo = u64::from(u32_le(&desc, 0x8).unwrap_or(0));
        let hi = if desc_size >= 64 {
            u64::from(u32_le(&desc, 0x28).unwrap_or(0))
        } else {
            0
        };
        let table = lo | (hi << 32);
        let isz = u64::from(self.sb.inode_size);
        let off = table
            .checked_mul(self.bs())
            .and_then(|t| t.checked_add(within.checked_mul(isz)?))
            .ok_or_else(|| corrupt(self.fs, what.clone(), "inode table offset overflows"))?;
        let mut b = vec![0u8; usize::from(self.sb.inode_size)];
        read_at(self.src, self.fs, &mut b, off, &what)?;
        let g16 = |o| u16_le(&b, o).unwrap_or(0);
        let g32 = |o| u32_le(&b, o).unwrap_or(0);
        let extra_isize = if self.sb.inode_size > 128 {
            usize::from(g16(0x80))
        } else {
            0
        };
        let has = |field_end: usize| extra_isize.saturating_add(128) >= field_end;
        let extra = |o: usize| has(o.saturating_add(4)).then(|| g32(o));
        let xattr_start = 128usize.saturating_add(extra_isize);
        Ok(Inode {
            number,
            mode: g16(0x0),
            uid: u32::from(g16(0x2)) | (u32::from(g16(0x78)) << 16),
            gid: u32::from(g16(0x18)) | (u32::from(g16(0x7A)) << 16),
            size: u64::from(g32(0x4)) | (u64::from(g32(0x6C)) << 32),
            atime: ext_time(g32(0x8), extra(0x8C)),
            ctime: ext_time(g32(0xC), extra(0x84)),
            mtime: ext_time(g32(0x10), extra(0x88)),
            crtime: extra(0x90).map(|c| ext_time(c, extra(0x94))),
            links: g16(0x1A),
            flags: g32(0x20),
            i_block: array(&b, 0x28).unwrap_or([0u8; I_BLOCK_LEN]),
            xattr_area: b.get(xattr_start..).map(<[u8]>::to_vec).unwrap_or_default(),
        })
    }

    /// The value of the in-inode `system.data` attribute (inline data beyond `i_block`).
    fn inline_xattr(&self, ino: &Inode) -> Vec<u8> {
        let a = &ino.xattr_area;
        if u32_le(a, 0) != Some(XATTR_MAGIC) {
            return Vec::new();
        }
        let base = 4usize;
        let mut pos = base;
        while let (Some(name_len), Some(index)) =
            (a.get(pos).copied(), a.get(pos.saturating_add(1)).copied())
        {
            if name_len == 0 && index == 0 {
                break;
            }
            let value_offs = usize::from(u16_le(a, pos.saturating_add(2)).unwrap_or(0));
            let value_size =
                usize::try_from(u32_le(a, pos.saturating_add(8)).unwrap_or(0)).unwrap_or(0);
            let name_start = pos.saturating_add(16);
            let name = a.get(name_start..name_start.saturating_add(usize::from(name_len)));
            if index == XATTR_INDEX_SYSTEM && name == Some(b"data".as_slice()) {
                let start = base.saturating_add(value_offs);
                return a
                    .get(start..start.saturating_add(value_size))
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
            }
            // Entries are 16 bytes plus the name, rounded up to 4.
            let next = name_start
                .saturating_add(usize::from(name_len))
                .saturating_add(3)
                & !3;
            if next <= pos {
                break;
            }
            pos = next;
        }
        Vec::new()
    }

    /// Physical block of each logical block `0..count` (0 = hole).
    fn block_map(&self, ino: &Inode, count: u64) -> Result<Vec<u64>, FsError> {
        let what = format!("block map of inode {}", ino.number);
        let max_blocks = self.limits.max_table_bytes / 8;
        if count > max_blocks {
            return Err(FsError::Limit {
                fs: self.fs,
                path: format!("inode {}", ino.number),
                what: "blocks mapped",
                actual: count,
                limit: max_blocks,
            });
        }
        let n = usize::try_from(count).unwrap_or(0);
        let mut map = vec![0u64; n];
        if ino.flags & FL_EXTENTS != 0 {
            self.walk_extents(&ino.i_block, MAX_EXTENT_DEPTH, &mut map, &what)?;
        } else {
            for (i, slot) in map.iter_mut().enumerate().take(12) {
                *slot = u64::from(u32_le(&ino.i_block, i.saturating_mul(4)).unwrap_or(0));
            }
            let per = self.bs() / 4;
            let mut start = 12u64;
            for (level, ptr_idx) in [(1u32, 12usize), (2, 13), (3, 14)] {
                let ptr = u64::from(u32_le(&ino.i_block, ptr_idx.saturating_mul(4)).unwrap_or(0));
                let span = per.saturating_pow(level);
                if start >= count {
                    break;
                }
                if ptr != 0 {
                    self.walk_indirect(ptr, level, start, &mut map, &what)?;
                }
                start = start.saturating_add(span);
            }
        }
        Ok(map)
    }

    fn walk_indirect(
        &self,
        block: u64,
        level: u32,
        start: u64,
        map: &mut [u64],
        what: &str,
    ) -> Result<(), FsError> {
        let data = self.read_block(block, what)?;
        let per = self.bs() / 4;
        let span = per.saturating_pow(level.saturating_sub(1));
        for i in 0..per {
            let lb = start.saturating_add(i.saturating_mul(span));
            if lb >= u64::try_from(map.len()).unwrap_or(0) {
                break;
            }
            let p = u64::from(
                u32_le(
                    &data,
                    usize::try_from(i.saturating_mul(4)).unwrap_or(usize::MAX),
                )
                .unwrap_or(0),
            );
            if p == 0 {
                continue;
            }
            if level == 1 {
                if let Some(slot) = map.get_mut(usize::try_from(lb).unwrap_or(usize::MAX)) {
                    *slot = p;
                }
            } else {
                self.walk_indirect(p, level.saturating_sub(1), lb, map, what)?;
            }
        }
        Ok(())
    }

    fn walk_extents(
        &self,
        node: &[u8],
        depth_left: u16,
        map: &mut [u64],
        what: &str,
    ) -> Result<(), FsError> {
        if u16_le(node, 0) != Some(EXTENT_MAGIC) {
            return Err(corrupt(
                self.fs,
                what.to_string(),
                "extent header magic is not 0xf30a",
            ));
        }
        let entries = usize::from(u16_le(node, 2).unwrap_or(0));
        let depth = u16_le(node, 6).unwrap_or(0);
        if depth >= depth_left {
            return Err(corrupt(
                self.fs,
                what.to_string(),
                format!("extent tree depth {depth} too deep"),
            ));
        }
        for i in 0..entries {
            let e = 12usize.saturating_add(i.saturating_mul(12));
            let Some(ent) = node.get(e..e.saturating_add(12)) else {
                return Err(corrupt(
                    self.fs,
                    what.to_string(),
                    format!("{entries} extent entries overrun the node"),
                ));
            };
            let lblock = u64::from(u32_le(ent, 0).unwrap_or(0));
            if depth == 0 {
                let raw_len = u16_le(ent, 4).unwrap_or(0);
                // Lengths above 32768 mark uninitialised extents: they read as zeros.
                let (len, uninit) = if raw_len > 32768 {
                    (raw_len.saturating_sub(32768), true)
                } else {
                    (raw_len, false)
                };
                let start = u64::from(u32_le(ent, 8).unwrap_or(0))
                    | (u64::from(u16_le(ent, 6).unwrap_or(0)) << 32);
                if uninit {
                    continue;
                }
                for k in 0..u64::from(len) {
                    let lb = lblock.saturating_add(k);
                    if let Some(slot) = usize::try_from(lb).ok().and_then(|lb| map.get_mut(lb)) {
                        *slot = start.saturating_add(k);
                    }
                }
            } else {
                let leaf = u64::from(u32_le(ent, 4).unwrap_or(0))
                    | (u64::from(u16_le(ent, 8).unwrap_or(0)) << 32);
                let child = self.read_block(leaf, what)?;
                self.walk_extents(&child, depth, map, what)?;
            }
        }
        Ok(())
    }

    /// Bytes of a file, directory or slow symlink: at most `max` bytes.
    pub(crate) fn data(&self, ino: &Inode, max: usize) -> Result<Vec<u8>, FsError> {
        let want = usize::try_from(ino.size).unwrap_or(usize::MAX).min(max);
        if ino.flags & FL_ENCRYPT != 0 {
            return Err(FsError::Unsupported {
                fs: self.fs,
                path: format!("inode {}", ino.number),
                feature: "encrypted inode".into(),
            });
        }
        if ino.flags & FL_INLINE_DATA != 0 {
            let mut v = ino.i_block.to_vec();
            v.extend(self.inline_xattr(ino));
            // i_size beyond i_block and the system.data value: the rest of the file is
            // nowhere, so a read would come back short without saying so.
            if v.len() < want {
                return Err(corrupt(
                    self.fs,
                    format!("inline data of inode {}", ino.number),
                    format!(
                        "i_size is {} bytes but i_block and the system.data attribute hold {}",
                        ino.size,
                        v.len()
                    ),
                ));
            }
            v.truncate(want);
            return Ok(v);
        }
        let bs = usize::try_from(self.sb.block_size).unwrap_or(4096);
        let blocks = u64::try_from(want.div_ceil(bs)).unwrap_or(u64::MAX);
        let map = self.block_map(ino, blocks)?;
        let mut out = Vec::with_capacity(want);
        for &pb in &map {
            let take = want.saturating_sub(out.len()).min(bs);
            if pb == 0 {
                out.resize(out.len().saturating_add(take), 0);
            } else {
                let b = self.read_block(pb, &format!("data of inode {}", ino.number))?;
                out.extend_from_slice(b.get(..take).unwrap_or_default());
            }
        }
        Ok(out)
    }

    /// Bytes `offset..offset+len` of a regular file (fewer at its end), by inode: the block map
    /// of the range, then one read per run of physically contiguous blocks; holes and
    /// uninitialised extents read as zeros.
    pub(crate) fn data_range(
        &self,
        ino: &Inode,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, FsError> {
        let end = offset
            .saturating_add(u64::try_from(len).unwrap_or(u64::MAX))
            .min(ino.size);
        if offset >= end {
            return Ok(Vec::new());
        }
        if ino.flags & (FL_ENCRYPT | FL_INLINE_DATA) != 0 {
            // Rare and small: the whole-file path knows both cases.
            let all = self.data(ino, usize::try_from(end).unwrap_or(usize::MAX))?;
            let from = usize::try_from(offset).unwrap_or(usize::MAX);
            return Ok(all.get(from..).unwrap_or_default().to_vec());
        }
        let bs = self.bs();
        let bsz = usize::try_from(bs).unwrap_or(4096);
        let first = offset.checked_div(bs).unwrap_or(0);
        let last = end.div_ceil(bs.max(1));
        let map = self.block_map(ino, last)?;
        let span = usize::try_from(last.saturating_sub(first))
            .unwrap_or(0)
            .saturating_mul(bsz);
        let mut out = vec![0u8; span];
        let what = || format!("data of inode {}", ino.number);
        // Runs of consecutive physical blocks, each read straight into `out`.
        let first_idx = usize::try_from(first).unwrap_or(usize::MAX);
        let blocks = map.get(first_idx..).unwrap_or_default();
        let mut i = 0usize;
        while i < blocks.len() {
            let pb = blocks.get(i).copied().unwrap_or(0);
            let mut j = i.saturating_add(1);
            if pb != 0 {
                while j < blocks.len()
                    && blocks.get(j).copied()
                        == pb.checked_add(u64::try_from(j.saturating_sub(i)).unwrap_or(0))
                {
                    j = j.saturating_add(1);
                }
                let at = pb
                    .checked_mul(bs)
                    .ok_or_else(|| corrupt(self.fs, what(), format!("block {pb} overflows")))?;
                let dst = out
                    .get_mut(i.saturating_mul(bsz)..j.saturating_mul(bsz))
                    .unwrap_or_default();
                read_at(self.src, self.fs, dst, at, &what())?;
            }
            i = j;
        }
        let head = usize::try_from(offset.saturating_sub(first.saturating_mul(bs))).unwrap_or(0);
        let want = usize::try_from(end.saturating_sub(offset)).unwrap_or(0);
        out.drain(..head.min(out.len()));
        out.truncate(want);
        Ok(out)
    }

    /// Symlink target bytes.
    pub(crate) fn link_target(&self, ino: &Inode) -> Result<Vec<u8>, FsError> {
        if ino.size < FAST_SYMLINK_MAX && ino.flags & (FL_EXTENTS | FL_INLINE_DATA) == 0 {
            let n = usize::try_from(ino.size).unwrap_or(0);
            return Ok(ino.i_block.get(..n).unwrap_or_default().to_vec());
        }
        self.data(ino, 4096)
    }

    /// Every entry of directory `ino` except `.` and `..`, bounded by `max_dir_entries`.
    pub(crate) fn list(&self, ino: &Inode, path: &str) -> Result<Vec<RawEntry>, FsError> {
        let limit = self.limits.max_dir_entries;
        let mut out = Vec::new();
        let mut push = |e: RawEntry| -> Result<(), FsError> {
            if e.name == b"." || e.name == b".." {
                return Ok(());
            }
            if u64::try_from(out.len()).unwrap_or(u64::MAX) >= limit {
                return Err(FsError::Limit {
                    fs: self.fs,
                    path: path.to_string(),
                    what: "directory entries",
                    actual: limit.saturating_add(1),
                    limit,
                });
            }
            out.push(e);
            Ok(())
        };
        if ino.flags & FL_INLINE_DATA != 0 {
            // i_block: 4-byte parent inode, then entries; then the system.data value.
            scan_entries(ino.i_block.get(4..).unwrap_or_default(), self.fs, &mut push)?;
            scan_entries(&self.inline_xattr(ino), self.fs, &mut push)?;
        } else {
            if ino.size > self.limits.max_table_bytes {
                return Err(FsError::Limit {
                    fs: self.fs,
                    path: path.to_string(),
                    what: "directory size in bytes",
                    actual: ino.size,
                    limit: self.limits.max_table_bytes,
                });
            }
            let data = self.data(ino, usize::MAX)?;
            for block in data.chunks(usize::try_from(self.sb.block_size).unwrap_or(4096)) {
                scan_entries(block, self.fs, &mut push)?;
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Inode of the entry `name` of directory `dir`, scanning block by block until found.
    fn find(&self, dir: &Inode, name: &[u8], path: &str) -> Result<Option<u32>, FsError> {
        if dir.flags & FL_INLINE_DATA != 0 {
            return Ok(self
                .list(dir, path)?
                .into_iter()
                .find(|e| e.name == name)
                .map(|e| e.inode));
        }
        if dir.size > self.limits.max_table_bytes {
            return Err(FsError::Limit {
                fs: self.fs,
                path: path.to_string(),
                what: "directory size in bytes",
                actual: dir.size,
                limit: self.limits.max_table_bytes,
            });
        }
        let blocks = dir.size.div_ceil(self.bs());
        let map = self.block_map(dir, blocks)?;
        let mut seen = 0u64;
        for &pb in &map {
            if pb == 0 {
                continue;
            }
            let block = self.read_block(pb, &format!("directory block of {path}"))?;
            let mut found = None;
            scan_entries(&block, self.fs, &mut |e| {
                seen = seen.saturating_add(1);
                if found.is_none() && e.name == name {
                    found = Some(e.inode);
                }
                Ok(())
            })?;
            if found.is_some() {
                return Ok(found);
            }
            if seen > self.limits.max_dir_entries {
                return Err(FsError::Limit {
                    fs: self.fs,
                    path: path.to_string(),
                    what: "directory entries",
                    actual: seen,
                    limit: self.limits.max_dir_entries,
                });
            }
        }
        Ok(None)
    }

    /// Resolve `components` from the root without following symlinks: returns the inode of the
    /// last component. Intermediate symlinks give [`FsError::SymlinkInPath`].
    pub(crate) fn resolve(&self, components: &[&str], path: &str) -> Result<Inode, FsError> {
        let mut cur = self.inode(ROOT_INODE)?;
        for (i, c) in components.iter().enumerate() {
            let here = crate::path::join(components.get(..i).unwrap_or_default());
            match cur.file_type() {
                FileType::Dir => {}
                FileType::Symlink => {
                    return Err(FsError::SymlinkInPath {
                        fs: self.fs,
                        path: path.to_string(),
                        component: here,
                    })
                }
                _ => {
                    return Err(FsError::NotADirectory {
                        fs: self.fs,
                        path: here,
                    })
                }
            }
            let Some(ino) = self.find(&cur, c.as_bytes(), &here)? else {
                return Err(FsError::NotFound {
                    fs: self.fs,
                    path: path.to_string(),
                });
            };
            cur = self.inode(ino)?;
        }
        Ok(cur)
    }
}

/// Walk the `ext4_dir_entry_2` records of one block (or inline area).
fn scan_entries(
    b: &[u8],
    fs: &'static str,
    push: &mut dyn FnMut(RawEntry) -> Result<(), FsError>,
) -> Result<(), FsError> {
    let mut pos = 0usize;
    while pos.saturating_add(8) <= b.len() {
        let ino = u32_le(b, pos).unwrap_or(0);
        let rec_len = usize::from(u16_le(b, pos.saturating_add(4)).unwrap_or(0));
        let name_len = usize::from(b.get(pos.saturating_add(6)).copied().unwrap_or(0));
        let ftype = b.get(pos.saturating_add(7)).copied().unwrap_or(0);
        if rec_len < 8 || pos.saturating_add(rec_len) > b.len() {
            // An inline area ends with zero padding; a block must not.
            if ino == 0 && rec_len == 0 && b.get(pos..).is_some_and(|r| r.iter().all(|&x| x == 0)) {
                return Ok(());
            }
            return Err(FsError::Corrupt {
                fs,
                structure: format!("directory entry at byte {pos}"),
                problem: format!("record length {rec_len} is invalid"),
            });
        }
        if ino != 0 && name_len > 0 {
            let name_start = pos.saturating_add(8);
            let Some(name) = b.get(name_start..name_start.saturating_add(name_len)) else {
                return Err(FsError::Corrupt {
                    fs,
                    structure: format!("directory entry at byte {pos}"),
                    problem: format!("name of {name_len} bytes overruns the record"),
                });
            };
            push(RawEntry {
                name: name.to_vec(),
                inode: ino,
                file_type: match ftype {
                    1 => FileType::File,
                    2 => FileType::Dir,
                    7 => FileType::Symlink,
                    _ => FileType::Other,
                },
            })?;
        }
        pos = pos.saturating_add(rec_len);
    }
    Ok(())
}

pub(crate) fn read_at(
    src: &dyn BlockSource,
    fs: &'static str,
    buf: &mut [u8],
    offset: u64,
    what: &str,
) -> Result<(), FsError> {
    src.read_exact_at(buf, offset)
        .map_err(|source| FsError::Read {
            fs,
            structure: what.to_string(),
            offset,
            source,
        })
}
