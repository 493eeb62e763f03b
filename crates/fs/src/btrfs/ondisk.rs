//! Btrfs on-disk structures: named constants and bounds-checked parsers for the superblock,
//! node headers, keys and the item payloads this reader uses (chunk, root, root ref, inode,
//! dir, file extent). Layouts follow btrfs-progs `kernel-shared/uapi/btrfs_tree.h` and the
//! kernel's on-disk format documentation; every field is read through `imgcheck_core::bytes`.

use super::corrupt;
use crate::FsError;
use imgcheck_core::bytes::{array, slice, u16_le, u32_le, u64_le, u8_at};

/// Superblock magic `_BHRfS_M` at offset 0x40 of the superblock.
pub(crate) const MAGIC: &[u8; 8] = b"_BHRfS_M";
/// Size of the superblock (and of the area its checksum covers, from byte 32).
pub(crate) const SUPER_SIZE: usize = 4096;
/// Superblock copies: primary at 64 KiB, mirrors at 64 MiB and 256 GiB (`btrfs_sb_offset`).
pub(crate) const SUPER_OFFSETS: [u64; 3] = [0x1_0000, 0x400_0000, 0x40_0000_0000];
/// Bytes of the checksum field at the start of the superblock and of every tree block.
pub(crate) const CSUM_SIZE: usize = 32;
/// Size of a tree block header (`struct btrfs_header`).
pub(crate) const HEADER_SIZE: usize = 101;
/// Size of a leaf item descriptor (`struct btrfs_item`: key + offset + size).
pub(crate) const ITEM_SIZE: usize = 25;
/// Size of an internal node pointer (`struct btrfs_key_ptr`: key + blockptr + generation).
pub(crate) const KEY_PTR_SIZE: usize = 33;
/// Size of a disk key.
pub(crate) const KEY_SIZE: usize = 17;
/// `BTRFS_MAX_LEVEL`: tree levels are 0..=7.
pub(crate) const MAX_LEVEL: u8 = 7;
/// Largest node size mkfs accepts (64 KiB).
pub(crate) const MAX_NODESIZE: u32 = 65536;
/// Size of `sys_chunk_array` in the superblock.
pub(crate) const SYS_CHUNK_ARRAY_MAX: usize = 2048;
/// Offset of `sys_chunk_array` in the superblock.
const SYS_CHUNK_ARRAY_OFF: usize = 0x32b;

// Tree ids (objectids in the root tree; the root tree is 1, the chunk tree 3).
/// The top-level fs tree (subvolume 5).
pub(crate) const FS_TREE_OBJECTID: u64 = 5;
/// The directory in the root tree that holds the `default` dir item.
pub(crate) const ROOT_TREE_DIR_OBJECTID: u64 = 6;
/// First id of a user subvolume and first inode number of a tree.
pub(crate) const FIRST_FREE_OBJECTID: u64 = 256;
/// Last id usable for a subvolume (`-256` as u64).
pub(crate) const LAST_FREE_OBJECTID: u64 = u64::MAX - 255;
/// Inode number of the placeholder directory a snapshot shows for a nested subvolume.
pub(crate) const EMPTY_SUBVOL_DIR_OBJECTID: u64 = 2;
/// Objectid of chunk items in the chunk tree.
pub(crate) const FIRST_CHUNK_TREE_OBJECTID: u64 = 256;

// Item types.
/// Inode item.
pub(crate) const INODE_ITEM_KEY: u8 = 1;
/// Inode back reference (name in the parent directory).
pub(crate) const INODE_REF_KEY: u8 = 12;
/// Dir item (keyed by name hash).
pub(crate) const DIR_ITEM_KEY: u8 = 84;
/// Dir index (keyed by insertion index).
pub(crate) const DIR_INDEX_KEY: u8 = 96;
/// File extent.
pub(crate) const EXTENT_DATA_KEY: u8 = 108;
/// Root item (a tree's root).
pub(crate) const ROOT_ITEM_KEY: u8 = 132;
/// Subvolume back reference (child → parent).
pub(crate) const ROOT_BACKREF_KEY: u8 = 144;
/// Chunk item.
pub(crate) const CHUNK_ITEM_KEY: u8 = 228;

