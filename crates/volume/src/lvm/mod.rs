//! LVM2: physical volumes found among the image's volumes, their volume groups and logical
//! volumes, and linear/striped LVs as [`BlockSource`]s.
//!
//! Specification: LVM2's on-disk format — the PV label (`lib/label/label.h`), PV header and
//! metadata area layout (`lib/format_text/layout.h`, `format-text.c`), the metadata text
//! (`lvm.conf(5)` syntax; `lib/format_text/export.c`, `import_vsn1.c`) — and dm-stripe for the
//! striped mapping. See the submodules for each part.
//!
//! Our own code: no Rust crate reads LVM2 metadata offline, and we need every problem (a bad
//! CRC, disagreeing copies, a missing PV) reported as an [`Anomaly`] naming the PV, structure
//! and offset while everything else is still listed.
//!
//! ```
//! use imgcheck_core::{BlockSource, Limits, MemSource};
//! use imgcheck_volume::lvm;
//! use std::sync::Arc;
//!
//! let vol: Arc<dyn BlockSource> = Arc::new(MemSource::new(vec![0u8; 1 << 20]));
//! assert!(lvm::probe_pv(vol.as_ref())?.is_none()); // no LABELONE: not a PV
//! let scan = lvm::scan(&[("disk0".to_string(), vol)], &Limits::default());
//! assert!(scan.vgs.is_empty() && scan.anomalies.is_empty());
//! # Ok::<(), imgcheck_volume::VolumeError>(())
//! ```
//!
//! ## How [`scan`] decides
//!
//! 1. Every volume is probed for a label in sectors 0–3 (checked CRC). A PV UUID seen on a
//!    second volume is an anomaly and the second copy is ignored (pass an md array's source,
//!    not its RAID1 members, or the PV is seen twice).
//! 2. Every metadata area of every PV (normally one at 4 KiB, optionally one at the end) is
//!    read: mda header CRC, magic, version and start; the committed `raw_locn`; the text's size
//!    (≤ [`Limits::max_descriptor_bytes`]), wrap-around and CRC; then the text is parsed.
//! 3. Copies are grouped by VG UUID; the highest `seqno` wins. Every older copy, and every copy
//!    with the same seqno but different text, is an anomaly naming its PV, area and offset.
//! 4. PVs listed by the VG are matched with labels by UUID; those not found are
//!    [`VolumeGroup::missing_pvs`] (with an anomaly). LVs are listed with their kind; only
//!    linear and striped LVs whose PVs are all present and whose extents all check out are
//!    [`LogicalVolume::readable`]; every other LV says why not in [`LogicalVolume::reason`].

mod label;
mod map;
mod text;
mod vg;

#[cfg(test)]
mod tests;

pub use label::{DiskArea, PvLabel};

use crate::error::VolumeError;
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, Limits};
use label::{dashed, undashed, LAYER, SECTOR};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Metadata areas read per PV. LVM writes at most two; the label sector could list ~25.
const MAX_MDAS_PER_PV: usize = 8;

/// Look for an LVM2 PV label in sectors 0–3 of `src`. Cheap: reads at most 2 KiB.
///
/// `Ok(None)`: no `LABELONE` signature. An error: a label is there but broken (bad CRC, wrong
/// sector number, unknown type, unterminated area list).
pub fn probe_pv(src: &dyn BlockSource) -> Result<Option<PvLabel>, VolumeError> {
    label::probe(src)
}

/// What [`scan`] found: volume groups, the PVs seen, and everything wrong on the way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LvmScan {
    /// Volume groups, sorted by name then UUID.
    pub vgs: Vec<VolumeGroup>,
    /// Every volume with a valid PV label, in input order.
    pub pvs: Vec<FoundPv>,
    /// Problems found: broken labels, metadata areas, texts; disagreeing copies; missing PVs.
    pub anomalies: Vec<Anomaly>,
}

/// A volume of the image holding a PV label.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoundPv {
    /// The caller's volume id.
    pub volume: String,
    /// The label.
    pub label: PvLabel,
    /// Name of the VG whose metadata lists this PV, if any.
    pub vg: Option<String>,
}

