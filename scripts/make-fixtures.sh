#!/usr/bin/env bash
# make-fixtures.sh — build the container/partition fixtures in testdata/containers.
#
# Seed disks are made with sfdisk / fdisk / mkfs.fat on plain files (no root, no loop devices),
# filled with mostly-compressible content (every 512-byte block of a written extent is stamped
# with its offset and LBA), a few small random regions from python3's random.Random(42) and
# unwritten holes. Containers are made from the seeds with qemu-img; the expected raw content of
# every container is `qemu-img convert -f FMT -O raw` (recorded as raw_sha256 in manifest.json).
# Everything is committed gzip -9n compressed. See testdata/README.md for the list of files.
#
# Usage: scripts/make-fixtures.sh [--out DIR]     (default: testdata/containers)
# Needs: qemu-img, qemu-io, sfdisk, fdisk, mkfs.fat, python3, gzip, sha256sum.
set -euo pipefail

export TZ=UTC LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH=1700000000
umask 022

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/testdata/containers"
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        --out=*) OUT=${1#--out=}; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "make-fixtures.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

for tool in qemu-img qemu-io sfdisk fdisk mkfs.fat python3 gzip sha256sum; do
    command -v "$tool" >/dev/null || { echo "make-fixtures.sh: missing tool: $tool" >&2; exit 2; }
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# ---------------------------------------------------------------------------------------------
# Python helper: content stamping, fdisk-dump → sfdisk-JSON, qemu-info sanitising, manifest.
cat > fx.py <<'PY'
import json, os, random, re, sys

RNG = {}  # one deterministic generator per seed disk

def stamp(disk, seed, sector_size, part, start_lba, size_lba):
    """Fill one partition: stamped head, unaligned random 8 KiB in the middle, stamped tail,
    holes (zeros, never written) elsewhere."""
    ss = int(sector_size); start = int(start_lba) * ss; size = int(size_lba) * ss
    rng = RNG.setdefault(seed, random.Random(42))
    extents = []
    head = min(192 * 1024, size)
    extents.append((0, head, None))
    rnd_off = size // 2 - 4000
    rnd = rng.randbytes(8192)
    extents.append((rnd_off, len(rnd), rnd))
    tail = min(64 * 1024, size - head)
    extents.append((size - tail, tail, None))
    with open(disk, "r+b") as f:
        for off, length, data in extents:
            if data is None:
                buf = bytearray()
                for blk in range(0, length, 512):
                    absoff = start + off + blk
                    line = ("imgcheck fixture %s part %s off 0x%08x lba %d\n"
                            % (seed, part, absoff, absoff // ss)).encode()
                    buf += line + bytes(512 - len(line))
                data = bytes(buf[:length])
            f.seek(start + off)
            f.write(data)

def dump2json(dump, out):
    """Turn an `fdisk -b 4096` sfdisk-format dump (O command) into sfdisk --json's shape."""
    pt = {"partitions": []}
    keys = {"label": "label", "label-id": "id", "device": "device", "unit": "unit",
            "first-lba": "firstlba", "last-lba": "lastlba", "sector-size": "sectorsize"}
    for line in open(dump):
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^(\S+)\s*:\s*(.*)$", line)
        if m and "=" in m.group(2):
            part = {"node": m.group(1)}
            for kv in re.finditer(r'(\w+)=\s*("([^"]*)"|[^,]+)', m.group(2)):
                k, v = kv.group(1), kv.group(3) if kv.group(3) is not None else kv.group(2).strip()
                part[k] = int(v) if k in ("start", "size") else v
            pt["partitions"].append(part)
        elif m and m.group(1) in keys:
            v = m.group(2).strip()
            pt[keys[m.group(1)]] = int(v) if v.isdigit() else v
    json.dump({"partitiontable": pt}, open(out, "w"), indent=3)
    open(out, "a").write("\n")

def strip_info(obj, work):
    if isinstance(obj, dict):
        return {k: strip_info(v, work) for k, v in obj.items() if k != "actual-size"}
    if isinstance(obj, list):
        return [strip_info(v, work) for v in obj]
    if isinstance(obj, str) and obj.startswith(work):
        return os.path.relpath(obj, work)
    if isinstance(obj, str) and obj.startswith("/"):
        sys.exit("absolute path left in qemu-img info: " + obj)
    return obj

def sanitize(src, dst, work):
    info = strip_info(json.load(open(src)), work)
    with open(dst, "w") as f:
        json.dump(info, f, indent=4, sort_keys=True)
        f.write("\n")
    return info["virtual-size"]

def manifest(records, seeds, out):
    fixtures = []
    for line in open(records):
        r = json.loads(line)
        fixtures.append(r)
    seedmap = {}
    for line in open(seeds):
        s = json.loads(line)
        seedmap[s.pop("name")] = s
    with open(out, "w") as f:
        json.dump({"fixtures": fixtures, "seeds": seedmap}, f, indent=2)
        f.write("\n")

cmd = sys.argv[1]
if cmd == "stamp":
    disk, seed, ss = sys.argv[2:5]
    for spec in sys.argv[5:]:
        stamp(disk, seed, ss, *spec.split(":"))
elif cmd == "dump2json":
    dump2json(sys.argv[2], sys.argv[3])
elif cmd == "sanitize":
    print(sanitize(sys.argv[2], sys.argv[3], sys.argv[4]))
elif cmd == "manifest":
    manifest(sys.argv[2], sys.argv[3], sys.argv[4])
else:
    sys.exit("unknown command " + cmd)
PY

py() { python3 "$WORK/fx.py" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
: > records.jsonl
: > seeds.jsonl
mkdir -p out

# ---------------------------------------------------------------------------------------------
# Seeds.

# gpt: 16 MiB, 4 partitions; partition 4 starts on an odd, unaligned LBA; unpartitioned tail.
cat > gpt.sfdisk <<'EOF'
label: gpt
label-id: 6E1C2A4B-3D5F-4A7B-9C8D-0E1F2A3B4C5D
unit: sectors
first-lba: 2048
last-lba: 32734

start=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=0A1B2C3D-0001-4E5F-8A6B-7C8D9E0F1A01, name="EFI System Partition"
start=6144, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=0A1B2C3D-0002-4E5F-8A6B-7C8D9E0F1A02, name="root"
start=14336, size=8192, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, uuid=0A1B2C3D-0003-4E5F-8A6B-7C8D9E0F1A03, name="lvm"
start=22577, size=8000, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=0A1B2C3D-0004-4E5F-8A6B-7C8D9E0F1A04, name="data"
EOF
truncate -s 16M gpt.raw
sfdisk -q gpt.raw < gpt.sfdisk
py stamp gpt.raw gpt 512 1:2048:4096 2:6144:8192 3:14336:8192 4:22577:8000
sfdisk --json gpt.raw > gpt.sfdisk.json

# mbr: 16 MiB, 2 primaries (1 bootable) + extended with 3 logicals.
cat > mbr.sfdisk <<'EOF'
label: dos
label-id: 0x1234abcd
unit: sectors

start=2048, size=4096, type=c, bootable
start=6144, size=6144, type=83
start=12288, size=20480, type=5
start=14336, size=4096, type=83
start=20480, size=4096, type=82
start=26624, size=6144, type=8e
EOF
truncate -s 16M mbr.raw
sfdisk -q mbr.raw < mbr.sfdisk
py stamp mbr.raw mbr 512 1:2048:4096 2:6144:6144 5:14336:4096 6:20480:4096 7:26624:6144
sfdisk --json mbr.raw > mbr.sfdisk.json

# gpt4k: 8 MiB GPT with 4096-byte logical sectors. sfdisk 2.38 cannot choose the sector size of
# a plain file (its `sector-size:` header is informative), so fdisk -b 4096 applies the same
# sfdisk script with its I command, and its O command dumps it back (converted to JSON).
cat > gpt4k.sfdisk <<'EOF'
label: gpt
label-id: 4A3F0D1C-5B6E-4F70-8A9B-0C1D2E3F4A5B
unit: sectors
sector-size: 4096

start=256, size=512, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=11111111-2222-4333-8444-555555555501, name="EFI 4K"
start=768, size=1024, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=11111111-2222-4333-8444-555555555502, name="root 4K"
EOF
truncate -s 8M gpt4k.raw
printf 'I\ngpt4k.sfdisk\nw\n' | fdisk -b 4096 gpt4k.raw > fdisk.log 2>&1 || { cat fdisk.log >&2; exit 1; }
py stamp gpt4k.raw gpt4k 4096 1:256:512 2:768:1024
printf 'O\ngpt4k.dump\nq\n' | fdisk -b 4096 gpt4k.raw > fdisk.log 2>&1 || { cat fdisk.log >&2; exit 1; }
py dump2json gpt4k.dump gpt4k.sfdisk.json

# whole: a FAT filesystem on the whole disk ("superfloppy"), no partition table. Its boot sector
# ends in 55 AA, so sfdisk reports an empty "dos" label; imgcheck must say scheme "none".
mkfs.fat --invariant -i 1234ABCD -n WHOLEDISK -C whole.raw 4096 > /dev/null
sfdisk --json whole.raw > whole.sfdisk.json

for s in gpt mbr gpt4k whole; do
    case $s in gpt4k) ss=4096 ;; *) ss=512 ;; esac
    case $s in gpt|gpt4k) scheme=gpt ;; mbr) scheme=mbr ;; whole) scheme=none ;; esac
    script=null; [ -f "$s.sfdisk" ] && script="\"$s.sfdisk\"" && cp "$s.sfdisk" out/
    printf '{"name":"%s","file":"%s.raw.gz","sfdisk":"%s.sfdisk.json","script":%s,"sha256":"%s","size":%s,"sector_size":%s,"scheme":"%s"}\n' \
        "$s" "$s" "$s" "$script" "$(sha "$s.raw")" "$(stat -c %s "$s.raw")" "$ss" "$scheme" >> seeds.jsonl
    cp "$s.sfdisk.json" out/
