//! The firmware a Linux guest is set up for — BIOS, UEFI or both — from evidence, each item
//! named.
//!
//! Guest-side evidence (read through the assembled guest, [`guest_evidence`]):
//! - an EFI loader on the mounted ESP (`/boot/efi` or `/efi`: the UEFI removable-media path
//!   `EFI/BOOT/BOOT<arch>.EFI`, or a vendor `shim*.efi` / `grub*.efi`) ⇒ UEFI;
//! - `grub-install`'s per-platform output: `/boot/grub{,2}/i386-pc/core.img` ⇒ BIOS,
//!   `/boot/grub{,2}/x86_64-efi/core.efi` (or `arm64-efi`) ⇒ UEFI;
//! - the boot-loader packages: `grub-pc` / `grub2-pc` ⇒ BIOS, `grub-efi-<arch>` /
//!   `grub2-efi-<arch>` / `shim*` / `systemd-boot` ⇒ UEFI. The `-bin` module packages
//!   (`grub-pc-bin`, `grub-efi-amd64-bin`) only make an installation possible; they are listed
//!   but decide nothing.
//!
//! Disk-side evidence (bytes outside any filesystem, [`disk_evidence`], run by the engine on
//! the raw disk): GRUB's `boot.img` in the MBR boot code and GRUB's `core.img` in a BIOS boot
//! partition (GPT type `21686148-6449-6E6F-744E-656564454649`) or in the gap after the MBR.
//! Both are recognised by content, as GRUB's documentation and `boot/i386/pc/boot.S` /
//! `diskboot.S` describe them: `boot.img` is one sector starting with a short `jmp` over a
//! BIOS parameter block, carrying the LBA of core.img's first sector at offset 0x5C and the
//! messages `GRUB `, `Geom`, `Hard Disk`, `Read`, ` Error`; the first sector of `core.img`
//! (`diskboot.img`) carries the messages `loading`, `Geom`, `Read`, ` Error` and ends with a
//! blocklist (start LBA, sector count, load segment). Our own code.

use crate::packages::Packages;
use crate::view::GuestView;
use imgcheck_core::BlockSource;
use serde::{Deserialize, Serialize};

/// GPT type of GRUB's BIOS boot partition.
pub const BIOS_BOOT_GUID: &str = "21686148-6449-6E6F-744E-656564454649";
/// Offset in boot.img of the 64-bit LBA of core.img's first sector (`GRUB_BOOT_MACHINE_KERNEL_SECTOR`).
const BOOT_KERNEL_SECTOR: usize = 0x5c;
/// Bytes of MBR boot code (before the disk signature).
const MBR_CODE_LEN: usize = 440;

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareEvidence {
    /// The mode it supports: `bios` or `uefi`; `none` for evidence that decides nothing.
    pub mode: String,
    /// `esp-loader`, `grub-platform`, `package`, `package-modules`, `mbr-boot-code`,
    /// `bios-boot-partition`, `mbr-gap-core`.
    pub kind: String,
    /// What was found, with its path, package version or disk location.
    pub detail: String,
}

impl FirmwareEvidence {
    fn new(mode: &str, kind: &str, detail: String) -> FirmwareEvidence {
        FirmwareEvidence {
            mode: mode.into(),
            kind: kind.into(),
            detail,
        }
    }
}

/// A BIOS boot partition and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BiosBootPartition {
    /// Partition number.
    pub number: u32,
    /// Its first sector is GRUB's core.img (diskboot.img).
    pub grub_core: bool,
}

/// The firmware the guest is set up for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareFacts {
    /// `bios`, `uefi` or `bios+uefi`; `None` when no evidence decides.
    pub firmware: Option<String>,
    /// Every piece of evidence, guest-side first.
    pub evidence: Vec<FirmwareEvidence>,
    /// The disk's boot code and BIOS boot partitions were examined ([`disk_evidence`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disk_examined: bool,
    /// MBR boot code: `grub` (GRUB boot.img), `other`, `empty` (when examined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mbr_boot_code: Option<String>,
    /// BIOS boot partitions (when examined).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bios_boot_partitions: Vec<BiosBootPartition>,
}

