#!/usr/bin/env bash
# Build a REAL Debian 12 (bookworm) cloud-like guest image for local checks and benchmarks
# (issues 5, 7 and 10). Nothing it builds is committed: everything goes under $DEBIAN_IMAGE_DIR
# (default /work/bench-data/debian12), outside the repository, and is reused when present.
#
# Needs root, network access to a Debian mirror, and: debootstrap, chroot, mount (bind mounts of
# /dev, /proc, /sys into the chroot while packages are installed -- needed by the package scripts),
# sfdisk, mkfs.ext4 (e2fsprogs >= 1.47 for `-d`), mkfs.fat + mtools (mmd, mcopy), qemu-img,
# python3. The disk itself is laid out on a plain file: no loop devices, nothing of the image is
# ever mounted.
#
# What the guest is (modelled on Debian's "genericcloud" images):
#   * debootstrap --variant=minbase, then apt-get inside the chroot installs linux-image-cloud-amd64,
#     initramfs-tools (+ zstd, the bookworm default initramfs compressor), systemd-sysv, udev, dbus,
#     openssh-server, cloud-init, ifupdown + isc-dhcp-client, qemu-guest-agent, sudo, grub-pc-bin,
#     grub-efi-amd64-bin, grub-efi-amd64-signed and shim-signed (the signed shim + GRUB for Secure
#     Boot), e2fsprogs/dosfstools, after `apt-get dist-upgrade` (bookworm-updates and security).
#     Services are kept from starting by a temporary policy-rc.d. The kernel and the initramfs
#     are the real ones: the kernel package's postinst runs update-initramfs in the chroot
#     (MODULES=most, so the virtio/NVMe/Xen/Hyper-V drivers are in it), and we run
#     `update-initramfs -u -k all` once more at the end. /etc/initramfs-tools/conf.d/fstype sets
#     FSTYPE=ext4: the fsck hook cannot probe the root device in a chroot ("Couldn't identify type
#     of root file system"), and would otherwise leave fsck.ext4 out of the initramfs.
#   * /etc/fstab by UUID (root ext4 and the ESP on /boot/efi), hostname "debian12-bench",
#     /etc/default/grub with the serial console (console=tty0 console=ttyS0,115200, as Debian's
#     cloud images) and net.ifnames=0, network by ifupdown: lo + eth0 by DHCP (allow-hotplug), the
#     cloud-init packaged config (its datasources as packaged), /etc/adjtime in UTC.
#   * grub.cfg: grub-mkconfig cannot probe devices in a chroot (there is no block device behind /)
#     and ignores GRUB_DEVICE* from the environment (it always calls grub-probe). So we divert
#     /usr/sbin/grub-probe (dpkg-divert --local --rename) to a stub that answers the few questions
#     grub-mkconfig / 10_linux ask (device, fs, fs_uuid, partuuid, abstraction, partmap,
#     compatibility_hint, hints_string, drive) for the root filesystem we are going to create, run
#     the real `update-grub` (= grub-mkconfig -o /boot/grub/grub.cfg), then remove the stub and the
#     diversion. `grub-editenv /boot/grub/grubenv create` writes the environment block.
#   * Disk (GPT, 2 GiB, same layout as Debian's genericcloud): p14 BIOS boot (3 MiB, type
#     21686148-...), p15 ESP (124 MiB, FAT32), p1 root (ext4, the rest). The ESP gets shimx64.efi
#     as EFI/debian/shimx64.efi and EFI/BOOT/BOOTX64.EFI, the signed grubx64.efi (both directories),
#     mmx64.efi, fbx64.efi, BOOTX64.CSV and the EFI/debian/grub.cfg stub that grub-install writes
#     for the signed GRUB (search.fs_uuid ROOT_UUID root; set prefix; configfile). BIOS boot: the
#     i386-pc core.img is built with grub-mkimage (biosdisk part_gpt ext2, prefix
#     (hd0,gpt1)/boot/grub) into p14, and GRUB's boot.img goes into the MBR code area, with the two
#     sector pointers grub-bios-setup would patch (boot.img's kernel sector at 0x5c; diskboot.img's
#     block list at 0x1f4) written by a few lines of python -- so the image boots both ways without
#     a loop device. The root filesystem is made with `mkfs.ext4 -d ROOTFS` with the fixed UUID that
#     /etc/fstab and grub.cfg name, the ESP with mkfs.fat -F 32 -i VOLID + mcopy; both are dd'ed
#     into the disk file (conv=sparse,notrunc).
#   * Conversions with qemu-img: qcow2 (v3), qcow2 zlib-compressed (-c), VHD (vpc dynamic), VHDX
#     (dynamic), VMDK monolithicSparse and streamOptimized.
#
# Environment knobs:
#   DEBIAN_IMAGE_DIR  output directory (default /work/bench-data/debian12)
#   DEBIAN_MIRROR     mirror (default http://deb.debian.org/debian)
#   DEBIAN_REBUILD    set to 1 to delete everything and rebuild from debootstrap
#   DEBIAN_DISK_MIB   disk size in MiB (default 2048)
#
# Output: $DIR/rootfs (the guest tree, the "truth" for cross-checks), $DIR/disk.raw, disk.qcow2,
# disk-zlib.qcow2, disk.vhd, disk.vhdx, disk-sparse.vmdk, disk-stream.vmdk, and $DIR/image.env
# (UUIDs, partition offsets, kernel version) for other scripts (scripts/bench.sh sources it).
set -euo pipefail
export LC_ALL=C
{

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${DEBIAN_IMAGE_DIR:-/work/bench-data/debian12}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DISK_MIB=${DEBIAN_DISK_MIB:-2048}
ROOTFS="$DIR/rootfs"
SUITE=bookworm
HOSTNAME_=debian12-bench
# Fixed identities, so fstab, grub.cfg and the filesystems agree (and re-runs are comparable).
ROOT_UUID=5b1e4c2a-7d3f-4e8a-9c61-2f0d8b9a1e37
ESP_VOLID=A1B2C3D4                      # mkfs.fat -i; shows as UUID=A1B2-C3D4
ESP_UUID=A1B2-C3D4
DISK_GUID=9d2b7c4e-1f3a-4b6c-8e5d-0a7f3c2b1d90
ROOT_PARTUUID=3f6a9e21-5c4b-4d7e-a1f0-6b2c8d9e0a14
ESP_PARTUUID=7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f
BIOS_PARTUUID=0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b
# GPT layout in 512-byte sectors (Debian genericcloud): p14 BIOS boot, p15 ESP, p1 root.
BIOS_START=2048; BIOS_SECTORS=6144
ESP_START=8192; ESP_SECTORS=253952
ROOT_START=262144

die() { echo "make-debian-image: $*" >&2; exit 1; }
log() { echo "make-debian-image: $*" >&2; }
[[ $(id -u) == 0 ]] || die "must run as root (debootstrap, chroot)"
for tool in debootstrap chroot mount sfdisk mkfs.ext4 mkfs.fat mmd mcopy qemu-img python3 dd; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install debootstrap fdisk e2fsprogs dosfstools mtools qemu-utils)"
done
case "$DIR" in "$REPO"|"$REPO"/*) die "DEBIAN_IMAGE_DIR must lie outside the repository" ;; esac
[[ "${DEBIAN_REBUILD:-0}" == 1 ]] && { log "removing $DIR"; rm -rf "$DIR"; }
mkdir -p "$DIR"

# --- chroot helpers: bind mounts only while package scripts run; always undone ---------------
MOUNTED=()
unmount_all() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTED[i]}" 2>/dev/null || true; done
    MOUNTED=()
}
trap unmount_all EXIT
mount_chroot() {
    local d
    for d in dev dev/pts proc sys; do
        mkdir -p "$ROOTFS/$d"
        mount --bind "/$d" "$ROOTFS/$d"
        MOUNTED+=("$ROOTFS/$d")
    done
}
in_chroot() { DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true chroot "$ROOTFS" "$@"; }

# --- 1. debootstrap -----------------------------------------------------------------------------
if [[ ! -f "$DIR/.stage1" ]]; then
    rm -rf "$ROOTFS"
    log "debootstrap $SUITE (minbase) into $ROOTFS ..."
    debootstrap --variant=minbase --include=ca-certificates,apt-utils "$SUITE" "$ROOTFS" "$MIRROR"
    touch "$DIR/.stage1"
fi

# --- 2. packages and configuration inside the chroot -------------------------------------------
if [[ ! -f "$DIR/.stage2" ]]; then
    log "installing the cloud package set in the chroot ..."
    cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://security.debian.org/debian-security $SUITE-security main
EOF
    printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
    chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
    echo "$HOSTNAME_" >"$ROOTFS/etc/hostname"
    cat >"$ROOTFS/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$HOSTNAME_

::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
    # fstab before the kernel, so update-initramfs sees the real root (by UUID).
    cat >"$ROOTFS/etc/fstab" <<EOF
# /etc/fstab: static file system information.
UUID=$ROOT_UUID / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
UUID=$ESP_UUID /boot/efi vfat defaults 0 0
EOF
    mkdir -p "$ROOTFS/boot/efi"
    cat >"$ROOTFS/etc/default/grub" <<'EOF'
# Debian cloud-image style defaults (see /usr/share/grub/default/grub for the packaged ones).
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0 net.ifnames=0"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_OS_PROBER=true
EOF
    mkdir -p "$ROOTFS/etc/network/interfaces.d"
    cat >"$ROOTFS/etc/network/interfaces" <<'EOF'
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface (net.ifnames=0 on the kernel command line)
allow-hotplug eth0
iface eth0 inet dhcp
EOF
    printf '0.0 0 0.0\n0\nUTC\n' >"$ROOTFS/etc/adjtime"
    ln -sf /usr/share/zoneinfo/Etc/UTC "$ROOTFS/etc/localtime"
    echo "Etc/UTC" >"$ROOTFS/etc/timezone"

    # The initramfs fsck hook probes the root device named in fstab to learn its type; there is
    # no such device in a chroot, so tell it (the same content a build on the real disk gets:
    # fsck + fsck.ext4 in the initramfs).
    mkdir -p "$ROOTFS/etc/initramfs-tools/conf.d"
    echo "FSTYPE=ext4" >"$ROOTFS/etc/initramfs-tools/conf.d/fstype"

    mount_chroot
    in_chroot apt-get update
    in_chroot apt-get -y dist-upgrade
    # Kernel without its recommends first (firmware etc.), then the rest.
    in_chroot apt-get install -y --no-install-recommends \
        systemd-sysv udev dbus kmod initramfs-tools zstd e2fsprogs dosfstools \
        linux-image-cloud-amd64 \
        grub2-common grub-pc-bin grub-efi-amd64-bin grub-efi-amd64-signed shim-signed efibootmgr \
        openssh-server cloud-init cloud-guest-utils ifupdown isc-dhcp-client netbase iproute2 \
        qemu-guest-agent sudo less vim-tiny procps
    in_chroot apt-get clean

    # grub.cfg with a stub grub-probe (see the header).
    in_chroot dpkg-divert --local --rename --add /usr/sbin/grub-probe
    cat >"$ROOTFS/usr/sbin/grub-probe" <<EOF
#!/bin/sh
# Temporary stub used by make-debian-image.sh while generating grub.cfg in a chroot.
target=device
for a in "\$@"; do
    case "\$a" in --target=*) target=\${a#--target=} ;; esac
done
case "\$target" in
    device) echo /dev/vda1 ;;
    fs) echo ext2 ;;
    fs_uuid) echo $ROOT_UUID ;;
    fs_label) echo ;;
    partuuid) echo $ROOT_PARTUUID ;;
    abstraction) echo ;;
    partmap) echo gpt ;;
    drive) echo "(hd0,gpt1)" ;;
    compatibility_hint) echo hd0,gpt1 ;;
    hints_string) echo "--hint-bios=hd0,gpt1 --hint-efi=hd0,gpt1 --hint-baremetal=ahci0,gpt1" ;;
    disk) echo /dev/vda ;;
    *) echo ;;
esac
EOF
    chmod 755 "$ROOTFS/usr/sbin/grub-probe"
    in_chroot update-initramfs -u -k all
    unmount_all
    mkdir -p "$ROOTFS/boot/grub"          # grub-install would create it
    # 10_linux writes root=UUID=... only when /dev/disk/by-uuid/UUID exists; /dev is no longer
    # bind-mounted here (the chroot's own static /dev from debootstrap), so a temporary link to
    # the chroot's /dev/null satisfies that `test -e`, and is removed right after.
    mkdir -p "$ROOTFS/dev/disk/by-uuid"
    ln -sfn ../../null "$ROOTFS/dev/disk/by-uuid/$ROOT_UUID"
    in_chroot update-grub
    in_chroot grub-editenv /boot/grub/grubenv create
    rm -rf "$ROOTFS/dev/disk"
    rm -f "$ROOTFS/usr/sbin/grub-probe"
    in_chroot dpkg-divert --local --rename --remove /usr/sbin/grub-probe

    # Machine identity is created at first boot, like in Debian's cloud images.
    : >"$ROOTFS/etc/machine-id"
    rm -f "$ROOTFS/var/lib/dbus/machine-id" "$ROOTFS/etc/ssh/ssh_host_"*
    rm -f "$ROOTFS/usr/sbin/policy-rc.d"
    rm -rf "$ROOTFS/var/lib/apt/lists/"* "$ROOTFS/var/cache/apt/"*.bin
    [[ -z "$(ls -A "$ROOTFS/dev/pts" 2>/dev/null)" ]] || die "$ROOTFS/dev/pts still mounted?"
    touch "$DIR/.stage2"
fi

# --- 3. the disk ---------------------------------------------------------------------------------
RAW="$DIR/disk.raw"
if [[ ! -f "$DIR/.stage3" ]]; then
    grep -q "UUID=$ROOT_UUID" "$ROOTFS/etc/fstab" || die "fstab does not name root UUID $ROOT_UUID"
    grep -q "root=UUID=$ROOT_UUID" "$ROOTFS/boot/grub/grub.cfg" || die "grub.cfg does not boot root=UUID=$ROOT_UUID"
    disk_sectors=$((DISK_MIB * 2048))
    root_sectors=$((disk_sectors - ROOT_START - 34))       # backup GPT: 33 sectors + alignment
    root_sectors=$((root_sectors / 2048 * 2048))
    log "laying out a ${DISK_MIB} MiB GPT disk on $RAW ..."
    rm -f "$RAW" "$DIR/root.ext4" "$DIR/esp.fat"
    truncate -s "${DISK_MIB}M" "$RAW"
    sfdisk --quiet --no-reread --no-tell-kernel "$RAW" <<EOF
label: gpt
label-id: $DISK_GUID
first-lba: 2048
${RAW}1 : start=$ROOT_START, size=$root_sectors, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$ROOT_PARTUUID
${RAW}14 : start=$BIOS_START, size=$BIOS_SECTORS, type=21686148-6449-6E6F-744E-656564454649, uuid=$BIOS_PARTUUID
${RAW}15 : start=$ESP_START, size=$ESP_SECTORS, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_PARTUUID
EOF

    # GRUB's BIOS modules next to grub.cfg, as `grub-install --target=i386-pc` puts them (core.img
    # loads normal.mod and the modules grub.cfg insmods from there). The signed UEFI GRUB is
    # monolithic and needs no module directory.
    mkdir -p "$ROOTFS/boot/grub/i386-pc"
    cp "$ROOTFS"/usr/lib/grub/i386-pc/*.mod "$ROOTFS"/usr/lib/grub/i386-pc/*.lst "$ROOTFS/boot/grub/i386-pc/"
    if [[ -d "$ROOTFS/usr/share/grub" && -f "$ROOTFS/usr/share/grub/unicode.pf2" ]]; then
        mkdir -p "$ROOTFS/boot/grub/fonts"
        cp "$ROOTFS/usr/share/grub/unicode.pf2" "$ROOTFS/boot/grub/fonts/"
    fi

    # Root: ext4 populated from the tree, with the fixed UUID.
    mkfs.ext4 -q -F -L root -U "$ROOT_UUID" -d "$ROOTFS" "$DIR/root.ext4" "$((root_sectors / 2))k"

    # ESP: FAT32 with the signed shim and GRUB from the packages.
    mkfs.fat -F 32 -n EFI -i "$ESP_VOLID" -C "$DIR/esp.fat" "$((ESP_SECTORS / 2))" >/dev/null
    shim="$ROOTFS/usr/lib/shim/shimx64.efi.signed"
    grubx="$ROOTFS/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
    [[ -f "$shim" && -f "$grubx" ]] || die "signed shim/GRUB not found in the rootfs"
    stub=$(mktemp)
    printf "search.fs_uuid %s root \nset prefix=(\$root)'/boot/grub'\nconfigfile \$prefix/grub.cfg\n" "$ROOT_UUID" >"$stub"
    export MTOOLS_SKIP_CHECK=1
    mmd -i "$DIR/esp.fat" ::/EFI ::/EFI/debian ::/EFI/BOOT
    mcopy -i "$DIR/esp.fat" "$shim" ::/EFI/debian/shimx64.efi
    mcopy -i "$DIR/esp.fat" "$grubx" ::/EFI/debian/grubx64.efi
    mcopy -i "$DIR/esp.fat" "$stub" ::/EFI/debian/grub.cfg
    mcopy -i "$DIR/esp.fat" "$shim" ::/EFI/BOOT/BOOTX64.EFI
    mcopy -i "$DIR/esp.fat" "$grubx" ::/EFI/BOOT/grubx64.efi
    for f in mmx64.efi fbx64.efi; do
        [[ -f "$ROOTFS/usr/lib/shim/$f.signed" ]] && mcopy -i "$DIR/esp.fat" "$ROOTFS/usr/lib/shim/$f.signed" "::/EFI/debian/$f"
    done
    [[ -f "$ROOTFS/usr/lib/shim/fbx64.efi.signed" ]] && mcopy -i "$DIR/esp.fat" "$ROOTFS/usr/lib/shim/fbx64.efi.signed" ::/EFI/BOOT/fbx64.efi
    [[ -f "$ROOTFS/usr/lib/shim/BOOTX64.CSV" ]] && mcopy -i "$DIR/esp.fat" "$ROOTFS/usr/lib/shim/BOOTX64.CSV" ::/EFI/debian/BOOTX64.CSV
    rm -f "$stub"

    dd if="$DIR/esp.fat" of="$RAW" bs=512 seek="$ESP_START" conv=sparse,notrunc status=none
    dd if="$DIR/root.ext4" of="$RAW" bs=1M seek="$((ROOT_START / 2048))" conv=sparse,notrunc status=none

    # BIOS boot: core.img into p14, boot.img into the MBR code area, pointers patched.
    core=$(mktemp)
    "$ROOTFS/usr/bin/grub-mkimage" -d "$ROOTFS/usr/lib/grub/i386-pc" -O i386-pc -o "$core" \
        -p "(hd0,gpt1)/boot/grub" biosdisk part_gpt ext2 search search_fs_uuid
    python3 - "$RAW" "$ROOTFS/usr/lib/grub/i386-pc/boot.img" "$core" "$BIOS_START" "$BIOS_SECTORS" <<'PY'
import struct, sys
raw, boot_img, core_img, start, sectors = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
boot = bytearray(open(boot_img, "rb").read())
core = bytearray(open(core_img, "rb").read())
assert len(boot) == 512
n = (len(core) + 511) // 512
assert n <= sectors, "core.img does not fit the BIOS boot partition"
core += b"\0" * (n * 512 - len(core))
# diskboot.img (first sector of core.img): block list at the end of the sector, entry at 0x1f4:
# start sector (u64), length (u16), segment (u16); loads the rest of core.img.
struct.pack_into("<QH", core, 0x1F4, start + 1, n - 1)
with open(raw, "r+b") as f:
    mbr = bytearray(f.read(512))
    # boot.img: code up to 0x1b8 (keep the disk signature, partition table and 0x55aa).
    mbr[0:0x1B8] = boot[0:0x1B8]
    # GRUB_BOOT_MACHINE_KERNEL_SECTOR (u64 at 0x5c): where core.img starts.
    struct.pack_into("<Q", mbr, 0x5C, start)
    # Keep the BPB area as boot.img has it; drive-check jump stays as shipped.
    f.seek(0)
    f.write(mbr)
    f.seek(start * 512)
    f.write(core)
PY
    rm -f "$core" "$DIR/root.ext4" "$DIR/esp.fat"
    sfdisk --verify "$RAW" >/dev/null 2>&1 || log "warning: sfdisk --verify complained"
    rm -f "$DIR"/disk.qcow2 "$DIR"/disk-zlib.qcow2 "$DIR"/disk.vhd "$DIR"/disk.vhdx "$DIR"/disk-*.vmdk
    touch "$DIR/.stage3"
fi

# --- 4. conversions ------------------------------------------------------------------------------
convert() { # OUT OPTIONS...
    local out="$DIR/$1"
    shift
    [[ -f "$out" ]] && return 0
    log "qemu-img convert $* -> $out"
    qemu-img convert -f raw "$@" "$RAW" "$out.tmp"
    mv "$out.tmp" "$out"
}
convert disk.qcow2 -O qcow2 -o compat=1.1
convert disk-zlib.qcow2 -O qcow2 -o compat=1.1,compression_type=zlib -c
convert disk.vhd -O vpc -o subformat=dynamic
convert disk.vhdx -O vhdx -o subformat=dynamic
convert disk-sparse.vmdk -O vmdk -o subformat=monolithicSparse
convert disk-stream.vmdk -O vmdk -o subformat=streamOptimized

kver=$(find "$ROOTFS/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
cat >"$DIR/image.env" <<EOF
# Written by scripts/make-debian-image.sh
DEB_DIR=$DIR
DEB_ROOTFS=$ROOTFS
DEB_HOSTNAME=$HOSTNAME_
DEB_ROOT_UUID=$ROOT_UUID
DEB_ESP_UUID=$ESP_UUID
DEB_ROOT_START=$ROOT_START
DEB_ESP_START=$ESP_START
DEB_KERNEL=$kver
EOF

printf '%-18s %14s %14s  %s\n' FILE "SIZE/BYTES" "ALLOCATED/B" FORMAT
for f in disk.raw disk.qcow2 disk-zlib.qcow2 disk.vhd disk.vhdx disk-sparse.vmdk disk-stream.vmdk; do
    p="$DIR/$f"
    fmt=$(qemu-img info --output=json "$p" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')
    printf '%-18s %14s %14s  %s\n' "$f" "$(stat -c %s "$p")" "$(du -B1 "$p" | cut -f1)" "$fmt"
done
exit 0
}
