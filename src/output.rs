//! Small output helpers shared by the commands.

/// `println!` for command output that ends the process quietly (status 0) when stdout is a
/// closed pipe, as in `imgcheck checks | head`, instead of panicking like `println!` does.
macro_rules! outln {
    () => {
        $crate::output::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Write one line of command output to stdout; see [`outln`].
pub fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("imgcheck: cannot write the output: {e}");
        std::process::exit(2);
    }
}

/// Render an `anyhow` error with its whole chain: `outer: inner: innermost`.
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        // Some layers already include their cause; avoid printing the same text twice.
        if parts.last().is_some_and(|p| p.ends_with(&s)) {
            continue;
        }
        parts.push(s);
    }
    parts.join(": ")
}

/// Human-readable byte size: `16 MiB (16777216 bytes)`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut unit = 0usize;
    let mut whole = n;
    let mut rem = 0u64;
    while whole >= 1024 && unit < UNITS.len().saturating_sub(1) {
        rem = whole % 1024;
        whole /= 1024;
        unit = unit.saturating_add(1);
    }
    let name = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 {
        format!("{n} B")
    } else if rem == 0 {
        format!("{whole} {name}")
    } else {
        // One decimal, computed in integers.
        let tenth = rem.saturating_mul(10) / 1024;
        format!("{whole}.{tenth} {name}")
    }
}

/// Escape control characters so that names from an image cannot drive the terminal.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(16 << 20), "16 MiB");
        assert_eq!(human_size(1536), "1.5 KiB");
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_text("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
    }
}
