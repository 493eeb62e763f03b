#!/usr/bin/env bash
# Build testdata/rhel-guest/: a phony Rocky Linux 9.4 cloud guest laid out the way the
# enterprise-Linux installers lay it out — root on XFS on LVM (VG "rl", LVs "root" and "swap"),
# /boot on its own XFS, an ESP, a BIOS boot partition and BLS boot entries — made only with real,
# independent tools on plain files (no root, no mounting, no loop devices, no lvm tools):
# sfdisk, mkfs.fat + mcopy, mkfs.xfs -p PROTOFILE, mkswap, cpio, gzip, xz, rpmbuild + rpm,
# grub-mkimage and qemu-img. The LVM2 label, metadata area and metadata text are written by the python3 program
# below (the technique of scripts/make-lvm-fixtures.sh).
#
# Layout (GPT, 680 MiB virtual disk; qcow2 with zlib-compressed clusters):
#   MBR                        GRUB's boot.img (/usr/lib/grub/i386-pc/boot.img) loading core.img from
#                              LBA 2048, installed as grub-bios-setup does (scripts/grub-bios-embed.py)
#   1  BIOS boot       1 MiB   GRUB core.img from grub-mkimage -O i386-pc (biosdisk part_gpt xfs,
#                              prefix (hd0,gpt3)/grub2: /boot is partition 3); no i386-pc modules in
#                              /boot/grub2, so a BIOS boot stops at GRUB's rescue prompt after reading
#                              /boot (scripts/boot-bios-fixtures.sh proves it under QEMU)
#   2  EFI System     16 MiB   FAT16: EFI/rocky/{shimx64,grubx64}.efi + grub.cfg stub, EFI/BOOT
#   3  /boot         320 MiB   XFS v5: two kernels, dracut-like initramfs, BLS entries, grub2/
#   4  Linux LVM     340 MiB   PV of VG "rl": LV root (320 MiB, XFS v5, the root tree) and
#                              LV swap (8 MiB, mkswap)
#
# The rpm database (/var/lib/rpm/rpmdb.sqlite) is written by the real rpm (Debian's rpm 4.18,
# sqlite backend, as RHEL 9) from tiny packages built here with rpmbuild.
#
# Writes into OUTDIR (default testdata/rhel-guest):
#   rhel9.qcow2            the disk
#   rhel9.sfdisk.json      sfdisk --json of the raw disk
#   rhel9.qemu-info.json   qemu-img info (format, virtual size, cluster size)
#   boot.xfs_db.txt        xfs_db -r: superblock uuid/version and `ls` of every directory of /boot
#   root.xfs_db.txt        the same for the root LV
#   lvm-metadata.txt       the VG metadata text as stored in the PV's metadata area
#   lvm-pvck.txt           pvck --dump headers / metadata of the PV
#   rpm-qa.txt             rpm -qa --root of the database (sorted)
#   manifest.json          the facts imgcheck must report and the sha256 of every regular file
#
# Needs (Debian packages): fdisk dosfstools mtools xfsprogs util-linux cpio gzip xz-utils rpm
# qemu-utils faketime python3 lvm2 (pvck, to verify the PV) grub-pc-bin (grub-mkimage, boot.img;
# the committed image was made with 2.12-1~bpo12+1 from bookworm-backports — another GRUB version
# builds different, equally valid, boot code, and the manifest's raw_sha256 then differs).
#
# Usage: scripts/make-rhel-guest.sh [--out DIR]
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC SOURCE_DATE_EPOCH=1714564800   # 2024-05-01 12:00:00 UTC
FAKE='2024-05-01 12:00:00'
PATH=$PATH:/usr/sbin:/sbin
OUT=testdata/rhel-guest
if [ "${1:-}" = "--out" ]; then OUT=$2; fi
for tool in sfdisk mkfs.fat mcopy mkfs.xfs xfs_db pvck mkswap cpio gzip xz rpm rpmbuild qemu-img faketime python3 grub-mkimage; do
    command -v "$tool" >/dev/null || { echo "make-rhel-guest: $tool missing" >&2; exit 1; }
