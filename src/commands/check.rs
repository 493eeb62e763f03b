//! `imgcheck check`: the image check — Strongly recommended fixes, Recommended optimizations,
//! No risks found, Not evaluated — as text, JSON or HTML, with the exit status for CI.

use crate::engine;
use crate::ImageArgs;
use anyhow::{bail, Context};
use imgcheck_checks::{run_checks, TargetProfile};
use imgcheck_report::{exit_status, to_html, to_json, to_text, Report};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Console text (colour on a terminal unless NO_COLOR is set).
    Text,
    /// JSON (schema in docs/report-schema.md).
    Json,
    /// One self-contained HTML page.
    Html,
}

/// Options of `check`.
pub struct CheckOptions<'a> {
    /// Output format.
    pub format: ReportFormat,
    /// Target profile name.
    pub target: &'a str,
    /// Write the report here instead of stdout.
    pub output: Option<&'a Path>,
    /// Print stage timings to stderr.
    pub stats: bool,
}

/// Build the report of one image (shared with `scan`).
pub fn report_for(
    args: &ImageArgs,
    profile: &TargetProfile,
) -> anyhow::Result<(Report, engine::Timings)> {
    let a = engine::analyse(args)?;
    let results = run_checks(&a.facts, profile);
    let report = Report::build(
        &results,
        &a.facts,
        &args.image.display().to_string(),
        &profile.name,
    );
    Ok((report, a.timings))
}

/// The profile named on the command line.
pub fn profile(name: &str) -> anyhow::Result<TargetProfile> {
    match TargetProfile::by_name(name) {
        Some(p) => Ok(p),
        None => bail!("unknown target {name:?}: expected alibaba, aws, azure, gcp or kvm"),
    }
}

/// Run the command.
pub fn run(args: &ImageArgs, o: &CheckOptions<'_>) -> anyhow::Result<u8> {
    let profile = profile(o.target)?;
    let started = std::time::Instant::now();
    let (report, timings) = report_for(args, &profile)?;
    let to_terminal = o.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    let rendered = match o.format {
        ReportFormat::Text => to_text(&report, color),
        ReportFormat::Json => to_json(&report),
        ReportFormat::Html => to_html(&report),
    };
    match o.output {
        Some(p) => std::fs::write(p, rendered.as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(rendered.as_bytes())?;
            if !rendered.ends_with('\n') {
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
    if o.stats {
        eprintln!(
            "imgcheck: stats: container {:?}, volumes {:?}, filesystems {:?}, inspect {:?}, total {:?}",
            timings.container,
            timings.volumes,
            timings.filesystems,
            timings.inspect,
            started.elapsed()
        );
    }
    Ok(exit_status(&report))
}
