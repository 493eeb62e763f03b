//! `windows.firewall`: the Windows Firewall state the target wants.
//!
//! Rule from checks.md §3 `windows_firewall`: `SYSTEM\ControlSet00n\Services\SharedAccess\
//! Parameters\FirewallPolicy\{DomainProfile,StandardProfile,PublicProfile}\EnableFirewall`.
//! Alibaba's import notes ask to turn the firewall off (or allow 3389); Azure wants it on with
//! RDP rules; the wish is [`TargetProfile::windows_firewall`]. The rules themselves are not read,
//! so a profile that is on where the target wants it off is a recommended check of the RDP rule.
//! Our own code.

use super::windows_platform::{ccs, need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.firewall",
    alibaba_item: None,
    title: "Windows Firewall state for the target",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Services\SharedAccess\Parameters\FirewallPolicy\{DomainProfile,StandardProfile,PublicProfile}: EnableFirewall",
    ],
    remedy: "Set the firewall profiles as the target asks: for Alibaba Cloud turn them off or \
make sure an inbound rule allows TCP 3389; for Azure turn them on with the Remote Desktop rules \
enabled.",
    references: &[
        "Alibaba: Instructions for importing images (firewall, port 3389)",
        "Azure: prepare a Windows VHD (firewall on, RDP rules)",
        "checks.md §3 windows_firewall",
    ],
    description: "Compares each firewall profile's EnableFirewall with the target's wish: a \
recommended fix when a profile is on where the target wants it off (Alibaba: RDP may be \
blocked) or off where the target wants it on (Azure). Informational for targets without a \
stated wish. Not evaluated when the SYSTEM hive cannot be read or has no firewall profile.",
};

/// The check.
pub struct Firewall;

impl Check for Firewall {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SYSTEM") {
            return v;
        }
        let known: Vec<(&str, bool)> = w
            .firewall
            .iter()
            .filter_map(|p| p.enabled.map(|e| (p.profile.as_str(), e)))
            .collect();
        if known.is_empty() {
            return Verdict::not_evaluated(format!(
                r"no EnableFirewall value under {}\Services\SharedAccess\Parameters\FirewallPolicy",
                ccs(w)
            ));
        }
        let state = |on: bool| if on { "on" } else { "off" };
        let detail = known
            .iter()
            .map(|(p, e)| format!("{p} {}", state(*e)))
            .collect::<Vec<_>>()
            .join(", ");
        let Some(want) = profile.windows_firewall else {
            return Verdict::pass_with(detail);
        };
        let wrong: Vec<&(&str, bool)> = known.iter().filter(|(_, e)| *e != want).collect();
        if wrong.is_empty() {
            return Verdict::pass_with(detail);
        }
        let names: Vec<&str> = wrong.iter().map(|(p, _)| *p).collect();
        let (msg, remedy) = if want {
            (
                format!(
                    "the Windows Firewall is off for the {} profile(s); {} expects it on",
                    names.join(", "),
                    profile.display_name
                ),
                "Turn the firewall profiles on and enable the Remote Desktop inbound rules.",
            )
        } else {
            (
                format!(
                    "the Windows Firewall is on for the {} profile(s); {} asks for it off or for \
                     an inbound rule allowing TCP 3389, otherwise RDP is blocked",
                    names.join(", "),
                    profile.display_name
                ),
                "Turn the firewall off, or make sure an enabled inbound rule allows TCP 3389 \
                 (Remote Desktop) on every profile.",
            )
        };
        let mut f = Finding::recommended(msg, remedy);
        for (p, e) in wrong {
            let key = match *p {
                "domain" => "DomainProfile",
                "standard" => "StandardProfile",
                "public" => "PublicProfile",
                other => other,
            };
            f = f.with_evidence(format!(
                r"{}\Services\SharedAccess\Parameters\FirewallPolicy\{key}\EnableFirewall = {}",
                ccs(w),
                u8::from(*e)
            ));
        }
        Verdict::Findings(vec![f])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::windows::FirewallProfile;

    fn with(on: bool) -> Facts {
        let mut f = good_windows();
        win_mut(&mut f).firewall = ["domain", "standard", "public"]
            .iter()
            .map(|p| FirewallProfile {
                profile: (*p).into(),
                enabled: Some(on),
            })
            .collect();
        f
    }

    #[test]
    fn target_wishes() {
        let on = with(true);
        let x = findings(
            &Firewall.run(&on, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(x[0].message.contains("on for the domain, standard, public"));
        assert_eq!(
            x[0].evidence[0],
            r"SYSTEM\ControlSet001\Services\SharedAccess\Parameters\FirewallPolicy\DomainProfile\EnableFirewall = 1"
        );
        assert_pass(&Firewall.run(&on, &TargetProfile::azure()));
        let off = with(false);
        findings(&Firewall.run(&off, &TargetProfile::azure()), &[Recommended]);
        assert_eq!(
            assert_pass(&Firewall.run(&off, &TargetProfile::aws())).unwrap(),
            "domain off, standard off, public off"
        );
        assert_pass(&Firewall.run(&off, &TargetProfile::alibaba()));
    }

    #[test]
    fn not_evaluated() {
        assert!(
            assert_not_evaluated(&Firewall.run(&good_windows(), &TargetProfile::alibaba()))
                .contains("no EnableFirewall")
        );
        let mut f = with(true);
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&Firewall.run(&f, &TargetProfile::alibaba()));
    }
}
