//! Windows guest facts, read offline from the system volume's registry hives and files and from
//! the BCD store on the system partition or ESP.
//!
//! Sources: the check catalogue (`checks.md` §3) and the inspection code of libguestfs
//! (`inspect_fs_windows.ml`), virt-v2v (`convert_windows.ml`, `windows_virtio.ml`) and
//! dissect.target, which document where each fact lives; Maxim Suhanov's regf specification
//! through [`imgcheck_regf`]. Offline there is no `CurrentControlSet`: `SYSTEM\Select\Current`
//! (fallback `Default`) names `ControlSet00n`. Paths are case-insensitive (NTFS and FAT lookups
//! already are, registry lookups in [`imgcheck_regf`] too).
//!
//! - [`is_windows_root`] / [`system_root`]: a volume holding `\Windows\System32\config\SYSTEM`.
//! - [`find_boot_files`]: boot manager files on a system partition or ESP.
//! - [`inspect`]: everything else, as [`WindowsFacts`]. Nothing here fails: a missing or corrupt
//!   hive, key or file becomes a line in [`WindowsFacts::problems`] and the rest goes on.
//!
//! Facts are kept apart from decisions: this module says "viostor Start=3", the checks decide
//! whether that is a risk for the target cloud.

mod bcd;
pub mod decode;
pub mod driverdb;
mod files;
pub mod ini;
pub mod paths;
pub mod pe;
mod reg;
mod software;
mod system;

pub use decode::DiskLocation;
pub use driverdb::{DriverDatabaseFacts, DriverDbDeviceId, DriverDbInfFile, DriverDbPackage};
pub use reg::MAX_HIVE_BYTES;

use imgcheck_core::Limits;
use imgcheck_fs::{FileType, GuestFs};
use paths::SystemRoot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Services listed at most (a Windows Server has 600–900 keys under `Services`).
pub const MAX_SERVICES: usize = 8192;
/// Uninstall entries listed at most (per view: native and WOW6432Node).
pub const MAX_PROGRAMS: usize = 4096;
/// KB hotfixes listed at most.
pub const MAX_HOTFIXES: usize = 4096;
/// Other lists (critical devices, interfaces, driver store matches, pending renames, drive
/// letters) are cut at this many entries.
pub const MAX_LIST: usize = 1024;

/// Boot manager files looked for on system partitions and ESPs.
pub const BOOT_FILES: &[&str] = &[
    "/bootmgr",
    "/Boot/BCD",
    "/EFI/Microsoft/Boot/BCD",
    "/EFI/Microsoft/Boot/bootmgfw.efi",
    "/EFI/Boot/bootx64.efi",
];

/// Candidate system roots, in libguestfs' order.
const SYSTEM_ROOTS: &[&str] = &["/Windows", "/WINNT", "/win32", "/win"];

/// One service or driver under `ControlSet00n\Services`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Key name.
    pub name: String,
    /// `DisplayName` (may be an indirect string like `@%SystemRoot%\x.dll,-100`).
    pub display_name: Option<String>,
    /// `Start`: 0 boot, 1 system, 2 automatic, 3 manual, 4 disabled.
    pub start: Option<u32>,
    /// `Type`: 1 kernel driver, 2 filesystem driver, 0x10 own process, 0x20 shared process, …
    pub service_type: Option<u32>,
    /// `Group` (load order group).
    pub group: Option<String>,
    /// `ImagePath` as stored.
    pub image_path: Option<String>,
    /// No `ImagePath`: a driver's default `System32\drivers\<name>.sys` was assumed.
    pub image_path_default: bool,
    /// The image as a guest path on the system volume, when resolvable.
    pub guest_path: Option<String>,
    /// Whether that file exists (`None`: not resolvable, e.g. on another drive).
    pub image_exists: Option<bool>,
}

/// A filter driver named by a device class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterRef {
    /// Service name from `UpperFilters`/`LowerFilters`.
    pub name: String,
    /// `Services\<name>` exists in the current control set.
    pub service_exists: bool,
    /// Its image file exists (`None` when no service or not resolvable).
    pub image_exists: Option<bool>,
}

/// Upper and lower filters of one device setup class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassFilters {
    /// `disk`, `scsi_adapter`, `net`, `hdc`, `volume`.
    pub class: String,
    /// Class GUID with braces.
    pub guid: String,
    /// The class key exists.
    pub present: bool,
    /// `UpperFilters`.
    pub upper: Vec<FilterRef>,
    /// `LowerFilters`.
    pub lower: Vec<FilterRef>,
}

/// A `Control\CriticalDeviceDatabase` entry of interest (virtio, NVMe, Xen, Hyper-V, ENA).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriticalDevice {
    /// Device id key, e.g. `pci#ven_1af4&dev_1001&subsys_00021af4&rev_00`.
    pub id: String,
    /// `Service`.
    pub service: Option<String>,
    /// `ClassGUID`.
    pub class_guid: Option<String>,
}

