//! `--stats`: what a command cost — time per stage, reads per layer (calls and bytes), page-cache
//! hits and the peak resident set — printed to stderr after the command's own output.
//!
//! Figures come from the process-wide counters of [`imgcheck_core::stats`]; for `scan` they are
//! totals over every image scanned.

use crate::engine::Timings;
use crate::output::human_size;
use imgcheck_core::stats::{peak_rss_bytes, IoCount, IoSnapshot};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Counters and clock at the start of a command.
pub struct StatsRun {
    started: Instant,
    io: IoSnapshot,
}

impl StatsRun {
    /// Start measuring now.
    pub fn start() -> StatsRun {
        StatsRun {
            started: Instant::now(),
            io: IoSnapshot::now(),
        }
    }

    /// Wall time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The stats block: `stages` are (name, wall time) pairs; `image_bytes` is the space the
    /// image(s) take on the host, to put the bytes read in proportion.
    pub fn render(&self, stages: &[(&str, Duration)], image_bytes: Option<u64>) -> String {
        let io = IoSnapshot::now().since(self.io);
        let mut s = String::from("imgcheck: stats\n");
        let mut times: Vec<String> = stages
            .iter()
            .map(|(n, d)| format!("{n} {}", ms(*d)))
            .collect();
        times.push(format!("total {}", ms(self.started.elapsed())));
        let _ = writeln!(s, "  time            {}", times.join(" · "));
        let _ = writeln!(s, "  layer              read calls  bytes read");
        let share = |c: IoCount| match image_bytes {
            Some(total) if total > 0 => {
                // Per mille, in integers: bytes × 1000 / total, shown as a percentage.
                let pm = u128::from(c.bytes)
                    .saturating_mul(1000)
                    .checked_div(u128::from(total))
                    .unwrap_or(0);
                format!(
                    " ({}.{}% of the image's {} on the host)",
                    pm / 10,
                    pm % 10,
                    human_size(total)
                )
            }
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  image files     {:>12}  {}{}",
            io.image_files.calls,
            human_size(io.image_files.bytes),
            share(io.image_files)
        );
        let _ = writeln!(
            s,
            "  virtual disk    {:>12}  {}",
            io.virtual_disk.calls,
            human_size(io.virtual_disk.bytes)
        );
        let _ = writeln!(
            s,
            "  filesystems     {:>12}  {}",
            io.filesystems.calls,
            human_size(io.filesystems.bytes)
        );
        let pages = io.fs_cache.hits.saturating_add(io.fs_cache.misses);
        let rate = u128::from(io.fs_cache.hits)
            .saturating_mul(1000)
            .checked_div(u128::from(pages))
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "  fs page cache   {} hits, {} misses ({}.{}% hits; {} KiB pages)",
            io.fs_cache.hits,
            io.fs_cache.misses,
            rate / 10,
            rate % 10,
            imgcheck_core::CACHE_PAGE_SIZE / 1024
        );
        let _ = writeln!(
            s,
            "  peak RSS        {}",
            peak_rss_bytes().map_or_else(|| "not reported by this host".to_string(), human_size)
        );
        s
    }
}

/// The engine's stages, plus any after it (checks, rendering).
pub fn stages(t: &Timings, after: &[(&'static str, Duration)]) -> Vec<(&'static str, Duration)> {
    let mut v = vec![
        ("container", t.container),
        ("volumes", t.volumes),
        ("filesystems", t.filesystems),
        ("inspect", t.inspect),
    ];
    v.extend_from_slice(after);
    v
}

/// Milliseconds with one decimal.
fn ms(d: Duration) -> String {
    let us = d.as_micros();
    format!("{}.{} ms", us / 1000, (us % 1000) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_names_every_layer() {
        let run = StatsRun::start();
        let src = imgcheck_core::stats::Counted::new(
            imgcheck_core::MemSource::new(vec![0u8; 4096]),
            &imgcheck_core::stats::VIRTUAL_DISK,
        );
        let mut b = [0u8; 512];
        imgcheck_core::BlockSource::read_exact_at(&src, &mut b, 0).ok();
        let out = run.render(&[("checks", Duration::from_micros(1500))], Some(1 << 20));
        for want in [
            "checks 1.5 ms",
            "total ",
            "image files",
            "virtual disk",
            "filesystems",
            "fs page cache",
            "peak RSS",
            "of the image's 1 MiB on the host",
        ] {
            assert!(out.contains(want), "{want:?} missing from\n{out}");
        }
        // At least the one read above (other tests may read in parallel).
        let line = out
            .lines()
            .find(|l| l.contains("virtual disk"))
            .unwrap_or("");
        assert!(!line.contains(" 0  0 B"), "{line}");
    }
}
