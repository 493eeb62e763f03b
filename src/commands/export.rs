//! `imgcheck export`: the decoded virtual disk, or one volume, as raw bytes.
//!
//! The disk is copied in 4 MiB chunks by several threads (the sources are positional and shared,
//! so decoding — decompression, table walks — runs in parallel). What the container says is
//! unallocated or zero ([`BlockSource::extent`]: holes of a raw file, unallocated and zero
//! clusters, grains and blocks) is not read at all, and stored blocks of zeros are found in 4 KiB
//! steps; into a regular file both become holes, as `qemu-img convert` does, and each thread
//! writes its chunk at its offset. Into a pipe or device, chunks are written in order by one
//! writer and every byte is written.

use crate::ImageArgs;
use anyhow::{bail, Context};
use imgcheck_core::{BlockSource, Extent};
use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// Bytes decoded per chunk.
const CHUNK: usize = 4 << 20;
/// Decoding threads at most.
const MAX_WORKERS: usize = 4;
/// Chunks each reader may hold ready before it waits for the writer (stream output).
const AHEAD: usize = 2;

/// Run the command.
pub fn run(args: &ImageArgs, volume: Option<&str>, output: &Path) -> anyhow::Result<u8> {
    let disk = super::open_disk(args)?;
    for a in &disk.anomalies {
        eprintln!("imgcheck: warning: {a}");
    }
    let src: Arc<dyn BlockSource> = match volume {
        None => disk.source(),
        // A partition number: straight from the table, without analysing the rest of the disk.
        Some(spec) if spec.parse::<u32>().is_ok() => {
            let table = super::partitions(&disk)?;
            super::volume_source(&disk, &table, spec)?
        }
        // Any other volume as `inspect` lists it: an LVM logical volume `VG/LV`, an md array
        // `md/NAME`, or `whole`.
        Some(spec) => stacked_volume(args, spec)?,
    };
    if output == Path::new("-") {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        copy_stream(&src, &mut lock)?;
        lock.flush()?;
    } else {
        refuse_overwriting_image(&args.image, output)?;
        let mut file = std::fs::File::create(output)
            .with_context(|| format!("cannot create {}", output.display()))?;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular {
            #[cfg(unix)]
            copy_sparse(&src, &file)?;
            #[cfg(not(unix))]
            copy_stream(&src, &mut file)?;
            file.set_len(src.len())
                .with_context(|| format!("cannot write {}", output.display()))?;
        } else {
            copy_stream(&src, &mut file)?;
        }
        file.flush()
            .with_context(|| format!("cannot write {}", output.display()))?;
    }
    Ok(0)
}

