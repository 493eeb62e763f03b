#!/usr/bin/env bash
# Build the phony Windows guest disks of crates/inspect (testdata/windows/).
#
# usage: scripts/make-windows-fixtures.sh [OUTDIR]      (default: testdata/windows)
#
# Seven guests, each a 64 MiB disk converted to a compressed qcow2 (windows-<variant>.qcow2):
#   good, bad   Windows Server 2022 Datacenter (build 20348), UEFI/GPT (described first, below)
#   2012r2      Windows Server 2012 R2 Datacenter (NT 6.3, build 9600), BIOS/MBR
#   2016        Windows Server 2016 Datacenter (build 14393), BIOS/MBR
#   2019        Windows Server 2019 Datacenter (build 17763), UEFI/GPT with an MSR
#   10          Windows 10 Pro 22H2 (build 19045), BIOS/MBR
#   11          Windows 11 Pro 23H2 (build 22631; ProductName "Windows 10 Pro"), UEFI/GPT with an MSR
# Each newer guest's hives are the 2022 good sources plus readable overlays:
# src/system-driverdb.reg (SYSTEM\DriverDatabase: virtio-win's viostor, netkvm and vioscsi
# packages, vioscsi staged only) and src/{system,software,bcd}-<variant>.reg (version values,
# servicing packages, host name, MountedDevices and BCD devices of the layout; `"name"=-` and
# `[-key]` delete what does not exist in that release, e.g. CurrentMajorVersionNumber on 2012 R2).
# Layouts of the newer guests:
#   bios-mbr  MBR (disk signature = sfdisk label-id), our own MBR boot program in bytes 0..440
#             (it prints a message and halts: this is not Microsoft's MBR code, which is not ours
#             to copy), partition 1 active NTFS "System Reserved" (8 MiB at 1 MiB, the 350/500 MiB
#             partition scaled down): \bootmgr and \Boot\BCD; partition 2 NTFS C: (28 MiB at
#             9 MiB). BCD loader path \Windows\system32\winload.exe, MBR-form devices.
#   uefi-gpt  ESP (FAT32, 33 MiB at 1 MiB, as below), MSR (2 MiB at 34 MiB, no filesystem), NTFS C:
#             (27 MiB at 36 MiB). BCD loader path \Windows\system32\winload.efi.
# The newer guests have both winload.exe and winload.efi (Windows installs both) and hal.dll
# (needed before build 19041), and the vioscsi package in the DriverStore besides viostor and netkvm.
#
# The 2022 variants, "good" and "bad", each a 64 MiB GPT disk:
#   partition 1  ESP, FAT32 (33 MiB):  \EFI\Microsoft\Boot\{bootmgfw.efi,BCD}, \EFI\Boot\bootx64.efi
#                                      (the bad variant: BCD only, no boot manager)
#   partition 2  NTFS (28 MiB):        \Windows\System32\config\{SYSTEM,SOFTWARE}, \Windows\System32\
#                                      {ntoskrnl.exe,cmd.exe,winload.efi,svchost.exe}, drivers\
#                                      {viostor,netkvm,partmgr}.sys, DriverStore\FileRepository\
#                                      {viostor,netkvm}.inf_amd64_*, \Windows\Setup\State\State.ini,
#                                      \pagefile.sys, \ProgramData\aliyun\assist\...,
#                                      \Users\{Public,Administrator}\Desktop\desktop.ini
#   partition 3  (bad variant only, 1 MiB): a synthesized BitLocker volume (see below)
# The bad variant plants defects: the *-bad.reg overlays (viostor Start=3, xenfilt disk filter,
# RDP denied, ImageState=IMAGE_STATE_UNDEPLOYABLE, reboot pending, BCD path to a missing
# winload.exe and osdevice on a partition not in the image, C: mapped to such a partition, SAN
# policy 4, device installation disabled and denied by policy, EMS off, a boot-start XenPCI with
# Parameters\hide_devices set, BitLockerStatus\BootStatus=1 and a BitLocker Group Policy value
# (Policies\Microsoft\FVE EncryptionMethodWithXtsOs=7), a domain controller whose
# NTDS\Parameters "DSA Database file" is on D:, a disk not in the image, ...),
# \Windows\WinSxS\pending.xml, State.ini undeployable,
# \hiberfil.sys starting with "hibr", no desktop.ini in the desktop folders, the NTFS read-only
# attribute on netkvm.sys, no boot manager on the ESP (neither \EFI\Microsoft\Boot\bootmgfw.efi
# nor the fallback \EFI\Boot\bootx64.efi), and a BitLocker data volume as partition 3.
#
# BitLocker: no Linux tool creates a BitLocker volume, so python3 synthesizes one from libbde's
# "BitLocker Drive Encryption (BDE) format" documentation: a Windows 7+ boot sector (jump EB 58 90,
# OEM id "-FVE-FS-", the BitLocker identifier GUID at 160, the three FVE metadata block offsets at
# 176) and three copies of an FVE metadata block (version 2, AES-XTS-128) with a
# recovery-password VMK, an FVEK, a description and the volume header block entry. The keys are
# filler bytes (the volume cannot be unlocked) and the data area is zeros (an empty volume
# encrypted with "used disk space only"). `blkid -p` and `cryptsetup bitlkDump` confirm the
# structure (bad.blkid-bitlocker.txt, bad.bitlkdump.txt).
#
# Writes into OUTDIR:
#   windows-<variant>.qcow2                  the disks (qemu-img convert -c, zlib clusters)
#   <variant>-<hive>.export.reg              `hivexregedit --export` of each hive in the image
#   <variant>.ntfsls.txt                     `ntfsls -R -l` of the NTFS partition
#   <variant>.ntfsinfo-netkvm.txt            `ntfsinfo -F` of netkvm.sys (its file attributes)
#   <variant>.mdir.txt                       `mdir -/` of the ESP (uefi-gpt)
#   <variant>.ntfsls-sysres.txt              `ntfsls -R -l` of the System Reserved partition (bios-mbr)
#   <variant>.sfdisk.json                    `sfdisk --json` of the disk
#   bad.blkid-bitlocker.txt                  `blkid -p` of the BitLocker volume
#   bad.bitlkdump.txt                        `cryptsetup bitlkDump` of the BitLocker volume
#   manifest.json                            the facts imgcheck must report for each variant
#
# Hives: hivex cannot create a hive, so python3 writes an empty regf v1.5 file (the same
# construction as scripts/make-hive-fixtures.sh, from Suhanov's format specification) and
# `hivexregedit --merge` (Debian libwin-hivex-perl) fills it from testdata/windows/src/*.reg.
# NTFS: mkntfs, then `wimcapture TREE --compress=none` + `wimapply` (wimlib's NTFS-3G mode)
# write the tree into the unmounted image. FAT: mkfs.fat + mcopy. Disk: sfdisk on a plain file.
#
# Deterministic: fixed GUIDs, serials, labels and timestamps; mkntfs -T (zero time); the NTFS
# serial is patched to a fixed value; faketime (if installed) pins the clock of the tools that
# stamp the current time (mkntfs, wimapply, mcopy). Without faketime only timestamps differ.
# Needs (Debian packages): libwin-hivex-perl libhivex-bin ntfs-3g wimtools dosfstools mtools
# fdisk qemu-utils python3 gzip util-linux (blkid) cryptsetup-bin.
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC SOURCE_DATE_EPOCH=1705017600
PATH=$PATH:/usr/sbin:/sbin

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/testdata/windows/src
OUT=${1:-$ROOT/testdata/windows}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

