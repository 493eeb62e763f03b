//! The qcow2 virtual disk: cluster mapping through the L1 and L2 tables, and the
//! [`BlockSource`] that serves guest reads from data clusters, compressed clusters,
//! subclusters, zero clusters and the backing file.
//!
//! Source: QEMU `docs/interop/qcow2.txt`, sections "Cluster mapping", "Standard Cluster
//! Descriptor", "Compressed Clusters Descriptor" and "Extended L2 Entries".
//!
//! L2 tables and decompressed clusters are kept in small bounded caches behind mutexes, held only
//! for lookups (never during I/O), so reads from several threads are fine. Contiguous runs of
//! data, zero and backing pieces are served with one read each.

use super::compress;
use super::header::Compression;
use super::{corrupt, FORMAT};
use crate::ContainerError;
use imgcheck_core::bytes::u64_be;
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, Extent, ReadError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// L1 entry bits 9–55: offset of the L2 table.
const L1_OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
/// Standard cluster descriptor bits 9–55: host cluster offset.
const L2_OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
/// L2 entry bit 62: compressed cluster.
const L2_COMPRESSED: u64 = 1 << 62;
/// Standard cluster descriptor bit 0 (v3, not extended L2): the cluster reads as zeros.
const L2_ZERO: u64 = 1;
/// Compressed sizes are counted in 512-byte sectors.
const SECTOR: u64 = 512;
/// Host offsets must lie below 2^56 (64 PiB).
const HOST_OFFSET_LIMIT: u64 = 1 << 56;
/// Subclusters per cluster with extended L2 entries.
const SUBCLUSTERS: u32 = 32;
/// Bytes of L2 tables kept in memory (32 MiB maps 256 GiB of a 64 KiB-cluster image).
const L2_CACHE_BYTES: u64 = 32 << 20;
/// Bounds on the number of cached L2 tables (eviction scans the cache).
const L2_CACHE_MIN: usize = 8;
const L2_CACHE_MAX: usize = 1024;
/// Bytes of decompressed clusters kept, so that small reads inside one compressed cluster do not
/// decompress it again each time.
const ZCACHE_BYTES: u64 = 8 << 20;
const ZCACHE_MIN: usize = 2;
const ZCACHE_MAX: usize = 128;
/// Detailed anomalies recorded by the allocation walk before summarising the rest.
const MAX_WALK_ANOMALIES: usize = 16;

/// Geometry and feature flags needed to map guest offsets.
#[derive(Debug, Clone)]
pub(super) struct Geometry {
    pub cluster_bits: u32,
    pub version: u32,
    pub extended_l2: bool,
    pub size: u64,
    pub compression: Compression,
    pub l1_table_offset: u64,
}

impl Geometry {
    fn cluster_size(&self) -> u64 {
        1u64 << self.cluster_bits
    }
    /// Bytes per L2 entry.
    fn entry_size(&self) -> u64 {
        if self.extended_l2 {
            16
        } else {
            8
        }
    }
    /// log2 of the number of entries per L2 table.
    fn l2_bits(&self) -> u32 {
        self.cluster_bits
            .saturating_sub(if self.extended_l2 { 4 } else { 3 })
    }
    fn subcluster_bits(&self) -> u32 {
        self.cluster_bits.saturating_sub(5)
    }
    /// Number of guest clusters.
    pub(super) fn clusters(&self) -> u64 {
        self.size.div_ceil(self.cluster_size())
    }
    /// L1 entries needed to map the whole disk.
    pub(super) fn l1_entries_needed(&self) -> u64 {
        self.clusters().div_ceil(1u64 << self.l2_bits())
    }
}

/// What one L2 entry says about its guest cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mapping {
    /// Read from the backing file (or zeros).
    Unallocated,
    /// Reads as zeros.
    Zero,
    /// Stored at this host offset.
    Data(u64),
    /// Compressed: host offset and byte length (clamped to the file).
    Compressed(u64, u64),
    /// Extended L2 with mixed subclusters: host offset (0 if none), allocation and zero bitmaps.
    Subclusters(u64, u32, u32),
}

