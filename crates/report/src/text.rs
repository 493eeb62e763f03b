//! The console report: header, then "Strongly recommended fixes (n)", "Recommended
//! optimizations (n)", "No risks found (n)", "Not evaluated (n)", "Not applicable (n)",
//! anomalies and a summary line. ANSI colour only when asked; every image-derived string goes
//! through [`crate::escape::terminal`]. Our own code.

use crate::escape::terminal as esc;
use crate::model::{Entry, Report};
use imgcheck_checks::layout::human_bytes;
use imgcheck_checks::Severity;
use std::fmt::Write;

/// ANSI styles (SGR sequences).
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Render the report for a terminal. `color`: emit ANSI colours (the caller decides: a TTY and
/// no `NO_COLOR`).
pub fn to_text(report: &Report, color: bool) -> String {
    let p = Painter { color };
    let mut s = String::new();
    let img = &report.image;
    let _ = writeln!(
        s,
        "{} {} — image check report (target: {})",
        p.paint(BOLD, &esc(&report.tool.name)),
        esc(&report.tool.version),
        esc(&report.target)
    );
    let mut fmt = esc(&img.format);
    if let Some(sub) = &img.subformat {
        let _ = write!(fmt, " {}", esc(sub));
    }
    let _ = writeln!(
        s,
        "Image:   {} ({fmt}, virtual {}, file {})",
        esc(&img.path),
        human_bytes(img.virtual_size),
        human_bytes(img.file_size)
    );
    let h = &report.header;
    let os = h
        .pretty_name
        .as_ref()
        .or(h.distro.as_ref())
        .or(h.os_type.as_ref())
        .map_or_else(|| "not inspected".to_string(), |o| esc(o));
    let _ = write!(s, "OS:      {os}");
    if let Some(a) = &h.arch {
        let _ = write!(s, ", {}", esc(a));
    }
    if let Some(b) = &h.boot_mode {
        let _ = write!(s, ", boot mode {}", esc(b));
    }
    s.push('\n');
    match &img.partition_table {
        Some(t) => {
            let _ = writeln!(
                s,
                "Table:   {}, {} partition(s)",
                esc(t),
                img.partitions.len()
            );
        }
        None => s.push_str("Table:   not read\n"),
    }
    for part in &img.partitions {
        let _ = write!(
            s,
            "  #{:<3} {:>10}  at {:<12} {}",
            part.number,
            human_bytes(part.size),
            part.start,
            esc(part.type_name.as_deref().unwrap_or(&part.type_id))
        );
        if let Some(c) = &part.content {
            let _ = write!(s, "  {}", esc(c));
        }
        if let Some(n) = &part.name {
            let _ = write!(s, "  name \"{}\"", esc(n));
        }
        if let Some(l) = &part.label {
            let _ = write!(s, "  label \"{}\"", esc(l));
        }
        if !part.roles.is_empty() {
            let _ = write!(s, "  [{}]", esc(&part.roles.join(", ")));
        }
        s.push('\n');
    }

    section(
        &mut s,
        &p,
        RED,
        "Strongly recommended fixes",
        &report.strongly_recommended,
        findings,
    );
    section(
        &mut s,
        &p,
        YELLOW,
        "Recommended optimizations",
        &report.recommended,
        findings,
    );
    section(
        &mut s,
        &p,
        GREEN,
        "No risks found",
        &report.no_risk,
        |s, _, e| {
            if let Some(d) = &e.detail {
                let _ = writeln!(s, "      {}", esc(d));
            }
        },
    );
    section(
        &mut s,
        &p,
        CYAN,
        "Not evaluated",
        &report.not_evaluated,
        reason,
    );
    section(
        &mut s,
        &p,
        DIM,
        "Not applicable",
        &report.not_applicable,
        reason,
    );

    if !report.anomalies.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            p.paint(BOLD, &format!("Anomalies ({})", report.anomalies.len()))
        );
        for a in &report.anomalies {
            let at = a
                .offset
                .map(|o| format!(" at offset {o}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {}: {}{at}: {} ({})",
                esc(&a.layer),
                esc(&a.structure),
                esc(&a.message),
                esc(&a.kind)
            );
        }
    }
    let sm = &report.summary;
    let _ = writeln!(
        s,
        "\nSummary: {} strongly recommended, {} recommended, {} no risk, {} not evaluated, {} not applicable",
        sm.strongly_recommended, sm.recommended, sm.no_risk, sm.not_evaluated, sm.not_applicable
    );
    s
}

/// One section: heading with count, then each entry's id, title, Alibaba item and body.
fn section(
    s: &mut String,
    p: &Painter,
    style: &str,
    heading: &str,
    entries: &[Entry],
    body: impl Fn(&mut String, &Painter, &Entry),
) {
    let _ = writeln!(
        s,
        "\n{}",
        p.paint(style, &format!("{heading} ({})", entries.len()))
    );
    for e in entries {
        let _ = write!(s, "  {}  {}", p.paint(BOLD, &esc(&e.id)), esc(&e.title));
        if let Some(item) = &e.alibaba_item {
            let _ = write!(s, "  [{}]", esc(item));
        }
        s.push('\n');
        body(s, p, e);
    }
}

/// Findings with evidence and remedy.
fn findings(s: &mut String, p: &Painter, e: &Entry) {
    for f in &e.findings {
        let (mark, style) = match f.severity {
            Severity::StronglyRecommended => ("!!", RED),
            Severity::Recommended => ("! ", YELLOW),
        };
        let _ = writeln!(s, "    {} {}", p.paint(style, mark), esc(&f.message));
        for ev in &f.evidence {
            let _ = writeln!(s, "         evidence: {}", esc(ev));
        }
        let _ = writeln!(s, "         remedy:   {}", esc(&f.remedy));
    }
}

/// Reason of a not-evaluated / not-applicable entry.
fn reason(s: &mut String, _p: &Painter, e: &Entry) {
    if let Some(r) = &e.reason {
        let _ = writeln!(s, "      {}", esc(r));
    }
}
