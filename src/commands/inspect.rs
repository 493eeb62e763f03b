//! `imgcheck inspect`: what the image holds — volumes, filesystems, the guest OS and its mounts —
//! without mounting anything.

use crate::engine::{self, Analysis};
use crate::output::outln;
use crate::output::{escape_text, human_size};
use crate::stats::StatsRun;
use crate::ImageArgs;
use imgcheck_checks::facts::VolumeContent;
use imgcheck_inspect::Resolution;
use serde_json::{json, Value};

/// Run the command.
pub fn run(args: &ImageArgs, as_json: bool, stats: bool) -> anyhow::Result<u8> {
    let run = StatsRun::start();
    let a = engine::analyse(args)?;
    let rendering = std::time::Instant::now();
    let v = to_json(&a);
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_text(&a);
    }
    if stats {
        let stages = crate::stats::stages(&a.timings, &[("report", rendering.elapsed())]);
        eprint!(
            "{}",
            run.render(&stages, super::check::host_bytes(&args.image))
        );
    }
    Ok(0)
}

/// The JSON document of `inspect --json`.
pub fn to_json(a: &Analysis) -> Value {
    let windows = a.windows.as_ref().map(|(vol, w)| {
        let mut v = serde_json::to_value(w).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("type".into(), json!("windows"));
            m.insert("root_volume".into(), json!(vol));
        }
        v
    });
    let guest = a.guest.as_ref().map(|(asm, l)| {
        // Every Linux fact (distribution, kernels and initramfs, boot loader, network, services,
        // packages, agents, system settings), plus the assembly.
        let mut v = serde_json::to_value(l).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("type".into(), json!("linux"));
            m.insert("root_volume".into(), json!(asm.root_volume));
            m.insert("fstab_present".into(), json!(asm.fstab_present));
            m.insert("fstab".into(), json!(asm.mounts));
            m.insert("fstab_problems".into(), json!(asm.fstab.problems));
            m.insert(
                "roles".into(),
                asm.roles
                    .iter()
                    .map(|(v, r)| json!({"volume": v, "role": r}))
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        v
    });
    json!({
        "image": {
            "format": a.facts.image.format,
            "virtual_size": a.facts.image.virtual_size,
        },
        "volumes": a.facts.volumes,
        "md_arrays": a.md_arrays,
        "lvm": a.lvm.as_ref().map(|l| &l.vgs),
        "roots_found": a.roots,
        "os": os_list(a),
        "guest": guest.or(windows),
        "anomalies": a.facts.anomalies,
    })
}

/// One entry per operating-system root found (Linux roots first, in the order they were found,
/// then Windows roots): the summary virt-inspector gives (type, distribution, version, product,
/// arch, hostname, root, mount points, kernels with their initramfs modules, boot loader,
/// firmware, packages, cloud-init, network). `guest` holds every fact of the first root.
fn os_list(a: &Analysis) -> Vec<Value> {
    let linux = a.guest.iter().chain(a.more_linux.iter());
    let windows = a.windows.iter().chain(a.more_windows.iter());
    linux
        .map(|(asm, l)| linux_os(a, asm, l))
        .chain(windows.map(|(vol, w)| windows_os(vol, w)))
        .collect()
}

/// The filesystem type and UUID of volume `id`, as the volume layer found them.
fn volume_fs<'a>(a: &'a Analysis, id: &str) -> (Option<&'a str>, Option<&'a str>) {
    a.facts
        .volumes
        .iter()
        .find(|v| v.id == id)
        .map(|v| match &v.content {
            VolumeContent::Filesystem(f) => (Some(f.fs_type.as_str()), f.uuid.as_deref()),
            VolumeContent::Swap { uuid, .. } => (Some("swap"), uuid.as_deref()),
            _ => (None, None),
        })
        .unwrap_or((None, None))
}

