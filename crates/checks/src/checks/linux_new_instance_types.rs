//! `linux.new-instance-types` (Alibaba `GUESTOS.SupportMocInstanceTypes`): the OS and kernel are
//! new enough for current (X-Dragon / bare-metal) instance families.
//!
//! Rule from checks.md §2 `new_instance_families`: Alibaba states CentOS 5 must be at least
//! 5.11 and EOL systems often fail on new families. Our table (inferred, documented here):
//!
//! | evidence | minimum |
//! |---|---|
//! | default kernel version | 3.10 (RHEL 7's base; virtio-1.0 and NVMe multi-queue drivers) |
//! | CentOS / RHEL 5 | 5.11 (Alibaba) |
//! | CentOS / RHEL / Oracle / Rocky / Alma | 6 and newer otherwise |
//!
//! Recommended. Our own code.

use super::linux_virtio::{default_kernel, linux_facts};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::bootloader::vercmp;
use std::cmp::Ordering;

static META: CheckMeta = CheckMeta {
    id: "linux.new-instance-types",
    alibaba_item: Some("GUESTOS.SupportMocInstanceTypes"),
    title: "Kernel new enough for current instance families",
    applies_to: Applicability::Linux,
    inputs: &[
        "guest.linux.kernels[default].version",
        "/etc/os-release",
        "/etc/redhat-release",
    ],
    remedy: "Upgrade to a supported distribution release with a kernel of 3.10 or newer \
(CentOS 5 at least 5.11).",
    references: &["Alibaba Cloud image check: GUESTOS.SupportMocInstanceTypes (CentOS 5 ≥ 5.11)"],
    description: "Recommended optimisation when the default kernel is older than 3.10 or a \
CentOS/RHEL 5 release is older than 5.11 (table in the module documentation). Not evaluated \
when neither the kernel nor the release is known.",
};

/// Oldest kernel we consider fit for current instance families.
const MIN_KERNEL: &str = "3.10";
/// Oldest CentOS/RHEL 5 release Alibaba supports on new families.
const MIN_EL5: &str = "5.11";
/// Red Hat family ids.
const EL_IDS: &[&str] = &[
    "centos",
    "rhel",
    "redhat",
    "ol",
    "oracle",
    "rocky",
    "almalinux",
];

/// The check.
pub struct NewInstanceTypes;

impl Check for NewInstanceTypes {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let kernel = default_kernel(lf).ok();
        let mut out = Vec::new();
        if let Some(k) = kernel {
            if vercmp(&k.version, MIN_KERNEL) == Ordering::Less {
                out.push(Finding::recommended(
                    format!("default kernel {} is older than {MIN_KERNEL}", k.version),
                    META.remedy,
                ));
            }
        }
        let el = lf
            .distro
            .as_deref()
            .is_some_and(|d| EL_IDS.contains(&d.to_ascii_lowercase().as_str()));
        if let (true, Some(v)) = (el, lf.version.as_deref()) {
            let major = v.split('.').next().and_then(|m| m.parse::<u32>().ok());
            let old = match major {
                Some(m) if m < 5 => true,
                Some(5) => vercmp(v, MIN_EL5) == Ordering::Less,
                _ => false,
            };
            if old {
                out.push(Finding::recommended(
                    format!(
                        "{} {v} is older than {MIN_EL5}, the oldest release Alibaba supports on current instance families",
                        lf.distro.as_deref().unwrap_or("")
                    ),
                    META.remedy,
                ));
            }
        }
        if kernel.is_none() && lf.version.is_none() {
            return Verdict::not_evaluated(
                "neither the default kernel nor the distribution version is known",
            );
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "kernel {}",
                kernel.map(|k| k.version.as_str()).unwrap_or("unknown")
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn modern_kernel_passes() {
        let d = assert_pass(
            &NewInstanceTypes.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
        );
        assert_eq!(d.as_deref(), Some("kernel 6.1.0-28-cloud-amd64"));
    }

    #[test]
    fn old_kernel_and_centos_5_10_are_recommended() {
        let mut lf = good_linux_facts();
        lf.kernels = vec![linux_kernel("2.6.18-398.el5")];
        lf.distro = Some("centos".into());
        lf.version = Some("5.10".into());
        let f = findings(
            &NewInstanceTypes.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[Recommended; 2],
        );
        assert_eq!(
            f[0].message,
            "default kernel 2.6.18-398.el5 is older than 3.10"
        );
        lf.version = Some("5.11".into());
        findings(
            &NewInstanceTypes.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
    }

    #[test]
    fn unknown_is_not_evaluated() {
        let mut lf = good_linux_facts();
        lf.kernels.clear();
        lf.version = None;
        assert_not_evaluated(&NewInstanceTypes.run(&with_linux(lf), &TargetProfile::alibaba()));
    }
}
