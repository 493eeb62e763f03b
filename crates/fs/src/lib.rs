//! # imgcheck-fs
//!
//! Every filesystem found on a volume, behind one read-only file view ([`GuestFs`]).
//!
//! - [`probe`] looks at a few superblock sectors and says what the volume holds: a filesystem
//!   ([`FsType`]), a swap area, an encrypted volume (LUKS1/2, BitLocker) or nothing known.
//! - [`open`] probes and opens a filesystem: ext2/3/4 (wrapping `ext4-view`), FAT12/16/32
//!   (wrapping `fatfs`), NTFS (wrapping `ntfs`, with our own LZNT1), XFS v4/v5 and Btrfs (our own
//!   readers; their module docs say why). The wrappers add what the crates lack: a refusing
//!   writer, a page cache, case-insensitive lookup, inode numbers and flags, limits, contained
//!   panics, and refusal of data the crates would return wrongly.
//!
//! Paths are absolute guest paths with `/` separators on every filesystem. No call follows a
//! symlink: `metadata` and `read_link` describe the link itself, `read` refuses it, and a symlink
//! (or NTFS reparse point) used as an *intermediate* component yields
//! [`FsError::SymlinkInPath`] naming that component, so that the guest view above resolves it
//! (clamped at the guest root) and asks again. `.` components are ignored; `..` is refused.
//!
//! Every [`GuestFs`] is `Send + Sync` and may be shared by rayon tasks.
//!
//! ```no_run
//! use imgcheck_core::{BlockSource, FileSource, Limits};
//! use std::sync::Arc;
//!
//! let src: Arc<dyn BlockSource> = Arc::new(FileSource::open("fs.img".as_ref()).unwrap());
//! println!("{:?}", imgcheck_fs::probe(&*src).unwrap());
//! let fs = imgcheck_fs::open(src, &Limits::default()).unwrap();
//! for e in fs.read_dir("/").unwrap() {
//!     println!("{} {:?}", e.name, e.file_type);
//! }
//! let fstab = fs.read("/etc/fstab", 1 << 20).unwrap();
//! ```

mod btrfs;
mod error;
mod ext;
mod extsb;
mod fat;
mod guard;
mod lznt1;
mod ntfs;
mod path;
mod probe;
mod xfs;

pub use btrfs::checksum as btrfs_checksum;
pub use error::FsError;
pub use guard::in_guard;
pub use probe::probe;

use imgcheck_core::{BlockSource, Limits};
use serde::Serialize;
use std::sync::Arc;

/// A filesystem type this crate opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FsType {
    /// ext2 (no journal, no extents).
    Ext2,
    /// ext3 (journal, no ext4-only features).
    Ext3,
    /// ext4 (any ext4-only feature: extents, flex_bg, 64bit, metadata_csum, …).
    Ext4,
    /// FAT12.
    Fat12,
    /// FAT16.
    Fat16,
    /// FAT32.
    Fat32,
    /// NTFS.
    Ntfs,
    /// XFS (v4 and v5).
    Xfs,
    /// Btrfs.
    Btrfs,
}

impl FsType {
    /// Lowercase name, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            FsType::Ext2 => "ext2",
            FsType::Ext3 => "ext3",
            FsType::Ext4 => "ext4",
            FsType::Fat12 => "fat12",
            FsType::Fat16 => "fat16",
            FsType::Fat32 => "fat32",
            FsType::Ntfs => "ntfs",
            FsType::Xfs => "xfs",
            FsType::Btrfs => "btrfs",
        }
    }

    /// True for FAT and NTFS, whose name lookup ignores case.
    pub fn case_insensitive(self) -> bool {
        matches!(
            self,
            FsType::Fat12 | FsType::Fat16 | FsType::Fat32 | FsType::Ntfs
        )
    }
}

/// What [`probe`] found on a volume. Serialised flat with a `kind` tag:
/// `{"kind":"filesystem","fs":"ext4"}`, `{"kind":"swap","uuid":…,"label":…}`,
/// `{"kind":"encrypted","scheme":"luks2","uuid":…}`, `{"kind":"unknown"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probed {
    /// A filesystem [`open`] can read.
    Filesystem(FsType),
    /// A Linux swap area (`SWAPSPACE2`).
    Swap {
        /// UUID from the swap header, if not all zero.
        uuid: Option<String>,
        /// Label, if set.
        label: Option<String>,
    },
    /// An encrypted volume: recognised, opaque.
    Encrypted {
        /// `luks1`, `luks2` or `bitlocker`.
        scheme: String,
        /// The volume's UUID (LUKS) or volume GUID (BitLocker), when the header gives one.
        uuid: Option<String>,
    },
    /// No known signature.
    Unknown,
}

