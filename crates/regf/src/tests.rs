//! Unit tests on synthetic hives built by [`crate::testhive::Builder`]: every list type, big
//! data, every decoding rule, and damage of each kind (dirty, bad checksum, offsets past the end,
//! cycles, absurd counts), which must give errors or anomalies naming the structure and offset,
//! never a panic or a hang.
#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use crate::limits::{MAX_KEY_DEPTH, MAX_LIST_NESTING};
use crate::testhive::{fix_checksum, Builder, NONE};
use crate::types::*;
use crate::{Hive, RegfError, Structure, ValueData};
use imgcheck_core::ErrorKind;

const HBIN0: u32 = 0x20; // first cell offset

fn u16s(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn names(keys: &[crate::Key<'_>]) -> Vec<String> {
    keys.iter().map(|k| k.name()).collect()
}

/// A hive using every list type: root (lf) → A (lh) → {A1, A2}; root → B (li) → {B1};
/// root → C (ri → [li {C1, C2}, lh {C3}]); root → Ω (UTF-16 name) with values.
fn tree() -> Vec<u8> {
    let mut b = Builder::new();
    let root = b.nk("ROOT", NONE);
    let top = b.children(root, b"lf", &["A", "B", "C", "Ωmega Ключ"]);
    b.children(top[0], b"lh", &["A1", "A2"]);
    b.children(top[1], b"li", &["B1"]);
    let c = top[2];
    let c1 = b.nk("C1", c);
    let c2 = b.nk("c2", c);
    let c3 = b.nk("C3", c);
    let l1 = b.leaf(b"li", &[c1, c2]);
    let l2 = b.leaf(b"lh", &[c3]);
    let ri = b.ri(&[l1, l2]);
    b.set_subkeys(c, 3, ri);
    let big: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let vals = [
        b.vk("", REG_SZ, &u16s("default\0")),
        b.vk("Sz", REG_SZ, &u16s("hello\0")),
        b.vk("SzNoNul", REG_SZ, &u16s("abc")),
        b.vk("Expand", REG_EXPAND_SZ, &u16s("%SystemRoot%\\x\0")),
        b.vk("Multi", REG_MULTI_SZ, &u16s("a\0bc\0\0")),
        b.vk("Dw", REG_DWORD, &7u32.to_le_bytes()),
        b.vk("DwBE", REG_DWORD_BIG_ENDIAN, &[0, 0, 1, 2]),
        b.vk("Qw", REG_QWORD, &0x0123_4567_89AB_CDEFu64.to_le_bytes()),
        b.vk("Bin", REG_BINARY, &[1, 2, 3, 4, 5, 6]),
        b.vk("None", REG_NONE, &[]),
        b.vk("NoneData", REG_NONE, &[9]),
        b.vk("Link", REG_LINK, &u16s("\\Registry\\Machine")),
        b.vk("Res", REG_RESOURCE_LIST, &[1, 0, 0, 0, 0xFF]),
        b.vk("Big", REG_BINARY, &big),
        b.vk("Größe", REG_SZ, &u16s("straße\0")),
        b.vk("Ωvalue", REG_SZ, &u16s("ω\0")),
        b.vk("DwShort", REG_DWORD, &[1, 2]),
    ];
    b.values(top[3], &vals);
    b.finish()
}

#[test]
fn base_block_and_info() {
    let hive = Hive::parse(tree()).unwrap();
    assert!(hive.anomalies().is_empty(), "{:?}", hive.anomalies());
    let info = hive.info();
    assert_eq!((info.major_version, info.minor_version), (1, 5));
    assert!(!info.dirty);
    assert!(info.checksum_ok);
    assert_eq!(info.root_name.as_deref(), Some("ROOT"));
    assert_eq!(info.file_name, "SYNTHETIC");
    assert_eq!(info.root_cell_offset, HBIN0);
    assert!(
        info.hbin_count >= 4,
        "40 KB of big data spans several bins: {}",
        info.hbin_count
    );
}

#[test]
fn every_list_type() {
    let hive = Hive::parse(tree()).unwrap();
    let root = hive.root().unwrap();
    assert_eq!(
        names(&root.subkeys().unwrap()),
        ["A", "B", "C", "Ωmega Ключ"]
    );
    assert_eq!(
        names(&hive.open("A").unwrap().unwrap().subkeys().unwrap()),
        ["A1", "A2"]
    );
    assert_eq!(
        names(&hive.open("B").unwrap().unwrap().subkeys().unwrap()),
        ["B1"]
    );
    let c = hive.open("C").unwrap().unwrap();
    assert_eq!(names(&c.subkeys().unwrap()), ["C1", "c2", "C3"]);
    assert_eq!(c.subkey_count(), 3);
    assert_eq!(c.depth(), 1);
    // Case-insensitive paths, both separators, empty components ignored.
    assert_eq!(hive.open("c\\C2").unwrap().unwrap().name(), "c2");
    assert_eq!(hive.open("/a//a2/").unwrap().unwrap().name(), "A2");
    assert_eq!(
        hive.open("ΩMEGA КЛЮЧ").unwrap().unwrap().name(),
        "Ωmega Ключ"
    );
    assert_eq!(hive.open("").unwrap().unwrap().offset(), HBIN0);
    assert!(hive.open("C\\C4").unwrap().is_none());
    assert!(hive.open("Nope\\Deeper").unwrap().is_none());
    let a2 = hive.open("A\\A2").unwrap().unwrap();
    assert_eq!(
        a2.parent_offset(),
        hive.open("A").unwrap().unwrap().offset()
    );
    assert_eq!(a2.last_written(), 0x01D9_0000_0000_0000);
    assert!(a2.values().unwrap().is_empty());
    assert!(a2.class_name().unwrap().is_none());
    assert!(!a2.is_symlink());
}

#[test]
fn every_value_type() {
    let hive = Hive::parse(tree()).unwrap();
    let k = hive.open("ωmega ключ").unwrap().unwrap();
    let get = |n: &str| {
        k.value(n)
            .unwrap()
            .unwrap_or_else(|| panic!("value {n}"))
            .data()
            .unwrap()
    };
    assert_eq!(get(""), ValueData::String("default".into()));
    assert_eq!(get("sz"), ValueData::String("hello".into()));
    assert_eq!(get("SzNoNul"), ValueData::String("abc".into()));
    assert_eq!(
        get("EXPAND"),
        ValueData::ExpandString("%SystemRoot%\\x".into())
    );
    assert_eq!(
        get("Multi"),
        ValueData::MultiString(vec!["a".into(), "bc".into()])
    );
    assert_eq!(get("Dw"), ValueData::Dword(7));
    assert_eq!(get("DwBE"), ValueData::Dword(0x102));
    assert_eq!(get("Qw"), ValueData::Qword(0x0123_4567_89AB_CDEF));
    assert_eq!(get("Bin"), ValueData::Binary(vec![1, 2, 3, 4, 5, 6]));
    assert_eq!(get("None"), ValueData::None);
    assert_eq!(
        get("NoneData"),
        ValueData::Other {
            data_type: 0,
            bytes: vec![9]
        }
    );
    assert_eq!(get("Link"), ValueData::Link("\\Registry\\Machine".into()));
    assert_eq!(
        get("Res"),
        ValueData::Other {
            data_type: 8,
            bytes: vec![1, 0, 0, 0, 0xFF]
        }
    );
    assert_eq!(
        get("GRÖSSE".to_lowercase().replace("ss", "ß").as_str()),
        ValueData::String("straße".into())
    );
    assert_eq!(get("ΩVALUE"), ValueData::String("ω".into()));
    let big = k.value("big").unwrap().unwrap();
    assert_eq!(big.data_size(), 40_000);
    let expected: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(big.data().unwrap(), ValueData::Binary(expected));
    // Default value is named "", listed first; names come back as stored.
    let all = k.values().unwrap();
    assert_eq!(all.len(), 17);
    assert_eq!(all[0].name(), "");
    assert_eq!(all[14].name(), "Größe");
    assert_eq!(all[5].data_type(), REG_DWORD);
    assert!(k.value("Missing").unwrap().is_none());
    // A REG_DWORD of 2 bytes is an error naming the vk.
    let short = k.value("DwShort").unwrap().unwrap();
    let e = short.data().unwrap_err();
    assert!(matches!(e, RegfError::BadValueData { .. }), "{e:?}");
    assert_eq!(e.structure(), Structure::Vk);
    assert_eq!(e.cell_offset(), Some(short.offset()));
    assert!(
        e.to_string()
            .contains("REG_DWORD data is 2 bytes, expected 4 bytes"),
        "{e}"
    );
    assert_eq!(short.raw_data().unwrap().as_ref(), &[1, 2]);
}

#[test]
fn big_data_edge_cases() {
    // Exactly 16,344 bytes is one ordinary cell; 16,345 needs two segments.
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let exact: Vec<u8> = vec![0xAB; 16_344];
    let over: Vec<u8> = (0..16_345u32).map(|i| i as u8).collect();
    let v1 = b.vk("exact", REG_BINARY, &exact);
    let v2 = b.vk("over", REG_BINARY, &over);
    b.values(root, &[v1, v2]);
    let hive = Hive::parse(b.finish()).unwrap();
    let r = hive.root().unwrap();
    assert_eq!(
        r.value("exact")
            .unwrap()
            .unwrap()
            .raw_data()
            .unwrap()
            .as_ref(),
        &exact[..]
    );
    assert_eq!(
        r.value("over")
            .unwrap()
            .unwrap()
            .raw_data()
            .unwrap()
            .as_ref(),
        &over[..]
    );

    // A db record whose segment count is too small for the data size.
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let db = b.big_data(&vec![1u8; 20_000]);
    let vk = b.vk_raw("v", REG_BINARY, 40_000, db);
    b.values(root, &[vk]);
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive
        .root()
        .unwrap()
        .value("v")
        .unwrap()
        .unwrap()
        .raw_data()
        .unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::CountMismatch {
                structure: Structure::Db,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.cell_offset(), Some(db));

    // A short last segment.
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let db = b.big_data(&vec![1u8; 20_000]);
    let vk = b.vk_raw("v", REG_BINARY, 2 * 16_344, db);
    b.values(root, &[vk]);
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive
        .root()
        .unwrap()
        .value("v")
        .unwrap()
        .unwrap()
        .raw_data()
        .unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::Truncated {
                structure: Structure::DataSegment,
                ..
            }
        ),
        "{e:?}"
    );

    // In a version 1.3 hive there is no big data: a "db" cell is read as plain data (and is
    // too short for the claimed size).
    let mut b = Builder::new();
    b.minor = 3;
    let root = b.nk("R", NONE);
    let db = b.big_data(&vec![1u8; 20_000]);
    let vk = b.vk_raw("v", REG_BINARY, 20_000, db);
    b.values(root, &[vk]);
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive
        .root()
        .unwrap()
        .value("v")
        .unwrap()
        .unwrap()
        .raw_data()
        .unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::Truncated {
                structure: Structure::ValueData,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn dirty_and_bad_checksum_are_anomalies() {
    let mut b = Builder::new();
    b.nk("R", NONE);
    b.seq = (10, 9);
    let hive = Hive::parse(b.finish()).unwrap();
    assert!(hive.info().dirty);
    assert!(hive.info().checksum_ok);
    let a = &hive.anomalies()[0];
    assert_eq!(
        (a.layer.as_str(), a.structure.as_str(), a.offset),
        ("regf", "base block", Some(0))
    );
    assert!(
        a.message
            .contains("primary sequence number 10 differs from secondary sequence number 9"),
        "{a}"
    );
    assert_eq!(a.kind, ErrorKind::Corrupt);
    assert_eq!(hive.root().unwrap().name(), "R");

    let mut b = Builder::new();
    b.nk("R", NONE);
    let mut file = b.finish();
    file[508] ^= 0x55;
    let hive = Hive::parse(file).unwrap();
    assert!(!hive.info().dirty);
    assert!(!hive.info().checksum_ok);
    assert_eq!(hive.anomalies().len(), 1);
    assert!(
        hive.anomalies()[0].message.starts_with("checksum 0x"),
        "{}",
        hive.anomalies()[0]
    );

    // Unknown minor version and file format: anomalies, still read.
    let mut b = Builder::new();
    b.nk("R", NONE);
    b.minor = 9;
    let mut file = b.finish();
    file[32] = 2;
    fix_checksum(&mut file);
    let hive = Hive::parse(file).unwrap();
    let msgs: Vec<String> = hive.anomalies().iter().map(|a| a.message.clone()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].contains("version 1.9"));
    assert!(msgs[1].contains("file format 2"));
    assert_eq!(hive.anomalies()[0].kind, ErrorKind::Unsupported);
}

#[test]
fn fatal_base_block_errors() {
    let e = Hive::parse(vec![0; 100]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "base block: file of 100 bytes is shorter than the 4096-byte base block"
    );
    assert_eq!(e.kind(), ErrorKind::Corrupt);

    let mut b = Builder::new();
    b.nk("R", NONE);
    let good = b.finish();

    let mut f = good.clone();
    f[0..4].copy_from_slice(b"regX");
    let e = Hive::parse(f).unwrap_err();
    assert_eq!(
        e.to_string(),
        "base block at file offset 0x0: signature \"regX\", expected \"regf\""
    );

    let mut f = good.clone();
    f[20] = 2;
    let e = Hive::parse(f).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(
        e.to_string(),
        "base block: hive format version 2.5 is not supported (expected 1.x)"
    );

    let mut f = good.clone();
    f[28] = 6; // a new-format transaction log
    let e = Hive::parse(f).unwrap_err();
    assert!(matches!(e, RegfError::NotPrimaryFile { file_type: 6 }));
    assert_eq!(e.kind(), ErrorKind::Unsupported);

    let mut f = good.clone();
    f[4096..4100].copy_from_slice(b"nibh");
    let e = Hive::parse(f).unwrap_err();
    assert_eq!(
        e.to_string(),
        "hbin at file offset 0x1000: signature \"nibh\", expected \"hbin\""
    );
    assert_eq!(e.file_offset(), Some(4096));

    let e = Hive::parse(good[..4096].to_vec()).unwrap_err();
    assert!(matches!(e, RegfError::BadFirstHbin { .. }), "{e:?}");
}

#[test]
fn truncated_file_and_bad_later_bins_are_anomalies() {
    let hive_bytes = tree();
    // Cut the file in the middle of the big value's bins.
    let cut = hive_bytes.len() - 8192;
    let hive = Hive::parse(hive_bytes[..cut].to_vec()).unwrap();
    let msgs: Vec<String> = hive.anomalies().iter().map(ToString::to_string).collect();
    assert!(
        msgs.iter().any(|m| m.contains("the file is truncated")),
        "{msgs:?}"
    );
    // Whatever is still reachable reads; what is not gives errors, never panics.
    let stats = hive.walk(|_, k| {
        for v in k.values().unwrap_or_default() {
            let _ = v.data();
        }
    });
    assert!(stats.unwrap().keys >= 1);

    // A later hbin with a bad signature.
    let mut f = tree();
    let second = 4096 + 4096;
    f[second..second + 4].copy_from_slice(b"XXXX");
    let hive = Hive::parse(f).unwrap();
    let a = hive
        .anomalies()
        .iter()
        .find(|a| a.structure == "hbin")
        .unwrap();
    assert_eq!(a.offset, Some(8192));
    assert!(
        a.message.contains("cells from here on are unreachable"),
        "{a}"
    );
    assert_eq!(hive.info().hbin_count, 1);
}

#[test]
fn offsets_past_the_end() {
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let k = b.nk("K", root);
    let list = b.leaf(b"lf", &[k]);
    b.set_subkeys(root, 1, list);
    // K's subkeys list and value list point past the hive bins.
    b.set_subkeys(k, 1, 0x10_0000);
    b.set_values(k, 1, 0x7FFF_FFF0);
    let v_far = b.vk_raw("far", REG_BINARY, 100, 0x20_0000);
    let root_vals = b.values(root, &[v_far]);
    let _ = root_vals;
    let hive = Hive::parse(b.finish()).unwrap();
    let k = hive.open("K").unwrap().unwrap();
    let e = k.subkeys().unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::OffsetOutOfRange {
                structure: Structure::SubkeyList,
                offset: 0x10_0000,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "subkeys list at cell offset 0x100000 (file offset 0x101000): offset is outside the cells of the hive bins data (4096 bytes)"
    );
    assert_eq!(e.file_offset(), Some(0x10_1000));
    let e = k.values().unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::OffsetOutOfRange {
                structure: Structure::ValueList,
                ..
            }
        ),
        "{e:?}"
    );
    let e = hive
        .root()
        .unwrap()
        .value("far")
        .unwrap()
        .unwrap()
        .data()
        .unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::OffsetOutOfRange {
                structure: Structure::ValueData,
                offset: 0x20_0000,
                ..
            }
        ),
        "{e:?}"
    );
    // An offset into the hbin header, and "no cell".
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    b.set_subkeys(root, 1, 8);
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert!(
        matches!(e, RegfError::OffsetOutOfRange { offset: 8, .. }),
        "{e:?}"
    );
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    b.set_subkeys(root, 1, NONE);
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert_eq!(
        e.to_string(),
        "subkeys list: required cell is missing (offset 0xffffffff)"
    );
    // Root cell out of range: parse succeeds (base block is fine), root() fails.
    let mut b = Builder::new();
    b.nk("R", NONE);
    b.root = 0x4000;
    let hive = Hive::parse(b.finish()).unwrap();
    assert!(matches!(
        hive.root().unwrap_err(),
        RegfError::OffsetOutOfRange {
            structure: Structure::Nk,
            ..
        }
    ));
    assert_eq!(hive.info().root_name, None);
    assert!(hive.open("x").is_err());
}

