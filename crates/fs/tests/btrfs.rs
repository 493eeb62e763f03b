//! Btrfs fixtures (testdata/btrfs, made by scripts/make-btrfs-fixtures.sh with mkfs.btrfs and
//! checked there with `btrfs restore`): every file of every image equals the manifest, listings
//! agree with btrfs-progs' restore listing, subvolumes are listed and opened as fstab would,
//! flags are read; corruption gives errors, never a panic or a hang; a live test regenerates
//! the fixtures with the real tools.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    missing_docs
)]

use imgcheck_core::{BlockSource, ErrorKind, Limits, MemSource};
use imgcheck_fs::{FileId, FileType, FsType, GuestFs, Probed, SubvolumeSel};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/btrfs")
}

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn image_bytes(dir: &Path, file: &str) -> Vec<u8> {
    let f = std::fs::File::open(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut r = std::io::BufReader::new(f);
    let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut r).unwrap();
    let mut out = Vec::new();
    dec.read_to_end(&mut out).unwrap();
    out
}

fn src(bytes: Vec<u8>) -> Arc<dyn BlockSource> {
    Arc::new(MemSource::new(bytes))
}

fn sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Every path below `/` with its type, through the API.
fn walk(fs: &dyn GuestFs) -> BTreeMap<String, FileType> {
    let mut out = BTreeMap::new();
    let mut stack = vec!["/".to_string()];
    while let Some(dir) = stack.pop() {
        let entries = fs
            .read_dir(&dir)
            .unwrap_or_else(|e| panic!("read_dir {dir}: {e}"));
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "{dir} is listed sorted by name");
        for e in entries {
            let p = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            if e.file_type == FileType::Dir {
                stack.push(p.clone());
            }
            assert!(out.insert(p, e.file_type).is_none());
        }
    }
    out
}

/// The manifest's files below `prefix` (a top-level path, `""` for all), re-rooted at `/`.
fn files_under(m: &Value, tree: &str, prefix: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for f in m["trees"][tree].as_array().unwrap() {
        let p = f["path"].as_str().unwrap();
        let rel = if prefix.is_empty() {
            Some(p.to_string())
        } else {
            p.strip_prefix(&format!("/{prefix}"))
                .filter(|r| r.starts_with('/'))
                .map(str::to_string)
        };
        if let Some(rel) = rel {
            let mut f = f.clone();
            f["path"] = Value::String(rel);
            out.push(f);
        }
    }
    out
}

/// Compare a view with the manifest's files: types, sizes, modes, contents, symlink targets.
/// Returns the number of files compared.
fn check_view(name: &str, fs: &dyn GuestFs, files: &[Value]) -> usize {
    let listed = walk(fs);
    let want: BTreeSet<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    let got: BTreeSet<&str> = listed.keys().map(String::as_str).collect();
    assert_eq!(got, want, "{name}: listing differs from the source tree");
    for f in files {
        let p = f["path"].as_str().unwrap();
        let md = fs.metadata(p).unwrap_or_else(|e| panic!("{name} {p}: {e}"));
        let mode = f["mode"].as_u64().unwrap() as u32;
        match f["type"].as_str().unwrap() {
            "file" => {
                assert_eq!(md.file_type, FileType::File, "{name} {p}");
                assert_eq!(md.size, f["size"].as_u64().unwrap(), "{name} {p} size");
                assert_eq!(md.mode, Some(mode), "{name} {p} mode");
                let data = fs
                    .read(p, u64::MAX >> 1)
                    .unwrap_or_else(|e| panic!("{name} {p}: {e}"));
                assert_eq!(data.len() as u64, md.size, "{name} {p} read length");
                assert_eq!(
                    sha256(&data),
                    f["sha256"].as_str().unwrap(),
                    "{name} {p} sha256"
                );
                assert_eq!(listed[p], FileType::File);
            }
            "dir" => {
                assert_eq!(md.file_type, FileType::Dir, "{name} {p}");
                assert_eq!(listed[p], FileType::Dir);
            }
            "symlink" => {
                assert_eq!(md.file_type, FileType::Symlink, "{name} {p}");
                assert_eq!(listed[p], FileType::Symlink);
                assert_eq!(
                    fs.read_link(p).unwrap(),
                    f["target"].as_str().unwrap(),
                    "{name} {p}"
                );
                assert_eq!(md.size, f["size"].as_u64().unwrap(), "{name} {p} size");
            }
            t => panic!("unknown type {t}"),
        }
    }
    files.len()
}

/// The paths and sha256 of `btrfs restore`'s listing (files only), which the script recorded.
fn restore_files(dir: &Path, name: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join(format!("listings/{name}.restore.txt"))).unwrap();
    text.lines()
        .filter_map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            (parts.get(1) == Some(&"file")).then(|| (parts[0].to_string(), parts[4].to_string()))
        })
        .collect()
}

