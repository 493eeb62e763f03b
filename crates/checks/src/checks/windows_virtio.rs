//! `windows.virtio` (GUESTOS.Virtio): virtio storage and network drivers installed so the system
//! disk is visible at boot (else STOP 0x7B INACCESSIBLE_BOOT_DEVICE) and the NIC works.
//!
//! Rule from checks.md §3 `virtio_storage` and `virtio_network` (virt-v2v `windows_virtio.ml`:
//! the storage service must be boot-start, `Start=0`, with its `.sys` in `System32\drivers`;
//! NT 6.0/6.1 also need `Control\CriticalDeviceDatabase` entries for the virtio PCI ids; NT ≥ 6.2
//! binds devices through the driver store). Applies when the profile's instances use virtio.
//! `SYSTEM\DriverDatabase` (NT ≥ 6.2) is further evidence: a storage driver that no virtio PCI id
//! of `DeviceIds` resolves to is not bound to the boot disk (virt-v2v adds those entries for
//! Windows 8 and later), a staged netkvm package is installed by Plug and Play when the NIC
//! appears, and a package whose `FileRepository` directory is gone cannot be installed.
//! Our own code.

use super::windows_platform::{ccs, need_hive, start_name, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::windows::{WinDriver, WindowsFacts};

/// virtio storage drivers: virtio-blk and virtio-scsi.
const STORAGE: &[&str] = &["viostor", "vioscsi"];
/// virtio network driver.
const NET: &str = "netkvm";
/// Boot start type (`Start=0`).
const BOOT_START: u32 = 0;

static META: CheckMeta = CheckMeta {
    id: "windows.virtio",
    alibaba_item: Some("GUESTOS.Virtio"),
    title: "virtio storage and network drivers (Windows)",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Services\{viostor,vioscsi,netkvm}: Start, ImagePath",
        r"\Windows\System32\drivers\{viostor,vioscsi,netkvm}.sys",
        r"\Windows\System32\DriverStore\FileRepository\<name>.inf_*",
        r"SYSTEM\ControlSet00n\Control\CriticalDeviceDatabase (NT 6.0/6.1)",
        r"SYSTEM\DriverDatabase\{DeviceIds\PCI\VEN_1AF4&*,DriverInfFiles,DriverPackages} (NT ≥ 6.2)",
    ],
    remedy: "Install the virtio-win drivers (viostor or vioscsi, and netkvm) in the running \
guest before exporting, and make the storage driver boot-start (Start=0); for Windows Server \
2008/2008 R2 the installer also adds the CriticalDeviceDatabase entries.",
    references: &[
        "Alibaba image check: GUESTOS.Virtio; Alibaba: install virtio drivers for Windows",
        "virt-v2v convert/windows_virtio.ml",
        "checks.md §3 virtio_storage, virtio_network",
    ],
    description: "When the target's instances use virtio devices: a strongly recommended fix \
when no virtio storage driver (viostor, vioscsi) is installed as a boot-start service with its \
.sys file, when on NT 6.0/6.1 no CriticalDeviceDatabase entry maps a virtio PCI id to it, or when \
netkvm is missing (no network), or when SYSTEM\\DriverDatabase exists (NT ≥ 6.2) but none of its \
virtio PCI ids resolves to a package of a usable storage driver (the boot disk is not bound); a \
recommended fix when an installed driver has no driver store package, when netkvm is not a \
service but its package is staged in DriverDatabase for the virtio NIC (Plug and Play installs \
it at first boot), or when a DriverDatabase package's FileRepository directory is missing. Not \
applicable for targets without virtio; not evaluated when the SYSTEM hive is unreadable.",
};

/// The check.
pub struct Virtio;

