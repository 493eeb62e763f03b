//! The fuzz smoke on stable: replays every seed of `fuzz/corpus/<target>/` and every crash of
//! `fuzz/artifacts/<target>/` through the target function in-process, checks that container
//! seeds decode to their raw seed, and runs a deterministic mutation smoke on each seed.
//!
//! A panic becomes a test failure naming the file (and, for mutations, the mutation number and
//! how to write the input out). Inputs in `fuzz/known-bugs/<target>/` are known to panic: they
//! are replayed and reported, but do not fail the suite until their bug is fixed — then the
//! test says so and asks for the file to move into the corpus.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::arithmetic_side_effects, clippy::as_conversions)]

use imgcheck_fuzzing::{container_parity, target, Target, TARGETS};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Mutations run per seed of each target (`IMGCHECK_FUZZ_MUTATIONS` overrides all, e.g. for a
/// longer local run). Chosen so that the whole test stays under a minute in a debug build on two
/// cores: cheap text parsers get many, the targets that open images fewer.
fn default_mutations(target: &str) -> u64 {
    match target {
        "fstab" | "os_release" | "elf" | "kconfig" | "system" => 2000,
        "partition_table" | "bootloader" | "network" | "packages" => 1000,
        "container" | "filesystem" | "initramfs" | "lvm" | "md" | "regf" | "xfs" | "btrfs" => 200,
        _ => 100,
    }
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Files of `dir`, sorted; empty when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v
}

thread_local! {
    /// Message and location of the last panic on this thread (set by the hook below).
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// True while [`run`] executes a target on this thread.
    static IN_TARGET: Cell<bool> = const { Cell::new(false) };
}

/// Record panics instead of printing them: the replay reports them itself. Panics contained by
/// the code under test (imgcheck-fs guards its third-party readers) are recorded too but only
/// the one that escapes is reported.
fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_TARGET.with(Cell::get) {
                LAST_PANIC.with(|l| *l.borrow_mut() = Some(info.to_string()));
            } else {
                default(info);
            }
        }));
    });
}

/// Run `t` on `data`; `Err(message)` when it panicked.
fn run(t: Target, data: &[u8]) -> Result<(), String> {
    quiet_panics();
    LAST_PANIC.with(|l| *l.borrow_mut() = None);
    IN_TARGET.with(|c| c.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| (t.run)(data)));
    IN_TARGET.with(|c| c.set(false));
    match result {
        Ok(()) => Ok(()),
        Err(_) => Err(LAST_PANIC
            .with(|l| l.borrow_mut().take())
            .unwrap_or_else(|| "panic without message".to_string())),
    }
}

/// Directory names under `fuzz/<sub>/` that name no target.
fn unknown_dirs(sub: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(fuzz_dir().join(sub)) else {
        return Vec::new();
    };
    rd.map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| target(n).is_none())
        .collect()
}

