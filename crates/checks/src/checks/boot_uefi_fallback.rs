//! `boot.uefi-fallback`: when the disk is laid out for UEFI boot, the ESP is FAT and holds the
//! removable-media fallback loader (`\EFI\BOOT\BOOTX64.EFI` / `BOOTAA64.EFI`).
//!
//! Rule from checks.md §1 `uefi_fallback_loader` (UEFI spec §3.5.1.1 removable-media boot
//! behaviour; virt-v2v `fix_win_uefi_fallback` copies bootmgfw.efi to BOOTX64.EFI; Linaro
//! vmspec). A new instance has no NVRAM boot entries, so firmware only finds the fallback path.
//! Our own code.

use crate::facts::{Facts, VolumeContent};
use crate::layout::{boot_layout, content_name, fs_of, is_fat, volume_name};
use crate::profile::{BootMode, TargetProfile};
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Severity, Verdict};

static META: CheckMeta = CheckMeta {
    id: "boot.uefi-fallback",
    alibaba_item: None,
    title: "UEFI fallback boot loader present",
    applies_to: Applicability::Any,
    inputs: &[
        "table.partitions[].type_id (ESP)",
        "volumes[].fs.fs_type",
        "volumes[].fs.efi_loaders",
        "guest.arch",
    ],
    remedy: "Copy the system's EFI loader to the fallback path in the ESP (Linux: `grub-install \
--removable` or copy shimx64.efi to \\EFI\\BOOT\\BOOTX64.EFI; Windows: copy \
\\EFI\\Microsoft\\Boot\\bootmgfw.efi to \\EFI\\BOOT\\BOOTX64.EFI).",
    references: &[
        "UEFI specification §3.5.1.1 (removable media boot behaviour, \\EFI\\BOOT\\BOOT{arch}.EFI)",
        "virt-v2v convert_windows.ml fix_win_uefi_fallback",
        "Linaro vmspec-tools (ESP, BOOTAA64.EFI)",
    ],
    description: "A new instance's UEFI firmware has no boot entries in NVRAM, so it boots only the \
fallback loader \\EFI\\BOOT\\BOOT<arch>.EFI on a FAT EFI System Partition. A non-FAT ESP, an ESP with \
only a vendor loader (\\EFI\\<vendor>\\grubx64.efi, bootmgfw.efi) or with no loader is a strongly \
recommended fix (recommended when the disk can also boot via BIOS on this target).",
};

/// The check.
pub struct UefiFallback;

/// Normalise a loader path for comparison: backslashes, uppercase, leading `\`.
fn norm(path: &str) -> String {
    let p = path.replace('/', "\\").to_ascii_uppercase();
    if p.starts_with('\\') {
        p
    } else {
        format!("\\{p}")
    }
}

/// The fallback loader file names for an architecture; all of them when unknown.
fn fallback_names(arch: Option<&str>) -> &'static [&'static str] {
    match arch.map(str::to_ascii_lowercase).as_deref() {
        Some("x86_64" | "amd64" | "x64") => &["BOOTX64.EFI"],
        Some("aarch64" | "arm64") => &["BOOTAA64.EFI"],
        Some("i386" | "i486" | "i586" | "i686" | "x86") => &["BOOTIA32.EFI"],
        Some("riscv64") => &["BOOTRISCV64.EFI"],
        _ => &[
            "BOOTX64.EFI",
            "BOOTAA64.EFI",
            "BOOTIA32.EFI",
            "BOOTRISCV64.EFI",
        ],
    }
}

