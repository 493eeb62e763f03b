//! The one bounds-checked way the workspace reads on-disk integers.
//!
//! Every function takes a byte slice and an offset and returns `None` when the field does not
//! lie inside the slice; callers turn `None` into their own error naming the structure and
//! offset. No indexing, no panics.

macro_rules! int_reader {
    ($name:ident, $ty:ty, $from:ident, $n:expr) => {
        #[doc = concat!("Read a `", stringify!($ty), "` (", stringify!($from), ") at `off`.")]
        #[inline]
        pub fn $name(b: &[u8], off: usize) -> Option<$ty> {
            let end = off.checked_add($n)?;
            let s: [u8; $n] = b.get(off..end)?.try_into().ok()?;
            Some(<$ty>::$from(s))
        }
    };
}

int_reader!(u16_le, u16, from_le_bytes, 2);
int_reader!(u32_le, u32, from_le_bytes, 4);
int_reader!(u64_le, u64, from_le_bytes, 8);
int_reader!(u16_be, u16, from_be_bytes, 2);
int_reader!(u32_be, u32, from_be_bytes, 4);
int_reader!(u64_be, u64, from_be_bytes, 8);

/// Read one byte at `off`.
#[inline]
pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// Borrow `len` bytes at `off`.
#[inline]
pub fn slice(b: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    b.get(off..off.checked_add(len)?)
}

/// Copy a fixed-size array at `off`.
#[inline]
pub fn array<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    slice(b, off, N)?.try_into().ok()
}

/// A GUID stored in Microsoft's mixed-endian layout (GPT, VHDX), formatted the usual way:
/// `C12A7328-F81F-11D2-BA4B-00A0C93EC93B`.
pub fn guid_mixed_endian(raw: &[u8; 16]) -> String {
    let d1 = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let d2 = u16::from_le_bytes([raw[4], raw[5]]);
    let d3 = u16::from_le_bytes([raw[6], raw[7]]);
    format!(
        "{d1:08X}-{d2:04X}-{d3:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]
    )
}

/// A GUID/UUID stored big-endian (RFC 4122 byte order: VHD, ext4, XFS), formatted in lowercase.
pub fn uuid_be(raw: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Decode a NUL-padded ASCII/Latin-1 field, trimming trailing NULs and spaces.
pub fn ascii_field(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b.get(..end)
        .unwrap_or_default()
        .iter()
        .map(|&c| char::from(c))
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Decode UTF-16LE up to the first NUL (GPT names, VHDX/VHD locators). Invalid units become U+FFFD.
pub fn utf16le_until_nul(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| {
            u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ints_and_bounds() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_le(&b, 0), Some(0x0201));
        assert_eq!(u32_be(&b, 1), Some(0x0203_0405));
        assert_eq!(u64_le(&b, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(u64_le(&b, 2), None);
        assert_eq!(u32_le(&b, usize::MAX), None);
        assert_eq!(slice(&b, 8, 1), Some(&[9u8][..]));
        assert_eq!(slice(&b, 8, 2), None);
    }

    #[test]
    fn guids() {
        // EFI System Partition type GUID as stored on disk.
        let raw = [
            0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E,
            0xC9, 0x3B,
        ];
        assert_eq!(
            guid_mixed_endian(&raw),
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
        );
        assert_eq!(uuid_be(&[0xab; 16]), "abababab-abab-abab-abab-abababababab");
    }

    #[test]
    fn strings() {
        assert_eq!(ascii_field(b"conectix\0\0"), "conectix");
        let n: Vec<u8> = "EFI"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .chain([0, 0, 65, 0])
            .collect();
        assert_eq!(utf16le_until_nul(&n), "EFI");
    }
}