impl FirmwareFacts {
    /// Recompute [`FirmwareFacts::firmware`] from the evidence.
    pub fn decide(&mut self) {
        let has = |m: &str| self.evidence.iter().any(|e| e.mode == m);
        self.firmware = match (has("bios"), has("uefi")) {
            (true, true) => Some("bios+uefi".into()),
            (true, false) => Some("bios".into()),
            (false, true) => Some("uefi".into()),
            (false, false) => None,
        };
    }

    /// Add the disk-side evidence and decide again.
    pub fn add_disk(&mut self, disk: DiskBoot) {
        self.disk_examined = true;
        self.mbr_boot_code = Some(disk.mbr_boot_code);
        self.bios_boot_partitions = disk.bios_boot_partitions;
        self.evidence.extend(disk.evidence);
        self.decide();
    }
}

/// ESP mount points looked at.
const ESP_DIRS: &[&str] = &["/boot/efi", "/efi", "/boot"];
/// UEFI removable-media loaders (UEFI spec §3.5.1.1).
const REMOVABLE: &[&str] = &[
    "BOOTX64.EFI",
    "BOOTAA64.EFI",
    "BOOTIA32.EFI",
    "BOOTRISCV64.EFI",
];
/// Vendor loaders.
const VENDOR: &[&str] = &[
    "shimx64.efi",
    "grubx64.efi",
    "shimaa64.efi",
    "grubaa64.efi",
    "systemd-bootx64.efi",
];
/// Vendor directories listed at most.
const MAX_VENDORS: usize = 64;
/// GRUB directories and the platform files grub-install writes.
const GRUB_PLATFORM: &[(&str, &str)] = &[
    ("i386-pc/core.img", "bios"),
    ("x86_64-efi/core.efi", "uefi"),
    ("arm64-efi/core.efi", "uefi"),
    ("i386-efi/core.efi", "uefi"),
];

/// Package name → mode. `none` for module-only packages.
fn package_mode(name: &str) -> Option<&'static str> {
    if name.ends_with("-bin") && (name.starts_with("grub-pc") || name.starts_with("grub-efi")) {
        return Some("none");
    }
    match name {
        "grub-pc" | "grub2-pc" | "grub2-i386-pc" => Some("bios"),
        "systemd-boot" | "systemd-boot-efi" => Some("uefi"),
        n if n.starts_with("grub-efi-") && !n.ends_with("-dbg") => Some("uefi"),
        n if n.starts_with("grub2-efi-") && !n.contains("-modules") => Some("uefi"),
        // shim itself, not its helper packages (`shim-helpers-*`, `shim-signed-common`).
        n if n == "shim"
            || (n.starts_with("shim-") && !n.contains("-helpers") && !n.ends_with("-common")) =>
        {
            Some("uefi")
        }
        _ => None,
    }
}

/// Guest-side evidence of the firmware, decided ([`FirmwareFacts::firmware`] set).
pub fn guest_evidence(view: &GuestView, packages: &Packages) -> FirmwareFacts {
    let mut f = FirmwareFacts::default();
    let mut seen_loaders: Vec<String> = Vec::new();
    for esp in ESP_DIRS {
        let boot = format!("{esp}/EFI/BOOT");
        for l in REMOVABLE {
            let p = format!("{boot}/{l}");
            if view.exists(&p) {
                seen_loaders.push(p);
            }
        }
        if let Ok(vendors) = view.read_dir(&format!("{esp}/EFI")) {
            for v in vendors.iter().take(MAX_VENDORS) {
                if v.name.eq_ignore_ascii_case("BOOT") {
                    continue;
                }
                for l in VENDOR {
                    let p = format!("{esp}/EFI/{}/{l}", v.name);
                    if view.exists(&p) {
                        seen_loaders.push(p);
                    }
                }
            }
        }
        if !seen_loaders.is_empty() {
            break;
        }
    }
    for p in seen_loaders {
        f.evidence.push(FirmwareEvidence::new(
            "uefi",
            "esp-loader",
            format!("EFI loader {p}"),
        ));
    }
    for dir in ["/boot/grub", "/boot/grub2"] {
        for (file, mode) in GRUB_PLATFORM {
            let p = format!("{dir}/{file}");
            if view.exists(&p) {
                f.evidence.push(FirmwareEvidence::new(
                    mode,
                    "grub-platform",
                    format!("grub-install output {p}"),
                ));
            }
        }
    }
    for p in &packages.list {
        if let Some(mode) = package_mode(&p.name) {
            let kind = if mode == "none" {
                "package-modules"
            } else {
                "package"
            };
            f.evidence.push(FirmwareEvidence::new(
                mode,
                kind,
                format!("package {} {}", p.name, p.version),
            ));
        }
    }
    f.decide();
    f
}

