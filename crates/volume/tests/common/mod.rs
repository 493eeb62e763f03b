//! Shared helpers of the LVM/md integration tests: the committed fixtures of `testdata/lvm`
//! (decompressed into memory), their manifest, SHA-256, LVM's CRC for rewriting metadata in
//! corruption tests, and the "external tool required" rule (fail under `CI`, loud skip
//! otherwise).
//!
//! Test code: panics are the failure mechanism here, so the no-panic lints are allowed.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]

use imgcheck_core::{BlockSource, MemSource};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// `testdata/lvm` in the source tree.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/lvm")
}

/// The decompressed bytes of fixture `name` (e.g. `lvm-gpt.img`).
pub fn image(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(format!("{name}.gz"));
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("gunzip {}: {e}", path.display()));
    out
}

/// `testdata/lvm/manifest.json`.
pub fn manifest() -> Value {
    let path = fixtures_dir().join("manifest.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn arc(d: Vec<u8>) -> Arc<dyn BlockSource> {
    Arc::new(MemSource::new(d))
}

pub fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The whole content of a source.
pub fn read_all(src: &dyn BlockSource) -> Vec<u8> {
    let mut out = vec![0u8; src.len() as usize];
    // Odd-sized reads, to cross segment and stripe boundaries at many phases.
    let mut pos = 0;
    while pos < out.len() {
        let n = 100_003.min(out.len() - pos);
        src.read_exact_at(&mut out[pos..pos + n], pos as u64)
            .unwrap();
        pos += n;
    }
    out
}

/// LVM's CRC-32 (initial value 0xf597a6cf, no final inversion).
pub fn lvm_crc(data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(0xf597_a6cf ^ u32::MAX);
    h.update(data);
    h.finalize() ^ u32::MAX
}

/// Is `tool` on PATH (or in /sbin, /usr/sbin)?
pub fn have(tool: &str) -> bool {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.push("/sbin".into());
    dirs.iter().any(|d| d.join(tool).is_file())
}

/// The rule for tests needing an external tool: under `CI` a missing tool fails the test;
/// otherwise it prints a loud SKIPPED line and the caller returns.
pub fn require(tool: &str) -> bool {
    if have(tool) {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{tool} is required under CI but missing");
    }
    eprintln!("SKIPPED: {tool} missing");
    println!("SKIPPED: {tool} missing");
    false
}
