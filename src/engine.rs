//! The engine: runs the layers on one image and assembles [`Facts`] for the checks.
//!
//! container → partition table → volumes probed and opened in parallel (rayon, one task per
//! volume, results collected by index) → boot-sector facts → Linux guest assembly from fstab →
//! facts. A volume that fails becomes an anomaly and a `VolumeFacts::error`; only failing to open
//! the image itself aborts.

use crate::commands;
use crate::ImageArgs;
use imgcheck_checks::facts::{
    BootSectorInfo, Facts, FsFacts, GuestFacts, ImageInfo, PartitionInfo, TableInfo, VolumeContent,
    VolumeFacts,
};
use imgcheck_container::VirtualDisk;
use imgcheck_core::{error_chain, Anomaly, BlockSource, ErrorKind, Limits};
use imgcheck_fs::{GuestFs, Probed, VolumeState};
use imgcheck_inspect::{linux::LinuxFacts, Assembly, VolumeDesc};
use imgcheck_volume::{PartitionKind, PartitionTable};
use rayon::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes of the gap between the MBR and the first partition examined for boot code (GRUB's
/// core.img lives there on BIOS/MBR disks; 1 MiB is the usual gap).
const MBR_GAP_SCAN_BYTES: u64 = 1 << 20;
/// UEFI loaders looked for on FAT volumes (UEFI spec §3.5.1 removable-media paths and the
/// vendor loaders of the common distributions and Windows).
const EFI_LOADERS: &[&str] = &[
    "/EFI/BOOT/BOOTX64.EFI",
    "/EFI/BOOT/BOOTAA64.EFI",
    "/EFI/BOOT/BOOTIA32.EFI",
    "/EFI/Microsoft/Boot/bootmgfw.efi",
];
/// Vendor loader names looked for in every `/EFI/<vendor>/` directory.
const EFI_VENDOR_LOADERS: &[&str] = &["shimx64.efi", "grubx64.efi", "shimaa64.efi", "grubaa64.efi"];

/// One volume of the image, opened where possible.
pub struct OpenedVolume {
    /// `1`, `5`, … or `whole`.
    pub id: String,
    /// Partition number.
    pub partition: Option<u32>,
    /// The volume's bytes.
    pub source: Arc<dyn BlockSource>,
    /// What the probe found (None if probing failed).
    pub probed: Option<Probed>,
    /// The opened filesystem.
    pub fs: Option<Arc<dyn GuestFs>>,
    /// Why probing or opening failed.
    pub error: Option<String>,
    /// `lvm` or `md` when the volume is a physical volume or an array member.
    pub member_of: Option<&'static str>,
}

/// A volume before probing: id, partition number, and its bytes (or why it has none).
type BaseVolume = (String, Option<u32>, Result<Arc<dyn BlockSource>, String>);
/// A volume to open: a base volume plus `lvm`/`md` when it is a PV or array member.
type VolumeSpec = (
    String,
    Option<u32>,
    Option<&'static str>,
    Result<Arc<dyn BlockSource>, String>,
);

/// md arrays and LVM volume groups assembled from the base volumes.
#[derive(Default)]
pub struct Stacked {
    /// Base volume ids that are PVs (`lvm`) or array members (`md`).
    pub members: Vec<(String, &'static str)>,
    /// New volumes: readable md arrays (`md/NAME`) and logical volumes (`VG/LV`).
    pub volumes: Vec<(String, Arc<dyn BlockSource>)>,
    /// Arrays found.
    pub arrays: Vec<imgcheck_volume::md::MdArray>,
    /// Volume groups found.
    pub lvm: Option<imgcheck_volume::lvm::LvmScan>,
    /// Problems met.
    pub anomalies: Vec<Anomaly>,
}

/// Probe base volumes for md and LVM signatures (md first: RAID1 members with metadata at the
/// end look like their array's content), assemble arrays, scan volume groups, expose LVs.
fn assemble_stacked(base: &[BaseVolume], limits: &Limits) -> Stacked {
    use imgcheck_volume::{lvm, md};
    let mut out = Stacked::default();
    let mut md_members: Vec<md::Member> = Vec::new();
    let mut pvs: Vec<(String, Arc<dyn BlockSource>)> = Vec::new();
    for (id, _, s) in base {
        let Ok(src) = s else { continue };
        match md::probe(src.as_ref()) {
            Ok(Some(m)) => {
                md_members.push((id.clone(), src.clone(), m));
                out.members.push((id.clone(), "md"));
                continue;
            }
            Ok(None) => {}
            Err(e) => out.anomalies.push(Anomaly::from_error(
                "md",
                format!("volume {id}"),
                None,
                e.kind(),
                &e,
            )),
        }
        match lvm::probe_pv(src.as_ref()) {
            Ok(Some(_)) => {
                pvs.push((id.clone(), src.clone()));
                out.members.push((id.clone(), "lvm"));
            }
            Ok(None) => {}
            Err(e) => out.anomalies.push(Anomaly::from_error(
                "lvm",
                format!("volume {id}"),
                None,
                e.kind(),
                &e,
            )),
        }
    }
    if !md_members.is_empty() {
        let (arrays, anomalies) = md::assemble(&md_members);
        out.anomalies.extend(anomalies);
        for a in &arrays {
            if !a.readable {
                continue;
            }
            let id = format!("md/{}", a.name.clone().unwrap_or_else(|| a.uuid.clone()));
            match md::array_source(a, &md_members) {
                Ok(src) => match lvm::probe_pv(src.as_ref()) {
                    Ok(Some(_)) => pvs.push((id, src)),
                    _ => out.volumes.push((id, src)),
                },
                Err(e) => out
                    .anomalies
                    .push(Anomaly::from_error("md", id, None, e.kind(), &e)),
            }
        }
        out.arrays = arrays;
    }
    if !pvs.is_empty() {
        let scan = lvm::scan(&pvs, limits);
        out.anomalies.extend(scan.anomalies.iter().cloned());
        for vg in &scan.vgs {
            for lv in vg.lvs.iter().filter(|lv| lv.visible && lv.readable) {
                let id = format!("{}/{}", vg.name, lv.name);
                match vg.lv_source(&lv.name, &pvs) {
                    Ok(src) => out.volumes.push((id, src)),
                    Err(e) => {
                        out.anomalies
                            .push(Anomaly::from_error("lvm", id, None, e.kind(), &e))
                    }
                }
            }
        }
        out.lvm = Some(scan);
    }
    out
}

/// Wall time per stage.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Timings {
    /// Opening the container.
    pub container: Duration,
    /// Reading the partition table.
    pub volumes: Duration,
    /// Probing and opening filesystems.
    pub filesystems: Duration,
    /// Guest assembly and facts.
    pub inspect: Duration,
}

/// Everything the layers found.
pub struct Analysis {
    /// The volumes, in table order.
    pub volumes: Vec<OpenedVolume>,
    /// The Linux guest, if one was found (the first root; `roots` counts all).
    pub guest: Option<(Assembly, LinuxFacts)>,
    /// The Windows guest, if one was found: its volume id and facts.
    pub windows: Option<(String, imgcheck_inspect::windows::WindowsFacts)>,
    /// The other Linux roots, in the order they were found (only at [`Depth::Facts`]: `inspect`
    /// reports every root; the checks look at the first).
    pub more_linux: Vec<(Assembly, LinuxFacts)>,
    /// The other Windows roots (only at [`Depth::Facts`]).
    pub more_windows: Vec<(String, imgcheck_inspect::windows::WindowsFacts)>,
    /// Number of OS roots found (Linux and Windows).
    pub roots: u32,
    /// md arrays found.
    pub md_arrays: Vec<imgcheck_volume::md::MdArray>,
    /// LVM volume groups found.
    pub lvm: Option<imgcheck_volume::lvm::LvmScan>,
    /// The facts the checks see.
    pub facts: Facts,
    /// Stage timings.
    pub timings: Timings,
}

/// How far [`analyse_to`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Every layer, every fact (`inspect`).
    Facts,
    /// Every layer, the facts the checks need (`check`, `scan`): each initramfs is listed only
    /// until the cloud drivers its kernel has as modules are seen
    /// ([`imgcheck_inspect::linux::InitrdDepth::UntilCloudDrivers`]).
    Checks,
    /// Containers, volumes, filesystems and the guest's assembly, without gathering facts
    /// (`ls`, `cat`, `export`: browsing needs the mount map, not the kernels' initramfs).
    /// The guest and Windows facts are left at their defaults.
    Layers,
}

