//! The phony Windows guests of other releases (testdata/windows/windows-{2012r2,2016,2019,10,11}
//! .qcow2, built by scripts/make-windows-fixtures.sh): Server 2012 R2, 2016 and Windows 10 in a
//! BIOS/MBR layout (System Reserved + C:), Server 2019 and Windows 11 in a UEFI/GPT layout (ESP +
//! MSR + C:), read through the real layers. The expected facts come from
//! testdata/windows/manifest.json. Every hive of every guest (the 2022 good/bad ones too) is read
//! back and compared value by value with hivexregedit's export of the same hive (an independent
//! reader, committed as `<variant>-<hive>.export.reg`) and with the `.reg` sources it was merged
//! from (testdata/windows/src: base, overlays, deletions applied).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use imgcheck_core::{BlockSource, Limits};
use imgcheck_fs::{GuestFs, Probed};
use imgcheck_inspect::windows::{self, WindowsFacts};
use imgcheck_regf::Hive;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The newer guests (one good variant per release).
const NEWER: &[&str] = &["2012r2", "2016", "2019", "10", "11"];
/// Every guest, for the hive round trip.
const ALL: &[&str] = &["good", "bad", "2012r2", "2016", "2019", "10", "11"];

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/windows")
}

type Vols = Vec<(String, Option<String>, Arc<dyn GuestFs>)>;

/// (volume id, partition GUID, filesystem) of every partition holding a filesystem.
fn open_disk(variant: &str) -> (Vols, String) {
    let limits = Limits::default();
    let path = testdata().join(format!("windows-{variant}.qcow2"));
    let disk = imgcheck_container::open(&path, &imgcheck_container::OpenOptions::default())
        .expect("open qcow2");
    let src = disk.source();
    let table = imgcheck_volume::read_partition_table(src.as_ref(), &limits).expect("table");
    let scheme = format!("{:?}", table.scheme).to_lowercase();
    let mut vols: Vols = Vec::new();
    for p in &table.partitions {
        let s: Arc<dyn BlockSource> = Arc::new(p.source(src.clone()).expect("partition"));
        if let Ok(Probed::Filesystem(t)) = imgcheck_fs::probe(s.as_ref()) {
            let fs: Arc<dyn GuestFs> =
                Arc::from(imgcheck_fs::open_as(s, t, &limits).expect("open fs"));
            vols.push((p.number.to_string(), p.guid.clone(), fs));
        }
    }
    (vols, scheme)
}

fn facts(variant: &str) -> (WindowsFacts, Vols, usize, String) {
    let (vols, scheme) = open_disk(variant);
    let roots: Vec<usize> = (0..vols.len())
        .filter(|&i| windows::is_windows_root(vols[i].2.as_ref()))
        .collect();
    assert_eq!(roots.len(), 1, "{variant}: exactly one Windows root");
    let root = roots[0];
    let boot: Vec<(String, &dyn GuestFs)> = vols
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != root)
        .map(|(_, (id, _, fs))| (id.clone(), fs.as_ref()))
        .collect();
    let f = windows::inspect(vols[root].2.as_ref(), &boot, &Limits::default());
    (f, vols, root, scheme)
}

