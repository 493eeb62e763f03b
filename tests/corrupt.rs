//! Corrupt-input table test: mutated copies of the committed container fixtures (truncated
//! inside headers and tables, magic changed, table entries pointing past the end of the file,
//! absurd size fields, backing-file loops and escapes) must never crash, hang or exhaust memory.
//!
//! Every mutation is derived deterministically from `testdata/containers` (no randomness). Each
//! case runs `imgcheck info --json` and `imgcheck export -o -` with a 20 s limit and a cap on the
//! output; the exit status must be 0 or 2, never a signal or a panic (101); a failure (2) must
//! name the format and a position on stderr; and each case's own expectation must hold (see
//! [`Expect`]).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::too_many_arguments
)]

mod common;

use common::{imgcheck, FixtureSet, RunOutput};
use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

/// What a case must produce beyond "exit 0 or 2, no crash, failures name format and offset".
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Nothing more (e.g. magic destroyed: the file is legitimately raw).
    Any,
    /// The damage is reported: info fails, or succeeds with an anomaly or the corrupt flag.
    Detect,
    /// [`Expect::Detect`], and export fails (data the disk needs is unreachable or undecodable).
    ExportFails,
    /// A redundant copy (VHDX header/region table, GPT backup) covers the damage: info succeeds
    /// and export still yields the original disk.
    StillReads,
    /// GPT primary damaged: info succeeds with an anomaly and the 4 partitions from the backup.
    GptBackup,
    /// With `--follow-backing`, a backing reference that must not be opened (escape, loop):
    /// refused with exit 2 naming the backing file, or reported as not followed with an anomaly;
    /// and nothing outside the case directory is read.
    NotFollowed,
    /// qcow2 dirty bit: info reports `image.dirty == true`; export still yields the disk.
    Dirty,
    /// qcow2 corrupt bit: info reports `image.corrupt == true` or refuses the image.
    CorruptFlag,
}

/// One mutated image (with any companion files) and what it must yield.
struct Case {
    name: String,
    /// Files to write, relative to the case directory.
    files: Vec<(String, Vec<u8>)>,
    /// The file to open, relative to the case directory.
    image: String,
    follow_backing: bool,
    expect: Expect,
    /// Words one of which a failure message must contain (format / layer names); empty = any.
    names: &'static [&'static str],
    /// SHA-256 of the intact disk, for [`Expect::StillReads`] and [`Expect::Dirty`].
    intact_sha256: String,
    /// A failure message must give a position (a number other than in the paths). False for
    /// errors about a referenced file (backing file, VMDK extent), which name that file instead.
    needs_position: bool,
}

// --- byte helpers -----------------------------------------------------------------------------

fn get_u32_be(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes(b[o..o + 4].try_into().unwrap())
}
fn get_u64_be(b: &[u8], o: usize) -> u64 {
    u64::from_be_bytes(b[o..o + 8].try_into().unwrap())
}
fn get_u16_le(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn get_u32_le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn get_u64_le(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}
fn put(b: &mut [u8], o: usize, v: &[u8]) {
    b[o..o + v.len()].copy_from_slice(v);
}
fn flip(b: &mut [u8], o: usize) {
    b[o] ^= 0xff;
}

/// A GUID's on-disk bytes (first three groups little-endian, as GPT/VHDX store them).
fn guid_bytes(s: &str) -> [u8; 16] {
    let h: String = s.chars().filter(|c| *c != '-').collect();
    let mut raw = [0u8; 16];
    for (i, r) in raw.iter_mut().enumerate() {
        *r = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap();
    }
    raw[0..4].reverse();
    raw[4..6].reverse();
    raw[6..8].reverse();
    raw
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// CRC-32 (IEEE, as GPT uses) via flate2.
fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

/// VHD footer / dynamic-header checksum: one's complement of the byte sum, field zeroed.
fn vhd_fix_checksum(b: &mut [u8], start: usize, len: usize, field: usize) {
    put(b, start + field, &[0; 4]);
    let sum = b[start..start + len]
        .iter()
        .fold(0u32, |a, &x| a.wrapping_add(u32::from(x)));
    put(b, start + field, &(!sum).to_be_bytes());
}

/// Recomputes a GPT header's CRC (header at byte `at`, 512-byte sectors).
fn gpt_fix_header_crc(b: &mut [u8], at: usize) {
    let size = get_u32_le(b, at + 12) as usize;
    put(b, at + 16, &[0; 4]);
    let crc = crc32(&b[at..at + size.min(512)]);
    put(b, at + 16, &crc.to_le_bytes());
}

/// Recomputes the primary GPT's entry-array CRC and then its header CRC.
fn gpt_fix_crcs(b: &mut [u8]) {
    let h = 512;
    let entries = get_u64_le(b, h + 72) as usize * 512;
    let n = get_u32_le(b, h + 80) as usize;
    let sz = get_u32_le(b, h + 84) as usize;
    let crc = crc32(&b[entries..entries + n * sz]);
    put(b, h + 88, &crc.to_le_bytes());
    gpt_fix_header_crc(b, h);
}

// --- case builders ----------------------------------------------------------------------------

struct Builder {
    cases: Vec<Case>,
}

impl Builder {
    fn add(
        &mut self,
        name: &str,
        image: &str,
        data: Vec<u8>,
        expect: Expect,
        names: &'static [&'static str],
        intact: &str,
    ) {
        self.cases.push(Case {
            name: name.to_owned(),
            files: vec![(image.to_owned(), data)],
            image: image.to_owned(),
            follow_backing: false,
            expect,
            names,
            intact_sha256: intact.to_owned(),
            needs_position: true,
        });
    }

    /// Adds a mutated copy of `orig` made by `f`.
    fn mutate(
        &mut self,
        name: &str,
        image: &str,
        orig: &[u8],
        expect: Expect,
        names: &'static [&'static str],
        intact: &str,
        f: impl FnOnce(&mut Vec<u8>),
    ) {
        let mut d = orig.to_vec();
        f(&mut d);
        self.add(name, image, d, expect, names, intact);
    }

    /// Adds truncated copies at each offset.
    fn truncations(
        &mut self,
        prefix: &str,
        image: &str,
        orig: &[u8],
        offsets: &[(usize, Expect)],
        names: &'static [&'static str],
    ) {
        for &(off, expect) in offsets {
            let off = off.min(orig.len());
            self.add(
                &format!("{prefix}-truncated-at-{off}"),
                image,
                orig[..off].to_vec(),
                expect,
                // A file cut inside its magic is legitimately something else.
                if off < 8 { &[] } else { names },
                "",
            );
            if let Some(c) = self.cases.last_mut() {
                c.needs_position = off >= 8;
            }
        }
    }
}

