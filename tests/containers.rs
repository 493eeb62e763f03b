//! Container and partition-table parity: imgcheck against qemu-img and sfdisk.
//!
//! The committed fixtures in `testdata/containers` (made by `scripts/make-fixtures.sh`, described
//! in `testdata/README.md`) carry the expectations that qemu-img and sfdisk produced when they
//! were made: `raw_sha256` is the SHA-256 of `qemu-img convert -f FMT -O raw`, `<seed>.sfdisk.json`
//! is `sfdisk --json` of the seed disk. Everything here but `live_regenerate_and_compare` needs
//! only cargo; that one regenerates the fixtures with the installed tools and compares live.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]

mod common;

use common::{committed, export_to, file_state, imgcheck, info_json, FixtureSet};
use serde_json::Value;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Our format name for a qemu format name.
fn our_format(qemu: &str) -> &'static str {
    match qemu {
        "raw" => "raw",
        "qcow2" => "qcow2",
        "vpc" => "vhd",
        "vhdx" => "vhdx",
        "vmdk" => "vmdk",
        other => panic!("manifest names an unknown qemu format {other}"),
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not an integer in {v}"))
}

fn follow(f: &Value) -> bool {
    f["follow_backing"].as_bool().unwrap_or(false)
}

/// Panics with every collected mismatch, one per line.
fn report(test: &str, errors: &[String]) {
    assert!(
        errors.is_empty(),
        "{test}: {} mismatch(es):\n  {}",
        errors.len(),
        errors.join("\n  ")
    );
}

/// Partition number from an sfdisk device node (`gpt.raw12` → 12).
fn node_number(node: &str) -> u64 {
    let digits: String = node
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("sfdisk node {node} has no partition number"))
}

/// Parses a hex type/ID the way sfdisk (`c`, `0x1234abcd`) or imgcheck (`0x0C`) writes it.
fn parse_hex(v: &str) -> Option<u64> {
    let t = v.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u64::from_str_radix(t, 16).ok()
}

/// Same partition type: GUIDs case-insensitively, MBR type bytes numerically.
fn same_type(ours: &str, sfdisk: &str) -> bool {
    if sfdisk.len() > 8 {
        ours.eq_ignore_ascii_case(sfdisk)
    } else {
        parse_hex(ours).is_some() && parse_hex(ours) == parse_hex(sfdisk)
    }
}

/// MBR types sfdisk lists for extended-partition containers (DOS, Windows LBA, Linux).
fn is_extended_type(t: &str) -> bool {
    matches!(parse_hex(t), Some(0x05 | 0x0f | 0x85)) && t.len() <= 4
}

