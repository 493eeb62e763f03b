#!/usr/bin/env bash
# Build the LVM2 and md RAID fixtures of crates/volume (testdata/lvm/).
#
# usage: scripts/make-lvm-fixtures.sh [OUTDIR]      (default: testdata/lvm)
#
# Writes into OUTDIR:
#   *.img.gz        each disk image compressed with gzip -9n
#   manifest.json   what each image must yield: VGs, PVs, LVs (size, kind, readable, sha256 of
#                   the LV's bytes), md members and arrays (sha256 of a RAID1 array's bytes)
#
# No root, no mounting, no loop devices and no lvm/mdadm tools needed to *create*: the LVM2
# on-disk structures (label, PV header, metadata area header, metadata text with its CRC) and the
# md superblocks (v0.90 and v1.2) are written by the python3 program below from the formats'
# specifications. mkfs.ext4 -d builds the root LV's filesystem, sfdisk the GPT and MBR tables
# whose partitions hold two of the PVs. mdadm cannot create an array on plain files without loop
# devices, so the md superblocks are written here too; `mdadm --examine` and
# `pvck --dump headers|metadata` read them back in crates/volume/tests/lvm_tools.rs.
#
# Deterministic: fixed UUIDs, E2FSPROGS_FAKE_TIME, hash seed, fixed timestamps; LV contents are a
# compressible pattern (each 4 KiB block starts with "imgcheck <vg>/<lv> block <n>").
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC
export E2FSPROGS_FAKE_TIME=1700000000 SOURCE_DATE_EPOCH=1700000000
PATH=$PATH:/usr/sbin:/sbin

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/testdata/lvm}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for tool in mkfs.ext4 debugfs sfdisk gzip python3 truncate; do
    command -v "$tool" >/dev/null || { echo "make-lvm-fixtures: $tool missing" >&2; exit 1; }
done

# ---- the root LV's filesystem: a tiny Linux root --------------------------------------------------
TREE=$WORK/tree
mkdir -p "$TREE/etc" "$TREE/boot" "$TREE/usr/bin" "$TREE/sbin" "$TREE/var/log"
cat >"$TREE/etc/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
EOF
cat >"$TREE/etc/fstab" <<'EOF'
# /etc/fstab: static file system information.
/dev/mapper/vgsys-root  /      ext4  errors=remount-ro  0  1
EOF
echo lvm-fixture >"$TREE/etc/hostname"
printf '#!/bin/sh\necho init\n' >"$TREE/sbin/init"
chmod 0755 "$TREE/sbin/init"
find "$TREE" -exec touch -h -d @1700000000 {} +
mkfs.ext4 -q -F -d "$TREE" -b 1024 -N 64 -U 0b8e4a57-7f3c-4a1e-9d2b-5c6e7f809a1b -L lvroot \
    -E root_owner=0:0,hash_seed=6a1c0de2-3b4f-4c5d-8e9f-a0b1c2d3e4f5 -O ^has_journal \
    "$WORK/root.ext4" 5M
# mke2fs -d copies each file's host ctime (touch cannot set it): pin it for reproducibility.
(cd "$TREE" && find . -mindepth 1 | sed 's|^\.||') |
    while read -r p; do echo "set_inode_field $p ctime 0x6553f100"; done >"$WORK/ctime.cmd"
debugfs -w -f "$WORK/ctime.cmd" "$WORK/root.ext4" >/dev/null 2>&1

# ---- partitioned disks whose first partition becomes a PV ---------------------------------------
truncate -s 16M "$WORK/lvm-gpt.img"
sfdisk -q "$WORK/lvm-gpt.img" <<'EOF'
label: gpt
label-id: 3F0A6C2E-91B4-4D7E-8A55-0C1D2E3F4A5B
first-lba: 2048
start=2048, size=28672, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, uuid=7C9E2B41-5D3A-4F60-9B8E-112233445566, name="pv0"
EOF
truncate -s 12M "$WORK/lvm-mbr.img"
sfdisk -q "$WORK/lvm-mbr.img" <<'EOF'
label: dos
label-id: 0x1234abcd
start=2048, size=22528, type=8e
EOF

