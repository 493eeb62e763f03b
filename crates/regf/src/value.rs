//! [`Value`]: a key value (`vk`), its data (inline, one cell, or big data `db` segments) and
//! [`ValueData`], the data decoded by type.
//!
//! Specification: Maxim Suhanov, "Windows registry file format specification", sections *Key
//! value* (data size, its inline-data high bit, data types, flags) and *Big data* (segments of
//! at most 16,344 bytes, used when the data is larger and the hive's minor version is above 3).

use imgcheck_core::bytes::{u16_le, u32_le};
use serde::Serialize;
use std::borrow::Cow;

use crate::error::{escape_sig, RegfError, Structure};
use crate::hive::{sig_and_count, Hive};
use crate::limits::{BIG_DATA_SEGMENT, MAX_VALUE_DATA_BYTES, VK_FIXED};
use crate::names;

/// Key value field offsets within the cell data (specification, *Key value* table).
const OFF_NAME_LEN: usize = 2;
const OFF_DATA_SIZE: usize = 4;
const OFF_DATA: usize = 8;
const OFF_TYPE: usize = 12;
const OFF_FLAGS: usize = 16;
/// `vk` flag: the value name is ASCII (Latin-1) rather than UTF-16LE.
const VALUE_COMP_NAME: u16 = 0x0001;
/// High bit of the data size: the data (4 bytes or less) sits in the data offset field itself.
const DATA_INLINE: u32 = 0x8000_0000;
/// Most bytes that fit in the data offset field.
const INLINE_MAX: u32 = 4;
/// Minor versions above this store data larger than [`BIG_DATA_SEGMENT`] as big data.
const LAST_MINOR_WITHOUT_BIG_DATA: u32 = 3;

/// Value data types (specification, *Data types* table).
pub mod types {
    /// No type.
    pub const REG_NONE: u32 = 0;
    /// UTF-16LE string.
    pub const REG_SZ: u32 = 1;
    /// UTF-16LE string with `%VARIABLE%` references.
    pub const REG_EXPAND_SZ: u32 = 2;
    /// Raw bytes.
    pub const REG_BINARY: u32 = 3;
    /// Little-endian u32.
    pub const REG_DWORD: u32 = 4;
    /// Big-endian u32.
    pub const REG_DWORD_BIG_ENDIAN: u32 = 5;
    /// UTF-16LE path of a symbolic link target (in `SymbolicLinkValue`).
    pub const REG_LINK: u32 = 6;
    /// NUL-separated UTF-16LE strings ending with an empty string.
    pub const REG_MULTI_SZ: u32 = 7;
    /// Hardware resource list.
    pub const REG_RESOURCE_LIST: u32 = 8;
    /// Hardware resource descriptor.
    pub const REG_FULL_RESOURCE_DESCRIPTOR: u32 = 9;
    /// Hardware resource requirements.
    pub const REG_RESOURCE_REQUIREMENTS_LIST: u32 = 10;
    /// Little-endian u64.
    pub const REG_QWORD: u32 = 11;
}
use types::*;

/// Name of a data type for messages.
pub fn type_name(data_type: u32) -> &'static str {
    match data_type {
        REG_NONE => "REG_NONE",
        REG_SZ => "REG_SZ",
        REG_EXPAND_SZ => "REG_EXPAND_SZ",
        REG_BINARY => "REG_BINARY",
        REG_DWORD => "REG_DWORD",
        REG_DWORD_BIG_ENDIAN => "REG_DWORD_BIG_ENDIAN",
        REG_LINK => "REG_LINK",
        REG_MULTI_SZ => "REG_MULTI_SZ",
        REG_RESOURCE_LIST => "REG_RESOURCE_LIST",
        REG_FULL_RESOURCE_DESCRIPTOR => "REG_FULL_RESOURCE_DESCRIPTOR",
        REG_RESOURCE_REQUIREMENTS_LIST => "REG_RESOURCE_REQUIREMENTS_LIST",
        REG_QWORD => "REG_QWORD",
        _ => "unknown type",
    }
}