/// Run all layers on the image.
pub fn analyse(args: &ImageArgs) -> anyhow::Result<Analysis> {
    analyse_to(args, Depth::Facts)
}

/// Run the layers on the image down to `depth`.
pub fn analyse_to(args: &ImageArgs, depth: Depth) -> anyhow::Result<Analysis> {
    let limits = Limits::default();
    let t0 = Instant::now();
    let disk = commands::open_disk(args)?;
    let t1 = Instant::now();
    let src = disk.source();
    let table =
        imgcheck_volume::read_partition_table(src.as_ref(), &limits).map_err(|e| error_chain(&e));
    let t2 = Instant::now();

    // The volumes: every partition but the extended container, or the whole disk; then md
    // arrays and LVM logical volumes assembled from them.
    let mut base: Vec<BaseVolume> = Vec::new();
    match &table {
        Ok(t) if !t.partitions.is_empty() => {
            for p in t
                .partitions
                .iter()
                .filter(|p| p.kind != PartitionKind::Extended)
            {
                let s = p
                    .source(src.clone())
                    .map(|s| -> Arc<dyn BlockSource> { Arc::new(s) })
                    .map_err(|e| format!("partition {} lies outside the disk: {e}", p.number));
                base.push((p.number.to_string(), Some(p.number), s));
            }
        }
        _ => base.push(("whole".to_string(), None, Ok(src.clone()))),
    }
    let stacked = assemble_stacked(&base, &limits);
    let md_arrays = stacked.arrays.clone();
    let lvm = stacked.lvm.clone();
    let stacked_anomalies = stacked.anomalies.clone();
    let specs: Vec<VolumeSpec> = base
        .into_iter()
        .map(|(id, part, s)| {
            let member = stacked
                .members
                .iter()
                .find(|(m, _)| *m == id)
                .map(|(_, k)| *k);
            (id, part, member, s)
        })
        .chain(
            stacked
                .volumes
                .into_iter()
                .map(|(id, s)| (id, None, None, Ok(s))),
        )
        .collect();
    let volumes: Vec<OpenedVolume> = specs
        .into_par_iter()
        .map(|(id, partition, member, s)| match member {
            // Members of an md array or LVM physical volumes hold no filesystem themselves.
            Some(kind) => OpenedVolume {
                id,
                partition,
                source: s.unwrap_or_else(|_| Arc::new(imgcheck_core::ZeroSource::new(0))),
                probed: None,
                fs: None,
                error: None,
                member_of: Some(kind),
            },
            None => open_volume(id, partition, s, &limits),
        })
        .collect();
    let t3 = Instant::now();

    // Linux guest assembly.
    let descs: Vec<VolumeDesc> = volumes
        .iter()
        .map(|v| volume_desc(v, table.as_ref().ok()))
        .collect();
    let roots = imgcheck_inspect::find_linux_roots(&descs);
    // Firmware evidence outside any filesystem: GRUB's boot.img in the MBR, its core.img in a
    // BIOS boot partition or the gap after the MBR (imgcheck_inspect::firmware::disk_evidence).
    let disk_firmware = match (depth, &table) {
        (Depth::Facts | Depth::Checks, Ok(t)) if !roots.is_empty() => {
            let parts: Vec<imgcheck_inspect::firmware::DiskPartition> = t
                .partitions
                .iter()
                .map(|p| imgcheck_inspect::firmware::DiskPartition {
                    number: p.number,
                    start: p.start,
                    size: p.size,
                    type_id: p.type_id.clone(),
                })
                .collect();
            Some(imgcheck_inspect::firmware::disk_evidence(
                src.as_ref(),
                &parts,
                u64::from(t.sector_size),
            ))
        }
        _ => None,
    };
    let linux_guest = |r: usize| {
        imgcheck_inspect::assemble(&descs, r, limits.max_symlink_depth, 1 << 20).map(|a| {
            let mut f = match depth {
                Depth::Facts => imgcheck_inspect::linux::inspect(&a.view, &limits),
                Depth::Checks => imgcheck_inspect::linux::inspect_with(
                    &a.view,
                    &limits,
                    imgcheck_inspect::linux::InitrdDepth::UntilCloudDrivers,
                ),
                Depth::Layers => LinuxFacts::default(),
            };
            if let Some(d) = &disk_firmware {
                f.firmware.add_disk(d.clone());
            }
            (a, f)
        })
    };
    let guest = roots.first().and_then(|&r| linux_guest(r));
    // `inspect` reports every root, not only the one the checks look at.
    let more_linux: Vec<(Assembly, LinuxFacts)> = if depth == Depth::Facts {
        roots
            .iter()
            .skip(1)
            .filter_map(|&r| linux_guest(r))
            .collect()
    } else {
        Vec::new()
    };
    // Windows: a volume with \Windows\System32\config\SYSTEM; the others may hold the boot files.
    let win_roots: Vec<usize> = volumes
        .iter()
        .enumerate()
        .filter(|(_, v)| {
            v.fs.as_deref()
                .is_some_and(imgcheck_inspect::windows::is_windows_root)
        })
        .map(|(i, _)| i)
        .collect();
    let windows_guest = |w: usize| {
        let os = volumes.get(w)?;
        let others: Vec<(String, &dyn GuestFs)> = volumes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != w)
            .filter_map(|(_, v)| v.fs.as_deref().map(|f| (v.id.clone(), f)))
            .collect();
        let fs = os.fs.as_deref()?;
        let facts = match depth {
            Depth::Facts | Depth::Checks => {
                imgcheck_inspect::windows::inspect(fs, &others, &limits)
            }
            Depth::Layers => imgcheck_inspect::windows::WindowsFacts::default(),
        };
        Some((os.id.clone(), facts))
    };
    let windows = win_roots.first().and_then(|&w| windows_guest(w));
    let more_windows = if depth == Depth::Facts {
        win_roots
            .iter()
            .skip(1)
            .filter_map(|&w| windows_guest(w))
            .collect()
    } else {
        Vec::new()
    };
    let t4 = Instant::now();
    let roots_found =
        u32::try_from(roots.len().saturating_add(win_roots.len())).unwrap_or(u32::MAX);

    let mut facts = build_facts(
        &disk,
        &table,
        &volumes,
        guest.as_ref(),
        windows.as_ref(),
        roots_found,
    );
    facts.anomalies.extend(stacked_anomalies);
    facts.volume_groups = lvm.as_ref().map(|l| l.vgs.clone()).unwrap_or_default();
    Ok(Analysis {
        md_arrays,
        lvm,
        volumes,
        guest,
        windows,
        more_linux,
        more_windows,
        roots: roots_found,
        facts,
        timings: Timings {
            container: t1.duration_since(t0),
            volumes: t2.duration_since(t1),
            filesystems: t3.duration_since(t2),
            inspect: t4.duration_since(t3),
        },
    })
}