/// A small LRU of byte buffers keyed by a file offset.
struct Lru {
    map: HashMap<u64, (Arc<[u8]>, u64)>,
    tick: u64,
    cap: usize,
}

impl Lru {
    fn new(cap: usize) -> Lru {
        Lru {
            map: HashMap::new(),
            tick: 0,
            cap,
        }
    }
    fn get(&mut self, key: u64) -> Option<Arc<[u8]>> {
        self.tick = self.tick.wrapping_add(1);
        let t = self.tick;
        self.map.get_mut(&key).map(|(v, used)| {
            *used = t;
            v.clone()
        })
    }
    /// Insert without evicting anything (warming the cache).
    fn insert_if_room(&mut self, key: u64, v: Arc<[u8]>) {
        if self.map.len() < self.cap {
            self.insert(key, v);
        }
    }
    fn insert(&mut self, key: u64, v: Arc<[u8]>) {
        if self.map.len() >= self.cap && !self.map.contains_key(&key) {
            if let Some(old) = self
                .map
                .iter()
                .min_by_key(|(_, (_, u))| *u)
                .map(|(k, _)| *k)
            {
                self.map.remove(&old);
            }
        }
        self.tick = self.tick.wrapping_add(1);
        self.map.insert(key, (v, self.tick));
    }
}

/// True when `v` is not a multiple of the power of two `align`.
pub(super) fn misaligned(v: u64, align: u64) -> bool {
    v & align.saturating_sub(1) != 0
}

fn lock(m: &Mutex<Lru>) -> std::sync::MutexGuard<'_, Lru> {
    // A poisoned cache is still a valid cache (entries are immutable buffers).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The decoded qcow2 virtual disk.
pub(super) struct Qcow2Disk {
    file: Arc<dyn BlockSource>,
    file_len: u64,
    geom: Geometry,
    /// The L1 entries needed to map the disk, as stored (big-endian).
    l1: Vec<u8>,
    backing: Option<Arc<dyn BlockSource>>,
    l2_cache: Mutex<Lru>,
    zcache: Mutex<Lru>,
    allocated: Option<u64>,
}

/// Result of walking every L2 table once at open.
#[derive(Debug, Default)]
pub(super) struct Allocation {
    /// Guest bytes stored in this layer (data and compressed clusters, allocated subclusters).
    pub allocated_bytes: Option<u64>,
    pub compressed_clusters: u64,
    pub zero_clusters: u64,
    pub anomalies: Vec<Anomaly>,
}

/// One piece of a read waiting to be served together with its neighbours.
#[derive(Debug, Clone, Copy)]
enum RunKind {
    Data(u64),
    Zero,
    Backing,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    kind: RunKind,
    /// Start in the caller's buffer.
    start: usize,
    len: usize,
    /// Guest offset of the first byte.
    voff: u64,
}

impl Qcow2Disk {
    /// A disk over `file`; `l1` holds the needed L1 entries (big-endian, 8 bytes each).
    pub(super) fn new(
        file: Arc<dyn BlockSource>,
        geom: Geometry,
        l1: Vec<u8>,
        backing: Option<Arc<dyn BlockSource>>,
    ) -> Qcow2Disk {
        let cs = geom.cluster_size();
        let cap = |bytes: u64, min: usize, max: usize| {
            usize::try_from(bytes.checked_div(cs).unwrap_or(0))
                .unwrap_or(max)
                .clamp(min, max)
        };
        Qcow2Disk {
            file_len: file.len(),
            file,
            l1,
            backing,
            l2_cache: Mutex::new(Lru::new(cap(L2_CACHE_BYTES, L2_CACHE_MIN, L2_CACHE_MAX))),
            zcache: Mutex::new(Lru::new(cap(ZCACHE_BYTES, ZCACHE_MIN, ZCACHE_MAX))),
            geom,
            allocated: None,
        }
    }

    pub(super) fn set_allocated(&mut self, a: Option<u64>) {
        self.allocated = a;
    }

