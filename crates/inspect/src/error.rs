//! [`InspectError`].

use imgcheck_core::ErrorKind;
use imgcheck_fs::FsError;

/// Errors of guest inspection.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// A filesystem call failed.
    #[error("{path} (volume {volume})")]
    Fs {
        /// Guest path.
        path: String,
        /// Volume id.
        volume: String,
        /// The filesystem's error (boxed: it is large and errors are the cold path).
        #[source]
        source: Box<FsError>,
    },
    /// No filesystem is mounted at `/`.
    #[error("no root filesystem in the guest view")]
    NoRoot,
    /// A path component that must be a directory is not one.
    #[error("{path}: not a directory")]
    NotADirectory {
        /// The component's guest path.
        path: String,
    },
    /// Too many symlinks while resolving.
    #[error("{path}: more than {limit} symlinks followed (loop?)")]
    SymlinkLoop {
        /// The path asked for.
        path: String,
        /// The limit.
        limit: u32,
    },
}

impl InspectError {
    pub(crate) fn fs(path: &str, volume: &str, source: FsError) -> InspectError {
        InspectError::Fs {
            path: path.to_string(),
            volume: volume.to_string(),
            source: Box::new(source),
        }
    }

    /// Classify.
    pub fn kind(&self) -> ErrorKind {
        match self {
            InspectError::Fs { source, .. } => source.kind(),
            InspectError::NoRoot => ErrorKind::NotFound,
            InspectError::NotADirectory { .. } => ErrorKind::NotFound,
            InspectError::SymlinkLoop { .. } => ErrorKind::LimitExceeded,
        }
    }
}