// Block group / chunk type bits.
/// RAID0.
pub(crate) const BG_RAID0: u64 = 1 << 3;
/// RAID1.
pub(crate) const BG_RAID1: u64 = 1 << 4;
/// DUP.
pub(crate) const BG_DUP: u64 = 1 << 5;
/// RAID10.
pub(crate) const BG_RAID10: u64 = 1 << 6;
/// RAID5.
pub(crate) const BG_RAID5: u64 = 1 << 7;
/// RAID6.
pub(crate) const BG_RAID6: u64 = 1 << 8;
/// RAID1C3.
pub(crate) const BG_RAID1C3: u64 = 1 << 9;
/// RAID1C4.
pub(crate) const BG_RAID1C4: u64 = 1 << 10;

// Incompat feature bits (`BTRFS_FEATURE_INCOMPAT_*`).
/// Features by bit, for `VolumeInfo::features`.
pub(crate) const INCOMPAT_NAMES: &[(u64, &str)] = &[
    (1 << 0, "mixed_backref"),
    (1 << 1, "default_subvol"),
    (1 << 2, "mixed_groups"),
    (1 << 3, "compress_lzo"),
    (1 << 4, "compress_zstd"),
    (1 << 5, "big_metadata"),
    (1 << 6, "extended_iref"),
    (1 << 7, "raid56"),
    (1 << 8, "skinny_metadata"),
    (1 << 9, "no_holes"),
    (1 << 10, "metadata_uuid"),
    (1 << 11, "raid1c34"),
    (1 << 12, "zoned"),
    (1 << 13, "extent_tree_v2"),
    (1 << 14, "raid_stripe_tree"),
    (1 << 16, "simple_quota"),
];
/// `BTRFS_FEATURE_INCOMPAT_METADATA_UUID`: tree blocks carry `metadata_uuid`, not `fsid`.
pub(crate) const INCOMPAT_METADATA_UUID: u64 = 1 << 10;
/// `BTRFS_FEATURE_INCOMPAT_EXTENT_TREE_V2`: a different tree layout we do not read.
pub(crate) const INCOMPAT_EXTENT_TREE_V2: u64 = 1 << 13;
/// Compat-ro feature names.
pub(crate) const COMPAT_RO_NAMES: &[(u64, &str)] = &[
    (1 << 0, "free_space_tree"),
    (1 << 1, "free_space_tree_valid"),
    (1 << 2, "verity"),
    (1 << 3, "block_group_tree"),
];

// Inode flags (`BTRFS_INODE_*`).
/// Immutable (chattr +i).
pub(crate) const INODE_IMMUTABLE: u64 = 1 << 6;
/// `BTRFS_INODE_NODATASUM`: the file's data has no checksums (`chattr +C`, nodatacow).
pub(crate) const INODE_NODATASUM: u64 = 1;
/// Append only (chattr +a).
pub(crate) const INODE_APPEND: u64 = 1 << 7;
/// Compress (chattr +c).
pub(crate) const INODE_COMPRESS: u64 = 1 << 11;

/// Root item flag: read-only subvolume.
pub(crate) const ROOT_SUBVOL_RDONLY: u64 = 1 << 0;

/// File extent types.
pub(crate) const FILE_EXTENT_INLINE: u8 = 0;
/// Regular extent.
pub(crate) const FILE_EXTENT_REG: u8 = 1;
/// Preallocated (reads as zeros).
pub(crate) const FILE_EXTENT_PREALLOC: u8 = 2;

/// Dir entry file types (`BTRFS_FT_*`).
pub(crate) const FT_REG_FILE: u8 = 1;
/// Directory.
pub(crate) const FT_DIR: u8 = 2;
/// Symlink.
pub(crate) const FT_SYMLINK: u8 = 7;

/// Offset in the inode item payload of a root item and an inode item's size.
pub(crate) const INODE_ITEM_SIZE: usize = 160;
/// Offset of the inline data in a file extent item.
pub(crate) const FILE_EXTENT_INLINE_DATA: usize = 21;
/// Size of a regular file extent item.
pub(crate) const FILE_EXTENT_REG_SIZE: usize = 53;
/// Size of a dir item header before the name.
const DIR_ITEM_HEADER: usize = 30;
/// Size of a chunk item without stripes.
const CHUNK_ITEM_HEADER: usize = 48;
/// Size of one chunk stripe.
const STRIPE_SIZE: usize = 32;