impl Serialize for Probed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            Probed::Filesystem(t) => {
                m.serialize_entry("kind", "filesystem")?;
                m.serialize_entry("fs", t)?;
            }
            Probed::Swap { uuid, label } => {
                m.serialize_entry("kind", "swap")?;
                m.serialize_entry("uuid", uuid)?;
                m.serialize_entry("label", label)?;
            }
            Probed::Encrypted { scheme, uuid } => {
                m.serialize_entry("kind", "encrypted")?;
                m.serialize_entry("scheme", scheme)?;
                m.serialize_entry("uuid", uuid)?;
            }
            Probed::Unknown => m.serialize_entry("kind", "unknown")?,
        }
        m.end()
    }
}

/// Type of a directory entry or file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link (on NTFS: a symlink or junction reparse point).
    Symlink,
    /// Anything else: device, fifo, socket, other reparse point.
    Other,
}

impl FileType {
    fn noun(self) -> &'static str {
        match self {
            FileType::File => "regular file",
            FileType::Dir => "directory",
            FileType::Symlink => "symlink",
            FileType::Other => "special file",
        }
    }
}

/// Per-file flags. Which ones a filesystem can set is noted on each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FileFlags {
    /// Immutable: ext `i_flags` 0x10, XFS `di_flags` 0x8, Btrfs inode flag 0x40.
    pub immutable: bool,
    /// Append-only: ext `i_flags` 0x20, XFS `di_flags` 0x10, Btrfs inode flag 0x80.
    pub append_only: bool,
    /// FAT/NTFS read-only attribute.
    pub read_only: bool,
    /// FAT/NTFS hidden attribute.
    pub hidden: bool,
    /// FAT/NTFS system attribute.
    pub system: bool,
    /// NTFS compressed (or the ext/Btrfs compression flag).
    pub compressed: bool,
    /// NTFS encrypted (or ext encrypted inode).
    pub encrypted: bool,
    /// NTFS sparse file.
    pub sparse: bool,
    /// NTFS reparse point.
    pub reparse_point: bool,
    /// The raw flags word: ext `i_flags`, XFS `di_flags`, Btrfs inode flags (low 32 bits), FAT
    /// attribute byte, NTFS file attributes.
    pub raw: u32,
}

/// The identity of a file within one volume, what `(st_dev, st_ino)` is on a mounted system: two
/// paths of a volume with equal ids name the same file. A walk uses it to recognise a directory
/// it is already inside (a corrupt volume can make a directory its own descendant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FileId {
    /// The tree `number` is unique in: the Btrfs subvolume id (every subvolume numbers its inodes
    /// from 256); 0 on the other filesystems.
    pub tree: u64,
    /// ext/XFS/Btrfs inode number, NTFS MFT record number, FAT first cluster (for a directory
    /// entry without one, the root directory's: `fatfs` opens such an entry as the root).
    pub number: u64,
}

impl FileId {
    /// The id of inode (or MFT record) `number`, on a filesystem with one inode table.
    pub fn inode(number: u64) -> FileId {
        FileId { tree: 0, number }
    }
}

/// What [`GuestFs::metadata`] says about one path (the path itself; symlinks are not followed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// Type.
    pub file_type: FileType,
    /// Size in bytes (for a symlink: the target's length).
    pub size: u64,
    /// Unix permission bits incl. setuid/setgid/sticky (ext, XFS, Btrfs).
    pub mode: Option<u32>,
    /// Owner (ext, XFS, Btrfs).
    pub uid: Option<u32>,
    /// Group (ext, XFS, Btrfs).
    pub gid: Option<u32>,
    /// Last access, seconds since the Unix epoch (FAT: date only, local time taken as UTC).
    pub atime: Option<i64>,
    /// Last modification, seconds since the Unix epoch (FAT: local time taken as UTC).
    pub mtime: Option<i64>,
    /// Last status (ext inode, NTFS MFT record) change.
    pub ctime: Option<i64>,
    /// Creation time where recorded.
    pub crtime: Option<i64>,
    /// Inode number (ext, XFS, Btrfs) or MFT record number (NTFS); FAT has none.
    pub inode: Option<u64>,
    /// Which file of the volume this is (see [`FileId`]); `None` where the filesystem cannot say
    /// (an empty FAT file, an ext entry whose inode could not be read).
    pub id: Option<FileId>,
    /// Hard link count (ext, XFS, Btrfs, NTFS).
    pub links: Option<u32>,
    /// Flags.
    pub flags: FileFlags,
    /// Named data streams (NTFS alternate data streams); read them as `path:name`.
    pub streams: Vec<String>,
}

