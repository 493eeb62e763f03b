//! Golden check reports of the bundled sample and the phony Linux guests:
//! `imgcheck check --format json` of `testdata/sample/sample.qcow2` and
//! `testdata/linux-guests/linux-{good,bad1,bad2}.qcow2` (built by scripts/make-linux-guests.sh)
//! and `testdata/rhel-guest/rhel9.qcow2` (Rocky Linux 9.4, root on XFS on LVM, BLS entries;
//! built by scripts/make-rhel-guest.sh)
//! equals `testdata/golden/<name>.json`; every defect planted in a bad guest is reported by its
//! check with the expected severity (so re-blessing cannot silently drop one), and the good guest
//! and the sample have no strongly recommended finding. `IMGCHECK_BLESS=1` rewrites the goldens
//! (review the diff). Images are passed relative to the repository root so the report's image
//! path is stable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
mod common;

use common::golden::{assert_finding, report, result};

#[track_caller]
fn assert_no_strongly_recommended(v: &Value) {
    assert!(
        v["strongly_recommended"].as_array().unwrap().is_empty(),
        "{:#}",
        v["strongly_recommended"]
    );
}

/// Checks that pass on the good guest (and are the ones the bad guests break).
const GOOD_LINUX: &[&str] = &[
    "linux.platform",
    "linux.os-version",
    "linux.architecture",
    "linux.kernel-version",
    "linux.new-instance-types",
    "linux.kernel-initrd",
    "linux.virtio",
    "linux.nvme",
    "linux.initramfs-drivers",
    "linux.grub",
    "linux.fstab",
    "disk.root-single-disk",
    "linux.dhcp",
    "linux.persistent-net",
    "linux.selinux",
    "linux.rtc-time-mode",
    "linux.online-resize",
    "linux.cloud-init",
    "linux.qemu-guest-agent",
    "linux.shadow-writable",
    "linux.root-account",
    "linux.passwd-tools",
    "linux.ssh",
    "linux.firewall",
    "linux.lib-symlinks",
    "linux.serial-console",
    "linux.other-hypervisor-tools",
    "linux.generalization",
];

#[test]
fn sample_report() {
    let v = report("sample", "testdata/sample/sample.qcow2");
    assert_no_strongly_recommended(&v);
    // The sample lacks only nvme_core.io_timeout among the Linux checks' concerns.
    assert_finding(
        &v,
        "linux.nvme",
        "recommended",
        "has no nvme_core.io_timeout",
    );
    assert_eq!(result(&v, "linux.cloud-init")["status"], "no_risk");
    // GRUB's real boot.img and core.img (scripts/make-sample.sh): BIOS and UEFI both offered.
    assert_bios_and_uefi(&v);
}

/// GRUB's boot.img in the MBR and its core.img in the BIOS boot partition: both boot modes.
#[track_caller]
fn assert_bios_and_uefi(v: &Value) {
    assert_eq!(v["header"]["boot_mode"], "bios+uefi", "{:#}", v["header"]);
    assert_eq!(
        result(v, "boot.bios-boot-code")["detail"],
        "GRUB boot.img in sector 0; GRUB core.img in BIOS boot partition 1"
    );
    assert_eq!(result(v, "boot.boot-mode")["status"], "no_risk");
}

#[test]
fn linux_good_report() {
    let v = report("linux-good", "testdata/linux-guests/linux-good.qcow2");
    assert_no_strongly_recommended(&v);
    assert_bios_and_uefi(&v);
    for id in GOOD_LINUX {
        assert_eq!(
            result(&v, id)["status"],
            "no_risk",
            "{id}: {:#}",
            result(&v, id)
        );
    }
    assert_eq!(
        result(&v, "linux.kernel-version")["detail"],
        "6.1.0-28-cloud-amd64 (/boot/vmlinuz-6.1.0-28-cloud-amd64; default entry \"Debian \
         GNU/Linux\" in /boot/grub/grub.cfg line 3)"
    );
}