/// Problems of one installed driver as strings (empty: usable).
fn driver_problems(w: &WindowsFacts, d: &WinDriver, boot: bool) -> Vec<String> {
    let key = format!(r"{}\Services\{}", ccs(w), d.name);
    let mut out = Vec::new();
    if boot && d.start != Some(BOOT_START) {
        out.push(format!(
            "{key} Start={} instead of 0 (boot): the driver is not loaded when the boot disk is \
             opened",
            start_name(d.start)
        ));
    }
    if d.start == Some(4) && !boot {
        out.push(format!("{key} Start=4 (disabled)"));
    }
    if !d.sys_file_present || d.image_exists == Some(false) {
        out.push(format!(
            r"{key}: driver file \Windows\System32\drivers\{}.sys is missing",
            d.name
        ));
    }
    out
}

impl Check for Virtio {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if !profile.needs_virtio {
            return Verdict::not_applicable(format!(
                "{} instances do not use virtio devices",
                profile.display_name
            ));
        }
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SYSTEM") {
            return v;
        }
        let mut out = Vec::new();
        let mut ok = Vec::new();
        let installed: Vec<&WinDriver> = STORAGE
            .iter()
            .filter_map(|n| w.drivers.get(*n))
            .filter(|d| d.service_present)
            .collect();
        let usable: Vec<&&WinDriver> = installed
            .iter()
            .filter(|d| driver_problems(w, d, true).is_empty())
            .collect();
        if installed.is_empty() {
            let mut f = Finding::strongly(
                format!(
                    r"no virtio storage driver: neither {0}\Services\viostor nor {0}\Services\vioscsi exists; the system disk is not found at boot (STOP 0x7B)",
                    ccs(w)
                ),
                "Install the virtio-win storage driver (viostor for virtio-blk, vioscsi for \
                 virtio-scsi) in the running guest before exporting.",
            );
            for d in STORAGE.iter().filter_map(|n| w.drivers.get(*n)) {
                if !d.driver_packages.is_empty() {
                    f = f.with_evidence(format!(
                        r"{} is staged in SYSTEM\DriverDatabase\DriverPackages ({}) but not installed as a service: Plug and Play installs staged drivers after the boot disk is needed",
                        d.name,
                        d.driver_packages.join(", ")
                    ));
                }
            }
            out.push(f);
        } else if usable.is_empty() {
            let mut f = Finding::strongly(
                "no virtio storage driver is usable at boot (STOP 0x7B INACCESSIBLE_BOOT_DEVICE)",
                "Set the storage driver's Start to 0 (boot) and make sure its .sys file is in \
                 System32\\drivers (reinstall virtio-win if it is missing).",
            );
            for d in &installed {
                for p in driver_problems(w, d, true) {
                    f = f.with_evidence(p);
                }
            }
            out.push(f);
        } else {
            ok.extend(usable.iter().map(|d| {
                if d.device_ids.is_empty() {
                    format!("{} Start=0", d.name)
                } else {
                    format!(
                        "{} Start=0 ({} DriverDatabase device ids)",
                        d.name,
                        d.device_ids.len()
                    )
                }
            }));
        }
        let db = &w.driver_database;
        let nt62 = match (w.major_version, w.minor_version) {
            (Some(major), Some(minor)) => major > 6 || (major == 6 && minor >= 2),
            _ => false,
        };
        if nt62
            && db.present
            && !usable.is_empty()
            && usable.iter().all(|d| d.device_ids.is_empty())
        {
            let mut f = Finding::strongly(
                format!(
                    r"SYSTEM\DriverDatabase\DeviceIds has no virtio PCI id (PCI\VEN_1AF4&DEV_1001/1042 or DEV_1004/1048) resolving to a package of {}: Windows {}.{} does not bind the boot disk to it (STOP 0x7B)",
                    usable
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    w.major_version.unwrap_or(6),
                    w.minor_version.unwrap_or(2)
                ),
                "Install the storage driver from its .inf in the running guest (pnputil \
                 /add-driver viostor.inf /install, or the virtio-win installer), which adds the \
                 DriverDatabase entries; virt-v2v adds them offline.",
            );
            for d in &usable {
                f = f.with_evidence(if d.driver_packages.is_empty() {
                    format!(
                        r"{}: no package in SYSTEM\DriverDatabase\DriverPackages",
                        d.name
                    )
                } else {
                    format!(
                        r"{}: DriverDatabase package {} is named by no virtio device id",
                        d.name,
                        d.driver_packages.join(", ")
                    )
                });
            }
            out.push(f);
        }
        let nt6x_old = matches!((w.major_version, w.minor_version), (Some(6), Some(0 | 1)));
        if nt6x_old && !usable.is_empty() {
            let mapped = w.critical_devices.iter().any(|c| {
                c.id.to_ascii_lowercase().contains("ven_1af4")
                    && c.service
                        .as_deref()
                        .is_some_and(|s| STORAGE.iter().any(|n| s.eq_ignore_ascii_case(n)))
            });
            if !mapped {
                out.push(Finding::strongly(
                    format!(
                        r"{}\Control\CriticalDeviceDatabase has no virtio PCI id (PCI#VEN_1AF4&DEV_1001/1004/1042/1048) mapped to viostor or vioscsi: Windows {}.{} does not bind the boot disk",
                        ccs(w),
                        w.major_version.unwrap_or(6),
                        w.minor_version.unwrap_or(0)
                    ),
                    "Install virtio-win in the running guest (its installer adds the \
                     CriticalDeviceDatabase entries), or add them offline as virt-v2v does.",
                ));
            }
        }
        let staged_net = w
            .drivers
            .get(NET)
            .filter(|d| !d.service_present && !d.device_ids.is_empty());
        match w.drivers.get(NET).filter(|d| d.service_present) {
            None => match staged_net {
                Some(d) => out.push(
                    Finding::recommended(
                        format!(
                            r"netkvm is not installed ({}\Services\netkvm does not exist) but its package is staged in SYSTEM\DriverDatabase for the virtio NIC: Plug and Play installs it when the device first appears, so the network comes up only after that",
                            ccs(w)
                        ),
                        "Install the staged driver before exporting (pnputil /add-driver \
                         netkvm.inf /install) so that the network works from the first boot.",
                    )
                    .with_evidence(format!(
                        "DriverDatabase packages: {}",
                        d.driver_packages.join(", ")
                    ))
                    .with_evidence(format!("device ids: {}", d.device_ids.join(", "))),
                ),
                None => out.push(Finding::strongly(
                    format!(
                        r"no virtio network driver: {}\Services\netkvm does not exist; the instance has no network",
                        ccs(w)
                    ),
                    "Install the virtio-win network driver (netkvm) before exporting.",
                )),
            },
            Some(d) => {
                let p = driver_problems(w, d, false);
                if p.is_empty() {
                    ok.push(format!("netkvm Start={}", start_name(d.start)));
                } else {
                    let mut f = Finding::strongly(
                        "the virtio network driver netkvm is not usable: the instance has no \
                         network",
                        "Reinstall the virtio-win network driver and leave it enabled.",
                    );
                    for x in p {
                        f = f.with_evidence(x);
                    }
                    out.push(f);
                }
            }
        }
        for d in installed
            .iter()
            .copied()
            .chain(w.drivers.get(NET).filter(|d| d.service_present))
        {
            if d.driver_store.is_empty() {
                out.push(Finding::recommended(
                    format!(
                        r"{} is installed but \Windows\System32\DriverStore\FileRepository has no {}.inf_* package: Plug and Play may not bind new virtio devices to it",
                        d.name, d.name
                    ),
                    "Install the driver from its .inf (pnputil /add-driver or the virtio-win \
                     installer) rather than copying the .sys file.",
                ));
            }
        }
        // Staged only: a virtio storage package without a service (informational).
        for d in STORAGE.iter().filter_map(|n| w.drivers.get(*n)) {
            if !d.service_present && !d.driver_packages.is_empty() && !usable.is_empty() {
                ok.push(format!("{} staged (DriverDatabase, no service)", d.name));
            }
        }
        // DriverDatabase packages of virtio drivers whose FileRepository directory is gone.
        for p in db.packages.iter().filter(|p| {
            !p.file_repository
                && STORAGE
                    .iter()
                    .chain(std::iter::once(&NET))
                    .any(|n| imgcheck_inspect::windows::driverdb::package_is_driver(p, n))
        }) {
            out.push(
                Finding::recommended(
                    format!(
                        r"SYSTEM\DriverDatabase\DriverPackages\{0} exists but \Windows\System32\DriverStore\FileRepository\{0} is missing: Plug and Play cannot install the package",
                        p.name
                    ),
                    "Reinstall the driver from virtio-win (pnputil /add-driver) so that the \
                     driver store and its database agree.",
                )
                .with_evidence(format!(
                    "published as {}",
                    p.published_inf.as_deref().unwrap_or("(no published INF)")
                )),
            );
        }
        Verdict::from_findings(out, Some(ok.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::windows::{
        CriticalDevice, DriverDatabaseFacts, DriverDbDeviceId, DriverDbPackage, WinDriver,
    };

    #[test]
    fn good_passes() {
        let d = assert_pass(&Virtio.run(&good_windows(), &TargetProfile::alibaba())).unwrap();
        assert_eq!(
            d,
            "viostor Start=0, vioscsi Start=0, netkvm Start=3 (manual)"
        );
    }

    #[test]
    fn storage_driver_not_boot_start() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.drivers.remove("vioscsi");
        w.drivers.get_mut("viostor").unwrap().start = Some(3);
        let x = findings(
            &Virtio.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0].evidence[0]
            .contains(r"SYSTEM\ControlSet001\Services\viostor Start=3 (manual) instead of 0"));
    }

    #[test]
    fn missing_drivers_and_files() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.drivers.clear();
        let x = findings(
            &Virtio.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, StronglyRecommended],
        );
        assert!(x[0].message.contains("no virtio storage driver"));
        assert!(x[1].message.contains("netkvm does not exist"));
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.drivers.remove("vioscsi");
        w.drivers.get_mut("viostor").unwrap().sys_file_present = false;
        w.drivers.get_mut("netkvm").unwrap().driver_store.clear();
        let x = findings(
            &Virtio.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, Recommended],
        );
        assert!(x[0].evidence[0].contains("viostor.sys is missing"));
        assert!(x[1].message.contains("netkvm.inf_*"));
    }

    #[test]
    fn critical_device_database_on_2008_r2() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.major_version = Some(6);
        w.minor_version = Some(1);
        let x = findings(
            &Virtio.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0].message.contains("CriticalDeviceDatabase"));
        win_mut(&mut f).critical_devices.push(CriticalDevice {
            id: "pci#ven_1af4&dev_1001&subsys_00021af4&rev_00".into(),
            service: Some("viostor".into()),
            class_guid: None,
        });
        assert_pass(&Virtio.run(&f, &TargetProfile::alibaba()));
    }

    /// `good_windows` with a DriverDatabase as the newer phony guests have it: viostor and
    /// netkvm installed and mapped, vioscsi staged only.
    fn with_driver_database(f: &mut Facts) {
        let w = win_mut(f);
        w.drivers.remove("vioscsi");
        w.driver_database = DriverDatabaseFacts {
            present: true,
            ..DriverDatabaseFacts::default()
        };
        for (name, id, published) in [
            ("viostor", r"PCI\VEN_1AF4&DEV_1001", "oem3.inf"),
            ("netkvm", r"PCI\VEN_1AF4&DEV_1000", "oem4.inf"),
            ("vioscsi", r"PCI\VEN_1AF4&DEV_1004", "oem5.inf"),
        ] {
            let pkg = format!("{name}.inf_amd64_0123456789abcdef");
            w.driver_database.device_ids.push(DriverDbDeviceId {
                id: id.into(),
                infs: vec![published.into()],
            });
            w.driver_database.packages.push(DriverDbPackage {
                name: pkg.clone(),
                published_inf: Some(published.into()),
                services: vec![name.into()],
                file_repository: true,
                ..DriverDbPackage::default()
            });
            let d = w
                .drivers
                .entry(name.to_string())
                .or_insert_with(|| WinDriver {
                    name: name.into(),
                    ..WinDriver::default()
                });
            d.driver_packages = vec![pkg];
            d.device_ids = vec![id.into()];
        }
    }

    #[test]
    fn driver_database_good() {
        let mut f = good_windows();
        with_driver_database(&mut f);
        let d = assert_pass(&Virtio.run(&f, &TargetProfile::alibaba())).unwrap();
        assert_eq!(
            d,
            "viostor Start=0 (1 DriverDatabase device ids), netkvm Start=3 (manual), vioscsi \
             staged (DriverDatabase, no service)"
        );
    }

    #[test]
    fn driver_database_without_virtio_id_for_storage() {
        let mut f = good_windows();
        with_driver_database(&mut f);
        win_mut(&mut f)
            .drivers
            .get_mut("viostor")
            .unwrap()
            .device_ids
            .clear();
        let x = findings(
            &Virtio.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0]
            .message
            .contains(r"SYSTEM\DriverDatabase\DeviceIds has no virtio PCI id"));
        assert!(x[0].evidence[0].contains("viostor.inf_amd64_0123456789abcdef is named by no"));
        // Before Windows 8 the DriverDatabase is not consulted.
        let w = win_mut(&mut f);
        w.major_version = Some(6);
        w.minor_version = Some(1);
        w.critical_devices.push(CriticalDevice {
            id: "pci#ven_1af4&dev_1001&subsys_00021af4&rev_00".into(),
            service: Some("viostor".into()),
            class_guid: None,
        });
        assert_pass(&Virtio.run(&f, &TargetProfile::alibaba()));
        // Without a DriverDatabase key (not read, or an old hive), no judgement either.
        let mut f = good_windows();
        win_mut(&mut f).driver_database.present = false;
        assert_pass(&Virtio.run(&f, &TargetProfile::alibaba()));
    }

    #[test]
    fn staged_netkvm_without_service_is_recommended() {
        let mut f = good_windows();
        with_driver_database(&mut f);
        let d = win_mut(&mut f).drivers.get_mut("netkvm").unwrap();
        d.service_present = false;
        d.start = None;
        let x = findings(&Virtio.run(&f, &TargetProfile::alibaba()), &[Recommended]);
        assert!(x[0].message.contains("staged in SYSTEM\\DriverDatabase"));
        assert!(x[0].evidence[1].contains(r"PCI\VEN_1AF4&DEV_1000"));
        // Not mapped to a device id: no network, strongly recommended as before.
        win_mut(&mut f)
            .drivers
            .get_mut("netkvm")
            .unwrap()
            .device_ids
            .clear();
        let x = findings(
            &Virtio.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0].message.contains("netkvm does not exist"));
    }

    #[test]
    fn staged_storage_without_service_is_evidence() {
        let mut f = good_windows();
        with_driver_database(&mut f);
        let d = win_mut(&mut f).drivers.get_mut("viostor").unwrap();
        d.service_present = false;
        d.start = None;
        let x = findings(
            &Virtio.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0].message.contains("no virtio storage driver"));
        assert!(x[0].evidence[0].contains("viostor is staged"));
        assert!(x[0].evidence[1].contains("vioscsi is staged"));
    }

    #[test]
    fn driver_database_package_without_file_repository() {
        let mut f = good_windows();
        with_driver_database(&mut f);
        win_mut(&mut f).driver_database.packages[0].file_repository = false;
        let x = findings(&Virtio.run(&f, &TargetProfile::alibaba()), &[Recommended]);
        assert!(x[0]
            .message
            .contains(r"FileRepository\viostor.inf_amd64_0123456789abcdef is missing"));
        assert_eq!(x[0].evidence, ["published as oem3.inf"]);
    }

    #[test]
    fn not_applicable_and_not_evaluated() {
        assert!(
            assert_not_applicable(&Virtio.run(&good_windows(), &TargetProfile::aws()))
                .contains("virtio")
        );
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert!(
            assert_not_evaluated(&Virtio.run(&f, &TargetProfile::alibaba()))
                .contains("SYSTEM hive")
        );
    }
}
