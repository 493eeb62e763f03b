//! Golden check reports of the phony Windows guests: `imgcheck check --format json` of
//! `testdata/windows/windows-<variant>.qcow2` equals `testdata/golden/windows-<variant>.json`,
//! every defect planted in the bad guest (testdata/windows/README.md) is reported by its
//! `windows.*` check with the expected severity, and the good guests (Server 2022 good, 2012 R2,
//! 2016, 2019, Windows 10 and 11) have no strongly recommended finding under the default target
//! (Alibaba Cloud); the client editions get exactly the catalogue's recommended
//! `windows.os-version` finding. Run with `IMGCHECK_BLESS=1` to rewrite the goldens after an intended change (and
//! review the diff).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
use std::process::Command;

mod common;

use common::golden::{report, result};

/// The findings of `id` whose message and evidence contain `needle`, asserting one has
/// `severity`.
#[track_caller]
fn assert_finding(v: &Value, id: &str, severity: &str, needle: &str) {
    common::golden::assert_finding_in(v, id, severity, needle, true);
}
#[test]
fn windows_good_report() {
    let v = report("windows-good", "testdata/windows/windows-good.qcow2");
    assert!(
        v["strongly_recommended"].as_array().unwrap().is_empty(),
        "{:#}",
        v["strongly_recommended"]
    );
    for id in [
        "windows.platform",
        "windows.os-version",
        "windows.architecture",
        "windows.kernel-version",
        "windows.virtio",
        "windows.bcd",
        "windows.registry",
        "windows.hotfix",
        "windows.disk",
        "windows.sysprep",
        "windows.update",
        "windows.xen",
        "windows.cloud-assistant",
        "windows.bootmgr",
        "windows.rdp",
        "windows.hibernation",
        "windows.hypervisor-tools",
        "windows.virtio-read-only",
        "windows.dhcp",
        "windows.core-services",
        "windows.pagefile",
        "windows.qemu-guest-agent",
        "windows.driver-install",
        "windows.desktop-config",
        "windows.san-policy",
        "windows.drive-letters",
        "windows.group-policy",
        "windows.serial-console",
        "windows.bitlocker",
        "disk.encrypted-volume",
    ] {
        assert_eq!(result(&v, id)["status"], "no_risk", "{id}");
    }
    assert_eq!(
        result(&v, "windows.bitlocker")["detail"],
        "Windows system volume partition 2 (byte offset 35651584) holds ntfs, not BitLocker; \
         SYSTEM\\ControlSet001\\Control\\BitLockerStatus BootStatus = 0"
    );
    assert_eq!(
        result(&v, "windows.domain-controller-volumes")["status"],
        "not_applicable"
    );
    assert_eq!(
        result(&v, "windows.platform")["detail"],
        "Windows: Windows Server 2022 Datacenter (edition ServerDatacenter, installation type Server)"
    );
    assert_eq!(
        result(&v, "windows.kernel-version")["detail"],
        "build 20348.2227 (21H2)"
    );
    assert_eq!(
        result(&v, "windows.drive-letters")["detail"],
        "C: maps to the Windows partition 2 (7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5) (gpt partition \
         7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5)"
    );
    assert_eq!(
        result(&v, "windows.serial-console")["detail"],
        "BCD store /EFI/Microsoft/Boot/BCD on volume 1: {bootmgr} bootems on, default loader ems \
         on, EMS port COM1, 115200 baud"
    );
}

