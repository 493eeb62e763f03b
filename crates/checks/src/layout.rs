//! Shared readings of the disk layout used by several checks and by the report header: partition
//! type constants, the boot modes a layout offers, and human-readable names and sizes.
//!
//! Type GUIDs and MBR type bytes are from the UEFI specification (§5.3.3 "GPT Partition Entry
//! Array", EFI System Partition GUID), GRUB's manual ("BIOS installation": BIOS boot partition
//! GUID), the Discoverable Partitions Specification (Linux swap GUID) and the common MBR type
//! list; the decision rules are those of checks.md §1 `boot_mode` (virt-v2v firmware.ml, GCP
//! boot-inspect). Our own code: small, and the rules are imgcheck's.

use crate::facts::{Facts, FsFacts, PartitionInfo, VolumeContent, VolumeFacts};
use crate::profile::BootMode;

/// GPT type of the EFI System Partition (UEFI spec).
pub const ESP_GUID: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
/// GPT type of GRUB's BIOS boot partition (holds core.img on GPT disks).
pub const BIOS_BOOT_GUID: &str = "21686148-6449-6E6F-744E-656564454649";
/// GPT type of a Linux swap partition (Discoverable Partitions Specification).
pub const LINUX_SWAP_GUID: &str = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F";
/// MBR type byte of an EFI System Partition.
pub const MBR_TYPE_ESP: u8 = 0xEF;
/// MBR type byte of a Linux swap partition.
pub const MBR_TYPE_LINUX_SWAP: u8 = 0x82;
/// Bytes per MiB.
pub const MIB: u64 = 1 << 20;
/// A 512-byte-sector MBR addresses at most 2^32 sectors: 2 TiB.
pub const MBR_MAX_BYTES_512: u64 = 1 << 41;

/// The MBR type byte of a `0xNN` type id.
pub fn mbr_type(type_id: &str) -> Option<u8> {
    let hex = type_id
        .strip_prefix("0x")
        .or_else(|| type_id.strip_prefix("0X"))?;
    u8::from_str_radix(hex, 16).ok()
}

/// Whether the partition's type is this GUID (case-insensitive, braces ignored).
pub fn has_guid(p: &PartitionInfo, guid: &str) -> bool {
    p.type_id
        .trim_matches(|c| c == '{' || c == '}')
        .eq_ignore_ascii_case(guid)
}

/// An EFI System Partition by type (GPT GUID or MBR 0xEF).
pub fn is_esp_type(p: &PartitionInfo) -> bool {
    has_guid(p, ESP_GUID) || mbr_type(&p.type_id) == Some(MBR_TYPE_ESP)
}

/// A BIOS boot partition by type.
pub fn is_bios_boot_type(p: &PartitionInfo) -> bool {
    has_guid(p, BIOS_BOOT_GUID)
}

/// A swap partition by type.
pub fn is_swap_type(p: &PartitionInfo) -> bool {
    has_guid(p, LINUX_SWAP_GUID) || mbr_type(&p.type_id) == Some(MBR_TYPE_LINUX_SWAP)
}

/// The partitions of the table (empty without one).
pub fn partitions(facts: &Facts) -> &[PartitionInfo] {
    facts
        .table
        .as_ref()
        .map_or(&[], |t| t.partitions.as_slice())
}

/// The table's scheme (`gpt`, `mbr`, `none`), `None` when unread.
pub fn scheme(facts: &Facts) -> Option<&str> {
    facts.table.as_ref().map(|t| t.scheme.as_str())
}

/// The partition entry behind a volume.
pub fn partition_of<'a>(facts: &'a Facts, v: &VolumeFacts) -> Option<&'a PartitionInfo> {
    let n = v.partition?;
    partitions(facts).iter().find(|p| p.number == n)
}

/// The filesystem facts of a volume, if it holds a filesystem.
pub fn fs_of(v: &VolumeFacts) -> Option<&FsFacts> {
    match &v.content {
        VolumeContent::Filesystem(fs) => Some(fs),
        _ => None,
    }
}

