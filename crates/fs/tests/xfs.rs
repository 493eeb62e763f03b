//! XFS fixtures (testdata/xfs, made by scripts/make-xfs-fixtures.sh) read through the public API:
//! every file against the manifest (type, size, sha256, symlink target, mode, uid, gid, flags),
//! every directory against `xfs_db ls`, the on-disk forms the fixtures claim to cover (as
//! `xfs_db` reports them), the clean/dirty log state (as `xfs_repair -n` reports it), limits;
//! regular files whose data fork is an extent B-tree (xfs-v5-btree, levels 1 and 2) against
//! their source and `xfs_db`'s inode print, with corrupt B-tree blocks;
//! plus a live run of the script when xfsprogs is installed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    missing_docs
)]

use flate2::read::GzDecoder;
use imgcheck_core::{BlockSource, ErrorKind, FileSource, Limits};
use imgcheck_fs::{FileType, FsError, FsType, GuestFs, Probed, VolumeState};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/xfs")
}

fn gunzip_text(path: &Path) -> String {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut s = String::new();
    GzDecoder::new(f).read_to_string(&mut s).unwrap();
    s
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&gunzip_text(&dir.join("manifest.json.gz"))).unwrap()
}

/// Decompress an image into a temporary file (the v5 image is 320 MiB).
fn image(dir: &Path, name: &str) -> (tempfile::NamedTempFile, Arc<dyn BlockSource>) {
    let mut tmp = tempfile::NamedTempFile::new().unwrap();
    let f = std::fs::File::open(dir.join(format!("{name}.img.gz"))).unwrap();
    std::io::copy(&mut GzDecoder::new(f), tmp.as_file_mut()).unwrap();
    let src: Arc<dyn BlockSource> = Arc::new(FileSource::open(tmp.path()).unwrap());
    (tmp, src)
}

