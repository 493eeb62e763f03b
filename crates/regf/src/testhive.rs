//! Test support: a builder of synthetic hives, cell by cell, following the specification's
//! layouts, so the unit tests can produce every list type, big data and every kind of damage.
#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

pub const NONE: u32 = 0xFFFF_FFFF;
const BLOCK: usize = 4096;

pub struct Builder {
    pub bins: Vec<u8>,
    bin_start: usize,
    bin_end: usize,
    cursor: usize,
    pub minor: u32,
    pub seq: (u32, u32),
    pub root: u32,
    pub file_type: u32,
}

impl Builder {
    pub fn new() -> Self {
        let mut b = Builder {
            bins: Vec::new(),
            bin_start: 0,
            bin_end: 0,
            cursor: 0,
            minor: 5,
            seq: (7, 7),
            root: NONE,
            file_type: 0,
        };
        b.new_bin(BLOCK);
        b
    }

    fn close_bin(&mut self) {
        if self.cursor < self.bin_end {
            let free = (self.bin_end - self.cursor) as i32;
            self.bins[self.cursor..self.cursor + 4].copy_from_slice(&free.to_le_bytes());
        }
    }

    fn new_bin(&mut self, size: usize) {
        if !self.bins.is_empty() {
            self.close_bin();
        }
        let start = self.bins.len();
        self.bins.resize(start + size, 0);
        self.bins[start..start + 4].copy_from_slice(b"hbin");
        self.bins[start + 4..start + 8].copy_from_slice(&(start as u32).to_le_bytes());
        self.bins[start + 8..start + 12].copy_from_slice(&(size as u32).to_le_bytes());
        self.bin_start = start;
        self.bin_end = start + size;
        self.cursor = start + 32;
    }

    /// Append an allocated cell holding `data`; returns its cell offset.
    pub fn alloc(&mut self, data: &[u8]) -> u32 {
        let size = (4 + data.len() + 7) & !7;
        if self.cursor + size > self.bin_end {
            let need = (size + 32).div_ceil(BLOCK) * BLOCK;
            self.new_bin(need);
        }
        let off = self.cursor;
        self.bins[off..off + 4].copy_from_slice(&(-(size as i32)).to_le_bytes());
        self.bins[off + 4..off + 4 + data.len()].copy_from_slice(data);
        self.cursor += size;
        let _ = self.bin_start;
        off as u32
    }

