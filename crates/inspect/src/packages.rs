//! Installed packages: dpkg's `/var/lib/dpkg/status` (deb-control(5) paragraphs: `Package`,
//! `Status: install ok installed`, `Version`, `Architecture`) and rpm's database.
//!
//! rpm ≥ 4.16 keeps its database in `/var/lib/rpm/rpmdb.sqlite` (RHEL 9, Fedora ≥ 33, SUSE ≥
//! 15.4 use it): table `Packages (hnum INTEGER PRIMARY KEY, blob BLOB)`, each blob an rpm header
//! without its 8-byte magic (`il`, `dl`, `il` 16-byte index entries `tag,type,offset,count`,
//! then the data store; rpm's `lib/header.c`, tags from `rpmtag.h`: NAME 1000, VERSION 1001,
//! RELEASE 1002, EPOCH 1003, ARCH 1022). The SQLite file is read here, in memory and read-only,
//! following "The SQLite Database File Format" (sqlite.org/fileformat2.html): 100-byte header,
//! table b-tree pages (0x05 interior, 0x0D leaf), varints, record serial types, overflow page
//! chains. Own code because only the rowid table walk is needed and no pure-Rust read-only
//! SQLite reader is small enough; every offset is bounds-checked and every walk bounded.
//! Berkeley DB `Packages` (RHEL ≤ 8) and ndb `Packages.db` (SUSE) are recognised, not read.
//! Alpine's apk keeps `/lib/apk/db/installed` (apk-tools' "installed database": one paragraph
//! per package of `X:value` lines — `P` name, `V` version, `A` architecture — separated by a
//! blank line; `apk-tools` doc/apk-v2.5 and its database.c).
//! The WAL file (`rpmdb.sqlite-wal`) is not applied: packages committed only there are missed,
//! which the result says.

use crate::view::GuestView;
use imgcheck_core::bytes::{u16_be, u32_be};
use serde::{Deserialize, Serialize};

/// SQLite header magic.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Berkeley DB hash/btree magics at offset 12 (native or swapped).
const BDB_MAGICS: &[u32] = &[0x0006_1561, 0x6115_0600, 0x0005_3162, 0x6231_0500];
/// rpm ndb magic `RpmP` at offset 0.
const NDB_MAGIC: &[u8; 4] = b"RpmP";
/// Table b-tree page types.
const PAGE_TABLE_INTERIOR: u8 = 0x05;
const PAGE_TABLE_LEAF: u8 = 0x0d;
/// rpm header tags and types.
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;
/// Most packages listed.
const MAX_PACKAGES: usize = 100_000;
/// Most b-tree pages visited in one walk (a 64 MiB file of 4 KiB pages has 16,384).
const MAX_PAGES_VISITED: usize = 1 << 20;
/// Largest rpm header accepted (rpm's own limit is 256 MiB; real ones are < 1 MiB).
const MAX_HEADER: usize = 32 << 20;
/// Bytes of dpkg status read.
const MAX_STATUS: u64 = 64 << 20;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Name.
    pub name: String,
    /// Version (`[epoch:]version-release` for rpm, as dpkg prints it for dpkg).
    pub version: String,
    /// Architecture.
    pub arch: String,
}

/// The package database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packages {
    /// `dpkg`, `rpm-sqlite`, `rpm-bdb`, `rpm-ndb`, `apk` or `none`.
    pub format: String,
    /// Database file.
    pub path: Option<String>,
    /// Installed packages (only when `readable`).
    pub list: Vec<Package>,
    /// True when the list was read; false for recognised-but-unread databases and errors.
    pub readable: bool,
    /// Why it was not (fully) read.
    pub note: Option<String>,
}

impl Packages {
    /// The installed package `name`, if the list was read.
    pub fn get(&self, name: &str) -> Option<&Package> {
        self.list.iter().find(|p| p.name == name)
    }
}

