//! Architecture from an ELF header (System V ABI: e_ident[EI_CLASS] at 4, e_machine at 18).

/// ELF magic.
const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
/// e_machine values (System V ABI registry).
const EM_386: u16 = 3;
const EM_ARM: u16 = 40;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;
const EM_PPC64: u16 = 21;
const EM_S390: u16 = 22;
const EM_LOONGARCH: u16 = 258;

/// The architecture name (as `uname -m` prints it) of an ELF file's first bytes.
pub fn arch(head: &[u8]) -> Option<&'static str> {
    if head.get(..4)? != ELF_MAGIC {
        return None;
    }
    let class = *head.get(4)?;
    let data = *head.get(5)?;
    let raw = imgcheck_core::bytes::array::<2>(head, 18)?;
    let machine = if data == 2 {
        u16::from_be_bytes(raw)
    } else {
        u16::from_le_bytes(raw)
    };
    Some(match (machine, class) {
        (EM_X86_64, _) => "x86_64",
        (EM_386, _) => "i386",
        (EM_AARCH64, _) => "aarch64",
        (EM_ARM, _) => "armv7l",
        (EM_RISCV, 2) => "riscv64",
        (EM_RISCV, _) => "riscv32",
        (EM_PPC64, _) if data == 1 => "ppc64le",
        (EM_PPC64, _) => "ppc64",
        (EM_S390, _) => "s390x",
        (EM_LOONGARCH, _) => "loongarch64",
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn machines() {
        let mut h = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        h.resize(20, 0);
        h[18] = 62;
        assert_eq!(arch(&h), Some("x86_64"));
        h[18] = 183;
        assert_eq!(arch(&h), Some("aarch64"));
        assert_eq!(arch(&h[..10]), None);
        assert_eq!(arch(b"MZ"), None);
    }
}
