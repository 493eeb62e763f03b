//! `windows.serial-console`: Emergency Management Services (the Windows serial console) in the
//! BCD store.
//!
//! Rule from checks.md §3 `ems_serial` (Azure "prepare a Windows VHD": `bcdedit /set {bootmgr}
//! bootems yes`, `bcdedit /ems {current} on`, `bcdedit /emssettings EMSPORT:1
//! EMSBAUDRATE:115200`): `{bootmgr}` element 16000020, the default loader's element 260000b0 and
//! the `{emssettings}` port and baud rate. Informational, except where the target profile asks
//! for it (Azure's serial console needs it). Our own code.

use super::windows_platform::windows;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.serial-console",
    alibaba_item: None,
    title: "Serial console (EMS) in the BCD store",
    applies_to: Applicability::Windows,
    inputs: &[
        r"BCD {bootmgr} element 16000020 (bootems)",
        r"BCD default loader element 260000b0 (ems)",
        r"BCD {emssettings} elements 15000022 (port), 15000023 (baud rate)",
    ],
    remedy: "To use the cloud's serial console, enable EMS before exporting: bcdedit /set \
{bootmgr} bootems yes; bcdedit /ems {current} on; bcdedit /emssettings EMSPORT:1 \
EMSBAUDRATE:115200.",
    references: &[
        "Azure: prepare a Windows VHD to upload (BCD settings for the serial console)",
        "Microsoft: BCD WMI provider element types (EmsEnabled, EmsPort, EmsBaudRate)",
        "checks.md §3 ems_serial",
    ],
    description: "Reports whether the boot manager and the default Windows loader enable \
Emergency Management Services on a serial port. Informational; a recommended fix on targets \
whose serial console needs it (Azure) when EMS is off. Not evaluated when there is no readable \
BCD store.",
};

/// The check.
pub struct SerialConsole;

fn on_off(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "on",
        Some(false) => "off",
        None => "not set",
    }
}

impl Check for SerialConsole {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let Some(b) = w.bcd.first() else {
            return Verdict::not_evaluated("no BCD store was found");
        };
        if let Some(h) = w
            .hives
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("BCD") && h.path == b.store && !h.parsed)
        {
            return Verdict::not_evaluated(format!(
                "BCD store {} on volume {} could not be parsed: {}",
                b.store,
                b.volume,
                h.error.as_deref().unwrap_or("unknown error")
            ));
        }
        let place = format!("BCD store {} on volume {}", b.store, b.volume);
        let enabled = b.bootmgr_ems == Some(true) && b.ems == Some(true);
        let mut detail = format!(
            "{place}: {{bootmgr}} bootems {}, default loader ems {}",
            on_off(b.bootmgr_ems),
            on_off(b.ems)
        );
        if let Some(port) = b.ems_port {
            detail.push_str(&format!(", EMS port COM{port}"));
        }
        if let Some(baud) = b.ems_baud_rate {
            detail.push_str(&format!(", {baud} baud"));
        }
        match profile.windows_serial_console {
            Some(sev) if !enabled => Verdict::Findings(vec![Finding::new(
                sev,
                format!(
                    "the Windows serial console (EMS) is not enabled: {} cannot show the boot \
                     and SAC console of this instance",
                    profile.display_name
                ),
                "Run bcdedit /set {bootmgr} bootems yes, bcdedit /ems {current} on and \
                 bcdedit /emssettings EMSPORT:1 EMSBAUDRATE:115200 in the source guest, then \
                 export again.",
            )
            .with_evidence(format!(
                "{place}: {{bootmgr}} element 16000020 (bootems) {}",
                on_off(b.bootmgr_ems)
            ))
            .with_evidence(format!(
                "{place}: default loader element 260000b0 (ems) {}",
                on_off(b.ems)
            ))]),
            _ => Verdict::pass_with(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn informational_pass() {
        let d = assert_pass(&SerialConsole.run(&good_windows(), &TargetProfile::alibaba()));
        assert_eq!(
            d.unwrap(),
            "BCD store /EFI/Microsoft/Boot/BCD on volume 1: {bootmgr} bootems on, default loader \
             ems on, EMS port COM1, 115200 baud"
        );
        // EMS off is still informational on Alibaba.
        let mut f = good_windows();
        let b = &mut win_mut(&mut f).bcd[0];
        b.bootmgr_ems = None;
        b.ems = Some(false);
        b.ems_port = None;
        b.ems_baud_rate = None;
        assert!(
            assert_pass(&SerialConsole.run(&f, &TargetProfile::alibaba()))
                .unwrap()
                .ends_with("bootems not set, default loader ems off")
        );
    }

    #[test]
    fn azure_wants_ems() {
        assert_pass(&SerialConsole.run(&good_windows(), &TargetProfile::azure()));
        let mut f = good_windows();
        win_mut(&mut f).bcd[0].ems = None;
        let x = findings(
            &SerialConsole.run(&f, &TargetProfile::azure()),
            &[Recommended],
        );
        assert!(x[0].message.contains("Microsoft Azure"));
        assert_eq!(
            x[0].evidence[1],
            "BCD store /EFI/Microsoft/Boot/BCD on volume 1: default loader element 260000b0 (ems) not set"
        );
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        break_hive(&mut f, "BCD");
        assert!(
            assert_not_evaluated(&SerialConsole.run(&f, &TargetProfile::azure()))
                .contains("could not be parsed")
        );
        win_mut(&mut f).bcd.clear();
        assert_not_evaluated(&SerialConsole.run(&f, &TargetProfile::alibaba()));
    }
}
