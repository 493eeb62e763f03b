//! Decompression of Btrfs extents: zlib (a zlib-wrapped deflate stream, `flate2`), LZO
//! (Btrfs's segmented framing, our own `lzo`), zstd (one or more frames, `ruzstd`, the decoder
//! the container crate uses). The output buffer is sized by the caller from `ram_bytes`, which
//! the caller bounds (128 KiB per extent, `BTRFS_MAX_UNCOMPRESSED`); nothing here allocates from
//! image values. Output shorter than `ram_bytes` leaves zeros, as the kernel does.

use super::lzo::btrfs_lzo_decompress;
use std::io::Read;

/// `BTRFS_COMPRESS_ZLIB`.
pub(crate) const COMPRESS_ZLIB: u8 = 1;
/// `BTRFS_COMPRESS_LZO`.
pub(crate) const COMPRESS_LZO: u8 = 2;
/// `BTRFS_COMPRESS_ZSTD`.
pub(crate) const COMPRESS_ZSTD: u8 = 3;
/// Btrfs limits zstd windows to 2^17 (`ZSTD_BTRFS_MAX_WINDOWLOG`); allow a little more.
const ZSTD_MAX_WINDOW: u64 = 1 << 20;
/// Frames accepted in one extent.
const ZSTD_MAX_FRAMES: usize = 64;

/// Name of a compression type, for messages.
pub(crate) fn name(kind: u8) -> String {
    match kind {
        COMPRESS_ZLIB => "zlib".into(),
        COMPRESS_LZO => "lzo".into(),
        COMPRESS_ZSTD => "zstd".into(),
        other => format!("compression type {other}"),
    }
}

/// Decompress `input` (of compression `kind`) into `out`. Errors are lowercase descriptions;
/// `Err(None)` means the compression type is unknown (unsupported rather than corrupt).
pub(crate) fn decompress(
    kind: u8,
    input: &[u8],
    out: &mut [u8],
    sector: usize,
) -> Result<(), Option<String>> {
    match kind {
        COMPRESS_ZLIB => inflate(input, out).map_err(Some),
        COMPRESS_LZO => btrfs_lzo_decompress(input, out, sector).map_err(Some),
        COMPRESS_ZSTD => unzstd(input, out).map_err(Some),
        _ => Err(None),
    }
}

fn inflate(input: &[u8], out: &mut [u8]) -> Result<(), String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut d = Decompress::new(true);
    let want = out.len();
    loop {
        let done_in = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
        let done_out = usize::try_from(d.total_out()).unwrap_or(usize::MAX);
        if done_out >= want {
            return Ok(());
        }
        let (Some(rest_in), Some(rest_out)) = (input.get(done_in..), out.get_mut(done_out..))
        else {
            return Err("zlib decoder position out of range".to_string());
        };
        let status = d
            .decompress(rest_in, rest_out, FlushDecompress::Finish)
            .map_err(|e| format!("invalid zlib data: {e}"))?;
        let progressed = d.total_in() != u64::try_from(done_in).unwrap_or(0)
            || d.total_out() != u64::try_from(done_out).unwrap_or(0);
        if matches!(status, Status::StreamEnd) || !progressed {
            return Ok(());
        }
    }
}

fn unzstd(input: &[u8], out: &mut [u8]) -> Result<(), String> {
    use ruzstd::decoding::StreamingDecoder;
    let mut filled = 0usize;
    let mut rest = input;
    for _ in 0..ZSTD_MAX_FRAMES {
        // Btrfs pads the compressed extent to a sector with zeros after the frame.
        if rest.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let mut dec = StreamingDecoder::new_with_max_window_size(&mut rest, ZSTD_MAX_WINDOW)
            .map_err(|e| format!("invalid zstd frame header after {filled} bytes: {e}"))?;
        loop {
            let Some(dst) = out.get_mut(filled..) else {
                return Err("zstd output position out of range".to_string());
            };
            if dst.is_empty() {
                return Ok(());
            }
            let n = dec
                .read(dst)
                .map_err(|e| format!("invalid zstd data after {filled} bytes: {e}"))?;
            if n == 0 {
                break;
            }
            filled = filled.saturating_add(n);
        }
        drop(dec);
    }
    Err(format!(
        "more than {ZSTD_MAX_FRAMES} zstd frames in one extent"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn zlib_round_trip_and_garbage() {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&[7u8; 5000]).unwrap();
        let c = e.finish().unwrap();
        let mut out = vec![0u8; 5000];
        decompress(COMPRESS_ZLIB, &c, &mut out, 4096).unwrap();
        assert!(out.iter().all(|&b| b == 7));
        assert!(decompress(COMPRESS_ZLIB, &[1, 2, 3, 4], &mut out, 4096).is_err());
        assert!(decompress(COMPRESS_ZSTD, &[1, 2, 3, 4], &mut out, 4096).is_err());
        assert_eq!(decompress(9, &[], &mut out, 4096), Err(None));
    }
}