for tool in hivexregedit mkntfs ntfsls ntfsinfo wimcapture wimapply mkfs.fat mcopy mdir sfdisk \
    qemu-img python3 blkid cryptsetup; do
    command -v "$tool" >/dev/null || { echo "make-windows-fixtures: $tool missing" >&2; exit 1; }
done
FAKE=()
if command -v faketime >/dev/null; then
    FAKE=(faketime -f '2024-01-12 00:00:00')
else
    echo "make-windows-fixtures: faketime missing: timestamps will not be reproducible" >&2
fi

# Fixed identifiers (the .reg sources and manifest.json name the same ones).
DISK_GUID=5C3E1A2B-6D4F-4E8A-9B0C-1D2E3F405162
ESP_GUID=0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9
NTFS_GUID=7E1F0C52-3A4B-4C5D-8E6F-708192A3B4C5
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
BASIC_DATA_TYPE=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
ESP_START=2048          # sectors of 512 bytes
ESP_SECTORS=67584       # 33 MiB: the smallest comfortable FAT32 with 512-byte clusters
NTFS_START=69632        # 34 MiB
NTFS_SECTORS=57344      # 28 MiB
NTFS_SERIAL=1c2d3e4f5a6b7c8d
BL_GUID=B1710C4E-2F3A-4B5C-8D6E-7F8091A2B3C4      # partition 3 (bad variant): BitLocker
BL_START=126976         # 62 MiB
BL_SECTORS=2048         # 1 MiB
BL_VOLUME_GUID=3f2e1d0c-5b4a-4978-8695-a4b3c2d1e0f9   # FVE metadata: the volume's GUID
BL_VMK_GUID=9a8b7c6d-5e4f-4031-9221-304f5e6d7c8b      # FVE metadata: the VMK's GUID
DISK_BYTES=$((64 << 20))
MSR_TYPE=E3C9E316-0B5C-4DB8-817D-F92DF00215AE
SYSRES_START=2048       # bios-mbr: System Reserved, 8 MiB
SYSRES_SECTORS=16384

DISK_GUID_2022=$DISK_GUID ESP_GUID_2022=$ESP_GUID NTFS_GUID_2022=$NTFS_GUID
NTFS_START_2022=$NTFS_START NTFS_SECTORS_2022=$NTFS_SECTORS NTFS_SERIAL_2022=$NTFS_SERIAL

# Layout and identifiers of a variant (the overlays in src/ name the same ones). The 2022
# variants keep the values above.
LAYOUT= VER_OVERLAY=
variant_params() { # variant
    LAYOUT=uefi-gpt VER_OVERLAY=yes MSR_START= MSR_SECTORS=
    DISK_GUID=$DISK_GUID_2022 ESP_GUID=$ESP_GUID_2022 NTFS_GUID=$NTFS_GUID_2022
    NTFS_START=$NTFS_START_2022 NTFS_SECTORS=$NTFS_SECTORS_2022 NTFS_SERIAL=$NTFS_SERIAL_2022
    case $1 in
        good|bad) VER_OVERLAY= ;;
        2019) DISK_GUID=8B2F6C1D-2019-4A3B-9C8D-0E1F2A3B4C5D ESP_GUID=1E2D3C4B-2019-4F6E-8D7C-6B5A49382716
              NTFS_GUID=C0FFEE19-2019-4B5A-8C7D-9E0F1A2B3C4D MSR_GUID=5E2019A0-0B1C-4D2E-8F30-415263748596
              NTFS_SERIAL=2019aa55c0ffee19 ;;
        11) DISK_GUID=4F11A2B3-C4D5-46E7-8F90-A1B2C3D4E5F6 ESP_GUID=E5F60711-2233-4455-8677-8899AABBCCDD
            NTFS_GUID=11A0B1C2-D3E4-45F6-8A7B-9C0D1E2F3A4B MSR_GUID=0711B5A0-6C7D-4E8F-9012-A3B4C5D6E7F8
            NTFS_SERIAL=11aa22bb33cc44dd ;;
        2012r2) LAYOUT=bios-mbr DISK_SIG=0x3e2c9a17 NTFS_SERIAL=2012a2b3c4d5e6f7 ;;
        2016) LAYOUT=bios-mbr DISK_SIG=0x5d16e0a4 NTFS_SERIAL=2016d4c3b2a19081 ;;
        10) LAYOUT=bios-mbr DISK_SIG=0x7a10c0de NTFS_SERIAL=10f0e1d2c3b4a596 ;;
        *) echo "make-windows-fixtures: unknown variant $1" >&2; exit 1 ;;
    esac
    if [ -n "$VER_OVERLAY" ]; then
        if [ "$LAYOUT" = uefi-gpt ]; then
            MSR_START=69632 MSR_SECTORS=4096 NTFS_START=73728 NTFS_SECTORS=55296
        else
            NTFS_START=18432 NTFS_SECTORS=57344
        fi
    fi
}

