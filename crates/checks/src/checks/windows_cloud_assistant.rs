//! `windows.cloud-assistant` (GUESTOS.CloudAssistant): Alibaba Cloud Assistant is installed.
//!
//! Rule from checks.md §3 `cloud_assistant_win` (Alibaba; the agent installs service
//! `AliyunService` and files under `C:\ProgramData\aliyun\assist`). Detection is the inspection
//! layer's (`agents` id `aliyun-assist`). Alibaba only. Our own code.

use super::windows_platform::{windows, ALIBABA};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// Agent id of Cloud Assistant in the Windows facts.
pub(crate) const AGENT_ID: &str = "aliyun-assist";

static META: CheckMeta = CheckMeta {
    id: "windows.cloud-assistant",
    alibaba_item: Some("GUESTOS.CloudAssistant"),
    title: "Alibaba Cloud Assistant (Windows)",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Services\AliyunService",
        r"\ProgramData\aliyun\assist",
        r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*: DisplayName",
    ],
    remedy: "Install the Cloud Assistant agent for Windows in the source guest before \
exporting (or after the first boot).",
    references: &[
        "Alibaba image check: GUESTOS.CloudAssistant",
        "checks.md §3 cloud_assistant_win",
    ],
    description: "Alibaba Cloud only: a recommended fix when no Cloud Assistant service, file \
or program entry is found (remote commands and some console features need it).",
};

/// The check.
pub struct CloudAssistant;

/// Shared by `windows.cloud-assistant` and `windows.vminit`: pass when the agent is detected.
pub(crate) fn agent_verdict(
    facts: &Facts,
    profile: &TargetProfile,
    id: &str,
    what: &str,
    remedy: &str,
) -> Verdict {
    if profile.name != ALIBABA {
        return Verdict::not_applicable(format!("{what} is specific to Alibaba Cloud"));
    }
    let w = match windows(facts) {
        Ok(w) => w,
        Err(v) => return v,
    };
    if let Some(a) = w.agents.iter().find(|a| a.id == id) {
        return Verdict::pass_with(format!("{} found: {}", a.name, a.evidence.join("; ")));
    }
    if let Some(p) = super::windows_platform::hive_problem(w, "SYSTEM") {
        return Verdict::not_evaluated(p);
    }
    Verdict::Findings(vec![Finding::recommended(
        format!("{what} is not installed: no service, file or program entry of it was found"),
        remedy,
    )])
}

impl Check for CloudAssistant {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        agent_verdict(facts, profile, AGENT_ID, "Cloud Assistant", META.remedy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn all_verdicts() {
        let f = good_windows();
        assert!(
            assert_pass(&CloudAssistant.run(&f, &TargetProfile::alibaba()))
                .unwrap()
                .contains("service aliyun-assist")
        );
        assert_not_applicable(&CloudAssistant.run(&f, &TargetProfile::aws()));
        let mut f = good_windows();
        win_mut(&mut f).agents.clear();
        let x = findings(
            &CloudAssistant.run(&f, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(x[0].message.starts_with("Cloud Assistant is not installed"));
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&CloudAssistant.run(&f, &TargetProfile::alibaba()));
    }
}
