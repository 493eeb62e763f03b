//! Unit tests: qcow2 images synthesised in memory by a small writer that follows the spec, read
//! back through the registry, and every error path with its message.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::panic
)]

use crate::{open_source, ContainerError, OpenContext, OpenOptions, VirtualDisk};
use imgcheck_core::{BlockSource, ErrorKind, Limits, MemSource};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

const COPIED: u64 = 1 << 63;
const COMPRESSED: u64 = 1 << 62;

/// A minimal qcow2 writer: header cluster, L1 table right after it, then L2 tables and data
/// appended in call order.
struct Builder {
    version: u32,
    cluster_bits: u32,
    size: u64,
    ext_l2: bool,
    incompat: u64,
    compression_type: u8,
    crypt: u32,
    exts: Vec<(u32, Vec<u8>)>,
    backing: Option<String>,
    l1_size_override: Option<u32>,
    l1_offset_override: Option<u64>,
    header_length_override: Option<u32>,
    file: Vec<u8>,
    l1: Vec<u64>,
    l2: HashMap<u64, u64>,
}

impl Builder {
    fn new(version: u32, cluster_bits: u32, size: u64) -> Builder {
        Builder::with_ext_l2(version, cluster_bits, size, false)
    }

    fn with_ext_l2(version: u32, cluster_bits: u32, size: u64, ext_l2: bool) -> Builder {
        let cs = 1u64 << cluster_bits;
        let per_l2 = cs / if ext_l2 { 16 } else { 8 };
        let l1_entries = size.div_ceil(cs).div_ceil(per_l2).max(1);
        let l1_clusters = (l1_entries * 8).div_ceil(cs);
        Builder {
            version,
            cluster_bits,
            size,
            ext_l2,
            incompat: if ext_l2 { 1 << 4 } else { 0 },
            compression_type: 0,
            crypt: 0,
            exts: Vec::new(),
            backing: None,
            l1_size_override: None,
            l1_offset_override: None,
            header_length_override: None,
            file: vec![0u8; ((1 + l1_clusters) * cs) as usize],
            l1: vec![0u64; l1_entries as usize],
            l2: HashMap::new(),
        }
    }

    fn cs(&self) -> u64 {
        1 << self.cluster_bits
    }

    fn esize(&self) -> u64 {
        if self.ext_l2 {
            16
        } else {
            8
        }
    }

    /// Pad the file to a cluster boundary and append one cluster holding `bytes`.
    fn alloc(&mut self, bytes: &[u8]) -> u64 {
        let cs = self.cs() as usize;
        let end = self.file.len().div_ceil(cs) * cs;
        self.file.resize(end + cs, 0);
        self.file[end..end + bytes.len()].copy_from_slice(bytes);
        end as u64
    }

    /// Append bytes right at the end of the file (compressed data is not aligned).
    fn append(&mut self, bytes: &[u8]) -> u64 {
        let off = self.file.len() as u64;
        self.file.extend_from_slice(bytes);
        off
    }

    fn set_entry(&mut self, vcluster: u64, w0: u64, w1: u64) -> u64 {
        let per = self.cs() / self.esize();
        let l1i = vcluster / per;
        let table = match self.l2.get(&l1i) {
            Some(t) => *t,
            None => {
                let t = self.alloc(&[]);
                self.l2.insert(l1i, t);
                self.l1[l1i as usize] = t | COPIED;
                t
            }
        };
        let pos = (table + (vcluster % per) * self.esize()) as usize;
        self.file[pos..pos + 8].copy_from_slice(&w0.to_be_bytes());
        if self.ext_l2 {
            self.file[pos + 8..pos + 16].copy_from_slice(&w1.to_be_bytes());
        }
        pos as u64
    }

    fn data(&mut self, vcluster: u64, bytes: &[u8]) -> u64 {
        let host = self.alloc(bytes);
        self.set_entry(vcluster, host | COPIED, u64::from(u32::MAX));
        host
    }

