//! A disk with two operating systems (testdata/multiroot/dual-boot.qcow2, made by
//! scripts/make-multiroot.sh from the sample and the good Windows guest): `inspect` reports both
//! roots in its `os` list, with each one's own facts; `check` examines the Linux root and says that
//! there are two. The live test rebuilds the disk with the script and compares the raw bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use serde_json::Value;
use std::process::Command;

const IMAGE: &str = "testdata/multiroot/dual-boot.qcow2";

fn imgcheck(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(common::imgcheck_bin())
        .args(args)
        .current_dir(common::repo_root())
        .output()
        .expect("run imgcheck");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn inspect_lists_both_roots() {
    let (code, out) = imgcheck(&["inspect", "--json", IMAGE]);
    assert_eq!(code, Some(0));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["roots_found"], 2);
    let os = v["os"].as_array().unwrap();
    assert_eq!(os.len(), 2, "{os:#?}");

    let l = &os[0];
    assert_eq!(l["type"], "linux");
    assert_eq!(l["distro"], "debian");
    assert_eq!(l["version"], "12");
    assert_eq!(l["product_name"], "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(l["arch"], "x86_64");
    assert_eq!(l["hostname"], "sample-guest");
    assert_eq!(l["root"], "3");
    assert_eq!(l["firmware"], "bios+uefi");
    assert_eq!(l["package_format"], "dpkg");
    assert_eq!(l["agents"], serde_json::json!(["cloud-init"]));
    let mounts: Vec<(String, String, String)> = l["mountpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["mountpoint"].as_str().unwrap().to_string(),
                m["volume"].as_str().unwrap().to_string(),
                m["fs_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        mounts,
        [
            ("/".to_string(), "3".to_string(), "ext4".to_string()),
            (
                "/boot/efi".to_string(),
                "2".to_string(),
                "fat16".to_string()
            )
        ]
    );
    let kernels = l["kernels"].as_array().unwrap();
    assert_eq!(kernels.len(), 1);
    assert_eq!(kernels[0]["version"], "6.1.0-28-cloud-amd64");
    assert_eq!(kernels[0]["default"], true);
    let mods: Vec<&str> = kernels[0]["initramfs_modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    // scripts/make-sample.sh copies drivers/{block,nvme,scsi} into the initramfs; virtio_net
    // stays out (the sample's kernel has it as a module on the root filesystem only).
    assert_eq!(mods, ["nvme", "virtio_blk", "virtio_scsi"]);
    assert_eq!(
        l["bootloader"]["default_entry"]["kernel"],
        "/boot/vmlinuz-6.1.0-28-cloud-amd64"
    );

    let w = &os[1];
    assert_eq!(w["type"], "windows");
    assert_eq!(w["root"], "5");
    assert_eq!(w["product_name"], "Windows Server 2022 Datacenter");
    assert_eq!(w["build"], "20348");
    assert_eq!(w["arch"], "amd64");
    assert_eq!(w["hostname"], "IMGCHECK-WIN");
    assert_eq!(w["systemroot"], "/Windows");
    // The BCD on the Windows ESP (volume 4) still names the Windows partition by its GUID.
    let bcd = w["bcd"].as_array().unwrap();
    assert!(
        bcd.iter()
            .any(|b| b["volume"] == "4" && b["path"] == "\\Windows\\system32\\winload.efi"),
        "{bcd:#?}"
    );

    // `guest` keeps every fact of the first root.
    assert_eq!(v["guest"]["type"], "linux");
    assert_eq!(v["guest"]["root_volume"], "3");

    let (code, text) = imgcheck(&["inspect", IMAGE]);
    assert_eq!(code, Some(0));
    assert!(
        text.contains("guest: linux, Debian GNU/Linux 12 (bookworm)"),
        "{text}"
    );
    assert!(
        text.contains(
            "another root: windows, Windows Server 2022 Datacenter (build 20348), arch amd64, hostname IMGCHECK-WIN, volume 5"
        ),
        "{text}"
    );
}

#[test]
fn check_says_which_root_it_examined() {
    let (code, out) = imgcheck(&["check", "--format", "json", IMAGE]);
    assert_eq!(code, Some(0), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["os"]["type"], "linux");
    assert_eq!(v["os"]["root"], "3");
    assert_eq!(v["os"]["roots_found"], 2);
    let results = v["checks"].as_array().expect("checks");
    let platform = results
        .iter()
        .find(|r| r["id"] == "linux.platform")
        .expect("linux.platform");
    assert_eq!(platform["status"], "recommended", "{platform:#}");
    let msg = platform["findings"][0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "2 operating system roots found on the disk; the checks inspected the Linux root on volume 3"
        ),
        "{msg}"
    );
}

/// The script rebuilds the committed disk byte for byte from the committed guests.
#[test]
fn script_rebuilds_the_committed_disk() {
    if !common::require_tools(
        "script_rebuilds_the_committed_disk",
        &["sfdisk", "qemu-img"],
    ) {
        return;
    }
    let root = common::repo_root();
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("bash")
        .arg(root.join("scripts/make-multiroot.sh"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    for f in ["dual-boot.raw.sha256", "dual-boot.sfdisk.json"] {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(f)).unwrap(),
            std::fs::read_to_string(root.join("testdata/multiroot").join(f)).unwrap(),
            "{f}"
        );
    }
    // The committed qcow2 decodes (by imgcheck) to the bytes the script hashed.
    let raw = dir.path().join("committed.raw");
    let (code, _) = imgcheck(&["export", IMAGE, "-o", raw.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert_eq!(
        common::sha256_file(&raw),
        std::fs::read_to_string(root.join("testdata/multiroot/dual-boot.raw.sha256"))
            .unwrap()
            .trim()
    );
}
