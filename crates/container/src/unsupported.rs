//! Inputs recognised by content but not analysed: named in a clear error instead of being
//! misread as a raw disk.
//!
//! Signatures: VirtualBox VDI (`<<< … >>>` text and magic 0xBEDA107F at 0x40, VDI spec),
//! ISO 9660 (`CD001` at 0x8001, ECMA-119 §8.4), LUKS (`LUKS\xBA\xBE` at 0, LUKS1/2 on-disk
//! specs), QED (`QED\0`), Parallels (`WithoutFreeSpace`/`WithouFreSpacExt`), and files too small
//! to hold a partition table or a filesystem.

use crate::{ContainerError, FormatReader, OpenContext, Probe, VirtualDisk};
use imgcheck_core::bytes;
use imgcheck_core::BlockSource;
use std::sync::Arc;

/// VDI image signature (little-endian u32 at offset 0x40).
const VDI_MAGIC: u32 = 0xBEDA_107F;
/// ISO 9660 standard identifier in the first volume descriptor (sector 16, byte 1).
const ISO9660_ID_OFFSET: usize = 0x8001;
/// LUKS header magic.
const LUKS_MAGIC: &[u8] = b"LUKS\xBA\xBE";
/// Smallest file that can hold a disk: one 512-byte sector.
const MIN_DISK_BYTES: u64 = 512;

/// Recognised but unsupported formats.
pub(crate) struct UnsupportedFormats;

fn classify(p: &Probe<'_>) -> Option<(&'static str, &'static str)> {
    if p.file_len == 0 {
        return Some(("an empty file", "the image holds no data"));
    }
    if p.file_len < MIN_DISK_BYTES {
        return Some((
            "a file smaller than one sector",
            "a disk image is at least 512 bytes",
        ));
    }
    if bytes::u32_le(p.head, 0x40) == Some(VDI_MAGIC) {
        return Some((
            "a VirtualBox VDI image",
            "convert it first: qemu-img convert -f vdi -O qcow2 in.vdi out.qcow2",
        ));
    }
    if p.head.starts_with(LUKS_MAGIC) {
        return Some((
            "a LUKS-encrypted container",
            "its contents cannot be inspected without the key; check the decrypted disk instead",
        ));
    }
    if p.head.starts_with(b"QED\0") {
        return Some((
            "a QED image",
            "convert it first: qemu-img convert -f qed -O qcow2 in.qed out.qcow2",
        ));
    }
    if p.head.starts_with(b"WithoutFreeSpace") || p.head.starts_with(b"WithouFreSpacExt") {
        return Some((
            "a Parallels image",
            "convert it first: qemu-img convert -f parallels -O qcow2 in.hdd out.qcow2",
        ));
    }
    if bytes::slice(p.head, ISO9660_ID_OFFSET, 5) == Some(b"CD001") {
        return Some((
            "an ISO 9660 optical disc image",
            "installation media are not disk images; install to a disk and check that",
        ));
    }
    None
}

impl FormatReader for UnsupportedFormats {
    fn name(&self) -> &'static str {
        "unsupported"
    }

    fn probe(&self, probe: &Probe<'_>) -> bool {
        classify(probe).is_some()
    }

    fn open(
        &self,
        _file: Arc<dyn BlockSource>,
        probe: &Probe<'_>,
        _ctx: &OpenContext,
    ) -> Result<VirtualDisk, ContainerError> {
        let (name, hint) = classify(probe).unwrap_or(("an unrecognised file", "no format matched"));
        Err(ContainerError::UnsupportedFormat { name, hint })
    }
}
