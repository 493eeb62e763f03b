//! [`REGISTRY`]: the one explicit, ordered list of checks. Report order is this order.
//!
//! Tidy tests here keep it honest: every module in `src/checks/` is registered, file name =
//! check slug (the id with `.` and `-` as `_`), ids are unique and well-formed, and every check
//! module has tests. Our own code (rust-analyzer's `ide-diagnostics` registry is the model).

use crate::checks::*;
use crate::verdict::Check;

/// Every check, in report order.
pub static REGISTRY: &[&dyn Check] = &[
    &disk_image_format::ImageFormat,
    &disk_image_integrity::ImageIntegrity,
    &disk_system_image::SystemImage,
    &disk_encrypted_volume::EncryptedVolume,
    &disk_partition_table::PartitionTable,
    &boot_boot_mode::BootModeCheck,
    &boot_bios_boot_code::BiosBootCode,
    &boot_uefi_fallback::UefiFallback,
    &disk_partition_alignment::PartitionAlignment,
    &disk_size_alignment::SizeAlignment,
    &disk_size_limits::SizeLimits,
    &disk_allocation::Allocation,
    &fs_supported::FsSupported,
    &fs_clean_state::CleanState,
    &fs_ext4_features::Ext4Features,
    &fs_free_space::FreeSpace,
    &fs_free_inodes::FreeInodes,
    &disk_swap::Swap,
    &linux_platform::Platform,
    &linux_os_version::OsVersion,
    &linux_architecture::Architecture,
    &linux_kernel_version::KernelVersion,
    &linux_new_instance_types::NewInstanceTypes,
    &linux_kernel_initrd::KernelInitrd,
    &linux_virtio::Virtio,
    &linux_initramfs_drivers::InitramfsDrivers,
    &linux_nvme::Nvme,
    &linux_grub::Grub,
    &linux_fstab::FstabCheck,
    &disk_root_single_disk::RootSingleDisk,
    &linux_dhcp::Dhcp,
    &linux_persistent_net::PersistentNet,
    &linux_selinux::Selinux,
    &linux_rtc_time_mode::RtcTimeMode,
    &linux_online_resize::OnlineResize,
    &linux_cloud_init::CloudInit,
    &linux_cloud_assistant::CloudAssistant,
    &linux_security_center::SecurityCenter,
    &linux_qemu_guest_agent::QemuGuestAgent,
    &linux_shadow_writable::ShadowWritable,
    &linux_root_account::RootAccount,
    &linux_passwd_tools::PasswdTools,
    &linux_ssh::Ssh,
    &linux_firewall::Firewall,
    &linux_lib_symlinks::LibSymlinks,
    &linux_serial_console::SerialConsole,
    &linux_other_hypervisor_tools::OtherHypervisorTools,
    &linux_generalization::Generalization,
    // Linux checks (checks.md §2) — insert new entries above this line.
    &windows_platform::Platform,
    &windows_os_version::OsVersion,
    &windows_architecture::Architecture,
    &windows_kernel_version::KernelVersion,
    &windows_virtio::Virtio,
    &windows_bcd::Bcd,
    &windows_registry::Registry,
    &windows_hotfix::Hotfix,
    &windows_disk::Disk,
    &windows_sysprep::Sysprep,
    &windows_update::Update,
    &windows_xen::Xen,
    &windows_cloud_assistant::CloudAssistant,
    &windows_driver_install::DriverInstall,
    &windows_desktop_config::DesktopConfig,
    &windows_bootmgr::BootMgr,
    &windows_os_loader::OsLoader,
    &windows_vminit::Vminit,
    &windows_rdp::Rdp,
    &windows_hibernation::Hibernation,
    &windows_bitlocker::BitLocker,
    &windows_hypervisor_tools::HypervisorTools,
    &windows_virtio_read_only::VirtioReadOnly,
    &windows_dhcp::Dhcp,
    &windows_core_services::CoreServices,
    &windows_qemu_guest_agent::QemuGuestAgent,
    &windows_rtc::Rtc,
    &windows_activation::Activation,
    &windows_crash_dump::CrashDump,
    &windows_firewall::Firewall,
    &windows_pagefile::Pagefile,
    &windows_san_policy::SanPolicy,
    &windows_drive_letters::DriveLetters,
    &windows_domain_controller_volumes::DomainControllerVolumes,
    &windows_group_policy::GroupPolicy,
    &windows_serial_console::SerialConsole,
    // Windows checks (checks.md §3) — insert new entries above this line.
];