#[test]
fn bad_cells() {
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let k1 = b.nk("free", root);
    let k2 = b.nk("huge", root);
    let k3 = b.nk("notnk", root);
    let list = b.leaf(b"lh", &[k1, k2, k3]);
    b.set_subkeys(root, 3, list);
    b.put_size(k1, 96); // positive: a free cell
    b.put_size(k2, -0x10_0000); // runs past its hbin
    b.put_u16(k3, 0, u16::from_le_bytes(*b"vk"));
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "nk at cell offset {k1:#x} (file offset {:#x}): cell is not allocated (size field 96)",
            k1 + 4096
        )
    );
    // subkey() stops at the first bad child too: a corrupt list is an error, not "not found".
    assert!(hive.root().unwrap().subkey("huge").is_err());
    let lookup = |i: usize| {
        let mut b2 = Builder::new();
        let root = b2.nk("R", NONE);
        let k = b2.nk("K", root);
        let list = b2.leaf(b"lh", &[k]);
        b2.set_subkeys(root, 1, list);
        match i {
            0 => b2.put_size(k, -0x10_0000),
            1 => b2.put_u16(k, 0, u16::from_le_bytes(*b"vk")),
            2 => b2.put_size(k, -4),
            _ => b2.put_u16(k, 72, 500), // name longer than the cell
        }
        Hive::parse(b2.finish())
            .unwrap()
            .root()
            .unwrap()
            .subkeys()
            .unwrap_err()
    };
    let e = lookup(0);
    assert!(
        matches!(e, RegfError::BadCellSize { reason, .. } if reason.contains("crosses the end")),
        "{e:?}"
    );
    let e = lookup(1);
    assert!(
        e.to_string().contains("signature \"vk\", expected \"nk\""),
        "{e}"
    );
    let e = lookup(2);
    assert!(matches!(e, RegfError::BadCellSize { size: 4, .. }), "{e:?}");
    let e = lookup(3);
    assert!(
        matches!(
            e,
            RegfError::Truncated {
                structure: Structure::Nk,
                needed: 576,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn cycles_are_errors() {
    // A key that lists itself.
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let list = b.leaf(b"lf", &[root]);
    b.set_subkeys(root, 1, list);
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert!(
        matches!(e, RegfError::Cycle { target, .. } if target == root),
        "{e:?}"
    );

    // A child listing its parent: the parent's parent field names someone else.
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let kids = b.children(root, b"lf", &["A"]);
    let back = b.leaf(b"lf", &[root]);
    b.set_subkeys(kids[0], 1, back);
    let hive = Hive::parse(b.finish()).unwrap();
    let a = hive.open("A").unwrap().unwrap();
    let e = a.subkeys().unwrap_err();
    assert!(matches!(e, RegfError::ParentMismatch { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("differs from the key listing it, {:#x}", kids[0])),
        "{e}"
    );

    // Duplicate entries in one list.
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let a = b.nk("A", root);
    let list = b.leaf(b"lh", &[a, a]);
    b.set_subkeys(root, 2, list);
    let hive = Hive::parse(b.finish()).unwrap();
    assert!(matches!(
        hive.root().unwrap().subkeys().unwrap_err(),
        RegfError::Cycle { .. }
    ));

    // An index root that points to itself, and one that lists the same leaf twice.
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let ri = b.leaf(b"ri", &[0]);
    b.put_u32(ri, 4, ri);
    b.set_subkeys(root, 5, ri);
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::Cycle {
                structure: Structure::Ri,
                ..
            }
        ),
        "{e:?}"
    );
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let a = b.nk("A", root);
    let leaf = b.leaf(b"li", &[a]);
    let ri = b.ri(&[leaf, leaf]);
    b.set_subkeys(root, 2, ri);
    let hive = Hive::parse(b.finish()).unwrap();
    assert!(matches!(
        hive.root().unwrap().subkeys().unwrap_err(),
        RegfError::Cycle { .. }
    ));

    // Index roots nested deeper than the limit (each a distinct cell).
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let a = b.nk("A", root);
    let mut list = b.leaf(b"lf", &[a]);
    for _ in 0..MAX_LIST_NESTING {
        list = b.ri(&[list]);
    }
    b.set_subkeys(root, 1, list);
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert!(matches!(e, RegfError::NestingTooDeep { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
}

#[test]
fn self_parented_loop_is_bounded() {
    // R → A → R where R's parent field names A: each hop passes the parent check, so only the
    // walk's visited set and the depth limit stop it.
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let kids = b.children(root, b"lf", &["A"]);
    let back = b.leaf(b"lf", &[root]);
    b.set_subkeys(kids[0], 1, back);
    b.set_parent(root, kids[0]);
    let hive = Hive::parse(b.finish()).unwrap();
    let stats = hive.walk(|_, _| {}).unwrap();
    assert_eq!(stats.keys, 2);
    assert_eq!(stats.error_count, 1);
    assert!(matches!(stats.errors[0], RegfError::Cycle { target, .. } if target == root));

    // A naive recursive walker ends with KeyTooDeep.
    fn recurse(k: &crate::Key<'_>, n: &mut u32) -> Result<(), RegfError> {
        *n += 1;
        for c in k.subkeys()? {
            recurse(&c, n)?;
        }
        Ok(())
    }
    let mut n = 0;
    let e = recurse(&hive.root().unwrap(), &mut n).unwrap_err();
    assert!(matches!(e, RegfError::KeyTooDeep { .. }), "{e:?}");
    assert_eq!(n, MAX_KEY_DEPTH + 1);
    // open() refuses paths deeper than the limit.
    let deep: Vec<&str> = (0..=MAX_KEY_DEPTH)
        .map(|i| if i % 2 == 0 { "A" } else { "r" })
        .collect();
    let deep = deep.join("\\");
    assert!(matches!(
        hive.open(&deep).unwrap_err(),
        RegfError::KeyTooDeep { .. }
    ));
}

#[test]
fn absurd_counts() {
    let make = |f: &dyn Fn(&mut Builder, u32, u32)| {
        let mut b = Builder::new();
        let root = b.nk("R", NONE);
        let a = b.nk("A", root);
        f(&mut b, root, a);
        Hive::parse(b.finish()).unwrap()
    };
    // Subkey count far beyond the limit: refused before any allocation.
    let hive = make(&|b, root, a| {
        let l = b.leaf(b"lf", &[a]);
        b.set_subkeys(root, u32::MAX, l);
    });
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::LimitExceeded {
                what: "subkey count",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(e.to_string().starts_with("nk at cell offset 0x20 (file offset 0x1020): subkey count of 4294967295 exceeds the limit"), "{e}");
    // Count larger than the list.
    let hive = make(&|b, root, a| {
        let l = b.leaf(b"lf", &[a]);
        b.set_subkeys(root, 5, l);
    });
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::CountMismatch {
                expected: 5,
                found: 1,
                ..
            }
        ),
        "{e:?}"
    );
    // List longer than the count.
    let hive = make(&|b, root, a| {
        let a2 = b.nk("A2", root);
        let l = b.leaf(b"lf", &[a, a2]);
        b.set_subkeys(root, 1, l);
    });
    assert!(matches!(
        hive.root().unwrap().subkeys().unwrap_err(),
        RegfError::CountMismatch {
            structure: Structure::Lf,
            ..
        }
    ));
    // A list claiming 60,000 elements in a small cell.
    let hive = make(&|b, root, a| {
        let l = b.leaf(b"lh", &[a]);
        b.put_u16(l, 2, 60_000);
        b.set_subkeys(root, 60_000, l);
    });
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::Truncated {
                structure: Structure::Lh,
                needed: 480_004,
                ..
            }
        ),
        "{e:?}"
    );
    // An unknown list signature.
    let hive = make(&|b, root, a| {
        let l = b.leaf(b"zz", &[a]);
        b.set_subkeys(root, 1, l);
    });
    let e = hive.root().unwrap().subkeys().unwrap_err();
    assert!(
        e.to_string()
            .contains("signature \"zz\", expected \"lf\", \"lh\", \"li\" or \"ri\""),
        "{e}"
    );
    // Value count beyond the limit, and beyond its list.
    let hive = make(&|b, root, _| b.set_values(root, u32::MAX, 0x20));
    assert!(matches!(
        hive.root().unwrap().values().unwrap_err(),
        RegfError::LimitExceeded {
            what: "value count",
            ..
        }
    ));
    let hive = make(&|b, root, _| {
        let v = b.vk("v", REG_DWORD, &[1, 0, 0, 0]);
        b.values(root, &[v]);
        b.put_u32(root, 36, 1000);
    });
    assert!(matches!(
        hive.root().unwrap().values().unwrap_err(),
        RegfError::Truncated {
            structure: Structure::ValueList,
            ..
        }
    ));
    assert!(hive.root().unwrap().value("v").is_err());
    // Data size beyond the limit, and inline data longer than 4 bytes.
    let hive = make(&|b, root, _| {
        let v1 = b.vk_raw("huge", REG_BINARY, 0x7FFF_FFFF, 0x20);
        let v2 = b.vk_raw("inline", REG_BINARY, 0x8000_0007, 0);
        b.values(root, &[v1, v2]);
    });
    let r = hive.root().unwrap();
    let e = r.value("huge").unwrap().unwrap().data().unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::LimitExceeded {
                what: "data size",
                ..
            }
        ),
        "{e:?}"
    );
    let e = r.value("inline").unwrap().unwrap().data().unwrap_err();
    assert!(
        e.to_string()
            .contains("inline data is 7 bytes, expected at most 4 bytes"),
        "{e}"
    );
    // A predefined-handle key: the value count is a handle, not a count.
    let hive = make(&|b, root, _| {
        b.put_u16(root, 2, 0x2C | 0x40);
        b.set_values(root, 0xDEAD, NONE);
    });
    assert!(hive.root().unwrap().values().unwrap().is_empty());
}