/// A volume group, from the newest metadata copy found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeGroup {
    /// VG name.
    pub name: String,
    /// VG UUID as written in the metadata.
    pub uuid: String,
    /// Metadata sequence number of the copy used.
    pub seqno: u64,
    /// Extent size in bytes.
    pub extent_size_bytes: u64,
    /// VG status flags (`READ`, `WRITE`, `RESIZEABLE`, …).
    pub status: Vec<String>,
    /// Where the metadata used was read: `metadata text in area 1 of PV … on volume …`.
    pub metadata_from: String,
    /// PVs as the metadata lists them.
    pub pvs: Vec<PhysicalVolume>,
    /// LVs as the metadata lists them (hidden sub-LVs included, see [`LogicalVolume::visible`]).
    pub lvs: Vec<LogicalVolume>,
    /// UUIDs of the PVs not found in the image.
    pub missing_pvs: Vec<String>,
}

/// A PV as listed in VG metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhysicalVolume {
    /// Key segments refer to it by (`pv0`).
    pub name: String,
    /// PV UUID.
    pub uuid: String,
    /// `device` hint from the metadata (the path it had on the host that wrote it).
    pub device_hint: Option<String>,
    /// Id of the image volume holding this PV; None when missing from the image.
    pub volume: Option<String>,
    /// Start of the first extent, in bytes from the start of the PV.
    pub pe_start_bytes: u64,
    /// Number of extents.
    pub pe_count: u64,
    /// Size in bytes of the volume holding the PV, when present.
    pub size_bytes: Option<u64>,
}

/// A logical volume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogicalVolume {
    /// LV name.
    pub name: String,
    /// LV UUID.
    pub uuid: String,
    /// Name of its VG.
    pub vg: String,
    /// Size in bytes (sum of its segments).
    pub size_bytes: u64,
    /// `linear`, `striped`, or the first non-striped segment type (`thin`, `thin-pool`,
    /// `snapshot`, `mirror`, `raid1`, `raid5`, `cache`, …); `unknown` when the segments could
    /// not be read.
    pub kind: String,
    /// Its bytes can be served by [`VolumeGroup::lv_source`].
    pub readable: bool,
    /// Why not readable.
    pub reason: Option<String>,
    /// Status has `VISIBLE` (hidden LVs are sub-LVs of thin pools, RAID, mirrors …).
    pub visible: bool,
    /// Status flags.
    pub status: Vec<String>,
    /// Segments in metadata order.
    pub segments: Vec<Segment>,
}

/// One segment of an LV.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Segment {
    /// Its key in the metadata (`segment1`).
    pub key: String,
    /// First LV extent.
    pub start_extent: u64,
    /// Extents.
    pub extent_count: u64,
    /// Segment type as written (`striped` for linear too).
    pub kind: String,
    /// `stripe_count` (the number of stripes listed when absent).
    pub stripe_count: u64,
    /// Stripe chunk size in bytes; 0 for one stripe.
    pub stripe_size_bytes: u64,
    /// Stripes: PV key and first PE.
    pub stripes: Vec<Stripe>,
}

/// Where one stripe of a segment lies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stripe {
    /// PV key (`pv0`).
    pub pv: String,
    /// First physical extent on that PV.
    pub start_extent: u64,
}

impl VolumeGroup {
    /// The LV called `lv`.
    pub fn lv(&self, lv: &str) -> Option<&LogicalVolume> {
        self.lvs.iter().find(|l| l.name == lv)
    }

    /// The bytes of LV `lv` (linear or striped, any number of segments in any order), served
    /// from `pv_sources` (volume id → source, as given to [`scan`]).
    pub fn lv_source(
        &self,
        lv: &str,
        pv_sources: &[(String, Arc<dyn BlockSource>)],
    ) -> Result<Arc<dyn BlockSource>, VolumeError> {
        let structure = format!("logical volume {}/{lv}", self.name);
        let l = self.lv(lv).ok_or_else(|| VolumeError::NotFound {
            layer: LAYER,
            structure: structure.clone(),
            what: format!("volume group {} has no LV called '{lv}'", self.name),
        })?;
        let pieces = map::plan(self, l).map_err(|(kind, reason)| match kind {
            ErrorKind::Unsupported => VolumeError::Unsupported {
                layer: LAYER,
                structure: structure.clone(),
                reason,
            },
            ErrorKind::NotFound => VolumeError::NotFound {
                layer: LAYER,
                structure: structure.clone(),
                what: reason,
            },
            _ => VolumeError::corrupt(LAYER, structure.clone(), 0, reason),
        })?;
        let mut sources: Vec<Option<Arc<dyn BlockSource>>> = vec![None; self.pvs.len()];
        for piece in &pieces {
            for area in &piece.areas {
                let pv = self.pvs.get(area.pv);
                let vol = pv.and_then(|p| p.volume.as_deref()).unwrap_or_default();
                let src = pv_sources
                    .iter()
                    .find(|(id, _)| id == vol)
                    .map(|(_, s)| s.clone())
                    .ok_or_else(|| VolumeError::NotFound {
                        layer: LAYER,
                        structure: structure.clone(),
                        what: format!("volume '{vol}' holding one of its PVs was not passed"),
                    })?;
                let end = area.pv_offset.saturating_add(area.len);
                if end > src.len() {
                    return Err(VolumeError::corrupt(
                        LAYER,
                        structure.clone(),
                        area.pv_offset,
                        format!(
                            "an area ends at byte {end} of volume '{vol}', which has {} bytes",
                            src.len()
                        ),
                    ));
                }
                if let Some(slot) = sources.get_mut(area.pv) {
                    *slot = Some(src);
                }
            }
        }
        Ok(Arc::new(map::LvSource::new(pieces, sources)))
    }
}