const QCOW2: &[&str] = &["qcow2"];
const VHD: &[&str] = &["vhd", "vpc"];
const VHDX: &[&str] = &["vhdx"];
const VMDK: &[&str] = &["vmdk"];
const GPT: &[&str] = &["gpt", "partition"];
const MBR: &[&str] = &["mbr", "ebr", "partition", "extended"];
const BACKING: &[&str] = &["backing", "qcow2"];

/// qcow2 header field offsets (QEMU docs/interop/qcow2.txt).
mod q {
    pub const BACKING_OFFSET: usize = 8;
    pub const BACKING_SIZE: usize = 16;
    pub const CLUSTER_BITS: usize = 20;
    pub const SIZE: usize = 24;
    pub const L1_SIZE: usize = 36;
    pub const L1_OFFSET: usize = 40;
    pub const REFCOUNT_OFFSET: usize = 48;
    pub const NB_SNAPSHOTS: usize = 60;
    pub const SNAPSHOTS_OFFSET: usize = 64;
    pub const INCOMPAT: usize = 72;
    pub const HEADER_LENGTH: usize = 100;
    /// Mask of the host offset in L1/L2 entries.
    pub const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
    /// "copied" flag of L1/L2 entries.
    pub const COPIED: u64 = 1 << 63;
}

fn qcow2_cases(b: &mut Builder, orig: &[u8], intact: &str) {
    let img = "image";
    let l1 = get_u64_be(orig, q::L1_OFFSET) as usize;
    let l2 = (get_u64_be(orig, l1) & q::OFFSET_MASK) as usize;
    let past_eof = (1u64 << 40) | q::COPIED;
    b.mutate("qcow2-magic", img, orig, Expect::Any, QCOW2, intact, |d| {
        flip(d, 0)
    });
    b.mutate(
        "qcow2-version-99",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| put(d, 4, &99u32.to_be_bytes()),
    );
    for bits in [0u32, 8, 31, 63, 0xffff_ffff] {
        b.mutate(
            &format!("qcow2-cluster-bits-{bits}"),
            img,
            orig,
            Expect::Detect,
            QCOW2,
            intact,
            |d| put(d, q::CLUSTER_BITS, &bits.to_be_bytes()),
        );
    }
    b.mutate(
        "qcow2-size-max",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| put(d, q::SIZE, &u64::MAX.to_be_bytes()),
    );
    b.mutate(
        "qcow2-size-2p50-l1-too-small",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| put(d, q::SIZE, &(1u64 << 50).to_be_bytes()),
    );
    b.mutate(
        "qcow2-l1-size-max",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| put(d, q::L1_SIZE, &u32::MAX.to_be_bytes()),
    );
    b.mutate(
        "qcow2-l1-offset-past-eof",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| put(d, q::L1_OFFSET, &(1u64 << 40).to_be_bytes()),
    );
    b.mutate(
        "qcow2-l1-offset-unaligned",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| put(d, q::L1_OFFSET, &(l1 as u64 + 3).to_be_bytes()),
    );
    b.mutate(
        "qcow2-l1-entry-past-eof",
        img,
        orig,
        Expect::ExportFails,
        QCOW2,
        intact,
        |d| put(d, l1, &past_eof.to_be_bytes()),
    );
    b.mutate(
        "qcow2-l2-entry-past-eof",
        img,
        orig,
        Expect::ExportFails,
        QCOW2,
        intact,
        |d| put(d, l2, &past_eof.to_be_bytes()),
    );
    b.mutate(
        "qcow2-l2-entry-aliases-header",
        img,
        orig,
        Expect::Any,
        QCOW2,
        intact,
        |d| put(d, l2, &q::COPIED.to_be_bytes()),
    );
    b.mutate(
        "qcow2-unknown-incompatible-feature",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| put(d, q::INCOMPAT, &(1u64 << 40).to_be_bytes()),
    );
    b.mutate(
        "qcow2-dirty-bit",
        img,
        orig,
        Expect::Dirty,
        QCOW2,
        intact,
        |d| put(d, q::INCOMPAT, &1u64.to_be_bytes()),
    );
    b.mutate(
        "qcow2-corrupt-bit",
        img,
        orig,
        Expect::CorruptFlag,
        QCOW2,
        intact,
        |d| put(d, q::INCOMPAT, &2u64.to_be_bytes()),
    );
    b.mutate(
        "qcow2-header-length-max",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| put(d, q::HEADER_LENGTH, &u32::MAX.to_be_bytes()),
    );
    b.mutate(
        "qcow2-snapshots-absurd",
        img,
        orig,
        Expect::Any,
        QCOW2,
        intact,
        |d| {
            put(d, q::NB_SNAPSHOTS, &u32::MAX.to_be_bytes());
            put(d, q::SNAPSHOTS_OFFSET, &(1u64 << 40).to_be_bytes());
        },
    );
    b.mutate(
        "qcow2-refcount-table-past-eof",
        img,
        orig,
        Expect::Any,
        QCOW2,
        intact,
        |d| put(d, q::REFCOUNT_OFFSET, &(1u64 << 40).to_be_bytes()),
    );
    b.mutate(
        "qcow2-backing-size-max",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| {
            put(d, q::BACKING_OFFSET, &512u64.to_be_bytes());
            put(d, q::BACKING_SIZE, &u32::MAX.to_be_bytes());
        },
    );
    b.mutate(
        "qcow2-backing-offset-past-eof",
        img,
        orig,
        Expect::Detect,
        QCOW2,
        intact,
        |d| {
            put(d, q::BACKING_OFFSET, &(1u64 << 40).to_be_bytes());
            put(d, q::BACKING_SIZE, &16u32.to_be_bytes());
        },
    );
    let n = orig.len();
    b.truncations(
        "qcow2",
        img,
        orig,
        &[
            (0, Expect::Any),
            (3, Expect::Any),
            (50, Expect::Detect),
            (104, Expect::Detect),
            (l1 + 4, Expect::Detect),
            (l2 + 4, Expect::ExportFails),
            (n / 2, Expect::ExportFails),
            // qemu reads the missing last byte (a zero) as zero: nothing to demand.
            (n - 1, Expect::Any),
        ],
        QCOW2,
    );
}