/// A btrfs key: (objectid, type, offset), ordered in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key {
    pub(crate) objectid: u64,
    pub(crate) ty: u8,
    pub(crate) offset: u64,
}

impl Key {
    pub(crate) const fn new(objectid: u64, ty: u8, offset: u64) -> Key {
        Key {
            objectid,
            ty,
            offset,
        }
    }

    pub(crate) fn parse(b: &[u8], off: usize) -> Option<Key> {
        Some(Key {
            objectid: u64_le(b, off)?,
            ty: u8_at(b, off.checked_add(8)?)?,
            offset: u64_le(b, off.checked_add(9)?)?,
        })
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({} {} {})", self.objectid, self.ty, self.offset)
    }
}

/// `btrfs_name_hash`: the kernel's raw `crc32c(~1, name)` (no final inversion), the offset of
/// a DIR_ITEM key.
pub(crate) fn name_hash(name: &[u8]) -> u64 {
    // crc32c_append(c, d) = !raw(!c, d), so raw(!1, d) = !crc32c_append(1, d).
    u64::from(!crc32c::crc32c_append(1, name))
}

/// The fields of a superblock this reader uses.
#[derive(Debug, Clone)]
pub(crate) struct Superblock {
    /// Where this copy was read.
    pub(crate) offset: u64,
    pub(crate) fsid: [u8; 16],
    pub(crate) metadata_uuid: [u8; 16],
    pub(crate) generation: u64,
    pub(crate) root: u64,
    pub(crate) chunk_root: u64,
    pub(crate) log_root: u64,
    pub(crate) total_bytes: u64,
    pub(crate) bytes_used: u64,
    pub(crate) num_devices: u64,
    pub(crate) sectorsize: u32,
    pub(crate) nodesize: u32,
    pub(crate) compat_ro_flags: u64,
    pub(crate) incompat_flags: u64,
    pub(crate) csum_type: u16,
    pub(crate) root_level: u8,
    pub(crate) chunk_root_level: u8,
    pub(crate) devid: u64,
    pub(crate) label: String,
    pub(crate) sys_chunk_array: Vec<u8>,
}

/// Parse and validate one superblock copy read at `offset`: magic, checksum (any defined type),
/// `bytenr` equal to where it was found, sane sizes.
pub(crate) fn parse_superblock(b: &[u8], offset: u64) -> Result<Superblock, FsError> {
    let st = format!("superblock at offset {offset}");
    let bad = |problem: String| corrupt(&st, problem);
    let short = || bad(format!("shorter than {SUPER_SIZE} bytes"));
    let b = slice(b, 0, SUPER_SIZE).ok_or_else(short)?;
    if slice(b, 0x40, 8) != Some(&MAGIC[..]) {
        return Err(bad("no _BHRfS_M magic".into()));
    }
    let csum_type = u16_le(b, 0xc4).ok_or_else(short)?;
    // Every defined checksum type is verified; an unknown one is left to the volume's note.
    super::csum::check_block(csum_type, b).map_err(&bad)?;
    let field = |off| u64_le(b, off).ok_or_else(short);
    let bytenr = field(0x30)?;
    if bytenr != offset {
        return Err(bad(format!("bytenr field is {bytenr}, expected {offset}")));
    }
    let sectorsize = u32_le(b, 0x90).ok_or_else(short)?;
    let nodesize = u32_le(b, 0x94).ok_or_else(short)?;
    if !sectorsize.is_power_of_two() || !(4096..=MAX_NODESIZE).contains(&sectorsize) {
        return Err(bad(format!(
            "sector size {sectorsize} is not a power of two in 4096..=65536"
        )));
    }
    if !nodesize.is_power_of_two() || nodesize < sectorsize || nodesize > MAX_NODESIZE {
        return Err(bad(format!(
            "node size {nodesize} is not a power of two in {sectorsize}..=65536"
        )));
    }
    let sys_len = u32_le(b, 0xa0).ok_or_else(short)?;
    let sys_len = usize::try_from(sys_len)
        .ok()
        .filter(|&n| n <= SYS_CHUNK_ARRAY_MAX)
        .ok_or_else(|| bad(format!("sys_chunk_array_size {sys_len} exceeds 2048")))?;
    let fsid = array::<16>(b, 0x20).ok_or_else(short)?;
    let incompat_flags = field(0xbc)?;
    let metadata_uuid = if incompat_flags & INCOMPAT_METADATA_UUID != 0 {
        array::<16>(b, 0x23b).ok_or_else(short)?
    } else {
        fsid
    };
    let label_raw = slice(b, 0x12b, 256).ok_or_else(short)?;
    let label_len = label_raw
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(label_raw.len());
    Ok(Superblock {
        offset,
        fsid,
        metadata_uuid,
        generation: field(0x48)?,
        root: field(0x50)?,
        chunk_root: field(0x58)?,
        log_root: field(0x60)?,
        total_bytes: field(0x70)?,
        bytes_used: field(0x78)?,
        num_devices: field(0x88)?,
        sectorsize,
        nodesize,
        compat_ro_flags: field(0xb4)?,
        incompat_flags,
        csum_type,
        root_level: u8_at(b, 0xc6).ok_or_else(short)?,
        chunk_root_level: u8_at(b, 0xc7).ok_or_else(short)?,
        devid: field(0xc9)?,
        label: String::from_utf8_lossy(label_raw.get(..label_len).unwrap_or_default()).into_owned(),
        sys_chunk_array: slice(b, SYS_CHUNK_ARRAY_OFF, sys_len)
            .ok_or_else(short)?
            .to_vec(),
    })
}

