#!/usr/bin/env python3
"""Corruption sweep (issue 9): thousands of deterministically mutated images, each checked by
`imgcheck check` in its own process under a time and memory limit.

For every fixture image (the bundled sample, the phony Linux and Windows guests, every container,
filesystem, LVM/md, XFS and Btrfs fixture that is a single self-contained file):

1. a clean run under `strace -e pread64` records which byte ranges of the image file imgcheck
   reads: the metadata regions the parsers actually use (superblocks, tables, inodes, directory
   blocks, registry cells, ...);
2. mutations are drawn from a seeded PRNG inside those ranges: bit flips (1-8 bits), a zeroed
   512-byte sector, two 4 KiB blocks swapped, 0xFF-filled runs, and truncations at the start or
   middle of a read range (a structure boundary);
3. each mutated image goes through `imgcheck check --format json` in a fresh process with a wall
   limit (default 10 s) and an address-space limit (default 4 GiB; Rust reserves address space
   for thread stacks, so the limit is on address space; the *resident* peak is measured by GNU
   time around imgcheck);
4. a run fails when its peak resident set exceeds --rss-limit-mib (default 512 MiB), when the
   process dies of a signal, exits with 101 (a Rust panic), prints
   "panicked at" (a panic contained by a `catch_unwind` guard still counts: it is a parser bug),
   exits with anything other than 0/1/2, or is killed by the timeout.

The same seed gives the same mutations. Results go to stdout (one line per fixture, then totals)
and, with --write-docs, into docs/security.md between the `sweep:begin`/`sweep:end` markers.
Failures are listed with everything needed to reproduce them (fixture, seed, mutation).

usage: scripts/corruption-sweep.py [--runs N] [--jobs J] [--seed S] [--timeout SEC]
                                   [--as-limit-mib M] [--bin PATH] [--write-docs] [--keep-failures DIR]

Needs: python3, strace, GNU time (/usr/bin/time), gzip/xz/zstd (to unpack fixtures), a built imgcheck (default
target/release/imgcheck; build it with `cargo build --release` first).
"""

import argparse
import concurrent.futures
import datetime
import gzip
import json
import lzma
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = 4096


def unpack(src, dst_dir):
    """Decompress a committed fixture into dst_dir; returns the path."""
    name = os.path.basename(src)
    for ext in (".gz", ".xz", ".zst"):
        if name.endswith(ext):
            out = os.path.join(dst_dir, name[: -len(ext)])
            if ext == ".gz":
                with gzip.open(src, "rb") as f, open(out, "wb") as o:
                    shutil.copyfileobj(f, o, 1 << 20)
            elif ext == ".xz":
                with lzma.open(src, "rb") as f, open(out, "wb") as o:
                    shutil.copyfileobj(f, o, 1 << 20)
            else:
                subprocess.run(["zstd", "-q", "-d", "-f", src, "-o", out], check=True)
            return out
    out = os.path.join(dst_dir, name)
    shutil.copyfile(src, out)
    return out


def fixtures():
    """Committed single-file images, as (label, path)."""
    found = []
    pats = [
        ("testdata/sample", (".qcow2",)),
        ("testdata/linux-guests", (".qcow2",)),
        ("testdata/windows", (".qcow2",)),
        ("testdata/containers", (".gz",)),
        ("testdata/fs/images", (".gz", ".xz", ".zst")),
        ("testdata/lvm", (".gz",)),
        ("testdata/xfs", (".img.gz",)),
        ("testdata/btrfs/images", (".gz", ".xz", ".zst")),
    ]
    for d, exts in pats:
        full = os.path.join(ROOT, d)
        if not os.path.isdir(full):
            continue
        for n in sorted(os.listdir(full)):
            if not n.endswith(exts):
                continue
            # Multi-file VMDKs (descriptor + extents, split sparse) need their other files, which
            # imgcheck by design does not open unless asked: not self-contained, skipped.
            if "vmdk-flat" in n or "vmdk-2gbsparse" in n or "overlay" in n:
                continue
            found.append((os.path.join(d, n), os.path.join(full, n)))
    return found


PID = r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?"
PREAD = re.compile(PID + r"pread64\((\d+), .*?, (\d+), (\d+)\)\s+= (\d+)")
OPEN = re.compile(PID + r'openat\(AT_FDCWD, "([^"]*)", [^)]*\)\s+= (\d+)')
CLOSE = re.compile(PID + r"close\((\d+)\)\s+= 0")


