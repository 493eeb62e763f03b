//! [`Key`]: a key node (`nk`) and its subkeys lists (`lf`, `lh`, `li`, `ri`).
//!
//! Specification: Maxim Suhanov, "Windows registry file format specification", sections *Key
//! node*, *Index leaf*, *Fast leaf*, *Hash leaf*, *Index root*. Subkeys are found by walking the
//! lists and comparing names (case-insensitively), not through the `lf` hints or `lh` hashes,
//! which a damaged hive may get wrong.
//!
//! Cycles: a key listed under a key must name that key as its parent, appear once in the list
//! and sit at most [`MAX_KEY_DEPTH`] levels deep, and `ri` lists are followed at most
//! [`MAX_LIST_NESTING`] levels deep without revisiting a list. With those checks any recursive
//! walk over [`Key::subkeys`] visits each key node at most once per path from the root and
//! terminates.

use imgcheck_core::bytes::{u16_le, u32_le, u64_le};
use std::collections::HashSet;

use crate::error::{escape_sig, RegfError, Structure};
use crate::hive::{sig_and_count, Hive};
use crate::limits::{
    MAX_KEY_DEPTH, MAX_LIST_NESTING, MAX_SUBKEYS_PER_KEY, MAX_VALUES_PER_KEY, NK_FIXED, NO_CELL,
};
use crate::names;
use crate::value::Value;

/// Key node field offsets within the cell data (specification, *Key node* table).
const OFF_FLAGS: usize = 2;
const OFF_LAST_WRITTEN: usize = 4;
const OFF_PARENT: usize = 16;
const OFF_SUBKEY_COUNT: usize = 20;
const OFF_SUBKEY_LIST: usize = 28;
const OFF_VALUE_COUNT: usize = 36;
const OFF_VALUE_LIST: usize = 40;
const OFF_SECURITY: usize = 44;
const OFF_CLASS: usize = 48;
const OFF_NAME_LEN: usize = 72;
const OFF_CLASS_LEN: usize = 74;

/// `nk` flag: the key name is stored in ASCII (Latin-1) rather than UTF-16LE.
pub const KEY_COMP_NAME: u16 = 0x0020;
/// `nk` flag: the root key of the hive.
pub const KEY_HIVE_ENTRY: u16 = 0x0004;
/// `nk` flag: a symbolic link (target in the REG_LINK value `SymbolicLinkValue`).
pub const KEY_SYM_LINK: u16 = 0x0010;
/// `nk` flag: a predefined handle; the value count field holds the handle, not a count.
pub const KEY_PREDEF_HANDLE: u16 = 0x0040;

/// A registry key: a validated key node of a [`Hive`].
#[derive(Debug, Clone, Copy)]
pub struct Key<'h> {
    hive: &'h Hive,
    offset: u32,
    cell: &'h [u8],
    depth: u32,
}

impl<'h> Key<'h> {
    /// Load and check the key node at cell `offset`, `depth` levels below the root.
    pub(crate) fn load(hive: &'h Hive, offset: u32, depth: u32) -> Result<Key<'h>, RegfError> {
        let cell = hive.cell(offset, Structure::Nk)?;
        if cell.get(..2) != Some(&b"nk"[..]) {
            return Err(RegfError::BadRecord {
                structure: Structure::Nk,
                offset,
                expected: "\"nk\"",
                found: escape_sig(cell.get(..2).unwrap_or(cell)),
            });
        }
        let truncated = |needed: usize| RegfError::Truncated {
            structure: Structure::Nk,
            offset,
            needed: u64::try_from(needed).unwrap_or(u64::MAX),
            available: u64::try_from(cell.len()).unwrap_or(u64::MAX),
        };
        let name_len = u16_le(cell, OFF_NAME_LEN).ok_or_else(|| truncated(NK_FIXED))?;
        let needed = NK_FIXED.saturating_add(usize::from(name_len));
        if cell.len() < needed {
            return Err(truncated(needed));
        }
        Ok(Key {
            hive,
            offset,
            cell,
            depth,
        })
    }

    fn u32_field(&self, off: usize) -> u32 {
        // load() checked the cell holds the whole fixed part.
        u32_le(self.cell, off).unwrap_or(0)
    }

    /// Cell offset of the key node (relative to the hive bins data; file offset = + 4096).
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// Levels below the root (the root is 0).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The `nk` flags (see the `KEY_*` constants).
    pub fn flags(&self) -> u16 {
        u16_le(self.cell, OFF_FLAGS).unwrap_or(0)
    }

    /// Last written timestamp (FILETIME, 100 ns ticks since 1601-01-01 UTC).
    pub fn last_written(&self) -> u64 {
        u64_le(self.cell, OFF_LAST_WRITTEN).unwrap_or(0)
    }

    /// Cell offset of the parent key node as stored (meaningless for the root).
    pub fn parent_offset(&self) -> u32 {
        self.u32_field(OFF_PARENT)
    }

    /// Number of (non-volatile) subkeys according to the key node.
    pub fn subkey_count(&self) -> u32 {
        self.u32_field(OFF_SUBKEY_COUNT)
    }

    /// Number of values according to the key node (0 for a predefined-handle key).
    pub fn value_count(&self) -> u32 {
        if self.flags() & KEY_PREDEF_HANDLE != 0 {
            0
        } else {
            self.u32_field(OFF_VALUE_COUNT)
        }
    }

    /// Cell offset of the key security (`sk`) cell.
    pub fn security_offset(&self) -> u32 {
        self.u32_field(OFF_SECURITY)
    }

    /// The key is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.flags() & KEY_SYM_LINK != 0
    }