done
GRUB_DIR=${GRUB_DIR:-/usr/lib/grub/i386-pc}
[ -f "$GRUB_DIR/boot.img" ] || { echo "make-rhel-guest: $GRUB_DIR/boot.img missing (Debian package grub-pc-bin)" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"

DISK_GUID=9C4E2A71-3B5D-4F60-8E1A-2B3C4D5E6F70
ESP_PARTUUID=9C4E2A71-0000-4000-8000-000000000002
BOOT_PARTUUID=9C4E2A71-0000-4000-8000-000000000003
LVM_PARTUUID=9C4E2A71-0000-4000-8000-000000000004
BOOT_UUID=6b1f3c2a-8d4e-4a7b-9c10-2e3f4a5b6c7d
ROOT_UUID=0d5e7f91-2a3b-4c4d-8e5f-6a7b8c9d0e1f
SWAP_UUID=3e8a1b2c-4d5e-4f60-9a7b-8c9d0e1f2a3b
ESP_SERIAL=7E3A5C1D              # blkid: 7E3A-5C1D
ESP_UUID=7E3A-5C1D
# The build machine's id: it names the BLS entries; the image's /etc/machine-id is emptied as
# Rocky's cloud images ship it (regenerated on first boot).
BUILD_MID=4f0c1e8b2d3a4c5e9f6a7b8c9d0e1f2a
KVER=5.14.0-427.13.1.el9_4.x86_64          # default (saved_entry), newest
KOLD=5.14.0-362.24.1.el9_3.x86_64          # an older kernel left by an update
CMDLINE="root=/dev/mapper/rl-root ro resume=/dev/mapper/rl-swap rd.lvm.lv=rl/root rd.lvm.lv=rl/swap console=ttyS0,115200n8"

# ===== the root tree ========================================================================
R=$work/root
mkdir -p $R/{etc,usr/bin,usr/sbin,usr/lib,usr/lib64,usr/share/zoneinfo,var/lib/rpm,var/log,var/tmp,root,home,boot,tmp,dev,proc,sys,run,mnt,opt,srv,media}
ln -s usr/bin $R/bin; ln -s usr/sbin $R/sbin; ln -s usr/lib $R/lib; ln -s usr/lib64 $R/lib64
cat > $R/usr/lib/os-release <<'OS'
NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.4"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
OS
ln -s ../usr/lib/os-release $R/etc/os-release
echo 'Rocky Linux release 9.4 (Blue Onyx)' > $R/etc/rocky-release
ln -s rocky-release $R/etc/redhat-release
ln -s rocky-release $R/etc/system-release
echo 'cpe:/o:rocky:rocky:9::baseos' > $R/etc/system-release-cpe
echo rocky9-guest > $R/etc/hostname
: > $R/etc/machine-id
printf 'LANG="C.UTF-8"\n' > $R/etc/locale.conf
printf 'TZif2\0phony UTC zone\n' > $R/usr/share/zoneinfo/UTC
ln -s ../usr/share/zoneinfo/UTC $R/etc/localtime
printf '0.0 0 0.0\n0\nUTC\n' > $R/etc/adjtime
cat > $R/etc/fstab <<FS

#
# /etc/fstab
# Created by anaconda on Wed May  1 12:00:00 2024
#
# Accessible filesystems, by reference, are maintained under '/dev/disk/'.
# See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info.
#
# After editing this file, run 'systemctl daemon-reload' to update systemd
# units generated from this file.
#
/dev/mapper/rl-root     /                       xfs     defaults        0 0
UUID=$BOOT_UUID /boot                   xfs     defaults        0 0
UUID=$ESP_UUID          /boot/efi               vfat    umask=0077,shortname=winnt 0 2
/dev/mapper/rl-swap     none                    swap    defaults        0 0
FS
mkdir -p $R/etc/default $R/etc/kernel
cat > $R/etc/default/grub <<'GR'
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR="$(sed 's, release .*$,,g' /etc/system-release)"
GRUB_DEFAULT=saved
GRUB_DISABLE_SUBMENU=true
GRUB_TERMINAL_OUTPUT="console"
GRUB_CMDLINE_LINUX="console=ttyS0,115200n8 resume=/dev/mapper/rl-swap rd.lvm.lv=rl/root rd.lvm.lv=rl/swap"
GRUB_DISABLE_RECOVERY="true"
GRUB_ENABLE_BLSCFG=true
GR
echo "$CMDLINE" > $R/etc/kernel/cmdline
mkdir -p $R/etc/selinux $R/etc/sysconfig
cat > $R/etc/selinux/config <<'SE'

# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
#     enforcing - SELinux security policy is enforced.
#     permissive - SELinux prints warnings instead of enforcing.
#     disabled - No SELinux policy is loaded.
SELINUX=enforcing
# SELINUXTYPE= can take one of these three values:
#     targeted - Targeted processes are protected,
#     minimum - Modification of targeted policy. Only selected processes are protected.
#     mls - Multi Level Security protection.
SELINUXTYPE=targeted
SE
ln -s ../selinux/config $R/etc/sysconfig/selinux
mkdir -p $R/etc/NetworkManager/system-connections
cat > $R/etc/NetworkManager/system-connections/eth0.nmconnection <<'NM'
[connection]
id=System eth0
uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03
type=ethernet
autoconnect=true
interface-name=eth0

[ethernet]

[ipv4]
method=auto

[ipv6]
addr-gen-mode=eui64
method=auto

[proxy]
NM
chmod 600 $R/etc/NetworkManager/system-connections/eth0.nmconnection
mkdir -p $R/etc/cloud/cloud.cfg.d
cat > $R/etc/cloud/cloud.cfg <<'CC'
users:
 - default

disable_root: true
mount_default_fields: [~, ~, 'auto', 'defaults,nofail,x-systemd.requires=cloud-init.service,_netdev', '0', '2']
resize_rootfs_tmp: /dev
ssh_pwauth: false
ssh_deletekeys: true
ssh_genkeytypes: ['rsa', 'ecdsa', 'ed25519']
syslog_fix_perms: ~
disable_vmware_customization: false

cloud_init_modules:
 - migrator
 - seed_random
 - bootcmd
 - write_files
 - growpart
 - resizefs
 - disk_setup
 - mounts
 - set_hostname
 - update_hostname
 - update_etc_hosts
 - ca_certs
 - rsyslog
 - users_groups
 - ssh

cloud_config_modules:
 - ssh_import_id
 - locale
 - set_passwords
 - rh_subscription
 - spacewalk
 - yum_add_repo
 - ntp
 - timezone
 - disable_ec2_metadata
 - runcmd

cloud_final_modules:
 - package_update_upgrade_install
 - write_files_deferred
 - puppet
 - chef
 - ansible
 - mcollective
 - salt_minion
 - reset_rmc
 - rightscale_userdata
 - scripts_vendor
 - scripts_per_once
 - scripts_per_boot
 - scripts_per_instance
 - scripts_user
 - ssh_authkey_fingerprints
 - keys_to_console
 - install_hotplug
 - phone_home
 - final_message
 - power_state_change

system_info:
  default_user:
    name: rocky
    lock_passwd: true
    gecos: Rocky Cloud User
    groups: [adm, systemd-journal]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
  distro: rocky
  network:
    renderers: ['sysconfig', 'eni', 'netplan', 'network-manager', 'networkd']
  paths:
    cloud_dir: /var/lib/cloud
    templates_dir: /etc/cloud/templates
  ssh_svcname: sshd
CC
printf 'network:\n  config: disabled\n' > $R/etc/cloud/cloud.cfg.d/99-custom-networking.cfg
mkdir -p $R/etc/ssh/sshd_config.d
cat > $R/etc/ssh/sshd_config <<'SS'
#	$OpenBSD: sshd_config,v 1.104 2021/07/02 05:11:21 dtucker Exp $

# To modify the system-wide sshd configuration, create a  *.conf  file under
#  /etc/ssh/sshd_config.d/  which will be automatically included below
Include /etc/ssh/sshd_config.d/*.conf

#Port 22
#PermitRootLogin prohibit-password
AuthorizedKeysFile	.ssh/authorized_keys
#PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
Subsystem	sftp	/usr/libexec/openssh/sftp-server
SS
printf '# This system is following system-wide crypto policy.\nSyslogFacility AUTHPRIV\nChallengeResponseAuthentication no\nGSSAPIAuthentication yes\nGSSAPICleanupCredentials no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\n' > $R/etc/ssh/sshd_config.d/50-redhat.conf
printf 'PasswordAuthentication no\n' > $R/etc/ssh/sshd_config.d/50-cloud-init.conf
chmod 600 $R/etc/ssh/sshd_config $R/etc/ssh/sshd_config.d/*.conf
printf 'root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\ndaemon:x:2:2:daemon:/sbin:/sbin/nologin\nsshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin\nchrony:x:998:996:chrony system user:/var/lib/chrony:/sbin/nologin\n' > $R/etc/passwd
printf 'root:!!::0:99999:7:::\nbin:*:19478:0:99999:7:::\ndaemon:*:19478:0:99999:7:::\nsshd:!!:19844::::::\nchrony:!!:19844::::::\n' > $R/etc/shadow
printf 'root:x:0:\nbin:x:1:\ndaemon:x:2:\nadm:x:4:\nwheel:x:10:\nsshd:x:74:\nchrony:x:996:\n' > $R/etc/group
chmod 000 $R/etc/shadow          # as RHEL ships it
printf 'pool 2.rocky.pool.ntp.org iburst\nsourcedir /run/chrony-dhcp\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\n' > $R/etc/chrony.conf

# systemd units and their enablement symlinks, as `systemctl enable` leaves them
U=$R/usr/lib/systemd/system
W=$R/etc/systemd/system
mkdir -p $U $W/multi-user.target.wants $W/cloud-init.target.wants $W/network-online.target.wants $W/sysinit.target.wants
unit() { # name description execstart wantedby
    printf '[Unit]\nDescription=%s\n\n[Service]\nExecStart=%s\n\n[Install]\nWantedBy=%s\n' "$2" "$3" "$4" > $U/$1
}
unit sshd.service 'OpenSSH server daemon' '/usr/sbin/sshd -D $OPTIONS' multi-user.target
unit chronyd.service 'NTP client/server' '/usr/sbin/chronyd $OPTIONS' multi-user.target
unit NetworkManager.service 'Network Manager' '/usr/sbin/NetworkManager --no-daemon' multi-user.target
unit NetworkManager-wait-online.service 'Network Manager Wait Online' '/usr/bin/nm-online -s -q' network-online.target
unit qemu-guest-agent.service 'QEMU Guest Agent' '/usr/bin/qemu-ga --method=virtio-serial' multi-user.target
for u in cloud-init-local cloud-init cloud-config cloud-final; do
    unit $u.service "cloud-init stage $u" "/usr/bin/cloud-init" cloud-init.target
    ln -s /usr/lib/systemd/system/$u.service $W/cloud-init.target.wants/$u.service
done
printf '[Unit]\nDescription=Cloud-init target\nAfter=multi-user.target\n\n[Install]\nWantedBy=multi-user.target\n' > $U/cloud-init.target
printf '[Unit]\nDescription=Multi-User System\nRequires=basic.target\n' > $U/multi-user.target
for u in sshd chronyd NetworkManager qemu-guest-agent; do
    ln -s /usr/lib/systemd/system/$u.service $W/multi-user.target.wants/$u.service
done
ln -s /usr/lib/systemd/system/cloud-init.target $W/multi-user.target.wants/cloud-init.target
ln -s /usr/lib/systemd/system/NetworkManager-wait-online.service $W/network-online.target.wants/NetworkManager-wait-online.service
ln -s /usr/lib/systemd/system/multi-user.target $W/default.target

# Executables: minimal x86-64 ELF headers (64 bytes), enough for architecture detection.
python3 - "$R" <<'PY'
import os, struct, sys
root = sys.argv[1]
hdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
hdr += struct.pack("<HHIQQQIHHHHHH", 3, 0x3E, 1, 0x1000, 64, 0, 0, 64, 56, 0, 64, 0, 0)
for p in ["usr/bin/bash", "usr/bin/ls", "usr/bin/passwd", "usr/bin/rpm", "usr/bin/cloud-init",
          "usr/bin/growpart", "usr/bin/qemu-ga", "usr/bin/nm-online", "usr/sbin/sshd",
          "usr/sbin/chpasswd", "usr/sbin/NetworkManager", "usr/sbin/chronyd", "usr/sbin/lvm",
          "usr/sbin/xfs_growfs", "usr/sbin/dracut", "usr/lib/systemd/systemd"]:
    path = os.path.join(root, p)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(hdr)
    os.chmod(path, 0o755)
PY
ln -s bash $R/usr/bin/sh
ln -s ../lib/systemd/systemd $R/usr/sbin/init

# ===== kernels: modules, config, System.map, image, dracut-like initramfs ===================
B=$work/boot
mkdir -p $B/loader/entries $B/grub2 $B/efi
# Drivers a RHEL 9 kernel builds as modules (virtio_pci, virtio_ring are built in).
MODS="block/virtio_blk scsi/virtio_scsi net/virtio_net nvme/host/nvme nvme/host/nvme-core md/dm-mod net/ethernet/amazon/ena/ena"
INITRD_MODS="block/virtio_blk scsi/virtio_scsi net/virtio_net nvme/host/nvme nvme/host/nvme-core md/dm-mod"
for kv in $KOLD $KVER; do
    M=$R/usr/lib/modules/$kv
    mkdir -p $M/kernel/fs/xfs
    for m in $MODS; do
        mkdir -p $M/kernel/drivers/$(dirname $m)
        printf 'phony module %s for %s\n' "$(basename $m)" $kv | xz -9 -C crc32 > $M/kernel/drivers/$m.ko.xz
    done
    printf 'phony module xfs for %s\n' $kv | xz -9 -C crc32 > $M/kernel/fs/xfs/xfs.ko.xz
    {
        for m in $MODS; do
            case $m in
            nvme/host/nvme) echo "kernel/drivers/$m.ko.xz: kernel/drivers/nvme/host/nvme-core.ko.xz" ;;
            *) echo "kernel/drivers/$m.ko.xz:" ;;
            esac
        done
        echo "kernel/fs/xfs/xfs.ko.xz:"
    } > $M/modules.dep
    printf 'kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/virtio/virtio_pci_modern_dev.ko\nkernel/drivers/block/loop.ko\n' > $M/modules.builtin
    cat > $B/config-$kv <<KC
#
# Automatically generated file; DO NOT EDIT.
# Linux/x86_64 $kv Kernel Configuration
#
CONFIG_X86_64=y
CONFIG_64BIT=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=m
CONFIG_VIRTIO_NET=m
CONFIG_SCSI_VIRTIO=m
CONFIG_BLK_DEV_NVME=m
CONFIG_NVME_CORE=m
CONFIG_BLK_DEV_DM=m
CONFIG_XFS_FS=m
CONFIG_EXT4_FS=m
CONFIG_ENA_ETHERNET=m
CONFIG_SECURITY_SELINUX=y
KC
    printf 'ffffffff81000000 T startup_64\nffffffff81000000 T _stext\nffffffff81000040 T secondary_startup_64\n' > $B/System.map-$kv
    # A bzImage-shaped file: MZ, boot-sector signature, "HdrS" header pointing at the version.
    python3 - "$B/vmlinuz-$kv" "$kv" <<'PY'
import struct, sys
path, kv = sys.argv[1], sys.argv[2]
img = bytearray(0x3000)
img[0:2] = b"MZ"
img[0x1FE:0x200] = b"\x55\xaa"
img[0x1F1] = 27                                   # setup_sects
img[0x202:0x206] = b"HdrS"
struct.pack_into("<H", img, 0x206, 0x020F)        # boot protocol 2.15
ver = f"{kv} (mockbuild@iad1-prod-build001.bld.equ.rockylinux.org) #1 SMP PREEMPT_DYNAMIC".encode()
img[0x1000:0x1000 + len(ver)] = ver
struct.pack_into("<H", img, 0x20E, 0x1000 - 0x200)  # kernel_version, relative to 0x200
open(path, "wb").write(bytes(img))
PY
    cp $B/vmlinuz-$kv $M/vmlinuz
    printf 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  vmlinuz-%s\n' $kv > $B/.vmlinuz-$kv.hmac
    # dracut: an uncompressed early cpio (CPU microcode) followed by the gzip'd main cpio.
    E=$work/early-$kv; I=$work/initrd-$kv
    mkdir -p $E/kernel/x86/microcode
    echo 1 > $E/early_cpio
    printf 'phony GenuineIntel microcode\n' > $E/kernel/x86/microcode/GenuineIntel.bin
    mkdir -p $I/usr/lib/modules/$kv/kernel/fs/xfs $I/usr/bin $I/usr/sbin $I/etc/lvm $I/etc/cmdline.d $I/usr/lib/dracut
    for m in $INITRD_MODS; do
        mkdir -p $I/usr/lib/modules/$kv/kernel/drivers/$(dirname $m)
        cp $M/kernel/drivers/$m.ko.xz $I/usr/lib/modules/$kv/kernel/drivers/$m.ko.xz
    done
    cp $M/kernel/fs/xfs/xfs.ko.xz $I/usr/lib/modules/$kv/kernel/fs/xfs/
    grep -v ena $M/modules.dep > $I/usr/lib/modules/$kv/modules.dep
    cp $M/modules.builtin $I/usr/lib/modules/$kv/
    printf 'dracut-057-53.git20240104.el9\n' > $I/usr/lib/dracut/dracut-version
    printf 'rd.lvm.lv=rl/root rd.lvm.lv=rl/swap\n' > $I/etc/cmdline.d/90lvm.conf
    printf 'devices {\n    use_devicesfile = 0\n}\n' > $I/etc/lvm/lvm.conf
    cp $R/usr/sbin/lvm $I/usr/sbin/lvm
    cp $R/usr/lib/systemd/systemd $I/init && chmod 755 $I/init
    ln -s usr/bin $I/bin; ln -s usr/sbin $I/sbin; ln -s usr/lib $I/lib
    find $E $I -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
    { (cd $E && find . -mindepth 1 | sort | cpio --quiet -o -H newc --reproducible -R 0:0)
      (cd $I && find . -mindepth 1 | sort | cpio --quiet -o -H newc --reproducible -R 0:0 | gzip -9n)
    } > $B/initramfs-$kv.img
    chmod 600 $B/initramfs-$kv.img
done
# BLS entries (kernel-install names them <machine-id>-<version>.conf).
bls() { # kver title options
    cat > $B/loader/entries/$BUILD_MID-$1.conf <<EOF
title $2
version $1
linux /vmlinuz-$1
initrd /initramfs-$1.img \$tuned_initrd
options $3
grub_users \$grub_users
grub_arg --unrestricted
grub_class rocky
EOF
}
bls $KVER "Rocky Linux (${KVER}) 9.4 (Blue Onyx)" "$CMDLINE"
bls $KOLD "Rocky Linux (${KOLD}) 9.3 (Blue Onyx)" '$kernelopts $tuned_params'
cat > $B/grub2/grub.cfg <<GC
#
# DO NOT EDIT THIS FILE
#
# It is automatically generated by grub2-mkconfig using templates
# from /etc/grub.d and settings from /etc/default/grub
#

### BEGIN /etc/grub.d/00_header ###
set pager=1

if [ -f \${config_directory}/grubenv ]; then
  load_env -f \${config_directory}/grubenv
elif [ -s \$prefix/grubenv ]; then
  load_env
fi
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="\${saved_entry}"
fi

if [ x"\${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi

export menuentry_id_option

serial --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=1
### END /etc/grub.d/00_header ###

### BEGIN /etc/grub.d/10_linux ###
insmod part_gpt
insmod xfs
search --no-floppy --fs-uuid --set=root $BOOT_UUID
insmod blscfg
blscfg
### END /etc/grub.d/10_linux ###

### BEGIN /etc/grub.d/30_uefi-firmware ###
if [ "\$grub_platform" = "efi" ]; then
	menuentry 'UEFI Firmware Settings' \$menuentry_id_option 'uefi-firmware' {
		fwsetup
	}
fi
### END /etc/grub.d/30_uefi-firmware ###
GC
python3 - "$B/grub2/grubenv" "$BUILD_MID-$KVER" "$CMDLINE" <<'PY'
import sys
path, entry, opts = sys.argv[1:4]
body = f"# GRUB Environment Block\n# WARNING: Do not edit this file by tools other than grub-editenv!!!\nsaved_entry={entry}\nmenu_auto_hide=1\nboot_success=0\nkernelopts={opts}\n"
data = body.encode()
open(path, "wb").write(data + b"#" * (1024 - len(data)))
PY
chmod 600 $B/grub2/grubenv

# ===== the rpm database, written by rpm ======================================================
# name epoch version release arch
cat > pkgs.txt <<'PK'
rocky-release 0 9.4 1.7.el9 noarch
rocky-repos 0 9.4 1.7.el9 noarch
rocky-gpg-keys 0 9.4 1.7.el9 noarch
bash 0 5.1.8 9.el9 x86_64
glibc 0 2.34 100.el9_4.2 x86_64
coreutils 0 8.32 35.el9 x86_64
systemd 0 252 32.el9_4 x86_64
rpm 0 4.16.1.3 29.el9 x86_64
kernel 0 5.14.0 427.13.1.el9_4 x86_64
kernel-core 0 5.14.0 427.13.1.el9_4 x86_64
kernel-modules-core 0 5.14.0 427.13.1.el9_4 x86_64
kernel-core 0 5.14.0 362.24.1.el9_3 x86_64
kernel-modules-core 0 5.14.0 362.24.1.el9_3 x86_64
dracut 0 057 53.git20240104.el9 x86_64
grub2-common 1 2.06 77.el9 noarch
grub2-pc 1 2.06 77.el9 x86_64
grub2-efi-x64 1 2.06 77.el9 x86_64
shim-x64 0 15.8 4.el9_3 x86_64
lvm2 9 2.03.23 2.el9 x86_64
xfsprogs 0 6.3.0 1.el9 x86_64
openssh-server 0 8.7p1 38.el9 x86_64
NetworkManager 1 1.46.0 4.el9_4 x86_64
cloud-init 0 23.4 7.el9_4 noarch
cloud-utils-growpart 0 0.33 1.el9 x86_64
qemu-guest-agent 17 8.2.0 11.el9_4 x86_64
chrony 0 4.5 1.el9 x86_64
selinux-policy-targeted 0 38.1.35 2.el9_4 noarch
PK
mkdir -p rpmbuild/SPECS
while read -r name epoch ver rel arch; do
    {
        echo "Name: $name"
        [ "$epoch" = 0 ] || echo "Epoch: $epoch"
        echo "Version: $ver"
        echo "Release: $rel"
        echo "Summary: phony $name for the imgcheck Rocky Linux 9 fixture"
        echo "License: MIT"
        echo "Vendor: Rocky Enterprise Software Foundation"
        echo "Packager: Rocky Linux Build System (Peridot) <releng@rockylinux.org>"
        echo "AutoReqProv: no"
        [ "$arch" = noarch ] && echo "BuildArch: noarch"
        printf '%%description\nA placeholder package named like the Rocky Linux 9.4 one.\n%%files\n'
    } > rpmbuild/SPECS/$name-$ver-$rel.spec
    faketime -f "$FAKE" rpmbuild -bb --quiet --target x86_64 \
        --define "_topdir $work/rpmbuild" --define 'debug_package %{nil}' \
        --define '_buildhost iad1-prod-build001.bld.equ.rockylinux.org' \
        --define 'use_source_date_epoch_as_buildtime 1' --define 'clamp_mtime_to_source_date_epoch 1' \
        --define '_build_id_links none' \
        rpmbuild/SPECS/$name-$ver-$rel.spec >/dev/null 2>rpmbuild.log || { cat rpmbuild.log >&2; exit 1; }
done < pkgs.txt
RPMS=$(find rpmbuild/RPMS -name '*.rpm' | sort)
faketime -f "$FAKE" rpm --root $R --dbpath /var/lib/rpm --define '_db_backend sqlite' --initdb
faketime -f "$FAKE" rpm --root $R --dbpath /var/lib/rpm --define '_db_backend sqlite' \
    -i --justdb --nodeps --noscripts --notriggers --ignorearch --ignoreos --nosignature $RPMS
rpm --root $R --dbpath /var/lib/rpm -qa | sort > rpm-qa.txt
rpm --root $R --dbpath /var/lib/rpm -qa --qf '%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n' | sort > rpm-nevra.txt
# A cleanly closed sqlite database leaves no WAL to replay; remove empty side files if any.
for f in $R/var/lib/rpm/rpmdb.sqlite-wal $R/var/lib/rpm/rpmdb.sqlite-shm; do
    [ -e "$f" ] || continue
    [ -s "$f" ] && [ "${f##*-}" = wal ] && { echo "make-rhel-guest: rpm left a non-empty WAL" >&2; exit 1; }
    rm -f "$f"
done
[ -s $R/var/lib/rpm/rpmdb.sqlite ] || { echo "make-rhel-guest: no rpmdb.sqlite" >&2; exit 1; }
[ "$(wc -l < rpm-qa.txt)" = "$(wc -l < pkgs.txt)" ] || { echo "make-rhel-guest: rpm -qa count" >&2; exit 1; }
chmod 644 $R/var/lib/rpm/rpmdb.sqlite

# ===== ESP ===================================================================================
mkdir -p esp/EFI/BOOT esp/EFI/rocky
printf 'MZ phony shim 15.8 (shimx64.efi)\n' > esp/EFI/rocky/shimx64.efi
printf 'MZ phony grub 2.06 (grubx64.efi)\n' > esp/EFI/rocky/grubx64.efi
printf 'MZ phony mokmanager\n' > esp/EFI/rocky/mmx64.efi
printf '\xff\xfes\x00h\x00i\x00m\x00x\x006\x004\x00.\x00e\x00f\x00i\x00,\x00R\x00o\x00c\x00k\x00y\x00 \x00L\x00i\x00n\x00u\x00x\x00,\x00,\x00\n\x00' > esp/EFI/rocky/BOOTX64.CSV
cp esp/EFI/rocky/shimx64.efi esp/EFI/BOOT/BOOTX64.EFI
printf 'MZ phony fallback\n' > esp/EFI/BOOT/fbx64.efi
printf 'search --no-floppy --fs-uuid --set=dev %s\nset prefix=($dev)/grub2\n\nexport $prefix\nconfigfile $prefix/grub.cfg\n' $BOOT_UUID > esp/EFI/rocky/grub.cfg
find esp -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
rm -f esp.fat; faketime -f "$FAKE" mkfs.fat -F 16 -s 1 -n "" -i $ESP_SERIAL -C esp.fat 16384 >/dev/null
faketime -f "$FAKE" mcopy -s -m -i esp.fat esp/EFI ::/

# ===== XFS file systems from protofiles =====================================================
find $R $B -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
protofile() { # tree out-protofile out-files.json
    python3 - "$1" "$2" "$3" <<'PY'
import hashlib, json, os, stat, sys
tree, proto, listing = sys.argv[1:4]
lines = ["/dev/null", "0 0", f"d--{stat.S_IMODE(os.lstat(tree).st_mode) & 0o777:03o} 0 0"]
files = []
def walk(d, rel, depth):
    for name in sorted(os.listdir(d)):
        assert not any(c.isspace() for c in name), name
        p = os.path.join(d, name); r = rel + "/" + name
        st = os.lstat(p); perm = stat.S_IMODE(st.st_mode); ind = " " * depth
        # a protofile mode has no sticky bit: /tmp and /var/tmp lose theirs
        mode = f"{'u' if perm & 0o4000 else '-'}{'g' if perm & 0o2000 else '-'}{perm & 0o777:03o}"
        if stat.S_ISLNK(st.st_mode):
            t = os.readlink(p)
            lines.append(f"{ind}{name} l{mode} 0 0 {t}")
            files.append({"path": r, "type": "symlink", "target": t})
        elif stat.S_ISDIR(st.st_mode):
            lines.append(f"{ind}{name} d{mode} 0 0")
            files.append({"path": r, "type": "dir", "mode": perm & 0o6777})
            walk(p, r, depth + 1)
            lines.append(f"{ind}$")
        else:
            lines.append(f"{ind}{name} -{mode} 0 0 {p}")
            data = open(p, "rb").read()
            files.append({"path": r, "type": "file", "mode": perm & 0o6777, "size": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()})
walk(tree, "", 1)
lines.append("$")
open(proto, "w").write("\n".join(lines) + "\n")
json.dump(files, open(listing, "w"))
PY
}
chmod 555 $R; chmod 1777 $R/tmp $R/var/tmp; chmod 550 $R/root; chmod 555 $R/proc $R/sys $R/usr/bin $R/usr/sbin
chmod 555 $B; chmod 700 $B/grub2 $B/efi
protofile $R root.proto root.files.json
protofile $B boot.proto boot.files.json
protofile esp esp.proto esp.files.json     # only its listing is used
chmod -R u+w $R $B    # so that the trap can clean up
faketime -f "$FAKE" mkfs.xfs -q -f -p boot.proto -d file,name=boot.xfs,size=320m -m uuid=$BOOT_UUID
faketime -f "$FAKE" mkfs.xfs -q -f -p root.proto -d file,name=root.xfs,size=320m -m uuid=$ROOT_UUID
truncate -s 8M swap.img
mkswap -q -U $SWAP_UUID swap.img

# ===== the disk: GPT, ESP, /boot, LVM PV =====================================================
MiB=1048576
truncate -s 680M disk.raw
sfdisk -q disk.raw <<PT
label: gpt
label-id: $DISK_GUID
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, uuid=9C4E2A71-0000-4000-8000-000000000001
start=4096, size=32768, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_PARTUUID, name="EFI System Partition"
start=36864, size=655360, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$BOOT_PARTUUID
start=692224, size=696320, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, uuid=$LVM_PARTUUID
PT
# BIOS boot code: the core.img grub2-install builds for /boot (XFS, partition 3 of a GPT disk),
# embedded into the BIOS boot partition, and GRUB's boot.img in the MBR pointing at it.
grub-mkimage -O i386-pc -d "$GRUB_DIR" -o core.img -p '(hd0,gpt3)/grub2' biosdisk part_gpt xfs
python3 "$here/scripts/grub-bios-embed.py" disk.raw "$GRUB_DIR/boot.img" core.img >/dev/null
GRUB_VERSION=$(grub-mkimage --version | sed 's/^.* //')
CORE_SHA=$(sha256sum core.img | cut -d' ' -f1)
CORE_SIZE=$(stat -c %s core.img)
BOOT_IMG_SHA=$(sha256sum "$GRUB_DIR/boot.img" | cut -d' ' -f1)
dd if=esp.fat of=disk.raw bs=512 seek=4096 conv=notrunc,sparse status=none
dd if=boot.xfs of=disk.raw bs=512 seek=36864 conv=notrunc,sparse status=none

python3 - disk.raw $((692224 * 512)) $((696320 * 512)) root.xfs swap.img lvm-metadata.txt <<'PY'
"""The LVM2 PV of VG "rl" (label, one metadata area, metadata text) and its two LVs' data."""
import struct, sys, zlib
disk, base, size, root_img, swap_img, meta_out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:7]
SECTOR, MiB = 512, 1 << 20
EXT = 4 * MiB                                   # anaconda's default extent size

def lvm_crc(data, crc=0xF597A6CF):
    return zlib.crc32(data, crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF

def dashed(u):
    out, pos = [], 0
    for n in (6, 4, 4, 4, 4, 4, 6):
        out.append(u[pos:pos + n]); pos += n
    return "-".join(out)

PV_UUID = "Rk9pvAAAAbbbbCCCCddddEEEEffff001"
VG_ID = "Rk9vgG-aaaa-bbbb-cccc-dddd-eeee-ffff01"
pe_start = MiB
pe_count = (size - pe_start) // EXT
root_ext = 320 * MiB // EXT
swap_ext = 8 * MiB // EXT
assert root_ext + swap_ext <= pe_count
text = f"""rl {{
id = "{VG_ID}"
seqno = 3
format = "lvm2"\t# informational
status = ["RESIZEABLE", "READ", "WRITE"]
flags = []
extent_size = {EXT // SECTOR}\t# 4 Megabytes
max_lv = 0
max_pv = 0
metadata_copies = 0

physical_volumes {{

pv0 {{
id = "{dashed(PV_UUID)}"
device = "/dev/vda4"\t# Hint only

status = ["ALLOCATABLE"]
flags = []
dev_size = {size // SECTOR}\t# 340 Megabytes
pe_start = {pe_start // SECTOR}
pe_count = {pe_count}\t# {pe_count * 4} Megabytes
}}
}}

logical_volumes {{

root {{
id = "Rk9lvR-aaaa-bbbb-cccc-dddd-eeee-root01"
status = ["READ", "WRITE", "VISIBLE"]
flags = []
creation_time = 1714564800\t# 2024-05-01 12:00:00 +0000
creation_host = "localhost"
segment_count = 1

segment1 {{
start_extent = 0
extent_count = {root_ext}\t# 320 Megabytes

type = "striped"
stripe_count = 1\t# linear

stripes = [
"pv0", 0
]
}}
}}

swap {{
id = "Rk9lvS-aaaa-bbbb-cccc-dddd-eeee-swap01"
status = ["READ", "WRITE", "VISIBLE"]
flags = []
creation_time = 1714564800\t# 2024-05-01 12:00:00 +0000
creation_host = "localhost"
segment_count = 1

segment1 {{
start_extent = 0
extent_count = {swap_ext}\t# 8 Megabytes

type = "striped"
stripe_count = 1\t# linear

stripes = [
"pv0", {root_ext}
]
}}
}}
}}

}}
# Generated by LVM2 version 2.03.23(2)-RHEL9 (2023-11-21): Wed May  1 12:00:00 2024

contents = "Text Format Volume Group"
version = 1

description = "Write from lvcreate -L 8M -n swap rl."

creation_host = "localhost"\t# Linux localhost 5.14.0-427.13.1.el9_4.x86_64 #1 SMP PREEMPT_DYNAMIC Wed May 1 19:11:28 UTC 2024 x86_64
creation_time = 1714564800\t# Wed May  1 12:00:00 2024
"""
open(meta_out, "w").write(text)
f = open(disk, "r+b")
def put(off, data):
    f.seek(base + off); f.write(data)
# label (sector 1): label_header + pv_header + extension v2
lab = bytearray(SECTOR)
lab[0:8] = b"LABELONE"
struct.pack_into("<Q", lab, 8, 1)
struct.pack_into("<I", lab, 20, 32)
lab[24:32] = b"LVM2 001"
pos = 32
lab[pos:pos + 32] = PV_UUID.encode(); pos += 32
struct.pack_into("<Q", lab, pos, size); pos += 8
struct.pack_into("<QQ", lab, pos, pe_start, 0); pos += 32          # one data area + terminator
mda_off, mda_size = 4096, pe_start - 4096
struct.pack_into("<QQ", lab, pos, mda_off, mda_size); pos += 32     # one mda + terminator
struct.pack_into("<II", lab, pos, 2, 1); pos += 8 + 16
struct.pack_into("<I", lab, 16, lvm_crc(bytes(lab[20:])))
put(SECTOR, bytes(lab))
# metadata area: header, one raw location, the text right after the header
body = text.encode() + b"\0"
hdr = bytearray(SECTOR)
hdr[4:20] = b" LVM2 x[5A%r0N*>"
struct.pack_into("<IQQ", hdr, 20, 1, mda_off, mda_size)
struct.pack_into("<QQII", hdr, 40, 512, len(body), lvm_crc(body), 0)
struct.pack_into("<I", hdr, 0, lvm_crc(bytes(hdr[4:])))
put(mda_off, bytes(hdr) + body)
rootd = open(root_img, "rb").read(); assert len(rootd) == root_ext * EXT
swapd = open(swap_img, "rb").read(); assert len(swapd) == swap_ext * EXT
CH = 4 * MiB
for i in range(0, len(rootd), CH):          # sparse: skip all-zero chunks
    c = rootd[i:i + CH]
    if c.count(0) != len(c):
        put(pe_start + i, c)
put(pe_start + root_ext * EXT, swapd)
f.close()
PY
qemu-img convert -q -f raw -O qcow2 -c disk.raw "$OUT/rhel9.qcow2"

# ===== what the independent tools say =======================================================
sfdisk --json disk.raw | sed 's#"device": "[^"]*"#"device": "disk.raw"#' > "$OUT/rhel9.sfdisk.json"
qemu-img info --output=json "$OUT/rhel9.qcow2" | python3 -c '
import json,sys; d=json.load(sys.stdin)
print(json.dumps({"format": d["format"], "virtual-size": d["virtual-size"], "cluster-size": d.get("cluster-size")}, indent=2))' > "$OUT/rhel9.qemu-info.json"
xfsls() { # image files.json
    local args=(-c 'sb 0' -c 'p uuid versionnum features2 features_incompat' -c 'ls /')
    while IFS= read -r d; do args+=(-c "ls $d"); done < <(python3 -c '
import json,sys
for f in json.load(open(sys.argv[1])):
    if f["type"] == "dir": print(f["path"])' "$2")
    xfs_db -r "${args[@]}" "$1"
}
xfsls boot.xfs boot.files.json > "$OUT/boot.xfs_db.txt"
xfsls root.xfs root.files.json > "$OUT/root.xfs_db.txt"
cp lvm-metadata.txt rpm-qa.txt "$OUT/"
# LVM's own reader on the PV (a plain file): headers and the metadata text it finds.
dd if=disk.raw of=pv.img bs=512 skip=692224 count=696320 status=none
{ pvck --dump headers pv.img; pvck --dump metadata pv.img; } 2>&1 | grep -v 'leaked on pvck' > "$OUT/lvm-pvck.txt"
rm -f pv.img
python3 - "$OUT/manifest.json" root.files.json boot.files.json rpm-nevra.txt disk.raw esp.files.json <<PY
import hashlib, json, sys
out, rootf, bootf, nevra, disk, espf = sys.argv[1:7]
pk = [l.split("\t") for l in open(nevra).read().splitlines()]
m = {
  "comment": "generated by scripts/make-rhel-guest.sh; do not edit",
  "image": "rhel9.qcow2",
  "raw_sha256": hashlib.sha256(open(disk, "rb").read()).hexdigest(),
  "disk": {"label": "gpt", "disk_guid": "$DISK_GUID", "virtual_size": 680 * 1048576,
           "partitions": [
             {"number": 1, "role": "bios-boot", "start_lba": 2048, "sectors": 2048},
             {"number": 2, "role": "esp", "start_lba": 4096, "sectors": 32768, "fs": "vfat",
              "uuid": "$ESP_UUID", "partuuid": "$ESP_PARTUUID"},
             {"number": 3, "role": "boot", "start_lba": 36864, "sectors": 655360, "fs": "xfs",
              "uuid": "$BOOT_UUID", "partuuid": "$BOOT_PARTUUID"},
             {"number": 4, "role": "lvm-pv", "start_lba": 692224, "sectors": 696320,
              "partuuid": "$LVM_PARTUUID"}]},
  "bios_boot": {"grub_version": "$GRUB_VERSION", "boot_img_sha256": "$BOOT_IMG_SHA",
                "core_img_command": "grub-mkimage -O i386-pc -p '(hd0,gpt3)/grub2' biosdisk part_gpt xfs",
                "core_img_sha256": "$CORE_SHA", "core_img_size": $CORE_SIZE,
                "core_img_lba": 2048, "mbr": "GRUB boot.img, kernel sector 2048"},
  "lvm": {"vg": "rl", "extent_size": 4194304,
          "lvs": [{"name": "root", "size": 335544320, "fs": "xfs", "uuid": "$ROOT_UUID"},
                  {"name": "swap", "size": 8388608, "fs": "swap", "uuid": "$SWAP_UUID"}]},
  "os": {"type": "linux", "distro": "rocky", "version": "9.4",
         "product_name": "Rocky Linux 9.4 (Blue Onyx)", "arch": "x86_64",
         "hostname": "rocky9-guest", "root": "rl/root", "machine_id": "",
         "selinux": "enforcing", "firmware": "bios+uefi", "timezone": "UTC"},
  "mountpoints": [
    {"mountpoint": "/", "spec": "/dev/mapper/rl-root", "volume": "rl/root", "fs_type": "xfs", "uuid": "$ROOT_UUID"},
    {"mountpoint": "/boot", "spec": "UUID=$BOOT_UUID", "volume": "partition 3", "fs_type": "xfs", "uuid": "$BOOT_UUID"},
    {"mountpoint": "/boot/efi", "spec": "UUID=$ESP_UUID", "volume": "partition 2", "fs_type": "vfat", "uuid": "$ESP_UUID"},
    {"mountpoint": "none", "spec": "/dev/mapper/rl-swap", "volume": "rl/swap", "fs_type": "swap", "uuid": "$SWAP_UUID"}],
  "kernels": [
    {"version": "$KOLD", "default": False, "image": "/boot/vmlinuz-$KOLD",
     "initramfs": "/boot/initramfs-$KOLD.img"},
    {"version": "$KVER", "default": True, "image": "/boot/vmlinuz-$KVER",
     "initramfs": "/boot/initramfs-$KVER.img"}],
  "initramfs_modules": sorted([m.rsplit("/", 1)[-1] for m in "$INITRD_MODS".split()] + ["xfs"]),
  "initramfs_layout": "uncompressed early cpio (microcode) + gzip cpio (newc)",
  "bootloader": {"kind": "grub2-bls", "grub_cfg": "/boot/grub2/grub.cfg",
                 "grubenv_saved_entry": "$BUILD_MID-$KVER",
                 "default_entry": "/boot/loader/entries/$BUILD_MID-$KVER.conf",
                 "default_title": "Rocky Linux ($KVER) 9.4 (Blue Onyx)",
                 "default_cmdline": "$CMDLINE",
                 "efi_stub": "/boot/efi/EFI/rocky/grub.cfg", "fallback": "/boot/efi/EFI/BOOT/BOOTX64.EFI"},
  "network": [{"file": "/etc/NetworkManager/system-connections/eth0.nmconnection",
               "interface": "eth0", "ipv4": "dhcp"}],
  "services_enabled": ["NetworkManager", "chronyd", "cloud-config", "cloud-final", "cloud-init",
                       "cloud-init-local", "qemu-guest-agent", "sshd"],
  "cloud_init": True, "qemu_guest_agent": True,
  "packages": {"format": "rpm-sqlite", "count": len(pk),
               "list": [{"name": n, "epoch": int(e), "version": v, "release": r, "arch": a} for n, e, v, r, a in pk]},
  "root_files": json.load(open(rootf)),
  "boot_files": json.load(open(bootf)),
  "esp_files": [{k: v for k, v in f.items() if k != "mode"} for f in json.load(open(espf))],
}
json.dump(m, open(out, "w"), indent=1, sort_keys=True)
open(out, "a").write("\n")
PY
ls -l "$OUT"
