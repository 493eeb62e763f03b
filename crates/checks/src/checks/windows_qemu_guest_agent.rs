//! `windows.qemu-guest-agent`: the QEMU guest agent is installed where the target wants it, and
//! absent where the target does not accept it.
//!
//! Rule from checks.md §0.5 / §3 `qemu_ga_windows` (Alibaba import notes: images with qemu-ga
//! installed are not importable; virt-v2v installs it for KVM): detection is the inspection
//! layer's (`agents` id `qemu-guest-agent`: service `QEMU-GA` or program "QEMU guest agent");
//! the wish is [`TargetProfile::wants_qemu_ga`]. Our own code.

use super::windows_platform::{hive_problem, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// Agent id of the QEMU guest agent in the Windows facts.
const AGENT_ID: &str = "qemu-guest-agent";

static META: CheckMeta = CheckMeta {
    id: "windows.qemu-guest-agent",
    alibaba_item: None,
    title: "QEMU guest agent (Windows)",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Services\QEMU-GA",
        r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*: DisplayName",
    ],
    remedy: "Uninstall the QEMU guest agent before exporting when the target does not accept it \
(Alibaba Cloud); install it from virtio-win for plain KVM.",
    references: &[
        "Alibaba: Instructions for importing images (qemu-ga not supported)",
        "virt-v2v (installs qemu-ga)",
        "checks.md §0.5, §3 qemu_ga_windows",
    ],
    description: "A recommended fix when the agent is installed and the target does not want it, \
or missing and the target wants it.",
};

/// The check.
pub struct QemuGuestAgent;

impl Check for QemuGuestAgent {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let found = w.agents.iter().find(|a| a.id == AGENT_ID);
        match (found, profile.wants_qemu_ga) {
            (Some(a), false) => {
                let mut f = Finding::recommended(
                    format!(
                        "the QEMU guest agent is installed; {} does not accept images with it",
                        profile.display_name
                    ),
                    "Uninstall the QEMU guest agent in the source guest before exporting.",
                );
                for e in &a.evidence {
                    f = f.with_evidence(e.clone());
                }
                Verdict::Findings(vec![f])
            }
            (Some(a), true) => Verdict::pass_with(format!("installed: {}", a.evidence.join("; "))),
            (None, want) => {
                if let Some(p) = hive_problem(w, "SYSTEM") {
                    return Verdict::not_evaluated(p);
                }
                if want {
                    Verdict::Findings(vec![Finding::recommended(
                        format!(
                            "the QEMU guest agent is not installed; {} uses it for shutdown and \
                             guest information",
                            profile.display_name
                        ),
                        "Install the QEMU guest agent from the virtio-win media.",
                    )])
                } else {
                    Verdict::pass_with("not installed")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::windows::Detected;

    #[test]
    fn all_verdicts() {
        let f = good_windows();
        assert_pass(&QemuGuestAgent.run(&f, &TargetProfile::alibaba()));
        findings(
            &QemuGuestAgent.run(&f, &TargetProfile::kvm()),
            &[Recommended],
        );
        let mut f = good_windows();
        win_mut(&mut f).agents.push(Detected {
            id: AGENT_ID.into(),
            name: "QEMU guest agent".into(),
            evidence: vec!["service QEMU-GA (start 2)".into()],
        });
        let x = findings(
            &QemuGuestAgent.run(&f, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert_eq!(x[0].evidence, ["service QEMU-GA (start 2)"]);
        assert_pass(&QemuGuestAgent.run(&f, &TargetProfile::kvm()));
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&QemuGuestAgent.run(&f, &TargetProfile::alibaba()));
    }
}
