//! `windows.bitlocker`: the Windows system volume is not BitLocker-encrypted.
//!
//! Rule from checks.md §3 `bitlocker` (GCP and AWS do not import BitLocker-encrypted disks,
//! Alibaba's image check is unavailable for encrypted disks, Azure asks to decrypt before sysprep
//! and upload). Evidence:
//!
//! - the volume layer's BitLocker detection (boot sector OEM id `-FVE-FS-`, libbde's format
//!   documentation): the Windows system volume (the inspected root), the volume `MountedDevices`
//!   calls `C:`, or — when no readable volume holds Windows at all — the BitLocker volumes that
//!   hide it;
//! - the registry: `SYSTEM\ControlSet00n\Control\BitLockerStatus` `BootStatus` (REG_DWORD; its
//!   meaning, "BitLocker protected the system volume at the last boot" when non-zero, is inferred
//!   (I): Microsoft does not document the value), with `Control\FVEStats` and the Group Policy key
//!   `SOFTWARE\Policies\Microsoft\FVE` as supporting evidence only.
//!
//! The severity for the system volume comes from the profile
//! ([`TargetProfile::windows_bitlocker`]); a BitLocker *data* volume is a recommended fix here.
//! `disk.encrypted-volume` stays the disk-level check that flags every encrypted volume (LUKS or
//! BitLocker, any guest); this check is the Windows view: which volume is encrypted (system, C:,
//! a lettered data volume) and what the registry says. It applies to every guest that is not
//! Linux, because an encrypted system volume hides the Windows installation itself (the guest's
//! type is then unknown). Our own code.

use super::windows_drive_letters::describe_partition;
use super::windows_platform::{ccs, hive_problem};
use crate::facts::{Facts, VolumeContent, VolumeFacts};
use crate::layout::volume_place;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Severity, Verdict};
use imgcheck_inspect::windows::WindowsFacts;

static META: CheckMeta = CheckMeta {
    id: "windows.bitlocker",
    alibaba_item: None,
    title: "System volume not BitLocker-encrypted",
    applies_to: Applicability::Any,
    inputs: &[
        "volumes[].content (encrypted: bitlocker, from the boot sector OEM id -FVE-FS-)",
        r"SYSTEM\MountedDevices: \DosDevices\X: (which volume is C:, which letter a volume has)",
        r"SYSTEM\ControlSet00n\Control\BitLockerStatus: BootStatus",
        r"SYSTEM\ControlSet00n\Control\FVEStats (evidence only)",
        r"SOFTWARE\Policies\Microsoft\FVE (evidence only)",
    ],
    remedy: "Turn BitLocker off in the source guest (manage-bde -off C:, then wait until \
manage-bde -status reports the volume fully decrypted; on Azure before sysprep), shut down and \
export the image again.",
    references: &[
        "GCP importing-virtual-disks: BitLocker-encrypted disks are not supported",
        "AWS VM Import: encrypted volumes are not supported",
        "Azure prepare a Windows VHD to upload: turn off BitLocker before sysprep",
        "Alibaba: image check is unavailable for encrypted disks",
        "libbde: BitLocker Drive Encryption (BDE) format (-FVE-FS- volume header)",
        "checks.md §3 bitlocker",
    ],
    description: "The target profile's severity (strongly recommended on Alibaba, AWS, Azure \
and GCP, recommended on KVM) when the Windows system volume or the volume MountedDevices calls C: is BitLocker-\
encrypted, when no readable volume holds Windows but BitLocker volumes do (the system volume is \
then encrypted), or when the SYSTEM hive records BitLocker protection at the last boot \
(Control\\BitLockerStatus BootStatus non-zero; meaning inferred) and the system volume could \
not be read. A recommended fix for BitLocker data volumes, and for a non-zero BootStatus when \
the image's system volume reads as a plain filesystem (the image is usable; BitLocker should be \
off in the source). Not applicable to Linux guests; not evaluated when neither the system \
volume nor the SYSTEM hive could be read and no BitLocker volume was found.",
};

/// The check.
pub struct BitLocker;

