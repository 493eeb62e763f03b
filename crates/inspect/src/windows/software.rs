//! Facts of the `SOFTWARE` hive: version, installed programs, update packages, servicing and
//! sysprep state, KMS, device installation policy, applied Group Policy objects, BitLocker
//! policy; and agent /
//! hypervisor-tool detection from programs and services.
//!
//! Keys as documented by libguestfs (`inspect_fs_windows.ml`: version), wazuh's Windows package
//! collector (CBS `Packages` and `CurrentState`), Packer/Azure sysprep scripts (`ImageState`) and
//! the public reboot-pending checks (`RebootPending`, `RebootRequired`); see `checks.md` §3.

use super::reg::Reg;
use super::{
    Detected, GpoEntry, Hotfix, Program, RegSetting, WindowsFacts, MAX_HOTFIXES, MAX_LIST,
    MAX_PROGRAMS,
};
use imgcheck_regf::ValueData;
use std::collections::BTreeMap;

const CURRENT_VERSION: &str = "Microsoft\\Windows NT\\CurrentVersion";
const UNINSTALL: &str = "Microsoft\\Windows\\CurrentVersion\\Uninstall";
const UNINSTALL_WOW64: &str = "WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall";
const CBS: &str = "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing";
const WU_REBOOT_REQUIRED: &str =
    "Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired";
const SETUP_STATE: &str = "Microsoft\\Windows\\CurrentVersion\\Setup\\State";
const SPP: &str = "Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform";
const TS_POLICY: &str = "Policies\\Microsoft\\Windows NT\\Terminal Services";
/// Group Policy device installation restrictions (Microsoft "Manage Device Installation with
/// Group Policy": `DenyUnspecified`, `DenyDeviceClasses`, `DenyDeviceIDs`, `DenyInstanceIDs`,
/// `DenyRemovableDevices`, with their lists in subkeys of the same names).
const DEVICE_INSTALL_RESTRICTIONS: &str =
    "Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions";
/// BitLocker Group Policy settings (Geoff Chappell, "BitLocker Policy Settings": almost all are
/// values of this key; Microsoft's BitLocker Group Policy reference).
const FVE_POLICY: &str = "Policies\\Microsoft\\FVE";
/// Group Policy objects applied, per client-side extension (virt-v2v `has_group_policy`).
const GP_HISTORY: &str = "Microsoft\\Windows\\CurrentVersion\\Group Policy\\History";
/// CBS `CurrentState` of an installed package.
pub const CBS_STATE_INSTALLED: u32 = 0x70;
/// Package keys scanned for KB numbers (real stores hold 5,000–30,000 packages).
const MAX_CBS_PACKAGES: usize = 1 << 17;

