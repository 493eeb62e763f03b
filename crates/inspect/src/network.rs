//! Network configuration: how each interface gets its address, whether it is pinned to a MAC
//! address, and which configuration system is in use.
//!
//! Formats: RHEL/SUSE `ifcfg-*` (shell `KEY=value`: `BOOTPROTO`, `ONBOOT`/`STARTMODE`,
//! `HWADDR`/`MACADDR`, `IPV6INIT`; initscripts' `sysconfig.txt`, SUSE `ifcfg(5)`), Debian
//! `interfaces(5)` (`iface NAME inet dhcp|static|manual`, `source`, `source-directory`), netplan
//! (`netplan(5)` YAML: `dhcp4`, `addresses`, `match: macaddress`, `set-name`), NetworkManager
//! keyfiles (`nm-settings-keyfile(5)`: `[connection] interface-name`, `[ipv4] method=`,
//! `[ethernet] mac-address=`), systemd-networkd (`systemd.network(5)`: `[Match] Name=`,
//! `MACAddress=`, `[Network] DHCP=`, `Address=`), and persistent-net udev rules
//! (`70-persistent-net.rules`: `ATTR{address}=="…", NAME="eth0"`). Own code: line formats.

use crate::bootloader::words;
use crate::services::ServiceIndex;
use crate::view::GuestView;
use crate::yaml::{self, Yaml};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bytes read of one config file.
const MAX_CFG: u64 = 1 << 20;
/// Files read per directory.
const MAX_FILES: usize = 256;
/// Nesting of `source` in interfaces(5).
const MAX_SOURCE_DEPTH: u32 = 4;

/// Address method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// DHCP (v4).
    Dhcp,
    /// Static addresses.
    Static,
    /// Configured but no address (manual / none / ignore / link-local / disabled).
    Manual,
    /// Loopback.
    Loopback,
    /// Not determinable.
    Unknown,
}

/// One configured interface (or connection profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Interface name (`eth0`), or the profile's match when it has no name.
    pub name: String,
    /// Address method (IPv4).
    pub method: Method,
    /// `ifcfg`, `wicked` (SUSE's ifcfg files), `ifupdown`, `netplan`, `networkmanager`,
    /// `networkd`.
    pub system: String,
    /// File the configuration is in.
    pub source: String,
    /// Line of the defining statement.
    pub line: u32,
    /// MAC address the configuration is pinned to.
    pub mac: Option<String>,
    /// IPv6 configured (enabled / addresses / dhcp6).
    pub ipv6: Option<bool>,
    /// Brought up at boot (`ONBOOT`, `auto`, …) where the format says.
    pub onboot: Option<bool>,
    /// The file was written by cloud-init (its name or its header says so), which renders it
    /// again for each new instance unless its network configuration is disabled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cloud_init_rendered: bool,
}

/// A persistent-net udev rule naming an interface by MAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetRule {
    /// Rules file.
    pub file: String,
    /// Line.
    pub line: u32,
    /// MAC matched.
    pub mac: Option<String>,
    /// Name given.
    pub name: Option<String>,
}

/// Network facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkFacts {
    /// Interfaces, loopback excluded.
    pub interfaces: Vec<Interface>,
    /// Configuration systems with files present.
    pub systems: Vec<String>,
    /// Network services enabled: `NetworkManager`, `systemd-networkd`, `networking`, `network`,
    /// `wicked`.
    pub services_enabled: Vec<String>,
    /// netplan `renderer`, if set.
    pub netplan_renderer: Option<String>,
    /// Persistent-net rules.
    pub persistent_rules: Vec<NetRule>,
    /// Whether `75-persistent-net-generator.rules` exists (it writes 70-persistent-net on boot).
    pub rule_generator: bool,
    /// Files that could not be read.
    pub problems: Vec<String>,
}

fn line_no(n: usize) -> u32 {
    u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX)
}

