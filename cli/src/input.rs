//! Reading newline-delimited events: files (plain or gzip) or standard input, in batches of
//! lines, with a bound on line length so that one huge line cannot exhaust memory.
//!
//! Owns line splitting (`\n`, with a trailing `\r` dropped), the line-length limit, gzip
//! detection (by magic bytes), and turning read errors (a truncated `.gz`) into a last line that
//! the scan reports. A large plain file is mapped into memory and its lines are cut where they
//! lie: no copy of the bytes at all (pages the scan is done with are handed back, see
//! [`release`], so memory stays flat however large the file). Other inputs are read straight
//! into the caller's batch buffer and cut there: no copy but the kernel's, except for the one
//! line a batch ends in the middle of. Must not: parse JSON.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::{Deref, Range};
use std::path::Path;
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use memmap2::Mmap;

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

/// Files at least this large are mapped rather than read (below, reading costs less than
/// setting up the mapping).
const MAP_FROM: u64 = 4 << 20;

/// The bytes a batch's lines are in.
pub enum Text {
    /// A buffer the lines were read into (its length is its size, not what it holds).
    Owned(Vec<u8>),
    /// The whole input file, mapped.
    Mapped(Arc<Mmap>),
}

impl Deref for Text {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Text::Owned(buf) => buf,
            Text::Mapped(map) => map,
        }
    }
}

enum Source {
    Read(Box<dyn Read + Send>),
    /// A mapped file, where the next line starts, and the file (to see whether it shrank).
    Mapped(Arc<Mmap>, usize, Option<File>),
}

/// Lines of one input, numbered from 1.
pub struct Lines {
    source: Source,
    max_line: usize,
    number: u64,
    done: bool,
    /// The start of the line the last batch ended in the middle of.
    carry: Vec<u8>,
    /// The length so far of a line longer than the limit, whose bytes are being skipped.
    skipping: Option<usize>,
    /// For [`Lines::next_line`]: a batch read, and the lines of it not yet returned.
    single: (Option<Text>, VecDeque<(u64, Piece)>),
}

impl Lines {
    /// Lines of `reader`, which is read in large pieces (a `BufReader` hands those straight
    /// through, bypassing its buffer).
    pub fn new(reader: Box<dyn Read + Send>, max_line: usize) -> Lines {
        Lines::of(Source::Read(reader), max_line)
    }

    fn of(source: Source, max_line: usize) -> Lines {
        Lines {
            source,
            max_line,
            number: 0,
            done: false,
            carry: Vec::new(),
            skipping: None,
            single: (None, VecDeque::new()),
        }
    }