/// One cloud-relevant driver: its service, its file, its driver-store packages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinDriver {
    /// Service / file base name, e.g. `viostor`.
    pub name: String,
    /// What it drives: `virtio-blk`, `nvme`, `xen-storage`, `hyperv-storage`, `aws-ena`, …
    pub family: String,
    /// `Services\<name>` exists.
    pub service_present: bool,
    /// Its `Start`.
    pub start: Option<u32>,
    /// Its image file exists (from the service's `ImagePath`).
    pub image_exists: Option<bool>,
    /// `\Windows\System32\drivers\<name>.sys` exists.
    pub sys_file_present: bool,
    /// That file's read-only attribute.
    pub sys_file_read_only: Option<bool>,
    /// `DriverStore\FileRepository\<name>.inf_*` directories.
    pub driver_store: Vec<String>,
    /// `SYSTEM\DriverDatabase\DriverPackages` entries of this driver (named `<name>.inf_*`,
    /// `InfName` `<name>.inf`, or installing service `<name>`).
    #[serde(default)]
    pub driver_packages: Vec<String>,
    /// `SYSTEM\DriverDatabase\DeviceIds` hardware ids that resolve to one of those packages.
    #[serde(default)]
    pub device_ids: Vec<String>,
}

/// Remote Desktop settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdpFacts {
    /// `Control\Terminal Server\fDenyTSConnections`.
    pub deny_ts_connections: Option<u32>,
    /// Policy `SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\fDenyTSConnections`.
    pub policy_deny_ts_connections: Option<u32>,
    /// RDP allowed: `fDenyTSConnections` = 0 and no policy denying it (`None` when unset).
    pub enabled: Option<bool>,
    /// `WinStations\RDP-Tcp\PortNumber`.
    pub port: Option<u32>,
    /// `Services\TermService\Start`.
    pub term_service_start: Option<u32>,
}

/// One Windows Firewall profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallProfile {
    /// `domain`, `standard` (private) or `public`.
    pub profile: String,
    /// `EnableFirewall` ≠ 0.
    pub enabled: Option<bool>,
}

/// One `Tcpip\Parameters\Interfaces\{GUID}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceInfo {
    /// Interface GUID (key name).
    pub guid: String,
    /// `EnableDHCP` ≠ 0.
    pub enable_dhcp: Option<bool>,
    /// Static `IPAddress` entries (empty and `0.0.0.0` dropped).
    pub ip_addresses: Vec<String>,
}

/// Time zone and RTC settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeFacts {
    /// `TimeZoneKeyName`.
    pub time_zone_key_name: Option<String>,
    /// `StandardName`.
    pub standard_name: Option<String>,
    /// `Bias` in minutes (UTC = local + bias), as a signed number.
    pub bias_minutes: Option<i32>,
    /// `RealTimeIsUniversal` ≠ 0 (absent: the RTC holds local time).
    pub real_time_is_universal: Option<bool>,
}

/// Page file settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagingFacts {
    /// `Memory Management\PagingFiles` entries.
    pub paging_files: Vec<String>,
    /// `\pagefile.sys` exists at the system volume's root.
    pub pagefile_present: bool,
}

/// Hibernation state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HibernationFacts {
    /// `Control\Power\HibernateEnabled` ≠ 0.
    pub enabled: Option<bool>,
    /// `\hiberfil.sys` exists.
    pub hiberfil_present: bool,
    /// Its first 4 bytes, when printable.
    pub hiberfil_signature: Option<String>,
    /// The signature says hibernated (`hibr`, `HIBR`, `wake`, `WAKE`): the volume is not
    /// consistent until Windows resumes.
    pub hibernated: bool,
}

/// Servicing that waits for a reboot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFacts {
    /// `\Windows\WinSxS\pending.xml` exists.
    pub pending_xml: bool,
    /// `Component Based Servicing\RebootPending` exists.
    pub cbs_reboot_pending: bool,
    /// `Component Based Servicing\PackagesPending` exists.
    pub cbs_packages_pending: bool,
    /// `WindowsUpdate\Auto Update\RebootRequired` exists.
    pub wu_reboot_required: bool,
    /// `Session Manager\PendingFileRenameOperations` (and `…2`), as stored: source/target pairs.
    pub pending_file_renames: Vec<String>,
    /// Any of the above.
    pub reboot_pending: bool,
}

/// Sysprep state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SysprepFacts {
    /// `SOFTWARE\…\Setup\State\ImageState`.
    pub image_state: Option<String>,
    /// `ImageState` of `\Windows\Setup\State\State.ini`.
    pub state_ini_image_state: Option<String>,
    /// `SYSTEM\Setup\SystemSetupInProgress`.
    pub setup_in_progress: Option<u32>,
}

/// Crash dump settings (`Control\CrashControl`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrashDumpFacts {
    /// `CrashDumpEnabled` (0 none, 1 complete, 2 kernel, 3 small, 7 automatic).
    pub crash_dump_enabled: Option<u32>,
    /// `AutoReboot`.
    pub auto_reboot: Option<u32>,
    /// `NMICrashDump`.
    pub nmi_crash_dump: Option<u32>,
}