#[test]
fn every_target_has_a_fuzz_binary_and_a_seed_corpus() {
    let fuzz = fuzz_dir();
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for t in TARGETS {
        let src = fuzz.join("fuzz_targets").join(format!("{}.rs", t.name));
        let code =
            std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        assert!(
            code.contains(&format!("imgcheck_fuzzing::{}(", t.name)),
            "{} does not call imgcheck_fuzzing::{}",
            src.display(),
            t.name
        );
        assert!(
            manifest.contains(&format!("name = \"{}\"", t.name)),
            "fuzz/Cargo.toml has no [[bin]] for {}",
            t.name
        );
        let seeds = files(&fuzz.join("corpus").join(t.name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{}/ has no seeds", t.name);
    }
    for sub in ["corpus", "artifacts", "known-bugs"] {
        let unknown = unknown_dirs(sub);
        assert!(
            unknown.is_empty(),
            "fuzz/{sub}/ has directories of no target: {unknown:?}"
        );
    }
}

#[test]
fn corpus_limits_hold() {
    let mut total = 0u64;
    for t in TARGETS {
        for f in files(&fuzz_dir().join("corpus").join(t.name)) {
            let len = std::fs::metadata(&f).unwrap().len();
            assert!(
                len <= 64 * 1024,
                "{} is {len} bytes (> 64 KiB)",
                f.display()
            );
            total += len;
        }
    }
    assert!(
        total <= 3328 << 10,
        "corpora hold {total} bytes (> 3.25 MiB)"
    );
}

#[test]
fn corpus_and_artifacts_replay_without_panic() {
    let mut failures = Vec::new();
    let mut count = 0usize;
    for t in TARGETS {
        for sub in ["corpus", "artifacts"] {
            for f in files(&fuzz_dir().join(sub).join(t.name)) {
                count += 1;
                let data = std::fs::read(&f).unwrap();
                if let Err(msg) = run(*t, &data) {
                    failures.push(format!("{}: {msg}", f.display()));
                }
            }
        }
    }
    eprintln!("replayed {count} inputs");
    assert!(
        failures.is_empty(),
        "{} input(s) panicked:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A panic inside a wrapped third-party reader is contained by imgcheck-fs's guard: the target
/// returns normally and the panic is counted, not reported as a crash. The input is the pipeline
/// fuzz target's find: a FAT12 volume whose file's cluster chain reaches cluster 1, where
/// fatfs 0.3.6 computes `cluster - 2` and panics in this (dev-profile) build.
#[test]
fn contained_reader_panics_are_counted_not_crashes() {
    let f = fuzz_dir().join("artifacts/pipeline/crash-4e7375883ed22fb1a6e8fc93c49f38fe972a78df");
    let data = std::fs::read(&f).unwrap();
    let before = imgcheck_fuzzing::CONTAINED_PANICS.load(std::sync::atomic::Ordering::Relaxed);
    run(target("pipeline").unwrap(), &data).unwrap();
    let after = imgcheck_fuzzing::CONTAINED_PANICS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        after > before,
        "no contained panic counted ({before} → {after})"
    );
}

#[test]
fn known_bugs_are_reported() {
    let mut still = Vec::new();
    let mut fixed = Vec::new();
    for t in TARGETS {
        for f in files(&fuzz_dir().join("known-bugs").join(t.name)) {
            let data = std::fs::read(&f).unwrap();
            match run(*t, &data) {
                Err(msg) => still.push(format!("{}: {msg}", f.display())),
                Ok(()) => fixed.push(f.display().to_string()),
            }
        }
    }
    for s in &still {
        eprintln!("KNOWN BUG (not failing the suite): {s}");
    }
    // A known bug that no longer panics must move to the corpus so that it guards the fix.
    assert!(
        fixed.is_empty(),
        "these known-bug inputs no longer panic — move them to fuzz/corpus/<target>/:\n{}",
        fixed.join("\n")
    );
}

/// The filesystem target's slow units (`fuzz/artifacts/filesystem/slow-unit-*`: FAT volumes of
/// 4–63 KB in which a garbage directory entry points back at the root or at an ancestor, so the
/// tree never ends) are replayed above as regression inputs for the FAT reader's cost per lookup
/// (13–40 s per `ls -R` when each call resolved its path from the root) and for `ls -R`'s loop
/// detection (see docs/security.md and tests/fs_cycles.rs). This checks that they still nest
/// that deep through `read_dir`, so that the replay keeps exercising it.
#[test]
fn filesystem_slow_units_still_nest_deep() {
    use imgcheck_core::{Limits, MemSource};
    use imgcheck_fs::{FileType, FsType};
    let mut checked = 0usize;
    for f in files(&fuzz_dir().join("artifacts/filesystem")) {
        let file = f.file_name().unwrap().to_string_lossy().into_owned();
        if !file.starts_with("slow-unit-") {
            continue;
        }
        let data = std::fs::read(&f).unwrap();
        let fs = imgcheck_fs::open(
            std::sync::Arc::new(MemSource::new(data)),
            &Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        let t = fs.volume_info().fs_type;
        assert!(
            matches!(t, FsType::Fat12 | FsType::Fat16 | FsType::Fat32),
            "{file}: {t:?}"
        );
        // Depth-first, deepest path first, until 100 levels (a few hundred directories at most).
        let mut stack = vec![("/".to_string(), 0usize)];
        let mut deepest = 0usize;
        let mut dirs = 0usize;
        while let Some((dir, depth)) = stack.pop() {
            deepest = deepest.max(depth);
            dirs += 1;
            if deepest >= 100 || dirs > 5000 {
                break;
            }
            for e in fs.read_dir(&dir).unwrap_or_default() {
                if e.file_type == FileType::Dir {
                    stack.push((
                        format!("{}/{}", dir.trim_end_matches('/'), e.name),
                        depth + 1,
                    ));
                }
            }
        }
        assert!(
            deepest >= 100,
            "{file}: directories nest only {deepest} deep"
        );
        checked += 1;
    }
    assert_eq!(checked, 6, "slow units of fuzz/artifacts/filesystem/");
}

/// The sparse XFS/Btrfs seeds must reach deep, or the fuzzers start from inputs that fail at
/// open: each opens, its walk lists entries and reads files (or symlinks), directory entries
/// agree with their metadata, and the Btrfs seeds of the subvolume fixtures walk every
/// subvolume.
#[test]
fn xfs_and_btrfs_seeds_reach_the_tree() {
    use imgcheck_fuzzing::{btrfs_stats, xfs_stats};
    let mut checked = 0usize;
    for (name, stats) in [("xfs", xfs_stats as fn(&[u8]) -> _), ("btrfs", btrfs_stats)] {
        for f in files(&fuzz_dir().join("corpus").join(name)) {
            let file = f.file_name().unwrap().to_string_lossy().into_owned();
            let data = std::fs::read(&f).unwrap();
            let st = stats(&data);
            assert!(st.opened, "{name}/{file} does not open: {st:?}");
            assert!(
                st.entries >= 20 && st.files_read + st.links_read >= 5,
                "{name}/{file} reaches too little: {st:?}"
            );
            assert_eq!(st.type_mismatches, 0, "{name}/{file}: {st:?}");
            if file.starts_with("suse") || file.starts_with("fedora") {
                assert!(
                    st.subvolumes >= 3 && st.subvolumes_walked == st.subvolumes,
                    "{name}/{file}: {st:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} XFS/Btrfs seeds");
}

/// A sparse seed with the reseal flag cleared fails at the first checksum (so the flag is what
/// lets the fuzzer past them, and the checksum checks stay exercised without it).
#[test]
fn sparse_seeds_need_their_reseal_flag_only_after_mutation() {
    for (name, stats) in [
        ("xfs/v5-meta", imgcheck_fuzzing::xfs_stats as fn(&[u8]) -> _),
        ("btrfs/plain-meta", imgcheck_fuzzing::btrfs_stats),
    ] {
        let mut data = std::fs::read(fuzz_dir().join("corpus").join(name)).unwrap();
        assert!(stats(&data).opened, "{name}");
        // Unmodified, the checksums are right with or without resealing.
        data[4] = 0;
        assert!(stats(&data).opened, "{name} without the reseal flag");
        // Change the stored checksum of the superblock: without the flag it fails, with it the
        // image opens again. (The Btrfs seed may hold the 64 MiB mirror only: the seed maker
        // keeps one valid copy.)
        let crc_at: &[u64] = if name.starts_with("xfs") {
            &[224]
        } else {
            &[0x1_0000, 0x400_0000]
        };
        let mut pos = 5usize;
        let mut patched = false;
        while pos + 6 <= data.len() {
            let off = u64::from(u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap())) * 16;
            let len = usize::from(u16::from_le_bytes(
                data[pos + 4..pos + 6].try_into().unwrap(),
            ));
            if let Some(&at) = crc_at.iter().find(|&&a| off <= a && a < off + len as u64) {
                data[pos + 6 + (at - off) as usize] ^= 0x55;
                patched = true;
                break;
            }
            pos += 6 + len;
        }
        assert!(patched, "{name}: no record holds the superblock's checksum");
        assert!(!stats(&data).opened, "{name}: corrupt superblock opened");
        data[4] = 1;
        assert!(
            stats(&data).opened,
            "{name}: resealed superblock did not open"
        );
    }
}

#[test]
fn container_seeds_decode_to_their_raw_seed() {
    let dir = fuzz_dir().join("corpus/container");
    let mut checked = 0usize;
    let mut failures = Vec::new();
    for f in files(&dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".raw") {
            continue;
        }
        let stem = name.split(['-', '.']).next().unwrap_or_default();
        let raw_path = dir.join(format!("{stem}.raw"));
        let Ok(raw) = std::fs::read(&raw_path) else {
            continue;
        };
        checked += 1;
        if let Err(e) = container_parity(&std::fs::read(&f).unwrap(), &raw) {
            failures.push(format!("{name} vs {stem}.raw: {e}"));
        }
    }
    // qcow2 (v3, v2, zlib, zstd) and VHD (fixed, dynamic) seeds of disk.raw.
    assert!(
        checked >= 6,
        "only {checked} container seeds have a raw twin"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// SplitMix64: a tiny, fixed-seed PRNG so that every run mutates identically.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// FNV-1a, to derive a per-seed PRNG state from its name.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Integers that break size and offset arithmetic.
const INTERESTING: &[u64] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// Apply 1–4 stacked mutations to `data`: bit flips, byte sets, interesting integers (LE or BE,
/// 1/2/4/8 bytes), truncations, block copies within the input, splices from another seed.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            2 if len > 0 => {
                let width = [1usize, 2, 4, 8][rng.below(4)];
                let v = INTERESTING[rng.below(INTERESTING.len())];
                let bytes = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                let at = rng.below(len);
                let src = if rng.below(2) == 0 {
                    &bytes[..width]
                } else {
                    &bytes[8 - width..]
                };
                for (k, b) in src.iter().enumerate() {
                    if let Some(d) = data.get_mut(at + k) {
                        *d = *b;
                    }
                }
            }
            3 => {
                let keep = rng.below(len + 1);
                data.truncate(keep);
            }
            4 if len > 1 => {
                let n = 1 + rng.below(len.min(4096));
                let from = rng.below(len - n + 1);
                let to = rng.below(len - n + 1);
                data.copy_within(from..from + n, to);
            }
            5 if !other.is_empty() && len > 0 => {
                let n = 1 + rng.below(other.len().min(4096));
                let from = rng.below(other.len() - n + 1);
                let to = rng.below(len);
                let end = (to + n).min(len);
                data[to..end].copy_from_slice(&other[from..from + (end - to)]);
            }
            _ => {
                // Insert a few random bytes (shifts every later structure).
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let ins: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(at..at, ins);
            }
        }
    }
}

/// What identifies a bug in a panic message: the panic location and the message up to its first
/// input-dependent part (a quote or parenthesis), e.g. `panicked at src/x.rs:10:5:\nfs: read_dir`.
fn signature(msg: &str) -> String {
    msg.split(['"', '(']).next().unwrap_or(msg).to_string()
}

/// Signatures of the panics of the inputs in `fuzz/known-bugs/<target>/`.
fn known_signatures(t: Target) -> Vec<String> {
    files(&fuzz_dir().join("known-bugs").join(t.name))
        .iter()
        .filter_map(|f| run(t, &std::fs::read(f).unwrap()).err())
        .map(|m| signature(&m))
        .collect()
}

/// Run the mutation smoke on one target. Returns (inputs run, failures). A panic with the
/// signature of a known bug is reported on stderr, not counted as a failure.
fn smoke(t: Target, mutations: u64) -> (u64, Vec<String>) {
    let known = known_signatures(t);
    let mut known_hits = 0u64;
    let seeds = files(&fuzz_dir().join("corpus").join(t.name));
    let datas: Vec<Vec<u8>> = seeds.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let mut failures = Vec::new();
    let mut runs = 0u64;
    for (idx, (path, seed)) in seeds.iter().zip(&datas).enumerate() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut rng = Rng(fnv(&format!("{}/{name}", t.name)));
        let other = &datas[(idx + 1) % datas.len()];
        for m in 0..mutations {
            let mut data = seed.clone();
            mutate(&mut rng, &mut data, other);
            runs += 1;
            if let Err(msg) = run(t, &data) {
                if known.contains(&signature(&msg)) {
                    known_hits += 1;
                    continue;
                }
                let out = std::env::temp_dir().join(format!("imgcheck-fuzz-{}-{name}-{m}", t.name));
                let _ = std::fs::write(&out, &data);
                failures.push(format!(
                    "{}/{name} mutation {m} panicked (input written to {}): {msg}",
                    t.name,
                    out.display()
                ));
                if failures.len() >= 5 {
                    return (runs, failures);
                }
            }
        }
    }
    if known_hits > 0 {
        eprintln!(
            "mutation smoke {}: {known_hits} inputs hit known bugs",
            t.name
        );
    }
    (runs, failures)
}

fn mutations(target: &str) -> u64 {
    std::env::var("IMGCHECK_FUZZ_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| default_mutations(target))
}

/// One test per target so that they run in parallel and fail separately.
macro_rules! smoke_test {
    ($fn_name:ident, $target:literal) => {
        #[test]
        fn $fn_name() {
            let t = target($target).expect("target");
            let start = std::time::Instant::now();
            let (runs, failures) = smoke(t, mutations($target));
            eprintln!(
                "mutation smoke {}: {runs} inputs in {:.1?}",
                $target,
                start.elapsed()
            );
            assert!(runs > 0, "no inputs for {}", $target);
            assert!(failures.is_empty(), "{}", failures.join("\n"));
        }
    };
}

smoke_test!(mutation_smoke_container, "container");
smoke_test!(mutation_smoke_partition_table, "partition_table");
smoke_test!(mutation_smoke_lvm, "lvm");
smoke_test!(mutation_smoke_md, "md");
smoke_test!(mutation_smoke_filesystem, "filesystem");
smoke_test!(mutation_smoke_xfs, "xfs");
smoke_test!(mutation_smoke_btrfs, "btrfs");
smoke_test!(mutation_smoke_initramfs, "initramfs");
smoke_test!(mutation_smoke_fstab, "fstab");
smoke_test!(mutation_smoke_os_release, "os_release");
smoke_test!(mutation_smoke_elf, "elf");
smoke_test!(mutation_smoke_kconfig, "kconfig");
smoke_test!(mutation_smoke_bootloader, "bootloader");
smoke_test!(mutation_smoke_network, "network");
smoke_test!(mutation_smoke_packages, "packages");
smoke_test!(mutation_smoke_system, "system");
smoke_test!(mutation_smoke_regf, "regf");
smoke_test!(mutation_smoke_pipeline, "pipeline");

#[test]
fn every_target_has_a_smoke_test() {
    let me = include_str!("replay.rs");
    for t in TARGETS {
        assert!(
            me.contains(&format!(
                "smoke_test!(mutation_smoke_{}, \"{}\")",
                t.name, t.name
            )),
            "tests/replay.rs has no smoke_test! for {}",
            t.name
        );
    }
}