fn manifest(variant: &str) -> Value {
    let m: Value =
        serde_json::from_slice(&std::fs::read(testdata().join("manifest.json")).unwrap()).unwrap();
    assert!(m[variant].is_object(), "{variant} not in manifest.json");
    m[variant].clone()
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn newer_guests_match_manifest() {
    for v in NEWER {
        let m = manifest(v);
        let (f, vols, root, scheme) = facts(v);
        let ctx = format!("windows-{v}");
        assert!(f.problems.is_empty(), "{ctx}: {:#?}", f.problems);
        // Layout.
        let layout = m["layout"].as_str().unwrap();
        assert_eq!(
            scheme,
            if layout == "bios-mbr" { "mbr" } else { "gpt" },
            "{ctx}"
        );
        assert_eq!(
            vols[root].0,
            m["os_partition"].as_u64().unwrap().to_string(),
            "{ctx}"
        );
        // Version facts.
        assert_eq!(f.product_name, s(&m["product_name"]), "{ctx}");
        assert_eq!(f.edition_id, s(&m["edition_id"]), "{ctx}");
        assert_eq!(f.installation_type, s(&m["installation_type"]), "{ctx}");
        assert_eq!(
            f.major_version.map(u64::from),
            m["major_version"].as_u64(),
            "{ctx}"
        );
        assert_eq!(
            f.minor_version.map(u64::from),
            m["minor_version"].as_u64(),
            "{ctx}"
        );
        assert_eq!(f.build, s(&m["build"]), "{ctx}");
        assert_eq!(f.ubr.map(u64::from), m["ubr"].as_u64(), "{ctx}");
        assert_eq!(f.display_version, s(&m["display_version"]), "{ctx}");
        assert_eq!(f.release, s(&m["release"]), "{ctx}");
        assert_eq!(f.arch, s(&m["arch"]), "{ctx}");
        assert_eq!(f.hostname, s(&m["hostname"]), "{ctx}");
        // Hives.
        assert_eq!(f.hives.len(), 3, "{ctx}: {:?}", f.hives);
        for h in &f.hives {
            assert!(h.parsed && h.checksum_ok && !h.dirty, "{ctx}: {h:?}");
        }
        // Drive letters.
        let letters: BTreeMap<String, String> = f
            .drive_letters
            .iter()
            .map(|d| (d.letter.clone(), d.location.describe()))
            .collect();
        let want: BTreeMap<String, String> = m["drive_letters"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(letters, want, "{ctx}");
        // Boot files on the system partition (volume 1).
        let system = m["system_partition"].as_u64().unwrap().to_string();
        let mut boot: Vec<String> = f
            .boot_files
            .iter()
            .map(|b| {
                assert_eq!(b.volume, system, "{ctx}: {b:?}");
                b.path.clone()
            })
            .collect();
        boot.sort();
        let mut want = strs(&m["boot_files"]);
        want.sort();
        assert_eq!(boot, want, "{ctx}");
        // BCD.
        assert_eq!(f.bcd.len(), 1, "{ctx}");
        let b = &f.bcd[0];
        let mb = &m["bcd"];
        assert_eq!(b.store, mb["store"].as_str().unwrap(), "{ctx}");
        assert_eq!(b.volume, mb["volume"].as_str().unwrap(), "{ctx}");
        assert_eq!(b.path, s(&mb["path"]), "{ctx}");
        assert_eq!(b.path_exists, Some(true), "{ctx}");
        assert_eq!(b.description, s(&m["bcd_description"]), "{ctx}");
        assert_eq!(b.systemroot.as_deref(), Some("\\Windows"), "{ctx}");
        assert_eq!(
            b.device.as_ref().unwrap().describe(),
            mb["device"].as_str().unwrap(),
            "{ctx}"
        );
        assert_eq!(b.device, b.osdevice, "{ctx}");
        assert_eq!(
            b.bootmgr_device.as_ref().unwrap().describe(),
            mb["bootmgr_device"].as_str().unwrap(),
            "{ctx}"
        );
        // Both loaders exist on the newer guests, as Windows installs them.
        assert!(
            f.loader_files.winload_exe && f.loader_files.winload_efi && f.loader_files.hal_dll,
            "{ctx}"
        );
        // Servicing.
        let installed: Vec<String> = f
            .hotfixes
            .iter()
            .filter(|h| h.installed)
            .map(|h| h.kb.clone())
            .collect();
        assert_eq!(installed, strs(&m["hotfixes_installed"]), "{ctx}");
        // Driver store and DriverDatabase.
        assert_eq!(f.driver_store, strs(&m["driver_store"]), "{ctx}");
        let db = &f.driver_database;
        assert!(db.present, "{ctx}");
        let mdb = m["driver_database"].as_object().unwrap();
        assert_eq!(db.packages.len(), mdb.len(), "{ctx}: {:#?}", db.packages);
        for (name, want) in mdb {
            let d = &f.drivers[name];
            let pkg = s(&want["package"]).unwrap();
            assert_eq!(
                d.driver_packages,
                std::slice::from_ref(&pkg),
                "{ctx}: {name}"
            );
            assert_eq!(d.device_ids, strs(&want["device_ids"]), "{ctx}: {name}");
            let p = db.packages.iter().find(|p| p.name == pkg).unwrap();
            assert_eq!(p.published_inf, s(&want["published_inf"]), "{ctx}: {name}");
            assert_eq!(p.inf_name, Some(format!("{name}.inf")), "{ctx}: {name}");
            assert_eq!(p.provider, s(&want["provider"]), "{ctx}: {name}");
            assert_eq!(p.version, s(&want["version"]), "{ctx}: {name}");
            assert_eq!(p.date, s(&want["date"]), "{ctx}: {name}");
            assert_eq!(p.services, std::slice::from_ref(name), "{ctx}: {name}");
            assert!(p.file_repository, "{ctx}: {name}");
            let inf = db
                .inf_files
                .iter()
                .find(|i| Some(i.inf.clone()) == p.published_inf)
                .unwrap();
            assert_eq!(inf.active.as_deref(), Some(pkg.as_str()), "{ctx}: {name}");
            assert_eq!(inf.packages, std::slice::from_ref(&pkg), "{ctx}: {name}");
        }
        // viostor and netkvm are services; vioscsi is staged only.
        assert!(f.drivers["viostor"].service_present && f.drivers["viostor"].start == Some(0));
        assert!(f.drivers["netkvm"].service_present);
        assert!(!f.drivers["vioscsi"].service_present);
        assert_eq!(db.device_ids.len(), 12, "{ctx}");
        // Storage class GUID from the Version blob.
        let viostor = db
            .packages
            .iter()
            .find(|p| p.name.starts_with("viostor"))
            .unwrap();
        assert_eq!(
            viostor.class_guid.as_deref(),
            Some("{4d36e97b-e325-11ce-bfc1-08002be10318}")
        );
        // The facts survive a JSON round trip (the engine stores and reloads them).
        let json = serde_json::to_string(&f).unwrap();
        let back: WindowsFacts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f, "{ctx}");
    }
}

/// Windows 11 keeps "Windows 10 Pro" as its ProductName; the release is derived from the build.
#[test]
fn windows_11_release_is_derived_from_the_build() {
    let (f, ..) = facts("11");
    assert_eq!(f.product_name.as_deref(), Some("Windows 10 Pro"));
    assert_eq!(f.build.as_deref(), Some("22631"));
    assert_eq!(f.release.as_deref(), Some("Windows 11"));
    let (f, ..) = facts("10");
    assert_eq!(f.release.as_deref(), Some("Windows 10"));
    // Server 2012 R2 has no CurrentMajorVersionNumber: the version comes from CurrentVersion.
    let (f, ..) = facts("2012r2");
    assert_eq!((f.major_version, f.minor_version), (Some(6), Some(3)));
    assert_eq!(f.release.as_deref(), Some("Windows Server 2012 R2"));
    assert_eq!(f.ubr, None);
}

// ---- hives against hivexregedit's export and the .reg sources ----------------------------------

/// Key path (relative to the hive root, lower case) → (value name lower case → (type, bytes)).
type Tree = BTreeMap<String, BTreeMap<String, (u32, Vec<u8>)>>;

/// A quoted .reg string starting at `s[0] == '"'`: (unescaped text, rest after the quote).
fn quoted(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut it = s.char_indices().skip(1);
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => out.push(it.next().unwrap().1),
            '"' => return (out, &s[i + 1..]),
            c => out.push(c),
        }
    }
    panic!("unterminated string: {s}")
}