/// Parse dpkg status text: installed packages only.
pub fn parse_dpkg_status(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut name = None;
        let mut status = "";
        let mut version = String::new();
        let mut arch = String::new();
        for l in para.lines() {
            if let Some(v) = l.strip_prefix("Package:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = l.strip_prefix("Status:") {
                status = v.trim();
            } else if let Some(v) = l.strip_prefix("Version:") {
                version = v.trim().to_string();
            } else if let Some(v) = l.strip_prefix("Architecture:") {
                arch = v.trim().to_string();
            }
        }
        if let Some(name) = name {
            if status.ends_with(" installed")
                && status.starts_with("install")
                && out.len() < MAX_PACKAGES
            {
                out.push(Package {
                    name,
                    version,
                    arch,
                });
            }
        }
    }
    out
}

/// Errors reading an rpm sqlite database.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RpmDbError {
    /// Not a SQLite file or a bad header field.
    #[error("sqlite header: {0}")]
    Header(String),
    /// A structure points outside the file or is malformed.
    #[error("sqlite page {page}: {what}")]
    Corrupt {
        /// Page number (1-based).
        page: u32,
        /// What is wrong.
        what: String,
    },
    /// No `Packages` table in the schema.
    #[error("sqlite schema has no Packages table")]
    NoPackagesTable,
    /// A bound was reached.
    #[error("sqlite walk exceeded {0}")]
    Limit(&'static str),
}

struct Db<'a> {
    data: &'a [u8],
    page_size: usize,
    usable: usize,
}

/// Read a SQLite varint at `pos`: (value, length).
fn varint(d: &[u8], pos: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9usize {
        let b = *d.get(pos.checked_add(i)?)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(b), 9));
        }
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some((v, i.saturating_add(1)));
        }
    }
    None
}

impl<'a> Db<'a> {
    fn open(data: &'a [u8]) -> Result<Db<'a>, RpmDbError> {
        if data.get(..16) != Some(&SQLITE_MAGIC[..]) {
            return Err(RpmDbError::Header(
                "magic is not \"SQLite format 3\"".into(),
            ));
        }
        let ps = u16_be(data, 16).ok_or_else(|| RpmDbError::Header("truncated".into()))?;
        let page_size = if ps == 1 { 65_536 } else { usize::from(ps) };
        if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(RpmDbError::Header(format!(
                "page size {page_size} is not a power of two in 512..=65536"
            )));
        }
        let reserved = usize::from(*data.get(20).unwrap_or(&0));
        let usable = page_size.saturating_sub(reserved);
        if usable < 480 {
            return Err(RpmDbError::Header(format!(
                "usable page size {usable} is below 480"
            )));
        }
        Ok(Db {
            data,
            page_size,
            usable,
        })
    }