# ---- md RAID1 inside one image: a GPT disk whose two partitions are the members ---------------
# The array holds a small ext4 filesystem (mkfs.ext4 -d of the tree below); the manifest records
# every path of the tree with the SHA-256 of its bytes, computed from the source tree, and what
# debugfs lists in the filesystem's root.
MDTREE=$WORK/mdtree
mkdir -p "$MDTREE/etc" "$MDTREE/data/sub"
printf 'md-fixture\n' >"$MDTREE/etc/hostname"
printf 'imgcheck md RAID1 fixture: this file lives on an ext4 filesystem inside the array.\n' >"$MDTREE/readme.txt"
python3 -c 'import sys; sys.stdout.buffer.write(bytes((i * 7 + 3) % 251 for i in range(70000)))' >"$MDTREE/data/pattern.bin"
printf 'nested\n' >"$MDTREE/data/sub/nested.txt"
: >"$MDTREE/data/empty"
ln -s ../readme.txt "$MDTREE/data/link"
find "$MDTREE" -exec touch -h -d @1700000000 {} +
mkfs.ext4 -q -F -d "$MDTREE" -b 1024 -N 32 -U 6d6d6d6d-1111-4222-8333-444455556666 -L mdroot \
    -E root_owner=0:0,hash_seed=6d6d6d6d-aaaa-4bbb-8ccc-ddddeeeeffff -O ^has_journal \
    "$WORK/md.ext4" 2M
(cd "$MDTREE" && find . -mindepth 1 | sed 's|^\.||') |
    while read -r p; do echo "set_inode_field $p ctime 0x6553f100"; done >"$WORK/mdctime.cmd"
debugfs -w -f "$WORK/mdctime.cmd" "$WORK/md.ext4" >/dev/null 2>&1
debugfs -R 'ls -p /' "$WORK/md.ext4" 2>/dev/null |
    awk -F/ 'NF >= 6 && $6 != "." && $6 != ".." { print $6 }' | sort >"$WORK/md-root.ls"
truncate -s 8M "$WORK/md-raid1-gpt.img"
sfdisk -q "$WORK/md-raid1-gpt.img" <<'EOF'
label: gpt
label-id: 6D0A6C2E-91B4-4D7E-8A55-0C1D2E3F4A6D
first-lba: 2048
start=2048, size=6144, type=A19D880F-05FC-4D3B-A006-743F0F84911E, uuid=6D9E2B41-5D3A-4F60-9B8E-1122334455A1, name="md-a"
start=8192, size=6144, type=A19D880F-05FC-4D3B-A006-743F0F84911E, uuid=6D9E2B41-5D3A-4F60-9B8E-1122334455B2, name="md-b"
EOF

python3 - "$WORK" <<'PYEOF'
"""Write LVM2 PVs, md superblocks and the manifest (see the shell header for the why)."""
import gzip, hashlib, json, os, struct, sys, zlib

WORK = sys.argv[1]
MiB = 1 << 20
SECTOR = 512

# ---------------------------------------------------------------- LVM2 on-disk format
LVM_INITIAL_CRC = 0xF597A6CF          # lib/misc/crc.h: INITIAL_CRC
MDA_MAGIC = b" LVM2 x[5A%r0N*>"       # lib/format_text/layout.h: FMTT_MAGIC
LABEL_ID = b"LABELONE"
LABEL_TYPE = b"LVM2 001"


