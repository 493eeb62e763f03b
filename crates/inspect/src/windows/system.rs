//! Facts of the `SYSTEM` hive: the current control set and, in it, services and drivers,
//! device class filters, the critical device database, RDP, firewall, TCP/IP interfaces, time
//! zone, paging, power, pending renames, crash dumps, SAN policy, device installation, Xen
//! remnants, BitLocker status and domain controller paths; plus `MountedDevices` drive letters.
//!
//! Key locations: `checks.md` §3 (with libguestfs `get_current_control_set`, virt-v2v
//! `convert_windows.ml`/`windows_virtio.ml`, Microsoft's "Services Registry Tree" page for the
//! `Start`/`Type`/`ImagePath` semantics, Azure's "prepare a Windows VHD" for the RDP, firewall,
//! SAN policy, RTC and crash dump keys).

use super::decode;
use super::paths::{self, SystemRoot};
use super::reg::Reg;
use super::software::key_settings;
use super::{
    ClassFilters, CriticalDevice, DriveLetter, FilterRef, FirewallProfile, InterfaceInfo,
    PathSetting, ServiceInfo, ServiceRef, WindowsFacts, DC_PATH_VALUES, MAX_LIST, MAX_SERVICES,
};
use imgcheck_fs::{FileType, GuestFs};
use imgcheck_regf::ValueData;
use std::collections::HashMap;

/// Device setup classes whose filters can stop a boot or the network (Microsoft "System-Defined
/// Device Setup Classes").
pub const FILTER_CLASSES: &[(&str, &str)] = &[
    ("disk", "{4D36E967-E325-11CE-BFC1-08002BE10318}"),
    ("scsi_adapter", "{4D36E97B-E325-11CE-BFC1-08002BE10318}"),
    ("hdc", "{4D36E96A-E325-11CE-BFC1-08002BE10318}"),
    ("volume", "{71A27CDD-812A-11D0-BEC7-08002BE2092F}"),
    ("net", "{4D36E972-E325-11CE-BFC1-08002BE10318}"),
];

/// Substrings of critical device ids worth reporting: virtio (PCI vendor 1af4), NVMe (class
/// code 0108), Xen (platform device vendor 5853, `xen` buses), Hyper-V (`vmbus`), Amazon (PCI
/// vendor 1d0f: ENA and EBS NVMe).
pub(super) const CRITICAL_MATCHES: &[&str] = &[
    "ven_1af4", "cc_0108", "nvme", "xen", "ven_5853", "vmbus", "ven_1d0f",
];

/// `Type` bits of drivers (kernel 0x1, filesystem 0x2, recognizer 0x8): a driver without
/// `ImagePath` loads `System32\drivers\<name>.sys`.
const DRIVER_TYPE_MASK: u32 = 0x1 | 0x2 | 0x8;

/// Xen PV service names (virt-v2v's list plus the Xen project's current drivers).
const XEN_SERVICES: &[&str] = &[
    "xenbus",
    "xenfilt",
    "xeniface",
    "xennet",
    "xenvbd",
    "xenvif",
    "xenpci",
    "xenhide",
    "xenvbus",
    "xenscsi",
    "xenpvdisk",
    "rhelscsi",
    "xensvc",
    "xenagent",
];

fn exists(os: &dyn GuestFs, path: &str) -> bool {
    os.metadata(path)
        .is_ok_and(|m| m.file_type == FileType::File)
}

/// The current control set's key name.
fn current_control_set(r: &Reg<'_>, f: &mut WindowsFacts) -> Option<String> {
    let select = r.key("Select");
    let n = select.as_ref().and_then(|s| {
        r.dword(s, "Current")
            .filter(|&n| n > 0)
            .or_else(|| r.dword(s, "Default").filter(|&n| n > 0))
    });
    if let Some(n) = n {
        let name = format!("ControlSet{n:03}");
        if r.key(&name).is_some() {
            return Some(name);
        }
        f.problems.push(format!(
            "SYSTEM hive: Select names {name}, which does not exist"
        ));
    } else {
        f.problems
            .push("SYSTEM hive: no Select\\Current or Select\\Default".to_string());
    }
    // Fall back to the first control set present.
    let fallback = (1..=9u32)
        .map(|i| format!("ControlSet{i:03}"))
        .find(|n| r.key(n).is_some());
    if let Some(n) = &fallback {
        f.problems.push(format!(
            "SYSTEM hive: using {n} in place of the selected control set"
        ));
    }
    fallback
}

