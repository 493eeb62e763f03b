//! `linux.dhcp` (Alibaba `GUESTOS.Dhcp`): the primary interface gets its address by DHCP.
//!
//! Rule from checks.md §2 `dhcp`: a static IPv4 address from the source network is wrong in
//! the cloud and the instance is unreachable — strongly recommended. Evidence: ifcfg,
//! ifupdown, netplan, NetworkManager keyfiles and systemd-networkd files (imgcheck-inspect
//! `network`). Decision for "no network configuration at all": a recommended optimisation,
//! not Not evaluated — we did read the places configuration lives, and cloud-init (if present)
//! writes a DHCP config on first boot, so the instance usually comes up; without cloud-init it
//! is unreachable, which the finding says. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::network::Method;

static META: CheckMeta = CheckMeta {
    id: "linux.dhcp",
    alibaba_item: Some("GUESTOS.Dhcp"),
    title: "Primary network interface uses DHCP",
    applies_to: Applicability::Linux,
    inputs: &[
        "/etc/sysconfig/network-scripts/ifcfg-*",
        "/etc/sysconfig/network/ifcfg-*",
        "/etc/network/interfaces",
        "/etc/netplan/*.yaml",
        "/etc/NetworkManager/system-connections/*",
        "/etc/systemd/network/*.network",
    ],
    remedy: "Configure the primary interface for DHCP (BOOTPROTO=dhcp, `iface eth0 inet dhcp`, \
netplan `dhcp4: true`, NetworkManager `method=auto`, networkd `DHCP=yes`).",
    references: &[
        "Alibaba Cloud import requirements: DHCP (priority High)",
        "AWS VM Import: static addresses replaced by DHCP",
    ],
    description: "Every configured (non-loopback) interface with a static IPv4 address is a \
strongly recommended fix, naming the file and line. When no interface uses DHCP and none is \
static, or nothing is configured at all, it is a recommended optimisation (cloud-init, if \
installed, writes a DHCP configuration on first boot).",
};

/// The check.
pub struct Dhcp;

impl Check for Dhcp {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let net = &lf.network;
        let mut out = Vec::new();
        let mut dhcp = Vec::new();
        for i in &net.interfaces {
            match i.method {
                Method::Static if i.onboot != Some(false) => out.push(Finding::strongly(
                    format!(
                        "interface {} has a static IPv4 address ({} line {}, {})",
                        i.name, i.source, i.line, i.system
                    ),
                    META.remedy,
                )),
                Method::Dhcp => dhcp.push(format!("{} ({} line {})", i.name, i.source, i.line)),
                _ => {}
            }
        }
        if out.is_empty() && dhcp.is_empty() {
            let ci = lf.agents.cloud_init.binary.is_some();
            let mut f = Finding::recommended(
                if net.interfaces.is_empty() {
                    format!(
                        "no network interface configuration found{}",
                        if ci {
                            "; cloud-init will write one on first boot"
                        } else {
                            " and cloud-init is absent: the instance may be unreachable"
                        }
                    )
                } else {
                    format!(
                        "no interface is configured for DHCP ({} configured without an address method the platform can use)",
                        net.interfaces.iter().map(|i| format!("{} in {}", i.name, i.source)).collect::<Vec<_>>().join(", ")
                    )
                },
                META.remedy,
            );
            for p in &net.problems {
                f = f.with_evidence(p.clone());
            }
            out.push(f);
        }
        Verdict::from_findings(out, Some(format!("DHCP: {}", dhcp.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn dhcp_passes() {
        let d = assert_pass(&Dhcp.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()));
        assert_eq!(
            d.as_deref(),
            Some("DHCP: eth0 (/etc/network/interfaces line 4)")
        );
    }

    #[test]
    fn static_is_strongly_recommended() {
        let mut lf = good_linux_facts();
        let i = &mut lf.network.interfaces[0];
        i.method = Method::Static;
        i.source = "/etc/sysconfig/network-scripts/ifcfg-eth0".into();
        i.line = 2;
        i.system = "ifcfg".into();
        let f = findings(
            &Dhcp.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert_eq!(
            f[0].message,
            "interface eth0 has a static IPv4 address (/etc/sysconfig/network-scripts/ifcfg-eth0 line 2, ifcfg)"
        );
    }

    #[test]
    fn nothing_configured_is_recommended_and_no_facts_not_evaluated() {
        let mut lf = good_linux_facts();
        lf.network.interfaces.clear();
        let f = findings(
            &Dhcp.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(
            f[0].message.contains("cloud-init will write one"),
            "{}",
            f[0].message
        );
        assert_not_evaluated(&Dhcp.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
