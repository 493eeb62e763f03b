//! `windows.rdp`: Remote Desktop is enabled, on port 3389, and its service not disabled.
//!
//! Rule from checks.md §3 `rdp_enabled` (Alibaba import notes: allow 3389; AWS; Azure: prepare a
//! Windows VHD): `Control\Terminal Server\fDenyTSConnections` = 0 and no policy denying it,
//! `WinStations\RDP-Tcp\PortNumber` = 3389, `Services\TermService\Start` ≠ 4. Our own code.

use super::windows_platform::{ccs, need_hive, start_name, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// The RDP port the clouds' security groups and consoles expect.
const RDP_PORT: u32 = 3389;
/// `Start` value of a disabled service.
const DISABLED: u32 = 4;

static META: CheckMeta = CheckMeta {
    id: "windows.rdp",
    alibaba_item: None,
    title: "Remote Desktop enabled",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Control\Terminal Server: fDenyTSConnections",
        r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services: fDenyTSConnections",
        r"SYSTEM\ControlSet00n\Control\Terminal Server\WinStations\RDP-Tcp: PortNumber",
        r"SYSTEM\ControlSet00n\Services\TermService: Start",
    ],
    remedy: "Enable Remote Desktop (System Properties → Remote, or set fDenyTSConnections to 0), \
keep it on port 3389 and leave the Remote Desktop Services service enabled before exporting.",
    references: &[
        "Alibaba: Instructions for importing images (allow port 3389)",
        "Azure: prepare a Windows VHD (Remote Desktop settings)",
        "checks.md §3 rdp_enabled",
    ],
    description: "A recommended fix when Remote Desktop is denied (registry or policy), listens \
on another port than 3389, or its TermService is disabled: the instance boots but cannot be \
reached with RDP. Not evaluated when the SYSTEM hive cannot be read.",
};

/// The check.
pub struct Rdp;

impl Check for Rdp {
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
        let r = &w.rdp;
        let ts = format!(r"{}\Control\Terminal Server", ccs(w));
        let mut out = Vec::new();
        if r.deny_ts_connections.is_some_and(|v| v != 0) {
            out.push(
                Finding::recommended(
                    "Remote Desktop is disabled: the instance cannot be reached with RDP",
                    "Set fDenyTSConnections to 0 (System Properties → Remote → Allow remote \
                     connections) before exporting.",
                )
                .with_evidence(format!(
                    r"{ts}\fDenyTSConnections = {}",
                    r.deny_ts_connections.unwrap_or(0)
                )),
            );
        }
        if let Some(p) = r.policy_deny_ts_connections.filter(|v| *v != 0) {
            out.push(
                Finding::recommended(
                    "a Group Policy denies Remote Desktop connections",
                    "Remove or change the Terminal Services policy that sets \
                     fDenyTSConnections.",
                )
                .with_evidence(format!(
                    r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\fDenyTSConnections = {p}"
                )),
            );
        }
        if let Some(p) = r.port.filter(|p| *p != RDP_PORT) {
            out.push(
                Finding::recommended(
                    format!("Remote Desktop listens on port {p}, not {RDP_PORT}: the default security group rules do not open it"),
                    "Use port 3389, or open the custom port in the instance's security group.",
                )
                .with_evidence(format!(r"{ts}\WinStations\RDP-Tcp\PortNumber = {p}")),
            );
        }
        if r.term_service_start == Some(DISABLED) {
            out.push(
                Finding::recommended(
                    "the Remote Desktop Services service (TermService) is disabled",
                    "Set TermService to manual or automatic start.",
                )
                .with_evidence(format!(
                    r"{}\Services\TermService\Start = {}",
                    ccs(w),
                    start_name(r.term_service_start)
                )),
            );
        }
        let detail = format!(
            "RDP {} on port {}",
            match r.enabled {
                Some(true) => "enabled",
                Some(false) => "disabled",
                None => "setting not found",
            },
            r.port.map_or("default".to_string(), |p| p.to_string())
        );
        Verdict::from_findings(out, Some(detail))
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
            assert_pass(&Rdp.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "RDP enabled on port 3389"
        );
    }

    #[test]
    fn disabled_port_policy_service() {
        let mut f = good_windows();
        let r = &mut win_mut(&mut f).rdp;
        r.deny_ts_connections = Some(1);
        r.policy_deny_ts_connections = Some(1);
        r.enabled = Some(false);
        r.port = Some(3390);
        r.term_service_start = Some(4);
        let x = findings(
            &Rdp.run(&f, &TargetProfile::alibaba()),
            &[Recommended, Recommended, Recommended, Recommended],
        );
        assert_eq!(
            x[0].evidence,
            [r"SYSTEM\ControlSet001\Control\Terminal Server\fDenyTSConnections = 1"]
        );
        assert!(x[2].message.contains("port 3390"));
        assert!(x[3].evidence[0].contains("TermService\\Start = 4 (disabled)"));
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&Rdp.run(&f, &TargetProfile::alibaba()));
    }
}
