//! The VMDK text descriptor: `key=value` lines, extent lines and the disk database (`ddb.*`).
//!
//! Specification: VMware technical note "Virtual Disk Format 1.1", section "The Descriptor File".
//! A descriptor is either a small text file of its own (monolithicFlat, twoGbMaxExtent*, vmfs …)
//! or embedded in a hosted sparse extent at `descriptorOffset` (monolithicSparse,
//! streamOptimized), NUL-padded to whole sectors. Written from the note, not from another reader.
//!
//! Grammar accepted (one item per line, `#` starts a comment line, blank lines ignored):
//!
//! ```text
//! version=1
//! CID=fffffffe
//! parentCID=ffffffff
//! createType="monolithicSparse"
//! parentFileNameHint="parent.vmdk"
//! RW 4192256 SPARSE "disk.vmdk"
//! RDONLY 2048 FLAT "disk-flat.vmdk" 0
//! NOACCESS 2048 ZERO
//! ddb.adapterType = "lsilogic"
//! ```

use crate::ContainerError;
use imgcheck_core::Limits;
use std::collections::BTreeMap;

/// Format name used in errors.
const FMT: &str = "vmdk";
/// The comment line a descriptor starts with (after optional blank and comment lines).
const DESCRIPTOR_SIGNATURE: &str = "disk descriptorfile";
/// How many bytes of a file's head the probe looks at for the signature line.
const PROBE_WINDOW: usize = 4096;
/// UTF-8 byte order mark, tolerated before the first line.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Access mode of an extent line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `RW`
    ReadWrite,
    /// `RDONLY`
    ReadOnly,
    /// `NOACCESS`
    Denied,
}

impl Access {
    fn parse(tok: &str) -> Option<Access> {
        match tok {
            "RW" => Some(Access::ReadWrite),
            "RDONLY" => Some(Access::ReadOnly),
            "NOACCESS" => Some(Access::Denied),
            _ => None,
        }
    }
}

/// Type of an extent line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtentType {
    /// `SPARSE`: a hosted sparse extent file (`KDMV` header).
    Sparse,
    /// `FLAT`: a plain file holding the sectors from an offset.
    Flat,
    /// `ZERO`: reads as zeros, no file.
    Zero,
    /// `VMFS`: an ESX flat extent; read like `FLAT`.
    Vmfs,
    /// `VMFSSPARSE`: ESX sparse (`COWD`) extent.
    VmfsSparse,
    /// `SESPARSE`: ESX space-efficient sparse extent.
    SeSparse,
    /// `VMFSRDM` / `VMFSRAW`: raw device mappings.
    VmfsRaw,
}

impl ExtentType {
    fn parse(tok: &str) -> Option<ExtentType> {
        match tok {
            "SPARSE" => Some(ExtentType::Sparse),
            "FLAT" => Some(ExtentType::Flat),
            "ZERO" => Some(ExtentType::Zero),
            "VMFS" => Some(ExtentType::Vmfs),
            "VMFSSPARSE" => Some(ExtentType::VmfsSparse),
            "SESPARSE" => Some(ExtentType::SeSparse),
            "VMFSRDM" | "VMFSRAW" => Some(ExtentType::VmfsRaw),
            _ => None,
        }
    }

    /// The keyword as written in descriptors.
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            ExtentType::Sparse => "SPARSE",
            ExtentType::Flat => "FLAT",
            ExtentType::Zero => "ZERO",
            ExtentType::Vmfs => "VMFS",
            ExtentType::VmfsSparse => "VMFSSPARSE",
            ExtentType::SeSparse => "SESPARSE",
            ExtentType::VmfsRaw => "VMFSRDM/VMFSRAW",
        }
    }
}

/// One extent line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExtentLine {
    /// 1-based line number in the descriptor.
    pub line: usize,
    /// Access mode.
    pub access: Access,
    /// Size in 512-byte sectors.
    pub sectors: u64,
    /// Extent type.
    pub kind: ExtentType,
    /// File name as written (none for `ZERO`).
    pub file: Option<String>,
    /// Offset in sectors into the file (flat extents), 0 when absent.
    pub offset: u64,
}

