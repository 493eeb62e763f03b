//! `linux.online-resize` (Alibaba `GUESTOS.OnlineResizeFS`): the root partition and filesystem
//! grow automatically when the system disk is bigger than the image.
//!
//! Rule from checks.md §2 `online_resize_fs` (repair item `growpart`): `growpart`
//! (cloud-utils-growpart / cloud-guest-utils) installed, cloud-init's `growpart` and `resizefs`
//! modules not disabled, and the root partition the last one on the disk (otherwise it cannot
//! grow). Recommended. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::{Facts, VolumeContent};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.online-resize",
    alibaba_item: Some("GUESTOS.OnlineResizeFS"),
    title: "Root filesystem grows with the disk",
    applies_to: Applicability::Linux,
    inputs: &[
        "/usr/bin/growpart",
        "/etc/cloud/cloud.cfg(.d) growpart / resize_rootfs",
        "table.partitions (root partition position)",
        "volumes[].fs.roles",
    ],
    remedy: "Install growpart (cloud-utils-growpart / cloud-guest-utils), keep cloud-init's \
growpart and resizefs modules enabled, and put the root partition last on the disk.",
    references: &[
        "Alibaba Cloud image check: GUESTOS.OnlineResizeFS; ACS-ECS-RepairImage item growpart",
    ],
    description: "Recommended optimisation when growpart is missing, when cloud-init disables \
growpart (mode: off) or resize_rootfs, or when a partition follows the root partition on the \
disk (the root partition cannot be extended).",
};

/// The check.
pub struct OnlineResize;

impl Check for OnlineResize {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let mut out = Vec::new();
        if lf.agents.growpart.is_none() {
            out.push(Finding::recommended(
                "growpart is not installed: the root partition is not grown to the disk size",
                "Install cloud-utils-growpart (RHEL/SUSE) or cloud-guest-utils (Debian/Ubuntu).",
            ));
        }
        let ci = &lf.agents.cloud_init;
        if ci.growpart_disabled {
            out.push(Finding::recommended(
                "cloud-init's growpart module is disabled (growpart: mode: off)",
                "Remove the `growpart: mode: off` setting.",
            ));
        }
        if ci.resizefs_disabled {
            out.push(Finding::recommended(
                "cloud-init's resizefs is disabled (resize_rootfs: false)",
                "Remove the `resize_rootfs: false` setting.",
            ));
        }
        // The root partition must be the last one (by start offset).
        let root_part = facts.volumes.iter().find_map(|v| match &v.content {
            VolumeContent::Filesystem(fs) if fs.roles.iter().any(|r| r == "root") => v.partition,
            _ => None,
        });
        if let (Some(n), Some(t)) = (root_part, &facts.table) {
            let start = t.partitions.iter().find(|p| p.number == n).map(|p| p.start);
            if let Some(s) = start {
                let after: Vec<String> = t
                    .partitions
                    .iter()
                    .filter(|p| p.start > s && p.kind != "extended")
                    .map(|p| p.number.to_string())
                    .collect();
                if !after.is_empty() {
                    out.push(Finding::recommended(
                        format!(
                            "the root partition {n} is followed by partition(s) {}: it cannot grow",
                            after.join(", ")
                        ),
                        "Move the root partition to the end of the disk (or put root on LVM and \
                         extend the volume group).",
                    ));
                }
            }
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{}; root partition {}",
                lf.agents.growpart.as_deref().unwrap_or("-"),
                root_part
                    .map(|n| format!("{n} is last"))
                    .unwrap_or_else(|| "not a partition".into())
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
    fn growpart_and_last_root_pass() {
        let d = assert_pass(
            &OnlineResize.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
        );
        assert_eq!(
            d.as_deref(),
            Some("/usr/bin/growpart; root partition 3 is last")
        );
    }

    #[test]
    fn each_problem_is_recommended() {
        let mut lf = good_linux_facts();
        lf.agents.growpart = None;
        lf.agents.cloud_init.growpart_disabled = true;
        lf.agents.cloud_init.resizefs_disabled = true;
        let mut f = with_linux(lf);
        // Swap partition after root.
        f.table
            .as_mut()
            .unwrap()
            .partitions
            .push(part(4, 11 << 30, 1 << 30, "0x82"));
        let x = findings(
            &OnlineResize.run(&f, &TargetProfile::alibaba()),
            &[Recommended; 4],
        );
        assert_eq!(
            x[3].message,
            "the root partition 3 is followed by partition(s) 4: it cannot grow"
        );
    }

    #[test]
    fn no_facts_not_evaluated() {
        assert_not_evaluated(&OnlineResize.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
