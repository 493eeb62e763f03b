//! `/etc/fstab` parsing (fstab(5)): six whitespace-separated fields, `#` comments, octal escapes
//! (`\040` for a space) in the first two fields.

use serde::{Deserialize, Serialize};

/// How an fstab entry names its device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum DeviceSpec {
    /// `UUID=…` or `/dev/disk/by-uuid/…`.
    Uuid(String),
    /// `LABEL=…` or `/dev/disk/by-label/…`.
    Label(String),
    /// `PARTUUID=…` or `/dev/disk/by-partuuid/…`.
    PartUuid(String),
    /// `PARTLABEL=…` or `/dev/disk/by-partlabel/…`.
    PartLabel(String),
    /// `/dev/mapper/VG-LV` or `/dev/VG/LV` (an LVM logical volume).
    Lvm {
        /// Volume group.
        vg: String,
        /// Logical volume.
        lv: String,
    },
    /// A kernel device name such as `/dev/sda1`, `/dev/vda2`, `/dev/nvme0n1p1`, `/dev/xvda1`.
    KernelName(String),
    /// Anything else: `tmpfs`, `proc`, `server:/export`, `//host/share`, `none`.
    Other(String),
}

/// One fstab line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FstabEntry {
    /// 1-based line number in the file.
    pub line: usize,
    /// The first field as written (unescaped).
    pub spec_raw: String,
    /// The first field, classified.
    pub spec: DeviceSpec,
    /// Mount point (unescaped); `none`/`swap` for swap.
    pub mount_point: String,
    /// Filesystem type.
    pub fs_type: String,
    /// Mount options.
    pub options: Vec<String>,
    /// dump frequency.
    pub dump: u32,
    /// fsck pass number.
    pub pass: u32,
}

impl FstabEntry {
    /// True when the entry has `nofail` (boot continues without the device).
    pub fn nofail(&self) -> bool {
        self.options.iter().any(|o| o == "nofail")
    }
    /// True for swap entries.
    pub fn is_swap(&self) -> bool {
        self.fs_type == "swap"
    }
    /// The value of option `name=value`, e.g. `subvol`.
    pub fn option_value(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find_map(|o| o.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
    }
}

/// A line that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FstabProblem {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Entries and problems of one fstab.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fstab {
    /// Parsed entries in file order.
    pub entries: Vec<FstabEntry>,
    /// Lines that are not valid fstab entries.
    pub problems: Vec<FstabProblem>,
}

/// Undo fstab's octal escapes (`\040` → space, `\011` → tab, `\134` → backslash).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0usize;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            if let Some(oct) = b.get(i.saturating_add(1)..i.saturating_add(4)) {
                if oct.iter().all(|d| (b'0'..=b'7').contains(d)) {
                    let v = oct.iter().fold(0u32, |acc, d| {
                        acc.saturating_mul(8)
                            .saturating_add(u32::from(d.saturating_sub(b'0')))
                    });
                    if let Ok(byte) = u8::try_from(v) {
                        out.push(byte);
                        i = i.saturating_add(4);
                        continue;
                    }
                }
            }
        }
        out.push(c);
        i = i.saturating_add(1);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `NAME=` prefix (or `/dev/disk/by-*/` directory) and the spec it introduces.
