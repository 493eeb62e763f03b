//! `imgcheck check`: the image check — Strongly recommended fixes, Recommended optimizations,
//! No risks found, Not evaluated — as text, JSON or HTML, with the exit status for CI.

use crate::engine;
use crate::stats::{self, StatsRun};
use crate::ImageArgs;
use anyhow::{bail, Context};
use imgcheck_checks::{run_checks, TargetProfile};
use imgcheck_report::{exit_status, to_html, to_json, to_text, Report};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Space `path` takes on the host (allocated blocks; sparse files count less), if known.
pub fn host_bytes(path: &Path) -> Option<u64> {
    imgcheck_core::FileSource::open(path)
        .ok()
        .and_then(|f| f.host_allocated_bytes())
}

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
    /// Print stage timings, reads per layer and peak memory to stderr.
    pub stats: bool,
}

/// Build the report of one image (shared with `scan`).
pub fn report_for(
    args: &ImageArgs,
    profile: &TargetProfile,
) -> anyhow::Result<(Report, engine::Timings, Duration)> {
    let a = engine::analyse_to(args, engine::Depth::Checks)?;
    let t = Instant::now();
    let results = run_checks(&a.facts, profile);
    let report = Report::build(
        &results,
        &a.facts,
        &args.image.display().to_string(),
        &profile.name,
    );
    Ok((report, a.timings, t.elapsed()))
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
    let run = StatsRun::start();
    let (report, timings, checks) = report_for(args, &profile)?;
    let rendering = Instant::now();
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
        let stages = stats::stages(
            &timings,
            &[("checks", checks), ("report", rendering.elapsed())],
        );
        eprint!("{}", run.render(&stages, host_bytes(&args.image)));
    }
    Ok(exit_status(&report))
}
