//! LVM2's binary on-disk structures: the label (`label_header` + `pv_header`) in one of the
//! first four sectors of a PV, and the metadata area header (`mda_header` + `raw_locn` list)
//! that locates the VG metadata text in its circular buffer.
//!
//! Specification: LVM2 `lib/label/label.h` (`label_header`: `LABELONE`, `sector_xl`, `crc_xl`
//! over bytes 20..512, `offset_xl`, type `LVM2 001`), `lib/format_text/layout.h` (`pv_header`:
//! 32-byte UUID, device size, zero-terminated `disk_locn` lists of data areas then metadata
//! areas; `mda_header`: checksum over bytes 4..512, magic ` LVM2 x[5A%r0N*>`, version 1,
//! start, size, `raw_locn` {offset, size, checksum, flags}), `lib/misc/crc.c` (CRC-32 with the
//! initial value 0xf597a6cf and no final inversion) and `lib/format_text/format-text.c`
//! (text at `start + offset`; a copy running past `start + size` continues at `start + 512`).
//! All integers little-endian.
//!
//! Our own code: no Rust crate reads LVM2 metadata; the structures are small and every field is
//! checked here before use.

use crate::error::VolumeError;
use imgcheck_core::bytes::{slice, u32_le, u64_le};
use imgcheck_core::{BlockSource, Limits};
use serde::{Deserialize, Serialize};

/// Layer name in errors and anomalies.
pub(crate) const LAYER: &str = "lvm";
/// Label and mda header size (`LABEL_SIZE`, `MDA_HEADER_SIZE`).
pub(crate) const SECTOR: u64 = 512;
/// The label is looked for in sectors 0–3 (`LABEL_SCAN_SECTORS`).
const LABEL_SCAN_SECTORS: u64 = 4;
/// `label_header.id`.
const LABEL_ID: &[u8; 8] = b"LABELONE";
/// `label_header.type` of LVM2's text format.
const LABEL_TYPE_LVM2: &[u8; 8] = b"LVM2 001";
/// LVM's `INITIAL_CRC`.
const INITIAL_CRC: u32 = 0xf597_a6cf;
/// `mda_header.magic` (`FMTT_MAGIC`).
const MDA_MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
/// `mda_header.version` (`FMTT_VERSION`).
const MDA_VERSION: u32 = 1;
/// `raw_locn.flags`: this metadata area is ignored (`RAW_LOCN_IGNORED`).
const RAW_LOCN_IGNORED: u32 = 1;
/// Length of a PV UUID without dashes (`ID_LEN`).
const ID_LEN: usize = 32;

// label_header field offsets.
const L_SECTOR: usize = 8;
const L_CRC: usize = 16;
const L_OFFSET: usize = 20;
const L_TYPE: usize = 24;
/// The CRC covers the label sector from `offset_xl` on.
const L_CRC_FROM: usize = 20;
// mda_header field offsets.
const M_MAGIC: usize = 4;
const M_VERSION: usize = 20;
const M_START: usize = 24;
const M_SIZE: usize = 32;
const M_RAW_LOCNS: usize = 40;

/// LVM's CRC-32: the standard reflected CRC-32 started from `INITIAL_CRC` (or a previous value)
/// without the final inversion zlib applies.
pub(crate) fn lvm_crc(prev: u32, data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(prev ^ u32::MAX);
    h.update(data);
    h.finalize() ^ u32::MAX
}

/// LVM's CRC-32 of `data` from the initial value.
pub(crate) fn lvm_crc_init(data: &[u8]) -> u32 {
    lvm_crc(INITIAL_CRC, data)
}

/// `offset`/`size` of a data or metadata area, in bytes from the start of the PV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskArea {
    /// Byte offset from the start of the PV.
    pub offset: u64,
    /// Size in bytes (0 for a data area means "to the end of the device").
    pub size: u64,
}

