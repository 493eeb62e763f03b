//! Tests of the VMDK reader on images synthesised in memory (and small descriptor + extent file
//! sets in temporary directories), written from the layouts in "Virtual Disk Format 1.1".

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::panic
)]

use super::sparse::{GD_AT_END, SECTOR, SPARSE_MAGIC};
use crate::{open, open_source, Format, OpenContext, OpenOptions, VirtualDisk};
use flate2::write::ZlibEncoder;
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, Limits, MemSource};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

const S: usize = 512;

/// What a grain table entry of a synthesised image holds.
#[derive(Clone)]
enum G {
    /// Stored data (one grain's worth).
    Data(Vec<u8>),
    /// Zeroed-grain entry (GTE 1).
    Zero,
}

/// A hosted sparse extent to synthesise.
struct Spec {
    capacity: u64,
    grain: u64,
    gtes: u32,
    compressed: bool,
    gd_at_end: bool,
    version: u32,
    descriptor: Option<String>,
    grains: Vec<(u64, G)>,
}

impl Spec {
    fn new(capacity: u64, grain: u64) -> Spec {
        Spec {
            capacity,
            grain,
            gtes: 512,
            compressed: false,
            gd_at_end: false,
            version: 1,
            descriptor: None,
            grains: Vec::new(),
        }
    }
}