/// BitLocker's volume header OEM id, for evidence.
const FVE_OEM_ID: &str = "-FVE-FS-";
/// The BitLocker Group Policy key, for evidence.
const FVE_POLICY_KEY: &str = r"SOFTWARE\Policies\Microsoft\FVE";
/// Registry values quoted as evidence at most (FVEStats, policy).
const MAX_EVIDENCE_VALUES: usize = 8;

fn is_bitlocker(v: &VolumeFacts) -> bool {
    matches!(&v.content, VolumeContent::Encrypted { scheme, .. } if scheme.eq_ignore_ascii_case("bitlocker"))
}

/// `partition 3 (byte offset 65011712): boot sector OEM id -FVE-FS- (BitLocker), volume GUID …`.
fn volume_evidence(facts: &Facts, v: &VolumeFacts) -> String {
    let mut s = format!(
        "{}: boot sector OEM id {FVE_OEM_ID} (BitLocker)",
        volume_place(facts, v)
    );
    if let VolumeContent::Encrypted { uuid: Some(u), .. } = &v.content {
        s.push_str(&format!(", volume GUID {u}"));
    }
    s
}

/// The drive letters `MountedDevices` gives the partition of `v` (`E:`), joined.
fn letters_of(facts: &Facts, w: &WindowsFacts, v: &VolumeFacts) -> Option<String> {
    let number = v.partition?;
    let letters: Vec<&str> = w
        .drive_letters
        .iter()
        .filter(|d| {
            facts
                .disk_ids
                .find(&d.location)
                .is_some_and(|p| p.number == number)
        })
        .map(|d| d.letter.as_str())
        .collect();
    (!letters.is_empty()).then(|| letters.join(", "))
}

/// Registry values quoted as evidence: `<prefix>: name = value`, at most [`MAX_EVIDENCE_VALUES`].
fn settings_evidence(prefix: &str, list: &[imgcheck_inspect::windows::RegSetting]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .take(MAX_EVIDENCE_VALUES)
        .map(|s| format!("{prefix}: {} = {}", s.name, s.value))
        .collect();
    if list.len() > MAX_EVIDENCE_VALUES {
        out.push(format!(
            "{prefix}: {} more value(s)",
            list.len().saturating_sub(MAX_EVIDENCE_VALUES)
        ));
    }
    out
}

/// Windows boot files seen on readable volumes (the ESP's `bootmgfw.efi`, a system partition's
/// `\bootmgr`), as evidence that the encrypted volumes hide a Windows installation.
fn windows_boot_evidence(facts: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    for v in &facts.volumes {
        let VolumeContent::Filesystem(fs) = &v.content else {
            continue;
        };
        for l in fs
            .efi_loaders
            .iter()
            .filter(|l| l.to_ascii_lowercase().contains("\\microsoft\\"))
        {
            out.push(format!(
                "Windows boot manager {l} on {}",
                volume_place(facts, v)
            ));
        }
        if fs.has_bootmgr {
            out.push(format!(
                r"Windows boot manager \bootmgr on {}",
                volume_place(facts, v)
            ));
        }
    }
    out
}

/// No Windows facts: the system volume may itself be the encrypted one.
fn without_windows(facts: &Facts, profile: &TargetProfile, bl: &[&VolumeFacts]) -> Verdict {
    if bl.is_empty() {
        return Verdict::not_evaluated(
            "no Windows system volume was read and no volume is BitLocker-encrypted",
        );
    }
    let places: Vec<String> = bl.iter().map(|v| volume_place(facts, v)).collect();
    let mut f = Finding::new(
        profile.windows_bitlocker,
        format!(
            "{} BitLocker-encrypted and no readable volume holds a Windows installation: the \
             Windows system volume is encrypted, so its registry, drivers and boot files cannot \
             be inspected or adapted for {}",
            if places.len() == 1 {
                format!("{} is", places.join(""))
            } else {
                format!("{} are", places.join(", "))
            },
            profile.display_name
        ),
        "Turn BitLocker off in the source guest (manage-bde -off C:, wait until manage-bde \
         -status reports the volume fully decrypted), shut down and export the image again.",
    );
    for v in bl {
        f = f.with_evidence(volume_evidence(facts, v));
    }
    f = f.with_evidence(r"no readable volume holds \Windows\System32\config\SYSTEM");
    for e in windows_boot_evidence(facts) {
        f = f.with_evidence(e);
    }
    Verdict::from_findings(vec![f], None)
}

