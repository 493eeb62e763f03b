#!/usr/bin/env bash
# Build the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the committed fixtures.
#
# usage: scripts/make-fuzz-corpus.sh [OUTDIR]      (default: fuzz/corpus)
#        scripts/make-fuzz-corpus.sh --xfs-btrfs-only [OUTDIR]   (only OUTDIR/xfs and OUTDIR/btrfs)
#
# Every seed is at most 64 KiB and all corpora together stay under 3.25 MiB (checked at the end),
# so they can be committed and replayed by `cargo test -p imgcheck-fuzzing` in seconds.
# Seeds come from three sources:
#   - crops of the committed fixtures (testdata/containers, testdata/fs; .gz decompressed): the
#     headers and metadata of formats whose smallest valid image is larger than 64 KiB
#     (VHDX, qcow2 with extended L2, monolithicSparse VMDK, NTFS, the 16 MiB GPT/MBR disks);
#   - tiny, valid images built here from testdata/fs/tree and a phony guest tree, with the same
#     tools as the fixtures (mke2fs -d, mkfs.fat + mcopy, sfdisk, qemu-img), so that the fuzzers
#     start from inputs that reach every layer (container → table → filesystem → guest);
#   - hand-made edge cases (empty, truncated, huge sizes, loops), written by the Python below;
#   - sparse images (crates/fuzzing/src/sparse.rs) of the XFS and Btrfs fixtures (hundreds of
#     MiB each), holding only the blocks the `xfs`/`btrfs` targets' walk reads: the seed maker
#     `cargo run -p imgcheck-fuzzing --example sparse_seed` traces the walk on the real image and
#     drops every block the walk does not need (and walks fewer entries when the rest exceeds
#     the seed's budget).
# Container seeds named <stem>.<format> decode to <stem>.raw (tests/replay.rs checks it); each
# one is verified here against `qemu-img convert -O raw` too.
#
# Needs (Debian packages): e2fsprogs dosfstools mtools fdisk (sfdisk) qemu-utils python3 gzip cpio
# zstd, and cargo.
# Deterministic: fixed UUIDs, serials, label ids, E2FSPROGS_FAKE_TIME, SOURCE_DATE_EPOCH, mtimes;
# VHDs are written by the Python below (qemu-img stamps a time and a random UUID into them).
# Formats whose smallest image exceeds 64 KiB get header crops only: VHDX (fixed 1 MiB header
# region), streamOptimized/monolithicSparse VMDK (64 KiB grains), qcow2 with extended L2.
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC
export E2FSPROGS_FAKE_TIME=1700000000 SOURCE_DATE_EPOCH=1700000000 MTOOLS_SKIP_CHECK=1
PATH=$PATH:/usr/sbin:/sbin

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ONLY_SPARSE=0
KIB64=65536
if [[ ${1:-} == --xfs-btrfs-only ]]; then
    ONLY_SPARSE=1
    shift
fi
OUT=${1:-$ROOT/fuzz/corpus}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for tool in mke2fs e2fsck debugfs dumpe2fs mkfs.fat mcopy sfdisk qemu-img python3 gzip cpio cmp; do
    command -v "$tool" >/dev/null || { echo "make-fuzz-corpus: $tool missing" >&2; exit 1; }
done

# ---- XFS and Btrfs: sparse images of the fixtures ----------------------------------------------
# seed TARGET IMAGE NAME [ARGS]: the sparse seed of IMAGE (decompressed into $WORK) as
# $OUT/TARGET/NAME. The budget (52 KiB a seed, 10 seeds) keeps these corpora under 600 KiB.
sparse_seeds() {
    command -v zstd >/dev/null || { echo "make-fuzz-corpus: zstd missing" >&2; exit 1; }
    local maker
    (cd "$ROOT" && cargo build -q --release -p imgcheck-fuzzing --example sparse_seed)
    maker=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/sparse_seed
    mkdir -p "$OUT/xfs" "$OUT/btrfs"
    rm -f "$OUT/xfs/"* "$OUT/btrfs/"*
    local x
    for x in xfs-v5 xfs-v4 xfs-v4-dirty; do
        gzip -dc "$ROOT/testdata/xfs/$x.img.gz" >"$WORK/$x.img"
    done
    for x in plain zlib lzo zstd suse fedora; do
        zstd -dqf "$ROOT/testdata/btrfs/images/$x.img.zst" -o "$WORK/btrfs-$x.img"
    done
    local b=53248
    "$maker" xfs "$WORK/xfs-v5.img" "$OUT/xfs/v5-files" --max $b
    "$maker" xfs "$WORK/xfs-v5.img" "$OUT/xfs/v5-meta" --no-data --max $b
    "$maker" xfs "$WORK/xfs-v4.img" "$OUT/xfs/v4-meta" --no-data --max $b
    "$maker" xfs "$WORK/xfs-v4-dirty.img" "$OUT/xfs/v4-dirty-files" --max $b
    "$maker" btrfs "$WORK/btrfs-plain.img" "$OUT/btrfs/plain-meta" --no-data --max $b
    "$maker" btrfs "$WORK/btrfs-zlib.img" "$OUT/btrfs/zlib-files" --max $b
    "$maker" btrfs "$WORK/btrfs-lzo.img" "$OUT/btrfs/lzo-files" --max $b
    "$maker" btrfs "$WORK/btrfs-zstd.img" "$OUT/btrfs/zstd-files" --max $b
    "$maker" btrfs "$WORK/btrfs-suse.img" "$OUT/btrfs/suse-files" --max $b
    "$maker" btrfs "$WORK/btrfs-fedora.img" "$OUT/btrfs/fedora-files" --max $b
    rm -f "$WORK/"*.img
}