/// One metadata copy that parsed.
struct Copy {
    meta: vg::VgMeta,
    structure: String,
    offset: u64,
    checksum: u32,
}

/// Scan `pvs` (volume id, source) for LVM2 PVs and assemble their volume groups. Never fails
/// as a whole: every problem becomes an anomaly.
pub fn scan(pvs: &[(String, Arc<dyn BlockSource>)], limits: &Limits) -> LvmScan {
    let mut anomalies = Vec::new();
    let mut found: Vec<FoundPv> = Vec::new();
    let mut sizes: Vec<u64> = Vec::new();
    let mut by_uuid: HashMap<String, usize> = HashMap::new();
    let mut copies: Vec<Copy> = Vec::new();
    for (vid, src) in pvs {
        let l = match label::probe(src.as_ref()) {
            Ok(Some(l)) => l,
            Ok(None) => continue,
            Err(e) => {
                anomalies.push(on_volume(e.to_anomaly(), vid));
                continue;
            }
        };
        let key = undashed(&l.uuid);
        if let Some(&first) = by_uuid.get(&key) {
            let other = found
                .get(first)
                .map(|f| f.volume.as_str())
                .unwrap_or_default();
            anomalies.push(Anomaly::new(
                LAYER,
                format!("label of PV {} on volume {vid}", l.uuid),
                Some(l.label_sector.saturating_mul(SECTOR)),
                ErrorKind::Corrupt,
                format!("the same PV UUID is on volume {other}: this copy is ignored"),
            ));
            continue;
        }
        if l.metadata_areas.len() > MAX_MDAS_PER_PV {
            anomalies.push(Anomaly::new(
                LAYER,
                format!("label of PV {} on volume {vid}", l.uuid),
                Some(l.label_sector.saturating_mul(SECTOR)),
                ErrorKind::LimitExceeded,
                format!(
                    "{} metadata areas listed, only the first {MAX_MDAS_PER_PV} are read",
                    l.metadata_areas.len()
                ),
            ));
        }
        for (i, area) in l.metadata_areas.iter().take(MAX_MDAS_PER_PV).enumerate() {
            let n = i.saturating_add(1);
            let hs = format!("metadata area {n} header of PV {} on volume {vid}", l.uuid);
            let loc = match label::read_mda_header(src.as_ref(), *area, &hs) {
                Ok(Some(loc)) => loc,
                Ok(None) => continue,
                Err(e) => {
                    anomalies.push(e.to_anomaly());
                    continue;
                }
            };
            let ts = format!("metadata text in area {n} of PV {} on volume {vid}", l.uuid);
            let text = match label::read_text(src.as_ref(), &loc, &ts, limits) {
                Ok(t) => t,
                Err(e) => {
                    anomalies.push(e.to_anomaly());
                    continue;
                }
            };
            let root = match text::parse(&text) {
                Ok(r) => r,
                Err(pe) => {
                    let first_part = loc.mda_size.saturating_sub(loc.offset);
                    let pos = u64::try_from(pe.pos).unwrap_or(u64::MAX);
                    let at = if pos < first_part {
                        loc.abs_offset().saturating_add(pos)
                    } else {
                        loc.abs_offset()
                    };
                    anomalies.push(Anomaly::new(
                        LAYER,
                        ts,
                        Some(at),
                        ErrorKind::Corrupt,
                        format!("metadata text does not parse: {pe}"),
                    ));
                    continue;
                }
            };
            match vg::from_config(&root) {
                Ok(meta) => copies.push(Copy {
                    meta,
                    structure: ts,
                    offset: loc.abs_offset(),
                    checksum: loc.checksum,
                }),
                Err(m) => anomalies.push(Anomaly::new(
                    LAYER,
                    ts,
                    Some(loc.abs_offset()),
                    ErrorKind::Corrupt,
                    format!("metadata is not a usable volume group: {m}"),
                )),
            }
        }
        by_uuid.insert(key, found.len());
        sizes.push(src.len());
        found.push(FoundPv {
            volume: vid.clone(),
            label: l,
            vg: None,
        });
    }

    let mut groups: BTreeMap<String, Vec<Copy>> = BTreeMap::new();
    for c in copies {
        groups.entry(c.meta.id.clone()).or_default().push(c);
    }
    let mut vgs = Vec::new();
    for (_, group) in groups {
        let Some(best_idx) = newest(&group) else {
            continue;
        };
        let Some(best) = group.get(best_idx) else {
            continue;
        };
        for (i, c) in group.iter().enumerate() {
            if i == best_idx {
                continue;
            }
            if c.meta.seqno < best.meta.seqno {
                anomalies.push(Anomaly::new(
                    LAYER,
                    c.structure.clone(),
                    Some(c.offset),
                    ErrorKind::Corrupt,
                    format!(
                        "holds seqno {} of volume group {}, older than seqno {} in {}: the newer copy is used",
                        c.meta.seqno, c.meta.name, best.meta.seqno, best.structure
                    ),
                ));
            } else if c.checksum != best.checksum {
                anomalies.push(Anomaly::new(
                    LAYER,
                    c.structure.clone(),
                    Some(c.offset),
                    ErrorKind::Corrupt,
                    format!(
                        "holds seqno {} of volume group {} with different text (crc32 0x{:08x}) than {} (crc32 0x{:08x}): the latter is used",
                        c.meta.seqno, c.meta.name, c.checksum, best.structure, best.checksum
                    ),
                ));
            }
        }
        if let Some(v) = build_vg(best, &mut found, &sizes, &by_uuid, &mut anomalies) {
            vgs.push(v);
        }
    }
    vgs.sort_by(|a, b| (&a.name, &a.uuid).cmp(&(&b.name, &b.uuid)));
    LvmScan {
        vgs,
        pvs: found,
        anomalies,
    }
}