/// Windows facts present: the system volume was read; look at C:, the data volumes and the
/// registry.
fn with_windows(
    facts: &Facts,
    profile: &TargetProfile,
    w: &WindowsFacts,
    bl: &[&VolumeFacts],
) -> Verdict {
    let root_id = facts.guest.as_ref().and_then(|g| g.root_volume.as_deref());
    let root = root_id.and_then(|id| facts.volumes.iter().find(|v| v.id == id));
    let system_hive = hive_problem(w, "SYSTEM");
    let root_readable = root.is_some_and(|v| matches!(v.content, VolumeContent::Filesystem(_)));
    if system_hive.is_some() && !root_readable {
        return Verdict::not_evaluated(format!(
            "neither the Windows system volume nor the SYSTEM hive could be read: {}",
            system_hive.unwrap_or_default()
        ));
    }
    // The partition MountedDevices calls C:, when it is on this disk.
    let c_part = w
        .drive_letters
        .iter()
        .find(|d| d.letter.eq_ignore_ascii_case("C:"))
        .and_then(|d| facts.disk_ids.find(&d.location));
    let mut out = Vec::new();
    let mut data = Vec::new();
    for v in bl {
        let is_root = root_id == Some(v.id.as_str());
        let is_c = c_part.is_some_and(|p| v.partition == Some(p.number));
        if is_root || is_c {
            let what = if is_root {
                "the Windows system volume"
            } else {
                "the volume MountedDevices calls C:"
            };
            let mut f = Finding::new(
                profile.windows_bitlocker,
                format!(
                    "{what}, {}, is BitLocker-encrypted: {} cannot inspect or adapt it and the \
                     instance would stop at the BitLocker recovery screen",
                    volume_place(facts, v),
                    profile.display_name
                ),
                "Turn BitLocker off in the source guest (manage-bde -off C:, wait until \
                 manage-bde -status reports the volume fully decrypted), shut down and export \
                 the image again.",
            )
            .with_evidence(volume_evidence(facts, v));
            if let (true, Some(p)) = (is_c, c_part) {
                f = f.with_evidence(format!(
                    r"SYSTEM\MountedDevices \DosDevices\C: = {}",
                    describe_partition(p)
                ));
            }
            out.push(f);
        } else {
            data.push(*v);
        }
    }
    // What the registry recorded.
    let status_key = format!(r"{}\Control\BitLockerStatus", ccs(w));
    let status_detail = match (&system_hive, w.bitlocker.boot_status) {
        (Some(p), _) => format!("registry not read ({p})"),
        (None, Some(n)) => format!("{status_key} BootStatus = {n}"),
        (None, None) if w.bitlocker.status_key_present => {
            format!("{status_key} has no BootStatus")
        }
        (None, None) => format!("{status_key} absent"),
    };
    if let (None, Some(n)) = (&system_hive, w.bitlocker.boot_status) {
        if n != 0 {
            // The value's meaning is inferred: when this image's system volume reads as a plain
            // filesystem the image itself is usable, and the registry only says to make sure
            // BitLocker is off in the source (a recommended fix); otherwise the profile decides.
            let severity = if root_readable {
                Severity::Recommended
            } else {
                profile.windows_bitlocker
            };
            let mut f = Finding::new(
                severity,
                format!(
                    "Windows recorded BitLocker protection of its system volume at the last \
                     boot ({status_key} BootStatus = {n}): BitLocker must be turned off before \
                     the image is exported to {}",
                    profile.display_name
                ),
                "In the source guest check manage-bde -status, turn BitLocker off on every \
                 volume (manage-bde -off C:; on Azure before sysprep), wait for decryption to \
                 finish, shut down and export the image again.",
            )
            .with_evidence(format!("{status_key}: BootStatus = {n}"));
            if let Some(v) = root {
                if let VolumeContent::Filesystem(fs) = &v.content {
                    f = f.with_evidence(format!(
                        "this image's system volume, {}, holds {} (its boot sector is not \
                         {FVE_OEM_ID}): the image was taken from a decrypted copy, or the \
                         source was decrypted after that boot",
                        volume_place(facts, v),
                        fs.fs_type
                    ));
                }
            }
            for e in settings_evidence(
                &format!(r"{}\Control\FVEStats", ccs(w)),
                &w.bitlocker.fve_stats,
            ) {
                f = f.with_evidence(e);
            }
            for e in settings_evidence(FVE_POLICY_KEY, &w.bitlocker.policy) {
                f = f.with_evidence(e);
            }
            out.push(f);
        }
    }

    // Data volumes last: the system volume's findings come first.
    for v in data {
        let letter = letters_of(facts, w, v);
        let mut f = Finding::recommended(
            format!(
                "{}{} is a BitLocker-encrypted data volume: its data stays locked on the \
                 instance until its recovery key or password is entered, and the import cannot \
                 inspect it",
                volume_place(facts, v),
                letter
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default()
            ),
            "Decrypt the data volume in the source guest (manage-bde -off <letter>:) before \
             exporting, or leave it out of the image and move its data separately.",
        )
        .with_evidence(volume_evidence(facts, v));
        if let Some(l) = letter {
            f = f.with_evidence(format!(r"SYSTEM\MountedDevices gives it {l}"));
        }
        out.push(f);
    }

    let mut detail = match root {
        Some(v) => match &v.content {
            VolumeContent::Filesystem(fs) => format!(
                "Windows system volume {} holds {}, not BitLocker",
                volume_place(facts, v),
                fs.fs_type
            ),
            _ => format!("Windows system volume {}", volume_place(facts, v)),
        },
        None => "Windows system volume not identified".to_string(),
    };
    detail.push_str(&format!("; {status_detail}"));
    if !w.bitlocker.policy.is_empty() {
        detail.push_str(&format!(
            "; {} BitLocker policy value(s) under {FVE_POLICY_KEY}",
            w.bitlocker.policy.len()
        ));
    }
    Verdict::from_findings(out, Some(detail))
}

