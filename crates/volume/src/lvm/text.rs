//! A parser for LVM2's configuration syntax, the language of VG metadata text.
//!
//! Specification: LVM2's metadata format as documented in `lvm.conf(5)` ("SYNTAX": sections
//! `name { … }`, assignments `name = value`, values are integers, floats, strings in double
//! (with `\"` and `\\` escapes) or single quotes, and arrays `[ v, v ]` of those; `#` starts a
//! comment to the end of the line) and the on-disk text LVM writes (`lib/format_text/export.c`:
//! the text of one copy ends with a NUL byte, included in its size).
//!
//! Our own code: no Rust crate parses LVM's config language. The parser is total: any byte
//! string gives a tree or a [`ParseError`] with line and column; nesting is bounded by
//! [`MAX_DEPTH`] and every loop consumes input, so the text size (bounded by the caller with
//! `Limits::max_descriptor_bytes`) bounds work and memory.

/// Deepest section nesting accepted. VG metadata nests four deep (VG, `logical_volumes`, LV,
/// segment); LVM's own configuration files a few more. Deeper text is rejected rather than
/// recursed into.
pub(crate) const MAX_DEPTH: usize = 16;

/// A value on the right of `=`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// An integer (LVM stores 64-bit signed integers).
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// A string, escapes resolved; invalid UTF-8 replaced.
    Str(String),
    /// `[ … ]`: scalars only.
    Array(Vec<Value>),
}

/// One `name = value` or `name { … }`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Value(Value),
    Section(Section),
}

/// A section body: its items in text order (duplicates kept; lookups take the first).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Section {
    pub items: Vec<(String, Item)>,
}

