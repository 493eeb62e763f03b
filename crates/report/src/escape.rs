//! Escaping of image-derived text for terminals and HTML. Every string in a report may come
//! from the image (partition names, labels, paths in messages), so renderers pass all of it
//! through these functions: no control sequence reaches a terminal, no markup reaches a page.
//! Our own code (tiny, and the exact rules matter).

use std::fmt::Write;

/// Characters that reorder or hide text (bidirectional overrides and isolates, zero-width
/// characters, BOM): escaped like control characters so text cannot disguise itself.
fn is_deceptive(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Text safe for a terminal: `\n`, `\r`, `\t` as those escapes, other control characters (C0,
/// DEL, C1) as `\xNN`, deceptive format characters as `\u{NNNN}`. Everything else unchanged.
pub fn terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && u32::from(c) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() || is_deceptive(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Text safe inside HTML elements and quoted attributes; control and deceptive characters are
/// made visible as in [`terminal`] first.
pub fn html(s: &str) -> String {
    let t = terminal(s);
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_controls_and_bidi() {
        assert_eq!(terminal("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(
            terminal("l1\nl2\r\t\x07\x7f\u{9b}"),
            "l1\\nl2\\r\\t\\x07\\x7f\\x9b"
        );
        assert_eq!(terminal("abc\u{202e}cba"), "abc\\u{202e}cba");
        assert_eq!(terminal("\\EFI\\BOOT ü"), "\\EFI\\BOOT ü");
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(html("\x1b]0;t\x07"), "\\x1b]0;t\\x07");
    }
}