/// Layout facts of a built image, for tests that corrupt it.
struct Built {
    bytes: Vec<u8>,
    gd_off: usize,
    gt_off: usize,
    /// File offset of each stored grain, by grain index.
    grain_offs: Vec<(u64, usize)>,
    expected: Vec<u8>,
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
fn pad(v: &mut Vec<u8>) {
    while v.len() % S != 0 {
        v.push(0);
    }
}

fn header(spec: &Spec, desc_off: u64, desc_sectors: u64, gd_sector: u64, overhead: u64) -> Vec<u8> {
    let mut h = vec![0u8; S];
    put32(&mut h, 0, SPARSE_MAGIC);
    put32(&mut h, 4, spec.version);
    let mut flags = 1u32; // newline test
    if spec.compressed {
        flags |= (1 << 16) | (1 << 17);
    }
    put32(&mut h, 8, flags);
    put64(&mut h, 12, spec.capacity);
    put64(&mut h, 20, spec.grain);
    put64(&mut h, 28, desc_off);
    put64(&mut h, 36, desc_sectors);
    put32(&mut h, 44, spec.gtes);
    put64(&mut h, 48, 0);
    put64(&mut h, 56, gd_sector);
    put64(&mut h, 64, overhead);
    h[73..77].copy_from_slice(b"\n \r\n");
    if spec.compressed {
        h[77..79].copy_from_slice(&1u16.to_le_bytes());
    }
    h
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn build(spec: &Spec) -> Built {
    let grain_bytes = (spec.grain * SECTOR) as usize;
    let num_grains = spec.capacity.div_ceil(spec.grain) as usize;
    let num_gts = num_grains.div_ceil(spec.gtes as usize);
    let mut out = vec![0u8; S];
    let (desc_off, desc_sectors) = match &spec.descriptor {
        Some(d) => {
            let mut t = d.as_bytes().to_vec();
            pad(&mut t);
            let n = (t.len() / S) as u64;
            out.extend_from_slice(&t);
            (1u64, n)
        }
        None => (0, 0),
    };
    let gd_off = out.len();
    let gt_bytes = spec.gtes as usize * 4;
    let gt_off = gd_off + (num_gts * 4).div_ceil(S) * S;
    let gts_len = num_gts * gt_bytes.div_ceil(S) * S;
    out.resize(gt_off + gts_len, 0);
    for t in 0..num_gts {
        let sec = (gt_off + t * gt_bytes.div_ceil(S) * S) / S;
        put32(&mut out, gd_off + t * 4, sec as u32);
    }
    let overhead = (out.len() / S) as u64;
    let mut expected = vec![0u8; (spec.capacity * SECTOR) as usize];
    let mut grain_offs = Vec::new();
    for (g, content) in &spec.grains {
        let g = *g as usize;
        let gte_at = gt_off
            + (g / spec.gtes as usize) * gt_bytes.div_ceil(S) * S
            + (g % spec.gtes as usize) * 4;
        match content {
            G::Zero => put32(&mut out, gte_at, 1),
            G::Data(d) => {
                assert_eq!(d.len(), grain_bytes);
                let start = g * grain_bytes;
                let end = (start + grain_bytes).min(expected.len());
                expected[start..end].copy_from_slice(&d[..end - start]);
                let at = out.len();
                put32(&mut out, gte_at, (at / S) as u32);
                grain_offs.push((g as u64, at));
                if spec.compressed {
                    let z = zlib(d);
                    out.extend_from_slice(&(g as u64 * spec.grain).to_le_bytes());
                    out.extend_from_slice(&(z.len() as u32).to_le_bytes());
                    out.extend_from_slice(&z);
                } else {
                    out.extend_from_slice(d);
                }
                pad(&mut out);
            }
        }
    }
    let gd_sector = (gd_off / S) as u64;
    if spec.gd_at_end {
        out[..S].copy_from_slice(&header(spec, desc_off, desc_sectors, GD_AT_END, overhead));
        // Footer marker, footer, end-of-stream marker.
        let mut marker = vec![0u8; S];
        put64(&mut marker, 0, 1);
        put32(&mut marker, 12, 3);
        out.extend_from_slice(&marker);
        out.extend_from_slice(&header(spec, desc_off, desc_sectors, gd_sector, overhead));
        out.extend_from_slice(&[0u8; S]);
    } else {
        out[..S].copy_from_slice(&header(spec, desc_off, desc_sectors, gd_sector, overhead));
    }
    Built {
        bytes: out,
        gd_off,
        gt_off,
        grain_offs,
        expected,
    }
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn descriptor(create_type: &str, extents: &str, extra: &str) -> String {
    format!(
        "# Disk DescriptorFile\nversion=1\nCID=1a2b3c4d\nparentCID=ffffffff\ncreateType=\"{create_type}\"\n{extra}\n# Extent description\n{extents}\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"2\"\nddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"lsilogic\"\nddb.toolsVersion = \"2147483647\"\n"
    )
}

fn open_mem(bytes: Vec<u8>) -> Result<VirtualDisk, crate::ContainerError> {
    open_source(
        Arc::new(MemSource::new(bytes)),
        &OpenContext::detached(&OpenOptions::default()),
    )
}

fn open_mem_limits(bytes: Vec<u8>, limits: Limits) -> Result<VirtualDisk, crate::ContainerError> {
    let opts = OpenOptions {
        limits,
        ..OpenOptions::default()
    };
    open_source(
        Arc::new(MemSource::new(bytes)),
        &OpenContext::detached(&opts),
    )
}

fn read_all(src: &dyn BlockSource) -> Vec<u8> {
    let mut v = vec![0u8; src.len() as usize];
    src.read_exact_at(&mut v, 0).unwrap();
    v
}

/// The error and all its sources as one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    Anomaly::from_error("t", "t", None, ErrorKind::Corrupt, e).message
}

/// Reads at awkward offsets and lengths agree with `expected`.
fn check_reads(src: &dyn BlockSource, expected: &[u8]) {
    assert!(read_all(src) == expected, "full read differs");
    let len = expected.len();
    for (off, n) in [(0, 1), (511, 3), (4095, 4098), (len - 7, 7), (1, len - 2)] {
        let mut b = vec![0u8; n];
        src.read_exact_at(&mut b, off as u64).unwrap();
        assert!(b == expected[off..off + n], "read {n} at {off} differs");
    }
    let mut b = [0u8; 2];
    assert!(src.read_exact_at(&mut b, len as u64 - 1).is_err());
    assert!(src.read_exact_at(&mut b, u64::MAX).is_err());
}

/// A 100-sector disk with 8-sector grains and 4 entries per table: 13 grains, 4 tables.
fn small_spec(compressed: bool) -> Spec {
    let mut s = Spec::new(100, 8);
    s.gtes = 4;
    s.compressed = compressed;
    s.version = if compressed { 3 } else { 1 };
    let ct = if compressed {
        "streamOptimized"
    } else {
        "monolithicSparse"
    };
    s.descriptor = Some(descriptor(ct, "RW 100 SPARSE \"renamed.vmdk\"", ""));
    let gb = 8 * S;
    s.grains = vec![
        (0, G::Data(pattern(1, gb))),
        (1, G::Data(pattern(2, gb))),
        (2, G::Zero),
        (5, G::Data(pattern(3, gb))),
        (6, G::Data(vec![0x11; gb])),
        (12, G::Data(pattern(4, gb))), // last grain, only 4 of its 8 sectors are inside
    ];
    s
}

#[test]
fn monolithic_sparse_reads_and_facts() {
    let b = build(&small_spec(false));
    let disk = open_mem(b.bytes.clone()).unwrap();
    let f = &disk.facts;
    assert_eq!(f.format, Format::Vmdk);
    assert_eq!(f.subformat.as_deref(), Some("monolithicSparse"));
    assert_eq!(f.version.as_deref(), Some("1"));
    assert_eq!(f.virtual_size, 100 * 512);
    assert_eq!(f.file_size, b.bytes.len() as u64);
    assert_eq!(f.cluster_size, Some(4096));
    assert_eq!(f.compression, None);
    assert_eq!(f.allocated_bytes, Some(5 * 4096));
    assert_eq!(f.details["cid"], "1a2b3c4d");
    assert_eq!(f.details["adapter_type"], "lsilogic");
    assert_eq!(f.details["hw_version"], "4");
    assert_eq!(f.details["tools_version"], "2147483647");
    assert_eq!(f.details["geometry"], "2/16/63");
    assert_eq!(f.details["extents"], "1");
    assert_eq!(f.details["descriptor"], "embedded");
    assert!(!f.dirty);
    assert!(f.backing.is_none());
    assert!(disk.anomalies.is_empty(), "{:?}", disk.anomalies);
    check_reads(&*disk.source(), &b.expected);
    assert_eq!(disk.source().allocated_bytes(), Some(5 * 4096));
}

#[test]
fn stream_optimized_reads_and_facts() {
    let b = build(&small_spec(true));
    let disk = open_mem(b.bytes.clone()).unwrap();
    let f = &disk.facts;
    assert_eq!(f.subformat.as_deref(), Some("streamOptimized"));
    assert_eq!(f.compression.as_deref(), Some("deflate"));
    assert_eq!(f.details["sparse_header_version"], "3");
    check_reads(&*disk.source(), &b.expected);
    // Many small reads hit the decompressed-grain cache and still agree.
    let src = disk.source();
    for off in (0..b.expected.len() - 100).step_by(97) {
        let mut x = [0u8; 100];
        src.read_exact_at(&mut x, off as u64).unwrap();
        assert_eq!(&x[..], &b.expected[off..off + 100]);
    }
}

#[test]
fn stream_optimized_footer_when_gd_at_end() {
    let mut s = small_spec(true);
    s.gd_at_end = true;
    let b = build(&s);
    assert_eq!(
        u64::from_le_bytes(b.bytes[56..64].try_into().unwrap()),
        GD_AT_END
    );
    let disk = open_mem(b.bytes.clone()).unwrap();
    assert!(disk.anomalies.is_empty(), "{:?}", disk.anomalies);
    check_reads(&*disk.source(), &b.expected);

    // A broken footer marker is an anomaly; a broken footer is an error.
    let mut bad = b.bytes.clone();
    let n = bad.len();
    bad[n - 3 * S + 12] = 9;
    let disk = open_mem(bad).unwrap();
    assert!(disk.anomalies[0]
        .message
        .contains("type 9, expected size 0 type 3"));
    let mut bad = b.bytes.clone();
    bad[n - 2 * S] = b'X';
    let e = open_mem(bad).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "vmdk: footer of extent \"<memory>\" at offset {}: magic is 0x564d4458, expected 0x564d444b (\"KDMV\")",
            n - 2 * S
        )
    );
}