/// What a volume holds, in words: `ext4`, `swap`, `luks2 encrypted`, `unreadable`, …
pub fn content_name(c: &VolumeContent) -> String {
    match c {
        VolumeContent::Filesystem(fs) => fs.fs_type.clone(),
        VolumeContent::Swap { .. } => "swap".into(),
        VolumeContent::Encrypted { scheme, .. } => format!("{scheme} encrypted"),
        VolumeContent::Lvm => "LVM physical volume".into(),
        VolumeContent::Raid => "RAID member".into(),
        VolumeContent::Unknown => "no recognised content".into(),
        VolumeContent::Unreadable => "unreadable".into(),
    }
}

/// Whether a filesystem type is FAT.
pub fn is_fat(fs_type: &str) -> bool {
    matches!(
        fs_type.to_ascii_lowercase().as_str(),
        "fat12" | "fat16" | "fat32" | "vfat" | "fat"
    )
}

/// Whether a filesystem type is ext2/3/4.
pub fn is_ext(fs_type: &str) -> bool {
    matches!(
        fs_type.to_ascii_lowercase().as_str(),
        "ext2" | "ext3" | "ext4"
    )
}

/// `partition 2` / `the whole disk` / `volume X`.
pub fn volume_name(v: &VolumeFacts) -> String {
    match v.partition {
        Some(n) => format!("partition {n}"),
        None if v.id == "whole" => "the whole disk".to_string(),
        None => format!("volume {}", v.id),
    }
}

/// `partition 2 (byte offset 1048576)` when the offset is known.
pub fn volume_place(facts: &Facts, v: &VolumeFacts) -> String {
    match partition_of(facts, v) {
        Some(p) => format!("{} (byte offset {})", volume_name(v), p.start),
        None => volume_name(v),
    }
}

/// `ext4 on partition 2 (UUID …, label "…")`.
pub fn fs_place(facts: &Facts, v: &VolumeFacts, fs: &FsFacts) -> String {
    let mut s = format!("{} on {}", fs.fs_type, volume_place(facts, v));
    let mut ids = Vec::new();
    if let Some(u) = &fs.uuid {
        ids.push(format!("UUID {u}"));
    }
    if let Some(l) = &fs.label {
        ids.push(format!("label \"{l}\""));
    }
    if !ids.is_empty() {
        s.push_str(&format!(", {}", ids.join(", ")));
    }
    s
}

/// Whether the filesystem has one of these roles (case-insensitive).
pub fn has_role(fs: &FsFacts, roles: &[&str]) -> bool {
    fs.roles
        .iter()
        .any(|r| roles.iter().any(|x| r.eq_ignore_ascii_case(x)))
}

/// Whether any filesystem on the disk has a role assigned (the guest was assembled).
pub fn roles_known(facts: &Facts) -> bool {
    facts
        .volumes
        .iter()
        .filter_map(fs_of)
        .any(|fs| !fs.roles.is_empty())
}

/// Binary units used by [`human_bytes`].
const UNITS: [(&str, u32); 5] = [
    ("PiB", 50),
    ("TiB", 40),
    ("GiB", 30),
    ("MiB", 20),
    ("KiB", 10),
];

/// `10.0 GiB` (one decimal, binary units), or `512 bytes` below 1 KiB.
pub fn human_bytes(n: u64) -> String {
    let v = u128::from(n);
    for (unit, shift) in UNITS {
        let base = 1u128 << shift;
        if v >= base {
            let tenths = v.saturating_mul(10).checked_div(base).unwrap_or(0);
            return format!("{}.{} {unit}", tenths / 10, tenths % 10);
        }
    }
    format!("{n} bytes")
}

/// `10.0 GiB (10737418240 bytes)`.
pub fn bytes_exact(n: u64) -> String {
    if n < 1024 {
        format!("{n} bytes")
    } else {
        format!("{} ({n} bytes)", human_bytes(n))
    }
}

/// Which firmware modes the disk layout offers, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootLayout {
    /// Modes offered, sorted (bios before uefi).
    pub modes: Vec<BootMode>,
    /// Partition numbers of EFI System Partitions (by type).
    pub esp_partitions: Vec<u32>,
    /// Volume ids of FAT volumes acting as ESP (by type, role `esp`, or EFI loaders found).
    pub esp_volumes: Vec<String>,
    /// Partition numbers of BIOS boot partitions.
    pub bios_boot_partitions: Vec<u32>,
    /// BIOS boot partitions whose content was examined and holds GRUB's core.img.
    pub bios_boot_with_core: Vec<u32>,
    /// BIOS boot partitions whose content was examined and holds no GRUB core.img (they cannot
    /// BIOS-boot with GRUB).
    pub bios_boot_without_core: Vec<u32>,
    /// One line per fact that led to the decision.
    pub evidence: Vec<String>,
}

