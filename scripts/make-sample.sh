#!/usr/bin/env bash
# Build the bundled sample image: a small phony Debian 12 cloud guest, made only with real,
# independent tools (sfdisk, mkfs.fat + mcopy, mkfs.ext4 -d, cpio, gzip, grub-mkimage, qemu-img) on
# plain files: no root, no mounting, no loop devices. Deterministic: fixed UUIDs, serials and
# timestamps; GRUB's images depend only on the installed GRUB version (recorded in sample.grub.txt).
#
# Layout (GPT, 32 MiB virtual disk, qcow2 with zlib-compressed clusters):
#   MBR              GRUB's boot.img (/usr/lib/grub/i386-pc/boot.img), installed as
#                    grub-bios-setup does (scripts/grub-bios-embed.py), loading core.img from LBA 2048
#   1  BIOS boot      1 MiB    GRUB core.img from grub-mkimage -O i386-pc (biosdisk part_gpt ext2,
#                              prefix (hd0,gpt3)/boot/grub); the guest has no /boot/grub/i386-pc
#                              modules, so a BIOS boot stops at GRUB's rescue prompt after reading
#                              the ext4 root (scripts/boot-bios-fixtures.sh proves it under QEMU)
#   2  EFI System     6 MiB    FAT16 "EFI", \EFI\BOOT\BOOTX64.EFI and \EFI\debian\grubx64.efi
#   3  Linux root    23 MiB    ext4 "root": /etc, /boot (kernel, initrd with virtio modules), /usr
#
# Needs (Debian packages): fdisk dosfstools mtools e2fsprogs cpio gzip faketime python3 qemu-utils
# grub-pc-bin (grub-mkimage and boot.img; 2.12-1~bpo12+1 from bookworm-backports made the committed
# image — another GRUB version builds different, equally valid, boot code).
#
# Usage: scripts/make-sample.sh [--out DIR]   (default testdata/sample)
set -euo pipefail
GRUB_DIR=${GRUB_DIR:-/usr/lib/grub/i386-pc}
for tool in sfdisk mkfs.fat mcopy mkfs.ext4 debugfs cpio gzip faketime python3 qemu-img grub-mkimage; do
  command -v "$tool" >/dev/null || { echo "make-sample: $tool missing" >&2; exit 1; }
done
[ -f "$GRUB_DIR/boot.img" ] || { echo "make-sample: $GRUB_DIR/boot.img missing (Debian package grub-pc-bin)" >&2; exit 1; }
export LC_ALL=C.UTF-8 TZ=UTC SOURCE_DATE_EPOCH=1700000000 E2FSPROGS_FAKE_TIME=1700000000
OUT=testdata/sample
if [ "${1:-}" = "--out" ]; then OUT=$2; fi
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/guest-lib.sh"
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"

DISK_GUID=5A3C1B2E-7D4F-4E8A-9B6C-0D1E2F3A4B5C
ROOT_UUID=2f8c6a3e-1b4d-4c5e-9f7a-8b9c0d1e2f3a
ROOT_PARTUUID=6E1F2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B
ESP_SERIAL=1A2B3C4D            # shown by blkid as 1A2B-3C4D
KVER=6.1.0-28-cloud-amd64

