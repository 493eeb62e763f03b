//! The HTML report as a real browser renders it: headless Chromium (Debian package `chromium`)
//! loads the self-contained page from a file, with the network disabled, and
//! - its DOM after rendering has the console's sections with the counts of the JSON report, every
//!   check id and every finding's message;
//! - the browser's console stays empty: Chromium logs every console message of the page to stderr
//!   (`--enable-logging=stderr`, lines with `:CONSOLE`); a probe page with a `console.error`
//!   proves that such messages are seen;
//! - its screenshot shows the page's colours where the counts say they must be: the red of
//!   "Strongly recommended" when there is such a finding, the green of "No risks found", and the
//!   blue of a filesystem segment in the disk-layout bar.
//!
//! Needs `chromium`: under CI its absence fails the test; elsewhere the test says SKIPPED.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{imgcheck, repo_root, require_tools, tool_path};
use std::path::Path;
use std::time::Duration;

/// Chromium's flags for a sandbox without network or GPU (as root, so no sandbox either).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
];

/// Chromium's stdout and its log on stderr.
fn chromium(args: &[&str], profile: &Path) -> (Vec<u8>, String) {
    let user_data = format!("--user-data-dir={}", profile.display());
    let all: Vec<&str> = FLAGS
        .iter()
        .copied()
        .chain([user_data.as_str()])
        .chain(args.iter().copied())
        .collect();
    let out = common::run_with_timeout(
        &tool_path("chromium"),
        &all,
        Duration::from_secs(120),
        common::STDOUT_CAP,
    );
    assert!(
        out.status.is_some_and(|s| s.success()),
        "chromium {args:?} failed ({:?}, timed out: {}): {}",
        out.status,
        out.timed_out,
        out.stderr
    );
    (out.stdout, out.stderr)
}

/// The console messages of the page in Chromium's log.
fn console_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// Every pixel of a PNG as RGB.
fn pixels(png_path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let dec = png::Decoder::new(std::fs::File::open(png_path).unwrap());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "screenshot bit depth");
    let step = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    let px = buf[..info.buffer_size()]
        .chunks_exact(step)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

fn count_near(px: &[[u8; 3]], rgb: [u8; 3]) -> usize {
    px.iter()
        .filter(|p| p.iter().zip(rgb).all(|(&a, b)| a.abs_diff(b) <= 6))
        .count()
}

