//! `SYSTEM\DriverDatabase`: the Plug and Play driver database of Windows 8 / Server 2012 and
//! later (NT ≥ 6.2), which replaced `CriticalDeviceDatabase` for binding devices to drivers.
//!
//! Layout (as Windows writes it; checks.md §3 `virtio_storage`, virt-v2v `windows_virtio.ml`):
//! - `DeviceIds\<enumerator>\<hardware id>`: one value per driver package that matches the id,
//!   named by the package's *published* INF (`oem3.inf` for third-party packages, the original
//!   name for inbox ones), REG_BINARY rank data (`01 ff 00 00`).
//! - `DriverInfFiles\<published inf>`: default value REG_MULTI_SZ of package names
//!   (`viostor.inf_amd64_<hash>`), `Active` the one in use, `Configurations` its install sections.
//! - `DriverPackages\<package>`: default value the published INF, `InfName` the original INF,
//!   `Provider`, `Version` (REG_BINARY: at 8 the setup class GUID, at 24 the `DriverVer` date as a
//!   FILETIME, at 32 the `DriverVer` version as four 16-bit parts in a little-endian u64 — the
//!   `ftDriverDate`/`dwlDriverVersion` pair of the SetupAPI driver structures), and
//!   `Configurations\<section>\Service`, the service the package installs.
//!
//! Only entries of interest are kept: device ids of cloud hardware (virtio, NVMe, Xen, Hyper-V,
//! ENA; the same substrings as the critical device database), packages of the cloud drivers
//! ([`super::files::CLOUD_DRIVERS`]) and packages those device ids resolve to. Lists are bounded
//! by [`MAX_LIST`]. Our own code.

use super::reg::Reg;
use super::{WindowsFacts, MAX_LIST};
use imgcheck_core::bytes::{array, u64_le};
use imgcheck_regf::ValueData;
use serde::{Deserialize, Serialize};

/// Offsets in a `DriverPackages\<pkg>\Version` blob.
const VERSION_CLASS_GUID: usize = 8;
const VERSION_DATE: usize = 24;
const VERSION_NUMBER: usize = 32;

/// FILETIME ticks (100 ns) per day, and days from 1601-01-01 to 1970-01-01.
const TICKS_PER_DAY: u64 = 864_000_000_000;
const DAYS_1601_TO_1970: i64 = 134_774;

/// A hardware id under `DriverDatabase\DeviceIds`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverDbDeviceId {
    /// `<enumerator>\<id>` as stored, e.g. `PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00`.
    pub id: String,
    /// The published INF names listed for it (value names), e.g. `oem3.inf`.
    pub infs: Vec<String>,
}

/// A `DriverDatabase\DriverInfFiles\<published inf>` key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverDbInfFile {
    /// Published INF name, e.g. `oem3.inf`.
    pub inf: String,
    /// Driver packages published under it (default value).
    pub packages: Vec<String>,
    /// `Active`: the package in use.
    pub active: Option<String>,
}

/// A `DriverDatabase\DriverPackages\<package>` key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverDbPackage {
    /// Package (driver store) name, e.g. `viostor.inf_amd64_5c4e8f2a1b3d6e70`.
    pub name: String,
    /// Published INF (default value), e.g. `oem3.inf`.
    pub published_inf: Option<String>,
    /// `InfName`: the package's original INF, e.g. `viostor.inf`.
    pub inf_name: Option<String>,
    /// `Provider`.
    pub provider: Option<String>,
    /// `DriverVer` version from the `Version` blob, e.g. `100.94.104.24800`.
    pub version: Option<String>,
    /// `DriverVer` date from the `Version` blob, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Setup class GUID from the `Version` blob, lowercase with braces.
    pub class_guid: Option<String>,
    /// Services its configurations install (`Configurations\*\Service`), sorted.
    pub services: Vec<String>,
    /// `\Windows\System32\DriverStore\FileRepository\<package>` exists.
    pub file_repository: bool,
}

/// What `SYSTEM\DriverDatabase` says about cloud hardware and drivers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DriverDatabaseFacts {
    /// `SYSTEM\DriverDatabase` exists (Windows 8 / Server 2012 and later).
    pub present: bool,
    /// Hardware ids of interest, sorted case-insensitively.
    pub device_ids: Vec<DriverDbDeviceId>,
    /// INF files those ids and packages are published as, sorted.
    pub inf_files: Vec<DriverDbInfFile>,
    /// Packages of interest, sorted.
    pub packages: Vec<DriverDbPackage>,
}

