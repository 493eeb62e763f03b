//! `linux.passwd-tools`: `passwd`/`chpasswd` exist for password injection.
//!
//! Rule from checks.md §2 `passwd_binary` (Alibaba image compliance tool item `passwd`): the
//! platform's agents set the password with these programs. Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.passwd-tools",
    alibaba_item: None,
    title: "passwd and chpasswd present",
    applies_to: Applicability::Linux,
    inputs: &["/usr/bin/passwd", "/usr/sbin/chpasswd"],
    remedy: "Install the package providing passwd and chpasswd (passwd / shadow-utils).",
    references: &["Alibaba image compliance tool: passwd item"],
    description: "Recommended optimisation when neither passwd nor chpasswd is found in the \
image: the platform cannot set a password on first boot.",
};

/// The check.
pub struct PasswdTools;

impl Check for PasswdTools {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let t = &lf.system.password_tools;
        if t.is_empty() {
            return Verdict::Findings(vec![Finding::recommended(
                "neither passwd nor chpasswd is installed (looked in /usr/bin, /usr/sbin, /bin, /sbin)",
                META.remedy,
            )]);
        }
        Verdict::pass_with(t.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn present_passes() {
        let mut lf = good_linux_facts();
        lf.system.password_tools = vec!["/usr/bin/passwd".into()];
        assert_pass(&PasswdTools.run(&with_linux(lf), &TargetProfile::alibaba()));
    }

    #[test]
    fn absent_is_recommended() {
        findings(
            &PasswdTools.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
            &[Recommended],
        );
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&PasswdTools.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
