//! vmdk reader (scaffold: being written).

use crate::{ContainerError, FormatReader, OpenContext, Probe, VirtualDisk};
use imgcheck_core::BlockSource;
use std::sync::Arc;

/// The vmdk format.
pub(crate) struct VmdkFormat;

impl FormatReader for VmdkFormat {
    fn name(&self) -> &'static str {
        "vmdk"
    }

    fn probe(&self, _probe: &Probe<'_>) -> bool {
        false
    }

    fn open(
        &self,
        _file: Arc<dyn BlockSource>,
        _probe: &Probe<'_>,
        _ctx: &OpenContext,
    ) -> Result<VirtualDisk, ContainerError> {
        Err(ContainerError::Unsupported {
            format: "vmdk",
            feature: "reading".to_string(),
        })
    }
}
