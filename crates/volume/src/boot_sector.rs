//! Recognises a filesystem boot sector in LBA 0 (a "superfloppy": FAT, NTFS or exFAT written to
//! the whole disk), so that its `55 AA` signature is not mistaken for an MBR.
//!
//! Sources: Microsoft "FAT: General Overview of On-Disk Format" 1.03 (BPB layout, jump
//! instruction, media byte), the exFAT File System Specification §3.1 (boot sector: `EXFAT   `
//! file-system name, zeroed BPB area), and the NTFS boot sector layout as documented by the
//! Linux-NTFS project. Our own code: a dozen byte comparisons, and the MBR crates measured
//! (`mbrman`) parse such a sector as an empty MBR. util-linux's libblkid makes the same call
//! (a valid FAT boot sector wins over a partition table).

use imgcheck_core::bytes::{slice, u16_le, u8_at};

/// Short jump (`EB xx`) as the first instruction of a boot sector.
const JMP_SHORT: u8 = 0xEB;
/// `NOP` after a short jump.
const NOP: u8 = 0x90;
/// Near jump (`E9 xx xx`) as the first instruction of a boot sector.
const JMP_NEAR: u8 = 0xE9;
/// OEM name field of the boot sector: 8 bytes at offset 3.
const OEM_OFFSET: usize = 3;
/// BPB bytes-per-sector field.
const BPB_BYTES_PER_SECTOR: usize = 11;
/// BPB sectors-per-cluster field.
const BPB_SECTORS_PER_CLUSTER: usize = 13;
/// BPB reserved-sector count.
const BPB_RESERVED_SECTORS: usize = 14;
/// BPB number of FATs.
const BPB_NUM_FATS: usize = 16;
/// BPB media descriptor byte.
const BPB_MEDIA: usize = 21;
/// FAT12/16 extended BPB file-system type string (`FAT12   `, `FAT16   `, `FAT     `).
const FAT16_FSTYPE_OFFSET: usize = 0x36;
/// FAT32 extended BPB file-system type string (`FAT32   `).
const FAT32_FSTYPE_OFFSET: usize = 0x52;
/// exFAT: `MustBeZero` area that overlays the BPB (offsets 11..64).
const EXFAT_ZERO_AREA: (usize, usize) = (11, 53);

/// What filesystem a boot sector announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootSectorFs {
    /// FAT12, FAT16 or FAT32.
    Fat,
    /// NTFS.
    Ntfs,
    /// exFAT.
    ExFat,
}

impl BootSectorFs {
    /// Lowercase name for messages.
    pub fn name(self) -> &'static str {
        match self {
            BootSectorFs::Fat => "fat",
            BootSectorFs::Ntfs => "ntfs",
            BootSectorFs::ExFat => "exfat",
        }
    }
}