# check_limits: every seed at most 64 KiB, all corpora together at most 3.25 MiB.
check_limits() {
    local too_big total
    too_big=$(find "$OUT" -type f -size +${KIB64}c)
    [[ -z $too_big ]] || { echo "make-fuzz-corpus: seeds over 64 KiB: $too_big" >&2; exit 1; }
    total=$(find "$OUT" -type f -printf '%s\n' | awk '{ t += $1 } END { print t + 0 }')
    ((total <= 3328 * 1024)) || { echo "make-fuzz-corpus: corpora total $total bytes > 3.25 MiB" >&2; exit 1; }
    echo "make-fuzz-corpus: $(find "$OUT" -type f | wc -l) seeds, $total bytes in $OUT"
}

if ((ONLY_SPARSE)); then
    sparse_seeds
    check_limits
    exit 0
fi

rm -rf "$OUT"
for t in container partition_table lvm md filesystem xfs btrfs initramfs fstab os_release elf \
    kconfig bootloader network packages system regf pipeline; do
    mkdir -p "$OUT/$t"
done

KIB64=65536
# crop SRC DST [BYTES]: the first BYTES (default 64 KiB) of SRC (gunzipped when .gz).
crop() {
    local n=${3:-$KIB64}
    if [[ $1 == *.gz ]]; then
        { gzip -dc "$1" || true; } | head -c "$n" >"$2"
    else
        head -c "$n" "$1" >"$2"
    fi
}
# cropat SRC.gz DST OFFSET [BYTES]: BYTES (default 64 KiB) from OFFSET of a gzipped fixture.
cropat() {
    python3 - "$@" <<'EOF'
import gzip, sys
src, dst, off = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = int(sys.argv[4]) if len(sys.argv) > 4 else 65536
d = gzip.open(src).read()
if off < 0:
    off += len(d)
open(dst, "wb").write(d[off:off + n])
EOF
}
stamp() { find "$1" -exec touch -h -d @1700000000 {} +; }
UUID=11111111-2222-3333-4444-555555555555

# ---- trees -------------------------------------------------------------------------------------
# A subset of the filesystem fixtures' tree (lorem.txt is too large for a 64 KiB image) + a link.
FSTREE=$WORK/fstree
mkdir -p "$FSTREE/docs"
cp -a "$ROOT/testdata/fs/tree/"{hello.txt,script.sh,unicode,deep} "$FSTREE/"
cp "$ROOT/testdata/fs/tree/docs/"{MixedCase.TXT,readme.md} "$FSTREE/docs/"
ln -s hello.txt "$FSTREE/link"
ln -s ../deep/a/b "$FSTREE/docs/up"
stamp "$FSTREE"

# A phony Debian guest: what the inspection layer reads (os-release, fstab, hostname, an ELF
# /bin/sh, a kernel with its config, initramfs and modules directory, GRUB and network config).
GUEST=$WORK/guest
mkdir -p "$GUEST"/{etc/network,etc/netplan,etc/default,bin,boot/grub,boot/loader/entries,lib/modules/6.1.0-13-amd64}
cat >"$GUEST/etc/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
HOME_URL="https://www.debian.org/"
EOF
printf 'tiny\n' >"$GUEST/etc/hostname"
printf '12.2\n' >"$GUEST/etc/debian_version"
cat >"$GUEST/etc/network/interfaces" <<'EOF'
auto lo
iface lo inet loopback
auto eth0
iface eth0 inet dhcp
EOF
cat >"$GUEST/etc/netplan/50-cloud-init.yaml" <<'EOF'
network:
  version: 2
  ethernets:
    eth0:
      dhcp4: true
      match:
        macaddress: "52:54:00:12:34:56"