impl Check for UefiFallback {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let layout = boot_layout(facts);
        if !layout.offers(BootMode::Uefi) {
            return Verdict::not_applicable(format!(
                "the disk has no EFI System Partition (boot mode: {})",
                layout.describe()
            ));
        }
        let severity = if layout.offers(BootMode::Bios) && profile.boots(BootMode::Bios) {
            Severity::Recommended
        } else {
            Severity::StronglyRecommended
        };
        let arch = facts.guest.as_ref().and_then(|g| g.arch.as_deref());
        let wanted = fallback_names(arch);
        let wanted_paths: Vec<String> =
            wanted.iter().map(|n| format!("\\EFI\\BOOT\\{n}")).collect();
        let mut out = Vec::new();
        let mut unread = Vec::new();
        let mut esps = 0usize;
        for v in facts
            .volumes
            .iter()
            .filter(|v| layout.esp_volumes.contains(&v.id))
        {
            esps = esps.saturating_add(1);
            let name = volume_name(v);
            let fs = match (&v.content, fs_of(v)) {
                (VolumeContent::Unreadable, _) => {
                    unread.push(name);
                    continue;
                }
                (_, Some(fs)) if is_fat(&fs.fs_type) => fs,
                (c, fs) => {
                    let what = fs.map_or_else(|| content_name(c), |f| f.fs_type.clone());
                    out.push(Finding::new(
                        severity,
                        format!(
                            "the EFI System Partition ({name}) does not hold a FAT filesystem \
                             ({what}): UEFI firmware reads only FAT"
                        ),
                        "Format the ESP as FAT32 (`mkfs.fat -F 32`) and reinstall the EFI boot \
                         loader with the fallback path.",
                    ));
                    continue;
                }
            };
            let found: Vec<String> = fs.efi_loaders.iter().map(|l| norm(l)).collect();
            if let Some(hit) = found.iter().find(|f| wanted_paths.contains(f)) {
                return Verdict::pass_with(format!("fallback loader {hit} on {name}"));
            }
            let mut f = if found.is_empty() {
                Finding::new(
                    severity,
                    format!("the EFI System Partition ({name}) holds no EFI boot loader"),
                    "Install the boot loader into the ESP (`grub-install --target=x86_64-efi \
                     --removable`, Windows: `bcdboot C:\\Windows /s S: /f UEFI`).",
                )
            } else {
                Finding::new(
                    severity,
                    format!(
                        "the EFI System Partition ({name}) has {} but no fallback loader {}: \
                         the instance boots only if firmware has an NVRAM entry for it, which a \
                         new instance does not",
                        fs.efi_loaders.join(", "),
                        wanted_paths.join(" or ")
                    ),
                    format!(
                        "Copy the loader to the fallback path: e.g. {} → {} (Linux: \
                         `grub-install --removable`, or copy shimx64.efi).",
                        fs.efi_loaders.first().map_or("", String::as_str),
                        wanted_paths.first().map_or("", String::as_str)
                    ),
                )
            };
            f = f.with_evidence(format!(
                "EFI loaders found: {}",
                if fs.efi_loaders.is_empty() {
                    "none".to_string()
                } else {
                    fs.efi_loaders.join(", ")
                }
            ));
            if let Some(a) = arch {
                f = f.with_evidence(format!("guest architecture: {a}"));
            }
            out.push(f);
        }
        if esps == 0 {
            return Verdict::not_evaluated(format!(
                "EFI System Partition {:?} was not probed",
                layout.esp_partitions
            ));
        }
        if out.is_empty() {
            return Verdict::not_evaluated(format!(
                "the EFI System Partition could not be read ({})",
                unread.join(", ")
            ));
        }
        Verdict::Findings(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ESP_GUID;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn uefi_only() -> Facts {
        let mut facts = good_linux();
        facts.table = table(
            "gpt",
            vec![
                part(2, 2 << 20, 126 << 20, ESP_GUID),
                part(
                    3,
                    128 << 20,
                    1 << 30,
                    "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                ),
            ],
        );
        facts.volumes.remove(0);
        facts
    }

    fn set_loaders(facts: &mut Facts, loaders: &[&str]) {
        if let VolumeContent::Filesystem(fs) = &mut facts.volumes[0].content {
            fs.efi_loaders = loaders.iter().map(|s| (*s).to_string()).collect();
        }
    }

    #[test]
    fn fallback_loader_passes_case_insensitively() {
        let mut facts = uefi_only();
        set_loaders(&mut facts, &["/efi/boot/bootx64.efi"]);
        let d = assert_pass(&UefiFallback.run(&facts, &TargetProfile::default()));
        assert_eq!(
            d.as_deref(),
            Some("fallback loader \\EFI\\BOOT\\BOOTX64.EFI on partition 2")
        );
    }

    #[test]
    fn vendor_loader_only_is_strongly_recommended_on_uefi_only_disks() {
        let mut facts = uefi_only();
        set_loaders(&mut facts, &["\\EFI\\debian\\shimx64.efi"]);
        let f = findings(
            &UefiFallback.run(&facts, &TargetProfile::default()),
            &[StronglyRecommended],
        );
        assert!(
            f[0].message.contains(
                "has \\EFI\\debian\\shimx64.efi but no fallback loader \\EFI\\BOOT\\BOOTX64.EFI"
            ),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].evidence,
            vec![
                "EFI loaders found: \\EFI\\debian\\shimx64.efi",
                "guest architecture: x86_64"
            ]
        );
        // Same on a disk that can also boot via BIOS: only recommended.
        let mut facts = good_linux();
        if let VolumeContent::Filesystem(fs) = &mut facts.volumes[1].content {
            fs.efi_loaders = vec!["\\EFI\\debian\\grubx64.efi".into()];
        }
        findings(
            &UefiFallback.run(&facts, &TargetProfile::default()),
            &[Recommended],
        );
    }

    #[test]
    fn arm64_wants_bootaa64() {
        let mut facts = uefi_only();
        facts.guest = guest("linux", 1);
        if let Some(g) = facts.guest.as_mut() {
            g.arch = Some("aarch64".into());
        }
        set_loaders(&mut facts, &["\\EFI\\BOOT\\BOOTX64.EFI"]);
        findings(
            &UefiFallback.run(&facts, &TargetProfile::default()),
            &[StronglyRecommended],
        );
        set_loaders(&mut facts, &["\\EFI\\BOOT\\BOOTAA64.EFI"]);
        assert_pass(&UefiFallback.run(&facts, &TargetProfile::default()));
    }

    #[test]
    fn empty_or_non_fat_esp_is_strongly_recommended() {
        let mut facts = uefi_only();
        set_loaders(&mut facts, &[]);
        let f = findings(
            &UefiFallback.run(&facts, &TargetProfile::default()),
            &[StronglyRecommended],
        );
        assert!(f[0].message.ends_with("holds no EFI boot loader"));
        facts.volumes[0].content = VolumeContent::Filesystem(fs("ext4"));
        let f = findings(
            &UefiFallback.run(&facts, &TargetProfile::default()),
            &[StronglyRecommended],
        );
        assert!(f[0]
            .message
            .contains("does not hold a FAT filesystem (ext4)"));
    }

    #[test]
    fn bios_only_is_not_applicable_and_unreadable_esp_not_evaluated() {
        let mut facts = good_linux();
        facts.table = table("mbr", vec![part(1, 1 << 20, 1 << 30, "0x83")]);
        facts.volumes = vec![fs_vol(1, fs("ext4"))];
        assert_not_applicable(&UefiFallback.run(&facts, &TargetProfile::default()));
        let mut facts = uefi_only();
        facts.volumes[0].content = VolumeContent::Unreadable;
        assert_not_evaluated(&UefiFallback.run(&facts, &TargetProfile::default()));
    }
}
