//! [`probe`]: what a volume holds, from its first sectors only.
//!
//! Our own code (the crates we wrap each recognise only their own format, and by failing):
//! - LUKS1/LUKS2: cryptsetup's on-disk format documents (LUKS1 spec 1.2.3, LUKS2 spec 1.1):
//!   magic `LUKS\xba\xbe`, big-endian version at 6, UUID text at 168.
//! - BitLocker: OEM id `-FVE-FS-` at offset 3 of the boot sector (libbde's documentation). The
//!   GUID at 160 is BitLocker's identifier, the same on every volume; the volume's own GUID is in
//!   the FVE metadata header of the first FVE metadata block, whose offset is at 176.
//! - NTFS: OEM id `NTFS    ` at offset 3 plus the 0x55AA boot signature.
//! - FAT: Microsoft's "FAT: General Overview of On-Disk Format" (BPB fields and the cluster-count
//!   rule that alone decides FAT12/16/32).
//! - ext2/3/4: magic 0xEF53 at 0x38 of the superblock at 1024; the type follows blkid's rule (any
//!   ext4-only feature → ext4, else a journal → ext3, else ext2).
//! - Linux swap: `SWAPSPACE2` in the last 10 bytes of the first page (page sizes 4–64 KiB), UUID
//!   and label in `union swap_header` (include/linux/swap.h).
//!
//! - XFS: magic `XFSB` at offset 0 of the primary superblock (xfs_format.h), with a
//!   power-of-two block size of 512 B–64 KiB at offset 4.
//! - Btrfs: magic `_BHRfS_M` at offset 0x40 of the superblock at 64 KiB (btrfs on-disk format).
//!
//! Precedence is the ordered list in [`probe`]: encrypted signatures first (a BitLocker boot
//! sector also looks like FAT), then NTFS, ext, XFS, FAT, Btrfs, swap.

use crate::extsb::{self, Superblock};
use crate::{FsError, FsType, Probed};
use imgcheck_core::bytes::{
    array, guid_mixed_endian, u16_be, u16_le, u32_be, u32_le, u8_at, uuid_be,
};
use imgcheck_core::BlockSource;

/// LUKS magic at offset 0.
const LUKS_MAGIC: &[u8; 6] = b"LUKS\xba\xbe";
/// Offset of the 40-byte NUL-padded UUID text in both LUKS1 and LUKS2 headers.
const LUKS_UUID_OFFSET: usize = 168;
/// Length of the LUKS UUID field.
const LUKS_UUID_LEN: usize = 40;
/// BitLocker's OEM id at boot-sector offset 3.
const BITLOCKER_OEM: &[u8; 8] = b"-FVE-FS-";
/// Offset of the first FVE metadata block's byte offset (u64) in a Windows 7+ BitLocker boot
/// sector (the second and third follow).
const BITLOCKER_FVE_OFFSET: usize = 176;
/// FVE metadata block header (64 bytes) plus the FVE metadata header (48 bytes).
const BITLOCKER_FVE_HEADERS: usize = 112;
/// Offset of the volume GUID in an FVE metadata block (block header 64 + 16).
const BITLOCKER_FVE_GUID: usize = 80;
/// NTFS OEM id at offset 3.
const NTFS_OEM: &[u8; 8] = b"NTFS    ";
/// exFAT OEM id at offset 3 (not read by this crate; must not be mistaken for FAT).
const EXFAT_OEM: &[u8; 8] = b"EXFAT   ";
/// Boot-sector signature bytes at 510.
const BOOT_SIGNATURE: [u8; 2] = [0x55, 0xAA];
/// Linux swap signature at the end of the first page.
const SWAP_MAGIC: &[u8; 10] = b"SWAPSPACE2";
/// Page sizes a swap header may be written for.
const SWAP_PAGE_SIZES: [u64; 4] = [4096, 8192, 16384, 65536];
/// Offset of `struct swap_header.info` (after the 1024-byte boot block).
const SWAP_INFO_OFFSET: usize = 1024;
/// FAT12 has fewer than this many clusters (Microsoft's rule).
const FAT12_MAX_CLUSTERS: u32 = 4085;
/// FAT16 has fewer than this many clusters.
const FAT16_MAX_CLUSTERS: u32 = 65525;
/// XFS superblock magic at offset 0.
const XFS_MAGIC: &[u8; 4] = b"XFSB";
/// Btrfs primary superblock offset.
const BTRFS_SB_OFFSET: u64 = 0x1_0000;
/// Btrfs magic at offset 0x40 of the superblock.
const BTRFS_MAGIC: &[u8; 8] = b"_BHRfS_M";
/// Bytes read from the start of the volume for every probe.
const HEAD_BYTES: usize = 4096;