/// Read SYSTEM facts into `f`.
pub(super) fn read(r: &Reg<'_>, os: &dyn GuestFs, root: &SystemRoot, f: &mut WindowsFacts) {
    drive_letters(r, f);
    super::driverdb::read(r, f);
    f.sysprep.setup_in_progress = r.dword_at("Setup", "SystemSetupInProgress");
    let Some(ccs) = current_control_set(r, f) else {
        f.problems
            .push("SYSTEM hive: no control set: services and settings not read".to_string());
        return;
    };
    let p = |rest: &str| format!("{ccs}\\{rest}");
    f.current_control_set = Some(ccs.clone());

    f.hostname = r
        .string_at(&p("Control\\ComputerName\\ComputerName"), "ComputerName")
        .or_else(|| r.string_at(&p("Services\\Tcpip\\Parameters"), "Hostname"));

    services(r, os, root, &p("Services"), f);
    let index: HashMap<String, usize> = f
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.to_lowercase(), i))
        .collect();
    let filter_ref = |name: &str| -> FilterRef {
        let svc = index
            .get(&name.to_lowercase())
            .and_then(|&i| f.services.get(i));
        let service_exists = svc.is_some() || r.key(&p(&format!("Services\\{name}"))).is_some();
        FilterRef {
            name: name.to_string(),
            service_exists,
            image_exists: svc.and_then(|s| s.image_exists),
        }
    };

    // Class filters.
    let mut classes = Vec::new();
    let mut xen_filters = Vec::new();
    for (class, guid) in FILTER_CLASSES {
        let key = r.key(&p(&format!("Control\\Class\\{guid}")));
        let mut c = ClassFilters {
            class: class.to_string(),
            guid: guid.to_string(),
            present: key.is_some(),
            ..ClassFilters::default()
        };
        if let Some(k) = &key {
            for (which, list) in [("upper", &mut c.upper), ("lower", &mut c.lower)] {
                let value = if which == "upper" {
                    "UpperFilters"
                } else {
                    "LowerFilters"
                };
                for name in r.strings(k, value).iter().filter(|n| !n.trim().is_empty()) {
                    let name = name.trim();
                    if name.to_lowercase().starts_with("xen") {
                        xen_filters.push(format!("{class} {which} {name}"));
                    }
                    list.push(filter_ref(name));
                }
            }
        }
        classes.push(c);
    }
    f.class_filters = classes;
    f.xen.class_filters = xen_filters;

    // Critical device database.
    if let Some(cdd) = r.key(&p("Control\\CriticalDeviceDatabase")) {
        for k in r.subkeys(&cdd, "CriticalDeviceDatabase") {
            let id = k.name();
            let lower = id.to_lowercase();
            if !CRITICAL_MATCHES.iter().any(|m| lower.contains(m)) {
                continue;
            }
            if f.critical_devices.len() >= MAX_LIST {
                break;
            }
            f.critical_devices.push(CriticalDevice {
                id,
                service: r.string(&k, "Service"),
                class_guid: r.string(&k, "ClassGUID"),
            });
        }
        f.critical_devices.sort_by_key(|c| c.id.to_lowercase());
    }

    // Remote Desktop.
    let ts = p("Control\\Terminal Server");
    f.rdp.deny_ts_connections = r.dword_at(&ts, "fDenyTSConnections");
    f.rdp.port = r.dword_at(&format!("{ts}\\WinStations\\RDP-Tcp"), "PortNumber");
    f.rdp.enabled = f
        .rdp
        .deny_ts_connections
        .map(|d| d == 0 && f.rdp.policy_deny_ts_connections.is_none_or(|pd| pd == 0));
    f.rdp.term_service_start = service_start(f, &index, "TermService");

    // Firewall.
    let fw = p("Services\\SharedAccess\\Parameters\\FirewallPolicy");
    for (profile, key) in [
        ("domain", "DomainProfile"),
        ("standard", "StandardProfile"),
        ("public", "PublicProfile"),
    ] {
        let enabled = r
            .dword_at(&format!("{fw}\\{key}"), "EnableFirewall")
            .map(|v| v != 0);
        f.firewall.push(FirewallProfile {
            profile: profile.to_string(),
            enabled,
        });
    }

    // TCP/IP interfaces and DHCP.
    let ifs = p("Services\\Tcpip\\Parameters\\Interfaces");
    if let Some(k) = r.key(&ifs) {
        for i in r.subkeys(&k, &ifs).into_iter().take(MAX_LIST) {
            let ips = r
                .strings(&i, "IPAddress")
                .into_iter()
                .filter(|a| !a.trim().is_empty() && a.trim() != "0.0.0.0")
                .collect();
            f.interfaces.push(InterfaceInfo {
                guid: i.name(),
                enable_dhcp: r.dword(&i, "EnableDHCP").map(|v| v != 0),
                ip_addresses: ips,
            });
        }
        f.interfaces.sort_by_key(|i| i.guid.to_lowercase());
    }
    f.dhcp_service_start = service_start(f, &index, "Dhcp");

    // Time.
    if let Some(tz) = r.key(&p("Control\\TimeZoneInformation")) {
        f.time.time_zone_key_name = r.string(&tz, "TimeZoneKeyName");
        f.time.standard_name = r.string(&tz, "StandardName");
        // Bias is a DWORD holding a signed number of minutes.
        f.time.bias_minutes = r
            .dword(&tz, "Bias")
            .map(|b| i32::from_le_bytes(b.to_le_bytes()));
        f.time.real_time_is_universal = r.dword(&tz, "RealTimeIsUniversal").map(|v| v != 0);
    }

    // Session manager: paging, fast startup, pending renames, environment.
    let sm = p("Control\\Session Manager");
    f.paging.paging_files = r
        .key(&format!("{sm}\\Memory Management"))
        .map(|k| {
            r.strings(&k, "PagingFiles")
                .into_iter()
                .filter(|s| !s.trim().is_empty())
                .take(MAX_LIST)
                .collect()
        })
        .unwrap_or_default();
    f.fast_startup = r
        .dword_at(&format!("{sm}\\Power"), "HiberbootEnabled")
        .map(|v| v != 0);
    if let Some(k) = r.key(&sm) {
        for value in [
            "PendingFileRenameOperations",
            "PendingFileRenameOperations2",
        ] {
            f.pending.pending_file_renames.extend(r.strings(&k, value));
        }
        f.pending.pending_file_renames.truncate(MAX_LIST);
    }
    f.processor_architecture = r.string_at(&format!("{sm}\\Environment"), "PROCESSOR_ARCHITECTURE");
    f.hibernation.enabled = r
        .dword_at(&p("Control\\Power"), "HibernateEnabled")
        .map(|v| v != 0);

    // Crash dumps, SAN policy.
    let cc = p("Control\\CrashControl");
    if let Some(k) = r.key(&cc) {
        f.crash_dump.crash_dump_enabled = r.dword(&k, "CrashDumpEnabled");
        f.crash_dump.auto_reboot = r.dword(&k, "AutoReboot");
        f.crash_dump.nmi_crash_dump = r.dword(&k, "NMICrashDump");
    }
    f.san_policy = r.dword_at(&p("Services\\partmgr\\Parameters"), "SanPolicy");
    f.device_install.device_install_disabled = r.dword_at(
        &p("Services\\DeviceInstall\\Parameters"),
        "DeviceInstallDisabled",
    );
    f.device_install.plugplay_install_disabled = r.dword_at(
        &p("Services\\PlugPlay\\Parameters"),
        "DeviceInstallDisabled",
    );

    // BitLocker: the status Windows records at boot, and its encryption statistics.
    if let Some(k) = r.key(&p("Control\\BitLockerStatus")) {
        f.bitlocker.status_key_present = true;
        f.bitlocker.boot_status = r.dword(&k, "BootStatus");
    }
    f.bitlocker.fve_stats = key_settings(r, &p("Control\\FVEStats"));

    // Domain controller: where Active Directory keeps its database, logs and SYSVOL.
    f.domain_controller.ntds_parameters_present = r.key(&p("Services\\NTDS\\Parameters")).is_some();
    for (key, value) in DC_PATH_VALUES {
        let key = p(key);
        if let Some(path) = r.string_at(&key, value).filter(|s| !s.trim().is_empty()) {
            f.domain_controller.paths.push(PathSetting {
                key,
                value: (*value).to_string(),
                path,
            });
        }
    }

    // Xen services and XenPCI's hidden devices.
    for s in &f.services {
        if XEN_SERVICES.iter().any(|x| x.eq_ignore_ascii_case(&s.name)) {
            f.xen.services.push(ServiceRef {
                name: s.name.clone(),
                start: s.start,
            });
        }
    }
    f.xen.hide_devices = r
        .string_at(&p("Services\\XenPCI\\Parameters"), "hide_devices")
        .filter(|s| !s.trim().is_empty());
}

