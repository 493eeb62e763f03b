//! The LVM2 and md fixtures checked against the real tools, and our reader against them:
//!
//! - `pvck --dump headers FILE` (LVM2 reads a PV from a plain file) must find no problem
//!   (`CHECK:` lines) and report the same metadata areas, text offsets, CRCs, VG name and seqno
//!   as [`lvm::scan`];
//! - `pvck --dump metadata` + `vgcfgrestore --list --file` runs LVM's own metadata importer on
//!   each VG's text (it rejects bad segment layouts, unknown PVs, overlapping extents);
//! - `mdadm --examine FILE` must say the checksum is correct and report the same UUID, level,
//!   disk count and role as [`md::probe`].
//!
//! Needs `pvck` and `vgcfgrestore` (Debian `lvm2`) and `mdadm`: under `CI` their absence fails
//! the test; otherwise it prints `SKIPPED: <tool> missing`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]

mod common;

use common::{arc, image, manifest, require};
use imgcheck_core::{BlockSource, Limits};
use imgcheck_volume::{lvm, md, read_partition_table};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd)
        .args(args)
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("run {cmd}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The PV of each LVM fixture as its own file (pvck reads a PV from offset 0) and as a volume.
fn pv_files(dir: &Path) -> Vec<(String, std::path::PathBuf, Arc<dyn BlockSource>)> {
    let mut out = Vec::new();
    for name in ["lvm-gpt.img", "lvm-mbr.img", "lvm-missing.img"] {
        let bytes = image(name);
        let disk = arc(bytes.clone());
        let table = read_partition_table(disk.as_ref(), &Limits::default()).unwrap();
        let pv: Vec<u8> = match table.partitions.first() {
            Some(p) => bytes[p.start as usize..(p.start + p.size) as usize].to_vec(),
            None => bytes,
        };
        let path = dir.join(format!("{name}.pv"));
        std::fs::write(&path, &pv).unwrap();
        out.push((name.to_string(), path, arc(pv)));
    }
    out
}

#[test]
fn pvck_agrees_with_our_reader() {
    if !require("pvck") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pvs = pv_files(dir.path());
    let vols: Vec<(String, Arc<dyn BlockSource>)> =
        pvs.iter().map(|(n, _, s)| (n.clone(), s.clone())).collect();
    let scan = lvm::scan(&vols, &Limits::default());
    let mut texts_checked = 0;
    for (name, path, _) in &pvs {
        let (ok, out) = run("pvck", &["--dump", "headers", path.to_str().unwrap()]);
        assert!(ok, "pvck failed on {name}:\n{out}");
        assert!(
            !out.contains("CHECK:"),
            "pvck found problems in {name}:\n{out}"
        );
        let found = scan.pvs.iter().find(|p| &p.volume == name).unwrap();
        // pv_header.pv_uuid, device size and every metadata area.
        assert!(out.contains(&format!(
            "pv_header.pv_uuid {}",
            found.label.uuid.replace('-', "")
        )));
        assert!(out.contains(&format!(
            "pv_header.device_size {}",
            found.label.device_size_bytes
        )));
        let vg = scan
            .vgs
            .iter()
            .find(|v| Some(&v.name) == found.vg.as_ref())
            .unwrap();
        for (i, area) in found.label.metadata_areas.iter().enumerate() {
            let n = i + 1;
            assert!(
                out.contains(&format!("mda_header_{n}.start {}", area.offset)),
                "{out}"
            );
            assert!(
                out.contains(&format!("mda_header_{n}.size {}", area.size)),
                "{out}"
            );
            // "metadata text at 4608 crc 0x… # vgname vgsys seqno 12"
            let line = out
                .lines()
                .filter(|l| l.trim_start().starts_with("metadata text at "))
                .nth(i)
                .unwrap_or_else(|| panic!("{name}: no text line {n}:\n{out}"));
            assert!(
                line.contains(&format!("metadata text at {} ", area.offset + 512)),
                "{line}"
            );
            assert!(
                line.ends_with(&format!("# vgname {} seqno {}", vg.name, vg.seqno)),
                "{line}"
            );
            texts_checked += 1;
        }
    }
    assert_eq!(texts_checked, 4);
}

#[test]
fn lvm_imports_each_vg_metadata() {
    if !require("pvck") || !require("vgcfgrestore") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, path, _) in pv_files(dir.path()) {
        let vg = manifest()["images"][&name]["vg"]
            .as_str()
            .unwrap()
            .to_string();
        let out_file = dir.path().join(format!("{name}.vg"));
        let (ok, out) = run(
            "pvck",
            &[
                "--dump",
                "metadata",
                path.to_str().unwrap(),
                "-f",
                out_file.to_str().unwrap(),
            ],
        );
        assert!(ok, "pvck --dump metadata {name}:\n{out}");
        let (ok, out) = run(
            "vgcfgrestore",
            &["--list", "--file", out_file.to_str().unwrap(), &vg],
        );
        assert!(ok, "vgcfgrestore --list {name}:\n{out}");
        assert!(
            out.contains(&format!("VG name:    \t{vg}")),
            "LVM did not import {vg} from {name}:\n{out}"
        );
        for bad in ["Couldn't", "Unable", "inconsistent", "rror"] {
            assert!(
                !out.contains(bad),
                "LVM complains about {vg} ({name}):\n{out}"
            );
        }
    }
}

