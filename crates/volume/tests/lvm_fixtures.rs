//! Integration tests on the committed LVM2 and md fixtures (`testdata/lvm`, built by
//! `scripts/make-lvm-fixtures.sh`): every VG, PV and LV of the manifest, each readable LV's
//! bytes by SHA-256, the VG with a missing PV, md RAID1 arrays (v1.2 and v0.90) read, RAID5
//! recognised — and damaged copies of the fixtures giving anomalies, never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]

mod common;

use common::{arc, image, lvm_crc, manifest, read_all, sha256};
use imgcheck_core::{BlockSource, ErrorKind, Limits};
use imgcheck_volume::{lvm, md, read_partition_table};
use serde_json::Value;
use std::sync::Arc;

type Vols = Vec<(String, Arc<dyn BlockSource>)>;

/// The volumes of the three LVM disks, as the engine would list them: partition 1 of the GPT
/// and MBR disks, the whole third disk.
fn lvm_volumes(gpt: Vec<u8>, mbr: Vec<u8>, missing: Vec<u8>) -> Vols {
    let mut out: Vols = Vec::new();
    for (name, bytes) in [("lvm-gpt.img", gpt), ("lvm-mbr.img", mbr)] {
        let disk = arc(bytes);
        let table = read_partition_table(disk.as_ref(), &Limits::default()).unwrap();
        assert!(table.anomalies.is_empty(), "{name}: {:?}", table.anomalies);
        let p = &table.partitions[0];
        assert_eq!(p.start, 1 << 20);
        out.push((format!("{name}p1"), Arc::new(p.source(disk).unwrap())));
    }
    out.push(("lvm-missing.img".to_string(), arc(missing)));
    out
}

fn fixture_volumes() -> Vols {
    lvm_volumes(
        image("lvm-gpt.img"),
        image("lvm-mbr.img"),
        image("lvm-missing.img"),
    )
}

