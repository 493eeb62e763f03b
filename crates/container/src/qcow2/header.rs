//! The qcow2 header (v2 and v3) and its header extensions: reading, parsing and validating.
//!
//! Source: QEMU `docs/interop/qcow2.txt`, sections "Header", "Additional fields",
//! "Header extensions", "Feature name table", "Bitmaps extension" and "Full disk encryption
//! header pointer". Everything here is a pure function of the first cluster of the file; the
//! checks that depend on feature policy (which incompatible bits we read) live in `mod.rs`.

use super::{corrupt, FORMAT};
use crate::ContainerError;
use imgcheck_core::bytes::{slice, u32_be, u64_be, u8_at};
use imgcheck_core::{Anomaly, BlockSource, ErrorKind};

/// "QFI\xfb": the qcow magic at offset 0 (shared by qcow v1 and qcow2).
pub(super) const MAGIC: u32 = 0x5146_49fb;
/// Length of a version 2 header (fixed).
pub(super) const V2_HEADER_LEN: u32 = 72;
/// Minimum `header_length` of a version 3 header.
pub(super) const V3_MIN_HEADER_LEN: u32 = 104;
/// Offset of the v3 `compression_type` byte (present when `header_length > 104`).
const COMPRESSION_TYPE_OFFSET: usize = 104;
/// Smallest cluster: 512 bytes (the spec's minimum).
pub(super) const MIN_CLUSTER_BITS: u32 = 9;
/// Largest cluster: 2 MiB (qemu's implementation limit; larger images do not exist in practice).
pub(super) const MAX_CLUSTER_BITS: u32 = 21;
/// Longest backing file name the spec allows.
const MAX_BACKING_NAME_LEN: u32 = 1023;
/// Bytes read first, before the cluster size is known: the largest fixed header part we parse.
const FIXED_HEADER_READ: u64 = 112;
/// Largest `refcount_order` (64-bit refcounts).
const MAX_REFCOUNT_ORDER: u32 = 6;
/// `refcount_order` implied for version 2 (16-bit refcounts).
const V2_REFCOUNT_ORDER: u32 = 4;

/// Header extension type: end of the extension area.
const EXT_END: u32 = 0;
/// Header extension type: backing file format name string.
const EXT_BACKING_FORMAT: u32 = 0xe279_2aca;
/// Header extension type: feature name table.
const EXT_FEATURE_NAMES: u32 = 0x6803_f857;
/// Header extension type: bitmaps extension.
const EXT_BITMAPS: u32 = 0x2385_2875;
/// Header extension type: full disk encryption header pointer.
const EXT_CRYPTO: u32 = 0x0537_be77;
/// Header extension type: external data file name string.
const EXT_DATA_FILE: u32 = 0x4441_5441;
/// Size of one feature name table entry: type, bit, 46-byte name.
const FEATURE_NAME_ENTRY_LEN: usize = 48;
/// Size of the bitmaps extension data.
const BITMAPS_EXT_LEN: u32 = 24;
/// Size of the full disk encryption header pointer data.
const CRYPTO_EXT_LEN: u32 = 16;

/// The compression type of compressed clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    /// Raw deflate (RFC 1951, no zlib header), type 0.
    Deflate,
    /// Zstandard frames, type 1.
    Zstd,
}

impl Compression {
    /// The name qemu-img uses (`compression_type=zlib|zstd`).
    pub(super) fn name(self) -> &'static str {
        match self {
            Compression::Deflate => "zlib",
            Compression::Zstd => "zstd",
        }
    }
}

/// The fixed header fields, as stored (v2 fields, plus v3 fields or their v2 defaults).
#[derive(Debug, Clone)]
pub(super) struct Header {
    pub version: u32,
    pub backing_file_offset: u64,
    pub backing_file_size: u32,
    pub cluster_bits: u32,
    pub size: u64,
    pub crypt_method: u32,
    pub l1_size: u32,
    pub l1_table_offset: u64,
    pub nb_snapshots: u32,
    pub incompatible: u64,
    pub compatible: u64,
    pub autoclear: u64,
    pub refcount_order: u32,
    pub header_length: u32,
    /// Raw `compression_type` byte; 0 when the field is absent.
    pub compression_type: u8,
}

impl Header {
    /// Cluster size in bytes (cluster_bits was validated to 9..=21).
    pub(super) fn cluster_size(&self) -> u64 {
        1u64.checked_shl(self.cluster_bits).unwrap_or(0)
    }
}

