//! initramfs listing against archives made with the real tools: GNU cpio (`-H newc`) for an
//! early-microcode archive and the main archive, compressed with gzip, xz (`--check=crc32`, as
//! the kernel needs), legacy lzma, zstd, lz4 legacy (`lz4 -l`, what the kernel reads), lz4 frame
//! and bzip2; the expected listing is GNU `cpio -t` of the uncompressed archives.
//! Needs cpio, gzip, xz, zstd, lz4, bzip2: with `CI` set a missing tool fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]

use imgcheck_core::Limits;
use imgcheck_inspect::initramfs::{self, Compression};
use std::path::Path;
use std::process::{Command, Stdio};

const TOOLS: &[&str] = &["cpio", "gzip", "xz", "zstd", "lz4", "bzip2"];

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn sh(cmd: &str, dir: &Path) -> Vec<u8> {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .current_dir(dir)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn cpio_t(archive: &Path, dir: &Path) -> Vec<String> {
    let out = sh(&format!("cpio --quiet -t < {}", archive.display()), dir);
    String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(initramfs::normalise)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn listings_match_gnu_cpio() {
    let missing: Vec<&str> = TOOLS.iter().copied().filter(|t| !have(t)).collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tools missing in CI: {missing:?}"
        );
        println!("SKIPPED: {} missing", missing.join(", "));
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    sh(
        "mkdir -p early/kernel/x86/microcode main/usr/lib/modules/6.1.0/kernel/drivers/block \
         main/usr/lib/modules/6.1.0/kernel/drivers/nvme/host main/etc main/bin && \
         head -c 3001 /dev/zero > early/kernel/x86/microcode/GenuineIntel.bin && \
         printf '#!/bin/sh\\n' > main/init && \
         head -c 70000 /dev/urandom > main/usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko && \
         printf x > main/usr/lib/modules/6.1.0/kernel/drivers/nvme/host/nvme-core.ko.zst && \
         printf 'n\\n' > main/etc/hostname && ln -s ../init main/bin/sh && \
         for i in $(seq 1 300); do printf $i > main/etc/f$i; done && \
         (cd early && find . | sort | cpio --quiet -o -H newc) > early.cpio && \
         (cd main && find . | sort | cpio --quiet -o -H newc) > main.cpio",
        d,
    );
    let early = cpio_t(&d.join("early.cpio"), d);
    let main = cpio_t(&d.join("main.cpio"), d);
    let expected: Vec<String> = early.iter().chain(main.iter()).cloned().collect();
    assert!(expected.len() > 300);
    let cases: &[(&str, Compression)] = &[
        ("gzip -9 -n", Compression::Gzip),
        ("xz --check=crc32 --lzma2=dict=1MiB", Compression::Xz),
        ("xz --format=lzma", Compression::Lzma),
        ("zstd -q -19 -c", Compression::Zstd),
        ("lz4 -q -l -c", Compression::Lz4Legacy),
        ("lz4 -q -c", Compression::Lz4),
        ("bzip2 -9 -c", Compression::Bzip2),
    ];
    for (cmd, comp) in cases {
        // early (uncompressed) + NUL padding to 512 + compressed main, as dracut/initramfs-tools do.
        let img = d.join("initrd.img");
        sh(
            &format!(
                "cat early.cpio > initrd.img && truncate -s %512 initrd.img && {cmd} < main.cpio >> initrd.img"
            ),
            d,
        );
        let data = std::fs::read(&img).expect("read");
        let l = initramfs::list(&data, &Limits::default()).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        assert_eq!(l.compressions, vec![Compression::None, *comp], "{cmd}");
        assert!(l.complete(), "{cmd}: {l:?}");
        assert_eq!(l.paths, expected, "{cmd}");
        let mods = initramfs::modules_in(&l);
        assert!(
            mods.contains("virtio_blk") && mods.contains("nvme_core"),
            "{cmd}: {mods:?}"
        );
        println!(
            "{cmd}: {} entries, {} cpio bytes, file {} bytes",
            l.paths.len(),
            l.cpio_bytes,
            data.len()
        );
    }
}
