#!/usr/bin/env bash
# Build testdata/multiroot/dual-boot.qcow2: one disk holding two operating systems, a Linux guest
# and a Windows guest, to prove that `imgcheck inspect` reports every root it finds (issue 5:
# "several roots reported, not guessed away") and that `check` says which one it examined.
#
# The disk is put together, with sfdisk, dd and qemu-img only, from the committed phony guests:
#   MBR code    the first 440 bytes of testdata/sample/sample.qcow2 (GRUB's boot.img, which loads
#               core.img from LBA 2048 -- partition 1 below, where the sample has it too)
#   1  BIOS boot   1 MiB   the sample's partition 1 (GRUB core.img)
#   2  EFI System  6 MiB   the sample's partition 2 (FAT, the Linux ESP)
#   3  Linux      23 MiB   the sample's partition 3 (ext4 root of the Debian-12-like guest)
#   4  EFI System 33 MiB   testdata/windows/windows-good.qcow2's partition 1 (FAT32, Windows boot
#                          manager and BCD)
#   5  Basic data 28 MiB   windows-good's partition 2 (NTFS, the Windows Server 2022 system root)
# Every partition keeps its unique partition GUID, so the Linux fstab (by UUID) and the Windows
# BCD and MountedDevices (by partition GUID) still resolve. The disk GUID is new, so the BCD's
# disk GUID does not match this disk: that is the state of a disk two installers shared.
#
# Writes into OUTDIR (default testdata/multiroot):
#   dual-boot.qcow2         the disk (qcow2, zlib-compressed clusters)
#   dual-boot.sfdisk.json   sfdisk --json of the raw disk
#   dual-boot.raw.sha256    sha256 of the raw disk (what `qemu-img convert -O raw` yields)
#
# Needs (Debian packages): fdisk qemu-utils coreutils.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$here/testdata/multiroot}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
for tool in sfdisk qemu-img sha256sum dd; do
    command -v "$tool" >/dev/null || { echo "make-multiroot: $tool is missing" >&2; exit 1; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
qemu-img convert -q -f qcow2 -O raw "$here/testdata/sample/sample.qcow2" linux.raw
qemu-img convert -q -f qcow2 -O raw "$here/testdata/windows/windows-good.qcow2" windows.raw

# copy SRC START COUNT DEST_START: sectors of a source disk into the new disk.
copy() { dd if="$1" of=disk.raw bs=512 skip="$2" count="$3" seek="$4" conv=notrunc,sparse status=none; }
# Check a source partition is where this script expects it (the fixtures' own scripts decide).
expect() {
    local got; got=$(sfdisk -d "$1" | awk -v n="$1$2" '$1 == n { gsub(",", ""); print $4, $6 }')
    [ "$got" = "$3 $4" ] || { echo "make-multiroot: $1 partition $2 is '$got', expected '$3 $4'" >&2; exit 1; }
}
expect linux.raw 1 2048 2048
expect linux.raw 2 4096 12288
expect linux.raw 3 16384 47104
expect windows.raw 1 2048 67584
expect windows.raw 2 69632 57344

truncate -s 96M disk.raw
sfdisk -q disk.raw <<PT
label: gpt
label-id: 9D1E2F3A-4B5C-4D6E-8F70-8192A3B4C5D6
first-lba: 2048
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, uuid=0A1B2C3D-0000-4000-8000-000000000001, name="bios"
start=4096, size=12288, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=0A1B2C3D-0000-4000-8000-000000000002, name="EFI System"
start=16384, size=47104, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=6E1F2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B, name="root"
start=63488, size=67584, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9, name="EFI system partition"
start=131072, size=57344, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=7E1F0C52-3A4B-4C5D-8E6F-708192A3B4C5, name="Basic data partition"
PT
dd if=linux.raw of=disk.raw bs=440 count=1 conv=notrunc status=none
copy linux.raw 2048 2048 2048
copy linux.raw 4096 12288 4096
copy linux.raw 16384 47104 16384
copy windows.raw 2048 67584 63488
copy windows.raw 69632 57344 131072

qemu-img convert -q -f raw -O qcow2 -c disk.raw "$OUT/dual-boot.qcow2"
sfdisk --json disk.raw | sed 's#"device": "[^"]*"#"device": "disk.raw"#; s#"node": "[^"]*disk.raw#"node": "disk.raw#' > "$OUT/dual-boot.sfdisk.json"
sha256sum disk.raw | awk '{print $1}' > "$OUT/dual-boot.raw.sha256"
echo "make-multiroot: wrote $OUT/dual-boot.qcow2 ($(stat -c %s "$OUT/dual-boot.qcow2") bytes)"
