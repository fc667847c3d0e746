//! Whether a JSON text is already exactly what `serde_json` would write for it: compact, with
//! `serde_json`'s escapes, numbers in its forms, no repeated key. Such a text can be written as
//! is where the parsed value would be serialised (an alert's first event), which saves parsing
//! it into a `Value` and writing that back.
//!
//! Must not: accept a text whose round trip through `serde_json` (with the workspace's
//! `preserve_order` and `float_roundtrip`) differs; when unsure, it says no and the caller takes
//! the `Value` path.

/// A hash of a key, to tell keys apart quickly (FNV-1a).
fn hash(key: &[u8]) -> u64 {
    key.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Deeper nesting than this is answered "no" (the `Value` path handles it).
const MAX_DEPTH: usize = 128;

/// True if `serde_json::to_string(&serde_json::from_str::<Value>(text)?)` would give `text`.
pub fn is_serde_form(text: &str) -> bool {
    let mut c = Cursor { b: text.as_bytes(), i: 0, keys: Vec::new() };
    c.value(0) && c.i == c.b.len()
}

struct Cursor<'t> {
    b: &'t [u8],
    i: usize,
    /// The keys of the objects being read, each object's after its parent's (a stack): with
    /// their hashes, to find a repeated key without comparing every pair.
    keys: Vec<(u64, &'t [u8])>,
}

impl<'t> Cursor<'t> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        self.i += usize::from(hit);
        hit
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => depth < MAX_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < MAX_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let hit = self.b[self.i..].starts_with(word);
        self.i += if hit { word.len() } else { 0 };
        hit
    }

    /// `{…}`: keys compared as written, which is enough because an escape has one form here.
    fn object(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.eat(b'}') {
            return true;
        }
        let first = self.keys.len();
        // Which of 128 buckets this object's keys' hashes fell in: a key whose bucket is new
        // is new (most are), else it is compared with the keys before it.
        let mut buckets = 0u128;
        let unique = loop {
            let Some(key) = self.string() else { break false };
            let hash = hash(key);
            let bucket = 1u128 << (hash % 128);
            if buckets & bucket != 0 && self.keys[first..].iter().any(|&(h, k)| h == hash && k == key) {
                // A repeated key keeps one entry in the parsed map: the text would not come back.
                break false;
            }
            buckets |= bucket;
            self.keys.push((hash, key));
            if !self.eat(b':') || !self.value(depth) {
                break false;
            }
            if self.eat(b'}') {
                break true;
            }
            if !self.eat(b',') {
                break false;
            }
        };
        self.keys.truncate(first);
        unique
    }

    fn array(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A string whose escapes are the ones `serde_json` writes (`\"`, `\\`, `\b`, `\f`, `\n`,
    /// `\r`, `\t`, and `\u00xx` in lower case for the other control characters); its text
    /// between the quotes.
    fn string(&mut self) -> Option<&'t [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        loop {
            self.skip_plain();
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(&self.b[start..self.i - 1]);
                }
                b'\\' => {
                    let escape = *self.b.get(self.i + 1)?;
                    match escape {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                        b'u' => {
                            let hex = self.b.get(self.i + 2..self.i + 6)?;
                            let lower = |h: u8| h.is_ascii_digit() || (b'a'..=b'f').contains(&h);
                            if !(hex[0] == b'0'
                                && hex[1] == b'0'
                                && hex[2] <= b'1'
                                && hex.iter().all(|&h| lower(h)))
                            {
                                return None;
                            }
                            let code = u8::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()?;
                            // These have short forms, which `serde_json` writes instead.
                            if matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            self.i += 6;
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => self.i += 1,
            }
        }
    }

    /// Skips the bytes of a string that stand for themselves, eight at a time: to the first
    /// quote, backslash or control character, or to the last eight bytes of the text.
    fn skip_plain(&mut self) {
        const ONES: u64 = u64::from_le_bytes([0x01; 8]);
        const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
        // The high bit of each byte of `word` that is zero. Exact for the first such byte (a
        // later byte may be flagged wrongly, by the borrow), which is all that is read here.
        let zeros = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
        while let Some(chunk) = self.b.get(self.i..self.i + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            // Bytes below 0x20 (from 0x80 up, a byte's high bit in `word` rules it out), quotes,
            // backslashes.
            let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
            let special = zeros(word ^ (ONES * u64::from(b'"'))) | zeros(word ^ (ONES * u64::from(b'\\')));
            let flagged = control | special;
            if flagged != 0 {
                self.i += flagged.trailing_zeros() as usize / 8;
                return;
            }
            self.i += 8;
        }
    }

    /// An integer that parses to `u64` or `i64` (printed back as written, except `-0`), or a
    /// float printed back identically by `serde_json`.
    fn number(&mut self) -> bool {
        let start = self.i;
        let mut float = false;
        while let Some(byte) = self.peek() {
            match byte {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.i += 1;
        }
        let Ok(token) = std::str::from_utf8(&self.b[start..self.i]) else { return false };
        let digits = token.strip_prefix('-').unwrap_or(token);
        if digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.") {
            return false;
        }
        if !float {
            return match token.strip_prefix('-') {
                Some(_) => token != "-0" && token.parse::<i64>().is_ok(),
                None => token.parse::<u64>().is_ok(),
            };
        }
        match token.parse::<f64>() {
            Ok(x) if x.is_finite() => serde_json::to_string(&x).is_ok_and(|written| written == token),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// What the function must agree with, where it says yes.
    fn round_trips(text: &str) -> bool {
        serde_json::from_str::<Value>(text).is_ok_and(|v| serde_json::to_string(&v).unwrap() == text)
    }

    #[test]
    fn agrees_with_serde_json_on_every_form() {
        let cases = [
            r#"{}"#,
            r#"[]"#,
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            r#"{"a": 1}"#,
            r#" {"a":1}"#,
            r#"{"a":1}
"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"x":1},"b":{"x":1}}"#,
            r#"{"s":"\/"}"#,
            r#"{"s":"\u00e9"}"#,
            r#"{"s":"é"}"#,
            r#"{"s":"\u001f"}"#,
            r#"{"s":"\u001F"}"#,
            r#"{"s":"\u000a"}"#,
            r#"{"s":"\n\t\r\b\f\"\\"}"#,
            r#"{"s":""}"#,
            r#"{"n":-0}"#,
            r#"{"n":0}"#,
            r#"{"n":-1}"#,
            r#"{"n":18446744073709551615}"#,
            r#"{"n":18446744073709551616}"#,
            r#"{"n":-9223372036854775808}"#,
            r#"{"n":-9223372036854775809}"#,
            r#"{"n":1.0}"#,
            r#"{"n":1.5}"#,
            r#"{"n":1e2}"#,
            r#"{"n":100.0}"#,
            r#"{"n":1.0e2}"#,
            r#"{"n":0.1}"#,
            r#"{"n":1e21}"#,
            r#"{"n":1e+21}"#,
            r#"{"n":1.7976931348623157e308}"#,
            r#"{"n":-0.0}"#,
            r#"{"n":5e-324}"#,
            r#"{"n":1E2}"#,
            r#"["x",1,[],{}]"#,
        ];
        for text in cases {
            let said = is_serde_form(text);
            assert_eq!(said, round_trips(text), "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_takes_the_value_path() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(!is_serde_form(&deep));
    }

    /// Strings are read eight bytes at a time: a quote, a backslash, a control character or a
    /// repeated key at every place in a long string or a wide object is seen where it is.
    #[test]
    fn agrees_at_every_offset_of_long_strings_and_wide_objects() {
        for len in 0..40 {
            for at in 0..len {
                for special in ["\"", "\\\"", "\\n", "\u{1}", "\\u0001", "é", "\u{7f}", "\\/"] {
                    let mut s: String = "abcdefghij".chars().cycle().take(len).collect();
                    s.replace_range(at..at + 1, special);
                    let text = format!("{{\"k\":\"{s}\",\"l\":[\"{s}\"]}}");
                    assert_eq!(is_serde_form(&text), round_trips(&text), "{text:?}");
                }
            }
        }
        for keys in 1..40 {
            for repeated in 0..keys {
                let members: Vec<String> =
                    (0..keys).map(|i| format!("\"key{i}\":{{\"key{i}\":{i}}}")).collect();
                let unique = format!("{{{}}}", members.join(","));
                assert!(is_serde_form(&unique) && round_trips(&unique), "{unique}");
                let again = format!("{{{},\"key{repeated}\":1}}", members.join(","));
                assert!(!is_serde_form(&again) && !round_trips(&again), "{again}");
            }
        }
    }

    /// Every prefix-cut and one-byte change of a realistic event: never a yes that does not
    /// round-trip.
    #[test]
    fn never_says_yes_wrongly_on_mutations() {
        let base = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123:user/a\"b","accountId":"123"},"eventTime":"2024-01-01T00:00:00Z","n":[1,-2,3.25,1e-7,null,true],"s":"tab\there \u0001 é"}"#;
        assert!(is_serde_form(base) && round_trips(base));
        let bytes = base.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [b' ', b'"', b'\\', b'0', b'e', b'.', b'-', b'}', b',', b'a', b'/', b'U'] {
                let mut changed = bytes.to_vec();
                changed[i] = replacement;
                let Ok(text) = std::str::from_utf8(&changed) else { continue };
                if is_serde_form(text) {
                    assert!(round_trips(text), "{text}");
                }
            }
            let Ok(cut) = std::str::from_utf8(&bytes[..i]) else { continue };
            assert!(!is_serde_form(cut) || round_trips(cut), "{cut}");
        }
    }
}