/// Xen PV driver remnants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XenFacts {
    /// Xen services present (`xen*`, `rhelscsi`), with their `Start`, sorted by name.
    pub services: Vec<ServiceRef>,
    /// Class filters naming a Xen driver, as `<class> <upper|lower> <name>`.
    pub class_filters: Vec<String>,
    /// `Services\XenPCI\Parameters\hide_devices`, when set and not empty.
    pub hide_devices: Option<String>,
}

/// A service by name and start type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRef {
    /// Service name.
    pub name: String,
    /// Its `Start`.
    pub start: Option<u32>,
}

/// A drive letter from `MountedDevices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveLetter {
    /// `C:`.
    pub letter: String,
    /// The partition (or device) it maps to.
    pub location: DiskLocation,
}

/// An installed program (an `Uninstall` entry with a `DisplayName`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// `DisplayName`.
    pub name: String,
    /// `DisplayVersion`.
    pub version: Option<String>,
    /// `Publisher`.
    pub publisher: Option<String>,
    /// Key name.
    pub key: String,
    /// Listed under `WOW6432Node` (32-bit on 64-bit Windows).
    pub wow64: bool,
}

/// An installed or staged update package (`Component Based Servicing\Packages`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hotfix {
    /// `KB5005039`.
    pub kb: String,
    /// The first package key naming it.
    pub package: String,
    /// Its `CurrentState` (0x70 = installed, 0x20 = staged, 0x50 = install pending, …).
    pub state: Option<u32>,
    /// Some package of this KB has `CurrentState` 0x70.
    pub installed: bool,
}

/// A detected agent or hypervisor tool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detected {
    /// Stable id, e.g. `aliyun-assist`, `vmware-tools`.
    pub id: String,
    /// Human name.
    pub name: String,
    /// What was found: `service AliyunService (start 2)`, `program "VMware Tools" 12.3.5`.
    pub evidence: Vec<String>,
}

/// Presence of the loader and kernel files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderFiles {
    /// `System32\winload.exe` (BIOS loader).
    pub winload_exe: bool,
    /// `System32\winload.efi` (UEFI loader).
    pub winload_efi: bool,
    /// `System32\ntoskrnl.exe`.
    pub ntoskrnl: bool,
    /// `System32\hal.dll`.
    pub hal_dll: bool,
}

/// A boot file found on a volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootFile {
    /// Volume id.
    pub volume: String,
    /// Path on that volume (as listed in [`BOOT_FILES`]).
    pub path: String,
}

/// What one BCD store says about booting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcdFacts {
    /// Volume id holding the store.
    pub volume: String,
    /// Store path on that volume.
    pub store: String,
    /// Objects in the store.
    pub objects: usize,
    /// Boot manager device (`{bootmgr}` element 11000001).
    pub bootmgr_device: Option<DiskLocation>,
    /// Default object GUID (`{bootmgr}` element 23000003).
    pub default_id: Option<String>,
    /// Default object description (12000004).
    pub description: Option<String>,
    /// Default object application path (12000002), e.g. `\Windows\system32\winload.efi`.
    pub path: Option<String>,
    /// Default object system root (22000002), e.g. `\Windows`.
    pub systemroot: Option<String>,
    /// The path exists on the Windows system volume (assumed to be the device's partition).
    pub path_exists: Option<bool>,
    /// Application device (11000001).
    pub device: Option<DiskLocation>,
    /// OS device (21000001).
    pub osdevice: Option<DiskLocation>,
    /// `{bootmgr}` element 16000020 (BcdLibraryBoolean_EmsEnabled, `bcdedit /bootems`).
    #[serde(default)]
    pub bootmgr_ems: Option<bool>,
    /// Default object element 260000b0 (BcdOSLoaderBoolean_EmsEnabled, `bcdedit /ems`).
    #[serde(default)]
    pub ems: Option<bool>,
    /// `{emssettings}` element 15000022 (BcdLibraryInteger_EmsPort).
    #[serde(default)]
    pub ems_port: Option<u64>,
    /// `{emssettings}` element 15000023 (BcdLibraryInteger_EmsBaudRate).
    #[serde(default)]
    pub ems_baud_rate: Option<u64>,
}

/// Device installation settings (whether Windows may install drivers for new hardware).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceInstallFacts {
    /// `Services\DeviceInstall\Parameters\DeviceInstallDisabled` (Windows 7 / 2008 R2 and later).
    pub device_install_disabled: Option<u32>,
    /// `Services\PlugPlay\Parameters\DeviceInstallDisabled` (older releases).
    pub plugplay_install_disabled: Option<u32>,
    /// Values of the Group Policy key `SOFTWARE\Policies\Microsoft\Windows\DeviceInstall\
    /// Restrictions` (`DenyUnspecified`, `DenyDeviceClasses`, `DenyDeviceIDs`, …) and the entries
    /// of its list subkeys (`DenyDeviceClasses\1`), sorted by name.
    pub restrictions: Vec<RegSetting>,
}

