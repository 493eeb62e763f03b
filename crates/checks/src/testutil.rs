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
