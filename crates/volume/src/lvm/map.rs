//! Logical-to-physical mapping of linear and striped LVs, and [`LvSource`], the
//! [`BlockSource`] that serves an LV's bytes from its PVs.
//!
//! Specification: LVM2's segment semantics (`lib/metadata/lv.c`, `lib/striped/striped.c`) and
//! the kernel's dm-stripe target they are activated as
//! (`Documentation/admin-guide/device-mapper/striped.rst`): a segment of `extent_count` extents
//! with `n` stripes uses `extent_count / n` extents on each PV starting at the listed PE;
//! chunk `c` of `stripe_size` sectors lies on stripe `c mod n`, in row `c / n`. A linear
//! segment is the one-stripe case. PE `p` of a PV starts at `pe_start + p × extent_size`.
//!
//! Segments may be listed in any order and may lie on PEs in any order; they must cover the
//! LV's extents from 0 without gaps or overlaps. All arithmetic is checked: a value that would
//! overflow 64 bits makes the LV unreadable, with the reason.

use super::{LogicalVolume, VolumeGroup};
use imgcheck_core::{BlockSource, ErrorKind, ReadError};
use std::sync::Arc;

/// One stripe's area on a PV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Area {
    /// Index into [`VolumeGroup::pvs`].
    pub pv: usize,
    /// Byte offset of the area in the PV.
    pub pv_offset: u64,
    /// Bytes of the area.
    pub len: u64,
}

/// One segment, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    /// First byte of the segment in the LV.
    pub lv_start: u64,
    /// Bytes of the segment.
    pub len: u64,
    /// Stripe chunk in bytes (for one stripe: the whole area).
    pub chunk: u64,
    pub areas: Vec<Area>,
}

/// Why an LV cannot be mapped: a classification and the reason shown to the user.
pub(crate) type PlanError = (ErrorKind, String);

fn overflow(seg: &str) -> PlanError {
    (
        ErrorKind::Corrupt,
        format!("segment {seg}: extent arithmetic overflows 64 bits"),
    )
}

/// Map `lv` onto the PVs of `vg`, checking everything a read will rely on.
pub(crate) fn plan(vg: &VolumeGroup, lv: &LogicalVolume) -> Result<Vec<Piece>, PlanError> {
    let ext = vg.extent_size_bytes;
    if lv.segments.is_empty() {
        return Err((ErrorKind::Corrupt, "the LV has no segments".to_string()));
    }
    let mut order: Vec<usize> = (0..lv.segments.len()).collect();
    order.sort_by_key(|&i| lv.segments.get(i).map_or(u64::MAX, |s| s.start_extent));
    let mut pieces = Vec::with_capacity(order.len());
    let mut next_extent = 0u64;
    for i in order {
        let Some(seg) = lv.segments.get(i) else {
            continue;
        };
        let name = seg.key.as_str();
        if seg.kind != "striped" {
            return Err((
                ErrorKind::Unsupported,
                format!(
                    "segment {name} has type '{}': only linear and striped segments are read",
                    seg.kind
                ),
            ));
        }
        if seg.start_extent != next_extent {
            return Err((
                ErrorKind::Corrupt,
                format!(
                    "segment {name} starts at extent {}, expected {next_extent} (segments leave a gap or overlap)",
                    seg.start_extent
                ),
            ));
        }
        let n = u64::try_from(seg.stripes.len()).unwrap_or(u64::MAX);
        if n == 0 || seg.stripe_count != n {
            return Err((
                ErrorKind::Corrupt,
                format!(
                    "segment {name}: stripe_count is {} but {n} stripes are listed",
                    seg.stripe_count
                ),
            ));
        }
        if seg.extent_count == 0 || seg.extent_count.checked_rem(n) != Some(0) {
            return Err((
                ErrorKind::Corrupt,
                format!(
                    "segment {name}: extent_count {} is not a positive multiple of its {n} stripes",
                    seg.extent_count
                ),
            ));
        }
        let area_extents = seg.extent_count.checked_div(n).unwrap_or_default();
        let len = seg
            .extent_count
            .checked_mul(ext)
            .ok_or_else(|| overflow(name))?;
        let area_len = area_extents
            .checked_mul(ext)
            .ok_or_else(|| overflow(name))?;
        let lv_start = seg
            .start_extent
            .checked_mul(ext)
            .ok_or_else(|| overflow(name))?;
        lv_start.checked_add(len).ok_or_else(|| overflow(name))?;
        next_extent = seg
            .start_extent
            .checked_add(seg.extent_count)
            .ok_or_else(|| overflow(name))?;
        let chunk = if n == 1 {
            area_len
        } else {
            let c = seg.stripe_size_bytes;
            if c == 0 || area_len.checked_rem(c) != Some(0) {
                return Err((
                    ErrorKind::Corrupt,
                    format!(
                        "segment {name}: stripe size of {c} bytes does not divide its areas of {area_len} bytes"
                    ),
                ));
            }
            c
        };
        let mut areas = Vec::with_capacity(seg.stripes.len());
        for stripe in &seg.stripes {
            let Some((idx, pv)) = vg.pvs.iter().enumerate().find(|(_, p)| p.name == stripe.pv)
            else {
                return Err((
                    ErrorKind::Corrupt,
                    format!("segment {name}: stripe on unknown PV '{}'", stripe.pv),
                ));
            };
            if pv.volume.is_none() {
                return Err((
                    ErrorKind::NotFound,
                    format!(
                        "PV {} ({}) holding segment {name} is missing from the image",
                        pv.name, pv.uuid
                    ),
                ));
            }
            let end_pe = stripe
                .start_extent
                .checked_add(area_extents)
                .ok_or_else(|| overflow(name))?;
            if end_pe > pv.pe_count {
                return Err((
                    ErrorKind::Corrupt,
                    format!(
                        "segment {name}: PEs {}..{end_pe} on {} lie beyond its pe_count of {}",
                        stripe.start_extent, pv.name, pv.pe_count
                    ),
                ));
            }
            let pv_offset = stripe
                .start_extent
                .checked_mul(ext)
                .and_then(|o| o.checked_add(pv.pe_start_bytes))
                .ok_or_else(|| overflow(name))?;
            let end = pv_offset
                .checked_add(area_len)
                .ok_or_else(|| overflow(name))?;
            if let (Some(size), Some(vol)) = (pv.size_bytes, pv.volume.as_deref()) {
                if end > size {
                    return Err((
                        ErrorKind::Corrupt,
                        format!(
                            "segment {name}: its area on {} ends at byte {end}, past the end of volume {vol} ({size} bytes)",
                            pv.name
                        ),
                    ));
                }
            }
            areas.push(Area {
                pv: idx,
                pv_offset,
                len: area_len,
            });
        }
        pieces.push(Piece {
            lv_start,
            len,
            chunk,
            areas,
        });
    }
    Ok(pieces)
}