fn open_image(dir: &Path, img: &Value) -> (Vec<u8>, Box<dyn GuestFs>) {
    let bytes = image_bytes(dir, img["file"].as_str().unwrap());
    let s = src(bytes.clone());
    assert_eq!(
        imgcheck_fs::probe(&*s).unwrap(),
        Probed::Filesystem(FsType::Btrfs)
    );
    let fs =
        imgcheck_fs::open(s, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", img["name"]));
    (bytes, fs)
}

/// Check every image of a fixture directory; returns (images, files compared).
fn check_all(dir: &Path) -> (usize, usize) {
    let m = manifest(dir);
    let mut images = 0;
    let mut compared = 0;
    for img in m["images"].as_array().unwrap() {
        let name = img["name"].as_str().unwrap();
        let tree = img["tree"].as_str().unwrap();
        let (_, fs) = open_image(dir, img);
        let info = fs.volume_info();
        assert_eq!(info.fs_type, FsType::Btrfs);
        assert_eq!(info.uuid.as_deref(), img["uuid"].as_str(), "{name} uuid");
        assert_eq!(info.label.as_deref(), img["label"].as_str(), "{name} label");
        // The default view is the default subvolume's content.
        let default_path = img["default_path"].as_str().unwrap();
        compared += check_view(name, &*fs, &files_under(&m, tree, default_path));
        // The top level (subvolid=5, subvol=/) shows the whole tree, crossing into subvolumes.
        let top = fs.subvolume(&SubvolumeSel::Id(5)).unwrap();
        compared += check_view(name, &*top, &files_under(&m, tree, ""));
        assert_eq!(
            top.metadata("/").unwrap().id,
            Some(FileId {
                tree: 5,
                number: 256
            })
        );
        let top2 = fs.subvolume(&SubvolumeSel::Path("/".into())).unwrap();
        assert_eq!(walk(&*top2), walk(&*top));
        // Every regular file agrees with what btrfs restore extracted.
        for (p, hash) in restore_files(dir, name) {
            let data = top.read(&p, u64::MAX >> 1).unwrap();
            assert_eq!(sha256(&data), hash, "{name} {p} vs btrfs restore");
        }
        // Subvolumes: listed with ids, paths, parents, flags; each opened by path and by id.
        let want: Vec<(u64, String, u64, bool, bool)> = img["subvolumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_u64().unwrap(),
                    s["path"].as_str().unwrap().to_string(),
                    s["parent"].as_u64().unwrap(),
                    s["default"].as_bool().unwrap(),
                    s["read_only"].as_bool().unwrap(),
                )
            })
            .collect();
        let listed = fs.subvolumes().unwrap();
        assert_eq!(listed[0].id, 5, "{name}");
        assert_eq!(listed[0].path, "");
        assert_eq!(listed[0].default, default_path.is_empty());
        let got: Vec<(u64, String, u64, bool, bool)> = listed[1..]
            .iter()
            .map(|s| (s.id, s.path.clone(), s.parent, s.default, s.read_only))
            .collect();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(got, want_sorted, "{name} subvolumes");
        for (id, path, ..) in &want {
            let by_path = fs
                .subvolume(&SubvolumeSel::Path(format!("/{path}")))
                .unwrap();
            let by_id = fs.subvolume(&SubvolumeSel::Id(*id)).unwrap();
            compared += check_view(
                &format!("{name}:{path}"),
                &*by_path,
                &files_under(&m, tree, path),
            );
            assert_eq!(
                walk(&*by_id),
                walk(&*by_path),
                "{name}: subvolid={id} vs subvol={path}"
            );
            let plain = fs.subvolume(&SubvolumeSel::Path(path.clone())).unwrap();
            assert_eq!(walk(&*plain).len(), walk(&*by_path).len());
            // Every subvolume's root directory is inode 256 of its own tree: the ids tell them
            // apart, from the top level as from inside.
            let root_id = FileId {
                tree: *id,
                number: 256,
            };
            assert_eq!(
                by_id.metadata("/").unwrap().id,
                Some(root_id),
                "{name}:{path}"
            );
            assert_eq!(
                top.metadata(&format!("/{path}")).unwrap().id,
                Some(root_id),
                "{name}: /{path} from the top level"
            );
        }
        let e = fs
            .subvolume(&SubvolumeSel::Path("no/such/subvol".into()))
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = fs.subvolume(&SubvolumeSel::Id(999)).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        images += 1;
    }
    (images, compared)
}

#[test]
fn every_file_of_every_fixture_matches() {
    let (images, files) = check_all(&fixture_dir());
    assert_eq!(images, 9);
    assert!(files > 9 * 20, "{files} files compared");
}

#[test]
fn compressed_images_hold_compressed_extents() {
    // The flags word of /text.txt says COMPRESS on the --compress images, not on plain; the
    // listings of btrfs-progs show the compression of the extents we decoded.
    let dir = fixture_dir();
    let m = manifest(&dir);
    for img in m["images"].as_array().unwrap() {
        let name = img["name"].as_str().unwrap();
        if !["plain", "zlib", "lzo", "zstd"].contains(&name) {
            continue;
        }
        let (_, fs) = open_image(&dir, img);
        let md = fs.metadata("/text.txt").unwrap();
        assert_eq!(md.flags.compressed, name != "plain", "{name}");
        let info = fs.volume_info();
        if name == "lzo" {
            assert!(
                info.features.contains(&"compress_lzo".to_string()),
                "{:?}",
                info.features
            );
        }
        if name == "zstd" {
            assert!(
                info.features.contains(&"compress_zstd".to_string()),
                "{:?}",
                info.features
            );
        }
    }
}