fn open_volume(
    id: String,
    partition: Option<u32>,
    src: Result<Arc<dyn BlockSource>, String>,
    limits: &Limits,
) -> OpenedVolume {
    let source = match src {
        Ok(s) => s,
        Err(e) => {
            return OpenedVolume {
                id,
                partition,
                source: Arc::new(imgcheck_core::ZeroSource::new(0)),
                probed: None,
                fs: None,
                error: Some(e),
                member_of: None,
            }
        }
    };
    let probed = match imgcheck_fs::probe(source.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            return OpenedVolume {
                id,
                partition,
                source,
                probed: None,
                fs: None,
                error: Some(error_chain(&e)),
                member_of: None,
            }
        }
    };
    let (fs, error) = match &probed {
        Probed::Filesystem(t) => match imgcheck_fs::open_as(source.clone(), *t, limits) {
            Ok(fs) => (Some(Arc::from(fs)), None),
            Err(e) => (None, Some(error_chain(&e))),
        },
        _ => (None, None),
    };
    OpenedVolume {
        id,
        partition,
        source,
        probed: Some(probed),
        fs,
        error,
        member_of: None,
    }
}

fn volume_desc(v: &OpenedVolume, table: Option<&PartitionTable>) -> VolumeDesc {
    let part = table.and_then(|t| {
        v.partition
            .and_then(|n| t.partitions.iter().find(|p| p.number == n))
    });
    let (fs_type, fs_uuid, fs_label) = match (&v.fs, &v.probed) {
        (Some(fs), _) => {
            let i = fs.volume_info();
            (Some(i.fs_type.name().to_string()), i.uuid, i.label)
        }
        (None, Some(Probed::Swap { uuid, label })) => {
            (Some("swap".to_string()), uuid.clone(), label.clone())
        }
        _ => (None, None, None),
    };
    VolumeDesc {
        id: v.id.clone(),
        partition: v.partition,
        part_uuid: part.and_then(|p| p.guid.clone()),
        part_label: part.and_then(|p| p.name.clone()),
        mbr_signature: table.and_then(|t| t.mbr_signature),
        fs_type,
        fs_uuid,
        fs_label,
        fs: v.fs.clone(),
    }
}

