//! Key and value names: Latin-1 ("compressed", flagged ASCII by the format) or UTF-16LE on disk
//! (specification: `nk` flag `KEY_COMP_NAME`, `vk` flag 0x0001), and case-insensitive comparison
//! by simple Unicode case folding (`char::to_lowercase`), which covers ASCII and the Latin,
//! Greek and Cyrillic names Windows upper-cases for its own lookups.

/// Decode a name. Compressed names are one byte per character (Latin-1); UTF-16 names with
/// unpaired surrogates decode to U+FFFD; an odd trailing byte is ignored.
pub(crate) fn decode(bytes: &[u8], compressed: bool) -> String {
    chars(bytes, compressed).collect()
}

fn chars(bytes: &[u8], compressed: bool) -> impl Iterator<Item = char> + '_ {
    let latin1 = bytes.iter().map(|&b| char::from(b));
    let utf16 = char::decode_utf16(bytes.chunks_exact(2).map(|c| {
        u16::from_le_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ])
    }))
    .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER));
    let (a, b) = if compressed {
        (Some(latin1), None)
    } else {
        (None, Some(utf16))
    };
    a.into_iter().flatten().chain(b.into_iter().flatten())
}

/// Whether the on-disk name equals `query`, ignoring case, without allocating.
pub(crate) fn eq_ignore_case(bytes: &[u8], compressed: bool, query: &str) -> bool {
    if compressed && query.is_ascii() && bytes.is_ascii() {
        return bytes.eq_ignore_ascii_case(query.as_bytes());
    }
    chars(bytes, compressed)
        .flat_map(char::to_lowercase)
        .eq(query.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn decodes_both_encodings() {
        assert_eq!(decode(b"Services", true), "Services");
        assert_eq!(decode(&[0x47, 0x72, 0xF6, 0xDF, 0x65], true), "Größe");
        assert_eq!(decode(&utf16("Ωmega Ключ"), false), "Ωmega Ключ");
        // Unpaired surrogate and odd trailing byte.
        assert_eq!(decode(&[0x00, 0xD8, 0x41, 0x00, 0x42], false), "\u{FFFD}A");
    }

    #[test]
    fn compares_ignoring_case() {
        assert!(eq_ignore_case(b"ControlSet001", true, "controlset001"));
        assert!(!eq_ignore_case(b"ControlSet001", true, "controlset002"));
        assert!(!eq_ignore_case(b"Control", true, "ControlSet"));
        assert!(eq_ignore_case(&[0xDC, b'n'], true, "ün"));
        assert!(eq_ignore_case(&utf16("ΩMEGA КЛЮЧ"), false, "ωmega ключ"));
        assert!(eq_ignore_case(&utf16("viostor"), false, "VIOSTOR"));
        assert!(eq_ignore_case(b"", true, ""));
        assert!(!eq_ignore_case(b"", true, "x"));
    }
}
