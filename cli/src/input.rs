//! Reading newline-delimited events: files (plain or gzip) or standard input, line by line,
//! with a bound on line length so that one huge line cannot exhaust memory.
//!
//! Owns line splitting (`\n`, with a trailing `\r` dropped), the line-length limit, gzip
//! detection (by magic bytes), and turning read errors (a truncated `.gz`) into a last line that
//! the scan reports. Must not: parse JSON.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
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

/// Lines of one input, numbered from 1.
pub struct Lines {
    reader: Box<dyn BufRead + Send>,
    max_line: usize,
    number: u64,
    done: bool,
}

impl Lines {
    pub fn new(reader: Box<dyn BufRead + Send>, max_line: usize) -> Lines {
        Lines { reader, max_line, number: 0, done: false }
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
        let mut buf = Vec::new();
        let (number, piece) = self.next_line_into(&mut buf)?;
        Some((
            number,
            match piece {
                Piece::Text(range) => {
                    buf.truncate(range.end);
                    Line::Text(buf)
                }
                Piece::TooLong(len) => Line::TooLong(len),
                Piece::Broken(reason) => Line::Broken(reason),
            },
        ))
    }

    /// Reads the next line onto the end of `buf` (many lines share one buffer, so that reading
    /// allocates per batch, not per line): `(line number, where it is in buf)`.
    pub fn next_line_into(&mut self, buf: &mut Vec<u8>) -> Option<(u64, Piece)> {
        if self.done {
            return None;
        }
        let start = buf.len();
        let mut len = 0usize;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    self.number += 1;
                    buf.truncate(start);
                    return Some((self.number, Piece::Broken(describe(&e))));
                }
            };
            if chunk.is_empty() {
                self.done = true;
                if len == 0 {
                    return None;
                }
                break;
            }
            let (take, newline) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if len + take <= self.max_line {
                buf.extend_from_slice(&chunk[..take]);
            }
            len += take;
            self.reader.consume(take + usize::from(newline));
            if newline {
                break;
            }
        }
        self.number += 1;
        if len > self.max_line {
            buf.truncate(start);
            return Some((self.number, Piece::TooLong(len)));
        }
        if buf.last() == Some(&b'\r') && buf.len() > start {
            buf.pop();
        }
        Some((self.number, Piece::Text(start..buf.len())))
    }
}

/// Where [`Lines::next_line_into`] put a line, or why it is not one.
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
fn gzip_aware<R: BufRead + Send + 'static>(mut reader: R) -> io::Result<Box<dyn BufRead + Send>> {
    let is_gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if is_gzip {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(reader)))
    } else {
        Box::new(reader)
    })
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
        let mut lines = Lines::new(gzip_aware(BufReader::with_capacity(7, r)).unwrap(), max);
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

    /// Lines read into one shared buffer are the lines read one by one.
    #[test]
    fn lines_share_a_buffer() {
        let input = format!("a\r\n\n{}\nbcd\r\nlast\r", "y".repeat(50));
        let mut lines =
            Lines::new(gzip_aware(BufReader::with_capacity(7, io::Cursor::new(input.clone()))).unwrap(), 10);
        let mut buf = b"kept".to_vec();
        let mut got = Vec::new();
        while let Some((n, piece)) = lines.next_line_into(&mut buf) {
            got.push((
                n,
                match piece {
                    Piece::Text(r) => Line::Text(buf[r].to_vec()),
                    Piece::TooLong(len) => Line::TooLong(len),
                    Piece::Broken(reason) => Line::Broken(reason),
                },
            ));
        }
        assert_eq!(got, lines_of(io::Cursor::new(input.into_bytes()), 10));
        assert_eq!(buf, b"kepta".iter().chain(b"bcdlast").copied().collect::<Vec<_>>());
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