fn check_rendering(image: &Path, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join(format!("{name}.html"));
    let json = imgcheck(&[
        "check".as_ref(),
        image.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .json();
    let r = imgcheck(&[
        "check".as_ref(),
        image.as_os_str(),
        "--format".as_ref(),
        "html".as_ref(),
        "-o".as_ref(),
        html.as_os_str(),
    ]);
    assert!(matches!(r.code(), Some(0 | 1)), "{}", r.describe());
    let url = format!("file://{}", html.display());
    let profile = dir.path().join("profile");

    // 1. The DOM after rendering.
    let (dom, log) = chromium(
        &["--enable-logging=stderr", "--v=0", "--dump-dom", &url],
        &profile,
    );
    let dom = String::from_utf8(dom).unwrap();
    let console = console_lines(&log);
    assert!(
        console.is_empty(),
        "{name}: the page logged to the browser console: {console:#?}"
    );
    let s = &json["summary"];
    for (key, heading) in [
        ("strongly_recommended", "Strongly recommended fixes"),
        ("recommended", "Recommended optimizations"),
        ("no_risk", "No risks found"),
        ("not_evaluated", "Not evaluated"),
        ("not_applicable", "Not applicable"),
    ] {
        let n = s[key].as_u64().unwrap();
        let h = format!("<h2>{heading} ({n})</h2>");
        assert!(dom.contains(&h), "{name}: rendered page lacks {h:?}");
        assert!(
            dom.contains(&format!("<b>{n}</b>{heading}")),
            "{name}: count box for {heading} is not {n}"
        );
    }
    let mut findings = 0usize;
    for section in [
        "strongly_recommended",
        "recommended",
        "no_risk",
        "not_evaluated",
        "not_applicable",
    ] {
        for e in json[section].as_array().unwrap() {
            let id = e["id"].as_str().unwrap();
            assert!(
                dom.contains(&format!("<code>{id}</code>")),
                "{name}: {id} not rendered"
            );
            for f in e["findings"].as_array().into_iter().flatten() {
                findings += 1;
                // The DOM serialiser escapes &, < and > exactly as our HTML writer does.
                let msg = f["message"]
                    .as_str()
                    .unwrap()
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                assert!(dom.contains(&msg), "{name}: finding {msg:?} not rendered");
            }
        }
    }
    assert!(
        !dom.contains("<script"),
        "{name}: the report must work without scripts"
    );

    // 2. The screenshot.
    let shot = dir.path().join(format!("{name}.png"));
    chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600",
            &url,
        ],
        &profile,
    );
    let (w, h, px) = pixels(&shot);
    assert_eq!((w, h), (1280, 1600), "{name}: screenshot size");
    let red = count_near(&px, [0xc6, 0x28, 0x28]);
    let green = count_near(&px, [0x2e, 0x7d, 0x32]);
    let fs_blue = count_near(&px, [0x3f, 0x6f, 0xb5]);
    let background = count_near(&px, [0xf5, 0xf6, 0xf8]);
    assert!(
        background > px.len() / 10,
        "{name}: the page background is not there ({background} px)"
    );
    assert!(
        green > 100,
        "{name}: no 'No risks found' green ({green} px)"
    );
    assert!(
        fs_blue > 500,
        "{name}: no filesystem segment in the disk bar ({fs_blue} px)"
    );
    // The count box's top border alone is ~900 px of red; each strongly recommended finding
    // adds a red badge and its check a red left border.
    let sr = s["strongly_recommended"].as_u64().unwrap();
    if sr > 0 {
        assert!(
            red > 2000,
            "{name}: {sr} strongly recommended finding(s) but little red on screen ({red} px)"
        );
    } else {
        assert!(
            (300..2000).contains(&red),
            "{name}: no strongly recommended finding, so only the count box is red ({red} px)"
        );
    }
    eprintln!(
        "{name}: {findings} findings rendered; screenshot {w}x{h}: red {red}, green {green}, \
         fs blue {fs_blue} px"
    );
}

#[test]
fn html_report_renders_in_chromium() {
    if !require_tools("html_report_renders_in_chromium", &["chromium"]) {
        return;
    }
    // The console detector sees a page's console messages.
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        "<!doctype html><p>probe</p><script>console.error(\"imgcheck-probe\")</script>",
    )
    .unwrap();
    let (_, log) = chromium(
        &[
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            &format!("file://{}", probe.display()),
        ],
        &dir.path().join("profile"),
    );
    assert!(
        console_lines(&log)
            .iter()
            .any(|l| l.contains("imgcheck-probe")),
        "Chromium did not log the probe's console message: {log}"
    );

    let root = repo_root();
    check_rendering(&root.join("testdata/sample/sample.qcow2"), "sample");
    check_rendering(
        &root.join("testdata/linux-guests/linux-bad1.qcow2"),
        "linux-bad1",
    );
    check_rendering(
        &root.join("testdata/windows/windows-bad.qcow2"),
        "windows-bad",
    );
    check_rendering(
        &root.join("testdata/multiroot/dual-boot.qcow2"),
        "dual-boot",
    );
}

#[test]
fn png_reader_sees_colours() {
    // The pixel check itself, on a PNG written here: 2x1, one red and one green pixel.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.png");
    {
        let f = std::fs::File::create(&p).unwrap();
        let mut e = png::Encoder::new(f, 2, 1);
        e.set_color(png::ColorType::Rgb);
        e.set_depth(png::BitDepth::Eight);
        let mut w = e.write_header().unwrap();
        w.write_image_data(&[0xc6, 0x28, 0x28, 0x2e, 0x7d, 0x32])
            .unwrap();
    }
    let (w, h, px) = pixels(&p);
    assert_eq!((w, h), (2, 1));
    assert_eq!(count_near(&px, [0xc6, 0x28, 0x28]), 1);
    assert_eq!(count_near(&px, [0x2e, 0x7d, 0x32]), 1);
}
