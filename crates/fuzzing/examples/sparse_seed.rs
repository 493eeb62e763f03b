//! Seed maker of the `xfs` and `btrfs` fuzz targets (run by scripts/make-fuzz-corpus.sh).
//!
//! usage: sparse_seed xfs|btrfs IMAGE OUT [--no-data] [--max BYTES]
//!
//! Opens the (decompressed) fixture IMAGE through a source that records which 4 KiB blocks are
//! read, runs the target's walk on it (`--no-data`: without reading files' data, so that the
//! seed's budget goes to metadata), drops the blocks the walk does not need, and writes the rest
//! in the order they were first read as
//! a sparse image (see `imgcheck_fuzzing::sparse`) with the reseal flag, cut at `--max` bytes
//! (default 60 KiB). Prints what the walk of the written seed reaches.

// A developer tool run on the committed fixtures, not on untrusted input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use imgcheck_core::{BlockSource, FileSource, ReadError};
use imgcheck_fs::FsType;
use imgcheck_fuzzing::sparse::{encode, Reseal, SparseImage, FLAG_RESEAL};
use std::sync::{Arc, Mutex};

const BLOCK: u64 = 4096;

struct Tracing {
    inner: FileSource,
    order: Mutex<Vec<u64>>,
}

impl BlockSource for Tracing {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        let n = u64::try_from(buf.len()).unwrap();
        if n > 0 {
            let mut o = self.order.lock().unwrap();
            for b in offset / BLOCK..=(offset + n - 1) / BLOCK {
                o.push(b);
            }
        }
        self.inner.read_exact_at(buf, offset)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: sparse_seed xfs|btrfs IMAGE OUT [--no-data] [--max BYTES]";
    let t = match args.get(1).map(String::as_str) {
        Some("xfs") => FsType::Xfs,
        Some("btrfs") => FsType::Btrfs,
        _ => panic!("{usage}"),
    };
    let reseal = if t == FsType::Xfs {
        Reseal::Xfs
    } else {
        Reseal::Btrfs
    };
    let image = args.get(2).expect(usage);
    let out = args.get(3).expect(usage);
    let no_data = args.iter().any(|a| a == "--no-data");
    let max: usize = args
        .iter()
        .position(|a| a == "--max")
        .and_then(|i| args.get(i + 1))
        .map_or(60 << 10, |v| v.parse().expect("--max BYTES"));

    let tracing = Arc::new(Tracing {
        inner: FileSource::open(std::path::Path::new(image)).expect("open image"),
        order: Mutex::new(Vec::new()),
    });
    let full = imgcheck_fuzzing::walk_source(
        tracing.clone(),
        t,
        !no_data,
        imgcheck_fuzzing::DIRECT_MAX_ENTRIES,
    );
    let len = tracing.len();
    let mut seen = std::collections::HashSet::new();
    let mut blocks: Vec<(u64, Vec<u8>)> = Vec::new();
    for b in tracing.order.lock().unwrap().iter() {
        if seen.insert(*b) {
            let mut buf = vec![0u8; usize::try_from(BLOCK).unwrap()];
            tracing.inner.read_exact_at(&mut buf, b * BLOCK).unwrap();
            blocks.push((b * BLOCK, buf));
        }
    }
    // The reader reads through a page cache of 32 KiB pages, so most traced blocks were never
    // needed: drop every group of blocks (16, then 4, then 1) whose absence leaves the walk's
    // figures unchanged. When the rest does not fit in `max`, walk fewer entries and again.
    let stats_of = |bl: &[(u64, Vec<u8>)], entries: usize| {
        let (enc, _) = encode(len, FLAG_RESEAL, bl, usize::MAX);
        let img = SparseImage::decode(&enc, reseal).expect("decode");
        imgcheck_fuzzing::walk_source(Arc::new(img), t, !no_data, entries)
    };
    let mut entries = imgcheck_fuzzing::DIRECT_MAX_ENTRIES;
    let (enc, fitted, want) = loop {
        let want = stats_of(&blocks, entries);
        for group in [16usize, 4, 1] {
            let mut i = 0;
            while i < blocks.len() {
                let mut trial = blocks.clone();
                let end = (i + group).min(trial.len());
                trial.drain(i..end);
                if stats_of(&trial, entries) == want {
                    blocks = trial;
                } else {
                    i += group;
                }
            }
        }
        let (enc, fitted) = encode(len, FLAG_RESEAL, &blocks, max);
        if fitted == blocks.len() || entries <= 4 {
            break (enc, fitted, want);
        }
        entries = entries * 2 / 3;
    };
    std::fs::write(out, &enc).expect("write seed");
    let seed = match t {
        FsType::Xfs => imgcheck_fuzzing::xfs_stats(&enc),
        _ => imgcheck_fuzzing::btrfs_stats(&enc),
    };
    println!(
        "{out}: {} bytes, {fitted} of {} needed blocks; full image: {full:?}; minimal set: \
         {want:?}; seed: {seed:?}",
        enc.len(),
        blocks.len()
    );
}
