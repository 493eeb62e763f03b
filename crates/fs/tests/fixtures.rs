//! The committed fixtures of testdata/fs read through the public API: contents, listings,
//! metadata and flags against the manifest and independent tools; probes of swap and LUKS;
//! corrupted copies that must give errors, never panics or hangs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    missing_docs
)]

mod common;

use common::*;
use imgcheck_core::{BlockSource, ErrorKind, Limits, MemSource};
use imgcheck_fs::{FileType, FsType, GuestFs, Probed, VolumeState};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn every_fixture_matches_manifest_and_independent_listings() {
    let (images, files) = check_all(&fixture_dir());
    assert_eq!(images, 11);
    // 10 regular files in the tree + 1000 in bigdir, on each of the 11 images.
    assert_eq!(files, 11 * 1010);
}

#[test]
fn swap_and_luks_probe() {
    let dir = fixture_dir();
    let swap = source(image_bytes(&dir, "swap"));
    assert_eq!(
        imgcheck_fs::probe(&*swap).unwrap(),
        Probed::Swap {
            uuid: Some("0c7e1f2a-3b4c-4d5e-8f60-718293a4b5c6".into()),
            label: Some("ic-swap".into())
        }
    );
    let e = imgcheck_fs::open(swap, &Limits::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let luks = source(image_bytes(&dir, "luks2"));
    assert_eq!(
        imgcheck_fs::probe(&*luks).unwrap(),
        Probed::Encrypted {
            scheme: "luks2".into(),
            uuid: Some("1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6".into())
        }
    );
    let json = serde_json::to_string(&imgcheck_fs::probe(&*luks).unwrap()).unwrap();
    assert_eq!(
        json,
        r#"{"kind":"encrypted","scheme":"luks2","uuid":"1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6"}"#
    );
    assert_eq!(
        serde_json::to_string(&Probed::Filesystem(FsType::Fat32)).unwrap(),
        r#"{"kind":"filesystem","fs":"fat32"}"#
    );
    assert_eq!(
        serde_json::to_string(&Probed::Unknown).unwrap(),
        r#"{"kind":"unknown"}"#
    );
}

#[test]
fn volume_info_facts() {
    let dir = fixture_dir();
    let open =
        |n: &str| imgcheck_fs::open(source(image_bytes(&dir, n)), &Limits::default()).unwrap();
    let e = open("ext4").volume_info();
    assert_eq!(e.state, VolumeState::Clean);
    assert_eq!(e.block_size, 4096);
    assert_eq!(e.size_bytes, 16 << 20);
    assert!(
        e.features.iter().any(|f| f == "metadata_csum"),
        "{:?}",
        e.features
    );
    assert!(e.free_inodes.unwrap() > 0);
    assert!(e.notes.is_empty(), "{:?}", e.notes);
    let i = open("ext4-inline").volume_info();
    assert!(i.features.iter().any(|f| f == "inline_data"));
    assert!(
        i.notes.iter().any(|n| n.contains("own ext reader")),
        "{:?}",
        i.notes
    );
    assert_eq!(open("ext2").volume_info().fs_type, FsType::Ext2);
    let d = open("ext3-dirty").volume_info();
    assert_eq!(d.state, VolumeState::Dirty);
    assert_eq!(d.notes, vec!["journal not replayed".to_string()]);
    assert!(d.features.iter().any(|f| f == "needs_recovery"));
    assert_eq!(open("ext3").volume_info().state, VolumeState::Clean);
    assert_eq!(open("ext4-1k").volume_info().block_size, 1024);
    let f = open("fat32").volume_info();
    assert_eq!(f.block_size, 512);
    assert_eq!(f.state, VolumeState::Clean);
    let n = open("ntfs").volume_info();
    assert_eq!(n.state, VolumeState::Clean);
    assert!(
        n.features.iter().any(|f| f.starts_with("version 3.")),
        "{:?}",
        n.features
    );
    let json = serde_json::to_value(&n).unwrap();
    assert_eq!(json["fs_type"], "ntfs");
}

#[test]
fn ext_metadata_and_sparse_files() {
    let dir = fixture_dir();
    for name in ["ext4", "ext2", "ext3", "ext4-inline"] {
        let fs = imgcheck_fs::open(source(image_bytes(&dir, name)), &Limits::default()).unwrap();
        if name != "ext4-inline" {
            // (mke2fs -d shortens it on inline_data filesystems: see the manifest's tool_bugs)
            let m = fs.metadata("/sparse.bin").unwrap();
            assert_eq!(m.size, 1 << 20);
            let data = fs.read("/sparse.bin", u64::MAX).unwrap();
            assert_eq!(&data[524_288..524_288 + 4], b"data", "{name}");
            assert!(data[..524_288].iter().all(|&b| b == 0), "{name}");
            assert!(data[524_288 + 64..].iter().all(|&b| b == 0), "{name}");
        }
        let m = fs.metadata("/slowlink").unwrap();
        let target =
            "/this/is/a/slow/symlink/target/longer/than/sixty/bytes/so/it/needs/a/data/block";
        assert_eq!(m.size, target.len() as u64);
        assert_eq!(fs.read_link("/slowlink").unwrap(), target);
        assert_eq!(fs.metadata("/").unwrap().inode, Some(2));
        assert_eq!(m.mtime, Some(1_700_000_000), "{name}");
        let e = fs.read_link("/hello.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: /hello.txt: is a regular file, expected a symlink",
                fs.volume_info().fs_type.name()
            )
        );
        assert_eq!(
            fs.read("/docs", 10).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
}

/// An inline-data file whose `system.data` attribute is gone: `i_size` says more than `i_block`
/// holds, so the read is an error naming the inode, not 60 silently short bytes (found by the
/// `filesystem` fuzz target's read-length cross-check).
#[test]
fn inline_file_without_its_system_data_is_an_error() {
    let dir = fixture_dir();
    let mut img = image_bytes(&dir, "ext4-inline");
    let fs = imgcheck_fs::open(source(img.clone()), &Limits::default()).unwrap();
    // A regular file longer than i_block's 60 bytes and short enough to be inline.
    let mut found = None;
    for e in fs.read_dir("/docs").unwrap() {
        let p = format!("/docs/{}", e.name);
        let m = fs.metadata(&p).unwrap();
        if m.file_type == FileType::File && m.size > 60 && m.size < 100 {
            let data = fs.read(&p, u64::MAX).unwrap();
            found = Some((p, data));
            break;
        }
    }
    let (path, data) = found.expect("an inline file of 61..99 bytes in /docs");
    // i_block holds the first 60 bytes, at offset 0x28 of the inode; the in-inode xattr area
    // starts at 128 + i_extra_isize with its magic 0xEA020000.
    let at = img
        .windows(60)
        .position(|w| w == &data[..60])
        .expect("i_block in the inode table");
    let inode = at - 0x28;
    let extra = u16::from_le_bytes([img[inode + 0x80], img[inode + 0x81]]) as usize;
    let magic = inode + 128 + extra;
    assert_eq!(&img[magic..magic + 4], &0xEA02_0000u32.to_le_bytes());
    img[magic..magic + 4].fill(0);
    let fs = imgcheck_fs::open(source(img), &Limits::default()).unwrap();
    let e = fs.read(&path, u64::MAX).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    assert!(
        e.to_string().contains(&format!(
            "i_size is {} bytes but i_block and the system.data attribute hold 60",
            data.len()
        )),
        "{e}"
    );
}

/// Every regular file of the ext fixtures read in ranges (odd sizes, across block boundaries)
/// equals the whole read; ranges refuse what `read` refuses.
#[test]
fn ext_ranges_equal_whole_reads() {
    let dir = fixture_dir();
    for name in ["ext4", "ext2", "ext3", "ext4-inline"] {
        let fs = imgcheck_fs::open(source(image_bytes(&dir, name)), &Limits::default()).unwrap();
        let mut stack = vec!["/".to_string()];
        let mut files = 0;
        while let Some(d) = stack.pop() {
            for e in fs.read_dir(&d).unwrap() {
                let p = format!("{}/{}", d.trim_end_matches('/'), e.name);
                match e.file_type {
                    imgcheck_fs::FileType::Dir => stack.push(p),
                    imgcheck_fs::FileType::File => {
                        let whole = fs.read(&p, u64::MAX).unwrap();
                        for piece in [1usize, 1000, 4096, 5000, 300_000] {
                            if piece == 1 && whole.len() > 16 * 1024 {
                                continue;
                            }
                            let mut got = Vec::new();
                            let mut off = 0u64;
                            let Some(first) = fs.read_range(&p, 0, piece).unwrap() else {
                                // Our own reader answers this volume: ranges are not offered.
                                assert_eq!(name, "ext4-inline", "{p}");
                                break;
                            };
                            got.extend(first);
                            off += piece as u64;
                            while off < whole.len() as u64 {
                                let chunk = fs.read_range(&p, off, piece).unwrap().unwrap();
                                assert!(!chunk.is_empty(), "{name} {p} at {off}");
                                got.extend(chunk);
                                off += piece as u64;
                            }
                            assert_eq!(got, whole, "{name} {p} in pieces of {piece}");
                            if piece == 4096 {
                                files += 1;
                            }
                        }
                        let past = fs.read_range(&p, whole.len() as u64 + 10, 10).unwrap();
                        assert!(past.is_none_or(|v| v.is_empty()), "{name} {p}");
                    }
                    _ => {}
                }
            }
        }
        if name != "ext4-inline" {
            assert!(files > 5, "{name}: {files} files read in ranges");
            let e = fs.read_range("/docs", 0, 10).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{name}: {e}");
            let e = fs.read_range("/nope", 0, 10).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{name}: {e}");
        }
    }
}

#[test]
fn limits_are_enforced() {
    let dir = fixture_dir();
    let limits = Limits {
        max_dir_entries: 100,
        max_file_bytes: 1000,
        ..Limits::default()
    };
    for name in ["ext4", "ext4-inline", "fat16", "ntfs"] {
        let fs = imgcheck_fs::open(source(image_bytes(&dir, name)), &limits).unwrap();
        let e = fs.read_dir("/bigdir").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{name}: {e}");
        let e = fs.read("/docs/lorem.txt", u64::MAX).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{name}: {e}");
        assert_eq!(
            fs.read("/docs/lorem.txt", 1000).unwrap().len(),
            1000,
            "{name}"
        );
    }
}

#[test]
fn shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_send_sync::<dyn GuestFs>();
    let dir = fixture_dir();
    for name in ["ext4", "fat12", "ntfs"] {
        let fs: Arc<dyn GuestFs> = Arc::from(
            imgcheck_fs::open(source(image_bytes(&dir, name)), &Limits::default()).unwrap(),
        );
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let fs = fs.clone();
                std::thread::spawn(move || {
                    for i in (t..1000).step_by(4) {
                        let p = format!("/bigdir/f{i:04}.txt");
                        assert_eq!(
                            fs.read(&p, 100).unwrap(),
                            format!("entry {i:04}\n").as_bytes()
                        );
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}

/// Run `f` on a thread, failing on panic (with its message) or when it takes over 120 s.
fn no_panic_no_hang(what: String, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r.map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        }));
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Ok(())) => {}
        Ok(Err(msg)) => panic!("{what}: panicked: {msg}"),
        Err(_) => panic!("{what}: did not finish within 120 s"),
    }
}