#[test]
fn linux_bad1_report() {
    let v = report("linux-bad1", "testdata/linux-guests/linux-bad1.qcow2");
    let sr = "strongly_recommended";
    // Defects planted by scripts/make-linux-guests.sh.
    assert_finding(
        &v,
        "linux.virtio",
        sr,
        "virtio_blk: absent; virtio_net: absent; virtio_pci: absent",
    );
    assert_finding(&v, "linux.initramfs-drivers", sr, "lacks root-disk drivers");
    assert_finding(&v, "linux.nvme", sr, "lacks it");
    assert_finding(
        &v,
        "linux.grub",
        sr,
        "/boot/grub/grub.cfg line 4: root=/dev/sda1",
    );
    assert_finding(
        &v,
        "linux.fstab",
        sr,
        "/etc/fstab line 2 (/dev/sda1 on /) uses the kernel device name",
    );
    assert_finding(
        &v,
        "linux.fstab",
        sr,
        "/etc/fstab line 4 (UUID=deadbeef-0000-4000-8000-00000000dead on /data) names a device",
    );
    // The zeroed BIOS boot partition under GRUB's boot.img: recommended (UEFI still boots).
    assert_finding(
        &v,
        "boot.bios-boot-code",
        "recommended",
        "BIOS boot partition 1 holds no GRUB core.img",
    );
    assert_eq!(v["header"]["boot_mode"], "uefi", "{:#}", v["header"]);
}

#[test]
fn linux_bad2_report() {
    let v = report("linux-bad2", "testdata/linux-guests/linux-bad2.qcow2");
    let (sr, ro) = ("strongly_recommended", "recommended");
    assert_finding(
        &v,
        "linux.dhcp",
        sr,
        "static IPv4 address (/etc/sysconfig/network-scripts/ifcfg-eth0",
    );
    assert_finding(&v, "linux.shadow-writable", sr, "immutable");
    assert_finding(
        &v,
        "linux.persistent-net",
        ro,
        "pinned to MAC 52:54:00:12:34:56",
    );
    assert_finding(
        &v,
        "linux.selinux",
        ro,
        "SELINUX=enforcing in /etc/selinux/config line 1",
    );
    assert_finding(&v, "linux.rtc-time-mode", ro, "LOCAL");
    assert_finding(&v, "linux.cloud-init", ro, "cloud-init is not installed");
    // Enabled through SysV links (update-rc.d), not a systemd wants link.
    assert_finding(
        &v,
        "linux.qemu-guest-agent",
        ro,
        "installed and enabled (/etc/init.d/qemu-guest-agent, /etc/rc2.d/S01qemu-guest-agent, /usr/bin/qemu-ga)",
    );
    // The port comes from the file sshd_config includes, and the evidence names it.
    assert_finding(
        &v,
        "linux.ssh",
        ro,
        "/etc/ssh/sshd_config.d/10-port.conf line 1: sshd listens on port 2200 only",
    );
}

/// The Rocky Linux 9 cloud guest: root on XFS on LVM (`rl/root`), /boot on XFS, BLS entries with
/// the default chosen by grubenv's `saved_entry`, a dracut initramfs, NetworkManager DHCP. Its
/// only concerns are the ones a stock Rocky cloud image has: SELinux enforcing and
/// qemu-guest-agent installed (both recommended), no nvme_core.io_timeout.
#[test]
fn rhel9_report() {
    let v = report("rhel9", "testdata/rhel-guest/rhel9.qcow2");
    assert_no_strongly_recommended(&v);
    assert_bios_and_uefi(&v);
    let ro = "recommended";
    assert_finding(
        &v,
        "linux.selinux",
        ro,
        "SELINUX=enforcing in /etc/selinux/config line 7",
    );
    assert_finding(&v, "linux.qemu-guest-agent", ro, "/usr/bin/qemu-ga");
    assert_finding(&v, "linux.nvme", ro, "has no nvme_core.io_timeout");
    for id in [
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
        "linux.persistent-net",
        "linux.rtc-time-mode",
        "linux.cloud-init",
        "linux.shadow-writable",
        "linux.root-account",
        "linux.ssh",
        "linux.serial-console",
        "linux.generalization",
        "boot.boot-mode",
        "boot.uefi-fallback",
        "fs.supported",
        "fs.clean-state",
    ] {
        assert_eq!(
            result(&v, id)["status"],
            "no_risk",
            "{id}: {:#}",
            result(&v, id)
        );
    }
    let kv = "5.14.0-427.13.1.el9_4.x86_64";
    let entry = format!("/boot/loader/entries/4f0c1e8b2d3a4c5e9f6a7b8c9d0e1f2a-{kv}.conf");
    assert_eq!(
        result(&v, "linux.kernel-version")["detail"],
        format!(
            "{kv} (/boot/vmlinuz-{kv}; default entry \"Rocky Linux ({kv}) 9.4 (Blue Onyx)\" in \
             {entry} line 1)"
        )
    );
    assert!(
        result(&v, "linux.grub")["detail"]
            .as_str()
            .unwrap()
            .ends_with("root=/dev/mapper/rl-root"),
        "{:#}",
        result(&v, "linux.grub")
    );
}
