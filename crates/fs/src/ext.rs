//! ext2/3/4 behind [`GuestFs`], wrapping the `ext4-view` crate (read-only, verifies metadata
//! checksums, replays checksum-v3 journals in memory; chosen over the `ext4` crate, which silently
//! truncates directories — see the project's dependency measurements).
//!
//! What the wrapper adds:
//! - `ext4_view::Ext4` is `!Send` (it holds an `Rc`). Each worker thread keeps its own instance
//!   in a small thread-local table keyed by this filesystem's id (loaded on first use on that
//!   thread, at most [`VIEWS_PER_THREAD`] per thread); [`ExtFs`] itself holds only `Send + Sync`
//!   data.
//! - A dirty journal the crate cannot replay (no checksum v3) makes its `load()` fail: the volume
//!   is then opened through a reader that shows the superblock's `needs_recovery` bit as clear
//!   (with the superblock checksum recomputed when `metadata_csum` is on), and `volume_info`
//!   says `journal not replayed`.
//! - Filesystems the crate refuses as a whole (`inline_data`, `meta_bg`, `large_dir`) and files it
//!   cannot read (holes in ext2/ext3 files) are read by our own reader (`extsb`), which also
//!   supplies inode numbers, link counts, flags and the superblock facts.
//! - Symlinks are never followed (crate docs); the crate's own resolution follows intermediate
//!   symlinks, so intermediate components are checked first.

use crate::extsb::{self, ExtReader, Superblock};
use crate::guard::guarded;
use crate::path::{components, join};
use crate::{
    read_cap, DirEntry, FileType, FsError, FsType, GuestFs, Metadata, VolumeInfo, VolumeState,
};
use ext4_view::{Ext4, Ext4Error, Ext4Read};
use imgcheck_core::{BlockSource, ErrorKind, Limits, ReadError};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Loaded `Ext4` instances kept per thread (one per open filesystem used on that thread).
const VIEWS_PER_THREAD: usize = 8;
/// `s_state` bit: cleanly unmounted.
const STATE_VALID: u16 = 0x1;
/// `s_state` bit: errors detected.
const STATE_ERROR: u16 = 0x2;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static VIEWS: RefCell<Vec<(u64, Ext4)>> = const { RefCell::new(Vec::new()) };
}

/// The `Ext4Read` given to `ext4-view`: positional reads from our source, optionally with the
/// superblock's `needs_recovery` bit masked.
struct ViewReader {
    src: Arc<dyn BlockSource>,
    /// The patched superblock (bytes 1024..2048) when masking.
    patched_sb: Option<Vec<u8>>,
}