def lvm_crc(data, crc=LVM_INITIAL_CRC):
    """LVM's calc_crc: CRC-32 (reflected 0xEDB88320) from `crc`, no final inversion."""
    return zlib.crc32(data, crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def dashed(uuid32):
    """LVM's printed form of a 32-character id: 6-4-4-4-4-4-6."""
    parts, pos = [], 0
    for n in (6, 4, 4, 4, 4, 4, 6):
        parts.append(uuid32[pos:pos + n]); pos += n
    return "-".join(parts)


def pattern(tag, size):
    """Compressible, position-distinct bytes: each 4 KiB block starts with its own tag."""
    out = bytearray()
    block = 0
    while len(out) < size:
        head = f"imgcheck {tag} block {block}\n".encode()
        fill = bytes([(block * 7 + 1) & 0xFF]) * (4096 - len(head))
        out += head + fill
        block += 1
    return bytes(out[:size])


def write_at(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def lvm_label(pv_uuid, dev_size, pe_start, mdas):
    """Sector 1 of a PV: label_header + pv_header (+ extension v2)."""
    lab = bytearray(SECTOR)
    lab[0:8] = LABEL_ID
    struct.pack_into("<Q", lab, 8, 1)          # sector_xl: this label's sector
    struct.pack_into("<I", lab, 20, 32)        # offset_xl: pv_header follows the 32-byte header
    lab[24:32] = LABEL_TYPE
    pos = 32
    lab[pos:pos + 32] = pv_uuid.encode(); pos += 32
    struct.pack_into("<Q", lab, pos, dev_size); pos += 8
    # data areas: one, size 0 = "to the end of the device", then the terminator
    struct.pack_into("<QQ", lab, pos, pe_start, 0); pos += 16
    pos += 16
    for off, size in mdas:
        struct.pack_into("<QQ", lab, pos, off, size); pos += 16
    pos += 16
    struct.pack_into("<II", lab, pos, 2, 1); pos += 8   # extension version 2, PV_EXT_USED
    pos += 16                                          # empty bootloader-area list
    struct.pack_into("<I", lab, 16, lvm_crc(bytes(lab[20:])))
    return bytes(lab)


def mda_area(start, size, text):
    """An mda: header sector, one raw_locn at +512, the NUL-terminated text right after it."""
    body = text.encode() + b"\0"               # LVM's size includes the terminating NUL
    assert 512 + len(body) <= size
    hdr = bytearray(SECTOR)
    hdr[4:20] = MDA_MAGIC
    struct.pack_into("<IQQ", hdr, 20, 1, start, size)
    struct.pack_into("<QQII", hdr, 40, 512, len(body), lvm_crc(body), 0)
    struct.pack_into("<I", hdr, 0, lvm_crc(bytes(hdr[4:])))
    return bytes(hdr) + body


def lv_text(name, lv):
    s = [f"{name} {{", f'id = "{lv["id"]}"',
         "status = [" + ", ".join(f'"{x}"' for x in lv["status"]) + "]",
         "flags = []", "creation_time = 1700000000\t# 2023-11-14 22:13:20 +0000",
         'creation_host = "fixture"', f'segment_count = {len(lv["segments"])}', ""]
    for i, seg in enumerate(lv["segments"], 1):
        s += [f"segment{i} {{", f'start_extent = {seg["start"]}', f'extent_count = {seg["count"]}', ""]
        t = seg["type"]
        s.append(f'type = "{t}"')
        if t == "striped":
            n = len(seg["stripes"])
            s.append(f"stripe_count = {n}" + ("\t# linear" if n == 1 else ""))
            if n > 1:
                s.append(f'stripe_size = {seg["stripe_size"]}\t# 64 Kilobytes')
            s += ["", "stripes = ["]
            s.append(",\n".join(f'"{pv}", {pe}' for pv, pe in seg["stripes"]))
            s.append("]")
        else:
            for k, v in seg["extra"]:
                s.append(f"{k} = {v}")
        s.append("}")
    s.append("}")
    return "\n".join(s)


def vg_text(vg):
    s = [f'{vg["name"]} {{', f'id = "{vg["id"]}"', f'seqno = {vg["seqno"]}',
         'format = "lvm2"\t# informational', 'status = ["RESIZEABLE", "READ", "WRITE"]',
         "flags = []", f'extent_size = {vg["extent_sectors"]}\t# 1 Megabytes', "max_lv = 0",
         "max_pv = 0", "metadata_copies = 0", "", "physical_volumes {", ""]
    for key, pv in vg["pvs"].items():
        s += [f"{key} {{", f'id = "{dashed(pv["uuid"])}"',
              f'device = "{pv["device"]}"\t# Hint only', "", 'status = ["ALLOCATABLE"]',
              "flags = []", f'dev_size = {pv["dev_size"] // SECTOR}',
              f'pe_start = {pv["pe_start"] // SECTOR}', f'pe_count = {pv["pe_count"]}', "}"]
    s += ["}", "", "logical_volumes {", ""]
    for name, lv in vg["lvs"].items():
        s += [lv_text(name, lv), ""]
    s += ["}", "", "}",
          "# Generated by LVM2 version 2.03.16(2) (2022-05-18): Tue Nov 14 22:13:20 2023", "",
          'contents = "Text Format Volume Group"', "version = 1", "",
          'description = "Write from the imgcheck \\"fixture\\" generator."', "",
          'creation_host = "fixture"\t# Linux fixture 6.1.0 #1 SMP x86_64',
          "creation_time = 1700000000\t# Tue Nov 14 22:13:20 2023", ""]
    return "\n".join(s)


def lin(pv, pe, start, count):
    return {"type": "striped", "start": start, "count": count, "stripes": [(pv, pe)]}


def write_vg(vg, contents, placements):
    """Write every present PV (label, mdas) and every readable LV's content."""
    text = vg_text(vg)
    ext = vg["extent_sectors"] * SECTOR
    for key, pv in vg["pvs"].items():
        if key not in placements:
            continue                            # a PV missing from the image
        path, base = placements[key]
        mdas = [(4096, pv["pe_start"] - 4096)]
        if pv.get("end_mda"):
            mdas.append((pv["dev_size"] - pv["end_mda"], pv["end_mda"]))
        write_at(path, base + SECTOR, lvm_label(pv["uuid"], pv["dev_size"], pv["pe_start"], mdas))
        for off, size in mdas:
            write_at(path, base + off, mda_area(off, size, text))
    for name, data in contents.items():
        lv = vg["lvs"][name]
        for seg in lv["segments"]:
            stripes = seg["stripes"]
            n = len(stripes)
            seg_bytes = data[seg["start"] * ext:(seg["start"] + seg["count"]) * ext]
            chunk = seg.get("stripe_size", 0) * SECTOR or len(seg_bytes)
            for i in range(0, len(seg_bytes), chunk):
                c = i // chunk
                pvkey, pe = stripes[c % n]
                row = c // n
                if pvkey not in placements:
                    continue
                path, base = placements[pvkey]
                pv = vg["pvs"][pvkey]
                write_at(path, base + pv["pe_start"] + pe * ext + row * chunk, seg_bytes[i:i + chunk])


manifest = {"images": {}, "volume_groups": [], "md": {"members": [], "arrays": []}}


def lv_manifest(vg, contents, present):
    ext = vg["extent_sectors"] * SECTOR
    out = []
    for name, lv in vg["lvs"].items():
        types = {s["type"] for s in lv["segments"]}
        if types == {"striped"}:
            kind = "striped" if any(len(s["stripes"]) > 1 for s in lv["segments"]) else "linear"
        else:
            kind = next(s["type"] for s in lv["segments"] if s["type"] != "striped")
        pvs_used = {pv for s in lv["segments"] for pv, _ in s.get("stripes", [])}
        readable = kind in ("linear", "striped") and pvs_used <= present
        size = sum(s["count"] for s in lv["segments"]) * ext
        entry = {"name": name, "uuid": lv["id"], "size_bytes": size, "kind": kind,
                 "readable": readable, "visible": "VISIBLE" in lv["status"],
                 "segments": len(lv["segments"])}
        if readable:
            entry["sha256"] = hashlib.sha256(contents[name]).hexdigest()
        out.append(entry)
    return out


# ---- VG "vgsys": pv0 in a GPT partition, pv1 in an MBR partition -----------------------------------
GPT, MBR = f"{WORK}/lvm-gpt.img", f"{WORK}/lvm-mbr.img"
vgsys = {
    "name": "vgsys", "id": "Fx7sYs-0001-2222-3333-4444-5555-66vgsy", "seqno": 12,
    "extent_sectors": 2048,
    "pvs": {
        "pv0": {"uuid": "PV0aaaaAAAAbbbbBBBBccccCCCCdddd0", "device": "/dev/vda1",
                "dev_size": 14 * MiB, "pe_start": MiB, "pe_count": 12, "end_mda": 256 * 1024},
        "pv1": {"uuid": "PV1eeeeEEEEffffFFFFggggGGGGhhhh1", "device": "/dev/vdb1",
                "dev_size": 11 * MiB, "pe_start": MiB, "pe_count": 10},
    },
    "lvs": {
        "root": {"id": "RooT01-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE", "VISIBLE"],
                 "segments": [lin("pv0", 0, 0, 5)]},
        "data": {"id": "DaTa02-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE", "VISIBLE"],
                 "segments": [{"type": "striped", "start": 0, "count": 4, "stripe_size": 128,
                               "stripes": [("pv0", 5), ("pv1", 0)]}]},
        # Physically out of order: the LV's last extent (segment2) lies on a lower PE of pv1
        # than its first two (segment1).
        "split": {"id": "SpLt03-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE", "VISIBLE"],
                  "segments": [lin("pv1", 3, 0, 2), lin("pv1", 2, 2, 1)]},
        "pool": {"id": "PooL04-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE", "VISIBLE"],
                 "segments": [{"type": "thin-pool", "start": 0, "count": 2, "stripes": [],
                               "extra": [("metadata", '"pool_tmeta"'), ("pool", '"pool_tdata"'),
                                         ("transaction_id", "1"), ("chunk_size", "128"),
                                         ("discards", '"passdown"'), ("zero_new_blocks", "1")]}]},
        "thinvol": {"id": "ThiN05-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE", "VISIBLE"],
                    "segments": [{"type": "thin", "start": 0, "count": 4, "stripes": [],
                                  "extra": [("thin_pool", '"pool"'), ("transaction_id", "0"),
                                            ("device_id", "1")]}]},
        "pool_tmeta": {"id": "TmeT06-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE"],
                       "segments": [lin("pv1", 5, 0, 1)]},
        "pool_tdata": {"id": "TdaT07-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE"],
                       "segments": [lin("pv1", 6, 0, 2)]},
        "mirrored": {"id": "MirR08-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE", "VISIBLE"],
                     "segments": [{"type": "raid1", "start": 0, "count": 1, "stripes": [],
                                   "extra": [("device_count", "2"), ("region_size", "1024"),
                                             ("raids", '[\n"mirrored_rmeta_0", "mirrored_rimage_0",\n'
                                                       '"mirrored_rmeta_1", "mirrored_rimage_1"\n]')]}]},
        "mirrored_rmeta_0": {"id": "RmeT09-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE"],
                             "segments": [lin("pv0", 8, 0, 1)]},
        "mirrored_rimage_0": {"id": "RimG10-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE"],
                              "segments": [lin("pv0", 9, 0, 1)]},
        "mirrored_rmeta_1": {"id": "RmeT11-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE"],
                             "segments": [lin("pv1", 8, 0, 1)]},
        "mirrored_rimage_1": {"id": "RimG12-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE"],
                              "segments": [lin("pv1", 9, 0, 1)]},
    },
}
with open(f"{WORK}/root.ext4", "rb") as f:
    root_fs = f.read()