fn linux_os(
    a: &Analysis,
    asm: &imgcheck_inspect::Assembly,
    l: &imgcheck_inspect::linux::LinuxFacts,
) -> Value {
    let mut mountpoints: Vec<Value> = Vec::new();
    if !asm.mounts.iter().any(|m| m.entry.mount_point == "/") {
        // No fstab line for `/`: the root is where the guest was found.
        let (fs_type, uuid) = volume_fs(a, &asm.root_volume);
        mountpoints.push(json!({
            "mountpoint": "/", "volume": asm.root_volume, "fs_type": fs_type, "uuid": uuid,
            "device": null, "resolved": true,
        }));
    }
    for m in &asm.mounts {
        let e = &m.entry;
        let v = match &m.resolution {
            Resolution::Resolved { volume } => {
                let (fs_type, uuid) = volume_fs(a, volume);
                json!({
                    "mountpoint": e.mount_point, "volume": volume,
                    "fs_type": fs_type.unwrap_or(e.fs_type.as_str()), "uuid": uuid,
                    "device": e.spec_raw, "resolved": true,
                })
            }
            Resolution::Unresolved { reason } => json!({
                "mountpoint": e.mount_point, "volume": null, "fs_type": e.fs_type, "uuid": null,
                "device": e.spec_raw, "resolved": false, "reason": reason,
            }),
            // proc, tmpfs, network filesystems: not volumes of the image.
            Resolution::NotADevice => continue,
        };
        mountpoints.push(v);
    }
    let kernels: Vec<Value> = l
        .kernels
        .iter()
        .map(|k| {
            let s = k.initrd_summary.as_ref();
            json!({
                "version": k.version,
                "default": k.default,
                "image": k.image,
                "initramfs": k.initrd,
                "initramfs_complete": s.map(|s| s.complete),
                "initramfs_error": s.and_then(|s| s.error.as_deref()),
                "initramfs_modules": s.map(|s| s.modules.as_slice()).unwrap_or_default(),
                "drivers": k.drivers,
            })
        })
        .collect();
    let b = &l.boot;
    let bootloader = json!({
        "kind": b.loader,
        "config": b.config_path,
        "default_entry": b.default_entry.as_ref().map(|e| json!({
            "title": e.title,
            "kernel": e.kernel,
            "version": e.version,
            "initrd": e.initrd,
            "cmdline": e.cmdline,
            "source": e.source,
            "line": e.line,
        })),
    });
    let ci = &l.agents.cloud_init;
    json!({
        "type": "linux",
        "distro": l.distro,
        "version": l.version,
        "codename": l.codename,
        "product_name": l.pretty_name,
        "arch": l.arch,
        "hostname": l.hostname,
        "root": asm.root_volume,
        "mountpoints": mountpoints,
        "kernels": kernels,
        "bootloader": bootloader,
        "firmware": l.firmware.firmware,
        "package_format": l.packages.format,
        "packages": l.packages.list.len(),
        "cloud_init": {
            "present": ci.binary.is_some() || ci.version.is_some(),
            "version": ci.version,
            "datasources": ci.datasource_list,
            "disabled": ci.disabled_file,
        },
        "network": l.network.interfaces,
        "agents": linux_agents(l),
        "timezone": l.timezone.as_ref().map(|t| &t.zone),
    })
}

/// The guest agents and other hypervisors' or clouds' tools present, by name.
fn linux_agents(l: &imgcheck_inspect::linux::LinuxFacts) -> Vec<String> {
    let a = &l.agents;
    let mut out = Vec::new();
    if a.cloud_init.binary.is_some() || a.cloud_init.version.is_some() {
        out.push("cloud-init".to_string());
    }
    for (name, agent) in [
        ("aliyun-assist", &a.cloud_assistant),
        ("aegis", &a.security_center),
        ("qemu-guest-agent", &a.qemu_guest_agent),
    ] {
        if agent.present {
            out.push(name.to_string());
        }
    }
    out.extend(
        a.other_hypervisor_tools
            .iter()
            .chain(a.cloud_agents.iter())
            .filter(|(_, x)| x.present)
            .map(|(n, _)| n.clone()),
    );
    out
}