EOF
printf 'GRUB_CMDLINE_LINUX_DEFAULT="quiet console=ttyS0"\nGRUB_TIMEOUT=5\n' >"$GUEST/etc/default/grub"
cat >"$GUEST/boot/grub/grub.cfg" <<'EOF'
set default=0
set timeout=5
menuentry 'Debian GNU/Linux' --class debian {
	insmod part_msdos
	search --no-floppy --fs-uuid --set=root 1234-5678
	linux /boot/vmlinuz-6.1.0-13-amd64 root=LABEL=GUEST ro console=ttyS0
	initrd /boot/initrd.img-6.1.0-13-amd64
}
EOF
cat >"$GUEST/boot/loader/entries/debian.conf" <<'EOF'
title Debian GNU/Linux
version 6.1.0-13-amd64
linux /boot/vmlinuz-6.1.0-13-amd64
initrd /boot/initrd.img-6.1.0-13-amd64
options root=LABEL=GUEST ro
EOF
printf 'CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=y\nCONFIG_EXT4_FS=y\n# CONFIG_XEN is not set\n' \
    >"$GUEST/boot/config-6.1.0-13-amd64"
# A bzImage is not ELF; a few bytes with the boot-protocol magic "HdrS" at 0x202 suffice.
python3 - "$GUEST/boot/vmlinuz-6.1.0-13-amd64" <<'EOF'
import sys
b = bytearray(1024)
b[0x1fe:0x200] = b"\x55\xaa"
b[0x202:0x206] = b"HdrS"
open(sys.argv[1], "wb").write(bytes(b))
EOF
# An initramfs: a gzip'd newc cpio holding one module and the module list.
INITRD=$WORK/initrd
mkdir -p "$INITRD/usr/lib/modules/6.1.0-13-amd64/kernel/drivers/block"
printf 'virtio_blk\n' >"$INITRD/usr/lib/modules/6.1.0-13-amd64/modules.order"
printf '\177ELF-not-really' >"$INITRD/usr/lib/modules/6.1.0-13-amd64/kernel/drivers/block/virtio_blk.ko"
stamp "$INITRD"
(cd "$INITRD" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible | gzip -9n) \
    >"$GUEST/boot/initrd.img-6.1.0-13-amd64"
# /bin/sh: a 64-byte x86_64 ELF header (the inspection reads e_machine).
python3 - "$GUEST/bin/sh" <<'EOF'
import struct, sys
h = bytearray(64)
h[0:4] = b"\x7fELF"; h[4] = 2; h[5] = 1; h[6] = 1
struct.pack_into("<HHI", h, 16, 3, 62, 1)
open(sys.argv[1], "wb").write(bytes(h))
EOF
# fstab: the root by label, the rest pseudo or network filesystems (resolved as not a device).
FSTAB_LINES='LABEL=GUEST / auto defaults 0 1
proc /proc proc defaults 0 0
server:/export /mnt/nfs nfs defaults,nofail 0 0
/dev/sdb1 /data ext4 defaults 0 2'
printf '%s\n' "$FSTAB_LINES" >"$GUEST/etc/fstab"
stamp "$GUEST"

