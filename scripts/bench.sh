#!/usr/bin/env bash
# Peer benchmark (issue 10 item 2): `imgcheck check` and `imgcheck inspect` against dissect's
# `target-info`, virt-inspector (libguestfs) and, for recursive listing, The Sleuth Kit's `fls -r`
# against `imgcheck ls -R`, on a real Debian 12 image in every container format and on the
# committed phony guests; plus `imgcheck scan` of a 50-image directory with 1 and 2 jobs. All in
# ONE run, so the ratios compare figures measured under the same load. Results go into
# docs/benchmarks.md between `<!-- peers:begin -->` and `<!-- peers:end -->` (re-runnable) and
# are printed.
#
# This is a script, not a timed test; CI does not run it. It needs root (the image build uses
# debootstrap/chroot), network access the first time (Debian mirror, PyPI), python3 (venv),
# strace, GNU time's neighbour python `os.wait4`, qemu-img, sleuthkit (fls) and, optionally,
# libguestfs-tools (virt-inspector). Nothing it builds is committed.
#
# Method:
#   * the Debian image comes from scripts/make-debian-image.sh (built once, reused): raw, qcow2,
#     zlib-compressed qcow2, VHD dynamic, VHDX dynamic, VMDK monolithicSparse/streamOptimized;
#     the phony guests are testdata/sample/sample.qcow2 and testdata/windows/windows-good.qcow2;
#   * every command is run by a small python wrapper that forks/execs it, waits for it without
#     reaping it (waitid WNOWAIT) to read /proc/PID/io, then reaps it with wait4 (the same rusage
#     GNU time reports): wall time, CPU user+sys, peak RSS (ru_maxrss), and `rchar` -- every byte
#     the process and its reaped children got from read-like calls on ANY file or pipe (shared
#     libraries, Python modules, the libguestfs appliance, ...), not only from the image;
#   * "image bytes": one extra, untimed run per tool and image under `strace -ff -y` sums what the
#     read/pread64/readv/preadv/preadv2 calls returned on file descriptors that name the image
#     file (and, for qcow2/VMDK etc., only that file). This is the figure the issue's "<= 2% of the
#     allocated size" target is about; allocated size = `du -B1` of the image file;
#   * REPS timed runs per tool and image (an untimed warm-up first: page cache warm for everyone),
#     tools interleaved within each repetition so background load hits all alike; medians of wall
#     and CPU time, the largest peak RSS; virt-inspector boots a qemu appliance (TCG here: no KVM),
#     so it gets VIRT_REPS runs (default 1) under a timeout, and its failure is recorded with the
#     reason instead of stopping the run;
#   * exit status 0 and 1 of `imgcheck check` are both successes (1 = strongly recommended
#     findings); any other failure of any tool is recorded in the table, not hidden;
#   * ratios: peer median wall / imgcheck median wall on the same file (> 1 = imgcheck faster).
#
# Environment knobs:
#   BENCH_DATA        work dir (default /work/bench-data; never inside the repository)
#   DEBIAN_IMAGE_DIR  the Debian image (default $BENCH_DATA/debian12; built if missing)
#   BENCH_REPS        timed repetitions (default 5)
#   BENCH_VIRT_REPS   virt-inspector repetitions (default 1; 0 skips it)
#   BENCH_VIRT_TIMEOUT  seconds per virt-inspector run (default 900)
#   BENCH_NO_DOC      1: print only, do not touch docs/benchmarks.md
#   IMGCHECK          binary to use (default: cargo build --release --bin imgcheck, then
#                     ${CARGO_TARGET_DIR:-target}/release/imgcheck)
set -euo pipefail
export LC_ALL=C
{

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${BENCH_DATA:-/work/bench-data}
DEB=${DEBIAN_IMAGE_DIR:-$DATA/debian12}
REPS=${BENCH_REPS:-5}
VIRT_REPS=${BENCH_VIRT_REPS:-1}
VIRT_TIMEOUT=${BENCH_VIRT_TIMEOUT:-900}
DOC="$REPO/docs/benchmarks.md"
DISSECT_VERSION=3.25.1               # dissect.target[full], pinned
VENV="$DATA/venv"
OUT="$DATA/bench-out"                # outputs of the first run of every tool, for cross-checks

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }
for tool in python3 strace qemu-img fls du; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install strace qemu-utils sleuthkit)"
done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer"
[[ "$VIRT_REPS" =~ ^[0-9]+$ ]] || die "BENCH_VIRT_REPS must be a non-negative integer"
case "$DATA" in "$REPO"|"$REPO"/*) die "BENCH_DATA must lie outside the repository" ;; esac
mkdir -p "$DATA" "$OUT"

# --- inputs ------------------------------------------------------------------------------------
if [[ ! -f "$DEB/image.env" ]]; then
    DEBIAN_IMAGE_DIR="$DEB" "$REPO/scripts/make-debian-image.sh" >&2 || die "building the Debian image failed"
fi
# shellcheck disable=SC1091
. "$DEB/image.env"

if [[ ! -x "$VENV/bin/target-info" ]] || [[ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("dissect.target"))' 2>/dev/null)" != "$DISSECT_VERSION" ]]; then
    log "installing dissect.target[full]==$DISSECT_VERSION into $VENV ..."
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "dissect.target[full]==$DISSECT_VERSION" >&2 || die "pip install dissect.target failed"
fi

if [[ -z "${IMGCHECK:-}" ]]; then
    (cd "$REPO" && cargo build --release --quiet --bin imgcheck) || die "cargo build --release failed"
    IMGCHECK="${CARGO_TARGET_DIR:-$REPO/target}/release/imgcheck"
fi
[[ -x "$IMGCHECK" ]] || die "no imgcheck binary at $IMGCHECK"

HAVE_VIRT=1
VIRT_WHY=""
if ! command -v virt-inspector >/dev/null; then
    HAVE_VIRT=0; VIRT_WHY="virt-inspector is not installed (Debian package libguestfs-tools)"
elif [[ "$VIRT_REPS" == 0 ]]; then
    HAVE_VIRT=0; VIRT_WHY="skipped (BENCH_VIRT_REPS=0)"
fi
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
# TCG by default: on the development machine /dev/kvm exists (nested) but the appliance kernel
# dies in KVM with "KVM internal error. Suberror: 1 / emulation failure" on a BMI2 (VEX-encoded)
# instruction while decompressing itself; set LIBGUESTFS_BACKEND_SETTINGS= to let it try KVM.
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}

# label | file | qemu format | kind
IMAGES=(
    "Debian 12 raw|$DEB/disk.raw|raw|debian"
    "Debian 12 qcow2|$DEB/disk.qcow2|qcow2|debian"
    "Debian 12 qcow2 zlib|$DEB/disk-zlib.qcow2|qcow2|debian"
    "Debian 12 VHD dynamic|$DEB/disk.vhd|vpc|debian"
    "Debian 12 VHDX dynamic|$DEB/disk.vhdx|vhdx|debian"
    "Debian 12 VMDK sparse|$DEB/disk-sparse.vmdk|vmdk|debian"
    "Debian 12 VMDK stream|$DEB/disk-stream.vmdk|vmdk|debian"
    "phony sample.qcow2|$REPO/testdata/sample/sample.qcow2|qcow2|phony"
    "phony windows-good.qcow2|$REPO/testdata/windows/windows-good.qcow2|qcow2|phony"
)
for e in "${IMAGES[@]}"; do
    IFS='|' read -r _ f _ _ <<<"$e"
    [[ -f "$f" ]] || die "missing image $f"
done

# --- measurement -------------------------------------------------------------------------------
MEASURE_PY=$(mktemp --suffix=.py)
STRACE_DIR=$(mktemp -d)
trap 'rm -rf "$MEASURE_PY" "$STRACE_DIR"' EXIT
cat >"$MEASURE_PY" <<'PY'
# measure.py OUT ERR -- CMD...: run CMD (stdout > OUT, stderr > ERR); print
# "wall_s cpu_s maxrss_kib rchar exit".
import os, sys, time
out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    fo = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    fe = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fo, 1); os.dup2(fe, 2)
    os.execvp(cmd[0], cmd)
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
t1 = time.monotonic()
rchar = -1
try:
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("rchar:"):
            rchar = int(line.split()[1])
except OSError:
    pass
_, status, ru = os.wait4(pid, 0)
print(f"{t1 - t0:.4f} {ru.ru_utime + ru.ru_stime:.3f} {ru.ru_maxrss} {rchar} {os.waitstatus_to_exitcode(status)}")
PY

# image_bytes IMAGE CMD...: bytes the read-like calls returned on descriptors naming IMAGE.
image_bytes() {
    local img=$1
    shift
    rm -rf "$STRACE_DIR" && mkdir -p "$STRACE_DIR"
    strace -ff -qq -y -e signal=none -e trace=read,pread64,readv,preadv,preadv2 \
        -o "$STRACE_DIR/t" "$@" >/dev/null 2>&1 || true
    python3 - "$img" "$STRACE_DIR" <<'PY'
import os, re, sys
img, d = os.path.realpath(sys.argv[1]), sys.argv[2]
pat = re.compile(r"^(?:read|pread64|readv|preadv|preadv2)\(\d+<(.*?)>,.*\)\s+=\s+(\d+)")
total = 0
for name in os.listdir(d):
    with open(os.path.join(d, name), errors="replace") as f:
        for line in f:
            m = pat.match(line)
            if m and m.group(1) == img:
                total += int(m.group(2))
print(total)
PY
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g | tail -n 1; }
load1() { cut -d' ' -f1 /proc/loadavg; }

declare -A WALL CPU RSS RCHAR FAIL IMGB LOAD
# run_tool KEY OKCODES OUTFILE CMD...: one timed run; appends to the KEY's lists.
run_tool() {
    local key=$1 ok=$2 outf=$3
    shift 3
    local r wall cpu rss rchar code
    r=$(python3 "$MEASURE_PY" "$outf" "$outf.err" -- "$@")
    read -r wall cpu rss rchar code <<<"$r"
    if [[ " $ok " != *" $code "* ]]; then
        FAIL[$key]="exit $code: $(grep -v '^\s*$' "$outf.err" | tail -n 2 | tr '\n' ' ' | cut -c1-200)"
        return 0
    fi
    WALL[$key]+="$wall "
    CPU[$key]+="$cpu "
    RSS[$key]+="$rss "
    RCHAR[$key]+="$rchar "
}
stat_of() { # ARRAY-NAME KEY FN
    local -n arr=$1
    [[ -n "${arr[$2]:-}" ]] || { echo "nan"; return; }
    tr ' ' '\n' <<<"${arr[$2]}" | grep -v '^$' | "$3"
}

nproc_=$(nproc)
mem_gib=$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
git_rev=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
git_dirty=$(cd "$REPO" && [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] && echo " + uncommitted changes" || true)
imgcheck_v=$("$IMGCHECK" --version 2>/dev/null | head -n 1 || echo imgcheck)
dissect_v="dissect.target $DISSECT_VERSION"
virt_v=$(virt-inspector --version 2>/dev/null | head -n 1 || echo "virt-inspector: not installed")
fls_v=$(fls -V 2>/dev/null | head -n 1 || echo "fls")
kvm="no /dev/kvm"
[[ -c /dev/kvm ]] && kvm="/dev/kvm present"
kvm="$kvm, libguestfs backend ${LIBGUESTFS_BACKEND}${LIBGUESTFS_BACKEND_SETTINGS:+ ($LIBGUESTFS_BACKEND_SETTINGS)}"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%MZ)
started_s=$SECONDS

# --- check / inspect / target-info / virt-inspector per image ---------------------------------
TOOLS=(check inspect dissect)
for e in "${IMAGES[@]}"; do
    IFS='|' read -r label img fmt kind <<<"$e"
    slug=$(basename "$img")
    LOAD[$label]=$(load1)
    log "== $label ($img), load ${LOAD[$label]}"
    cmd_check=("$IMGCHECK" check --format json "$img")
    cmd_inspect=("$IMGCHECK" inspect "$img")
    cmd_dissect=("$VENV/bin/target-info" "$img")
    # Untimed warm-up (also keeps the outputs for the correctness cross-check).
    run_tool "warm|check|$label" "0 1" "$OUT/$slug.check.json" "${cmd_check[@]}"
    run_tool "warm|inspect|$label" "0" "$OUT/$slug.inspect.txt" "${cmd_inspect[@]}"
    run_tool "warm|dissect|$label" "0" "$OUT/$slug.target-info.txt" "${cmd_dissect[@]}"
    for t in check inspect dissect; do
        if [[ -n "${FAIL["warm|$t|$label"]:-}" ]]; then FAIL["$t|$label"]=${FAIL["warm|$t|$label"]}; fi
    done
    for ((i = 1; i <= REPS; i++)); do
        # Alternate the order between repetitions.
        if ((i % 2)); then order=(check inspect dissect); else order=(dissect inspect check); fi
        for t in "${order[@]}"; do
            [[ -z "${FAIL["$t|$label"]:-}" ]] || continue
            case $t in
                check) run_tool "check|$label" "0 1" "$OUT/last.out" "${cmd_check[@]}" ;;
                inspect) run_tool "inspect|$label" "0" "$OUT/last.out" "${cmd_inspect[@]}" ;;
                dissect) run_tool "dissect|$label" "0" "$OUT/$slug.dissect.last" "${cmd_dissect[@]}" ;;
            esac
        done
    done
    rm -f "$OUT/$slug.dissect.last" "$OUT/$slug.dissect.last.err"
    IMGB["check|$label"]=$(image_bytes "$img" "${cmd_check[@]}")
    IMGB["inspect|$label"]=$(image_bytes "$img" "${cmd_inspect[@]}")
    IMGB["dissect|$label"]=$(image_bytes "$img" "${cmd_dissect[@]}")
    "$IMGCHECK" check --stats --format json "$img" 2>"$OUT/$slug.check.stats" >/dev/null || true

    if [[ $HAVE_VIRT == 1 ]]; then
        for ((i = 1; i <= VIRT_REPS; i++)); do
            run_tool "virt|$label" "0" "$OUT/$slug.virt-inspector.xml" \
                timeout "$VIRT_TIMEOUT" virt-inspector --format="$fmt" -a "$img"
            if [[ -n "${FAIL["virt|$label"]:-}" ]]; then
                # The same reason on the first image means it cannot run here at all.
                [[ "${FAIL["virt|$label"]}" == "exit 124"* ]] && FAIL["virt|$label"]="timed out after ${VIRT_TIMEOUT}s"
                if [[ "$label" == "Debian 12 raw" ]]; then
                    HAVE_VIRT=0
                    VIRT_WHY="virt-inspector failed on the first image (${FAIL["virt|$label"]}); see $OUT/$slug.virt-inspector.xml.err"
                fi
                break
            fi
        done
    fi
    for t in check inspect dissect virt; do
        k="$t|$label"
        [[ -n "${WALL[$k]:-}${FAIL[$k]:-}" ]] || continue
        log "   $t: wall ${WALL[$k]:-} ${FAIL[$k]:+FAILED ${FAIL[$k]}}"
    done
done

# --- listing: fls -r vs imgcheck ls -R on the raw image's root partition -----------------------
RAW="$DEB/disk.raw"
LS_LOAD=$(load1)
log "== listing: fls -r -o $DEB_ROOT_START vs imgcheck ls -R --volume 1, load $LS_LOAD"
cmd_fls=(fls -r -o "$DEB_ROOT_START" "$RAW")
cmd_ls=("$IMGCHECK" ls -R --volume 1 "$RAW" /)
run_tool "warm|fls" "0" "$OUT/fls.txt" "${cmd_fls[@]}"
run_tool "warm|ls" "0" "$OUT/ls.txt" "${cmd_ls[@]}"
for t in fls ls; do
    if [[ -n "${FAIL["warm|$t"]:-}" ]]; then FAIL["$t"]=${FAIL["warm|$t"]}; fi
done
for ((i = 1; i <= REPS; i++)); do
    if ((i % 2)); then order=(fls ls); else order=(ls fls); fi
    for t in "${order[@]}"; do
        [[ -z "${FAIL[$t]:-}" ]] || continue
        if [[ $t == fls ]]; then run_tool fls "0" "$OUT/last.out" "${cmd_fls[@]}"; else run_tool ls "0" "$OUT/last.out" "${cmd_ls[@]}"; fi
    done
done
IMGB[fls]=$(image_bytes "$RAW" "${cmd_fls[@]}")
IMGB[ls]=$(image_bytes "$RAW" "${cmd_ls[@]}")
FLS_N=$(wc -l <"$OUT/fls.txt")
LS_N=$(wc -l <"$OUT/ls.txt")
ROOT_FILES=$(find "$DEB_ROOTFS" -mindepth 1 | wc -l)

# --- scan: 50 images, --jobs 1 vs --jobs 2 -----------------------------------------------------
SCAN="$DATA/scan50"
rm -rf "$SCAN"
mkdir -p "$SCAN"
n=0
while ((n < 50)); do
    for e in "${IMAGES[@]}"; do
        ((n < 50)) || break
        IFS='|' read -r _ img _ _ <<<"$e"
        n=$((n + 1))
        dst=$(printf '%s/%02d-%s' "$SCAN" "$n" "$(basename "$img")")
        # Hard links (scan does not follow symlinks); a copy if they cannot be made.
        ln "$img" "$dst" 2>/dev/null || cp --sparse=always "$img" "$dst"
    done
done
SCAN_LOAD=$(load1)
log "== scan of 50 images: --jobs 1 vs --jobs 2, load $SCAN_LOAD"
run_tool "warm|scan1" "0 1" "$OUT/scan.txt" "$IMGCHECK" scan --jobs 1 "$SCAN"
for t in 1 2; do
    if [[ -n "${FAIL["warm|scan1"]:-}" ]]; then FAIL["scan$t"]=${FAIL["warm|scan1"]}; fi
done
for ((i = 1; i <= REPS; i++)); do
    if ((i % 2)); then order=(1 2); else order=(2 1); fi
    for j in "${order[@]}"; do
        [[ -z "${FAIL["scan$j"]:-}" ]] || continue
        run_tool "scan$j" "0 1" "$OUT/last.out" "$IMGCHECK" scan --jobs "$j" "$SCAN"
    done
done
SCAN_LINES=$(wc -l <"$OUT/scan.txt")

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
took_min=$(((SECONDS - started_s + 30) / 60))

# --- tables ------------------------------------------------------------------------------------
mib() { awk -v b="$1" 'BEGIN { if (b == "nan" || b == "" || b < 0) print "–"; else printf "%.1f", b / 1048576 }'; }
fmt_s() { awk -v s="$1" 'BEGIN { if (s == "nan") print "–"; else if (s < 10) printf "%.3f", s; else printf "%.1f", s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b <= 0) print "–"; else if (a / b >= 100) printf "%.0f×", a / b; else if (a / b >= 1) printf "%.1f×", a / b; else printf "%.3f×", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || a == "nan" || b <= 0) print "–"; else printf "%.2f%%", 100 * a / b }'; }
name_of() { case $1 in check) echo "imgcheck check --format json" ;; inspect) echo "imgcheck inspect" ;;
    dissect) echo "target-info" ;; virt) echo "virt-inspector" ;; fls) echo "fls -r" ;; ls) echo "imgcheck ls -R" ;;
    scan1) echo "imgcheck scan --jobs 1" ;; scan2) echo "imgcheck scan --jobs 2" ;; esac; }

row() { # KEY TOOL IMAGE-FILE LOAD  -> one markdown row of the measurement table
    local k=$1 t=$2 img=$3 ld=$4 alloc
    alloc=$(du -B1 "$img" | cut -f1)
    if [[ -n "${FAIL[$k]:-}" && -z "${WALL[$k]:-}" ]]; then
        echo "| $(name_of "$t") | failed: ${FAIL[$k]//|/\\|} | | | | | | $ld |"
        return
    fi
    local w c r rc ib
    w=$(stat_of WALL "$k" median); c=$(stat_of CPU "$k" median); r=$(stat_of RSS "$k" maxof)
    rc=$(stat_of RCHAR "$k" median); ib=${IMGB[$k]:-}
    echo "| $(name_of "$t") | $(fmt_s "$w") | $(fmt_s "$c") | $(awk -v k="$r" 'BEGIN { printf "%.0f", k / 1024 }') | $(mib "$rc") | $(mib "${ib:-nan}") | $(pct "$ib" "$alloc") | $ld |"
}

MEASURE=$(
    for e in "${IMAGES[@]}"; do
        IFS='|' read -r label img fmt kind <<<"$e"
        alloc=$(du -B1 "$img" | cut -f1)
        vsize=$(qemu-img info -f "$fmt" --output=json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
        echo
        echo "**$label** — \`$(basename "$img")\`, $(mib "$alloc") MiB allocated (\`du -B1\`), $(mib "$vsize") MiB virtual"
        echo
        echo "| Tool | Wall s (median) | CPU s (user+sys, median) | Peak RSS MiB | rchar MiB (all files) | Image MiB read | Image read / allocated | Load |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        for t in check inspect dissect virt; do
            k="$t|$label"
            if [[ $t == virt && -z "${WALL[$k]:-}${FAIL[$k]:-}" ]]; then
                echo "| virt-inspector | not run: ${VIRT_WHY:-see above} | | | | | | |"
                continue
            fi
            row "$k" "$t" "$img" "${LOAD[$label]}"
        done
    done
)

RATIOS=$(
    echo "| Image | target-info ÷ check | target-info ÷ inspect | virt-inspector ÷ check | check: image read / allocated | check peak RSS MiB |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for e in "${IMAGES[@]}"; do
        IFS='|' read -r label img _ _ <<<"$e"
        alloc=$(du -B1 "$img" | cut -f1)
        cw=$(stat_of WALL "check|$label" median); iw=$(stat_of WALL "inspect|$label" median)
        dw=$(stat_of WALL "dissect|$label" median); vw=$(stat_of WALL "virt|$label" median)
        r=$(stat_of RSS "check|$label" maxof)
        echo "| $label | $(ratio "$dw" "$cw") | $(ratio "$dw" "$iw") | $(ratio "$vw" "$cw") | $(pct "${IMGB["check|$label"]:-}" "$alloc") | $(awk -v k="$r" 'BEGIN { if (k == "nan") print "–"; else printf "%.0f", k / 1024 }') |"
    done
)

LISTING=$(
    echo "| Tool | Wall s (median) | CPU s | Peak RSS MiB | rchar MiB | Image MiB read | Lines listed | Load |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for t in fls ls; do
        if [[ -n "${FAIL[$t]:-}" && -z "${WALL[$t]:-}" ]]; then
            echo "| $(name_of $t) | failed: ${FAIL[$t]//|/\\|} | | | | | | $LS_LOAD |"; continue
        fi
        n=$FLS_N; [[ $t == ls ]] && n=$LS_N
        echo "| $(name_of $t) | $(fmt_s "$(stat_of WALL $t median)") | $(fmt_s "$(stat_of CPU $t median)") | $(awk -v k="$(stat_of RSS $t maxof)" 'BEGIN { printf "%.0f", k / 1024 }') | $(mib "$(stat_of RCHAR $t median)") | $(mib "${IMGB[$t]}") | $n | $LS_LOAD |"
    done
    echo
    echo "fls ÷ ls wall: $(ratio "$(stat_of WALL fls median)" "$(stat_of WALL ls median)"); the root filesystem holds $ROOT_FILES entries below / (\`find\` on the debootstrap tree)."
)

SCANT=$(
    echo "| Jobs | Wall s (median) | CPU s | Peak RSS MiB | Images/s | Load |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
    for j in 1 2; do
        if [[ -n "${FAIL["scan$j"]:-}" && -z "${WALL["scan$j"]:-}" ]]; then
            echo "| $j | failed: ${FAIL["scan$j"]//|/\\|} | | | | $SCAN_LOAD |"; continue
        fi
        w=$(stat_of WALL "scan$j" median)
        echo "| $j | $(fmt_s "$w") | $(fmt_s "$(stat_of CPU "scan$j" median)") | $(awk -v k="$(stat_of RSS "scan$j" maxof)" 'BEGIN { printf "%.0f", k / 1024 }') | $(awk -v w="$w" 'BEGIN { if (w == "nan") print "–"; else printf "%.1f", 50 / w }') | $SCAN_LOAD |"
    done
    echo
    echo "Throughput ratio, 2 jobs ÷ 1 job: $(ratio "$(stat_of WALL scan1 median)" "$(stat_of WALL scan2 median)") (target ≥ 1.7×); the scan printed $SCAN_LINES lines."
)

QSTATS=$(sed 's/^/    /' "$OUT/disk.qcow2.check.stats" 2>/dev/null || true)

BLOCK=$(
    echo "Run $started on $git_rev$git_dirty: $nproc_ × $cpu_model, $mem_gib GiB, $kvm; $imgcheck_v, $dissect_v, $virt_v, $fls_v."
    echo "Load average (1/5/15 min) before: $load_before; after: $load_after; measuring took $took_min min. $REPS timed runs per tool (virt-inspector: $VIRT_REPS), after one untimed warm-up."
    echo "Debian image: bookworm, kernel $DEB_KERNEL, built by \`scripts/make-debian-image.sh\`."
    echo
    echo "### Ratios (peer median wall ÷ imgcheck median wall; > 1 = imgcheck faster)"
    echo
    echo "$RATIOS"
    echo
    echo "Targets (issue 10): check ≥ 100× faster than target-info on the Debian qcow2 and faster on every format; image bytes read by check ≤ 2% of the Debian qcow2's allocated size; peak RSS ≤ 64 MiB."
    echo
    echo "### Measurements"
    echo "$MEASURE"
    echo
    echo "\`imgcheck check --stats\` on the Debian qcow2 (its own counters):"
    echo
    echo "$QSTATS"
    echo
    echo "### Listing: \`fls -r -o $DEB_ROOT_START\` against \`imgcheck ls -R --volume 1 /\` (Debian raw, root partition)"
    echo
    echo "$LISTING"
    echo
    echo "### Scan: 50 images (hard links to the 9 images above), \`imgcheck scan --jobs 1\` against \`--jobs 2\`"
    echo
    echo "$SCANT"
    if [[ $HAVE_VIRT == 0 ]]; then echo; echo "virt-inspector: $VIRT_WHY."; fi
)
echo "$BLOCK"

if [[ "${BENCH_NO_DOC:-0}" != 1 ]]; then
    [[ -f "$DOC" ]] || die "$DOC is missing"
    if ! grep -q '^<!-- peers:begin -->$' "$DOC"; then
        cat >>"$DOC" <<'EOF'

## Peers: check and inspect against dissect, virt-inspector, Sleuth Kit

`scripts/bench.sh` (issue 10): on a real Debian 12 cloud-like image built by
`scripts/make-debian-image.sh` (debootstrap: cloud kernel, initramfs, GRUB for BIOS and UEFI with
the signed shim, cloud-init, ifupdown DHCP, qemu-guest-agent) in raw, qcow2, zlib-compressed
qcow2, VHD, VHDX and two VMDK variants, and on the committed phony guests, it times `imgcheck
check --format json` and `imgcheck inspect` against dissect's `target-info` (dissect.target,
pinned, in a venv) and virt-inspector (libguestfs; it boots a qemu appliance, TCG on this
machine), `imgcheck ls -R` against The Sleuth Kit's `fls -r` on the root partition of the raw
image, and `imgcheck scan` of 50 images with 1 and 2 jobs — all in one run, tools interleaved,
one untimed warm-up, medians. Wall time, CPU user+sys and peak RSS come from `wait4` (what GNU
time reports); "rchar" is `/proc/PID/io` of the process and its children: every byte read from
any file or pipe (libraries, Python modules, the libguestfs appliance), so it overstates what a
tool reads from the image. "Image MiB read" is exact: one extra run per tool under
`strace -ff -y` sums the bytes returned by read/pread/readv calls on descriptors that name the
image file; it is compared with the image's allocated size (`du -B1`). The script rewrites only
the part between the markers.

<!-- peers:begin -->
<!-- peers:end -->
EOF
    fi
    tmp=$(mktemp)
    BLOCK="$BLOCK" awk '
        /^<!-- peers:begin -->$/ { print; print ENVIRON["BLOCK"]; skip = 1; next }
        /^<!-- peers:end -->$/ { skip = 0 }
        !skip { print }' "$DOC" >"$tmp"
    cat "$tmp" >"$DOC"
    rm -f "$tmp"
    log "updated $DOC"
fi
exit 0
}