/// A parsed descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Descriptor {
    /// `version=`
    pub version: Option<String>,
    /// `CID=` (hex content id).
    pub cid: Option<String>,
    /// `parentCID=`; `ffffffff` means no parent.
    pub parent_cid: Option<String>,
    /// `createType=`
    pub create_type: Option<String>,
    /// `parentFileNameHint=`: the parent of a delta disk.
    pub parent_hint: Option<String>,
    /// Extent lines in order.
    pub extents: Vec<ExtentLine>,
    /// `ddb.*` entries, keys lowercased.
    pub ddb: BTreeMap<String, String>,
    /// Line numbers that were neither comments, `key=value` pairs nor extent lines.
    pub unrecognised: Vec<usize>,
}

/// Whether `head` (the first bytes of a file) looks like a text descriptor: only blank and `#`
/// comment lines before a `# Disk DescriptorFile` line, all of it plain text.
pub(crate) fn looks_like_descriptor(head: &[u8]) -> bool {
    let window = head.get(..head.len().min(PROBE_WINDOW)).unwrap_or(head);
    let window = window.strip_prefix(UTF8_BOM).unwrap_or(window);
    for raw in window.split(|&b| b == b'\n') {
        if raw
            .iter()
            .any(|&b| b < 0x20 && b != b'\t' && b != b'\r' && b != 0)
        {
            return false;
        }
        // Text ends at the first NUL (descriptors are NUL-padded to a sector).
        let (line, ended) = match raw.iter().position(|&b| b == 0) {
            Some(p) => (raw.get(..p).unwrap_or_default(), true),
            None => (raw, false),
        };
        let Ok(line) = std::str::from_utf8(line) else {
            return false;
        };
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if comment.trim().eq_ignore_ascii_case(DESCRIPTOR_SIGNATURE) {
                return true;
            }
        } else if !line.is_empty() {
            return false;
        }
        if ended {
            return false;
        }
    }
    false
}

/// Parse descriptor `text` (bytes after the first NUL are padding and ignored). `base_offset` is
/// the descriptor's offset in its file, used in error messages with the line's own offset.
pub(crate) fn parse(
    text: &[u8],
    base_offset: u64,
    limits: &Limits,
) -> Result<Descriptor, ContainerError> {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let text = text.get(..end).unwrap_or_default();
    let mut d = Descriptor::default();
    let mut line_start = 0usize;
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = index.saturating_add(1);
        let line_offset = base_offset.saturating_add(u64::try_from(line_start).unwrap_or(u64::MAX));
        line_start = line_start.saturating_add(raw.len()).saturating_add(1);
        let raw = if index == 0 {
            raw.strip_prefix(UTF8_BOM).unwrap_or(raw)
        } else {
            raw
        };
        let line = String::from_utf8_lossy(raw);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split_whitespace().next().unwrap_or_default();
        if let Some(access) = Access::parse(first) {
            if d.extents.len() >= usize::try_from(limits.max_extents).unwrap_or(usize::MAX) {
                return Err(ContainerError::Limit {
                    format: FMT,
                    structure: format!("descriptor line {line_no}"),
                    offset: line_offset,
                    what: "number of extents".to_string(),
                    actual: u64::try_from(d.extents.len())
                        .unwrap_or(u64::MAX)
                        .saturating_add(1),
                    limit: u64::from(limits.max_extents),
                });
            }
            let rest = line.get(first.len()..).unwrap_or_default();
            let ext = parse_extent(access, rest, line_no).map_err(|problem| {
                ContainerError::corrupt(
                    FMT,
                    format!("descriptor line {line_no}"),
                    line_offset,
                    problem,
                )
            })?;
            d.extents.push(ext);
        } else if let Some((key, value)) = line.split_once('=') {
            let key = key.trim();
            let value = unquote(value.trim()).to_string();
            match key.to_ascii_lowercase().as_str() {
                "version" => d.version = Some(value),
                "cid" => d.cid = Some(value),
                "parentcid" => d.parent_cid = Some(value),
                "createtype" => d.create_type = Some(value),
                "parentfilenamehint" => d.parent_hint = Some(value),
                k if k.starts_with("ddb.") => {
                    d.ddb.insert(k.to_string(), value);
                }
                // encoding, isNativeSnapshot, changeTrackPath …: not needed to read the disk.
                _ => {}
            }
        } else {
            d.unrecognised.push(line_no);
        }
    }
    Ok(d)
}

