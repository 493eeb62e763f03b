//! A small YAML subset for netplan and cloud-init configuration: block mappings and sequences
//! by indentation, `- key: value` items, flow sequences `[a, b]` and flat flow mappings
//! `{a: b}`, single/double-quoted scalars, `#` comments, `---` document markers (only the first
//! document). Anchors, multi-line scalars and tags are not interpreted (multi-line `|`/`>`
//! blocks are skipped). Own code: `serde_yaml` is deprecated and the maintained forks are heavy
//! for reading a handful of keys; unknown constructs degrade to scalars, never to errors.
//! Spec: YAML 1.2 §6–8 (block/flow styles), as far as the subset goes.

/// Nesting depth accepted (deeper structures are cut).
const MAX_DEPTH: usize = 64;

/// A YAML node with the line (1-based) where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Yaml {
    /// Mapping: key, value, line of the key.
    Map(Vec<(String, Yaml, u32)>),
    /// Sequence.
    List(Vec<Yaml>),
    /// Scalar text (unquoted) and its line.
    Scalar(String, u32),
    /// Empty value.
    Null,
}

impl Yaml {
    /// Value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        self.entry(key).map(|(v, _)| v)
    }

    /// Value and line of `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Yaml, u32)> {
        match self {
            Yaml::Map(m) => m.iter().find(|(k, _, _)| k == key).map(|(_, v, l)| (v, *l)),
            _ => None,
        }
    }

    /// Scalar text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// YAML 1.1 booleans as netplan/cloud-init accept them.
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_str()?.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "y" => Some(true),
            "false" | "no" | "off" | "n" => Some(false),
            _ => None,
        }
    }

    /// Items of a sequence (a scalar counts as one item).
    pub fn items(&self) -> Vec<&Yaml> {
        match self {
            Yaml::List(v) => v.iter().collect(),
            Yaml::Null => Vec::new(),
            other => vec![other],
        }
    }

    /// Entries of a mapping.
    pub fn entries(&self) -> &[(String, Yaml, u32)] {
        match self {
            Yaml::Map(m) => m,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone)]
struct Line {
    indent: usize,
    text: String,
    no: u32,
}

fn strip_comment(l: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for (i, c) in l.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && prev_space => return l.get(..i).unwrap_or(l),
            None => {}
        }
        prev_space = c.is_whitespace();
    }
    l
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 {
        if let Some(i) = s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
            return i.replace("\\\"", "\"");
        }
        if let Some(i) = s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
            return i.replace("''", "'");
        }
    }
    s.to_string()
}

/// Split `key: value` (the colon must be followed by a space or end the text).
fn split_key(t: &str) -> Option<(String, &str)> {
    let mut quote: Option<char> = None;
    for (i, c) in t.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == '\'' || c == '"') && i == 0 => quote = Some(c),
            None if c == ':' => {
                let rest = t.get(i.saturating_add(1)..).unwrap_or("");
                if rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t') {
                    return Some((unquote(t.get(..i).unwrap_or("")), rest.trim()));
                }
            }
            None => {}
        }
    }
    None
}

fn flow(v: &str, no: u32) -> Yaml {
    let v = v.trim();
    if v.is_empty() || v == "~" || v == "null" {
        return Yaml::Null;
    }
    if let Some(inner) = v.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        return Yaml::List(
            inner
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| Yaml::Scalar(unquote(x), no))
                .collect(),
        );
    }
    if let Some(inner) = v.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
        return Yaml::Map(
            inner
                .split(',')
                .filter_map(|kv| split_key(kv.trim()))
                .map(|(k, v)| (k, flow(v, no), no))
                .collect(),
        );
    }
    Yaml::Scalar(unquote(v), no)
}

/// Parse the first document of `text`.
pub fn parse(text: &str) -> Yaml {
    let mut lines = Vec::new();
    let mut skip_block: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let no = u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX);
        let body = strip_comment(raw);
        let t = body.trim_end();
        if t.trim().is_empty() {
            continue;
        }
        let indent = t.len().saturating_sub(t.trim_start().len());
        if let Some(bi) = skip_block {
            if indent > bi {
                continue;
            }
            skip_block = None;
        }
        let tt = t.trim_start();
        if tt == "---" {
            if lines.is_empty() {
                continue;
            }
            break;
        }
        if tt == "..." {
            break;
        }
        if tt.ends_with(" |") || tt.ends_with(" >") || tt.ends_with(": |-") || tt.ends_with(": >-")
        {
            // The block belongs to the key, which sits after any `- ` item markers.
            let mut key_at = indent;
            let mut rest = tt;
            while let Some(r) = rest.strip_prefix("- ") {
                key_at = key_at.saturating_add(rest.len().saturating_sub(r.trim_start().len()));
                rest = r.trim_start();
            }
            skip_block = Some(key_at);
        }
        lines.push(Line {
            indent,
            text: tt.to_string(),
            no,
        });
    }
    let mut i = 0usize;
    let first = lines.first().map(|l| l.indent).unwrap_or(0);
    block(&mut lines, &mut i, first, 0)
}

