//! `linux.cloud-assistant` (Alibaba `GUESTOS.CloudAssistant`): the Alibaba Cloud Assistant
//! agent is installed.
//!
//! Rule from checks.md §2 `cloud_assistant` (repair item `assist` of `ACS-ECS-RepairImage`):
//! evidence `/usr/local/share/aliyun-assist/`, `/usr/sbin/aliyun-service`, `aliyun.service`,
//! package `aliyun-assist` (imgcheck-inspect `agents`). Recommended on Alibaba, Not applicable
//! on other targets. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.cloud-assistant",
    alibaba_item: Some("GUESTOS.CloudAssistant"),
    title: "Alibaba Cloud Assistant installed",
    applies_to: Applicability::Linux,
    inputs: &[
        "/usr/local/share/aliyun-assist/",
        "/usr/sbin/aliyun-service",
        "aliyun.service",
        "aliyun-assist package",
    ],
    remedy: "Install the Cloud Assistant agent (package aliyun-assist) so the console can run \
commands and repairs on the instance.",
    references: &["Alibaba Cloud: Install the Cloud Assistant Agent (GUESTOS.CloudAssistant)"],
    description: "On the Alibaba target, a missing Cloud Assistant agent is a recommended \
optimisation; installed but not enabled is reported too. Other targets: Not applicable.",
};

/// The check.
pub struct CloudAssistant;

impl Check for CloudAssistant {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if profile.name != "alibaba" {
            return Verdict::not_applicable(format!(
                "Cloud Assistant is Alibaba Cloud's agent; the target is {}",
                profile.display_name
            ));
        }
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        agent_verdict(
            &lf.agents.cloud_assistant,
            "the Cloud Assistant agent",
            "no aliyun-service, aliyun.service or aliyun-assist package",
            "aliyun.service",
            META.remedy,
        )
    }
}

/// The verdict for an Alibaba agent: installed and its unit enabled passes; missing or not
/// enabled is a recommended finding. Shared with `linux.security-center`.
pub(crate) fn agent_verdict(
    a: &imgcheck_inspect::agents::Agent,
    what: &str,
    looked_for: &str,
    unit: &str,
    install_remedy: &str,
) -> Verdict {
    if !a.present {
        return Verdict::Findings(vec![Finding::recommended(
            format!("{what} is not installed ({looked_for})"),
            install_remedy,
        )]);
    }
    if !a.enabled {
        return Verdict::Findings(vec![Finding::recommended(
            format!(
                "{what} is installed ({}) but {unit} is not enabled",
                a.evidence.join(", ")
            ),
            format!("Enable it: systemctl enable {unit}."),
        )]);
    }
    Verdict::pass_with(a.evidence.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn installed_and_enabled_passes() {
        let mut lf = good_linux_facts();
        lf.agents.cloud_assistant.present = true;
        lf.agents.cloud_assistant.enabled = true;
        lf.agents.cloud_assistant.evidence = vec!["/usr/sbin/aliyun-service".into()];
        let d = assert_pass(&CloudAssistant.run(&with_linux(lf), &TargetProfile::alibaba()));
        assert_eq!(d.as_deref(), Some("/usr/sbin/aliyun-service"));
    }

    #[test]
    fn missing_or_disabled_is_recommended() {
        let mut lf = good_linux_facts();
        findings(
            &CloudAssistant.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[Recommended],
        );
        lf.agents.cloud_assistant.present = true;
        let f = findings(
            &CloudAssistant.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.contains("not enabled"));
    }

    #[test]
    fn other_targets_not_applicable() {
        assert_not_applicable(
            &CloudAssistant.run(&with_linux(good_linux_facts()), &TargetProfile::aws()),
        );
        assert_not_evaluated(&CloudAssistant.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
