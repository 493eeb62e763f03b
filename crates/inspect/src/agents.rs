//! Cloud and hypervisor agents: cloud-init (binary, version from the package database or its
//! `cloudinit/version.py`, `/etc/cloud/cloud.cfg` +
//! `cloud.cfg.d/*.cfg` merged in lexical order as cloud-init does: `datasource_list`, the
//! `growpart`/`resizefs` modules and their `growpart: mode: off` / `resize_rootfs: false`
//! switches, its units), growpart, Alibaba Cloud Assistant and Security Center (Aegis),
//! qemu-guest-agent, and other hypervisors' tools (VMware, VirtualBox, Xen, Hyper-V). Evidence
//! paths as in Alibaba's cleanup scripts and virt-v2v's `convert_linux.ml`. Own code: existence
//! checks and a YAML subset.

use crate::packages::Packages;
use crate::services::ServiceIndex;
use crate::view::GuestView;
use crate::yaml::{self, Yaml};
use serde::{Deserialize, Serialize};

/// Bytes read of one cloud-init config.
const MAX_CFG: u64 = 1 << 20;
/// cloud.cfg.d files read.
const MAX_FILES: usize = 256;

/// cloud-init facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudInit {
    /// The `cloud-init` program path, if present.
    pub binary: Option<String>,
    /// Config files read, in merge order.
    pub config_files: Vec<String>,
    /// Effective `datasource_list` (the last file setting it wins), and where.
    pub datasource_list: Option<Vec<String>>,
    /// File that set `datasource_list`.
    pub datasource_source: Option<String>,
    /// `growpart` is listed in a module list.
    pub growpart_module: bool,
    /// `resizefs` (or `resize_rootfs`) is listed in a module list.
    pub resizefs_module: bool,
    /// `growpart: mode: off|false` disables it.
    pub growpart_disabled: bool,
    /// `resize_rootfs: false` disables resizing.
    pub resizefs_disabled: bool,
    /// Units `cloud-init-local`, `cloud-init`, `cloud-config`, `cloud-final` enabled.
    pub units_enabled: Vec<String>,
    /// `/etc/cloud/cloud-init.disabled` exists.
    pub disabled_file: bool,
    /// `/var/lib/cloud/instances` holds instance state (not generalised).
    pub instances_present: bool,
    /// Installed cloud-init version (package version, or `__VERSION__` of its Python package).
    pub version: Option<String>,
    /// Where the version came from: `package cloud-init (dpkg)`, or the `version.py` path.
    pub version_source: Option<String>,
    /// `network: {config: disabled}` in the merged configuration: cloud-init leaves the
    /// network configuration alone. The file and line that say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_config_disabled: Option<String>,
    /// A network configuration given in cloud.cfg(.d) itself (`network:` with `version:`):
    /// cloud-init prefers it to the datasource's, so it renders the same configuration on
    /// every instance. The file and line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_config_system: Option<String>,
}

/// A tool found by path or unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Present (any evidence found).
    pub present: bool,
    /// Its service is enabled.
    pub enabled: bool,
    /// Paths found.
    pub evidence: Vec<String>,
}

/// Agents in the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentFacts {
    /// cloud-init.
    pub cloud_init: CloudInit,
    /// `growpart` program path.
    pub growpart: Option<String>,
    /// Alibaba Cloud Assistant.
    pub cloud_assistant: Agent,
    /// Alibaba Security Center (Aegis).
    pub security_center: Agent,
    /// qemu-guest-agent.
    pub qemu_guest_agent: Agent,
    /// Other hypervisors' tools: name → evidence.
    pub other_hypervisor_tools: Vec<(String, Agent)>,
    /// Other clouds' guest agents found (Azure's waagent, Google's guest agent, Amazon's SSM
    /// agent, …): name → evidence.
    #[serde(default)]
    pub cloud_agents: Vec<(String, Agent)>,
}

fn module_names(list: &Yaml) -> Vec<String> {
    list.items()
        .iter()
        .filter_map(|i| match i {
            Yaml::Scalar(s, _) => Some(s.clone()),
            Yaml::List(v) => v.first().and_then(Yaml::as_str).map(str::to_string),
            Yaml::Map(_) => i.get("name").and_then(Yaml::as_str).map(str::to_string),
            Yaml::Null => None,
        })
        .collect()
}

