//! Service enablement: systemd units and SysV init scripts, read offline the way
//! `systemctl is-enabled` would decide from the unit search path (`systemd.unit(5)`,
//! `systemd.syntax`, "[Install] section" semantics: enabling = a symlink in a `*.wants/` or
//! `*.requires/` directory; masking = a unit file symlinked to `/dev/null` in `/etc`), plus
//! SysV runlevel links `/etc/rc[0-6].d/S*` (and `/etc/rc.d/rc[0-6].d`), plus OpenRC's runlevel
//! links `/etc/runlevels/{sysinit,boot,default}/NAME` → `/etc/init.d/NAME` (what `rc-update add`
//! writes; openrc(8)). Own code: directory listings and symlinks only.

use crate::view::GuestView;
use imgcheck_fs::FileType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// systemd unit directories, highest precedence first (`/run` is empty offline).
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];
/// SysV runlevel directories.
const RC_DIRS: &[&str] = &["/etc", "/etc/rc.d"];
/// SysV script directories (Debian `/etc/init.d`; RHEL `/etc/rc.d/init.d`, with `/etc/init.d`
/// usually a link to it).
const SYSV_SCRIPT_DIRS: &[&str] = &["/etc/init.d", "/etc/rc.d/init.d"];
/// OpenRC runlevels entered at boot (`shutdown` and custom runlevels are not).
const OPENRC_BOOT_LEVELS: &[&str] = &["sysinit", "boot", "default"];
/// Most enabled units reported.
const MAX_ENABLED_LIST: usize = 2000;

/// State of one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitState {
    /// The unit asked about.
    pub name: String,
    /// A unit file (or alias, or SysV script) exists.
    pub exists: bool,
    /// Guest path of the unit file found first in the search path.
    pub unit_path: Option<String>,
    /// The unit this name is an alias of (a symlink to another unit file).
    pub alias_of: Option<String>,
    /// Enabled (a wants/requires symlink, or a SysV `S` link).
    pub enabled: bool,
    /// Masked (symlink to `/dev/null` in a unit directory).
    pub masked: bool,
    /// Paths that prove the state.
    pub evidence: Vec<String>,
}

/// An index of the guest's unit directories, built once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceIndex {
    /// Unit name → guest path of its file (first in search order).
    pub units: BTreeMap<String, String>,
    /// Unit name → the symlinks in `*.wants/` / `*.requires/` that enable it.
    pub wants: BTreeMap<String, Vec<String>>,
    /// Masked unit name → the `/dev/null` symlink.
    pub masked: BTreeMap<String, String>,
    /// Alias unit name → unit it points to.
    pub aliases: BTreeMap<String, String>,
    /// SysV script name → its `S` links.
    pub sysv_start: BTreeMap<String, Vec<String>>,
    /// SysV scripts in `/etc/init.d` (or `/etc/rc.d/init.d`) → that directory.
    pub sysv_scripts: BTreeMap<String, String>,
    /// OpenRC service name → its links in the boot runlevels.
    #[serde(default)]
    pub openrc: BTreeMap<String, Vec<String>>,
}

fn base(target: &str) -> &str {
    target.rsplit('/').next().unwrap_or(target)
}

