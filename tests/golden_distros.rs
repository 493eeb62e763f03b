//! The phony distribution guests and planted-defect images of `testdata/distro-guests/` (built
//! by scripts/make-distro-guests.sh): for every image, `imgcheck inspect --json` equals
//! `testdata/golden/inspect-<name>.json` and `imgcheck check --format json` equals
//! `testdata/golden/<name>.json` (`IMGCHECK_BLESS=1` rewrites both; review the diff), and the
//! facts that matter are asserted explicitly so that re-blessing cannot drop them: distribution,
//! version, package format, network system, boot loader and default entry, the initramfs
//! modules of the default kernel (decoded here from the guest file and compared with the
//! `cpio -t` listing the generator committed), Btrfs subvolume mounts, every planted defect's
//! severity, and no strongly recommended finding on the good guests beyond the ones the
//! catalogue gives that distribution. A last test rebuilds the images with the live tools.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::golden::{assert_finding, assert_status, result};

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn image(name: &str) -> String {
    format!("testdata/distro-guests/{name}.qcow2")
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_imgcheck"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run imgcheck")
}

/// `imgcheck inspect --json`, compared with `inspect-<name>.json`.
fn inspect(name: &str) -> Value {
    let img = image(name);
    let out = run(&["inspect", "--json", &img]);
    assert!(
        out.status.success(),
        "inspect {img}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8(out.stdout).unwrap();
    common::golden::compare(
        &format!("inspect-{name}.json"),
        &got,
        &format!("imgcheck inspect --json {img}"),
    );
    serde_json::from_str(&got).expect("valid JSON")
}

/// `imgcheck check --format json`, compared with `<name>.json`; the exit status must match
/// the report (1 with a strongly recommended finding, else 0).
fn check(name: &str) -> Value {
    let img = image(name);
    let out = run(&["check", "--format", "json", &img]);
    let got = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&got)
        .unwrap_or_else(|e| panic!("check {img}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let sr = !v["strongly_recommended"].as_array().unwrap().is_empty();
    assert_eq!(out.status.code(), Some(i32::from(sr)), "check {img} exit");
    common::golden::compare(
        &format!("{name}.json"),
        &got,
        &format!("imgcheck check --format json {img}"),
    );
    v
}

/// The ids of the strongly recommended results are exactly `ids`.
#[track_caller]
fn assert_strongly(v: &Value, ids: &[&str]) {
    let got: BTreeSet<&str> = v["strongly_recommended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(got, want, "{:#}", v["strongly_recommended"]);
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The kernel marked default.
fn default_kernel(g: &Value) -> &Value {
    let ks: Vec<&Value> = g["kernels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["default"] == true)
        .collect();
    assert_eq!(ks.len(), 1, "{:#}", g["kernels"]);
    ks[0]
}

/// Module names of a guest's initramfs, decoded by imgcheck's lister from the bytes
/// `imgcheck cat` reads, and the module names of the generator's `cpio -t` listing of the same
/// initramfs in `<name>.listing.txt` (section `## <basename>: cpio -t`): they must agree.
fn initramfs_modules(name: &str, guest_path: &str) -> BTreeSet<String> {
    let out = run(&["cat", &image(name), guest_path]);
    assert!(
        out.status.success(),
        "cat {guest_path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let limits = imgcheck_core::Limits::default();
    let listing = imgcheck_inspect::initramfs::list(&out.stdout, &limits).expect("initramfs");
    assert!(listing.complete(), "{guest_path}: listing incomplete");
    let ours = imgcheck_inspect::initramfs::modules_in(&listing);
    let text =
        std::fs::read_to_string(root().join(format!("testdata/distro-guests/{name}.listing.txt")))
            .unwrap();
    let base = guest_path.rsplit('/').next().unwrap();
    let header = format!("## {base}: cpio -t");
    let section: Vec<&str> = text
        .split("\n## ")
        .map(|s| s.strip_prefix("## ").unwrap_or(s))
        .filter(|s| format!("## {s}").starts_with(&header))
        .collect();
    assert_eq!(section.len(), 1, "{header} in {name}.listing.txt");
    let theirs: BTreeSet<String> = section[0]
        .lines()
        .filter_map(imgcheck_inspect::initramfs::module_name)
        .collect();
    assert_eq!(ours, theirs, "{guest_path}: imgcheck vs cpio -t");
    ours
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

/// Checks every good guest passes (the distribution-specific exceptions are asserted per guest).
const GOOD_LINUX: &[&str] = &[
    "linux.platform",
    "linux.os-version",
    "linux.architecture",
    "linux.kernel-version",
    "linux.kernel-initrd",
    "linux.virtio",
    "linux.initramfs-drivers",
    "linux.grub",
    "linux.fstab",
    "disk.root-single-disk",
    "linux.dhcp",
    "linux.rtc-time-mode",
    "linux.cloud-init",
    "linux.qemu-guest-agent",
    "linux.shadow-writable",
    "linux.root-account",
    "linux.ssh",
    "linux.serial-console",
    "linux.other-hypervisor-tools",
    "linux.generalization",
    "disk.encrypted-volume",
    "disk.image-integrity",
    "fs.clean-state",
];

#[test]
fn ubuntu2404() {
    let v = inspect("ubuntu2404");
    let g = &v["guest"];
    assert_eq!(g["distro"], "ubuntu");
    assert_eq!(g["version"], "24.04");
    assert_eq!(g["codename"], "noble");
    assert_eq!(g["pretty_name"], "Ubuntu 24.04.1 LTS");
    assert_eq!(g["arch"], "x86_64");
    assert_eq!(g["hostname"], "ubuntu");
    assert_eq!(g["packages"]["format"], "dpkg");
    assert_eq!(g["packages"]["list"].as_array().unwrap().len(), 10);
    assert_eq!(strs(&g["network"]["systems"]), ["netplan"]);
    let i = &g["network"]["interfaces"][0];
    assert_eq!(
        (&i["name"], &i["method"], &i["mac"]),
        (&"ens3".into(), &"dhcp".into(), &"52:54:00:4a:1c:07".into())
    );
    assert_eq!(
        strs(&g["network"]["services_enabled"]),
        ["systemd-networkd"]
    );
    // LABEL= mounts resolve to partitions 1 and 15 (Ubuntu's numbering).
    assert_eq!(g["fstab"][0]["resolution"]["volume"], "1");
    assert_eq!(g["fstab"][1]["resolution"]["volume"], "15");
    let b = &g["boot"];
    assert_eq!(b["loader"], "grub2");
    assert_eq!(b["config_path"], "/boot/grub/grub.cfg");
    assert_eq!(b["default_entry"]["title"], "Ubuntu");
    assert_eq!(
        b["default_entry"]["cmdline"],
        "root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0 nvme_core.io_timeout=4294967295"
    );
    assert_eq!(strs(&b["stubs"]), ["/boot/efi/EFI/ubuntu/grub.cfg"]);
    let k = default_kernel(g);
    assert_eq!(k["version"], "6.8.0-49-generic");
    let s = &k["initrd_summary"];
    assert_eq!(strs(&s["compressions"]), ["none", "zstd"]);
    // virtio is built in (modules.builtin); the initramfs carries the rest as .ko.zst.
    assert_eq!(k["drivers"]["virtio_blk"]["status"], "builtin");
    assert_eq!(
        k["drivers"]["virtio_blk"]["evidence"],
        "/lib/modules/6.8.0-49-generic/modules.builtin"
    );
    assert_eq!(
        initramfs_modules("ubuntu2404", "/boot/initrd.img-6.8.0-49-generic"),
        set(&[
            "ena",
            "hv_netvsc",
            "hv_storvsc",
            "nvme",
            "nvme_core",
            "xen_blkfront"
        ])
    );
    assert_eq!(
        g["agents"]["cloud_init"]["version"],
        "24.3.1-0ubuntu0~24.04.2"
    );

    let c = check("ubuntu2404");
    assert_strongly(&c, &[]);
    assert_eq!(c["header"]["boot_mode"], "bios+uefi");
    let mut ok: Vec<&str> = GOOD_LINUX.to_vec();
    ok.extend([
        "linux.nvme",
        "linux.online-resize",
        "linux.passwd-tools",
        "boot.boot-mode",
        "boot.uefi-fallback",
        "boot.bios-boot-code",
        "fs.free-space",
        "fs.free-inodes",
    ]);
    // cloud-init's netplan file matches the NIC by MAC, but cloud-init (enabled, network
    // configuration not disabled) writes it again for the new instance: no risk, and the detail
    // says why.
    ok.push("linux.persistent-net");
    assert_status(&c, &ok, "no_risk");
    let pn = result(&c, "linux.persistent-net")["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(
        pn.contains("/etc/netplan/50-cloud-init.yaml line 8 is cloud-init's"),
        "{pn}"
    );
}

#[test]
fn leap156() {
    let v = inspect("leap156");
    let g = &v["guest"];
    assert_eq!(g["distro"], "opensuse-leap");
    assert_eq!(g["version"], "15.6");
    assert_eq!(strs(&g["id_like"]), ["suse", "opensuse"]);
    assert_eq!(g["arch"], "x86_64");
    // Leap 15 keeps rpm's ndb database: recognised, not read.
    assert_eq!(g["packages"]["format"], "rpm-ndb");
    assert_eq!(g["packages"]["readable"], false);
    assert_eq!(strs(&g["network"]["systems"]), ["wicked"]);
    assert_eq!(g["network"]["interfaces"][0]["name"], "eth0");
    assert_eq!(g["network"]["interfaces"][0]["method"], "dhcp");
    assert_eq!(
        strs(&g["network"]["services_enabled"]),
        ["network", "wicked"]
    );
    // Every Btrfs mount (the default subvolume as /, subvol=/@/… for the rest) resolves to
    // partition 3, and the files of each subvolume show through the assembled guest.
    let fstab = g["fstab"].as_array().unwrap();
    assert_eq!(fstab.len(), 11);
    for m in &fstab[..10] {
        assert_eq!(m["entry"]["fs_type"], "btrfs");
        assert_eq!(m["resolution"]["volume"], "3", "{m:#}");
    }
    assert_eq!(fstab[6]["entry"]["mount_point"], "/home");
    assert_eq!(strs(&fstab[6]["entry"]["options"]), ["subvol=/@/home"]);
    let cat = |p: &str| String::from_utf8(run(&["cat", &image("leap156"), p]).stdout).unwrap();
    assert_eq!(
        cat("/home/opensuse/.bashrc"),
        "# ~/.bashrc of opensuse (in subvolume @/home)\n"
    );
    assert_eq!(
        cat("/var/lib/zypp/AnonymousUniqueId"),
        "4f0c1e8b2d3a4c5e9f6a7b8c9d0e1f2a\n"
    );
    assert!(cat("/.snapshots/1/info.xml").contains("<num>1</num>"));
    assert_eq!(
        cat("/boot/grub2/i386-pc/normal.mod"),
        "phony GRUB module normal\n"
    );
    assert_eq!(cat("/var/lib/rpm/Packages.db").get(..4), Some("RpmP"));
    let b = &g["boot"];
    assert_eq!(b["loader"], "grub2");
    assert_eq!(b["config_path"], "/boot/grub2/grub.cfg");
    assert_eq!(b["default_spec"], "openSUSE Leap 15.6");
    assert_eq!(b["grubenv"]["saved_entry"], "openSUSE Leap 15.6");
    assert_eq!(b["default_entry"]["title"], "openSUSE Leap 15.6");
    let k = default_kernel(g);
    assert_eq!(k["version"], "6.4.0-150600.23.25-default");
    assert_eq!(k["initrd"], "/boot/initrd-6.4.0-150600.23.25-default");
    assert_eq!(strs(&k["initrd_summary"]["compressions"]), ["none", "xz"]);
    assert_eq!(
        initramfs_modules("leap156", "/boot/initrd-6.4.0-150600.23.25-default"),
        set(&[
            "btrfs",
            "nvme",
            "nvme_core",
            "virtio_blk",
            "virtio_net",
            "virtio_pci",
            "virtio_pci_modern_dev",
            "virtio_scsi",
            "xen_blkfront"
        ])
    );

    let c = check("leap156");
    // The catalogue: Alibaba Cloud does not support Btrfs as a system filesystem.
    assert_strongly(&c, &["fs.supported"]);
    assert_finding(
        &c,
        "fs.supported",
        "strongly_recommended",
        "btrfs on partition 3",
    );
    assert_eq!(c["header"]["boot_mode"], "bios+uefi");
    let mut ok: Vec<&str> = GOOD_LINUX.to_vec();
    ok.extend([
        "linux.nvme",
        "linux.persistent-net",
        "linux.online-resize",
        "boot.boot-mode",
        "boot.uefi-fallback",
        "fs.free-space",
    ]);
    assert_status(&c, &ok, "no_risk");
}

#[test]
fn alpine320() {
    let v = inspect("alpine320");
    let g = &v["guest"];
    assert_eq!(g["distro"], "alpine");
    assert_eq!(g["version"], "3.20.3");
    assert_eq!(g["arch"], "x86_64");
    assert_eq!(g["arch_source"], "/bin/sh");
    assert_eq!(g["packages"]["format"], "apk");
    assert_eq!(g["packages"]["path"], "/lib/apk/db/installed");
    assert_eq!(g["packages"]["list"].as_array().unwrap().len(), 12);
    assert_eq!(g["agents"]["cloud_init"]["version"], "24.1.4-r0");
    assert_eq!(strs(&g["network"]["systems"]), ["ifupdown"]);
    assert_eq!(strs(&g["network"]["services_enabled"]), ["networking"]);
    let units = strs(&g["enabled_units"]);
    assert!(units.contains(&"sshd (openrc)".to_string()), "{units:?}");
    assert!(
        !units.contains(&"killprocs (openrc)".to_string()),
        "{units:?}"
    );
    let b = &g["boot"];
    assert_eq!(b["loader"], "extlinux");
    assert_eq!(b["config_path"], "/boot/extlinux.conf");
    assert_eq!(b["default_entry"]["title"], "Linux virt");
    assert_eq!(b["default_entry"]["kernel"], "/boot/vmlinuz-virt");
    assert!(b["default_entry"]["cmdline"]
        .as_str()
        .unwrap()
        .starts_with("root=UUID=a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d modules=sd-mod"));
    // The flavour-named kernel gets its version from /lib/modules.
    let k = default_kernel(g);
    assert_eq!(k["version"], "6.6.58-0-virt");
    assert_eq!(k["image"], "/boot/vmlinuz-virt");
    assert_eq!(k["initrd"], "/boot/initramfs-virt");
    assert_eq!(k["config"], "/boot/config-6.6.58-0-virt");
    assert_eq!(strs(&k["initrd_summary"]["compressions"]), ["gzip"]);
    assert_eq!(
        initramfs_modules("alpine320", "/boot/initramfs-virt"),
        set(&[
            "ext4",
            "jbd2",
            "mbcache",
            "nvme",
            "nvme_core",
            "virtio",
            "virtio_blk",
            "virtio_net",
            "virtio_pci",
            "virtio_ring",
            "virtio_scsi"
        ])
    );

    let c = check("alpine320");
    assert_strongly(&c, &[]);
    // syslinux's mbr.bin in sector 0, MBR disk: BIOS.
    assert_eq!(c["header"]["boot_mode"], "bios");
    let mut ok: Vec<&str> = GOOD_LINUX.to_vec();
    ok.extend([
        "linux.nvme",
        "linux.persistent-net",
        "linux.online-resize",
        "linux.passwd-tools",
        "fs.free-space",
        "fs.free-inodes",
    ]);
    assert_status(&c, &ok, "no_risk");
}

#[test]
fn centos610() {
    let v = inspect("centos610");
    let g = &v["guest"];
    assert_eq!(g["distro"], "centos");
    assert_eq!(g["version"], "6.10");
    assert_eq!(g["pretty_name"], "CentOS release 6.10 (Final)");
    assert_eq!(g["release_file"], "/etc/centos-release");
    assert_eq!(g["hostname"], "centos6.localdomain");
    // rpm's Berkeley DB: recognised by its hash magic, not read.
    assert_eq!(g["packages"]["format"], "rpm-bdb");
    assert_eq!(g["packages"]["path"], "/var/lib/rpm/Packages");
    assert_eq!(g["packages"]["readable"], false);
    assert_eq!(strs(&g["network"]["systems"]), ["ifcfg"]);
    assert_eq!(strs(&g["network"]["services_enabled"]), ["network"]);
    assert!(strs(&g["enabled_units"]).contains(&"sshd (sysv)".to_string()));
    let b = &g["boot"];
    assert_eq!(b["loader"], "grub-legacy");
    assert_eq!(b["default_spec"], "0");
    assert_eq!(
        b["default_entry"]["title"],
        "CentOS 6 (2.6.32-754.35.1.el6.x86_64)"
    );
    // Paths relative to the separate /boot partition.
    assert_eq!(
        b["default_entry"]["kernel"],
        "/boot/vmlinuz-2.6.32-754.35.1.el6.x86_64"
    );
    assert_eq!(g["kernels"].as_array().unwrap().len(), 2);
    let k = default_kernel(g);
    assert_eq!(k["version"], "2.6.32-754.35.1.el6.x86_64");
    assert_eq!(
        initramfs_modules(
            "centos610",
            "/boot/initramfs-2.6.32-754.35.1.el6.x86_64.img"
        ),
        set(&[
            "ext4",
            "jbd2",
            "mbcache",
            "nvme",
            "virtio",
            "virtio_blk",
            "virtio_net",
            "virtio_pci",
            "virtio_ring",
            "virtio_scsi",
            "xen_blkfront"
        ])
    );

    let c = check("centos610");
    assert_strongly(&c, &[]);
    assert_eq!(c["header"]["boot_mode"], "bios");
    // What the catalogue says of a CentOS 6 guest: a kernel too old for the newest instance
    // types, SELinux enforcing, iptables enabled, no NVMe I/O timeout (all recommended).
    assert_finding(
        &c,
        "linux.new-instance-types",
        "recommended",
        "older than 3.10",
    );
    assert_finding(&c, "linux.selinux", "recommended", "SELINUX=enforcing");
    assert_finding(&c, "linux.firewall", "recommended", "iptables.service");
    // A 2.6.32 kernel: the parameter is nvme.io_timeout and its maximum 255.
    assert_finding(&c, "linux.nvme", "recommended", "has no nvme.io_timeout");
    assert_status(
        &c,
        &[
            "linux.online-resize",
            "linux.os-version",
            "linux.virtio",
            "linux.fstab",
            "linux.dhcp",
            "linux.grub",
        ],
        "no_risk",
    );
}

/// Ubuntu laid out for UEFI only without the fallback loader; nearly full root (space and
/// inodes); a persistent-net rule; the default kernel built without NVMe.
#[test]
fn linux_bad3() {
    let v = inspect("linux-bad3");
    let g = &v["guest"];
    assert_eq!(g["distro"], "ubuntu");
    let k = default_kernel(g);
    assert_eq!(k["version"], "6.8.0-49-generic");
    assert_eq!(k["drivers"]["nvme"]["status"], "absent");
    assert_eq!(
        initramfs_modules("linux-bad3", "/boot/initrd.img-6.8.0-49-generic"),
        set(&["ena", "hv_netvsc", "hv_storvsc", "xen_blkfront"])
    );
    // The older kernel still has it.
    assert!(initramfs_modules("linux-bad3", "/boot/initrd.img-6.8.0-45-generic").contains("nvme"));
    assert_eq!(
        g["network"]["persistent_rules"].as_array().unwrap().len(),
        1
    );
    // The swap file is a file of the root, not a missing device.
    assert_eq!(g["fstab"][2]["entry"]["spec_raw"], "/swapfile");
    assert_eq!(g["fstab"][2]["resolution"]["status"], "not_a_device");

    let c = check("linux-bad3");
    let (sr, ro) = ("strongly_recommended", "recommended");
    assert_strongly(
        &c,
        &[
            "boot.uefi-fallback",
            "linux.initramfs-drivers",
            "linux.nvme",
        ],
    );
    assert_eq!(c["header"]["boot_mode"], "uefi");
    assert_finding(
        &c,
        "boot.uefi-fallback",
        sr,
        "no fallback loader \\EFI\\BOOT\\BOOTX64.EFI",
    );
    assert_finding(
        &c,
        "linux.nvme",
        sr,
        "default kernel 6.8.0-49-generic has no nvme driver",
    );
    assert_finding(&c, "linux.initramfs-drivers", sr, "nvme: absent");
    assert_finding(&c, "fs.free-space", ro, "(root) has 3.1 MiB");
    assert_finding(&c, "fs.free-inodes", ro, "(root) has 38 free inodes");
    assert_finding(
        &c,
        "linux.persistent-net",
        ro,
        "/etc/udev/rules.d/70-persistent-net.rules line 5 pins eth0 to MAC 52:54:00:4a:1c:07",
    );
    assert_status(&c, &["linux.fstab", "linux.virtio"], "no_risk");
}

/// Alpine on MBR with no BIOS boot code and the root in LUKS2: reported, not guessed.
#[test]
fn linux_bad4() {
    let v = inspect("linux-bad4");
    assert!(v["guest"].is_null(), "{:#}", v["guest"]);
    let vols = v["volumes"].as_array().unwrap();
    assert!(
        vols.iter().any(|x| x.to_string().contains("luks2")),
        "{:#}",
        v["volumes"]
    );
    let c = check("linux-bad4");
    let sr = "strongly_recommended";
    assert_strongly(&c, &["boot.bios-boot-code", "disk.encrypted-volume"]);
    assert_finding(
        &c,
        "disk.encrypted-volume",
        sr,
        "partition 2 (byte offset 68157440) is a luks2 encrypted volume",
    );
    assert_finding(
        &c,
        "boot.bios-boot-code",
        sr,
        "sector 0 bytes 0..440 are all zero",
    );
    // The guest's facts are behind the encryption: the Linux checks are not evaluated.
    assert_status(
        &c,
        &["linux.virtio", "linux.fstab", "linux.os-version"],
        "not_evaluated",
    );
}

/// A qcow2 overlay of ubuntu2404.qcow2: the backing file is not opened without
/// --follow-backing, and the report says so; with it, the guest is the Ubuntu one.
#[test]
fn linux_backing() {
    let v = inspect("linux-backing");
    assert!(v["guest"].is_null());
    assert!(
        v["anomalies"]
            .to_string()
            .contains("backing file \\\"ubuntu2404.qcow2\\\" not followed (use --follow-backing)"),
        "{:#}",
        v["anomalies"]
    );
    let c = check("linux-backing");
    assert_finding(
        &c,
        "disk.image-integrity",
        "strongly_recommended",
        "qcow2 image depends on the backing file \"ubuntu2404.qcow2\"",
    );
    assert_finding(
        &c,
        "disk.image-integrity",
        "recommended",
        "not followed (use --follow-backing)",
    );
    // The overlay stores almost nothing; judging the zeros where the backing file's data would be
    // would report a disk without partitions or a boot path: those checks are not evaluated, only
    // the container's own checks run.
    assert_eq!(
        c["summary"]["strongly_recommended"], 1,
        "{:#}",
        c["summary"]
    );
    assert_status(
        &c,
        &[
            "disk.system-image",
            "disk.partition-table",
            "boot.boot-mode",
            "disk.encrypted-volume",
            "disk.swap",
            "boot.uefi-fallback",
            "linux.fstab",
        ],
        "not_evaluated",
    );
    assert_status(
        &c,
        &["disk.image-format", "disk.size-limits", "disk.allocation"],
        "no_risk",
    );
    let out = run(&[
        "inspect",
        "--json",
        "--follow-backing",
        &image("linux-backing"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["guest"]["distro"], "ubuntu");
    assert_eq!(f["guest"]["version"], "24.04");
}

/// The generator rebuilds the committed images: deterministic ones byte for byte (raw disk
/// sha256, qcow2, tool outputs); linux-bad4's LUKS2 key material and leap156's Btrfs chunk-tree
/// UUID and inode ctimes are not reproducible, so only their tool outputs (without salts or
/// times) are compared.
#[test]
fn script_rebuilds_the_committed_guests() {
    let tools = [
        "sfdisk",
        "mkfs.fat",
        "mcopy",
        "mdir",
        "mkfs.ext4",
        "debugfs",
        "dumpe2fs",
        "e2fsck",
        "mkfs.btrfs",
        "btrfs",
        "cryptsetup",
        "db5.3_load",
        "db5.3_stat",
        "cpio",
        "gzip",
        "xz",
        "zstd",
        "faketime",
        "python3",
        "qemu-img",
        "qemu-io",
        "grub-mkimage",
    ];
    if !common::require_tools("script_rebuilds_the_committed_guests", &tools) {
        return;
    }
    let dir = root().join("testdata/distro-guests");
    let manifest = std::fs::read_to_string(dir.join("manifest.txt")).unwrap();
    let want_grub = manifest
        .lines()
        .find_map(|l| l.strip_prefix("grub_version "))
        .unwrap()
        .to_string();
    let have_grub = Command::new(common::tool_path("grub-mkimage"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let extras = [
        "/usr/lib/grub/i386-pc/boot.img",
        "/usr/lib/EXTLINUX/mbr.bin",
    ];
    let extras_ok = extras.iter().all(|p| std::path::Path::new(p).exists());
    if !have_grub.ends_with(&format!(" {want_grub}")) || !extras_ok {
        let msg = format!(
            "SKIPPED: the committed guests were built with GRUB {want_grub} (Debian grub-pc-bin) \
             and need {extras:?} (grub-pc-bin, extlinux); this machine has {have_grub:?}, files \
             present: {extras_ok} (test script_rebuilds_the_committed_guests)"
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
        .arg(root().join("scripts/make-distro-guests.sh"))
        .arg("--out")
        .arg(out.path())
        .current_dir(root())
        .output()
        .expect("run scripts/make-distro-guests.sh");
    assert!(
        o.status.success(),
        "make-distro-guests.sh: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    let mut diffs = Vec::new();
    for n in &names {
        // Random by construction: LUKS2 key material; Btrfs chunk-tree UUID and ctimes.
        if n == "linux-bad4.qcow2" || n == "leap156.qcow2" {
            continue;
        }
        let fresh = std::fs::read(out.path().join(n)).unwrap_or_default();
        let committed = std::fs::read(dir.join(n)).unwrap();
        if fresh != committed {
            diffs.push(n.clone());
        }
    }
    assert!(
        diffs.is_empty(),
        "a fresh run of scripts/make-distro-guests.sh differs in {diffs:?}"
    );
}