#[test]
fn windows_bad_report() {
    let v = report("windows-bad", "testdata/windows/windows-bad.qcow2");
    let sr = "strongly_recommended";
    let ro = "recommended";
    // One line per defect planted by scripts/make-windows-fixtures.sh (testdata/windows/README.md).
    assert_finding(
        &v,
        "windows.virtio",
        sr,
        r"Services\viostor Start=3 (manual)",
    );
    assert_finding(&v, "windows.disk", sr, "\"xenfilt\"");
    assert_finding(&v, "windows.disk", sr, r"Services\prl_strg");
    assert_finding(
        &v,
        "windows.san-policy",
        ro,
        "SanPolicy = 4 (OfflineInternal)",
    );
    assert_finding(
        &v,
        "windows.driver-install",
        ro,
        r"Services\DeviceInstall\Parameters\DeviceInstallDisabled = 1",
    );
    assert_finding(
        &v,
        "windows.driver-install",
        ro,
        r"DeviceInstall\Restrictions\DenyDeviceClasses = 1",
    );
    assert_finding(
        &v,
        "windows.desktop-config",
        ro,
        r"C:\Users\Public\Desktop\desktop.ini does not exist",
    );
    assert_finding(
        &v,
        "windows.drive-letters",
        sr,
        "C: to gpt partition deadbeef-0bad-4c0d-8e0f-000000000c0c, which is not on this disk",
    );
    assert_finding(
        &v,
        "windows.drive-letters",
        ro,
        r#""\DosDevices\D:" = mbr disk 1a2b3c4d offset 1048576"#,
    );
    assert_finding(
        &v,
        "windows.bcd",
        sr,
        "osdevice (element 21000001) names gpt partition deadbeef-0bad-4c0d-8e0f-00000000d15c",
    );
    assert_finding(&v, "windows.group-policy", ro, "Default Domain Policy");
    assert_finding(&v, "windows.xen", sr, r"Services\xenfilt");
    assert_finding(
        &v,
        "windows.xen",
        sr,
        r"Services\XenPCI\Parameters\hide_devices = ide,nic",
    );
    assert_finding(
        &v,
        "windows.bootmgr",
        sr,
        r"uefi: no \EFI\Microsoft\Boot\bootmgfw.efi or \EFI\Boot\bootx64.efi",
    );
    assert_finding(
        &v,
        "disk.encrypted-volume",
        sr,
        "partition 3 (byte offset 65011712) is a bitlocker encrypted volume",
    );
    assert_finding(
        &v,
        "disk.encrypted-volume",
        sr,
        "UUID: 3F2E1D0C-5B4A-4978-8695-A4B3C2D1E0F9",
    );
    assert_finding(
        &v,
        "windows.bitlocker",
        ro,
        r"SYSTEM\ControlSet001\Control\BitLockerStatus: BootStatus = 1",
    );
    assert_finding(
        &v,
        "windows.bitlocker",
        ro,
        r"SOFTWARE\Policies\Microsoft\FVE: EncryptionMethodWithXtsOs = 7",
    );
    assert_finding(
        &v,
        "windows.bitlocker",
        ro,
        "partition 3 (byte offset 65011712) (E:) is a BitLocker-encrypted data volume",
    );
    assert_finding(
        &v,
        "windows.domain-controller-volumes",
        sr,
        r#"SYSTEM\ControlSet001\Services\NTDS\Parameters "DSA Database file" = D:\NTDS\ntds.dit"#,
    );
    assert_finding(
        &v,
        "windows.domain-controller-volumes",
        sr,
        "D: maps to mbr disk 1a2b3c4d offset 1048576, which is not a partition of this image",
    );
    assert_finding(&v, "windows.rdp", ro, "fDenyTSConnections = 1");
    assert_finding(&v, "windows.hibernation", sr, "hibernated");
    assert_finding(&v, "windows.hibernation", ro, "HibernateEnabled = 1");
    assert_finding(&v, "windows.hibernation", ro, "HiberbootEnabled = 1");
    assert_finding(&v, "windows.update", ro, "PendingFileRenameOperations");
    assert_finding(&v, "windows.update", sr, r"\WinSxS\pending.xml exists");
    assert_finding(
        &v,
        "windows.update",
        sr,
        r"Component Based Servicing\RebootPending",
    );
    assert_finding(&v, "windows.update", ro, r"Auto Update\RebootRequired");
    assert_finding(&v, "windows.dhcp", ro, "static");
    assert_finding(
        &v,
        "windows.sysprep",
        sr,
        r"Setup\State\ImageState = IMAGE_STATE_UNDEPLOYABLE",
    );
    assert_finding(
        &v,
        "windows.sysprep",
        sr,
        r"State.ini ImageState = IMAGE_STATE_UNDEPLOYABLE",
    );
    assert_finding(&v, "windows.hotfix", sr, "KB5009555");
    assert_finding(&v, "windows.hypervisor-tools", ro, "VMware Tools");
    assert_finding(&v, "windows.virtio-read-only", ro, "netkvm.sys");
    assert_finding(
        &v,
        "windows.bcd",
        sr,
        r"\Windows\system32\winload.exe does not exist",
    );
}

/// (variant, release, layout, kernel-version detail, client edition)
const NEWER: &[(&str, &str, &str, &str, bool)] = &[
    (
        "2012r2",
        "Windows Server 2012 R2",
        "bios-mbr",
        "build 9600",
        false,
    ),
    (
        "2016",
        "Windows Server 2016",
        "bios-mbr",
        "build 14393.6614 (1607)",
        false,
    ),
    (
        "2019",
        "Windows Server 2019",
        "uefi-gpt",
        "build 17763.5329 (1809)",
        false,
    ),
    (
        "10",
        "Windows 10",
        "bios-mbr",
        "build 19045.3930 (22H2)",
        true,
    ),
    (
        "11",
        "Windows 11",
        "uefi-gpt",
        "build 22631.3007 (23H2)",
        true,
    ),
];

