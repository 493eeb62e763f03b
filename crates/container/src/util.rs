//! Helpers shared by the format modules.

use imgcheck_core::{BlockSource, ReadError};
use std::sync::Arc;

/// A parent source presented at a fixed size: bytes past the parent's end read as zeros, bytes
/// past `len` are out of bounds (a backing file may be smaller than its overlay).
pub struct PaddedSource {
    inner: Arc<dyn BlockSource>,
    len: u64,
}

impl PaddedSource {
    /// Present `inner` as `len` bytes.
    pub fn new(inner: Arc<dyn BlockSource>, len: u64) -> PaddedSource {
        PaddedSource { inner, len }
    }
}

impl BlockSource for PaddedSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        imgcheck_core::check_range(offset, buf.len(), self.len)?;
        let inner_len = self.inner.len();
        let have = usize::try_from(inner_len.saturating_sub(offset))
            .map_or(buf.len(), |h| h.min(buf.len()));
        let (head, rest) = buf.split_at_mut(have.min(buf.len()));
        if !head.is_empty() {
            self.inner.read_exact_at(head, offset)?;
        }
        rest.fill(0);
        Ok(())
    }

    fn extent(&self, offset: u64, max: u64) -> Option<imgcheck_core::Extent> {
        let room = imgcheck_core::extent_room(offset, max, self.len)?;
        let inner_room = self.inner.len().saturating_sub(offset).min(room);
        if inner_room == 0 {
            return Some(imgcheck_core::Extent::Zero(room));
        }
        let e = self.inner.extent(offset, inner_room)?;
        (!e.is_empty()).then(|| e.with_len(e.len().min(inner_room)))
    }
}

/// Split the virtual range `offset..offset+buf.len()` into pieces that each lie within one unit
/// (cluster, block, grain) of `unit` bytes, calling `f(unit_index, offset_in_unit, piece)`.
/// `unit` must be non-zero; a zero unit yields an empty iteration.
pub fn for_each_unit<E>(
    buf: &mut [u8],
    offset: u64,
    unit: u64,
    mut f: impl FnMut(u64, u64, &mut [u8]) -> Result<(), E>,
) -> Result<(), E> {
    if unit == 0 {
        return Ok(());
    }
    let mut done = 0usize;
    while done < buf.len() {
        let pos = offset.saturating_add(u64::try_from(done).unwrap_or(u64::MAX));
        // `unit` is non-zero (checked above).
        let index = pos.checked_div(unit).unwrap_or(0);
        let within = pos.checked_rem(unit).unwrap_or(0);
        let room = usize::try_from(unit.saturating_sub(within)).unwrap_or(usize::MAX);
        let take = room.min(buf.len().saturating_sub(done));
        let end = done.saturating_add(take);
        if let Some(piece) = buf.get_mut(done..end) {
            f(index, within, piece)?;
        }
        done = end;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use imgcheck_core::MemSource;

    #[test]
    fn padded() {
        let p = PaddedSource::new(Arc::new(MemSource::new(vec![9u8; 10])), 20);
        let mut b = [1u8; 6];
        p.read_exact_at(&mut b, 7).unwrap();
        assert_eq!(b, [9, 9, 9, 0, 0, 0]);
        assert!(p.read_exact_at(&mut b, 15).is_err());
    }

    #[test]
    fn units() {
        let mut b = [0u8; 10];
        let mut seen = vec![];
        for_each_unit::<()>(&mut b, 6, 4, |i, w, p| {
            seen.push((i, w, p.len()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(1, 2, 2), (2, 0, 4), (3, 0, 4)]);
    }
}
