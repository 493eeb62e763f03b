//! [`Hive`]: the base block, the index of hive bins, and bounds-checked cell access.
//!
//! Specification: Maxim Suhanov, "Windows registry file format specification", sections *Base
//! block*, *Hive bin* and *Cell*; *Dirty state of a hive* for what dirty means. Transaction logs
//! (`.LOG1`/`.LOG2`) are not replayed: a dirty hive is read as it is on disk and reported.

use imgcheck_core::bytes::{slice, u16_le, u32_le, u64_le};
use imgcheck_core::{Anomaly, ErrorKind};
use serde::Serialize;
use std::collections::HashSet;

use crate::error::{escape_sig, RegfError, Structure};
use crate::key::Key;
use crate::limits::{
    BASE_BLOCK_SIZE, BASE_BLOCK_SIZE_U64, HBIN_ALIGN, HBIN_HEADER_SIZE, MAX_KEY_DEPTH,
    MAX_WALK_ERRORS, MAX_WALK_KEYS, MIN_CELL_SIZE, NO_CELL,
};

/// Base block signature.
const REGF_SIGNATURE: &[u8; 4] = b"regf";
/// Hive bin signature.
const HBIN_SIGNATURE: &[u8; 4] = b"hbin";
/// Base block field offsets (specification, *Base block* table).
const OFF_PRIMARY_SEQ: usize = 4;
const OFF_SECONDARY_SEQ: usize = 8;
const OFF_LAST_WRITTEN: usize = 12;
const OFF_MAJOR: usize = 20;
const OFF_MINOR: usize = 24;
const OFF_FILE_TYPE: usize = 28;
const OFF_FILE_FORMAT: usize = 32;
const OFF_ROOT_CELL: usize = 36;
const OFF_HIVE_BINS_SIZE: usize = 40;
const OFF_FILE_NAME: usize = 48;
const FILE_NAME_LEN: usize = 64;
const OFF_CHECKSUM: usize = 508;
/// Dwords covered by the checksum: the 508 bytes before it.
const CHECKSUM_DWORDS: usize = 127;
/// File type of a primary file (1, 2 and 6 are transaction logs).
const FILE_TYPE_PRIMARY: u32 = 0;
/// File format "direct memory load", the only one defined.
const FILE_FORMAT_DIRECT: u32 = 1;
/// Minor versions written by Windows NT 3.51 (3) up to Windows 10 (6).
const MINOR_VERSIONS: std::ops::RangeInclusive<u32> = 3..=6;
/// Layer name of this crate's anomalies.
const LAYER: &str = "regf";

/// A hive bin: `[start, end)` in cell-offset space (relative to the hive bins data).
#[derive(Debug, Clone, Copy)]
struct Bin {
    start: u32,
    end: u32,
}

/// What the base block says about the hive (see [`Hive::info`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiveInfo {
    /// Major version of the hive writer (always 1).
    pub major_version: u32,
    /// Minor version: 3 (NT 3.51/4), 4, 5 (XP and later), 6 (Windows 10).
    pub minor_version: u32,
    /// Incremented at the start of a write.
    pub primary_sequence: u32,
    /// Incremented at the end of a write.
    pub secondary_sequence: u32,
    /// The sequence numbers differ: a write was interrupted and the transaction logs
    /// (`.LOG1`/`.LOG2`, not read by this crate) hold data the primary file lacks.
    pub dirty: bool,
    /// The base block's XOR-32 checksum matches. (Windows also treats a hive with a bad
    /// checksum as dirty.)
    pub checksum_ok: bool,
    /// Checksum stored at offset 508.
    pub stored_checksum: u32,
    /// Checksum computed over the first 508 bytes.
    pub computed_checksum: u32,
    /// Name of the root key, if the root key node is readable.
    pub root_name: Option<String>,
    /// The base block's file name field (a partial path, for debugging by Windows).
    pub file_name: String,
    /// Last written timestamp (FILETIME, 100 ns ticks since 1601-01-01 UTC).
    pub last_written: u64,
    /// Cell offset of the root key node.
    pub root_cell_offset: u32,
    /// Size of the hive bins data according to the base block.
    pub hive_bins_data_size: u32,
    /// Hive bins found and used.
    pub hbin_count: usize,
}

