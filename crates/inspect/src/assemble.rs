//! Guest assembly: find OS roots among the volumes and build the mount map from the root's
//! `/etc/fstab`, resolving each entry against the image's volumes (the way libguestfs
//! inspection and virt-v2v do, without booting anything).

use crate::fstab::{self, DeviceSpec, Fstab, FstabEntry};
use crate::view::{GuestView, Mount};
use imgcheck_fs::{FileType, GuestFs};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What the engine knows about one volume of the image.
#[derive(Clone, Default)]
pub struct VolumeDesc {
    /// Volume id as `info` shows it: partition number, or `whole`.
    pub id: String,
    /// Partition number, when the volume is a partition.
    pub partition: Option<u32>,
    /// GPT unique partition GUID.
    pub part_uuid: Option<String>,
    /// GPT partition name.
    pub part_label: Option<String>,
    /// MBR disk signature, for MBR `PARTUUID=SSSSSSSS-NN` forms.
    pub mbr_signature: Option<u32>,
    /// Filesystem type name (`ext4`, `fat32`, …) or `swap`.
    pub fs_type: Option<String>,
    /// Filesystem (or swap) UUID / serial.
    pub fs_uuid: Option<String>,
    /// Filesystem (or swap) label.
    pub fs_label: Option<String>,
    /// The opened filesystem.
    pub fs: Option<Arc<dyn GuestFs>>,
}

impl std::fmt::Debug for VolumeDesc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VolumeDesc")
            .field("id", &self.id)
            .field("fs_type", &self.fs_type)
            .field("fs_uuid", &self.fs_uuid)
            .finish_non_exhaustive()
    }
}

/// How one fstab entry maps onto the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Resolution {
    /// The entry names a volume of this image.
    Resolved {
        /// The volume id.
        volume: String,
    },
    /// The entry names a device this image does not have (or one that cannot be identified).
    Unresolved {
        /// Why.
        reason: String,
    },
    /// Pseudo or network filesystems (`proc`, `tmpfs`, `nfs`, …): nothing to find in the image.
    NotADevice,
}

/// One fstab entry with its resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountEntry {
    /// The entry.
    pub entry: FstabEntry,
    /// What it resolves to.
    pub resolution: Resolution,
}

/// Filesystem types that are not block devices of the image.
const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "tmpfs",
    "devpts",
    "devtmpfs",
    "debugfs",
    "securityfs",
    "cgroup",
    "cgroup2",
    "hugetlbfs",
    "mqueue",
    "pstore",
    "bpf",
    "efivarfs",
    "configfs",
    "fusectl",
    "binfmt_misc",
    "autofs",
    "rpc_pipefs",
    "nfsd",
    "none",
    "overlay",
];
/// Network and host-shared filesystems: never in the image (and a boot risk without `nofail`).
pub const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smbfs",
    "smb3",
    "sshfs",
    "fuse.sshfs",
    "vboxsf",
    "9p",
    "glusterfs",
    "ceph",
    "davfs",
    "fuse.s3fs",
    "afs",
    "virtiofs",
];

/// True when `fs` looks like a Linux root: `/etc` and (`/bin` or `/usr/bin`) and (`/etc/fstab`
/// or `/etc/os-release`), as libguestfs decides.
pub fn is_linux_root(fs: &dyn GuestFs) -> bool {
    let is = |p: &str, t: &[FileType]| {
        fs.metadata(p)
            .map(|m| t.contains(&m.file_type))
            .unwrap_or(false)
    };
    let dirish = [FileType::Dir, FileType::Symlink];
    let fileish = [FileType::File, FileType::Symlink];
    is("/etc", &[FileType::Dir])
        && (is("/bin", &dirish) || is("/usr/bin", &dirish))
        && (is("/etc/fstab", &fileish)
            || is("/etc/os-release", &fileish)
            || is("/usr/lib/os-release", &fileish))
}

/// Indices of the volumes that hold a Linux root.
pub fn find_linux_roots(vols: &[VolumeDesc]) -> Vec<usize> {
    vols.iter()
        .enumerate()
        .filter(|(_, v)| v.fs.as_deref().is_some_and(is_linux_root))
        .map(|(i, _)| i)
        .collect()
}

