//! # imgcheck-checks
//!
//! The checks: pure functions from [`Facts`] (what the container, volume, filesystem and
//! inspection layers found) and a [`TargetProfile`] (what the target cloud accepts) to a
//! [`Verdict`]. No check does I/O (design invariant 6), so each is tested on in-memory facts.
//!
//! - [`facts`]: the input types the engine fills.
//! - [`Check`], [`CheckMeta`], [`Verdict`], [`Finding`], [`Severity`]: the check contract.
//! - [`REGISTRY`]: every check, one module each under `checks/`, in report order.
//! - [`run_checks`]: applicability gate, parallel run, panic isolation, deterministic order.
//! - [`TargetProfile`]: `alibaba` (default), `aws`, `azure`, `gcp`, `kvm`.
//! - [`checks_markdown`]: the generated `docs/checks.md`.
//!
//! ```
//! use imgcheck_checks::facts::{Facts, ImageInfo};
//! use imgcheck_checks::{run_checks, TargetProfile, Verdict};
//!
//! let facts = Facts {
//!     image: ImageInfo { format: "vhdx".into(), virtual_size: 1 << 30, ..ImageInfo::default() },
//!     ..Facts::default()
//! };
//! let results = run_checks(&facts, &TargetProfile::alibaba());
//! assert_eq!(results.len(), imgcheck_checks::REGISTRY.len());
//! let format = results.iter().find(|r| r.id() == "disk.image-format").unwrap();
//! assert!(matches!(format.verdict, Verdict::Findings(_))); // Alibaba does not import VHDX
//! ```
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::as_conversions,
        clippy::unreachable
    )
)]

pub mod checks;
mod docs;
mod engine;
pub mod facts;
pub mod layout;
mod profile;
pub mod registry;
#[cfg(test)]
mod testutil;
mod verdict;

pub use docs::checks_markdown;
pub use engine::{gate, run_checks, run_checks_in, CheckResult};
pub use facts::Facts;
pub use profile::{BootMode, FormatRule, TargetProfile};
pub use registry::REGISTRY;
pub use verdict::{Applicability, Check, CheckMeta, Finding, Severity, Verdict};
