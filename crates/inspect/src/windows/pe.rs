//! Architecture from a PE image header (Microsoft "PE Format" specification: the DOS header's
//! `e_lfanew` at 0x3C points at the `PE\0\0` signature, followed by the COFF header whose first
//! field is `Machine`). Our own code: three fields, no dependency needed.

use imgcheck_core::bytes::{u16_le, u32_le};

/// DOS header magic.
const MZ: &[u8; 2] = b"MZ";
/// Offset of `e_lfanew` in the DOS header.
const E_LFANEW: usize = 0x3C;
/// PE signature.
const PE_SIG: &[u8; 4] = b"PE\0\0";
/// Bytes of a file's head read to find the PE header: `e_lfanew` is small in real images
/// (0x80–0x118 for Microsoft's linker); 64 KiB leaves room for long DOS stubs.
pub const PE_HEAD_BYTES: u64 = 64 * 1024;

/// COFF `Machine` values (PE Format, "Machine Types").
const IMAGE_FILE_MACHINE_I386: u16 = 0x014C;
const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
const IMAGE_FILE_MACHINE_ARM64: u16 = 0xAA64;
const IMAGE_FILE_MACHINE_ARMNT: u16 = 0x01C4;
const IMAGE_FILE_MACHINE_IA64: u16 = 0x0200;

/// Why a head is not a PE image we can name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeError {
    /// No `MZ` at offset 0.
    #[error("pe: no MZ signature at offset 0")]
    NotMz,
    /// `e_lfanew` points outside the bytes read.
    #[error("pe: e_lfanew {e_lfanew:#x} lies outside the {len} bytes read")]
    Truncated {
        /// The pointer.
        e_lfanew: u32,
        /// Bytes available.
        len: usize,
    },
    /// No `PE\0\0` where `e_lfanew` points.
    #[error("pe: no PE signature at offset {offset:#x}")]
    NoPeSignature {
        /// Where it was expected.
        offset: u32,
    },
    /// A machine type we do not name.
    #[error("pe: unknown machine type {machine:#06x}")]
    UnknownMachine {
        /// The COFF `Machine` field.
        machine: u16,
    },
}

/// Architecture name (`amd64`, `x86`, `arm64`, `arm`, `ia64`) of a PE image's first bytes.
pub fn arch(head: &[u8]) -> Result<&'static str, PeError> {
    if head.get(..2) != Some(&MZ[..]) {
        return Err(PeError::NotMz);
    }
    let e_lfanew = u32_le(head, E_LFANEW).ok_or(PeError::Truncated {
        e_lfanew: 0,
        len: head.len(),
    })?;
    let truncated = PeError::Truncated {
        e_lfanew,
        len: head.len(),
    };
    let off = usize::try_from(e_lfanew).map_err(|_| truncated.clone())?;
    let sig_end = off.checked_add(PE_SIG.len()).ok_or(truncated.clone())?;
    let sig = head.get(off..sig_end).ok_or(truncated.clone())?;
    if sig != PE_SIG {
        return Err(PeError::NoPeSignature { offset: e_lfanew });
    }
    let machine = u16_le(head, sig_end).ok_or(truncated)?;
    match machine {
        IMAGE_FILE_MACHINE_AMD64 => Ok("amd64"),
        IMAGE_FILE_MACHINE_I386 => Ok("x86"),
        IMAGE_FILE_MACHINE_ARM64 => Ok("arm64"),
        IMAGE_FILE_MACHINE_ARMNT => Ok("arm"),
        IMAGE_FILE_MACHINE_IA64 => Ok("ia64"),
        _ => Err(PeError::UnknownMachine { machine }),
    }
}

/// Normalise `PROCESSOR_ARCHITECTURE` (`AMD64`, `x86`, `ARM64`, `IA64`) to [`arch`]'s names.
pub fn normalise_processor_architecture(v: &str) -> Option<&'static str> {
    match v.trim().to_ascii_uppercase().as_str() {
        "AMD64" => Some("amd64"),
        "X86" => Some("x86"),
        "ARM64" => Some("arm64"),
        "ARM" => Some("arm"),
        "IA64" => Some("ia64"),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn image(lfanew: u32, machine: u16) -> Vec<u8> {
        let mut h = vec![0u8; 0x200];
        h[..2].copy_from_slice(b"MZ");
        h[0x3C..0x40].copy_from_slice(&lfanew.to_le_bytes());
        let o = usize::try_from(lfanew).unwrap_or(0);
        if o + 6 <= h.len() {
            h[o..o + 4].copy_from_slice(b"PE\0\0");
            h[o + 4..o + 6].copy_from_slice(&machine.to_le_bytes());
        }
        h
    }

    #[test]
    fn machines() {
        assert_eq!(arch(&image(0x80, 0x8664)), Ok("amd64"));
        assert_eq!(arch(&image(0xE8, 0x014C)), Ok("x86"));
        assert_eq!(arch(&image(0x100, 0xAA64)), Ok("arm64"));
        assert_eq!(
            arch(&image(0x80, 0x1234)),
            Err(PeError::UnknownMachine { machine: 0x1234 })
        );
    }

    #[test]
    fn malformed() {
        assert_eq!(arch(b"\x7fELF"), Err(PeError::NotMz));
        assert_eq!(
            arch(b"MZ"),
            Err(PeError::Truncated {
                e_lfanew: 0,
                len: 2
            })
        );
        let far = image(0xFFFF_FFF0, 0x8664);
        assert_eq!(
            arch(&far).map_err(|e| e.to_string()),
            Err("pe: e_lfanew 0xfffffff0 lies outside the 512 bytes read".to_string())
        );
        let mut nosig = image(0x80, 0x8664);
        nosig[0x80] = b'X';
        assert_eq!(arch(&nosig), Err(PeError::NoPeSignature { offset: 0x80 }));
        // Signature right at the end: the machine field is missing.
        let mut edge = image(0x1FC, 0x8664);
        edge[0x1FC..0x200].copy_from_slice(b"PE\0\0");
        assert!(matches!(arch(&edge), Err(PeError::Truncated { .. })));
    }

    #[test]
    fn processor_architecture() {
        assert_eq!(normalise_processor_architecture("AMD64"), Some("amd64"));
        assert_eq!(normalise_processor_architecture(" x86 "), Some("x86"));
        assert_eq!(normalise_processor_architecture("MIPS"), None);
    }
}