#[test]
fn sparse_without_descriptor_uses_header_capacity() {
    let mut s = small_spec(false);
    s.descriptor = None;
    let b = build(&s);
    let disk = open_mem(b.bytes).unwrap();
    assert_eq!(disk.facts.virtual_size, 100 * 512);
    assert_eq!(disk.facts.subformat, None);
    assert_eq!(disk.facts.details["descriptor"], "none");
    check_reads(&*disk.source(), &b.expected);
}

#[test]
fn descriptor_size_disagreeing_with_capacity_is_an_anomaly() {
    let mut s = small_spec(false);
    s.descriptor = Some(descriptor(
        "monolithicSparse",
        "RW 120 SPARSE \"x.vmdk\"",
        "",
    ));
    let b = build(&s);
    let disk = open_mem(b.bytes).unwrap();
    assert_eq!(disk.facts.virtual_size, 120 * 512);
    assert!(disk.anomalies[0]
        .message
        .contains("declares 120 sectors (descriptor line 8), the sparse header's capacity is 100"));
    let mut want = b.expected.clone();
    want.resize(120 * 512, 0);
    assert!(read_all(&*disk.source()) == want);
}

#[test]
fn probe_accepts_headers_and_descriptors_only() {
    use crate::{FormatReader, Probe};
    let p = |head: &[u8]| {
        super::VmdkFormat.probe(&Probe {
            head,
            tail: &[],
            file_len: head.len() as u64,
            host_allocated: None,
        })
    };
    assert!(p(b"KDMV\x01\0\0\0"));
    assert!(p(b"# Disk DescriptorFile\nversion=1\n"));
    assert!(p(b"\n\n# made by hand\n#Disk DescriptorFile\n"));
    assert!(!p(b"KDM"));
    assert!(!p(b"COWD\x01\0\0\0"));
    assert!(!p(&[0u8; 4096]));
    assert!(!p(b"QFI\xfb"));
    // A raw disk whose later sectors hold descriptor text is not a descriptor.
    let mut raw = vec![0xeb, 0x63, 0x90];
    raw.extend_from_slice(b"# Disk DescriptorFile\n");
    assert!(!p(&raw));
}

#[test]
fn registry_detects_vmdk_before_raw() {
    let b = build(&small_spec(false));
    assert_eq!(open_mem(b.bytes).unwrap().facts.format, Format::Vmdk);
}

// ---- error paths ----

fn err_of(bytes: Vec<u8>) -> String {
    chain(&open_mem(bytes).unwrap_err())
}

#[test]
fn bad_version_and_grain_size() {
    let b = build(&small_spec(false));
    let mut x = b.bytes.clone();
    put32(&mut x, 4, 7);
    assert_eq!(
        err_of(x),
        "vmdk: sparse header of extent \"<memory>\" at offset 0: sparse header version 7 (known: 1 to 3) is not supported"
    );
    for (g, shown) in [(0u64, "0"), (1u64 << 40, "1099511627776"), (12, "12")] {
        let mut x = b.bytes.clone();
        put64(&mut x, 20, g);
        assert_eq!(
            err_of(x),
            format!("vmdk: sparse header of extent \"renamed.vmdk\" at offset 0: grain size is {shown} sectors, expected a power of two from 1 to 131072")
        );
    }
    let mut x = b.bytes.clone();
    put32(&mut x, 44, 0);
    assert!(err_of(x).contains("0 entries per grain table, expected 1 to 65536"));
    let mut x = b.bytes.clone();
    x[75] = b'\n';
    assert!(err_of(x).contains("newline test bytes are [0a, 20, 0a, 0a]"));
    let mut x = b.bytes.clone();
    put64(&mut x, 12, u64::MAX / 4);
    let e = err_of(x);
    assert!(e.contains("overflow a 64-bit byte offset"), "{e}");
}

