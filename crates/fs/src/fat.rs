//! FAT12/16/32 behind [`GuestFs`], wrapping the `fatfs` crate (long names, Unicode, all three FAT
//! widths; measured correct and write-free on reads).
//!
//! What the wrapper adds:
//! - `fatfs` demands `Read + Write + Seek`: [`FatIo`] is a cursor over our source whose `write`
//!   always fails (and counts the attempt), so the image cannot change; a page cache
//!   ([`imgcheck_core::CachedSource`]) sits under it (22 s → 0.5 s measured for 1000 small files).
//! - `fatfs::FileSystem` is `!Send` (it keeps `&'static dyn` converters and `RefCell`s) and its
//!   directories borrow it, so one thread per opened volume owns the mounted filesystem and a
//!   bounded cache of directories by path; the `GuestFs` methods send it requests. A lookup starts
//!   at the deepest cached ancestor and a cached directory answers a name by index, so a walk costs
//!   linear time in its entries (mounting per call and resolving every path from the root made
//!   it quadratic in the depth: 13 s for `ls -R` of a 63 KB corrupt volume whose directories nest
//!   180 deep, 6,410 entries; 0.15 s now). A contained `fatfs` panic happens on that thread, so
//!   a panic hook sees it there, not on the caller's thread.
//! - Case-insensitive lookup per component (long and 8.3 names), `Limits`, contained panics.
//! - FAT timestamps are local time without a zone; they are reported as if UTC.
//! - [`FileId`]s from first clusters, so that a walk can recognise a directory entry that points
//!   back at a directory it is inside (a corrupt volume's tree is then infinite). `fatfs` keeps
//!   the first cluster crate-private; see [`first_cluster`] for where it is read from.

use crate::guard::guarded;
use crate::path::{components, join};
use crate::{
    read_cap, DirEntry, FileFlags, FileId, FileType, FsError, FsType, GuestFs, Metadata,
    VolumeInfo, VolumeState,
};
use imgcheck_core::{BlockSource, ErrorKind, Limits, ReadError, SourceReader};
use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

/// FAT attribute bits (Microsoft FAT specification, "Directory Structure").
const ATTR_READ_ONLY: u8 = 0x01;
const ATTR_HIDDEN: u8 = 0x02;
const ATTR_SYSTEM: u8 = 0x04;
const ATTR_VOLUME_ID: u8 = 0x08;

/// Bytes of the read-ahead window of [`FatIo`]: `fatfs` reads directories 32 bytes at a time.
const FAT_IO_WINDOW: u64 = 4096;

/// The largest directory the FAT specification allows: 65,536 entries of 32 bytes.
const DIR_MAX_BYTES: u64 = 65_536 * 32;

/// Bytes one request may read per directory it walks through: the directory itself plus the
/// allocation-table entries of its clusters, with room to spare. `fatfs` does not detect a
/// cluster chain that loops back on itself; a directory on such a chain with no end-of-directory
/// entry would be iterated forever. The read budget ([`FatIo::budget`]) ends it instead.
const DIR_BUDGET: u64 = 2 * DIR_MAX_BYTES;

/// The `Read + Write + Seek` handed to `fatfs`: reads from the source through a small aligned
/// window (so that 32-byte directory reads do not each go to the page cache), refuses every
/// write. (`Clone` only because fatfs's derived `DirEntry: Clone` asks it of the reader type;
/// entries hold a reference to the filesystem, never a copy of this.)
#[derive(Clone)]
pub(crate) struct FatIo {
    src: Arc<dyn BlockSource>,
    pos: u64,
    window: Vec<u8>,
    window_start: u64,
    writes: Arc<AtomicU64>,
    /// Bytes the current request may still read (set by the reader thread before each request):
    /// a read past it fails, so a looping cluster chain ends in an error, not a hang.
    budget: Arc<AtomicU64>,
}

