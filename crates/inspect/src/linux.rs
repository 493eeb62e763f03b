//! Linux guest facts: distribution, architecture, hostname, kernels.
//!
//! Sources, in order of preference (as libguestfs inspection and dissect do): `/etc/os-release`
//! (or `/usr/lib/os-release`), then the legacy release files; the architecture from the ELF
//! header of `/bin/sh`, `/bin/bash` or `/bin/ls`; kernels from `/boot/vmlinuz-*` matched with
//! their initramfs, config and `/lib/modules/<version>`; for each kernel the driver status
//! ([`kconfig`]) and the initramfs listing ([`initramfs`]); then the bootloader
//! ([`bootloader`]), network ([`network`]), services ([`services`]), packages ([`packages`]),
//! agents ([`agents`]), system settings and time zone ([`system`]) and the firmware the guest
//! is set up for ([`firmware`]).

use crate::agents::{self, AgentFacts};
use crate::bootloader::{self, BootFacts};
use crate::elf;
use crate::firmware;
use crate::initramfs;
use crate::kconfig::{self, DriverStatus, KernelModules, CLOUD_DRIVERS};
use crate::network::{self, NetworkFacts};
use crate::osrelease;
use crate::packages::{self, Packages};
use crate::services::ServiceIndex;
use crate::system::{self, SystemFacts};
use crate::view::GuestView;
use imgcheck_core::Limits;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Bytes read of small text files (release files, hostname).
const SMALL_FILE: u64 = 64 * 1024;

/// One installed kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelInfo {
    /// Version string, e.g. `6.1.0-28-cloud-amd64`.
    pub version: String,
    /// Guest path of the kernel image.
    pub image: String,
    /// Guest path of the matching initramfs, if found.
    pub initrd: Option<String>,
    /// Guest path of `config-<version>`, if present.
    pub config: Option<String>,
    /// Whether `/lib/modules/<version>` exists.
    pub modules_dir: bool,
    /// This is the kernel of the bootloader's default entry.
    pub default: bool,
    /// Config, built-in list and module inventory.
    pub modules: KernelModules,
    /// Status of the storage and network drivers of [`CLOUD_DRIVERS`].
    pub drivers: BTreeMap<String, DriverStatus>,
    /// What the initramfs holds.
    pub initrd_summary: Option<InitrdSummary>,
}

/// The initramfs of one kernel, summarised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitrdSummary {
    /// Guest path.
    pub path: String,
    /// Member compressions in order (`none`, `gzip`, `zstd`, …).
    pub compressions: Vec<String>,
    /// Entries listed.
    pub entries: usize,
    /// Kernel modules in it.
    pub module_count: usize,
    /// Which of [`CLOUD_DRIVERS`] it holds as modules.
    pub drivers_found: Vec<String>,
    /// The whole initramfs was read (no limit hit, no error): only then does absence count.
    pub complete: bool,
    /// A byte or entry limit stopped the listing.
    pub truncated: bool,
    /// Why it could not be (fully) read.
    pub error: Option<String>,
    /// The listing ended once every driver of [`CLOUD_DRIVERS`] this kernel has as a module was
    /// listed ([`InitrdDepth::UntilCloudDrivers`]): `drivers_found` is complete, `entries` and
    /// `module_count` count only what came before, `complete` is false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_early: bool,
    /// The names of the kernel modules listed, sorted (`inspect --json` shows them under
    /// `os[].kernels[].initramfs_modules`; left out of the facts' own serialisation, which the
    /// check report embeds).
    #[serde(skip)]
    pub modules: Vec<String>,
}

/// How much of each initramfs [`inspect_with`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitrdDepth {
    /// Every entry (`imgcheck inspect`).
    Full,
    /// Until every driver of [`CLOUD_DRIVERS`] the kernel has as a module has been seen (the
    /// checks need no more; the rest is neither read nor decompressed). When one is missing,
    /// the whole initramfs is listed.
    UntilCloudDrivers,
}