/// Sector 0 and the gap before the first partition.
fn boot_sector(src: &dyn BlockSource, table: Option<&PartitionTable>) -> BootSectorInfo {
    let mut s0 = [0u8; 512];
    if src.read_exact_at(&mut s0, 0).is_err() {
        return BootSectorInfo::default();
    }
    let code = s0.get(..440).unwrap_or_default();
    let first_start = table
        .and_then(|t| t.partitions.iter().map(|p| p.start).min())
        .unwrap_or(0);
    let gap_end = first_start.min(MBR_GAP_SCAN_BYTES).min(src.len());
    let mut gap_has_code = false;
    // Sector 1 onward; on GPT disks the header and entry array occupy LBA 1..34, skip them.
    let gap_start = if table.is_some_and(|t| t.disk_guid.is_some()) {
        34u64.saturating_mul(512)
    } else {
        512
    };
    if gap_end > gap_start {
        let mut buf = vec![0u8; usize::try_from(gap_end.saturating_sub(gap_start)).unwrap_or(0)];
        if src.read_exact_at(&mut buf, gap_start).is_ok() {
            gap_has_code = buf.iter().any(|&b| b != 0);
        }
    }
    BootSectorInfo {
        readable: true,
        boot_code_nonzero: code.iter().any(|&b| b != 0),
        grub_signature: s0.windows(4).any(|w| w == b"GRUB"),
        mbr_gap_has_code: gap_has_code,
    }
}

