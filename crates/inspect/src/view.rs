//! [`GuestView`]: one guest file tree over several filesystems, assembled from the mount map.
//!
//! Guest paths resolve across mounts and through symlinks the way the guest's kernel would, but
//! clamped at the guest root: `..` at `/` stays at `/`, an absolute symlink target restarts at the
//! *guest's* root (a link to `/etc/shadow` reads the guest's shadow, never the host's), and at most
//! `Limits::max_symlink_depth` links are followed per lookup.

use crate::error::InspectError;
use imgcheck_fs::{DirEntry, FileType, GuestFs, Metadata};
use std::sync::Arc;

/// One mounted filesystem of the guest.
#[derive(Clone)]
pub struct Mount {
    /// Normalised mount point: `/`, `/boot`, `/boot/efi`.
    pub point: String,
    /// Which volume it is (e.g. partition number or `whole`), for messages.
    pub volume: String,
    /// The filesystem.
    pub fs: Arc<dyn GuestFs>,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount")
            .field("point", &self.point)
            .field("volume", &self.volume)
            .finish_non_exhaustive()
    }
}

/// The guest's file tree.
#[derive(Clone, Debug)]
pub struct GuestView {
    /// Mounts, longest mount point first.
    mounts: Vec<Mount>,
    max_symlinks: u32,
}

/// Split a path into its non-empty, non-`.` components.
fn components(p: &str) -> impl Iterator<Item = &str> {
    p.split('/').filter(|c| !c.is_empty() && *c != ".")
}

fn join(stack: &[String]) -> String {
    if stack.is_empty() {
        "/".to_string()
    } else {
        let mut s = String::new();
        for c in stack {
            s.push('/');
            s.push_str(c);
        }
        s
    }
}

impl GuestView {
    /// A view over `mounts` (one should be `/`).
    pub fn new(mut mounts: Vec<Mount>, max_symlinks: u32) -> GuestView {
        mounts.sort_by(|a, b| {
            b.point
                .len()
                .cmp(&a.point.len())
                .then(a.point.cmp(&b.point))
        });
        GuestView {
            mounts,
            max_symlinks,
        }
    }

    /// The mounts, longest mount point first.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The mount holding absolute path `p` and the path inside that filesystem.
    fn locate(&self, p: &str) -> Result<(&Mount, String), InspectError> {
        for m in &self.mounts {
            if m.point == "/" {
                return Ok((m, p.to_string()));
            }
            if p == m.point {
                return Ok((m, "/".to_string()));
            }
            if let Some(rest) = p.strip_prefix(m.point.as_str()) {
                if rest.starts_with('/') {
                    return Ok((m, rest.to_string()));
                }
            }
        }
        Err(InspectError::NoRoot)
    }

    fn lstat(&self, p: &str) -> Result<Metadata, InspectError> {
        let (m, rel) = self.locate(p)?;
        m.fs.metadata(&rel)
            .map_err(|e| InspectError::fs(p, &m.volume, e))
    }

    /// Resolve `path` to a canonical guest path (no symlinks in it). The last component is
    /// followed only when `follow_last` is set.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<String, InspectError> {
        let mut pending: Vec<String> = components(path).map(str::to_string).collect();
        pending.reverse();
        let mut stack: Vec<String> = Vec::new();
        let mut hops = 0u32;
        while let Some(c) = pending.pop() {
            if c == ".." {
                stack.pop();
                continue;
            }
            stack.push(c);
            let is_last = pending.is_empty();
            if is_last && !follow_last {
                break;
            }
            let here = join(&stack);
            let meta = self.lstat(&here)?;
            if meta.file_type != FileType::Symlink {
                if !is_last && meta.file_type != FileType::Dir {
                    return Err(InspectError::NotADirectory { path: here });
                }
                continue;
            }
            hops = hops.saturating_add(1);
            if hops > self.max_symlinks {
                return Err(InspectError::SymlinkLoop {
                    path: path.to_string(),
                    limit: self.max_symlinks,
                });
            }
            let (m, rel) = self.locate(&here)?;
            let target =
                m.fs.read_link(&rel)
                    .map_err(|e| InspectError::fs(&here, &m.volume, e))?;
            stack.pop();
            if target.starts_with('/') {
                stack.clear();
            }
            for t in components(&target).collect::<Vec<_>>().into_iter().rev() {
                pending.push(t.to_string());
            }
        }
        Ok(join(&stack))
    }

    /// Metadata of `path`, following symlinks.
    pub fn metadata(&self, path: &str) -> Result<Metadata, InspectError> {
        let p = self.resolve(path, true)?;
        self.lstat(&p)
    }

    /// Metadata of `path` itself (a final symlink is not followed).
    pub fn symlink_metadata(&self, path: &str) -> Result<Metadata, InspectError> {
        let p = self.resolve(path, false)?;
        self.lstat(&p)
    }

    /// The volume holding `path` itself (a final symlink is not followed): with the
    /// [`Metadata::id`] of the path it identifies the file across the whole view.
    pub fn volume_of(&self, path: &str) -> Result<&str, InspectError> {
        let p = self.resolve(path, false)?;
        let (m, _) = self.locate(&p)?;
        Ok(&m.volume)
    }

    /// True when `path` exists (following symlinks).
    pub fn exists(&self, path: &str) -> bool {
        self.metadata(path).is_ok()
    }

    /// Contents of `path` (following symlinks), at most `max_bytes`.
    pub fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, InspectError> {
        let p = self.resolve(path, true)?;
        let (m, rel) = self.locate(&p)?;
        m.fs.read(&rel, max_bytes)
            .map_err(|e| InspectError::fs(&p, &m.volume, e))
    }

    /// Up to `len` bytes of `path` (following symlinks) from `offset`; `Ok(None)` when its
    /// filesystem does not read ranges (see `GuestFs::read_range`): use [`GuestView::read`].
    pub fn read_range(
        &self,
        path: &str,
        offset: u64,
        len: usize,
    ) -> Result<Option<Vec<u8>>, InspectError> {
        let p = self.resolve(path, true)?;
        let (m, rel) = self.locate(&p)?;
        m.fs.read_range(&rel, offset, len)
            .map_err(|e| InspectError::fs(&p, &m.volume, e))
    }

    /// Contents of `path` as text (lossy UTF-8), at most `max_bytes`.
    pub fn read_text(&self, path: &str, max_bytes: u64) -> Result<String, InspectError> {
        Ok(String::from_utf8_lossy(&self.read(path, max_bytes)?).into_owned())
    }

    /// Entries of directory `path` (following symlinks). Mount points of other filesystems below
    /// it show the mounted filesystem's root, as in the guest.
    pub fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, InspectError> {
        let p = self.resolve(path, true)?;
        let (m, rel) = self.locate(&p)?;
        m.fs.read_dir(&rel)
            .map_err(|e| InspectError::fs(&p, &m.volume, e))
    }

    /// Target of symlink `path` (earlier components resolved).
    pub fn read_link(&self, path: &str) -> Result<String, InspectError> {
        let p = self.resolve(path, false)?;
        let (m, rel) = self.locate(&p)?;
        m.fs.read_link(&rel)
            .map_err(|e| InspectError::fs(&p, &m.volume, e))
    }
}

/// True when `e` says the path does not exist.
pub fn is_not_found(e: &InspectError) -> bool {
    e.kind() == imgcheck_core::ErrorKind::NotFound
}
