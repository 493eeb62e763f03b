//! [`Facts`]: everything the checks may look at, as plain data.
//!
//! The engine fills these from the container, volume, filesystem and inspection layers; the
//! checks never read an image themselves (design invariant 6, "checks are pure"). The types are
//! plain, serialisable and constructible in tests, so every check is tested on in-memory facts.
//! Our own code: the shape is imgcheck's contract between the layers and the checks.
//!
//! Conventions: sizes and offsets are **bytes**; [`PartitionInfo::start`] is the byte offset of
//! the partition's first byte on the virtual disk (not an LBA), [`PartitionInfo::size`] its
//! length in bytes. GPT type GUIDs are uppercase with dashes; MBR types are `0x` + two hex digits.

use imgcheck_core::Anomaly;
use serde::{Deserialize, Serialize};

/// All facts about one image.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Facts {
    /// The container (raw, qcow2, …).
    pub image: ImageInfo,
    /// The partition table; `None` = it could not be read ([`Facts::table_error`] says why).
    pub table: Option<TableInfo>,
    /// Why the partition table could not be read.
    pub table_error: Option<String>,
    /// One entry per partition (not the extended container), or one "whole disk" volume.
    pub volumes: Vec<VolumeFacts>,
    /// Facts of sector 0 and the gap after it.
    pub boot: BootSectorInfo,
    /// Everything the lower layers reported as wrong without stopping.
    pub anomalies: Vec<Anomaly>,
    /// LVM volume groups found on the disk (with the PVs missing from the image).
    pub volume_groups: Vec<imgcheck_volume::lvm::VolumeGroup>,
    /// Operating-system facts; `None` = not inspected.
    pub guest: Option<GuestFacts>,
    /// The identifiers Windows uses to name this disk and its partitions (MBR disk signature,
    /// GPT disk and unique partition GUIDs): what `MountedDevices` and BCD device elements must
    /// match.
    #[serde(default)]
    pub disk_ids: DiskIds,
}

/// Identifiers of the disk and its partitions, as Windows' `MountedDevices` and BCD device
/// elements name them. GUIDs are lowercase without braces; the signature is 8 lowercase hex
/// digits (the forms of [`imgcheck_inspect::windows::DiskLocation`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiskIds {
    /// MBR disk signature (sector 0, offset 0x1B8) when non-zero (a GPT's protective MBR may
    /// carry one too; Windows names GPT partitions by GUID).
    pub mbr_signature: Option<String>,
    /// GPT disk GUID.
    pub gpt_disk_guid: Option<String>,
    /// One entry per partition of the table (extended containers included), in table order.
    pub partitions: Vec<PartitionId>,
}

/// How Windows can name one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartitionId {
    /// Partition number (as in [`PartitionInfo::number`]).
    pub number: u32,
    /// Byte offset of its first byte (what an MBR `MountedDevices` value stores).
    pub start: u64,
    /// GPT unique partition GUID.
    pub guid: Option<String>,
}

impl DiskIds {
    /// The partition a `MountedDevices` value or BCD device names, if it is on this disk:
    /// GPT by unique partition GUID (and disk GUID, when the location carries one), MBR by disk
    /// signature and start offset. `None` for other locations or other disks.
    pub fn find(&self, loc: &imgcheck_inspect::windows::DiskLocation) -> Option<&PartitionId> {
        use imgcheck_inspect::windows::DiskLocation;
        match loc {
            DiskLocation::Gpt {
                partition_guid,
                disk_guid,
            } => {
                if let (Some(want), Some(have)) = (disk_guid, &self.gpt_disk_guid) {
                    if !want.eq_ignore_ascii_case(have) {
                        return None;
                    }
                }
                self.partitions.iter().find(|p| {
                    p.guid
                        .as_deref()
                        .is_some_and(|g| g.eq_ignore_ascii_case(partition_guid))
                })
            }
            DiskLocation::Mbr {
                disk_signature,
                offset,
            } => {
                let sig = self.mbr_signature.as_deref()?;
                if !sig.eq_ignore_ascii_case(disk_signature) {
                    return None;
                }
                self.partitions.iter().find(|p| p.start == *offset)
            }
            _ => None,
        }
    }
}