/// Merge one cloud-init config document into `c`.
pub fn apply_cloud_cfg(c: &mut CloudInit, y: &Yaml, file: &str) {
    if let Some(ds) = y.get("datasource_list") {
        c.datasource_list = Some(
            ds.items()
                .iter()
                .filter_map(|d| d.as_str())
                .map(str::to_string)
                .collect(),
        );
        c.datasource_source = Some(file.to_string());
    }
    for key in [
        "cloud_init_modules",
        "cloud_config_modules",
        "cloud_final_modules",
    ] {
        if let Some(l) = y.get(key) {
            for m in module_names(l) {
                let m = m.replace('-', "_");
                match m.as_str() {
                    "growpart" => c.growpart_module = true,
                    "resizefs" | "resize_rootfs" => c.resizefs_module = true,
                    _ => {}
                }
            }
        }
    }
    if let Some(g) = y.get("growpart") {
        if let Some(mode) = g.get("mode") {
            c.growpart_disabled = mode.as_bool() == Some(false) || mode.as_str() == Some("off");
        }
    }
    if let Some(r) = y.get("resize_rootfs") {
        c.resizefs_disabled = r.as_bool() == Some(false);
    }
    // `network: {config: disabled}`; a later `network:` with a configuration replaces it
    // (cloud-init's merge of system config: the last file's key wins).
    if let Some((n, line)) = y.entry("network") {
        c.network_config_disabled = match n.entry("config") {
            Some((v, l)) if v.as_str() == Some("disabled") => Some(format!("{file} line {l}")),
            _ if n.as_str() == Some("disabled") => Some(format!("{file} line {line}")),
            _ => None,
        };
        c.network_config_system = n.get("version").map(|_| format!("{file} line {line}"));
    }
}

fn first_existing(view: &GuestView, paths: &[&str]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| view.exists(p))
        .map(|p| p.to_string())
        .collect()
}

fn agent(view: &GuestView, ix: &ServiceIndex, paths: &[&str], units: &[&str]) -> Agent {
    let mut a = Agent {
        evidence: first_existing(view, paths),
        ..Agent::default()
    };
    for u in units {
        let s = ix.unit_state(u);
        if s.exists {
            a.evidence.extend(s.unit_path.clone());
            if s.unit_path.is_none() {
                a.evidence.extend(s.evidence.iter().cloned());
            }
        }
        if s.enabled {
            // What enables it: wants/requires links or SysV start links.
            a.evidence.extend(s.evidence.iter().cloned());
        }
        a.enabled |= s.enabled;
    }
    a.evidence.sort();
    a.evidence.dedup();
    a.present = !a.evidence.is_empty();
    a
}

/// Python library directories searched for `cloudinit/version.py`, as distributions install
/// it (`dist-packages` on Debian/Ubuntu, `site-packages` elsewhere).
const PY_LIB_DIRS: &[&str] = &["/usr/lib", "/usr/local/lib", "/usr/lib64"];
/// Python directories looked at under each of them.
const MAX_PY_DIRS: usize = 64;

/// `__VERSION__ = "23.1.2"` (and a substituted `_PACKAGED_VERSION`, which wins) from cloud-init's
/// `cloudinit/version.py`.
pub fn parse_version_py(text: &str) -> Option<String> {
    let mut version = None;
    let mut packaged = None;
    for l in text.lines() {
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
        let ok = !v.is_empty()
            && v.len() <= 64
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+~_".contains(c));
        match k.trim() {
            "__VERSION__" if ok => version = Some(v.to_string()),
            "_PACKAGED_VERSION" if ok => packaged = Some(v.to_string()),
            _ => {}
        }
    }
    packaged.or(version)
}

/// The cloud-init version: the `cloud-init` package of the package database, else the
/// `cloudinit/version.py` of the guest's Python (site- or dist-packages).
pub fn cloud_init_version(view: &GuestView, packages: &Packages) -> Option<(String, String)> {
    if let Some(p) = packages.get("cloud-init") {
        return Some((
            p.version.clone(),
            format!("package cloud-init ({})", packages.format),
        ));
    }
    for lib in PY_LIB_DIRS {
        let Ok(mut ents) = view.read_dir(lib) else {
            continue;
        };
        ents.retain(|e| e.name.starts_with("python"));
        ents.sort_by(|a, b| a.name.cmp(&b.name));
        for e in ents.iter().take(MAX_PY_DIRS) {
            for sub in ["dist-packages", "site-packages"] {
                let p = format!("{lib}/{}/{sub}/cloudinit/version.py", e.name);
                if let Ok(t) = view.read_text(&p, MAX_CFG) {
                    if let Some(v) = parse_version_py(&t) {
                        return Some((v, p));
                    }
                }
            }
        }
    }
    None
}

