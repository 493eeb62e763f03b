//! # imgcheck-fuzzing
//!
//! One pure function per parser entry point, taking arbitrary bytes. Disk images are untrusted
//! input (see `docs/security.md`): every function here must return normally for **every** input.
//! A panic is a bug — either in the parser (it panicked on hostile bytes) or a broken invariant
//! that the function asserts (a read returned data past the end of a disk, a partition said to
//! lie inside the disk does not, a parsed fstab has more entries than lines …).
//!
//! The same functions are driven two ways:
//!
//! - by `cargo +nightly fuzz run <target>` from the `fuzz/` directory (its own workspace, using
//!   libFuzzer), one `fuzz_targets/<name>.rs` per entry of [`TARGETS`];
//! - by `cargo test -p imgcheck-fuzzing` on stable (`tests/replay.rs`), which replays every file
//!   of `fuzz/corpus/<name>/` (and `fuzz/artifacts/<name>/`) through the function in-process and
//!   runs a deterministic mutation smoke on each seed.
//!
//! Everything goes through the crates' public APIs, exactly as the engine calls them, and work is
//! bounded so that one input costs milliseconds: at most [`READ_BUDGET`] bytes of a virtual disk
//! are read, at most [`WALK_MAX_ENTRIES`] directory entries are visited.
//!
//! This is our own code: it is test harness, there is nothing to wrap.

use imgcheck_container::{open_source, OpenContext, OpenOptions};
use imgcheck_core::{BlockSource, Limits, MemSource};
use imgcheck_fs::{FileType, GuestFs, Probed};
use imgcheck_inspect::{GuestView, VolumeDesc};
use imgcheck_volume::{PartitionKind, PartitionTable};
use std::sync::Arc;

pub mod sparse;

/// Bytes of a decoded virtual disk read sequentially from offset 0 per input. Bounded so that a
/// header announcing an exabyte disk costs no more than a small one; far regions are sampled
/// instead ([`SAMPLE_POINTS`]).
pub const READ_BUDGET: u64 = 1 << 20;
/// Odd chunk sizes for the sequential read, so that chunks straddle every cluster, grain, block
/// and sector boundary (all formats use power-of-two units).
const CHUNK_SIZES: &[usize] = &[4093, 511, 65_521, 1, 12_289, 131_071];
/// Offsets spread evenly over the whole virtual disk where a further small read is made.
const SAMPLE_POINTS: u64 = 16;
/// Bytes of each sampled read.
const SAMPLE_BYTES: usize = 4099;
/// Prefix of the disk read once in one piece and compared with the chunked reads.
const COMPARE_BYTES: u64 = 256 << 10;
/// Directory entries visited per filesystem walk.
pub const WALK_MAX_ENTRIES: usize = 4096;
/// Directory depth of the walk (the fixtures' deepest path has 10 components).
const WALK_MAX_DEPTH: usize = 24;
/// Bytes of one guest file read by the walk.
const WALK_READ_BYTES: u64 = 1 << 20;
/// Bytes of a guest text file read by the pipeline (as the engine does).
const PIPELINE_TEXT_BYTES: u64 = 1 << 20;
/// Symlink hops followed while resolving a guest path (Linux's limit).
const MAX_SYMLINKS: u32 = 40;
/// Partitions probed by the pipeline (a crafted table may list thousands).
const PIPELINE_MAX_VOLUMES: usize = 8;

/// A fuzz target: its name (directory under `fuzz/corpus/`, file under `fuzz/fuzz_targets/`)
/// and the function to run.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the target.
    pub name: &'static str,
    /// The function under test.
    pub run: fn(&[u8]),
}

/// Every target, in pipeline order.
pub const TARGETS: &[Target] = &[
    t("container", container),
    t("partition_table", partition_table),
    t("lvm", lvm),
    t("md", md),
    t("filesystem", filesystem),
    t("xfs", xfs),
    t("btrfs", btrfs),
    t("initramfs", initramfs),
    t("fstab", fstab),
    t("os_release", os_release),
    t("elf", elf),
    t("kconfig", kconfig),
    t("bootloader", bootloader),
    t("network", network),
    t("packages", packages),
    t("system", system),
    t("regf", regf),
    t("pipeline", pipeline),
];

const fn t(name: &'static str, run: fn(&[u8])) -> Target {
    Target { name, run }
}

/// Look a target up by name.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

fn mem(data: &[u8]) -> Arc<dyn BlockSource> {
    Arc::new(MemSource::new(data.to_vec()))
}

fn detached() -> OpenContext {
    OpenContext::detached(&OpenOptions::default())
}

/// Container layer: detect and open the bytes as an image file (qcow2, VHDX, VMDK, VHD, raw …),
/// then read the virtual disk: the first [`READ_BUDGET`] bytes in odd-sized chunks, a sample at
/// [`SAMPLE_POINTS`] offsets spread over the whole disk, the last bytes, and reads past the end.
///
/// Invariants: the facts' virtual size is the source's length; a read past the end fails; two
/// reads of the same range agree; a one-piece read of the first 256 KiB agrees with the chunks.
pub fn container(data: &[u8]) {
    let Ok(disk) = open_source(mem(data), &detached()) else {
        return;
    };
    let src = disk.source();
    let len = src.len();
    assert_eq!(
        disk.facts.virtual_size, len,
        "container: facts.virtual_size differs from the virtual disk's length"
    );
    check_reads(src.as_ref());
}