    /// File offset of L1 entry `index`.
    fn l1_entry_offset(&self, index: u64) -> u64 {
        self.geom
            .l1_table_offset
            .saturating_add(index.saturating_mul(8))
    }

    /// The L2 table offset for L1 index `index`, or `None` when unallocated.
    fn l2_offset(&self, index: u64) -> Result<Option<u64>, ContainerError> {
        let Some(entry) = usize::try_from(index.saturating_mul(8))
            .ok()
            .and_then(|o| u64_be(&self.l1, o))
        else {
            return Ok(None);
        };
        let off = entry & L1_OFFSET_MASK;
        if off == 0 {
            return Ok(None);
        }
        let cs = self.geom.cluster_size();
        if misaligned(off, cs) {
            return Err(corrupt(
                "L1 entry",
                self.l1_entry_offset(index),
                format!("L2 table offset {off:#x} is not aligned to the cluster size of {cs}"),
            ));
        }
        if off >= self.file_len {
            return Err(corrupt(
                "L1 entry",
                self.l1_entry_offset(index),
                format!(
                    "L2 table offset {off:#x} is past the end of the file ({} bytes)",
                    self.file_len
                ),
            ));
        }
        Ok(Some(off))
    }

    /// Read one L2 table from the file (no cache).
    fn load_l2(&self, off: u64) -> Result<Arc<[u8]>, ContainerError> {
        let n = usize::try_from(self.geom.cluster_size())
            .map_err(|_| corrupt("L2 table", off, "cluster size overflows"))?;
        let mut buf = vec![0u8; n];
        self.file
            .read_exact_at(&mut buf, off)
            .map_err(|e| ContainerError::read(FORMAT, "L2 table", off, e))?;
        Ok(Arc::from(buf))
    }

    /// An L2 table through the cache.
    fn l2_table(&self, off: u64) -> Result<Arc<[u8]>, ContainerError> {
        if let Some(t) = lock(&self.l2_cache).get(off) {
            return Ok(t);
        }
        let t = self.load_l2(off)?;
        lock(&self.l2_cache).insert(off, t.clone());
        Ok(t)
    }

    /// Decode L2 entry `index` of `table` (at file offset `table_off`).
    fn decode_entry(
        &self,
        table: &[u8],
        table_off: u64,
        index: u64,
    ) -> Result<Mapping, ContainerError> {
        let esize = self.geom.entry_size();
        let pos = index.saturating_mul(esize);
        let entry_off = table_off.saturating_add(pos);
        let at = usize::try_from(pos).unwrap_or(usize::MAX);
        let word = u64_be(table, at)
            .ok_or_else(|| corrupt("L2 entry", entry_off, "entry lies outside its table"))?;
        let cs = self.geom.cluster_size();
        let bad = |problem: String| corrupt("L2 entry", entry_off, problem);
        if word & L2_COMPRESSED != 0 {
            // x = 62 - (cluster_bits - 8): bits 0..x-1 are the offset, x..61 the extra sectors.
            let x = 62u32.saturating_sub(self.geom.cluster_bits.saturating_sub(8));
            let host = word & ((1u64 << x).saturating_sub(1));
            let sector_bits = 62u32.saturating_sub(x);
            let extra = (word >> x) & ((1u64 << sector_bits).saturating_sub(1));
            if host >= HOST_OFFSET_LIMIT {
                return Err(bad(format!(
                    "compressed cluster offset {host:#x} is above the 56-bit limit"
                )));
            }
            if host >= self.file_len {
                return Err(bad(format!(
                    "compressed cluster offset {host:#x} is past the end of the file ({} bytes)",
                    self.file_len
                )));
            }
            let len = extra
                .saturating_add(1)
                .saturating_mul(SECTOR)
                .saturating_sub(host % SECTOR);
            // The last sector may extend past a file that was not padded to a sector.
            let len = len.min(self.file_len.saturating_sub(host));
            return Ok(Mapping::Compressed(host, len));
        }
        let host = word & L2_OFFSET_MASK;
        let check_host = |host: u64| -> Result<(), ContainerError> {
            if misaligned(host, cs) {
                return Err(bad(format!(
                    "data cluster offset {host:#x} is not aligned to the cluster size of {cs}"
                )));
            }
            if host >= self.file_len {
                return Err(bad(format!(
                    "data cluster offset {host:#x} is past the end of the file ({} bytes)",
                    self.file_len
                )));
            }
            Ok(())
        };
        if self.geom.extended_l2 {
            let bitmap = u64_be(table, at.saturating_add(8))
                .ok_or_else(|| corrupt("L2 entry", entry_off, "entry lies outside its table"))?;
            let alloc = u32::try_from(bitmap & 0xffff_ffff).unwrap_or(0);
            let zero = u32::try_from(bitmap >> 32).unwrap_or(0);
            if alloc & zero != 0 {
                return Err(bad(format!(
                    "subclusters {:#010x} are marked both allocated and zero",
                    alloc & zero
                )));
            }
            if alloc == 0 {
                return Ok(match zero {
                    0 => Mapping::Unallocated,
                    u32::MAX => Mapping::Zero,
                    _ => Mapping::Subclusters(0, 0, zero),
                });
            }
            if host == 0 {
                return Err(bad(format!(
                    "subclusters {alloc:#010x} are allocated but the cluster offset is 0"
                )));
            }
            check_host(host)?;
            return Ok(if alloc == u32::MAX {
                Mapping::Data(host)
            } else {
                Mapping::Subclusters(host, alloc, zero)
            });
        }
        if word & L2_ZERO != 0 {
            if self.geom.version < 3 {
                return Err(bad("zero flag set in a version 2 image".to_string()));
            }
            return Ok(Mapping::Zero);
        }
        if host == 0 {
            return Ok(Mapping::Unallocated);
        }
        check_host(host)?;
        Ok(Mapping::Data(host))
    }

