//! Python's `bytes`, as far as compiled rules make them: `str.encode`, `bytes.decode` with the
//! codecs rules use (`ascii`, `utf-8`, `utf-16-le`, strict), and `base64.b64decode` (CPython
//! 3.11's `binascii.a2b_base64`, its `strict_mode` being `validate`), with CPython's exceptions
//! (`UnicodeEncodeError`, `UnicodeDecodeError`, `binascii.Error`) and their `repr`.
//!
//! A bytes value compares, prints, iterates (as integers), indexes by an integer and has a
//! `len`; what else Python does with one (concatenation, slicing, its other methods, `int(b)`)
//! is an error the rule cannot catch, never a different answer.

use std::rc::Rc;

use super::Native;
use crate::py::{Exc, Obj, R};

/// A bytes value.
pub fn bytes<'e>(b: Vec<u8>) -> Obj<'e> {
    Obj::Native(Rc::new(Native::Bytes(b.into_boxed_slice())))
}

/// The bytes of `x`, if it is a bytes value.
pub fn as_bytes<'a>(x: &'a Obj<'_>) -> Option<&'a [u8]> {
    match x {
        Obj::Native(n) => match &**n {
            Native::Bytes(b) => Some(b),
            _ => None,
        },
        _ => None,
    }
}

/// What compiled rules do not model about bytes: an error `except` never catches.
pub fn unmodelled(what: &str) -> Exc {
    Exc::unsupported(format!("{what} on bytes is not supported by compiled rules"))
}

/// `repr(b)`: `b'…'` (or `b"…"` when the bytes hold `'` and no `"`), printable ASCII as it is,
/// `\t \n \r \\` and the quote escaped, other bytes as `\xhh`.
pub fn repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') { '"' } else { '\'' };
    let mut out = String::with_capacity(b.len() + 3);
    out.push('b');
    out.push(quote);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if c as char == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote);
    out
}

/// `x in b`: a byte value (an integer) or a sub-sequence (bytes).
pub fn contains(b: &[u8], x: &Obj<'_>) -> R<bool> {
    let byte = match x {
        Obj::Int(i) => *i,
        Obj::Bool(v) => i64::from(*v),
        _ => match as_bytes(x) {
            Some(needle) => {
                return Ok(needle.is_empty() || b.windows(needle.len()).any(|w| w == needle));
            }
            None => {
                return Err(Exc::type_error(format!(
                    "a bytes-like object is required, not '{}'",
                    x.type_name()
                )));
            }
        },
    };
    match u8::try_from(byte) {
        Ok(v) => Ok(b.contains(&v)),
        Err(_) => Err(Exc::value_error("byte must be in range(0, 256)")),
    }
}

/// The codecs compiled rules encode and decode with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Codec {
    Ascii,
    Utf8,
    Utf16Le,
}

impl Codec {
    /// The name CPython's codec errors give.
    fn name(self) -> &'static str {
        match self {
            Codec::Ascii => "ascii",
            Codec::Utf8 => "utf-8",
            Codec::Utf16Le => "utf-16-le",
        }
    }
}

/// The codec an encoding name means to CPython (its normalisation: case and `-`/`_`/space
/// folded; only the aliases listed here), or an error for the others, never a guess.
fn codec(encoding: &Obj<'_>, errors: &Obj<'_>, method: &str) -> R<Codec> {
    match errors {
        Obj::None => {}
        Obj::Str(s) if s.as_str() == "strict" => {}
        Obj::Str(s) => return Err(Exc::unsupported(format!("{method}() with errors={:?}", s.as_str()))),
        other => {
            return Err(Exc::type_error(format!(
                "{method}() argument 'errors' must be str, not {}",
                other.type_name()
            )));
        }
    }
    let name = match encoding {
        Obj::None => return Ok(Codec::Utf8),
        Obj::Str(s) => s.as_str(),
        other => {
            return Err(Exc::type_error(format!(
                "{method}() argument 'encoding' must be str, not {}",
                other.type_name()
            )));
        }
    };
    let normal: String =
        name.chars().map(|c| if matches!(c, '-' | ' ') { '_' } else { c.to_ascii_lowercase() }).collect();
    match normal.as_str() {
        "ascii" | "us_ascii" | "646" => Ok(Codec::Ascii),
        "utf_8" | "utf8" | "u8" | "utf" => Ok(Codec::Utf8),
        "utf_16_le" | "utf_16le" => Ok(Codec::Utf16Le),
        _ => Err(Exc::unsupported(format!("{method}() with the encoding {name:?}"))),
    }
}

