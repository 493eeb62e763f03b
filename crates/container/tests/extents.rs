//! `BlockSource::extent` on every committed container fixture: the runs it reports tile the
//! virtual disk, every `Zero` run really reads as zeros, and the sparse formats do report the
//! unallocated space they hold (so `export` can skip it without reading).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::panic
)]

use imgcheck_container::{open, OpenOptions};
use imgcheck_core::{BlockSource, Extent, FileSource};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/containers");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gz"))
        .collect();
    v.sort();
    assert!(v.len() >= 20, "fixtures missing in {}", dir.display());
    v
}

/// Decompress `gz` (and every sibling `.gz`, for multi-file VMDKs) into `dir`.
fn unpack(gz: &Path, dir: &Path) -> PathBuf {
    for sib in std::fs::read_dir(gz.parent().unwrap()).unwrap() {
        let p = sib.unwrap().path();
        if p.extension().is_none_or(|e| e != "gz") {
            continue;
        }
        let out = dir.join(p.file_stem().unwrap());
        if out.exists() {
            continue;
        }
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        std::fs::File::create(&out)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
    }
    dir.join(gz.file_stem().unwrap())
}

/// Walk the extents of `src` in steps of at most `step` bytes; check them against the bytes.
/// Returns (zero bytes, data bytes, unknown bytes).
fn walk(name: &str, src: &dyn BlockSource, step: u64) -> (u64, u64, u64) {
    let len = src.len();
    let (mut zero, mut data, mut unknown) = (0u64, 0u64, 0u64);
    let mut pos = 0u64;
    let mut buf = Vec::new();
    while pos < len {
        let max = step.min(len - pos);
        let n = match src.extent(pos, max) {
            Some(e) => {
                assert!(
                    !e.is_empty() && e.len() <= max,
                    "{name}: extent at {pos} has length {} (max {max})",
                    e.len()
                );
                if let Extent::Zero(n) = e {
                    buf.resize(n as usize, 0xAA);
                    src.read_exact_at(&mut buf, pos).unwrap();
                    assert!(
                        buf.iter().all(|&b| b == 0),
                        "{name}: zero extent {pos}+{n} holds data"
                    );
                    zero += n;
                } else {
                    data += e.len();
                }
                e.len()
            }
            None => {
                unknown += max;
                max
            }
        };
        pos += n;
    }
    // Out of range and empty requests are unknown.
    assert_eq!(src.extent(len, 1), None, "{name}: extent past the end");
    assert_eq!(src.extent(0, 0), None, "{name}: empty extent");
    (zero, data, unknown)
}

#[test]
fn extents_tile_the_disk_and_zero_runs_read_as_zeros() {
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for gz in fixtures() {
        let name = gz.file_name().unwrap().to_string_lossy().into_owned();
        // Extent files of multi-file VMDKs are opened through their descriptor.
        if name.contains("-s001") || name.contains("-flat-flat") || name.contains("-f001") {
            continue;
        }
        let path = unpack(&gz, tmp.path());
        let Ok(disk) = open(&path, &OpenOptions::default()) else {
            continue;
        };
        let src = disk.source();
        // Fixtures of sparse formats with unallocated space (the 16 MiB VHDX fixture has both
        // of its 8 MiB blocks allocated: every byte is reported as data).
        let sparse_format = ["qcow2", "vhd-dynamic", "vmdk-sparse", "vmdk-stream"]
            .iter()
            .any(|k| name.contains(k))
            && !name.contains("overlay");
        for step in [512u64, 65_536, 4 << 20] {
            let (zero, data, unknown) = walk(&name, src.as_ref(), step);
            assert_eq!(zero + data + unknown, src.len(), "{name}");
            if sparse_format {
                assert!(zero > 0, "{name}: no zero extent reported (step {step})");
                assert!(data > 0, "{name}: no data extent reported (step {step})");
                assert_eq!(unknown, 0, "{name}: the format maps every byte");
            }
            if name.contains("vhdx-dynamic") {
                assert_eq!(data, src.len(), "{name}: both blocks are allocated");
            }
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} fixtures opened");
}

#[test]
fn host_file_holes_are_zero_extents() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("sparse.raw");
    let f = std::fs::File::create(&p).unwrap();
    let mib = 1u64 << 20;
    f.set_len(8 * mib).unwrap();
    // Data in MiB 2 and 5; the rest never written (holes on filesystems that have them).
    use std::os::unix::fs::FileExt;
    f.write_all_at(&vec![7u8; mib as usize], 2 * mib).unwrap();
    f.write_all_at(&vec![9u8; mib as usize], 5 * mib).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let src = FileSource::open(&p).unwrap();
    let (zero, data, unknown) = walk("sparse.raw", &src, 8 * mib);
    assert_eq!(zero + data + unknown, 8 * mib);
    assert_eq!(unknown, 0, "a regular file always answers");
    // Both data MiBs are reported as data, whatever the filesystem's hole granularity.
    let mut pos = 0;
    let mut data_ranges = Vec::new();
    while pos < 8 * mib {
        let e = src.extent(pos, 8 * mib - pos).unwrap();
        if let Extent::Data(n) = e {
            data_ranges.push((pos, pos + n));
        }
        pos += e.len();
    }
    for m in [2, 5] {
        assert!(
            data_ranges
                .iter()
                .any(|&(s, e)| s <= m * mib && e >= (m + 1) * mib),
            "MiB {m} not inside a data extent: {data_ranges:?}"
        );
    }
}