fn service_start(f: &WindowsFacts, index: &HashMap<String, usize>, name: &str) -> Option<u32> {
    index
        .get(&name.to_lowercase())
        .and_then(|&i| f.services.get(i))
        .and_then(|s| s.start)
}

fn services(r: &Reg<'_>, os: &dyn GuestFs, root: &SystemRoot, path: &str, f: &mut WindowsFacts) {
    let Some(k) = r.key(path) else {
        f.problems.push(format!("SYSTEM hive: {path} missing"));
        return;
    };
    let subs = r.subkeys(&k, path);
    if subs.len() > MAX_SERVICES {
        f.services_truncated = true;
        f.problems.push(format!(
            "SYSTEM hive: {path}: {} services, only the first {MAX_SERVICES} listed",
            subs.len()
        ));
    }
    for s in subs.iter().take(MAX_SERVICES) {
        let name = s.name();
        let service_type = r.dword(s, "Type");
        let image_path = r.string(s, "ImagePath").filter(|p| !p.trim().is_empty());
        let is_driver = service_type.is_some_and(|t| t & DRIVER_TYPE_MASK != 0);
        let (resolved, image_path_default) = match &image_path {
            Some(ip) => (paths::resolve(ip, root), false),
            None if is_driver => (
                paths::resolve(&format!("System32\\drivers\\{name}.sys"), root),
                true,
            ),
            None => (None, false),
        };
        let image_exists = resolved.as_deref().map(|g| exists(os, g));
        f.services.push(ServiceInfo {
            display_name: r.string(s, "DisplayName"),
            start: r.dword(s, "Start"),
            service_type,
            group: r.string(s, "Group"),
            image_path,
            image_path_default,
            guest_path: resolved,
            image_exists,
            name,
        });
    }
    f.services
        .sort_by(|a, b| (a.name.to_lowercase(), &a.name).cmp(&(b.name.to_lowercase(), &b.name)));
}

