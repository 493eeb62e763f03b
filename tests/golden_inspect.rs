//! Golden inspection JSON: `imgcheck inspect --json` of every phony guest equals the committed
//! file under `testdata/golden/inspect-<name>.json`. Run with `IMGCHECK_BLESS=1` to rewrite them
//! after an intended change (and review the diff).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;

/// Guests and their images, relative to the repository root (so the JSON holds stable paths).
const GUESTS: &[(&str, &str)] = &[
    ("sample", "testdata/sample/sample.qcow2"),
    ("windows-good", "testdata/windows/windows-good.qcow2"),
    ("windows-bad", "testdata/windows/windows-bad.qcow2"),
    // Other Windows releases and layouts (scripts/make-windows-fixtures.sh).
    ("windows-2012r2", "testdata/windows/windows-2012r2.qcow2"),
    ("windows-2016", "testdata/windows/windows-2016.qcow2"),
    ("windows-2019", "testdata/windows/windows-2019.qcow2"),
    ("windows-10", "testdata/windows/windows-10.qcow2"),
    ("windows-11", "testdata/windows/windows-11.qcow2"),
    ("rhel9", "testdata/rhel-guest/rhel9.qcow2"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn inspection_matches_golden() {
    let bless = std::env::var_os("IMGCHECK_BLESS").is_some();
    let mut failures = Vec::new();
    for (name, image) in GUESTS {
        let out = Command::new(env!("CARGO_BIN_EXE_imgcheck"))
            .args(["inspect", "--json", image])
            .current_dir(root())
            .output()
            .expect("run imgcheck");
        assert!(
            out.status.success(),
            "inspect {image}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = String::from_utf8(out.stdout).unwrap();
        let v: serde_json::Value = serde_json::from_str(&got).expect("valid JSON");
        assert!(v["guest"].is_object(), "{name}: a guest was found");
        let path = root().join(format!("testdata/golden/inspect-{name}.json"));
        if bless {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with IMGCHECK_BLESS=1 to create)",
                path.display()
            )
        });
        if want != got {
            failures.push(format!(
                "{name}: `imgcheck inspect --json {image}` differs from {} (IMGCHECK_BLESS=1 rewrites it; review the diff)",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
