//! System settings the Linux checks need: SELinux (`selinux_config(5)`), the RTC mode
//! (`adjtime(5)`: third line `UTC`/`LOCAL`, absent file = UTC), `/etc/shadow` mode and ext
//! immutable/append-only flags, the root account (`passwd(5)`, `shadow(5)`), sshd
//! (`sshd_config(5)`: first value wins, `Include` not followed), firewalls (units and
//! `/etc/ufw/ufw.conf ENABLED=`), `/lib` and `/lib64` symlinks, `machine-id(5)`, SSH host keys,
//! and `crypttab(5)` entries. Own code: line formats.

use crate::network::parse_shell_vars;
use crate::services::ServiceIndex;
use crate::view::GuestView;
use serde::{Deserialize, Serialize};

/// Bytes read of small config files.
const MAX_CFG: u64 = 1 << 20;

/// A `KEY=value` setting with its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Value {
    /// Value.
    pub value: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: u32,
}

/// `/etc/shadow` facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowFacts {
    /// The file exists.
    pub present: bool,
    /// Permission bits.
    pub mode: Option<u32>,
    /// Owner uid.
    pub uid: Option<u32>,
    /// ext immutable flag (chattr +i).
    pub immutable: bool,
    /// ext append-only flag (chattr +a).
    pub append_only: bool,
    /// root has an entry.
    pub root_entry: bool,
    /// root's password field: `locked` (`!`/`*` prefix), `empty`, `set`.
    pub root_password: Option<String>,
}

/// root in `/etc/passwd`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootAccount {
    /// A `root` entry exists.
    pub present: bool,
    /// Its uid.
    pub uid: Option<u32>,
    /// Its shell.
    pub shell: Option<String>,
    /// The shell exists in the guest.
    pub shell_exists: bool,
    /// Line in `/etc/passwd`.
    pub line: Option<u32>,
    /// Other accounts with uid 0.
    pub other_uid0: Vec<String>,
}

/// sshd facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshdFacts {
    /// The daemon binary.
    pub binary: Option<String>,
    /// `sshd_config` read.
    pub config_present: bool,
    /// `Port` values (empty = default 22).
    pub ports: Vec<Value>,
    /// `PermitRootLogin`.
    pub permit_root_login: Option<Value>,
    /// `PasswordAuthentication`.
    pub password_authentication: Option<Value>,
    /// `ListenAddress` values.
    pub listen_addresses: Vec<Value>,
    /// `ssh.service` or `sshd.service` enabled (or socket-activated).
    pub enabled: bool,
    /// The enabling unit.
    pub unit: Option<String>,
    /// Host key files present.
    pub host_keys: Vec<String>,
}

/// Firewall facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallFacts {
    /// Firewall units enabled.
    pub enabled_units: Vec<String>,
    /// `/etc/ufw/ufw.conf` `ENABLED=`.
    pub ufw_enabled: Option<bool>,
}

/// A symlink and its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFact {
    /// The link path.
    pub path: String,
    /// The target as stored.
    pub target: String,
    /// The target is absolute.
    pub absolute: bool,
}

/// One crypttab entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CryptEntry {
    /// Mapped name.
    pub name: String,
    /// Source device.
    pub device: String,
    /// Line.
    pub line: u32,
}

/// System settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemFacts {
    /// `SELINUX=` in `/etc/selinux/config`.
    pub selinux: Option<Value>,
    /// `SELINUXTYPE=`.
    pub selinux_type: Option<String>,
    /// `/.autorelabel` exists.
    pub autorelabel: bool,
    /// `/etc/adjtime` mode: `UTC`, `LOCAL`, or `absent` (then UTC).
    pub rtc: String,
    /// `/etc/shadow`.
    pub shadow: ShadowFacts,
    /// root in `/etc/passwd`.
    pub root: RootAccount,
    /// `passwd` / `chpasswd` programs found.
    pub password_tools: Vec<String>,
    /// sshd.
    pub sshd: SshdFacts,
    /// Firewalls.
    pub firewall: FirewallFacts,
    /// `/lib`, `/lib64`, `/bin`, `/sbin` symlinks.
    pub lib_links: Vec<LinkFact>,
    /// `/etc/machine-id` exists and is non-empty (`None` when absent).
    pub machine_id_set: Option<bool>,
    /// `/etc/crypttab` entries.
    pub crypttab: Vec<CryptEntry>,
    /// `/root/.ssh/authorized_keys` present.
    pub root_authorized_keys: bool,
}

fn line_u32(n: usize) -> u32 {
    u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX)
}

/// The RTC mode from adjtime text.
pub fn adjtime_mode(text: &str) -> String {
    match text.lines().nth(2).map(str::trim) {
        Some("LOCAL") => "LOCAL".into(),
        Some("UTC") | None | Some("") => "UTC".into(),
        Some(other) => other.to_string(),
    }
}