impl ServiceIndex {
    /// Read the unit directories and rc links of the guest.
    pub fn load(view: &GuestView) -> ServiceIndex {
        let mut ix = ServiceIndex::default();
        for dir in UNIT_DIRS {
            let Ok(entries) = view.read_dir(dir) else {
                continue;
            };
            for e in entries {
                let path = format!("{dir}/{}", e.name);
                match e.file_type {
                    FileType::Dir
                        if e.name.ends_with(".wants") || e.name.ends_with(".requires") =>
                    {
                        if let Ok(links) = view.read_dir(&path) {
                            for l in links {
                                ix.wants
                                    .entry(l.name.clone())
                                    .or_default()
                                    .push(format!("{path}/{}", l.name));
                            }
                        }
                    }
                    FileType::Symlink => {
                        let target = view.read_link(&path).unwrap_or_default();
                        if target == "/dev/null" {
                            ix.masked.entry(e.name.clone()).or_insert(path);
                        } else {
                            let t = base(&target).to_string();
                            if t != e.name && is_unit_name(&t) {
                                ix.aliases.entry(e.name.clone()).or_insert(t);
                            }
                            ix.units.entry(e.name.clone()).or_insert(path);
                        }
                    }
                    FileType::File if is_unit_name(&e.name) => {
                        ix.units.entry(e.name.clone()).or_insert(path);
                    }
                    _ => {}
                }
            }
        }
        for root in RC_DIRS {
            for level in 0..=6u8 {
                let dir = format!("{root}/rc{level}.d");
                let Ok(entries) = view.read_dir(&dir) else {
                    continue;
                };
                for e in entries {
                    if let Some(rest) = e.name.strip_prefix('S') {
                        let name = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                        // A start link whose script is gone starts nothing.
                        if !name.is_empty() && view.exists(&format!("{dir}/{}", e.name)) {
                            ix.sysv_start
                                .entry(name.to_string())
                                .or_default()
                                .push(format!("{dir}/{}", e.name));
                        }
                    }
                }
            }
        }
        for level in OPENRC_BOOT_LEVELS {
            let dir = format!("/etc/runlevels/{level}");
            let Ok(entries) = view.read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let link = format!("{dir}/{}", e.name);
                // A link whose script is gone starts nothing.
                if view.exists(&link) {
                    ix.openrc.entry(e.name).or_default().push(link);
                }
            }
        }
        for dir in SYSV_SCRIPT_DIRS {
            if let Ok(entries) = view.read_dir(dir) {
                for e in entries {
                    ix.sysv_scripts
                        .entry(e.name)
                        .or_insert_with(|| (*dir).to_string());
                }
            }
        }
        ix
    }

    /// State of unit `name` (`sshd.service`; a name without a suffix means `.service`).
    pub fn unit_state(&self, name: &str) -> UnitState {
        let name = if name.contains('.') {
            name.to_string()
        } else {
            format!("{name}.service")
        };
        let mut s = UnitState {
            name: name.clone(),
            ..UnitState::default()
        };
        if let Some(m) = self.masked.get(&name) {
            s.masked = true;
            s.exists = true;
            s.evidence.push(format!("{m} -> /dev/null"));
        }
        s.unit_path = self.units.get(&name).cloned();
        s.alias_of = self.aliases.get(&name).cloned();
        // Names that are enabled through this unit: itself, what it aliases, and its aliases.
        let mut names: Vec<&str> = vec![name.as_str()];
        if let Some(a) = &s.alias_of {
            names.push(a.as_str());
        }
        for (alias, target) in &self.aliases {
            if *target == name {
                names.push(alias.as_str());
            }
        }
        if s.unit_path.is_none() {
            if let Some(a) = &s.alias_of {
                s.unit_path = self.units.get(a).cloned();
            }
        }
        s.exists |= s.unit_path.is_some();
        for n in &names {
            if let Some(w) = self.wants.get(*n) {
                s.enabled = true;
                s.evidence.extend(w.iter().cloned());
            }
        }
        if let Some(script) = name.strip_suffix(".service") {
            if let Some(dir) = self.sysv_scripts.get(script) {
                s.exists = true;
                s.evidence.push(format!("{dir}/{script}"));
            }
            if let Some(links) = self.sysv_start.get(script) {
                s.enabled = true;
                s.evidence.extend(links.iter().cloned());
            }
            if let Some(links) = self.openrc.get(script) {
                s.enabled = true;
                s.evidence.extend(links.iter().cloned());
            }
        }
        if s.masked {
            s.enabled = false;
        }
        s
    }

    /// Enabled units (wants/requires links and SysV start links), sorted, at most 2000.
    pub fn enabled_units(&self) -> Vec<String> {
        let mut v: BTreeSet<String> = self
            .wants
            .keys()
            .filter(|n| !self.masked.contains_key(*n))
            .cloned()
            .collect();
        for s in self.sysv_start.keys() {
            v.insert(format!("{s} (sysv)"));
        }
        for s in self.openrc.keys() {
            v.insert(format!("{s} (openrc)"));
        }
        v.into_iter().take(MAX_ENABLED_LIST).collect()
    }
}

fn is_unit_name(n: &str) -> bool {
    [
        ".service",
        ".socket",
        ".target",
        ".timer",
        ".mount",
        ".path",
        ".slice",
        ".scope",
        ".automount",
        ".swap",
        ".device",
    ]
    .iter()
    .any(|s| n.ends_with(s))
}

