//! The bundled sample guest (testdata/sample/sample.qcow2, built by scripts/make-sample.sh)
//! read through the real layers: container → GPT → ext4/FAT → guest assembly → Linux facts.
//! Every assertion is a fact the script put into the image.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]

use imgcheck_core::{BlockSource, Limits};
use imgcheck_fs::Probed;
use imgcheck_inspect::kconfig::DriverStatus;
use imgcheck_inspect::network::Method;
use imgcheck_inspect::VolumeDesc;
use std::path::Path;
use std::sync::Arc;

const KVER: &str = "6.1.0-28-cloud-amd64";
const ROOT_UUID: &str = "2f8c6a3e-1b4d-4c5e-9f7a-8b9c0d1e2f3a";

fn sample_facts() -> imgcheck_inspect::linux::LinuxFacts {
    sample_facts_with(imgcheck_inspect::linux::InitrdDepth::Full)
}

fn sample_facts_with(
    depth: imgcheck_inspect::linux::InitrdDepth,
) -> imgcheck_inspect::linux::LinuxFacts {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample/sample.qcow2");
    let limits = Limits::default();
    let disk = imgcheck_container::open(&path, &imgcheck_container::OpenOptions::default())
        .expect("open sample.qcow2");
    let src = disk.source();
    let table =
        imgcheck_volume::read_partition_table(src.as_ref(), &limits).expect("partition table");
    let mut vols = Vec::new();
    for p in &table.partitions {
        let s: Arc<dyn BlockSource> = Arc::new(p.source(src.clone()).expect("partition source"));
        let (fs, fs_type, uuid, label) = match imgcheck_fs::probe(s.as_ref()) {
            Ok(Probed::Filesystem(t)) => {
                let fs: Arc<dyn imgcheck_fs::GuestFs> =
                    Arc::from(imgcheck_fs::open_as(s.clone(), t, &limits).expect("open fs"));
                let i = fs.volume_info();
                (Some(fs), Some(t.name().to_string()), i.uuid, i.label)
            }
            _ => (None, None, None, None),
        };
        vols.push(VolumeDesc {
            id: p.number.to_string(),
            partition: Some(p.number),
            part_uuid: p.guid.clone(),
            part_label: p.name.clone(),
            mbr_signature: table.mbr_signature,
            fs_type,
            fs_uuid: uuid,
            fs_label: label,
            fs,
        });
    }
    let roots = imgcheck_inspect::find_linux_roots(&vols);
    assert_eq!(roots.len(), 1);
    let a = imgcheck_inspect::assemble(&vols, roots[0], limits.max_symlink_depth, 1 << 20)
        .expect("assemble");
    imgcheck_inspect::linux::inspect_with(&a.view, &limits, depth)
}

/// Listing the initramfs only until the cloud drivers the kernel has as modules are seen gives
/// the checks the same driver facts as the full listing.
#[test]
fn initramfs_listed_until_the_cloud_drivers_gives_the_same_drivers() {
    use imgcheck_inspect::kconfig::DriverStatus;
    let full = sample_facts();
    let short = sample_facts_with(imgcheck_inspect::linux::InitrdDepth::UntilCloudDrivers);
    let (kf, ks) = (&full.kernels[0], &short.kernels[0]);
    let (f, s) = (
        kf.initrd_summary.as_ref().unwrap(),
        ks.initrd_summary.as_ref().unwrap(),
    );
    eprintln!("full: {f:?}\nshort: {s:?}");
    let modules: Vec<&String> = kf
        .drivers
        .iter()
        .filter(|(_, st)| matches!(st, DriverStatus::Module { .. }))
        .map(|(n, _)| n)
        .collect();
    let all_in = modules.iter().all(|m| f.drivers_found.contains(m));
    assert!(f.complete && !f.stopped_early);
    assert_eq!(s.stopped_early, all_in, "{modules:?}");
    assert_eq!(s.drivers_found, f.drivers_found);
    assert!(s.entries <= f.entries);
    assert_eq!(s.complete, !all_in);
    // Everything else is the same.
    let mut short = short.clone();
    short.kernels[0].initrd_summary = full.kernels[0].initrd_summary.clone();
    assert_eq!(short, full);
}