impl Section {
    /// The first item called `key`.
    pub fn get(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The first value called `key`.
    pub fn value(&self, key: &str) -> Option<&Value> {
        match self.get(key)? {
            Item::Value(v) => Some(v),
            Item::Section(_) => None,
        }
    }

    /// The first sub-section called `key`.
    pub fn section(&self, key: &str) -> Option<&Section> {
        match self.get(key)? {
            Item::Section(s) => Some(s),
            Item::Value(_) => None,
        }
    }

    /// Sub-sections in text order.
    pub fn sections(&self) -> impl Iterator<Item = (&str, &Section)> {
        self.items.iter().filter_map(|(k, v)| match v {
            Item::Section(s) => Some((k.as_str(), s)),
            Item::Value(_) => None,
        })
    }

    /// `key` as an integer.
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.value(key)? {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// `key` as a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.value(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// `key` as an array of strings (non-strings skipped).
    pub fn str_array(&self, key: &str) -> Vec<String> {
        match self.value(key) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| match v {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Why the text is not valid config syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// Byte position in the text.
    pub pos: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (bytes).
    pub column: usize,
    /// What was expected vs found.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Parse a whole text. The text ends at its first NUL byte (LVM terminates each copy with one).
pub(crate) fn parse(text: &[u8]) -> Result<Section, ParseError> {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let mut p = Parser {
        s: text.get(..end).unwrap_or_default(),
        pos: 0,
    };
    p.items(0, false)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

/// Bytes that end a bare word (identifier or number).
fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'{' | b'}' | b'[' | b']' | b'=' | b',' | b'"' | b'\'' | b'#'
        )
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        let before = self.s.get(..self.pos).unwrap_or(self.s);
        let line = before
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            .saturating_add(1);
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p.saturating_add(1));
        ParseError {
            pos: self.pos,
            line,
            column: self.pos.saturating_sub(line_start).saturating_add(1),
            message: message.into(),
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "end of text".to_string(),
            Some(b) if b.is_ascii_graphic() => format!("'{}'", char::from(b)),
            Some(b) => format!("byte 0x{b:02x}"),
        }
    }

    /// Skip whitespace and `#` comments.
    fn skip(&mut self) {
        while let Some(b) = self.peek() {
            if b.is_ascii_whitespace() {
                self.bump();
            } else if b == b'#' {
                while let Some(c) = self.peek() {
                    if c == b'\n' {
                        break;
                    }
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    fn word(&mut self) -> &[u8] {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_delimiter(b) {
                break;
            }
            self.bump();
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }

    /// Items up to the end of text (`closing == false`) or up to and including `}`.
    fn items(&mut self, depth: usize, closing: bool) -> Result<Section, ParseError> {
        let mut section = Section::default();
        loop {
            self.skip();
            match self.peek() {
                None if closing => return Err(self.error("unexpected end of text, expected '}'")),
                None => return Ok(section),
                Some(b'}') if closing => {
                    self.bump();
                    return Ok(section);
                }
                Some(b'}') => return Err(self.error("unexpected '}' outside any section")),
                _ => {}
            }
            let key = if self.peek() == Some(b'"') {
                self.string(b'"')?
            } else {
                let w = self.word();
                if w.is_empty() {
                    return Err(self.error(format!("expected a name, found {}", self.found())));
                }
                String::from_utf8_lossy(w).into_owned()
            };
            self.skip();
            match self.peek() {
                Some(b'=') => {
                    self.bump();
                    self.skip();
                    let v = self.value(true)?;
                    section.items.push((key, Item::Value(v)));
                }
                Some(b'{') => {
                    if depth >= MAX_DEPTH {
                        return Err(
                            self.error(format!("sections nested deeper than {MAX_DEPTH} levels"))
                        );
                    }
                    self.bump();
                    let s = self.items(depth.saturating_add(1), true)?;
                    section.items.push((key, Item::Section(s)));
                }
                _ => {
                    return Err(self.error(format!(
                        "expected '=' or '{{' after '{key}', found {}",
                        self.found()
                    )))
                }
            }
        }
    }

    fn value(&mut self, array_allowed: bool) -> Result<Value, ParseError> {
        match self.peek() {
            Some(b'[') if array_allowed => {
                self.bump();
                let mut out = Vec::new();
                loop {
                    self.skip();
                    if self.peek() == Some(b']') {
                        self.bump();
                        return Ok(Value::Array(out));
                    }
                    out.push(self.value(false)?);
                    self.skip();
                    match self.peek() {
                        Some(b',') => self.bump(),
                        Some(b']') => {}
                        _ => {
                            return Err(self.error(format!(
                                "expected ',' or ']' in array, found {}",
                                self.found()
                            )))
                        }
                    }
                }
            }
            Some(b'[') => Err(self.error("nested arrays are not allowed")),
            Some(q @ (b'"' | b'\'')) => Ok(Value::Str(self.string(q)?)),
            Some(b) if b.is_ascii_digit() || b == b'-' || b == b'+' || b == b'.' => {
                let start = self.pos;
                let w = self.word();
                let t = String::from_utf8_lossy(w).into_owned();
                if let Ok(i) = t.parse::<i64>() {
                    return Ok(Value::Int(i));
                }
                if t.contains('.') {
                    if let Ok(f) = t.parse::<f64>() {
                        if f.is_finite() {
                            return Ok(Value::Float(f));
                        }
                    }
                }
                self.pos = start;
                Err(self.error(format!("'{t}' is not a number (or does not fit 64 bits)")))
            }
            _ => Err(self.error(format!("expected a value, found {}", self.found()))),
        }
    }

    /// A quoted string starting at the opening quote `q`. Double-quoted strings resolve `\x`
    /// to `x`; single-quoted strings have no escapes.
    fn string(&mut self, q: u8) -> Result<String, ParseError> {
        let open = self.pos;
        self.bump();
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    self.pos = open;
                    return Err(self.error("string is not terminated"));
                }
                Some(b) if b == q => {
                    self.bump();
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') if q == b'"' => {
                    self.bump();
                    match self.peek() {
                        Some(c) => {
                            out.push(c);
                            self.bump();
                        }
                        None => {
                            self.pos = open;
                            return Err(self.error("string is not terminated"));
                        }
                    }
                }
                Some(b) => {
                    out.push(b);
                    self.bump();
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::as_conversions)]
mod tests {
    use super::*;

    #[test]
    fn lvm_style_text() {
        let t = b"vg0 {\nid = \"abc\"\t# comment\nseqno = 7\nstatus = [\"READ\", \"WRITE\"]\nflags = []\n\
                  sub {\nx = -3\ny = 1.5\n}\n}\n# Generated by LVM2\ncontents = \"Text Format Volume Group\"\nversion = 1\n\0garbage after NUL {{{";
        let root = parse(t).unwrap();
        assert_eq!(root.int("version"), Some(1));
        assert_eq!(root.str("contents"), Some("Text Format Volume Group"));
        let vg = root.section("vg0").unwrap();
        assert_eq!(vg.str("id"), Some("abc"));
        assert_eq!(vg.int("seqno"), Some(7));
        assert_eq!(vg.str_array("status"), vec!["READ", "WRITE"]);
        assert_eq!(vg.value("flags"), Some(&Value::Array(vec![])));
        let sub = vg.section("sub").unwrap();
        assert_eq!(sub.int("x"), Some(-3));
        assert_eq!(sub.value("y"), Some(&Value::Float(1.5)));
        assert_eq!(root.sections().count(), 1);
    }

    #[test]
    fn escapes_and_quotes() {
        let root =
            parse(br#"a = "say \"hi\" \\ # not a comment" b = 'it\s' c = "x\y" "quoted key" = 1"#)
                .unwrap();
        assert_eq!(root.str("a"), Some(r#"say "hi" \ # not a comment"#));
        assert_eq!(root.str("b"), Some(r"it\s"));
        assert_eq!(root.str("c"), Some("xy"));
        assert_eq!(root.int("quoted key"), Some(1));
    }

    #[test]
    fn duplicates_first_wins_and_empty_text() {
        let root = parse(b"a = 1\na = 2\n").unwrap();
        assert_eq!(root.int("a"), Some(1));
        assert_eq!(parse(b"").unwrap().items.len(), 0);
        assert_eq!(parse(b"  # only a comment").unwrap().items.len(), 0);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse(b"vg {\n  seqno = \n}").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        assert_eq!(
            e.to_string(),
            "line 3 column 1: expected a value, found '}'"
        );
        let e = parse(b"vg {\nid = \"abc").unwrap_err();
        assert_eq!(e.to_string(), "line 2 column 6: string is not terminated");
        let e = parse(b"vg { a = 1").unwrap_err();
        assert!(e.message.contains("expected '}'"), "{e}");
        let e = parse(b"}").unwrap_err();
        assert!(e.message.contains("outside any section"));
        let e = parse(b"a = 99999999999999999999").unwrap_err();
        assert!(e.message.contains("not a number"), "{e}");
        let e = parse(b"a = [1, [2]]").unwrap_err();
        assert!(e.message.contains("nested arrays"));
        let e = parse(b"a = [1 2]").unwrap_err();
        assert!(e.message.contains("expected ',' or ']'"));
        let e = parse(b"a b").unwrap_err();
        assert_eq!(e.message, "expected '=' or '{' after 'a', found 'b'");
        let e = parse(b"= 1").unwrap_err();
        assert_eq!(e.message, "expected a name, found '='");
        let e = parse(b"a = nan").unwrap_err();
        assert!(e.message.contains("expected a value"));
    }

    #[test]
    fn nesting_is_bounded() {
        let mut t = Vec::new();
        for _ in 0..MAX_DEPTH {
            t.extend_from_slice(b"s {");
        }
        t.extend_from_slice(b"a = 1");
        t.extend(std::iter::repeat_n(b'}', MAX_DEPTH));
        assert!(parse(&t).is_ok());
        let deep: Vec<u8> = b"s {".repeat(100_000);
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nested deeper"), "{e}");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A deterministic pseudo-random walk over syntax-heavy bytes.
        let alphabet = b"{}[]=,\"'#\\\n 0123-.abc\xff\0";
        let mut x: u32 = 0x1234_5678;
        for len in 0..400usize {
            let mut t = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                t.push(alphabet[(x as usize) % alphabet.len()]);
            }
            let _ = parse(&t);
        }
    }
}