/// A value's data decoded according to its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ValueData {
    /// REG_SZ, up to the first NUL.
    String(String),
    /// REG_EXPAND_SZ (not expanded), up to the first NUL.
    ExpandString(String),
    /// REG_LINK: the link target (no terminating NUL on disk).
    Link(String),
    /// REG_MULTI_SZ: the strings; the list terminator and a missing terminator are tolerated,
    /// empty strings inside the list are kept.
    MultiString(Vec<String>),
    /// REG_DWORD or REG_DWORD_BIG_ENDIAN, in host order.
    Dword(u32),
    /// REG_QWORD.
    Qword(u64),
    /// REG_BINARY.
    Binary(Vec<u8>),
    /// REG_NONE without data (REG_NONE with data is [`ValueData::Other`]).
    None,
    /// Any other type, and REG_NONE with data: the raw bytes.
    Other {
        /// The data type.
        data_type: u32,
        /// The raw data.
        bytes: Vec<u8>,
    },
}

impl ValueData {
    /// The string of a REG_SZ, REG_EXPAND_SZ or REG_LINK value.
    pub fn as_string(&self) -> Option<String> {
        match self {
            ValueData::String(s) | ValueData::ExpandString(s) | ValueData::Link(s) => {
                Some(s.clone())
            }
            _ => None,
        }
    }

    /// The number of a REG_DWORD, REG_DWORD_BIG_ENDIAN or REG_QWORD value.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            ValueData::Dword(d) => Some(u64::from(*d)),
            ValueData::Qword(q) => Some(*q),
            _ => None,
        }
    }

    /// The strings of a REG_MULTI_SZ value.
    pub fn as_strings(&self) -> Option<&[String]> {
        match self {
            ValueData::MultiString(v) => Some(v),
            _ => None,
        }
    }
}

/// A key value: a validated `vk` record of a [`Hive`].
#[derive(Debug, Clone, Copy)]
pub struct Value<'h> {
    hive: &'h Hive,
    offset: u32,
    cell: &'h [u8],
}

impl<'h> Value<'h> {
    /// Load and check the key value at cell `offset`.
    pub(crate) fn load(hive: &'h Hive, offset: u32) -> Result<Value<'h>, RegfError> {
        let cell = hive.cell(offset, Structure::Vk)?;
        if cell.get(..2) != Some(&b"vk"[..]) {
            return Err(RegfError::BadRecord {
                structure: Structure::Vk,
                offset,
                expected: "\"vk\"",
                found: escape_sig(cell.get(..2).unwrap_or(cell)),
            });
        }
        let name_len = u16_le(cell, OFF_NAME_LEN).unwrap_or(0);
        let needed = VK_FIXED.saturating_add(usize::from(name_len));
        if cell.len() < needed {
            return Err(RegfError::Truncated {
                structure: Structure::Vk,
                offset,
                needed: u64::try_from(needed).unwrap_or(u64::MAX),
                available: u64::try_from(cell.len()).unwrap_or(u64::MAX),
            });
        }
        Ok(Value { hive, offset, cell })
    }

    /// Cell offset of the `vk` record.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    fn name_bytes(&self) -> &'h [u8] {
        let len = u16_le(self.cell, OFF_NAME_LEN).unwrap_or(0);
        self.cell
            .get(VK_FIXED..VK_FIXED.saturating_add(usize::from(len)))
            .unwrap_or_default()
    }

    fn name_is_ascii(&self) -> bool {
        u16_le(self.cell, OFF_FLAGS).unwrap_or(0) & VALUE_COMP_NAME != 0
    }

    /// The value's name; `""` for the key's default value.
    pub fn name(&self) -> String {
        names::decode(self.name_bytes(), self.name_is_ascii())
    }

    /// Whether the value's name equals `name`, ignoring case.
    pub fn name_matches(&self, name: &str) -> bool {
        names::eq_ignore_case(self.name_bytes(), self.name_is_ascii(), name)
    }

    /// The data type (see [`types`]).
    pub fn data_type(&self) -> u32 {
        u32_le(self.cell, OFF_TYPE).unwrap_or(0)
    }

    /// Size of the data in bytes, without the inline flag.
    pub fn data_size(&self) -> u32 {
        u32_le(self.cell, OFF_DATA_SIZE).unwrap_or(0) & !DATA_INLINE
    }