    fn name_bytes(&self) -> &'h [u8] {
        let len = u16_le(self.cell, OFF_NAME_LEN).unwrap_or(0);
        self.cell
            .get(NK_FIXED..NK_FIXED.saturating_add(usize::from(len)))
            .unwrap_or_default()
    }

    fn name_is_ascii(&self) -> bool {
        self.flags() & KEY_COMP_NAME != 0
    }

    /// The key's name (Latin-1 or UTF-16LE on disk; invalid UTF-16 becomes U+FFFD).
    pub fn name(&self) -> String {
        names::decode(self.name_bytes(), self.name_is_ascii())
    }

    /// Whether the key's name equals `name`, ignoring case.
    pub fn name_matches(&self, name: &str) -> bool {
        names::eq_ignore_case(self.name_bytes(), self.name_is_ascii(), name)
    }

    /// The key's class name, if it has one (UTF-16LE on disk).
    pub fn class_name(&self) -> Result<Option<String>, RegfError> {
        let off = self.u32_field(OFF_CLASS);
        let len = u16_le(self.cell, OFF_CLASS_LEN).unwrap_or(0);
        if off == NO_CELL || len == 0 {
            return Ok(None);
        }
        let cell = self.hive.cell(off, Structure::ClassName)?;
        let bytes = cell.get(..usize::from(len)).ok_or(RegfError::Truncated {
            structure: Structure::ClassName,
            offset: off,
            needed: u64::from(len),
            available: u64::try_from(cell.len()).unwrap_or(u64::MAX),
        })?;
        Ok(Some(names::decode(bytes, false)))
    }

    /// Cell offsets of the subkey key nodes, in list order, validated against the key's subkey
    /// count, without loading the key nodes.
    fn subkey_offsets(&self) -> Result<Vec<u32>, RegfError> {
        let count = self.subkey_count();
        if count == 0 {
            return Ok(Vec::new());
        }
        if count > MAX_SUBKEYS_PER_KEY {
            return Err(RegfError::LimitExceeded {
                structure: Structure::Nk,
                offset: self.offset,
                what: "subkey count",
                count: u64::from(count),
                limit: u64::from(MAX_SUBKEYS_PER_KEY),
            });
        }
        if self.depth >= MAX_KEY_DEPTH {
            return Err(RegfError::KeyTooDeep {
                offset: self.offset,
                limit: MAX_KEY_DEPTH,
            });
        }
        let list = self.u32_field(OFF_SUBKEY_LIST);
        let cap = usize::try_from(count).unwrap_or(0);
        let mut walker = ListWalker {
            hive: self.hive,
            out: Vec::with_capacity(cap),
            limit: cap,
            lists_seen: HashSet::new(),
        };
        walker.collect(list, 0, (Structure::Nk, self.offset))?;
        if walker.out.len() != cap {
            return Err(RegfError::CountMismatch {
                structure: Structure::Nk,
                offset: self.offset,
                what: "subkeys in the subkeys list vs the key's subkey count",
                expected: u64::from(count),
                found: u64::try_from(walker.out.len()).unwrap_or(u64::MAX),
            });
        }
        let mut seen = HashSet::with_capacity(cap);
        for &child in &walker.out {
            if child == self.offset || !seen.insert(child) {
                return Err(RegfError::Cycle {
                    structure: Structure::SubkeyList,
                    offset: list,
                    target: child,
                });
            }
        }
        Ok(walker.out)
    }

    fn child(&self, offset: u32) -> Result<Key<'h>, RegfError> {
        let child = Key::load(self.hive, offset, self.depth.saturating_add(1))?;
        if child.parent_offset() != self.offset {
            return Err(RegfError::ParentMismatch {
                offset,
                expected: self.offset,
                found: child.parent_offset(),
            });
        }
        Ok(child)
    }

    /// All subkeys, in list order (sorted by upper-case name in a well-formed hive).
    pub fn subkeys(&self) -> Result<Vec<Key<'h>>, RegfError> {
        self.subkey_offsets()?
            .into_iter()
            .map(|off| self.child(off))
            .collect()
    }

    /// The subkey called `name` (case-insensitive), if any.
    pub fn subkey(&self, name: &str) -> Result<Option<Key<'h>>, RegfError> {
        for off in self.subkey_offsets()? {
            let child = self.child(off)?;
            if child.name_matches(name) {
                return Ok(Some(child));
            }
        }
        Ok(None)
    }

    fn value_offsets(&self) -> Result<Vec<u32>, RegfError> {
        let count = self.value_count();
        if count == 0 {
            return Ok(Vec::new());
        }
        if count > MAX_VALUES_PER_KEY {
            return Err(RegfError::LimitExceeded {
                structure: Structure::Nk,
                offset: self.offset,
                what: "value count",
                count: u64::from(count),
                limit: u64::from(MAX_VALUES_PER_KEY),
            });
        }
        let list = self.u32_field(OFF_VALUE_LIST);
        let cell = self.hive.cell(list, Structure::ValueList)?;
        let n = usize::try_from(count).unwrap_or(0);
        let needed = n.saturating_mul(4);
        if cell.len() < needed {
            return Err(RegfError::Truncated {
                structure: Structure::ValueList,
                offset: list,
                needed: u64::try_from(needed).unwrap_or(u64::MAX),
                available: u64::try_from(cell.len()).unwrap_or(u64::MAX),
            });
        }
        Ok(cell
            .chunks_exact(4)
            .take(n)
            .filter_map(|c| u32_le(c, 0))
            .collect())
    }

    /// All values, in list order.
    pub fn values(&self) -> Result<Vec<Value<'h>>, RegfError> {
        self.value_offsets()?
            .into_iter()
            .map(|off| Value::load(self.hive, off))
            .collect()
    }

    /// The value called `name` (case-insensitive); `""` is the key's default value.
    pub fn value(&self, name: &str) -> Result<Option<Value<'h>>, RegfError> {
        for off in self.value_offsets()? {
            let v = Value::load(self.hive, off)?;
            if v.name_matches(name) {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }
}

