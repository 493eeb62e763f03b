//! Btrfs: not yet readable (the reader is being written); opening one is a clear error.

use crate::{FsError, GuestFs};
use imgcheck_core::{BlockSource, Limits};
use std::sync::Arc;

/// Open `src` as Btrfs.
pub(crate) fn open(src: Arc<dyn BlockSource>, limits: &Limits) -> Result<Box<dyn GuestFs>, FsError> {
    let _ = (src, limits);
    Err(FsError::Unsupported {
        fs: "btrfs",
        path: "/".into(),
        feature: "reading Btrfs".into(),
    })
}