/// Strip one pair of surrounding double quotes.
fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
}

/// Parse what follows the access word: `<sectors> <TYPE> ["file" [offset]]`.
fn parse_extent(access: Access, rest: &str, line: usize) -> Result<ExtentLine, String> {
    let rest = rest.trim_start();
    let (size_tok, rest) = split_token(rest);
    if size_tok.is_empty() {
        return Err("extent line ends after the access mode, expected a sector count".to_string());
    }
    let sectors: u64 = size_tok
        .parse()
        .map_err(|_| format!("extent size {size_tok:?} is not a decimal sector count"))?;
    let (type_tok, rest) = split_token(rest.trim_start());
    if type_tok.is_empty() {
        return Err("extent line ends after the sector count, expected an extent type".to_string());
    }
    let kind = ExtentType::parse(type_tok).ok_or_else(|| {
        format!(
            "unknown extent type {type_tok:?}, expected SPARSE, FLAT, ZERO, VMFS, VMFSSPARSE, SESPARSE, VMFSRDM or VMFSRAW"
        )
    })?;
    let rest = rest.trim();
    if kind == ExtentType::Zero && !rest.starts_with('"') {
        if !rest.is_empty() {
            return Err(format!("unexpected {rest:?} after a ZERO extent"));
        }
        return Ok(ExtentLine {
            line,
            access,
            sectors,
            kind,
            file: None,
            offset: 0,
        });
    }
    let Some(quoted) = rest.strip_prefix('"') else {
        if rest.is_empty() {
            return Err(format!("{} extent has no file name", kind.keyword()));
        }
        return Err(format!("extent file name {rest:?} is not in double quotes"));
    };
    let Some(close) = quoted.find('"') else {
        return Err("extent file name has no closing double quote".to_string());
    };
    let name = quoted.get(..close).unwrap_or_default();
    if name.is_empty() {
        return Err("extent file name is empty".to_string());
    }
    let after = quoted
        .get(close.saturating_add(1)..)
        .unwrap_or_default()
        .trim();
    let mut offset = 0u64;
    if !after.is_empty() {
        let (off_tok, extra) = split_token(after);
        offset = off_tok
            .parse()
            .map_err(|_| format!("extent offset {off_tok:?} is not a decimal sector count"))?;
        let extra = extra.trim();
        if !extra.is_empty() {
            return Err(format!("unexpected {extra:?} after the extent offset"));
        }
    }
    Ok(ExtentLine {
        line,
        access,
        sectors,
        kind,
        file: Some(name.to_string()),
        offset,
    })
}

