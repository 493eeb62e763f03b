//! [`RegfError`] and [`Structure`]: every failure names the on-disk structure and where it is.
//!
//! Offsets inside the hive are *cell offsets*, relative to the start of the hive bins data, as
//! the format stores them (Suhanov, "Windows registry file format specification", base block
//! note 1); messages also give the file offset (cell offset + 4096).

use imgcheck_core::ErrorKind;
use serde::Serialize;
use std::fmt;

use crate::limits::BASE_BLOCK_SIZE_U64;

/// An on-disk structure of a hive, as named in the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    /// The 4096-byte file header.
    BaseBlock,
    /// A hive bin header.
    Hbin,
    /// A cell whose record type is not known yet.
    Cell,
    /// Key node.
    Nk,
    /// Key value.
    Vk,
    /// A subkeys list whose signature is not known yet (`lf`, `lh`, `li` or `ri`).
    SubkeyList,
    /// Fast leaf subkeys list.
    Lf,
    /// Hash leaf subkeys list.
    Lh,
    /// Index leaf subkeys list.
    Li,
    /// Index root: a list of subkeys lists.
    Ri,
    /// Key values list.
    ValueList,
    /// A value's data cell.
    ValueData,
    /// Big data record.
    Db,
    /// The list of segments of a big data record.
    DbSegmentList,
    /// One data segment of a big data record.
    DataSegment,
    /// A key's class name cell.
    ClassName,
}

impl Structure {
    /// The specification's short name: `nk`, `vk`, `lf`, `db`, `base block`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Structure::BaseBlock => "base block",
            Structure::Hbin => "hbin",
            Structure::Cell => "cell",
            Structure::Nk => "nk",
            Structure::Vk => "vk",
            Structure::SubkeyList => "subkeys list",
            Structure::Lf => "lf",
            Structure::Lh => "lh",
            Structure::Li => "li",
            Structure::Ri => "ri",
            Structure::ValueList => "values list",
            Structure::ValueData => "value data",
            Structure::Db => "db",
            Structure::DbSegmentList => "db segments list",
            Structure::DataSegment => "db data segment",
            Structure::ClassName => "class name",
        }
    }
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Formats a cell offset as `cell offset 0x20 (file offset 0x1020)`.
#[derive(Debug, Clone, Copy)]
pub struct At(pub u32);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = u64::from(self.0).saturating_add(BASE_BLOCK_SIZE_U64);
        write!(f, "cell offset {:#x} (file offset {:#x})", self.0, file)
    }
}

fn at(off: &u32) -> At {
    At(*off)
}

