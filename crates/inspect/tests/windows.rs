//! The phony Windows guests (testdata/windows/windows-{good,bad}.qcow2, built by
//! scripts/make-windows-fixtures.sh) read through the real layers: qcow2 → GPT → FAT32 ESP +
//! NTFS → Windows root → `windows::inspect`. Every assertion is a fact the script planted; the
//! expected values come from testdata/windows/manifest.json, and the services are compared with
//! `hivexregedit --export` of the same hives.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use imgcheck_core::{BlockSource, Limits};
use imgcheck_fs::{GuestFs, Probed};
use imgcheck_inspect::windows::{self, DiskLocation, WindowsFacts};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/windows")
}

struct Opened {
    /// (volume id, partition GUID, filesystem)
    vols: Vec<(String, Option<String>, Arc<dyn GuestFs>)>,
}

fn open_disk(path: &Path) -> Opened {
    let limits = Limits::default();
    let disk = imgcheck_container::open(path, &imgcheck_container::OpenOptions::default())
        .expect("open qcow2");
    let src = disk.source();
    let table = imgcheck_volume::read_partition_table(src.as_ref(), &limits).expect("gpt");
    let mut vols = Vec::new();
    for p in &table.partitions {
        let s: Arc<dyn BlockSource> = Arc::new(p.source(src.clone()).expect("partition"));
        if let Ok(Probed::Filesystem(t)) = imgcheck_fs::probe(s.as_ref()) {
            let fs: Arc<dyn GuestFs> =
                Arc::from(imgcheck_fs::open_as(s, t, &limits).expect("open fs"));
            vols.push((p.number.to_string(), p.guid.clone(), fs));
        }
    }
    Opened { vols }
}

fn facts(variant: &str) -> (WindowsFacts, Opened) {
    let o = open_disk(&testdata().join(format!("windows-{variant}.qcow2")));
    let roots: Vec<usize> = (0..o.vols.len())
        .filter(|&i| windows::is_windows_root(o.vols[i].2.as_ref()))
        .collect();
    assert_eq!(roots.len(), 1, "exactly one Windows root");
    let root = roots[0];
    assert_eq!(o.vols[root].0, "2");
    let boot: Vec<(String, &dyn GuestFs)> = o
        .vols
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != root)
        .map(|(_, (id, _, fs))| (id.clone(), fs.as_ref()))
        .collect();
    let f = windows::inspect(o.vols[root].2.as_ref(), &boot, &Limits::default());
    (f, o)
}

fn manifest(variant: &str) -> Value {
    let m: Value =
        serde_json::from_slice(&std::fs::read(testdata().join("manifest.json")).unwrap()).unwrap();
    m[variant].clone()
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// `"Start"` of every `Services\<name>` key of the current control set in a hivexregedit export.
fn export_service_starts(variant: &str) -> Vec<(String, Option<u32>)> {
    let text =
        std::fs::read_to_string(testdata().join(format!("{variant}-system.export.reg"))).unwrap();
    const PREFIX: &str = "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\";
    let mut out: Vec<(String, Option<u32>)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(PREFIX) {
            let name = rest.trim_end_matches(']');
            if name.contains('\\') {
                current = None;
            } else {
                out.push((name.to_string(), None));
                current = Some(out.len() - 1);
            }
        } else if line.starts_with('[') {
            current = None;
        } else if let (Some(i), Some(hex)) = (current, line.strip_prefix("\"Start\"=dword:")) {
            out[i].1 = Some(u32::from_str_radix(hex.trim(), 16).unwrap());
        }
    }
    out.sort_by_key(|(n, _)| n.to_lowercase());
    out
}