fn sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Every path with its type and inode, through the API.
fn walk(fs: &dyn GuestFs) -> BTreeMap<String, (FileType, Option<u64>)> {
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

/// `xfs_db -c 'ls DIR'` output: dir → name → (inode, type word), without `.` and `..`.
fn parse_xfs_db_ls(text: &str) -> BTreeMap<String, BTreeMap<String, (u64, String)>> {
    let mut out: BTreeMap<String, BTreeMap<String, (u64, String)>> = BTreeMap::new();
    let mut cur = String::new();
    for line in text.lines() {
        if let Some(d) = line.strip_suffix(':') {
            cur = d.to_string();
            out.entry(cur.clone()).or_default();
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        // offset inode type hash namelen name (good)
        if f.len() != 7 || f[6] != "(good)" {
            panic!("unexpected xfs_db line {line:?}");
        }
        if f[5] == "." || f[5] == ".." {
            continue;
        }
        out.get_mut(&cur)
            .unwrap()
            .insert(f[5].to_string(), (f[1].parse().unwrap(), f[2].to_string()));
    }
    out
}

/// Check one image against the manifest and the xfs_db listings; returns files compared.
fn check_image(dir: &Path, img: &Value, files: &[Value]) -> usize {
    let name = img["name"].as_str().unwrap();
    let small = img["small"].as_bool().unwrap();
    let (_tmp, src) = image(dir, name);
    assert_eq!(src.len(), img["image_bytes"].as_u64().unwrap());
    assert_eq!(
        imgcheck_fs::probe(&*src).unwrap(),
        Probed::Filesystem(FsType::Xfs)
    );
    let fs = imgcheck_fs::open(src, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let info = fs.volume_info();
    assert_eq!(info.fs_type, FsType::Xfs);
    assert_eq!(info.uuid.as_deref(), img["uuid"].as_str(), "{name}: uuid");
    assert_eq!(
        info.label.as_deref(),
        img["label"].as_str(),
        "{name}: label"
    );
    assert_eq!(
        info.size_bytes,
        img["image_bytes"].as_u64().unwrap(),
        "{name}: size"
    );
    assert_eq!(info.block_size, 4096);
    let free = info.free_bytes.unwrap();
    assert!(free > 0 && free < info.size_bytes, "{name}: free {free}");
    assert!(info.free_inodes.is_some());
    let version = img["version"].as_u64().unwrap();
    assert!(
        info.features.contains(&format!("version {version}")),
        "{:?}",
        info.features
    );
    assert_eq!(info.features.contains(&"crc".to_string()), version == 5);
    assert_eq!(
        info.features.contains(&"ftype".to_string()),
        img["ftype"].as_bool().unwrap(),
        "{name}: {:?}",
        info.features
    );
    if version == 5 {
        assert!(info.features.contains(&"bigtime".to_string()));
    }
    // Log state, as xfs_repair -n says it.
    let repair =
        std::fs::read_to_string(dir.join(format!("listings/{name}.xfs_repair.txt"))).unwrap();
    let repair_dirty = repair.contains("valuable metadata changes in a log");
    match img["state"].as_str().unwrap() {
        "dirty" => {
            assert!(repair_dirty);
            assert_eq!(info.state, VolumeState::Dirty, "{name}");
            assert_eq!(info.notes, vec!["log not replayed".to_string()]);
        }
        _ => {
            assert!(!repair_dirty);
            assert_eq!(info.state, VolumeState::Clean, "{name}");
            assert!(info.notes.is_empty(), "{name}: {:?}", info.notes);
        }
    }

    let expected: Vec<&Value> = files
        .iter()
        .filter(|f| !small || f["in_small"].as_bool().unwrap())
        .collect();
    let listed = walk(&*fs);
    let want: BTreeSet<&str> = expected
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    let got: BTreeSet<&str> = listed.keys().map(String::as_str).collect();
    assert_eq!(got, want, "{name}: listing differs from the manifest");

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
        assert_eq!(m.inode, listed[p].1, "{name}: inode of {p}");
        assert_eq!(
            m.mode,
            Some(f["mode"].as_u64().unwrap() as u32),
            "{name}: mode of {p}"
        );
        assert_eq!(
            m.uid,
            Some(f["uid"].as_u64().unwrap() as u32),
            "{name}: uid of {p}"
        );
        assert_eq!(
            m.gid,
            Some(f["gid"].as_u64().unwrap() as u32),
            "{name}: gid of {p}"
        );
        assert!(m.links.unwrap() >= 1, "{name}: links of {p}");
        // mkfs stamps the wall clock: any time after 2020 is right.
        assert!(
            m.mtime.unwrap() > 1_577_836_800,
            "{name}: mtime of {p}: {:?}",
            m.mtime
        );
        assert_eq!(m.crtime.is_some(), version == 5, "{name}: crtime of {p}");
        let flags: Vec<&str> = f["flags"]
            .as_array()
            .map(|a| a.iter().map(|x| x.as_str().unwrap()).collect())
            .unwrap_or_default();
        assert_eq!(
            m.flags.immutable,
            flags.contains(&"immutable"),
            "{name}: flags of {p}"
        );
        assert_eq!(
            m.flags.append_only,
            flags.contains(&"append"),
            "{name}: flags of {p}"
        );
        match want_type {
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
                let t = fs
                    .read_link(p)
                    .unwrap_or_else(|e| panic!("{name}: read_link {p}: {e}"));
                assert_eq!(t, f["target"].as_str().unwrap(), "{name}: target of {p}");
                assert_eq!(m.size, f["size"].as_u64().unwrap());
                let e = fs.read(p, 10).unwrap_err();
                assert!(
                    matches!(e, FsError::WrongType { .. }),
                    "{name}: read {p}: {e}"
                );
            }
            _ => {}
        }
    }
    assert_eq!(fs.metadata("/secret.txt").unwrap().flags.raw & 0x8, 0x8);
    // Path rules.
    assert_eq!(fs.read("/docs/lorem.txt", 10).unwrap().len(), 10);
    assert_eq!(
        fs.metadata("/no/such").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(fs.read("/HELLO.TXT", 10).is_err(), "case-sensitive");
    assert!(matches!(
        fs.metadata("/fastlink/x").unwrap_err(),
        FsError::SymlinkInPath { .. }
    ));
    assert!(matches!(
        fs.metadata("/hello.txt/x").unwrap_err(),
        FsError::NotADirectory { .. }
    ));
    assert!(matches!(
        fs.read("/docs", 10).unwrap_err(),
        FsError::IsADirectory { .. }
    ));
    assert!(matches!(
        fs.read_link("/hello.txt").unwrap_err(),
        FsError::WrongType { .. }
    ));
    // /holes.bin: data, hole, unwritten, data.
    let h = fs.read("/holes.bin", u64::MAX).unwrap();
    assert_eq!(h.len(), 16 * 4096);
    for (i, block) in h.chunks(4096).enumerate() {
        let want = if (4..12).contains(&i) {
            0
        } else {
            b'A' + i as u8
        };
        assert!(
            block.iter().all(|&b| b == want),
            "{name}: block {i} of /holes.bin"
        );
    }

    // Every directory against xfs_db ls.
    let ls = parse_xfs_db_ls(&gunzip_text(
        &dir.join(format!("listings/{name}.xfs_db-ls.txt.gz")),
    ));
    let dirs: Vec<&str> = expected
        .iter()
        .filter(|f| f["type"] == "dir")
        .map(|f| f["path"].as_str().unwrap())
        .chain(["/"])
        .collect();
    assert_eq!(ls.len(), dirs.len(), "{name}: directories listed by xfs_db");
    for d in dirs {
        let theirs = &ls[d];
        let ours = fs.read_dir(d).unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}: entries of {d} vs xfs_db");
        for e in ours {
            let (ino, t) = &theirs[&e.name];
            assert_eq!(
                e.inode,
                Some(*ino),
                "{name}: inode of {d}/{} vs xfs_db",
                e.name
            );
            let want = match t.as_str() {
                "regular" => Some(FileType::File),
                "directory" => Some(FileType::Dir),
                "symlink" => Some(FileType::Symlink),
                "unknown" => None, // no ftype field (v4 ftype=0): xfs_db does not look
                other => panic!("xfs_db type {other}"),
            };
            if let Some(w) = want {
                assert_eq!(e.file_type, w, "{name}: type of {d}/{} vs xfs_db", e.name);
            }
        }
    }
    compared
}

/// The forms the fixtures claim, as xfs_db reports them (so the tests above cover them).
fn check_forms(dir: &Path, name: &str) {
    let text = std::fs::read_to_string(dir.join(format!("listings/{name}.forms.txt"))).unwrap();
    let mut sections: BTreeMap<String, String> = BTreeMap::new();
    let mut cur = String::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("== ") {
            cur = p.to_string();
        } else {
            sections
                .entry(cur.clone())
                .or_default()
                .push_str(&format!("{line}\n"));
        }
    }
    let leaf_blk = (32u64 << 30) / 4096;
    let free_blk = (64u64 << 30) / 4096;
    let offsets = |p: &str| -> Vec<u64> {
        sections[p]
            .lines()
            .filter_map(|l| l.strip_prefix("data offset "))
            .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
            .collect()
    };
    assert!(
        sections["/dirs/sf"].contains("core.format = 1 (local)"),
        "{name}"
    );
    assert!(sections["/dirs/block"].contains("core.format = 2 (extents)"));
    assert!(
        offsets("/dirs/block").iter().all(|&o| o < leaf_blk),
        "block form: one data block"
    );
    let leaf = offsets("/dirs/leaf");
    assert!(
        leaf.iter().any(|&o| o >= leaf_blk) && leaf.iter().all(|&o| o < free_blk),
        "leaf form"
    );
    assert!(
        sections["/dirs/node"].contains("core.format = 3 (btree)"),
        "{name}: B-tree fork"
    );
    assert!(
        offsets("/dirs/node").iter().any(|&o| o >= free_blk),
        "node form: free index"
    );
    assert!(
        sections["/remotelink"].contains("core.format = 2 (extents)"),
        "remote symlink"
    );
    assert!(
        sections["/fastlink"].contains("core.format = 1 (local)"),
        "local symlink"
    );
    assert!(
        sections["/holes.bin"].contains("flag 1"),
        "unwritten extent"
    );
}