fn efi_loaders(fs: &dyn GuestFs) -> Vec<String> {
    let mut found: Vec<String> = EFI_LOADERS
        .iter()
        .filter(|p| fs.metadata(p).is_ok())
        .map(|p| (*p).to_string())
        .collect();
    if let Ok(vendors) = fs.read_dir("/EFI") {
        for v in vendors {
            for l in EFI_VENDOR_LOADERS {
                let p = format!("/EFI/{}/{l}", v.name);
                if fs.metadata(&p).is_ok() && !found.iter().any(|f| f.eq_ignore_ascii_case(&p)) {
                    found.push(p);
                }
            }
        }
    }
    found.sort();
    found
}

fn fs_facts(fs: &dyn GuestFs, roles: Vec<String>) -> FsFacts {
    let i = fs.volume_info();
    let fat = matches!(i.fs_type.name(), "fat12" | "fat16" | "fat32");
    FsFacts {
        fs_type: i.fs_type.name().to_string(),
        uuid: i.uuid.clone(),
        label: i.label.clone(),
        size_bytes: i.size_bytes,
        free_bytes: i.free_bytes,
        total_inodes: None,
        free_inodes: i.free_inodes,
        clean: match i.state {
            VolumeState::Clean => Some(true),
            VolumeState::Dirty => Some(false),
            VolumeState::Unknown => None,
        },
        journal_needs_recovery: i.notes.iter().any(|n| n.contains("journal")),
        features: i.features.clone(),
        efi_loaders: if fat { efi_loaders(fs) } else { Vec::new() },
        has_bootmgr: fs.metadata("/bootmgr").is_ok(),
        roles,
    }
}

