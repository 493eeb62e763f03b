#!/usr/bin/env bash
# Prove that the GRUB BIOS boot code of the phony Linux guests really boots: start each committed
# image under QEMU (TCG, SeaBIOS, no KVM needed; `snapshot=on`, so the image is never written),
# read the serial console (SeaBIOS mirrors the BIOS text screen there under -nographic) until
# GRUB's prompt appears or the timeout passes, and write what the console showed from "Booting
# from Hard Disk" on, escape sequences removed, next to the fixture as <image>.bios-boot.txt,
# together with `file -s` of the image's sector 0.
#
# The phony guests carry no /boot/grub/i386-pc modules, so a good one stops at `grub rescue>`
# after core.img has read the root filesystem ("error: file `/boot/grub/i386-pc/normal.mod' not
# found" proves that core.img found partition 3 and read its directory). linux-bad1 has an empty
# BIOS boot partition: boot.img prints "GRUB " and loads zeros.
#
# Needs (Debian packages): qemu-system-x86 qemu-utils file python3.
# Usage: scripts/boot-bios-fixtures.sh   (from the repository root; about 10 s per image)
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "$0")/.." && pwd)
for tool in qemu-system-x86_64 qemu-img file python3; do
  command -v "$tool" >/dev/null || { echo "boot-bios-fixtures: $tool missing" >&2; exit 1; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

boot() { # image timeout-seconds
  local img=$here/$1 out=$here/${1%.qcow2}.bios-boot.txt
  qemu-img dd -f qcow2 -O raw bs=512 count=1 if="$img" of="$work/mbr.bin"
  {
    echo "# scripts/boot-bios-fixtures.sh: qemu-system-x86_64 -nographic -m 256 (TCG) booting $1"
    echo "# $(qemu-system-x86_64 --version | sed -n 1p)"
    echo "# file -s (sector 0): $(file -b -s "$work/mbr.bin")"
    echo "# serial console from \"Booting from Hard Disk\" (escape sequences removed):"
    python3 - "$img" "$2" <<'PY'
import os, re, select, signal, subprocess, sys, time
img, limit = sys.argv[1], float(sys.argv[2])
p = subprocess.Popen(["qemu-system-x86_64", "-nographic", "-m", "256", "-no-reboot",
                      "-drive", "file=%s,format=qcow2,snapshot=on" % img, "-serial", "stdio",
                      "-monitor", "none"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
buf, end = b"", time.monotonic() + limit
while time.monotonic() < end and b"grub rescue>" not in buf and b"grub>" not in buf:
    r, _, _ = select.select([p.stdout], [], [], 0.5)
    if r:
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
p.send_signal(signal.SIGTERM)
p.wait(timeout=10)
text = re.sub(rb"\x1b(\[[0-9;?]*[A-Za-z]|[A-Za-z])", b"", buf).decode("latin-1").replace("\r", "")
i = text.find("Booting from Hard Disk")
if i < 0:
    sys.exit("no \"Booting from Hard Disk\" on the serial console:\n" + text)
lines = [l.rstrip() for l in text[i:].split("\n")]
print("\n".join(l for l in lines if l))
PY
  } > "$out"
  echo "== $out"; cat "$out"
}
cd "$here"
boot testdata/sample/sample.qcow2 60
boot testdata/linux-guests/linux-good.qcow2 60
boot testdata/linux-guests/linux-bad1.qcow2 15
boot testdata/rhel-guest/rhel9.qcow2 60