    /// The mapping of guest cluster `vcluster`, reusing `cur` (the last table used) when possible.
    fn mapping(
        &self,
        vcluster: u64,
        cur: &mut Option<(u64, Arc<[u8]>)>,
    ) -> Result<Mapping, ContainerError> {
        let l2_bits = self.geom.l2_bits();
        let l1_index = vcluster >> l2_bits;
        let l2_index = vcluster & ((1u64 << l2_bits).saturating_sub(1));
        let Some(table_off) = self.l2_offset(l1_index)? else {
            return Ok(Mapping::Unallocated);
        };
        let table = match cur {
            Some((o, t)) if *o == table_off => t.clone(),
            _ => {
                let t = self.l2_table(table_off)?;
                *cur = Some((table_off, t.clone()));
                t
            }
        };
        self.decode_entry(&table, table_off, l2_index)
    }

    /// One decompressed cluster, through the cache.
    fn decompressed(&self, host: u64, len: u64) -> Result<Arc<[u8]>, ContainerError> {
        if let Some(c) = lock(&self.zcache).get(host) {
            return Ok(c);
        }
        let cs = self.geom.cluster_size();
        // The descriptor's sector count bounds the input to about two clusters.
        let max_in = cs.saturating_mul(2).saturating_add(SECTOR);
        if len > max_in {
            return Err(corrupt(
                "compressed cluster",
                host,
                format!("compressed length {len} exceeds {max_in} bytes"),
            ));
        }
        let mut input = vec![0u8; usize::try_from(len).unwrap_or(0)];
        self.file
            .read_exact_at(&mut input, host)
            .map_err(|e| ContainerError::read(FORMAT, "compressed cluster", host, e))?;
        let mut out = vec![0u8; usize::try_from(cs).unwrap_or(0)];
        compress::decompress(self.geom.compression, &input, &mut out).map_err(|problem| {
            corrupt(
                "compressed cluster",
                host,
                format!("{} ({len} bytes): {problem}", self.geom.compression.name()),
            )
        })?;
        let out: Arc<[u8]> = Arc::from(out);
        lock(&self.zcache).insert(host, out.clone());
        Ok(out)
    }

