//! `windows.desktop-config` (GUESTOS.DesktopConfig): the desktop configuration files exist.
//!
//! Rule from checks.md §3 `desktop_ini` (Alibaba GUESTOS.DesktopConfig, "desktop configuration
//! file not missing"; the location is inferred): `desktop.ini` in `\Users\Public\Desktop` and in
//! every `\Users\<profile>\Desktop` folder. Without it Explorer shows the folder under its file
//! name instead of its localised name and loses its folder settings. Our own code.

use super::windows_platform::windows;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.desktop-config",
    alibaba_item: Some("GUESTOS.DesktopConfig"),
    title: "Desktop configuration files (desktop.ini)",
    applies_to: Applicability::Windows,
    inputs: &[
        r"\Users\Public\Desktop\desktop.ini",
        r"\Users\<profile>\Desktop\desktop.ini",
    ],
    remedy: "Restore the missing desktop.ini files (hidden system files; copy them from a \
healthy installation of the same Windows release, or let Windows recreate the folder) before \
exporting.",
    references: &[
        "Alibaba image check: GUESTOS.DesktopConfig",
        "checks.md §3 desktop_ini",
    ],
    description: "A recommended fix when \\Users\\Public\\Desktop is missing or lacks \
desktop.ini, or when a user's Desktop folder lacks desktop.ini. Not evaluated when \\Users \
could not be listed.",
};

/// The check.
pub struct DesktopConfig;

/// Guest path `/Users/x/Desktop` as Windows writes it.
fn win_path(p: &str) -> String {
    format!("C:{}", p.replace('/', "\\"))
}

impl Check for DesktopConfig {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let Some(d) = &w.desktop else {
            return Verdict::not_evaluated(r"\Users could not be listed on the Windows volume");
        };
        let fix = "Restore desktop.ini in these folders (copy it from a healthy installation of \
                   the same Windows release), then export again.";
        let mut out = Vec::new();
        if !d.public_desktop_present {
            out.push(
                Finding::recommended(
                    r"the public desktop folder C:\Users\Public\Desktop is missing",
                    r"Recreate C:\Users\Public\Desktop with its desktop.ini, then export again.",
                )
                .with_evidence(r"no directory \Users\Public\Desktop on the Windows volume"),
            );
        }
        let missing: Vec<String> = d
            .folders
            .iter()
            .filter(|f| !f.desktop_ini)
            .map(|f| win_path(&f.path))
            .collect();
        if !missing.is_empty() {
            let mut f = Finding::recommended(
                format!(
                    "desktop.ini is missing from {} desktop folder(s): {}",
                    missing.len(),
                    missing.join(", ")
                ),
                fix,
            );
            for m in &missing {
                f = f.with_evidence(format!(r"{m}\desktop.ini does not exist"));
            }
            out.push(f);
        }
        let have: Vec<String> = d.folders.iter().map(|f| win_path(&f.path)).collect();
        Verdict::from_findings(
            out,
            Some(format!("desktop.ini present in {}", have.join(", "))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn good_passes() {
        assert_eq!(
            assert_pass(&DesktopConfig.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            r"desktop.ini present in C:\Users\Administrator\Desktop, C:\Users\Public\Desktop"
        );
    }

    #[test]
    fn missing_files() {
        let mut f = good_windows();
        for folder in &mut win_mut(&mut f).desktop.as_mut().unwrap().folders {
            folder.desktop_ini = false;
        }
        let x = findings(
            &DesktopConfig.run(&f, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(x[0].message.contains("from 2 desktop folder(s)"));
        assert_eq!(
            x[0].evidence,
            [
                r"C:\Users\Administrator\Desktop\desktop.ini does not exist",
                r"C:\Users\Public\Desktop\desktop.ini does not exist"
            ]
        );
    }

    #[test]
    fn missing_public_desktop() {
        let mut f = good_windows();
        let d = win_mut(&mut f).desktop.as_mut().unwrap();
        d.public_desktop_present = false;
        d.folders.retain(|f| !f.path.contains("Public"));
        let x = findings(
            &DesktopConfig.run(&f, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(x[0].message.contains(r"C:\Users\Public\Desktop is missing"));
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        win_mut(&mut f).desktop = None;
        assert!(
            assert_not_evaluated(&DesktopConfig.run(&f, &TargetProfile::alibaba()))
                .contains(r"\Users")
        );
    }
}
