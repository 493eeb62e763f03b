//! The phony Linux guests' GRUB BIOS boot code really boots: QEMU (TCG, SeaBIOS) starts the
//! committed `sample.qcow2` and `rhel9.qcow2` with `snapshot=on` (the image is never written),
//! and the serial console (SeaBIOS mirrors the BIOS text screen there under `-nographic`) must
//! show what `scripts/boot-bios-fixtures.sh` recorded next to each fixture: boot.img's
//! "GRUB loading.", core.img's "Welcome to GRUB!", then — the phony guests carry no
//! `i386-pc` modules — the error naming `normal.mod` on the right filesystem and GRUB's rescue
//! prompt. Needs `qemu-system-x86_64` (Debian qemu-system-x86): fails under CI without it,
//! skipped loudly elsewhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// TCG boots to the prompt in a few seconds; this leaves room for a loaded machine.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

/// Boot `image` and return the serial console text until GRUB's prompt (or the timeout),
/// escape sequences and carriage returns removed.
fn boot(image: &str) -> String {
    let mut child = Command::new(common::tool_path("qemu-system-x86_64"))
        .args(["-nographic", "-m", "256", "-no-reboot", "-monitor", "none"])
        .args(["-serial", "stdio", "-drive"])
        .arg(format!("file={image},format=qcow2,snapshot=on"))
        .current_dir(common::repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qemu-system-x86_64");
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + BOOT_TIMEOUT;
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("grub rescue>") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let text = clean(&String::from_utf8_lossy(&seen));
    assert!(
        text.contains("grub rescue>"),
        "{image}: no GRUB prompt within {BOOT_TIMEOUT:?} (qemu {status}, stderr {err:?}); console:\n{text}"
    );
    text
}

/// Remove ANSI escape sequences (ESC [ params letter, ESC letter) and carriage returns.
fn clean(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\u{1b}' => {
                if it.peek() == Some(&'[') {
                    it.next();
                    while let Some(&d) = it.peek() {
                        it.next();
                        if d.is_ascii_alphabetic() {
                            break;
                        }
                    }
                } else {
                    it.next();
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The console lines `scripts/boot-bios-fixtures.sh` recorded (comments dropped).
fn recorded(evidence: &str) -> Vec<String> {
    std::fs::read_to_string(common::repo_root().join(evidence))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn boots_to_grub(image: &str, evidence: &str, error: &str) {
    if !common::require_tools("bios_boot", &["qemu-system-x86_64"]) {
        return;
    }
    let text = boot(image);
    let from = text
        .find("Booting from Hard Disk")
        .expect("SeaBIOS boots the disk");
    let lines: Vec<String> = text[from..]
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let want = recorded(evidence);
    assert_eq!(lines, want, "{image}: console differs from {evidence}");
    assert!(want.iter().any(|l| l == "GRUB loading."), "{want:?}");
    assert!(want.iter().any(|l| l == error), "{want:?}");
}

#[test]
fn sample_boots_to_grub() {
    boots_to_grub(
        "testdata/sample/sample.qcow2",
        "testdata/sample/sample.bios-boot.txt",
        "error: file `/boot/grub/i386-pc/normal.mod' not found.",
    );
}

#[test]
fn rhel9_boots_to_grub() {
    boots_to_grub(
        "testdata/rhel-guest/rhel9.qcow2",
        "testdata/rhel-guest/rhel9.bios-boot.txt",
        "error: file `/grub2/i386-pc/normal.mod' not found.",
    );
}
