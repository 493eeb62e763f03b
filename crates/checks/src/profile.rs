//! [`TargetProfile`]: what a cloud (or plain KVM) accepts, as data, so that checks read the
//! profile instead of hard-coding one cloud (design.md §5).
//!
//! Every value cites its source in `checks.md` (the project's check catalogue, §0 and §1, which
//! in turn cites the vendors' documents); `(I)` marks an inferred value with no published figure.
//! Our own code: the profiles are imgcheck's policy tables.

use crate::verdict::Severity;
use serde::{Deserialize, Serialize};

/// One GiB in bytes.
const GIB: u64 = 1 << 30;
/// One TiB in bytes.
const TIB: u64 = 1 << 40;
/// One MiB in bytes.
const MIB: u64 = 1 << 20;

/// A firmware boot mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootMode {
    /// Legacy BIOS (MBR boot code).
    Bios,
    /// UEFI (EFI system partition).
    Uefi,
}

impl BootMode {
    /// `bios` / `uefi`.
    pub fn name(self) -> &'static str {
        match self {
            BootMode::Bios => "bios",
            BootMode::Uefi => "uefi",
        }
    }
}

/// A container format the target accepts, optionally only some subformats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatRule {
    /// `raw`, `qcow2`, `vhd`, `vhdx`, `vmdk`.
    pub format: String,
    /// Accepted subformats (`fixed`, `streamOptimized`); empty = any.
    pub subformats: Vec<String>,
}

impl FormatRule {
    fn any(format: &str) -> FormatRule {
        FormatRule {
            format: format.to_string(),
            subformats: Vec::new(),
        }
    }

    fn only(format: &str, subformat: &str) -> FormatRule {
        FormatRule {
            format: format.to_string(),
            subformats: vec![subformat.to_string()],
        }
    }

    /// Whether this rule accepts the format/subformat pair (case-insensitive).
    pub fn accepts(&self, format: &str, subformat: Option<&str>) -> bool {
        if !self.format.eq_ignore_ascii_case(format) {
            return false;
        }
        self.subformats.is_empty()
            || subformat.is_some_and(|s| self.subformats.iter().any(|a| a.eq_ignore_ascii_case(s)))
    }

    /// `vmdk (streamOptimized)` / `raw`.
    pub fn describe(&self) -> String {
        if self.subformats.is_empty() {
            self.format.clone()
        } else {
            format!("{} ({})", self.format, self.subformats.join(", "))
        }
    }
}

/// What one target platform accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetProfile {
    /// Short name used on the command line: `alibaba`, `aws`, `azure`, `gcp`, `kvm`.
    pub name: String,
    /// Human name.
    pub display_name: String,
    /// Accepted container formats; the first is the suggested conversion target.
    pub formats: Vec<FormatRule>,
    /// Firmware modes the target can boot.
    pub boot_modes: Vec<BootMode>,
    /// Instances use virtio-blk/virtio-scsi/virtio-net devices.
    pub needs_virtio: bool,
    /// Some instance types expose disks as NVMe.
    pub needs_nvme: bool,
    /// Instances use the Elastic Network Adapter.
    pub needs_ena: bool,
    /// Instances run on Hyper-V (storvsc/netvsc).
    pub needs_hyperv: bool,
    /// Hard limit of the system disk's size in bytes: above it the import fails (SR).
    pub max_system_disk_bytes: Option<u64>,
    /// Documented recommended maximum (RO above it).
    pub recommended_max_system_disk_bytes: Option<u64>,
    /// The virtual size must be a multiple of this many bytes.
    pub size_alignment: Option<u64>,
    /// The platform wants qemu-guest-agent installed (`false`: it must not be).
    pub wants_qemu_ga: bool,
    /// Filesystems accepted for system volumes (root, /boot, /usr, /var; Windows system).
    pub system_filesystems: Vec<String>,
    /// ext4 features the platform's tooling does not accept.
    pub ext4_forbidden_features: Vec<String>,
    /// ext4 `quota` together with `project` is not accepted.
    pub ext4_quota_project_conflict: bool,
    /// Minimum free bytes on Linux system volumes for driver/agent injection.
    pub min_free_bytes_linux: u64,
    /// Minimum free bytes on the Windows system volume.
    pub min_free_bytes_windows: u64,
    /// Minimum free inodes on system volumes.
    pub min_free_inodes: u64,
    /// Severity of a swap partition on the OS disk (`None`: informational only).
    pub swap_on_os_disk: Option<Severity>,
    /// Whether the target wants the Windows Firewall on (`Some(true)`), off (`Some(false)`), or
    /// states nothing (`None`, informational only).
    pub windows_firewall: Option<bool>,
    /// The target asks for the SAN policy to be set to OnlineAll explicitly (an unset policy is
    /// then a recommended fix, not only a non-OnlineAll one).
    pub windows_san_policy_must_be_set: bool,
    /// Severity when the Windows serial console (EMS) is not enabled in the BCD store (`None`:
    /// informational only).
    pub windows_serial_console: Option<Severity>,
    /// Severity when the Windows system volume is BitLocker-encrypted, or the registry records
    /// BitLocker protection of it (a BitLocker data volume is always only recommended).
    pub windows_bitlocker: Severity,
}

