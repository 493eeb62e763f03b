#!/usr/bin/env bash
# Build the phony distribution guests and the planted-defect images of testdata/distro-guests/
# (issue 5 item 5, issue 7 item 7) from real, independent tools on plain files: sfdisk,
# mkfs.ext4 -d + debugfs, mkfs.btrfs --rootdir --subvol, mkfs.fat + mcopy, cpio + gzip/xz/zstd,
# grub-mkimage, cryptsetup luksFormat, db5.3_load, qemu-img. No root, no mounting, no loop
# devices. Deterministic (fixed UUIDs, serials, times; E2FSPROGS_FAKE_TIME, SOURCE_DATE_EPOCH,
# faketime) except linux-bad4's LUKS2 key material, which cryptsetup draws from /dev/urandom,
# and leap156's Btrfs chunk-tree UUID and inode ctimes, which mkfs.btrfs 6.14 cannot be told.
#
#   ubuntu2404   Ubuntu 24.04.1: GPT (BIOS boot 14, ESP 15, root 1 as Ubuntu's cloud images
#                number them), GRUB boot.img + core.img, ext4 root by LABEL=, netplan
#                50-cloud-init.yaml (dhcp4, match macaddress + set-name), systemd-networkd,
#                dpkg status, cloud-init; initramfs = early microcode cpio + zstd newc cpio
#                (initramfs-tools), .ko.zst modules, virtio built in
#   leap156      openSUSE Leap 15.6: GPT, Btrfs root with SUSE's subvolumes (@, @/.snapshots,
#                @/.snapshots/1/snapshot as the default subvolume, @/home, @/var, @/opt, @/root,
#                @/srv, @/usr/local, @/boot/grub2/{i386-pc,x86_64-efi}), fstab `subvol=/@/…`,
#                wicked (ifcfg-eth0 BOOTPROTO dhcp, wicked.service enabled, network.service alias),
#                /boot/grub2/grub.cfg + grubenv saved_entry, dracut initramfs (xz), rpm ndb
#                Packages.db in /usr/lib/sysimage/rpm
#   alpine320    Alpine 3.20.3: MBR, one ext4 partition, syslinux mbr.bin in sector 0,
#                /boot/extlinux.conf (update-extlinux's layout), vmlinuz-virt/initramfs-virt
#                (mkinitfs, gzip, .ko.gz), OpenRC runlevel links, /etc/network/interfaces,
#                /lib/apk/db/installed, cloud-init
#   centos610    CentOS 6.10: MBR, /boot ext4 (partition 1) and / ext4 (partition 2) without
#                metadata_csum/64bit, GRUB legacy /boot/grub/grub.conf (+ menu.lst and
#                /etc/grub.conf links, default=0, two kernels), redhat-release/centos-release and
#                no os-release, HOSTNAME in /etc/sysconfig/network, ifcfg-eth0 dhcp, SysV rc links,
#                Berkeley DB /var/lib/rpm/Packages (db5.3_load -t hash), dracut gzip initramfs
#   linux-bad3   Ubuntu 24.04 laid out for UEFI only (no BIOS boot partition, no boot code in
#                the protective MBR) whose ESP lacks \EFI\BOOT\BOOTX64.EFI; a 64 MiB root
#                nearly full (an fallocated /swapfile) with few free inodes (mkfs -N);
#                /etc/udev/rules.d/70-persistent-net.rules pinning eth0 to a MAC; its default
#                kernel 6.8.0-49 built without NVMe (no nvme in config, modules or initramfs)
#                while the older 6.8.0-45 still has it
#   linux-bad4   Alpine 3.20 on MBR with an empty MBR boot code (all zero before the disk
#                signature), /boot plain ext4 (partition 1) and the root a LUKS2 volume
#                (partition 2; cryptsetup luksFormat; the data area is not written: encrypting a
#                filesystem into it needs dm-crypt, i.e. root)
#   linux-backing  a qcow2 overlay whose backing file is ubuntu2404.qcow2 (relative name,
#                format qcow2) with one 64 KiB write: the check must not open the backing file
#                without --follow-backing
#
# For each image NAME: NAME.qcow2 (zlib-compressed), NAME.sfdisk.json, NAME.qemu-info.json and
# NAME.listing.txt (debugfs `ls -l` / `btrfs inspect-internal dump-tree` of each filesystem,
# `cpio -t` of each initramfs, luksDump); manifest.txt holds the raw disks' sha256.
#
# Needs (Debian packages): fdisk dosfstools mtools e2fsprogs btrfs-progs (>= 6.12 for
# `--subvol default:`; bookworm-backports 6.14) cryptsetup-bin db5.3-util cpio gzip xz-utils
# zstd faketime python3 qemu-utils grub-pc-bin extlinux.
#
# Usage: scripts/make-distro-guests.sh [--out DIR]   (default testdata/distro-guests)
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC SOURCE_DATE_EPOCH=1700000000 E2FSPROGS_FAKE_TIME=1700000000
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/guest-lib.sh"
GRUB_DIR=${GRUB_DIR:-/usr/lib/grub/i386-pc}
SYSLINUX_MBR=${SYSLINUX_MBR:-/usr/lib/EXTLINUX/mbr.bin}
for tool in sfdisk mkfs.fat mcopy mkfs.ext4 debugfs e2fsck mkfs.btrfs btrfs cryptsetup db5.3_load \
            cpio gzip xz zstd faketime python3 qemu-img qemu-io grub-mkimage; do
  command -v "$tool" >/dev/null || { echo "make-distro-guests: $tool missing" >&2; exit 1; }
done
for f in "$GRUB_DIR/boot.img" "$SYSLINUX_MBR"; do
  [ -f "$f" ] || { echo "make-distro-guests: $f missing (grub-pc-bin, extlinux)" >&2; exit 1; }
done
case $(mkfs.btrfs --help 2>&1) in *--subvol*) ;; *) false ;; esac || { echo "make-distro-guests: mkfs.btrfs has no --subvol (btrfs-progs >= 6.12 needed)" >&2; exit 1; }
OUT=$here/testdata/distro-guests
if [ "${1:-}" = "--out" ]; then OUT=$2; fi
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
: > manifest.txt
FAKE='2023-11-14 22:13:20'

# ---- shared pieces ----------------------------------------------------------------------------

# compress_with EXT: the compressor for a module or initramfs suffix.
compress_with() {
  case $1 in
    gz) gzip -9n ;; xz) xz --check=crc32 -9 ;; zst) zstd -q -19 ;; none) cat ;;
  esac
}

# install_modules MODDIR EXT MODULE... — phony kernel modules (relative paths without .ko, e.g.
# kernel/drivers/block/virtio_blk), each "phony module NAME" compressed as the distribution ships
# them (EXT gz|xz|zst|none), and a modules.dep listing them.
install_modules() {
  local dir=$1 ext=$2 m f; shift 2
  mkdir -p "$dir"; : > "$dir/modules.dep"
  for m in "$@"; do
    f=$m.ko; [ "$ext" = none ] || f=$m.ko.$ext
    mkdir -p "$dir/$(dirname "$m")"
    printf 'phony module %s\n' "$(basename "$m")" | compress_with "$ext" > "$dir/$f"
    printf '%s:\n' "$f" >> "$dir/modules.dep"
  done
}

# early_microcode OUT — the uncompressed early cpio initramfs-tools and dracut put first.
early_microcode() {
  mkdir -p early/kernel/x86/microcode
  printf 'phony AMD microcode\n' > early/kernel/x86/microcode/AuthenticAMD.bin
  printf 'phony Intel microcode\n' > early/kernel/x86/microcode/GenuineIntel.bin
  guest_initramfs early "$1" cat
  rm -rf early
}

# mkext4 TREE IMG SIZE UUID LABEL [mkfs options...] — populate, pin ctimes, check.
mkext4() {
  local tree=$1 img=$2 size=$3 uuid=$4 label=$5; shift 5
  find "$tree" -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
  rm -f "$img"; truncate -s "$size" "$img"
  mkfs.ext4 -q -F -b 4096 -d "$tree" -U "$uuid" -L "$label" \
    -E root_owner=0:0,hash_seed=3c1b2e7d-4f4e-8a9b-6c0d-1e2f3a4b5c6d "$@" "$img"
  guest_pin_ext4_ctimes "$tree" "$img"
  e2fsck -fn "$img" > "$img.fsck" 2>&1 || { cat "$img.fsck" >&2; exit 1; }
}

# mkesp DIR IMG KIB SERIAL LABEL — a FAT16 ESP holding DIR's tree.
mkesp() {
  find "$1" -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
  rm -f "$2"; faketime -f "$FAKE" mkfs.fat -F 16 -s 1 -n "$5" -i "$4" -C "$2" "$3" >/dev/null
  faketime -f "$FAKE" mcopy -s -m -i "$2" "$1"/* ::/
}

# place IMG DISK SECTOR
place() { dd if="$1" of="$2" bs=512 seek="$3" conv=notrunc,sparse status=none; }

# ext4_listing IMG TITLE — debugfs `ls -l` of every directory of IMG.
ext4_listing() {
  local img=$1 title=$2
  echo "## $title: debugfs -R 'ls -l DIR' of every directory (e2fsprogs $(debugfs -V 2>&1 | sed -n '1s/^debugfs \([^ ]*\).*/\1/p'))"
  python3 - "$img" <<'PY' > dirs.cmd
import subprocess, sys
img = sys.argv[1]
todo, seen = ["/"], []
while todo:
    d = todo.pop(0); seen.append(d)
    out = subprocess.run(["debugfs", "-R", "ls -p " + d, img], capture_output=True, text=True).stdout
    for l in out.splitlines():
        f = l.strip("/").split("/")
        if len(f) >= 6 and f[5] not in (".", "..") and f[2].startswith("04"):
            todo.append(d.rstrip("/") + "/" + f[5])
for d in seen:
    print("ls -l " + d)
PY
  debugfs -f dirs.cmd "$img" 2>/dev/null | sed 's/ *$//'
}

