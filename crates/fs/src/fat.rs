//! FAT12/16/32 behind [`GuestFs`], wrapping the `fatfs` crate (long names, Unicode, all three FAT
//! widths; measured correct and write-free on reads).
//!
//! What the wrapper adds:
//! - `fatfs` demands `Read + Write + Seek`: [`FatIo`] is a cursor over our source whose `write`
//!   always fails (and counts the attempt), so the image cannot change; a page cache
//!   ([`imgcheck_core::CachedSource`]) sits under it (22 s → 0.5 s measured for 1000 small files).
//! - `fatfs::FileSystem` is `!Send` (it keeps `&'static dyn` converters and `RefCell`s), so it is
//!   opened per call from the shared cached source (boot sector and FSInfo come from the cache).
//! - Case-insensitive lookup per component (long and 8.3 names), `Limits`, contained panics.
//! - FAT timestamps are local time without a zone; they are reported as if UTC.

use crate::guard::guarded;
use crate::path::{components, join};
use crate::{
    read_cap, DirEntry, FileFlags, FileType, FsError, FsType, GuestFs, Metadata, VolumeInfo,
    VolumeState,
};
use imgcheck_core::{BlockSource, ErrorKind, Limits, ReadError, SourceReader};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// FAT attribute bits (Microsoft FAT specification, "Directory Structure").
const ATTR_READ_ONLY: u8 = 0x01;
const ATTR_HIDDEN: u8 = 0x02;
const ATTR_SYSTEM: u8 = 0x04;
const ATTR_VOLUME_ID: u8 = 0x08;

/// Bytes of the read-ahead window of [`FatIo`]: `fatfs` reads directories 32 bytes at a time.
const FAT_IO_WINDOW: u64 = 4096;

/// The `Read + Write + Seek` handed to `fatfs`: reads from the source through a small aligned
/// window (so that 32-byte directory reads do not each go to the page cache), refuses every
/// write.
pub(crate) struct FatIo {
    src: Arc<dyn BlockSource>,
    pos: u64,
    window: Vec<u8>,
    window_start: u64,
    writes: Arc<AtomicU64>,
}

impl FatIo {
    fn new(src: Arc<dyn BlockSource>, writes: Arc<AtomicU64>) -> FatIo {
        FatIo {
            src,
            pos: 0,
            window: Vec::new(),
            window_start: 0,
            writes,
        }
    }
}

impl Read for FatIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.src.len();
        if self.pos >= len || buf.is_empty() {
            return Ok(0);
        }
        let window_end = self
            .window_start
            .saturating_add(u64::try_from(self.window.len()).unwrap_or(0));
        if self.pos < self.window_start || self.pos >= window_end {
            if u64::try_from(buf.len()).unwrap_or(u64::MAX) >= FAT_IO_WINDOW {
                // Large reads (file data) go straight through.
                let mut r = SourceReader::new(self.src.clone());
                r.seek(SeekFrom::Start(self.pos))?;
                let n = r.read(buf)?;
                self.pos = self.pos.saturating_add(u64::try_from(n).unwrap_or(0));
                return Ok(n);
            }
            let start = self
                .pos
                .saturating_sub(self.pos.checked_rem(FAT_IO_WINDOW).unwrap_or(0));
            let end = start.saturating_add(FAT_IO_WINDOW).min(len);
            self.window
                .resize(usize::try_from(end.saturating_sub(start)).unwrap_or(0), 0);
            self.src.read_exact_at(&mut self.window, start)?;
            self.window_start = start;
        }
        let within = usize::try_from(self.pos.saturating_sub(self.window_start)).unwrap_or(0);
        let avail = self.window.get(within..).unwrap_or_default();
        let n = avail.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos = self.pos.saturating_add(u64::try_from(n).unwrap_or(0));
        Ok(n)
    }
}

impl Seek for FatIo {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.src.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = new.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )
        })?;
        Ok(self.pos)
    }
}

impl Write for FatIo {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "imgcheck opens images read-only",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        // Nothing is ever buffered for writing.
        Ok(())
    }
}

type Fs = fatfs::FileSystem<FatIo>;

/// An opened FAT volume.
pub(crate) struct FatFs {
    src: Arc<dyn BlockSource>,
    fs_type: FsType,
    name: &'static str,
    limits: Limits,
    info: VolumeInfo,
    writes: Arc<AtomicU64>,
}

