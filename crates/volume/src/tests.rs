//! Scenario tests on synthesised disks: GPT at 512 and 4096-byte sectors, 256-byte entries,
//! broken/missing/disagreeing headers, limits, MBR with extended chains, EBR loops and limits,
//! LBA overflow, superfloppies, hybrid MBRs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::panic
)]

use crate::synth::*;
use crate::{read_partition_table, PartitionKind, PartitionTable, Scheme, VolumeError};
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, Limits, MemSource};
use std::sync::Arc;

fn read(disk: Vec<u8>) -> PartitionTable {
    read_partition_table(&MemSource::new(disk), &Limits::default()).unwrap()
}

fn read_err(disk: Vec<u8>) -> VolumeError {
    read_partition_table(&MemSource::new(disk), &Limits::default()).unwrap_err()
}

/// The one anomaly whose structure is `structure`; fails listing all anomalies otherwise.
fn find<'a>(t: &'a PartitionTable, layer: &str, structure: &str) -> &'a Anomaly {
    let found: Vec<&Anomaly> = t
        .anomalies
        .iter()
        .filter(|a| a.layer == layer && a.structure == structure)
        .collect();
    assert_eq!(found.len(), 1, "{layer}/{structure} in {:#?}", t.anomalies);
    found[0]
}

fn three_parts() -> Vec<GptPart> {
    vec![
        part(0, ESP, 34, 1057, "EFI system"),
        part(1, LINUX_FS, 1058, 1800, "root"),
        part(3, LINUX_SWAP, 1801, 1900, ""),
    ]
}

fn gpt_512() -> (GptSpec, Vec<u8>) {
    let spec = GptSpec::new(512, 2048, three_parts());
    let disk = build_gpt(&spec);
    (spec, disk)
}

#[test]
fn gpt_512_lists_partitions() {
    let (spec, mut disk) = gpt_512();
    // Legacy BIOS bootable on the root partition (attribute bit 2).
    for array_lba in [2, spec.backup_array_lba() as usize] {
        let e1 = array_lba * 512 + 128 + 48;
        disk[e1..e1 + 8].copy_from_slice(&4u64.to_le_bytes());
    }
    fix_array_crc(&mut disk, 512, 1);
    fix_array_crc(&mut disk, 512, spec.last_lba());
    let t = read(disk);
    assert_eq!(t.scheme, Scheme::Gpt);
    assert_eq!(t.sector_size, 512);
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    assert_eq!(t.disk_guid.as_deref(), Some(DISK_GUID));
    assert_eq!(t.mbr_signature, Some(0xDEAD_BEEF));
    assert!(!t.hybrid_mbr);
    assert!(!t.gpt_from_backup);
    assert_eq!(t.first_usable_lba, Some(34));
    assert_eq!(t.last_usable_lba, Some(2014));
    assert_eq!(t.gpt_header_lba, Some(1));
    assert_eq!(t.alternate_header_lba, Some(2047));
    assert_eq!(t.backup_header_lba, Some(2047));
    assert_eq!(t.gpt_entry_count, Some(128));
    assert_eq!(t.gpt_entry_size, Some(128));
    let nums: Vec<u32> = t.partitions.iter().map(|p| p.number).collect();
    assert_eq!(nums, [1, 2, 4]);
    let esp = &t.partitions[0];
    assert_eq!((esp.start_lba, esp.size_lba), (34, 1024));
    assert_eq!((esp.start, esp.size), (34 * 512, 1024 * 512));
    assert_eq!(esp.type_id, ESP);
    assert_eq!(esp.type_name.as_deref(), Some("EFI System"));
    assert_eq!(esp.name.as_deref(), Some("EFI system"));
    assert_eq!(
        esp.guid.as_deref(),
        Some("AAAAAAAA-BBBB-CCCC-DDDD-000000000001")
    );
    assert_eq!(esp.kind, PartitionKind::Gpt);
    assert_eq!(esp.entry_offset, 1024);
    assert!(!esp.bootable);
    let root = &t.partitions[1];
    assert_eq!(root.attributes, 4);
    assert!(root.bootable);
    assert_eq!(root.type_name.as_deref(), Some("Linux filesystem"));
    let swap = &t.partitions[2];
    assert_eq!(swap.name, None);
    assert_eq!(swap.type_name.as_deref(), Some("Linux swap"));
    assert_eq!(swap.entry_offset, 1024 + 3 * 128);
}

