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
//! blocklist (start LBA, sector count, load segment). Both were checked against the real images
//! GRUB 2.12's `grub-mkimage -O i386-pc` and `/usr/lib/grub/i386-pc/boot.img` produce, installed
//! as `grub-bios-setup` installs them (the bundled sample, `scripts/make-sample.sh`): the
//! partition table `grub-bios-setup` copies over bytes 0x1B8..0x1FE of boot.img leaves the
//! messages intact, and the kernel-sector field at 0x5C holds the BIOS boot partition's first LBA.
//!
//! # The decision ([`FirmwareFacts::decide`])
//!
//! UEFI is decided by any UEFI evidence. BIOS is decided on the disk when the disk was examined
//! and its boot code says something definite, and by any BIOS evidence otherwise:
//! - sector 0's boot code (bytes 0..440) is all zero ⇒ **not BIOS**: BIOS firmware has nothing to
//!   run, whatever packages or `grub-install` output the guest holds;
//! - GRUB's boot.img in sector 0 ⇒ BIOS exactly when the core.img it loads was found (at the LBA
//!   boot.img names; a boot.img whose core.img is missing ⇒ **not BIOS**);
//! - SYSLINUX's MBR program (`mbr.bin`, `altmbr.bin`, `gptmbr.bin`, recognised by its messages)
//!   ⇒ BIOS when it has a partition to start (mbr.bin: exactly one active MBR entry), **not
//!   BIOS** when it has none (it stops with "Missing operating system." or "Multiple active
//!   partitions."); the boot sector it starts is not examined;
//! - other boot code (another loader's MBR program), or sector 0 unreadable ⇒ the disk does not
//!   decide, and any BIOS evidence (a core.img found on the disk, guest files, packages) does.
//!
//! Guest-side evidence never overrides the disk: packages say what *could* be installed, the
//! disk what *is*. They stay in [`FirmwareFacts::evidence`] either way; when the disk overrules
//! BIOS evidence of the guest, an evidence item of kind `no-bios-boot-code` says why.
//! Without disk examination (`inspect` of a filesystem only, unit tests) every piece of BIOS
//! evidence counts.

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
    /// `bios-boot-partition`, `mbr-gap-core`, `no-bios-boot-code`.
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
    /// MBR boot code: `grub` (GRUB boot.img), `syslinux` (one of SYSLINUX's MBR programs),
    /// `other`, `empty`, `unreadable` (when examined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mbr_boot_code: Option<String>,
    /// BIOS boot partitions (when examined).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bios_boot_partitions: Vec<BiosBootPartition>,
}

impl FirmwareFacts {
    /// What the examined disk says about BIOS boot: `Some(false)` when its boot code cannot
    /// start anything (sector 0 empty, GRUB's boot.img without its core.img, SYSLINUX's MBR
    /// without a partition to start), `Some(true)` when GRUB's boot.img loads a core.img that is
    /// there or SYSLINUX's MBR has a partition to start, `None` when the disk was not
    /// examined or does not decide (other boot code, sector 0 unreadable). See the module docs.
    pub fn disk_bios(&self) -> Option<bool> {
        if !self.disk_examined {
            return None;
        }
        match self.mbr_boot_code.as_deref() {
            Some("empty") => Some(false),
            Some("grub" | "syslinux") => Some(
                self.evidence
                    .iter()
                    .any(|e| e.kind == "mbr-boot-code" && e.mode == "bios"),
            ),
            _ => None,
        }
    }

