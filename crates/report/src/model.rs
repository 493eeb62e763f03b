//! [`Report`]: the check results arranged as the user reads them — Strongly recommended fixes,
//! Recommended optimizations, No risks found, Not evaluated, Not applicable, anomalies — plus
//! the image and guest facts shown in the header. The JSON form of this type is the documented
//! report schema (`docs/report-schema.md`, [`SCHEMA_VERSION`]). Our own code.

use imgcheck_checks::facts::Facts;
use imgcheck_checks::layout::{boot_layout, content_name, fs_of};
use imgcheck_checks::{CheckResult, Finding, Severity, Verdict};
use serde::{Deserialize, Serialize};

/// Version of the JSON report schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The program that wrote it.
    pub tool: Tool,
    /// The image checked.
    pub image: ImageSection,
    /// Target profile name (`alibaba`, `aws`, …).
    pub target: String,
    /// Informational guest facts for the header.
    pub header: Header,
    /// The operating system the checks examined (`null` when no root was found).
    pub os: Option<OsSection>,
    /// Counts per section.
    pub summary: Summary,
    /// Checks with at least one strongly recommended finding.
    pub strongly_recommended: Vec<Entry>,
    /// Checks whose worst finding is recommended.
    pub recommended: Vec<Entry>,
    /// Checks that passed.
    pub no_risk: Vec<Entry>,
    /// Checks that could not see their evidence, with the reason.
    pub not_evaluated: Vec<Entry>,
    /// Checks that do not concern this image.
    pub not_applicable: Vec<Entry>,
    /// Every check in registry order (the order of `docs/checks.md`), whatever its status: the
    /// same entries as the five sections above, in one flat list.
    pub checks: Vec<Entry>,
    /// What the layers found wrong without stopping.
    pub anomalies: Vec<AnomalyEntry>,
}

/// Program name and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `imgcheck`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// The image and its layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSection {
    /// Path as given on the command line.
    pub path: String,
    /// Container format.
    pub format: String,
    /// Subformat, where the format has one.
    pub subformat: Option<String>,
    /// Virtual disk size in bytes.
    pub virtual_size: u64,
    /// File size in bytes.
    pub file_size: u64,
    /// Stored bytes, where known.
    pub allocated_bytes: Option<u64>,
    /// `gpt`, `mbr`, `none`; `null` when the table could not be read.
    pub partition_table: Option<String>,
    /// Logical sector size of the table.
    pub sector_size: Option<u32>,
    /// The partitions with what they hold.
    pub partitions: Vec<PartitionEntry>,
}

/// One partition for the header and the layout picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionEntry {
    /// Partition number.
    pub number: u32,
    /// Byte offset.
    pub start: u64,
    /// Bytes.
    pub size: u64,
    /// Type GUID or `0xNN`.
    pub type_id: String,
    /// Type name, where known.
    pub type_name: Option<String>,
    /// GPT name.
    pub name: Option<String>,
    /// `primary`, `extended`, `logical`, `gpt`.
    pub kind: String,
    /// Active / legacy-BIOS-bootable.
    pub bootable: bool,
    /// What the volume holds (`ext4`, `swap`, `luks2 encrypted`, …), where probed.
    pub content: Option<String>,
    /// Filesystem label.
    pub label: Option<String>,
    /// Roles from the guest assembly (`root`, `esp`, …).
    pub roles: Vec<String>,
}

/// Informational header facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// `linux`, `windows`, `unknown`; `null` when not inspected.
    pub os_type: Option<String>,
    /// Distribution id.
    pub distro: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Human OS name.
    pub pretty_name: Option<String>,
    /// Architecture.
    pub arch: Option<String>,
    /// `bios`, `uefi`, `bios+uefi`, `none`; `null` when the table was not read.
    pub boot_mode: Option<String>,
}

/// The operating system the checks examined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsSection {
    /// `linux`, `windows`.
    #[serde(rename = "type")]
    pub os_type: String,
    /// Distribution id (Linux).
    pub distro: Option<String>,
    /// Version (`12`, `9.4`; Windows: `10.0`).
    pub version: Option<String>,
    /// Product name (os-release `PRETTY_NAME`, Windows `ProductName`).
    pub product_name: Option<String>,
    /// Architecture.
    pub arch: Option<String>,
    /// The volume the root was found on, as `inspect` lists volumes.
    pub root: Option<String>,
    /// Operating system roots found on the disk (the checks examine one; `inspect` lists all).
    pub roots_found: u32,
}

/// Counts of checks per section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Checks with a strongly recommended fix.
    pub strongly_recommended: usize,
    /// Checks with recommended optimisations only.
    pub recommended: usize,
    /// Checks that passed.
    pub no_risk: usize,
    /// Checks not evaluated.
    pub not_evaluated: usize,
    /// Checks not applicable.
    pub not_applicable: usize,
}

/// Where a check landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// At least one strongly recommended finding.
    StronglyRecommended,
    /// Recommended findings only.
    Recommended,
    /// Passed.
    NoRisk,
    /// Evidence not readable.
    NotEvaluated,
    /// Does not concern this image.
    NotApplicable,
}

/// One check in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Stable check id.
    pub id: String,
    /// Alibaba image-check item, where one maps.
    pub alibaba_item: Option<String>,
    /// Check title.
    pub title: String,
    /// Section.
    pub status: Status,
    /// Pass detail (informational).
    pub detail: Option<String>,
    /// Why not evaluated / not applicable.
    pub reason: Option<String>,
    /// Findings (empty unless `status` is a fix/optimisation).
    pub findings: Vec<Finding>,
}

