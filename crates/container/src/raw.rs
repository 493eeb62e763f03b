//! Raw images: the file is the disk. Served with positional reads (`pread`).
//!
//! memmap2 was not used: measurements (dependencies.md) showed pread, mmap and an in-memory
//! buffer at the same speed, and mmap raises SIGBUS when the file is truncated underneath us.

use crate::{ContainerError, Format, FormatReader, ImageFacts, OpenContext, Probe, VirtualDisk};
use imgcheck_core::BlockSource;
use std::sync::Arc;

/// The raw format: always last in the registry, accepts any file.
pub(crate) struct RawFormat;

impl FormatReader for RawFormat {
    fn name(&self) -> &'static str {
        "raw"
    }

    fn probe(&self, _probe: &Probe<'_>) -> bool {
        true
    }

    fn open(
        &self,
        file: Arc<dyn BlockSource>,
        probe: &Probe<'_>,
        _ctx: &OpenContext,
    ) -> Result<VirtualDisk, ContainerError> {
        let len = file.len();
        let mut facts = ImageFacts::new(Format::Raw, len, len);
        facts.allocated_bytes = probe.host_allocated.map(|a| a.min(len));
        Ok(VirtualDisk::new(facts, Vec::new(), file))
    }
}
