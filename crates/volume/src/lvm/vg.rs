//! VG metadata text (parsed by [`super::text`]) turned into a checked model: the VG's id,
//! seqno and extent size, its PVs and its LVs with their segments.
//!
//! Specification: LVM2 `lib/format_text/import_vsn1.c` conventions as seen in the text LVM
//! writes — one top-level section named after the VG holding `id`, `seqno`, `extent_size`
//! (sectors), `physical_volumes { pvN { id device pe_start pe_count dev_size } }` and
//! `logical_volumes { name { id status segment_count segmentN { start_extent extent_count type
//! stripe_count stripe_size stripes = [ "pvN", PE, … ] } } }`, plus top-level `contents =
//! "Text Format Volume Group"` and `version = 1`.
//!
//! A VG-level field missing or out of range rejects the copy; a broken LV only marks that LV
//! unreadable (its `problem`), so one bad LV never hides the others.

use super::text::{Section, Value};

/// `contents` of VG metadata text.
const CONTENTS: &str = "Text Format Volume Group";
/// The only metadata text version.
const TEXT_VERSION: i64 = 1;
/// Segments read per LV. LVM has no fixed limit, but an LV with more segments than this is
/// either hand-made or corrupt; metadata text bounded by `Limits::max_descriptor_bytes` (1 MiB)
/// holds at most ~10,000 segments anyway.
pub(crate) const MAX_SEGMENTS: usize = 10_000;
/// Stripes of one segment: LVM's own `MAX_STRIPES` (lib/metadata/metadata-exported.h).
pub(crate) const MAX_STRIPES: usize = 128;

/// One copy of VG metadata, checked.
#[derive(Debug, Clone)]
pub(crate) struct VgMeta {
    pub name: String,
    pub id: String,
    pub seqno: u64,
    /// Extent size in 512-byte sectors (> 0).
    pub extent_size: u64,
    pub status: Vec<String>,
    pub pvs: Vec<PvMeta>,
    pub lvs: Vec<LvMeta>,
}

