//! `windows.san-policy`: newly attached disks come online.
//!
//! Rule from checks.md §3 `san_policy` (Azure "prepare a Windows VHD": `diskpart` `san
//! policy=onlineall`): `CCS\Services\partmgr\Parameters\SanPolicy`. The values are those of
//! Microsoft's SAN policy (`setsanpolicy` / VDS `VDS_SAN_POLICY`): 1 OnlineAll, 2 OfflineShared
//! (disks on a shared bus stay offline), 3 OfflineAll (every new disk stays offline), 4
//! OfflineInternal (Windows 8 / 2012 and later: new internal disks stay offline). With 2–4 the
//! cloud's data disks (and on some platforms the temporary disk) appear offline. An absent value
//! means the edition's default. Our own code.

use super::windows_platform::{ccs, need_hive, windows};
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

/// SanPolicy = OnlineAll.
const ONLINE_ALL: u32 = 1;

static META: CheckMeta = CheckMeta {
    id: "windows.san-policy",
    alibaba_item: None,
    title: "SAN policy (new disks online)",
    applies_to: Applicability::Windows,
    inputs: &[r"SYSTEM\ControlSet00n\Services\partmgr\Parameters: SanPolicy"],
    remedy: "Set the SAN policy to OnlineAll before exporting: `diskpart` then `san \
policy=onlineall` (SanPolicy = 1 under Services\\partmgr\\Parameters).",
    references: &[
        "Azure: prepare a Windows VHD to upload (san policy=onlineall)",
        "Microsoft: Configure the SAN policy (setsanpolicy values 1–4)",
        "checks.md §3 san_policy",
    ],
    description: "A recommended fix when SanPolicy is OfflineShared (2), OfflineAll (3) or \
OfflineInternal (4): data disks attached in the cloud stay offline until someone brings them \
online. When SanPolicy is absent, a recommended fix on targets that ask for OnlineAll to be set \
(Azure), otherwise a pass. Not evaluated when the SYSTEM hive cannot be read.",
};

/// The check.
pub struct SanPolicy;

/// The policy's name.
fn policy_name(v: u32) -> &'static str {
    match v {
        0 => "Unknown",
        1 => "OnlineAll",
        2 => "OfflineShared",
        3 => "OfflineAll",
        4 => "OfflineInternal",
        _ => "not a known policy",
    }
}

impl Check for SanPolicy {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let w = match windows(facts) {
            Ok(w) => w,
            Err(v) => return v,
        };
        if let Err(v) = need_hive(w, "SYSTEM") {
            return v;
        }
        let key = format!(r"{}\Services\partmgr\Parameters\SanPolicy", ccs(w));
        let fix = "Run `diskpart` and `san policy=onlineall` in the source guest (or set \
                   SanPolicy to 1), then export again.";
        match w.san_policy {
            Some(ONLINE_ALL) => Verdict::pass_with(format!("{key} = 1 (OnlineAll)")),
            Some(v) => Verdict::Findings(vec![Finding::recommended(
                format!(
                    "the SAN policy is {} ({key} = {v}): disks attached to the instance may stay \
                     offline",
                    policy_name(v)
                ),
                fix,
            )
            .with_evidence(format!("{key} = {v} ({})", policy_name(v)))]),
            None if profile.windows_san_policy_must_be_set => {
                Verdict::Findings(vec![Finding::recommended(
                    format!(
                        "the SAN policy is not set ({key} absent: the edition's default applies, \
                         which is OfflineShared on some server editions); {} asks for OnlineAll",
                        profile.display_name
                    ),
                    fix,
                )
                .with_evidence(format!("{key} absent"))])
            }
            None => Verdict::pass_with(format!("{key} absent (the edition's default applies)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn online_all_passes() {
        assert_eq!(
            assert_pass(&SanPolicy.run(&good_windows(), &TargetProfile::azure())).unwrap(),
            r"SYSTEM\ControlSet001\Services\partmgr\Parameters\SanPolicy = 1 (OnlineAll)"
        );
    }

    #[test]
    fn offline_policies() {
        for (v, name) in [
            (2, "OfflineShared"),
            (3, "OfflineAll"),
            (4, "OfflineInternal"),
        ] {
            let mut f = good_windows();
            win_mut(&mut f).san_policy = Some(v);
            let x = findings(
                &SanPolicy.run(&f, &TargetProfile::alibaba()),
                &[Recommended],
            );
            assert!(x[0].message.contains(name), "{}", x[0].message);
            assert_eq!(
                x[0].evidence,
                [format!(
                    r"SYSTEM\ControlSet001\Services\partmgr\Parameters\SanPolicy = {v} ({name})"
                )]
            );
        }
    }

    #[test]
    fn unset_depends_on_target() {
        let mut f = good_windows();
        win_mut(&mut f).san_policy = None;
        assert!(assert_pass(&SanPolicy.run(&f, &TargetProfile::alibaba()))
            .unwrap()
            .contains("absent"));
        let x = findings(&SanPolicy.run(&f, &TargetProfile::azure()), &[Recommended]);
        assert!(x[0].message.contains("Microsoft Azure asks for OnlineAll"));
    }

    #[test]
    fn not_evaluated() {
        let mut f = good_windows();
        break_hive(&mut f, "SYSTEM");
        assert_not_evaluated(&SanPolicy.run(&f, &TargetProfile::alibaba()));
    }
}