/// The partitions of an sfdisk JSON listing (empty when it has none).
fn sfdisk_partitions(sf: &Value) -> Vec<Value> {
    sf["partitiontable"]["partitions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Compares imgcheck's `partition_table` with an sfdisk listing; appends mismatches to `errs`.
/// `expect_scheme` is the seed's scheme (`gpt`, `mbr` or `none`).
fn compare_partitions(
    ctx: &str,
    info: &Value,
    sf: &Value,
    expect_scheme: &str,
    errs: &mut Vec<String>,
) {
    let pt = &info["partition_table"];
    let scheme = pt["scheme"].as_str().unwrap_or("<missing>");
    let ours: Vec<&Value> = pt["partitions"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if expect_scheme == "none" {
        if scheme != "none" || !ours.is_empty() {
            errs.push(format!(
                "{ctx}: expected scheme none without partitions, got {scheme} with {}",
                ours.len()
            ));
        }
        if !sfdisk_partitions(sf).is_empty() {
            errs.push(format!("{ctx}: sfdisk lists partitions on a no-table disk"));
        }
        return;
    }
    let sft = &sf["partitiontable"];
    let label = sft["label"].as_str().unwrap_or("?");
    let sf_scheme = match label {
        "dos" => "mbr",
        other => other,
    };
    if sf_scheme != expect_scheme {
        errs.push(format!(
            "{ctx}: sfdisk says label {label}, manifest says {expect_scheme}"
        ));
    }
    if scheme != expect_scheme {
        errs.push(format!("{ctx}: scheme {scheme}, expected {expect_scheme}"));
        return;
    }
    let ss = u(sft, "sectorsize");
    if pt["sector_size"].as_u64() != Some(ss) {
        errs.push(format!(
            "{ctx}: sector_size {}, sfdisk {ss}",
            pt["sector_size"]
        ));
    }
    let sf_id = sft["id"].as_str().unwrap_or("");
    match (expect_scheme, pt["disk_guid"].as_str()) {
        ("gpt", Some(g)) if g.eq_ignore_ascii_case(sf_id) => {}
        ("gpt", other) => errs.push(format!("{ctx}: disk_guid {other:?}, sfdisk id {sf_id}")),
        // MBR: the disk signature is optional in our JSON, but must be right when given.
        (_, Some(g)) if parse_hex(g) != parse_hex(sf_id) => {
            errs.push(format!("{ctx}: disk signature {g}, sfdisk id {sf_id}"));
        }
        _ => {}
    }
    let sf_parts = sfdisk_partitions(sf);
    let mut sf_numbers: Vec<u64> = sf_parts.iter().map(|p| node_number(s(p, "node"))).collect();
    let mut our_numbers: Vec<u64> = ours.iter().filter_map(|p| p["number"].as_u64()).collect();
    sf_numbers.sort_unstable();
    our_numbers.sort_unstable();
    if sf_numbers != our_numbers {
        errs.push(format!(
            "{ctx}: partition numbers {our_numbers:?}, sfdisk {sf_numbers:?}"
        ));
    }
    for sp in &sf_parts {
        let n = node_number(s(sp, "node"));
        let Some(op) = ours.iter().find(|p| p["number"].as_u64() == Some(n)) else {
            continue;
        };
        let pctx = format!("{ctx} partition {n}");
        let (start, size) = (u(sp, "start"), u(sp, "size"));
        for (key, want) in [
            ("start_lba", start),
            ("size_lba", size),
            ("start", start * ss),
            ("size", size * ss),
        ] {
            if op[key].as_u64() != Some(want) {
                errs.push(format!("{pctx}: {key} {}, sfdisk gives {want}", op[key]));
            }
        }
        let sf_type = s(sp, "type");
        match op["type"].as_str() {
            Some(t) if same_type(t, sf_type) => {}
            other => errs.push(format!("{pctx}: type {other:?}, sfdisk {sf_type}")),
        }
        let sf_name = sp["name"].as_str().unwrap_or("");
        let our_name = op["name"].as_str().unwrap_or("");
        if sf_name != our_name {
            errs.push(format!("{pctx}: name {our_name:?}, sfdisk {sf_name:?}"));
        }
        if let Some(uuid) = sp["uuid"].as_str() {
            match op["guid"].as_str() {
                Some(g) if g.eq_ignore_ascii_case(uuid) => {}
                other => errs.push(format!("{pctx}: guid {other:?}, sfdisk uuid {uuid}")),
            }
        }
        let sf_boot = sp["bootable"].as_bool().unwrap_or(false);
        let our_boot = op["bootable"].as_bool().unwrap_or(false);
        if sf_boot != our_boot {
            errs.push(format!("{pctx}: bootable {our_boot}, sfdisk {sf_boot}"));
        }
    }
}

/// `info --json` of a fixture image (following backing files when the manifest says so).
fn fixture_info(image: &Path, f: &Value) -> Value {
    info_json(image, follow(f))
}

/// Exports `image` (or one volume) into `out_dir/<tag>.raw` and returns the path.
fn export_file(image: &Path, out_dir: &Path, tag: &str, volume: Option<u64>, f: &Value) -> PathBuf {
    let out = out_dir.join(format!("{tag}.raw"));
    export_to(image, &out, volume, follow(f));
    out
}

/// Checks exported bytes against the fixture's `raw_sha256` (qemu-img's raw conversion).
///
/// SHA-256 is slow in an unoptimised test build, so for a fixture whose disk is its seed plus
/// zero padding the bytes are compared with the seed directly, and the digest of seed + padding
/// is computed once per (seed, size) and checked against `raw_sha256` — the same proof.
fn matches_qemu_raw(c: &common::Committed, f: &Value, got: &[u8]) -> Result<(), String> {
    let vsize = u(f, "virtual_size");
    if got.len() as u64 != vsize {
        return Err(format!(
            "exported {} bytes, virtual_size {vsize}",
            got.len()
        ));
    }
    if f["seed_content"].as_bool() != Some(true) {
        let sha = common::sha256_bytes(got);
        return if sha == s(f, "raw_sha256") {
            Ok(())
        } else {
            Err(format!(
                "export sha256 {sha}, qemu-img {}",
                s(f, "raw_sha256")
            ))
        };
    }
    let seed_name = s(f, "seed");
    let seed = seed_bytes(c, seed_name);
    let padded_sha = seed_padded_sha256(seed_name, &seed, vsize);
    if padded_sha != s(f, "raw_sha256") {
        return Err(format!(
            "manifest inconsistent: seed {seed_name} padded to {vsize} hashes to {padded_sha}, raw_sha256 is {}",
            s(f, "raw_sha256")
        ));
    }
    let (head, tail) = got.split_at(seed.len().min(got.len()));
    if head != seed.as_slice() {
        let at = head
            .iter()
            .zip(seed.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(format!(
            "export differs from qemu-img's raw output first at byte {at}"
        ));
    }
    if let Some(at) = tail.iter().position(|&b| b != 0) {
        return Err(format!(
            "export has non-zero byte at {} past the seed",
            seed.len() + at
        ));
    }
    Ok(())
}

/// The seed's raw bytes, read once per test binary (and checked against the manifest's sha256).
fn seed_bytes(c: &common::Committed, seed: &str) -> Arc<Vec<u8>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    let mut map = CACHE
        .get_or_init(Default::default)
        .lock()
        .expect("cache lock");
    map.entry(seed.to_owned())
        .or_insert_with(|| {
            let entry = c.set.seed(seed);
            let bytes =
                fs::read(c.dir.join(s(entry, "file").trim_end_matches(".gz"))).expect("seed");
            assert_eq!(
                common::sha256_bytes(&bytes),
                s(entry, "sha256"),
                "seed {seed} sha256"
            );
            Arc::new(bytes)
        })
        .clone()
}

/// SHA-256 of the seed followed by zeros up to `size`, computed once per (seed, size).
fn seed_padded_sha256(seed_name: &str, seed: &[u8], size: u64) -> String {
    static CACHE: OnceLock<Mutex<HashMap<(String, u64), String>>> = OnceLock::new();
    let mut map = CACHE
        .get_or_init(Default::default)
        .lock()
        .expect("cache lock");
    map.entry((seed_name.to_owned(), size))
        .or_insert_with(|| {
            let mut data = seed.to_vec();
            data.resize(usize::try_from(size).expect("size fits"), 0);
            common::sha256_bytes(&data)
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------

/// Every committed fixture decodes to exactly qemu-img's raw conversion (same SHA-256), and has
/// the virtual size qemu-img reported.
#[test]
fn export_matches_qemu_raw() {
    let c = committed();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut errs = Vec::new();
    let fixtures = c.set.fixtures();
    assert!(
        fixtures.len() >= 20,
        "manifest lists only {} fixtures",
        fixtures.len()
    );
    for f in fixtures {
        let name = s(f, "name");
        let image = c.dir.join(s(f, "image"));
        let out = export_file(&image, tmp.path(), name, None, f);
        let got = fs::read(&out).expect("read export");
        if let Err(e) = matches_qemu_raw(c, f, &got) {
            errs.push(format!("{name}: {e}"));
        }
        fs::remove_file(&out).expect("remove export");
    }
    report("export_matches_qemu_raw", &errs);
}

/// `info --json` names the format as the manifest does and agrees with qemu-img info on the
/// virtual size; images without a backing file report none.
#[test]
fn info_matches_manifest_and_qemu_info() {
    let c = committed();
    let mut errs = Vec::new();
    for f in c.set.fixtures() {
        let name = s(f, "name");
        let info = fixture_info(&c.dir.join(s(f, "image")), f);
        let qemu_format = s(f, "qemu_format");
        if info["qemu_format"] != qemu_format {
            errs.push(format!(
                "{name}: qemu_format {}, expected {qemu_format}",
                info["qemu_format"]
            ));
        }
        if info["format"] != our_format(qemu_format) {
            errs.push(format!(
                "{name}: format {}, expected {}",
                info["format"],
                our_format(qemu_format)
            ));
        }
        let qinfo = c.set.side_json(s(f, "qemu_info"));
        if qinfo["virtual-size"].as_u64() != Some(u(f, "virtual_size")) {
            errs.push(format!(
                "{name}: manifest and qemu-info disagree on the virtual size"
            ));
        }
        if info["virtual_size"].as_u64() != Some(u(f, "virtual_size")) {
            errs.push(format!(
                "{name}: virtual_size {}, qemu-img {}",
                info["virtual_size"], f["virtual_size"]
            ));
        }
        if !info["anomalies"].is_array() {
            errs.push(format!("{name}: anomalies is not an array"));
        }
        if !info["image"].is_object() {
            errs.push(format!("{name}: image is not an object"));
        }
        let backing = &info["image"]["backing"];
        match f["backing_reference"].as_str() {
            None if !backing.is_null() => {
                errs.push(format!("{name}: unexpected backing {backing}"))
            }
            Some(r) if backing["reference"] != r => {
                errs.push(format!(
                    "{name}: backing reference {}, expected {r}",
                    backing["reference"]
                ));
            }
            Some(_) if backing["followed"] != true => {
                errs.push(format!(
                    "{name}: --follow-backing did not follow: {backing}"
                ));
            }
            _ => {}
        }
    }
    report("info_matches_manifest_and_qemu_info", &errs);
}

/// Fixtures whose virtual disk is exactly their seed are clean: no anomaly at any layer.
/// (VHD dynamic disks are CHS-rounded beyond the seed, so their GPT backup is not at the end.)
#[test]
fn clean_fixtures_have_no_anomalies() {
    let c = committed();
    let mut errs = Vec::new();
    for f in c.set.fixtures() {
        let seed = c.set.seed(s(f, "seed"));
        if u(f, "virtual_size") != u(seed, "size") {
            continue;
        }
        let info = fixture_info(&c.dir.join(s(f, "image")), f);
        match info["anomalies"].as_array() {
            Some(a) if a.is_empty() => {}
            other => errs.push(format!("{}: anomalies {other:?}", s(f, "name"))),
        }
    }
    report("clean_fixtures_have_no_anomalies", &errs);
}

/// Partition tables read through every container equal sfdisk's listing of the seed.
#[test]
fn partitions_match_sfdisk() {
    let c = committed();
    let mut errs = Vec::new();
    for f in c.set.fixtures() {
        let seed = c.set.seed(s(f, "seed"));
        let sf = c.set.side_json(s(seed, "sfdisk"));
        let info = fixture_info(&c.dir.join(s(f, "image")), f);
        compare_partitions(s(f, "name"), &info, &sf, s(seed, "scheme"), &mut errs);
    }
    report("partitions_match_sfdisk", &errs);
}

/// `export --volume N` gives exactly the partition's byte range of the disk: of the seed, or for
/// a fixture that changed the seed (the overlay) of its qemu-verified full export.
#[test]
fn volume_export_matches_seed_ranges() {
    let c = committed();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut errs = Vec::new();
    let mut checked = 0;
    for f in c.set.fixtures() {
        let name = s(f, "name");
        let seed = c.set.seed(s(f, "seed"));
        let sf = c.set.side_json(s(seed, "sfdisk"));
        let ss = u(&sf["partitiontable"], "sectorsize");
        let image = c.dir.join(s(f, "image"));
        let reference = if f["seed_content"].as_bool() == Some(true) {
            c.dir.join(s(seed, "file").trim_end_matches(".gz"))
        } else {
            let full = export_file(&image, tmp.path(), &format!("{name}-full"), None, f);
            assert_eq!(
                common::sha256_file(&full),
                s(f, "raw_sha256"),
                "{name}: full export"
            );
            full
        };
        for p in sfdisk_partitions(&sf) {
            if is_extended_type(s(&p, "type")) {
                continue;
            }
            let n = node_number(s(&p, "node"));
            let out = export_file(&image, tmp.path(), &format!("{name}-p{n}"), Some(n), f);
            let got = fs::read(&out).expect("read volume export");
            let want = common::read_range(&reference, u(&p, "start") * ss, u(&p, "size") * ss);
            if got.len() != want.len() {
                errs.push(format!(
                    "{name} volume {n}: {} bytes, expected {}",
                    got.len(),
                    want.len()
                ));
            } else if got != want {
                let at = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(0);
                errs.push(format!(
                    "{name} volume {n}: content differs first at byte {at}"
                ));
            }
            checked += 1;
            fs::remove_file(&out).expect("remove");
        }
    }
    assert!(checked >= 60, "only {checked} volumes checked");
    report("volume_export_matches_seed_ranges", &errs);
}

/// Without `--follow-backing` the overlay's backing file is named but not opened, and the
/// report says so with an anomaly; with it, the parent is opened.
#[test]
fn overlay_without_follow_reports_unfollowed_backing() {
    let c = committed();
    let overlays: Vec<&Value> = c
        .set
        .fixtures()
        .into_iter()
        .filter(|f| f["unfollowed"].is_object())
        .collect();
    assert!(!overlays.is_empty(), "no overlay fixture in the manifest");
    for f in overlays {
        let name = s(f, "name");
        let image = c.dir.join(s(f, "image"));
        let info = info_json(&image, false);
        let backing = &info["image"]["backing"];
        assert_eq!(
            backing["reference"], f["backing_reference"],
            "{name}: {backing}"
        );
        assert_eq!(
            backing["followed"], false,
            "{name}: followed without --follow-backing"
        );
        assert!(
            backing["parent"].is_null(),
            "{name}: parent opened without --follow-backing: {backing}"
        );
        let anomalies = info["anomalies"].as_array().expect("anomalies array");
        assert!(
            anomalies
                .iter()
                .any(|a| a.to_string().to_lowercase().contains("backing")),
            "{name}: no anomaly about the unfollowed backing file: {anomalies:?}"
        );
        // Export without following: either refused (exit 2, saying why) or done; never a crash.
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("o.raw");
        let run = imgcheck(&[
            OsStr::new("export"),
            image.as_os_str(),
            OsStr::new("-o"),
            out.as_os_str(),
        ]);
        assert!(run.crash_reason().is_none(), "{}", run.describe());
        match run.code() {
            Some(0) => {}
            Some(2) => assert!(
                run.stderr.to_lowercase().contains("backing"),
                "refusal does not mention the backing file: {}",
                run.describe()
            ),
            _ => panic!("unexpected status: {}", run.describe()),
        }
        // Following: the parent is opened and described.
        let info = info_json(&image, true);
        let backing = &info["image"]["backing"];
        assert_eq!(backing["followed"], true, "{name}: {backing}");
        assert!(
            backing["parent"].is_object(),
            "{name}: no parent object: {backing}"
        );
    }
}

/// Read-only proof: info and export leave every file of every fixture byte-identical, with the
/// same modification time.
#[test]
fn images_unchanged_by_info_and_export() {
    let c = committed();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut errs = Vec::new();
    for f in c.set.fixtures() {
        let name = s(f, "name");
        let files: Vec<PathBuf> = f["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|g| {
                c.dir
                    .join(g.as_str().expect("file").trim_end_matches(".gz"))
            })
            .collect();
        let before: Vec<_> = files.iter().map(|p| file_state(p)).collect();
        let image = c.dir.join(s(f, "image"));
        info_json(&image, follow(f));
        info_json(&image, false);
        let out = export_file(&image, tmp.path(), name, None, f);
        fs::remove_file(out).expect("remove");
        let after: Vec<_> = files.iter().map(|p| file_state(p)).collect();
        for ((p, (bb, bt)), (ab, at)) in files.iter().zip(&before).zip(&after) {
            if bb != ab {
                errs.push(format!("{name}: content of {} changed", p.display()));
            }
            if bt != at {
                errs.push(format!(
                    "{name}: mtime of {} changed ({bt:?} → {at:?})",
                    p.display()
                ));
            }
        }
    }
    report("images_unchanged_by_info_and_export", &errs);
}

// ---------------------------------------------------------------------------------------------
// Live: regenerate with the installed tools, compare with live qemu-img and sfdisk.

/// Converts fdisk's sfdisk-format dump (`O` command) into sfdisk --json's shape.
fn fdisk_dump_to_json(dump: &str) -> Value {
    let mut pt = serde_json::Map::new();
    let mut parts = Vec::new();
    for line in dump.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let (key, rest) = (key.trim(), rest.trim());
        if rest.contains('=') {
            let mut part = serde_json::Map::new();
            part.insert("node".into(), Value::from(key));
            for kv in rest.split(", ") {
                let Some((k, v)) = kv.split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"');
                let val = match k.trim() {
                    "start" | "size" => Value::from(v.parse::<u64>().expect("number")),
                    _ => Value::from(v),
                };
                part.insert(k.trim().into(), val);
            }
            parts.push(Value::Object(part));
        } else {
            let k = match key {
                "label-id" => "id",
                "sector-size" => "sectorsize",
                "first-lba" => "firstlba",
                "last-lba" => "lastlba",
                other => other,
            };
            let val = rest
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(rest));
            pt.insert(k.into(), val);
        }
    }
    pt.insert("partitions".into(), Value::Array(parts));
    serde_json::json!({ "partitiontable": pt })
}

/// SHA-256 of a file with the `sha256sum` tool (the live test requires it).
fn tool_sha256(path: &Path) -> String {
    let out = common::run_with_timeout(
        &common::tool_path("sha256sum"),
        &[path.as_os_str()],
        Duration::from_secs(60),
        1 << 16,
    );
    out.assert_ok();
    out.stdout_str()
        .split_whitespace()
        .next()
        .expect("sha256sum output")
        .to_owned()
}

/// Lists a raw disk's partitions with live util-linux: `sfdisk --json` for 512-byte sectors,
/// `fdisk -b 4096` (its O dump) for 4096-byte sectors, which sfdisk cannot set for a file.
fn live_listing(raw: &Path, sector_size: u64, work: &Path) -> Value {
    if sector_size == 512 {
        let out = common::run_with_timeout(
            &common::tool_path("sfdisk"),
            &[OsStr::new("--json"), raw.as_os_str()],
            Duration::from_secs(30),
            1 << 20,
        );
        out.assert_ok();
        return out.json();
    }
    let dump = work.join("fdisk.dump");
    let _ = fs::remove_file(&dump);
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "printf 'O\\n%s\\nq\\n' \"$1\" | {} -b {sector_size} \"$2\" >/dev/null",
            common::tool_path("fdisk").display()
        ))
        .arg("bash")
        .arg(&dump)
        .arg(raw)
        .status()
        .expect("run fdisk");
    assert!(
        status.success(),
        "fdisk -b {sector_size} {} failed",
        raw.display()
    );
    fdisk_dump_to_json(&fs::read_to_string(&dump).expect("fdisk dump"))
}

#[test]
fn live_regenerate_and_compare() {
    let tools = [
        "qemu-img",
        "qemu-io",
        "sfdisk",
        "fdisk",
        "mkfs.fat",
        "python3",
        "gzip",
        "sha256sum",
    ];
    if !common::require_tools("live_regenerate_and_compare", &tools) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let gen = tmp.path().join("gen");
    let work = tmp.path().join("work");
    fs::create_dir_all(&work).expect("mkdir");
    let script = common::repo_root().join("scripts").join("make-fixtures.sh");
    let run = common::run_with_timeout(
        Path::new("bash"),
        &[script.as_os_str(), OsStr::new("--out"), gen.as_os_str()],
        Duration::from_secs(180),
        1 << 20,
    );
    assert_eq!(
        run.code(),
        Some(0),
        "make-fixtures.sh failed: {}",
        run.describe()
    );

    let set = FixtureSet::load(&gen);
    let committed_set = FixtureSet::load(&common::containers_dir());
    let committed_names: Vec<String> = committed_set
        .fixtures()
        .iter()
        .map(|f| s(f, "name").to_owned())
        .collect();
    let mut errs = Vec::new();
    for f in set.fixtures() {
        let name = s(f, "name");
        if !committed_names.iter().any(|n| n == name) {
            errs.push(format!(
                "{name}: regenerated but not committed (re-run the script)"
            ));
        }
        let image = set.materialize(f, &work);
        // Live qemu-img: the ground truth for the decoded bytes.
        let qraw = work.join(format!("{name}.qemu.raw"));
        let q = common::run_with_timeout(
            &common::tool_path("qemu-img"),
            &[
                OsStr::new("convert"),
                OsStr::new("-f"),
                OsStr::new(s(f, "qemu_format")),
                OsStr::new("-O"),
                OsStr::new("raw"),
                image.as_os_str(),
                qraw.as_os_str(),
            ],
            Duration::from_secs(60),
            1 << 20,
        );
        assert_eq!(q.code(), Some(0), "{}", q.describe());
        // sha256sum (fast, C) for qemu's output; our export is compared with it byte for byte.
        let qsha = tool_sha256(&qraw);
        let ours = export_file(&image, &work, &format!("{name}.ours"), None, f);
        let (qbytes, obytes) = (
            fs::read(&qraw).expect("qemu raw"),
            fs::read(&ours).expect("export"),
        );
        if qbytes != obytes {
            let at = qbytes.iter().zip(&obytes).position(|(a, b)| a != b);
            errs.push(format!(
                "{name}: imgcheck export ({} bytes) differs from live qemu-img ({} bytes), first at {at:?}",
                obytes.len(),
                qbytes.len()
            ));
        }
        if qsha != s(f, "raw_sha256") {
            errs.push(format!(
                "{name}: live qemu-img differs from the script's own manifest"
            ));
        }
        // Live sfdisk / fdisk on qemu's raw conversion vs imgcheck reading the container.
        let seed = set.seed(s(f, "seed"));
        let listing = live_listing(&qraw, u(seed, "sector_size"), &work);
        let info = fixture_info(&image, f);
        compare_partitions(
            &format!("{name} (live)"),
            &info,
            &listing,
            s(seed, "scheme"),
            &mut errs,
        );
        let qinfo = set.side_json(s(f, "qemu_info"));
        if info["virtual_size"] != qinfo["virtual-size"] {
            errs.push(format!(
                "{name}: virtual_size {} != live qemu-img info {}",
                info["virtual_size"], qinfo["virtual-size"]
            ));
        }
        for p in [qraw, ours] {
            fs::remove_file(p).expect("remove");
        }
    }
    report("live_regenerate_and_compare", &errs);
}

/// The fdisk-dump converter used by the live test reads fdisk's real output format.
#[test]
fn fdisk_dump_conversion() {
    let dump = "label: gpt\nlabel-id: 4A3F0D1C-5B6E-4F70-8A9B-0C1D2E3F4A5B\ndevice: g.raw\n\
                unit: sectors\nfirst-lba: 256\nlast-lba: 2042\nsector-size: 4096\n\n\
                g.raw1 : start=         256, size=         512, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, \
                uuid=11111111-2222-4333-8444-555555555501, name=\"EFI 4K\"\n";
    let v = fdisk_dump_to_json(dump);
    let pt = &v["partitiontable"];
    assert_eq!(pt["label"], "gpt");
    assert_eq!(pt["sectorsize"], 4096);
    assert_eq!(pt["id"], "4A3F0D1C-5B6E-4F70-8A9B-0C1D2E3F4A5B");
    let p = &pt["partitions"][0];
    assert_eq!(p["start"], 256);
    assert_eq!(p["size"], 512);
    assert_eq!(p["name"], "EFI 4K");
    assert_eq!(node_number(s(p, "node")), 1);
    // And it agrees with the committed conversion the script made with python.
    let committed_json = committed().set.side_json("gpt4k.sfdisk.json");
    assert_eq!(committed_json["partitiontable"]["sectorsize"], 4096);
    assert_eq!(sfdisk_partitions(&committed_json).len(), 2);
}

/// The comparison helpers themselves: type matching, hex parsing, node numbers.
#[test]
fn comparison_helpers() {
    assert!(same_type("0x0C", "c"));
    assert!(same_type("0x83", "83"));
    assert!(!same_type("0x82", "83"));
    assert!(same_type(
        "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
    ));
    assert!(!same_type("0x0C", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"));
    assert!(is_extended_type("5") && is_extended_type("f") && !is_extended_type("83"));
    assert_eq!(node_number("gpt4k.raw12"), 12);
    assert_eq!(parse_hex("0x1234abcd"), Some(0x1234_abcd));
    let mut errs = Vec::new();
    let sf = serde_json::json!({"partitiontable": {"label": "dos", "id": "0x1", "sectorsize": 512,
        "partitions": [{"node": "d1", "start": 2048, "size": 10, "type": "83", "bootable": true}]}});
    let good = serde_json::json!({"partition_table": {"scheme": "mbr", "sector_size": 512,
        "disk_guid": null, "partitions": [{"number": 1, "start": 1048576, "size": 5120,
        "start_lba": 2048, "size_lba": 10, "type": "0x83", "name": null, "guid": null,
        "bootable": true}]}});
    compare_partitions("good", &good, &sf, "mbr", &mut errs);
    assert!(errs.is_empty(), "{errs:?}");
    let mut bad = good.clone();
    bad["partition_table"]["partitions"][0]["size_lba"] = Value::from(11);
    bad["partition_table"]["partitions"][0]["bootable"] = Value::from(false);
    compare_partitions("bad", &bad, &sf, "mbr", &mut errs);
    assert_eq!(errs.len(), 2, "{errs:?}");
}
