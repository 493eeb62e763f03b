//! vhdx reader (scaffold: being written).

use crate::{ContainerError, FormatReader, OpenContext, Probe, VirtualDisk};
use imgcheck_core::BlockSource;
use std::sync::Arc;

/// The vhdx format.
pub(crate) struct VhdxFormat;

impl FormatReader for VhdxFormat {
    fn name(&self) -> &'static str {
        "vhdx"
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
            format: "vhdx",
            feature: "reading".to_string(),
        })
    }
}
