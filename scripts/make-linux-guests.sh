#!/usr/bin/env bash
# Build the phony Linux guests of the golden check reports (tests/golden.rs) from the bundled
# sample (scripts/make-sample.sh builds it): the sample disk is expanded to raw with qemu-img,
# its ext4 root (partition 3) is cut out, edited with debugfs (write / rm / symlink /
# set_inode_field — no root, no mounting), put back and compressed to qcow2. Deterministic:
# E2FSPROGS_FAKE_TIME pins every inode time debugfs writes, the inputs are fixed.
#
#   linux-good   the sample with nvme_core.io_timeout on the kernel command line, Debian 12's
#                sshd_config layout (Include /etc/ssh/sshd_config.d/*.conf, a cloud-init drop-in
#                setting PasswordAuthentication first) and /etc/localtime -> zoneinfo/Etc/UTC:
#                no finding of any linux.* check on the Alibaba target
#   linux-bad1   kernel config without virtio, virtio_blk/virtio_net module files removed,
#                virtio_pci no longer built in, initramfs without any module; /etc/fstab mounts
#                / from /dev/sda1 and an unresolvable UUID on /data without nofail; grub.cfg
#                root=/dev/sda1; and its BIOS boot partition (1) zeroed, while GRUB's boot.img
#                stays in the MBR pointing at it — the state of a disk whose core.img was lost
#                (say, the partition was recreated after grub-install): it is the guest that
#                keeps an empty BIOS boot partition, so boot.bios-boot-code reports it and
#                boot.boot-mode offers UEFI only
#   linux-bad2   static IP with HWADDR in ifcfg-eth0 (no /etc/network/interfaces), SELinux
#                enforcing, /etc/adjtime LOCAL, /etc/shadow immutable (flags 0x80010 =
#                EXTENTS|IMMUTABLE), qemu-ga installed and enabled through SysV links
#                (/etc/init.d/qemu-guest-agent, /etc/rc2.d/S01qemu-guest-agent as update-rc.d
#                makes them), cloud-init removed, sshd moved to port 2200 by an included
#                /etc/ssh/sshd_config.d/10-port.conf, /etc/timezone Asia/Shanghai
#
# The sample's MBR and BIOS boot partition carry GRUB's real boot.img and core.img (see
# scripts/make-sample.sh); linux-good and linux-bad2 keep them as they are.
#
# Usage: scripts/make-linux-guests.sh [--out DIR]   (default testdata/linux-guests)
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC SOURCE_DATE_EPOCH=1700000000 E2FSPROGS_FAKE_TIME=1700000000
here=$(cd "$(dirname "$0")/.." && pwd)
OUT=$here/testdata/linux-guests
if [ "${1:-}" = "--out" ]; then OUT=$2; fi
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
KVER=6.1.0-28-cloud-amd64
ROOT_START=16384   # sectors: partition 3 of the sample (scripts/make-sample.sh)
ROOT_SECTORS=47104
BIOS_BOOT_START=2048 # sectors: partition 1 of the sample
BIOS_BOOT_SECTORS=2048

qemu-img convert -q -f qcow2 -O raw "$here/testdata/sample/sample.qcow2" sample.raw
dd if=sample.raw of=root.ext4 bs=512 skip=$ROOT_START count=$ROOT_SECTORS status=none

# Edit a copy of the root with the debugfs commands on stdin, then write the disk as qcow2.
# With a second argument `wipe-bios-boot`, the BIOS boot partition is zeroed too.
variant() {
  local name=$1 wipe=${2:-}
  cp root.ext4 "$name.ext4"
  cat > "$name.cmd"
  debugfs -w -f "$name.cmd" "$name.ext4" > "$name.log" 2>&1
  # debugfs reports failed commands but exits 0: any message other than the echoed commands fails.
  if grep -Ev '^(debugfs[ :]|Allocated inode: [0-9]+$|$)' "$name.log" | grep . >/dev/null; then cat "$name.log"; exit 1; fi
  e2fsck -fn "$name.ext4" > "$name.fsck" 2>&1 || { cat "$name.fsck"; exit 1; }
  cp sample.raw "$name.raw"
  dd if="$name.ext4" of="$name.raw" bs=512 seek=$ROOT_START conv=notrunc status=none
  if [ "$wipe" = wipe-bios-boot ]; then
    dd if=/dev/zero of="$name.raw" bs=512 seek=$BIOS_BOOT_START count=$BIOS_BOOT_SECTORS conv=notrunc status=none
  fi
  qemu-img convert -q -f raw -O qcow2 -c "$name.raw" "$OUT/$name.qcow2"
}

