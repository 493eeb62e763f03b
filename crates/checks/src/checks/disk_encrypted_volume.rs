//! `disk.encrypted-volume`: no volume is encrypted (LUKS, BitLocker).
//!
//! Rule from checks.md §1 `encrypted_volume`: Alibaba skips the image check for encrypted disks,
//! AWS and GCP do not import software-encrypted volumes (BitLocker, LUKS). Detection (LUKS
//! `LUKS\xba\xbe` magic, BitLocker `-FVE-FS-` OEM id) is the volume layer's; this check decides.
//! Our own code.

use crate::facts::{Facts, VolumeContent};
use crate::layout::volume_place;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "disk.encrypted-volume",
    alibaba_item: None,
    title: "No encrypted volumes",
    applies_to: Applicability::Any,
    inputs: &["volumes[].content (encrypted: scheme, uuid)"],
    remedy: "Decrypt the volume in the source machine (cryptsetup reencrypt --decrypt; Windows: \
manage-bde -off) before exporting the image.",
    references: &[
        "Alibaba: image check is unavailable for encrypted disks",
        "AWS VM Import: encrypted volumes are not supported",
        "GCP importing-virtual-disks: software-encrypted disks and BitLocker are not supported",
    ],
    description:
        "An encrypted volume (LUKS1/2, BitLocker) cannot be inspected or repaired offline and \
the import services cannot adapt it (drivers, agents, network); the instance would also wait for a \
passphrase at boot.",
};

/// The check.
pub struct EncryptedVolume;

impl Check for EncryptedVolume {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        if facts.volumes.is_empty() {
            return Verdict::not_evaluated("no volume was found on the disk");
        }
        let mut out = Vec::new();
        let mut unreadable = Vec::new();
        for v in &facts.volumes {
            match &v.content {
                VolumeContent::Encrypted { scheme, uuid } => {
                    let mut f = Finding::strongly(
                        format!(
                            "{} is a {scheme} encrypted volume: its contents cannot be inspected \
                             or adapted, and the instance would wait for a passphrase at boot",
                            volume_place(facts, v)
                        ),
                        "Decrypt the volume in the source machine (LUKS: `cryptsetup reencrypt \
                         --decrypt`; BitLocker: `manage-bde -off C:`) and export the image again.",
                    )
                    .with_evidence(format!("encryption scheme: {scheme}"));
                    if let Some(u) = uuid {
                        f = f.with_evidence(format!("UUID: {u}"));
                    }
                    out.push(f);
                }
                VolumeContent::Unreadable => unreadable.push(volume_place(facts, v)),
                _ => {}
            }
        }
        if out.is_empty() && unreadable.len() == facts.volumes.len() {
            return Verdict::not_evaluated("no volume could be read");
        }
        let mut detail = format!(
            "no LUKS or BitLocker volume among {} volume(s)",
            facts.volumes.len()
        );
        if !unreadable.is_empty() {
            detail.push_str(&format!("; not read: {}", unreadable.join(", ")));
        }
        Verdict::from_findings(out, Some(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn run(f: &Facts) -> Verdict {
        EncryptedVolume.run(f, &TargetProfile::default())
    }

    #[test]
    fn plain_volumes_pass() {
        let d = assert_pass(&run(&good_linux()));
        assert_eq!(
            d.as_deref(),
            Some("no LUKS or BitLocker volume among 3 volume(s)")
        );
    }

    #[test]
    fn luks_and_bitlocker_are_strongly_recommended() {
        let mut facts = good_linux();
        facts.volumes[2].content = VolumeContent::Encrypted {
            scheme: "luks2".into(),
            uuid: Some("1234-abcd".into()),
        };
        facts.volumes.push(vol(
            4,
            VolumeContent::Encrypted {
                scheme: "bitlocker".into(),
                uuid: None,
            },
        ));
        let f = findings(&run(&facts), &[StronglyRecommended, StronglyRecommended]);
        assert!(f[0]
            .message
            .starts_with("partition 3 (byte offset 134217728) is a luks2 encrypted volume"));
        assert_eq!(
            f[0].evidence,
            vec!["encryption scheme: luks2", "UUID: 1234-abcd"]
        );
        assert!(f[1].message.starts_with("partition 4 is a bitlocker"));
    }

    #[test]
    fn unreadable_volumes_are_named_or_not_evaluated() {
        let mut facts = good_linux();
        facts.volumes[0].content = VolumeContent::Unreadable;
        let d = assert_pass(&run(&facts)).unwrap_or_default();
        assert!(
            d.ends_with("not read: partition 1 (byte offset 1048576)"),
            "{d}"
        );
        for v in &mut facts.volumes {
            v.content = VolumeContent::Unreadable;
        }
        assert_not_evaluated(&run(&facts));
        assert_not_evaluated(&run(&Facts::default()));
    }
}