    /// The raw data bytes: borrowed from the hive for inline and single-cell data, assembled
    /// for big data.
    pub fn raw_data(&self) -> Result<Cow<'h, [u8]>, RegfError> {
        let size_field = u32_le(self.cell, OFF_DATA_SIZE).unwrap_or(0);
        let len = size_field & !DATA_INLINE;
        let data_off = u32_le(self.cell, OFF_DATA).unwrap_or(0);
        if size_field & DATA_INLINE != 0 {
            if len > INLINE_MAX {
                return Err(RegfError::BadValueData {
                    offset: self.offset,
                    type_name: "inline",
                    expected: "at most 4 bytes",
                    actual: u64::from(len),
                });
            }
            let n = usize::try_from(len).unwrap_or(0);
            let end = OFF_DATA.saturating_add(n);
            return Ok(Cow::Borrowed(
                self.cell.get(OFF_DATA..end).unwrap_or_default(),
            ));
        }
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        if len > MAX_VALUE_DATA_BYTES {
            return Err(RegfError::LimitExceeded {
                structure: Structure::Vk,
                offset: self.offset,
                what: "data size",
                count: u64::from(len),
                limit: u64::from(MAX_VALUE_DATA_BYTES),
            });
        }
        let n = usize::try_from(len).unwrap_or(usize::MAX);
        let cell = self.hive.cell(data_off, Structure::ValueData)?;
        if n > BIG_DATA_SEGMENT
            && self.hive.minor_version() > LAST_MINOR_WITHOUT_BIG_DATA
            && cell.get(..2) == Some(&b"db"[..])
        {
            return big_data(self.hive, data_off, cell, n).map(Cow::Owned);
        }
        cell.get(..n)
            .map(Cow::Borrowed)
            .ok_or(RegfError::Truncated {
                structure: Structure::ValueData,
                offset: data_off,
                needed: u64::from(len),
                available: u64::try_from(cell.len()).unwrap_or(u64::MAX),
            })
    }

    /// The data decoded by type. A REG_DWORD that is not 4 bytes or a REG_QWORD that is not 8
    /// is an error ([`RegfError::BadValueData`]); unknown types come back raw.
    pub fn data(&self) -> Result<ValueData, RegfError> {
        let raw = self.raw_data()?;
        let ty = self.data_type();
        let bad = |expected| RegfError::BadValueData {
            offset: self.offset,
            type_name: type_name(ty),
            expected,
            actual: u64::try_from(raw.len()).unwrap_or(u64::MAX),
        };
        Ok(match ty {
            REG_NONE if raw.is_empty() => ValueData::None,
            REG_SZ => ValueData::String(utf16_until_nul(&raw)),
            REG_EXPAND_SZ => ValueData::ExpandString(utf16_until_nul(&raw)),
            REG_LINK => ValueData::Link(utf16_until_nul(&raw)),
            REG_MULTI_SZ => ValueData::MultiString(multi_sz(&raw)),
            REG_BINARY => ValueData::Binary(raw.into_owned()),
            REG_DWORD => ValueData::Dword(u32::from_le_bytes(
                raw.as_ref().try_into().map_err(|_| bad("4 bytes"))?,
            )),
            REG_DWORD_BIG_ENDIAN => ValueData::Dword(u32::from_be_bytes(
                raw.as_ref().try_into().map_err(|_| bad("4 bytes"))?,
            )),
            REG_QWORD => ValueData::Qword(u64::from_le_bytes(
                raw.as_ref().try_into().map_err(|_| bad("8 bytes"))?,
            )),
            _ => ValueData::Other {
                data_type: ty,
                bytes: raw.into_owned(),
            },
        })
    }
}

/// Assemble `len` bytes of big data from the `db` record in `cell` (at cell offset `db_off`).
fn big_data(hive: &Hive, db_off: u32, cell: &[u8], len: usize) -> Result<Vec<u8>, RegfError> {
    let (_, segments) = sig_and_count(cell).ok_or(RegfError::Truncated {
        structure: Structure::Db,
        offset: db_off,
        needed: 8,
        available: u64::try_from(cell.len()).unwrap_or(u64::MAX),
    })?;
    let list_off = u32_le(cell, 4).ok_or(RegfError::Truncated {
        structure: Structure::Db,
        offset: db_off,
        needed: 8,
        available: u64::try_from(cell.len()).unwrap_or(u64::MAX),
    })?;
    let needed_segments = len.div_ceil(BIG_DATA_SEGMENT);
    if usize::from(segments) < needed_segments {
        return Err(RegfError::CountMismatch {
            structure: Structure::Db,
            offset: db_off,
            what: "data segments for the value's data size",
            expected: u64::try_from(needed_segments).unwrap_or(u64::MAX),
            found: u64::from(segments),
        });
    }
    let list = hive.cell(list_off, Structure::DbSegmentList)?;
    let list_bytes = needed_segments.saturating_mul(4);
    let entries = list.get(..list_bytes).ok_or(RegfError::Truncated {
        structure: Structure::DbSegmentList,
        offset: list_off,
        needed: u64::try_from(list_bytes).unwrap_or(u64::MAX),
        available: u64::try_from(list.len()).unwrap_or(u64::MAX),
    })?;
    let mut out = Vec::with_capacity(len);
    for entry in entries.chunks_exact(4) {
        let seg_off = u32_le(entry, 0).unwrap_or(0);
        let want = len.saturating_sub(out.len()).min(BIG_DATA_SEGMENT);
        let seg = hive.cell(seg_off, Structure::DataSegment)?;
        let part = seg.get(..want).ok_or(RegfError::Truncated {
            structure: Structure::DataSegment,
            offset: seg_off,
            needed: u64::try_from(want).unwrap_or(u64::MAX),
            available: u64::try_from(seg.len()).unwrap_or(u64::MAX),
        })?;
        out.extend_from_slice(part);
    }
    Ok(out)
}

