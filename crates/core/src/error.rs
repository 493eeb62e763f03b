//! Error classification shared by every layer, the read error of [`crate::BlockSource`], and
//! [`Anomaly`], the record of something wrong that did not stop the analysis.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The small set of error kinds every crate's error classifies into. The engine uses the kind
/// to decide between aborting, recording an anomaly and marking checks *Not evaluated*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The host could not read the image file.
    Io,
    /// The image's bytes contradict the format's rules.
    Corrupt,
    /// Valid, but a feature or format imgcheck does not read.
    Unsupported,
    /// A bound from [`crate::Limits`] was reached.
    LimitExceeded,
    /// Something referenced does not exist (a file in the guest, a backing file).
    NotFound,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Io => "i/o error",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::LimitExceeded => "limit exceeded",
            ErrorKind::NotFound => "not found",
        })
    }
}

/// The error of [`crate::BlockSource::read_exact_at`].
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The requested range does not lie inside the source.
    #[error("read of {len} bytes at offset {offset} is outside the source of {size} bytes")]
    OutOfBounds {
        /// First byte requested.
        offset: u64,
        /// Bytes requested.
        len: u64,
        /// Size of the source.
        size: u64,
    },
    /// The host's read failed.
    #[error("i/o error reading {len} bytes at offset {offset}")]
    Io {
        /// First byte requested.
        offset: u64,
        /// Bytes requested.
        len: u64,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A translated format (qcow2, VHD, …) met a problem in its own metadata while serving the read.
    #[error("{layer}: cannot serve read at virtual offset {offset}")]
    Format {
        /// The layer (format name) that failed, e.g. `qcow2`.
        layer: &'static str,
        /// Virtual offset of the read.
        offset: u64,
        /// Classification of the underlying error.
        kind: ErrorKind,
        /// The format's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ReadError {
    /// Classify this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReadError::OutOfBounds { .. } => ErrorKind::Corrupt,
            ReadError::Io { .. } => ErrorKind::Io,
            ReadError::Format { kind, .. } => *kind,
        }
    }
}

impl From<ReadError> for std::io::Error {
    fn from(e: ReadError) -> Self {
        let kind = match e.kind() {
            ErrorKind::Io => std::io::ErrorKind::Other,
            ErrorKind::NotFound => std::io::ErrorKind::NotFound,
            _ if matches!(e, ReadError::OutOfBounds { .. }) => std::io::ErrorKind::UnexpectedEof,
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, e)
    }
}

/// Something wrong found in an image that did not stop the analysis: a bad checksum, a backup
/// structure that disagrees, a partition that could not be opened. Shown in every report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Layer that found it: `qcow2`, `vhd`, `gpt`, `mbr`, `ext4`, …
    pub layer: String,
    /// The on-disk structure concerned, e.g. `footer`, `backup header`, `partition 2`.
    pub structure: String,
    /// Byte offset of that structure in the layer's address space, where known.
    pub offset: Option<u64>,
    /// Classification.
    pub kind: ErrorKind,
    /// Lowercase message without trailing period: what is wrong, expected vs actual.
    pub message: String,
}

impl Anomaly {
    /// A new anomaly.
    pub fn new(
        layer: impl Into<String>,
        structure: impl Into<String>,
        offset: Option<u64>,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Anomaly {
            layer: layer.into(),
            structure: structure.into(),
            offset,
            kind,
            message: message.into(),
        }
    }

    /// Build an anomaly from any error, keeping its whole source chain in the message.
    pub fn from_error(
        layer: impl Into<String>,
        structure: impl Into<String>,
        offset: Option<u64>,
        kind: ErrorKind,
        err: &(dyn std::error::Error + 'static),
    ) -> Self {
        Anomaly::new(layer, structure, offset, kind, error_chain(err))
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.layer, self.structure)?;
        if let Some(off) = self.offset {
            write!(f, " at offset {off}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Render an error and all its sources as `outer: inner: innermost`.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    let mut depth = 0u32;
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
        depth = depth.saturating_add(1);
        if depth > 32 {
            break;
        }
    }
    out
}
