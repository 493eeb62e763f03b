//! Windows INI text (`\Windows\Setup\State\State.ini`): `[Section]` headers and `key=value`
//! lines, `;` comments, names compared case-insensitively, as `GetPrivateProfileString` reads
//! them. Files may be UTF-16LE with a BOM (Windows writes either). Our own code: a few lines.

/// Decode a small Windows text file: UTF-16LE when it starts with the `FF FE` BOM, else UTF-8
/// (lossy) without a UTF-8 BOM.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .filter_map(|c| c.try_into().ok().map(u16::from_le_bytes))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    String::from_utf8_lossy(b).into_owned()
}

/// The value of `key` in `[section]`, first occurrence, trimmed (and unquoted if quoted).
pub fn get(text: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim().eq_ignore_ascii_case(section);
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim().eq_ignore_ascii_case(key) {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .unwrap_or(v);
                return Some(v.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_ini() {
        let t = "; comment\r\n[Other]\r\nImageState=WRONG\r\n[ State ]\r\n imagestate = \"IMAGE_STATE_COMPLETE\" \r\n";
        assert_eq!(
            get(t, "state", "ImageState").as_deref(),
            Some("IMAGE_STATE_COMPLETE")
        );
        assert_eq!(get(t, "State", "Missing"), None);
        assert_eq!(get(t, "Nope", "ImageState"), None);
        assert_eq!(
            get("ImageState=X", "State", "ImageState"),
            None,
            "keys before any section"
        );
    }

    #[test]
    fn encodings() {
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(
            "[State]\r\nImageState=A\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        assert_eq!(
            get(&decode_text(&utf16), "State", "ImageState").as_deref(),
            Some("A")
        );
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend_from_slice(b"[State]\nImageState=B\n");
        assert_eq!(
            get(&decode_text(&bom8), "State", "ImageState").as_deref(),
            Some("B")
        );
        // An odd trailing byte in UTF-16 is dropped, not a panic.
        assert_eq!(decode_text(&[0xFF, 0xFE, b'A', 0, b'B']), "A");
    }
}
