//! `windows.os-version` (GUESTOS.OSVersion): the Windows version is one the target imports.
//!
//! Rule from checks.md §0.5 (Alibaba: image check does not support Windows Server 2003, Windows
//! Server 2008 non-R2, 32-bit Windows 7, 8 and 10; the import notes list Windows XP/7/8/8.1/10 as
//! not importable) and §3 `win_platform_version` (NT version from `CurrentMajorVersionNumber`/
//! `CurrentMinorVersionNumber`, else `CurrentVersion`). The lists are Alibaba's: for other
//! targets the version is informational. Our own code.

use super::windows_platform::{is_server, need_hive, windows, ALIBABA, CURRENT_VERSION_KEY};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.os-version",
    alibaba_item: Some("GUESTOS.OSVersion"),
    title: "Windows version supported by the target",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion: CurrentMajorVersionNumber, CurrentMinorVersionNumber, CurrentVersion, ProductName, InstallationType",
        "arch (PE header of ntoskrnl.exe / cmd.exe)",
    ],
    remedy: "Upgrade the guest to a Windows release the target supports (for Alibaba Cloud: \
Windows Server 2008 R2 or later, 64-bit) before exporting, or use one of the target's public \
Windows images.",
    references: &[
        "Alibaba image check: GUESTOS.OSVersion and its list of unsupported operating systems",
        "Alibaba: Instructions for importing images (Windows client editions)",
        "checks.md §0.5, §3 win_platform_version",
    ],
    description: "For Alibaba Cloud: Windows NT 5.x (XP, Server 2003) and Windows Server 2008 \
(NT 6.0) are strongly recommended fixes, as are 32-bit Windows 7, 8/8.1 and 10; 64-bit client \
editions (Windows 7/8/8.1/10/11), which the import notes list as not importable, are a \
recommended fix. Other targets: informational. Not evaluated without a version.",
};

/// The check.
pub struct OsVersion;

/// The NT version as a product family, for messages.
fn family(major: u32, minor: u32, server: bool) -> &'static str {
    match (major, minor, server) {
        (5, 0, _) => "Windows 2000",
        (5, 1, _) => "Windows XP",
        (5, 2, true) => "Windows Server 2003",
        (5, 2, false) => "Windows XP x64",
        (6, 0, true) => "Windows Server 2008",
        (6, 0, false) => "Windows Vista",
        (6, 1, true) => "Windows Server 2008 R2",
        (6, 1, false) => "Windows 7",
        (6, 2, true) => "Windows Server 2012",
        (6, 2, false) => "Windows 8",
        (6, 3, true) => "Windows Server 2012 R2",
        (6, 3, false) => "Windows 8.1",
        (10, 0, true) => "Windows Server 2016 or later",
        (10, 0, false) => "Windows 10 or 11",
        _ => "an unknown Windows release",
    }
}