/// Split off the first whitespace-delimited token.
fn split_token(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(p) => (
            s.get(..p).unwrap_or_default(),
            s.get(p..).unwrap_or_default(),
        ),
        None => (s, ""),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn probe_text() {
        assert!(looks_like_descriptor(b"# Disk DescriptorFile\nversion=1\n"));
        assert!(looks_like_descriptor(
            b"\xef\xbb\xbf\n  # a comment\r\n#   Disk DescriptorFile\r\n"
        ));
        assert!(looks_like_descriptor(b"# Disk DescriptorFile\0\0\0"));
        assert!(!looks_like_descriptor(
            b"version=1\n# Disk DescriptorFile\n"
        ));
        assert!(!looks_like_descriptor(b"\x01# Disk DescriptorFile\n"));
        assert!(!looks_like_descriptor(
            b"# comment\0# Disk DescriptorFile\n"
        ));
        assert!(!looks_like_descriptor(b""));
        assert!(!looks_like_descriptor(&[0u8; 512]));
    }

    #[test]
    fn parses_qemu_style() {
        let text = b"# Disk DescriptorFile\nversion=1\nCID=8f3cf1f0\nparentCID=ffffffff\n\
createType=\"twoGbMaxExtentFlat\"\n\n# Extent description\nRW 4194304 FLAT \"a b-f001.vmdk\" 0\n\
RDONLY 100 FLAT \"x.img\" 7\nNOACCESS 8 ZERO\nRW 16 SPARSE \"s.vmdk\"\n\n#DDB\n\
ddb.virtualHWVersion = \"4\"\nddb.adapterType = \"ide\"\0\0\0garbage";
        let d = parse(text, 0, &Limits::default()).unwrap();
        assert_eq!(d.version.as_deref(), Some("1"));
        assert_eq!(d.cid.as_deref(), Some("8f3cf1f0"));
        assert_eq!(d.parent_cid.as_deref(), Some("ffffffff"));
        assert_eq!(d.create_type.as_deref(), Some("twoGbMaxExtentFlat"));
        assert_eq!(d.extents.len(), 4);
        assert_eq!(d.extents[0].file.as_deref(), Some("a b-f001.vmdk"));
        assert_eq!(d.extents[0].sectors, 4_194_304);
        assert_eq!(d.extents[0].line, 8);
        assert_eq!(d.extents[1].offset, 7);
        assert_eq!(d.extents[1].access, Access::ReadOnly);
        assert_eq!(d.extents[2].kind, ExtentType::Zero);
        assert_eq!(d.extents[2].file, None);
        assert_eq!(d.extents[3].kind, ExtentType::Sparse);
        assert_eq!(
            d.ddb.get("ddb.adaptertype").map(String::as_str),
            Some("ide")
        );
        assert!(d.unrecognised.is_empty());
    }

    #[test]
    fn extent_syntax_errors_name_the_line() {
        let cases: &[(&str, &str)] = &[
            ("RW", "expected a sector count"),
            ("RW 12x FLAT \"f\"", "\"12x\" is not a decimal sector count"),
            ("RW 12", "expected an extent type"),
            ("RW 12 FLOP \"f\"", "unknown extent type \"FLOP\""),
            ("RW 12 FLAT", "FLAT extent has no file name"),
            ("RW 12 FLAT f.img", "not in double quotes"),
            ("RW 12 FLAT \"f.img", "no closing double quote"),
            ("RW 12 FLAT \"\"", "file name is empty"),
            ("RW 12 FLAT \"f\" -1", "offset \"-1\" is not a decimal"),
            ("RW 12 FLAT \"f\" 0 junk", "unexpected \"junk\""),
            ("RW 12 ZERO junk", "unexpected \"junk\" after a ZERO extent"),
            (
                "RW 99999999999999999999999 FLAT \"f\"",
                "not a decimal sector count",
            ),
        ];
        for (line, want) in cases {
            let text = format!("# Disk DescriptorFile\nversion=1\n\n{line}\n");
            let e = parse(text.as_bytes(), 512, &Limits::default())
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("vmdk: descriptor line 4 at offset 545: "),
                "{line}: {e}"
            );
            assert!(e.contains(want), "{line}: {e}");
        }
    }

    #[test]
    fn extent_count_limited() {
        let limits = Limits {
            max_extents: 2,
            ..Limits::default()
        };
        let text = b"RW 1 ZERO\nRW 1 ZERO\nRW 1 ZERO\n";
        let e = parse(text, 0, &limits).unwrap_err().to_string();
        assert_eq!(
            e,
            "vmdk: descriptor line 3 at offset 20: number of extents is 3, above the limit of 2"
        );
    }

    #[test]
    fn unrecognised_lines_are_recorded() {
        let d = parse(
            b"hello\nRX 1 ZERO\nversion = \"2\"\n",
            0,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(d.unrecognised, vec![1, 2]);
        assert_eq!(d.version.as_deref(), Some("2"));
    }
}