/// One stripe of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stripe {
    pub(crate) devid: u64,
    pub(crate) offset: u64,
}

/// A chunk item: a logical range and where its copies/stripes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) logical: u64,
    pub(crate) length: u64,
    pub(crate) stripe_len: u64,
    pub(crate) ty: u64,
    pub(crate) sub_stripes: u16,
    pub(crate) stripes: Vec<Stripe>,
}

/// Parse a chunk item at the start of `b` for logical address `logical`; returns the chunk and
/// the number of bytes it occupies.
pub(crate) fn parse_chunk(b: &[u8], logical: u64, st: &str) -> Result<(Chunk, usize), FsError> {
    let short = || corrupt(st, format!("chunk item at logical {logical} is truncated"));
    let length = u64_le(b, 0).ok_or_else(short)?;
    let stripe_len = u64_le(b, 16).ok_or_else(short)?;
    let ty = u64_le(b, 24).ok_or_else(short)?;
    let num_stripes = u16_le(b, 44).ok_or_else(short)?;
    let sub_stripes = u16_le(b, 46).ok_or_else(short)?;
    if num_stripes == 0 {
        return Err(corrupt(
            st,
            format!("chunk at logical {logical} has no stripes"),
        ));
    }
    if length == 0 {
        return Err(corrupt(
            st,
            format!("chunk at logical {logical} has length 0"),
        ));
    }
    let mut stripes = Vec::with_capacity(usize::from(num_stripes).min(16));
    for i in 0..usize::from(num_stripes) {
        let off = i
            .checked_mul(STRIPE_SIZE)
            .and_then(|o| o.checked_add(CHUNK_ITEM_HEADER))
            .ok_or_else(short)?;
        stripes.push(Stripe {
            devid: u64_le(b, off).ok_or_else(short)?,
            offset: u64_le(b, off.checked_add(8).ok_or_else(short)?).ok_or_else(short)?,
        });
    }
    let used = usize::from(num_stripes)
        .checked_mul(STRIPE_SIZE)
        .and_then(|n| n.checked_add(CHUNK_ITEM_HEADER))
        .ok_or_else(short)?;
    Ok((
        Chunk {
            logical,
            length,
            stripe_len,
            ty,
            sub_stripes,
            stripes,
        },
        used,
    ))
}

/// Human name of a chunk's profile.
pub(crate) fn profile_name(ty: u64) -> &'static str {
    if ty & BG_RAID0 != 0 {
        "raid0"
    } else if ty & BG_RAID1 != 0 {
        "raid1"
    } else if ty & BG_DUP != 0 {
        "dup"
    } else if ty & BG_RAID10 != 0 {
        "raid10"
    } else if ty & BG_RAID5 != 0 {
        "raid5"
    } else if ty & BG_RAID6 != 0 {
        "raid6"
    } else if ty & BG_RAID1C3 != 0 {
        "raid1c3"
    } else if ty & BG_RAID1C4 != 0 {
        "raid1c4"
    } else {
        "single"
    }
}

