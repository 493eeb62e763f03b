//! `linux.cloud-init` (Alibaba `GUESTOS.CloudInit`): cloud-init is installed, enabled and has
//! a datasource the target can serve.
//!
//! Rule from checks.md §2 `cloud_init`: without cloud-init the platform cannot set the hostname,
//! password, SSH keys or network on first boot. Evidence: the `cloud-init` program, its four
//! systemd units enabled, `/etc/cloud/cloud-init.disabled`, and the effective `datasource_list`
//! of `/etc/cloud/cloud.cfg(.d/*)`. Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.cloud-init",
    alibaba_item: Some("GUESTOS.CloudInit"),
    title: "cloud-init installed and enabled",
    applies_to: Applicability::Linux,
    inputs: &[
        "/usr/bin/cloud-init",
        "/etc/cloud/cloud.cfg, /etc/cloud/cloud.cfg.d/*.cfg (datasource_list)",
        "cloud-init-local/cloud-init/cloud-config/cloud-final.service enablement",
        "/etc/cloud/cloud-init.disabled",
    ],
    remedy: "Install cloud-init, enable its units (cloud-init-local, cloud-init, cloud-config, \
cloud-final) and let datasource_list include the target's datasource (or leave it unset).",
    references: &[
        "Alibaba Cloud: Install cloud-init (GUESTOS.CloudInit)",
        "Tencent Cloud import error CloudInitNotInstalled",
    ],
    description: "Recommended optimisation when the cloud-init program is missing, when \
/etc/cloud/cloud-init.disabled exists, when none of its units is enabled, or when an explicit \
datasource_list names neither the target's datasource nor a generic fallback.",
};

/// The check.
pub struct CloudInit;

/// cloud-init datasource names each target serves (cloud-init's `sources/DataSource*.py`).
fn datasources(profile: &TargetProfile) -> &'static [&'static str] {
    match profile.name.as_str() {
        "alibaba" => &["AliYun"],
        "aws" => &["Ec2"],
        "azure" => &["Azure"],
        "gcp" => &["GCE"],
        _ => &["NoCloud", "ConfigDrive", "OpenStack"],
    }
}

impl Check for CloudInit {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let ci = &lf.agents.cloud_init;
        let Some(bin) = &ci.binary else {
            return Verdict::Findings(vec![Finding::recommended(
                format!(
                    "cloud-init is not installed (no cloud-init program): {} cannot configure \
                     the hostname, password, keys and network on first boot",
                    profile.display_name
                ),
                META.remedy,
            )]);
        };
        let mut out = Vec::new();
        if ci.disabled_file {
            out.push(Finding::recommended(
                "/etc/cloud/cloud-init.disabled exists: cloud-init does not run",
                "Remove /etc/cloud/cloud-init.disabled.",
            ));
        }
        if ci.units_enabled.is_empty() {
            out.push(Finding::recommended(
                "no cloud-init unit (cloud-init-local, cloud-init, cloud-config, cloud-final) is \
                 enabled",
                "Enable the units: systemctl enable cloud-init-local cloud-init cloud-config \
                 cloud-final.",
            ));
        }
        if let Some(list) = &ci.datasource_list {
            let wanted = datasources(profile);
            let ok = list
                .iter()
                .any(|d| wanted.iter().any(|w| w.eq_ignore_ascii_case(d)) || d == "None");
            if !ok {
                out.push(Finding::recommended(
                    format!(
                        "datasource_list [{}] in {} does not include {} ({})",
                        list.join(", "),
                        ci.datasource_source.as_deref().unwrap_or("cloud.cfg"),
                        wanted.join(" or "),
                        profile.display_name
                    ),
                    format!(
                        "Add {} to datasource_list or remove the setting.",
                        wanted.join("/")
                    ),
                ));
            }
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{bin}; units enabled: {}; datasource_list: {}",
                ci.units_enabled.join(", "),
                ci.datasource_list
                    .as_ref()
                    .map(|l| l.join(", "))
                    .unwrap_or_else(|| "default".into())
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
    fn installed_and_enabled_passes() {
        let d =
            assert_pass(&CloudInit.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()));
        assert!(d.unwrap().contains("datasource_list: AliYun, NoCloud"));
    }

    #[test]
    fn each_problem_is_recommended() {
        let mut lf = good_linux_facts();
        lf.agents.cloud_init.disabled_file = true;
        lf.agents.cloud_init.units_enabled.clear();
        let f = findings(
            &CloudInit.run(&with_linux(lf.clone()), &TargetProfile::aws()),
            &[Recommended; 3],
        );
        assert!(
            f[2].message.contains("does not include Ec2"),
            "{}",
            f[2].message
        );
        lf.agents.cloud_init.binary = None;
        let f = findings(
            &CloudInit.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(f[0].message.starts_with("cloud-init is not installed"));
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&CloudInit.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
