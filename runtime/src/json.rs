//! A validating JSON scanner that finds values without building them.
//!
//! Owns the JSON grammar as `serde_json` accepts it (the same inputs are accepted and
//! rejected: UTF-8, strict numbers, no control characters in strings, valid escapes and
//! surrogate pairs, at most 127 nested containers, nothing after the value), the [`Fill`]
//! interface through which a reader picks the members it wants during that one pass, and
//! decoding of single scalars (strings, numbers exactly as `serde_json` reads them).
//! Must not: allocate, or know which members are wanted (see `view`); only [`unescape`] builds a
//! string, for the rare escaped string a rule reads.

use std::ops::Range;

use crate::value::Num;

/// Why the text is not JSON (a message in `serde_json`'s words, and where).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub message: &'static str,
    pub offset: usize,
}

/// What kind of value a range holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool(bool),
    Number,
    /// A string (the range includes the quotes); `escaped` when it holds a backslash.
    String {
        escaped: bool,
    },
    Array,
    Object,
}

/// `serde_json`'s limit: the 128th nested container is an error.
const MAX_DEPTH: usize = 127;

/// What a reader of the document wants from the one pass over it.
pub trait Fill {
    /// A member of an object this reader asked for (`object` is [`EVENT`] for the document
    /// itself): `Some((target, descend))` to be told its value (as `target`) and, with
    /// `descend`, to be asked about its members too if it is an object.
    fn member(
        &mut self,
        text: &[u8],
        object: u32,
        key: Range<usize>,
        key_escaped: bool,
    ) -> Option<(u32, bool)>;

    /// The value of a member that [`Fill::member`] chose (its range, quotes included).
    fn value(&mut self, target: u32, value: Range<usize>, kind: Kind);
}

/// The document's own object, for [`Fill::member`].
pub const EVENT: u32 = u32::MAX;

impl<F: Fill> Fill for &mut F {
    #[inline(always)]
    fn member(
        &mut self,
        text: &[u8],
        object: u32,
        key: Range<usize>,
        key_escaped: bool,
    ) -> Option<(u32, bool)> {
        (**self).member(text, object, key, key_escaped)
    }

    #[inline(always)]
    fn value(&mut self, target: u32, value: Range<usize>, kind: Kind) {
        (**self).value(target, value, kind)
    }
}

/// Validation only.
impl Fill for () {
    fn member(&mut self, _: &[u8], _: u32, _: Range<usize>, _: bool) -> Option<(u32, bool)> {
        None
    }

    fn value(&mut self, _: u32, _: Range<usize>, _: Kind) {}
}

/// The position of the first string character at or after `i` that needs attention (`"`, `\\`,
/// a control character or a non-ASCII byte); `None` when there is none before the end. Many
/// bytes at a time: the scanning of strings is most of the work of reading an event.
#[inline(always)]
fn plain_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    debug_assert!(i <= bytes.len());
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        while i + 16 <= bytes.len() {
            let found = special16(bytes, i);
            if found != 0 {
                return Some(i + found.trailing_zeros() as usize);
            }
            i += 16;
        }
        // The last few bytes: the text's last sixteen, less those already seen (no loop, no copy).
        if let Some(last) = bytes.len().checked_sub(16) {
            // `i` is in `last + 1..=last + 16`, so the shift is under 32.
            let found = special16(bytes, last) >> (i - last);
            return if found != 0 { Some(i + found.trailing_zeros() as usize) } else { None };
        }
    }
    plain_end_words(bytes, i)
}

/// The bits of the special bytes (see [`plain_end`]) of `bytes[at..at + 16]`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn special16(bytes: &[u8], at: usize) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    assert!(at + 16 <= bytes.len());
    // SAFETY: SSE2 is enabled (the `cfg` above); `at..at + 16` is in bounds (asserted, which the
    // callers' own bounds let the compiler drop), and `loadu` has no alignment requirement. As
    // signed bytes, the non-ASCII ones are negative, so `< 0x20` finds them and the control
    // characters at once.
    #[allow(unsafe_code)]
    unsafe {
        let v = _mm_loadu_si128(bytes.as_ptr().add(at).cast::<__m128i>());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        let other = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), other)) as u32
    }
}

