//! initramfs listing: the file names inside a Linux initial RAM filesystem image.
//!
//! Specification: the kernel's `Documentation/driver-api/early-userspace/buffer-format.rst` and
//! `init/initramfs.c` (how the kernel itself unpacks: concatenated members, NUL padding between
//! them, each member either an uncompressed cpio archive or a compressed stream whose output is
//! one or more cpio archives), cpio "newc"/"crc" headers from `cpio(5)` (110-byte ASCII-hex
//! header, name and data each padded to 4 bytes, `TRAILER!!!` ends an archive), and the magic
//! numbers of `lib/decompress.c`. Own code because the walk must follow the kernel's rules
//! (early-microcode archive first, then the compressed main archive) with bounded memory;
//! decompression is delegated to crates: `flate2` (gzip), `lzma-rust2` (xz, lzma), `zstd`
//! (libzstd; Debian's default initramfs compression — ruzstd took 1.0 s of a 1.04 s check on a
//! real 13 MiB Debian 12 initramfs, libzstd 0.18 s), `lz4_flex` (lz4 frame; the kernel's legacy
//! lz4 framing is parsed here and its blocks handed to `lz4_flex`), `bzip2-rs` (bzip2).
//!
//! Nothing is extracted: the walker is a push state machine fed by the decompressors, keeping
//! only names. cpio sizes are never trusted beyond the data present; total decompressed bytes
//! are bounded by `Limits::max_initramfs_bytes` and entries by [`MAX_ENTRIES`].
//!
//! The image is pulled from its [`ChunkSource`] in [`CHUNK`]-sized pieces as the walk needs
//! them, and [`list_until`] can end the walk as soon as a set of wanted modules has been listed:
//! a check that only asks "are the root-disk drivers in the initramfs?" then neither reads nor
//! decompresses the rest (on a Debian 12 cloud image they all sit in the first 45% of the
//! archive; decompressing it all is most of a check's time).

use imgcheck_core::Limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::{self, BufRead, Read, Write};

/// cpio "newc" magic (`cpio -H newc`).
const NEWC_MAGIC: &[u8; 6] = b"070701";
/// cpio "crc" magic (newc with a checksum field).
const CRC_MAGIC: &[u8; 6] = b"070702";
/// Length of a newc/crc header: 6-byte magic + 13 eight-digit hex fields.
const HEADER_LEN: usize = 110;
/// Name of the entry that ends a cpio archive.
const TRAILER: &str = "TRAILER!!!";
/// Longest entry name accepted (Linux `PATH_MAX`, as `init/initramfs.c` enforces).
const MAX_NAME: usize = 4096;
/// Most entries listed from one initramfs; real ones hold a few thousand.
pub const MAX_ENTRIES: usize = 200_000;
/// gzip magic, and the "old gzip" variant the kernel also accepts (`lib/decompress.c`).
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const GZIP_OLD_MAGIC: &[u8] = &[0x1f, 0x9e];
/// bzip2 stream header.
const BZIP2_MAGIC: &[u8] = b"BZh";
/// Legacy `.lzma` header as written by `xz -F lzma`: properties 0x5d, dictionary size low bytes.
const LZMA_MAGIC: &[u8] = &[0x5d, 0x00, 0x00];
/// xz stream header magic.
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
/// lzop magic (recognised, not decoded).
const LZO_MAGIC: &[u8] = &[0x89, b'L', b'Z', b'O'];
/// lz4 legacy frame magic 0x184C2102 (little-endian), as `lz4 -l` and the kernel write it.
const LZ4_LEGACY_MAGIC: &[u8] = &[0x02, 0x21, 0x4c, 0x18];
/// lz4 frame format magic 0x184D2204.
const LZ4_FRAME_MAGIC: &[u8] = &[0x04, 0x22, 0x4d, 0x18];
/// zstd frame magic 0xFD2FB528.
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// Uncompressed size of one lz4 legacy block (`lib/decompress_unlz4.c`: 8 MiB).
const LZ4_LEGACY_BLOCK: usize = 8 << 20;
/// Largest zstd window accepted, log2 (128 MiB: the kernel's initramfs zstd uses at most that).
const ZSTD_MAX_WINDOW_LOG: u32 = 27;
/// Bytes pulled from a [`ChunkSource`] at a time.
pub const CHUNK: usize = 256 << 10;
/// Memory the xz/lzma decoders may use, in KiB (dictionaries of real initramfs are ≤ 64 MiB).
const LZMA_MEM_LIMIT_KIB: u32 = 256 * 1024;

/// How one member of the initramfs was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    /// Uncompressed cpio (e.g. the early-microcode archive).
    None,
    /// gzip.
    Gzip,
    /// bzip2.
    Bzip2,
    /// Legacy `.lzma`.
    Lzma,
    /// xz.
    Xz,
    /// lz4 legacy framing (what the kernel's `CONFIG_RD_LZ4` reads).
    Lz4Legacy,
    /// lz4 frame format.
    Lz4,
    /// zstd.
    Zstd,
    /// lzop (recognised, not decoded).
    Lzo,
}