/// Parse shell-style `KEY=value` lines: key → (value, line).
pub fn parse_shell_vars(text: &str) -> BTreeMap<String, (String, u32)> {
    let mut out = BTreeMap::new();
    for (n, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('#') {
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let v = words(v).into_iter().next().unwrap_or_default();
        out.insert(k.to_string(), (v, line_no(n)));
    }
    out
}

/// Parse one ifcfg file (RHEL or SUSE dialect).
pub fn parse_ifcfg(text: &str, file: &str) -> Option<Interface> {
    let v = parse_shell_vars(text);
    let base = file.rsplit('/').next().unwrap_or(file);
    let fname = base.strip_prefix("ifcfg-").unwrap_or(base);
    let name = v
        .get("DEVICE")
        .or_else(|| v.get("NAME"))
        .map(|x| x.0.clone())
        .unwrap_or_else(|| fname.to_string());
    if name == "lo" || fname == "lo" {
        return None;
    }
    let (bp, line) = v
        .get("BOOTPROTO")
        .map(|(b, l)| (b.to_ascii_lowercase(), *l))
        .unwrap_or_default();
    let has_ip = v.keys().any(|k| k.starts_with("IPADDR"));
    let method = match bp.as_str() {
        "dhcp" | "dhcp4" | "bootp" | "dhcp+autoip" => Method::Dhcp,
        "static" => Method::Static,
        "none" | "" if has_ip => Method::Static,
        "none" | "autoip" => Method::Manual,
        "" => Method::Unknown,
        _ => Method::Unknown,
    };
    let onboot = v
        .get("ONBOOT")
        .map(|(x, _)| x.eq_ignore_ascii_case("yes"))
        .or_else(|| {
            v.get("STARTMODE")
                .map(|(x, _)| matches!(x.as_str(), "auto" | "onboot" | "hotplug"))
        });
    let mac = v
        .get("HWADDR")
        .or_else(|| v.get("MACADDR"))
        .or_else(|| v.get("LLADDR"))
        .map(|x| x.0.to_ascii_lowercase())
        .filter(|m| !m.is_empty());
    let ipv6 = v
        .get("IPV6INIT")
        .map(|(x, _)| x.eq_ignore_ascii_case("yes"))
        .or_else(|| v.get("IPV6ADDR").map(|_| true));
    Some(Interface {
        name,
        method,
        system: "ifcfg".into(),
        source: file.into(),
        line: if line == 0 { 1 } else { line },
        mac,
        ipv6,
        onboot,
        cloud_init_rendered: false,
    })
}

/// Parse Debian interfaces(5) text: interfaces plus the `source`/`source-directory` targets.
pub fn parse_interfaces(text: &str, file: &str) -> (Vec<Interface>, Vec<String>) {
    let mut out: Vec<Interface> = Vec::new();
    let mut autos: Vec<String> = Vec::new();
    let mut sources = Vec::new();
    let mut current: Option<usize> = None;
    for (n, l) in text.lines().enumerate() {
        let w: Vec<&str> = l.split_whitespace().collect();
        let Some(first) = w.first() else { continue };
        if first.starts_with('#') {
            continue;
        }
        match *first {
            "auto" | "allow-hotplug" => {
                autos.extend(w.iter().skip(1).map(|s| s.to_string()));
                current = None;
            }
            "source" | "source-directory" => {
                if let Some(p) = w.get(1) {
                    let mut p = p.to_string();
                    if *first == "source-directory" {
                        p.push_str("/*");
                    }
                    sources.push(p);
                }
                current = None;
            }
            "iface" => {
                let name = w.get(1).copied().unwrap_or("").to_string();
                let family = w.get(2).copied().unwrap_or("");
                let m = w.get(3).copied().unwrap_or("");
                if family == "inet6" {
                    if let Some(i) = out.iter_mut().find(|i| i.name == name) {
                        i.ipv6 = Some(true);
                    } else if name != "lo" {
                        out.push(Interface {
                            name: name.clone(),
                            method: Method::Unknown,
                            system: "ifupdown".into(),
                            source: file.into(),
                            line: line_no(n),
                            mac: None,
                            ipv6: Some(true),
                            onboot: None,
                            cloud_init_rendered: false,
                        });
                    }
                    current = None;
                    continue;
                }
                let method = match m {
                    "dhcp" | "bootp" => Method::Dhcp,
                    "static" => Method::Static,
                    "manual" | "ppp" | "wvdial" | "tunnel" => Method::Manual,
                    "loopback" => Method::Loopback,
                    _ => Method::Unknown,
                };
                if method == Method::Loopback || name == "lo" {
                    current = None;
                    continue;
                }
                if let Some(idx) = out.iter().position(|i| i.name == name) {
                    if let Some(i) = out.get_mut(idx) {
                        i.method = method;
                        i.line = line_no(n);
                    }
                    current = Some(idx);
                } else {
                    out.push(Interface {
                        name,
                        method,
                        system: "ifupdown".into(),
                        source: file.into(),
                        line: line_no(n),
                        mac: None,
                        ipv6: None,
                        onboot: None,
                        cloud_init_rendered: false,
                    });
                    current = Some(out.len().saturating_sub(1));
                }
            }
            "hwaddress" => {
                if let Some(i) = current.and_then(|c| out.get_mut(c)) {
                    i.mac = w.last().map(|m| m.to_ascii_lowercase());
                }
            }
            "mapping" => current = None,
            _ => {}
        }
    }
    for i in &mut out {
        i.onboot = Some(autos.contains(&i.name));
    }
    (out, sources)
}

fn netplan_ifaces(y: &Yaml, file: &str, out: &mut Vec<Interface>) -> Option<String> {
    let net = y.get("network")?;
    for kind in ["ethernets", "bonds", "bridges", "vlans", "wifis"] {
        let Some(group) = net.get(kind) else { continue };
        for (id, cfg, line) in group.entries() {
            let dhcp4 = cfg.get("dhcp4").and_then(Yaml::as_bool).unwrap_or(false);
            let addrs = cfg.get("addresses").map(|a| a.items()).unwrap_or_default();
            let v4_static = addrs
                .iter()
                .filter_map(|a| a.as_str())
                .any(|a| !a.contains(':'));
            let v6 = cfg.get("dhcp6").and_then(Yaml::as_bool).unwrap_or(false)
                || addrs
                    .iter()
                    .filter_map(|a| a.as_str())
                    .any(|a| a.contains(':'));
            let method = if dhcp4 {
                Method::Dhcp
            } else if v4_static {
                Method::Static
            } else {
                Method::Manual
            };
            let m = cfg.get("match");
            let mac = m
                .and_then(|m| m.get("macaddress"))
                .or_else(|| cfg.get("macaddress"))
                .and_then(Yaml::as_str)
                .map(str::to_ascii_lowercase);
            let name = cfg
                .get("set-name")
                .and_then(Yaml::as_str)
                .or_else(|| m.and_then(|m| m.get("name")).and_then(Yaml::as_str))
                .unwrap_or(id)
                .to_string();
            out.push(Interface {
                name,
                method,
                system: "netplan".into(),
                source: file.into(),
                line: *line,
                mac,
                ipv6: Some(v6),
                onboot: None,
                cloud_init_rendered: false,
            });
        }
    }
    net.get("renderer")
        .and_then(Yaml::as_str)
        .map(str::to_string)
}

/// Parse INI-style text (`[section]`, `key=value`): (section, key) → (value, line).
fn ini(text: &str) -> BTreeMap<(String, String), (String, u32)> {
    let mut sec = String::new();
    let mut out = BTreeMap::new();
    for (n, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('#') || t.starts_with(';') || t.is_empty() {
            continue;
        }
        if let Some(s) = t.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            sec = s.to_string();
            continue;
        }
        if let Some((k, v)) = t.split_once('=') {
            out.entry((sec.clone(), k.trim().to_string()))
                .or_insert((v.trim().to_string(), line_no(n)));
        }
    }
    out
}