done

# ---------------------------------------------------------------------------------------------
# Fixtures. record NAME SEED QEMU_FORMAT IMAGE FOLLOW SEED_CONTENT MADE_WITH EXTRA_JSON FILES...
record() {
    local name=$1 seed=$2 fmt=$3 image=$4 follow=$5 seedc=$6 made=$7 extra=$8; shift 8
    qemu-img info --output=json -f "$fmt" "$image" > info.tmp
    local vsize
    vsize=$(py sanitize info.tmp "out/$name.qemu-info.json" "$WORK")
    qemu-img convert -f "$fmt" -O raw "$image" conv.tmp
    local rsha
    rsha=$(sha conv.tmp)
    rm -f conv.tmp info.tmp
    local files="" f
    for f in "$@"; do
        files="$files${files:+,}\"$f.gz\""
        [ -f "out/$f.gz" ] || gzip -9n -c "$f" > "out/$f.gz"
    done
    python3 - "$name" "$seed" "$fmt" "$image" "$follow" "$seedc" "$made" "$extra" "$vsize" "$rsha" "[$files]" >> records.jsonl <<'PY'
import json, sys
name, seed, fmt, image, follow, seedc, made, extra, vsize, rsha, files = sys.argv[1:]
r = {"name": name, "files": json.loads(files), "image": image, "seed": seed,
     "qemu_format": fmt, "virtual_size": int(vsize), "raw_sha256": rsha,
     "follow_backing": follow == "true", "seed_content": seedc == "true",
     "qemu_info": name + ".qemu-info.json", "made_with": made}
r.update(json.loads(extra))
print(json.dumps(r))
PY
}