/// Filesystem names as strings.
fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

/// AWS VM Import free-space minimum for Linux: 250 MiB (checks.md §1 root_free_space, AWS vmie_prereqs).
const AWS_MIN_FREE_LINUX: u64 = 250 * MIB;
/// AWS VM Import free-space minimum for Windows: 6 GiB (checks.md §1 root_free_space).
const AWS_MIN_FREE_WINDOWS: u64 = 6 * GIB;
/// Free inodes needed to install a kernel-module package and agents (I): a kernel's module tree
/// is several thousand files.
const MIN_FREE_INODES: u64 = 10_000;

impl TargetProfile {
    /// Alibaba Cloud ECS (the default).
    pub fn alibaba() -> TargetProfile {
        TargetProfile {
            name: "alibaba".into(),
            display_name: "Alibaba Cloud ECS".into(),
            // checks.md §1 image_format_detect: "ALI: RAW, QCOW2, VHD" (ALI-imp); Alibaba's
            // "Import a custom image" page (updated 2025-11-07) adds VMDK: "ECS supports importing
            // image files only in QCOW2, VHD, RAW, and VMDK formats".
            formats: vec![
                FormatRule::any("qcow2"),
                FormatRule::any("raw"),
                FormatRule::any("vhd"),
                FormatRule::any("vmdk"),
            ],
            // checks.md §1 boot_mode: ALI GUESTOS.BootMode reports BIOS and UEFI images.
            boot_modes: vec![BootMode::Bios, BootMode::Uefi],
            // checks.md §0.2/§0.3: GUESTOS.Virtio and GUESTOS.Nvme, both High.
            needs_virtio: true,
            needs_nvme: true,
            needs_ena: false,
            needs_hyperv: false,
            // ECS system disks go up to 2,048 GiB (I: ECS disk limits; checks.md §1 disk_size_limits).
            max_system_disk_bytes: Some(2048 * GIB),
            // checks.md §1 disk_size_limits: "ALI legacy 40–500 GiB" (notes for importing images).
            recommended_max_system_disk_bytes: Some(500 * GIB),
            size_alignment: None,
            // checks.md §0.5: "images with qemu-ga installed" are not importable.
            wants_qemu_ga: false,
            // checks.md §1 fs_supported: "ALI: xfs/ext3/ext4 recommended, ext2/UFS/UDF allowed";
            // NTFS for Windows (ALI-imp "NTFS file systems and MBR partitions").
            system_filesystems: names(&["ext2", "ext3", "ext4", "xfs", "ntfs"]),
            // checks.md §1 ext4_feature_compat: "64bit — ALI: must not be used".
            ext4_forbidden_features: names(&["64bit"]),
            // checks.md §1 ext4_feature_compat: quota + project "must not be combined".
            ext4_quota_project_conflict: true,
            // checks.md §1 root_free_space: ALI-legacy disk_usage has no figure; AWS's used (I).
            min_free_bytes_linux: AWS_MIN_FREE_LINUX,
            min_free_bytes_windows: AWS_MIN_FREE_WINDOWS,
            min_free_inodes: MIN_FREE_INODES,
            // checks.md §1 swap_on_os_disk: INFO except on Azure.
            swap_on_os_disk: None,
            // checks.md §3 windows_firewall: Alibaba import notes (ALI-imp): disable the firewall or allow 3389.
            // checks.md §3 san_policy: only Azure documents the setting.
            windows_san_policy_must_be_set: false,
            // checks.md §3 ems_serial: INFO; Alibaba documents no EMS requirement.
            windows_serial_console: None,
            windows_firewall: Some(false),
            // checks.md §3 bitlocker: ALI does not accept encrypted system disks (the image
            // check is unavailable for them; the import cannot adapt the guest).
            windows_bitlocker: Severity::StronglyRecommended,
        }
    }

