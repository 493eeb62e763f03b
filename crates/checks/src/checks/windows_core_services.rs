//! `windows.core-services`: services needed for connectivity are not disabled.
//!
//! Rule from checks.md §3 `core_services_start` (Azure: prepare a Windows VHD lists the start
//! types of BFE, Dhcp, Dnscache, IKEEXT, iphlpsvc, nsi, mpssvc, RemoteRegistry (automatic) and
//! Netlogon, Netman, TermService (manual)): any of them with `Start=4` (disabled) is flagged.
//! Services absent from the registry are not judged. Our own code.

use super::windows_platform::{ccs, need_hive, service, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// Services the instance needs for network, firewall and remote access.
const CORE: &[&str] = &[
    "BFE",
    "Dhcp",
    "Dnscache",
    "IKEEXT",
    "iphlpsvc",
    "nsi",
    "mpssvc",
    "RemoteRegistry",
    "Netlogon",
    "Netman",
    "TermService",
];
/// `Start` of a disabled service.
const DISABLED: u32 = 4;

static META: CheckMeta = CheckMeta {
    id: "windows.core-services",
    alibaba_item: None,
    title: "Core network and remote-access services enabled",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Services\{BFE,Dhcp,Dnscache,IKEEXT,iphlpsvc,nsi,mpssvc,RemoteRegistry,Netlogon,Netman,TermService}: Start",
    ],
    remedy: "Set the listed services back to their default start type (automatic or manual) \
before exporting.",
    references: &[
        "Azure: prepare a Windows VHD (service start types)",
        "checks.md §3 core_services_start",
    ],
    description: "A recommended fix for each of BFE, Dhcp, Dnscache, IKEEXT, iphlpsvc, nsi, \
mpssvc, RemoteRegistry, Netlogon, Netman and TermService that is disabled (Start=4): network \
configuration, the firewall or remote access may not work. Not evaluated when the SYSTEM hive \
cannot be read.",
};

/// The check.
pub struct CoreServices;

impl Check for CoreServices {
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
        let mut out = Vec::new();
        let mut present = 0usize;
        for name in CORE {
            let Some(s) = service(w, name) else { continue };
            present = present.saturating_add(1);
            if s.start == Some(DISABLED) {
                out.push(
                    Finding::recommended(
                        format!("service {} is disabled", s.name),
                        format!("Set {} to its default start type.", s.name),
                    )
                    .with_evidence(format!(
                        r"{}\Services\{}\Start = 4",
                        ccs(w),
                        s.name
                    )),
                );
            }
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{present} of {} core services present, none disabled",
                CORE.len()
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn all_verdicts() {
        assert_eq!(
            assert_pass(&CoreServices.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "2 of 11 core services present, none disabled"
        );
        let mut f = good_windows();
        win_mut(&mut f).services.push(win_service("mpssvc", 4));
        let x = findings(
            &CoreServices.run(&f, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert_eq!(
            x[0].evidence,
            [r"SYSTEM\ControlSet001\Services\mpssvc\Start = 4"]
        );
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&CoreServices.run(&f, &TargetProfile::alibaba()));
    }
}
