//! Bootloader configuration: which kernel boots by default, with which initrd and command line.
//!
//! Sources: the GRUB 2 manual (shell-like `grub.cfg` syntax: `set`, `menuentry`/`submenu`
//! blocks, `linux`/`linux16`/`linuxefi`, `initrd*`, `search --set=root`, `configfile`, the
//! `default` variable as a number, title or id with `>`-joined submenu paths, `grubenv` as a
//! 1024-byte `key=value` block), the Boot Loader Specification (`/boot/loader/entries/*.conf`:
//! `title`, `version`, `linux`, `initrd`, `options`; RHEL 8+/Fedora `blscfg` with `$kernelopts`
//! from grubenv), GRUB legacy's `menu.lst`/`grub.conf` (`default`, `title`, `kernel`, `initrd`),
//! SYSLINUX/EXTLINUX configs (`extlinux.conf`, `syslinux.cfg`: case-insensitive `DEFAULT`,
//! `LABEL`, `KERNEL`/`LINUX`, `INITRD`, `APPEND`, `MENU LABEL`, `MENU DEFAULT`; paths relative to
//! the config's directory — the syslinux wiki's "Config" page; Alpine's `update-extlinux` writes
//! `/boot/extlinux.conf`), and `/etc/default/grub` (shell assignments read by `grub-mkconfig`).
//! Own code: text formats
//! that no crate parses the way virt-v2v's `linux_bootloaders.ml` needs.
//!
//! Every entry keeps the file and line it came from so that checks can cite them.

use crate::view::GuestView;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bytes read of one config file.
const MAX_CFG: u64 = 4 << 20;
/// Most BLS entries / default-grub fragments read.
const MAX_FILES: usize = 512;
/// Most menu entries kept from one config.
const MAX_ENTRIES: usize = 4096;
/// GRUB 2 configs, in search order (virt-v2v: `/boot/grub2`, `/boot/grub`, then the ESP).
const GRUB2_CFGS: &[&str] = &["/boot/grub2/grub.cfg", "/boot/grub/grub.cfg"];
/// GRUB legacy configs.
const LEGACY_CFGS: &[&str] = &[
    "/boot/grub/menu.lst",
    "/boot/grub/grub.conf",
    "/boot/grub2/menu.lst",
];
/// SYSLINUX/EXTLINUX configs, in the order `extlinux` and `syslinux` look for them.
const EXTLINUX_CFGS: &[&str] = &[
    "/boot/extlinux.conf",
    "/boot/extlinux/extlinux.conf",
    "/extlinux.conf",
    "/boot/syslinux/syslinux.cfg",
    "/boot/syslinux.cfg",
    "/syslinux/syslinux.cfg",
];
/// grubenv locations.
const GRUBENV: &[&str] = &["/boot/grub2/grubenv", "/boot/grub/grubenv"];
/// BLS entry directory.
const BLS_DIR: &str = "/boot/loader/entries";

/// One boot menu entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootEntry {
    /// Menu title (submenu titles joined with `>`).
    pub title: String,
    /// `--id`/`$menuentry_id_option` id or BLS file id (submenu ids joined with `>`).
    pub id: Option<String>,
    /// Kernel path as written.
    pub kernel_raw: Option<String>,
    /// Kernel as a guest path (resolved relative to `/boot` when that is a separate filesystem).
    pub kernel: Option<String>,
    /// Kernel version from the file name (`vmlinuz-<version>`) or the BLS `version` key.
    pub version: Option<String>,
    /// initrd guest paths, in order (early microcode images first).
    pub initrd: Vec<String>,
    /// Kernel command line (BLS `$kernelopts` expanded from grubenv).
    pub cmdline: String,
    /// `search … --set=root` UUID/label in effect, or `set root=` value.
    pub root_device: Option<String>,
    /// File the entry comes from.
    pub source: String,
    /// Line of the entry's start (`menuentry`, `title`, or 1 for BLS) in `source`.
    pub line: u32,
    /// Line of the `linux`/`kernel` command.
    pub kernel_line: Option<u32>,
}

/// A value with where it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// Value after shell unquoting.
    pub value: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: u32,
}

/// What the bootloader configuration says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootFacts {
    /// `grub2`, `bls`, `grub-legacy`, `extlinux` or `none`.
    pub loader: String,
    /// The config read (the real one, after following an EFI stub's `configfile`).
    pub config_path: Option<String>,
    /// EFI stub configs that only point at the real config.
    pub stubs: Vec<String>,
    /// The raw value of `default` (after grubenv substitution).
    pub default_spec: Option<String>,
    /// The default entry.
    pub default_entry: Option<BootEntry>,
    /// All entries (submenu children flattened, titles `>`-joined).
    pub entries: Vec<BootEntry>,
    /// grubenv variables.
    pub grubenv: BTreeMap<String, String>,
    /// `/etc/default/grub` (+ `grub.d/*.cfg`) and `/etc/sysconfig/grub` assignments.
    pub default_grub: BTreeMap<String, Setting>,
    /// Things that did not add up, with file and line.
    pub problems: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Shell-ish tokenising

