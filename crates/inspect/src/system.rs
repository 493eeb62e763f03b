//! System settings the Linux checks need: SELinux (`selinux_config(5)`), the RTC mode
//! (`adjtime(5)`: third line `UTC`/`LOCAL`, absent file = UTC), `/etc/shadow` mode and ext
//! immutable/append-only flags, the root account (`passwd(5)`, `shadow(5)`), sshd
//! (`sshd_config(5)`: first value wins, `Include` followed in place, `Match` blocks not global), firewalls (units and
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
    /// Files read, in the order sshd reads them (`sshd_config`, then its `Include`s in place).
    pub config_files: Vec<String>,
    /// Includes that could not be read (unreadable file, nesting or file limit).
    pub include_problems: Vec<String>,
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

/// Most files `Include` may pull in, and the nesting depth (sshd's own limit is 16).
const SSHD_MAX_FILES: usize = 256;
const SSHD_MAX_DEPTH: u32 = 16;
/// Directory entries listed per glob component.
const GLOB_MAX_ENTRIES: usize = 4096;

/// Parse sshd_config text (first occurrence wins, as sshd does; `Match` blocks do not apply
/// globally; `Include` is not followed here — see [`read_sshd`]).
pub fn parse_sshd(text: &str, file: &str, s: &mut SshdFacts) {
    parse_sshd_with(text, file, s, &mut |_, _| {});
}

/// `Include` handler: the directive's arguments and the facts, called in place.
type IncludeFn<'a> = dyn FnMut(&str, &mut SshdFacts) + 'a;

/// Parse one file; `include` is called for `Include` lines of the global section.
fn parse_sshd_with(text: &str, file: &str, s: &mut SshdFacts, include: &mut IncludeFn<'_>) {
    let mut global = true;
    for (n, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        let (k, v) = t
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or((t, ""));
        let k = k.to_ascii_lowercase();
        let v = v.trim().trim_start_matches('=').trim();
        if k == "match" {
            // `Match all` matches every connection: what follows is global again.
            global = v.eq_ignore_ascii_case("all");
            continue;
        }
        if !global {
            continue;
        }
        let val = Value {
            value: v.to_string(),
            file: file.into(),
            line: line_u32(n),
        };
        match k.as_str() {
            "include" => include(v, s),
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

/// `fnmatch(3)`-style match of one path component: `*`, `?`, `[…]` (with `!`/`^` and ranges).
/// Iterative with one backtrack point, so linear-ish in the name for any number of `*`.
pub fn glob_match(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // A leading dot is matched only explicitly, as glob(3) does.
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let c = n.get(ni).copied().unwrap_or_default();
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi = pi.saturating_add(1);
                continue;
            }
            Some('?') => {
                pi = pi.saturating_add(1);
                ni = ni.saturating_add(1);
                continue;
            }
            Some('[') => {
                if let Some((ok, next)) = class_match(&p, pi, c) {
                    if ok {
                        pi = next;
                        ni = ni.saturating_add(1);
                        continue;
                    }
                } else if c == '[' {
                    pi = pi.saturating_add(1);
                    ni = ni.saturating_add(1);
                    continue;
                }
            }
            Some(&x) if x == c => {
                pi = pi.saturating_add(1);
                ni = ni.saturating_add(1);
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sn)) => {
                pi = sp.saturating_add(1);
                ni = sn.saturating_add(1);
                star = Some((sp, ni));
            }
            None => return false,
        }
    }
    p.iter().skip(pi).all(|&c| c == '*')
}

/// `[…]` at `p[start]`: (matches `c`, index after `]`); `None` when unterminated.
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start.checked_add(1)?;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i = i.checked_add(1)?;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let x = *p.get(i)?;
        if x == ']' && !first {
            return Some((hit != negate, i.checked_add(1)?));
        }
        first = false;
        if p.get(i.checked_add(1)?) == Some(&'-')
            && p.get(i.checked_add(2)?).is_some_and(|e| *e != ']')
        {
            let hi = *p.get(i.checked_add(2)?)?;
            hit |= x <= c && c <= hi;
            i = i.checked_add(3)?;
        } else {
            hit |= x == c;
            i = i.checked_add(1)?;
        }
    }
}

