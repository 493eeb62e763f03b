//! Benchmark helper: open a filesystem image (or a filesystem at a byte offset of a disk image),
//! list every directory and read every regular file through [`imgcheck_fs::GuestFs`], then print
//! what was read and how long it took.
//!
//! usage: cargo run --release -p imgcheck-fs --example read-all -- IMAGE [OFFSET]
//!
//! Prints one line: `fs=<type> dirs=<n> files=<n> symlinks=<n> bytes=<n> seconds=<s>` (and the
//! first error per kind on stderr). Used by scripts/bench-fs.sh next to The Sleuth Kit.

use imgcheck_core::{BlockSource, FileSource, Limits, SliceSource};
use imgcheck_fs::FileType;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: read-all IMAGE [OFFSET]");
        std::process::exit(2);
    };
    let offset: u64 = args.next().and_then(|o| o.parse().ok()).unwrap_or(0);
    let file: Arc<dyn BlockSource> = match FileSource::open(path.as_ref()) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            eprintln!("read-all: {path}: {e}");
            std::process::exit(2);
        }
    };
    let src: Arc<dyn BlockSource> = if offset == 0 {
        file
    } else {
        let len = file.len().saturating_sub(offset);
        match SliceSource::new(file, offset, len) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                eprintln!("read-all: offset {offset}: {e}");
                std::process::exit(2);
            }
        }
    };
    let limits = Limits::default();
    let started = Instant::now();
    let fs = match imgcheck_fs::open(src, &limits) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("read-all: {e}");
            std::process::exit(1);
        }
    };
    let (mut dirs, mut files, mut links, mut bytes, mut errors) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut stack = vec!["/".to_string()];
    while let Some(dir) = stack.pop() {
        dirs = dirs.saturating_add(1);
        let entries = match fs.read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                errors = errors.saturating_add(1);
                eprintln!("read-all: {dir}: {e}");
                continue;
            }
        };
        for e in entries {
            let p = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            match e.file_type {
                FileType::Dir => stack.push(p),
                FileType::File => match fs.read(&p, u64::MAX) {
                    Ok(d) => {
                        files = files.saturating_add(1);
                        bytes = bytes.saturating_add(u64::try_from(d.len()).unwrap_or(0));
                    }
                    Err(e) => {
                        errors = errors.saturating_add(1);
                        eprintln!("read-all: {p}: {e}");
                    }
                },
                FileType::Symlink => {
                    if fs.read_link(&p).is_ok() {
                        links = links.saturating_add(1);
                    }
                }
                FileType::Other => {}
            }
        }
    }
    println!(
        "fs={} dirs={dirs} files={files} symlinks={links} bytes={bytes} errors={errors} seconds={:.3}",
        fs.volume_info().fs_type.name(),
        started.elapsed().as_secs_f64()
    );
}
