//! qcow2 reader (scaffold: being written).

use crate::{ContainerError, FormatReader, OpenContext, Probe, VirtualDisk};
use imgcheck_core::BlockSource;
use std::sync::Arc;

/// The qcow2 format.
pub(crate) struct Qcow2Format;

impl FormatReader for Qcow2Format {
    fn name(&self) -> &'static str {
        "qcow2"
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
            format: "qcow2",
            feature: "reading".to_string(),
        })
    }
}