# initrd_listing FILE — `cpio -t` of each archive of an initramfs (early cpio, then the
# compressed main archive, split where the first archive's TRAILER!!! ends).
initrd_listing() {
  local f=$1 comp=$2
  echo "## $(basename "$f"): cpio -t (main archive: $comp)"
  python3 - "$f" "$comp" <<'PY'
import subprocess, sys
data = open(sys.argv[1], "rb").read(); comp = sys.argv[2]
off = 0
if data[:6] == b"070701":
    # an uncompressed early archive: find its trailer, then the 4-byte aligned end
    t = data.index(b"TRAILER!!!") + len(b"TRAILER!!!") + 1
    off = (t + 3) & ~3
    while off < len(data) and data[off] == 0:
        off += 1
    print("# early archive (uncompressed), %d bytes:" % off)
    print(subprocess.run(["cpio", "-t", "--quiet"], input=data[:off], capture_output=True).stdout.decode(), end="")
dec = {"gzip": ["gzip", "-dc"], "xz": ["xz", "-dc"], "zstd": ["zstd", "-dcq"]}[comp]
raw = subprocess.run(dec, input=data[off:], capture_output=True, check=True).stdout
print("# main archive (%s) at byte %d:" % (comp, off))
print(subprocess.run(["cpio", "-t", "--quiet"], input=raw, capture_output=True).stdout.decode(), end="")
PY
}

# finish NAME RAW [qemu-img options] — the committed qcow2 and what the tools say about it.
finish() {
  local name=$1 raw=$2; shift 2
  qemu-img convert -q -f raw -O qcow2 -c "$@" "$raw" "$OUT/$name.qcow2"
  guest_sfdisk_json "$raw" "$OUT/$name.sfdisk.json"
  guest_qemu_info "$OUT/$name.qcow2" "$OUT/$name.qemu-info.json"
  echo "$name raw_sha256 $(sha256sum "$raw" | cut -d' ' -f1) virtual_size $(stat -c %s "$raw")" >> manifest.txt
}

# grub_bios_gpt DISK PREFIX MODULES... — GRUB's BIOS boot code into a GPT disk's BIOS boot
# partition (scripts/grub-bios-embed.py).
grub_bios_gpt() {
  local disk=$1 prefix=$2; shift 2
  grub-mkimage -O i386-pc -d "$GRUB_DIR" -o core.img -p "$prefix" "$@"
  python3 "$here/scripts/grub-bios-embed.py" "$disk" "$GRUB_DIR/boot.img" core.img >/dev/null
}

ELF_USR="usr/bin/bash usr/bin/ls usr/sbin/sshd usr/bin/passwd usr/sbin/chpasswd usr/bin/cloud-init"

# ============================================================================================
# Ubuntu 24.04 (ubuntu2404 and linux-bad3)
# ============================================================================================
U_ROOT_UUID=8d1e3f5a-2b4c-4d6e-8f0a-1b2c3d4e5f60
U_KVER=6.8.0-49-generic
U_KOLD=6.8.0-45-generic

# ubuntu_kernel R KVER NVME(yes|no) — kernel, config, modules and initramfs of one kernel.
ubuntu_kernel() {
  local R=$1 k=$2 nvme=$3 M mods
  M=$R/usr/lib/modules/$k
  printf 'MZ phony kernel image %s\n' "$k" > "$R/boot/vmlinuz-$k"
  {
    printf 'CONFIG_X86_64=y\nCONFIG_VIRTIO=y\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_BLK=y\n'
    printf 'CONFIG_VIRTIO_NET=y\nCONFIG_SCSI_VIRTIO=y\nCONFIG_EXT4_FS=y\nCONFIG_ENA_ETHERNET=m\n'
    if [ "$nvme" = yes ]; then printf 'CONFIG_NVME_CORE=m\nCONFIG_BLK_DEV_NVME=m\n';
    else printf '# CONFIG_NVME_CORE is not set\n# CONFIG_BLK_DEV_NVME is not set\n'; fi
  } > "$R/boot/config-$k"
  printf 'phony System.map %s\n' "$k" > "$R/boot/System.map-$k"
  mods="kernel/drivers/net/ethernet/amazon/ena/ena kernel/drivers/scsi/hv_storvsc kernel/drivers/net/hyperv/hv_netvsc kernel/drivers/block/xen-blkfront kernel/fs/btrfs/btrfs"
  [ "$nvme" = yes ] && mods="$mods kernel/drivers/nvme/host/nvme kernel/drivers/nvme/host/nvme-core"
  # shellcheck disable=SC2086
  install_modules "$M" zst $mods
  printf 'kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/block/virtio_blk.ko\nkernel/drivers/net/virtio_net.ko\nkernel/drivers/scsi/virtio_scsi.ko\nkernel/fs/ext4/ext4.ko\n' > "$M/modules.builtin"
  # initramfs-tools: early microcode, then the zstd main archive (usr-merged since 23.10).
  rm -rf ird; mkdir -p ird/usr/lib ird/usr/bin ird/scripts ird/conf
  ln -s usr/lib ird/lib; ln -s usr/bin ird/bin
  printf '#!/bin/sh\n# initramfs-tools init (phony)\n' > ird/init; chmod 755 ird/init
  printf 'MODULES=most\nBUSYBOX=auto\nCOMPRESS=zstd\n' > ird/conf/initramfs.conf
  printf 'ROOT="LABEL=cloudimg-rootfs"\n' > ird/conf/conf.d-root 
  mkdir -p ird/usr/lib/modules; cp -a "$M" ird/usr/lib/modules/
  rm -f ird/usr/lib/modules/$k/kernel/fs/btrfs/btrfs.ko.zst
  guest_elf_stubs ird usr/bin/busybox
  early_microcode early.cpio
  guest_initramfs ird main.zst zstd -q -19
  cat early.cpio main.zst > "$R/boot/initrd.img-$k"; rm -rf ird early.cpio main.zst
}