/// What the header extensions say.
#[derive(Debug, Clone, Default)]
pub(super) struct Extensions {
    /// Backing file format name (e.g. `qcow2`, `raw`).
    pub backing_format: Option<String>,
    /// Feature name table: (type 0/1/2, bit, name).
    pub feature_names: Vec<(u8, u8, String)>,
    /// External data file name.
    pub data_file: Option<String>,
    /// Full disk encryption header pointer: (offset, length).
    pub crypto: Option<(u64, u64)>,
    /// Number of persistent dirty bitmaps.
    pub bitmaps: Option<u32>,
    /// Types of extensions we do not know (ignored, as the spec allows).
    pub unknown: Vec<u32>,
}

impl Extensions {
    /// The feature table's name for bit `bit` of feature bitmap `kind` (0 incompatible,
    /// 1 compatible, 2 autoclear), if the image names it.
    pub(super) fn feature_name(&self, kind: u8, bit: u32) -> Option<&str> {
        self.feature_names
            .iter()
            .find(|(k, b, _)| *k == kind && u32::from(*b) == bit)
            .map(|(_, _, n)| n.as_str())
    }
}

/// Everything read from the first cluster.
#[derive(Debug)]
pub(super) struct Parsed {
    pub header: Header,
    pub ext: Extensions,
    /// The backing file name, when there is one (non-empty).
    pub backing_name: Option<String>,
    /// Problems that do not prevent reading.
    pub anomalies: Vec<Anomaly>,
}

fn need<T>(v: Option<T>, field: &str, off: usize) -> Result<T, ContainerError> {
    v.ok_or_else(|| {
        corrupt(
            "header",
            0,
            format!("field {field} at byte {off} is truncated"),
        )
    })
}

fn read_file(
    file: &dyn BlockSource,
    structure: &str,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, ContainerError> {
    let n = usize::try_from(len).map_err(|_| corrupt(structure, offset, "length overflows"))?;
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, offset)
        .map_err(|e| ContainerError::read(FORMAT, structure, offset, e))?;
    Ok(buf)
}