#[test]
fn huge_capacity_hits_table_limit() {
    let mut b = build(&small_spec(false));
    put64(&mut b.bytes, 12, 1 << 40);
    let e = err_of(b.bytes);
    assert_eq!(
        e,
        "vmdk: grain tables of extent \"renamed.vmdk\" at offset 0: total grain table size in bytes is 549755813888, above the limit of 268435456"
    );
}

#[test]
fn grain_directory_past_eof() {
    let b = build(&small_spec(false));
    let mut x = b.bytes.clone();
    put64(&mut x, 56, 1_000_000);
    assert_eq!(
        err_of(x.clone()),
        format!(
            "vmdk: grain directory of extent \"renamed.vmdk\" at offset 512000000: 16 bytes run past the end of the {}-byte file",
            x.len()
        )
    );
    put64(&mut x, 56, 0);
    assert!(err_of(x).contains("grain directory offset is 0"));
}

#[test]
fn grain_table_past_eof_is_an_anomaly_and_fails_only_its_reads() {
    let b = build(&small_spec(false));
    let mut x = b.bytes.clone();
    // Grain table 1 (grains 4..8) points far past the end.
    put32(&mut x, b.gd_off + 4, 900_000);
    let disk = open_mem(x).unwrap();
    assert_eq!(disk.anomalies.len(), 1);
    assert_eq!(
        disk.anomalies[0].structure,
        "grain table 1 of extent \"renamed.vmdk\""
    );
    assert_eq!(disk.anomalies[0].offset, Some(900_000 * 512));
    let src = disk.source();
    let mut buf = vec![0u8; 4096];
    src.read_exact_at(&mut buf, 0).unwrap();
    assert!(buf == b.expected[..4096]);
    let e = src.read_exact_at(&mut buf, 5 * 4096).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    let msg = chain(&e);
    assert!(
        msg.starts_with("vmdk: cannot serve read at virtual offset 20480: vmdk: grain table 1 of extent \"renamed.vmdk\" at offset 460800000: unreadable, so grain 5 cannot be located"),
        "{msg}"
    );
}

#[test]
fn grain_table_entry_past_eof_fails_the_read() {
    let b = build(&small_spec(false));
    let mut x = b.bytes.clone();
    // Entry of grain 5: table 1, slot 1.
    let gte = b.gt_off + S + 4;
    put32(&mut x, gte, 70_000);
    let len = x.len();
    let disk = open_mem(x).unwrap();
    let mut buf = vec![0u8; 10];
    let e = disk
        .source()
        .read_exact_at(&mut buf, 5 * 4096 + 3)
        .unwrap_err();
    assert_eq!(
        chain(&e),
        format!("vmdk: cannot serve read at virtual offset 20483: vmdk: grain table entry 5 of extent \"renamed.vmdk\" at offset {gte}: grain at file offset 35840000 (4096 bytes) lies past the end of the {len}-byte file")
    );
}

#[test]
fn compressed_grain_errors() {
    let b = build(&small_spec(true));
    let (g, at) = b.grain_offs[2]; // grain 5
    assert_eq!(g, 5);
    let read5 = |bytes: Vec<u8>| {
        let disk = open_mem(bytes).unwrap();
        let mut buf = vec![0u8; 512];
        chain(&disk.source().read_exact_at(&mut buf, 5 * 4096).unwrap_err())
    };
    let mut x = b.bytes.clone();
    for i in 0..20 {
        x[at + 12 + i] = 0xA5;
    }
    let e = read5(x);
    assert!(
        e.contains("grain table entry 5 of extent \"renamed.vmdk\""),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "compressed grain at file offset {at}: invalid deflate data"
        )),
        "{e}"
    );

    let mut x = b.bytes.clone();
    put64(&mut x, at, 7);
    assert!(read5(x).contains(&format!(
        "grain marker at file offset {at} has LBA 7, expected 40"
    )));

    let mut x = b.bytes.clone();
    put32(&mut x, at + 8, 0);
    assert!(read5(x).contains("holds a metadata marker, not a grain"));

    let mut x = b.bytes.clone();
    put32(&mut x, at + 8, 0x7fff_ffff);
    assert!(read5(x).contains("compressed grain size in bytes is 2147483647, above the limit"));

    let mut x = b.bytes.clone();
    put32(&mut x, at + 8, 1_000_000);
    assert!(read5(x).contains("(1000000 bytes) runs past the end of the"));

    // A stream cut short, and one that inflates to more than a grain.
    let mut x = b.bytes.clone();
    let size = u32::from_le_bytes(x[at + 8..at + 12].try_into().unwrap());
    put32(&mut x, at + 8, size / 2);
    assert!(read5(x).contains("deflate stream ends early"));
    let big = zlib(&vec![7u8; 8192]);
    let mut x = b.bytes.clone();
    x[at + 12..at + 12 + big.len()].copy_from_slice(&big);
    put32(&mut x, at + 8, big.len() as u32);
    assert!(read5(x).contains("decompresses to more than the grain's 4096 bytes"));
    // One that inflates to less than a grain.
    let small = zlib(&[7u8; 100]);
    let mut x = b.bytes.clone();
    x[at + 12..at + 12 + small.len()].copy_from_slice(&small);
    put32(&mut x, at + 8, small.len() as u32);
    assert!(read5(x).contains("decompressed to 100 bytes, expected 4096"));
}

