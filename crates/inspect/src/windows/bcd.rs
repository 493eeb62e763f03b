//! The BCD store (a regf hive): the boot manager's default entry, its description, loader path,
//! system root and devices, and whether the loader exists on the Windows volume.
//!
//! Layout (Microsoft "BCD WMI Provider" element types; Misty Projects' BCDEdit notes; virt-v2v
//! and dissect.target read the same keys): `Objects\{GUID}\Elements\<element type in hex>`, each
//! holding one value named `Element`. The Windows Boot Manager object is
//! `{9dea862c-5cdd-4e70-acc1-f32b344d4795}`; its `23000003` (BcdBootMgrObject_DefaultObject) names
//! the default object, whose `12000004` is the description (BcdLibraryString_Description),
//! `12000002` the application path (BcdLibraryString_ApplicationPath), `22000002` the system root
//! (BcdOSLoaderString_SystemRoot), `11000001` the application device
//! (BcdLibraryDevice_ApplicationDevice) and `21000001` the OS device (BcdOSLoaderDevice_OSDevice).
//! Emergency Management Services (serial console): `16000020` on `{bootmgr}`
//! (BcdLibraryBoolean_EmsEnabled, `bcdedit /bootems`), `260000b0` on the loader
//! (BcdOSLoaderBoolean_EmsEnabled, `bcdedit /ems`), and the port and baud rate (`15000022`,
//! `15000023`) on `{emssettings}` `{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}` (the element and
//! object names of Microsoft's BCD WMI provider and of the public `ntbcd.h` headers).

use super::decode::{self, DiskLocation};
use super::paths::{self, SystemRoot};
use super::reg::{self, Reg};
use super::{BcdFacts, WindowsFacts};
use imgcheck_fs::{FileType, GuestFs};
use imgcheck_regf::{Key, ValueData};

/// The Windows Boot Manager object (`{bootmgr}`).
pub const BOOTMGR_GUID: &str = "{9dea862c-5cdd-4e70-acc1-f32b344d4795}";
/// Element types (hex key names under `Elements`).
const EL_APPLICATION_DEVICE: &str = "11000001";
const EL_APPLICATION_PATH: &str = "12000002";
const EL_DESCRIPTION: &str = "12000004";
const EL_OS_DEVICE: &str = "21000001";
const EL_SYSTEM_ROOT: &str = "22000002";
const EL_DEFAULT_OBJECT: &str = "23000003";
/// BcdLibraryBoolean_EmsEnabled (`bcdedit /bootems`, on `{bootmgr}`).
const EL_BOOT_EMS: &str = "16000020";
/// BcdOSLoaderBoolean_EmsEnabled (`bcdedit /ems`, on an OS loader).
const EL_OS_EMS: &str = "260000b0";
/// BcdLibraryInteger_EmsPort and BcdLibraryInteger_EmsBaudRate (on `{emssettings}`).
const EL_EMS_PORT: &str = "15000022";
const EL_EMS_BAUD_RATE: &str = "15000023";
/// The `{emssettings}` object (GUID_EMS_SETTINGS_GROUP).
pub const EMS_SETTINGS_GUID: &str = "{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}";

/// The `Element` value of element `el` of object `obj`.
fn element(r: &Reg<'_>, obj: &Key<'_>, el: &str) -> Option<ValueData> {
    let elements = r.child(obj, "Elements")?;
    let k = r.child(&elements, el)?;
    r.value(&k, "Element")
}

fn element_string(r: &Reg<'_>, obj: &Key<'_>, el: &str) -> Option<String> {
    element(r, obj, el)?.as_string()
}

/// A boolean element: stored as REG_BINARY (one byte) by bcdedit, as a number by some writers.
fn element_bool(r: &Reg<'_>, obj: &Key<'_>, el: &str) -> Option<bool> {
    match element(r, obj, el)? {
        ValueData::Binary(b) | ValueData::Other { bytes: b, .. } => b.first().map(|&x| x != 0),
        d => d.as_u64().map(|n| n != 0),
    }
}