/// Checks common to both variants, against the manifest.
fn check_common(f: &WindowsFacts, m: &Value, variant: &str, o: &Opened) {
    assert!(f.problems.is_empty(), "{variant}: {:#?}", f.problems);
    assert_eq!(f.system_root, "/Windows");
    assert_eq!(f.product_name, s(&m["product_name"]));
    assert_eq!(f.edition_id, s(&m["edition_id"]));
    assert_eq!(f.installation_type, s(&m["installation_type"]));
    assert_eq!(f.major_version.map(u64::from), m["major_version"].as_u64());
    assert_eq!(f.minor_version.map(u64::from), m["minor_version"].as_u64());
    assert_eq!(f.build, s(&m["build"]));
    assert_eq!(f.ubr.map(u64::from), m["ubr"].as_u64());
    assert_eq!(f.display_version, s(&m["display_version"]));
    assert_eq!(f.arch, s(&m["arch"]));
    assert_eq!(
        f.arch_source.as_deref(),
        Some("PE header of /Windows/System32/ntoskrnl.exe")
    );
    assert_eq!(f.processor_architecture.as_deref(), Some("AMD64"));
    assert_eq!(
        f.hostname,
        s(&m["hostname"]),
        "ControlSet002's name must not leak"
    );
    assert_eq!(f.current_control_set, s(&m["current_control_set"]));
    assert_eq!(f.kms, s(&m["kms"]));
    assert_eq!(f.kms_port.as_deref(), Some("1688"));
    assert_eq!(f.rdp.port.map(u64::from), m["rdp_port"].as_u64());
    assert_eq!(
        f.crash_dump.crash_dump_enabled.map(u64::from),
        m["crash_dump_enabled"].as_u64()
    );
    assert_eq!(f.crash_dump.auto_reboot, Some(1));
    assert_eq!(f.crash_dump.nmi_crash_dump, Some(1));

    // Hives.
    assert_eq!(f.hives.len(), 3, "{:?}", f.hives);
    for h in &f.hives {
        assert!(h.parsed && h.checksum_ok && !h.dirty, "{h:?}");
    }
    assert_eq!(f.hives[2].path, "1:/EFI/Microsoft/Boot/BCD");

    // Services against hivexregedit's export.
    let ours: Vec<(String, Option<u32>)> = f
        .services
        .iter()
        .map(|s| (s.name.clone(), s.start))
        .collect();
    assert_eq!(ours, export_service_starts(variant));
    let svc = |n: &str| f.services.iter().find(|s| s.name == n).unwrap();
    let viostor = svc("viostor");
    assert_eq!(viostor.start.map(u64::from), m["viostor_start"].as_u64());
    assert_eq!(viostor.service_type, Some(1));
    assert_eq!(viostor.group.as_deref(), Some("SCSI miniport"));
    assert_eq!(
        viostor.image_path.as_deref(),
        Some("system32\\drivers\\viostor.sys")
    );
    assert_eq!(
        viostor.guest_path.as_deref(),
        Some("/Windows/system32/drivers/viostor.sys")
    );
    assert_eq!(viostor.image_exists, Some(true));
    assert_eq!(svc("netkvm").image_exists, Some(true));
    assert_eq!(
        svc("storahci").guest_path.as_deref(),
        Some("/Windows/System32/drivers/storahci.sys")
    );
    assert_eq!(svc("storahci").image_exists, Some(false));
    assert!(svc("stornvme").image_path_default);
    assert_eq!(svc("stornvme").image_exists, Some(false));
    assert_eq!(
        svc("TermService").guest_path.as_deref(),
        Some("/Windows/System32/svchost.exe")
    );
    assert_eq!(svc("TermService").image_exists, Some(true));
    assert_eq!(
        svc("AliyunService").guest_path.as_deref(),
        Some("/ProgramData/aliyun/assist/aliyun_assist_service.exe")
    );
    assert_eq!(svc("AliyunService").image_exists, Some(true));
    assert_eq!(svc("Dhcp").image_exists, None);
    assert_eq!(f.dhcp_service_start, Some(2));
    assert_eq!(f.rdp.term_service_start, Some(3));

    // Class filters.
    let disk = &f.class_filters[0];
    assert_eq!((disk.class.as_str(), disk.present), ("disk", true));
    let upper: Vec<String> = disk.upper.iter().map(|r| r.name.clone()).collect();
    assert_eq!(upper, strs(&m["disk_upper_filters"]));
    assert!(disk.upper[0].service_exists && disk.upper[0].image_exists == Some(true));

    // Critical device database: the ACPI entry is not of interest.
    let ids: Vec<&str> = f.critical_devices.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "pci#cc_010802",
            "pci#ven_1af4&dev_1001&subsys_00021af4&rev_00"
        ]
    );
    assert_eq!(f.critical_devices[1].service.as_deref(), Some("viostor"));

    // Drivers and their files.
    assert_eq!(f.driver_store, strs(&m["driver_store"]));
    let v = &f.drivers["viostor"];
    assert!(v.service_present && v.sys_file_present);
    assert_eq!(v.sys_file_read_only, Some(false));
    assert_eq!(
        v.driver_store,
        vec!["viostor.inf_amd64_5c4e8f2a1b3d6e70".to_string()]
    );
    assert_eq!(
        f.drivers["netkvm"].sys_file_read_only,
        m["netkvm_read_only"].as_bool()
    );
    assert!(!f.drivers["vioscsi"].service_present && !f.drivers["vioscsi"].sys_file_present);
    assert_eq!(f.drivers["vioscsi"].sys_file_read_only, None);

    // Firewall, time, paging.
    let fw: Vec<(String, Option<bool>)> = f
        .firewall
        .iter()
        .map(|p| (p.profile.clone(), p.enabled))
        .collect();
    assert_eq!(
        fw,
        [
            ("domain".to_string(), Some(true)),
            ("standard".to_string(), Some(false)),
            ("public".to_string(), Some(true))
        ]
    );
    assert_eq!(f.time.time_zone_key_name.as_deref(), Some("UTC"));
    assert_eq!(f.time.bias_minutes, Some(0));
    assert_eq!(f.time.real_time_is_universal, Some(true));
    assert_eq!(f.paging.paging_files, vec!["?:\\pagefile.sys".to_string()]);
    assert!(f.paging.pagefile_present);

    // Drive letters.
    let c = f.drive_letters.iter().find(|d| d.letter == "C:").unwrap();
    assert_eq!(
        c.location.describe(),
        m["drive_letters"]["C:"].as_str().unwrap()
    );

    // Programs, agents.
    let names: Vec<String> = f.programs.iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, strs(&m["programs"]));
    let npp = f
        .programs
        .iter()
        .find(|p| p.name.starts_with("Notepad++"))
        .unwrap();
    assert!(npp.wow64);
    assert_eq!(npp.version.as_deref(), Some("8.6.2"));
    let agents: Vec<String> = f.agents.iter().map(|a| a.id.clone()).collect();
    assert_eq!(agents, strs(&m["agents"]));
    assert_eq!(
        f.agents[0].evidence,
        [
            "service AliyunService (start 2)".to_string(),
            "program \"Aliyun Assist\" 2.1.3.857".to_string()
        ]
    );
    let tools: Vec<String> = f.hypervisor_tools.iter().map(|a| a.id.clone()).collect();
    assert_eq!(tools, strs(&m["hypervisor_tools"]));
    let installed: Vec<String> = f
        .hotfixes
        .iter()
        .filter(|h| h.installed)
        .map(|h| h.kb.clone())
        .collect();
    assert_eq!(installed, strs(&m["hotfixes_installed"]));
    let staged = f.hotfixes.iter().find(|h| h.kb == "KB5034129").unwrap();
    assert_eq!((staged.installed, staged.state), (false, Some(0x20)));

    // Loader files, boot files.
    assert!(f.loader_files.ntoskrnl && f.loader_files.winload_efi);
    assert!(!f.loader_files.winload_exe && !f.loader_files.hal_dll);
    let boot: Vec<String> = f
        .boot_files
        .iter()
        .map(|b| {
            assert_eq!(b.volume, "1");
            b.path.clone()
        })
        .collect();
    let mut want = strs(&m["boot_files"]);
    want.sort_by_key(|p| windows::BOOT_FILES.iter().position(|b| b == p));
    assert_eq!(boot, want);

    // BCD.
    assert_eq!(f.bcd.len(), 1);
    let b = &f.bcd[0];
    assert_eq!(b.store, m["bcd"]["store"].as_str().unwrap());
    assert_eq!(b.volume, "1");
    // {bootmgr}, the loader and {emssettings}.
    assert_eq!(b.objects, 3);
    assert_eq!(b.default_id, s(&m["bcd"]["default"]));
    assert_eq!(b.description, s(&m["bcd"]["description"]));
    assert_eq!(b.systemroot.as_deref(), Some("\\Windows"));
    assert_eq!(
        b.device.as_ref().unwrap().describe(),
        m["bcd"]["device"].as_str().unwrap()
    );
    assert_eq!(
        b.osdevice.as_ref().unwrap().describe(),
        m["bcd_osdevice"].as_str().unwrap()
    );
    assert_eq!(b.bootmgr_ems, m["bcd_bootmgr_ems"].as_bool());
    assert_eq!(b.ems, m["bcd_ems"].as_bool());
    assert_eq!((b.ems_port, b.ems_baud_rate), (Some(1), Some(115_200)));

    // Device installation, desktop folders.
    assert_eq!(
        f.device_install.device_install_disabled.map(u64::from),
        m["device_install_disabled"].as_u64()
    );
    let restrictions: Vec<String> = f
        .device_install
        .restrictions
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(restrictions, strs(&m["device_install_restrictions"]));
    let desktop = f.desktop.as_ref().unwrap();
    assert!(desktop.public_desktop_present);
    let folders: Vec<(String, bool)> = desktop
        .folders
        .iter()
        .map(|d| (d.path.clone(), d.desktop_ini))
        .collect();
    let want: Vec<(String, bool)> = m["desktop_ini"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bool().unwrap()))
        .collect();
    assert_eq!(folders, want);
    let esp_guid = o.vols[0].1.clone().unwrap().to_lowercase();
    assert_eq!(
        b.bootmgr_device,
        Some(DiskLocation::Gpt {
            partition_guid: esp_guid,
            disk_guid: Some(
                m["bcd"]["device"]
                    .as_str()
                    .unwrap()
                    .rsplit(' ')
                    .next()
                    .unwrap()
                    .to_string()
            )
        })
    );
    assert_eq!(b.path, s(&m["bcd_path"]));
    assert_eq!(b.path_exists, m["bcd_path_exists"].as_bool());

    // Pending, sysprep, power.
    assert_eq!(f.pending.pending_xml, m["pending_xml"].as_bool().unwrap());
    assert_eq!(
        f.pending.reboot_pending,
        m["reboot_pending"].as_bool().unwrap()
    );
    assert_eq!(f.sysprep.image_state, s(&m["image_state"]));
    assert_eq!(f.sysprep.state_ini_image_state, s(&m["image_state"]));
    assert_eq!(f.sysprep.setup_in_progress, Some(0));
    assert_eq!(f.hibernation.hibernated, m["hibernated"].as_bool().unwrap());
    assert_eq!(f.fast_startup, m["fast_startup"].as_bool());
    assert_eq!(f.san_policy.map(u64::from), m["san_policy"].as_u64());
    assert_eq!(f.rdp.enabled, m["rdp_enabled"].as_bool());
    let xen: Vec<String> = f.xen.services.iter().map(|x| x.name.clone()).collect();
    assert_eq!(xen, strs(&m["xen_services"]));
    assert_eq!(f.xen.hide_devices, s(&m["xen_hide_devices"]));

    // BitLocker status and domain controller paths, against the manifest and hivexregedit's
    // export of the same hive.
    assert!(f.bitlocker.status_key_present);
    let boot_status = m["bitlocker_boot_status"].as_u64().unwrap();
    assert_eq!(f.bitlocker.boot_status.map(u64::from), Some(boot_status));
    let export =
        std::fs::read_to_string(testdata().join(format!("{variant}-system.export.reg"))).unwrap();
    assert!(
        export.contains(&format!(
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\BitLockerStatus]\n\"BootStatus\"=dword:{boot_status:08x}\n"
        )),
        "{variant}: BootStatus not in the export"
    );
    assert!(f.bitlocker.fve_stats.is_empty());
    let policy: Vec<(String, String)> = f
        .bitlocker
        .policy
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    let want_policy: Vec<(String, String)> = m["bitlocker_policy"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(policy, want_policy);
    let dc: Vec<(String, String)> = f
        .domain_controller
        .paths
        .iter()
        .map(|p| (p.value.clone(), p.path.clone()))
        .collect();
    let want: Vec<(String, String)> = m["dc_paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(dc, want);
    assert_eq!(
        f.domain_controller.ntds_parameters_present,
        !want.is_empty()
    );
    for p in &f.domain_controller.paths {
        assert_eq!(p.key, "ControlSet001\\Services\\NTDS\\Parameters");
    }

    // The facts survive a JSON round trip (the engine stores and reloads them).
    let json = serde_json::to_string(f).unwrap();
    let back: WindowsFacts = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, f);
}

