#!/usr/bin/env bash
# Filesystem read benchmark (issue 3; not part of the tests): list and read every file of a
# >= 1 GiB ext4 and NTFS image with imgcheck's readers, next to The Sleuth Kit on the same image in
# the same run; XFS (and Btrfs when mkfs.btrfs is present) with imgcheck alone (this Sleuth Kit has
# no XFS or Btrfs support). Writes docs/benchmarks.md between `fs:begin` and `fs:end`.
#
# usage: scripts/bench-fs.sh [DATA_DIR]     (default /work/bench-data/fs; images are reused)
#   BENCH_REPS=N   timed runs per tool (default 3; the median is reported)
#
# The tree: /usr/share of this machine (about 0.8 GiB, tens of thousands of files of every size),
# plus 4 files of 64 MiB of pseudo-random data, copied once into DATA_DIR/tree.
#   ext4:  mkfs.ext4 -d TREE (2 GiB image)
#   NTFS:  mkntfs + wimcapture/wimapply (wimlib's NTFS-3G mode; no mounting)
#   XFS:   mkfs.xfs -p PROTOFILE (generated from the tree)
#   Btrfs: mkfs.btrfs --rootdir TREE
# Tools compared, each on a warm page cache, output to tmpfs:
#   imgcheck   crates/fs/examples/read-all.rs: walk every directory, read every regular file and
#              every symlink through imgcheck-fs (one process)
#   tsk        `tsk_recover -a IMAGE OUTDIR` (extracts every allocated file: list + read + write to
#              tmpfs) and `fls -r -p IMAGE` (list only)
set -euo pipefail
export LC_ALL=C TZ=UTC
PATH=$PATH:/usr/sbin:/sbin
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${1:-/work/bench-data/fs}
REPS=${BENCH_REPS:-3}
mkdir -p "$DATA"
for t in mkfs.ext4 mkntfs wimcapture wimapply mkfs.xfs tsk_recover fls /usr/bin/time python3; do
    command -v "$t" >/dev/null || { echo "bench-fs: $t missing" >&2; exit 1; }
done
(cd "$ROOT" && cargo build --release -q -p imgcheck-fs --example read-all)
READALL=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/read-all

TREE=$DATA/tree
if [ ! -d "$TREE" ]; then
    mkdir -p "$TREE/data"
    cp -a /usr/share "$TREE/share"
    # Names NTFS or a protofile cannot hold (':' '\' control characters, whitespace) are dropped.
    find "$TREE" -depth \( -name '*[:\\]*' -o -name '* *' -o -name "*$(printf '\t')*" \) -exec rm -rf {} + 2>/dev/null || true
    find "$TREE" \( -type p -o -type s -o -type b -o -type c \) -delete
    for i in 1 2 3 4; do head -c 64M /dev/urandom >"$TREE/data/random$i.bin"; done
fi
TREE_BYTES=$(du -sb --apparent-size "$TREE" | cut -f1)
TREE_FILES=$(find "$TREE" -type f | wc -l)

[ -f "$DATA/ext4.img" ] || { truncate -s 2G "$DATA/ext4.img"; mkfs.ext4 -q -F -d "$TREE" "$DATA/ext4.img"; }
if [ ! -f "$DATA/ntfs.img" ]; then
    truncate -s 2G "$DATA/ntfs.img"
    mkntfs -F -f -q "$DATA/ntfs.img"
    wimcapture "$TREE" "$DATA/tree.wim" --compress=none >/dev/null
    wimapply "$DATA/tree.wim" 1 "$DATA/ntfs.img" >/dev/null
    rm -f "$DATA/tree.wim"
fi
if [ ! -f "$DATA/xfs.img" ]; then
    python3 - "$TREE" "$DATA/xfs.proto" <<'PY'
import os, stat, sys
tree, out = sys.argv[1:]
lines = ["/dev/null", "0 0", "d--755 0 0"]
def walk(d, depth):
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        st = os.lstat(p)
        ind = " " * depth
        if stat.S_ISLNK(st.st_mode):
            lines.append(f"{ind}{n} l--777 0 0 {os.readlink(p)}")
        elif stat.S_ISDIR(st.st_mode):
            lines.append(f"{ind}{n} d--755 0 0")
            walk(p, depth + 1)
            lines.append(f"{ind}$")
        elif stat.S_ISREG(st.st_mode):
            lines.append(f"{ind}{n} ---644 0 0 {p}")
walk(tree, 1)
lines.append("$")
open(out, "w").write("\n".join(lines) + "\n")
PY
    truncate -s 2G "$DATA/xfs.img"
    mkfs.xfs -q -f -p "$DATA/xfs.proto" "$DATA/xfs.img"