/// Does this sector look like a filesystem boot sector rather than an MBR?
///
/// Requires the x86 jump instruction and then either the exFAT name with its zeroed BPB area, the
/// NTFS OEM name with a valid BPB, or a valid FAT BPB (bytes per sector a power of two in
/// 512..=4096, sectors per cluster a power of two, reserved sectors non-zero, one or two FATs, a
/// valid media byte) together with a FAT file-system type string or a known OEM name. An MBR's
/// boot code (GRUB also starts with `EB 63 90`) does not carry such a BPB.
pub fn sniff(sector: &[u8]) -> Option<BootSectorFs> {
    let jump_ok = matches!(
        (u8_at(sector, 0)?, u8_at(sector, 2)?),
        (JMP_SHORT, NOP) | (JMP_NEAR, _)
    );
    if !jump_ok {
        return None;
    }
    let oem = slice(sector, OEM_OFFSET, 8)?;
    if oem == b"EXFAT   " {
        let (start, len) = EXFAT_ZERO_AREA;
        return slice(sector, start, len)?
            .iter()
            .all(|&b| b == 0)
            .then_some(BootSectorFs::ExFat);
    }
    let bps = u16_le(sector, BPB_BYTES_PER_SECTOR)?;
    if !(512..=4096).contains(&bps) || !bps.is_power_of_two() {
        return None;
    }
    if oem == b"NTFS    " {
        return Some(BootSectorFs::Ntfs);
    }
    let spc = u8_at(sector, BPB_SECTORS_PER_CLUSTER)?;
    let reserved = u16_le(sector, BPB_RESERVED_SECTORS)?;
    let fats = u8_at(sector, BPB_NUM_FATS)?;
    let media = u8_at(sector, BPB_MEDIA)?;
    let bpb_ok = spc != 0
        && spc.is_power_of_two()
        && reserved != 0
        && (1..=2).contains(&fats)
        && (media == 0xF0 || media >= 0xF8);
    if !bpb_ok {
        return None;
    }
    let fat16_type = slice(sector, FAT16_FSTYPE_OFFSET, 3)?;
    let fat32_type = slice(sector, FAT32_FSTYPE_OFFSET, 5)?;
    let known_oem = [
        &b"MSDOS"[..],
        b"MSWIN",
        b"mkfs.fat",
        b"mkdosfs",
        b"FRDOS",
        b"IBM  ",
    ]
    .iter()
    .any(|p| oem.starts_with(p));
    (fat16_type == b"FAT" || fat32_type == b"FAT32" || known_oem).then_some(BootSectorFs::Fat)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A FAT32 boot sector as mkfs.fat writes it (the fields sniff looks at).
    fn fat32_sector() -> Vec<u8> {
        let mut s = vec![0u8; 512];
        s[..3].copy_from_slice(&[0xEB, 0x58, 0x90]);
        s[3..11].copy_from_slice(b"mkfs.fat");
        s[11..13].copy_from_slice(&512u16.to_le_bytes());
        s[13] = 8;
        s[14..16].copy_from_slice(&32u16.to_le_bytes());
        s[16] = 2;
        s[21] = 0xF8;
        s[0x52..0x5A].copy_from_slice(b"FAT32   ");
        s[510] = 0x55;
        s[511] = 0xAA;
        s
    }

    #[test]
    fn fat_ntfs_exfat() {
        assert_eq!(sniff(&fat32_sector()), Some(BootSectorFs::Fat));

        let mut ntfs = vec![0u8; 512];
        ntfs[..3].copy_from_slice(&[0xEB, 0x52, 0x90]);
        ntfs[3..11].copy_from_slice(b"NTFS    ");
        ntfs[11..13].copy_from_slice(&512u16.to_le_bytes());
        assert_eq!(sniff(&ntfs), Some(BootSectorFs::Ntfs));

        let mut exfat = vec![0u8; 512];
        exfat[..3].copy_from_slice(&[0xEB, 0x76, 0x90]);
        exfat[3..11].copy_from_slice(b"EXFAT   ");
        assert_eq!(sniff(&exfat), Some(BootSectorFs::ExFat));
        exfat[20] = 1;
        assert_eq!(sniff(&exfat), None);
    }

    #[test]
    fn mbr_boot_code_is_not_a_boot_sector() {
        // GRUB's boot.img starts with a short jump but has no BPB.
        let mut grub = vec![0u8; 512];
        grub[..3].copy_from_slice(&[0xEB, 0x63, 0x90]);
        assert_eq!(sniff(&grub), None);
        // Windows' MBR code starts with `33 C0` (xor ax, ax).
        let mut win = fat32_sector();
        win[0] = 0x33;
        win[1] = 0xC0;
        assert_eq!(sniff(&win), None);
        // Bad bytes per sector.
        let mut bad = fat32_sector();
        bad[11..13].copy_from_slice(&513u16.to_le_bytes());
        assert_eq!(sniff(&bad), None);
        assert_eq!(sniff(&[0xEB]), None);
    }
}
