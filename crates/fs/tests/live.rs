//! Live parity: run scripts/make-fs-fixtures.sh with the real tools into a temporary directory
//! and compare what our API reads with the manifest and with what `fls -r -p` and `debugfs` say
//! about those freshly made images. Fails under CI when a tool is missing; prints a loud
//! SKIPPED line otherwise.
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

use std::path::Path;
use std::process::Command;

/// Tools the script needs (Debian packages: e2fsprogs dosfstools mtools ntfs-3g wimtools
/// sleuthkit cryptsetup-bin util-linux gzip python3).
const TOOLS: &[&str] = &[
    "mkfs.ext4",
    "mkfs.ext3",
    "mkfs.ext2",
    "debugfs",
    "mkfs.fat",
    "mcopy",
    "mdir",
    "mshowfat",
    "mkntfs",
    "wimcapture",
    "wimapply",
    "ntfsls",
    "ntfscp",
    "fls",
    "mkswap",
    "cryptsetup",
    "gzip",
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
fn fresh_images_match_independent_tools() {
    let missing: Vec<&str> = TOOLS.iter().copied().filter(|t| !have(t)).collect();
    if !missing.is_empty() {
        if std::env::var_os("CI").is_some() {
            panic!("tools missing under CI: {}", missing.join(", "));
        }
        eprintln!(
            "SKIPPED: {} missing (live fs fixture parity)",
            missing.join(", ")
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(root.join("scripts/make-fs-fixtures.sh"))
        .arg(out.path())
        .status()
        .expect("run make-fs-fixtures.sh");
    assert!(status.success(), "make-fs-fixtures.sh failed: {status}");
    // The script copies the committed tree itself; the check compares our reads with the
    // manifest and with the fls/debugfs listings it just produced.
    let (images, files) = common::check_all(out.path());
    assert_eq!(images, 11);
    assert_eq!(files, 11 * 1010);
}
