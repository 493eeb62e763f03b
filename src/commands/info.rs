//! `imgcheck info`: the container and its partitions, like `qemu-img info` and `mmls` together.

use crate::output::outln;
use crate::output::{escape_text, human_size};
use crate::ImageArgs;
use imgcheck_container::{ImageFacts, VirtualDisk};
use imgcheck_core::Anomaly;
use imgcheck_volume::{Partition, PartitionTable};
use serde_json::{json, Value};

/// Run the command.
pub fn run(args: &ImageArgs, as_json: bool) -> anyhow::Result<u8> {
    let disk = super::open_disk(args)?;
    // A partition table that cannot be read does not stop `info`: it becomes an anomaly.
    let (table, table_err) = match super::partitions(&disk) {
        Ok(t) => (Some(t), None),
        Err(e) => (None, Some(crate::output::error_chain(&e))),
    };
    if as_json {
        let v = to_json(args, &disk, table.as_ref(), table_err.as_deref());
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_text(args, &disk, table.as_ref(), table_err.as_deref());
    }
    Ok(0)
}

/// The JSON document of `info --json`.
pub fn to_json(
    args: &ImageArgs,
    disk: &VirtualDisk,
    table: Option<&PartitionTable>,
    table_err: Option<&str>,
) -> Value {
    let f = &disk.facts;
    let mut anomalies: Vec<Value> = disk.anomalies.iter().map(anomaly_json).collect();
    if let Some(t) = table {
        anomalies.extend(t.anomalies.iter().map(anomaly_json));
    }
    if let Some(e) = table_err {
        anomalies.push(json!({"layer": "volume", "structure": "partition table",
            "offset": null, "kind": "corrupt", "message": e}));
    }
    json!({
        "path": args.image.display().to_string(),
        "format": f.format.to_string(),
        "qemu_format": f.format.qemu_name(),
        "virtual_size": f.virtual_size,
        "image": f,
        "anomalies": anomalies,
        "partition_table": table.map(table_json),
    })
}

fn anomaly_json(a: &Anomaly) -> Value {
    serde_json::to_value(a).unwrap_or(Value::Null)
}

fn table_json(t: &PartitionTable) -> Value {
    json!({
        "scheme": t.scheme,
        "sector_size": t.sector_size,
        "disk_guid": t.disk_guid,
        "mbr_signature": t.mbr_signature.map(|s| format!("0x{s:08x}")),
        "hybrid_mbr": t.hybrid_mbr,
        "partitions": t.partitions.iter().map(partition_json).collect::<Vec<_>>(),
    })
}

fn partition_json(p: &Partition) -> Value {
    json!({
        "number": p.number,
        "start": p.start,
        "size": p.size,
        "start_lba": p.start_lba,
        "size_lba": p.size_lba,
        "type": p.type_id,
        "type_name": p.type_name,
        "name": p.name,
        "guid": p.guid,
        "attributes": p.attributes,
        "bootable": p.bootable,
        "kind": p.kind,
    })
}

fn print_text(
    args: &ImageArgs,
    disk: &VirtualDisk,
    table: Option<&PartitionTable>,
    table_err: Option<&str>,
) {
    let f = &disk.facts;
    outln!("image: {}", escape_text(&args.image.display().to_string()));
    outln!("format: {}", format_line(f));
    outln!(
        "virtual size: {} ({} bytes)",
        human_size(f.virtual_size),
        f.virtual_size
    );
    outln!(
        "file size: {} ({} bytes)",
        human_size(f.file_size),
        f.file_size
    );
    if let Some(a) = f.allocated_bytes {
        outln!("allocated: {} ({} bytes)", human_size(a), a);
    }
    if let Some(c) = f.cluster_size {
        outln!("cluster size: {c}");
    }
    if let Some(c) = &f.compression {
        outln!("compression: {c}");
    }
    if let Some(b) = &f.backing {
        let fmt = b
            .format
            .as_deref()
            .map(|x| format!(" ({x})"))
            .unwrap_or_default();
        let how = if b.followed {
            "followed"
        } else {
            "not followed (use --follow-backing)"
        };
        outln!("backing file: {}{fmt}, {how}", escape_text(&b.reference));
    }
    outln!(
        "dirty: {}   corrupt: {}",
        if f.dirty { "yes" } else { "no" },
        if f.corrupt { "yes" } else { "no" }
    );
    for (k, v) in &f.details {
        outln!("{k}: {}", escape_text(v));
    }
    match table {
        Some(t) => print_table(t),
        None => outln!("partition table: unreadable"),
    }
    let mut all: Vec<String> = disk.anomalies.iter().map(ToString::to_string).collect();
    if let Some(t) = table {
        all.extend(t.anomalies.iter().map(ToString::to_string));
    }
    if let Some(e) = table_err {
        all.push(format!("volume: partition table: {e}"));
    }
    if !all.is_empty() {
        outln!("anomalies ({}):", all.len());
        for a in all {
            outln!("  - {}", escape_text(&a));
        }
    }
}

fn format_line(f: &ImageFacts) -> String {
    let mut extra = Vec::new();
    if let Some(s) = &f.subformat {
        extra.push(s.clone());
    }
    if let Some(v) = &f.version {
        extra.push(format!("version {v}"));
    }
    if extra.is_empty() {
        f.format.to_string()
    } else {
        format!("{} ({})", f.format, extra.join(", "))
    }
}

fn print_table(t: &PartitionTable) {
    let scheme = serde_json::to_value(t.scheme)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    print!("partition table: {scheme}, sector size {}", t.sector_size);
    if let Some(g) = &t.disk_guid {
        print!(", disk GUID {g}");
    }
    if let Some(s) = t.mbr_signature {
        print!(", MBR signature 0x{s:08x}");
    }
    if t.hybrid_mbr {
        print!(", hybrid MBR");
    }
    outln!();
    if t.partitions.is_empty() {
        outln!("  (no partitions: the whole disk is one volume)");
        return;
    }
    outln!(
        "  {:>3}  {:>14}  {:>14}  {:>10}  {:<30}  name",
        "#",
        "start",
        "end",
        "size",
        "type"
    );
    for p in &t.partitions {
        let end = p.start.saturating_add(p.size).saturating_sub(1);
        let ty = match &p.type_name {
            Some(n) => format!("{n} ({})", p.type_id),
            None => p.type_id.clone(),
        };
        let mut name = p.name.clone().unwrap_or_default();
        if p.bootable {
            name.push_str(if name.is_empty() { "[boot]" } else { " [boot]" });
        }
        outln!(
            "  {:>3}  {:>14}  {:>14}  {:>10}  {:<30}  {}",
            p.number,
            p.start,
            end,
            human_size(p.size),
            escape_text(&ty),
            escape_text(&name)
        );
    }
}