fn eq_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Partition number from a kernel device name (`/dev/sda2`, `/dev/vda1`, `/dev/xvda1`,
/// `/dev/hda3`, `/dev/nvme0n1p2`, `/dev/mmcblk0p1`); `Some(None)` for a whole disk.
pub fn kernel_name_partition(name: &str) -> Option<Option<u32>> {
    let dev = name.strip_prefix("/dev/")?;
    if let Some(rest) = dev
        .strip_prefix("nvme")
        .or_else(|| dev.strip_prefix("mmcblk"))
    {
        return match rest.rsplit_once('p') {
            Some((_, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
                Some(n.parse().ok())
            }
            _ => Some(None),
        };
    }
    for prefix in ["sd", "vd", "xvd", "hd"] {
        if let Some(rest) = dev.strip_prefix(prefix) {
            let letters = rest.chars().take_while(|c| c.is_ascii_lowercase()).count();
            if letters == 0 {
                return None;
            }
            let digits = rest.get(letters..)?;
            if digits.is_empty() {
                return Some(None);
            }
            return digits.parse().ok().map(Some);
        }
    }
    None
}

/// Resolve one fstab entry against the volumes.
pub fn resolve_entry(e: &FstabEntry, vols: &[VolumeDesc]) -> Resolution {
    if PSEUDO_FS.contains(&e.fs_type.as_str()) || NETWORK_FS.contains(&e.fs_type.as_str()) {
        return Resolution::NotADevice;
    }
    let found = |pred: &dyn Fn(&VolumeDesc) -> bool, what: String| -> Resolution {
        match vols
            .iter()
            .filter(|v| pred(v))
            .collect::<Vec<_>>()
            .as_slice()
        {
            [one] => Resolution::Resolved {
                volume: one.id.clone(),
            },
            [] => Resolution::Unresolved {
                reason: format!("no volume in the image has {what}"),
            },
            many => Resolution::Unresolved {
                reason: format!(
                    "{what} is ambiguous: volumes {}",
                    many.iter()
                        .map(|v| v.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        }
    };
    match &e.spec {
        DeviceSpec::Uuid(u) => found(
            &|v| v.fs_uuid.as_deref().is_some_and(|x| eq_id(x, u)),
            format!("UUID {u}"),
        ),
        DeviceSpec::Label(l) => found(
            &|v| v.fs_label.as_deref() == Some(l.as_str()),
            format!("label {l:?}"),
        ),
        DeviceSpec::PartUuid(u) => found(
            &|v| {
                v.part_uuid.as_deref().is_some_and(|x| eq_id(x, u))
                    || match (v.mbr_signature, v.partition) {
                        (Some(sig), Some(n)) => eq_id(&format!("{sig:08x}-{n:02x}"), u),
                        _ => false,
                    }
            },
            format!("PARTUUID {u}"),
        ),
        DeviceSpec::PartLabel(l) => found(
            &|v| v.part_label.as_deref() == Some(l.as_str()),
            format!("PARTLABEL {l:?}"),
        ),
        DeviceSpec::KernelName(n) => match kernel_name_partition(n) {
            Some(Some(num)) => found(
                &|v| v.partition == Some(num),
                format!("partition {num} ({n})"),
            ),
            Some(None) => found(
                &|v| v.id == "whole",
                format!("a whole-disk filesystem ({n})"),
            ),
            None => Resolution::Unresolved {
                reason: format!("{n} is not a disk device name imgcheck can map"),
            },
        },
        DeviceSpec::Lvm { vg, lv } => {
            let id = format!("{vg}/{lv}");
            found(&|v| v.id == id, format!("logical volume {id}"))
        }
        DeviceSpec::Other(s) => Resolution::Unresolved {
            reason: format!("{s:?} does not name a device"),
        },
    }
}

/// Normalise a mount point: `/boot/efi/` → `/boot/efi`.
fn norm_point(p: &str) -> Option<String> {
    if !p.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = p
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.contains(&"..") {
        return None;
    }
    Some(if parts.is_empty() {
        "/".to_string()
    } else {
        format!("/{}", parts.join("/"))
    })
}

/// A Linux guest assembled around one root volume.
#[derive(Debug, Clone)]
pub struct Assembly {
    /// The root volume's id.
    pub root_volume: String,
    /// The root's fstab (empty when there is none).
    pub fstab: Fstab,
    /// Whether `/etc/fstab` exists.
    pub fstab_present: bool,
    /// Each entry with its resolution.
    pub mounts: Vec<MountEntry>,
    /// Roles per volume id: `root`, `boot`, `esp`, `usr`, `var`, `swap`, …
    pub roles: Vec<(String, String)>,
    /// The guest's file tree.
    pub view: GuestView,
}

/// Assemble the guest whose root is `vols[root]`.
pub fn assemble(
    vols: &[VolumeDesc],
    root: usize,
    max_symlinks: u32,
    max_bytes: u64,
) -> Option<Assembly> {
    let root_vol = vols.get(root)?;
    let root_fs = root_vol.fs.clone()?;
    let root_mount = Mount {
        point: "/".to_string(),
        volume: root_vol.id.clone(),
        fs: root_fs.clone(),
    };
    // Read /etc/fstab through a view of the root alone (it may be a symlink within the root).
    let root_only = GuestView::new(vec![root_mount.clone()], max_symlinks);
    let (fstab_present, text) = match root_only.read_text("/etc/fstab", max_bytes) {
        Ok(t) => (true, t),
        Err(_) => (false, String::new()),
    };
    let fstab = fstab::parse(&text);
    let mut mounts = vec![root_mount];
    let mut entries = Vec::new();
    let mut roles = vec![(root_vol.id.clone(), "root".to_string())];
    for e in &fstab.entries {
        let resolution = resolve_entry(e, vols);
        if let Resolution::Resolved { volume } = &resolution {
            let role = if e.is_swap() {
                Some("swap".to_string())
            } else {
                norm_point(&e.mount_point).and_then(|p| match p.as_str() {
                    "/" => None,
                    "/boot/efi" | "/efi" => Some("esp".to_string()),
                    other => Some(other.trim_start_matches('/').replace('/', "-")),
                })
            };
            if let Some(r) = role {
                roles.push((volume.clone(), r));
            }
            if !e.is_swap() {
                if let (Some(point), Some(v)) = (
                    norm_point(&e.mount_point),
                    vols.iter().find(|v| &v.id == volume),
                ) {
                    if point != "/" {
                        if let Some(fs) = v.fs.clone() {
                            mounts.push(Mount {
                                point,
                                volume: v.id.clone(),
                                fs,
                            });
                        }
                    }
                }
            }
        }
        entries.push(MountEntry {
            entry: e.clone(),
            resolution,
        });
    }
    roles.sort();
    roles.dedup();
    Some(Assembly {
        root_volume: root_vol.id.clone(),
        fstab,
        fstab_present,
        mounts: entries,
        roles,
        view: GuestView::new(mounts, max_symlinks),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names() {
        assert_eq!(kernel_name_partition("/dev/sda2"), Some(Some(2)));
        assert_eq!(kernel_name_partition("/dev/xvdb"), Some(None));
        assert_eq!(kernel_name_partition("/dev/nvme0n1p3"), Some(Some(3)));
        assert_eq!(kernel_name_partition("/dev/nvme0n1"), Some(None));
        assert_eq!(kernel_name_partition("/dev/mmcblk0p1"), Some(Some(1)));
        assert_eq!(kernel_name_partition("/dev/loop0"), None);
        assert_eq!(kernel_name_partition("/dev/sd"), None);
    }

    #[test]
    fn points() {
        assert_eq!(norm_point("/boot/efi/").as_deref(), Some("/boot/efi"));
        assert_eq!(norm_point("/").as_deref(), Some("/"));
        assert_eq!(norm_point("none"), None);
        assert_eq!(norm_point("/a/../b"), None);
    }
}
