//! FAT walks of deep and wide trees, built in memory with fatfs's own formatter and writer (the
//! reader under test is our wrapper; the tree's expected shape comes from how it was built):
//! every entry is listed once, under the right path, with its contents; case-insensitive lookups
//! work at any depth, in any spelling; and a directory entry pointing back at the root (as in the
//! fuzzer's slow units of the filesystem target) nests until the guest path limit, then stops.
//!
//! Timings are not asserted here: the figures (13 s before the reader kept directories, far
//! under a second after) are in docs/security.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    missing_docs
)]

use imgcheck_core::{ErrorKind, Limits, MemSource};
use imgcheck_fs::{FileType, FsType, GuestFs};
use std::collections::{BTreeMap, VecDeque};
use std::io::{Cursor, Write};
use std::sync::{Arc, OnceLock};

/// Depth of the spine `/D000/D001/…`.
const DEPTH: usize = 150;
/// Files per spine level.
const FILES_PER_LEVEL: usize = 3;
/// Files of the wide directory (spans many 512-byte clusters).
const WIDE: usize = 400;

/// A formatted FAT16 volume of `mib` MiB with 512-byte clusters.
fn formatted(mib: usize) -> Vec<u8> {
    let mut img = vec![0u8; mib << 20];
    fatfs::format_volume(
        Cursor::new(&mut img[..]),
        fatfs::FormatVolumeOptions::new()
            .fat_type(fatfs::FatType::Fat16)
            .bytes_per_cluster(512)
            .volume_label(*b"DEEPTREE   "),
    )
    .unwrap();
    img
}

fn open(img: Vec<u8>) -> Box<dyn GuestFs> {
    let fs = imgcheck_fs::open(Arc::new(MemSource::new(img)), &Limits::default()).unwrap();
    assert_eq!(fs.volume_info().fs_type, FsType::Fat16);
    fs
}

/// Path → contents (`None` for a directory) of everything the tree holds.
type Tree = BTreeMap<String, Option<Vec<u8>>>;

/// The deep and wide tree (built once for all tests): the image and what it holds.
fn deep_and_wide() -> (Vec<u8>, Tree) {
    static BUILT: OnceLock<(Vec<u8>, Tree)> = OnceLock::new();
    BUILT.get_or_init(build_deep_and_wide).clone()
}

fn build_deep_and_wide() -> (Vec<u8>, Tree) {
    let mut img = formatted(4);
    let mut want = Tree::new();
    {
        let fs =
            fatfs::FileSystem::new(Cursor::new(&mut img[..]), fatfs::FsOptions::new()).unwrap();
        let mut dir = fs.root_dir();
        let mut path = String::new();
        for level in 0..DEPTH {
            for f in 0..FILES_PER_LEVEL {
                let name = format!("file {level}-{f}.txt");
                let body = format!("level {level} file {f}\n").repeat(f + 1);
                dir.create_file(&name)
                    .unwrap()
                    .write_all(body.as_bytes())
                    .unwrap();
                want.insert(format!("{path}/{name}"), Some(body.into_bytes()));
            }
            let leaf = format!("Leaf.{level:03}");
            dir.create_dir(&leaf).unwrap();
            want.insert(format!("{path}/{leaf}"), None);
            let next = format!("D{level:03}");
            let sub = dir.create_dir(&next).unwrap();
            path = format!("{path}/{next}");
            want.insert(path.clone(), None);
            dir = sub;
        }
        let wide = fs.root_dir().create_dir("Wide").unwrap();
        want.insert("/Wide".into(), None);
        for i in 0..WIDE {
            let name = format!("w{i:04}.dat");
            wide.create_file(&name)
                .unwrap()
                .write_all(&[u8::try_from(i % 251).unwrap(); 3])
                .unwrap();
            want.insert(
                format!("/Wide/{name}"),
                Some(vec![u8::try_from(i % 251).unwrap(); 3]),
            );
        }
    }
    (img, want)
}

/// Depth-first walk as `imgcheck ls -R` does it: every directory listed, every entry stat'ed.
fn walk(fs: &dyn GuestFs) -> (Tree, usize) {
    let mut seen = Tree::new();
    let mut dirs = 0usize;
    let mut queue = VecDeque::from(["/".to_string()]);
    while let Some(dir) = queue.pop_back() {
        dirs += 1;
        let entries = fs.read_dir(&dir).unwrap();
        for w in entries.windows(2) {
            assert!(w[0].name < w[1].name, "{dir} not sorted");
        }
        for e in entries {
            let p = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            let m = fs.metadata(&p).unwrap();
            assert_eq!(m.file_type, e.file_type, "{p}");
            let contents = match e.file_type {
                FileType::Dir => {
                    queue.push_back(p.clone());
                    None
                }
                _ => {
                    let data = fs.read(&p, 1 << 20).unwrap();
                    assert_eq!(data.len() as u64, m.size, "{p}");
                    Some(data)
                }
            };
            assert!(seen.insert(p.clone(), contents).is_none(), "{p} twice");
        }
    }
    (seen, dirs)
}

