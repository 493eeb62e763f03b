//! `linux.other-hypervisor-tools`: no leftover VMware, VirtualBox, Parallels, Citrix/Xen or
//! Hyper-V guest tools.
//!
//! Rule from checks.md §2 `other_hypervisor_tools` (virt-v2v `unconfigure_*`, AWS "uninstall
//! VMware tools", Huawei IMS): the source hypervisor's tools fail, slow boot or fight the
//! target's agents. Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.other-hypervisor-tools",
    alibaba_item: None,
    title: "No other hypervisors' guest tools",
    applies_to: Applicability::Linux,
    inputs: &[
        "open-vm-tools / vmware-tools packages, /etc/vmware-tools/",
        "/var/lib/VBoxGuestAdditions/config",
        "/usr/lib/parallels-tools/",
        "xe-guest-utilities",
    ],
    remedy: "Uninstall the source hypervisor's guest tools before exporting the image.",
    references: &[
        "virt-v2v convert_linux.ml: unconfigure_vmware, unconfigure_vbox, unconfigure_prltools",
        "AWS VM Import prerequisites: uninstall VMware tools",
    ],
    description: "Each other hypervisor's guest tooling found in the image is a recommended \
optimisation, with the paths that show it.",
};

/// The check.
pub struct OtherHypervisorTools;

impl Check for OtherHypervisorTools {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let out = lf
            .agents
            .other_hypervisor_tools
            .iter()
            .filter(|(_, a)| a.present)
            .map(|(name, a)| {
                let mut f = Finding::recommended(
                    format!(
                        "{name} guest tools are installed ({})",
                        a.evidence.join(", ")
                    ),
                    format!("Uninstall the {name} tools."),
                );
                for e in &a.evidence {
                    f = f.with_evidence(e.clone());
                }
                f
            })
            .collect();
        Verdict::from_findings(out, Some("none found".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::agents::Agent;

    #[test]
    fn none_passes() {
        assert_pass(
            &OtherHypervisorTools.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
        );
    }

    #[test]
    fn vmware_tools_are_recommended() {
        let mut lf = good_linux_facts();
        lf.agents.other_hypervisor_tools = vec![
            (
                "VMware".into(),
                Agent {
                    present: true,
                    enabled: true,
                    evidence: vec!["/etc/vmware-tools".into()],
                },
            ),
            ("VirtualBox".into(), Agent::default()),
        ];
        let f = findings(
            &OtherHypervisorTools.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert_eq!(
            f[0].message,
            "VMware guest tools are installed (/etc/vmware-tools)"
        );
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&OtherHypervisorTools.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
