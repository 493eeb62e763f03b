#!/usr/bin/env python3
"""Install GRUB for BIOS into a GPT disk image file the way `grub-bios-setup --no-rs-codes`
embeds it, without root, loop devices or a mounted /boot (grub-bios-setup itself refuses a plain
file: it must guess the device holding its -d directory, and fails with "guessing the root device
failed" or "failed to get canonical path of `tmpfs'").

Usage: grub-bios-embed.py DISK BOOT_IMG CORE_IMG

BOOT_IMG is GRUB's own /usr/lib/grub/i386-pc/boot.img, CORE_IMG the output of
`grub-mkimage -O i386-pc` (diskboot.img + the lzma-compressed kernel and modules). The steps are
those GRUB's util/setup.c documents for an embedding install (read there, written here):

1. The embedding area is the GPT BIOS boot partition (type 21686148-6449-6E6F-744E-656564454649);
   core.img's sectors go to its first ceil(len/512) sectors, contiguous (GRUB's gpt embed).
2. core.img, first sector (diskboot.img): its last 12 bytes are the first blocklist entry
   (start LBA u64 LE, sector count u16 LE, load segment u16 LE). grub-mkimage already sets the
   count (sectors after the first) and the segment (0x820); the start becomes the LBA after
   the first sector. The 12 bytes before it stay zero (the terminator).
3. boot.img: bytes 0x03..0x5A (a BPB) come from the disk's current sector 0; 0x5C..0x64
   (GRUB_BOOT_MACHINE_KERNEL_SECTOR) = LBA of core.img's first sector; 0x64 (boot drive) =
   0xFF (use the drive the BIOS passes in DL); 0x66..0x68 (the boot-drive check jump) = two NOPs
   (hard-disk install); 0x1B8..0x1FE (disk signature and partition table) come from the disk's
   sector 0, so the protective MBR entry is kept. The 0x55AA signature stays.

No Reed-Solomon codes are added (grub-bios-setup's default adds them after core.img; they only
repair a damaged embedding area). Afterwards the written sectors are read back and compared, as
grub-bios-setup does.
"""
import struct
import sys

SECTOR = 512
BIOS_BOOT = "21686148-6449-6E6F-744E-656564454649"
BPB_START, BPB_END = 0x03, 0x5A
KERNEL_SECTOR = 0x5C
BOOT_DRIVE = 0x64
DRIVE_CHECK = 0x66
NT_MAGIC, PART_END = 0x1B8, 0x1FE
LIST_SIZE = 12


def guid(b):
    a, b2, c = struct.unpack_from("<IHH", b, 0)
    return "%08X-%04X-%04X-%s-%s" % (a, b2, c, b[8:10].hex().upper(), b[10:16].hex().upper())


def bios_boot_partition(f):
    f.seek(SECTOR)
    hdr = f.read(SECTOR)
    if hdr[:8] != b"EFI PART":
        sys.exit("grub-bios-embed: no GPT header at LBA 1")
    entries_lba, count, size = struct.unpack_from("<QII", hdr, 72)
    f.seek(entries_lba * SECTOR)
    table = f.read(count * size)
    for i in range(count):
        e = table[i * size:(i + 1) * size]
        if guid(e[0:16]) == BIOS_BOOT:
            first, last = struct.unpack_from("<QQ", e, 32)
            return i + 1, first, last - first + 1
    sys.exit("grub-bios-embed: the disk has no BIOS boot partition")


def main():
    disk, boot_path, core_path = sys.argv[1:4]
    boot = bytearray(open(boot_path, "rb").read())
    core = bytearray(open(core_path, "rb").read())
    if len(boot) != SECTOR or boot[0x1FE:0x200] != b"\x55\xaa":
        sys.exit("grub-bios-embed: %s is not a 512-byte boot sector" % boot_path)
    nsec = (len(core) + SECTOR - 1) // SECTOR
    if nsec < 2:
        sys.exit("grub-bios-embed: %s is too small" % core_path)
    core += bytes(nsec * SECTOR - len(core))
    with open(disk, "r+b") as f:
        number, start, length = bios_boot_partition(f)
        if length < nsec:
            sys.exit("grub-bios-embed: core.img (%d sectors) does not fit in BIOS boot partition %d (%d sectors)"
                     % (nsec, number, length))
        # diskboot's first blocklist entry: the sectors after the first, loaded at 0x820:0.
        entry = SECTOR - LIST_SIZE
        _, count, segment = struct.unpack_from("<QHH", core, entry)
        if count != nsec - 1 or segment != 0x820:
            sys.exit("grub-bios-embed: unexpected diskboot blocklist (count %d, segment %#x)" % (count, segment))
        if core[entry - LIST_SIZE:entry] != bytes(LIST_SIZE):
            sys.exit("grub-bios-embed: diskboot blocklist has no terminator")
        struct.pack_into("<Q", core, entry, start + 1)
        f.seek(0)
        mbr = f.read(SECTOR)
        boot[BPB_START:BPB_END] = mbr[BPB_START:BPB_END]
        struct.pack_into("<Q", boot, KERNEL_SECTOR, start)
        boot[BOOT_DRIVE] = 0xFF
        boot[DRIVE_CHECK:DRIVE_CHECK + 2] = b"\x90\x90"
        boot[NT_MAGIC:PART_END] = mbr[NT_MAGIC:PART_END]
        f.seek(start * SECTOR)
        f.write(core)
        f.seek(0)
        f.write(boot)
        f.flush()
        f.seek(0)
        ok = f.read(SECTOR) == bytes(boot)
        f.seek(start * SECTOR)
        ok = ok and f.read(len(core)) == bytes(core)
        if not ok:
            sys.exit("grub-bios-embed: read-back differs")
    print("grub-bios-embed: boot.img in sector 0 (core.img at LBA %d), core.img %d sectors in BIOS boot partition %d"
          % (start, nsec, number))


main()