# --- the root tree -------------------------------------------------------------------------
R=root; mkdir -p $R/{etc/default,etc/network,etc/cloud,etc/ssh,etc/systemd/system/multi-user.target.wants,boot/grub,boot/efi,usr/bin,usr/sbin,usr/lib/modules/$KVER/kernel/drivers/block,usr/lib/systemd/system,var/lib/dpkg,root,tmp,home}
ln -s usr/bin $R/bin; ln -s usr/sbin $R/sbin; ln -s usr/lib $R/lib
cat > $R/etc/os-release <<OS
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
OS
echo 12.8 > $R/etc/debian_version
echo sample-guest > $R/etc/hostname
cat > $R/etc/fstab <<FS
# /etc/fstab: static file system information.
UUID=$ROOT_UUID / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
UUID=1A2B-3C4D /boot/efi vfat defaults 0 0
FS
cat > $R/etc/default/grub <<GR
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200"
GR
cat > $R/boot/grub/grub.cfg <<GC
set default="0"
search --no-floppy --fs-uuid --set=root $ROOT_UUID
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os {
	search --no-floppy --fs-uuid --set=root $ROOT_UUID
	linux	/boot/vmlinuz-$KVER root=UUID=$ROOT_UUID ro console=tty0 console=ttyS0,115200
	initrd	/boot/initrd.img-$KVER
}
GC
cat > $R/etc/network/interfaces <<NI
auto lo
iface lo inet loopback
auto eth0
iface eth0 inet dhcp
NI
printf 'datasource_list: [ NoCloud, AliYun, ConfigDrive, None ]\ncloud_init_modules:\n - growpart\n - resizefs\n' > $R/etc/cloud/cloud.cfg
printf 'Port 22\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n' > $R/etc/ssh/sshd_config
printf 'root:x:0:0:root:/root:/bin/bash\ndebian:x:1000:1000::/home/debian:/bin/bash\n' > $R/etc/passwd
printf 'root:*:19000:0:99999:7:::\ndebian:!:19000:0:99999:7:::\n' > $R/etc/shadow
chmod 640 $R/etc/shadow
printf '0.0 0 0.0\n0\nUTC\n' > $R/etc/adjtime
: > $R/etc/machine-id
printf '[Unit]\nDescription=OpenBSD Secure Shell server\n[Service]\nExecStart=/usr/sbin/sshd -D\n[Install]\nWantedBy=multi-user.target\n' > $R/usr/lib/systemd/system/ssh.service
ln -s /usr/lib/systemd/system/ssh.service $R/etc/systemd/system/multi-user.target.wants/ssh.service
# cloud-init's four stages, enabled the way the Debian package enables them.
mkdir -p $R/etc/systemd/system/cloud-init.target.wants
for u in cloud-init-local cloud-init cloud-config cloud-final; do
  printf '[Unit]\nDescription=cloud-init stage %s\n[Service]\nType=oneshot\nExecStart=/usr/bin/cloud-init\n[Install]\nWantedBy=cloud-init.target\n' $u > $R/usr/lib/systemd/system/$u.service
  ln -s /usr/lib/systemd/system/$u.service $R/etc/systemd/system/cloud-init.target.wants/$u.service
done
# Executables: minimal x86-64 ELF headers (64 bytes each), enough for architecture detection.
guest_elf_stubs $R usr/bin/bash usr/bin/ls usr/sbin/sshd usr/bin/passwd usr/sbin/chpasswd \
  usr/bin/cloud-init usr/bin/growpart
ln -s bash $R/usr/bin/sh
# Kernel, its config, modules and an initramfs (cpio newc, gzip) holding the virtio modules.
printf 'MZ phony kernel image %s\n' $KVER > $R/boot/vmlinuz-$KVER
cat > $R/boot/config-$KVER <<KC
CONFIG_X86_64=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=m
CONFIG_VIRTIO_NET=m
CONFIG_SCSI_VIRTIO=m
CONFIG_BLK_DEV_NVME=m
CONFIG_EXT4_FS=y
KC
printf 'kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_pci.ko\n' > $R/usr/lib/modules/$KVER/modules.builtin
mkdir -p $R/usr/lib/modules/$KVER/kernel/drivers/{net,scsi,nvme/host}
for m in virtio_blk; do printf 'phony module %s\n' $m > $R/usr/lib/modules/$KVER/kernel/drivers/block/$m.ko; done
printf 'phony module nvme\n' > $R/usr/lib/modules/$KVER/kernel/drivers/nvme/host/nvme.ko
printf 'phony module virtio_net\n' > $R/usr/lib/modules/$KVER/kernel/drivers/net/virtio_net.ko
printf 'phony module virtio_scsi\n' > $R/usr/lib/modules/$KVER/kernel/drivers/scsi/virtio_scsi.ko
mkdir -p initrd/usr/lib/modules/$KVER/kernel/drivers initrd/usr/bin
cp -r $R/usr/lib/modules/$KVER/kernel/drivers/{block,nvme,scsi} initrd/usr/lib/modules/$KVER/kernel/drivers/
printf '#!/bin/sh\n' > initrd/init; chmod 755 initrd/init
guest_initramfs initrd $R/boot/initrd.img-$KVER gzip -9n
printf 'Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n\nPackage: cloud-init\nStatus: install ok installed\nVersion: 22.4.2-1\n\nPackage: linux-image-%s\nStatus: install ok installed\nVersion: 6.1.119-1\n' $KVER > $R/var/lib/dpkg/status
find $R -exec touch -h -d @$SOURCE_DATE_EPOCH {} +

