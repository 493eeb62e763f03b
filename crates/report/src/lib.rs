//! # imgcheck-report
//!
//! Turns check results into the report the user reads, and renders it.
//!
//! - [`Report::build`]: results (in registry order) + facts + image path + target name → the
//!   sections **Strongly recommended fixes**, **Recommended optimizations**, **No risks found**,
//!   **Not evaluated**, **Not applicable**, and the anomalies.
//! - [`to_text`] (console; colour only when asked), [`to_json`] (schema in
//!   `docs/report-schema.md`, [`SCHEMA_VERSION`]), [`to_html`] (one self-contained page).
//! - [`exit_status`]: 0 without a strongly recommended fix, 1 with one.
//!
//! Every string that may come from the image is escaped for its medium (control characters
//! made visible on terminals, markup escaped in HTML).
//!
//! ```
//! use imgcheck_checks::{facts::Facts, run_checks, TargetProfile};
//! use imgcheck_report::{exit_status, to_json, to_text, Report};
//!
//! let facts = Facts::default(); // nothing known: most checks are "not evaluated"
//! let results = run_checks(&facts, &TargetProfile::alibaba());
//! let report = Report::build(&results, &facts, "disk.img", "alibaba");
//! assert!(to_text(&report, false).contains("Not evaluated ("));
//! assert!(to_json(&report).contains("\"schema_version\": 1"));
//! assert_eq!(exit_status(&report), 1); // an empty image: strongly recommended fixes
//! ```
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod escape;
mod html;
mod model;
mod text;

pub use escape::{html as escape_html, terminal as escape_terminal};
pub use html::to_html;
pub use model::{
    exit_status, AnomalyEntry, Entry, Header, ImageSection, OsSection, PartitionEntry, Report,
    Status, Summary, Tool, SCHEMA_VERSION,
};
pub use text::to_text;