/// `Key : value` from mdadm --examine output.
fn field<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines().find_map(|l| {
        let (k, v) = l.split_once(" : ")?;
        (k.trim() == key).then(|| v.trim())
    })
}

#[test]
fn mdadm_agrees_with_our_reader() {
    if !require("mdadm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let m = manifest();
    let members = m["md"]["members"].as_array().unwrap();
    for w in members {
        let img = w["image"].as_str().unwrap();
        let path = dir.path().join(img);
        let bytes = image(img);
        std::fs::write(&path, &bytes).unwrap();
        let ours = md::probe(arc(bytes).as_ref()).unwrap().unwrap();
        let (ok, out) = run("mdadm", &["--examine", path.to_str().unwrap()]);
        assert!(ok, "mdadm --examine {img}:\n{out}");
        let csum = field(&out, "Checksum").unwrap_or_default();
        assert!(csum.ends_with("- correct"), "{img}: checksum {csum}\n{out}");
        assert_eq!(
            field(&out, "Raid Level"),
            Some(ours.level.as_str()),
            "{img}"
        );
        assert_eq!(
            field(&out, "Raid Devices"),
            Some(ours.raid_disks.to_string().as_str()),
            "{img}"
        );
        let role = ours.role.unwrap();
        if ours.version == "0.90" {
            assert!(field(&out, "Version").unwrap().starts_with("0.90"), "{img}");
            assert_eq!(field(&out, "UUID"), Some(ours.array_uuid.as_str()), "{img}");
            // "this     1       9        1        1      active sync"
            let this = out
                .lines()
                .find(|l| l.starts_with("this"))
                .unwrap_or_else(|| panic!("{img}: no 'this' line\n{out}"));
            let cols: Vec<&str> = this.split_whitespace().collect();
            assert_eq!(cols[4], role.to_string(), "{img}: {this}");
            assert!(this.contains("active sync"), "{this}");
        } else {
            assert_eq!(field(&out, "Version"), Some(ours.version.as_str()), "{img}");
            assert_eq!(
                field(&out, "Array UUID"),
                Some(ours.array_uuid.as_str()),
                "{img}"
            );
            assert_eq!(field(&out, "Name"), ours.name.as_deref(), "{img}");
            assert_eq!(
                field(&out, "Device Role"),
                Some(format!("Active device {role}").as_str()),
                "{img}"
            );
            assert_eq!(
                field(&out, "Data Offset"),
                Some(format!("{} sectors", ours.data_offset / 512).as_str()),
                "{img}"
            );
            assert_eq!(
                field(&out, "Super Offset"),
                Some(format!("{} sectors", ours.superblock_offset / 512).as_str()),
                "{img}"
            );
        }
    }
}
