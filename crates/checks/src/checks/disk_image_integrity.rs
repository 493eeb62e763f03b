//! `disk.image-integrity`: the container is consistent, closed cleanly and self-contained.
//!
//! Rules from checks.md §1 `image_format_integrity`: qcow2 `incompatible_features` bit 0 (dirty)
//! and bit 1 (corrupt) per qemu's docs/interop/qcow2.txt; a backing file / differencing disk must
//! be flattened (AWS rejects differencing VHDs); anomalies the container layer reported. Our own
//! code.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_core::{Anomaly, ErrorKind};

static META: CheckMeta = CheckMeta {
    id: "disk.image-integrity",
    alibaba_item: None,
    title: "Image container integrity",
    applies_to: Applicability::Any,
    inputs: &[
        "image.dirty",
        "image.corrupt",
        "image.has_backing",
        "image.backing_reference",
        "image.subformat",
        "anomalies (container layers)",
    ],
    remedy: "Repair the container (`qemu-img check -r all`) and flatten it into a standalone image \
(`qemu-img convert`).",
    references: &[
        "qemu docs/interop/qcow2.txt (incompatible feature bits)",
        "AWS vmimport-troubleshooting.md (differencing disks, footers not identical)",
    ],
    description: "The container must be closed cleanly (qcow2 dirty bit, VHDX log), not marked corrupt, \
not depend on a backing file or parent disk (the target receives one file), and its metadata must be \
consistent (anomalies reported by the container layer: checksums, footers, tables).",
};

/// The check.
pub struct ImageIntegrity;

/// Anomaly layers that belong to the container level.
const CONTAINER_LAYERS: &[&str] = &["container", "raw", "qcow2", "vhd", "vpc", "vhdx", "vmdk"];

/// `qcow2: header at offset 0: message`.
fn anomaly_text(a: &Anomaly) -> String {
    a.to_string()
}

impl Check for ImageIntegrity {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let img = &facts.image;
        if img.format.is_empty() {
            return Verdict::not_evaluated("the container format was not detected");
        }
        let mut out = Vec::new();
        if img.corrupt {
            out.push(
                Finding::strongly(
                    format!("{} image is marked corrupt by its own header", img.format),
                    "Run `qemu-img check -r all IMAGE` on a copy, verify the guest, then convert it.",
                )
                .with_evidence(format!("{}: corrupt flag set", img.format)),
            );
        }
        if img.dirty {
            out.push(
                Finding::strongly(
                    format!(
                        "{} image was not closed cleanly (dirty flag / unreplayed log): its \
                         metadata may not match the data",
                        img.format
                    ),
                    "Run `qemu-img check -r all IMAGE` (VHDX: open it once in Hyper-V or qemu \
                     read-write to replay the log) before importing.",
                )
                .with_evidence(format!("{}: dirty flag set", img.format)),
            );
        }
        let differencing = img
            .subformat
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("differencing"));
        if img.has_backing || differencing {
            let mut f = Finding::strongly(
                match &img.backing_reference {
                    Some(r) => format!(
                        "{} image depends on the backing file \"{r}\": the target receives only \
                         this file, whose unwritten clusters come from the backing file",
                        img.format
                    ),
                    None => format!(
                        "{} image is a differencing disk that depends on a parent disk",
                        img.format
                    ),
                },
                "Flatten the chain into one standalone image: `qemu-img convert -O qcow2 IMAGE \
                 flat.qcow2` (run where the backing files are present).",
            );
            if let Some(r) = &img.backing_reference {
                f = f.with_evidence(format!("backing reference: {r}"));
            }
            out.push(f);
        }
        for a in facts.anomalies.iter().filter(|a| {
            CONTAINER_LAYERS
                .iter()
                .any(|l| a.layer.eq_ignore_ascii_case(l))
        }) {
            let f = match a.kind {
                ErrorKind::Corrupt | ErrorKind::Io => Finding::strongly(
                    anomaly_text(a),
                    "Recreate the image from its source, or repair it with `qemu-img check -r \
                     all` and re-convert it.",
                ),
                ErrorKind::Unsupported | ErrorKind::LimitExceeded | ErrorKind::NotFound => {
                    Finding::recommended(
                        anomaly_text(a),
                        "Convert the image to a plain format (`qemu-img convert -O raw` or \
                         `-O qcow2`) so every reader can read it.",
                    )
                }
            };
            out.push(f.with_evidence(format!("anomaly kind: {}", a.kind)));
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{} image: clean, not corrupt, standalone",
                img.format
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;

    #[test]
    fn clean_image_passes() {
        let d = assert_pass(&ImageIntegrity.run(&good_linux(), &TargetProfile::default()));
        assert_eq!(
            d.as_deref(),
            Some("qcow2 image: clean, not corrupt, standalone")
        );
    }

    #[test]
    fn dirty_corrupt_and_backing_are_strongly_recommended() {
        let mut facts = good_linux();
        facts.image.dirty = true;
        facts.image.corrupt = true;
        facts.image.has_backing = true;
        facts.image.backing_reference = Some("base.qcow2".into());
        let f = findings(
            &ImageIntegrity.run(&facts, &TargetProfile::default()),
            &[
                StronglyRecommended,
                StronglyRecommended,
                StronglyRecommended,
            ],
        );
        assert!(f[0].message.contains("marked corrupt"));
        assert!(f[1].message.contains("not closed cleanly"));
        assert!(f[2].message.contains("\"base.qcow2\""));
        assert_eq!(f[2].evidence, vec!["backing reference: base.qcow2"]);
    }

    #[test]
    fn differencing_vhd_without_reference() {
        let mut facts = good_linux();
        facts.image.format = "vhd".into();
        facts.image.subformat = Some("differencing".into());
        let f = findings(
            &ImageIntegrity.run(&facts, &TargetProfile::default()),
            &[StronglyRecommended],
        );
        assert!(f[0].message.contains("differencing disk"));
    }

    #[test]
    fn container_anomalies_are_reported_with_structure_and_offset() {
        let mut facts = good_linux();
        facts.anomalies = vec![
            Anomaly::new(
                "vhd",
                "footer copy",
                Some(0),
                ErrorKind::Corrupt,
                "differs from the footer at the end",
            ),
            Anomaly::new(
                "qcow2",
                "header",
                Some(0),
                ErrorKind::Unsupported,
                "compression type 2",
            ),
            Anomaly::new(
                "gpt",
                "backup header",
                Some(512),
                ErrorKind::Corrupt,
                "ignored here",
            ),
        ];
        let f = findings(
            &ImageIntegrity.run(&facts, &TargetProfile::default()),
            &[StronglyRecommended, Recommended],
        );
        assert_eq!(
            f[0].message,
            "vhd: footer copy at offset 0: differs from the footer at the end"
        );
        assert_eq!(f[0].evidence, vec!["anomaly kind: corrupt"]);
    }

    #[test]
    fn undetected_format_is_not_evaluated() {
        assert_not_evaluated(&ImageIntegrity.run(&Facts::default(), &TargetProfile::default()));
    }
}