/// Counts of a [`Hive::walk`].
#[derive(Debug, Default)]
pub struct WalkStats {
    /// Keys visited (including the root).
    pub keys: u64,
    /// Errors met (the subtree below a failing key is skipped, siblings go on).
    pub error_count: u64,
    /// The first [`MAX_WALK_ERRORS`] errors.
    pub errors: Vec<RegfError>,
}

/// A registry hive held in memory, parsed read-only and lazily: [`Hive::parse`] checks the base
/// block and indexes the hive bins; keys and values are decoded when asked for.
#[derive(Debug)]
pub struct Hive {
    data: Vec<u8>,
    bins: Vec<Bin>,
    anomalies: Vec<Anomaly>,
    major: u32,
    minor: u32,
    primary_seq: u32,
    secondary_seq: u32,
    stored_checksum: u32,
    computed_checksum: u32,
    last_written: u64,
    root_cell: u32,
    hive_bins_size: u32,
    file_name: String,
}

impl Hive {
    /// Parse a hive file's bytes. Fails only when there is no usable hive: short file, bad
    /// `regf` signature, major version other than 1, a transaction log instead of a primary
    /// file, or no valid first hive bin. A dirty hive, a bad checksum, an unknown minor version,
    /// hive bins that stop early or disagree with the base block become [`Hive::anomalies`].
    pub fn parse(data: Vec<u8>) -> Result<Hive, RegfError> {
        let base = data.get(..BASE_BLOCK_SIZE).ok_or(RegfError::TooShort {
            len: data.len(),
            min: BASE_BLOCK_SIZE,
        })?;
        let field = |off| u32_le(base, off).unwrap_or(0);
        if base.get(..4) != Some(&REGF_SIGNATURE[..]) {
            return Err(RegfError::BadSignature {
                structure: Structure::BaseBlock,
                file_offset: 0,
                expected: "regf",
                found: escape_sig(base.get(..4).unwrap_or_default()),
            });
        }
        let (major, minor) = (field(OFF_MAJOR), field(OFF_MINOR));
        if major != 1 {
            return Err(RegfError::UnsupportedVersion { major, minor });
        }
        let file_type = field(OFF_FILE_TYPE);
        if file_type != FILE_TYPE_PRIMARY {
            return Err(RegfError::NotPrimaryFile { file_type });
        }
        let mut anomalies = Vec::new();
        let mut note = |structure: &str, offset: u64, kind: ErrorKind, message: String| {
            anomalies.push(Anomaly::new(LAYER, structure, Some(offset), kind, message));
        };
        if !MINOR_VERSIONS.contains(&minor) {
            note(
                "base block",
                0,
                ErrorKind::Unsupported,
                format!(
                    "hive format version 1.{minor} is outside the known 1.3 to 1.6; read as 1.5"
                ),
            );
        }
        let format = field(OFF_FILE_FORMAT);
        if format != FILE_FORMAT_DIRECT {
            note(
                "base block",
                0,
                ErrorKind::Corrupt,
                format!("file format {format}, expected 1 (direct memory load)"),
            );
        }
        let stored_checksum = field(OFF_CHECKSUM);
        let computed_checksum = checksum(base);
        if !checksum_matches(stored_checksum, computed_checksum) {
            note(
                "base block",
                0,
                ErrorKind::Corrupt,
                format!(
                    "checksum {stored_checksum:#010x} at offset 508, computed {computed_checksum:#010x}: \
                     the base block is damaged or was not completely written"
                ),
            );
        }
        let (primary_seq, secondary_seq) = (field(OFF_PRIMARY_SEQ), field(OFF_SECONDARY_SEQ));
        if primary_seq != secondary_seq {
            note(
                "base block",
                0,
                ErrorKind::Corrupt,
                format!(
                    "dirty hive: primary sequence number {primary_seq} differs from secondary \
                     sequence number {secondary_seq}; transaction logs (.LOG1/.LOG2) not replayed"
                ),
            );
        }
        let hive_bins_size = field(OFF_HIVE_BINS_SIZE);
        let root_cell = field(OFF_ROOT_CELL);
        let last_written = u64_le(base, OFF_LAST_WRITTEN).unwrap_or(0);
        let file_name = utf16_field(
            base.get(OFF_FILE_NAME..OFF_FILE_NAME.saturating_add(FILE_NAME_LEN))
                .unwrap_or_default(),
        );

        // Hive bins: from the base block's size, clamped to what the file holds.
        let available = data.len().saturating_sub(BASE_BLOCK_SIZE);
        let available = u32::try_from(available).unwrap_or(u32::MAX);
        if hive_bins_size % HBIN_ALIGN != 0 {
            note(
                "base block",
                0,
                ErrorKind::Corrupt,
                format!("hive bins data size {hive_bins_size} is not a multiple of 4096"),
            );
        }
        let mut limit = hive_bins_size;
        if hive_bins_size > available {
            note(
                "base block",
                0,
                ErrorKind::Corrupt,
                format!(
                    "hive bins data size {hive_bins_size} exceeds the {available} bytes after the \
                     base block: the file is truncated"
                ),
            );
            limit = available;
        }
        let bins = index_bins(&data, limit, &mut anomalies)?;
        Ok(Hive {
            data,
            bins,
            anomalies,
            major,
            minor,
            primary_seq,
            secondary_seq,
            stored_checksum,
            computed_checksum,
            last_written,
            root_cell,
            hive_bins_size,
            file_name,
        })
    }

