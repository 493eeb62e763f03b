//! Small output helpers shared by the commands.

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
