//! `disk.allocation`: allocated (stored) versus virtual size — informational.
//!
//! From checks.md §1 `data_vs_virtual_size` (Tencent limits the actual size; Baidu, UCloudStack
//! ask for `qemu-img info`'s virtual and disk size). Always a pass with detail: thin images are
//! normal. Our own code.

use crate::facts::Facts;
use crate::layout::human_bytes;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Verdict};

static META: CheckMeta = CheckMeta {
    id: "disk.allocation",
    alibaba_item: None,
    title: "Allocated versus virtual size",
    applies_to: Applicability::Any,
    inputs: &[
        "image.virtual_size",
        "image.file_size",
        "image.allocated_bytes",
        "image.compression",
    ],
    remedy: "None needed; to shrink the upload, zero free space in the guest and convert with \
`qemu-img convert -O qcow2 -c`.",
    references: &[
        "Tencent Cloud image import overview (actual size limit)",
        "qemu-img info",
    ],
    description:
        "Reports the virtual size, the file size and, where the format tells, the bytes the \
image actually stores, as information for planning the upload and the system disk.",
};

/// The check.
pub struct Allocation;

/// `part` as a percentage of `whole` with one decimal (integer arithmetic).
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "?".into();
    }
    let tenths = u128::from(part)
        .saturating_mul(1000)
        .checked_div(u128::from(whole))
        .unwrap_or(0);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

impl Check for Allocation {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let img = &facts.image;
        if img.virtual_size == 0 {
            return Verdict::not_evaluated("the virtual size is unknown");
        }
        let mut d = format!(
            "virtual {}, file {}",
            human_bytes(img.virtual_size),
            human_bytes(img.file_size)
        );
        if let Some(a) = img.allocated_bytes {
            d.push_str(&format!(
                ", allocated {} ({} of virtual)",
                human_bytes(a),
                percent(a, img.virtual_size)
            ));
        }
        if let Some(c) = &img.compression {
            d.push_str(&format!(", {c}-compressed"));
        }
        Verdict::pass_with(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn reports_sizes() {
        let mut facts = good_linux();
        facts.image.compression = Some("zstd".into());
        let d = assert_pass(&Allocation.run(&facts, &TargetProfile::default()));
        assert_eq!(
            d.as_deref(),
            Some("virtual 10.0 GiB, file 2.0 GiB, allocated 2.0 GiB (20.0% of virtual), zstd-compressed")
        );
        facts.image.allocated_bytes = None;
        facts.image.compression = None;
        let d = assert_pass(&Allocation.run(&facts, &TargetProfile::default()));
        assert_eq!(d.as_deref(), Some("virtual 10.0 GiB, file 2.0 GiB"));
    }

    #[test]
    fn unknown_size_is_not_evaluated() {
        assert_not_evaluated(&Allocation.run(&Facts::default(), &TargetProfile::default()));
    }
}
