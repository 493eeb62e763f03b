//! The Btrfs volume: superblock selection, the logical→physical chunk map (bootstrapped from
//! `sys_chunk_array`, completed from the chunk tree), tree block reads with checksum, bytenr,
//! fsid and level checks, and the generic bounded B-tree range search.

use super::ondisk::{
    self, parse_chunk, parse_header, parse_superblock, profile_name, Chunk, Key, Superblock,
    BG_DUP, BG_RAID0, BG_RAID1, BG_RAID1C3, BG_RAID1C4, CHUNK_ITEM_KEY, FIRST_CHUNK_TREE_OBJECTID,
    HEADER_SIZE, ITEM_SIZE, KEY_PTR_SIZE, KEY_SIZE, MAX_LEVEL, SUPER_OFFSETS, SUPER_SIZE,
};
use super::{corrupt, FS};
use crate::FsError;
use imgcheck_core::bytes::{u32_le, u64_le};
use imgcheck_core::{BlockSource, Limits};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Tree blocks visited by one search before it is declared corrupt (a DAG of shared blocks
/// could otherwise make a small image cost exponential work). A million 16 KiB blocks is 16 GiB
/// of metadata, beyond any real directory or file.
const MAX_BLOCKS_PER_SEARCH: u32 = 1_000_000;
/// Tree blocks kept parsed in memory (about 8 MiB with 16 KiB nodes).
const NODE_CACHE_ENTRIES: usize = 512;
/// Chunks accepted in the map (a 1 PiB filesystem with 1 GiB chunks has a million).
const MAX_CHUNKS: usize = 4_000_000;

/// Called for each item found by [`Volume::search`]; returns `false` to stop the search.
pub(crate) type Visitor<'a> = dyn FnMut(Key, &[u8]) -> Result<bool, FsError> + 'a;

/// Where a tree starts: root block address and its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TreeRoot {
    pub(crate) bytenr: u64,
    pub(crate) level: u8,
}

/// An opened Btrfs volume (shared by every subvolume view).
pub(crate) struct Volume {
    src: Arc<dyn BlockSource>,
    pub(crate) sb: Superblock,
    chunks: BTreeMap<u64, Chunk>,
    pub(crate) limits: Limits,
    /// Whether tree block checksums are verified (crc32c only).
    pub(crate) verify_csum: bool,
    cache: Mutex<HashMap<u64, Arc<[u8]>>>,
    /// Notes gathered while opening (superblock copy used, …).
    pub(crate) notes: Vec<String>,
    /// Root of the csum tree once found (`None` inside: the volume has none).
    pub(crate) csum_root: std::sync::OnceLock<Option<TreeRoot>>,
}

impl Volume {
    /// Read the superblock copies, pick the valid one with the highest generation, and build
    /// the chunk map.
    pub(crate) fn open(src: Arc<dyn BlockSource>, limits: &Limits) -> Result<Volume, FsError> {
        let mut best: Option<Superblock> = None;
        let mut first_err = None;
        let mut notes = Vec::new();
        for &off in &SUPER_OFFSETS {
            let end = off.saturating_add(4096);
            if end > src.len() {
                break;
            }
            let mut buf = vec![0u8; SUPER_SIZE];
            let parsed = src
                .read_exact_at(&mut buf, off)
                .map_err(|source| FsError::Read {
                    fs: FS,
                    structure: "superblock".into(),
                    offset: off,
                    source,
                })
                .and_then(|()| parse_superblock(&buf, off));
            match parsed {
                Ok(sb) => {
                    if best.as_ref().is_none_or(|b| sb.generation > b.generation) {
                        best = Some(sb);
                    }
                }
                Err(e) => {
                    // A mirror that was never written (all zeros) is normal on small volumes.
                    if off == SUPER_OFFSETS[0] {
                        notes.push(format!("primary superblock unusable: {e}"));
                    }
                    first_err.get_or_insert(e);
                }
            }
        }
        let Some(sb) = best else {
            return Err(first_err.unwrap_or_else(|| {
                corrupt(
                    "superblock",
                    format!("volume of {} bytes is too small", src.len()),
                )
            }));
        };
        if sb.offset != SUPER_OFFSETS[0] {
            notes.push(format!("using the superblock copy at offset {}", sb.offset));
        }
        if sb.incompat_flags & ondisk::INCOMPAT_EXTENT_TREE_V2 != 0 {
            return Err(FsError::Unsupported {
                fs: FS,
                path: "/".into(),
                feature: "the extent-tree-v2 format".into(),
            });
        }
        // Every defined type (crc32c, xxhash64, sha256, blake2b) is computed: tree blocks and
        // data are verified; an unknown type is read unverified with a note.
        let verify_csum = super::csum::computable(sb.csum_type);
        if !verify_csum {
            notes.push(format!(
                "tree block and data checksums ({}) not verified: unknown checksum type",
                super::csum::csum_name(sb.csum_type)
            ));
        }
        let mut vol = Volume {
            src,
            sb,
            chunks: BTreeMap::new(),
            limits: limits.clone(),
            verify_csum,
            cache: Mutex::new(HashMap::new()),
            notes,
            csum_root: std::sync::OnceLock::new(),
        };
        vol.bootstrap_chunks()?;
        vol.load_chunk_tree()?;
        vol.check_profiles()?;
        Ok(vol)
    }

