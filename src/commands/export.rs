//! `imgcheck export`: the decoded virtual disk, or one volume, as raw bytes.

use crate::ImageArgs;
use anyhow::{bail, Context};
use imgcheck_core::BlockSource;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Bytes copied per read.
const CHUNK: usize = 1 << 20;

/// Run the command.
pub fn run(args: &ImageArgs, volume: Option<&str>, output: &Path) -> anyhow::Result<u8> {
    let disk = super::open_disk(args)?;
    for a in &disk.anomalies {
        eprintln!("imgcheck: warning: {a}");
    }
    let src: Arc<dyn BlockSource> = match volume {
        None => disk.source(),
        Some(spec) => {
            let table = super::partitions(&disk)?;
            super::volume_source(&disk, &table, spec)?
        }
    };
    if output == Path::new("-") {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        copy(src.as_ref(), &mut lock)?;
        lock.flush()?;
    } else {
        refuse_overwriting_image(&args.image, output)?;
        let file = std::fs::File::create(output)
            .with_context(|| format!("cannot create {}", output.display()))?;
        let mut w = std::io::BufWriter::with_capacity(CHUNK, file);
        copy(src.as_ref(), &mut w)?;
        w.flush()
            .with_context(|| format!("cannot write {}", output.display()))?;
    }
    Ok(0)
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

fn copy(src: &dyn BlockSource, out: &mut dyn Write) -> anyhow::Result<()> {
    let len = src.len();
    let mut buf = vec![0u8; CHUNK];
    let mut off = 0u64;
    while off < len {
        let n = usize::try_from(len.saturating_sub(off)).map_or(CHUNK, |r| r.min(CHUNK));
        let chunk = buf.get_mut(..n).unwrap_or_default();
        src.read_exact_at(chunk, off)
            .with_context(|| format!("cannot read the virtual disk at offset {off}"))?;
        out.write_all(chunk).context("cannot write the output")?;
        off = off.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }
    Ok(())
}
