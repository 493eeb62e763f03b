//! The check engine: applicability gate, parallel run with rayon, panic isolation, results in
//! registry order (design invariants 3, 4 and 7). Our own code.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::registry::REGISTRY;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};
use rayon::prelude::*;
use serde::Serialize;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The check's metadata (id, Alibaba item, title, …).
    pub meta: &'static CheckMeta,
    /// What it decided.
    pub verdict: Verdict,
}

impl CheckResult {
    /// The check's id.
    pub fn id(&self) -> &'static str {
        self.meta.id
    }
}

/// Run every registered check on the facts, in parallel; results come back in registry order.
pub fn run_checks(facts: &Facts, profile: &TargetProfile) -> Vec<CheckResult> {
    run_checks_in(REGISTRY, facts, profile)
}

/// Run the given checks (e.g. a subset of [`REGISTRY`]); results in the order given.
pub fn run_checks_in(
    checks: &[&'static dyn Check],
    facts: &Facts,
    profile: &TargetProfile,
) -> Vec<CheckResult> {
    checks
        .par_iter()
        .map(|check| CheckResult {
            meta: check.meta(),
            verdict: run_one(*check, facts, profile),
        })
        .collect()
}

/// The checks that judge the container alone (format, integrity, sizes, allocation), not the
/// disk's contents: the only ones that run when a backing file was not opened.
pub const CONTAINER_CHECKS: &[&str] = &[
    "disk.image-format",
    "disk.image-integrity",
    "disk.size-limits",
    "disk.size-alignment",
    "disk.allocation",
];

/// The verdict a check gets without running: *Not evaluated* for a check of the disk's contents
/// when a backing file was not opened (the contents read as zeros where the backing file would
/// provide them: judging them would report a disk that does not exist), then the applicability
/// gate ([`gate`]). `None` = run it.
pub fn pre_gate(meta: &CheckMeta, facts: &Facts) -> Option<Verdict> {
    if facts.image.backing_unread && !CONTAINER_CHECKS.contains(&meta.id) {
        return Some(Verdict::not_evaluated(format!(
            "the backing file {} was not opened (use --follow-backing): the disk's contents are \
             unknown where the image does not store them",
            facts
                .image
                .backing_reference
                .as_deref()
                .map(|r| format!("\"{r}\""))
                .unwrap_or_else(|| "of the image".into())
        )));
    }
    gate(meta.applies_to, facts)
}

/// The verdict a check gets without running, when the guest does not fit its applicability.
/// `None` = run it.
pub fn gate(applies_to: Applicability, facts: &Facts) -> Option<Verdict> {
    let wanted = match applies_to {
        Applicability::Any => return None,
        Applicability::Linux => "linux",
        Applicability::Windows => "windows",
    };
    let Some(guest) = &facts.guest else {
        return Some(Verdict::not_evaluated("no operating system inspected"));
    };
    if guest.os_type.eq_ignore_ascii_case(wanted) {
        None
    } else if guest.os_type.is_empty() || guest.os_type.eq_ignore_ascii_case("unknown") {
        Some(Verdict::not_evaluated(format!(
            "operating system type unknown; this check concerns {wanted} guests"
        )))
    } else {
        Some(Verdict::not_applicable(format!(
            "the guest is {}; this check concerns {wanted} guests",
            guest.os_type
        )))
    }
}

/// Gate, then run one check, turning a panic into *Not evaluated*.
fn run_one(check: &dyn Check, facts: &Facts, profile: &TargetProfile) -> Verdict {
    let meta = check.meta();
    if let Some(v) = pre_gate(meta, facts) {
        return v;
    }
    match catch_unwind(AssertUnwindSafe(|| check.run(facts, profile))) {
        Ok(v) => v,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Verdict::not_evaluated(format!("internal error: check {} failed: {what}", meta.id))
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use crate::facts::GuestFacts;

    static PANIC_META: CheckMeta = CheckMeta {
        id: "disk.test-panics",
        alibaba_item: None,
        title: "panics",
        applies_to: Applicability::Any,
        inputs: &[],
        remedy: "",
        references: &[],
        description: "",
    };
    static LINUX_META: CheckMeta = CheckMeta {
        id: "linux.test-linux",
        alibaba_item: None,
        title: "linux only",
        applies_to: Applicability::Linux,
        inputs: &[],
        remedy: "",
        references: &[],
        description: "",
    };

    struct Panics;
    impl Check for Panics {
        fn meta(&self) -> &'static CheckMeta {
            &PANIC_META
        }
        fn run(&self, _: &Facts, _: &TargetProfile) -> Verdict {
            panic!("boom at offset 42")
        }
    }

    struct LinuxOnly;
    impl Check for LinuxOnly {
        fn meta(&self) -> &'static CheckMeta {
            &LINUX_META
        }
        fn run(&self, _: &Facts, _: &TargetProfile) -> Verdict {
            Verdict::pass()
        }
    }

    #[test]
    fn an_unread_backing_file_leaves_only_the_container_checks() {
        let mut f = crate::testutil::good_linux();
        f.image.has_backing = true;
        f.image.backing_reference = Some("base.qcow2".into());
        let before = run_checks(&f, &TargetProfile::alibaba());
        f.image.backing_unread = true;
        let after = run_checks(&f, &TargetProfile::alibaba());
        for id in CONTAINER_CHECKS {
            assert!(
                REGISTRY.iter().any(|c| c.meta().id == *id),
                "{id} is registered"
            );
        }
        for (b, a) in before.iter().zip(&after) {
            if CONTAINER_CHECKS.contains(&a.id()) {
                assert_eq!(a.verdict, b.verdict, "{}", a.id());
            } else {
                match &a.verdict {
                    Verdict::NotEvaluated { reason } => assert!(
                        reason.starts_with(
                            "the backing file \"base.qcow2\" was not opened (use --follow-backing)"
                        ),
                        "{}: {reason}",
                        a.id()
                    ),
                    other => panic!("{}: {other:?}", a.id()),
                }
            }
        }
    }

    #[test]
    fn a_panicking_check_becomes_not_evaluated_and_the_rest_run() {
        let facts = Facts {
            guest: Some(GuestFacts {
                os_type: "linux".into(),
                ..GuestFacts::default()
            }),
            ..Facts::default()
        };
        let r = run_checks_in(&[&Panics, &LinuxOnly], &facts, &TargetProfile::default());
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].id(), "disk.test-panics");
        match &r[0].verdict {
            Verdict::NotEvaluated { reason } => {
                assert!(reason.starts_with("internal error:"), "{reason}");
                assert!(reason.contains("boom at offset 42"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(r[1].verdict, Verdict::pass());
    }

    #[test]
    fn applicability_gate() {
        let mut facts = Facts::default();
        assert_eq!(
            gate(Applicability::Linux, &facts),
            Some(Verdict::not_evaluated("no operating system inspected"))
        );
        assert_eq!(gate(Applicability::Any, &facts), None);
        facts.guest = Some(GuestFacts {
            os_type: "windows".into(),
            ..GuestFacts::default()
        });
        assert!(matches!(
            gate(Applicability::Linux, &facts),
            Some(Verdict::NotApplicable { .. })
        ));
        assert_eq!(gate(Applicability::Windows, &facts), None);
        facts.guest = Some(GuestFacts {
            os_type: "unknown".into(),
            ..GuestFacts::default()
        });
        assert!(matches!(
            gate(Applicability::Windows, &facts),
            Some(Verdict::NotEvaluated { .. })
        ));
    }

    #[test]
    fn full_registry_runs_in_order_and_deterministically() {
        let facts = Facts::default();
        let a = run_checks(&facts, &TargetProfile::default());
        let b = run_checks(&facts, &TargetProfile::default());
        let ids: Vec<_> = a.iter().map(|r| r.id()).collect();
        let reg: Vec<_> = REGISTRY.iter().map(|c| c.meta().id).collect();
        assert_eq!(ids, reg);
        let ja = serde_json::to_string(&a).unwrap_or_default();
        let jb = serde_json::to_string(&b).unwrap_or_default();
        assert!(!ja.is_empty());
        assert_eq!(ja, jb);
    }
}