#[test]
fn deep_and_wide_tree_walks_completely() {
    let (img, want) = deep_and_wide();
    let fs = open(img);
    let (seen, dirs) = walk(fs.as_ref());
    assert_eq!(
        want.len(),
        DEPTH * (FILES_PER_LEVEL + 2) + 1 + WIDE,
        "the tree as built"
    );
    assert_eq!(seen.len(), want.len());
    assert_eq!(seen, want);
    // Root, the spine, the empty leaves, the wide directory.
    assert_eq!(dirs, 1 + DEPTH + DEPTH + 1);
}

/// `/D000/…/D{n-1}`: the spine directory at depth `n`.
fn spine(n: usize) -> String {
    (0..n).map(|l| format!("/D{l:03}")).collect()
}

#[test]
fn deep_lookups_ignore_case_in_any_spelling() {
    let (img, want) = deep_and_wide();
    let fs = open(img);
    // The files of the last level sit in the parent of the deepest (empty) directory.
    let last = DEPTH - 1;
    let parent = spine(last);
    let deepest = spine(DEPTH);
    let file = format!("{parent}/file {last}-2.txt");
    // Lowercase spine, uppercase long name: the same file as its exact spelling.
    let lower = format!("{}/FILE {last}-2.TXT", parent.to_lowercase());
    let exact = fs.read(&file, 1 << 20).unwrap();
    assert_eq!(exact, want[&file].clone().unwrap());
    assert_eq!(fs.read(&lower, 1 << 20).unwrap(), exact);
    // A mixed spelling (every other component lowercased) after both were looked up.
    let mixed: String = (0..last)
        .map(|l| {
            if l % 2 == 0 {
                format!("/d{l:03}")
            } else {
                format!("/D{l:03}")
            }
        })
        .collect();
    assert_eq!(
        fs.metadata(&format!("{mixed}/leaf.{last:03}"))
            .unwrap()
            .file_type,
        FileType::Dir
    );
    assert_eq!(fs.metadata(&deepest).unwrap().file_type, FileType::Dir);
    assert!(fs.read_dir(&deepest).unwrap().is_empty());
    assert_eq!(fs.read("/WIDE/W0007.DAT", 10).unwrap(), vec![7u8; 3]);
    // Errors are those of a walk from the root, at any depth.
    let missing = format!("{deepest}/nope");
    let e = fs.metadata(&missing).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("fat16: {missing}: no such file or directory")
    );
    let through_file = format!("{parent}/file {last}-0.txt/x");
    let e = fs.metadata(&through_file).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("fat16: {parent}/file {last}-0.txt: not a directory")
    );
    let e = fs
        .read_dir(&format!("{parent}/file {last}-0.txt"))
        .unwrap_err();
    assert!(e.to_string().contains("regular file"), "{e}");
    let e = fs.read(&deepest, 10).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
}

#[test]
fn directory_limits_apply_where_a_scan_meets_them() {
    let (img, _) = deep_and_wide();
    let limits = Limits {
        max_dir_entries: 100,
        ..Limits::default()
    };
    let fs = imgcheck_fs::open(Arc::new(MemSource::new(img)), &limits).unwrap();
    for _ in 0..2 {
        // Finding w0097.dat scans 100 entries (".", ".." and 98 files): within the limit; one
        // more is not. Asked twice: the answers do not depend on what was read before.
        assert_eq!(fs.read("/Wide/w0097.dat", 10).unwrap(), vec![97u8; 3]);
        let e = fs.read("/Wide/w0098.dat", 10).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
        assert!(e.to_string().contains("/Wide"), "{e}");
        let e = fs.read_dir("/Wide").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
        // Small directories are unaffected, at any depth.
        assert_eq!(
            fs.read_dir(&spine(DEPTH - 1)).unwrap().len(),
            FILES_PER_LEVEL + 2
        );
    }
}

