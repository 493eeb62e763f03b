//! `linux.persistent-net`: no interface naming or configuration pinned to the source MAC.
//!
//! Rule from checks.md §2 `net_persistent_rules`: udev `70-persistent-net.rules` entries and
//! `HWADDR=`/`MACADDR=`/`match: macaddress`/`mac-address=` pin a configuration to the old NIC;
//! on new hardware the NIC gets another name (eth1) and no configuration. The generator rules
//! file re-creates the pinning on first boot. Recommended (OpenStack image guide, virt-sysprep
//! `udev-persistent-net`/`net-hwaddr`). Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.persistent-net",
    alibaba_item: None,
    title: "No MAC-pinned network configuration",
    applies_to: Applicability::Linux,
    inputs: &[
        "/etc/udev/rules.d/70-persistent-net.rules",
        "/etc/udev/rules.d/75-persistent-net-generator.rules",
        "HWADDR=/MACADDR= in ifcfg, netplan match: macaddress, NetworkManager mac-address=",
    ],
    remedy: "Delete /etc/udev/rules.d/70-persistent-net.rules, remove HWADDR=/MACADDR= \
(and netplan/NetworkManager MAC matches) from the interface configuration.",
    references: &[
        "OpenStack image guide: remove persistent-net rules and HWADDR",
        "virt-sysprep operations udev-persistent-net, net-hwaddr",
    ],
    description: "Each persistent-net udev rule that matches a MAC and each interface \
configuration pinned to a MAC address is a recommended optimisation: the cloud NIC has another \
MAC, so it gets another name and no configuration. A MAC match in a file cloud-init wrote \
(50-cloud-init.yaml, its ifcfg/NetworkManager/networkd files) is not a risk while cloud-init \
is enabled and its network configuration is neither disabled nor given in cloud.cfg(.d): it \
writes the file again for the new instance's NIC.",
};

/// The check.
pub struct PersistentNet;

impl Check for PersistentNet {
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
        for r in &net.persistent_rules {
            out.push(Finding::recommended(
                format!(
                    "{} line {} pins {} to MAC {}",
                    r.file,
                    r.line,
                    r.name.as_deref().unwrap_or("an interface name"),
                    r.mac.as_deref().unwrap_or("(any)")
                ),
                "Delete the rule (or the whole file).",
            ));
        }
        if net.rule_generator {
            out.push(Finding::recommended(
                "75-persistent-net-generator.rules exists: it pins the first NIC's MAC on the \
                 first boot",
                "Delete the generator rules file or mask it with an empty file in /etc/udev/rules.d.",
            ));
        }
        // cloud-init renders its own files again for each new instance (from the datasource,
        // or its fallback: the first NIC by the new MAC), unless it is off or told to leave
        // the network alone; then the old MAC stays.
        let ci = &lf.agents.cloud_init;
        let ci_off = if ci.binary.is_none() {
            Some("cloud-init is not installed, so nothing writes it again".to_string())
        } else if ci.disabled_file {
            Some(
                "/etc/cloud/cloud-init.disabled exists, so cloud-init will not write it again"
                    .to_string(),
            )
        } else if ci.units_enabled.is_empty() {
            Some("no cloud-init unit is enabled, so cloud-init will not write it again".to_string())
        } else if let Some(w) = &ci.network_config_disabled {
            Some(format!(
                "cloud-init's network configuration is disabled ({w}), so it will not write it \
                 again"
            ))
        } else {
            ci.network_config_system.as_ref().map(|w| {
                format!(
                    "cloud-init writes it again from the network configuration in {w}, with the \
                     same MAC"
                )
            })
        };
        let mut rerendered = Vec::new();
        for i in &net.interfaces {
            if let Some(mac) = &i.mac {
                match (&ci_off, i.cloud_init_rendered) {
                    (None, true) => rerendered.push(format!("{} line {}", i.source, i.line)),
                    (Some(why), true) => out.push(Finding::recommended(
                        format!(
                            "interface {} configuration in {} line {} is pinned to MAC {mac}; \
                             {why}",
                            i.name, i.source, i.line
                        ),
                        "Remove the MAC match, or let cloud-init render the network \
                         configuration on the new instance.",
                    )),
                    (_, false) => out.push(Finding::recommended(
                        format!(
                            "interface {} configuration in {} line {} is pinned to MAC {mac}",
                            i.name, i.source, i.line
                        ),
                        "Remove the MAC match (HWADDR=, MACADDR=, match: macaddress, \
                         mac-address=).",
                    )),
                }
            }
        }
        if !rerendered.is_empty() {
            return Verdict::from_findings(
                out,
                Some(format!(
                    "no MAC pinning that outlives the instance: the MAC match in {} is \
                     cloud-init's, which writes it again for the new instance's NIC",
                    rerendered.join(", ")
                )),
            );
        }
        Verdict::from_findings(out, Some("no MAC pinning found".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::network::NetRule;

    #[test]
    fn no_pinning_passes() {
        assert_pass(&PersistentNet.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()));
    }

    #[test]
    fn rules_and_hwaddr_are_recommended() {
        let mut lf = good_linux_facts();
        lf.network.persistent_rules = vec![NetRule {
            file: "/etc/udev/rules.d/70-persistent-net.rules".into(),
            line: 3,
            mac: Some("52:54:00:12:34:56".into()),
            name: Some("eth0".into()),
        }];
        lf.network.interfaces[0].mac = Some("52:54:00:12:34:56".into());
        let f = findings(
            &PersistentNet.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended; 2],
        );
        assert_eq!(
            f[0].message,
            "/etc/udev/rules.d/70-persistent-net.rules line 3 pins eth0 to MAC 52:54:00:12:34:56"
        );
        assert!(f[1]
            .message
            .contains("/etc/network/interfaces line 4 is pinned"));
    }