/// [`plain_end`] eight bytes at a time, for texts under sixteen bytes and targets without SSE2.
#[inline(never)]
fn plain_end_words(bytes: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let special = |word: u64| {
        let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
        let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
        let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        quote | backslash | control | (word & HIGHS)
    };
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = special(word);
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..].iter().position(|&c| special_byte(c)).map(|n| i + n)
}

#[inline]
fn special_byte(c: u8) -> bool {
    c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c)
}

struct Scanner<'a, F> {
    b: &'a [u8],
    i: usize,
    fill: F,
    /// Why the scan stopped, once it has: the methods return only [`Stop`], which costs nothing
    /// to pass around.
    error: Option<Error>,
}

/// The scan failed: see [`Scanner::error`].
#[derive(Debug)]
struct Stop;

impl<F: Fill> Scanner<'_, F> {
    #[cold]
    #[inline(never)]
    fn err<T>(&mut self, message: &'static str) -> Result<T, Stop> {
        self.error = Some(Error { message, offset: self.i });
        Err(Stop)
    }

    /// The error the scan stopped on.
    fn stopped(&mut self, _: Stop) -> Error {
        self.error.take().expect("every Stop comes from `err`, which records the error")
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The byte at the current position once whitespace is skipped. Compact JSON has none
    /// between tokens, and every whitespace byte is at most `b' '`: one compare in the common case.
    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        match self.b.get(self.i) {
            Some(&c) if c > b' ' => Some(c),
            _ => self.next_after_ws(),
        }
    }

    #[inline(never)]
    fn next_after_ws(&mut self) -> Option<u8> {
        self.ws();
        self.peek()
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// A value at the current position (after any whitespace); returns its kind. `depth` counts
    /// open containers.
    fn value(&mut self, depth: usize) -> Result<Kind, Stop> {
        match self.peek() {
            Some(b'"') => self.string().map(|escaped| Kind::String { escaped }),
            Some(b' ' | b'\t' | b'\n' | b'\r') => {
                self.ws();
                self.value(depth)
            }
            Some(b'{') => {
                self.object(depth + 1, None)?;
                Ok(Kind::Object)
            }
            Some(b'[') => {
                self.array(depth + 1)?;
                Ok(Kind::Array)
            }
            Some(b't') => self.literal(b"true", Kind::Bool(true)),
            Some(b'f') => self.literal(b"false", Kind::Bool(false)),
            Some(b'n') => self.literal(b"null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(|()| Kind::Number),
            Some(_) => self.err("expected value"),
            None => self.err("EOF while parsing a value"),
        }
    }

    #[inline(always)]
    fn literal<const N: usize>(&mut self, word: &[u8; N], kind: Kind) -> Result<Kind, Stop> {
        // A compare of fixed length: word loads, no call.
        if self.b.get(self.i..self.i + N) == Some(word.as_slice()) {
            self.i += N;
            Ok(kind)
        } else {
            self.err("expected ident")
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, within the range of a float.
    fn number(&mut self) -> Result<(), Stop> {
        let start = self.i;
        let fraction_or_exponent = self.number_grammar()?;
        let text = &self.b[start..self.i];
        // Short integers always fit; anything else might overflow a float.
        if fraction_or_exponent || text.len() > 19 {
            let text = std::str::from_utf8(text).unwrap_or_default(); // digits, signs, `.`, `e`: ASCII
            if number(text).is_none() {
                return self.err("number out of range");
            }
        }
        Ok(())
    }

    /// Returns whether the number has a fraction or an exponent.
    fn number_grammar(&mut self) -> Result<bool, Stop> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return self.err("invalid number");
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return self.err("invalid number"),
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            float = true;
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return self.err("invalid number");
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            float = true;
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return self.err("invalid number");
            }
            self.digits();
        }
        Ok(float)
    }

    #[inline]
    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    /// A string at the current `"`; returns whether it holds escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<bool, Stop> {
        // The common case: plain characters up to the closing quote.
        match plain_end(self.b, self.i + 1) {
            Some(at) if self.b[at] == b'"' => {
                self.i = at + 1;
                Ok(false)
            }
            end => self.string_rest(end),
        }
    }

    /// The rest of a string from its first character that needs attention (`end`, as
    /// [`plain_end`] found it): escapes, non-ASCII characters, errors.
    #[inline(never)]
    fn string_rest(&mut self, mut end: Option<usize>) -> Result<bool, Stop> {
        let mut escaped = false;
        loop {
            let Some(at) = end else {
                self.i = self.b.len();
                return self.err("EOF while parsing a string");
            };
            self.i = at;
            match self.b[at] {
                b'"' => {
                    self.i += 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                c if c >= 0x80 => self.non_ascii()?,
                _ => return self.err("control character (\\u0000-\\u001F) found while parsing a string"),
            }
            end = plain_end(self.b, self.i);
        }
    }

    /// The run of non-ASCII bytes at the current position, in a string: valid UTF-8 never mixes
    /// ASCII into a multi-byte character, so the run must be valid on its own.
    #[inline(never)]
    fn non_ascii(&mut self) -> Result<(), Stop> {
        let run = self.b[self.i..].iter().position(|&c| c < 0x80).unwrap_or(self.b.len() - self.i);
        if std::str::from_utf8(&self.b[self.i..self.i + run]).is_err() {
            return self.err("invalid unicode code point");
        }
        self.i += run;
        Ok(())
    }

    /// The escape at the current `\`.
    #[inline(never)]
    fn escape(&mut self) -> Result<(), Stop> {
        self.i += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.i += 1;
                Ok(())
            }
            Some(b'u') => {
                self.i += 1;
                let unit = self.hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        if self.b[self.i..].starts_with(b"\\u") {
                            self.i += 2;
                            if !(0xDC00..=0xDFFF).contains(&self.hex4()?) {
                                return self.err("lone leading surrogate in hex escape");
                            }
                            Ok(())
                        } else {
                            self.err("unexpected end of hex escape")
                        }
                    }
                    0xDC00..=0xDFFF => self.err("lone leading surrogate in hex escape"),
                    _ => Ok(()),
                }
            }
            Some(_) => self.err("invalid escape"),
            None => self.err("EOF while parsing a string"),
        }
    }

    fn hex4(&mut self) -> Result<u32, Stop> {
        let Some(digits) = self.b.get(self.i..self.i + 4) else {
            return self.err("EOF while parsing a string");
        };
        let mut unit = 0;
        for &d in digits {
            let v = (d as char).to_digit(16);
            let Some(v) = v else { return self.err("invalid escape") };
            unit = unit * 16 + v;
        }
        self.i += 4;
        Ok(unit)
    }

    fn array(&mut self, depth: usize) -> Result<(), Stop> {
        if depth > MAX_DEPTH {
            return self.err("recursion limit exceeded");
        }
        self.i += 1;
        if self.next() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value(depth)?;
            match self.next() {
                Some(b',') => {
                    self.i += 1;
                    if self.next() == Some(b']') {
                        return self.err("trailing comma");
                    }
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(_) => return self.err("expected `,` or `]`"),
                None => return self.err("EOF while parsing a list"),
            }
        }
    }

    /// The object at the current `{`; with a `target`, [`Fill`] chooses among its members.
    fn object(&mut self, depth: usize, target: Option<u32>) -> Result<(), Stop> {
        if depth > MAX_DEPTH {
            return self.err("recursion limit exceeded");
        }
        self.i += 1;
        match self.next() {
            Some(b'"') => {}
            Some(b'}') => {
                self.i += 1;
                return Ok(());
            }
            Some(_) => return self.err("key must be a string"),
            None => return self.err("EOF while parsing an object"),
        }
        loop {
            // At a key's `"`.
            let key_start = self.i + 1;
            let key_escaped = self.string()?;
            let chosen = target
                .and_then(|object| self.fill.member(self.b, object, key_start..self.i - 1, key_escaped));
            // Compact JSON: the `:` right after the key.
            if self.peek() == Some(b':') {
                self.i += 1;
            } else {
                match self.next() {
                    Some(b':') => self.i += 1,
                    Some(_) => return self.err("expected `:`"),
                    None => return self.err("EOF while parsing an object"),
                }
            }
            match chosen {
                // Most values are strings: scanned here, without the call to `value`.
                None if self.peek() == Some(b'"') => {
                    self.string()?;
                }
                None => {
                    self.value(depth)?;
                }
                Some((node, descend)) => {
                    let first = self.next();
                    let start = self.i;
                    let kind = if first == Some(b'"') {
                        Kind::String { escaped: self.string()? }
                    } else if descend && first == Some(b'{') {
                        self.object(depth + 1, Some(node))?;
                        Kind::Object
                    } else {
                        self.value(depth)?
                    };
                    self.fill.value(node, start..self.i, kind);
                }
            }
            // Compact JSON: `,"` (the next key) or `}` right after the value.
            match self.b.get(self.i..self.i + 2) {
                Some(b",\"") => {
                    self.i += 1;
                    continue;
                }
                Some([b'}', _]) => {
                    self.i += 1;
                    return Ok(());
                }
                _ => {}
            }
            match self.next() {
                Some(b',') => {
                    self.i += 1;
                    match self.next() {
                        Some(b'"') => {}
                        Some(b'}') => return self.err("trailing comma"),
                        Some(_) => return self.err("key must be a string"),
                        None => return self.err("EOF while parsing an object"),
                    }
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(_) => return self.err("expected `,` or `}`"),
                None => return self.err("EOF while parsing an object"),
            }
        }
    }
}