    fn bootstrap_chunks(&mut self) -> Result<(), FsError> {
        let arr = self.sb.sys_chunk_array.clone();
        let st = "sys_chunk_array of the superblock";
        let mut off = 0usize;
        while off < arr.len() {
            let key = Key::parse(&arr, off)
                .ok_or_else(|| corrupt(st, format!("key at byte {off} is truncated")))?;
            if key.ty != CHUNK_ITEM_KEY {
                return Err(corrupt(
                    st,
                    format!("item at byte {off} is {key}, not a chunk"),
                ));
            }
            off = off.saturating_add(KEY_SIZE);
            let (chunk, used) = parse_chunk(arr.get(off..).unwrap_or_default(), key.offset, st)?;
            self.insert_chunk(chunk, st)?;
            off = off.saturating_add(used);
        }
        if self.chunks.is_empty() {
            return Err(corrupt(st, "no system chunk".into()));
        }
        Ok(())
    }

    fn insert_chunk(&mut self, chunk: Chunk, st: &str) -> Result<(), FsError> {
        if chunk.logical.checked_add(chunk.length).is_none() {
            return Err(corrupt(st, format!("chunk at {} overflows", chunk.logical)));
        }
        if self.chunks.len() >= MAX_CHUNKS {
            return Err(FsError::Limit {
                fs: FS,
                path: "/".into(),
                what: "chunks",
                actual: u64::try_from(self.chunks.len()).unwrap_or(u64::MAX),
                limit: u64::try_from(MAX_CHUNKS).unwrap_or(u64::MAX),
            });
        }
        self.chunks.insert(chunk.logical, chunk);
        Ok(())
    }

    fn load_chunk_tree(&mut self) -> Result<(), FsError> {
        let root = TreeRoot {
            bytenr: self.sb.chunk_root,
            level: self.sb.chunk_root_level,
        };
        let mut found = Vec::new();
        let min = Key::new(FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM_KEY, 0);
        let max = Key::new(FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM_KEY, u64::MAX);
        self.search(root, min, max, &mut |k, data| {
            let st = format!("chunk item {k} in the chunk tree");
            found.push(parse_chunk(data, k.offset, &st)?.0);
            Ok(true)
        })?;
        for c in found {
            self.insert_chunk(c, "chunk tree")?;
        }
        Ok(())
    }

    /// Multi-device striped or parity profiles cannot be read from one device image: refuse up
    /// front, naming the profile and the device count.
    fn check_profiles(&self) -> Result<(), FsError> {
        for c in self.chunks.values() {
            let profile = profile_name(c.ty);
            let all_here = c.stripes.iter().all(|s| s.devid == self.sb.devid);
            let readable = match profile {
                "single" | "dup" | "raid1" | "raid1c3" | "raid1c4" => true,
                "raid0" => all_here,
                _ => false,
            };
            if !readable {
                return Err(FsError::Unsupported {
                    fs: FS,
                    path: "/".into(),
                    feature: format!(
                        "the {profile} profile on {} devices (chunk at logical {})",
                        self.sb.num_devices, c.logical
                    ),
                });
            }
        }
        Ok(())
    }

    /// The chunk containing `logical`.
    fn chunk_for(&self, logical: u64) -> Result<&Chunk, FsError> {
        self.chunks
            .range(..=logical)
            .next_back()
            .map(|(_, c)| c)
            .filter(|c| logical < c.logical.saturating_add(c.length))
            .ok_or_else(|| {
                corrupt(
                    "chunk map",
                    format!("no chunk maps logical address {logical}"),
                )
            })
    }

    /// How many copies of `logical` this device holds (≥ 1 when readable).
    pub(crate) fn copies(&self, logical: u64) -> Result<usize, FsError> {
        let c = self.chunk_for(logical)?;
        if c.ty & (BG_DUP | BG_RAID1 | BG_RAID1C3 | BG_RAID1C4) != 0 {
            Ok(c.stripes
                .iter()
                .filter(|s| s.devid == self.sb.devid)
                .count()
                .max(1))
        } else {
            Ok(1)
        }
    }