#[test]
fn class_names() {
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let class = b.alloc(&u16s("Shell"));
    b.put_u32(root, 48, class);
    b.put_u16(root, 74, 10);
    let hive = Hive::parse(b.finish()).unwrap();
    assert_eq!(
        hive.root().unwrap().class_name().unwrap().as_deref(),
        Some("Shell")
    );
    let mut b = Builder::new();
    let root = b.nk("R", NONE);
    let class = b.alloc(&u16s("Shell"));
    b.put_u32(root, 48, class);
    b.put_u16(root, 74, 400);
    let hive = Hive::parse(b.finish()).unwrap();
    let e = hive.root().unwrap().class_name().unwrap_err();
    assert!(
        matches!(
            e,
            RegfError::Truncated {
                structure: Structure::ClassName,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn walk_visits_every_key_in_order() {
    let hive = Hive::parse(tree()).unwrap();
    let mut paths = Vec::new();
    let stats = hive.walk(|p, _| paths.push(p.to_string())).unwrap();
    assert_eq!(
        paths,
        [
            "",
            "A",
            "A\\A1",
            "A\\A2",
            "B",
            "B\\B1",
            "C",
            "C\\C1",
            "C\\c2",
            "C\\C3",
            "Ωmega Ключ"
        ]
    );
    assert_eq!(stats.keys, 11);
    assert_eq!(stats.error_count, 0);
}

/// xorshift64*: a deterministic generator for the mutation test.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Read everything reachable: the same work a fuzz target does.
fn exercise(data: Vec<u8>) {
    let Ok(hive) = Hive::parse(data) else { return };
    let _ = hive.info();
    let _ = hive.open("C\\C2");
    let _ = hive.open("ωmega ключ");
    let _ = hive.walk(|_, k| {
        let _ = k.name();
        let _ = k.class_name();
        let _ = k.subkey("a2");
        if let Ok(values) = k.values() {
            for v in values {
                let _ = v.name();
                let _ = v.data();
            }
        }
        let _ = k.value("");
    });
}

#[test]
fn mutations_never_panic_or_hang() {
    let good = tree();
    let start = std::time::Instant::now();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    // Byte flips biased to the base block and the first bin, where the structure is.
    for _ in 0..3000 {
        let mut f = good.clone();
        let n = 1 + rng.next() % 8;
        for _ in 0..n {
            let range = if rng.next() % 2 == 0 { 8192 } else { f.len() };
            let at = (rng.next() % range as u64) as usize;
            f[at] = rng.next() as u8;
        }
        if rng.next() % 2 == 0 {
            fix_checksum(&mut f);
        }
        exercise(f);
    }
    // Every truncation at 512-byte steps, and 32-bit fields set to extreme values.
    for cut in (0..good.len()).step_by(512) {
        exercise(good[..cut].to_vec());
    }
    for at in (4096..8192).step_by(4) {
        for v in [0u32, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x20] {
            let mut f = good.clone();
            f[at..at + 4].copy_from_slice(&v.to_le_bytes());
            exercise(f);
        }
    }
    assert!(
        start.elapsed().as_secs() < 120,
        "took {:?}",
        start.elapsed()
    );
}

/// Parse + full walk of a synthetic hive: 20,000 keys under 20 parents (lh lists of 1,000),
/// 4 values each (~10 MB), timed. (With 50 parents, a 24 MB hive, a release build took 0.44 s.)
#[test]
fn large_synthetic_hive_walk_time() {
    let mut b = Builder::new();
    let root = b.nk("ROOT", NONE);
    let parents: Vec<String> = (0..20).map(|i| format!("Parent{i:02}")).collect();
    let refs: Vec<&str> = parents.iter().map(String::as_str).collect();
    let tops = b.children(root, b"lh", &refs);
    for &top in &tops {
        let names: Vec<String> = (0..1000).map(|i| format!("Key{i:04}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        for k in b.children(top, b"lh", &refs) {
            let vals = [
                b.vk(
                    "DisplayName",
                    REG_SZ,
                    &u16s("Some installed program name\0"),
                ),
                b.vk("Start", REG_DWORD, &3u32.to_le_bytes()),
                b.vk(
                    "ImagePath",
                    REG_EXPAND_SZ,
                    &u16s("%SystemRoot%\\system32\\drivers\\x.sys\0"),
                ),
                b.vk("Blob", REG_BINARY, &[7u8; 64]),
            ];
            b.values(k, &vals);
        }
    }
    let file = b.finish();
    let size = file.len();
    let start = std::time::Instant::now();
    let hive = Hive::parse(file).unwrap();
    let mut values = 0u64;
    let stats = hive
        .walk(|_, k| {
            for v in k.values().unwrap() {
                let _ = v.name();
                v.data().unwrap();
                values += 1;
            }
        })
        .unwrap();
    let walk = start.elapsed();
    let lookup_start = std::time::Instant::now();
    let found = hive.open("parent19\\KEY0999").unwrap().unwrap();
    let lookup = lookup_start.elapsed();
    eprintln!(
        "synthetic hive of {size} bytes: parse + walk of {} keys and {values} values in {walk:?}; \
         one lookup in a 1,000-key list in {lookup:?}",
        stats.keys
    );
    assert_eq!(found.name(), "Key0999");
    assert_eq!((stats.keys, values, stats.error_count), (20_021, 80_000, 0));
    assert!(walk.as_secs() < 60, "{walk:?}");
}
