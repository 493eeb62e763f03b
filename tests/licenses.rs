//! Licence allow-list: every dependency in Cargo.lock must be usable in an MIT OR Apache-2.0
//! project. The same list as deny.toml, enforced with cargo alone (no cargo-deny needed).

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

/// SPDX identifiers we accept (keep in sync with deny.toml).
const ALLOWED: &[&str] = &[
    "MIT",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Zlib",
    "0BSD",
    "BSL-1.0",
    "CC0-1.0",
    "MIT-0",
];

/// True when some `OR` alternative consists only of allowed identifiers.
fn acceptable(expr: &str) -> bool {
    let expr = expr.replace(['(', ')'], " ");
    expr.split(" OR ").chain(expr.split('/')).any(|alt| {
        let alt = alt.trim();
        !alt.is_empty()
            && !alt.contains(" OR ")
            && !alt.contains('/')
            && alt.split(" AND ").all(|id| ALLOWED.contains(&id.trim()))
    })
}

#[test]
fn licence_expressions_are_parsed_as_intended() {
    assert!(acceptable("MIT OR Apache-2.0"));
    assert!(acceptable("MIT/Apache-2.0"));
    assert!(acceptable("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(acceptable(
        "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"
    ));
    assert!(!acceptable("GPL-3.0-or-later"));
    assert!(!acceptable("GPL-2.0 AND MIT"));
    assert!(!acceptable(""));
}

#[test]
fn every_dependency_has_an_allowed_licence() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    // The dependency graph of the host platform: the packages a build here actually uses (and
    // has downloaded, so this works offline). `cargo deny` with deny.toml covers every platform.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let vv = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    let host = String::from_utf8_lossy(&vv.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata json");
    let mut bad = Vec::new();
    let packages = meta["packages"].as_array().expect("packages");
    assert!(packages.len() > 10, "suspiciously few packages");
    for p in packages {
        let name = p["name"].as_str().unwrap_or("?");
        match p["license"].as_str() {
            Some(l) if acceptable(l) => {}
            other => bad.push(format!("{name} {}: {other:?}", p["version"])),
        }
    }
    assert!(
        bad.is_empty(),
        "dependencies with licences outside the allow-list: {bad:#?}"
    );
}
