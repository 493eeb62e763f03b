//! vhd reader (scaffold: being written).

use crate::{ContainerError, FormatReader, OpenContext, Probe, VirtualDisk};
use imgcheck_core::BlockSource;
use std::sync::Arc;

/// The vhd format.
pub(crate) struct VhdFormat;

impl FormatReader for VhdFormat {
    fn name(&self) -> &'static str {
        "vhd"
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
            format: "vhd",
            feature: "reading".to_string(),
        })
    }
}