assert len(root_fs) == 5 * MiB
image_data = pattern("vgsys/mirrored", MiB)
contents = {
    "root": root_fs,
    "data": pattern("vgsys/data", 4 * MiB),
    "split": pattern("vgsys/split", 3 * MiB),
    "pool_tmeta": pattern("vgsys/pool_tmeta", MiB),
    "pool_tdata": pattern("vgsys/pool_tdata", 2 * MiB),
    "mirrored_rmeta_0": pattern("vgsys/mirrored_rmeta", MiB),
    "mirrored_rimage_0": image_data,
    "mirrored_rmeta_1": pattern("vgsys/mirrored_rmeta", MiB),
    "mirrored_rimage_1": image_data,
}
write_vg(vgsys, contents, {"pv0": (GPT, MiB), "pv1": (MBR, MiB)})
manifest["images"]["lvm-gpt.img"] = {"table": "gpt", "partition": 1, "pv": "pv0", "vg": "vgsys",
                                     "pv_uuid": dashed(vgsys["pvs"]["pv0"]["uuid"]),
                                     "pv_offset": MiB, "metadata_areas": 2}
manifest["images"]["lvm-mbr.img"] = {"table": "mbr", "partition": 1, "pv": "pv1", "vg": "vgsys",
                                     "pv_uuid": dashed(vgsys["pvs"]["pv1"]["uuid"]),
                                     "pv_offset": MiB, "metadata_areas": 1}
