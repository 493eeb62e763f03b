//! `windows.update` (GUESTOS.Update): no interrupted or pending servicing that runs (or rolls
//! back) on the first boot in the cloud.
//!
//! Rule from checks.md §3 `pending_update` (Alibaba GUESTOS.Update; Azure: no pending restart;
//! AWS: no pending updates): `\Windows\WinSxS\pending.xml`, CBS `RebootPending` /
//! `PackagesPending` (servicing runs before logon and can take long or roll back: strongly
//! recommended), Windows Update `RebootRequired` and `Session Manager\
//! PendingFileRenameOperations` (a reboot is due: recommended). Our own code.

use super::windows_platform::{ccs, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// CBS key.
const CBS: &str = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing";
/// Windows Update key.
const WU: &str = r"SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update";
/// Renames shown as evidence at most.
const MAX_EVIDENCE: usize = 8;

static META: CheckMeta = CheckMeta {
    id: "windows.update",
    alibaba_item: Some("GUESTOS.Update"),
    title: "Pending Windows updates and reboots",
    applies_to: Applicability::Windows,
    inputs: &[
        r"\Windows\WinSxS\pending.xml",
        r"SOFTWARE\...\Component Based Servicing\RebootPending, PackagesPending",
        r"SOFTWARE\...\WindowsUpdate\Auto Update\RebootRequired",
        r"SYSTEM\ControlSet00n\Control\Session Manager: PendingFileRenameOperations",
    ],
    remedy: "Boot the source guest, let Windows finish installing updates and reboot until none \
is pending, then shut down and export again.",
    references: &[
        "Alibaba image check: GUESTOS.Update",
        "Azure: prepare a Windows VHD (no pending restart)",
        "checks.md §3 pending_update",
    ],
    description: "A strongly recommended fix when component servicing is pending \
(WinSxS\\pending.xml, CBS RebootPending or PackagesPending): it runs before logon on the first \
boot and can take long, fail without the old drivers, or roll back. A recommended fix when only a \
reboot is due (Windows Update RebootRequired, PendingFileRenameOperations).",
};

/// The check.
pub struct Update;

impl Check for Update {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let p = &w.pending;
        let fix = "Boot the source guest, let updates finish and reboot until none is pending, \
                   then export again.";
        let mut ev = Vec::new();
        if p.pending_xml {
            ev.push(format!(
                r"{}\WinSxS\pending.xml exists",
                w.system_root.replace('/', "\\")
            ));
        }
        if p.cbs_reboot_pending {
            ev.push(format!(r"{CBS}\RebootPending exists"));
        }
        if p.cbs_packages_pending {
            ev.push(format!(r"{CBS}\PackagesPending exists"));
        }
        let mut out = Vec::new();
        if !ev.is_empty() {
            let mut f = Finding::strongly(
                "component servicing is pending: updates are installed (or rolled back) before \
                 logon on the first boot",
                fix,
            );
            for e in ev {
                f = f.with_evidence(e);
            }
            out.push(f);
        }
        let mut ev = Vec::new();
        if p.wu_reboot_required {
            ev.push(format!(r"{WU}\RebootRequired exists"));
        }
        if !p.pending_file_renames.is_empty() {
            ev.push(format!(
                r"{}\Control\Session Manager\PendingFileRenameOperations has {} entries",
                ccs(w),
                p.pending_file_renames.len()
            ));
            ev.extend(
                p.pending_file_renames
                    .iter()
                    .filter(|r| !r.is_empty())
                    .take(MAX_EVIDENCE)
                    .cloned(),
            );
        }
        if !ev.is_empty() {
            let mut f = Finding::recommended("a reboot is pending to finish updates", fix);
            for e in ev {
                f = f.with_evidence(e);
            }
            out.push(f);
        }
        Verdict::from_findings(out, Some("no pending servicing or reboot".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn good_passes() {
        assert_pass(&Update.run(&good_windows(), &TargetProfile::alibaba()));
    }

    #[test]
    fn pending() {
        let mut f = good_windows();
        let p = &mut win_mut(&mut f).pending;
        p.pending_xml = true;
        p.cbs_reboot_pending = true;
        p.wu_reboot_required = true;
        p.pending_file_renames = vec![r"\??\C:\a.tmp".into(), String::new()];
        p.reboot_pending = true;
        let x = findings(
            &Update.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, Recommended],
        );
        assert_eq!(x[0].evidence[0], r"\Windows\WinSxS\pending.xml exists");
        assert!(x[0].evidence[1].ends_with(r"Component Based Servicing\RebootPending exists"));
        assert!(x[1].evidence[1].contains("PendingFileRenameOperations has 2 entries"));
        assert_eq!(x[1].evidence[2], r"\??\C:\a.tmp");
        let mut f = good_windows();
        win_mut(&mut f).pending.wu_reboot_required = true;
        findings(&Update.run(&f, &TargetProfile::alibaba()), &[Recommended]);
    }

    #[test]
    fn not_evaluated_without_facts() {
        let mut f = good_windows();
        f.guest.as_mut().unwrap().windows = None;
        assert_not_evaluated(&Update.run(&f, &TargetProfile::alibaba()));
    }
}