#[test]
fn flags_times_and_ids() {
    let dir = fixture_dir();
    let m = manifest(&dir);
    let img = &m["images"][0];
    assert_eq!(img["name"], "plain");
    let (_, fs) = open_image(&dir, img);
    let s = fs.metadata("/secret.txt").unwrap();
    assert!(s.flags.immutable && !s.flags.append_only);
    assert_eq!(s.flags.raw & 0x40, 0x40);
    let h = fs.metadata("/hello.txt").unwrap();
    assert!(h.flags.append_only && !h.flags.immutable);
    let d = fs.metadata("/docs/lorem.txt").unwrap();
    assert!(!d.flags.immutable && !d.flags.append_only && !d.flags.compressed);
    assert_eq!(d.mtime, Some(1_700_000_000));
    assert_eq!(d.uid, Some(0));
    assert_eq!(fs.metadata("/").unwrap().inode, Some(256));
    assert_eq!(fs.metadata("/bigdir").unwrap().links, Some(1));
    assert_eq!(fs.read_dir("/bigdir").unwrap().len(), 1000);
    // Partial reads and the limit.
    assert_eq!(fs.read("/sparse.bin", 10).unwrap(), vec![0u8; 10]);
    let small = Limits {
        max_file_bytes: 1000,
        max_dir_entries: 10,
        ..Limits::default()
    };
    let bytes = image_bytes(&dir, img["file"].as_str().unwrap());
    let fs = imgcheck_fs::open(src(bytes), &small).unwrap();
    assert_eq!(fs.read("/sparse.bin", 1000).unwrap().len(), 1000);
    assert_eq!(
        fs.read("/sparse.bin", 2000).unwrap_err().kind(),
        ErrorKind::LimitExceeded
    );
    assert_eq!(
        fs.read_dir("/bigdir").unwrap_err().kind(),
        ErrorKind::LimitExceeded
    );
    // Path rules: intermediate symlink, not a directory, not found, wrong types.
    assert!(matches!(
        fs.metadata("/dirlink/readme.md").unwrap_err(),
        imgcheck_fs::FsError::SymlinkInPath { .. }
    ));
    assert_eq!(
        fs.metadata("/hello.txt/x").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        fs.metadata("/nope").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        fs.read("/docs", 10).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        fs.read("/fastlink", 10).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        fs.read_link("/hello.txt").unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

// ---- corruption ------------------------------------------------------------------------------

const SB: usize = 0x1_0000;

fn crc32c(b: &[u8]) -> u32 {
    crc32c::crc32c(b)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

fn plain_bytes() -> Vec<u8> {
    let dir = fixture_dir();
    let m = manifest(&dir);
    image_bytes(&dir, m["images"][0]["file"].as_str().unwrap())
}

/// Physical offsets of every copy of logical address `logical`, from the sys_chunk_array and
/// the chunk tree leaf (the fixture's chunk tree is one leaf).
fn physical(b: &[u8], logical: u64) -> Vec<usize> {
    let nodesize = u32::from_le_bytes(b[SB + 0x94..SB + 0x98].try_into().unwrap()) as usize;
    let mut chunks = Vec::new();
    let sys_len = u32::from_le_bytes(b[SB + 0xa0..SB + 0xa4].try_into().unwrap()) as usize;
    let arr = &b[SB + 0x32b..SB + 0x32b + sys_len];
    let mut off = 0;
    while off < arr.len() {
        let start = u64_at(arr, off + 9);
        let c = &arr[off + 17..];
        let n = u16::from_le_bytes(c[44..46].try_into().unwrap()) as usize;
        chunks.push((
            start,
            u64_at(c, 0),
            (0..n)
                .map(|i| u64_at(c, 48 + 32 * i + 8))
                .collect::<Vec<_>>(),
        ));
        off += 17 + 48 + 32 * n;
    }
    let map = |chunks: &[(u64, u64, Vec<u64>)], l: u64| -> Vec<usize> {
        for (s, len, stripes) in chunks {
            if l >= *s && l < s + len {
                return stripes.iter().map(|p| (p + (l - s)) as usize).collect();
            }
        }
        Vec::new()
    };
    let chunk_root = u64_at(b, SB + 0x58);
    let leaf_at = map(&chunks, chunk_root)[0];
    let leaf = &b[leaf_at..leaf_at + nodesize];
    assert_eq!(leaf[0x64], 0, "fixture chunk tree is a single leaf");
    let n = u32::from_le_bytes(leaf[0x60..0x64].try_into().unwrap()) as usize;
    for i in 0..n {
        let it = 101 + 25 * i;
        if leaf[it + 8] != 228 {
            continue;
        }
        let start = u64_at(leaf, it + 9);
        let doff = 101 + u32::from_le_bytes(leaf[it + 17..it + 21].try_into().unwrap()) as usize;
        let c = &leaf[doff..];
        let ns = u16::from_le_bytes(c[44..46].try_into().unwrap()) as usize;
        chunks.push((
            start,
            u64_at(c, 0),
            (0..ns).map(|k| u64_at(c, 48 + 32 * k + 8)).collect(),
        ));
    }
    map(&chunks, logical)
}

fn reseal_node(b: &mut [u8], at: usize, nodesize: usize) {
    let c = crc32c(&b[at + 32..at + nodesize]);
    b[at..at + 4].copy_from_slice(&c.to_le_bytes());
}

fn reseal_super(b: &mut [u8], at: usize) {
    let c = crc32c(&b[at + 32..at + 4096]);
    b[at..at + 4].copy_from_slice(&c.to_le_bytes());
}

/// Open and read everything; any error is fine, a panic or a hang is not.
fn exercise(bytes: Vec<u8>) -> Result<usize, imgcheck_fs::FsError> {
    let fs = imgcheck_fs::open_as(src(bytes), FsType::Btrfs, &Limits::default())?;
    let mut n = 0;
    let mut stack = vec!["/".to_string()];
    while let Some(d) = stack.pop() {
        for e in fs.read_dir(&d)? {
            let p = if d == "/" {
                format!("/{}", e.name)
            } else {
                format!("{d}/{}", e.name)
            };
            match e.file_type {
                FileType::Dir => stack.push(p),
                FileType::File => {
                    fs.read(&p, 1 << 20)?;
                }
                _ => {}
            }
            n += 1;
        }
    }
    fs.subvolumes()?;
    Ok(n)
}

#[test]
fn bad_primary_superblock_falls_back_to_the_mirror() {
    let mut b = plain_bytes();
    assert!(
        b.len() > 0x400_0000 + 4096,
        "fixture holds the 64 MiB mirror"
    );
    b[SB + 0x100] ^= 0xff; // checksum now wrong
    let fs = imgcheck_fs::open(src(b.clone()), &Limits::default()).unwrap();
    let notes = fs.volume_info().notes.join("; ");
    assert!(notes.contains("primary superblock unusable"), "{notes}");
    assert!(notes.contains("offset 67108864"), "{notes}");
    assert!(fs.read("/hello.txt", 100).is_ok());
    // Both copies bad: a clear corruption error.
    b[0x400_0000 + 0x100] ^= 0xff;
    let e = imgcheck_fs::open_as(src(b), FsType::Btrfs, &Limits::default())
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
}

#[test]
fn mirror_with_higher_generation_wins() {
    let mut b = plain_bytes();
    // A mirror claiming a newer generation is chosen (its trees are the same here).
    let m = 0x400_0000;
    let g = u64_at(&b, m + 0x48) + 1;
    b[m + 0x48..m + 0x50].copy_from_slice(&g.to_le_bytes());
    reseal_super(&mut b, m);
    let fs = imgcheck_fs::open(src(b), &Limits::default()).unwrap();
    assert!(fs.volume_info().notes.join(";").contains("offset 67108864"));
}

#[test]
fn corrupt_tree_blocks_are_errors_and_dup_copies_rescue() {
    let b = plain_bytes();
    let nodesize = u32::from_le_bytes(b[SB + 0x94..SB + 0x98].try_into().unwrap()) as usize;
    let root = u64_at(&b, SB + 0x50);
    let copies = physical(&b, root);
    assert!(!copies.is_empty());
    // One copy bad: with DUP metadata the other copy is used.
    let mut one = b.clone();
    one[copies[0] + 200] ^= 0x55;
    if copies.len() > 1 {
        assert!(exercise(one).is_ok());
    } else {
        assert_eq!(exercise(one).unwrap_err().kind(), ErrorKind::Corrupt);
    }
    // Every copy bad: corrupt, naming the block.
    let mut all = b.clone();
    for &c in &copies {
        all[c + 200] ^= 0x55;
    }
    let e = exercise(all).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(
        e.to_string()
            .contains(&format!("tree block at logical {root}")),
        "{e}"
    );
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
    let _ = nodesize;
}

#[test]
fn cyclic_and_level_breaking_pointers_are_corrupt() {
    let b = plain_bytes();
    let nodesize = u32::from_le_bytes(b[SB + 0x94..SB + 0x98].try_into().unwrap()) as usize;
    // The fs tree of the plain fixture (1000-entry bigdir) has internal nodes: find its root in
    // the root tree (one leaf) and make its first pointer point to itself, then to its parent
    // level (a leaf claiming level 1).
    let root_tree = u64_at(&b, SB + 0x50);
    let at = physical(&b, root_tree)[0];
    let n = u32::from_le_bytes(b[at + 0x60..at + 0x64].try_into().unwrap()) as usize;
    let mut fs_root = None;
    for i in 0..n {
        let it = at + 101 + 25 * i;
        if u64_at(&b, it) == 5 && b[it + 8] == 132 {
            let d = at + 101 + u32::from_le_bytes(b[it + 17..it + 21].try_into().unwrap()) as usize;
            fs_root = Some((u64_at(&b, d + 176), b[d + 238]));
        }
    }
    let (fs_root, level) = fs_root.unwrap();
    assert!(level >= 1, "fixture fs tree has an internal node");
    // Self pointer.
    let mut cyc = b.clone();
    for p in physical(&b, fs_root) {
        cyc[p + 101 + 17..p + 101 + 25].copy_from_slice(&fs_root.to_le_bytes());
        reseal_node(&mut cyc, p, nodesize);
    }
    let e = exercise(cyc).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    // Levels not decreasing: the first child claims the root's own level.
    let child = u64_at(&b, physical(&b, fs_root)[0] + 101 + 17);
    let mut lev = b.clone();
    for p in physical(&b, child) {
        lev[p + 0x64] = level;
        reseal_node(&mut lev, p, nodesize);
    }
    let e = exercise(lev).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.to_string().contains("levels must decrease"), "{e}");
    // Two-node loop: child points back to the root (levels catch it too).
    let mut back = b.clone();
    for p in physical(&b, child) {
        back[p + 0x64] = 1;
        back[p + 0x60..p + 0x64].copy_from_slice(&1u32.to_le_bytes());
        back[p + 101 + 17..p + 101 + 25].copy_from_slice(&fs_root.to_le_bytes());
        reseal_node(&mut back, p, nodesize);
    }
    assert!(exercise(back).is_err());
}

#[test]
fn chunk_map_holes_truncation_and_garbage_never_panic() {
    let b = plain_bytes();
    // Empty sys_chunk_array: no chunk maps the chunk tree.
    let mut hole = b.clone();
    hole[SB + 0xa0..SB + 0xa4].copy_from_slice(&0u32.to_le_bytes());
    reseal_super(&mut hole, SB);
    let mirror = 0x400_0000;
    hole[mirror + 0x40] = 0; // kill the mirror's magic so it cannot rescue
    let e = exercise(hole).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    // The system chunk moved away from the chunk root: a hole in the map.
    let mut moved = b.clone();
    let start_at = SB + 0x32b + 9;
    let s = u64_at(&moved, start_at) + (1 << 40);
    moved[start_at..start_at + 8].copy_from_slice(&s.to_le_bytes());
    reseal_super(&mut moved, SB);
    moved[mirror + 0x40] = 0;
    let e = exercise(moved).unwrap_err();
    assert!(
        e.to_string().contains("no chunk maps logical address"),
        "{e}"
    );
    // Truncations at many points: errors or partial success, never a panic.
    for cut in [
        0x1_0000 + 100,
        0x11_0000,
        0x40_0000,
        0x100_0000,
        b.len() / 2,
        b.len() - 4096,
    ] {
        let _ = exercise(b[..cut].to_vec());
    }
    // Byte flips across the metadata area, resealing checksums so parsers see the garbage.
    let nodesize = u32::from_le_bytes(b[SB + 0x94..SB + 0x98].try_into().unwrap()) as usize;
    let root = u64_at(&b, SB + 0x50);
    let mut seed = 0x1234_5678_u64;
    for round in 0..30 {
        let mut g = b.clone();
        let copies = physical(&b, root);
        for _ in 0..4 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let off = 32 + (seed >> 33) as usize % (nodesize - 32);
            for &c in &copies {
                g[c + off] ^= (seed >> 7) as u8 | 1;
            }
        }
        for &c in &copies {
            reseal_node(&mut g, c, nodesize);
        }
        let _ = exercise(g);
        let _ = round;
    }
}

#[test]
fn multi_device_profiles_are_refused_by_name() {
    let mut b = plain_bytes();
    let nodesize = u32::from_le_bytes(b[SB + 0x94..SB + 0x98].try_into().unwrap()) as usize;
    // Claim 2 devices and turn every chunk of the chunk tree into RAID0 with its first stripe on
    // device 2, which is not in this image: refused naming the profile and the device count.
    b[SB + 0x88..SB + 0x90].copy_from_slice(&2u64.to_le_bytes());
    reseal_super(&mut b, SB);
    b[0x400_0000 + 0x40] = 0;
    let chunk_root = u64_at(&b, SB + 0x58);
    for leaf_at in physical(&b, chunk_root) {
        let n = u32::from_le_bytes(b[leaf_at + 0x60..leaf_at + 0x64].try_into().unwrap()) as usize;
        for i in 0..n {
            let it = leaf_at + 101 + 25 * i;
            if b[it + 8] != 228 {
                continue;
            }
            let c = leaf_at
                + 101
                + u32::from_le_bytes(b[it + 17..it + 21].try_into().unwrap()) as usize;
            let ty = u64_at(&b, c + 24) | (1 << 3);
            b[c + 24..c + 32].copy_from_slice(&ty.to_le_bytes());
            b[c + 48..c + 56].copy_from_slice(&2u64.to_le_bytes());
        }
        reseal_node(&mut b, leaf_at, nodesize);
    }
    let e = imgcheck_fs::open(src(b), &Limits::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let msg = e.to_string();
    assert!(msg.contains("raid0 profile on 2 devices"), "{msg}");
}

/// Find item `key` = (objectid, type, offset) in the tree rooted at logical `root` (level
/// `level`): the physical offsets of the leaf's copies and the item's data offset in the leaf.
fn find_item(b: &[u8], root: u64, level: u8, key: (u64, u8, u64)) -> Option<(Vec<usize>, usize)> {
    let nodesize = u32::from_le_bytes(b[SB + 0x94..SB + 0x98].try_into().unwrap()) as usize;
    let copies = physical(b, root);
    let at = copies[0];
    let node = &b[at..at + nodesize];
    let n = u32::from_le_bytes(node[0x60..0x64].try_into().unwrap()) as usize;
    let key_at = |off: usize| (u64_at(node, off), node[off + 8], u64_at(node, off + 9));
    if level == 0 {
        for i in 0..n {
            let it = 101 + 25 * i;
            if key_at(it) == key {
                let d =
                    101 + u32::from_le_bytes(node[it + 17..it + 21].try_into().unwrap()) as usize;
                return Some((copies, d));
            }
        }
        return None;
    }
    let mut child = None;
    for i in 0..n {
        let it = 101 + 33 * i;
        if key_at(it) <= key {
            child = Some(u64_at(node, it + 17));
        }
    }
    find_item(b, child?, level - 1, key)
}

/// The fs tree root (logical, level) of the top-level subvolume.
fn fs_tree_root(b: &[u8]) -> (u64, u8) {
    let (copies, d) = find_item(b, u64_at(b, SB + 0x50), b[SB + 0xc6], (5, 132, 0)).unwrap();
    (u64_at(b, copies[0] + d + 176), b[copies[0] + d + 238])
}

/// Rewrite the file extent item (ino, EXTENT_DATA, file_offset) with `edit` on every copy.
fn edit_extent(b: &mut [u8], ino: u64, file_offset: u64, edit: &dyn Fn(&mut [u8])) {
    let nodesize = u32::from_le_bytes(b[SB + 0x94..SB + 0x98].try_into().unwrap()) as usize;
    let (root, level) = fs_tree_root(b);
    let (copies, d) = find_item(b, root, level, (ino, 108, file_offset)).unwrap();
    for c in copies {
        edit(&mut b[c + d..c + d + 53]);
        reseal_node(b, c, nodesize);
    }
}

#[test]
fn partial_references_and_prealloc_extents() {
    // mkfs.btrfs never writes these (only a mounted kernel does: reflinks, partial overwrites,
    // fallocate), so they are made by editing real extent items of the fixtures; the expected
    // bytes come from the manifest's source file, not from our reader.
    let dir = fixture_dir();
    let m = manifest(&dir);
    for (name, path) in [
        ("plain", "/random.bin"),
        ("zstd", "/text.txt"),
        ("lzo", "/text.txt"),
        ("zlib", "/text.txt"),
    ] {
        let img = m["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap();
        let orig_bytes = image_bytes(&dir, img["file"].as_str().unwrap());
        let fs = imgcheck_fs::open(src(orig_bytes.clone()), &Limits::default()).unwrap();
        let ino = fs.metadata(path).unwrap().inode.unwrap();
        let orig = fs.read(path, u64::MAX >> 1).unwrap();
        let want_sha = m["trees"]["tree"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap()["sha256"]
            .clone();
        assert_eq!(sha256(&orig), want_sha.as_str().unwrap());
        drop(fs);
        // The first extent now references its data from byte 4096 on, 4096 bytes shorter: the
        // file reads the shifted bytes, then a 4096-byte hole, then the rest unchanged.
        let mut b = orig_bytes.clone();
        edit_extent(&mut b, ino, 0, &|e: &mut [u8]| {
            let off = u64_at(e, 37) + 4096;
            let num = u64_at(e, 45) - 4096;
            e[37..45].copy_from_slice(&off.to_le_bytes());
            e[45..53].copy_from_slice(&num.to_le_bytes());
        });
        let (first_len, compression) = {
            let (root, level) = fs_tree_root(&b);
            let (copies, d) = find_item(&b, root, level, (ino, 108, 0)).unwrap();
            (u64_at(&b, copies[0] + d + 45) + 4096, b[copies[0] + d + 16])
        };
        assert_eq!(
            compression != 0,
            name != "plain",
            "{name}: extent compression"
        );
        let n = first_len as usize;
        let mut want = orig[4096..n].to_vec();
        want.extend(std::iter::repeat_n(0u8, 4096));
        want.extend_from_slice(&orig[n..]);
        let fs = imgcheck_fs::open(src(b), &Limits::default()).unwrap();
        assert_eq!(
            fs.read(path, u64::MAX >> 1).unwrap(),
            want,
            "{name}: partial reference"
        );
        // Prealloc: the first extent reads as zeros.
        let mut b = orig_bytes;
        edit_extent(&mut b, ino, 0, &|e: &mut [u8]| e[20] = 2);
        let fs = imgcheck_fs::open(src(b), &Limits::default()).unwrap();
        let got = fs.read(path, u64::MAX >> 1).unwrap();
        assert!(
            got[..n].iter().all(|&x| x == 0),
            "{name}: prealloc reads zeros"
        );
        assert_eq!(&got[n..], &orig[n..]);
    }
}

#[test]
fn data_checksums_are_verified() {
    // One flipped byte in the data of a regular extent (plain) and of a compressed extent
    // (zstd: the csums cover the compressed bytes) is an error naming the file, the sector's
    // logical address and both checksums; the same file marked NODATASUM reads (the flipped
    // byte and all) without error, and the other files still read.
    let dir = fixture_dir();
    let m = manifest(&dir);
    for (name, path) in [("plain", "/random.bin"), ("zstd", "/text.txt")] {
        let img = m["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap();
        let orig_bytes = image_bytes(&dir, img["file"].as_str().unwrap());
        let fs = imgcheck_fs::open(src(orig_bytes.clone()), &Limits::default()).unwrap();
        let ino = fs.metadata(path).unwrap().inode.unwrap();
        let orig = fs.read(path, u64::MAX >> 1).unwrap();
        drop(fs);
        let (root, level) = fs_tree_root(&orig_bytes);
        let (copies, d) = find_item(&orig_bytes, root, level, (ino, 108, 0)).unwrap();
        let e = copies[0] + d;
        assert_eq!(orig_bytes[e + 20], 1, "{name}: first extent is regular");
        assert_eq!(
            orig_bytes[e + 16] != 0,
            name == "zstd",
            "{name}: compression"
        );
        let disk_bytenr = u64_at(&orig_bytes, e + 21);
        let mut b = orig_bytes.clone();
        let data_copies = physical(&b, disk_bytenr + 4096 + 100);
        assert!(!data_copies.is_empty());
        for p in data_copies {
            b[p] ^= 0x01;
        }
        let fs = imgcheck_fs::open(src(b.clone()), &Limits::default()).unwrap();
        let err = fs.read(path, u64::MAX >> 1).unwrap_err().to_string();
        let sector = disk_bytenr + 4096;
        assert!(
            err.contains(path)
                && err.contains(&format!("data checksum mismatch at logical {sector}"))
                && err.contains("expected crc32c ")
                && err.contains(", computed "),
            "{name}: {err}"
        );
        // A read that stops before the bad sector is fine (uncompressed: sectors are checked
        // one by one).
        if name == "plain" {
            assert_eq!(fs.read(path, 4096).unwrap(), orig[..4096]);
        }
        // Everything else still reads.
        assert_eq!(
            fs.read("/hello.txt", 1 << 20).unwrap(),
            b"hello, imgcheck\n"
        );
        drop(fs);
        // NODATASUM (chattr +C): not verified.
        let nodesize = u32::from_le_bytes(b[SB + 0x94..SB + 0x98].try_into().unwrap()) as usize;
        let (icopies, id) = find_item(&b, root, level, (ino, 1, 0)).unwrap();
        for c in icopies {
            let flags = u64_at(&b, c + id + 64) | 1;
            b[c + id + 64..c + id + 72].copy_from_slice(&flags.to_le_bytes());
            reseal_node(&mut b, c, nodesize);
        }
        let fs = imgcheck_fs::open(src(b), &Limits::default()).unwrap();
        let got = fs.read(path, u64::MAX >> 1).unwrap();
        assert_eq!(got.len(), orig.len(), "{name}: nodatasum read");
        if name == "plain" {
            assert_eq!(
                got[4096 + 100],
                orig[4096 + 100] ^ 1,
                "{name}: the flipped byte"
            );
        }
    }
}

/// The checksum of `data` with btrfs checksum algorithm `name` (as the error messages and
/// dump-super name them), computed here independently of the reader: SHA-256, unkeyed
/// BLAKE2b with a 32-byte output, xxHash64 (seed 0, little-endian).
fn csum_hex(name: &str, data: &[u8]) -> String {
    let d: Vec<u8> = match name {
        "sha256" => Sha256::digest(data).to_vec(),
        "blake2b" => blake2::Blake2b::<blake2::digest::consts::U32>::digest(data).to_vec(),
        "xxhash64" => twox_hash::XxHash64::oneshot(0, data).to_le_bytes().to_vec(),
        other => panic!("no reference for {other}"),
    };
    d.iter().map(|x| format!("{x:02x}")).collect()
}

fn image_named(m: &Value, name: &str) -> Value {
    m["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no image {name} in the manifest"))
        .clone()
}

#[test]
fn sha256_blake2b_and_xxhash64_volumes_are_verified() {
    // The mkfs.btrfs --csum sha256 / blake2 / xxhash images: dump-super names the algorithm, the volume
    // has no "not verified" note, every file matched the manifest (check_all); a flipped byte in
    // a data sector of /random.bin is an error naming the file, the sector's logical address and
    // both checksums (computed here with sha2 / blake2 / twox-hash over the original and the
    // flipped sector); tree blocks and the superblock are verified with the same algorithm.
    let dir = fixture_dir();
    let m = manifest(&dir);
    for (name, algo) in [
        ("sha256", "sha256"),
        ("blake2", "blake2b"),
        ("xxhash", "xxhash64"),
    ] {
        let img = image_named(&m, name);
        assert_eq!(img["csum"], algo);
        let sup = std::fs::read_to_string(dir.join(format!("listings/{name}.super.txt"))).unwrap();
        let csum_type = sup
            .lines()
            .find(|l| l.starts_with("csum_type"))
            .unwrap_or_else(|| panic!("{name}: no csum_type line"));
        assert!(csum_type.ends_with(&format!("({algo})")), "{csum_type}");
        let check =
            std::fs::read_to_string(dir.join(format!("listings/{name}.check.txt"))).unwrap();
        assert!(check.contains("no error found"), "{name}: {check}");
        let (orig_bytes, fs) = open_image(&dir, &img);
        let notes = fs.volume_info().notes.join("; ");
        assert!(!notes.contains("not verified"), "{name}: {notes}");
        let path = "/random.bin";
        let ino = fs.metadata(path).unwrap().inode.unwrap();
        let orig = fs.read(path, u64::MAX >> 1).unwrap();
        assert_eq!(orig.len(), 49152);
        drop(fs);
        let (root, level) = fs_tree_root(&orig_bytes);
        let (copies, d) = find_item(&orig_bytes, root, level, (ino, 108, 0)).unwrap();
        let e = copies[0] + d;
        assert_eq!(orig_bytes[e + 20], 1, "{name}: first extent is regular");
        assert_eq!(orig_bytes[e + 16], 0, "{name}: not compressed");
        let disk_bytenr = u64_at(&orig_bytes, e + 21);
        let sector = disk_bytenr + 4096;
        let mut b = orig_bytes.clone();
        let data_copies = physical(&b, sector);
        assert!(!data_copies.is_empty());
        let good = b[data_copies[0]..data_copies[0] + 4096].to_vec();
        for &p in &data_copies {
            b[p + 100] ^= 0x01;
        }
        let bad = b[data_copies[0]..data_copies[0] + 4096].to_vec();
        let fs = imgcheck_fs::open(src(b.clone()), &Limits::default()).unwrap();
        let err = fs.read(path, u64::MAX >> 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{name}: {err}");
        let err = err.to_string();
        let want = format!(
            "data checksum mismatch at logical {sector}: expected {algo} {}, computed {}",
            csum_hex(algo, &good),
            csum_hex(algo, &bad)
        );
        assert!(
            err.contains(path) && err.contains(&want),
            "{name}: {err}\nwanted: {want}"
        );
        // The sector before the bad one still reads; so does every other file.
        assert_eq!(fs.read(path, 4096).unwrap(), orig[..4096]);
        assert_eq!(
            fs.read("/hello.txt", 1 << 20).unwrap(),
            b"hello, imgcheck\n"
        );
        drop(fs);

        // Tree blocks: one copy of the fs tree root bad is rescued by DUP; every copy bad is a
        // checksum error naming the algorithm.
        let tree_copies = physical(&orig_bytes, root);
        let mut one = orig_bytes.clone();
        one[tree_copies[0] + 200] ^= 0x55;
        if tree_copies.len() > 1 {
            assert!(exercise(one).is_ok(), "{name}: DUP copy");
        } else {
            assert_eq!(exercise(one).unwrap_err().kind(), ErrorKind::Corrupt);
        }
        let mut all = orig_bytes.clone();
        for &c in &tree_copies {
            all[c + 200] ^= 0x55;
        }
        let e = exercise(all).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("tree block at logical {root}"))
                && msg.contains(&format!("checksum mismatch: stored {algo} ")),
            "{name}: {msg}"
        );

        // Superblock: a bad primary falls back to the mirror; both bad is an error.
        let mut sb = orig_bytes.clone();
        sb[SB + 0x100] ^= 0xff;
        let fs = imgcheck_fs::open(src(sb.clone()), &Limits::default()).unwrap();
        let notes = fs.volume_info().notes.join("; ");
        assert!(notes.contains("offset 67108864"), "{name}: {notes}");
        assert_eq!(fs.read(path, u64::MAX >> 1).unwrap(), orig);
        drop(fs);
        sb[0x400_0000 + 0x100] ^= 0xff;
        let e = imgcheck_fs::open_as(src(sb), FsType::Btrfs, &Limits::default())
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(
            e.to_string()
                .contains(&format!("checksum mismatch: stored {algo} ")),
            "{name}: {e}"
        );
    }
}

// ---- live --------------------------------------------------------------------------------------

const TOOLS: &[&str] = &[
    "mkfs.btrfs",
    "btrfs",
    "btrfs-map-logical",
    "zstd",
    "python3",
];

fn have(tool: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .any(|d| Path::new(d).join(tool).is_file());
    found
}

#[test]
fn live_fresh_images_match_btrfs_progs() {
    let missing: Vec<&str> = TOOLS.iter().copied().filter(|t| !have(t)).collect();
    let new_enough = missing.is_empty()
        && Command::new("mkfs.btrfs")
            .arg("--help")
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout).contains("--compress")
                    || String::from_utf8_lossy(&o.stderr).contains("--compress")
            })
            .unwrap_or(false);
    if !missing.is_empty() || !new_enough {
        let why = if missing.is_empty() {
            "mkfs.btrfs without --compress/--subvol (btrfs-progs < 6.13)".to_string()
        } else {
            format!("{} missing", missing.join(", "))
        };
        if std::env::var_os("CI").is_some() {
            panic!("live btrfs fixture parity under CI: {why}");
        }
        eprintln!("SKIPPED: {why} (live btrfs fixture parity)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(root.join("scripts/make-btrfs-fixtures.sh"))
        .arg(out.path())
        .status()
        .expect("run make-btrfs-fixtures.sh");
    assert!(status.success(), "make-btrfs-fixtures.sh failed: {status}");
    let (images, files) = check_all(out.path());
    assert_eq!(images, 9);
    assert!(files > 9 * 20);
}

// ---- benchmark -------------------------------------------------------------------------------

/// Read every file of the Btrfs image named by `BTRFS_BENCH_IMAGE` (not committed; built by
/// `mkfs.btrfs --rootdir` from ~1 GiB of files, see docs/benchmarks.md) and print the time:
/// `BTRFS_BENCH_IMAGE=/work/bench-data/btrfs-1g.img cargo test --release -p imgcheck-fs
/// --test btrfs bench_read_every_file -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark: needs BTRFS_BENCH_IMAGE"]
fn bench_read_every_file() {
    let path = std::env::var("BTRFS_BENCH_IMAGE").expect("BTRFS_BENCH_IMAGE");
    let t0 = std::time::Instant::now();
    let s: Arc<dyn BlockSource> =
        Arc::new(imgcheck_core::FileSource::open(Path::new(&path)).unwrap());
    let fs = imgcheck_fs::open(s, &Limits::default()).unwrap();
    let mut files = 0u64;
    let mut bytes = 0u64;
    let mut stack = vec!["/".to_string()];
    while let Some(d) = stack.pop() {
        for e in fs.read_dir(&d).unwrap() {
            let p = if d == "/" {
                format!("/{}", e.name)
            } else {
                format!("{d}/{}", e.name)
            };
            match e.file_type {
                FileType::Dir => stack.push(p),
                FileType::File => {
                    bytes += fs.read(&p, u64::MAX >> 1).unwrap().len() as u64;
                    files += 1;
                }
                _ => {}
            }
        }
    }
    let dt = t0.elapsed();
    println!(
        "btrfs bench: {files} files, {bytes} bytes in {:.2} s ({:.0} MiB/s)",
        dt.as_secs_f64(),
        bytes as f64 / 1048576.0 / dt.as_secs_f64()
    );
    assert!(files > 0);
}
