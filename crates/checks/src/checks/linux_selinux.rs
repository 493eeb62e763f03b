//! `linux.selinux` (Alibaba `GUESTOS.Selinux`): SELinux is not enforcing.
//!
//! Rule from checks.md §2 `selinux`: Alibaba recommends SELinux disabled for imported images
//! (an enforcing policy with stale labels can stop services or boot; its legacy compliance tool
//! lists it). Evidence: `SELINUX=` in `/etc/selinux/config` and `selinux=0`/`enforcing=0` on the
//! default kernel command line. Recommended optimisation. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.selinux",
    alibaba_item: Some("GUESTOS.Selinux"),
    title: "SELinux not enforcing",
    applies_to: Applicability::Linux,
    inputs: &[
        "/etc/selinux/config",
        "guest.linux.boot.default_entry.cmdline",
    ],
    remedy: "Set SELINUX=permissive or SELINUX=disabled in /etc/selinux/config before creating \
the image (or relabel with /.autorelabel if it must stay enforcing).",
    references: &[
        "Alibaba Cloud image check: GUESTOS.Selinux",
        "Alibaba image compliance tool: SElinux item",
    ],
    description: "Reads SELINUX= from /etc/selinux/config. `enforcing`, unless the default \
kernel command line says selinux=0 or enforcing=0, is a recommended optimisation. No config file \
means SELinux is not in use (pass).",
};

/// The check.
pub struct Selinux;

impl Check for Selinux {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let Some(v) = &lf.system.selinux else {
            return Verdict::pass_with("no SELINUX= setting (/etc/selinux/config absent)");
        };
        let cmdline = lf
            .boot
            .default_entry
            .as_ref()
            .map(|e| e.cmdline.as_str())
            .unwrap_or("");
        let off = cmdline
            .split_whitespace()
            .find(|w| *w == "selinux=0" || *w == "enforcing=0");
        let mode = v.value.trim().to_ascii_lowercase();
        if mode != "enforcing" {
            return Verdict::pass_with(format!("SELINUX={} ({} line {})", v.value, v.file, v.line));
        }
        if let Some(w) = off {
            return Verdict::pass_with(format!(
                "SELINUX=enforcing ({} line {}) but the default kernel command line has {w}",
                v.file, v.line
            ));
        }
        let mut f = Finding::recommended(
            format!(
                "SELinux is enforcing: SELINUX=enforcing in {} line {}",
                v.file, v.line
            ),
            META.remedy,
        );
        if lf.system.autorelabel {
            f = f.with_evidence("/.autorelabel exists: the first boot relabels the filesystem");
        }
        Verdict::Findings(vec![f])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::system::Value;

    fn cfg(mode: &str) -> Option<Value> {
        Some(Value {
            value: mode.into(),
            file: "/etc/selinux/config".into(),
            line: 7,
        })
    }

    #[test]
    fn absent_or_permissive_passes() {
        assert_pass(&Selinux.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()));
        let mut lf = good_linux_facts();
        lf.system.selinux = cfg("permissive");
        let d = assert_pass(&Selinux.run(&with_linux(lf), &TargetProfile::alibaba()));
        assert_eq!(
            d.as_deref(),
            Some("SELINUX=permissive (/etc/selinux/config line 7)")
        );
    }

    #[test]
    fn enforcing_is_recommended_unless_the_cmdline_disables_it() {
        let mut lf = good_linux_facts();
        lf.system.selinux = cfg("enforcing");
        let f = findings(
            &Selinux.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.contains("/etc/selinux/config line 7"));
        lf.boot.default_entry = Some(imgcheck_inspect::bootloader::BootEntry {
            cmdline: "root=UUID=x ro selinux=0".into(),
            ..Default::default()
        });
        assert_pass(&Selinux.run(&with_linux(lf), &TargetProfile::alibaba()));
    }

    #[test]
    fn no_linux_facts_is_not_evaluated() {
        assert_not_evaluated(&Selinux.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