# The seeds themselves, as raw images.
for s in gpt mbr gpt4k whole; do
    record "$s-raw" "$s" raw "$s.raw" false true "see $s.sfdisk and scripts/make-fixtures.sh" '{}' "$s.raw"
done

# convert NAME SEED FORMAT EXT [qemu-img convert options...]
convert() {
    local name=$1 seed=$2 fmt=$3 ext=$4; shift 4
    local before after extra_files
    before=$(ls)
    qemu-img convert -f raw -O "$fmt" "$@" "$seed.raw" "$name.$ext"
    after=$(ls)
    # Extent files (…-flat.vmdk, …-s001.vmdk) that qemu-img created beside the image.
    extra_files=$(comm -13 <(echo "$before") <(echo "$after") | grep -vx "$name.$ext" || true)
    # shellcheck disable=SC2086
    record "$name" "$seed" "$fmt" "$name.$ext" false true \
        "qemu-img convert -f raw -O $fmt${*:+ $*} $seed.raw $name.$ext" '{}' "$name.$ext" $extra_files
}

convert gpt-qcow2-v2          gpt qcow2 qcow2 -o compat=0.10
convert gpt-qcow2-v3          gpt qcow2 qcow2
convert gpt-qcow2-zlib        gpt qcow2 qcow2 -c
convert gpt-qcow2-zstd        gpt qcow2 qcow2 -c -o compression_type=zstd
convert gpt-qcow2-c512        gpt qcow2 qcow2 -o cluster_size=512
convert gpt-qcow2-c4k         gpt qcow2 qcow2 -o cluster_size=4096
convert gpt-qcow2-c2m-el2     gpt qcow2 qcow2 -o cluster_size=2M,extended_l2=on
convert gpt-vhd-dynamic       gpt vpc   vhd   -o subformat=dynamic
convert gpt-vhd-fixed         gpt vpc   vhd   -o subformat=fixed,force_size=on
convert gpt-vhdx-dynamic      gpt vhdx  vhdx
convert gpt-vhdx-fixed        gpt vhdx  vhdx  -o subformat=fixed
convert gpt-vmdk-sparse       gpt vmdk  vmdk  -o subformat=monolithicSparse
convert gpt-vmdk-stream       gpt vmdk  vmdk  -o subformat=streamOptimized
convert gpt-vmdk-flat         gpt vmdk  vmdk  -o subformat=monolithicFlat
convert gpt-vmdk-2gbsparse    gpt vmdk  vmdk  -o subformat=twoGbMaxExtentSparse
convert mbr-qcow2-v3          mbr qcow2 qcow2
convert mbr-vhd-dynamic       mbr vpc   vhd   -o subformat=dynamic
convert mbr-vmdk-stream       mbr vmdk  vmdk  -o subformat=streamOptimized
convert gpt4k-qcow2-v3        gpt4k qcow2 qcow2
convert gpt4k-vhdx-dynamic    gpt4k vhdx  vhdx
convert whole-qcow2-zlib      whole qcow2 qcow2 -c

