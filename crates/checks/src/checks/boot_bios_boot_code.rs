//! `boot.bios-boot-code`: when the disk is laid out for BIOS boot, the boot code is really there.
//!
//! Rule from checks.md §1 `bios_boot_code`: MBR bytes 0–439 non-zero; GRUB's boot.img (string
//! `GRUB` in sector 0, fatal in GCP's precheck when absent) needs core.img in the MBR gap or a BIOS
//! boot partition; a non-GRUB MBR program (Windows, syslinux) boots the active (0x80) partition,
//! whose root must hold `bootmgr` for Windows. Our own code.

use crate::facts::Facts;
use crate::layout::{boot_layout, disk_boot_facts, fs_of, is_fat, partitions, scheme};
use crate::profile::{BootMode, TargetProfile};
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "boot.bios-boot-code",
    alibaba_item: None,
    title: "BIOS boot code present",
    applies_to: Applicability::Any,
    inputs: &[
        "boot.readable",
        "boot.boot_code_nonzero",
        "boot.grub_signature",
        "boot.mbr_gap_has_code",
        "guest.linux.firmware (GRUB core.img in BIOS boot partitions)",
        "table.partitions[].bootable",
        "volumes[].fs.has_bootmgr",
    ],
    remedy:
        "Reinstall the boot loader into the MBR in the source machine (`grub-install /dev/sdX`; \
Windows: `bootrec /fixmbr` and `bootsect /nt60 SYS /mbr`) and export the image again.",
    references: &[
        "GCP compute-image-tools import_precheck check_disks_linux.go (GRUB in MBR)",
        "GNU GRUB manual: BIOS installation (MBR gap, BIOS boot partition)",
        "Alibaba image check: GUESTOS.BootMgr",
    ],
    description:
        "For a disk laid out for BIOS boot: sector 0 bytes 0..440 must hold boot code; GRUB's \
boot.img must have its core.img in the gap after sector 0 (MBR) or in a BIOS boot partition (GPT; \
when its content was examined, a BIOS boot partition without GRUB's core.img is a finding: strongly \
recommended when the disk offers no UEFI path, recommended otherwise); \
other MBR programs load the active partition's boot sector, so one partition must be active and, \
for Windows, hold bootmgr in its root.",
};

/// The check.
pub struct BiosBootCode;

