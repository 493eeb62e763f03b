//! `imgcheck scan`: check every image in a directory, in parallel, and summarise.

use super::check::{profile, report_for};
use crate::output::escape_text;
use crate::output::outln;
use crate::stats::StatsRun;
use crate::ImageArgs;
use anyhow::Context;
use imgcheck_report::exit_status;
use rayon::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Files examined in one scan at most.
const MAX_FILES: usize = 100_000;

fn collect(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if out.len() >= MAX_FILES {
            break;
        }
        // symlink_metadata: a scan never follows links out of the directory.
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() && recursive {
            collect(&p, recursive, out)?;
        } else if meta.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// Options of `scan`.
pub struct ScanOptions<'a> {
    /// Descend into subdirectories.
    pub recursive: bool,
    /// Target profile name.
    pub target: &'a str,
    /// Images checked in parallel.
    pub jobs: usize,
    /// JSON output.
    pub json: bool,
    /// Print totals to stderr.
    pub stats: bool,
}

/// Run the command; exit status is the worst of all images (2 if any could not be analysed).
pub fn run(dir: &Path, o: &ScanOptions<'_>) -> anyhow::Result<u8> {
    let (recursive, jobs, as_json) = (o.recursive, o.jobs, o.json);
    let run = StatsRun::start();
    let profile = profile(o.target)?;
    let mut files = Vec::new();
    collect(dir, recursive, &mut files)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .context("cannot start worker threads")?;
    let results: Vec<_> = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let args = ImageArgs {
                    image: f.clone(),
                    follow_backing: false,
                    backing_dir: None,
                };
                (f.clone(), report_for(&args, &profile))
            })
            .collect()
    });
    let scanned = run.elapsed();
    let mut worst = 0u8;
    let mut rows = Vec::new();
    for (f, r) in &results {
        match r {
            Ok((rep, _, _)) => {
                let code = exit_status(rep);
                worst = worst.max(code);
                let s = &rep.summary;
                if as_json {
                    rows.push(
                        json!({"path": f.display().to_string(), "exit_status": code, "summary": s}),
                    );
                } else {
                    outln!(
                        "{:<50} strongly recommended {:>3}  recommended {:>3}  no risk {:>3}  not evaluated {:>3}",
                        escape_text(&f.display().to_string()),
                        s.strongly_recommended,
                        s.recommended,
                        s.no_risk,
                        s.not_evaluated
                    );
                }
            }
            Err(e) => {
                worst = crate::EXIT_ERROR;
                let msg = crate::output::error_chain(e);
                if as_json {
                    rows.push(json!({"path": f.display().to_string(), "exit_status": crate::EXIT_ERROR, "error": msg}));
                } else {
                    outln!(
                        "{:<50} error: {}",
                        escape_text(&f.display().to_string()),
                        escape_text(&msg)
                    );
                }
            }
        }
    }
    if as_json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"images": rows}))?
        );
    }
    if o.stats {
        let host: u64 = files
            .iter()
            .filter_map(|f| super::check::host_bytes(f))
            .fold(0u64, u64::saturating_add);
        let per_s = u128::from(u64::try_from(files.len()).unwrap_or(u64::MAX))
            .saturating_mul(10_000_000)
            .checked_div(scanned.as_micros())
            .unwrap_or(0);
        eprint!(
            "{}",
            run.render(&[("scan", scanned)], Some(host).filter(|&h| h > 0))
        );
        eprintln!(
            "  images          {} in {} job(s): {}.{} images/s",
            files.len(),
            jobs.max(1),
            per_s / 10,
            per_s % 10
        );
    }
    Ok(worst)
}
