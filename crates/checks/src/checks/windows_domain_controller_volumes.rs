//! `windows.domain-controller-volumes`: a domain controller's Active Directory database, logs
//! and SYSVOL are on volumes of this image.
//!
//! Rule from checks.md §3 `domain_controller_volumes` (AWS VM Import troubleshooting: "a volume
//! that Windows requires is missing", the Active Directory database on D:): the values
//! `DSA Database file`, `Database log files path` and `DSA Working Directory` of
//! `SYSTEM\ControlSet00n\Services\NTDS\Parameters`, and `SysVol` of `Services\Netlogon\
//! Parameters`, name drive paths; a drive letter other than `C:` must map, in
//! `SYSTEM\MountedDevices`, to a partition of this image. `C:` is taken as the system volume
//! (whether MountedDevices maps it correctly is `windows.drive-letters`' question).
//!
//! Severity (ours, I): Active Directory cannot start without its database, logs or working
//! directory, and a domain controller whose directory service fails to start stops at boot
//! (stop c00002e2, "Directory Services could not start"): strongly recommended. A missing SYSVOL
//! leaves the domain controller up but without its Group Policy and logon-script share:
//! recommended. A separate check from `windows.drive-letters` so that a domain controller's
//! needs are named in the report on their own; it is not applicable to machines that are not
//! domain controllers. Our own code.

use super::windows_drive_letters::{describe_partition, disk_evidence};
use super::windows_platform::{ccs, need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Severity, Verdict};
use imgcheck_inspect::windows::PathSetting;

static META: CheckMeta = CheckMeta {
    id: "windows.domain-controller-volumes",
    alibaba_item: None,
    title: "Domain controller volumes are in the image",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SYSTEM\ControlSet00n\Services\NTDS\Parameters: DSA Database file, Database log files path, DSA Working Directory",
        r"SYSTEM\ControlSet00n\Services\Netlogon\Parameters: SysVol",
        r"SYSTEM\MountedDevices: \DosDevices\X:",
        "partition table: MBR disk signature, partition offsets, GPT unique partition GUIDs",
    ],
    remedy: "Include the volumes that hold the Active Directory database, logs and SYSVOL in the \
import, or move them to C: in the source domain controller (ntdsutil: files, move db to, move \
logs to; SYSVOL: move the replicated folder) before exporting.",
    references: &[
        "AWS VM Import troubleshooting: a volume that Windows requires is missing",
        "Microsoft: Active Directory Domain Services registry keys (NTDS\\Parameters)",
        "Microsoft: stop c00002e2, Directory Services could not start",
        "checks.md §3 domain_controller_volumes",
    ],
    description: "A strongly recommended fix when the Active Directory database, log or working \
directory path of a domain controller is on a drive letter (other than C:) that MountedDevices \
does not map to a partition of this image (the directory service cannot start, the server stops \
at boot); recommended when the SYSVOL path is. Passes when every such path is on C: or on a \
partition of this image. Not applicable when the machine is not a domain controller; not \
evaluated when the SYSTEM hive cannot be read or the partition table's identifiers are unknown.",
};

/// The check.
pub struct DomainControllerVolumes;

