//! Binary blobs of the registry that name disks and partitions: `SYSTEM\MountedDevices` values
//! and BCD device elements (`11000001` device, `21000001` osdevice).
//!
//! Sources (no specification is published by Microsoft for either):
//! - MountedDevices: libguestfs inspection (`inspect_fs_windows.ml`, drive mappings) and
//!   dissect.target document the two forms — 12 bytes = MBR disk signature (LE u32) + partition
//!   byte offset (LE u64); `DMIO:ID:` + 16-byte GPT unique partition GUID (mixed-endian). Other
//!   values are UTF-16LE device paths (`\??\SCSI#Disk&Ven_…`, removable media).
//! - BCD device elements: Misty Projects' "BCDEdit – Devices Partition – Data" documents the
//!   partition device on real stores: device type at 0x10 (6 = partition), the structure's length
//!   at 0x18, partition identifier at 0x20 (MBR: partition byte offset LE u64; GPT: unique
//!   partition GUID), partition style at 0x34 (0 = GPT, 1 = MBR), disk identifier at 0x38 (MBR:
//!   disk signature LE u32; GPT: disk GUID). Type 5 is the boot device (`boot`). Other device types
//!   (ramdisk, locate, VHD) are reported by number, not decoded.
//!
//! Our own code: a few fixed offsets, not worth a dependency (and no licence-compatible crate
//! decodes them).

use imgcheck_core::bytes::{array, slice, u32_le, u64_le, utf16le_until_nul};
use serde::{Deserialize, Serialize};

/// Prefix of a GPT MountedDevices value.
const DMIO_PREFIX: &[u8; 8] = b"DMIO:ID:";
/// Length of an MBR MountedDevices value: signature (4) + offset (8).
const MBR_MOUNTED_LEN: usize = 12;
/// Length of a GPT MountedDevices value: prefix (8) + GUID (16).
const GPT_MOUNTED_LEN: usize = 24;

/// BCD device element: offset of the device type (u32).
const BCD_DEV_TYPE: usize = 0x10;
/// BCD device element: offset of the partition identifier (GUID or LE u64 byte offset).
const BCD_DEV_PART_ID: usize = 0x20;
/// BCD device element: offset of the partition style (u32: 0 GPT, 1 MBR).
const BCD_DEV_STYLE: usize = 0x34;
/// BCD device element: offset of the disk identifier (GUID or LE u32 signature).
const BCD_DEV_DISK_ID: usize = 0x38;
/// BCD device type: a partition (`partition=C:`).
const BCD_DEV_TYPE_PARTITION: u32 = 6;
/// BCD device type: the boot device (`boot`).
const BCD_DEV_TYPE_BOOT: u32 = 5;
/// Partition style values of a BCD partition device.
const STYLE_GPT: u32 = 0;
const STYLE_MBR: u32 = 1;

/// A GUID in Windows' mixed-endian byte order, as lowercase text without braces.
pub fn guid_lower(raw: &[u8; 16]) -> String {
    imgcheck_core::bytes::guid_mixed_endian(raw).to_ascii_lowercase()
}

/// Where a MountedDevices value or BCD device element points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiskLocation {
    /// A partition of an MBR disk.
    Mbr {
        /// MBR disk signature (offset 0x1B8 of sector 0), 8 hex digits.
        disk_signature: String,
        /// Partition start in bytes.
        offset: u64,
    },
    /// A partition of a GPT disk.
    Gpt {
        /// Unique partition GUID, lowercase.
        partition_guid: String,
        /// Disk GUID, when the blob carries it (BCD does, MountedDevices does not).
        disk_guid: Option<String>,
    },
    /// The BCD `boot` device: whatever partition the boot manager was loaded from.
    BootDevice,
    /// A device path (UTF-16LE MountedDevices values: removable media, CD-ROMs).
    DevicePath {
        /// The path.
        path: String,
    },
    /// Anything else, described.
    Other {
        /// What it is, e.g. `bcd device type 8` or `12 unrecognised bytes`.
        description: String,
    },
}

impl DiskLocation {
    /// One-line description, e.g. `gpt partition 7e1f… on disk 5c3e…`, `mbr disk 1a2b3c4d offset 1048576`.
    pub fn describe(&self) -> String {
        match self {
            DiskLocation::Mbr {
                disk_signature,
                offset,
            } => format!("mbr disk {disk_signature} offset {offset}"),
            DiskLocation::Gpt {
                partition_guid,
                disk_guid: Some(d),
            } => format!("gpt partition {partition_guid} on disk {d}"),
            DiskLocation::Gpt {
                partition_guid,
                disk_guid: None,
            } => format!("gpt partition {partition_guid}"),
            DiskLocation::BootDevice => "boot device".to_string(),
            DiskLocation::DevicePath { path } => format!("device {path}"),
            DiskLocation::Other { description } => description.clone(),
        }
    }
}

