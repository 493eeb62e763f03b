#!/usr/bin/env bash
# Build the Windows registry hive fixtures of crates/regf (testdata/registry/).
#
# usage: scripts/make-hive-fixtures.sh [OUTDIR]      (default: testdata/registry)
#
# Reads the committed, readable sources testdata/registry/src/*.reg and writes into OUTDIR:
#   edge.reg               the full source of the edge-case hive: src/edge-base.reg plus generated
#                          sections (600 sibling keys, a 40-level path, 5,000 and 16,000-byte values)
#   <name>.hive.gz         each hive (system, software, bcd, edge), gzip -9n
#   <name>.export.reg      `hivexregedit --export` of the whole hive (the reference the tests
#                          compare every key, value name, type and data byte with)
#   <name>.hivexsh.txt     `hivexsh` `ls` / `lsval` of a few keys (decoded strings, for the tests)
#
# hivex cannot create a hive, so the python3 program below writes an empty regf v1.5 primary file
# from the format specification (Maxim Suhanov, "Windows registry file format specification"):
# a 4096-byte base block (XOR-32 checksum of the first 508 bytes at offset 508) and one 4096-byte
# hbin holding the root key node (`nk`, flags HIVE_ENTRY|NO_DELETE|COMP_NAME), its security cell
# (`sk`, a self-linked list of one) and one free cell. `hivexregedit --merge` (Debian package
# libwin-hivex-perl; hivex itself is libhivex-bin) then fills it from the .reg source. hivex
# writes `lh` subkey lists and cannot write big-data (`db`) cells, so every value stays under
# 16,344 bytes; `li`, `lf`, `ri` and `db` are tested on synthetic hives in the crate's unit tests.
#
# Deterministic: fixed timestamps in the empty hive (hivex copies them to the keys it adds), no
# random input; gzip -n drops names and times.
set -euo pipefail
export LC_ALL=C.UTF-8 TZ=UTC

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/testdata/registry/src
OUT=${1:-$ROOT/testdata/registry}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

for tool in hivexregedit hivexsh gzip python3; do
    command -v "$tool" >/dev/null || { echo "make-hive-fixtures: $tool missing" >&2; exit 1; }
done

# ---- an empty regf v1.5 hive: base block + one hbin (root nk, sk, free cell) --------------------
cat >"$WORK/empty_hive.py" <<'PY'
import struct, sys

BLOCK = 4096            # base block size and hbin granularity
NONE = 0xFFFFFFFF       # "no cell" offset
# 2024-01-12 00:00:00 UTC as a FILETIME (100 ns ticks since 1601-01-01).
FILETIME = 133494624000000000

def security_descriptor():
    """A self-relative SECURITY_DESCRIPTOR: owner and group BUILTIN\\Administrators, a DACL
    granting Everyone KEY_ALL_ACCESS. hivex copies the sk offset to new keys and counts refs."""
    admins = bytes([1, 2, 0, 0, 0, 0, 0, 5]) + struct.pack('<II', 32, 544)   # S-1-5-32-544
    everyone = bytes([1, 1, 0, 0, 0, 0, 0, 1]) + struct.pack('<I', 0)        # S-1-1-0
    ace = struct.pack('<BBHI', 0, 0x02, 8 + len(everyone), 0x000F003F) + everyone
    acl = struct.pack('<BBHHH', 2, 0, 8 + len(ace), 1, 0) + ace
    # revision 1, control SE_SELF_RELATIVE|SE_DACL_PRESENT, owner@20 group@36 no SACL, DACL@52
    head = struct.pack('<BBHIIII', 1, 0, 0x8004, 20, 36, 0, 52)
    return head + admins + admins + acl

def cell(data):
    size = (4 + len(data) + 7) & ~7          # cells are 8-byte aligned; negative = allocated
    return struct.pack('<i', -size) + data + bytes(size - 4 - len(data))

def empty_hive(root_name, file_name):
    name = root_name.encode('ascii')
    root_off = 0x20                           # first cell after the 32-byte hbin header
    sk_off = root_off + ((4 + 76 + len(name) + 7) & ~7)
    nk = struct.pack('<2sHQ' + 'I' * 15 + 'HH',
                     b'nk', 0x002C, FILETIME, 0,
                     NONE,                    # parent: meaningless for the root
                     0, 0, NONE, NONE,        # subkeys, volatile subkeys and their lists
                     0, NONE,                 # values and value list
                     sk_off, NONE,            # security, class name
                     0, 0, 0, 0, 0,           # largest name/class/value name/data, WorkVar
                     len(name), 0) + name
    sd = security_descriptor()
    sk = struct.pack('<2sHIIII', b'sk', 0, sk_off, sk_off, 1, len(sd)) + sd
    cells = cell(nk) + cell(sk)
    free = BLOCK - 0x20 - len(cells)
    hbin = (struct.pack('<4sIIQQI', b'hbin', 0, BLOCK, 0, FILETIME, 0) + cells
            + struct.pack('<i', free) + bytes(free - 4))
    assert len(hbin) == BLOCK
    base = bytearray(BLOCK)
    # signature, primary and secondary sequence numbers, last written, version 1.5,
    # type 0 (primary), format 1 (direct memory load), root cell, hive bins size, clustering 1
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