/// Facts of a Linux guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinuxFacts {
    /// os-release `ID` (or the legacy file's distribution id).
    pub distro: Option<String>,
    /// os-release `VERSION_ID` (or the legacy file's version).
    pub version: Option<String>,
    /// os-release `PRETTY_NAME` (or the legacy file's first line).
    pub pretty_name: Option<String>,
    /// os-release `VERSION_CODENAME`.
    pub codename: Option<String>,
    /// os-release `ID_LIKE`.
    pub id_like: Vec<String>,
    /// The file the distribution was read from.
    pub release_file: Option<String>,
    /// `x86_64`, `aarch64`, … from an ELF header.
    pub arch: Option<String>,
    /// The binary the architecture was read from.
    pub arch_source: Option<String>,
    /// `/etc/hostname` (or `/etc/HOSTNAME`).
    pub hostname: Option<String>,
    /// Installed kernels, sorted by version.
    pub kernels: Vec<KernelInfo>,
    /// Bootloader configuration.
    pub boot: BootFacts,
    /// Network configuration.
    pub network: NetworkFacts,
    /// Enabled systemd units and SysV services.
    pub enabled_units: Vec<String>,
    /// Package database.
    pub packages: Packages,
    /// Cloud and hypervisor agents.
    pub agents: AgentFacts,
    /// System settings (SELinux, RTC, shadow, root, sshd, firewall, …).
    pub system: SystemFacts,
    /// Time zone and its source.
    #[serde(default)]
    pub timezone: Option<system::Timezone>,
    /// The firmware the guest is set up for (BIOS, UEFI, both), with its evidence.
    #[serde(default)]
    pub firmware: firmware::FirmwareFacts,
}

/// Legacy release files: path, distribution id. Checked in this order when os-release is absent.
const LEGACY_RELEASE: &[(&str, &str)] = &[
    ("/etc/alinux-release", "alinux"),
    ("/etc/anolis-release", "anolis"),
    ("/etc/openEuler-release", "openeuler"),
    ("/etc/kylin-release", "kylin"),
    ("/etc/uos-release", "uos"),
    ("/etc/rocky-release", "rocky"),
    ("/etc/almalinux-release", "almalinux"),
    ("/etc/oracle-release", "ol"),
    ("/etc/centos-release", "centos"),
    ("/etc/fedora-release", "fedora"),
    ("/etc/redhat-release", "rhel"),
    ("/etc/SuSE-release", "suse"),
    ("/etc/alpine-release", "alpine"),
    ("/etc/gentoo-release", "gentoo"),
    ("/etc/arch-release", "arch"),
    ("/etc/debian_version", "debian"),
];

/// The first run of digits and dots in `s` (`CentOS release 6.10 (Final)` → `6.10`).
fn first_version(s: &str) -> Option<String> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let v: String = s
        .get(start..)?
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    Some(v.trim_end_matches('.').to_string()).filter(|v| !v.is_empty())
}

