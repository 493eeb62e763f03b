//! `linux.serial-console`: the kernel logs to the first serial port.
//!
//! Rule from checks.md §2 `serial_console` (Azure `console=ttyS0`, GCP, virt-v2v): clouds show
//! the serial port as the instance's console log; without `console=ttyS0` on the default
//! kernel command line boot problems are invisible. Recommended; informational detail
//! otherwise. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.serial-console",
    alibaba_item: None,
    title: "Kernel console on the serial port",
    applies_to: Applicability::Linux,
    inputs: &[
        "guest.linux.boot.default_entry.cmdline",
        "/etc/default/grub",
    ],
    remedy: "Add console=tty0 console=ttyS0,115200n8 to GRUB_CMDLINE_LINUX and regenerate the \
boot loader configuration.",
    references: &[
        "Azure: create-upload-generic (console=ttyS0)",
        "virt-v2v convert_linux.ml: configure_console",
    ],
    description: "Recommended optimisation when the default kernel command line has no \
console=ttyS<n> (or ttyAMA<n> on Arm): the cloud's console log then stays empty. Not evaluated \
without a default boot entry.",
};

/// The check.
pub struct SerialConsole;

impl Check for SerialConsole {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let Some(e) = &lf.boot.default_entry else {
            return Verdict::not_evaluated(
                "no boot loader default entry, so the kernel command line is unknown",
            );
        };
        let at = format!("{} line {}", e.source, e.kernel_line.unwrap_or(e.line));
        let c = e
            .cmdline
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("console="))
            .find(|c| c.starts_with("ttyS") || c.starts_with("ttyAMA"));
        match c {
            Some(c) => Verdict::pass_with(format!("console={c} ({at})")),
            None => Verdict::Findings(vec![Finding::recommended(
                format!(
                    "the default kernel command line ({at}) has no serial console (console=ttyS0)"
                ),
                META.remedy,
            )]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::bootloader::BootEntry;

    fn lf(cmdline: &str) -> Facts {
        let mut lf = good_linux_facts();
        lf.boot.default_entry = Some(BootEntry {
            cmdline: cmdline.into(),
            source: "/boot/grub/grub.cfg".into(),
            line: 80,
            kernel_line: Some(83),
            ..Default::default()
        });
        with_linux(lf)
    }

    #[test]
    fn serial_console_passes() {
        let d = assert_pass(&SerialConsole.run(
            &lf("ro console=tty0 console=ttyS0,115200n8"),
            &TargetProfile::alibaba(),
        ));
        assert_eq!(
            d.as_deref(),
            Some("console=ttyS0,115200n8 (/boot/grub/grub.cfg line 83)")
        );
    }

    #[test]
    fn missing_is_recommended() {
        findings(
            &SerialConsole.run(&lf("ro quiet"), &TargetProfile::alibaba()),
            &[Recommended],
        );
    }

    #[test]
    fn no_entry_not_evaluated() {
        assert_not_evaluated(
            &SerialConsole.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()),
        );
    }
}
