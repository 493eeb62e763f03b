#!/usr/bin/env bash
# Build the XFS fixtures of crates/fs (tests/xfs.rs) from the committed source tree
# testdata/fs/tree/ plus generated parts, with mkfs.xfs protofiles (no root, no mounting).
#
# usage: scripts/make-xfs-fixtures.sh [OUTDIR]      (default: testdata/xfs)
#
# Writes into OUTDIR:
#   *.img.gz          xfs-v5 (crc, ftype, bigtime; 320 MiB), xfs-v4 (crc=0, ftype=0; 64 MiB) and
#                     xfs-v4-dirty (32 MiB, log head patched so that it is not an unmount record),
#                     gzip -9n
#   manifest.json.gz  images (uuid, label, version, state) and every source file (path, type,
#                     size, mode, uid, gid, sha256 or symlink target, flags) — per image where the
#                     image was edited with xfs_db after mkfs
#   listings/         what xfs_db says: `ls` of every directory (*.xfs_db-ls.txt.gz), `bmap` and `core.format` of the
#                     directories and files that exercise each on-disk form, `xfs_repair -n` output
#   xfs-v5-btree.img.zst, xfs-v5-btree.json, listings/xfs-v5-btree.*
#                     regular files whose data fork is an extent B-tree (core.format = 3), made
#                     by mkfs.xfs >= 6.13 (see "Extent B-tree files" below), zstd -19; the json
#                     holds each file's inode, size, sha256 of the source and what
#                     `xfs_db -c "inode N" -c print` says (format, nextents, bmbt level)
#
# Needs (Debian packages): xfsprogs gzip zstd python3 coreutils cpio, and for the extent B-tree
# image xfsprogs >= 6.13 (see below). Sleuth Kit has no XFS support in the
# version we use (`fls -f list`), so xfs_db is the independent lister.
# Protofiles cannot express names with whitespace: the committed unicode file is renamed.
# mkfs.xfs 6.1 writes a protofile's file as one extent: a file larger than the largest free
# extent (an AG) overwrites the following AGs (seen: a 160 MiB file destroyed AG 2's
# superblock), and holes are written as data. So files stay small here; in these images the
# extent B-tree is exercised by /dirs/node (thousands of entries interleaved with their files' data give its data
# fork ~30 extents, more than an inode holds), and holes and unwritten extents are made by
# rewriting /holes.bin's extent list with xfs_db.
#
# Extent B-tree files: xfsprogs 6.13 ("mkfs: support copying in large or sparse files") copies a
# protofile's file with SEEK_DATA/SEEK_HOLE, one extent per data run, so a sparse source file
# with N data blocks separated by holes gets N extents; more than an inode's extent list holds
# (21 with 512-byte inodes) makes its data fork a B-tree. The last step builds
# xfs-v5-btree.img that way with the first of: $XFS613 (a directory holding mkfs.xfs, xfs_db and
# xfs_repair >= 6.13, or wrappers), the system's xfsprogs if >= 6.13, else xfsprogs 6.13 and the
# libraries it needs downloaded from Debian trixie with `apt-get download` into a private apt
# directory and extracted with `dpkg-deb -x` (nothing installed; run through trixie's own ld.so
# because it needs glibc 2.38). That last way needs network access to deb.debian.org, apt-get
# and dpkg-deb.
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC SOURCE_DATE_EPOCH=1700000000
PATH=$PATH:/usr/sbin:/sbin

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/testdata/fs/tree
OUT=${1:-$ROOT/testdata/xfs}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for tool in mkfs.xfs xfs_db xfs_repair gzip zstd python3; do
    command -v "$tool" >/dev/null || { echo "make-xfs-fixtures: $tool missing" >&2; exit 1; }
done