/// Parse a NetworkManager keyfile.
pub fn parse_nm_keyfile(text: &str, file: &str) -> Option<Interface> {
    let m = ini(text);
    let g = |s: &str, k: &str| m.get(&(s.to_string(), k.to_string())).cloned();
    let ctype = g("connection", "type").map(|x| x.0).unwrap_or_default();
    if ctype == "loopback" {
        return None;
    }
    let base = file.rsplit('/').next().unwrap_or(file);
    let name = g("connection", "interface-name")
        .or_else(|| g("connection", "id"))
        .map(|x| x.0)
        .unwrap_or_else(|| base.trim_end_matches(".nmconnection").to_string());
    let (meth, line) = g("ipv4", "method").unwrap_or(("auto".into(), 1));
    let method = match meth.as_str() {
        "auto" => Method::Dhcp,
        "manual" => Method::Static,
        "disabled" | "link-local" | "shared" => Method::Manual,
        _ => Method::Unknown,
    };
    let mac = g("ethernet", "mac-address")
        .or_else(|| g("802-3-ethernet", "mac-address"))
        .map(|x| x.0.to_ascii_lowercase())
        .filter(|x| !x.is_empty());
    let ipv6 = g("ipv6", "method").map(|x| !matches!(x.0.as_str(), "ignore" | "disabled"));
    let onboot = g("connection", "autoconnect").map(|x| x.0 != "false");
    Some(Interface {
        name,
        method,
        system: "networkmanager".into(),
        source: file.into(),
        line,
        mac,
        ipv6,
        onboot,
        cloud_init_rendered: false,
    })
}