    /// Amazon EC2 (VM Import/Export).
    pub fn aws() -> TargetProfile {
        TargetProfile {
            name: "aws".into(),
            display_name: "Amazon EC2 (VM Import/Export)".into(),
            // checks.md §1 image_format_detect: "AWS: OVA, stream-optimized VMDK, VHD/VHDX, raw".
            formats: vec![
                FormatRule::only("vmdk", "streamOptimized"),
                FormatRule::any("vhd"),
                FormatRule::any("vhdx"),
                FormatRule::any("raw"),
            ],
            // checks.md §1 boot_mode: AWS `--boot-mode` legacy-bios / uefi.
            boot_modes: vec![BootMode::Bios, BootMode::Uefi],
            needs_virtio: false,
            // checks.md §5 AWS: installs ENA and NVMe drivers (Nitro).
            needs_nvme: true,
            needs_ena: true,
            needs_hyperv: false,
            // checks.md §1 disk_size_limits: AWS MBR boot ≤ 2 TiB; GPT/UEFI boot volumes up to 16 TiB.
            max_system_disk_bytes: Some(16 * TIB),
            recommended_max_system_disk_bytes: None,
            size_alignment: None,
            wants_qemu_ga: false,
            // checks.md §1 fs_supported: "AWS: ext2/3/4, Btrfs, JFS, XFS"; NTFS for Windows.
            system_filesystems: names(&["ext2", "ext3", "ext4", "btrfs", "jfs", "xfs", "ntfs"]),
            ext4_forbidden_features: Vec::new(),
            ext4_quota_project_conflict: false,
            // checks.md §1 root_free_space: AWS ≥ 250 MiB Linux, ≥ 6 GiB Windows.
            min_free_bytes_linux: AWS_MIN_FREE_LINUX,
            min_free_bytes_windows: AWS_MIN_FREE_WINDOWS,
            min_free_inodes: MIN_FREE_INODES,
            swap_on_os_disk: None,
            // checks.md §3 windows_firewall: AWS states no firewall setting, only that RDP must be allowed.
            // checks.md §3 san_policy: only Azure documents the setting.
            windows_san_policy_must_be_set: false,
            // checks.md §3 ems_serial: INFO.
            windows_serial_console: None,
            windows_firewall: None,
            // checks.md §1 encrypted_volume / §3 bitlocker: AWS VM Import does not support
            // encrypted volumes.
            windows_bitlocker: Severity::StronglyRecommended,
        }
    }