    /// Recompute [`FirmwareFacts::firmware`] from the evidence (the rule is in the module docs).
    pub fn decide(&mut self) {
        let has = |m: &str| self.evidence.iter().any(|e| e.mode == m);
        let bios = self.disk_bios().unwrap_or_else(|| has("bios"));
        self.firmware = match (bios, has("uefi")) {
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
        let guest_bios: Vec<&str> = self
            .evidence
            .iter()
            .filter(|e| e.mode == "bios" && !DISK_KINDS.contains(&e.kind.as_str()))
            .map(|e| e.kind.as_str())
            .collect();
        if self.disk_bios() == Some(false) && !guest_bios.is_empty() {
            let why = match self.mbr_boot_code.as_deref() {
                Some("empty") => "sector 0 bytes 0..440 hold no boot code",
                Some("syslinux") => {
                    "SYSLINUX's MBR program in sector 0 finds no partition to start"
                }
                _ => "GRUB's boot.img in sector 0 finds no core.img to load",
            };
            let detail = format!(
                "{why}: BIOS firmware cannot start this disk, whatever the guest's {} say",
                describe_kinds(&guest_bios)
            );
            self.evidence
                .push(FirmwareEvidence::new("none", "no-bios-boot-code", detail));
        }
        self.decide();
    }
}

/// Evidence kinds read from the disk outside any filesystem.
const DISK_KINDS: &[&str] = &[
    "mbr-boot-code",
    "bios-boot-partition",
    "mbr-gap-core",
    "no-bios-boot-code",
];

/// `packages`, `grub-install output` or both, for the overruled guest evidence.
fn describe_kinds(kinds: &[&str]) -> &'static str {
    let pk = kinds.iter().any(|k| k.starts_with("package"));
    let gi = kinds.contains(&"grub-platform");
    match (pk, gi) {
        (true, true) => "packages and grub-install output",
        (false, true) => "grub-install output",
        _ => "packages",
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

/// SYSLINUX's MBR programs (`mbr.bin`, `altmbr.bin`, `gptmbr.bin`, what `setup-disk` and
/// `syslinux`'s documentation install with `dd bs=440 count=1`), by their messages: mbr.bin and
/// altmbr.bin print "Missing operating system." and "Operating system load error." (only
/// mbr.bin, which looks for the active flag, also "Multiple active partitions."); gptmbr.bin
/// "Missing OS", "Multiple active partitions" and "Disk error". Windows' MBR says "Error loading
/// operating system" instead, so it is not taken for SYSLINUX's.
pub fn syslinux_mbr(sector: &[u8]) -> Option<&'static str> {
    let code = sector.get(..MBR_CODE_LEN)?;
    let has = |n: &[u8]| contains(code, n);
    if has(b"Missing operating system.") && has(b"Operating system load error.") {
        return Some(if has(b"Multiple active partitions.") {
            "mbr.bin"
        } else {
            "altmbr.bin"
        });
    }
    if has(b"Missing OS") && has(b"Multiple active partitions") && has(b"Disk error") {
        return Some("gptmbr.bin");
    }
    None
}

/// What SYSLINUX's MBR program `prog` ([`syslinux_mbr`]) in sector 0 `s` starts: the mode
/// (`bios`, or `none` when it has no partition to start) and the evidence's detail.
fn syslinux_evidence(prog: &str, s: &[u8]) -> (&'static str, String) {
    match prog {
        "mbr.bin" => match active_entries(s).as_slice() {
            [] => (
                "none",
                "SYSLINUX mbr.bin in sector 0, but no partition is active: it stops \
                 with \"Missing operating system.\""
                    .to_string(),
            ),
            [n] => (
                "bios",
                format!(
                    "SYSLINUX mbr.bin in sector 0; it starts the boot sector of the \
                     active partition (MBR entry {n})"
                ),
            ),
            _ => (
                "none",
                "SYSLINUX mbr.bin in sector 0, but several partitions are active: it \
                 stops with \"Multiple active partitions.\""
                    .to_string(),
            ),
        },
        "altmbr.bin" => (
            "bios",
            format!(
                "SYSLINUX altmbr.bin in sector 0; it starts the boot sector of \
                 partition {}",
                s.get(MBR_CODE_LEN.saturating_sub(1)).copied().unwrap_or(0)
            ),
        ),
        _ => (
            "bios",
            "SYSLINUX gptmbr.bin in sector 0; it starts the GPT partition with the \
             legacy BIOS bootable attribute"
                .to_string(),
        ),
    }
}

/// Numbers (1-4) of the MBR partition entries marked active (0x80) in sector 0.
fn active_entries(sector: &[u8]) -> Vec<usize> {
    (0..4usize)
        .filter(|i| {
            i.checked_mul(16)
                .and_then(|o| o.checked_add(0x1be))
                .and_then(|o| sector.get(o))
                == Some(&0x80)
        })
        .map(|i| i.saturating_add(1))
        .collect()
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
    match &s0 {
        Some(s) => {
            let code = s.get(..MBR_CODE_LEN).unwrap_or_default();
            if core_lba.is_some() {
                out.mbr_boot_code = "grub".into();
            } else if let Some(prog) = syslinux_mbr(s) {
                out.mbr_boot_code = "syslinux".into();
                let (mode, detail) = syslinux_evidence(prog, s);
                out.evidence
                    .push(FirmwareEvidence::new(mode, "mbr-boot-code", detail));
            } else if code.iter().any(|&b| b != 0) {
                out.mbr_boot_code = "other".into();
            }
        }
        None => out.mbr_boot_code = "unreadable".into(),
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
        let parts = linux_part_at_1m();
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
        assert_eq!(d.mbr_boot_code, "unreadable");
        let d = disk_evidence(&MemSource::new(vec![0u8; 1024]), &parts, 512);
        assert_eq!(d.mbr_boot_code, "empty");
        // A boot.img whose LBA overflows is not followed.
        disk[..512].copy_from_slice(&boot_img(u64::MAX));
        let d = disk_evidence(&MemSource::new(disk), &parts, 512);
        assert_eq!(d.evidence[0].mode, "none");
    }

    /// SYSLINUX's mbr.bin as Alpine's setup-disk installs it (the real program's messages, laid
    /// out as in syslinux 6.04's mbr.S: code, then the three messages before byte 440).
    #[test]
    fn syslinux_mbr_programs() {
        let mut s0 = vec![0u8; 512];
        s0[0] = 0x33;
        let msgs = b"Missing operating system.\r\n\0Multiple active partitions.\r\n\0Operating system load error.\r\n\0";
        s0[300..300 + msgs.len()].copy_from_slice(msgs);
        s0[510] = 0x55;
        s0[511] = 0xaa;
        assert_eq!(syslinux_mbr(&s0), Some("mbr.bin"));
        let parts = linux_part_at_1m();
        // No active entry: it cannot start anything, whatever the guest says.
        let d = disk_evidence(&MemSource::new(s0.clone()), &parts, 512);
        assert_eq!(d.mbr_boot_code, "syslinux");
        assert_eq!(d.evidence[0].mode, "none");
        let mut f = with_packages(&["grub-pc"]);
        f.add_disk(d);
        assert_eq!(f.firmware, None);
        assert!(f.evidence.iter().any(|e| e.kind == "no-bios-boot-code"
            && e.detail
                .starts_with("SYSLINUX's MBR program in sector 0 finds no partition")));
        // Entry 1 active.
        s0[0x1be] = 0x80;
        let d = disk_evidence(&MemSource::new(s0.clone()), &parts, 512);
        assert_eq!(
            (d.evidence[0].mode.as_str(), d.evidence[0].detail.as_str()),
            (
                "bios",
                "SYSLINUX mbr.bin in sector 0; it starts the boot sector of the active partition \
                 (MBR entry 1)"
            )
        );
        let mut f = FirmwareFacts::default();
        f.add_disk(d);
        assert_eq!(f.firmware.as_deref(), Some("bios"));
        // Two active entries.
        s0[0x1ce] = 0x80;
        let d = disk_evidence(&MemSource::new(s0.clone()), &parts, 512);
        assert!(d.evidence[0]
            .detail
            .contains("several partitions are active"));
        // gptmbr.bin; and Windows' MBR is not SYSLINUX's.
        let mut g = vec![0u8; 512];
        let m = b"Missing OS\r\n\0Multiple active partitions\r\n\0Disk error\r\n\0";
        g[380..380 + m.len()].copy_from_slice(m);
        assert_eq!(syslinux_mbr(&g), Some("gptmbr.bin"));
        let mut w = vec![0u8; 512];
        let m =
            b"Invalid partition table\0Error loading operating system\0Missing operating system\0";
        w[0x163..0x163 + m.len()].copy_from_slice(m);
        assert_eq!(syslinux_mbr(&w), None);
        assert_eq!(syslinux_mbr(&[0u8; 100]), None);
    }

    /// boot.img as `grub-bios-setup` leaves it: BPB area from the old sector 0, boot drive 0xFF,
    /// the drive-check jump replaced by NOPs, the disk signature and partition table copied over
    /// bytes 0x1B8..0x1FE; core.img's first sector with its blocklist filled in.
    #[test]
    fn recognises_images_as_installed() {
        let mut s = boot_img(2048);
        s[0x64] = 0xff;
        s[0x66] = 0x90;
        s[0x67] = 0x90;
        s[0x1b8..0x1be].copy_from_slice(&[0x12, 0x34, 0x56, 0x78, 0, 0]);
        s[0x1be..0x1ce].copy_from_slice(&[
            0, 0, 2, 0, 0xee, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0xff, 0xff, 0, 0,
        ]);
        assert_eq!(grub_boot_img(&s), Some(2048));
        let mut c = core_img();
        c[500..508].copy_from_slice(&2049u64.to_le_bytes());
        c[508..510].copy_from_slice(&54u16.to_le_bytes());
        c[510..512].copy_from_slice(&0x820u16.to_le_bytes());
        assert!(grub_core_img(&c));
        // The placeholders the phony guests carried before are not GRUB's images.
        let mut phony = vec![0u8; 512];
        let text = b"\xeb\x63\x90GRUB boot code (phony)";
        phony[..text.len()].copy_from_slice(text);
        assert_eq!(grub_boot_img(&phony), None);
        let mut phony_core = vec![0u8; 512];
        phony_core[..19].copy_from_slice(b"phony GRUB core.img");
        assert!(!grub_core_img(&phony_core));
    }

    /// One 1 MiB Linux partition (MBR type 0x83) at 1 MiB.
    fn linux_part_at_1m() -> Vec<DiskPartition> {
        vec![DiskPartition {
            number: 1,
            start: 1 << 20,
            size: 1 << 20,
            type_id: "0x83".into(),
        }]
    }

    fn bios_boot_parts() -> Vec<DiskPartition> {
        vec![DiskPartition {
            number: 1,
            start: 1 << 20,
            size: 1 << 20,
            type_id: BIOS_BOOT_GUID.into(),
        }]
    }

    fn with_packages(names: &[&str]) -> FirmwareFacts {
        guest_evidence(
            &MemFs::new().file("/etc/fstab", "").view(),
            &Packages {
                list: names.iter().map(|n| pkg(n)).collect(),
                ..Packages::default()
            },
        )
    }

    #[test]
    fn empty_boot_code_overrules_bios_packages() {
        // A UEFI-only disk (protective MBR without code) of a guest that has grub-pc installed.
        let disk = vec![0u8; 4 << 20];
        let d = disk_evidence(&MemSource::new(disk), &bios_boot_parts(), 512);
        let mut f = with_packages(&["grub-pc", "grub-efi-amd64"]);
        assert_eq!(f.firmware.as_deref(), Some("bios+uefi"));
        f.add_disk(d);
        assert_eq!(f.disk_bios(), Some(false));
        assert_eq!(f.firmware.as_deref(), Some("uefi"));
        // The packages stay as evidence; one item says why they do not decide.
        let kinds: Vec<(&str, &str)> = f
            .evidence
            .iter()
            .map(|e| (e.mode.as_str(), e.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("bios", "package"),
                ("uefi", "package"),
                ("none", "no-bios-boot-code")
            ]
        );
        assert_eq!(
            f.evidence[2].detail,
            "sector 0 bytes 0..440 hold no boot code: BIOS firmware cannot start this disk, \
             whatever the guest's packages say"
        );
        // Deciding again gives the same answer.
        f.decide();
        assert_eq!(f.firmware.as_deref(), Some("uefi"));
    }

    #[test]
    fn boot_img_without_core_overrules_grub_install_output() {
        let mut disk = vec![0u8; 4 << 20];
        disk[..512].copy_from_slice(&boot_img(2048));
        let d = disk_evidence(&MemSource::new(disk.clone()), &bios_boot_parts(), 512);
        let mut f = guest_evidence(
            &MemFs::new().file("/boot/grub/i386-pc/core.img", "x").view(),
            &Packages {
                list: vec![pkg("grub-pc")],
                ..Packages::default()
            },
        );
        f.add_disk(d);
        assert_eq!(f.firmware, None);
        let last = f.evidence.last().unwrap();
        assert_eq!(last.kind, "no-bios-boot-code");
        assert!(
            last.detail
                .starts_with("GRUB's boot.img in sector 0 finds no core.img to load")
                && last
                    .detail
                    .ends_with("packages and grub-install output say"),
            "{}",
            last.detail
        );
        // With its core.img in place the disk confirms BIOS, and nothing is overruled.
        disk[1 << 20..(1 << 20) + 512].copy_from_slice(&core_img());
        let d = disk_evidence(&MemSource::new(disk), &bios_boot_parts(), 512);
        let mut f = with_packages(&["grub-pc"]);
        f.add_disk(d);
        assert_eq!(f.disk_bios(), Some(true));
        assert_eq!(f.firmware.as_deref(), Some("bios"));
        assert!(f.evidence.iter().all(|e| e.kind != "no-bios-boot-code"));
    }

    #[test]
    fn undecided_disk_leaves_bios_to_the_other_evidence() {
        // Another loader's MBR program: the disk does not decide, the package does.
        let mut disk = vec![0u8; 4 << 20];
        disk[0] = 0xfa;
        let d = disk_evidence(&MemSource::new(disk), &bios_boot_parts(), 512);
        let mut f = with_packages(&["grub-pc"]);
        f.add_disk(d);
        assert_eq!(f.disk_bios(), None);
        assert_eq!(f.firmware.as_deref(), Some("bios"));
        // Sector 0 unreadable: the same.
        let d = disk_evidence(&MemSource::new(vec![0u8; 100]), &[], 512);
        let mut f = with_packages(&["grub-pc"]);
        f.add_disk(d);
        assert_eq!(f.mbr_boot_code.as_deref(), Some("unreadable"));
        assert_eq!(f.firmware.as_deref(), Some("bios"));
        // Not examined at all: every piece of evidence counts.
        assert_eq!(with_packages(&["grub-pc"]).disk_bios(), None);
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