# Files the variants write.
mkdir -p f
cat > f/config-novirtio <<KC
CONFIG_X86_64=y
# CONFIG_VIRTIO is not set
# CONFIG_VIRTIO_PCI is not set
# CONFIG_VIRTIO_BLK is not set
# CONFIG_VIRTIO_NET is not set
# CONFIG_SCSI_VIRTIO is not set
CONFIG_BLK_DEV_NVME=m
CONFIG_EXT4_FS=y
KC
printf 'kernel/drivers/virtio/virtio.ko\n' > f/builtin
mkdir -p initrd; printf '#!/bin/sh\n' > initrd/init; chmod 755 initrd/init
find initrd -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
(cd initrd && find . -mindepth 1 | sort | cpio --quiet -o -H newc --reproducible | gzip -9n) > f/initrd-empty
cat > f/fstab-bad <<FS
# /etc/fstab with kernel device names and a disk that is not in the image
/dev/sda1 / ext4 rw,errors=remount-ro 0 1
UUID=1A2B-3C4D /boot/efi vfat defaults 0 0
UUID=deadbeef-0000-4000-8000-00000000dead /data xfs defaults 0 2
FS
ROOT_UUID=2f8c6a3e-1b4d-4c5e-9f7a-8b9c0d1e2f3a
cat > f/grub-good.cfg <<GC
set default="0"
search --no-floppy --fs-uuid --set=root $ROOT_UUID
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os {
	search --no-floppy --fs-uuid --set=root $ROOT_UUID
	linux	/boot/vmlinuz-$KVER root=UUID=$ROOT_UUID ro console=tty0 console=ttyS0,115200 nvme_core.io_timeout=4294967295
	initrd	/boot/initrd.img-$KVER
}
GC
cat > f/grub-bad.cfg <<GC
set default="0"
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os {
	set root='hd0,gpt3'
	linux	/boot/vmlinuz-$KVER root=/dev/sda1 ro console=tty0 console=ttyS0,115200
	initrd	/boot/initrd.img-$KVER
}
GC
printf 'DEVICE=eth0\nBOOTPROTO=static\nIPADDR=192.168.10.5\nNETMASK=255.255.255.0\nGATEWAY=192.168.10.1\nHWADDR=52:54:00:12:34:56\nONBOOT=yes\n' > f/ifcfg-eth0
printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' > f/selinux
printf '0.0 0 0.0\n0\nLOCAL\n' > f/adjtime
printf '# Debian 12 layout\nInclude /etc/ssh/sshd_config.d/*.conf\n\nPermitRootLogin prohibit-password\nPasswordAuthentication yes\nMatch User backup\n\tPort 2222\n' > f/sshd_config
printf 'PasswordAuthentication no\n' > f/sshd-50-cloud-init.conf
printf 'Port 2200\n' > f/sshd-10-port.conf
printf '#!/bin/sh\n### BEGIN INIT INFO\n# Provides: qemu-guest-agent\n### END INIT INFO\n' > f/qemu-ga-init
printf 'Asia/Shanghai\n' > f/timezone
python3 - <<'PY'
import struct
hdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
hdr += struct.pack("<HHIQQQIHHHHHH", 3, 0x3E, 1, 0x1000, 64, 0, 0, 64, 56, 0, 64, 0, 0)
open("f/elf", "wb").write(hdr)
PY
touch -d @$SOURCE_DATE_EPOCH f/*

W=/etc/systemd/system
variant linux-good <<CMD
rm /boot/grub/grub.cfg
write f/grub-good.cfg /boot/grub/grub.cfg
rm /etc/ssh/sshd_config
write f/sshd_config /etc/ssh/sshd_config
mkdir /etc/ssh/sshd_config.d
write f/sshd-50-cloud-init.conf /etc/ssh/sshd_config.d/50-cloud-init.conf
symlink /etc/localtime /usr/share/zoneinfo/Etc/UTC
CMD

M=/usr/lib/modules/$KVER
variant linux-bad1 wipe-bios-boot <<CMD
rm /boot/config-$KVER
write f/config-novirtio /boot/config-$KVER
rm $M/modules.builtin
write f/builtin $M/modules.builtin
rm $M/kernel/drivers/block/virtio_blk.ko
rm $M/kernel/drivers/net/virtio_net.ko
rm $M/kernel/drivers/scsi/virtio_scsi.ko
rm /boot/initrd.img-$KVER
write f/initrd-empty /boot/initrd.img-$KVER
rm /etc/fstab
write f/fstab-bad /etc/fstab
rm /boot/grub/grub.cfg
write f/grub-bad.cfg /boot/grub/grub.cfg
CMD

variant linux-bad2 <<CMD
rm /etc/network/interfaces
mkdir /etc/sysconfig
mkdir /etc/sysconfig/network-scripts
write f/ifcfg-eth0 /etc/sysconfig/network-scripts/ifcfg-eth0
mkdir /etc/selinux
write f/selinux /etc/selinux/config
rm /etc/adjtime
write f/adjtime /etc/adjtime
set_inode_field /etc/shadow flags 0x80010
write f/elf /usr/bin/qemu-ga
mkdir /etc/init.d
write f/qemu-ga-init /etc/init.d/qemu-guest-agent
mkdir /etc/rc2.d
symlink /etc/rc2.d/S01qemu-guest-agent ../init.d/qemu-guest-agent
rm /usr/bin/cloud-init
rm /etc/cloud/cloud.cfg
rm /etc/ssh/sshd_config
write f/sshd_config /etc/ssh/sshd_config
mkdir /etc/ssh/sshd_config.d
write f/sshd-10-port.conf /etc/ssh/sshd_config.d/10-port.conf
write f/timezone /etc/timezone
CMD
ls -l "$OUT"