    /// What the base block says, plus the root key's name.
    pub fn info(&self) -> HiveInfo {
        HiveInfo {
            major_version: self.major,
            minor_version: self.minor,
            primary_sequence: self.primary_seq,
            secondary_sequence: self.secondary_seq,
            dirty: self.primary_seq != self.secondary_seq,
            checksum_ok: checksum_matches(self.stored_checksum, self.computed_checksum),
            stored_checksum: self.stored_checksum,
            computed_checksum: self.computed_checksum,
            root_name: self.root().ok().map(|k| k.name()),
            file_name: self.file_name.clone(),
            last_written: self.last_written,
            root_cell_offset: self.root_cell,
            hive_bins_data_size: self.hive_bins_size,
            hbin_count: self.bins.len(),
        }
    }

    /// Problems found by [`Hive::parse`] that did not stop it (dirty, bad checksum, …).
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// The minor version of the hive format (3 to 6 in known hives).
    pub fn minor_version(&self) -> u32 {
        self.minor
    }

    /// The root key.
    pub fn root(&self) -> Result<Key<'_>, RegfError> {
        Key::load(self, self.root_cell, 0)
    }

    /// Open a key by path below the root, e.g. `ControlSet001\Services\viostor`; `/` also
    /// separates components, empty components are ignored, names compare case-insensitively.
    /// `Ok(None)` when a component does not exist.
    pub fn open(&self, path: &str) -> Result<Option<Key<'_>>, RegfError> {
        let mut key = self.root()?;
        let mut depth = 0u32;
        for comp in path.split(['\\', '/']).filter(|c| !c.is_empty()) {
            depth = depth.saturating_add(1);
            if depth > MAX_KEY_DEPTH {
                return Err(RegfError::KeyTooDeep {
                    offset: key.offset(),
                    limit: MAX_KEY_DEPTH,
                });
            }
            match key.subkey(comp)? {
                Some(k) => key = k,
                None => return Ok(None),
            }
        }
        Ok(Some(key))
    }

    /// Visit every key once, depth first, in hive order, with its path below the root (`""` for
    /// the root, components joined by `\`). A key node reached twice is a [`RegfError::Cycle`];
    /// an error skips the subtree below the failing key and is recorded in [`WalkStats`]. Bounded
    /// by [`MAX_WALK_KEYS`] keys and [`MAX_KEY_DEPTH`] levels.
    pub fn walk(&self, mut visit: impl FnMut(&str, &Key<'_>)) -> Result<WalkStats, RegfError> {
        let root = self.root()?;
        let mut stats = WalkStats::default();
        let mut seen: HashSet<u32> = HashSet::new();
        let mut stack: Vec<(Key<'_>, String)> = vec![(root, String::new())];
        seen.insert(root.offset());
        while let Some((key, path)) = stack.pop() {
            stats.keys = stats.keys.saturating_add(1);
            if stats.keys > MAX_WALK_KEYS {
                return Err(RegfError::LimitExceeded {
                    structure: Structure::Nk,
                    offset: key.offset(),
                    what: "keys walked",
                    count: stats.keys,
                    limit: MAX_WALK_KEYS,
                });
            }
            visit(&path, &key);
            let children = match key.subkeys() {
                Ok(c) => c,
                Err(e) => {
                    stats.record(e);
                    continue;
                }
            };
            // Reverse so that popping visits children in hive order.
            for child in children.into_iter().rev() {
                if !seen.insert(child.offset()) {
                    stats.record(RegfError::Cycle {
                        structure: Structure::Nk,
                        offset: key.offset(),
                        target: child.offset(),
                    });
                    continue;
                }
                let name = child.name();
                let child_path = if path.is_empty() {
                    name
                } else {
                    format!("{path}\\{name}")
                };
                stack.push((child, child_path));
            }
        }
        Ok(stats)
    }

    /// The data of the allocated cell at `offset` (without its size field), checked to lie
    /// inside one hive bin. `structure` is what the caller expects there, for errors.
    pub(crate) fn cell(&self, offset: u32, structure: Structure) -> Result<&[u8], RegfError> {
        if offset == NO_CELL {
            return Err(RegfError::NoCell { structure });
        }
        let out_of_range = || RegfError::OffsetOutOfRange {
            structure,
            offset,
            hive_bins_size: self.bins.last().map_or(0, |b| u64::from(b.end)),
        };
        let idx = self.bins.partition_point(|b| b.start <= offset);
        let bin = idx
            .checked_sub(1)
            .and_then(|i| self.bins.get(i))
            .ok_or_else(out_of_range)?;
        if offset >= bin.end || offset < bin.start.saturating_add(HBIN_HEADER_SIZE) {
            return Err(out_of_range());
        }
        let file_off = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(BASE_BLOCK_SIZE))
            .ok_or_else(out_of_range)?;
        let size_field =
            imgcheck_core::bytes::u32_le(&self.data, file_off).ok_or_else(out_of_range)?;
        let size = i32::from_le_bytes(size_field.to_le_bytes());
        if size >= 0 {
            return Err(if size == 0 {
                RegfError::BadCellSize {
                    structure,
                    offset,
                    size: 0,
                    reason: "a cell cannot be empty",
                }
            } else {
                RegfError::Unallocated {
                    structure,
                    offset,
                    size,
                }
            });
        }
        let abs = u64::from(size.unsigned_abs());
        if abs < MIN_CELL_SIZE {
            return Err(RegfError::BadCellSize {
                structure,
                offset,
                size: abs,
                reason: "smaller than the 8-byte minimum",
            });
        }
        let room = u64::from(bin.end.saturating_sub(offset));
        if abs > room {
            return Err(RegfError::BadCellSize {
                structure,
                offset,
                size: abs,
                reason: "the cell crosses the end of its hive bin",
            });
        }
        // abs ≤ room ≤ u32::MAX, so these conversions cannot fail on 32/64-bit targets.
        let len = usize::try_from(abs.saturating_sub(4)).map_err(|_| out_of_range())?;
        slice(&self.data, file_off.saturating_add(4), len).ok_or_else(out_of_range)
    }
}