/// Say what `src` holds. Reads at most the first 4 KiB plus the last 10 bytes of a few
/// candidate swap pages. A volume shorter than a signature is [`Probed::Unknown`].
pub fn probe(src: &dyn BlockSource) -> Result<Probed, FsError> {
    let len = src.len();
    let head_len = usize::try_from(len.min(4096)).unwrap_or(HEAD_BYTES);
    let mut head = vec![0u8; head_len];
    src.read_exact_at(&mut head, 0)
        .map_err(|source| FsError::Read {
            fs: "probe",
            structure: "first sectors".into(),
            offset: 0,
            source,
        })?;
    if let Some(p) = probe_luks(&head) {
        return Ok(p);
    }
    let oem: Option<[u8; 8]> = array(&head, 3);
    if oem.as_ref() == Some(BITLOCKER_OEM) {
        return Ok(Probed::Encrypted {
            scheme: "bitlocker".into(),
            uuid: bitlocker_volume_guid(src, &head)?,
        });
    }
    let boot_sig = array::<2>(&head, 510) == Some(BOOT_SIGNATURE);
    if oem.as_ref() == Some(NTFS_OEM) && boot_sig {
        return Ok(Probed::Filesystem(FsType::Ntfs));
    }
    if let Some(sb) = head
        .get(extsb::SUPERBLOCK_OFFSET..)
        .and_then(Superblock::parse_magic_only)
    {
        return Ok(Probed::Filesystem(sb.fs_type()));
    }
    if array::<4>(&head, 0).as_ref() == Some(XFS_MAGIC)
        && u32_be(&head, 4).is_some_and(|b| b.is_power_of_two() && (512..=65536).contains(&b))
    {
        return Ok(Probed::Filesystem(FsType::Xfs));
    }
    if oem.as_ref() != Some(EXFAT_OEM) {
        if let Some(t) = fat_type(&head) {
            return Ok(Probed::Filesystem(t));
        }
    }
    if probe_btrfs(src)? {
        return Ok(Probed::Filesystem(FsType::Btrfs));
    }
    probe_swap(src, &head)
}

/// The BitLocker volume GUID from the first FVE metadata block (libbde: block header signature
/// `-FVE-FS-`, version 1 or 2, then the metadata header whose GUID is at block offset 80). `None`
/// when the boot sector names no block inside the volume or the block is not FVE metadata.
fn bitlocker_volume_guid(src: &dyn BlockSource, head: &[u8]) -> Result<Option<String>, FsError> {
    let Some(at) = array::<8>(head, BITLOCKER_FVE_OFFSET).map(u64::from_le_bytes) else {
        return Ok(None);
    };
    let headers = u64::try_from(BITLOCKER_FVE_HEADERS).unwrap_or(u64::MAX);
    if at == 0 || at.checked_add(headers).is_none_or(|end| end > src.len()) {
        return Ok(None);
    }
    let mut block = [0u8; BITLOCKER_FVE_HEADERS];
    src.read_exact_at(&mut block, at)
        .map_err(|source| FsError::Read {
            fs: "probe",
            structure: "BitLocker FVE metadata block".into(),
            offset: at,
            source,
        })?;
    if array::<8>(&block, 0).as_ref() != Some(BITLOCKER_OEM)
        || !u16_le(&block, 10).is_some_and(|v| v == 1 || v == 2)
    {
        return Ok(None);
    }
    Ok(array::<16>(&block, BITLOCKER_FVE_GUID)
        .filter(|g| g.iter().any(|&b| b != 0))
        .map(|g| guid_mixed_endian(&g)))
}

/// True when the primary Btrfs superblock's magic is present.
fn probe_btrfs(src: &dyn BlockSource) -> Result<bool, FsError> {
    let at = BTRFS_SB_OFFSET.saturating_add(0x40);
    if src.len() < BTRFS_SB_OFFSET.saturating_add(4096) {
        return Ok(false);
    }
    let mut magic = [0u8; 8];
    src.read_exact_at(&mut magic, at)
        .map_err(|source| FsError::Read {
            fs: "probe",
            structure: "btrfs superblock magic".into(),
            offset: at,
            source,
        })?;
    Ok(&magic == BTRFS_MAGIC)
}

fn probe_luks(head: &[u8]) -> Option<Probed> {
    if array::<6>(head, 0).as_ref() != Some(LUKS_MAGIC) {
        return None;
    }
    let version = u16_be(head, 6)?;
    let scheme = match version {
        1 => "luks1".to_string(),
        2 => "luks2".to_string(),
        v => format!("luks (version {v})"),
    };
    let uuid = head
        .get(LUKS_UUID_OFFSET..LUKS_UUID_OFFSET.saturating_add(LUKS_UUID_LEN))
        .map(imgcheck_core::bytes::ascii_field)
        .filter(|s| !s.is_empty());
    Some(Probed::Encrypted { scheme, uuid })
}