/// The bytes of a volume the engine assembles (LVM logical volumes, md arrays, `whole`).
fn stacked_volume(args: &ImageArgs, spec: &str) -> anyhow::Result<Arc<dyn BlockSource>> {
    let a = crate::engine::analyse_to(args, crate::engine::Depth::Layers)?;
    let listed = || {
        a.volumes
            .iter()
            .map(|v| v.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(v) = a.volumes.iter().find(|v| v.id == spec) else {
        // A logical volume the metadata names but that cannot be read: say why.
        let lv = a.lvm.iter().flat_map(|l| &l.vgs).find_map(|vg| {
            vg.lvs
                .iter()
                .find(|lv| format!("{}/{}", vg.name, lv.name) == spec)
        });
        if let Some(lv) = lv {
            bail!(
                "logical volume {spec} ({}) cannot be read: {}",
                lv.kind,
                lv.reason.as_deref().unwrap_or("not assembled")
            );
        }
        bail!("no volume {spec:?} (volumes: {})", listed());
    };
    if let Some(e) = &v.error {
        if v.source.is_empty() {
            bail!("volume {spec}: {e}");
        }
    }
    Ok(v.source.clone())
}

/// The image is never written: refuse an output path that is the image itself.
fn refuse_overwriting_image(image: &Path, output: &Path) -> anyhow::Result<()> {
    if let (Ok(a), Ok(b)) = (image.canonicalize(), output.canonicalize()) {
        if a == b {
            bail!(
                "refusing to write the export over the image itself ({})",
                a.display()
            );
        }
    }
    Ok(())
}

/// Offset and length of chunk `i` of a source of `len` bytes.
fn chunk_range(i: u64, len: u64) -> (u64, usize) {
    let size = u64::try_from(CHUNK).unwrap_or(u64::MAX);
    let off = i.saturating_mul(size);
    let n = usize::try_from(len.saturating_sub(off).min(size)).unwrap_or(CHUNK);
    (off, n)
}

/// Granularity of the zero test on stored data: stored blocks of zeros become holes too.
const ZERO_BLOCK: usize = 4096;

/// True when every byte of `b` is zero.
fn all_zero(b: &[u8]) -> bool {
    // A fold without early exit vectorizes; the early exit happens per block.
    b.iter().fold(0u8, |acc, &x| acc | x) == 0
}

/// Decode chunk `off..off+buf.len()` of `src` into `buf` and return its runs of non-zero bytes
/// (start, end) within the chunk. What the source says is unallocated or zero is neither read
/// nor tested; it is zero-filled only when `fill_zeros` (stream output) asks for it.
fn decode_chunk(
    src: &dyn BlockSource,
    buf: &mut [u8],
    off: u64,
    fill_zeros: bool,
    runs: &mut Vec<(usize, usize)>,
) -> anyhow::Result<()> {
    runs.clear();
    let n = buf.len();
    let mut pos = 0usize;
    while pos < n {
        let rest = n.saturating_sub(pos);
        let rest64 = u64::try_from(rest).unwrap_or(u64::MAX);
        let at = off.saturating_add(u64::try_from(pos).unwrap_or(u64::MAX));
        // A run the source knows about; an empty or overlong answer counts as unknown.
        let extent = src
            .extent(at, rest64)
            .filter(|e| !e.is_empty() && e.len() <= rest64);
        let (zero, take) = match extent {
            Some(Extent::Zero(l)) => (true, l),
            Some(Extent::Data(l)) => (false, l),
            None => (false, rest64),
        };
        let take = usize::try_from(take).unwrap_or(rest).min(rest).max(1);
        let end = pos.saturating_add(take);
        let piece = buf.get_mut(pos..end).context("chunk bounds")?;
        if zero {
            if fill_zeros {
                piece.fill(0);
            }
        } else {
            src.read_exact_at(piece, at)
                .with_context(|| format!("cannot read the virtual disk at offset {at}"))?;
            // Non-zero blocks of ZERO_BLOCK bytes (aligned to the chunk) become runs.
            let mut b = pos;
            while b < end {
                let be = b
                    .saturating_sub(b.checked_rem(ZERO_BLOCK).unwrap_or(0))
                    .saturating_add(ZERO_BLOCK)
                    .min(end);
                if !buf.get(b..be).is_some_and(all_zero) {
                    match runs.last_mut() {
                        Some(last) if last.1 == b => last.1 = be,
                        _ => runs.push((b, be)),
                    }
                }
                b = be;
            }
        }
        pos = end;
    }
    Ok(())
}

/// Threads decoding chunks: both cores and more, so one thread's page faults and I/O waits
/// overlap with another's decoding.
fn workers() -> u64 {
    let n = std::thread::available_parallelism().map_or(2, |n| n.get());
    u64::try_from(n.clamp(2, MAX_WORKERS)).unwrap_or(2)
}

/// Export into a regular file: each worker decodes a chunk and writes its non-zero runs at
/// their offsets (`pwrite`), so chunks need no ordering; zeros stay holes.
#[cfg(unix)]
fn copy_sparse(src: &Arc<dyn BlockSource>, file: &std::fs::File) -> anyhow::Result<()> {
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let len = src.len();
    let chunks = len.div_ceil(u64::try_from(CHUNK).unwrap_or(u64::MAX));
    let next = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers())
            .map(|_| {
                let (next, failed) = (&next, &failed);
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut buf = vec![0u8; CHUNK];
                    let mut runs = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= chunks || failed.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        let (off, n) = chunk_range(i, len);
                        let r = (|| {
                            let chunk = buf.get_mut(..n).context("chunk bounds")?;
                            decode_chunk(src.as_ref(), chunk, off, false, &mut runs)?;
                            for &(s, e) in &runs {
                                let at = off.saturating_add(u64::try_from(s).unwrap_or(0));
                                let bytes = chunk.get(s..e).context("run bounds")?;
                                file.write_all_at(bytes, at)
                                    .context("cannot write the output")?;
                            }
                            anyhow::Ok(())
                        })();
                        if r.is_err() {
                            failed.store(true, Ordering::Relaxed);
                            return r;
                        }
                    }
                })
            })
            .collect();
        let mut first: Option<anyhow::Error> = None;
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first.get_or_insert(e);
                }
                Err(_) => {
                    first.get_or_insert_with(|| anyhow::anyhow!("an export thread panicked"));
                }
            }
        }
        first.map_or(Ok(()), Err)
    })
}

/// Export into a pipe or device: workers decode chunks ahead (round-robin), the calling thread
/// writes them in disk order; buffers go back to their worker for reuse.
fn copy_stream(src: &Arc<dyn BlockSource>, out: &mut dyn Write) -> anyhow::Result<()> {
    let len = src.len();
    let chunks = len.div_ceil(u64::try_from(CHUNK).unwrap_or(u64::MAX));
    let readers = workers();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut rxs: Vec<Receiver<anyhow::Result<Vec<u8>>>> = Vec::new();
        let mut back: Vec<SyncSender<Vec<u8>>> = Vec::new();
        for t in 0..readers {
            let (tx, rx) = sync_channel(AHEAD);
            let (btx, brx) = sync_channel::<Vec<u8>>(AHEAD.saturating_add(1));
            for _ in 0..=AHEAD {
                let _ = btx.send(vec![0u8; CHUNK]);
            }
            rxs.push(rx);
            back.push(btx);
            let src = src.clone();
            scope.spawn(move || {
                // Reader t decodes chunks t, t + readers, t + 2·readers, …
                let mut runs = Vec::new();
                let mut i = t;
                while i < chunks {
                    let Ok(mut buf) = brx.recv() else { return };
                    let (off, n) = chunk_range(i, len);
                    buf.truncate(n);
                    let r =
                        decode_chunk(src.as_ref(), &mut buf, off, true, &mut runs).map(|()| buf);
                    let failed = r.is_err();
                    if tx.send(r).is_err() || failed {
                        return;
                    }
                    i = i.saturating_add(readers);
                }
            });
        }
        // The writer takes chunks round-robin from the readers: that is disk order.
        for i in 0..chunks {
            let r = usize::try_from(i.checked_rem(readers).unwrap_or(0)).unwrap_or(0);
            let rx = rxs.get(r).context("reader channel")?;
            let chunk = rx.recv().context("a reader thread stopped")??;
            out.write_all(&chunk).context("cannot write the output")?;
            if let Some(b) = back.get(r) {
                let mut chunk = chunk;
                chunk.resize(CHUNK, 0);
                let _ = b.send(chunk);
            }
        }
        // Dropping the channels ends any reader still waiting.
        drop(rxs);
        drop(back);
        Ok(())
    })
}