impl Compression {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Lzma => "lzma",
            Compression::Xz => "xz",
            Compression::Lz4Legacy => "lz4-legacy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
            Compression::Lzo => "lzo",
        }
    }

    fn detect(head: &[u8]) -> Option<Compression> {
        let table: [(&[u8], Compression); 9] = [
            (GZIP_MAGIC, Compression::Gzip),
            (GZIP_OLD_MAGIC, Compression::Gzip),
            (BZIP2_MAGIC, Compression::Bzip2),
            (XZ_MAGIC, Compression::Xz),
            (LZMA_MAGIC, Compression::Lzma),
            (LZ4_LEGACY_MAGIC, Compression::Lz4Legacy),
            (LZ4_FRAME_MAGIC, Compression::Lz4),
            (ZSTD_MAGIC, Compression::Zstd),
            (LZO_MAGIC, Compression::Lzo),
        ];
        table
            .iter()
            .find(|(m, _)| head.starts_with(m))
            .map(|(_, c)| *c)
    }
}

/// What an initramfs holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Entry paths in archive order, normalised (no leading `./` or `/`), `TRAILER!!!` omitted.
    pub paths: Vec<String>,
    /// Compression of each member, in order (`none` for uncompressed cpio archives).
    pub compressions: Vec<Compression>,
    /// Bytes of cpio data walked (uncompressed members included).
    pub cpio_bytes: u64,
    /// True when `Limits::max_initramfs_bytes` or [`MAX_ENTRIES`] stopped the walk.
    pub truncated: bool,
    /// An error met after some entries were listed (the kernel, too, keeps what it unpacked).
    /// When set, the listing is incomplete and absence of a file proves nothing.
    pub error: Option<String>,
    /// True when [`list_until`] ended the walk because every wanted module was listed: the
    /// entries after the last of them are not listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_early: bool,
}

impl Listing {
    /// True when the whole initramfs was read: no limit hit, no error, not stopped early.
    pub fn complete(&self) -> bool {
        !self.truncated && self.error.is_none() && !self.stopped_early
    }
}

/// Where an initramfs image's bytes come from: a file read piece by piece.
pub trait ChunkSource {
    /// Up to `max` bytes from `offset`; fewer (or none) only at the end of the file.
    ///
    /// # Errors
    /// A read error; the listing keeps what it found before it and names the error.
    fn read_chunk(&mut self, offset: u64, max: usize) -> io::Result<Vec<u8>>;
}

impl ChunkSource for &[u8] {
    fn read_chunk(&mut self, offset: u64, max: usize) -> io::Result<Vec<u8>> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(max);
        Ok(self
            .get(start..end.min(self.len()))
            .unwrap_or_default()
            .to_vec())
    }
}

/// The image's bytes pulled so far (a prefix of the file), fetched on demand.
struct Lazy<'a> {
    src: &'a mut dyn ChunkSource,
    buf: Vec<u8>,
    /// Bytes asked of `src` at a time ([`CHUNK`]; smaller in tests).
    chunk: usize,
    /// The end of the file was seen (or a read failed: `error`).
    eof: bool,
    error: Option<String>,
}

impl Lazy<'_> {
    /// Make at least `end` bytes available, as far as the file goes.
    fn ensure(&mut self, end: usize) {
        while self.buf.len() < end && !self.eof {
            let off = u64::try_from(self.buf.len()).unwrap_or(u64::MAX);
            match self.src.read_chunk(off, self.chunk) {
                Ok(c) if c.is_empty() => self.eof = true,
                Ok(c) => {
                    let take = c.len().min(self.chunk);
                    self.buf
                        .extend_from_slice(c.get(..take).unwrap_or_default());
                }
                Err(e) => {
                    self.eof = true;
                    self.error = Some(format!("reading the image at offset {off}: {e}"));
                }
            }
        }
    }

    /// Everything from `off`, after pulling the rest of the file.
    fn rest(&mut self, off: usize) -> &[u8] {
        self.ensure(usize::MAX);
        self.buf.get(off..).unwrap_or_default()
    }
}

/// `BufRead` over a [`Lazy`] from a position, for the decoders.
struct LazyReader<'a, 'b> {
    data: &'a mut Lazy<'b>,
    pos: usize,
}

impl Read for LazyReader<'_, '_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for LazyReader<'_, '_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.data.buf.len() {
            self.data.ensure(self.pos.saturating_add(self.data.chunk));
        }
        Ok(self.data.buf.get(self.pos..).unwrap_or_default())
    }

    fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.data.buf.len());
    }
}

/// Errors that leave nothing listed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InitramfsError {
    /// The file is empty or all zero.
    #[error("initramfs holds no data")]
    Empty,
    /// The first member is neither cpio nor a known compression.
    #[error("initramfs member at offset {offset} is neither cpio nor a known compression (first bytes {head})")]
    Unrecognised {
        /// Byte offset in the file.
        offset: u64,
        /// The first bytes, hex.
        head: String,
    },
    /// Reading failed before any entry was listed.
    #[error("initramfs {member} member at offset {offset}: {message}")]
    Corrupt {
        /// `cpio`, `gzip`, `xz`, …
        member: &'static str,
        /// Byte offset of the member in the file.
        offset: u64,
        /// What went wrong.
        message: String,
    },
}

/// Why the cpio walker stopped consuming.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    /// Entry or byte limit reached.
    Limit,
    /// Every wanted module is listed.
    Wanted,
    /// Malformed cpio data.
    Corrupt(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between archives (or entries): NULs are skipped, `0` starts a header.
    Between,
    /// Collecting the 110-byte header.
    Header,
    /// Collecting the name (`namesize` bytes incl. NUL), then padding to 4.
    Name { namesize: usize, filesize: u64 },
    /// Skipping data and padding.
    Skip(u64),
}

