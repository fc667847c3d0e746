//! A validating JSON scanner that finds values without building them.
//!
//! Owns the JSON grammar as `serde_json` accepts it (the same inputs are accepted and
//! rejected: strict numbers, no control characters in strings, valid escapes and surrogate
//! pairs, at most 127 nested containers, nothing after the value), decoding of single scalars
//! (strings, numbers exactly as `serde_json` reads them), and the walk over an object's members.
//! Must not: allocate while scanning; only [`unescape`] builds a string, for the rare escaped
//! string a rule reads.

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

/// The length of the run of string characters that need no attention (not `"`, `\\` or a
/// control character) at the start of `bytes`; `None` when the run reaches the end.
/// Eight bytes at a time: the scanning of strings is most of the work of reading an event.
#[inline]
fn plain_run(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let special = |word: u64| {
        let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
        let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
        let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        quote | backslash | control
    };
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = special(word);
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|n| i + n)
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn err<T>(&self, message: &'static str) -> Result<T, Error> {
        Err(Error { message, offset: self.i })
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// A value at the current position; returns its kind. `depth` counts open containers.
    fn value(&mut self, depth: usize) -> Result<Kind, Error> {
        match self.peek() {
            Some(b'"') => self.string().map(|escaped| Kind::String { escaped }),
            Some(b'{') => {
                self.object(depth + 1, |_, _, _, _| {})?;
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

    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<Kind, Error> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(kind)
        } else {
            self.err("expected ident")
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, within the range of a float.
    fn number(&mut self) -> Result<(), Error> {
        let start = self.i;
        self.number_grammar()?;
        let text = &self.b[start..self.i];
        // Short integers always fit; anything else might overflow a float.
        if text.len() > 19 || text.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
            let text = std::str::from_utf8(text).unwrap_or_default();
            if number(text).is_none() {
                return self.err("number out of range");
            }
        }
        Ok(())
    }

    fn number_grammar(&mut self) -> Result<(), Error> {
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
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return self.err("invalid number");
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return self.err("invalid number");
            }
            self.digits();
        }
        Ok(())
    }

    #[inline]
    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    /// A string at the current `"`; returns whether it holds escapes.
    fn string(&mut self) -> Result<bool, Error> {
        self.i += 1;
        let mut escaped = false;
        loop {
            // The common case: a run of plain characters.
            let Some(n) = plain_run(&self.b[self.i..]) else {
                self.i = self.b.len();
                return self.err("EOF while parsing a string");
            };
            self.i += n;
            match self.b[self.i] {
                b'"' => {
                    self.i += 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                _ => return self.err("control character (\\u0000-\\u001F) found while parsing a string"),
            }
        }
    }

    /// The escape at the current `\`.
    fn escape(&mut self) -> Result<(), Error> {
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

    fn hex4(&mut self) -> Result<u32, Error> {
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

    fn array(&mut self, depth: usize) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return self.err("recursion limit exceeded");
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value(depth)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b']') {
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

    /// The object at the current `{`, calling `member(key, key_escaped, value, kind)` for each
    /// member (ranges into the text; a key range excludes its quotes).
    fn object(
        &mut self,
        depth: usize,
        mut member: impl FnMut(Range<usize>, bool, Range<usize>, Kind),
    ) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return self.err("recursion limit exceeded");
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            match self.peek() {
                Some(b'"') => {}
                Some(_) => return self.err("key must be a string"),
                None => return self.err("EOF while parsing an object"),
            }
            let key_start = self.i + 1;
            let key_escaped = self.string()?;
            let key = key_start..self.i - 1;
            self.ws();
            match self.peek() {
                Some(b':') => self.i += 1,
                Some(_) => return self.err("expected `:`"),
                None => return self.err("EOF while parsing an object"),
            }
            self.ws();
            let value_start = self.i;
            let kind = self.value(depth)?;
            member(key, key_escaped, value_start..self.i, kind);
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b'}') {
                        return self.err("trailing comma");
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

/// Scans a whole document that must be one object, calling `member` for each top-level member.
/// Nested values are validated and skipped.
pub fn top_level(
    text: &str,
    member: impl FnMut(Range<usize>, bool, Range<usize>, Kind),
) -> Result<(), DocumentError> {
    let mut s = Scanner { b: text.as_bytes(), i: 0 };
    s.ws();
    match s.peek() {
        Some(b'{') => {}
        Some(_) => {
            let found = match s.value(0) {
                Ok(kind) => kind,
                Err(e) => return Err(DocumentError::Json(e)),
            };
            s.ws();
            if s.i < s.b.len() {
                return Err(DocumentError::Json(Error { message: "trailing characters", offset: s.i }));
            }
            return Err(DocumentError::NotAnObject(found));
        }
        None => return Err(DocumentError::Json(Error { message: "EOF while parsing a value", offset: 0 })),
    }
    s.object(1, member).map_err(DocumentError::Json)?;
    s.ws();
    if s.i < s.b.len() {
        return Err(DocumentError::Json(Error { message: "trailing characters", offset: s.i }));
    }
    Ok(())
}

/// Why a document is not an object of members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentError {
    Json(Error),
    /// Valid JSON, but not an object.
    NotAnObject(Kind),
}

/// The members of the object in `text[range]` (already validated).
pub fn members(text: &str, range: Range<usize>, member: impl FnMut(Range<usize>, bool, Range<usize>, Kind)) {
    let mut s = Scanner { b: &text.as_bytes()[..range.end], i: range.start };
    // The text was validated when the document was scanned: this cannot fail.
    let _ = s.object(1, member);
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
            let ours = match top_level(case, |_, _, _, _| {}) {
                Ok(()) => Ok(true),
                Err(DocumentError::NotAnObject(_)) => Ok(false),
                Err(DocumentError::Json(e)) => Err(e),
            };
            assert_eq!(serde.is_ok(), ours.is_ok(), "{case:?}: serde {serde:?}, ours {ours:?}");
            if let (Ok(a), Ok(b)) = (&serde, &ours) {
                assert_eq!(a, b, "{case:?}");
            }
        }
    }

    #[test]
    fn members_and_kinds() {
        let text = r#"{"a": 1, "b\"c": "x\ty", "d": {"e": [1]}, "f": null}"#;
        let mut seen = Vec::new();
        top_level(text, |k, esc, v, kind| seen.push((text[k].to_string(), esc, text[v].to_string(), kind)))
            .unwrap();
        assert_eq!(seen[0], ("a".into(), false, "1".into(), Kind::Number));
        assert_eq!(seen[1], (r#"b\"c"#.into(), true, r#""x\ty""#.into(), Kind::String { escaped: true }));
        assert_eq!(seen[2], ("d".into(), false, r#"{"e": [1]}"#.into(), Kind::Object));
        assert_eq!(seen[3].3, Kind::Null);
        let mut inner = Vec::new();
        let d = text.find(r#"{"e""#).unwrap();
        members(text, d..d + 10, |k, _, v, _| inner.push((text[k].to_string(), text[v].to_string())));
        assert_eq!(inner, [("e".to_string(), "[1]".to_string())]);
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

    #[test]
    fn plain_runs_stop_at_quotes_backslashes_and_control_characters() {
        for text in ["", "abc", "abcdefgh", "abcdefghi\"", "ab\"cd", "0123456789\\x", "é ü \u{1}x", "abcdefg\u{7f}\u{80}\u{1f}"] {
            let expected = text.bytes().position(|c| c == b'"' || c == b'\\' || c < 0x20);
            assert_eq!(plain_run(text.as_bytes()), expected, "{text:?}");
        }
        // Every position in a long run, for every kind of stop.
        for stop in [b'"', b'\\', 0x00, 0x1f] {
            for at in 0..40 {
                let mut bytes = vec![b'x'; 40];
                bytes[at] = stop;
                assert_eq!(plain_run(&bytes), Some(at));
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
