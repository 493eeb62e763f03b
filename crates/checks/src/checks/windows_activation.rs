//! `windows.activation`: which KMS host the guest activates against.
//!
//! Rule from checks.md §3 `activation_kms` (AWS: activation failure is a first-boot failure;
//! Alibaba diagnostics `GuestOS.SystemActivateFailed`): `SOFTWARE\Microsoft\Windows NT\
//! CurrentVersion\SoftwareProtectionPlatform\KeyManagementServiceName`/`Port`. Informational: a
//! private KMS host named there is usually unreachable from the cloud, where the platform's own
//! KMS is configured by its agent. Our own code.

use super::windows_platform::{need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};

/// Key of the KMS settings.
const SPP: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform";

static META: CheckMeta = CheckMeta {
    id: "windows.activation",
    alibaba_item: None,
    title: "Windows activation (KMS)",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform: KeyManagementServiceName, KeyManagementServicePort",
    ],
    remedy: "Nothing required: informational. After import, point the instance at the cloud's \
KMS server (slmgr /skms) or use licence mobility as the target's documentation describes.",
    references: &[
        "AWS VM Import troubleshooting (activation)",
        "Alibaba diagnostics GuestOS.SystemActivateFailed",
        "checks.md §3 activation_kms",
    ],
    description: "Reports the KMS host the guest is configured to activate against, if any. Not \
evaluated when the SOFTWARE hive cannot be read.",
};

/// The check.
pub struct Activation;

impl Check for Activation {
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
        Verdict::pass_with(match (&w.kms, &w.kms_port) {
            (Some(h), Some(p)) => format!(
                r"KMS host {h}:{p} ({SPP}\KeyManagementServiceName): the cloud's KMS must replace it if it is private"
            ),
            (Some(h), None) => format!(
                r"KMS host {h} ({SPP}\KeyManagementServiceName): the cloud's KMS must replace it if it is private"
            ),
            _ => "no KMS host configured".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn all_verdicts() {
        assert_eq!(
            assert_pass(&Activation.run(&good_windows(), &TargetProfile::alibaba())).unwrap(),
            "no KMS host configured"
        );
        let mut f = good_windows();
        win_mut(&mut f).kms = Some("kms.example.internal".into());
        win_mut(&mut f).kms_port = Some("1688".into());
        assert!(assert_pass(&Activation.run(&f, &TargetProfile::alibaba()))
            .unwrap()
            .starts_with("KMS host kms.example.internal:1688"));
        break_hive(&mut f, "SOFTWARE");
        assert_not_evaluated(&Activation.run(&f, &TargetProfile::alibaba()));
    }
}