/// Parse passwd text for root.
pub fn parse_passwd(text: &str) -> RootAccount {
    let mut r = RootAccount::default();
    for (n, l) in text.lines().enumerate() {
        let f: Vec<&str> = l.split(':').collect();
        let (Some(name), Some(uid)) = (f.first(), f.get(2)) else {
            continue;
        };
        let uid: Option<u32> = uid.parse().ok();
        if *name == "root" && !r.present {
            r.present = true;
            r.uid = uid;
            r.shell = f.get(6).map(|s| s.to_string());
            r.line = Some(line_u32(n));
        } else if uid == Some(0) {
            r.other_uid0.push((*name).to_string());
        }
    }
    r
}

/// Parse sshd_config text (first occurrence wins, as sshd does; `Match` blocks ignored).
pub fn parse_sshd(text: &str, file: &str, s: &mut SshdFacts) {
    for (n, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        let (k, v) = t
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or((t, ""));
        let k = k.to_ascii_lowercase();
        if k == "match" {
            break;
        }
        let val = Value {
            value: v.trim().trim_start_matches('=').trim().to_string(),
            file: file.into(),
            line: line_u32(n),
        };
        match k.as_str() {
            "port" => s.ports.push(val),
            "listenaddress" => s.listen_addresses.push(val),
            "permitrootlogin" if s.permit_root_login.is_none() => s.permit_root_login = Some(val),
            "passwordauthentication" if s.password_authentication.is_none() => {
                s.password_authentication = Some(val)
            }
            _ => {}
        }
    }
}

