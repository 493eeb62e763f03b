//! `linux.architecture` (Alibaba `GUESTOS.Architecture`): the guest's CPU architecture is one
//! the target runs.
//!
//! Rule from checks.md §2 `arch`: read from an ELF header of a system binary (imgcheck-inspect
//! `elf`). x86_64 and aarch64 are fine; 32-bit x86 is a strongly recommended fix on targets that
//! only import 64-bit images (AWS) and a recommended one elsewhere (Alibaba still lists some
//! 32-bit images, but current instance types are 64-bit only); others are strongly recommended.
//! Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.architecture",
    alibaba_item: Some("GUESTOS.Architecture"),
    title: "CPU architecture supported",
    applies_to: Applicability::Linux,
    inputs: &["ELF header of /bin/bash, /bin/ls or /bin/sh"],
    remedy: "Build the image for x86_64 (or aarch64 for Arm instance types).",
    references: &[
        "Alibaba Cloud image check: GUESTOS.Architecture",
        "AWS VM Import: 64-bit images only",
    ],
    description: "x86_64 and aarch64 pass. i386/i686 is a strongly recommended fix on AWS \
(64-bit only) and a recommended optimisation on other targets; any other architecture is \
strongly recommended. Not evaluated when no ELF binary could be read.",
};

/// The check.
pub struct Architecture;

impl Check for Architecture {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let Some(arch) = &lf.arch else {
            return Verdict::not_evaluated(
                "no ELF header of /bin/bash, /bin/ls or /bin/sh could be read",
            );
        };
        let src = lf.arch_source.as_deref().unwrap_or("a system binary");
        match arch.as_str() {
            "x86_64" | "aarch64" => Verdict::pass_with(format!("{arch} (from {src})")),
            "i386" | "i486" | "i586" | "i686" | "x86" => {
                let msg = format!("the guest is 32-bit x86 ({arch}, ELF header of {src})");
                let fix = "Use a 64-bit (x86_64) build of the operating system.";
                Verdict::Findings(vec![if profile.name == "aws" {
                    Finding::strongly(
                        format!("{msg}; {} imports 64-bit images only", profile.display_name),
                        fix,
                    )
                } else {
                    Finding::recommended(format!("{msg}; current instance types are 64-bit"), fix)
                }])
            }
            other => Verdict::Findings(vec![Finding::strongly(
                format!(
                    "architecture {other} (ELF header of {src}) is not supported by {}",
                    profile.display_name
                ),
                META.remedy,
            )]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    fn with_arch(a: Option<&str>) -> Facts {
        let mut lf = good_linux_facts();
        lf.arch = a.map(str::to_string);
        lf.arch_source = Some("/bin/bash".into());
        with_linux(lf)
    }

    #[test]
    fn sixty_four_bit_passes() {
        let d =
            assert_pass(&Architecture.run(&with_arch(Some("aarch64")), &TargetProfile::alibaba()));
        assert_eq!(d.as_deref(), Some("aarch64 (from /bin/bash)"));
    }

    #[test]
    fn i386_depends_on_target_and_others_are_strong() {
        findings(
            &Architecture.run(&with_arch(Some("i386")), &TargetProfile::aws()),
            &[StronglyRecommended],
        );
        findings(
            &Architecture.run(&with_arch(Some("i386")), &TargetProfile::alibaba()),
            &[Recommended],
        );
        findings(
            &Architecture.run(&with_arch(Some("ppc64le")), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
    }

    #[test]
    fn unknown_is_not_evaluated() {
        assert_not_evaluated(&Architecture.run(&with_arch(None), &TargetProfile::alibaba()));
    }
}