/// Namespaces a check id may start with.
pub const NAMESPACES: &[&str] = &["disk", "boot", "fs", "linux", "windows"];

/// A check by id.
pub fn find(id: &str) -> Option<&'static dyn Check> {
    REGISTRY.iter().copied().find(|c| c.meta().id == id)
}

/// Whether `id` matches `^(disk|boot|fs|linux|windows)\.[a-z0-9]+(-[a-z0-9]+)*$`.
pub fn is_valid_id(id: &str) -> bool {
    let Some((ns, name)) = id.split_once('.') else {
        return false;
    };
    NAMESPACES.contains(&ns)
        && !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The module (file) name of a check: `disk.image-format` → `disk_image_format`.
pub fn slug(id: &str) -> String {
    id.replace(['.', '-'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn id_validation() {
        for ok in [
            "disk.image-format",
            "fs.free-space",
            "linux.a1-b2",
            "boot.x",
        ] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in [
            "disk",
            "disk.",
            "Disk.x",
            "net.x",
            "disk.Image",
            "disk.a--b",
            "disk.a-",
            "disk.-a",
            "disk.a_b",
            "disk.a.b",
            "fs.free space",
        ] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn ids_are_valid_and_unique() {
        let mut seen = BTreeSet::new();
        for c in REGISTRY {
            let id = c.meta().id;
            assert!(is_valid_id(id), "malformed check id {id:?}");
            assert!(seen.insert(id), "duplicated check id {id:?}");
            assert!(!c.meta().title.is_empty(), "{id}: empty title");
            assert!(!c.meta().description.is_empty(), "{id}: empty description");
            assert!(!c.meta().remedy.is_empty(), "{id}: empty remedy");
            assert!(!c.meta().inputs.is_empty(), "{id}: no declared inputs");
            if let Some(item) = c.meta().alibaba_item {
                assert!(item.starts_with("GUESTOS."), "{id}: alibaba item {item}");
            }
        }
        assert!(find("disk.image-format").is_some());
        assert!(find("disk.nope").is_none());
    }

    /// Every file in src/checks/ is a registered check with tests, and every check has a file.
    #[test]
    fn check_modules_match_the_registry() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        let ids: BTreeSet<String> = REGISTRY.iter().map(|c| slug(c.meta().id)).collect();
        let mut files = BTreeSet::new();
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if stem == "mod" || path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            assert!(
                ids.contains(stem),
                "src/checks/{stem}.rs is not a registered check (add it to REGISTRY, or rename it to its check's slug)"
            );
            let id = REGISTRY
                .iter()
                .map(|c| c.meta().id)
                .find(|id| slug(id) == stem)
                .unwrap_or_default();
            assert!(
                src.contains(&format!("id: \"{id}\"")),
                "src/checks/{stem}.rs does not define the metadata of {id}"
            );
            assert!(
                src.contains("#[cfg(test)]") && src.contains("#[test]"),
                "src/checks/{stem}.rs has no tests"
            );
            assert!(
                src.starts_with("//!"),
                "src/checks/{stem}.rs lacks its //! doc"
            );
            files.insert(stem.to_string());
        }
        for id in &ids {
            assert!(
                files.contains(id),
                "registered check {id} has no file src/checks/{id}.rs"
            );
        }
        let modrs = std::fs::read_to_string(dir.join("mod.rs")).unwrap_or_default();
        for id in &ids {
            assert!(
                modrs.contains(&format!("pub mod {id};")),
                "mod.rs lacks {id}"
            );
        }
    }
}
