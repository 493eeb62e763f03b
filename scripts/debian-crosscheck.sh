#!/usr/bin/env bash
# Try imgcheck as a new user would, on a REAL Debian 12 cloud image (issues 5 and 7), and compare
# what it says with independent sources. Not part of the tests: it needs the image that
# scripts/make-debian-image.sh builds (root, network, debootstrap), and virt-inspector boots a qemu
# appliance (minutes under TCG).
#
# 1. `imgcheck inspect --json` of disk.qcow2 against
#      - the guest tree the image was built from (rootfs/: os-release, hostname, /boot, fstab,
#        grub.cfg, dpkg's status read by `dpkg-query --admindir`, `lsinitramfs` of the initrd,
#        `file` of /bin/sh) and image.env (UUIDs, partition offsets);
#      - virt-inspector (libguestfs) and dissect's target-info, where they run.
#    Fields: distro, version, product name, arch, hostname, kernel, default entry (kernel, cmdline),
#    mountpoints, package count, and the virtio modules inside the default kernel's initramfs
#    (and the whole module list against lsinitramfs).
# 2. `imgcheck check` of the image: no strongly recommended fix expected.
# 3. A broken copy, made without mounting: the root filesystem's partition is cut out of disk.raw,
#    debugfs writes an initramfs from which every virtio module was removed (unmkinitramfs, rm,
#    cpio + zstd: what update-initramfs with MODULES=dep on a non-virtio host leaves) and an fstab
#    that mounts / from /dev/sda1; the partition goes back into a copy of the disk. `imgcheck
#    check` must flag both as strongly recommended fixes.
#
# Writes docs/debian-crosscheck.md (the table and the two reports' summaries) and exits non-zero
# when a field disagrees or an expected finding is missing.
#
# Environment: DEBIAN_IMAGE_DIR (default /work/bench-data/debian12), IMGCHECK (default: build
# target/release/imgcheck), DISSECT_VENV (default /work/bench-data/venv), CROSSCHECK_VIRT=0 skips
# virt-inspector, CROSSCHECK_OUT (default docs/debian-crosscheck.md).
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
DIR=${DEBIAN_IMAGE_DIR:-/work/bench-data/debian12}
OUTMD=${CROSSCHECK_OUT:-$here/docs/debian-crosscheck.md}
VENV=${DISSECT_VENV:-/work/bench-data/venv}
[ -f "$DIR/image.env" ] || { echo "crosscheck: $DIR/image.env missing: run scripts/make-debian-image.sh first" >&2; exit 2; }
# shellcheck disable=SC1091
. "$DIR/image.env"
if [ -z "${IMGCHECK:-}" ]; then
    (cd "$here" && cargo build --release --quiet)
    IMGCHECK=${CARGO_TARGET_DIR:-$here/target}/release/imgcheck
fi
for tool in debugfs unmkinitramfs lsinitramfs cpio zstd qemu-img dpkg-query file python3; do
    command -v "$tool" >/dev/null || { echo "crosscheck: $tool is missing" >&2; exit 2; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
IMG=$DIR/disk.qcow2
R=$DEB_ROOTFS
K=$DEB_KERNEL

# --- 1. facts ---------------------------------------------------------------------------------
"$IMGCHECK" inspect --json "$IMG" > "$work/inspect.json"
# The truth, from the tree the image was made of.
{
    . "$R/etc/os-release"
    echo "distro=$ID"; echo "version=$VERSION_ID"; echo "product_name=$PRETTY_NAME"
    echo "hostname=$(cat "$R/etc/hostname")"
    echo "arch=$(file -L "$R/bin/sh" | sed -n 's/.*ELF 64-bit LSB [a-z ]*, \(x86-64\|ARM aarch64\),.*/\1/p' | sed 's/x86-64/x86_64/; s/ARM aarch64/aarch64/')"
    echo "kernels=$(cd "$R/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort | paste -sd,)"
    # grub.cfg's first menuentry is GRUB's default (GRUB_DEFAULT=0, no saved_entry in grubenv).
    awk '/^menuentry /{m=1} m && $1=="linux" {print "default_kernel=" $2; $1=""; $2=""; sub(/^  /,""); print "cmdline=" $0; exit}' "$R/boot/grub/grub.cfg"
    echo "packages=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${db:Status-Abbrev}\n' | grep -c '^ii')"
    echo "mounts=$(awk '$1 !~ /^#/ && NF >= 2 {print $2}' "$R/etc/fstab" | paste -sd,)"
    echo "initramfs_modules=$(lsinitramfs "$R/boot/initrd.img-$K" | sed -n 's#.*/\([^/]*\)\.ko\(\.xz\|\.zst\|\.gz\)\?$#\1#p' | tr - _ | sort -u | paste -sd,)"
} > "$work/truth.env"
VIRT_NOTE=""
if [ "${CROSSCHECK_VIRT:-1}" != 0 ] && command -v virt-inspector >/dev/null; then
    export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
    export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}
    if ! timeout 1200 virt-inspector --format=qcow2 -a "$IMG" > "$work/virt.xml" 2> "$work/virt.err"; then
        VIRT_NOTE="virt-inspector failed: $(tail -n 1 "$work/virt.err")"; rm -f "$work/virt.xml"
    fi
