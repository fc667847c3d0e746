//! Python's `re` on the `regex` crate. The compiler rejects patterns whose meaning differs
//! between the two (lookaround, backreferences; [`super::re_check`]); a pattern computed at run
//! time ([`compile_obj`]) goes through the same checker and is an error when it fails it. What
//! remains is translated here (`\Z`, `(?P=`) and run with CPython's API: `match` anchors at the start, `fullmatch` at both ends,
//! `search` anywhere. `$` in Python also matches before a final newline: a subject ending in a
//! newline searched with a `$` pattern is an error rather than a possibly different answer.

use std::rc::Rc;

use super::super::{Exc, Obj, R};

/// A compiled pattern (`re.compile(p, flags)`). A pattern the `regex` crate cannot compile
/// is an error when it is used (an error, not another answer).
#[derive(Debug)]
pub struct Pattern {
    /// The pattern as the rule wrote it.
    pub source: String,
    compiled: Result<Compiled, Exc>,
}

#[derive(Debug)]
struct Compiled {
    anywhere: regex::Regex,
    /// `\A(?:p)`: `re.match`.
    at_start: regex::Regex,
    /// `\A(?:p)\z`: `re.fullmatch`.
    whole: regex::Regex,
    has_dollar: bool,
    /// Case-insensitive somewhere (the flag, or `i` in an inline flag group).
    ignores_case: bool,
}

pub const IGNORECASE: i64 = 2;
pub const MULTILINE: i64 = 8;
pub const DOTALL: i64 = 16;
pub const VERBOSE: i64 = 64;

impl Pattern {
    pub fn new(source: &str, flags: i64) -> Pattern {
        Pattern { source: source.to_string(), compiled: Compiled::new(source, flags) }
    }

    fn compiled(&self) -> R<&Compiled> {
        self.compiled.as_ref().map_err(Clone::clone)
    }
}

impl Compiled {
    fn new(source: &str, flags: i64) -> R<Compiled> {
        let mut prefix = String::new();
        if flags & IGNORECASE != 0 {
            prefix.push('i');
        }
        if flags & MULTILINE != 0 {
            prefix.push('m');
        }
        if flags & DOTALL != 0 {
            prefix.push('s');
        }
        if flags & VERBOSE != 0 {
            prefix.push('x');
        }
        let translated = source.replace("\\Z", "\\z");
        let compile = |p: &str| {
            regex::Regex::new(p)
                .map_err(|e| Exc::unsupported(format!("the regular expression {source:?}: {e}")))
        };
        let flags = if prefix.is_empty() { String::new() } else { format!("(?{prefix})") };
        Ok(Compiled {
            anywhere: compile(&format!("{flags}{translated}"))?,
            at_start: compile(&format!("{flags}\\A(?:{translated})"))?,
            whole: compile(&format!("{flags}\\A(?:{translated})\\z"))?,
            has_dollar: source.contains('$') && !flags.contains('m'),
            ignores_case: flags.contains('i') || inline_ignorecase(source),
        })
    }
}

/// Whether an inline flag group (`(?i)`, `(?ai:…)`, `(?-i:…)` is counted too) names `i`.
fn inline_ignorecase(source: &str) -> bool {
    source.match_indices("(?").any(|(i, _)| {
        let flags = &source[i + 2..];
        let end = flags.find([')', ':']).unwrap_or(flags.len());
        flags[..end].chars().all(|c| c.is_ascii_alphabetic() || c == '-') && flags[..end].contains('i')
    })
}

impl Pattern {
    fn check_subject(&self, text: &str) -> R<()> {
        if self.compiled()?.has_dollar && text.ends_with('\n') {
            return Err(Exc::unsupported(
                "a `$` pattern on text ending in a newline (Python's `$` also matches before it)",
            ));
        }
        // CPython compares `İ` (U+0130) and `ı` (U+0131) by their lower case, `i`, so `(?i)i`
        // matches both; the `regex` crate's case folding has neither.
        if self.compiled()?.ignores_case && !text.is_ascii() && text.contains(['\u{130}', '\u{131}']) {
            return Err(Exc::unsupported(
                "a case-insensitive pattern on text with `İ` or `ı` (Python folds them to `i`)",
            ));
        }
        Ok(())
    }

