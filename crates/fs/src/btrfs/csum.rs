//! Data checksums: the csum tree's `EXTENT_CSUM` items and the checksum algorithms.
//!
//! The csum tree (tree 7) holds items keyed `(EXTENT_CSUM_OBJECTID, EXTENT_CSUM_KEY, logical)`
//! whose payload is one checksum per data sector from `logical` on (btrfs-progs
//! `kernel-shared/file-item.c`, the on-disk format documentation). A sector without an entry is
//! not an error (nodatasum files, preallocated or never checksummed data); a sector whose entry
//! differs from the data is.
//!
//! Algorithms (`BTRFS_CSUM_TYPE_*`, the superblock's `csum_type`): CRC32C (0, the default;
//! 4 bytes, little-endian), xxHash64 (1; seed 0, 8 bytes, little-endian), SHA-256 (2; the
//! 32-byte digest as is) and BLAKE2b-256 (3; unkeyed BLAKE2b with a 32-byte output, the kernel's
//! `blake2b-256`). The same function checksums a data sector, a tree block (bytes 32.. of the
//! node, stored in its first `csum_size` bytes) and the superblock. SHA-256 comes from the
//! RustCrypto `sha2` crate, BLAKE2b from `blake2` (both MIT OR Apache-2.0); CRC32C from
//! `crc32c`; xxHash64 is written here from its specification.

use super::ondisk::CSUM_SIZE;

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

/// Whether checksums of this type are computed (and so verified): every type btrfs defines.
pub(crate) fn computable(csum_type: u16) -> bool {
    matches!(csum_type, 0..=3)
}

/// The checksum of `data` as stored on disk (its first [`csum_size`] bytes), `None` for an
/// unknown type.
pub(crate) fn compute(csum_type: u16, data: &[u8]) -> Option<Vec<u8>> {
    use blake2::digest::consts::U32;
    use blake2::Digest as _;
    match csum_type {
        0 => Some(crc32c::crc32c(data).to_le_bytes().to_vec()),
        1 => Some(xxh64(data, 0).to_le_bytes().to_vec()),
        2 => Some(sha2::Sha256::digest(data).to_vec()),
        3 => Some(blake2::Blake2b::<U32>::digest(data).to_vec()),
        _ => None,
    }
}

/// Check the checksum stored in the first bytes of `block` (a tree block or the superblock)
/// against the checksum of `block[32..]`. `Ok(true)`: it matches; `Ok(false)`: the type is
/// unknown, nothing was checked; `Err(problem)`: a mismatch or a block too short.
pub(crate) fn check_block(csum_type: u16, block: &[u8]) -> Result<bool, String> {
    let Some(size) = csum_size(csum_type) else {
        return Ok(false);
    };
    let Some(body) = block.get(CSUM_SIZE..) else {
        return Err(format!("shorter than its {CSUM_SIZE}-byte checksum field"));
    };
    let Some(got) = compute(csum_type, body) else {
        return Ok(false);
    };
    let stored = block.get(..size).unwrap_or_default();
    if stored == got.as_slice() {
        Ok(true)
    } else {
        Err(format!(
            "checksum mismatch: stored {} {}, computed {}",
            csum_name(csum_type),
            hex(stored),
            hex(&got)
        ))
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
#[allow(clippy::panic)]
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
    fn sha256_and_blake2b_256_reference_values() {
        // FIPS 180-2 "abc" and the empty string.
        assert_eq!(
            hex(&compute(2, b"abc").unwrap_or_default()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&compute(2, b"").unwrap_or_default()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // BLAKE2b with a 32-byte digest (the output length is a parameter of the hash, so
        // this is not a truncated BLAKE2b-512): the empty string and "abc", as `b2sum -l 256`
        // prints them.
        assert_eq!(
            hex(&compute(3, b"").unwrap_or_default()),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
        );
        assert_eq!(
            hex(&compute(3, b"abc").unwrap_or_default()),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        );
    }

    #[test]
    fn block_checks() {
        let mut block = vec![0u8; 4096];
        for (i, b) in block.iter_mut().enumerate().skip(32) {
            *b = u8::try_from(i & 0x7f).unwrap_or(0) ^ 0x5a;
        }
        for t in 0..=3u16 {
            let sum = compute(t, block.get(32..).unwrap_or_default()).unwrap_or_default();
            let mut b = block.clone();
            b.get_mut(..sum.len())
                .unwrap_or_default()
                .copy_from_slice(&sum);
            assert_eq!(check_block(t, &b), Ok(true), "type {t}");
            if let Some(x) = b.get_mut(100) {
                *x ^= 1;
            }
            match check_block(t, &b) {
                Err(e) => assert!(
                    e.contains("checksum mismatch") && e.contains(&csum_name(t)),
                    "{e}"
                ),
                Ok(v) => panic!("type {t}: a flipped byte passed ({v})"),
            }
        }
        assert_eq!(check_block(9, &block), Ok(false));
        assert!(check_block(2, block.get(..16).unwrap_or_default()).is_err());
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
        assert!(compute(4, b"x").is_none());
        assert!(computable(3) && !computable(4));
        assert_eq!(
            compute(0, b"123456789"),
            Some(0xE306_9283u32.to_le_bytes().to_vec())
        );
    }
}
