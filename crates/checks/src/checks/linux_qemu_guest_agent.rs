//! `linux.qemu-guest-agent`: qemu-guest-agent presence matches what the target wants.
//!
//! Rule from checks.md §2 `qemu_guest_agent`: Alibaba asks that qemu-ga is NOT installed in
//! imported images (its legacy compliance tool and import notes; it conflicts with the cloud's
//! own agent), while plain KVM/OpenStack want it (virt-v2v installs it). The profile's
//! `wants_qemu_ga` decides. Recommended either way. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.qemu-guest-agent",
    alibaba_item: None,
    title: "qemu-guest-agent as the target wants",
    applies_to: Applicability::Linux,
    inputs: &[
        "/usr/bin/qemu-ga",
        "qemu-guest-agent package",
        "qemu-guest-agent.service",
    ],
    remedy: "Alibaba Cloud: uninstall qemu-guest-agent. KVM/OpenStack: install and enable it.",
    references: &[
        "Alibaba image compliance tool: qemu-ga item; import notes (images with qemu-ga)",
        "virt-v2v install_linux_tools (installs qemu-guest-agent for KVM)",
    ],
    description: "Looks for the qemu-ga binary, package and unit. Present on a target that does \
not want it (Alibaba, AWS, Azure, GCP) or absent on one that does (KVM) is a recommended \
optimisation.",
};

/// The check.
pub struct QemuGuestAgent;

impl Check for QemuGuestAgent {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let a = &lf.agents.qemu_guest_agent;
        let ev = a.evidence.join(", ");
        match (a.present, profile.wants_qemu_ga) {
            (true, false) => {
                let mut f = Finding::recommended(
                    format!(
                        "qemu-guest-agent is installed{} ({ev}); {} asks that it is not",
                        if a.enabled { " and enabled" } else { "" },
                        profile.display_name
                    ),
                    "Uninstall qemu-guest-agent (yum/dnf remove qemu-guest-agent, apt-get purge \
                     qemu-guest-agent).",
                );
                for e in &a.evidence {
                    f = f.with_evidence(e.clone());
                }
                Verdict::Findings(vec![f])
            }
            (false, true) => Verdict::Findings(vec![Finding::recommended(
                format!(
                    "qemu-guest-agent is not installed; {} uses it for shutdown, freeze and \
                     address reporting",
                    profile.display_name
                ),
                "Install and enable qemu-guest-agent.",
            )]),
            (true, true) => Verdict::pass_with(format!("qemu-guest-agent present ({ev})")),
            (false, false) => Verdict::pass_with("qemu-guest-agent not installed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn present() -> Facts {
        let mut lf = good_linux_facts();
        lf.agents.qemu_guest_agent.present = true;
        lf.agents.qemu_guest_agent.enabled = true;
        lf.agents.qemu_guest_agent.evidence = vec!["/usr/bin/qemu-ga".into()];
        with_linux(lf)
    }

    #[test]
    fn matching_wish_passes() {
        assert_pass(
            &QemuGuestAgent.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
        );
        assert_pass(&QemuGuestAgent.run(&present(), &TargetProfile::kvm()));
    }

    #[test]
    fn mismatch_is_recommended() {
        let f = findings(
            &QemuGuestAgent.run(&present(), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(
            f[0].message
                .contains("installed and enabled (/usr/bin/qemu-ga)"),
            "{}",
            f[0].message
        );
        findings(
            &QemuGuestAgent.run(&with_linux(good_linux_facts()), &TargetProfile::kvm()),
            &[Recommended],
        );
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&QemuGuestAgent.run(&good_linux(), &TargetProfile::kvm()));
    }
}
