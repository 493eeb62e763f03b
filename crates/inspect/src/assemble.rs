//! Guest assembly: find OS roots among the volumes and build the mount map from the root's
//! `/etc/fstab`, resolving each entry against the image's volumes (the way libguestfs
//! inspection and virt-v2v do, without booting anything).
//!
//! Btrfs subvolumes: a root is a volume plus, where the volume has subvolumes, the subvolume
//! that holds it ([`LinuxRoot`]). The volume's default view is tried first (SUSE's default
//! subvolume is the root snapshot); otherwise its subvolumes are tried (Fedora keeps the root in
//! subvolume `root` under a top level that is the default), preferring the one whose own fstab
//! names it for `/`, then writable ones, then those outside `.snapshots`. The root's fstab `/`
//! entry's `subvol=`/`subvolid=` is honoured, and every other entry with those options mounts
//! that subvolume of its volume, as the kernel would.

use crate::fstab::{self, DeviceSpec, Fstab, FstabEntry};
use crate::view::{GuestView, Mount};
use imgcheck_fs::{FileType, FsType, GuestFs, SubvolumeInfo, SubvolumeSel};
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

/// Indices of the volumes that hold a Linux root (in their default view or, on Btrfs, in a
/// subvolume; [`assemble`] picks the subvolume again, see [`find_linux_root_subvols`]).
pub fn find_linux_roots(vols: &[VolumeDesc]) -> Vec<usize> {
    find_linux_root_subvols(vols)
        .into_iter()
        .map(|r| r.volume)
        .collect()
}

/// A Linux root: a volume and, on Btrfs, the subvolume that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinuxRoot {
    /// Index into the volume list.
    pub volume: usize,
    /// The subvolume holding the root; `None` for the volume's default view.
    pub subvol: Option<SubvolumeSel>,
}

/// Subvolumes tried per volume when its default view is not a root (snapshot-heavy systems
/// have hundreds; the root is among the first few).
const MAX_SUBVOLS_TRIED: usize = 64;

/// Every volume holding a Linux root, with the subvolume chosen on each (at most one per volume).
pub fn find_linux_root_subvols(vols: &[VolumeDesc]) -> Vec<LinuxRoot> {
    vols.iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let fs = v.fs.as_deref()?;
            root_on(fs).map(|subvol| LinuxRoot { volume: i, subvol })
        })
        .collect()
}

/// The root on one filesystem: `Some(None)` for its default view, `Some(Some(sel))` for a
/// subvolume, `None` when there is none.
fn root_on(fs: &dyn GuestFs) -> Option<Option<SubvolumeSel>> {
    if is_linux_root(fs) {
        return Some(None);
    }
    if fs.volume_info().fs_type != FsType::Btrfs {
        return None;
    }
    let subvols = fs.subvolumes().ok()?;
    let mut best: Option<((bool, bool, bool, u64), u64)> = None;
    let in_snapshots = |s: &SubvolumeInfo| {
        s.path
            .split('/')
            .any(|c| c == ".snapshots" || c == "snapshots")
    };
    // Outside .snapshots first; snapshots only when nothing else qualifies.
    let mut order: Vec<&SubvolumeInfo> = subvols.iter().filter(|s| !s.default).collect();
    order.sort_by_key(|s| (in_snapshots(s), s.id));
    for s in order.into_iter().take(MAX_SUBVOLS_TRIED) {
        let Ok(sub) = fs.subvolume(&SubvolumeSel::Id(s.id)) else {
            continue;
        };
        if !is_linux_root(&*sub) {
            continue;
        }
        let names_itself = own_root_sel(&*sub).is_some_and(|sel| sel_matches(&sel, s));
        // Lower sorts first: names itself, writable, outside .snapshots, lowest id.
        let rank = (!names_itself, s.read_only, in_snapshots(s), s.id);
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((rank, s.id));
        }
    }
    best.map(|(_, id)| Some(SubvolumeSel::Id(id)))
}

/// The `subvol=`/`subvolid=` of the `/` entry of the fstab inside `fs`, if any.
fn own_root_sel(fs: &dyn GuestFs) -> Option<SubvolumeSel> {
    let data = fs.read("/etc/fstab", 1 << 20).ok()?;
    let tab = fstab::parse(&String::from_utf8_lossy(&data));
    tab.entries
        .iter()
        .find(|e| !e.is_swap() && norm_point(&e.mount_point).as_deref() == Some("/"))
        .and_then(subvol_sel)
}

