//! Golden-report helpers shared by tests/golden.rs, tests/golden_windows.rs and
//! tests/golden_distros.rs: compare with (or, under `IMGCHECK_BLESS`, rewrite) a file of
//! `testdata/golden/`, run `check --format json` against its golden report, and look up results.

use super::repo_root;
use serde_json::Value;
use std::process::Command;

/// Compare `got` with `testdata/golden/<file>` (or rewrite it under IMGCHECK_BLESS). `what` names
/// the command that printed it.
#[track_caller]
pub fn compare(file: &str, got: &str, what: &str) {
    let path = repo_root().join("testdata/golden").join(file);
    if std::env::var_os("IMGCHECK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with IMGCHECK_BLESS=1 to create)",
            path.display()
        )
    });
    assert!(
        want == got,
        "`{what}` differs from {} (IMGCHECK_BLESS=1 rewrites it; review the diff)",
        path.display()
    );
}

/// `imgcheck check --format json IMAGE` (exit 0 or 1), compared with `<name>.json`.
#[track_caller]
pub fn report(name: &str, image: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_imgcheck"))
        .args(["check", "--format", "json", image])
        .current_dir(repo_root())
        .output()
        .expect("run imgcheck");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "check {image}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&got).expect("valid JSON");
    compare(
        &format!("{name}.json"),
        &got,
        &format!("imgcheck check --format json {image}"),
    );
    v
}

/// The result of check `id`: from the report's flat `checks` list, which must agree with the
/// section the check is filed under.
#[track_caller]
pub fn result<'a>(v: &'a Value, id: &str) -> &'a Value {
    let r = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id}"));
    let status = r["status"].as_str().unwrap();
    assert!(
        v[status].as_array().unwrap().contains(r),
        "{id}: not in the {status} section"
    );
    r
}

/// `id` has a finding of `severity` whose message contains `needle` (or, with `evidence`, one of
/// its evidence lines does).
#[track_caller]
pub fn assert_finding_in(v: &Value, id: &str, severity: &str, needle: &str, evidence: bool) {
    let r = result(v, id);
    let hit = r["findings"].as_array().unwrap().iter().any(|f| {
        f["severity"] == severity
            && (f["message"].as_str().unwrap().contains(needle)
                || (evidence
                    && f["evidence"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e.as_str().unwrap().contains(needle))))
    });
    assert!(
        hit,
        "{id}: no {severity} finding mentioning {needle:?}: {r:#}"
    );
}

/// `id` has a finding of `severity` whose message contains `needle`.
#[track_caller]
pub fn assert_finding(v: &Value, id: &str, severity: &str, needle: &str) {
    assert_finding_in(v, id, severity, needle, false);
}

/// Each of `ids` has `status`.
#[track_caller]
pub fn assert_status(v: &Value, ids: &[&str], status: &str) {
    for id in ids {
        assert_eq!(result(v, id)["status"], status, "{id}: {:#}", result(v, id));
    }
}