# ---- the source tree ----------------------------------------------------------------------------
TREE=$WORK/tree
mkdir -p "$TREE"
(cd "$SRC" && find . -path ./unicode -prune -o -print0 | cpio -0pdm --quiet "$TREE")
mkdir "$TREE/unicode"
printf 'unicode name\n' >"$TREE/unicode/Grüße–日本語.txt"
: >"$TREE/empty.txt"
# Directories whose entry counts force each directory form at a 4 KiB directory block size:
# short-form (inline), block, leaf, node (and, interleaved with file data, a B-tree data fork).
for spec in sf:5 block:50 leaf:300 node:3000; do
    d=$TREE/dirs/${spec%%:*}
    mkdir -p "$d"
    n=${spec##*:}
    for i in $(seq -f %05g 1 "$n"); do printf 'entry %s of %s\n' "$i" "${spec%%:*}" >"$d/file$i"; done
done
# 16 blocks of data; after mkfs its extent list is rewritten into data / hole / unwritten / data.
python3 -c "import sys; sys.stdout.buffer.write(b''.join(bytes([65+i])*4096 for i in range(16)))" \
    >"$TREE/holes.bin"
printf 'append only\n' >"$TREE/appendonly.log"
ln -s hello.txt "$TREE/fastlink"
ln -s /this/is/a/slow/symlink/target/longer/than/sixty/bytes/so/it/needs/a/data/block "$TREE/slowlink"
ln -s "$(python3 -c "print('/remote' + ''.join('/component%03d' % i for i in range(50)))")" \
    "$TREE/remotelink"
ln -s dirs/sf "$TREE/dirlink"
chmod 0600 "$TREE/secret.txt"
chmod 0755 "$TREE/script.sh"
chmod 0640 "$TREE/docs/readme.md"
chmod 0750 "$TREE/docs"
find "$TREE" -exec touch -h -d @1700000000 {} +

# ---- protofile + manifest -----------------------------------------------------------------------
python3 - "$TREE" "$WORK" <<'EOF'
import hashlib, json, os, stat, sys
tree, work = sys.argv[1:3]
owners = {"/secret.txt": (1000, 1001), "/docs": (1000, 1000), "/fastlink": (7, 8)}
lines = ["/dev/null", "0 0", "d--755 0 0"]
files = []
def walk(d, rel, depth):
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        r = rel + "/" + name
        st = os.lstat(p)
        uid, gid = owners.get(r, (0, 0))
        perm = stat.S_IMODE(st.st_mode)
        ind = " " * depth
        e = {"path": r, "mode": perm, "uid": uid, "gid": gid}
        if stat.S_ISLNK(st.st_mode):
            t = os.readlink(p)
            lines.append(f"{ind}{name} l--{perm:03o} {uid} {gid} {t}")
            e.update(type="symlink", target=t, size=len(t.encode()))
        elif stat.S_ISDIR(st.st_mode):
            lines.append(f"{ind}{name} d--{perm:03o} {uid} {gid}")
            e.update(type="dir")
            files.append(e)
            walk(p, r, depth + 1)
            lines.append(f"{ind}$")
            continue
        else:
            lines.append(f"{ind}{name} ---{perm:03o} {uid} {gid} {p}")
            data = open(p, "rb").read()
            e.update(type="file", size=len(data), sha256=hashlib.sha256(data).hexdigest())
        files.append(e)
walk(tree, "", 1)
lines.append("$")
open(os.path.join(work, "proto"), "w").write("\n".join(lines) + "\n")
# The dirty image holds only the committed part of the tree.
keep, skip = [], 0
for l in lines:
    s = l.strip()
    if skip:
        if s.startswith("$"):
            skip -= 1
        elif s.split()[1].startswith("d"):
            skip += 1
        continue
    if s.startswith("dirs "):
        skip = 1
        continue
    keep.append(l)
open(os.path.join(work, "proto-small"), "w").write("\n".join(keep) + "\n")
json.dump(files, open(os.path.join(work, "files.json"), "w"))
EOF

IMG=$WORK/img
LST=$WORK/listings
mkdir -p "$IMG" "$LST"
V5_UUID=3b0e6a52-7c1d-4f2e-9a8b-0c1d2e3f4a5b
V4_UUID=4c1f7b63-8d2e-4a3f-8b9c-1d2e3f4a5b6c
mkfs.xfs -q -f -p "$WORK/proto" -d file,name="$IMG/xfs-v5.img",size=320m -n size=4096 \
    -m uuid=$V5_UUID -L ic-xfs-v5
TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f -p "$WORK/proto" \
    -d file,name="$IMG/xfs-v4.img",size=64m -m crc=0,uuid=$V4_UUID -n size=4096,ftype=0 \
    -L ic-xfs-v4 2>/dev/null
TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f -p "$WORK/proto-small" \
    -d file,name="$IMG/xfs-v4-dirty.img",size=32m -m crc=0,uuid=$V4_UUID -n size=4096,ftype=1 \
    -L ic-xfs-dirty 2>/dev/null

# ---- edits with xfs_db (no mount): flags, holes, unwritten extents ------------------------------
for name in xfs-v5 xfs-v4 xfs-v4-dirty; do
    img=$IMG/$name.img
    bmx=u3.bmx
    [ "$name" = xfs-v5 ] || bmx=u.bmx
    xfs_db -x -c 'path /secret.txt' -c 'write core.immutable 1' \
        -c 'path /appendonly.log' -c 'write core.append 1' "$img" >/dev/null
    # /holes.bin: one 16-block extent at S becomes [0,4)→S, hole [4,8), [8,12)→S+8 unwritten,
    # [12,16)→S+12.
    s=$(xfs_db -r -c 'path /holes.bin' -c bmap "$img" | sed -n 's/.*startblock \([0-9]*\) .*count 16 flag 0/\1/p')
    [ -n "$s" ] || { echo "make-xfs-fixtures: /holes.bin is not one 16-block extent" >&2; exit 1; }
    xfs_db -x -c 'path /holes.bin' -c 'write core.nextents 3' -c 'write core.nblocks 12' \
        -c "write $bmx[0].blockcount 4" \
        -c "write $bmx[1].startoff 8" -c "write $bmx[1].startblock $((s + 8))" \
        -c "write $bmx[1].blockcount 4" -c "write $bmx[1].extentflag 1" \
        -c "write $bmx[2].startoff 12" -c "write $bmx[2].startblock $((s + 12))" \
        -c "write $bmx[2].blockcount 4" -c "write $bmx[2].extentflag 0" "$img" >/dev/null
    xfs_db -r -c 'path /holes.bin' -c bmap "$img" >"$LST/$name.holes-bmap.txt"
done

# ---- two on-disk patches with crc32c: the v5 remote symlink header, the dirty log head ---------
cat >"$WORK/patch.py" <<'EOF'
import struct, sys
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)
def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc
f = open(sys.argv[2], "r+b")
sb = f.read(512)
bs, = struct.unpack(">I", sb[4:8])
agblocks, = struct.unpack(">I", sb[84:88])
agblklog = sb[124]
def fsb_offset(fsb):
    return ((fsb >> agblklog) * agblocks + (fsb & ((1 << agblklog) - 1))) * bs
