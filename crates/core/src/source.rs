//! [`BlockSource`] and its basic implementations.

use crate::error::ReadError;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// A read-only, random-access byte source: an image file, a decoded virtual disk, a partition.
///
/// Reads are positional and take `&self`, so one source is shared by many threads. Sparse formats
/// read unallocated regions as zeros. There is deliberately no way to write.
pub trait BlockSource: Send + Sync {
    /// Size in bytes.
    fn len(&self) -> u64;

    /// True when the source holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fill `buf` from `offset`. Fails when any part of the range lies outside `0..len()`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError>;

    /// Allocated bytes of this source (for sparse formats, bytes backed by data), if known.
    fn allocated_bytes(&self) -> Option<u64> {
        None
    }

    /// What the source knows, without reading them, about the bytes from `offset` on: a run of
    /// at least 1 and at most `max` bytes (never past [`BlockSource::len`]) that reads as zeros
    /// because nothing is stored for it ([`Extent::Zero`]: a hole, an unallocated or zero
    /// cluster), or that is stored and has to be read ([`Extent::Data`]). `None` when the source
    /// cannot tell, or `offset` is out of range: read the bytes.
    ///
    /// Used by whole-disk copies (`export`) to skip what qemu-img skips. Callers must treat a
    /// returned length of 0 or past the end as `None`; a wrong `Zero` would corrupt an export,
    /// so implementations answer `Zero` only when the format says so.
    fn extent(&self, offset: u64, max: u64) -> Option<Extent> {
        let _ = (offset, max);
        None
    }
}

/// A run of a source's bytes, as [`BlockSource::extent`] describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// This many bytes read as zeros and need not be read.
    Zero(u64),
    /// This many bytes are stored (they may still happen to be zeros).
    Data(u64),
}

impl Extent {
    /// The run's length in bytes.
    pub fn len(self) -> u64 {
        match self {
            Extent::Zero(n) | Extent::Data(n) => n,
        }
    }

    /// True for an empty run (which callers treat as "unknown").
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// A run of `n` bytes that read as zeros (`zero`) or are stored; `None` when the kind is
    /// unknown or the run is empty — the end of a walk over clusters, blocks or grains.
    pub fn of_run(zero: Option<bool>, n: u64) -> Option<Extent> {
        match zero? {
            _ if n == 0 => None,
            true => Some(Extent::Zero(n)),
            false => Some(Extent::Data(n)),
        }
    }

    /// The same kind of run, `n` bytes long.
    pub fn with_len(self, n: u64) -> Extent {
        match self {
            Extent::Zero(_) => Extent::Zero(n),
            Extent::Data(_) => Extent::Data(n),
        }
    }
}

/// The bytes `offset..offset+max` clamped to a source of `len` bytes: the usable run length, or
/// `None` when `offset` is out of range or `max` is 0.
pub fn extent_room(offset: u64, max: u64, len: u64) -> Option<u64> {
    let room = len.checked_sub(offset)?.min(max);
    (room > 0).then_some(room)
}

impl<T: BlockSource + ?Sized> BlockSource for Arc<T> {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        (**self).read_exact_at(buf, offset)
    }
    fn allocated_bytes(&self) -> Option<u64> {
        (**self).allocated_bytes()
    }
    fn extent(&self, offset: u64, max: u64) -> Option<Extent> {
        (**self).extent(offset, max)
    }
}

impl<T: BlockSource + ?Sized> BlockSource for Box<T> {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        (**self).read_exact_at(buf, offset)
    }
    fn allocated_bytes(&self) -> Option<u64> {
        (**self).allocated_bytes()
    }
    fn extent(&self, offset: u64, max: u64) -> Option<Extent> {
        (**self).extent(offset, max)
    }
}