    fn page(&self, n: u32) -> Result<&'a [u8], RpmDbError> {
        let idx = usize::try_from(n.checked_sub(1).ok_or(RpmDbError::Corrupt {
            page: n,
            what: "page number 0".into(),
        })?)
        .unwrap_or(usize::MAX);
        let start = idx.saturating_mul(self.page_size);
        let end = start.saturating_add(self.page_size);
        self.data.get(start..end).ok_or(RpmDbError::Corrupt {
            page: n,
            what: format!("lies beyond the end of the {}-byte file", self.data.len()),
        })
    }

    /// Visit every row (rowid, payload) of the table b-tree rooted at `root`.
    fn walk(
        &self,
        root: u32,
        visit: &mut dyn FnMut(u64, Vec<u8>) -> bool,
    ) -> Result<(), RpmDbError> {
        let mut stack = vec![root];
        let mut visited = 0usize;
        while let Some(pn) = stack.pop() {
            visited = visited.saturating_add(1);
            if visited > MAX_PAGES_VISITED {
                return Err(RpmDbError::Limit(
                    "the page visit bound (loop in the b-tree?)",
                ));
            }
            let page = self.page(pn)?;
            let hdr = if pn == 1 { 100 } else { 0 };
            let corrupt = |what: String| RpmDbError::Corrupt { page: pn, what };
            let kind = *page.get(hdr).ok_or_else(|| corrupt("no header".into()))?;
            let cells = usize::from(
                u16_be(page, hdr.saturating_add(3))
                    .ok_or_else(|| corrupt("no cell count".into()))?,
            );
            let (ptrs, interior) = match kind {
                PAGE_TABLE_LEAF => (hdr.saturating_add(8), false),
                PAGE_TABLE_INTERIOR => (hdr.saturating_add(12), true),
                other => {
                    return Err(corrupt(format!(
                        "page type 0x{other:02x}, expected a table b-tree page (0x05 or 0x0d)"
                    )))
                }
            };
            let mut children = Vec::new();
            for c in 0..cells {
                let off = usize::from(
                    u16_be(page, ptrs.saturating_add(c.saturating_mul(2)))
                        .ok_or_else(|| corrupt(format!("cell pointer {c} out of page")))?,
                );
                if interior {
                    let child = u32_be(page, off)
                        .ok_or_else(|| corrupt(format!("cell {c} out of page")))?;
                    children.push(child);
                } else {
                    let (len, a) = varint(page, off)
                        .ok_or_else(|| corrupt(format!("cell {c} payload size")))?;
                    let (rowid, b) = varint(page, off.saturating_add(a))
                        .ok_or_else(|| corrupt(format!("cell {c} rowid")))?;
                    let payload =
                        self.payload(page, pn, off.saturating_add(a).saturating_add(b), len)?;
                    if !visit(rowid, payload) {
                        return Ok(());
                    }
                }
            }
            if interior {
                children.push(
                    u32_be(page, hdr.saturating_add(8))
                        .ok_or_else(|| corrupt("no right-most pointer".into()))?,
                );
                // Push in reverse so rows come out in rowid order.
                stack.extend(children.into_iter().rev());
            }
        }
        Ok(())
    }

    /// The payload of a table leaf cell starting at `at`, following overflow pages.
    fn payload(&self, page: &[u8], pn: u32, at: usize, len: u64) -> Result<Vec<u8>, RpmDbError> {
        let corrupt = |what: String| RpmDbError::Corrupt { page: pn, what };
        let p = usize::try_from(len).unwrap_or(usize::MAX);
        if p > MAX_HEADER.saturating_add(1024) || p > self.data.len() {
            return Err(corrupt(format!(
                "payload of {len} bytes exceeds the file or the {MAX_HEADER}-byte bound"
            )));
        }
        let u = self.usable;
        let x = u.saturating_sub(35);
        let local = if p <= x {
            p
        } else {
            let m = u
                .saturating_sub(12)
                .saturating_mul(32)
                .checked_div(255)
                .unwrap_or(0)
                .saturating_sub(23);
            let k = m.saturating_add(
                p.saturating_sub(m)
                    .checked_rem(u.saturating_sub(4).max(1))
                    .unwrap_or(0),
            );
            if k <= x {
                k
            } else {
                m
            }
        };
        let mut out = page
            .get(at..at.saturating_add(local))
            .ok_or_else(|| corrupt("cell payload runs past the page".into()))?
            .to_vec();
        let mut next = if local < p {
            u32_be(page, at.saturating_add(local))
                .ok_or_else(|| corrupt("no overflow pointer".into()))?
        } else {
            0
        };
        let mut hops = 0usize;
        while out.len() < p {
            hops = hops.saturating_add(1);
            if next == 0 || hops > self.data.len().checked_div(self.page_size).unwrap_or(0) {
                return Err(corrupt(format!(
                    "overflow chain ends after {} of {p} payload bytes",
                    out.len()
                )));
            }
            let op = self.page(next)?;
            let want = p.saturating_sub(out.len()).min(u.saturating_sub(4));
            out.extend_from_slice(
                op.get(4..4usize.saturating_add(want))
                    .ok_or_else(|| corrupt("overflow page too short".into()))?,
            );
            next = u32_be(op, 0).unwrap_or(0);
        }
        Ok(out)
    }
}

/// A record value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    Other,
}

