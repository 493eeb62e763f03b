//! `windows.dhcp`: network interfaces use DHCP and the DHCP client is enabled.
//!
//! Rule from checks.md §3 `dhcp_windows` (AWS: static addresses cause first-boot failures; Huawei
//! restores DHCP): `Services\Tcpip\Parameters\Interfaces\{GUID}\EnableDHCP` = 1 with no static
//! `IPAddress`, and `Services\Dhcp\Start` ≠ 4. Our own code.

use super::windows_platform::{ccs, need_hive, start_name, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// `Start` of a disabled service.
const DISABLED: u32 = 4;

static META: CheckMeta = CheckMeta {
    id: "windows.dhcp",
    alibaba_item: None,
    title: "DHCP on network interfaces (Windows)",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Services\Tcpip\Parameters\Interfaces\{GUID}: EnableDHCP, IPAddress",
        r"SYSTEM\ControlSet00n\Services\Dhcp: Start",
    ],
    remedy: "Set the network adapters to obtain their address automatically (DHCP) and leave \
the DHCP Client service enabled before exporting.",
    references: &[
        "AWS VM Import troubleshooting (static IP configuration)",
        "checks.md §3 dhcp_windows",
    ],
    description: "A recommended fix for each interface with DHCP off and a static address (the \
cloud network hands out other addresses, so the instance is unreachable), and when the DHCP \
Client service is disabled. Not evaluated when the SYSTEM hive cannot be read.",
};

/// The check.
pub struct Dhcp;

impl Check for Dhcp {
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
        for i in &w.interfaces {
            if i.enable_dhcp == Some(false) && !i.ip_addresses.is_empty() {
                out.push(
                    Finding::recommended(
                        format!(
                            "interface {} has a static address {} and DHCP off: the instance \
                             may be unreachable",
                            i.guid,
                            i.ip_addresses.join(", ")
                        ),
                        "Set the adapter to obtain an IP address automatically.",
                    )
                    .with_evidence(format!(
                        r"{}\Services\Tcpip\Parameters\Interfaces\{}: EnableDHCP = 0, IPAddress = {}",
                        ccs(w),
                        i.guid,
                        i.ip_addresses.join(" ")
                    )),
                );
            }
        }
        if w.dhcp_service_start == Some(DISABLED) {
            out.push(
                Finding::recommended(
                    "the DHCP Client service is disabled: no interface gets an address",
                    "Set the DHCP Client service (Dhcp) to automatic start.",
                )
                .with_evidence(format!(
                    r"{}\Services\Dhcp\Start = {}",
                    ccs(w),
                    start_name(w.dhcp_service_start)
                )),
            );
        }
        let dhcp = w
            .interfaces
            .iter()
            .filter(|i| i.enable_dhcp == Some(true))
            .count();
        Verdict::from_findings(
            out,
            Some(format!(
                "{dhcp} of {} interfaces use DHCP; DHCP client start {}",
                w.interfaces.len(),
                start_name(w.dhcp_service_start)
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
    fn good_passes() {
        assert_eq!(
            assert_pass(&Dhcp.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "1 of 1 interfaces use DHCP; DHCP client start 2 (automatic)"
        );
    }

    #[test]
    fn static_and_disabled() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.interfaces[0].enable_dhcp = Some(false);
        w.interfaces[0].ip_addresses = vec!["192.0.2.10".into()];
        w.dhcp_service_start = Some(4);
        let x = findings(
            &Dhcp.run(&f, &TargetProfile::alibaba()),
            &[Recommended, Recommended],
        );
        assert!(x[0].message.contains("static address 192.0.2.10"));
        assert!(x[0].evidence[0].contains("EnableDHCP = 0"));
        assert!(x[1].evidence[0].ends_with(r"Services\Dhcp\Start = 4 (disabled)"));
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&Dhcp.run(&f, &TargetProfile::alibaba()));
    }
}