/// Check that `len` bytes at `offset` lie inside a source of `size` bytes: the bounds check
/// every [`BlockSource::read_exact_at`] starts with.
pub fn check_range(offset: u64, len: usize, size: u64) -> Result<(), ReadError> {
    let len64 = u64::try_from(len).unwrap_or(u64::MAX);
    match offset.checked_add(len64) {
        Some(end) if end <= size => Ok(()),
        _ => Err(ReadError::OutOfBounds {
            offset,
            len: len64,
            size,
        }),
    }
}

/// A file on the host, opened read-only. Its size is taken once at open.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    /// Open `path` read-only.
    pub fn open(path: &Path) -> std::io::Result<FileSource> {
        let file = std::fs::OpenOptions::new().read(true).open(path)?;
        FileSource::from_file(file)
    }

    /// Wrap an already opened file (it should have been opened read-only).
    pub fn from_file(file: File) -> std::io::Result<FileSource> {
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        }
        Ok(FileSource {
            len: meta.len(),
            file,
        })
    }

    /// Bytes the host filesystem has allocated for the file (sparse files use fewer), if known.
    pub fn host_allocated_bytes(&self) -> Option<u64> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = self.file.metadata().ok()?;
            meta.blocks().checked_mul(512)
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

impl BlockSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    /// Holes of a sparse host file, from `lseek(SEEK_DATA / SEEK_HOLE)` (Linux); the file
    /// position is not used by reads, which are positional.
    fn extent(&self, offset: u64, max: u64) -> Option<Extent> {
        let room = extent_room(offset, max, self.len)?;
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{seek, SeekFrom};
            let data = match seek(&self.file, SeekFrom::Data(offset)) {
                Ok(d) => d,
                // No data at or after `offset`: the rest of the file is a hole.
                Err(rustix::io::Errno::NXIO) => return Some(Extent::Zero(room)),
                Err(_) => return None,
            };
            if data > offset {
                return Some(Extent::Zero(data.saturating_sub(offset).min(room)));
            }
            let hole = seek(&self.file, SeekFrom::Hole(offset)).ok()?;
            let n = hole.saturating_sub(offset).min(room);
            (n > 0).then_some(Extent::Data(n))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = room;
            None
        }
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        check_range(offset, buf.len(), self.len)?;
        crate::stats::IMAGE_FILES.record(buf.len());
        let n = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let io = |source| ReadError::Io {
            offset,
            len: n,
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file.read_exact_at(buf, offset).map_err(io)
        }
        #[cfg(windows)]
        {
            use std::os::windows::fs::FileExt;
            let mut done = 0usize;
            while done < buf.len() {
                let rest = buf.get_mut(done..).unwrap_or_default();
                let pos = offset.saturating_add(u64::try_from(done).unwrap_or(u64::MAX));
                match self.file.seek_read(rest, pos) {
                    Ok(0) => {
                        return Err(io(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)))
                    }
                    Ok(n) => done = done.saturating_add(n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io(e)),
                }
            }
            Ok(())
        }
    }
}

/// Bytes in memory: tests, decompressed data, synthesised images.
#[derive(Debug, Clone)]
pub struct MemSource {
    data: Arc<[u8]>,
}

impl MemSource {
    /// A source over `data`.
    pub fn new(data: impl Into<Arc<[u8]>>) -> MemSource {
        MemSource { data: data.into() }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

impl BlockSource for MemSource {
    fn len(&self) -> u64 {
        u64::try_from(self.data.len()).unwrap_or(u64::MAX)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        check_range(offset, buf.len(), self.len())?;
        let start = usize::try_from(offset).map_err(|_| ReadError::OutOfBounds {
            offset,
            len: 0,
            size: self.len(),
        })?;
        let end = start.saturating_add(buf.len());
        match self.data.get(start..end) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(ReadError::OutOfBounds {
                offset,
                len: u64::try_from(buf.len()).unwrap_or(u64::MAX),
                size: self.len(),
            }),
        }
    }
}

/// A source of `len` zero bytes: stands in for a missing backing file that was not followed.
#[derive(Debug, Clone, Copy)]
pub struct ZeroSource {
    len: u64,
}

impl ZeroSource {
    /// `len` zero bytes.
    pub fn new(len: u64) -> ZeroSource {
        ZeroSource { len }
    }
}

impl BlockSource for ZeroSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        check_range(offset, buf.len(), self.len)?;
        buf.fill(0);
        Ok(())
    }
    fn allocated_bytes(&self) -> Option<u64> {
        Some(0)
    }
    fn extent(&self, offset: u64, max: u64) -> Option<Extent> {
        extent_room(offset, max, self.len).map(Extent::Zero)
    }
}

