//! The single-file HTML report: inline CSS, no scripts, no external resources; counts at the top,
//! a disk-layout bar with widths proportional to partition sizes, then each check with its
//! findings, evidence and remedy. Every image-derived string goes through
//! [`crate::escape::html`]. Our own code.

use crate::escape::html as esc;
use crate::model::{Entry, Report};
use imgcheck_checks::layout::human_bytes;
use imgcheck_checks::Severity;
use std::fmt::Write;

/// The page's stylesheet.
const CSS: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 10px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dl.facts dt{color:#5b6475}dl.facts dd{margin:0;word-break:break-all}
.counts{display:flex;gap:12px;flex-wrap:wrap;margin:20px 0}
.count{flex:1 1 150px;background:#fff;border-radius:8px;padding:12px 14px;border-top:5px solid #999}
.count b{display:block;font-size:28px}
.sr{border-color:#c62828}.ro{border-color:#ef8f00}.ok{border-color:#2e7d32}.ne{border-color:#0277bd}.na{border-color:#9e9e9e}
.disk{display:flex;height:46px;background:#e3e6ea;border-radius:6px;overflow:hidden;border:1px solid #c7ccd3}
.seg{box-sizing:border-box;min-width:2px;border-right:1px solid #fff;font-size:12px;color:#fff;padding:4px;overflow:hidden;white-space:nowrap}
.seg.free{background:repeating-linear-gradient(45deg,#e3e6ea,#e3e6ea 6px,#d5d9de 6px,#d5d9de 12px);color:#5b6475}
.seg.fs{background:#3f6fb5}.seg.esp{background:#7b51b3}.seg.swap{background:#8d6e63}.seg.enc{background:#c62828}
.seg.boot{background:#00897b}.seg.other{background:#607d8b}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:6px;font-size:13px;margin-top:8px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef1;vertical-align:top}
th{color:#5b6475;font-weight:600}
.check{background:#fff;border-radius:8px;padding:10px 14px;margin:8px 0;border-left:5px solid #999}
.check h3{font-size:15px;margin:0 0 4px}.check code{font-size:13px;color:#394150}
.item{font-size:12px;color:#5b6475;margin-left:8px}
.finding{margin:8px 0 4px 4px}.finding p{margin:2px 0}
.sev{display:inline-block;font-size:11px;font-weight:700;border-radius:3px;padding:0 5px;color:#fff;margin-right:6px}
.sev.sr{background:#c62828}.sev.ro{background:#ef8f00}
.evidence{margin:2px 0 2px 18px;padding:0;color:#394150;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.remedy{color:#1b5e20}.detail,.reason{color:#5b6475;margin:0}
footer{color:#8a92a3;font-size:12px;margin-top:32px}
";

/// Render the report as one self-contained HTML page.
pub fn to_html(report: &Report) -> String {
    let mut s = String::new();
    let img = &report.image;
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(s, "<title>imgcheck report: {}</title>", esc(&img.path));
    let _ = writeln!(s, "<style>{CSS}</style>\n</head>\n<body>\n<main>");
    s.push_str("<h1>imgcheck image check report</h1>\n<dl class=\"facts\">\n");
    let mut fmt = esc(&img.format);
    if let Some(sub) = &img.subformat {
        let _ = write!(fmt, " ({})", esc(sub));
    }
    fact(&mut s, "Image", &esc(&img.path));
    fact(&mut s, "Format", &fmt);
    fact(
        &mut s,
        "Size",
        &format!(
            "virtual {}, file {}{}",
            human_bytes(img.virtual_size),
            human_bytes(img.file_size),
            img.allocated_bytes
                .map(|a| format!(", allocated {}", human_bytes(a)))
                .unwrap_or_default()
        ),
    );
    fact(&mut s, "Target", &esc(&report.target));
    let h = &report.header;
    let os = h
        .pretty_name
        .as_ref()
        .or(h.distro.as_ref())
        .or(h.os_type.as_ref())
        .map_or_else(|| "not inspected".to_string(), |o| esc(o));
    fact(&mut s, "Operating system", &os);
    if let Some(a) = &h.arch {
        fact(&mut s, "Architecture", &esc(a));
    }
    if let Some(b) = &h.boot_mode {
        fact(&mut s, "Boot mode", &esc(b));
    }
    s.push_str("</dl>\n");

    let sm = &report.summary;
    s.push_str("<div class=\"counts\">\n");
    for (class, n, label) in [
        ("sr", sm.strongly_recommended, "Strongly recommended fixes"),
        ("ro", sm.recommended, "Recommended optimizations"),
        ("ok", sm.no_risk, "No risks found"),
        ("ne", sm.not_evaluated, "Not evaluated"),
        ("na", sm.not_applicable, "Not applicable"),
    ] {
        let _ = writeln!(s, "<div class=\"count {class}\"><b>{n}</b>{label}</div>");
    }
    s.push_str("</div>\n");

    layout(&mut s, report);

    section(
        &mut s,
        "sr",
        "Strongly recommended fixes",
        &report.strongly_recommended,
    );
    section(
        &mut s,
        "ro",
        "Recommended optimizations",
        &report.recommended,
    );
    section(&mut s, "ok", "No risks found", &report.no_risk);
    section(&mut s, "ne", "Not evaluated", &report.not_evaluated);
    section(&mut s, "na", "Not applicable", &report.not_applicable);

    if !report.anomalies.is_empty() {
        let _ = writeln!(s, "<h2>Anomalies ({})</h2>", report.anomalies.len());
        s.push_str("<table><tr><th>Layer</th><th>Structure</th><th>Offset</th><th>Kind</th><th>Message</th></tr>\n");
        for a in &report.anomalies {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&a.layer),
                esc(&a.structure),
                a.offset.map(|o| o.to_string()).unwrap_or_default(),
                esc(&a.kind),
                esc(&a.message)
            );
        }
        s.push_str("</table>\n");
    }
    let _ = writeln!(
        s,
        "<footer>Generated by {} {} · report schema {}</footer>\n</main>\n</body>\n</html>",
        esc(&report.tool.name),
        esc(&report.tool.version),
        report.schema_version
    );
    s
}

fn fact(s: &mut String, name: &str, value_html: &str) {
    let _ = writeln!(s, "<dt>{name}</dt><dd>{value_html}</dd>");
}

/// `part / whole` as a CSS percentage with three decimals, from integer arithmetic.
fn pct(part: u64, whole: u64) -> String {
    let milli = u128::from(part)
        .saturating_mul(100_000)
        .checked_div(u128::from(whole))
        .unwrap_or(0)
        .min(100_000);
    format!("{}.{:03}%", milli / 1000, milli % 1000)
}

/// The CSS class of a partition segment, from its content and roles (never image text).
fn seg_class(content: Option<&str>, roles: &[String]) -> &'static str {
    let has = |r: &str| roles.iter().any(|x| x.eq_ignore_ascii_case(r));
    match content {
        _ if has("esp") => "esp",
        _ if has("boot") => "boot",
        Some(c) if c.contains("encrypted") => "enc",
        Some("swap") => "swap",
        Some(c) if !c.is_empty() && c != "no recognised content" && c != "unreadable" => "fs",
        _ => "other",
    }
}

/// The disk-layout bar and partition table.
fn layout(s: &mut String, report: &Report) {
    let img = &report.image;
    let total = img.virtual_size;
    s.push_str("<h2>Disk layout</h2>\n");
    if total == 0 {
        s.push_str("<p class=\"reason\">Virtual size unknown.</p>\n");
        return;
    }
    let mut parts: Vec<_> = img
        .partitions
        .iter()
        .filter(|p| !p.kind.eq_ignore_ascii_case("extended") && p.size > 0)
        .collect();
    parts.sort_by_key(|p| (p.start, p.number));
    s.push_str("<div class=\"disk\" role=\"img\" aria-label=\"partition layout\">");
    let mut cursor = 0u64;
    for p in &parts {
        let start = p.start.max(cursor).min(total);
        if start > cursor {
            let gap = start.saturating_sub(cursor);
            let _ = write!(
                s,
                "<div class=\"seg free\" style=\"width:{}\" title=\"unallocated, {}\"></div>",
                pct(gap, total),
                human_bytes(gap)
            );
        }
        let end = p.start.saturating_add(p.size).min(total);
        let width = end.saturating_sub(start);
        let content = p.content.as_deref();
        let _ = write!(
            s,
            "<div class=\"seg {}\" style=\"width:{}\" title=\"partition {}: {}, {}\">{}</div>",
            seg_class(content, &p.roles),
            pct(width, total),
            p.number,
            esc(content.unwrap_or("not probed")),
            human_bytes(p.size),
            p.number
        );
        cursor = cursor.max(end);
    }
    if cursor < total {
        let gap = total.saturating_sub(cursor);
        let _ = write!(
            s,
            "<div class=\"seg free\" style=\"width:{}\" title=\"unallocated, {}\"></div>",
            pct(gap, total),
            human_bytes(gap)
        );
    }
    s.push_str("</div>\n");
    if img.partitions.is_empty() {
        let _ = writeln!(
            s,
            "<p class=\"reason\">Partition table: {}.</p>",
            img.partition_table
                .as_deref()
                .map_or_else(|| "not read".to_string(), esc)
        );
        return;
    }
    s.push_str("<table><tr><th>#</th><th>Start (bytes)</th><th>Size</th><th>Type</th><th>Name</th><th>Content</th><th>Label</th><th>Roles</th></tr>\n");
    for p in &img.partitions {
        let _ = writeln!(
            s,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.number,
            if p.bootable { " *" } else { "" },
            p.start,
            human_bytes(p.size),
            esc(p.type_name.as_deref().unwrap_or(&p.type_id)),
            esc(p.name.as_deref().unwrap_or("")),
            esc(p.content.as_deref().unwrap_or("")),
            esc(p.label.as_deref().unwrap_or("")),
            esc(&p.roles.join(", "))
        );
    }
    s.push_str("</table>\n");
}

/// One section of checks.
fn section(s: &mut String, class: &str, heading: &str, entries: &[Entry]) {
    let _ = writeln!(s, "<h2>{heading} ({})</h2>", entries.len());
    for e in entries {
        let _ = write!(
            s,
            "<div class=\"check {class}\"><h3><code>{}</code> {}",
            esc(&e.id),
            esc(&e.title)
        );
        if let Some(item) = &e.alibaba_item {
            let _ = write!(s, "<span class=\"item\">{}</span>", esc(item));
        }
        s.push_str("</h3>\n");
        if let Some(d) = &e.detail {
            let _ = writeln!(s, "<p class=\"detail\">{}</p>", esc(d));
        }
        if let Some(r) = &e.reason {
            let _ = writeln!(s, "<p class=\"reason\">{}</p>", esc(r));
        }
        for f in &e.findings {
            let (c, label) = match f.severity {
                Severity::StronglyRecommended => ("sr", "STRONGLY RECOMMENDED"),
                Severity::Recommended => ("ro", "RECOMMENDED"),
            };
            let _ = writeln!(
                s,
                "<div class=\"finding\"><p><span class=\"sev {c}\">{label}</span>{}</p>",
                esc(&f.message)
            );
            if !f.evidence.is_empty() {
                s.push_str("<ul class=\"evidence\">");
                for ev in &f.evidence {
                    let _ = write!(s, "<li>{}</li>", esc(ev));
                }
                s.push_str("</ul>\n");
            }
            let _ = writeln!(
                s,
                "<p class=\"remedy\"><b>Remedy:</b> {}</p></div>",
                esc(&f.remedy)
            );
        }
        s.push_str("</div>\n");
    }
}