/// The read checks of [`container`], on any source.
fn check_reads(src: &dyn BlockSource) {
    let len = src.len();
    // One piece first (when it fails, e.g. on a corrupt cluster, the chunks may fail too).
    let whole_len = usize::try_from(len.min(COMPARE_BYTES)).unwrap_or(0);
    let mut whole = vec![0u8; whole_len];
    let whole_ok = src.read_exact_at(&mut whole, 0).is_ok();

    let budget = len.min(READ_BUDGET);
    let mut off = 0u64;
    let mut sizes = CHUNK_SIZES.iter().copied().cycle();
    let mut buf = Vec::new();
    while off < budget {
        let size = sizes.next().unwrap_or(4096);
        let remaining = usize::try_from(budget.saturating_sub(off)).unwrap_or(usize::MAX);
        let n = size.min(remaining);
        buf.resize(n, 0);
        let got = src.read_exact_at(&mut buf, off);
        if whole_ok {
            if let Some(expect) = usize::try_from(off)
                .ok()
                .and_then(|s| whole.get(s..s.saturating_add(n)))
            {
                assert!(
                    got.is_ok(),
                    "container: reading {n} bytes at {off} failed although the first \
                     {whole_len} bytes read in one piece: {:?}",
                    got.err()
                );
                assert!(
                    buf.as_slice() == expect,
                    "container: {n} bytes at {off} differ from the same bytes read in one piece"
                );
            }
        }
        off = off.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }

    // Samples over the whole disk, each read twice (caches must not change the answer).
    let step = (len / SAMPLE_POINTS).max(1);
    let mut a = vec![0u8; SAMPLE_BYTES];
    let mut b = vec![0u8; SAMPLE_BYTES];
    for k in 0..SAMPLE_POINTS {
        let at = k.saturating_mul(step);
        let n = usize::try_from(len.saturating_sub(at))
            .unwrap_or(usize::MAX)
            .min(SAMPLE_BYTES);
        if n == 0 {
            break;
        }
        let (Some(a), Some(b)) = (a.get_mut(..n), b.get_mut(..n)) else {
            break;
        };
        let ra = src.read_exact_at(a, at).is_ok();
        let rb = src.read_exact_at(b, at).is_ok();
        assert_eq!(
            ra, rb,
            "container: two reads of {n} bytes at {at} disagree on success"
        );
        if ra {
            assert!(
                a == b,
                "container: two reads of {n} bytes at {at} returned different bytes"
            );
        }
    }

    check_extents(src);

    // The last bytes, then past the end.
    let tail = usize::try_from(len.min(4096)).unwrap_or(0);
    let mut t = vec![0u8; tail];
    let _ = src.read_exact_at(&mut t, len.saturating_sub(len.min(4096)));
    let mut one = [0u8; 1];
    assert!(
        src.read_exact_at(&mut one, len).is_err(),
        "container: a read at the end of a {len}-byte disk succeeded"
    );
    let mut two = [0u8; 2];
    if len > 0 {
        assert!(
            src.read_exact_at(&mut two, len.saturating_sub(1)).is_err(),
            "container: a read straddling the end of a {len}-byte disk succeeded"
        );
    }
    assert!(
        src.read_exact_at(&mut one, u64::MAX).is_err(),
        "container: a read at offset u64::MAX succeeded"
    );
}

/// [`BlockSource::extent`] over the first [`READ_BUDGET`] bytes (at most [`EXTENT_CALLS`]
/// answers): every run is 1..=max bytes long, and a run reported as zeros reads as zeros
/// (checked on its first [`EXTENT_CHECK_BYTES`] bytes, when the read succeeds) — `export` skips
/// such runs without reading them. Nothing is answered past the end.
fn check_extents(src: &dyn BlockSource) {
    let len = src.len();
    let budget = len.min(READ_BUDGET);
    let mut pos = 0u64;
    let mut buf = Vec::new();
    for _ in 0..EXTENT_CALLS {
        if pos >= budget {
            break;
        }
        let max = budget.saturating_sub(pos);
        let Some(e) = src.extent(pos, max) else {
            // Unknown: step over one sector-sized piece and ask again.
            pos = pos.saturating_add(512);
            continue;
        };
        assert!(
            !e.is_empty() && e.len() <= max,
            "container: extent at {pos} is {} bytes long (max {max})",
            e.len()
        );
        if let imgcheck_core::Extent::Zero(n) = e {
            let n = usize::try_from(n.min(EXTENT_CHECK_BYTES)).unwrap_or(0);
            buf.resize(n, 0xA5);
            if src.read_exact_at(&mut buf, pos).is_ok() {
                assert!(
                    buf.iter().all(|&b| b == 0),
                    "container: extent {pos}+{n} is reported as zeros but holds data"
                );
            }
        }
        pos = pos.saturating_add(e.len());
    }
    assert!(
        src.extent(len, 1).is_none(),
        "container: an extent was reported at the end of the disk"
    );
}

/// Extent answers [`check_extents`] asks for at most.
const EXTENT_CALLS: usize = 4096;
/// Bytes of a zero extent [`check_extents`] reads back at most.
const EXTENT_CHECK_BYTES: u64 = 1 << 20;

