//! One module per check; the file name is the check's slug (its id with `.` and `-` as `_`).
//! Registered, in report order, in [`crate::registry::REGISTRY`].

pub mod boot_bios_boot_code;
pub mod boot_boot_mode;
pub mod boot_uefi_fallback;
pub mod disk_allocation;
pub mod disk_encrypted_volume;
pub mod disk_image_format;
pub mod disk_image_integrity;
pub mod disk_partition_alignment;
pub mod disk_partition_table;
pub mod disk_size_alignment;
pub mod disk_size_limits;
pub mod disk_swap;
pub mod disk_system_image;
pub mod fs_clean_state;
pub mod fs_ext4_features;
pub mod fs_free_inodes;
pub mod fs_free_space;
pub mod fs_supported;
// Linux checks — add `pub mod linux_*;` lines above this line.
// Windows checks — add `pub mod windows_*;` lines above this line.