/// A window `start..start+len` on a parent source (a partition, a logical volume).
#[derive(Clone)]
pub struct SliceSource {
    parent: Arc<dyn BlockSource>,
    start: u64,
    len: u64,
}

impl std::fmt::Debug for SliceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SliceSource")
            .field("start", &self.start)
            .field("len", &self.len)
            .finish()
    }
}

impl SliceSource {
    /// A window on `parent`; fails when the window does not lie inside it.
    pub fn new(
        parent: Arc<dyn BlockSource>,
        start: u64,
        len: u64,
    ) -> Result<SliceSource, ReadError> {
        let size = parent.len();
        match start.checked_add(len) {
            Some(end) if end <= size => Ok(SliceSource { parent, start, len }),
            _ => Err(ReadError::OutOfBounds {
                offset: start,
                len,
                size,
            }),
        }
    }

    /// Start of the window in the parent.
    pub fn start(&self) -> u64 {
        self.start
    }
}

impl BlockSource for SliceSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        check_range(offset, buf.len(), self.len)?;
        // Cannot overflow: start + len <= parent.len() was checked at construction.
        let abs = self.start.saturating_add(offset);
        self.parent.read_exact_at(buf, abs)
    }

    fn extent(&self, offset: u64, max: u64) -> Option<Extent> {
        let room = extent_room(offset, max, self.len)?;
        let e = self.parent.extent(self.start.checked_add(offset)?, room)?;
        (!e.is_empty()).then(|| e.with_len(e.len().min(room)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn mem_bounds() {
        let m = MemSource::new(vec![1u8, 2, 3, 4]);
        let mut b = [0u8; 2];
        m.read_exact_at(&mut b, 2).unwrap();
        assert_eq!(b, [3, 4]);
        assert!(m.read_exact_at(&mut b, 3).is_err());
        assert!(m.read_exact_at(&mut b, u64::MAX).is_err());
    }

    #[test]
    fn slice_bounds_and_nesting() {
        let m: Arc<dyn BlockSource> = Arc::new(MemSource::new((0u8..=99).collect::<Vec<_>>()));
        assert!(SliceSource::new(m.clone(), 90, 11).is_err());
        assert!(SliceSource::new(m.clone(), u64::MAX, 2).is_err());
        let s: Arc<dyn BlockSource> = Arc::new(SliceSource::new(m, 10, 50).unwrap());
        let s2 = SliceSource::new(s, 5, 10).unwrap();
        let mut b = [0u8; 3];
        s2.read_exact_at(&mut b, 7).unwrap();
        assert_eq!(b, [22, 23, 24]);
        let err = s2.read_exact_at(&mut b, 8).unwrap_err();
        assert_eq!(
            err.to_string(),
            "read of 3 bytes at offset 8 is outside the source of 10 bytes"
        );
    }

    #[test]
    fn file_source_reads_and_never_writes() {
        let dir = std::env::temp_dir().join(format!("imgcheck-core-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        std::fs::write(&p, b"hello world").unwrap();
        let f = FileSource::open(&p).unwrap();
        assert_eq!(f.len(), 11);
        let mut b = [0u8; 5];
        f.read_exact_at(&mut b, 6).unwrap();
        assert_eq!(&b, b"world");
        assert!(f.read_exact_at(&mut b, 7).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
