//! `linux.rtc-time-mode` (Alibaba `GUESTOS.RtcTimeMode`): the hardware clock is read as UTC.
//!
//! Rule from checks.md §2 `rtc_time_mode`: cloud hypervisors present the RTC in UTC; a guest
//! whose `/etc/adjtime` third line says `LOCAL` (written by `timedatectl set-local-rtc 1`) shows
//! the wrong time after boot. A missing `/etc/adjtime` means UTC. Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.rtc-time-mode",
    alibaba_item: Some("GUESTOS.RtcTimeMode"),
    title: "Hardware clock in UTC",
    applies_to: Applicability::Linux,
    inputs: &["/etc/adjtime"],
    remedy: "Make the guest read the hardware clock as UTC: `timedatectl set-local-rtc 0`, or \
set the third line of /etc/adjtime to UTC.",
    references: &[
        "Alibaba Cloud image check: GUESTOS.RtcTimeMode",
        "virt-v2v convert_linux.ml: Linux guests assume RTC in UTC",
    ],
    description: "Reads the third line of /etc/adjtime. LOCAL is a recommended optimisation \
(the clock would be off by the time-zone offset); UTC or no file passes.",
};

/// The check.
pub struct RtcTimeMode;

impl Check for RtcTimeMode {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        match lf.system.rtc.as_str() {
            "LOCAL" => Verdict::Findings(vec![Finding::recommended(
                "/etc/adjtime line 3 says LOCAL: the hardware clock is read as local time, the \
                 cloud's clock is UTC",
                META.remedy,
            )]),
            "UTC" => Verdict::pass_with("/etc/adjtime line 3: UTC"),
            "absent" => Verdict::pass_with("/etc/adjtime absent (UTC)"),
            "" => Verdict::not_evaluated("/etc/adjtime was not inspected"),
            other => Verdict::not_evaluated(format!(
                "/etc/adjtime line 3 is {other:?}, neither UTC nor LOCAL"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn run(rtc: &str) -> Verdict {
        let mut lf = good_linux_facts();
        lf.system.rtc = rtc.into();
        RtcTimeMode.run(&with_linux(lf), &TargetProfile::alibaba())
    }

    #[test]
    fn utc_and_absent_pass() {
        assert_pass(&run("UTC"));
        assert_eq!(
            assert_pass(&run("absent")).as_deref(),
            Some("/etc/adjtime absent (UTC)")
        );
    }

    #[test]
    fn local_is_recommended() {
        let f = findings(&run("LOCAL"), &[Recommended]);
        assert!(f[0].message.starts_with("/etc/adjtime line 3 says LOCAL"));
    }

    #[test]
    fn unknown_is_not_evaluated() {
        assert_not_evaluated(&run(""));
        assert_not_evaluated(&run("garbage"));
    }
}