/// One anomaly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnomalyEntry {
    /// Layer (`qcow2`, `gpt`, `ext4`, …).
    pub layer: String,
    /// Structure concerned.
    pub structure: String,
    /// Byte offset in the layer's address space.
    pub offset: Option<u64>,
    /// `io`, `corrupt`, `unsupported`, `limit_exceeded`, `not_found`.
    pub kind: String,
    /// What is wrong.
    pub message: String,
}

impl Report {
    /// Build the report from check results (in registry order), the facts they ran on, the
    /// image path as given, and the target profile name.
    pub fn build(results: &[CheckResult], facts: &Facts, path: &str, target: &str) -> Report {
        let mut r = Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "imgcheck".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            image: image_section(facts, path),
            target: target.into(),
            header: header(facts),
            os: facts.guest.as_ref().map(|g| OsSection {
                os_type: g.os_type.clone(),
                distro: g.distro.clone(),
                version: g.version.clone(),
                product_name: g.pretty_name.clone(),
                arch: g.arch.clone(),
                root: g.root_volume.clone(),
                roots_found: g.roots_found,
            }),
            summary: Summary::default(),
            strongly_recommended: Vec::new(),
            recommended: Vec::new(),
            no_risk: Vec::new(),
            not_evaluated: Vec::new(),
            not_applicable: Vec::new(),
            checks: Vec::new(),
            anomalies: facts
                .anomalies
                .iter()
                .map(|a| AnomalyEntry {
                    layer: a.layer.clone(),
                    structure: a.structure.clone(),
                    offset: a.offset,
                    kind: kind_name(a.kind).into(),
                    message: a.message.clone(),
                })
                .collect(),
        };
        for res in results {
            let m = res.meta;
            let mut e = Entry {
                id: m.id.into(),
                alibaba_item: m.alibaba_item.map(str::to_string),
                title: m.title.into(),
                status: Status::NoRisk,
                detail: None,
                reason: None,
                findings: Vec::new(),
            };
            let section = match &res.verdict {
                Verdict::Pass { detail } => {
                    e.detail = detail.clone();
                    &mut r.no_risk
                }
                // An empty findings list is a pass in effect; keep it visible as such.
                Verdict::Findings(f) if f.is_empty() => &mut r.no_risk,
                Verdict::Findings(f) => {
                    e.findings = f.clone();
                    if res.verdict.worst_severity() == Some(Severity::StronglyRecommended) {
                        e.status = Status::StronglyRecommended;
                        &mut r.strongly_recommended
                    } else {
                        e.status = Status::Recommended;
                        &mut r.recommended
                    }
                }
                Verdict::NotEvaluated { reason } => {
                    e.status = Status::NotEvaluated;
                    e.reason = Some(reason.clone());
                    &mut r.not_evaluated
                }
                Verdict::NotApplicable { reason } => {
                    e.status = Status::NotApplicable;
                    e.reason = Some(reason.clone());
                    &mut r.not_applicable
                }
            };
            section.push(e.clone());
            r.checks.push(e);
        }
        r.summary = Summary {
            strongly_recommended: r.strongly_recommended.len(),
            recommended: r.recommended.len(),
            no_risk: r.no_risk.len(),
            not_evaluated: r.not_evaluated.len(),
            not_applicable: r.not_applicable.len(),
        };
        r
    }
}

/// The serde name of an anomaly kind.
fn kind_name(k: imgcheck_core::ErrorKind) -> &'static str {
    use imgcheck_core::ErrorKind::*;
    match k {
        Io => "io",
        Corrupt => "corrupt",
        Unsupported => "unsupported",
        LimitExceeded => "limit_exceeded",
        NotFound => "not_found",
    }
}

fn image_section(facts: &Facts, path: &str) -> ImageSection {
    let table = facts.table.as_ref();
    let partitions = table
        .map(|t| t.partitions.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let vol = facts.volumes.iter().find(|v| v.partition == Some(p.number));
            let fs = vol.and_then(fs_of);
            PartitionEntry {
                number: p.number,
                start: p.start,
                size: p.size,
                type_id: p.type_id.clone(),
                type_name: p.type_name.clone(),
                name: p.name.clone(),
                kind: p.kind.clone(),
                bootable: p.bootable,
                content: vol.map(|v| content_name(&v.content)),
                label: fs.and_then(|f| f.label.clone()),
                roles: fs.map(|f| f.roles.clone()).unwrap_or_default(),
            }
        })
        .collect();
    ImageSection {
        path: path.into(),
        format: facts.image.format.clone(),
        subformat: facts.image.subformat.clone(),
        virtual_size: facts.image.virtual_size,
        file_size: facts.image.file_size,
        allocated_bytes: facts.image.allocated_bytes,
        partition_table: table.map(|t| t.scheme.clone()),
        sector_size: table.map(|t| t.sector_size),
        partitions,
    }
}

fn header(facts: &Facts) -> Header {
    let g = facts.guest.as_ref();
    Header {
        os_type: g.map(|g| g.os_type.clone()),
        distro: g.and_then(|g| g.distro.clone()),
        version: g.and_then(|g| g.version.clone()),
        pretty_name: g.and_then(|g| g.pretty_name.clone()),
        arch: g.and_then(|g| g.arch.clone()),
        boot_mode: facts.table.as_ref().map(|_| boot_layout(facts).describe()),
    }
}

/// Process exit status for `imgcheck check`: 0 when no check needs a strongly recommended fix,
/// 1 otherwise (2, "could not analyse / usage error", is the binary's).
pub fn exit_status(report: &Report) -> u8 {
    if report.summary.strongly_recommended > 0 {
        1
    } else {
        0
    }
}
