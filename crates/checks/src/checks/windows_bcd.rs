//! `windows.bcd` (GUESTOS.BCD): the Boot Configuration Data store exists and its default entry
//! loads Windows from this image.
//!
//! Rule from checks.md §3 `bcd` (virt-v2v `fix_win_uefi_bcd`): the store is `\EFI\Microsoft\
//! Boot\BCD` on the ESP (UEFI) or `\Boot\BCD` on the system partition (BIOS); `{bootmgr}`
//! element 23000003 names the default object, whose 12000002 is the loader path and 11000001 /
//! 21000001 the devices. A partition device holds the partition's GPT unique GUID (or MBR disk
//! signature and offset): the boot manager's must be a partition of this image, the default
//! loader's device and osdevice the partition holding Windows (else the boot fails with
//! 0xc000000e, "the boot selection failed because a required device is inaccessible"). Our own
//! code.

use super::windows_drive_letters::{describe_partition, disk_evidence, windows_partition};
use super::windows_platform::windows;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::windows::DiskLocation;

static META: CheckMeta = CheckMeta {
    id: "windows.bcd",
    alibaba_item: Some("GUESTOS.BCD"),
    title: "Boot Configuration Data (BCD)",
    applies_to: Applicability::Windows,
    inputs: &[
        r"\EFI\Microsoft\Boot\BCD on the ESP, \Boot\BCD on the system partition",
        r"BCD Objects\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\Elements\23000003 (default)",
        "default object elements 12000002 (path), 11000001 (device), 21000001 (osdevice)",
    ],
    remedy: "Rebuild the boot files from a running guest or recovery environment (bcdboot \
C:\\Windows) so that the BCD default entry points at this disk's Windows partition and an \
existing winload.",
    references: &[
        "Alibaba image check: GUESTOS.BCD",
        "virt-v2v convert/convert_windows.ml (fix_win_uefi_bcd)",
        "checks.md §3 bcd",
    ],
    description: "A strongly recommended fix when no BCD store exists, when the store has no \
default entry or loader path, when the loader path does not exist on the Windows volume, when \
the default entry's device is not a disk partition (e.g. a removed device), or when a device \
element names a partition that is not in this image (or, for the loader's device and osdevice, \
not the Windows partition). Not evaluated when a store exists but could not be parsed.",
};

/// The check.
pub struct Bcd;

/// Whether a BCD device can be a partition of this image.
fn is_partition(d: &DiskLocation) -> bool {
    matches!(
        d,
        DiskLocation::Gpt { .. } | DiskLocation::Mbr { .. } | DiskLocation::BootDevice
    )
}

