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
//! Wraps `flate2` (miniz_oxide backend, pure Rust) and `zstd` (bindings to the reference
//! libzstd, built from the bundled source; crate MIT, libzstd BSD-3-Clause): both decode into
//! the output slice we give them, so a hostile cluster cannot make us allocate more than one
//! cluster plus the decoders' own bounded windows. libzstd rather than the pure-Rust `ruzstd`:
//! `perf` put ~65% of a zstd qcow2 export in ruzstd, about 2× slower than qemu-img with
//! libzstd (docs/benchmarks.md); ruzstd stays as the independent encoder in the tests.

use super::header::Compression;

/// Largest zstd window accepted (log2: 32 MiB). qemu compresses one cluster (at most 2 MiB) at a
/// time, so real frames declare at most a few MiB; this bounds the decoder's allocation for
/// hostile frames (libzstd refuses a frame that declares a larger window).
const ZSTD_MAX_WINDOW_LOG: u32 = 25;
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
    use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};
    let want = out.len();
    let mut dec = Decoder::new().map_err(|e| format!("cannot start the zstd decoder: {e}"))?;
    dec.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(
        ZSTD_MAX_WINDOW_LOG,
    ))
    .map_err(|e| format!("cannot bound the zstd window: {e}"))?;
    let mut src = InBuffer::around(input);
    let mut dst = OutBuffer::around(out);
    let mut frames = 0usize;
    // `hint` is what the decoder still expects of the current frame; 0 means the frame ended.
    let mut hint = 1usize;
    while dst.pos() < want {
        let (in_before, out_before) = (src.pos(), dst.pos());
        hint = dec.run(&mut src, &mut dst).map_err(|e| {
            if in_before == 0 {
                format!("invalid zstd frame header or data at the start: {e}")
            } else {
                format!("invalid zstd data after {out_before} bytes: {e}")
            }
        })?;
        if hint == 0 {
            frames = frames.saturating_add(1);
            if frames > ZSTD_MAX_FRAMES {
                return Err(format!(
                    "more than {ZSTD_MAX_FRAMES} zstd frames in one cluster"
                ));
            }
        }
        if src.pos() == in_before && dst.pos() == out_before {
            // No progress: the input ran out before the cluster was complete.
            break;
        }
    }
    let filled = dst.pos();
    if filled < want {
        return Err(format!(
            "zstd data ends after {filled} bytes, expected a cluster of {want}"
        ));
    }
    if hint != 0 {
        // The frame that completed the cluster must end here: if it yields one more byte, the
        // compressed data describes more than one cluster.
        let mut extra = [0u8; 1];
        let mut one = OutBuffer::around(&mut extra[..]);
        // An error here is about data past the cluster, which qemu never reads either.
        let _ = dec.run(&mut src, &mut one);
        if one.pos() != 0 {
            return Err(format!(
                "zstd data decompresses to more than a cluster of {want} bytes"
            ));
        }
    }
    Ok(())
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