/// FAT type from the BPB, or `None` when the boot sector is not a plausible FAT BPB.
pub(crate) fn fat_type(b: &[u8]) -> Option<FsType> {
    let bps = u32::from(u16_le(b, 11)?);
    let spc = u32::from(u8_at(b, 13)?);
    let reserved = u32::from(u16_le(b, 14)?);
    let fats = u32::from(u8_at(b, 16)?);
    let root_entries = u32::from(u16_le(b, 17)?);
    let tot16 = u32::from(u16_le(b, 19)?);
    let media = u8_at(b, 21)?;
    let fatsz16 = u32::from(u16_le(b, 22)?);
    let tot32 = u32_le(b, 32)?;
    let fatsz32 = u32_le(b, 36)?;
    let jump = u8_at(b, 0)?;
    if !matches!(jump, 0xEB | 0xE9) || array::<2>(b, 510) != Some(BOOT_SIGNATURE) {
        return None;
    }
    if !matches!(bps, 512 | 1024 | 2048 | 4096)
        || spc == 0
        || !spc.is_power_of_two()
        || reserved == 0
        || !matches!(fats, 1 | 2)
        || !(media == 0xF0 || media >= 0xF8)
    {
        return None;
    }
    let root_dir_sectors = root_entries
        .checked_mul(32)?
        .checked_add(bps.checked_sub(1)?)?
        .checked_div(bps)?;
    let fatsz = if fatsz16 != 0 { fatsz16 } else { fatsz32 };
    let total = if tot16 != 0 { tot16 } else { tot32 };
    if fatsz == 0 || total == 0 {
        return None;
    }
    let meta = reserved
        .checked_add(fats.checked_mul(fatsz)?)?
        .checked_add(root_dir_sectors)?;
    let clusters = total.checked_sub(meta)?.checked_div(spc)?;
    Some(if clusters < FAT12_MAX_CLUSTERS {
        FsType::Fat12
    } else if clusters < FAT16_MAX_CLUSTERS {
        FsType::Fat16
    } else {
        FsType::Fat32
    })
}

