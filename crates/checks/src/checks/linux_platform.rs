//! `linux.platform` (Alibaba `GUESTOS.Platform`): the image holds one Linux installation.
//!
//! Rule from checks.md §2 `os_platform` and §4 (libguestfs root detection: `/etc`, `/bin` or
//! `/usr/bin`, and `/etc/fstab` or os-release): informational; more than one root found is a
//! recommended optimisation (the platform cannot tell which one boots). Our own code.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.platform",
    alibaba_item: Some("GUESTOS.Platform"),
    title: "Operating system platform",
    applies_to: Applicability::Linux,
    inputs: &["guest.os_type", "guest.roots_found", "guest.root_volume"],
    remedy: "Keep one operating system per system disk.",
    references: &[
        "Alibaba Cloud image check: GUESTOS.Platform",
        "libguestfs inspect_fs.ml: root detection",
    ],
    description: "Reports the platform (Linux) and the volume holding the root. More than one \
Linux root on the disk is a recommended optimisation: which one boots depends on the boot \
loader, and the checks only inspect the first.",
};

/// The check.
pub struct Platform;

impl Check for Platform {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let Some(g) = &facts.guest else {
            return Verdict::not_evaluated("no operating system inspected");
        };
        let vol = g.root_volume.as_deref().unwrap_or("unknown volume");
        if g.roots_found > 1 {
            return Verdict::Findings(vec![Finding::recommended(
                format!(
                    "{} operating system roots found on the disk; the checks inspected the Linux root on volume {vol} (`imgcheck inspect` lists them all)",
                    g.roots_found
                ),
                META.remedy,
            )]);
        }
        Verdict::pass_with(format!("Linux, root on volume {vol}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn one_root_passes() {
        let mut f = good_linux();
        f.guest.as_mut().unwrap().root_volume = Some("3".into());
        let d = assert_pass(&Platform.run(&f, &TargetProfile::alibaba()));
        assert_eq!(d.as_deref(), Some("Linux, root on volume 3"));
    }

    #[test]
    fn two_roots_are_recommended() {
        let mut f = good_linux();
        f.guest.as_mut().unwrap().roots_found = 2;
        let v = Platform.run(&f, &TargetProfile::alibaba());
        findings(&v, &[Recommended]);
        let Verdict::Findings(list) = v else { panic!() };
        assert!(
            list[0]
                .message
                .starts_with("2 operating system roots found"),
            "{}",
            list[0].message
        );
    }

    #[test]
    fn no_guest_not_evaluated() {
        let mut f = good_linux();
        f.guest = None;
        assert_not_evaluated(&Platform.run(&f, &TargetProfile::alibaba()));
    }
}