#[test]
fn good_guest() {
    let (f, o) = facts("good");
    check_common(&f, &manifest("good"), "good", &o);
    // C: and the loader's devices are the NTFS partition of this disk.
    let ntfs_guid = o.vols[1].1.clone().unwrap().to_lowercase();
    let c = f.drive_letters.iter().find(|d| d.letter == "C:").unwrap();
    assert_eq!(
        c.location,
        DiskLocation::Gpt {
            partition_guid: ntfs_guid,
            disk_guid: None
        }
    );
    assert_eq!(f.bcd[0].device, f.bcd[0].osdevice);
    assert!(f.group_policies.is_empty());
    assert_eq!(f.rdp.deny_ts_connections, Some(0));
    assert!(!f.pending.cbs_reboot_pending && !f.pending.wu_reboot_required);
    assert!(f.pending.pending_file_renames.is_empty());
    assert!(!f.hibernation.hiberfil_present);
    assert_eq!(f.hibernation.enabled, Some(false));
    assert!(f.xen.class_filters.is_empty());
    assert_eq!(f.drive_letters.len(), 1);
    assert_eq!(f.interfaces.len(), 1);
    assert_eq!(f.interfaces[0].enable_dhcp, Some(true));
    assert!(f.class_filters.iter().all(|c| c.lower.is_empty()));
}