# --- filesystems -----------------------------------------------------------------------------
truncate -s 23M root.ext4
mkfs.ext4 -q -F -d $R -U $ROOT_UUID -L root -E root_owner=0:0,hash_seed=3c1b2e7d-4f4e-8a9b-6c0d-1e2f3a4b5c6d root.ext4
guest_pin_ext4_ctimes $R root.ext4
mkdir -p esp/EFI/BOOT esp/EFI/debian
printf 'MZ phony shim\n' > esp/EFI/BOOT/BOOTX64.EFI
printf 'MZ phony grub\n' > esp/EFI/debian/grubx64.efi
printf 'search.fs_uuid %s root\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n' $ROOT_UUID > esp/EFI/debian/grub.cfg
find esp -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
rm -f esp.fat; faketime -f '2023-11-14 22:13:20' mkfs.fat -F 16 -s 1 -n EFI -i $ESP_SERIAL -C esp.fat 6144 >/dev/null
faketime -f '2023-11-14 22:13:20' mcopy -s -m -i esp.fat esp/EFI ::/

# --- the disk --------------------------------------------------------------------------------
truncate -s 32M disk.raw
sfdisk -q disk.raw <<PT
label: gpt
label-id: $DISK_GUID
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, uuid=0A1B2C3D-0000-4000-8000-000000000001, name="bios"
start=4096, size=12288, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=0A1B2C3D-0000-4000-8000-000000000002, name="EFI System"
start=16384, size=47104, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$ROOT_PARTUUID, name="root"
PT
# BIOS boot code: GRUB's core.img for this disk (what grub-install builds for a Debian guest whose
# /boot/grub is on the ext4 root, partition 3 of a GPT disk), embedded into the BIOS boot
# partition, and GRUB's boot.img in the MBR pointing at it (as grub-bios-setup --no-rs-codes).
grub-mkimage -O i386-pc -d "$GRUB_DIR" -o core.img -p '(hd0,gpt3)/boot/grub' biosdisk part_gpt ext2
python3 "$here/scripts/grub-bios-embed.py" disk.raw "$GRUB_DIR/boot.img" core.img >/dev/null
dd if=esp.fat of=disk.raw bs=512 seek=4096 conv=notrunc,sparse status=none
dd if=root.ext4 of=disk.raw bs=512 seek=16384 conv=notrunc,sparse status=none
qemu-img convert -q -f raw -O qcow2 -c disk.raw "$OUT/sample.qcow2"

# --- what the independent tools say ----------------------------------------------------------
guest_sfdisk_json disk.raw "$OUT/sample.sfdisk.json"
guest_qemu_info "$OUT/sample.qcow2" "$OUT/sample.qemu-info.json"
echo "raw_sha256 $(sha256sum disk.raw | cut -d' ' -f1)" > "$OUT/sample.facts"
echo "root_uuid $ROOT_UUID" >> "$OUT/sample.facts"
echo "esp_serial 1A2B-3C4D" >> "$OUT/sample.facts"
echo "kernel $KVER" >> "$OUT/sample.facts"
{
  echo "# GRUB BIOS boot code of sample.qcow2 (written by scripts/make-sample.sh)"
  echo "grub_version $(grub-mkimage --version | sed 's/^.* //')"
  echo "core_img_command grub-mkimage -O i386-pc -p '(hd0,gpt3)/boot/grub' biosdisk part_gpt ext2"
  echo "core_img_sha256 $(sha256sum core.img | cut -d' ' -f1)  ($(stat -c %s core.img) bytes, as grub-mkimage wrote it)"
  echo "boot_img_sha256 $(sha256sum "$GRUB_DIR/boot.img" | cut -d' ' -f1)  ($GRUB_DIR/boot.img)"
  echo "installed_at mbr=LBA 0 (boot.img, kernel sector field = 2048), core.img=LBA 2048.. (BIOS boot partition 1)"
  echo "mbr_sha256 $(head -c 512 disk.raw | sha256sum | cut -d' ' -f1)"
} > "$OUT/sample.grub.txt"
ls -l "$OUT"