/// Check that a decoded container equals its raw seed: the raw bytes, then zeros up to the
/// virtual size (VHD rounds a disk up to a CHS geometry). Used by the replay test on the seed
/// pairs the corpus script writes; returns a description of the first difference.
pub fn container_parity(image: &[u8], raw: &[u8]) -> Result<(), String> {
    let disk = open_source(mem(image), &detached()).map_err(|e| format!("open failed: {e}"))?;
    let src = disk.source();
    let raw_len = u64::try_from(raw.len()).map_err(|e| e.to_string())?;
    if src.len() < raw_len {
        return Err(format!("virtual size {} < raw size {raw_len}", src.len()));
    }
    let mut got = vec![0u8; raw.len()];
    src.read_exact_at(&mut got, 0)
        .map_err(|e| format!("read of {raw_len} bytes failed: {e}"))?;
    if let Some(pos) = got.iter().zip(raw).position(|(a, b)| a != b) {
        return Err(format!("first difference at byte {pos}"));
    }
    let rest = usize::try_from(src.len().saturating_sub(raw_len).min(READ_BUDGET))
        .map_err(|e| e.to_string())?;
    let mut pad = vec![0u8; rest];
    src.read_exact_at(&mut pad, raw_len)
        .map_err(|e| format!("read of the {rest} padding bytes failed: {e}"))?;
    if pad.iter().any(|&b| b != 0) {
        return Err("bytes past the raw size are not zero".to_string());
    }
    Ok(())
}

/// Volume layer: the bytes as a whole disk, through `read_partition_table`.
///
/// Invariants: the table's disk size is the input's length; every partition not flagged
/// `beyond_disk_end` lies inside the disk and yields a source of its size, every flagged one
/// does not; byte and LBA positions agree; partition numbers are unique.
pub fn partition_table(data: &[u8]) {
    let disk = mem(data);
    let Ok(table) = imgcheck_volume::read_partition_table(disk.as_ref(), &Limits::default()) else {
        return;
    };
    check_table(&table, &disk);
}

fn check_table(table: &PartitionTable, disk: &Arc<dyn BlockSource>) {
    let disk_len = disk.len();
    assert_eq!(
        table.disk_size, disk_len,
        "partition_table: disk_size is not the disk's length"
    );
    let ss = u64::from(table.sector_size);
    assert!(
        ss == 512 || ss == 4096,
        "partition_table: sector size {ss} is neither 512 nor 4096"
    );
    let mut numbers: Vec<u32> = Vec::with_capacity(table.partitions.len());
    for p in &table.partitions {
        let end = p.start.checked_add(p.size);
        let inside = end.is_some_and(|e| e <= disk_len);
        assert_eq!(
            inside, !p.beyond_disk_end,
            "partition_table: partition {} ({}+{} bytes on a {disk_len}-byte disk) has \
             beyond_disk_end = {}",
            p.number, p.start, p.size, p.beyond_disk_end
        );
        assert_eq!(
            p.source(disk.clone()).is_ok(),
            inside,
            "partition_table: partition {} source() disagrees with its position",
            p.number
        );
        assert_eq!(
            Some(p.start),
            p.start_lba.checked_mul(ss),
            "partition_table: partition {} start is not start_lba × sector size",
            p.number
        );
        assert_eq!(
            Some(p.size),
            p.size_lba.checked_mul(ss),
            "partition_table: partition {} size is not size_lba × sector size",
            p.number
        );
        numbers.push(p.number);
    }
    let total = numbers.len();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(
        numbers.len(),
        total,
        "partition_table: duplicate partition numbers"
    );
}

/// Panics of the wrapped third-party readers (`ext4-view`, `fatfs`, `ntfs`) contained by
/// imgcheck-fs's guard, counted by [`contain_guarded_panics`].
pub static CONTAINED_PANICS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Let panics that imgcheck-fs contains unwind to its guard instead of reaching the hook that
/// was installed before (libFuzzer's aborts on every panic, caught or not). Such a panic is not
/// an imgcheck crash: the reader's call ends in `FsError::Panicked` and the rest of the image
/// is read (docs/security.md). Each is counted in [`CONTAINED_PANICS`] and the first few are
/// printed, so that a fuzz run's log shows them; every other panic still reaches the previous
/// hook. Installed once per process, by the targets that open filesystems.
pub fn contain_guarded_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if imgcheck_fs::in_guard() {
                let n = CONTAINED_PANICS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n < 8 {
                    eprintln!(
                        "imgcheck-fuzzing: contained panic #{}: {info}",
                        n.saturating_add(1)
                    );
                }
            } else {
                previous(info);
            }
        }));
    });
}

/// Filesystem layer: probe the bytes as a volume, open whatever filesystem is found, and walk it
/// (at most [`WALK_MAX_ENTRIES`] entries), reading every file, link and named stream.
pub fn filesystem(data: &[u8]) {
    contain_guarded_panics();
    let src = mem(data);
    let Ok(probed) = imgcheck_fs::probe(src.as_ref()) else {
        return;
    };
    let Probed::Filesystem(t) = probed else {
        return;
    };
    let Ok(fs) = imgcheck_fs::open_as(src, t, &Limits::default()) else {
        return;
    };
    let info = fs.volume_info();
    assert_eq!(
        info.fs_type, t,
        "filesystem: volume_info type differs from the probe's"
    );
    walk(fs.as_ref());
}

