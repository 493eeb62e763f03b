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
        // The root partition must be the last one (by start offset). Root on an LVM logical
        // volume: the partition that must be able to grow is its physical volume's.
        let root_vol = facts.volumes.iter().find(|v| match &v.content {
            VolumeContent::Filesystem(fs) => fs.roles.iter().any(|r| r == "root"),
            _ => false,
        });
        let lv_pv_part = root_vol
            .filter(|v| v.partition.is_none())
            .and_then(|v| v.id.split_once('/'))
            .and_then(|(vg, _)| facts.volume_groups.iter().find(|g| g.name == vg))
            .and_then(|g| {
                g.pvs
                    .iter()
                    .filter_map(|pv| pv.volume.as_deref()?.parse::<u32>().ok())
                    .max()
            });
        let root_part = root_vol.and_then(|v| v.partition).or(lv_pv_part);
        let what = if lv_pv_part.is_some() {
            "the partition of the root volume group's PV"
        } else {
            "the root partition"
        };
        let mut last = false;
        if let (Some(n), Some(t)) = (root_part, &facts.table) {
            let start = t.partitions.iter().find(|p| p.number == n).map(|p| p.start);
            if let Some(s) = start {
                let after: Vec<String> = t
                    .partitions
                    .iter()
                    .filter(|p| p.start > s && p.kind != "extended")
                    .map(|p| p.number.to_string())
                    .collect();
                last = after.is_empty();
                if !after.is_empty() {
                    out.push(Finding::recommended(
                        format!(
                            "{what} {n} is followed by partition(s) {}: it cannot grow",
                            after.join(", ")
                        ),
                        "Move the root partition to the end of the disk (or put root on LVM and \
                         extend the volume group).",
                    ));
                }
            }
        }
        let is_last = if last { " is last" } else { "" };
        let place = match (root_vol, lv_pv_part, root_part) {
            (Some(v), Some(n), _) => format!("root on {} (PV partition {n}{is_last})", v.id),
            (_, None, Some(n)) => format!("root partition {n}{is_last}"),
            (Some(v), None, None) => format!("root on volume {}, not a partition", v.id),
            (None, _, _) => "root volume unknown".to_string(),
        };
        Verdict::from_findings(
            out,
            Some(format!(
                "{}; {place}",
                lf.agents.growpart.as_deref().unwrap_or("-"),
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
