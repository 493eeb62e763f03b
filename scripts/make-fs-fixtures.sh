#!/usr/bin/env bash
# Build the filesystem fixtures of crates/fs from the committed source tree testdata/fs/tree/.
#
# usage: scripts/make-fs-fixtures.sh [OUTDIR]      (default: testdata/fs)
#
# Writes into OUTDIR:
#   images/*.img.gz        each image compressed with gzip -9n
#   listings/*.txt         what independent tools say about each image (fls, debugfs, mdir, mshowfat, ntfsls)
#   manifest.json          the images (type, uuid/serial, label) and every source file
#                          (path, type, size, mode, sha256, symlink target)
#
# No root, no mounting, no loop devices. Needs (Debian packages): e2fsprogs dosfstools mtools
# ntfs-3g wimtools sleuthkit cryptsetup-bin util-linux (mkswap) gzip python3.
# Deterministic apart from what mkntfs and cryptsetup randomise internally (NTFS object ids, LUKS
# salts); the NTFS serial is patched to a fixed value after mkntfs.
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC
export E2FSPROGS_FAKE_TIME=1700000000 SOURCE_DATE_EPOCH=1700000000
PATH=$PATH:/usr/sbin:/sbin

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/testdata/fs/tree
OUT=${1:-$ROOT/testdata/fs}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for tool in mkfs.ext4 mkfs.ext3 mkfs.ext2 debugfs dumpe2fs mkfs.fat mcopy mdir mshowfat mkntfs wimcapture wimapply \
    ntfsls fls mkswap cryptsetup gzip python3; do
    command -v "$tool" >/dev/null || { echo "make-fs-fixtures: $tool missing" >&2; exit 1; }
done

# ---- the source tree: committed part + generated part ------------------------------------------
TREE=$WORK/tree
cp -a "$SRC" "$TREE"
mkdir "$TREE/bigdir"
for i in $(seq -f %04g 0 999); do printf 'entry %s\n' "$i" >"$TREE/bigdir/f$i.txt"; done
: >"$TREE/empty.txt"
# 1 MiB with one run of data at 512 KiB: a hole before and after.
truncate -s 1048576 "$TREE/sparse.bin"
printf 'data in the middle of a sparse file\n' |
    dd of="$TREE/sparse.bin" bs=1 seek=524288 conv=notrunc status=none