# ubuntu_tree R VARIANT(good|bad3)
ubuntu_tree() {
  local R=$1 v=$2 k
  rm -rf "$R"
  mkdir -p "$R"/{etc/default/grub.d,etc/netplan,etc/cloud/cloud.cfg.d,etc/ssh/sshd_config.d,etc/systemd/system/multi-user.target.wants,etc/systemd/system/cloud-init.target.wants,etc/systemd/network,boot/grub,boot/efi,usr/bin,usr/sbin,usr/lib/systemd/system,usr/lib/python3/dist-packages/cloudinit,var/lib/dpkg,root,tmp,home,var/log}
  ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"; ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"
  mkdir -p "$R/usr/lib64"
  cat > "$R/usr/lib/os-release" <<'OS'
PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
OS
  ln -s ../usr/lib/os-release "$R/etc/os-release"
  printf 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=24.04\nDISTRIB_CODENAME=noble\nDISTRIB_DESCRIPTION="Ubuntu 24.04.1 LTS"\n' > "$R/etc/lsb-release"
  echo trixie/sid > "$R/etc/debian_version"
  echo ubuntu > "$R/etc/hostname"
  printf 'LABEL=cloudimg-rootfs\t/\t ext4\tdiscard,commit=30,errors=remount-ro\t0 1\nLABEL=UEFI\t/boot/efi\tvfat\tumask=0077\t0 1\n' > "$R/etc/fstab"
  cat > "$R/etc/default/grub" <<'GR'
GRUB_DEFAULT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=`( . /etc/os-release; echo ${NAME:-Ubuntu} ) 2>/dev/null || echo Ubuntu`
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX=""
GR
  printf 'GRUB_CMDLINE_LINUX_DEFAULT="console=tty1 console=ttyS0 nvme_core.io_timeout=4294967295"\nGRUB_TERMINAL=console\n' > "$R/etc/default/grub.d/50-cloudimg-settings.cfg"
  k=$U_KVER
  {
    printf 'set default="0"\nset timeout=0\nsearch --no-floppy --label --set=root cloudimg-rootfs\n'
    printf "menuentry 'Ubuntu' --class ubuntu --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-simple-%s' {\n" $U_ROOT_UUID
    printf '\tsearch --no-floppy --label --set=root cloudimg-rootfs\n\tlinux\t/boot/vmlinuz-%s root=LABEL=cloudimg-rootfs ro  console=tty1 console=ttyS0 nvme_core.io_timeout=4294967295\n\tinitrd\t/boot/initrd.img-%s\n}\n' $k $k
    printf "submenu 'Advanced options for Ubuntu' \$menuentry_id_option 'gnulinux-advanced-%s' {\n" $U_ROOT_UUID
    for kk in $k $([ "$v" = bad3 ] && echo $U_KOLD); do
      printf "\tmenuentry 'Ubuntu, with Linux %s' --class ubuntu --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-%s-advanced-%s' {\n" $kk $kk $U_ROOT_UUID
      printf '\t\tlinux\t/boot/vmlinuz-%s root=LABEL=cloudimg-rootfs ro  console=tty1 console=ttyS0 nvme_core.io_timeout=4294967295\n\t\tinitrd\t/boot/initrd.img-%s\n\t}\n' $kk $kk
    done
    printf '}\n'
  } > "$R/boot/grub/grub.cfg"
  cat > "$R/etc/netplan/50-cloud-init.yaml" <<'NP'
# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.  To disable cloud-init's
# network configuration capabilities, write a file
# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:
# network: {config: disabled}
network:
    ethernets:
        ens3:
            dhcp4: true
            match:
                macaddress: 52:54:00:4a:1c:07
            set-name: ens3
    version: 2
NP
  chmod 600 "$R/etc/netplan/50-cloud-init.yaml"
  printf 'datasource_list: [ NoCloud, ConfigDrive, OpenStack, Ec2, AliYun, None ]\n' > "$R/etc/cloud/cloud.cfg.d/90_dpkg.cfg"
  printf 'users:\n - default\ndisable_root: true\ncloud_init_modules:\n - seed_random\n - bootcmd\n - write_files\n - growpart\n - resizefs\n - set_hostname\n - update_etc_hosts\n - users_groups\n - ssh\ncloud_config_modules:\n - runcmd\ncloud_final_modules:\n - scripts_user\n - final_message\n' > "$R/etc/cloud/cloud.cfg"
  printf '__VERSION__ = "24.3.1"\n_PACKAGED_VERSION = "24.3.1-0ubuntu0~24.04.2"\n' > "$R/usr/lib/python3/dist-packages/cloudinit/version.py"
  printf 'Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\n' > "$R/etc/ssh/sshd_config"
  printf 'PasswordAuthentication no\n' > "$R/etc/ssh/sshd_config.d/60-cloudimg-settings.conf"
  printf 'root:x:0:0:root:/root:/bin/bash\nsyslog:x:102:102::/nonexistent:/usr/sbin/nologin\nubuntu:x:1000:1000:Ubuntu:/home/ubuntu:/bin/bash\n' > "$R/etc/passwd"
  printf 'root:*:20000:0:99999:7:::\nsyslog:*:20000:0:99999:7:::\nubuntu:!:20000:0:99999:7:::\n' > "$R/etc/shadow"; chmod 640 "$R/etc/shadow"
  : > "$R/etc/machine-id"
  ln -s /usr/share/zoneinfo/Etc/UTC "$R/etc/localtime"
  echo Etc/UTC > "$R/etc/timezone"
  local u
  for u in ssh systemd-networkd systemd-resolved; do
    printf '[Unit]\nDescription=%s\n[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n' $u > "$R/usr/lib/systemd/system/$u.service"
    ln -s /usr/lib/systemd/system/$u.service "$R/etc/systemd/system/multi-user.target.wants/$u.service"
  done
  for u in cloud-init-local cloud-init-main cloud-init-network cloud-config cloud-final; do
    printf '[Unit]\nDescription=cloud-init stage %s\n[Service]\nType=oneshot\nExecStart=/usr/bin/cloud-init\n[Install]\nWantedBy=cloud-init.target\n' $u > "$R/usr/lib/systemd/system/$u.service"
    ln -s /usr/lib/systemd/system/$u.service "$R/etc/systemd/system/cloud-init.target.wants/$u.service"
  done
  # shellcheck disable=SC2086
  guest_elf_stubs "$R" $ELF_USR usr/bin/growpart usr/sbin/resize2fs usr/bin/netplan
  ln -s bash "$R/usr/bin/sh"
  ubuntu_kernel "$R" $U_KVER "$([ "$v" = bad3 ] && echo no || echo yes)"
  ln -s vmlinuz-$U_KVER "$R/boot/vmlinuz"; ln -s initrd.img-$U_KVER "$R/boot/initrd.img"
  if [ "$v" = bad3 ]; then
    ubuntu_kernel "$R" $U_KOLD yes
    ln -s vmlinuz-$U_KOLD "$R/boot/vmlinuz.old"; ln -s initrd.img-$U_KOLD "$R/boot/initrd.img.old"
    mkdir -p "$R/etc/udev/rules.d"
    printf '# This file was automatically generated by the /lib/udev/write_net_rules\n# program, run by the persistent-net-generator.rules rules file.\n\n# PCI device 0x1af4:0x1000 (virtio-pci)\nSUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="52:54:00:4a:1c:07", ATTR{dev_id}=="0x0", ATTR{type}=="1", KERNEL=="eth*", NAME="eth0"\n' > "$R/etc/udev/rules.d/70-persistent-net.rules"
    printf '/swapfile none swap sw 0 0\n' >> "$R/etc/fstab"
  fi
  {
    local p ver
    while read -r p ver; do
      printf 'Package: %s\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: %s\n\n' "$p" "$ver"
    done <<'PK'
base-files 13ubuntu10.1
cloud-init 24.3.1-0ubuntu0~24.04.2
grub-efi-amd64-signed 1.202+2.12-1ubuntu7
grub-pc 2.12-1ubuntu7
initramfs-tools 0.142ubuntu25.4
linux-image-6.8.0-49-generic 6.8.0-49.49
netplan.io 1.0.1-1ubuntu2~24.04.1
openssh-server 1:9.6p1-3ubuntu13.5
shim-signed 1.58+15.8-0ubuntu1
systemd 255.4-1ubuntu8.4
PK
    [ "$v" = bad3 ] && printf 'Package: linux-image-%s\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: 6.8.0-45.45\n\n' $U_KOLD
  } > "$R/var/lib/dpkg/status"
  chmod 700 "$R/root"
}

# ubuntu_esp DIR VARIANT — Ubuntu's ESP: shim, grub and the fallback path (good), or only
# \EFI\ubuntu (bad3: the fallback loader and fbx64.efi missing).
ubuntu_esp() {
  local E=$1
  rm -rf "$E"; mkdir -p "$E/EFI/ubuntu"
  for f in shimx64.efi grubx64.efi mmx64.efi; do printf 'MZ phony %s\n' $f > "$E/EFI/ubuntu/$f"; done
  printf 'search.fs_label cloudimg-rootfs root\nset prefix=($root)'"'"'/boot/grub'"'"'\nconfigfile $prefix/grub.cfg\n' > "$E/EFI/ubuntu/grub.cfg"
  printf '\xff\xfes\0h\0i\0m\0x\x006\x004\0.\0e\0f\0i\0,\0u\0b\0u\0n\0t\0u\0,\0,\0\n\0' > "$E/EFI/ubuntu/BOOTX64.CSV"
  if [ "$2" = good ]; then
    mkdir -p "$E/EFI/BOOT"
    printf 'MZ phony shimx64.efi\n' > "$E/EFI/BOOT/BOOTX64.EFI"
    printf 'MZ phony fbx64.efi\n' > "$E/EFI/BOOT/fbx64.efi"
    printf 'MZ phony mmx64.efi\n' > "$E/EFI/BOOT/mmx64.efi"
  fi
}

build_ubuntu2404() {
  ubuntu_tree u good
  mkext4 u u.ext4 320M $U_ROOT_UUID cloudimg-rootfs
  ubuntu_esp uesp good
  mkesp uesp uesp.fat 10240 7C1D2E3F UEFI
  rm -f u.raw; truncate -s 344M u.raw
  sfdisk -q u.raw <<PT
label: gpt
label-id: 3E9A1C5B-7D2F-4B6E-8A0C-1D2E3F4A5B6C
u.raw14 : start=2048, size=8192, type=21686148-6449-6E6F-744E-656564454649, uuid=3E9A1C5B-0000-4000-8000-00000000000E
u.raw15 : start=10240, size=20480, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=3E9A1C5B-0000-4000-8000-00000000000F
u.raw1 : start=30720, size=655360, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=3E9A1C5B-0000-4000-8000-000000000001
PT
  grub_bios_gpt u.raw '(hd0,gpt1)/boot/grub' biosdisk part_gpt ext2
  place uesp.fat u.raw 10240
  place u.ext4 u.raw 30720
  finish ubuntu2404 u.raw
  {
    ext4_listing u.ext4 "partition 1 (ext4 cloudimg-rootfs)"
    echo "## partition 15 (FAT16 UEFI): mdir -/ -b"
    mdir -i uesp.fat -/ -b ::/ | sort
    initrd_listing u/boot/initrd.img-$U_KVER zstd
  } > "$OUT/ubuntu2404.listing.txt"
}

