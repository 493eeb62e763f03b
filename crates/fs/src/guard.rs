//! Containment of panics in the wrapped third-party readers (`ext4-view`, `fatfs`, `ntfs`).
//!
//! Our own code never panics on image bytes; the crates we wrap are well behaved in measurement
//! but not proven so. Every call into them goes through [`guarded`], which turns a panic into
//! [`FsError::Panicked`] so that one corrupt volume becomes an anomaly, not a crash. (A
//! `panic = "abort"` profile would defeat this; the workspace does not use one.)

use crate::FsError;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// How many [`guarded`] calls are running on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Whether the current thread is inside [`guarded`]: a panic now will be contained (turned
/// into [`FsError::Panicked`]). A panic hook can use this to tell contained panics from real
/// ones — the fuzz harness does, because libFuzzer's hook aborts on every panic.
pub fn in_guard() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

/// Run `f`, converting a panic into [`FsError::Panicked`].
pub(crate) fn guarded<T>(
    fs: &'static str,
    path: &str,
    operation: &'static str,
    f: impl FnOnce() -> Result<T, FsError>,
) -> Result<T, FsError> {
    DEPTH.with(|d| d.set(d.get().saturating_add(1)));
    let r = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    match r {
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

    #[test]
    fn in_guard_is_true_only_inside() {
        assert!(!in_guard());
        let inside = guarded("fat", "/", "t", || Ok(in_guard()));
        assert_eq!(inside.ok(), Some(true));
        let _ = guarded::<()>("fat", "/", "t", || panic!("boom"));
        assert!(!in_guard(), "the depth is restored after a contained panic");
    }
}
