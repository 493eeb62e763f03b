//! `linux.firewall`: no guest firewall enabled that could block management access.
//!
//! Rule from checks.md §2 `firewall_guest` (Alibaba compliance tool item `firewall`: disable
//! iptables/firewalld; AWS checker): cloud security groups do the filtering; a guest firewall
//! carried over from the source network can lock out SSH. Evidence: enabled firewalld /
//! iptables / ip6tables / nftables / ufw units and `/etc/ufw/ufw.conf ENABLED=yes`.
//! Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.firewall",
    alibaba_item: None,
    title: "Guest firewall not enabled",
    applies_to: Applicability::Linux,
    inputs: &[
        "firewalld/iptables/ip6tables/nftables/ufw unit enablement",
        "/etc/ufw/ufw.conf",
    ],
    remedy: "Disable the guest firewall (systemctl disable firewalld / iptables / nftables, \
ufw disable) and use the cloud's security groups, or make sure it allows port 22.",
    references: &[
        "Alibaba image compliance tool: firewall item",
        "AWS VM Import checker: firewall DROP rules",
    ],
    description: "Each enabled guest firewall is a recommended optimisation: its rules come \
from the source network and may block SSH on the new one.",
};

/// The check.
pub struct Firewall;

impl Check for Firewall {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let fw = &lf.system.firewall;
        let mut out = Vec::new();
        for u in &fw.enabled_units {
            out.push(Finding::recommended(
                format!("firewall unit {u} is enabled"),
                format!("Disable it (systemctl disable {u}) or make sure it allows port 22."),
            ));
        }
        if fw.ufw_enabled == Some(true) && !fw.enabled_units.iter().any(|u| u.starts_with("ufw")) {
            out.push(Finding::recommended(
                "/etc/ufw/ufw.conf has ENABLED=yes",
                "Set ENABLED=no or allow port 22 (ufw allow 22/tcp).",
            ));
        }
        Verdict::from_findings(out, Some("no guest firewall enabled".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn none_passes() {
        assert_pass(&Firewall.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()));
    }

    #[test]
    fn enabled_firewalls_are_recommended() {
        let mut lf = good_linux_facts();
        lf.system.firewall.enabled_units = vec!["firewalld.service".into()];
        lf.system.firewall.ufw_enabled = Some(true);
        let f = findings(
            &Firewall.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended; 2],
        );
        assert_eq!(f[0].message, "firewall unit firewalld.service is enabled");
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&Firewall.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