    /// Serve one coalesced run into `buf`.
    fn flush(&self, buf: &mut [u8], run: Run) -> Result<(), ContainerError> {
        let end = run.start.saturating_add(run.len);
        let Some(piece) = buf.get_mut(run.start..end) else {
            return Ok(());
        };
        match run.kind {
            RunKind::Zero => piece.fill(0),
            RunKind::Backing => match &self.backing {
                Some(b) => b
                    .read_exact_at(piece, run.voff)
                    .map_err(|e| ContainerError::read(FORMAT, "backing file", run.voff, e))?,
                None => piece.fill(0),
            },
            RunKind::Data(host) => {
                // A cluster that starts inside the file but ends past it (a file not padded to
                // whole clusters) reads as zeros past the end, as qemu does.
                let avail = self.file_len.saturating_sub(host);
                let have = usize::try_from(avail)
                    .unwrap_or(usize::MAX)
                    .min(piece.len());
                let (head, tail) = piece.split_at_mut(have);
                if !head.is_empty() {
                    self.file
                        .read_exact_at(head, host)
                        .map_err(|e| ContainerError::read(FORMAT, "data cluster", host, e))?;
                }
                tail.fill(0);
            }
        }
        Ok(())
    }

    fn read_inner(&self, buf: &mut [u8], offset: u64) -> Result<(), ContainerError> {
        let cs = self.geom.cluster_size();
        let sub_bits = self.geom.subcluster_bits();
        let sub_size = 1u64 << sub_bits;
        let mut cur: Option<(u64, Arc<[u8]>)> = None;
        let mut pending: Option<Run> = None;
        let mut done = 0usize;

        // Append a piece to the pending run or flush and start a new one.
        let push = |this: &Self,
                    buf: &mut [u8],
                    pending: &mut Option<Run>,
                    kind: RunKind,
                    start: usize,
                    len: usize,
                    voff: u64|
         -> Result<(), ContainerError> {
            if let Some(p) = pending {
                let contiguous = match (p.kind, kind) {
                    (RunKind::Data(h0), RunKind::Data(h1)) => {
                        h0.checked_add(u64::try_from(p.len).unwrap_or(u64::MAX)) == Some(h1)
                    }
                    (RunKind::Zero, RunKind::Zero) | (RunKind::Backing, RunKind::Backing) => true,
                    _ => false,
                };
                if contiguous && p.start.saturating_add(p.len) == start {
                    p.len = p.len.saturating_add(len);
                    return Ok(());
                }
                let old = *p;
                *pending = None;
                this.flush(buf, old)?;
            }
            *pending = Some(Run {
                kind,
                start,
                len,
                voff,
            });
            Ok(())
        };

        while done < buf.len() {
            let pos = offset.saturating_add(u64::try_from(done).unwrap_or(u64::MAX));
            let vcluster = pos >> self.geom.cluster_bits;
            let within = pos & (cs.saturating_sub(1));
            let take = usize::try_from(cs.saturating_sub(within))
                .unwrap_or(usize::MAX)
                .min(buf.len().saturating_sub(done));
            match self.mapping(vcluster, &mut cur)? {
                Mapping::Unallocated => {
                    push(self, buf, &mut pending, RunKind::Backing, done, take, pos)?
                }
                Mapping::Zero => push(self, buf, &mut pending, RunKind::Zero, done, take, pos)?,
                Mapping::Data(host) => push(
                    self,
                    buf,
                    &mut pending,
                    RunKind::Data(host.saturating_add(within)),
                    done,
                    take,
                    pos,
                )?,
                Mapping::Compressed(host, len) => {
                    if let Some(p) = pending.take() {
                        self.flush(buf, p)?;
                    }
                    let data = self.decompressed(host, len)?;
                    let w = usize::try_from(within).unwrap_or(usize::MAX);
                    let src = data.get(w..w.saturating_add(take));
                    let dst = buf.get_mut(done..done.saturating_add(take));
                    if let (Some(s), Some(d)) = (src, dst) {
                        d.copy_from_slice(s);
                    }
                }
                Mapping::Subclusters(host, alloc, zero) => {
                    // Split the piece at subcluster boundaries.
                    let mut sdone = 0usize;
                    while sdone < take {
                        let w = within.saturating_add(u64::try_from(sdone).unwrap_or(0));
                        let sc = u32::try_from(w >> sub_bits).unwrap_or(SUBCLUSTERS);
                        let sw = w & sub_size.saturating_sub(1);
                        let stake = usize::try_from(sub_size.saturating_sub(sw))
                            .unwrap_or(usize::MAX)
                            .min(take.saturating_sub(sdone));
                        let bit = 1u32.checked_shl(sc).unwrap_or(0);
                        let kind = if alloc & bit != 0 {
                            RunKind::Data(host.saturating_add(w))
                        } else if zero & bit != 0 {
                            RunKind::Zero
                        } else {
                            RunKind::Backing
                        };
                        let start = done.saturating_add(sdone);
                        let voff = pos.saturating_add(u64::try_from(sdone).unwrap_or(0));
                        push(self, buf, &mut pending, kind, start, stake, voff)?;
                        sdone = sdone.saturating_add(stake.max(1));
                    }
                }
            }
            done = done.saturating_add(take.max(1));
        }
        if let Some(p) = pending {
            self.flush(buf, p)?;
        }
        Ok(())
    }

