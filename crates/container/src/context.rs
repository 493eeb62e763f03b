//! [`OpenOptions`] and [`OpenContext`]: the policy for files an image refers to.
//!
//! - Backing files and parent disks (qcow2 backing, VHD/VHDX differencing parents) are opened
//!   only with [`OpenOptions::follow_backing`]; then the chain is depth-limited
//!   ([`imgcheck_core::Limits::max_backing_depth`]), loops are detected by canonical path, and
//!   every file must resolve inside the confinement directory (default: the directory of the
//!   image the user named). When not followed, regions the image does not store read as zeros
//!   and an anomaly says so.
//! - VMDK extents are part of the image the user named (a descriptor alone holds no data), so
//!   they are opened, but only inside the descriptor's own directory.

use crate::error::{ContainerError, RelatedProblem};
use crate::facts::BackingRef;
use crate::util::PaddedSource;
use crate::VirtualDisk;
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, FileSource, Limits, ZeroSource};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A resolved backing reference: the source to read unallocated regions from, the reference as
/// reported in the facts, and anomalies to add (backing not followed, the parent's own).
pub type BackingSource = (Arc<dyn BlockSource>, BackingRef, Vec<Anomaly>);

/// User choices for opening an image.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Bounds for every parser.
    pub limits: Limits,
    /// Open backing files / parent disks (`--follow-backing`).
    pub follow_backing: bool,
    /// Directory backing files must resolve inside; default: the image's directory.
    pub backing_dir: Option<PathBuf>,
}

/// The state of one open in a chain: which file, its confinement, and what was opened before it.
#[derive(Debug, Clone)]
pub struct OpenContext {
    path: PathBuf,
    confine: PathBuf,
    chain: Vec<PathBuf>,
    depth: u32,
    limits: Limits,
    follow_backing: bool,
}

impl OpenContext {
    /// Context for the image the user named.
    pub fn root(path: &Path, opts: &OpenOptions) -> Result<OpenContext, ContainerError> {
        let canon = path.canonicalize().map_err(|source| ContainerError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let confine = match &opts.backing_dir {
            Some(d) => d.canonicalize().map_err(|source| ContainerError::Open {
                path: d.clone(),
                source,
            })?,
            None => canon
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/")),
        };
        Ok(OpenContext {
            path: canon.clone(),
            confine,
            chain: vec![canon],
            depth: 0,
            limits: opts.limits.clone(),
            follow_backing: opts.follow_backing,
        })
    }

    /// A context for an image held in memory: it has no directory, so no backing file or extent
    /// can be opened (backing references read as zeros with an anomaly).
    pub fn detached(opts: &OpenOptions) -> OpenContext {
        OpenContext {
            path: PathBuf::from("<memory>"),
            confine: PathBuf::from("/nonexistent-imgcheck-detached"),
            chain: Vec::new(),
            depth: 0,
            limits: opts.limits.clone(),
            follow_backing: false,
        }
    }

    /// The (canonical) path of the file being opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Parser bounds.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether backing files are followed.
    pub fn follow_backing(&self) -> bool {
        self.follow_backing
    }

    /// Depth in the backing chain (0 for the image the user named).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    fn image_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"))
    }

    /// Resolve `reference` (relative to this image's directory) and require it to lie in `dir`.
    fn resolve_in(
        &self,
        format: &'static str,
        what: &'static str,
        reference: &str,
        dir: &Path,
    ) -> Result<PathBuf, ContainerError> {
        let related = |problem| ContainerError::Related {
            format,
            what,
            reference: reference.to_string(),
            problem,
        };
        let raw = Path::new(reference);
        let joined = if raw.is_absolute() {
            raw.to_path_buf()
        } else {
            self.image_dir().join(raw)
        };
        // Check the lexical path first, so that a reference like /etc/passwd is refused without
        // the file even being looked at.
        let lexical = normalize_lexically(&joined);
        if !lexical.starts_with(dir) {
            return Err(related(RelatedProblem::OutsideDir {
                dir: dir.to_path_buf(),
            }));
        }
        let canon = joined.canonicalize().map_err(|source| {
            related(RelatedProblem::Io {
                path: lexical.clone(),
                source,
            })
        })?;
        // And again after symlinks are resolved.
        if !canon.starts_with(dir) {
            return Err(related(RelatedProblem::OutsideDir {
                dir: dir.to_path_buf(),
            }));
        }
        Ok(canon)
    }