/// Split a line into words with GRUB/sh quoting: `'…'` literal, `"…"` with `\` escapes,
/// backslash escapes outside quotes; `#` at a word start begins a comment.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(e) = chars.next() {
                                if !matches!(e, '"' | '\\' | '$') {
                                    cur.push('\\');
                                }
                                cur.push(e);
                            }
                        }
                        _ => cur.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    cur.push(e);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            ';' if !in_word || cur.is_empty() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                out.push(";".into());
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Expand `$name` / `${name}` from `vars` (unknown variables expand to nothing, as in GRUB).
fn expand(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut name = String::new();
        if chars.peek() == Some(&'{') {
            chars.next();
            for d in chars.by_ref() {
                if d == '}' {
                    break;
                }
                name.push(d);
            }
        } else {
            while let Some(&d) = chars.peek() {
                if d.is_ascii_alphanumeric() || d == '_' {
                    name.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
        }
        if name.is_empty() {
            out.push('$');
        } else if let Some(v) = vars.get(&name) {
            out.push_str(v);
        }
    }
    out
}

/// Strip a GRUB device prefix: `(hd0,msdos1)/vmlinuz` → `/vmlinuz`, `($root)/x` → `/x`.
fn strip_device(p: &str) -> String {
    if let Some(rest) = p.strip_prefix('(') {
        if let Some((_, path)) = rest.split_once(')') {
            return if path.is_empty() {
                "/".into()
            } else {
                path.into()
            };
        }
    }
    p.to_string()
}

/// Kernel version from a kernel file name: `vmlinuz-6.1.0-28-cloud-amd64` → `6.1.0-28-cloud-amd64`.
pub fn version_from_kernel(path: &str) -> Option<String> {
    let base = path.rsplit('/').next()?;
    ["vmlinuz-", "vmlinux-", "kernel-", "bzImage-", "Image-"]
        .iter()
        .find_map(|p| base.strip_prefix(p))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// How paths in a boot config map to guest paths.
#[derive(Debug, Clone, Copy)]
pub struct PathCtx {
    /// `/boot` is a separate filesystem: config paths are relative to it.
    pub boot_separate: bool,
}

impl PathCtx {
    fn guest(&self, raw: &str) -> String {
        let p = strip_device(raw);
        let p = if p.starts_with('/') {
            p
        } else {
            format!("/{p}")
        };
        if self.boot_separate && !p.starts_with("/boot/") {
            format!("/boot{p}")
        } else {
            p
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GRUB 2

/// A parsed grub.cfg.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grub2Cfg {
    /// Entries, flattened.
    pub entries: Vec<BootEntry>,
    /// Top-level entry index → (title, id, child count) for numeric `default` with submenus.
    pub top: Vec<TopItem>,
    /// `set default=` assignments: (value, line), in order.
    pub defaults: Vec<(String, u32)>,
    /// `configfile` targets (after expansion).
    pub configfiles: Vec<String>,
    /// Uses `blscfg`.
    pub blscfg: bool,
}

/// A top-level menu item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopItem {
    /// Title.
    pub title: String,
    /// Id.
    pub id: Option<String>,
    /// Indices into `entries`: one for a menuentry, the children for a submenu.
    pub children: Vec<usize>,
    /// Submenu child titles/ids (parallel to `children`).
    pub is_submenu: bool,
}

fn entry_title_id(w: &[String], vars: &BTreeMap<String, String>) -> (String, Option<String>) {
    let title = w.get(1).map(|t| expand(t, vars)).unwrap_or_default();
    let mut id = None;
    let mut i = 2usize;
    while let Some(a) = w.get(i) {
        if a == "--id" || a == "$menuentry_id_option" || a == "${menuentry_id_option}" {
            id = w.get(i.saturating_add(1)).cloned();
            i = i.saturating_add(1);
        } else if let Some(v) = a.strip_prefix("--id=") {
            id = Some(v.to_string());
        }
        i = i.saturating_add(1);
    }
    (title, id)
}

/// Parse grub.cfg text. `file` names it in entries; `ctx` maps paths to guest paths.
pub fn parse_grub2(text: &str, file: &str, ctx: PathCtx) -> Grub2Cfg {
    let mut cfg = Grub2Cfg::default();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("menuentry_id_option".into(), "--id".into());
    // Stack of open blocks: Some((title, id, top index)) for submenus/menuentries, None for
    // `if`/`function` and other braces.
    let mut submenus: Vec<(String, Option<String>)> = Vec::new();
    let mut current: Option<BootEntry> = None;
    let mut depth_braces: Vec<char> = Vec::new(); // 's' submenu, 'm' menuentry, 'o' other
    let mut root: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX);
        let all = words(raw);
        for w in all.split(|t| t == ";") {
            let Some(cmd) = w.first() else {
                continue;
            };
            match cmd.as_str() {
                "menuentry" | "submenu" => {
                    let (title, id) = entry_title_id(w, &vars);
                    let opens = w.last().is_some_and(|l| l == "{");
                    if cmd == "submenu" {
                        if submenus.is_empty() {
                            cfg.top.push(TopItem {
                                title: title.clone(),
                                id: id.clone(),
                                children: Vec::new(),
                                is_submenu: true,
                            });
                        }
                        submenus.push((title, id));
                        if opens {
                            depth_braces.push('s');
                        }
                    } else {
                        let mut full_title =
                            submenus.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>();
                        full_title.push(&title);
                        let ids: Option<Vec<String>> = submenus
                            .iter()
                            .map(|(_, i)| i.clone())
                            .chain(std::iter::once(id.clone()))
                            .collect();
                        current = Some(BootEntry {
                            title: full_title.join(">"),
                            id: ids.map(|v| v.join(">")),
                            root_device: root.clone(),
                            source: file.to_string(),
                            line: line_no,
                            ..BootEntry::default()
                        });
                        if opens {
                            depth_braces.push('m');
                        }
                    }
                }
                "}" => match depth_braces.pop() {
                    Some('m') => {
                        if let Some(e) = current.take() {
                            if cfg.entries.len() < MAX_ENTRIES {
                                let idx = cfg.entries.len();
                                cfg.entries.push(e);
                                if submenus.is_empty() {
                                    cfg.top.push(TopItem {
                                        title: cfg
                                            .entries
                                            .get(idx)
                                            .map(|e| e.title.clone())
                                            .unwrap_or_default(),
                                        id: cfg.entries.get(idx).and_then(|e| e.id.clone()),
                                        children: vec![idx],
                                        is_submenu: false,
                                    });
                                } else if let Some(t) = cfg.top.last_mut() {
                                    if submenus.len() == 1 {
                                        t.children.push(idx);
                                    }
                                }
                            }
                        }
                    }
                    Some('s') => {
                        submenus.pop();
                    }
                    _ => {}
                },
                "if" | "function" | "while" | "for" => {
                    if w.last().is_some_and(|l| l == "{") {
                        depth_braces.push('o');
                    }
                }
                "set" => {
                    if let Some(a) = w.get(1) {
                        if let Some((k, v)) = a.split_once('=') {
                            let v = if k == "default" {
                                v.to_string()
                            } else {
                                expand(v, &vars)
                            };
                            if k == "default" {
                                cfg.defaults.push((v.clone(), line_no));
                            }
                            if k == "root" {
                                let r = v.clone();
                                if let Some(e) = current.as_mut() {
                                    e.root_device = Some(r);
                                } else {
                                    root = Some(r);
                                }
                            }
                            vars.insert(k.to_string(), v);
                        }
                    }
                }
                "search" | "search.fs_uuid" | "search.fs_label" | "search.file" => {
                    // `search [--no-floppy] --fs-uuid --set=root UUID` / `search.fs_uuid UUID root`.
                    let args: Vec<&String> =
                        w.iter().skip(1).filter(|a| !a.starts_with("--")).collect();
                    let sets_root = w.iter().any(|a| a == "--set=root" || a == "--set")
                        || (cmd.starts_with("search.")
                            && args.get(1).is_some_and(|a| *a == "root"));
                    if sets_root {
                        let mut val = args.first().map(|s| s.to_string());
                        if w.iter().any(|a| a == "--set") {
                            val = args.get(1).map(|s| s.to_string()).or(val);
                        }
                        let kind = if w.iter().any(|a| a == "--fs-uuid") || cmd == "search.fs_uuid"
                        {
                            "UUID="
                        } else if w.iter().any(|a| a == "--label") || cmd == "search.fs_label" {
                            "LABEL="
                        } else {
                            "FILE="
                        };
                        let r = val.map(|v| format!("{kind}{v}"));
                        if let Some(e) = current.as_mut() {
                            e.root_device = r;
                        } else {
                            root = r;
                        }
                    }
                }
                "linux" | "linux16" | "linuxefi" | "kernel" => {
                    if let (Some(e), Some(p)) = (current.as_mut(), w.get(1)) {
                        let p = expand(p, &vars);
                        e.kernel = Some(ctx.guest(&p));
                        e.version = version_from_kernel(&p);
                        e.kernel_raw = Some(p);
                        e.cmdline = w
                            .iter()
                            .skip(2)
                            .map(|a| expand(a, &vars))
                            .collect::<Vec<_>>()
                            .join(" ");
                        e.kernel_line = Some(line_no);
                    }
                }
                "initrd" | "initrd16" | "initrdefi" => {
                    if let Some(e) = current.as_mut() {
                        e.initrd = w
                            .iter()
                            .skip(1)
                            .map(|a| ctx.guest(&expand(a, &vars)))
                            .collect();
                    }
                }
                "configfile" => {
                    if let Some(p) = w.get(1) {
                        cfg.configfiles.push(expand(p, &vars));
                    }
                }
                "blscfg" => cfg.blscfg = true,
                _ => {
                    if w.last().is_some_and(|l| l == "{") {
                        depth_braces.push('o');
                    }
                }
            }
        }
    }
    cfg
}

/// Resolve a GRUB `default` value (number, `a>b` path, title or id) to an entry index.
pub fn resolve_default(cfg: &Grub2Cfg, spec: &str) -> Option<usize> {
    let spec = spec.trim();
    let parts: Vec<&str> = spec.split('>').collect();
    let top_match = |p: &str| -> Option<usize> {
        if let Ok(n) = p.parse::<usize>() {
            return if n < cfg.top.len() { Some(n) } else { None };
        }
        cfg.top
            .iter()
            .position(|t| t.title == p || t.id.as_deref() == Some(p))
    };
    let first = parts.first()?;
    if let Some(t) = top_match(first).and_then(|i| cfg.top.get(i)) {
        if !t.is_submenu {
            return t.children.first().copied();
        }
        let child = parts.get(1).copied().unwrap_or("0");
        if let Ok(n) = child.parse::<usize>() {
            return t.children.get(n).copied();
        }
        return t.children.iter().copied().find(|&i| {
            cfg.entries.get(i).is_some_and(|e| {
                e.title.rsplit('>').next() == Some(child)
                    || e.id.as_deref().and_then(|x| x.rsplit('>').next()) == Some(child)
            })
        });
    }
    // A bare title or id of an entry inside a submenu (GRUB accepts ids anywhere).
    cfg.entries.iter().position(|e| {
        e.title == spec
            || e.id.as_deref() == Some(spec)
            || e.id.as_deref().and_then(|x| x.rsplit('>').next()) == Some(spec)
    })
}

/// Parse grubenv (`# GRUB Environment Block`, `key=value` lines, `#` padding).
pub fn parse_grubenv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// BLS

/// Parse one BLS entry file.
pub fn parse_bls(
    text: &str,
    file: &str,
    id: &str,
    ctx: PathCtx,
    env: &BTreeMap<String, String>,
) -> BootEntry {
    let mut e = BootEntry {
        id: Some(id.to_string()),
        source: file.to_string(),
        line: 1,
        ..BootEntry::default()
    };
    for (n, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (k, v) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let v = v.trim();
        match k {
            "title" => e.title = v.to_string(),
            "version" => e.version = Some(v.to_string()),
            "linux" => {
                e.kernel = Some(ctx.guest(v));
                e.kernel_raw = Some(v.to_string());
                e.kernel_line = u32::try_from(n.saturating_add(1)).ok();
                if e.version.is_none() {
                    e.version = version_from_kernel(v);
                }
            }
            "initrd" => e
                .initrd
                .extend(expand(v, env).split_whitespace().map(|p| ctx.guest(p))),
            "options" => {
                let o = expand(v, env);
                e.cmdline = if e.cmdline.is_empty() {
                    o
                } else {
                    format!("{} {o}", e.cmdline)
                };
            }
            _ => {}
        }
    }
    if e.title.is_empty() {
        e.title = id.to_string();
    }
    e
}

/// Compare version strings the way `rpmvercmp` does for digits/letters runs (enough to order
/// kernel versions: `5.14.0-70` < `5.14.0-362`).
pub fn vercmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let seg = |s: &str| -> Vec<String> {
        let mut v = Vec::new();
        let mut cur = String::new();
        let mut digit = None;
        for c in s.chars() {
            if !c.is_ascii_alphanumeric() {
                if !cur.is_empty() {
                    v.push(std::mem::take(&mut cur));
                }
                digit = None;
                continue;
            }
            let d = c.is_ascii_digit();
            if digit.is_some_and(|x| x != d) && !cur.is_empty() {
                v.push(std::mem::take(&mut cur));
            }
            digit = Some(d);
            cur.push(c);
        }
        if !cur.is_empty() {
            v.push(cur);
        }
        v
    };
    let (sa, sb) = (seg(a), seg(b));
    for (x, y) in sa.iter().zip(sb.iter()) {
        let o = match (x.parse::<u128>(), y.parse::<u128>()) {
            (Ok(p), Ok(q)) => p.cmp(&q),
            (Ok(_), Err(_)) => Ordering::Greater,
            (Err(_), Ok(_)) => Ordering::Less,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    sa.len().cmp(&sb.len())
}

// ---------------------------------------------------------------------------------------------
// GRUB legacy

/// Parse menu.lst / grub.conf: (`default` value, entries).
pub fn parse_legacy(text: &str, file: &str, ctx: PathCtx) -> (Option<String>, Vec<BootEntry>) {
    let mut default = None;
    let mut entries: Vec<BootEntry> = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let line_no = u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX);
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (k, v) = l
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or((l, ""));
        let v = v.trim();
        match k {
            "default" => default = Some(v.to_string()),
            "title" if entries.len() < MAX_ENTRIES => {
                entries.push(BootEntry {
                    title: v.to_string(),
                    source: file.to_string(),
                    line: line_no,
                    ..BootEntry::default()
                });
            }
            "root" => {
                if let Some(e) = entries.last_mut() {
                    e.root_device = Some(v.to_string());
                }
            }
            "kernel" => {
                if let Some(e) = entries.last_mut() {
                    let mut it = v.split_whitespace();
                    if let Some(p) = it.next() {
                        e.kernel = Some(ctx.guest(p));
                        e.version = version_from_kernel(p);
                        e.kernel_raw = Some(p.to_string());
                    }
                    e.cmdline = it.collect::<Vec<_>>().join(" ");
                    e.kernel_line = Some(line_no);
                }
            }
            "initrd" => {
                if let Some(e) = entries.last_mut() {
                    e.initrd = v.split_whitespace().map(|p| ctx.guest(p)).collect();
                }
            }
            _ => {}
        }
    }
    (default, entries)
}

