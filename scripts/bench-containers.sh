#!/usr/bin/env bash
# Container read benchmark (issue 2): read the whole virtual disk of a 1 GiB image through each
# container format with `imgcheck export` and with `qemu-img convert -O raw`, in the same run,
# and record MB/s, the speed ratio, CPU time and peak RSS in docs/benchmarks.md between the
# `<!-- containers:begin -->` / `<!-- containers:end -->` markers (re-runnable).
#
# This is a script, not a timed test: it needs qemu-img, python3, openssl, GNU time and ~6 GiB of
# disk (images) plus ~1 GiB of tmpfs (the sink). Nothing it builds is committed.
#
# Method, per format:
#   * both tools write the decoded disk to the same kind of sink: a file on tmpfs (qemu-img 10
#     refuses /dev/null, "Cannot grow device files"), deleted before every run;
#   * one untimed warm-up run each (page cache warm), whose outputs must have the same sha256
#     (a fast wrong answer does not count); our last timed output is hashed again;
#   * REPS timed runs, ours and qemu's interleaved in alternating order so background load hits
#     both alike;
#   * reported: median wall time -> MB/s (10^6 bytes/s) of the virtual size, the speed ratio
#     ours/qemu (>= 1.00 means at least qemu-img's speed), median CPU time (user+sys) and the
#     largest peak RSS, both from /usr/bin/time.
#
# Environment knobs:
#   BENCH_DATA   work dir for the seed and the images (default /work/bench-data; never commit)
#   BENCH_SINK   tmpfs file both tools write to (default /dev/shm/imgcheck-bench.out)
#   BENCH_REPS   timed repetitions (default 5)
#   BENCH_ONLY   space-separated subset of format names (default: all)
#   BENCH_NO_DOC set to 1 to print the table without touching docs/benchmarks.md
#   BENCH_RT     set to 1 to run both tools under `chrt -f 1` (SCHED_FIFO, needs root): on a
#                machine loaded by other work this approximates an idle machine, where the
#                plain CFS figures mostly show how the scheduler shares the cores (it favours
#                qemu-img's many short-sleeping threads over our CPU-bound single thread)
#   IMGCHECK     imgcheck binary to use (default: `cargo build --release`, then
#                ${CARGO_TARGET_DIR:-target}/release/imgcheck)
set -euo pipefail
export LC_ALL=C
# The whole script is one block, so bash parses it all before running: editing the file during a
# (long) run cannot change what the run executes.
{

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${BENCH_DATA:-/work/bench-data}
SINK=${BENCH_SINK:-/dev/shm/imgcheck-bench.out}
REPS=${BENCH_REPS:-5}
DOC="$REPO/docs/benchmarks.md"
SEED_MIB=1024                 # the seed disk: 1 GiB
SEED_VERSION=1                # bump when the seed recipe below changes (forces a rebuild)

die() { echo "bench-containers: $*" >&2; exit 1; }
for tool in qemu-img python3 openssl sha256sum /usr/bin/time; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer"
case "$DATA" in "$REPO"|"$REPO"/*) die "BENCH_DATA must lie outside the repository" ;; esac

if [[ -z "${IMGCHECK:-}" ]]; then
    (cd "$REPO" && cargo build --release --quiet) || die "cargo build --release failed"
    IMGCHECK="${CARGO_TARGET_DIR:-$REPO/target}/release/imgcheck"
fi
[[ -x "$IMGCHECK" ]] || die "no imgcheck binary at $IMGCHECK"
mkdir -p "$DATA"

# ---------------------------------------------------------------------------------------------
# The seed: 1024 chunks of 1 MiB, in a seeded shuffle: 410 chunks of pseudo-random data (an
# AES-128-CTR keystream with a fixed key, incompressible), 307 chunks of text-like data (slices
# of a seeded syslog/prose pool, ~3x compressible) and 307 holes (sparse, read as zeros).
# ---------------------------------------------------------------------------------------------
SEED="$DATA/seed.raw"
if [[ ! -f "$SEED" || "$(cat "$DATA/seed.version" 2>/dev/null)" != "$SEED_VERSION" ]]; then
    echo "building the ${SEED_MIB} MiB seed in $DATA ..." >&2
    rm -f "$DATA"/*.img "$DATA"/*.sha256 "$SEED" "$DATA/seed.version"
    # The generator reads the keystream on stdin, so its source is passed with -c.
    read -r -d '' SEED_PY <<'PY' || true
import random, sys
path, chunks = sys.argv[1], int(sys.argv[2])
MIB = 1 << 20
rng = random.Random(20240502)
n_rand = chunks * 40 // 100
n_text = chunks * 30 // 100
kinds = ["rand"] * n_rand + ["text"] * n_text + ["hole"] * (chunks - n_rand - n_text)
rng.shuffle(kinds)
words = ("the of and to in is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when if "
         "kernel systemd network interface started stopped mounted device block filesystem user "
         "session opened closed accepted failed connection timeout retry service unit daemon "
         "package install upgrade config error warning debug info").split()
hosts = ["web01", "db02", "build-7", "cache3"]
procs = ["sshd", "systemd", "kernel", "cron", "nginx", "postgres", "dockerd"]
lines, size = [], 0
while size < 8 * MIB:
    if rng.random() < 0.6:
        line = "2024-%02d-%02dT%02d:%02d:%02d %s %s[%d]: %s\n" % (
            rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
            rng.randint(0, 59), rng.choice(hosts), rng.choice(procs), rng.randint(1, 65535),
            " ".join(rng.choice(words) for _ in range(rng.randint(4, 14))))
    else:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(6, 20))).capitalize() + ".\n"
    lines.append(line)
    size += len(line)
pool = "".join(lines).encode()
pool2 = pool + pool
keystream = sys.stdin.buffer
with open(path, "wb") as f:
    for i, kind in enumerate(kinds):
        if kind == "rand":
            data = keystream.read(MIB)
            assert len(data) == MIB
            f.seek(i * MIB)
            f.write(data)
        elif kind == "text":
            start = rng.randrange(len(pool))
            f.seek(i * MIB)
            f.write(pool2[start:start + MIB])
    f.truncate(chunks * MIB)
PY
    # Exactly the random chunks' worth of keystream (n_rand below), so no writer sees EPIPE.
    head -c $((SEED_MIB * 40 / 100))M /dev/zero \
        | openssl enc -aes-128-ctr -nosalt -K 696d67636865636b2d62656e63682d31 \
            -iv 00000000000000000000000000000000 \
        | python3 -c "$SEED_PY" "$SEED" "$SEED_MIB"
    echo "$SEED_VERSION" > "$DATA/seed.version"
fi

# ---------------------------------------------------------------------------------------------
# The formats: name | qemu -f | `qemu-img convert` options creating it from the seed | label.
# ---------------------------------------------------------------------------------------------
FORMATS=(
    "raw|raw||raw"
    "qcow2|qcow2|-O qcow2 -o compat=1.1|qcow2 v3, 64 KiB clusters"
    "qcow2-zlib|qcow2|-O qcow2 -o compat=1.1,compression_type=zlib -c|qcow2 v3, zlib-compressed"
    "qcow2-zstd|qcow2|-O qcow2 -o compat=1.1,compression_type=zstd -c|qcow2 v3, zstd-compressed"
    "qcow2-2m-el2|qcow2|-O qcow2 -o compat=1.1,cluster_size=2M,extended_l2=on|qcow2 v3, 2 MiB clusters, extended L2"
    "vhd-dynamic|vpc|-O vpc -o subformat=dynamic|VHD dynamic"
    "vhd-fixed|vpc|-O vpc -o subformat=fixed,force_size=on|VHD fixed"
    "vhdx-dynamic|vhdx|-O vhdx -o subformat=dynamic|VHDX dynamic"
    "vmdk-sparse|vmdk|-O vmdk -o subformat=monolithicSparse|VMDK monolithicSparse"
    "vmdk-stream|vmdk|-O vmdk -o subformat=streamOptimized|VMDK streamOptimized"
)

image_path() { if [[ "$1" == raw ]]; then echo "$SEED"; else echo "$DATA/$1.img"; fi; }

for entry in "${FORMATS[@]}"; do
    IFS='|' read -r name fmt opts label <<<"$entry"
    img=$(image_path "$name")
    if [[ "$name" != raw && ! -f "$img" ]]; then
        echo "creating $name ..." >&2
        # shellcheck disable=SC2086 # $opts is a list of options
        qemu-img convert -f raw $opts "$SEED" "$img.tmp"
        mv "$img.tmp" "$img"
    fi
done

# ---------------------------------------------------------------------------------------------
# Measurement helpers.
# ---------------------------------------------------------------------------------------------
TIMES=$(mktemp)
trap 'rm -f "$SINK" "$TIMES"' EXIT

# run_once OUT_VAR CMD...: run with the sink deleted first; sets OUT_VAR to "wall_s cpu_s rss_kib".
run_once() {
    local -n result=$1
    shift
    rm -f "$SINK"
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -o "$TIMES" -f "%U %S %M" "$@" >/dev/null 2>"$TIMES.err" \
        || { cat "$TIMES.err" >&2; rm -f "$TIMES.err"; die "failed: $*"; }
    t1=$(date +%s%N)
    rm -f "$TIMES.err"
    local u s m
    read -r u s m < <(tail -n 1 "$TIMES")
    result="$(awk -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" -v m="$m" \
        'BEGIN { printf "%.3f %.2f %d", (b - a) / 1e9, u + s, m }')"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g | tail -n 1; }

nproc_=$(nproc)
mem_gib=$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
rustc_v=$(rustc -V 2>/dev/null || echo "rustc unknown")
qemu_v=$(qemu-img --version | head -n 1)
git_rev=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
git_dirty=$(cd "$REPO" && [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] && echo " + uncommitted changes" || true)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%MZ)
started_s=$SECONDS

RT=()
sched="CFS (normal priority)"
if [[ "${BENCH_RT:-0}" == 1 ]]; then
    RT=(chrt -f 1)
    sched="SCHED_FIFO (chrt -f 1)"
fi

ROWS=()
NOTES=()
only=" ${BENCH_ONLY:-} "
for entry in "${FORMATS[@]}"; do
    IFS='|' read -r name fmt opts label <<<"$entry"
    [[ -z "${BENCH_ONLY:-}" || "$only" == *" $name "* ]] || continue
    img=$(image_path "$name")
    vsize=$(qemu-img info -f "$fmt" --output=json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
    fsize=$(du -k "$img" | cut -f1)

    # Our reader must detect the format by content (qemu is told with -f).
    detected=$("$IMGCHECK" info "$img" 2>&1 | head -n 20 | tr '\n' ' ')
    echo "== $name ($label): virtual $vsize bytes, $((fsize / 1024)) MiB on disk" >&2

    load_now=$(cut -d' ' -f1 /proc/loadavg)
    ours=("${RT[@]}" "$IMGCHECK" export "$img" -o "$SINK")
    theirs=("${RT[@]}" qemu-img convert -f "$fmt" -O raw "$img" "$SINK")

    # Warm-up (untimed for the table) and correctness: the outputs must be identical.
    run_once w "${theirs[@]}"
    qsum=$(sha256sum "$SINK" | cut -d' ' -f1)
    run_once w "${ours[@]}"
    osum=$(sha256sum "$SINK" | cut -d' ' -f1)
    osize=$(stat -c %s "$SINK")
    verdict="✓"
    if [[ "$osum" != "$qsum" || "$osize" != "$vsize" ]]; then
        verdict="✗ MISMATCH"
        NOTES+=("$name: our export differs from qemu-img (size $osize vs $vsize, sha256 ${osum:0:12}… vs ${qsum:0:12}…); imgcheck info said: ${detected:0:160}")
        echo "   MISMATCH: ours $osum ($osize bytes), qemu $qsum" >&2
    fi

    o_wall=() o_cpu=() o_rss=() q_wall=() q_cpu=() q_rss=()
    # The order alternates between repetitions and the last one runs ours last, so the sink then
    # holds our last timed output, which is hashed again.
    for ((i = 1; i <= REPS; i++)); do
        if (((REPS - i) % 2 == 1)); then
            run_once r "${ours[@]}"
            read -r a b c <<<"$r"; o_wall+=("$a"); o_cpu+=("$b"); o_rss+=("$c")
        fi
        run_once r "${theirs[@]}"
        read -r a b c <<<"$r"; q_wall+=("$a"); q_cpu+=("$b"); q_rss+=("$c")
        if (((REPS - i) % 2 == 0)); then
            run_once r "${ours[@]}"
            read -r a b c <<<"$r"; o_wall+=("$a"); o_cpu+=("$b"); o_rss+=("$c")
        fi
        echo "   run $i: ours ${o_wall[-1]} s, qemu ${q_wall[-1]} s" >&2
    done
    [[ "$(sha256sum "$SINK" | cut -d' ' -f1)" == "$qsum" ]] || {
        verdict="✗ MISMATCH"
        NOTES+=("$name: a repeated export gave a different sha256")
    }
    rm -f "$SINK"

    om=$(printf '%s\n' "${o_wall[@]}" | median)
    qm=$(printf '%s\n' "${q_wall[@]}" | median)
    oc=$(printf '%s\n' "${o_cpu[@]}" | median)
    qc=$(printf '%s\n' "${q_cpu[@]}" | median)
    orss=$(printf '%s\n' "${o_rss[@]}" | maxof)
    qrss=$(printf '%s\n' "${q_rss[@]}" | maxof)
    ROWS+=("$(awk -v label="$label" -v vs="$vsize" -v fs="$fsize" -v om="$om" -v qm="$qm" \
        -v oc="$oc" -v qc="$qc" -v orss="$orss" -v qrss="$qrss" -v ok="$verdict" -v ldavg="$load_now" 'BEGIN {
        omb = vs / 1e6 / om; qmb = vs / 1e6 / qm; ratio = qm / om
        printf "| %s | %.0f | %.0f | %.0f | %.2f%s | %.2f / %.2f | %.2f / %.2f | %.0f / %.0f | %s | %s |",
            label, fs / 1024, omb, qmb, ratio, (ratio < 1 ? " ⚠" : ""), om, qm, oc, qc,
            orss / 1024, qrss / 1024, ok, ldavg }')")
    echo "   ${ROWS[-1]}" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
took_min=$(((SECONDS - started_s + 30) / 60))

# ---------------------------------------------------------------------------------------------
# The table, printed and written into docs/benchmarks.md between the markers.
# ---------------------------------------------------------------------------------------------
BLOCK=$(
    echo "Run $started on $git_rev$git_dirty: $nproc_ × $cpu_model, $mem_gib GiB, $rustc_v, $qemu_v."
    echo "Load average (1/5/15 min) before: $load_before; after: $load_after; measuring took $took_min min."
    echo "Seed: 1 GiB, 40% random / 30% text-like / 30% holes in 1 MiB chunks; $REPS timed runs per tool; scheduling: $sched."
    echo
    echo "| Format | Image MiB | imgcheck MB/s | qemu-img MB/s | Speed ratio | Wall s (median) ours / qemu | CPU s (user+sys) ours / qemu | Peak RSS MiB ours / qemu | Output = qemu's | Load |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: |"
    printf '%s\n' "${ROWS[@]}"
    for n in "${NOTES[@]}"; do echo; echo "- $n"; done
)
echo "$BLOCK"

if [[ "${BENCH_NO_DOC:-0}" != 1 ]]; then
    [[ -f "$DOC" ]] || die "$DOC is missing"
    grep -q '^<!-- containers:begin -->$' "$DOC" && grep -q '^<!-- containers:end -->$' "$DOC" \
        || die "$DOC has no containers markers"
    tmp=$(mktemp)
    BLOCK="$BLOCK" awk '
        /^<!-- containers:begin -->$/ { print; print ENVIRON["BLOCK"]; skip = 1; next }
        /^<!-- containers:end -->$/ { skip = 0 }
        !skip { print }' "$DOC" >"$tmp"
    cat "$tmp" >"$DOC"
    rm -f "$tmp"
    echo "updated $DOC" >&2
fi
exit 0
}