fn qcow2_compressed_cases(b: &mut Builder, orig: &[u8], tag: &str, intact: &str) {
    let img = "image";
    let l1 = get_u64_be(orig, q::L1_OFFSET) as usize;
    let l2 = (get_u64_be(orig, l1) & q::OFFSET_MASK) as usize;
    let cluster_bits = get_u32_be(orig, q::CLUSTER_BITS);
    let entry = get_u64_be(orig, l2);
    assert!(
        entry & (1 << 62) != 0,
        "{tag}: first cluster is not compressed"
    );
    let offset_bits = 62 - (cluster_bits - 8);
    let offset_mask = (1u64 << offset_bits) - 1;
    let data_at = (entry & offset_mask) as usize;
    b.mutate(
        &format!("{tag}-compressed-offset-past-eof"),
        img,
        orig,
        Expect::ExportFails,
        QCOW2,
        intact,
        |d| {
            put(
                d,
                l2,
                &((entry & !offset_mask) | (offset_mask & !511)).to_be_bytes(),
            )
        },
    );
    b.mutate(
        &format!("{tag}-compressed-data-garbage"),
        img,
        orig,
        Expect::ExportFails,
        QCOW2,
        intact,
        |d| {
            // 0xff: a deflate block of reserved type 3, and not a zstd frame magic.
            put(d, data_at, &[0xff; 64])
        },
    );
    b.mutate(
        &format!("{tag}-compressed-size-field-max"),
        img,
        orig,
        Expect::Any,
        QCOW2,
        intact,
        |d| {
            put(
                d,
                l2,
                &(entry | ((1u64 << 62) - 1) & !offset_mask).to_be_bytes(),
            )
        },
    );
}

/// Rewrites a qcow2 overlay's backing file name (and, if given, its backing-format extension).
fn set_backing(orig: &[u8], name: &str, format: Option<&str>) -> Vec<u8> {
    let mut d = orig.to_vec();
    let off = get_u64_be(&d, q::BACKING_OFFSET) as usize;
    assert!(off > 0, "overlay has no backing name");
    put(&mut d, off, name.as_bytes());
    put(&mut d, q::BACKING_SIZE, &(name.len() as u32).to_be_bytes());
    if let Some(fmt) = format {
        // Backing-format header extension: type 0xE2792ACA, length, name padded to 8.
        let ext = find(&d[..off], &0xE279_2ACAu32.to_be_bytes()).expect("backing format ext");
        let old_len = get_u32_be(&d, ext + 4) as usize;
        assert!(fmt.len() <= old_len.next_multiple_of(8));
        put(&mut d, ext + 4, &(fmt.len() as u32).to_be_bytes());
        put(&mut d, ext + 8, &vec![0u8; old_len.next_multiple_of(8)]);
        put(&mut d, ext + 8, fmt.as_bytes());
    }
    d
}

fn backing_cases(b: &mut Builder, overlay: &[u8], base: &[u8], base_name: &str) {
    let case = |name: &str, files: Vec<(String, Vec<u8>)>, image: &str, expect, names| Case {
        name: name.to_owned(),
        files,
        image: image.to_owned(),
        follow_backing: true,
        expect,
        names,
        intact_sha256: String::new(),
        needs_position: false,
    };
    b.cases.push(case(
        "backing-self-loop",
        vec![(
            "self.qcow2".into(),
            set_backing(overlay, "self.qcow2", None),
        )],
        "self.qcow2",
        Expect::NotFollowed,
        BACKING,
    ));
    b.cases.push(case(
        "backing-two-file-loop",
        vec![
            ("a.qcow2".into(), set_backing(overlay, "b.qcow2", None)),
            ("b.qcow2".into(), set_backing(overlay, "a.qcow2", None)),
        ],
        "a.qcow2",
        Expect::Detect,
        BACKING,
    ));
    // The escape target exists and is a valid base: following it would succeed silently.
    b.cases.push(case(
        "backing-relative-escape",
        vec![
            ("base.qcow2".into(), base.to_vec()),
            (
                "a/b/ov.qcow2".into(),
                set_backing(overlay, "../../base.qcow2", None),
            ),
        ],
        "a/b/ov.qcow2",
        Expect::NotFollowed,
        BACKING,
    ));
    b.cases.push(case(
        "backing-relative-escape-x",
        vec![(
            "ov.qcow2".into(),
            set_backing(overlay, "../../x", Some("raw")),
        )],
        "ov.qcow2",
        Expect::NotFollowed,
        BACKING,
    ));
    b.cases.push(case(
        "backing-absolute-etc-passwd",
        vec![(
            "ov.qcow2".into(),
            set_backing(overlay, "/etc/passwd", Some("raw")),
        )],
        "ov.qcow2",
        Expect::NotFollowed,
        BACKING,
    ));
    b.cases.push(case(
        "backing-missing",
        vec![("ov.qcow2".into(), overlay.to_vec())],
        "ov.qcow2",
        Expect::Detect,
        BACKING,
    ));
    // A chain of 40 overlays over the base: depth-limited or followed, but finishes in time.
    let mut files = vec![(base_name.to_owned(), base.to_vec())];
    for i in 0..40 {
        let parent = if i == 0 {
            base_name.to_owned()
        } else {
            format!("chain-{:02}.qcow2", i - 1)
        };
        files.push((
            format!("chain-{i:02}.qcow2"),
            set_backing(overlay, &parent, None),
        ));
    }
    b.cases.push(case(
        "backing-chain-40-deep",
        files,
        "chain-39.qcow2",
        Expect::Any,
        BACKING,
    ));
}