fn hex_bytes(s: &str) -> Vec<u8> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| u8::from_str_radix(x, 16).unwrap())
        .collect()
}

/// A value's data as hivex stores it: strings UTF-16LE with a NUL, dwords little-endian.
fn data(s: &str) -> Option<(u32, Vec<u8>)> {
    if s == "-" {
        return None;
    }
    if s.starts_with('"') {
        let (text, rest) = quoted(s);
        assert!(rest.is_empty(), "{s}");
        let mut b: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        b.extend([0, 0]);
        return Some((1, b));
    }
    if let Some(d) = s.strip_prefix("dword:") {
        return Some((
            4,
            u32::from_str_radix(d, 16).unwrap().to_le_bytes().to_vec(),
        ));
    }
    if let Some(h) = s.strip_prefix("hex:") {
        return Some((3, hex_bytes(h)));
    }
    let rest = s
        .strip_prefix("hex(")
        .unwrap_or_else(|| panic!("value data {s}"));
    let (t, h) = rest.split_once("):").unwrap();
    Some((u32::from_str_radix(t, 16).unwrap(), hex_bytes(h)))
}

/// Apply a .reg file (merge semantics of `hivexregedit --merge`, with `[-key]` and `"v"=-`
/// deletions) to `tree`.
fn apply_reg(tree: &mut Tree, text: &str, prefix: &str) {
    let mut current: Option<String> = None;
    let mut joined = String::new();
    for raw in text.lines() {
        // Continuation lines end with a backslash.
        if let Some(part) = raw.strip_suffix('\\') {
            joined.push_str(part.trim_start());
            continue;
        }
        joined.push_str(raw.trim_start());
        let line = std::mem::take(&mut joined);
        let line = line.trim_end();
        if line.is_empty() || line.starts_with(';') || line.starts_with("Windows Registry Editor") {
            continue;
        }
        if let Some(k) = line.strip_prefix('[') {
            let k = k.strip_suffix(']').unwrap();
            let (delete, k) = match k.strip_prefix('-') {
                Some(k) => (true, k),
                None => (false, k),
            };
            let k = k
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{k} outside {prefix}"))
                .trim_matches('\\')
                .to_lowercase();
            if delete {
                let sub = format!("{k}\\");
                tree.retain(|p, _| *p != k && !p.starts_with(&sub));
                current = None;
            } else {
                tree.entry(k.clone()).or_default();
                current = Some(k);
            }
            continue;
        }
        let key = current
            .clone()
            .unwrap_or_else(|| panic!("value outside a key: {line}"));
        let (name, rest) = if let Some(r) = line.strip_prefix('@') {
            (String::new(), r)
        } else {
            quoted(line)
        };
        let rest = rest.strip_prefix('=').unwrap();
        let values = tree.get_mut(&key).unwrap();
        match data(rest) {
            Some(d) => {
                values.insert(name.to_lowercase(), d);
            }
            None => {
                values.remove(&name.to_lowercase());
            }
        }
    }
}

