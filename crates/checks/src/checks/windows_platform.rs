//! `windows.platform` (GUESTOS.Platform): the guest is Windows, and which product it is.
//!
//! Rule from checks.md §3 `win_platform_version` (libguestfs `inspect_fs_windows.ml`,
//! dissect.target): `SOFTWARE\Microsoft\Windows NT\CurrentVersion` `ProductName`, `EditionID`,
//! `InstallationType`. Informational. Also holds the small helpers the other `windows.*` checks
//! share (the Windows facts, hive status, service lookup). Our own code.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};
use imgcheck_inspect::windows::{ServiceInfo, WindowsFacts};

/// Registry path of the version values in the SOFTWARE hive.
pub(crate) const CURRENT_VERSION_KEY: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion";
/// Profile name of Alibaba Cloud, whose own items (Cloud Assistant, vminit, the unsupported-OS
/// list, the read-only driver rule) apply only to it (checks.md §0.2, §0.5).
pub(crate) const ALIBABA: &str = "alibaba";

/// The Windows facts, or *Not evaluated* when inspection gave none.
pub(crate) fn windows(facts: &Facts) -> Result<&WindowsFacts, Verdict> {
    facts
        .guest
        .as_ref()
        .and_then(|g| g.windows.as_ref())
        .ok_or_else(|| {
            Verdict::not_evaluated("no Windows facts: the Windows system volume was not inspected")
        })
}

/// Why the hive `name` (`SYSTEM`, `SOFTWARE`, `BCD`) could not be used, or `None` when it was
/// parsed.
pub(crate) fn hive_problem(w: &WindowsFacts, name: &str) -> Option<String> {
    let Some(h) = w.hives.iter().find(|h| h.name.eq_ignore_ascii_case(name)) else {
        return Some(format!("the {name} hive was not read"));
    };
    if !h.present {
        return Some(format!("the {name} hive {} is missing", h.path));
    }
    if !h.parsed {
        return Some(format!(
            "the {name} hive {} could not be parsed: {}",
            h.path,
            h.error.as_deref().unwrap_or("unknown error")
        ));
    }
    None
}

/// *Not evaluated* when the hive `name` could not be used.
pub(crate) fn need_hive(w: &WindowsFacts, name: &str) -> Result<(), Verdict> {
    match hive_problem(w, name) {
        Some(p) => Err(Verdict::not_evaluated(p)),
        None => Ok(()),
    }
}

/// `SYSTEM\ControlSet00n`, as a registry path prefix for messages.
pub(crate) fn ccs(w: &WindowsFacts) -> String {
    format!(
        r"SYSTEM\{}",
        w.current_control_set
            .as_deref()
            .unwrap_or("CurrentControlSet")
    )
}

/// A service by name (case-insensitive).
pub(crate) fn service<'a>(w: &'a WindowsFacts, name: &str) -> Option<&'a ServiceInfo> {
    w.services
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// `0 (boot)`, `3 (manual)`, … for a service `Start` value.
pub(crate) fn start_name(start: Option<u32>) -> String {
    match start {
        Some(0) => "0 (boot)".into(),
        Some(1) => "1 (system)".into(),
        Some(2) => "2 (automatic)".into(),
        Some(3) => "3 (manual)".into(),
        Some(4) => "4 (disabled)".into(),
        Some(n) => n.to_string(),
        None => "absent".into(),
    }
}

/// Whether the installation is a server edition.
pub(crate) fn is_server(w: &WindowsFacts) -> bool {
    let has = |s: &Option<String>| s.as_deref().is_some_and(|s| s.contains("Server"));
    has(&w.installation_type) || has(&w.product_name) || has(&w.edition_id)
}

static META: CheckMeta = CheckMeta {
    id: "windows.platform",
    alibaba_item: Some("GUESTOS.Platform"),
    title: "Windows product and edition",
    applies_to: Applicability::Windows,
    inputs: &[
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion: ProductName, EditionID, InstallationType",
    ],
    remedy: "Nothing to fix: informational. If no product is found, check that the image holds \
an intact Windows installation with a readable SOFTWARE hive.",
    references: &[
        "Alibaba image check: GUESTOS.Platform",
        "libguestfs daemon/inspect_fs_windows.ml",
        "checks.md §3 win_platform_version",
    ],
    description: "Reports the Windows product name, edition and installation type from the \
SOFTWARE hive. Not evaluated when the hive cannot be read or has no ProductName.",
};

/// The check.
pub struct Platform;

impl Check for Platform {
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
        let Some(product) = &w.product_name else {
            return Verdict::not_evaluated(format!(
                r"{CURRENT_VERSION_KEY} has no ProductName value"
            ));
        };
        let mut detail = format!("Windows: {product}");
        let extra: Vec<String> = [
            w.edition_id.as_ref().map(|e| format!("edition {e}")),
            w.installation_type
                .as_ref()
                .map(|t| format!("installation type {t}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !extra.is_empty() {
            detail.push_str(&format!(" ({})", extra.join(", ")));
        }
        Verdict::pass_with(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn reports_product() {
        let d = assert_pass(&Platform.run(&good_windows(), &TargetProfile::alibaba())).unwrap();
        assert_eq!(
            d,
            "Windows: Windows Server 2022 Datacenter (edition ServerDatacenter, installation type Server)"
        );
    }

    #[test]
    fn not_evaluated_without_facts_or_hive() {
        let mut f = good_windows();
        win_mut(&mut f).product_name = None;
        assert!(
            assert_not_evaluated(&Platform.run(&f, &TargetProfile::alibaba()))
                .contains("ProductName")
        );
        let mut f = good_windows();
        break_hive(&mut f, "SOFTWARE");
        assert!(
            assert_not_evaluated(&Platform.run(&f, &TargetProfile::alibaba()))
                .contains("could not be parsed")
        );
        let mut f = good_windows();
        f.guest.as_mut().unwrap().windows = None;
        assert!(
            assert_not_evaluated(&Platform.run(&f, &TargetProfile::alibaba()))
                .contains("no Windows facts")
        );
    }

    #[test]
    fn helpers() {
        let w = win(&good_windows());
        assert!(is_server(&w));
        assert_eq!(ccs(&w), r"SYSTEM\ControlSet001");
        assert_eq!(start_name(Some(3)), "3 (manual)");
        assert_eq!(start_name(None), "absent");
        assert!(service(&w, "VIOSTOR").is_some());
        assert!(hive_problem(&w, "BCD").is_none());
        assert!(hive_problem(&w, "SAM").unwrap().contains("not read"));
    }
}
