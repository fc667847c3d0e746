//! Python's `shlex.split(s)`: the POSIX-mode lexer of CPython's `shlex` with `whitespace_split`
//! and no comment characters (what `split` sets up), state by state as `shlex.read_token` runs.

use super::super::{Exc, Obj, R};

const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

#[derive(Clone, Copy, PartialEq)]
enum State {
    Between,
    Word,
    Quote(char),
    /// After a backslash; the state to return to.
    Escape(Escaped),
}

#[derive(Clone, Copy, PartialEq)]
enum Escaped {
    Word,
    DoubleQuote,
}

/// `shlex.split(s)`. `None` makes CPython 3.11 read standard input (not modelled: an error); a
/// value that is not a string is read as a stream (`AttributeError: … no attribute 'read'`).
pub fn split<'e>(s: &Obj<'e>) -> R<Obj<'e>> {
    let text = match s {
        Obj::Str(t) => t.as_str(),
        Obj::None => return Err(Exc::unsupported("shlex.split(None), which reads standard input")),
        other => return Err(Exc::attribute_error(other, "read")),
    };
    let mut out = Vec::new();
    let mut token = String::new();
    let mut quoted = false;
    let mut state = State::Between;
    for c in text.chars() {
        match state {
            State::Between => {
                if WHITESPACE.contains(&c) {
                    continue;
                }
                match c {
                    '\\' => state = State::Escape(Escaped::Word),
                    '\'' | '"' => state = State::Quote(c),
                    _ => {
                        token.push(c);
                        state = State::Word;
                    }
                }
            }
            State::Word => {
                if WHITESPACE.contains(&c) {
                    out.push(Obj::string(std::mem::take(&mut token)));
                    quoted = false;
                    state = State::Between;
                    continue;
                }
                match c {
                    '\'' | '"' => state = State::Quote(c),
                    '\\' => state = State::Escape(Escaped::Word),
                    _ => token.push(c),
                }
            }
            State::Quote(q) => {
                quoted = true;
                if c == q {
                    state = State::Word;
                } else if c == '\\' && q == '"' {
                    state = State::Escape(Escaped::DoubleQuote);
                } else {
                    token.push(c);
                }
            }
            State::Escape(back) => {
                // Inside double quotes a backslash stays unless it escapes `"` or itself.
                if back == Escaped::DoubleQuote && c != '\\' && c != '"' {
                    token.push('\\');
                }
                token.push(c);
                state = match back {
                    Escaped::Word => State::Word,
                    Escaped::DoubleQuote => State::Quote('"'),
                };
            }
        }
    }
    match state {
        State::Quote(_) => return Err(Exc::value_error("No closing quotation")),
        State::Escape(_) => return Err(Exc::value_error("No escaped character")),
        State::Word if !token.is_empty() || quoted => out.push(Obj::string(token)),
        _ => {}
    }
    Ok(Obj::list(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        match split(&Obj::string(s.into())).unwrap() {
            Obj::List(l) => l.borrow().iter().map(|w| w.as_str().unwrap().to_string()).collect(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn splits_as_cpython() {
        // Outputs of CPython 3.11's shlex.split.
        assert_eq!(words(r#"a 'b c' "d \" e" f\ g"#), ["a", "b c", "d \" e", "f g"]);
        assert_eq!(words(r#"'' "" x"#), ["", "", "x"]);
        assert_eq!(words(r#"a"b"'c' "\a\\""#), ["abc", "\\a\\"]);
        assert_eq!(words("  \t "), Vec::<String>::new());
        assert_eq!(words("x\\\ny"), ["x\ny"]);
        assert_eq!(words(r#"a"b\"c"d"#), ["ab\"cd"]);
        assert_eq!(words(r"it\'s #not a comment"), ["it's", "#not", "a", "comment"]);
        assert_eq!(split(&Obj::str("'open")).unwrap_err().message, "No closing quotation");
        assert_eq!(split(&Obj::str("end\\")).unwrap_err().message, "No escaped character");
    }
}
