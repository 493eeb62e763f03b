//! md RAID1 assembled inside one image through the CLI: `testdata/lvm/md-raid1-gpt.img` is a GPT
//! disk whose two partitions are the members of a RAID1 array (metadata 1.2) holding an ext4
//! filesystem. `info` must list the array's volume, `ls` through it must show what debugfs
//! listed and the source tree held, `cat` of every file must give the source file's SHA-256, and
//! `export --volume md/NAME` the array's recorded SHA-256 (all recorded by
//! scripts/make-lvm-fixtures.sh from the source tree, not by our reader).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{gunzip_into, imgcheck, read_json, repo_root, sha256_bytes, sha256_file};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

fn fixture() -> Value {
    read_json(&repo_root().join("testdata/lvm/manifest.json"))["md_in_image"].clone()
}

fn image(dir: &Path) -> PathBuf {
    let m = fixture();
    gunzip_into(
        &repo_root()
            .join("testdata/lvm")
            .join(format!("{}.gz", m["image"].as_str().unwrap())),
        dir,
    )
}

/// The volume id the engine gives the array: `md/NAME`.
fn volume_id() -> String {
    format!("md/{}", fixture()["name"].as_str().unwrap())
}

fn run(args: &[&OsStr]) -> common::RunOutput {
    imgcheck(args)
}

/// `info` describes the container and its partitions (both members show as Linux RAID
/// partitions); the assembled array and its volume are listed by `inspect`, which is where the
/// engine's volumes (partitions, LVs, md arrays) are reported.
#[test]
fn info_and_inspect_list_the_members_and_the_md_volume() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let m = fixture();
    let info = run(&["info".as_ref(), img.as_os_str()]);
    info.assert_ok();
    let text = info.stdout_str();
    for name in ["md-a", "md-b"] {
        assert!(
            text.lines()
                .any(|l| l.contains("Linux RAID") && l.trim_end().ends_with(name)),
            "info lists no Linux RAID partition {name}:\n{text}"
        );
    }
    let r = run(&["inspect".as_ref(), img.as_os_str(), "--json".as_ref()]);
    r.assert_ok();
    let j = r.json();
    let arrays = j["md_arrays"].as_array().unwrap();
    assert_eq!(arrays.len(), 1, "{arrays:?}");
    let a = &arrays[0];
    assert_eq!(a["uuid"], m["uuid"]);
    assert_eq!(a["name"], m["name"]);
    assert_eq!(a["level"], "raid1");
    assert_eq!(a["readable"], true);
    assert_eq!(a["size_bytes"], m["size_bytes"]);
    assert_eq!(a["members"], serde_json::json!(["1", "2"]));
    let id = volume_id();
    let vols = j["volumes"].as_array().unwrap();
    let v = vols
        .iter()
        .find(|v| v["id"] == id.as_str())
        .unwrap_or_else(|| panic!("inspect lists no volume {id}: {vols:?}"));
    assert_eq!(v["size"], m["size_bytes"]);
    let fs = &v["content"]["filesystem"];
    assert_eq!(fs["fs_type"], m["fs"]);
    assert_eq!(fs["label"], m["fs_label"]);
    for p in ["1", "2"] {
        let member = vols.iter().find(|v| v["id"] == p).unwrap();
        assert_eq!(member["content"], "raid", "partition {p}");
    }
}

#[test]
fn ls_and_cat_through_the_array_match_the_source_tree() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let m = fixture();
    let id = volume_id();
    let vol = |args: &[&OsStr]| {
        let mut a: Vec<&OsStr> = args.to_vec();
        a.push("--volume".as_ref());
        a.push(id.as_ref());
        run(&a)
    };
    // The root listing is what debugfs listed.
    let ls = vol(&["ls".as_ref(), img.as_os_str(), "/".as_ref()]);
    ls.assert_ok();
    let mut got: Vec<String> = ls
        .stdout_str()
        .lines()
        .map(|l| l.trim().trim_end_matches('/').to_string())
        .filter(|l| !l.is_empty())
        .collect();
    got.sort();
    let want: Vec<String> = m["root_listing_debugfs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want, "ls / through {id}:\n{}", ls.stdout_str());
    // Every directory of the tree lists exactly its children; every file cats to its hash.
    let tree = m["tree"].as_object().unwrap();
    let mut files = 0;
    for (path, e) in tree {
        match e["type"].as_str().unwrap() {
            "dir" => {
                let ls = vol(&["ls".as_ref(), img.as_os_str(), path.as_ref()]);
                ls.assert_ok();
                let mut got: Vec<String> = ls
                    .stdout_str()
                    .lines()
                    .map(|l| l.trim().trim_end_matches('/').to_string())
                    .filter(|l| !l.is_empty())
                    .collect();
                got.sort();
                let prefix = format!("{path}/");
                let mut want: Vec<String> = tree
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?, v)))
                    .filter(|(rest, _)| !rest.contains('/'))
                    .map(|(rest, v)| match v["target"].as_str() {
                        Some(t) => format!("{rest} -> {t}"),
                        None => rest.to_string(),
                    })
                    .collect();
                want.sort();
                assert_eq!(got, want, "ls {path} through {id}");
            }
            "file" => {
                let cat = vol(&["cat".as_ref(), img.as_os_str(), path.as_ref()]);
                cat.assert_ok();
                assert_eq!(
                    sha256_bytes(&cat.stdout),
                    e["sha256"].as_str().unwrap(),
                    "cat {path} through {id}"
                );
                files += 1;
            }
            _ => {}
        }
    }
    assert!(files >= 5, "only {files} files in the fixture tree");
}

#[test]
fn export_volume_md_name_matches_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let out = dir.path().join("array.raw");
    let id = volume_id();
    run(&[
        "export".as_ref(),
        img.as_os_str(),
        "--volume".as_ref(),
        id.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
    .assert_ok();
    let m = fixture();
    assert_eq!(
        std::fs::metadata(&out).unwrap().len(),
        m["size_bytes"].as_u64().unwrap()
    );
    assert_eq!(sha256_file(&out), m["sha256"].as_str().unwrap());
}