# ---- an empty regf v1.5 hive (see scripts/make-hive-fixtures.sh for the layout) ----------------
cat >"$WORK/empty_hive.py" <<'PY'
import struct, sys

BLOCK = 4096            # base block size and hbin granularity
NONE = 0xFFFFFFFF       # "no cell" offset
FILETIME = 133494624000000000   # 2024-01-12 00:00:00 UTC

def security_descriptor():
    admins = bytes([1, 2, 0, 0, 0, 0, 0, 5]) + struct.pack('<II', 32, 544)   # S-1-5-32-544
    everyone = bytes([1, 1, 0, 0, 0, 0, 0, 1]) + struct.pack('<I', 0)        # S-1-1-0
    ace = struct.pack('<BBHI', 0, 0x02, 8 + len(everyone), 0x000F003F) + everyone
    acl = struct.pack('<BBHHH', 2, 0, 8 + len(ace), 1, 0) + ace
    head = struct.pack('<BBHIIII', 1, 0, 0x8004, 20, 36, 0, 52)
    return head + admins + admins + acl

def cell(data):
    size = (4 + len(data) + 7) & ~7
    return struct.pack('<i', -size) + data + bytes(size - 4 - len(data))

def empty_hive(root_name, file_name):
    name = root_name.encode('ascii')
    root_off = 0x20
    sk_off = root_off + ((4 + 76 + len(name) + 7) & ~7)
    nk = struct.pack('<2sHQ' + 'I' * 15 + 'HH',
                     b'nk', 0x002C, FILETIME, 0, NONE, 0, 0, NONE, NONE, 0, NONE,
                     sk_off, NONE, 0, 0, 0, 0, 0, len(name), 0) + name
    sd = security_descriptor()
    sk = struct.pack('<2sHIIII', b'sk', 0, sk_off, sk_off, 1, len(sd)) + sd
    cells = cell(nk) + cell(sk)
    free = BLOCK - 0x20 - len(cells)
    hbin = (struct.pack('<4sIIQQI', b'hbin', 0, BLOCK, 0, FILETIME, 0) + cells
            + struct.pack('<i', free) + bytes(free - 4))
    base = bytearray(BLOCK)
    struct.pack_into('<4sIIQIIIIIII', base, 0, b'regf', 1, 1, FILETIME, 1, 5, 0, 1,
                     root_off, BLOCK, 1)
    fn = file_name.encode('utf-16-le')[:64]
    base[48:48 + len(fn)] = fn
    checksum = 0
    for i in range(127):
        checksum ^= struct.unpack_from('<I', base, 4 * i)[0]
    struct.pack_into('<I', base, 508, checksum)
    return bytes(base) + hbin

path, root_name, file_name = sys.argv[1:4]
with open(path, 'wb') as f:
    f.write(empty_hive(root_name, file_name))
PY

# ---- a tiny PE image: DOS header, "PE\0\0", COFF header, PE32+ optional header ------------------
cat >"$WORK/pe.py" <<'PY'
import struct, sys
# Microsoft PE/COFF specification: e_lfanew at 0x3C; COFF Machine at e_lfanew+4.
MACHINE_AMD64 = 0x8664
PE32_PLUS = 0x20B
path, subsystem, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
LFANEW = 0x80
dos = bytearray(LFANEW)
dos[0:2] = b'MZ'
struct.pack_into('<I', dos, 0x3C, LFANEW)
opt = bytearray(240)                       # PE32+ optional header with 16 data directories
struct.pack_into('<H', opt, 0, PE32_PLUS)
struct.pack_into('<H', opt, 68, subsystem)  # Subsystem: 1 native, 3 console, 10 EFI application
struct.pack_into('<I', opt, 108, 16)        # NumberOfRvaAndSizes
coff = struct.pack('<4sHHIIIHH', b'PE\0\0', MACHINE_AMD64, 0, 0, 0, 0, len(opt), 0x0022)
body = bytes(dos) + coff + bytes(opt)
body += ('imgcheck phony ' + tag + '\n').encode()
body += bytes(-len(body) % 512)
open(path, 'wb').write(body)
PY

# ---- a BitLocker volume (structure only; see the header) -----------------------------------------
cat >"$WORK/bitlocker.py" <<'PY'
import hashlib, os, struct, sys
# libbde, "BitLocker Drive Encryption (BDE) format": volume header (boot sector), FVE metadata
# block header (64 bytes), FVE metadata header (48 bytes), metadata entries (8-byte header: size,
# entry type, value type, version).
SECTOR = 512
FILETIME = int(os.environ['SOURCE_DATE_EPOCH']) * 10**7 + 116444736000000000
BITLOCKER_ID = '4967d63b-2e29-4ad8-8399-f6a339e3d001'   # the same on every Windows 7+ volume
ENTRY_PROPERTY, ENTRY_VMK, ENTRY_FVEK, ENTRY_DESCRIPTION, ENTRY_VOLUME_HEADER = 0, 2, 3, 7, 0xF
VALUE_STRING, VALUE_STRETCH_KEY, VALUE_AES_CCM, VALUE_VMK, VALUE_OFFSET_SIZE = 2, 3, 5, 8, 0xF
PROTECTION_RECOVERY_PASSWORD = 0x0800
AES_XTS_128 = 0x8004
FVE = [0x20000, 0x60000, 0xA0000]       # the three FVE metadata blocks (64 KiB each)
HDR_OFF, HDR_SECTORS = 0xB0000, 16      # where the original boot sectors are kept (encrypted)

path, size, hidden, vol_guid, vmk_guid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4], sys.argv[5]

def guid(s):                            # mixed-endian on-disk GUID
    h = bytes.fromhex(s.replace('-', ''))
    return h[3::-1] + h[5:3:-1] + h[7:5:-1] + h[8:]

def filler(tag, n):                     # deterministic stand-in for key material
    out = b''
    while len(out) < n:
        out += hashlib.sha256(f'{tag}:{len(out)}'.encode()).digest()
    return out[:n]

def entry(etype, vtype, body):
    return struct.pack('<HHHH', 8 + len(body), etype, vtype, 1) + body

def aes_ccm(tag, counter, n):           # nonce (FILETIME + counter), MAC, encrypted key
    return struct.pack('<QI', FILETIME, counter) + filler(tag + '-mac', 16) + filler(tag, n)

