//! Linux md (software RAID) members: superblocks v0.90 and v1.0/1.1/1.2, arrays assembled from
//! them, and RAID1 arrays as [`BlockSource`]s (any in-sync member's data area).
//!
//! Specification: the kernel's `include/uapi/linux/raid/md_p.h` and `drivers/md/md.c`
//! (`calc_sb_csum`, `calc_sb_1_csum`), and `mdadm(8)` for the superblock locations:
//! - v0.90 (`mdp_super_t`, 4096 bytes, host-endian — little-endian here): in the last
//!   64 KiB-aligned 64 KiB of the device (`MD_NEW_SIZE_SECTORS`); data from offset 0,
//!   `size` KiB per member; checksum = 32-bit sum (carry folded) of the 1024 words with
//!   `sb_csum` zeroed; this device's descriptor (`this_disk`) at word 992.
//! - v1.x (`mdp_superblock_1`, 256 + 2 × `max_dev` bytes, little-endian): v1.0 at 8 KiB before
//!   the end rounded down to 4 KiB, v1.1 at 0, v1.2 at 4 KiB; `data_offset`/`data_size` and
//!   `size` in 512-byte sectors; the role of this device is `dev_roles[dev_number]`; checksum
//!   = sum of the little-endian words (and a trailing half-word) with `sb_csum` zeroed, folded.
//!
//! Both versions start with the magic 0xa92b4efc. Our own code: no Rust crate reads md
//! superblocks, and the fields needed are few.

use crate::error::VolumeError;
use imgcheck_core::bytes::{array, slice, u16_le, u32_le, u64_le};
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, SliceSource};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Layer name in errors and anomalies.
const LAYER: &str = "md";
/// `MD_SB_MAGIC`.
const MD_MAGIC: u32 = 0xa92b_4efc;
/// Superblock bytes read (v0.90 is exactly this; v1.x at most this).
const SB_BYTES: usize = 4096;
/// v0.90: `MD_RESERVED_BYTES`, the reserved area at the end of the device.
const V090_RESERVED: u64 = 64 * 1024;
/// v1.0: superblock 8 KiB before the end of the device …
const V10_FROM_END: u64 = 8 * 1024;
/// … rounded down to 4 KiB.
const V10_ALIGN: u64 = 4 * 1024;
/// v1.2 superblock offset.
const V12_OFFSET: u64 = 4 * 1024;
/// Sector size md counts in.
const SECTOR: u64 = 512;
/// v1.x: fixed part before `dev_roles`.
const V1_FIXED: usize = 256;
/// v1.x `feature_map` bit: this member is being rebuilt (`MD_FEATURE_RECOVERY_OFFSET`).
const FEATURE_RECOVERY_OFFSET: u32 = 2;
/// v1.x role values from 0xff00 up are not slots: 0xffff spare, 0xfffe faulty, 0xfffd journal.
const ROLE_SPARE: u16 = 0xffff;
const ROLE_FAULTY: u16 = 0xfffe;
const ROLE_JOURNAL: u16 = 0xfffd;
const ROLE_MAX_SLOT: u16 = 0xff00;
/// v0.90 `this_disk` word index and descriptor fields.
const V090_THIS_DISK: usize = 992;
/// v0.90 descriptor state bits: faulty, active, in sync.
const V090_FAULTY: u32 = 1 << 0;
const V090_ACTIVE: u32 = 1 << 1;
const V090_SYNC: u32 = 1 << 2;

/// One member's superblock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MdMember {
    /// `0.90`, `1.0`, `1.1` or `1.2`.
    pub version: String,
    /// Byte offset of the superblock in the member.
    pub superblock_offset: u64,
    /// Array UUID as mdadm prints it (`xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx`).
    pub array_uuid: String,
    /// Array name (v1.x `set_name`, often `host:name`); None for v0.90.
    pub name: Option<String>,
    /// `raid0`, `raid1`, `raid4`, `raid5`, `raid6`, `raid10`, `linear`, `multipath`, `faulty`,
    /// or `level N` for anything else.
    pub level: String,
    /// The level number as stored.
    pub level_number: i32,
    /// Devices in a complete array.
    pub raid_disks: u32,
    /// This member's slot (0-based); None for spares, faulty and journal devices.
    pub role: Option<u32>,
    /// `active`, `spare`, `faulty`, `journal`, `recovering` (v1.x with a recovery offset).
    pub state: String,
    /// Start of the data area in the member, bytes.
    pub data_offset: u64,
    /// Bytes of the data area.
    pub data_size: u64,
    /// Bytes of each member used by the array (`size`).
    pub used_size: u64,
    /// Chunk size in bytes (RAID0/4/5/6/10).
    pub chunk_size: u64,
    /// Layout number (RAID5/6/10).
    pub layout: u32,
    /// Update counter: the member(s) with the highest count are current.
    pub events: u64,
}

