//! Generates `docs/checks.md` from the registry's metadata, so the documentation cannot drift
//! from the code: a test fails when the committed file is stale. Regenerate with
//! `cargo run -p imgcheck-checks --example checks-doc > docs/checks.md`. Our own code.

use crate::profile::TargetProfile;
use crate::registry::REGISTRY;
use std::fmt::Write;

/// The Markdown text of `docs/checks.md`.
pub fn checks_markdown() -> String {
    let mut s = String::new();
    s.push_str("# imgcheck checks\n\n");
    s.push_str(
        "<!-- Generated from the check registry (crates/checks); do not edit. Regenerate with\n     \
         `cargo run -p imgcheck-checks --example checks-doc > docs/checks.md`. -->\n\n",
    );
    s.push_str(
        "Every check has a stable id (part of the JSON report contract), the Alibaba Cloud image-check \
item it corresponds to where one exists, and an applicability. Verdicts: **Strongly recommended fix** \
(the instance probably does not boot or is unreachable; Alibaba risk level High), **Recommended \
optimization** (Medium), **No risk found**, **Not evaluated** (the evidence could not be read — never \
counted as no risk) and **Not applicable**.\n\n",
    );
    let _ = writeln!(
        s,
        "When the image has a backing file or parent disk that was not opened (no \
`--follow-backing`), only the checks of the container itself run ({}); every check of the \
disk's contents is *Not evaluated*, because what the backing file provides reads as zeros.\n",
        crate::engine::CONTAINER_CHECKS
            .iter()
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "Targets (`--target`): {} (default `{}`).\n",
        TargetProfile::NAMES
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
        TargetProfile::default().name
    );
    s.push_str("| id | Alibaba item | applies to | title |\n|---|---|---|---|\n");
    for c in REGISTRY {
        let m = c.meta();
        let _ = writeln!(
            s,
            "| [`{}`](#{}) | {} | {} | {} |",
            m.id,
            m.id.replace('.', ""),
            m.alibaba_item.unwrap_or("—"),
            m.applies_to.name(),
            m.title
        );
    }
    for c in REGISTRY {
        let m = c.meta();
        let _ = writeln!(s, "\n## {}\n", m.id);
        let _ = writeln!(s, "**{}**\n", m.title);
        if let Some(item) = m.alibaba_item {
            let _ = writeln!(s, "- Alibaba item: `{item}`");
        }
        let _ = writeln!(s, "- Applies to: {}", m.applies_to.name());
        let _ = writeln!(
            s,
            "- Inputs: {}",
            m.inputs
                .iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(s, "\n{}\n", m.description);
        let _ = writeln!(s, "Remedy: {}\n", m.remedy);
        s.push_str("References:\n\n");
        for r in m.references {
            let _ = writeln!(s, "- {r}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_checks_md_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/checks.md");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == checks_markdown(),
            "docs/checks.md is stale or missing; regenerate it with \
             `cargo run -p imgcheck-checks --example checks-doc > docs/checks.md`"
        );
    }

    #[test]
    fn every_check_has_a_section() {
        let md = checks_markdown();
        for c in REGISTRY {
            assert!(
                md.contains(&format!("\n## {}\n", c.meta().id)),
                "{}",
                c.meta().id
            );
        }
    }
}