    /// `search`, `match` or `fullmatch`.
    pub fn find<'e>(&self, text: &Obj<'e>, how: How) -> R<Obj<'e>> {
        let Obj::Str(s) = text else {
            return Err(Exc::type_error(format!(
                "expected string or bytes-like object, got '{}'",
                text.type_name()
            )));
        };
        let subject = s.as_str();
        self.check_subject(subject)?;
        let compiled = self.compiled()?;
        let regex = match how {
            How::Search => &compiled.anywhere,
            How::Match => &compiled.at_start,
            How::Full => &compiled.whole,
        };
        Ok(match regex.captures(subject) {
            Some(c) => Obj::Match(Rc::new(Match {
                subject: s.clone(),
                groups: owned_caps(&c),
                names: names(&compiled.anywhere),
            })),
            None => Obj::None,
        })
    }

    /// `findall`: whole matches, the one group, or tuples of groups.
    pub fn findall<'e>(&self, text: &Obj<'e>) -> R<Obj<'e>> {
        let Obj::Str(s) = text else {
            return Err(Exc::type_error(format!(
                "expected string or bytes-like object, got '{}'",
                text.type_name()
            )));
        };
        self.check_subject(s.as_str())?;
        let anywhere = &self.compiled()?.anywhere;
        let groups = anywhere.captures_len() - 1;
        let out = anywhere
            .captures_iter(s.as_str())
            .map(|c| {
                let text = |i: usize| Obj::string(c.get(i).map_or("", |m| m.as_str()).to_string());
                match groups {
                    0 => text(0),
                    1 => text(1),
                    n => Obj::tuple((1..=n).map(text).collect()),
                }
            })
            .collect();
        Ok(Obj::list(out))
    }

    /// `sub(repl, text, count=0)` with a literal replacement (backslash escapes are rejected).
    pub fn sub<'e>(&self, repl: &Obj<'e>, text: &Obj<'e>, count: i64) -> R<Obj<'e>> {
        let (Obj::Str(r), Obj::Str(s)) = (repl, text) else {
            return Err(Exc::unsupported("re.sub with a function or non-string arguments"));
        };
        if r.as_str().contains('\\') {
            return Err(Exc::unsupported("re.sub with group references in the replacement"));
        }
        self.check_subject(s.as_str())?;
        let limit = if count <= 0 { 0 } else { count as usize };
        Ok(Obj::string(
            self.compiled()?.anywhere.replacen(s.as_str(), limit, regex::NoExpand(r.as_str())).into_owned(),
        ))
    }

    /// `split(text)` without groups in the pattern.
    pub fn split<'e>(&self, text: &Obj<'e>) -> R<Obj<'e>> {
        let Obj::Str(s) = text else { return Err(Exc::type_error("expected string")) };
        let anywhere = &self.compiled()?.anywhere;
        if anywhere.captures_len() > 1 {
            return Err(Exc::unsupported("re.split with groups"));
        }
        self.check_subject(s.as_str())?;
        Ok(Obj::list(anywhere.split(s.as_str()).map(|p| Obj::string(p.to_string())).collect()))
    }
}

fn owned_caps(c: &regex::Captures<'_>) -> Vec<Option<(usize, usize)>> {
    c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect()
}

fn names(r: &regex::Regex) -> Vec<Option<String>> {
    r.capture_names().map(|n| n.map(str::to_string)).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    Search,
    Match,
    Full,
}

/// A match object.
#[derive(Debug)]
pub struct Match<'e> {
    subject: super::super::Str<'e>,
    groups: Vec<Option<(usize, usize)>>,
    names: Vec<Option<String>>,
}

impl<'e> Match<'e> {
    /// The same match over its own copy of the text (for module state, which outlives events).
    pub fn detach(&self) -> Match<'static> {
        Match {
            subject: super::super::Str::Owned(std::rc::Rc::from(self.subject.as_str())),
            groups: self.groups.clone(),
            names: self.names.clone(),
        }
    }

    pub fn text(&self, i: usize) -> Option<&str> {
        let (a, b) = (*self.groups.get(i)?)?;
        Some(&self.subject.as_str()[a..b])
    }

    fn char_pos(&self, byte: usize) -> usize {
        self.subject.as_str()[..byte].chars().count()
    }

    pub fn start(&self, i: usize) -> usize {
        self.groups.get(i).copied().flatten().map_or(0, |(a, _)| self.char_pos(a))
    }

    pub fn end(&self, i: usize) -> usize {
        self.groups.get(i).copied().flatten().map_or(0, |(_, b)| self.char_pos(b))
    }

    fn index(&self, key: &Obj<'e>) -> R<usize> {
        let i = match key {
            Obj::Int(i) if *i >= 0 => *i as usize,
            Obj::Str(name) => self
                .names
                .iter()
                .position(|n| n.as_deref() == Some(name.as_str()))
                .ok_or_else(|| Exc::index_error("no such group"))?,
            _ => return Err(Exc::index_error("no such group")),
        };
        if i >= self.groups.len() {
            return Err(Exc::index_error("no such group"));
        }
        Ok(i)
    }

    /// `m.group(key)` and `m[key]`.
    pub fn group(&self, key: &Obj<'e>) -> R<Obj<'e>> {
        let i = self.index(key)?;
        Ok(self.text(i).map_or(Obj::None, |t| Obj::string(t.to_string())))
    }

    /// `m.groups()`.
    pub fn groups(&self) -> Obj<'e> {
        Obj::tuple(
            (1..self.groups.len())
                .map(|i| self.text(i).map_or(Obj::None, |t| Obj::string(t.to_string())))
                .collect(),
        )
    }

    /// `m.groupdict()`.
    pub fn groupdict(&self) -> R<Obj<'e>> {
        Obj::dict(
            self.names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
                .map(|(i, n)| {
                    (Obj::string(n.clone()), self.text(i).map_or(Obj::None, |t| Obj::string(t.to_string())))
                })
                .collect(),
        )
    }
}

