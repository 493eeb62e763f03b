//! Kernel configuration and module inventory: `/boot/config-<v>` (Kconfig output:
//! `CONFIG_X=y|m|"str"`, `# CONFIG_X is not set`), `/lib/modules/<v>/modules.builtin` (one
//! `kernel/…/name.ko` path per built-in module) and `modules.dep` (`path: deps…`, one line per
//! loadable module), as written by the kernel build and `depmod(8)`. Own code: line formats.
//!
//! [`KernelModules::driver_status`] answers "can this kernel drive X": built in, a loadable
//! module (with its path), or absent — the way virt-v2v's `linux_kernels.ml` decides (module file
//! present, or `CONFIG_…` = y/m).

use crate::initramfs::module_name;
use crate::view::GuestView;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Bytes read of a kernel config or modules.* file (real ones are < 1 MiB).
const MAX_TEXT: u64 = 8 << 20;
/// Files visited when walking a module tree without `modules.dep`.
const MAX_WALK_FILES: usize = 50_000;
/// Directory depth of that walk (`kernel/drivers/net/ethernet/amazon/ena/ena.ko` is 6).
const MAX_WALK_DEPTH: usize = 10;

/// The storage and network drivers every kernel is asked about, with their Kconfig symbols.
/// Names are module names with `_` (modprobe treats `-` and `_` alike: the file of
/// `xen_netfront` is `xen-netfront.ko`); [`canonical_driver`] maps either spelling here.
/// Symbols from the kernel's Kconfig files (drivers/block, drivers/net, drivers/scsi,
/// drivers/nvme, drivers/hv, drivers/net/ethernet/{amazon,google,vmware}).
pub const CLOUD_DRIVERS: &[(&str, &str)] = &[
    ("virtio_blk", "CONFIG_VIRTIO_BLK"),
    ("virtio_net", "CONFIG_VIRTIO_NET"),
    ("virtio_pci", "CONFIG_VIRTIO_PCI"),
    ("virtio_scsi", "CONFIG_SCSI_VIRTIO"),
    ("nvme", "CONFIG_BLK_DEV_NVME"),
    ("nvme_core", "CONFIG_NVME_CORE"),
    ("xen_blkfront", "CONFIG_XEN_BLKDEV_FRONTEND"),
    ("xen_netfront", "CONFIG_XEN_NETDEV_FRONTEND"),
    ("hv_vmbus", "CONFIG_HYPERV"),
    ("hv_storvsc", "CONFIG_HYPERV_STORAGE"),
    ("hv_netvsc", "CONFIG_HYPERV_NET"),
    ("ena", "CONFIG_ENA_ETHERNET"),
    ("gve", "CONFIG_GVE"),
    ("vmxnet3", "CONFIG_VMXNET3"),
    ("vmw_pvscsi", "CONFIG_VMWARE_PVSCSI"),
];

/// What each driver of [`CLOUD_DRIVERS`] is, for messages.
pub const DRIVER_ROLES: &[(&str, &str)] = &[
    ("virtio_blk", "virtio block disk"),
    ("virtio_net", "virtio network"),
    ("virtio_pci", "virtio PCI transport"),
    ("virtio_scsi", "virtio SCSI disk"),
    ("nvme", "NVMe disk"),
    ("nvme_core", "NVMe core"),
    ("xen_blkfront", "Xen block front-end"),
    ("xen_netfront", "Xen network front-end"),
    ("hv_vmbus", "Hyper-V VMBus"),
    ("hv_storvsc", "Hyper-V storage"),
    ("hv_netvsc", "Hyper-V network"),
    ("ena", "AWS Elastic Network Adapter"),
    ("gve", "Google Virtual NIC"),
    ("vmxnet3", "VMware vmxnet3 network"),
    ("vmw_pvscsi", "VMware paravirtual SCSI"),
];

/// The [`CLOUD_DRIVERS`] name of a module name in either spelling (`xen-netfront`,
/// `xen_netfront`, `xen-netfront.ko.xz`'s stem), or `None` for other modules.
pub fn canonical_driver(name: &str) -> Option<&'static str> {
    let n = name.trim().replace('-', "_");
    CLOUD_DRIVERS.iter().map(|(d, _)| *d).find(|d| *d == n)
}

/// What a driver of [`CLOUD_DRIVERS`] is (`xen-netfront` → `Xen network front-end`).
pub fn driver_role(name: &str) -> Option<&'static str> {
    let d = canonical_driver(name)?;
    DRIVER_ROLES.iter().find(|(n, _)| *n == d).map(|(_, r)| *r)
}

/// A Kconfig value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tristate {
    /// `=y`.
    Yes,
    /// `=m`.
    Module,
    /// `# CONFIG_X is not set`.
    No,
    /// A string or number value.
    Value(String),
}