    /// Walk every L2 table once: count stored bytes and compressed clusters, and note bad
    /// entries as anomalies (reads of those clusters fail with the same message).
    pub(super) fn walk(&self, max_l2_bytes: u64) -> Allocation {
        let mut a = Allocation::default();
        let mut extra_anomalies = 0u64;
        let mut note = |a: &mut Allocation, e: ContainerError| {
            if a.anomalies.len() < MAX_WALK_ANOMALIES {
                let kind = e.kind();
                a.anomalies.push(Anomaly::from_error(
                    FORMAT,
                    "cluster mapping",
                    None,
                    kind,
                    &e,
                ));
            } else {
                extra_anomalies = extra_anomalies.saturating_add(1);
            }
        };
        let cs = self.geom.cluster_size();
        let size = self.geom.size;
        let clusters = self.geom.clusters();
        let per_table = 1u64 << self.geom.l2_bits();
        let mut bytes = 0u64;
        let mut l2_read = 0u64;
        let mut complete = true;
        // Bytes of guest cluster `vc` inside the disk (the last one may be partial).
        let in_disk = |vc: u64, from: u64, n: u64| -> u64 {
            let start = vc.saturating_mul(cs).saturating_add(from);
            size.saturating_sub(start).min(n)
        };
        'tables: for l1_index in 0..self.geom.l1_entries_needed() {
            let table_off = match self.l2_offset(l1_index) {
                Ok(Some(o)) => o,
                Ok(None) => continue,
                Err(e) => {
                    note(&mut a, e);
                    complete = false;
                    continue;
                }
            };
            l2_read = l2_read.saturating_add(cs);
            if l2_read > max_l2_bytes {
                a.anomalies.push(Anomaly::new(
                    FORMAT,
                    "L2 tables",
                    None,
                    ErrorKind::LimitExceeded,
                    format!(
                        "allocation not counted: L2 tables exceed the limit of {max_l2_bytes} bytes"
                    ),
                ));
                complete = false;
                break 'tables;
            }
            let table = match self.load_l2(table_off) {
                Ok(t) => {
                    lock(&self.l2_cache).insert_if_room(table_off, t.clone());
                    t
                }
                Err(e) => {
                    note(&mut a, e);
                    complete = false;
                    continue;
                }
            };
            for idx in 0..per_table {
                let vc = l1_index.saturating_mul(per_table).saturating_add(idx);
                if vc >= clusters {
                    break 'tables;
                }
                match self.decode_entry(&table, table_off, idx) {
                    Ok(Mapping::Unallocated) => {}
                    Ok(Mapping::Zero) => a.zero_clusters = a.zero_clusters.saturating_add(1),
                    Ok(Mapping::Data(_)) => bytes = bytes.saturating_add(in_disk(vc, 0, cs)),
                    Ok(Mapping::Compressed(..)) => {
                        a.compressed_clusters = a.compressed_clusters.saturating_add(1);
                        bytes = bytes.saturating_add(in_disk(vc, 0, cs));
                    }
                    Ok(Mapping::Subclusters(_, alloc, _)) => {
                        let sub = 1u64 << self.geom.subcluster_bits();
                        let last = vc.saturating_add(1).saturating_mul(cs) > size;
                        if last {
                            for sc in 0..SUBCLUSTERS {
                                if alloc & (1u32 << sc) != 0 {
                                    let from = u64::from(sc).saturating_mul(sub);
                                    bytes = bytes.saturating_add(in_disk(vc, from, sub));
                                }
                            }
                        } else {
                            bytes = bytes
                                .saturating_add(u64::from(alloc.count_ones()).saturating_mul(sub));
                        }
                    }
                    Err(e) => {
                        note(&mut a, e);
                        complete = false;
                    }
                }
            }
        }
        if extra_anomalies > 0 {
            a.anomalies.push(Anomaly::new(
                FORMAT,
                "cluster mapping",
                None,
                ErrorKind::Corrupt,
                format!("{extra_anomalies} more bad L1/L2 entries not listed"),
            ));
        }
        a.allocated_bytes = complete.then_some(bytes);
        a
    }
}