vmk = entry(ENTRY_VMK, VALUE_VMK,
            guid(vmk_guid) + struct.pack('<QHH', FILETIME, 0, PROTECTION_RECOVERY_PASSWORD)
            + entry(ENTRY_PROPERTY, VALUE_STRETCH_KEY, struct.pack('<I', 0x1000) + filler('salt', 16))
            + entry(ENTRY_PROPERTY, VALUE_AES_CCM, aes_ccm('vmk', 1, 44)))
fvek = entry(ENTRY_FVEK, VALUE_AES_CCM, aes_ccm('fvek', 2, 44))
desc = entry(ENTRY_DESCRIPTION, VALUE_STRING, 'IMGCHECK-WIN E: 12/01/2024\0'.encode('utf-16-le'))
vhdr = entry(ENTRY_VOLUME_HEADER, VALUE_OFFSET_SIZE, struct.pack('<QQ', HDR_OFF, HDR_SECTORS * SECTOR))
entries = vmk + fvek + desc + vhdr
meta_size = 48 + len(entries)
# Block header: signature, size, version 2, current and next encryption state (4: encrypted, as
# dislocker names it), volume size, volume header sectors, the three block offsets, volume header.
block = (struct.pack('<8sHHHHQIIQQQQ', b'-FVE-FS-', 64, 2, 4, 4, size, 0, HDR_SECTORS, *FVE, HDR_OFF)
         + struct.pack('<IIII16sIIQ', meta_size, 1, 48, meta_size, guid(vol_guid), 3, AES_XTS_128,
                       FILETIME)
         + entries)

boot = bytearray(SECTOR)
boot[0:11] = b'\xeb\x58\x90-FVE-FS-'
struct.pack_into('<HBH', boot, 11, SECTOR, 8, 0)       # bytes/sector, sectors/cluster, reserved
boot[21] = 0xF8                                        # media descriptor
struct.pack_into('<HHI', boot, 24, 63, 255, hidden)    # sectors/track, heads, hidden sectors
boot[64], boot[66] = 0x80, 0x29                        # drive number, extended boot signature
boot[71:90] = b'NO NAME    FAT32   '
boot[160:176] = guid(BITLOCKER_ID)
struct.pack_into('<QQQ', boot, 176, *FVE)
boot[510:512] = b'\x55\xaa'

img = bytearray(size)
img[0:SECTOR] = boot
for off in FVE:
    img[off:off + len(block)] = block
open(path, 'wb').write(img)
PY