/// The fields of a tree block header this reader checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) fsid: [u8; 16],
    pub(crate) bytenr: u64,
    pub(crate) owner: u64,
    pub(crate) nritems: u32,
    pub(crate) level: u8,
}

pub(crate) fn parse_header(b: &[u8]) -> Option<Header> {
    Some(Header {
        fsid: array::<16>(b, 0x20)?,
        bytenr: u64_le(b, 0x30)?,
        owner: u64_le(b, 0x58)?,
        nritems: u32_le(b, 0x60)?,
        level: u8_at(b, 0x64)?,
    })
}

/// A timestamp (seconds; nanoseconds are ignored).
fn time_at(b: &[u8], off: usize) -> Option<i64> {
    let secs = u64_le(b, off)?;
    Some(i64::from_le_bytes(secs.to_le_bytes()))
}

/// An inode item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InodeItem {
    pub(crate) size: u64,
    pub(crate) nlink: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mode: u32,
    pub(crate) flags: u64,
    pub(crate) atime: i64,
    pub(crate) ctime: i64,
    pub(crate) mtime: i64,
    pub(crate) otime: i64,
}

pub(crate) fn parse_inode(b: &[u8]) -> Option<InodeItem> {
    if b.len() < INODE_ITEM_SIZE {
        return None;
    }
    Some(InodeItem {
        size: u64_le(b, 16)?,
        nlink: u32_le(b, 40)?,
        uid: u32_le(b, 44)?,
        gid: u32_le(b, 48)?,
        mode: u32_le(b, 52)?,
        flags: u64_le(b, 64)?,
        atime: time_at(b, 112)?,
        ctime: time_at(b, 124)?,
        mtime: time_at(b, 136)?,
        otime: time_at(b, 148)?,
    })
}

/// A root item (the fields used).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RootItem {
    pub(crate) root_dirid: u64,
    pub(crate) bytenr: u64,
    pub(crate) flags: u64,
    pub(crate) level: u8,
}

pub(crate) fn parse_root_item(b: &[u8]) -> Option<RootItem> {
    Some(RootItem {
        root_dirid: u64_le(b, 168)?,
        bytenr: u64_le(b, 176)?,
        flags: u64_le(b, 208)?,
        level: u8_at(b, 238)?,
    })
}

/// One entry of a DIR_ITEM / DIR_INDEX payload.
#[derive(Debug, Clone)]
pub(crate) struct DirEntryRaw {
    pub(crate) location: Key,
    pub(crate) file_type: u8,
    pub(crate) name: Vec<u8>,
}

/// Parse every entry packed in a dir item payload (hash collisions share one item), at most
/// `max` of them. `None` when an entry is truncated or its name is not a valid file name.
pub(crate) fn parse_dir_items(b: &[u8], max: usize) -> Option<Vec<DirEntryRaw>> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < b.len() && out.len() < max {
        let location = Key::parse(b, off)?;
        let data_len = u16_le(b, off.checked_add(25)?)?;
        let name_len = u16_le(b, off.checked_add(27)?)?;
        let file_type = u8_at(b, off.checked_add(29)?)?;
        let name_off = off.checked_add(DIR_ITEM_HEADER)?;
        let name = slice(b, name_off, usize::from(name_len))?.to_vec();
        // A name a directory cannot hold (empty, `.`, `..`, with `/` or NUL) is corruption.
        if name.is_empty()
            || name == b"."
            || name == b".."
            || name.contains(&b'/')
            || name.contains(&0)
        {
            return None;
        }
        off = name_off
            .checked_add(usize::from(name_len))?
            .checked_add(usize::from(data_len))?;
        out.push(DirEntryRaw {
            location,
            file_type,
            name,
        });
    }
    Some(out)
}

/// A root ref / backref payload: the directory in the parent tree and the name.
#[derive(Debug, Clone)]
pub(crate) struct RootRef {
    pub(crate) dirid: u64,
    pub(crate) name: Vec<u8>,
}

pub(crate) fn parse_root_ref(b: &[u8]) -> Option<RootRef> {
    let dirid = u64_le(b, 0)?;
    let name_len = u16_le(b, 16)?;
    Some(RootRef {
        dirid,
        name: slice(b, 18, usize::from(name_len))?.to_vec(),
    })
}