#[test]
fn sample_guest_facts() {
    let f = sample_facts();
    assert_eq!(f.distro.as_deref(), Some("debian"));
    assert_eq!(f.version.as_deref(), Some("12"));
    assert_eq!(f.arch.as_deref(), Some("x86_64"));
    assert_eq!(f.hostname.as_deref(), Some("sample-guest"));

    // Bootloader: grub.cfg on the root, the ESP's stub pointing at it.
    assert_eq!(f.boot.loader, "grub2");
    assert_eq!(f.boot.config_path.as_deref(), Some("/boot/grub/grub.cfg"));
    assert_eq!(
        f.boot.stubs,
        vec!["/boot/efi/EFI/debian/grub.cfg".to_string()]
    );
    let d = f.boot.default_entry.as_ref().expect("default entry");
    assert_eq!(d.title, "Debian GNU/Linux");
    assert_eq!(
        d.kernel.as_deref(),
        Some(format!("/boot/vmlinuz-{KVER}").as_str())
    );
    assert_eq!(d.version.as_deref(), Some(KVER));
    assert_eq!(d.initrd, vec![format!("/boot/initrd.img-{KVER}")]);
    assert!(
        d.cmdline.starts_with(&format!("root=UUID={ROOT_UUID} ro")),
        "{}",
        d.cmdline
    );
    assert_eq!(
        d.root_device.as_deref(),
        Some(format!("UUID={ROOT_UUID}").as_str())
    );
    assert_eq!((d.line, d.kernel_line), (3, Some(5)));
    assert_eq!(
        f.boot.default_grub["GRUB_CMDLINE_LINUX"].value,
        "console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200"
    );
    assert!(f.boot.problems.is_empty(), "{:?}", f.boot.problems);

    // The kernel, its drivers and its initramfs.
    assert_eq!(f.kernels.len(), 1);
    let k = &f.kernels[0];
    assert_eq!(k.version, KVER);
    assert!(k.default && k.modules_dir);
    assert_eq!(k.modules.module_source, "walk");
    assert!(matches!(
        k.drivers["virtio_pci"],
        DriverStatus::Builtin { .. }
    ));
    assert_eq!(
        k.drivers["virtio_blk"],
        DriverStatus::Module {
            path: format!("/lib/modules/{KVER}/kernel/drivers/block/virtio_blk.ko")
        }
    );
    assert!(matches!(k.drivers["nvme"], DriverStatus::Module { .. }));
    assert_eq!(
        k.drivers["virtio_net"],
        DriverStatus::Module {
            path: format!("/lib/modules/{KVER}/kernel/drivers/net/virtio_net.ko")
        }
    );
    let i = k.initrd_summary.as_ref().expect("initrd summary");
    assert_eq!(i.compressions, vec!["gzip".to_string()]);
    assert_eq!(
        i.drivers_found,
        vec![
            "virtio_blk".to_string(),
            "virtio_scsi".to_string(),
            "nvme".to_string()
        ]
    );
    assert!(i.complete && i.error.is_none(), "{i:?}");

    // Network, services, packages, agents, system.
    let eth0: Vec<_> = f
        .network
        .interfaces
        .iter()
        .filter(|i| i.name == "eth0")
        .collect();
    assert_eq!(eth0.len(), 1);
    assert_eq!(eth0[0].method, Method::Dhcp);
    assert_eq!(
        (eth0[0].source.as_str(), eth0[0].line),
        ("/etc/network/interfaces", 4)
    );
    assert_eq!(f.network.systems, vec!["ifupdown".to_string()]);
    assert!(f.enabled_units.contains(&"ssh.service".to_string()));
    assert!(f.system.sshd.enabled);
    assert_eq!(f.system.sshd.unit.as_deref(), Some("ssh.service"));
    assert_eq!(f.system.sshd.ports[0].value, "22");
    assert_eq!(f.packages.format, "dpkg");
    assert!(f.packages.readable);
    assert_eq!(
        f.packages.get("cloud-init").map(|p| p.version.as_str()),
        Some("22.4.2-1")
    );
    let ci = &f.agents.cloud_init;
    assert_eq!(ci.binary.as_deref(), Some("/usr/bin/cloud-init"));
    assert_eq!(
        ci.datasource_list.as_deref(),
        Some(&["NoCloud", "AliYun", "ConfigDrive", "None"].map(String::from)[..])
    );
    assert!(ci.growpart_module && ci.resizefs_module && !ci.growpart_disabled);
    assert_eq!(f.agents.growpart.as_deref(), Some("/usr/bin/growpart"));
    assert!(!f.agents.cloud_assistant.present && !f.agents.qemu_guest_agent.present);
    assert_eq!(f.system.rtc, "UTC");
    assert_eq!(f.system.shadow.mode, Some(0o640));
    assert!(!f.system.shadow.immutable && f.system.shadow.root_entry);
    assert!(f.system.root.present && f.system.root.shell_exists);
    assert_eq!(f.system.root.uid, Some(0));
    assert_eq!(f.system.machine_id_set, Some(false));
    let lib = f
        .system
        .lib_links
        .iter()
        .find(|l| l.path == "/lib")
        .expect("/lib link");
    assert_eq!((lib.target.as_str(), lib.absolute), ("usr/lib", false));
    assert!(f.system.selinux.is_none());
    assert!(f.system.firewall.enabled_units.is_empty());
    assert!(f
        .system
        .password_tools
        .contains(&"/usr/bin/passwd".to_string()));
    // Time zone, cloud-init version, firmware (guest side), the Xen network driver.
    assert!(f.timezone.is_none(), "{:?}", f.timezone);
    assert_eq!(
        (
            f.agents.cloud_init.version.as_deref(),
            f.agents.cloud_init.version_source.as_deref()
        ),
        (Some("22.4.2-1"), Some("package cloud-init (dpkg)"))
    );
    assert_eq!(
        f.system.sshd.config_files,
        vec!["/etc/ssh/sshd_config".to_string()]
    );
    assert_eq!(f.firmware.firmware.as_deref(), Some("uefi"));
    let fw: Vec<&str> = f
        .firmware
        .evidence
        .iter()
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        fw,
        vec![
            "EFI loader /boot/efi/EFI/BOOT/BOOTX64.EFI",
            "EFI loader /boot/efi/EFI/debian/grubx64.efi"
        ]
    );
    assert!(!f.firmware.disk_examined);
    assert_eq!(
        k.drivers["xen_netfront"],
        DriverStatus::Absent {
            config_says_module: false
        }
    );
    // The facts serialise (the engine puts them in the JSON report).
    let json = serde_json::to_string(&f).expect("serialise");
    assert!(json.contains("\"drivers_found\":[\"virtio_blk\",\"virtio_scsi\",\"nvme\"]"));
}
