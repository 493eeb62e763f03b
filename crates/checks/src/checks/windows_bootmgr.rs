//! `windows.bootmgr` (GUESTOS.BootMgr): the Windows boot manager exists for the boot mode the
//! disk offers.
//!
//! Rule from checks.md §3 `bootmgr`: BIOS: `\bootmgr` on the active/system partition; UEFI:
//! `\EFI\Microsoft\Boot\bootmgfw.efi` (or the fallback `\EFI\Boot\bootx64.efi`) on the ESP. The
//! boot modes come from [`crate::layout::boot_layout`]. Our own code.

use super::windows_platform::windows;
use crate::facts::Facts;
use crate::layout::boot_layout;
use crate::profile::{BootMode, TargetProfile};
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.bootmgr",
    alibaba_item: Some("GUESTOS.BootMgr"),
    title: "Windows boot manager present",
    applies_to: Applicability::Windows,
    inputs: &[
        r"\bootmgr on the system partitions (BIOS)",
        r"\EFI\Microsoft\Boot\bootmgfw.efi, \EFI\Boot\bootx64.efi on the ESP (UEFI)",
        "boot modes of the disk layout",
    ],
    remedy: "Recreate the boot files with bcdboot C:\\Windows /f ALL from the guest or its \
recovery environment, then export again.",
    references: &[
        "Alibaba image check: GUESTOS.BootMgr",
        "checks.md §3 bootmgr",
    ],
    description:
        "For each boot mode the layout offers and the target boots: BIOS needs \\bootmgr, \
UEFI \\EFI\\Microsoft\\Boot\\bootmgfw.efi or \\EFI\\Boot\\bootx64.efi. A strongly recommended fix \
when no such mode has its boot manager; recommended when only some do.",
};

/// The check.
pub struct BootMgr;

impl Check for BootMgr {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let layout = boot_layout(facts);
        let modes: Vec<BootMode> = layout
            .modes
            .iter()
            .copied()
            .filter(|m| profile.boot_modes.contains(m))
            .collect();
        if modes.is_empty() {
            return Verdict::not_evaluated(format!(
                "the disk offers no boot mode {} boots ({}); see boot.boot-mode",
                profile.display_name,
                layout.describe()
            ));
        }
        let mut ok = Vec::new();
        let mut missing = Vec::new();
        for m in &modes {
            let (found, wanted) = match m {
                BootMode::Bios => (
                    w.boot_files
                        .iter()
                        .find(|b| b.path.eq_ignore_ascii_case("/bootmgr")),
                    r"\bootmgr",
                ),
                BootMode::Uefi => (
                    w.boot_files
                        .iter()
                        .find(|b| {
                            b.path
                                .eq_ignore_ascii_case("/EFI/Microsoft/Boot/bootmgfw.efi")
                        })
                        .or_else(|| {
                            w.boot_files
                                .iter()
                                .find(|b| b.path.eq_ignore_ascii_case("/EFI/Boot/bootx64.efi"))
                        }),
                    r"\EFI\Microsoft\Boot\bootmgfw.efi or \EFI\Boot\bootx64.efi",
                ),
            };
            match found {
                Some(b) => ok.push(format!("{}: {} on volume {}", m.name(), b.path, b.volume)),
                None => missing.push(format!("{}: no {wanted} on any boot volume", m.name())),
            }
        }
        if missing.is_empty() {
            return Verdict::pass_with(ok.join("; "));
        }
        let msg = format!("Windows boot manager missing for {}", missing.join("; "));
        let f = if ok.is_empty() {
            Finding::strongly(msg, META.remedy)
        } else {
            Finding::recommended(msg, META.remedy)
        };
        let mut f = f;
        for b in &w.boot_files {
            f = f.with_evidence(format!("found {} on volume {}", b.path, b.volume));
        }
        Verdict::Findings(vec![f])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn uefi_passes() {
        assert_eq!(
            assert_pass(&BootMgr.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "uefi: /EFI/Microsoft/Boot/bootmgfw.efi on volume 1"
        );
    }

    #[test]
    fn missing_boot_manager() {
        let mut f = good_windows();
        win_mut(&mut f)
            .boot_files
            .retain(|b| b.path.ends_with("BCD"));
        let x = findings(
            &BootMgr.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0]
            .message
            .contains(r"uefi: no \EFI\Microsoft\Boot\bootmgfw.efi"));
        assert_eq!(x[0].evidence, ["found /EFI/Microsoft/Boot/BCD on volume 1"]);
    }

    #[test]
    fn not_evaluated_without_mode() {
        let mut f = good_windows();
        f.table = None;
        f.volumes.clear();
        f.boot.boot_code_nonzero = false;
        let mut p = TargetProfile::alibaba();
        p.boot_modes = vec![BootMode::Uefi];
        assert_not_evaluated(&BootMgr.run(&f, &p));
    }
}