#[test]
fn directory_entry_pointing_at_the_root_nests_to_the_path_limit() {
    let mut img = formatted(4);
    {
        let fs =
            fatfs::FileSystem::new(Cursor::new(&mut img[..]), fatfs::FsOptions::new()).unwrap();
        fs.root_dir().create_dir("LOOP").unwrap();
        fs.root_dir()
            .create_file("A.TXT")
            .unwrap()
            .write_all(b"a\n")
            .unwrap();
    }
    // Point LOOP's entry in the root at cluster 0, which a directory entry reads as the root.
    let at = img
        .windows(12)
        .position(|w| &w[..11] == b"LOOP       " && w[11] & 0x10 != 0)
        .expect("LOOP's entry");
    img[at + 20..at + 22].fill(0);
    img[at + 26..at + 28].fill(0);
    let fs = open(img);
    let mut dir = "/".to_string();
    let mut levels = 0usize;
    loop {
        let Ok(entries) = fs.read_dir(&dir) else {
            break;
        };
        let names: Vec<String> = entries.into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["A.TXT", "LOOP"], "{dir}");
        let file = format!("{}/A.TXT", dir.trim_end_matches('/'));
        if file.len() <= 4096 {
            assert_eq!(fs.read(&file, 10).unwrap(), b"a\n", "{file}");
        }
        dir = format!("{}/LOOP", dir.trim_end_matches('/'));
        levels += 1;
    }
    // "/LOOP" × 819 is 4095 bytes, the longest guest path accepted (4096).
    assert_eq!(levels, 1 + 819);
    let e = fs.read_dir(&dir).unwrap_err();
    assert!(e.to_string().contains("longer than 4096 bytes"), "{e}");
}

/// A directory whose cluster chain loops back to its first cluster, with no end-of-directory
/// entry anywhere on it (every slot deleted): fatfs would iterate it forever. The reader's read
/// budget ends the listing and the lookups with an error, and the rest of the volume still reads.
#[test]
fn looping_directory_chain_ends_in_an_error() {
    let mut img = formatted(4);
    {
        let fs =
            fatfs::FileSystem::new(Cursor::new(&mut img[..]), fatfs::FsOptions::new()).unwrap();
        let root = fs.root_dir();
        root.create_file("keep.txt")
            .unwrap()
            .write_all(b"still here\n")
            .unwrap();
        let d = root.create_dir("loop").unwrap();
        // 40 entries of 32 bytes, long names included: the directory spans several clusters.
        for i in 0..40 {
            d.create_file(&format!("f{i:02}.txt")).unwrap();
        }
        for i in 0..40 {
            d.remove(&format!("f{i:02}.txt")).unwrap();
        }
    }
    // The boot sector's geometry (FAT16: one reserved region, then the FATs, the fixed root
    // directory, the data area).
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let bps = u16_at(&img, 11);
    let spc = img[13] as usize;
    let reserved = u16_at(&img, 14);
    let fats = img[16] as usize;
    let root_entries = u16_at(&img, 17);
    let fat_sectors = u16_at(&img, 22);
    let fat = reserved * bps;
    let root_dir = fat + fats * fat_sectors * bps;
    let data = root_dir + root_entries * 32;
    let cluster = spc * bps;
    let first = (0..root_entries)
        .map(|i| root_dir + i * 32)
        .find(|&e| &img[e..e + 11] == b"LOOP       ")
        .map(|e| u16_at(&img, e + 26))
        .expect("LOOP entry");
    let mut chain = vec![first];
    loop {
        let next = u16_at(&img, fat + chain.last().unwrap() * 2);
        if next >= 0xFFF8 {
            break;
        }
        chain.push(next);
    }
    assert!(chain.len() >= 3, "the directory spans {chain:?}");
    for &c in &chain {
        let start = data + (c - 2) * cluster;
        for slot in (start..start + cluster).step_by(32) {
            if img[slot] == 0 {
                img[slot] = 0xE5;
            }
        }
    }
    let last = *chain.last().unwrap();
    for f in 0..fats {
        let at = fat + f * fat_sectors * bps + last * 2;
        img[at..at + 2].copy_from_slice(&(first as u16).to_le_bytes());
    }

    let fs = open(img);
    let err = imgcheck_core::error_chain(&fs.read_dir("/loop").unwrap_err());
    assert!(err.contains("cluster chain loops"), "{err}");
    let err = imgcheck_core::error_chain(&fs.metadata("/loop/nothing.txt").unwrap_err());
    assert!(err.contains("cluster chain loops"), "{err}");
    // The rest of the volume is unaffected.
    assert_eq!(fs.read("/keep.txt", 1 << 20).unwrap(), b"still here\n");
    let names: Vec<String> = fs
        .read_dir("/")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["keep.txt", "loop"]);
}
