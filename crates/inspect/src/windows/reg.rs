//! Reading hives out of the guest and values out of hives, with every failure turned into a
//! `problems` line instead of an error: one unreadable key must not hide the rest of the facts
//! (design invariant 3).

use super::HiveStatus;
use imgcheck_fs::GuestFs;
use imgcheck_regf::{Hive, Key, ValueData};
use std::cell::RefCell;

/// Largest hive read into memory. Hives can exceed `Limits::max_file_bytes` (64 MiB): a busy
/// server's `SOFTWARE` reaches 100–300 MiB and `COMPONENTS` more. The regf format's cell offsets
/// are 32-bit, but Windows itself refuses hives above 2 GiB and no real `SYSTEM`/`SOFTWARE` comes
/// near 512 MiB; the hive is held once, as one `Vec<u8>`, so the bound is also the memory cost.
/// The filesystem layer still applies its own `Limits::max_file_bytes` to the read: the engine
/// must open the system volume with a limit at least this large for bigger hives to be read.
pub const MAX_HIVE_BYTES: u64 = 512 << 20;

/// Read and parse the hive at `path`; record what happened in `status` and `problems`.
pub(super) fn load_hive(
    fs: &dyn GuestFs,
    name: &str,
    path: &str,
    problems: &mut Vec<String>,
) -> (HiveStatus, Option<Hive>) {
    let mut status = HiveStatus {
        name: name.to_string(),
        path: path.to_string(),
        ..HiveStatus::default()
    };
    let fail = |status: &mut HiveStatus, problems: &mut Vec<String>, msg: String| {
        problems.push(format!("{name} hive {path}: {msg}"));
        status.error = Some(msg);
    };
    let meta = match fs.metadata(path) {
        Ok(m) => m,
        Err(e) => {
            if e.kind() == imgcheck_core::ErrorKind::NotFound {
                fail(&mut status, problems, "missing".to_string());
            } else {
                fail(&mut status, problems, imgcheck_core::error_chain(&e));
            }
            return (status, None);
        }
    };
    status.present = true;
    status.size = meta.size;
    if meta.size > MAX_HIVE_BYTES {
        fail(
            &mut status,
            problems,
            format!(
                "{} bytes exceed the hive limit of {MAX_HIVE_BYTES}",
                meta.size
            ),
        );
        return (status, None);
    }
    let bytes = match fs.read(path, meta.size) {
        Ok(b) => b,
        Err(e) => {
            fail(&mut status, problems, imgcheck_core::error_chain(&e));
            return (status, None);
        }
    };
    match Hive::parse(bytes) {
        Ok(h) => {
            let info = h.info();
            status.parsed = true;
            status.dirty = info.dirty;
            status.checksum_ok = info.checksum_ok;
            status.anomalies = h.anomalies().iter().map(|a| a.to_string()).collect();
            (status, Some(h))
        }
        Err(e) => {
            fail(&mut status, problems, imgcheck_core::error_chain(&e));
            (status, None)
        }
    }
}

/// A hive with a problem log: every accessor returns `None`/empty on error and records it.
pub(super) struct Reg<'h> {
    pub hive: &'h Hive,
    name: &'static str,
    problems: RefCell<Vec<String>>,
}

impl<'h> Reg<'h> {
    pub fn new(hive: &'h Hive, name: &'static str) -> Reg<'h> {
        Reg {
            hive,
            name,
            problems: RefCell::new(Vec::new()),
        }
    }

    /// The problems recorded so far.
    pub fn into_problems(self) -> Vec<String> {
        self.problems.into_inner()
    }

    fn note(&self, what: &str, e: &imgcheck_regf::RegfError) {
        self.problems.borrow_mut().push(format!(
            "{} hive: {what}: {}",
            self.name,
            imgcheck_core::error_chain(e)
        ));
    }

    /// The key at `path` (case-insensitive), `None` if absent or unreadable.
    pub fn key(&self, path: &str) -> Option<Key<'h>> {
        match self.hive.open(path) {
            Ok(k) => k,
            Err(e) => {
                self.note(path, &e);
                None
            }
        }
    }

    /// Subkeys of `key` (at `path`, for messages), empty on error.
    pub fn subkeys(&self, key: &Key<'h>, path: &str) -> Vec<Key<'h>> {
        key.subkeys().unwrap_or_else(|e| {
            self.note(path, &e);
            Vec::new()
        })
    }

    /// The subkey `name` of `key`.
    pub fn child(&self, key: &Key<'h>, name: &str) -> Option<Key<'h>> {
        key.subkey(name).unwrap_or_else(|e| {
            self.note(name, &e);
            None
        })
    }

    /// The decoded value `name` of `key`.
    pub fn value(&self, key: &Key<'h>, name: &str) -> Option<ValueData> {
        let v = match key.value(name) {
            Ok(v) => v?,
            Err(e) => {
                self.note(&format!("{}\\{name}", key.name()), &e);
                return None;
            }
        };
        match v.data() {
            Ok(d) => Some(d),
            Err(e) => {
                self.note(&format!("{}\\{name}", key.name()), &e);
                None
            }
        }
    }

    /// A string value (REG_SZ, REG_EXPAND_SZ, REG_LINK; the first string of a REG_MULTI_SZ).
    pub fn string(&self, key: &Key<'h>, name: &str) -> Option<String> {
        match self.value(key, name)? {
            ValueData::MultiString(v) => v.into_iter().next(),
            d => d.as_string(),
        }
    }

    /// A number: REG_DWORD/REG_QWORD, or a string of decimal digits (some writers use REG_SZ).
    pub fn number(&self, key: &Key<'h>, name: &str) -> Option<u64> {
        let d = self.value(key, name)?;
        d.as_u64()
            .or_else(|| d.as_string().and_then(|s| s.trim().parse().ok()))
    }

    /// [`Reg::number`] as u32 (values that do not fit are treated as absent).
    pub fn dword(&self, key: &Key<'h>, name: &str) -> Option<u32> {
        self.number(key, name).and_then(|n| u32::try_from(n).ok())
    }

    /// The strings of a REG_MULTI_SZ (or one REG_SZ), as stored.
    pub fn strings(&self, key: &Key<'h>, name: &str) -> Vec<String> {
        match self.value(key, name) {
            Some(ValueData::MultiString(v)) => v,
            Some(d) => d.as_string().into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// Every value of `key` (at `path`, for messages) with its decoded data, in stored order;
    /// values that cannot be decoded are problems and left out.
    pub fn values(&self, key: &Key<'h>, path: &str) -> Vec<(String, ValueData)> {
        let list = match key.values() {
            Ok(v) => v,
            Err(e) => {
                self.note(path, &e);
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for v in list {
            match v.data() {
                Ok(d) => out.push((v.name(), d)),
                Err(e) => self.note(&format!("{path}\\{}", v.name()), &e),
            }
        }
        out
    }

    /// `string` of the key at `path`.
    pub fn string_at(&self, path: &str, name: &str) -> Option<String> {
        self.string(&self.key(path)?, name)
    }

    /// `dword` of the key at `path`.
    pub fn dword_at(&self, path: &str, name: &str) -> Option<u32> {
        self.dword(&self.key(path)?, name)
    }
}