/// Facts about the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// `raw`, `qcow2`, `vhd`, `vhdx` or `vmdk`.
    pub format: String,
    /// `fixed`, `dynamic`, `differencing`, `monolithicSparse`, `streamOptimized`, …
    pub subformat: Option<String>,
    /// Size of the virtual disk in bytes.
    pub virtual_size: u64,
    /// Size of the image file(s) in bytes.
    pub file_size: u64,
    /// Bytes of the virtual disk the image stores data for, where the format tells.
    pub allocated_bytes: Option<u64>,
    /// The image depends on a backing file / parent disk.
    pub has_backing: bool,
    /// The backing reference exactly as stored.
    pub backing_reference: Option<String>,
    /// The image has a backing file / parent disk that was not opened (no `--follow-backing`):
    /// what the image does not store itself reads as zeros, so the disk's contents are unknown.
    #[serde(default)]
    pub backing_unread: bool,
    /// Not closed cleanly (qcow2 dirty bit, VHDX log to replay).
    pub dirty: bool,
    /// The format's own corrupt marker is set.
    pub corrupt: bool,
    /// Compression used by the image (`zlib`, `zstd`, `deflate`).
    pub compression: Option<String>,
}

/// Facts about the partition table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    /// `gpt`, `mbr` or `none`.
    pub scheme: String,
    /// Logical sector size the table was found with (512 or 4096).
    pub sector_size: u32,
    /// A GPT disk whose protective MBR also lists real partitions.
    pub hybrid_mbr: bool,
    /// The partitions, in table order (extended containers included, kind `extended`).
    pub partitions: Vec<PartitionInfo>,
}

/// One partition table entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    /// Partition number as Linux names it (1–4 primary, 5+ logical; GPT entry index + 1).
    pub number: u32,
    /// Byte offset of the first byte on the virtual disk.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// GPT type GUID (uppercase) or MBR type as `0x83`.
    pub type_id: String,
    /// Human name of the type, where known.
    pub type_name: Option<String>,
    /// GPT partition name.
    pub name: Option<String>,
    /// MBR active flag (0x80) or GPT legacy-BIOS-bootable attribute.
    pub bootable: bool,
    /// `primary`, `extended`, `logical` or `gpt`.
    pub kind: String,
}

/// One volume: a partition's contents, or the whole disk when there is no table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeFacts {
    /// `1`, `5`, `whole`.
    pub id: String,
    /// The partition number, when this volume is a partition.
    pub partition: Option<u32>,
    /// Size in bytes.
    pub size: u64,
    /// What the volume holds.
    pub content: VolumeContent,
    /// Why the volume could not be opened or probed.
    pub error: Option<String>,
}

/// What a volume holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeContent {
    /// A filesystem imgcheck recognised.
    Filesystem(FsFacts),
    /// A swap area.
    Swap {
        /// Swap UUID.
        uuid: Option<String>,
        /// Swap label.
        label: Option<String>,
    },
    /// An encrypted volume (`luks1`, `luks2`, `bitlocker`).
    Encrypted {
        /// The scheme.
        scheme: String,
        /// Its UUID, where the header has one.
        uuid: Option<String>,
    },
    /// An LVM2 physical volume.
    Lvm,
    /// A Linux md RAID member.
    Raid,
    /// Nothing recognised.
    #[default]
    Unknown,
    /// The volume could not be read.
    Unreadable,
}