#[test]
fn bad_guest() {
    let (f, o) = facts("bad");
    check_common(&f, &manifest("bad"), "bad", &o);
    // C: and the loader's osdevice name partitions that are not on this disk.
    let guids: Vec<String> = o
        .vols
        .iter()
        .filter_map(|v| v.1.clone())
        .map(|g| g.to_lowercase())
        .collect();
    for loc in [
        &f.drive_letters
            .iter()
            .find(|d| d.letter == "C:")
            .unwrap()
            .location,
        f.bcd[0].osdevice.as_ref().unwrap(),
    ] {
        let DiskLocation::Gpt { partition_guid, .. } = loc else {
            panic!("{loc:?}")
        };
        assert!(!guids.contains(partition_guid), "{partition_guid}");
    }
    assert_eq!(f.group_policies.len(), 1);
    assert_eq!(f.group_policies[0].link, Some(3));
    assert_eq!(f.rdp.deny_ts_connections, Some(1));
    assert!(f.pending.cbs_reboot_pending && f.pending.wu_reboot_required);
    assert_eq!(
        f.pending.pending_file_renames,
        [
            "\\??\\C:\\Windows\\Temp\\old.dll".to_string(),
            String::new()
        ]
    );
    assert!(f.hibernation.hiberfil_present);
    assert_eq!(f.hibernation.hiberfil_signature.as_deref(), Some("hibr"));
    assert_eq!(f.hibernation.enabled, Some(true));
    assert_eq!(f.xen.class_filters, ["disk upper xenfilt".to_string()]);
    let xenfilt = &f.class_filters[0].upper[1];
    assert!(xenfilt.service_exists);
    assert_eq!(xenfilt.image_exists, Some(false));
    let scsi = f
        .class_filters
        .iter()
        .find(|c| c.class == "scsi_adapter")
        .unwrap();
    assert_eq!(scsi.lower.len(), 1);
    assert_eq!(scsi.lower[0].name, "prl_strg");
    assert!(!scsi.lower[0].service_exists);
    assert_eq!(scsi.lower[0].image_exists, None);
    let d = f.drive_letters.iter().find(|d| d.letter == "D:").unwrap();
    assert_eq!(d.location.describe(), "mbr disk 1a2b3c4d offset 1048576");
    // E: is the BitLocker data volume (partition 3).
    let m = manifest("bad");
    let e = f
        .drive_letters
        .iter()
        .find(|d| Some(d.letter.clone()) == s(&m["bitlocker"]["letter"]))
        .unwrap();
    assert_eq!(
        e.location,
        DiskLocation::Gpt {
            partition_guid: s(&m["bitlocker"]["partition_guid"]).unwrap(),
            disk_guid: None
        }
    );
    let static_if = f
        .interfaces
        .iter()
        .find(|i| i.enable_dhcp == Some(false))
        .unwrap();
    assert_eq!(static_if.ip_addresses, ["10.0.0.5".to_string()]);
    assert_eq!(f.drivers["xenfilt"].start, Some(0));
    assert!(!f.drivers["xenfilt"].sys_file_present);
    // XenPCI starts at boot and hides devices.
    let xenpci = f.xen.services.iter().find(|x| x.name == "XenPCI").unwrap();
    assert_eq!(xenpci.start, Some(0));
    assert_eq!(f.xen.hide_devices.as_deref(), Some("ide,nic"));
}