type SpecPrefix = (&'static str, fn(String) -> DeviceSpec);

/// Classify an fstab device field.
pub fn classify_spec(spec: &str) -> DeviceSpec {
    let strip_quotes = |v: &str| v.trim_matches('"').to_string();
    let pairs: [SpecPrefix; 4] = [
        ("UUID=", DeviceSpec::Uuid),
        ("LABEL=", DeviceSpec::Label),
        ("PARTUUID=", DeviceSpec::PartUuid),
        ("PARTLABEL=", DeviceSpec::PartLabel),
    ];
    for (prefix, make) in pairs {
        if let Some(v) = spec.strip_prefix(prefix) {
            return make(strip_quotes(v));
        }
    }
    let by: [SpecPrefix; 4] = [
        ("/dev/disk/by-uuid/", DeviceSpec::Uuid),
        ("/dev/disk/by-label/", DeviceSpec::Label),
        ("/dev/disk/by-partuuid/", DeviceSpec::PartUuid),
        ("/dev/disk/by-partlabel/", DeviceSpec::PartLabel),
    ];
    for (prefix, make) in by {
        if let Some(v) = spec.strip_prefix(prefix) {
            return make(v.to_string());
        }
    }
    if let Some(rest) = spec.strip_prefix("/dev/mapper/") {
        // VG-LV with '-' inside names doubled ("my--vg-root" = vg "my-vg", lv "root").
        if let Some((vg, lv)) = split_mapper_name(rest) {
            return DeviceSpec::Lvm { vg, lv };
        }
        return DeviceSpec::Other(spec.to_string());
    }
    if let Some(rest) = spec.strip_prefix("/dev/") {
        let parts: Vec<&str> = rest.split('/').collect();
        if let [vg, lv] = parts.as_slice() {
            if !vg.is_empty() && !lv.is_empty() && !matches!(*vg, "disk" | "md" | "mapper") {
                return DeviceSpec::Lvm {
                    vg: (*vg).to_string(),
                    lv: (*lv).to_string(),
                };
            }
        }
        if parts.len() == 1 {
            return DeviceSpec::KernelName(spec.to_string());
        }
    }
    DeviceSpec::Other(spec.to_string())
}

/// Split a device-mapper name `VG-LV` where a literal '-' is written `--`.
fn split_mapper_name(name: &str) -> Option<(String, String)> {
    let chars: Vec<char> = name.chars().collect();
    let mut i = 0usize;
    while let Some(&c) = chars.get(i) {
        if c == '-' {
            if chars.get(i.saturating_add(1)) == Some(&'-') {
                i = i.saturating_add(2);
                continue;
            }
            let vg: String = chars.get(..i)?.iter().collect();
            let lv: String = chars.get(i.saturating_add(1)..)?.iter().collect();
            if vg.is_empty() || lv.is_empty() {
                return None;
            }
            return Some((vg.replace("--", "-"), lv.replace("--", "-")));
        }
        i = i.saturating_add(1);
    }
    None
}

/// Parse fstab text.
pub fn parse(text: &str) -> Fstab {
    let mut out = Fstab::default();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx.saturating_add(1);
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let f: Vec<&str> = content.split_whitespace().collect();
        if f.len() < 3 {
            out.problems.push(FstabProblem {
                line,
                message: format!("expected at least 3 fields, found {}", f.len()),
            });
            continue;
        }
        let get = |i: usize| f.get(i).copied().unwrap_or("");
        let num = |i: usize| -> Result<u32, String> {
            match f.get(i) {
                None => Ok(0),
                Some(v) => v.parse::<u32>().map_err(|_| {
                    format!("field {} is {v:?}, expected a number", i.saturating_add(1))
                }),
            }
        };
        let (dump, pass) = match (num(4), num(5)) {
            (Ok(d), Ok(p)) => (d, p),
            (Err(m), _) | (_, Err(m)) => {
                out.problems.push(FstabProblem { line, message: m });
                continue;
            }
        };
        let spec_raw = unescape(get(0));
        out.entries.push(FstabEntry {
            line,
            spec: classify_spec(&spec_raw),
            spec_raw,
            mount_point: unescape(get(1)),
            fs_type: get(2).to_string(),
            options: if get(3).is_empty() {
                vec!["defaults".to_string()]
            } else {
                get(3).split(',').map(str::to_string).collect()
            },
            dump,
            pass,
        });
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let t = "# comment\n\
UUID=2f8c6a3e-1b4d-4c5e-9f7a-8b9c0d1e2f3a / ext4 errors=remount-ro 0 1\n\
LABEL=\"EFI\" /boot/efi vfat umask=0077 0 2\n\
/dev/mapper/my--vg-root /srv xfs defaults,nofail\n\
/dev/vg0/data /data ext4 defaults 0 0\n\
/dev/sda2 none swap sw 0 0\n\
PARTUUID=abc /x ext4\n\
/dev/disk/by-uuid/1234-ABCD /boot vfat defaults 0 0\n\
//srv/share /mnt/My\\040Share cifs guest 0 0\n\
tmpfs /tmp tmpfs defaults 0 0\n\
broken\n\
/dev/sdb1 /y ext4 defaults x 0\n";
        let f = parse(t);
        assert_eq!(f.entries.len(), 9);
        assert_eq!(f.entries[0].line, 2);
        assert_eq!(
            f.entries[0].spec,
            DeviceSpec::Uuid("2f8c6a3e-1b4d-4c5e-9f7a-8b9c0d1e2f3a".into())
        );
        assert_eq!(f.entries[1].spec, DeviceSpec::Label("EFI".into()));
        assert_eq!(
            f.entries[2].spec,
            DeviceSpec::Lvm {
                vg: "my-vg".into(),
                lv: "root".into()
            }
        );
        assert!(f.entries[2].nofail());
        assert_eq!(
            f.entries[3].spec,
            DeviceSpec::Lvm {
                vg: "vg0".into(),
                lv: "data".into()
            }
        );
        assert_eq!(
            f.entries[4].spec,
            DeviceSpec::KernelName("/dev/sda2".into())
        );
        assert!(f.entries[4].is_swap());
        assert_eq!(f.entries[5].spec, DeviceSpec::PartUuid("abc".into()));
        assert_eq!(f.entries[6].spec, DeviceSpec::Uuid("1234-ABCD".into()));
        assert_eq!(f.entries[7].mount_point, "/mnt/My Share");
        assert_eq!(f.entries[8].spec, DeviceSpec::Other("tmpfs".into()));
        assert_eq!(f.problems.len(), 2);
        assert_eq!(f.problems[0].line, 11);
        assert!(f.problems[1].message.contains("field 5"));
    }

    #[test]
    fn options() {
        let f = parse("UUID=x / btrfs subvol=@,compress=zstd 0 0\n");
        assert_eq!(f.entries[0].option_value("subvol"), Some("@"));
        assert_eq!(f.entries[0].option_value("sub"), None);
    }

    #[test]
    fn hostile_input() {
        let f = parse("\\777\\0 / ext4\n\\\\\\ a b\n");
        assert_eq!(f.entries.len(), 2);
    }
}