    /// Microsoft Azure.
    pub fn azure() -> TargetProfile {
        TargetProfile {
            name: "azure".into(),
            display_name: "Microsoft Azure".into(),
            // checks.md §1 image_format_detect: "AZ: fixed VHD only".
            formats: vec![FormatRule::only("vhd", "fixed")],
            // Generation 1 VMs boot BIOS, generation 2 UEFI (checks.md §1 disk_size_limits "AZ Gen1").
            boot_modes: vec![BootMode::Bios, BootMode::Uefi],
            needs_virtio: false,
            needs_nvme: false,
            needs_ena: false,
            needs_hyperv: true,
            // checks.md §1 disk_size_limits: "AZ Gen1 OS ≤ 2 TiB".
            max_system_disk_bytes: Some(2 * TIB),
            // checks.md §1 disk_size_limits: "Linux page 1023 GB".
            recommended_max_system_disk_bytes: Some(1023 * GIB),
            // checks.md §1 size_alignment: "virtual size % 1 048 576 == 0".
            size_alignment: Some(MIB),
            wants_qemu_ga: false,
            // No published restriction for endorsed distributions (I).
            system_filesystems: names(&["ext2", "ext3", "ext4", "xfs", "btrfs", "ntfs"]),
            ext4_forbidden_features: Vec::new(),
            ext4_quota_project_conflict: false,
            min_free_bytes_linux: AWS_MIN_FREE_LINUX,
            min_free_bytes_windows: AWS_MIN_FREE_WINDOWS,
            min_free_inodes: MIN_FREE_INODES,
            // checks.md §1 swap_on_os_disk: "INFO (AZ: RO)".
            swap_on_os_disk: Some(Severity::Recommended),
            // checks.md §3 windows_firewall: Azure prepare-for-upload: firewall on with RDP rules.
            // checks.md §3 san_policy: Azure prepare-for-upload: `diskpart` `san policy=onlineall`.
            windows_san_policy_must_be_set: true,
            // checks.md §3 ems_serial: Azure prepare-for-upload enables bootems/ems for the serial console (RO, I).
            windows_serial_console: Some(Severity::Recommended),
            windows_firewall: Some(true),
            // checks.md §3 bitlocker: Azure prepare-for-upload: decrypt (turn BitLocker off)
            // before sysprep and upload.
            windows_bitlocker: Severity::StronglyRecommended,
        }
    }

    /// Google Compute Engine (image import).
    pub fn gcp() -> TargetProfile {
        TargetProfile {
            name: "gcp".into(),
            display_name: "Google Compute Engine".into(),
            // GCP importing-virtual-disks: VMDK, VHD, VHDX, raw, qcow2 are read by the import tool.
            formats: vec![
                FormatRule::any("vmdk"),
                FormatRule::any("vhd"),
                FormatRule::any("vhdx"),
                FormatRule::any("raw"),
                FormatRule::any("qcow2"),
            ],
            // checks.md §4 GCP boot-inspect: UEFI-bootable and BIOS-bootable both handled.
            boot_modes: vec![BootMode::Bios, BootMode::Uefi],
            // GCP custom images need virtio-scsi (importing-virtual-disks limitations).
            needs_virtio: true,
            needs_nvme: true,
            needs_ena: false,
            needs_hyperv: false,
            // No limit published in the sources of checks.md (I).
            max_system_disk_bytes: None,
            recommended_max_system_disk_bytes: None,
            size_alignment: None,
            wants_qemu_ga: false,
            // No published list (I): what the translate step mounts.
            system_filesystems: names(&["ext2", "ext3", "ext4", "xfs", "btrfs", "ntfs"]),
            ext4_forbidden_features: Vec::new(),
            ext4_quota_project_conflict: false,
            min_free_bytes_linux: AWS_MIN_FREE_LINUX,
            min_free_bytes_windows: AWS_MIN_FREE_WINDOWS,
            min_free_inodes: MIN_FREE_INODES,
            swap_on_os_disk: None,
            // checks.md §3 windows_firewall: no GCP requirement listed.
            // checks.md §3 san_policy: only Azure documents the setting.
            windows_san_policy_must_be_set: false,
            // checks.md §3 ems_serial: INFO.
            windows_serial_console: None,
            windows_firewall: None,
            // checks.md §1 encrypted_volume / §3 bitlocker: GCP importing-virtual-disks does not
            // support BitLocker-encrypted disks.
            windows_bitlocker: Severity::StronglyRecommended,
        }
    }