/// One registry value as `name` and its data as text (numbers in decimal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegSetting {
    /// Value name, prefixed with its subkey where it lies below the key read (`DenyDeviceIDs\1`).
    pub name: String,
    /// The data as text.
    pub value: String,
}

/// BitLocker state as the registry records it (checks.md §3 `bitlocker`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BitLockerFacts {
    /// `SYSTEM\ControlSet00n\Control\BitLockerStatus` exists.
    pub status_key_present: bool,
    /// Its `BootStatus` (REG_DWORD): non-zero when Windows recorded BitLocker protection of the
    /// system volume at its last boot (inferred meaning; Microsoft does not document the value).
    pub boot_status: Option<u32>,
    /// Values of `SYSTEM\ControlSet00n\Control\FVEStats` (BitLocker encryption statistics),
    /// sorted by name (at most [`MAX_LIST`]).
    pub fve_stats: Vec<RegSetting>,
    /// Values of the BitLocker Group Policy key `SOFTWARE\Policies\Microsoft\FVE`, sorted by
    /// name (at most [`MAX_LIST`]).
    pub policy: Vec<RegSetting>,
}

/// A registry value naming a path that a service needs at boot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathSetting {
    /// Key, relative to the hive, e.g. `ControlSet001\Services\NTDS\Parameters`.
    pub key: String,
    /// Value name, e.g. `DSA Database file`.
    pub value: String,
    /// The path as stored, e.g. `D:\NTDS\ntds.dit`.
    pub path: String,
}

/// Active Directory domain controller settings (checks.md §3 `domain_controller_volumes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DomainControllerFacts {
    /// `Services\NTDS\Parameters` exists: the machine is (or was) a domain controller.
    pub ntds_parameters_present: bool,
    /// The non-empty paths of [`DC_PATH_VALUES`], in that order.
    pub paths: Vec<PathSetting>,
}

/// Registry values of a domain controller that name where Active Directory keeps its database,
/// logs, working directory and SYSVOL share (Microsoft "Active Directory Domain Services
/// registry keys": `Services\NTDS\Parameters`; `Services\Netlogon\Parameters\SysVol`), as
/// (key below the control set, value).
pub const DC_PATH_VALUES: &[(&str, &str)] = &[
    ("Services\\NTDS\\Parameters", "DSA Database file"),
    ("Services\\NTDS\\Parameters", "Database log files path"),
    ("Services\\NTDS\\Parameters", "DSA Working Directory"),
    ("Services\\Netlogon\\Parameters", "SysVol"),
];

/// A user's (or the public) desktop folder and whether it holds `desktop.ini`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesktopFolder {
    /// Guest path, e.g. `/Users/Public/Desktop`.
    pub path: String,
    /// `desktop.ini` exists in it.
    pub desktop_ini: bool,
}

/// Desktop folders under `\Users` (`GUESTOS.DesktopConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesktopFacts {
    /// `\Users\<profile>\Desktop` directories, sorted by path (at most [`MAX_LIST`]).
    pub folders: Vec<DesktopFolder>,
    /// `\Users\Public\Desktop` exists.
    pub public_desktop_present: bool,
}

/// A Group Policy object applied to the machine, from `SOFTWARE\Microsoft\Windows\
/// CurrentVersion\Group Policy\History\<extension>\<n>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpoEntry {
    /// Client-side extension GUID (the `History` subkey).
    pub extension: String,
    /// `DisplayName`.
    pub display_name: Option<String>,
    /// `GPOLink`: 0 none, 1 local machine, 2 site, 3 domain, 4 organizational unit.
    pub link: Option<u32>,
}

/// What was found of one registry hive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiveStatus {
    /// `SYSTEM`, `SOFTWARE`, `BCD`.
    pub name: String,
    /// Guest path (or path on the boot volume for BCD).
    pub path: String,
    /// The file exists.
    pub present: bool,
    /// File size.
    pub size: u64,
    /// Parsed.
    pub parsed: bool,
    /// Primary and secondary sequence numbers differ (logs not replayed).
    pub dirty: bool,
    /// Base block checksum matches.
    pub checksum_ok: bool,
    /// Parse anomalies.
    pub anomalies: Vec<String>,
    /// Why it could not be used.
    pub error: Option<String>,
}