if sys.argv[1] == "symlink":
    ino, fsb = int(sys.argv[3]), int(sys.argv[4])
    off = fsb_offset(fsb)
    f.seek(off)
    target = f.read(bs).split(b"\0", 1)[0]
    hdr = struct.pack(">IIII16sQQQ", 0x58534C4D, 0, len(target), 0, sb[32:48], ino, off // 512, 0)
    new = bytearray(hdr + target + bytes(bs - len(hdr) - len(target)))
    new[12:16] = struct.pack("<I", crc32c(bytes(new)) ^ 0xFFFFFFFF)
    f.seek(off)
    f.write(new)
elif sys.argv[1] == "dirty-log":
    logstart, = struct.unpack(">Q", sb[48:56])
    off = fsb_offset(logstart)
    f.seek(off)
    rec = bytearray(f.read(1024))
    magic, cycle, version, hlen = struct.unpack(">IIII", rec[0:16])
    nops, = struct.unpack(">I", rec[40:44])
    assert magic == 0xFEEDBABE and nops == 1, (hex(magic), nops)
    assert rec[512 + 9] & 0x20, "head record is not an unmount record"
    def cksum(r):
        h = bytes(r[0:32]) + b"\0\0\0\0" + bytes(r[36:328])
        return crc32c(h + bytes(r[512:512 + hlen])) ^ 0xFFFFFFFF
    stored = struct.unpack("<I", rec[32:36])[0]
    assert stored in (0, cksum(rec)), "log record crc formula"
    # The single op's flags: XLOG_UNMOUNT_TRANS → XLOG_COMMIT_TRANS; the record crc recomputed
    # where there is one (mkfs leaves it 0 on v4).
    rec[512 + 9] = 0x02
    if stored:
        rec[32:36] = struct.pack("<I", cksum(rec))
    f.seek(off)
    f.write(rec)
f.close()
EOF
# mkfs.xfs 6.1 writes a v5 remote symlink without its header (xfs_repair: "Bad symlink buffer
# CRC"): write the header as the kernel does (magic XSLM, offset, bytes, crc, uuid, owner, daddr,
# lsn 0) so that the v5 image is consistent.
ino=$(xfs_db -r -c 'path /remotelink' -c 'print v3.inumber' "$IMG/xfs-v5.img" | awk '{print $3}')
fsb=$(xfs_db -r -c 'path /remotelink' -c bmap "$IMG/xfs-v5.img" | sed -n 's/.*startblock \([0-9]*\) .*count 1 flag 0/\1/p')
[ -n "$ino" ] && [ -n "$fsb" ] || { echo "make-xfs-fixtures: cannot locate /remotelink" >&2; exit 1; }
python3 "$WORK/patch.py" symlink "$IMG/xfs-v5.img" "$ino" "$fsb"
# The dirty log: the head record rewritten so that it is not an unmount record.
python3 "$WORK/patch.py" dirty-log "$IMG/xfs-v4-dirty.img"

# ---- independent listings -------------------------------------------------------------------------
for name in xfs-v5 xfs-v4 xfs-v4-dirty; do
    img=$IMG/$name.img
    python3 - "$WORK/files.json" "$name" >"$WORK/lscmds" <<'EOF'
import json, sys
files = json.load(open(sys.argv[1]))
small = sys.argv[2] == "xfs-v4-dirty"
print("ls /")
for f in files:
    if f["type"] == "dir" and not (small and f["path"].startswith("/dirs")):
        print("ls " + f["path"])
EOF
    args=()
    while IFS= read -r c; do args+=(-c "$c"); done <"$WORK/lscmds"
    xfs_db -r "${args[@]}" "$img" >"$LST/$name.xfs_db-ls.txt"
    xfs_repair -n "$img" >"$LST/$name.xfs_repair.txt" 2>&1 || echo "xfs_repair exit $?" >>"$LST/$name.xfs_repair.txt"
    xfs_db -r -c 'sb 0' -c 'print' "$img" >"$LST/$name.sb.txt"
done
for name in xfs-v5 xfs-v4; do
    img=$IMG/$name.img
    : >"$LST/$name.forms.txt"
    for p in /dirs/sf /dirs/block /dirs/leaf /dirs/node /holes.bin /remotelink /fastlink; do
        { echo "== $p"; xfs_db -r -c "path $p" -c 'print core.format core.nextents' -c bmap "$img"; } >>"$LST/$name.forms.txt"
    done
done
grep -q 'valuable metadata changes in a log' "$LST/xfs-v4-dirty.xfs_repair.txt" ||
    { echo "make-xfs-fixtures: xfs_repair does not see the dirty log" >&2; exit 1; }

# ---- manifest -------------------------------------------------------------------------------------
python3 - "$WORK/files.json" "$IMG" "$WORK/manifest.json" <<'EOF'
import hashlib, json, os, sys
files = json.load(open(sys.argv[1]))
img = sys.argv[2]
holes = bytearray(b"".join(bytes([65 + i]) * 4096 for i in range(16)))
holes[4 * 4096:12 * 4096] = bytes(8 * 4096)
for f in files:
    if f["path"] == "/holes.bin":
        f["sha256"] = hashlib.sha256(holes).hexdigest()
        f["note"] = "extents rewritten by xfs_db: data, hole, unwritten, data"
    if f["path"] == "/secret.txt":
        f["flags"] = ["immutable"]
    if f["path"] == "/appendonly.log":
        f["flags"] = ["append"]
    f["in_small"] = not f["path"].startswith("/dirs")
images = [
    dict(name="xfs-v5", version=5, uuid="3b0e6a52-7c1d-4f2e-9a8b-0c1d2e3f4a5b", label="ic-xfs-v5",
         state="clean", small=False, ftype=True),
    dict(name="xfs-v4", version=4, uuid="4c1f7b63-8d2e-4a3f-8b9c-1d2e3f4a5b6c", label="ic-xfs-v4",
         state="clean", small=False, ftype=False),
    dict(name="xfs-v4-dirty", version=4, uuid="4c1f7b63-8d2e-4a3f-8b9c-1d2e3f4a5b6c",
         label="ic-xfs-dirty", state="dirty", small=True, ftype=True),
]
for i in images:
    i["file"] = i["name"] + ".img.gz"
    i["image_bytes"] = os.path.getsize(os.path.join(img, i["name"] + ".img"))
json.dump(dict(comment="generated by scripts/make-xfs-fixtures.sh; do not edit; files with "
               "in_small=false are not on xfs-v4-dirty", images=images, files=files),
          open(sys.argv[3], "w"), indent=0, ensure_ascii=False)
open(sys.argv[3], "a").write("\n")
EOF

# ---- extent B-tree files (mkfs.xfs >= 6.13, see the header) -------------------------------------
version_ge_613() { # "mkfs.xfs version X.Y.Z" on stdin
    awk '/version/ { split($NF, v, "."); ok = (v[1] > 6) || (v[1] == 6 && v[2] >= 13) } END { exit !ok }'
}
if [ -n "${XFS613:-}" ]; then
    X13=$XFS613
elif mkfs.xfs -V 2>/dev/null | version_ge_613; then
    X13=$(dirname "$(command -v mkfs.xfs)")
else
    for tool in apt-get dpkg-deb; do
        command -v "$tool" >/dev/null ||
            { echo "make-xfs-fixtures: $tool missing (needed to fetch xfsprogs 6.13)" >&2; exit 1; }
    done
    A=$WORK/apt-trixie
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/root" "$WORK/x613"
    echo "deb http://deb.debian.org/debian trixie main" >"$A/sources.list"
    aopt=(-o "Dir::Etc::sourcelist=$A/sources.list" -o Dir::Etc::sourceparts=/nonexistent
        -o "Dir::State::lists=$A/lists" -o "Dir::Cache=$A/cache" -o Debug::NoLocking=1)
    apt-get -q "${aopt[@]}" update >"$WORK/apt.log" 2>&1 ||
        { cat "$WORK/apt.log" >&2; echo "make-xfs-fixtures: cannot reach Debian trixie for xfsprogs 6.13" >&2; exit 1; }
    (cd "$A" && apt-get -q "${aopt[@]}" download xfsprogs libc6 liburcu8t64 libinih1 libedit2 \
        libblkid1 libuuid1 libbsd0 libmd0 libtinfo6 >>"$WORK/apt.log" 2>&1) ||
        { cat "$WORK/apt.log" >&2; echo "make-xfs-fixtures: apt-get download failed" >&2; exit 1; }
    for d in "$A"/*.deb; do dpkg-deb -x "$d" "$A/root"; done
    L=$A/root/usr/lib/x86_64-linux-gnu
    for t in mkfs.xfs xfs_db xfs_repair; do
        printf '#!/bin/sh\nexec %s/ld-linux-x86-64.so.2 --library-path %s %s/usr/sbin/%s "$@"\n' \
            "$L" "$L" "$A/root" "$t" >"$WORK/x613/$t"
        chmod +x "$WORK/x613/$t"
    done
    X13=$WORK/x613
fi
"$X13/mkfs.xfs" -V | version_ge_613 ||
    { echo "make-xfs-fixtures: $X13/mkfs.xfs is not >= 6.13: $("$X13/mkfs.xfs" -V)" >&2; exit 1; }
BT=$WORK/btree-tree
mkdir -p "$BT"
# One data block every other block (a hole first, between and after, and a partial tail): N
# extents. 30 extents: a level-1 B-tree with one leaf; 600: level 1, several leaves; 6000: level 2
# (the inode's root holds at most 20 pointers). Each block names its file and index, so a
# misplaced block shows in the hash.
cat >"$WORK/mkbtree.py" <<'PYEOF'
import os, sys
t = sys.argv[1]
def mk(name, n):
    with open(os.path.join(t, name), "wb") as f:
        for k in range(n):
            f.seek((2 * k + 1) * 4096)
            line = ("%s block %06d of %d\n" % (name, k, n)).encode()
            f.write((line * (4096 // len(line) + 1))[:4096])
        f.truncate((2 * n + 1) * 4096 + 100)
mk("btree-small.bin", 30)
mk("btree.bin", 600)
mk("btree-deep.bin", 6000)
open(os.path.join(t, "readme.txt"), "w").write("files with one extent per data block, separated by holes\n")
# The source must really be sparse, or mkfs copies the holes as data.
fd = os.open(os.path.join(t, "btree.bin"), os.O_RDONLY)
try:
    pos = os.lseek(fd, 0, os.SEEK_DATA)
except OSError:
    pos = -1
if pos != 4096:
    sys.exit("make-xfs-fixtures: the work directory's filesystem does not keep holes (SEEK_DATA %d)" % pos)
PYEOF
python3 "$WORK/mkbtree.py" "$BT"
find "$BT" -exec touch -h -d @1700000000 {} +
{
    printf '/dev/null\n0 0\nd--755 0 0\n'
    for f in btree-small.bin btree.bin btree-deep.bin readme.txt; do
        printf ' %s ---644 0 0 %s\n' "$f" "$BT/$f"
    done
    printf '$\n'
} >"$WORK/proto-btree"
BT_UUID=5d2a8c74-9e3f-4b1a-8c7d-2e3f4a5b6c7d
BI=$IMG/xfs-v5-btree.img
"$X13/mkfs.xfs" -q -f -p "$WORK/proto-btree" -d file,name="$BI",size=320m \
    -m uuid=$BT_UUID -L ic-xfs-btree
"$X13/mkfs.xfs" -V >"$LST/xfs-v5-btree.mkfs-version.txt"
"$X13/xfs_repair" -n "$BI" >"$LST/xfs-v5-btree.xfs_repair.txt" 2>&1 ||
    { cat "$LST/xfs-v5-btree.xfs_repair.txt" >&2; echo "make-xfs-fixtures: xfs_repair -n fails on xfs-v5-btree" >&2; exit 1; }
"$X13/xfs_db" -r -c 'sb 0' -c print "$BI" >"$LST/xfs-v5-btree.sb.txt"
: >"$LST/xfs-v5-btree.inodes.txt"
for f in btree-small.bin btree.bin btree-deep.bin readme.txt; do
    ino=$("$X13/xfs_db" -r -c "path /$f" -c 'print v3.inumber' "$BI" | awk '{print $3}')
    [ -n "$ino" ] || { echo "make-xfs-fixtures: cannot find /$f in xfs-v5-btree" >&2; exit 1; }
    { echo "== /$f inode $ino"; "$X13/xfs_db" -r -c "inode $ino" -c print "$BI"; } >>"$LST/xfs-v5-btree.inodes.txt"
done
"$X13/xfs_db" -r -c 'path /btree-small.bin' -c bmap "$BI" >"$LST/xfs-v5-btree.small-bmap.txt"
cat >"$WORK/btree-manifest.py" <<'PYEOF'
import hashlib, json, os, re, sys
tree, inodes, img, out, uuid = sys.argv[1:6]
text = open(inodes).read()
files = []
for sec in re.split(r"^== ", text, flags=re.M)[1:]:
    head, body = sec.split("\n", 1)
    path, _, ino = head.split()
    fmt = re.search(r"^core\.format = (\d+) \((\w+)\)$", body, re.M)
    next = re.search(r"^core\.nextents = (\d+)$", body, re.M)
    level = re.search(r"^u3\.bmbt\.level = (\d+)$", body, re.M)
    data = open(os.path.join(tree, path.lstrip("/")), "rb").read()
    files.append(dict(path=path, inode=int(ino), type="file", size=len(data), mode=0o644,
                      sha256=hashlib.sha256(data).hexdigest(), format=fmt.group(2),
                      nextents=int(next.group(1)),
                      bmbt_level=int(level.group(1)) if level else None))
want = {"/btree-small.bin": (30, 1), "/btree.bin": (600, 1), "/btree-deep.bin": (6000, 2)}
for f in files:
    if f["path"] in want:
        n, lvl = want[f["path"]]
        if (f["format"], f["nextents"], f["bmbt_level"]) != ("btree", n, lvl):
            sys.exit("make-xfs-fixtures: %s is %s with %d extents, B-tree level %s; expected "
                     "btree, %d, %d" % (f["path"], f["format"], f["nextents"], f["bmbt_level"], n, lvl))
json.dump(dict(comment="generated by scripts/make-xfs-fixtures.sh; do not edit",
               image=dict(name="xfs-v5-btree", file="xfs-v5-btree.img.zst", uuid=uuid,
                          label="ic-xfs-btree", image_bytes=os.path.getsize(img)),
               files=files), open(out, "w"), indent=1)
open(out, "a").write("\n")
PYEOF
python3 "$WORK/btree-manifest.py" "$BT" "$LST/xfs-v5-btree.inodes.txt" "$BI" \
    "$WORK/xfs-v5-btree.json" "$BT_UUID"

# ---- install into OUTDIR ------------------------------------------------------------------------
mkdir -p "$OUT/listings"
for f in "$IMG"/xfs-v5.img "$IMG"/xfs-v4.img "$IMG"/xfs-v4-dirty.img; do
    gzip -9n -c "$f" >"$OUT/$(basename "$f").gz"
done
zstd -19 -q -f -c "$IMG/xfs-v5-btree.img" >"$OUT/xfs-v5-btree.img.zst"
cp "$WORK/xfs-v5-btree.json" "$OUT/xfs-v5-btree.json"
rm -f "$OUT"/listings/*.txt "$OUT"/listings/*.txt.gz
for f in "$LST"/*.txt; do
    case $f in
    *xfs_db-ls.txt) gzip -9n -c "$f" >"$OUT/listings/$(basename "$f").gz" ;;
    *) cp "$f" "$OUT/listings/" ;;
    esac
done
gzip -9n -c "$WORK/manifest.json" >"$OUT/manifest.json.gz"
du -cb "$OUT"/*.gz "$OUT"/*.zst | tail -1
