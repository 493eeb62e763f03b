//! End-to-end tests on the bundled sample guest (testdata/sample, built by
//! scripts/make-sample.sh): every command, read-only guarantee, determinism, and agreement with
//! what qemu-img and sfdisk said about the image when it was made.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::as_conversions
)]

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::{Command, Output};

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/sample/sample.qcow2")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgcheck"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run imgcheck")
}

fn ok_stdout(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "imgcheck {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 stdout")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok_stdout(args)).expect("json")
}

fn facts() -> std::collections::HashMap<String, String> {
    let t = std::fs::read_to_string(sample().with_file_name("sample.facts")).unwrap();
    t.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sha256(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

#[test]
fn check_reports_and_exits_zero() {
    let img = sample();
    let o = run(&["check", img.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    for heading in [
        "Strongly recommended fixes (0)",
        "Recommended optimizations (",
        "No risks found (",
        "Not evaluated (",
    ] {
        assert!(text.contains(heading), "missing {heading:?} in:\n{text}");
    }
    assert!(text.contains("Debian GNU/Linux 12 (bookworm)"));
    assert!(
        !text.contains('\u{1b}'),
        "colour codes with NO_COLOR / no terminal"
    );
}

#[test]
fn check_json_is_deterministic_and_complete() {
    let img = sample();
    let a = ok_stdout(&["check", "--format", "json", img.to_str().unwrap()]);
    let b = ok_stdout(&["check", "--format", "json", img.to_str().unwrap()]);
    assert_eq!(a, b, "the same image gives the same JSON report");
    let v: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["schema_version"], 1);
    let s = &v["summary"];
    assert_eq!(s["strongly_recommended"], 0);
    let total: u64 = [
        "strongly_recommended",
        "recommended",
        "no_risk",
        "not_evaluated",
        "not_applicable",
    ]
    .iter()
    .map(|k| s[k].as_u64().unwrap())
    .sum();
    let listed = ok_stdout(&["checks", "--json"]);
    let checks: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        total,
        checks.as_array().unwrap().len() as u64,
        "every check is in the report"
    );
}

#[test]
fn html_report_is_self_contained() {
    let img = sample();
    let html = ok_stdout(&["check", "--format", "html", img.to_str().unwrap()]);
    assert!(html.contains("<html") && html.contains("Strongly recommended fixes"));
    for external in ["<script src", "<link ", "@import", "src=\"http"] {
        assert!(!html.contains(external), "external resource {external:?}");
    }
}

#[test]
fn inspect_finds_the_guest() {
    let img = sample();
    let v = json(&["inspect", "--json", img.to_str().unwrap()]);
    let g = &v["guest"];
    assert_eq!(g["type"], "linux");
    assert_eq!(g["distro"], "debian");
    assert_eq!(g["version"], "12");
    assert_eq!(g["arch"], "x86_64");
    assert_eq!(g["hostname"], "sample-guest");
    assert_eq!(g["root_volume"], "3");
    assert_eq!(v["roots_found"], 1);
    let f = facts();
    let fstab = g["fstab"].as_array().unwrap();
    assert_eq!(fstab.len(), 2);
    assert_eq!(fstab[0]["entry"]["spec"]["value"], f["root_uuid"].as_str());
    for e in fstab {
        assert_eq!(e["resolution"]["status"], "resolved", "{e}");
    }
    assert_eq!(fstab[1]["resolution"]["volume"], "2");
    assert_eq!(g["kernels"][0]["version"], f["kernel"].as_str());
}

#[test]
fn ls_and_cat_browse_without_mounting() {
    let img = sample();
    let p = img.to_str().unwrap();
    let root = json(&["ls", "--json", p, "/"]);
    let bin = root
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "bin")
        .expect("/bin listed");
    assert_eq!(bin["type"], "symlink");
    assert_eq!(bin["target"], "usr/bin");
    // Across the /boot/efi mount (FAT, case-insensitive) and through symlinks.
    let efi = ok_stdout(&["ls", "-R", p, "/boot/efi"]);
    assert!(efi.contains("BOOTX64.EFI"), "{efi}");
    assert_eq!(ok_stdout(&["cat", p, "/etc/hostname"]), "sample-guest\n");
    let sh = run(&["cat", p, "/bin/sh"]);
    assert!(sh.status.success());
    assert_eq!(
        &sh.stdout[..4],
        b"\x7fELF",
        "/bin/sh -> usr/bin/bash resolved in the guest"
    );
    let grub = ok_stdout(&["cat", p, "/boot/efi/efi/debian/GRUB.CFG"]);
    assert!(grub.contains("configfile"));
    // One volume directly.
    let esp = ok_stdout(&["ls", "--volume", "2", p, "/EFI/BOOT"]);
    assert_eq!(esp.trim(), "BOOTX64.EFI");
    // Errors name the path and exit 2.
    let missing = run(&["cat", p, "/etc/nonexistent"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/etc/nonexistent"));
}

#[test]
fn export_matches_qemu_img_and_info_matches_sfdisk() {
    let img = sample();
    let p = img.to_str().unwrap();
    let raw = run(&["export", p, "-o", "-"]);
    assert!(raw.status.success());
    assert_eq!(
        sha256(&raw.stdout),
        facts()["raw_sha256"],
        "qemu-img convert -O raw"
    );
    let info = json(&["info", "--json", p]);
    let qemu: Value = serde_json::from_str(
        &std::fs::read_to_string(img.with_file_name("sample.qemu-info.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(info["qemu_format"], qemu["format"]);
    assert_eq!(info["virtual_size"], qemu["virtual-size"]);
    let sf: Value = serde_json::from_str(
        &std::fs::read_to_string(img.with_file_name("sample.sfdisk.json")).unwrap(),
    )
    .unwrap();
    let sf = &sf["partitiontable"];
    let ours = &info["partition_table"];
    assert_eq!(ours["scheme"], sf["label"]);
    assert_eq!(ours["disk_guid"], sf["id"]);
    let theirs = sf["partitions"].as_array().unwrap();
    let mine = ours["partitions"].as_array().unwrap();
    assert_eq!(mine.len(), theirs.len());
    for (m, t) in mine.iter().zip(theirs) {
        assert_eq!(m["start_lba"], t["start"]);
        assert_eq!(m["size_lba"], t["size"]);
        assert_eq!(m["type"], t["type"]);
        assert_eq!(m["guid"], t["uuid"]);
        assert_eq!(m["name"], t["name"]);
    }
    // Export of one volume = that byte range of the disk.
    let part = run(&["export", p, "--volume", "2", "-o", "-"]);
    assert!(part.status.success());
    let start = mine[1]["start"].as_u64().unwrap() as usize;
    let size = mine[1]["size"].as_u64().unwrap() as usize;
    assert_eq!(part.stdout, raw.stdout[start..start + size]);
}

#[test]
fn image_is_never_modified() {
    let img = sample();
    let before = std::fs::read(&img).unwrap();
    let mtime = std::fs::metadata(&img).unwrap().modified().unwrap();
    let p = img.to_str().unwrap();
    for args in [
        vec!["check", p],
        vec!["inspect", p],
        vec!["info", p],
        vec!["ls", "-R", p, "/"],
        vec!["export", p, "-o", "-"],
    ] {
        let _ = run(&args);
    }
    assert_eq!(std::fs::read(&img).unwrap(), before);
    assert_eq!(std::fs::metadata(&img).unwrap().modified().unwrap(), mtime);
    // export refuses to overwrite the image itself.
    let o = run(&["export", p, "-o", p]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&img).unwrap(), before);
}

#[test]
fn usage_and_missing_file_exit_two() {
    assert_eq!(
        run(&["check", "/nonexistent/disk.img"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        run(&["check", "--target", "mars", sample().to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
}

/// Parse one `--stats` layer line: (read calls, bytes as printed).
fn stats_line<'a>(stderr: &'a str, layer: &str) -> (u64, &'a str) {
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(layer))
        .unwrap_or_else(|| panic!("no {layer:?} line in\n{stderr}"));
    let rest = line.trim_start().trim_start_matches(layer).trim_start();
    let (calls, bytes) = rest.split_once("  ").unwrap_or((rest, ""));
    (calls.trim().parse().unwrap(), bytes.trim())
}

#[test]
fn stats_count_reads_per_layer() {
    let img = sample();
    for cmd in ["check", "inspect"] {
        let out = run(&[cmd, img.to_str().unwrap(), "--stats"]);
        assert!(out.status.code().is_some_and(|c| c <= 1), "{cmd}: {out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("imgcheck: stats\n"), "{err}");
        for stage in [
            "container ",
            "volumes ",
            "filesystems ",
            "inspect ",
            "total ",
        ] {
            assert!(
                err.contains(stage),
                "{cmd}: stage {stage:?} missing:\n{err}"
            );
        }
        // Every layer read something: the image file, the virtual disk (partition table and
        // filesystem cache misses) and the filesystems (superblock, inodes, /etc files).
        for layer in ["image files", "virtual disk", "filesystems"] {
            let (calls, bytes) = stats_line(&err, layer);
            assert!(calls > 0, "{cmd}: no reads in layer {layer}:\n{err}");
            assert!(!bytes.starts_with("0 B"), "{cmd}: {layer}: {bytes}");
        }
        assert!(err.contains("of the image's"), "{err}");
        let rss = err.lines().find(|l| l.contains("peak RSS")).unwrap();
        assert!(rss.contains("MiB"), "{rss}");
    }
}

/// `key value…` lines of `sample.grub.txt` (what scripts/make-sample.sh recorded about GRUB's
/// boot code): the value's first word.
fn grub_facts() -> std::collections::HashMap<String, String> {
    let t = std::fs::read_to_string(sample().with_file_name("sample.grub.txt")).unwrap();
    t.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.split(' ').next().unwrap().to_string()))
        .collect()
}

/// The MBR and the BIOS boot partition hold GRUB's own boot.img and core.img, installed the way
/// grub-bios-setup installs them, and `inspect` recognises both.
#[test]
fn bios_boot_code_is_grubs_own() {
    let img = sample();
    let p = img.to_str().unwrap();
    let g = grub_facts();
    let raw = run(&["export", p, "-o", "-"]);
    assert!(raw.status.success());
    let disk = raw.stdout;
    assert_eq!(sha256(&disk[..512]), g["mbr_sha256"], "sector 0");
    // boot.img: GRUB_BOOT_MACHINE_KERNEL_SECTOR (0x5C) names the BIOS boot partition's first LBA.
    assert_eq!(disk[..3], [0xeb, 0x63, 0x90]);
    assert_eq!(
        u64::from_le_bytes(disk[0x5c..0x64].try_into().unwrap()),
        2048
    );
    assert_eq!(disk[510..512], [0x55, 0xaa]);
    // core.img: what grub-mkimage wrote, except diskboot's blocklist start (bytes 500..508 of
    // its first sector), which the install points at the sector after the first (2049);
    // grub-mkimage leaves 2 there.
    let size: usize = std::fs::read_to_string(img.with_file_name("sample.grub.txt"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("core_img_sha256 "))
        .and_then(|v| v.split_once("  (")?.1.split(' ').next()?.parse().ok())
        .expect("core.img size in sample.grub.txt");
    let mut core = disk[2048 * 512..2048 * 512 + size].to_vec();
    assert_eq!(u64::from_le_bytes(core[500..508].try_into().unwrap()), 2049);
    let sectors = u16::from_le_bytes(core[508..510].try_into().unwrap()) as usize;
    assert_eq!(sectors, size.div_ceil(512) - 1, "blocklist length");
    assert_eq!(
        u16::from_le_bytes(core[510..512].try_into().unwrap()),
        0x820
    );
    core[500..508].copy_from_slice(&2u64.to_le_bytes());
    assert_eq!(sha256(&core), g["core_img_sha256"], "core.img");
    // What inspect makes of it.
    let v = json(&["inspect", "--json", p]);
    let fw = &v["guest"]["firmware"];
    assert_eq!(fw["firmware"], "bios+uefi", "{fw:#}");
    assert_eq!(fw["mbr_boot_code"], "grub");
    assert_eq!(fw["bios_boot_partitions"][0]["grub_core"], true);
}