/// Decode a `DriverPackages\<pkg>\Version` blob: (version, date, class GUID). Fields that do
/// not fit in `data` are `None`; a zero date or version is absent.
pub fn decode_package_version(data: &[u8]) -> (Option<String>, Option<String>, Option<String>) {
    let class = array::<16>(data, VERSION_CLASS_GUID)
        .filter(|g| g.iter().any(|b| *b != 0))
        .map(|g| format!("{{{}}}", super::decode::guid_lower(&g)));
    let date = u64_le(data, VERSION_DATE)
        .filter(|t| *t != 0)
        .and_then(filetime_date);
    let version = u64_le(data, VERSION_NUMBER).filter(|v| *v != 0).map(|v| {
        let part = |shift: u32| (v.checked_shr(shift).unwrap_or(0)) & 0xFFFF;
        format!("{}.{}.{}.{}", part(48), part(32), part(16), part(0))
    });
    (version, date, class)
}

/// A FILETIME as a UTC calendar date `YYYY-MM-DD` (Howard Hinnant's civil-from-days).
#[allow(clippy::arithmetic_side_effects)] // days ≤ u64::MAX / TICKS_PER_DAY (≈ 2.1e7): no overflow
fn filetime_date(ticks: u64) -> Option<String> {
    let days = i64::try_from(ticks / TICKS_PER_DAY).ok()?;
    let z = days.checked_sub(DAYS_1601_TO_1970)?.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe.checked_add(era.checked_mul(400)?)? + i64::from(m <= 2);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// The packages a device id of `db` resolves to: through each listed INF's `DriverInfFiles`
/// entry (its active package, else all its packages), or a package published under that INF.
pub fn packages_for_device<'a>(
    db: &'a DriverDatabaseFacts,
    dev: &DriverDbDeviceId,
) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for inf in &dev.infs {
        if let Some(f) = db
            .inf_files
            .iter()
            .find(|f| f.inf.eq_ignore_ascii_case(inf))
        {
            match &f.active {
                Some(a) => out.push(a.as_str()),
                None => out.extend(f.packages.iter().map(String::as_str)),
            }
        }
        out.extend(
            db.packages
                .iter()
                .filter(|p| {
                    p.published_inf
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(inf))
                })
                .map(|p| p.name.as_str()),
        );
    }
    out.sort_by_key(|s| s.to_lowercase());
    out.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    out
}

