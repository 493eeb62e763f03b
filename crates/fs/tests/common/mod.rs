//! Shared fixture checks: every image of a fixture directory (testdata/fs or a fresh run of
//! scripts/make-fs-fixtures.sh) read through the public API and compared with the manifest and
//! with the listings of independent tools (fls, debugfs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    dead_code,
    missing_docs
)]

use flate2::read::GzDecoder;
use imgcheck_core::{BlockSource, Limits, MemSource};
use imgcheck_fs::{FileId, FileType, FsType, GuestFs, Probed};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fs")
}

pub fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

pub fn image_bytes(dir: &Path, name: &str) -> Vec<u8> {
    let f = std::fs::File::open(dir.join("images").join(format!("{name}.img.gz")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut out = Vec::new();
    GzDecoder::new(f).read_to_end(&mut out).unwrap();
    out
}

pub fn source(bytes: Vec<u8>) -> Arc<dyn BlockSource> {
    Arc::new(MemSource::new(bytes))
}

pub fn sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Every path below `/` with its type and inode, through the API (recursion bounded).
pub fn walk(fs: &dyn GuestFs) -> BTreeMap<String, (FileType, Option<u64>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec!["/".to_string()];
    while let Some(dir) = stack.pop() {
        for e in fs
            .read_dir(&dir)
            .unwrap_or_else(|e| panic!("read_dir {dir}: {e}"))
        {
            let p = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            if e.file_type == FileType::Dir {
                stack.push(p.clone());
            }
            out.insert(p, (e.file_type, e.inode));
        }
    }
    out
}

fn is_metafile(path: &str) -> bool {
    path.starts_with("/$") || path == "/lost+found" || path.starts_with("/lost+found/")
}

/// `mshowfat` output: path → first cluster (`None`: "Root directory or empty file").
pub fn parse_mshowfat(text: &str) -> BTreeMap<String, Option<u64>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("::") else {
            continue;
        };
        if let Some(p) = rest.strip_suffix(" Root directory or empty file") {
            out.insert(p.to_string(), None);
            continue;
        }
        let (p, chain) = rest
            .split_once(" <")
            .expect("mshowfat line: path <clusters>");
        let first: String = chain.chars().take_while(char::is_ascii_digit).collect();
        out.insert(p.to_string(), Some(first.parse().unwrap()));
    }
    out
}

/// `fls -r -p` output: path → (type letter, inode), without virtual and metadata entries.
pub fn parse_fls(text: &str) -> BTreeMap<String, (char, u64)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((head, path)) = line.split_once(":\t") else {
            continue;
        };
        let mut parts = head.split_whitespace();
        let types = parts.next().unwrap_or("");
        let mut inode = parts.next().unwrap_or("");
        if inode == "*" {
            continue; // deleted entry
        }
        inode = inode.split('-').next().unwrap_or(inode);
        let t = types.chars().nth(2).unwrap_or('?');
        let p = format!("/{path}");
        if matches!(t, 'V' | 'v') || p.contains(':') || p.contains("(Volume Label Entry)") {
            continue;
        }
        if is_metafile(&p) {
            continue;
        }
        out.insert(p, (t, inode.parse().unwrap_or(0)));
    }
    out
}

/// `debugfs -R 'ls -l /'` output: name → (inode, mode, size).
pub fn parse_debugfs_ls(text: &str) -> BTreeMap<String, (u64, u32, u64)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // inode mode (n) uid gid size date time name
        if f.len() < 9 {
            continue;
        }
        let name = f[8..].join(" ");
        if name == "." || name == ".." {
            continue;
        }
        let inode = f[0].parse().unwrap_or(0);
        let mode = u32::from_str_radix(f[1], 8).unwrap_or(0);
        let size = f[5].parse().unwrap_or(0);
        out.insert(name, (inode, mode, size));
    }
    out
}

