//! [`SourceReader`]: a `Read + Seek` cursor over a [`BlockSource`], for third-party parsers.
//!
//! Each cursor has its own position, so give each worker its own cursor over a shared source.

use crate::source::BlockSource;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

/// A `Read + Seek` view of a shared source. There is no `Write`: a crate that demands one gets a
/// separate adapter that refuses every write.
#[derive(Clone)]
pub struct SourceReader {
    source: Arc<dyn BlockSource>,
    pos: u64,
}

impl SourceReader {
    /// A cursor at offset 0.
    pub fn new(source: Arc<dyn BlockSource>) -> SourceReader {
        SourceReader { source, pos: 0 }
    }

    /// Current position.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

impl Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.source.len();
        if self.pos >= len || buf.is_empty() {
            return Ok(0);
        }
        let avail = len.saturating_sub(self.pos);
        let n = usize::try_from(avail).unwrap_or(usize::MAX).min(buf.len());
        let dst = buf.get_mut(..n).unwrap_or_default();
        self.source.read_exact_at(dst, self.pos)?;
        self.pos = self
            .pos
            .saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        Ok(n)
    }
}

impl Seek for SourceReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.source.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::MemSource;

    #[test]
    fn read_seek() {
        let src: Arc<dyn BlockSource> = Arc::new(MemSource::new(b"0123456789".to_vec()));
        let mut r = SourceReader::new(src);
        let mut b = [0u8; 4];
        r.seek(SeekFrom::End(-3)).unwrap();
        assert_eq!(r.read(&mut b).unwrap(), 3);
        assert_eq!(&b[..3], b"789");
        assert_eq!(r.read(&mut b).unwrap(), 0);
        assert!(r.seek(SeekFrom::Current(-100)).is_err());
        r.seek(SeekFrom::Start(2)).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "23456789");
    }
}