/// VHD footer (at the end, copied at 0) and dynamic header offsets (Microsoft VHD spec 1.0).
fn vhd_cases(b: &mut Builder, orig: &[u8], intact: &str) {
    let img = "image";
    let n = orig.len();
    let foot = n - 512;
    let dyn_at = get_u64_be(orig, foot + 16) as usize;
    let bat = get_u64_be(orig, dyn_at + 16) as usize;
    let both_footers = |d: &mut Vec<u8>, f: &dyn Fn(&mut Vec<u8>, usize)| {
        for at in [0, foot] {
            f(d, at);
            vhd_fix_checksum(d, at, 512, 64);
        }
    };
    b.mutate(
        "vhd-footer-cookie",
        img,
        orig,
        Expect::Any,
        VHD,
        intact,
        |d| flip(d, foot),
    );
    b.mutate(
        "vhd-footer-checksum-both",
        img,
        orig,
        Expect::Detect,
        VHD,
        intact,
        |d| {
            flip(d, 64 + 3);
            flip(d, foot + 64 + 3);
        },
    );
    b.mutate(
        "vhd-current-size-max",
        img,
        orig,
        Expect::Detect,
        VHD,
        intact,
        |d| both_footers(d, &|d, at| put(d, at + 48, &u64::MAX.to_be_bytes())),
    );
    b.mutate(
        "vhd-disk-type-99",
        img,
        orig,
        Expect::Detect,
        VHD,
        intact,
        |d| both_footers(d, &|d, at| put(d, at + 60, &99u32.to_be_bytes())),
    );
    b.mutate(
        "vhd-data-offset-past-eof",
        img,
        orig,
        Expect::Detect,
        VHD,
        intact,
        |d| both_footers(d, &|d, at| put(d, at + 16, &(1u64 << 40).to_be_bytes())),
    );
    let dyn_fix = |d: &mut Vec<u8>, field: usize, v: &[u8]| {
        put(d, dyn_at + field, v);
        vhd_fix_checksum(d, dyn_at, 1024, 36);
    };
    b.mutate(
        "vhd-max-table-entries-max",
        img,
        orig,
        Expect::Detect,
        VHD,
        intact,
        |d| dyn_fix(d, 28, &u32::MAX.to_be_bytes()),
    );
    b.mutate(
        "vhd-block-size-0",
        img,
        orig,
        Expect::Detect,
        VHD,
        intact,
        |d| dyn_fix(d, 32, &0u32.to_be_bytes()),
    );
    b.mutate(
        "vhd-block-size-3",
        img,
        orig,
        Expect::Detect,
        VHD,
        intact,
        |d| dyn_fix(d, 32, &3u32.to_be_bytes()),
    );
    b.mutate(
        "vhd-block-size-2g",
        img,
        orig,
        Expect::Any,
        VHD,
        intact,
        |d| dyn_fix(d, 32, &0x8000_0000u32.to_be_bytes()),
    );
    b.mutate(
        "vhd-table-offset-past-eof",
        img,
        orig,
        Expect::Detect,
        VHD,
        intact,
        |d| dyn_fix(d, 16, &(1u64 << 40).to_be_bytes()),
    );
    b.mutate(
        "vhd-dyn-header-checksum",
        img,
        orig,
        Expect::Detect,
        VHD,
        intact,
        |d| flip(d, dyn_at + 36),
    );
    b.mutate(
        "vhd-bat-entry-past-eof",
        img,
        orig,
        Expect::ExportFails,
        VHD,
        intact,
        |d| put(d, bat, &0x7fff_fff0u32.to_be_bytes()),
    );
    b.truncations(
        "vhd",
        img,
        orig,
        &[
            (n - 200, Expect::Detect),
            (dyn_at + 100, Expect::Detect),
            (bat + 2, Expect::Detect),
            (n / 2, Expect::ExportFails),
        ],
        VHD,
    );
}

