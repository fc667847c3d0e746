//! Reading newline-delimited events: files (plain or gzip) or standard input, in batches of
//! lines, with a bound on line length so that one huge line cannot exhaust memory.
//!
//! Owns line splitting (`\n`, with a trailing `\r` dropped), the line-length limit, gzip
//! detection (by magic bytes), and turning read errors (a truncated `.gz`) into a last line that
//! the scan reports. The input is read straight into the caller's batch buffer and cut there:
//! no copy of the bytes but the kernel's, except for the one line a batch ends in the middle of.
//! Must not: parse JSON.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

/// One line of input, or why it is not one.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(Vec<u8>),
    /// Longer than the limit; its bytes were skipped, not kept.
    TooLong(usize),
    /// The input broke off here (a truncated gzip stream, a read error).
    Broken(String),
}

/// The most one `read` asks for: a batch ends after the read in which it reached its size, so
/// this bounds how far past it a batch goes.
const READ: usize = 256 << 10;

/// Lines of one input, numbered from 1.
pub struct Lines {
    reader: Box<dyn Read + Send>,
    max_line: usize,
    number: u64,
    done: bool,
    /// The start of the line the last batch ended in the middle of.
    carry: Vec<u8>,
    /// The length so far of a line longer than the limit, whose bytes are being skipped.
    skipping: Option<usize>,
    /// For [`Lines::next_line`]: a batch read, and the lines of it not yet returned.
    single: (Vec<u8>, VecDeque<(u64, Piece)>),
}

impl Lines {
    /// Lines of `reader`, which is read in large pieces (a `BufReader` hands those straight
    /// through, bypassing its buffer).
    pub fn new(reader: Box<dyn Read + Send>, max_line: usize) -> Lines {
        Lines {
            reader,
            max_line,
            number: 0,
            done: false,
            carry: Vec::new(),
            skipping: None,
            single: (Vec::new(), VecDeque::new()),
        }
    }

    /// Opens a file, decompressing it if it is gzip.
    pub fn open(path: &Path, max_line: usize) -> io::Result<Lines> {
        Ok(Lines::new(gzip_aware(BufReader::with_capacity(1 << 16, File::open(path)?))?, max_line))
    }

    /// Standard input, decompressing it if it is gzip.
    pub fn stdin(max_line: usize) -> io::Result<Lines> {
        Ok(Lines::new(gzip_aware(BufReader::with_capacity(1 << 16, io::stdin()))?, max_line))
    }

    /// Reads the next line into a fresh buffer: `(line number, line)`.
    pub fn next_line(&mut self) -> Option<(u64, Line)> {
        if self.single.1.is_empty() {
            let mut buf = std::mem::take(&mut self.single.0);
            let mut batch = Vec::new();
            self.fill(&mut buf, &mut batch, 1, 1);
            self.single = (buf, batch.into());
        }
        let (number, piece) = self.single.1.pop_front()?;
        Some((
            number,
            match piece {
                Piece::Text(range) => Line::Text(self.single.0[range].to_vec()),
                Piece::TooLong(len) => Line::TooLong(len),
                Piece::Broken(reason) => Line::Broken(reason),
            },
        ))
    }

    /// Reads lines into `buf` until at least `max_lines` lines or `max_bytes` bytes are in it
    /// (or the input ends), appending `(line number, where the line is in buf)` to `lines`.
    /// `buf`'s length is its usable size, not what it holds (so that reusing a buffer costs no
    /// zeroing): lines are read into it from the start, it grows for a line that does not fit,
    /// and bytes past the last line are left over.
    pub fn fill(
        &mut self,
        buf: &mut Vec<u8>,
        lines: &mut Vec<(u64, Piece)>,
        max_lines: usize,
        max_bytes: usize,
    ) {
        let first = lines.len();
        let mut filled = self.carry.len();
        if buf.len() < filled + READ {
            buf.resize(filled + READ, 0);
        }
        buf[..filled].copy_from_slice(&self.carry);
        self.carry.clear();
        // Where the line being read starts.
        let mut line = 0;
        while !self.done && lines.len() - first < max_lines && line < max_bytes {
            if buf.len() - filled < READ {
                buf.resize(filled + READ, 0);
            }
            let n = match self.reader.read(&mut buf[filled..filled + READ]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // The line it broke off in is the broken one.
                    self.done = true;
                    self.skipping = None;
                    self.number += 1;
                    lines.push((self.number, Piece::Broken(describe(&e))));
                    return;
                }
            };
            if n == 0 {
                self.done = true;
                if line < filled || self.skipping.is_some() {
                    lines.push(self.cut(buf, line, filled));
                }
                return;
            }
            for newline in memchr::memchr_iter(b'\n', &buf[filled..filled + n]) {
                let end = filled + newline;
                lines.push(self.cut(buf, line, end));
                line = end + 1;
            }
            filled += n;
            // A line over the limit: count its bytes and drop them.
            if filled - line > self.max_line {
                *self.skipping.get_or_insert(0) += filled - line;
                filled = line;
            }
        }
        self.carry.extend_from_slice(&buf[line..filled]);
    }

    /// The line `start..end` of `buf` (without its newline), numbered.
    fn cut(&mut self, buf: &[u8], start: usize, end: usize) -> (u64, Piece) {
        self.number += 1;
        let piece = match self.skipping.take() {
            Some(skipped) => Piece::TooLong(skipped + end - start),
            None if end - start > self.max_line => Piece::TooLong(end - start),
            None if end > start && buf[end - 1] == b'\r' => Piece::Text(start..end - 1),
            None => Piece::Text(start..end),
        };
        (self.number, piece)
    }
}