// ---------------------------------------------------------------------------------------------
// SYSLINUX / EXTLINUX

/// A parsed extlinux.conf / syslinux.cfg.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtlinuxCfg {
    /// `DEFAULT` value (a label, or a menu module such as `menu.c32`).
    pub default: Option<String>,
    /// Labels, in order, with their entries.
    pub labels: Vec<String>,
    /// Entries, one per `LABEL`.
    pub entries: Vec<BootEntry>,
    /// Index of the entry marked `MENU DEFAULT`.
    pub menu_default: Option<usize>,
}

impl ExtlinuxCfg {
    /// The entry that boots: `DEFAULT` naming a label, else the `MENU DEFAULT` entry (a menu
    /// module as `DEFAULT`), else the first label.
    pub fn default_index(&self) -> Option<usize> {
        if let Some(d) = &self.default {
            // `DEFAULT label` may carry options after the label.
            let want = d.split_whitespace().next().unwrap_or("");
            if let Some(i) = self.labels.iter().position(|l| l == want) {
                return Some(i);
            }
        }
        self.menu_default
            .or_else(|| (!self.entries.is_empty()).then_some(0))
    }
}

/// Parse an extlinux.conf / syslinux.cfg read from guest path `file`. Relative kernel and
/// initrd paths are relative to the config's directory; absolute ones to the root of the
/// filesystem holding it (`ctx`).
pub fn parse_extlinux(text: &str, file: &str, ctx: PathCtx) -> ExtlinuxCfg {
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    let path = |raw: &str| {
        if raw.starts_with('/') {
            ctx.guest(raw)
        } else {
            format!("{dir}/{raw}")
        }
    };
    let mut c = ExtlinuxCfg::default();
    for (n, l) in text.lines().enumerate() {
        let line_no = u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX);
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (k, v) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let v = v.trim();
        let key = k.to_ascii_uppercase();
        match key.as_str() {
            "DEFAULT" => c.default = Some(v.to_string()),
            "LABEL" if c.entries.len() < MAX_ENTRIES => {
                c.labels.push(v.to_string());
                c.entries.push(BootEntry {
                    title: v.to_string(),
                    id: Some(v.to_string()),
                    source: file.to_string(),
                    line: line_no,
                    ..BootEntry::default()
                });
            }
            "MENU" => {
                let (sub, rest) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
                let last = c.entries.len().checked_sub(1);
                match (sub.to_ascii_uppercase().as_str(), last) {
                    ("LABEL", Some(i)) => {
                        if let Some(e) = c.entries.get_mut(i) {
                            e.title = rest.trim().to_string();
                        }
                    }
                    ("DEFAULT", Some(i)) => c.menu_default = Some(i),
                    _ => {}
                }
            }
            "KERNEL" | "LINUX" => {
                if let Some(e) = c.entries.last_mut() {
                    e.kernel_raw = Some(v.to_string());
                    e.kernel = Some(path(v));
                    e.version = version_from_kernel(v);
                    e.kernel_line = Some(line_no);
                }
            }
            "INITRD" => {
                if let Some(e) = c.entries.last_mut() {
                    e.initrd = v
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(path)
                        .collect();
                }
            }
            "APPEND" => {
                if let Some(e) = c.entries.last_mut() {
                    let mut opts = Vec::new();
                    for w in v.split_whitespace() {
                        // `initrd=` on the APPEND line names initrds too (syslinux's own
                        // convention); it is not passed to the kernel as such.
                        match w.strip_prefix("initrd=") {
                            Some(list) if e.initrd.is_empty() => {
                                e.initrd = list
                                    .split(',')
                                    .filter(|p| !p.is_empty())
                                    .map(path)
                                    .collect();
                            }
                            _ => opts.push(w),
                        }
                    }
                    e.cmdline = opts.join(" ");
                    e.root_device = opts
                        .iter()
                        .find_map(|w| w.strip_prefix("root="))
                        .map(str::to_string);
                }
            }
            _ => {}
        }
    }
    c
}

