//! `windows.driver-install` (GUESTOS.Server): Windows may install drivers for new devices.
//!
//! Rule from checks.md §3 `driver_install_allowed` (Alibaba GUESTOS.Server; virt-v2v
//! `has_group_policy`: a policy can block the drivers of the new virtual hardware):
//! `CCS\Services\DeviceInstall\Parameters\DeviceInstallDisabled` (Windows 7 / 2008 R2 and later)
//! and `CCS\Services\PlugPlay\Parameters\DeviceInstallDisabled` (older) must be 0 or absent; the
//! Group Policy `SOFTWARE\Policies\Microsoft\Windows\DeviceInstall\Restrictions` must not deny
//! installation (`DenyUnspecified`, `DenyDeviceClasses`, `DenyDeviceIDs`, `DenyInstanceIDs`,
//! `DenyRemovableDevices` ≠ 0). Our own code.

use super::windows_platform::{ccs, need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// Registry path of the device installation policy, for messages.
const RESTRICTIONS: &str = r"SOFTWARE\Policies\Microsoft\Windows\DeviceInstall\Restrictions";

static META: CheckMeta = CheckMeta {
    id: "windows.driver-install",
    alibaba_item: Some("GUESTOS.Server"),
    title: "Device driver installation allowed",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Services\DeviceInstall\Parameters: DeviceInstallDisabled",
        r"SYSTEM\ControlSet00n\Services\PlugPlay\Parameters: DeviceInstallDisabled",
        r"SOFTWARE\Policies\Microsoft\Windows\DeviceInstall\Restrictions: Deny* values and lists",
    ],
    remedy: "Allow device installation before exporting: delete DeviceInstallDisabled (or set it \
to 0) under Services\\DeviceInstall\\Parameters and Services\\PlugPlay\\Parameters, and disable \
the \"Device Installation Restrictions\" Group Policy settings (the Deny* values under \
SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions).",
    references: &[
        "Alibaba image check: GUESTOS.Server",
        "virt-v2v convert/convert_windows.ml (has_group_policy)",
        "Microsoft: Manage device installation with Group Policy",
        "checks.md §3 driver_install_allowed",
    ],
    description: "A recommended fix when DeviceInstallDisabled is non-zero (Services\\\
DeviceInstall or Services\\PlugPlay parameters) or when a device installation restriction \
policy denies devices (DenyUnspecified, DenyDeviceClasses, DenyDeviceIDs, DenyInstanceIDs, \
DenyRemovableDevices): Windows then cannot install the drivers of the cloud's virtual network \
and storage devices. Not evaluated when the SYSTEM or SOFTWARE hive cannot be read.",
};

/// The check.
pub struct DriverInstall;

/// Whether a policy value denies installation: a `Deny*` switch (not one of its list entries,
/// which are named `<List>\<n>`) whose value is a non-zero number.
fn denies(name: &str, value: &str) -> bool {
    !name.contains('\\')
        && name.len() > 4
        && name
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("deny"))
        && value.trim().parse::<u64>().is_ok_and(|n| n != 0)
}