# ---- tiny filesystems --------------------------------------------------------------------------
# mkext TYPE SIZE TREE IMG [extra mke2fs options]
mkext() {
    local type=$1 size=$2 tree=$3 img=$4
    shift 4
    rm -f "$img"
    truncate -s "$size" "$img"
    mke2fs -q -F -t "$type" -b 1024 -m 0 -U "$UUID" -L GUEST \
        -E "hash_seed=$UUID,root_owner=0:0" -d "$tree" "$@" "$img" 2>&1 |
        grep -v '128-byte inodes cannot handle dates' || true
    # mke2fs -d copies each source file's ctime and atime (both "now": reading the tree updates
    # atime): pin them, and their nanosecond fields on large inodes.
    local p f fields="ctime atime"
    [[ $(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Inode size:[[:space:]]*//p') -gt 128 ]] &&
        fields="$fields ctime_extra atime_extra"
    {
        for p in / /lost+found $(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort | sed 's|^\.||; s| |\x01|g'); do
            for f in $fields; do
                [[ $f == *_extra ]] && v=0 || v=0x6553f100
                printf 'sif "%s" %s %s\n' "${p//$'\x01'/ }" "$f" "$v"
            done
        done
    } >"$WORK/ctime.cmds"
    debugfs -w -f "$WORK/ctime.cmds" "$img" >/dev/null 2>&1
    e2fsck -fn "$img" >/dev/null 2>&1
}
# mkfat SIZE_KIB TREE IMG: FAT12 with 512-byte clusters, one FAT, 16 root entries.
mkfat() {
    rm -f "$3"
    mkfs.fat --invariant -F 12 -s 1 -f 1 -r 16 -i 12345678 -n GUEST -C "$3" "$1" >/dev/null
    local items=()
    for f in "$2"/*; do items+=("$f"); done
    mcopy -s -m -Q -i "$3" "${items[@]}" ::/ 2>&1 | { grep -v "skipping directory symlink" || true; } >&2
}
FS=$OUT/filesystem
mkext ext2 64K "$FSTREE" "$FS/ext2-tiny.img" -N 32 -O ^resize_inode
mkext ext4 64K "$FSTREE" "$FS/ext4-tiny.img" -N 32 -O ^has_journal,^resize_inode
mkext ext4 64K "$FSTREE" "$FS/ext4-inline-tiny.img" -N 32 -I 256 -O ^has_journal,^resize_inode,inline_data
mkfat 40 "$FSTREE" "$FS/fat12-tiny.img"
# Crops: superblocks, group descriptors, boot sectors, the first MFT records, a swap header, LUKS2.
for f in ext3 ext4 ext4-1k fat16 fat32 ntfs swap luks2; do
    crop "$ROOT/testdata/fs/images/$f.img.gz" "$FS/$f-crop64k.img"
done

# ---- guests for the pipeline -------------------------------------------------------------------
P=$OUT/pipeline
# An MBR disk: sector 0, a 1 KiB gap, then a FAT12 partition holding the guest.
mkfat 48 "$GUEST" "$WORK/guest-fat.img"
truncate -s $((1024 + 48 * 1024)) "$P/mbr-fat-guest.raw"
sfdisk -q "$P/mbr-fat-guest.raw" <<'EOF'
label: dos
label-id: 0x12345678
start=2, size=96, type=c, bootable
EOF
dd if="$WORK/guest-fat.img" of="$P/mbr-fat-guest.raw" bs=1024 seek=1 conv=notrunc status=none
# A GPT disk with a 4-entry table (1 entry sector): 5 sectors of overhead, then FAT12.
truncate -s $((3 * 512 + 48 * 1024 + 2 * 512)) "$P/gpt-fat-guest.raw"
sfdisk -q "$P/gpt-fat-guest.raw" <<EOF
label: gpt
label-id: 01234567-89AB-CDEF-0123-456789ABCDEF
table-length: 4
first-lba: 3
start=3, size=96, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$UUID, name="root"
EOF
dd if="$WORK/guest-fat.img" of="$P/gpt-fat-guest.raw" bs=512 seek=3 conv=notrunc status=none
# An MBR disk with an ext2 root (symlinks, merged /usr).
GUEST2=$WORK/guest2
cp -a "$GUEST" "$GUEST2"
mkdir -p "$GUEST2/usr"
mv "$GUEST2/bin" "$GUEST2/usr/bin"
ln -s usr/bin "$GUEST2/bin"
ln -s ../usr/lib/os-release-link "$GUEST2/etc/loop-a"
ln -s ../etc/loop-a "$GUEST2/usr/lib-loop"
sed -i 's/^LABEL=GUEST \/ auto/UUID=11111111-2222-3333-4444-555555555555 \/ ext2/' "$GUEST2/etc/fstab"
rm -f "$GUEST2/boot/initrd.img-6.1.0-13-amd64"
stamp "$GUEST2"
mkext ext2 62K "$GUEST2" "$WORK/guest-ext2.img" -N 40 -I 128 -O ^resize_inode,^dir_index
truncate -s $((1024 + 62 * 1024)) "$P/mbr-ext2-guest.raw"
sfdisk -q "$P/mbr-ext2-guest.raw" <<'EOF'
label: dos
label-id: 0x0badcafe
start=2, size=124, type=83
EOF
dd if="$WORK/guest-ext2.img" of="$P/mbr-ext2-guest.raw" bs=1024 seek=1 conv=notrunc status=none

# ---- containers of one tiny disk ---------------------------------------------------------------
C=$OUT/container
DISK=$C/disk.raw
cp "$P/mbr-fat-guest.raw" "$DISK"
qemu-img convert -q -f raw -O qcow2 -o cluster_size=512 "$DISK" "$C/disk.qcow2"
qemu-img convert -q -f raw -O qcow2 -o cluster_size=512,compat=0.10 "$DISK" "$C/disk-v2.qcow2"
qemu-img convert -q -f raw -O qcow2 -c -o cluster_size=4096 "$DISK" "$C/disk-zlib.qcow2"
qemu-img convert -q -f raw -O qcow2 -c -o cluster_size=4096,compression_type=zstd "$DISK" \
    "$C/disk-zstd.qcow2"
# VHDs written here (qemu-img stamps the time and a random UUID): fixed, and dynamic with
# 4 KiB blocks (qemu-img always uses 2 MiB blocks, far over the seed size).
python3 - "$DISK" "$C/disk-fixed.vhd" "$C/disk-dyn4k.vhd" <<'EOF'
import struct, sys
raw = open(sys.argv[1], "rb").read()
size = len(raw)
def footer(disk_type, data_offset):
    f = bytearray(512)
    f[0:8] = b"conectix"
    struct.pack_into(">IIQI", f, 8, 2, 0x00010000, data_offset, 0x2A3B4C5D)
    f[28:32] = b"qem2"                          # qemu then trusts current_size, not CHS
    struct.pack_into(">I", f, 32, 0x00050003)
    f[36:40] = b"Wi2k"
    struct.pack_into(">QQ", f, 40, size, size)
    struct.pack_into(">HBB", f, 56, 1, 16, 63)   # CHS geometry (not used for the size)
    struct.pack_into(">I", f, 60, disk_type)
    f[68:84] = bytes(range(1, 17))               # unique id
    struct.pack_into(">I", f, 64, (~sum(f)) & 0xFFFFFFFF)
    return bytes(f)
open(sys.argv[2], "wb").write(raw + footer(2, 0xFFFFFFFFFFFFFFFF))
# Dynamic: footer copy | dynamic header (1024) | BAT (512) | blocks (bitmap sector + 4 KiB) | footer
bs = 4096
n = (size + bs - 1) // bs
bat_off = 512 + 1024
bat = bytearray(((n * 4 + 511) // 512) * 512)
for i in range(len(bat) // 4):
    struct.pack_into(">I", bat, i * 4, 0xFFFFFFFF)
blocks = bytearray()
next_sector = (bat_off + len(bat)) // 512
for i in range(n):
    chunk = raw[i * bs:(i + 1) * bs].ljust(bs, b"\0")
    if not any(chunk):
        continue                                   # unallocated: reads as zeros
    struct.pack_into(">I", bat, i * 4, next_sector)
    blocks += b"\xff" * 512 + chunk
    next_sector += 1 + bs // 512
dh = bytearray(1024)
dh[0:8] = b"cxsparse"
struct.pack_into(">QQIIII", dh, 8, 0xFFFFFFFFFFFFFFFF, bat_off, 0x00010000, n, bs, 0)
struct.pack_into(">I", dh, 36, (~sum(dh)) & 0xFFFFFFFF)
ft = footer(3, 512)
open(sys.argv[3], "wb").write(ft + bytes(dh) + bytes(bat) + bytes(blocks) + ft)
EOF
# Independent check: qemu decodes every container seed to the raw disk (VHDs may be padded to
# a CHS size by qemu; compare the raw length only).
for img in "$C"/disk.qcow2 "$C"/disk-*.qcow2 "$C"/disk-*.vhd; do
    case $img in
        *.qcow2) fmt=qcow2 ;; *.vhd) fmt=vpc ;;
    esac
    qemu-img convert -q -f "$fmt" -O raw "$img" "$WORK/check.raw"
    cmp -n "$(stat -c %s "$DISK")" "$DISK" "$WORK/check.raw" ||
        { echo "make-fuzz-corpus: qemu-img decodes $img differently" >&2; exit 1; }
done
# Crops of the fixtures: headers and first tables of every format and variant.
for f in gpt-qcow2-c2m-el2.qcow2 gpt-qcow2-overlay.qcow2 gpt-vhdx-dynamic.vhdx gpt-vhdx-fixed.vhdx \
    gpt4k-vhdx-dynamic.vhdx gpt-vmdk-sparse.vmdk gpt-vmdk-2gbsparse.vmdk gpt-vmdk-flat.vmdk \
    gpt-vmdk-stream.vmdk \
    gpt-vhd-dynamic.vhd; do
    crop "$ROOT/testdata/containers/$f.gz" "$C/crop-$f"
done

# ---- partition tables --------------------------------------------------------------------------
T=$OUT/partition_table
cp "$P/mbr-fat-guest.raw" "$P/gpt-fat-guest.raw" "$T/"
# 64 KiB GPT with three partitions (names, attributes) and a full 128-entry table.
truncate -s 64K "$T/gpt-3parts.raw"
sfdisk -q "$T/gpt-3parts.raw" <<EOF
label: gpt
label-id: 01234567-89AB-CDEF-0123-456789ABCDEF
start=34, size=8, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$UUID, name="EFI System"
start=42, size=16, type=21686148-6449-6E6F-744E-656564454649, uuid=22222222-2222-3333-4444-555555555555, name="bios", attrs="LegacyBIOSBootable"
start=58, size=30, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=33333333-2222-3333-4444-555555555555, name="root"
EOF
# 64 KiB MBR with an extended partition and two logical ones (an EBR chain).
truncate -s 64K "$T/mbr-logical.raw"
sfdisk -q "$T/mbr-logical.raw" <<'EOF'
label: dos
label-id: 0xdeadbeef
start=1, size=20, type=83, bootable
start=21, size=100, type=5
start=23, size=30, type=82
start=55, size=60, type=8e
EOF
# Crops of the fixture disks (16 MiB: the backup GPT is cut off) and of 4 KiB-sector GPT.
crop "$ROOT/testdata/containers/gpt.raw.gz" "$T/crop-gpt.raw"
crop "$ROOT/testdata/containers/gpt4k.raw.gz" "$T/crop-gpt4k.raw"
crop "$ROOT/testdata/containers/mbr.raw.gz" "$T/crop-mbr.raw"
crop "$ROOT/testdata/fs/images/fat16.img.gz" "$T/superfloppy-fat16.raw" 4096

# ---- LVM and md ---------------------------------------------------------------------------------
L=$ROOT/testdata/lvm
# PV label (sector 1), metadata area header and text; the LVs' extents lie past the crop.
crop "$L/lvm-missing.img.gz" "$OUT/lvm/pv-whole-crop64k.img"
cropat "$L/lvm-gpt.img.gz" "$OUT/lvm/pv-in-gpt-crop64k.img" 1048576
cropat "$L/lvm-mbr.img.gz" "$OUT/lvm/pv-in-mbr-crop64k.img" 1048576
# md v1.2 superblocks sit 4 KiB in; v0.90 ones in the last 64 KiB-aligned 64 KiB of the member.
crop "$L/md-raid1-1.2-a.img.gz" "$OUT/md/raid1-1.2-crop64k.img"
crop "$L/md-raid5-1.2-a.img.gz" "$OUT/md/raid5-1.2-crop64k.img"
cropat "$L/md-raid1-0.90-a.img.gz" "$OUT/md/raid1-0.90-tail64k.img" -65536

# ---- initramfs: the guest's, uncompressed, with each compressor, and an early-cpio pair -----------
I=$OUT/initramfs
(cd "$INITRD" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible) >"$I/newc.cpio"
(cd "$INITRD" && find . | LC_ALL=C sort | cpio --quiet -o -H odc --reproducible) >"$I/odc.cpio"
gzip -9n <"$I/newc.cpio" >"$I/newc.cpio.gz"
for z in xz zstd lz4 bzip2; do
    if command -v "$z" >/dev/null; then
        case $z in
            xz) xz -9 --check=crc32 <"$I/newc.cpio" >"$I/newc.cpio.xz" ;;
            zstd) zstd -q -19 <"$I/newc.cpio" >"$I/newc.cpio.zst" ;;
            lz4) lz4 -q -l -9 <"$I/newc.cpio" >"$I/newc.cpio.lz4" ;;
            bzip2) bzip2 -9 <"$I/newc.cpio" >"$I/newc.cpio.bz2" ;;
        esac
    fi
done
# Early microcode-style: an uncompressed cpio followed by a compressed one.
cat "$I/newc.cpio" "$I/newc.cpio.gz" >"$I/early-plus-gz.cpio"

# ---- hand-made edge cases ----------------------------------------------------------------------
python3 - "$OUT" <<'EOF'
import struct, sys, os
out = sys.argv[1]
def w(target, name, data):
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)

# Containers.
w("container", "empty", b"")
w("container", "one-byte", b"\x00")
# qcow2 v3 header claiming an exabyte disk, 512-byte clusters and an L1 table past the file.
q = bytearray(512)
struct.pack_into(">IIQIIQIIQQIIQ", q, 0, 0x514649FB, 3, 0, 0, 9, 1 << 60, 0, 1 << 30, 1 << 40,
                 512, 1, 0, 0)
struct.pack_into(">QQQII", q, 72, 0, 0, 0, 4, 104)
w("container", "qcow2-huge.qcow2", bytes(q))
# qcow2 with a backing file name (not followed: zeros with an anomaly).
q2 = bytearray(q)
struct.pack_into(">Q", q2, 24, 1 << 20)           # size 1 MiB
struct.pack_into(">QI", q2, 8, 200, 9)            # backing_file_offset, backing_file_size
q2[200:209] = b"../etc/pw"
w("container", "qcow2-backing.qcow2", bytes(q2))
# A VHD footer with a bad checksum, alone.
f = bytearray(512); f[0:8] = b"conectix"; struct.pack_into(">Q", f, 48, 1 << 62)
w("container", "vhd-footer-only.vhd", bytes(f))
# A VMDK descriptor naming extents that cannot be opened (detached: none can).
w("container", "vmdk-descriptor.vmdk", b"# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
  b"parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 4294967295 FLAT \"../../x\" 0\n"
  b"RW 1 SPARSE \"a.vmdk\"\nRW 0 ZERO\n")
# A VHDX file identifier with nothing else.
w("container", "vhdx-ident.vhdx", b"vhdxfile" + bytes(504))

# Partition tables.
w("partition_table", "empty", b"")
w("partition_table", "sector-511", bytes(511))
# An MBR whose extended partition's EBR links to itself (a loop).
m = bytearray(4096)
m[510:512] = b"\x55\xaa"
struct.pack_into("<B3sB3sII", m, 446, 0, b"\0\0\0", 0x05, b"\0\0\0", 2, 6)
m[1024 + 510:1024 + 512] = b"\x55\xaa"
struct.pack_into("<B3sB3sII", m, 1024 + 446, 0, b"\0\0\0", 0x83, b"\0\0\0", 1, 2)
struct.pack_into("<B3sB3sII", m, 1024 + 462, 0, b"\0\0\0", 0x05, b"\0\0\0", 0, 6)
w("partition_table", "mbr-ebr-loop.raw", bytes(m))
# A protective MBR and a GPT header whose entry array is huge and far away.
g = bytearray(8192)
g[510:512] = b"\x55\xaa"
struct.pack_into("<B3sB3sII", g, 446, 0, b"\0\0\0", 0xEE, b"\0\0\0", 1, 0xFFFFFFFF)
g[512:520] = b"EFI PART"
struct.pack_into("<IIIIQQQQ16sQIII", g, 520, 0x00010000, 92, 0, 0, 1, 1 << 40, 34, 1 << 40,
                 bytes(16), 1 << 50, 0xFFFFFFFF, 4096, 0)
w("partition_table", "gpt-huge-array.raw", bytes(g))

# fstab.
w("fstab", "debian", b"# /etc/fstab: static file system information.\n"
  b"UUID=11111111-2222-3333-4444-555555555555 / ext4 errors=remount-ro 0 1\n"
  b"UUID=ABCD-1234 /boot/efi vfat umask=0077 0 1\n/swapfile none swap sw 0 0\n"
  b"/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0\n")
w("fstab", "rhel-lvm", b"/dev/mapper/rhel-root / xfs defaults 0 0\n"
  b"/dev/mapper/vg--data-lv--x /data xfs defaults,nofail 0 0\n/dev/rhel/swap none swap defaults 0 0\n"
  b"PARTUUID=12345678-01 /boot xfs defaults 0 0\nPARTLABEL=esp /boot/efi vfat defaults 0 2\n"
  b"LABEL=data\\040disk /mnt/with\\040space ext4 defaults 0 2\n")
w("fstab", "edge", b"\n   \n#only comment\nonly-one-field\na b\n/dev/vda1 / ext4\n"
  b"/dev/nvme0n1p2 /x ext4 defaults 99999999999999999999 -1\n"
  b"//host/share /mnt/smb cifs credentials=/x 0 0\n\\777\\0 \\1234 \\\\ \\ \n"
  b"/dev/disk/by-uuid/abc /y btrfs subvol=@,compress=zstd 0 0\n\xff\xfe\x00 /z \xc3( 0 0\n")

# os-release.
w("os_release", "debian", b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
  b"VERSION_ID=\"12\"\nID=debian\n")
w("os_release", "rhel", b"NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.3 (Plow)\"\nID=\"rhel\"\n"
  b"ID_LIKE=\"fedora\"\nVERSION_ID=\"9.3\"\nPLATFORM_ID=\"platform:el9\"\n")
w("os_release", "edge", b"# comment\n\n=novalue\nKEY\nA='single'\nB=\"esc \\\" \\\\ \\$ \\` x\"\n"
  b"C=\"unterminated\nD=\"\\\"\nbad-key=1\n  SPACED = \" v \" \nE=\xff\xfe\nF=\"\"\nG='\n")

# ELF headers: every class/endianness and the machines the parser names, plus truncations.
def elf(cls, data, machine, n=64):
    h = bytearray(64)
    h[0:4] = b"\x7fELF"; h[4] = cls; h[5] = data; h[6] = 1
    h[18:20] = machine.to_bytes(2, "little" if data == 1 else "big")
    return bytes(h[:n])
for name, cls, data, m in [("x86_64", 2, 1, 62), ("i386", 1, 1, 3), ("aarch64", 2, 1, 183),
                           ("arm", 1, 1, 40), ("ppc64le", 2, 1, 21), ("ppc64be", 2, 2, 21),
                           ("s390x", 2, 2, 22), ("riscv64", 2, 1, 243), ("loongarch64", 2, 1, 258),
                           ("unknown", 2, 1, 0xFFFF)]:
    w("elf", name, elf(cls, data, m))
w("elf", "truncated-19", elf(2, 1, 62, 19))
w("elf", "truncated-4", b"\x7fELF")
w("elf", "not-elf", b"MZ\x90\x00" + bytes(60))
EOF

# ---- configuration texts ------------------------------------------------------------------------
K=$OUT/kconfig
cp "$GUEST/boot/config-6.1.0-13-amd64" "$K/config"
printf 'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\nkernel/fs/xfs/xfs.ko:\n' >"$K/modules.dep"
printf 'kernel/drivers/virtio/virtio.ko\nkernel/fs/ext4/ext4.ko\n' >"$K/modules.builtin"
printf 'CONFIG_LOCALVERSION="-x"\nCONFIG_NR_CPUS=64\nCONFIG_=y\n# CONFIG_ is not set\nCONFIG_X\n=m\n' >"$K/edge"
B=$OUT/bootloader
cp "$GUEST/boot/grub/grub.cfg" "$B/grub.cfg"
cp "$GUEST/boot/loader/entries/debian.conf" "$B/bls.conf"
cp "$GUEST/etc/default/grub" "$B/default-grub"
cat >"$B/grub-submenu.cfg" <<'EOF'
set default="1>2"
if [ -s $prefix/grubenv ]; then load_env; fi
menuentry 'Ubuntu' --class ubuntu $menuentry_id_option 'gnulinux-simple-x' {
	linux	/vmlinuz-6.8.0-31-generic root=UUID=x ro
	initrd	/initrd.img-6.8.0-31-generic
}
submenu 'Advanced options' $menuentry_id_option 'gnulinux-advanced-x' {
	menuentry 'Ubuntu, with Linux 6.8.0-31-generic' {
		linux /vmlinuz-6.8.0-31-generic root=UUID=x ro
	}
	menuentry "quoted \"title\" {" {
		linux16 /boot/vmlinuz-5.14.0-362.el9.x86_64 ro
	}
	submenu 'nested' { menuentry 'deep' { linuxefi /k } }
}
blscfg
EOF
printf '# GRUB Environment Block\nsaved_entry=gnulinux-simple-x\nkernelopts=root=/dev/mapper/rhel-root ro\n' >"$B/grubenv"
printf 'default=0\ntimeout=5\ntitle CentOS (2.6.32-754.el6.x86_64)\n\troot (hd0,0)\n\tkernel /vmlinuz-2.6.32-754.el6.x86_64 ro root=/dev/sda1\n\tinitrd /initramfs-2.6.32-754.el6.x86_64.img\n' >"$B/menu.lst"
N=$OUT/network
cp "$GUEST/etc/network/interfaces" "$N/interfaces"
cp "$GUEST/etc/netplan/50-cloud-init.yaml" "$N/netplan.yaml"
printf 'DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\nHWADDR=52:54:00:12:34:56\nTYPE=Ethernet\n' >"$N/ifcfg-eth0"
printf '[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n[ipv4]\nmethod=auto\n' >"$N/nm-keyfile"
printf '[Match]\nName=en*\n[Network]\nDHCP=yes\n' >"$N/networkd.network"
printf 'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n' >"$N/70-persistent-net.rules"
cat >"$N/cloud.cfg" <<'EOF'
datasource_list: [ NoCloud, Ec2, None ]
disable_root: true
network: {config: disabled}
cloud_init_modules:
  - growpart
  - resizefs
users:
  - default
  - name: "x"
    sudo: ['ALL=(ALL) NOPASSWD:ALL']
EOF
PK=$OUT/packages
printf 'Package: linux-image-6.1.0-13-amd64\nStatus: install ok installed\nVersion: 6.1.55-1\nArchitecture: amd64\n\nPackage: cloud-init\nStatus: deinstall ok config-files\nVersion: 23.1\n' >"$PK/dpkg-status"
S=$OUT/system
printf 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n' >"$S/passwd"
printf 'root:!*:19000:0:99999:7:::\n' >"$S/shadow"
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nMatch User x\n  PasswordAuthentication yes\nInclude /etc/ssh/sshd_config.d/*.conf\n' >"$S/sshd_config"
printf '0.0 0 0.0\n0\nLOCAL\n' >"$S/adjtime"

# ---- registry hives: the small committed hives (made by scripts/make-hive-fixtures.sh) --------
for h in system software bcd; do
    gzip -dc "$ROOT/testdata/registry/$h.hive.gz" >"$OUT/regf/$h.hive"
done

# ---- text seeds from the guest tree -------------------------------------------------------------
cp "$GUEST/etc/fstab" "$OUT/fstab/guest"
cp "$GUEST/etc/os-release" "$OUT/os_release/guest"
cp "$GUEST/bin/sh" "$OUT/elf/guest-sh"

sparse_seeds

# ---- limits ------------------------------------------------------------------------------------
check_limits