build_linux_bad3() {
  ubuntu_tree b3 bad3
  local n
  n=$(find b3 | wc -l)
  # 64 MiB root with only ~40 inodes to spare; /swapfile takes all but ~3 MiB of the free blocks.
  mkext4 b3 b3.ext4 64M $U_ROOT_UUID cloudimg-rootfs -N $((n + 40))
  local free bs
  free=$(dumpe2fs -h b3.ext4 2>/dev/null | sed -n 's/^Free blocks: *//p')
  bs=$(dumpe2fs -h b3.ext4 2>/dev/null | sed -n 's/^Block size: *//p')
  debugfs -w -f - b3.ext4 >/dev/null 2>&1 <<CMD
write /dev/null /swapfile
sif /swapfile mode 0100600
fallocate /swapfile 0 $((free - 800))
sif /swapfile size $(( (free - 800) * bs ))
CMD
  e2fsck -fn b3.ext4 > b3.fsck 2>&1 || { cat b3.fsck >&2; exit 1; }
  ubuntu_esp b3esp bad3
  mkesp b3esp b3esp.fat 10240 7C1D2E40 UEFI
  rm -f b3.raw; truncate -s 80M b3.raw
  sfdisk -q b3.raw <<PT
label: gpt
label-id: 3E9A1C5B-7D2F-4B6E-8A0C-1D2E3F4A5B6D
b3.raw15 : start=2048, size=20480, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=3E9A1C5B-0000-4000-8000-00000000010F
b3.raw1 : start=22528, size=131072, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=3E9A1C5B-0000-4000-8000-000000000101
PT
  place b3esp.fat b3.raw 2048
  place b3.ext4 b3.raw 22528
  finish linux-bad3 b3.raw
  {
    echo "## partition 1: dumpe2fs -h (free blocks and inodes)"
    dumpe2fs -h b3.ext4 2>/dev/null | grep -E '^(Block count|Free blocks|Inode count|Free inodes|Block size):'
    ext4_listing b3.ext4 "partition 1 (ext4 cloudimg-rootfs)"
    echo "## partition 15 (FAT16 UEFI): mdir -/ -b"
    mdir -i b3esp.fat -/ -b ::/ | sort
    initrd_listing b3/boot/initrd.img-$U_KVER zstd
    initrd_listing b3/boot/initrd.img-$U_KOLD zstd
  } > "$OUT/linux-bad3.listing.txt"
}

build_linux_backing() {
  # The overlay names its backing file relatively: qemu resolves it next to the overlay.
  cp "$OUT/ubuntu2404.qcow2" ubuntu2404.qcow2
  qemu-img create -q -f qcow2 -o cluster_size=16384 -b ubuntu2404.qcow2 -F qcow2 linux-backing.qcow2
  qemu-io -c 'write -P 0x5a 300M 64k' linux-backing.qcow2 >/dev/null
  cp linux-backing.qcow2 "$OUT/linux-backing.qcow2"
  guest_qemu_info "$OUT/linux-backing.qcow2" "$OUT/linux-backing.qemu-info.json"
  qemu-img convert -q -f qcow2 -O raw linux-backing.qcow2 lb.raw
  echo "linux-backing raw_sha256 $(sha256sum lb.raw | cut -d' ' -f1) virtual_size $(stat -c %s lb.raw) (with its backing file)" >> manifest.txt
  {
    echo "## qemu-img map --output=json (allocation of the overlay and its backing file)"
    qemu-img map --output=json linux-backing.qcow2 | grep '"depth": 0' || true
  } > "$OUT/linux-backing.listing.txt"
  rm -f lb.raw
}

# ============================================================================================
# openSUSE Leap 15.6 (leap156)
# ============================================================================================
S_FS_UUID=5b0d7e2c-9a1f-4c3e-8d6b-2f4a6c8e0b1d
S_DEV_UUID=5b0d7e2c-0000-4000-8000-000000000003
S_KVER=6.4.0-150600.23.25-default

