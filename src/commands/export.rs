//! `imgcheck export`: the decoded virtual disk, or one volume, as raw bytes.
//!
//! Two reader threads decode 4 MiB chunks ahead of the writer (the sources are positional and
//! shared, so decoding — decompression, table walks — overlaps with writing), and all-zero chunks
//! become holes when the output is a regular file, as `qemu-img convert` does.

use crate::ImageArgs;
use anyhow::{bail, Context};
use imgcheck_core::BlockSource;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// Bytes decoded per chunk.
const CHUNK: usize = 4 << 20;
/// Reader threads decoding ahead of the writer.
const READERS: usize = 2;
/// Chunks each reader may hold ready before it waits for the writer.
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
        copy(&src, &mut Sink::Stream(&mut lock))?;
        lock.flush()?;
    } else {
        refuse_overwriting_image(&args.image, output)?;
        let mut file = std::fs::File::create(output)
            .with_context(|| format!("cannot create {}", output.display()))?;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular {
            copy(&src, &mut Sink::Sparse(&mut file))?;
            file.set_len(src.len())
                .with_context(|| format!("cannot write {}", output.display()))?;
        } else {
            copy(&src, &mut Sink::Stream(&mut file))?;
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

/// Where exported bytes go.
enum Sink<'a> {
    /// A pipe, a terminal, a device: every byte is written.
    Stream(&'a mut dyn Write),
    /// A regular file: zero chunks are skipped (left as holes); the caller sets the length.
    Sparse(&'a mut std::fs::File),
}

impl Sink<'_> {
    fn put(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Stream(w) => w.write_all(chunk),
            Sink::Sparse(f) => {
                if chunk.iter().all(|&b| b == 0) {
                    let n = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
                    f.seek(SeekFrom::Current(n)).map(|_| ())
                } else {
                    f.write_all(chunk)
                }
            }
        }
    }
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

fn copy(src: &Arc<dyn BlockSource>, sink: &mut Sink<'_>) -> anyhow::Result<()> {
    let len = src.len();
    let size = u64::try_from(CHUNK).unwrap_or(u64::MAX);
    let chunks = len.div_ceil(size);
    let readers = u64::try_from(READERS).unwrap_or(1);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut rxs: Vec<Receiver<anyhow::Result<Vec<u8>>>> = Vec::new();
        for t in 0..readers {
            let (tx, rx) = sync_channel(AHEAD);
            rxs.push(rx);
            let src = src.clone();
            scope.spawn(move || {
                // Reader t decodes chunks t, t + READERS, t + 2·READERS, …
                let mut i = t;
                while i < chunks {
                    let (off, n) = chunk_range(i, len);
                    let mut buf = vec![0u8; n];
                    let r = src
                        .read_exact_at(&mut buf, off)
                        .with_context(|| format!("cannot read the virtual disk at offset {off}"))
                        .map(|()| buf);
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
            let rx = usize::try_from(i.checked_rem(readers).unwrap_or(0))
                .ok()
                .and_then(|r| rxs.get(r))
                .context("reader channel")?;
            let chunk = rx.recv().context("a reader thread stopped")??;
            sink.put(&chunk).context("cannot write the output")?;
        }
        // Dropping the receivers ends any reader still waiting to send.
        drop(rxs);
        Ok(())
    })
}