else
    VIRT_NOTE="virt-inspector not run (CROSSCHECK_VIRT=0 or not installed)"
fi
DISSECT_NOTE=""
if [ -x "$VENV/bin/target-info" ]; then
    timeout 600 "$VENV/bin/target-info" -j "$IMG" > "$work/dissect.json" 2> "$work/dissect.err" || { DISSECT_NOTE="target-info failed"; rm -f "$work/dissect.json"; }
else
    DISSECT_NOTE="target-info not installed (scripts/bench.sh makes the venv)"
fi

# --- 2. the check on the image as built ---------------------------------------------------------
set +e
"$IMGCHECK" check --format json "$IMG" > "$work/good.json"; good_rc=$?
set -e

# --- 3. the broken copy -----------------------------------------------------------------------
ROOT_START_SECTOR=$DEB_ROOT_START
root_sectors=$(python3 -c "import json,sys; t=json.load(open('$work/inspect.json')); print([v['size'] for v in t['volumes'] if v['id']=='1'][0]//512)")
cp --sparse=always "$DIR/disk.raw" "$work/broken.raw"
dd if="$work/broken.raw" of="$work/root.ext4" bs=512 skip="$ROOT_START_SECTOR" count="$root_sectors" conv=sparse status=none
mkdir "$work/initrd"
unmkinitramfs "$R/boot/initrd.img-$K" "$work/initrd"
main=$work/initrd/main; [ -d "$main" ] || main=$work/initrd
removed=$(find "$main" -name 'virtio*.ko*' | wc -l)
find "$main" -name 'virtio*.ko*' -delete
(cd "$main" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -19 -T0) > "$work/initrd.img"
sed 's#^UUID=[^ ]* / #/dev/sda1 / #' "$R/etc/fstab" > "$work/fstab"
grep -q '^/dev/sda1 / ' "$work/fstab"
debugfs -w "$work/root.ext4" > "$work/debugfs.log" 2>&1 <<CMD
rm /boot/initrd.img-$K
write $work/initrd.img /boot/initrd.img-$K
rm /etc/fstab
write $work/fstab /etc/fstab
CMD
if grep -Ev '^(debugfs[ :]|Allocated inode: [0-9]+$|$)' "$work/debugfs.log" | grep . >/dev/null; then cat "$work/debugfs.log"; exit 1; fi
dd if="$work/root.ext4" of="$work/broken.raw" bs=512 seek="$ROOT_START_SECTOR" conv=notrunc,sparse status=none
qemu-img convert -q -f raw -O qcow2 "$work/broken.raw" "$work/broken.qcow2"
set +e
"$IMGCHECK" check --format json "$work/broken.qcow2" > "$work/broken.json"; broken_rc=$?
"$IMGCHECK" check "$work/broken.qcow2" > "$work/broken.txt"
set -e

