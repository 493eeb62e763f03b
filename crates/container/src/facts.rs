//! [`ImageFacts`]: what a container says about itself, shown by `imgcheck info`.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Container formats imgcheck reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A plain disk image.
    Raw,
    /// QEMU copy-on-write v2/v3.
    Qcow2,
    /// Microsoft Virtual Hard Disk (qemu calls it `vpc`).
    Vhd,
    /// Microsoft VHDX.
    Vhdx,
    /// VMware virtual disk.
    Vmdk,
}

impl Format {
    /// The name qemu-img uses for this format.
    pub fn qemu_name(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Qcow2 => "qcow2",
            Format::Vhd => "vpc",
            Format::Vhdx => "vhdx",
            Format::Vmdk => "vmdk",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Raw => "raw",
            Format::Qcow2 => "qcow2",
            Format::Vhd => "vhd",
            Format::Vhdx => "vhdx",
            Format::Vmdk => "vmdk",
        })
    }
}

/// A reference from an image to another file it depends on (qcow2 backing file, VHD/VHDX parent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackingRef {
    /// The reference exactly as stored in the image.
    pub reference: String,
    /// The declared format of the backing file, if the image states one.
    pub format: Option<String>,
    /// Whether imgcheck opened it (only with `--follow-backing`).
    pub followed: bool,
    /// Facts of the opened backing image, when followed.
    pub parent: Option<Box<ImageFacts>>,
}

/// Facts about one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageFacts {
    /// Detected format.
    pub format: Format,
    /// Subformat: `fixed`, `dynamic`, `differencing`, `monolithicSparse`, `streamOptimized`, …
    pub subformat: Option<String>,
    /// Format version (`2`, `3` for qcow2 — shown as compat `0.10` / `1.1` too).
    pub version: Option<String>,
    /// Size of the virtual disk in bytes.
    pub virtual_size: u64,
    /// Size of the image file(s) in bytes.
    pub file_size: u64,
    /// Bytes of the virtual disk that this image stores data for (excludes holes and zero
    /// clusters), where the format tells.
    pub allocated_bytes: Option<u64>,
    /// Cluster / block / grain size in bytes.
    pub cluster_size: Option<u64>,
    /// Backing file or parent disk.
    pub backing: Option<BackingRef>,
    /// The image was not closed cleanly (qcow2 dirty bit, VHDX log to replay, …).
    pub dirty: bool,
    /// The format's own "corrupt" marker is set (qcow2 corrupt bit).
    pub corrupt: bool,
    /// Compression used by the image, if any (`zlib`, `zstd`, `deflate`).
    pub compression: Option<String>,
    /// Further format-specific facts, name → value.
    pub details: BTreeMap<String, String>,
}

impl ImageFacts {
    /// Facts with only the format and sizes set.
    pub fn new(format: Format, virtual_size: u64, file_size: u64) -> ImageFacts {
        ImageFacts {
            format,
            subformat: None,
            version: None,
            virtual_size,
            file_size,
            allocated_bytes: None,
            cluster_size: None,
            backing: None,
            dirty: false,
            corrupt: false,
            compression: None,
            details: BTreeMap::new(),
        }
    }
}
