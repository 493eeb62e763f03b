//! An in-memory [`GuestFs`] for unit tests of the facts extractors: files, directories
//! (implied by their children), symlinks, modes and flags.

use crate::view::{GuestView, Mount};
use imgcheck_fs::{
    DirEntry, FileFlags, FileType, FsError, FsType, GuestFs, Metadata, VolumeInfo, VolumeState,
};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone)]
enum Node {
    File(Vec<u8>),
    Dir,
    Link(String),
}

/// Builder and filesystem.
#[derive(Clone, Default)]
pub struct MemFs {
    nodes: BTreeMap<String, Node>,
    modes: BTreeMap<String, u32>,
    flags: BTreeMap<String, FileFlags>,
}

impl MemFs {
    pub fn new() -> MemFs {
        let mut m = MemFs::default();
        m.nodes.insert("/".into(), Node::Dir);
        m
    }

    fn parents(&mut self, p: &str) {
        let mut cur = String::new();
        let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty()).collect();
        for c in parts.iter().take(parts.len().saturating_sub(1)) {
            cur.push('/');
            cur.push_str(c);
            self.nodes.entry(cur.clone()).or_insert(Node::Dir);
        }
    }

    pub fn file(mut self, p: &str, data: impl AsRef<[u8]>) -> MemFs {
        self.parents(p);
        self.nodes
            .insert(p.into(), Node::File(data.as_ref().to_vec()));
        self
    }

    pub fn dir(mut self, p: &str) -> MemFs {
        self.parents(p);
        self.nodes.insert(p.into(), Node::Dir);
        self
    }

    pub fn link(mut self, p: &str, target: &str) -> MemFs {
        self.parents(p);
        self.nodes.insert(p.into(), Node::Link(target.into()));
        self
    }

    pub fn mode(mut self, p: &str, mode: u32) -> MemFs {
        self.modes.insert(p.into(), mode);
        self
    }

    pub fn flags(mut self, p: &str, f: FileFlags) -> MemFs {
        self.flags.insert(p.into(), f);
        self
    }

    pub fn view(self) -> GuestView {
        GuestView::new(
            vec![Mount {
                point: "/".into(),
                volume: "mem".into(),
                fs: Arc::new(self),
            }],
            40,
        )
    }

    fn get(&self, p: &str) -> Result<&Node, FsError> {
        self.nodes.get(p).ok_or_else(|| FsError::NotFound {
            fs: "mem",
            path: p.into(),
        })
    }
}

impl GuestFs for MemFs {
    fn volume_info(&self) -> VolumeInfo {
        VolumeInfo {
            fs_type: FsType::Ext4,
            uuid: None,
            label: None,
            size_bytes: 0,
            free_bytes: None,
            free_inodes: None,
            block_size: 4096,
            state: VolumeState::Clean,
            features: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn metadata(&self, path: &str) -> Result<Metadata, FsError> {
        let (file_type, size) = match self.get(path)? {
            Node::File(d) => (FileType::File, u64::try_from(d.len()).unwrap_or(0)),
            Node::Dir => (FileType::Dir, 0),
            Node::Link(t) => (FileType::Symlink, u64::try_from(t.len()).unwrap_or(0)),
        };
        Ok(Metadata {
            file_type,
            size,
            mode: Some(self.modes.get(path).copied().unwrap_or(0o644)),
            uid: Some(0),
            gid: Some(0),
            atime: None,
            mtime: None,
            ctime: None,
            crtime: None,
            inode: None,
            id: None,
            links: Some(1),
            flags: self.flags.get(path).copied().unwrap_or_default(),
            streams: Vec::new(),
        })
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        match self.get(path)? {
            Node::Dir => {}
            _ => {
                return Err(FsError::NotADirectory {
                    fs: "mem",
                    path: path.into(),
                })
            }
        }
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        Ok(self
            .nodes
            .iter()
            .filter_map(|(p, n)| {
                let rest = p.strip_prefix(&prefix)?;
                if rest.is_empty() || rest.contains('/') {
                    return None;
                }
                Some(DirEntry {
                    name: rest.to_string(),
                    file_type: match n {
                        Node::File(_) => FileType::File,
                        Node::Dir => FileType::Dir,
                        Node::Link(_) => FileType::Symlink,
                    },
                    inode: None,
                })
            })
            .collect())
    }

    fn read_link(&self, path: &str) -> Result<String, FsError> {
        match self.get(path)? {
            Node::Link(t) => Ok(t.clone()),
            _ => Err(FsError::NotFound {
                fs: "mem",
                path: path.into(),
            }),
        }
    }

    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, FsError> {
        match self.get(path)? {
            Node::File(d) => {
                let n = usize::try_from(max_bytes)
                    .unwrap_or(usize::MAX)
                    .min(d.len());
                Ok(d.get(..n).unwrap_or_default().to_vec())
            }
            _ => Err(FsError::NotFound {
                fs: "mem",
                path: path.into(),
            }),
        }
    }
}