/// Use every API call on a possibly corrupt volume; errors are fine, panics are not.
fn exercise(src: Arc<dyn BlockSource>) -> usize {
    let _ = imgcheck_fs::probe(&*src);
    let Ok(fs) = imgcheck_fs::open(src, &Limits::default()) else {
        return 0;
    };
    let _ = fs.volume_info();
    let mut errors = 0;
    let mut stack = vec!["/".to_string()];
    let mut visited = 0;
    while let Some(d) = stack.pop() {
        visited += 1;
        if visited > 200 {
            break;
        }
        let entries = match fs.read_dir(&d) {
            Ok(e) => e,
            Err(_) => {
                errors += 1;
                continue;
            }
        };
        for e in entries.into_iter().take(50) {
            let p = if d == "/" {
                format!("/{}", e.name)
            } else {
                format!("{d}/{}", e.name)
            };
            if e.name.contains('/') || e.name.is_empty() {
                continue;
            }
            match fs.metadata(&p) {
                Ok(m) if m.file_type == imgcheck_fs::FileType::Dir => stack.push(p.clone()),
                Ok(_) => {}
                Err(_) => errors += 1,
            }
            if fs.read(&p, 1 << 20).is_err() {
                errors += 1;
            }
            let _ = fs.read_link(&p);
        }
    }
    errors
}

