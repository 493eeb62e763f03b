//! `windows.bcd` (GUESTOS.BCD): the Boot Configuration Data store exists and its default entry
//! loads Windows from this image.
//!
//! Rule from checks.md §3 `bcd` (virt-v2v `fix_win_uefi_bcd`): the store is `\EFI\Microsoft\
//! Boot\BCD` on the ESP (UEFI) or `\Boot\BCD` on the system partition (BIOS); `{bootmgr}`
//! element 23000003 names the default object, whose 12000002 is the loader path and 11000001 /
//! 21000001 the devices. Our own code.

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
default entry or loader path, when the loader path does not exist on the Windows volume, or when \
the default entry's device is not a disk partition (e.g. a removed device). Not evaluated when a \
store exists but could not be parsed.",
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