// ---------------------------------------------------------------------------------------------
// /etc/default/grub

/// Parse shell assignments (`KEY=value`, `KEY="a $OTHER"`, `export KEY=…`), expanding
/// variables set earlier. `into` accumulates across files.
pub fn parse_default_grub(text: &str, file: &str, into: &mut BTreeMap<String, Setting>) {
    for (n, l) in text.lines().enumerate() {
        let t = l.trim();
        let t = t.strip_prefix("export ").unwrap_or(t);
        let Some((k, _)) = t.split_once('=') else {
            continue;
        };
        if k.is_empty()
            || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || k.starts_with(|c: char| c.is_ascii_digit())
        {
            continue;
        }
        let vars: BTreeMap<String, String> = into
            .iter()
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect();
        // Re-tokenise the value with shell quoting; `$` expansion only outside single quotes is
        // approximated by expanding the joined words.
        let rhs = t.get(k.len().saturating_add(1)..).unwrap_or("");
        // A command substitution (Ubuntu's GRUB_DISTRIBUTOR=`( . /etc/os-release; …)`) cannot
        // be evaluated offline: keep it as written.
        let r = rhs.trim();
        if r.starts_with('`') || r.starts_with("$(") {
            into.insert(
                k.to_string(),
                Setting {
                    value: r.to_string(),
                    file: file.to_string(),
                    line: u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX),
                },
            );
            continue;
        }
        let raw_single = rhs.trim_start().starts_with('\'');
        let w = words(rhs);
        let joined = w.first().cloned().unwrap_or_default();
        let value = if raw_single {
            joined
        } else {
            expand(&joined, &vars)
        };
        into.insert(
            k.to_string(),
            Setting {
                value,
                file: file.to_string(),
                line: u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX),
            },
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the guest

fn boot_separate(view: &GuestView) -> bool {
    view.mounts().iter().any(|m| m.point == "/boot")
}

/// Read the bootloader configuration of the guest.
pub fn inspect(view: &GuestView) -> BootFacts {
    let mut f = BootFacts {
        loader: "none".into(),
        ..BootFacts::default()
    };
    let ctx = PathCtx {
        boot_separate: boot_separate(view),
    };
    let read = |p: &str| view.read_text(p, MAX_CFG).ok();

    for p in GRUBENV {
        if let Some(t) = read(p) {
            f.grubenv = parse_grubenv(&t);
            break;
        }
    }
    // /etc/default/grub, its grub.d fragments, /etc/sysconfig/grub (RHEL/SUSE symlink or copy).
    if let Some(t) = read("/etc/default/grub") {
        parse_default_grub(&t, "/etc/default/grub", &mut f.default_grub);
    }
    if let Ok(mut ents) = view.read_dir("/etc/default/grub.d") {
        ents.sort_by(|a, b| a.name.cmp(&b.name));
        for e in ents
            .iter()
            .filter(|e| e.name.ends_with(".cfg"))
            .take(MAX_FILES)
        {
            let p = format!("/etc/default/grub.d/{}", e.name);
            if let Some(t) = read(&p) {
                parse_default_grub(&t, &p, &mut f.default_grub);
            }
        }
    }
    if f.default_grub.is_empty() {
        if let Some(t) = read("/etc/sysconfig/grub") {
            parse_default_grub(&t, "/etc/sysconfig/grub", &mut f.default_grub);
        }
    }

    // GRUB 2: the /boot configs, then EFI configs (which may be stubs).
    let mut candidates: Vec<String> = GRUB2_CFGS.iter().map(|s| s.to_string()).collect();
    if let Ok(vendors) = view.read_dir("/boot/efi/EFI") {
        for v in vendors.iter().take(MAX_FILES) {
            candidates.push(format!("/boot/efi/EFI/{}/grub.cfg", v.name));
        }
    }
    let mut chosen: Option<(String, Grub2Cfg)> = None;
    let mut efi_stub_targets: Vec<String> = Vec::new();
    for p in &candidates {
        let Some(t) = read(p) else { continue };
        let cfg = parse_grub2(&t, p, ctx);
        if cfg.entries.is_empty() && !cfg.blscfg && !cfg.configfiles.is_empty() {
            f.stubs.push(p.clone());
            efi_stub_targets.extend(cfg.configfiles.iter().map(|c| ctx.guest(c)));
            continue;
        }
        if chosen.is_none() {
            chosen = Some((p.clone(), cfg));
        }
    }
    if chosen.is_none() {
        for target in &efi_stub_targets {
            if let Some(t) = read(target) {
                chosen = Some((target.clone(), parse_grub2(&t, target, ctx)));
                break;
            }
            f.problems.push(format!(
                "EFI stub config points at {target}, which does not exist"
            ));
        }
    }

    let bls = read_bls(view, ctx, &f.grubenv, &mut f.problems);

    if let Some((path, cfg)) = chosen {
        f.config_path = Some(path.clone());
        if cfg.blscfg && !bls.is_empty() {
            f.loader = "bls".into();
            f.entries = bls;
            f.entries.extend(cfg.entries.iter().cloned());
            choose_bls_default(&mut f);
        } else {
            f.loader = "grub2".into();
            f.entries = cfg.entries.clone();
            // The effective `default`: the last assignment, skipping one-shot `next_entry`
            // (empty in a stored image) unless grubenv sets it.
            let spec = cfg
                .defaults
                .iter()
                .rev()
                .map(|(v, l)| (expand(v, &f.grubenv), v, *l))
                .find(|(e, v, _)| !(v.contains("next_entry") && e.is_empty()));
            let spec_val = match spec {
                Some((e, _, _)) if !e.is_empty() => e,
                Some((_, v, l)) if v.contains("saved_entry") => {
                    f.problems.push(format!(
                        "{path} line {l}: default is ${{saved_entry}} but grubenv has no saved_entry; GRUB falls back to entry 0"
                    ));
                    "0".into()
                }
                _ => "0".into(),
            };
            f.default_spec = Some(spec_val.clone());
            match resolve_default(&cfg, &spec_val) {
                Some(i) => f.default_entry = cfg.entries.get(i).cloned(),
                None => {
                    if !cfg.entries.is_empty() {
                        f.problems.push(format!(
                            "{path}: default {spec_val:?} matches no menu entry; GRUB falls back to entry 0"
                        ));
                        f.default_entry = cfg.entries.first().cloned();
                    }
                }
            }
            if cfg.entries.is_empty() {
                f.problems.push(format!("{path}: no menuentry"));
            }
        }
    } else if !bls.is_empty() {
        f.loader = "bls".into();
        f.entries = bls;
        choose_bls_default(&mut f);
    } else {
        for p in LEGACY_CFGS {
            let Some(t) = read(p) else { continue };
            let (def, entries) = parse_legacy(&t, p, ctx);
            f.loader = "grub-legacy".into();
            f.config_path = Some((*p).to_string());
            f.default_spec = def.clone();
            let idx = match def.as_deref() {
                None => 0,
                Some(d) => match d.parse::<usize>() {
                    Ok(n) => n,
                    Err(_) => {
                        f.problems.push(format!(
                            "{p}: default {d:?} is not a number; entry 0 assumed"
                        ));
                        0
                    }
                },
            };
            f.default_entry = entries.get(idx).cloned();
            if f.default_entry.is_none() {
                f.problems.push(format!(
                    "{p}: default entry {idx} does not exist ({} entries)",
                    entries.len()
                ));
            }
            f.entries = entries;
            break;
        }
    }
    if f.loader == "none" {
        for p in EXTLINUX_CFGS {
            let Some(t) = read(p) else { continue };
            let cfg = parse_extlinux(&t, p, ctx);
            f.loader = "extlinux".into();
            f.config_path = Some((*p).to_string());
            f.default_spec = cfg.default.clone();
            f.default_entry = cfg
                .default_index()
                .and_then(|i| cfg.entries.get(i))
                .cloned();
            if f.default_entry.is_none() {
                f.problems.push(format!("{p}: no LABEL to boot"));
            }
            f.entries = cfg.entries;
            break;
        }
    }
    if let Some(e) = &f.default_entry {
        if e.kernel.is_none() {
            f.problems.push(format!(
                "{} line {}: default entry {:?} has no linux/kernel line",
                e.source, e.line, e.title
            ));
        }
    }
    f
}

fn read_bls(
    view: &GuestView,
    ctx: PathCtx,
    env: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) -> Vec<BootEntry> {
    let Ok(mut ents) = view.read_dir(BLS_DIR) else {
        return Vec::new();
    };
    ents.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::new();
    for e in ents
        .iter()
        .filter(|e| e.name.ends_with(".conf"))
        .take(MAX_FILES)
    {
        let p = format!("{BLS_DIR}/{}", e.name);
        let id = e.name.trim_end_matches(".conf");
        match view.read_text(&p, MAX_CFG) {
            Ok(t) => {
                let be = parse_bls(&t, &p, id, ctx, env);
                if be.cmdline.contains("$kernelopts")
                    || (t.contains("$kernelopts") && !env.contains_key("kernelopts"))
                {
                    problems.push(format!(
                        "{p}: options use $kernelopts but grubenv has no kernelopts"
                    ));
                }
                out.push(be);
            }
            Err(err) => problems.push(format!("{p}: cannot read: {err}")),
        }
    }
    out
}

fn choose_bls_default(f: &mut BootFacts) {
    let saved = f
        .grubenv
        .get("saved_entry")
        .filter(|s| !s.is_empty())
        .cloned();
    if let Some(s) = &saved {
        f.default_spec = Some(s.clone());
        if let Some(e) = f
            .entries
            .iter()
            .find(|e| e.id.as_deref() == Some(s) || e.title == *s)
        {
            f.default_entry = Some(e.clone());
            return;
        }
        f.problems.push(format!(
            "grubenv saved_entry {s:?} matches no BLS entry; the newest entry is used"
        ));
    }
    // The highest version (the BLS sort: version descending).
    f.default_entry = f
        .entries
        .iter()
        .filter(|e| e.source.starts_with(BLS_DIR))
        .max_by(|a, b| {
            vercmp(
                a.version.as_deref().unwrap_or(""),
                b.version.as_deref().unwrap_or(""),
            )
        })
        .cloned();
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::testfs::MemFs;

    const DEBIAN_CFG: &str = r#"
if [ -s $prefix/grubenv ]; then
  set have_grubenv=true
  load_env
fi
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
   set next_entry=
else
   set default="1>2"
fi
function load_video {
  insmod all_video
}
search --no-floppy --fs-uuid --set=root 1111-aaaa
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-1111' {
	load_video
	search --no-floppy --fs-uuid --set=root 2222-bbbb
	linux	/boot/vmlinuz-6.1.0-28-cloud-amd64 root=UUID=2222-bbbb ro quiet
	initrd	/boot/initrd.img-6.1.0-28-cloud-amd64
}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-1111' {
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-28-cloud-amd64' $menuentry_id_option 'gnulinux-6.1.0-28-advanced-1111' {
		linux	/boot/vmlinuz-6.1.0-28-cloud-amd64 root=UUID=2222-bbbb ro quiet
		initrd	/boot/initrd.img-6.1.0-28-cloud-amd64
	}
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-28-cloud-amd64 (recovery mode)' $menuentry_id_option 'gnulinux-6.1.0-28-recovery-1111' {
		linux	/boot/vmlinuz-6.1.0-28-cloud-amd64 root=UUID=2222-bbbb ro single
		initrd	/boot/initrd.img-6.1.0-28-cloud-amd64
	}
	menuentry 'Debian GNU/Linux, with Linux 5.10.0-9-amd64' --id old {
		linux	/boot/vmlinuz-5.10.0-9-amd64 root=/dev/sda1 ro
		initrd	/boot/intel-ucode.img /boot/initrd.img-5.10.0-9-amd64
	}
}
"#;

    #[test]
    fn words_and_quotes() {
        assert_eq!(words(r#"set default="0""#), vec!["set", "default=0"]);
        assert_eq!(
            words("menuentry 'A b' --id x {"),
            vec!["menuentry", "A b", "--id", "x", "{"]
        );
        assert_eq!(words(r#"a "x\"y" # comment"#), vec!["a", "x\"y"]);
        assert_eq!(
            words("if [ x ] ; then"),
            vec!["if", "[", "x", "]", ";", "then"]
        );
        assert_eq!(
            version_from_kernel("/vmlinuz-5.14.0-70.el9.x86_64").as_deref(),
            Some("5.14.0-70.el9.x86_64")
        );
        assert_eq!(version_from_kernel("/vmlinuz"), None);
    }

    #[test]
    fn grub2_entries_and_defaults() {
        let cfg = parse_grub2(
            DEBIAN_CFG,
            "/boot/grub/grub.cfg",
            PathCtx {
                boot_separate: false,
            },
        );
        assert_eq!(cfg.entries.len(), 4);
        assert_eq!(cfg.top.len(), 2);
        let e = &cfg.entries[0];
        assert_eq!(e.title, "Debian GNU/Linux");
        assert_eq!(e.id.as_deref(), Some("gnulinux-simple-1111"));
        assert_eq!(
            e.kernel.as_deref(),
            Some("/boot/vmlinuz-6.1.0-28-cloud-amd64")
        );
        assert_eq!(e.version.as_deref(), Some("6.1.0-28-cloud-amd64"));
        assert_eq!(e.cmdline, "root=UUID=2222-bbbb ro quiet");
        assert_eq!(e.root_device.as_deref(), Some("UUID=2222-bbbb"));
        assert_eq!(e.line, 16);
        assert_eq!(e.kernel_line, Some(19));
        let old = &cfg.entries[3];
        assert_eq!(
            old.title,
            "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 5.10.0-9-amd64"
        );
        assert_eq!(old.id.as_deref(), Some("gnulinux-advanced-1111>old"));
        assert_eq!(
            old.initrd,
            vec!["/boot/intel-ucode.img", "/boot/initrd.img-5.10.0-9-amd64"]
        );
        assert_eq!(old.root_device.as_deref(), Some("UUID=1111-aaaa"));
        assert_eq!(
            cfg.defaults,
            vec![("${next_entry}".to_string(), 7), ("1>2".to_string(), 10)]
        );
        assert_eq!(resolve_default(&cfg, "0"), Some(0));
        assert_eq!(resolve_default(&cfg, "1>2"), Some(3));
        assert_eq!(resolve_default(&cfg, "1"), Some(1));
        assert_eq!(
            resolve_default(
                &cfg,
                "gnulinux-advanced-1111>gnulinux-6.1.0-28-recovery-1111"
            ),
            Some(2)
        );
        assert_eq!(resolve_default(&cfg, "Debian GNU/Linux"), Some(0));
        assert_eq!(resolve_default(&cfg, "old"), Some(3));
        assert_eq!(resolve_default(&cfg, "7"), None);
    }

    #[test]
    fn grub2_guest_with_efi_stub_and_default_grub() {
        let view = MemFs::new()
            .file("/boot/efi/EFI/debian/grub.cfg", "search.fs_uuid 2222-bbbb root\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n")
            .file("/boot/grub/grub.cfg", DEBIAN_CFG)
            .file("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"console=ttyS0\"\nexport GRUB_CMDLINE_LINUX_DEFAULT='quiet $X'\n")
            .file("/etc/default/grub.d/50-cloud.cfg", "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX net.ifnames=0\"\n")
            .view();
        let f = inspect(&view);
        assert_eq!(f.loader, "grub2");
        assert_eq!(f.config_path.as_deref(), Some("/boot/grub/grub.cfg"));
        assert_eq!(f.stubs, vec!["/boot/efi/EFI/debian/grub.cfg".to_string()]);
        assert_eq!(f.default_spec.as_deref(), Some("1>2"));
        let d = f.default_entry.unwrap();
        assert_eq!(d.version.as_deref(), Some("5.10.0-9-amd64"));
        let c = &f.default_grub["GRUB_CMDLINE_LINUX"];
        assert_eq!(c.value, "console=ttyS0 net.ifnames=0");
        assert_eq!(
            (c.file.as_str(), c.line),
            ("/etc/default/grub.d/50-cloud.cfg", 1)
        );
        assert_eq!(
            f.default_grub["GRUB_CMDLINE_LINUX_DEFAULT"].value,
            "quiet $X"
        );
        assert!(f.problems.is_empty(), "{:?}", f.problems);
    }

    #[test]
    fn bls_with_separate_boot_and_grubenv() {
        let fs = MemFs::new()
            .file("/grub2/grub.cfg", "set default=\"${saved_entry}\"\nload_env\nblscfg\n")
            .file("/grub2/grubenv", "# GRUB Environment Block\nsaved_entry=abc-5.14.0-70.el9.x86_64\nkernelopts=root=/dev/mapper/rl-root ro crashkernel=auto\n####")
            .file("/loader/entries/abc-5.14.0-70.el9.x86_64.conf", "title Rocky (5.14.0-70)\nversion 5.14.0-70.el9.x86_64\nlinux /vmlinuz-5.14.0-70.el9.x86_64\ninitrd /initramfs-5.14.0-70.el9.x86_64.img $tuned_initrd\noptions $kernelopts $tuned_params\n")
            .file("/loader/entries/abc-5.14.0-362.el9.x86_64.conf", "title Rocky (5.14.0-362)\nversion 5.14.0-362.el9.x86_64\nlinux /vmlinuz-5.14.0-362.el9.x86_64\ninitrd /initramfs-5.14.0-362.el9.x86_64.img\noptions root=UUID=x ro\n");
        let root = MemFs::new().file("/etc/fstab", "").dir("/boot");
        let view = GuestView::new(
            vec![
                crate::view::Mount {
                    point: "/".into(),
                    volume: "r".into(),
                    fs: std::sync::Arc::new(root),
                },
                crate::view::Mount {
                    point: "/boot".into(),
                    volume: "b".into(),
                    fs: std::sync::Arc::new(fs),
                },
            ],
            40,
        );
        let f = inspect(&view);
        assert_eq!(f.loader, "bls");
        assert_eq!(f.config_path.as_deref(), Some("/boot/grub2/grub.cfg"));
        assert_eq!(f.entries.len(), 2);
        let d = f.default_entry.clone().unwrap();
        assert_eq!(d.id.as_deref(), Some("abc-5.14.0-70.el9.x86_64"));
        assert_eq!(
            d.kernel.as_deref(),
            Some("/boot/vmlinuz-5.14.0-70.el9.x86_64")
        );
        assert_eq!(d.cmdline, "root=/dev/mapper/rl-root ro crashkernel=auto ");
        assert_eq!(d.initrd[0], "/boot/initramfs-5.14.0-70.el9.x86_64.img");
        assert_eq!(d.kernel_line, Some(3));
        // Without saved_entry: the newest version.
        let mut g = f.clone();
        g.grubenv.remove("saved_entry");
        choose_bls_default(&mut g);
        assert_eq!(
            g.default_entry.unwrap().version.as_deref(),
            Some("5.14.0-362.el9.x86_64")
        );
        assert_eq!(vercmp("5.14.0-70", "5.14.0-362"), std::cmp::Ordering::Less);
        assert_eq!(vercmp("6.1.0", "6.1.0"), std::cmp::Ordering::Equal);
    }

    #[test]
    fn legacy() {
        let view = MemFs::new()
            .file("/boot/grub/menu.lst", "default 1\ntimeout 5\ntitle CentOS (2.6.32-754)\n\troot (hd0,0)\n\tkernel /vmlinuz-2.6.32-754.el6.x86_64 ro root=/dev/sda1\n\tinitrd /initramfs-2.6.32-754.el6.x86_64.img\ntitle Other\n\tkernel (hd0,0)/vmlinuz-2.6.32-696.el6.x86_64 ro root=LABEL=/\n")
            .view();
        let f = inspect(&view);
        assert_eq!(f.loader, "grub-legacy");
        let d = f.default_entry.unwrap();
        assert_eq!(d.title, "Other");
        assert_eq!(d.kernel.as_deref(), Some("/vmlinuz-2.6.32-696.el6.x86_64"));
        assert_eq!(d.cmdline, "ro root=LABEL=/");
        assert_eq!(f.entries[0].root_device.as_deref(), Some("(hd0,0)"));
        assert_eq!(f.entries[0].kernel_line, Some(5));
        let view = MemFs::new()
            .file(
                "/boot/grub/grub.conf",
                "default 4\ntitle A\nkernel /vmlinuz-1\n",
            )
            .view();
        let f = inspect(&view);
        assert!(f.default_entry.is_none());
        assert!(
            f.problems[0].contains("default entry 4 does not exist"),
            "{:?}",
            f.problems
        );
        let f = inspect(&MemFs::new().view());
        assert_eq!(f.loader, "none");
    }

    #[test]
    fn default_grub_command_substitution() {
        let mut m = BTreeMap::new();
        parse_default_grub(
            "GRUB_DEFAULT=0\nGRUB_DISTRIBUTOR=`( . /etc/os-release; echo ${NAME:-Ubuntu} ) 2>/dev/null || echo Ubuntu`\nX=$(lsb_release -i -s)\n",
            "/etc/default/grub",
            &mut m,
        );
        assert_eq!(
            m["GRUB_DISTRIBUTOR"].value,
            "`( . /etc/os-release; echo ${NAME:-Ubuntu} ) 2>/dev/null || echo Ubuntu`"
        );
        assert_eq!(m["X"].value, "$(lsb_release -i -s)");
        assert_eq!((m["GRUB_DEFAULT"].value.as_str(), m["X"].line), ("0", 3));
    }

    #[test]
    fn extlinux() {
        // Alpine's update-extlinux layout: DEFAULT is the menu module, MENU DEFAULT marks the
        // entry, paths are relative to /boot (the config's directory).
        let alpine = "# Generated by update-extlinux 6.04_pre1-r15\nDEFAULT menu.c32\nPROMPT 0\nMENU TITLE Alpine/Linux Boot Menu\nMENU HIDDEN\nTIMEOUT 10\nLABEL lts\n  MENU LABEL Linux lts\n  LINUX vmlinuz-lts\n  INITRD initramfs-lts\n  APPEND root=UUID=1 modules=sd-mod\nLABEL virt\n  MENU DEFAULT\n  MENU LABEL Linux virt\n  LINUX vmlinuz-virt\n  INITRD initramfs-virt\n  APPEND root=UUID=a1b2 modules=sd-mod,usb-storage,ext4 console=ttyS0,115200\n\nMENU SEPARATOR\n";
        let f = inspect(&MemFs::new().file("/boot/extlinux.conf", alpine).view());
        assert_eq!(f.loader, "extlinux");
        assert_eq!(f.config_path.as_deref(), Some("/boot/extlinux.conf"));
        assert_eq!(f.default_spec.as_deref(), Some("menu.c32"));
        assert_eq!(f.entries.len(), 2);
        let d = f.default_entry.unwrap();
        assert_eq!(
            (d.title.as_str(), d.id.as_deref()),
            ("Linux virt", Some("virt"))
        );
        assert_eq!(d.kernel.as_deref(), Some("/boot/vmlinuz-virt"));
        assert_eq!(d.initrd, vec!["/boot/initramfs-virt".to_string()]);
        assert_eq!(
            d.cmdline,
            "root=UUID=a1b2 modules=sd-mod,usb-storage,ext4 console=ttyS0,115200"
        );
        assert_eq!(d.root_device.as_deref(), Some("UUID=a1b2"));
        assert_eq!((d.line, d.kernel_line), (12, Some(15)));
        // DEFAULT naming a label wins over MENU DEFAULT; lowercase keywords; initrd= in APPEND;
        // absolute paths on a separate /boot are relative to it.
        let c = parse_extlinux(
            "default lts\nlabel virt\nmenu default\nkernel /vmlinuz-virt\nlabel lts\nkernel /vmlinuz-lts\nappend initrd=/initramfs-lts,/ucode.img root=/dev/vda2 quiet\n",
            "/boot/extlinux/extlinux.conf",
            PathCtx { boot_separate: true },
        );
        let e = &c.entries[c.default_index().unwrap()];
        assert_eq!(e.kernel.as_deref(), Some("/boot/vmlinuz-lts"));
        assert_eq!(
            e.initrd,
            vec![
                "/boot/initramfs-lts".to_string(),
                "/boot/ucode.img".to_string()
            ]
        );
        assert_eq!(e.cmdline, "root=/dev/vda2 quiet");
        // No DEFAULT, no MENU DEFAULT: the first label; no label at all: nothing, and a problem.
        let c = parse_extlinux(
            "LABEL a\nLINUX k\n",
            "/syslinux/syslinux.cfg",
            PathCtx {
                boot_separate: false,
            },
        );
        assert_eq!(c.default_index(), Some(0));
        assert_eq!(c.entries[0].kernel.as_deref(), Some("/syslinux/k"));
        let f = inspect(
            &MemFs::new()
                .file("/boot/syslinux/syslinux.cfg", "DEFAULT x\n")
                .view(),
        );
        assert_eq!(f.loader, "extlinux");
        assert!(f.default_entry.is_none());
        assert!(f.problems[0].contains("no LABEL"), "{:?}", f.problems);
    }

    #[test]
    fn bad_default_and_saved_entry_missing() {
        let view = MemFs::new()
            .file("/boot/grub2/grub.cfg", "set default=\"${saved_entry}\"\nmenuentry 'A' {\n linux /vmlinuz-1 root=/dev/vda1\n}\n")
            .view();
        let f = inspect(&view);
        assert_eq!(f.default_entry.unwrap().title, "A");
        assert!(f.problems[0].contains("no saved_entry"), "{:?}", f.problems);
        let view = MemFs::new()
            .file(
                "/boot/grub2/grub.cfg",
                "set default=nope\nmenuentry 'A' {\n}\n",
            )
            .view();
        let f = inspect(&view);
        assert!(
            f.problems
                .iter()
                .any(|p| p.contains("matches no menu entry")),
            "{:?}",
            f.problems
        );
        assert!(
            f.problems
                .iter()
                .any(|p| p.contains("no linux/kernel line")),
            "{:?}",
            f.problems
        );
    }
}