/// Read and parse the header cluster of `file`.
pub(super) fn read(file: &dyn BlockSource) -> Result<Parsed, ContainerError> {
    let file_len = file.len();
    if file_len < u64::from(V2_HEADER_LEN) {
        return Err(corrupt(
            "header",
            0,
            format!("file of {file_len} bytes is shorter than the {V2_HEADER_LEN}-byte header"),
        ));
    }
    let first = read_file(file, "header", 0, file_len.min(FIXED_HEADER_READ))?;
    let magic = need(u32_be(&first, 0), "magic", 0)?;
    if magic != MAGIC {
        return Err(corrupt(
            "header",
            0,
            format!("magic is {magic:#010x}, expected {MAGIC:#010x}"),
        ));
    }
    let version = need(u32_be(&first, 4), "version", 4)?;
    if version != 2 && version != 3 {
        let what = if version == 1 {
            "version 1 (the original qcow format)".to_string()
        } else {
            format!("version {version}")
        };
        return Err(ContainerError::Unsupported {
            format: FORMAT,
            feature: what,
        });
    }
    let cluster_bits = need(u32_be(&first, 20), "cluster_bits", 20)?;
    if cluster_bits < MIN_CLUSTER_BITS {
        return Err(corrupt(
            "header",
            20,
            format!("cluster_bits is {cluster_bits}, below the minimum of {MIN_CLUSTER_BITS} (512-byte clusters)"),
        ));
    }
    if cluster_bits > MAX_CLUSTER_BITS {
        return Err(ContainerError::Unsupported {
            format: FORMAT,
            feature: format!(
                "cluster_bits {cluster_bits} (clusters above 2 MiB, cluster_bits {MAX_CLUSTER_BITS})"
            ),
        });
    }
    let cluster_size = 1u64 << cluster_bits;
    // The whole first cluster holds the header, its extensions and the backing file name.
    let head = read_file(file, "header cluster", 0, file_len.min(cluster_size))?;
    let mut header = Header {
        version,
        backing_file_offset: need(u64_be(&head, 8), "backing_file_offset", 8)?,
        backing_file_size: need(u32_be(&head, 16), "backing_file_size", 16)?,
        cluster_bits,
        size: need(u64_be(&head, 24), "size", 24)?,
        crypt_method: need(u32_be(&head, 32), "crypt_method", 32)?,
        l1_size: need(u32_be(&head, 36), "l1_size", 36)?,
        l1_table_offset: need(u64_be(&head, 40), "l1_table_offset", 40)?,
        nb_snapshots: need(u32_be(&head, 60), "nb_snapshots", 60)?,
        incompatible: 0,
        compatible: 0,
        autoclear: 0,
        refcount_order: V2_REFCOUNT_ORDER,
        header_length: V2_HEADER_LEN,
        compression_type: 0,
    };
    let mut anomalies = Vec::new();
    if version >= 3 {
        if head.len() < usize::try_from(V3_MIN_HEADER_LEN).unwrap_or(usize::MAX) {
            return Err(corrupt(
                "header",
                0,
                format!(
                    "version 3 header needs {V3_MIN_HEADER_LEN} bytes, the file has {file_len}"
                ),
            ));
        }
        header.incompatible = need(u64_be(&head, 72), "incompatible_features", 72)?;
        header.compatible = need(u64_be(&head, 80), "compatible_features", 80)?;
        header.autoclear = need(u64_be(&head, 88), "autoclear_features", 88)?;
        header.refcount_order = need(u32_be(&head, 96), "refcount_order", 96)?;
        header.header_length = need(u32_be(&head, 100), "header_length", 100)?;
        if header.header_length < V3_MIN_HEADER_LEN {
            return Err(corrupt(
                "header",
                100,
                format!(
                    "header_length is {}, below the version 3 minimum of {V3_MIN_HEADER_LEN}",
                    header.header_length
                ),
            ));
        }
        if u64::from(header.header_length) > cluster_size {
            return Err(corrupt(
                "header",
                100,
                format!(
                    "header_length {} exceeds the cluster size of {cluster_size}",
                    header.header_length
                ),
            ));
        }
        if usize::try_from(header.header_length).map_or(true, |l| l > head.len()) {
            return Err(corrupt(
                "header",
                0,
                format!(
                    "header_length is {} but the file has only {file_len} bytes",
                    header.header_length
                ),
            ));
        }
        if header.header_length % 8 != 0 {
            anomalies.push(Anomaly::new(
                FORMAT,
                "header",
                Some(100),
                ErrorKind::Corrupt,
                format!(
                    "header_length {} is not a multiple of 8",
                    header.header_length
                ),
            ));
        }
        if header.refcount_order > MAX_REFCOUNT_ORDER {
            return Err(corrupt(
                "header",
                96,
                format!(
                    "refcount_order is {}, above the maximum of {MAX_REFCOUNT_ORDER} (64-bit refcounts)",
                    header.refcount_order
                ),
            ));
        }
        if u64::from(header.header_length) > u64::try_from(COMPRESSION_TYPE_OFFSET).unwrap_or(0) {
            header.compression_type = need(
                u8_at(&head, COMPRESSION_TYPE_OFFSET),
                "compression_type",
                COMPRESSION_TYPE_OFFSET,
            )?;
        }
    }

    // Header extensions run from the end of the header to the end of the first cluster, or to
    // the backing file name if that comes first.
    let mut ext_end = cluster_size;
    let ext_start = u64::from(header.header_length);
    if header.backing_file_offset > ext_start && header.backing_file_offset < ext_end {
        ext_end = header.backing_file_offset;
    }
    let ext = parse_extensions(&head, ext_start, ext_end, file_len, &mut anomalies)?;

    let backing_name = read_backing_name(&header, &head, cluster_size)?;
    Ok(Parsed {
        header,
        ext,
        backing_name,
        anomalies,
    })
}

fn ext_string(data: &[u8], what: &str, offset: u64) -> Result<String, ContainerError> {
    String::from_utf8(data.to_vec()).map_err(|_| {
        corrupt(
            "header extension",
            offset,
            format!("{what} is not valid UTF-8"),
        )
    })
}

