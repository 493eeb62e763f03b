//! `linux.security-center` (Alibaba `GUESTOS.SecurityCenterAgent`): the Alibaba Security Center (Aegis)
//! agent is installed.
//!
//! Rule from checks.md §2 `security_center` (RepairMode All: SecurityCenterAgent):
//! evidence `/usr/local/aegis/`, `aegis.service`, `/etc/init.d/aegis`
//! (imgcheck-inspect `agents`). Recommended on Alibaba, Not applicable
//! on other targets. Our own code.

use super::linux_cloud_assistant::agent_verdict;
use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.security-center",
    alibaba_item: Some("GUESTOS.SecurityCenterAgent"),
    title: "Alibaba Security Center agent installed",
    applies_to: Applicability::Linux,
    inputs: &["/usr/local/aegis/", "aegis.service", "/etc/init.d/aegis"],
    remedy: "Install the Security Center (Aegis) agent so the instance gets security monitoring \
and baseline checks.",
    references: &["Alibaba Cloud: Install the Security Center agent (GUESTOS.SecurityCenterAgent)"],
    description: "On the Alibaba target, a missing Security Center agent is a recommended \
optimisation; installed but not enabled is reported too. Other targets: Not applicable.",
};

/// The check.
pub struct SecurityCenter;

impl Check for SecurityCenter {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if profile.name != "alibaba" {
            return Verdict::not_applicable(format!(
                "Security Center is Alibaba Cloud's agent; the target is {}",
                profile.display_name
            ));
        }
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        agent_verdict(
            &lf.agents.security_center,
            "the Security Center agent",
            "no /usr/local/aegis, aegis.service or /etc/init.d/aegis",
            "aegis.service",
            META.remedy,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn installed_and_enabled_passes() {
        let mut lf = good_linux_facts();
        lf.agents.security_center.present = true;
        lf.agents.security_center.enabled = true;
        lf.agents.security_center.evidence = vec!["/usr/local/aegis/aegis_client".into()];
        let d = assert_pass(&SecurityCenter.run(&with_linux(lf), &TargetProfile::alibaba()));
        assert_eq!(d.as_deref(), Some("/usr/local/aegis/aegis_client"));
    }

    #[test]
    fn missing_or_disabled_is_recommended() {
        let mut lf = good_linux_facts();
        findings(
            &SecurityCenter.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[Recommended],
        );
        lf.agents.security_center.present = true;
        let f = findings(
            &SecurityCenter.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.contains("not enabled"));
    }

    #[test]
    fn other_targets_not_applicable() {
        assert_not_applicable(
            &SecurityCenter.run(&with_linux(good_linux_facts()), &TargetProfile::aws()),
        );
        assert_not_evaluated(&SecurityCenter.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