fn block(lines: &mut Vec<Line>, i: &mut usize, indent: usize, depth: usize) -> Yaml {
    let Some(first) = lines.get(*i).cloned() else {
        return Yaml::Null;
    };
    if depth > MAX_DEPTH {
        while lines.get(*i).is_some_and(|l| l.indent >= indent) {
            *i = i.saturating_add(1);
        }
        return Yaml::Null;
    }
    if first.text == "-" || first.text.starts_with("- ") {
        let mut items = Vec::new();
        while let Some(l) = lines.get(*i).cloned() {
            if l.indent != indent || !(l.text == "-" || l.text.starts_with("- ")) {
                break;
            }
            let rest = l.text.get(1..).unwrap_or("").trim_start().to_string();
            if rest.is_empty() {
                *i = i.saturating_add(1);
                match lines.get(*i) {
                    Some(n) if n.indent > indent => {
                        let ni = n.indent;
                        items.push(block(lines, i, ni, depth.saturating_add(1)));
                    }
                    _ => items.push(Yaml::Null),
                }
            } else if split_key(&rest).is_some() || rest.starts_with("- ") {
                // `- key: v` starts a mapping (or nested list) indented at the content.
                let off = l.text.len().saturating_sub(rest.len());
                let ni = indent.saturating_add(off);
                if let Some(m) = lines.get_mut(*i) {
                    m.indent = ni;
                    m.text = rest;
                }
                items.push(block(lines, i, ni, depth.saturating_add(1)));
            } else {
                items.push(flow(&rest, l.no));
                *i = i.saturating_add(1);
            }
        }
        return Yaml::List(items);
    }
    let mut map = Vec::new();
    while let Some(l) = lines.get(*i).cloned() {
        if l.indent != indent {
            break;
        }
        let Some((k, v)) = split_key(&l.text) else {
            // A bare scalar where a mapping was expected: a one-line document.
            *i = i.saturating_add(1);
            if map.is_empty() {
                return flow(&l.text, l.no);
            }
            continue;
        };
        *i = i.saturating_add(1);
        let value = if v.is_empty() || v == "|" || v == ">" || v == "|-" || v == ">-" {
            match lines.get(*i) {
                Some(n) if n.indent > indent => {
                    let ni = n.indent;
                    block(lines, i, ni, depth.saturating_add(1))
                }
                Some(n) if n.indent == indent && (n.text == "-" || n.text.starts_with("- ")) => {
                    block(lines, i, indent, depth.saturating_add(1))
                }
                _ => Yaml::Null,
            }
        } else {
            flow(v, l.no)
        };
        map.push((k, value, l.no));
    }
    Yaml::Map(map)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn netplan_and_cloud_cfg() {
        let y = parse(
            "# c\nnetwork:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n      match:\n        macaddress: \"52:54:00:12:34:56\"\n      set-name: eth0\n    ens4:\n      addresses: [10.0.0.5/24, '10.0.0.6/24']\n      routes:\n      - to: default\n        via: 10.0.0.1\n",
        );
        let eth = y.get("network").unwrap().get("ethernets").unwrap();
        assert_eq!(eth.entries().len(), 2);
        let e0 = eth.get("eth0").unwrap();
        assert_eq!(e0.get("dhcp4").unwrap().as_bool(), Some(true));
        assert_eq!(
            e0.get("match").unwrap().get("macaddress").unwrap().as_str(),
            Some("52:54:00:12:34:56")
        );
        let (_, line) = eth.entry("ens4").unwrap();
        assert_eq!(line, 10);
        let a = eth.get("ens4").unwrap().get("addresses").unwrap().items();
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].as_str(), Some("10.0.0.6/24"));
        let r = eth.get("ens4").unwrap().get("routes").unwrap().items();
        assert_eq!(r[0].get("via").unwrap().as_str(), Some("10.0.0.1"));

        let c = parse("datasource_list: [ NoCloud, AliYun ]\ncloud_init_modules:\n - migrator\n - [growpart, always]\n - resizefs\nwrite_files:\n  - content: |\n      x: y\n    path: /a\ngrowpart: {mode: 'off'}\n");
        let ds: Vec<_> = c
            .get("datasource_list")
            .unwrap()
            .items()
            .iter()
            .filter_map(|d| d.as_str())
            .collect();
        assert_eq!(ds, vec!["NoCloud", "AliYun"]);
        let m = c.get("cloud_init_modules").unwrap().items();
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].items()[0].as_str(), Some("growpart"));
        assert_eq!(
            c.get("growpart").unwrap().get("mode").unwrap().as_bool(),
            Some(false)
        );
        assert_eq!(
            c.get("write_files").unwrap().items()[0]
                .get("path")
                .unwrap()
                .as_str(),
            Some("/a")
        );
        assert_eq!(parse(""), Yaml::Null);
        // Hostile: deep nesting and junk never panic.
        let deep: String = (0..200).map(|d| format!("{}k:\n", " ".repeat(d))).collect();
        let _ = parse(&deep);
        let _ = parse("- - - x\n  : :\n\t- [\n{");
    }
}
