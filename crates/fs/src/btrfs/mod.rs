//! Btrfs behind [`GuestFs`]: our own read-only reader.
//!
//! Specification sources: the kernel's Btrfs on-disk format documentation
//! (`Documentation/filesystems/btrfs` and btrfs.readthedocs.io "On-disk format"), btrfs-progs
//! `kernel-shared/uapi/btrfs_tree.h` and `kernel-shared/ctree.h` for structure layouts and
//! constants, `fs/btrfs/lzo.c` for the LZO segment framing. Nothing is copied; layouts are
//! re-expressed as bounds-checked parsers in `ondisk`.
//!
//! Why our own and not `lambutter` 0.5.0 (MIT/Apache, no_std, the only crate measured correct):
//! since 0.4 it can open a chosen subvolume and crosses subvolumes in paths, but its release
//! notes show it is very young (0.4 and 0.5, weeks apart, fixed silent wrong data: extents past
//! a leaf boundary read as zeros, multi-device chunks read from the wrong device), it was the
//! slowest working reader measured (shared/dependencies.md), and what we need beyond that —
//! the subvolume list with paths, parents, default and read-only flags (`subvolumes()`), inode
//! flags (immutable, append, compress), allocations bounded by our `Limits`, errors naming the
//! structure and logical address, DUP fallback on a bad copy — would have to be added around it
//! or verified in it. A read-only reader for exactly this is about 2,400 lines with its tests
//! and is checked against btrfs-progs' own `btrfs restore` on every fixture. (Using lambutter
//! as a dev-dependency cross-check was not done.)
//!
//! Layers:
//! - `volume`: superblock (primary, else the valid mirror with the highest generation; its
//!   checksum verified), chunk map (`sys_chunk_array` bootstrap, then the chunk tree; SINGLE, DUP and the
//!   mirrored profiles read from any copy on this device, RAID0 when all stripes are here,
//!   other multi-device profiles refused naming profile and device count), tree blocks
//!   (checksum, bytenr, fsid, level checked; DUP's other copy tried on failure), and the
//!   range search (levels must decrease by one, a visit budget bounds shared-block DAGs).
//! - this module: subvolumes (ROOT_ITEM, ROOT_BACKREF → paths; the `default` dir item of the
//!   root tree's dir 6), path lookup by DIR_ITEM name hash, listings from DIR_INDEX, inode
//!   items, file data from EXTENT_DATA items (inline, regular, holes, prealloc, partial
//!   references, compressed).
//! - `compress` / `lzo`: zlib, zstd and LZO extents, each bounded to 128 KiB.
//!
//! - `csum`: data checksums. Every data sector read from a regular or compressed extent (for
//!   compressed extents: the compressed bytes on disk) is checked against the csum tree's
//!   `EXTENT_CSUM` item for it, looked up by one bounded search per extent read (items starting
//!   more than a leaf's worth of sectors before the read cannot cover it, so the csum tree is
//!   never loaded whole). CRC32C, xxHash64, SHA-256 and BLAKE2b-256 are computed (for the
//!   superblock and tree blocks too); on a mismatch the other copies
//!   (DUP, RAID1) are tried, then the read fails naming the file, the sector's logical address
//!   and the expected and computed checksums. Sectors without an entry, files flagged
//!   NODATASUM, inline extents (they have no csum) and symlink targets are read unverified;
//!   a volume with an unknown checksum type is read unverified with a volume note saying so.
//!
//! The log tree is not replayed (a note and `VolumeState::Dirty` say so).

mod compress;
mod csum;

/// The checksum Btrfs stores for `data` under checksum type `csum_type` (0 CRC32C, 1 xxHash64,
/// 2 SHA-256, 3 BLAKE2b-256), as many bytes as the type uses; `None` for an unknown type. For
/// tools that build or reseal images (the fuzzing crate).
pub fn checksum(csum_type: u16, data: &[u8]) -> Option<Vec<u8>> {
    csum::compute(csum_type, data)
}
mod lzo;
mod ondisk;
mod volume;

use crate::path::{components, join};
use crate::{
    read_cap, DirEntry, FileFlags, FileId, FileType, FsError, FsType, GuestFs, Metadata,
    SubvolumeInfo, SubvolumeSel, VolumeInfo, VolumeState,
};
use imgcheck_core::{BlockSource, Limits};
use ondisk::{
    parse_dir_items, parse_file_extent, parse_inode, parse_inode_ref_name, parse_root_item,
    parse_root_ref, DirEntryRaw, FileExtent, InodeItem, Key, DIR_INDEX_KEY, DIR_ITEM_KEY,
    EMPTY_SUBVOL_DIR_OBJECTID, EXTENT_DATA_KEY, FIRST_FREE_OBJECTID, FS_TREE_OBJECTID, FT_DIR,
    FT_REG_FILE, FT_SYMLINK, INODE_APPEND, INODE_COMPRESS, INODE_IMMUTABLE, INODE_ITEM_KEY,
    INODE_NODATASUM, INODE_REF_KEY, LAST_FREE_OBJECTID, ROOT_BACKREF_KEY, ROOT_ITEM_KEY,
    ROOT_SUBVOL_RDONLY, ROOT_TREE_DIR_OBJECTID,
};
use std::sync::Arc;
use volume::{TreeRoot, Volume};