/// An integer element: REG_BINARY of 8 little-endian bytes (or fewer), or a number.
fn element_integer(r: &Reg<'_>, obj: &Key<'_>, el: &str) -> Option<u64> {
    match element(r, obj, el)? {
        ValueData::Binary(b) | ValueData::Other { bytes: b, .. } => {
            if b.is_empty() || b.len() > 8 {
                return None;
            }
            let mut le = [0u8; 8];
            le.get_mut(..b.len())?.copy_from_slice(&b);
            Some(u64::from_le_bytes(le))
        }
        d => d.as_u64(),
    }
}

fn element_device(r: &Reg<'_>, obj: &Key<'_>, el: &str) -> Option<DiskLocation> {
    match element(r, obj, el)? {
        ValueData::Binary(b) | ValueData::Other { bytes: b, .. } => {
            Some(decode::bcd_device(&b).unwrap_or(DiskLocation::Other {
                description: format!("bcd device element of {} bytes", b.len()),
            }))
        }
        _ => None,
    }
}

/// Read the store at `store` on `fs` (volume `volume`); the loader path is checked on `os`.
pub(super) fn read(
    fs: &dyn GuestFs,
    volume: &str,
    store: &str,
    os: &dyn GuestFs,
    root: &SystemRoot,
    f: &mut WindowsFacts,
) -> BcdFacts {
    let mut b = BcdFacts {
        volume: volume.to_string(),
        store: store.to_string(),
        ..BcdFacts::default()
    };
    let (mut status, hive) = reg::load_hive(fs, "BCD", store, &mut f.problems);
    status.path = format!("{volume}:{store}");
    f.hives.push(status);
    let Some(hive) = hive else { return b };
    let r = Reg::new(&hive, "BCD");
    if let Some(objects) = r.key("Objects") {
        let list = r.subkeys(&objects, "Objects");
        b.objects = list.len();
        match r.child(&objects, BOOTMGR_GUID) {
            None => f.problems.push(format!(
                "BCD {volume}:{store}: no Windows Boot Manager object"
            )),
            Some(bootmgr) => {
                b.bootmgr_device = element_device(&r, &bootmgr, EL_APPLICATION_DEVICE);
                b.default_id = element_string(&r, &bootmgr, EL_DEFAULT_OBJECT);
                b.bootmgr_ems = element_bool(&r, &bootmgr, EL_BOOT_EMS);
            }
        }
        if let Some(ems) = r.child(&objects, EMS_SETTINGS_GUID) {
            b.ems_port = element_integer(&r, &ems, EL_EMS_PORT);
            b.ems_baud_rate = element_integer(&r, &ems, EL_EMS_BAUD_RATE);
        }
        if let Some(id) = b.default_id.clone() {
            match r.child(&objects, &id) {
                None => f.problems.push(format!(
                    "BCD {volume}:{store}: default object {id} does not exist"
                )),
                Some(obj) => {
                    b.description = element_string(&r, &obj, EL_DESCRIPTION);
                    b.path = element_string(&r, &obj, EL_APPLICATION_PATH);
                    b.systemroot = element_string(&r, &obj, EL_SYSTEM_ROOT);
                    b.device = element_device(&r, &obj, EL_APPLICATION_DEVICE);
                    b.osdevice = element_device(&r, &obj, EL_OS_DEVICE);
                    b.ems = element_bool(&r, &obj, EL_OS_EMS);
                    // The path is relative to the device's root; the device is assumed to be the
                    // Windows volume (the engine can compare `device` with the partitions).
                    b.path_exists = b.path.as_deref().map(|p| {
                        paths::resolve(&format!("\\{}", p.trim_start_matches('\\')), root)
                            .is_some_and(|g| {
                                os.metadata(&g).is_ok_and(|m| m.file_type == FileType::File)
                            })
                    });
                }
            }
        }
    } else {
        f.problems
            .push(format!("BCD {volume}:{store}: no Objects key"));
    }
    f.problems.extend(r.into_problems());
    b
}
