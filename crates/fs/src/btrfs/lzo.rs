//! LZO1X decompression, bounded, written from the format description in the Linux kernel's
//! `Documentation/staging/lzo.rst` (no code copied), plus Btrfs's segmented framing
//! (`fs/btrfs/lzo.c` layout: a 4-byte total length, then per-segment 4-byte lengths, a segment
//! header never straddling a sector boundary, each segment decompressing to at most one sector).
//!
//! Why our own: the MIT candidates on crates.io (`lzokay-native` 0.1) are young single-author
//! ports whose compressor is mostly `unsafe`; `rust-lzo` is GPL. The decompressor is ~150
//! lines, every read and write is bounds-checked, and output is capped by the caller's buffer.

use imgcheck_core::bytes::u32_le;

/// Decompress one raw LZO1X stream into `out`, returning the bytes produced. Output beyond
/// `out.len()`, reads beyond `input`, and distances before the start of the output are errors.
pub(crate) fn lzo1x_decompress(input: &[u8], out: &mut [u8]) -> Result<usize, String> {
    let mut d = Dec {
        input,
        ip: 0,
        out,
        op: 0,
    };
    d.run()?;
    Ok(d.op)
}

struct Dec<'a, 'b> {
    input: &'a [u8],
    ip: usize,
    out: &'b mut [u8],
    op: usize,
}

impl Dec<'_, '_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = self
            .input
            .get(self.ip)
            .copied()
            .ok_or_else(|| format!("lzo input ends at byte {}", self.ip))?;
        self.ip = self.ip.saturating_add(1);
        Ok(b)
    }

    fn le16(&mut self) -> Result<usize, String> {
        let lo = usize::from(self.byte()?);
        let hi = usize::from(self.byte()?);
        Ok(lo | (hi << 8))
    }

    /// `base` plus the run-length extension: zero bytes add 255 each, then a non-zero byte.
    fn ext_len(&mut self, base: usize) -> Result<usize, String> {
        let mut n = base;
        loop {
            let b = self.byte()?;
            if b == 0 {
                n = n
                    .checked_add(255)
                    .ok_or_else(|| "lzo run length overflows".to_string())?;
            } else {
                return n
                    .checked_add(usize::from(b))
                    .ok_or_else(|| "lzo run length overflows".to_string());
            }
        }
    }

    fn literals(&mut self, n: usize) -> Result<(), String> {
        let end_in = self.ip.checked_add(n).ok_or("lzo literal run overflows")?;
        let src = self
            .input
            .get(self.ip..end_in)
            .ok_or_else(|| format!("lzo literal run of {n} bytes passes the input end"))?;
        let end_out = self.op.checked_add(n).ok_or("lzo literal run overflows")?;
        let cap = self.out.len();
        let dst = self
            .out
            .get_mut(self.op..end_out)
            .ok_or_else(|| format!("lzo output exceeds {cap} bytes"))?;
        dst.copy_from_slice(src);
        self.ip = end_in;
        self.op = end_out;
        Ok(())
    }

    fn copy_match(&mut self, dist: usize, len: usize) -> Result<(), String> {
        if dist == 0 || dist > self.op {
            return Err(format!(
                "lzo match distance {dist} reaches before the output start (at {})",
                self.op
            ));
        }
        let end = self.op.checked_add(len).ok_or("lzo match overflows")?;
        if end > self.out.len() {
            return Err(format!("lzo output exceeds {} bytes", self.out.len()));
        }
        // Byte by byte: matches may overlap their own output.
        let mut from = self.op.saturating_sub(dist);
        while self.op < end {
            let b = *self.out.get(from).ok_or("lzo match source out of range")?;
            *self
                .out
                .get_mut(self.op)
                .ok_or("lzo match target out of range")? = b;
            from = from.saturating_add(1);
            self.op = self.op.saturating_add(1);
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), String> {
        // state: literals copied by the previous instruction (0, 1..=3, or 4 meaning "4+").
        let mut state: usize;
        let first = *self.input.first().ok_or("lzo input is empty")?;
        if first > 17 {
            self.ip = 1;
            let t = usize::from(first).saturating_sub(17);
            self.literals(t)?;
            state = t.min(4);
        } else {
            state = 0;
        }
        // Each instruction consumes at least one input byte: bounded by the input length.
        loop {
            let inst = usize::from(self.byte()?);
            let (dist, len, next);
            if inst < 16 {
                match state {
                    0 => {
                        let n = if inst == 0 { self.ext_len(15)? } else { inst };
                        self.literals(n.checked_add(3).ok_or("lzo literal run overflows")?)?;
                        state = 4;
                        continue;
                    }
                    1..=3 => {
                        let h = usize::from(self.byte()?);
                        dist = ((h << 2) | (inst >> 2)).saturating_add(1);
                        len = 2;
                    }
                    _ => {
                        let h = usize::from(self.byte()?);
                        dist = ((h << 2) | (inst >> 2)).saturating_add(2049);
                        len = 3;
                    }
                }
                next = inst & 3;
            } else if inst < 32 {
                let l = inst & 7;
                len = 2usize.saturating_add(if l == 0 { self.ext_len(7)? } else { l });
                let v = self.le16()?;
                let d = 16384usize
                    .saturating_add((inst & 8) << 11)
                    .saturating_add(v >> 2);
                if d == 16384 {
                    return Ok(()); // end of stream
                }
                dist = d;
                next = v & 3;
            } else if inst < 64 {
                let l = inst & 31;
                len = 2usize.saturating_add(if l == 0 { self.ext_len(31)? } else { l });
                let v = self.le16()?;
                dist = (v >> 2).saturating_add(1);
                next = v & 3;
            } else if inst < 128 {
                let h = usize::from(self.byte()?);
                len = 3usize.saturating_add((inst >> 5) & 1);
                dist = ((h << 3) | ((inst >> 2) & 7)).saturating_add(1);
                next = inst & 3;
            } else {
                let h = usize::from(self.byte()?);
                len = 5usize.saturating_add((inst >> 5) & 3);
                dist = ((h << 3) | ((inst >> 2) & 7)).saturating_add(1);
                next = inst & 3;
            }
            self.copy_match(dist, len)?;
            self.literals(next)?;
            state = next;
        }
    }
}