impl BootLayout {
    /// Whether the layout offers this mode.
    pub fn offers(&self, mode: BootMode) -> bool {
        self.modes.contains(&mode)
    }

    /// `bios`, `uefi`, `bios+uefi` or `none`.
    pub fn describe(&self) -> String {
        if self.modes.is_empty() {
            "none".to_string()
        } else {
            self.modes
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join("+")
        }
    }
}

/// The disk-side firmware facts of the Linux guest, when the engine examined the boot code and
/// the BIOS boot partitions' content ([`imgcheck_inspect::firmware::disk_evidence`]).
pub fn disk_boot_facts(facts: &Facts) -> Option<&imgcheck_inspect::firmware::FirmwareFacts> {
    let fw = &facts.guest.as_ref()?.linux.as_ref()?.firmware;
    fw.disk_examined.then_some(fw)
}

/// The boot modes the layout offers (checks.md §1 `boot_mode`):
/// - UEFI: an ESP by type (GPT GUID or MBR 0xEF), a FAT volume with role `esp`, or a FAT volume
///   holding EFI loaders;
/// - BIOS on GPT: a BIOS boot partition (when its content was examined: one holding GRUB's
///   core.img — an empty one cannot BIOS-boot with GRUB), or a hybrid MBR with boot code;
/// - BIOS on MBR: boot code in sector 0, or no ESP at all (an MBR disk without an ESP is laid out
///   for BIOS; whether its boot code is there is `boot.bios-boot-code`'s question).
pub fn boot_layout(facts: &Facts) -> BootLayout {
    let mut out = BootLayout::default();
    for p in partitions(facts) {
        if is_esp_type(p) {
            out.esp_partitions.push(p.number);
            out.evidence.push(format!(
                "partition {} has the EFI System Partition type {}",
                p.number, p.type_id
            ));
        }
        if is_bios_boot_type(p) {
            out.bios_boot_partitions.push(p.number);
            let examined = disk_boot_facts(facts).and_then(|fw| {
                fw.bios_boot_partitions
                    .iter()
                    .find(|b| b.number == p.number)
            });
            match examined {
                Some(b) if b.grub_core => {
                    out.bios_boot_with_core.push(p.number);
                    out.evidence.push(format!(
                        "partition {} is a BIOS boot partition ({}) holding GRUB's core.img",
                        p.number, p.type_id
                    ));
                }
                Some(_) => {
                    out.bios_boot_without_core.push(p.number);
                    out.evidence.push(format!(
                        "partition {} is a BIOS boot partition ({}) but holds no GRUB core.img",
                        p.number, p.type_id
                    ));
                }
                None => out.evidence.push(format!(
                    "partition {} is a BIOS boot partition ({})",
                    p.number, p.type_id
                )),
            }
        }
    }
    for v in &facts.volumes {
        let by_type = v.partition.is_some_and(|n| out.esp_partitions.contains(&n));
        let by_fs = fs_of(v).is_some_and(|fs| {
            is_fat(&fs.fs_type) && (has_role(fs, &["esp"]) || !fs.efi_loaders.is_empty())
        });
        if by_type || by_fs {
            out.esp_volumes.push(v.id.clone());
            if by_fs && !by_type {
                out.evidence.push(format!(
                    "{} is a FAT volume used as EFI System Partition",
                    volume_name(v)
                ));
            }
        }
    }
    let has_esp = !out.esp_volumes.is_empty() || !out.esp_partitions.is_empty();
    let bios = match scheme(facts) {
        Some("gpt") => {
            let hybrid = facts.table.as_ref().is_some_and(|t| t.hybrid_mbr);
            if hybrid {
                out.evidence.push("hybrid MBR".to_string());
            }
            let usable = out
                .bios_boot_partitions
                .iter()
                .any(|n| !out.bios_boot_without_core.contains(n));
            usable || (hybrid && facts.boot.boot_code_nonzero)
        }
        Some("mbr") => {
            if disk_boot_facts(facts).and_then(|fw| fw.mbr_boot_code.as_deref()) == Some("grub") {
                out.evidence
                    .push("GRUB boot.img in sector 0 bytes 0..440".to_string());
            } else if facts.boot.boot_code_nonzero {
                out.evidence
                    .push("MBR boot code in sector 0 bytes 0..440".to_string());
            } else if !has_esp {
                out.evidence
                    .push("MBR partition table without an EFI System Partition".to_string());
            }
            facts.boot.boot_code_nonzero || !has_esp
        }
        _ => false,
    };
    if bios {
        out.modes.push(BootMode::Bios);
    }
    if has_esp {
        out.modes.push(BootMode::Uefi);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::TableInfo;

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(10 << 30), "10.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16383.9 PiB");
        assert_eq!(bytes_exact(1 << 20), "1.0 MiB (1048576 bytes)");
    }

    #[test]
    fn type_ids_parse() {
        assert_eq!(mbr_type("0xef"), Some(0xEF));
        assert_eq!(mbr_type("0X83"), Some(0x83));
        assert_eq!(mbr_type("83"), None);
        let p = PartitionInfo {
            type_id: "{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}".into(),
            ..PartitionInfo::default()
        };
        assert!(is_esp_type(&p));
    }

    #[test]
    fn gpt_with_esp_and_bios_boot_offers_both() {
        let facts = Facts {
            table: Some(TableInfo {
                scheme: "gpt".into(),
                sector_size: 512,
                hybrid_mbr: false,
                partitions: vec![
                    PartitionInfo {
                        number: 1,
                        type_id: BIOS_BOOT_GUID.into(),
                        ..PartitionInfo::default()
                    },
                    PartitionInfo {
                        number: 2,
                        type_id: ESP_GUID.into(),
                        ..PartitionInfo::default()
                    },
                ],
            }),
            ..Facts::default()
        };
        let l = boot_layout(&facts);
        assert_eq!(l.modes, vec![BootMode::Bios, BootMode::Uefi]);
        assert_eq!(l.describe(), "bios+uefi");
    }

    fn gpt_bios_boot_esp(core: Option<bool>) -> Facts {
        use crate::facts::GuestFacts;
        use imgcheck_inspect::firmware::{BiosBootPartition, FirmwareFacts};
        let mut lf = imgcheck_inspect::linux::LinuxFacts::default();
        if let Some(c) = core {
            lf.firmware = FirmwareFacts {
                disk_examined: true,
                mbr_boot_code: Some("grub".into()),
                bios_boot_partitions: vec![BiosBootPartition {
                    number: 14,
                    grub_core: c,
                }],
                ..FirmwareFacts::default()
            };
        }
        Facts {
            table: Some(TableInfo {
                scheme: "gpt".into(),
                sector_size: 512,
                hybrid_mbr: false,
                partitions: vec![
                    PartitionInfo {
                        number: 14,
                        type_id: BIOS_BOOT_GUID.into(),
                        ..PartitionInfo::default()
                    },
                    PartitionInfo {
                        number: 15,
                        type_id: ESP_GUID.into(),
                        ..PartitionInfo::default()
                    },
                ],
            }),
            guest: Some(GuestFacts {
                os_type: "linux".into(),
                linux: Some(lf),
                ..GuestFacts::default()
            }),
            ..Facts::default()
        }
    }

    #[test]
    fn bios_boot_partition_content_decides_when_examined() {
        let l = boot_layout(&gpt_bios_boot_esp(None));
        assert_eq!(l.describe(), "bios+uefi");
        assert!(l.bios_boot_with_core.is_empty() && l.bios_boot_without_core.is_empty());
        let l = boot_layout(&gpt_bios_boot_esp(Some(true)));
        assert_eq!(l.describe(), "bios+uefi");
        assert_eq!(l.bios_boot_with_core, vec![14]);
        assert!(
            l.evidence[0].ends_with("holding GRUB's core.img"),
            "{:?}",
            l.evidence
        );
        let l = boot_layout(&gpt_bios_boot_esp(Some(false)));
        assert_eq!(l.describe(), "uefi");
        assert_eq!(l.bios_boot_without_core, vec![14]);
        assert!(
            l.evidence[0].ends_with("but holds no GRUB core.img"),
            "{:?}",
            l.evidence
        );
    }
}