impl Check for BitLocker {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        if let Some(g) = &facts.guest {
            let t = g.os_type.as_str();
            if !(t.is_empty()
                || t.eq_ignore_ascii_case("windows")
                || t.eq_ignore_ascii_case("unknown"))
            {
                return Verdict::not_applicable(format!(
                    "the guest is {t}; BitLocker concerns Windows guests"
                ));
            }
        }
        let bl: Vec<&VolumeFacts> = facts.volumes.iter().filter(|v| is_bitlocker(v)).collect();
        match facts.guest.as_ref().and_then(|g| g.windows.as_ref()) {
            Some(w) => with_windows(facts, profile, w, &bl),
            None => without_windows(facts, profile, &bl),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::windows::{DiskLocation, DriveLetter, RegSetting};

    const BL_GUID: &str = "3f2e1d0c-5b4a-4978-8695-a4b3c2d1e0f9";

    fn bitlocker_vol(partition: u32) -> VolumeFacts {
        vol(
            partition,
            VolumeContent::Encrypted {
                scheme: "bitlocker".into(),
                uuid: Some(BL_GUID.into()),
            },
        )
    }

    /// [`good_windows`] with a third partition (GUID `…0003`) holding `content`.
    fn with_third(content: VolumeContent) -> Facts {
        let mut f = good_windows();
        f.volumes.push(vol(3, content));
        if let Some(t) = f.table.as_mut() {
            t.partitions.push(part(
                3,
                40 << 30,
                1 << 20,
                "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
            ));
        }
        f.disk_ids.partitions.push(crate::facts::PartitionId {
            number: 3,
            start: 40 << 30,
            guid: Some("b1710c4e-2f3a-4b5c-8d6e-000000000003".into()),
        });
        f
    }

    fn run(f: &Facts, p: &TargetProfile) -> Verdict {
        BitLocker.run(f, p)
    }

    #[test]
    fn good_passes() {
        let mut f = good_windows();
        win_mut(&mut f).bitlocker.status_key_present = true;
        win_mut(&mut f).bitlocker.boot_status = Some(0);
        assert_eq!(
            assert_pass(&run(&f, &TargetProfile::alibaba())).unwrap(),
            "Windows system volume partition 2 (byte offset 105906176) holds ntfs, not \
             BitLocker; SYSTEM\\ControlSet001\\Control\\BitLockerStatus BootStatus = 0"
        );
        // No status key at all, a policy key with values: still a pass, the policy named.
        let mut f = good_windows();
        win_mut(&mut f).bitlocker.policy = vec![RegSetting {
            name: "EncryptionMethodWithXtsOs".into(),
            value: "7".into(),
        }];
        let d = assert_pass(&run(&f, &TargetProfile::azure())).unwrap();
        assert!(d.contains(r"BitLockerStatus absent"), "{d}");
        assert!(
            d.ends_with(r"1 BitLocker policy value(s) under SOFTWARE\Policies\Microsoft\FVE"),
            "{d}"
        );
    }

    #[test]
    fn boot_status_on_with_an_unreadable_system_volume_is_the_profile_severity() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.bitlocker.status_key_present = true;
        w.bitlocker.boot_status = Some(2);
        let root = f
            .guest
            .as_ref()
            .and_then(|g| g.root_volume.clone())
            .unwrap();
        for v in &mut f.volumes {
            if v.id == root {
                v.content = VolumeContent::Unknown;
            }
        }
        for p in [
            TargetProfile::alibaba(),
            TargetProfile::aws(),
            TargetProfile::azure(),
            TargetProfile::gcp(),
        ] {
            let x = findings(&run(&f, &p), &[StronglyRecommended]);
            assert!(x[0].message.contains("BootStatus = 2"), "{}", x[0].message);
        }
        findings(&run(&f, &TargetProfile::kvm()), &[Recommended]);
    }