pub(crate) const FS: &str = "btrfs";
/// `BTRFS_MAX_UNCOMPRESSED`: one compressed extent decompresses to at most 128 KiB.
const MAX_UNCOMPRESSED: u64 = 128 * 1024;
/// `BTRFS_MAX_COMPRESSED`: and takes at most 128 KiB on disk.
const MAX_COMPRESSED: u64 = 128 * 1024;
/// Longest symlink target read (Linux `PATH_MAX`).
const MAX_SYMLINK: u64 = 4096;
/// Depth of subvolume nesting and of directories walked to build a subvolume's path.
const MAX_PATH_DEPTH: usize = 512;
/// Subvolumes listed.
const MAX_SUBVOLUMES: usize = 100_000;
/// Entries packed in one dir item (hash collisions); more is corruption.
const MAX_COLLISIONS: usize = 64;

/// File type bits of `st_mode`.
const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

pub(crate) fn corrupt(structure: &str, problem: String) -> FsError {
    FsError::Corrupt {
        fs: FS,
        structure: structure.to_string(),
        problem,
    }
}

/// Open `src` as Btrfs, showing the default subvolume.
pub(crate) fn open(
    src: Arc<dyn BlockSource>,
    limits: &Limits,
) -> Result<Box<dyn GuestFs>, FsError> {
    let vol = open_volume(src, limits)?;
    let id = vol.default_subvol()?;
    Ok(Box::new(BtrfsFs::new(vol, id)?))
}

fn open_volume(src: Arc<dyn BlockSource>, limits: &Limits) -> Result<Arc<Volume>, FsError> {
    let src: Arc<dyn BlockSource> = Arc::new(crate::cached(src));
    Ok(Arc::new(Volume::open(src, limits)?))
}

/// A subvolume's tree.
#[derive(Debug, Clone, Copy)]
struct Subvol {
    id: u64,
    tree: TreeRoot,
    root_dir: u64,
}

/// A resolved path: which tree, which inode, and the inode (None for the empty placeholder
/// directory a snapshot shows for a nested subvolume).
#[derive(Debug, Clone, Copy)]
struct Node {
    sv: Subvol,
    ino: u64,
    inode: InodeItem,
}

impl Volume {
    fn root_tree(&self) -> TreeRoot {
        TreeRoot {
            bytenr: self.sb.root,
            level: self.sb.root_level,
        }
    }