/// Where [`Lines::fill`] put a line, or why it is not one.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// The line's bytes in the buffer.
    Text(std::ops::Range<usize>),
    /// Longer than the limit; its bytes were skipped, not kept.
    TooLong(usize),
    /// The input broke off here (a truncated gzip stream, a read error).
    Broken(String),
}

/// Wraps `reader` in a gzip decoder if it starts with the gzip magic bytes.
fn gzip_aware<R: BufRead + Send + 'static>(mut reader: R) -> io::Result<Box<dyn Read + Send>> {
    let is_gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if is_gzip { Box::new(MultiGzDecoder::new(reader)) } else { Box::new(reader) })
}

fn describe(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        "the input ends early (a truncated gzip stream?)".into()
    } else {
        format!("read error: {e}")
    }
}

/// The size in bytes of a file, for progress; `None` for standard input.
pub fn size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Reads all of `r` through a tiny buffer, so that lines straddle reads.
    fn lines_of(r: impl Read + Send + 'static, max: usize) -> Vec<(u64, Line)> {
        let mut lines = Lines::new(Box::new(Tiny(gzip_aware(BufReader::with_capacity(7, r)).unwrap())), max);
        std::iter::from_fn(|| lines.next_line()).collect()
    }
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn text(s: &str) -> Line {
        Line::Text(s.as_bytes().to_vec())
    }

    #[test]
    fn splits_lines_and_drops_carriage_returns() {
        let got = lines_of(io::Cursor::new(b"a\r\n\nbcd\nlast".to_vec()), 100);
        assert_eq!(got, [(1, text("a")), (2, text("")), (3, text("bcd")), (4, text("last"))]);
        assert!(lines_of(io::Cursor::new(Vec::new()), 100).is_empty());
        assert_eq!(lines_of(io::Cursor::new(b"x\n".to_vec()), 100), [(1, text("x"))]);
    }

    /// Lines read in batches into one buffer are the lines read one by one, however the reads
    /// cut them and wherever a batch ends.
    #[test]
    fn batches_hold_the_lines() {
        let input = format!("a\r\n\n{}\nbcd\r\n{}\nlast\r", "y".repeat(50), "z".repeat(25));
        for (max_lines, max_bytes) in [(1, 1), (2, 3), (3, 100), (100, 100)] {
            let mut lines = Lines::new(Box::new(Tiny(io::Cursor::new(input.clone()))), 10);
            let mut buf = b"reused".to_vec();
            let mut got = Vec::new();
            loop {
                let mut batch = Vec::new();
                lines.fill(&mut buf, &mut batch, max_lines, max_bytes);
                if batch.is_empty() {
                    break;
                }
                got.extend(batch.into_iter().map(|(n, piece)| match piece {
                    Piece::Text(r) => (n, Line::Text(buf[r].to_vec())),
                    Piece::TooLong(len) => (n, Line::TooLong(len)),
                    Piece::Broken(reason) => (n, Line::Broken(reason)),
                }));
            }
            let expected = [
                (1, text("a")),
                (2, text("")),
                (3, Line::TooLong(50)),
                (4, text("bcd")),
                (5, Line::TooLong(25)),
                (6, text("last")),
            ];
            assert_eq!(got, expected, "batches of {max_lines} lines, {max_bytes} bytes");
        }
    }

    /// A reader that returns at most 7 bytes a read.
    struct Tiny<R>(R);

    impl<R: Read> Read for Tiny<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(7);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn long_lines_are_skipped_and_counted() {
        let input = format!("short\n{}\nafter\n", "y".repeat(50));
        let got = lines_of(io::Cursor::new(input.into_bytes()), 10);
        assert_eq!(got, [(1, text("short")), (2, Line::TooLong(50)), (3, text("after"))]);
    }

    #[test]
    fn gzip_is_detected_and_truncation_reported() {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        for i in 0..1000 {
            writeln!(enc, "{{\"n\": {i}}}").unwrap();
        }
        let gz = enc.finish().unwrap();
        let got = lines_of(io::Cursor::new(gz.clone()), 100);
        assert_eq!(got.len(), 1000);
        assert_eq!(got[999], (1000, text("{\"n\": 999}")));
        let truncated = lines_of(io::Cursor::new(gz[..gz.len() / 2].to_vec()), 100);
        let (n, last) = truncated.last().unwrap();
        assert!(matches!(last, Line::Broken(reason) if reason.contains("truncated")), "{last:?}");
        assert_eq!(*n as usize, truncated.len());
    }
}