#[test]
fn unsupported_compression_algorithm() {
    let mut b = build(&small_spec(true));
    b.bytes[77] = 2;
    assert!(err_of(b.bytes).contains("compression algorithm 2 is not supported"));
}

#[test]
fn embedded_descriptor_limits_and_shape() {
    let b = build(&small_spec(false));
    let mut x = b.bytes.clone();
    put64(&mut x, 36, 1 << 20);
    assert_eq!(
        err_of(x),
        "vmdk: embedded descriptor at offset 512: descriptor size in bytes is 536870912, above the limit of 1048576"
    );
    let mut x = b.bytes.clone();
    put64(&mut x, 28, 1 << 30);
    assert!(err_of(x)
        .contains("embedded descriptor at offset 549755813888: 512 bytes run past the end"));

    let mut s = small_spec(false);
    s.descriptor = Some(descriptor(
        "monolithicSparse",
        "RW 50 SPARSE \"a.vmdk\"\nRW 50 SPARSE \"b.vmdk\"",
        "",
    ));
    assert!(err_of(build(&s).bytes).contains("lists 2 extents, expected exactly one SPARSE extent"));
    s.descriptor = Some(descriptor(
        "monolithicSparse",
        "RW 100 FLAT \"a.vmdk\" 0",
        "",
    ));
    assert!(err_of(build(&s).bytes)
        .contains("embedded descriptor line 8 at offset 512: extent type is FLAT"));
    s.descriptor = Some(descriptor("monolithicSparse", "RW 100 SPARSE a.vmdk", ""));
    assert_eq!(
        err_of(build(&s).bytes),
        format!(
            "vmdk: descriptor line 8 at offset {}: extent file name \"a.vmdk\" is not in double quotes",
            512 + descriptor("monolithicSparse", "", "").find("# Extent").unwrap() + 21
        )
    );
}

#[test]
fn standalone_descriptor_errors_in_memory() {
    // Syntax errors are found before any extent is opened.
    let d = descriptor(
        "monolithicFlat",
        "RW 100 FLAT \"a.img\" 0\nRW x FLAT \"b.img\"",
        "",
    );
    let e = err_of(d.into_bytes());
    assert!(e.starts_with("vmdk: descriptor line 9 at offset "), "{e}");
    assert!(
        e.ends_with("extent size \"x\" is not a decimal sector count"),
        "{e}"
    );

    let d = descriptor("monolithicFlat", "", "");
    assert_eq!(
        err_of(d.into_bytes()),
        "vmdk: descriptor file at offset 0: lists no extents"
    );

    let limits = Limits {
        max_descriptor_bytes: 100,
        ..Limits::default()
    };
    let d = descriptor("monolithicFlat", "RW 1 ZERO", "");
    let n = d.len();
    assert_eq!(
        chain(&open_mem_limits(d.into_bytes(), limits).unwrap_err()),
        format!("vmdk: descriptor file at offset 0: descriptor size in bytes is {n}, above the limit of 100")
    );

    let limits = Limits {
        max_extents: 3,
        ..Limits::default()
    };
    let d = descriptor(
        "monolithicFlat",
        "RW 1 ZERO\nRW 1 ZERO\nRW 1 ZERO\nRW 1 ZERO",
        "",
    );
    let e = chain(&open_mem_limits(d.into_bytes(), limits).unwrap_err());
    assert!(e.starts_with("vmdk: descriptor line 11 at offset"), "{e}");
    assert!(
        e.ends_with("number of extents is 4, above the limit of 3"),
        "{e}"
    );

    // Only ZERO extents: needs no file at all.
    let d = descriptor("monolithicFlat", "RW 8 ZERO\nRDONLY 8 ZERO", "");
    let disk = open_mem(d.into_bytes()).unwrap();
    assert_eq!(disk.facts.virtual_size, 8192);
    assert_eq!(disk.facts.allocated_bytes, Some(0));
    assert!(read_all(&*disk.source()) == vec![0u8; 8192]);

    // A detached image cannot open extent files.
    let d = descriptor("monolithicFlat", "RW 8 FLAT \"disk-flat.vmdk\" 0", "");
    assert!(err_of(d.into_bytes()).contains("extent \"disk-flat.vmdk\": resolves outside"));

    let d = descriptor("vmfsSparse", "RW 8 VMFSSPARSE \"d-delta.vmdk\"", "");
    assert_eq!(
        err_of(d.into_bytes()),
        "vmdk: VMFSSPARSE (ESX COWD) extents (descriptor line 8: \"d-delta.vmdk\") is not supported"
    );
}