impl Check for BiosBootCode {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let layout = boot_layout(facts);
        if !layout.bios_boot_without_core.is_empty() && layout.bios_boot_with_core.is_empty() {
            // A GPT disk whose BIOS boot partition is empty cannot BIOS-boot with GRUB.
            let list = join_numbers(&layout.bios_boot_without_core);
            let msg = format!(
                "BIOS boot partition {list} holds no GRUB core.img: BIOS firmware cannot boot \
                 this GPT disk with GRUB"
            );
            let remedy = "Reinstall GRUB for BIOS in the source machine (`grub-install \
                --target=i386-pc /dev/sdX`, which writes core.img into the BIOS boot partition) \
                and export again, or boot the image in UEFI mode.";
            let f = if layout.offers(BootMode::Uefi) {
                Finding::recommended(msg, remedy)
            } else {
                Finding::strongly(msg, remedy)
            };
            let mut f = f
                .with_evidence(format!(
                    "partition {list}: type BIOS boot, first sector is not GRUB's core.img"
                ))
                .with_evidence(format!("boot mode: {}", layout.describe()));
            // What GRUB's boot.img in sector 0 would load, when the disk shows one.
            if let Some(fw) = disk_boot_facts(facts) {
                f.evidence.extend(
                    fw.evidence
                        .iter()
                        .filter(|e| e.kind == "mbr-boot-code")
                        .map(|e| e.detail.clone()),
                );
            }
            return Verdict::Findings(vec![f]);
        }
        if !layout.offers(BootMode::Bios) {
            return Verdict::not_applicable(format!(
                "the disk is not laid out for BIOS boot (boot mode: {})",
                layout.describe()
            ));
        }
        if !facts.boot.readable {
            return Verdict::not_evaluated("sector 0 could not be read");
        }
        const REINSTALL_GRUB: &str = "Reinstall GRUB in the source machine: `grub-install \
            --target=i386-pc /dev/sdX` then `update-grub` / `grub2-mkconfig`, and export again.";
        if !facts.boot.boot_code_nonzero {
            return Verdict::Findings(vec![Finding::strongly(
                "sector 0 bytes 0..440 are all zero: the disk has no BIOS boot code, so BIOS \
                 firmware cannot start it",
                "Install a boot loader into the MBR in the source machine (Linux: `grub-install \
                 --target=i386-pc /dev/sdX`; Windows: `bootsect /nt60 SYS /mbr`).",
            )
            .with_evidence("sector 0 bytes 0..440: all zero")]);
        }
        let is_mbr = scheme(facts) == Some("mbr");
        let first_start = partitions(facts)
            .iter()
            .filter(|p| p.size > 0)
            .map(|p| p.start)
            .min();
        if facts.boot.grub_signature {
            if !layout.bios_boot_with_core.is_empty() {
                return Verdict::pass_with(format!(
                    "GRUB boot.img in sector 0; GRUB core.img in BIOS boot partition {}",
                    join_numbers(&layout.bios_boot_with_core)
                ));
            }
            if !layout.bios_boot_partitions.is_empty() {
                return Verdict::pass_with(format!(
                    "GRUB boot.img in sector 0; core.img expected in BIOS boot partition {} \
                     (its content is not verified)",
                    layout
                        .bios_boot_partitions
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !facts.boot.mbr_gap_has_code {
                let gap = match first_start {
                    Some(s) => format!("between sector 1 and the first partition at byte {s}"),
                    None => "after sector 0".to_string(),
                };
                return Verdict::Findings(vec![Finding::strongly(
                    format!(
                        "GRUB's boot.img is in sector 0, but the gap {gap} is empty: GRUB's \
                         core.img is missing and boot stops at \"GRUB\""
                    ),
                    REINSTALL_GRUB,
                )
                .with_evidence("sector 0 contains \"GRUB\"")
                .with_evidence("MBR gap: all zero")]);
            }
            return Verdict::pass_with("GRUB boot.img in sector 0 and core.img in the MBR gap");
        }
        // Not GRUB: a classic MBR program (Windows, syslinux mbr.bin) boots the active partition.
        if !is_mbr {
            return Verdict::pass_with("non-GRUB boot code in the protective MBR");
        }
        let active: Vec<_> = partitions(facts).iter().filter(|p| p.bootable).collect();
        let Some(act) = active.first() else {
            return Verdict::Findings(vec![Finding::strongly(
                "sector 0 holds non-GRUB boot code but no partition is marked active (0x80): a \
                 standard MBR boot program finds nothing to boot",
                "Mark the boot partition active (`fdisk`: `a`; Windows: `diskpart` → `active`) \
                 or install GRUB.",
            )
            .with_evidence("sector 0 boot code present, no \"GRUB\" string")
            .with_evidence("no partition with the active flag")]);
        };
        let vol = facts
            .volumes
            .iter()
            .find(|v| v.partition == Some(act.number));
        let windows = facts
            .guest
            .as_ref()
            .is_some_and(|g| g.os_type.eq_ignore_ascii_case("windows"));
        match vol.and_then(fs_of) {
            Some(fs) if fs.has_bootmgr => Verdict::pass_with(format!(
                "MBR boot code; active partition {} ({}) holds bootmgr",
                act.number, fs.fs_type
            )),
            Some(fs)
                if windows && (fs.fs_type.eq_ignore_ascii_case("ntfs") || is_fat(&fs.fs_type)) =>
            {
                Verdict::Findings(vec![Finding::strongly(
                    format!(
                        "active partition {} ({} at byte offset {}) has no bootmgr in its root: \
                         the Windows boot sector cannot load the boot manager",
                        act.number, fs.fs_type, act.start
                    ),
                    "Rebuild the boot files from Windows recovery: `bcdboot C:\\Windows /s S: /f \
                     BIOS` on the active partition S:, then `bootsect /nt60 S: /mbr`.",
                )
                .with_evidence(format!("partition {} active", act.number))
                .with_evidence("bootmgr: not found in the volume root")])
            }
            _ => Verdict::pass_with(format!("MBR boot code; active partition {}", act.number)),
        }
    }
}

fn join_numbers(n: &[u32]) -> String {
    n.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::VolumeContent;
    use crate::layout::ESP_GUID;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn run(f: &Facts) -> Verdict {
        BiosBootCode.run(f, &TargetProfile::default())
    }

    fn mbr_linux() -> Facts {
        let mut facts = good_linux();
        facts.table = table("mbr", vec![part(1, 1 << 20, 1 << 30, "0x83")]);
        facts.volumes = vec![fs_vol(1, fs_with_roles("ext4", &["root"]))];
        facts.boot.mbr_gap_has_code = true;
        facts
    }

    fn mbr_windows() -> Facts {
        let mut facts = mbr_linux();
        facts.boot.grub_signature = false;
        facts.boot.mbr_gap_has_code = false;
        let mut p = part(1, 1 << 20, 500 << 20, "0x07");
        p.bootable = true;
        facts.table = table("mbr", vec![p, part(2, 501 << 20, 1 << 30, "0x07")]);
        let mut sys = fs("ntfs");
        sys.has_bootmgr = true;
        facts.volumes = vec![fs_vol(1, sys), fs_vol(2, fs_with_roles("ntfs", &["root"]))];
        facts.guest = guest("windows", 1);
        facts
    }

    #[test]
    fn grub_with_core_img_passes() {
        let d = assert_pass(&run(&mbr_linux()));
        assert_eq!(
            d.as_deref(),
            Some("GRUB boot.img in sector 0 and core.img in the MBR gap")
        );
        let d = assert_pass(&run(&good_linux())).unwrap_or_default();
        assert!(d.contains("BIOS boot partition 1"), "{d}");
    }

    #[test]
    fn windows_active_partition_with_bootmgr_passes() {
        let d = assert_pass(&run(&mbr_windows()));
        assert_eq!(
            d.as_deref(),
            Some("MBR boot code; active partition 1 (ntfs) holds bootmgr")
        );
    }

    #[test]
    fn zeroed_boot_code_is_strongly_recommended() {
        let mut facts = mbr_linux();
        facts.boot.boot_code_nonzero = false;
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert!(f[0]
            .message
            .starts_with("sector 0 bytes 0..440 are all zero"));
    }

    #[test]
    fn grub_without_core_img_is_strongly_recommended() {
        let mut facts = mbr_linux();
        facts.boot.mbr_gap_has_code = false;
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert!(
            f[0].message.contains(
                "the gap between sector 1 and the first partition at byte 1048576 is empty"
            ),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn no_active_partition_is_strongly_recommended() {
        let mut facts = mbr_windows();
        if let Some(t) = facts.table.as_mut() {
            t.partitions[0].bootable = false;
        }
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert!(f[0].message.contains("no partition is marked active"));
    }

    #[test]
    fn windows_active_partition_without_bootmgr_is_strongly_recommended() {
        let mut facts = mbr_windows();
        facts.volumes[0].content = VolumeContent::Filesystem(fs("ntfs"));
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert_eq!(
            f[0].message,
            "active partition 1 (ntfs at byte offset 1048576) has no bootmgr in its root: the \
             Windows boot sector cannot load the boot manager"
        );
    }

    #[test]
    fn uefi_only_is_not_applicable_and_unreadable_sector_not_evaluated() {
        let mut facts = good_linux();
        facts.table = table("gpt", vec![part(1, 1 << 20, 100 << 20, ESP_GUID)]);
        assert_not_applicable(&run(&facts));
        let mut facts = mbr_linux();
        facts.boot.readable = false;
        assert_not_evaluated(&run(&facts));
    }

    fn examined(core: bool, esp: bool) -> Facts {
        use imgcheck_inspect::firmware::{BiosBootPartition, FirmwareFacts};
        let mut lf = good_linux_facts();
        lf.firmware = FirmwareFacts {
            disk_examined: true,
            mbr_boot_code: Some("grub".into()),
            bios_boot_partitions: vec![BiosBootPartition {
                number: 1,
                grub_core: core,
            }],
            ..FirmwareFacts::default()
        };
        let mut facts = with_linux(lf);
        if !esp {
            if let Some(t) = facts.table.as_mut() {
                t.partitions.retain(|p| p.number != 2);
            }
            facts.volumes.retain(|v| v.partition != Some(2));
        }
        facts
    }

    #[test]
    fn bios_boot_partition_with_core_img_passes() {
        let d = assert_pass(&run(&examined(true, true)));
        assert_eq!(
            d.as_deref(),
            Some("GRUB boot.img in sector 0; GRUB core.img in BIOS boot partition 1")
        );
    }

    #[test]
    fn empty_bios_boot_partition_names_what_boot_img_loads() {
        use imgcheck_inspect::firmware::FirmwareEvidence;
        let mut facts = examined(false, true);
        let detail = "GRUB boot.img in the MBR, but LBA 2048 it loads holds no GRUB core.img";
        if let Some(lf) = facts.guest.as_mut().and_then(|g| g.linux.as_mut()) {
            lf.firmware.evidence.push(FirmwareEvidence {
                mode: "none".into(),
                kind: "mbr-boot-code".into(),
                detail: detail.into(),
            });
        }
        let f = findings(&run(&facts), &[Recommended]);
        assert_eq!(f[0].evidence.len(), 3);
        assert_eq!(f[0].evidence[2], detail);
    }

    #[test]
    fn empty_bios_boot_partition_is_found() {
        let f = findings(&run(&examined(false, true)), &[Recommended]);
        assert_eq!(
            f[0].message,
            "BIOS boot partition 1 holds no GRUB core.img: BIOS firmware cannot boot this GPT \
             disk with GRUB"
        );
        assert_eq!(f[0].evidence[1], "boot mode: uefi");
        let f = findings(&run(&examined(false, false)), &[StronglyRecommended]);
        assert_eq!(
            f[0].evidence,
            vec![
                "partition 1: type BIOS boot, first sector is not GRUB's core.img".to_string(),
                "boot mode: none".to_string()
            ]
        );
    }
}