/// The cpio push parser.
struct Walker {
    state: State,
    buf: Vec<u8>,
    /// Position in the current stream (alignment is relative to its start).
    pos: u64,
    /// What has been listed so far.
    listing: Listing,
    max_entries: usize,
    max_bytes: u64,
    stop: Option<Stop>,
    /// Modules (normalised names) still to be seen before the walk may stop; `None`: list all.
    wanted: Option<BTreeSet<String>>,
    /// `feed` returned at the end of an archive (trailer) or at a byte that starts no header.
    ended: bool,
}

fn pad4(pos: u64) -> u64 {
    pos.wrapping_neg() & 3
}

fn hex_field(h: &[u8], idx: usize) -> Option<u64> {
    let start = 6usize.checked_add(idx.checked_mul(8)?)?;
    let s = std::str::from_utf8(h.get(start..start.checked_add(8)?)?).ok()?;
    u64::from_str_radix(s, 16).ok()
}

/// Normalise an archive path: strip `./` and leading `/`, drop `.` components.
pub fn normalise(name: &str) -> String {
    name.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl Walker {
    fn new(limits: &Limits) -> Walker {
        Walker {
            state: State::Between,
            buf: Vec::new(),
            pos: 0,
            listing: Listing::default(),
            max_entries: MAX_ENTRIES,
            max_bytes: limits.max_initramfs_bytes,
            stop: None,
            wanted: None,
            ended: false,
        }
    }

    fn start_stream(&mut self) {
        self.state = State::Between;
        self.buf.clear();
        self.pos = 0;
        self.ended = false;
    }

    /// Consume `data`; returns the bytes consumed. With `stop_at_trailer` it returns right
    /// after an archive trailer's padding (the top level then decides what follows); otherwise
    /// it consumes everything, and a byte that starts no header between archives is junk.
    fn feed(&mut self, data: &[u8], stop_at_trailer: bool) -> Result<usize, Stop> {
        let mut i = 0usize;
        while let Some(rest) = data.get(i..).filter(|r| !r.is_empty()) {
            match self.state {
                State::Between => {
                    let b = rest.first().copied().unwrap_or(0);
                    if b == 0 {
                        let n = rest.iter().take_while(|&&b| b == 0).count();
                        i = i.saturating_add(n);
                        self.advance(n);
                    } else if b == b'0' && pad4(self.pos) == 0 {
                        self.state = State::Header;
                        self.buf.clear();
                    } else if stop_at_trailer {
                        self.ended = true;
                        return Ok(i);
                    } else {
                        return Err(Stop::Corrupt(format!(
                            "junk byte 0x{b:02x} between cpio archives at stream offset {}",
                            self.pos
                        )));
                    }
                }
                State::Header => {
                    let need = HEADER_LEN.saturating_sub(self.buf.len());
                    let take = need.min(rest.len());
                    self.buf
                        .extend_from_slice(rest.get(..take).unwrap_or_default());
                    i = i.saturating_add(take);
                    self.advance(take);
                    if self.buf.len() == HEADER_LEN {
                        self.parse_header()?;
                    }
                }
                State::Name { namesize, filesize } => {
                    let need = namesize.saturating_sub(self.buf.len());
                    let take = need.min(rest.len());
                    self.buf
                        .extend_from_slice(rest.get(..take).unwrap_or_default());
                    i = i.saturating_add(take);
                    self.advance(take);
                    if self.buf.len() == namesize {
                        let raw = self.buf.strip_suffix(&[0]).unwrap_or(&self.buf);
                        let name = String::from_utf8_lossy(raw).into_owned();
                        let skip = pad4(self.pos);
                        if name == TRAILER {
                            self.state = State::Skip(skip);
                            self.skip_now(data, &mut i);
                            if self.state == State::Between && stop_at_trailer {
                                self.ended = true;
                                return Ok(i);
                            }
                            continue;
                        }
                        let norm = normalise(&name);
                        if !norm.is_empty() {
                            if self.listing.paths.len() >= self.max_entries {
                                self.listing.truncated = true;
                                return Err(Stop::Limit);
                            }
                            let module = self.wanted.as_ref().and_then(|_| module_name(&norm));
                            self.listing.paths.push(norm);
                            if let (Some(m), Some(w)) = (module, self.wanted.as_mut()) {
                                if w.remove(&m) && w.is_empty() {
                                    self.listing.stopped_early = true;
                                    return Err(Stop::Wanted);
                                }
                            }
                        }
                        self.state = State::Skip(skip.saturating_add(filesize));
                        self.skip_now(data, &mut i);
                    }
                }
                State::Skip(_) => self.skip_now(data, &mut i),
            }
        }
        Ok(i)
    }

    /// In `Skip`, consume as much as possible of `data[*i..]`; switches to `Between` when done.
    fn skip_now(&mut self, data: &[u8], i: &mut usize) {
        let State::Skip(left) = self.state else {
            return;
        };
        let avail = u64::try_from(data.len().saturating_sub(*i)).unwrap_or(u64::MAX);
        let take = left.min(avail);
        let take_usize = usize::try_from(take).unwrap_or(usize::MAX);
        *i = i.saturating_add(take_usize);
        self.advance(take_usize);
        let left = left.saturating_sub(take);
        self.state = if left == 0 {
            State::Between
        } else {
            State::Skip(left)
        };
    }

    fn advance(&mut self, n: usize) {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.pos = self.pos.saturating_add(n);
        self.listing.cpio_bytes = self.listing.cpio_bytes.saturating_add(n);
    }

    fn parse_header(&mut self) -> Result<(), Stop> {
        let h = &self.buf;
        let magic = h.get(..6).unwrap_or_default();
        if magic != NEWC_MAGIC && magic != CRC_MAGIC {
            return Err(Stop::Corrupt(format!(
                "cpio header at stream offset {} has magic {:?}, expected 070701 or 070702",
                self.pos.saturating_sub(110),
                String::from_utf8_lossy(magic)
            )));
        }
        // Fields: ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check.
        let filesize = hex_field(h, 6);
        let namesize = hex_field(h, 11);
        let (Some(filesize), Some(namesize)) = (filesize, namesize) else {
            return Err(Stop::Corrupt(format!(
                "cpio header at stream offset {} has non-hex size fields",
                self.pos.saturating_sub(110)
            )));
        };
        let namesize = usize::try_from(namesize).unwrap_or(usize::MAX);
        if namesize == 0 || namesize > MAX_NAME {
            return Err(Stop::Corrupt(format!(
                "cpio header at stream offset {} has name size {namesize}, expected 1..={MAX_NAME}",
                self.pos.saturating_sub(110)
            )));
        }
        self.buf.clear();
        self.state = State::Name { namesize, filesize };
        Ok(())
    }

    /// Feed a member's decompressed output; the `Write` side used by the decoders.
    fn sink(&mut self) -> Sink<'_> {
        Sink { w: self }
    }
}

