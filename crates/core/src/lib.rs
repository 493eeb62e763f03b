//! # imgcheck-core
//!
//! The bottom of imgcheck's pipeline: everything above reads image bytes through the types here.
//!
//! - [`BlockSource`]: a read-only, positional (`&self`), `Send + Sync` byte source. Files are
//!   opened read-only ([`FileSource`]); no type in the workspace can write to an image.
//! - [`SliceSource`]: a bounds-checked window on a parent source (a partition, an LV).
//! - [`CachedSource`]: a sharded page cache in front of any source.
//! - [`SourceReader`]: a `Read + Seek` cursor for third-party crates that need one.
//! - [`Limits`]: every bound on allocations and loops derived from image bytes.
//! - [`ErrorKind`], [`ReadError`], [`Anomaly`]: how errors are classified and reported.
//! - [`bytes`]: the one bounds-checked way to read on-disk integers.
//! - [`stats`]: process-wide read counters per layer and the peak resident set (`--stats`).
//!
//! ```
//! use imgcheck_core::{BlockSource, MemSource, SliceSource};
//! use std::sync::Arc;
//!
//! let disk: Arc<dyn BlockSource> = Arc::new(MemSource::new(vec![7u8; 4096]));
//! let part = SliceSource::new(disk, 1024, 512).unwrap();
//! let mut buf = [0u8; 16];
//! part.read_exact_at(&mut buf, 0).unwrap();
//! assert_eq!(buf, [7u8; 16]);
//! assert!(part.read_exact_at(&mut buf, 500).is_err()); // past the slice's end
//! ```

pub mod bytes;
mod cache;
mod cursor;
mod error;
mod limits;
mod source;
pub mod stats;

pub use cache::{CacheStats, CachedSource, PAGE_SIZE as CACHE_PAGE_SIZE};
pub use cursor::SourceReader;
pub use error::{error_chain, Anomaly, ErrorKind, ReadError};
pub use limits::Limits;
pub use source::{
    check_range, extent_room, BlockSource, Extent, FileSource, MemSource, SliceSource, ZeroSource,
};
