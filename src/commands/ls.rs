//! `imgcheck ls`: list a directory of the guest (or of one volume) without mounting.

use super::tree::Tree;
use crate::output::escape_text;
use crate::output::outln;
use crate::ImageArgs;
use imgcheck_fs::{FileId, FileType, Metadata};
use serde_json::{json, Value};

/// Options of `ls`.
pub struct LsOptions<'a> {
    /// Directory (or file) to list.
    pub path: &'a str,
    /// `--volume`.
    pub volume: Option<&'a str>,
    /// `-l`.
    pub long: bool,
    /// `-R`.
    pub recursive: bool,
    /// `--json`.
    pub json: bool,
}

/// Directories visited by one `-R` listing at most (hostile images can be deep and wide).
const MAX_RECURSIVE_DIRS: usize = 100_000;

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::File => "file",
        FileType::Dir => "dir",
        FileType::Symlink => "symlink",
        FileType::Other => "other",
    }
}

fn mode_string(m: &Metadata) -> String {
    let t = match m.file_type {
        FileType::Dir => 'd',
        FileType::Symlink => 'l',
        FileType::File => '-',
        FileType::Other => '?',
    };
    let Some(mode) = m.mode else {
        return format!("{t}?????????");
    };
    let mut s = String::with_capacity(10);
    s.push(t);
    for (shift, special, set_char) in [(6u32, 0o4000u32, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (mode & special != 0, x) {
            (true, true) => set_char,
            (true, false) => set_char.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// A directory waiting to be listed by `-R`.
struct Pending {
    path: String,
    /// Directories above it on its path (the starting directory has depth 0).
    depth: usize,
    /// Its identity ([`Tree::identity`]), to recognise it among the directories it is inside.
    key: Option<(String, FileId)>,
}

/// Run the command.
pub fn run(args: &ImageArgs, o: &LsOptions<'_>) -> anyhow::Result<u8> {
    let tree = Tree::open(args, o.volume)?;
    let mut json_out: Vec<Value> = Vec::new();
    let mut errors = 0u32;
    let root_meta = tree.lstat(o.path)?;
    let mut queue = vec![Pending {
        path: o.path.to_string(),
        depth: 0,
        key: tree.identity(o.path, &root_meta),
    }];
    let mut visited = 0usize;
    if root_meta.file_type != FileType::Dir {
        // Listing a single file.
        emit(&tree, o, o.path, o.path, &root_meta, &mut json_out);
        queue.clear();
    }
    // The directories being listed, outermost first: the path of the one listed now. A corrupt
    // volume can make a directory its own descendant (a FAT entry pointing back at its parent's
    // cluster): the tree is then infinite, and such a directory is reported, not listed, as
    // `ls -R` does with a loop of a mounted system's directories.
    let mut active: Vec<(Option<(String, FileId)>, String)> = Vec::new();
    while let Some(Pending {
        path: dir,
        depth,
        key,
    }) = queue.pop()
    {
        active.truncate(depth);
        if let Some(k) = &key {
            if let Some((_, outer)) = active.iter().find(|(a, _)| a.as_ref() == Some(k)) {
                eprintln!(
                    "imgcheck: ls: {}: not listing the directory: it is {} again (a directory \
                     cycle in the filesystem)",
                    escape_text(&dir),
                    escape_text(outer)
                );
                errors = errors.saturating_add(1);
                continue;
            }
        }
        visited = visited.saturating_add(1);
        if visited > MAX_RECURSIVE_DIRS {
            eprintln!("imgcheck: ls: stopped after {MAX_RECURSIVE_DIRS} directories");
            errors = errors.saturating_add(1);
            break;
        }
        let entries = match tree.read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                eprintln!(
                    "imgcheck: ls: {}: {}",
                    escape_text(&dir),
                    escape_text(&crate::output::error_chain(&e))
                );
                errors = errors.saturating_add(1);
                continue;
            }
        };
        active.push((key, dir.clone()));
        if o.recursive && !o.json {
            outln!("{}:", escape_text(&dir));
        }
        let mut subdirs = Vec::new();
        for e in entries {
            let p = join(&dir, &e.name);
            let meta = match tree.lstat(&p) {
                Ok(m) => m,
                Err(err) => {
                    eprintln!(
                        "imgcheck: ls: {}: {}",
                        escape_text(&p),
                        escape_text(&crate::output::error_chain(&err))
                    );
                    errors = errors.saturating_add(1);
                    continue;
                }
            };
            emit(&tree, o, &p, &e.name, &meta, &mut json_out);
            if o.recursive && meta.file_type == FileType::Dir {
                let key = tree.identity(&p, &meta);
                subdirs.push(Pending {
                    path: p,
                    depth: depth.saturating_add(1),
                    key,
                });
            }
        }
        if o.recursive && !o.json {
            outln!();
        }
        // Depth-first, in name order.
        queue.extend(subdirs.into_iter().rev());
    }
    if o.json {
        outln!("{}", serde_json::to_string_pretty(&json_out)?);
    }
    Ok(if errors > 0 { crate::EXIT_ERROR } else { 0 })
}

fn emit(
    tree: &Tree,
    o: &LsOptions<'_>,
    path: &str,
    name: &str,
    m: &Metadata,
    json_out: &mut Vec<Value>,
) {
    let target = if m.file_type == FileType::Symlink {
        tree.read_link(path).ok()
    } else {
        None
    };
    if o.json {
        json_out.push(json!({
            "path": path,
            "name": name,
            "type": type_name(m.file_type),
            "size": m.size,
            "mode": m.mode,
            "uid": m.uid,
            "gid": m.gid,
            "mtime": m.mtime,
            "inode": m.inode,
            "target": target,
            "flags": m.flags,
        }));
        return;
    }
    let shown = escape_text(name);
    let arrow = target
        .map(|t| format!(" -> {}", escape_text(&t)))
        .unwrap_or_default();
    if o.long {
        let owner = match (m.uid, m.gid) {
            (Some(u), Some(g)) => format!("{u:>5} {g:>5}"),
            _ => format!("{:>5} {:>5}", "-", "-"),
        };
        let mtime = m.mtime.map(format_time).unwrap_or_else(|| "-".repeat(19));
        outln!(
            "{} {owner} {:>10} {mtime} {shown}{arrow}",
            mode_string(m),
            m.size
        );
    } else {
        outln!("{shown}{arrow}");
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) from seconds since the epoch (civil-from-days, H. Hinnant).
// No step can overflow for any i64 input: |days| < 1.1e14, so every product stays below 1e17.
#[allow(clippy::arithmetic_side_effects)]
fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00");
    }
}