// ---- descriptor + extent files on disk ----

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn monolithic_flat_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(9, 64 * 512);
    let mut flat = vec![0xEEu8; 3 * 512]; // 3 sectors before the extent's offset
    flat.extend_from_slice(&data);
    write(dir.path(), "disk-flat.vmdk", &flat);
    let d = descriptor("monolithicFlat", "RW 64 FLAT \"disk-flat.vmdk\" 3", "");
    write(dir.path(), "disk.vmdk", d.as_bytes());
    let disk = open(&dir.path().join("disk.vmdk"), &OpenOptions::default()).unwrap();
    let f = &disk.facts;
    assert_eq!(f.format, Format::Vmdk);
    assert_eq!(f.subformat.as_deref(), Some("monolithicFlat"));
    assert_eq!(f.virtual_size, 64 * 512);
    assert_eq!(f.file_size, (d.len() + flat.len()) as u64);
    assert_eq!(f.cluster_size, None);
    assert_eq!(f.details["descriptor"], "separate");
    assert!(disk.anomalies.is_empty(), "{:?}", disk.anomalies);
    check_reads(&*disk.source(), &data);
}

#[test]
fn mixed_extents_from_a_directory() {
    // FLAT + ZERO + SPARSE + streamOptimized SPARSE, like a twoGbMaxExtent set with odd members.
    let dir = tempfile::tempdir().unwrap();
    let flat = pattern(5, 16 * 512);
    write(dir.path(), "a b-f001.vmdk", &flat);
    let mut s = small_spec(false);
    s.descriptor = None;
    let sp = build(&s);
    write(dir.path(), "d-s002.vmdk", &sp.bytes);
    let mut c = small_spec(true);
    c.descriptor = Some(descriptor(
        "streamOptimized",
        "RW 100 SPARSE \"elsewhere.vmdk\"",
        "",
    ));
    let cp = build(&c);
    write(dir.path(), "d-s003.vmdk", &cp.bytes);
    let d = descriptor(
        "twoGbMaxExtentSparse",
        "RW 16 FLAT \"a b-f001.vmdk\" 0\nRW 8 ZERO\nRW 100 SPARSE \"d-s002.vmdk\"\nRDONLY 100 SPARSE \"d-s003.vmdk\"",
        "",
    );
    write(dir.path(), "d.vmdk", d.as_bytes());
    let disk = open(&dir.path().join("d.vmdk"), &OpenOptions::default()).unwrap();
    let mut want = flat.clone();
    want.extend_from_slice(&[0u8; 8 * 512]);
    want.extend_from_slice(&sp.expected);
    want.extend_from_slice(&cp.expected);
    let f = &disk.facts;
    assert_eq!(f.virtual_size, want.len() as u64);
    assert_eq!(
        f.file_size,
        (d.len() + flat.len() + sp.bytes.len() + cp.bytes.len()) as u64
    );
    assert_eq!(f.details["extents"], "4");
    assert_eq!(f.details["sparse_header_version"], "1,3");
    assert_eq!(f.compression.as_deref(), Some("deflate"));
    assert_eq!(f.allocated_bytes, Some(16 * 512 + 2 * 5 * 4096));
    assert!(disk.anomalies.is_empty(), "{:?}", disk.anomalies);
    check_reads(&*disk.source(), &want);
}

#[test]
fn extents_outside_the_directory_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let sub = root.path().join("img");
    std::fs::create_dir(&sub).unwrap();
    write(root.path(), "outside", &[1u8; 4096]);
    for name in ["../outside", "/etc/passwd", "sub/../../outside"] {
        let d = descriptor("monolithicFlat", &format!("RW 8 FLAT \"{name}\" 0"), "");
        write(&sub, "d.vmdk", d.as_bytes());
        let e = open(&sub.join("d.vmdk"), &OpenOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{name}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!(
                "vmdk: extent {name:?}: resolves outside the allowed directory"
            )),
            "{msg}"
        );
    }
    // A missing extent is NotFound.
    let d = descriptor("monolithicFlat", "RW 8 FLAT \"missing.vmdk\" 0", "");
    write(&sub, "d.vmdk", d.as_bytes());
    let e = open(&sub.join("d.vmdk"), &OpenOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn short_flat_file_is_an_anomaly_and_fails_reads_past_its_end() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.img", &[3u8; 1024]);
    let d = descriptor("monolithicFlat", "RW 4 FLAT \"f.img\" 0", "");
    write(dir.path(), "d.vmdk", d.as_bytes());
    let disk = open(&dir.path().join("d.vmdk"), &OpenOptions::default()).unwrap();
    assert!(disk.anomalies[0]
        .message
        .contains("needs 2048 bytes of the file from offset 0, the file has 1024"));
    let mut b = [0u8; 1024];
    disk.source().read_exact_at(&mut b, 0).unwrap();
    assert_eq!(b, [3u8; 1024]);
    let e = disk.source().read_exact_at(&mut b, 512).unwrap_err();
    assert!(chain(&e).contains("vmdk: cannot read flat extent \"f.img\" at offset 512"));
}