/// Read SOFTWARE facts into `f`; returns the `SystemRoot` value (e.g. `C:\Windows`).
pub(super) fn read(r: &Reg<'_>, f: &mut WindowsFacts) -> Option<String> {
    let mut system_root = None;
    if let Some(cv) = r.key(CURRENT_VERSION) {
        f.product_name = r.string(&cv, "ProductName");
        f.edition_id = r.string(&cv, "EditionID");
        f.installation_type = r.string(&cv, "InstallationType");
        f.csd_version = r.string(&cv, "CSDVersion");
        f.major_version = r.dword(&cv, "CurrentMajorVersionNumber");
        f.minor_version = r.dword(&cv, "CurrentMinorVersionNumber");
        if f.major_version.is_none() {
            // NT 6.x and older: "6.1".
            if let Some(v) = r.string(&cv, "CurrentVersion") {
                let mut it = v.trim().split('.');
                f.major_version = it.next().and_then(|x| x.parse().ok());
                f.minor_version = it.next().and_then(|x| x.parse().ok());
            }
        }
        f.build = r
            .string(&cv, "CurrentBuildNumber")
            .or_else(|| r.string(&cv, "CurrentBuild"));
        f.ubr = r.dword(&cv, "UBR");
        f.display_version = r
            .string(&cv, "DisplayVersion")
            .or_else(|| r.string(&cv, "ReleaseId"));
        system_root = r.string(&cv, "SystemRoot");
    }

    // Programs, native and 32-bit views.
    let mut programs = Vec::new();
    for (path, wow64) in [(UNINSTALL, false), (UNINSTALL_WOW64, true)] {
        let Some(k) = r.key(path) else { continue };
        let subs = r.subkeys(&k, path);
        if subs.len() > MAX_PROGRAMS {
            f.problems.push(format!(
                "SOFTWARE hive: {path}: {} entries, only the first {MAX_PROGRAMS} listed",
                subs.len()
            ));
        }
        for s in subs.iter().take(MAX_PROGRAMS) {
            let Some(name) = r.string(s, "DisplayName").filter(|n| !n.trim().is_empty()) else {
                continue;
            };
            programs.push(Program {
                name,
                version: r.string(s, "DisplayVersion"),
                publisher: r.string(s, "Publisher"),
                key: s.name(),
                wow64,
            });
        }
    }
    programs.sort_by(|a, b| {
        (a.name.to_lowercase(), a.wow64, &a.key).cmp(&(b.name.to_lowercase(), b.wow64, &b.key))
    });
    f.programs = programs;

    // Servicing.
    if let Some(cbs) = r.key(CBS) {
        f.pending.cbs_reboot_pending = r.child(&cbs, "RebootPending").is_some();
        f.pending.cbs_packages_pending = r.child(&cbs, "PackagesPending").is_some();
        if let Some(pk) = r.child(&cbs, "Packages") {
            let subs = r.subkeys(&pk, "Component Based Servicing\\Packages");
            let mut by_kb: BTreeMap<String, Hotfix> = BTreeMap::new();
            for s in subs.iter().take(MAX_CBS_PACKAGES) {
                let name = s.name();
                let Some(kb) = kb_of_package(&name) else {
                    continue;
                };
                let state = r.dword(s, "CurrentState");
                let installed = state == Some(CBS_STATE_INSTALLED);
                if let Some(h) = by_kb.get_mut(&kb) {
                    if installed && !h.installed {
                        h.installed = true;
                        h.state = state;
                        h.package = name;
                    }
                } else if by_kb.len() < MAX_HOTFIXES {
                    by_kb.insert(
                        kb.clone(),
                        Hotfix {
                            kb,
                            package: name,
                            state,
                            installed,
                        },
                    );
                }
            }
            f.hotfixes = by_kb.into_values().collect();
        }
    }
    f.pending.wu_reboot_required = r.key(WU_REBOOT_REQUIRED).is_some();
    f.sysprep.image_state = r.string_at(SETUP_STATE, "ImageState");
    if let Some(spp) = r.key(SPP) {
        f.kms = r.string(&spp, "KeyManagementServiceName");
        f.kms_port = r
            .value(&spp, "KeyManagementServicePort")
            .and_then(|d| d.as_string().or_else(|| d.as_u64().map(|n| n.to_string())));
    }
    f.rdp.policy_deny_ts_connections = r.dword_at(TS_POLICY, "fDenyTSConnections");
    device_install_policy(r, f);
    group_policies(r, f);
    f.bitlocker.policy = key_settings(r, FVE_POLICY);
    system_root
}

/// A value's data as text: numbers in decimal, strings as stored, lists joined with `; `.
pub(super) fn value_text(d: &ValueData) -> String {
    if let Some(n) = d.as_u64() {
        return n.to_string();
    }
    if let Some(s) = d.as_string() {
        return s;
    }
    match d {
        ValueData::MultiString(v) => v.join("; "),
        ValueData::Binary(b) | ValueData::Other { bytes: b, .. } => format!("{} bytes", b.len()),
        _ => String::new(),
    }
}

/// The values of the key at `path` (absent key: none) as settings, sorted by lower-case name,
/// at most [`MAX_LIST`].
pub(super) fn key_settings(r: &Reg<'_>, path: &str) -> Vec<RegSetting> {
    let Some(k) = r.key(path) else {
        return Vec::new();
    };
    let mut out: Vec<RegSetting> = r
        .values(&k, path)
        .iter()
        .take(MAX_LIST)
        .map(|(name, d)| RegSetting {
            name: name.clone(),
            value: value_text(d),
        })
        .collect();
    out.sort_by(|a, b| (a.name.to_lowercase(), &a.name).cmp(&(b.name.to_lowercase(), &b.name)));
    out
}