/// Parse a kernel `.config`.
pub fn parse_config(text: &str) -> BTreeMap<String, Tristate> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(sym) = line
            .strip_prefix("# ")
            .and_then(|l| l.strip_suffix(" is not set"))
        {
            if sym.starts_with("CONFIG_") {
                out.insert(sym.to_string(), Tristate::No);
            }
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if !k.starts_with("CONFIG_") {
            continue;
        }
        let t = match v {
            "y" => Tristate::Yes,
            "m" => Tristate::Module,
            "n" => Tristate::No,
            other => Tristate::Value(other.trim_matches('"').to_string()),
        };
        out.insert(k.to_string(), t);
    }
    out
}

/// Module names listed in `modules.builtin`.
pub fn parse_builtin(text: &str) -> BTreeSet<String> {
    text.lines().filter_map(|l| module_name(l.trim())).collect()
}

/// Module name → path (relative to the module directory) from `modules.dep`.
pub fn parse_dep(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((path, _)) = line.split_once(':') else {
            continue;
        };
        let path = path.trim();
        if let Some(n) = module_name(path) {
            out.entry(n).or_insert_with(|| path.to_string());
        }
    }
    out
}

/// Whether a kernel can drive a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DriverStatus {
    /// Built into the kernel image.
    Builtin {
        /// `modules.builtin` or `config-<v>: CONFIG_X=y`.
        evidence: String,
    },
    /// A loadable module.
    Module {
        /// Guest path of the module file.
        path: String,
    },
    /// Neither (the config says `m` but no module file was found: `config_says_module`).
    Absent {
        /// True when the config said `=m` but no module file was found.
        config_says_module: bool,
    },
}

/// What is known about one kernel's drivers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelModules {
    /// Guest path of `/lib/modules/<v>`.
    pub dir: String,
    /// Parsed config (only the symbols of [`CLOUD_DRIVERS`] are kept when serialised by callers).
    #[serde(skip)]
    pub config: BTreeMap<String, Tristate>,
    /// Whether a config file was read.
    pub config_read: bool,
    /// Built-in module names.
    #[serde(skip)]
    pub builtin: BTreeSet<String>,
    /// Loadable module name → path relative to `dir`.
    #[serde(skip)]
    pub modules: BTreeMap<String, String>,
    /// Where the module list came from: `modules.dep`, `walk`, or `none`.
    pub module_source: String,
    /// Number of loadable modules known.
    pub module_count: usize,
    /// True when the walk hit its bound.
    pub walk_truncated: bool,
}

impl KernelModules {
    /// Status of driver `name` (`-` and `_` are equivalent).
    pub fn driver_status(&self, name: &str) -> DriverStatus {
        let name = name.replace('-', "_");
        if self.builtin.contains(&name) {
            return DriverStatus::Builtin {
                evidence: format!("{}/modules.builtin", self.dir),
            };
        }
        if let Some(p) = self.modules.get(&name) {
            return DriverStatus::Module {
                path: format!("{}/{}", self.dir, p),
            };
        }
        let sym = CLOUD_DRIVERS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s);
        let cfg = sym.and_then(|s| self.config.get(s).map(|v| (s, v)));
        match cfg {
            Some((s, Tristate::Yes)) => DriverStatus::Builtin {
                evidence: format!("config: {s}=y"),
            },
            Some((_, Tristate::Module)) => DriverStatus::Absent {
                config_says_module: true,
            },
            _ => DriverStatus::Absent {
                config_says_module: false,
            },
        }
    }
}

/// Read config, modules.builtin and modules.dep (or walk the tree) of kernel `version`.
pub fn read(view: &GuestView, version: &str, config_path: Option<&str>) -> KernelModules {
    let dir = format!("/lib/modules/{version}");
    let mut k = KernelModules {
        dir: dir.clone(),
        module_source: "none".to_string(),
        ..KernelModules::default()
    };
    if let Some(p) = config_path {
        if let Ok(t) = view.read_text(p, MAX_TEXT) {
            k.config = parse_config(&t);
            k.config_read = true;
        }
    }
    if let Ok(t) = view.read_text(&format!("{dir}/modules.builtin"), MAX_TEXT) {
        k.builtin = parse_builtin(&t);
    }
    if let Ok(t) = view.read_text(&format!("{dir}/modules.dep"), MAX_TEXT) {
        k.modules = parse_dep(&t);
        k.module_source = "modules.dep".to_string();
    } else if view.exists(&dir) {
        let mut seen = 0usize;
        walk(
            view,
            &dir,
            "",
            0,
            &mut k.modules,
            &mut seen,
            &mut k.walk_truncated,
        );
        k.module_source = "walk".to_string();
    }
    k.module_count = k.modules.len();
    k
}

