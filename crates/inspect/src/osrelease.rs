//! `os-release(5)` parsing: `KEY=value` lines, values optionally in single or double quotes with
//! backslash escapes inside double quotes.

use std::collections::BTreeMap;

/// Parse os-release text into key → value.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        out.insert(k.to_string(), unquote(v.trim()));
    }
    out
}

fn unquote(v: &str) -> String {
    if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        inner.to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let m = parse(
            "NAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nID=debian\n# c\nbad line\nX=\"a\\\"b\"\n",
        );
        assert_eq!(m.get("NAME").unwrap(), "Debian GNU/Linux");
        assert_eq!(m.get("VERSION_ID").unwrap(), "12");
        assert_eq!(m.get("ID").unwrap(), "debian");
        assert_eq!(m.get("X").unwrap(), "a\"b");
        assert_eq!(m.len(), 4);
    }
}