suse_tree() {
  local T=$1 R k=$S_KVER
  rm -rf "$T"; mkdir -p "$T/@/.snapshots/1"
  R=$T/@/.snapshots/1/snapshot
  mkdir -p "$R"/{etc/default,etc/sysconfig/network,etc/cloud,etc/ssh,etc/systemd/system/multi-user.target.wants,etc/systemd/system/cloud-init.target.wants,boot/grub2,boot/efi,bin,sbin,lib,lib64,usr/bin,usr/sbin,usr/lib/systemd/system,usr/lib/sysimage/rpm,usr/lib/python3.6/site-packages/cloudinit,var/lib,root,tmp,home,opt,srv,usr/local}
  mkdir -p "$T/@"/{home,var,opt,root,srv,usr/local,boot/grub2/i386-pc,boot/grub2/x86_64-efi}
  mkdir -p "$T/@/var"/{log,lib,cache,tmp} "$T/@/home/opensuse" "$T/@/boot/grub2/i386-pc" "$T/@/boot/grub2/x86_64-efi"
  printf '# ~/.bashrc of opensuse (in subvolume @/home)\n' > "$T/@/home/opensuse/.bashrc"
  mkdir -p "$T/@/var/lib/zypp"; printf '4f0c1e8b2d3a4c5e9f6a7b8c9d0e1f2a\n' > "$T/@/var/lib/zypp/AnonymousUniqueId"
  printf 'phony GRUB module normal\n' > "$T/@/boot/grub2/i386-pc/normal.mod"
  printf 'phony GRUB module normal\n' > "$T/@/boot/grub2/x86_64-efi/normal.mod"
  printf '<?xml version="1.0"?>\n<snapshot>\n  <type>single</type>\n  <num>1</num>\n  <date>2023-11-14 22:13:20</date>\n  <description>first root filesystem</description>\n</snapshot>\n' > "$T/@/.snapshots/1/info.xml"
  cat > "$R/usr/lib/os-release" <<'OS'
NAME="openSUSE Leap"
VERSION="15.6"
ID="opensuse-leap"
ID_LIKE="suse opensuse"
VERSION_ID="15.6"
PRETTY_NAME="openSUSE Leap 15.6"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:opensuse:leap:15.6"
BUG_REPORT_URL="https://bugs.opensuse.org"
HOME_URL="https://www.opensuse.org/"
DOCUMENTATION_URL="https://en.opensuse.org/Portal:Leap"
LOGO="distributor-logo-Leap"
OS
  ln -s ../usr/lib/os-release "$R/etc/os-release"
  echo localhost > "$R/etc/hostname"
  {
    printf 'UUID=%s  /                       btrfs  defaults                      0  0\n' $S_FS_UUID
    for m in var usr/local srv root opt home boot/grub2/x86_64-efi boot/grub2/i386-pc .snapshots; do
      printf 'UUID=%s  /%-22s btrfs  subvol=/@/%s  0  0\n' $S_FS_UUID "$m" "$m"
    done
    printf 'UUID=5A1B-2C3D  /boot/efi               vfat   utf8                          0  2\n'
  } > "$R/etc/fstab"
  cat > "$R/etc/default/grub" <<'GR'
GRUB_DISTRIBUTOR="openSUSE Leap 15.6"
GRUB_DEFAULT=saved
GRUB_TIMEOUT=10
GRUB_CMDLINE_LINUX_DEFAULT="splash=silent mitigations=auto quiet security=apparmor console=ttyS0,115200 console=tty0 net.ifnames=0 nvme_core.io_timeout=4294967295"
GRUB_CMDLINE_LINUX=""
GRUB_TERMINAL="console"
GRUB_DISABLE_OS_PROBER="true"
SUSE_BTRFS_SNAPSHOT_BOOTING="true"
GR
  {
    printf 'set btrfs_relative_path="y"\nexport btrfs_relative_path\n'
    printf 'if [ -s $prefix/grubenv ]; then\n  load_env\nfi\nif [ "${next_entry}" ] ; then\n   set default="${next_entry}"\n   set next_entry=\n   save_env next_entry\nelse\n   set default="${saved_entry}"\nfi\n'
    printf "menuentry 'openSUSE Leap 15.6'  --class opensuse --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-simple-%s' {\n" $S_FS_UUID
    printf '\tload_video\n\tset gfxpayload=keep\n\tinsmod gzio\n\tinsmod part_gpt\n\tinsmod btrfs\n\tsearch --no-floppy --fs-uuid --set=root %s\n' $S_FS_UUID
    printf "\techo\t'Loading Linux %s ...'\n\tlinux\t/boot/vmlinuz-%s root=UUID=%s \${extra_cmdline} splash=silent mitigations=auto quiet security=apparmor console=ttyS0,115200 console=tty0 net.ifnames=0 nvme_core.io_timeout=4294967295\n" $k $k $S_FS_UUID
    printf "\techo\t'Loading initial ramdisk ...'\n\tinitrd\t/boot/initrd-%s\n}\n" $k
    printf "submenu 'Advanced options for openSUSE Leap 15.6' --hotkey=1 \$menuentry_id_option 'gnulinux-advanced-%s' {\n" $S_FS_UUID
    printf "\tmenuentry 'openSUSE Leap 15.6, with Linux %s (recovery mode)' --hotkey=1 --class opensuse --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-%s-recovery-%s' {\n" $k $k $S_FS_UUID
    printf '\t\tlinux\t/boot/vmlinuz-%s root=UUID=%s single\n\t\tinitrd\t/boot/initrd-%s\n\t}\n}\n' $k $S_FS_UUID $k
  } > "$R/boot/grub2/grub.cfg"
  python3 - "$R/boot/grub2/grubenv" <<'PY'
import sys
body = "# GRUB Environment Block\nsaved_entry=openSUSE Leap 15.6\n"
open(sys.argv[1], "w").write(body + "#" * (1024 - len(body)))
PY
  printf "BOOTPROTO='dhcp'\nSTARTMODE='auto'\nDHCLIENT_SET_DEFAULT_ROUTE='yes'\n" > "$R/etc/sysconfig/network/ifcfg-eth0"
  printf "IPADDR='127.0.0.1/8'\nNETMASK='255.0.0.0'\nNETWORK='127.0.0.0'\nBROADCAST='127.255.255.255'\nSTARTMODE='nfsroot'\nBOOTPROTO='static'\nUSERCONTROL='no'\nFIREWALL='no'\n" > "$R/etc/sysconfig/network/ifcfg-lo"
  printf 'NETCONFIG_MODULES_ORDER="dns-resolver dns-bind ntp-runtime"\n' > "$R/etc/sysconfig/network/config"
  printf 'datasource_list: [ NoCloud, OpenStack, AliYun, None ]\ncloud_init_modules:\n - growpart\n - resizefs\n - set_hostname\n' > "$R/etc/cloud/cloud.cfg"
  printf '__VERSION__ = "23.3"\n_PACKAGED_VERSION = "23.3-150100.8.85.3"\n' > "$R/usr/lib/python3.6/site-packages/cloudinit/version.py"
  printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM yes\nSubsystem\tsftp\t/usr/lib/ssh/sftp-server\n' > "$R/etc/ssh/sshd_config"
  printf 'root:x:0:0:root:/root:/bin/bash\nopensuse:x:1000:100::/home/opensuse:/bin/bash\n' > "$R/etc/passwd"
  printf 'root:*:19675::::::\nopensuse:!:19675:0:99999:7:::\n' > "$R/etc/shadow"; chmod 640 "$R/etc/shadow"
  : > "$R/etc/machine-id"
  ln -s /usr/share/zoneinfo/UTC "$R/etc/localtime"
  local u
  for u in sshd wicked wickedd chronyd; do
    printf '[Unit]\nDescription=%s\n[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n' $u > "$R/usr/lib/systemd/system/$u.service"
    ln -s /usr/lib/systemd/system/$u.service "$R/etc/systemd/system/multi-user.target.wants/$u.service"
  done
  # `systemctl enable wicked` also links the network.service alias (wicked.service: Alias=network.service).
  ln -s /usr/lib/systemd/system/wicked.service "$R/etc/systemd/system/network.service"
  for u in cloud-init-local cloud-init cloud-config cloud-final; do
    printf '[Unit]\nDescription=cloud-init stage %s\n[Service]\nType=oneshot\nExecStart=/usr/bin/cloud-init\n[Install]\nWantedBy=cloud-init.target\n' $u > "$R/usr/lib/systemd/system/$u.service"
    ln -s /usr/lib/systemd/system/$u.service "$R/etc/systemd/system/cloud-init.target.wants/$u.service"
  done
  guest_elf_stubs "$R" bin/bash bin/ls usr/sbin/sshd usr/bin/passwd usr/sbin/chpasswd usr/bin/cloud-init usr/sbin/wicked usr/sbin/growpart
  ln -s bash "$R/bin/sh"
  # Kernel (SUSE names: vmlinuz-<v>, initrd-<v>, links vmlinuz and initrd), /lib/modules, dracut.
  printf 'MZ phony kernel image %s\n' $k > "$R/boot/vmlinuz-$k"
  printf 'CONFIG_X86_64=y\nCONFIG_VIRTIO=y\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\nCONFIG_SCSI_VIRTIO=m\nCONFIG_NVME_CORE=m\nCONFIG_BLK_DEV_NVME=m\nCONFIG_BTRFS_FS=m\nCONFIG_XEN_BLKDEV_FRONTEND=m\n' > "$R/boot/config-$k"
  printf 'phony System.map\n' > "$R/boot/System.map-$k"
  ln -s vmlinuz-$k "$R/boot/vmlinuz"; ln -s initrd-$k "$R/boot/initrd"
  local M=$R/lib/modules/$k
  install_modules "$M" zst kernel/drivers/virtio/virtio_pci kernel/drivers/virtio/virtio_pci_modern_dev \
    kernel/drivers/block/virtio_blk kernel/drivers/scsi/virtio_scsi kernel/drivers/net/virtio_net \
    kernel/drivers/nvme/host/nvme kernel/drivers/nvme/host/nvme-core kernel/fs/btrfs/btrfs \
    kernel/drivers/block/xen-blkfront kernel/drivers/net/ethernet/amazon/ena/ena
  printf 'kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\n' > "$M/modules.builtin"
  rm -rf ird; mkdir -p ird/lib/modules ird/usr/lib/dracut ird/bin ird/sbin ird/etc
  cp -a "$M" ird/lib/modules/
  rm -f ird/lib/modules/$k/kernel/drivers/net/ethernet/amazon/ena/ena.ko.zst
  printf '#!/bin/sh\n# dracut init (phony)\n' > ird/init; chmod 755 ird/init
  printf 'dracut-055+suse.359.g4b5c8a1e-150600.3.12.1\n' > ird/usr/lib/dracut/dracut-055+suse
  printf 'NAME="openSUSE Leap"\nVERSION_ID="15.6"\n' > ird/etc/initrd-release
  guest_elf_stubs ird bin/bash sbin/init
  early_microcode early.cpio
  guest_initramfs ird main.xz xz --check=crc32 -9
  cat early.cpio main.xz > "$R/boot/initrd-$k"; rm -rf ird early.cpio main.xz
  # rpm's ndb database (rpm 4.14 on Leap 15): Debian's rpm cannot write ndb, so the header of an
  # empty Packages.db is written here from rpm's lib/backend/ndb/rpmpkg.c layout (slot page:
  # magic "RpmP", version 0, generation, slot page count, next package index), Index.db beside.
  python3 - "$R/usr/lib/sysimage/rpm" <<'PY'
import struct, sys
d = sys.argv[1]
page = bytearray(4096)
struct.pack_into("<IIIII", page, 0, 0x506d7052, 0, 1, 4, 1)
open(d + "/Packages.db", "wb").write(bytes(page) + bytes(3 * 4096))
open(d + "/Index.db", "wb").write(struct.pack("<II", 0x49526d52, 0) + bytes(4088))
PY
  ln -s ../../usr/lib/sysimage/rpm "$R/var/lib/rpm" 2>/dev/null || true
  mkdir -p "$T/@/var/lib"; ln -s ../../usr/lib/sysimage/rpm "$T/@/var/lib/rpm"
  chmod 700 "$R/root" "$T/@/root"
}

build_leap156() {
  suse_tree s
  find s -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
  rm -f s.btrfs; truncate -s 320M s.btrfs
  local sv=()
  for m in @ @/.snapshots default:@/.snapshots/1/snapshot @/home @/var @/opt @/root @/srv @/usr/local @/boot/grub2/i386-pc @/boot/grub2/x86_64-efi; do sv+=(--subvol "$m"); done
  faketime -f "$FAKE" mkfs.btrfs -q -f -L ROOT -U $S_FS_UUID --device-uuid $S_DEV_UUID --rootdir s "${sv[@]}" s.btrfs >/dev/null
  btrfs check --readonly s.btrfs > s.check 2>&1 || { cat s.check >&2; exit 1; }
  rm -rf sesp; mkdir -p sesp/EFI/BOOT sesp/EFI/opensuse
  printf 'MZ phony shim\n' > sesp/EFI/BOOT/bootx64.efi
  printf 'MZ phony grub\n' > sesp/EFI/BOOT/grub.efi
  printf 'MZ phony MokManager\n' > sesp/EFI/BOOT/MokManager.efi
  for f in shim.efi grub.efi MokManager.efi; do printf 'MZ phony %s\n' $f > sesp/EFI/opensuse/$f; done
  printf "set btrfs_relative_path=\"yes\"\nsearch --fs-uuid --set=root %s\nset prefix=(\${root})/boot/grub2\nsource \"\${prefix}/grub.cfg\"\n" $S_FS_UUID > sesp/EFI/opensuse/grub.cfg
  mkesp sesp sesp.fat 16384 5A1B2C3D EFI
  rm -f s.raw; truncate -s 344M s.raw
  sfdisk -q s.raw <<PT
label: gpt
label-id: 7B3D5F1A-2C4E-4A6B-8C0D-2E4F6A8B0C1D
start=2048, size=4096, type=21686148-6449-6E6F-744E-656564454649, uuid=7B3D5F1A-0000-4000-8000-000000000001, name="p.legacy"
start=6144, size=32768, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=7B3D5F1A-0000-4000-8000-000000000002, name="p.UEFI"
start=38912, size=655360, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=7B3D5F1A-0000-4000-8000-000000000003, name="p.lxroot"
PT
  grub_bios_gpt s.raw '(hd0,gpt3)/@/boot/grub2' biosdisk part_gpt btrfs
  place sesp.fat s.raw 6144
  place s.btrfs s.raw 38912
  finish leap156 s.raw -o cluster_size=16384
  # mkfs.btrfs 6.14 takes no chunk-tree UUID and copies each inode's ctime from the host.
  sed -i 's/^leap156 raw_sha256 [0-9a-f]*/leap156 raw_sha256 nondeterministic (Btrfs chunk-tree UUID, inode ctimes)/' manifest.txt
  {
    echo "## partition 3 (btrfs ROOT): btrfs inspect-internal dump-super (selected fields) ($(btrfs --version | head -1))"
    btrfs inspect-internal dump-super s.btrfs | grep -E '^(fsid|label|root_dir|generation|total_bytes|bytes_used)'
    echo "## partition 3: subvolumes (btrfs inspect-internal dump-tree -t root: ROOT_REF items; the 'default' DIR_ITEM)"
    btrfs inspect-internal dump-tree -t root s.btrfs | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
for i, l in enumerate(lines):
    m = re.search(r"key \((\S+) ROOT_REF (\d+)\)", l)
    if m:
        name = re.search(r" name (.*)$", lines[i + 1]).group(1)
        print("subvolume %s in %s: %s" % (m.group(2), m.group(1), name))
    m = re.search(r"location key \((\d+) ROOT_ITEM", l)
    if m and any("name: default" in x for x in lines[i + 1:i + 3]):
        print("default subvolume %s" % m.group(1))
'
    echo "## partition 3: every file btrfs-progs restores from the top level (btrfs restore -S -x -s, then find; type, size)"
    rm -rf rst; mkdir -p rst; btrfs restore -S -x -s s.btrfs rst >/dev/null 2>&1
    (cd rst && find . -mindepth 1 -printf '%y %s %p\n' | sed 's# \./# /#' | awk '$1=="d"{$2="-"}1' | sort -k3)
    echo "## partition 2 (FAT16 EFI): mdir -/ -b"
    mdir -i sesp.fat -/ -b ::/ | sort
    initrd_listing "s/@/.snapshots/1/snapshot/boot/initrd-$S_KVER" xz
  } > "$OUT/leap156.listing.txt"
}

