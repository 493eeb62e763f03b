#!/usr/bin/env bash
# Build the LZNT1-compressed NTFS fixture (testdata/fs/ntfs-lznt1/): files that NTFS itself
# compressed, written by ntfs-3g's compression code through a FUSE mount — the one way Linux tools
# make compressed NTFS data (mkntfs, wimapply and ntfscp write only uncompressed data).
#
# usage: scripts/make-ntfs-lznt1-fixture.sh [OUTDIR]      (default: testdata/fs/ntfs-lznt1)
#
# Unlike the other fixture scripts this one MOUNTS (FUSE, `ntfs-3g -o compression`), so it needs
# /dev/fuse and the right to mount; it is run once by a developer and its output committed. The
# tests read only the committed output; imgcheck itself never mounts anything.
#
# Writes into OUTDIR:
#   ntfs-lznt1.img.gz     the 8 MiB NTFS volume (gzip -9n)
#   manifest.json         every file: path, size, sha256 of the source bytes, and the
#                         `icat` (The Sleuth Kit) sha256 of the same file in the image
#   ntfsinfo.txt          `ntfsinfo -F` of each file: attribute flags, sizes (proof of compression)
#   fls.txt               `fls -r -p` of the volume
#
# Needs (Debian packages): ntfs-3g (mkntfs, ntfs-3g, ntfsinfo), attr (setfattr), sleuthkit
# (fls, icat), fuse3 or fuse, python3, gzip.
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC
PATH=$PATH:/usr/sbin:/sbin
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/testdata/fs/ntfs-lznt1}
for tool in mkntfs ntfs-3g ntfsinfo setfattr fls icat python3 gzip; do
    command -v "$tool" >/dev/null || { echo "make-ntfs-lznt1-fixture: $tool missing" >&2; exit 1; }
done
WORK=$(mktemp -d)
MNT=$WORK/mnt
cleanup() { mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$OUT" "$MNT" "$WORK/src/comp/nested"

# The source files, deterministic: compressible text, incompressible bytes (units stored raw),
# all-zero runs (sparse units), a mix of all three per 64 KiB compression unit, a file ending in
# a partial unit, one of exactly one unit, and a tiny file that stays resident.
python3 - "$WORK/src" <<'PY'
import os, random, sys
src = sys.argv[1]
r = random.Random(20261202)
def text(n, seed):
    s = "".join("line %06d: the quick brown fox jumps over the lazy dog %d\n" % (i, seed) for i in range(n // 40 + 2))
    return s.encode()[:n]
def rnd(n):
    return bytes(r.getrandbits(8) for _ in range(n))
files = {
    "comp/lorem.txt": text(228000, 1),
    "comp/random.bin": rnd(100000),
    "comp/zeros.bin": bytes(1 << 20),
    "comp/mixed.bin": b"".join([text(65536, 2), rnd(65536), bytes(65536), text(65536, 3), rnd(1000) + bytes(64536)]),
    "comp/tail.bin": text(70001, 4),
    "comp/unit.bin": text(65536, 5),
    "comp/small.txt": b"a small file stays resident in its MFT record\n",
    "comp/nested/deep.txt": text(150000, 6),
}
for p, data in files.items():
    with open(os.path.join(src, p), "wb") as f:
        f.write(data)
PY

IMG=$WORK/ntfs-lznt1.img
truncate -s 8M "$IMG"
mkntfs -F -f -q -L lznt1 "$IMG"
# A fixed serial (bytes 0x48..0x4F of the boot sector), as scripts/make-fs-fixtures.sh does.
printf '\x11\x22\x33\x44\x55\x66\x77\x88' | dd of="$IMG" bs=1 seek=72 conv=notrunc status=none
ntfs-3g -o compression "$IMG" "$MNT"
mkdir "$MNT/comp"
# FILE_ATTRIBUTE_COMPRESSED (0x800) on the directory: files created in it are compressed.
setfattr -n system.ntfs_attrib_be -v 0x00000810 "$MNT/comp"
mkdir "$MNT/comp/nested"
setfattr -n system.ntfs_attrib_be -v 0x00000810 "$MNT/comp/nested"
(cd "$WORK/src" && find comp -type f | sort) | while read -r f; do cp "$WORK/src/$f" "$MNT/$f"; done
sync
umount "$MNT"

: >"$OUT/ntfsinfo.txt"
(cd "$WORK/src" && find comp -type f | sort) | while read -r f; do
    echo "== /$f" >>"$OUT/ntfsinfo.txt"
    ntfsinfo -F "/$f" "$IMG" 2>/dev/null | grep -E "File attributes|Data size|Allocated Size|Compression|Resident flags" >>"$OUT/ntfsinfo.txt"
done
fls -r -p "$IMG" >"$OUT/fls.txt"
python3 - "$WORK/src" "$IMG" "$OUT/fls.txt" "$OUT/manifest.json" <<'PY'
import hashlib, json, os, re, subprocess, sys
src, img, fls, out = sys.argv[1:]
inodes = {}
for line in open(fls):
    m = re.match(r"r/r (\d+)-128-\d+:\s+(.*)$", line.rstrip("\n"))
    if m:
        inodes[m.group(2)] = m.group(1)
files = []
for dirpath, _, names in os.walk(src):
    for n in names:
        full = os.path.join(dirpath, n)
        rel = os.path.relpath(full, src)
        data = open(full, "rb").read()
        icat = subprocess.run(["icat", img, inodes[rel]], capture_output=True, check=True).stdout
        files.append({
            "path": "/" + rel,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "icat_sha256": hashlib.sha256(icat).hexdigest(),
        })
        assert files[-1]["sha256"] == files[-1]["icat_sha256"], rel
files.sort(key=lambda f: f["path"])
json.dump({"image": "ntfs-lznt1.img", "serial": "8877665544332211", "label": "lznt1",
           "files": files}, open(out, "w"), indent=1)
open(out, "a").write("\n")
PY
gzip -9n <"$IMG" >"$OUT/ntfs-lznt1.img.gz"
grep -c COMPRESSED "$OUT/ntfsinfo.txt" | sed 's/^/make-ntfs-lznt1-fixture: compressed files: /'
ls -l "$OUT"