fn device_install_policy(r: &Reg<'_>, f: &mut WindowsFacts) {
    let Some(k) = r.key(DEVICE_INSTALL_RESTRICTIONS) else {
        return;
    };
    let mut out: Vec<RegSetting> = r
        .values(&k, DEVICE_INSTALL_RESTRICTIONS)
        .iter()
        .map(|(name, d)| RegSetting {
            name: name.clone(),
            value: value_text(d),
        })
        .collect();
    for sub in r.subkeys(&k, DEVICE_INSTALL_RESTRICTIONS) {
        let sub_name = sub.name();
        let path = format!("{DEVICE_INSTALL_RESTRICTIONS}\\{sub_name}");
        for (name, d) in r.values(&sub, &path) {
            if out.len() >= MAX_LIST {
                break;
            }
            out.push(RegSetting {
                name: format!("{sub_name}\\{name}"),
                value: value_text(&d),
            });
        }
    }
    out.truncate(MAX_LIST);
    out.sort_by_key(|a| a.name.to_lowercase());
    f.device_install.restrictions = out;
}

fn group_policies(r: &Reg<'_>, f: &mut WindowsFacts) {
    let Some(h) = r.key(GP_HISTORY) else { return };
    let mut out = Vec::new();
    'ext: for ext in r.subkeys(&h, GP_HISTORY) {
        let ext_name = ext.name();
        let path = format!("{GP_HISTORY}\\{ext_name}");
        for gpo in r.subkeys(&ext, &path) {
            if out.len() >= MAX_LIST {
                break 'ext;
            }
            out.push(GpoEntry {
                extension: ext_name.clone(),
                display_name: r.string(&gpo, "DisplayName"),
                link: r.dword(&gpo, "GPOLink"),
            });
        }
    }
    f.group_policies = out;
}

/// `KB5005039` from `Package_for_KB5005039~31bf3856ad364e35~amd64~~20348.230.1.1` (also
/// `Package_1_for_KB…`, `Package_for_RollupFix` has none).
pub fn kb_of_package(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let i = lower.find("_for_kb")?;
    let digits: String = lower
        .get(i.saturating_add(7)..)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        return None;
    }
    Some(format!("KB{digits}"))
}

/// How an agent or tool is recognised: service names and program-name substrings
/// (both case-insensitive).
struct Signature {
    id: &'static str,
    name: &'static str,
    services: &'static [&'static str],
    programs: &'static [&'static str],
}

/// Cloud guest agents (service names from the vendors' installers and documentation).
const AGENTS: &[Signature] = &[
    Signature {
        id: "aliyun-assist",
        name: "Alibaba Cloud Assistant",
        services: &["AliyunService"],
        programs: &["aliyun assist", "cloud assistant"],
    },
    Signature {
        id: "vminit",
        name: "Alibaba vminit",
        services: &["vminit", "vminit-service"],
        programs: &["vminit"],
    },
    Signature {
        id: "cloudbase-init",
        name: "Cloudbase-Init",
        services: &["cloudbase-init"],
        programs: &["cloudbase-init"],
    },
    Signature {
        id: "ec2launch",
        name: "Amazon EC2Launch",
        services: &["Amazon EC2Launch", "EC2Launch"],
        programs: &["ec2launch"],
    },
    Signature {
        id: "ec2config",
        name: "Amazon EC2Config",
        services: &["Ec2Config"],
        programs: &["ec2configservice"],
    },
    Signature {
        id: "amazon-ssm-agent",
        name: "Amazon SSM Agent",
        services: &["AmazonSSMAgent"],
        programs: &["amazon ssm agent"],
    },
    Signature {
        id: "azure-vm-agent",
        name: "Azure VM Agent",
        services: &["WindowsAzureGuestAgent", "RdAgent"],
        programs: &["azure vm agent"],
    },
    Signature {
        id: "gce-agents",
        name: "Google Compute Engine agents",
        services: &["GCEAgent", "google_osconfig_agent", "GCEWindowsAgent"],
        programs: &["google compute engine"],
    },
    Signature {
        id: "qemu-guest-agent",
        name: "QEMU guest agent",
        services: &["QEMU-GA"],
        programs: &["qemu guest agent", "qemu-ga"],
    },
];

