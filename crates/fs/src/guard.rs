//! Containment of panics in the wrapped third-party readers (`ext4-view`, `fatfs`, `ntfs`).
//!
//! Our own code never panics on image bytes; the crates we wrap are well behaved in measurement
//! but not proven so. Every call into them goes through [`guarded`], which turns a panic into
//! [`FsError::Panicked`] so that one corrupt volume becomes an anomaly, not a crash. (A
//! `panic = "abort"` profile would defeat this; the workspace does not use one.)

use crate::FsError;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Run `f`, converting a panic into [`FsError::Panicked`].
pub(crate) fn guarded<T>(
    fs: &'static str,
    path: &str,
    operation: &'static str,
    f: impl FnOnce() -> Result<T, FsError>,
) -> Result<T, FsError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let message = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic payload".to_string()
            };
            Err(FsError::Panicked {
                fs,
                path: path.to_string(),
                operation,
                message,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors() {
        let r: Result<(), FsError> = guarded("ext4", "/x", "reading", || panic!("boom"));
        let e = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e, "ext4: /x: the reader panicked while reading: boom");
        assert_eq!(guarded("ext4", "/", "t", || Ok(5)).ok(), Some(5));
    }
}