/// First name of an INODE_REF payload (index u64, name_len u16, name).
pub(crate) fn parse_inode_ref_name(b: &[u8]) -> Option<Vec<u8>> {
    let name_len = u16_le(b, 8)?;
    Some(slice(b, 10, usize::from(name_len))?.to_vec())
}

/// A file extent item.
#[derive(Debug, Clone)]
pub(crate) enum FileExtent<'a> {
    /// Data stored in the item; `ram_bytes` is its decompressed size.
    Inline {
        compression: u8,
        ram_bytes: u64,
        data: &'a [u8],
    },
    /// Data in an extent on disk (or a hole when `disk_bytenr` is 0, or zeros when prealloc).
    Regular {
        prealloc: bool,
        compression: u8,
        ram_bytes: u64,
        disk_bytenr: u64,
        disk_num_bytes: u64,
        offset: u64,
        num_bytes: u64,
    },
}

pub(crate) fn parse_file_extent(b: &[u8]) -> Result<FileExtent<'_>, String> {
    let short = || format!("file extent item of {} bytes is truncated", b.len());
    let ram_bytes = u64_le(b, 8).ok_or_else(short)?;
    let compression = u8_at(b, 16).ok_or_else(short)?;
    let encryption = u8_at(b, 17).ok_or_else(short)?;
    let other = u16_le(b, 18).ok_or_else(short)?;
    let ty = u8_at(b, 20).ok_or_else(short)?;
    if encryption != 0 || other != 0 {
        return Err(format!(
            "encryption {encryption} / other encoding {other} is not supported"
        ));
    }
    match ty {
        FILE_EXTENT_INLINE => Ok(FileExtent::Inline {
            compression,
            ram_bytes,
            data: b.get(FILE_EXTENT_INLINE_DATA..).ok_or_else(short)?,
        }),
        FILE_EXTENT_REG | FILE_EXTENT_PREALLOC => {
            if b.len() < FILE_EXTENT_REG_SIZE {
                return Err(short());
            }
            Ok(FileExtent::Regular {
                prealloc: ty == FILE_EXTENT_PREALLOC,
                compression,
                ram_bytes,
                disk_bytenr: u64_le(b, 21).ok_or_else(short)?,
                disk_num_bytes: u64_le(b, 29).ok_or_else(short)?,
                offset: u64_le(b, 37).ok_or_else(short)?,
                num_bytes: u64_le(b, 45).ok_or_else(short)?,
            })
        }
        other => Err(format!("unknown file extent type {other}")),
    }
}

/// Format a 16-byte UUID as lowercase dashed text.
pub(crate) fn uuid_text(raw: &[u8; 16]) -> String {
    imgcheck_core::bytes::uuid_be(raw)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_like_btrfs() {
        assert!(Key::new(1, 2, 3) < Key::new(1, 3, 0));
        assert!(Key::new(1, 255, u64::MAX) < Key::new(2, 0, 0));
        let mut raw = [0u8; 17];
        raw[0] = 5;
        raw[8] = 132;
        raw[9] = 7;
        assert_eq!(Key::parse(&raw, 0).unwrap(), Key::new(5, 132, 7));
        assert!(Key::parse(&raw, 1).is_none());
    }

    #[test]
    fn dir_items_are_bounded() {
        // name_len larger than the payload: refused, no panic.
        let mut b = vec![0u8; 40];
        b[27] = 200;
        assert!(parse_dir_items(&b, 10).is_none());
        assert!(parse_file_extent(&[0u8; 5]).is_err());
        assert!(parse_root_ref(&[0u8; 3]).is_none());
    }

    #[test]
    fn dir_items_with_invalid_names_are_refused() {
        // Found by the btrfs fuzz target: a zeroed dir index listed the name "".
        let item = |name: &[u8]| {
            let mut b = vec![0u8; DIR_ITEM_HEADER];
            b[27..29].copy_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
            b[29] = FT_REG_FILE;
            b.extend_from_slice(name);
            b
        };
        assert_eq!(parse_dir_items(&item(b"ok"), 1).unwrap()[0].name, b"ok");
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b"] {
            assert!(parse_dir_items(&item(bad), 1).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn profiles() {
        assert_eq!(profile_name(1), "single");
        assert_eq!(profile_name(4 | BG_DUP), "dup");
        assert_eq!(profile_name(1 | BG_RAID6), "raid6");
    }
}
