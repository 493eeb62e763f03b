//! Facts from files of the system volume: architecture (PE header of `ntoskrnl.exe`/`cmd.exe`),
//! loader files, `pending.xml`, page and hibernation files (signature per ntfs-3g's hibernation
//! check and virt-v2v: `hibr`/`HIBR`/`wake`), `State.ini`, `desktop.ini` in the users' desktop
//! folders, cloud drivers and their
//! DriverStore packages (virt-v2v `windows_virtio.ml` paths).

use super::ini;
use super::paths::SystemRoot;
use super::pe;
use super::{DesktopFacts, DesktopFolder, WinDriver, WindowsFacts, MAX_LIST};
use imgcheck_core::Limits;
use imgcheck_fs::{FileType, GuestFs};

/// Cloud-relevant drivers: service/file name and what it drives.
pub const CLOUD_DRIVERS: &[(&str, &str)] = &[
    ("viostor", "virtio-blk"),
    ("vioscsi", "virtio-scsi"),
    ("netkvm", "virtio-net"),
    ("balloon", "virtio-balloon"),
    ("vioser", "virtio-serial"),
    ("pvpanic", "pvpanic"),
    ("stornvme", "nvme"),
    ("storahci", "ahci"),
    ("xenbus", "xen-bus"),
    ("xenfilt", "xen-filter"),
    ("xenvbd", "xen-storage"),
    ("xennet", "xen-net"),
    ("vmbus", "hyperv-vmbus"),
    ("storvsc", "hyperv-storage"),
    ("netvsc", "hyperv-net"),
    ("ena", "aws-ena"),
];

/// Signatures at the start of `hiberfil.sys` meaning a hibernated (or resuming) system.
const HIBERNATED_SIGNATURES: &[&[u8; 4]] = &[b"hibr", b"HIBR", b"wake", b"WAKE"];
/// Bytes read of small text files (`State.ini`).
const SMALL_FILE: u64 = 64 * 1024;

fn meta_file(os: &dyn GuestFs, path: &str) -> Option<imgcheck_fs::Metadata> {
    os.metadata(path)
        .ok()
        .filter(|m| m.file_type == FileType::File)
}

