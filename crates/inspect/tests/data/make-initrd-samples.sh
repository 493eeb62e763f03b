#!/usr/bin/env bash
# Regenerate the tiny initramfs samples in this directory with the real tools (GNU cpio, bzip2).
# Deterministic: fixed mtimes, --reproducible cpio, sorted names.
set -euo pipefail
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=1700000000
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p t/usr/lib/modules/6.1.0-28-cloud-amd64/kernel/drivers/scsi
printf '#!/bin/sh\n' > t/init
printf 'phony module\n' > t/usr/lib/modules/6.1.0-28-cloud-amd64/kernel/drivers/scsi/virtio_scsi.ko
find t -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
(cd t && find . -mindepth 1 | sort | cpio --quiet -o -H newc --reproducible | bzip2 -9) > "$here/initrd-bzip2.cpio.bz2"