/// `s.encode(encoding, errors)`.
pub fn encode<'e>(s: &str, encoding: &Obj<'e>, errors: &Obj<'e>) -> R<Obj<'e>> {
    match codec(encoding, errors, "encode")? {
        Codec::Utf8 => Ok(bytes(s.as_bytes().to_vec())),
        Codec::Ascii => {
            let Some(start) = s.chars().position(|c| !c.is_ascii()) else {
                return Ok(bytes(s.as_bytes().to_vec()));
            };
            // CPython reports the whole run of unencodable characters.
            let run = s.chars().skip(start).take_while(|c| !c.is_ascii()).count();
            Err(Exc::new(
                "UnicodeEncodeError",
                format!(
                    "'ascii', {}, {start}, {}, 'ordinal not in range(128)'",
                    crate::py::repr_string(s),
                    start + run
                ),
            ))
        }
        Codec::Utf16Le => {
            let mut out = Vec::with_capacity(s.len() * 2);
            for unit in s.encode_utf16() {
                out.extend_from_slice(&unit.to_le_bytes());
            }
            Ok(bytes(out))
        }
    }
}

/// CPython's `UnicodeDecodeError(codec, object, start, end, reason)`, its arguments as its
/// `repr` shows them.
fn decode_error(codec: Codec, b: &[u8], start: usize, end: usize, reason: &str) -> Exc {
    Exc::new("UnicodeDecodeError", format!("'{}', {}, {start}, {end}, '{reason}'", codec.name(), repr(b)))
}

