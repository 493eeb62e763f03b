//! A directory that is its own descendant: `imgcheck ls -R` reports the loop and lists the rest.
//!
//! The image is the committed FAT16 fixture (mkfs.fat + mcopy, `scripts/make-fs-fixtures.sh`)
//! with one byte pair changed: the first cluster of `/deep/a/b`'s directory entry is set to the
//! cluster of `/deep` (both from the committed `mshowfat` listing), so `/deep/a/b` *is* `/deep`
//! and the tree below it never ends. Fuzzing found such images (a mutated entry named `.. *`
//! pointing back at its parent); before the FAT reader gave directories ids, `ls -R` recursed
//! until the path grew past 4 KiB or 100,000 directories had been listed, 20 s to minutes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]

mod common;

use common::{gunzip_into, imgcheck, repo_root, require_tools, tool_path};
use std::process::Command;

/// First cluster of each path, from `testdata/fs/listings/fat16.mshowfat.txt`.
fn mshowfat_cluster(path: &str) -> u16 {
    let text = std::fs::read_to_string(repo_root().join("testdata/fs/listings/fat16.mshowfat.txt"))
        .unwrap();
    let prefix = format!("::{path} <");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{path} not in the mshowfat listing"));
    let digits: String = line[prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

fn u16_at(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}

/// Point the entry named `short` (8.3, space-padded) in the directory at cluster `dir` to
/// cluster `target`. Geometry from the FAT16 boot sector.
fn relink(img: &mut [u8], dir: u16, short: &[u8; 11], target: u16) {
    let bps = u16_at(img, 11);
    let spc = img[13] as usize;
    let reserved = u16_at(img, 14);
    let fats = img[16] as usize;
    let root_entries = u16_at(img, 17);
    let spf = u16_at(img, 22);
    let data = (reserved + fats * spf) * bps + root_entries * 32;
    let at = data + (dir as usize - 2) * spc * bps;
    let slot = (0..spc * bps / 32)
        .map(|i| at + i * 32)
        .find(|&o| &img[o..o + 11] == short)
        .unwrap_or_else(|| panic!("no entry {short:?} in cluster {dir}"));
    img[slot + 26..slot + 28].copy_from_slice(&target.to_le_bytes());
}

/// `ls -R` output split into its `path:` sections.
fn sections(stdout: &[u8]) -> Vec<String> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .split("\n\n")
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn ls_recursive_reports_a_directory_cycle_and_lists_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let good = gunzip_into(
        &repo_root().join("testdata/fs/images/fat16.img.gz"),
        tmp.path(),
    );
    let mut bytes = std::fs::read(&good).unwrap();
    let (deep, a) = (mshowfat_cluster("/deep"), mshowfat_cluster("/deep/a"));
    relink(&mut bytes, a, b"B          ", deep);
    let bad = tmp.path().join("cycle.img");
    std::fs::write(&bad, &bytes).unwrap();

    let before = imgcheck(&["ls".as_ref(), "-R".as_ref(), good.as_os_str(), "/".as_ref()]);
    before.assert_ok();
    let after = imgcheck(&["ls".as_ref(), "-R".as_ref(), bad.as_os_str(), "/".as_ref()]);
    assert!(!after.timed_out && !after.over_cap, "{}", after.cmdline);
    assert_eq!(
        after.status.and_then(|s| s.code()),
        Some(2),
        "{}",
        after.stderr
    );
    assert_eq!(
        after.stderr.trim_end(),
        "imgcheck: ls: /deep/a/b: not listing the directory: it is /deep again (a directory \
         cycle in the filesystem)"
    );
    // Everything else is listed as before: every section but those of /deep/a/b and below,
    // and /deep/a still shows the entry `b`.
    let want: Vec<String> = sections(&before.stdout)
        .into_iter()
        .filter(|s| !s.starts_with("/deep/a/b:") && !s.starts_with("/deep/a/b/"))
        .collect();
    assert!(want.iter().any(|s| s == "/deep/a:\nb"), "{want:?}");
    assert_eq!(sections(&after.stdout), want);

    // The JSON listing stops at the same place and is still one valid document.
    let json = imgcheck(&[
        "ls".as_ref(),
        "-R".as_ref(),
        "--json".as_ref(),
        bad.as_os_str(),
        "/".as_ref(),
    ]);
    assert_eq!(
        json.status.and_then(|s| s.code()),
        Some(2),
        "{}",
        json.stderr
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let paths: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/deep/a/b"));
    assert!(
        !paths.iter().any(|p| p.starts_with("/deep/a/b/")),
        "{paths:?}"
    );

    // mtools agrees that /deep/a/b now starts at /deep's cluster.
    if require_tools("ls_recursive_reports_a_directory_cycle", &["mshowfat"]) {
        let out = Command::new(tool_path("mshowfat"))
            .arg("-i")
            .arg(&bad)
            .args(["::/deep", "::/deep/a/b"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [format!("::/deep <{deep}>"), format!("::/deep/a/b <{deep}>")],
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
