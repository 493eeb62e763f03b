//! LZNT1 decompression, for NTFS compressed attributes.
//!
//! Specification: [MS-XCA] "Xpress Compression Algorithm", section 2.5 (LZNT1). Our own code
//! (about 80 lines) rather than a crate so that it obeys the workspace rules: bounded output,
//! no panics, no indexing.

/// Uncompressed size of one LZNT1 chunk.
const CHUNK: usize = 4096;
/// Header bit: the chunk is compressed.
const CHUNK_COMPRESSED: u16 = 0x8000;
/// Header bits: chunk data length minus 1 (excluding the 2-byte header).
const CHUNK_LEN_MASK: u16 = 0x0FFF;

/// Why a buffer is not valid LZNT1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lznt1Error {
    /// Byte offset in the compressed input.
    pub offset: usize,
    /// What is wrong.
    pub problem: &'static str,
}

/// Decompress `input`, appending at most `max_out` bytes to `out`.
pub(crate) fn decompress(
    input: &[u8],
    out: &mut Vec<u8>,
    max_out: usize,
) -> Result<(), Lznt1Error> {
    let mut pos = 0usize;
    let start_len = out.len();
    while let (Some(&lo), Some(&hi)) = (input.get(pos), input.get(pos.saturating_add(1))) {
        let header = u16::from_le_bytes([lo, hi]);
        if header == 0 {
            break;
        }
        let len = usize::from(header & CHUNK_LEN_MASK).saturating_add(1);
        let data_start = pos.saturating_add(2);
        let Some(data) = input.get(data_start..data_start.saturating_add(len)) else {
            return Err(Lznt1Error {
                offset: pos,
                problem: "chunk runs past the end of the input",
            });
        };
        let chunk_start = out.len();
        if header & CHUNK_COMPRESSED == 0 {
            out.extend_from_slice(data);
        } else {
            decompress_chunk(data, out, chunk_start, data_start)?;
        }
        if out.len().saturating_sub(start_len) >= max_out {
            out.truncate(start_len.saturating_add(max_out));
            return Ok(());
        }
        pos = data_start.saturating_add(len);
    }
    Ok(())
}

fn decompress_chunk(
    data: &[u8],
    out: &mut Vec<u8>,
    chunk_start: usize,
    base: usize,
) -> Result<(), Lznt1Error> {
    let mut i = 0usize;
    while let Some(&flags) = data.get(i) {
        i = i.saturating_add(1);
        for bit in 0..8 {
            if i >= data.len() {
                return Ok(());
            }
            let produced = out.len().saturating_sub(chunk_start);
            if flags & (1 << bit) == 0 {
                if let Some(&b) = data.get(i) {
                    out.push(b);
                }
                i = i.saturating_add(1);
            } else {
                let (Some(&a), Some(&b)) = (data.get(i), data.get(i.saturating_add(1))) else {
                    return Err(Lznt1Error {
                        offset: base.saturating_add(i),
                        problem: "truncated back-reference",
                    });
                };
                i = i.saturating_add(2);
                let token = u16::from_le_bytes([a, b]);
                // Offset bits grow with the position in the chunk: 4 bits up to 16 bytes, …
                let mut len_bits = 12u32;
                let mut p = produced.saturating_sub(1);
                while p >= 0x10 {
                    len_bits = len_bits.saturating_sub(1);
                    p >>= 1;
                }
                let len_mask = (1u16 << len_bits).saturating_sub(1);
                let length = usize::from(token & len_mask).saturating_add(3);
                let offset =
                    usize::from(token.checked_shr(len_bits).unwrap_or(0)).saturating_add(1);
                if offset > produced {
                    return Err(Lznt1Error {
                        offset: base.saturating_add(i),
                        problem: "back-reference before the start of the chunk",
                    });
                }
                for _ in 0..length {
                    if out.len().saturating_sub(chunk_start) >= CHUNK {
                        return Err(Lznt1Error {
                            offset: base.saturating_add(i),
                            problem: "chunk decompresses to more than 4096 bytes",
                        });
                    }
                    let from = out.len().saturating_sub(offset);
                    let byte = out.get(from).copied().unwrap_or(0);
                    out.push(byte);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_backreference() {
        // "abcabcabcabc": 3 literals, then a back-reference of offset 3, length 9.
        // At position 3, offset bits = 12 - 0 → len_bits 12; token = ((3-1) << 12) | (9-3).
        let token: u16 = (2 << 12) | 6;
        let mut chunk = vec![0b0000_1000u8, b'a', b'b', b'c'];
        chunk.extend_from_slice(&token.to_le_bytes());
        let header: u16 = CHUNK_COMPRESSED | u16::try_from(chunk.len() - 1).unwrap();
        let mut input = header.to_le_bytes().to_vec();
        input.extend_from_slice(&chunk);
        input.extend_from_slice(&[0, 0]);
        let mut out = Vec::new();
        decompress(&input, &mut out, 1 << 20).unwrap();
        assert_eq!(out, b"abcabcabcabc");
    }

    #[test]
    fn uncompressed_chunk_and_limits() {
        let header: u16 = u16::try_from(5 - 1).unwrap();
        let mut input = header.to_le_bytes().to_vec();
        input.extend_from_slice(b"hello");
        let mut out = Vec::new();
        decompress(&input, &mut out, 1 << 20).unwrap();
        assert_eq!(out, b"hello");
        let mut out = Vec::new();
        decompress(&input, &mut out, 3).unwrap();
        assert_eq!(out, b"hel");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        // Back-reference at position 0.
        let input = [0x02u8, 0x80, 0x01, 0x00, 0x00];
        let mut out = Vec::new();
        let e = decompress(&input, &mut out, 1 << 20).unwrap_err();
        assert_eq!(e.problem, "back-reference before the start of the chunk");
        // Chunk length past the end.
        let e = decompress(&[0xFF, 0x8F, 1, 2], &mut Vec::new(), 100).unwrap_err();
        assert_eq!(e.offset, 0);
        for seed in 0u32..200 {
            let data: Vec<u8> = (0..64u32)
                .map(|i| u8::try_from((i.wrapping_mul(seed).wrapping_add(seed * 7)) % 251).unwrap())
                .collect();
            let _ = decompress(&data, &mut Vec::new(), 1 << 16);
        }
    }
}