/// Decode one `SYSTEM\MountedDevices` value.
pub fn mounted_device(data: &[u8]) -> DiskLocation {
    if data.len() == MBR_MOUNTED_LEN {
        if let (Some(sig), Some(offset)) = (u32_le(data, 0), u64_le(data, 4)) {
            return DiskLocation::Mbr {
                disk_signature: format!("{sig:08x}"),
                offset,
            };
        }
    }
    if data.len() == GPT_MOUNTED_LEN && data.starts_with(DMIO_PREFIX) {
        if let Some(g) = array::<16>(data, DMIO_PREFIX.len()) {
            return DiskLocation::Gpt {
                partition_guid: guid_lower(&g),
                disk_guid: None,
            };
        }
    }
    // UTF-16LE device paths start with `\` (0x5C 0x00) or `_` (0x5F 0x00).
    if data.len() >= 4 && data.len() % 2 == 0 && matches!(data.get(..2), Some([0x5C | 0x5F, 0])) {
        return DiskLocation::DevicePath {
            path: utf16le_until_nul(data),
        };
    }
    DiskLocation::Other {
        description: format!("{} unrecognised bytes", data.len()),
    }
}

/// Decode a BCD device element (`11000001`, `21000001`, …). `None` when the blob is too short
/// to hold a device type.
pub fn bcd_device(data: &[u8]) -> Option<DiskLocation> {
    let dev_type = u32_le(data, BCD_DEV_TYPE)?;
    Some(match dev_type {
        BCD_DEV_TYPE_BOOT => DiskLocation::BootDevice,
        BCD_DEV_TYPE_PARTITION => {
            let short = || DiskLocation::Other {
                description: format!("bcd partition device of {} bytes (truncated)", data.len()),
            };
            let (Some(style), Some(part), Some(disk)) = (
                u32_le(data, BCD_DEV_STYLE),
                array::<16>(data, BCD_DEV_PART_ID),
                slice(data, BCD_DEV_DISK_ID, 16),
            ) else {
                return Some(short());
            };
            match style {
                STYLE_GPT => DiskLocation::Gpt {
                    partition_guid: guid_lower(&part),
                    disk_guid: disk.try_into().ok().map(|d: [u8; 16]| guid_lower(&d)),
                },
                STYLE_MBR => match (u64_le(&part, 0), u32_le(disk, 0)) {
                    (Some(offset), Some(sig)) => DiskLocation::Mbr {
                        disk_signature: format!("{sig:08x}"),
                        offset,
                    },
                    _ => short(),
                },
                other => DiskLocation::Other {
                    description: format!("bcd partition device with partition style {other}"),
                },
            }
        }
        other => DiskLocation::Other {
            description: format!("bcd device type {other}"),
        },
    })
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]
mod tests {
    use super::*;

    /// {7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5} in mixed-endian bytes.
    const PART: [u8; 16] = [
        0x52, 0x0c, 0x1f, 0x7e, 0x4b, 0x3a, 0x5d, 0x4c, 0x8e, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4,
        0xc5,
    ];

    #[test]
    fn mounted_devices_forms() {
        let mbr = [0x4d, 0x3c, 0x2b, 0x1a, 0, 0, 0x10, 0, 0, 0, 0, 0];
        assert_eq!(
            mounted_device(&mbr),
            DiskLocation::Mbr {
                disk_signature: "1a2b3c4d".into(),
                offset: 1 << 20
            }
        );
        let mut gpt = b"DMIO:ID:".to_vec();
        gpt.extend_from_slice(&PART);
        let d = mounted_device(&gpt);
        assert_eq!(
            d.describe(),
            "gpt partition 7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5"
        );
        let path: Vec<u8> = "\\??\\IDE#CdRom"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            mounted_device(&path),
            DiskLocation::DevicePath {
                path: "\\??\\IDE#CdRom".into()
            }
        );
        assert_eq!(
            mounted_device(&[1, 2, 3]).describe(),
            "3 unrecognised bytes"
        );
        // 24 bytes without the prefix is not GPT.
        assert!(matches!(
            mounted_device(&[0xAB; 24]),
            DiskLocation::Other { .. }
        ));
    }

    fn bcd_blob(style: u32, part: &[u8], disk: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 0x58];
        b[0x10..0x14].copy_from_slice(&6u32.to_le_bytes());
        b[0x18..0x1c].copy_from_slice(&0x48u32.to_le_bytes());
        b[0x20..0x20 + part.len()].copy_from_slice(part);
        b[0x34..0x38].copy_from_slice(&style.to_le_bytes());
        b[0x38..0x38 + disk.len()].copy_from_slice(disk);
        b
    }

    #[test]
    fn bcd_devices() {
        let g = bcd_blob(0, &PART, &PART);
        assert_eq!(
            bcd_device(&g).unwrap().describe(),
            "gpt partition 7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5 on disk 7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5"
        );
        // Misty Projects' MBR example: offset 0x15f00000, signature 0xb3eba8f1.
        let m = bcd_blob(
            1,
            &0x15f0_0000u64.to_le_bytes(),
            &0xb3eb_a8f1u32.to_le_bytes(),
        );
        assert_eq!(
            bcd_device(&m).unwrap(),
            DiskLocation::Mbr {
                disk_signature: "b3eba8f1".into(),
                offset: 368_050_176
            }
        );
        let mut boot = vec![0u8; 0x20];
        boot[0x10] = 5;
        assert_eq!(bcd_device(&boot), Some(DiskLocation::BootDevice));
        boot[0x10] = 8;
        assert_eq!(bcd_device(&boot).unwrap().describe(), "bcd device type 8");
        assert_eq!(bcd_device(&[0u8; 0x13]), None);
        // A partition device cut before the disk identifier.
        let cut = &g[..0x40];
        assert!(bcd_device(cut).unwrap().describe().contains("truncated"));
        assert!(bcd_device(&bcd_blob(7, &PART, &PART))
            .unwrap()
            .describe()
            .contains("style 7"));
    }
}