/// Our reader's view of a hive.
fn read_tree(hive: &Hive) -> Tree {
    let mut tree = Tree::new();
    let stats = hive
        .walk(|path, key| {
            let mut values = BTreeMap::new();
            for v in key.values().unwrap() {
                values.insert(
                    v.name().to_lowercase(),
                    (v.data_type(), v.raw_data().unwrap().into_owned()),
                );
            }
            tree.insert(path.trim_matches('\\').to_lowercase(), values);
        })
        .unwrap();
    assert_eq!(stats.error_count, 0, "{:?}", stats.errors);
    tree
}

/// Compare two trees key by key; returns the number of values compared.
fn compare(ours: &Tree, want: &Tree, label: &str) -> usize {
    let ours_keys: Vec<&String> = ours.keys().collect();
    let want_keys: Vec<&String> = want.keys().collect();
    assert_eq!(ours_keys, want_keys, "{label}: key sets differ");
    let mut n = 0;
    for (k, vals) in want {
        assert_eq!(&ours[k], vals, "{label}: values of {k:?} differ");
        n += vals.len();
    }
    n
}

#[test]
fn every_hive_round_trips_against_export_and_reg_sources() {
    let src = testdata().join("src");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    let mut total = 0;
    for v in ALL {
        let (vols, scheme) = open_disk(v);
        let root = vols
            .iter()
            .find(|x| windows::is_windows_root(x.2.as_ref()))
            .unwrap();
        let system = &vols[0];
        let bcd_path = if scheme == "mbr" {
            "/Boot/BCD"
        } else {
            "/EFI/Microsoft/Boot/BCD"
        };
        for (name, prefix, fs, path) in [
            (
                "system",
                "HKEY_LOCAL_MACHINE\\SYSTEM",
                &root.2,
                "/Windows/System32/config/SYSTEM",
            ),
            (
                "software",
                "HKEY_LOCAL_MACHINE\\SOFTWARE",
                &root.2,
                "/Windows/System32/config/SOFTWARE",
            ),
            (
                "bcd",
                "HKEY_LOCAL_MACHINE\\BCD00000000",
                &system.2,
                bcd_path,
            ),
        ] {
            let label = format!("windows-{v} {name}");
            let bytes = fs.read(path, 1 << 24).unwrap();
            let hive = Hive::parse(bytes).unwrap();
            let ours = read_tree(&hive);
            // hivexregedit's export of the same hive (committed by the script).
            let mut export = Tree::new();
            apply_reg(
                &mut export,
                &read(&testdata().join(format!("{v}-{name}.export.reg"))),
                prefix,
            );
            let n = compare(&ours, &export, &format!("{label} vs export"));
            // The .reg sources the hive was merged from.
            let mut sources = vec![src.join(format!("{name}.reg"))];
            match *v {
                "good" => {}
                "bad" => sources.push(src.join(format!("{name}-bad.reg"))),
                _ => {
                    if name == "system" {
                        sources.push(src.join("system-driverdb.reg"));
                    }
                    sources.push(src.join(format!("{name}-{v}.reg")));
                }
            }
            let mut want = Tree::new();
            want.insert(String::new(), BTreeMap::new());
            for s in &sources {
                apply_reg(&mut want, &read(s), prefix);
            }
            compare(&ours, &want, &format!("{label} vs {sources:?}"));
            assert!(n > 0, "{label}: no values");
            total += n;
        }
    }
    // Seven guests, three hives each: a round trip of every value type the sources use.
    assert!(total > 700, "{total}");
}