/// Parse a systemd-networkd `.network` file.
pub fn parse_networkd(text: &str, file: &str) -> Option<Interface> {
    let m = ini(text);
    let g = |s: &str, k: &str| m.get(&(s.to_string(), k.to_string())).cloned();
    let name = g("Match", "Name").map(|x| x.0);
    let mac = g("Match", "MACAddress").map(|x| x.0.to_ascii_lowercase());
    if name.as_deref() == Some("lo") {
        return None;
    }
    let dhcp = g("Network", "DHCP");
    let addr = g("Network", "Address").or_else(|| g("Address", "Address"));
    let (method, line) = match (&dhcp, &addr) {
        (Some((d, l)), _) if matches!(d.as_str(), "yes" | "true" | "ipv4" | "both") => {
            (Method::Dhcp, *l)
        }
        (_, Some((_, l))) => (Method::Static, *l),
        (Some((_, l)), None) => (Method::Manual, *l),
        (None, None) => (Method::Unknown, 1),
    };
    let ipv6 = dhcp
        .as_ref()
        .map(|(d, _)| matches!(d.as_str(), "yes" | "true" | "ipv6" | "both"))
        .or_else(|| addr.as_ref().map(|(a, _)| a.contains(':')));
    Some(Interface {
        name: name.or_else(|| mac.clone()).unwrap_or_else(|| "*".into()),
        method,
        system: "networkd".into(),
        source: file.into(),
        line,
        mac,
        ipv6,
        onboot: None,
        cloud_init_rendered: false,
    })
}

/// Parse persistent-net udev rules.
pub fn parse_udev_rules(text: &str, file: &str) -> Vec<NetRule> {
    let mut out = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('#') || !t.contains("NAME") {
            continue;
        }
        let mut mac = None;
        let mut name = None;
        for part in t.split(',') {
            let p = part.trim();
            if let Some(v) = p
                .strip_prefix("ATTR{address}==")
                .or_else(|| p.strip_prefix("ATTRS{address}=="))
            {
                mac = Some(v.trim_matches('"').to_ascii_lowercase());
            } else if let Some(v) = p.strip_prefix("NAME=").or_else(|| p.strip_prefix("NAME:=")) {
                name = Some(v.trim_matches('"').to_string());
            }
        }
        if mac.is_some() || name.is_some() {
            out.push(NetRule {
                file: file.into(),
                line: line_no(n),
                mac,
                name,
            });
        }
    }
    out
}

