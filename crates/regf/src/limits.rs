//! Format constants (from Suhanov's "Windows registry file format specification") and the bounds
//! this crate puts on everything a hive's bytes could otherwise drive: allocations, loops and
//! recursion. Each limit says why its value is safe for real hives.

/// Size of the base block (file header); cell offsets are relative to its end.
pub const BASE_BLOCK_SIZE: usize = 4096;
/// [`BASE_BLOCK_SIZE`] as a file offset.
pub const BASE_BLOCK_SIZE_U64: u64 = 4096;
const _: () = assert!(BASE_BLOCK_SIZE_U64 == 4096 && BASE_BLOCK_SIZE == 4096);
/// Hive bins are multiples of this size.
pub const HBIN_ALIGN: u32 = 4096;
/// Size of a hive bin header; the first cell of a bin follows it.
pub const HBIN_HEADER_SIZE: u32 = 32;
/// "No cell" value of cell offset fields.
pub const NO_CELL: u32 = 0xFFFF_FFFF;
/// Smallest possible cell: the 4-byte size field plus 4 bytes of data (cells are 8-aligned).
pub const MIN_CELL_SIZE: u64 = 8;
/// Largest data segment of a big data (`db`) record, and the size above which a value's data
/// is stored as big data when the hive's minor version is greater than 3.
pub const BIG_DATA_SEGMENT: usize = 16_344;
/// Bytes of the fixed part of a key node (`nk`) before its name.
pub const NK_FIXED: usize = 76;
/// Bytes of the fixed part of a key value (`vk`) before its name.
pub const VK_FIXED: usize = 20;

/// Subkeys of one key read by [`crate::Key::subkeys`]. The format has no limit but the hive
/// size; the largest keys of real hives (`SOFTWARE\Classes`, `CLSID`) hold tens of thousands.
/// 1,048,576 keys cost at most ~32 MiB of `Key` handles.
pub const MAX_SUBKEYS_PER_KEY: u32 = 1 << 20;
/// Values of one key read by [`crate::Key::values`]. Real keys with the most values
/// (`SharedDlls`, `Installer\Folders`) hold tens of thousands; same bound as subkeys.
pub const MAX_VALUES_PER_KEY: u32 = 1 << 20;
/// Nesting of subkeys lists: an index root (`ri`) may not point to another index root, so
/// real hives nest exactly 2 levels (`ri` → leaf). A few more levels are tolerated for odd
/// writers; beyond that the hive is corrupt or hostile.
pub const MAX_LIST_NESTING: u32 = 4;
/// Bytes of one value's data. Microsoft's documented guideline for values is 1 MB ("Registry
/// element size limits"); big data can describe up to ~1 GiB (65,535 segments). 64 MiB is far
/// beyond real values and matches `Limits::max_file_bytes`.
pub const MAX_VALUE_DATA_BYTES: u32 = 64 << 20;
/// Key path depth: Windows allows 512 levels in the hierarchy of keys ("Registry element size
/// limits"). Bounds recursion of any walker and the components [`crate::Hive::open`] accepts.
pub const MAX_KEY_DEPTH: u32 = 512;
/// Keys visited by one [`crate::Hive::walk`]. A key node takes at least 80 bytes, so a 2 GiB
/// hive (the format's offsets are 32-bit) holds fewer than 27 million; 32 million bounds the
/// walk even on a hive made only of key nodes.
pub const MAX_WALK_KEYS: u64 = 32 << 20;
/// Errors kept by one [`crate::Hive::walk`]; further errors are counted, not stored.
pub const MAX_WALK_ERRORS: usize = 100;
