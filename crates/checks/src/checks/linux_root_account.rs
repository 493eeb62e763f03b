//! `linux.root-account`: the root account exists and can be used for password reset.
//!
//! Rule from checks.md §2 `root_account` (Alibaba image compliance tool item `root`):
//! `/etc/passwd` has `root` with uid 0 and an existing login shell, and `/etc/shadow` has its
//! entry. Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.root-account",
    alibaba_item: None,
    title: "root account usable",
    applies_to: Applicability::Linux,
    inputs: &["/etc/passwd", "/etc/shadow"],
    remedy: "Keep a `root` entry with uid 0 and an installed shell in /etc/passwd and a matching \
entry in /etc/shadow.",
    references: &["Alibaba image compliance tool: root item"],
    description: "Recommended optimisation when /etc/passwd has no root entry, root's uid is \
not 0, its shell does not exist in the image, or /etc/shadow has no root entry.",
};

/// The check.
pub struct RootAccount;

impl Check for RootAccount {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let r = &lf.system.root;
        if !r.present {
            return Verdict::Findings(vec![Finding::recommended(
                "/etc/passwd has no root entry",
                META.remedy,
            )]);
        }
        let at = match r.line {
            Some(l) => format!("/etc/passwd line {l}"),
            None => "/etc/passwd".into(),
        };
        let mut out = Vec::new();
        if r.uid != Some(0) {
            out.push(Finding::recommended(
                format!(
                    "{at}: root has uid {}",
                    r.uid.map(|u| u.to_string()).unwrap_or_else(|| "?".into())
                ),
                "Give root uid 0.",
            ));
        }
        match &r.shell {
            Some(sh) if !r.shell_exists && !sh.ends_with("nologin") => {
                out.push(Finding::recommended(
                    format!("{at}: root's shell {sh} does not exist in the image"),
                    "Set root's shell to an installed shell such as /bin/bash.",
                ))
            }
            _ => {}
        }
        if lf.system.shadow.present && !lf.system.shadow.root_entry {
            out.push(Finding::recommended(
                "/etc/shadow has no root entry: the root password cannot be set",
                "Run pwconv or add a root line to /etc/shadow.",
            ));
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{at}: root, shell {}",
                r.shell.as_deref().unwrap_or("-")
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn good() -> imgcheck_inspect::linux::LinuxFacts {
        let mut lf = good_linux_facts();
        lf.system.root.present = true;
        lf.system.root.uid = Some(0);
        lf.system.root.shell = Some("/bin/bash".into());
        lf.system.root.shell_exists = true;
        lf.system.root.line = Some(1);
        lf
    }

    #[test]
    fn usable_root_passes() {
        let d = assert_pass(&RootAccount.run(&with_linux(good()), &TargetProfile::alibaba()));
        assert_eq!(
            d.as_deref(),
            Some("/etc/passwd line 1: root, shell /bin/bash")
        );
    }

    #[test]
    fn defects_are_recommended() {
        let mut lf = good();
        lf.system.root.shell_exists = false;
        lf.system.shadow.root_entry = false;
        let f = findings(
            &RootAccount.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[Recommended; 2],
        );
        assert!(f[0].message.contains("shell /bin/bash does not exist"));
        lf.system.root.present = false;
        findings(
            &RootAccount.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&RootAccount.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