/// Facts of a Windows guest. Lists are sorted and bounded (see the `MAX_*` constants).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowsFacts {
    /// System root as a guest path, e.g. `/Windows`.
    pub system_root: String,
    /// `ProductName`, as stored (Windows 11 keeps "Windows 10 …" here; see `release`).
    pub product_name: Option<String>,
    /// The release, derived from the version, build and installation type (not stored by
    /// Windows): `Windows Server 2012 R2`, `Windows Server 2016`/`2019`/`2022`/`2025` (by their
    /// builds 14393/17763/20348/26100), `Windows 10`, `Windows 11` (a client with build ≥ 22000,
    /// whose `ProductName` still says "Windows 10"), … See [`release_name`].
    #[serde(default)]
    pub release: Option<String>,
    /// `EditionID`.
    pub edition_id: Option<String>,
    /// `InstallationType` (`Server`, `Server Core`, `Client`).
    pub installation_type: Option<String>,
    /// `CurrentMajorVersionNumber`, else the major part of `CurrentVersion`.
    pub major_version: Option<u32>,
    /// `CurrentMinorVersionNumber`, else the minor part of `CurrentVersion`.
    pub minor_version: Option<u32>,
    /// `CurrentBuildNumber` (else `CurrentBuild`).
    pub build: Option<String>,
    /// `UBR` (update build revision).
    pub ubr: Option<u32>,
    /// `DisplayVersion`, else `ReleaseId`.
    pub display_version: Option<String>,
    /// `CSDVersion` (service pack, old releases).
    pub csd_version: Option<String>,
    /// `amd64`, `x86`, `arm64`.
    pub arch: Option<String>,
    /// Where `arch` came from.
    pub arch_source: Option<String>,
    /// `Session Manager\Environment\PROCESSOR_ARCHITECTURE` as stored.
    pub processor_architecture: Option<String>,
    /// `ComputerName\ComputerName`, else `Tcpip\Parameters\Hostname`.
    pub hostname: Option<String>,
    /// `ControlSet00n` in use.
    pub current_control_set: Option<String>,
    /// Services and drivers, sorted by lower-case name.
    pub services: Vec<ServiceInfo>,
    /// More than [`MAX_SERVICES`] services: the list is cut.
    pub services_truncated: bool,
    /// Storage and network class filters.
    pub class_filters: Vec<ClassFilters>,
    /// Critical device database entries of interest.
    pub critical_devices: Vec<CriticalDevice>,
    /// Cloud-relevant drivers by name.
    pub drivers: BTreeMap<String, WinDriver>,
    /// DriverStore directories of cloud drivers (`viostor.inf_amd64_…`).
    pub driver_store: Vec<String>,
    /// `SYSTEM\DriverDatabase` entries of cloud hardware and drivers (NT ≥ 6.2).
    #[serde(default)]
    pub driver_database: DriverDatabaseFacts,
    /// Remote Desktop.
    pub rdp: RdpFacts,
    /// Firewall profiles.
    pub firewall: Vec<FirewallProfile>,
    /// TCP/IP interfaces.
    pub interfaces: Vec<InterfaceInfo>,
    /// `Services\Dhcp\Start`.
    pub dhcp_service_start: Option<u32>,
    /// Time zone.
    pub time: TimeFacts,
    /// Page file.
    pub paging: PagingFacts,
    /// Hibernation.
    pub hibernation: HibernationFacts,
    /// `Session Manager\Power\HiberbootEnabled` ≠ 0 (Fast Startup).
    pub fast_startup: Option<bool>,
    /// Pending servicing.
    pub pending: PendingFacts,
    /// Sysprep.
    pub sysprep: SysprepFacts,
    /// `Services\partmgr\Parameters\SanPolicy` (1 OnlineAll, 2 OfflineShared, 3 OfflineAll, 4 OfflineInternal).
    pub san_policy: Option<u32>,
    /// Device installation settings and policy.
    #[serde(default)]
    pub device_install: DeviceInstallFacts,
    /// Desktop folders; `None` when `\Users` could not be listed.
    #[serde(default)]
    pub desktop: Option<DesktopFacts>,
    /// Group Policy objects applied to the machine (at most [`MAX_LIST`]).
    #[serde(default)]
    pub group_policies: Vec<GpoEntry>,
    /// `SoftwareProtectionPlatform\KeyManagementServiceName`.
    pub kms: Option<String>,
    /// `SoftwareProtectionPlatform\KeyManagementServicePort`.
    pub kms_port: Option<String>,
    /// Crash dumps.
    pub crash_dump: CrashDumpFacts,
    /// Xen remnants.
    pub xen: XenFacts,
    /// Drive letters.
    pub drive_letters: Vec<DriveLetter>,
    /// BitLocker state recorded in the SYSTEM and SOFTWARE hives.
    #[serde(default)]
    pub bitlocker: BitLockerFacts,
    /// Domain controller database, log and SYSVOL paths.
    #[serde(default)]
    pub domain_controller: DomainControllerFacts,
    /// Installed programs, sorted by lower-case name.
    pub programs: Vec<Program>,
    /// KB updates, sorted.
    pub hotfixes: Vec<Hotfix>,
    /// Cloud agents.
    pub agents: Vec<Detected>,
    /// Other hypervisors' tools.
    pub hypervisor_tools: Vec<Detected>,
    /// Loader and kernel files.
    pub loader_files: LoaderFiles,
    /// Boot files on the boot volumes (and the system volume).
    pub boot_files: Vec<BootFile>,
    /// BCD stores found (ESP first, then system partitions, then the system volume).
    pub bcd: Vec<BcdFacts>,
    /// Hives read.
    pub hives: Vec<HiveStatus>,
    /// Everything that could not be read, one line each.
    pub problems: Vec<String>,
}

fn is_file(fs: &dyn GuestFs, path: &str) -> bool {
    fs.metadata(path)
        .is_ok_and(|m| m.file_type == FileType::File)
}

