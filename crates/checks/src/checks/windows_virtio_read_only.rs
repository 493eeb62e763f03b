//! `windows.virtio-read-only`: the community virtio driver files are not read-only.
//!
//! Rule from checks.md §3 `virtio_files_not_readonly` (Alibaba, Instructions for importing
//! images: Alibaba replaces `netkvm`, `balloon`, `vioser`, `viostor` and `pvpanic` driver files
//! on import, which fails for read-only files). The attribute is NTFS
//! `$STANDARD_INFORMATION` `FILE_ATTRIBUTE_READONLY`, read by the inspection layer. Alibaba only.
//! Our own code.

use super::windows_platform::{windows, ALIBABA};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// Driver files Alibaba replaces.
const REPLACED: &[&str] = &["netkvm", "balloon", "vioser", "viostor", "pvpanic"];

static META: CheckMeta = CheckMeta {
    id: "windows.virtio-read-only",
    alibaba_item: None,
    title: "virtio driver files writable",
    applies_to: Applicability::Windows,
    inputs: &[
        r"\Windows\System32\drivers\{netkvm,balloon,vioser,viostor,pvpanic}.sys: NTFS read-only attribute",
    ],
    remedy: "Clear the read-only attribute of the virtio driver files (attrib -r \
C:\\Windows\\System32\\drivers\\<name>.sys) before exporting.",
    references: &[
        "Alibaba: Instructions for importing images (virtio driver files must not be read-only)",
        "checks.md §3 virtio_files_not_readonly",
    ],
    description: "Alibaba Cloud only: a recommended fix for each of netkvm, balloon, vioser, \
viostor and pvpanic .sys whose NTFS read-only attribute is set, since the import replaces these \
files.",
};

/// The check.
pub struct VirtioReadOnly;

impl Check for VirtioReadOnly {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if profile.name != ALIBABA {
            return Verdict::not_applicable("the read-only rule is Alibaba Cloud's");
        }
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        let sys = format!(r"{}\System32\drivers", w.system_root.replace('/', "\\"));
        let mut out = Vec::new();
        let mut checked = Vec::new();
        for n in REPLACED {
            let Some(d) = w.drivers.get(*n).filter(|d| d.sys_file_present) else {
                continue;
            };
            match d.sys_file_read_only {
                Some(true) => out.push(
                    Finding::recommended(
                        format!(r"{sys}\{n}.sys is read-only: the import cannot replace it"),
                        format!(r"Run attrib -r C:{sys}\{n}.sys in the source guest."),
                    )
                    .with_evidence(format!(r"{sys}\{n}.sys: FILE_ATTRIBUTE_READONLY set")),
                ),
                Some(false) => checked.push(format!("{n}.sys")),
                None => {}
            }
        }
        if out.is_empty() && checked.is_empty() {
            return Verdict::pass_with("no virtio driver file to check");
        }
        Verdict::from_findings(out, Some(format!("writable: {}", checked.join(", "))))
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
            assert_pass(&VirtioReadOnly.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "writable: netkvm.sys, viostor.sys"
        );
        let mut f = good_windows();
        win_mut(&mut f)
            .drivers
            .get_mut("netkvm")
            .unwrap()
            .sys_file_read_only = Some(true);
        let x = findings(
            &VirtioReadOnly.run(&f, &TargetProfile::alibaba()),
            &[Recommended],
        );
        assert!(x[0]
            .message
            .starts_with(r"\Windows\System32\drivers\netkvm.sys is read-only"));
        assert_not_applicable(&VirtioReadOnly.run(&f, &TargetProfile::kvm()));
        let mut f = good_windows();
        f.guest.as_mut().unwrap().windows = None;
        assert_not_evaluated(&VirtioReadOnly.run(&f, &TargetProfile::alibaba()));
    }
}
