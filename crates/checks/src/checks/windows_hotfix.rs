//! `windows.hotfix` (GUESTOS.Hotfix): no update known to break imported instances, the
//! updates an old release needs, no update half-installed.
//!
//! Rule from checks.md §3 `hotfix`: installed packages are `SOFTWARE\Microsoft\Windows\
//! CurrentVersion\Component Based Servicing\Packages\Package_for_KB<n>~…` (`CurrentState` 0x70 =
//! installed). Alibaba's known-bad list (KB5009624, KB5009595, KB5009546, KB5009557, KB5009555,
//! KB5014738, KB5014702, KB5014692, KB5014678); Alibaba requires KB3033929 (SHA-2) on Windows
//! Server 2008 R2. CBS pending states (I): 0x05 uninstall pending, 0x60 install pending,
//! 0x65 partially installed (CBS `CurrentState` values as published by servicing
//! troubleshooting guides). Our own code.

use super::windows_platform::{is_server, need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// The CBS packages key.
const CBS_PACKAGES: &str =
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages";
/// Alibaba's known-bad updates (checks.md §3 hotfix).
const KNOWN_BAD: &[&str] = &[
    "KB5009624",
    "KB5009595",
    "KB5009546",
    "KB5009557",
    "KB5009555",
    "KB5014738",
    "KB5014702",
    "KB5014692",
    "KB5014678",
];
/// SHA-2 code signing support, required by Alibaba on Windows Server 2008 R2.
const SHA2_KB: &str = "KB3033929";
/// CBS `CurrentState` values of an unfinished operation (I): uninstall pending, install
/// pending, partially installed.
const PENDING_STATES: &[u32] = &[0x05, 0x60, 0x65];

static META: CheckMeta = CheckMeta {
    id: "windows.hotfix",
    alibaba_item: Some("GUESTOS.Hotfix"),
    title: "Known-bad and required Windows updates",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages\Package_for_KB*: CurrentState",
    ],
    remedy: "Uninstall the listed update (wusa /uninstall /kb:<n>) or install its fixed \
successor; on Windows Server 2008 R2 install KB3033929; let pending updates finish with a reboot \
before exporting.",
    references: &[
        "Alibaba image check: GUESTOS.Hotfix (known-bad KB list)",
        "GCP image import precheck check_sha2.go (SHA-2 updates on 2008 R2)",
        "checks.md §3 hotfix",
    ],
    description: "A strongly recommended fix when an update on Alibaba's known-bad list is \
installed, or (Alibaba) when Windows Server 2008 R2 lacks KB3033929; a recommended fix when an \
update package is in a pending or partially installed CBS state. Not evaluated when the SOFTWARE \
hive cannot be read.",
};

/// The check.
pub struct Hotfix;

impl Check for Hotfix {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SOFTWARE") {
            return v;
        }
        let mut out = Vec::new();
        for h in &w.hotfixes {
            if h.installed && KNOWN_BAD.iter().any(|b| b.eq_ignore_ascii_case(&h.kb)) {
                out.push(
                    Finding::strongly(
                        format!(
                            "{} is installed: it is on Alibaba's list of updates that break \
                             imported instances",
                            h.kb
                        ),
                        format!(
                            "Uninstall it (wusa /uninstall /kb:{}) or install the later \
                             cumulative update that replaces it, then export again.",
                            h.kb.trim_start_matches("KB")
                        ),
                    )
                    .with_evidence(format!(r"{CBS_PACKAGES}\{}: CurrentState 0x70", h.package)),
                );
            }
            if let Some(s) = h.state.filter(|s| PENDING_STATES.contains(s)) {
                out.push(
                    Finding::recommended(
                        format!(
                            "{} is in CBS state {s:#x} (pending or partially installed)",
                            h.kb
                        ),
                        "Boot the guest and let servicing finish (reboot until no update is \
                         pending), then export again.",
                    )
                    .with_evidence(format!(
                        r"{CBS_PACKAGES}\{}: CurrentState {s:#x}",
                        h.package
                    )),
                );
            }
        }
        let r2008 = matches!((w.major_version, w.minor_version), (Some(6), Some(1)));
        if profile.name == super::windows_platform::ALIBABA
            && r2008
            && is_server(w)
            && !w
                .hotfixes
                .iter()
                .any(|h| h.installed && h.kb.eq_ignore_ascii_case(SHA2_KB))
        {
            out.push(Finding::strongly(
                format!(
                    "Windows Server 2008 R2 without {SHA2_KB} (SHA-2 code signing): SHA-2 signed \
                     drivers such as current virtio drivers do not load"
                ),
                "Install KB3033929 (and KB4474419) before exporting.",
            ));
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{} update packages, none known to be bad",
                w.hotfixes.len()
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn kb(kb: &str, state: u32) -> imgcheck_inspect::windows::Hotfix {
        imgcheck_inspect::windows::Hotfix {
            kb: kb.into(),
            package: format!("Package_for_{kb}~31bf3856ad364e35~amd64~~1.0"),
            state: Some(state),
            installed: state == 0x70,
        }
    }

    #[test]
    fn good_passes() {
        assert_eq!(
            assert_pass(&Hotfix.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "1 update packages, none known to be bad"
        );
    }

    #[test]
    fn bad_and_pending() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.hotfixes.push(kb("KB5009555", 0x70));
        w.hotfixes.push(kb("KB5010000", 0x60));
        let x = findings(
            &Hotfix.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, Recommended],
        );
        assert!(x[0].message.starts_with("KB5009555 is installed"));
        assert!(x[0].evidence[0].contains(r"Packages\Package_for_KB5009555~"));
        assert!(x[1].message.contains("0x60"));
    }

    #[test]
    fn sha2_on_2008_r2() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.major_version = Some(6);
        w.minor_version = Some(1);
        let x = findings(
            &Hotfix.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0].message.contains("KB3033929"));
        assert_pass(&Hotfix.run(&f, &TargetProfile::aws()));
        win_mut(&mut f).hotfixes.push(kb("KB3033929", 0x70));
        assert_pass(&Hotfix.run(&f, &TargetProfile::alibaba()));
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        break_hive(&mut f, "SOFTWARE");
        assert_not_evaluated(&Hotfix.run(&f, &TargetProfile::alibaba()));
    }
}