/// Partition 3 of the bad guest is the synthesized BitLocker volume: the volume layer recognises
/// it and reads the volume GUID that `cryptsetup bitlkDump` reports (bad.bitlkdump.txt).
#[test]
fn bad_guest_bitlocker_volume() {
    let m = manifest("bad");
    let disk = imgcheck_container::open(
        &testdata().join("windows-bad.qcow2"),
        &imgcheck_container::OpenOptions::default(),
    )
    .expect("open qcow2");
    let src = disk.source();
    let table = imgcheck_volume::read_partition_table(src.as_ref(), &Limits::default()).unwrap();
    let want = m["bitlocker"]["partition"].as_u64().unwrap();
    let p = table
        .partitions
        .iter()
        .find(|p| u64::from(p.number) == want)
        .unwrap();
    assert_eq!(
        p.guid.as_deref().map(str::to_lowercase),
        s(&m["bitlocker"]["partition_guid"])
    );
    let part: Arc<dyn BlockSource> = Arc::new(p.source(src.clone()).unwrap());
    let Probed::Encrypted { scheme, uuid } = imgcheck_fs::probe(part.as_ref()).unwrap() else {
        panic!("partition {want} is not encrypted")
    };
    assert_eq!(scheme, "bitlocker");
    let volume_guid = s(&m["bitlocker"]["volume_guid"]).unwrap();
    assert_eq!(uuid.map(|u| u.to_lowercase()), Some(volume_guid.clone()));
    let dump = std::fs::read_to_string(testdata().join("bad.bitlkdump.txt")).unwrap();
    assert!(
        dump.lines()
            .any(|l| l.starts_with("GUID:") && l.ends_with(&volume_guid)),
        "{dump}"
    );
    let blkid = std::fs::read_to_string(testdata().join("bad.blkid-bitlocker.txt")).unwrap();
    assert!(blkid.contains(r#"TYPE="BitLocker""#), "{blkid}");
}

#[test]
fn boot_volume_helpers() {
    let o = open_disk(&testdata().join("windows-good.qcow2"));
    let esp = o.vols[0].2.as_ref();
    assert!(!windows::is_windows_root(esp));
    assert_eq!(
        windows::find_boot_files(esp),
        [
            "/EFI/Microsoft/Boot/BCD",
            "/EFI/Microsoft/Boot/bootmgfw.efi",
            "/EFI/Boot/bootx64.efi"
        ]
    );
    assert!(windows::find_boot_files(o.vols[1].2.as_ref()).is_empty());
    assert_eq!(windows::system_root(o.vols[1].2.as_ref()), Some("/Windows"));
}

/// A system volume without hives: every fact is absent and each missing hive is a problem.
#[test]
fn esp_as_system_volume_reports_problems() {
    let o = open_disk(&testdata().join("windows-good.qcow2"));
    let f = windows::inspect(o.vols[0].2.as_ref(), &[], &Limits::default());
    assert_eq!(f.product_name, None);
    assert!(f.services.is_empty());
    assert_eq!(
        f.problems,
        [
            "SOFTWARE hive /Windows/System32/config/SOFTWARE: missing".to_string(),
            "SYSTEM hive /Windows/System32/config/SYSTEM: missing".to_string()
        ]
    );
    // The BCD store of the ESP (passed as the system volume) is still read.
    assert_eq!(f.bcd.len(), 1);
    assert_eq!(f.bcd[0].volume, "system");
    assert_eq!(f.bcd[0].path_exists, Some(false));
}

/// Regenerate the fixtures with the committed script and compare them byte for byte (the script
/// is deterministic), and compare the hives with hivexregedit's export of the regenerated ones.
#[test]
fn regenerate_fixtures() {
    let tools = [
        "hivexregedit",
        "mkntfs",
        "ntfsls",
        "ntfsinfo",
        "wimcapture",
        "wimapply",
        "mkfs.fat",
        "mcopy",
        "mdir",
        "sfdisk",
        "qemu-img",
        "python3",
        "faketime",
        "blkid",
        "cryptsetup",
    ];
    let path = std::env::var("PATH").unwrap_or_default() + ":/usr/sbin:/sbin";
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| !std::env::split_paths(&path).any(|d| d.join(t).is_file()))
        .collect();
    if !missing.is_empty() {
        if std::env::var_os("CI").is_some() {
            panic!("tools missing in CI: {missing:?}");
        }
        eprintln!(
            "SKIPPED: {} missing (regenerate_fixtures)",
            missing.join(", ")
        );
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-windows-fixtures.sh");
    let st = std::process::Command::new("bash")
        .arg(&script)
        .arg(out.path())
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    // Everything the script writes must equal the committed file of the same name.
    let mut compared = 0;
    for e in std::fs::read_dir(out.path()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        let fresh = std::fs::read(e.path()).unwrap();
        let committed = std::fs::read(testdata().join(&name))
            .unwrap_or_else(|err| panic!("{name:?} not committed: {err}"));
        assert!(fresh == committed, "{name:?} differs from a fresh build");
        compared += 1;
    }
    assert_eq!(compared, 59);
}