    /// Opens a file, decompressing it if it is gzip; a large plain file is mapped.
    pub fn open(path: &Path, max_line: usize) -> io::Result<Lines> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_file() && meta.len() >= MAP_FROM {
            // SAFETY: the mapping is read-only, and the bytes are only read. A file that
            // another process truncates while its pages are read would fault (SIGBUS) where
            // `read` sees a short file: each batch first checks the file's size, and the scan
            // goes on reading if it shrank (see `batch`), which leaves only the batches already
            // cut at that moment exposed.
            #[allow(unsafe_code)]
            if let Ok(map) = unsafe { Mmap::map(&file) }
                && !map.starts_with(&GZIP_MAGIC)
            {
                let _ = map.advise(memmap2::Advice::Sequential);
                return Ok(Lines::of(Source::Mapped(Arc::new(map), 0, Some(file)), max_line));
            }
        }
        Ok(Lines::new(gzip_aware(BufReader::with_capacity(1 << 16, file))?, max_line))
    }

    /// Standard input, decompressing it if it is gzip.
    pub fn stdin(max_line: usize) -> io::Result<Lines> {
        Ok(Lines::new(gzip_aware(BufReader::with_capacity(1 << 16, io::stdin()))?, max_line))
    }

    /// Reads the next line into a fresh buffer: `(line number, line)`.
    pub fn next_line(&mut self) -> Option<(u64, Line)> {
        if self.single.1.is_empty() {
            let buf = match self.single.0.take() {
                Some(Text::Owned(buf)) => buf,
                _ => Vec::new(),
            };
            let mut batch = Vec::new();
            let (text, _) = self.batch(|| buf, &mut batch, 1, 1);
            self.single = (Some(text), batch.into());
        }
        let (number, piece) = self.single.1.pop_front()?;
        let text = self.single.0.as_deref().unwrap_or_default();
        Some((
            number,
            match piece {
                Piece::Text(range) => Line::Text(text[range].to_vec()),
                Piece::TooLong(len) => Line::TooLong(len),
                Piece::Broken(reason) => Line::Broken(reason),
            },
        ))
    }

    /// The next batch of lines: at least `max_lines` lines or `max_bytes` bytes (or the rest of
    /// the input), appended to `lines` as `(line number, where the line is in the text)`; returns
    /// the text they are in and the part of it they span (for [`release`]). A mapped file's
    /// lines are where they lie; other inputs are read into the buffer `buffer` gives (see
    /// [`Lines::fill`]).
    pub fn batch(
        &mut self,
        buffer: impl FnOnce() -> Vec<u8>,
        lines: &mut Vec<(u64, Piece)>,
        max_lines: usize,
        max_bytes: usize,
    ) -> (Text, Range<usize>) {
        if let Source::Mapped(map, at, file @ Some(_)) = &mut self.source
            && file.as_ref().and_then(|f| f.metadata().ok()).is_some_and(|m| m.len() < map.len() as u64)
            && let Some(mut file) = file.take()
        {
            // Shrunk under the scan (truncated by a log rotation?): read what is left instead.
            use std::io::{Seek, SeekFrom};
            let reader: Box<dyn Read + Send> = match file.seek(SeekFrom::Start(*at as u64)) {
                Ok(_) => Box::new(BufReader::with_capacity(1 << 16, file)),
                Err(_) => Box::new(io::empty()),
            };
            self.source = Source::Read(reader);
        }
        let Source::Mapped(map, at, _) = &mut self.source else {
            let mut buf = buffer();
            self.fill(&mut buf, lines, max_lines, max_bytes);
            return (Text::Owned(buf), 0..0);
        };
        let (map, start) = (Arc::clone(map), *at);
        let first = lines.len();
        let mut line = start;
        for newline in memchr::memchr_iter(b'\n', &map[start..]) {
            let end = start + newline;
            let cut = self.cut(&map, line, end);
            lines.push(cut);
            line = end + 1;
            if lines.len() - first >= max_lines || line - start >= max_bytes {
                break;
            }
        }
        if lines.len() - first < max_lines && line - start < max_bytes && line < map.len() {
            // The last line, without a newline.
            let cut = self.cut(&map, line, map.len());
            lines.push(cut);
            line = map.len();
        }
        if let Source::Mapped(_, at, _) = &mut self.source {
            *at = line;
        }
        (Text::Mapped(map), start..line)
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
            let Source::Read(reader) = &mut self.source else {
                unreachable!("a mapped file is cut in place, not read")
            };
            let n = match reader.read(&mut buf[filled..filled + READ]) {
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

/// Hands the pages of `text` the scan is done with back to the system: those wholly inside
/// `done`, which must follow everything done before (the batches of a mapped file, in order).
/// Without it, a mapped file's pages would count towards the scan's memory until the end.
pub fn release(text: &Text, done: Range<usize>) {
    // Aligned for pages up to 64 KiB.
    const ALIGN: usize = 64 << 10;
    let Text::Mapped(map) = text else { return };
    let start = done.start / ALIGN * ALIGN;
    let end = done.end / ALIGN * ALIGN;
    if start < end {
        // SAFETY: a read-only shared mapping of a file: after MADV_DONTNEED its pages read
        // the file again, the same bytes, so no reader (here or in another thread) sees a
        // change; and the pages before `done.end` belong to batches already finished.
        #[allow(unsafe_code)]
        let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Wraps `reader` in a gzip decoder if it starts with the gzip magic bytes.
fn gzip_aware<R: BufRead + Send + 'static>(mut reader: R) -> io::Result<Box<dyn Read + Send>> {
    let is_gzip = reader.fill_buf()?.starts_with(&GZIP_MAGIC);
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

    /// Every batch of `lines`, the lines copied out.
    fn all_batches(lines: &mut Lines, max_lines: usize, max_bytes: usize) -> Vec<(u64, Line)> {
        let mut buf = b"reused".to_vec();
        let mut got = Vec::new();
        loop {
            let mut batch = Vec::new();
            let (text, span) = lines.batch(|| std::mem::take(&mut buf), &mut batch, max_lines, max_bytes);
            if batch.is_empty() {
                return got;
            }
            if let Text::Mapped(_) = text {
                let first =
                    batch.iter().find_map(|(_, p)| if let Piece::Text(r) = p { Some(r.start) } else { None });
                assert!(first.is_none_or(|start| span.start <= start), "{span:?} holds the batch");
            }
            got.extend(batch.into_iter().map(|(n, piece)| match piece {
                Piece::Text(r) => (n, Line::Text(text[r].to_vec())),
                Piece::TooLong(len) => (n, Line::TooLong(len)),
                Piece::Broken(reason) => (n, Line::Broken(reason)),
            }));
            release(&text, span);
            if let Text::Owned(b) = text {
                buf = b;
            }
        }
    }

    /// A file of this test's own.
    fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("detect-input-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A mapped file gives the lines that reading it gives, in batches of any size, with or
    /// without a last newline.
    #[test]
    fn mapped_files_give_the_lines_read_ones_do() {
        for input in [
            format!("a\r\n\n{}\nbcd\r\n{}\nlast\r", "y".repeat(50), "z".repeat(25)),
            format!("{}\nx\n\n", "w".repeat(11)),
            String::new(),
            "\n".into(),
        ] {
            let path = temp_file("mapped", input.as_bytes());
            let file = File::open(&path).unwrap();
            for (max_lines, max_bytes) in [(1, 1), (2, 3), (3, 100), (100, 100)] {
                // SAFETY: the test's own file, which nothing else writes.
                #[allow(unsafe_code)]
                let mapped = match unsafe { Mmap::map(&file) } {
                    Ok(map) => Source::Mapped(Arc::new(map), 0, None),
                    // An empty file cannot be mapped on every system.
                    Err(_) if input.is_empty() => continue,
                    Err(e) => panic!("{e}"),
                };
                let got = all_batches(&mut Lines::of(mapped, 10), max_lines, max_bytes);
                let read =
                    all_batches(&mut Lines::new(Box::new(Tiny(io::Cursor::new(input.clone()))), 10), 1, 1);
                assert_eq!(got, read, "{input:?} in batches of {max_lines} lines, {max_bytes} bytes");
            }
            std::fs::remove_file(path).unwrap();
        }
    }

    /// A file just over the mapping threshold: its path, its one repeated line, how many.
    fn large_file(name: &str) -> (std::path::PathBuf, String, usize) {
        let line = format!("{{\"n\": \"{}\"}}\n", "v".repeat(100));
        let count = (MAP_FROM as usize / line.len()) + 10;
        (temp_file(name, line.repeat(count).as_bytes()), line, count)
    }

    /// `open` maps a large plain file, not a gzip one, and both read as they should.
    #[test]
    fn large_files_are_mapped_unless_gzip() {
        let (plain, line, count) = large_file("large");
        let mut lines = Lines::open(&plain, 1000).unwrap();
        assert!(matches!(lines.source, Source::Mapped(..)));
        let got = all_batches(&mut lines, 512, 1 << 20);
        assert_eq!(got.len(), count);
        assert!(got.iter().enumerate().all(|(i, (n, l))| *n == i as u64 + 1 && *l == text(line.trim_end())));
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(line.repeat(count).as_bytes()).unwrap();
        let mut gz = enc.finish().unwrap();
        gz.resize(MAP_FROM as usize + 1, 0); // past the threshold (the stream's end is earlier)
        let gzip = temp_file("large.gz", &gz);
        let lines = Lines::open(&gzip, 1000).unwrap();
        assert!(matches!(lines.source, Source::Read(_)));
        std::fs::remove_file(plain).unwrap();
        std::fs::remove_file(gzip).unwrap();
    }

    /// A mapped file that shrinks during the scan is read from there on: the lines left, and
    /// no fault on the pages that are gone.
    #[test]
    fn a_file_truncated_during_the_scan_is_read_to_its_new_end() {
        let (path, line, _) = large_file("shrinks");
        let mut lines = Lines::open(&path, 1000).unwrap();
        let mut first = Vec::new();
        let _ = lines.batch(Vec::new, &mut first, 512, 1 << 30);
        assert_eq!(first.len(), 512);
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len((line.len() * 600 + 5) as u64).unwrap();
        let rest = all_batches(&mut lines, 512, 1 << 20);
        assert!(matches!(lines.source, Source::Read(_)));
        assert_eq!(rest.len(), 600 - 512 + 1, "the lines left and the cut one");
        assert_eq!(rest[0], (513, text(line.trim_end())));
        assert_eq!(rest.last().unwrap(), &(601, text(&line[..5])));
        std::fs::remove_file(path).unwrap();
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