/// The drive letter a path starts with (`D:` of `D:\NTDS\ntds.dit` or `\\?\D:\NTDS`), upper
/// case; `None` for relative, environment-variable and UNC paths.
pub(crate) fn drive_of(path: &str) -> Option<String> {
    let p = path.trim();
    let p = p
        .strip_prefix(r"\\?\")
        .or_else(|| p.strip_prefix(r"\??\"))
        .unwrap_or(p);
    let mut chars = p.chars();
    let letter = chars.next().filter(char::is_ascii_alphabetic)?;
    (chars.next() == Some(':')).then(|| format!("{}:", letter.to_ascii_uppercase()))
}

/// Strongly recommended for the directory service's own files, recommended for SYSVOL.
fn severity_of(p: &PathSetting) -> Severity {
    if p.value.eq_ignore_ascii_case("SysVol") {
        Severity::Recommended
    } else {
        Severity::StronglyRecommended
    }
}

impl Check for DomainControllerVolumes {
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
        let dc = &w.domain_controller;
        if !dc.ntds_parameters_present && dc.paths.is_empty() {
            return Verdict::not_applicable(format!(
                r"not a domain controller: {}\Services\NTDS\Parameters is absent",
                ccs(w)
            ));
        }
        let setting = |p: &PathSetting| format!(r#"SYSTEM\{} "{}" = {}"#, p.key, p.value, p.path);
        let mut out = Vec::new();
        let mut ok = Vec::new();
        let mut unknown = Vec::new();
        for p in &dc.paths {
            let Some(letter) = drive_of(&p.path).filter(|l| l != "C:") else {
                ok.push(p.value.clone());
                continue;
            };
            let mapped = w
                .drive_letters
                .iter()
                .find(|d| d.letter.eq_ignore_ascii_case(&letter));
            let problem = match mapped {
                None => Some((
                    format!("{letter} is not mapped in MountedDevices"),
                    format!(r"SYSTEM\MountedDevices has no \DosDevices\{letter}"),
                )),
                Some(_) if facts.disk_ids.partitions.is_empty() => {
                    unknown.push(p.value.clone());
                    None
                }
                Some(d) => match facts.disk_ids.find(&d.location) {
                    Some(part) => {
                        ok.push(format!(
                            "{} ({letter} = {})",
                            p.value,
                            describe_partition(part)
                        ));
                        None
                    }
                    None => Some((
                        format!(
                            "{letter} maps to {}, which is not a partition of this image",
                            d.location.describe()
                        ),
                        format!(
                            r#"SYSTEM\MountedDevices "\DosDevices\{letter}" = {}"#,
                            d.location.describe()
                        ),
                    )),
                },
            };
            if let Some((why, mapping)) = problem {
                let consequence = if severity_of(p) == Severity::StronglyRecommended {
                    "Active Directory cannot start and the domain controller stops at boot \
                     (stop c00002e2)"
                } else {
                    "the domain controller comes up without its SYSVOL share (Group Policy, \
                     logon scripts)"
                };
                out.push(
                    Finding::new(
                        severity_of(p),
                        format!(
                            "the domain controller's \"{}\" is {}, but {why}: {consequence}",
                            p.value, p.path
                        ),
                        "Import the volume that holds it together with the system disk, or \
                         move it to C: in the source domain controller (ntdsutil files: move db \
                         to / move logs to; SYSVOL: move the replicated folder) and export \
                         again.",
                    )
                    .with_evidence(setting(p))
                    .with_evidence(mapping)
                    .with_evidence(disk_evidence(facts)),
                );
            }
        }
        if out.is_empty() && !unknown.is_empty() {
            return Verdict::not_evaluated(format!(
                "the partition table's identifiers (disk signature, partition GUIDs) are \
                 unknown, so where {} lies cannot be told",
                unknown.join(", ")
            ));
        }
        let detail = if ok.is_empty() {
            format!(
                r"domain controller ({}\Services\NTDS\Parameters present) without database, log or SYSVOL paths",
                ccs(w)
            )
        } else {
            format!(
                "domain controller: {} on C: or on partitions of this image",
                ok.join(", ")
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
    use imgcheck_inspect::windows::{DiskLocation, DriveLetter};

    const NTDS: &str = r"ControlSet001\Services\NTDS\Parameters";

    fn path(key: &str, value: &str, p: &str) -> PathSetting {
        PathSetting {
            key: key.into(),
            value: value.into(),
            path: p.into(),
        }
    }

    /// [`good_windows`] as a domain controller with these paths.
    fn dc(paths: Vec<PathSetting>) -> Facts {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.domain_controller.ntds_parameters_present = true;
        w.domain_controller.paths = paths;
        f
    }

    fn run(f: &Facts) -> Verdict {
        DomainControllerVolumes.run(f, &TargetProfile::aws())
    }

    #[test]
    fn drive_letters_of_paths() {
        assert_eq!(drive_of(r"D:\NTDS\ntds.dit").as_deref(), Some("D:"));
        assert_eq!(drive_of(r"e:\NTDS").as_deref(), Some("E:"));
        assert_eq!(drive_of(r"\\?\F:\SYSVOL").as_deref(), Some("F:"));
        assert_eq!(drive_of(r"%SystemRoot%\NTDS"), None);
        assert_eq!(drive_of(r"\\server\share"), None);
        assert_eq!(drive_of("NTDS"), None);
        assert_eq!(drive_of(""), None);
    }

    #[test]
    fn paths_on_c_and_on_this_disk_pass() {
        let mut f = dc(vec![
            path(NTDS, "DSA Database file", r"C:\Windows\NTDS\ntds.dit"),
            path(NTDS, "Database log files path", r"%SystemRoot%\NTDS"),
            path(
                r"ControlSet001\Services\Netlogon\Parameters",
                "SysVol",
                r"E:\SYSVOL\sysvol",
            ),
        ]);
        // E: is the ESP's partition 1 here: on this disk.
        win_mut(&mut f).drive_letters.push(DriveLetter {
            letter: "E:".into(),
            location: DiskLocation::Gpt {
                partition_guid: "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9".into(),
                disk_guid: None,
            },
        });
        assert_eq!(
            assert_pass(&run(&f)).unwrap(),
            "domain controller: DSA Database file, Database log files path, SysVol (E: = \
             partition 1 (0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9)) on C: or on partitions of this \
             image"
        );
        // NTDS\Parameters without paths.
        assert!(assert_pass(&run(&dc(Vec::new())))
            .unwrap()
            .contains("without database, log or SYSVOL paths"));
    }

    #[test]
    fn database_on_unmapped_letter() {
        let f = dc(vec![path(NTDS, "DSA Database file", r"D:\NTDS\ntds.dit")]);
        let x = findings(&run(&f), &[StronglyRecommended]);
        assert_eq!(
            x[0].message,
            "the domain controller's \"DSA Database file\" is D:\\NTDS\\ntds.dit, but D: is not \
             mapped in MountedDevices: Active Directory cannot start and the domain controller \
             stops at boot (stop c00002e2)"
        );
        assert_eq!(
            x[0].evidence[..2],
            [
                r#"SYSTEM\ControlSet001\Services\NTDS\Parameters "DSA Database file" = D:\NTDS\ntds.dit"#
                    .to_string(),
                r"SYSTEM\MountedDevices has no \DosDevices\D:".to_string(),
            ]
        );
    }

    #[test]
    fn logs_and_sysvol_on_a_disk_not_in_the_image() {
        let mut f = dc(vec![
            path(NTDS, "Database log files path", r"D:\Logs"),
            path(
                r"ControlSet001\Services\Netlogon\Parameters",
                "SysVol",
                r"d:\SYSVOL\sysvol",
            ),
        ]);
        win_mut(&mut f).drive_letters.push(DriveLetter {
            letter: "D:".into(),
            location: DiskLocation::Mbr {
                disk_signature: "1a2b3c4d".into(),
                offset: 1 << 20,
            },
        });
        let x = findings(&run(&f), &[StronglyRecommended, Recommended]);
        assert!(x[0].message.contains(
            "D: maps to mbr disk 1a2b3c4d offset 1048576, which is not a partition of this image"
        ));
        assert!(x[1].message.contains("without its SYSVOL share"));
        assert_eq!(
            x[1].evidence[1],
            r#"SYSTEM\MountedDevices "\DosDevices\D:" = mbr disk 1a2b3c4d offset 1048576"#
        );
    }

    #[test]
    fn not_applicable_and_not_evaluated() {
        assert!(assert_not_applicable(&run(&good_windows())).contains("not a domain controller"));
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&run(&f));
        let mut f = good_windows();
        f.guest.as_mut().unwrap().windows = None;
        assert_not_evaluated(&run(&f));
        // A mapped letter but no partition identifiers to compare with.
        let mut f = dc(vec![path(NTDS, "DSA Database file", r"D:\NTDS\ntds.dit")]);
        win_mut(&mut f).drive_letters.push(DriveLetter {
            letter: "D:".into(),
            location: DiskLocation::Mbr {
                disk_signature: "1a2b3c4d".into(),
                offset: 1 << 20,
            },
        });
        f.disk_ids = Default::default();
        assert!(assert_not_evaluated(&run(&f)).contains("DSA Database file"));
    }
}
