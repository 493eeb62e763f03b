//! The file tree `ls` and `cat` browse: the assembled guest view, or one volume's filesystem.

use crate::engine::{self, Analysis};
use crate::ImageArgs;
use anyhow::{bail, Context};
use imgcheck_fs::{DirEntry, FileId, GuestFs, Metadata};
use imgcheck_inspect::GuestView;
use std::sync::Arc;

/// A browsable tree.
pub enum Tree {
    /// The guest as its fstab assembles it (paths resolve across mounts and symlinks).
    Guest(GuestView),
    /// One filesystem, symlinks not followed.
    Volume(Arc<dyn GuestFs>),
}

impl Tree {
    /// Open the tree for `--volume V`, or the guest (or the only filesystem) without it.
    pub fn open(args: &ImageArgs, volume: Option<&str>) -> anyhow::Result<Tree> {
        let a: Analysis = engine::analyse_to(args, engine::Depth::Layers)?;
        if let Some(v) = volume {
            let vol = a.volumes.iter().find(|x| x.id == v).with_context(|| {
                format!(
                    "no volume {v:?} (volumes: {})",
                    a.volumes
                        .iter()
                        .map(|x| x.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            return match (&vol.fs, &vol.error) {
                (Some(fs), _) => Ok(Tree::Volume(fs.clone())),
                (None, Some(e)) => bail!("volume {v}: {e}"),
                (None, None) => bail!(
                    "volume {v} holds no filesystem imgcheck can read ({})",
                    vol.probed
                        .as_ref()
                        .map(|p| format!("{p:?}"))
                        .unwrap_or_else(|| "unknown".into())
                ),
            };
        }
        if let Some((asm, _)) = a.guest {
            return Ok(Tree::Guest(asm.view));
        }
        if let Some((vol, _)) = &a.windows {
            if let Some(fs) = a
                .volumes
                .iter()
                .find(|v| &v.id == vol)
                .and_then(|v| v.fs.clone())
            {
                return Ok(Tree::Volume(fs));
            }
        }
        let fss: Vec<_> = a
            .volumes
            .iter()
            .filter_map(|v| v.fs.clone().map(|f| (v.id.clone(), f)))
            .collect();
        match fss.as_slice() {
            [(_, fs)] => Ok(Tree::Volume(fs.clone())),
            [] => bail!("the image holds no filesystem imgcheck can read"),
            many => bail!(
                "no operating system root found; choose a volume with --volume ({})",
                many.iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Metadata of the path itself.
    pub fn lstat(&self, p: &str) -> anyhow::Result<Metadata> {
        Ok(match self {
            Tree::Guest(v) => v.symlink_metadata(p)?,
            Tree::Volume(fs) => fs.metadata(p)?,
        })
    }

    /// What identifies the file at `p` (whose metadata is `m`) in the whole tree: its volume and
    /// its [`FileId`] there; `None` when the filesystem gives no id.
    pub fn identity(&self, p: &str, m: &Metadata) -> Option<(String, FileId)> {
        let id = m.id?;
        match self {
            Tree::Guest(v) => v.volume_of(p).ok().map(|vol| (vol.to_string(), id)),
            Tree::Volume(_) => Some((String::new(), id)),
        }
    }

    /// Directory entries.
    pub fn read_dir(&self, p: &str) -> anyhow::Result<Vec<DirEntry>> {
        Ok(match self {
            Tree::Guest(v) => v.read_dir(p)?,
            Tree::Volume(fs) => fs.read_dir(p)?,
        })
    }

    /// Symlink target.
    pub fn read_link(&self, p: &str) -> anyhow::Result<String> {
        Ok(match self {
            Tree::Guest(v) => v.read_link(p)?,
            Tree::Volume(fs) => fs.read_link(p)?,
        })
    }

    /// File contents (following symlinks in the guest view).
    pub fn read(&self, p: &str, max: u64) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            Tree::Guest(v) => v.read(p, max)?,
            Tree::Volume(fs) => fs.read(p, max)?,
        })
    }
}