/// Index of the copy with the highest seqno (the first one on ties).
fn newest(group: &[Copy]) -> Option<usize> {
    let mut best: Option<(usize, u64)> = None;
    for (i, c) in group.iter().enumerate() {
        if best.is_none_or(|(_, s)| c.meta.seqno > s) {
            best = Some((i, c.meta.seqno));
        }
    }
    best.map(|(i, _)| i)
}

/// Prefix an anomaly's structure with the volume it was found on.
fn on_volume(mut a: Anomaly, vid: &str) -> Anomaly {
    a.structure = format!("{} on volume {vid}", a.structure);
    a
}

fn build_vg(
    best: &Copy,
    found: &mut [FoundPv],
    sizes: &[u64],
    by_uuid: &HashMap<String, usize>,
    anomalies: &mut Vec<Anomaly>,
) -> Option<VolumeGroup> {
    let m = &best.meta;
    let vg_structure = format!("volume group {}", m.name);
    let Some(extent_size_bytes) = m.extent_size.checked_mul(SECTOR) else {
        anomalies.push(Anomaly::new(
            LAYER,
            best.structure.clone(),
            Some(best.offset),
            ErrorKind::Corrupt,
            format!(
                "extent_size of {} sectors overflows 64 bits in bytes",
                m.extent_size
            ),
        ));
        return None;
    };
    let mut pvs = Vec::with_capacity(m.pvs.len());
    let mut missing_pvs = Vec::new();
    for p in &m.pvs {
        let idx = by_uuid.get(&undashed(&p.id)).copied();
        let volume = idx.and_then(|i| found.get(i)).map(|f| f.volume.clone());
        let size_bytes = idx.and_then(|i| sizes.get(i)).copied();
        if let Some(f) = idx.and_then(|i| found.get_mut(i)) {
            f.vg = Some(m.name.clone());
        }
        let pe_start_bytes = p.pe_start.saturating_mul(SECTOR);
        match (&volume, size_bytes) {
            (None, _) => {
                missing_pvs.push(p.id.clone());
                anomalies.push(Anomaly::new(
                    LAYER,
                    vg_structure.clone(),
                    None,
                    ErrorKind::NotFound,
                    format!(
                        "PV {} ({}, device hint {}) is not in the image: LVs using it cannot be read",
                        p.key,
                        p.id,
                        p.device.as_deref().unwrap_or("none")
                    ),
                ));
            }
            (Some(vol), Some(size)) => {
                let end = p
                    .pe_count
                    .checked_mul(extent_size_bytes)
                    .and_then(|b| b.checked_add(pe_start_bytes));
                if end.is_none_or(|e| e > size) {
                    anomalies.push(Anomaly::new(
                        LAYER,
                        format!("PV {} ({}) on volume {vol}", p.key, p.id),
                        Some(pe_start_bytes),
                        ErrorKind::Corrupt,
                        format!(
                            "{} extents of {extent_size_bytes} bytes from byte {pe_start_bytes} end past the volume's {size} bytes",
                            p.pe_count
                        ),
                    ));
                }
            }
            (Some(_), None) => {}
        }
        pvs.push(PhysicalVolume {
            name: p.key.clone(),
            uuid: p.id.clone(),
            device_hint: p.device.clone(),
            volume,
            pe_start_bytes,
            pe_count: p.pe_count,
            size_bytes,
        });
    }
    let mut vg = VolumeGroup {
        name: m.name.clone(),
        uuid: m.id.clone(),
        seqno: m.seqno,
        extent_size_bytes,
        status: m.status.clone(),
        metadata_from: best.structure.clone(),
        pvs,
        lvs: Vec::new(),
        missing_pvs,
    };
    let lvs = m.lvs.iter().map(|l| build_lv(&vg, l)).collect();
    vg.lvs = lvs;
    Some(vg)
}