/// A deterministic xorshift generator for the corruption offsets.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn corrupted_copies_give_errors_not_panics() {
    let dir = fixture_dir();
    for name in [
        "ext4",
        "ext4-nocsum",
        "ext2",
        "ext4-inline",
        "fat12",
        "fat32",
        "ntfs",
    ] {
        let good = image_bytes(&dir, name);

        // Magic zeroed: not recognised (or not opened).
        let mut b = good.clone();
        match name {
            n if n.starts_with("ext") => b[1024 + 0x38..1024 + 0x3A].fill(0),
            "ntfs" => b[3..11].fill(0),
            _ => b[510..512].fill(0),
        }
        assert_eq!(
            imgcheck_fs::probe(&MemSource::new(b.clone())).unwrap(),
            Probed::Unknown,
            "{name}"
        );
        let e = imgcheck_fs::open(source(b), &Limits::default())
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{name}: {e}");

        // Truncated to a quarter: opening or reading fails cleanly.
        let t = good[..good.len() / 4].to_vec();
        no_panic_no_hang(format!("{name} truncated"), move || {
            exercise(source(t));
        });

        // Metadata regions zeroed (the inode table / MFT / FAT area: bytes 8 KiB..136 KiB).
        let mut z = good.clone();
        z[8192..8192 + 131_072].fill(0);
        no_panic_no_hang(format!("{name} zeroed metadata"), move || {
            exercise(source(z));
        });

        // Bit flips in the first 2 MiB (superblock, descriptors, inode tables, directories).
        for seed in 1..=6u64 {
            let mut f = good.clone();
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let span = f.len().min(2 << 20) as u64;
            for _ in 0..400 {
                let off = (rng.next() % span) as usize;
                if (1024 + 0x38..1024 + 0x40).contains(&off) {
                    continue; // keep the ext magic so that deeper structures get exercised
                }
                f[off] ^= 1 << (rng.next() % 8);
            }
            no_panic_no_hang(format!("{name} flips seed {seed}"), move || {
                exercise(source(f));
            });
        }
    }
}

