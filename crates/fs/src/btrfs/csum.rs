//! Data checksums: the csum tree's `EXTENT_CSUM` items and the checksum algorithms.
//!
//! The csum tree (tree 7) holds items keyed `(EXTENT_CSUM_OBJECTID, EXTENT_CSUM_KEY, logical)`
//! whose payload is one checksum per data sector from `logical` on (btrfs-progs
//! `kernel-shared/file-item.c`, the on-disk format documentation). A sector without an entry is
//! not an error (nodatasum files, preallocated or never checksummed data); a sector whose entry
//! differs from the data is.
//!
//! Algorithms: CRC32C (the default; 4 bytes, little-endian) and xxHash64 (seed 0, 8 bytes,
//! little-endian) are computed here; SHA-256 and BLAKE2b-256 are recognised but not computed
//! (no implementation in this crate yet): data of such volumes is read unverified and the
//! volume's notes say so.

/// `BTRFS_CSUM_TREE_OBJECTID`.
pub(crate) const CSUM_TREE_OBJECTID: u64 = 7;
/// `BTRFS_EXTENT_CSUM_OBJECTID` (-10).
pub(crate) const EXTENT_CSUM_OBJECTID: u64 = u64::MAX - 9;
/// `BTRFS_EXTENT_CSUM_KEY`.
pub(crate) const EXTENT_CSUM_KEY: u8 = 128;

/// Bytes of one checksum of type `csum_type`, `None` for an unknown type.
pub(crate) fn csum_size(csum_type: u16) -> Option<usize> {
    match csum_type {
        0 => Some(4),
        1 => Some(8),
        2 | 3 => Some(32),
        _ => None,
    }
}

/// Name of a checksum type, as `btrfs inspect-internal dump-super` prints it.
pub(crate) fn csum_name(csum_type: u16) -> String {
    match csum_type {
        0 => "crc32c".into(),
        1 => "xxhash64".into(),
        2 => "sha256".into(),
        3 => "blake2b".into(),
        n => format!("type {n}"),
    }
}

/// Whether data checksums of this type are computed (and so verified).
pub(crate) fn computable(csum_type: u16) -> bool {
    matches!(csum_type, 0 | 1)
}

/// The checksum of `data` as stored on disk, `None` when the type is not computed here.
pub(crate) fn compute(csum_type: u16, data: &[u8]) -> Option<Vec<u8>> {
    match csum_type {
        0 => Some(crc32c::crc32c(data).to_le_bytes().to_vec()),
        1 => Some(xxh64(data, 0).to_le_bytes().to_vec()),
        _ => None,
    }
}

/// Lowercase hex of a checksum, for error messages.
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn le64(b: &[u8]) -> u64 {
    b.get(..8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn le32(b: &[u8]) -> u64 {
    u64::from(
        b.get(..4)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u32::from_le_bytes),
    )
}

fn round(acc: u64, input: u64) -> u64 {
    acc.wrapping_add(input.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn merge(acc: u64, val: u64) -> u64 {
    (acc ^ round(0, val)).wrapping_mul(P1).wrapping_add(P4)
}

/// xxHash64 of `data` (the algorithm as specified by its author, written from the
/// specification).
pub(crate) fn xxh64(data: &[u8], seed: u64) -> u64 {
    let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
    let mut rest = data;
    let mut h = if data.len() >= 32 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while rest.len() >= 32 {
            for (i, lane) in v.iter_mut().enumerate() {
                let at = i.saturating_mul(8);
                *lane = round(*lane, le64(rest.get(at..).unwrap_or_default()));
            }
            rest = rest.get(32..).unwrap_or_default();
        }
        let [a, b, c, d] = v;
        let mut h = a
            .rotate_left(1)
            .wrapping_add(b.rotate_left(7))
            .wrapping_add(c.rotate_left(12))
            .wrapping_add(d.rotate_left(18));
        for lane in v {
            h = merge(h, lane);
        }
        h
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(len);
    while rest.len() >= 8 {
        h ^= round(0, le64(rest));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = rest.get(8..).unwrap_or_default();
    }
    if rest.len() >= 4 {
        h ^= le32(rest).wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = rest.get(4..).unwrap_or_default();
    }
    for &byte in rest {
        h ^= u64::from(byte).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_reference_values() {
        // Reference values of the xxHash specification's test suite (seed 0).
        assert_eq!(xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64(b"abc", 0), 0x44BC_2CF5_AD77_0999);
        assert_eq!(
            xxh64(b"Nobody inspects the spammish repetition", 0),
            0xFBCE_A83C_8A37_8BF1
        );
    }

    #[test]
    fn sizes_and_names() {
        assert_eq!(csum_size(0), Some(4));
        assert_eq!(csum_size(1), Some(8));
        assert_eq!(csum_size(2), Some(32));
        assert_eq!(csum_size(3), Some(32));
        assert_eq!(csum_size(4), None);
        assert_eq!(csum_name(3), "blake2b");
        assert_eq!(hex(&[0, 0xab]), "00ab");
        assert!(compute(2, b"x").is_none());
        assert_eq!(
            compute(0, b"123456789"),
            Some(0xE306_9283u32.to_le_bytes().to_vec())
        );
    }
}