fn build_facts(
    disk: &VirtualDisk,
    table: &Result<PartitionTable, String>,
    volumes: &[OpenedVolume],
    guest: Option<&(Assembly, LinuxFacts)>,
    windows: Option<&(String, imgcheck_inspect::windows::WindowsFacts)>,
    roots: u32,
) -> Facts {
    let f = &disk.facts;
    let mut anomalies = disk.anomalies.clone();
    let table_ok = table.as_ref().ok();
    if let Some(t) = table_ok {
        anomalies.extend(t.anomalies.iter().cloned());
    }
    let roles = guest_roles(guest, windows, volumes);
    let roles_of = |id: &str| -> Vec<String> {
        roles
            .iter()
            .filter(|(v, _)| v == id)
            .map(|(_, r)| r.clone())
            .collect()
    };
    let mut vols = Vec::new();
    for v in volumes {
        if let Some(e) = &v.error {
            anomalies.push(Anomaly::new(
                "volume",
                format!("volume {}", v.id),
                None,
                ErrorKind::Corrupt,
                e.clone(),
            ));
        }
        let content = match (&v.fs, &v.probed) {
            _ if v.member_of == Some("lvm") => VolumeContent::Lvm,
            _ if v.member_of == Some("md") => VolumeContent::Raid,
            (Some(fs), _) => VolumeContent::Filesystem(fs_facts(fs.as_ref(), roles_of(&v.id))),
            (None, Some(Probed::Swap { uuid, label })) => VolumeContent::Swap {
                uuid: uuid.clone(),
                label: label.clone(),
            },
            (None, Some(Probed::Encrypted { scheme, uuid })) => VolumeContent::Encrypted {
                scheme: scheme.clone(),
                uuid: uuid.clone(),
            },
            (None, Some(Probed::Filesystem(_))) | (None, None) => VolumeContent::Unreadable,
            (None, Some(_)) => VolumeContent::Unknown,
        };
        vols.push(VolumeFacts {
            id: v.id.clone(),
            partition: v.partition,
            size: v.source.len(),
            content,
            error: v.error.clone(),
        });
    }
    Facts {
        image: ImageInfo {
            format: f.format.to_string(),
            subformat: f.subformat.clone(),
            virtual_size: f.virtual_size,
            file_size: f.file_size,
            allocated_bytes: f.allocated_bytes,
            has_backing: f.backing.is_some(),
            backing_unread: f.backing.as_ref().is_some_and(|b| !b.followed),
            backing_reference: f.backing.as_ref().map(|b| b.reference.clone()),
            dirty: f.dirty,
            corrupt: f.corrupt,
            compression: f.compression.clone(),
        },
        table: table_ok.map(|t| TableInfo {
            scheme: scheme_name(t),
            sector_size: t.sector_size,
            hybrid_mbr: t.hybrid_mbr,
            partitions: t
                .partitions
                .iter()
                .map(|p| PartitionInfo {
                    number: p.number,
                    start: p.start,
                    size: p.size,
                    type_id: p.type_id.clone(),
                    type_name: p.type_name.clone(),
                    name: p.name.clone(),
                    bootable: p.bootable,
                    kind: serde_json::to_value(p.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                })
                .collect(),
        }),
        table_error: table.as_ref().err().cloned(),
        volumes: vols,
        boot: boot_sector(disk.source().as_ref(), table_ok),
        anomalies,
        volume_groups: Vec::new(),
        guest: guest_facts(guest, windows, roots, volumes),
        disk_ids: table_ok
            .map(|t| imgcheck_checks::facts::DiskIds {
                mbr_signature: t.mbr_signature.map(|s| format!("{s:08x}")),
                gpt_disk_guid: t.disk_guid.as_ref().map(|g| g.to_ascii_lowercase()),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| imgcheck_checks::facts::PartitionId {
                        number: p.number,
                        start: p.start,
                        guid: p.guid.as_ref().map(|g| g.to_ascii_lowercase()),
                    })
                    .collect(),
            })
            .unwrap_or_default(),
    }
}