/// `b.decode(encoding, errors)`.
pub fn decode<'e>(b: &[u8], encoding: &Obj<'e>, errors: &Obj<'e>) -> R<Obj<'e>> {
    let codec = codec(encoding, errors, "decode")?;
    match codec {
        Codec::Ascii => match b.iter().position(|c| !c.is_ascii()) {
            Some(p) => Err(decode_error(codec, b, p, p + 1, "ordinal not in range(128)")),
            None => Ok(Obj::string(String::from_utf8(b.to_vec()).expect("ASCII"))),
        },
        Codec::Utf8 => match std::str::from_utf8(b) {
            Ok(s) => Ok(Obj::string(s.to_string())),
            Err(e) => {
                let start = e.valid_up_to();
                Err(match e.error_len() {
                    None => decode_error(codec, b, start, b.len(), "unexpected end of data"),
                    // Bytes that never start a sequence (continuations, overlong leads, > F4).
                    Some(_) if matches!(b[start], 0x80..=0xc1 | 0xf5..=0xff) => {
                        decode_error(codec, b, start, start + 1, "invalid start byte")
                    }
                    // The lead byte and the continuations that were valid (the maximal
                    // subpart, as CPython reports it).
                    Some(n) => decode_error(codec, b, start, start + n, "invalid continuation byte"),
                })
            }
        },
        Codec::Utf16Le => {
            let mut out = String::with_capacity(b.len() / 2);
            let mut i = 0;
            while i + 1 < b.len() {
                let unit = u16::from_le_bytes([b[i], b[i + 1]]);
                match unit {
                    0xd800..=0xdbff => {
                        if i + 3 >= b.len() {
                            return Err(decode_error(codec, b, i, b.len(), "unexpected end of data"));
                        }
                        let low = u16::from_le_bytes([b[i + 2], b[i + 3]]);
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(decode_error(codec, b, i, i + 2, "illegal UTF-16 surrogate"));
                        }
                        let c = 0x10000 + ((u32::from(unit) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                        out.push(char::from_u32(c).expect("a surrogate pair"));
                        i += 4;
                    }
                    0xdc00..=0xdfff => return Err(decode_error(codec, b, i, i + 2, "illegal encoding")),
                    _ => {
                        out.push(char::from_u32(u32::from(unit)).expect("not a surrogate"));
                        i += 2;
                    }
                }
            }
            if i < b.len() {
                return Err(decode_error(codec, b, i, b.len(), "truncated data"));
            }
            Ok(Obj::string(out))
        }
    }
}

/// `base64.b64decode(s, validate=validate)` (without `altchars`): `s` a string of ASCII or
/// bytes; `binascii.a2b_base64(s, strict_mode=validate)` of CPython 3.11.
pub fn b64decode<'e>(s: &Obj<'e>, validate: &Obj<'e>) -> R<Obj<'e>> {
    let data: &[u8] = match s {
        Obj::Str(text) => {
            let t = text.as_str();
            if !t.is_ascii() {
                return Err(Exc::value_error("string argument should contain only ASCII characters"));
            }
            t.as_bytes()
        }
        _ => match as_bytes(s) {
            Some(b) => b,
            None => {
                return Err(Exc::type_error(format!(
                    "argument should be a bytes-like object or ASCII string, not '{}'",
                    s.type_name()
                )));
            }
        },
    };
    // `strict_mode` is a C int to `binascii` (converted after the data).
    let strict = match validate {
        Obj::Bool(b) => *b,
        Obj::Int(i) if i32::try_from(*i).is_ok() => *i != 0,
        Obj::Int(_) => return Err(Exc::new("OverflowError", "Python int too large to convert to C int")),
        Obj::Native(n) if matches!(**n, Native::MagicMock(_)) => {
            return Err(Exc::unsupported("b64decode with a MagicMock as validate"));
        }
        other => {
            return Err(Exc::type_error(format!(
                "'{}' object cannot be interpreted as an integer",
                other.type_name()
            )));
        }
    };
    a2b_base64(data, strict).map(bytes)
}

fn binascii_error(message: impl Into<String>) -> Exc {
    Exc::new("binascii.Error", message)
}

/// The value of a base64 digit.
fn digit(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// `binascii.a2b_base64`, as CPython 3.11's `Modules/binascii.c` does it: without
/// `strict_mode`, other characters are skipped and a pad ends the data once a quad has two
/// digits; with it, each of those is an error.
fn a2b_base64(data: &[u8], strict: bool) -> R<Vec<u8>> {
    if strict && data.first() == Some(&b'=') {
        return Err(binascii_error("Leading padding not allowed"));
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let (mut quad_pos, mut left, mut pads) = (0u8, 0u8, 0u8);
    let mut padding_started = false;
    for (i, &c) in data.iter().enumerate() {
        if c == b'=' {
            padding_started = true;
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    if strict && i + 1 < data.len() {
                        return Err(binascii_error("Excess data after padding"));
                    }
                    return Ok(out);
                }
            }
            continue;
        }
        let Some(v) = digit(c) else {
            if strict {
                return Err(binascii_error("Only base64 data is allowed"));
            }
            continue;
        };
        if strict && padding_started {
            return Err(binascii_error("Discontinuous padding not allowed"));
        }
        pads = 0;
        match quad_pos {
            0 => {
                quad_pos = 1;
                left = v;
            }
            1 => {
                quad_pos = 2;
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
            }
            2 => {
                quad_pos = 3;
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
            }
            _ => {
                quad_pos = 0;
                out.push((left << 6) | v);
                left = 0;
            }
        }
    }
    match quad_pos {
        0 => Ok(out),
        1 => Err(binascii_error(format!(
            "Invalid base64-encoded string: number of data characters ({}) cannot be 1 more than a multiple of 4",
            out.len() / 3 * 4 + 1
        ))),
        _ => Err(binascii_error("Incorrect padding")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str, strict: bool) -> Result<Vec<u8>, String> {
        a2b_base64(s.as_bytes(), strict).map_err(|e| e.message)
    }

    #[test]
    fn base64_as_cpython() {
        // Expectations from CPython 3.11.7 (`binascii.a2b_base64(s, strict_mode=…)`).
        assert_eq!(dec("aGVsbG8=", true), Ok(b"hello".to_vec()));
        assert_eq!(dec("aGVsbG8", false), Err("Incorrect padding".into()));
        assert_eq!(dec("aGVs\nbG8=", false), Ok(b"hello".to_vec()));
        assert_eq!(dec("aGVs\nbG8=", true), Err("Only base64 data is allowed".into()));
        assert_eq!(dec("=aGVs", true), Err("Leading padding not allowed".into()));
        assert_eq!(dec("aGVsbG8=x", true), Err("Excess data after padding".into()));
        assert_eq!(dec("aGVsbG8=x", false), Ok(b"hello".to_vec()));
        assert_eq!(
            dec("aGVsb", false),
            Err("Invalid base64-encoded string: number of data characters (5) cannot be 1 more than a multiple of 4"
                .into())
        );
    }

    #[test]
    fn reprs_and_codec_errors() {
        assert_eq!(repr(b"it's \x00\xff\\\n"), "b\"it's \\x00\\xff\\\\\\n\"");
        assert_eq!(repr(b"'\""), "b'\\'\"'");
        let e = decode(b"a\xe2\x82", &Obj::str("utf-8"), &Obj::None).unwrap_err();
        assert_eq!(
            e.python_repr(),
            "UnicodeDecodeError('utf-8', b'a\\xe2\\x82', 1, 3, 'unexpected end of data')"
        );
        let e = encode("h\u{e9}\u{e9}o", &Obj::str("ascii"), &Obj::None).unwrap_err();
        assert_eq!(
            e.python_repr(),
            "UnicodeEncodeError('ascii', 'h\u{e9}\u{e9}o', 1, 3, 'ordinal not in range(128)')"
        );
    }
}