/// The system root (`/Windows`, …) of a volume holding `<root>\System32\config\SYSTEM`
/// (case-insensitive on NTFS and FAT).
pub fn system_root(fs: &dyn GuestFs) -> Option<&'static str> {
    SYSTEM_ROOTS
        .iter()
        .copied()
        .find(|r| is_file(fs, &format!("{r}/System32/config/SYSTEM")))
}

/// True when `fs` holds a Windows installation (`\Windows\System32\config\SYSTEM`).
pub fn is_windows_root(fs: &dyn GuestFs) -> bool {
    system_root(fs).is_some()
}

/// Which of [`BOOT_FILES`] exist on `fs` (a system partition or ESP).
pub fn find_boot_files(fs: &dyn GuestFs) -> Vec<String> {
    BOOT_FILES
        .iter()
        .filter(|p| is_file(fs, p))
        .map(|p| p.to_string())
        .collect()
}

/// The release name of a guest from its version facts (see [`WindowsFacts::release`]):
/// Windows does not store it, and Windows 11 reports `ProductName` "Windows 10 …" with
/// `CurrentBuild` ≥ 22000. Server releases of NT 10.0 are told apart by their long-term
/// servicing builds; another server build is `Windows Server (build N)`. `None` without a version.
pub fn release_name(f: &WindowsFacts) -> Option<String> {
    let (major, minor) = (f.major_version?, f.minor_version?);
    let it = f.installation_type.as_deref().map(str::to_ascii_lowercase);
    let server = match it.as_deref() {
        Some(t) => t.contains("server"),
        None => f
            .product_name
            .as_deref()
            .is_some_and(|p| p.to_ascii_lowercase().contains("server")),
    };
    let build: Option<u32> = f.build.as_deref().and_then(|b| b.trim().parse().ok());
    let name = match (major, minor, server) {
        (10, 0, true) => match build {
            Some(14393) => "Windows Server 2016".to_string(),
            Some(17763) => "Windows Server 2019".to_string(),
            Some(20348) => "Windows Server 2022".to_string(),
            Some(26100) => "Windows Server 2025".to_string(),
            Some(b) => format!("Windows Server (build {b})"),
            None => "Windows Server 2016 or later".to_string(),
        },
        (10, 0, false) => match build {
            Some(b) if b >= 22000 => "Windows 11".to_string(),
            Some(_) => "Windows 10".to_string(),
            None => "Windows 10 or 11".to_string(),
        },
        (6, 3, true) => "Windows Server 2012 R2".to_string(),
        (6, 3, false) => "Windows 8.1".to_string(),
        (6, 2, true) => "Windows Server 2012".to_string(),
        (6, 2, false) => "Windows 8".to_string(),
        (6, 1, true) => "Windows Server 2008 R2".to_string(),
        (6, 1, false) => "Windows 7".to_string(),
        (6, 0, true) => "Windows Server 2008".to_string(),
        (6, 0, false) => "Windows Vista".to_string(),
        (5, 2, true) => "Windows Server 2003".to_string(),
        (5, 2, false) => "Windows XP x64".to_string(),
        (5, 1, _) => "Windows XP".to_string(),
        (5, 0, _) => "Windows 2000".to_string(),
        _ => return None,
    };
    Some(name)
}

