//! Builders for in-memory [`Facts`] used by the checks' unit tests.

use crate::facts::*;
use crate::verdict::{Finding, Severity, Verdict};

pub fn part(number: u32, start: u64, size: u64, type_id: &str) -> PartitionInfo {
    PartitionInfo {
        number,
        start,
        size,
        type_id: type_id.into(),
        kind: if type_id.starts_with("0x") {
            "primary"
        } else {
            "gpt"
        }
        .into(),
        ..PartitionInfo::default()
    }
}

pub fn table(scheme: &str, partitions: Vec<PartitionInfo>) -> Option<TableInfo> {
    Some(TableInfo {
        scheme: scheme.into(),
        sector_size: 512,
        hybrid_mbr: false,
        partitions,
    })
}

pub fn fs(fs_type: &str) -> FsFacts {
    FsFacts {
        fs_type: fs_type.into(),
        size_bytes: 1 << 30,
        clean: Some(true),
        ..FsFacts::default()
    }
}

pub fn fs_with_roles(fs_type: &str, roles: &[&str]) -> FsFacts {
    FsFacts {
        roles: roles.iter().map(|r| (*r).to_string()).collect(),
        ..fs(fs_type)
    }
}

pub fn vol(partition: u32, content: VolumeContent) -> VolumeFacts {
    VolumeFacts {
        id: partition.to_string(),
        partition: Some(partition),
        size: 1 << 30,
        content,
        error: None,
    }
}

pub fn fs_vol(partition: u32, fs: FsFacts) -> VolumeFacts {
    vol(partition, VolumeContent::Filesystem(fs))
}

pub fn guest(os_type: &str, roots: u32) -> Option<GuestFacts> {
    Some(GuestFacts {
        os_type: os_type.into(),
        pretty_name: Some(format!("Test {os_type}")),
        arch: Some("x86_64".into()),
        roots_found: roots,
        ..GuestFacts::default()
    })
}

