//! `windows.rtc`: whether the real-time clock holds UTC or local time.
//!
//! Rule from checks.md §3 `rtc_utc_windows` (Azure sets `RealTimeIsUniversal` = 1; AWS recommends
//! it): `SYSTEM\ControlSet00n\Control\TimeZoneInformation\RealTimeIsUniversal` (absent: local
//! time). Informational: cloud hypervisors present the RTC as UTC, so a local-time guest shows a
//! clock offset by its time zone until time sync corrects it. Our own code.

use super::windows_platform::{ccs, need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.rtc",
    alibaba_item: None,
    title: "RTC time standard (Windows)",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Control\TimeZoneInformation: RealTimeIsUniversal, TimeZoneKeyName, Bias",
    ],
    remedy: "Nothing required: informational. To keep the clock right from the first boot, set \
RealTimeIsUniversal to 1 (DWORD) as Azure does.",
    references: &[
        "Azure: prepare a Windows VHD (RealTimeIsUniversal)",
        "AWS: set the time for Windows instances",
        "checks.md §3 rtc_utc_windows",
    ],
    description: "Reports whether Windows reads the RTC as UTC (RealTimeIsUniversal=1) or as \
local time, and the time zone. Not evaluated when the SYSTEM hive cannot be read.",
};

/// The check.
pub struct Rtc;

impl Check for Rtc {
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
        let t = &w.time;
        let mode = if t.real_time_is_universal == Some(true) {
            "RTC holds UTC (RealTimeIsUniversal=1)".to_string()
        } else {
            format!(
                r"RTC holds local time ({}\Control\TimeZoneInformation\RealTimeIsUniversal {})",
                ccs(w),
                if t.real_time_is_universal.is_some() {
                    "= 0"
                } else {
                    "absent"
                }
            )
        };
        let tz = t
            .time_zone_key_name
            .as_deref()
            .or(t.standard_name.as_deref())
            .unwrap_or("unknown");
        Verdict::pass_with(format!("{mode}; time zone {tz}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn all_verdicts() {
        assert_eq!(
            assert_pass(&Rtc.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "RTC holds UTC (RealTimeIsUniversal=1); time zone UTC"
        );
        let mut f = good_windows();
        win_mut(&mut f).time.real_time_is_universal = None;
        assert!(assert_pass(&Rtc.run(&f, &TargetProfile::alibaba()))
            .unwrap()
            .contains("RealTimeIsUniversal absent"));
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&Rtc.run(&f, &TargetProfile::alibaba()));
    }
}