fn build_lv(vg: &VolumeGroup, l: &vg::LvMeta) -> LogicalVolume {
    let mut lv = LogicalVolume {
        name: l.name.clone(),
        uuid: l.id.clone(),
        vg: vg.name.clone(),
        size_bytes: 0,
        kind: "unknown".to_string(),
        readable: false,
        reason: None,
        visible: l.status.iter().any(|s| s == "VISIBLE"),
        status: l.status.clone(),
        segments: Vec::new(),
    };
    let segs = match &l.segments {
        Ok(s) => s,
        Err(m) => {
            lv.reason = Some(format!("its metadata is broken: {m}"));
            return lv;
        }
    };
    lv.segments = segs
        .iter()
        .map(|s| Segment {
            key: s.key.clone(),
            start_extent: s.start_extent,
            extent_count: s.extent_count,
            kind: s.seg_type.clone(),
            stripe_count: s.stripe_count,
            stripe_size_bytes: s.stripe_size.saturating_mul(SECTOR),
            stripes: s
                .stripes
                .iter()
                .map(|(pv, pe)| Stripe {
                    pv: pv.clone(),
                    start_extent: *pe,
                })
                .collect(),
        })
        .collect();
    lv.kind = match segs.iter().find(|s| s.seg_type != "striped") {
        Some(s) => s.seg_type.clone(),
        None if segs.iter().any(|s| s.stripe_count > 1) => "striped".to_string(),
        None => "linear".to_string(),
    };
    let total = segs
        .iter()
        .try_fold(0u64, |acc, s| acc.checked_add(s.extent_count))
        .and_then(|e| e.checked_mul(vg.extent_size_bytes));
    match total {
        Some(t) => lv.size_bytes = t,
        None => {
            lv.reason = Some("its size overflows 64 bits".to_string());
            return lv;
        }
    }
    if lv.kind != "linear" && lv.kind != "striped" {
        lv.reason = Some(format!(
            "a {} LV is recognised but not read (only linear and striped LVs are)",
            lv.kind
        ));
        return lv;
    }
    match map::plan(vg, &lv) {
        Ok(_) => lv.readable = true,
        Err((_, reason)) => lv.reason = Some(reason),
    }
    lv
}

/// The printed form of a raw 32-character id (for callers comparing UUIDs).
pub fn format_uuid(raw: &str) -> String {
    dashed(&undashed(raw))
}
