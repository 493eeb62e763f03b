//! `windows.vminit` (GUESTOS.Vminit): Alibaba's Windows initialisation agent (password, host
//! name, network, user data) is installed.
//!
//! Rule from checks.md §0.1 (Vminit is a Standard Windows repair item of
//! `CreateImagePipeline.RepairMode`) and §3 `vminit`; the service names (`vminit`,
//! `vminit-service`) are the inspection layer's and inferred (I). Alibaba only. Our own code.

use super::windows_cloud_assistant::agent_verdict;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.vminit",
    alibaba_item: Some("GUESTOS.Vminit"),
    title: "Alibaba vminit agent (Windows)",
    applies_to: Applicability::Windows,
    inputs: &[r"SYSTEM\ControlSet00n\Services\vminit, vminit-service"],
    remedy: "Let Alibaba's image repair (repair item Vminit) install the initialisation agent, \
or install it in the source guest, so that the instance's password, host name and network are \
set on first boot.",
    references: &[
        "Alibaba CreateImagePipeline RepairMode (Vminit)",
        "checks.md §0.1, §3 vminit",
    ],
    description: "Alibaba Cloud only: a recommended fix when no vminit service is found \
(service names inferred).",
};

/// The check.
pub struct Vminit;

impl Check for Vminit {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        agent_verdict(facts, profile, "vminit", "vminit", META.remedy)
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
        assert_pass(&Vminit.run(&f, &TargetProfile::alibaba()));
        assert_not_applicable(&Vminit.run(&f, &TargetProfile::gcp()));
        let mut f = good_windows();
        win_mut(&mut f).agents.retain(|a| a.id != "vminit");
        let x = findings(&Vminit.run(&f, &TargetProfile::alibaba()), &[Recommended]);
        assert!(x[0].message.starts_with("vminit is not installed"));
    }
}