/// Read the agents of the guest.
pub fn inspect(view: &GuestView, ix: &ServiceIndex) -> AgentFacts {
    let mut f = AgentFacts::default();
    let ci = &mut f.cloud_init;
    ci.binary = first_existing(view, &["/usr/bin/cloud-init", "/usr/local/bin/cloud-init"])
        .into_iter()
        .next();
    let mut files = vec!["/etc/cloud/cloud.cfg".to_string()];
    if let Ok(mut ents) = view.read_dir("/etc/cloud/cloud.cfg.d") {
        ents.sort_by(|a, b| a.name.cmp(&b.name));
        files.extend(
            ents.into_iter()
                .filter(|e| e.name.ends_with(".cfg"))
                .take(MAX_FILES)
                .map(|e| format!("/etc/cloud/cloud.cfg.d/{}", e.name)),
        );
    }
    for p in files {
        if let Ok(t) = view.read_text(&p, MAX_CFG) {
            apply_cloud_cfg(ci, &yaml::parse(&t), &p);
            ci.config_files.push(p);
        }
    }
    for u in [
        "cloud-init-local.service",
        "cloud-init.service",
        "cloud-config.service",
        "cloud-final.service",
    ] {
        if ix.unit_state(u).enabled {
            ci.units_enabled.push(u.to_string());
        }
    }
    ci.disabled_file = view.exists("/etc/cloud/cloud-init.disabled");
    ci.instances_present = view
        .read_dir("/var/lib/cloud/instances")
        .is_ok_and(|e| !e.is_empty());
    f.growpart = first_existing(
        view,
        &[
            "/usr/bin/growpart",
            "/usr/sbin/growpart",
            "/usr/local/bin/growpart",
        ],
    )
    .into_iter()
    .next();

    let mut assist = agent(
        view,
        ix,
        &["/usr/sbin/aliyun-service", "/usr/local/share/aliyun-assist"],
        &["aliyun.service"],
    );
    if let Ok(vers) = view.read_dir("/usr/local/share/aliyun-assist") {
        for v in vers.iter().take(MAX_FILES) {
            let p = format!("/usr/local/share/aliyun-assist/{}/aliyun-service", v.name);
            if view.exists(&p) {
                assist.evidence.push(p);
            }
        }
    }
    f.cloud_assistant = assist;
    f.security_center = agent(
        view,
        ix,
        &["/usr/local/aegis", "/etc/init.d/aegis"],
        &["aegis.service"],
    );
    f.qemu_guest_agent = agent(
        view,
        ix,
        &["/usr/bin/qemu-ga", "/usr/sbin/qemu-ga"],
        &["qemu-guest-agent.service"],
    );
    let others: [(&str, &[&str], &[&str]); 6] = [
        (
            "open-vm-tools",
            &["/usr/bin/vmtoolsd", "/etc/vmware-tools"],
            &["open-vm-tools.service", "vmtoolsd.service"],
        ),
        (
            "vmware-tools",
            &[
                "/usr/bin/vmware-uninstall-tools.pl",
                "/etc/init.d/vmware-tools",
            ],
            &[],
        ),
        (
            "virtualbox-guest-additions",
            &[
                "/var/lib/VBoxGuestAdditions/config",
                "/opt/VBoxGuestAdditions",
            ],
            &["vboxadd.service", "vboxadd-service.service"],
        ),
        (
            "xe-guest-utilities",
            &["/usr/sbin/xe-daemon", "/usr/sbin/xe-linux-distribution"],
            &["xe-linux-distribution.service"],
        ),
        (
            "hyperv-daemons",
            &["/usr/sbin/hv_kvp_daemon", "/usr/sbin/hypervkvpd"],
            &["hv-kvp-daemon.service", "hypervkvpd.service"],
        ),
        (
            "parallels-tools",
            &["/usr/lib/parallels-tools/install"],
            &[],
        ),
    ];
    for (name, paths, units) in others {
        let a = agent(view, ix, paths, units);
        if a.present {
            f.other_hypervisor_tools.push((name.to_string(), a));
        }
    }
    // Other clouds' agents, by the programs and units their packages install (WALinuxAgent,
    // google-guest-agent, amazon-ssm-agent, the EC2 instance-connect and Oracle Cloud agents).
    let clouds: [(&str, &[&str], &[&str]); 5] = [
        (
            "waagent",
            &["/usr/sbin/waagent", "/usr/bin/waagent", "/etc/waagent.conf"],
            &["walinuxagent.service", "waagent.service"],
        ),
        (
            "google-guest-agent",
            &[
                "/usr/bin/google_guest_agent",
                "/usr/bin/google_metadata_script_runner",
                "/etc/default/instance_configs.cfg",
            ],
            &["google-guest-agent.service"],
        ),
        (
            "amazon-ssm-agent",
            &[
                "/usr/bin/amazon-ssm-agent",
                "/snap/amazon-ssm-agent",
                "/etc/amazon/ssm",
            ],
            &[
                "amazon-ssm-agent.service",
                "snap.amazon-ssm-agent.amazon-ssm-agent.service",
            ],
        ),
        (
            "ec2-instance-connect",
            &["/usr/share/ec2-instance-connect"],
            &[],
        ),
        (
            "oracle-cloud-agent",
            &["/usr/bin/oracle-cloud-agent", "/etc/oracle-cloud-agent"],
            &["oracle-cloud-agent.service"],
        ),
    ];
    for (name, paths, units) in clouds {
        let a = agent(view, ix, paths, units);
        if a.present {
            f.cloud_agents.push((name.to_string(), a));
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
    fn cloud_init_network_config_disabled() {
        // Block and flow style, the last file wins, a later `network:` with a configuration
        // takes the disabling back.
        let apply = |docs: &[(&str, &str)]| {
            let mut c = CloudInit::default();
            for (file, text) in docs {
                apply_cloud_cfg(&mut c, &yaml::parse(text), file);
            }
            c.network_config_disabled
        };
        assert_eq!(
            apply(&[(
                "/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg",
                "# written by the image build\nnetwork: {config: disabled}\n"
            )])
            .as_deref(),
            Some("/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg line 2")
        );
        assert_eq!(
            apply(&[(
                "/etc/cloud/cloud.cfg",
                "users: [default]\nnetwork:\n  config: disabled\n"
            )])
            .as_deref(),
            Some("/etc/cloud/cloud.cfg line 3")
        );
        let mut c = CloudInit::default();
        apply_cloud_cfg(
            &mut c,
            &yaml::parse("network:\n  config: disabled\n"),
            "/etc/cloud/cloud.cfg",
        );
        apply_cloud_cfg(
            &mut c,
            &yaml::parse("# system network config\nnetwork:\n  version: 2\n  ethernets: {}\n"),
            "/etc/cloud/cloud.cfg.d/50-net.cfg",
        );
        assert_eq!(c.network_config_disabled, None);
        assert_eq!(
            c.network_config_system.as_deref(),
            Some("/etc/cloud/cloud.cfg.d/50-net.cfg line 2")
        );
        assert_eq!(
            apply(&[("/etc/cloud/cloud.cfg", "network:\n  config: enabled\n")]),
            None
        );
        assert_eq!(
            apply(&[("/etc/cloud/cloud.cfg", "datasource_list: [AliYun]\n")]),
            None
        );
    }

    #[test]
    fn cloud_init_merge_and_agents() {
        let view = MemFs::new()
            .file("/usr/bin/cloud-init", "x")
            .file("/etc/cloud/cloud.cfg", "datasource_list: [ NoCloud, None ]\ncloud_init_modules:\n - migrator\n - [growpart, always]\n - resizefs\n")
            .file("/etc/cloud/cloud.cfg.d/90_dpkg.cfg", "datasource_list: [ AliYun ]\n")
            .file("/etc/cloud/cloud.cfg.d/99-off.cfg", "growpart:\n  mode: 'off'\nresize_rootfs: false\n")
            .file("/usr/lib/systemd/system/cloud-init.service", "x")
            .link("/etc/systemd/system/cloud-init.target.wants/cloud-init.service", "/usr/lib/systemd/system/cloud-init.service")
            .file("/usr/local/share/aliyun-assist/2.5.3.1/aliyun-service", "x")
            .file("/etc/init.d/aegis", "x")
            .link("/etc/rc2.d/S90aegis", "../init.d/aegis")
            .file("/usr/bin/vmtoolsd", "x")
            .file("/var/lib/cloud/instances/i-123/x", "")
            .file("/usr/sbin/waagent", "x")
            .file("/etc/waagent.conf", "x")
            .file("/usr/lib/systemd/system/amazon-ssm-agent.service", "x")
            .link("/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service", "/usr/lib/systemd/system/amazon-ssm-agent.service")
            .view();
        let ix = ServiceIndex::load(&view);
        let f = inspect(&view, &ix);
        let c = &f.cloud_init;
        assert_eq!(c.binary.as_deref(), Some("/usr/bin/cloud-init"));
        assert_eq!(
            c.datasource_list.as_deref(),
            Some(&["AliYun".to_string()][..])
        );
        assert_eq!(
            c.datasource_source.as_deref(),
            Some("/etc/cloud/cloud.cfg.d/90_dpkg.cfg")
        );
        assert!(
            c.growpart_module && c.resizefs_module && c.growpart_disabled && c.resizefs_disabled
        );
        assert_eq!(c.units_enabled, vec!["cloud-init.service".to_string()]);
        assert!(c.instances_present && !c.disabled_file);
        assert!(f.cloud_assistant.present && !f.cloud_assistant.enabled);
        assert!(f
            .cloud_assistant
            .evidence
            .contains(&"/usr/local/share/aliyun-assist/2.5.3.1/aliyun-service".to_string()));
        assert!(f.security_center.present && f.security_center.enabled);
        assert!(!f.qemu_guest_agent.present);
        assert!(f
            .security_center
            .evidence
            .contains(&"/etc/rc2.d/S90aegis".to_string()));
        assert_eq!(f.other_hypervisor_tools.len(), 1);
        assert_eq!(f.other_hypervisor_tools[0].0, "open-vm-tools");
        let clouds: Vec<(&str, bool, &[String])> = f
            .cloud_agents
            .iter()
            .map(|(n, a)| (n.as_str(), a.enabled, a.evidence.as_slice()))
            .collect();
        assert_eq!(
            clouds,
            [
                (
                    "waagent",
                    false,
                    &[
                        "/etc/waagent.conf".to_string(),
                        "/usr/sbin/waagent".to_string()
                    ][..]
                ),
                (
                    "amazon-ssm-agent",
                    true,
                    &[
                        "/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service"
                            .to_string(),
                        "/usr/lib/systemd/system/amazon-ssm-agent.service".to_string()
                    ][..]
                )
            ]
        );
        assert!(f.growpart.is_none());
    }

    #[test]
    fn cloud_init_version_from_package_or_python() {
        use crate::packages::{Package, Packages};
        let view = MemFs::new()
            .file(
                "/usr/lib/python3/dist-packages/cloudinit/version.py",
                "__VERSION__ = \"22.4.2\"\n_PACKAGED_VERSION = \"@@PACKAGED_VERSION@@\"\n",
            )
            .view();
        let pk = Packages {
            format: "dpkg".into(),
            list: vec![Package {
                name: "cloud-init".into(),
                version: "22.4.2-1+deb12u1".into(),
                arch: "all".into(),
            }],
            readable: true,
            ..Packages::default()
        };
        assert_eq!(
            cloud_init_version(&view, &pk),
            Some((
                "22.4.2-1+deb12u1".into(),
                "package cloud-init (dpkg)".into()
            ))
        );
        assert_eq!(
            cloud_init_version(&view, &Packages::default()),
            Some((
                "22.4.2".into(),
                "/usr/lib/python3/dist-packages/cloudinit/version.py".into()
            ))
        );
        let view = MemFs::new()
            .file(
                "/usr/lib/python3.9/site-packages/cloudinit/version.py",
                "__VERSION__ = '21.1'\n_PACKAGED_VERSION = '21.1-19.el9'\n",
            )
            .view();
        assert_eq!(
            cloud_init_version(&view, &Packages::default()).unwrap().0,
            "21.1-19.el9"
        );
        assert_eq!(parse_version_py("__VERSION__ = \"$(rm -rf)\"\n"), None);
        assert_eq!(
            cloud_init_version(&MemFs::new().view(), &Packages::default()),
            None
        );
    }
}