    /// Overwrite a u32 field at `field` bytes into the data of the cell at `cell`.
    pub fn put_u32(&mut self, cell: u32, field: usize, v: u32) {
        let at = cell as usize + 4 + field;
        self.bins[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    pub fn put_u16(&mut self, cell: u32, field: usize, v: u16) {
        let at = cell as usize + 4 + field;
        self.bins[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    /// Overwrite the size field of a cell.
    pub fn put_size(&mut self, cell: u32, size: i32) {
        let at = cell as usize;
        self.bins[at..at + 4].copy_from_slice(&size.to_le_bytes());
    }

    fn name_bytes(name: &str) -> (Vec<u8>, bool) {
        if name.chars().all(|c| (c as u32) < 256) {
            (name.chars().map(|c| c as u8).collect(), true)
        } else {
            (
                name.encode_utf16().flat_map(u16::to_le_bytes).collect(),
                false,
            )
        }
    }

    /// A key node without subkeys or values.
    pub fn nk(&mut self, name: &str, parent: u32) -> u32 {
        let (nb, compressed) = Self::name_bytes(name);
        let mut d = Vec::new();
        d.extend_from_slice(b"nk");
        let flags: u16 = if compressed { 0x20 } else { 0 } | if parent == NONE { 0x2C } else { 0 };
        d.extend_from_slice(&flags.to_le_bytes());
        d.extend_from_slice(&0x01D9_0000_0000_0000u64.to_le_bytes()); // last written
        for v in [
            0, parent, 0, 0, NONE, NONE, 0, NONE, NONE, NONE, 0, 0, 0, 0, 0,
        ] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&(nb.len() as u16).to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&nb);
        let off = self.alloc(&d);
        if parent == NONE {
            self.root = off;
        }
        off
    }

    pub fn set_subkeys(&mut self, nk: u32, count: u32, list: u32) {
        self.put_u32(nk, 20, count);
        self.put_u32(nk, 28, list);
    }

    pub fn set_values(&mut self, nk: u32, count: u32, list: u32) {
        self.put_u32(nk, 36, count);
        self.put_u32(nk, 40, list);
    }

    pub fn set_parent(&mut self, nk: u32, parent: u32) {
        self.put_u32(nk, 16, parent);
    }

    /// A leaf list (`lf`, `lh` with zero hints/hashes, or `li`).
    pub fn leaf(&mut self, sig: &[u8; 2], keys: &[u32]) -> u32 {
        let mut d = sig.to_vec();
        d.extend_from_slice(&(keys.len() as u16).to_le_bytes());
        for &k in keys {
            d.extend_from_slice(&k.to_le_bytes());
            if sig != b"li" {
                d.extend_from_slice(&0u32.to_le_bytes());
            }
        }
        self.alloc(&d)
    }

    /// An index root: an `li`-shaped list of subkeys lists.
    pub fn ri(&mut self, lists: &[u32]) -> u32 {
        let off = self.leaf(b"li", lists);
        let at = off as usize + 4;
        self.bins[at..at + 2].copy_from_slice(b"ri");
        off
    }

    /// Add keys named `names` below `parent` in one list of type `sig`; returns their offsets.
    pub fn children(&mut self, parent: u32, sig: &[u8; 2], names: &[&str]) -> Vec<u32> {
        let kids: Vec<u32> = names.iter().map(|n| self.nk(n, parent)).collect();
        let list = self.leaf(sig, &kids);
        self.set_subkeys(parent, kids.len() as u32, list);
        kids
    }

    /// A key value; data of up to 4 bytes is stored inline, larger than 16,344 bytes as big data.
    pub fn vk(&mut self, name: &str, ty: u32, data: &[u8]) -> u32 {
        let (size, off) = if data.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..data.len()].copy_from_slice(data);
            (data.len() as u32 | 0x8000_0000, u32::from_le_bytes(inline))
        } else if data.len() > 16_344 {
            (data.len() as u32, self.big_data(data))
        } else {
            (data.len() as u32, self.alloc(data))
        };
        self.vk_raw(name, ty, size, off)
    }

    pub fn vk_raw(&mut self, name: &str, ty: u32, size_field: u32, data_off: u32) -> u32 {
        let (nb, compressed) = Self::name_bytes(name);
        let mut d = b"vk".to_vec();
        d.extend_from_slice(&(nb.len() as u16).to_le_bytes());
        d.extend_from_slice(&size_field.to_le_bytes());
        d.extend_from_slice(&data_off.to_le_bytes());
        d.extend_from_slice(&ty.to_le_bytes());
        d.extend_from_slice(&(if compressed { 1u16 } else { 0 }).to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&nb);
        self.alloc(&d)
    }

    pub fn big_data(&mut self, data: &[u8]) -> u32 {
        let segs: Vec<u32> = data.chunks(16_344).map(|c| self.alloc(c)).collect();
        let list: Vec<u8> = segs.iter().flat_map(|s| s.to_le_bytes()).collect();
        let list_off = self.alloc(&list);
        let mut d = b"db".to_vec();
        d.extend_from_slice(&(segs.len() as u16).to_le_bytes());
        d.extend_from_slice(&list_off.to_le_bytes());
        self.alloc(&d)
    }

    pub fn values(&mut self, nk: u32, vks: &[u32]) -> u32 {
        let list: Vec<u8> = vks.iter().flat_map(|s| s.to_le_bytes()).collect();
        let off = self.alloc(&list);
        self.set_values(nk, vks.len() as u32, off);
        off
    }

    /// The whole file: base block (checksum computed) + hive bins.
    pub fn finish(mut self) -> Vec<u8> {
        self.close_bin();
        let mut base = vec![0u8; BLOCK];
        base[0..4].copy_from_slice(b"regf");
        let fields: [(usize, u32); 9] = [
            (4, self.seq.0),
            (8, self.seq.1),
            (20, 1),
            (24, self.minor),
            (28, self.file_type),
            (32, 1),
            (36, self.root),
            (40, self.bins.len() as u32),
            (44, 1),
        ];
        for (o, v) in fields {
            base[o..o + 4].copy_from_slice(&v.to_le_bytes());
        }
        let name: Vec<u8> = "SYNTHETIC"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        base[48..48 + name.len()].copy_from_slice(&name);
        fix_checksum(&mut base);
        base.extend_from_slice(&self.bins);
        base
    }
}

/// Recompute the base block checksum of a whole hive file in place.
pub fn fix_checksum(file: &mut [u8]) {
    let mut c = 0u32;
    for i in 0..127 {
        c ^= u32::from_le_bytes(file[i * 4..i * 4 + 4].try_into().unwrap());
    }
    file[508..512].copy_from_slice(&c.to_le_bytes());
}