# ---- the edge-case source: hand-written part + generated sections -------------------------------
python3 - "$SRC/edge-base.reg" "$OUT/edge.reg" <<'PY'
import sys
src, dst = sys.argv[1:3]
P = 'HKEY_LOCAL_MACHINE\\EDGE'
out = [open(src, encoding='utf-8').read().rstrip('\n'), '']
out += ['; ---- generated by scripts/make-hive-fixtures.sh ----', '']
# 600 siblings: one large lh list (hivex does not split lists into ri).
out += [f'[{P}\\Many]', '']
for i in range(600):
    out += [f'[{P}\\Many\\Key{i:04d}]', f'"Index"=dword:{i:08x}', '']
# 40 nested levels.
path = f'{P}\\Deep'
out += [f'[{path}]', '']
for i in range(1, 41):
    path += f'\\L{i:02d}'
    out += [f'[{path}]']
    if i == 40:
        out += ['"Bottom"="yes"']
    out += ['']
# Values needing cells larger than one 4 KiB hbin page (still below the 16,344-byte db limit).
def blob(n):
    return ','.join(f'{(i * 7 + 3) & 0xFF:02x}' for i in range(n))
out += [f'[{P}\\Big]', f'"Blob5000"=hex:{blob(5000)}', f'"Blob16000"=hex:{blob(16000)}', '']
with open(dst, 'w', encoding='utf-8') as f:
    f.write('\n'.join(out))
PY

# ---- build each hive, export it, and record hivexsh's view of a few keys ------------------------
# name | root key name | base block file name | regedit prefix | source | keys for hivexsh
build() {
    local name=$1 root=$2 fname=$3 prefix=$4 src=$5
    shift 5
    local hive=$WORK/$name.hive
    python3 "$WORK/empty_hive.py" "$hive" "$root" "$fname"
    hivexregedit --merge --prefix "$prefix" "$hive" "$src"
    hivexregedit --export --prefix "$prefix" "$hive" '\' >"$OUT/$name.export.reg" 2>/dev/null
    : >"$OUT/$name.hivexsh.txt"
    local key
    for key in "$@"; do
        { printf '### ls %s\n' "$key"
          printf 'cd %s\nls\n' "$key" | hivexsh "$hive"
          printf '### lsval %s\n' "$key"
          printf 'cd %s\nlsval\n' "$key" | hivexsh "$hive"
        } >>"$OUT/$name.hivexsh.txt"
    done
    gzip -9n -c "$hive" >"$OUT/$name.hive.gz"
}

build system ROOT 'emRoot\System32\Config\SYSTEM' 'HKEY_LOCAL_MACHINE\SYSTEM' "$SRC/system.reg" \
    '\' '\Select' '\ControlSet001\Services\viostor' '\ControlSet001\Services\netkvm' \
    '\ControlSet001\Control\ComputerName\ComputerName' '\ControlSet001\Control\Terminal Server' \
    '\ControlSet001\Services'
build software ROOT 'emRoot\System32\Config\SOFTWARE' 'HKEY_LOCAL_MACHINE\SOFTWARE' \
    "$SRC/software.reg" \
    '\Microsoft\Windows NT\CurrentVersion' '\Microsoft\Windows\CurrentVersion\Uninstall' \
    '\Microsoft\Windows\CurrentVersion\Uninstall\7-Zip'
build bcd NewStoreRoot '\Device\HarddiskVolume1\EFI\Microsoft\Boot\BCD' \
    'HKEY_LOCAL_MACHINE\BCD00000000' "$SRC/bcd.reg" \
    '\Objects' '\Objects\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\Elements\23000003' \
    '\Objects\{3e4b5c6d-7e8f-4901-a2b3-c4d5e6f70812}\Elements\12000004'
build edge ROOT 'edge' 'HKEY_LOCAL_MACHINE\EDGE' "$OUT/edge.reg" \
    '\' '\CaseTest' '\CaseTest\alpha' '\Deep\L01\L02\L03'

ls -l "$OUT"/*.hive.gz