/// Expand an `Include` argument to guest paths, sorted as glob(3) returns them. Relative
/// patterns are relative to `/etc/ssh`; `..` stays inside the guest (the view clamps it).
pub fn expand_include(view: &GuestView, pattern: &str) -> Vec<String> {
    let full = if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("/etc/ssh/{pattern}")
    };
    let mut cur: Vec<String> = vec![String::new()];
    // `..` and `.` resolved lexically, clamped at the guest root.
    let mut comps: Vec<&str> = Vec::new();
    for c in full.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                comps.pop();
            }
            c => comps.push(c),
        }
    }
    for (i, comp) in comps.iter().enumerate() {
        let last = i.saturating_add(1) == comps.len();
        let mut next = Vec::new();
        for base in &cur {
            if comp.contains(['*', '?', '[']) {
                let dir = if base.is_empty() { "/" } else { base.as_str() };
                let Ok(mut ents) = view.read_dir(dir) else {
                    continue;
                };
                ents.truncate(GLOB_MAX_ENTRIES);
                let mut names: Vec<String> = ents
                    .into_iter()
                    .map(|e| e.name)
                    .filter(|n| glob_match(comp, n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| format!("{base}/{n}")));
            } else {
                next.push(format!("{base}/{comp}"));
            }
        }
        next.truncate(SSHD_MAX_FILES);
        cur = next;
        if last {
            break;
        }
    }
    cur.into_iter()
        .filter(|p| !p.is_empty())
        .filter(|p| {
            view.metadata(p)
                .is_ok_and(|m| m.file_type == imgcheck_fs::FileType::File)
        })
        .collect()
}

/// Read `/etc/ssh/sshd_config` following `Include` as sshd does: in place, globs expanded in
/// sorted order, relative patterns under `/etc/ssh`, nesting at most 16 deep and 256 files,
/// only includes of the global section (an `Include` inside a `Match` block is conditional),
/// first value wins across all files. Returns false when the main file is absent.
pub fn read_sshd(view: &GuestView, s: &mut SshdFacts) -> bool {
    fn walk(view: &GuestView, path: &str, depth: u32, s: &mut SshdFacts, budget: &mut usize) {
        let text = match view.read_text(path, MAX_CFG) {
            Ok(t) => t,
            Err(e) => {
                s.include_problems.push(format!("{path}: {e}"));
                return;
            }
        };
        s.config_files.push(path.to_string());
        parse_sshd_with(&text, path, s, &mut |arg, s| {
            for pat in arg.split_whitespace() {
                for f in expand_include(view, pat) {
                    if depth >= SSHD_MAX_DEPTH || *budget == 0 {
                        s.include_problems.push(format!(
                            "{path}: Include {f} not read (nesting or file limit)"
                        ));
                        continue;
                    }
                    *budget = budget.saturating_sub(1);
                    walk(view, &f, depth.saturating_add(1), s, budget);
                }
            }
        });
    }
    if !view.exists("/etc/ssh/sshd_config") {
        return false;
    }
    let mut budget = SSHD_MAX_FILES;
    walk(view, "/etc/ssh/sshd_config", 0, s, &mut budget);
    !s.config_files.is_empty()
}

/// The guest's time zone and where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timezone {
    /// IANA zone name, e.g. `Etc/UTC`, `Asia/Shanghai`.
    pub zone: String,
    /// `/etc/localtime` (symlink into zoneinfo), `/etc/timezone`, or `/etc/sysconfig/clock`.
    pub source: String,
    /// The symlink target or the line the name was read from.
    pub detail: String,
}

/// The zone name of a zoneinfo path (`../usr/share/zoneinfo/Europe/Berlin` → `Europe/Berlin`;
/// the `posix/` and `right/` variants name the same zone).
pub fn zone_from_link(target: &str) -> Option<String> {
    let (_, rest) = target.rsplit_once("zoneinfo/")?;
    let rest = rest
        .strip_prefix("posix/")
        .or_else(|| rest.strip_prefix("right/"))
        .unwrap_or(rest);
    Some(rest.trim_matches('/').to_string()).filter(|z| valid_zone(z))
}