/// Check one filesystem image against the manifest and the independent listings.
/// Returns the number of files whose bytes were compared.
pub fn check_image(dir: &Path, image: &Value, files: &[Value]) -> usize {
    let name = image["name"].as_str().unwrap();
    let fs_name = image["fs"].as_str().unwrap();
    let bytes = image_bytes(dir, name);
    assert_eq!(bytes.len() as u64, image["image_bytes"].as_u64().unwrap());
    let src = source(bytes);
    let probed = imgcheck_fs::probe(&*src).unwrap();
    let Probed::Filesystem(t) = probed else {
        panic!("{name}: probed as {probed:?}")
    };
    assert_eq!(t.name(), fs_name, "{name}: type");
    let fs = imgcheck_fs::open(src, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let info = fs.volume_info();
    assert_eq!(info.fs_type, t);
    assert_eq!(info.uuid.as_deref(), image["uuid"].as_str(), "{name}: uuid");
    assert_eq!(
        info.label.as_deref(),
        image["label"].as_str(),
        "{name}: label"
    );
    assert!(info.free_bytes.unwrap() > 0 && info.free_bytes.unwrap() < info.size_bytes);
    let is_ext = matches!(t, FsType::Ext2 | FsType::Ext3 | FsType::Ext4);
    let is_fat = matches!(t, FsType::Fat12 | FsType::Fat16 | FsType::Fat32);

    // Expected tree: FAT has no symlinks.
    let expected: Vec<&Value> = files
        .iter()
        .filter(|f| !(is_fat && f["type"] == "symlink"))
        .collect();
    let listed = walk(&*fs);
    let listed_paths: BTreeSet<&String> = listed.keys().filter(|p| !is_metafile(p)).collect();
    let expected_paths: BTreeSet<String> = expected
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        listed_paths,
        expected_paths.iter().collect::<BTreeSet<_>>(),
        "{name}: listing differs from the manifest"
    );

    let mut compared = 0;
    for f in &expected {
        let p = f["path"].as_str().unwrap();
        let m = fs
            .metadata(p)
            .unwrap_or_else(|e| panic!("{name}: metadata {p}: {e}"));
        let want_type = match f["type"].as_str().unwrap() {
            "file" => FileType::File,
            "dir" => FileType::Dir,
            "symlink" => FileType::Symlink,
            other => panic!("manifest type {other}"),
        };
        assert_eq!(m.file_type, want_type, "{name}: type of {p}");
        assert_eq!(listed[p].0, want_type, "{name}: listed type of {p}");
        if is_ext {
            assert_eq!(
                m.mode,
                Some(f["mode"].as_u64().unwrap() as u32),
                "{name}: mode of {p}"
            );
            assert!(
                m.inode.is_some() && m.links.is_some(),
                "{name}: inode of {p}"
            );
            assert_eq!(
                m.inode, listed[p].1,
                "{name}: inode of {p} (metadata vs listing)"
            );
        }
        if t == FsType::Ntfs {
            assert_eq!(m.inode, listed[p].1, "{name}: MFT record of {p}");
        }
        match want_type {
            FileType::File if name == "ext4-inline" && p == "/sparse.bin" => {
                // mke2fs's bug (see the manifest's tool_bugs): compare with what debugfs reads.
                let data = fs.read(p, u64::MAX).unwrap();
                assert_eq!(m.size, data.len() as u64);
                let want =
                    std::fs::read_to_string(dir.join("listings/ext4-inline.sparse.sha256.txt"))
                        .unwrap();
                assert_eq!(
                    sha256(&data),
                    want.trim(),
                    "{name}: bytes of {p} vs debugfs cat"
                );
                compared += 1;
            }
            FileType::File => {
                assert_eq!(m.size, f["size"].as_u64().unwrap(), "{name}: size of {p}");
                let data = fs
                    .read(p, u64::MAX)
                    .unwrap_or_else(|e| panic!("{name}: read {p}: {e}"));
                assert_eq!(
                    sha256(&data),
                    f["sha256"].as_str().unwrap(),
                    "{name}: bytes of {p}"
                );
                compared += 1;
            }
            FileType::Symlink => {
                let target = fs
                    .read_link(p)
                    .unwrap_or_else(|e| panic!("{name}: read_link {p}: {e}"));
                let mut want = f["target"].as_str().unwrap().to_string();
                if t == FsType::Ntfs && want.starts_with('/') {
                    // wimlib stores absolute Linux targets as `\??\C:\…` reparse points.
                    want = format!("C:{want}");
                }
                assert_eq!(target, want, "{name}: target of {p}");
                assert!(fs.read(p, 10).is_err(), "{name}: read follows symlink {p}");
            }
            _ => {}
        }
    }

    // Reads are capped by max_bytes.
    assert_eq!(fs.read("/docs/lorem.txt", 10).unwrap().len(), 10);
    // Missing paths are NotFound.
    let e = fs.metadata("/no/such/file").unwrap_err();
    assert_eq!(e.kind(), imgcheck_core::ErrorKind::NotFound, "{name}: {e}");
    assert_eq!(
        fs.read("/nosuch", 10).unwrap_err().kind(),
        imgcheck_core::ErrorKind::NotFound
    );

    if is_ext {
        let m = fs.metadata("/secret.txt").unwrap();
        let want_immutable = name != "ext4-inline";
        if name == "ext3-dirty" {
            assert_eq!(info.notes, vec!["journal not replayed".to_string()]);
        }
        assert_eq!(m.flags.immutable, want_immutable, "{name}: immutable flag");
        // Intermediate symlinks are not followed.
        assert!(matches!(
            fs.metadata("/fastlink/x").unwrap_err(),
            imgcheck_fs::FsError::SymlinkInPath { .. } | imgcheck_fs::FsError::NotADirectory { .. }
        ));
    }
    if t.case_insensitive() {
        let a = fs.read("/DOCS/mixedcase.txt", 1 << 20).unwrap();
        let b = fs.read("/docs/MixedCase.TXT", 1 << 20).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, b"Mixed case name\n");
        assert_eq!(fs.read("/HELLO.TXT", 100).unwrap(), b"hello, imgcheck\n");
        assert_eq!(
            fs.metadata("/Deep/A/b/C/d/e/F/g/H/DEEP.txt").unwrap().size,
            10
        );
    } else {
        assert!(
            fs.read("/HELLO.TXT", 100).is_err(),
            "{name}: ext must be case-sensitive"
        );
    }
    if t == FsType::Ntfs {
        let m = fs.metadata("/hello.txt").unwrap();
        assert_eq!(m.streams, vec!["extra".to_string()]);
        assert_eq!(
            fs.read("/hello.txt:extra", 100).unwrap(),
            b"alternate stream\n"
        );
    }

    // Independent listings.
    let lst = dir.join("listings");
    let fls = std::fs::read_to_string(lst.join(format!("{name}.fls.txt"))).unwrap();
    if !fls.contains("fls exit") {
        let theirs = parse_fls(&fls);
        let ours: BTreeSet<&String> = listed_paths.clone();
        assert_eq!(
            theirs.keys().collect::<BTreeSet<_>>(),
            ours,
            "{name}: our listing differs from fls -r -p"
        );
        if is_ext || t == FsType::Ntfs {
            for (p, (_, ino)) in &theirs {
                assert_eq!(listed[p].1, Some(*ino), "{name}: inode of {p}: ours vs fls");
                let id = fs.metadata(p).unwrap().id;
                assert_eq!(
                    id,
                    Some(FileId::inode(*ino)),
                    "{name}: id of {p}: ours vs fls"
                );
            }
        }
    }
    if is_fat {
        let text = std::fs::read_to_string(lst.join(format!("{name}.mshowfat.txt"))).unwrap();
        let theirs = parse_mshowfat(&text);
        assert!(theirs.len() > 1000, "{name}: mshowfat listing too short");
        // The root directory and every entry: ids are first clusters; a directory without one
        // (the FAT12/16 root) has the id 0, an empty file none.
        for (p, cluster) in &theirs {
            let m = fs
                .metadata(p)
                .unwrap_or_else(|e| panic!("{name}: {p}: {e}"));
            let expected = match (cluster, m.file_type) {
                (Some(c), _) => Some(*c),
                (None, FileType::Dir) => Some(0),
                (None, _) => None,
            };
            assert_eq!(
                m.id.map(|i| (i.tree, i.number)),
                expected.map(|c| (0, c)),
                "{name}: id of {p} vs the first cluster mshowfat reports"
            );
        }
        assert_eq!(
            theirs.keys().filter(|p| *p != "/").collect::<BTreeSet<_>>(),
            listed_paths.iter().copied().collect::<BTreeSet<_>>(),
            "{name}: our listing differs from mshowfat's paths"
        );
    }
    if is_ext {
        let text = std::fs::read_to_string(lst.join(format!("{name}.debugfs.txt"))).unwrap();
        let theirs = parse_debugfs_ls(&text);
        assert!(theirs.len() > 5, "{name}: debugfs listing too short");
        let root = fs.read_dir("/").unwrap();
        assert_eq!(root.len(), theirs.len(), "{name}: root entries vs debugfs");
        for e in root {
            let (ino, mode, size) = theirs[&e.name];
            assert_eq!(
                e.inode,
                Some(ino),
                "{name}: inode of /{} vs debugfs",
                e.name
            );
            let m = fs.metadata(&format!("/{}", e.name)).unwrap();
            assert_eq!(
                m.mode,
                Some(mode & 0o7777),
                "{name}: mode of /{} vs debugfs",
                e.name
            );
            if m.file_type == FileType::File {
                assert_eq!(m.size, size, "{name}: size of /{} vs debugfs", e.name);
            }
        }
    }
    compared
}

/// Check every filesystem image in `dir`; returns (images, files compared).
pub fn check_all(dir: &Path) -> (usize, usize) {
    let m = manifest(dir);
    let files = m["files"].as_array().unwrap().clone();
    let mut images = 0;
    let mut compared = 0;
    for image in m["images"].as_array().unwrap() {
        if matches!(image["fs"].as_str(), Some("swap" | "luks2")) {
            continue;
        }
        compared += check_image(dir, image, &files);
        images += 1;
    }
    (images, compared)
}