/// Walk the extension area `start..end` of the header cluster `head`.
fn parse_extensions(
    head: &[u8],
    start: u64,
    end: u64,
    file_len: u64,
    anomalies: &mut Vec<Anomaly>,
) -> Result<Extensions, ContainerError> {
    let mut ext = Extensions::default();
    let mut pos = start;
    // Each step advances by at least 8 bytes and `end` is at most 2 MiB: the loop is bounded.
    while let Some(data_start) = pos.checked_add(8) {
        if data_start > end {
            // Not even room for a type and length: the area ends here (qemu behaves the same).
            break;
        }
        let at = usize::try_from(pos).unwrap_or(usize::MAX);
        let (Some(kind), Some(len)) = (u32_be(head, at), u32_be(head, at.saturating_add(4))) else {
            return Err(corrupt(
                "header extension",
                pos,
                format!("extension header runs past the end of the file ({file_len} bytes)"),
            ));
        };
        if kind == EXT_END {
            break;
        }
        let data_end = data_start.saturating_add(u64::from(len));
        if data_end > end {
            return Err(corrupt(
                "header extension",
                pos,
                format!(
                    "extension {kind:#010x} of {len} bytes runs past the end of the extension area at {end}"
                ),
            ));
        }
        let data = slice(
            head,
            usize::try_from(data_start).unwrap_or(usize::MAX),
            usize::try_from(len).unwrap_or(usize::MAX),
        )
        .ok_or_else(|| {
            corrupt(
                "header extension",
                pos,
                format!(
                    "extension {kind:#010x} of {len} bytes runs past the end of the file ({file_len} bytes)"
                ),
            )
        })?;
        match kind {
            EXT_BACKING_FORMAT => {
                ext.backing_format = Some(ext_string(data, "backing file format name", pos)?);
            }
            EXT_DATA_FILE => {
                ext.data_file = Some(ext_string(data, "external data file name", pos)?);
            }
            EXT_FEATURE_NAMES => {
                for entry in data.chunks_exact(FEATURE_NAME_ENTRY_LEN) {
                    if let (Some(t), Some(b), Some(name)) =
                        (u8_at(entry, 0), u8_at(entry, 1), entry.get(2..))
                    {
                        ext.feature_names
                            .push((t, b, imgcheck_core::bytes::ascii_field(name)));
                    }
                }
            }
            EXT_BITMAPS => {
                if len < BITMAPS_EXT_LEN {
                    anomalies.push(Anomaly::new(
                        FORMAT,
                        "bitmaps extension",
                        Some(pos),
                        ErrorKind::Corrupt,
                        format!("length is {len}, expected {BITMAPS_EXT_LEN}"),
                    ));
                }
                ext.bitmaps = u32_be(data, 0);
            }
            EXT_CRYPTO => {
                if len < CRYPTO_EXT_LEN {
                    anomalies.push(Anomaly::new(
                        FORMAT,
                        "full disk encryption header pointer",
                        Some(pos),
                        ErrorKind::Corrupt,
                        format!("length is {len}, expected {CRYPTO_EXT_LEN}"),
                    ));
                }
                if let (Some(o), Some(l)) = (u64_be(data, 0), u64_be(data, 8)) {
                    ext.crypto = Some((o, l));
                }
            }
            other => ext.unknown.push(other),
        }
        // Data is padded to a multiple of 8.
        let padded = u64::from(len).div_ceil(8).saturating_mul(8);
        pos = data_start.saturating_add(padded);
    }
    Ok(ext)
}

fn read_backing_name(
    header: &Header,
    head: &[u8],
    cluster_size: u64,
) -> Result<Option<String>, ContainerError> {
    let off = header.backing_file_offset;
    if off == 0 || header.backing_file_size == 0 {
        return Ok(None);
    }
    let len = header.backing_file_size;
    if len > MAX_BACKING_NAME_LEN {
        return Err(corrupt(
            "header",
            16,
            format!("backing_file_size is {len}, above the maximum of {MAX_BACKING_NAME_LEN}"),
        ));
    }
    let end = off.saturating_add(u64::from(len));
    if end > cluster_size {
        return Err(corrupt(
            "backing file name",
            off,
            format!(
                "{len} bytes at offset {off} run past the first cluster ({cluster_size} bytes)"
            ),
        ));
    }
    let bytes = slice(
        head,
        usize::try_from(off).unwrap_or(usize::MAX),
        usize::try_from(len).unwrap_or(usize::MAX),
    )
    .ok_or_else(|| {
        corrupt(
            "backing file name",
            off,
            format!("{len} bytes run past the end of the file"),
        )
    })?;
    match String::from_utf8(bytes.to_vec()) {
        Ok(s) => Ok(Some(s)),
        Err(_) => Err(ContainerError::Unsupported {
            format: FORMAT,
            feature: format!("backing file name that is not UTF-8 (at offset {off})"),
        }),
    }
}