    /// Physical offset of `logical` in copy `mirror`, and how many bytes stay contiguous.
    fn map(&self, logical: u64, mirror: usize) -> Result<(u64, u64), FsError> {
        let c = self.chunk_for(logical)?;
        let rel = logical.saturating_sub(c.logical);
        let left_in_chunk = c.length.saturating_sub(rel);
        let here: Vec<_> = c
            .stripes
            .iter()
            .filter(|s| s.devid == self.sb.devid)
            .collect();
        if c.ty & BG_RAID0 != 0 {
            let n = u64::try_from(c.stripes.len()).unwrap_or(1).max(1);
            let sl = c.stripe_len;
            if sl == 0 {
                return Err(corrupt(
                    "chunk map",
                    format!("raid0 chunk at {} has stripe length 0", c.logical),
                ));
            }
            let stripe_nr = rel.checked_div(sl).unwrap_or(0);
            let idx = usize::try_from(stripe_nr.checked_rem(n).unwrap_or(0)).unwrap_or(0);
            let s = c
                .stripes
                .get(idx)
                .ok_or_else(|| corrupt("chunk map", "raid0 stripe index".into()))?;
            let within = rel.checked_rem(sl).unwrap_or(0);
            let phys = s
                .offset
                .checked_add(stripe_nr.checked_div(n).unwrap_or(0).saturating_mul(sl))
                .and_then(|p| p.checked_add(within))
                .ok_or_else(|| {
                    corrupt("chunk map", format!("raid0 address {logical} overflows"))
                })?;
            return Ok((phys, sl.saturating_sub(within).min(left_in_chunk)));
        }
        let s = here.get(mirror).or_else(|| here.first()).ok_or_else(|| FsError::Unsupported {
            fs: FS,
            path: "/".into(),
            feature: format!(
                "logical address {logical} lives on another device of this {}-device filesystem ({} chunk)",
                self.sb.num_devices,
                profile_name(c.ty)
            ),
        })?;
        let phys = s
            .offset
            .checked_add(rel)
            .ok_or_else(|| corrupt("chunk map", format!("address {logical} overflows")))?;
        Ok((phys, left_in_chunk))
    }

