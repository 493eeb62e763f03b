//! The sparse input encoding's Btrfs reseal step writes the checksum type the superblock names
//! (CRC32C, xxHash64, SHA-256, BLAKE2b-256), so mutated inputs of every type get past the
//! checksum checks into the parsers: the committed images with their superblock checksums
//! broken are refused as they are and open again once resealed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::panic
)]

use imgcheck_core::{BlockSource, Limits};
use imgcheck_fuzzing::sparse::{encode, Reseal, SparseImage};
use std::path::Path;
use std::sync::Arc;

/// Superblock copies inside a 120 MiB image: primary and the 64 MiB mirror.
const SUPERS: [usize; 2] = [0x1_0000, 0x400_0000];

#[test]
fn btrfs_reseal_covers_every_checksum_type() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/btrfs/images");
    for (name, csum_type) in [("plain", 0u16), ("xxhash", 1), ("sha256", 2), ("blake2", 3)] {
        let file = std::fs::File::open(dir.join(format!("{name}.img.zst"))).unwrap();
        let mut raw = zstd::decode_all(file).unwrap();
        for at in SUPERS {
            if raw.len() >= at + 4096 {
                assert_eq!(&raw[at + 0x40..at + 0x48], b"_BHRfS_M", "{name}");
                let t = u16::from_le_bytes([raw[at + 0xC4], raw[at + 0xC5]]);
                assert_eq!(t, csum_type, "{name}: csum_type");
                raw[at..at + 32].fill(0x5A);
            }
        }
        let blocks: Vec<(u64, Vec<u8>)> = raw
            .chunks(1 << 16)
            .enumerate()
            .filter(|(_, c)| c.iter().any(|&b| b != 0))
            .map(|(i, c)| ((i as u64) << 16, c.to_vec()))
            .collect();
        let len = raw.len() as u64;
        let open = |flags: u8| {
            let (enc, n) = encode(len, flags, &blocks, usize::MAX);
            assert_eq!(n, blocks.len(), "{name}: every block encoded");
            let img = SparseImage::decode(&enc, Reseal::Btrfs).unwrap();
            let src: Arc<dyn BlockSource> = Arc::new(img);
            imgcheck_fs::open(src, &Limits::default())
        };
        assert!(open(0).is_err(), "{name}: broken superblocks accepted");
        let fs = open(1).unwrap_or_else(|e| panic!("{name}: not resealed: {e}"));
        assert!(!fs.read_dir("/").unwrap().is_empty(), "{name}");
    }
}
