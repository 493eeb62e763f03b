//! Windows paths found in the registry (service `ImagePath`, BCD `path`, pending renames) turned
//! into guest paths on the system volume.
//!
//! The forms are those the Service Control Manager and the kernel's loader accept (documented in
//! Microsoft's "HKLM\SYSTEM\CurrentControlSet\Services Registry Tree" page and seen in real
//! hives): `\SystemRoot\System32\drivers\x.sys`, `System32\drivers\x.sys` (relative to the
//! system root), `%SystemRoot%\…` / `%windir%\…` (REG_EXPAND_SZ), NT object paths `\??\C:\…`
//! and `\\?\C:\…`, plain `C:\…`, and quoted paths followed by arguments
//! (`"C:\Program Files\x.exe" --service`, `…\svchost.exe -k netsvcs`). Our own code.

/// Where Windows lives: the drive letter and directory of `%SystemRoot%` (from `SOFTWARE\
/// Microsoft\Windows NT\CurrentVersion\SystemRoot`, default `C:\Windows`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemRoot {
    /// Drive letter, upper case.
    pub drive: char,
    /// Directory below the drive's root, as guest path components (`["Windows"]`).
    pub dir: Vec<String>,
}

impl Default for SystemRoot {
    fn default() -> Self {
        SystemRoot {
            drive: 'C',
            dir: vec!["Windows".to_string()],
        }
    }
}

impl SystemRoot {
    /// Parse `C:\Windows`; `None` when the value is not a drive-rooted path.
    pub fn parse(v: &str) -> Option<SystemRoot> {
        let (drive, rest) = split_drive(v.trim())?;
        let dir: Vec<String> = components(rest);
        if dir.is_empty() {
            return None;
        }
        Some(SystemRoot { drive, dir })
    }

    /// The system root as a guest path (`/Windows`).
    pub fn guest_path(&self) -> String {
        join(&self.dir)
    }

    fn as_windows(&self) -> String {
        format!("{}:\\{}", self.drive, self.dir.join("\\"))
    }
}

/// `C:\rest` → (`C`, `\rest`).
fn split_drive(p: &str) -> Option<(char, &str)> {
    let mut chars = p.chars();
    let letter = chars.next()?;
    if !letter.is_ascii_alphabetic() || chars.next()? != ':' {
        return None;
    }
    Some((letter.to_ascii_uppercase(), p.get(2..)?))
}

fn components(p: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in p.split(['\\', '/']) {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c.to_string()),
        }
    }
    out
}

fn join(c: &[String]) -> String {
    if c.is_empty() {
        return "/".to_string();
    }
    c.iter().fold(String::new(), |mut s, x| {
        s.push('/');
        s.push_str(x);
        s
    })
}

/// The executable part of a command line: the quoted part if quoted, else up to the end of the
/// first `.exe`/`.sys`/`.dll`/`.com` component followed by a space, else all of it.
pub fn strip_arguments(cmd: &str) -> &str {
    let cmd = cmd.trim();
    if let Some(rest) = cmd.strip_prefix('"') {
        return rest.split('"').next().unwrap_or(rest);
    }
    let lower = cmd.to_ascii_lowercase();
    let mut best: Option<usize> = None;
    for ext in [".exe", ".sys", ".dll", ".com"] {
        let mut from = 0usize;
        while let Some(i) = lower.get(from..).and_then(|s| s.find(ext)) {
            let end = from.saturating_add(i).saturating_add(ext.len());
            let next = lower.get(end..).and_then(|s| s.chars().next());
            if next.is_none_or(char::is_whitespace) {
                best = Some(best.map_or(end, |b| b.min(end)));
                break;
            }
            from = end;
        }
    }
    match best {
        Some(end) => cmd.get(..end).unwrap_or(cmd),
        None => cmd,
    }
}

