//! `windows.pagefile`: page file settings that point at a drive the instance will not have.
//!
//! Rule from checks.md §3 `pagefile_config` (AWS recommends a fixed-size page file; Azure moves
//! it to the temporary disk D:): `SYSTEM\ControlSet00n\Control\Session Manager\Memory
//! Management\PagingFiles` entries (`<path> <min MiB> <max MiB>`; `?:` = the system managed
//! drive). An entry on a drive letter other than C: and `?:` needs a disk that is not part of
//! this image (recommended); otherwise informational. Our own code.

use super::windows_platform::{ccs, need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "windows.pagefile",
    alibaba_item: None,
    title: "Page file location",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Control\Session Manager\Memory Management: PagingFiles",
        r"\pagefile.sys",
    ],
    remedy: "Let Windows manage the page file on C: (or ?:) before exporting; move it to another \
disk only after the instance has that disk.",
    references: &[
        "AWS VM Import prerequisites (page file)",
        "Azure: prepare a Windows VHD (page file on D:)",
        "checks.md §3 pagefile_config",
    ],
    description: "A recommended fix for each PagingFiles entry on a drive other than C: or the \
system-managed ?: (that disk is not in the image: Windows runs without a page file and cannot \
write crash dumps); otherwise reports the settings. Not evaluated when the SYSTEM hive cannot be \
read.",
};

/// The check.
pub struct Pagefile;

impl Check for Pagefile {
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
        let key = format!(
            r"{}\Control\Session Manager\Memory Management\PagingFiles",
            ccs(w)
        );
        let mut out = Vec::new();
        for e in &w.paging.paging_files {
            let drive = e.trim().chars().next().map(|c| c.to_ascii_uppercase());
            let on_other =
                e.trim().get(1..2) == Some(":") && drive.is_some_and(|d| d != 'C' && d != '?');
            if on_other {
                out.push(
                    Finding::recommended(
                        format!("the page file {e:?} is on a drive that is not in this image"),
                        "Set the page file to system managed on C: before exporting.",
                    )
                    .with_evidence(format!("{key} contains {e:?}")),
                );
            }
        }
        let detail = if w.paging.paging_files.is_empty() {
            "no page file configured".to_string()
        } else {
            format!(
                "PagingFiles {}; \\pagefile.sys {}",
                w.paging.paging_files.join(", "),
                if w.paging.pagefile_present {
                    "present"
                } else {
                    "absent"
                }
            )
        };
        Verdict::from_findings(out, Some(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn all_verdicts() {
        assert_eq!(
            assert_pass(&Pagefile.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            r"PagingFiles ?:\pagefile.sys; \pagefile.sys present"
        );
        let mut f = good_windows();
        win_mut(&mut f).paging.paging_files = vec![r"d:\pagefile.sys 4096 4096".into()];
        let x = findings(&Pagefile.run(&f, &TargetProfile::alibaba()), &[Recommended]);
        assert!(x[0].evidence[0].contains(r"Memory Management\PagingFiles contains"));
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&Pagefile.run(&f, &TargetProfile::alibaba()));
    }
}
