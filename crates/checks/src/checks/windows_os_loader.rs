//! `windows.os-loader` (GUESTOS.OSLoader): the OS loader and kernel files exist.
//!
//! Rule from checks.md §3 `os_loader` (Alibaba repair item OSLoader): `System32\winload.exe`
//! (BIOS) / `winload.efi` (UEFI) for the boot modes the layout offers, `ntoskrnl.exe` and
//! `hal.dll`. Since build 19041 the HAL is linked into the kernel and `hal.dll` is a stub (I):
//! its absence there is a recommended fix only. Our own code.

use super::windows_platform::windows;
use crate::facts::Facts;
use crate::layout::boot_layout;
use crate::profile::{BootMode, TargetProfile};
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// First build whose kernel contains the HAL (Windows 10 2004 / Server 2022 line) (I).
const HAL_MERGED_BUILD: u32 = 19041;

static META: CheckMeta = CheckMeta {
    id: "windows.os-loader",
    alibaba_item: Some("GUESTOS.OSLoader"),
    title: "Windows loader and kernel files present",
    applies_to: Applicability::Windows,
    inputs: &[
        r"\Windows\System32\winload.exe, winload.efi, ntoskrnl.exe, hal.dll",
        "boot modes of the disk layout",
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion: CurrentBuildNumber",
    ],
    remedy: "Repair the installation (sfc /scannow or DISM /RestoreHealth in the source guest, \
or restore the files from installation media), then export again.",
    references: &[
        "Alibaba CreateImagePipeline RepairMode (OSLoader)",
        "checks.md §3 os_loader",
    ],
    description: "A strongly recommended fix when ntoskrnl.exe is missing, when the winload for \
every offered boot mode is missing (BIOS winload.exe, UEFI winload.efi), or when hal.dll is \
missing before build 19041; recommended when hal.dll is missing on later builds or when only one \
offered mode's winload is missing.",
};

/// The check.
pub struct OsLoader;

impl Check for OsLoader {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let l = &w.loader_files;
        let sys32 = format!(r"{}\System32", w.system_root.replace('/', "\\"));
        let fix = META.remedy;
        let mut out = Vec::new();
        if !l.ntoskrnl {
            out.push(Finding::strongly(
                format!(r"{sys32}\ntoskrnl.exe (the kernel) is missing"),
                fix,
            ));
        }
        let modes: Vec<BootMode> = boot_layout(facts)
            .modes
            .into_iter()
            .filter(|m| profile.boot_modes.contains(m))
            .collect();
        let missing: Vec<&str> = modes
            .iter()
            .filter_map(|m| match m {
                BootMode::Bios if !l.winload_exe => Some("winload.exe (BIOS)"),
                BootMode::Uefi if !l.winload_efi => Some("winload.efi (UEFI)"),
                _ => None,
            })
            .collect();
        if !missing.is_empty() {
            let msg = format!(r"{sys32}\{} is missing", missing.join(", "));
            out.push(if missing.len() == modes.len() {
                Finding::strongly(msg, fix)
            } else {
                Finding::recommended(msg, fix)
            });
        }
        if !l.hal_dll {
            let build = w.build.as_deref().and_then(|b| b.parse::<u32>().ok());
            let msg = format!(r"{sys32}\hal.dll is missing");
            out.push(if build.is_some_and(|b| b >= HAL_MERGED_BUILD) {
                Finding::recommended(
                    format!(
                        "{msg} (build {}: the HAL is part of the kernel, hal.dll is a stub)",
                        build.unwrap_or(0)
                    ),
                    fix,
                )
            } else {
                Finding::strongly(msg, fix)
            });
        }
        let found: Vec<&str> = [
            (l.winload_exe, "winload.exe"),
            (l.winload_efi, "winload.efi"),
            (l.ntoskrnl, "ntoskrnl.exe"),
            (l.hal_dll, "hal.dll"),
        ]
        .iter()
        .filter(|(b, _)| *b)
        .map(|(_, n)| *n)
        .collect();
        Verdict::from_findings(out, Some(format!(r"{sys32}: {}", found.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn good_passes() {
        assert_eq!(
            assert_pass(&OsLoader.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            r"\Windows\System32: winload.exe, winload.efi, ntoskrnl.exe, hal.dll"
        );
    }

    #[test]
    fn missing_files() {
        let mut f = good_windows();
        let l = &mut win_mut(&mut f).loader_files;
        l.winload_efi = false;
        l.ntoskrnl = false;
        l.hal_dll = false;
        let x = findings(
            &OsLoader.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, StronglyRecommended, Recommended],
        );
        assert!(x[0].message.contains("ntoskrnl.exe"));
        assert!(x[1].message.contains("winload.efi (UEFI) is missing"));
        assert!(x[2].message.contains("hal.dll is a stub"));
        win_mut(&mut f).build = Some("17763".into());
        let x = findings(
            &OsLoader.run(&f, &TargetProfile::alibaba()),
            &[
                StronglyRecommended,
                StronglyRecommended,
                StronglyRecommended,
            ],
        );
        assert!(x[2].message.ends_with("hal.dll is missing"));
    }

    #[test]
    fn not_evaluated_without_facts() {
        let mut f = good_windows();
        f.guest.as_mut().unwrap().windows = None;
        assert_not_evaluated(&OsLoader.run(&f, &TargetProfile::alibaba()));
    }
}
