//! # imgcheck-container
//!
//! Opens a virtual-machine disk image read-only and presents its *virtual disk* — the bytes a
//! guest would see — as one [`BlockSource`]. Formats are detected by content, never by file name,
//! through an explicit ordered registry ([`REGISTRY`]): qcow2, VHDX, VMDK, VHD, then the
//! recognised-but-unsupported formats, and raw last.
//!
//! Each format module opens with its specification source and says why it is our own code rather
//! than a crate (see ../../shared/dependencies.md in the project history: the crates measured
//! either lacked features we need — zstd, extended L2, differencing disks — or were async-only,
//! path-based or panicked on valid images).
//!
//! Files an image refers to (qcow2 backing files, VHD/VHDX parents, VMDK extents) are resolved
//! by [`OpenContext`]: backing chains only with [`OpenOptions::follow_backing`], depth-limited and
//! confined to a directory; VMDK extents only inside the descriptor's directory.
//!
//! ```no_run
//! use imgcheck_container::{open, OpenOptions};
//! let disk = open(std::path::Path::new("disk.qcow2"), &OpenOptions::default())?;
//! println!("{} {} bytes", disk.facts.format, disk.facts.virtual_size);
//! let mut sector = [0u8; 512];
//! disk.source().read_exact_at(&mut sector, 0)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod context;
mod error;
mod facts;
mod qcow2;
mod raw;
mod unsupported;
mod util;
mod vhd;
mod vhdx;
mod vmdk;

pub use context::{OpenContext, OpenOptions};
pub use error::ContainerError;
pub use facts::{BackingRef, Format, ImageFacts};
pub use imgcheck_core::BlockSource;

use imgcheck_core::{Anomaly, FileSource, ReadError};
use std::path::Path;
use std::sync::Arc;

/// Bytes read from the start of a file for probing.
pub const PROBE_HEAD_BYTES: usize = 64 * 1024;
/// Bytes read from the end of a file for probing (a VHD footer is the last 512 bytes).
pub const PROBE_TAIL_BYTES: usize = 512;

/// What a format's `probe` sees: the first and last bytes of the file.
#[derive(Debug)]
pub struct Probe<'a> {
    /// Up to [`PROBE_HEAD_BYTES`] from offset 0.
    pub head: &'a [u8],
    /// Up to [`PROBE_TAIL_BYTES`] ending at the end of the file.
    pub tail: &'a [u8],
    /// File size in bytes.
    pub file_len: u64,
    /// Bytes the host filesystem allocated for the file, when it is a host file.
    pub host_allocated: Option<u64>,
}

/// One entry of the format registry.
pub trait FormatReader: Sync {
    /// Short name used in errors and reports (`qcow2`, `vhd`, …).
    fn name(&self) -> &'static str;
    /// A cheap test on bytes already read. Must not panic on any input.
    fn probe(&self, probe: &Probe<'_>) -> bool;
    /// Open the image whose file is `file`. Called only when `probe` said yes.
    fn open(
        &self,
        file: Arc<dyn BlockSource>,
        probe: &Probe<'_>,
        ctx: &OpenContext,
    ) -> Result<VirtualDisk, ContainerError>;
}

/// The format registry, in probe order. Raw is last and accepts anything.
pub static REGISTRY: &[&dyn FormatReader] = &[
    &qcow2::Qcow2Format,
    &vhdx::VhdxFormat,
    &vmdk::VmdkFormat,
    &vhd::VhdFormat,
    &unsupported::UnsupportedFormats,
    &raw::RawFormat,
];

/// An opened image: facts about the container, anomalies found, and the decoded virtual disk.
pub struct VirtualDisk {
    /// What the container says about itself.
    pub facts: ImageFacts,
    /// Problems that did not prevent reading (bad footer copy, dirty log, backing not followed…).
    pub anomalies: Vec<Anomaly>,
    source: Arc<dyn BlockSource>,
}

impl std::fmt::Debug for VirtualDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualDisk")
            .field("facts", &self.facts)
            .field("anomalies", &self.anomalies)
            .finish_non_exhaustive()
    }
}