    #[test]
    fn cloud_init_rendered_match_passes_while_cloud_init_renders_it() {
        let mut lf = good_linux_facts();
        let i = &mut lf.network.interfaces[0];
        i.source = "/etc/netplan/50-cloud-init.yaml".into();
        i.line = 9;
        i.mac = Some("52:54:00:12:34:56".into());
        i.cloud_init_rendered = true;
        let d = assert_pass(&PersistentNet.run(&with_linux(lf.clone()), &TargetProfile::alibaba()))
            .unwrap_or_default();
        assert!(
            d.contains("/etc/netplan/50-cloud-init.yaml line 9 is cloud-init's"),
            "{d}"
        );
        // Told to leave the network alone: the old MAC stays, so it is a finding again.
        lf.agents.cloud_init.network_config_disabled =
            Some("/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg line 1".into());
        let f = findings(
            &PersistentNet.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.ends_with(
            "pinned to MAC 52:54:00:12:34:56; cloud-init's network configuration is disabled \
             (/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg line 1), so it will not \
             write it again"
        ));
        lf.agents.cloud_init.network_config_disabled = None;
        // A network configuration in cloud.cfg.d wins over the datasource's: rendered again,
        // with the same MAC.
        lf.agents.cloud_init.network_config_system =
            Some("/etc/cloud/cloud.cfg.d/50-net.cfg line 1".into());
        let f = findings(
            &PersistentNet.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.ends_with(
            "cloud-init writes it again from the network configuration in \
             /etc/cloud/cloud.cfg.d/50-net.cfg line 1, with the same MAC"
        ));
        lf.agents.cloud_init.network_config_system = None;
        lf.agents.cloud_init.disabled_file = true;
        let f = findings(
            &PersistentNet.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0]
            .message
            .contains("/etc/cloud/cloud-init.disabled exists"));
        lf.agents.cloud_init.disabled_file = false;
        lf.agents.cloud_init.units_enabled.clear();
        let f = findings(
            &PersistentNet.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.contains("no cloud-init unit is enabled"));
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&PersistentNet.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