    /// The default subvolume: the `default` dir item in the root tree's directory 6, else 5.
    fn default_subvol(&self) -> Result<u64, FsError> {
        let mut id = FS_TREE_OBJECTID;
        let k = Key::new(ROOT_TREE_DIR_OBJECTID, DIR_ITEM_KEY, 0);
        let kmax = Key::new(ROOT_TREE_DIR_OBJECTID, DIR_ITEM_KEY, u64::MAX);
        self.search(self.root_tree(), k, kmax, &mut |key, data| {
            let items = parse_dir_items(data, MAX_COLLISIONS).ok_or_else(|| {
                corrupt(
                    "root tree",
                    format!("dir item {key} is truncated or holds an invalid name"),
                )
            })?;
            for e in items {
                if e.name == b"default" {
                    id = e.location.objectid;
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        Ok(id)
    }

    /// The root item of subvolume `id`.
    fn subvol(&self, id: u64) -> Result<Subvol, FsError> {
        if id != FS_TREE_OBJECTID && !(FIRST_FREE_OBJECTID..=LAST_FREE_OBJECTID).contains(&id) {
            return Err(FsError::NotFound {
                fs: FS,
                path: format!("subvolid={id}"),
            });
        }
        let mut found = None;
        self.search(
            self.root_tree(),
            Key::new(id, ROOT_ITEM_KEY, 0),
            Key::new(id, ROOT_ITEM_KEY, u64::MAX),
            &mut |key, data| {
                found = Some(parse_root_item(data).ok_or_else(|| {
                    corrupt("root tree", format!("root item {key} is truncated"))
                })?);
                Ok(true)
            },
        )?;
        let ri = found.ok_or_else(|| FsError::NotFound {
            fs: FS,
            path: format!("subvolid={id}"),
        })?;
        Ok(Subvol {
            id,
            tree: TreeRoot {
                bytenr: ri.bytenr,
                level: ri.level,
            },
            root_dir: ri.root_dirid,
        })
    }

    fn inode(&self, sv: &Subvol, ino: u64) -> Result<Option<InodeItem>, FsError> {
        let mut out = None;
        let k = Key::new(ino, INODE_ITEM_KEY, 0);
        self.search(sv.tree, k, k, &mut |key, data| {
            out = Some(parse_inode(data).ok_or_else(|| {
                corrupt(
                    &format!("subvolume {}", sv.id),
                    format!("inode item {key} is truncated"),
                )
            })?);
            Ok(false)
        })?;
        Ok(out)
    }

    /// The inode, or the placeholder directory of a nested subvolume inside a snapshot.
    fn inode_or_placeholder(
        &self,
        sv: &Subvol,
        ino: u64,
        path: &str,
    ) -> Result<InodeItem, FsError> {
        match self.inode(sv, ino)? {
            Some(i) => Ok(i),
            None if ino == EMPTY_SUBVOL_DIR_OBJECTID => Ok(InodeItem {
                size: 0,
                nlink: 1,
                uid: 0,
                gid: 0,
                mode: S_IFDIR | 0o755,
                flags: 0,
                atime: 0,
                ctime: 0,
                mtime: 0,
                otime: 0,
            }),
            None => Err(corrupt(
                &format!("subvolume {}", sv.id),
                format!("{path}: inode {ino} has no inode item"),
            )),
        }
    }

    /// Find `name` in directory `dir` by its DIR_ITEM hash.
    fn lookup(&self, sv: &Subvol, dir: u64, name: &[u8]) -> Result<Option<DirEntryRaw>, FsError> {
        let k = Key::new(dir, DIR_ITEM_KEY, ondisk::name_hash(name));
        let mut out = None;
        self.search(sv.tree, k, k, &mut |key, data| {
            let items = parse_dir_items(data, MAX_COLLISIONS).ok_or_else(|| {
                corrupt(
                    &format!("subvolume {}", sv.id),
                    format!("dir item {key} is truncated or holds an invalid name"),
                )
            })?;
            out = items.into_iter().find(|e| e.name == name);
            Ok(false)
        })?;
        Ok(out)
    }

    /// Every DIR_INDEX entry of directory `dir`, bounded by `max_dir_entries`.
    fn dir_entries(&self, sv: &Subvol, dir: u64, path: &str) -> Result<Vec<DirEntryRaw>, FsError> {
        let mut out = Vec::new();
        let max = self.limits.max_dir_entries;
        self.search(
            sv.tree,
            Key::new(dir, DIR_INDEX_KEY, 0),
            Key::new(dir, DIR_INDEX_KEY, u64::MAX),
            &mut |key, data| {
                let items = parse_dir_items(data, 1).ok_or_else(|| {
                    corrupt(
                        &format!("subvolume {}", sv.id),
                        format!("{path}: dir index {key} is truncated or holds an invalid name"),
                    )
                })?;
                out.extend(items);
                if u64::try_from(out.len()).unwrap_or(u64::MAX) > max {
                    return Err(FsError::Limit {
                        fs: FS,
                        path: path.to_string(),
                        what: "directory entries",
                        actual: u64::try_from(out.len()).unwrap_or(u64::MAX),
                        limit: max,
                    });
                }
                Ok(true)
            },
        )?;
        Ok(out)
    }

    /// Walk `path` from the root of `start`; subvolume crossings are entered.
    fn resolve(&self, start: &Subvol, path: &str) -> Result<Node, FsError> {
        let comps = components(path)?;
        let mut sv = *start;
        let mut ino = sv.root_dir;
        let mut inode = self.inode_or_placeholder(&sv, ino, "/")?;
        for (i, c) in comps.iter().enumerate() {
            let prefix = join(comps.get(..i).unwrap_or_default());
            match inode.mode & S_IFMT {
                S_IFDIR => {}
                S_IFLNK => {
                    return Err(FsError::SymlinkInPath {
                        fs: FS,
                        path: path.to_string(),
                        component: prefix,
                    })
                }
                _ => {
                    return Err(FsError::NotADirectory {
                        fs: FS,
                        path: prefix,
                    })
                }
            }
            let entry = self
                .lookup(&sv, ino, c.as_bytes())?
                .ok_or_else(|| FsError::NotFound {
                    fs: FS,
                    path: path.to_string(),
                })?;
            if entry.location.ty == ROOT_ITEM_KEY {
                sv = self.subvol(entry.location.objectid)?;
                ino = sv.root_dir;
            } else if entry.location.ty == INODE_ITEM_KEY {
                ino = entry.location.objectid;
            } else {
                return Err(corrupt(
                    &format!("subvolume {}", sv.id),
                    format!("{path}: dir entry points to {}", entry.location),
                ));
            }
            let here = join(comps.get(..=i).unwrap_or_default());
            inode = self.inode_or_placeholder(&sv, ino, &here)?;
        }
        Ok(Node { sv, ino, inode })
    }

    /// Read the first `n` bytes of inode `ino` (whose size is at least `n`). With `verify`
    /// (the inode is not NODATASUM), every data sector read from a regular or compressed extent
    /// is checked against the csum tree where it has an entry.
    fn read_data(
        &self,
        sv: &Subvol,
        ino: u64,
        n: usize,
        path: &str,
        verify: bool,
    ) -> Result<Vec<u8>, FsError> {
        let mut out = vec![0u8; n];
        let n64 = u64::try_from(n).unwrap_or(u64::MAX);
        if n == 0 {
            return Ok(out);
        }
        let st = format!("{path} (inode {ino} of subvolume {})", sv.id);
        let sector = usize::try_from(self.sb.sectorsize).unwrap_or(4096);
        self.search(
            sv.tree,
            Key::new(ino, EXTENT_DATA_KEY, 0),
            Key::new(ino, EXTENT_DATA_KEY, u64::MAX),
            &mut |key, data| {
                let start = key.offset;
                if start >= n64 {
                    return Ok(false);
                }
                let ext = parse_file_extent(data)
                    .map_err(|p| corrupt(&st, format!("extent at file offset {start}: {p}")))?;
                match ext {
                    FileExtent::Inline {
                        compression,
                        ram_bytes,
                        data,
                    } => {
                        if compression == 0 {
                            copy_into(&mut out, start, data, &st)?;
                        } else {
                            let len = ram_bytes.min(MAX_UNCOMPRESSED);
                            let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
                            self.decompress(compression, data, &mut buf, sector, &st, start)?;
                            copy_into(&mut out, start, &buf, &st)?;
                        }
                    }
                    FileExtent::Regular {
                        prealloc,
                        compression,
                        ram_bytes,
                        disk_bytenr,
                        disk_num_bytes,
                        offset,
                        num_bytes,
                    } => {
                        if prealloc || disk_bytenr == 0 {
                            return Ok(true); // zeros already
                        }
                        let end = start.saturating_add(num_bytes).min(n64);
                        let want = end.saturating_sub(start);
                        if want == 0 {
                            return Ok(true);
                        }
                        let (a, b) = (
                            usize::try_from(start).unwrap_or(usize::MAX),
                            usize::try_from(end).unwrap_or(usize::MAX),
                        );
                        if compression == 0 {
                            let dst = out
                                .get_mut(a..b)
                                .ok_or_else(|| corrupt(&st, "extent outside the file".into()))?;
                            let from = disk_bytenr.checked_add(offset).ok_or_else(|| {
                                corrupt(&st, format!("extent at {start}: address overflows"))
                            })?;
                            if verify {
                                self.read_data_verified(from, dst, &st)?;
                            } else {
                                self.read_logical(from, dst, 0, &st)?;
                            }
                        } else {
                            if disk_num_bytes > MAX_COMPRESSED || ram_bytes > MAX_UNCOMPRESSED {
                                return Err(corrupt(
                                    &st,
                                    format!(
                                        "compressed extent at file offset {start}: {disk_num_bytes} \
                                         bytes on disk, {ram_bytes} decompressed, above 128 KiB"
                                    ),
                                ));
                            }
                            if offset.saturating_add(want) > ram_bytes {
                                return Err(corrupt(
                                    &st,
                                    format!(
                                        "extent at file offset {start} references {offset}+{want} \
                                         of a {ram_bytes}-byte compressed extent"
                                    ),
                                ));
                            }
                            let mut raw = vec![0u8; usize::try_from(disk_num_bytes).unwrap_or(0)];
                            // The csums cover the compressed bytes on disk.
                            if verify {
                                self.read_data_verified(disk_bytenr, &mut raw, &st)?;
                            } else {
                                self.read_logical(disk_bytenr, &mut raw, 0, &st)?;
                            }
                            let mut plain = vec![0u8; usize::try_from(ram_bytes).unwrap_or(0)];
                            self.decompress(compression, &raw, &mut plain, sector, &st, start)?;
                            let o = usize::try_from(offset).unwrap_or(usize::MAX);
                            let src = plain
                                .get(o..o.saturating_add(b.saturating_sub(a)))
                                .ok_or_else(|| corrupt(&st, "extent reference out of range".into()))?;
                            copy_into(&mut out, start, src, &st)?;
                        }
                    }
                }
                Ok(true)
            },
        )?;
        Ok(out)
    }

    /// The csum tree's root (`None`: the volume has no csum tree), found once.
    fn csum_tree(&self) -> Result<Option<TreeRoot>, FsError> {
        if let Some(r) = self.csum_root.get() {
            return Ok(*r);
        }
        let mut found = None;
        self.search(
            self.root_tree(),
            Key::new(csum::CSUM_TREE_OBJECTID, ROOT_ITEM_KEY, 0),
            Key::new(csum::CSUM_TREE_OBJECTID, ROOT_ITEM_KEY, u64::MAX),
            &mut |key, data| {
                let ri = parse_root_item(data).ok_or_else(|| {
                    corrupt(
                        "root tree",
                        format!("csum tree root item {key} is truncated"),
                    )
                })?;
                found = Some(TreeRoot {
                    bytenr: ri.bytenr,
                    level: ri.level,
                });
                Ok(true)
            },
        )?;
        Ok(*self.csum_root.get_or_init(|| found))
    }

    /// The stored checksums of the `count` data sectors from logical `first` (sector aligned):
    /// one entry per sector, `None` where the csum tree has none. One bounded tree search: an
    /// item covers at most a leaf's worth of sectors, so items starting more than that before
    /// `first` cannot reach it.
    fn data_csums(
        &self,
        root: TreeRoot,
        first: u64,
        count: usize,
        size: usize,
        st: &str,
    ) -> Result<Vec<Option<Vec<u8>>>, FsError> {
        let sector = u64::from(self.sb.sectorsize);
        let mut out: Vec<Option<Vec<u8>>> = vec![None; count];
        let count64 = u64::try_from(count).unwrap_or(u64::MAX);
        let end = first.saturating_add(count64.saturating_mul(sector));
        let per_leaf = u64::from(self.sb.nodesize)
            .checked_div(u64::try_from(size).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let reach = per_leaf.saturating_mul(sector);
        let min = Key::new(
            csum::EXTENT_CSUM_OBJECTID,
            csum::EXTENT_CSUM_KEY,
            first.saturating_sub(reach),
        );
        let max = Key::new(
            csum::EXTENT_CSUM_OBJECTID,
            csum::EXTENT_CSUM_KEY,
            end.saturating_sub(1),
        );
        self.search(root, min, max, &mut |key, data| {
            let start = key.offset;
            let n = u64::try_from(data.len().checked_div(size).unwrap_or(0)).unwrap_or(0);
            let item_end = start.saturating_add(n.saturating_mul(sector));
            if item_end <= first || start >= end {
                return Ok(true);
            }
            // Sectors of [first, end) inside [start, item_end).
            let lo = first.max(start);
            let hi = end.min(item_end);
            let mut at = lo;
            while at < hi {
                let (Some(rel), Some(mine)) = (
                    at.checked_sub(start).and_then(|r| r.checked_div(sector)),
                    at.checked_sub(first).and_then(|r| r.checked_div(sector)),
                ) else {
                    break;
                };
                let from = usize::try_from(rel)
                    .ok()
                    .and_then(|r| r.checked_mul(size))
                    .ok_or_else(|| corrupt(st, format!("csum item {key}: offset overflows")))?;
                let c = data.get(from..from.saturating_add(size)).ok_or_else(|| {
                    corrupt(st, format!("csum item {key}: entry {rel} truncated"))
                })?;
                if let Some(slot) = usize::try_from(mine).ok().and_then(|m| out.get_mut(m)) {
                    *slot = Some(c.to_vec());
                }
                at = at.saturating_add(sector);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    /// Read `buf.len()` bytes of file data at logical `logical`, verifying every whole data
    /// sector the read touches against the csum tree; on a mismatch the other copies (DUP,
    /// RAID1) are tried, and when none matches the error names the file, the sector's logical
    /// address and both checksums.
    fn read_data_verified(&self, logical: u64, buf: &mut [u8], st: &str) -> Result<(), FsError> {
        let csum_type = self.sb.csum_type;
        let (Some(size), true) = (csum::csum_size(csum_type), csum::computable(csum_type)) else {
            return self.read_logical(logical, buf, 0, st);
        };
        let Some(root) = self.csum_tree()? else {
            return self.read_logical(logical, buf, 0, st);
        };
        if buf.is_empty() {
            return Ok(());
        }
        let sector = u64::from(self.sb.sectorsize);
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let first = logical.saturating_sub(logical.checked_rem(sector).unwrap_or(0));
        let last_end = logical
            .checked_add(len)
            .and_then(|e| e.checked_next_multiple_of(sector.max(1)))
            .ok_or_else(|| corrupt(st, format!("data at logical {logical} overflows")))?;
        let span = usize::try_from(last_end.saturating_sub(first))
            .map_err(|_| corrupt(st, format!("data read at logical {logical} too large")))?;
        let sector_us = usize::try_from(sector).unwrap_or(4096).max(1);
        let count = span.checked_div(sector_us).unwrap_or(0);
        let sums = self.data_csums(root, first, count, size, st)?;
        if sums.iter().all(Option::is_none) {
            return self.read_logical(logical, buf, 0, st);
        }
        let head = usize::try_from(logical.saturating_sub(first)).unwrap_or(0);
        let copies = self.copies(first)?.max(1);
        let mut whole = vec![0u8; span];
        let mut first_err = None;
        for mirror in 0..copies {
            if let Err(e) = self.read_logical(first, &mut whole, mirror, st) {
                first_err.get_or_insert(e);
                continue;
            }
            let mut bad = None;
            for (i, (chunk, want)) in whole.chunks(sector_us).zip(&sums).enumerate() {
                let Some(want) = want else {
                    continue;
                };
                let got = csum::compute(csum_type, chunk).unwrap_or_default();
                if &got != want {
                    let at = first.saturating_add(
                        u64::try_from(i).unwrap_or(u64::MAX).saturating_mul(sector),
                    );
                    bad = Some(corrupt(
                        st,
                        format!(
                            "data checksum mismatch at logical {at}{}: expected {} {}, computed {}",
                            if copies > 1 {
                                format!(" (copy {})", mirror.saturating_add(1))
                            } else {
                                String::new()
                            },
                            csum::csum_name(csum_type),
                            csum::hex(want),
                            csum::hex(&got)
                        ),
                    ));
                    break;
                }
            }
            match bad {
                None => {
                    let src = whole
                        .get(head..head.saturating_add(buf.len()))
                        .ok_or_else(|| corrupt(st, "data read position out of range".into()))?;
                    buf.copy_from_slice(src);
                    return Ok(());
                }
                Some(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| corrupt(st, "no readable copy of the data".into())))
    }

    fn decompress(
        &self,
        kind: u8,
        input: &[u8],
        out: &mut [u8],
        sector: usize,
        st: &str,
        at: u64,
    ) -> Result<(), FsError> {
        compress::decompress(kind, input, out, sector).map_err(|e| match e {
            Some(problem) => corrupt(
                st,
                format!(
                    "{} extent at file offset {at}: {problem}",
                    compress::name(kind)
                ),
            ),
            None => FsError::Unsupported {
                fs: FS,
                path: st.to_string(),
                feature: compress::name(kind),
            },
        })
    }

    /// Path of directory `dir` inside subvolume `sv` (relative, no leading `/`).
    fn dir_path(&self, sv: &Subvol, dir: u64) -> Result<String, FsError> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = dir;
        for _ in 0..MAX_PATH_DEPTH {
            if cur == sv.root_dir {
                parts.reverse();
                let joined: Vec<String> = parts
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                return Ok(joined.join("/"));
            }
            let mut next = None;
            self.search(
                sv.tree,
                Key::new(cur, INODE_REF_KEY, 0),
                Key::new(cur, INODE_REF_KEY, u64::MAX),
                &mut |key, data| {
                    let name = parse_inode_ref_name(data).ok_or_else(|| {
                        corrupt(
                            &format!("subvolume {}", sv.id),
                            format!("inode ref {key} is truncated"),
                        )
                    })?;
                    next = Some((key.offset, name));
                    Ok(false)
                },
            )?;
            let (parent, name) = next.ok_or_else(|| {
                corrupt(
                    &format!("subvolume {}", sv.id),
                    format!("directory {cur} has no inode ref"),
                )
            })?;
            if parent == cur {
                return Err(corrupt(
                    &format!("subvolume {}", sv.id),
                    format!("directory {cur} is its own parent"),
                ));
            }
            parts.push(name);
            cur = parent;
        }
        Err(corrupt(
            &format!("subvolume {}", sv.id),
            format!("directory {dir} is nested deeper than {MAX_PATH_DEPTH}"),
        ))
    }

    /// Every subvolume with its path, sorted by id.
    fn list_subvolumes(&self) -> Result<Vec<SubvolumeInfo>, FsError> {
        // (id, flags) of every fs tree, and (child, parent, dirid, name) of every backref.
        let mut roots: Vec<(u64, u64)> = Vec::new();
        let mut backrefs: std::collections::BTreeMap<u64, (u64, ondisk::RootRef)> =
            std::collections::BTreeMap::new();
        let too_many = || FsError::Limit {
            fs: FS,
            path: "/".into(),
            what: "subvolumes",
            actual: u64::try_from(MAX_SUBVOLUMES).unwrap_or(u64::MAX),
            limit: u64::try_from(MAX_SUBVOLUMES).unwrap_or(u64::MAX),
        };
        self.search(
            self.root_tree(),
            Key::new(FS_TREE_OBJECTID, 0, 0),
            Key::new(LAST_FREE_OBJECTID, u8::MAX, u64::MAX),
            &mut |key, data| {
                let is_fs_tree = key.objectid == FS_TREE_OBJECTID
                    || (FIRST_FREE_OBJECTID..=LAST_FREE_OBJECTID).contains(&key.objectid);
                if !is_fs_tree {
                    return Ok(true);
                }
                if key.ty == ROOT_ITEM_KEY {
                    let ri = parse_root_item(data).ok_or_else(|| {
                        corrupt("root tree", format!("root item {key} is truncated"))
                    })?;
                    match roots.last_mut() {
                        Some(last) if last.0 == key.objectid => last.1 = ri.flags,
                        _ => roots.push((key.objectid, ri.flags)),
                    }
                    if roots.len() > MAX_SUBVOLUMES {
                        return Err(too_many());
                    }
                } else if key.ty == ROOT_BACKREF_KEY {
                    let r = parse_root_ref(data).ok_or_else(|| {
                        corrupt("root tree", format!("root backref {key} is truncated"))
                    })?;
                    backrefs.entry(key.objectid).or_insert((key.offset, r));
                    if backrefs.len() > MAX_SUBVOLUMES {
                        return Err(too_many());
                    }
                }
                Ok(true)
            },
        )?;
        // A corrupt root tree can hold its items out of key order: sorted by id, one entry per
        // id, whatever the leaves say (found by the btrfs fuzz target).
        roots.sort_by_key(|r| r.0);
        roots.dedup_by_key(|r| r.0);
        let default = self.default_subvol()?;
        let mut paths: std::collections::HashMap<u64, String> = std::collections::HashMap::new();
        paths.insert(FS_TREE_OBJECTID, String::new());
        let mut out = Vec::new();
        for &(id, flags) in &roots {
            let path = if id == FS_TREE_OBJECTID {
                String::new()
            } else {
                match self.subvol_path(id, &backrefs, &mut paths)? {
                    Some(p) => p,
                    None => continue, // deleted or orphaned: not reachable from the top level
                }
            };
            let parent = backrefs.get(&id).map_or(0, |(p, _)| *p);
            out.push(SubvolumeInfo {
                id,
                path,
                parent,
                default: id == default,
                read_only: flags & ROOT_SUBVOL_RDONLY != 0,
            });
        }
        Ok(out)
    }

    fn subvol_path(
        &self,
        id: u64,
        backrefs: &std::collections::BTreeMap<u64, (u64, ondisk::RootRef)>,
        memo: &mut std::collections::HashMap<u64, String>,
    ) -> Result<Option<String>, FsError> {
        // Collect the chain up to a subvolume whose path is known.
        let mut chain = Vec::new();
        let mut cur = id;
        while !memo.contains_key(&cur) {
            if chain.len() > MAX_PATH_DEPTH || chain.contains(&cur) {
                return Err(corrupt(
                    "root tree",
                    format!(
                        "subvolume {id}: parent chain loops or is deeper than {MAX_PATH_DEPTH}"
                    ),
                ));
            }
            chain.push(cur);
            match backrefs.get(&cur) {
                Some((parent, _)) => cur = *parent,
                None => return Ok(None),
            }
        }
        for &child in chain.iter().rev() {
            let Some((parent, r)) = backrefs.get(&child) else {
                return Ok(None);
            };
            let parent_path = memo.get(parent).cloned().unwrap_or_default();
            let psv = self.subvol(*parent)?;
            let dir = self.dir_path(&psv, r.dirid)?;
            let name = String::from_utf8_lossy(&r.name).into_owned();
            let mut p = parent_path;
            for part in [dir.as_str(), name.as_str()] {
                if !part.is_empty() {
                    if !p.is_empty() {
                        p.push('/');
                    }
                    p.push_str(part);
                }
            }
            memo.insert(child, p);
        }
        Ok(memo.get(&id).cloned())
    }

    fn volume_info(&self) -> VolumeInfo {
        let sb = &self.sb;
        let mut features: Vec<String> = ondisk::INCOMPAT_NAMES
            .iter()
            .filter(|(bit, _)| sb.incompat_flags & bit != 0)
            .chain(
                ondisk::COMPAT_RO_NAMES
                    .iter()
                    .filter(|(bit, _)| sb.compat_ro_flags & bit != 0),
            )
            .map(|(_, n)| (*n).to_string())
            .collect();
        features.sort();
        let mut notes = self.notes.clone();
        if sb.num_devices > 1 {
            notes.push(format!(
                "filesystem spans {} devices; this image holds device {}",
                sb.num_devices, sb.devid
            ));
        }
        let state = if sb.log_root != 0 {
            notes.push("log tree present and not replayed".into());
            VolumeState::Dirty
        } else {
            VolumeState::Unknown
        };
        VolumeInfo {
            fs_type: FsType::Btrfs,
            uuid: Some(ondisk::uuid_text(&sb.fsid)),
            label: (!sb.label.is_empty()).then(|| sb.label.clone()),
            size_bytes: sb.total_bytes,
            free_bytes: Some(sb.total_bytes.saturating_sub(sb.bytes_used)),
            free_inodes: None,
            block_size: sb.sectorsize,
            state,
            features,
            notes,
        }
    }
}

fn copy_into(out: &mut [u8], start: u64, src: &[u8], st: &str) -> Result<(), FsError> {
    let a = usize::try_from(start).unwrap_or(usize::MAX);
    if a >= out.len() {
        return Ok(());
    }
    let n = src.len().min(out.len().saturating_sub(a));
    let dst = out
        .get_mut(a..a.saturating_add(n))
        .ok_or_else(|| corrupt(st, "extent outside the file".into()))?;
    dst.copy_from_slice(src.get(..n).unwrap_or_default());
    Ok(())
}

fn file_type_of(mode: u32) -> FileType {
    match mode & S_IFMT {
        S_IFREG => FileType::File,
        S_IFDIR => FileType::Dir,
        S_IFLNK => FileType::Symlink,
        _ => FileType::Other,
    }
}

/// One subvolume's file view.
pub(crate) struct BtrfsFs {
    vol: Arc<Volume>,
    sv: Subvol,
}

impl BtrfsFs {
    fn new(vol: Arc<Volume>, id: u64) -> Result<BtrfsFs, FsError> {
        let sv = vol.subvol(id)?;
        // Fail at open, not at first use, when the subvolume's root cannot be read.
        vol.inode_or_placeholder(&sv, sv.root_dir, "/")?;
        Ok(BtrfsFs { vol, sv })
    }
}

impl GuestFs for BtrfsFs {
    fn volume_info(&self) -> VolumeInfo {
        let mut info = self.vol.volume_info();
        info.notes.push(format!("showing subvolume {}", self.sv.id));
        info
    }

    fn metadata(&self, path: &str) -> Result<Metadata, FsError> {
        let n = self.vol.resolve(&self.sv, path)?;
        let i = n.inode;
        let flags = FileFlags {
            immutable: i.flags & INODE_IMMUTABLE != 0,
            append_only: i.flags & INODE_APPEND != 0,
            compressed: i.flags & INODE_COMPRESS != 0,
            raw: u32::try_from(i.flags & u64::from(u32::MAX)).unwrap_or(0),
            ..FileFlags::default()
        };
        Ok(Metadata {
            file_type: file_type_of(i.mode),
            size: i.size,
            mode: Some(i.mode & 0o7777),
            uid: Some(i.uid),
            gid: Some(i.gid),
            atime: Some(i.atime),
            mtime: Some(i.mtime),
            ctime: Some(i.ctime),
            crtime: Some(i.otime),
            inode: Some(n.ino),
            id: Some(FileId {
                tree: n.sv.id,
                number: n.ino,
            }),
            links: Some(i.nlink),
            flags,
            streams: Vec::new(),
        })
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let n = self.vol.resolve(&self.sv, path)?;
        match n.inode.mode & S_IFMT {
            S_IFDIR => {}
            S_IFLNK => {
                return Err(FsError::WrongType {
                    fs: FS,
                    path: path.to_string(),
                    expected: FileType::Dir.noun(),
                    actual: FileType::Symlink.noun(),
                })
            }
            _ => {
                return Err(FsError::NotADirectory {
                    fs: FS,
                    path: path.to_string(),
                })
            }
        }
        if n.ino == EMPTY_SUBVOL_DIR_OBJECTID && self.vol.inode(&n.sv, n.ino)?.is_none() {
            return Ok(Vec::new());
        }
        let raw = self.vol.dir_entries(&n.sv, n.ino, path)?;
        let mut out: Vec<DirEntry> = raw
            .into_iter()
            .map(|e| {
                let (file_type, inode) = if e.location.ty == ROOT_ITEM_KEY {
                    (FileType::Dir, Some(FIRST_FREE_OBJECTID))
                } else {
                    (
                        match e.file_type {
                            FT_REG_FILE => FileType::File,
                            FT_DIR => FileType::Dir,
                            FT_SYMLINK => FileType::Symlink,
                            _ => FileType::Other,
                        },
                        Some(e.location.objectid),
                    )
                };
                DirEntry {
                    name: String::from_utf8_lossy(&e.name).into_owned(),
                    file_type,
                    inode,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read_link(&self, path: &str) -> Result<String, FsError> {
        let n = self.vol.resolve(&self.sv, path)?;
        let t = file_type_of(n.inode.mode);
        if t != FileType::Symlink {
            return Err(FsError::WrongType {
                fs: FS,
                path: path.to_string(),
                expected: FileType::Symlink.noun(),
                actual: t.noun(),
            });
        }
        if n.inode.size > MAX_SYMLINK {
            return Err(FsError::Limit {
                fs: FS,
                path: path.to_string(),
                what: "symlink target bytes",
                actual: n.inode.size,
                limit: MAX_SYMLINK,
            });
        }
        let len = usize::try_from(n.inode.size).unwrap_or(0);
        let data = self.vol.read_data(&n.sv, n.ino, len, path, false)?;
        Ok(String::from_utf8_lossy(&data).into_owned())
    }

    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError> {
        let n = self.vol.resolve(&self.sv, path)?;
        match file_type_of(n.inode.mode) {
            FileType::File => {}
            FileType::Dir => {
                return Err(FsError::IsADirectory {
                    fs: FS,
                    path: path.to_string(),
                })
            }
            t => {
                return Err(FsError::WrongType {
                    fs: FS,
                    path: path.to_string(),
                    expected: FileType::File.noun(),
                    actual: t.noun(),
                })
            }
        }
        let cap = read_cap(FS, path, n.inode.size, max_bytes, &self.vol.limits)?;
        let verify = n.inode.flags & INODE_NODATASUM == 0;
        self.vol.read_data(&n.sv, n.ino, cap, path, verify)
    }

    fn subvolumes(&self) -> Result<Vec<SubvolumeInfo>, FsError> {
        self.vol.list_subvolumes()
    }

    fn subvolume(&self, which: &SubvolumeSel) -> Result<Arc<dyn GuestFs>, FsError> {
        let id = match which {
            SubvolumeSel::Id(id) => *id,
            SubvolumeSel::Path(p) => {
                let want: Vec<&str> = p
                    .split('/')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .collect();
                let want = want.join("/");
                if want.is_empty() {
                    FS_TREE_OBJECTID
                } else {
                    self.vol
                        .list_subvolumes()?
                        .into_iter()
                        .find(|s| s.path == want)
                        .map(|s| s.id)
                        .ok_or_else(|| FsError::NotFound {
                            fs: FS,
                            path: format!("subvol={p}"),
                        })?
                }
            }
        };
        Ok(Arc::new(BtrfsFs::new(self.vol.clone(), id)?))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn name_hash_matches_btrfs_progs() {
        // Known value: btrfs_name_hash("default") as stored by mkfs.btrfs (dump-tree shows
        // key (6 DIR_ITEM 2378154706)).
        assert_eq!(ondisk::name_hash(b"default"), 2_378_154_706);
    }

    #[test]
    fn modes_to_types() {
        assert_eq!(file_type_of(S_IFDIR | 0o755), FileType::Dir);
        assert_eq!(file_type_of(S_IFLNK | 0o777), FileType::Symlink);
        assert_eq!(file_type_of(0o020_644), FileType::Other);
    }

    #[test]
    fn copy_is_clipped() {
        let mut out = vec![0u8; 4];
        copy_into(&mut out, 2, &[1, 2, 3], "t").unwrap();
        assert_eq!(out, [0, 0, 1, 2]);
        copy_into(&mut out, 9, &[1], "t").unwrap();
    }
}
