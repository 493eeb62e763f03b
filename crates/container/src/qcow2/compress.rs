//! Decompression of one qcow2 compressed cluster.
//!
//! Source: QEMU `docs/interop/qcow2.txt`, "Compressed Clusters Descriptor" and the
//! `compression_type` header field: type 0 is raw deflate (RFC 1951, no zlib header), type 1 is
//! Zstandard. The descriptor only gives a sector count, so the compressed bytes may be followed
//! by unrelated bytes up to the end of the last sector (another compressed cluster may start
//! there); decompression therefore stops as soon as one full cluster has been produced, and
//! fails if the data ends before that. For zstd the data may be several frames; the frame that
//! completes the cluster must end exactly there.
//!
//! Wraps `flate2` (miniz_oxide backend, pure Rust) and `ruzstd` (pure Rust): both are bounded by
//! the output slice we give them, so a hostile cluster cannot make us allocate more than one
//! cluster plus the decoders' own bounded windows.

use super::header::Compression;
use std::io::Read;

/// Largest zstd window accepted. qemu compresses one cluster (at most 2 MiB) at a time, so real
/// frames declare at most a few MiB; this bounds the decoder's allocation for hostile frames.
const ZSTD_MAX_WINDOW: u64 = 32 << 20;
/// Largest number of zstd frames in one compressed cluster (each frame yields at least one
/// byte or is rejected, so this is only a backstop against pathological inputs).
const ZSTD_MAX_FRAMES: usize = 4096;

/// Decompress `input` into exactly `out.len()` bytes. The error is a lowercase description.
pub(super) fn decompress(kind: Compression, input: &[u8], out: &mut [u8]) -> Result<(), String> {
    match kind {
        Compression::Deflate => inflate_raw(input, out),
        Compression::Zstd => unzstd(input, out),
    }
}

fn inflate_raw(input: &[u8], out: &mut [u8]) -> Result<(), String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut d = Decompress::new(false);
    let want = out.len();
    loop {
        let done_in = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
        let done_out = usize::try_from(d.total_out()).unwrap_or(usize::MAX);
        if done_out >= want {
            return Ok(());
        }
        let (Some(rest_in), Some(rest_out)) = (input.get(done_in..), out.get_mut(done_out..))
        else {
            return Err("deflate decoder position out of range".to_string());
        };
        let status = d
            .decompress(rest_in, rest_out, FlushDecompress::Finish)
            .map_err(|e| format!("invalid deflate data: {e}"))?;
        let progressed = d.total_in() != u64::try_from(done_in).unwrap_or(0)
            || d.total_out() != u64::try_from(done_out).unwrap_or(0);
        let produced = usize::try_from(d.total_out()).unwrap_or(usize::MAX);
        if produced >= want {
            return Ok(());
        }
        if matches!(status, Status::StreamEnd) || !progressed {
            return Err(format!(
                "deflate data ends after {produced} bytes, expected a cluster of {want}"
            ));
        }
    }
}

fn unzstd(input: &[u8], out: &mut [u8]) -> Result<(), String> {
    use ruzstd::decoding::StreamingDecoder;
    let want = out.len();
    let mut filled = 0usize;
    let mut rest = input;
    for _ in 0..ZSTD_MAX_FRAMES {
        let mut dec = StreamingDecoder::new_with_max_window_size(&mut rest, ZSTD_MAX_WINDOW)
            .map_err(|e| format!("invalid zstd frame header after {filled} bytes: {e}"))?;
        // Read this frame until it ends or the cluster is full.
        loop {
            let Some(dst) = out.get_mut(filled..) else {
                return Err("zstd output position out of range".to_string());
            };
            if dst.is_empty() {
                break;
            }
            let n = dec
                .read(dst)
                .map_err(|e| format!("invalid zstd data after {filled} bytes: {e}"))?;
            if n == 0 {
                break;
            }
            filled = filled.saturating_add(n);
        }
        if filled >= want {
            // The frame that completed the cluster must end here: more output means the
            // compressed data describes more than one cluster.
            let mut extra = [0u8; 1];
            let n = dec
                .read(&mut extra)
                .map_err(|e| format!("invalid zstd data after {filled} bytes: {e}"))?;
            if n != 0 {
                return Err(format!(
                    "zstd data decompresses to more than a cluster of {want} bytes"
                ));
            }
            return Ok(());
        }
        drop(dec);
        if rest.is_empty() {
            break;
        }
    }
    Err(format!(
        "zstd data ends after {filled} bytes, expected a cluster of {want}"
    ))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]
mod tests {
    use super::*;
    use std::io::Write;

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn deflate_with_trailing_garbage() {
        let data = sample(4096);
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&data).unwrap();
        let mut c = e.finish().unwrap();
        c.extend_from_slice(&[0xAB; 300]);
        let mut out = vec![0u8; 4096];
        decompress(Compression::Deflate, &c, &mut out).unwrap();
        assert_eq!(out, data);
        // Too short a stream for the cluster.
        let mut big = vec![0u8; 8192];
        let e = decompress(Compression::Deflate, &c, &mut big).unwrap_err();
        assert!(e.contains("ends after 4096 bytes"), "{e}");
        // Garbage.
        let e = decompress(Compression::Deflate, &[0xff; 64], &mut out).unwrap_err();
        assert!(e.contains("deflate"), "{e}");
    }

    #[test]
    fn zstd_frames_and_garbage() {
        let data = sample(8192);
        let f1 = ruzstd::encoding::compress_to_vec(
            &data[..3000],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let f2 = ruzstd::encoding::compress_to_vec(
            &data[3000..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let mut c = f1.clone();
        c.extend_from_slice(&f2);
        c.extend_from_slice(&[0x11; 100]);
        let mut out = vec![0u8; 8192];
        decompress(Compression::Zstd, &c, &mut out).unwrap();
        assert_eq!(out, data);
        // A frame longer than the cluster.
        let mut small = vec![0u8; 2000];
        let e = decompress(Compression::Zstd, &f1, &mut small).unwrap_err();
        assert!(e.contains("more than a cluster"), "{e}");
        // Too little data.
        let e = decompress(Compression::Zstd, &f1, &mut out).unwrap_err();
        assert!(e.contains("zstd"), "{e}");
        let e = decompress(Compression::Zstd, &[0u8; 32], &mut out).unwrap_err();
        assert!(e.contains("zstd frame header"), "{e}");
    }
}