/// Read the system settings.
pub fn inspect(view: &GuestView, ix: &ServiceIndex) -> SystemFacts {
    let mut f = SystemFacts::default();
    let read = |p: &str| view.read_text(p, MAX_CFG).ok();
    if let Some(t) = read("/etc/selinux/config") {
        let v = parse_shell_vars(&t);
        f.selinux = v.get("SELINUX").map(|(x, l)| Value {
            value: x.clone(),
            file: "/etc/selinux/config".into(),
            line: *l,
        });
        f.selinux_type = v.get("SELINUXTYPE").map(|x| x.0.clone());
    }
    f.autorelabel = view.exists("/.autorelabel");
    f.rtc = match read("/etc/adjtime") {
        Some(t) => adjtime_mode(&t),
        None => "absent".into(),
    };
    if let Ok(m) = view.metadata("/etc/shadow") {
        f.shadow.present = true;
        f.shadow.mode = m.mode.map(|x| x & 0o7777);
        f.shadow.uid = m.uid;
        f.shadow.immutable = m.flags.immutable;
        f.shadow.append_only = m.flags.append_only;
        if let Some(t) = read("/etc/shadow") {
            if let Some(l) = t.lines().find(|l| l.starts_with("root:")) {
                f.shadow.root_entry = true;
                let pw = l.split(':').nth(1).unwrap_or("");
                f.shadow.root_password = Some(
                    if pw.is_empty() {
                        "empty"
                    } else if pw.starts_with('!') || pw.starts_with('*') {
                        "locked"
                    } else {
                        "set"
                    }
                    .into(),
                );
            }
        }
    }
    if let Some(t) = read("/etc/passwd") {
        f.root = parse_passwd(&t);
        f.root.shell_exists = f.root.shell.as_deref().is_some_and(|s| view.exists(s));
    }
    f.password_tools = [
        "/usr/bin/passwd",
        "/usr/sbin/chpasswd",
        "/bin/passwd",
        "/sbin/chpasswd",
    ]
    .iter()
    .filter(|p| view.exists(p))
    .map(|p| p.to_string())
    .collect();

    let s = &mut f.sshd;
    s.binary = ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .iter()
        .find(|p| view.exists(p))
        .map(|p| p.to_string());
    if let Some(t) = read("/etc/ssh/sshd_config") {
        s.config_present = true;
        parse_sshd(&t, "/etc/ssh/sshd_config", s);
    }
    for u in ["sshd.service", "ssh.service", "ssh.socket", "sshd.socket"] {
        let st = ix.unit_state(u);
        if st.enabled {
            s.enabled = true;
            s.unit = Some(u.to_string());
            break;
        }
    }
    if let Ok(ents) = view.read_dir("/etc/ssh") {
        s.host_keys = ents
            .into_iter()
            .filter(|e| e.name.starts_with("ssh_host_") && e.name.ends_with("_key"))
            .map(|e| format!("/etc/ssh/{}", e.name))
            .collect();
    }
    for u in [
        "firewalld.service",
        "ufw.service",
        "nftables.service",
        "iptables.service",
        "ip6tables.service",
        "SuSEfirewall2.service",
    ] {
        if ix.unit_state(u).enabled {
            f.firewall.enabled_units.push(u.to_string());
        }
    }
    if let Some(t) = read("/etc/ufw/ufw.conf") {
        f.firewall.ufw_enabled = parse_shell_vars(&t)
            .get("ENABLED")
            .map(|(v, _)| v.eq_ignore_ascii_case("yes"));
    }
    for p in ["/lib", "/lib64", "/bin", "/sbin"] {
        if let Ok(t) = view.read_link(p) {
            f.lib_links.push(LinkFact {
                path: p.into(),
                absolute: t.starts_with('/'),
                target: t,
            });
        }
    }
    f.machine_id_set = read("/etc/machine-id").map(|t| !t.trim().is_empty());
    if let Some(t) = read("/etc/crypttab") {
        for (n, l) in t.lines().enumerate() {
            let w: Vec<&str> = l.split_whitespace().collect();
            if let (Some(name), Some(dev)) = (w.first(), w.get(1)) {
                if !name.starts_with('#') {
                    f.crypttab.push(CryptEntry {
                        name: (*name).into(),
                        device: (*dev).into(),
                        line: line_u32(n),
                    });
                }
            }
        }
    }
    f.root_authorized_keys = view.exists("/root/.ssh/authorized_keys");
    f
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::testfs::MemFs;
    use imgcheck_fs::FileFlags;

    #[test]
    fn settings() {
        assert_eq!(adjtime_mode("0.0 0 0.0\n0\nLOCAL\n"), "LOCAL");
        assert_eq!(adjtime_mode("0.0 0 0.0\n0\n"), "UTC");
        let view = MemFs::new()
            .file("/etc/selinux/config", "# x\nSELINUX=enforcing\nSELINUXTYPE=targeted\n")
            .file("/etc/shadow", "root:!:19000::::::\n")
            .mode("/etc/shadow", 0o100_000)
            .flags("/etc/shadow", FileFlags { immutable: true, raw: 0x10, ..FileFlags::default() })
            .file("/etc/passwd", "root:x:0:0:root:/root:/bin/zsh\ntoor:x:0:0::/:/bin/sh\n")
            .file("/bin/sh", "x")
            .file("/usr/sbin/sshd", "x")
            .file("/etc/ssh/sshd_config", "Port 2222\nPermitRootLogin no\nPermitRootLogin yes\nListenAddress 0.0.0.0\nMatch User x\nPasswordAuthentication yes\n")
            .file("/etc/ssh/ssh_host_ed25519_key", "k")
            .file("/etc/ssh/ssh_host_ed25519_key.pub", "k")
            .file("/etc/ufw/ufw.conf", "ENABLED=yes\n")
            .file("/usr/lib/systemd/system/firewalld.service", "x")
            .link("/etc/systemd/system/multi-user.target.wants/firewalld.service", "/usr/lib/systemd/system/firewalld.service")
            .link("/lib64", "/usr/lib64")
            .link("/lib", "usr/lib")
            .file("/etc/machine-id", "\n")
            .file("/etc/crypttab", "# c\nluks-1 UUID=abc none luks\n")
            .view();
        let f = inspect(&view, &ServiceIndex::load(&view));
        assert_eq!(f.selinux.as_ref().unwrap().value, "enforcing");
        assert_eq!(f.selinux.as_ref().unwrap().line, 2);
        assert_eq!(f.rtc, "absent");
        assert!(f.shadow.immutable && !f.shadow.append_only);
        assert_eq!(f.shadow.mode, Some(0));
        assert_eq!(f.shadow.root_password.as_deref(), Some("locked"));
        assert!(f.root.present && !f.root.shell_exists);
        assert_eq!(f.root.other_uid0, vec!["toor".to_string()]);
        assert_eq!(f.sshd.ports[0].value, "2222");
        assert_eq!(f.sshd.permit_root_login.as_ref().unwrap().value, "no");
        assert!(f.sshd.password_authentication.is_none());
        assert!(!f.sshd.enabled);
        assert_eq!(
            f.sshd.host_keys,
            vec!["/etc/ssh/ssh_host_ed25519_key".to_string()]
        );
        assert_eq!(
            f.firewall.enabled_units,
            vec!["firewalld.service".to_string()]
        );
        assert_eq!(f.firewall.ufw_enabled, Some(true));
        assert_eq!(f.lib_links.len(), 2);
        assert!(!f.lib_links[0].absolute && f.lib_links[1].absolute);
        assert_eq!(f.machine_id_set, Some(false));
        assert_eq!(f.crypttab.len(), 1);
        assert_eq!(f.crypttab[0].line, 2);
    }
}