#[test]
fn gpt_4096_sectors() {
    let spec = GptSpec::new(
        4096,
        512,
        vec![
            part(0, ESP, 256, 300, "esp"),
            part(1, LINUX_FS, 301, 505, "root"),
        ],
    );
    assert_eq!(spec.first_usable(), 6);
    let t = read(build_gpt(&spec));
    assert_eq!(t.scheme, Scheme::Gpt);
    assert_eq!(t.sector_size, 4096);
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    assert_eq!(t.partitions.len(), 2);
    assert_eq!(t.partitions[0].start, 256 * 4096);
    assert_eq!(t.partitions[0].size, 45 * 4096);
    assert_eq!(t.partitions[1].entry_offset, 2 * 4096 + 128);
    assert_eq!(t.backup_header_lba, Some(511));
}

#[test]
fn gpt_entry_size_256() {
    let mut spec = GptSpec::new(512, 2048, three_parts());
    spec.entry_size = 256;
    spec.num_entries = 64;
    let t = read(build_gpt(&spec));
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    assert_eq!(t.gpt_entry_size, Some(256));
    assert_eq!(t.partitions.len(), 3);
    assert_eq!(t.partitions[2].number, 4);
    assert_eq!(t.partitions[2].entry_offset, 1024 + 3 * 256);
    assert_eq!(t.partitions[1].name.as_deref(), Some("root"));
}

#[test]
fn gpt_entry_size_not_a_power_of_two() {
    let (spec, mut disk) = gpt_512();
    set_header_u32(&mut disk, 512, 1, 84, 200);
    let t = read(disk.clone());
    let a = find(&t, "gpt", "primary header");
    assert_eq!(a.offset, Some(512));
    assert_eq!(
        a.message,
        "partition entry size is 200, expected 128 × 2^n (128, 256, 512, …); partitions listed from the backup header"
    );
    assert!(t.gpt_from_backup);
    set_header_u32(&mut disk, 512, spec.last_lba(), 84, 200);
    let e = read_err(disk);
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.to_string().contains("entry size is 200"), "{e}");
}

#[test]
fn broken_primary_good_backup() {
    let (spec, mut disk) = gpt_512();
    disk[512 + 40] ^= 1; // first usable LBA, CRC now wrong
    let t = read(disk);
    assert_eq!(t.scheme, Scheme::Gpt);
    assert!(t.gpt_from_backup);
    assert_eq!(t.gpt_header_lba, Some(spec.last_lba()));
    assert_eq!(t.alternate_header_lba, Some(1));
    assert_eq!(t.partitions.len(), 3);
    assert_eq!(t.partitions[0].entry_offset, spec.backup_array_lba() * 512);
    let a = find(&t, "gpt", "primary header");
    assert_eq!(a.offset, Some(512));
    assert_eq!(a.kind, ErrorKind::Corrupt);
    assert!(a.message.starts_with("header CRC32 is 0x"), "{}", a.message);
    assert!(a.message.contains("computed 0x"), "{}", a.message);
    assert!(a
        .message
        .ends_with("partitions listed from the backup header"));
    assert_eq!(t.anomalies.len(), 1, "{:#?}", t.anomalies);
}

