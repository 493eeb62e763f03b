//! `linux.lib-symlinks`: `/lib`, `/lib64`, `/bin`, `/sbin` symlinks are relative.
//!
//! Rule from checks.md §2 `lib_symlinks` (Alibaba image compliance tool item `/lib`): an
//! absolute link target points into the host when the disk is inspected or repaired offline
//! from a helper instance (chroot-less tools break). Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.lib-symlinks",
    alibaba_item: None,
    title: "System directory symlinks are relative",
    applies_to: Applicability::Linux,
    inputs: &["/lib", "/lib64", "/bin", "/sbin"],
    remedy: "Make the link relative, e.g. `ln -sfn usr/lib /lib`.",
    references: &["Alibaba image compliance tool: /lib item"],
    description: "Each of /lib, /lib64, /bin, /sbin that is a symlink with an absolute target \
is a recommended optimisation: offline repair tooling resolves it against the helper system.",
};

/// The check.
pub struct LibSymlinks;

impl Check for LibSymlinks {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let links = &lf.system.lib_links;
        let out: Vec<Finding> = links
            .iter()
            .filter(|l| l.absolute)
            .map(|l| {
                Finding::recommended(
                    format!("{} is a symlink to the absolute path {}", l.path, l.target),
                    format!(
                        "Make it relative: ln -sfn {} {}",
                        l.target.trim_start_matches('/'),
                        l.path
                    ),
                )
            })
            .collect();
        let detail = if links.is_empty() {
            "no symlinked system directories".to_string()
        } else {
            links
                .iter()
                .map(|l| format!("{} -> {}", l.path, l.target))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Verdict::from_findings(out, Some(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::system::LinkFact;

    fn link(path: &str, target: &str) -> LinkFact {
        LinkFact {
            path: path.into(),
            target: target.into(),
            absolute: target.starts_with('/'),
        }
    }

    #[test]
    fn relative_links_pass() {
        let mut lf = good_linux_facts();
        lf.system.lib_links = vec![link("/lib", "usr/lib")];
        let d = assert_pass(&LibSymlinks.run(&with_linux(lf), &TargetProfile::alibaba()));
        assert_eq!(d.as_deref(), Some("/lib -> usr/lib"));
    }

    #[test]
    fn absolute_link_is_recommended() {
        let mut lf = good_linux_facts();
        lf.system.lib_links = vec![link("/lib", "usr/lib"), link("/lib64", "/usr/lib64")];
        let f = findings(
            &LibSymlinks.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert_eq!(
            f[0].message,
            "/lib64 is a symlink to the absolute path /usr/lib64"
        );
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&LibSymlinks.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
