//! [`VolumeError`]: every way reading a partition table can fail, each naming the layer (`gpt`,
//! `mbr`), the structure and its byte offset on the disk.

use imgcheck_core::{Anomaly, ErrorKind, ReadError};

/// Errors of the volume layer.
///
/// Most problems in a partition table become [`Anomaly`] records on a
/// [`crate::PartitionTable`] instead; an error is returned only when no table can be listed at
/// all (both GPT headers unusable behind a protective MBR, or the disk cannot be read).
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// Reading a structure failed (I/O error, or the structure lies past the end of the disk).
    #[error("{layer}: cannot read {structure} at offset {offset}")]
    Read {
        /// `gpt` or `mbr`.
        layer: &'static str,
        /// The structure being read.
        structure: String,
        /// Byte offset of the structure on the disk.
        offset: u64,
        /// The read's error.
        #[source]
        source: ReadError,
    },
    /// A structure breaks the format's rules.
    #[error("{layer}: {structure} at offset {offset}: {problem}")]
    Corrupt {
        /// `gpt` or `mbr`.
        layer: &'static str,
        /// The structure concerned.
        structure: String,
        /// Byte offset of the structure on the disk.
        offset: u64,
        /// What is wrong: expected vs actual.
        problem: String,
    },
    /// A count or size from the disk exceeds a [`imgcheck_core::Limits`] bound.
    #[error(
        "{layer}: {structure} at offset {offset}: {what} is {actual}, above the limit of {limit}"
    )]
    Limit {
        /// `gpt` or `mbr`.
        layer: &'static str,
        /// The structure concerned.
        structure: String,
        /// Byte offset of the structure on the disk.
        offset: u64,
        /// The quantity, e.g. `partition entry count`.
        what: &'static str,
        /// Its value.
        actual: u64,
        /// The limit.
        limit: u64,
    },
    /// The disk has a GPT (its MBR is protective) but neither header can be used.
    #[error(
        "gpt: no usable header with {sector_size}-byte sectors: primary header at offset \
         {primary_offset}: {primary}; backup header at offset {backup_offset}: {backup}"
    )]
    NoUsableGpt {
        /// Sector size the headers were looked for with.
        sector_size: u32,
        /// Byte offset of the primary header.
        primary_offset: u64,
        /// Why the primary header is unusable.
        primary: String,
        /// Byte offset where the backup header was looked for.
        backup_offset: u64,
        /// Why the backup header is unusable.
        backup: String,
        /// Classification (limit exceeded when both failed on a limit, corrupt otherwise).
        kind: ErrorKind,
    },
    /// Recognised but not read by imgcheck: a thin or RAID LV, a RAID5 md array.
    #[error("{layer}: {structure}: {reason}")]
    Unsupported {
        /// `lvm` or `md`.
        layer: &'static str,
        /// The structure concerned, e.g. `logical volume vg0/pool`.
        structure: String,
        /// Why it is not read.
        reason: String,
    },
    /// Something named or needed is not there: an LV name, the volume holding a PV.
    #[error("{layer}: {structure}: {what}")]
    NotFound {
        /// `lvm` or `md`.
        layer: &'static str,
        /// The structure concerned.
        structure: String,
        /// What is missing.
        what: String,
    },
}

impl VolumeError {
    /// Classify for the engine.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VolumeError::Read { source, .. } => source.kind(),
            VolumeError::Corrupt { .. } => ErrorKind::Corrupt,
            VolumeError::Limit { .. } => ErrorKind::LimitExceeded,
            VolumeError::NoUsableGpt { kind, .. } => *kind,
            VolumeError::Unsupported { .. } => ErrorKind::Unsupported,
            VolumeError::NotFound { .. } => ErrorKind::NotFound,
        }
    }

    /// Shorthand for [`VolumeError::Corrupt`].
    pub(crate) fn corrupt(
        layer: &'static str,
        structure: impl Into<String>,
        offset: u64,
        problem: impl Into<String>,
    ) -> Self {
        VolumeError::Corrupt {
            layer,
            structure: structure.into(),
            offset,
            problem: problem.into(),
        }
    }

    /// Shorthand for [`VolumeError::Read`].
    pub(crate) fn read(
        layer: &'static str,
        structure: impl Into<String>,
        offset: u64,
        source: ReadError,
    ) -> Self {
        VolumeError::Read {
            layer,
            structure: structure.into(),
            offset,
            source,
        }
    }

    /// The problem alone, without the layer/structure/offset prefix the [`Anomaly`] fields carry.
    pub(crate) fn problem(&self) -> String {
        match self {
            VolumeError::Read { source, .. } => {
                format!("cannot read it: {}", imgcheck_core_error_chain(source))
            }
            VolumeError::Corrupt { problem, .. } => problem.clone(),
            VolumeError::Limit {
                what,
                actual,
                limit,
                ..
            } => format!("{what} is {actual}, above the limit of {limit}"),
            VolumeError::NoUsableGpt { .. } => self.to_string(),
            VolumeError::Unsupported { reason, .. } => reason.clone(),
            VolumeError::NotFound { what, .. } => what.clone(),
        }
    }

    /// Turn this error into an anomaly with the same layer, structure and offset.
    pub(crate) fn to_anomaly(&self) -> Anomaly {
        match self {
            VolumeError::Read {
                layer,
                structure,
                offset,
                ..
            }
            | VolumeError::Corrupt {
                layer,
                structure,
                offset,
                ..
            }
            | VolumeError::Limit {
                layer,
                structure,
                offset,
                ..
            } => Anomaly::new(
                *layer,
                structure.clone(),
                Some(*offset),
                self.kind(),
                self.problem(),
            ),
            VolumeError::NoUsableGpt { primary_offset, .. } => Anomaly::new(
                "gpt",
                "primary header",
                Some(*primary_offset),
                self.kind(),
                self.to_string(),
            ),
            VolumeError::Unsupported {
                layer, structure, ..
            }
            | VolumeError::NotFound {
                layer, structure, ..
            } => Anomaly::new(*layer, structure.clone(), None, self.kind(), self.problem()),
        }
    }
}

/// `error` and its sources as `outer: inner`.
fn imgcheck_core_error_chain(error: &ReadError) -> String {
    let mut out = error.to_string();
    let mut cur = std::error::Error::source(error);
    let mut depth = 0u32;
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
        depth = depth.saturating_add(1);
        if depth > 16 {
            break;
        }
    }
    out
}
