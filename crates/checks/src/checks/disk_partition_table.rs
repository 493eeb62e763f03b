//! `disk.partition-table`: a partition table is present and valid; its type is recorded.
//!
//! Rule from checks.md §1 `partition_table`: MBR signature and entries, GPT header and entry-array
//! CRC32s, backup header at the last LBA, hybrid MBR (UEFI spec §5; GCP precheck requires a
//! table). The volume layer (gpt/mbr/ebr) reports what is wrong as anomalies with structure and
//! offset; this check grades them. Our own code.

use crate::facts::Facts;
use crate::profile::TargetProfile;
use crate::verdict::{Applicability, Check, CheckMeta, Finding, Verdict};
use imgcheck_core::ErrorKind;

static META: CheckMeta = CheckMeta {
    id: "disk.partition-table",
    alibaba_item: None,
    title: "Partition table present and valid",
    applies_to: Applicability::Any,
    inputs: &["table", "table_error", "anomalies (gpt, mbr, ebr layers)"],
    remedy:
        "Repair the partition table in the source machine (gdisk/sgdisk for GPT, fdisk for MBR) \
and export the image again.",
    references: &[
        "UEFI specification §5 (GPT header, CRC32, backup header, protective MBR)",
        "GCP compute-image-tools import_precheck check_disks_linux.go",
        "Alibaba image compliance tool: partition table",
    ],
    description: "The disk must carry an MBR or GPT partition table that firmware and the import \
tooling can read. A missing or unreadable table, a table without partitions, or a damaged primary \
GPT structure is a strongly recommended fix; a damaged backup GPT header or entry array (firmware \
uses the primary) is a recommended one. The scheme, sector size and a hybrid MBR are reported.",
};

/// The check.
pub struct PartitionTable;

/// Anomaly layers of the partition-table level.
const TABLE_LAYERS: &[&str] = &["gpt", "mbr", "ebr", "volume"];