# ---- the variant's tree ----------------------------------------------------------------------------
build_tree() { # variant
    local v=$1 t=$WORK/$1
    local nt=$t/ntfs esp=$t/esp sr=$t/sysres
    mkdir -p "$nt/Windows/System32/config" "$nt/Windows/System32/drivers" \
        "$nt/Windows/System32/DriverStore/FileRepository/viostor.inf_amd64_5c4e8f2a1b3d6e70" \
        "$nt/Windows/System32/DriverStore/FileRepository/netkvm.inf_amd64_9d8c7b6a5f4e3d21" \
        "$nt/Windows/Setup/State" "$nt/Windows/WinSxS" "$nt/ProgramData/aliyun/assist" \
        "$esp/EFI/Microsoft/Boot" "$esp/EFI/Boot"

    if [ -n "$VER_OVERLAY" ]; then
        mkdir -p "$nt/Windows/System32/DriverStore/FileRepository/vioscsi.inf_amd64_3a2b1c0d9e8f7a65"
    fi
    if [ "$LAYOUT" = bios-mbr ]; then
        mkdir -p "$sr/Boot"
    fi

    # Hives: empty hive + good source (+ bad overlay, or DriverDatabase + version overlays).
    local h
    for h in SYSTEM SOFTWARE BCD; do
        local lower=${h,,} prefix root fname out
        case $h in
            SYSTEM) prefix='HKEY_LOCAL_MACHINE\SYSTEM' root=ROOT fname='emRoot\System32\Config\SYSTEM'
                    out=$nt/Windows/System32/config/SYSTEM ;;
            SOFTWARE) prefix='HKEY_LOCAL_MACHINE\SOFTWARE' root=ROOT fname='emRoot\System32\Config\SOFTWARE'
                      out=$nt/Windows/System32/config/SOFTWARE ;;
            BCD) prefix='HKEY_LOCAL_MACHINE\BCD00000000' root=NewStoreRoot
                 fname='\Device\HarddiskVolume1\EFI\Microsoft\Boot\BCD'
                 out=$esp/EFI/Microsoft/Boot/BCD ;;
        esac
        if [ "$h" = BCD ] && [ "$LAYOUT" = bios-mbr ]; then
            fname='\Device\HarddiskVolume1\Boot\BCD' out=$sr/Boot/BCD
        fi
        python3 "$WORK/empty_hive.py" "$out" "$root" "$fname"
        hivexregedit --merge --prefix "$prefix" "$out" "$SRC/$lower.reg"
        if [ "$v" = bad ]; then
            hivexregedit --merge --prefix "$prefix" "$out" "$SRC/$lower-bad.reg"
        fi
        if [ -n "$VER_OVERLAY" ]; then
            if [ "$h" = SYSTEM ]; then
                hivexregedit --merge --prefix "$prefix" "$out" "$SRC/system-driverdb.reg"
            fi
            hivexregedit --merge --prefix "$prefix" "$out" "$SRC/$lower-$v.reg"
        fi
        hivexregedit --export --prefix "$prefix" "$out" '\' >"$OUT/$v-$lower.export.reg" 2>/dev/null
    done

    # Executables: real PE headers (x64), nothing else.
    python3 "$WORK/pe.py" "$nt/Windows/System32/ntoskrnl.exe" 1 ntoskrnl.exe
    python3 "$WORK/pe.py" "$nt/Windows/System32/cmd.exe" 3 cmd.exe
    python3 "$WORK/pe.py" "$nt/Windows/System32/svchost.exe" 2 svchost.exe
    python3 "$WORK/pe.py" "$nt/Windows/System32/winload.efi" 10 winload.efi
    if [ -n "$VER_OVERLAY" ]; then
        python3 "$WORK/pe.py" "$nt/Windows/System32/winload.exe" 1 winload.exe
        python3 "$WORK/pe.py" "$nt/Windows/System32/hal.dll" 1 hal.dll
        printf '; phony vioscsi.inf\r\n[Version]\r\nClass=SCSIAdapter\r\n' \
            >"$nt/Windows/System32/DriverStore/FileRepository/vioscsi.inf_amd64_3a2b1c0d9e8f7a65/vioscsi.inf"
    fi
    if [ "$LAYOUT" = bios-mbr ]; then
        # bootmgr starts with real-mode code, not a PE header: a tagged stub.
        { printf 'imgcheck phony bootmgr\r\n'; head -c 488 /dev/zero; } >"$sr/bootmgr"
    fi
    python3 "$WORK/pe.py" "$nt/ProgramData/aliyun/assist/aliyun_assist_service.exe" 3 aliyun_assist_service.exe
    local d drivers=(viostor netkvm partmgr)
    if [ "$v" = bad ]; then drivers+=(xenpci); fi
    for d in "${drivers[@]}"; do
        python3 "$WORK/pe.py" "$nt/Windows/System32/drivers/$d.sys" 1 "$d.sys"
    done
    printf '; phony viostor.inf\r\n[Version]\r\nClass=SCSIAdapter\r\n' \
        >"$nt/Windows/System32/DriverStore/FileRepository/viostor.inf_amd64_5c4e8f2a1b3d6e70/viostor.inf"
    printf '; phony netkvm.inf\r\n[Version]\r\nClass=Net\r\n' \
        >"$nt/Windows/System32/DriverStore/FileRepository/netkvm.inf_amd64_9d8c7b6a5f4e3d21/netkvm.inf"
    # The boot manager (GUESTOS.BootMgr): the bad variant has neither bootmgfw.efi nor the
    # fallback loader, only the BCD store and the empty folders.
    if [ "$v" != bad ] && [ "$LAYOUT" = uefi-gpt ]; then
        python3 "$WORK/pe.py" "$esp/EFI/Microsoft/Boot/bootmgfw.efi" 10 bootmgfw.efi
        python3 "$WORK/pe.py" "$esp/EFI/Boot/bootx64.efi" 10 bootx64.efi
    fi

    # Desktop folders (GUESTOS.DesktopConfig): the good variant has desktop.ini (UTF-16LE with a
    # BOM, as Windows writes it) in the public and the Administrator's desktop; the bad variant
    # has the folders without it.
    mkdir -p "$nt/Users/Public/Desktop" "$nt/Users/Administrator/Desktop"
    if [ "$v" != bad ]; then
        local u
        for u in Public Administrator; do
            python3 -c 'import sys; open(sys.argv[1], "wb").write(b"\xff\xfe" + "\r\n[.ShellClassInfo]\r\nLocalizedResourceName=@%SystemRoot%\\system32\\shell32.dll,-21769\r\n".encode("utf-16-le"))' \
                "$nt/Users/$u/Desktop/desktop.ini"
        done
    fi

    # The page file: 64 KiB of zeros.
    head -c 65536 /dev/zero >"$nt/pagefile.sys"
    if [ "$v" != bad ]; then
        printf '[State]\r\nImageState=IMAGE_STATE_COMPLETE\r\n' >"$nt/Windows/Setup/State/State.ini"
    else
        printf '[State]\r\nImageState=IMAGE_STATE_UNDEPLOYABLE\r\n' >"$nt/Windows/Setup/State/State.ini"
        printf '<?xml version="1.0" encoding="utf-8"?>\r\n<PendingTransaction Version="3.1"/>\r\n' \
            >"$nt/Windows/WinSxS/pending.xml"
        # A hibernated system: "hibr" then zeros (64 KiB).
        { printf 'hibr'; head -c 65532 /dev/zero; } >"$nt/hiberfil.sys"
    fi
    find "$t" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# Set FILE_ATTRIBUTE_READONLY (0x1) in the $STANDARD_INFORMATION of one file of an NTFS image:
# find its FILE record by the $FILE_NAME attribute, patch the attribute flags (SI offset 0x20).
# The flags lie far from the sector ends that the update sequence array covers.
set_ntfs_readonly() { # image name
    python3 - "$1" "$2" <<'PY'
import struct, sys
img, want = sys.argv[1], sys.argv[2]
data = bytearray(open(img, 'rb').read())
bps = struct.unpack_from('<H', data, 0x0B)[0]
spc = data[0x0D]
cluster = bps * spc
mft = struct.unpack_from('<Q', data, 0x30)[0] * cluster
raw = struct.unpack_from('<b', data, 0x40)[0]
rec = cluster * raw if raw > 0 else 1 << -raw
hits = 0
for off in range(mft, len(data) - rec, rec):
    if data[off:off + 4] != b'FILE':
        continue
    a = off + struct.unpack_from('<H', data, off + 0x14)[0]
    si = None
    named = False
    while a + 8 < off + rec:
        typ, length = struct.unpack_from('<II', data, a)
        if typ == 0xFFFFFFFF or length == 0:
            break
        if data[a + 8] == 0:     # resident
            voff = a + struct.unpack_from('<H', data, a + 0x14)[0]
            if typ == 0x10:
                si = voff
            elif typ == 0x30:
                n = data[voff + 0x40]
                if data[voff + 0x42:voff + 0x42 + 2 * n].decode('utf-16-le') == want:
                    named = True
        a += length
    if named and si is not None:
        flags = struct.unpack_from('<I', data, si + 0x20)[0]
        struct.pack_into('<I', data, si + 0x20, flags | 0x1)
        hits += 1
if hits != 1:
    sys.exit(f'set_ntfs_readonly: {hits} records named {want}')
open(img, 'r+b').write(data)
PY
}

# ---- filesystems, disk, qcow2 ----------------------------------------------------------------------
# Write the fixed serial into an NTFS boot sector and its backup (last sector).
set_ntfs_serial() { # image sectors serial
    local serial_bytes last
    serial_bytes=$(python3 -c "print(''.join('\\\\x%02x'%b for b in (0x$3).to_bytes(8,'little')))")
    printf "$serial_bytes" | dd of="$1" bs=1 seek=$((0x48)) conv=notrunc status=none
    last=$(( $2 * 512 - 512 ))
    printf "$serial_bytes" | dd of="$1" bs=1 seek=$((last + 0x48)) conv=notrunc status=none
}