impl Check for OsVersion {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SOFTWARE") {
            return v;
        }
        let (Some(major), Some(minor)) = (w.major_version, w.minor_version) else {
            return Verdict::not_evaluated(format!(
                "{CURRENT_VERSION_KEY} has neither CurrentMajorVersionNumber/\
                 CurrentMinorVersionNumber nor CurrentVersion"
            ));
        };
        let server = is_server(w);
        // The release inspection derived (e.g. "Windows 11", whose ProductName says Windows 10),
        // else the NT version's family.
        let fam = w
            .release
            .as_deref()
            .unwrap_or_else(|| family(major, minor, server));
        let product = w.product_name.as_deref().unwrap_or(fam);
        let arch = w.arch.as_deref().unwrap_or("unknown architecture");
        let evidence = format!(
            "{CURRENT_VERSION_KEY}: version {major}.{minor}, ProductName {product:?}, \
             InstallationType {:?}; architecture {arch}",
            w.installation_type.as_deref().unwrap_or("absent")
        );
        let detail = format!("{product}: NT {major}.{minor} ({fam}), {arch}");
        if profile.name != ALIBABA {
            return Verdict::pass_with(detail);
        }
        let x86 = w.arch.as_deref() == Some("x86");
        let reason = if major < 6 || (major == 6 && minor == 0 && server) {
            Some(format!(
                "{fam} is on {}'s list of operating systems that image check does not support",
                profile.display_name
            ))
        } else if !server && x86 && (major > 6 || (major == 6 && minor >= 1)) {
            Some(format!(
                "32-bit {fam} is on {}'s list of operating systems that image check does not \
                 support",
                profile.display_name
            ))
        } else if major == 6 && minor == 0 {
            Some(format!(
                "{fam} (NT 6.0) is not supported by {}",
                profile.display_name
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Verdict::Findings(vec![Finding::strongly(
                format!("{product}: {reason}"),
                "Upgrade to Windows Server 2008 R2 or later (64-bit) before exporting, or start \
                 from one of the target's public Windows images.",
            )
            .with_evidence(evidence)]);
        }
        if !server {
            // "Windows 10 Pro (Windows 11)": Windows 11 keeps the Windows 10 product name.
            let who = if product.starts_with(fam) {
                product.to_string()
            } else {
                format!("{product} ({fam})")
            };
            return Verdict::Findings(vec![Finding::recommended(
                format!(
                    "{who} is a client edition: {}'s import notes list Windows 7/8/8.1/10/11 \
                     client editions as not importable",
                    profile.display_name
                ),
                "Use a Windows Server edition, or check that the target's licensing terms allow \
                 importing this client edition before relying on the image.",
            )
            .with_evidence(evidence)]);
        }
        Verdict::pass_with(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn with(major: u32, minor: u32, product: &str, itype: &str, arch: &str) -> Facts {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.major_version = Some(major);
        w.minor_version = Some(minor);
        w.product_name = Some(product.into());
        w.installation_type = Some(itype.into());
        w.edition_id = None;
        w.arch = Some(arch.into());
        f
    }

    #[test]
    fn server_2022_passes() {
        let d = assert_pass(&OsVersion.run(&good_windows(), &TargetProfile::alibaba())).unwrap();
        assert!(
            d.contains("NT 10.0 (Windows Server 2016 or later), amd64"),
            "{d}"
        );
    }

    #[test]
    fn unsupported_releases_are_strongly_recommended() {
        for f in [
            with(6, 0, "Windows Server (R) 2008 Standard", "Server", "amd64"),
            with(5, 2, "Microsoft Windows Server 2003", "Server", "x86"),
            with(6, 1, "Windows 7 Professional", "Client", "x86"),
            with(10, 0, "Windows 10 Pro", "Client", "x86"),
        ] {
            let v = OsVersion.run(&f, &TargetProfile::alibaba());
            let x = findings(&v, &[StronglyRecommended]);
            assert!(
                x[0].message.contains("does not support") || x[0].message.contains("not supported")
            );
            assert!(x[0].evidence[0].contains("CurrentVersion"));
        }
    }

    #[test]
    fn client_64_bit_is_recommended_and_other_targets_pass() {
        let f = with(10, 0, "Windows 10 Pro", "Client", "amd64");
        let x = findings(
            &OsVersion.run(&f, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(x[0].message.contains("client edition"));
        assert_pass(&OsVersion.run(&f, &TargetProfile::aws()));
        let f = with(6, 1, "Windows Server 2008 R2 Datacenter", "Server", "amd64");
        assert_pass(&OsVersion.run(&f, &TargetProfile::alibaba()));
    }

    /// Windows 11 says "Windows 10 Pro" in ProductName: the derived release names it.
    #[test]
    fn windows_11_is_named_by_its_release() {
        let mut f = with(10, 0, "Windows 10 Pro", "Client", "amd64");
        win_mut(&mut f).release = Some("Windows 11".into());
        let x = findings(
            &OsVersion.run(&f, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(
            x[0].message
                .starts_with("Windows 10 Pro (Windows 11) is a client edition"),
            "{}",
            x[0].message
        );
        let d = assert_pass(&OsVersion.run(&f, &TargetProfile::aws())).unwrap();
        assert_eq!(d, "Windows 10 Pro: NT 10.0 (Windows 11), amd64");
    }

    #[test]
    fn not_evaluated_without_version() {
        let mut f = good_windows();
        win_mut(&mut f).major_version = None;
        assert!(
            assert_not_evaluated(&OsVersion.run(&f, &TargetProfile::alibaba()))
                .contains("CurrentVersion")
        );
        let mut f = good_windows();
        break_hive(&mut f, "SOFTWARE");
        assert_not_evaluated(&OsVersion.run(&f, &TargetProfile::alibaba()));
    }
}
