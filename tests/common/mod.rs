//! Shared helpers for the integration tests: committed fixtures (decompressed once per test
//! binary, written sparse), SHA-256 of files, running the `imgcheck` binary with a timeout and a
//! cap on its output, and the "external tool required" rule (fail under `CI`, loud skip
//! otherwise).
//!
//! Test code: panics (via `assert!`/`expect`) are the failure mechanism here, so the workspace's
//! no-panic lints are allowed in this module.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]

pub mod golden;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// How long one `imgcheck` run may take before it is killed and the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// Largest stdout we keep or accept from one run (the biggest fixture is 16 MiB).
pub const STDOUT_CAP: u64 = 64 * 1024 * 1024;

/// Block size used to write decompressed fixtures sparse (all-zero blocks are skipped).
const SPARSE_BLOCK: usize = 64 * 1024;

/// The repository root (the root package's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `testdata/containers` in the source tree.
pub fn containers_dir() -> PathBuf {
    repo_root().join("testdata").join("containers")
}

/// Path of the `imgcheck` binary under test.
pub fn imgcheck_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_imgcheck"))
}

/// Reads and parses a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Hex SHA-256 of a byte slice.
pub fn sha256_bytes(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Hex SHA-256 of a file's content.
pub fn sha256_file(path: &Path) -> String {
    let mut f = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Content and modification time of a file: the read-only proof compares these before and
/// after (bytes rather than a digest: SHA-256 is slow in an unoptimised test build).
pub fn file_state(path: &Path) -> (Vec<u8>, SystemTime) {
    let mtime = fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    (bytes, mtime)
}

/// SHA-256 and modification time of a file.
pub fn fingerprint(path: &Path) -> (String, SystemTime) {
    let mtime = fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    (sha256_file(path), mtime)
}

/// Decompresses `src` (a `.gz` file) into `dst_dir` under its name without `.gz`, writing
/// all-zero blocks as holes so that the decompressed fixtures cost little disk space.
/// Returns the path written.
pub fn gunzip_into(src: &Path, dst_dir: &Path) -> PathBuf {
    let name = src
        .file_name()
        .and_then(OsStr::to_str)
        .and_then(|n| n.strip_suffix(".gz"))
        .unwrap_or_else(|| panic!("{} is not a .gz file", src.display()));
    let dst = dst_dir.join(name);
    let input = File::open(src).unwrap_or_else(|e| panic!("open {}: {e}", src.display()));
    let mut dec = flate2::read::GzDecoder::new(std::io::BufReader::new(input));
    let mut out = File::create(&dst).unwrap_or_else(|e| panic!("create {}: {e}", dst.display()));
    let mut buf = vec![0u8; SPARSE_BLOCK];
    let mut total: u64 = 0;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = dec
                .read(&mut buf[filled..])
                .unwrap_or_else(|e| panic!("gunzip {}: {e}", src.display()));
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        let chunk = &buf[..filled];
        if chunk.iter().all(|&b| b == 0) {
            out.seek(SeekFrom::Current(filled as i64)).expect("seek");
        } else {
            out.write_all(chunk).expect("write");
        }
        total += filled as u64;
        if filled < buf.len() {
            break;
        }
    }
    out.set_len(total).expect("set_len");
    dst
}

/// Reads `len` bytes at `offset` of a file.
pub fn read_range(path: &Path, offset: u64, len: u64) -> Vec<u8> {
    let mut f = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.seek(SeekFrom::Start(offset)).expect("seek");
    let mut buf = vec![0u8; usize::try_from(len).expect("range fits in memory")];
    f.read_exact(&mut buf)
        .unwrap_or_else(|e| panic!("read {} bytes at {offset} of {}: {e}", len, path.display()));
    buf
}

/// A fixture set: a manifest (`manifest.json` shape, see testdata/README.md) and the directory
/// its `.gz` files live in.
pub struct FixtureSet {
    /// Where the compressed files and JSON side files are.
    pub src_dir: PathBuf,
    /// The parsed `manifest.json`.
    pub manifest: Value,
}

impl FixtureSet {
    /// Loads `manifest.json` from `dir`.
    pub fn load(dir: &Path) -> Self {
        FixtureSet {
            src_dir: dir.to_path_buf(),
            manifest: read_json(&dir.join("manifest.json")),
        }
    }

    /// All fixture entries.
    pub fn fixtures(&self) -> Vec<&Value> {
        self.manifest["fixtures"]
            .as_array()
            .expect("manifest.fixtures is an array")
            .iter()
            .collect()
    }

    /// The fixture entry called `name`.
    pub fn fixture(&self, name: &str) -> &Value {
        self.fixtures()
            .into_iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no fixture {name} in manifest"))
    }

    /// The seed entry called `name`.
    pub fn seed(&self, name: &str) -> &Value {
        let s = &self.manifest["seeds"][name];
        assert!(s.is_object(), "no seed {name} in manifest");
        s
    }

    /// A JSON side file (qemu-info, sfdisk output) next to the fixtures.
    pub fn side_json(&self, file: &str) -> Value {
        read_json(&self.src_dir.join(file))
    }

    /// Decompresses every file of `fixture` into `dst` (skipping ones already there) and returns
    /// the path of its image.
    pub fn materialize(&self, fixture: &Value, dst: &Path) -> PathBuf {
        for f in fixture["files"].as_array().expect("files array") {
            let gz = f.as_str().expect("file name");
            let plain = dst.join(gz.strip_suffix(".gz").expect(".gz name"));
            if !plain.exists() {
                gunzip_into(&self.src_dir.join(gz), dst);
            }
        }
        dst.join(fixture["image"].as_str().expect("image name"))
    }

    /// Decompresses the raw disk of seed `name` into `dst` and returns its path.
    pub fn materialize_seed(&self, name: &str, dst: &Path) -> PathBuf {
        let gz = self.seed(name)["file"]
            .as_str()
            .expect("seed file")
            .to_owned();
        let plain = dst.join(gz.strip_suffix(".gz").expect(".gz name"));
        if plain.exists() {
            plain
        } else {
            gunzip_into(&self.src_dir.join(gz), dst)
        }
    }
}

/// The committed fixtures, all decompressed once per test binary into a directory under
/// `CARGO_TARGET_TMPDIR` (named after the process id; directories of finished runs are removed
/// when the next run starts, since a `static` is never dropped).
pub struct Committed {
    /// The manifest and source directory.
    pub set: FixtureSet,
    /// Directory holding every decompressed file.
    pub dir: PathBuf,
}

/// Returns the committed fixtures, decompressing them on first use.
pub fn committed() -> &'static Committed {
    static CELL: OnceLock<Committed> = OnceLock::new();
    CELL.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("imgcheck-containers");
        fs::create_dir_all(&base).expect("create fixture base dir");
        remove_stale_runs(&base);
        let dir = base.join(format!("run-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("remove old run dir");
        }
        fs::create_dir_all(&dir).expect("create run dir");
        let set = FixtureSet::load(&containers_dir());
        for f in set.fixtures() {
            set.materialize(f, &dir);
        }
        let seeds: Vec<String> = set.manifest["seeds"]
            .as_object()
            .expect("seeds object")
            .keys()
            .cloned()
            .collect();
        for s in seeds {
            set.materialize_seed(&s, &dir);
        }
        Committed { set, dir }
    })
}