/// A plausible zone name: letters, digits, `/_+-`, no `..`.
fn valid_zone(z: &str) -> bool {
    !z.is_empty()
        && z.len() <= 128
        && !z.contains("..")
        && z.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '-'))
}

/// The time zone (`localtime(5)`: `/etc/localtime` a symlink into zoneinfo; else Debian's
/// `/etc/timezone`; else `ZONE=` (or SUSE's `TIMEZONE=`) in `/etc/sysconfig/clock`).
pub fn timezone(view: &GuestView) -> Option<Timezone> {
    if let Ok(t) = view.read_link("/etc/localtime") {
        if let Some(zone) = zone_from_link(&t) {
            return Some(Timezone {
                zone,
                source: "/etc/localtime".into(),
                detail: format!("/etc/localtime -> {t}"),
            });
        }
    }
    if let Ok(t) = view.read_text("/etc/timezone", 4096) {
        let line = t
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'));
        if let Some(z) = line.filter(|z| valid_zone(z)) {
            return Some(Timezone {
                zone: z.to_string(),
                source: "/etc/timezone".into(),
                detail: z.to_string(),
            });
        }
    }
    if let Ok(t) = view.read_text("/etc/sysconfig/clock", 64 * 1024) {
        let v = parse_shell_vars(&t);
        for key in ["ZONE", "TIMEZONE"] {
            if let Some((z, line)) = v.get(key) {
                if valid_zone(z) {
                    return Some(Timezone {
                        zone: z.clone(),
                        source: "/etc/sysconfig/clock".into(),
                        detail: format!("line {line}: {key}={z}"),
                    });
                }
            }
        }
    }
    None
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
    s.config_present = read_sshd(view, s);
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

    #[test]
    fn sshd_include_debian_layout() {
        // Debian 12: Include at the top, a cloud-init drop-in that sets PasswordAuthentication
        // first, a Match block whose settings are not global, and an Include inside it.
        let view = MemFs::new()
            .file(
                "/etc/ssh/sshd_config",
                "# defaults\nInclude /etc/ssh/sshd_config.d/*.conf\nPort 22\nPasswordAuthentication yes\nPermitRootLogin prohibit-password\nMatch User backup\nInclude match.d/*.conf\nPermitRootLogin yes\n",
            )
            .file(
                "/etc/ssh/sshd_config.d/50-cloud-init.conf",
                "PasswordAuthentication no\nInclude extra/nested.conf\n",
            )
            .file("/etc/ssh/sshd_config.d/10-port.conf", "Port 2222\nMatch Address 10.0.0.0/8\nPermitRootLogin no\nMatch all\nListenAddress 0.0.0.0\n")
            .file("/etc/ssh/sshd_config.d/README", "PermitRootLogin no\n")
            .file("/etc/ssh/sshd_config.d/.hidden.conf", "PermitRootLogin no\n")
            .file("/etc/ssh/extra/nested.conf", "PermitRootLogin without-password\n")
            .file("/etc/ssh/match.d/x.conf", "PasswordAuthentication yes\n")
            .view();
        let mut s = SshdFacts::default();
        assert!(read_sshd(&view, &mut s));
        assert_eq!(
            s.config_files,
            vec![
                "/etc/ssh/sshd_config",
                "/etc/ssh/sshd_config.d/10-port.conf",
                "/etc/ssh/sshd_config.d/50-cloud-init.conf",
                "/etc/ssh/extra/nested.conf",
            ]
        );
        let pa = s.password_authentication.as_ref().unwrap();
        assert_eq!(
            (pa.value.as_str(), pa.file.as_str(), pa.line),
            ("no", "/etc/ssh/sshd_config.d/50-cloud-init.conf", 1)
        );
        let prl = s.permit_root_login.as_ref().unwrap();
        assert_eq!(
            (prl.value.as_str(), prl.file.as_str(), prl.line),
            ("without-password", "/etc/ssh/extra/nested.conf", 1)
        );
        let ports: Vec<(&str, &str, u32)> = s
            .ports
            .iter()
            .map(|v| (v.value.as_str(), v.file.as_str(), v.line))
            .collect();
        assert_eq!(
            ports,
            vec![
                ("2222", "/etc/ssh/sshd_config.d/10-port.conf", 1),
                ("22", "/etc/ssh/sshd_config", 3)
            ]
        );
        assert_eq!(s.listen_addresses[0].line, 5);
        assert!(s.include_problems.is_empty());
    }

    #[test]
    fn sshd_include_loops_are_bounded() {
        let view = MemFs::new()
            .file("/etc/ssh/sshd_config", "Include sshd_config\nPort 1\n")
            .view();
        let mut s = SshdFacts::default();
        assert!(read_sshd(&view, &mut s));
        assert_eq!(s.config_files.len(), 17);
        assert_eq!(s.ports.len(), 17);
        assert_eq!(s.include_problems.len(), 1, "{:?}", s.include_problems);
        // Absolute paths and `..` stay inside the guest; a missing include is no problem.
        let view = MemFs::new()
            .file(
                "/etc/ssh/sshd_config",
                "Include ../../../../etc/ssh/x.conf /nonexistent/*.conf\n",
            )
            .file("/etc/ssh/x.conf", "PermitRootLogin no\n")
            .view();
        let mut s = SshdFacts::default();
        assert!(read_sshd(&view, &mut s));
        assert_eq!(s.permit_root_login.unwrap().file, "/etc/ssh/x.conf");
        let mut s = SshdFacts::default();
        assert!(!read_sshd(&MemFs::new().view(), &mut s));
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.conf", "50-cloud-init.conf"));
        assert!(!glob_match("*.conf", "README"));
        assert!(!glob_match("*.conf", ".hidden.conf"));
        assert!(glob_match(".*.conf", ".hidden.conf"));
        assert!(glob_match("[0-4]?-*", "10-port.conf"));
        assert!(!glob_match("[!0-4]*", "10-port.conf"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("x[", "x["));
        assert!(glob_match(&"*".repeat(40), &"a".repeat(200)));
        assert!(!glob_match(&"*a".repeat(20), &"b".repeat(200)));
    }

    #[test]
    fn timezones() {
        let tz = |fs: MemFs| timezone(&fs.view());
        let t = tz(MemFs::new().link("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC")).unwrap();
        assert_eq!(
            (t.zone.as_str(), t.source.as_str(), t.detail.as_str()),
            (
                "Etc/UTC",
                "/etc/localtime",
                "/etc/localtime -> /usr/share/zoneinfo/Etc/UTC"
            )
        );
        let t = tz(MemFs::new()
            .link(
                "/etc/localtime",
                "../usr/share/zoneinfo/posix/Asia/Shanghai",
            )
            .file("/etc/timezone", "Europe/Berlin\n"))
        .unwrap();
        assert_eq!(t.zone, "Asia/Shanghai");
        // A copied file (not a link): /etc/timezone names it.
        let t = tz(MemFs::new()
            .file("/etc/localtime", "TZif2")
            .file("/etc/timezone", "# x\nEurope/Berlin\n"))
        .unwrap();
        assert_eq!(
            (t.zone.as_str(), t.source.as_str()),
            ("Europe/Berlin", "/etc/timezone")
        );
        let t = tz(MemFs::new().file(
            "/etc/sysconfig/clock",
            "UTC=true\nZONE=\"America/New_York\"\n",
        ))
        .unwrap();
        assert_eq!(
            (t.zone.as_str(), t.source.as_str(), t.detail.as_str()),
            (
                "America/New_York",
                "/etc/sysconfig/clock",
                "line 2: ZONE=America/New_York"
            )
        );
        let t =
            tz(MemFs::new().file("/etc/sysconfig/clock", "TIMEZONE=\"Europe/Paris\"\n")).unwrap();
        assert_eq!(t.zone, "Europe/Paris");
        assert_eq!(tz(MemFs::new().link("/etc/localtime", "/etc/passwd")), None);
        assert_eq!(
            tz(MemFs::new().file("/etc/timezone", "../../etc/x\n")),
            None
        );
        assert_eq!(tz(MemFs::new()), None);
    }
}