/// Read the Windows facts of the system volume `os`; `boot_volumes` are the other volumes that
/// may hold boot files and a BCD store (ESP, system reserved partition), by volume id.
pub fn inspect(
    os: &dyn GuestFs,
    boot_volumes: &[(String, &dyn GuestFs)],
    limits: &Limits,
) -> WindowsFacts {
    let mut f = WindowsFacts {
        system_root: system_root(os).unwrap_or("/Windows").to_string(),
        ..WindowsFacts::default()
    };
    let config = format!("{}/System32/config", f.system_root);

    // SOFTWARE first: it says where the system root is, which SYSTEM's image paths need.
    let mut sysroot =
        SystemRoot::parse(&format!("C:{}", f.system_root.replace('/', "\\"))).unwrap_or_default();
    let (st, software) = reg::load_hive(
        os,
        "SOFTWARE",
        &format!("{config}/SOFTWARE"),
        &mut f.problems,
    );
    f.hives.push(st);
    if let Some(h) = &software {
        let r = reg::Reg::new(h, "SOFTWARE");
        if let Some(root) = software::read(&r, &mut f) {
            if let Some(parsed) = SystemRoot::parse(&root) {
                sysroot = parsed;
            }
        }
        f.problems.extend(r.into_problems());
    }

    let (st, system) = reg::load_hive(os, "SYSTEM", &format!("{config}/SYSTEM"), &mut f.problems);
    f.hives.push(st);
    if let Some(h) = &system {
        let r = reg::Reg::new(h, "SYSTEM");
        system::read(&r, os, &sysroot, &mut f);
        f.problems.extend(r.into_problems());
    }

    files::read(os, &sysroot, limits, &mut f);
    f.release = release_name(&f);
    software::detect_agents(&mut f);

    // Boot files and BCD: boot volumes first, then the system volume itself (BIOS installs
    // without a separate system partition keep \bootmgr and \Boot\BCD on C:).
    let mut volumes: Vec<(String, &dyn GuestFs)> = boot_volumes.to_vec();
    volumes.push(("system".to_string(), os));
    for (id, fs) in &volumes {
        for path in find_boot_files(*fs) {
            f.boot_files.push(BootFile {
                volume: id.clone(),
                path,
            });
        }
    }
    for store in ["/EFI/Microsoft/Boot/BCD", "/Boot/BCD"] {
        for (id, fs) in &volumes {
            if is_file(*fs, store) {
                let b = bcd::read(*fs, id, store, os, &sysroot, &mut f);
                f.bcd.push(b);
            }
        }
    }
    f.problems.sort();
    f.problems.dedup();
    f
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::testfs::MemFs;
    use std::io::Read;

    fn gunzip(name: &str) -> Vec<u8> {
        let p = format!(
            "{}/../../testdata/registry/{name}.hive.gz",
            env!("CARGO_MANIFEST_DIR")
        );
        let gz = std::fs::read(p).unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// A 32-bit PE header (Machine 0x14c).
    fn pe_x86() -> Vec<u8> {
        let mut h = vec![0u8; 0x100];
        h[..2].copy_from_slice(b"MZ");
        h[0x3C] = 0x80;
        h[0x80..0x84].copy_from_slice(b"PE\0\0");
        h[0x84..0x86].copy_from_slice(&0x014Cu16.to_le_bytes());
        h
    }

    /// The regf crate's hives (written by hivexregedit from testdata/registry/src) in an
    /// in-memory volume: different key shapes from the qcow2 fixtures (MBR MountedDevices,
    /// policy key, ControlSet002, no Tcpip interface GUID for C:).
    #[test]
    fn registry_fixture_hives() {
        let mut state_ini = vec![0xFF, 0xFE];
        state_ini.extend(
            "[State]\r\nImageState=IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        let fs = MemFs::new()
            .file("/Windows/System32/config/SYSTEM", gunzip("system"))
            .file("/Windows/System32/config/SOFTWARE", gunzip("software"))
            .file("/Windows/System32/cmd.exe", pe_x86())
            .file("/Windows/System32/drivers/viostor.sys", b"MZ")
            .file("/Windows/Setup/State/State.ini", state_ini)
            .file("/hiberfil.sys", b"HIBR\0\0\0\0")
            .file("/bootmgr", b"bootmgr")
            .dir("/Windows/System32/DriverStore/FileRepository/vioscsi.inf_amd64_1")
            .dir("/Windows/System32/DriverStore/FileRepository/unrelated.inf_amd64_2");
        assert!(is_windows_root(&fs));
        let f = inspect(&fs, &[], &Limits::default());
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        assert_eq!(
            f.product_name.as_deref(),
            Some("Windows Server 2022 Datacenter")
        );
        assert_eq!(f.current_control_set.as_deref(), Some("ControlSet001"));
        assert_eq!(f.hostname.as_deref(), Some("WIN-IMGCHECK"));
        // No ntoskrnl.exe: cmd.exe's header decides.
        assert_eq!(f.arch.as_deref(), Some("x86"));
        assert_eq!(
            f.arch_source.as_deref(),
            Some("PE header of /Windows/System32/cmd.exe")
        );
        assert_eq!(f.rdp.port, Some(3389));
        assert_eq!(f.rdp.policy_deny_ts_connections, Some(0));
        assert_eq!(f.rdp.enabled, Some(true));
        assert_eq!(
            f.drive_letters,
            vec![DriveLetter {
                letter: "C:".into(),
                location: DiskLocation::Mbr {
                    disk_signature: "1a2b3c4d".into(),
                    offset: 1 << 20
                }
            }]
        );
        let agents: Vec<&str> = f.agents.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(agents, ["cloudbase-init"]);
        assert!(f.drivers["viostor"].sys_file_present);
        assert_eq!(f.drivers["vioscsi"].driver_store, ["vioscsi.inf_amd64_1"]);
        assert_eq!(f.driver_store, ["vioscsi.inf_amd64_1"]);
        assert_eq!(
            f.sysprep.state_ini_image_state.as_deref(),
            Some("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE")
        );
        assert!(f.hibernation.hibernated);
        assert_eq!(f.hibernation.hiberfil_signature.as_deref(), Some("HIBR"));
        // "\??\C:\a.tmp" then the empty target.
        assert_eq!(f.pending.pending_file_renames[0], "\\??\\C:\\a.tmp");
        assert!(f.pending.reboot_pending);
        let crit: Vec<&str> = f.critical_devices.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(crit.len(), 2);
        assert_eq!(
            f.boot_files,
            vec![BootFile {
                volume: "system".into(),
                path: "/bootmgr".into()
            }]
        );
        assert!(f.bcd.is_empty());
        assert_eq!(
            f.services
                .iter()
                .find(|s| s.name == "viostor")
                .unwrap()
                .start,
            Some(0)
        );
    }

    /// Corrupt hives and files are problems, never panics; the other facts still come.
    #[test]
    fn corrupt_inputs_are_problems() {
        let mut bad_regf = b"regf".to_vec();
        bad_regf.resize(4096 + 16, 0xA5);
        let fs = MemFs::new()
            .file("/Windows/System32/config/SYSTEM", bad_regf)
            .file("/Windows/System32/config/SOFTWARE", b"not a hive")
            .file("/Windows/System32/ntoskrnl.exe", b"MZ\0\0")
            .file("/Windows/WinSxS/pending.xml", b"<x/>")
            .file("/EFI/Microsoft/Boot/BCD", b"junk");
        let f = inspect(&fs, &[], &Limits::default());
        assert!(f.pending.pending_xml && f.pending.reboot_pending);
        assert_eq!(f.arch, None);
        assert_eq!(f.hives.len(), 3);
        assert!(f
            .hives
            .iter()
            .all(|h| h.present && !h.parsed && h.error.is_some()));
        assert_eq!(f.bcd.len(), 1);
        assert_eq!(f.bcd[0].default_id, None);
        let joined = f.problems.join("\n");
        for needle in [
            "SYSTEM hive /Windows/System32/config/SYSTEM: ",
            "SOFTWARE hive /Windows/System32/config/SOFTWARE: ",
            "BCD hive /EFI/Microsoft/Boot/BCD: ",
            "/Windows/System32/ntoskrnl.exe: pe: ",
        ] {
            assert!(joined.contains(needle), "{needle} not in {joined}");
        }
    }

    /// Desktop folders: `desktop.ini` per profile, profiles without a Desktop
    /// skipped; no `\Users` at all gives no folders (not "unknown").
    #[test]
    fn desktop_folders() {
        let fs = MemFs::new()
            .file("/Users/Public/Desktop/desktop.ini", b"\xff\xfe")
            .dir("/Users/bob/Desktop")
            .dir("/Users/Default");
        let f = inspect(&fs, &[], &Limits::default());
        let d = f.desktop.unwrap();
        assert!(d.public_desktop_present);
        assert_eq!(
            d.folders,
            vec![
                DesktopFolder {
                    path: "/Users/bob/Desktop".into(),
                    desktop_ini: false
                },
                DesktopFolder {
                    path: "/Users/Public/Desktop".into(),
                    desktop_ini: true
                }
            ]
        );
        let f = inspect(&MemFs::new(), &[], &Limits::default());
        assert_eq!(f.desktop, Some(DesktopFacts::default()));
    }

    /// Release names from version facts: Windows 11 by its build, servers by their LTSC builds,
    /// Server Core as a server, the product name when InstallationType is absent.
    #[test]
    fn release_names() {
        let r = |major, minor, build: Option<&str>, itype: Option<&str>, product: &str| {
            release_name(&WindowsFacts {
                major_version: Some(major),
                minor_version: Some(minor),
                build: build.map(str::to_string),
                installation_type: itype.map(str::to_string),
                product_name: Some(product.to_string()),
                ..WindowsFacts::default()
            })
        };
        let pro = "Windows 10 Pro";
        assert_eq!(
            r(10, 0, Some("22631"), Some("Client"), pro).as_deref(),
            Some("Windows 11")
        );
        assert_eq!(
            r(10, 0, Some("22000"), Some("Client"), pro).as_deref(),
            Some("Windows 11")
        );
        assert_eq!(
            r(10, 0, Some("19045"), Some("Client"), pro).as_deref(),
            Some("Windows 10")
        );
        assert_eq!(
            r(10, 0, None, Some("Client"), pro).as_deref(),
            Some("Windows 10 or 11")
        );
        let dc = "Windows Server 2022 Datacenter";
        assert_eq!(
            r(10, 0, Some("20348"), Some("Server Core"), dc).as_deref(),
            Some("Windows Server 2022")
        );
        assert_eq!(
            r(10, 0, Some("26100"), None, "Windows Server 2025 Standard").as_deref(),
            Some("Windows Server 2025")
        );
        assert_eq!(
            r(10, 0, Some("25398"), Some("Server"), dc).as_deref(),
            Some("Windows Server (build 25398)")
        );
        assert_eq!(
            r(6, 3, Some("9600"), Some("Server"), dc).as_deref(),
            Some("Windows Server 2012 R2")
        );
        assert_eq!(
            r(6, 1, Some("7601"), None, "Windows 7 Professional").as_deref(),
            Some("Windows 7")
        );
        assert_eq!(r(4, 0, None, None, "Windows NT").as_deref(), None);
        assert_eq!(release_name(&WindowsFacts::default()), None);
    }

    /// A volume without hives is not a Windows root.
    #[test]
    fn no_windows_root() {
        let fs = MemFs::new().file("/Windows/System32/cmd.exe", pe_x86());
        assert!(!is_windows_root(&fs));
        assert_eq!(system_root(&fs), None);
        assert!(find_boot_files(&fs).is_empty());
    }
}