    /// Plain KVM/QEMU (OpenStack-like): every format qemu reads.
    pub fn kvm() -> TargetProfile {
        TargetProfile {
            name: "kvm".into(),
            display_name: "KVM / QEMU".into(),
            formats: vec![
                FormatRule::any("qcow2"),
                FormatRule::any("raw"),
                FormatRule::any("vhd"),
                FormatRule::any("vhdx"),
                FormatRule::any("vmdk"),
            ],
            boot_modes: vec![BootMode::Bios, BootMode::Uefi],
            needs_virtio: true,
            needs_nvme: false,
            needs_ena: false,
            needs_hyperv: false,
            max_system_disk_bytes: None,
            recommended_max_system_disk_bytes: None,
            size_alignment: None,
            // checks.md §3 qemu_ga_windows / §5 V2V: virt-v2v installs qemu-guest-agent.
            wants_qemu_ga: true,
            system_filesystems: names(&["ext2", "ext3", "ext4", "xfs", "btrfs", "ntfs"]),
            ext4_forbidden_features: Vec::new(),
            ext4_quota_project_conflict: false,
            min_free_bytes_linux: AWS_MIN_FREE_LINUX,
            min_free_bytes_windows: AWS_MIN_FREE_WINDOWS,
            min_free_inodes: MIN_FREE_INODES,
            swap_on_os_disk: None,
            // No platform rule for plain KVM.
            windows_firewall: None,
            // checks.md §3 san_policy: no platform rule.
            windows_san_policy_must_be_set: false,
            // checks.md §3 ems_serial: no platform rule.
            windows_serial_console: None,
            // No import step (I): the owner of a plain KVM host can type the recovery key at
            // the console when the TPM protector does not unlock the volume there.
            windows_bitlocker: Severity::Recommended,
        }
    }

    /// The names [`TargetProfile::by_name`] accepts, default first.
    pub const NAMES: &'static [&'static str] = &["alibaba", "aws", "azure", "gcp", "kvm"];

    /// A profile by its short name (case-insensitive; `aliyun` and `ali` alias `alibaba`).
    pub fn by_name(name: &str) -> Option<TargetProfile> {
        match name.to_ascii_lowercase().as_str() {
            "alibaba" | "aliyun" | "ali" => Some(TargetProfile::alibaba()),
            "aws" => Some(TargetProfile::aws()),
            "azure" => Some(TargetProfile::azure()),
            "gcp" => Some(TargetProfile::gcp()),
            "kvm" => Some(TargetProfile::kvm()),
            _ => None,
        }
    }

    /// Whether the format/subformat pair is accepted.
    pub fn accepts_format(&self, format: &str, subformat: Option<&str>) -> bool {
        self.formats.iter().any(|r| r.accepts(format, subformat))
    }

    /// Whether the target boots this firmware mode.
    pub fn boots(&self, mode: BootMode) -> bool {
        self.boot_modes.contains(&mode)
    }
}

impl Default for TargetProfile {
    fn default() -> Self {
        TargetProfile::alibaba()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_resolves_to_its_profile() {
        for name in TargetProfile::NAMES {
            let p = TargetProfile::by_name(name);
            assert_eq!(p.map(|p| p.name), Some((*name).to_string()));
        }
        assert!(TargetProfile::by_name("nimbus").is_none());
        assert_eq!(TargetProfile::default().name, "alibaba");
    }

    #[test]
    fn format_rules_honour_subformats() {
        let aws = TargetProfile::aws();
        assert!(aws.accepts_format("vmdk", Some("streamOptimized")));
        assert!(!aws.accepts_format("vmdk", Some("monolithicSparse")));
        assert!(!aws.accepts_format("vmdk", None));
        let az = TargetProfile::azure();
        assert!(az.accepts_format("VHD", Some("fixed")));
        assert!(!az.accepts_format("vhd", Some("dynamic")));
        assert!(TargetProfile::alibaba().accepts_format("qcow2", None));
        assert!(TargetProfile::alibaba().accepts_format("vmdk", None));
        assert!(!TargetProfile::alibaba().accepts_format("vhdx", None));
    }
}
