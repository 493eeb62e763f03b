//! `windows.architecture` (GUESTOS.Architecture): x86, x64 or arm64.
//!
//! Rule from checks.md §3 `win_arch` (libguestfs: PE `Machine` of `System32\cmd.exe`;
//! dissect.target: `Session Manager\Environment\PROCESSOR_ARCHITECTURE`). The inspection layer
//! reads both; this check reports them. Informational (32-bit releases are judged by
//! `windows.os-version`). Our own code.

use super::windows_platform::windows;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.architecture",
    alibaba_item: Some("GUESTOS.Architecture"),
    title: "Windows architecture",
    applies_to: Applicability::Windows,
    inputs: &[
        r"PE header Machine of \Windows\System32\ntoskrnl.exe or cmd.exe",
        r"SYSTEM\ControlSet00n\Control\Session Manager\Environment: PROCESSOR_ARCHITECTURE",
    ],
    remedy: "Nothing to fix: informational. Choose an instance type of the same architecture.",
    references: &[
        "Alibaba image check: GUESTOS.Architecture",
        "libguestfs daemon/inspect_fs_windows.ml",
        "checks.md §3 win_arch",
    ],
    description: "Reports the architecture (amd64, x86, arm64) and where it was read. Not \
evaluated when neither the PE headers nor the registry tell.",
};

/// The check.
pub struct Architecture;

impl Check for Architecture {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let Some(arch) = &w.arch else {
            return Verdict::not_evaluated(
                "the architecture is unknown: no readable PE header in System32 and no \
                 PROCESSOR_ARCHITECTURE in the SYSTEM hive",
            );
        };
        let mut d = format!("architecture: {arch}");
        if let Some(src) = &w.arch_source {
            d.push_str(&format!(" (from {src})"));
        }
        if let Some(pa) = &w.processor_architecture {
            d.push_str(&format!("; PROCESSOR_ARCHITECTURE={pa}"));
        }
        Verdict::pass_with(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn reports_arch_and_source() {
        let d = assert_pass(&Architecture.run(&good_windows(), &TargetProfile::alibaba())).unwrap();
        assert_eq!(
            d,
            "architecture: amd64 (from PE header of /Windows/System32/ntoskrnl.exe); \
             PROCESSOR_ARCHITECTURE=AMD64"
        );
    }

    #[test]
    fn not_evaluated_when_unknown() {
        let mut f = good_windows();
        win_mut(&mut f).arch = None;
        assert!(
            assert_not_evaluated(&Architecture.run(&f, &TargetProfile::alibaba()))
                .contains("unknown")
        );
    }
}
