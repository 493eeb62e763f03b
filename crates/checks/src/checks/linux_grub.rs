//! `linux.grub` (Alibaba `GUESTOS.Grub`): the boot loader configuration boots an installed
//! kernel from a root named in a way that survives the move.
//!
//! Rules from checks.md §2 `grub` (Alibaba: "do not use root=/dev/sda1, use the UUID"; virt-v2v
//! linux_bootloaders.ml): a config (GRUB 2, BLS or GRUB legacy) exists; its default entry
//! exists and its kernel is installed; `root=` names the root by UUID, LABEL, PARTUUID or an
//! LVM path — a kernel device name is strongly recommended; a `root=UUID=`/`LABEL=` no
//! filesystem of the image has is strongly recommended; a `resume=` device not in the image is
//! recommended (boot waits for it). Parsed by imgcheck-inspect `bootloader`. Our own code.

use super::linux_virtio::linux_facts;
use crate::facts::{Facts, VolumeContent};
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};

static META: CheckMeta = CheckMeta {
    id: "linux.grub",
    alibaba_item: Some("GUESTOS.Grub"),
    title: "Boot loader configuration valid",
    applies_to: Applicability::Linux,
    inputs: &[
        "/boot/grub2/grub.cfg, /boot/grub/grub.cfg, /boot/efi/EFI/*/grub.cfg",
        "/boot/loader/entries/*.conf, /boot/grub2/grubenv",
        "/boot/grub/menu.lst, /boot/grub/grub.conf",
        "volumes[].fs.uuid, volumes[].fs.label, swap uuid",
    ],
    remedy: "Regenerate the boot loader configuration (grub2-mkconfig -o /boot/grub2/grub.cfg, \
update-grub) with root=UUID=<root filesystem UUID> and a default entry for an installed kernel.",
    references: &[
        "Alibaba Cloud import requirements: GRUB (priority High; do not use root=/dev/sda1)",
        "virt-v2v linux_bootloaders.ml",
    ],
    description: "Strongly recommended when no boot loader configuration is found, when it has \
no default entry or the default entry's kernel is not installed, when root= is a kernel device \
name (/dev/sda1, /dev/vda1, /dev/xvda1, /dev/hda1, /dev/nvme0n1p1), or when root=UUID=/LABEL= \
matches no filesystem of the image. A resume= device missing from the image and \
inconsistencies the parser noted are recommended optimisations. Each finding names the file \
and line.",
};

/// Kernel device name prefixes that change between hypervisors.
const KERNEL_NAMES: &[&str] = &["/dev/sd", "/dev/vd", "/dev/xvd", "/dev/hd", "/dev/nvme"];

/// The check.
pub struct Grub;

/// What an image has for a `UUID=`/`LABEL=` reference: `Some(true)` found, `Some(false)`
/// missing, `None` not checkable (another kind of reference).
fn exists(facts: &Facts, spec: &str) -> Option<bool> {
    let (kind, val) = if let Some(u) = spec.strip_prefix("UUID=") {
        ("uuid", u)
    } else if let Some(l) = spec.strip_prefix("LABEL=") {
        ("label", l)
    } else if let Some(u) = spec.strip_prefix("/dev/disk/by-uuid/") {
        ("uuid", u)
    } else {
        return None;
    };
    let eq = |x: &Option<String>| x.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(val));
    Some(facts.volumes.iter().any(|v| match &v.content {
        VolumeContent::Filesystem(fs) => {
            if kind == "uuid" {
                eq(&fs.uuid)
            } else {
                eq(&fs.label)
            }
        }
        VolumeContent::Swap { uuid, label } => {
            if kind == "uuid" {
                eq(uuid)
            } else {
                eq(label)
            }
        }
        VolumeContent::Encrypted { uuid, .. } => kind == "uuid" && eq(uuid),
        _ => false,
    }))
}