#[derive(Debug, Clone)]
pub(crate) struct PvMeta {
    /// The key the VG's segments refer to (`pv0`).
    pub key: String,
    pub id: String,
    pub device: Option<String>,
    /// Sectors.
    pub pe_start: u64,
    pub pe_count: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct LvMeta {
    pub name: String,
    pub id: String,
    pub status: Vec<String>,
    /// Segments in text order, or why they could not be read.
    pub segments: Result<Vec<SegMeta>, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegMeta {
    /// `segment1`, …
    pub key: String,
    pub start_extent: u64,
    pub extent_count: u64,
    pub seg_type: String,
    /// Sectors; 0 when absent (linear).
    pub stripe_size: u64,
    /// `stripe_count`, or the number of stripes listed when absent.
    pub stripe_count: u64,
    /// (PV key, first PE) per stripe.
    pub stripes: Vec<(String, u64)>,
}

fn uint(s: &Section, key: &str, what: &str) -> Result<u64, String> {
    match s.value(key) {
        None => Err(format!("{what} has no {key}")),
        Some(Value::Int(i)) => {
            u64::try_from(*i).map_err(|_| format!("{what}: {key} is {i}, expected >= 0"))
        }
        Some(_) => Err(format!("{what}: {key} is not an integer")),
    }
}

fn string(s: &Section, key: &str, what: &str) -> Result<String, String> {
    s.str(key)
        .map(str::to_string)
        .ok_or_else(|| format!("{what} has no {key} string"))
}

/// The VG in `root` (the parsed text of one metadata copy).
pub(crate) fn from_config(root: &Section) -> Result<VgMeta, String> {
    if let Some(c) = root.value("contents") {
        if *c != Value::Str(CONTENTS.to_string()) {
            return Err(format!("contents is {c:?}, expected \"{CONTENTS}\""));
        }
    }
    if let Some(v) = root.value("version") {
        if *v != Value::Int(TEXT_VERSION) {
            return Err(format!("version is {v:?}, expected {TEXT_VERSION}"));
        }
    }
    let mut sections = root.sections();
    let (name, vg) = sections
        .next()
        .ok_or_else(|| "no volume group section".to_string())?;
    if let Some((other, _)) = sections.next() {
        return Err(format!(
            "more than one top-level section ('{name}' and '{other}'), expected one volume group"
        ));
    }
    let what = format!("volume group '{name}'");
    let id = string(vg, "id", &what)?;
    let seqno = uint(vg, "seqno", &what)?;
    let extent_size = uint(vg, "extent_size", &what)?;
    if extent_size == 0 {
        return Err(format!("{what}: extent_size is 0"));
    }
    let mut pvs = Vec::new();
    if let Some(list) = vg.section("physical_volumes") {
        for (key, pv) in list.sections() {
            let what = format!("physical volume '{key}'");
            pvs.push(PvMeta {
                key: key.to_string(),
                id: string(pv, "id", &what)?,
                device: pv.str("device").map(str::to_string),
                pe_start: uint(pv, "pe_start", &what)?,
                pe_count: uint(pv, "pe_count", &what)?,
            });
        }
    }
    let mut lvs = Vec::new();
    if let Some(list) = vg.section("logical_volumes") {
        for (lv_name, lv) in list.sections() {
            lvs.push(LvMeta {
                name: lv_name.to_string(),
                id: lv.str("id").unwrap_or_default().to_string(),
                status: lv.str_array("status"),
                segments: segments(lv),
            });
        }
    }
    Ok(VgMeta {
        name: name.to_string(),
        id,
        seqno,
        extent_size,
        status: vg.str_array("status"),
        pvs,
        lvs,
    })
}

fn segments(lv: &Section) -> Result<Vec<SegMeta>, String> {
    let declared = lv.int("segment_count");
    let mut out = Vec::new();
    for (key, seg) in lv.sections() {
        if !key.starts_with("segment") {
            continue;
        }
        if out.len() >= MAX_SEGMENTS {
            return Err(format!("more than {MAX_SEGMENTS} segments"));
        }
        let what = format!("segment '{key}'");
        let seg_type = seg.str("type").unwrap_or("striped").to_string();
        let mut stripes = Vec::new();
        if let Some(Value::Array(a)) = seg.value("stripes") {
            if a.len() > MAX_STRIPES.saturating_mul(2) {
                return Err(format!("{what} lists more than {MAX_STRIPES} stripes"));
            }
            for pair in a.chunks(2) {
                match pair {
                    [Value::Str(pv), Value::Int(pe)] => {
                        let pe = u64::try_from(*pe)
                            .map_err(|_| format!("{what}: stripe on {pv} starts at PE {pe}"))?;
                        stripes.push((pv.clone(), pe));
                    }
                    _ => return Err(format!("{what}: stripes is not a list of \"pv\", PE pairs")),
                }
            }
        }
        let stripe_count = match seg.value("stripe_count") {
            Some(_) => uint(seg, "stripe_count", &what)?,
            None => u64::try_from(stripes.len()).unwrap_or(u64::MAX),
        };
        out.push(SegMeta {
            key: key.to_string(),
            start_extent: uint(seg, "start_extent", &what)?,
            extent_count: uint(seg, "extent_count", &what)?,
            seg_type,
            stripe_size: match seg.value("stripe_size") {
                Some(_) => uint(seg, "stripe_size", &what)?,
                None => 0,
            },
            stripe_count,
            stripes,
        });
    }
    if let Some(n) = declared {
        if usize::try_from(n).ok() != Some(out.len()) {
            return Err(format!(
                "segment_count is {n} but {} segments are listed",
                out.len()
            ));
        }
    }
    if out.is_empty() {
        return Err("no segments".to_string());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::super::text::parse;
    use super::*;

    fn vg(text: &str) -> Result<VgMeta, String> {
        from_config(&parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn minimal_and_missing_fields() {
        let ok = vg("v { id = \"x\" seqno = 3 extent_size = 8 }\ncontents = \"Text Format Volume Group\"\nversion = 1").unwrap();
        assert_eq!((ok.name.as_str(), ok.seqno, ok.extent_size), ("v", 3, 8));
        assert!(ok.pvs.is_empty() && ok.lvs.is_empty());
        assert_eq!(
            vg("v { seqno = 3 extent_size = 8 }").unwrap_err(),
            "volume group 'v' has no id string"
        );
        assert_eq!(
            vg("v { id = \"x\" seqno = -1 extent_size = 8 }").unwrap_err(),
            "volume group 'v': seqno is -1, expected >= 0"
        );
        assert_eq!(
            vg("v { id = \"x\" seqno = 1 extent_size = 0 }").unwrap_err(),
            "volume group 'v': extent_size is 0"
        );
        assert!(vg("v { id = \"x\" seqno = 1 extent_size = 8 } w { }")
            .unwrap_err()
            .contains("more than one"));
        assert_eq!(vg("a = 1").unwrap_err(), "no volume group section");
        assert!(vg("v { id = \"x\" seqno = 1 extent_size = 8 } version = 2")
            .unwrap_err()
            .contains("version"));
        assert!(
            vg("v { id = \"x\" seqno = 1 extent_size = 8 } contents = \"other\"")
                .unwrap_err()
                .contains("contents")
        );
    }

    #[test]
    fn broken_lv_does_not_reject_the_vg() {
        let m = vg("v { id = \"x\" seqno = 1 extent_size = 8 logical_volumes {
            good { status = [\"VISIBLE\"] segment_count = 1 segment1 { start_extent = 0 extent_count = 1 type = \"striped\" stripe_count = 1 stripes = [\"pv0\", 0] } }
            bad1 { segment_count = 2 segment1 { start_extent = 0 extent_count = 1 stripes = [\"pv0\", 0] } }
            bad2 { segment1 { start_extent = 0 extent_count = 1 stripes = [\"pv0\"] } }
            bad3 { segment1 { start_extent = 0 extent_count = 1 stripes = [\"pv0\", -4] } }
            bad4 { segment1 { extent_count = 1 } }
            bad5 { }
        } }")
        .unwrap();
        let by = |n: &str| m.lvs.iter().find(|l| l.name == n).unwrap();
        assert_eq!(
            by("good").segments.as_ref().unwrap()[0].stripes,
            vec![("pv0".to_string(), 0)]
        );
        assert_eq!(
            by("bad1").segments.as_ref().unwrap_err(),
            "segment_count is 2 but 1 segments are listed"
        );
        assert!(by("bad2").segments.as_ref().unwrap_err().contains("pairs"));
        assert!(by("bad3").segments.as_ref().unwrap_err().contains("PE -4"));
        assert!(by("bad4")
            .segments
            .as_ref()
            .unwrap_err()
            .contains("has no start_extent"));
        assert_eq!(by("bad5").segments.as_ref().unwrap_err(), "no segments");
    }
}
