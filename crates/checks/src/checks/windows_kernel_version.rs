//! `windows.kernel-version` (GUESTOS.KernelVersion): the Windows build and update revision.
//!
//! Rule from checks.md §3 `win_platform_version`: `CurrentBuildNumber` (else `CurrentBuild`),
//! `UBR`, `DisplayVersion`/`ReleaseId`, `CSDVersion`. Informational; Alibaba tags imported
//! images with it (`acs:ecs:image:kernelVersion`, checks.md §0.1). Our own code.

use super::windows_platform::{need_hive, windows, CURRENT_VERSION_KEY};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.kernel-version",
    alibaba_item: Some("GUESTOS.KernelVersion"),
    title: "Windows build",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion: CurrentBuildNumber, UBR, DisplayVersion, CSDVersion",
    ],
    remedy: "Nothing to fix: informational.",
    references: &[
        "Alibaba image check: GUESTOS.KernelVersion",
        "checks.md §0.1, §3 win_platform_version",
    ],
    description: "Reports the build as build.UBR (e.g. 20348.2227) with the display version or \
service pack. Not evaluated when the SOFTWARE hive or the build number cannot be read.",
};

/// The check.
pub struct KernelVersion;

impl Check for KernelVersion {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SOFTWARE") {
            return v;
        }
        let Some(build) = &w.build else {
            return Verdict::not_evaluated(format!(
                "{CURRENT_VERSION_KEY} has neither CurrentBuildNumber nor CurrentBuild"
            ));
        };
        let mut d = match w.ubr {
            Some(u) => format!("build {build}.{u}"),
            None => format!("build {build}"),
        };
        if let Some(v) = &w.display_version {
            d.push_str(&format!(" ({v})"));
        }
        if let Some(sp) = &w.csd_version {
            d.push_str(&format!(" {sp}"));
        }
        Verdict::pass_with(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn reports_build_and_ubr() {
        let d =
            assert_pass(&KernelVersion.run(&good_windows(), &TargetProfile::alibaba())).unwrap();
        assert_eq!(d, "build 20348.2227 (21H2)");
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.ubr = None;
        w.display_version = None;
        w.csd_version = Some("Service Pack 1".into());
        assert_eq!(
            assert_pass(&KernelVersion.run(&f, &TargetProfile::alibaba())).unwrap(),
            "build 20348 Service Pack 1"
        );
    }

    #[test]
    fn not_evaluated_without_build() {
        let mut f = good_windows();
        win_mut(&mut f).build = None;
        assert!(
            assert_not_evaluated(&KernelVersion.run(&f, &TargetProfile::alibaba()))
                .contains("CurrentBuildNumber")
        );
    }
}