    #[test]
    fn boot_status_on_with_a_readable_system_volume_is_recommended() {
        let mut f = good_windows();
        let w = win_mut(&mut f);
        w.bitlocker.status_key_present = true;
        w.bitlocker.boot_status = Some(1);
        w.bitlocker.fve_stats = vec![RegSetting {
            name: "OsvEncryptInit".into(),
            value: "133494624000000000".into(),
        }];
        for p in [
            TargetProfile::alibaba(),
            TargetProfile::aws(),
            TargetProfile::azure(),
            TargetProfile::gcp(),
        ] {
            let x = findings(&run(&f, &p), &[Recommended]);
            assert!(x[0].message.contains("BootStatus = 1"), "{}", x[0].message);
            assert!(x[0].message.ends_with(&p.display_name), "{}", x[0].message);
            assert_eq!(
                x[0].evidence[0],
                r"SYSTEM\ControlSet001\Control\BitLockerStatus: BootStatus = 1"
            );
            assert!(x[0].evidence[1].starts_with(
                "this image's system volume, partition 2 (byte offset 105906176), holds ntfs"
            ));
            assert_eq!(
                x[0].evidence[2],
                r"SYSTEM\ControlSet001\Control\FVEStats: OsvEncryptInit = 133494624000000000"
            );
        }
        findings(&run(&f, &TargetProfile::kvm()), &[Recommended]);
    }

    #[test]
    fn data_volume_is_recommended_with_its_letter() {
        let mut f = with_third(bitlocker_vol(3).content);
        win_mut(&mut f).drive_letters.push(DriveLetter {
            letter: "E:".into(),
            location: DiskLocation::Gpt {
                partition_guid: "B1710C4E-2F3A-4B5C-8D6E-000000000003".into(),
                disk_guid: None,
            },
        });
        let x = findings(&run(&f, &TargetProfile::alibaba()), &[Recommended]);
        assert!(
            x[0].message.starts_with(
                "partition 3 (byte offset 42949672960) (E:) is a BitLocker-encrypted data volume"
            ),
            "{}",
            x[0].message
        );
        assert_eq!(
            x[0].evidence,
            [
                format!(
                    "partition 3 (byte offset 42949672960): boot sector OEM id -FVE-FS- \
                     (BitLocker), volume GUID {BL_GUID}"
                ),
                r"SYSTEM\MountedDevices gives it E:".to_string()
            ]
        );
        // Unlettered: no letter evidence.
        let f = with_third(bitlocker_vol(3).content);
        let x = findings(&run(&f, &TargetProfile::alibaba()), &[Recommended]);
        assert_eq!(x[0].evidence.len(), 1);
    }