/// Removes `run-PID` directories whose process no longer exists.
fn remove_stale_runs(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("run-")) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// What one run of a command produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The command line, for messages.
    pub cmdline: String,
    /// Exit status (None if killed for the timeout or the output cap).
    pub status: Option<ExitStatus>,
    /// Stdout, up to [`STDOUT_CAP`] bytes.
    pub stdout: Vec<u8>,
    /// Total bytes written to stdout (may exceed what was kept).
    pub stdout_len: u64,
    /// Stderr (lossy UTF-8).
    pub stderr: String,
    /// The run exceeded its time limit and was killed.
    pub timed_out: bool,
    /// The run exceeded the stdout cap and was killed.
    pub over_cap: bool,
}

impl RunOutput {
    /// The exit code, if the process exited normally.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Stdout as a string.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Describes the run for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`{}`: status {:?}{}{}, stdout {} bytes, stderr: {}",
            self.cmdline,
            self.status,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            if self.over_cap {
                " (STDOUT OVER CAP)"
            } else {
                ""
            },
            self.stdout_len,
            self.stderr.trim()
        )
    }

    /// Panics unless the process exited with code 0.
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code(),
            Some(0),
            "expected success: {}",
            self.describe()
        );
        self
    }

    /// Parses stdout as JSON (panics with context if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.describe()))
    }

    /// Process ended by a signal, a Rust panic (exit 101, "panicked at"), a timeout or the
    /// output cap — never acceptable on any input.
    pub fn crash_reason(&self) -> Option<String> {
        if self.timed_out {
            return Some("timed out".into());
        }
        if self.over_cap {
            return Some(format!("wrote more than {STDOUT_CAP} bytes to stdout"));
        }
        match self.status {
            None => Some("no exit status".into()),
            Some(s) => match s.code() {
                None => Some(format!("killed by signal ({s})")),
                Some(101) => Some("exit 101 (Rust panic)".into()),
                Some(_) if self.stderr.contains("panicked at") => Some("panic message".into()),
                Some(_) => None,
            },
        }
    }
}