fn utf16_units(raw: &[u8]) -> impl Iterator<Item = u16> + '_ {
    raw.chunks_exact(2).map(|c| {
        u16::from_le_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ])
    })
}

fn utf16_lossy(units: &[u16]) -> String {
    String::from_utf16_lossy(units)
}

/// A UTF-16LE string up to its first NUL (or the end; an odd trailing byte is ignored).
fn utf16_until_nul(raw: &[u8]) -> String {
    let units: Vec<u16> = utf16_units(raw).take_while(|&u| u != 0).collect();
    utf16_lossy(&units)
}

/// REG_MULTI_SZ: strings each ended by NUL, the list ended by an empty string. Empty strings
/// before the terminator are kept (`PendingFileRenameOperations` pairs a file with `""`); a
/// missing terminator or missing final NUL is tolerated; data of only NULs is an empty list.
fn multi_sz(raw: &[u8]) -> Vec<String> {
    let units: Vec<u16> = utf16_units(raw).collect();
    if units.iter().all(|&u| u == 0) {
        return Vec::new();
    }
    let mut parts: Vec<&[u16]> = units.split(|&u| u == 0).collect();
    let ends_nul = units.last() == Some(&0);
    let ends_double_nul =
        ends_nul && units.len() >= 2 && units.get(units.len().saturating_sub(2)) == Some(&0);
    // The piece after the last NUL is empty when the data ends with NUL.
    if ends_nul {
        parts.pop();
    }
    // The empty string that terminates the list.
    if ends_double_nul && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts.into_iter().map(utf16_lossy).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16s(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn strings() {
        assert_eq!(utf16_until_nul(&u16s("abc\0junk")), "abc");
        assert_eq!(utf16_until_nul(&u16s("abc")), "abc");
        assert_eq!(utf16_until_nul(&[0x41, 0, 0x42]), "A");
        assert_eq!(utf16_until_nul(&[]), "");
    }

    #[test]
    fn multi_strings() {
        let v = |s: &str| multi_sz(&u16s(s));
        assert_eq!(v("a\0b\0\0"), ["a", "b"]);
        assert_eq!(v("a\0b\0"), ["a", "b"]);
        assert_eq!(v("a\0b"), ["a", "b"]);
        assert_eq!(v("\\??\\C:\\a.tmp\0\0\0"), ["\\??\\C:\\a.tmp", ""]);
        assert_eq!(v("\0\0"), Vec::<String>::new());
        assert_eq!(v("\0"), Vec::<String>::new());
        assert_eq!(v(""), Vec::<String>::new());
        assert_eq!(v("a\0\0b\0\0"), ["a", "", "b"]);
    }

    #[test]
    fn accessors() {
        assert_eq!(ValueData::Dword(7).as_u64(), Some(7));
        assert_eq!(ValueData::Qword(1 << 40).as_u64(), Some(1 << 40));
        assert_eq!(ValueData::String("x".into()).as_u64(), None);
        assert_eq!(
            ValueData::ExpandString("%x%".into()).as_string().as_deref(),
            Some("%x%")
        );
        assert_eq!(
            ValueData::Link("\\R".into()).as_string().as_deref(),
            Some("\\R")
        );
        assert_eq!(ValueData::Binary(vec![1]).as_string(), None);
        assert_eq!(
            ValueData::MultiString(vec!["a".into()]).as_strings(),
            Some(&["a".to_string()][..])
        );
        assert_eq!(type_name(REG_QWORD), "REG_QWORD");
        assert_eq!(type_name(99), "unknown type");
    }
}