# qcow2 backing chain: overlay over gpt-qcow2-v3.qcow2 (relative backing reference).
qemu-img create -q -f qcow2 -b gpt-qcow2-v3.qcow2 -F qcow2 gpt-qcow2-overlay.qcow2
qemu-io -c 'write -P 0x5a 1M 64k' -c 'write -z 2M 64k' gpt-qcow2-overlay.qcow2 > /dev/null
record gpt-qcow2-overlay gpt qcow2 gpt-qcow2-overlay.qcow2 true false \
    "qemu-img create -f qcow2 -b gpt-qcow2-v3.qcow2 -F qcow2 gpt-qcow2-overlay.qcow2; qemu-io -c 'write -P 0x5a 1M 64k' -c 'write -z 2M 64k' gpt-qcow2-overlay.qcow2" \
    '{"backing_reference":"gpt-qcow2-v3.qcow2","unfollowed":{"followed":false,"anomaly":true}}' \
    gpt-qcow2-overlay.qcow2 gpt-qcow2-v3.qcow2

# A VHD differencing child: qemu-img cannot create one (recorded in testdata/README.md).
if qemu-img create -q -f vpc -b gpt-vhd-dynamic.vhd -F vpc gpt-vhd-child.vhd 2> vhddiff.err; then
    echo "make-fixtures.sh: qemu-img now creates VHD differencing images; add a fixture" >&2
    rm -f gpt-vhd-child.vhd
else
    echo "note: VHD differencing not made: $(cat vhddiff.err)"
fi

for s in gpt mbr gpt4k whole; do
    [ -f "out/$s.raw.gz" ] || gzip -9n -c "$s.raw" > "out/$s.raw.gz"
done
py manifest records.jsonl seeds.jsonl out/manifest.json

# Replace the previous fixture set in OUT (only files this script makes; README etc. stay).
rm -f "$OUT"/*.gz "$OUT"/*.qemu-info.json "$OUT"/*.sfdisk.json "$OUT"/*.sfdisk "$OUT"/manifest.json
cp out/* "$OUT"/
echo "fixtures written to $OUT:"
du -sh "$OUT"
du -cb "$OUT"/* | tail -1 | awk '{printf "total %d bytes (%.2f MiB)\n", $1, $1/1048576}'