/// Level name for a level number (`md_p.h`, `mdadm`'s `pers` table).
fn level_name(level: i32) -> String {
    match level {
        -5 => "faulty".into(),
        -4 => "multipath".into(),
        -1 => "linear".into(),
        0 => "raid0".into(),
        1 => "raid1".into(),
        4 => "raid4".into(),
        5 => "raid5".into(),
        6 => "raid6".into(),
        10 => "raid10".into(),
        n => format!("level {n}"),
    }
}

/// md's checksum fold: the low 32 bits plus the carry above them.
fn fold(sum: u64) -> u32 {
    let lo = sum & u64::from(u32::MAX);
    let v = lo.saturating_add(sum >> 32);
    u32::try_from(v & u64::from(u32::MAX)).unwrap_or_default()
}

/// Look for an md superblock: v1.2, v1.1, v1.0, then v0.90. `Ok(None)`: no magic anywhere.
/// An error: a superblock with the magic but a bad checksum, version or field.
pub fn probe(src: &dyn BlockSource) -> Result<Option<MdMember>, VolumeError> {
    let len = src.len();
    let mut candidates: Vec<(&str, u64)> = vec![("1.2", V12_OFFSET), ("1.1", 0)];
    if let Some(o) = len.checked_sub(V10_FROM_END) {
        candidates.push(("1.0", o & !(V10_ALIGN - 1)));
    }
    let mut first_error = None;
    for (version, offset) in candidates {
        match read_block(src, offset)? {
            Some(buf) if u32_le(&buf, 0) == Some(MD_MAGIC) && u32_le(&buf, 4) == Some(1) => {
                match parse_v1(&buf, version, offset, len) {
                    Ok(m) => return Ok(Some(m)),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            _ => {}
        }
    }
    if len >= V090_RESERVED {
        let offset = (len & !(V090_RESERVED - 1)).saturating_sub(V090_RESERVED);
        if let Some(buf) = read_block(src, offset)? {
            if u32_le(&buf, 0) == Some(MD_MAGIC) {
                match parse_v090(&buf, offset) {
                    Ok(m) => return Ok(Some(m)),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            } else if u32_le(&buf, 0) == Some(MD_MAGIC.swap_bytes()) {
                first_error.get_or_insert(VolumeError::Unsupported {
                    layer: LAYER,
                    structure: format!("v0.90 superblock at offset {offset}"),
                    reason: "big-endian v0.90 superblock (written by a big-endian host)".into(),
                });
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// Up to 4 KiB at `offset` (fewer at the device end); None when nothing fits.
fn read_block(src: &dyn BlockSource, offset: u64) -> Result<Option<Vec<u8>>, VolumeError> {
    let avail = src.len().saturating_sub(offset);
    let n = usize::try_from(avail).unwrap_or(SB_BYTES).min(SB_BYTES);
    if n < V1_FIXED {
        return Ok(None);
    }
    let mut buf = vec![0u8; n];
    src.read_exact_at(&mut buf, offset)
        .map_err(|e| VolumeError::read(LAYER, "superblock", offset, e))?;
    Ok(Some(buf))
}

fn uuid_words(words: [u32; 4]) -> String {
    format!(
        "{:08x}:{:08x}:{:08x}:{:08x}",
        words[0], words[1], words[2], words[3]
    )
}

fn parse_v1(buf: &[u8], version: &str, offset: u64, dev_len: u64) -> Result<MdMember, VolumeError> {
    let structure = format!("v{version} superblock");
    let corrupt = |p: String| VolumeError::corrupt(LAYER, structure.clone(), offset, p);
    let f32 = |o: usize| u32_le(buf, o).unwrap_or_default();
    let f64_ = |o: usize| u64_le(buf, o).unwrap_or_default();
    let max_dev = f32(220);
    let sb_len = usize::try_from(max_dev)
        .ok()
        .and_then(|m| m.checked_mul(2))
        .and_then(|m| m.checked_add(V1_FIXED))
        .filter(|&l| l <= buf.len())
        .ok_or_else(|| {
            corrupt(format!(
                "max_dev is {max_dev}: the superblock would not fit in {} bytes",
                buf.len()
            ))
        })?;
    let mut sum = 0u64;
    let body = buf.get(..sb_len).unwrap_or_default();
    let mut words = body.chunks_exact(4);
    for (i, w) in words.by_ref().enumerate() {
        if i != 216 / 4 {
            let v = u32::from_le_bytes(w.try_into().unwrap_or_default());
            sum = sum.saturating_add(u64::from(v));
        }
    }
    if let Some(v) = u16_le(words.remainder(), 0) {
        sum = sum.saturating_add(u64::from(v));
    }
    let computed = fold(sum);
    let stored = f32(216);
    if stored != computed {
        return Err(corrupt(format!(
            "checksum is 0x{stored:08x}, expected 0x{computed:08x}"
        )));
    }
    let super_offset = f64_(144);
    if super_offset.checked_mul(SECTOR) != Some(offset) {
        return Err(corrupt(format!(
            "super_offset is sector {super_offset}, but the superblock was found at byte {offset}"
        )));
    }
    let sectors = |v: u64, what: &str| {
        v.checked_mul(SECTOR)
            .ok_or_else(|| corrupt(format!("{what} of {v} sectors overflows 64 bits in bytes")))
    };
    let data_offset = sectors(f64_(128), "data_offset")?;
    let data_size = sectors(f64_(136), "data_size")?;
    let used_size = sectors(f64_(80), "size")?;
    match data_offset.checked_add(data_size) {
        Some(end) if end <= dev_len => {}
        _ => {
            return Err(corrupt(format!(
                "data area {data_offset}+{data_size} runs past the member's {dev_len} bytes"
            )))
        }
    }
    let level_number = i32::from_le_bytes(f32(72).to_le_bytes());
    let raid_disks = f32(92);
    let feature_map = f32(8);
    let dev_number = f32(160);
    let role_raw = usize::try_from(dev_number)
        .ok()
        .filter(|&d| d < usize::try_from(max_dev).unwrap_or(0))
        .and_then(|d| d.checked_mul(2))
        .and_then(|o| o.checked_add(V1_FIXED))
        .and_then(|o| u16_le(buf, o))
        .ok_or_else(|| {
            corrupt(format!(
                "dev_number {dev_number} has no role slot (max_dev {max_dev})"
            ))
        })?;
    let (role, state) = match role_raw {
        ROLE_SPARE => (None, "spare"),
        ROLE_FAULTY => (None, "faulty"),
        ROLE_JOURNAL => (None, "journal"),
        r if r >= ROLE_MAX_SLOT => (None, "faulty"),
        r if feature_map & FEATURE_RECOVERY_OFFSET != 0 => (Some(u32::from(r)), "recovering"),
        r => (Some(u32::from(r)), "active"),
    };
    let set_uuid: [u8; 16] = array(buf, 16).unwrap_or_default();
    let w = |i: usize| {
        u32::from_be_bytes(
            slice(&set_uuid, i, 4)
                .and_then(|s| s.try_into().ok())
                .unwrap_or_default(),
        )
    };
    let name_raw = slice(buf, 32, 32).unwrap_or_default();
    let name_end = name_raw
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(name_raw.len());
    let name = String::from_utf8_lossy(name_raw.get(..name_end).unwrap_or_default()).into_owned();
    Ok(MdMember {
        version: version.to_string(),
        superblock_offset: offset,
        array_uuid: uuid_words([w(0), w(4), w(8), w(12)]),
        name: (!name.is_empty()).then_some(name),
        level: level_name(level_number),
        level_number,
        raid_disks,
        role,
        state: state.to_string(),
        data_offset,
        data_size,
        used_size,
        chunk_size: u64::from(f32(88)).saturating_mul(SECTOR),
        layout: f32(76),
        events: f64_(200),
    })
}

fn parse_v090(buf: &[u8], offset: u64) -> Result<MdMember, VolumeError> {
    let corrupt = |p: String| VolumeError::corrupt(LAYER, "v0.90 superblock", offset, p);
    if buf.len() < SB_BYTES {
        return Err(corrupt(
            "superblock is cut short by the device end".to_string(),
        ));
    }
    let w = |i: usize| u32_le(buf, i.saturating_mul(4)).unwrap_or_default();
    let (major, minor) = (w(1), w(2));
    if major != 0 || minor != 90 {
        return Err(corrupt(format!(
            "version is {major}.{minor}, expected 0.90"
        )));
    }
    let mut sum = 0u64;
    for i in 0..SB_BYTES / 4 {
        if i != 38 {
            sum = sum.saturating_add(u64::from(w(i)));
        }
    }
    let computed = fold(sum);
    if w(38) != computed {
        return Err(corrupt(format!(
            "checksum is 0x{:08x}, expected 0x{computed:08x}",
            w(38)
        )));
    }
    let level_number = i32::from_le_bytes(w(7).to_le_bytes());
    let raid_disks = w(10);
    let used_size = u64::from(w(8)).saturating_mul(1024);
    if used_size > offset {
        return Err(corrupt(format!(
            "size of {used_size} bytes runs into the superblock at {offset}"
        )));
    }
    let this_raid_disk = w(V090_THIS_DISK.saturating_add(3));
    let this_state = w(V090_THIS_DISK.saturating_add(4));
    let (role, state) = if this_state & V090_FAULTY != 0 {
        (None, "faulty")
    } else if this_state & V090_ACTIVE != 0
        && this_state & V090_SYNC != 0
        && this_raid_disk < raid_disks
    {
        (Some(this_raid_disk), "active")
    } else {
        (None, "spare")
    };
    Ok(MdMember {
        version: "0.90".to_string(),
        superblock_offset: offset,
        array_uuid: uuid_words([w(5), w(13), w(14), w(15)]),
        name: None,
        level: level_name(level_number),
        level_number,
        raid_disks,
        role,
        state: state.to_string(),
        data_offset: 0,
        data_size: offset,
        used_size,
        chunk_size: u64::from(w(65)),
        layout: w(64),
        events: u64::from(w(40)) << 32 | u64::from(w(39)),
    })
}

/// A member as [`assemble`] and [`array_source`] take it: the caller's volume id, the volume's
/// bytes, and what [`probe`] found on it.
pub type Member = (String, Arc<dyn BlockSource>, MdMember);

/// An array assembled from the members found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MdArray {
    /// Array UUID.
    pub uuid: String,
    /// Level name.
    pub level: String,
    /// Array name (v1.x).
    pub name: Option<String>,
    /// Superblock version.
    pub version: String,
    /// Devices in a complete array.
    pub raid_disks: u32,
    /// Volume ids of all members found, by role (spares last).
    pub members: Vec<String>,
    /// Volume ids of the current, active members (highest event count, not rebuilding).
    pub in_sync: Vec<String>,
    /// Array size in bytes, where the level defines it from one member (RAID1: the used size).
    pub size_bytes: Option<u64>,
    /// [`array_source`] can serve its bytes.
    pub readable: bool,
    /// Why not readable.
    pub reason: Option<String>,
}

/// Group members by array UUID and judge each array. Anomalies: stale members, missing or
/// duplicate roles, members disagreeing on level or size.
pub fn assemble(members: &[Member]) -> (Vec<MdArray>, Vec<Anomaly>) {
    let mut anomalies = Vec::new();
    let mut groups: BTreeMap<&str, Vec<&Member>> = BTreeMap::new();
    for m in members {
        groups.entry(m.2.array_uuid.as_str()).or_default().push(m);
    }
    let mut arrays = Vec::new();
    for (uuid, group) in groups {
        let Some(first) = group.first() else {
            continue;
        };
        let first = &first.2;
        let structure = format!("array {uuid}");
        let max_events = group.iter().map(|m| m.2.events).max().unwrap_or_default();
        let mut consistent = true;
        for (vid, _, m) in &group {
            if m.level_number != first.level_number
                || m.raid_disks != first.raid_disks
                || m.used_size != first.used_size
            {
                consistent = false;
                anomalies.push(Anomaly::new(
                    LAYER,
                    format!("v{} superblock on volume {vid}", m.version),
                    Some(m.superblock_offset),
                    ErrorKind::Corrupt,
                    format!(
                        "member of {structure} says {} with {} disks of {} bytes, another says {} with {} disks of {} bytes",
                        m.level, m.raid_disks, m.used_size, first.level, first.raid_disks, first.used_size
                    ),
                ));
            }
            if m.events < max_events {
                anomalies.push(Anomaly::new(
                    LAYER,
                    format!("v{} superblock on volume {vid}", m.version),
                    Some(m.superblock_offset),
                    ErrorKind::Corrupt,
                    format!(
                        "stale member of {structure}: events {} < {max_events}, not used",
                        m.events
                    ),
                ));
            }
        }
        let mut sorted: Vec<_> = group.clone();
        sorted.sort_by_key(|m| (m.2.role.unwrap_or(u32::MAX), m.0.clone()));
        let in_sync: Vec<&Member> = sorted
            .iter()
            .copied()
            .filter(|m| {
                m.2.state == "active"
                    && m.2.events == max_events
                    && m.2.role.is_some_and(|r| r < first.raid_disks)
            })
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for m in &in_sync {
            if let Some(r) = m.2.role {
                if !seen.insert(r) {
                    anomalies.push(Anomaly::new(
                        LAYER,
                        format!("v{} superblock on volume {}", m.2.version, m.0),
                        Some(m.2.superblock_offset),
                        ErrorKind::Corrupt,
                        format!("role {r} of {structure} is claimed by more than one member"),
                    ));
                }
            }
        }
        let present = u32::try_from(seen.len()).unwrap_or(u32::MAX);
        if present < first.raid_disks {
            anomalies.push(Anomaly::new(
                LAYER,
                structure.clone(),
                None,
                ErrorKind::NotFound,
                format!(
                    "{} array is degraded: {present} of {} members present and in sync",
                    first.level, first.raid_disks
                ),
            ));
        }
        let (readable, reason) = if !consistent {
            (
                false,
                Some("its members disagree on level, disk count or size".to_string()),
            )
        } else if first.level_number != 1 {
            (
                false,
                Some(format!(
                    "a {} array is recognised but not read (only RAID1 is)",
                    first.level
                )),
            )
        } else if in_sync.is_empty() {
            (false, Some("no active, current member".to_string()))
        } else {
            (true, None)
        };
        arrays.push(MdArray {
            uuid: uuid.to_string(),
            level: first.level.clone(),
            name: first.name.clone(),
            version: first.version.clone(),
            raid_disks: first.raid_disks,
            members: sorted.iter().map(|m| m.0.clone()).collect(),
            in_sync: in_sync.iter().map(|m| m.0.clone()).collect(),
            size_bytes: (first.level_number == 1).then_some(first.used_size),
            readable,
            reason,
        });
    }
    (arrays, anomalies)
}

/// The bytes of `array`: for RAID1, the data area of its first in-sync member (members as
/// given to [`assemble`]). Other levels: [`VolumeError::Unsupported`].
pub fn array_source(
    array: &MdArray,
    members: &[Member],
) -> Result<Arc<dyn BlockSource>, VolumeError> {
    let structure = format!("array {}", array.uuid);
    if !array.readable {
        return Err(VolumeError::Unsupported {
            layer: LAYER,
            structure,
            reason: array
                .reason
                .clone()
                .unwrap_or_else(|| "not readable".to_string()),
        });
    }
    let (vid, src, m) = array
        .in_sync
        .iter()
        .find_map(|id| {
            members
                .iter()
                .find(|(v, _, m)| v == id && m.array_uuid == array.uuid)
        })
        .ok_or_else(|| VolumeError::NotFound {
            layer: LAYER,
            structure: structure.clone(),
            what: "none of its in-sync members was passed".to_string(),
        })?;
    let size = array.size_bytes.unwrap_or(m.used_size);
    if size > m.data_size {
        return Err(VolumeError::corrupt(
            LAYER,
            format!("v{} superblock on volume {vid}", m.version),
            m.superblock_offset,
            format!(
                "array size {size} exceeds the data area of {} bytes",
                m.data_size
            ),
        ));
    }
    let s = SliceSource::new(src.clone(), m.data_offset, size).map_err(|e| {
        VolumeError::read(
            LAYER,
            format!("data area on volume {vid}"),
            m.data_offset,
            e,
        )
    })?;
    Ok(Arc::new(s))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]
mod tests {
    use super::*;
    use imgcheck_core::MemSource;

    /// A v1.x superblock like mdadm writes, with a correct checksum.
    pub(crate) fn sb1(
        level: i32,
        raid_disks: u32,
        super_sector: u64,
        dev_number: u32,
        roles: &[u16],
        events: u64,
    ) -> Vec<u8> {
        let mut sb = vec![0u8; 4096];
        let max_dev: u32 = 64;
        sb[0..4].copy_from_slice(&MD_MAGIC.to_le_bytes());
        sb[4..8].copy_from_slice(&1u32.to_le_bytes());
        sb[16..32].copy_from_slice(&[
            0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
            0xff, 0x00,
        ]);
        sb[32..39].copy_from_slice(b"host:r1");
        sb[72..76].copy_from_slice(&level.to_le_bytes());
        sb[80..88].copy_from_slice(&64u64.to_le_bytes()); // size: 32 KiB
        sb[92..96].copy_from_slice(&raid_disks.to_le_bytes());
        sb[128..136].copy_from_slice(&16u64.to_le_bytes()); // data_offset: 8 KiB
        sb[136..144].copy_from_slice(&64u64.to_le_bytes()); // data_size: 32 KiB
        sb[144..152].copy_from_slice(&super_sector.to_le_bytes());
        sb[160..164].copy_from_slice(&dev_number.to_le_bytes());
        sb[200..208].copy_from_slice(&events.to_le_bytes());
        sb[220..224].copy_from_slice(&max_dev.to_le_bytes());
        for i in 0..max_dev as usize {
            let r = roles.get(i).copied().unwrap_or(ROLE_SPARE);
            sb[256 + 2 * i..258 + 2 * i].copy_from_slice(&r.to_le_bytes());
        }
        fix_csum1(&mut sb);
        sb
    }

    fn fix_csum1(sb: &mut [u8]) {
        let max_dev = u32::from_le_bytes(sb[220..224].try_into().unwrap()) as usize;
        sb[216..220].fill(0);
        let n = 256 + 2 * max_dev;
        let mut sum = 0u64;
        for c in sb[..n / 4 * 4].chunks_exact(4) {
            sum += u64::from(u32::from_le_bytes(c.try_into().unwrap()));
        }
        if n % 4 == 2 {
            sum += u64::from(u16::from_le_bytes(sb[n - 2..n].try_into().unwrap()));
        }
        sb[216..220].copy_from_slice(&fold(sum).to_le_bytes());
    }

    /// A 48 KiB member: v1.2 superblock at 4 KiB, data (pattern `fill`) at 8 KiB.
    fn member12(level: i32, dev_number: u32, events: u64, fill: u8) -> Vec<u8> {
        let mut d = vec![0u8; 48 * 1024];
        d[4096..8192].copy_from_slice(&sb1(level, 2, 8, dev_number, &[0, 1], events));
        for (i, b) in d[8192..8192 + 32768].iter_mut().enumerate() {
            *b = fill ^ (i / 512) as u8;
        }
        d
    }

    fn arc(d: Vec<u8>) -> Arc<dyn BlockSource> {
        Arc::new(MemSource::new(d))
    }

    #[test]
    fn v12_member_fields() {
        let m = probe(&MemSource::new(member12(1, 1, 9, 0)))
            .unwrap()
            .unwrap();
        assert_eq!(m.version, "1.2");
        assert_eq!(m.array_uuid, "11223344:55667788:99aabbcc:ddeeff00");
        assert_eq!(m.name.as_deref(), Some("host:r1"));
        assert_eq!(
            (m.level.as_str(), m.raid_disks, m.role),
            ("raid1", 2, Some(1))
        );
        assert_eq!(
            (m.data_offset, m.data_size, m.used_size, m.events),
            (8192, 32768, 32768, 9)
        );
    }

    #[test]
    fn v11_v10_locations_and_odd_max_dev() {
        // v1.1 at offset 0.
        let mut d = vec![0u8; 64 * 1024];
        d[..4096].copy_from_slice(&sb1(1, 2, 0, 0, &[0, 1], 1));
        assert_eq!(probe(&MemSource::new(d)).unwrap().unwrap().version, "1.1");
        // v1.0: 8 KiB before the end, rounded down to 4 KiB: a 70000-byte device → 61440.
        let mut d = vec![0u8; 70000];
        let at = (70000 - 8192) / 4096 * 4096;
        let mut sb = sb1(1, 2, (at / 512) as u64, 0, &[0, 1], 1);
        // An odd half-word count (max_dev 63) exercises the trailing u16 of the checksum.
        sb[220..224].copy_from_slice(&63u32.to_le_bytes());
        fix_csum1(&mut sb);
        d[at..at + 4096].copy_from_slice(&sb);
        let m = probe(&MemSource::new(d)).unwrap().unwrap();
        assert_eq!(
            (m.version.as_str(), m.superblock_offset),
            ("1.0", at as u64)
        );
    }

    #[test]
    fn bad_checksum_and_fields_are_errors() {
        let mut d = member12(1, 0, 1, 0);
        d[4096 + 100] ^= 1;
        let e = probe(&MemSource::new(d)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("md: v1.2 superblock at offset 4096: checksum is 0x"),
            "{e}"
        );
        // super_offset disagreeing with where it was found.
        let mut d = member12(1, 0, 1, 0);
        d[4096 + 144] = 9;
        fix_csum1(&mut d[4096..8192]);
        assert!(probe(&MemSource::new(d))
            .unwrap_err()
            .to_string()
            .contains("super_offset is sector 9"));
        // Absurd max_dev.
        let mut d = member12(1, 0, 1, 0);
        d[4096 + 220..4096 + 224].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(probe(&MemSource::new(d))
            .unwrap_err()
            .to_string()
            .contains("max_dev is 4294967295"));
        // data area past the device end.
        let mut d = member12(1, 0, 1, 0);
        d[4096 + 136..4096 + 144].copy_from_slice(&u64::MAX.to_le_bytes());
        fix_csum1(&mut d[4096..8192]);
        assert!(probe(&MemSource::new(d))
            .unwrap_err()
            .to_string()
            .contains("data_size"));
        // No magic anywhere.
        assert!(probe(&MemSource::new(vec![0u8; 200 * 1024]))
            .unwrap()
            .is_none());
        assert!(probe(&MemSource::new(vec![0u8; 10])).unwrap().is_none());
    }

    #[test]
    fn raid1_assembles_and_reads() {
        let a = member12(1, 0, 5, 0x40);
        let b = member12(1, 1, 5, 0x40);
        let ms: Vec<Member> = vec![
            (
                "b".into(),
                arc(b.clone()),
                probe(&MemSource::new(b)).unwrap().unwrap(),
            ),
            (
                "a".into(),
                arc(a.clone()),
                probe(&MemSource::new(a.clone())).unwrap().unwrap(),
            ),
        ];
        let (arrays, anomalies) = assemble(&ms);
        assert!(anomalies.is_empty(), "{anomalies:?}");
        assert_eq!(arrays.len(), 1);
        let arr = &arrays[0];
        assert_eq!(arr.members, vec!["a", "b"]);
        assert!(arr.readable);
        let src = array_source(arr, &ms).unwrap();
        assert_eq!(src.len(), 32768);
        let mut buf = vec![0u8; 32768];
        src.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(&buf[..], &a[8192..8192 + 32768]);
    }

    #[test]
    fn degraded_stale_and_other_levels() {
        let a = member12(1, 0, 7, 1);
        let b = member12(1, 1, 6, 1); // stale
        let ms: Vec<Member> = vec![
            (
                "a".into(),
                arc(a.clone()),
                probe(&MemSource::new(a)).unwrap().unwrap(),
            ),
            (
                "b".into(),
                arc(b.clone()),
                probe(&MemSource::new(b)).unwrap().unwrap(),
            ),
        ];
        let (arrays, anomalies) = assemble(&ms);
        assert_eq!(arrays[0].in_sync, vec!["a"]);
        assert!(arrays[0].readable);
        assert!(anomalies
            .iter()
            .any(|x| x.message.contains("stale member")
                && x.structure == "v1.2 superblock on volume b"));
        assert!(anomalies
            .iter()
            .any(|x| x.message.contains("degraded: 1 of 2")));

        let c = member12(5, 0, 1, 1);
        let ms: Vec<Member> = vec![(
            "c".into(),
            arc(c.clone()),
            probe(&MemSource::new(c)).unwrap().unwrap(),
        )];
        let (arrays, _) = assemble(&ms);
        assert_eq!(arrays[0].level, "raid5");
        assert!(!arrays[0].readable);
        assert!(arrays[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("raid5 array is recognised but not read"));
        let e = array_source(&arrays[0], &ms).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}