impl FatIo {
    fn new(src: Arc<dyn BlockSource>, writes: Arc<AtomicU64>, budget: Arc<AtomicU64>) -> FatIo {
        FatIo {
            src,
            pos: 0,
            window: Vec::new(),
            window_start: 0,
            writes,
            budget,
        }
    }

    /// Take `n` bytes from the request's budget.
    fn spend(&self, n: usize) -> io::Result<()> {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(n))
            .map(drop)
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "read budget of the request exhausted: a cluster chain loops back on itself \
                     or a directory is larger than FAT allows",
                )
            })
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
                self.spend(buf.len())?;
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
        self.spend(n)?;
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
type FatEntry<'a> = fatfs::DirEntry<'a, FatIo>;

/// Approximate bytes of directory listings (and their path keys) kept by one volume's reader;
/// beyond it the cache is emptied and refilled on demand.
const CACHE_MAX_BYTES: usize = 32 << 20;
/// Entries of one directory kept as an indexed listing; a larger directory (or one whose reading
/// fails part-way) is scanned again on every lookup, as fatfs reads it.
const LISTING_MAX_ENTRIES: usize = 16_384;
/// Bytes counted per cached entry on top of its names (the `fatfs` entry, map slots).
const ENTRY_OVERHEAD: usize = 256;

/// One request to the reader thread, with the channel for its answer.
enum Job {
    Metadata(
        String,
        &'static str,
        mpsc::Sender<Result<Metadata, FsError>>,
    ),
    ReadDir(String, mpsc::Sender<Result<Vec<DirEntry>, FsError>>),
    Read(String, u64, mpsc::Sender<Result<Vec<u8>, FsError>>),
}