    fn compressed(&mut self, vcluster: u64, comp: &[u8]) {
        let off = self.append(comp);
        let x = 62 - (self.cluster_bits - 8);
        let sectors = (off % 512 + comp.len() as u64).div_ceil(512) - 1;
        self.set_entry(vcluster, COMPRESSED | (sectors << x) | off, 0);
    }

    fn build(&self) -> Vec<u8> {
        let mut f = self.file.clone();
        let cs = self.cs();
        let l1_off = self.l1_offset_override.unwrap_or(cs);
        for (i, e) in self.l1.iter().enumerate() {
            let p = (cs as usize) + i * 8;
            f[p..p + 8].copy_from_slice(&e.to_be_bytes());
        }
        let mut h = Vec::new();
        h.extend_from_slice(b"QFI\xfb");
        h.extend_from_slice(&self.version.to_be_bytes());
        h.extend_from_slice(&0u64.to_be_bytes()); // backing_file_offset, patched below
        h.extend_from_slice(&0u32.to_be_bytes()); // backing_file_size
        h.extend_from_slice(&self.cluster_bits.to_be_bytes());
        h.extend_from_slice(&self.size.to_be_bytes());
        h.extend_from_slice(&self.crypt.to_be_bytes());
        let l1_size = self.l1_size_override.unwrap_or(self.l1.len() as u32);
        h.extend_from_slice(&l1_size.to_be_bytes());
        h.extend_from_slice(&l1_off.to_be_bytes());
        h.extend_from_slice(&0u64.to_be_bytes()); // refcount_table_offset (not read)
        h.extend_from_slice(&0u32.to_be_bytes()); // refcount_table_clusters
        h.extend_from_slice(&0u32.to_be_bytes()); // nb_snapshots
        h.extend_from_slice(&0u64.to_be_bytes()); // snapshots_offset
        assert_eq!(h.len(), 72);
        if self.version >= 3 {
            h.extend_from_slice(&self.incompat.to_be_bytes());
            h.extend_from_slice(&0u64.to_be_bytes());
            h.extend_from_slice(&0u64.to_be_bytes());
            h.extend_from_slice(&4u32.to_be_bytes());
            h.extend_from_slice(&self.header_length_override.unwrap_or(112).to_be_bytes());
            h.push(self.compression_type);
            h.resize(112, 0);
        }
        for (t, data) in &self.exts {
            h.extend_from_slice(&t.to_be_bytes());
            h.extend_from_slice(&(data.len() as u32).to_be_bytes());
            h.extend_from_slice(data);
            h.resize(h.len().div_ceil(8) * 8, 0);
        }
        h.extend_from_slice(&[0u8; 8]); // end of extensions
        if let Some(b) = &self.backing {
            let off = h.len() as u64;
            h[8..16].copy_from_slice(&off.to_be_bytes());
            h[16..20].copy_from_slice(&(b.len() as u32).to_be_bytes());
            h.extend_from_slice(b.as_bytes());
        }
        f[..h.len()].copy_from_slice(&h);
        f
    }
}

fn open_bytes(bytes: Vec<u8>) -> Result<VirtualDisk, ContainerError> {
    open_source(
        Arc::new(MemSource::new(bytes)),
        &OpenContext::detached(&OpenOptions::default()),
    )
}

