//! `windows.sysprep` (GUESTOS.Sysprep): Sysprep finished; the image is not stuck in an
//! interrupted setup state.
//!
//! Rule from checks.md §3 `sysprep_state`: `SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\
//! State\ImageState` (and `\Windows\Setup\State\State.ini`) `IMAGE_STATE_COMPLETE` or
//! `IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE` are fine; any other state (e.g.
//! `IMAGE_STATE_UNDEPLOYABLE`) means Sysprep or setup was interrupted; `SYSTEM\Setup\
//! SystemSetupInProgress` ≠ 0 likewise. Our own code.

use super::windows_platform::windows;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// Image states of a usable image.
const GOOD_STATES: &[&str] = &[
    "IMAGE_STATE_COMPLETE",
    "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE",
];
/// Registry location of `ImageState`.
const STATE_KEY: &str = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State";

static META: CheckMeta = CheckMeta {
    id: "windows.sysprep",
    alibaba_item: Some("GUESTOS.Sysprep"),
    title: "Sysprep / setup state",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State: ImageState",
        r"\Windows\Setup\State\State.ini: ImageState",
        r"SYSTEM\Setup: SystemSetupInProgress",
    ],
    remedy: "Boot the source guest and let setup finish, or run Sysprep again to completion \
(sysprep /generalize /oobe /shutdown) and export the image only after it shut down by itself.",
    references: &[
        "Alibaba image check: GUESTOS.Sysprep",
        "Microsoft: Windows setup states (ImageState values)",
        "checks.md §3 sysprep_state",
    ],
    description: "A strongly recommended fix when ImageState (registry or State.ini) is other \
than IMAGE_STATE_COMPLETE or IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE (e.g. \
IMAGE_STATE_UNDEPLOYABLE: Sysprep was interrupted and Windows will not boot), or when \
SystemSetupInProgress is set. Not evaluated when neither source says anything.",
};

/// The check.
pub struct Sysprep;

impl Check for Sysprep {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let s = &w.sysprep;
        let mut out = Vec::new();
        let fix = "Boot the source guest and let setup finish, or run Sysprep again to \
                   completion, then export again.";
        let sources = [
            (format!(r"{STATE_KEY}\ImageState"), &s.image_state),
            (
                format!(
                    r"{}\Setup\State\State.ini ImageState",
                    w.system_root.replace('/', "\\")
                ),
                &s.state_ini_image_state,
            ),
        ];
        let mut seen = Vec::new();
        for (place, state) in &sources {
            let Some(state) = state else { continue };
            seen.push(state.clone());
            if !GOOD_STATES.iter().any(|g| g.eq_ignore_ascii_case(state)) {
                out.push(
                    Finding::strongly(
                        format!("{place} = {state}: Sysprep or setup did not finish"),
                        fix,
                    )
                    .with_evidence(format!("{place} = {state}")),
                );
            }
        }
        if let Some(n) = s.setup_in_progress.filter(|n| *n != 0) {
            out.push(Finding::strongly(
                format!(r"SYSTEM\Setup\SystemSetupInProgress = {n}: Windows setup is in progress"),
                fix,
            ));
        }
        if seen.is_empty() && out.is_empty() {
            return Verdict::not_evaluated(format!(
                "no ImageState: neither {STATE_KEY} nor State.ini was readable or set"
            ));
        }
        seen.dedup();
        Verdict::from_findings(out, Some(format!("ImageState {}", seen.join(" / "))))
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
            assert_pass(&Sysprep.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "ImageState IMAGE_STATE_COMPLETE"
        );
    }

    #[test]
    fn undeployable() {
        let mut f = good_windows();
        let s = &mut win_mut(&mut f).sysprep;
        s.image_state = Some("IMAGE_STATE_UNDEPLOYABLE".into());
        s.state_ini_image_state = Some("IMAGE_STATE_UNDEPLOYABLE".into());
        s.setup_in_progress = Some(1);
        let x = findings(
            &Sysprep.run(&f, &TargetProfile::alibaba()),
            &[
                StronglyRecommended,
                StronglyRecommended,
                StronglyRecommended,
            ],
        );
        assert!(x[0].message.starts_with(r"SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State\ImageState = IMAGE_STATE_UNDEPLOYABLE"));
        assert!(x[1].message.contains(r"\Windows\Setup\State\State.ini"));
        assert!(x[2].message.contains("SystemSetupInProgress"));
    }

    #[test]
    fn not_evaluated_without_state() {
        let mut f = good_windows();
        win_mut(&mut f).sysprep = Default::default();
        assert!(
            assert_not_evaluated(&Sysprep.run(&f, &TargetProfile::alibaba()))
                .contains("no ImageState")
        );
    }
}
