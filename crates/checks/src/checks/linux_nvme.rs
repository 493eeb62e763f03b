//! `linux.nvme` (Alibaba `GUESTOS.Nvme`): the default kernel can boot from an NVMe system disk
//! and has the recommended NVMe I/O timeout.
//!
//! Rule from checks.md §2 `nvme_driver` (Alibaba RiskCode `NVMe.NotInstalled`; AWS
//! nitro_check_script): `nvme` built in, or a module inside the default kernel's initramfs —
//! strongly recommended otherwise; `nvme_core.io_timeout` (or `nvme.io_timeout` on old kernels)
//! on the default kernel command line — recommended when missing (Alibaba recommends
//! 4294967295; cloud disks can pause I/O longer than the 30 s default). Only targets whose
//! profile says `needs_nvme`. Our own code.

use super::linux_virtio::{default_kernel, describe, linux_facts};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_inspect::kconfig::DriverStatus;

static META: CheckMeta = CheckMeta {
    id: "linux.nvme",
    alibaba_item: Some("GUESTOS.Nvme"),
    title: "NVMe driver and I/O timeout",
    applies_to: Applicability::Linux,
    inputs: &[
        "guest.linux.kernels[default].drivers.nvme",
        "guest.linux.kernels[default].initrd_summary",
        "guest.linux.boot.default_entry.cmdline",
        "/etc/default/grub GRUB_CMDLINE_LINUX",
    ],
    remedy: "Include the nvme driver in the initramfs (dracut add_drivers+=\" nvme \"; \
initramfs-tools modules) and add nvme_core.io_timeout=4294967295 to GRUB_CMDLINE_LINUX, then \
regenerate grub.cfg.",
    references: &[
        "Alibaba Cloud: NVMe driver check (RiskCode NVMe.NotInstalled) and io_timeout guidance",
        "AWS nitro_check_script.sh",
    ],
    description: "On targets with NVMe instance types: the default kernel's nvme driver must \
be built in or a module inside its initramfs (strongly recommended otherwise); the default \
kernel command line should carry nvme_core.io_timeout (recommended otherwise; the advice names \
nvme.io_timeout for kernels before 4.6 and a maximum of 255 before 4.15). Not applicable on \
other targets.",
};

/// Kernel parameters that set the NVMe I/O timeout (`nvme.io_timeout` on most kernels
/// before 4.6, where the driver was one module; distribution kernels backport either name).
const TIMEOUT_PARAMS: &[&str] = &["nvme_core.io_timeout=", "nvme.io_timeout="];

/// The timeout setting to advise for kernel `version`: the parameter is `nvme.io_timeout`
/// before 4.6 (the nvme_core split), and its maximum is 255 before 4.15 (a byte until then),
/// 4294967295 after (AWS "NVMe I/O operation timeout"; Alibaba's io_timeout guidance).
pub(crate) fn timeout_setting(version: &str) -> (&'static str, &'static str) {
    let mut it = version.split(|c: char| !c.is_ascii_digit());
    let major = it.next().and_then(|x| x.parse::<u32>().ok());
    let minor = it.next().and_then(|x| x.parse::<u32>().ok());
    match (major, minor) {
        (Some(a), Some(b)) if (a, b) < (4, 6) => (
            "nvme.io_timeout=255",
            " (kernels before 4.6 name it nvme.io_timeout; before 4.15 its maximum is 255)",
        ),
        (Some(a), Some(b)) if (a, b) < (4, 15) => (
            "nvme_core.io_timeout=255",
            " (before kernel 4.15 its maximum is 255)",
        ),
        _ => ("nvme_core.io_timeout=4294967295", ""),
    }
}

/// The check.
pub struct Nvme;