/// `HOSTNAME=` of `/etc/sysconfig/network` (shell syntax, quotes allowed).
fn sysconfig_hostname(text: &str) -> Option<String> {
    network::parse_shell_vars(text)
        .remove("HOSTNAME")
        .map(|(v, _)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The version directory under `/lib/modules` of a kernel image named by flavour
/// (`vmlinuz-virt` → `6.6.58-0-virt`, Alpine's `linux-<flavour>` packages): the one directory
/// whose name ends in `-<flavour>`. None when there is none or more than one.
fn flavour_version(module_dirs: &[String], flavour: &str) -> Option<String> {
    let suffix = format!("-{flavour}");
    let mut it = module_dirs.iter().filter(|d| d.ends_with(&suffix));
    let first = it.next()?;
    it.next().is_none().then(|| first.clone())
}

/// Collect the facts of the guest seen through `view`.
pub fn inspect(view: &GuestView, limits: &Limits) -> LinuxFacts {
    inspect_with(view, limits, InitrdDepth::Full)
}

/// [`inspect`], listing each initramfs as far as `depth` says.
pub fn inspect_with(view: &GuestView, limits: &Limits, depth: InitrdDepth) -> LinuxFacts {
    let mut f = LinuxFacts::default();
    let read = |p: &str| view.read_text(p, SMALL_FILE).ok();
    for p in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(t) = read(p) {
            let m = osrelease::parse(&t);
            f.distro = m.get("ID").cloned();
            f.version = m.get("VERSION_ID").cloned();
            f.pretty_name = m.get("PRETTY_NAME").or_else(|| m.get("NAME")).cloned();
            f.codename = m.get("VERSION_CODENAME").cloned();
            f.id_like = m
                .get("ID_LIKE")
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            f.release_file = Some(p.to_string());
            break;
        }
    }
    if f.distro.is_none() {
        for (p, id) in LEGACY_RELEASE {
            if let Some(t) = read(p) {
                let first = t.lines().next().unwrap_or("").trim().to_string();
                f.distro = Some((*id).to_string());
                f.version = first_version(&first);
                f.pretty_name = Some(first).filter(|s| !s.is_empty());
                f.release_file = Some((*p).to_string());
                break;
            }
        }
    }
    for p in [
        "/bin/sh",
        "/bin/bash",
        "/usr/bin/bash",
        "/bin/ls",
        "/usr/bin/ls",
    ] {
        if let Ok(head) = view.read(p, 64) {
            if let Some(a) = elf::arch(&head) {
                f.arch = Some(a.to_string());
                f.arch_source = Some(p.to_string());
                break;
            }
        }
    }
    f.hostname = ["/etc/hostname", "/etc/HOSTNAME"]
        .iter()
        .find_map(|p| read(p))
        .and_then(|t| {
            t.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
        })
        // RHEL/CentOS ≤ 6 keep it as HOSTNAME= in /etc/sysconfig/network.
        .or_else(|| read("/etc/sysconfig/network").and_then(|t| sysconfig_hostname(&t)));
    f.boot = bootloader::inspect(view);
    f.kernels = kernels(view);
    let default = f.boot.default_entry.clone();
    let mut initrds = Vec::new();
    for (i, k) in f.kernels.iter_mut().enumerate() {
        k.default = default.as_ref().is_some_and(|d| {
            d.kernel.as_deref() == Some(k.image.as_str())
                || d.version.as_deref() == Some(k.version.as_str())
        });
        k.modules = kconfig::read(view, &k.version, k.config.as_deref());
        k.modules_dir = k.modules_dir || k.modules.module_source != "none";
        k.drivers = CLOUD_DRIVERS
            .iter()
            .map(|(n, _)| ((*n).to_string(), k.modules.driver_status(n)))
            .collect();
        let wanted: BTreeSet<String> = match depth {
            InitrdDepth::Full => BTreeSet::new(),
            InitrdDepth::UntilCloudDrivers => k
                .drivers
                .iter()
                .filter(|(_, st)| matches!(st, DriverStatus::Module { .. }))
                .map(|(n, _)| n.replace('-', "_"))
                .collect(),
        };
        if let Some(p) = &k.initrd {
            initrds.push((i, p.clone(), wanted));
        }
    }
    // The initramfs listings (decompression: most of the time) run beside the rest.
    let (summaries, ()) = rayon::join(
        || {
            initrds
                .iter()
                .map(|(i, p, wanted)| (*i, initrd_summary_until(view, p, limits, wanted)))
                .collect::<Vec<_>>()
        },
        || {
            let ix = ServiceIndex::load(view);
            f.enabled_units = ix.enabled_units();
            f.network = network::inspect(view, &ix);
            f.packages = packages::inspect(view, limits.max_file_bytes);
            f.agents = agents::inspect(view, &ix);
            if let Some((v, src)) = agents::cloud_init_version(view, &f.packages) {
                f.agents.cloud_init.version = Some(v);
                f.agents.cloud_init.version_source = Some(src);
            }
            f.system = system::inspect(view, &ix);
            f.timezone = system::timezone(view);
            f.firmware = firmware::guest_evidence(view, &f.packages);
        },
    );
    for (i, sum) in summaries {
        if let Some(k) = f.kernels.get_mut(i) {
            k.initrd_summary = Some(sum);
        }
    }
    f
}

/// Read and list one initramfs.
pub fn initrd_summary(view: &GuestView, path: &str, limits: &Limits) -> InitrdSummary {
    initrd_summary_until(view, path, limits, &BTreeSet::new())
}

/// The initramfs as a [`initramfs::ChunkSource`]: ranges where the filesystem reads them, else
/// the whole file read once.
struct InitrdChunks<'a> {
    view: &'a GuestView,
    path: &'a str,
    max_bytes: u64,
    whole: Option<Vec<u8>>,
}

impl initramfs::ChunkSource for InitrdChunks<'_> {
    fn read_chunk(&mut self, offset: u64, max: usize) -> std::io::Result<Vec<u8>> {
        let io = |e: crate::InspectError| std::io::Error::other(imgcheck_core::error_chain(&e));
        if self.whole.is_none() {
            if offset >= self.max_bytes {
                return Err(std::io::Error::other(format!(
                    "the file is larger than the {}-byte read limit",
                    self.max_bytes
                )));
            }
            if let Some(v) = self.view.read_range(self.path, offset, max).map_err(io)? {
                return Ok(v);
            }
            self.whole = Some(self.view.read(self.path, self.max_bytes).map_err(io)?);
        }
        let mut d: &[u8] = self.whole.as_deref().unwrap_or_default();
        d.read_chunk(offset, max)
    }
}