manifest["volume_groups"].append({
    "name": "vgsys", "uuid": vgsys["id"], "seqno": vgsys["seqno"], "extent_size_bytes": MiB,
    "images": ["lvm-gpt.img", "lvm-mbr.img"], "missing_pvs": [],
    "lvs": lv_manifest(vgsys, contents, {"pv0", "pv1"})})

# ---- VG "vgbroken": a whole-disk PV; its second PV is not in the image ------------------------------
MISS = f"{WORK}/lvm-missing.img"
with open(MISS, "wb") as f:
    f.truncate(6 * MiB)
vgbroken = {
    "name": "vgbroken", "id": "BroKen-0001-2222-3333-4444-5555-66vgbr", "seqno": 3,
    "extent_sectors": 2048,
    "pvs": {
        "pv0": {"uuid": "PVAiiiiIIIIjjjjJJJJkkkkKKKKllll0", "device": "/dev/vdc",
                "dev_size": 6 * MiB, "pe_start": MiB, "pe_count": 5},
        "pv1": {"uuid": "PVBmmmmMMMMnnnnNNNNooooOOOOpppp1", "device": "/dev/vdd",
                "dev_size": 8 * MiB, "pe_start": MiB, "pe_count": 7},
    },
    "lvs": {
        "ok": {"id": "OkOk01-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE", "VISIBLE"],
               "segments": [lin("pv0", 0, 0, 2)]},
        "gone": {"id": "GoNe02-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE", "VISIBLE"],
                 "segments": [lin("pv1", 0, 0, 1)]},
        "spans": {"id": "SpaN03-aaaa-bbbb-cccc-dddd-eeee-ffffff", "status": ["READ", "WRITE", "VISIBLE"],
                  "segments": [lin("pv0", 2, 0, 1), lin("pv1", 1, 1, 1)]},
    },
}
broken_contents = {"ok": pattern("vgbroken/ok", 2 * MiB),
                   "spans": pattern("vgbroken/spans", 2 * MiB)}