/// VHDX: headers at 64/128 KiB, region tables at 192/256 KiB (MS-VHDX).
fn vhdx_cases(b: &mut Builder, orig: &[u8], intact: &str) {
    let img = "image";
    const HEADER1: usize = 64 * 1024;
    const HEADER2: usize = 128 * 1024;
    const REGION1: usize = 192 * 1024;
    const REGION2: usize = 256 * 1024;
    let region = |guid: &str| -> (usize, usize) {
        let g = guid_bytes(guid);
        let count = get_u32_le(orig, REGION1 + 8) as usize;
        (0..count)
            .map(|i| REGION1 + 16 + 32 * i)
            .find(|&e| orig[e..e + 16] == g)
            .map(|e| {
                (
                    get_u64_le(orig, e + 16) as usize,
                    get_u32_le(orig, e + 24) as usize,
                )
            })
            .unwrap_or_else(|| panic!("vhdx region {guid} not found"))
    };
    let (bat, _) = region("2DC27766-F623-4200-9D64-115E9BFD4A08");
    let (meta, _) = region("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    assert_eq!(&orig[meta..meta + 8], b"metadata");
    let item = |guid: &str| -> usize {
        let g = guid_bytes(guid);
        let count = get_u16_le(orig, meta + 10) as usize;
        (0..count)
            .map(|i| meta + 32 + 32 * i)
            .find(|&e| orig[e..e + 16] == g)
            .map(|e| meta + get_u32_le(orig, e + 16) as usize)
            .unwrap_or_else(|| panic!("vhdx metadata item {guid} not found"))
    };
    let vsize = item("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    let bsize = item("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    let lss = item("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    b.mutate(
        "vhdx-file-identifier",
        img,
        orig,
        Expect::Any,
        VHDX,
        intact,
        |d| flip(d, 0),
    );
    b.mutate(
        "vhdx-header1-damaged",
        img,
        orig,
        Expect::StillReads,
        VHDX,
        intact,
        |d| flip(d, HEADER1 + 40),
    );
    b.mutate(
        "vhdx-header2-damaged",
        img,
        orig,
        Expect::StillReads,
        VHDX,
        intact,
        |d| flip(d, HEADER2 + 40),
    );
    b.mutate(
        "vhdx-both-headers-damaged",
        img,
        orig,
        Expect::Detect,
        VHDX,
        intact,
        |d| {
            flip(d, HEADER1);
            flip(d, HEADER2);
        },
    );
    b.mutate(
        "vhdx-region1-damaged",
        img,
        orig,
        Expect::StillReads,
        VHDX,
        intact,
        |d| flip(d, REGION1 + 20),
    );
    b.mutate(
        "vhdx-both-regions-damaged",
        img,
        orig,
        Expect::Detect,
        VHDX,
        intact,
        |d| {
            flip(d, REGION1 + 20);
            flip(d, REGION2 + 20);
        },
    );
    b.mutate(
        "vhdx-bat-entry-past-eof",
        img,
        orig,
        Expect::ExportFails,
        VHDX,
        intact,
        |d| {
            // State 6 = PAYLOAD_BLOCK_FULLY_PRESENT, file offset (MiB) in bits 20..63.
            put(d, bat, &((0xF_FFFFu64 << 20) | 6).to_le_bytes())
        },
    );
    b.mutate(
        "vhdx-bat-entry-bad-state",
        img,
        orig,
        Expect::Any,
        VHDX,
        intact,
        |d| put(d, bat, &5u64.to_le_bytes()),
    );
    b.mutate(
        "vhdx-virtual-size-max",
        img,
        orig,
        Expect::Detect,
        VHDX,
        intact,
        |d| put(d, vsize, &u64::MAX.to_le_bytes()),
    );
    b.mutate(
        "vhdx-block-size-0",
        img,
        orig,
        Expect::Detect,
        VHDX,
        intact,
        |d| put(d, bsize, &0u32.to_le_bytes()),
    );
    b.mutate(
        "vhdx-logical-sector-size-1000",
        img,
        orig,
        Expect::Detect,
        VHDX,
        intact,
        |d| put(d, lss, &1000u32.to_le_bytes()),
    );
    let n = orig.len();
    b.truncations(
        "vhdx",
        img,
        orig,
        &[
            (100, Expect::Detect),
            (HEADER1 + 100, Expect::Detect),
            (REGION1 + 10, Expect::Detect),
            (meta + 10, Expect::Detect),
            (bat + 10, Expect::Detect),
            (n / 2, Expect::ExportFails),
        ],
        VHDX,
    );
}

/// VMDK hosted sparse extent header offsets (VMware Virtual Disk Format 1.1), little-endian.
fn vmdk_sparse_cases(b: &mut Builder, orig: &[u8], intact: &str) {
    let img = "image";
    let gd = get_u64_le(orig, 56) as usize * 512;
    let gt = get_u32_le(orig, gd) as usize * 512;
    b.mutate("vmdk-magic", img, orig, Expect::Any, VMDK, intact, |d| {
        flip(d, 0)
    });
    b.mutate(
        "vmdk-version-99",
        img,
        orig,
        Expect::Detect,
        VMDK,
        intact,
        |d| put(d, 4, &99u32.to_le_bytes()),
    );
    b.mutate(
        "vmdk-capacity-max",
        img,
        orig,
        Expect::Detect,
        VMDK,
        intact,
        |d| put(d, 12, &u64::MAX.to_le_bytes()),
    );
    b.mutate(
        "vmdk-capacity-2p40",
        img,
        orig,
        Expect::Detect,
        VMDK,
        intact,
        |d| put(d, 12, &(1u64 << 40).to_le_bytes()),
    );
    for (tag, g) in [("0", 0u64), ("3", 3), ("2p40", 1 << 40)] {
        b.mutate(
            &format!("vmdk-grain-size-{tag}"),
            img,
            orig,
            Expect::Detect,
            VMDK,
            intact,
            |d| put(d, 20, &g.to_le_bytes()),
        );
    }
    for v in [0u32, u32::MAX] {
        b.mutate(
            &format!("vmdk-gtes-per-gt-{v}"),
            img,
            orig,
            Expect::Detect,
            VMDK,
            intact,
            |d| put(d, 44, &v.to_le_bytes()),
        );
    }
    b.mutate(
        "vmdk-gd-offset-max",
        img,
        orig,
        Expect::Detect,
        VMDK,
        intact,
        |d| {
            put(d, 56, &u64::MAX.to_le_bytes());
            put(d, 48, &u64::MAX.to_le_bytes());
        },
    );
    b.mutate(
        "vmdk-descriptor-size-absurd",
        img,
        orig,
        Expect::Any,
        VMDK,
        intact,
        |d| put(d, 36, &(1u64 << 40).to_le_bytes()),
    );
    b.mutate(
        "vmdk-gd-entry-past-eof",
        img,
        orig,
        Expect::ExportFails,
        VMDK,
        intact,
        |d| {
            put(d, gd, &0x7fff_ffffu32.to_le_bytes());
            let rgd = get_u64_le(d, 48) as usize * 512;
            put(d, rgd, &0x7fff_ffffu32.to_le_bytes());
        },
    );
    b.mutate(
        "vmdk-gt-entry-past-eof",
        img,
        orig,
        Expect::ExportFails,
        VMDK,
        intact,
        |d| put(d, gt, &0x7fff_ffffu32.to_le_bytes()),
    );
    let n = orig.len();
    b.truncations(
        "vmdk",
        img,
        orig,
        &[
            (10, Expect::Detect),
            (100, Expect::Detect),
            (gd + 2, Expect::Detect),
            (n / 2, Expect::ExportFails),
        ],
        VMDK,
    );
}

fn vmdk_stream_cases(b: &mut Builder, orig: &[u8], intact: &str) {
    let img = "image";
    let first_grain = get_u64_le(orig, 64) as usize * 512; // overHead
    let n = orig.len();
    b.mutate(
        "vmdk-stream-grain-garbage",
        img,
        orig,
        Expect::ExportFails,
        VMDK,
        intact,
        |d| {
            // Grain marker: lba (8), compressed size (4), then zlib data.
            put(d, first_grain + 12, &[0xff; 64])
        },
    );
    b.mutate(
        "vmdk-stream-grain-size-max",
        img,
        orig,
        Expect::ExportFails,
        VMDK,
        intact,
        |d| put(d, first_grain + 8, &u32::MAX.to_le_bytes()),
    );
    b.truncations(
        "vmdk-stream",
        img,
        orig,
        // Cutting the footer and end-of-stream marker: qemu still reads the disk (the header
        // has the GD offset), so only no-crash is demanded.
        &[(n - 1024, Expect::Any), (n / 2, Expect::ExportFails)],
        VMDK,
    );
}

fn vmdk_flat_cases(b: &mut Builder, desc: &[u8], flat: &[u8], flat_name: &str, intact: &str) {
    let text = String::from_utf8(desc.to_vec()).expect("descriptor is text");
    let quoted = format!("\"{flat_name}\"");
    assert!(text.contains(&quoted));
    let case = |name: &str, files: Vec<(String, Vec<u8>)>, image: &str, expect| Case {
        name: name.to_owned(),
        files,
        image: image.to_owned(),
        follow_backing: false,
        expect,
        names: VMDK,
        intact_sha256: intact.to_owned(),
        needs_position: false,
    };
    b.cases.push(case(
        "vmdk-flat-extent-size-max",
        vec![
            (
                "d.vmdk".into(),
                text.replace("RW 32768 FLAT", "RW 18446744073709551615 FLAT")
                    .into_bytes(),
            ),
            (flat_name.into(), flat.to_vec()),
        ],
        "d.vmdk",
        Expect::Detect,
    ));
    b.cases.push(case(
        "vmdk-flat-extent-missing",
        vec![("d.vmdk".into(), desc.to_vec())],
        "d.vmdk",
        Expect::Detect,
    ));
    // The escape target exists and is the right extent: opening it would succeed silently.
    b.cases.push(case(
        "vmdk-flat-extent-relative-escape",
        vec![
            (
                "a/b/d.vmdk".into(),
                text.replace(&quoted, &format!("\"../../{flat_name}\""))
                    .into_bytes(),
            ),
            (flat_name.into(), flat.to_vec()),
        ],
        "a/b/d.vmdk",
        Expect::ExportFails,
    ));
    b.cases.push(case(
        "vmdk-flat-extent-etc-passwd",
        vec![(
            "d.vmdk".into(),
            text.replace("RW 32768 FLAT", "RW 1 FLAT")
                .replace(&quoted, "\"/etc/passwd\"")
                .into_bytes(),
        )],
        "d.vmdk",
        Expect::ExportFails,
    ));
    b.cases.push(case(
        "vmdk-flat-create-type-garbage",
        vec![
            (
                "d.vmdk".into(),
                text.replace("monolithicFlat", "\u{1}garbage\u{7f}")
                    .into_bytes(),
            ),
            (flat_name.into(), flat.to_vec()),
        ],
        "d.vmdk",
        Expect::Detect,
    ));
}

fn gpt_cases(b: &mut Builder, orig: &[u8]) {
    let img = "image";
    let h = 512;
    let entries = get_u64_le(orig, h + 72) as usize * 512;
    b.mutate(
        "gpt-primary-signature",
        img,
        orig,
        Expect::GptBackup,
        GPT,
        "",
        |d| flip(d, h),
    );
    b.mutate(
        "gpt-primary-header-crc",
        img,
        orig,
        Expect::GptBackup,
        GPT,
        "",
        |d| flip(d, h + 16),
    );
    b.mutate(
        "gpt-primary-entries-crc",
        img,
        orig,
        Expect::GptBackup,
        GPT,
        "",
        |d| {
            flip(d, entries + 56) // a name byte of entry 1
        },
    );
    b.mutate(
        "gpt-entry-count-max",
        img,
        orig,
        Expect::Detect,
        GPT,
        "",
        |d| {
            put(d, h + 80, &u32::MAX.to_le_bytes());
            gpt_fix_header_crc(d, h);
        },
    );
    b.mutate(
        "gpt-entry-size-0",
        img,
        orig,
        Expect::Detect,
        GPT,
        "",
        |d| {
            put(d, h + 84, &0u32.to_le_bytes());
            gpt_fix_header_crc(d, h);
        },
    );
    b.mutate(
        "gpt-header-size-max",
        img,
        orig,
        Expect::Detect,
        GPT,
        "",
        |d| {
            put(d, h + 12, &u32::MAX.to_le_bytes());
        },
    );
    b.mutate(
        "gpt-partition-past-disk-end",
        img,
        orig,
        Expect::Detect,
        GPT,
        "",
        |d| {
            put(d, entries + 40, &(1u64 << 40).to_le_bytes()); // entry 1 last LBA
            gpt_fix_crcs(d);
        },
    );
    b.mutate(
        "gpt-partition-first-after-last",
        img,
        orig,
        Expect::Detect,
        GPT,
        "",
        |d| {
            put(d, entries + 128 + 32, &30000u64.to_le_bytes()); // entry 2 first LBA
            gpt_fix_crcs(d);
        },
    );
    b.truncations(
        "gpt",
        img,
        orig,
        &[(600, Expect::Detect), (1024 * 1024 + 512, Expect::Detect)],
        GPT,
    );
}

fn mbr_cases(b: &mut Builder, orig: &[u8]) {
    let img = "image";
    // The extended partition is entry 3 (offset 446 + 2*16); its first EBR is at its start.
    let ext_start = get_u32_le(orig, 446 + 32 + 8) as usize;
    let ebr = ext_start * 512;
    let second_ebr_rel = get_u32_le(orig, ebr + 446 + 16 + 8) as usize;
    let ebr2 = (ext_start + second_ebr_rel) * 512;
    b.mutate(
        "mbr-ebr-self-loop",
        img,
        orig,
        Expect::Detect,
        MBR,
        "",
        |d| {
            put(d, ebr + 446 + 16 + 8, &0u32.to_le_bytes()); // next EBR = the extended start itself
        },
    );
    b.mutate(
        "mbr-ebr-loop-back",
        img,
        orig,
        Expect::Detect,
        MBR,
        "",
        |d| {
            put(d, ebr2 + 446 + 16 + 8, &0u32.to_le_bytes()); // second EBR links back to the first
        },
    );
    b.mutate(
        "mbr-ebr-next-past-eof",
        img,
        orig,
        Expect::Detect,
        MBR,
        "",
        |d| {
            put(d, ebr + 446 + 16 + 8, &0xFFFF_0000u32.to_le_bytes());
        },
    );
    b.mutate(
        "mbr-partition-absurd",
        img,
        orig,
        Expect::Detect,
        MBR,
        "",
        |d| {
            put(d, 446 + 16 + 8, &0xFFFF_FFF0u32.to_le_bytes());
            put(d, 446 + 16 + 12, &0xFFFF_FFF0u32.to_le_bytes());
        },
    );
    b.mutate(
        "mbr-no-boot-signature",
        img,
        orig,
        Expect::Any,
        MBR,
        "",
        |d| flip(d, 510),
    );
    b.truncations("mbr", img, orig, &[(ebr + 100, Expect::Detect)], MBR);
}

// --- running ----------------------------------------------------------------------------------

/// Beginning of the host's /etc/passwd, which must never appear in an export.
fn passwd_prefix() -> Option<Vec<u8>> {
    fs::read("/etc/passwd")
        .ok()
        .map(|p| p.into_iter().take(16).collect())
}

fn run_case(case: &Case, root: &Path) -> Vec<String> {
    let dir = root.join(&case.name);
    for (rel, data) in &case.files {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, data).expect("write case file");
    }
    let image = dir.join(&case.image);
    let mut errs = Vec::new();
    let mut e = |m: String| errs.push(format!("{}: {m}", case.name));
    let follow: &[&OsStr] = if case.follow_backing {
        &[OsStr::new("--follow-backing")]
    } else {
        &[]
    };

    let mut info_args = vec![OsStr::new("info"), image.as_os_str(), OsStr::new("--json")];
    info_args.extend_from_slice(follow);
    let info = imgcheck(&info_args);
    let mut export_args = vec![
        OsStr::new("export"),
        image.as_os_str(),
        OsStr::new("-o"),
        OsStr::new("-"),
    ];
    export_args.extend_from_slice(follow);
    let export = imgcheck(&export_args);

    for run in [&info, &export] {
        if let Some(why) = run.crash_reason() {
            e(format!("{why}: {}", run.describe()));
            return errs;
        }
        match run.code() {
            Some(0) => {}
            Some(2) => {
                // Paths are removed first: temporary directory names may contain digits.
                let msg = run
                    .stderr
                    .replace(dir.to_string_lossy().as_ref(), "")
                    .replace(root.to_string_lossy().as_ref(), "")
                    .to_lowercase();
                let named = case.names.is_empty() || case.names.iter().any(|n| msg.contains(n));
                let positioned = !case.needs_position || msg.chars().any(|c| c.is_ascii_digit());
                if !named || !positioned {
                    e(format!(
                        "failure message must name one of {:?} and a position: {}",
                        case.names,
                        run.describe()
                    ));
                }
            }
            _ => e(format!("exit status must be 0 or 2: {}", run.describe())),
        }
    }
    let info_json: Option<Value> = (info.code() == Some(0)).then(|| info.json());
    if let Some(j) = &info_json {
        check_info_shape(j, &mut e);
        if export.code() == Some(0) && j["virtual_size"].as_u64() != Some(export.stdout_len) {
            e(format!(
                "export wrote {} bytes but info says virtual_size {}",
                export.stdout_len, j["virtual_size"]
            ));
        }
    }
    let anomalies = info_json
        .as_ref()
        .and_then(|j| j["anomalies"].as_array().cloned())
        .unwrap_or_default();
    let corrupt_flag = info_json
        .as_ref()
        .is_some_and(|j| j["image"]["corrupt"] == true);
    let detected = info.code() == Some(2) || !anomalies.is_empty() || corrupt_flag;
    let export_sha = || common::sha256_bytes(&export.stdout);
    match case.expect {
        Expect::Any => {}
        Expect::Detect => {
            if !detected {
                e(format!(
                    "damage not reported (no error, no anomaly): {}",
                    info.describe()
                ));
            }
        }
        Expect::ExportFails => {
            if !detected {
                e(format!(
                    "damage not reported (no error, no anomaly): {}",
                    info.describe()
                ));
            }
            if export.code() != Some(2) {
                e(format!("export must fail: {}", export.describe()));
            }
        }
        Expect::StillReads => {
            if info.code() != Some(0) || export.code() != Some(0) {
                e(format!(
                    "redundant copy should be used: {} / {}",
                    info.describe(),
                    export.describe()
                ));
            } else if export_sha() != case.intact_sha256 {
                e("export differs from the intact disk".into());
            }
        }
        Expect::GptBackup => match &info_json {
            Some(j) => {
                let pt = &j["partition_table"];
                let n = pt["partitions"].as_array().map_or(0, Vec::len);
                if anomalies.is_empty() || pt["scheme"] != "gpt" || n != 4 {
                    e(format!(
                        "expected gpt from the backup with 4 partitions and an anomaly: {}",
                        info.stdout_str()
                    ));
                }
            }
            None => e(format!("info must succeed: {}", info.describe())),
        },
        Expect::NotFollowed => match &info_json {
            Some(j) => {
                if j["image"]["backing"]["followed"] != false || anomalies.is_empty() {
                    e(format!(
                        "backing must be reported as not followed, with an anomaly: {}",
                        info.stdout_str()
                    ));
                }
            }
            None => {
                if !info.stderr.to_lowercase().contains("backing") {
                    e(format!(
                        "refusal must name the backing file: {}",
                        info.describe()
                    ));
                }
            }
        },
        Expect::Dirty => match &info_json {
            Some(j) if j["image"]["dirty"] == true => {
                if export.code() != Some(0) || export_sha() != case.intact_sha256 {
                    e(format!(
                        "dirty image must still export: {}",
                        export.describe()
                    ));
                }
            }
            _ => e(format!("image.dirty must be true: {}", info.describe())),
        },
        Expect::CorruptFlag => {
            if info.code() != Some(2) && !corrupt_flag {
                e(format!("corrupt bit must be reported: {}", info.describe()));
            }
        }
    }
    if let Some(p) = passwd_prefix() {
        if !p.is_empty() && (find(&export.stdout, &p).is_some() || find(&info.stdout, &p).is_some())
        {
            e("host /etc/passwd content leaked into the output".into());
        }
    }
    errs
}

fn check_info_shape(j: &Value, e: &mut impl FnMut(String)) {
    for key in [
        "format",
        "qemu_format",
        "virtual_size",
        "image",
        "anomalies",
        "partition_table",
    ] {
        if j.get(key).is_none() {
            e(format!("info JSON lacks {key}"));
        }
    }
    for a in j["anomalies"].as_array().into_iter().flatten() {
        for key in ["layer", "structure", "offset", "kind", "message"] {
            if a.get(key).is_none() {
                e(format!("anomaly lacks {key}: {a}"));
            }
        }
    }
}

fn load(set: &FixtureSet, dir: &Path, fixture: &str) -> (Vec<u8>, String) {
    let f = set.fixture(fixture);
    let image = set.materialize(f, dir);
    (
        fs::read(image).expect("read fixture"),
        f["raw_sha256"].as_str().expect("sha").to_owned(),
    )
}

fn build_cases(set: &FixtureSet, dir: &Path) -> Vec<Case> {
    let mut b = Builder { cases: Vec::new() };
    let (qcow2, qsha) = load(set, dir, "gpt-qcow2-v3");
    qcow2_cases(&mut b, &qcow2, &qsha);
    for (fixture, tag) in [
        ("gpt-qcow2-zlib", "qcow2-zlib"),
        ("gpt-qcow2-zstd", "qcow2-zstd"),
    ] {
        let (data, sha) = load(set, dir, fixture);
        qcow2_compressed_cases(&mut b, &data, tag, &sha);
    }
    let ov = set.fixture("gpt-qcow2-overlay");
    set.materialize(ov, dir);
    let overlay = fs::read(dir.join(ov["image"].as_str().expect("image"))).expect("overlay");
    let base_name = ov["backing_reference"].as_str().expect("backing_reference");
    let base = fs::read(dir.join(base_name)).expect("base");
    backing_cases(&mut b, &overlay, &base, base_name);
    let (vhd, vsha) = load(set, dir, "gpt-vhd-dynamic");
    vhd_cases(&mut b, &vhd, &vsha);
    let (vhdx, xsha) = load(set, dir, "gpt-vhdx-dynamic");
    vhdx_cases(&mut b, &vhdx, &xsha);
    let (vmdk, msha) = load(set, dir, "gpt-vmdk-sparse");
    vmdk_sparse_cases(&mut b, &vmdk, &msha);
    let (stream, ssha) = load(set, dir, "gpt-vmdk-stream");
    vmdk_stream_cases(&mut b, &stream, &ssha);
    let flat_fx = set.fixture("gpt-vmdk-flat");
    set.materialize(flat_fx, dir);
    let flat_name = flat_fx["files"][1]
        .as_str()
        .expect("flat file")
        .trim_end_matches(".gz");
    let desc = fs::read(dir.join(flat_fx["image"].as_str().expect("image"))).expect("descriptor");
    let flat = fs::read(dir.join(flat_name)).expect("flat extent");
    vmdk_flat_cases(
        &mut b,
        &desc,
        &flat,
        flat_name,
        flat_fx["raw_sha256"].as_str().expect("sha"),
    );
    let (gpt, _) = load(set, dir, "gpt-raw");
    gpt_cases(&mut b, &gpt);
    let (mbr, _) = load(set, dir, "mbr-raw");
    mbr_cases(&mut b, &mbr);
    b.cases
}

/// Every mutated fixture: no crash, no hang, exit 0 or 2, and the case's expectation.
#[test]
fn corrupt_inputs_never_crash_and_are_reported() {
    let set = FixtureSet::load(&common::containers_dir());
    let src = tempfile::tempdir().expect("tempdir");
    let cases = build_cases(&set, src.path());
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "duplicate case names");

    let root = tempfile::tempdir().expect("tempdir");
    let workers = 2;
    let errs: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let cases = &cases;
                let root = root.path();
                s.spawn(move || {
                    cases
                        .iter()
                        .skip(w)
                        .step_by(workers)
                        .flat_map(|c| {
                            let r = run_case(c, root);
                            let _ = fs::remove_dir_all(root.join(&c.name));
                            r
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    assert!(
        errs.is_empty(),
        "{} of {} corrupt-input cases failed:\n  {}",
        errs.len(),
        cases.len(),
        errs.join("\n  ")
    );
}

/// A missing file and a directory are refused with exit 2 and a message, never a crash.
#[test]
fn unreadable_inputs_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing: PathBuf = tmp.path().join("does-not-exist.qcow2");
    for target in [missing.as_os_str(), tmp.path().as_os_str()] {
        for args in [
            vec![OsStr::new("info"), target, OsStr::new("--json")],
            vec![
                OsStr::new("export"),
                target,
                OsStr::new("-o"),
                OsStr::new("-"),
            ],
        ] {
            let run: RunOutput = imgcheck(&args);
            assert!(run.crash_reason().is_none(), "{}", run.describe());
            assert_eq!(run.code(), Some(2), "{}", run.describe());
            assert!(
                !run.stderr.trim().is_empty(),
                "no message: {}",
                run.describe()
            );
        }
    }
}

/// The mutation helpers themselves: checksums and GUID byte order.
#[test]
fn mutation_helpers() {
    // GPT's EFI System Partition type GUID as stored on disk.
    assert_eq!(
        guid_bytes("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"),
        [
            0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e,
            0xc9, 0x3b
        ]
    );
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    // A VHD footer checksum recomputed in place satisfies its own definition.
    let mut f = vec![0u8; 512];
    put(&mut f, 0, b"conectix");
    vhd_fix_checksum(&mut f, 0, 512, 64);
    let stored = get_u32_be(&f, 64);
    put(&mut f, 64, &[0; 4]);
    let sum = f.iter().fold(0u32, |a, &x| a.wrapping_add(u32::from(x)));
    assert_eq!(stored, !sum);
    // The committed GPT seed's primary header CRC is reproduced by gpt_fix_header_crc.
    let set = FixtureSet::load(&common::containers_dir());
    let tmp = tempfile::tempdir().expect("tempdir");
    let (gpt, _) = load(&set, tmp.path(), "gpt-raw");
    let mut copy = gpt.clone();
    gpt_fix_crcs(&mut copy);
    assert!(copy == gpt, "recomputed GPT CRCs differ from sfdisk's");
}