/// Collects key node offsets from a subkeys list tree.
struct ListWalker<'h> {
    hive: &'h Hive,
    out: Vec<u32>,
    /// The owning key's subkey count: more entries than this is corruption.
    limit: usize,
    lists_seen: HashSet<u32>,
}

impl ListWalker<'_> {
    /// Collect the entries of the list at `list`, referenced by `from` (structure, offset).
    fn collect(
        &mut self,
        list: u32,
        nesting: u32,
        from: (Structure, u32),
    ) -> Result<(), RegfError> {
        if !self.lists_seen.insert(list) {
            return Err(RegfError::Cycle {
                structure: from.0,
                offset: from.1,
                target: list,
            });
        }
        let cell = self.hive.cell(list, Structure::SubkeyList)?;
        let (sig, count) = sig_and_count(cell).ok_or(RegfError::Truncated {
            structure: Structure::SubkeyList,
            offset: list,
            needed: 4,
            available: u64::try_from(cell.len()).unwrap_or(u64::MAX),
        })?;
        let (structure, elem) = match &sig {
            b"lf" => (Structure::Lf, 8usize),
            b"lh" => (Structure::Lh, 8),
            b"li" => (Structure::Li, 4),
            b"ri" => (Structure::Ri, 4),
            _ => {
                return Err(RegfError::BadRecord {
                    structure: Structure::SubkeyList,
                    offset: list,
                    expected: "\"lf\", \"lh\", \"li\" or \"ri\"",
                    found: escape_sig(&sig),
                })
            }
        };
        let n = usize::from(count);
        let needed = n.saturating_mul(elem).saturating_add(4);
        let entries = cell.get(4..needed).ok_or(RegfError::Truncated {
            structure,
            offset: list,
            needed: u64::try_from(needed).unwrap_or(u64::MAX),
            available: u64::try_from(cell.len()).unwrap_or(u64::MAX),
        })?;
        for entry in entries.chunks_exact(elem) {
            let target = u32_le(entry, 0).unwrap_or(NO_CELL);
            if structure == Structure::Ri {
                let next = nesting.saturating_add(1);
                if next >= MAX_LIST_NESTING {
                    return Err(RegfError::NestingTooDeep {
                        structure,
                        offset: list,
                        limit: MAX_LIST_NESTING,
                    });
                }
                self.collect(target, next, (Structure::Ri, list))?;
            } else {
                if self.out.len() >= self.limit {
                    return Err(RegfError::CountMismatch {
                        structure,
                        offset: list,
                        what: "subkeys listed vs the key's subkey count",
                        expected: u64::try_from(self.limit).unwrap_or(u64::MAX),
                        found: u64::try_from(self.out.len())
                            .unwrap_or(u64::MAX)
                            .saturating_add(1),
                    });
                }
                self.out.push(target);
            }
        }
        Ok(())
    }
}