/// The subvolume an fstab entry asks for: `subvolid=` wins over `subvol=`, as in the kernel.
pub fn subvol_sel(e: &FstabEntry) -> Option<SubvolumeSel> {
    if let Some(id) = e
        .option_value("subvolid")
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Some(SubvolumeSel::Id(id));
    }
    e.option_value("subvol")
        .map(|p| SubvolumeSel::Path(p.to_string()))
}

fn norm_subvol_path(p: &str) -> String {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn sel_matches(sel: &SubvolumeSel, s: &SubvolumeInfo) -> bool {
    match sel {
        SubvolumeSel::Id(id) => *id == s.id,
        SubvolumeSel::Path(p) => norm_subvol_path(p) == s.path,
    }
}

/// The subvolume id `sel` (or the default view for `None`) names on `fs`.
fn subvol_id(fs: &dyn GuestFs, sel: Option<&SubvolumeSel>) -> Option<u64> {
    let list = fs.subvolumes().ok()?;
    list.iter()
        .find(|s| match sel {
            None => s.default,
            Some(sel) => sel_matches(sel, s),
        })
        .map(|s| s.id)
}

/// Open subvolume `sel` of a Btrfs filesystem (`None`: the filesystem itself).
fn open_subvol(
    fs: &Arc<dyn GuestFs>,
    sel: Option<&SubvolumeSel>,
) -> Result<Arc<dyn GuestFs>, imgcheck_fs::FsError> {
    match sel {
        None => Ok(fs.clone()),
        Some(sel) => fs.subvolume(sel),
    }
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
    // A swap file (`/swapfile none swap sw`) or a bind/loop mount names a guest path, not a
    // device (fstab(5): "for swap files … the file name"; mount(8) `bind`, `loop`).
    if let DeviceSpec::Other(s) = &e.spec {
        let path_option = e
            .options
            .iter()
            .any(|o| matches!(o.as_str(), "bind" | "rbind" | "loop") || o.starts_with("loop="));
        if s.starts_with('/') && !s.starts_with("/dev/") && (e.is_swap() || path_option) {
            return Resolution::NotADevice;
        }
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
    /// The Btrfs subvolume mounted as `/` (`None`: the volume's default view).
    pub root_subvol: Option<SubvolumeSel>,
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

/// Assemble the guest whose root is on `vols[root]` (on Btrfs, in the subvolume
/// [`find_linux_root_subvols`] chooses there).
pub fn assemble(
    vols: &[VolumeDesc],
    root: usize,
    max_symlinks: u32,
    max_bytes: u64,
) -> Option<Assembly> {
    let fs = vols.get(root)?.fs.as_deref()?;
    let subvol = root_on(fs).unwrap_or(None);
    assemble_root(
        vols,
        &LinuxRoot {
            volume: root,
            subvol,
        },
        max_symlinks,
        max_bytes,
    )
}

fn read_fstab(
    fs: &Arc<dyn GuestFs>,
    volume: &str,
    max_symlinks: u32,
    max_bytes: u64,
) -> (bool, String) {
    // Read /etc/fstab through a view of the root alone (it may be a symlink within the root).
    let root_only = GuestView::new(
        vec![Mount {
            point: "/".to_string(),
            volume: volume.to_string(),
            fs: fs.clone(),
        }],
        max_symlinks,
    );
    match root_only.read_text("/etc/fstab", max_bytes) {
        Ok(t) => (true, t),
        Err(_) => (false, String::new()),
    }
}

/// Assemble the guest whose root is `root` (a volume and, on Btrfs, a subvolume). The `/`
/// entry of the root's fstab, when it names a subvolume of the same volume that is a Linux
/// root too, wins over the given subvolume (it is what the guest mounts).
pub fn assemble_root(
    vols: &[VolumeDesc],
    root: &LinuxRoot,
    max_symlinks: u32,
    max_bytes: u64,
) -> Option<Assembly> {
    let root_vol = vols.get(root.volume)?;
    let vol_fs = root_vol.fs.clone()?;
    let mut subvol = root.subvol.clone();
    let mut root_fs = open_subvol(&vol_fs, subvol.as_ref()).ok()?;
    let (mut fstab_present, mut text) = read_fstab(&root_fs, &root_vol.id, max_symlinks, max_bytes);
    let mut fstab = fstab::parse(&text);
    if vol_fs.volume_info().fs_type == FsType::Btrfs {
        let wanted = fstab
            .entries
            .iter()
            .find(|e| !e.is_swap() && norm_point(&e.mount_point).as_deref() == Some("/"))
            .filter(|e| {
                matches!(resolve_entry(e, vols), Resolution::Resolved { volume } if volume == root_vol.id)
            })
            .and_then(subvol_sel);
        if let Some(sel) = wanted {
            let current = subvol_id(&*vol_fs, subvol.as_ref());
            let asked = subvol_id(&*vol_fs, Some(&sel));
            if asked.is_some() && asked != current {
                if let Ok(fs2) = vol_fs.subvolume(&sel) {
                    if is_linux_root(&*fs2) {
                        root_fs = fs2;
                        subvol = Some(sel);
                        (fstab_present, text) =
                            read_fstab(&root_fs, &root_vol.id, max_symlinks, max_bytes);
                        fstab = fstab::parse(&text);
                    }
                }
            }
        }
    }
    let root_mount = Mount {
        point: "/".to_string(),
        volume: root_vol.id.clone(),
        fs: root_fs,
    };
    let mut mounts = vec![root_mount];
    let mut entries = Vec::new();
    let mut roles = vec![(root_vol.id.clone(), "root".to_string())];
    for e in &fstab.entries {
        let mut resolution = resolve_entry(e, vols);
        if let Resolution::Resolved { volume } = &resolution {
            let point = norm_point(&e.mount_point);
            let vol = vols.iter().find(|v| &v.id == volume);
            // A subvolume of a Btrfs volume: mount that subvolume, or say why it cannot be.
            let mut fs = vol.and_then(|v| v.fs.clone());
            let sel = subvol_sel(e).filter(|_| {
                fs.as_deref()
                    .is_some_and(|f| f.volume_info().fs_type == FsType::Btrfs)
            });
            if let (Some(sel), Some(vfs)) = (&sel, fs.clone()) {
                if !e.is_swap() && point.as_deref() != Some("/") {
                    match vfs.subvolume(sel) {
                        Ok(sub) => fs = Some(sub),
                        Err(err) => {
                            resolution = Resolution::Unresolved {
                                reason: format!(
                                    "volume {volume} has no usable Btrfs subvolume {}: {err}",
                                    match sel {
                                        SubvolumeSel::Path(p) => format!("subvol={p}"),
                                        SubvolumeSel::Id(id) => format!("subvolid={id}"),
                                    }
                                ),
                            };
                            fs = None;
                        }
                    }
                }
            }
            if let Resolution::Resolved { volume } = &resolution {
                let role = if e.is_swap() {
                    Some("swap".to_string())
                } else {
                    point.as_deref().and_then(|p| match p {
                        "/" => None,
                        "/boot/efi" | "/efi" => Some("esp".to_string()),
                        other => Some(other.trim_start_matches('/').replace('/', "-")),
                    })
                };
                if let Some(r) = role {
                    roles.push((volume.clone(), r));
                }
                if !e.is_swap() {
                    if let (Some(point), Some(v), Some(fs)) = (point, vol, fs) {
                        if point != "/" {
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
        root_subvol: subvol,
        fstab,
        fstab_present,
        mounts: entries,
        roles,
        view: GuestView::new(mounts, max_symlinks),
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::testfs::MemFs;
    use imgcheck_fs::{DirEntry, FsError, Metadata, VolumeInfo};
    use std::collections::BTreeMap;

    /// An in-memory Btrfs: subvolumes (id → info and content) and the one this view shows.
    #[derive(Clone)]
    struct FakeBtrfs {
        uuid: String,
        subvols: Arc<BTreeMap<u64, (SubvolumeInfo, MemFs)>>,
        showing: u64,
    }

    impl FakeBtrfs {
        /// `subvols`: (id, path, read_only, content); 5 must be among them; `default` is the id
        /// a plain mount shows.
        fn new(uuid: &str, default: u64, subvols: Vec<(u64, &str, bool, MemFs)>) -> FakeBtrfs {
            let map = subvols
                .into_iter()
                .map(|(id, path, ro, fs)| {
                    let info = SubvolumeInfo {
                        id,
                        path: path.to_string(),
                        parent: if id == 5 { 0 } else { 5 },
                        default: id == default,
                        read_only: ro,
                    };
                    (id, (info, fs))
                })
                .collect();
            FakeBtrfs {
                uuid: uuid.to_string(),
                subvols: Arc::new(map),
                showing: default,
            }
        }
        fn cur(&self) -> &MemFs {
            &self.subvols[&self.showing].1
        }
    }

    impl GuestFs for FakeBtrfs {
        fn volume_info(&self) -> VolumeInfo {
            let mut i = self.cur().volume_info();
            i.fs_type = FsType::Btrfs;
            i.uuid = Some(self.uuid.clone());
            i
        }
        fn metadata(&self, path: &str) -> Result<Metadata, FsError> {
            self.cur().metadata(path)
        }
        fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
            self.cur().read_dir(path)
        }
        fn read_link(&self, path: &str) -> Result<String, FsError> {
            self.cur().read_link(path)
        }
        fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError> {
            self.cur().read(path, max_bytes)
        }
        fn subvolumes(&self) -> Result<Vec<SubvolumeInfo>, FsError> {
            Ok(self.subvols.values().map(|(i, _)| i.clone()).collect())
        }
        fn subvolume(&self, which: &SubvolumeSel) -> Result<Arc<dyn GuestFs>, FsError> {
            let id = self
                .subvols
                .values()
                .find(|(i, _)| sel_matches(which, i))
                .map(|(i, _)| i.id)
                .ok_or_else(|| FsError::NotFound {
                    fs: "btrfs",
                    path: format!("{which:?}"),
                })?;
            let mut v = self.clone();
            v.showing = id;
            Ok(Arc::new(v))
        }
    }

    const UUID: &str = "4c9d2e3f-1a2b-4c5d-8e6f-7a8b9c0d1e2f";

    fn linux_root(fstab: &str, marker: &str) -> MemFs {
        MemFs::new()
            .file("/etc/fstab", fstab)
            .file("/etc/os-release", "ID=test\n")
            .dir("/usr/bin")
            .file("/etc/marker", marker)
    }

    fn vol(id: &str, fs: Arc<dyn GuestFs>) -> VolumeDesc {
        VolumeDesc {
            id: id.into(),
            partition: Some(2),
            fs_type: Some("btrfs".into()),
            fs_uuid: Some(UUID.into()),
            fs: Some(fs),
            ..VolumeDesc::default()
        }
    }

    fn marker(a: &Assembly) -> String {
        a.view.read_text("/etc/marker", 100).unwrap()
    }

    #[test]
    fn swap_files_and_bind_mounts_are_not_devices() {
        let tab = crate::fstab::parse(
            "/swapfile none swap sw 0 0\n/srv/data /data none bind 0 0\n/images/x.img /mnt ext4 loop 0 0\n/swapfile /x ext4 defaults 0 0\n/dev/sdz9 none swap sw 0 0\n",
        );
        let r: Vec<Resolution> = tab.entries.iter().map(|e| resolve_entry(e, &[])).collect();
        assert_eq!(r[0], Resolution::NotADevice);
        assert_eq!(r[1], Resolution::NotADevice);
        assert_eq!(r[2], Resolution::NotADevice);
        // A path as the device of an ordinary mount, or a missing swap partition: unresolved.
        assert!(matches!(r[3], Resolution::Unresolved { .. }), "{:?}", r[3]);
        assert!(matches!(r[4], Resolution::Unresolved { .. }), "{:?}", r[4]);
    }

    #[test]
    fn fedora_root_in_a_subvolume_of_a_default_top_level() {
        let fstab = format!(
            "UUID={UUID} / btrfs subvol=root 0 0\nUUID={UUID} /home btrfs subvol=home 0 0\n"
        );
        let fs = FakeBtrfs::new(
            UUID,
            5,
            vec![
                (5, "", false, MemFs::new().dir("/root").dir("/home")),
                (
                    256,
                    "home",
                    false,
                    MemFs::new().file("/user/notes.txt", "fedora home"),
                ),
                (257, "root", false, linux_root(&fstab, "fedora root")),
            ],
        );
        let vols = vec![vol("2", Arc::new(fs))];
        assert_eq!(find_linux_roots(&vols), vec![0]);
        assert_eq!(
            find_linux_root_subvols(&vols),
            vec![LinuxRoot {
                volume: 0,
                subvol: Some(SubvolumeSel::Id(257))
            }]
        );
        let a = assemble(&vols, 0, 40, 1 << 20).unwrap();
        assert_eq!(marker(&a), "fedora root");
        // Found by id; fstab's subvol=root names the same subvolume, so no switch.
        assert_eq!(a.root_subvol, Some(SubvolumeSel::Id(257)));
        assert_eq!(
            a.view.read_text("/home/user/notes.txt", 100).unwrap(),
            "fedora home"
        );
        assert!(a
            .mounts
            .iter()
            .all(|m| matches!(m.resolution, Resolution::Resolved { .. })));
        assert_eq!(
            a.roles,
            vec![
                ("2".to_string(), "home".to_string()),
                ("2".to_string(), "root".to_string())
            ]
        );
    }

    #[test]
    fn suse_default_snapshot_is_the_root_and_subvolids_mount() {
        let fstab = format!(
            "UUID={UUID} / btrfs defaults 0 0\nUUID={UUID} /home btrfs subvolid=259 0 0\n\
             UUID={UUID} /.snapshots btrfs subvol=/@/.snapshots 0 0\n"
        );
        let fs = FakeBtrfs::new(
            UUID,
            258,
            vec![
                (5, "", false, MemFs::new().dir("/@")),
                (256, "@", false, MemFs::new().dir("/home")),
                (
                    257,
                    "@/.snapshots",
                    false,
                    MemFs::new().file("/1/info.xml", "<snapshot/>"),
                ),
                (
                    258,
                    "@/.snapshots/1/snapshot",
                    true,
                    linux_root(&fstab, "snapshot 1"),
                ),
                (
                    259,
                    "@/home",
                    false,
                    MemFs::new().file("/tux/notes.txt", "tux"),
                ),
            ],
        );
        let vols = vec![vol("whole", Arc::new(fs))];
        assert_eq!(
            find_linux_root_subvols(&vols),
            vec![LinuxRoot {
                volume: 0,
                subvol: None
            }]
        );
        let a = assemble(&vols, 0, 40, 1 << 20).unwrap();
        assert_eq!(marker(&a), "snapshot 1");
        assert_eq!(a.root_subvol, None);
        assert_eq!(a.view.read_text("/home/tux/notes.txt", 100).unwrap(), "tux");
        assert_eq!(
            a.view.read_text("/.snapshots/1/info.xml", 100).unwrap(),
            "<snapshot/>"
        );
    }

    #[test]
    fn fstab_root_subvol_wins_over_the_default_view() {
        // The default subvolume is an old root; the fstab / entry inside it (as in the new one)
        // names subvolume `@new`: the guest mounts that one.
        let fstab = format!("UUID={UUID} / btrfs subvol=/@new 0 0\n");
        let fs = FakeBtrfs::new(
            UUID,
            256,
            vec![
                (5, "", false, MemFs::new()),
                (256, "@old", false, linux_root(&fstab, "old")),
                (257, "@new", false, linux_root(&fstab, "new")),
            ],
        );
        let vols = vec![vol("1", Arc::new(fs))];
        let a = assemble(&vols, 0, 40, 1 << 20).unwrap();
        assert_eq!(marker(&a), "new");
        assert_eq!(a.root_subvol, Some(SubvolumeSel::Path("/@new".into())));
        // A root found among subvolumes prefers the one whose fstab names itself, then writable
        // ones outside .snapshots.
        let fs = FakeBtrfs::new(
            UUID,
            5,
            vec![
                (5, "", false, MemFs::new()),
                (256, ".snapshots/9/snapshot", true, linux_root("", "snap")),
                (257, "other", false, linux_root("", "other")),
                (258, "@new", false, linux_root(&fstab, "new")),
            ],
        );
        let vols = vec![vol("1", Arc::new(fs))];
        assert_eq!(
            find_linux_root_subvols(&vols)[0].subvol,
            Some(SubvolumeSel::Id(258))
        );
        assert_eq!(marker(&assemble(&vols, 0, 40, 1 << 20).unwrap()), "new");
    }

    #[test]
    fn missing_subvolume_is_unresolved_with_a_reason() {
        let fstab =
            format!("UUID={UUID} / btrfs defaults 0 0\nUUID={UUID} /srv btrfs subvol=gone 0 0\n");
        let fs = FakeBtrfs::new(UUID, 5, vec![(5, "", false, linux_root(&fstab, "top"))]);
        let vols = vec![vol("1", Arc::new(fs))];
        let a = assemble(&vols, 0, 40, 1 << 20).unwrap();
        match &a.mounts[1].resolution {
            Resolution::Unresolved { reason } => {
                assert!(reason.contains("subvol=gone"), "{reason}")
            }
            r => panic!("{r:?}"),
        }
        assert!(!a.roles.iter().any(|(_, r)| r == "srv"));
        // Non-Btrfs volumes ignore subvol options (MemFs reports ext4).
        let plain = linux_root(&fstab, "ext4");
        let mut v = vol("1", Arc::new(plain));
        v.fs_type = Some("ext4".into());
        let a = assemble(&[v], 0, 40, 1 << 20).unwrap();
        assert!(matches!(
            a.mounts[1].resolution,
            Resolution::Resolved { .. }
        ));
        assert_eq!(a.root_subvol, None);
    }

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