impl Check for Nvme {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if !profile.needs_nvme {
            return Verdict::not_applicable(format!(
                "{} has no NVMe system disks",
                profile.display_name
            ));
        }
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let k = match default_kernel(lf) {
            Ok(k) => k,
            Err(v) => return v,
        };
        let st = k.drivers.get("nvme");
        let mut out = Vec::new();
        let state = match st {
            Some(DriverStatus::Builtin { .. }) => describe(st),
            Some(DriverStatus::Module { path }) => match &k.initrd_summary {
                Some(s) if s.drivers_found.iter().any(|d| d == "nvme") => {
                    format!("module in {}", s.path)
                }
                Some(s) if !s.complete => {
                    return Verdict::not_evaluated(format!(
                    "nvme is module {path} but initramfs {} could not be listed completely ({})",
                    s.path,
                    s.error.as_deref().unwrap_or("listing limit reached")
                ))
                }
                Some(s) => {
                    out.push(Finding::strongly(
                        format!(
                            "nvme is module {path} but initramfs {} of kernel {} lacks it",
                            s.path, k.version
                        ),
                        META.remedy,
                    ));
                    String::new()
                }
                None => {
                    out.push(Finding::strongly(
                        format!(
                            "nvme is module {path} and kernel {} has no initramfs",
                            k.version
                        ),
                        META.remedy,
                    ));
                    String::new()
                }
            },
            _ => {
                out.push(Finding::strongly(
                    format!(
                        "default kernel {} has no nvme driver ({})",
                        k.version,
                        describe(st)
                    ),
                    META.remedy,
                ));
                String::new()
            }
        };
        let (setting, why) = timeout_setting(&k.version);
        let param = setting.split('=').next().unwrap_or(setting);
        match &lf.boot.default_entry {
            Some(e) => {
                let has = e
                    .cmdline
                    .split_whitespace()
                    .find(|w| TIMEOUT_PARAMS.iter().any(|p| w.starts_with(p)));
                if has.is_none() {
                    out.push(Finding::recommended(
                        format!(
                            "the default kernel command line ({} line {}) has no {param}",
                            e.source,
                            e.kernel_line.unwrap_or(e.line)
                        ),
                        if e.source.ends_with("grub.cfg") {
                            format!(
                                "Add {setting} to GRUB_CMDLINE_LINUX in /etc/default/grub and \
                                 regenerate grub.cfg{why}."
                            )
                        } else if e.source.starts_with("/boot/loader/entries/") {
                            format!(
                                "Add {setting} to the options line of {} (`grubby \
                                 --update-kernel=ALL --args={setting}`){why}.",
                                e.source
                            )
                        } else {
                            format!("Add {setting} to the kernel line in {}{why}.", e.source)
                        },
                    ));
                }
            }
            None => out.push(Finding::recommended(
                format!(
                    "no boot loader default entry was found, so {param} could not be confirmed"
                ),
                format!("Add {setting} to the kernel command line{why}."),
            )),
        }
        Verdict::from_findings(out, Some(format!("kernel {}: nvme {state}", k.version)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::bootloader::BootEntry;

    fn lf(cmdline: &str) -> imgcheck_inspect::linux::LinuxFacts {
        let mut lf = good_linux_facts();
        lf.boot.default_entry = Some(BootEntry {
            cmdline: cmdline.into(),
            source: "/boot/grub/grub.cfg".into(),
            line: 80,
            kernel_line: Some(83),
            ..Default::default()
        });
        lf
    }

    #[test]
    fn driver_in_initramfs_and_timeout_pass() {
        let d = assert_pass(&Nvme.run(
            &with_linux(lf("ro nvme_core.io_timeout=4294967295")),
            &TargetProfile::alibaba(),
        ));
        assert!(d.unwrap().contains("nvme module in /boot/initrd.img-"));
    }

    #[test]
    fn missing_driver_and_timeout() {
        let mut l = lf("ro quiet");
        l.kernels[0]
            .initrd_summary
            .as_mut()
            .unwrap()
            .drivers_found
            .retain(|d| d != "nvme");
        let f = findings(
            &Nvme.run(&with_linux(l), &TargetProfile::alibaba()),
            &[StronglyRecommended, Recommended],
        );
        assert!(f[0].message.contains("lacks it"));
        assert!(
            f[1].message.contains("/boot/grub/grub.cfg line 83"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn timeout_advice_follows_the_kernel_version() {
        assert_eq!(
            timeout_setting("6.1.0-28-cloud-amd64").0,
            "nvme_core.io_timeout=4294967295"
        );
        assert_eq!(
            timeout_setting("4.15.0-213-generic").0,
            "nvme_core.io_timeout=4294967295"
        );
        assert_eq!(
            timeout_setting("4.9.0-19-amd64").0,
            "nvme_core.io_timeout=255"
        );
        assert_eq!(timeout_setting("4.4.0-21-generic").0, "nvme.io_timeout=255");
        assert_eq!(
            timeout_setting("2.6.32-754.35.1.el6.x86_64").0,
            "nvme.io_timeout=255"
        );
        assert_eq!(timeout_setting("virt").0, "nvme_core.io_timeout=4294967295");
        // A 2.6.32 kernel gets the old parameter in the finding and in the remedy.
        let mut l = lf("ro quiet");
        l.kernels[0].version = "2.6.32-754.35.1.el6.x86_64".into();
        let f = findings(
            &Nvme.run(&with_linux(l), &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(
            f[0].message.ends_with("has no nvme.io_timeout"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].remedy,
            "Add nvme.io_timeout=255 to GRUB_CMDLINE_LINUX in /etc/default/grub and regenerate \
             grub.cfg (kernels before 4.6 name it nvme.io_timeout; before 4.15 its maximum is \
             255)."
        );
        // Either name satisfies the check: distribution kernels backport the split.
        let mut l = lf("ro nvme.io_timeout=255");
        l.kernels[0].version = "3.10.0-1160.el7.x86_64".into();
        assert_pass(&Nvme.run(&with_linux(l), &TargetProfile::alibaba()));
    }

    #[test]
    fn not_applicable_and_not_evaluated() {
        assert_not_applicable(&Nvme.run(&with_linux(lf("")), &TargetProfile::kvm()));
        assert_not_evaluated(&Nvme.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