/// Read file-based facts into `f` (after the hives: the driver summary uses the services).
pub(super) fn read(os: &dyn GuestFs, root: &SystemRoot, limits: &Limits, f: &mut WindowsFacts) {
    let sr = root.guest_path();
    let sys32 = format!("{sr}/System32");

    // Architecture: PE header first (libguestfs), the registry as fallback (dissect).
    for exe in ["ntoskrnl.exe", "cmd.exe"] {
        let path = format!("{sys32}/{exe}");
        if meta_file(os, &path).is_none() {
            continue;
        }
        match os.read(&path, pe::PE_HEAD_BYTES.min(limits.max_file_bytes)) {
            Ok(head) => match pe::arch(&head) {
                Ok(a) => {
                    f.arch = Some(a.to_string());
                    f.arch_source = Some(format!("PE header of {path}"));
                    break;
                }
                Err(e) => f.problems.push(format!("{path}: {e}")),
            },
            Err(e) => f
                .problems
                .push(format!("{path}: {}", imgcheck_core::error_chain(&e))),
        }
    }
    if f.arch.is_none() {
        if let Some(a) = f
            .processor_architecture
            .as_deref()
            .and_then(pe::normalise_processor_architecture)
        {
            f.arch = Some(a.to_string());
            f.arch_source = Some("PROCESSOR_ARCHITECTURE".to_string());
        }
    }

    f.loader_files.winload_exe = meta_file(os, &format!("{sys32}/winload.exe")).is_some();
    f.loader_files.winload_efi = meta_file(os, &format!("{sys32}/winload.efi")).is_some();
    f.loader_files.ntoskrnl = meta_file(os, &format!("{sys32}/ntoskrnl.exe")).is_some();
    f.loader_files.hal_dll = meta_file(os, &format!("{sys32}/hal.dll")).is_some();

    f.pending.pending_xml = meta_file(os, &format!("{sr}/WinSxS/pending.xml")).is_some();
    f.pending.reboot_pending = f.pending.pending_xml
        || f.pending.cbs_reboot_pending
        || f.pending.cbs_packages_pending
        || f.pending.wu_reboot_required
        || f.pending.pending_file_renames.iter().any(|s| !s.is_empty());

    f.paging.pagefile_present = meta_file(os, "/pagefile.sys").is_some();
    if meta_file(os, "/hiberfil.sys").is_some() {
        f.hibernation.hiberfil_present = true;
        match os.read("/hiberfil.sys", 4) {
            Ok(head) => {
                if head.len() == 4 && head.iter().all(|b| b.is_ascii_graphic()) {
                    f.hibernation.hiberfil_signature =
                        Some(String::from_utf8_lossy(&head).into_owned());
                }
                f.hibernation.hibernated = HIBERNATED_SIGNATURES
                    .iter()
                    .any(|s| head.as_slice() == &s[..]);
            }
            Err(e) => f
                .problems
                .push(format!("/hiberfil.sys: {}", imgcheck_core::error_chain(&e))),
        }
    }

    let state_ini = format!("{sr}/Setup/State/State.ini");
    if meta_file(os, &state_ini).is_some() {
        match os.read(&state_ini, SMALL_FILE) {
            Ok(b) => {
                f.sysprep.state_ini_image_state =
                    ini::get(&ini::decode_text(&b), "State", "ImageState");
            }
            Err(e) => f
                .problems
                .push(format!("{state_ini}: {}", imgcheck_core::error_chain(&e))),
        }
    }

    f.desktop = desktop_folders(os, f);

    // DriverStore packages of the cloud drivers.
    let repo = format!("{sys32}/DriverStore/FileRepository");
    let entries = match os.read_dir(&repo) {
        Ok(e) => e,
        Err(e) => {
            if e.kind() != imgcheck_core::ErrorKind::NotFound {
                f.problems
                    .push(format!("{repo}: {}", imgcheck_core::error_chain(&e)));
            }
            Vec::new()
        }
    };
    for e in entries.iter().filter(|e| e.file_type == FileType::Dir) {
        let lower = e.name.to_lowercase();
        if CLOUD_DRIVERS
            .iter()
            .any(|(d, _)| lower.starts_with(&format!("{d}.inf_")))
            && f.driver_store.len() < MAX_LIST
        {
            f.driver_store.push(e.name.clone());
        }
    }
    f.driver_store.sort_by_key(|n| n.to_lowercase());
    // DriverDatabase packages whose FileRepository directory exists.
    for p in &mut f.driver_database.packages {
        p.file_repository = entries
            .iter()
            .any(|e| e.file_type == FileType::Dir && e.name.eq_ignore_ascii_case(&p.name));
    }

    // The driver summary.
    for (name, family) in CLOUD_DRIVERS {
        let svc = f
            .services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name));
        let sys = meta_file(os, &format!("{sys32}/drivers/{name}.sys"));
        let prefix = format!("{name}.inf_");
        let (driver_packages, device_ids) =
            super::driverdb::driver_entries(&f.driver_database, name);
        let d = WinDriver {
            name: name.to_string(),
            family: family.to_string(),
            service_present: svc.is_some(),
            start: svc.and_then(|s| s.start),
            image_exists: svc.and_then(|s| s.image_exists),
            sys_file_present: sys.is_some(),
            sys_file_read_only: sys.map(|m| m.flags.read_only),
            driver_store: f
                .driver_store
                .iter()
                .filter(|n| n.to_lowercase().starts_with(&prefix))
                .cloned()
                .collect(),
            driver_packages,
            device_ids,
        };
        f.drivers.insert(name.to_string(), d);
    }
}

/// `\Users\<profile>\Desktop` folders and their `desktop.ini` (case-insensitive lookups).
/// `None` when `\Users` exists but cannot be listed.
fn desktop_folders(os: &dyn GuestFs, f: &mut WindowsFacts) -> Option<DesktopFacts> {
    let entries = match os.read_dir("/Users") {
        Ok(e) => e,
        Err(e) if e.kind() == imgcheck_core::ErrorKind::NotFound => {
            return Some(DesktopFacts::default());
        }
        Err(e) => {
            f.problems
                .push(format!("/Users: {}", imgcheck_core::error_chain(&e)));
            return None;
        }
    };
    let mut out = DesktopFacts::default();
    // Junctions such as "All Users" and "Default User" are not directories here: skipped.
    for e in entries.iter().filter(|e| e.file_type == FileType::Dir) {
        if e.name == "." || e.name == ".." {
            continue;
        }
        let dir = format!("/Users/{}/Desktop", e.name);
        if !os
            .metadata(&dir)
            .is_ok_and(|m| m.file_type == FileType::Dir)
        {
            continue;
        }
        if e.name.eq_ignore_ascii_case("Public") {
            out.public_desktop_present = true;
        }
        if out.folders.len() >= MAX_LIST {
            break;
        }
        let desktop_ini = meta_file(os, &format!("{dir}/desktop.ini")).is_some();
        out.folders.push(DesktopFolder {
            path: dir,
            desktop_ini,
        });
    }
    out.folders.sort_by_key(|d| d.path.to_lowercase());
    Some(out)
}