impl BlockSource for Qcow2Disk {
    fn len(&self) -> u64 {
        self.geom.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        imgcheck_core::check_range(offset, buf.len(), self.geom.size)?;
        self.read_inner(buf, offset)
            .map_err(|e| e.into_read_error(FORMAT, offset))
    }

    fn allocated_bytes(&self) -> Option<u64> {
        self.allocated
    }

    /// Runs of clusters from the L2 tables: zero clusters, and unallocated clusters of an image
    /// without a backing file, are [`Extent::Zero`]; stored (plain or compressed) clusters are
    /// [`Extent::Data`]; an unallocated cluster over a backing file, or a table that cannot be
    /// read, ends the run (or answers `None` when it is the first).
    fn extent(&self, offset: u64, max: u64) -> Option<Extent> {
        let room = imgcheck_core::extent_room(offset, max, self.geom.size)?;
        let end = offset.saturating_add(room);
        let cs = self.geom.cluster_size();
        let sub_bits = self.geom.subcluster_bits();
        let sub_size = 1u64 << sub_bits;
        let mut cur: Option<(u64, Arc<[u8]>)> = None;
        let mut kind: Option<bool> = None;
        let mut pos = offset;
        let mut clusters = 0u32;
        while pos < end && clusters < EXTENT_MAX_CLUSTERS {
            // The piece ends at the cluster's end, or at the subcluster's for mixed ones.
            let mut unit = cs;
            let zero = match self.mapping(pos >> self.geom.cluster_bits, &mut cur) {
                Ok(Mapping::Zero) => Some(true),
                Ok(Mapping::Unallocated) => self.backing.is_none().then_some(true),
                Ok(Mapping::Data(_) | Mapping::Compressed(..)) => Some(false),
                Ok(Mapping::Subclusters(_, alloc, zero)) => {
                    unit = sub_size;
                    let sc = u32::try_from((pos & cs.saturating_sub(1)) >> sub_bits).unwrap_or(0);
                    let bit = 1u32.checked_shl(sc).unwrap_or(0);
                    if alloc & bit != 0 {
                        Some(false)
                    } else if zero & bit != 0 || self.backing.is_none() {
                        Some(true)
                    } else {
                        None
                    }
                }
                Err(_) => None,
            };
            match (kind, zero) {
                (_, None) => break,
                (None, Some(z)) => kind = Some(z),
                (Some(k), Some(z)) if k != z => break,
                _ => {}
            }
            let next = (pos | unit.saturating_sub(1)).saturating_add(1);
            pos = next.min(end);
            clusters = clusters.saturating_add(1);
        }
        let n = pos.saturating_sub(offset);
        Extent::of_run(kind, n)
    }
}

/// Clusters one [`BlockSource::extent`] call looks at, at most.
const EXTENT_MAX_CLUSTERS: u32 = 1 << 16;