/// Decode a record payload into values.
fn record(p: &[u8]) -> Option<Vec<Value>> {
    let (hlen, mut pos) = varint(p, 0)?;
    let hlen = usize::try_from(hlen).ok()?;
    let mut body = hlen;
    let mut out = Vec::new();
    while pos < hlen {
        let (t, n) = varint(p, pos)?;
        pos = pos.checked_add(n)?;
        // Serial types (fileformat2 §2.1): sizes 0,1,2,3,4,6,8,8,0,0 for 0..=9; blobs and text
        // of (t-12)/2 and (t-13)/2 bytes.
        let size: usize = match t {
            0 | 8 | 9 | 10 | 11 => 0,
            1..=4 => usize::try_from(t).ok()?,
            5 => 6,
            6 | 7 => 8,
            _ => usize::try_from(t.checked_sub(12)? / 2).ok()?,
        };
        let end = body.checked_add(size)?;
        let b = p.get(body..end)?;
        out.push(match t {
            0 => Value::Null,
            1..=6 => {
                let mut v: i64 = if b.first().is_some_and(|x| x & 0x80 != 0) {
                    -1
                } else {
                    0
                };
                for x in b {
                    v = v.checked_shl(8)? | i64::from(*x);
                }
                Value::Int(v)
            }
            8 => Value::Int(0),
            9 => Value::Int(1),
            t if t >= 12 && t % 2 == 0 => Value::Blob(b.to_vec()),
            t if t >= 13 => Value::Text(String::from_utf8_lossy(b).into_owned()),
            _ => Value::Other,
        });
        body = end;
    }
    Some(out)
}

/// NAME/VERSION/RELEASE/EPOCH/ARCH of an rpm header blob (without the 8-byte magic).
pub fn rpm_header(blob: &[u8]) -> Option<Package> {
    let il = usize::try_from(u32_be(blob, 0)?).ok()?;
    let dl = usize::try_from(u32_be(blob, 4)?).ok()?;
    let data_start = il.checked_mul(16)?.checked_add(8)?;
    let data = blob.get(data_start..data_start.checked_add(dl)?)?;
    let mut name = None;
    let mut version = String::new();
    let mut release = String::new();
    let mut epoch: Option<i32> = None;
    let mut arch = String::new();
    for i in 0..il {
        let e = 8usize.checked_add(i.checked_mul(16)?)?;
        let tag = u32_be(blob, e)?;
        let typ = u32_be(blob, e.checked_add(4)?)?;
        let off = usize::try_from(u32_be(blob, e.checked_add(8)?)?).ok()?;
        let s = || -> Option<String> {
            if typ != TYPE_STRING && typ != TYPE_I18NSTRING {
                return None;
            }
            let rest = data.get(off..)?;
            let end = rest.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(rest.get(..end)?).into_owned())
        };
        match tag {
            TAG_NAME => name = s(),
            TAG_VERSION => version = s().unwrap_or_default(),
            TAG_RELEASE => release = s().unwrap_or_default(),
            TAG_ARCH => arch = s().unwrap_or_default(),
            TAG_EPOCH if typ == TYPE_INT32 => {
                epoch = data
                    .get(off..off.checked_add(4)?)
                    .and_then(|b| b.try_into().ok())
                    .map(i32::from_be_bytes);
            }
            _ => {}
        }
    }
    let mut v = match epoch {
        Some(e) if e != 0 => format!("{e}:{version}"),
        _ => version,
    };
    if !release.is_empty() {
        v.push('-');
        v.push_str(&release);
    }
    Some(Package {
        name: name?,
        version: v,
        arch,
    })
}

/// Read the packages of an rpm sqlite database held in memory.
pub fn read_rpm_sqlite(data: &[u8]) -> Result<Vec<Package>, RpmDbError> {
    let db = Db::open(data)?;
    // sqlite_schema: type, name, tbl_name, rootpage, sql.
    let mut root = None;
    db.walk(1, &mut |_, p| {
        if let Some(v) = record(&p) {
            if let (Some(Value::Text(t)), Some(Value::Text(n)), Some(Value::Int(r))) =
                (v.first(), v.get(1), v.get(3))
            {
                if t == "table" && n == "Packages" {
                    root = u32::try_from(*r).ok();
                    return false;
                }
            }
        }
        true
    })?;
    let root = root.ok_or(RpmDbError::NoPackagesTable)?;
    let mut out = Vec::new();
    let mut full = false;
    db.walk(root, &mut |_, p| {
        if let Some(v) = record(&p) {
            if let Some(Value::Blob(b)) = v.get(1) {
                if let Some(pkg) = rpm_header(b) {
                    out.push(pkg);
                }
            }
        }
        if out.len() >= MAX_PACKAGES {
            full = true;
            return false;
        }
        true
    })?;
    if full {
        return Err(RpmDbError::Limit("the package count bound"));
    }
    Ok(out)
}