impl VirtualDisk {
    /// Assemble a disk (used by the format modules).
    pub fn new(facts: ImageFacts, anomalies: Vec<Anomaly>, source: Arc<dyn BlockSource>) -> Self {
        VirtualDisk {
            facts,
            anomalies,
            source,
        }
    }

    /// The same disk with its reads counted in [`imgcheck_core::stats::VIRTUAL_DISK`] (done once,
    /// for the top-level disk the caller opened; backing files are not counted twice).
    fn counted(mut self) -> Self {
        self.source = Arc::new(imgcheck_core::stats::Counted::new(
            self.source,
            &imgcheck_core::stats::VIRTUAL_DISK,
        ));
        self
    }

    /// The virtual disk's bytes.
    pub fn source(&self) -> Arc<dyn BlockSource> {
        self.source.clone()
    }
}

/// Open the image at `path` read-only and decode its container.
pub fn open(path: &Path, opts: &OpenOptions) -> Result<VirtualDisk, ContainerError> {
    let ctx = OpenContext::root(path, opts)?;
    open_with_context(&ctx, None).map(VirtualDisk::counted)
}

/// Open the file named by `ctx`, optionally requiring a format (a backing file's declared format).
pub(crate) fn open_with_context(
    ctx: &OpenContext,
    required: Option<&str>,
) -> Result<VirtualDisk, ContainerError> {
    let path = ctx.path().to_path_buf();
    let file = FileSource::open(&path).map_err(|source| ContainerError::Open {
        path: path.clone(),
        source,
    })?;
    let host_allocated = file.host_allocated_bytes();
    open_source_inner(Arc::new(file), host_allocated, ctx, required)
}

/// Decode a container held in any byte source (in-memory images, fuzzing). References to other
/// files are resolved relative to `ctx` (use [`OpenContext::detached`] to allow none).
pub fn open_source(
    file: Arc<dyn BlockSource>,
    ctx: &OpenContext,
) -> Result<VirtualDisk, ContainerError> {
    open_source_inner(file, None, ctx, None).map(VirtualDisk::counted)
}

fn open_source_inner(
    file: Arc<dyn BlockSource>,
    host_allocated: Option<u64>,
    ctx: &OpenContext,
    required: Option<&str>,
) -> Result<VirtualDisk, ContainerError> {
    let len = file.len();
    let head_len =
        usize::try_from(len.min(u64::try_from(PROBE_HEAD_BYTES).unwrap_or(u64::MAX))).unwrap_or(0);
    let mut head = vec![0u8; head_len];
    file.read_exact_at(&mut head, 0)
        .map_err(|source| read_err("probe", "file head", 0, source))?;
    let tail_len = len.min(u64::try_from(PROBE_TAIL_BYTES).unwrap_or(512));
    let tail_off = len.saturating_sub(tail_len);
    let mut tail = vec![0u8; usize::try_from(tail_len).unwrap_or(0)];
    file.read_exact_at(&mut tail, tail_off)
        .map_err(|source| read_err("probe", "file tail", tail_off, source))?;
    let probe = Probe {
        head: &head,
        tail: &tail,
        file_len: len,
        host_allocated,
    };
    for fmt in REGISTRY {
        if fmt.probe(&probe) {
            if let Some(want) = required {
                if !format_name_matches(want, fmt.name()) {
                    return Err(ContainerError::FormatMismatch {
                        path: ctx.path().to_path_buf(),
                        declared: want.to_string(),
                        detected: fmt.name(),
                    });
                }
            }
            return fmt.open(file, &probe, ctx);
        }
    }
    // Unreachable in practice: raw accepts everything.
    Err(ContainerError::Unsupported {
        format: "probe",
        feature: "unrecognised image".to_string(),
    })
}

/// Backing-format names as qemu writes them (`vpc` for VHD, `file`/`raw` for raw).
fn format_name_matches(declared: &str, detected: &str) -> bool {
    let d = declared.to_ascii_lowercase();
    d == detected || (d == "vpc" && detected == "vhd") || (d == "file" && detected == "raw")
}

fn read_err(
    format: &'static str,
    structure: &str,
    offset: u64,
    source: ReadError,
) -> ContainerError {
    ContainerError::Read {
        format,
        structure: structure.to_string(),
        offset,
        source,
    }
}