fn drive_letters(r: &Reg<'_>, f: &mut WindowsFacts) {
    const PREFIX: &str = "\\DosDevices\\";
    let Some(k) = r.key("MountedDevices") else {
        return;
    };
    let values = match k.values() {
        Ok(v) => v,
        Err(e) => {
            f.problems.push(format!(
                "SYSTEM hive: MountedDevices: {}",
                imgcheck_core::error_chain(&e)
            ));
            return;
        }
    };
    for v in values {
        let name = v.name();
        let Some(letter) = name
            .get(..PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREFIX))
            .and_then(|_| name.get(PREFIX.len()..))
        else {
            continue;
        };
        let bytes = match v.data() {
            Ok(ValueData::Binary(b)) => b,
            Ok(ValueData::Other { bytes, .. }) => bytes,
            Ok(_) => continue,
            Err(e) => {
                f.problems.push(format!(
                    "SYSTEM hive: MountedDevices\\{name}: {}",
                    imgcheck_core::error_chain(&e)
                ));
                continue;
            }
        };
        if f.drive_letters.len() >= MAX_LIST {
            break;
        }
        f.drive_letters.push(DriveLetter {
            letter: letter.to_ascii_uppercase(),
            location: decode::mounted_device(&bytes),
        });
    }
    f.drive_letters.sort_by(|a, b| a.letter.cmp(&b.letter));
}
