//! `boot.boot-mode` (GUESTOS.BootMode): which firmware modes (BIOS, UEFI) the disk layout offers,
//! and whether the target boots one of them.
//!
//! Rule from checks.md §1 `boot_mode` (virt-v2v convert/firmware.ml, GCP boot-inspect
//! inspection.py): an ESP ⇒ UEFI; a BIOS boot partition (holding GRUB's core.img when its
//! content was examined) or a hybrid MBR ⇒ BIOS on GPT; MBR boot code ⇒ BIOS. The reading itself is [`crate::layout::boot_layout`], shared with the report
//! header. Our own code.

use crate::facts::Facts;
use crate::layout::boot_layout;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "boot.boot-mode",
    alibaba_item: Some("GUESTOS.BootMode"),
    title: "Boot mode (BIOS / UEFI) supported by the target",
    applies_to: Applicability::Any,
    inputs: &[
        "table.partitions[].type_id",
        "table.hybrid_mbr",
        "boot.boot_code_nonzero",
        "volumes[].fs (FAT with role esp or EFI loaders)",
        "guest.linux.firmware (BIOS boot partition content, MBR boot code)",
    ],
    remedy: "Install a boot loader for a firmware mode the target supports (BIOS: GRUB in the MBR / \
BIOS boot partition; UEFI: an EFI System Partition with a loader), or choose the matching boot mode \
when importing.",
    references: &[
        "Alibaba image check: GUESTOS.BootMode",
        "virt-v2v convert/firmware.ml",
        "GCP compute-image-tools boot_inspect inspection.py",
        "AWS VM Import --boot-mode",
    ],
    description: "Reports the firmware modes the layout offers: UEFI when an EFI System Partition \
exists (GPT type C12A7328-…, MBR type 0xEF, or a FAT volume used as ESP); BIOS when an MBR disk has \
boot code (or no ESP), or a GPT disk has a BIOS boot partition (one whose content was examined \
must hold GRUB's core.img) or a hybrid MBR. Informational, \
except a strongly recommended fix when the layout offers no mode or none the target boots.",
};

/// The check.
pub struct BootModeCheck;

impl Check for BootModeCheck {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if facts.table.is_none() && facts.table_error.is_some() {
            return Verdict::not_evaluated("the partition table could not be read");
        }
        let layout = boot_layout(facts);
        let offered = layout.describe();
        if layout.modes.is_empty() {
            let mut f = Finding::strongly(
                "the disk offers no boot path: no EFI System Partition, no BIOS boot partition \
                 and no MBR boot layout",
                "Install the boot loader on the system disk (grub-install for BIOS, or an EFI \
                 System Partition with a loader for UEFI) and export the image again.",
            );
            f.evidence.push(format!(
                "partition table: {}",
                facts.table.as_ref().map_or("none", |t| t.scheme.as_str())
            ));
            return Verdict::Findings(vec![f]);
        }
        let target: Vec<&str> = profile.boot_modes.iter().map(|m| m.name()).collect();
        if !layout.modes.iter().any(|m| profile.boots(*m)) {
            let mut f = Finding::strongly(
                format!(
                    "the image boots only via {offered}, which {} does not support (it boots {})",
                    profile.display_name,
                    target.join(", ")
                ),
                format!(
                    "Add a {} boot path to the image (boot loader and partition), or choose \
                     another target.",
                    target.join(" or ")
                ),
            );
            f.evidence = layout.evidence;
            return Verdict::Findings(vec![f]);
        }
        let mut detail = format!("boot mode: {offered}");
        if !layout.evidence.is_empty() {
            detail.push_str(&format!(" ({})", layout.evidence.join("; ")));
        }
        Verdict::pass_with(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ESP_GUID;
    use crate::profile::BootMode;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn bios_and_uefi_layout_passes_with_both() {
        let d = assert_pass(&BootModeCheck.run(&good_linux(), &TargetProfile::default()))
            .unwrap_or_default();
        assert!(
            d.starts_with("boot mode: bios+uefi (partition 1 is a BIOS boot partition"),
            "{d}"
        );
    }

    #[test]
    fn mbr_disk_is_bios() {
        let mut facts = good_linux();
        facts.table = table("mbr", vec![part(1, 1 << 20, 1 << 30, "0x83")]);
        facts.volumes = vec![fs_vol(1, fs("ext4"))];
        let d =
            assert_pass(&BootModeCheck.run(&facts, &TargetProfile::default())).unwrap_or_default();
        assert_eq!(
            d,
            "boot mode: bios (MBR boot code in sector 0 bytes 0..440)"
        );
    }

    #[test]
    fn uefi_only_image_on_a_bios_only_target_is_strongly_recommended() {
        let mut facts = good_linux();
        facts.table = table(
            "gpt",
            vec![
                part(1, 1 << 20, 100 << 20, ESP_GUID),
                part(
                    2,
                    101 << 20,
                    1 << 30,
                    "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                ),
            ],
        );
        let mut profile = TargetProfile::alibaba();
        profile.boot_modes = vec![BootMode::Bios];
        let f = findings(&BootModeCheck.run(&facts, &profile), &[StronglyRecommended]);
        assert_eq!(
            f[0].message,
            "the image boots only via uefi, which Alibaba Cloud ECS does not support (it boots bios)"
        );
    }

    #[test]
    fn gpt_without_boot_partitions_has_no_boot_path() {
        let mut facts = good_linux();
        facts.table = table(
            "gpt",
            vec![part(
                1,
                1 << 20,
                1 << 30,
                "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
            )],
        );
        facts.volumes = vec![fs_vol(1, fs_with_roles("ext4", &["root"]))];
        let f = findings(
            &BootModeCheck.run(&facts, &TargetProfile::default()),
            &[StronglyRecommended],
        );
        assert!(f[0].message.contains("no boot path"));
    }

    #[test]
    fn unreadable_table_is_not_evaluated() {
        let facts = Facts {
            table_error: Some("io".into()),
            ..Facts::default()
        };
        assert_not_evaluated(&BootModeCheck.run(&facts, &TargetProfile::default()));
    }

    #[test]
    fn empty_bios_boot_partition_offers_no_bios() {
        use imgcheck_inspect::firmware::{BiosBootPartition, FirmwareFacts};
        let mut lf = good_linux_facts();
        lf.firmware = FirmwareFacts {
            disk_examined: true,
            bios_boot_partitions: vec![BiosBootPartition {
                number: 1,
                grub_core: false,
            }],
            ..FirmwareFacts::default()
        };
        let facts = with_linux(lf);
        let d =
            assert_pass(&BootModeCheck.run(&facts, &TargetProfile::default())).unwrap_or_default();
        assert!(
            d.starts_with("boot mode: uefi (partition 1 is a BIOS boot partition"),
            "{d}"
        );
        let mut profile = TargetProfile::alibaba();
        profile.boot_modes = vec![BootMode::Bios];
        let f = findings(&BootModeCheck.run(&facts, &profile), &[StronglyRecommended]);
        assert!(
            f[0].evidence[0].ends_with("but holds no GRUB core.img"),
            "{:?}",
            f[0].evidence
        );
    }
}
