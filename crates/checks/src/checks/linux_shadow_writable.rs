//! `linux.shadow-writable`: `/etc/shadow` can be written, so the platform can set a password.
//!
//! Rule from checks.md §2 `shadow_writable` (Alibaba image compliance tool item `/etc/shadow`:
//! "an instance cannot be created"): the ext immutable (`chattr +i`, `EXT4_IMMUTABLE_FL` 0x10)
//! or append-only (`chattr +a`, 0x20) inode flag stops password injection. Strongly
//! recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.shadow-writable",
    alibaba_item: None,
    title: "/etc/shadow writable",
    applies_to: Applicability::Linux,
    inputs: &["/etc/shadow inode flags, mode, owner"],
    remedy: "Clear the flags with `chattr -i -a /etc/shadow` before creating the image.",
    references: &["Alibaba image compliance tool: /etc/shadow item (instance cannot be created)"],
    description: "Reads /etc/shadow's inode flags. Immutable or append-only is a strongly \
recommended fix: the platform cannot set the root password or inject users. A missing \
/etc/shadow is also strongly recommended.",
};

/// The check.
pub struct ShadowWritable;

impl Check for ShadowWritable {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let s = &lf.system.shadow;
        if !s.present {
            return Verdict::Findings(vec![Finding::strongly(
                "/etc/shadow is missing: passwords cannot be set",
                "Restore /etc/shadow (pwconv creates it from /etc/passwd).",
            )]);
        }
        let mut flags = Vec::new();
        if s.immutable {
            flags.push("immutable (chattr +i)");
        }
        if s.append_only {
            flags.push("append-only (chattr +a)");
        }
        if flags.is_empty() {
            return Verdict::pass_with(match s.mode {
                Some(m) => format!("/etc/shadow mode {m:04o}, no immutable/append-only flag"),
                None => "/etc/shadow has no immutable/append-only flag".into(),
            });
        }
        Verdict::Findings(vec![Finding::strongly(
            format!(
                "/etc/shadow inode is {}: the platform cannot set the password",
                flags.join(" and ")
            ),
            META.remedy,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn plain_file_passes() {
        assert_pass(
            &ShadowWritable.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
        );
    }

    #[test]
    fn immutable_and_missing_are_strongly_recommended() {
        let mut lf = good_linux_facts();
        lf.system.shadow.immutable = true;
        lf.system.shadow.append_only = true;
        let f = findings(
            &ShadowWritable.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(
            f[0].message
                .contains("immutable (chattr +i) and append-only"),
            "{}",
            f[0].message
        );
        lf.system.shadow.present = false;
        findings(
            &ShadowWritable.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&ShadowWritable.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
