//! Process-wide I/O counters behind `imgcheck --stats`: how many read calls and bytes each layer
//! asked of the layer below, how the filesystems' page caches fared, and the peak resident set.
//!
//! The counters are plain relaxed atomics, always on (one `fetch_add` pair per read call, far
//! below the cost of the read itself). They are process-wide, so figures are exact for a command
//! that analyses one image (`check`, `inspect`) and are totals over all images for `scan`.
//!
//! Layers, from the bottom:
//! - [`IMAGE_FILES`]: reads from image files on the host ([`crate::FileSource`]), including
//!   backing files and extents the user allowed.
//! - [`VIRTUAL_DISK`]: reads of the decoded virtual disk (partition tables, md and LVM metadata,
//!   and every filesystem page-cache miss).
//! - [`FILESYSTEMS`]: reads the filesystem readers made through their page caches, with the
//!   caches' hits and misses in [`FS_CACHE`].

use crate::{BlockSource, ReadError};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Read calls and bytes of one layer.
#[derive(Debug, Default)]
pub struct IoCounter {
    calls: AtomicU64,
    bytes: AtomicU64,
}

impl IoCounter {
    /// A zeroed counter (usable in a `static`).
    pub const fn new() -> IoCounter {
        IoCounter {
            calls: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Count one read call of `len` bytes.
    pub fn record(&self, len: usize) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.bytes
            .fetch_add(u64::try_from(len).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The current figures.
    pub fn get(&self) -> IoCount {
        IoCount {
            calls: self.calls.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

/// Hits and misses of a group of page caches.
#[derive(Debug, Default)]
pub struct CacheCounter {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheCounter {
    /// A zeroed counter (usable in a `static`).
    pub const fn new() -> CacheCounter {
        CacheCounter {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Count a page found in the cache.
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a page read from below.
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// The current figures.
    pub fn get(&self) -> CacheCount {
        CacheCount {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// Reads from image files on the host.
pub static IMAGE_FILES: IoCounter = IoCounter::new();
/// Reads of decoded virtual disks.
pub static VIRTUAL_DISK: IoCounter = IoCounter::new();
/// Reads filesystem readers made through their page caches.
pub static FILESYSTEMS: IoCounter = IoCounter::new();
/// The filesystems' page caches (pages of [`crate::CACHE_PAGE_SIZE`] bytes).
pub static FS_CACHE: CacheCounter = CacheCounter::new();

/// Calls and bytes at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IoCount {
    /// Read calls.
    pub calls: u64,
    /// Bytes asked for.
    pub bytes: u64,
}

impl IoCount {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: IoCount) -> IoCount {
        IoCount {
            calls: self.calls.saturating_sub(earlier.calls),
            bytes: self.bytes.saturating_sub(earlier.bytes),
        }
    }
}

/// Cache hits and misses at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheCount {
    /// Pages found in a cache.
    pub hits: u64,
    /// Pages read from below.
    pub misses: u64,
}

impl CacheCount {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: CacheCount) -> CacheCount {
        CacheCount {
            hits: self.hits.saturating_sub(earlier.hits),
            misses: self.misses.saturating_sub(earlier.misses),
        }
    }
}

/// All counters at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IoSnapshot {
    /// [`IMAGE_FILES`].
    pub image_files: IoCount,
    /// [`VIRTUAL_DISK`].
    pub virtual_disk: IoCount,
    /// [`FILESYSTEMS`].
    pub filesystems: IoCount,
    /// [`FS_CACHE`].
    pub fs_cache: CacheCount,
}

impl IoSnapshot {
    /// Read every counter now.
    pub fn now() -> IoSnapshot {
        IoSnapshot {
            image_files: IMAGE_FILES.get(),
            virtual_disk: VIRTUAL_DISK.get(),
            filesystems: FILESYSTEMS.get(),
            fs_cache: FS_CACHE.get(),
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: IoSnapshot) -> IoSnapshot {
        IoSnapshot {
            image_files: self.image_files.since(earlier.image_files),
            virtual_disk: self.virtual_disk.since(earlier.virtual_disk),
            filesystems: self.filesystems.since(earlier.filesystems),
            fs_cache: self.fs_cache.since(earlier.fs_cache),
        }
    }
}

/// The process's peak resident set in bytes (`VmHWM` of `/proc/self/status`), where the host
/// reports it (Linux); `None` elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let kib = l.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim();
        kib.parse::<u64>().ok()?.checked_mul(1024)
    })
}

/// A source that counts every read into a static [`IoCounter`] before passing it on.
pub struct Counted<S: BlockSource> {
    inner: S,
    counter: &'static IoCounter,
}

impl<S: BlockSource> Counted<S> {
    /// Count reads of `inner` into `counter`.
    pub fn new(inner: S, counter: &'static IoCounter) -> Counted<S> {
        Counted { inner, counter }
    }
}

impl<S: BlockSource> BlockSource for Counted<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn allocated_bytes(&self) -> Option<u64> {
        self.inner.allocated_bytes()
    }

    fn extent(&self, offset: u64, max: u64) -> Option<crate::source::Extent> {
        self.inner.extent(offset, max)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        self.counter.record(buf.len());
        self.inner.read_exact_at(buf, offset)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::MemSource;

    #[test]
    fn counted_reads_add_up() {
        static C: IoCounter = IoCounter::new();
        let s = Counted::new(MemSource::new(vec![1u8; 100]), &C);
        let before = C.get();
        let mut b = [0u8; 10];
        s.read_exact_at(&mut b, 0).unwrap();
        s.read_exact_at(&mut b, 50).unwrap();
        assert_eq!(
            C.get().since(before),
            IoCount {
                calls: 2,
                bytes: 20
            }
        );
        assert_eq!(s.len(), 100);
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = peak_rss_bytes().unwrap();
            assert!(rss > 1 << 20, "a test process uses more than 1 MiB: {rss}");
        }
    }
}
