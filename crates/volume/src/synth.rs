//! Test helpers: synthesise GPT and MBR disks in memory with correct CRCs, and a sparse source
//! for disks too large to hold in memory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::panic,
    missing_docs
)]

use imgcheck_core::{BlockSource, ReadError};
use std::collections::BTreeMap;
use std::sync::Mutex;

pub const ESP: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
pub const LINUX_FS: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
pub const LINUX_SWAP: &str = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F";
pub const DISK_GUID: &str = "11111111-2222-3333-4455-66778899AABB";

/// Canonical GUID text to GPT's mixed-endian bytes.
pub fn guid_raw(s: &str) -> [u8; 16] {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let mut b = [0u8; 16];
    for i in 0..16 {
        b[i] = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

#[derive(Clone, Debug)]
pub struct GptPart {
    pub index: usize,
    pub type_guid: &'static str,
    pub unique: String,
    pub start: u64,
    pub end: u64,
    pub attrs: u64,
    pub name: &'static str,
}

pub fn part(
    index: usize,
    type_guid: &'static str,
    start: u64,
    end: u64,
    name: &'static str,
) -> GptPart {
    GptPart {
        index,
        type_guid,
        unique: format!("AAAAAAAA-BBBB-CCCC-DDDD-{:012X}", index + 1),
        start,
        end,
        attrs: 0,
        name,
    }
}

#[derive(Clone, Debug)]
pub struct GptSpec {
    pub ss: u32,
    pub disk_sectors: u64,
    pub entry_size: u32,
    pub num_entries: u32,
    pub parts: Vec<GptPart>,
    /// Write a protective MBR.
    pub protective: bool,
}

impl GptSpec {
    pub fn new(ss: u32, disk_sectors: u64, parts: Vec<GptPart>) -> GptSpec {
        GptSpec {
            ss,
            disk_sectors,
            entry_size: 128,
            num_entries: 128,
            parts,
            protective: true,
        }
    }
    pub fn array_sectors(&self) -> u64 {
        (u64::from(self.num_entries) * u64::from(self.entry_size)).div_ceil(u64::from(self.ss))
    }
    pub fn first_usable(&self) -> u64 {
        2 + self.array_sectors()
    }
    pub fn last_lba(&self) -> u64 {
        self.disk_sectors - 1
    }
    pub fn last_usable(&self) -> u64 {
        self.last_lba() - 1 - self.array_sectors()
    }
    pub fn backup_array_lba(&self) -> u64 {
        self.last_lba() - self.array_sectors()
    }
}

/// Write a 16-byte MBR entry into slot `slot` of the sector at byte `sector_off`.
pub fn mbr_entry(
    disk: &mut [u8],
    sector_off: usize,
    slot: usize,
    status: u8,
    ty: u8,
    start: u32,
    sectors: u32,
) {
    let at = sector_off + 446 + 16 * slot;
    disk[at] = status;
    disk[at + 4] = ty;
    disk[at + 8..at + 12].copy_from_slice(&start.to_le_bytes());
    disk[at + 12..at + 16].copy_from_slice(&sectors.to_le_bytes());
    disk[sector_off + 510] = 0x55;
    disk[sector_off + 511] = 0xAA;
}

fn entry_array(spec: &GptSpec) -> Vec<u8> {
    let es = spec.entry_size as usize;
    let mut arr = vec![0u8; spec.num_entries as usize * es];
    for p in &spec.parts {
        let e = &mut arr[p.index * es..(p.index + 1) * es];
        e[0..16].copy_from_slice(&guid_raw(p.type_guid));
        e[16..32].copy_from_slice(&guid_raw(&p.unique));
        e[32..40].copy_from_slice(&p.start.to_le_bytes());
        e[40..48].copy_from_slice(&p.end.to_le_bytes());
        e[48..56].copy_from_slice(&p.attrs.to_le_bytes());
        for (i, u) in p.name.encode_utf16().enumerate() {
            e[56 + 2 * i..58 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
    }
    arr
}

#[allow(clippy::too_many_arguments)]
fn header(spec: &GptSpec, my: u64, alt: u64, entries_lba: u64, entries_crc: u32) -> Vec<u8> {
    let mut h = vec![0u8; 92];
    h[0..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&my.to_le_bytes());
    h[32..40].copy_from_slice(&alt.to_le_bytes());
    h[40..48].copy_from_slice(&spec.first_usable().to_le_bytes());
    h[48..56].copy_from_slice(&spec.last_usable().to_le_bytes());
    h[56..72].copy_from_slice(&guid_raw(DISK_GUID));
    h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
    h[80..84].copy_from_slice(&spec.num_entries.to_le_bytes());
    h[84..88].copy_from_slice(&spec.entry_size.to_le_bytes());
    h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
    let crc = crc32fast::hash(&h);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

/// A whole GPT disk: protective MBR, primary header + array, backup array + header.
pub fn build_gpt(spec: &GptSpec) -> Vec<u8> {
    let ss = spec.ss as usize;
    let mut disk = vec![0u8; ss * spec.disk_sectors as usize];
    if spec.protective {
        let size = u32::try_from(spec.disk_sectors - 1).unwrap_or(u32::MAX);
        mbr_entry(&mut disk, 0, 0, 0, 0xEE, 1, size);
        disk[440..444].copy_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
    }
    let arr = entry_array(spec);
    let crc = crc32fast::hash(&arr);
    let p = header(spec, 1, spec.last_lba(), 2, crc);
    disk[ss..ss + 92].copy_from_slice(&p);
    disk[2 * ss..2 * ss + arr.len()].copy_from_slice(&arr);
    let bal = spec.backup_array_lba() as usize;
    disk[bal * ss..bal * ss + arr.len()].copy_from_slice(&arr);
    let b = header(spec, spec.last_lba(), 1, spec.backup_array_lba(), crc);
    let last = spec.last_lba() as usize;
    disk[last * ss..last * ss + 92].copy_from_slice(&b);
    disk
}

/// Recompute the header CRC of the header at `lba` (after editing its fields).
pub fn fix_header_crc(disk: &mut [u8], ss: u32, lba: u64) {
    let off = (lba * u64::from(ss)) as usize;
    let hs = u32::from_le_bytes(disk[off + 12..off + 16].try_into().unwrap()) as usize;
    let hs = hs.min(ss as usize);
    disk[off + 16..off + 20].fill(0);
    let crc = crc32fast::hash(&disk[off..off + hs]);
    disk[off + 16..off + 20].copy_from_slice(&crc.to_le_bytes());
}

/// Set a u32 field of the header at `lba` and fix its CRC.
pub fn set_header_u32(disk: &mut [u8], ss: u32, lba: u64, field: usize, v: u32) {
    let off = (lba * u64::from(ss)) as usize + field;
    disk[off..off + 4].copy_from_slice(&v.to_le_bytes());
    fix_header_crc(disk, ss, lba);
}

/// Set a u64 field of the header at `lba` and fix its CRC.
pub fn set_header_u64(disk: &mut [u8], ss: u32, lba: u64, field: usize, v: u64) {
    let off = (lba * u64::from(ss)) as usize + field;
    disk[off..off + 8].copy_from_slice(&v.to_le_bytes());
    fix_header_crc(disk, ss, lba);
}

/// Recompute the entry-array CRC recorded in the header at `lba`, then its header CRC.
pub fn fix_array_crc(disk: &mut [u8], ss: u32, lba: u64) {
    let off = (lba * u64::from(ss)) as usize;
    let rd = |o: usize| u64::from_le_bytes(disk[off + o..off + o + 8].try_into().unwrap());
    let entries_lba = rd(72);
    let n = u32::from_le_bytes(disk[off + 80..off + 84].try_into().unwrap()) as usize;
    let es = u32::from_le_bytes(disk[off + 84..off + 88].try_into().unwrap()) as usize;
    let a = (entries_lba * u64::from(ss)) as usize;
    let crc = crc32fast::hash(&disk[a..a + n * es]);
    disk[off + 88..off + 92].copy_from_slice(&crc.to_le_bytes());
    fix_header_crc(disk, ss, lba);
}

/// A large disk of zeros with a few sectors written: for LBAs beyond what fits in memory.
pub struct SparseDisk {
    pub len: u64,
    pub chunks: BTreeMap<u64, Vec<u8>>,
    pub reads: Mutex<u64>,
}

impl SparseDisk {
    pub fn new(len: u64) -> SparseDisk {
        SparseDisk {
            len,
            chunks: BTreeMap::new(),
            reads: Mutex::new(0),
        }
    }
    pub fn write(&mut self, offset: u64, data: &[u8]) {
        self.chunks.insert(offset, data.to_vec());
    }
}

impl BlockSource for SparseDisk {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        *self.reads.lock().unwrap() += 1;
        let n = buf.len() as u64;
        if offset.checked_add(n).is_none_or(|e| e > self.len) {
            return Err(ReadError::OutOfBounds {
                offset,
                len: n,
                size: self.len,
            });
        }
        buf.fill(0);
        for (&co, data) in &self.chunks {
            let ce = co + data.len() as u64;
            let s = co.max(offset);
            let e = ce.min(offset + n);
            if s < e {
                buf[(s - offset) as usize..(e - offset) as usize]
                    .copy_from_slice(&data[(s - co) as usize..(e - co) as usize]);
            }
        }
        Ok(())
    }
}

/// A source whose every read fails with an I/O error.
pub struct FailingDisk(pub u64);

impl BlockSource for FailingDisk {
    fn len(&self) -> u64 {
        self.0
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        Err(ReadError::Io {
            offset,
            len: buf.len() as u64,
            source: std::io::Error::other("injected failure"),
        })
    }
}