/// True when `pkg` belongs to driver `name`: its name is `<name>.inf_…`, its `InfName` is
/// `<name>.inf`, or one of its configurations installs service `name`.
pub fn package_is_driver(pkg: &DriverDbPackage, name: &str) -> bool {
    let lower = pkg.name.to_lowercase();
    lower.starts_with(&format!("{}.inf_", name.to_lowercase()))
        || pkg
            .inf_name
            .as_deref()
            .is_some_and(|i| i.eq_ignore_ascii_case(&format!("{name}.inf")))
        || pkg.services.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// The driver database packages of driver `name` and the device ids that resolve to them.
pub fn driver_entries(db: &DriverDatabaseFacts, name: &str) -> (Vec<String>, Vec<String>) {
    let packages: Vec<String> = db
        .packages
        .iter()
        .filter(|p| package_is_driver(p, name))
        .map(|p| p.name.clone())
        .collect();
    let devices: Vec<String> = db
        .device_ids
        .iter()
        .filter(|d| {
            packages_for_device(db, d)
                .iter()
                .any(|p| packages.iter().any(|q| q.eq_ignore_ascii_case(p)))
        })
        .map(|d| d.id.clone())
        .collect();
    (packages, devices)
}

fn interesting_id(id: &str) -> bool {
    let lower = id.to_lowercase();
    super::system::CRITICAL_MATCHES
        .iter()
        .any(|m| lower.contains(m))
}

fn cloud_package(name: &str) -> bool {
    let lower = name.to_lowercase();
    super::files::CLOUD_DRIVERS
        .iter()
        .any(|(d, _)| lower.starts_with(&format!("{d}.inf_")))
}

/// Read `SYSTEM\DriverDatabase` into `f.driver_database`.
pub(super) fn read(r: &Reg<'_>, f: &mut WindowsFacts) {
    let Some(db) = r.key("DriverDatabase") else {
        return;
    };
    let mut facts = DriverDatabaseFacts {
        present: true,
        ..DriverDatabaseFacts::default()
    };
    let out = &mut facts;

    let mut problems = Vec::new();
    // Device ids of interest: DeviceIds\<enumerator>\<id>.
    if let Some(ids) = r.child(&db, "DeviceIds") {
        'outer: for e in r.subkeys(&ids, "DriverDatabase\\DeviceIds") {
            let enumerator = e.name();
            for k in r.subkeys(&e, &format!("DriverDatabase\\DeviceIds\\{enumerator}")) {
                let id = format!("{enumerator}\\{}", k.name());
                if !interesting_id(&id) {
                    continue;
                }
                if out.device_ids.len() >= MAX_LIST {
                    problems.push(format!(
                        "SYSTEM hive: DriverDatabase\\DeviceIds: more than {MAX_LIST} device ids of interest, list cut"
                    ));
                    break 'outer;
                }
                let path = format!("DriverDatabase\\DeviceIds\\{id}");
                let mut infs: Vec<String> = r
                    .values(&k, &path)
                    .into_iter()
                    .map(|(n, _)| n)
                    .filter(|n| !n.is_empty())
                    .take(MAX_LIST)
                    .collect();
                infs.sort_by_key(|s| s.to_lowercase());
                out.device_ids.push(DriverDbDeviceId { id, infs });
            }
        }
        out.device_ids.sort_by_key(|d| d.id.to_lowercase());
    }

    // Packages: the cloud drivers' packages.
    let mut wanted: Vec<String> = Vec::new();
    let packages_key = r.child(&db, "DriverPackages");
    if let Some(pk) = &packages_key {
        for k in r.subkeys(pk, "DriverDatabase\\DriverPackages") {
            let n = k.name();
            if cloud_package(&n) && wanted.len() < MAX_LIST {
                wanted.push(n);
            }
        }
    }
    // INF files: those the device ids name, then those the packages are published as.
    let inf_key = r.child(&db, "DriverInfFiles");
    let mut infs: Vec<String> = out
        .device_ids
        .iter()
        .flat_map(|d| d.infs.iter().cloned())
        .collect();
    let read_inf = |name: &str, out: &mut DriverDatabaseFacts, wanted: &mut Vec<String>| {
        if out
            .inf_files
            .iter()
            .any(|i| i.inf.eq_ignore_ascii_case(name))
            || out.inf_files.len() >= MAX_LIST
        {
            return;
        }
        let Some(k) = inf_key.as_ref().and_then(|ik| r.child(ik, name)) else {
            return;
        };
        let packages: Vec<String> = r
            .strings(&k, "")
            .into_iter()
            .filter(|s| !s.is_empty())
            .take(MAX_LIST)
            .collect();
        let active = r.string(&k, "Active").filter(|s| !s.is_empty());
        for p in packages.iter().chain(active.iter()) {
            if !wanted.iter().any(|w| w.eq_ignore_ascii_case(p)) && wanted.len() < MAX_LIST {
                wanted.push(p.clone());
            }
        }
        out.inf_files.push(DriverDbInfFile {
            inf: k.name(),
            packages,
            active,
        });
    };
    infs.sort_by_key(|s| s.to_lowercase());
    infs.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    for inf in &infs {
        read_inf(inf, out, &mut wanted);
    }

    if let Some(pk) = &packages_key {
        for name in &wanted {
            let Some(k) = r.child(pk, name) else {
                continue;
            };
            let path = format!("DriverDatabase\\DriverPackages\\{name}");
            let (version, date, class_guid) = match r.value(&k, "Version") {
                Some(ValueData::Binary(b)) | Some(ValueData::Other { bytes: b, .. }) => {
                    decode_package_version(&b)
                }
                _ => (None, None, None),
            };
            let mut services = Vec::new();
            if let Some(c) = r.child(&k, "Configurations") {
                for s in r.subkeys(&c, &format!("{path}\\Configurations")) {
                    if let Some(svc) = r.string(&s, "Service").filter(|s| !s.is_empty()) {
                        if services.len() < MAX_LIST {
                            services.push(svc);
                        }
                    }
                }
            }
            services.sort_by_key(|s: &String| s.to_lowercase());
            services.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
            out.packages.push(DriverDbPackage {
                name: k.name(),
                published_inf: r.string(&k, "").filter(|s| !s.is_empty()),
                inf_name: r.string(&k, "InfName"),
                provider: r.string(&k, "Provider"),
                version,
                date,
                class_guid,
                services,
                file_repository: false,
            });
        }
    }
    // The INF files the cloud packages are published as.
    let published: Vec<String> = out
        .packages
        .iter()
        .filter_map(|p| p.published_inf.clone())
        .collect();
    for inf in &published {
        let mut ignored = Vec::new();
        read_inf(inf, out, &mut ignored);
    }
    out.packages.sort_by_key(|p| p.name.to_lowercase());
    out.inf_files.sort_by_key(|i| i.inf.to_lowercase());
    f.driver_database = facts;
    f.problems.extend(problems);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// The `Version` blob of a virtio-win 100.94.104.24800 package (SCSIAdapter class,
    /// DriverVer 08/15/2023).
    fn version_blob() -> Vec<u8> {
        let mut b = vec![0x00, 0xff, 0x09, 0x00, 0, 0, 0, 0];
        b.extend([
            0x7b, 0xe9, 0x36, 0x4d, 0x25, 0xe3, 0xce, 0x11, 0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1,
            0x03, 0x18,
        ]);
        // 2023-08-15 00:00 UTC as FILETIME.
        let ticks: u64 = (1_692_057_600 + 11_644_473_600) * 10_000_000;
        b.extend(ticks.to_le_bytes());
        let v: u64 = (100 << 48) | (94 << 32) | (104 << 16) | 24800;
        b.extend(v.to_le_bytes());
        b.extend([0u8; 8]);
        b
    }

    #[test]
    fn version_blob_decodes() {
        let (v, d, c) = decode_package_version(&version_blob());
        assert_eq!(v.as_deref(), Some("100.94.104.24800"));
        assert_eq!(d.as_deref(), Some("2023-08-15"));
        assert_eq!(c.as_deref(), Some("{4d36e97b-e325-11ce-bfc1-08002be10318}"));
        // Truncated blobs keep what fits; nothing panics.
        let b = version_blob();
        for n in 0..b.len() {
            let (v, d, c) = decode_package_version(&b[..n]);
            assert_eq!(v.is_some(), n >= 40, "{n}");
            assert_eq!(d.is_some(), n >= 32, "{n}");
            assert_eq!(c.is_some(), n >= 24, "{n}");
        }
        // Extreme dates do not overflow.
        let mut b = version_blob();
        b[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_package_version(&b).1.is_some());
        assert_eq!(filetime_date(0), Some("1601-01-01".into()));
        assert_eq!(
            filetime_date(116_444_736_000_000_000),
            Some("1970-01-01".into())
        );
    }

    fn db() -> DriverDatabaseFacts {
        DriverDatabaseFacts {
            present: true,
            device_ids: vec![
                DriverDbDeviceId {
                    id: r"PCI\VEN_1AF4&DEV_1000".into(),
                    infs: vec!["oem4.inf".into()],
                },
                DriverDbDeviceId {
                    id: r"PCI\VEN_1AF4&DEV_1001".into(),
                    infs: vec!["oem3.inf".into()],
                },
                DriverDbDeviceId {
                    id: r"PCI\VEN_1AF4&DEV_1004".into(),
                    infs: vec!["oem9.inf".into()],
                },
            ],
            inf_files: vec![DriverDbInfFile {
                inf: "oem3.inf".into(),
                packages: vec![
                    "viostor.inf_amd64_old".into(),
                    "viostor.inf_amd64_new".into(),
                ],
                active: Some("viostor.inf_amd64_new".into()),
            }],
            packages: vec![
                DriverDbPackage {
                    name: "netkvm.inf_amd64_1".into(),
                    published_inf: Some("oem4.inf".into()),
                    services: vec!["netkvm".into()],
                    ..DriverDbPackage::default()
                },
                DriverDbPackage {
                    name: "viostor.inf_amd64_new".into(),
                    published_inf: Some("oem3.inf".into()),
                    inf_name: Some("viostor.inf".into()),
                    ..DriverDbPackage::default()
                },
                DriverDbPackage {
                    name: "custom_blk.inf_amd64_2".into(),
                    services: vec!["VIOSTOR".into()],
                    ..DriverDbPackage::default()
                },
            ],
        }
    }

    #[test]
    fn devices_resolve_to_packages() {
        let db = db();
        assert_eq!(
            packages_for_device(&db, &db.device_ids[1]),
            ["viostor.inf_amd64_new"]
        );
        assert_eq!(
            packages_for_device(&db, &db.device_ids[0]),
            ["netkvm.inf_amd64_1"]
        );
        // An INF without a DriverInfFiles entry or package resolves to nothing.
        assert!(packages_for_device(&db, &db.device_ids[2]).is_empty());
        let (p, d) = driver_entries(&db, "viostor");
        assert_eq!(p, ["viostor.inf_amd64_new", "custom_blk.inf_amd64_2"]);
        assert_eq!(d, [r"PCI\VEN_1AF4&DEV_1001"]);
        let (p, d) = driver_entries(&db, "netkvm");
        assert_eq!(p, ["netkvm.inf_amd64_1"]);
        assert_eq!(d, [r"PCI\VEN_1AF4&DEV_1000"]);
        let (p, d) = driver_entries(&db, "vioscsi");
        assert!(p.is_empty() && d.is_empty());
    }
}