/// One entry of [`GuestFs::read_dir`]; `.` and `..` are never listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirEntry {
    /// Name (non-UTF-8 ext names are converted lossily).
    pub name: String,
    /// Type as the directory entry (or the file record) says.
    pub file_type: FileType,
    /// Inode or MFT record number, where the filesystem has one.
    pub inode: Option<u64>,
}

/// Clean/dirty state of a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeState {
    /// Cleanly unmounted.
    Clean,
    /// Not cleanly unmounted, errors recorded, or a journal awaiting replay.
    Dirty,
    /// The filesystem does not record it.
    Unknown,
}

/// What [`GuestFs::volume_info`] says about the volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeInfo {
    /// Filesystem type.
    pub fs_type: FsType,
    /// ext/XFS/Btrfs UUID (lowercase, dashed), FAT serial (`ABCD-1234`), NTFS serial (16 hex
    /// digits).
    pub uuid: Option<String>,
    /// Label, if set.
    pub label: Option<String>,
    /// Size of the filesystem in bytes (as its superblock/boot sector says).
    pub size_bytes: u64,
    /// Free bytes, where cheaply known.
    pub free_bytes: Option<u64>,
    /// Free inodes (ext, XFS).
    pub free_inodes: Option<u64>,
    /// Block or cluster size.
    pub block_size: u32,
    /// Clean/dirty state.
    pub state: VolumeState,
    /// Feature flags (ext and XFS feature names, Btrfs incompat flags, FAT/NTFS volume flags),
    /// sorted.
    pub features: Vec<String>,
    /// Notes on how the volume was read, e.g. `journal not replayed`.
    pub notes: Vec<String>,
}

/// A read-only file view of one filesystem. See the crate docs for the path rules.
pub trait GuestFs: Send + Sync {
    /// Facts about the volume.
    fn volume_info(&self) -> VolumeInfo;
    /// Metadata of `path` itself (a symlink is described, not followed).
    fn metadata(&self, path: &str) -> Result<Metadata, FsError>;
    /// Entries of the directory `path`, sorted by name, at most `Limits::max_dir_entries`.
    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError>;
    /// Target of the symlink `path`, as stored (NTFS: `\` turned into `/`).
    fn read_link(&self, path: &str) -> Result<String, FsError>;
    /// Contents of the regular file `path`, truncated to its first `max_bytes` bytes. When the
    /// file is larger than `Limits::max_file_bytes` and `max_bytes` asks for more than that, the
    /// result is [`FsError::Limit`] rather than a silently shortened file.
    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError>;
    /// Up to `len` bytes (at most `Limits::max_file_bytes`) of the regular file `path` from
    /// byte `offset`, fewer at its end — for readers that stream a large file and may stop
    /// early (the initramfs listing). `Ok(None)` when this filesystem does not read ranges:
    /// call [`GuestFs::read`] instead. A range is refused for the same reasons as `read`
    /// (not a regular file, a symlink in the path).
    fn read_range(&self, path: &str, offset: u64, len: usize) -> Result<Option<Vec<u8>>, FsError> {
        let _ = (path, offset, len);
        Ok(None)
    }
    /// Subvolumes of this filesystem (Btrfs), sorted by id; empty for filesystems without them.
    fn subvolumes(&self) -> Result<Vec<SubvolumeInfo>, FsError> {
        Ok(Vec::new())
    }
    /// The file view of one subvolume, as a mount with fstab's `subvol=` or `subvolid=` option
    /// would show it. Filesystems without subvolumes refuse.
    fn subvolume(&self, which: &SubvolumeSel) -> Result<Arc<dyn GuestFs>, FsError> {
        Err(FsError::Unsupported {
            fs: self.volume_info().fs_type.name(),
            path: match which {
                SubvolumeSel::Path(p) => p.clone(),
                SubvolumeSel::Id(id) => format!("subvolid={id}"),
            },
            feature: "subvolumes".into(),
        })
    }
}