    /// Read `buf.len()` bytes at logical address `logical` (copy `mirror` where there are
    /// several), crossing chunk boundaries as needed.
    pub(crate) fn read_logical(
        &self,
        logical: u64,
        buf: &mut [u8],
        mirror: usize,
        what: &str,
    ) -> Result<(), FsError> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = logical
                .checked_add(u64::try_from(done).unwrap_or(u64::MAX))
                .ok_or_else(|| corrupt(what, format!("logical address {logical} overflows")))?;
            let (phys, contiguous) = self.map(at, mirror)?;
            let want = usize::try_from(contiguous)
                .unwrap_or(usize::MAX)
                .min(buf.len().saturating_sub(done));
            if want == 0 {
                return Err(corrupt(what, format!("empty mapping at logical {at}")));
            }
            let part = buf
                .get_mut(done..done.saturating_add(want))
                .ok_or_else(|| corrupt(what, "read position out of range".into()))?;
            self.src
                .read_exact_at(part, phys)
                .map_err(|source| FsError::Read {
                    fs: FS,
                    structure: format!("{what} (logical {at})"),
                    offset: phys,
                    source,
                })?;
            done = done.saturating_add(want);
        }
        Ok(())
    }

    /// Read and check the tree block at `bytenr`, expected at `level`.
    pub(crate) fn node(&self, bytenr: u64, level: u8) -> Result<Arc<[u8]>, FsError> {
        if let Ok(c) = self.cache.lock() {
            if let Some(n) = c.get(&bytenr) {
                let l = parse_header(n).map(|h| h.level);
                if l == Some(level) {
                    return Ok(n.clone());
                }
            }
        }
        let size = usize::try_from(self.sb.nodesize).unwrap_or(16384);
        let st = format!("tree block at logical {bytenr}");
        let copies = self.copies(bytenr)?;
        let mut first_err = None;
        for mirror in 0..copies {
            let mut buf = vec![0u8; size];
            let res = self
                .read_logical(bytenr, &mut buf, mirror, &st)
                .and_then(|()| self.check_node(&buf, bytenr, level, &st));
            match res {
                Ok(()) => {
                    let node: Arc<[u8]> = buf.into();
                    if let Ok(mut c) = self.cache.lock() {
                        if c.len() >= NODE_CACHE_ENTRIES {
                            c.clear();
                        }
                        c.insert(bytenr, node.clone());
                    }
                    return Ok(node);
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| corrupt(&st, "no readable copy".into())))
    }

    fn check_node(&self, b: &[u8], bytenr: u64, level: u8, st: &str) -> Result<(), FsError> {
        if self.verify_csum {
            super::csum::check_block(self.sb.csum_type, b).map_err(|p| corrupt(st, p))?;
        }
        let h = parse_header(b).ok_or_else(|| corrupt(st, "header truncated".into()))?;
        if h.bytenr != bytenr {
            return Err(corrupt(
                st,
                format!("header bytenr is {}, expected {bytenr}", h.bytenr),
            ));
        }
        if h.fsid != self.sb.metadata_uuid {
            return Err(corrupt(
                st,
                "header fsid differs from the superblock's".into(),
            ));
        }
        if h.level != level {
            return Err(corrupt(
                st,
                format!(
                    "level is {}, expected {level} (levels must decrease by one)",
                    h.level
                ),
            ));
        }
        let per = if level == 0 { ITEM_SIZE } else { KEY_PTR_SIZE };
        let cap = b
            .len()
            .saturating_sub(HEADER_SIZE)
            .checked_div(per)
            .unwrap_or(0);
        if usize::try_from(h.nritems).unwrap_or(usize::MAX) > cap {
            return Err(corrupt(
                st,
                format!("{} items do not fit in the block", h.nritems),
            ));
        }
        let _ = h.owner;
        Ok(())
    }

    /// Visit every item with `min <= key <= max` in key order; `visit` returns `false` to stop.
    pub(crate) fn search(
        &self,
        root: TreeRoot,
        min: Key,
        max: Key,
        visit: &mut Visitor<'_>,
    ) -> Result<(), FsError> {
        if root.level > MAX_LEVEL {
            return Err(corrupt(
                &format!("tree root at logical {}", root.bytenr),
                format!("level {} above the maximum of {MAX_LEVEL}", root.level),
            ));
        }
        let mut budget = MAX_BLOCKS_PER_SEARCH;
        self.walk(root.bytenr, root.level, min, max, visit, &mut budget)
            .map(|_| ())
    }

    fn walk(
        &self,
        bytenr: u64,
        level: u8,
        min: Key,
        max: Key,
        visit: &mut Visitor<'_>,
        budget: &mut u32,
    ) -> Result<bool, FsError> {
        *budget = budget.checked_sub(1).ok_or_else(|| {
            corrupt(
                &format!("tree block at logical {bytenr}"),
                format!("a search visited more than {MAX_BLOCKS_PER_SEARCH} blocks"),
            )
        })?;
        let node = self.node(bytenr, level)?;
        let st = || format!("tree block at logical {bytenr}");
        let n = parse_header(&node)
            .map(|h| usize::try_from(h.nritems).unwrap_or(0))
            .unwrap_or(0);
        if level == 0 {
            for i in 0..n {
                let at = i
                    .checked_mul(ITEM_SIZE)
                    .and_then(|o| o.checked_add(HEADER_SIZE))
                    .ok_or_else(|| corrupt(&st(), "item offset overflows".into()))?;
                let key = Key::parse(&node, at)
                    .ok_or_else(|| corrupt(&st(), format!("item {i} truncated")))?;
                if key < min {
                    continue;
                }
                if key > max {
                    return Ok(false);
                }
                let off = u32_le(&node, at.saturating_add(KEY_SIZE)).unwrap_or(u32::MAX);
                let size = u32_le(&node, at.saturating_add(KEY_SIZE + 4)).unwrap_or(u32::MAX);
                let start = usize::try_from(off)
                    .ok()
                    .and_then(|o| o.checked_add(HEADER_SIZE));
                let data =
                    start.and_then(|s| node.get(s..s.checked_add(usize::try_from(size).ok()?)?));
                let data = data.ok_or_else(|| {
                    corrupt(
                        &st(),
                        format!("item {i} {key}: data at {off}+{size} outside the block"),
                    )
                })?;
                if !visit(key, data)? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        let child_level = level.saturating_sub(1);
        for i in 0..n {
            let at = i
                .checked_mul(KEY_PTR_SIZE)
                .and_then(|o| o.checked_add(HEADER_SIZE))
                .ok_or_else(|| corrupt(&st(), "pointer offset overflows".into()))?;
            let key = Key::parse(&node, at)
                .ok_or_else(|| corrupt(&st(), format!("pointer {i} truncated")))?;
            if key > max {
                return Ok(false);
            }
            if i.saturating_add(1) < n {
                let next_at = at.saturating_add(KEY_PTR_SIZE);
                if let Some(next) = Key::parse(&node, next_at) {
                    if next <= min {
                        continue;
                    }
                }
            }
            let child = u64_le(&node, at.saturating_add(KEY_SIZE))
                .ok_or_else(|| corrupt(&st(), format!("pointer {i} truncated")))?;
            if child == bytenr {
                return Err(corrupt(
                    &st(),
                    format!("pointer {i} points to the block itself"),
                ));
            }
            if !self.walk(child, child_level, min, max, visit, budget)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