ln -s hello.txt "$TREE/fastlink"
ln -s /this/is/a/slow/symlink/target/longer/than/sixty/bytes/so/it/needs/a/data/block "$TREE/slowlink"
chmod 0600 "$TREE/secret.txt"
chmod 0755 "$TREE/script.sh"
chmod 0640 "$TREE/docs/readme.md"
chmod 0750 "$TREE/docs"
chmod 0644 "$TREE/hello.txt" "$TREE/docs/lorem.txt" "$TREE/docs/MixedCase.TXT" "$TREE/empty.txt" \
    "$TREE/sparse.bin" "$TREE/deep/a/b/c/d/e/f/g/h/deep.txt" "$TREE"/unicode/*
chmod 0755 "$TREE/bigdir" "$TREE/unicode" "$TREE/deep"
find "$TREE/deep" -type d -exec chmod 0755 {} +
find "$TREE" -exec touch -h -d @1700000000 {} +

IMG=$WORK/images
LST=$WORK/listings
mkdir -p "$IMG" "$LST"

# ---- ext2/3/4 -----------------------------------------------------------------------------------
EXT_UUID=5f1b3c8e-2d4a-4e6b-9c1d-0123456789ab
mkext() { # name mkfs-program size extra-options...
    local name=$1 prog=$2 size=$3
    shift 3
    rm -f "$IMG/$name.img"
    "$prog" -q -F -d "$TREE" -U "$EXT_UUID" -L "ic-$name" -E root_owner=0:0 "$@" "$IMG/$name.img" "$size"
}
mkext ext4 mkfs.ext4 16M -b 4096
mkext ext4-nocsum mkfs.ext4 16M -b 4096 -O ^metadata_csum,^64bit
mkext ext4-1k mkfs.ext4 8M -b 1024
mkext ext4-inline mkfs.ext4 8M -b 4096 -I 256 -N 1200 -O inline_data
mkext ext3 mkfs.ext3 16M -b 4096
mkext ext2 mkfs.ext2 16M -b 4096
# Mark /secret.txt immutable (i_flags 0x10; extent-mapped files keep EXTENTS_FL 0x80000).
for name in ext4 ext4-nocsum ext4-1k; do
    debugfs -w -R "set_inode_field /secret.txt flags 0x80010" "$IMG/$name.img" >/dev/null 2>&1
done
for name in ext3 ext2; do
    debugfs -w -R "set_inode_field /secret.txt flags 0x10" "$IMG/$name.img" >/dev/null 2>&1
done
# ext3 with a journal awaiting replay (no journal checksums, so ext4-view cannot replay it): one
# transaction rewriting free block 3000, committed but not checkpointed.
cp "$IMG/ext3.img" "$IMG/ext3-dirty.img"
head -c 4096 /dev/zero | tr '\0' 'J' >"$WORK/jblock"
printf 'jo\njw -b 3000 %s\njc\n' "$WORK/jblock" >"$WORK/jcmds"
debugfs -w -f "$WORK/jcmds" "$IMG/ext3-dirty.img" >/dev/null 2>&1
dumpe2fs -h "$IMG/ext3-dirty.img" 2>/dev/null | grep needs_recovery >/dev/null ||
    { echo "make-fs-fixtures: ext3-dirty has no needs_recovery flag" >&2; exit 1; }

# mke2fs 1.47.0 -d with inline_data stores /sparse.bin shortened to 528384 bytes (a mke2fs bug,
# not ours): record what debugfs reads there, so the tests compare with the image's truth.
debugfs -R "cat /sparse.bin" "$IMG/ext4-inline.img" 2>/dev/null | sha256sum | cut -d' ' -f1 \
    >"$LST/ext4-inline.sparse.sha256.txt"
for name in ext4 ext4-nocsum ext4-1k ext4-inline ext3 ext3-dirty ext2; do
    debugfs -R "ls -l /" "$IMG/$name.img" 2>/dev/null >"$LST/$name.debugfs.txt"
    fls -r -p "$IMG/$name.img" >"$LST/$name.fls.txt" 2>&1 || echo "fls exit $?" >>"$LST/$name.fls.txt"
done

# ---- FAT12/16/32 --------------------------------------------------------------------------------
mkfat() { # name bits kib serial extra...
    local name=$1 bits=$2 kib=$3 serial=$4
    shift 4
    rm -f "$IMG/$name.img"
    mkfs.fat -F "$bits" -n "IC-${name^^}" -i "$serial" "$@" -C "$IMG/$name.img" "$kib" >/dev/null
    # FAT has no symlinks: top-level ones are left out here, nested ones mcopy skips itself.
    find "$TREE" -mindepth 1 -maxdepth 1 ! -type l -print0 | sort -z |
        xargs -0 sh -c 'mcopy -s -m -i "$0" "$@" ::/' "$IMG/$name.img" 2>"$WORK/mcopy.err" || { cat "$WORK/mcopy.err" >&2; exit 1; }
    mdir -/ -i "$IMG/$name.img" ::/ >"$LST/$name.mdir.txt"
    # The first cluster of every file and directory (our FAT reader's file ids).
    { echo ::/; mdir -/ -b -i "$IMG/$name.img" ::/; } | tr '\n' '\0' |
        xargs -0 mshowfat -i "$IMG/$name.img" >"$LST/$name.mshowfat.txt"
    fls -r -p "$IMG/$name.img" >"$LST/$name.fls.txt" 2>&1 || echo "fls exit $?" >>"$LST/$name.fls.txt"
}
mkfat fat12 12 6144 12ab34cd
mkfat fat16 16 16384 23bc45de
mkfat fat32 32 34816 34cd56ef -s 1

# ---- NTFS ---------------------------------------------------------------------------------------
rm -f "$IMG/ntfs.img"
truncate -s 16M "$IMG/ntfs.img"
mkntfs -F -f -q -L IC-NTFS "$IMG/ntfs.img" 2>/dev/null
wimcapture "$TREE" "$WORK/t.wim" --compress=none >/dev/null
wimapply "$WORK/t.wim" 1 "$IMG/ntfs.img" >/dev/null
# A named data stream (ADS) on hello.txt.
printf 'alternate stream\n' >"$WORK/ads"
ntfscp -f -q -N extra "$IMG/ntfs.img" "$WORK/ads" /hello.txt
# Fixed serial number (boot sector offset 0x48, 8 bytes LE) in the boot sector and its backup in
# the last sector of the volume.
NTFS_SERIAL=0123456789abcdef
serial_bytes=$(python3 -c "import sys;print(''.join('\\\\x%02x'%b for b in (0x$NTFS_SERIAL).to_bytes(8,'little')))")
printf "$serial_bytes" | dd of="$IMG/ntfs.img" bs=1 seek=$((0x48)) conv=notrunc status=none
last=$(( $(stat -c %s "$IMG/ntfs.img") - 512 ))
printf "$serial_bytes" | dd of="$IMG/ntfs.img" bs=1 seek=$((last + 0x48)) conv=notrunc status=none
ntfsls -R -a -l "$IMG/ntfs.img" >"$LST/ntfs.ntfsls.txt" 2>&1 || echo "ntfsls exit $?" >>"$LST/ntfs.ntfsls.txt"
fls -r -p "$IMG/ntfs.img" >"$LST/ntfs.fls.txt" 2>&1 || echo "fls exit $?" >>"$LST/ntfs.fls.txt"

# ---- swap and LUKS2 -----------------------------------------------------------------------------
SWAP_UUID=0c7e1f2a-3b4c-4d5e-8f60-718293a4b5c6
rm -f "$IMG/swap.img"
truncate -s 64K "$IMG/swap.img"
mkswap -U "$SWAP_UUID" -L ic-swap "$IMG/swap.img" >/dev/null 2>&1
LUKS_UUID=1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6
rm -f "$WORK/luks2.full"
truncate -s 20M "$WORK/luks2.full"
printf 'fixture-passphrase' >"$WORK/key"
cryptsetup luksFormat --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode \
    --uuid "$LUKS_UUID" --key-file "$WORK/key" "$WORK/luks2.full" >/dev/null
# Only the two binary headers and JSON areas (first 32 KiB) are kept: probing reads 4 KiB.
head -c 32768 "$WORK/luks2.full" >"$IMG/luks2.img"

# ---- manifest -----------------------------------------------------------------------------------
python3 - "$TREE" "$IMG" "$WORK/manifest.json" <<'EOF'
import hashlib, json, os, stat, sys
tree, img, out = sys.argv[1:4]
files = []
for dirpath, dirnames, filenames in os.walk(tree):
    dirnames.sort()
    for name in sorted(dirnames + filenames):
        p = os.path.join(dirpath, name)
        rel = "/" + os.path.relpath(p, tree)
        st = os.lstat(p)
        e = {"path": rel, "mode": stat.S_IMODE(st.st_mode)}
        if stat.S_ISLNK(st.st_mode):
            e.update(type="symlink", target=os.readlink(p), size=len(os.readlink(p).encode()))
        elif stat.S_ISDIR(st.st_mode):
            e.update(type="dir")
        else:
            data = open(p, "rb").read()
            e.update(type="file", size=len(data), sha256=hashlib.sha256(data).hexdigest())
        files.append(e)
files.sort(key=lambda e: e["path"])
ext = dict(uuid="5f1b3c8e-2d4a-4e6b-9c1d-0123456789ab")
images = [
    dict(name="ext4", fs="ext4", label="ic-ext4", **ext),
    dict(name="ext4-nocsum", fs="ext4", label="ic-ext4-nocsum", **ext),
    dict(name="ext4-1k", fs="ext4", label="ic-ext4-1k", **ext),
    dict(name="ext4-inline", fs="ext4", label="ic-ext4-inline", **ext),
    dict(name="ext3", fs="ext3", label="ic-ext3", **ext),
    dict(name="ext3-dirty", fs="ext3", label="ic-ext3", **ext),
    dict(name="ext2", fs="ext2", label="ic-ext2", **ext),
    dict(name="fat12", fs="fat12", label="IC-FAT12", uuid="12AB-34CD"),
    dict(name="fat16", fs="fat16", label="IC-FAT16", uuid="23BC-45DE"),
    dict(name="fat32", fs="fat32", label="IC-FAT32", uuid="34CD-56EF"),
    dict(name="ntfs", fs="ntfs", label="IC-NTFS", uuid="0123456789ABCDEF"),
    dict(name="swap", fs="swap", label="ic-swap", uuid="0c7e1f2a-3b4c-4d5e-8f60-718293a4b5c6"),
    dict(name="luks2", fs="luks2", label=None, uuid="1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6"),
]
for i in images:
    i["file"] = "images/%s.img.gz" % i["name"]
    i["image_bytes"] = os.path.getsize(os.path.join(img, i["name"] + ".img"))
json.dump(dict(comment="generated by scripts/make-fs-fixtures.sh; do not edit",
               immutable_on_ext=["/secret.txt"],
               tool_bugs={"ext4-inline": {"/sparse.bin": "mke2fs -d with inline_data shortens it; "
                                          "see listings/ext4-inline.sparse.sha256.txt"}}, images=images, files=files),
          open(out, "w"), indent=1, ensure_ascii=False)
open(out, "a").write("\n")
EOF

# ---- install into OUTDIR ------------------------------------------------------------------------
mkdir -p "$OUT/images" "$OUT/listings"
for f in "$IMG"/*.img; do gzip -9n -c "$f" >"$OUT/images/$(basename "$f").gz"; done
cp "$LST"/*.txt "$OUT/listings/"
cp "$WORK/manifest.json" "$OUT/manifest.json"
du -cb "$OUT"/images/*.gz | tail -1
