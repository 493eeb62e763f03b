//! [`Limits`]: every bound on work and memory that image bytes could otherwise drive.

use serde::Serialize;

/// Bounds applied by every parser. Each default has a reason next to it; the engine passes one
/// `Limits` value down through every layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Backing-file / parent-disk chain depth followed (0 = never follow). Only used when the
    /// user asked to follow backing files. 16 is far beyond real chains (qemu's default is 256
    /// but real chains are a handful deep).
    pub max_backing_depth: u32,
    /// Largest single metadata table read into memory (qcow2 L1/refcount tables, VHD BAT, VHDX
    /// BAT, VMDK grain directory, GPT entry array): 256 MiB covers a qcow2 L1 of a 2 PiB disk
    /// with 64 KiB clusters.
    pub max_table_bytes: u64,
    /// Extended/logical partition chain length (EBRs). Linux stops far earlier in practice.
    pub max_ebr_chain: u32,
    /// GPT partition entries read; the spec minimum array holds 128 and no tool writes more than
    /// a few thousand.
    pub max_gpt_entries: u32,
    /// Bytes of one guest file extracted into memory. 512 MiB: a Windows SOFTWARE hive of a
    /// long-lived server can exceed 100 MiB, and nothing else the checks read comes close.
    pub max_file_bytes: u64,
    /// Entries of one directory listed.
    pub max_dir_entries: u64,
    /// Symlinks followed while resolving one guest path (Linux uses 40).
    pub max_symlink_depth: u32,
    /// Decompressed bytes of one initramfs.
    pub max_initramfs_bytes: u64,
    /// Decompressed bytes of one compressed unit (qcow2 cluster, VMDK grain, NTFS unit, …).
    pub max_compressed_unit_bytes: u64,
    /// Bytes of a text descriptor (VMDK) or text metadata area (LVM) read.
    pub max_descriptor_bytes: u64,
    /// Extents of one VMDK descriptor.
    pub max_extents: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_backing_depth: 16,
            max_table_bytes: 256 << 20,
            max_ebr_chain: 256,
            max_gpt_entries: 16_384,
            max_file_bytes: 512 << 20,
            max_dir_entries: 1_000_000,
            max_symlink_depth: 40,
            max_initramfs_bytes: 1 << 30,
            max_compressed_unit_bytes: 64 << 20,
            max_descriptor_bytes: 1 << 20,
            max_extents: 4096,
        }
    }
}