fn io_err(fs: &'static str, path: &str, operation: &'static str, e: io::Error) -> FsError {
    let kind = match e.get_ref().and_then(|i| i.downcast_ref::<ReadError>()) {
        Some(r) => r.kind(),
        None => match e.kind() {
            io::ErrorKind::NotFound => {
                return FsError::NotFound {
                    fs,
                    path: path.to_string(),
                }
            }
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput => ErrorKind::Corrupt,
            io::ErrorKind::Unsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Io,
        },
    };
    FsError::Backend {
        fs,
        path: path.to_string(),
        operation,
        kind,
        source: Box::new(e),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
#[allow(clippy::arithmetic_side_effects)] // inputs are FAT dates (years 1980..=2107): no overflow
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[allow(clippy::arithmetic_side_effects)] // FAT dates are 1980..=2107: no overflow possible
fn unix_time(d: fatfs::Date, t: Option<fatfs::Time>) -> i64 {
    let days = days_from_civil(i64::from(d.year), i64::from(d.month), i64::from(d.day));
    let secs = t.map_or(0, |t| {
        i64::from(t.hour) * 3600 + i64::from(t.min) * 60 + i64::from(t.sec)
    });
    days * 86_400 + secs
}

struct Found<'a> {
    entry: Option<fatfs::DirEntry<'a, FatIo>>,
}

impl FatFs {
    pub(crate) fn open(
        src: Arc<dyn BlockSource>,
        fs_type: FsType,
        limits: &Limits,
    ) -> Result<FatFs, FsError> {
        let name = fs_type.name();
        let src: Arc<dyn BlockSource> = Arc::new(crate::cached(src));
        let writes = Arc::new(AtomicU64::new(0));
        let mut me = FatFs {
            src,
            fs_type,
            name,
            limits: limits.clone(),
            info: VolumeInfo {
                fs_type,
                uuid: None,
                label: None,
                size_bytes: 0,
                free_bytes: None,
                free_inodes: None,
                block_size: 0,
                state: VolumeState::Unknown,
                features: Vec::new(),
                notes: Vec::new(),
            },
            writes,
        };
        me.info = guarded(name, "/", "opening the volume", || me.read_info())?;
        Ok(me)
    }

    fn mount(&self) -> Result<Fs, FsError> {
        let io = FatIo::new(self.src.clone(), self.writes.clone());
        fatfs::FileSystem::new(io, fatfs::FsOptions::new())
            .map_err(|e| io_err(self.name, "/", "opening the volume", e))
    }

    fn read_info(&self) -> Result<VolumeInfo, FsError> {
        let fs = self.mount()?;
        let actual = match fs.fat_type() {
            fatfs::FatType::Fat12 => FsType::Fat12,
            fatfs::FatType::Fat16 => FsType::Fat16,
            fatfs::FatType::Fat32 => FsType::Fat32,
        };
        if actual != self.fs_type {
            return Err(FsError::Corrupt {
                fs: self.name,
                structure: "boot sector".into(),
                problem: format!(
                    "probed as {}, fatfs reads it as {}",
                    self.name,
                    actual.name()
                ),
            });
        }
        let id = fs.volume_id();
        let bpb_label = fs.volume_label().trim_end().to_string();
        let root_label = fs
            .read_volume_label_from_root_dir()
            .ok()
            .flatten()
            .map(|l| l.trim_end().to_string());
        let label = root_label
            .or(Some(bpb_label))
            .filter(|l| !l.is_empty() && l != "NO NAME");
        let stats = fs
            .stats()
            .map_err(|e| io_err(self.name, "/", "reading the allocation table", e))?;
        let cluster = u64::from(stats.cluster_size());
        let status = fs
            .read_status_flags()
            .map_err(|e| io_err(self.name, "/", "reading the status flags", e))?;
        let mut features = Vec::new();
        if status.dirty() {
            features.push("dirty".to_string());
        }
        if status.io_error() {
            features.push("io_error".to_string());
        }
        Ok(VolumeInfo {
            fs_type: self.fs_type,
            uuid: Some(format!("{:04X}-{:04X}", id >> 16, id & 0xFFFF)),
            label,
            size_bytes: self.src.len(),
            free_bytes: Some(u64::from(stats.free_clusters()).saturating_mul(cluster)),
            free_inodes: None,
            block_size: stats.cluster_size(),
            state: if status.dirty() || status.io_error() {
                VolumeState::Dirty
            } else {
                VolumeState::Clean
            },
            features,
            notes: vec!["timestamps are local time, reported as UTC".to_string()],
        })
    }

    /// Entries of `dir`, without `.`, `..` and volume labels, bounded by the limit.
    fn entries<'a>(
        &self,
        dir: &fatfs::Dir<'a, FatIo>,
        path: &str,
    ) -> Result<Vec<fatfs::DirEntry<'a, FatIo>>, FsError> {
        let mut out = Vec::new();
        for e in dir.iter() {
            let e = e.map_err(|e| io_err(self.name, path, "reading the directory", e))?;
            let n = e.file_name();
            if n == "." || n == ".." || e.attributes().bits() & ATTR_VOLUME_ID != 0 {
                continue;
            }
            if u64::try_from(out.len()).unwrap_or(u64::MAX) >= self.limits.max_dir_entries {
                return Err(FsError::Limit {
                    fs: self.name,
                    path: path.to_string(),
                    what: "directory entries",
                    actual: self.limits.max_dir_entries.saturating_add(1),
                    limit: self.limits.max_dir_entries,
                });
            }
            out.push(e);
        }
        Ok(out)
    }

    /// The entry of `dir` named `name` (long or 8.3 name, ignoring case), scanning at most the
    /// limit's number of entries.
    fn find<'a>(
        &self,
        dir: &fatfs::Dir<'a, FatIo>,
        path: &str,
        name: &str,
    ) -> Result<Option<fatfs::DirEntry<'a, FatIo>>, FsError> {
        let upper = name.to_uppercase();
        let mut seen = 0u64;
        for e in dir.iter() {
            let e = e.map_err(|e| io_err(self.name, path, "reading the directory", e))?;
            seen = seen.saturating_add(1);
            if seen > self.limits.max_dir_entries {
                return Err(FsError::Limit {
                    fs: self.name,
                    path: path.to_string(),
                    what: "directory entries",
                    actual: seen,
                    limit: self.limits.max_dir_entries,
                });
            }
            if e.attributes().bits() & ATTR_VOLUME_ID != 0 {
                continue;
            }
            let long = e.file_name();
            if long == name
                || long.to_uppercase() == upper
                || e.short_file_name().to_uppercase() == upper
            {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// Find `comps` case-insensitively; `entry` is `None` for the root.
    fn lookup<'a>(&self, fs: &'a Fs, comps: &[&str], path: &str) -> Result<Found<'a>, FsError> {
        let mut dir = fs.root_dir();
        let mut found = None;
        for (i, c) in comps.iter().enumerate() {
            if let Some(e) = &found {
                let e: &fatfs::DirEntry<'a, FatIo> = e;
                if !e.is_dir() {
                    return Err(FsError::NotADirectory {
                        fs: self.name,
                        path: join(comps.get(..i).unwrap_or_default()),
                    });
                }
                dir = e.to_dir();
            }
            let here = join(comps.get(..i).unwrap_or_default());
            let hit = self.find(&dir, &here, c)?;
            match hit {
                Some(e) => found = Some(e),
                None => {
                    return Err(FsError::NotFound {
                        fs: self.name,
                        path: path.to_string(),
                    })
                }
            }
        }
        Ok(Found { entry: found })
    }

    fn meta_of(e: &fatfs::DirEntry<'_, FatIo>) -> Metadata {
        let attrs = e.attributes().bits();
        let m = e.modified();
        let c = e.created();
        Metadata {
            file_type: if e.is_dir() {
                FileType::Dir
            } else {
                FileType::File
            },
            size: if e.is_dir() { 0 } else { e.len() },
            mode: None,
            uid: None,
            gid: None,
            atime: Some(unix_time(e.accessed(), None)),
            mtime: Some(unix_time(m.date, Some(m.time))),
            ctime: None,
            crtime: Some(unix_time(c.date, Some(c.time))),
            inode: None,
            links: None,
            flags: FileFlags {
                read_only: attrs & ATTR_READ_ONLY != 0,
                hidden: attrs & ATTR_HIDDEN != 0,
                system: attrs & ATTR_SYSTEM != 0,
                raw: u32::from(attrs),
                ..FileFlags::default()
            },
            streams: Vec::new(),
        }
    }

    fn metadata_impl(&self, path: &str) -> Result<Metadata, FsError> {
        let comps = components(path)?;
        let fs = self.mount()?;
        let found = self.lookup(&fs, &comps, path)?;
        Ok(match &found.entry {
            Some(e) => Self::meta_of(e),
            None => Metadata {
                file_type: FileType::Dir,
                size: 0,
                mode: None,
                uid: None,
                gid: None,
                atime: None,
                mtime: None,
                ctime: None,
                crtime: None,
                inode: None,
                links: None,
                flags: FileFlags::default(),
                streams: Vec::new(),
            },
        })
    }

    fn read_dir_impl(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let comps = components(path)?;
        let norm = join(&comps);
        let fs = self.mount()?;
        let found = self.lookup(&fs, &comps, path)?;
        let dir = match &found.entry {
            None => fs.root_dir(),
            Some(e) if e.is_dir() => e.to_dir(),
            Some(_) => {
                return Err(FsError::WrongType {
                    fs: self.name,
                    path: norm,
                    expected: "directory",
                    actual: "regular file",
                })
            }
        };
        // A name with '/' or NUL (possible only in a corrupt directory: FAT forbids both) could
        // not be addressed by a path and would alias another file: such entries are left out.
        let mut out: Vec<DirEntry> = self
            .entries(&dir, &norm)?
            .into_iter()
            .filter(|e| {
                let n = e.file_name();
                !n.is_empty() && !n.contains(['/', '\0'])
            })
            .map(|e| DirEntry {
                name: e.file_name(),
                file_type: if e.is_dir() {
                    FileType::Dir
                } else {
                    FileType::File
                },
                inode: None,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read_impl(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError> {
        let comps = components(path)?;
        let norm = join(&comps);
        let fs = self.mount()?;
        let found = self.lookup(&fs, &comps, path)?;
        let e = match &found.entry {
            Some(e) if !e.is_dir() => e,
            _ => {
                return Err(FsError::IsADirectory {
                    fs: self.name,
                    path: norm,
                })
            }
        };
        let cap = read_cap(self.name, &norm, e.len(), max_bytes, &self.limits)?;
        let mut out = Vec::with_capacity(cap.min(1 << 20));
        let cap64 = u64::try_from(cap).unwrap_or(u64::MAX);
        e.to_file()
            .take(cap64)
            .read_to_end(&mut out)
            .map_err(|err| io_err(self.name, &norm, "reading the file", err))?;
        if u64::try_from(out.len()).unwrap_or(u64::MAX) < cap64 {
            return Err(FsError::Corrupt {
                fs: self.name,
                structure: format!("cluster chain of {norm}"),
                problem: format!("ends after {} of {} bytes", out.len(), cap),
            });
        }
        Ok(out)
    }

    /// Write attempts refused so far (always refused; the count proves none reached the image).
    #[cfg(test)]
    pub(crate) fn write_attempts(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}

impl GuestFs for FatFs {
    fn volume_info(&self) -> VolumeInfo {
        self.info.clone()
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
            let m = self.metadata_impl(path)?;
            Err(FsError::WrongType {
                fs: self.name,
                path: path.to_string(),
                expected: "symlink",
                actual: m.file_type.noun(),
            })
        })
    }

    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError> {
        guarded(self.name, path, "reading the file", || {
            self.read_impl(path, max_bytes)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use imgcheck_core::MemSource;

    #[test]
    fn reading_everything_attempts_no_write() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/fs/images/fat16.img.gz"
        );
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        let fs = FatFs::open(
            Arc::new(MemSource::new(bytes)),
            FsType::Fat16,
            &Limits::default(),
        )
        .unwrap();
        for e in fs.read_dir("/bigdir").unwrap() {
            let data = fs.read(&format!("/bigdir/{}", e.name), 100).unwrap();
            assert!(data.starts_with(b"entry "));
        }
        assert_eq!(fs.metadata("/hello.txt").unwrap().size, 16);
        assert_eq!(fs.write_attempts(), 0);
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2023, 11, 14), 19_675);
        assert_eq!(days_from_civil(1980, 1, 1), 3652);
    }
}