fn walk(
    view: &GuestView,
    base: &str,
    rel: &str,
    depth: usize,
    out: &mut BTreeMap<String, String>,
    seen: &mut usize,
    truncated: &mut bool,
) {
    if depth > MAX_WALK_DEPTH {
        *truncated = true;
        return;
    }
    let here = if rel.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{rel}")
    };
    let Ok(entries) = view.read_dir(&here) else {
        return;
    };
    for e in entries {
        *seen = seen.saturating_add(1);
        if *seen > MAX_WALK_FILES {
            *truncated = true;
            return;
        }
        let child = if rel.is_empty() {
            e.name.clone()
        } else {
            format!("{rel}/{}", e.name)
        };
        match e.file_type {
            // Symlinked dirs (`build`, `source`) point outside the module tree: not followed.
            imgcheck_fs::FileType::Dir => walk(
                view,
                base,
                &child,
                depth.saturating_add(1),
                out,
                seen,
                truncated,
            ),
            imgcheck_fs::FileType::File => {
                if let Some(n) = module_name(&e.name) {
                    out.entry(n).or_insert(child);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_and_lists() {
        let c = parse_config(
            "# comment\nCONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_PCI=y\n# CONFIG_HYPERV is not set\nCONFIG_LOCALVERSION=\"-cloud\"\nCONFIG_NR_CPUS=64\nFOO=y\n",
        );
        assert_eq!(c.get("CONFIG_VIRTIO_BLK"), Some(&Tristate::Module));
        assert_eq!(c.get("CONFIG_VIRTIO_PCI"), Some(&Tristate::Yes));
        assert_eq!(c.get("CONFIG_HYPERV"), Some(&Tristate::No));
        assert_eq!(
            c.get("CONFIG_LOCALVERSION"),
            Some(&Tristate::Value("-cloud".into()))
        );
        assert_eq!(c.len(), 5);
        let b =
            parse_builtin("kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_pci.ko\n");
        assert!(b.contains("virtio_pci"));
        let d = parse_dep(
            "kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio.ko.xz\nkernel/drivers/block/xen-blkfront.ko.zst:\ngarbage\n",
        );
        assert_eq!(
            d.get("virtio_blk").unwrap(),
            "kernel/drivers/block/virtio_blk.ko.xz"
        );
        assert!(d.contains_key("xen_blkfront"));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn driver_names_in_both_spellings() {
        for (n, want) in [
            ("xen-netfront", "xen_netfront"),
            ("xen_netfront", "xen_netfront"),
            ("xen-blkfront", "xen_blkfront"),
            ("hv_netvsc", "hv_netvsc"),
            ("hv-storvsc", "hv_storvsc"),
            ("ena", "ena"),
            ("gve", "gve"),
            ("vmxnet3", "vmxnet3"),
            ("virtio-scsi", "virtio_scsi"),
            ("nvme", "nvme"),
        ] {
            assert_eq!(canonical_driver(n), Some(want), "{n}");
            assert!(driver_role(n).is_some(), "{n}");
        }
        assert_eq!(canonical_driver("e1000"), None);
        assert_eq!(driver_role("xen-netfront"), Some("Xen network front-end"));
        assert_eq!(CLOUD_DRIVERS.len(), DRIVER_ROLES.len());
        let d = parse_dep(
            "kernel/drivers/net/xen-netfront.ko.xz: kernel/drivers/xen/xen-front.ko\nkernel/drivers/net/ethernet/google/gve/gve.ko.zst:\n",
        );
        let k = KernelModules {
            dir: "/lib/modules/6.1".into(),
            modules: d,
            config: parse_config("CONFIG_VMXNET3=y\nCONFIG_XEN_NETDEV_FRONTEND=m\n"),
            ..KernelModules::default()
        };
        assert_eq!(
            k.driver_status("xen-netfront"),
            DriverStatus::Module {
                path: "/lib/modules/6.1/kernel/drivers/net/xen-netfront.ko.xz".into()
            }
        );
        assert!(matches!(
            k.driver_status("gve"),
            DriverStatus::Module { .. }
        ));
        assert_eq!(
            k.driver_status("vmxnet3"),
            DriverStatus::Builtin {
                evidence: "config: CONFIG_VMXNET3=y".into()
            }
        );
    }

    #[test]
    fn status() {
        let k = KernelModules {
            dir: "/lib/modules/6.1".into(),
            config: parse_config("CONFIG_BLK_DEV_NVME=y\nCONFIG_SCSI_VIRTIO=m\n"),
            builtin: parse_builtin("kernel/drivers/virtio/virtio_pci.ko\n"),
            modules: parse_dep("kernel/drivers/block/virtio_blk.ko: \n"),
            ..KernelModules::default()
        };
        assert_eq!(
            k.driver_status("virtio_pci"),
            DriverStatus::Builtin {
                evidence: "/lib/modules/6.1/modules.builtin".into()
            }
        );
        assert_eq!(
            k.driver_status("virtio-blk"),
            DriverStatus::Module {
                path: "/lib/modules/6.1/kernel/drivers/block/virtio_blk.ko".into()
            }
        );
        assert_eq!(
            k.driver_status("nvme"),
            DriverStatus::Builtin {
                evidence: "config: CONFIG_BLK_DEV_NVME=y".into()
            }
        );
        assert_eq!(
            k.driver_status("virtio_scsi"),
            DriverStatus::Absent {
                config_says_module: true
            }
        );
        assert_eq!(
            k.driver_status("ena"),
            DriverStatus::Absent {
                config_says_module: false
            }
        );
    }
}