/// Everything that can go wrong reading a hive. Each variant names the structure and its offset.
#[derive(Debug, thiserror::Error)]
pub enum RegfError {
    /// The file cannot hold a base block.
    #[error("base block: file of {len} bytes is shorter than the {min}-byte base block")]
    TooShort {
        /// File length.
        len: usize,
        /// Required length.
        min: usize,
    },
    /// A fixed signature (`regf`, `hbin`) is wrong.
    #[error(
        "{structure} at file offset {file_offset:#x}: signature {found:?}, expected {expected:?}"
    )]
    BadSignature {
        /// Structure.
        structure: Structure,
        /// File offset of the structure.
        file_offset: u64,
        /// Expected signature.
        expected: &'static str,
        /// Bytes found, escaped.
        found: String,
    },
    /// The base block's major version is not 1.
    #[error("base block: hive format version {major}.{minor} is not supported (expected 1.x)")]
    UnsupportedVersion {
        /// Major version.
        major: u32,
        /// Minor version.
        minor: u32,
    },
    /// The file is a transaction log (or unknown type), not a primary hive file.
    #[error("base block: file type {file_type} is not a primary hive file (type 0)")]
    NotPrimaryFile {
        /// The base block's file type field.
        file_type: u32,
    },
    /// The first hive bin is unusable, so the hive has no cells at all.
    #[error("hbin at file offset {file_offset:#x}: {reason}")]
    BadFirstHbin {
        /// File offset of the hbin.
        file_offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A cell offset of `0xffffffff` ("none") where a cell is required.
    #[error("{structure}: required cell is missing (offset 0xffffffff)")]
    NoCell {
        /// Structure that was expected there.
        structure: Structure,
    },
    /// A cell offset outside every hive bin, or inside a hive bin header.
    #[error("{structure} at {}: offset is outside the cells of the hive bins data ({hive_bins_size} bytes)", at(.offset))]
    OffsetOutOfRange {
        /// Structure expected at the offset.
        structure: Structure,
        /// The offending cell offset.
        offset: u32,
        /// Size of the hive bins data that was read.
        hive_bins_size: u64,
    },
    /// The cell's size field says the cell is free.
    #[error("{structure} at {}: cell is not allocated (size field {size})", at(.offset))]
    Unallocated {
        /// Structure expected in the cell.
        structure: Structure,
        /// Cell offset.
        offset: u32,
        /// The (positive) size field.
        size: i32,
    },
    /// The cell's size field is impossible.
    #[error("{structure} at {}: cell size {size} is invalid: {reason}", at(.offset))]
    BadCellSize {
        /// Structure expected in the cell.
        structure: Structure,
        /// Cell offset.
        offset: u32,
        /// Absolute cell size.
        size: u64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A record's signature is not the one the referring structure requires.
    #[error("{structure} at {}: signature {found:?}, expected {expected}", at(.offset))]
    BadRecord {
        /// Structure expected in the cell.
        structure: Structure,
        /// Cell offset.
        offset: u32,
        /// Expected signature(s).
        expected: &'static str,
        /// Bytes found, escaped.
        found: String,
    },
    /// A record needs more bytes than its cell holds.
    #[error("{structure} at {}: needs {needed} bytes, the cell holds {available}", at(.offset))]
    Truncated {
        /// Structure.
        structure: Structure,
        /// Cell offset.
        offset: u32,
        /// Bytes needed.
        needed: u64,
        /// Bytes of cell data available.
        available: u64,
    },
    /// A count or size from the hive exceeds one of the crate's limits.
    #[error("{structure} at {}: {what} of {count} exceeds the limit of {limit}", at(.offset))]
    LimitExceeded {
        /// Structure.
        structure: Structure,
        /// Cell offset.
        offset: u32,
        /// What was counted.
        what: &'static str,
        /// Value found.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// Two fields of the hive that must agree do not.
    #[error("{structure} at {}: {what}: expected {expected}, found {found}", at(.offset))]
    CountMismatch {
        /// Structure.
        structure: Structure,
        /// Cell offset.
        offset: u32,
        /// What was compared.
        what: &'static str,
        /// Expected count.
        expected: u64,
        /// Count found.
        found: u64,
    },
    /// Index roots nested deeper than the limit.
    #[error("{structure} at {}: subkeys lists nested deeper than {limit} levels", at(.offset))]
    NestingTooDeep {
        /// Structure.
        structure: Structure,
        /// Cell offset of the list that would exceed the limit.
        offset: u32,
        /// The limit.
        limit: u32,
    },
    /// A list references the same cell twice, or a key lists itself: a cycle in the key tree.
    #[error("{structure} at {}: cell {target:#x} is referenced again (cycle or duplicate entry)", at(.offset))]
    Cycle {
        /// Structure holding the reference.
        structure: Structure,
        /// Cell offset of that structure.
        offset: u32,
        /// The cell referenced twice.
        target: u32,
    },
    /// A key node listed under a key names another key as its parent.
    #[error("nk at {}: parent field {found:#x} differs from the key listing it, {expected:#x}", at(.offset))]
    ParentMismatch {
        /// Cell offset of the child key node.
        offset: u32,
        /// Cell offset of the key whose subkeys list holds it.
        expected: u32,
        /// The child's parent field.
        found: u32,
    },
    /// A key path deeper than the limit.
    #[error("nk at {}: key path deeper than {limit} levels", at(.offset))]
    KeyTooDeep {
        /// Cell offset of the key whose subkeys would exceed the limit.
        offset: u32,
        /// The limit.
        limit: u32,
    },
    /// Value data whose size does not fit its type (a REG_DWORD that is not 4 bytes, …).
    #[error("vk at {}: {type_name} data is {actual} bytes, expected {expected}", at(.offset))]
    BadValueData {
        /// Cell offset of the key value.
        offset: u32,
        /// Name of the data type.
        type_name: &'static str,
        /// Expected size.
        expected: &'static str,
        /// Size found.
        actual: u64,
    },
}

impl RegfError {
    /// Classify this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegfError::UnsupportedVersion { .. } | RegfError::NotPrimaryFile { .. } => {
                ErrorKind::Unsupported
            }
            RegfError::LimitExceeded { .. }
            | RegfError::NestingTooDeep { .. }
            | RegfError::KeyTooDeep { .. } => ErrorKind::LimitExceeded,
            _ => ErrorKind::Corrupt,
        }
    }

    /// The structure the error is about.
    pub fn structure(&self) -> Structure {
        match self {
            RegfError::TooShort { .. }
            | RegfError::UnsupportedVersion { .. }
            | RegfError::NotPrimaryFile { .. } => Structure::BaseBlock,
            RegfError::BadFirstHbin { .. } => Structure::Hbin,
            RegfError::BadSignature { structure, .. }
            | RegfError::NoCell { structure }
            | RegfError::OffsetOutOfRange { structure, .. }
            | RegfError::Unallocated { structure, .. }
            | RegfError::BadCellSize { structure, .. }
            | RegfError::BadRecord { structure, .. }
            | RegfError::Truncated { structure, .. }
            | RegfError::LimitExceeded { structure, .. }
            | RegfError::CountMismatch { structure, .. }
            | RegfError::NestingTooDeep { structure, .. }
            | RegfError::Cycle { structure, .. } => *structure,
            RegfError::ParentMismatch { .. } | RegfError::KeyTooDeep { .. } => Structure::Nk,
            RegfError::BadValueData { .. } => Structure::Vk,
        }
    }

    /// The cell offset (relative to the hive bins data) of the structure, where there is one.
    pub fn cell_offset(&self) -> Option<u32> {
        match self {
            RegfError::OffsetOutOfRange { offset, .. }
            | RegfError::Unallocated { offset, .. }
            | RegfError::BadCellSize { offset, .. }
            | RegfError::BadRecord { offset, .. }
            | RegfError::Truncated { offset, .. }
            | RegfError::LimitExceeded { offset, .. }
            | RegfError::CountMismatch { offset, .. }
            | RegfError::NestingTooDeep { offset, .. }
            | RegfError::Cycle { offset, .. }
            | RegfError::ParentMismatch { offset, .. }
            | RegfError::KeyTooDeep { offset, .. }
            | RegfError::BadValueData { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// The file offset of the structure, where known (for [`imgcheck_core::Anomaly::offset`]).
    pub fn file_offset(&self) -> Option<u64> {
        match self {
            RegfError::TooShort { .. }
            | RegfError::UnsupportedVersion { .. }
            | RegfError::NotPrimaryFile { .. } => Some(0),
            RegfError::BadSignature { file_offset, .. }
            | RegfError::BadFirstHbin { file_offset, .. } => Some(*file_offset),
            _ => self
                .cell_offset()
                .map(|o| u64::from(o).saturating_add(BASE_BLOCK_SIZE_U64)),
        }
    }
}

/// Escape up to a few bytes of a signature for an error message (`"nk"`, `"\x00\x01"`).
pub(crate) fn escape_sig(b: &[u8]) -> String {
    b.iter()
        .take(4)
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect()
}