/// Which subvolume to open: fstab's `subvol=PATH` (relative to the top-level subvolume, with or
/// without a leading `/`) or `subvolid=ID`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubvolumeSel {
    /// Path from the top-level subvolume, e.g. `@/home` or `/root`.
    Path(String),
    /// Subvolume (tree) id; 5 is the top level.
    Id(u64),
}

/// One subvolume or snapshot of a filesystem that has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubvolumeInfo {
    /// Tree id (5 is the top level).
    pub id: u64,
    /// Path from the top-level subvolume, without a leading `/` (empty for the top level).
    pub path: String,
    /// Parent subvolume id (0 for the top level).
    pub parent: u64,
    /// Whether this is the filesystem's default subvolume (what a plain mount shows).
    pub default: bool,
    /// Whether the subvolume is read-only (typical of snapshots).
    pub read_only: bool,
}

/// Probe `src` and open the filesystem on it.
///
/// Swap areas, encrypted volumes and unknown content are errors here (kind `Unsupported`): use
/// [`probe`] to tell them apart first.
pub fn open(src: Arc<dyn BlockSource>, limits: &Limits) -> Result<Box<dyn GuestFs>, FsError> {
    match probe(&*src)? {
        Probed::Filesystem(t) => open_as(src, t, limits),
        Probed::Swap { .. } => Err(FsError::Unsupported {
            fs: "swap",
            path: "/".into(),
            feature: "a swap area has no files; opening it".into(),
        }),
        Probed::Encrypted { scheme, .. } => Err(FsError::Unsupported {
            fs: "probe",
            path: "/".into(),
            feature: format!("{scheme} encrypted volume"),
        }),
        Probed::Unknown => Err(FsError::Unrecognised { size: src.len() }),
    }
}

/// Open `src` as the given filesystem type, without probing.
pub fn open_as(
    src: Arc<dyn BlockSource>,
    fs_type: FsType,
    limits: &Limits,
) -> Result<Box<dyn GuestFs>, FsError> {
    match fs_type {
        FsType::Ext2 | FsType::Ext3 | FsType::Ext4 => {
            Ok(Box::new(ext::ExtFs::open(src, fs_type, limits)?))
        }
        FsType::Fat12 | FsType::Fat16 | FsType::Fat32 => {
            Ok(Box::new(fat::FatFs::open(src, fs_type, limits)?))
        }
        FsType::Ntfs => Ok(Box::new(ntfs::NtfsFs::open(src, limits)?)),
        FsType::Xfs => xfs::open(src, limits),
        FsType::Btrfs => btrfs::open(src, limits),
    }
}

/// Page-cache size in front of each opened filesystem: metadata of small guests fits, and 16
/// such caches (one per volume in parallel) stay well under a gigabyte.
pub(crate) const CACHE_BYTES: u64 = 32 << 20;

/// The page cache every filesystem reader reads through, counted in the `--stats` figures of
/// the filesystem layer.
pub(crate) fn cached<S: BlockSource>(src: S) -> imgcheck_core::CachedSource<S> {
    imgcheck_core::CachedSource::new(src, CACHE_BYTES).counting(
        &imgcheck_core::stats::FILESYSTEMS,
        &imgcheck_core::stats::FS_CACHE,
    )
}

/// How many bytes of a file of `size` bytes to read for a caller asking for `max_bytes`, or the
/// limit error when the caller wants more than `Limits::max_file_bytes` of a larger file.
pub(crate) fn read_cap(
    fs: &'static str,
    path: &str,
    size: u64,
    max_bytes: u64,
    limits: &Limits,
) -> Result<usize, FsError> {
    let want = size.min(max_bytes);
    if want > limits.max_file_bytes {
        return Err(FsError::Limit {
            fs,
            path: path.to_string(),
            what: "file size in bytes",
            actual: size,
            limit: limits.max_file_bytes,
        });
    }
    usize::try_from(want).map_err(|_| FsError::Limit {
        fs,
        path: path.to_string(),
        what: "file size in bytes",
        actual: size,
        limit: u64::try_from(usize::MAX).unwrap_or(u64::MAX),
    })
}
