//! `windows.hypervisor-tools`: no other hypervisor's guest tools are installed.
//!
//! Rule from checks.md §3 `other_hypervisor_tools_win` (virt-v2v uninstalls VMware, Parallels,
//! Virtuozzo and Xen tools on first boot; AWS asks to uninstall VMware Tools): the Uninstall list
//! and services, as detected by the inspection layer (`hypervisor_tools`). Their services fail or
//! misbehave on the cloud's hypervisor. Our own code.

use super::windows_platform::windows;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.hypervisor-tools",
    alibaba_item: None,
    title: "Other hypervisors' guest tools (Windows)",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\* (and WOW6432Node): DisplayName",
        r"SYSTEM\ControlSet00n\Services (tool services)",
    ],
    remedy: "Uninstall the other hypervisor's guest tools (VMware Tools, VirtualBox Guest \
Additions, Parallels/Virtuozzo Tools, Xen tools) in the source guest before exporting.",
    references: &[
        "virt-v2v convert/convert_windows.ml (uninstalls other tools on first boot)",
        "AWS VM Import: uninstall VMware Tools",
        "checks.md §3 other_hypervisor_tools_win",
    ],
    description: "A recommended fix for each other hypervisor's guest tools found in the \
Uninstall list or as services: their drivers and services do not work on the target's \
hypervisor and can slow boot or hold devices.",
};

/// The check.
pub struct HypervisorTools;

impl Check for HypervisorTools {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if w.hypervisor_tools.is_empty() {
            if let Some(p) = super::windows_platform::hive_problem(w, "SOFTWARE") {
                return Verdict::not_evaluated(p);
            }
        }
        let out = w
            .hypervisor_tools
            .iter()
            .map(|t| {
                let mut f = Finding::recommended(
                    format!(
                        "{} is installed: it does not work on the target's hypervisor",
                        t.name
                    ),
                    format!("Uninstall {} in the source guest before exporting.", t.name),
                );
                for e in &t.evidence {
                    f = f.with_evidence(e.clone());
                }
                f
            })
            .collect();
        Verdict::from_findings(out, Some("no other hypervisor's tools".into()))
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
        assert_pass(&HypervisorTools.run(&good_windows(), &TargetProfile::alibaba()));
        let mut f = good_windows();
        win_mut(&mut f).hypervisor_tools.push(Detected {
            id: "vmware-tools".into(),
            name: "VMware Tools".into(),
            evidence: vec!["program \"VMware Tools\" 12.3.5".into()],
        });
        let x = findings(
            &HypervisorTools.run(&f, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(x[0].message.starts_with("VMware Tools is installed"));
        assert_eq!(x[0].evidence, ["program \"VMware Tools\" 12.3.5"]);
        let mut f = good_windows();
        break_hive(&mut f, "SOFTWARE");
        assert_not_evaluated(&HypervisorTools.run(&f, &TargetProfile::alibaba()));
    }
}