/// Whether cloud-init wrote this file: its name (`50-cloud-init.yaml`,
/// `cloud-init-eth0.nmconnection`, `10-cloud-init-eth0.network`, `50-cloud-init.cfg`) or the
/// header comment each of its renderers writes ("This file is generated from information
/// provided by the datasource", "Created by cloud-init …", "Generated by cloud-init").
pub fn rendered_by_cloud_init(file: &str, text: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    if name.contains("cloud-init") {
        return true;
    }
    text.lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with('#'))
        .take(20)
        .any(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("created by cloud-init")
                || l.contains("generated by cloud-init")
                || l.contains("generated from information provided by the datasource")
        })
}

/// Mark the interfaces from index `first` on, those just parsed from `file` (whose text is
/// `text`), as cloud-init's when it wrote the file.
fn mark_rendered(ifs: &mut [Interface], first: usize, file: &str, text: &str) {
    if rendered_by_cloud_init(file, text) {
        for i in ifs.get_mut(first..).unwrap_or_default() {
            i.cloud_init_rendered = true;
        }
    }
}

fn list_dir(view: &GuestView, dir: &str) -> Vec<String> {
    let mut v: Vec<String> = view
        .read_dir(dir)
        .map(|es| es.into_iter().map(|e| e.name).collect())
        .unwrap_or_default();
    v.sort();
    v.truncate(MAX_FILES);
    v
}

fn read_interfaces(view: &GuestView, path: &str, depth: u32, f: &mut NetworkFacts) {
    if depth > MAX_SOURCE_DEPTH {
        f.problems.push(format!(
            "{path}: source nesting deeper than {MAX_SOURCE_DEPTH}"
        ));
        return;
    }
    let Ok(t) = view.read_text(path, MAX_CFG) else {
        return;
    };
    let (ifs, sources) = parse_interfaces(&t, path);
    let first = f.interfaces.len();
    f.interfaces.extend(ifs);
    mark_rendered(&mut f.interfaces, first, path, &t);
    for s in sources {
        let s = if s.starts_with('/') {
            s
        } else {
            format!("/etc/network/{s}")
        };
        if let Some(dir) = s.strip_suffix("/*") {
            for n in list_dir(view, dir) {
                if n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    read_interfaces(view, &format!("{dir}/{n}"), depth.saturating_add(1), f);
                }
            }
        } else if let Some((dir, pat)) = s.rsplit_once('/') {
            let prefix = pat.split('*').next().unwrap_or("");
            let suffix = if pat.contains('*') {
                pat.rsplit('*').next().unwrap_or("")
            } else {
                ""
            };
            if pat.contains('*') {
                for n in list_dir(view, dir) {
                    if n.starts_with(prefix) && n.ends_with(suffix) {
                        read_interfaces(view, &format!("{dir}/{n}"), depth.saturating_add(1), f);
                    }
                }
            } else {
                read_interfaces(view, &s, depth.saturating_add(1), f);
            }
        }
    }
}