/// Bounded breadth-first walk from `/`.
///
/// Invariants: entries are sorted by name and never `.`, `..`, empty or containing `/`; a regular
/// file read returns exactly `min(size, asked)` bytes.
fn walk(fs: &dyn GuestFs) {
    let mut queue: std::collections::VecDeque<(String, usize)> = std::collections::VecDeque::new();
    queue.push_back(("/".to_string(), 0));
    let mut visited = 0usize;
    while let Some((dir, depth)) = queue.pop_front() {
        let _ = fs.metadata(&dir);
        let Ok(entries) = fs.read_dir(&dir) else {
            continue;
        };
        for w in entries.windows(2) {
            if let [a, b] = w {
                assert!(
                    a.name <= b.name,
                    "filesystem: read_dir({dir:?}) is not sorted: {:?} before {:?}",
                    a.name,
                    b.name
                );
            }
        }
        for e in entries {
            visited = visited.saturating_add(1);
            if visited > WALK_MAX_ENTRIES {
                return;
            }
            assert!(
                !e.name.is_empty() && e.name != "." && e.name != ".." && !e.name.contains('/'),
                "filesystem: read_dir({dir:?}) listed the name {:?}",
                e.name
            );
            let path = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            let meta = fs.metadata(&path);
            match e.file_type {
                FileType::Dir => {
                    if depth < WALK_MAX_DEPTH {
                        queue.push_back((path.clone(), depth.saturating_add(1)));
                    }
                }
                FileType::Symlink => {
                    let _ = fs.read_link(&path);
                }
                FileType::File | FileType::Other => {}
            }
            if let Ok(m) = meta {
                if m.file_type == FileType::File {
                    check_file_read(fs, &path, m.size);
                }
                for s in m.streams.iter().take(8) {
                    let _ = fs.read(&format!("{path}:{s}"), WALK_READ_BYTES);
                }
            }
        }
    }
}

fn check_file_read(fs: &dyn GuestFs, path: &str, size: u64) {
    if let Ok(bytes) = fs.read(path, WALK_READ_BYTES) {
        let want = size.min(WALK_READ_BYTES);
        assert_eq!(
            u64::try_from(bytes.len()).ok(),
            Some(want),
            "filesystem: read({path:?}) of a {size}-byte file returned {} bytes",
            bytes.len()
        );
    }
    // A short read is a prefix of the full one.
    if size > 0 {
        if let (Ok(short), Ok(full)) = (fs.read(path, 1), fs.read(path, 2)) {
            assert!(
                full.starts_with(&short),
                "filesystem: read({path:?}, 1) is not a prefix of read({path:?}, 2)"
            );
        }
    }
}

/// Directory entries visited per direct XFS/Btrfs walk (per subvolume for Btrfs).
pub const DIRECT_MAX_ENTRIES: usize = 300;
/// Bytes of one guest file read by the direct XFS/Btrfs walks.
const DIRECT_READ_BYTES: u64 = 16 << 10;
/// Subvolumes opened and walked by the Btrfs target.
const DIRECT_MAX_SUBVOLUMES: usize = 8;

/// What a direct walk saw (the replay test checks that seeds reach deep into the tree).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectStats {
    /// Whether the filesystem opened.
    pub opened: bool,
    /// Directory entries visited (all subvolumes).
    pub entries: usize,
    /// Regular files read successfully.
    pub files_read: usize,
    /// Symlinks whose target was read.
    pub links_read: usize,
    /// Entries whose directory-entry type differs from their metadata's type.
    pub type_mismatches: usize,
    /// Subvolumes listed (Btrfs).
    pub subvolumes: usize,
    /// Subvolumes opened and walked (Btrfs).
    pub subvolumes_walked: usize,
}

/// Bounds of the direct filesystem targets.
fn direct_limits() -> Limits {
    Limits {
        max_dir_entries: 4096,
        max_file_bytes: 1 << 20,
        ..Limits::default()
    }
}

/// XFS directly (no probe): the input is a [`sparse`] image (flag bit 0 reseals v5 checksums),
/// opened as XFS and walked with [`DIRECT_MAX_ENTRIES`] entries, files read with a 16 KiB cap.
///
/// Invariants (besides those of the generic walk): the volume is XFS; operations follow the
/// inode's type whatever the directory entry says (a directory can be listed and not read, a
/// file read and not listed, only a symlink has a target); a regular file's read returns exactly
/// `min(size, cap)` bytes and a shorter read is its prefix.
pub fn xfs(data: &[u8]) {
    let _ = xfs_stats(data);
}

/// [`xfs`], returning what the walk saw.
pub fn xfs_stats(data: &[u8]) -> DirectStats {
    direct(data, imgcheck_fs::FsType::Xfs, sparse::Reseal::Xfs)
}

/// Btrfs directly (no probe): as [`xfs`] (flag bit 0 reseals the superblock and tree block
/// CRC32C), then the subvolume list and a walk of each of the first subvolumes, opened by id and
/// by path.
///
/// Further invariants: subvolumes are sorted by unique id, at most one is the default; a
/// subvolume opened by id and by its path lists the same root directory.
pub fn btrfs(data: &[u8]) {
    let _ = btrfs_stats(data);
}

/// [`btrfs`], returning what the walk saw.
pub fn btrfs_stats(data: &[u8]) -> DirectStats {
    direct(data, imgcheck_fs::FsType::Btrfs, sparse::Reseal::Btrfs)
}

fn direct(data: &[u8], t: imgcheck_fs::FsType, reseal: sparse::Reseal) -> DirectStats {
    let Some(img) = sparse::SparseImage::decode(data, reseal) else {
        return DirectStats::default();
    };
    walk_source(Arc::new(img), t, true, DIRECT_MAX_ENTRIES)
}

