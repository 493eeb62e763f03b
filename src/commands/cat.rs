//! `imgcheck cat`: a file's bytes on stdout.

use super::tree::Tree;
use crate::ImageArgs;
use anyhow::Context;
use std::io::Write;

/// Run the command.
pub fn run(args: &ImageArgs, path: &str, volume: Option<&str>) -> anyhow::Result<u8> {
    let tree = Tree::open(args, volume)?;
    let limits = imgcheck_core::Limits::default();
    let data = tree
        .read(path, limits.max_file_bytes)
        .with_context(|| format!("cannot read {path}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&data)?;
    out.flush()?;
    Ok(0)
}