#[test]
fn bad_magic_of_a_named_sparse_extent() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.vmdk", &[0x55u8; 2048]);
    let d = descriptor("twoGbMaxExtentSparse", "RW 4 SPARSE \"s.vmdk\"", "");
    write(dir.path(), "d.vmdk", d.as_bytes());
    let e = open(&dir.path().join("d.vmdk"), &OpenOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "vmdk: sparse header of extent \"s.vmdk\" at offset 0: magic is 0x55555555, expected 0x564d444b (\"KDMV\")"
    );
}

#[test]
fn delta_disk_reads_through_its_parent_only_when_followed() {
    let dir = tempfile::tempdir().unwrap();
    // Parent: every grain stored.
    let mut p = small_spec(false);
    p.grains = (0..13)
        .map(|g| (g, G::Data(pattern(100 + g as u8, 4096))))
        .collect();
    p.descriptor = Some(descriptor(
        "monolithicSparse",
        "RW 100 SPARSE \"base.vmdk\"",
        "",
    ));
    let pb = build(&p);
    write(dir.path(), "base.vmdk", &pb.bytes);
    // Child: a few grains of its own, one zeroed grain, the rest from the parent.
    let mut c = small_spec(false);
    c.descriptor = Some(
        descriptor(
            "monolithicSparse",
            "RW 100 SPARSE \"child.vmdk\"",
            "parentFileNameHint=\"base.vmdk\"",
        )
        .replace("parentCID=ffffffff", "parentCID=1A2B3C4D"),
    );
    let cb = build(&c);
    write(dir.path(), "child.vmdk", &cb.bytes);

    let mut want = pb.expected.clone();
    for (g, content) in &c.grains {
        let r = (*g as usize * 4096)..((*g as usize + 1) * 4096).min(want.len());
        match content {
            G::Zero => want[r].fill(0),
            G::Data(_) => want[r.clone()].copy_from_slice(&cb.expected[r]),
        }
    }

    let opts = OpenOptions {
        follow_backing: true,
        ..OpenOptions::default()
    };
    let disk = open(&dir.path().join("child.vmdk"), &opts).unwrap();
    let bref = disk.facts.backing.as_ref().unwrap();
    assert_eq!(bref.reference, "base.vmdk");
    assert!(bref.followed);
    assert_eq!(bref.parent.as_ref().unwrap().format, Format::Vmdk);
    assert!(disk.anomalies.is_empty(), "{:?}", disk.anomalies);
    check_reads(&*disk.source(), &want);

    // Not followed: the parent's regions read as zeros, and an anomaly says so.
    let disk = open(&dir.path().join("child.vmdk"), &OpenOptions::default()).unwrap();
    assert!(!disk.facts.backing.as_ref().unwrap().followed);
    assert_eq!(disk.anomalies.len(), 1);
    assert!(disk.anomalies[0].message.contains("not followed"));
    assert!(read_all(&*disk.source()) == cb.expected);

    // A parent whose CID changed is flagged.
    let mut pb2 = pb.bytes.clone();
    let at = pb2.windows(8).position(|w| w == b"1a2b3c4d").unwrap();
    pb2[at..at + 8].copy_from_slice(b"99999999");
    write(dir.path(), "base.vmdk", &pb2);
    let disk = open(&dir.path().join("child.vmdk"), &opts).unwrap();
    assert!(disk.anomalies.iter().any(|a| a
        .message
        .contains("parentCID is 1A2B3C4D, but the parent \"base.vmdk\" has CID 99999999")));
}

/// Deterministic mutations of small images: opening and reading must never panic or hang.
#[test]
fn mutated_images_never_panic() {
    let images = [
        build(&small_spec(false)).bytes,
        build(&small_spec(true)).bytes,
        {
            let mut s = small_spec(true);
            s.gd_at_end = true;
            build(&s).bytes
        },
    ];
    let mut x = 0x1234_5678u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut opened = 0;
    for img in &images {
        for _ in 0..700 {
            let mut m = img.clone();
            for _ in 0..1 + next() % 4 {
                let i = next() as usize % m.len();
                // Bias towards the header, descriptor and tables.
                let i = if next() % 2 == 0 { i % 2048 } else { i };
                m[i] = next() as u8;
            }
            if next() % 10 == 0 {
                m.truncate(next() as usize % m.len());
            }
            if let Ok(disk) = open_mem(m) {
                opened += 1;
                let src = disk.source();
                let len = src.len().min(1 << 20) as usize;
                let mut buf = vec![0u8; len];
                let _ = src.read_exact_at(&mut buf, 0);
            }
        }
    }
    assert!(opened > 100, "only {opened} mutated images opened");
}

