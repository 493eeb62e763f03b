//! [`ContainerError`]: every way opening or reading a container can fail, each naming the format,
//! the structure and the offset.

use imgcheck_core::{ErrorKind, ReadError};
use std::path::PathBuf;

/// Errors of the container layer.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The image file itself could not be opened.
    #[error("cannot open image file {}", path.display())]
    Open {
        /// The path given.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Reading a structure failed (I/O error, or the structure lies past the end of the file).
    #[error("{format}: cannot read {structure} at offset {offset}")]
    Read {
        /// Format name.
        format: &'static str,
        /// The structure being read.
        structure: String,
        /// File offset of the structure.
        offset: u64,
        /// The read's error.
        #[source]
        source: ReadError,
    },
    /// A structure breaks the format's rules.
    #[error("{format}: {structure} at offset {offset}: {problem}")]
    Corrupt {
        /// Format name.
        format: &'static str,
        /// The structure concerned.
        structure: String,
        /// File offset of the structure.
        offset: u64,
        /// What is wrong: expected vs actual.
        problem: String,
    },
    /// A valid feature imgcheck does not read.
    #[error("{format}: {feature} is not supported")]
    Unsupported {
        /// Format name.
        format: &'static str,
        /// The feature, e.g. `AES encryption`, `unknown incompatible feature bits 0x20`.
        feature: String,
    },
    /// A size or count from the image exceeds a [`imgcheck_core::Limits`] bound.
    #[error(
        "{format}: {structure} at offset {offset}: {what} is {actual}, above the limit of {limit}"
    )]
    Limit {
        /// Format name.
        format: &'static str,
        /// The structure concerned.
        structure: String,
        /// File offset of the structure.
        offset: u64,
        /// The quantity, e.g. `L1 table size in bytes`.
        what: String,
        /// Its value.
        actual: u64,
        /// The limit.
        limit: u64,
    },
    /// A known image format that imgcheck does not decode (VDI, ISO 9660, LUKS, …).
    #[error("{name} recognised, but imgcheck cannot analyse it: {hint}")]
    UnsupportedFormat {
        /// What the file is.
        name: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// A backing file's header declares one format, its content shows another.
    #[error("{}: declared as {declared} by the image that refers to it, but detected as {detected}", path.display())]
    FormatMismatch {
        /// The backing file.
        path: PathBuf,
        /// Format the referring image declared.
        declared: String,
        /// Format detected by content.
        detected: &'static str,
    },
    /// A referenced file (backing file, parent, extent) was refused or could not be opened.
    #[error("{format}: {what} {reference:?}: {problem}")]
    Related {
        /// Format of the referring image.
        format: &'static str,
        /// `backing file`, `parent disk`, `extent`.
        what: &'static str,
        /// The reference as stored.
        reference: String,
        /// Why it was refused.
        problem: RelatedProblem,
    },
}

/// Why a referenced file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RelatedProblem {
    /// Outside the directory it is confined to.
    #[error("resolves outside the allowed directory {}", dir.display())]
    OutsideDir {
        /// The confinement directory.
        dir: PathBuf,
    },
    /// The chain comes back to a file already open in it.
    #[error("loop: {} is already in the chain", path.display())]
    Loop {
        /// The repeated file.
        path: PathBuf,
    },
    /// The chain is deeper than the limit.
    #[error("chain deeper than the limit of {limit}")]
    TooDeep {
        /// `Limits::max_backing_depth`.
        limit: u32,
    },
    /// The file does not exist or cannot be opened.
    #[error("cannot open {}", path.display())]
    Io {
        /// Resolved path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Opening the referenced image failed.
    #[error("cannot open it")]
    Open(#[source] Box<ContainerError>),
}

impl ContainerError {
    /// Classify for the engine.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ContainerError::Open { .. } => ErrorKind::Io,
            ContainerError::Read { source, .. } => match source.kind() {
                // A structure past the end of the file is a truncated image, not a host error.
                ErrorKind::Io => ErrorKind::Io,
                k => k,
            },
            ContainerError::Corrupt { .. } | ContainerError::FormatMismatch { .. } => {
                ErrorKind::Corrupt
            }
            ContainerError::Unsupported { .. } | ContainerError::UnsupportedFormat { .. } => {
                ErrorKind::Unsupported
            }
            ContainerError::Limit { .. } => ErrorKind::LimitExceeded,
            ContainerError::Related { problem, .. } => match problem {
                RelatedProblem::OutsideDir { .. } => ErrorKind::Unsupported,
                RelatedProblem::Loop { .. } => ErrorKind::Corrupt,
                RelatedProblem::TooDeep { .. } => ErrorKind::LimitExceeded,
                RelatedProblem::Io { source, .. } => {
                    if source.kind() == std::io::ErrorKind::NotFound {
                        ErrorKind::NotFound
                    } else {
                        ErrorKind::Io
                    }
                }
                RelatedProblem::Open(inner) => inner.kind(),
            },
        }
    }

    /// Wrap this error as the error of a virtual-disk read at `offset`.
    pub fn into_read_error(self, layer: &'static str, offset: u64) -> ReadError {
        ReadError::Format {
            layer,
            offset,
            kind: self.kind(),
            source: Box::new(self),
        }
    }

    /// Shorthand for [`ContainerError::Corrupt`].
    pub fn corrupt(
        format: &'static str,
        structure: impl Into<String>,
        offset: u64,
        problem: impl Into<String>,
    ) -> Self {
        ContainerError::Corrupt {
            format,
            structure: structure.into(),
            offset,
            problem: problem.into(),
        }
    }

    /// Shorthand for [`ContainerError::Read`].
    pub fn read(
        format: &'static str,
        structure: impl Into<String>,
        offset: u64,
        source: ReadError,
    ) -> Self {
        ContainerError::Read {
            format,
            structure: structure.into(),
            offset,
            source,
        }
    }
}
