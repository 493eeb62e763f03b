//! `windows.disk` (GUESTOS.Disk): no residual filter drivers on storage device classes.
//!
//! Rule from checks.md §3 `disk_class_filters` (Alibaba: clear residual drivers; virt-v2v removes
//! the `prl_strg` LowerFilter): every `UpperFilters`/`LowerFilters` name of the disk, SCSI
//! adapter, IDE controller and volume classes must be an existing service whose driver file
//! exists, else the storage stack fails to start (STOP 0x7B). The SAN policy (new disks online)
//! is `windows.san-policy`. Our own code.

use super::windows_platform::{ccs, need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// Storage classes whose filters are boot critical.
const STORAGE_CLASSES: &[&str] = &["disk", "scsi_adapter", "hdc", "volume"];

static META: CheckMeta = CheckMeta {
    id: "windows.disk",
    alibaba_item: Some("GUESTOS.Disk"),
    title: "Storage class filter drivers",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Control\Class\{4d36e967-…} (disk), {4d36e97b-…} (SCSI adapter), {4d36e96a-…} (IDE), {71a27cdd-…} (volume), {4d36e972-…} (net): UpperFilters, LowerFilters",
        r"SYSTEM\ControlSet00n\Services\<filter>: ImagePath and its file",
    ],
    remedy: "Remove the residual filter names from the class's UpperFilters/LowerFilters (keep \
partmgr) or reinstall the software that owns them.",
    references: &[
        "Alibaba image check: GUESTOS.Disk (residual drivers)",
        "virt-v2v convert/convert_windows.ml (disable_prl_drivers)",
        "checks.md §3 disk_class_filters",
    ],
    description: "A strongly recommended fix when a disk, SCSI adapter, IDE controller or volume \
class filter names a service that does not exist or whose driver file is missing (the storage \
stack does not start: STOP 0x7B); recommended when a network class filter is orphaned. Not \
evaluated when the SYSTEM hive cannot be read.",
};

/// The check.
pub struct Disk;

impl Check for Disk {
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
        let mut out = Vec::new();
        let mut seen = 0usize;
        for c in w.class_filters.iter().filter(|c| c.present) {
            let storage = STORAGE_CLASSES.contains(&c.class.as_str());
            for (which, list) in [("UpperFilters", &c.upper), ("LowerFilters", &c.lower)] {
                for f in list {
                    seen = seen.saturating_add(1);
                    let key = format!(r"{}\Control\Class\{}", ccs(w), c.guid);
                    let problem = if !f.service_exists {
                        format!(r"has no service {}\Services\{}", ccs(w), f.name)
                    } else if f.image_exists == Some(false) {
                        format!(
                            r"is the service {}\Services\{}, whose driver file is missing",
                            ccs(w),
                            f.name
                        )
                    } else {
                        continue;
                    };
                    let msg = format!(
                        "{} class {which} names {:?}, which {problem}{}",
                        c.class,
                        f.name,
                        if storage {
                            ": the storage stack fails to start (STOP 0x7B)"
                        } else {
                            ": the network stack may fail to start"
                        }
                    );
                    let remedy = format!(
                        "Remove {:?} from {key}\\{which} (keep partmgr), or reinstall the \
                         software that owns it.",
                        f.name
                    );
                    let ev = format!(r"{key}\{which} contains {}", f.name);
                    out.push(if storage {
                        Finding::strongly(msg, remedy).with_evidence(ev)
                    } else {
                        Finding::recommended(msg, remedy).with_evidence(ev)
                    });
                }
            }
        }
        Verdict::from_findings(out, Some(format!("{seen} class filters resolved")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::windows::FilterRef;

    #[test]
    fn good_passes() {
        assert_eq!(
            assert_pass(&Disk.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "1 class filters resolved"
        );
    }

    #[test]
    fn orphaned_filters() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.class_filters[0].upper.push(FilterRef {
            name: "xenfilt".into(),
            service_exists: true,
            image_exists: Some(false),
        });
        w.class_filters[1].lower.push(FilterRef {
            name: "prl_strg".into(),
            service_exists: false,
            image_exists: None,
        });
        // The SAN policy is windows.san-policy's.
        w.san_policy = Some(2);
        let x = findings(
            &Disk.run(&f, &TargetProfile::alibaba()),
            &[StronglyRecommended, StronglyRecommended],
        );
        assert!(x[0]
            .message
            .contains("disk class UpperFilters names \"xenfilt\""));
        assert!(x[0].message.contains("driver file is missing"));
        assert!(x[1]
            .message
            .contains(r"has no service SYSTEM\ControlSet001\Services\prl_strg"));
        assert!(x[1].evidence[0].contains(r"{4d36e97b-e325-11ce-bfc1-08002be10318}\LowerFilters"));
    }

    #[test]
    fn net_filter_is_recommended() {
        let mut f = good_windows();
        let mut c = win(&f).class_filters[1].clone();
        c.class = "net".into();
        c.lower = vec![FilterRef {
            name: "old_vpn".into(),
            service_exists: false,
            image_exists: None,
        }];
        win_mut(&mut f).class_filters.push(c);
        findings(&Disk.run(&f, &TargetProfile::alibaba()), &[Recommended]);
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&Disk.run(&f, &TargetProfile::alibaba()));
    }
}