/// An opened FAT volume.
///
/// `fatfs::FileSystem` is `!Send` and its directories borrow it, so one thread per volume owns
/// the mounted filesystem and a cache of directories (see [`Reader`]); the `GuestFs` methods send
/// it requests. Mounting per call and resolving every path from the root instead made a walk
/// quadratic in the depth: a corrupt volume whose directories nest 180 deep took 13 s to list.
pub(crate) struct FatFs {
    name: &'static str,
    info: VolumeInfo,
    /// Write attempts refused by the reader thread's [`FatIo`] (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    writes: Arc<AtomicU64>,
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<JoinHandle<()>>,
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

/// The error when the reader thread cannot be started or has gone.
fn thread_err(fs: &'static str, path: &str, operation: &'static str, why: &str) -> FsError {
    FsError::Backend {
        fs,
        path: path.to_string(),
        operation,
        kind: ErrorKind::Io,
        source: Box::new(io::Error::other(format!("fat reader thread: {why}"))),
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

fn mount(
    src: Arc<dyn BlockSource>,
    writes: Arc<AtomicU64>,
    budget: Arc<AtomicU64>,
    name: &'static str,
) -> Result<Fs, FsError> {
    let io = FatIo::new(src, writes, budget);
    fatfs::FileSystem::new(io, fatfs::FsOptions::new())
        .map_err(|e| io_err(name, "/", "opening the volume", e))
}

/// The volume's facts. `budget` is the reader's read budget: one directory's worth for the
/// label in the root directory, the whole volume for the allocation-table scan of the free count.
fn read_info(
    fs: &Fs,
    fs_type: FsType,
    size_bytes: u64,
    budget: &AtomicU64,
) -> Result<VolumeInfo, FsError> {
    let name = fs_type.name();
    let actual = match fs.fat_type() {
        fatfs::FatType::Fat12 => FsType::Fat12,
        fatfs::FatType::Fat16 => FsType::Fat16,
        fatfs::FatType::Fat32 => FsType::Fat32,
    };
    if actual != fs_type {
        return Err(FsError::Corrupt {
            fs: name,
            structure: "boot sector".into(),
            problem: format!("probed as {}, fatfs reads it as {}", name, actual.name()),
        });
    }
    let id = fs.volume_id();
    let bpb_label = fs.volume_label().trim_end().to_string();
    budget.store(DIR_BUDGET, Ordering::Relaxed);
    let root_label = fs
        .read_volume_label_from_root_dir()
        .ok()
        .flatten()
        .map(|l| l.trim_end().to_string());
    let label = root_label
        .or(Some(bpb_label))
        .filter(|l| !l.is_empty() && l != "NO NAME");
    budget.store(size_bytes.saturating_add(DIR_BUDGET), Ordering::Relaxed);
    let stats = fs
        .stats()
        .map_err(|e| io_err(name, "/", "reading the allocation table", e))?;
    let cluster = u64::from(stats.cluster_size());
    let status = fs
        .read_status_flags()
        .map_err(|e| io_err(name, "/", "reading the status flags", e))?;
    let mut features = Vec::new();
    if status.dirty() {
        features.push("dirty".to_string());
    }
    if status.io_error() {
        features.push("io_error".to_string());
    }
    Ok(VolumeInfo {
        fs_type,
        uuid: Some(format!("{:04X}-{:04X}", id >> 16, id & 0xFFFF)),
        label,
        size_bytes,
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

/// The body of the reader thread: mount, report the volume's facts on `ready`, then answer jobs
/// until every sender is gone. Each job runs [`guarded`], as every call did before.
fn serve(
    src: Arc<dyn BlockSource>,
    writes: Arc<AtomicU64>,
    fs_type: FsType,
    limits: Limits,
    ready: mpsc::Sender<Result<VolumeInfo, FsError>>,
    jobs: mpsc::Receiver<Job>,
) {
    let name = fs_type.name();
    let size = src.len();
    let root_cluster = root_cluster(src.as_ref(), fs_type);
    let budget = Arc::new(AtomicU64::new(DIR_BUDGET));
    let mut mounted = None;
    let info = guarded(name, "/", "opening the volume", || {
        let fs = mount(src, writes, budget.clone(), name)?;
        let info = read_info(&fs, fs_type, size, &budget);
        mounted = Some(fs);
        info
    });
    let failed = info.is_err();
    if ready.send(info).is_err() || failed {
        return;
    }
    let Some(fs) = mounted else { return };
    let mut reader = Reader {
        fs: &fs,
        name,
        fat32: fs_type == FsType::Fat32,
        root_cluster,
        limits,
        dirs: HashMap::new(),
        cached_bytes: 0,
    };
    // Each request may read every directory on its path (and the root) once, and a file up to
    // what was asked: the cache only makes it read less.
    let dirs_budget = |path: &str| {
        let depth =
            u64::try_from(path.split('/').filter(|c| !c.is_empty()).count()).unwrap_or(u64::MAX);
        depth.saturating_add(2).saturating_mul(DIR_BUDGET)
    };
    for job in jobs {
        let allowed = match &job {
            Job::Metadata(path, ..) | Job::ReadDir(path, _) => dirs_budget(path),
            Job::Read(path, max, _) => {
                dirs_budget(path).saturating_add(max.saturating_add(DIR_BUDGET).saturating_mul(2))
            }
        };
        budget.store(allowed, Ordering::Relaxed);
        // A send fails only when the caller stopped waiting: nothing to do then.
        match job {
            Job::Metadata(path, operation, reply) => {
                let r = guarded(name, &path, operation, || reader.metadata(&path));
                let _ = reply.send(r);
            }
            Job::ReadDir(path, reply) => {
                let r = guarded(name, &path, "reading the directory", || {
                    reader.read_dir(&path)
                });
                let _ = reply.send(r);
            }
            Job::Read(path, max, reply) => {
                let r = guarded(name, &path, "reading the file", || reader.read(&path, max));
                let _ = reply.send(r);
            }
        }
    }
}

/// A directory as the reader keeps it.
enum DirState<'a> {
    /// Every entry fatfs yields, in order, indexed by name.
    Listed(Listing<'a>),
    /// Too large to keep, or its reading fails part-way: scanned on every lookup (so that errors
    /// and limits appear exactly where a scan meets them).
    Scanned(fatfs::Dir<'a, FatIo>),
}

/// A whole directory read once.
struct Listing<'a> {
    /// Every entry in directory order, `.`, `..` and volume-attribute entries included.
    entries: Vec<FatEntry<'a>>,
    /// Index of the first non-volume entry with this long name.
    exact: HashMap<String, usize>,
    /// Index of the first non-volume entry whose long or 8.3 name uppercased is this.
    folded: HashMap<String, usize>,
}

/// Bytes counted for a cached listing.
fn listing_cost(entries: &[FatEntry<'_>]) -> usize {
    entries.iter().fold(0usize, |acc, e| {
        acc.saturating_add(ENTRY_OVERHEAD)
            .saturating_add(e.file_name().len().saturating_mul(3))
            .saturating_add(e.short_file_name().len().saturating_mul(2))
    })
}

fn is_volume(e: &FatEntry<'_>) -> bool {
    e.attributes().bits() & ATTR_VOLUME_ID != 0
}

/// Byte offsets in the normalised path `join(comps)` where each prefix ends: prefix `i` (the
/// first `i` components) is `norm[..ends[i]]`, or `/` for `i == 0`.
fn prefix_ends(comps: &[&str]) -> Vec<usize> {
    let mut ends = Vec::with_capacity(comps.len().saturating_add(1));
    let mut at = 0usize;
    ends.push(0);
    for c in comps {
        at = at.saturating_add(1).saturating_add(c.len());
        ends.push(at);
    }
    ends
}

fn prefix<'p>(norm: &'p str, ends: &[usize], i: usize) -> &'p str {
    match ends.get(i) {
        Some(&end) if end > 0 => norm.get(..end).unwrap_or("/"),
        _ => "/",
    }
}

/// The state of the reader thread: the mounted volume and its directories by normalised path.
struct Reader<'a> {
    fs: &'a Fs,
    name: &'static str,
    /// FAT32 (the high half of an entry's first cluster counts only there).
    fat32: bool,
    /// The root directory's first cluster: the BPB's on FAT32; 0 on FAT12/16, whose root lies
    /// outside the clusters (and an entry with cluster 0 opens the root in `fatfs`).
    root_cluster: u32,
    limits: Limits,
    dirs: HashMap<String, Rc<DirState<'a>>>,
    cached_bytes: usize,
}

impl<'a> Reader<'a> {
    fn limit_err(&self, path: &str) -> FsError {
        FsError::Limit {
            fs: self.name,
            path: path.to_string(),
            what: "directory entries",
            actual: self.limits.max_dir_entries.saturating_add(1),
            limit: self.limits.max_dir_entries,
        }
    }

    /// Read `dir` whole when it is small enough and reads without error.
    fn load(&self, dir: fatfs::Dir<'a, FatIo>) -> (DirState<'a>, usize) {
        let mut entries = Vec::new();
        for e in dir.iter() {
            let Ok(e) = e else {
                return (DirState::Scanned(dir), 0);
            };
            if entries.len() >= LISTING_MAX_ENTRIES {
                return (DirState::Scanned(dir), 0);
            }
            entries.push(e);
        }
        let mut exact = HashMap::new();
        let mut folded = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if is_volume(e) {
                continue;
            }
            let long = e.file_name();
            folded.entry(long.to_uppercase()).or_insert(i);
            folded
                .entry(e.short_file_name().to_uppercase())
                .or_insert(i);
            exact.entry(long).or_insert(i);
        }
        let cost = listing_cost(&entries);
        (
            DirState::Listed(Listing {
                entries,
                exact,
                folded,
            }),
            cost,
        )
    }

    /// Keep `state` as the directory `key`, emptying the cache first when it is full.
    fn remember(&mut self, key: &str, state: DirState<'a>, cost: usize) -> Rc<DirState<'a>> {
        let cost = cost
            .saturating_add(key.len())
            .saturating_add(ENTRY_OVERHEAD);
        if self.cached_bytes.saturating_add(cost) > CACHE_MAX_BYTES {
            self.dirs.clear();
            self.cached_bytes = 0;
        }
        let state = Rc::new(state);
        if cost <= CACHE_MAX_BYTES {
            self.dirs.insert(key.to_string(), state.clone());
            self.cached_bytes = self.cached_bytes.saturating_add(cost);
        }
        state
    }

    /// The directory `key` whose entry is `entry` (`None`: the root), cached.
    fn open_dir(&mut self, key: &str, entry: Option<&FatEntry<'a>>) -> Rc<DirState<'a>> {
        if let Some(s) = self.dirs.get(key) {
            return s.clone();
        }
        let dir = match entry {
            Some(e) => e.to_dir(),
            None => self.fs.root_dir(),
        };
        let (state, cost) = self.load(dir);
        self.remember(key, state, cost)
    }

    /// The entry of `dir` (at `here`) named `name` (long or 8.3 name, ignoring case), scanning at
    /// most the limit's number of entries.
    fn find(
        &self,
        dir: &DirState<'a>,
        here: &str,
        name: &str,
    ) -> Result<Option<FatEntry<'a>>, FsError> {
        let upper = name.to_uppercase();
        match dir {
            DirState::Listed(l) => {
                let hit = match (l.exact.get(name), l.folded.get(&upper)) {
                    (Some(&a), Some(&b)) => Some(a.min(b)),
                    (a, b) => a.or(b).copied(),
                };
                // A scan reads up to and including the hit (or everything) and counts each entry.
                let scanned = hit.map_or(l.entries.len(), |i| i.saturating_add(1));
                if u64::try_from(scanned).unwrap_or(u64::MAX) > self.limits.max_dir_entries {
                    return Err(self.limit_err(here));
                }
                Ok(hit.and_then(|i| l.entries.get(i)).cloned())
            }
            DirState::Scanned(dir) => {
                let mut seen = 0u64;
                for e in dir.iter() {
                    let e = e.map_err(|e| io_err(self.name, here, "reading the directory", e))?;
                    seen = seen.saturating_add(1);
                    if seen > self.limits.max_dir_entries {
                        return Err(FsError::Limit {
                            fs: self.name,
                            path: here.to_string(),
                            what: "directory entries",
                            actual: seen,
                            limit: self.limits.max_dir_entries,
                        });
                    }
                    if is_volume(&e) {
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
        }
    }

    /// Entries of `dir`, without `.`, `..` and volume labels, bounded by the limit.
    fn entries(&self, dir: &DirState<'a>, path: &str) -> Result<Vec<FatEntry<'a>>, FsError> {
        let keep = |e: &FatEntry<'a>| {
            let n = e.file_name();
            !(n == "." || n == ".." || is_volume(e))
        };
        let mut out = Vec::new();
        let mut push = |e: FatEntry<'a>| {
            if u64::try_from(out.len()).unwrap_or(u64::MAX) >= self.limits.max_dir_entries {
                return Err(self.limit_err(path));
            }
            out.push(e);
            Ok(())
        };
        match dir {
            DirState::Listed(l) => {
                for e in l.entries.iter().filter(|e| keep(e)) {
                    push(e.clone())?;
                }
            }
            DirState::Scanned(d) => {
                for e in d.iter() {
                    let e = e.map_err(|e| io_err(self.name, path, "reading the directory", e))?;
                    if keep(&e) {
                        push(e)?;
                    }
                }
            }
        }
        Ok(out)
    }

    /// The directory of the first `upto` components of `comps` (`norm` their normalised path,
    /// `ends` from [`prefix_ends`]), starting from the deepest cached ancestor. Errors as a walk
    /// from the root would report them: `path` is the path asked for.
    fn dir_at(
        &mut self,
        comps: &[&str],
        norm: &str,
        ends: &[usize],
        upto: usize,
        path: &str,
    ) -> Result<Rc<DirState<'a>>, FsError> {
        let mut start = upto;
        let mut state = loop {
            if let Some(s) = self.dirs.get(prefix(norm, ends, start)) {
                break s.clone();
            }
            if start == 0 {
                break self.open_dir("/", None);
            }
            start = start.saturating_sub(1);
        };
        for i in start..upto {
            let here = prefix(norm, ends, i);
            let c = comps.get(i).copied().unwrap_or_default();
            let Some(e) = self.find(&state, here, c)? else {
                return Err(FsError::NotFound {
                    fs: self.name,
                    path: path.to_string(),
                });
            };
            let next = i.saturating_add(1);
            if !e.is_dir() {
                return Err(FsError::NotADirectory {
                    fs: self.name,
                    path: join(comps.get(..next).unwrap_or_default()),
                });
            }
            state = self.open_dir(prefix(norm, ends, next), Some(&e));
        }
        Ok(state)
    }

    /// Find `comps` case-insensitively; `None` for the root.
    fn lookup(
        &mut self,
        comps: &[&str],
        norm: &str,
        path: &str,
    ) -> Result<Option<FatEntry<'a>>, FsError> {
        let Some(parent_len) = comps.len().checked_sub(1) else {
            return Ok(None);
        };
        let ends = prefix_ends(comps);
        let parent = self.dir_at(comps, norm, &ends, parent_len, path)?;
        let here = prefix(norm, &ends, parent_len);
        let c = comps.get(parent_len).copied().unwrap_or_default();
        match self.find(&parent, here, c)? {
            Some(e) => Ok(Some(e)),
            None => Err(FsError::NotFound {
                fs: self.name,
                path: path.to_string(),
            }),
        }
    }

    fn metadata(&mut self, path: &str) -> Result<Metadata, FsError> {
        let comps = components(path)?;
        let norm = join(&comps);
        Ok(match self.lookup(&comps, &norm, path)? {
            Some(e) => {
                let cluster = first_cluster(&e, self.fat32);
                let id = if e.is_dir() {
                    Some(cluster.unwrap_or(self.root_cluster))
                } else {
                    cluster
                };
                meta_of(&e, id.map(|n| FileId::inode(u64::from(n))))
            }
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
                id: Some(FileId::inode(u64::from(self.root_cluster))),
                links: None,
                flags: FileFlags::default(),
                streams: Vec::new(),
            },
        })
    }

    fn read_dir(&mut self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let comps = components(path)?;
        let norm = join(&comps);
        let dir = match self.lookup(&comps, &norm, path)? {
            None => self.open_dir("/", None),
            Some(e) if e.is_dir() => self.open_dir(&norm, Some(&e)),
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

    fn read(&mut self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError> {
        let comps = components(path)?;
        let norm = join(&comps);
        let found = self.lookup(&comps, &norm, path)?;
        let e = match &found {
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
}

/// The first cluster of `e`'s data, `None` when it has none (an empty file, or a directory entry
/// that `fatfs` opens as the root).
///
/// `fatfs` 0.3.6 keeps the field crate-private (`DirEntry::first_cluster`), but the `Debug` it
/// derives for the raw 32-byte entry prints `first_cluster_hi` and `first_cluster_lo`; they are
/// read from there, the high half only on FAT32 as `fatfs` does. The dependency is pinned to that
/// version, and the fixture tests compare every entry's result with the first cluster mtools'
/// `mshowfat` reports (`testdata/fs/listings/fat*.mshowfat.txt`), so a change in the format
/// fails a test instead of silently losing the ids.
fn first_cluster(e: &FatEntry<'_>, fat32: bool) -> Option<u32> {
    let text = format!("{e:?}");
    let field = |name: &str| -> Option<u32> {
        let at = text.find(name)?.checked_add(name.len())?;
        let digits = text
            .get(at..)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?;
        digits.parse::<u16>().ok().map(u32::from)
    };
    let lo = field("first_cluster_lo: ")?;
    let hi = if fat32 {
        field("first_cluster_hi: ")?
    } else {
        0
    };
    let n = hi.checked_shl(16)? | lo;
    (n != 0).then_some(n)
}

/// The root directory's first cluster (see [`Reader::root_cluster`]): FAT32 BPB offset 44.
fn root_cluster(src: &dyn BlockSource, fs_type: FsType) -> u32 {
    if fs_type != FsType::Fat32 {
        return 0;
    }
    let mut b = [0u8; 4];
    match src.read_exact_at(&mut b, 44) {
        Ok(()) => u32::from_le_bytes(b),
        Err(_) => 0,
    }
}

fn meta_of(e: &FatEntry<'_>, id: Option<FileId>) -> Metadata {
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
        id,
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

impl FatFs {
    pub(crate) fn open(
        src: Arc<dyn BlockSource>,
        fs_type: FsType,
        limits: &Limits,
    ) -> Result<FatFs, FsError> {
        let name = fs_type.name();
        let src: Arc<dyn BlockSource> = Arc::new(crate::cached(src));
        let writes = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let worker = {
            let writes = writes.clone();
            let limits = limits.clone();
            std::thread::Builder::new()
                .name(format!("imgcheck-{name}"))
                .spawn(move || serve(src, writes, fs_type, limits, ready_tx, jobs_rx))
                .map_err(|e| thread_err(name, "/", "opening the volume", &e.to_string()))?
        };
        let info = ready_rx
            .recv()
            .unwrap_or_else(|_| Err(thread_err(name, "/", "opening the volume", "stopped")));
        let me = FatFs {
            name,
            info: match info {
                Ok(i) => i,
                Err(e) => {
                    drop(jobs_tx);
                    let _ = worker.join();
                    return Err(e);
                }
            },
            writes,
            jobs: Some(jobs_tx),
            worker: Some(worker),
        };
        Ok(me)
    }

    /// Send a job made by `make` to the reader thread and wait for its answer.
    fn ask<T>(
        &self,
        path: &str,
        operation: &'static str,
        make: impl FnOnce(mpsc::Sender<Result<T, FsError>>) -> Job,
    ) -> Result<T, FsError> {
        let (tx, rx) = mpsc::channel();
        let sent = self.jobs.as_ref().map(|j| j.send(make(tx)));
        if !matches!(sent, Some(Ok(()))) {
            return Err(thread_err(self.name, path, operation, "stopped"));
        }
        rx.recv()
            .unwrap_or_else(|_| Err(thread_err(self.name, path, operation, "stopped")))
    }

    /// Write attempts refused so far (always refused; the count proves none reached the image).
    #[cfg(test)]
    pub(crate) fn write_attempts(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}

impl Drop for FatFs {
    fn drop(&mut self) {
        // Closing the job channel ends the reader thread (it unmounts, writing nothing).
        self.jobs = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl GuestFs for FatFs {
    fn volume_info(&self) -> VolumeInfo {
        self.info.clone()
    }

    fn metadata(&self, path: &str) -> Result<Metadata, FsError> {
        self.ask(path, "reading metadata", |r| {
            Job::Metadata(path.to_string(), "reading metadata", r)
        })
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        self.ask(path, "reading the directory", |r| {
            Job::ReadDir(path.to_string(), r)
        })
    }

    fn read_link(&self, path: &str) -> Result<String, FsError> {
        let m = self.ask(path, "reading the symlink", |r| {
            Job::Metadata(path.to_string(), "reading the symlink", r)
        })?;
        Err(FsError::WrongType {
            fs: self.name,
            path: path.to_string(),
            expected: "symlink",
            actual: m.file_type.noun(),
        })
    }

    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError> {
        self.ask(path, "reading the file", |r| {
            Job::Read(path.to_string(), max_bytes, r)
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
