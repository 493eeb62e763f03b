//! The outcome of a check: [`Verdict`], [`Finding`], [`Severity`], and the metadata every check
//! declares ([`CheckMeta`]) together with the [`Check`] trait.
//!
//! The two severities are Alibaba's risk levels (`DescribeImages` → `DetectionOptions.Items[]
//! .RiskLevel`): `High` = "affects whether the instance can start, strongly recommended to fix",
//! `Medium` = "affects startup performance or configuration, recommended to optimise"
//! (checks.md §0.1). Our own code: imgcheck's check contract.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use serde::{Deserialize, Serialize};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The instance will probably not boot or not be reachable (Alibaba `High`).
    StronglyRecommended,
    /// The instance boots, but performance or configuration suffers (Alibaba `Medium`).
    Recommended,
}

impl Severity {
    /// Short label for reports: `strongly recommended` / `recommended`.
    pub fn label(self) -> &'static str {
        match self {
            Severity::StronglyRecommended => "strongly recommended",
            Severity::Recommended => "recommended",
        }
    }
}

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// What is wrong, naming the file and line or the structure and offset.
    pub message: String,
    /// The facts that show it (values read from the image).
    pub evidence: Vec<String>,
    /// How to fix it.
    pub remedy: String,
}

impl Finding {
    /// A finding without evidence.
    pub fn new(severity: Severity, message: impl Into<String>, remedy: impl Into<String>) -> Self {
        Finding {
            severity,
            message: message.into(),
            evidence: Vec::new(),
            remedy: remedy.into(),
        }
    }

    /// A strongly recommended fix.
    pub fn strongly(message: impl Into<String>, remedy: impl Into<String>) -> Self {
        Finding::new(Severity::StronglyRecommended, message, remedy)
    }

    /// A recommended optimisation.
    pub fn recommended(message: impl Into<String>, remedy: impl Into<String>) -> Self {
        Finding::new(Severity::Recommended, message, remedy)
    }

    /// Add one line of evidence.
    #[must_use]
    pub fn with_evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }
}

/// What a check decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No risk found; `detail` carries informational facts (e.g. "boot mode: uefi").
    Pass {
        /// Informational detail shown with the check.
        detail: Option<String>,
    },
    /// At least one problem.
    Findings(Vec<Finding>),
    /// The check does not concern this image (e.g. a Windows check on Linux).
    NotApplicable {
        /// Why.
        reason: String,
    },
    /// The check could not see its evidence (never means "no risk").
    NotEvaluated {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// A pass without detail.
    pub fn pass() -> Verdict {
        Verdict::Pass { detail: None }
    }

    /// A pass with informational detail.
    pub fn pass_with(detail: impl Into<String>) -> Verdict {
        Verdict::Pass {
            detail: Some(detail.into()),
        }
    }

    /// Not applicable, with the reason.
    pub fn not_applicable(reason: impl Into<String>) -> Verdict {
        Verdict::NotApplicable {
            reason: reason.into(),
        }
    }

    /// Not evaluated, with the reason.
    pub fn not_evaluated(reason: impl Into<String>) -> Verdict {
        Verdict::NotEvaluated {
            reason: reason.into(),
        }
    }

    /// `Findings` when `findings` is non-empty, otherwise the given pass detail.
    pub fn from_findings(findings: Vec<Finding>, pass_detail: Option<String>) -> Verdict {
        if findings.is_empty() {
            Verdict::Pass {
                detail: pass_detail,
            }
        } else {
            Verdict::Findings(findings)
        }
    }

    /// The most severe finding's severity (`None` for every other verdict, or no findings).
    pub fn worst_severity(&self) -> Option<Severity> {
        match self {
            Verdict::Findings(f) => f.iter().map(|f| f.severity).min(),
            _ => None,
        }
    }
}

/// Which guests a check concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applicability {
    /// Every image (disk, boot and filesystem level).
    Any,
    /// Linux guests only.
    Linux,
    /// Windows guests only.
    Windows,
}

impl Applicability {
    /// `any`, `linux`, `windows`.
    pub fn name(self) -> &'static str {
        match self {
            Applicability::Any => "any",
            Applicability::Linux => "linux",
            Applicability::Windows => "windows",
        }
    }
}

/// Stable metadata of a check: part of the JSON contract and the source of `docs/checks.md`.
#[derive(Debug, Serialize)]
pub struct CheckMeta {
    /// Namespaced kebab-case id, e.g. `disk.image-format`; never renamed.
    pub id: &'static str,
    /// The Alibaba image-check item it maps to, e.g. `GUESTOS.BootMode`.
    pub alibaba_item: Option<&'static str>,
    /// Short title.
    pub title: &'static str,
    /// Which guests it concerns.
    pub applies_to: Applicability,
    /// Facts and guest files it reads.
    pub inputs: &'static [&'static str],
    /// General remediation (findings carry a specific one).
    pub remedy: &'static str,
    /// Where the rule comes from.
    pub references: &'static [&'static str],
    /// What it checks and how it decides.
    pub description: &'static str,
}

/// A check: a pure function of the facts and the target profile.
pub trait Check: Send + Sync {
    /// The check's metadata.
    fn meta(&self) -> &'static CheckMeta;
    /// Decide. Must not do I/O; must not panic (the engine catches panics anyway).
    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_severity_is_strongly_recommended_when_mixed() {
        let v = Verdict::Findings(vec![
            Finding::recommended("a", "b"),
            Finding::strongly("c", "d"),
        ]);
        assert_eq!(v.worst_severity(), Some(Severity::StronglyRecommended));
        assert_eq!(Verdict::pass().worst_severity(), None);
        assert_eq!(
            Verdict::from_findings(vec![], Some("x".into())),
            Verdict::pass_with("x")
        );
    }
}