/// A PV label: proof a volume is an LVM2 physical volume, and where its metadata lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PvLabel {
    /// PV UUID as LVM prints it (`xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx`).
    pub uuid: String,
    /// Sector (0–3) holding the label.
    pub label_sector: u64,
    /// Device size recorded in the label, in bytes.
    pub device_size_bytes: u64,
    /// Data areas (normally one, starting at `pe_start`).
    pub data_areas: Vec<DiskArea>,
    /// Metadata areas (normally one at 4 KiB; a second at the end of the PV when created with
    /// `--pvmetadatacopies 2`).
    pub metadata_areas: Vec<DiskArea>,
}

/// LVM's printed form of a 32-character id: groups of 6-4-4-4-4-4-6.
pub(crate) fn dashed(raw: &str) -> String {
    let mut out = String::with_capacity(38);
    for (i, c) in raw.chars().enumerate() {
        if matches!(i, 6 | 10 | 14 | 18 | 22 | 26) {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// An id without its dashes, for comparisons.
pub(crate) fn undashed(id: &str) -> String {
    id.chars().filter(|&c| c != '-').collect()
}

/// Look for a label in sectors 0–3 of `src`. `Ok(None)`: no `LABELONE` at all.
pub(crate) fn probe(src: &dyn BlockSource) -> Result<Option<PvLabel>, VolumeError> {
    let len = src.len();
    let mut first_error = None;
    for sector in 0..LABEL_SCAN_SECTORS {
        let offset = sector.saturating_mul(SECTOR);
        if offset.saturating_add(SECTOR) > len {
            break;
        }
        let mut buf = [0u8; 512];
        src.read_exact_at(&mut buf, offset)
            .map_err(|e| VolumeError::read(LAYER, "label sector", offset, e))?;
        if slice(&buf, 0, 8) != Some(&LABEL_ID[..]) {
            continue;
        }
        match parse_label(&buf, sector, offset) {
            Ok(l) => return Ok(Some(l)),
            Err(e) => {
                if first_error.is_none() {
                    first_error = Some(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

fn parse_label(buf: &[u8; 512], sector: u64, offset: u64) -> Result<PvLabel, VolumeError> {
    let corrupt = |p: String| VolumeError::corrupt(LAYER, "label header", offset, p);
    let recorded_sector = u64_le(buf, L_SECTOR).unwrap_or_default();
    if recorded_sector != sector {
        return Err(corrupt(format!(
            "label says it is in sector {recorded_sector}, found in sector {sector}"
        )));
    }
    let stored = u32_le(buf, L_CRC).unwrap_or_default();
    let computed = lvm_crc_init(buf.get(L_CRC_FROM..).unwrap_or_default());
    if stored != computed {
        return Err(corrupt(format!(
            "crc32 is 0x{stored:08x}, expected 0x{computed:08x}"
        )));
    }
    let ty = slice(buf, L_TYPE, 8).unwrap_or_default();
    if ty != LABEL_TYPE_LVM2 {
        return Err(VolumeError::corrupt(
            LAYER,
            "label header",
            offset,
            format!(
                "label type is {:?}, expected \"LVM2 001\"",
                String::from_utf8_lossy(ty)
            ),
        ));
    }
    let pvh = usize::try_from(u32_le(buf, L_OFFSET).unwrap_or_default()).unwrap_or(usize::MAX);
    let pvh_abs = offset.saturating_add(u64::try_from(pvh).unwrap_or(u64::MAX));
    let pv_corrupt = |p: String| VolumeError::corrupt(LAYER, "pv header", pvh_abs, p);
    let raw_uuid = slice(buf, pvh, ID_LEN).ok_or_else(|| {
        corrupt(format!(
            "pv header offset {pvh} lies outside the label sector"
        ))
    })?;
    if !raw_uuid.iter().all(|b| b.is_ascii_graphic()) {
        return Err(pv_corrupt("PV UUID is not printable ASCII".to_string()));
    }
    let uuid = dashed(&String::from_utf8_lossy(raw_uuid));
    let mut pos = pvh.saturating_add(ID_LEN);
    let device_size_bytes = u64_le(buf, pos)
        .ok_or_else(|| pv_corrupt("device size lies outside the label sector".into()))?;
    pos = pos.saturating_add(8);
    let data_areas = locn_list(buf, &mut pos, "data area list", &pv_corrupt)?;
    let metadata_areas = locn_list(buf, &mut pos, "metadata area list", &pv_corrupt)?;
    Ok(PvLabel {
        uuid,
        label_sector: sector,
        device_size_bytes,
        data_areas,
        metadata_areas,
    })
}

/// A `disk_locn` list ended by an entry with offset 0 (LVM stops at offset 0).
fn locn_list(
    buf: &[u8],
    pos: &mut usize,
    what: &str,
    err: &dyn Fn(String) -> VolumeError,
) -> Result<Vec<DiskArea>, VolumeError> {
    let mut out = Vec::new();
    loop {
        let (Some(offset), Some(size)) = (u64_le(buf, *pos), u64_le(buf, pos.saturating_add(8)))
        else {
            return Err(err(format!(
                "{what} is not terminated within the label sector"
            )));
        };
        *pos = pos.saturating_add(16);
        if offset == 0 {
            return Ok(out);
        }
        out.push(DiskArea { offset, size });
    }
}

/// Where one copy of the metadata text lies, from a valid mda header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextLocation {
    /// Absolute offset (in the PV) of the mda header.
    pub mda_start: u64,
    /// `mda_header.size`.
    pub mda_size: u64,
    /// `raw_locn.offset` (relative to `mda_start`).
    pub offset: u64,
    /// `raw_locn.size`, the NUL included.
    pub size: u64,
    pub checksum: u32,
}

impl TextLocation {
    /// Absolute offset of the text's first byte.
    pub fn abs_offset(&self) -> u64 {
        self.mda_start.saturating_add(self.offset)
    }
}

/// Read and check the mda header of `area`; `Ok(None)` when it holds no committed metadata
/// (an orphan PV, or an mda marked ignored).
pub(crate) fn read_mda_header(
    src: &dyn BlockSource,
    area: DiskArea,
    structure: &str,
) -> Result<Option<TextLocation>, VolumeError> {
    let at = area.offset;
    let mut buf = [0u8; 512];
    src.read_exact_at(&mut buf, at)
        .map_err(|e| VolumeError::read(LAYER, structure, at, e))?;
    let corrupt = |p: String| VolumeError::corrupt(LAYER, structure, at, p);
    let stored = u32_le(&buf, 0).unwrap_or_default();
    let computed = lvm_crc_init(buf.get(M_MAGIC..).unwrap_or_default());
    if stored != computed {
        return Err(corrupt(format!(
            "crc32 is 0x{stored:08x}, expected 0x{computed:08x}"
        )));
    }
    if slice(&buf, M_MAGIC, 16) != Some(&MDA_MAGIC[..]) {
        return Err(corrupt("magic is not \" LVM2 x[5A%r0N*>\"".to_string()));
    }
    let version = u32_le(&buf, M_VERSION).unwrap_or_default();
    if version != MDA_VERSION {
        return Err(corrupt(format!(
            "version is {version}, expected {MDA_VERSION}"
        )));
    }
    let start = u64_le(&buf, M_START).unwrap_or_default();
    if start != at {
        return Err(corrupt(format!(
            "start is {start}, expected {at} (the metadata area's offset in the PV label)"
        )));
    }
    let size = u64_le(&buf, M_SIZE).unwrap_or_default();
    if size <= SECTOR {
        return Err(corrupt(format!(
            "size is {size}, expected more than {SECTOR}"
        )));
    }
    // raw_locns[0] is the committed copy; [1] the precommitted one, which is not used.
    let off = u64_le(&buf, M_RAW_LOCNS).unwrap_or_default();
    let len = u64_le(&buf, M_RAW_LOCNS.saturating_add(8)).unwrap_or_default();
    let checksum = u32_le(&buf, M_RAW_LOCNS.saturating_add(16)).unwrap_or_default();
    let flags = u32_le(&buf, M_RAW_LOCNS.saturating_add(20)).unwrap_or_default();
    if flags & RAW_LOCN_IGNORED != 0 || (off == 0 && len == 0) {
        return Ok(None);
    }
    Ok(Some(TextLocation {
        mda_start: at,
        mda_size: size,
        offset: off,
        size: len,
        checksum,
    }))
}

/// Read the text `loc` points at (following a wrap), checking size limits and its CRC.
pub(crate) fn read_text(
    src: &dyn BlockSource,
    loc: &TextLocation,
    structure: &str,
    limits: &Limits,
) -> Result<Vec<u8>, VolumeError> {
    let at = loc.abs_offset();
    let corrupt = |p: String| VolumeError::corrupt(LAYER, structure, at, p);
    if loc.size > limits.max_descriptor_bytes {
        return Err(VolumeError::Limit {
            layer: LAYER,
            structure: structure.to_string(),
            offset: at,
            what: "metadata text size",
            actual: loc.size,
            limit: limits.max_descriptor_bytes,
        });
    }
    if loc.size == 0 {
        return Err(corrupt("metadata text size is 0".to_string()));
    }
    if loc.offset < SECTOR || loc.offset >= loc.mda_size {
        return Err(corrupt(format!(
            "metadata text offset {} lies outside the circular buffer {}..{}",
            loc.offset, SECTOR, loc.mda_size
        )));
    }
    let end = loc
        .offset
        .checked_add(loc.size)
        .ok_or_else(|| corrupt("metadata text offset + size overflows".to_string()))?;
    let wrap = end.saturating_sub(loc.mda_size);
    // A wrapped copy continues at +512 and must not run into its own start.
    if wrap > loc.offset.saturating_sub(SECTOR) {
        return Err(corrupt(format!(
            "metadata text of {} bytes does not fit the circular buffer of {} bytes",
            loc.size,
            loc.mda_size.saturating_sub(SECTOR)
        )));
    }
    let first = loc.size.saturating_sub(wrap);
    let total = usize::try_from(loc.size)
        .map_err(|_| corrupt("metadata text size does not fit in memory".to_string()))?;
    let first_len = usize::try_from(first).unwrap_or(total);
    let mut text = vec![0u8; total];
    let (a, b) = text.split_at_mut(first_len.min(total));
    src.read_exact_at(a, at)
        .map_err(|e| VolumeError::read(LAYER, structure, at, e))?;
    if !b.is_empty() {
        let wrap_at = loc.mda_start.saturating_add(SECTOR);
        src.read_exact_at(b, wrap_at)
            .map_err(|e| VolumeError::read(LAYER, structure, wrap_at, e))?;
    }
    let computed = lvm_crc_init(&text);
    if computed != loc.checksum {
        return Err(corrupt(format!(
            "crc32 of {} bytes of metadata text is 0x{computed:08x}, the mda header records 0x{:08x}",
            loc.size, loc.checksum
        )));
    }
    Ok(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_lvm() {
        // zlib.crc32(b"123456789", 0xf597a6cf ^ 0xffffffff) ^ 0xffffffff, as fixtures.md says.
        assert_eq!(lvm_crc_init(b"123456789"), 0x4991_cf02);
        // Continuing a CRC equals one pass.
        assert_eq!(
            lvm_crc(lvm_crc_init(b"12345"), b"6789"),
            lvm_crc_init(b"123456789")
        );
    }

    #[test]
    fn dashes() {
        let raw = "PV0aaaaAAAAbbbbBBBBccccCCCCdddd0";
        assert_eq!(dashed(raw), "PV0aaa-aAAA-Abbb-bBBB-Bccc-cCCC-Cdddd0");
        assert_eq!(undashed(&dashed(raw)), raw);
    }
}