#[test]
fn ext_directory_block_flips_are_reported() {
    // Flip bytes inside the root directory's block: metadata_csum must catch it, and without
    // checksums the parser must not crash.
    let dir = fixture_dir();
    for name in ["ext4", "ext4-nocsum", "ext2"] {
        let good = image_bytes(&dir, name);
        let fs = imgcheck_fs::open(source(good.clone()), &Limits::default()).unwrap();
        let root = fs.read_dir("/").unwrap();
        assert!(root.iter().any(|e| e.name == "hello.txt"));
        // Find the root directory block by its "." and ".." entries (inode 2, rec_len 12).
        let needle: [u8; 24] = {
            let mut n = [0u8; 24];
            n[0..4].copy_from_slice(&2u32.to_le_bytes());
            n[4..6].copy_from_slice(&12u16.to_le_bytes());
            n[6] = 1;
            n[7] = 2;
            n[8] = b'.';
            n[12..16].copy_from_slice(&2u32.to_le_bytes());
            n
        };
        let pos = good
            .windows(24)
            .enumerate()
            .step_by(1)
            .find(|(i, w)| i % 1024 == 0 && w[..9] == needle[..9] && w[12..16] == needle[12..16])
            .map(|(i, _)| i)
            .expect("root directory block");
        let mut bad = good.clone();
        for k in [30usize, 31, 44, 45, 60] {
            bad[pos + k] ^= 0x5A;
        }
        let csum = name == "ext4";
        no_panic_no_hang(format!("{name} root dir flips"), move || {
            let fs = imgcheck_fs::open(source(bad), &Limits::default()).unwrap();
            let r = fs.read_dir("/");
            if csum {
                assert!(
                    r.is_err(),
                    "metadata_csum must catch a damaged directory block"
                );
            }
            exercise(Arc::new(MemSource::new(Vec::new())));
        });
    }
}

/// The type `read_dir` gives every entry is the type `metadata` gives its path (NTFS keeps a
/// possibly stale copy of the attributes in the index: a reparse point set after the name was
/// indexed must still list as a symlink), and NTFS metadata files without an unnamed `$DATA`
/// attribute (`$Secure`, `$Extend/$ObjId`, …) read as empty, as their size of 0 says.
#[test]
fn listing_types_agree_with_metadata_and_ntfs_metafiles_read_empty() {
    let dir = fixture_dir();
    for name in ["ext4", "ext2", "fat32", "ntfs"] {
        let fs = imgcheck_fs::open(source(image_bytes(&dir, name)), &Limits::default()).unwrap();
        let all = walk(fs.as_ref());
        assert!(all.len() > 10, "{name}: {} entries", all.len());
        for (path, (t, _)) in &all {
            let m = fs
                .metadata(path)
                .unwrap_or_else(|e| panic!("{name}: metadata {path}: {e}"));
            assert_eq!(m.file_type, *t, "{name}: {path}");
            if *t == FileType::File {
                let data = fs
                    .read(path, u64::MAX)
                    .unwrap_or_else(|e| panic!("{name}: read {path}: {e}"));
                assert_eq!(data.len() as u64, m.size, "{name}: {path}");
            }
        }
        if name == "ntfs" {
            for meta in [
                "/$Secure",
                "/$Extend/$ObjId",
                "/$Extend/$Quota",
                "/$Extend/$Reparse",
            ] {
                assert!(all.contains_key(meta), "{meta} not listed");
                assert_eq!(fs.metadata(meta).unwrap().size, 0, "{meta}");
                assert!(fs.read(meta, u64::MAX).unwrap().is_empty(), "{meta}");
            }
        }
    }
}