/// Runs `program args` with a timeout and a stdout cap, feeding no stdin.
pub fn run_with_timeout<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    timeout: Duration,
    stdout_cap: u64,
) -> RunOutput {
    let cmdline = std::iter::once(program.as_os_str())
        .chain(args.iter().map(AsRef::as_ref))
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmdline}: {e}"));
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out_thread = thread::spawn(move || {
        let mut kept = Vec::new();
        let mut total: u64 = 0;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match out_pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n as u64;
                    if total <= stdout_cap {
                        kept.extend_from_slice(&buf[..n]);
                    } else {
                        // Over the cap: stop reading; the main loop kills the process.
                        break;
                    }
                }
            }
        }
        (kept, total)
    });
    let err_thread = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = (&mut err_pipe).take(1 << 20).read_to_end(&mut s);
        // Drain the rest so that a chatty process never blocks on a full pipe.
        let _ = std::io::copy(&mut err_pipe, &mut std::io::sink());
        String::from_utf8_lossy(&s).into_owned()
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().expect("try_wait") {
            Some(s) => break Some(s),
            None => {
                if start.elapsed() > timeout {
                    timed_out = true;
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                if out_thread.is_finished() {
                    // stdout closed or over the cap: give the process a moment, then kill.
                    let deadline = Instant::now() + Duration::from_secs(2);
                    let mut st = None;
                    while Instant::now() < deadline {
                        if let Some(s) = child.try_wait().expect("try_wait") {
                            st = Some(s);
                            break;
                        }
                        thread::sleep(Duration::from_millis(10));
                    }
                    if st.is_none() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    break st;
                }
                thread::sleep(Duration::from_millis(5));
            }
        }
    };
    let (stdout, stdout_len) = out_thread.join().expect("stdout thread");
    let stderr = err_thread.join().expect("stderr thread");
    let over_cap = stdout_len > stdout_cap;
    RunOutput {
        cmdline,
        status: if over_cap { None } else { status },
        stdout,
        stdout_len,
        stderr,
        timed_out,
        over_cap,
    }
}

/// Runs the `imgcheck` binary with [`RUN_TIMEOUT`] and [`STDOUT_CAP`].
pub fn imgcheck<S: AsRef<OsStr>>(args: &[S]) -> RunOutput {
    run_with_timeout(&imgcheck_bin(), args, RUN_TIMEOUT, STDOUT_CAP)
}

/// `imgcheck info IMAGE --json [--follow-backing]`; panics unless it succeeds with JSON.
pub fn info_json(image: &Path, follow_backing: bool) -> Value {
    let mut args: Vec<&OsStr> = vec![OsStr::new("info"), image.as_os_str(), OsStr::new("--json")];
    if follow_backing {
        args.push(OsStr::new("--follow-backing"));
    }
    let out = imgcheck(&args);
    out.assert_ok();
    out.json()
}

/// `imgcheck export IMAGE -o OUT [--volume N] [--follow-backing]`; panics unless it succeeds.
pub fn export_to(image: &Path, out: &Path, volume: Option<u64>, follow_backing: bool) {
    let vol = volume.map(|v| v.to_string());
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("export"),
        image.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ];
    if let Some(v) = &vol {
        args.push(OsStr::new("--volume"));
        args.push(OsStr::new(v));
    }
    if follow_backing {
        args.push(OsStr::new("--follow-backing"));
    }
    imgcheck(&args).assert_ok();
}

/// True when running under CI (`CI` set to anything but empty, `0` or `false`).
pub fn under_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        .unwrap_or(false)
}

/// Is `tool` on PATH (as an executable file)?
pub fn have_tool(tool: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .any(|d| {
            fs::metadata(d.join(tool))
                .map(|m| {
                    m.is_file()
                        && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
                })
                .unwrap_or(false)
        })
}

/// Full path of `tool` (PATH, then /usr/sbin and /sbin, where sfdisk lives on Debian).
pub fn tool_path(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(tool))
}

/// Requires external tools for a test. Returns true when all are present. When one is missing:
/// under CI the test fails; otherwise a loud `SKIPPED: <tool> missing` line goes straight to the
/// process's stderr (not captured by the test harness) and false is returned.
pub fn require_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have_tool(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!("SKIPPED: {} missing (test {test})", missing.join(", "));
    assert!(
        !under_ci(),
        "{msg}; CI is set, so this is a failure: install the tools"
    );
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\n*** {msg} ***\n");
    false
}