/// Bytes of a segment length header.
const LZO_LEN: usize = 4;

/// Decompress Btrfs's segmented LZO framing into `out` (sized to the extent's `ram_bytes`);
/// `sector` is the filesystem sector size (segment size and header alignment unit).
pub(crate) fn btrfs_lzo_decompress(
    input: &[u8],
    out: &mut [u8],
    sector: usize,
) -> Result<(), String> {
    let total = u32_le(input, 0).ok_or("lzo extent shorter than its 4-byte header")?;
    let total = usize::try_from(total).map_err(|_| "lzo total length overflows".to_string())?;
    if total > input.len() || total < LZO_LEN {
        return Err(format!(
            "lzo total length {total} outside the {} compressed bytes",
            input.len()
        ));
    }
    let mut cur = LZO_LEN;
    let mut produced = 0usize;
    while cur < total && produced < out.len() {
        // A segment header never crosses a sector boundary: skip the padding.
        let left_in_sector = sector.saturating_sub(cur.checked_rem(sector).unwrap_or(0));
        if left_in_sector < LZO_LEN {
            cur = cur.saturating_add(left_in_sector);
            if cur >= total {
                break;
            }
        }
        let seg_len = u32_le(input, cur).ok_or("lzo segment header truncated")?;
        let seg_len =
            usize::try_from(seg_len).map_err(|_| "lzo segment length overflows".to_string())?;
        cur = cur.saturating_add(LZO_LEN);
        let end = cur
            .checked_add(seg_len)
            .filter(|&e| e <= total)
            .ok_or_else(|| format!("lzo segment of {seg_len} bytes at {cur} passes the end"))?;
        let seg = input.get(cur..end).ok_or("lzo segment out of range")?;
        let dst_end = produced.saturating_add(sector).min(out.len());
        let dst = out
            .get_mut(produced..dst_end)
            .ok_or("lzo output position out of range")?;
        let n = lzo1x_decompress(seg, dst).map_err(|e| format!("segment at {cur}: {e}"))?;
        if n == 0 {
            return Err(format!("lzo segment at {cur} decompresses to nothing"));
        }
        produced = produced.saturating_add(n);
        cur = end;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn literal_only_stream() {
        // 22 = 17 + 5: copy 5 literals, then end marker 0x11 0x00 0x00.
        let s = [22u8, b'h', b'e', b'l', b'l', b'o', 0x11, 0, 0];
        let mut out = [0u8; 16];
        assert_eq!(lzo1x_decompress(&s, &mut out).unwrap(), 5);
        assert_eq!(&out[..5], b"hello");
    }

    #[test]
    fn overlapping_match() {
        // "ab" literals (first byte 17+2 → state 2), then a 2-byte match at distance 2
        // (inst 0 with state 2: dist = (H<<2) + D + 1 = 2 with H=0, D=1 → inst = 0b0100) and
        // S=0, then a 0x20-class match: len 2+4=6, dist 2, then end.
        let s = [19u8, b'a', b'b', 0b0100, 0, 0x24, 0x04, 0x00, 0x11, 0, 0];
        let mut out = [0u8; 32];
        let n = lzo1x_decompress(&s, &mut out).unwrap();
        assert_eq!(&out[..n], b"abababababab"[..n].as_ref());
        assert_eq!(n, 10);
    }

    #[test]
    fn hostile_inputs_error() {
        let mut out = [0u8; 8];
        assert!(lzo1x_decompress(&[], &mut out).is_err());
        // Literal run longer than the output.
        assert!(lzo1x_decompress(&[30u8, 1, 2, 3], &mut out).is_err());
        // Match before the output start.
        assert!(lzo1x_decompress(&[0x40, 0xff], &mut out).is_err());
        // Endless zero extension ends at the input end.
        assert!(lzo1x_decompress(&[0, 0, 0, 0, 0], &mut out).is_err());
        assert!(btrfs_lzo_decompress(&[9, 0, 0, 0], &mut out, 4096).is_err());
        assert!(btrfs_lzo_decompress(&[8, 0, 0, 0, 200, 0, 0, 0], &mut out, 4096).is_err());
    }
}