/// Facts about one filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsFacts {
    /// `ext2`, `ext3`, `ext4`, `fat12`, `fat16`, `fat32`, `ntfs`, `xfs`, `btrfs`.
    pub fs_type: String,
    /// Filesystem UUID / volume serial.
    pub uuid: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Free bytes, where known.
    pub free_bytes: Option<u64>,
    /// Inode count, where the filesystem has a fixed one.
    pub total_inodes: Option<u64>,
    /// Free inodes.
    pub free_inodes: Option<u64>,
    /// Cleanly unmounted (ext `s_state`, NTFS dirty flag, XFS log clean), where known.
    pub clean: Option<bool>,
    /// The journal has transactions to replay.
    pub journal_needs_recovery: bool,
    /// Features, e.g. `64bit`, `metadata_csum`, `quota`, `project`.
    pub features: Vec<String>,
    /// FAT volumes: EFI loaders found (`\EFI\BOOT\BOOTX64.EFI`, …), paths as found.
    pub efi_loaders: Vec<String>,
    /// NTFS/FAT root holds `bootmgr`.
    pub has_bootmgr: bool,
    /// Roles the guest assembly gave it (`root`, `boot`, `esp`, `usr`, `var`, …); empty = unknown.
    pub roles: Vec<String>,
}

/// Facts of sector 0 (MBR / protective MBR) and the MBR gap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootSectorInfo {
    /// Sector 0 could be read.
    pub readable: bool,
    /// Bytes 0..440 are not all zero.
    pub boot_code_nonzero: bool,
    /// The string `GRUB` occurs in sector 0 (GRUB's boot.img).
    pub grub_signature: bool,
    /// Non-zero bytes between sector 1 and the first partition (GRUB core.img), capped read.
    pub mbr_gap_has_code: bool,
}

/// Operating-system facts. More fields come later; unknown fields default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuestFacts {
    /// `linux`, `windows` or `unknown`.
    pub os_type: String,
    /// Distribution id (`debian`, `rhel`, …).
    pub distro: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Human name (`Debian GNU/Linux 12 (bookworm)`).
    pub pretty_name: Option<String>,
    /// `x86_64`, `aarch64`, `i386`, …
    pub arch: Option<String>,
    /// Operating-system roots found by inspection.
    pub roots_found: u32,
    /// The volume holding the OS root.
    pub root_volume: Option<String>,
    /// Whether the root has `/etc/fstab`.
    pub fstab_present: bool,
    /// Each `/etc/fstab` entry and what it resolves to in this image.
    pub fstab: Vec<imgcheck_inspect::MountEntry>,
    /// `/etc/fstab` lines that are not valid entries.
    pub fstab_problems: Vec<imgcheck_inspect::fstab::FstabProblem>,
    /// Linux facts (distribution, kernels and their initramfs, boot loader, network, services,
    /// packages, agents, system settings), when the guest is Linux.
    pub linux: Option<imgcheck_inspect::linux::LinuxFacts>,
    /// Windows facts (registry, services and drivers, boot chain), when the guest is Windows.
    pub windows: Option<imgcheck_inspect::windows::WindowsFacts>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgcheck_core::ErrorKind;

    #[test]
    fn facts_round_trip_through_json() {
        let facts = Facts {
            image: ImageInfo {
                format: "qcow2".into(),
                virtual_size: 1 << 30,
                ..ImageInfo::default()
            },
            volumes: vec![VolumeFacts {
                id: "1".into(),
                partition: Some(1),
                size: 1 << 20,
                content: VolumeContent::Encrypted {
                    scheme: "luks2".into(),
                    uuid: None,
                },
                error: None,
            }],
            anomalies: vec![Anomaly::new(
                "gpt",
                "backup header",
                Some(4096),
                ErrorKind::Corrupt,
                "crc32 mismatch",
            )],
            ..Facts::default()
        };
        let json = serde_json::to_string(&facts).unwrap_or_default();
        assert!(json.contains("\"kind\":\"corrupt\""), "{json}");
        let back: Facts = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back.anomalies, facts.anomalies);
        assert_eq!(back.volumes, facts.volumes);
        assert_eq!(back.image, facts.image);
    }

    #[test]
    fn guest_facts_accept_unknown_and_missing_fields() {
        let g: GuestFacts =
            serde_json::from_str(r#"{"os_type":"linux","future_field":1}"#).unwrap_or_default();
        assert_eq!(g.os_type, "linux");
        assert_eq!(g.roots_found, 0);
    }
}
