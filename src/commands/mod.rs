//! One module per subcommand, plus the shared steps that open an image.

pub mod cat;
pub mod check;
pub mod checks;
pub mod export;
pub mod info;
pub mod inspect;
pub mod ls;
pub mod scan;
pub mod tree;

use crate::ImageArgs;
use anyhow::Context;
use imgcheck_container::{OpenOptions, VirtualDisk};
use imgcheck_core::{BlockSource, Limits};
use imgcheck_volume::PartitionTable;
use std::sync::Arc;

/// Open options from the command line.
pub fn open_options(args: &ImageArgs) -> OpenOptions {
    OpenOptions {
        limits: Limits::default(),
        follow_backing: args.follow_backing,
        backing_dir: args.backing_dir.clone(),
    }
}

/// Open the image's container.
pub fn open_disk(args: &ImageArgs) -> anyhow::Result<VirtualDisk> {
    imgcheck_container::open(&args.image, &open_options(args))
        .with_context(|| format!("{}", args.image.display()))
}

/// Read the partition table of an opened disk.
pub fn partitions(disk: &VirtualDisk) -> anyhow::Result<PartitionTable> {
    let src = disk.source();
    imgcheck_volume::read_partition_table(src.as_ref(), &Limits::default())
        .context("cannot read the partition table")
}

/// The source of volume `spec` (a partition number as `info` lists it).
pub fn volume_source(
    disk: &VirtualDisk,
    table: &PartitionTable,
    spec: &str,
) -> anyhow::Result<Arc<dyn BlockSource>> {
    let number: u32 = spec.parse().with_context(|| {
        format!("volume {spec:?}: expected a partition number as `imgcheck info` lists it")
    })?;
    let part = table
        .partitions
        .iter()
        .find(|p| p.number == number)
        .with_context(|| {
            let have: Vec<String> = table
                .partitions
                .iter()
                .map(|p| p.number.to_string())
                .collect();
            format!(
                "no partition {number} (partitions: {})",
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            )
        })?;
    let slice = part
        .source(disk.source())
        .with_context(|| format!("partition {number} lies outside the disk"))?;
    Ok(Arc::new(slice))
}
