//! `linux.generalization`: instance-unique data was removed before the image was made.
//!
//! Rule from checks.md §2 `generalization_state` (virt-sysprep operations `machine-id`,
//! `ssh-hostkeys`, `ssh-userdir`, `cloud-init`; DigitalOcean img_check): a set
//! `/etc/machine-id` makes all clones share one id (DHCP client ids, journald); SSH host keys
//! are shared between clones; `/root/.ssh/authorized_keys` lets the image's author in;
//! `/var/lib/cloud/instances` makes cloud-init think it already ran. Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.generalization",
    alibaba_item: None,
    title: "Image generalised (no instance-unique data)",
    applies_to: Applicability::Linux,
    inputs: &[
        "/etc/machine-id",
        "/etc/ssh/ssh_host_*key",
        "/root/.ssh/authorized_keys",
        "/var/lib/cloud/instances/",
    ],
    remedy: "Generalise the image: truncate /etc/machine-id, delete /etc/ssh/ssh_host_*, \
/root/.ssh/authorized_keys and /var/lib/cloud/instances (cloud-init clean), e.g. with \
virt-sysprep.",
    references: &[
        "virt-sysprep operations: machine-id, ssh-hostkeys, ssh-userdir, cloud-init",
        "DigitalOcean img_check",
    ],
    description: "Each piece of instance-unique data left in the image (a set machine-id, SSH \
host keys, root's authorized_keys, cloud-init instance state) is a recommended optimisation.",
};

/// The check.
pub struct Generalization;

impl Check for Generalization {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let s = &lf.system;
        let mut out = Vec::new();
        if s.machine_id_set == Some(true) {
            out.push(Finding::recommended(
                "/etc/machine-id is set: every instance from this image shares it",
                "Truncate it: `: > /etc/machine-id`.",
            ));
        }
        if !s.sshd.host_keys.is_empty() {
            let mut f = Finding::recommended(
                format!(
                    "{} SSH host key file(s) present: every instance shares the host keys",
                    s.sshd.host_keys.len()
                ),
                "Delete /etc/ssh/ssh_host_* (they are regenerated on first boot).",
            );
            for k in &s.sshd.host_keys {
                f = f.with_evidence(k.clone());
            }
            out.push(f);
        }
        if s.root_authorized_keys {
            out.push(Finding::recommended(
                "/root/.ssh/authorized_keys is present: the image author's keys can log into every instance",
                "Delete /root/.ssh/authorized_keys (the platform injects the user's key).",
            ));
        }
        if lf.agents.cloud_init.instances_present {
            out.push(Finding::recommended(
                "/var/lib/cloud/instances holds state of a previous instance",
                "Run `cloud-init clean` before creating the image.",
            ));
        }
        Verdict::from_findings(out, Some("no instance-unique data found".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn generalised_passes() {
        assert_pass(
            &Generalization.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
        );
    }

    #[test]
    fn each_leftover_is_recommended() {
        let mut lf = good_linux_facts();
        lf.system.machine_id_set = Some(true);
        lf.system.sshd.host_keys = vec!["/etc/ssh/ssh_host_ed25519_key".into()];
        lf.system.root_authorized_keys = true;
        lf.agents.cloud_init.instances_present = true;
        let f = findings(
            &Generalization.run(&with_linux(lf), &TargetProfile::alibaba()),
            &[Recommended; 4],
        );
        assert_eq!(
            f[1].evidence,
            vec!["/etc/ssh/ssh_host_ed25519_key".to_string()]
        );
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&Generalization.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
