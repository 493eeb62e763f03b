//! `windows.registry` (GUESTOS.Registry): the SYSTEM and SOFTWARE hives exist, parse, are not
//! dirty and name an existing control set.
//!
//! Rule from checks.md §3 `registry_hives` (Alibaba GUESTOS.Registry; regf base block per Maxim
//! Suhanov's specification: primary sequence ≠ secondary sequence ⇒ dirty, logs not replayed;
//! checksum at offset 508). The hive reading is `imgcheck_inspect::windows`. Our own code.

use super::windows_platform::windows;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// The hives Windows cannot boot without.
const HIVES: &[&str] = &["SYSTEM", "SOFTWARE"];

static META: CheckMeta = CheckMeta {
    id: "windows.registry",
    alibaba_item: Some("GUESTOS.Registry"),
    title: "Registry hives intact",
    applies_to: Applicability::Windows,
    inputs: &[
        r"\Windows\System32\config\SYSTEM, \Windows\System32\config\SOFTWARE (regf base block)",
        r"SYSTEM\Select\Current",
    ],
    remedy: "Shut the guest down cleanly (not a forced power-off or a live snapshot) so that \
the hive logs are flushed, then export again; restore damaged hives from \
\\Windows\\System32\\config\\RegBack or a backup.",
    references: &[
        "Alibaba image check: GUESTOS.Registry",
        "Maxim Suhanov, Windows registry file format specification (base block)",
        "checks.md §3 registry_hives",
    ],
    description: "A strongly recommended fix when the SYSTEM or SOFTWARE hive is missing, cannot \
be parsed, has a bad base block checksum, is dirty (primary and secondary sequence numbers differ: \
changes are only in the .LOG1/.LOG2 files), or when SYSTEM\\Select names no existing control \
set.",
};

/// The check.
pub struct Registry;

impl Check for Registry {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let fix = "Boot the source guest, shut it down cleanly and export again; if the hive is \
                   damaged, restore it from a backup.";
        let mut out = Vec::new();
        let mut ok = Vec::new();
        for name in HIVES {
            let Some(h) = w.hives.iter().find(|h| h.name.eq_ignore_ascii_case(name)) else {
                return Verdict::not_evaluated(format!("the {name} hive was not looked for"));
            };
            let f = if !h.present {
                Some(format!("the {name} hive {} is missing", h.path))
            } else if !h.parsed {
                Some(format!(
                    "the {name} hive {} cannot be parsed: {}",
                    h.path,
                    h.error.as_deref().unwrap_or("unknown error")
                ))
            } else if !h.checksum_ok {
                Some(format!(
                    "the {name} hive {} has a bad base block checksum (offset 508)",
                    h.path
                ))
            } else if h.dirty {
                Some(format!(
                    "the {name} hive {} is dirty: its primary and secondary sequence numbers \
                     differ, recent changes are only in its .LOG1/.LOG2 files",
                    h.path
                ))
            } else {
                None
            };
            match f {
                Some(m) => {
                    let mut x = Finding::strongly(m, fix);
                    for a in &h.anomalies {
                        x = x.with_evidence(a.clone());
                    }
                    out.push(x);
                }
                None => ok.push(format!("{name} ({} bytes)", h.size)),
            }
        }
        let system_parsed = w
            .hives
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("SYSTEM") && h.parsed);
        if system_parsed && w.current_control_set.is_none() {
            out.push(Finding::strongly(
                r"SYSTEM\Select names no existing control set (Current/Default → ControlSet00n)",
                fix,
            ));
        }
        Verdict::from_findings(out, Some(format!("hives parsed: {}", ok.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn good_passes() {
        let d = assert_pass(&Registry.run(&good_windows(), &TargetProfile::alibaba())).unwrap();
        assert_eq!(
            d,
            "hives parsed: SYSTEM (1048576 bytes), SOFTWARE (1048576 bytes)"
        );
    }

    #[test]
    fn broken_hives() {
        let mut f = good_windows();
        break_hive(&mut f, "SOFTWARE");
        let w = win_mut(&mut f);
        w.hives[1].dirty = true;
        w.hives[1].anomalies.push("hbin at 0x1000: bad size".into());
        let x = findings(
            &Registry.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, StronglyRecommended],
        );
        assert!(x[0]
            .message
            .contains("SYSTEM hive /Windows/System32/config/SYSTEM is dirty"));
        assert_eq!(x[0].evidence, ["hbin at 0x1000: bad size"]);
        assert!(x[1].message.contains("SOFTWARE hive"));
        assert!(x[1].message.contains("cannot be parsed: regf"));
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.hives[0].present = false;
        w.hives[1].checksum_ok = false;
        w.current_control_set = None;
        let x = findings(
            &Registry.run(&f, &TargetProfile::alibaba()),
            &[
                StronglyRecommended,
                StronglyRecommended,
                StronglyRecommended,
            ],
        );
        assert!(x[0]
            .message
            .contains("SYSTEM hive /Windows/System32/config/SYSTEM has a bad base block checksum"));
        assert!(x[1]
            .message
            .contains("SOFTWARE hive /Windows/System32/config/SOFTWARE is missing"));
        assert!(x[2].message.contains(r"SYSTEM\Select"));
    }

    #[test]
    fn not_evaluated_without_hive_status() {
        let mut f = good_windows();
        win_mut(&mut f).hives.clear();
        assert!(
            assert_not_evaluated(&Registry.run(&f, &TargetProfile::alibaba()))
                .contains("SYSTEM hive")
        );
    }
}