def read_ranges(binary, image, tmp):
    """Byte ranges of `image` that a clean check reads, merged, from strace's pread64 log."""
    log = os.path.join(tmp, "strace.log")
    subprocess.run(
        ["strace", "-f", "-qq", "-s", "0", "-e", "trace=openat,close,pread64", "-o", log,
         binary, "check", image, "--format", "json", "-o", "/dev/null"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
    )
    fds = set()
    ranges = []
    real = os.path.realpath(image)
    with open(log, errors="replace") as f:
        for line in f:
            m = OPEN.match(line)
            if m:
                if os.path.realpath(m.group(1)) == real:
                    fds.add(m.group(2))
                else:
                    fds.discard(m.group(2))
                continue
            m = CLOSE.match(line)
            if m:
                fds.discard(m.group(1))
                continue
            m = PREAD.match(line)
            if m and m.group(1) in fds:
                n, off = int(m.group(4)), int(m.group(3))
                if n > 0:
                    ranges.append((off, off + n))
    ranges.sort()
    merged = []
    for a, b in ranges:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def draw_mutation(rng, ranges, size):
    """One mutation: (kind, description, patches [(offset, bytes)], truncate_to or None)."""
    # Weight ranges by size but give small ones (headers, superblocks) a fair chance too.
    weights = [min(b - a, 1 << 16) + 512 for a, b in ranges]
    a, b = rng.choices(ranges, weights=weights)[0]
    kind = rng.choices(
        ["flip", "zero-sector", "swap-blocks", "ff-run", "truncate"],
        weights=[50, 15, 10, 10, 15],
    )[0]
    if kind == "flip":
        nbits = rng.randint(1, 8)
        offs = sorted({rng.randrange(a, b) for _ in range(nbits)})
        return kind, f"{len(offs)} bit flip(s) in [{a}, {b}) at {offs[:8]}", \
            [(o, ("flip", rng.randrange(8))) for o in offs], None
    if kind == "zero-sector":
        o = (rng.randrange(a, b) // 512) * 512
        return kind, f"sector at {o} zeroed", [(o, bytes(min(512, size - o)))], None
    if kind == "ff-run":
        o = rng.randrange(a, b)
        n = rng.choice([1, 2, 4, 8, 16, 64])
        return kind, f"{n} bytes of 0xFF at {o}", [(o, b"\xff" * min(n, size - o))], None
    if kind == "swap-blocks":
        o1 = (rng.randrange(a, b) // PAGE) * PAGE
        a2, b2 = rng.choice(ranges)
        o2 = (rng.randrange(a2, b2) // PAGE) * PAGE
        return kind, f"4 KiB blocks at {o1} and {o2} swapped", [("swap", o1, o2)], None
    # truncate: at the start of a read range (a structure boundary) or in its middle
    cut = a if rng.random() < 0.5 else rng.randrange(a, b)
    return kind, f"truncated to {cut} bytes (of {size})", [], cut


class Image:
    """A worker's private copy of one fixture that mutations patch and restore in place."""

    def __init__(self, base_path, work_dir):
        with open(base_path, "rb") as f:
            self.base = f.read()
        name = os.path.basename(base_path)
        self.path = os.path.join(work_dir, name)
        with open(self.path, "wb") as f:
            f.write(self.base)

    def apply(self, patches, truncate_to):
        """Apply; returns what restore() needs."""
        undo = []
        with open(self.path, "r+b") as f:
            for p in patches:
                if p[0] == "swap":
                    _, o1, o2 = p
                    x = self.base[o1:o1 + PAGE]
                    y = self.base[o2:o2 + PAGE]
                    n = min(len(x), len(y))
                    f.seek(o1); f.write(y[:n])
                    f.seek(o2); f.write(x[:n])
                    undo += [(o1, n), (o2, n)]
                    continue
                off, new = p
                if isinstance(new, tuple):  # a bit flip
                    new = bytes([self.base[off] ^ (1 << new[1])])
                f.seek(off)
                f.write(new)
                undo.append((off, len(new)))
            if truncate_to is not None:
                f.truncate(truncate_to)
        return undo, truncate_to

    def restore(self, state):
        undo, truncate_to = state
        with open(self.path, "r+b") as f:
            for off, n in undo:
                f.seek(off)
                f.write(self.base[off:off + n])
            if truncate_to is not None:
                f.seek(truncate_to)
                f.write(self.base[truncate_to:])


def run_one(binary, image, timeout, as_limit, stderr_path):
    """Run a check; returns (exit code or -signal or None on timeout, wall s, max RSS bytes, stderr)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    with open(stderr_path, "wb") as err:
        start = time.monotonic()
        p = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", stderr_path + ".rss",
             binary, "check", image, "--format", "json", "-o", "/dev/null"],
            stdout=subprocess.DEVNULL, stderr=err, preexec_fn=limit,
        )
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                p.kill()
            except ProcessLookupError:
                pass

        t = threading.Timer(timeout, kill)
        t.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - start
        t.cancel()
        p.returncode = 0  # reaped by wait4; keep Popen from waiting again
    with open(stderr_path, "rb") as f:
        stderr = f.read(1 << 16).decode("utf-8", "replace")
    # The peak resident set comes from GNU time wrapped around imgcheck: a child's ru_maxrss
    # includes the address space it had before exec, which for a child forked straight from this
    # Python process would be the sweep's own (large) resident set; forked from `time` it is a
    # few hundred KiB. A killed run falls back to wait4's figure for `time` (an upper bound).
    rss = ru.ru_maxrss * 1024
    try:
        with open(stderr_path + ".rss") as f:
            rss = int(f.read().split()[-1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    # GNU time reports a signal as "Command terminated by signal N" and exits 128+N.
    m = re.search(r"Command terminated by signal (\d+)", open(stderr_path + ".rss", errors="replace").read()) \
        if os.path.exists(stderr_path + ".rss") else None
    if timed_out.is_set():
        code = None
    elif os.WIFSIGNALED(status):
        code = -os.WTERMSIG(status)
    elif m:
        code = -int(m.group(1))
    else:
        code = os.WEXITSTATUS(status)
    return code, wall, rss, stderr


def classify(code, stderr, rss, rss_limit):
    if code is None:
        return "timeout"
    if rss > rss_limit:
        return f"peak RSS {rss / 1048576:.0f} MiB over the {rss_limit >> 20} MiB limit"
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    if code == 101:
        return "panic (exit 101)"
    if "panicked at" in stderr:
        return "contained panic"
    if code not in (0, 1, 2):
        return f"exit {code}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10000, help="mutated images in all (default 10000)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--timeout", type=float, default=10.0, help="wall limit per run, seconds")
    ap.add_argument("--as-limit-mib", type=int, default=4096, help="address-space limit per run")
    ap.add_argument("--rss-limit-mib", type=int, default=512,
                    help="a run whose peak resident set exceeds this fails (default 512)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/imgcheck"))
    ap.add_argument("--write-docs", action="store_true", help="update docs/security.md")
    ap.add_argument("--keep-failures", help="copy each failing image here")
    ap.add_argument("--only", help="only fixtures whose path contains this")
    args = ap.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"corruption-sweep: {args.bin} missing; run `cargo build --release` first")
    if not shutil.which("strace"):
        sys.exit("corruption-sweep: strace missing (Debian package strace)")
    as_limit = args.as_limit_mib << 20
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = tempfile.mkdtemp(prefix="imgcheck-sweep-", dir=shm)
    started = time.monotonic()
    try:
        fx = [f for f in fixtures() if not args.only or args.only in f[0]]
        plans = []
        for label, src in fx:
            d = os.path.join(tmp, "base", str(len(plans)))
            os.makedirs(d)
            path = unpack(src, d)
            ranges = read_ranges(args.bin, path, d)
            if not ranges:
                print(f"{label}: no reads recorded; skipped", file=sys.stderr)
                continue
            plans.append((label, path, ranges, os.path.getsize(path)))
        per = [args.runs // len(plans) + (1 if i < args.runs % len(plans) else 0)
               for i in range(len(plans))]
        results = {p[0]: [] for p in plans}
        failures = []
        lock = threading.Lock()

        def work(i):
            label, path, ranges, size = plans[i]
            wdir = os.path.join(tmp, "work", str(i))
            os.makedirs(wdir, exist_ok=True)
            img = Image(path, wdir)
            for k in range(per[i]):
                rng = random.Random(f"{args.seed}:{label}:{k}")
                kind, desc, patches, cut = draw_mutation(rng, ranges, size)
                state = img.apply(patches, cut)
                code, wall, rss, stderr = run_one(args.bin, img.path, args.timeout, as_limit,
                                                  os.path.join(wdir, "stderr"))
                bad = classify(code, stderr, rss, args.rss_limit_mib << 20)
                if bad and args.keep_failures:
                    os.makedirs(args.keep_failures, exist_ok=True)
                    shutil.copyfile(img.path, os.path.join(
                        args.keep_failures, f"{os.path.basename(path)}.{k}"))
                img.restore(state)
                with lock:
                    results[label].append((kind, code, wall, rss))
                    if bad:
                        tail = [l for l in stderr.splitlines() if "panicked" in l][:1] or stderr.splitlines()[-1:]
                        failures.append((label, k, desc, bad, " ".join(tail)[:300]))

        # Fixtures are spread over the workers; each worker patches its own copy in place.
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
            list(ex.map(work, range(len(plans))))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started

    rows = []
    allw, allr, total, codes = [], [], 0, {}
    for label, path, ranges, size in plans:
        rs = results[label]
        total += len(rs)
        walls = sorted(r[2] for r in rs)
        rsss = [r[3] for r in rs]
        allw += walls
        allr += rsss
        for r in rs:
            codes[r[1]] = codes.get(r[1], 0) + 1
        nfail = sum(1 for f in failures if f[0] == label)
        rows.append((label, size, sum(b - a for a, b in ranges), len(rs), nfail,
                     walls[len(walls) // 2] if walls else 0, walls[-1] if walls else 0,
                     max(rsss) if rsss else 0))
    allw.sort()
    summary = {
        "runs": total,
        "failures": len(failures),
        "panics": sum(1 for f in failures if "panic" in f[3]),
        "timeouts": sum(1 for f in failures if f[3] == "timeout"),
        "over_10s": sum(1 for w in allw if w > 10.0),
        "max_wall_s": round(allw[-1], 3) if allw else 0,
        "median_wall_s": round(allw[len(allw) // 2], 4) if allw else 0,
        "max_rss_mib": round(max(allr) / 1048576, 1) if allr else 0,
        "exit_codes": {str(k): v for k, v in sorted(codes.items(), key=lambda kv: str(kv[0]))},
        "elapsed_s": round(elapsed, 1),
    }
    for r in rows:
        print(f"{r[0]:<55} runs {r[3]:>5}  failures {r[4]:>3}  median {r[5]*1000:7.1f} ms  "
              f"max {r[6]*1000:7.1f} ms  peak RSS {r[7]/1048576:6.1f} MiB")
    for f in failures:
        print(f"FAIL {f[0]} #{f[1]} ({f[2]}): {f[3]}: {f[4]}")
    print(json.dumps(summary))
    if args.write_docs:
        write_docs(args, summary, rows, failures)
    return 1 if failures else 0


def write_docs(args, summary, rows, failures):
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    lines = [
        f"Run {when} on {rev}{' + uncommitted changes' if dirty else ''}, "
        f"seed {args.seed}, {args.jobs} parallel runs, limits: {args.timeout:g} s wall and "
        f"{args.as_limit_mib} MiB address space per run; took {summary['elapsed_s']} s; "
        f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}.",
        "",
        f"**{summary['runs']} mutated images: {summary['failures']} failures "
        f"({summary['panics']} panics, {summary['timeouts']} timeouts), "
        f"{summary['over_10s']} runs over 10 s; slowest run {summary['max_wall_s']} s, "
        f"median {summary['median_wall_s'] * 1000:.1f} ms; peak RSS {summary['max_rss_mib']} MiB.** "
        f"Exit statuses: " + ", ".join(f"{k}: {v}" for k, v in summary["exit_codes"].items()) + ".",
        "",
        "| Fixture | Size | Bytes read (mutated region) | Runs | Failures | Median ms | Max ms | Peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]*1000:.1f} | "
                     f"{r[6]*1000:.1f} | {r[7]/1048576:.1f} |")
    if failures:
        lines += ["", "Failures (fixture, run index, mutation, outcome):", ""]
        lines += [f"- {f[0]} #{f[1]}: {f[2]} → {f[3]}: `{f[4]}`" for f in failures[:50]]
    block = "\n".join(lines)
    path = os.path.join(ROOT, "docs/security.md")
    text = open(path).read()
    begin, end = "<!-- sweep:begin -->", "<!-- sweep:end -->"
    if begin in text and end in text:
        pre, rest = text.split(begin, 1)
        _, post = rest.split(end, 1)
        text = f"{pre}{begin}\n{block}\n{end}{post}"
    else:
        text += f"\n{begin}\n{block}\n{end}\n"
    open(path, "w").write(text)


if __name__ == "__main__":
    sys.exit(main())