/// `Write` adapter: decompressor output → cpio walker, bounded by `max_initramfs_bytes`.
struct Sink<'a> {
    w: &'a mut Walker,
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.w.max_bytes.saturating_sub(self.w.listing.cpio_bytes);
        let allowed = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
        let part = buf.get(..allowed).unwrap_or_default();
        if let Err(stop) = self.w.feed(part, false) {
            self.w.stop = Some(stop);
            return Err(io::Error::other("cpio walk stopped"));
        }
        if allowed < buf.len() {
            self.w.listing.truncated = true;
            self.w.stop = Some(Stop::Limit);
            return Err(io::Error::other("initramfs byte limit reached"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn hex_head(d: &[u8]) -> String {
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Decompress one member starting at byte `off` of the image into the walker. Returns the
/// compressed bytes consumed (as far as the decoder tells) or the decoder's error message.
fn decompress(
    c: Compression,
    data: &mut Lazy<'_>,
    off: usize,
    w: &mut Walker,
) -> Result<usize, String> {
    if c == Compression::Lz4Legacy {
        // The legacy framing is parsed here over one slice.
        let input = data.rest(off);
        let mut r: &[u8] = input;
        return match lz4_legacy(&mut r, w) {
            Ok(()) => Ok(input.len().saturating_sub(r.len())),
            Err(e) => Err(e.to_string()),
        };
    }
    let mut r = LazyReader { data, pos: off };
    let res: io::Result<()> = match c {
        Compression::Gzip => {
            let mut d = flate2::bufread::GzDecoder::new(&mut r);
            io::copy(&mut d, &mut w.sink()).map(drop)
        }
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(&mut r)
            .and_then(|mut d| d.window_log_max(ZSTD_MAX_WINDOW_LOG).map(|()| d))
        {
            Ok(mut d) => io::copy(&mut d, &mut w.sink()).map(drop),
            Err(e) => Err(io::Error::other(format!(
                "cannot start the zstd decoder: {e}"
            ))),
        },
        Compression::Xz => {
            let mut d = lzma_rust2::XzReader::new_mem_limit(&mut r, false, LZMA_MEM_LIMIT_KIB);
            io::copy(&mut d, &mut w.sink()).map(drop)
        }
        Compression::Lzma => {
            match lzma_rust2::LzmaReader::new_mem_limit(&mut r, LZMA_MEM_LIMIT_KIB, None) {
                Ok(mut d) => io::copy(&mut d, &mut w.sink()).map(drop),
                Err(e) => Err(e),
            }
        }
        Compression::Lz4 => {
            let mut d = lz4_flex::frame::FrameDecoder::new(&mut r);
            io::copy(&mut d, &mut w.sink()).map(drop)
        }
        Compression::Bzip2 => {
            let mut d = bzip2_rs::DecoderReader::new(&mut r);
            io::copy(&mut d, &mut w.sink()).map(drop)
        }
        Compression::Lz4Legacy | Compression::None | Compression::Lzo => Err(io::Error::other(
            format!("{} members are not decoded", c.name()),
        )),
    };
    match res {
        Ok(()) => Ok(r.pos.saturating_sub(off)),
        Err(e) => Err(e.to_string()),
    }
}

/// The kernel's lz4 legacy framing (`lib/decompress_unlz4.c`): magic, then blocks of
/// `u32 le compressed size` + data, each decoding to at most 8 MiB; a repeated magic starts a
/// new frame; the stream ends at the end of input, a zero size, or fewer than 4 bytes.
fn lz4_legacy(r: &mut &[u8], w: &mut Walker) -> io::Result<()> {
    *r = r.get(LZ4_LEGACY_MAGIC.len()..).unwrap_or_default();
    let bound = LZ4_LEGACY_BLOCK
        .saturating_add(LZ4_LEGACY_BLOCK / 255)
        .saturating_add(16);
    let mut out = vec![0u8; LZ4_LEGACY_BLOCK];
    loop {
        let Some(size) = imgcheck_core::bytes::u32_le(r, 0) else {
            *r = &[];
            return Ok(());
        };
        if r.get(..4) == Some(LZ4_LEGACY_MAGIC) {
            *r = r.get(4..).unwrap_or_default();
            continue;
        }
        if size == 0 {
            return Ok(());
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > bound {
            return Err(io::Error::other(format!(
                "lz4 legacy block of {size} bytes exceeds the bound of {bound} for 8 MiB blocks"
            )));
        }
        let end = 4usize.saturating_add(size);
        let Some(block) = r.get(4..end) else {
            return Err(io::Error::other(format!(
                "lz4 legacy block of {size} bytes runs past the end of data ({} left)",
                r.len().saturating_sub(4)
            )));
        };
        let n = lz4_flex::block::decompress_into(block, &mut out)
            .map_err(|e| io::Error::other(format!("lz4 legacy block: {e}")))?;
        *r = r.get(end..).unwrap_or_default();
        w.sink().write_all(out.get(..n).unwrap_or_default())?;
    }
}

/// List the files of an initramfs image held in `data`.
pub fn list(data: &[u8], limits: &Limits) -> Result<Listing, InitramfsError> {
    let mut src = data;
    list_from(&mut src, limits, None, CHUNK)
}

/// List the files of the initramfs image `src` reads, ending the walk as soon as every module
/// in `wanted` (names as [`module_name`] gives them) has been listed — the listing then says
/// `stopped_early`, and neither the rest of the image is read nor decompressed. An empty
/// `wanted` lists everything.
pub fn list_until(
    src: &mut dyn ChunkSource,
    limits: &Limits,
    wanted: &BTreeSet<String>,
) -> Result<Listing, InitramfsError> {
    let wanted = Some(wanted.clone()).filter(|w| !w.is_empty());
    list_from(src, limits, wanted, CHUNK)
}

fn list_from(
    src: &mut dyn ChunkSource,
    limits: &Limits,
    wanted: Option<BTreeSet<String>>,
    chunk: usize,
) -> Result<Listing, InitramfsError> {
    let mut data = Lazy {
        src,
        buf: Vec::new(),
        chunk: chunk.max(1),
        eof: false,
        error: None,
    };
    let mut w = Walker::new(limits);
    w.wanted = wanted;
    let res = walk(&mut data, &mut w);
    // A read error ends the walk like the end of the file would: it is the cause of whatever
    // the walk then met.
    match (res, data.error) {
        (r, None) => r,
        (Ok(l), Some(_)) if l.stopped_early => Ok(l),
        (Ok(mut l), Some(e)) => {
            l.error = Some(match l.error.take() {
                Some(then) => format!("{e}; then {then}"),
                None => e,
            });
            Ok(l)
        }
        (Err(_), Some(e)) => Err(InitramfsError::Corrupt {
            member: "image",
            offset: 0,
            message: e,
        }),
    }
}

fn walk(data: &mut Lazy<'_>, w: &mut Walker) -> Result<Listing, InitramfsError> {
    let mut off = 0usize;
    loop {
        // NUL padding between members.
        loop {
            data.ensure(off.saturating_add(4096));
            let avail = data.buf.get(off..).unwrap_or_default();
            let zeros = avail.iter().take_while(|&&b| b == 0).count();
            off = off.saturating_add(zeros);
            if zeros < avail.len() || data.eof {
                break;
            }
        }
        data.ensure(off.saturating_add(HEADER_LEN));
        let Some(head) = data.buf.get(off..).filter(|r| !r.is_empty()) else {
            break;
        };
        let offset = u64::try_from(off).unwrap_or(u64::MAX);
        let fail = |w: &mut Walker, member: &'static str, message: String| {
            if w.listing.paths.is_empty() {
                Err(InitramfsError::Corrupt {
                    member,
                    offset,
                    message,
                })
            } else {
                let mut l = std::mem::take(&mut w.listing);
                l.error = Some(format!("{member} member at offset {offset}: {message}"));
                Ok(l)
            }
        };
        if head.starts_with(&NEWC_MAGIC[..4]) {
            w.listing.compressions.push(Compression::None);
            w.start_stream();
            // Feed the uncompressed archive piece by piece until it ends.
            let mut pos = off;
            loop {
                data.ensure(pos.saturating_add(data.chunk));
                let piece = data.buf.get(pos..).unwrap_or_default();
                if piece.is_empty() {
                    break;
                }
                let piece_len = piece.len();
                match w.feed(piece, true) {
                    Ok(n) => {
                        pos = pos.saturating_add(n);
                        if w.ended || n < piece_len {
                            break;
                        }
                    }
                    Err(Stop::Limit | Stop::Wanted) => return Ok(std::mem::take(&mut w.listing)),
                    Err(Stop::Corrupt(m)) => return fail(w, "cpio", m),
                }
            }
            if w.state != State::Between {
                return fail(w, "cpio", "archive ends inside an entry".to_string());
            }
            off = pos.max(off.saturating_add(1));
            continue;
        }
        let Some(c) = Compression::detect(head) else {
            let head = hex_head(head);
            if w.listing.compressions.is_empty() {
                return Err(InitramfsError::Unrecognised { offset, head });
            }
            return fail(
                w,
                "trailing",
                format!("unrecognised data (first bytes {head})"),
            );
        };
        w.listing.compressions.push(c);
        w.start_stream();
        w.stop = None;
        match decompress(c, data, off, w) {
            Ok(n) => {
                if w.state != State::Between {
                    return fail(w, c.name(), "cpio archive ends inside an entry".to_string());
                }
                if n == 0 {
                    break;
                }
                off = off.saturating_add(n);
            }
            Err(msg) => {
                return match w.stop.take() {
                    Some(Stop::Limit | Stop::Wanted) => Ok(std::mem::take(&mut w.listing)),
                    Some(Stop::Corrupt(m)) => fail(w, c.name(), m),
                    None => fail(w, c.name(), msg),
                };
            }
        }
    }
    if w.listing.compressions.is_empty() {
        return Err(InitramfsError::Empty);
    }
    Ok(std::mem::take(&mut w.listing))
}

/// Module name of a kernel module path (`…/virtio_blk.ko`, `.ko.xz`, `.ko.zst`, `.ko.gz`),
/// with `-` normalised to `_` as modprobe does; `None` for other files.
pub fn module_name(path: &str) -> Option<String> {
    let base = path.rsplit('/').next()?;
    let stem = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .find_map(|s| base.strip_suffix(s))?;
    if stem.is_empty() {
        return None;
    }
    Some(stem.replace('-', "_"))
}

/// Names of the kernel modules in a listing.
pub fn modules_in(listing: &Listing) -> BTreeSet<String> {
    listing
        .paths
        .iter()
        .filter_map(|p| module_name(p))
        .collect()
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions
)]
pub(crate) mod tests {
    use super::*;

    /// Build a newc archive of `(name, data)` entries, with a trailer.
    pub(crate) fn newc(entries: &[(&str, &[u8])], magic: &[u8; 6]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ino = 1u32;
        let mut push = |out: &mut Vec<u8>, name: &str, data: &[u8], mode: u32| {
            let mut h = String::from_utf8(magic.to_vec()).unwrap();
            let fields = [
                ino,
                mode,
                0,
                0,
                1,
                0,
                data.len() as u32,
                0,
                0,
                0,
                0,
                name.len() as u32 + 1,
                0,
            ];
            ino += 1;
            for f in fields {
                h.push_str(&format!("{f:08X}"));
            }
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out.extend_from_slice(data);
            while out.len() % 4 != 0 {
                out.push(0);
            }
        };
        for (n, d) in entries {
            push(&mut out, n, d, 0o100644);
        }
        push(&mut out, TRAILER, b"", 0);
        out
    }

    fn main_archive() -> Vec<u8> {
        newc(
            &[
                (".", b""),
                ("./init", b"#!/bin/sh\n"),
                (
                    "usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko",
                    b"mod",
                ),
                (
                    "usr/lib/modules/6.1.0/kernel/drivers/nvme/host/nvme-core.ko.xz",
                    b"x",
                ),
                (
                    "lib/modules/6.1.0/kernel/drivers/net/virtio_net.ko.zst",
                    b"abcde",
                ),
            ],
            NEWC_MAGIC,
        )
    }

    fn microcode() -> Vec<u8> {
        newc(
            &[
                ("kernel", b""),
                ("kernel/x86/microcode/GenuineIntel.bin", &[7u8; 37]),
            ],
            CRC_MAGIC,
        )
    }

    fn gzip(d: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }

    fn check_main(l: &Listing) {
        let m = modules_in(l);
        assert!(m.contains("virtio_blk"), "{m:?}");
        assert!(m.contains("nvme_core"), "{m:?}");
        assert!(m.contains("virtio_net"), "{m:?}");
        assert!(l.paths.contains(&"init".to_string()));
        assert!(l.complete(), "{l:?}");
    }

    #[test]
    fn microcode_then_gzip_with_padding() {
        let mut img = microcode();
        img.extend_from_slice(&[0u8; 512]);
        img.extend_from_slice(&gzip(&main_archive()));
        img.extend_from_slice(&[0u8; 3]);
        let l = list(&img, &Limits::default()).unwrap();
        assert_eq!(l.compressions, vec![Compression::None, Compression::Gzip]);
        assert_eq!(l.paths[0], "kernel");
        assert_eq!(l.paths[1], "kernel/x86/microcode/GenuineIntel.bin");
        check_main(&l);
        // "." normalises to nothing and is not listed.
        assert_eq!(l.paths.len(), 2 + 4);
    }

    #[test]
    fn plain_cpio_with_two_archives_in_one_stream() {
        let mut s = main_archive();
        s.extend_from_slice(&[0u8; 8]);
        s.extend_from_slice(&newc(&[("extra/file", b"1")], NEWC_MAGIC));
        let img = gzip(&s);
        let l = list(&img, &Limits::default()).unwrap();
        assert!(l.paths.contains(&"extra/file".to_string()));
        check_main(&l);
    }

    #[test]
    fn xz_lzma_zstd_lz4_members() {
        let a = main_archive();
        // xz, as the crate writes it (CRC32 check as the kernel requires).
        let mut opts = lzma_rust2::XzOptions::with_preset(1);
        opts.set_check_sum_type(lzma_rust2::CheckType::Crc32);
        let mut xw = lzma_rust2::XzWriter::new(Vec::new(), opts).unwrap();
        xw.write_all(&a).unwrap();
        let xz = xw.finish().unwrap();
        let l = list(&xz, &Limits::default()).unwrap();
        assert_eq!(l.compressions, vec![Compression::Xz]);
        check_main(&l);

        let lo = lzma_rust2::LzmaOptions::with_preset(1);
        let mut lw = lzma_rust2::LzmaWriter::new_use_header(Vec::new(), &lo, None).unwrap();
        lw.write_all(&a).unwrap();
        let lz = lw.finish().unwrap();
        let l = list(&lz, &Limits::default()).unwrap();
        assert_eq!(l.compressions, vec![Compression::Lzma]);
        check_main(&l);

        let z =
            ruzstd::encoding::compress_to_vec(&a[..], ruzstd::encoding::CompressionLevel::Fastest);
        let mut img = microcode();
        img.extend_from_slice(&z);
        let l = list(&img, &Limits::default()).unwrap();
        assert_eq!(l.compressions, vec![Compression::None, Compression::Zstd]);
        check_main(&l);

        let mut fw = lz4_flex::frame::FrameEncoder::new(Vec::new());
        fw.write_all(&a).unwrap();
        let f = fw.finish().unwrap();
        let l = list(&f, &Limits::default()).unwrap();
        assert_eq!(l.compressions, vec![Compression::Lz4]);
        check_main(&l);

        // lz4 legacy: magic + (size, block)* in two blocks, the way `lz4 -l` writes.
        let (p1, p2) = a.split_at(a.len() / 2);
        let mut leg = LZ4_LEGACY_MAGIC.to_vec();
        for part in [p1, p2] {
            let b = lz4_flex::block::compress(part);
            leg.extend_from_slice(&(b.len() as u32).to_le_bytes());
            leg.extend_from_slice(&b);
        }
        let l = list(&leg, &Limits::default()).unwrap();
        assert_eq!(l.compressions, vec![Compression::Lz4Legacy]);
        check_main(&l);
    }

    #[test]
    fn bzip2_sample_made_with_the_cli() {
        // tests/data/initrd-bzip2.cpio.bz2: `cpio -o -H newc | bzip2 -9` of a tree with
        // init and a virtio_scsi.ko (see tests/data/README.md).
        let data = include_bytes!("../tests/data/initrd-bzip2.cpio.bz2");
        let l = list(data, &Limits::default()).unwrap();
        assert_eq!(l.compressions, vec![Compression::Bzip2]);
        assert!(modules_in(&l).contains("virtio_scsi"), "{l:?}");
        assert!(l.complete());
    }

    #[test]
    fn limits_truncate() {
        let img = gzip(&main_archive());
        let limits = Limits {
            max_initramfs_bytes: 200,
            ..Limits::default()
        };
        let l = list(&img, &limits).unwrap();
        assert!(l.truncated);
        assert!(!l.complete());
        assert!(l.cpio_bytes <= 200);
    }

    #[test]
    fn errors() {
        assert_eq!(
            list(&[0u8; 64], &Limits::default()),
            Err(InitramfsError::Empty)
        );
        assert!(matches!(
            list(b"hello world", &Limits::default()),
            Err(InitramfsError::Unrecognised { offset: 0, .. })
        ));
        // Truncated gzip: nothing listed yet → error.
        let g = gzip(&main_archive());
        let e = list(&g[..20], &Limits::default()).unwrap_err();
        assert!(
            matches!(e, InitramfsError::Corrupt { member: "gzip", .. }),
            "{e}"
        );
        // cpio size field larger than the data: the archive ends inside an entry.
        let mut a = newc(&[("big", b"")], NEWC_MAGIC);
        a[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"7FFFFFFF");
        let l = list(&a[..120], &Limits::default()).unwrap();
        assert_eq!(l.paths, vec!["big".to_string()]);
        assert_eq!(
            l.error.as_deref(),
            Some("cpio member at offset 0: archive ends inside an entry")
        );
        let e = list(&a[..100], &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "initramfs cpio member at offset 0: archive ends inside an entry"
        );
        // Bad name size.
        let mut a = newc(&[("x", b"")], NEWC_MAGIC);
        a[6 + 11 * 8..6 + 12 * 8].copy_from_slice(b"00100000");
        assert!(list(&a, &Limits::default()).is_err());
        // Junk after a good member is reported with the partial listing.
        let mut img = microcode();
        img.extend_from_slice(b"junk!");
        let l = list(&img, &Limits::default()).unwrap();
        assert_eq!(l.paths.len(), 2);
        assert!(
            l.error.as_deref().unwrap().contains("unrecognised data"),
            "{l:?}"
        );
        // lzo is recognised but not decoded.
        let mut img = microcode();
        img.extend_from_slice(&[0x89, b'L', b'Z', b'O', 0, 0]);
        let l = list(&img, &Limits::default()).unwrap();
        assert!(l.error.as_deref().unwrap().contains("lzo"), "{l:?}");
    }

    #[test]
    fn corrupt_inputs_never_panic() {
        let mut img = microcode();
        img.extend_from_slice(&gzip(&main_archive()));
        let mut seed = 0x1234_5678u32;
        for i in 0..2000 {
            let mut m = img.clone();
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let pos = (seed as usize) % m.len();
            m[pos] ^= (seed >> 16) as u8 | 1;
            let cut = if i % 3 == 0 {
                (seed as usize >> 3) % m.len()
            } else {
                m.len()
            };
            let _ = list(&m[..cut], &Limits::default());
        }
    }

    /// A source that counts what was asked of it and can fail past an offset.
    struct Counting<'a> {
        data: &'a [u8],
        read: u64,
        fail_from: Option<u64>,
    }

    impl ChunkSource for Counting<'_> {
        fn read_chunk(&mut self, offset: u64, max: usize) -> io::Result<Vec<u8>> {
            if self.fail_from.is_some_and(|f| offset >= f) {
                return Err(io::Error::other("injected read error"));
            }
            let mut d = self.data;
            let v = d.read_chunk(offset, max)?;
            self.read += v.len() as u64;
            Ok(v)
        }
    }

    /// microcode + gzip(main) + zstd(a big padding archive holding one more module).
    fn three_members() -> Vec<u8> {
        let mut img = microcode();
        img.extend(gzip(&main_archive()));
        img.extend([0u8; 8]);
        let filler: Vec<u8> = (0..400_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let tail = newc(
            &[
                ("usr/lib/firmware/blob.bin", &filler),
                (
                    "usr/lib/modules/6.1.0/kernel/drivers/scsi/virtio_scsi.ko",
                    b"m",
                ),
            ],
            NEWC_MAGIC,
        );
        img.extend(zstd::encode_all(&tail[..], 1).unwrap());
        img
    }

    #[test]
    fn every_chunk_size_gives_the_same_listing() {
        let img = three_members();
        let whole = list(&img, &Limits::default()).unwrap();
        assert!(whole.complete(), "{whole:?}");
        assert_eq!(
            whole.compressions,
            [Compression::None, Compression::Gzip, Compression::Zstd]
        );
        assert!(modules_in(&whole).contains("virtio_scsi"));
        for chunk in [1usize, 3, 7, 110, 111, 512, 4099, 65536] {
            let mut src: &[u8] = &img;
            let l = list_from(&mut src, &Limits::default(), None, chunk).unwrap();
            assert_eq!(l, whole, "chunk {chunk}");
        }
    }

    #[test]
    fn list_until_stops_reading_and_decoding_once_the_wanted_modules_are_seen() {
        let img = three_members();
        let wanted: BTreeSet<String> = ["virtio_blk", "virtio_net"].map(String::from).into();
        let mut src = Counting {
            data: &img,
            read: 0,
            fail_from: None,
        };
        let l = list_until(&mut src, &Limits::default(), &wanted).unwrap();
        assert!(l.stopped_early && !l.complete(), "{l:?}");
        assert!(modules_in(&l).is_superset(&wanted));
        assert!(
            !modules_in(&l).contains("virtio_scsi"),
            "listed past the stop: {l:?}"
        );
        // The zstd member (most of the image) was never pulled in with 1 MiB chunks? It is
        // smaller than a chunk here, so count with small chunks instead.
        let mut src = Counting {
            data: &img,
            read: 0,
            fail_from: None,
        };
        let l2 = list_from(&mut src, &Limits::default(), Some(wanted.clone()), 64).unwrap();
        assert_eq!(l2, l);
        assert!(
            src.read < img.len() as u64 / 2,
            "read {} of {}",
            src.read,
            img.len()
        );
        // A module that is not there: the whole image is listed.
        let absent: BTreeSet<String> = ["virtio_blk", "nvme"].map(String::from).into();
        let mut src: &[u8] = &img;
        let l3 = list_until(&mut src, &Limits::default(), &absent).unwrap();
        assert!(l3.complete() && !l3.stopped_early);
        assert_eq!(l3, list(&img, &Limits::default()).unwrap());
        // An empty wanted set lists everything.
        let mut src: &[u8] = &img;
        assert!(list_until(&mut src, &Limits::default(), &BTreeSet::new())
            .unwrap()
            .complete());
    }

    #[test]
    fn a_read_error_keeps_what_was_listed_and_names_the_offset() {
        let img = three_members();
        let mut src = Counting {
            data: &img,
            read: 0,
            fail_from: Some(256),
        };
        let l = list_from(&mut src, &Limits::default(), None, 128).unwrap();
        assert!(!l.complete());
        let e = l.error.unwrap();
        assert!(e.contains("injected read error"), "{e}");
        let mut src = Counting {
            data: &img,
            read: 0,
            fail_from: Some(0),
        };
        let e = list_from(&mut src, &Limits::default(), None, 128).unwrap_err();
        assert!(
            e.to_string().contains("reading the image at offset 0"),
            "{e}"
        );
    }

    #[test]
    fn module_names() {
        assert_eq!(
            module_name("a/b/virtio_blk.ko").as_deref(),
            Some("virtio_blk")
        );
        assert_eq!(
            module_name("xen-blkfront.ko.xz").as_deref(),
            Some("xen_blkfront")
        );
        assert_eq!(module_name("nvme.ko.zst").as_deref(), Some("nvme"));
        assert_eq!(module_name("ena.ko.gz").as_deref(), Some("ena"));
        assert_eq!(module_name("modules.dep"), None);
        assert_eq!(module_name(".ko"), None);
        assert_eq!(normalise("./usr//lib/./x"), "usr/lib/x");
    }
}
