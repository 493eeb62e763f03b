//! `windows.hibernation`: the system is not hibernated, and hibernation / Fast Startup are off.
//!
//! Rule from checks.md §3 `hibernation_faststartup` (virt-v2v refuses a hibernated guest: "NTFS
//! partition is in an unsafe state"; GCP disables hibernation on import): `\hiberfil.sys` with a
//! `hibr`/`wake` signature means the system volume is not consistent (strongly recommended);
//! `Control\Power\HibernateEnabled` and `Session Manager\Power\HiberbootEnabled` (Fast Startup)
//! are recommended off. Our own code.

use super::windows_platform::{ccs, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.hibernation",
    alibaba_item: None,
    title: "Hibernation and Fast Startup",
    applies_to: Applicability::Windows,
    inputs: &[
        r"\hiberfil.sys (first 4 bytes)",
        r"SYSTEM\ControlSet00n\Control\Power: HibernateEnabled",
        r"SYSTEM\ControlSet00n\Control\Session Manager\Power: HiberbootEnabled",
    ],
    remedy: "Boot the source guest, turn hibernation off (powercfg /h off, which also disables \
Fast Startup) and shut down fully before exporting.",
    references: &[
        "virt-v2v inspect_source.ml (hibernated guests refused)",
        "GCP image import (hibernation disabled on import)",
        "checks.md §3 hibernation_faststartup",
    ],
    description: "A strongly recommended fix when hiberfil.sys holds a hibernated system (the \
volume's contents are not consistent until Windows resumes, and the instance cannot resume on \
other hardware); recommended when hibernation or Fast Startup is enabled (a later shutdown may \
hibernate the kernel).",
};

/// The check.
pub struct Hibernation;

impl Check for Hibernation {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let h = &w.hibernation;
        let mut out = Vec::new();
        if h.hibernated {
            out.push(
                Finding::strongly(
                    r"the system is hibernated: \hiberfil.sys holds a hibernation image, the system volume is not consistent",
                    "Boot the source guest (it resumes), then shut it down fully with \
                     hibernation off (powercfg /h off) and export again.",
                )
                .with_evidence(format!(
                    r"\hiberfil.sys signature {:?}",
                    h.hiberfil_signature.as_deref().unwrap_or("?")
                )),
            );
        }
        let mut ev = Vec::new();
        if h.enabled == Some(true) {
            ev.push(format!(r"{}\Control\Power\HibernateEnabled = 1", ccs(w)));
        }
        if w.fast_startup == Some(true) {
            ev.push(format!(
                r"{}\Control\Session Manager\Power\HiberbootEnabled = 1",
                ccs(w)
            ));
        }
        if !ev.is_empty() {
            let mut f = Finding::recommended(
                "hibernation or Fast Startup is enabled: a shutdown may leave the system \
                 hibernated",
                "Run powercfg /h off in the source guest before the final shutdown.",
            );
            for e in ev {
                f = f.with_evidence(e);
            }
            out.push(f);
        }
        Verdict::from_findings(
            out,
            Some("not hibernated; hibernation and Fast Startup off".into()),
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
        assert_pass(&Hibernation.run(&good_windows(), &TargetProfile::alibaba()));
    }

    #[test]
    fn hibernated_and_enabled() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.hibernation.hibernated = true;
        w.hibernation.hiberfil_present = true;
        w.hibernation.hiberfil_signature = Some("hibr".into());
        w.hibernation.enabled = Some(true);
        w.fast_startup = Some(true);
        let x = findings(
            &Hibernation.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, Recommended],
        );
        assert_eq!(x[0].evidence, [r#"\hiberfil.sys signature "hibr""#]);
        assert_eq!(x[1].evidence.len(), 2);
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        f.guest.as_mut().unwrap().windows = None;
        assert_not_evaluated(&Hibernation.run(&f, &TargetProfile::alibaba()));
    }
}