impl Ext4Read for ViewReader {
    fn read(
        &mut self,
        start_byte: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        self.src.read_exact_at(dst, start_byte)?;
        if let Some(sb) = &self.patched_sb {
            let sb_start = u64::try_from(extsb::SUPERBLOCK_OFFSET).unwrap_or(1024);
            for (i, byte) in dst.iter_mut().enumerate() {
                let abs = start_byte.saturating_add(u64::try_from(i).unwrap_or(u64::MAX));
                if let Some(rel) = abs.checked_sub(sb_start) {
                    if let Some(b) = usize::try_from(rel).ok().and_then(|r| sb.get(r)) {
                        *byte = *b;
                    } else {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

/// An opened ext2/3/4 filesystem.
pub(crate) struct ExtFs {
    id: u64,
    src: Arc<dyn BlockSource>,
    fs_type: FsType,
    name: &'static str,
    limits: Limits,
    sb: Superblock,
    /// Whether `ext4-view` reads this volume (else our own reader does everything).
    use_view: bool,
    patched_sb: Option<Vec<u8>>,
    notes: Vec<String>,
}

fn map_err(fs: &'static str, path: &str, operation: &'static str, e: Ext4Error) -> FsError {
    let p = path.to_string();
    match e {
        Ext4Error::NotFound => FsError::NotFound { fs, path: p },
        Ext4Error::NotADirectory => FsError::NotADirectory { fs, path: p },
        Ext4Error::IsADirectory => FsError::IsADirectory { fs, path: p },
        other => {
            let kind = match &other {
                Ext4Error::Io(inner) => inner
                    .downcast_ref::<ReadError>()
                    .map_or(ErrorKind::Io, ReadError::kind),
                Ext4Error::Incompatible(_) | Ext4Error::Encrypted => ErrorKind::Unsupported,
                Ext4Error::FileTooLarge | Ext4Error::PathTooLong | Ext4Error::TooManySymlinks => {
                    ErrorKind::LimitExceeded
                }
                _ => ErrorKind::Corrupt,
            };
            FsError::Backend {
                fs,
                path: p,
                operation,
                kind,
                source: Box::new(other),
            }
        }
    }
}

fn ftype(t: ext4_view::FileType) -> FileType {
    if t.is_regular_file() {
        FileType::File
    } else if t.is_dir() {
        FileType::Dir
    } else if t.is_symlink() {
        FileType::Symlink
    } else {
        FileType::Other
    }
}

fn load_view(src: &Arc<dyn BlockSource>, patched_sb: Option<Vec<u8>>) -> Result<Ext4, Ext4Error> {
    Ext4::load(Box::new(ViewReader {
        src: src.clone(),
        patched_sb,
    }))
}

impl ExtFs {
    pub(crate) fn open(
        src: Arc<dyn BlockSource>,
        fs_type: FsType,
        limits: &Limits,
    ) -> Result<ExtFs, FsError> {
        let name = fs_type.name();
        let src: Arc<dyn BlockSource> = Arc::new(crate::cached(src));
        let sb = ExtReader::new(&*src, name, limits)?.sb;
        let mut notes = Vec::new();
        let mut patched_sb = None;
        let first = guarded(name, "/", "opening the volume", || {
            Ok(load_view(&src, None))
        })?;
        let loaded = match first {
            Ok(v) => Ok(v),
            Err(e) if sb.needs_recovery() && !matches!(e, Ext4Error::Io(_)) => {
                let patched = mask_recovery(&*src, name)?;
                let second = guarded(name, "/", "opening the volume", || {
                    Ok(load_view(&src, Some(patched.clone())))
                })?;
                if second.is_ok() {
                    patched_sb = Some(patched);
                    notes.push("journal not replayed".to_string());
                }
                second
            }
            Err(e) => Err(e),
        };
        let use_view = match loaded {
            Ok(view) => {
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                let fs = ExtFs {
                    id,
                    src,
                    fs_type,
                    name,
                    limits: limits.clone(),
                    sb,
                    use_view: true,
                    patched_sb,
                    notes,
                };
                fs.remember(view);
                return Ok(fs);
            }
            Err(Ext4Error::Incompatible(why)) => {
                notes.push(format!(
                    "read by imgcheck's own ext reader (ext4-view: {why}); checksums not verified"
                ));
                if sb.needs_recovery() {
                    notes.push("journal not replayed".to_string());
                }
                false
            }
            Err(e) => return Err(map_err(name, "/", "opening the volume", e)),
        };
        Ok(ExtFs {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            src,
            fs_type,
            name,
            limits: limits.clone(),
            sb,
            use_view,
            patched_sb: None,
            notes,
        })
    }

    fn remember(&self, view: Ext4) {
        VIEWS.with(|v| {
            let mut v = v.borrow_mut();
            v.retain(|(id, _)| *id != self.id);
            v.insert(0, (self.id, view));
            v.truncate(VIEWS_PER_THREAD);
        });
    }

    /// This thread's `Ext4` for this filesystem, loading it on first use.
    fn view(&self) -> Result<Ext4, FsError> {
        let found = VIEWS.with(|v| {
            v.borrow()
                .iter()
                .find(|(id, _)| *id == self.id)
                .map(|(_, e)| e.clone())
        });
        if let Some(e) = found {
            return Ok(e);
        }
        let view = guarded(self.name, "/", "opening the volume", || {
            load_view(&self.src, self.patched_sb.clone())
                .map_err(|e| map_err(self.name, "/", "opening the volume", e))
        })?;
        self.remember(view.clone());
        Ok(view)
    }

    fn own(&self) -> Result<ExtReader<'_>, FsError> {
        ExtReader::new(&*self.src, self.name, &self.limits)
    }

    /// Refuse paths whose intermediate components are symlinks (the crate would follow them).
    fn check_intermediates(&self, view: &Ext4, comps: &[&str], path: &str) -> Result<(), FsError> {
        let Some((_, parents)) = comps.split_last() else {
            return Ok(());
        };
        if parents.is_empty() {
            return Ok(());
        }
        let parent = join(parents);
        let canon = view.canonicalize(parent.as_str());
        if let Ok(c) = &canon {
            if c.as_ref() == parent.as_bytes() {
                return Ok(());
            }
        }
        for i in 1..=parents.len() {
            let p = join(parents.get(..i).unwrap_or_default());
            let m = view
                .symlink_metadata(p.as_str())
                .map_err(|e| map_err(self.name, &p, "looking up a path component", e))?;
            if m.is_symlink() {
                return Err(FsError::SymlinkInPath {
                    fs: self.name,
                    path: path.to_string(),
                    component: p,
                });
            }
            if !m.is_dir() {
                return Err(FsError::NotADirectory {
                    fs: self.name,
                    path: p,
                });
            }
        }
        match canon {
            Ok(_) => Ok(()),
            Err(e) => Err(map_err(
                self.name,
                &parent,
                "resolving the parent directory",
                e,
            )),
        }
    }

    fn view_metadata(&self, view: &Ext4, norm: &str) -> Result<ext4_view::Metadata, FsError> {
        view.symlink_metadata(norm)
            .map_err(|e| map_err(self.name, norm, "reading metadata", e))
    }

    fn metadata_impl(&self, path: &str) -> Result<Metadata, FsError> {
        let comps = components(path)?;
        let norm = join(&comps);
        let own = self.own()?.resolve(&comps, path);
        if !self.use_view {
            return Ok(own?.metadata());
        }
        let view = self.view()?;
        self.check_intermediates(&view, &comps, path)?;
        let m = self.view_metadata(&view, &norm)?;
        let extra = own.ok().map(|i| i.metadata());
        Ok(Metadata {
            file_type: ftype(m.file_type()),
            size: m.len(),
            mode: Some(u32::from(m.mode())),
            uid: Some(m.uid()),
            gid: Some(m.gid()),
            atime: Some(m.accessed().seconds()),
            mtime: Some(m.modified().seconds()),
            ctime: extra.as_ref().and_then(|e| e.ctime),
            crtime: m.created().map(|t| t.seconds()),
            inode: extra.as_ref().and_then(|e| e.inode),
            links: extra.as_ref().and_then(|e| e.links),
            flags: extra.as_ref().map(|e| e.flags).unwrap_or_default(),
            streams: Vec::new(),
        })
    }

    fn read_dir_impl(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let comps = components(path)?;
        let norm = join(&comps);
        let own = self.own()?;
        let own_list = own.resolve(&comps, path).and_then(|ino| {
            if ino.file_type() == FileType::Dir {
                own.list(&ino, &norm)
            } else {
                Err(FsError::WrongType {
                    fs: self.name,
                    path: norm.clone(),
                    expected: "directory",
                    actual: ino.file_type().noun(),
                })
            }
        });
        if !self.use_view {
            return Ok(own_list?
                .into_iter()
                .map(|e| DirEntry {
                    name: String::from_utf8_lossy(&e.name).into_owned(),
                    file_type: e.file_type,
                    inode: Some(u64::from(e.inode)),
                })
                .collect());
        }
        let view = self.view()?;
        self.check_intermediates(&view, &comps, path)?;
        let m = self.view_metadata(&view, &norm)?;
        if !m.is_dir() {
            return Err(FsError::WrongType {
                fs: self.name,
                path: norm,
                expected: "directory",
                actual: ftype(m.file_type()).noun(),
            });
        }
        let inodes: HashMap<Vec<u8>, u32> = own_list
            .map(|l| l.into_iter().map(|e| (e.name, e.inode)).collect())
            .unwrap_or_default();
        let iter = view
            .read_dir(norm.as_str())
            .map_err(|e| map_err(self.name, &norm, "reading the directory", e))?;
        let mut out = Vec::new();
        for entry in iter {
            let entry = entry.map_err(|e| map_err(self.name, &norm, "reading the directory", e))?;
            let raw = entry.file_name();
            let bytes: &[u8] = raw.as_ref();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            if u64::try_from(out.len()).unwrap_or(u64::MAX) >= self.limits.max_dir_entries {
                return Err(FsError::Limit {
                    fs: self.name,
                    path: norm,
                    what: "directory entries",
                    actual: self.limits.max_dir_entries.saturating_add(1),
                    limit: self.limits.max_dir_entries,
                });
            }
            let t = entry
                .file_type()
                .map_err(|e| map_err(self.name, &norm, "reading a directory entry", e))?;
            out.push(DirEntry {
                name: String::from_utf8_lossy(bytes).into_owned(),
                file_type: ftype(t),
                inode: inodes.get(bytes).map(|&i| u64::from(i)),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read_link_impl(&self, path: &str) -> Result<String, FsError> {
        let comps = components(path)?;
        let norm = join(&comps);
        if !self.use_view {
            let own = self.own()?;
            let ino = own.resolve(&comps, path)?;
            if ino.file_type() != FileType::Symlink {
                return Err(self.wrong(&norm, "symlink", ino.file_type()));
            }
            return Ok(String::from_utf8_lossy(&own.link_target(&ino)?).into_owned());
        }
        let view = self.view()?;
        self.check_intermediates(&view, &comps, path)?;
        let m = self.view_metadata(&view, &norm)?;
        if !m.is_symlink() {
            return Err(self.wrong(&norm, "symlink", ftype(m.file_type())));
        }
        let target = view
            .read_link(norm.as_str())
            .map_err(|e| map_err(self.name, &norm, "reading the symlink", e))?;
        let bytes: &[u8] = target.as_ref();
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn wrong(&self, path: &str, expected: &'static str, actual: FileType) -> FsError {
        if actual == FileType::Dir && expected == "regular file" {
            return FsError::IsADirectory {
                fs: self.name,
                path: path.to_string(),
            };
        }
        FsError::WrongType {
            fs: self.name,
            path: path.to_string(),
            expected,
            actual: actual.noun(),
        }
    }

    fn read_impl(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError> {
        let comps = components(path)?;
        let norm = join(&comps);
        if !self.use_view {
            let own = self.own()?;
            let ino = own.resolve(&comps, path)?;
            if ino.file_type() != FileType::File {
                return Err(self.wrong(&norm, "regular file", ino.file_type()));
            }
            let cap = read_cap(self.name, &norm, ino.size, max_bytes, &self.limits)?;
            return own.data(&ino, cap);
        }
        let view = self.view()?;
        self.check_intermediates(&view, &comps, path)?;
        let m = self.view_metadata(&view, &norm)?;
        let t = ftype(m.file_type());
        if t != FileType::File {
            return Err(self.wrong(&norm, "regular file", t));
        }
        let cap = read_cap(self.name, &norm, m.len(), max_bytes, &self.limits)?;
        match read_with_view(&view, &norm, cap) {
            Ok(v) => Ok(v),
            // ext4-view refuses holes in block-mapped (ext2/ext3) files; our reader maps them.
            Err(e) if self.patched_sb.is_none() => {
                let own = self.own()?;
                match own.resolve(&comps, path) {
                    Ok(ino) if ino.flags & 0x8_0000 == 0 => own.data(&ino, cap),
                    _ => Err(map_err(self.name, &norm, "reading the file", e)),
                }
            }
            Err(e) => Err(map_err(self.name, &norm, "reading the file", e)),
        }
    }
}

fn read_with_view(view: &Ext4, path: &str, cap: usize) -> Result<Vec<u8>, Ext4Error> {
    let mut f = view.open(path)?;
    let mut out = vec![0u8; cap];
    let mut done = 0usize;
    while done < cap {
        let n = f.read_bytes(out.get_mut(done..).unwrap_or_default())?;
        if n == 0 {
            break;
        }
        done = done.saturating_add(n);
    }
    out.truncate(done);
    Ok(out)
}

/// The superblock with `needs_recovery` cleared (and its checksum recomputed if present).
fn mask_recovery(src: &dyn BlockSource, fs: &'static str) -> Result<Vec<u8>, FsError> {
    let mut sb = vec![0u8; extsb::SUPERBLOCK_SIZE];
    extsb::read_at(src, fs, &mut sb, 1024, "superblock")?;
    let off = extsb::SB_INCOMPAT_OFFSET;
    let incompat = imgcheck_core::bytes::u32_le(&sb, off).unwrap_or(0) & !extsb::INCOMPAT_RECOVER;
    if let Some(dst) = sb.get_mut(off..off.saturating_add(4)) {
        dst.copy_from_slice(&incompat.to_le_bytes());
    }
    let ro = imgcheck_core::bytes::u32_le(&sb, 0x64).unwrap_or(0);
    if ro & extsb::RO_COMPAT_METADATA_CSUM != 0 {
        // ext4 stores the raw CRC32C (seed !0, no final inversion) of the bytes before it.
        let c = !crc32c::crc32c(sb.get(..extsb::SB_CHECKSUM_OFFSET).unwrap_or_default());
        if let Some(dst) = sb.get_mut(extsb::SB_CHECKSUM_OFFSET..extsb::SUPERBLOCK_SIZE) {
            dst.copy_from_slice(&c.to_le_bytes());
        }
    }
    Ok(sb)
}

impl Drop for ExtFs {
    fn drop(&mut self) {
        let id = self.id;
        // Only this thread's table can be reached; other threads' entries age out.
        let _ = VIEWS.try_with(|v| {
            if let Ok(mut v) = v.try_borrow_mut() {
                v.retain(|(i, _)| *i != id);
            }
        });
    }
}

impl GuestFs for ExtFs {
    fn volume_info(&self) -> VolumeInfo {
        let sb = &self.sb;
        let dirty =
            sb.state & STATE_VALID == 0 || sb.state & STATE_ERROR != 0 || sb.needs_recovery();
        VolumeInfo {
            fs_type: self.fs_type,
            uuid: Some(sb.uuid_string()),
            label: Some(sb.label.clone()).filter(|l| !l.is_empty()),
            size_bytes: sb.blocks_count.saturating_mul(u64::from(sb.block_size)),
            free_bytes: Some(sb.free_blocks.saturating_mul(u64::from(sb.block_size))),
            free_inodes: Some(u64::from(sb.free_inodes)),
            block_size: sb.block_size,
            state: if dirty {
                VolumeState::Dirty
            } else {
                VolumeState::Clean
            },
            features: sb.feature_names(),
            notes: self.notes.clone(),
        }
    }

    fn metadata(&self, path: &str) -> Result<Metadata, FsError> {
        guarded(self.name, path, "reading metadata", || {
            self.metadata_impl(path)
        })
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        guarded(self.name, path, "reading the directory", || {
            self.read_dir_impl(path)
        })
    }

    fn read_link(&self, path: &str) -> Result<String, FsError> {
        guarded(self.name, path, "reading the symlink", || {
            self.read_link_impl(path)
        })
    }

    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError> {
        guarded(self.name, path, "reading the file", || {
            self.read_impl(path, max_bytes)
        })
    }
}
