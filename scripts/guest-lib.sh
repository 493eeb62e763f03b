# Shell helpers shared by the phony-guest generators (scripts/make-sample.sh,
# scripts/make-distro-guests.sh). Source it; it defines functions only. Every helper is
# deterministic: it pins times to $SOURCE_DATE_EPOCH, which the caller exports.

# guest_elf_stubs ROOT PATH... — write a minimal x86-64 ELF header (64 bytes: ELFCLASS64,
# little-endian, SysV, ET_DYN, EM_X86_64) to each ROOT/PATH, mode 0755: enough for architecture
# detection. With GUEST_ELF_CLASS=32 the header is an i386 one (ELFCLASS32, EM_386, 52 bytes).
guest_elf_stubs() {
  python3 - "$@" <<'PY'
import struct, sys, os
root, paths = sys.argv[1], sys.argv[2:]
if os.environ.get("GUEST_ELF_CLASS") == "32":
    hdr = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    hdr += struct.pack("<HHIIIIIHHHHHH", 3, 0x03, 1, 0x1000, 52, 0, 0, 52, 32, 0, 40, 0, 0)
else:
    hdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)          # 64-bit, little-endian, SysV
    hdr += struct.pack("<HHIQQQIHHHHHH", 3, 0x3E, 1, 0x1000, 64, 0, 0, 64, 56, 0, 64, 0, 0)
for p in paths:
    path = os.path.join(root, p)
    with open(path, "wb") as f:
        f.write(hdr)
    os.chmod(path, 0o755)
PY
}

# guest_initramfs TREE OUT COMPRESSOR... — an initramfs as the distributions' generators write it:
# every entry of TREE (sorted, times pinned) as one cpio newc archive, piped through COMPRESSOR
# (e.g. `gzip -9n`, `xz --check=crc32 -9`, `zstd -q -19`; `cat` for none) into OUT.
guest_initramfs() {
  local tree=$1 out=$2; shift 2
  find "$tree" -exec touch -h -d @"$SOURCE_DATE_EPOCH" {} +
  (cd "$tree" && find . -mindepth 1 | sort | cpio --quiet -o -H newc --reproducible | "$@") > "$out"
}

# guest_pin_ext4_ctimes TREE IMG — mke2fs -d copies each file's host ctime, which cannot be set
# on the host: pin every inode's ctime of IMG (built from TREE) to $SOURCE_DATE_EPOCH.
guest_pin_ext4_ctimes() {
  local tree=$1 img=$2 cmd
  cmd=$(mktemp)
  (cd "$tree" && find . -mindepth 1 | sed 's#^\.##' | while IFS= read -r p; do
     printf 'sif "%s" ctime @%s\nsif "%s" ctime_extra 0\n' "$p" "$SOURCE_DATE_EPOCH" "$p"; done) > "$cmd"
  debugfs -w -f "$cmd" "$img" >/dev/null 2>&1
  rm -f "$cmd"
}

# guest_sfdisk_json RAW OUT — `sfdisk --json` of RAW with the device path made stable.
guest_sfdisk_json() {
  sfdisk --json "$1" | sed 's#"device": "[^"]*"#"device": "disk.raw"#; s#"node": "[^"]*/\([^/"]*\)#"node": "\1#' > "$2"
}

# guest_qemu_info QCOW OUT — what `qemu-img info` says: format, virtual size, cluster size and
# the backing file (if any).
guest_qemu_info() {
  qemu-img info --output=json "$1" | python3 -c '
import json,sys; d=json.load(sys.stdin)
o={"format": d["format"], "virtual-size": d["virtual-size"], "cluster-size": d.get("cluster-size")}
if "backing-filename" in d: o["backing-filename"]=d["backing-filename"]; o["backing-filename-format"]=d.get("backing-filename-format")
print(json.dumps(o, indent=2))' > "$2"
}

# guest_grub_mbr_gap DISK BOOT_IMG CORE_IMG — GRUB for BIOS on an MBR (msdos) disk, as
# grub-bios-setup embeds it: core.img in the gap after the MBR (LBA 1..), its diskboot blocklist
# pointing at LBA 2, boot.img in sector 0 with the kernel-sector field 1, the BPB, disk signature
# and partition table of the disk's sector 0 kept (the GPT case is scripts/grub-bios-embed.py).
guest_grub_mbr_gap() {
  python3 - "$@" <<'PY'
import struct, sys
disk, boot_path, core_path = sys.argv[1:4]
S = 512
boot = bytearray(open(boot_path, "rb").read())
core = bytearray(open(core_path, "rb").read())
n = (len(core) + S - 1) // S
core += bytes(n * S - len(core))
with open(disk, "r+b") as f:
    mbr = f.read(S)
    first = min(struct.unpack_from("<I", mbr, 0x1BE + 16 * i + 8)[0] or 1 << 32 for i in range(4))
    if 1 + n > first:
        sys.exit("guest_grub_mbr_gap: core.img (%d sectors) does not fit before LBA %d" % (n, first))
    e = S - 12
    _, count, seg = struct.unpack_from("<QHH", core, e)
    if count != n - 1 or seg != 0x820:
        sys.exit("guest_grub_mbr_gap: unexpected diskboot blocklist")
    struct.pack_into("<Q", core, e, 2)
    boot[0x03:0x5A] = mbr[0x03:0x5A]
    struct.pack_into("<Q", boot, 0x5C, 1)
    boot[0x64] = 0xFF
    boot[0x66:0x68] = b"\x90\x90"
    boot[0x1B8:0x1FE] = mbr[0x1B8:0x1FE]
    f.seek(S); f.write(core)
    f.seek(0); f.write(boot)
PY
}