/// A healthy 10 GiB BIOS+UEFI Linux disk: GPT, BIOS boot, ESP with fallback loader, ext4 root.
pub fn good_linux() -> Facts {
    let mut esp = fs_with_roles("fat32", &["esp"]);
    esp.efi_loaders = vec![
        "\\EFI\\BOOT\\BOOTX64.EFI".into(),
        "\\EFI\\debian\\shimx64.efi".into(),
    ];
    let mut root = fs_with_roles("ext4", &["root"]);
    root.free_bytes = Some(5 << 30);
    root.total_inodes = Some(600_000);
    root.free_inodes = Some(500_000);
    root.features = vec!["extent".into(), "metadata_csum".into()];
    Facts {
        image: ImageInfo {
            format: "qcow2".into(),
            virtual_size: 10 << 30,
            file_size: 2 << 30,
            allocated_bytes: Some(2 << 30),
            ..ImageInfo::default()
        },
        table: table(
            "gpt",
            vec![
                part(1, 1 << 20, 1 << 20, crate::layout::BIOS_BOOT_GUID),
                part(2, 2 << 20, 126 << 20, crate::layout::ESP_GUID),
                part(
                    3,
                    128 << 20,
                    (10 << 30) - (129 << 20),
                    "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                ),
            ],
        ),
        volumes: vec![
            vol(1, VolumeContent::Unknown),
            fs_vol(2, esp),
            fs_vol(3, root),
        ],
        boot: BootSectorInfo {
            readable: true,
            boot_code_nonzero: true,
            grub_signature: true,
            mbr_gap_has_code: false,
        },
        guest: guest("linux", 1),
        ..Facts::default()
    }
}

/// The findings of a verdict, asserting there are some with exactly these severities.
#[track_caller]
pub fn findings(v: &Verdict, severities: &[Severity]) -> Vec<Finding> {
    match v {
        Verdict::Findings(f) => {
            let got: Vec<_> = f.iter().map(|f| f.severity).collect();
            assert_eq!(got, severities, "{f:#?}");
            for x in f {
                assert!(!x.message.is_empty() && !x.remedy.is_empty(), "{x:?}");
            }
            f.clone()
        }
        other => panic!("expected findings, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_pass(v: &Verdict) -> Option<String> {
    match v {
        Verdict::Pass { detail } => detail.clone(),
        other => panic!("expected pass, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_not_evaluated(v: &Verdict) -> String {
    match v {
        Verdict::NotEvaluated { reason } => reason.clone(),
        other => panic!("expected not evaluated, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_not_applicable(v: &Verdict) -> String {
    match v {
        Verdict::NotApplicable { reason } => reason.clone(),
        other => panic!("expected not applicable, got {other:?}"),
    }
}

// --- Linux guest builders (Linux checks helper) ---

/// A healthy default kernel: virtio and nvme drivers as modules, all inside its initramfs.
pub fn linux_kernel(version: &str) -> imgcheck_inspect::linux::KernelInfo {
    use imgcheck_inspect::kconfig::DriverStatus;
    use imgcheck_inspect::linux::{InitrdSummary, KernelInfo};
    let names = [
        "virtio_blk",
        "virtio_net",
        "virtio_pci",
        "virtio_scsi",
        "nvme",
        "nvme_core",
    ];
    let drivers = names
        .iter()
        .map(|n| {
            (
                (*n).to_string(),
                DriverStatus::Module {
                    path: format!("/lib/modules/{version}/kernel/drivers/{n}.ko"),
                },
            )
        })
        .collect();
    KernelInfo {
        version: version.into(),
        image: format!("/boot/vmlinuz-{version}"),
        initrd: Some(format!("/boot/initrd.img-{version}")),
        config: Some(format!("/boot/config-{version}")),
        modules_dir: true,
        default: true,
        drivers,
        initrd_summary: Some(InitrdSummary {
            path: format!("/boot/initrd.img-{version}"),
            compressions: vec!["gzip".into()],
            entries: 100,
            module_count: 6,
            drivers_found: names.iter().map(|n| (*n).to_string()).collect(),
            complete: true,
            truncated: false,
            stopped_early: false,
            error: None,
            modules: names.iter().map(|n| (*n).to_string()).collect(),
        }),
        ..KernelInfo::default()
    }
}

/// Linux facts of a healthy Debian 12 cloud guest.
pub fn good_linux_facts() -> imgcheck_inspect::linux::LinuxFacts {
    use imgcheck_inspect::network::{Interface, Method};
    let mut lf = imgcheck_inspect::linux::LinuxFacts {
        distro: Some("debian".into()),
        version: Some("12".into()),
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        arch: Some("x86_64".into()),
        kernels: vec![linux_kernel("6.1.0-28-cloud-amd64")],
        ..Default::default()
    };
    lf.network.interfaces = vec![Interface {
        name: "eth0".into(),
        method: Method::Dhcp,
        system: "ifupdown".into(),
        source: "/etc/network/interfaces".into(),
        line: 4,
        mac: None,
        ipv6: None,
        onboot: Some(true),
        cloud_init_rendered: false,
    }];
    lf.system.rtc = "UTC".into();
    lf.system.shadow.present = true;
    lf.system.shadow.root_entry = true;
    let ci = &mut lf.agents.cloud_init;
    ci.binary = Some("/usr/bin/cloud-init".into());
    ci.units_enabled = [
        "cloud-init-local",
        "cloud-init",
        "cloud-config",
        "cloud-final",
    ]
    .iter()
    .map(|u| format!("{u}.service"))
    .collect();
    ci.datasource_list = Some(vec!["AliYun".into(), "NoCloud".into()]);
    ci.datasource_source = Some("/etc/cloud/cloud.cfg.d/90_dpkg.cfg".into());
    ci.growpart_module = true;
    ci.resizefs_module = true;
    lf.agents.growpart = Some("/usr/bin/growpart".into());
    lf
}

/// [`good_linux`] with these Linux facts.
pub fn with_linux(lf: imgcheck_inspect::linux::LinuxFacts) -> Facts {
    let mut facts = good_linux();
    if let Some(g) = facts.guest.as_mut() {
        g.linux = Some(lf);
    }
    facts
}

// ---- Windows (windows_* checks) ----

/// A driver of [`good_windows`]: service present, Start 0, file and driver-store package there.
pub fn win_driver(name: &str, family: &str, start: u32) -> imgcheck_inspect::windows::WinDriver {
    imgcheck_inspect::windows::WinDriver {
        name: name.into(),
        family: family.into(),
        service_present: true,
        start: Some(start),
        image_exists: Some(true),
        sys_file_present: true,
        sys_file_read_only: Some(false),
        driver_store: vec![format!("{name}.inf_amd64_0123456789abcdef")],
        ..Default::default()
    }
}

/// A service of [`good_windows`].
pub fn win_service(name: &str, start: u32) -> imgcheck_inspect::windows::ServiceInfo {
    imgcheck_inspect::windows::ServiceInfo {
        name: name.into(),
        start: Some(start),
        service_type: Some(1),
        image_path: Some(format!(r"System32\drivers\{name}.sys")),
        guest_path: Some(format!("/Windows/System32/drivers/{name}.sys")),
        image_exists: Some(true),
        ..imgcheck_inspect::windows::ServiceInfo::default()
    }
}

/// A parsed hive status.
pub fn win_hive(name: &str, path: &str) -> imgcheck_inspect::windows::HiveStatus {
    imgcheck_inspect::windows::HiveStatus {
        name: name.into(),
        path: path.into(),
        present: true,
        size: 1 << 20,
        parsed: true,
        dirty: false,
        checksum_ok: true,
        anomalies: Vec::new(),
        error: None,
    }
}

/// A healthy UEFI Windows Server 2022 disk (GPT: ESP + NTFS) with virtio drivers, Cloud
/// Assistant and vminit, everything the `windows.*` checks want.
pub fn good_windows() -> Facts {
    use imgcheck_inspect::windows::*;
    let mut esp = fs_with_roles("fat32", &["esp"]);
    esp.efi_loaders = vec![
        "\\EFI\\BOOT\\BOOTX64.EFI".into(),
        "\\EFI\\Microsoft\\Boot\\bootmgfw.efi".into(),
    ];
    let mut sys = fs_with_roles("ntfs", &["root"]);
    sys.free_bytes = Some(20 << 30);
    let gpt_c = DiskLocation::Gpt {
        partition_guid: "7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5".into(),
        disk_guid: Some("5c3e1a2b-6d4f-4e8a-9b0c-1d2e3f405162".into()),
    };
    let mut drivers = std::collections::BTreeMap::new();
    for (n, fam, start) in [
        ("viostor", "virtio-blk", 0),
        ("vioscsi", "virtio-scsi", 0),
        ("netkvm", "virtio-net", 3),
    ] {
        drivers.insert(n.to_string(), win_driver(n, fam, start));
    }
    let filters = |class: &str, guid: &str, upper: &[&str]| ClassFilters {
        class: class.into(),
        guid: guid.into(),
        present: true,
        upper: upper
            .iter()
            .map(|n| FilterRef {
                name: (*n).into(),
                service_exists: true,
                image_exists: Some(true),
            })
            .collect(),
        lower: Vec::new(),
    };
    let agent = |id: &str, name: &str| Detected {
        id: id.into(),
        name: name.into(),
        evidence: vec![format!("service {id}")],
    };
    let w = WindowsFacts {
        system_root: "/Windows".into(),
        product_name: Some("Windows Server 2022 Datacenter".into()),
        edition_id: Some("ServerDatacenter".into()),
        installation_type: Some("Server".into()),
        major_version: Some(10),
        minor_version: Some(0),
        build: Some("20348".into()),
        ubr: Some(2227),
        display_version: Some("21H2".into()),
        arch: Some("amd64".into()),
        arch_source: Some("PE header of /Windows/System32/ntoskrnl.exe".into()),
        processor_architecture: Some("AMD64".into()),
        hostname: Some("WIN-TEST".into()),
        current_control_set: Some("ControlSet001".into()),
        services: vec![
            win_service("Dhcp", 2),
            win_service("netkvm", 3),
            win_service("partmgr", 0),
            win_service("TermService", 3),
            win_service("vioscsi", 0),
            win_service("viostor", 0),
        ],
        class_filters: vec![
            filters(
                "disk",
                "{4d36e967-e325-11ce-bfc1-08002be10318}",
                &["partmgr"],
            ),
            filters(
                "scsi_adapter",
                "{4d36e97b-e325-11ce-bfc1-08002be10318}",
                &[],
            ),
        ],
        drivers,
        driver_store: vec![
            "netkvm.inf_amd64_0123456789abcdef".into(),
            "vioscsi.inf_amd64_0123456789abcdef".into(),
            "viostor.inf_amd64_0123456789abcdef".into(),
        ],
        rdp: RdpFacts {
            deny_ts_connections: Some(0),
            policy_deny_ts_connections: None,
            enabled: Some(true),
            port: Some(3389),
            term_service_start: Some(3),
        },
        interfaces: vec![InterfaceInfo {
            guid: "{11111111-2222-3333-4444-555555555555}".into(),
            enable_dhcp: Some(true),
            ip_addresses: Vec::new(),
        }],
        dhcp_service_start: Some(2),
        time: TimeFacts {
            time_zone_key_name: Some("UTC".into()),
            standard_name: Some("Coordinated Universal Time".into()),
            bias_minutes: Some(0),
            real_time_is_universal: Some(true),
        },
        paging: PagingFacts {
            paging_files: vec![r"?:\pagefile.sys".into()],
            pagefile_present: true,
        },
        hibernation: HibernationFacts {
            enabled: Some(false),
            ..HibernationFacts::default()
        },
        fast_startup: Some(false),
        sysprep: SysprepFacts {
            image_state: Some("IMAGE_STATE_COMPLETE".into()),
            state_ini_image_state: Some("IMAGE_STATE_COMPLETE".into()),
            setup_in_progress: Some(0),
        },
        san_policy: Some(1),
        crash_dump: CrashDumpFacts {
            crash_dump_enabled: Some(7),
            auto_reboot: Some(1),
            nmi_crash_dump: None,
        },
        drive_letters: vec![DriveLetter {
            letter: "C:".into(),
            location: gpt_c.clone(),
        }],
        hotfixes: vec![Hotfix {
            kb: "KB5005039".into(),
            package: "Package_for_KB5005039~31bf3856ad364e35~amd64~~20348.230.1.1".into(),
            state: Some(0x70),
            installed: true,
        }],
        agents: vec![
            agent("aliyun-assist", "Alibaba Cloud Assistant"),
            agent("vminit", "Alibaba vminit"),
        ],
        loader_files: LoaderFiles {
            winload_exe: true,
            winload_efi: true,
            ntoskrnl: true,
            hal_dll: true,
        },
        boot_files: [
            "/EFI/Boot/bootx64.efi",
            "/EFI/Microsoft/Boot/BCD",
            "/EFI/Microsoft/Boot/bootmgfw.efi",
        ]
        .iter()
        .map(|p| BootFile {
            volume: "1".into(),
            path: (*p).into(),
        })
        .collect(),
        bcd: vec![BcdFacts {
            volume: "1".into(),
            store: "/EFI/Microsoft/Boot/BCD".into(),
            objects: 20,
            bootmgr_device: Some(DiskLocation::Gpt {
                partition_guid: "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9".into(),
                disk_guid: Some("5c3e1a2b-6d4f-4e8a-9b0c-1d2e3f405162".into()),
            }),
            default_id: Some("{b2c3d4e5-f607-4819-a2b3-c4d5e6f70819}".into()),
            description: Some("Windows Server".into()),
            path: Some(r"\Windows\system32\winload.efi".into()),
            systemroot: Some(r"\Windows".into()),
            path_exists: Some(true),
            device: Some(gpt_c.clone()),
            osdevice: Some(gpt_c),
            bootmgr_ems: Some(true),
            ems: Some(true),
            ems_port: Some(1),
            ems_baud_rate: Some(115_200),
        }],
        desktop: Some(DesktopFacts {
            folders: ["/Users/Administrator/Desktop", "/Users/Public/Desktop"]
                .iter()
                .map(|p| DesktopFolder {
                    path: (*p).into(),
                    desktop_ini: true,
                })
                .collect(),
            public_desktop_present: true,
        }),
        hives: vec![
            win_hive("SOFTWARE", "/Windows/System32/config/SOFTWARE"),
            win_hive("SYSTEM", "/Windows/System32/config/SYSTEM"),
            win_hive("BCD", "/EFI/Microsoft/Boot/BCD"),
        ],
        ..WindowsFacts::default()
    };
    let mut g = guest("windows", 1);
    if let Some(g) = g.as_mut() {
        g.arch = Some("x86_64".into());
        g.pretty_name = Some("Windows Server 2022 Datacenter".into());
        g.windows = Some(w);
        g.root_volume = Some("2".into());
    }
    Facts {
        image: ImageInfo {
            format: "qcow2".into(),
            virtual_size: 40 << 30,
            file_size: 10 << 30,
            allocated_bytes: Some(10 << 30),
            ..ImageInfo::default()
        },
        table: table(
            "gpt",
            vec![
                part(1, 1 << 20, 100 << 20, crate::layout::ESP_GUID),
                part(
                    2,
                    101 << 20,
                    (40 << 30) - (102 << 20),
                    "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
                ),
            ],
        ),
        volumes: vec![fs_vol(1, esp), fs_vol(2, sys)],
        guest: g,
        disk_ids: DiskIds {
            mbr_signature: None,
            gpt_disk_guid: Some("5c3e1a2b-6d4f-4e8a-9b0c-1d2e3f405162".into()),
            partitions: vec![
                PartitionId {
                    number: 1,
                    start: 1 << 20,
                    guid: Some("0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9".into()),
                },
                PartitionId {
                    number: 2,
                    start: 101 << 20,
                    guid: Some("7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5".into()),
                },
            ],
        },
        ..Facts::default()
    }
}

/// The Windows facts of `f` (a copy).
pub fn win(f: &Facts) -> imgcheck_inspect::windows::WindowsFacts {
    f.guest.as_ref().unwrap().windows.clone().unwrap()
}

/// The Windows facts of `f`, to change.
pub fn win_mut(f: &mut Facts) -> &mut imgcheck_inspect::windows::WindowsFacts {
    f.guest.as_mut().unwrap().windows.as_mut().unwrap()
}

/// Mark the hive `name` of `f` as present but unparsable.
pub fn break_hive(f: &mut Facts, name: &str) {
    for h in &mut win_mut(f).hives {
        if h.name == name {
            h.parsed = false;
            h.error = Some("regf: bad base block signature at offset 0".into());
        }
    }
}