/// What the disk's boot areas hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskBoot {
    /// `grub`, `other` or `empty`.
    pub mbr_boot_code: String,
    /// BIOS boot partitions examined.
    pub bios_boot_partitions: Vec<BiosBootPartition>,
    /// Evidence found.
    pub evidence: Vec<FirmwareEvidence>,
}

/// A partition as [`disk_evidence`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskPartition {
    /// Partition number.
    pub number: u32,
    /// Byte offset of its first byte.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// GPT type GUID (uppercase or lowercase, braces allowed) or `0xNN`.
    pub type_id: String,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// GRUB's boot.img in a boot sector: the LBA of core.img's first sector when recognised.
pub fn grub_boot_img(sector: &[u8]) -> Option<u64> {
    let code = sector.get(..MBR_CODE_LEN)?;
    // A short jmp (EB xx) over the BPB, then GRUB's messages.
    if code.first() != Some(&0xeb) {
        return None;
    }
    let all = [&b"GRUB "[..], b"Geom", b"Hard Disk", b"Read", b" Error"]
        .iter()
        .all(|n| contains(code, n));
    if !all {
        return None;
    }
    imgcheck_core::bytes::u64_le(code, BOOT_KERNEL_SECTOR)
}

/// Whether a sector is the first sector of GRUB's core.img (diskboot.img).
pub fn grub_core_img(sector: &[u8]) -> bool {
    let s = sector.get(..512).unwrap_or(sector);
    [&b"loading\0"[..], b"Geom\0", b"Read\0", b" Error"]
        .iter()
        .all(|n| contains(s, n))
}

fn sector_at(src: &dyn BlockSource, offset: u64) -> Option<[u8; 512]> {
    let mut b = [0u8; 512];
    let end = offset.checked_add(512)?;
    if end > src.len() {
        return None;
    }
    src.read_exact_at(&mut b, offset).ok()?;
    Some(b)
}