write_vg(vgbroken, broken_contents, {"pv0": (MISS, 0)})
manifest["images"]["lvm-missing.img"] = {"table": "none", "pv": "pv0", "vg": "vgbroken",
                                         "pv_uuid": dashed(vgbroken["pvs"]["pv0"]["uuid"]),
                                         "pv_offset": 0, "metadata_areas": 1}
manifest["volume_groups"].append({
    "name": "vgbroken", "uuid": vgbroken["id"], "seqno": vgbroken["seqno"],
    "extent_size_bytes": MiB, "images": ["lvm-missing.img"],
    "missing_pvs": [dashed(vgbroken["pvs"]["pv1"]["uuid"])],
    "lvs": lv_manifest(vgbroken, broken_contents, {"pv0"})})

# ---------------------------------------------------------------- md superblocks
MD_MAGIC = 0xA92B4EFC
MD_RESERVED = 64 * 1024                  # v0.90: superblock in the last 64 KiB-aligned 64 KiB


def fold(total):
    """md's checksum fold: low 32 bits plus the carry above them."""
    return ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF


def sb1(set_uuid, name, level, raid_disks, size_sectors, data_offset, data_size, super_offset,
        dev_number, dev_uuid, roles, events=42, chunk=0, layout=0):
    """An mdp_superblock_1 (1.x) of 256 + 2 * max_dev bytes, padded to 4 KiB."""
    max_dev = 128
    sb = bytearray(4096)
    struct.pack_into("<III", sb, 0, MD_MAGIC, 1, 0)
    sb[16:32] = set_uuid
    sb[32:64] = name.encode().ljust(32, b"\0")
    struct.pack_into("<QiIQII", sb, 64, 1700000000, level, layout, size_sectors, chunk, raid_disks)
    struct.pack_into("<QQQQ", sb, 128, data_offset, data_size, super_offset, 0)
    struct.pack_into("<I", sb, 160, dev_number)
    sb[168:184] = dev_uuid
    struct.pack_into("<QQQ", sb, 192, 1700000000, events, 0xFFFFFFFFFFFFFFFF)
    struct.pack_into("<I", sb, 220, max_dev)
    for i in range(max_dev):
        struct.pack_into("<H", sb, 256 + 2 * i, roles[i] if i < len(roles) else 0xFFFF)
    n = 256 + 2 * max_dev
    words = struct.unpack_from(f"<{n // 4}I", sb, 0)
    struct.pack_into("<I", sb, 216, fold(sum(words)))
    return bytes(sb)