fn read_all(d: &VirtualDisk) -> Vec<u8> {
    let src = d.source();
    let mut v = vec![0u8; src.len() as usize];
    src.read_exact_at(&mut v, 0).unwrap();
    v
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn pattern(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn v2_data_and_holes() {
    let mut b = Builder::new(2, 12, 10 * 4096 + 1000);
    let mut want = vec![0u8; 10 * 4096 + 1000];
    for vc in [0u64, 3, 4, 10] {
        let p = pattern(vc as u8, 4096);
        b.data(vc, &p);
        let s = (vc * 4096) as usize;
        let e = (s + 4096).min(want.len());
        want[s..e].copy_from_slice(&p[..e - s]);
    }
    let d = open_bytes(b.build()).unwrap();
    assert_eq!(d.facts.format, crate::Format::Qcow2);
    assert_eq!(d.facts.version.as_deref(), Some("2"));
    assert_eq!(d.facts.details["compat"], "0.10");
    assert_eq!(d.facts.details["refcount_bits"], "16");
    assert_eq!(d.facts.details["extended_l2"], "false");
    assert_eq!(d.facts.cluster_size, Some(4096));
    assert_eq!(d.facts.virtual_size, 10 * 4096 + 1000);
    // Three whole clusters plus the 1000 bytes of the last, partial one.
    assert_eq!(d.facts.allocated_bytes, Some(3 * 4096 + 1000));
    assert_eq!(d.source().allocated_bytes(), Some(3 * 4096 + 1000));
    assert_eq!(d.facts.compression, None);
    assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
    assert_eq!(read_all(&d), want);
    // Unaligned reads across cluster boundaries (coalesced runs).
    let src = d.source();
    for (off, len) in [
        (4000u64, 5000usize),
        (3 * 4096 - 1, 2 * 4096 + 2),
        (1, 1),
        (40000, 1960),
    ] {
        let mut buf = vec![0xEEu8; len];
        src.read_exact_at(&mut buf, off).unwrap();
        assert_eq!(
            buf,
            want[off as usize..off as usize + len],
            "at {off}+{len}"
        );
    }
    // Past the end.
    let mut buf = [0u8; 2];
    assert!(src.read_exact_at(&mut buf, 10 * 4096 + 999).is_err());
}

#[test]
fn v3_zero_clusters_dirty_and_names() {
    let mut b = Builder::new(3, 9, 8 * 512);
    b.incompat |= 1; // dirty
    b.data(0, &[1u8; 512]);
    let host = b.data(1, &[2u8; 512]);
    // A zero cluster that still has a (preallocated) host offset, and one without.
    b.set_entry(1, host | 1, 0);
    b.set_entry(2, 1, 0);
    let mut names = Vec::new();
    for (t, bit, n) in [(0u8, 0u8, "dirty"), (0, 5, "frobnicate")] {
        let mut e = vec![t, bit];
        let mut name = n.as_bytes().to_vec();
        name.resize(46, 0);
        e.extend_from_slice(&name);
        names.extend_from_slice(&e);
    }
    b.exts.push((0x6803_f857, names));
    let img = b.build();
    let d = open_bytes(img.clone()).unwrap();
    assert_eq!(d.facts.details["compat"], "1.1");
    assert!(d.facts.dirty);
    assert!(!d.facts.corrupt);
    assert_eq!(d.facts.allocated_bytes, Some(512));
    assert_eq!(d.facts.details["zero_clusters"], "2");
    assert!(d.anomalies.iter().any(|a| a
        .message
        .contains("image was not closed cleanly; refcounts may be stale")));
    let v = read_all(&d);
    assert_eq!(&v[..512], &[1u8; 512][..]);
    assert!(v[512..].iter().all(|&x| x == 0));

    // Unknown incompatible bit 5 (0x20) is refused, named from the feature table.
    let mut bad = img.clone();
    bad[79] |= 0x20;
    let e = open_bytes(bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(
        e.to_string(),
        "qcow2: unknown incompatible feature bit 5 (\"frobnicate\") is not supported"
    );
    // Without a name.
    let mut bad = img;
    bad[78] |= 0x01; // bit 8
    let e = open_bytes(bad).unwrap_err();
    assert!(e.to_string().contains("bit 8 is not supported"), "{e}");
}

#[test]
fn corrupt_bit_is_reported() {
    let mut b = Builder::new(3, 12, 4096);
    b.incompat |= 2;
    let d = open_bytes(b.build()).unwrap();
    assert!(d.facts.corrupt);
    assert!(d
        .anomalies
        .iter()
        .any(|a| a.message.contains("marked corrupt")));
}

#[test]
fn deflate_compressed_clusters() {
    let cs = 65536usize;
    let mut b = Builder::new(3, 16, 4 * cs as u64);
    let p0 = pattern(7, cs);
    let p2: Vec<u8> = (0..cs).map(|i| (i / 1000) as u8).collect();
    b.compressed(0, &deflate(&p0));
    b.compressed(2, &deflate(&p2));
    b.data(3, &pattern(9, cs));
    let d = open_bytes(b.build()).unwrap();
    assert_eq!(d.facts.compression.as_deref(), Some("zlib"));
    assert_eq!(d.facts.details["compression_type"], "zlib");
    assert_eq!(d.facts.details["compressed_clusters"], "2");
    assert_eq!(d.facts.allocated_bytes, Some(3 * cs as u64));
    let v = read_all(&d);
    assert_eq!(&v[..cs], &p0[..]);
    assert!(v[cs..2 * cs].iter().all(|&x| x == 0));
    assert_eq!(&v[2 * cs..3 * cs], &p2[..]);
    assert_eq!(&v[3 * cs..], &pattern(9, cs)[..]);
    // Small reads inside a compressed cluster (served from the decompressed cache).
    let mut small = [0u8; 100];
    d.source()
        .read_exact_at(&mut small, 2 * cs as u64 + 5000)
        .unwrap();
    assert_eq!(&small[..], &p2[5000..5100]);
}

#[test]
fn zstd_compressed_clusters() {
    let cs = 65536usize;
    let mut b = Builder::new(3, 16, 2 * cs as u64);
    b.incompat |= 1 << 3;
    b.compression_type = 1;
    let p0: Vec<u8> = (0..cs).map(|i| (i % 97) as u8).collect();
    let c = ruzstd::encoding::compress_to_vec(&p0[..], ruzstd::encoding::CompressionLevel::Fastest);
    b.compressed(1, &c);
    // Garbage after the frame, up to the sector boundary and beyond (as another cluster's data).
    b.append(&[0x5a; 700]);
    let d = open_bytes(b.build()).unwrap();
    assert_eq!(d.facts.compression.as_deref(), Some("zstd"));
    assert_eq!(d.facts.details["compression_type"], "zstd");
    let v = read_all(&d);
    assert!(v[..cs].iter().all(|&x| x == 0));
    assert_eq!(&v[cs..], &p0[..]);
}

#[test]
fn compression_type_consistency() {
    let mut b = Builder::new(3, 12, 4096);
    b.compression_type = 1; // without the bit
    let e = open_bytes(b.build()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "qcow2: header at offset 104: compression_type is 1 but the compression type bit is not set"
    );
    let mut b = Builder::new(3, 12, 4096);
    b.incompat |= 1 << 3;
    b.compression_type = 7;
    let e = open_bytes(b.build()).unwrap_err();
    assert_eq!(e.to_string(), "qcow2: compression type 7 is not supported");
}

#[test]
fn compressed_garbage_is_a_read_error() {
    let cs = 4096usize;
    let mut b = Builder::new(3, 12, 2 * cs as u64);
    b.compressed(1, &[0xffu8; 600]);
    b.data(0, &[3u8; 4096]);
    let d = open_bytes(b.build()).unwrap();
    let src = d.source();
    let mut buf = vec![0u8; 10];
    src.read_exact_at(&mut buf, 0).unwrap();
    let e = src.read_exact_at(&mut buf, cs as u64 + 10).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    let msg = chain(&e);
    assert!(
        msg.starts_with(
            "qcow2: cannot serve read at virtual offset 4106: qcow2: compressed cluster at offset "
        ),
        "{msg}"
    );
    assert!(msg.contains("zlib (") && msg.contains("deflate"), "{msg}");
}

#[test]
fn extended_l2_subclusters() {
    let cs = 32768usize; // 1 KiB subclusters
    let sub = cs / 32;
    let mut b = Builder::with_ext_l2(3, 15, 3 * cs as u64, true);
    let p = pattern(3, cs);
    let host = b.alloc(&p);
    // Subclusters 0-3 allocated, 4-7 zero, the rest unallocated (no backing: zeros).
    b.set_entry(0, host | COPIED, 0x0000_00f0_0000_000f);
    // Fully allocated cluster.
    let p1 = pattern(4, cs);
    b.data(1, &p1);
    // All-zero cluster via the zero bitmap.
    b.set_entry(2, 0, 0xffff_ffff_0000_0000);
    let d = open_bytes(b.build()).unwrap();
    assert_eq!(d.facts.details["extended_l2"], "true");
    assert_eq!(d.facts.allocated_bytes, Some((4 * sub + cs) as u64));
    let v = read_all(&d);
    assert_eq!(&v[..4 * sub], &p[..4 * sub]);
    assert!(v[4 * sub..cs].iter().all(|&x| x == 0));
    assert_eq!(&v[cs..2 * cs], &p1[..]);
    assert!(v[2 * cs..].iter().all(|&x| x == 0));
    let mut buf = vec![0u8; 3000];
    d.source().read_exact_at(&mut buf, 1500).unwrap();
    assert_eq!(&buf[..4 * sub - 1500], &p[1500..4 * sub]);

    // Allocated and zero at once is corrupt; the walk records it, the read fails.
    let mut b = Builder::with_ext_l2(3, 15, cs as u64, true);
    let host = b.alloc(&p);
    let entry = b.set_entry(0, host | COPIED, 0x0000_0001_0000_0001);
    let d = open_bytes(b.build()).unwrap();
    assert_eq!(d.facts.allocated_bytes, None);
    assert!(d
        .anomalies
        .iter()
        .any(|a| a.message.contains("both allocated and zero")));
    let e = d.source().read_exact_at(&mut buf, 0).unwrap_err();
    assert!(
        chain(&e).contains(&format!(
            "qcow2: L2 entry at offset {entry}: subclusters 0x00000001"
        )),
        "{}",
        chain(&e)
    );

    // Extended L2 needs 16 KiB clusters.
    let b = Builder::with_ext_l2(3, 13, 8192, true);
    let e = open_bytes(b.build()).unwrap_err();
    assert!(e.to_string().contains("at least 16 KiB"), "{e}");
}

#[test]
fn subclusters_read_from_backing() {
    let dir = tempfile::tempdir().unwrap();
    let cs = 16384usize;
    let sub = cs / 32;
    let base: Vec<u8> = pattern(77, 2 * cs);
    std::fs::write(dir.path().join("base.raw"), &base).unwrap();
    let mut b = Builder::with_ext_l2(3, 14, 2 * cs as u64, true);
    b.backing = Some("base.raw".to_string());
    let mut fmt = b"raw".to_vec();
    fmt.resize(3, 0);
    b.exts.push((0xe279_2aca, fmt));
    let p = pattern(1, cs);
    let host = b.alloc(&p);
    // subcluster 0 allocated, 1 zero, others from the backing file
    b.set_entry(0, host | COPIED, 0x0000_0002_0000_0001);
    let img = dir.path().join("ov.qcow2");
    std::fs::write(&img, b.build()).unwrap();

    let opts = OpenOptions {
        follow_backing: true,
        ..OpenOptions::default()
    };
    let d = crate::open(&img, &opts).unwrap();
    let backing = d.facts.backing.as_ref().unwrap();
    assert!(backing.followed);
    assert_eq!(backing.reference, "base.raw");
    assert_eq!(backing.format.as_deref(), Some("raw"));
    assert_eq!(d.facts.details["backing_format"], "raw");
    let v = read_all(&d);
    assert_eq!(&v[..sub], &p[..sub]);
    assert!(v[sub..2 * sub].iter().all(|&x| x == 0));
    assert_eq!(&v[2 * sub..], &base[2 * sub..]);

    // Not followed: zeros and an anomaly; the reference is still recorded.
    let d = crate::open(&img, &OpenOptions::default()).unwrap();
    let backing = d.facts.backing.as_ref().unwrap();
    assert!(!backing.followed);
    assert!(d
        .anomalies
        .iter()
        .any(|a| a.message.contains("not followed")));
    let v = read_all(&d);
    assert!(v[2 * sub..].iter().all(|&x| x == 0));
}

#[test]
fn backing_chain_of_qcow2() {
    let dir = tempfile::tempdir().unwrap();
    let cs = 4096usize;
    let mut base = Builder::new(3, 12, 4 * cs as u64);
    base.data(0, &[0xb0; 4096]);
    base.data(1, &[0xb1; 4096]);
    base.data(2, &[0xb2; 4096]);
    std::fs::write(dir.path().join("base.qcow2"), base.build()).unwrap();
    let mut ov = Builder::new(2, 12, 4 * cs as u64);
    ov.backing = Some("base.qcow2".to_string());
    ov.data(1, &[0x01; 4096]);
    std::fs::write(dir.path().join("ov.qcow2"), ov.build()).unwrap();
    let opts = OpenOptions {
        follow_backing: true,
        ..OpenOptions::default()
    };
    let d = crate::open(&dir.path().join("ov.qcow2"), &opts).unwrap();
    let v = read_all(&d);
    assert!(v[..cs].iter().all(|&x| x == 0xb0));
    assert!(v[cs..2 * cs].iter().all(|&x| x == 0x01));
    assert!(v[2 * cs..3 * cs].iter().all(|&x| x == 0xb2));
    assert!(v[3 * cs..].iter().all(|&x| x == 0));
    let parent = d.facts.backing.as_ref().unwrap().parent.as_ref().unwrap();
    assert_eq!(parent.format, crate::Format::Qcow2);
    assert_eq!(parent.allocated_bytes, Some(3 * cs as u64));
    assert_eq!(d.facts.allocated_bytes, Some(cs as u64));
}

#[test]
fn detached_backing_reads_zeros() {
    let mut b = Builder::new(3, 12, 8192);
    b.backing = Some("../../etc/passwd".to_string());
    let d = open_bytes(b.build()).unwrap();
    let r = d.facts.backing.as_ref().unwrap();
    assert_eq!(r.reference, "../../etc/passwd");
    assert!(!r.followed);
    assert!(read_all(&d).iter().all(|&x| x == 0));
}

#[test]
fn concurrent_reads() {
    let cs = 4096usize;
    let n = 64usize;
    let mut b = Builder::new(3, 12, (n * cs) as u64);
    let mut want = vec![0u8; n * cs];
    for vc in (0..n).step_by(3) {
        let p = pattern(vc as u8, cs);
        b.data(vc as u64, &p);
        want[vc * cs..(vc + 1) * cs].copy_from_slice(&p);
    }
    let d = open_bytes(b.build()).unwrap();
    let src = d.source();
    let want = Arc::new(want);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let src = src.clone();
            let want = want.clone();
            std::thread::spawn(move || {
                for i in 0..200usize {
                    let off = (i * 7919 + t * 104_729) % (n * cs - 5000);
                    let mut buf = vec![0u8; 5000];
                    src.read_exact_at(&mut buf, off as u64).unwrap();
                    assert_eq!(buf[..], want[off..off + 5000]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn probe_claims_any_qcow_version() {
    let mut img = Builder::new(3, 12, 4096).build();
    img[7] = 4;
    let e = open_bytes(img.clone()).unwrap_err();
    assert_eq!(e.to_string(), "qcow2: version 4 is not supported");
    img[7] = 1;
    let e = open_bytes(img.clone()).unwrap_err();
    assert!(
        e.to_string()
            .contains("version 1 (the original qcow format)"),
        "{e}"
    );
    // Not qcow at all: raw.
    img[3] = 0xfa;
    assert_eq!(open_bytes(img).unwrap().facts.format, crate::Format::Raw);
}

#[test]
fn cluster_bits_out_of_range() {
    let mut img = Builder::new(3, 12, 4096).build();
    img[20..24].copy_from_slice(&8u32.to_be_bytes());
    let e = open_bytes(img.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert_eq!(
        e.to_string(),
        "qcow2: header at offset 20: cluster_bits is 8, below the minimum of 9 (512-byte clusters)"
    );
    img[20..24].copy_from_slice(&22u32.to_be_bytes());
    let e = open_bytes(img).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("cluster_bits 22"), "{e}");
}

#[test]
fn l1_size_limits_and_consistency() {
    let mut b = Builder::new(3, 12, 4096);
    b.l1_size_override = Some(u32::MAX);
    let e = open_bytes(b.build()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert_eq!(
        e.to_string(),
        "qcow2: L1 table at offset 4096: L1 table size in bytes is 34359738360, above the limit of 268435456"
    );
    // A tighter limit from the options.
    let mut b = Builder::new(3, 12, 4096);
    b.l1_size_override = Some(100);
    let opts = OpenOptions {
        limits: Limits {
            max_table_bytes: 512,
            ..Limits::default()
        },
        ..OpenOptions::default()
    };
    let e = open_source(
        Arc::new(MemSource::new(b.build())),
        &OpenContext::detached(&opts),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    // Too small for the virtual size: 4 KiB clusters map 2 MiB per L1 entry.
    let mut b = Builder::new(3, 12, 5 << 20);
    b.l1_size_override = Some(2);
    let e = open_bytes(b.build()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "qcow2: L1 table at offset 4096: l1_size is 2, but a virtual size of 5242880 bytes needs 3 entries"
    );
    // Absurd virtual size.
    let mut b = Builder::new(3, 12, 4096);
    b.size = u64::MAX;
    let e = open_bytes(b.build()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    // Unaligned L1.
    let mut b = Builder::new(3, 12, 4096);
    b.l1_offset_override = Some(4096 + 8);
    let e = open_bytes(b.build()).unwrap_err();
    assert!(
        e.to_string()
            .contains("l1_table_offset 0x1008 is not aligned"),
        "{e}"
    );
}

#[test]
fn l2_entry_past_eof_is_a_read_error() {
    let mut b = Builder::new(3, 12, 3 * 4096);
    b.data(0, &[7u8; 4096]);
    let entry = b.set_entry(2, (1 << 40) | COPIED, 0);
    let d = open_bytes(b.build()).unwrap();
    assert_eq!(d.facts.allocated_bytes, None);
    assert!(d
        .anomalies
        .iter()
        .any(|a| a.message.contains("past the end of the file")));
    let src = d.source();
    let mut buf = vec![0u8; 4096];
    src.read_exact_at(&mut buf, 0).unwrap();
    src.read_exact_at(&mut buf, 4096).unwrap();
    let e = src.read_exact_at(&mut buf, 2 * 4096).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    let msg = chain(&e);
    assert!(
        msg.contains(&format!(
            "qcow2: L2 entry at offset {entry}: data cluster offset 0x10000000000 is past the end of the file"
        )),
        "{msg}"
    );
    // Unaligned data cluster offset.
    let mut b = Builder::new(3, 12, 4096);
    let entry = b.set_entry(0, 0x1200 | COPIED, 0);
    let d = open_bytes(b.build()).unwrap();
    let e = d.source().read_exact_at(&mut buf, 0).unwrap_err();
    assert!(
        chain(&e).contains(&format!(
            "L2 entry at offset {entry}: data cluster offset 0x1200 is not aligned"
        )),
        "{}",
        chain(&e)
    );
    // L1 entry pointing past the end.
    let mut b = Builder::new(3, 12, 4096);
    b.l1[0] = (1 << 30) | COPIED;
    let d = open_bytes(b.build()).unwrap();
    let e = d.source().read_exact_at(&mut buf, 0).unwrap_err();
    assert!(
        chain(&e).contains("qcow2: L1 entry at offset 4096: L2 table offset 0x40000000 is past the end of the file"),
        "{}",
        chain(&e)
    );
}

#[test]
fn v2_zero_flag_is_corrupt() {
    let mut b = Builder::new(2, 12, 4096);
    b.set_entry(0, 1, 0);
    let d = open_bytes(b.build()).unwrap();
    let mut buf = [0u8; 1];
    let e = d.source().read_exact_at(&mut buf, 0).unwrap_err();
    assert!(
        chain(&e).contains("zero flag set in a version 2 image"),
        "{}",
        chain(&e)
    );
}

#[test]
fn encryption_and_data_file_are_unsupported() {
    for (m, name) in [
        (1u32, "AES encryption"),
        (2, "LUKS encryption"),
        (9, "encryption method 9"),
    ] {
        let mut b = Builder::new(3, 12, 4096);
        b.crypt = m;
        let e = open_bytes(b.build()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(e.to_string(), format!("qcow2: {name} is not supported"));
    }
    let mut b = Builder::new(3, 12, 4096);
    b.incompat |= 1 << 2;
    b.exts.push((0x4441_5441, b"data.raw".to_vec()));
    let e = open_bytes(b.build()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "qcow2: external data file \"data.raw\" is not supported"
    );
}

#[test]
fn truncated_headers() {
    let img = Builder::new(3, 12, 4096).build();
    let e = open_bytes(img[..50].to_vec()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "qcow2: header at offset 0: file of 50 bytes is shorter than the 72-byte header"
    );
    let e = open_bytes(img[..90].to_vec()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "qcow2: header at offset 0: version 3 header needs 104 bytes, the file has 90"
    );
    // v3 header_length below the minimum and above the cluster.
    let mut b = Builder::new(3, 12, 4096);
    b.header_length_override = Some(96);
    let e = open_bytes(b.build()).unwrap_err();
    assert!(e.to_string().contains("header_length is 96, below"), "{e}");
    let mut b = Builder::new(3, 12, 4096);
    b.header_length_override = Some(8192);
    let e = open_bytes(b.build()).unwrap_err();
    assert!(
        e.to_string().contains("exceeds the cluster size of 4096"),
        "{e}"
    );
    // L1 table cut off.
    let e = open_bytes(img[..4100].to_vec()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("qcow2: cannot read L1 table at offset 4096"),
        "{e}"
    );
}

#[test]
fn header_extension_past_the_cluster() {
    let mut b = Builder::new(3, 9, 512);
    b.exts.push((0x1234_5678, vec![0u8; 16]));
    let mut img = b.build();
    // Extension header at 112: make its length run past the 512-byte cluster.
    img[116..120].copy_from_slice(&500u32.to_be_bytes());
    let e = open_bytes(img).unwrap_err();
    assert_eq!(
        e.to_string(),
        "qcow2: header extension at offset 112: extension 0x12345678 of 500 bytes runs past the end of the extension area at 512"
    );
    // A known but unread extension is recorded.
    let mut b = Builder::new(3, 9, 512);
    b.exts.push((0x1234_5678, vec![0u8; 16]));
    let d = open_bytes(b.build()).unwrap();
    assert_eq!(d.facts.details["unknown_header_extensions"], "0x12345678");
}

#[test]
fn backing_name_bounds() {
    let mut img = Builder::new(3, 12, 4096).build();
    img[8..16].copy_from_slice(&4000u64.to_be_bytes());
    img[16..20].copy_from_slice(&200u32.to_be_bytes());
    let e = open_bytes(img.clone()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "qcow2: backing file name at offset 4000: 200 bytes at offset 4000 run past the first cluster (4096 bytes)"
    );
    img[16..20].copy_from_slice(&2000u32.to_be_bytes());
    let e = open_bytes(img).unwrap_err();
    assert!(e.to_string().contains("above the maximum of 1023"), "{e}");
}

#[test]
fn bit_flips_never_panic() {
    // A cheap robustness sweep: flip bytes across the metadata and read everything.
    let cs = 4096usize;
    let mut b = Builder::new(3, 12, 8 * cs as u64);
    b.data(0, &pattern(1, cs));
    b.compressed(1, &deflate(&pattern(2, cs)));
    b.set_entry(2, 1, 0);
    let img = b.build();
    let meta_end = 4 * cs;
    for pos in (0..meta_end).step_by(7) {
        for x in [0xffu8, 0x80, 0x01] {
            let mut m = img.clone();
            m[pos] ^= x;
            if let Ok(d) = open_bytes(m) {
                let src = d.source();
                let len = src.len().min(1 << 20) as usize;
                let mut buf = vec![0u8; len];
                let _ = src.read_exact_at(&mut buf, 0);
            }
        }
    }
}