/// Replace `%SystemRoot%`, `%windir%`, `%SystemDrive%`, `%ProgramFiles%`, `%ProgramData%`
/// (case-insensitive). `None` when another `%VAR%` remains (its value is not known offline).
fn expand(p: &str, root: &SystemRoot) -> Option<String> {
    let drive = format!("{}:", root.drive);
    let vars: [(&str, String); 6] = [
        ("%systemroot%", root.as_windows()),
        ("%windir%", root.as_windows()),
        ("%systemdrive%", drive.clone()),
        ("%programfiles%", format!("{drive}\\Program Files")),
        (
            "%programfiles(x86)%",
            format!("{drive}\\Program Files (x86)"),
        ),
        ("%programdata%", format!("{drive}\\ProgramData")),
    ];
    let mut out = String::new();
    let mut rest = p;
    while let Some(start) = rest.find('%') {
        out.push_str(rest.get(..start)?);
        let after = rest.get(start.saturating_add(1)..)?;
        let end = after.find('%')?;
        let name = rest.get(start..start.saturating_add(end).saturating_add(2))?;
        let lname = name.to_ascii_lowercase();
        let (_, value) = vars.iter().find(|(k, _)| *k == lname)?;
        out.push_str(value);
        rest = after.get(end.saturating_add(1)..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// Resolve a registry path (an `ImagePath` with or without arguments, a BCD path, a rename
/// source) to a guest path on the system volume, or `None` when it names another drive or an
/// unknown environment variable.
pub fn resolve(raw: &str, root: &SystemRoot) -> Option<String> {
    let p = strip_arguments(raw);
    if p.is_empty() {
        return None;
    }
    let p = expand(p, root)?;
    let mut p = p.as_str();
    // NT namespace prefixes.
    for prefix in ["\\??\\", "\\\\?\\", "\\DosDevices\\", "\\GLOBAL??\\"] {
        if p.len() >= prefix.len()
            && p.get(..prefix.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
        {
            p = p.get(prefix.len()..)?;
            break;
        }
    }
    const SYSTEMROOT: &str = "\\systemroot\\";
    if p.get(..SYSTEMROOT.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(SYSTEMROOT))
    {
        let mut c = root.dir.clone();
        c.extend(components(p.get(SYSTEMROOT.len()..)?));
        return Some(join(&c));
    }
    if let Some((drive, rest)) = split_drive(p) {
        if drive != root.drive {
            return None;
        }
        return Some(join(&components(rest)));
    }
    if p.starts_with(['\\', '/']) {
        return Some(join(&components(p)));
    }
    // Relative: below the system root (how the kernel loads `System32\drivers\x.sys`).
    let mut c = root.dir.clone();
    c.extend(components(p));
    Some(join(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_path_forms() {
        let r = SystemRoot::default();
        let drv = Some("/Windows/System32/drivers/viostor.sys".to_string());
        assert_eq!(
            resolve("system32\\drivers\\viostor.sys", &r).map(|s| s.to_lowercase()),
            drv.as_ref().map(|s| s.to_lowercase())
        );
        assert_eq!(
            resolve("\\SystemRoot\\System32\\drivers\\viostor.sys", &r),
            drv
        );
        assert_eq!(
            resolve("\\systemroot\\System32\\drivers\\viostor.sys", &r),
            drv
        );
        assert_eq!(
            resolve("%SystemRoot%\\System32\\drivers\\viostor.sys", &r),
            drv
        );
        assert_eq!(resolve("%windir%\\System32\\drivers\\viostor.sys", &r), drv);
        assert_eq!(
            resolve("\\??\\C:\\Windows\\System32\\drivers\\viostor.sys", &r),
            drv
        );
        assert_eq!(
            resolve("\\\\?\\c:\\Windows\\System32\\drivers\\viostor.sys", &r),
            drv
        );
        assert_eq!(
            resolve("C:\\Windows\\System32\\drivers\\viostor.sys", &r),
            drv
        );
        assert_eq!(
            resolve("\\Windows\\System32\\drivers\\viostor.sys", &r),
            drv
        );
        assert_eq!(
            resolve("System32\\.\\drivers\\..\\drivers\\viostor.sys", &r),
            drv
        );
    }

    #[test]
    fn arguments_and_quotes() {
        let r = SystemRoot::default();
        assert_eq!(
            resolve("%SystemRoot%\\System32\\svchost.exe -k netsvcs -p", &r).as_deref(),
            Some("/Windows/System32/svchost.exe")
        );
        assert_eq!(
            resolve(
                "\"C:\\Program Files\\Amazon\\SSM\\amazon-ssm-agent.exe\" --service",
                &r
            )
            .as_deref(),
            Some("/Program Files/Amazon/SSM/amazon-ssm-agent.exe")
        );
        assert_eq!(
            resolve(
                "C:\\Program Files\\Cloudbase Solutions\\bin\\OpenStackService.exe cloudbase-init",
                &r
            )
            .as_deref(),
            Some("/Program Files/Cloudbase Solutions/bin/OpenStackService.exe")
        );
        assert_eq!(
            strip_arguments("C:\\tools\\my.executable\\run.exe /x"),
            "C:\\tools\\my.executable\\run.exe"
        );
        assert_eq!(strip_arguments("  \"unterminated"), "unterminated");
    }

    #[test]
    fn unresolvable() {
        let r = SystemRoot::default();
        assert_eq!(resolve("D:\\Apps\\agent.exe", &r), None);
        assert_eq!(resolve("%UNKNOWN%\\x.sys", &r), None);
        assert_eq!(resolve("%SystemRoot", &r), None, "unterminated variable");
        assert_eq!(resolve("", &r), None);
        assert_eq!(resolve("   ", &r), None);
        assert_eq!(
            resolve("%ProgramFiles%\\VMware\\VMware Tools\\vmtoolsd.exe", &r).as_deref(),
            Some("/Program Files/VMware/VMware Tools/vmtoolsd.exe")
        );
    }

    #[test]
    fn other_system_roots() {
        let r = SystemRoot::parse("D:\\WINNT").unwrap_or_default();
        assert_eq!(r.drive, 'D');
        assert_eq!(r.guest_path(), "/WINNT");
        assert_eq!(
            resolve("system32\\drivers\\x.sys", &r).as_deref(),
            Some("/WINNT/system32/drivers/x.sys")
        );
        assert_eq!(resolve("C:\\x.sys", &r), None);
        assert_eq!(resolve("d:\\x.sys", &r).as_deref(), Some("/x.sys"));
        assert_eq!(SystemRoot::parse("Windows"), None);
        assert_eq!(SystemRoot::parse("C:\\"), None);
        // `..` never climbs above the volume root.
        assert_eq!(resolve("\\..\\..\\x.sys", &r).as_deref(), Some("/x.sys"));
    }
}