/// Read the guest's network configuration.
pub fn inspect(view: &GuestView, services: &ServiceIndex) -> NetworkFacts {
    let mut f = NetworkFacts::default();
    let mut systems = std::collections::BTreeSet::new();
    // RHEL's initscripts read network-scripts/; SUSE's wicked reads its own ifcfg dialect in
    // /etc/sysconfig/network (ifcfg(5) of wicked: BOOTPROTO, STARTMODE, …).
    for (dir, system) in [
        ("/etc/sysconfig/network-scripts", "ifcfg"),
        ("/etc/sysconfig/network", "wicked"),
    ] {
        for n in list_dir(view, dir) {
            if !n.starts_with("ifcfg-") || n.ends_with(".bak") || n.ends_with('~') {
                continue;
            }
            let p = format!("{dir}/{n}");
            if let Ok(t) = view.read_text(&p, MAX_CFG) {
                systems.insert(system);
                let first = f.interfaces.len();
                f.interfaces.extend(parse_ifcfg(&t, &p).map(|mut i| {
                    i.system = system.to_string();
                    i
                }));
                mark_rendered(&mut f.interfaces, first, &p, &t);
            }
        }
    }
    let before = f.interfaces.len();
    read_interfaces(view, "/etc/network/interfaces", 0, &mut f);
    if f.interfaces.len() > before || view.exists("/etc/network/interfaces") {
        systems.insert("ifupdown");
    }
    for n in list_dir(view, "/etc/netplan") {
        if !n.ends_with(".yaml") && !n.ends_with(".yml") {
            continue;
        }
        let p = format!("/etc/netplan/{n}");
        if let Ok(t) = view.read_text(&p, MAX_CFG) {
            systems.insert("netplan");
            let first = f.interfaces.len();
            if let Some(r) = netplan_ifaces(&yaml::parse(&t), &p, &mut f.interfaces) {
                f.netplan_renderer = Some(r);
            }
            mark_rendered(&mut f.interfaces, first, &p, &t);
        }
    }
    for dir in ["/etc/NetworkManager/system-connections"] {
        for n in list_dir(view, dir) {
            let p = format!("{dir}/{n}");
            if let Ok(t) = view.read_text(&p, MAX_CFG) {
                systems.insert("networkmanager");
                let first = f.interfaces.len();
                f.interfaces.extend(parse_nm_keyfile(&t, &p));
                mark_rendered(&mut f.interfaces, first, &p, &t);
            }
        }
    }
    for n in list_dir(view, "/etc/systemd/network") {
        if !n.ends_with(".network") {
            continue;
        }
        let p = format!("/etc/systemd/network/{n}");
        if let Ok(t) = view.read_text(&p, MAX_CFG) {
            systems.insert("networkd");
            let first = f.interfaces.len();
            f.interfaces.extend(parse_networkd(&t, &p));
            mark_rendered(&mut f.interfaces, first, &p, &t);
        }
    }
    for dir in ["/etc/udev/rules.d"] {
        for n in list_dir(view, dir) {
            let p = format!("{dir}/{n}");
            if n.contains("persistent-net") && n.ends_with(".rules") {
                if n.contains("generator") {
                    f.rule_generator = true;
                }
                if let Ok(t) = view.read_text(&p, MAX_CFG) {
                    f.persistent_rules.extend(parse_udev_rules(&t, &p));
                }
            }
        }
    }
    f.systems = systems.into_iter().map(str::to_string).collect();
    for (svc, label) in [
        ("NetworkManager.service", "NetworkManager"),
        ("systemd-networkd.service", "systemd-networkd"),
        ("networking.service", "networking"),
        ("network.service", "network"),
        ("wicked.service", "wicked"),
    ] {
        if services.unit_state(svc).enabled {
            f.services_enabled.push(label.to_string());
        }
    }
    f
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::testfs::MemFs;

    #[test]
    fn ifcfg_dialects() {
        let i = parse_ifcfg(
            "DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\nHWADDR=52:54:00:AA:BB:CC\nIPV6INIT=no\n",
            "/etc/sysconfig/network-scripts/ifcfg-eth0",
        )
        .unwrap();
        assert_eq!(
            (i.name.as_str(), i.method, i.line),
            ("eth0", Method::Dhcp, 2)
        );
        assert_eq!(i.mac.as_deref(), Some("52:54:00:aa:bb:cc"));
        assert_eq!((i.ipv6, i.onboot), (Some(false), Some(true)));
        let i = parse_ifcfg("BOOTPROTO=none\nIPADDR=10.0.0.2\n", "/x/ifcfg-ens3").unwrap();
        assert_eq!((i.name.as_str(), i.method), ("ens3", Method::Static));
        let i = parse_ifcfg(
            "BOOTPROTO='dhcp'\nSTARTMODE='auto'\n",
            "/etc/sysconfig/network/ifcfg-eth0",
        )
        .unwrap();
        assert_eq!((i.method, i.onboot), (Method::Dhcp, Some(true)));
        assert!(parse_ifcfg("DEVICE=lo\n", "/x/ifcfg-lo").is_none());
    }

    #[test]
    fn suse_wicked() {
        let view = MemFs::new()
            .file(
                "/etc/sysconfig/network/ifcfg-eth0",
                "BOOTPROTO='dhcp'\nSTARTMODE='auto'\n",
            )
            .file(
                "/etc/sysconfig/network/ifcfg-lo",
                "IPADDR='127.0.0.1/8'\nSTARTMODE='nfsroot'\nBOOTPROTO='static'\n",
            )
            .file(
                "/etc/sysconfig/network/config",
                "NETCONFIG_MODULES_ORDER=\"\"\n",
            )
            .file("/usr/lib/systemd/system/wicked.service", "[Unit]\n")
            .link(
                "/etc/systemd/system/multi-user.target.wants/wicked.service",
                "/usr/lib/systemd/system/wicked.service",
            )
            .link(
                "/etc/systemd/system/network.service",
                "/usr/lib/systemd/system/wicked.service",
            )
            .view();
        let f = inspect(&view, &ServiceIndex::load(&view));
        assert_eq!(f.systems, vec!["wicked".to_string()]);
        assert_eq!(f.interfaces.len(), 1, "{:?}", f.interfaces);
        let i = &f.interfaces[0];
        assert_eq!(
            (i.name.as_str(), i.method, i.system.as_str(), i.onboot),
            ("eth0", Method::Dhcp, "wicked", Some(true))
        );
        assert_eq!(
            f.services_enabled,
            vec!["network".to_string(), "wicked".to_string()]
        );
    }

    #[test]
    fn interfaces_nm_networkd_udev() {
        let (i, s) = parse_interfaces("auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet static\n  address 10.0.0.2/24\n  hwaddress ether 52:54:00:00:00:01\niface eth0 inet6 auto\nsource /etc/network/interfaces.d/*\nsource-directory extra\n", "/etc/network/interfaces");
        assert_eq!(i.len(), 1);
        assert_eq!(
            (i[0].method, i[0].line, i[0].onboot, i[0].ipv6),
            (Method::Static, 4, Some(true), Some(true))
        );
        assert_eq!(i[0].mac.as_deref(), Some("52:54:00:00:00:01"));
        assert_eq!(
            s,
            vec![
                "/etc/network/interfaces.d/*".to_string(),
                "extra/*".to_string()
            ]
        );
        let n = parse_nm_keyfile("[connection]\nid=Wired\ntype=ethernet\ninterface-name=ens3\n[ethernet]\nmac-address=AA:BB:CC:DD:EE:FF\n[ipv4]\nmethod=manual\naddress1=10.0.0.2/24\n[ipv6]\nmethod=ignore\n", "/etc/NetworkManager/system-connections/Wired.nmconnection").unwrap();
        assert_eq!(
            (n.name.as_str(), n.method, n.line, n.ipv6),
            ("ens3", Method::Static, 8, Some(false))
        );
        assert_eq!(n.mac.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        let d = parse_networkd(
            "[Match]\nName=en*\n[Network]\nDHCP=yes\n",
            "/etc/systemd/network/10.network",
        )
        .unwrap();
        assert_eq!(
            (d.name.as_str(), d.method, d.line, d.ipv6),
            ("en*", Method::Dhcp, 4, Some(true))
        );
        let r = parse_udev_rules("# gen\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:12:34:56\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth0\"\n", "/etc/udev/rules.d/70-persistent-net.rules");
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].mac.as_deref(), r[0].name.as_deref(), r[0].line),
            (Some("52:54:00:12:34:56"), Some("eth0"), 2)
        );
    }

    #[test]
    fn guest() {
        let view = MemFs::new()
            .file("/etc/network/interfaces", "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n")
            .file("/etc/network/interfaces.d/eth0", "auto eth0\niface eth0 inet dhcp\n")
            .file("/etc/network/interfaces.d/bad.name", "iface x inet static\n")
            .file("/etc/netplan/50-cloud-init.yaml", "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    ens5:\n      dhcp4: true\n      match:\n        macaddress: 02:00:00:00:00:01\n      set-name: ens5\n")
            .file("/etc/udev/rules.d/75-persistent-net-generator.rules", "# x\n")
            .file("/usr/lib/systemd/system/networking.service", "x")
            .link("/etc/systemd/system/multi-user.target.wants/networking.service", "/usr/lib/systemd/system/networking.service")
            .view();
        let f = inspect(&view, &ServiceIndex::load(&view));
        assert_eq!(f.interfaces.len(), 2, "{:?}", f.interfaces);
        assert_eq!(f.interfaces[0].name, "eth0");
        assert_eq!(f.interfaces[0].source, "/etc/network/interfaces.d/eth0");
        assert_eq!(f.interfaces[1].mac.as_deref(), Some("02:00:00:00:00:01"));
        assert_eq!(
            (f.interfaces[1].method, f.interfaces[1].line),
            (Method::Dhcp, 5)
        );
        assert_eq!(
            f.systems,
            vec!["ifupdown".to_string(), "netplan".to_string()]
        );
        assert_eq!(f.netplan_renderer.as_deref(), Some("networkd"));
        assert!(f.rule_generator);
        assert_eq!(f.services_enabled, vec!["networking".to_string()]);
        // The netplan file is cloud-init's (by its name); the ifupdown one is not.
        assert_eq!(
            (
                f.interfaces[0].cloud_init_rendered,
                f.interfaces[1].cloud_init_rendered
            ),
            (false, true)
        );
    }

    #[test]
    fn cloud_init_rendered_files() {
        // Names cloud-init's renderers use.
        for f in [
            "/etc/netplan/50-cloud-init.yaml",
            "/etc/network/interfaces.d/50-cloud-init",
            "/etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection",
            "/etc/systemd/network/10-cloud-init-eth0.network",
        ] {
            assert!(rendered_by_cloud_init(f, ""), "{f}");
        }
        // Headers, in the leading comment block only.
        let ifcfg = "# Created by cloud-init automatically, do not edit.\n#\nBOOTPROTO=dhcp\nDEVICE=eth0\nHWADDR=fa:16:3e:00:00:01\n";
        assert!(rendered_by_cloud_init(
            "/etc/sysconfig/network-scripts/ifcfg-eth0",
            ifcfg
        ));
        let eni = "# This file is generated from information provided by the datasource.  Changes\n# to it will not persist across an instance reboot.\nauto eth0\n";
        assert!(rendered_by_cloud_init("/etc/network/interfaces", eni));
        let nm =
            "# Generated by cloud-init. Changes will be lost.\n\n[connection]\nid=System eth0\n";
        assert!(rendered_by_cloud_init(
            "/etc/NetworkManager/system-connections/eth0",
            nm
        ));
        let own = "DEVICE=eth0\n# Created by cloud-init once, then edited by hand\nHWADDR=fa:16:3e:00:00:01\n";
        assert!(!rendered_by_cloud_init(
            "/etc/sysconfig/network-scripts/ifcfg-eth0",
            own
        ));
        assert!(!rendered_by_cloud_init(
            "/etc/netplan/01-netcfg.yaml",
            "# written by the installer\nnetwork: {}\n"
        ));
        let i = parse_ifcfg(ifcfg, "/etc/sysconfig/network-scripts/ifcfg-eth0").unwrap();
        assert!(
            !i.cloud_init_rendered,
            "parsers leave the mark to inspect()"
        );
    }
}