/// An LV's bytes: reads split across segments and stripe chunks and served by the PVs.
pub(crate) struct LvSource {
    len: u64,
    pieces: Vec<Piece>,
    /// Source of each [`Area::pv`] index (None for PVs no area uses).
    pvs: Vec<Option<Arc<dyn BlockSource>>>,
}

impl LvSource {
    /// `pieces` must come from [`plan`] (sorted, contiguous from 0); `pvs[i]` serves PV `i`.
    pub(crate) fn new(pieces: Vec<Piece>, pvs: Vec<Option<Arc<dyn BlockSource>>>) -> LvSource {
        let len = pieces
            .last()
            .map_or(0, |p| p.lv_start.saturating_add(p.len));
        LvSource { len, pieces, pvs }
    }

    fn err(offset: u64, kind: ErrorKind, msg: String) -> ReadError {
        ReadError::Format {
            layer: "lvm",
            offset,
            kind,
            source: msg.into(),
        }
    }
}

impl BlockSource for LvSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        imgcheck_core::check_range(offset, buf.len(), self.len)?;
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset.saturating_add(u64::try_from(done).unwrap_or(u64::MAX));
            let idx = self
                .pieces
                .partition_point(|p| p.lv_start.saturating_add(p.len) <= pos);
            let piece = self.pieces.get(idx).ok_or_else(|| {
                Self::err(
                    pos,
                    ErrorKind::Corrupt,
                    "no segment maps this offset".into(),
                )
            })?;
            let rel = pos.saturating_sub(piece.lv_start);
            let chunk = piece.chunk.max(1);
            let n = u64::try_from(piece.areas.len()).unwrap_or(u64::MAX).max(1);
            let chunk_idx = rel.checked_div(chunk).unwrap_or_default();
            let within = rel.checked_rem(chunk).unwrap_or_default();
            let stripe =
                usize::try_from(chunk_idx.checked_rem(n).unwrap_or_default()).unwrap_or(usize::MAX);
            let row = chunk_idx.checked_div(n).unwrap_or_default();
            let area = piece.areas.get(stripe).ok_or_else(|| {
                Self::err(pos, ErrorKind::Corrupt, "stripe index out of range".into())
            })?;
            let src = self
                .pvs
                .get(area.pv)
                .and_then(Option::as_ref)
                .ok_or_else(|| Self::err(pos, ErrorKind::NotFound, "PV source missing".into()))?;
            let pv_off = row
                .checked_mul(chunk)
                .and_then(|o| o.checked_add(within))
                .and_then(|o| o.checked_add(area.pv_offset))
                .ok_or_else(|| Self::err(pos, ErrorKind::Corrupt, "offset overflows".into()))?;
            let avail = chunk
                .saturating_sub(within)
                .min(piece.len.saturating_sub(rel));
            let remaining = buf.len().saturating_sub(done);
            let take = usize::try_from(avail).unwrap_or(usize::MAX).min(remaining);
            if take == 0 {
                return Err(Self::err(pos, ErrorKind::Corrupt, "empty segment".into()));
            }
            let end = done.saturating_add(take);
            let dst = buf
                .get_mut(done..end)
                .ok_or_else(|| Self::err(pos, ErrorKind::Corrupt, "buffer range".into()))?;
            src.read_exact_at(dst, pv_off)
                .map_err(|e| ReadError::Format {
                    layer: "lvm",
                    offset: pos,
                    kind: e.kind(),
                    source: Box::new(e),
                })?;
            done = end;
        }
        Ok(())
    }
}