/// State of one unit, reading the guest's unit directories (use [`ServiceIndex`] for many).
pub fn unit_state(view: &GuestView, name: &str) -> UnitState {
    ServiceIndex::load(view).unit_state(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::testfs::MemFs;

    #[test]
    fn systemd_and_sysv() {
        let fs = MemFs::new()
            .file("/usr/lib/systemd/system/ssh.service", "[Unit]\n")
            .link(
                "/etc/systemd/system/sshd.service",
                "/usr/lib/systemd/system/ssh.service",
            )
            .link(
                "/etc/systemd/system/multi-user.target.wants/ssh.service",
                "/usr/lib/systemd/system/ssh.service",
            )
            .file("/lib/systemd/system/firewalld.service", "x")
            .link("/etc/systemd/system/firewalld.service", "/dev/null")
            .link(
                "/etc/systemd/system/multi-user.target.wants/firewalld.service",
                "/lib/systemd/system/firewalld.service",
            )
            .file("/etc/init.d/aegis", "#!/bin/sh")
            .link("/etc/rc3.d/S50aegis", "../init.d/aegis")
            .file("/usr/lib/systemd/system/cloud-init.service", "x");
        let view = fs.view();
        let ix = ServiceIndex::load(&view);
        let s = ix.unit_state("sshd.service");
        assert!(s.exists && s.enabled && !s.masked, "{s:?}");
        assert_eq!(s.alias_of.as_deref(), Some("ssh.service"));
        let s = ix.unit_state("ssh");
        assert!(s.exists && s.enabled, "{s:?}");
        assert_eq!(
            s.unit_path.as_deref(),
            Some("/usr/lib/systemd/system/ssh.service")
        );
        let s = ix.unit_state("firewalld.service");
        assert!(s.masked && !s.enabled && s.exists, "{s:?}");
        let s = ix.unit_state("aegis.service");
        assert!(s.exists && s.enabled, "{s:?}");
        assert!(s.evidence.contains(&"/etc/rc3.d/S50aegis".to_string()));
        let s = ix.unit_state("cloud-init.service");
        assert!(s.exists && !s.enabled);
        let s = unit_state(&view, "nothing.service");
        assert!(!s.exists && !s.enabled && s.evidence.is_empty());
        let en = ix.enabled_units();
        assert_eq!(
            en,
            vec!["aegis (sysv)".to_string(), "ssh.service".to_string()]
        );
    }

    #[test]
    fn openrc_runlevels() {
        // Alpine: rc-update's links; a shutdown-runlevel link and a dangling link enable nothing.
        let view = MemFs::new()
            .file("/etc/init.d/sshd", "#!/sbin/openrc-run\n")
            .file("/etc/init.d/networking", "#!/sbin/openrc-run\n")
            .file("/etc/init.d/killprocs", "#!/sbin/openrc-run\n")
            .file("/etc/init.d/crond", "#!/sbin/openrc-run\n")
            .link("/etc/runlevels/default/sshd", "/etc/init.d/sshd")
            .link("/etc/runlevels/boot/networking", "/etc/init.d/networking")
            .link("/etc/runlevels/shutdown/killprocs", "/etc/init.d/killprocs")
            .link("/etc/runlevels/default/gone", "/etc/init.d/gone")
            .view();
        let ix = ServiceIndex::load(&view);
        let s = ix.unit_state("sshd.service");
        assert!(s.exists && s.enabled, "{s:?}");
        assert_eq!(
            s.evidence,
            vec![
                "/etc/init.d/sshd".to_string(),
                "/etc/runlevels/default/sshd".to_string()
            ]
        );
        assert!(!ix.unit_state("killprocs").enabled);
        assert!(ix.unit_state("crond").exists && !ix.unit_state("crond").enabled);
        assert!(!ix.unit_state("gone").enabled);
        assert_eq!(
            ix.enabled_units(),
            vec![
                "networking (openrc)".to_string(),
                "sshd (openrc)".to_string()
            ]
        );
    }

    #[test]
    fn sysv_enabled_qemu_guest_agent() {
        // Debian: a native unit without [Install] (static) plus the init script that
        // update-rc.d linked into the runlevels; the rc links enable it.
        let view = MemFs::new()
            .file("/lib/systemd/system/qemu-guest-agent.service", "[Unit]\n")
            .file("/etc/init.d/qemu-guest-agent", "#!/bin/sh")
            .link(
                "/etc/rc2.d/S01qemu-guest-agent",
                "../init.d/qemu-guest-agent",
            )
            .link(
                "/etc/rc3.d/S01qemu-guest-agent",
                "../init.d/qemu-guest-agent",
            )
            .link(
                "/etc/rc0.d/K01qemu-guest-agent",
                "../init.d/qemu-guest-agent",
            )
            .view();
        let s = ServiceIndex::load(&view).unit_state("qemu-guest-agent.service");
        assert!(s.exists && s.enabled, "{s:?}");
        assert_eq!(
            s.evidence,
            vec![
                "/etc/init.d/qemu-guest-agent".to_string(),
                "/etc/rc2.d/S01qemu-guest-agent".to_string(),
                "/etc/rc3.d/S01qemu-guest-agent".to_string(),
            ]
        );
        // RHEL's /etc/rc.d layout; only K links: not enabled.
        let view = MemFs::new()
            .file("/etc/rc.d/init.d/qemu-ga", "#!/bin/sh")
            .link("/etc/rc.d/rc3.d/S99qemu-ga", "../init.d/qemu-ga")
            .file("/etc/init.d/other", "#!/bin/sh")
            .link("/etc/rc3.d/K20other", "../init.d/other")
            .view();
        let ix = ServiceIndex::load(&view);
        let s = ix.unit_state("qemu-ga");
        assert!(s.exists && s.enabled, "{s:?}");
        assert!(s.evidence.contains(&"/etc/rc.d/init.d/qemu-ga".to_string()));
        let s = ix.unit_state("other");
        assert!(s.exists && !s.enabled, "{s:?}");
        // A start link whose script is gone enables nothing.
        let view = MemFs::new()
            .link(
                "/etc/rc2.d/S01qemu-guest-agent",
                "../init.d/qemu-guest-agent",
            )
            .view();
        let s = ServiceIndex::load(&view).unit_state("qemu-guest-agent");
        assert!(!s.enabled && !s.exists, "{s:?}");
    }
}