    #[test]
    fn c_volume_encrypted_is_strongly_recommended() {
        // Windows was read from partition 2, but MountedDevices calls partition 3 C:.
        let mut f = with_third(bitlocker_vol(3).content);
        win_mut(&mut f).drive_letters[0].location = DiskLocation::Gpt {
            partition_guid: "b1710c4e-2f3a-4b5c-8d6e-000000000003".into(),
            disk_guid: None,
        };
        let x = findings(&run(&f, &TargetProfile::gcp()), &[StronglyRecommended]);
        assert!(x[0]
            .message
            .starts_with("the volume MountedDevices calls C:, partition 3"));
        assert_eq!(
            x[0].evidence[1],
            r"SYSTEM\MountedDevices \DosDevices\C: = partition 3 (b1710c4e-2f3a-4b5c-8d6e-000000000003)"
        );
    }

    #[test]
    fn encrypted_system_volume_without_windows_facts() {
        // The system volume (partition 2) is BitLocker: no Windows root, the OS type unknown,
        // the ESP still shows the Windows boot manager.
        let mut f = good_windows();
        f.volumes[1] = bitlocker_vol(2);
        if let Some(g) = f.guest.as_mut() {
            g.os_type = "unknown".into();
            g.windows = None;
            g.root_volume = None;
        }
        let x = findings(&run(&f, &TargetProfile::aws()), &[StronglyRecommended]);
        assert!(x[0].message.starts_with(
            "partition 2 (byte offset 105906176) is BitLocker-encrypted and no readable volume \
             holds a Windows installation"
        ));
        assert_eq!(
            x[0].evidence,
            [
                format!(
                    "partition 2 (byte offset 105906176): boot sector OEM id -FVE-FS- \
                     (BitLocker), volume GUID {BL_GUID}"
                ),
                r"no readable volume holds \Windows\System32\config\SYSTEM".to_string(),
                r"Windows boot manager \EFI\Microsoft\Boot\bootmgfw.efi on partition 1 (byte offset 1048576)"
                    .to_string(),
            ]
        );
        findings(&run(&f, &TargetProfile::kvm()), &[Recommended]);
        // Nothing readable at all (no guest facts): the BitLocker volume is still the evidence.
        f.guest = None;
        findings(&run(&f, &TargetProfile::alibaba()), &[StronglyRecommended]);
    }

    #[test]
    fn not_evaluated() {
        // Neither Windows nor BitLocker.
        let mut f = good_windows();
        if let Some(g) = f.guest.as_mut() {
            g.os_type = "unknown".into();
            g.windows = None;
        }
        assert!(assert_not_evaluated(&run(&f, &TargetProfile::alibaba()))
            .contains("no volume is BitLocker-encrypted"));
        assert_not_evaluated(&run(&Facts::default(), &TargetProfile::alibaba()));
        // SYSTEM hive unreadable and the system volume unknown.
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        f.guest.as_mut().unwrap().root_volume = None;
        assert!(assert_not_evaluated(&run(&f, &TargetProfile::alibaba()))
            .starts_with("neither the Windows system volume nor the SYSTEM hive could be read"));
        // The hive alone unreadable: the volume still decides, the registry is "not read".
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        win_mut(&mut f).bitlocker.boot_status = Some(1);
        assert!(assert_pass(&run(&f, &TargetProfile::alibaba()))
            .unwrap()
            .contains("registry not read (the SYSTEM hive"));
    }

    #[test]
    fn not_applicable_to_linux() {
        let mut f = good_linux();
        f.volumes.push(bitlocker_vol(4));
        assert!(assert_not_applicable(&run(&f, &TargetProfile::alibaba())).contains("linux"));
    }
}