/// The work of the [`xfs`] and [`btrfs`] targets on any source (the seed maker runs it on the
/// real fixture images to find which blocks a seed needs). `read_files: false` skips reading
/// regular files' data; `max_entries` bounds each walk (the targets use [`DIRECT_MAX_ENTRIES`]).
pub fn walk_source(
    src: Arc<dyn BlockSource>,
    t: imgcheck_fs::FsType,
    read_files: bool,
    max_entries: usize,
) -> DirectStats {
    contain_guarded_panics();
    let mut st = DirectStats::default();
    let Ok(fs) = imgcheck_fs::open_as(src, t, &direct_limits()) else {
        return st;
    };
    st.opened = true;
    let info = fs.volume_info();
    assert_eq!(
        info.fs_type,
        t,
        "{}: volume_info names {:?}",
        t.name(),
        info.fs_type
    );
    walk_direct(fs.as_ref(), t.name(), read_files, max_entries, &mut st);
    let Ok(subs) = fs.subvolumes() else {
        return st;
    };
    st.subvolumes = subs.len();
    for w in subs.windows(2) {
        if let [a, b] = w {
            assert!(
                a.id < b.id,
                "{}: subvolumes not sorted by unique id: {} before {}",
                t.name(),
                a.id,
                b.id
            );
        }
    }
    assert!(
        subs.iter().filter(|s| s.default).count() <= 1,
        "{}: more than one default subvolume",
        t.name()
    );
    for s in subs.iter().take(DIRECT_MAX_SUBVOLUMES) {
        let Ok(by_id) = fs.subvolume(&imgcheck_fs::SubvolumeSel::Id(s.id)) else {
            continue;
        };
        st.subvolumes_walked = st.subvolumes_walked.saturating_add(1);
        if let Ok(by_path) = fs.subvolume(&imgcheck_fs::SubvolumeSel::Path(s.path.clone())) {
            if let (Ok(a), Ok(b)) = (by_id.read_dir("/"), by_path.read_dir("/")) {
                // Two subvolumes may share a path on a corrupt image; only compare when the path
                // is unique.
                if subs.iter().filter(|o| o.path == s.path).count() == 1 {
                    let names = |v: &[imgcheck_fs::DirEntry]| {
                        v.iter().map(|e| e.name.clone()).collect::<Vec<_>>()
                    };
                    assert_eq!(
                        names(&a),
                        names(&b),
                        "{}: subvolume {} by id and by path {:?} list different roots",
                        t.name(),
                        s.id,
                        s.path
                    );
                }
            }
        }
        walk_direct(by_id.as_ref(), t.name(), read_files, max_entries, &mut st);
    }
    st
}