# Our own MBR boot program for the bios-mbr disks (28 bytes of code, then its message): set up
# the segments and stack, print the message with INT 10h AH=0Eh, halt. Not Microsoft's MBR code.
write_mbr_code() { # disk
    python3 - "$1" <<'PY'
import sys
code = bytes([0xFA, 0x31, 0xC0, 0x8E, 0xD8, 0x8E, 0xD0, 0xBC, 0x00, 0x7C, 0xFB,   # cli; ds=ss=0; sp=7c00; sti
              0xBE, 0x1C, 0x7C,                                                # mov si, 7c1c (message)
              0xAC, 0x84, 0xC0, 0x74, 0x06, 0xB4, 0x0E, 0xCD, 0x10, 0xEB, 0xF5,  # print loop
              0xF4, 0xEB, 0xFD])                                               # hlt; jmp hlt
code += b'imgcheck phony MBR: a test fixture, not bootable\0'
assert len(code) <= 440
with open(sys.argv[1], 'r+b') as f:
    f.write(code)
PY
}

# NTFS: hidden sectors = partition start, zero time, fixed serial; TREE written by wimapply.
make_ntfs() { # image sectors start label tree serial
    truncate -s $(($2 * 512)) "$1"
    "${FAKE[@]}" mkntfs -F -f -q -T -L "$4" -p "$3" -H 255 -S 63 "$1" 2>/dev/null
    # wimlib's default capture configuration excludes \pagefile.sys and \hiberfil.sys: use an
    # empty exclusion list instead.
    printf '[ExclusionList]\n' >"$WORK/wimconfig.txt"
    rm -f "$WORK/t.wim"
    wimcapture "$5" "$WORK/t.wim" --compress=none --no-acls --config="$WORK/wimconfig.txt" >/dev/null
    "${FAKE[@]}" wimapply "$WORK/t.wim" 1 "$1" >/dev/null
    set_ntfs_serial "$1" "$2" "$6"
}

build_disk() { # variant
    local v=$1 t=$WORK/$1
    variant_params "$v"
    build_tree "$v"
    if [ "$LAYOUT" = bios-mbr ]; then
        build_disk_mbr "$v"
        return
    fi

    # ESP: FAT32, fixed serial and label.
    rm -f "$t/esp.img"
    "${FAKE[@]}" mkfs.fat -F 32 -s 1 -n SYSTEM -i 2A3B4C5D -C "$t/esp.img" $((ESP_SECTORS / 2)) >/dev/null
    "${FAKE[@]}" mcopy -s -m -i "$t/esp.img" "$t/esp/EFI" ::/
    mdir -/ -i "$t/esp.img" ::/ >"$OUT/$v.mdir.txt"

    # NTFS: hidden sectors = partition start, zero time, fixed serial.
    truncate -s $((NTFS_SECTORS * 512)) "$t/ntfs.img"
    "${FAKE[@]}" mkntfs -F -f -q -T -L Windows -p "$NTFS_START" -H 255 -S 63 "$t/ntfs.img" 2>/dev/null
    # wimlib's default capture configuration excludes \pagefile.sys and \hiberfil.sys: use an
    # empty exclusion list instead.
    printf '[ExclusionList]\n' >"$WORK/wimconfig.txt"
    wimcapture "$t/ntfs" "$t/t.wim" --compress=none --no-acls --config="$WORK/wimconfig.txt" >/dev/null
    "${FAKE[@]}" wimapply "$t/t.wim" 1 "$t/ntfs.img" >/dev/null
    set_ntfs_serial "$t/ntfs.img" "$NTFS_SECTORS" "$NTFS_SERIAL"
    if [ "$v" = bad ]; then
        set_ntfs_readonly "$t/ntfs.img" netkvm.sys
    fi
    ntfsls -R -l "$t/ntfs.img" >"$OUT/$v.ntfsls.txt" 2>&1
    ntfsinfo -F /Windows/System32/drivers/netkvm.sys "$t/ntfs.img" 2>&1 |
        grep -E 'File attributes|FILE_ATTR' | sort -u >"$OUT/$v.ntfsinfo-netkvm.txt" || true

    # The bad variant's BitLocker data volume, and what blkid and cryptsetup make of it.
    local bl_line=
    if [ "$v" = bad ]; then
        python3 "$WORK/bitlocker.py" "$t/bitlocker.img" $((BL_SECTORS * 512)) "$BL_START" \
            "$BL_VOLUME_GUID" "$BL_VMK_GUID"
        (cd "$t" && blkid -p bitlocker.img) >"$OUT/$v.blkid-bitlocker.txt"
        (cd "$t" && cryptsetup bitlkDump bitlocker.img) >"$OUT/$v.bitlkdump.txt"
        bl_line="start=$BL_START, size=$BL_SECTORS, type=$BASIC_DATA_TYPE, uuid=$BL_GUID, name=\"Basic data partition\""
    fi
    local parts="start=$ESP_START, size=$ESP_SECTORS, type=$ESP_TYPE, uuid=$ESP_GUID, name=\"EFI system partition\""
    if [ -n "$MSR_START" ]; then
        parts+=$'\n'"start=$MSR_START, size=$MSR_SECTORS, type=$MSR_TYPE, uuid=$MSR_GUID, name=\"Microsoft reserved partition\""
    fi
    parts+=$'\n'"start=$NTFS_START, size=$NTFS_SECTORS, type=$BASIC_DATA_TYPE, uuid=$NTFS_GUID, name=\"Basic data partition\""

    # GPT disk (an MSR for the newer variants; the BitLocker line is empty but for bad).
    rm -f "$t/disk.raw"
    truncate -s "$DISK_BYTES" "$t/disk.raw"
    sfdisk -q "$t/disk.raw" <<EOF
label: gpt
label-id: $DISK_GUID
first-lba: 2048
$parts
$bl_line
EOF
    (cd "$t" && sfdisk --json disk.raw) >"$OUT/$v.sfdisk.json"
    dd if="$t/esp.img" of="$t/disk.raw" bs=512 seek="$ESP_START" conv=notrunc,sparse status=none
    dd if="$t/ntfs.img" of="$t/disk.raw" bs=512 seek="$NTFS_START" conv=notrunc,sparse status=none
    if [ "$v" = bad ]; then
        dd if="$t/bitlocker.img" of="$t/disk.raw" bs=512 seek="$BL_START" conv=notrunc,sparse \
            status=none
    fi
    rm -f "$OUT/windows-$v.qcow2"
    qemu-img convert -f raw -O qcow2 -c "$t/disk.raw" "$OUT/windows-$v.qcow2"
}

