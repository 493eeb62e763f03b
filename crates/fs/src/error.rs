//! [`FsError`]: every way probing, opening or reading a guest filesystem can fail, each naming the
//! filesystem, the guest path and, where relevant, the inode/record number or byte offset.

use imgcheck_core::{ErrorKind, ReadError};
use serde::ser::SerializeStruct;

/// The error type of the filesystem layer.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// Reading a structure from the volume failed.
    #[error("{fs}: cannot read {structure} at offset {offset}")]
    Read {
        /// Filesystem name (`ext4`, `fat32`, `ntfs`, `probe`, …).
        fs: &'static str,
        /// The structure being read.
        structure: String,
        /// Byte offset in the volume.
        offset: u64,
        /// The read's error.
        #[source]
        source: ReadError,
    },
    /// No filesystem (or opaque volume) signature was recognised.
    #[error("no known filesystem signature on this volume of {size} bytes")]
    Unrecognised {
        /// Volume size.
        size: u64,
    },
    /// The path does not exist.
    #[error("{fs}: {path}: no such file or directory")]
    NotFound {
        /// Filesystem name.
        fs: &'static str,
        /// Guest path.
        path: String,
    },
    /// A path component that must be a directory is not one.
    #[error("{fs}: {path}: not a directory")]
    NotADirectory {
        /// Filesystem name.
        fs: &'static str,
        /// Guest path of the component.
        path: String,
    },
    /// A file operation was attempted on a directory.
    #[error("{fs}: {path}: is a directory")]
    IsADirectory {
        /// Filesystem name.
        fs: &'static str,
        /// Guest path.
        path: String,
    },
    /// `read_link` on something that is not a symlink, or `read` on a symlink or special file.
    #[error("{fs}: {path}: is a {actual}, expected a {expected}")]
    WrongType {
        /// Filesystem name.
        fs: &'static str,
        /// Guest path.
        path: String,
        /// What the operation needs.
        expected: &'static str,
        /// What the path is.
        actual: &'static str,
    },
    /// An intermediate path component is a symlink (or NTFS reparse point); this layer does not
    /// follow symlinks, the guest view resolves them and retries with the resolved path.
    #[error("{fs}: {path}: component {component} is a symlink; resolve it first")]
    SymlinkInPath {
        /// Filesystem name.
        fs: &'static str,
        /// The full guest path asked for.
        path: String,
        /// The prefix of `path` that is a symlink.
        component: String,
    },
    /// The path is not an absolute, normalised guest path.
    #[error("invalid guest path {path:?}: {reason}")]
    InvalidPath {
        /// The path given.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A structure breaks the filesystem's rules.
    #[error("{fs}: {structure}: {problem}")]
    Corrupt {
        /// Filesystem name.
        fs: &'static str,
        /// The structure, with its path/inode/offset, e.g. `inode 12 of /etc`.
        structure: String,
        /// What is wrong: expected vs actual.
        problem: String,
    },
    /// A valid feature this layer does not read.
    #[error("{fs}: {path}: {feature} is not supported")]
    Unsupported {
        /// Filesystem name.
        fs: &'static str,
        /// Guest path (or `/` for a volume-wide feature).
        path: String,
        /// The feature.
        feature: String,
    },
    /// A size or count exceeds a [`imgcheck_core::Limits`] bound.
    #[error("{fs}: {path}: {what} is {actual}, above the limit of {limit}")]
    Limit {
        /// Filesystem name.
        fs: &'static str,
        /// Guest path.
        path: String,
        /// The quantity, e.g. `directory entries`.
        what: &'static str,
        /// Its value (at least).
        actual: u64,
        /// The limit.
        limit: u64,
    },
    /// The wrapped third-party reader failed.
    #[error("{fs}: {path}: {operation} failed")]
    Backend {
        /// Filesystem name.
        fs: &'static str,
        /// Guest path.
        path: String,
        /// What was being done, e.g. `opening the volume`, `reading the directory`.
        operation: &'static str,
        /// Classification.
        kind: ErrorKind,
        /// The crate's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The wrapped third-party reader panicked on this volume's bytes (caught and contained).
    #[error("{fs}: {path}: the reader panicked while {operation}: {message}")]
    Panicked {
        /// Filesystem name.
        fs: &'static str,
        /// Guest path.
        path: String,
        /// What was being done.
        operation: &'static str,
        /// The panic's message.
        message: String,
    },
}

impl FsError {
    /// Classify this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FsError::Read { source, .. } => source.kind(),
            FsError::Unrecognised { .. } => ErrorKind::Unsupported,
            FsError::NotFound { .. } | FsError::NotADirectory { .. } => ErrorKind::NotFound,
            FsError::IsADirectory { .. }
            | FsError::WrongType { .. }
            | FsError::SymlinkInPath { .. }
            | FsError::InvalidPath { .. }
            | FsError::Unsupported { .. } => ErrorKind::Unsupported,
            FsError::Corrupt { .. } | FsError::Panicked { .. } => ErrorKind::Corrupt,
            FsError::Limit { .. } => ErrorKind::LimitExceeded,
            FsError::Backend { kind, .. } => *kind,
        }
    }
}

/// Serialised as `{ "kind": …, "message": … }` with the whole source chain in the message.
impl serde::Serialize for FsError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("FsError", 2)?;
        st.serialize_field("kind", &self.kind())?;
        st.serialize_field("message", &error_chain(self))?;
        st.end()
    }
}

/// Render an error and its sources as `outer: inner: innermost` (at most 32 levels).
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    for _ in 0..32 {
        let Some(e) = cur else { break };
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_messages() {
        let e = FsError::NotFound {
            fs: "ext4",
            path: "/etc/fstab".into(),
        };
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.to_string(), "ext4: /etc/fstab: no such file or directory");
        let e = FsError::Limit {
            fs: "fat32",
            path: "/big".into(),
            what: "directory entries",
            actual: 11,
            limit: 10,
        };
        assert_eq!(e.kind(), ErrorKind::LimitExceeded);
        assert_eq!(
            e.to_string(),
            "fat32: /big: directory entries is 11, above the limit of 10"
        );
        let e = FsError::Read {
            fs: "ntfs",
            structure: "boot sector".into(),
            offset: 0,
            source: ReadError::OutOfBounds {
                offset: 0,
                len: 512,
                size: 100,
            },
        };
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            "{\"kind\":\"corrupt\",\"message\":\"ntfs: cannot read boot sector at offset 0: \
             read of 512 bytes at offset 0 is outside the source of 100 bytes\"}"
        );
    }
}
