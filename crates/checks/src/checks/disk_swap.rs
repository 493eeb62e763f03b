//! `disk.swap`: a swap partition on the OS disk — informational, a recommended optimisation on
//! targets that want swap on a resource disk (Azure).
//!
//! Rule from checks.md §1 `swap_on_os_disk` (Azure create-upload-generic.md: do not create swap
//! on the OS disk; the agent/cloud-init creates it on the temporary disk). Evidence: swap
//! signature, MBR type 0x82 or the Linux-swap GPT GUID. The severity is the [`TargetProfile`]'s.
//! Our own code.

use crate::facts::{Facts, VolumeContent};
use crate::layout::{bytes_exact, is_swap_type, partitions, volume_name};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use std::collections::BTreeSet;

static META: CheckMeta = CheckMeta {
    id: "disk.swap",
    alibaba_item: None,
    title: "Swap partition on the OS disk",
    applies_to: Applicability::Any,
    inputs: &["volumes[].content (swap)", "table.partitions[].type_id"],
    remedy:
        "Remove the swap partition and its /etc/fstab entry; let the platform agent or cloud-init \
create swap on the resource disk.",
    references: &["Azure: create-upload-generic.md (swap on the resource disk, not the OS disk)"],
    description:
        "Reports swap partitions on the OS disk (swap signature, MBR type 0x82, GPT Linux swap \
type). Informational, except on targets that want swap on a separate disk (Azure), where it is a \
recommended optimisation: the OS disk is remote storage and slow for paging.",
};

/// The check.
pub struct Swap;

impl Check for Swap {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if facts.table.is_none() && facts.volumes.is_empty() {
            return Verdict::not_evaluated("neither a partition table nor a volume could be read");
        }
        // Partition number → size, from the swap signature or the partition type.
        let mut swaps: BTreeSet<(u32, u64)> = BTreeSet::new();
        // Swap volumes that are not partitions: the whole disk, an LVM LV, an md array.
        let mut others: Vec<String> = Vec::new();
        for v in &facts.volumes {
            if matches!(v.content, VolumeContent::Swap { .. }) {
                match v.partition {
                    Some(n) => {
                        swaps.insert((n, v.size));
                    }
                    None => others.push(format!("{} ({})", volume_name(v), bytes_exact(v.size))),
                }
            }
        }
        for p in partitions(facts).iter().filter(|p| is_swap_type(p)) {
            if !swaps.iter().any(|(n, _)| *n == p.number) {
                swaps.insert((p.number, p.size));
            }
        }
        let mut names: Vec<String> = swaps
            .iter()
            .map(|(n, size)| format!("partition {n} ({})", bytes_exact(*size)))
            .collect();
        names.extend(others);
        if names.is_empty() {
            return Verdict::pass_with("no swap partition on the disk");
        }
        match profile.swap_on_os_disk {
            Some(sev) => Verdict::Findings(vec![Finding::new(
                sev,
                format!(
                    "swap on the OS disk: {}; {} recommends swap on the resource disk",
                    names.join(", "),
                    profile.display_name
                ),
                "Remove the swap partition and its /etc/fstab entry, and enable swap on the \
                 resource disk (cloud-init `mounts`/`swap`, or waagent ResourceDisk.EnableSwap).",
            )]),
            None => Verdict::pass_with(format!("swap: {}", names.join(", "))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::VolumeFacts;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn with_swap() -> Facts {
        let mut facts = good_linux();
        if let Some(t) = facts.table.as_mut() {
            t.partitions.push(part(4, 11 << 30, 1 << 30, "0x82"));
        }
        facts.volumes.push(vol(
            4,
            VolumeContent::Swap {
                uuid: None,
                label: None,
            },
        ));
        facts
    }

    #[test]
    fn no_swap_and_swap_are_informational_on_alibaba() {
        assert_eq!(
            assert_pass(&Swap.run(&good_linux(), &TargetProfile::alibaba())).as_deref(),
            Some("no swap partition on the disk")
        );
        assert_eq!(
            assert_pass(&Swap.run(&with_swap(), &TargetProfile::alibaba())).as_deref(),
            Some("swap: partition 4 (1.0 GiB (1073741824 bytes))")
        );
    }

    #[test]
    fn swap_is_recommended_on_azure() {
        let f = findings(
            &Swap.run(&with_swap(), &TargetProfile::azure()),
            &[Recommended],
        );
        assert!(
            f[0].message.starts_with("swap on the OS disk: partition 4"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn swap_by_type_only_counts() {
        let mut facts = with_swap();
        facts.volumes.pop();
        findings(&Swap.run(&facts, &TargetProfile::azure()), &[Recommended]);
    }

    #[test]
    fn swap_on_a_logical_volume_is_named_as_such() {
        let mut facts = good_linux();
        facts.volumes.push(VolumeFacts {
            id: "rl/swap".into(),
            partition: None,
            size: 8 << 20,
            content: VolumeContent::Swap {
                uuid: None,
                label: None,
            },
            error: None,
        });
        assert_eq!(
            assert_pass(&Swap.run(&facts, &TargetProfile::alibaba())).as_deref(),
            Some("swap: volume rl/swap (8.0 MiB (8388608 bytes))")
        );
    }

    #[test]
    fn nothing_read_is_not_evaluated() {
        assert_not_evaluated(&Swap.run(&Facts::default(), &TargetProfile::alibaba()));
    }
}
