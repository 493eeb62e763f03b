//! `windows.group-policy`: domain Group Policy and antivirus products that can block the new
//! boot drivers.
//!
//! Rule from checks.md §3 `gpo_av_blockers` (virt-v2v warns when Group Policy objects or
//! antivirus are present: either can stop newly installed boot drivers and give a 0x7B stop;
//! AWS asks to disable antivirus; GCP: allow-listing software breaks the import): Group Policy
//! objects linked from a site, domain or organizational unit (`SOFTWARE\Microsoft\Windows\
//! CurrentVersion\Group Policy\History\<extension>\<n>` `GPOLink` ≥ 2), and antivirus / endpoint
//! protection products in the installed programs. The device installation policy itself is
//! `windows.driver-install`. Our own code.

use super::windows_platform::{need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// Registry path of the applied Group Policy objects, for messages.
const HISTORY: &str = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Group Policy\History";
/// `GPOLink` of a GPO linked from a site (2), domain (3) or organizational unit (4); 1 is the
/// local policy.
const LINK_SITE: u32 = 2;

/// Lower-case substrings of antivirus and endpoint-protection product names.
const ANTIVIRUS: &[&str] = &[
    "symantec endpoint",
    "norton",
    "mcafee",
    "trellix",
    "trend micro",
    "kaspersky",
    "eset ",
    "sophos",
    "crowdstrike",
    "bitdefender",
    "avast",
    "avg antivirus",
    "carbon black",
    "sentinel agent",
    "sentinelone",
    "malwarebytes",
    "webroot",
    "cylance",
    "f-secure",
    "panda ",
];

static META: CheckMeta = CheckMeta {
    id: "windows.group-policy",
    alibaba_item: None,
    title: "Group Policy and antivirus that can block new drivers",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SOFTWARE\Microsoft\Windows\CurrentVersion\Group Policy\History\<extension>\<n>: DisplayName, GPOLink",
        r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*: DisplayName (antivirus products)",
    ],
    remedy: "Before exporting, remove the machine from domain policies that restrict driver \
installation or software (or check that they allow the cloud's drivers), and uninstall or \
disable antivirus and endpoint-protection products; reinstall them after the first boot in the \
cloud.",
    references: &[
        "virt-v2v convert/convert_windows.ml (has_group_policy, has_antivirus warnings)",
        "AWS VM Import: disable antivirus and intrusion detection",
        "checks.md §3 gpo_av_blockers",
    ],
    description: "A recommended fix when Group Policy objects from a site, domain or \
organizational unit were applied to the machine, or when antivirus / endpoint-protection \
software is installed: either can refuse the drivers the cloud needs at first boot (stop 0x7B). \
Not evaluated when the SOFTWARE hive cannot be read.",
};

/// The check.
pub struct GroupPolicy;

fn link_name(link: u32) -> &'static str {
    match link {
        2 => "site",
        3 => "domain",
        4 => "organizational unit",
        _ => "other",
    }
}

impl Check for GroupPolicy {
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
        let mut out = Vec::new();
        let mut gpos: Vec<String> = w
            .group_policies
            .iter()
            .filter_map(|g| {
                let link = g.link.filter(|&l| l >= LINK_SITE)?;
                Some(format!(
                    r"{HISTORY}\{}: {} (linked from a {})",
                    g.extension,
                    g.display_name.as_deref().unwrap_or("unnamed GPO"),
                    link_name(link)
                ))
            })
            .collect();
        gpos.sort();
        gpos.dedup();
        if !gpos.is_empty() {
            let mut f = Finding::recommended(
                format!(
                    "{} Group Policy object(s) from a site, domain or organizational unit apply \
                     to this machine: they can block the drivers the cloud needs",
                    gpos.len()
                ),
                "Check that no domain policy restricts driver installation or software on this \
                 machine (or move it out of the domain) before exporting.",
            );
            for g in gpos {
                f = f.with_evidence(g);
            }
            out.push(f);
        }
        let av: Vec<String> = w
            .programs
            .iter()
            .filter(|p| {
                let lower = p.name.to_lowercase();
                ANTIVIRUS.iter().any(|a| lower.contains(a))
            })
            .map(|p| match &p.version {
                Some(v) => format!("installed program \"{}\" {v}", p.name),
                None => format!("installed program \"{}\"", p.name),
            })
            .collect();
        if !av.is_empty() {
            let mut f = Finding::recommended(
                "antivirus or endpoint-protection software is installed: it can block the new \
                 boot drivers at first boot",
                "Uninstall or disable the antivirus software before exporting, and reinstall it \
                 once the instance runs.",
            );
            for a in av {
                f = f.with_evidence(a);
            }
            out.push(f);
        }
        Verdict::from_findings(
            out,
            Some("no domain Group Policy objects, no antivirus software".into()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::windows::{GpoEntry, Program};

    #[test]
    fn good_passes() {
        let mut f = good_windows();
        // The local policy is no finding.
        win_mut(&mut f).group_policies = vec![GpoEntry {
            extension: "{35378EAC-683F-11D2-A89A-00C04FBBCFA2}".into(),
            display_name: Some("Local Group Policy".into()),
            link: Some(1),
        }];
        assert_pass(&GroupPolicy.run(&f, &TargetProfile::alibaba()));
    }

    #[test]
    fn domain_gpo_and_antivirus() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.group_policies = vec![GpoEntry {
            extension: "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}".into(),
            display_name: Some("Default Domain Policy".into()),
            link: Some(3),
        }];
        w.programs = vec![Program {
            name: "Symantec Endpoint Protection".into(),
            version: Some("14.3".into()),
            ..Program::default()
        }];
        let x = findings(
            &GroupPolicy.run(&f, &TargetProfile::alibaba()),
            &[Recommended, Recommended],
        );
        assert_eq!(
            x[0].evidence,
            [format!(
                r"{HISTORY}\{{827D319E-6EAC-11D2-A4EA-00C04F79F83A}}: Default Domain Policy (linked from a domain)"
            )]
        );
        assert_eq!(
            x[1].evidence,
            ["installed program \"Symantec Endpoint Protection\" 14.3"]
        );
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        break_hive(&mut f, "SOFTWARE");
        assert_not_evaluated(&GroupPolicy.run(&f, &TargetProfile::alibaba()));
    }
}