def sb090(uuid_words, level, size_kib, raid_disks, this_index, events=17):
    """An mdp_super_t (0.90), little-endian as written by an x86 host."""
    w = [0] * 1024
    w[0], w[1], w[2], w[3] = MD_MAGIC, 0, 90, 0
    w[4] = 0
    w[5], w[13], w[14], w[15] = uuid_words
    w[6], w[7], w[8], w[9], w[10], w[11] = 1700000000, level, size_kib, raid_disks, raid_disks, 0
    w[32], w[33] = 1700000000, 1                       # utime, state: clean
    w[34], w[35], w[36], w[37] = raid_disks, raid_disks, 0, 0
    w[39], w[40] = events, 0
    for i in range(raid_disks):                        # disks[i]: number, major, minor, raid_disk, state
        base = 128 + 32 * i
        w[base:base + 5] = [i, 9, i, i, 0b110]         # active | sync
    w[992:997] = w[128 + 32 * this_index:128 + 32 * this_index + 5]
    w[38] = fold(sum(w))
    return struct.pack("<1024I", *w)


def new_file(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


def md_member(img, version, uuid, name, level, role, raid_disks):
    manifest["md"]["members"].append({"image": img, "version": version, "array_uuid": uuid,
                                      "name": name, "level": level, "role": role,
                                      "raid_disks": raid_disks})


def md_uuid1(raw):
    return ":".join(raw[i:i + 4].hex() for i in range(0, 16, 4))


# RAID1, metadata 1.2: 4 MiB members, superblock at 4 KiB, data at 1 MiB, 3 MiB of data.
r1_uuid = bytes.fromhex("1a2b3c4d5e6f708192a3b4c5d6e7f801")
r1_data = pattern("md/raid1-1.2", 3 * MiB)
for i, letter in enumerate("ab"):
    img = f"md-raid1-1.2-{letter}.img"
    p = f"{WORK}/{img}"
    new_file(p, 4 * MiB)
    write_at(p, 4096, sb1(r1_uuid, "fixture:r1", 1, 2, 6144, 2048, 6144, 8, i,
                          bytes([0xD0 + i]) * 16, [0, 1]))
    write_at(p, MiB, r1_data)
    md_member(img, "1.2", md_uuid1(r1_uuid), "fixture:r1", "raid1", i, 2)
manifest["md"]["arrays"].append({"uuid": md_uuid1(r1_uuid), "level": "raid1", "name": "fixture:r1",
                                 "members": ["md-raid1-1.2-a.img", "md-raid1-1.2-b.img"],
                                 "readable": True, "size_bytes": 3 * MiB,
                                 "sha256": hashlib.sha256(r1_data).hexdigest()})

# RAID1, metadata 0.90: 3 MiB members; superblock at 3 MiB - 64 KiB; data from 0, 3008 KiB.
u090 = (0x0A1B2C3D, 0x4E5F6071, 0x8293A4B5, 0xC6D7E8F9)
size090 = 3 * MiB
sb_off = (size090 & ~(MD_RESERVED - 1)) - MD_RESERVED
d090 = pattern("md/raid1-0.90", sb_off)
for i, letter in enumerate("ab"):
    img = f"md-raid1-0.90-{letter}.img"
    p = f"{WORK}/{img}"
    new_file(p, size090)
    write_at(p, 0, d090)
    write_at(p, sb_off, sb090(u090, 1, sb_off // 1024, 2, i))
    md_member(img, "0.90", ":".join(f"{w:08x}" for w in u090), None, "raid1", i, 2)
manifest["md"]["arrays"].append({"uuid": ":".join(f"{w:08x}" for w in u090), "level": "raid1",
                                 "name": None,
                                 "members": ["md-raid1-0.90-a.img", "md-raid1-0.90-b.img"],
                                 "readable": True, "size_bytes": sb_off,
                                 "sha256": hashlib.sha256(d090).hexdigest()})

# RAID5, metadata 1.2, three members: recognised, not readable. Superblocks only.
r5_uuid = bytes.fromhex("55aa55aa0102030405060708090a0b0c")
for i, letter in enumerate("abc"):
    img = f"md-raid5-1.2-{letter}.img"
    p = f"{WORK}/{img}"
    new_file(p, 2 * MiB)
    write_at(p, 4096, sb1(r5_uuid, "fixture:r5", 5, 3, 2048, 2048, 2048, 8, i,
                          bytes([0xE0 + i]) * 16, [0, 1, 2], chunk=128, layout=2))
    md_member(img, "1.2", md_uuid1(r5_uuid), "fixture:r5", "raid5", i, 3)
manifest["md"]["arrays"].append({"uuid": md_uuid1(r5_uuid), "level": "raid5", "name": "fixture:r5",
                                 "members": [f"md-raid5-1.2-{x}.img" for x in "abc"],
                                 "readable": False, "size_bytes": 2 * MiB})

# RAID1, metadata 1.2, both members in one GPT image (partitions 1 and 2, 3 MiB each):
# superblock at 4 KiB, data at 1 MiB, 2 MiB of data = the ext4 filesystem built above.
rg_uuid = bytes.fromhex("6d6d6d6d0102030405060708090a0b0c")
rg_data = open(f"{WORK}/md.ext4", "rb").read()
assert len(rg_data) == 2 * MiB
img = "md-raid1-gpt.img"
for i, part_start in enumerate([2048 * SECTOR, 8192 * SECTOR]):
    write_at(f"{WORK}/{img}", part_start + 4096,
             sb1(rg_uuid, "fixture:r1gpt", 1, 2, 4096, 2048, 4096, 8, i,
                 bytes([0xC0 + i]) * 16, [0, 1]))
    write_at(f"{WORK}/{img}", part_start + MiB, rg_data)
tree_files = {}
mdtree = f"{WORK}/mdtree"
for dirpath, dirnames, filenames in os.walk(mdtree):
    for n in dirnames + filenames:
        full = os.path.join(dirpath, n)
        rel = "/" + os.path.relpath(full, mdtree)
        if os.path.islink(full):
            tree_files[rel] = {"type": "symlink", "target": os.readlink(full)}
        elif os.path.isdir(full):
            tree_files[rel] = {"type": "dir"}
        else:
            tree_files[rel] = {"type": "file",
                               "sha256": hashlib.sha256(open(full, "rb").read()).hexdigest()}
manifest["md_in_image"] = {
    "image": img, "uuid": md_uuid1(rg_uuid), "name": "fixture:r1gpt", "level": "raid1",
    "partitions": [1, 2], "size_bytes": len(rg_data),
    "sha256": hashlib.sha256(rg_data).hexdigest(), "fs": "ext4", "fs_label": "mdroot",
    "root_listing_debugfs": open(f"{WORK}/md-root.ls").read().split(),
    "tree": dict(sorted(tree_files.items())),
}

with open(f"{WORK}/manifest.json", "w") as f:
    json.dump(manifest, f, indent=2, sort_keys=True)
    f.write("\n")
PYEOF

mkdir -p "$OUT"
rm -f "$OUT"/*.img.gz
for f in "$WORK"/*.img; do gzip -9n -c "$f" >"$OUT/$(basename "$f").gz"; done
cp "$WORK/manifest.json" "$OUT/manifest.json"
echo "make-lvm-fixtures: wrote $(ls "$OUT"/*.img.gz | wc -l) images to $OUT ($(du -cb "$OUT"/*.img.gz | tail -1 | cut -f1) bytes compressed)"