#[test]
fn wiped_primary_found_through_backup() {
    let (_, mut disk) = gpt_512();
    disk[512..1024].fill(0);
    let t = read(disk);
    assert!(t.gpt_from_backup);
    assert_eq!(t.partitions.len(), 3);
    let a = find(&t, "gpt", "primary header");
    assert!(
        a.message
            .starts_with(r#"signature is "\x00\x00\x00\x00\x00\x00\x00\x00", expected "EFI PART""#),
        "{}",
        a.message
    );
}

#[test]
fn broken_backup_is_an_anomaly() {
    let (spec, mut disk) = gpt_512();
    let last = spec.last_lba();
    set_header_u64(&mut disk, 512, last, 24, 5); // MyLBA wrong, CRC valid
    let t = read(disk);
    assert!(!t.gpt_from_backup);
    assert_eq!(t.partitions.len(), 3);
    assert_eq!(t.backup_header_lba, None);
    let a = find(&t, "gpt", "backup header");
    assert_eq!(a.offset, Some(last * 512));
    assert_eq!(
        a.message,
        "MyLBA is 5, expected 2047 (the LBA it was read from)"
    );
    assert_eq!(t.anomalies.len(), 1);
}

#[test]
fn missing_backup_after_truncation() {
    let (_, mut disk) = gpt_512();
    disk.truncate(1900 * 512 + 512); // 1901 sectors: backup gone, last partition still inside
    let t = read(disk);
    assert_eq!(t.partitions.len(), 3);
    let msgs: Vec<&str> = t.anomalies.iter().map(|a| a.message.as_str()).collect();
    assert_eq!(
        msgs[0],
        "AlternateLBA is 2047, expected the last LBA of the disk 1900: the disk was truncated or the header is wrong"
    );
    assert_eq!(t.anomalies[0].structure, "primary header");
    assert_eq!(t.anomalies[0].offset, Some(512));
    let b = find(&t, "gpt", "backup header");
    assert_eq!(b.offset, Some(1900 * 512));
    assert!(
        b.message.starts_with("backup header missing at LBA 1900"),
        "{}",
        b.message
    );
    // The last usable LBA (2014) now lies past the disk's end.
    let lu = t
        .anomalies
        .iter()
        .find(|a| a.message.starts_with("last usable LBA 2014 lies past"))
        .expect("last usable anomaly");
    assert_eq!(lu.structure, "primary header");
}

#[test]
fn grown_disk_backup_not_at_end() {
    let (_, mut disk) = gpt_512();
    disk.resize(4096 * 512, 0);
    let t = read(disk);
    assert_eq!(t.partitions.len(), 3);
    assert_eq!(t.backup_header_lba, Some(2047));
    let a = find(
        &t,
        "gpt",
        "backup header location (primary header's AlternateLBA)",
    );
    assert_eq!(a.offset, Some(512));
    assert!(
        a.message.starts_with(
            "AlternateLBA is 2047, expected the last LBA of the disk 4095: the disk was grown"
        ),
        "{}",
        a.message
    );
    assert_eq!(t.anomalies.len(), 1, "{:#?}", t.anomalies);
}

#[test]
fn primary_and_backup_disagree() {
    let (spec, mut disk) = gpt_512();
    let last = spec.last_lba();
    // The backup's array loses partition 4.
    let a = (spec.backup_array_lba() * 512) as usize + 3 * 128;
    disk[a..a + 128].fill(0);
    fix_array_crc(&mut disk, 512, last);
    let t = read(disk);
    assert_eq!(t.partitions.len(), 3, "primary wins");
    let a = find(&t, "gpt", "backup header");
    assert_eq!(a.offset, Some(last * 512));
    assert!(
        a.message
            .starts_with("partition entry array CRC32 (array contents) is 0x"),
        "{}",
        a.message
    );
    assert!(a.message.contains("in the backup, 0x"), "{}", a.message);
}

#[test]
fn both_headers_broken_is_an_error_naming_both() {
    let (spec, mut disk) = gpt_512();
    disk[512 + 40] ^= 1;
    let b = (spec.last_lba() * 512) as usize;
    disk[b..b + 8].copy_from_slice(b"EFI PARX");
    let e = read_err(disk);
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    let msg = e.to_string();
    assert!(
        msg.starts_with("gpt: no usable header with 512-byte sectors: primary header at offset 512: header CRC32 is 0x"),
        "{msg}"
    );
    assert!(
        msg.ends_with(
            r#"backup header at offset 1048064: signature is "EFI PARX", expected "EFI PART""#
        ),
        "{msg}"
    );
}

#[test]
fn both_broken_behind_hybrid_mbr_falls_back_to_mbr() {
    let (_, mut disk) = gpt_512();
    mbr_entry(&mut disk, 0, 0, 0, 0xEE, 1, 33);
    mbr_entry(&mut disk, 0, 1, 0x80, 0x0C, 34, 1024);
    disk[512..1024].fill(0);
    let n = disk.len();
    disk[n - 512..].fill(0);
    let t = read(disk);
    assert_eq!(t.scheme, Scheme::Mbr);
    assert_eq!(t.partitions.len(), 2);
    assert_eq!(
        t.partitions[1].type_name.as_deref(),
        Some("W95 FAT32 (LBA)")
    );
    let a = find(&t, "gpt", "primary header");
    assert!(a.message.contains("no usable header"), "{}", a.message);
}

#[test]
fn entry_array_crc_bad() {
    let (spec, mut disk) = gpt_512();
    disk[2 * 512 + 128 + 60] ^= 0x20; // a name byte of partition 2, primary array only
    let t = read(disk.clone());
    assert!(t.gpt_from_backup);
    assert_eq!(t.partitions[1].name.as_deref(), Some("root"));
    let a = find(&t, "gpt", "primary partition entry array");
    assert_eq!(a.offset, Some(1024));
    assert!(
        a.message
            .starts_with("CRC32 recorded in the primary header is 0x"),
        "{}",
        a.message
    );
    assert!(
        a.message.contains("over 128 entries of 128 bytes"),
        "{}",
        a.message
    );
    // Same damage in the backup array too: nothing usable.
    let b = (spec.backup_array_lba() * 512) as usize + 128 + 60;
    disk[b] ^= 0x20;
    let e = read_err(disk);
    assert!(e.to_string().contains("backup header at offset"), "{e}");
}

#[test]
fn entry_count_absurd_hits_the_limit() {
    let (spec, mut disk) = gpt_512();
    set_header_u32(&mut disk, 512, 1, 80, 4_000_000);
    let t = read(disk.clone());
    assert!(t.gpt_from_backup);
    let a = find(&t, "gpt", "primary header");
    assert_eq!(a.kind, ErrorKind::LimitExceeded);
    assert!(
        a.message
            .starts_with("partition entry count is 4000000, above the limit of 16384"),
        "{}",
        a.message
    );
    set_header_u32(&mut disk, 512, spec.last_lba(), 80, u32::MAX);
    let e = read_err(disk.clone());
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    // A small max_table_bytes bounds the array size too.
    let (_, disk) = gpt_512();
    let limits = Limits {
        max_table_bytes: 4096,
        ..Limits::default()
    };
    let e = read_partition_table(&MemSource::new(disk), &limits).unwrap_err();
    assert!(
        e.to_string()
            .contains("partition entry array size in bytes is 16384, above the limit of 4096"),
        "{e}"
    );
}

#[test]
fn header_size_absurd() {
    let (spec, mut disk) = gpt_512();
    set_header_u32(&mut disk, 512, 1, 12, 0xFFFF_0000);
    set_header_u32(&mut disk, 512, spec.last_lba(), 12, 91);
    let e = read_err(disk);
    let msg = e.to_string();
    assert!(
        msg.contains("primary header at offset 512: header size is 4294901760, expected 92..=512 (the sector size)"),
        "{msg}"
    );
    assert!(
        msg.contains("header size is 91, expected 92..=512"),
        "{msg}"
    );
}

#[test]
fn gpt_partition_past_end_of_disk_and_overflow() {
    let mut parts = three_parts();
    parts.push(part(4, LINUX_FS, 1950, 9000, "too big"));
    parts.push(part(
        5,
        LINUX_FS,
        u64::MAX / 256,
        u64::MAX / 256 + 10,
        "overflow",
    ));
    parts.push(part(6, LINUX_FS, 500, 400, "backwards"));
    let t = read(build_gpt(&GptSpec::new(512, 2048, parts)));
    assert_eq!(t.partitions.len(), 4);
    let big = t.partitions.iter().find(|p| p.number == 5).unwrap();
    assert!(big.beyond_disk_end);
    let disk: Arc<dyn BlockSource> = Arc::new(MemSource::new(vec![0u8; 2048 * 512]));
    assert!(big.source(disk.clone()).is_err());
    assert!(t.partitions[0].source(disk).is_ok());
    let msgs: Vec<&str> = t
        .anomalies
        .iter()
        .filter(|a| a.structure == "partition 5")
        .map(|a| a.message.as_str())
        .collect();
    assert_eq!(
        msgs,
        [
            "LBAs 1950..=9000 lie outside the usable LBAs 34..=2014",
            "sectors 1950..=9000 extend past the last sector of the disk 2047 (2048 sectors): partition kept but truncated image or wrong table",
        ]
    );
    let ov = find(&t, "gpt", "partition 6");
    assert_eq!(ov.offset, Some(1024 + 5 * 128));
    assert!(
        ov.message
            .starts_with("starting LBA 72057594037927935 × 512-byte sectors overflows"),
        "{}",
        ov.message
    );
    let bw = find(&t, "gpt", "partition 7");
    assert_eq!(
        bw.message,
        "ending LBA 400 is before starting LBA 500: entry ignored"
    );
}

#[test]
fn gpt_overlapping_partitions() {
    let mut parts = three_parts();
    parts[1].start = 1000; // overlaps the ESP (34..=1057)
    let t = read(build_gpt(&GptSpec::new(512, 2048, parts)));
    let a = find(&t, "gpt", "partition 2");
    assert_eq!(a.offset, Some(1024 + 128));
    assert_eq!(
        a.message,
        "sectors 1000..=1800 overlap partition 1 (sectors 34..=1057)"
    );
}

#[test]
fn hybrid_mbr_is_a_fact_not_an_anomaly() {
    let (_, mut disk) = gpt_512();
    mbr_entry(&mut disk, 0, 0, 0, 0xEE, 1, 33);
    mbr_entry(&mut disk, 0, 1, 0x80, 0xEF, 34, 1024);
    mbr_entry(&mut disk, 0, 2, 0, 0x83, 1058, 743);
    let t = read(disk);
    assert_eq!(t.scheme, Scheme::Gpt);
    assert!(t.hybrid_mbr);
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    assert_eq!(t.partitions.len(), 3);
}

#[test]
fn gpt_without_protective_mbr() {
    let (_, mut disk) = gpt_512();
    disk[..512].fill(0);
    let t = read(disk);
    assert_eq!(t.scheme, Scheme::Gpt);
    let a = find(&t, "mbr", "protective MBR");
    assert_eq!(a.offset, Some(0));
    assert_eq!(
        a.message,
        "no MBR boot signature (55 aa at offset 510, found 00 00) although the disk has a GPT"
    );
    assert_eq!(t.partitions.len(), 3);
}

#[test]
fn stale_gpt_behind_a_real_mbr_is_ignored() {
    let (_, mut disk) = gpt_512();
    disk[446..510].fill(0);
    mbr_entry(&mut disk, 0, 0, 0x80, 0x83, 2048 - 1000, 900);
    let t = read(disk);
    assert_eq!(t.scheme, Scheme::Mbr);
    assert_eq!(t.partitions.len(), 1);
    let a = find(&t, "gpt", "primary header");
    assert!(
        a.message
            .contains("no 0xee protective entry: the GPT is ignored"),
        "{}",
        a.message
    );
}

#[test]
fn protective_entry_not_at_lba_1() {
    let (_, mut disk) = gpt_512();
    mbr_entry(&mut disk, 0, 0, 0, 0xEE, 2, 2046);
    let t = read(disk);
    let a = find(&t, "mbr", "partition 1");
    assert_eq!(a.offset, Some(446));
    assert_eq!(
        a.message,
        "protective 0xee entry starts at LBA 2, expected 1"
    );
}

/// An MBR disk of `sectors` sectors with 2 primaries (slots 1, 2), an extended partition in
/// slot 3 at `ext` of `ext_len` sectors, and logical partitions at the given (ebr, start, size)
/// triples — the EBR LBAs are absolute, starts relative to the EBR.
fn mbr_disk(sectors: usize, ext: u32, ext_len: u32, logicals: &[(u32, u32, u32)]) -> Vec<u8> {
    let mut d = vec![0u8; sectors * 512];
    d[440..444].copy_from_slice(&0x1234_5678u32.to_le_bytes());
    mbr_entry(&mut d, 0, 0, 0x80, 0x83, 2048, 2048);
    mbr_entry(&mut d, 0, 1, 0, 0x82, 4096, 1024);
    mbr_entry(&mut d, 0, 2, 0, 0x05, ext, ext_len);
    for (i, &(ebr, start, size)) in logicals.iter().enumerate() {
        let off = ebr as usize * 512;
        mbr_entry(&mut d, off, 0, 0, 0x83, start, size);
        if let Some(&(next, _, _)) = logicals.get(i + 1) {
            mbr_entry(&mut d, off, 1, 0, 0x05, next - ext, 2048);
        }
    }
    d
}

fn standard_mbr() -> Vec<u8> {
    mbr_disk(
        16384,
        6144,
        8192,
        &[(6144, 2048, 1024), (8192, 2048, 1024), (10240, 2048, 2048)],
    )
}

#[test]
fn mbr_primaries_extended_and_logicals() {
    let t = read(standard_mbr());
    assert_eq!(t.scheme, Scheme::Mbr);
    assert_eq!(t.sector_size, 512);
    assert_eq!(t.mbr_signature, Some(0x1234_5678));
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    let rows: Vec<(u32, u64, u64, &str, PartitionKind)> = t
        .partitions
        .iter()
        .map(|p| {
            (
                p.number,
                p.start_lba,
                p.size_lba,
                p.type_id.as_str(),
                p.kind,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, 2048, 2048, "0x83", PartitionKind::Primary),
            (2, 4096, 1024, "0x82", PartitionKind::Primary),
            (3, 6144, 8192, "0x05", PartitionKind::Extended),
            (5, 8192, 1024, "0x83", PartitionKind::Logical),
            (6, 10240, 1024, "0x83", PartitionKind::Logical),
            (7, 12288, 2048, "0x83", PartitionKind::Logical),
        ]
    );
    assert!(t.partitions[0].bootable);
    assert!(!t.partitions[1].bootable);
    assert_eq!(t.partitions[1].type_name.as_deref(), Some("Linux swap"));
    assert_eq!(t.partitions[2].type_name.as_deref(), Some("Extended"));
    assert_eq!(t.partitions[3].start, 8192 * 512);
    assert_eq!(t.partitions[3].entry_offset, 6144 * 512 + 446);
    assert_eq!(t.partitions[4].entry_offset, 8192 * 512 + 446);
    assert_eq!(t.disk_guid, None);
    assert_eq!(t.first_usable_lba, None);
}

#[test]
fn mbr_partition_reads_its_bytes() {
    let mut d = standard_mbr();
    d[8192 * 512..8192 * 512 + 4].copy_from_slice(b"LOG5");
    let disk: Arc<dyn BlockSource> = Arc::new(MemSource::new(d));
    let t = read_partition_table(disk.as_ref(), &Limits::default()).unwrap();
    let src = t.partitions[3].source(disk).unwrap();
    assert_eq!(src.len(), 1024 * 512);
    let mut b = [0u8; 4];
    src.read_exact_at(&mut b, 0).unwrap();
    assert_eq!(&b, b"LOG5");
}

#[test]
fn ebr_pointing_at_itself_stops() {
    // The first EBR's link points back to the extended start (relative 0): itself.
    let mut d = mbr_disk(16384, 6144, 8192, &[(6144, 2048, 1024)]);
    mbr_entry(&mut d, 6144 * 512, 1, 0, 0x05, 0, 2048);
    let t = read(d);
    let logicals = t
        .partitions
        .iter()
        .filter(|p| p.kind == PartitionKind::Logical)
        .count();
    assert_eq!(logicals, 1);
    let a = find(&t, "mbr", "extended boot record");
    assert_eq!(a.offset, Some(6144 * 512));
    assert_eq!(a.kind, ErrorKind::Corrupt);
    assert_eq!(
        a.message,
        "EBR chain loops back to LBA 6144, already read: the chain stops here"
    );
}

#[test]
fn ebr_two_cycle_stops() {
    let mut d = standard_mbr();
    // Third EBR links back to the second.
    mbr_entry(&mut d, 10240 * 512, 1, 0, 0x05, 8192 - 6144, 2048);
    let t = read(d);
    assert_eq!(t.partitions.len(), 6);
    let a = find(&t, "mbr", "extended boot record");
    assert_eq!(a.offset, Some(8192 * 512));
    assert!(a.message.starts_with("EBR chain loops back to LBA 8192"));
}

#[test]
fn ebr_chain_longer_than_the_limit() {
    let chain: Vec<(u32, u32, u32)> = (0..6).map(|i| (6144 + i * 1024, 1, 1000)).collect();
    let d = mbr_disk(16384, 6144, 8192, &chain);
    let limits = Limits {
        max_ebr_chain: 4,
        ..Limits::default()
    };
    let t = read_partition_table(&MemSource::new(d.clone()), &limits).unwrap();
    let logicals: Vec<u32> = t
        .partitions
        .iter()
        .filter(|p| p.kind == PartitionKind::Logical)
        .map(|p| p.number)
        .collect();
    assert_eq!(logicals, [5, 6, 7, 8]);
    let a = find(&t, "mbr", "extended boot record");
    assert_eq!(a.kind, ErrorKind::LimitExceeded);
    assert_eq!(a.offset, Some((6144 + 4 * 1024) * 512));
    assert_eq!(
        a.message,
        "extended partition 3 chain is longer than the limit of 4 EBRs: the rest is ignored"
    );
    // The default limit lists all six.
    assert_eq!(read(d).partitions.len(), 3 + 6);
}

#[test]
fn logical_lba_sums_beyond_32_bits() {
    // A 2.5 TiB sparse disk: extended partition near the top of the 32-bit range.
    let len = 5u64 << 39;
    let mut disk = SparseDisk::new(len);
    let mut s0 = vec![0u8; 512];
    let ext: u32 = 0xFFFF_F000;
    mbr_entry(&mut s0, 0, 0, 0, 0x0F, ext, 0x0FFF);
    disk.write(0, &s0);
    let mut ebr = vec![0u8; 512];
    // Logical: EBR LBA + 0x2000 exceeds 2^32 − 1; link: extended start + 0xFFFF_FFFF too.
    mbr_entry(&mut ebr, 0, 0, 0, 0x83, 0x2000, u32::MAX);
    mbr_entry(&mut ebr, 0, 1, 0, 0x05, u32::MAX, 1);
    disk.write(u64::from(ext) * 512, &ebr);
    let t = read_partition_table(&disk, &Limits::default()).unwrap();
    let l = t.partitions.iter().find(|p| p.number == 5).unwrap();
    assert_eq!(l.start_lba, u64::from(ext) + 0x2000);
    assert_eq!(l.size_lba, u64::from(u32::MAX));
    assert!(l.beyond_disk_end);
    let msgs: Vec<&str> = t
        .anomalies
        .iter()
        .filter(|a| a.structure == "partition 5")
        .map(|a| a.message.as_str())
        .collect();
    assert_eq!(msgs[0], "sectors 4294971392..=8589938686 go beyond the 32-bit LBA range of an MBR (last addressable LBA 4294967295)");
    assert!(
        msgs[1].contains("extend past the last sector of the disk"),
        "{msgs:?}"
    );
    assert!(
        msgs[2].starts_with(
            "logical partition sectors 4294971392..=8589938686 lie outside extended partition 1"
        ),
        "{msgs:?}"
    );
    let link = t
        .anomalies
        .iter()
        .find(|a| a.message.starts_with("next EBR at LBA 8589930495"))
        .expect("link anomaly");
    assert_eq!(link.structure, "extended boot record");
    assert_eq!(link.offset, Some(u64::from(ext) * 512 + 446 + 16));
    // The chain went on to read LBA 8589930495 (past the disk's end) and stopped there.
    assert!(t.anomalies.iter().any(|a| a
        .message
        .starts_with("cannot read it: read of 512 bytes at offset 4398044413440")));
    assert!(*disk.reads.lock().unwrap() < 20);
}

#[test]
fn primary_entry_at_the_32_bit_edge() {
    let mut d = vec![0u8; 1 << 20];
    mbr_entry(&mut d, 0, 0, 0, 0x83, u32::MAX, u32::MAX);
    let t = read(d);
    let p = &t.partitions[0];
    assert_eq!(p.start, u64::from(u32::MAX) * 512);
    assert_eq!(p.size, u64::from(u32::MAX) * 512);
    assert!(p.beyond_disk_end);
    let msgs: Vec<(&str, Option<u64>)> = t
        .anomalies
        .iter()
        .map(|a| (a.structure.as_str(), a.offset))
        .collect();
    assert_eq!(
        msgs,
        [("partition 1", Some(446)), ("partition 1", Some(446))]
    );
    assert!(t.anomalies[0]
        .message
        .contains("beyond the 32-bit LBA range"));
    assert!(t.anomalies[1]
        .message
        .contains("past the last sector of the disk 2047"));
}

#[test]
fn mbr_overlap_and_bad_status() {
    let mut d = vec![0u8; 8192 * 512];
    mbr_entry(&mut d, 0, 0, 0x80, 0x83, 2048, 2048);
    mbr_entry(&mut d, 0, 1, 0x13, 0x07, 3000, 1000);
    let t = read(d);
    let msgs: Vec<&str> = t
        .anomalies
        .iter()
        .filter(|a| a.structure == "partition 2" && a.offset == Some(446 + 16))
        .map(|a| a.message.as_str())
        .collect();
    assert_eq!(
        msgs,
        [
            "status byte is 0x13, expected 0x00 or 0x80",
            "sectors 3000..=3999 overlap partition 1 (sectors 2048..=4095)",
        ]
    );
}

#[test]
fn empty_extended_partition_is_quiet() {
    let mut d = vec![0u8; 8192 * 512];
    mbr_entry(&mut d, 0, 0, 0, 0x83, 2048, 2048);
    mbr_entry(&mut d, 0, 1, 0, 0x0F, 4096, 4096);
    let t = read(d);
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    assert_eq!(t.partitions.len(), 2);
    assert_eq!(
        t.partitions[1].type_name.as_deref(),
        Some("W95 Ext'd (LBA)")
    );
}

fn fat32_boot_sector() -> Vec<u8> {
    let mut s = vec![0u8; 512];
    s[..3].copy_from_slice(&[0xEB, 0x58, 0x90]);
    s[3..11].copy_from_slice(b"MSDOS5.0");
    s[11..13].copy_from_slice(&512u16.to_le_bytes());
    s[13] = 8;
    s[14..16].copy_from_slice(&32u16.to_le_bytes());
    s[16] = 2;
    s[21] = 0xF8;
    s[0x52..0x5A].copy_from_slice(b"FAT32   ");
    s[510] = 0x55;
    s[511] = 0xAA;
    s
}

#[test]
fn fat_superfloppy_is_no_table() {
    let mut d = vec![0u8; 4096 * 512];
    d[..512].copy_from_slice(&fat32_boot_sector());
    let t = read(d.clone());
    assert_eq!(t.scheme, Scheme::None);
    assert!(t.partitions.is_empty());
    assert!(t.anomalies.is_empty());
    assert_eq!(t.mbr_signature, None);
    // Boot code that happens to look like partition entries: still a filesystem, with a note.
    mbr_entry(&mut d, 0, 0, 0, 0x0C, 63, 4000);
    let t = read(d);
    assert_eq!(t.scheme, Scheme::None);
    let a = find(&t, "mbr", "master boot record");
    assert!(
        a.message.starts_with("LBA 0 is a fat boot sector"),
        "{}",
        a.message
    );
}

#[test]
fn ntfs_superfloppy_is_no_table() {
    let mut d = vec![0u8; 4096 * 512];
    d[..3].copy_from_slice(&[0xEB, 0x52, 0x90]);
    d[3..11].copy_from_slice(b"NTFS    ");
    d[11..13].copy_from_slice(&512u16.to_le_bytes());
    d[510] = 0x55;
    d[511] = 0xAA;
    // NTFS boot code fills the partition-table area with non-table bytes.
    d[446..510].fill(0x33);
    let t = read(d);
    assert_eq!(t.scheme, Scheme::None);
    assert!(t.anomalies.is_empty());
}

#[test]
fn empty_and_tiny_disks_have_no_table() {
    for len in [0usize, 100, 512, 1 << 20] {
        let t = read(vec![0u8; len]);
        assert_eq!(t.scheme, Scheme::None, "len {len}");
        assert!(t.partitions.is_empty());
        assert!(t.anomalies.is_empty());
        assert_eq!(t.disk_size, len as u64);
    }
    // 55 AA with no entries: an empty MBR.
    let mut d = vec![0u8; 1 << 20];
    d[510] = 0x55;
    d[511] = 0xAA;
    let t = read(d);
    assert_eq!(t.scheme, Scheme::Mbr);
    assert!(t.partitions.is_empty());
}

#[test]
fn read_failure_is_an_io_error() {
    let e = read_partition_table(&FailingDisk(1 << 20), &Limits::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(
        e.to_string(),
        "mbr: cannot read master boot record at offset 0"
    );
}

#[test]
fn json_shape() {
    let t = read(standard_mbr());
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["scheme"], "mbr");
    assert_eq!(v["sector_size"], 512);
    assert_eq!(v["partitions"][3]["kind"], "logical");
    assert_eq!(v["partitions"][3]["type_id"], "0x83");
    assert_eq!(v["partitions"][2]["kind"], "extended");
    assert_eq!(v["partitions"][0]["kind"], "primary");
    let (_, g) = gpt_512();
    let v = serde_json::to_value(read(g)).unwrap();
    assert_eq!(v["scheme"], "gpt");
    assert_eq!(v["disk_guid"], DISK_GUID);
    assert_eq!(v["partitions"][0]["kind"], "gpt");
    assert_eq!(v["partitions"][0]["name"], "EFI system");
    let v = serde_json::to_value(read(vec![0u8; 4096])).unwrap();
    assert_eq!(v["scheme"], "none");
    assert_eq!(v["partitions"], serde_json::json!([]));
}

/// Flip bytes of valid GPT and MBR disks with a fixed-seed generator: never a panic, and every
/// partition not flagged as past the end of the disk can be opened.
#[test]
fn byte_flips_never_panic() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (_, gpt) = gpt_512();
    let bases = [gpt, standard_mbr()];
    let mut outcomes = [0u32; 2];
    for base in &bases {
        // Flips concentrated on the metadata: sector 0..=2, the entry array, EBRs, the end.
        let hot: Vec<usize> = (0..3 * 512)
            .chain(6144 * 512..6144 * 512 + 512)
            .chain(8192 * 512..8192 * 512 + 512)
            .chain(base.len() - 512..base.len())
            .filter(|&o| o < base.len())
            .collect();
        for _ in 0..400 {
            let mut d = base.clone();
            for _ in 0..(1 + next() % 8) {
                let o = hot[(next() % hot.len() as u64) as usize];
                d[o] = next() as u8;
            }
            let disk: Arc<dyn BlockSource> = Arc::new(MemSource::new(d));
            match read_partition_table(disk.as_ref(), &Limits::default()) {
                Ok(t) => {
                    outcomes[0] += 1;
                    for p in &t.partitions {
                        assert_eq!(p.source(disk.clone()).is_ok(), !p.beyond_disk_end, "{p:?}");
                    }
                }
                Err(e) => {
                    outcomes[1] += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }
    assert!(outcomes[0] > 0);
}