fn check_all(dir: &Path) -> (usize, usize) {
    let m = manifest(dir);
    let files = m["files"].as_array().unwrap().clone();
    let mut images = 0;
    let mut compared = 0;
    for img in m["images"].as_array().unwrap() {
        compared += check_image(dir, img, &files);
        images += 1;
    }
    check_forms(dir, "xfs-v5");
    check_forms(dir, "xfs-v4");
    (images, compared)
}

/// Regular files in the full tree: 8 committed-tree files, empty, holes, appendonly, and
/// 5 + 50 + 300 + 3000 in /dirs; the small (dirty) image lacks /dirs.
const FILES_FULL: usize = 11 + 3355;
const FILES_SMALL: usize = 11;

#[test]
fn every_fixture_matches_manifest_and_xfs_db() {
    let (images, files) = check_all(&fixture_dir());
    assert_eq!(images, 3);
    assert_eq!(files, 2 * FILES_FULL + FILES_SMALL);
}

#[test]
fn limits_are_enforced() {
    let (_tmp, src) = image(&fixture_dir(), "xfs-v4");
    let limits = Limits {
        max_dir_entries: 100,
        max_file_bytes: 1000,
        ..Limits::default()
    };
    let fs = imgcheck_fs::open(src, &limits).unwrap();
    assert_eq!(fs.read_dir("/dirs/block").unwrap().len(), 50);
    let e = fs.read_dir("/dirs/node").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
    assert_eq!(fs.read("/holes.bin", 500).unwrap().len(), 500);
    let e = fs.read("/holes.bin", u64::MAX).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
}