/// The other releases: right version, build and layout facts, every Windows check that the 2022
/// good guest passes passes, no strongly recommended finding; Windows 10/11 get the catalogue's
/// recommended client-edition finding (checks.md §0.5) and nothing else from `windows.os-version`.
#[test]
fn newer_windows_reports() {
    for &(variant, release, layout, build, client) in NEWER {
        let name = format!("windows-{variant}");
        let v = report(&name, &format!("testdata/windows/{name}.qcow2"));
        assert!(
            v["strongly_recommended"].as_array().unwrap().is_empty(),
            "{name}: {:#}",
            v["strongly_recommended"]
        );
        for id in [
            "windows.platform",
            "windows.architecture",
            "windows.kernel-version",
            "windows.virtio",
            "windows.bcd",
            "windows.registry",
            "windows.hotfix",
            "windows.disk",
            "windows.sysprep",
            "windows.update",
            "windows.xen",
            "windows.cloud-assistant",
            "windows.bootmgr",
            "windows.os-loader",
            "windows.rdp",
            "windows.hibernation",
            "windows.hypervisor-tools",
            "windows.virtio-read-only",
            "windows.dhcp",
            "windows.core-services",
            "windows.pagefile",
            "windows.driver-install",
            "windows.desktop-config",
            "windows.san-policy",
            "windows.drive-letters",
            "windows.serial-console",
            "windows.bitlocker",
            "disk.encrypted-volume",
        ] {
            assert_eq!(result(&v, id)["status"], "no_risk", "{name}: {id}");
        }
        assert_eq!(
            result(&v, "windows.kernel-version")["detail"],
            build,
            "{name}"
        );
        let virtio = result(&v, "windows.virtio")["detail"].as_str().unwrap();
        assert_eq!(
            virtio,
            "viostor Start=0 (4 DriverDatabase device ids), netkvm Start=3 (manual), vioscsi \
             staged (DriverDatabase, no service)",
            "{name}"
        );
        let bootmgr = result(&v, "windows.bootmgr")["detail"].as_str().unwrap();
        let bcd = result(&v, "windows.bcd")["detail"].as_str().unwrap();
        if layout == "bios-mbr" {
            assert_eq!(bootmgr, "bios: /bootmgr on volume 1", "{name}");
            assert!(
                bcd.contains(r"\Windows\system32\winload.exe"),
                "{name}: {bcd}"
            );
            assert_eq!(
                result(&v, "boot.bios-boot-code")["status"],
                "no_risk",
                "{name}"
            );
            assert_eq!(
                result(&v, "boot.bios-boot-code")["detail"],
                "MBR boot code; active partition 1 (ntfs) holds bootmgr",
                "{name}"
            );
        } else {
            assert_eq!(
                bootmgr, "uefi: /EFI/Microsoft/Boot/bootmgfw.efi on volume 1",
                "{name}"
            );
            assert!(
                bcd.contains(r"\Windows\system32\winload.efi"),
                "{name}: {bcd}"
            );
        }
        let os = result(&v, "windows.os-version");
        if client {
            assert_eq!(os["status"], "recommended", "{name}");
            let findings = os["findings"].as_array().unwrap();
            assert_eq!(findings.len(), 1, "{name}: {os:#}");
            // Windows 11 says "Windows 10 Pro" in ProductName; the release names it.
            let who = if release == "Windows 11" {
                "Windows 10 Pro (Windows 11)"
            } else {
                "Windows 10 Pro"
            };
            assert_finding(
                &v,
                "windows.os-version",
                "recommended",
                &format!("{who} is a client edition"),
            );
        } else {
            assert_eq!(os["status"], "no_risk", "{name}");
            let d = os["detail"].as_str().unwrap();
            assert!(d.contains(&format!("({release}), amd64")), "{name}: {d}");
        }
    }
}

/// `imgcheck checks --json` lists every Alibaba image-check item (checks.md §0.2: 18 Linux and
/// 18 Windows items; BootMode and SystemImage are disk-level checks that count for Linux) with
/// one check each.
#[test]
fn all_alibaba_items_are_listed() {
    let out = Command::new(env!("CARGO_BIN_EXE_imgcheck"))
        .args(["checks", "--json"])
        .output()
        .expect("run imgcheck");
    assert!(out.status.success(), "{:?}", out.status);
    let v: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let mut linux = Vec::new();
    let mut windows = Vec::new();
    for c in v.as_array().unwrap() {
        let Some(item) = c["alibaba_item"].as_str() else {
            continue;
        };
        let name = item.strip_prefix("GUESTOS.").unwrap().to_string();
        match c["applies_to"].as_str().unwrap() {
            "windows" => windows.push(name),
            _ => linux.push(name),
        }
    }
    linux.sort();
    windows.sort();
    let sorted = |l: &[&str]| {
        let mut v: Vec<String> = l.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(
        linux,
        sorted(&[
            "Platform",
            "OSVersion",
            "Architecture",
            "RtcTimeMode",
            "BootMode",
            "KernelVersion",
            "Virtio",
            "Nvme",
            "Fstab",
            "Grub",
            "Dhcp",
            "Selinux",
            "OnlineResizeFS",
            "SystemImage",
            "CloudAssistant",
            "CloudInit",
            "SecurityCenterAgent",
            "SupportMocInstanceTypes",
        ])
    );
    assert_eq!(
        windows,
        sorted(&[
            "Platform",
            "OSVersion",
            "Architecture",
            "KernelVersion",
            "Virtio",
            "BCD",
            "Registry",
            "Hotfix",
            "Disk",
            "Sysprep",
            "Update",
            "Xen",
            "CloudAssistant",
            "Server",
            "DesktopConfig",
            "BootMgr",
            "OSLoader",
            "Vminit",
        ])
    );
}
