//! End-to-end tests on the phony Rocky Linux 9.4 guest (testdata/rhel-guest, built by
//! scripts/make-rhel-guest.sh with sfdisk, mkfs.fat, mkfs.xfs, mkswap, rpmbuild + rpm and an
//! LVM2 writer): root on XFS on LVM (`rl/root`), /boot on XFS, an ESP, BLS boot entries, a
//! dracut-like initramfs, an rpm sqlite database. What `imgcheck inspect`, `ls` and `cat` say is
//! compared with what the generator and the independent tools recorded when the image was made
//! (`manifest.json`, `boot.xfs_db.txt`, `root.xfs_db.txt`, `lvm-pvck.txt`, `rpm-qa.txt`,
//! `rhel9.sfdisk.json`). These tests need only the committed files, except
//! `script_rebuilds_the_committed_guest`, which runs the generator (its tools must be installed
//! under CI; it is skipped loudly elsewhere) and requires the same bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output};

const IMAGE: &str = "testdata/rhel-guest/rhel9.qcow2";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgcheck"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(root())
        .output()
        .expect("run imgcheck")
}

fn ok_stdout(args: &[&str]) -> Vec<u8> {
    let o = run(args);
    assert!(
        o.status.success(),
        "imgcheck {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn json(args: &[&str]) -> Value {
    serde_json::from_slice(&ok_stdout(args)).expect("json")
}

fn manifest() -> Value {
    let t = std::fs::read_to_string(root().join("testdata/rhel-guest/manifest.json")).unwrap();
    serde_json::from_str(&t).unwrap()
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(root().join("testdata/rhel-guest").join(name)).unwrap()
}

fn sha256(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

fn inspect() -> Value {
    json(&["inspect", "--json", IMAGE])
}

/// Every file of the manifest with its guest path: the root tree, /boot and /boot/efi.
fn manifest_files(m: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (key, prefix) in [
        ("root_files", ""),
        ("boot_files", "/boot"),
        ("esp_files", "/boot/efi"),
    ] {
        for f in m[key].as_array().unwrap() {
            let p = format!("{prefix}{}", f["path"].as_str().unwrap());
            out.push((p, f.clone()));
        }
    }
    out
}

#[test]
fn inspect_finds_rocky_on_lvm() {
    let m = manifest();
    let v = inspect();
    let g = &v["guest"];
    let os = &m["os"];
    assert_eq!(g["type"], "linux", "{g:#}");
    assert_eq!(g["distro"], os["distro"]);
    assert_eq!(g["version"], os["version"]);
    assert_eq!(g["pretty_name"], os["product_name"]);
    assert_eq!(g["arch"], os["arch"]);
    assert_eq!(g["hostname"], os["hostname"]);
    assert_eq!(g["root_volume"], os["root"], "root is the LV rl/root");
    assert!(
        v["anomalies"].as_array().unwrap().is_empty(),
        "{:#}",
        v["anomalies"]
    );
    // The VG as pvck reads it: one PV, the LVs root and swap of the sizes written.
    let pvck = fixture_text("lvm-pvck.txt");
    assert!(pvck.contains("# vgname rl seqno 3"), "{pvck}");
    let lvm = v["lvm"].to_string();
    for lv in m["lvm"]["lvs"].as_array().unwrap() {
        assert!(
            lvm.contains(&format!("\"{}\"", lv["name"].as_str().unwrap())),
            "LV {} in {lvm}",
            lv["name"]
        );
    }
}

#[test]
fn fstab_is_fully_resolved() {
    let m = manifest();
    let v = inspect();
    let fstab = v["guest"]["fstab"].as_array().unwrap();
    let want = m["mountpoints"].as_array().unwrap();
    assert_eq!(fstab.len(), want.len(), "{fstab:#?}");
    for (got, want) in fstab.iter().zip(want) {
        assert_eq!(got["entry"]["spec_raw"], want["spec"], "{got:#}");
        assert_eq!(got["entry"]["mount_point"], want["mountpoint"], "{got:#}");
        assert_eq!(got["entry"]["fs_type"], want["fs_type"], "{got:#}");
        assert_eq!(got["resolution"]["status"], "resolved", "{got:#}");
    }
    // By volume: the LVs by their VG/LV name, /boot and the ESP by partition number.
    let vols: Vec<&str> = fstab
        .iter()
        .map(|e| e["resolution"]["volume"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(vols, ["rl/root", "3", "2", "rl/swap"], "{fstab:#?}");
    assert!(
        v["guest"]["fstab_problems"].as_array().unwrap().is_empty(),
        "{:#}",
        v["guest"]["fstab_problems"]
    );
}

#[test]
fn kernels_bls_default_and_initramfs() {
    let m = manifest();
    let v = inspect();
    let g = &v["guest"];
    let kernels = g["kernels"].as_array().unwrap();
    let want = m["kernels"].as_array().unwrap();
    assert_eq!(kernels.len(), want.len(), "{kernels:#?}");
    for (k, w) in kernels.iter().zip(want) {
        assert_eq!(k["version"], w["version"]);
        assert_eq!(k["image"], w["image"]);
        assert_eq!(k["initrd"], w["initramfs"]);
        assert_eq!(k["default"], w["default"], "{}", k["version"]);
        assert_eq!(k["modules_dir"], true);
        // dracut's early microcode cpio (uncompressed) is followed by the gzip'd main archive.
        let sum = &k["initrd_summary"];
        assert_eq!(sum["path"], w["initramfs"]);
        assert_eq!(sum["complete"], true, "{sum:#}");
        assert_eq!(
            sum["compressions"],
            serde_json::json!(["none", "gzip"]),
            "{sum:#}"
        );
        let want_mods = m["initramfs_modules"].as_array().unwrap();
        assert_eq!(
            sum["module_count"].as_u64(),
            Some(u64::try_from(want_mods.len()).unwrap())
        );
        let want_mods: BTreeSet<String> = want_mods
            .iter()
            .map(|x| x.as_str().unwrap().replace('-', "_"))
            .collect();
        let found: BTreeSet<String> = sum["drivers_found"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        assert!(found.is_subset(&want_mods), "{found:?} ⊄ {want_mods:?}");
        for d in ["virtio_blk", "virtio_net", "virtio_scsi", "nvme"] {
            assert!(found.contains(d), "{}: {d} not in {found:?}", k["version"]);
        }
        // Storage and network drivers of the kernel itself (modules.dep, modules.builtin).
        assert_eq!(k["drivers"]["virtio_blk"]["status"], "module");
        assert_eq!(k["drivers"]["virtio_pci"]["status"], "builtin");
    }
    let boot = &g["boot"];
    let b = &m["bootloader"];
    assert_eq!(boot["config_path"], b["grub_cfg"], "{boot:#}");
    let d = &boot["default_entry"];
    assert_eq!(d["source"], b["default_entry"], "{d:#}");
    assert_eq!(d["title"], b["default_title"]);
    assert_eq!(d["cmdline"], b["default_cmdline"]);
    assert_eq!(d["id"], b["grubenv_saved_entry"]);
    // `initrd … $tuned_initrd`: the unset grubenv variable expands to nothing.
    assert_eq!(
        d["initrd"],
        serde_json::json!([want[1]["initramfs"]]),
        "{d:#}"
    );
    assert_eq!(boot["loader"], "bls");
    assert_eq!(boot["grubenv"]["saved_entry"], b["grubenv_saved_entry"]);
    assert_eq!(
        boot["stubs"],
        serde_json::json!([b["efi_stub"]]),
        "the ESP's grub.cfg stub, read through the /boot/efi mount"
    );
    assert!(
        boot["problems"].as_array().unwrap().is_empty(),
        "{:#}",
        boot["problems"]
    );
}

#[test]
fn facts_network_selinux_agents_packages() {
    let m = manifest();
    let v = inspect();
    let g = &v["guest"];
    let ifs = g["network"]["interfaces"].as_array().unwrap();
    assert_eq!(ifs.len(), 1, "{:#}", g["network"]);
    assert_eq!(ifs[0]["name"], "eth0");
    assert_eq!(ifs[0]["method"], "dhcp");
    assert_eq!(ifs[0]["source"], m["network"][0]["file"]);
    assert_eq!(g["system"]["selinux"]["value"], m["os"]["selinux"]);
    assert_eq!(g["system"]["selinux"]["file"], "/etc/selinux/config");
    assert_eq!(
        g["system"]["machine_id_set"], false,
        "emptied as cloud images ship it"
    );
    assert_eq!(g["system"]["rtc"], "UTC");
    assert_eq!(
        g["id_like"],
        serde_json::json!(["rhel", "centos", "fedora"])
    );
    assert_eq!(g["release_file"], "/etc/os-release");
    assert_eq!(g["agents"]["cloud_init"]["binary"], "/usr/bin/cloud-init");
    assert_eq!(g["agents"]["qemu_guest_agent"]["present"], true);
    assert_eq!(g["agents"]["qemu_guest_agent"]["enabled"], true);
    let units: BTreeSet<&str> = g["enabled_units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    for s in m["services_enabled"].as_array().unwrap() {
        let s = format!("{}.service", s.as_str().unwrap());
        assert!(units.contains(s.as_str()), "{s} not in {units:?}");
    }
    // The packages rpm wrote, as `rpm -qa` listed them when the image was made.
    let p = &g["packages"];
    assert_eq!(p["format"], "rpm-sqlite", "{p:#}");
    assert_eq!(p["path"], "/var/lib/rpm/rpmdb.sqlite");
    let list = p["list"].as_array().unwrap();
    let qa: BTreeSet<String> = fixture_text("rpm-qa.txt")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(list.len(), qa.len(), "{p:#}");
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for pkg in list {
        *names.entry(pkg["name"].as_str().unwrap()).or_default() += 1;
        let v = pkg["version"].as_str().unwrap();
        let v = v.split_once(':').map_or(v, |(_, rest)| rest); // rpm -qa omits the epoch
        let nvra = format!(
            "{}-{v}.{}",
            pkg["name"].as_str().unwrap(),
            pkg["arch"].as_str().unwrap()
        );
        assert!(qa.contains(&nvra), "{nvra} not in rpm -qa: {qa:?}");
    }
    assert_eq!(names.get("kernel-core"), Some(&2));
    // cloud-init's version is the rpm's, as `rpm -qa` lists it.
    let ci = g["agents"]["cloud_init"]["version"].as_str().unwrap();
    assert!(
        qa.iter()
            .any(|q| q.starts_with(&format!("cloud-init-{ci}."))),
        "cloud-init {ci} not in rpm -qa"
    );
    assert_eq!(
        g["agents"]["cloud_init"]["version_source"],
        "package cloud-init (rpm-sqlite)"
    );
    // Time zone from the /etc/localtime link; firmware from the ESP's loaders and grub2-pc.
    assert_eq!(g["timezone"]["zone"], "UTC");
    assert_eq!(g["timezone"]["source"], "/etc/localtime");
    assert_eq!(
        g["firmware"]["firmware"], "bios+uefi",
        "{:#}",
        g["firmware"]
    );
    // RHEL 9's sshd_config includes sshd_config.d/*.conf; cloud-init's drop-in sets
    // PasswordAuthentication first.
    let sshd = &g["system"]["sshd"];
    assert_eq!(
        sshd["config_files"],
        serde_json::json!([
            "/etc/ssh/sshd_config",
            "/etc/ssh/sshd_config.d/50-cloud-init.conf",
            "/etc/ssh/sshd_config.d/50-redhat.conf"
        ])
    );
    assert_eq!(
        sshd["password_authentication"]["file"],
        "/etc/ssh/sshd_config.d/50-cloud-init.conf"
    );
}

#[test]
fn files_equal_the_source_tree() {
    let m = manifest();
    let files = manifest_files(&m);
    // Named files across the /boot XFS mount and the LV, then every regular file by hash.
    let fstab = ok_stdout(&["cat", IMAGE, "/etc/fstab"]);
    let bls = m["bootloader"]["default_entry"].as_str().unwrap();
    let entry = ok_stdout(&["cat", IMAGE, bls]);
    assert!(String::from_utf8_lossy(&entry).contains("options root=/dev/mapper/rl-root ro"));
    assert!(String::from_utf8_lossy(&fstab).contains("/dev/mapper/rl-root     /"));
    let mut checked = 0;
    for (path, f) in &files {
        if f["type"] != "file" {
            continue;
        }
        let data = if path == "/etc/fstab" {
            fstab.clone()
        } else {
            ok_stdout(&["cat", IMAGE, path])
        };
        assert_eq!(
            data.len(),
            usize::try_from(f["size"].as_u64().unwrap()).unwrap(),
            "{path}"
        );
        assert_eq!(sha256(&data), f["sha256"].as_str().unwrap(), "{path}");
        checked += 1;
    }
    assert!(checked >= 90, "{checked} files compared");
}

/// `ls -R --json /` of the assembled guest: every path of the manifest with its type, mode,
/// size and symlink target; and the names of every XFS directory as xfs_db listed them.
#[test]
fn listing_agrees_with_manifest_and_xfs_db() {
    let m = manifest();
    let ls = json(&["ls", "-R", "--json", IMAGE, "/"]);
    let entries = ls
        .as_array()
        .or_else(|| ls["entries"].as_array())
        .unwrap_or_else(|| panic!("ls JSON: {ls:#}"));
    let by_path: BTreeMap<&str, &Value> = entries
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e))
        .collect();
    for (path, f) in manifest_files(&m) {
        if path == "/boot" || path == "/boot/efi" {
            continue; // mount points: the listing shows the mounted file system's root
        }
        let e = by_path
            .get(path.as_str())
            .unwrap_or_else(|| panic!("{path} missing from `ls -R`"));
        assert_eq!(e["type"], f["type"], "{path}: {e:#}");
        match f["type"].as_str().unwrap() {
            "symlink" => assert_eq!(e["target"], f["target"], "{path}"),
            "file" => assert_eq!(e["size"], f["size"], "{path}"),
            _ => {}
        }
        if f.get("mode").is_some() && !path.starts_with("/boot/efi/") {
            assert_eq!(
                e["mode"].as_u64().map(|x| x & 0o7777),
                f["mode"].as_u64(),
                "{path}: mode {e:#}"
            );
        }
    }
    // xfs_db's view of both XFS file systems: `ls DIR` blocks of "N INO TYPE HASH LEN NAME (good)".
    for (file, prefix) in [("boot.xfs_db.txt", "/boot"), ("root.xfs_db.txt", "")] {
        let text = fixture_text(file);
        let mut dir: Option<String> = None;
        let mut dirs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in text.lines() {
            if let Some(d) = line.strip_suffix(':').filter(|l| l.starts_with('/')) {
                let d = format!("{prefix}{}", d.trim_end_matches('/'));
                dirs.entry(d.clone()).or_default();
                dir = Some(d);
            } else if let (Some(d), Some(rest)) = (&dir, line.strip_suffix(" (good)")) {
                let name = rest.split_whitespace().nth(5).unwrap().to_string();
                if name != "." && name != ".." {
                    dirs.get_mut(d).unwrap().insert(name);
                }
            }
        }
        assert!(dirs.len() >= 5, "{file}: {} directories", dirs.len());
        for (d, names) in dirs {
            let d = if d.is_empty() { "/".to_string() } else { d };
            // Mount points: the root tree's empty /boot shows the /boot file system, and
            // /boot's empty efi/ the ESP.
            if (prefix.is_empty() && d == "/boot") || (!prefix.is_empty() && d == "/boot/efi") {
                continue;
            }
            let got: BTreeSet<String> = by_path
                .keys()
                .filter_map(|p| {
                    let parent = p
                        .rsplit_once('/')
                        .map(|(a, _)| if a.is_empty() { "/" } else { a })?;
                    (parent == d).then(|| p.rsplit('/').next().unwrap().to_string())
                })
                .collect();
            assert_eq!(got, names, "{file}: {d}");
        }
    }
}

#[test]
fn disk_agrees_with_sfdisk() {
    let sf: Value = serde_json::from_str(&fixture_text("rhel9.sfdisk.json")).unwrap();
    let v = inspect();
    let parts = sf["partitiontable"]["partitions"].as_array().unwrap();
    let vols = v["volumes"].as_array().unwrap();
    for (i, p) in parts.iter().enumerate() {
        let n = u64::try_from(i).unwrap() + 1;
        let vol = vols
            .iter()
            .find(|x| x["partition"].as_u64() == Some(n))
            .unwrap_or_else(|| panic!("partition {n}: {vols:#?}"));
        assert_eq!(
            vol["size"].as_u64(),
            p["size"].as_u64().map(|s| s * 512),
            "partition {n}"
        );
    }
    let info: Value = serde_json::from_str(&fixture_text("rhel9.qemu-info.json")).unwrap();
    assert_eq!(
        v["image"]["virtual_size"], info["virtual-size"],
        "{:#}",
        v["image"]
    );
}

/// The committed fixture is what `scripts/make-rhel-guest.sh` makes: the generator is
/// deterministic (fixed UUIDs, faketime, SOURCE_DATE_EPOCH), so a fresh run gives the same disk
/// (`raw_sha256` in the manifest), the same qcow2 and the same tool outputs.
#[test]
fn script_rebuilds_the_committed_guest() {
    let tools = [
        "sfdisk",
        "mkfs.fat",
        "mcopy",
        "mkfs.xfs",
        "xfs_db",
        "pvck",
        "mkswap",
        "cpio",
        "gzip",
        "xz",
        "rpm",
        "rpmbuild",
        "qemu-img",
        "faketime",
        "python3",
        "grub-mkimage",
    ];
    if !common::require_tools("script_rebuilds_the_committed_guest", &tools) {
        return;
    }
    // GRUB's images differ between GRUB versions: the committed ones came from the version the
    // manifest names (Debian grub-pc-bin; boot.img in /usr/lib/grub/i386-pc).
    let want = manifest()["bios_boot"]["grub_version"]
        .as_str()
        .unwrap()
        .to_string();
    let have = Command::new(common::tool_path("grub-mkimage"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let boot_img = std::path::Path::new("/usr/lib/grub/i386-pc/boot.img").exists();
    if !have.ends_with(&format!(" {want}")) || !boot_img {
        let msg = format!(
            "SKIPPED: the committed guest was built with GRUB {want} (Debian grub-pc-bin), \
             this machine has {have:?}, boot.img present: {boot_img} \
             (test script_rebuilds_the_committed_guest)"
        );
        assert!(
            !common::under_ci(),
            "{msg}; CI is set, so this is a failure"
        );
        eprintln!("\n*** {msg} ***\n");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let o = Command::new("bash")
        .arg(root().join("scripts/make-rhel-guest.sh"))
        .arg("--out")
        .arg(out.path())
        .current_dir(root())
        .output()
        .expect("run scripts/make-rhel-guest.sh");
    assert!(
        o.status.success(),
        "make-rhel-guest.sh: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    for name in [
        "manifest.json",
        "rpm-qa.txt",
        "lvm-metadata.txt",
        "lvm-pvck.txt",
        "boot.xfs_db.txt",
        "root.xfs_db.txt",
        "rhel9.sfdisk.json",
        "rhel9.qemu-info.json",
        "rhel9.qcow2",
    ] {
        let fresh = std::fs::read(out.path().join(name)).unwrap();
        let committed = std::fs::read(root().join("testdata/rhel-guest").join(name)).unwrap();
        assert!(
            fresh == committed,
            "{name}: a fresh run of scripts/make-rhel-guest.sh differs from the committed file"
        );
    }
}

/// The BIOS boot partition holds the core.img grub-mkimage built (its diskboot blocklist pointed
/// at the sectors after the first, as grub-bios-setup does), and inspect recognises it and
/// GRUB's boot.img in the MBR.
#[test]
fn bios_boot_partition_holds_grubs_core_img() {
    let m = manifest();
    let bb = &m["bios_boot"];
    let lba = bb["core_img_lba"].as_u64().unwrap();
    let size = usize::try_from(bb["core_img_size"].as_u64().unwrap()).unwrap();
    let part = ok_stdout(&["export", IMAGE, "--volume", "1", "-o", "-"]);
    let mut core = part[..size].to_vec();
    assert_eq!(
        u64::from_le_bytes(core[500..508].try_into().unwrap()),
        lba + 1
    );
    core[500..508].copy_from_slice(&2u64.to_le_bytes());
    assert_eq!(sha256(&core), bb["core_img_sha256"].as_str().unwrap());
    assert!(
        part[size..].iter().all(|&b| b == 0),
        "rest of the partition"
    );
    let fw = &inspect()["guest"]["firmware"];
    assert_eq!(fw["firmware"], "bios+uefi", "{fw:#}");
    assert_eq!(fw["mbr_boot_code"], "grub");
    assert_eq!(fw["bios_boot_partitions"][0]["grub_core"], true);
    let details: Vec<&str> = fw["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["mode"] == "bios")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details,
        vec![
            "package grub2-pc 1:2.06-77.el9",
            "GRUB core.img in BIOS boot partition 1 (byte offset 1048576)",
            "GRUB boot.img in the MBR; core.img at LBA 2048 (partition 1)"
        ]
    );
}
