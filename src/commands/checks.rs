//! `imgcheck checks`: the check catalogue (ids, Alibaba items, titles, applicability).

use crate::output::outln;
use imgcheck_checks::REGISTRY;

/// Run the command.
pub fn run(as_json: bool) -> anyhow::Result<u8> {
    if as_json {
        let metas: Vec<_> = REGISTRY.iter().map(|c| c.meta()).collect();
        outln!("{}", serde_json::to_string_pretty(&metas)?);
    } else {
        for c in REGISTRY {
            let m = c.meta();
            outln!(
                "{:<28} {:<28} {}",
                m.id,
                m.alibaba_item.unwrap_or("-"),
                m.title
            );
        }
    }
    Ok(0)
}