/// The disk-side evidence: the MBR boot code, the BIOS boot partitions' first sectors, and the
/// sector boot.img points to. `sector_size` is the logical sector size (LBAs in boot.img).
pub fn disk_evidence(src: &dyn BlockSource, parts: &[DiskPartition], sector_size: u64) -> DiskBoot {
    let mut out = DiskBoot {
        mbr_boot_code: "empty".into(),
        ..DiskBoot::default()
    };
    let s0 = sector_at(src, 0);
    let core_lba = s0.as_ref().and_then(|s| grub_boot_img(s));
    if let Some(s) = &s0 {
        let code = s.get(..MBR_CODE_LEN).unwrap_or_default();
        if core_lba.is_some() {
            out.mbr_boot_code = "grub".into();
        } else if code.iter().any(|&b| b != 0) {
            out.mbr_boot_code = "other".into();
        }
    }
    let is_bios_boot = |t: &str| {
        t.trim_matches(|c| c == '{' || c == '}')
            .eq_ignore_ascii_case(BIOS_BOOT_GUID)
    };
    let mut core_found_at: Option<String> = None;
    for p in parts.iter().filter(|p| is_bios_boot(&p.type_id)) {
        let core = p.size >= 512 && sector_at(src, p.start).is_some_and(|s| grub_core_img(&s));
        out.bios_boot_partitions.push(BiosBootPartition {
            number: p.number,
            grub_core: core,
        });
        if core {
            out.evidence.push(FirmwareEvidence::new(
                "bios",
                "bios-boot-partition",
                format!(
                    "GRUB core.img in BIOS boot partition {} (byte offset {})",
                    p.number, p.start
                ),
            ));
            core_found_at.get_or_insert(format!("BIOS boot partition {}", p.number));
        }
    }
    if let Some(lba) = core_lba {
        let off = lba.checked_mul(sector_size);
        let target_ok = off
            .and_then(|o| sector_at(src, o))
            .is_some_and(|s| grub_core_img(&s));
        let place = off.and_then(|o| {
            parts
                .iter()
                .find(|p| o >= p.start && o < p.start.saturating_add(p.size))
                .map(|p| format!("partition {}", p.number))
        });
        let detail = match (target_ok, place) {
            (true, Some(pl)) => format!("GRUB boot.img in the MBR; core.img at LBA {lba} ({pl})"),
            (true, None) => {
                if core_found_at.is_none() {
                    out.evidence.push(FirmwareEvidence::new(
                        "bios",
                        "mbr-gap-core",
                        format!(
                            "GRUB core.img at LBA {lba}, in the gap before the first partition"
                        ),
                    ));
                }
                format!("GRUB boot.img in the MBR; core.img at LBA {lba}")
            }
            (false, _) => {
                format!("GRUB boot.img in the MBR, but LBA {lba} it loads holds no GRUB core.img")
            }
        };
        out.evidence.push(FirmwareEvidence::new(
            if target_ok { "bios" } else { "none" },
            "mbr-boot-code",
            detail,
        ));
    }
    out
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;
    use crate::packages::Package;
    use crate::testfs::MemFs;
    use imgcheck_core::MemSource;

    /// A synthetic boot sector shaped like GRUB's boot.img (our bytes, GRUB's documented layout).
    fn boot_img(core_lba: u64) -> Vec<u8> {
        let mut s = vec![0u8; 512];
        s[0] = 0xeb;
        s[1] = 0x63;
        s[2] = 0x90;
        s[BOOT_KERNEL_SECTOR..BOOT_KERNEL_SECTOR + 8].copy_from_slice(&core_lba.to_le_bytes());
        let msg = b"GRUB \0Geom\0Hard Disk\0Read\0 Error\r\n\0";
        s[0x180..0x180 + msg.len()].copy_from_slice(msg);
        s[510] = 0x55;
        s[511] = 0xaa;
        s
    }

    fn core_img() -> Vec<u8> {
        let mut s = vec![0u8; 512];
        s[0] = 0x52;
        let msg = b"loading\0.\0\r\n\0Geom\0Read\0 Error\0";
        s[0x120..0x120 + msg.len()].copy_from_slice(msg);
        s
    }

    fn pkg(n: &str) -> Package {
        Package {
            name: n.into(),
            version: "2.06-13".into(),
            arch: "amd64".into(),
        }
    }

    #[test]
    fn recognises_boot_and_core_images() {
        assert_eq!(grub_boot_img(&boot_img(2048)), Some(2048));
        let mut other = boot_img(1);
        other[0] = 0xfa;
        assert_eq!(grub_boot_img(&other), None);
        assert_eq!(grub_boot_img(&[0u8; 100]), None);
        assert!(grub_core_img(&core_img()));
        assert!(!grub_core_img(&boot_img(1)));
        assert!(!grub_core_img(&[]));
    }

    #[test]
    fn gpt_disk_with_bios_boot_partition() {
        let mut disk = vec![0u8; 4 << 20];
        disk[..512].copy_from_slice(&boot_img(2048));
        disk[1 << 20..(1 << 20) + 512].copy_from_slice(&core_img());
        let parts = vec![
            DiskPartition {
                number: 14,
                start: 1 << 20,
                size: 1 << 20,
                type_id: BIOS_BOOT_GUID.to_ascii_lowercase(),
            },
            DiskPartition {
                number: 15,
                start: 2 << 20,
                size: 1 << 20,
                type_id: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".into(),
            },
        ];
        let d = disk_evidence(&MemSource::new(disk.clone()), &parts, 512);
        assert_eq!(d.mbr_boot_code, "grub");
        assert_eq!(
            d.bios_boot_partitions,
            vec![BiosBootPartition {
                number: 14,
                grub_core: true
            }]
        );
        let details: Vec<&str> = d.evidence.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            details,
            vec![
                "GRUB core.img in BIOS boot partition 14 (byte offset 1048576)",
                "GRUB boot.img in the MBR; core.img at LBA 2048 (partition 14)"
            ]
        );
        // An empty BIOS boot partition: no core, and boot.img points at nothing.
        disk[1 << 20..(1 << 20) + 512].fill(0);
        let d = disk_evidence(&MemSource::new(disk), &parts, 512);
        assert!(!d.bios_boot_partitions[0].grub_core);
        assert_eq!(d.evidence.len(), 1);
        assert_eq!(d.evidence[0].mode, "none");
        let mut f = FirmwareFacts::default();
        f.add_disk(d);
        assert_eq!(f.firmware, None);
        assert!(f.disk_examined);
    }

    #[test]
    fn mbr_gap_core_and_other_code() {
        let mut disk = vec![0u8; 2 << 20];
        disk[..512].copy_from_slice(&boot_img(1));
        disk[512..1024].copy_from_slice(&core_img());
        let parts = vec![DiskPartition {
            number: 1,
            start: 1 << 20,
            size: 1 << 20,
            type_id: "0x83".into(),
        }];
        let d = disk_evidence(&MemSource::new(disk.clone()), &parts, 512);
        assert_eq!(d.evidence[0].kind, "mbr-gap-core");
        assert_eq!(
            d.evidence[1].detail,
            "GRUB boot.img in the MBR; core.img at LBA 1"
        );
        let mut f = FirmwareFacts::default();
        f.add_disk(d);
        assert_eq!(f.firmware.as_deref(), Some("bios"));
        disk[..512].fill(0);
        disk[0] = 0xfa;
        let d = disk_evidence(&MemSource::new(disk.clone()), &parts, 512);
        assert_eq!(d.mbr_boot_code, "other");
        assert!(d.evidence.is_empty());
        let d = disk_evidence(&MemSource::new(vec![0u8; 100]), &parts, 512);
        assert_eq!(d.mbr_boot_code, "empty");
        // A boot.img whose LBA overflows is not followed.
        disk[..512].copy_from_slice(&boot_img(u64::MAX));
        let d = disk_evidence(&MemSource::new(disk), &parts, 512);
        assert_eq!(d.evidence[0].mode, "none");
    }

    #[test]
    fn guest_side_evidence() {
        let view = MemFs::new()
            .file("/boot/efi/EFI/BOOT/BOOTX64.EFI", "MZ")
            .file("/boot/efi/EFI/debian/shimx64.efi", "MZ")
            .file("/boot/efi/EFI/debian/grub.cfg", "x")
            .file("/boot/grub/i386-pc/core.img", "x")
            .file("/boot/grub/x86_64-efi/core.efi", "x")
            .view();
        let packages = Packages {
            format: "dpkg".into(),
            list: vec![
                pkg("grub-efi-amd64"),
                pkg("grub-pc-bin"),
                pkg("grub-efi-amd64-bin"),
                pkg("shim-signed-common"),
                pkg("shim-helpers-amd64-signed"),
                pkg("bash"),
            ],
            readable: true,
            ..Packages::default()
        };
        let f = guest_evidence(&view, &packages);
        assert_eq!(f.firmware.as_deref(), Some("bios+uefi"));
        let d: Vec<(&str, &str)> = f
            .evidence
            .iter()
            .map(|e| (e.mode.as_str(), e.detail.as_str()))
            .collect();
        assert_eq!(
            d,
            vec![
                ("uefi", "EFI loader /boot/efi/EFI/BOOT/BOOTX64.EFI"),
                ("uefi", "EFI loader /boot/efi/EFI/debian/shimx64.efi"),
                ("bios", "grub-install output /boot/grub/i386-pc/core.img"),
                ("uefi", "grub-install output /boot/grub/x86_64-efi/core.efi"),
                ("uefi", "package grub-efi-amd64 2.06-13"),
                ("none", "package grub-pc-bin 2.06-13"),
                ("none", "package grub-efi-amd64-bin 2.06-13"),
            ]
        );
        let f = guest_evidence(
            &MemFs::new().file("/etc/fstab", "").view(),
            &Packages {
                list: vec![pkg("grub2-pc"), pkg("grub2-efi-x64-modules")],
                ..Packages::default()
            },
        );
        assert_eq!(f.firmware.as_deref(), Some("bios"));
        assert_eq!(f.evidence.len(), 1);
        assert_eq!(
            guest_evidence(&MemFs::new().view(), &Packages::default()).firmware,
            None
        );
    }
}