fn probe_swap(src: &dyn BlockSource, head: &[u8]) -> Result<Probed, FsError> {
    let len = src.len();
    for page in SWAP_PAGE_SIZES {
        if page > len {
            break;
        }
        let at = page.saturating_sub(10);
        let mut magic = [0u8; 10];
        src.read_exact_at(&mut magic, at)
            .map_err(|source| FsError::Read {
                fs: "probe",
                structure: "swap signature".into(),
                offset: at,
                source,
            })?;
        if &magic == SWAP_MAGIC {
            let uuid = array::<16>(head, SWAP_INFO_OFFSET.saturating_add(12))
                .filter(|u| u.iter().any(|&b| b != 0))
                .map(|u| uuid_be(&u));
            let label = head
                .get(SWAP_INFO_OFFSET.saturating_add(28)..SWAP_INFO_OFFSET.saturating_add(44))
                .map(imgcheck_core::bytes::ascii_field)
                .filter(|s| !s.is_empty());
            return Ok(Probed::Swap { uuid, label });
        }
    }
    Ok(Probed::Unknown)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use imgcheck_core::MemSource;

    fn probe_bytes(b: Vec<u8>) -> Probed {
        probe(&MemSource::new(b)).unwrap()
    }

    #[test]
    fn luks1_and_luks2() {
        let mut b = vec![0u8; 4096];
        b[..6].copy_from_slice(LUKS_MAGIC);
        b[7] = 1;
        b[168..168 + 36].copy_from_slice(b"11111111-2222-3333-4444-555555555555");
        assert_eq!(
            probe_bytes(b.clone()),
            Probed::Encrypted {
                scheme: "luks1".into(),
                uuid: Some("11111111-2222-3333-4444-555555555555".into())
            }
        );
        b[7] = 2;
        b[168..208].fill(0);
        assert_eq!(
            probe_bytes(b),
            Probed::Encrypted {
                scheme: "luks2".into(),
                uuid: None
            }
        );
    }

    #[test]
    fn bitlocker() {
        let mut b = vec![0u8; 16384];
        b[0] = 0xEB;
        b[3..11].copy_from_slice(BITLOCKER_OEM);
        b[510] = 0x55;
        b[511] = 0xAA;
        // BitLocker's identifier (not the volume's GUID).
        b[160..176].copy_from_slice(&[
            0x3B, 0xD6, 0x67, 0x49, 0x29, 0x2E, 0xD8, 0x4A, 0x83, 0x99, 0xF6, 0xA3, 0x39, 0xE3,
            0xD0, 0x01,
        ]);
        let bitlocker = |uuid: Option<&str>| Probed::Encrypted {
            scheme: "bitlocker".into(),
            uuid: uuid.map(str::to_string),
        };
        // No FVE metadata block offset: no GUID.
        assert_eq!(probe_bytes(b.clone()), bitlocker(None));
        // An offset past the end: no GUID, no error.
        b[176..184].copy_from_slice(&16380u64.to_le_bytes());
        assert_eq!(probe_bytes(b.clone()), bitlocker(None));
        // A block at 8 KiB without the signature, then with it (version 2).
        b[176..184].copy_from_slice(&8192u64.to_le_bytes());
        b[8192 + 80..8192 + 96].copy_from_slice(&[
            0x0C, 0x1D, 0x2E, 0x3F, 0x4A, 0x5B, 0x78, 0x49, 0x86, 0x95, 0xA4, 0xB3, 0xC2, 0xD1,
            0xE0, 0xF9,
        ]);
        assert_eq!(probe_bytes(b.clone()), bitlocker(None));
        b[8192..8200].copy_from_slice(BITLOCKER_OEM);
        b[8192 + 10] = 2;
        assert_eq!(
            probe_bytes(b.clone()),
            bitlocker(Some("3F2E1D0C-5B4A-4978-8695-A4B3C2D1E0F9"))
        );
        // An unknown FVE version: no GUID.
        b[8192 + 10] = 9;
        assert_eq!(probe_bytes(b), bitlocker(None));
    }

    #[test]
    fn swap_with_8k_pages() {
        let mut b = vec![0u8; 16384];
        b[8192 - 10..8192].copy_from_slice(SWAP_MAGIC);
        b[1024 + 28..1024 + 32].copy_from_slice(b"swp1");
        assert_eq!(
            probe_bytes(b),
            Probed::Swap {
                uuid: None,
                label: Some("swp1".into())
            }
        );
    }

    #[test]
    fn short_and_blank_volumes_are_unknown() {
        assert_eq!(probe_bytes(vec![]), Probed::Unknown);
        assert_eq!(probe_bytes(vec![0u8; 100]), Probed::Unknown);
        assert_eq!(probe_bytes(vec![0u8; 1 << 20]), Probed::Unknown);
        assert_eq!(probe_bytes(vec![0xFFu8; 70000]), Probed::Unknown);
    }

    #[test]
    fn xfs_and_btrfs_magic() {
        let mut b = vec![0u8; 4096];
        b[..4].copy_from_slice(XFS_MAGIC);
        b[4..8].copy_from_slice(&4096u32.to_be_bytes());
        assert_eq!(probe_bytes(b.clone()), Probed::Filesystem(FsType::Xfs));
        b[4..8].copy_from_slice(&4095u32.to_be_bytes());
        assert_eq!(probe_bytes(b), Probed::Unknown);
        let mut b = vec![0u8; 0x1_1000];
        b[0x1_0040..0x1_0048].copy_from_slice(BTRFS_MAGIC);
        assert_eq!(probe_bytes(b.clone()), Probed::Filesystem(FsType::Btrfs));
        b.truncate(0x1_0800);
        assert_eq!(probe_bytes(b), Probed::Unknown);
    }

    #[test]
    fn fat_bpb_rules() {
        // A FAT16 BPB: 512 B/sector, 4 sectors/cluster, 1 reserved, 2 FATs of 32 sectors,
        // 512 root entries, 40000 sectors → (40000-1-64-32)/4 = 9975 clusters.
        let mut b = vec![0u8; 512];
        b[0] = 0xEB;
        b[11..13].copy_from_slice(&512u16.to_le_bytes());
        b[13] = 4;
        b[14] = 1;
        b[16] = 2;
        b[17..19].copy_from_slice(&512u16.to_le_bytes());
        b[19..21].copy_from_slice(&40000u16.to_le_bytes());
        b[21] = 0xF8;
        b[22..24].copy_from_slice(&32u16.to_le_bytes());
        b[510] = 0x55;
        b[511] = 0xAA;
        assert_eq!(fat_type(&b), Some(FsType::Fat16));
        b[13] = 16; // 2493 clusters
        assert_eq!(fat_type(&b), Some(FsType::Fat12));
        b[13] = 3; // not a power of two
        assert_eq!(fat_type(&b), None);
        b[13] = 4;
        b[22..24].fill(0); // no FAT size at all
        assert_eq!(fat_type(&b), None);
    }
}