/// The report as pretty-printed JSON; keys in declaration order, so the output is deterministic.
pub fn to_json(report: &Report) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(s) => s,
        // Unreachable for these types (string keys only); keep the output valid JSON anyway.
        Err(e) => serde_json::json!({ "schema_version": SCHEMA_VERSION, "error": e.to_string() })
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgcheck_checks::facts::*;
    use imgcheck_checks::layout::{BIOS_BOOT_GUID, ESP_GUID};
    use imgcheck_checks::{run_checks, TargetProfile};
    use imgcheck_core::{Anomaly, ErrorKind};

    const LINUX_FS: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

    fn part(number: u32, start: u64, size: u64, type_id: &str, name: &str) -> PartitionInfo {
        PartitionInfo {
            number,
            start,
            size,
            type_id: type_id.into(),
            type_name: None,
            name: Some(name.into()),
            bootable: false,
            kind: "gpt".into(),
        }
    }

    /// A 10 GiB Linux disk whose partition names try HTML and terminal injection, with a VMDK
    /// container (a strongly recommended fix on Alibaba) and a GPT anomaly.
    fn facts() -> Facts {
        let esp = FsFacts {
            fs_type: "fat32".into(),
            efi_loaders: vec!["\\EFI\\BOOT\\BOOTX64.EFI".into()],
            roles: vec!["esp".into()],
            clean: Some(true),
            ..FsFacts::default()
        };
        let root = FsFacts {
            fs_type: "ext4".into(),
            label: Some("root\x1b[31m".into()),
            free_bytes: Some(4 << 30),
            free_inodes: Some(100_000),
            total_inodes: Some(200_000),
            clean: Some(true),
            roles: vec!["root".into()],
            ..FsFacts::default()
        };
        Facts {
            image: ImageInfo {
                format: "vhdx".into(),
                subformat: Some("dynamic".into()),
                virtual_size: 10 << 30,
                file_size: 3 << 30,
                ..ImageInfo::default()
            },
            table: Some(TableInfo {
                scheme: "gpt".into(),
                sector_size: 512,
                hybrid_mbr: false,
                partitions: vec![
                    part(1, 1 << 20, 1 << 20, BIOS_BOOT_GUID, "bios"),
                    part(2, 2 << 20, 126 << 20, ESP_GUID, "<script>alert(1)</script>"),
                    part(
                        3,
                        128 << 20,
                        8 << 30,
                        LINUX_FS,
                        "evil\x1b[31m\x1b]0;pwned\x07",
                    ),
                ],
            }),
            volumes: vec![
                VolumeFacts {
                    id: "1".into(),
                    partition: Some(1),
                    size: 1 << 20,
                    ..VolumeFacts::default()
                },
                VolumeFacts {
                    id: "2".into(),
                    partition: Some(2),
                    size: 126 << 20,
                    content: VolumeContent::Filesystem(esp),
                    error: None,
                },
                VolumeFacts {
                    id: "3".into(),
                    partition: Some(3),
                    size: 8 << 30,
                    content: VolumeContent::Filesystem(root),
                    error: None,
                },
            ],
            boot: BootSectorInfo {
                readable: true,
                boot_code_nonzero: true,
                grub_signature: true,
                mbr_gap_has_code: false,
            },
            anomalies: vec![Anomaly::new(
                "gpt",
                "backup header <b>",
                Some(10_737_417_728),
                ErrorKind::Corrupt,
                "crc32 mismatch\x1b[2J",
            )],
            guest: Some(GuestFacts {
                os_type: "linux".into(),
                pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
                arch: Some("x86_64".into()),
                roots_found: 1,
                ..GuestFacts::default()
            }),
            ..Facts::default()
        }
    }

    fn report() -> Report {
        let f = facts();
        Report::build(
            &run_checks(&f, &TargetProfile::alibaba()),
            &f,
            "/images/disk.vhdx",
            "alibaba",
        )
    }

    #[test]
    fn sections_partition_the_results() {
        let r = report();
        let s = r.summary;
        assert_eq!(
            s.strongly_recommended + s.recommended + s.no_risk + s.not_evaluated + s.not_applicable,
            imgcheck_checks::REGISTRY.len()
        );
        let sr: Vec<_> = r
            .strongly_recommended
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(sr, ["disk.image-format"]);
        let ro: Vec<_> = r.recommended.iter().map(|e| e.id.as_str()).collect();
        // The fixture's Linux guest has no /etc/fstab: linux.fstab recommends one.
        assert_eq!(ro, ["disk.partition-table", "linux.fstab"]);
        assert!(r.no_risk.iter().any(|e| e.id == "boot.boot-mode"
            && e.detail
                .as_deref()
                .is_some_and(|d| d.starts_with("boot mode: bios+uefi"))));
        assert_eq!(r.header.boot_mode.as_deref(), Some("bios+uefi"));
        assert_eq!(
            r.strongly_recommended[0].status,
            Status::StronglyRecommended
        );
        assert_eq!(exit_status(&r), 1);
        assert_eq!(r.image.partitions[2].content.as_deref(), Some("ext4"));
        // `checks`: every check once, in registry order, with the status of its section.
        let ids: Vec<_> = r.checks.iter().map(|e| e.id.as_str()).collect();
        let registry: Vec<_> = imgcheck_checks::REGISTRY
            .iter()
            .map(|c| c.meta().id)
            .collect();
        assert_eq!(ids, registry);
        for section in [
            &r.strongly_recommended,
            &r.recommended,
            &r.no_risk,
            &r.not_evaluated,
            &r.not_applicable,
        ] {
            for e in section {
                assert_eq!(r.checks.iter().find(|c| c.id == e.id), Some(e));
            }
        }
        let os = r.os.as_ref().expect("os section");
        assert_eq!(os.os_type, "linux");
        assert_eq!(os.roots_found, 1);
    }

    #[test]
    fn exit_status_is_zero_without_strongly_recommended_fixes() {
        let mut f = facts();
        f.image.format = "qcow2".into();
        f.image.subformat = None;
        let r = Report::build(
            &run_checks(&f, &TargetProfile::alibaba()),
            &f,
            "d.qcow2",
            "alibaba",
        );
        assert_eq!(
            r.summary.strongly_recommended, 0,
            "{:#?}",
            r.strongly_recommended
        );
        assert_eq!(exit_status(&r), 0);
    }

    #[test]
    fn text_has_headings_with_counts_and_escapes_terminal_sequences() {
        let r = report();
        let t = to_text(&r, false);
        let s = r.summary;
        for h in [
            format!("Strongly recommended fixes ({})", s.strongly_recommended),
            format!("Recommended optimizations ({})", s.recommended),
            format!("No risks found ({})", s.no_risk),
            format!("Not evaluated ({})", s.not_evaluated),
            format!("Not applicable ({})", s.not_applicable),
            "Anomalies (1)".to_string(),
        ] {
            assert!(t.contains(&h), "missing {h:?} in\n{t}");
        }
        assert!(!t.contains('\x1b'), "raw escape in\n{t}");
        assert!(t.contains("evil\\x1b[31m\\x1b]0;pwned\\x07"), "{t}");
        assert!(t.contains("label \"root\\x1b[31m\""), "{t}");
        assert!(t.contains("crc32 mismatch\\x1b[2J (corrupt)"), "{t}");
        assert!(
            t.contains("disk.image-format  Image format accepted by the target"),
            "{t}"
        );
        assert!(
            t.contains("remedy:   Convert the image: `qemu-img convert -f vhdx -O qcow2"),
            "{t}"
        );

        // With colour: ANSI only from the renderer; the injected sequence stays escaped.
        let c = to_text(&r, true);
        assert!(
            c.contains("\x1b[1;31mStrongly recommended fixes (1)\x1b[0m"),
            "{c}"
        );
        assert!(c.contains("evil\\x1b[31m"));
        assert!(!c.contains("evil\x1b"));
    }

    #[test]
    fn json_parses_and_is_deterministic() {
        let r = report();
        let j = to_json(&r);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["tool"]["name"], "imgcheck");
        assert_eq!(v["target"], "alibaba");
        assert_eq!(v["summary"]["strongly_recommended"], 1);
        assert_eq!(v["strongly_recommended"][0]["id"], "disk.image-format");
        assert_eq!(
            v["strongly_recommended"][0]["status"],
            "strongly_recommended"
        );
        assert_eq!(
            v["strongly_recommended"][0]["findings"][0]["severity"],
            "strongly_recommended"
        );
        assert_eq!(v["anomalies"][0]["kind"], "corrupt");
        // Round trip and byte-for-byte determinism.
        let back: Report = serde_json::from_str(&j).unwrap();
        assert_eq!(back, r);
        assert_eq!(to_json(&report()), j);
        // Key order is the documented one.
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        let pos = |k: &str| j.find(&format!("\n  \"{k}\"")).unwrap();
        assert!(pos("schema_version") < pos("tool") && pos("tool") < pos("image"));
        assert!(
            pos("header") < pos("os")
                && pos("os") < pos("summary")
                && pos("summary") < pos("strongly_recommended")
                && pos("not_applicable") < pos("checks")
                && pos("checks") < pos("anomalies")
        );
        assert_eq!(v["os"]["type"], "linux");
        assert_eq!(keys.len(), 14);
    }

    #[test]
    fn html_is_self_contained_and_escaped() {
        let h = to_html(&report());
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(!h.contains("<script"), "unescaped script tag");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(h.contains("backup header &lt;b&gt;"));
        assert!(!h.contains('\x1b'));
        for external in ["src=", "href=", "@import", "url(", "http://", "https://"] {
            assert!(!h.contains(external), "external resource marker {external}");
        }
        assert!(h.contains("<b>1</b>Strongly recommended fixes"));
        // Layout bar: BIOS boot 1 MiB of 10 GiB = 0.009 %, root 8 GiB = 80 %.
        assert!(
            h.contains("style=\"width:0.009%\" title=\"partition 1"),
            "{h}"
        );
        assert!(
            h.contains("<div class=\"seg fs\" style=\"width:80.000%\""),
            "{h}"
        );
        assert!(h.contains("<div class=\"seg esp\""));
        assert!(h.contains("Remedy:</b> Convert the image"));
    }

    /// docs/report-schema.md documents every key the JSON has.
    #[test]
    fn schema_doc_lists_every_key() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/report-schema.md"
        ))
        .unwrap();
        assert!(
            doc.contains("(version 1)"),
            "schema version in the doc title"
        );
        let v: serde_json::Value = serde_json::from_str(&to_json(&report())).unwrap();
        let mut objects = vec![
            &v,
            &v["image"],
            &v["image"]["partitions"][0],
            &v["header"],
            &v["summary"],
            &v["strongly_recommended"][0],
            &v["strongly_recommended"][0]["findings"][0],
            &v["anomalies"][0],
        ];
        objects.push(&v["tool"]);
        for o in objects {
            for k in o.as_object().unwrap().keys() {
                assert!(
                    doc.contains(&format!("`{k}`")),
                    "docs/report-schema.md does not document key {k:?}"
                );
            }
        }
    }

    #[test]
    fn empty_facts_render_without_a_layout() {
        let f = Facts::default();
        let r = Report::build(&run_checks(&f, &TargetProfile::kvm()), &f, "x", "kvm");
        let h = to_html(&r);
        assert!(h.contains("Virtual size unknown."));
        let t = to_text(&r, false);
        assert!(
            t.contains("Table:   not read") && t.contains("OS:      not inspected"),
            "{t}"
        );
        assert_eq!(r.header.boot_mode, None);
    }
}