/// Roles per volume: from the Linux guest's fstab, or for Windows the OS volume (`root`), the
/// ESP and a system partition holding `bootmgr` (`boot`).
fn guest_roles(
    guest: Option<&(Assembly, LinuxFacts)>,
    windows: Option<&(String, imgcheck_inspect::windows::WindowsFacts)>,
    volumes: &[OpenedVolume],
) -> Vec<(String, String)> {
    if let Some((a, _)) = guest {
        return a.roles.clone();
    }
    let Some((os, _)) = windows else {
        return Vec::new();
    };
    let mut roles = vec![(os.clone(), "root".to_string())];
    for v in volumes.iter().filter(|v| &v.id != os) {
        let Some(fs) = v.fs.as_deref() else { continue };
        let files = imgcheck_inspect::windows::find_boot_files(fs);
        if files
            .iter()
            .any(|f| f.to_ascii_lowercase().starts_with("/efi/"))
        {
            roles.push((v.id.clone(), "esp".to_string()));
        } else if !files.is_empty() {
            roles.push((v.id.clone(), "boot".to_string()));
        }
    }
    roles
}

fn guest_facts(
    guest: Option<&(Assembly, LinuxFacts)>,
    windows: Option<&(String, imgcheck_inspect::windows::WindowsFacts)>,
    roots: u32,
    volumes: &[OpenedVolume],
) -> Option<GuestFacts> {
    if let (None, Some((vol, w))) = (guest, windows) {
        return Some(GuestFacts {
            os_type: "windows".to_string(),
            distro: Some("windows".to_string()),
            version: w.build.clone(),
            pretty_name: w.product_name.clone(),
            arch: w.arch.clone(),
            roots_found: roots,
            root_volume: Some(vol.clone()),
            windows: Some(w.clone()),
            ..GuestFacts::default()
        });
    }
    match guest {
        Some((a, l)) => Some(GuestFacts {
            os_type: "linux".to_string(),
            distro: l.distro.clone(),
            version: l.version.clone(),
            pretty_name: l.pretty_name.clone(),
            arch: l.arch.clone(),
            roots_found: roots,
            root_volume: Some(a.root_volume.clone()),
            fstab_present: a.fstab_present,
            fstab: a.mounts.clone(),
            fstab_problems: a.fstab.problems.clone(),
            linux: Some(l.clone()),
            windows: windows.map(|(_, w)| w.clone()),
        }),
        // Filesystems were read and none holds an OS root: that is a finding, not "not inspected".
        None if volumes.iter().any(|v| v.fs.is_some()) => Some(GuestFacts {
            os_type: "unknown".to_string(),
            roots_found: 0,
            ..GuestFacts::default()
        }),
        None => None,
    }
}

fn scheme_name(t: &PartitionTable) -> String {
    serde_json::to_value(t.scheme)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
