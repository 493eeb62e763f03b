//! `linux.os-version` (Alibaba `GUESTOS.OSVersion`): the distribution is identified and not on
//! Alibaba's list of systems image check does not support.
//!
//! Rule from checks.md §2 `os_version` and §0.5: Gentoo, CoreOS / Fedora CoreOS, Aliyun
//! LifseaOS, (Aliyun) Customized Linux and FreeBSD are not supported by Alibaba's image check —
//! strongly recommended on the Alibaba target, informational elsewhere. Evidence: os-release
//! `ID`/`VERSION_ID`/`PRETTY_NAME` or the legacy release file. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.os-version",
    alibaba_item: Some("GUESTOS.OSVersion"),
    title: "Operating system version supported",
    applies_to: Applicability::Linux,
    inputs: &["/etc/os-release", "/usr/lib/os-release", "/etc/*-release"],
    remedy: "Use a distribution and version the target supports (see its list of supported \
operating systems).",
    references: &[
        "Alibaba Cloud: operating systems image check does not support (Gentoo, CoreOS, Fedora \
CoreOS, LifseaOS, Customized Linux, FreeBSD)",
        "GCP image import precheck: OS version check",
    ],
    description: "Reports the distribution and version. On the Alibaba target a distribution on \
Alibaba's unsupported list (Gentoo, CoreOS, Fedora CoreOS, LifseaOS, Customized Linux, \
FreeBSD) is a strongly recommended fix. Not evaluated when no release file could be read.",
};

/// os-release IDs (and name fragments) of systems Alibaba's image check does not support.
const ALIBABA_UNSUPPORTED: &[(&str, &str)] = &[
    ("gentoo", "Gentoo"),
    ("coreos", "CoreOS"),
    ("fedora-coreos", "Fedora CoreOS"),
    ("flatcar", "CoreOS (Flatcar)"),
    ("lifsea", "Aliyun LifseaOS"),
    ("customized", "Customized Linux"),
    ("freebsd", "FreeBSD"),
];

/// The check.
pub struct OsVersion;

impl Check for OsVersion {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let Some(id) = &lf.distro else {
            return Verdict::not_evaluated(
                "no /etc/os-release, /usr/lib/os-release or legacy release file could be read",
            );
        };
        let name = lf.pretty_name.clone().unwrap_or_else(|| {
            format!("{id} {}", lf.version.as_deref().unwrap_or(""))
                .trim()
                .to_string()
        });
        let src = lf.release_file.as_deref().unwrap_or("release file");
        let lower_id = id.to_ascii_lowercase();
        let lower_name = name.to_ascii_lowercase();
        let hit = ALIBABA_UNSUPPORTED.iter().find(|(k, _)| {
            lower_id == *k || lower_id.contains(k) || lower_name.contains(&k.replace('-', " "))
        });
        if let (Some((_, label)), true) = (hit, profile.name == "alibaba") {
            return Verdict::Findings(vec![Finding::strongly(
                format!("{name} (ID={id} in {src}) is {label}, which Alibaba Cloud's image check does not support"),
                META.remedy,
            )]);
        }
        Verdict::pass_with(format!(
            "{name} (ID={id}, VERSION_ID={}, {src})",
            lf.version.as_deref().unwrap_or("-")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn debian_passes() {
        let d =
            assert_pass(&OsVersion.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()));
        assert!(d
            .unwrap()
            .starts_with("Debian GNU/Linux 12 (bookworm) (ID=debian"));
    }

    #[test]
    fn gentoo_is_strongly_recommended_on_alibaba_only() {
        let mut lf = good_linux_facts();
        lf.distro = Some("gentoo".into());
        lf.pretty_name = Some("Gentoo Linux".into());
        let f = findings(
            &OsVersion.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(f[0].message.contains("is Gentoo"), "{}", f[0].message);
        assert_pass(&OsVersion.run(&with_linux(lf.clone()), &TargetProfile::kvm()));
        lf.distro = Some("fedora".into());
        lf.pretty_name = Some("Fedora CoreOS 38".into());
        findings(
            &OsVersion.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
    }

    #[test]
    fn unknown_is_not_evaluated() {
        let mut lf = good_linux_facts();
        lf.distro = None;
        assert_not_evaluated(&OsVersion.run(&with_linux(lf), &TargetProfile::alibaba()));
    }
}