#[test]
fn redundant_grain_directory_replaces_a_broken_primary() {
    let b = build(&small_spec(false));
    let mut x = b.bytes.clone();
    // Copy the grain directory to the end and declare it as the redundant one.
    let rgd_sector = (x.len() / S) as u64;
    let gd_copy = x[b.gd_off..b.gt_off].to_vec();
    x.extend_from_slice(&gd_copy);
    pad(&mut x);
    let flags = u32::from_le_bytes(x[8..12].try_into().unwrap()) | 2;
    put32(&mut x, 8, flags);
    put64(&mut x, 48, rgd_sector);

    // One primary table pointer broken: that table comes from the redundant directory.
    let mut y = x.clone();
    put32(&mut y, b.gd_off + 4, 900_000);
    let disk = open_mem(y).unwrap();
    assert_eq!(disk.anomalies.len(), 1, "{:?}", disk.anomalies);
    assert_eq!(
        disk.anomalies[0].structure,
        "grain table 1 of extent \"renamed.vmdk\""
    );
    check_reads(&*disk.source(), &b.expected);

    // The whole primary directory past the end: the redundant one is used.
    let mut y = x.clone();
    put64(&mut y, 56, 1_000_000);
    let disk = open_mem(y).unwrap();
    assert_eq!(disk.anomalies.len(), 1, "{:?}", disk.anomalies);
    assert_eq!(
        disk.anomalies[0].structure,
        "grain directory of extent \"renamed.vmdk\""
    );
    assert!(disk.anomalies[0].message.contains("run past the end"));
    check_reads(&*disk.source(), &b.expected);
}

#[test]
fn grain_table_memory_is_bounded_across_extents() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = small_spec(false);
    s.descriptor = None;
    let sp = build(&s);
    write(dir.path(), "s1.vmdk", &sp.bytes);
    write(dir.path(), "s2.vmdk", &sp.bytes);
    let d = descriptor(
        "twoGbMaxExtentSparse",
        "RW 100 SPARSE \"s1.vmdk\"\nRW 100 SPARSE \"s2.vmdk\"",
        "",
    );
    write(dir.path(), "d.vmdk", d.as_bytes());
    // Each extent has 13 grains: 52 bytes of table. Room for one extent only.
    let opts = OpenOptions {
        limits: Limits {
            max_table_bytes: 80,
            ..Limits::default()
        },
        ..OpenOptions::default()
    };
    let e = open(&dir.path().join("d.vmdk"), &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "vmdk: grain tables of extent \"s2.vmdk\" at offset 0: total grain table size in bytes is 104, above the limit of 80"
    );
    let opts = OpenOptions {
        limits: Limits {
            max_table_bytes: 104,
            ..Limits::default()
        },
        ..OpenOptions::default()
    };
    let disk = open(&dir.path().join("d.vmdk"), &opts).unwrap();
    let mut want = sp.expected.clone();
    want.extend_from_slice(&sp.expected);
    check_reads(&*disk.source(), &want);
}

#[test]
fn grain_cache_stays_bounded() {
    // Compressed 64 KiB grains (qemu's size) read twice through the cache.
    let mut s = Spec::new(8 * 128, 128);
    s.compressed = true;
    s.version = 3;
    s.grains = (0..8)
        .map(|g| (g, G::Data(pattern(g as u8, 128 * S))))
        .collect();
    let b = build(&s);
    let disk = open_mem(b.bytes).unwrap();
    for _ in 0..2 {
        check_reads(&*disk.source(), &b.expected);
    }
    // The cache itself: 100 grains of 64 KiB into a 4 MiB budget.
    let cache = super::sparse::GrainCache::default();
    for g in 0..100u64 {
        cache.put(7, g, vec![g as u8; 65536].into());
    }
    assert_eq!(cache.held_bytes(), 4 << 20);
    assert!(cache.get(7, 35).is_none());
    assert_eq!(cache.get(7, 99).unwrap()[0], 99);
    assert!(cache.get(8, 99).is_none());
    // A grain larger than the budget is still held alone.
    cache.put(1, 1, vec![0u8; 5 << 20].into());
    assert_eq!(cache.held_bytes(), 5 << 20);
}

#[test]
fn batched_grain_tables_crossing_the_end_lose_only_the_broken_tables() {
    // 128 entries of 4 bytes: one sector per table, so back-to-back tables are read together.
    let mut s = Spec::new(4 * 128, 1);
    s.gtes = 128;
    s.grains = vec![(3, G::Data(pattern(1, S))), (200, G::Data(pattern(2, S)))];
    let b = build(&s);
    let disk = open_mem(b.bytes.clone()).unwrap();
    assert!(disk.anomalies.is_empty(), "{:?}", disk.anomalies);
    check_reads(&*disk.source(), &b.expected);

    // Tables 0 and 1 moved to the last two sectors (readable), 2 and 3 just past the end.
    let mut x = b.bytes.clone();
    let end = (x.len() / S) as u32;
    // The last two sectors become tables 0 and 1: copy the real ones there.
    let t01 = x[b.gt_off..b.gt_off + 2 * S].to_vec();
    x.extend_from_slice(&t01);
    for t in 0..4u32 {
        put32(&mut x, b.gd_off + 4 * t as usize, end + t);
    }
    let disk = open_mem(x).unwrap();
    let names: Vec<&str> = disk
        .anomalies
        .iter()
        .map(|a| a.structure.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "grain table 2 of extent \"<memory>\"",
            "grain table 3 of extent \"<memory>\""
        ]
    );
    let src = disk.source();
    let mut buf = vec![0u8; 128 * S];
    src.read_exact_at(&mut buf, 0).unwrap();
    assert!(buf == b.expected[..128 * S]);
    assert!(src.read_exact_at(&mut buf, 2 * 128 * S as u64).is_err());
}
