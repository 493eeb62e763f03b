//! Print the partition table of a raw disk image as JSON: `cargo run -p imgcheck-volume
//! --example partitions -- disk.img`. Used to compare our listing with `sfdisk --json`.

use imgcheck_core::{FileSource, Limits};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: partitions DISK.img")?
        .into();
    let disk = FileSource::open(&path)?;
    let table = imgcheck_volume::read_partition_table(&disk, &Limits::default())?;
    println!("{}", serde_json::to_string_pretty(&table)?);
    Ok(())
}
