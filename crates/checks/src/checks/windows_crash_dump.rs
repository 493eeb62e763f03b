//! `windows.crash-dump`: crash dump settings, for diagnosing a failed first boot.
//!
//! Rule from checks.md §3 `crash_dump_config` (virt-v2v sets `AutoReboot` = 0; Azure recommends
//! `CrashDumpEnabled` and `NMICrashDump`): `SYSTEM\ControlSet00n\Control\CrashControl`.
//! Informational. Our own code.

use super::windows_platform::{need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.crash-dump",
    alibaba_item: None,
    title: "Crash dump settings",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Control\CrashControl: CrashDumpEnabled, AutoReboot, NMICrashDump",
    ],
    remedy: "Nothing required: informational. Enabling a kernel or automatic dump and NMI \
crash dumps helps diagnose a failed first boot.",
    references: &[
        "virt-v2v convert/convert_windows.ml (AutoReboot)",
        "Azure: prepare a Windows VHD (crash dump settings)",
        "checks.md §3 crash_dump_config",
    ],
    description: "Reports CrashDumpEnabled (0 none, 1 complete, 2 kernel, 3 small, 7 automatic), \
AutoReboot and NMICrashDump. Not evaluated when the SYSTEM hive cannot be read.",
};

/// The check.
pub struct CrashDump;

/// A dump type's name.
fn dump_name(v: u32) -> &'static str {
    match v {
        0 => "none",
        1 => "complete",
        2 => "kernel",
        3 => "small",
        7 => "automatic",
        _ => "other",
    }
}

impl Check for CrashDump {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SYSTEM") {
            return v;
        }
        let c = &w.crash_dump;
        let show = |v: Option<u32>| v.map_or("absent".to_string(), |v| v.to_string());
        Verdict::pass_with(format!(
            "CrashDumpEnabled {}{}, AutoReboot {}, NMICrashDump {}",
            show(c.crash_dump_enabled),
            c.crash_dump_enabled
                .map(|v| format!(" ({})", dump_name(v)))
                .unwrap_or_default(),
            show(c.auto_reboot),
            show(c.nmi_crash_dump)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn all_verdicts() {
        assert_eq!(
            assert_pass(&CrashDump.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "CrashDumpEnabled 7 (automatic), AutoReboot 1, NMICrashDump absent"
        );
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&CrashDump.run(&f, &TargetProfile::alibaba()));
    }
}