/// Tools the script needs (Debian packages: xfsprogs gzip zstd python3 cpio; for the B-tree
/// image also xfsprogs >= 6.13, else apt-get and dpkg-deb with network access to Debian trixie,
/// from which the script fetches it unpacked, see its header).
const TOOLS: &[&str] = &[
    "mkfs.xfs",
    "xfs_db",
    "xfs_repair",
    "gzip",
    "zstd",
    "python3",
    "cpio",
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
fn live_fresh_images_match_xfs_db() {
    let missing: Vec<&str> = TOOLS.iter().copied().filter(|t| !have(t)).collect();
    if !missing.is_empty() {
        if std::env::var_os("CI").is_some() {
            panic!("tools missing under CI: {}", missing.join(", "));
        }
        eprintln!(
            "SKIPPED: {} missing (live XFS fixture parity)",
            missing.join(", ")
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(root.join("scripts/make-xfs-fixtures.sh"))
        .arg(out.path())
        .status()
        .expect("run make-xfs-fixtures.sh");
    assert!(status.success(), "make-xfs-fixtures.sh failed: {status}");
    let (images, files) = check_all(out.path());
    assert_eq!(images, 3);
    assert_eq!(files, 2 * FILES_FULL + FILES_SMALL);
    assert_eq!(check_btree_image(out.path()), 4);
}

/// Read-speed benchmark (not a check; run by hand, see the project's benchmarks document):
/// `XFS_BENCH_IMAGE=/path/xfs.img cargo test --release -p imgcheck-fs --test xfs -- --ignored
/// --nocapture bench`. Opens the image, walks it and reads every regular file in full.
#[test]
#[ignore = "benchmark: needs XFS_BENCH_IMAGE=/path/to/an/xfs/image"]
fn bench_read_every_file() {
    let path = std::env::var("XFS_BENCH_IMAGE").expect("set XFS_BENCH_IMAGE");
    let t0 = std::time::Instant::now();
    let src: Arc<dyn BlockSource> = Arc::new(FileSource::open(Path::new(&path)).unwrap());
    let fs = imgcheck_fs::open(src, &Limits::default()).unwrap();
    let listed = walk(&*fs);
    let t_walk = t0.elapsed();
    let (mut files, mut bytes) = (0u64, 0u64);
    for (p, (t, _)) in &listed {
        if *t == FileType::File {
            let data = fs.read(p, u64::MAX).unwrap();
            assert_eq!(data.len() as u64, fs.metadata(p).unwrap().size);
            files += 1;
            bytes += data.len() as u64;
        }
    }
    let total = t0.elapsed().as_secs_f64();
    println!(
        "XFS bench: {} entries listed in {:.2} s; {files} files, {:.1} MiB read; total {total:.2} s, {:.0} MB/s",
        listed.len(),
        t_walk.as_secs_f64(),
        bytes as f64 / 1048576.0,
        bytes as f64 / 1e6 / total
    );
}

// ---- extent B-tree regular files (xfs-v5-btree, mkfs.xfs 6.13) ---------------------------------

/// Decompress the zstd image into a temporary file (320 MiB, mostly zeros).
fn image_zst(dir: &Path, file: &str) -> (tempfile::NamedTempFile, Arc<dyn BlockSource>) {
    let mut tmp = tempfile::NamedTempFile::new().unwrap();
    let f = std::fs::File::open(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut r = std::io::BufReader::new(f);
    let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut r).unwrap();
    std::io::copy(&mut dec, tmp.as_file_mut()).unwrap();
    let src: Arc<dyn BlockSource> = Arc::new(FileSource::open(tmp.path()).unwrap());
    (tmp, src)
}

fn read_at(src: &dyn BlockSource, off: u64, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    src.read_exact_at(&mut b, off).unwrap();
    b
}

/// Superblock geometry: (block size, AG blocks, inode size, inopblog, agblklog).
fn xfs_geometry(src: &dyn BlockSource) -> (u64, u64, u64, u32, u32) {
    let sb = read_at(src, 0, 512);
    let be32 = |o: usize| u32::from_be_bytes(sb[o..o + 4].try_into().unwrap()) as u64;
    let inodesize = u16::from_be_bytes(sb[104..106].try_into().unwrap()) as u64;
    (be32(4), be32(84), inodesize, sb[123] as u32, sb[124] as u32)
}

/// Byte offset of filesystem block `fsb` (AG number in the high bits).
fn fsb_offset(src: &dyn BlockSource, fsb: u64) -> u64 {
    let (bs, agblocks, _, _, agblklog) = xfs_geometry(src);
    ((fsb >> agblklog) * agblocks + (fsb & ((1 << agblklog) - 1))) * bs
}

/// Byte offset of inode `ino`, read straight from the image (independent of the reader).
fn inode_offset(src: &dyn BlockSource, ino: u64) -> u64 {
    let (_, _, inodesize, inopblog, agblklog) = xfs_geometry(src);
    let fsb_bits = ino >> inopblog;
    let agno = fsb_bits >> agblklog;
    let agbno = fsb_bits & ((1 << agblklog) - 1);
    let (bs, agblocks, ..) = xfs_geometry(src);
    let within = ino & ((1 << inopblog) - 1);
    (agno * agblocks + agbno) * bs + within * inodesize
}

/// The first child pointer of the inode's data-fork B-tree root (v3 inode, no attribute fork).
fn bmbt_root_ptr(src: &dyn BlockSource, ino: u64) -> (u16, u64) {
    let (_, _, inodesize, ..) = xfs_geometry(src);
    let at = inode_offset(src, ino);
    let inode = read_at(src, at, inodesize as usize);
    assert_eq!(&inode[0..2], b"IN");
    assert_eq!(inode[4], 3, "v3 inode");
    assert_eq!(inode[82], 0, "no attribute fork (forkoff 0)");
    let fork = &inode[176..];
    let level = u16::from_be_bytes(fork[0..2].try_into().unwrap());
    let maxrecs = (fork.len() - 4) / 16;
    let p = 4 + maxrecs * 8;
    (
        level,
        u64::from_be_bytes(fork[p..p + 8].try_into().unwrap()),
    )
}

/// Every file of the B-tree image against the manifest (size, mode, sha256 of the source tree),
/// and each B-tree file really in B-tree format: `di_format` read from the image is 3 and
/// `xfs_db -c "inode N" -c print` (recorded by the script) says `core.format = 3 (btree)` with
/// the manifest's extent count and B-tree level. Returns the files compared.
fn check_btree_image(dir: &Path) -> usize {
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("xfs-v5-btree.json")).unwrap())
            .unwrap();
    let img = &m["image"];
    let (_tmp, src) = image_zst(dir, img["file"].as_str().unwrap());
    assert_eq!(src.len(), img["image_bytes"].as_u64().unwrap());
    assert_eq!(
        imgcheck_fs::probe(&*src).unwrap(),
        Probed::Filesystem(FsType::Xfs)
    );
    let fs = imgcheck_fs::open(src.clone(), &Limits::default()).unwrap();
    let info = fs.volume_info();
    assert_eq!(info.uuid.as_deref(), img["uuid"].as_str());
    assert_eq!(info.label.as_deref(), img["label"].as_str());
    assert_eq!(info.state, VolumeState::Clean);
    let listing = std::fs::read_to_string(dir.join("listings/xfs-v5-btree.inodes.txt")).unwrap();
    let sections: BTreeMap<String, String> = listing
        .split("== ")
        .skip(1)
        .map(|s| {
            let (head, body) = s.split_once('\n').unwrap();
            (
                head.split(' ').next().unwrap().to_string(),
                body.to_string(),
            )
        })
        .collect();
    let files = m["files"].as_array().unwrap();
    let names: BTreeSet<String> = fs
        .read_dir("/")
        .unwrap()
        .into_iter()
        .map(|e| format!("/{}", e.name))
        .collect();
    let want: BTreeSet<String> = files
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, want);
    let mut btree_files = 0;
    for f in files {
        let p = f["path"].as_str().unwrap();
        let md = fs.metadata(p).unwrap();
        assert_eq!(md.file_type, FileType::File);
        assert_eq!(md.size, f["size"].as_u64().unwrap(), "{p} size");
        assert_eq!(
            md.mode,
            Some(f["mode"].as_u64().unwrap() as u32),
            "{p} mode"
        );
        let ino = f["inode"].as_u64().unwrap();
        assert_eq!(md.inode, Some(ino), "{p} inode");
        let data = fs
            .read(p, u64::MAX >> 1)
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(data.len() as u64, md.size, "{p} read length");
        assert_eq!(sha256(&data), f["sha256"].as_str().unwrap(), "{p} sha256");
        let sec = &sections[p];
        let di_format = read_at(&*src, inode_offset(&*src, ino) + 5, 1)[0];
        if f["format"] == "btree" {
            btree_files += 1;
            assert_eq!(di_format, 3, "{p}: di_format on disk");
            assert!(sec.contains("core.format = 3 (btree)\n"), "{p}: {sec}");
            let n = f["nextents"].as_u64().unwrap();
            assert!(
                sec.contains(&format!("core.nextents = {n}\n")),
                "{p}: {sec}"
            );
            let level = f["bmbt_level"].as_u64().unwrap();
            assert!(
                sec.contains(&format!("u3.bmbt.level = {level}\n")),
                "{p}: {sec}"
            );
            assert_eq!(bmbt_root_ptr(&*src, ino).0 as u64, level, "{p}: root level");
            // Holes read as zeros: block 0 and every other block; data blocks name themselves.
            let name = p.trim_start_matches('/');
            assert!(data[..4096].iter().all(|&b| b == 0), "{p}: leading hole");
            assert!(data[8192..12288].iter().all(|&b| b == 0), "{p}: hole");
            assert!(
                data[4096..].starts_with(format!("{name} block 000000 of {n}\n").as_bytes()),
                "{p}: first data block"
            );
            let last = (2 * (n as usize) - 1) * 4096;
            assert!(
                data[last..].starts_with(format!("{name} block {:06} of {n}\n", n - 1).as_bytes()),
                "{p}: last data block"
            );
            assert!(
                data[last + 4096..].iter().all(|&b| b == 0),
                "{p}: trailing hole"
            );
        } else {
            assert_eq!(di_format, 2, "{p}: di_format on disk");
            assert!(sec.contains("core.format = 2 (extents)\n"), "{p}: {sec}");
        }
    }
    assert_eq!(btree_files, 3);
    files.len()
}