/// Scans a whole document that must be one object, offering its members to `fill`; returns
/// the text, now known to be UTF-8.
pub fn document<'t>(bytes: &'t [u8], fill: &mut impl Fill) -> Result<&'t str, DocumentError> {
    if bytes.len() >= u32::MAX as usize {
        return Err(DocumentError::TooLarge);
    }
    let mut s = Scanner { b: bytes, i: 0, fill, error: None };
    s.document().map_err(|e| match std::str::from_utf8(bytes) {
        // Bytes that are not UTF-8 are the more useful complaint, wherever the scan stopped.
        Err(utf8) => DocumentError::InvalidUtf8 { valid_up_to: utf8.valid_up_to() },
        Ok(_) => e,
    })?;
    // The scanner accepts only ASCII outside strings, and inside strings checks every run of
    // non-ASCII bytes with `from_utf8`: the whole text is UTF-8.
    debug_assert!(std::str::from_utf8(bytes).is_ok());
    // SAFETY: validated above, as the scan accepted the text.
    #[allow(unsafe_code)]
    Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
}

impl<F: Fill> Scanner<'_, F> {
    fn document(&mut self) -> Result<(), DocumentError> {
        self.ws();
        match self.peek() {
            Some(b'{') => {}
            Some(_) => {
                let found = self.value(0).map_err(|stop| DocumentError::Json(self.stopped(stop)))?;
                self.ws();
                if self.i < self.b.len() {
                    return Err(DocumentError::Json(Error {
                        message: "trailing characters",
                        offset: self.i,
                    }));
                }
                return Err(DocumentError::NotAnObject(found));
            }
            None => {
                return Err(DocumentError::Json(Error { message: "EOF while parsing a value", offset: 0 }));
            }
        }
        self.object(1, Some(EVENT)).map_err(|stop| DocumentError::Json(self.stopped(stop)))?;
        self.ws();
        if self.i < self.b.len() {
            return Err(DocumentError::Json(Error { message: "trailing characters", offset: self.i }));
        }
        Ok(())
    }
}