fi
HAVE_BTRFS=0
if command -v mkfs.btrfs >/dev/null; then
    HAVE_BTRFS=1
    [ -f "$DATA/btrfs.img" ] || { truncate -s 2G "$DATA/btrfs.img"; mkfs.btrfs -q -f --rootdir "$TREE" "$DATA/btrfs.img" >/dev/null; }
fi

OUT=$(mktemp -d /dev/shm/bench-fs.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# median of the runs' wall seconds; also keeps the last run's CPU and RSS
measure() { # name cmd...
    local name=$1; shift
    local walls=() cpu rss
    "$@" >/dev/null 2>&1 || true   # warm-up (page cache)
    for _ in $(seq "$REPS"); do
        rm -rf "$OUT/recover"; mkdir -p "$OUT/recover"
        /usr/bin/time -f "%e %U %S %M" -o "$OUT/time" "$@" >"$OUT/stdout" 2>"$OUT/stderr" || true
        read -r w u s m <"$OUT/time"
        walls+=("$w"); cpu=$(python3 -c "print(f'{$u+$s:.2f}')"); rss=$((m / 1024))
    done
    local med
    med=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(( (REPS + 1) / 2 ))p")
    echo "$name $med $cpu $rss"
}

rows=()
for fs in ext4 ntfs xfs btrfs; do
    [ "$fs" = btrfs ] && [ "$HAVE_BTRFS" = 0 ] && continue
    img=$DATA/$fs.img
    ours=$(measure imgcheck "$READALL" "$img")
    ours_line=$("$READALL" "$img" 2>/dev/null)
    if [ "$fs" = ext4 ] || [ "$fs" = ntfs ]; then
        tsk=$(measure tsk_recover tsk_recover -a "$img" "$OUT/recover")
        fls=$(measure fls fls -r -p "$img")
    else
        tsk="tsk_recover - - -"; fls="fls - - -"
    fi
    rows+=("$fs|$ours|$tsk|$fls|$ours_line")
    echo "bench-fs: $fs: ours [$ours] tsk_recover [$tsk] fls [$fls] :: $ours_line" >&2
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
rev=$(git -C "$ROOT" rev-parse --short HEAD)
section=$(python3 - "$TREE_BYTES" "$TREE_FILES" "$REPS" "$load" "$rev" "${rows[@]}" <<'PY'
import sys, datetime
tree_bytes, tree_files, reps, load, rev, *rows = sys.argv[1:]
out = [f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%MZ} on {rev}: tree of "
       f"{int(tree_files)} files, {int(tree_bytes)/2**20:.0f} MiB (`/usr/share` of the machine + 4 × 64 MiB "
       f"random); 2 GiB images; median of {reps} warm runs; load average after: {load}.", "",
       "| FS | imgcheck read-all s | CPU s | RSS MiB | files read | `tsk_recover -a` s | CPU s | RSS MiB | speed ratio | `fls -r` s |",
       "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
for r in rows:
    fs, ours, tsk, fls, line = r.split("|")
    o = ours.split(); t = tsk.split(); f = fls.split()
    kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
    ratio = "—"
    if t[1] != "-":
        ratio = f"{float(t[1]) / max(float(o[1]), 1e-3):.1f}×"
    out.append(f"| {fs} | {o[1]} | {o[2]} | {o[3]} | {kv.get('files','?')} ({int(kv.get('bytes','0'))/2**20:.0f} MiB, "
               f"{kv.get('errors','?')} errors) | {t[1]} | {t[2]} | {t[3]} | {ratio} | {f[1]} |")
print("\n".join(out))
PY
)
python3 - "$ROOT/docs/benchmarks.md" "$section" <<'PY'
import sys
path, block = sys.argv[1:]
text = open(path).read()
b, e = "<!-- fs:begin -->", "<!-- fs:end -->"
if b in text:
    pre, rest = text.split(b, 1); _, post = rest.split(e, 1)
    text = f"{pre}{b}\n{block}\n{e}{post}"
else:
    text += ("\n## Filesystems: every file read, against The Sleuth Kit\n\n"
             "`scripts/bench-fs.sh` (issue 3): lists and reads every file of 2 GiB ext4, NTFS, XFS and "
             "Btrfs images built from the same tree, with imgcheck's readers "
             "(`crates/fs/examples/read-all.rs`, one process) and, for ext4 and NTFS, with The Sleuth "
             "Kit's `tsk_recover -a` (extracts every allocated file to tmpfs) and `fls -r -p` (listing "
             "only). Speed ratio = tsk_recover wall time ÷ imgcheck wall time (> 1: imgcheck is "
             "faster). Target (issue 3): faster than The Sleuth Kit.\n\n"
             f"{b}\n{block}\n{e}\n")
open(path, "w").write(text)
PY
echo "$section"
