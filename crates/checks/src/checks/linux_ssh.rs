//! `linux.ssh`: an SSH server is installed, enabled and reachable on a known port.
//!
//! Rule from checks.md §2 `ssh_server` (Alibaba compliance tool item `ssh`, GCP precheck SSH
//! check): without sshd enabled the instance cannot be logged into; a non-22 port or a
//! `ListenAddress` of the source network blocks access. Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// The port security groups open by default.
const SSH_PORT: &str = "22";

static META: CheckMeta = CheckMeta {
    id: "linux.ssh",
    alibaba_item: None,
    title: "SSH server installed and enabled",
    applies_to: Applicability::Linux,
    inputs: &[
        "/usr/sbin/sshd",
        "sshd.service / ssh.service",
        "/etc/ssh/sshd_config",
    ],
    remedy: "Install openssh-server, enable sshd.service (ssh.service on Debian) and listen on \
port 22 on all addresses.",
    references: &[
        "Alibaba image compliance tool: ssh item",
        "GCP image import precheck: SSH check",
    ],
    description: "Recommended optimisation when sshd is missing or not enabled, when \
sshd_config sets a Port other than 22 only, or when ListenAddress pins specific addresses \
(which will not exist on the new network). Each finding names the sshd_config line.",
};

/// The check.
pub struct Ssh;

impl Check for Ssh {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let s = &lf.system.sshd;
        let Some(bin) = &s.binary else {
            return Verdict::Findings(vec![Finding::recommended(
                "no SSH server is installed (no sshd binary)",
                META.remedy,
            )]);
        };
        let mut out = Vec::new();
        if !s.enabled {
            out.push(Finding::recommended(
                format!("{bin} is installed but neither sshd.service nor ssh.service is enabled"),
                "Enable it: systemctl enable sshd (ssh on Debian/Ubuntu).",
            ));
        }
        if !s.ports.is_empty() && !s.ports.iter().any(|p| p.value == SSH_PORT) {
            for p in &s.ports {
                out.push(Finding::recommended(
                    format!(
                        "{} line {}: sshd listens on port {} only, not 22",
                        p.file, p.line, p.value
                    ),
                    "Also listen on port 22, or open the port in the security group.",
                ));
            }
        }
        for a in &s.listen_addresses {
            let v = a.value.as_str();
            if !(v.starts_with("0.0.0.0") || v.starts_with("::") || v.starts_with("[::]")) {
                out.push(Finding::recommended(
                    format!(
                        "{} line {}: ListenAddress {v} will not exist on the new network",
                        a.file, a.line
                    ),
                    "Remove the ListenAddress line.",
                ));
            }
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{bin}, enabled by {}",
                s.unit.as_deref().unwrap_or("-")
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::system::Value;

    fn good() -> imgcheck_inspect::linux::LinuxFacts {
        let mut lf = good_linux_facts();
        lf.system.sshd.binary = Some("/usr/sbin/sshd".into());
        lf.system.sshd.enabled = true;
        lf.system.sshd.unit = Some("ssh.service".into());
        lf
    }

    fn val(v: &str, line: u32) -> Value {
        Value {
            value: v.into(),
            file: "/etc/ssh/sshd_config".into(),
            line,
        }
    }

    #[test]
    fn enabled_sshd_passes() {
        let d = assert_pass(&Ssh.run(&with_linux(good()), &TargetProfile::alibaba()));
        assert_eq!(d.as_deref(), Some("/usr/sbin/sshd, enabled by ssh.service"));
    }

    #[test]
    fn defects_are_recommended() {
        let mut lf = good();
        lf.system.sshd.enabled = false;
        lf.system.sshd.ports = vec![val("2222", 14)];
        lf.system.sshd.listen_addresses = vec![val("192.168.1.5", 20), val("0.0.0.0", 21)];
        let f = findings(
            &Ssh.run(&with_linux(lf.clone()), &TargetProfile::alibaba()),
            &[Recommended; 3],
        );
        assert_eq!(
            f[1].message,
            "/etc/ssh/sshd_config line 14: sshd listens on port 2222 only, not 22"
        );
        assert!(f[2].message.contains("line 20: ListenAddress 192.168.1.5"));
        lf.system.sshd.binary = None;
        findings(
            &Ssh.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended],
        );
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&Ssh.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