/// Why a document is not an object of members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentError {
    Json(Error),
    /// Not UTF-8 (the bytes before `valid_up_to` are).
    InvalidUtf8 {
        valid_up_to: usize,
    },
    /// Valid JSON, but not an object.
    NotAnObject(Kind),
    /// 4 GiB or more.
    TooLarge,
}

/// The number in `text`, as `serde_json` reads it: an integer when it has no fraction or
/// exponent and fits 64 bits, else the nearest float. `None` when out of the float range.
pub fn number(text: &str) -> Option<Num> {
    let integer = !text.contains(['.', 'e', 'E']);
    if integer {
        if let Ok(u) = text.parse::<u64>() {
            return Some(if let Ok(i) = i64::try_from(u) { Num::Int(i) } else { Num::UInt(u) });
        }
        if text.starts_with('-') {
            if text == "-0" {
                return Some(Num::Float(-0.0));
            }
            if let Ok(i) = text.parse::<i64>() {
                return Some(Num::Int(i));
            }
        }
    }
    let f: f64 = text.parse().ok()?;
    f.is_finite().then_some(Num::Float(f))
}

/// The decoded contents of a string with escapes (`text` is the inside, without quotes).
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex = |chars: &mut std::str::Chars| -> u32 {
                    chars.by_ref().take(4).fold(0, |acc, d| acc * 16 + d.to_digit(16).unwrap_or(0))
                };
                let unit = hex(&mut chars);
                let code = if (0xD800..0xDC00).contains(&unit) {
                    chars.nth(1); // the `\u` of the low surrogate, validated by the scanner
                    let low = hex(&mut chars);
                    0x10000 + ((unit - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF)
                } else {
                    unit
                };
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The elements of the array `text` (validated JSON, e.g. a value the scan found): each one's
/// range in `text` and kind.
pub fn elements(text: &str) -> Elements<'_> {
    let mut s = Scanner { b: text.as_bytes(), i: 0, fill: (), error: None };
    s.ws();
    s.i += 1; // `[`
    Elements { s, first: true }
}

