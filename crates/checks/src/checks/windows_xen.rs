//! `windows.xen` (GUESTOS.Xen): no residual Xen PV drivers that hide the emulated and virtio
//! devices.
//!
//! Rule from checks.md §3 `xen_remnants` (Alibaba: clear `XenPCI\Parameters\hide_devices`;
//! virt-v2v disables `rhelscsi` and uninstalls the Xen PV drivers): Xen services (`xen*`,
//! `rhelscsi`) that start at boot, system or automatically (Start 0–2), class filters naming a
//! Xen driver, and a non-empty `hide_devices`. Our own code.

use super::windows_platform::{ccs, need_hive, start_name, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// Highest `Start` that loads a service without a user (automatic).
const START_AUTOMATIC: u32 = 2;

static META: CheckMeta = CheckMeta {
    id: "windows.xen",
    alibaba_item: Some("GUESTOS.Xen"),
    title: "Residual Xen PV drivers",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Services\xen*, rhelscsi: Start",
        r"SYSTEM\ControlSet00n\Services\XenPCI\Parameters: hide_devices",
        r"SYSTEM\ControlSet00n\Control\Class\{…}: UpperFilters, LowerFilters naming Xen drivers",
    ],
    remedy: "Uninstall the Xen PV drivers in the source guest (or set their Start to 4 and \
remove them from the class filters), and clear XenPCI\\Parameters\\hide_devices, before \
exporting.",
    references: &[
        "Alibaba image check: GUESTOS.Xen",
        "virt-v2v convert/convert_windows.ml (rhelscsi, Xen PV uninstall)",
        "checks.md §3 xen_remnants",
    ],
    description: "A strongly recommended fix when XenPCI's hide_devices is set, when a Xen \
driver is a class filter, or when a Xen service starts at boot, system start or automatically: \
on a non-Xen hypervisor they hide or fail to drive the disks. Disabled or manual Xen services \
are reported as a recommended clean-up. Not evaluated when the SYSTEM hive cannot be read.",
};

/// The check.
pub struct Xen;

impl Check for Xen {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SYSTEM") {
            return v;
        }
        let x = &w.xen;
        let fix = "Uninstall the Xen PV drivers in the source guest and clear XenPCI \
                   hide_devices, then export again.";
        let mut out = Vec::new();
        let mut ev = Vec::new();
        if let Some(h) = &x.hide_devices {
            ev.push(format!(
                r"{}\Services\XenPCI\Parameters\hide_devices = {h}",
                ccs(w)
            ));
        }
        ev.extend(x.class_filters.iter().map(|c| format!("class filter: {c}")));
        let active: Vec<String> = x
            .services
            .iter()
            .filter(|s| s.start.is_some_and(|n| n <= START_AUTOMATIC))
            .map(|s| {
                format!(
                    r"{}\Services\{} Start={}",
                    ccs(w),
                    s.name,
                    start_name(s.start)
                )
            })
            .collect();
        ev.extend(active.iter().cloned());
        if !ev.is_empty() {
            let mut f = Finding::strongly(
                "Xen PV drivers are active: on a non-Xen hypervisor they hide or fail to drive \
                 the disks and network",
                fix,
            );
            for e in ev {
                f = f.with_evidence(e);
            }
            out.push(f);
        }
        let idle: Vec<String> = x
            .services
            .iter()
            .filter(|s| s.start.is_none_or(|n| n > START_AUTOMATIC))
            .map(|s| {
                format!(
                    r"{}\Services\{} Start={}",
                    ccs(w),
                    s.name,
                    start_name(s.start)
                )
            })
            .collect();
        if !idle.is_empty() {
            let mut f = Finding::recommended(
                "inactive Xen PV driver services remain in the registry",
                "Uninstall the Xen PV drivers to remove the leftover services.",
            );
            for e in idle {
                f = f.with_evidence(e);
            }
            out.push(f);
        }
        Verdict::from_findings(out, Some("no Xen PV drivers".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::windows::ServiceRef;

    #[test]
    fn good_passes() {
        assert_pass(&Xen.run(&good_windows(), &TargetProfile::alibaba()));
    }

    #[test]
    fn active_and_idle() {
        let mut f = good_windows();
        let x = &mut win_mut(&mut f).xen;
        x.services = vec![
            ServiceRef {
                name: "xenbus".into(),
                start: Some(0),
            },
            ServiceRef {
                name: "xeniface".into(),
                start: Some(4),
            },
        ];
        x.class_filters = vec!["disk upper xenfilt".into()];
        x.hide_devices = Some("0 1".into());
        let v = findings(
            &Xen.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, Recommended],
        );
        assert_eq!(
            v[0].evidence,
            [
                r"SYSTEM\ControlSet001\Services\XenPCI\Parameters\hide_devices = 0 1",
                "class filter: disk upper xenfilt",
                r"SYSTEM\ControlSet001\Services\xenbus Start=0 (boot)",
            ]
        );
        assert_eq!(
            v[1].evidence,
            [r"SYSTEM\ControlSet001\Services\xeniface Start=4 (disabled)"]
        );
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&Xen.run(&f, &TargetProfile::alibaba()));
    }
}