# BIOS/MBR: System Reserved (active: \bootmgr and \Boot\BCD) + C:.
build_disk_mbr() { # variant
    local v=$1 t=$WORK/$1
    make_ntfs "$t/sysres.img" "$SYSRES_SECTORS" "$SYSRES_START" "System Reserved" "$t/sysres" \
        "5e5e${NTFS_SERIAL:4}"
    ntfsls -R -l "$t/sysres.img" >"$OUT/$v.ntfsls-sysres.txt" 2>&1
    make_ntfs "$t/ntfs.img" "$NTFS_SECTORS" "$NTFS_START" Windows "$t/ntfs" "$NTFS_SERIAL"
    ntfsls -R -l "$t/ntfs.img" >"$OUT/$v.ntfsls.txt" 2>&1
    ntfsinfo -F /Windows/System32/drivers/netkvm.sys "$t/ntfs.img" 2>&1 |
        grep -E 'File attributes|FILE_ATTR' | sort -u >"$OUT/$v.ntfsinfo-netkvm.txt" || true

    rm -f "$t/disk.raw"
    truncate -s "$DISK_BYTES" "$t/disk.raw"
    sfdisk -q "$t/disk.raw" <<EOF
label: dos
label-id: $DISK_SIG
start=$SYSRES_START, size=$SYSRES_SECTORS, type=7, bootable
start=$NTFS_START, size=$NTFS_SECTORS, type=7
EOF
    write_mbr_code "$t/disk.raw"
    (cd "$t" && sfdisk --json disk.raw) >"$OUT/$v.sfdisk.json"
    dd if="$t/sysres.img" of="$t/disk.raw" bs=512 seek="$SYSRES_START" conv=notrunc,sparse status=none
    dd if="$t/ntfs.img" of="$t/disk.raw" bs=512 seek="$NTFS_START" conv=notrunc,sparse status=none
    rm -f "$OUT/windows-$v.qcow2"
    qemu-img convert -f raw -O qcow2 -c "$t/disk.raw" "$OUT/windows-$v.qcow2"
}

for variant in good bad 2012r2 2016 2019 10 11; do
    build_disk "$variant"
done

# ---- manifest: what imgcheck must report ----------------------------------------------------------
python3 - "$OUT/manifest.json" <<'PY'
import json, sys
common = {
    "disk": {"virtual_size": 64 << 20, "esp_partition_guid": "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9",
             "os_partition_guid": "7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5"},
    "product_name": "Windows Server 2022 Datacenter", "edition_id": "ServerDatacenter",
    "installation_type": "Server", "major_version": 10, "minor_version": 0, "build": "20348",
    "ubr": 2227, "display_version": "21H2", "arch": "amd64", "hostname": "IMGCHECK-WIN",
    "current_control_set": "ControlSet001", "kms": "kms.example.internal",
    "programs": ["7-Zip 23.01 (x64)", "Aliyun Assist", "Notepad++ (32-bit x86)"],
    "agents": ["aliyun-assist"], "rdp_port": 3389, "crash_dump_enabled": 7,
    "driver_store": ["netkvm.inf_amd64_9d8c7b6a5f4e3d21", "viostor.inf_amd64_5c4e8f2a1b3d6e70"],
    "drive_letters": {"C:": "gpt partition 7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5"},
    "boot_files": ["/EFI/Boot/bootx64.efi", "/EFI/Microsoft/Boot/BCD",
                   "/EFI/Microsoft/Boot/bootmgfw.efi"],
    "bcd": {"store": "/EFI/Microsoft/Boot/BCD", "default": "{b2c3d4e5-f607-4819-a2b3-c4d5e6f70819}",
            "description": "Windows Server",
            "device": "gpt partition 7e1f0c52-3a4b-4c5d-8e6f-708192a3b4c5 on disk 5c3e1a2b-6d4f-4e8a-9b0c-1d2e3f405162"},
}
good = dict(common, **{
    "viostor_start": 0, "disk_upper_filters": ["partmgr"], "rdp_enabled": True,
    "image_state": "IMAGE_STATE_COMPLETE", "pending_xml": False, "reboot_pending": False,
    "hibernated": False, "fast_startup": False, "san_policy": 1,
    "hypervisor_tools": [], "netkvm_read_only": False, "xen_services": [],
    "xen_hide_devices": None, "bitlocker": None, "bitlocker_boot_status": 0, "dc_paths": {},
    "bitlocker_policy": {},
    "bcd_path": "\\Windows\\system32\\winload.efi", "bcd_path_exists": True,
    "hotfixes_installed": ["KB5005039"],
    "bcd_osdevice": common["bcd"]["device"], "bcd_bootmgr_ems": True, "bcd_ems": True,
    "device_install_disabled": 0, "device_install_restrictions": [],
    "desktop_ini": {"/Users/Administrator/Desktop": True, "/Users/Public/Desktop": True},
})
bad = dict(common, **{
    "viostor_start": 3, "disk_upper_filters": ["partmgr", "xenfilt"], "rdp_enabled": False,
    "image_state": "IMAGE_STATE_UNDEPLOYABLE", "pending_xml": True, "reboot_pending": True,
    "hibernated": True, "fast_startup": True, "san_policy": 4,
    "hypervisor_tools": ["vmware-tools"], "netkvm_read_only": True,
    "xen_services": ["xenbus", "xenfilt", "XenPCI"], "xen_hide_devices": "ide,nic",
    "boot_files": ["/EFI/Microsoft/Boot/BCD"],
    "bitlocker": {"partition": 3, "partition_guid": "b1710c4e-2f3a-4b5c-8d6e-7f8091a2b3c4",
                  "volume_guid": "3f2e1d0c-5b4a-4978-8695-a4b3c2d1e0f9", "letter": "E:"},
    "bitlocker_boot_status": 1, "dc_paths": {"DSA Database file": "D:\\NTDS\\ntds.dit"},
    "bitlocker_policy": {"EncryptionMethodWithXtsOs": "7"},
    "bcd_path": "\\Windows\\system32\\winload.exe", "bcd_path_exists": False,
    "hotfixes_installed": ["KB5005039", "KB5009555"],
    "drive_letters": {"C:": "gpt partition deadbeef-0bad-4c0d-8e0f-000000000c0c"},
    "bcd_osdevice": "gpt partition deadbeef-0bad-4c0d-8e0f-00000000d15c on disk 5c3e1a2b-6d4f-4e8a-9b0c-1d2e3f405162",
    "bcd_bootmgr_ems": False, "bcd_ems": False,
    "device_install_disabled": 1,
    "device_install_restrictions": ["DenyDeviceClasses", "DenyDeviceClasses\\1"],
    "desktop_ini": {"/Users/Administrator/Desktop": False, "/Users/Public/Desktop": False},
})
bad["programs"] = sorted(common["programs"] + ["VMware Tools"], key=str.lower)
# ---- the newer guests (one good variant per release) ----
drivers = {
    "netkvm": ["netkvm.inf_amd64_9d8c7b6a5f4e3d21", "oem4.inf",
               ["PCI\\VEN_1AF4&DEV_1000", "PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00",
                "PCI\\VEN_1AF4&DEV_1041", "PCI\\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01"]],
    "vioscsi": ["vioscsi.inf_amd64_3a2b1c0d9e8f7a65", "oem5.inf",
                ["PCI\\VEN_1AF4&DEV_1004", "PCI\\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00",
                 "PCI\\VEN_1AF4&DEV_1048", "PCI\\VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01"]],
    "viostor": ["viostor.inf_amd64_5c4e8f2a1b3d6e70", "oem3.inf",
                ["PCI\\VEN_1AF4&DEV_1001", "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00",
                 "PCI\\VEN_1AF4&DEV_1042", "PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01"]],
}
driver_database = {
    name: {"package": pkg, "published_inf": inf, "device_ids": ids, "provider": "Red Hat, Inc.",
           "version": "100.94.104.24000", "date": "2023-08-10"}
    for name, (pkg, inf, ids) in drivers.items()
}
def mbr(sig):
    return {"layout": "bios-mbr", "os_partition": 2, "system_partition": 1,
            "drive_letters": {"C:": f"mbr disk {sig} offset 9437184"},
            "boot_files": ["/bootmgr", "/Boot/BCD"],
            "bcd": {"store": "/Boot/BCD", "volume": "1", "path": "\\Windows\\system32\\winload.exe",
                    "device": f"mbr disk {sig} offset 9437184",
                    "bootmgr_device": f"mbr disk {sig} offset 1048576"}}