/// Other hypervisors' guest tools.
const HYPERVISOR_TOOLS: &[Signature] = &[
    Signature {
        id: "vmware-tools",
        name: "VMware Tools",
        services: &["VMTools"],
        programs: &["vmware tools"],
    },
    Signature {
        id: "virtualbox-guest-additions",
        name: "VirtualBox Guest Additions",
        services: &["VBoxService"],
        programs: &["virtualbox guest additions"],
    },
    Signature {
        id: "xen-tools",
        name: "Citrix / XenServer VM tools",
        services: &["xenagent", "XenSvc", "xenservice"],
        programs: &[
            "xenserver",
            "citrix vm tools",
            "citrix xen",
            "paravirtualized xen",
        ],
    },
    Signature {
        id: "parallels-tools",
        name: "Parallels Tools",
        services: &["prl_tools", "prl_tools_service"],
        programs: &["parallels tools"],
    },
    Signature {
        id: "virtuozzo-tools",
        name: "Virtuozzo Tools",
        services: &[],
        programs: &["virtuozzo tools"],
    },
];

fn detect(sigs: &[Signature], f: &WindowsFacts) -> Vec<Detected> {
    let mut out = Vec::new();
    for s in sigs {
        let mut evidence = Vec::new();
        for svc in &f.services {
            if s.services.iter().any(|n| n.eq_ignore_ascii_case(&svc.name)) {
                evidence.push(match svc.start {
                    Some(st) => format!("service {} (start {st})", svc.name),
                    None => format!("service {}", svc.name),
                });
            }
        }
        for p in &f.programs {
            let lower = p.name.to_lowercase();
            if s.programs.iter().any(|m| lower.contains(m)) {
                evidence.push(match &p.version {
                    Some(v) => format!("program \"{}\" {v}", p.name),
                    None => format!("program \"{}\"", p.name),
                });
            }
        }
        if !evidence.is_empty() {
            out.push(Detected {
                id: s.id.to_string(),
                name: s.name.to_string(),
                evidence,
            });
        }
    }
    out
}

/// Fill `agents` and `hypervisor_tools` from the services and programs already read.
pub(super) fn detect_agents(f: &mut WindowsFacts) {
    f.agents = detect(AGENTS, f);
    f.hypervisor_tools = detect(HYPERVISOR_TOOLS, f);
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::windows::ServiceInfo;

    #[test]
    fn kb_numbers() {
        assert_eq!(
            kb_of_package("Package_for_KB5005039~31bf3856ad364e35~amd64~~20348.230.1.1").as_deref(),
            Some("KB5005039")
        );
        assert_eq!(
            kb_of_package("Package_1_for_kb3033929~x").as_deref(),
            Some("KB3033929")
        );
        assert_eq!(
            kb_of_package("Package_for_RollupFix~31bf3856ad364e35"),
            None
        );
        assert_eq!(kb_of_package("Package_for_KB~"), None);
    }

    #[test]
    fn agents_and_tools() {
        let mut f = WindowsFacts {
            services: vec![ServiceInfo {
                name: "aliyunservice".into(),
                start: Some(2),
                ..ServiceInfo::default()
            }],
            programs: vec![Program {
                name: "VMware Tools".into(),
                version: Some("12.3.5".into()),
                ..Program::default()
            }],
            ..WindowsFacts::default()
        };
        detect_agents(&mut f);
        assert_eq!(f.agents.len(), 1);
        assert_eq!(f.agents[0].id, "aliyun-assist");
        assert_eq!(
            f.agents[0].evidence,
            vec!["service aliyunservice (start 2)".to_string()]
        );
        assert_eq!(f.hypervisor_tools.len(), 1);
        assert_eq!(
            f.hypervisor_tools[0].evidence,
            vec!["program \"VMware Tools\" 12.3.5".to_string()]
        );
    }
}