/// See [`elements`].
pub struct Elements<'a> {
    s: Scanner<'a, ()>,
    first: bool,
}

impl Iterator for Elements<'_> {
    type Item = (Range<usize>, Kind);

    fn next(&mut self) -> Option<(Range<usize>, Kind)> {
        let s = &mut self.s;
        s.ws();
        match s.peek()? {
            b']' => return None,
            b',' if !self.first => {
                s.i += 1;
                s.ws();
            }
            _ => {}
        }
        self.first = false;
        let start = s.i;
        // Validated text: the scan cannot fail (depth was checked when it was validated).
        let kind = s.value(0).ok()?;
        Some((start..s.i, kind))
    }
}

/// The members of the object `text` (validated JSON): each key's range (inside the quotes),
/// whether it holds escapes, the value's range and kind.
pub fn members(text: &str) -> Members<'_> {
    let mut s = Scanner { b: text.as_bytes(), i: 0, fill: (), error: None };
    s.ws();
    s.i += 1; // `{`
    Members { s, first: true }
}

/// See [`members`].
pub struct Members<'a> {
    s: Scanner<'a, ()>,
    first: bool,
}

impl Iterator for Members<'_> {
    type Item = (Range<usize>, bool, Range<usize>, Kind);

    fn next(&mut self) -> Option<Self::Item> {
        let s = &mut self.s;
        s.ws();
        match s.peek()? {
            b'}' => return None,
            b',' if !self.first => {
                s.i += 1;
                s.ws();
            }
            _ => {}
        }
        self.first = false;
        let key_start = s.i + 1;
        let key_escaped = s.string().ok()?;
        let key = key_start..s.i - 1;
        s.ws();
        s.i += 1; // `:`
        s.ws();
        let start = s.i;
        let kind = s.value(0).ok()?;
        Some((key, key_escaped, start..s.i, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The scanner accepts exactly what serde_json accepts.
    #[test]
    fn accepts_and_rejects_like_serde_json() {
        let deep = |n: usize| format!("{{\"a\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        let cases = [
            r#"{}"#,
            r#" { "a" : 1 } "#,
            r#"{"a":[1,2,{"b":null}],"c":true,"d":false}"#,
            r#"{"a":-0}"#,
            r#"{"a":1e-400}"#,
            r#"{"a":1.7976931348623157e309}"#,
            r#"{"a":123456789012345678901234567890}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":+1}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":1,}"#,
            r#"{"a":1}x"#,
            r#"{"a":1} "#,
            r#"{"a" 1}"#,
            r#"{1:2}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\ud800\u0041"}"#,
            r#"{"a":"\udc00"}"#,
            r#"{"a":"\ud83d\ude00"}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\"\t\"}",
            r#"{"a":"\u00e9\/\n"}"#,
            r#"{"a":tru}"#,
            r#"{"a":nul}"#,
            r#"["a"]"#,
            r#""a""#,
            "",
            "   ",
            r#"{"a":"#,
            r#"{"a":"b"#,
            r#"{"a":[1,2"#,
            &deep(125),
            &deep(126),
            &deep(127),
            &deep(300),
        ];
        for case in cases {
            let serde = serde_json::from_str::<Value>(case).map(|v| v.is_object());
            let ours = match document(case.as_bytes(), &mut ()) {
                Ok(_) => Ok(true),
                Err(DocumentError::NotAnObject(_)) => Ok(false),
                Err(e) => Err(e),
            };
            assert_eq!(serde.is_ok(), ours.is_ok(), "{case:?}: serde {serde:?}, ours {ours:?}");
            if let (Ok(a), Ok(b)) = (&serde, &ours) {
                assert_eq!(a, b, "{case:?}");
            }
        }
    }

    #[test]
    fn rejects_bytes_that_are_not_utf8_like_serde_json() {
        let cases: [&[u8]; 8] = [
            b"{\"a\": \"\xff\"}",
            b"{\"a\": \"\xc3\"}",
            b"{\"a\": \"\xc3\xa9\xe4\xb8\xad\"}",
            b"{\"\xed\xa0\x80\": 1}",
            b"{\"a\": \xff}",
            b"{\"a\": 1}\xff",
            b"{\"a\": \"\xf0\x9f\x98\x80\"}",
            b"{\"a\": \"\xe4\xb8\"}",
        ];
        for case in cases {
            let serde = serde_json::from_slice::<Value>(case);
            let ours = document(case, &mut ());
            assert_eq!(serde.is_ok(), ours.is_ok(), "{case:?}: serde {serde:?}, ours {ours:?}");
            if ours.is_err() {
                assert!(matches!(ours, Err(DocumentError::InvalidUtf8 { .. })), "{case:?}: {ours:?}");
            }
        }
    }

    /// Records what it is offered, and asks for the members of `d` only.
    #[derive(Default)]
    struct Record(Vec<(u32, String, bool)>, Vec<(u32, String, Kind)>);

    impl Fill for Record {
        fn member(
            &mut self,
            text: &[u8],
            object: u32,
            key: Range<usize>,
            escaped: bool,
        ) -> Option<(u32, bool)> {
            let key = String::from_utf8(text[key].to_vec()).unwrap();
            let target = self.0.len() as u32;
            let descend = key == "d";
            self.0.push((object, key, escaped));
            Some((target, descend))
        }

        fn value(&mut self, target: u32, value: Range<usize>, kind: Kind) {
            self.1.push((target, format!("{value:?}"), kind));
        }
    }

    #[test]
    fn offers_members_and_their_values() {
        let text = r#"{"a": 1, "b\"c": "x\ty", "d": {"e": [{"not": "offered"}], "f": {"g": null}}, "h": {}}"#;
        let mut record = Record::default();
        document(text.as_bytes(), &mut record).unwrap();
        let keys: Vec<_> = record.0.iter().map(|(o, k, e)| (*o, k.as_str(), *e)).collect();
        assert_eq!(
            keys,
            [
                (EVENT, "a", false),
                (EVENT, r#"b\"c"#, true),
                (EVENT, "d", false),
                (2, "e", false),
                (2, "f", false),
                (EVENT, "h", false)
            ]
        );
        let kinds: Vec<_> = record.1.iter().map(|(t, _, k)| (*t, *k)).collect();
        assert_eq!(
            kinds,
            [
                (0, Kind::Number),
                (1, Kind::String { escaped: true }),
                (3, Kind::Array),
                (4, Kind::Object),
                (2, Kind::Object),
                (5, Kind::Object)
            ]
        );
        assert_eq!(record.1[0].1, "6..7");
    }

    #[test]
    fn numbers_like_serde_json() {
        for text in [
            "0",
            "-0",
            "42",
            "-42",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1.5",
            "1e3",
            "2.5E-3",
            "123456789012345678901234567890",
            "1e-400",
            "0.1",
            "3.141592653589793",
            "1e308",
        ] {
            let serde: Value = serde_json::from_str(text).unwrap();
            let n = serde.as_number().unwrap();
            let expected = if let Some(i) = n.as_i64() {
                Num::Int(i)
            } else if let Some(u) = n.as_u64() {
                Num::UInt(u)
            } else {
                Num::Float(n.as_f64().unwrap())
            };
            let ours = number(text).unwrap();
            assert!(
                format!("{ours:?}") == format!("{expected:?}"),
                "{text}: ours {ours:?}, serde {expected:?}"
            );
        }
        assert_eq!(number("1e400"), None);
    }

    fn plain_run(bytes: &[u8]) -> Option<usize> {
        plain_end(bytes, 0)
    }

    #[test]
    fn plain_runs_stop_at_quotes_backslashes_and_control_characters() {
        for text in [
            "",
            "abc",
            "abcdefgh",
            "abcdefghi\"",
            "ab\"cd",
            "0123456789\\x",
            "é ü \u{1}x",
            "abcdefg\u{7f}\u{80}\u{1f}",
        ] {
            let expected = text.bytes().position(|c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c));
            assert_eq!(plain_run(text.as_bytes()), expected, "{text:?}");
        }
        // Every byte at every position of a long run (the wide, eight-byte and last steps),
        // against the rule written out here rather than the scanner's own `special_byte`.
        let special = |c: u8| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c);
        for byte in 0..=u8::MAX {
            for at in 0..40 {
                let mut bytes = vec![b'x'; 40];
                bytes[at] = byte;
                let expected = if special(byte) { Some(at) } else { None };
                assert_eq!(plain_run(&bytes), expected, "{byte:#x} at {at}");
                assert_eq!(plain_run(&bytes[at..]), expected.map(|_| 0), "{byte:#x} first");
            }
        }
    }

    #[test]
    fn plain_ends_from_every_start() {
        // Lengths on both sides of the sixteen-byte loads (texts under sixteen bytes take the
        // eight-byte path, longer ones end on the overlapping load of their last sixteen).
        let special = |c: u8| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c);
        for len in 0..50 {
            for at in (0..len).map(Some).chain([None]) {
                for byte in [b'"', b'\\', 0x1f, 0x80, 0xff, b'x'] {
                    let mut bytes = vec![b'a'; len];
                    if let Some(at) = at {
                        bytes[at] = byte;
                    }
                    for start in 0..=len {
                        let expected = (start..len).find(|&i| special(bytes[i]));
                        assert_eq!(
                            plain_end(&bytes, start),
                            expected,
                            "{len} bytes, {byte:#x} at {at:?}, from {start}"
                        );
                    }
                }
            }
        }
    }

    /// Accepts or rejects `bytes` as serde_json does, with or without a reader picking members;
    /// returns what the reader was offered (keys, and each value's text), if accepted.
    fn check(bytes: &[u8]) -> Option<(Vec<(u32, String, bool)>, Vec<(u32, String, Kind)>)> {
        let serde = serde_json::from_slice::<Value>(bytes).map(|v| v.is_object());
        let ours = match document(bytes, &mut ()) {
            Ok(_) => Ok(true),
            Err(DocumentError::NotAnObject(_)) => Ok(false),
            Err(e) => Err(e),
        };
        let text = String::from_utf8_lossy(bytes);
        assert_eq!(serde.is_ok(), ours.is_ok(), "{text:?}: serde {serde:?}, ours {ours:?}");
        if let (Ok(a), Ok(b)) = (&serde, &ours) {
            assert_eq!(a, b, "{text:?}");
        }
        let mut record = Record::default();
        let picked = document(bytes, &mut record);
        assert_eq!(picked.is_ok(), ours == Ok(true), "{text:?}: {picked:?}");
        picked.ok()?;
        // The values themselves rather than their ranges, which whitespace moves.
        let values = record.1.iter().map(|(t, range, k)| {
            let (a, b) = range.split_once("..").unwrap();
            let value = &text[a.parse::<usize>().unwrap()..b.parse::<usize>().unwrap()];
            assert_eq!(value.trim(), value, "{text:?}: a value's range starts and ends at it");
            (*t, serde_json::from_str::<Value>(value).unwrap().to_string(), *k)
        });
        Some((record.0, values.collect()))
    }

    /// `text` with `space` before and after every token outside strings.
    fn spaced(text: &str, space: &str) -> String {
        let (mut out, mut in_string, mut escape) = (String::new(), false, false);
        for c in text.chars() {
            if in_string {
                out.push(c);
                (in_string, escape) = (escape || c != '"', !escape && c == '\\');
                continue;
            }
            match c {
                '"' => {
                    out.push_str(space);
                    out.push(c);
                    in_string = true;
                }
                '{' | '}' | '[' | ']' | ',' | ':' => {
                    out.push_str(space);
                    out.push(c);
                    out.push_str(space);
                }
                _ => out.push(c),
            }
        }
        out
    }

    /// The compact fast paths (no whitespace between tokens, string values scanned in the object
    /// loop) against serde_json: every prefix, every spacing, trailing commas, missing separators.
    #[test]
    fn compact_and_spaced_documents_every_prefix() {
        let docs = [
            r#"{"a":1,"bb":"x","ccc":[1,"two",{"d":null},[],{}],"e":{"f":true,"g":false},"h":-1.5e3}"#
                .to_string(),
            format!(
                r#"{{"{}":"{}","k":"{}","{}":{{"{}":1}}}}"#,
                "k".repeat(15),
                "v".repeat(16),
                "w".repeat(33),
                "d".repeat(16),
                "e".repeat(17)
            ),
            r#"{"esc\"aped\u00e9key":"v\\","é":"ü","keyé0123456789abcdef":"x","a":[]}"#.to_string(),
            r#"{"d":{"e":[{"f":"g"}],"f":{"g":"h"}},"d":"again","t":true,"n":null}"#.to_string(),
            r#"{"a":"","":"","b":[""],"c":{"":{}}}"#.to_string(),
        ];
        for doc in &docs {
            let compact = check(doc.as_bytes()).unwrap_or_else(|| panic!("{doc}: rejected"));
            for end in 0..doc.len() {
                check(&doc.as_bytes()[..end]);
            }
            for space in [" ", "\t", "\n", "\r", " \r\n\t "] {
                let spaced = spaced(doc, space);
                assert_eq!(check(spaced.as_bytes()).as_ref(), Some(&compact), "{spaced:?}");
                for end in 0..spaced.len() {
                    check(&spaced.as_bytes()[..end]);
                }
            }
            for (i, c) in doc.char_indices() {
                let (before, after) = doc.split_at(i);
                // Trailing commas, doubled commas, missing separators, stray bytes.
                if matches!(c, '}' | ']') {
                    check(format!("{before},{after}").as_bytes());
                    check(format!("{before} , {after}").as_bytes());
                }
                if matches!(c, ',' | ':') {
                    check(format!("{before}{}", &after[1..]).as_bytes());
                    check(format!("{before}{c}{after}").as_bytes());
                }
                for stray in ["x", "\u{1}", "\"", "é"] {
                    check(format!("{before}{stray}{after}").as_bytes());
                }
            }
        }
    }

    /// Keys and string values with a special byte at every place across the sixteen-byte loads.
    #[test]
    fn special_bytes_in_keys_and_values_at_every_position() {
        for len in [1, 7, 8, 15, 16, 17, 31, 32, 33] {
            for at in 0..len {
                for special in
                    [&b"\\n"[..], b"\\u00e9", b"\\x", b"\x01", b"\xc3\xa9", b"\xff", b"\xc3", b"\xed\xa0\x80"]
                {
                    let mut s = vec![b'k'; len];
                    s.splice(at..at + 1, special.iter().copied());
                    let mut key = b"{\"".to_vec();
                    key.extend(&s);
                    key.extend(b"\":1,\"v\":2}");
                    check(&key);
                    let mut value = b"{\"a\":\"".to_vec();
                    value.extend(&s);
                    value.extend(b"\",\"b\":[\"");
                    value.extend(&s);
                    value.extend(b"\"]}");
                    check(&value);
                    check(&value[..value.len() - 1]);
                }
            }
        }
    }

    #[test]
    fn unescapes_like_serde_json() {
        for raw in [r#""a\"b\\c\/d""#, r#""\b\f\n\r\t""#, r#""\u00e9\u4e2d""#, r#""\ud83d\ude00 ok""#] {
            let serde: String = serde_json::from_str(raw).unwrap();
            assert_eq!(unescape(&raw[1..raw.len() - 1]), serde);
        }
    }
}