impl Check for Bcd {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let fix = "Run bcdboot C:\\Windows in the guest (or its recovery environment) to \
                   rebuild the BCD store, then export again.";
        let Some(b) = w.bcd.first() else {
            return Verdict::Findings(vec![Finding::strongly(
                r"no BCD store: neither \EFI\Microsoft\Boot\BCD on an EFI System Partition nor \Boot\BCD on a system partition exists",
                fix,
            )]);
        };
        let place = format!("BCD store {} on volume {}", b.store, b.volume);
        if let Some(h) = w
            .hives
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("BCD") && h.path == b.store && !h.parsed)
        {
            return Verdict::not_evaluated(format!(
                "{place} could not be parsed: {}",
                h.error.as_deref().unwrap_or("unknown error")
            ));
        }
        let mut out = Vec::new();
        let Some(default) = &b.default_id else {
            return Verdict::Findings(vec![Finding::strongly(
                format!(r"{place}: {{bootmgr}} has no default entry (element 23000003)"),
                fix,
            )]);
        };
        let ev = format!("{place}: default {default}");
        match (&b.path, b.path_exists) {
            (None, _) => out.push(
                Finding::strongly(
                    format!("{place}: the default entry {default} has no loader path (element 12000002)"),
                    fix,
                )
                .with_evidence(ev.clone()),
            ),
            (Some(p), Some(false)) => out.push(
                Finding::strongly(
                    format!(
                        "{place}: the default entry's loader path {p} does not exist on the \
                         Windows volume"
                    ),
                    fix,
                )
                .with_evidence(ev.clone()),
            ),
            _ => {}
        }
        for (what, dev) in [("device", &b.device), ("osdevice", &b.osdevice)] {
            if let Some(d) = dev.as_ref().filter(|d| !is_partition(d)) {
                out.push(
                    Finding::strongly(
                        format!(
                            "{place}: the default entry's {what} is {}, not a disk partition",
                            d.describe()
                        ),
                        fix,
                    )
                    .with_evidence(ev.clone()),
                );
            }
        }
        // The devices must be partitions of this image: the boot manager's any partition (ESP
        // or system partition), the loader's the partition holding Windows.
        if !facts.disk_ids.partitions.is_empty() {
            let win_part = windows_partition(facts);
            let devices = [
                (
                    "{bootmgr} device (element 11000001)",
                    &b.bootmgr_device,
                    false,
                ),
                ("default entry's device (element 11000001)", &b.device, true),
                (
                    "default entry's osdevice (element 21000001)",
                    &b.osdevice,
                    true,
                ),
            ];
            for (what, dev, must_be_windows) in devices {
                let Some(d) = dev
                    .as_ref()
                    .filter(|d| matches!(d, DiskLocation::Gpt { .. } | DiskLocation::Mbr { .. }))
                else {
                    continue;
                };
                let problem = match (facts.disk_ids.find(d), win_part) {
                    (None, _) => Some(format!(
                        "{place}: the {what} names {}, which is not a partition of this disk",
                        d.describe()
                    )),
                    (Some(p), Some(wp)) if must_be_windows && p.number != wp.number => {
                        Some(format!(
                            "{place}: the {what} names {}, not the Windows {}",
                            describe_partition(p),
                            describe_partition(wp)
                        ))
                    }
                    _ => None,
                };
                if let Some(msg) = problem {
                    out.push(
                        Finding::strongly(msg, fix)
                            .with_evidence(format!("{place}: {what} = {}", d.describe()))
                            .with_evidence(disk_evidence(facts)),
                    );
                }
            }
        }
        let mut detail = format!(
            "{place}: default {default}{}",
            b.description
                .as_ref()
                .map(|d| format!(" ({d:?})"))
                .unwrap_or_default()
        );
        if let Some(p) = &b.path {
            detail.push_str(&format!(", path {p}"));
        }
        if let Some(d) = &b.osdevice {
            detail.push_str(&format!(", osdevice {}", d.describe()));
        }
        Verdict::from_findings(out, Some(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn good_passes() {
        let d = assert_pass(&Bcd.run(&good_windows(), &TargetProfile::alibaba())).unwrap();
        assert!(d.starts_with(
            r#"BCD store /EFI/Microsoft/Boot/BCD on volume 1: default {b2c3d4e5-f607-4819-a2b3-c4d5e6f70819} ("Windows Server"), path \Windows\system32\winload.efi"#
        ), "{d}");
    }

    #[test]
    fn findings() {
        let mut f = good_windows();
        let b = &mut win_mut(&mut f).bcd[0];
        b.path = Some(r"\Windows\system32\winload.exe".into());
        b.path_exists = Some(false);
        b.device = Some(DiskLocation::Other {
            description: "bcd device type 8".into(),
        });
        let x = crate::testutil::findings(
            &Bcd.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, StronglyRecommended],
        );
        assert!(x[0]
            .message
            .contains(r"\Windows\system32\winload.exe does not exist"));
        assert!(x[1].message.contains("device is bcd device type 8"));
        win_mut(&mut f).bcd[0].default_id = None;
        let x = crate::testutil::findings(
            &Bcd.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0].message.contains("no default entry"));
        win_mut(&mut f).bcd.clear();
        let x = crate::testutil::findings(
            &Bcd.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0].message.contains("no BCD store"));
    }

    #[test]
    fn devices_must_be_partitions_of_this_disk() {
        let mut f = good_windows();
        let b = &mut win_mut(&mut f).bcd[0];
        b.osdevice = Some(DiskLocation::Gpt {
            partition_guid: "deadbeef-0000-4000-8000-000000000001".into(),
            disk_guid: Some("5c3e1a2b-6d4f-4e8a-9b0c-1d2e3f405162".into()),
        });
        // The loader's device on the ESP: a partition of this disk, but not Windows'.
        b.device = b.bootmgr_device.clone();
        let x = crate::testutil::findings(
            &Bcd.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, StronglyRecommended],
        );
        assert!(x[0].message.contains(
            "device (element 11000001) names partition 1 (0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9), not the Windows partition 2"
        ), "{}", x[0].message);
        assert!(x[1].message.contains(
            "osdevice (element 21000001) names gpt partition deadbeef-0000-4000-8000-000000000001 on disk 5c3e1a2b-6d4f-4e8a-9b0c-1d2e3f405162, which is not a partition of this disk"
        ), "{}", x[1].message);
        assert!(x[1].evidence[1].starts_with("this image: gpt disk 5c3e1a2b"));
        // A partition GUID of this disk on another disk GUID is another disk.
        let mut f = good_windows();
        win_mut(&mut f).bcd[0].bootmgr_device = Some(DiskLocation::Gpt {
            partition_guid: "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9".into(),
            disk_guid: Some("00000000-1111-4222-8333-444444444444".into()),
        });
        let x = crate::testutil::findings(
            &Bcd.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        assert!(x[0].message.contains("{bootmgr} device"));
        // Unknown partition identifiers: no claim.
        f.disk_ids = Default::default();
        assert_pass(&Bcd.run(&f, &TargetProfile::alibaba()));
    }

    #[test]
    fn not_evaluated_when_unparsable() {
        let mut f = good_windows();
        break_hive(&mut f, "BCD");
        win_mut(&mut f).bcd[0].default_id = None;
        assert!(
            assert_not_evaluated(&Bcd.run(&f, &TargetProfile::alibaba()))
                .contains("could not be parsed")
        );
    }
}