# ============================================================================================
# Alpine 3.20 (alpine320 and linux-bad4)
# ============================================================================================
A_ROOT_UUID=a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d
A_BOOT_UUID=b2c3d4e5-6f7a-4b8c-9d0e-1f2a3b4c5d6e
A_LUKS_UUID=3c7d9e2a-5b4f-4a1c-8e6d-0f1a2b3c4d5e
A_KVER=6.6.58-0-virt

# alpine_tree R VARIANT(good|bad4): for bad4, /boot is a separate tree R.boot and the root
# is opened by cryptsetup in the initramfs (mkinitfs's cryptsetup feature).
alpine_tree() {
  local R=$1 v=$2 B k=$A_KVER u
  rm -rf "$R" "$R.boot"; mkdir -p "$R"/{etc/network,etc/apk,etc/init.d,etc/conf.d,etc/runlevels/sysinit,etc/runlevels/boot,etc/runlevels/default,etc/runlevels/shutdown,etc/cloud,etc/ssh,etc/mkinitfs,boot,bin,sbin,lib/apk/db,usr/bin,usr/sbin,usr/lib,root,tmp,home,var/log}
  B=$R/boot; if [ "$v" = bad4 ]; then B=$R.boot; mkdir -p "$B"; fi
  cat > "$R/usr/lib/os-release" <<'OS'
NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.20.3
PRETTY_NAME="Alpine Linux v3.20"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
OS
  ln -s ../usr/lib/os-release "$R/etc/os-release"
  echo 3.20.3 > "$R/etc/alpine-release"
  echo alpine > "$R/etc/hostname"
  if [ "$v" = bad4 ]; then
    printf '/dev/mapper/root\t/\text4\trw,relatime 0 1\nUUID=%s\t/boot\text4\trw,relatime 0 2\n' $A_BOOT_UUID > "$R/etc/fstab"
  else
    printf 'UUID=%s\t/\text4\trw,relatime 0 1\n' $A_ROOT_UUID > "$R/etc/fstab"
  fi
  printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' > "$R/etc/network/interfaces"
  printf 'https://dl-cdn.alpinelinux.org/alpine/v3.20/main\nhttps://dl-cdn.alpinelinux.org/alpine/v3.20/community\n' > "$R/etc/apk/repositories"
  printf 'alpine-base\ncloud-init\nlinux-virt\nopenssh-server\nsyslinux\n' > "$R/etc/apk/world"
  printf 'features="ata base ide scsi usb virtio ext4%s"\n' "$([ "$v" = bad4 ] && echo ' cryptsetup')" > "$R/etc/mkinitfs/mkinitfs.conf"
  printf 'datasource_list: [ NoCloud, ConfigDrive, AliYun, None ]\ncloud_init_modules:\n - growpart\n - resizefs\n' > "$R/etc/cloud/cloud.cfg"
  printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nAuthorizedKeysFile .ssh/authorized_keys\nSubsystem\tsftp\tinternal-sftp\n' > "$R/etc/ssh/sshd_config"
  printf 'root:x:0:0:root:/root:/bin/sh\nalpine:x:1000:1000:Linux User,,,:/home/alpine:/bin/sh\n' > "$R/etc/passwd"
  printf 'root:*::0:::::\nalpine:!:19675:0:99999:7:::\n' > "$R/etc/shadow"; chmod 640 "$R/etc/shadow"
  ln -s /usr/share/zoneinfo/UTC "$R/etc/localtime"
  # OpenRC: init scripts and the runlevel links rc-update writes.
  for u in devfs dmesg mdev hwdrivers modules sysctl hostname bootmisc syslog networking \
           cloud-init-local cloud-init cloud-config cloud-final sshd crond acpid mount-ro killprocs savecache; do
    printf '#!/sbin/openrc-run\ndescription="%s"\n' $u > "$R/etc/init.d/$u"; chmod 755 "$R/etc/init.d/$u"
  done
  for l in sysinit:devfs sysinit:dmesg sysinit:mdev sysinit:hwdrivers boot:modules boot:sysctl \
           boot:hostname boot:bootmisc boot:syslog boot:networking boot:cloud-init-local \
           default:cloud-init default:cloud-config default:cloud-final default:sshd default:crond \
           default:acpid shutdown:mount-ro shutdown:killprocs shutdown:savecache; do
    ln -s /etc/init.d/${l#*:} "$R/etc/runlevels/${l%%:*}/${l#*:}"
  done
  guest_elf_stubs "$R" bin/busybox usr/sbin/sshd usr/bin/cloud-init sbin/apk sbin/openrc
  # busybox applets as Alpine links them; growpart is a script (cloud-utils-growpart).
  for l in sh ls; do ln -s busybox "$R/bin/$l"; done
  ln -s /bin/busybox "$R/usr/bin/passwd"; ln -s /bin/busybox "$R/usr/sbin/chpasswd"
  printf '#!/bin/sh\n# growpart (phony)\n' > "$R/usr/bin/growpart"; chmod 755 "$R/usr/bin/growpart"
  # Kernel: linux-virt names the image and initramfs by flavour, the version lives in
  # /lib/modules/<v> and /boot/config-<v>.
  printf 'MZ phony kernel image %s\n' $k > "$B/vmlinuz-virt"
  printf 'CONFIG_X86_64=y\nCONFIG_VIRTIO=m\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\nCONFIG_SCSI_VIRTIO=m\nCONFIG_NVME_CORE=m\nCONFIG_BLK_DEV_NVME=m\nCONFIG_EXT4_FS=m\nCONFIG_DM_CRYPT=m\n' > "$B/config-$k"
  printf 'phony System.map\n' > "$B/System.map-$k"
  local M=$R/lib/modules/$k
  install_modules "$M" gz kernel/drivers/virtio/virtio kernel/drivers/virtio/virtio_ring \
    kernel/drivers/virtio/virtio_pci kernel/drivers/block/virtio_blk kernel/drivers/scsi/virtio_scsi \
    kernel/drivers/net/virtio_net kernel/drivers/nvme/host/nvme kernel/drivers/nvme/host/nvme-core \
    kernel/fs/ext4/ext4 kernel/fs/jbd2/jbd2 kernel/fs/mbcache kernel/drivers/md/dm-crypt kernel/drivers/md/dm-mod
  printf 'kernel/drivers/block/loop.ko\n' > "$M/modules.builtin"
  rm -rf ird; mkdir -p ird/lib/modules ird/bin ird/sbin ird/etc ird/dev ird/proc ird/sys ird/newroot
  cp -a "$M" ird/lib/modules/
  if [ "$v" != bad4 ]; then rm -f ird/lib/modules/$k/kernel/drivers/md/dm-crypt.ko.gz ird/lib/modules/$k/kernel/drivers/md/dm-mod.ko.gz; fi
  printf '#!/bin/busybox sh\n# mkinitfs init (phony)\n' > ird/init; chmod 755 ird/init
  guest_elf_stubs ird bin/busybox
  [ "$v" = bad4 ] && guest_elf_stubs ird sbin/cryptsetup
  guest_initramfs ird "$B/initramfs-virt" gzip -9n; rm -rf ird
  local root_opts="root=UUID=$A_ROOT_UUID modules=sd-mod,usb-storage,ext4"
  [ "$v" = bad4 ] && root_opts="cryptroot=UUID=$A_LUKS_UUID cryptdm=root root=/dev/mapper/root modules=sd-mod,usb-storage,ext4"
  cat > "$B/extlinux.conf" <<EX
# Generated by update-extlinux 6.04_pre1-r15
DEFAULT menu.c32
PROMPT 0
MENU TITLE Alpine/Linux Boot Menu
MENU HIDDEN
MENU AUTOBOOT Alpine will be booted automatically in # seconds.
TIMEOUT 10
LABEL virt
  MENU DEFAULT
  MENU LABEL Linux virt
  LINUX vmlinuz-virt
  INITRD initramfs-virt
  APPEND $root_opts console=ttyS0,115200 rootfstype=ext4 nvme_core.io_timeout=4294967295

MENU SEPARATOR
EX
  printf 'phony menu.c32\n' > "$B/menu.c32"; printf 'phony libutil.c32\n' > "$B/libutil.c32"
  # apk's installed database (apk-tools' lib/apk/db/installed: one paragraph per package).
  {
    local p ver arch
    while read -r p ver; do
      printf 'C:Q1%s=\nP:%s\nV:%s\nA:x86_64\nS:100000\nI:300000\nT:%s (phony)\nU:https://alpinelinux.org\nL:MIT\no:%s\nm:Alpine Developers\nt:1700000000\nc:0000000000000000000000000000000000000000\n\n' \
        "$(printf %s "$p" | sha1sum | cut -c1-26)" "$p" "$ver" "$p" "$p"
    done <<'PK'
musl 1.2.5-r0
busybox 1.36.1-r29
alpine-baselayout 3.6.5-r0
openrc 0.54-r1
apk-tools 2.14.4-r1
openssh-server 9.7_p1-r4
cloud-init 24.1.4-r0
cloud-utils-growpart 0.33-r0
linux-virt 6.6.58-r0
mkinitfs 3.10.1-r0
syslinux 6.04_pre1-r15
cryptsetup 2.7.2-r0
PK
  } > "$R/lib/apk/db/installed"
  chmod 700 "$R/root"
}

build_alpine320() {
  alpine_tree a good
  mkext4 a a.ext4 320M $A_ROOT_UUID alpine-root
  rm -f a.raw; truncate -s 330M a.raw
  sfdisk -q a.raw <<PT
label: dos
label-id: 0x5a3c1b2e
start=2048, size=655360, type=83, bootable
PT
  # syslinux's MBR (what Alpine's setup-disk writes: dd bs=440 count=1 conv=notrunc mbr.bin).
  dd if="$SYSLINUX_MBR" of=a.raw bs=440 count=1 conv=notrunc status=none
  place a.ext4 a.raw 2048
  finish alpine320 a.raw
  {
    echo "## sector 0: the first 440 bytes are $SYSLINUX_MBR (sha256 $(sha256sum "$SYSLINUX_MBR" | cut -d' ' -f1))"
    ext4_listing a.ext4 "partition 1 (ext4 alpine-root)"
    initrd_listing a/boot/initramfs-virt gzip
  } > "$OUT/alpine320.listing.txt"
}

build_linux_bad4() {
  alpine_tree b4 bad4
  mkext4 b4.boot b4boot.ext4 64M $A_BOOT_UUID boot
  rm -f b4.raw; truncate -s 100M b4.raw
  sfdisk -q b4.raw <<PT
label: dos
label-id: 0x5a3c1b2f
start=2048, size=131072, type=83, bootable
start=133120, size=71680, type=83
PT
  # The root: a LUKS2 header (small keyslot area, so the committed image stays small); its data
  # area is left unwritten. The MBR boot code stays empty (sfdisk writes none).
  rm -f b4luks.img; truncate -s 35M b4luks.img
  printf 'imgcheck-fixture' | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --uuid $A_LUKS_UUID --label cryptroot --key-size 256 --luks2-metadata-size 16k \
    --luks2-keyslots-size 128k --key-file - b4luks.img 2>/dev/null
  place b4boot.ext4 b4.raw 2048
  place b4luks.img b4.raw 133120
  finish linux-bad4 b4.raw -o cluster_size=16384
  sed -i 's/^linux-bad4 raw_sha256 [0-9a-f]*/linux-bad4 raw_sha256 nondeterministic (LUKS2 salts and key material)/' manifest.txt
  {
    echo "## sector 0: bytes 0..439 (boot code) are all zero: $(head -c 440 b4.raw | tr -d '\0' | wc -c) non-zero bytes"
    ext4_listing b4boot.ext4 "partition 1 (ext4 boot)"
    echo "## partition 2: cryptsetup luksDump (salts and digests omitted: random per run)"
    cryptsetup luksDump b4luks.img | grep -vE '^\s+([0-9a-f]{2} )+\s*$|Salt:|Digest:' | sed 's/[ \t]*$//'
    initrd_listing b4.boot/initramfs-virt gzip
  } > "$OUT/linux-bad4.listing.txt"
}

# ============================================================================================
# CentOS 6.10 (centos610)
# ============================================================================================
C_BOOT_UUID=c6b0e1d2-3f4a-4b5c-8d6e-7f8091a2b3c4
C_ROOT_UUID=c6a1f2e3-4d5c-4b6a-9e8f-0a1b2c3d4e5f
C_KVER=2.6.32-754.35.1.el6.x86_64
C_KOLD=2.6.32-754.el6.x86_64

centos_tree() {
  local R=$1 k u
  rm -rf "$R" "$R.boot"; mkdir -p "$R.boot/grub" "$R"/{etc/sysconfig/network-scripts,etc/rc.d/init.d,etc/cloud,etc/ssh,etc/selinux,etc/udev/rules.d,etc/init,boot,bin,sbin,lib/modules,lib64,usr/bin,usr/sbin,usr/lib/python2.6/site-packages/cloudinit,var/lib/rpm,root,tmp,home,var/log}
  printf 'CentOS release 6.10 (Final)\n' > "$R/etc/centos-release"
  ln -s centos-release "$R/etc/redhat-release"; ln -s centos-release "$R/etc/system-release"
  printf 'cpe:/o:centos:linux:6:GA\n' > "$R/etc/system-release-cpe"
  printf 'NETWORKING=yes\nHOSTNAME=centos6.localdomain\nNOZEROCONF=yes\n' > "$R/etc/sysconfig/network"
  printf 'DEVICE="eth0"\nBOOTPROTO="dhcp"\nONBOOT="yes"\nTYPE="Ethernet"\nUSERCTL="yes"\nPEERDNS="yes"\nIPV6INIT="no"\n' > "$R/etc/sysconfig/network-scripts/ifcfg-eth0"
  printf 'DEVICE=lo\nIPADDR=127.0.0.1\nNETMASK=255.0.0.0\nONBOOT=yes\nNAME=loopback\n' > "$R/etc/sysconfig/network-scripts/ifcfg-lo"
  printf 'ZONE="UTC"\n' > "$R/etc/sysconfig/clock"
  printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' > "$R/etc/selinux/config"
  cat > "$R/etc/fstab" <<FS

#
# /etc/fstab
# Created by anaconda on Thu Nov 14 22:13:20 2023
#
UUID=$C_ROOT_UUID /                       ext4    defaults        1 1
UUID=$C_BOOT_UUID /boot                   ext4    defaults        1 2
tmpfs                   /dev/shm                tmpfs   defaults        0 0
devpts                  /dev/pts                devpts  gid=5,mode=620  0 0
sysfs                   /sys                    sysfs   defaults        0 0
proc                    /proc                   proc    defaults        0 0
FS
  printf 'datasource_list: [ NoCloud, ConfigDrive, None ]\ncloud_init_modules:\n - growpart\n - resizefs\n' > "$R/etc/cloud/cloud.cfg"
  printf "__VERSION__ = '0.7.5'\n" > "$R/usr/lib/python2.6/site-packages/cloudinit/version.py"
  printf 'Protocol 2\nSyslogFacility AUTHPRIV\nPasswordAuthentication no\nChallengeResponseAuthentication no\nUsePAM yes\nSubsystem\tsftp\t/usr/libexec/openssh/sftp-server\n' > "$R/etc/ssh/sshd_config"
  printf 'root:x:0:0:root:/root:/bin/bash\ncentos:x:500:500:Cloud User:/home/centos:/bin/bash\n' > "$R/etc/passwd"
  printf 'root:!!:17000:0:99999:7:::\ncentos:!!:17000:0:99999:7:::\n' > "$R/etc/shadow"; chmod 000 "$R/etc/shadow"
  # SysV init: scripts in /etc/rc.d/init.d, /etc/init.d and /etc/rcN.d links as CentOS 6 ships them.
  ln -s rc.d/init.d "$R/etc/init.d"
  for u in network sshd cloud-init-local cloud-init cloud-config cloud-final crond rsyslog iptables; do
    printf '#!/bin/sh\n# chkconfig: 2345 50 50\n' > "$R/etc/rc.d/init.d/$u"; chmod 755 "$R/etc/rc.d/init.d/$u"
  done
  local lvl
  for lvl in 2 3 4 5; do
    mkdir -p "$R/etc/rc.d/rc$lvl.d"; ln -s rc.d/rc$lvl.d "$R/etc/rc$lvl.d"
    for l in S10network S12rsyslog S08iptables S55sshd S50cloud-init-local S51cloud-init S52cloud-config S53cloud-final S90crond; do
      ln -s ../init.d/${l#S??} "$R/etc/rc.d/rc$lvl.d/$l"
    done
  done
  for lvl in 0 1 6; do
    mkdir -p "$R/etc/rc.d/rc$lvl.d"; ln -s rc.d/rc$lvl.d "$R/etc/rc$lvl.d"
    ln -s ../init.d/sshd "$R/etc/rc.d/rc$lvl.d/K25sshd"
  done
  printf 'start on stopped rc RUNLEVEL=[2345]\nexec /sbin/mingetty tty1\n' > "$R/etc/init/tty.conf"
  guest_elf_stubs "$R" bin/bash bin/ls usr/sbin/sshd usr/bin/passwd usr/sbin/chpasswd usr/bin/cloud-init sbin/init
  printf '#!/bin/sh\n# growpart (phony; cloud-utils-growpart)\n' > "$R/usr/bin/growpart"; chmod 755 "$R/usr/bin/growpart"
  ln -s bash "$R/bin/sh"
  # GRUB legacy as anaconda writes it, paths relative to the /boot partition.
  cat > "$R.boot/grub/grub.conf" <<GC
# grub.conf generated by anaconda
#
# Note that you do not have to rerun grub after making changes to this file
# NOTICE:  You have a /boot partition.  This means that
#          all kernel and initrd paths are relative to /boot/, eg.
#          root (hd0,0)
#          kernel /vmlinuz-version ro root=/dev/vda2
#          initrd /initrd-[generic-]version.img
#boot=/dev/vda
default=0
timeout=1
serial --unit=0 --speed=115200
terminal --timeout=1 serial console
title CentOS 6 ($C_KVER)
	root (hd0,0)
	kernel /vmlinuz-$C_KVER ro root=UUID=$C_ROOT_UUID rd_NO_LUKS rd_NO_LVM LANG=en_US.UTF-8 rd_NO_MD SYSFONT=latarcyrheb-sun16 crashkernel=auto KEYBOARDTYPE=pc KEYTABLE=us rd_NO_DM console=ttyS0,115200n8 console=tty0
	initrd /initramfs-$C_KVER.img
title CentOS 6 ($C_KOLD)
	root (hd0,0)
	kernel /vmlinuz-$C_KOLD ro root=UUID=$C_ROOT_UUID rd_NO_LUKS rd_NO_LVM LANG=en_US.UTF-8 rd_NO_MD SYSFONT=latarcyrheb-sun16 crashkernel=auto KEYBOARDTYPE=pc KEYTABLE=us rd_NO_DM console=ttyS0,115200n8 console=tty0
	initrd /initramfs-$C_KOLD.img
GC
  ln -s ./grub.conf "$R.boot/grub/menu.lst"
  ln -s ../boot/grub/grub.conf "$R/etc/grub.conf"
  printf 'phony GRUB legacy stage2\n' > "$R.boot/grub/stage2"
  for k in $C_KVER $C_KOLD; do
    printf 'MZ phony kernel image %s\n' $k > "$R.boot/vmlinuz-$k"
    printf 'CONFIG_X86_64=y\nCONFIG_VIRTIO=m\nCONFIG_VIRTIO_RING=m\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\nCONFIG_SCSI_VIRTIO=m\nCONFIG_BLK_DEV_NVME=m\nCONFIG_EXT4_FS=m\nCONFIG_XEN_BLKDEV_FRONTEND=m\n' > "$R.boot/config-$k"
    printf 'phony System.map\n' > "$R.boot/System.map-$k"
    local M=$R/lib/modules/$k
    install_modules "$M" none kernel/drivers/virtio/virtio kernel/drivers/virtio/virtio_ring \
      kernel/drivers/virtio/virtio_pci kernel/drivers/block/virtio_blk kernel/drivers/net/virtio_net \
      kernel/drivers/scsi/virtio_scsi kernel/drivers/block/nvme kernel/fs/ext4/ext4 kernel/fs/jbd2/jbd2 \
      kernel/fs/mbcache kernel/drivers/block/xen-blkfront
    rm -rf ird; mkdir -p ird/lib/modules ird/bin ird/sbin ird/etc ird/sysroot
    cp -a "$M" ird/lib/modules/
    printf '#!/bin/sh\n# dracut-004 init (phony)\n' > ird/init; chmod 755 ird/init
    guest_elf_stubs ird bin/bash sbin/udevd
    guest_initramfs ird "$R.boot/initramfs-$k.img" gzip -9n; rm -rf ird
  done
  # rpm's Berkeley DB (hash) database, written by Berkeley DB's own db_load.
  python3 - > pkgs.load <<'PY'
names = ["centos-release 6-10.el6.centos.12.3", "kernel 2.6.32-754.el6", "kernel 2.6.32-754.35.1.el6",
         "openssh-server 5.3p1-124.el6_10", "cloud-init 0.7.5-10.el6.centos.2", "grub 0.97-99.el6",
         "dracut 004-411.el6", "initscripts 9.03.61-1.el6.centos", "bash 4.1.2-48.el6",
         "cloud-utils-growpart 0.29-2.el6"]
for i, n in enumerate(names, 1):
    print(("%08x" % i))           # the key: the package's header instance number
    print("phony rpm header: " + n)
PY
  db5.3_load -T -t hash -c db_pagesize=4096 "$R/var/lib/rpm/Packages" < pkgs.load
  # Berkeley DB stamps a unique file id (from the host's device, inode and clock) into its
  # metadata pages (DBMETA uid, bytes 52..72 of page 0 and of each copy): zeroed so that runs
  # agree; db5.3_stat reads the file afterwards.
  python3 -c '
import sys
d = bytearray(open(sys.argv[1], "rb").read()); ps = 4096; uid = bytes(d[52:72])
for o in range(0, len(d), ps):
    if d[o + 52:o + 72] == uid:
        d[o + 52:o + 72] = bytes(20)
open(sys.argv[1], "wb").write(d)' "$R/var/lib/rpm/Packages"
  db5.3_stat -d "$R/var/lib/rpm/Packages" >/dev/null
  chmod 700 "$R/root"
}

build_centos610() {
  centos_tree c
  local ext3ish="-O ^metadata_csum,^64bit,^metadata_csum_seed,^orphan_file,uninit_bg -I 256"
  # shellcheck disable=SC2086
  mkext4 c.boot cboot.ext4 300M $C_BOOT_UUID boot $ext3ish
  # shellcheck disable=SC2086
  mkext4 c croot.ext4 320M $C_ROOT_UUID root $ext3ish
  rm -f c.raw; truncate -s 630M c.raw
  sfdisk -q c.raw <<PT
label: dos
label-id: 0x000c6f10
start=2048, size=614400, type=83, bootable
start=616448, size=655360, type=83
PT
  # BIOS boot code: GRUB 2's boot.img + core.img in the MBR gap (GRUB legacy's stage1/stage1.5
  # are not packaged by Debian; the guest's own configuration is GRUB legacy's).
  grub-mkimage -O i386-pc -d "$GRUB_DIR" -o core.img -p '(hd0,msdos1)/grub' biosdisk part_msdos ext2
  guest_grub_mbr_gap c.raw "$GRUB_DIR/boot.img" core.img
  place cboot.ext4 c.raw 2048
  place croot.ext4 c.raw 616448
  finish centos610 c.raw
  {
    echo "## partition 1 and 2: dumpe2fs -h features"
    for f in cboot.ext4 croot.ext4; do dumpe2fs -h $f 2>/dev/null | grep -E '^(Filesystem volume name|Filesystem UUID|Filesystem features):'; done
    ext4_listing cboot.ext4 "partition 1 (ext4 boot)"
    ext4_listing croot.ext4 "partition 2 (ext4 root)"
    echo "## /var/lib/rpm/Packages: db5.3_stat -d (Berkeley DB hash)"
    db5.3_stat -d c/var/lib/rpm/Packages 2>/dev/null | grep -E 'magic|version|Number of keys|page size' || true
    for k in $C_KVER $C_KOLD; do initrd_listing c.boot/initramfs-$k.img gzip; done
  } > "$OUT/centos610.listing.txt"
}

ALL="ubuntu2404 linux-bad3 linux-backing leap156 alpine320 linux-bad4 centos610"
for name in ${ONLY:-$ALL}; do
  echo "make-distro-guests: $name" >&2
  "build_${name//-/_}"
done
{
  echo "# raw disks of testdata/distro-guests (scripts/make-distro-guests.sh); qemu-img convert -O raw NAME.qcow2"
  echo "grub_version $(grub-mkimage --version | sed 's/^.* //')"
  echo "btrfs_progs $(mkfs.btrfs --version 2>&1 | head -1 | sed 's/.* v//')"
  sort manifest.txt
} > "$OUT/manifest.txt.new"
if [ -n "${ONLY:-}" ] && [ -f "$OUT/manifest.txt" ]; then
  # Keep the other images' lines when only some were rebuilt.
  python3 - "$OUT/manifest.txt" "$OUT/manifest.txt.new" <<'PY'
import sys
old = {l.split()[0]: l for l in open(sys.argv[1]) if " raw_sha256 " in l}
new = open(sys.argv[2]).read().splitlines(True)
head = [l for l in new if " raw_sha256 " not in l]
rows = {l.split()[0]: l for l in new if " raw_sha256 " in l}
old.update(rows)
open(sys.argv[2], "w").write("".join(head) + "".join(old[k] for k in sorted(old)))
PY
fi
mv "$OUT/manifest.txt.new" "$OUT/manifest.txt"
ls -l "$OUT"
