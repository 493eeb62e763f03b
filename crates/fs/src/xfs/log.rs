//! The XFS log's clean/dirty state, found as the kernel's `xlog_find_head`/`xlog_find_tail` do
//! it, simplified: the head is where the cycle number stamped on every 512-byte log block drops
//! (binary search), the last record header is searched backwards from there, and the log is clean
//! when that record is an unmount record (one log operation flagged `XLOG_UNMOUNT_TRANS`).
//! Nothing is replayed. The kernel's extra handling of torn writes near the head is not
//! reproduced: a torn last write would be seen as dirty, which is what it is.

use super::XfsFs;
use crate::VolumeState;
use imgcheck_core::bytes::u32_be;

const RECORD_MAGIC: u32 = 0xFEED_BABE;
const XLOG_UNMOUNT_TRANS: u8 = 0x20;
/// Log version 2 (`h_version` bit) and the bytes one header block describes.
const XLOG_VERSION_2: u32 = 2;
const XLOG_HEADER_CYCLE_SIZE: u32 = 32 * 1024;
/// Basic blocks searched backwards from the head for the last record header: a record is at
/// most 256 KiB of data plus its header blocks.
const MAX_BACK_SCAN: u64 = 2 * 512 + 64;

impl XfsFs {
    /// The log state and, when it cannot be established, a note saying why.
    pub(super) fn log_state(&self) -> (VolumeState, Option<String>) {
        match self.log_state_inner() {
            Ok(true) => (VolumeState::Clean, None),
            Ok(false) => (VolumeState::Dirty, Some("log not replayed".to_string())),
            Err(why) => (
                VolumeState::Unknown,
                Some(format!("log state unknown: {why}")),
            ),
        }
    }

    fn log_state_inner(&self) -> Result<bool, String> {
        if self.sb.logstart == 0 {
            return Err("external log device".into());
        }
        let start = self
            .fsb_byte(self.sb.logstart)
            .ok_or_else(|| format!("log start block {} is invalid", self.sb.logstart))?;
        let nbb = u64::from(self.sb.logblocks)
            .checked_mul(u64::from(self.sb.block_size) / 512)
            .filter(|&n| n >= 2)
            .ok_or_else(|| format!("log of {} blocks", self.sb.logblocks))?;
        let end = start
            .checked_add(nbb.saturating_mul(512))
            .filter(|&e| e <= self.src.len())
            .ok_or_else(|| "log lies outside the volume".to_string())?;
        let _ = end;
        let read = |bb: u64| -> Result<Vec<u8>, String> {
            let mut buf = vec![0u8; 512];
            let off = start.saturating_add(bb.checked_rem(nbb).unwrap_or(0).saturating_mul(512));
            self.src
                .read_exact_at(&mut buf, off)
                .map_err(|e| format!("reading log block {bb}: {e}"))?;
            Ok(buf)
        };
        let cycle = |bb: u64| -> Result<u32, String> {
            let b = read(bb)?;
            let w0 = u32_be(&b, 0).unwrap_or(0);
            Ok(if w0 == RECORD_MAGIC {
                u32_be(&b, 4).unwrap_or(0)
            } else {
                w0
            })
        };
        let first = cycle(0)?;
        let last = cycle(nbb.saturating_sub(1))?;
        // The head: the first block whose cycle differs from block 0's.
        let head = if first == last {
            nbb
        } else {
            let (mut lo, mut hi) = (0u64, nbb.saturating_sub(1));
            while hi.saturating_sub(lo) > 1 {
                let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
                if cycle(mid)? == first {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            hi
        };
        // The last record header before the head.
        let mut found = None;
        for back in 1..=MAX_BACK_SCAN.min(nbb) {
            let bb = head
                .saturating_add(nbb)
                .saturating_sub(back)
                .checked_rem(nbb)
                .unwrap_or(0);
            let b = read(bb)?;
            if u32_be(&b, 0) == Some(RECORD_MAGIC) {
                found = Some((bb, b));
                break;
            }
        }
        let (bb, hdr) = found.ok_or_else(|| "no log record header near the head".to_string())?;
        let version = u32_be(&hdr, 8).unwrap_or(0);
        let num_logops = u32_be(&hdr, 40).unwrap_or(0);
        let h_size = u32_be(&hdr, 320).unwrap_or(0);
        let hblks = if version & XLOG_VERSION_2 != 0 && h_size > XLOG_HEADER_CYCLE_SIZE {
            u64::from(h_size.div_ceil(XLOG_HEADER_CYCLE_SIZE))
        } else {
            1
        };
        if num_logops != 1 {
            return Ok(false);
        }
        let op = read(bb.saturating_add(hblks))?;
        let flags = op.get(9).copied().unwrap_or(0);
        Ok(flags & XLOG_UNMOUNT_TRANS != 0)
    }
}