fn check_vg_against_manifest(vg: &lvm::VolumeGroup, want: &Value, vols: &Vols) {
    assert_eq!(vg.uuid, want["uuid"].as_str().unwrap());
    assert_eq!(vg.seqno, want["seqno"].as_u64().unwrap());
    assert_eq!(
        vg.extent_size_bytes,
        want["extent_size_bytes"].as_u64().unwrap()
    );
    let missing: Vec<&str> = want["missing_pvs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(vg.missing_pvs, missing);
    let lvs = want["lvs"].as_array().unwrap();
    assert_eq!(vg.lvs.len(), lvs.len());
    for w in lvs {
        let name = w["name"].as_str().unwrap();
        let lv = vg.lv(name).unwrap_or_else(|| panic!("LV {name} missing"));
        assert_eq!(lv.uuid, w["uuid"].as_str().unwrap(), "{name}");
        assert_eq!(lv.kind, w["kind"].as_str().unwrap(), "{name}");
        assert_eq!(lv.size_bytes, w["size_bytes"].as_u64().unwrap(), "{name}");
        assert_eq!(lv.visible, w["visible"].as_bool().unwrap(), "{name}");
        assert_eq!(
            lv.segments.len() as u64,
            w["segments"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            lv.readable,
            w["readable"].as_bool().unwrap(),
            "{name}: {:?}",
            lv.reason
        );
        if lv.readable {
            assert!(lv.reason.is_none());
            let src = vg.lv_source(name, vols).unwrap();
            assert_eq!(src.len(), lv.size_bytes);
            assert_eq!(
                sha256(&read_all(src.as_ref())),
                w["sha256"].as_str().unwrap(),
                "content of {}/{name}",
                vg.name
            );
        } else {
            assert!(lv.reason.is_some(), "{name}");
            assert!(vg.lv_source(name, vols).is_err(), "{name}");
        }
    }
}

#[test]
fn every_vg_and_lv_matches_the_manifest() {
    let m = manifest();
    let vols = fixture_volumes();
    let scan = lvm::scan(&vols, &Limits::default());
    // The only anomaly: vgbroken's second PV is not in the image.
    assert_eq!(scan.anomalies.len(), 1, "{:?}", scan.anomalies);
    let a = &scan.anomalies[0];
    assert_eq!(
        (a.layer.as_str(), a.structure.as_str()),
        ("lvm", "volume group vgbroken")
    );
    assert_eq!(a.kind, ErrorKind::NotFound);
    assert!(
        a.message.contains("PVBmmm-mMMM-Mnnn-nNNN-Nooo-oOOO-Opppp1"),
        "{a}"
    );
    assert!(a.message.contains("/dev/vdd"), "{a}");

    let want_vgs = m["volume_groups"].as_array().unwrap();
    let names: Vec<&str> = scan.vgs.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, vec!["vgbroken", "vgsys"]);
    for w in want_vgs {
        let vg = scan
            .vgs
            .iter()
            .find(|v| v.name == w["name"].as_str().unwrap())
            .unwrap();
        check_vg_against_manifest(vg, w, &vols);
    }
    // PVs found, by volume, and their labels.
    assert_eq!(scan.pvs.len(), 3);
    for (vol, img) in [
        ("lvm-gpt.imgp1", "lvm-gpt.img"),
        ("lvm-mbr.imgp1", "lvm-mbr.img"),
        ("lvm-missing.img", "lvm-missing.img"),
    ] {
        let info = &m["images"][img];
        let pv = scan.pvs.iter().find(|p| p.volume == vol).unwrap();
        assert_eq!(pv.label.uuid, info["pv_uuid"].as_str().unwrap());
        assert_eq!(pv.label.label_sector, 1);
        assert_eq!(
            pv.label.metadata_areas.len() as u64,
            info["metadata_areas"].as_u64().unwrap()
        );
        assert_eq!(pv.vg.as_deref(), info["vg"].as_str());
    }
    let vgsys = scan.vgs.iter().find(|v| v.name == "vgsys").unwrap();
    assert_eq!(vgsys.pvs[0].volume.as_deref(), Some("lvm-gpt.imgp1"));
    assert_eq!(vgsys.pvs[0].device_hint.as_deref(), Some("/dev/vda1"));
    assert_eq!(vgsys.pvs[1].volume.as_deref(), Some("lvm-mbr.imgp1"));
    // The root LV holds an ext4 (superblock magic 0xef53 at 1024 + 56).
    let root = vgsys.lv_source("root", &vols).unwrap();
    let mut magic = [0u8; 2];
    root.read_exact_at(&mut magic, 1024 + 56).unwrap();
    assert_eq!(u16::from_le_bytes(magic), 0xef53);
    // The raid1 LV's images are readable hidden LVs with the same content.
    let a = read_all(
        vgsys
            .lv_source("mirrored_rimage_0", &vols)
            .unwrap()
            .as_ref(),
    );
    let b = read_all(
        vgsys
            .lv_source("mirrored_rimage_1", &vols)
            .unwrap()
            .as_ref(),
    );
    assert!(a == b);
    // JSON of the scan is stable and names the kinds.
    let json = serde_json::to_string(&scan).unwrap();
    assert!(json.contains("\"kind\":\"thin-pool\"") && json.contains("\"kind\":\"raid1\""));
}

#[test]
fn missing_pv_vg_reports_reasons() {
    let scan = lvm::scan(&fixture_volumes(), &Limits::default());
    let vg = scan.vgs.iter().find(|v| v.name == "vgbroken").unwrap();
    assert_eq!(vg.pvs[1].volume, None);
    for name in ["gone", "spans"] {
        let lv = vg.lv(name).unwrap();
        assert!(!lv.readable);
        assert!(
            lv.reason
                .as_deref()
                .unwrap()
                .contains("is missing from the image"),
            "{name}: {:?}",
            lv.reason
        );
        let e = vg.lv_source(name, &fixture_volumes()).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }
    assert!(vg.lv("ok").unwrap().readable);
}

#[test]
fn vg_is_incomplete_without_one_disk() {
    // Only the GPT disk: vgsys misses pv1; LVs on pv0 alone still read.
    let vols: Vols = fixture_volumes().into_iter().take(1).collect();
    let scan = lvm::scan(&vols, &Limits::default());
    let vg = &scan.vgs[0];
    assert_eq!(
        vg.missing_pvs,
        vec!["PV1eee-eEEE-Efff-fFFF-Fggg-gGGG-Ghhhh1"]
    );
    assert!(vg.lv("root").unwrap().readable);
    assert!(!vg.lv("data").unwrap().readable);
    assert!(!vg.lv("split").unwrap().readable);
}

/// Offset of pv0 in lvm-gpt.img, of its first and second mda headers (PV-relative).
const PV0: usize = 1 << 20;
const MDA1: usize = 4096;
const MDA2: usize = 14 * (1 << 20) - 256 * 1024;

fn scan_with_gpt(gpt: Vec<u8>) -> lvm::LvmScan {
    lvm::scan(
        &lvm_volumes(gpt, image("lvm-mbr.img"), image("lvm-missing.img")),
        &Limits::default(),
    )
}

fn pv0_anomalies(scan: &lvm::LvmScan) -> Vec<&imgcheck_core::Anomaly> {
    scan.anomalies
        .iter()
        .filter(|a| a.structure.contains("lvm-gpt.imgp1"))
        .collect()
}

#[test]
fn zeroed_label_drops_the_pv() {
    let mut gpt = image("lvm-gpt.img");
    gpt[PV0 + 512..PV0 + 1024].fill(0);
    let scan = scan_with_gpt(gpt);
    let vg = scan.vgs.iter().find(|v| v.name == "vgsys").unwrap();
    assert_eq!(
        vg.missing_pvs,
        vec!["PV0aaa-aAAA-Abbb-bBBB-Bccc-cCCC-Cdddd0"]
    );
    assert!(!vg.lv("root").unwrap().readable);
    assert!(vg.lv("split").unwrap().readable, "split lies on pv1 only");
}

#[test]
fn flipped_mda_checksum_is_an_anomaly_and_the_other_copy_is_used() {
    let mut gpt = image("lvm-gpt.img");
    gpt[PV0 + MDA1] ^= 0x01;
    let scan = scan_with_gpt(gpt);
    let a = pv0_anomalies(&scan);
    assert_eq!(a.len(), 1, "{:?}", scan.anomalies);
    assert_eq!(
        a[0].structure,
        "metadata area 1 header of PV PV0aaa-aAAA-Abbb-bBBB-Bccc-cCCC-Cdddd0 on volume lvm-gpt.imgp1"
    );
    assert_eq!(a[0].offset, Some(MDA1 as u64));
    assert!(a[0].message.starts_with("crc32 is 0x"), "{}", a[0]);
    let vg = scan.vgs.iter().find(|v| v.name == "vgsys").unwrap();
    assert!(vg.lv("root").unwrap().readable);
}

/// Replace the committed text of mda `mda` (PV-relative header offset) in pv0 with `text`
/// (NUL added), fixing the text and header CRCs so only the text itself is wrong.
fn rewrite_text(gpt: &mut [u8], mda: usize, text: &[u8], size_override: Option<u64>) {
    let h = PV0 + mda;
    let off = u64::from_le_bytes(gpt[h + 40..h + 48].try_into().unwrap()) as usize;
    let mut body = text.to_vec();
    body.push(0);
    let size = size_override.unwrap_or(body.len() as u64) as usize;
    gpt[h + off..h + off + body.len()].copy_from_slice(&body);
    gpt[h + 48..h + 56].copy_from_slice(&(size as u64).to_le_bytes());
    let crc = lvm_crc(&gpt[h + off..h + off + size]);
    gpt[h + 56..h + 60].copy_from_slice(&crc.to_le_bytes());
    let hc = lvm_crc(&gpt[h + 4..h + 512]);
    gpt[h..h + 4].copy_from_slice(&hc.to_le_bytes());
}

fn committed_text(gpt: &[u8], mda: usize) -> String {
    let h = PV0 + mda;
    let off = u64::from_le_bytes(gpt[h + 40..h + 48].try_into().unwrap()) as usize;
    let size = u64::from_le_bytes(gpt[h + 48..h + 56].try_into().unwrap()) as usize;
    String::from_utf8(gpt[h + off..h + off + size - 1].to_vec()).unwrap()
}

#[test]
fn truncated_metadata_text() {
    let gpt0 = image("lvm-gpt.img");
    let text = committed_text(&gpt0, MDA2);
    // Size cut without fixing the CRC: a checksum anomaly on area 2.
    let mut gpt = gpt0.clone();
    let h = PV0 + MDA2;
    gpt[h + 48..h + 56].copy_from_slice(&300u64.to_le_bytes());
    let hc = lvm_crc(&gpt[h + 4..h + 512]);
    gpt[h..h + 4].copy_from_slice(&hc.to_le_bytes());
    let scan = scan_with_gpt(gpt);
    let a = pv0_anomalies(&scan);
    assert_eq!(a.len(), 1, "{:?}", scan.anomalies);
    assert!(
        a[0].structure
            .starts_with("metadata text in area 2 of PV PV0aaa"),
        "{}",
        a[0]
    );
    assert_eq!(a[0].offset, Some((MDA2 + 512) as u64));
    assert!(a[0].message.contains("crc32 of 300 bytes"), "{}", a[0]);
    // Truncated with a matching CRC: a parse error with line and column, offset in the text.
    let mut gpt = gpt0.clone();
    rewrite_text(&mut gpt, MDA2, &text.as_bytes()[..1000], None);
    let scan = scan_with_gpt(gpt);
    let a = pv0_anomalies(&scan);
    assert_eq!(a.len(), 1, "{:?}", scan.anomalies);
    assert!(
        a[0].message
            .starts_with("metadata text does not parse: line "),
        "{}",
        a[0]
    );
    assert!(a[0].offset.unwrap() > (MDA2 + 512) as u64);
    // The VG still comes from the intact copies.
    assert!(scan
        .vgs
        .iter()
        .any(|v| v.name == "vgsys" && v.lv("root").unwrap().readable));
}

#[test]
fn absurd_extent_counts_in_the_newest_copy() {
    let mut gpt = image("lvm-gpt.img");
    let text = committed_text(&gpt, MDA1)
        .replace("seqno = 12", "seqno = 13")
        .replacen("extent_count = 5", "extent_count = 9223372036854775807", 1)
        .replacen(
            "stripes = [\n\"pv0\", 5",
            "stripes = [\n\"pv0\", 9223372036854775000",
            1,
        );
    rewrite_text(&mut gpt, MDA1, text.as_bytes(), None);
    let scan = scan_with_gpt(gpt);
    let vg = scan.vgs.iter().find(|v| v.name == "vgsys").unwrap();
    assert_eq!(vg.seqno, 13);
    // Older copies (pv0 area 2, pv1) are reported as such.
    let older: Vec<_> = scan
        .anomalies
        .iter()
        .filter(|a| a.message.contains("older than seqno 13"))
        .collect();
    assert_eq!(older.len(), 2, "{:?}", scan.anomalies);
    let data = vg.lv("data").unwrap();
    assert!(!data.readable);
    assert!(
        data.reason
            .as_deref()
            .unwrap()
            .contains("beyond its pe_count of 12"),
        "{:?}",
        data.reason
    );
    let root = vg.lv("root").unwrap();
    assert!(!root.readable);
    assert_eq!(root.reason.as_deref(), Some("its size overflows 64 bits"));
}

#[test]
fn md_members_and_arrays_match_the_manifest() {
    let m = manifest();
    let mut members = Vec::new();
    for w in m["md"]["members"].as_array().unwrap() {
        let img = w["image"].as_str().unwrap();
        let src = arc(image(img));
        let mm = md::probe(src.as_ref())
            .unwrap()
            .unwrap_or_else(|| panic!("{img}: no md"));
        assert_eq!(mm.version, w["version"].as_str().unwrap(), "{img}");
        assert_eq!(mm.array_uuid, w["array_uuid"].as_str().unwrap(), "{img}");
        assert_eq!(mm.level, w["level"].as_str().unwrap(), "{img}");
        assert_eq!(mm.name.as_deref(), w["name"].as_str(), "{img}");
        assert_eq!(
            u64::from(mm.role.unwrap()),
            w["role"].as_u64().unwrap(),
            "{img}"
        );
        assert_eq!(
            u64::from(mm.raid_disks),
            w["raid_disks"].as_u64().unwrap(),
            "{img}"
        );
        assert_eq!(mm.state, "active");
        // An md member is not an LVM PV.
        assert!(lvm::probe_pv(src.as_ref()).unwrap().is_none());
        members.push((img.to_string(), src, mm));
    }
    let (arrays, anomalies) = md::assemble(&members);
    assert!(anomalies.is_empty(), "{anomalies:?}");
    let want = m["md"]["arrays"].as_array().unwrap();
    assert_eq!(arrays.len(), want.len());
    for w in want {
        let arr = arrays
            .iter()
            .find(|a| a.uuid == w["uuid"].as_str().unwrap())
            .unwrap();
        assert_eq!(arr.level, w["level"].as_str().unwrap());
        assert_eq!(arr.name.as_deref(), w["name"].as_str());
        let names: Vec<&str> = w["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(arr.members, names);
        assert_eq!(arr.readable, w["readable"].as_bool().unwrap());
        if arr.readable {
            let src = md::array_source(arr, &members).unwrap();
            assert_eq!(src.len(), w["size_bytes"].as_u64().unwrap());
            assert_eq!(
                sha256(&read_all(src.as_ref())),
                w["sha256"].as_str().unwrap()
            );
        } else {
            assert!(arr
                .reason
                .as_deref()
                .unwrap()
                .contains("raid5 array is recognised"));
            assert_eq!(
                md::array_source(arr, &members).err().unwrap().kind(),
                ErrorKind::Unsupported
            );
        }
    }
    // Members without their partners: degraded, still readable (RAID1).
    let one: Vec<_> = members
        .iter()
        .filter(|m| m.0 == "md-raid1-1.2-b.img")
        .cloned()
        .collect();
    let (arrays, anomalies) = md::assemble(&one);
    assert!(arrays[0].readable);
    assert!(
        anomalies[0].message.contains("degraded: 1 of 2"),
        "{anomalies:?}"
    );
}

#[test]
fn damaged_md_superblocks() {
    // v1.2: flip a byte in the superblock -> checksum error naming version and offset.
    let mut d = image("md-raid1-1.2-a.img");
    d[4096 + 40] ^= 0xff;
    let e = md::probe(arc(d).as_ref()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("md: v1.2 superblock at offset 4096: checksum is 0x"),
        "{e}"
    );
    // v0.90: the same at the end of the device.
    let mut d = image("md-raid1-0.90-a.img");
    let at = (d.len() & !0xffff) - 0x10000;
    d[at + 100] ^= 0xff;
    let e = md::probe(arc(d).as_ref()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(
        e.to_string().starts_with(&format!(
            "md: v0.90 superblock at offset {at}: checksum is 0x"
        )),
        "{e}"
    );
}