def gpt(disk, esp, os_part):
    dev = f"gpt partition {os_part} on disk {disk}"
    return {"layout": "uefi-gpt", "os_partition": 3, "system_partition": 1,
            "drive_letters": {"C:": f"gpt partition {os_part}"},
            "boot_files": ["/EFI/Microsoft/Boot/BCD", "/EFI/Microsoft/Boot/bootmgfw.efi",
                           "/EFI/Boot/bootx64.efi"],
            "bcd": {"store": "/EFI/Microsoft/Boot/BCD", "volume": "1",
                    "path": "\\Windows\\system32\\winload.efi", "device": dev,
                    "bootmgr_device": f"gpt partition {esp} on disk {disk}"}}
newer = {
    "2012r2": dict(mbr("3e2c9a17"), product_name="Windows Server 2012 R2 Datacenter",
                   edition_id="ServerDatacenter", installation_type="Server", major_version=6,
                   minor_version=3, build="9600", ubr=None, display_version=None,
                   release="Windows Server 2012 R2", hostname="IMGCHECK-2012R2",
                   bcd_description="Windows Server 2012 R2",
                   hotfixes_installed=["KB2919355", "KB5034171"]),
    "2016": dict(mbr("5d16e0a4"), product_name="Windows Server 2016 Datacenter",
                 edition_id="ServerDatacenter", installation_type="Server", major_version=10,
                 minor_version=0, build="14393", ubr=6614, display_version="1607",
                 release="Windows Server 2016", hostname="IMGCHECK-2016",
                 bcd_description="Windows Server", hotfixes_installed=["KB5034119"]),
    "2019": dict(gpt("8b2f6c1d-2019-4a3b-9c8d-0e1f2a3b4c5d", "1e2d3c4b-2019-4f6e-8d7c-6b5a49382716",
                     "c0ffee19-2019-4b5a-8c7d-9e0f1a2b3c4d"),
                 product_name="Windows Server 2019 Datacenter", edition_id="ServerDatacenter",
                 installation_type="Server", major_version=10, minor_version=0, build="17763",
                 ubr=5329, display_version="1809", release="Windows Server 2019",
                 hostname="IMGCHECK-2019", bcd_description="Windows Server",
                 hotfixes_installed=["KB5034127"]),
    "10": dict(mbr("7a10c0de"), product_name="Windows 10 Pro", edition_id="Professional",
               installation_type="Client", major_version=10, minor_version=0, build="19045",
               ubr=3930, display_version="22H2", release="Windows 10", hostname="IMGCHECK-W10",
               bcd_description="Windows 10", hotfixes_installed=["KB5034122"]),
    "11": dict(gpt("4f11a2b3-c4d5-46e7-8f90-a1b2c3d4e5f6", "e5f60711-2233-4455-8677-8899aabbccdd",
                   "11a0b1c2-d3e4-45f6-8a7b-9c0d1e2f3a4b"),
               product_name="Windows 10 Pro", edition_id="Professional",
               installation_type="Client", major_version=10, minor_version=0, build="22631",
               ubr=3007, display_version="23H2", release="Windows 11", hostname="IMGCHECK-W11",
               bcd_description="Windows 11", hotfixes_installed=["KB5034123"]),
}
for v in newer.values():
    v.update(arch="amd64", driver_database=driver_database,
             driver_store=sorted(d[0] for d in drivers.values()))
with open(sys.argv[1], 'w') as f:
    json.dump(dict({"good": good, "bad": bad}, **newer), f, indent=1, sort_keys=True)
    f.write('\n')
PY

ls -l "$OUT"/*.qcow2
du -sh "$OUT"
