//! NTFS files compressed by NTFS itself (LZNT1, written by ntfs-3g's compression code; see
//! scripts/make-ntfs-lznt1-fixture.sh): every file reads back byte for byte as the source and as
//! The Sleuth Kit's `icat` read it, is flagged compressed, and the listing matches `fls`.
//! Compression units cover the three kinds NTFS writes: compressed, stored raw (incompressible
//! data) and sparse (all zeros), plus a partial last unit and a resident file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{parse_fls, sha256, source, walk};
use flate2::read::GzDecoder;
use imgcheck_core::Limits;
use imgcheck_fs::{FileType, FsType, Probed};
use std::io::Read;
use std::path::PathBuf;

fn dir() -> PathBuf {
    common::fixture_dir().join("ntfs-lznt1")
}

fn open() -> Box<dyn imgcheck_fs::GuestFs> {
    let f = std::fs::File::open(dir().join("ntfs-lznt1.img.gz")).unwrap();
    let mut bytes = Vec::new();
    GzDecoder::new(f).read_to_end(&mut bytes).unwrap();
    let src = source(bytes);
    assert_eq!(
        imgcheck_fs::probe(&*src).unwrap(),
        Probed::Filesystem(FsType::Ntfs)
    );
    imgcheck_fs::open(src, &Limits::default()).unwrap()
}

#[test]
fn compressed_files_read_back_exactly() {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("manifest.json")).unwrap())
            .unwrap();
    let fs = open();
    let info = fs.volume_info();
    assert_eq!(info.uuid.as_deref(), m["serial"].as_str());
    assert_eq!(info.label.as_deref(), m["label"].as_str());
    let files = m["files"].as_array().unwrap();
    assert_eq!(files.len(), 8);
    let mut compressed = 0;
    for f in files {
        let path = f["path"].as_str().unwrap();
        let size = f["size"].as_u64().unwrap();
        let md = fs.metadata(path).unwrap();
        assert_eq!(md.file_type, FileType::File, "{path}");
        assert_eq!(md.size, size, "{path}");
        if md.flags.compressed {
            compressed += 1;
        }
        let data = fs.read(path, u64::MAX).unwrap();
        assert_eq!(u64::try_from(data.len()).unwrap(), size, "{path}");
        let sum = sha256(&data);
        assert_eq!(sum, f["sha256"].as_str().unwrap(), "{path}: source bytes");
        assert_eq!(
            sum,
            f["icat_sha256"].as_str().unwrap(),
            "{path}: icat's bytes"
        );
        // A prefix read stops inside a compression unit and agrees with the whole.
        let head = fs.read(path, 70_000).unwrap();
        assert_eq!(head[..], data[..data.len().min(70_000)], "{path}: prefix");
    }
    // Every file sits in a directory with the compressed attribute, so NTFS flags each one.
    assert_eq!(compressed, 8, "files flagged compressed");
}

#[test]
fn listing_matches_fls() {
    let fs = open();
    let ours = walk(&*fs);
    let fls = parse_fls(&std::fs::read_to_string(dir().join("fls.txt")).unwrap());
    for (path, (kind, inode)) in &fls {
        if !path.starts_with("/comp") {
            continue; // NTFS metadata files ($MFT, …) and fls's virtual $OrphanFiles
        }
        let (t, ino) = ours
            .get(path)
            .unwrap_or_else(|| panic!("{path} listed by fls but not by us"));
        assert_eq!(*ino, Some(*inode), "{path}: MFT record");
        let want = if *kind == 'd' {
            FileType::Dir
        } else {
            FileType::File
        };
        assert_eq!(*t, want, "{path}: type");
    }
    let ours_comp = ours.keys().filter(|p| p.starts_with("/comp")).count();
    let fls_comp = fls.keys().filter(|p| p.starts_with("/comp")).count();
    assert_eq!(ours_comp, fls_comp, "entries under /comp");
}