impl Check for DriverInstall {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SYSTEM").and_then(|()| need_hive(w, "SOFTWARE")) {
            return v;
        }
        let d = &w.device_install;
        let mut out = Vec::new();
        for (service, value) in [
            ("DeviceInstall", d.device_install_disabled),
            ("PlugPlay", d.plugplay_install_disabled),
        ] {
            if let Some(v) = value.filter(|&v| v != 0) {
                out.push(
                    Finding::recommended(
                        format!(
                            r"device installation is disabled ({}\Services\{service}\Parameters\DeviceInstallDisabled = {v}): Windows will not install drivers for the cloud's virtual devices",
                            ccs(w)
                        ),
                        format!(
                            r"Delete DeviceInstallDisabled under {}\Services\{service}\Parameters (or set it to 0) before exporting.",
                            ccs(w)
                        ),
                    )
                    .with_evidence(format!(
                        r"{}\Services\{service}\Parameters\DeviceInstallDisabled = {v}",
                        ccs(w)
                    )),
                );
            }
        }
        let deny: Vec<_> = d
            .restrictions
            .iter()
            .filter(|s| denies(&s.name, &s.value))
            .collect();
        if !deny.is_empty() {
            let names: Vec<&str> = deny.iter().map(|s| s.name.as_str()).collect();
            let mut f = Finding::recommended(
                format!(
                    "Group Policy restricts device installation ({}): drivers of the cloud's \
                     virtual devices may be refused",
                    names.join(", ")
                ),
                format!(
                    "Disable the Device Installation Restrictions policies ({RESTRICTIONS}) in \
                     the source guest, run gpupdate, then export again."
                ),
            );
            for s in &d.restrictions {
                // The switches and their lists (`DenyDeviceClasses\1 = {…}`), as evidence.
                if denies(&s.name, &s.value)
                    || names.iter().any(|n| {
                        s.name
                            .split_once('\\')
                            .is_some_and(|(list, _)| list.eq_ignore_ascii_case(n))
                    })
                {
                    f = f.with_evidence(format!(r"{RESTRICTIONS}\{} = {}", s.name, s.value));
                }
            }
            out.push(f);
        }
        Verdict::from_findings(
            out,
            Some("device installation allowed (no DeviceInstallDisabled, no deny policy)".into()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::windows::RegSetting;

    fn setting(name: &str, value: &str) -> RegSetting {
        RegSetting {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn good_passes() {
        let mut f = good_windows();
        // Zero values and allow-switches are no finding.
        let d = &mut win_mut(&mut f).device_install;
        d.device_install_disabled = Some(0);
        d.restrictions = vec![
            setting("AllowAdminInstall", "1"),
            setting("DenyRemovableDevices", "0"),
        ];
        assert!(
            assert_pass(&DriverInstall.run(&f, &TargetProfile::alibaba()))
                .unwrap()
                .contains("device installation allowed")
        );
    }

    #[test]
    fn disabled_installation() {
        let mut f = good_windows();
        let d = &mut win_mut(&mut f).device_install;
        d.device_install_disabled = Some(1);
        d.plugplay_install_disabled = Some(1);
        let x = findings(
            &DriverInstall.run(&f, &TargetProfile::alibaba()),
            &[Recommended, Recommended],
        );
        assert_eq!(
            x[0].evidence,
            [r"SYSTEM\ControlSet001\Services\DeviceInstall\Parameters\DeviceInstallDisabled = 1"]
        );
        assert_eq!(
            x[1].evidence,
            [r"SYSTEM\ControlSet001\Services\PlugPlay\Parameters\DeviceInstallDisabled = 1"]
        );
        assert!(x[0].remedy.contains("Delete DeviceInstallDisabled"));
    }

    #[test]
    fn deny_policies() {
        let mut f = good_windows();
        win_mut(&mut f).device_install.restrictions = vec![
            setting("AllowAdminInstall", "1"),
            setting("DenyDeviceClasses", "1"),
            setting(
                r"DenyDeviceClasses\1",
                "{4d36e972-e325-11ce-bfc1-08002be10318}",
            ),
            setting(r"DenyDeviceIDs\1", r"PCI\VEN_1AF4&DEV_1000"),
            setting("DenyUnspecified", "1"),
        ];
        let x = findings(
            &DriverInstall.run(&f, &TargetProfile::aws()),
            &[Recommended],
        );
        assert!(x[0]
            .message
            .contains("(DenyDeviceClasses, DenyUnspecified)"));
        // The DenyDeviceIDs list without its switch is not evidence.
        assert_eq!(
            x[0].evidence,
            [
                format!(r"{RESTRICTIONS}\DenyDeviceClasses = 1"),
                format!(
                    r"{RESTRICTIONS}\DenyDeviceClasses\1 = {{4d36e972-e325-11ce-bfc1-08002be10318}}"
                ),
                format!(r"{RESTRICTIONS}\DenyUnspecified = 1"),
            ]
        );
    }

    #[test]
    fn not_evaluated() {
        for hive in ["SYSTEM", "SOFTWARE"] {
            let mut f = good_windows();
            break_hive(&mut f, hive);
            win_mut(&mut f).device_install.device_install_disabled = Some(1);
            assert!(
                assert_not_evaluated(&DriverInstall.run(&f, &TargetProfile::alibaba()))
                    .contains(hive)
            );
        }
        let mut f = good_windows();
        f.guest.as_mut().unwrap().windows = None;
        assert_not_evaluated(&DriverInstall.run(&f, &TargetProfile::alibaba()));
    }
}
