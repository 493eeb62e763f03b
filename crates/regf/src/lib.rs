//! # imgcheck-regf
//!
//! A read-only reader of Windows registry hive files (format "regf": `SYSTEM`, `SOFTWARE`,
//! `SAM`, the BCD store, …), written from Maxim Suhanov's "Windows registry file format
//! specification". It reads primary files of format versions 1.3 to 1.6: the base block
//! (sequence numbers, XOR-32 checksum), hive bins, cells, key nodes (`nk`), values (`vk`),
//! subkeys lists (`lf`, `lh`, `li`, `ri`) and big data (`db`). Transaction logs are not replayed:
//! a dirty hive is reported through [`Hive::anomalies`] and read as it is on disk.
//!
//! ## Why our own reader
//!
//! - `nt-hive` and `nt_hive2` are GPL-licensed, incompatible with imgcheck's MIT OR Apache-2.0.
//! - `notatin` builds only with `nom` pinned to 7.1.3 in the lock file and brings a large API
//!   (transaction-log replay, filters, exports) we do not need; `regf` is strict about versions.
//! - imgcheck needs every error to name the structure and its offset ([`RegfError`]), every
//!   count and size bounded by a named limit ([`limits`]), and a small surface to fuzz: the
//!   hive is one `Vec<u8>`, every read is a bounds-checked slice of it (zero-copy where the data
//!   lies in one cell), and nothing recurses without a bound.
//!
//! ## Example
//!
//! ```
//! use imgcheck_regf::{Hive, ValueData};
//! # use std::io::Read;
//! # let gz = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/registry/system.hive.gz")).unwrap();
//! # let mut bytes = Vec::new();
//! # flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut bytes).unwrap();
//! let hive = Hive::parse(bytes)?;
//! assert!(!hive.info().dirty);
//! let current = hive.open("Select")?.unwrap().value("Current")?.unwrap().data()?;
//! assert_eq!(current, ValueData::Dword(1));
//! let viostor = hive.open("controlset001/services/VIOSTOR")?.unwrap();
//! let start = viostor.value("Start")?.unwrap().data()?.as_u64();
//! assert_eq!(start, Some(0));
//! # Ok::<(), imgcheck_regf::RegfError>(())
//! ```
//!
//! Offsets in errors are cell offsets (relative to the hive bins data, as the format stores
//! them) with the file offset beside them; [`RegfError::file_offset`] gives the latter for
//! [`imgcheck_core::Anomaly`].

mod error;
mod hive;
mod key;
pub mod limits;
mod names;
mod value;

pub use error::{RegfError, Structure};
pub use hive::{Hive, HiveInfo, WalkStats};
pub use key::{Key, KEY_COMP_NAME, KEY_HIVE_ENTRY, KEY_PREDEF_HANDLE, KEY_SYM_LINK};
pub use value::{type_name, types, Value, ValueData};

#[cfg(test)]
mod testhive;
#[cfg(test)]
mod tests;