fn windows_os(vol: &str, w: &imgcheck_inspect::windows::WindowsFacts) -> Value {
    json!({
        "type": "windows",
        "product_name": w.product_name,
        "release": w.release,
        "edition": w.edition_id,
        "installation_type": w.installation_type,
        "version": match (w.major_version, w.minor_version) {
            (Some(ma), Some(mi)) => Some(format!("{ma}.{mi}")),
            _ => None,
        },
        "build": w.build,
        "ubr": w.ubr,
        "display_version": w.display_version,
        "arch": w.arch,
        "hostname": w.hostname,
        "root": vol,
        "systemroot": w.system_root,
        "drive_letters": w.drive_letters,
        "drivers": w.drivers,
        "services": w.services.len(),
        "hotfixes": w.hotfixes,
        "driver_packages": w.driver_database.packages.iter().map(|p| &p.name).collect::<Vec<_>>(),
        "bcd": w.bcd,
    })
}

fn print_text(a: &Analysis) {
    outln!(
        "image: {} ({}), {}",
        a.facts.image.format,
        a.facts.image.subformat.as_deref().unwrap_or("-"),
        human_size(a.facts.image.virtual_size)
    );
    outln!("volumes:");
    for v in &a.facts.volumes {
        let what = match &v.content {
            VolumeContent::Filesystem(f) => format!(
                "{} uuid={} label={}{}",
                f.fs_type,
                f.uuid.as_deref().unwrap_or("-"),
                escape_text(f.label.as_deref().unwrap_or("-")),
                if f.roles.is_empty() {
                    String::new()
                } else {
                    format!(" roles={}", f.roles.join(","))
                }
            ),
            VolumeContent::Swap { uuid, .. } => {
                format!("swap uuid={}", uuid.as_deref().unwrap_or("-"))
            }
            VolumeContent::Encrypted { scheme, .. } => format!("encrypted ({scheme})"),
            other => format!("{other:?}").to_lowercase(),
        };
        let err = v
            .error
            .as_deref()
            .map(|e| format!(" — {}", escape_text(e)))
            .unwrap_or_default();
        outln!("  {:>5}  {:>10}  {what}{err}", v.id, human_size(v.size));
    }
    match &a.guest {
        None if a.windows.is_some() => {
            if let Some((vol, w)) = &a.windows {
                outln!(
                    "guest: windows, {} (build {}{}), arch {}, hostname {}, volume {vol}",
                    escape_text(w.product_name.as_deref().unwrap_or("unknown product")),
                    w.build.as_deref().unwrap_or("?"),
                    w.ubr.map(|u| format!(".{u}")).unwrap_or_default(),
                    w.arch.as_deref().unwrap_or("unknown"),
                    escape_text(w.hostname.as_deref().unwrap_or("-"))
                );
                if let Some(r) = &w.release {
                    outln!("  release: {}", escape_text(r));
                }
                let db = &w.driver_database;
                if db.present {
                    outln!(
                        "  driver database: {} package(s), {} device id(s) of interest",
                        db.packages.len(),
                        db.device_ids.len()
                    );
                }
                for p in &db.packages {
                    let devices = db
                        .device_ids
                        .iter()
                        .filter(|d| {
                            imgcheck_inspect::windows::driverdb::packages_for_device(db, d)
                                .iter()
                                .any(|x| x.eq_ignore_ascii_case(&p.name))
                        })
                        .count();
                    outln!(
                        "    {} ({}, {} {}, service {}): {devices} device id(s){}",
                        escape_text(&p.name),
                        escape_text(p.published_inf.as_deref().unwrap_or("-")),
                        escape_text(p.provider.as_deref().unwrap_or("-")),
                        escape_text(p.version.as_deref().unwrap_or("?")),
                        escape_text(&p.services.join(",")),
                        if p.file_repository {
                            ""
                        } else {
                            ", FileRepository directory missing"
                        }
                    );
                }
                for p in &w.problems {
                    outln!("  problem: {}", escape_text(p));
                }
            }
        }
        None => outln!("guest: no operating system root found"),
        Some((asm, l)) => {
            outln!(
                "guest: linux, {} ({} {}), arch {}, hostname {}",
                escape_text(l.pretty_name.as_deref().unwrap_or("unknown distribution")),
                l.distro.as_deref().unwrap_or("?"),
                l.version.as_deref().unwrap_or("?"),
                l.arch.as_deref().unwrap_or("unknown"),
                escape_text(l.hostname.as_deref().unwrap_or("-"))
            );
            outln!("  root: volume {}", asm.root_volume);
            match &l.timezone {
                Some(tz) => outln!(
                    "  timezone: {} (from {})",
                    escape_text(&tz.zone),
                    escape_text(&tz.source)
                ),
                None => outln!("  timezone: not found"),
            }
            let fw = &l.firmware;
            outln!(
                "  firmware: {}{}",
                fw.firmware.as_deref().unwrap_or("no evidence"),
                if fw.evidence.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        escape_text(
                            &fw.evidence
                                .iter()
                                .map(|e| e.detail.as_str())
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    )
                }
            );
            let ci = &l.agents.cloud_init;
            outln!(
                "  cloud-init: {}",
                match (&ci.version, &ci.version_source, &ci.binary) {
                    (Some(v), Some(src), _) =>
                        format!("{} (from {})", escape_text(v), escape_text(src)),
                    (Some(v), None, _) => escape_text(v),
                    (None, _, Some(b)) => format!("present ({}), version unknown", escape_text(b)),
                    (None, _, None) => "not found".to_string(),
                }
            );
            let agents = linux_agents(l);
            outln!(
                "  agents: {}",
                if agents.is_empty() {
                    "none found".to_string()
                } else {
                    escape_text(&agents.join(", "))
                }
            );
            for m in &asm.mounts {
                let res = match &m.resolution {
                    Resolution::Resolved { volume } => format!("volume {volume}"),
                    Resolution::Unresolved { reason } => format!("UNRESOLVED: {reason}"),
                    Resolution::NotADevice => "not a device".to_string(),
                };
                outln!(
                    "  fstab line {}: {} on {} ({}) -> {}",
                    m.entry.line,
                    escape_text(&m.entry.spec_raw),
                    escape_text(&m.entry.mount_point),
                    m.entry.fs_type,
                    escape_text(&res)
                );
            }
            for k in &l.kernels {
                outln!(
                    "  kernel {}: initrd {}, modules {}",
                    escape_text(&k.version),
                    k.initrd.as_deref().unwrap_or("MISSING"),
                    if k.modules_dir { "present" } else { "MISSING" }
                );
            }
        }
    }
    for (asm, l) in &a.more_linux {
        outln!(
            "another root: linux, {} ({} {}), arch {}, hostname {}, volume {}",
            escape_text(l.pretty_name.as_deref().unwrap_or("unknown distribution")),
            l.distro.as_deref().unwrap_or("?"),
            l.version.as_deref().unwrap_or("?"),
            l.arch.as_deref().unwrap_or("unknown"),
            escape_text(l.hostname.as_deref().unwrap_or("-")),
            asm.root_volume
        );
    }
    let first_windows_shown = a.guest.is_none();
    let skip = usize::from(first_windows_shown);
    for (vol, w) in a.windows.iter().chain(a.more_windows.iter()).skip(skip) {
        outln!(
            "another root: windows, {} (build {}), arch {}, hostname {}, volume {vol}",
            escape_text(w.product_name.as_deref().unwrap_or("unknown product")),
            w.build.as_deref().unwrap_or("?"),
            w.arch.as_deref().unwrap_or("unknown"),
            escape_text(w.hostname.as_deref().unwrap_or("-"))
        );
    }
    if !a.facts.anomalies.is_empty() {
        outln!("anomalies ({}):", a.facts.anomalies.len());
        for an in &a.facts.anomalies {
            outln!("  - {}", escape_text(&an.to_string()));
        }
    }
}