/// Read and list one initramfs, stopping once every module in `wanted` has been listed (an
/// empty set lists everything).
pub fn initrd_summary_until(
    view: &GuestView,
    path: &str,
    limits: &Limits,
    wanted: &BTreeSet<String>,
) -> InitrdSummary {
    let mut s = InitrdSummary {
        path: path.to_string(),
        ..InitrdSummary::default()
    };
    // Errors before the first byte (not found, not a file, over the size limit) as before.
    if let Err(e) = view.metadata(path).and_then(|m| {
        if m.file_type == imgcheck_fs::FileType::File {
            Ok(())
        } else {
            view.read(path, 1).map(drop)
        }
    }) {
        s.error = Some(imgcheck_core::error_chain(&e));
        return s;
    }
    let mut src = InitrdChunks {
        view,
        path,
        max_bytes: limits.max_file_bytes,
        whole: None,
    };
    match initramfs::list_until(&mut src, limits, wanted) {
        Ok(l) => {
            let mods = initramfs::modules_in(&l);
            s.compressions = l
                .compressions
                .iter()
                .map(|c| c.name().to_string())
                .collect();
            s.entries = l.paths.len();
            s.module_count = mods.len();
            s.drivers_found = CLOUD_DRIVERS
                .iter()
                .filter(|(n, _)| mods.contains(*n))
                .map(|(n, _)| (*n).to_string())
                .collect();
            s.modules = mods.iter().cloned().collect();
            s.complete = l.complete();
            s.truncated = l.truncated;
            s.error = l.error;
            s.stopped_early = l.stopped_early;
        }
        Err(e) => s.error = Some(e.to_string()),
    }
    s
}

fn kernels(view: &GuestView) -> Vec<KernelInfo> {
    let Ok(entries) = view.read_dir("/boot") else {
        return Vec::new();
    };
    let names: Vec<String> = entries.into_iter().map(|e| e.name).collect();
    let module_dirs: Vec<String> = view
        .read_dir("/lib/modules")
        .map(|v| v.into_iter().map(|e| e.name).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for n in &names {
        let suffix = match n
            .strip_prefix("vmlinuz-")
            .or_else(|| n.strip_prefix("vmlinux-"))
        {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => continue,
        };
        // Alpine names the image and initramfs by flavour only; the version is the modules
        // directory's name.
        let version = if module_dirs.contains(&suffix) {
            suffix.clone()
        } else {
            flavour_version(&module_dirs, &suffix).unwrap_or_else(|| suffix.clone())
        };
        let candidates = [
            format!("initrd.img-{suffix}"),
            format!("initramfs-{suffix}.img"),
            format!("initrd-{suffix}"),
            format!("initramfs-{suffix}"),
        ];
        let initrd = candidates
            .iter()
            .find(|c| names.contains(c))
            .map(|c| format!("/boot/{c}"));
        let config = [format!("config-{version}"), format!("config-{suffix}")]
            .into_iter()
            .find(|c| names.contains(c))
            .map(|c| format!("/boot/{c}"));
        let modules_dir = view.exists(&format!("/lib/modules/{version}"));
        out.push(KernelInfo {
            image: format!("/boot/{n}"),
            version,
            initrd,
            config,
            modules_dir,
            ..KernelInfo::default()
        });
    }
    out.sort_by(|a, b| a.version.cmp(&b.version));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysconfig_network_hostname() {
        assert_eq!(
            sysconfig_hostname("NETWORKING=yes\nHOSTNAME=\"centos6.localdomain\"\n").as_deref(),
            Some("centos6.localdomain")
        );
        assert_eq!(sysconfig_hostname("NETWORKING=yes\nHOSTNAME=\n"), None);
    }

    #[test]
    fn flavour_kernels() {
        let dirs = vec!["6.6.58-0-virt".to_string(), "6.6.58-0-lts".to_string()];
        assert_eq!(
            flavour_version(&dirs, "virt").as_deref(),
            Some("6.6.58-0-virt")
        );
        assert_eq!(flavour_version(&dirs, "edge"), None);
        let two = vec!["6.6.1-0-virt".to_string(), "6.6.2-0-virt".to_string()];
        assert_eq!(flavour_version(&two, "virt"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(
            first_version("CentOS release 6.10 (Final)").as_deref(),
            Some("6.10")
        );
        assert_eq!(first_version("12.8").as_deref(), Some("12.8"));
        assert_eq!(first_version("no digits"), None);
    }
}