thread_local! {
    /// Patterns written in the code (`re.match("…", s)`), compiled once per thread.
    static PATTERNS: std::cell::RefCell<std::collections::HashMap<(&'static str, i64), Rc<Pattern>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

thread_local! {
    /// Patterns computed at run time, by flags then source, compiled once per thread (at most
    /// [`MAX_COMPUTED`] of them, as CPython's `re` caches 512).
    static COMPUTED: std::cell::RefCell<std::collections::HashMap<i64, std::collections::HashMap<Box<str>, Rc<Pattern>>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

const MAX_COMPUTED: usize = 512;

/// The pattern a `re` function is handed at run time (`re.match(p, s)` with `p` a local, an
/// element of a set, a compiled pattern): Python's `re._compile`. A compiled pattern is taken as
/// it is (with flags, `ValueError`); a string is checked as the compiler checks literal
/// patterns and compiled once per thread; anything else is `TypeError`. A pattern that fails
/// the check (or that the `regex` crate rejects) raises here, where Python compiles it.
pub fn compile_obj(pattern: &Obj<'_>, flags: i64) -> R<Rc<Pattern>> {
    let p = match pattern {
        Obj::Regex(_) if flags != 0 => {
            return Err(Exc::value_error("cannot process flags argument with a compiled pattern"));
        }
        Obj::Regex(p) => p.clone(),
        Obj::Str(s) => computed(s.as_str(), flags),
        _ => return Err(Exc::type_error("first argument must be string or compiled pattern")),
    };
    p.compiled()?;
    Ok(p)
}

fn computed(source: &str, flags: i64) -> Rc<Pattern> {
    if let Some(p) = COMPUTED.with(|c| c.borrow().get(&flags).and_then(|m| m.get(source)).cloned()) {
        return p;
    }
    let p = Rc::new(match super::re_check::check_pattern(source) {
        Ok(()) => Pattern::new(source, flags),
        Err(what) => Pattern {
            source: source.to_string(),
            compiled: Err(Exc::unsupported(format!(
                "{what}, computed at run time ({source:?}): Python's `re` and the compiled engine differ on it"
            ))),
        },
    });
    COMPUTED.with(|c| {
        let mut c = c.borrow_mut();
        if c.values().map(|m| m.len()).sum::<usize>() >= MAX_COMPUTED {
            c.clear();
        }
        c.entry(flags).or_default().insert(source.into(), p.clone());
    });
    p
}

/// The compiled form of a literal pattern, cached per thread.
pub fn pattern(source: &'static str, flags: i64) -> Rc<Pattern> {
    if let Some(p) = PATTERNS.with(|c| c.borrow().get(&(source, flags)).cloned()) {
        return p;
    }
    let p = Rc::new(Pattern::new(source, flags));
    PATTERNS.with(|c| c.borrow_mut().insert((source, flags), p.clone()));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_patterns_are_checked_and_compiled_once() {
        let p = Obj::string("a(?!b)".into());
        let err = compile_obj(&p, 0).unwrap_err();
        assert_eq!(err.kind, "NotImplementedError");
        assert!(err.message.contains("lookaround"), "{err}");
        let ok = Obj::string(r"x-(\d+)".into());
        let first = compile_obj(&ok, IGNORECASE).unwrap();
        let again = compile_obj(&Obj::string(r"x-(\d+)".into()), IGNORECASE).unwrap();
        assert!(Rc::ptr_eq(&first, &again));
        let found = first.find(&Obj::str("X-42"), How::Search).unwrap();
        assert!(matches!(found, Obj::Match(m) if m.text(1) == Some("42")));
        // A compiled pattern is taken as it is; with flags, ValueError; anything else TypeError.
        assert!(Rc::ptr_eq(&compile_obj(&Obj::Regex(first.clone()), 0).unwrap(), &first));
        assert_eq!(compile_obj(&Obj::Regex(first), 2).unwrap_err().kind, "ValueError");
        assert_eq!(compile_obj(&Obj::None, 0).unwrap_err().kind, "TypeError");
        // Python 3.11 rejects `\z`.
        assert!(compile_obj(&Obj::string(r"a\z".into()), 0).is_err());
    }

    /// CPython: `re.search("(?i)admin", "ADMİN")` matches; the `regex` crate would not: an error.
    #[test]
    fn dotted_and_dotless_i_under_ignorecase_are_errors() {
        let search = |p: &str, flags: i64, text: &str| {
            Pattern::new(p, flags).find(&Obj::string(text.into()), How::Search).map(|m| !m.is_none())
        };
        assert!(search("admin", IGNORECASE, "ADMİN").is_err());
        assert!(search("(?i)admin", 0, "admın").is_err());
        assert!(search("(?i:x)admin", 0, "admİn").is_err());
        assert_eq!(search("admin", 0, "ADMİN").ok(), Some(false));
        assert_eq!(search("(?P<n>admin)", 0, "admİn").ok(), Some(false));
        assert_eq!(search("admin", IGNORECASE, "ADMIN").ok(), Some(true));
        assert!(inline_ignorecase("(?ai)x") && inline_ignorecase("(?-i:x)") && !inline_ignorecase("(?:i)"));
    }
}