impl Check for PartitionTable {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn run(&self, facts: &Facts, _profile: &TargetProfile) -> Verdict {
        const REPARTITION: &str = "Give the system disk a partition table (MBR or GPT) with the \
            boot loader installed, e.g. by reinstalling the boot loader in the source machine.";
        let mut out = Vec::new();
        let mut detail = None;
        match &facts.table {
            None => {
                let f = match &facts.table_error {
                    Some(e) => Finding::strongly(
                        format!("the partition table could not be read: {e}"),
                        "Repair the partition table in the source machine (gdisk/sgdisk for GPT, \
                         fdisk for MBR) and export the image again.",
                    ),
                    None => Finding::strongly(
                        "no partition table (MBR or GPT): firmware finds no boot loader on the disk",
                        REPARTITION,
                    ),
                };
                out.push(f);
            }
            Some(t) if t.scheme.eq_ignore_ascii_case("none") => {
                out.push(
                    Finding::strongly(
                        "no partition table (MBR or GPT): the disk is one whole-disk volume, so \
                         firmware finds no boot loader on it",
                        REPARTITION,
                    )
                    .with_evidence(format!(
                        "{} volume(s) on the bare disk",
                        facts.volumes.len()
                    )),
                );
            }
            Some(t) => {
                let real: Vec<_> = t
                    .partitions
                    .iter()
                    .filter(|p| !p.kind.eq_ignore_ascii_case("extended"))
                    .collect();
                if real.is_empty() {
                    out.push(Finding::strongly(
                        format!("the {} partition table lists no partitions", t.scheme),
                        REPARTITION,
                    ));
                }
                let mut d = format!(
                    "{}, {}-byte sectors, {} partition(s)",
                    t.scheme,
                    t.sector_size,
                    real.len()
                );
                if t.hybrid_mbr {
                    d.push_str("; hybrid MBR (the protective MBR also lists partitions)");
                }
                detail = Some(d);
            }
        }
        for a in facts
            .anomalies
            .iter()
            .filter(|a| TABLE_LAYERS.iter().any(|l| a.layer.eq_ignore_ascii_case(l)))
        {
            let backup = a.structure.to_ascii_lowercase().contains("backup");
            let f = match (a.kind, backup) {
                (ErrorKind::Corrupt | ErrorKind::Io, false) => Finding::strongly(
                    a.to_string(),
                    "Repair the partition table (GPT: `gdisk` → `r` recovery, or `sgdisk -e`; MBR: \
                     `fdisk`), then verify every partition's start and size.",
                ),
                (ErrorKind::Corrupt | ErrorKind::Io, true) => Finding::recommended(
                    a.to_string(),
                    "Rewrite the GPT so its backup matches the primary: `sgdisk -e DISK` (moves \
                     the backup to the end) or `gdisk DISK` then `w`.",
                ),
                _ => Finding::recommended(
                    a.to_string(),
                    "Simplify the partition layout (fewer logical partitions, standard sector \
                     size) so every tool reads it.",
                ),
            };
            out.push(f.with_evidence(format!("anomaly kind: {}", a.kind)));
        }
        Verdict::from_findings(out, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::TableInfo;
    use crate::testutil::*;
    use crate::verdict::Severity::*;
    use imgcheck_core::Anomaly;

    fn run(f: &Facts) -> Verdict {
        PartitionTable.run(f, &TargetProfile::default())
    }

    #[test]
    fn valid_gpt_passes_with_its_type() {
        let mut facts = good_linux();
        assert_eq!(
            assert_pass(&run(&facts)).as_deref(),
            Some("gpt, 512-byte sectors, 3 partition(s)")
        );
        if let Some(t) = facts.table.as_mut() {
            t.hybrid_mbr = true;
        }
        let d = assert_pass(&run(&facts)).unwrap_or_default();
        assert!(
            d.ends_with("hybrid MBR (the protective MBR also lists partitions)"),
            "{d}"
        );
    }

    #[test]
    fn missing_or_unreadable_table_is_strongly_recommended() {
        let mut facts = good_linux();
        facts.table = None;
        facts.table_error = Some("gpt: header at offset 512: header crc32 mismatch".into());
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert_eq!(
            f[0].message,
            "the partition table could not be read: gpt: header at offset 512: header crc32 mismatch"
        );
        facts.table_error = None;
        findings(&run(&facts), &[StronglyRecommended]);
        facts.table = Some(TableInfo {
            scheme: "none".into(),
            ..TableInfo::default()
        });
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert!(f[0].message.contains("whole-disk volume"));
    }

    #[test]
    fn empty_table_is_strongly_recommended() {
        let mut facts = good_linux();
        facts.table = table("mbr", vec![part(1, 1 << 20, 1 << 30, "0x05")]);
        if let Some(t) = facts.table.as_mut() {
            t.partitions[0].kind = "extended".into();
        }
        let f = findings(&run(&facts), &[StronglyRecommended]);
        assert_eq!(f[0].message, "the mbr partition table lists no partitions");
    }

    #[test]
    fn anomalies_are_graded_by_structure() {
        let mut facts = good_linux();
        facts.anomalies = vec![
            Anomaly::new(
                "gpt",
                "backup header",
                Some(10_737_417_728),
                ErrorKind::Corrupt,
                "header crc32 is 0x1, expected 0x2",
            ),
            Anomaly::new(
                "gpt",
                "partition entry array",
                Some(1024),
                ErrorKind::Corrupt,
                "crc32 mismatch",
            ),
            Anomaly::new(
                "ebr",
                "chain",
                Some(4096),
                ErrorKind::LimitExceeded,
                "more than 128 logical partitions",
            ),
            Anomaly::new(
                "ext4",
                "superblock",
                Some(1024),
                ErrorKind::Corrupt,
                "not ours",
            ),
        ];
        let f = findings(
            &run(&facts),
            &[Recommended, StronglyRecommended, Recommended],
        );
        assert_eq!(
            f[0].message,
            "gpt: backup header at offset 10737417728: header crc32 is 0x1, expected 0x2"
        );
        assert_eq!(
            f[1].message,
            "gpt: partition entry array at offset 1024: crc32 mismatch"
        );
    }

    #[test]
    fn a_grown_disk_is_recommended_not_strongly() {
        // The volume layer's anomaly for a backup header left behind by growing the disk (a VHD
        // rounded up to its geometry, `qemu-img resize`): fixable with `sgdisk -e`, not damage.
        let mut facts = good_linux();
        facts.anomalies = vec![Anomaly::new(
            "gpt",
            "backup header location (primary header's AlternateLBA)",
            Some(512),
            ErrorKind::Corrupt,
            "AlternateLBA is 4194303, expected the last LBA of the disk 4195295: the disk was \
             grown after partitioning (backup header not at the end)",
        )];
        let f = findings(&run(&facts), &[Recommended]);
        assert!(f[0].remedy.contains("sgdisk -e"), "{}", f[0].remedy);
    }
}