CROSSCHECK_REV=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
export CROSSCHECK_REV
# --- compare and write the document -----------------------------------------------------------
python3 - "$work" "$OUTMD" "$good_rc" "$broken_rc" "$removed" "$VIRT_NOTE" "$DISSECT_NOTE" "$IMGCHECK" "$DEB_ROOT_UUID" "$DEB_ESP_UUID" <<'PY'
import json, os, subprocess, sys, xml.etree.ElementTree as ET
work, out, good_rc, broken_rc, removed, virt_note, dissect_note, imgcheck, root_uuid, esp_uuid = sys.argv[1:]
truth = dict(l.rstrip("\n").split("=", 1) for l in open(f"{work}/truth.env") if "=" in l)
ins = json.load(open(f"{work}/inspect.json"))
os_ = ins["os"][0]
dk = [k for k in os_["kernels"] if k["default"]]
dk = dk[0] if dk else {}
mine = {
    "distro": os_["distro"], "version": os_["version"], "product_name": os_["product_name"],
    "arch": os_["arch"], "hostname": os_["hostname"],
    "kernels": ",".join(sorted(k["version"] for k in os_["kernels"])),
    "default_kernel": (os_["bootloader"]["default_entry"] or {}).get("kernel"),
    "cmdline": (os_["bootloader"]["default_entry"] or {}).get("cmdline"),
    "packages": str(os_["packages"]),
    "mounts": ",".join(m["mountpoint"] for m in os_["mountpoints"]),
    "initramfs_modules": ",".join(dk.get("initramfs_modules", [])),
}
rows, bad = [], []
def row(field, ours, truth_v, virt="", dissect=""):
    ok = ours == truth_v
    for other in (virt, dissect):
        if other not in ("", None, "—") and other.startswith("≠"):
            ok = False
    rows.append((field, ours, truth_v, virt, dissect, "yes" if ok else "**NO**"))
    if not ok:
        bad.append(field)
virt = {}
if os.path.exists(f"{work}/virt.xml"):
    x = ET.parse(f"{work}/virt.xml").getroot().find("operatingsystem")
    g = lambda t: (x.findtext(t) or "")
    virt = {
        "distro": g("distro"), "version": g("major_version"),
        "arch": g("arch"), "hostname": g("hostname"),
        "packages": str(len(x.findall("applications/application"))),
        "mounts": ",".join(sorted(m.text for m in x.findall("mountpoints/mountpoint"))),
        "kernels": "",
    }
dis = {}
if os.path.exists(f"{work}/dissect.json"):
    d = json.load(open(f"{work}/dissect.json"))
    dis = {"hostname": d.get("hostname") or "", "product_name": d.get("os_version") or "",
           "arch": (d.get("architecture") or "").replace("-linux", ""),
           "mounts": ",".join(sorted(m["path"] for m in d.get("mounts", [])))}
def cmp(field, other, ours, transform=lambda v: v):
    if field not in other or other[field] == "":
        return "—"
    o = other[field]
    return f"= {o}" if transform(ours) == o else f"≠ {o}"
for f in ["distro", "version", "product_name", "arch", "hostname", "kernels", "default_kernel", "cmdline", "packages", "mounts"]:
    ours = mine[f] if mine[f] is not None else ""
    v = cmp(f, virt, ours, (lambda s: ",".join(sorted(s.split(",")))) if f == "mounts" else (lambda s: s))
    dd = cmp(f, dis, ours, (lambda s: ",".join(sorted(s.split(",")))) if f == "mounts" else (lambda s: s))
    row(f, ours, truth.get(f, ""), v, dd)
# UUIDs of the mounts against image.env.
want_m = {"/": root_uuid, "/boot/efi": esp_uuid}
got_m = {m["mountpoint"]: m["uuid"] for m in os_["mountpoints"]}
row("mount UUIDs", json.dumps(got_m, sort_keys=True), json.dumps(want_m, sort_keys=True))
virtio_ours = ",".join(m for m in dk.get("initramfs_modules", []) if m.startswith("virtio"))
virtio_truth = ",".join(m for m in truth["initramfs_modules"].split(",") if m.startswith("virtio"))
row("virtio modules in the default initramfs", virtio_ours, virtio_truth)
row(f"all {len(truth['initramfs_modules'].split(','))} initramfs modules (lsinitramfs)",
    "same set" if mine["initramfs_modules"] == truth["initramfs_modules"] else mine["initramfs_modules"],
    "same set" if mine["initramfs_modules"] == truth["initramfs_modules"] else truth["initramfs_modules"])