/// Bounded breadth-first walk of [`DIRECT_MAX_ENTRIES`] entries with the cross-checks of
/// [`xfs`].
fn walk_direct(
    fs: &dyn GuestFs,
    name: &str,
    read_files: bool,
    max_entries: usize,
    st: &mut DirectStats,
) {
    let mut queue: std::collections::VecDeque<(String, usize)> = std::collections::VecDeque::new();
    queue.push_back(("/".to_string(), 0));
    let mut visited = 0usize;
    while let Some((dir, depth)) = queue.pop_front() {
        let Ok(entries) = fs.read_dir(&dir) else {
            continue;
        };
        for w in entries.windows(2) {
            if let [a, b] = w {
                assert!(
                    a.name <= b.name,
                    "{name}: read_dir({dir:?}) is not sorted: {:?} before {:?}",
                    a.name,
                    b.name
                );
            }
        }
        for e in entries {
            visited = visited.saturating_add(1);
            if visited > max_entries {
                return;
            }
            st.entries = st.entries.saturating_add(1);
            assert!(
                !e.name.is_empty() && e.name != "." && e.name != ".." && !e.name.contains('/'),
                "{name}: read_dir({dir:?}) listed the name {:?}",
                e.name
            );
            let path = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            let Ok(m) = fs.metadata(&path) else {
                continue;
            };
            if m.file_type != e.file_type {
                st.type_mismatches = st.type_mismatches.saturating_add(1);
            }
            let listed = fs.read_dir(&path);
            let read = if read_files || m.file_type != FileType::File {
                fs.read(&path, DIRECT_READ_BYTES)
            } else {
                fs.read(&path, 0)
            };
            let link = fs.read_link(&path);
            assert!(
                listed.is_err() || m.file_type == FileType::Dir,
                "{name}: read_dir({path:?}) succeeded on a {:?}",
                m.file_type
            );
            assert!(
                read.is_err() || m.file_type == FileType::File,
                "{name}: read({path:?}) succeeded on a {:?}",
                m.file_type
            );
            assert!(
                link.is_err() || m.file_type == FileType::Symlink,
                "{name}: read_link({path:?}) succeeded on a {:?}",
                m.file_type
            );
            match m.file_type {
                FileType::Dir if depth < WALK_MAX_DEPTH => {
                    queue.push_back((path, depth.saturating_add(1)));
                }
                FileType::File => {
                    if let (Ok(bytes), true) = (&read, read_files) {
                        st.files_read = st.files_read.saturating_add(1);
                        assert_eq!(
                            u64::try_from(bytes.len()).ok(),
                            Some(m.size.min(DIRECT_READ_BYTES)),
                            "{name}: read({path:?}) of a {}-byte file returned {} bytes",
                            m.size,
                            bytes.len()
                        );
                        if let Ok(short) = fs.read(&path, 7) {
                            assert!(
                                bytes.starts_with(&short),
                                "{name}: read({path:?}, 7) is not a prefix of the longer read"
                            );
                        }
                    }
                }
                FileType::Symlink if link.is_ok() => {
                    st.links_read = st.links_read.saturating_add(1);
                }
                _ => {}
            }
        }
    }
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// `/etc/fstab` parser, then device-name classification of every entry.
///
/// Invariants: entries plus problems never outnumber the lines; line numbers are increasing and
/// within the text; mount point and type are never empty.
pub fn fstab(data: &[u8]) {
    let t = text(data);
    let lines = t.lines().count();
    let f = imgcheck_inspect::fstab::parse(&t);
    assert!(
        f.entries.len().saturating_add(f.problems.len()) <= lines,
        "fstab: {} entries and {} problems from {lines} lines",
        f.entries.len(),
        f.problems.len()
    );
    let mut last = 0usize;
    for e in &f.entries {
        assert!(
            e.line > last && e.line <= lines,
            "fstab: entry line number {} (previous {last}, {lines} lines)",
            e.line
        );
        last = e.line;
        assert!(
            !e.mount_point.is_empty() && !e.fs_type.is_empty(),
            "fstab: entry on line {} has an empty field",
            e.line
        );
        let _ = imgcheck_inspect::fstab::classify_spec(&e.spec_raw);
        let _ = imgcheck_inspect::kernel_name_partition(&e.spec_raw);
        let _ = imgcheck_inspect::resolve_entry(e, &[]);
    }
    for p in &f.problems {
        assert!(
            p.line >= 1 && p.line <= lines,
            "fstab: problem line {} of {lines}",
            p.line
        );
    }
}

/// `os-release(5)` parser.
///
/// Invariants: no more keys than lines; every key is non-empty ASCII alphanumerics and `_`.
pub fn os_release(data: &[u8]) {
    let t = text(data);
    let lines = t.lines().count();
    let m = imgcheck_inspect::osrelease::parse(&t);
    assert!(
        m.len() <= lines,
        "os_release: {} keys from {lines} lines",
        m.len()
    );
    for k in m.keys() {
        assert!(
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "os_release: key {k:?}"
        );
    }
}

/// ELF header architecture sniffing.
///
/// Invariant: an architecture is only named for bytes that start with the ELF magic and hold
/// `e_machine`.
pub fn elf(data: &[u8]) {
    if imgcheck_inspect::elf::arch(data).is_some() {
        assert!(
            data.starts_with(b"\x7fELF") && data.len() >= 20,
            "elf: an architecture was named for a non-ELF header"
        );
    }
}

/// Keys whose values are all decoded by [`regf`] (the walk itself visits every key).
const REGF_DECODE_KEYS: usize = 512;

/// Registry hives (SYSTEM, SOFTWARE, BCD …): parse the bytes as a regf hive, walk every key (the
/// reader's own key and depth limits apply), decode every value of the first
/// [`REGF_DECODE_KEYS`] keys, and look up the paths the Windows inspection reads.
///
/// Invariants: the walk never visits more keys than the reader's limit; a value's raw data is
/// never longer than its declared size; a path found by `open` has the key's name as its last
/// component.
pub fn regf(data: &[u8]) {
    let Ok(hive) = imgcheck_regf::Hive::parse(data.to_vec()) else {
        return;
    };
    let _ = hive.info();
    let mut keys = 0usize;
    let walked = hive.walk(|_path, key| {
        keys = keys.saturating_add(1);
        let _ = key.class_name();
        let _ = key.name();
        if keys > REGF_DECODE_KEYS {
            return;
        }
        if let Ok(values) = key.values() {
            for v in values {
                let _ = v.name();
                if let Ok(raw) = v.raw_data() {
                    let declared =
                        usize::try_from(v.data_size() & 0x7FFF_FFFF).unwrap_or(usize::MAX);
                    assert!(
                        raw.len() <= declared.max(4),
                        "regf: value data longer ({}) than its declared size ({declared})",
                        raw.len()
                    );
                }
                if let Ok(d) = v.data() {
                    let _ = (
                        d.as_string(),
                        d.as_u64(),
                        d.as_strings().map(<[String]>::len),
                    );
                }
            }
        }
    });
    if let Ok(stats) = walked {
        assert!(
            usize::try_from(stats.keys).unwrap_or(usize::MAX) <= keys.saturating_add(1),
            "regf: walk stats count keys it did not visit"
        );
    }
    for path in [
        "Select",
        "ControlSet001\\Services",
        "ControlSet001\\Control\\Class",
        "Microsoft\\Windows NT\\CurrentVersion",
        "Objects",
        "MountedDevices",
    ] {
        if let Ok(Some(k)) = hive.open(path) {
            let last = path.rsplit('\\').next().unwrap_or(path);
            assert!(
                k.name_matches(last),
                "regf: open({path:?}) returned key {:?}",
                k.name()
            );
            let _ = k.subkeys();
        }
    }
}

/// The whole pipeline on a small image, as the engine runs it: container → partition table →
/// probe and open each volume → find Linux roots → assemble the guest from its fstab → OS facts.
/// A bounded walk through the assembled guest view follows.
pub fn pipeline(data: &[u8]) {
    contain_guarded_panics();
    let limits = Limits::default();
    let Ok(disk) = open_source(mem(data), &detached()) else {
        return;
    };
    let src = disk.source();
    let table = imgcheck_volume::read_partition_table(src.as_ref(), &limits).ok();
    let mut vols: Vec<(String, Option<u32>, Arc<dyn BlockSource>)> = Vec::new();
    match &table {
        Some(t) if !t.partitions.is_empty() => {
            check_table(t, &src);
            for p in t
                .partitions
                .iter()
                .filter(|p| p.kind != PartitionKind::Extended)
                .take(PIPELINE_MAX_VOLUMES)
            {
                if let Ok(s) = p.source(src.clone()) {
                    vols.push((p.number.to_string(), Some(p.number), Arc::new(s)));
                }
            }
        }
        _ => vols.push(("whole".to_string(), None, src.clone())),
    }
    let mut descs: Vec<VolumeDesc> = Vec::new();
    for (id, partition, s) in vols {
        let part = table
            .as_ref()
            .and_then(|t| t.partitions.iter().find(|p| Some(p.number) == partition));
        let mut d = VolumeDesc {
            id,
            partition,
            part_uuid: part.and_then(|p| p.guid.clone()),
            part_label: part.and_then(|p| p.name.clone()),
            mbr_signature: table.as_ref().and_then(|t| t.mbr_signature),
            ..VolumeDesc::default()
        };
        match imgcheck_fs::probe(s.as_ref()) {
            Ok(Probed::Filesystem(t)) => {
                if let Ok(fs) = imgcheck_fs::open_as(s, t, &limits) {
                    let i = fs.volume_info();
                    d.fs_type = Some(i.fs_type.name().to_string());
                    d.fs_uuid = i.uuid;
                    d.fs_label = i.label;
                    d.fs = Some(Arc::from(fs));
                }
            }
            Ok(Probed::Swap { uuid, label }) => {
                d.fs_type = Some("swap".to_string());
                d.fs_uuid = uuid;
                d.fs_label = label;
            }
            _ => {}
        }
        descs.push(d);
    }
    let roots = imgcheck_inspect::find_linux_roots(&descs);
    for &r in &roots {
        assert!(r < descs.len(), "pipeline: root index {r} out of range");
    }
    let Some(&root) = roots.first() else {
        return;
    };
    let Some(a) = imgcheck_inspect::assemble(&descs, root, MAX_SYMLINKS, PIPELINE_TEXT_BYTES)
    else {
        return;
    };
    for (vol, _role) in &a.roles {
        assert!(
            descs.iter().any(|d| &d.id == vol),
            "pipeline: role given to unknown volume {vol:?}"
        );
    }
    let _facts = imgcheck_inspect::linux::inspect(&a.view, &limits);
    walk_view(&a.view);
}

/// Bounded walk through a guest view, resolving every path.
///
/// Invariant: a resolved path is absolute and has no `.`/`..`/empty components.
fn walk_view(view: &GuestView) {
    let mut queue: std::collections::VecDeque<(String, usize)> = std::collections::VecDeque::new();
    queue.push_back(("/".to_string(), 0));
    let mut visited = 0usize;
    while let Some((dir, depth)) = queue.pop_front() {
        let Ok(entries) = view.read_dir(&dir) else {
            continue;
        };
        for e in entries {
            visited = visited.saturating_add(1);
            if visited > WALK_MAX_ENTRIES {
                return;
            }
            let path = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            if let Ok(r) = view.resolve(&path, true) {
                assert!(
                    r.starts_with('/')
                        && (r == "/"
                            || r.split('/')
                                .skip(1)
                                .all(|c| !c.is_empty() && c != "." && c != "..")),
                    "pipeline: {path:?} resolved to the non-canonical {r:?}"
                );
            }
            match e.file_type {
                FileType::Dir if depth < WALK_MAX_DEPTH => {
                    queue.push_back((path, depth.saturating_add(1)));
                }
                FileType::File | FileType::Symlink => {
                    let _ = view.read(&path, WALK_READ_BYTES);
                }
                _ => {}
            }
        }
    }
}

/// Bounds for the targets that decompress or assemble: small enough that one input costs
/// milliseconds (a 64 KiB bzip2/xz bomb cannot expand past 16 MiB).
fn fuzz_limits() -> Limits {
    Limits {
        max_initramfs_bytes: 16 << 20,
        max_compressed_unit_bytes: 16 << 20,
        max_file_bytes: 16 << 20,
        ..Limits::default()
    }
}

/// initramfs listing (cpio newc/odc, concatenated and compressed members).
///
/// Invariant: listed paths are normalised (no leading `/` or `./`).
pub fn initramfs(data: &[u8]) {
    let Ok(listing) = imgcheck_inspect::initramfs::list(data, &fuzz_limits()) else {
        return;
    };
    for p in &listing.paths {
        assert!(
            !p.starts_with('/') && !p.starts_with("./"),
            "initramfs: path {p:?} is not normalised"
        );
        let _ = imgcheck_inspect::initramfs::module_name(p);
    }
    let _ = imgcheck_inspect::initramfs::modules_in(&listing);
}

/// Kernel `.config`, `modules.builtin` and `modules.dep` parsers.
pub fn kconfig(data: &[u8]) {
    let t = text(data);
    let lines = t.lines().count();
    let c = imgcheck_inspect::kconfig::parse_config(&t);
    assert!(
        c.len() <= lines,
        "kconfig: {} symbols from {lines} lines",
        c.len()
    );
    let b = imgcheck_inspect::kconfig::parse_builtin(&t);
    assert!(
        b.len() <= lines,
        "kconfig: {} builtins from {lines} lines",
        b.len()
    );
    let d = imgcheck_inspect::kconfig::parse_dep(&t);
    assert!(
        d.len() <= lines,
        "kconfig: {} deps from {lines} lines",
        d.len()
    );
}

/// Boot-loader configuration parsers: grub.cfg (GRUB 2, with `default` resolution), grubenv,
/// BLS entries, GRUB legacy menu.lst, /etc/default/grub; kernel version sorting.
pub fn bootloader(data: &[u8]) {
    use imgcheck_inspect::bootloader as b;
    let t = text(data);
    for boot_separate in [false, true] {
        let ctx = b::PathCtx { boot_separate };
        let cfg = b::parse_grub2(&t, "/boot/grub/grub.cfg", ctx);
        for spec in ["0", "1>2", "saved", "Debian GNU/Linux", "gnulinux-simple-x"] {
            if let Some(i) = b::resolve_default(&cfg, spec) {
                assert!(
                    i < cfg.entries.len(),
                    "bootloader: default {spec:?} resolved to entry {i} of {}",
                    cfg.entries.len()
                );
            }
        }
        let env = b::parse_grubenv(&t);
        let _ = b::parse_bls(&t, "/boot/loader/entries/x.conf", "x", ctx, &env);
        let _ = b::parse_legacy(&t, "/boot/grub/menu.lst", ctx);
    }
    let mut settings = std::collections::BTreeMap::new();
    b::parse_default_grub(&t, "/etc/default/grub", &mut settings);
    let mut versions: Vec<String> = Vec::new();
    for line in t.lines().take(64) {
        let _ = b::words(line);
        if let Some(v) = b::version_from_kernel(line) {
            versions.push(v);
        }
    }
    // vercmp must be a total order for sorting: antisymmetric on every pair.
    for x in &versions {
        for y in &versions {
            assert_eq!(
                b::vercmp(x, y),
                b::vercmp(y, x).reverse(),
                "bootloader: vercmp({x:?}, {y:?}) is not antisymmetric"
            );
        }
    }
    versions.sort_by(|x, y| b::vercmp(x, y));
}

/// Network configuration parsers: ifcfg, Debian interfaces, NetworkManager keyfiles, networkd,
/// udev rules, shell variables, and the YAML subset used by netplan and cloud-init.
pub fn network(data: &[u8]) {
    use imgcheck_inspect::network as n;
    let t = text(data);
    let lines = t.lines().count();
    let vars = n::parse_shell_vars(&t);
    assert!(
        vars.len() <= lines,
        "network: {} variables from {lines} lines",
        vars.len()
    );
    for (k, (_, line)) in &vars {
        assert!(
            usize::try_from(*line).is_ok_and(|l| l >= 1 && l <= lines),
            "network: variable {k} on line {line} of {lines}"
        );
    }
    let _ = n::parse_ifcfg(&t, "/etc/sysconfig/network-scripts/ifcfg-eth0");
    let _ = n::parse_interfaces(&t, "/etc/network/interfaces");
    let _ = n::parse_nm_keyfile(&t, "/etc/NetworkManager/system-connections/x.nmconnection");
    let _ = n::parse_networkd(&t, "/etc/systemd/network/10-x.network");
    let _ = n::parse_udev_rules(&t, "/etc/udev/rules.d/70-persistent-net.rules");
    let y = imgcheck_inspect::yaml::parse(&t);
    let mut c = imgcheck_inspect::agents::CloudInit::default();
    imgcheck_inspect::agents::apply_cloud_cfg(&mut c, &y, "/etc/cloud/cloud.cfg");
}

/// Package databases: dpkg `status`, an RPM header blob, an RPM SQLite database.
pub fn packages(data: &[u8]) {
    use imgcheck_inspect::packages as p;
    let t = text(data);
    let _ = p::parse_dpkg_status(&t);
    let _ = p::rpm_header(data);
    let _ = p::read_rpm_sqlite(data);
}

/// System configuration parsers: passwd/shadow root account, sshd_config, adjtime.
pub fn system(data: &[u8]) {
    use imgcheck_inspect::system as s;
    let t = text(data);
    let _ = s::parse_passwd(&t);
    let mut sshd = s::SshdFacts::default();
    s::parse_sshd(&t, "/etc/ssh/sshd_config", &mut sshd);
    let _ = s::adjtime_mode(&t);
}

/// LVM2: the bytes as one physical volume; scan, then read every logical volume.
///
/// Invariant: a readable LV yields a source of its size; reads on it follow [`container`]'s
/// rules (past the end fails, repeated reads agree).
pub fn lvm(data: &[u8]) {
    use imgcheck_volume::lvm;
    let src = mem(data);
    let _ = lvm::probe_pv(src.as_ref());
    let pvs = vec![("pv0".to_string(), src)];
    let scan = lvm::scan(&pvs, &fuzz_limits());
    for vg in &scan.vgs {
        for lv in vg.lvs.iter().take(16) {
            if let Ok(s) = vg.lv_source(&lv.name, &pvs) {
                assert_eq!(
                    s.len(),
                    lv.size_bytes,
                    "lvm: source of {}/{} is not the LV's size",
                    vg.name,
                    lv.name
                );
                check_reads(s.as_ref());
            }
        }
    }
}

/// md RAID: the bytes as a member (and as two members of the same array); assemble, then read
/// every readable array.
pub fn md(data: &[u8]) {
    use imgcheck_volume::md;
    let src = mem(data);
    let Ok(Some(m)) = md::probe(src.as_ref()) else {
        return;
    };
    let one: Vec<md::Member> = vec![("a".to_string(), src.clone(), m.clone())];
    let two: Vec<md::Member> = vec![
        ("a".to_string(), src.clone(), m.clone()),
        ("b".to_string(), src, m),
    ];
    for members in [&one, &two] {
        let (arrays, _anomalies) = md::assemble(members);
        for a in &arrays {
            if let Ok(s) = md::array_source(a, members) {
                if let Some(size) = a.size_bytes {
                    assert_eq!(s.len(), size, "md: array {} source is not its size", a.uuid);
                }
                check_reads(s.as_ref());
            }
        }
    }
}
