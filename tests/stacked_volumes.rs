//! `export`, `ls` and `cat` through LVM: logical volumes are volumes named `VG/LV`, exported byte
//! for byte as the fixture script recorded them; unreadable LVs are refused with the reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{gunzip_into, imgcheck, read_json, repo_root, sha256_file};
use std::path::PathBuf;

fn lvm_dir() -> PathBuf {
    repo_root().join("testdata/lvm")
}

/// The recorded sha256 of LV `name` in VG `vgsys`.
fn lv_sha(name: &str) -> String {
    let m = read_json(&lvm_dir().join("manifest.json"));
    m["volume_groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|vg| vg["lvs"].as_array().unwrap().iter())
        .find(|lv| lv["name"] == name)
        .and_then(|lv| lv["sha256"].as_str())
        .unwrap_or_else(|| panic!("no sha256 for LV {name} in the manifest"))
        .to_string()
}

#[test]
fn export_volume_vg_lv_matches_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let img = gunzip_into(&lvm_dir().join("lvm-gpt.img.gz"), dir.path());
    let out = dir.path().join("root.lv");
    imgcheck(&[
        "export".as_ref(),
        img.as_os_str(),
        "--volume".as_ref(),
        "vgsys/root".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
    .assert_ok();
    assert_eq!(sha256_file(&out), lv_sha("root"));

    // The striped LV has a stripe on the PV of the other disk: refused, naming the missing PV.
    let r = imgcheck(&[
        "export".as_ref(),
        img.as_os_str(),
        "--volume".as_ref(),
        "vgsys/data".as_ref(),
        "-o".as_ref(),
        dir.path().join("data.lv").as_os_str(),
    ]);
    assert_eq!(r.code(), Some(2), "{}", r.describe());
    let err = r.describe();
    assert!(err.contains("vgsys/data (striped) cannot be read"), "{err}");
    assert!(err.contains("missing from the image"), "{err}");
    // A thin pool is recognised and reported, not read.
    let r = imgcheck(&[
        "export".as_ref(),
        img.as_os_str(),
        "--volume".as_ref(),
        "vgsys/pool".as_ref(),
        "-o".as_ref(),
        dir.path().join("pool.lv").as_os_str(),
    ]);
    assert_eq!(r.code(), Some(2), "{}", r.describe());
    assert!(r.describe().contains("thin-pool"), "{}", r.describe());
    // An unknown name lists what there is.
    let r = imgcheck(&[
        "export".as_ref(),
        img.as_os_str(),
        "--volume".as_ref(),
        "vgsys/nope".as_ref(),
        "-o".as_ref(),
        dir.path().join("nope.lv").as_os_str(),
    ]);
    assert_eq!(r.code(), Some(2));
    assert!(r.describe().contains("vgsys/root"), "{}", r.describe());
}

#[test]
fn ls_and_cat_through_lvm() {
    let dir = tempfile::tempdir().unwrap();
    let img = gunzip_into(&lvm_dir().join("lvm-gpt.img.gz"), dir.path());
    // The guest's root is the LV; its fstab names /dev/mapper/vgsys-root.
    let fstab = imgcheck(&["cat".as_ref(), img.as_os_str(), "/etc/fstab".as_ref()]);
    fstab.assert_ok();
    assert!(
        fstab.stdout_str().contains("/dev/mapper/vgsys-root"),
        "{}",
        fstab.stdout_str()
    );
    // The same file through --volume VG/LV.
    let direct = imgcheck(&[
        "cat".as_ref(),
        img.as_os_str(),
        "/etc/fstab".as_ref(),
        "--volume".as_ref(),
        "vgsys/root".as_ref(),
    ]);
    direct.assert_ok();
    assert_eq!(direct.stdout_str(), fstab.stdout_str());
    let ls = imgcheck(&[
        "ls".as_ref(),
        img.as_os_str(),
        "/etc".as_ref(),
        "--volume".as_ref(),
        "vgsys/root".as_ref(),
    ]);
    ls.assert_ok();
    assert!(
        ls.stdout_str().lines().any(|l| l.trim() == "fstab"),
        "{}",
        ls.stdout_str()
    );
}