    /// Open a VMDK extent named by a descriptor, confined to the descriptor's directory.
    pub fn open_extent(
        &self,
        format: &'static str,
        reference: &str,
    ) -> Result<Arc<FileSource>, ContainerError> {
        let dir = self.image_dir();
        if self.chain.is_empty() {
            // Detached (in-memory) image: there is no directory to look in.
            return Err(ContainerError::Related {
                format,
                what: "extent",
                reference: reference.to_string(),
                problem: RelatedProblem::OutsideDir { dir },
            });
        }
        let path = self.resolve_in(format, "extent", reference, &dir)?;
        FileSource::open(&path)
            .map(Arc::new)
            .map_err(|source| ContainerError::Related {
                format,
                what: "extent",
                reference: reference.to_string(),
                problem: RelatedProblem::Io { path, source },
            })
    }

    /// Open a backing file or parent disk under the policy. `Ok(None)` when not following.
    pub fn open_backing(
        &self,
        format: &'static str,
        reference: &str,
        declared_format: Option<&str>,
    ) -> Result<Option<VirtualDisk>, ContainerError> {
        if !self.follow_backing {
            return Ok(None);
        }
        let related = |problem| ContainerError::Related {
            format,
            what: "backing file",
            reference: reference.to_string(),
            problem,
        };
        if self.depth >= self.limits.max_backing_depth {
            return Err(related(RelatedProblem::TooDeep {
                limit: self.limits.max_backing_depth,
            }));
        }
        let path = self.resolve_in(format, "backing file", reference, &self.confine)?;
        if self.chain.contains(&path) {
            return Err(related(RelatedProblem::Loop { path }));
        }
        let mut chain = self.chain.clone();
        chain.push(path.clone());
        let child = OpenContext {
            path,
            confine: self.confine.clone(),
            chain,
            depth: self.depth.saturating_add(1),
            limits: self.limits.clone(),
            follow_backing: self.follow_backing,
        };
        crate::open_with_context(&child, declared_format)
            .map(Some)
            .map_err(|e| related(RelatedProblem::Open(Box::new(e))))
    }

    /// Resolve a backing reference into a source of exactly `virtual_size` bytes: the opened
    /// parent (zero-padded or cut to size), or zeros plus an anomaly when not followed.
    pub fn backing_source(
        &self,
        format: &'static str,
        reference: &str,
        declared_format: Option<&str>,
        virtual_size: u64,
    ) -> Result<BackingSource, ContainerError> {
        match self.open_backing(format, reference, declared_format)? {
            Some(parent) => {
                let mut anomalies = parent.anomalies;
                for a in &mut anomalies {
                    a.structure = format!("backing file {reference:?}: {}", a.structure);
                }
                let src: Arc<dyn BlockSource> =
                    Arc::new(PaddedSource::new(parent.source, virtual_size));
                let r = BackingRef {
                    reference: reference.to_string(),
                    format: declared_format.map(str::to_string),
                    followed: true,
                    parent: Some(Box::new(parent.facts)),
                };
                Ok((src, r, anomalies))
            }
            None => {
                let a = Anomaly::new(
                    format,
                    "backing file",
                    None,
                    ErrorKind::NotFound,
                    format!(
                        "backing file {reference:?} not followed (use --follow-backing); regions this image does not store read as zeros"
                    ),
                );
                let r = BackingRef {
                    reference: reference.to_string(),
                    format: declared_format.map(str::to_string),
                    followed: false,
                    parent: None,
                };
                Ok((Arc::new(ZeroSource::new(virtual_size)), r, vec![a]))
            }
        }
    }
}

/// Remove `.` and resolve `..` without touching the filesystem.
fn normalize_lexically(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lexical() {
        assert_eq!(
            normalize_lexically(Path::new("/a/b/../../../etc/./passwd")),
            PathBuf::from("/etc/passwd")
        );
    }

    #[test]
    fn confinement_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("top.img");
        std::fs::write(&img, [0u8; 1024]).unwrap();
        let opts = OpenOptions {
            follow_backing: true,
            ..OpenOptions::default()
        };
        let ctx = OpenContext::root(&img, &opts).unwrap();
        for bad in ["/etc/passwd", "../../x", "sub/../../y"] {
            let e = ctx.open_backing("qcow2", bad, None).unwrap_err();
            assert!(
                e.to_string().contains("outside the allowed directory"),
                "{bad}: {e}"
            );
        }
        // A symlink inside the directory pointing out is refused after resolution.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link")).unwrap();
            let e = ctx.open_extent("vmdk", "link").unwrap_err();
            assert!(
                e.to_string().contains("outside the allowed directory"),
                "{e}"
            );
        }
        // Self-reference is a loop.
        let e = ctx.open_backing("qcow2", "top.img", None).unwrap_err();
        assert!(e.to_string().contains("loop"), "{e}");
        // Not following: no error, nothing opened.
        let ctx2 = OpenContext::root(&img, &OpenOptions::default()).unwrap();
        assert!(ctx2
            .open_backing("qcow2", "/etc/passwd", None)
            .unwrap()
            .is_none());
    }
}