impl WalkStats {
    fn record(&mut self, e: RegfError) {
        self.error_count = self.error_count.saturating_add(1);
        if self.errors.len() < MAX_WALK_ERRORS {
            self.errors.push(e);
        }
    }
}

/// XOR-32 of the first 127 dwords of the base block.
fn checksum(base: &[u8]) -> u32 {
    (0..CHECKSUM_DWORDS)
        .filter_map(|i| i.checked_mul(4).and_then(|o| u32_le(base, o)))
        .fold(0, |acc, d| acc ^ d)
}

/// Windows never stores a checksum of 0 or 0xFFFFFFFF: it writes 1 and 0xFFFFFFFE instead
/// (libregf's format documentation). Accept both forms.
fn checksum_matches(stored: u32, computed: u32) -> bool {
    stored == computed
        || (computed == 0 && stored == 1)
        || (computed == u32::MAX && stored == u32::MAX - 1)
}

/// Decode the base block's UTF-16LE file name (NUL-padded).
fn utf16_field(b: &[u8]) -> String {
    imgcheck_core::bytes::utf16le_until_nul(b)
}

/// Walk the hive bin headers from offset 0 up to `limit` (cell-offset space). The first bin
/// must be valid; a later bad bin ends the walk with an anomaly (its cells are unreachable).
fn index_bins(
    data: &[u8],
    limit: u32,
    anomalies: &mut Vec<Anomaly>,
) -> Result<Vec<Bin>, RegfError> {
    let mut bins = Vec::new();
    let mut off: u32 = 0;
    while off < limit {
        let file_offset = u64::from(off).saturating_add(BASE_BLOCK_SIZE_U64);
        let header = usize::try_from(off)
            .ok()
            .and_then(|o| o.checked_add(BASE_BLOCK_SIZE))
            .and_then(|o| slice(data, o, 32));
        let problem = match header {
            None => Some("hive bin header lies past the end of the file".to_string()),
            Some(h) if h.get(..4) != Some(&HBIN_SIGNATURE[..]) => Some(format!(
                "signature {:?}, expected \"hbin\"",
                escape_sig(h.get(..4).unwrap_or_default())
            )),
            Some(h) => {
                let size = u32_le(h, 8).unwrap_or(0);
                let stored_off = u32_le(h, 4).unwrap_or(0);
                if size < HBIN_ALIGN || size % HBIN_ALIGN != 0 {
                    Some(format!("size {size} is not a non-zero multiple of 4096"))
                } else if size > limit.saturating_sub(off) {
                    Some(format!(
                        "size {size} runs past the end of the hive bins data at {limit:#x}"
                    ))
                } else {
                    if stored_off != off {
                        anomalies.push(Anomaly::new(
                            LAYER,
                            "hbin",
                            Some(file_offset),
                            ErrorKind::Corrupt,
                            format!("offset field {stored_off:#x} differs from the bin's position {off:#x}"),
                        ));
                    }
                    let end = off.saturating_add(size);
                    bins.push(Bin { start: off, end });
                    off = end;
                    None
                }
            }
        };
        if let Some(reason) = problem {
            if bins.is_empty() {
                return Err(RegfError::BadFirstHbin {
                    file_offset,
                    reason,
                });
            }
            anomalies.push(Anomaly::new(
                LAYER,
                "hbin",
                Some(file_offset),
                ErrorKind::Corrupt,
                format!("{reason}; cells from here on are unreachable"),
            ));
            break;
        }
    }
    if bins.is_empty() {
        return Err(RegfError::BadFirstHbin {
            file_offset: BASE_BLOCK_SIZE_U64,
            reason: "the hive bins data is empty".to_string(),
        });
    }
    Ok(bins)
}

/// Read a 2-byte signature and a u16 count at the start of a list record.
pub(crate) fn sig_and_count(cell: &[u8]) -> Option<([u8; 2], u16)> {
    let sig = imgcheck_core::bytes::array::<2>(cell, 0)?;
    Some((sig, u16_le(cell, 2)?))
}