#[test]
fn extent_btree_files_match_the_source() {
    assert_eq!(check_btree_image(&fixture_dir()), 4);
}

#[test]
fn corrupt_extent_btree_blocks_are_errors() {
    // The bmbt leaf of /btree-small.bin (level 1: the inode root points at one leaf, block 25 per
    // xfs_db): a bad magic and a flipped record byte (v5 CRC) are corruption errors naming the
    // block, never a panic; a level-2 tree whose node points at itself ends with an error, not a
    // hang; the other files still read.
    let dir = fixture_dir();
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("xfs-v5-btree.json")).unwrap())
            .unwrap();
    let ino_of = |p: &str| {
        m["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .unwrap()["inode"]
            .as_u64()
            .unwrap()
    };
    let (tmp, src) = image_zst(&dir, m["image"]["file"].as_str().unwrap());
    let listing = std::fs::read_to_string(dir.join("listings/xfs-v5-btree.inodes.txt")).unwrap();
    let (level, leaf) = bmbt_root_ptr(&*src, ino_of("/btree-small.bin"));
    assert_eq!(level, 1);
    assert!(
        listing.contains(&format!("u3.bmbt.ptrs[1] = {leaf}\n")),
        "{listing}"
    );
    let leaf_at = fsb_offset(&*src, leaf);
    assert_eq!(read_at(&*src, leaf_at, 4), b"BMA3");
    let (dlevel, node) = bmbt_root_ptr(&*src, ino_of("/btree-deep.bin"));
    assert_eq!(dlevel, 2);
    let node_at = fsb_offset(&*src, node);
    let orig = std::fs::read(tmp.path()).unwrap();
    drop(src);
    let open = |bytes: Vec<u8>| {
        imgcheck_fs::open(
            Arc::new(imgcheck_core::MemSource::new(bytes)),
            &Limits::default(),
        )
        .unwrap()
    };
    let reseal = |b: &mut [u8], at: usize| {
        b[at + 64..at + 68].fill(0);
        let c = crc32c::crc32c(&b[at..at + 4096]);
        b[at + 64..at + 68].copy_from_slice(&c.to_le_bytes());
    };
    let at = leaf_at as usize;
    // Bad magic (CRC resealed so that the magic check itself is reached).
    let mut b = orig.clone();
    b[at] = b'X';
    reseal(&mut b, at);
    let fs = open(b);
    let e = fs.read("/btree-small.bin", u64::MAX >> 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("extent B-tree block {leaf}")) && msg.contains("magic"),
        "{msg}"
    );
    assert!(fs.read("/btree.bin", u64::MAX >> 1).is_ok());
    drop(fs);
    // A flipped byte in the records, CRC not resealed.
    let mut b = orig.clone();
    b[at + 72 + 3] ^= 0x40;
    let fs = open(b);
    let e = fs.read("/btree-small.bin", u64::MAX >> 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
    assert_eq!(fs.read("/readme.txt", 1000).unwrap().len(), 57);
    drop(fs);
    // The level-1 node of the deep file points at itself (resealed): an error, not a hang.
    let nat = node_at as usize;
    assert_eq!(&orig[nat..nat + 4], b"BMA3");
    assert_eq!(
        u16::from_be_bytes(orig[nat + 4..nat + 6].try_into().unwrap()),
        1
    );
    let mut b = orig;
    let maxrecs = (4096 - 72) / 16;
    let p = nat + 72 + maxrecs * 8;
    b[p..p + 8].copy_from_slice(&node.to_be_bytes());
    reseal(&mut b, nat);
    let fs = open(b);
    let e = fs.read("/btree-deep.bin", u64::MAX >> 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    assert!(
        e.to_string()
            .contains(&format!("extent B-tree block {node}")),
        "{e}"
    );
    assert!(fs.read("/btree-small.bin", u64::MAX >> 1).is_ok());
}