def summary(path):
    r = json.load(open(path))
    return r, r["summary"], [(e["id"], f["message"]) for e in r["strongly_recommended"] for f in e["findings"] if f["severity"] == "strongly_recommended"]
good, gs, gsr = summary(f"{work}/good.json")
broken, bs, bsr = summary(f"{work}/broken.json")
need = {
    "initramfs without virtio": [i for i, m in bsr if "virtio" in m and ("initramfs" in m or "initrd" in m)],
    "fstab / from /dev/sda1": [i for i, m in bsr if i == "linux.fstab" and "/dev/sda1" in m],
}
problems = list(bad)
if gs["strongly_recommended"] != 0 or good_rc != "0":
    problems.append(f"the image as built has {gs['strongly_recommended']} strongly recommended fixes (exit {good_rc})")
for k, v in need.items():
    if not v:
        problems.append(f"broken copy: no strongly recommended finding for {k}")
if broken_rc != "1":
    problems.append(f"broken copy: exit status {broken_rc}, expected 1")
ver = subprocess.run([imgcheck, "--version"], capture_output=True, text=True).stdout.strip()
git = os.environ.get("CROSSCHECK_REV", "unknown")
L = []
L.append("# imgcheck on a real Debian 12 image, against independent sources\n")
L.append(f"Written by `scripts/debian-crosscheck.sh` ({ver}, commit {git}) on the image that "
         "`scripts/make-debian-image.sh` builds with debootstrap (bookworm, linux-image-cloud-amd64, "
         "initramfs-tools with zstd, GRUB for BIOS and UEFI, cloud-init, ifupdown). Sources: the guest "
         "tree the image was made from (os-release, hostname, `/boot`, fstab, grub.cfg, "
         "`dpkg-query --admindir`, `lsinitramfs`, `file /bin/sh`), virt-inspector (libguestfs, "
         "TCG appliance) and dissect's `target-info`.\n")
L.append("## Inspection (`imgcheck inspect --json`, `os[0]`)\n")
L.append("| field | imgcheck | guest tree | virt-inspector | target-info | agree |")
L.append("|---|---|---|---|---|---|")
for r in rows:
    L.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
L.append("")
notes = [n for n in (virt_note, dissect_note) if n]
if notes:
    L.append("Notes: " + "; ".join(notes) + ".\n")
L.append("virt-inspector reports the version as major and minor (`12`, and the point release "
         "from `/etc/debian_version`, also its product name, `12.15` here); the table compares its "
         "`major_version` and not its product name. target-info reports `os_version` as the pretty name and the "
         "architecture as `x86_64-linux`. Empty cells: the tool does not report that field.\n")
L.append("## `imgcheck check` on the image as built\n")
L.append(f"Exit status {good_rc}. Strongly recommended fixes ({gs['strongly_recommended']}), "
         f"Recommended optimizations ({gs['recommended']}), No risks found ({gs['no_risk']}), "
         f"Not evaluated ({gs['not_evaluated']}), Not applicable ({gs['not_applicable']}).\n")
for e in good["recommended"]:
    for f in e["findings"]:
        L.append(f"- recommended, `{e['id']}`: {f['message']}")
L.append("")
L.append("## The broken copy\n")
L.append(f"Made without mounting: {removed} virtio module files removed from the default kernel's "
         "initramfs (unmkinitramfs, cpio + zstd), and `/etc/fstab` mounting `/` from `/dev/sda1`; "
         "both written into the ext4 root with debugfs.\n")
L.append(f"Exit status {broken_rc}. Strongly recommended fixes ({bs['strongly_recommended']}):\n")
for i, m in bsr:
    L.append(f"- `{i}`: {m}")
L.append("")
L.append("## Result\n")
L.append("All fields agree and both defects are flagged." if not problems else "Problems:\n\n" + "\n".join(f"- {p}" for p in problems))
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
sys.exit(1 if problems else 0)
PY