impl Check for Grub {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        let lf = match linux_facts(facts) {
            Ok(l) => l,
            Err(v) => return v,
        };
        let b = &lf.boot;
        if b.loader.is_empty() {
            return Verdict::not_evaluated("the boot loader configuration was not inspected");
        }
        if b.loader == "none" {
            return Verdict::Findings(vec![Finding::strongly(
                "no boot loader configuration found (looked for grub.cfg, BLS entries, menu.lst)",
                META.remedy,
            )]);
        }
        let cfg = b.config_path.as_deref().unwrap_or("boot loader config");
        let Some(e) = &b.default_entry else {
            return Verdict::Findings(vec![Finding::strongly(
                format!(
                    "{cfg}: no default entry could be determined (default={})",
                    b.default_spec.as_deref().unwrap_or("unset")
                ),
                META.remedy,
            )]);
        };
        let at = format!("{} line {}", e.source, e.kernel_line.unwrap_or(e.line));
        let mut out = Vec::new();
        match &e.kernel {
            None => out.push(Finding::strongly(
                format!(
                    "default entry {:?} ({} line {}) has no linux/kernel line",
                    e.title, e.source, e.line
                ),
                META.remedy,
            )),
            Some(k) if !lf.kernels.iter().any(|i| &i.image == k) => out.push(Finding::strongly(
                format!(
                    "default entry {:?} ({at}) boots {k}, which is not installed",
                    e.title
                ),
                META.remedy,
            )),
            Some(_) => {}
        }
        let arg = |name: &str| {
            e.cmdline
                .split_whitespace()
                .filter_map(|w| w.strip_prefix(name))
                .next_back()
                .map(str::to_string)
        };
        match arg("root=") {
            Some(r) if KERNEL_NAMES.iter().any(|p| r.starts_with(p)) => out.push(Finding::strongly(
                format!("{at}: root={r} is a kernel device name, which changes on the new hardware"),
                "Use root=UUID=<uuid of the root filesystem> (GRUB_DISABLE_LINUX_UUID must not be true) and regenerate the config.",
            )),
            Some(r) if exists(facts, &r) == Some(false) => out.push(Finding::strongly(
                format!("{at}: root={r} matches no filesystem of this image"),
                META.remedy,
            )),
            _ => {}
        }
        if let Some(r) = arg("resume=") {
            if KERNEL_NAMES.iter().any(|p| r.starts_with(p)) || exists(facts, &r) == Some(false) {
                out.push(Finding::recommended(
                    format!("{at}: resume={r} names a device this image does not have (or may not have on the new hardware)"),
                    "Remove resume= from GRUB_CMDLINE_LINUX (or point it at the swap UUID) and regenerate the config.",
                ));
            }
        }
        for p in &b.problems {
            out.push(Finding::recommended(p.clone(), META.remedy));
        }
        Verdict::from_findings(
            out,
            Some(format!(
                "{} {cfg}: default {:?} ({at}), root={}",
                b.loader,
                e.title,
                arg("root=").unwrap_or_else(|| "-".into())
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_inspect::bootloader::BootEntry;

    fn lf(cmdline: &str) -> imgcheck_inspect::linux::LinuxFacts {
        let mut lf = good_linux_facts();
        lf.boot.loader = "grub2".into();
        lf.boot.config_path = Some("/boot/grub/grub.cfg".into());
        lf.boot.default_entry = Some(BootEntry {
            title: "Debian".into(),
            kernel: Some("/boot/vmlinuz-6.1.0-28-cloud-amd64".into()),
            cmdline: cmdline.into(),
            source: "/boot/grub/grub.cfg".into(),
            line: 80,
            kernel_line: Some(83),
            ..Default::default()
        });
        lf
    }

    fn facts(l: imgcheck_inspect::linux::LinuxFacts) -> Facts {
        let mut f = with_linux(l);
        if let VolumeContent::Filesystem(fs) = &mut f.volumes[2].content {
            fs.uuid = Some("1111-aaaa".into());
        }
        f
    }

    #[test]
    fn uuid_root_passes() {
        let d = assert_pass(&Grub.run(
            &facts(lf("root=UUID=1111-AAAA ro")),
            &TargetProfile::alibaba(),
        ));
        assert!(d.unwrap().contains("root=UUID=1111-AAAA"));
    }

    #[test]
    fn each_defect_is_reported() {
        let f = findings(
            &Grub.run(
                &facts(lf("root=/dev/sda1 ro resume=UUID=dead")),
                &TargetProfile::alibaba(),
            ),
            &[StronglyRecommended, Recommended],
        );
        assert_eq!(f[0].message, "/boot/grub/grub.cfg line 83: root=/dev/sda1 is a kernel device name, which changes on the new hardware");
        let mut l = lf("root=UUID=beef ro");
        l.boot.default_entry.as_mut().unwrap().kernel = Some("/boot/vmlinuz-5.10".into());
        let f = findings(
            &Grub.run(&facts(l.clone()), &TargetProfile::alibaba()),
            &[StronglyRecommended; 2],
        );
        assert!(f[0]
            .message
            .contains("boots /boot/vmlinuz-5.10, which is not installed"));
        assert!(f[1]
            .message
            .contains("root=UUID=beef matches no filesystem"));
        l.boot.default_entry = None;
        findings(
            &Grub.run(&facts(l.clone()), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
        l.boot.loader = "none".into();
        findings(
            &Grub.run(&facts(l), &TargetProfile::alibaba()),
            &[StronglyRecommended],
        );
    }

    #[test]
    fn not_inspected_is_not_evaluated() {
        assert_not_evaluated(&Grub.run(&with_linux(good_linux_facts()), &TargetProfile::alibaba()));
        assert_not_evaluated(&Grub.run(&good_linux(), &TargetProfile::alibaba()));
    }
}