/// apk's installed database: the packages of `/lib/apk/db/installed`.
pub fn parse_apk_installed(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut name = None;
        let mut version = String::new();
        let mut arch = String::new();
        for l in para.lines() {
            if let Some(v) = l.strip_prefix("P:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = l.strip_prefix("V:") {
                version = v.trim().to_string();
            } else if let Some(v) = l.strip_prefix("A:") {
                arch = v.trim().to_string();
            }
        }
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            out.push(Package {
                name,
                version,
                arch,
            });
            if out.len() >= MAX_PACKAGES {
                break;
            }
        }
    }
    out
}

/// Find and read the guest's package database.
pub fn inspect(view: &GuestView, max_file_bytes: u64) -> Packages {
    if let Ok(t) = view.read_text("/var/lib/dpkg/status", MAX_STATUS) {
        let list = parse_dpkg_status(&t);
        return Packages {
            format: "dpkg".into(),
            path: Some("/var/lib/dpkg/status".into()),
            list,
            readable: true,
            note: None,
        };
    }
    for dir in ["/var/lib/rpm", "/usr/lib/sysimage/rpm"] {
        let sq = format!("{dir}/rpmdb.sqlite");
        if view.exists(&sq) {
            let mut p = Packages {
                format: "rpm-sqlite".into(),
                path: Some(sq.clone()),
                ..Packages::default()
            };
            match view.read(&sq, max_file_bytes) {
                Ok(d) => match read_rpm_sqlite(&d) {
                    Ok(list) => {
                        p.list = list;
                        p.readable = true;
                        if view
                            .metadata(&format!("{sq}-wal"))
                            .is_ok_and(|m| m.size > 0)
                        {
                            p.note = Some(format!("{sq}-wal is not empty: packages committed only there are not listed"));
                        }
                    }
                    Err(e) => p.note = Some(format!("rpm database present, not read: {e}")),
                },
                Err(e) => p.note = Some(format!("rpm database present, not read: {e}")),
            }
            return p;
        }
        for (file, format) in [("Packages", "rpm-bdb"), ("Packages.db", "rpm-ndb")] {
            let path = format!("{dir}/{file}");
            if let Ok(head) = view.read(&path, 16) {
                let kind = if head.get(..4) == Some(&NDB_MAGIC[..]) {
                    "rpm-ndb"
                } else if imgcheck_core::bytes::u32_le(&head, 12)
                    .is_some_and(|m| BDB_MAGICS.contains(&m))
                {
                    "rpm-bdb"
                } else {
                    format
                };
                return Packages {
                    format: kind.into(),
                    path: Some(path),
                    list: Vec::new(),
                    readable: false,
                    note: Some(format!("rpm database present ({kind}), not read")),
                };
            }
        }
    }
    // apk-tools 2 keeps it in /lib/apk/db; apk-tools 3 on a merged /usr in /usr/lib/apk/db.
    for p in ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"] {
        match view.read_text(p, MAX_STATUS) {
            Ok(t) => {
                return Packages {
                    format: "apk".into(),
                    path: Some(p.into()),
                    list: parse_apk_installed(&t),
                    readable: true,
                    note: None,
                };
            }
            Err(e) if view.exists(p) => {
                return Packages {
                    format: "apk".into(),
                    path: Some(p.into()),
                    note: Some(format!("apk database present, not read: {e}")),
                    ..Packages::default()
                };
            }
            Err(_) => {}
        }
    }
    Packages {
        format: "none".into(),
        ..Packages::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::testfs::MemFs;

    const SAMPLE: &[u8] = include_bytes!("../tests/data/rpmdb-sample.sqlite");

    #[test]
    fn apk() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:100\nT:the musl c library\n\nC:Q1def=\nP:cloud-init\nV:24.1.4-r0\nA:noarch\nD:python3\nF:usr/bin\nR:cloud-init\n\nV:1\n\n";
        let l = parse_apk_installed(db);
        assert_eq!(l.len(), 2);
        assert_eq!(
            l[1],
            Package {
                name: "cloud-init".into(),
                version: "24.1.4-r0".into(),
                arch: "noarch".into()
            }
        );
        let view = MemFs::new().file("/lib/apk/db/installed", db).view();
        let p = inspect(&view, 1 << 20);
        assert_eq!(
            (p.format.as_str(), p.readable, p.list.len()),
            ("apk", true, 2)
        );
        assert_eq!(p.get("musl").unwrap().version, "1.2.5-r0");
        assert_eq!(p.path.as_deref(), Some("/lib/apk/db/installed"));
    }

    #[test]
    fn dpkg() {
        let l = parse_dpkg_status("Package: a\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n\nPackage: c\nStatus: install ok installed\nVersion: 1:9.2p1-2\nDescription: x\n y\n");
        assert_eq!(l.len(), 2);
        assert_eq!(
            l[0],
            Package {
                name: "a".into(),
                version: "1.0".into(),
                arch: "amd64".into()
            }
        );
        assert_eq!(l[1].version, "1:9.2p1-2");
    }

    #[test]
    fn rpm_sqlite_sample_made_with_sqlite() {
        let l = read_rpm_sqlite(SAMPLE).unwrap();
        assert_eq!(
            l,
            vec![
                Package {
                    name: "bash".into(),
                    version: "5.1.8-9.el9".into(),
                    arch: "x86_64".into()
                },
                Package {
                    name: "kernel-core".into(),
                    version: "5.14.0-362.8.1.el9_3".into(),
                    arch: "x86_64".into()
                },
                Package {
                    name: "cloud-init".into(),
                    version: "2:23.1.1-11.el9".into(),
                    arch: "noarch".into()
                },
            ]
        );
        let view = MemFs::new()
            .file("/var/lib/rpm/rpmdb.sqlite", SAMPLE)
            .view();
        let p = inspect(&view, 1 << 20);
        assert_eq!(
            (p.format.as_str(), p.readable, p.list.len()),
            ("rpm-sqlite", true, 3)
        );
        assert!(p.get("cloud-init").is_some());
    }

    #[test]
    fn rpm_errors_and_other_dbs() {
        assert!(matches!(
            read_rpm_sqlite(b"not sqlite"),
            Err(RpmDbError::Header(_))
        ));
        let mut cut = SAMPLE.to_vec();
        cut.truncate(3000);
        assert!(read_rpm_sqlite(&cut).is_err());
        // Byte flips never panic.
        let mut seed = 7u32;
        for _ in 0..3000 {
            let mut m = SAMPLE.to_vec();
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let pos = usize::try_from(seed).unwrap() % m.len();
            m[pos] ^= u8::try_from(seed >> 24).unwrap() | 1;
            let _ = read_rpm_sqlite(&m);
        }
        let mut bdb = vec![0u8; 16];
        bdb[12..16].copy_from_slice(&0x0006_1561u32.to_le_bytes());
        let view = MemFs::new().file("/var/lib/rpm/Packages", bdb).view();
        let p = inspect(&view, 1 << 20);
        assert_eq!((p.format.as_str(), p.readable), ("rpm-bdb", false));
        assert!(p.list.is_empty());
        assert_eq!(
            p.note.as_deref(),
            Some("rpm database present (rpm-bdb), not read")
        );
        let view = MemFs::new()
            .file("/usr/lib/sysimage/rpm/Packages.db", b"RpmP\0\0\0\0")
            .view();
        assert_eq!(inspect(&view, 1 << 20).format, "rpm-ndb");
        assert_eq!(inspect(&MemFs::new().view(), 1 << 20).format, "none");
        assert!(rpm_header(&[0, 0, 0, 9, 0, 0, 0, 1]).is_none());
    }
}
