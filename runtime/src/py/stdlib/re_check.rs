//! Which Python regular expressions the `regex` crate runs with Python's meaning: the one
//! checker of both the compiler (patterns written in a rule, rejected at build time) and the
//! runtime (patterns computed at run time, an error when used). Dependency-free, so that the
//! compiler includes this file as it is (`#[path]`) rather than depending on the runtime.

/// Python `re` constructs the `regex` crate lacks or reads differently.
pub fn check_pattern(p: &str) -> Result<(), String> {
    let bytes = p.as_bytes();
    let mut i = 0;
    let mut in_class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                match bytes.get(i + 1) {
                    Some(b'1'..=b'9') => return Err("a backreference (`\\1`) in a regular expression".into()),
                    // (`\z` is Python 3.14's; CPython 3.11 rejects it.)
                    Some(b'A' | b'b' | b'B' | b'd' | b'D' | b's' | b'S' | b'w' | b'W' | b'Z') => {}
                    Some(c) if !c.is_ascii_alphanumeric() => {}
                    Some(b'n' | b't' | b'r' | b'f' | b'v' | b'x' | b'u' | b'0') => {}
                    Some(c) => return Err(format!("the escape `\\{}` in a regular expression", *c as char)),
                    None => return Err("a trailing backslash in a regular expression".into()),
                }
                i += 2;
                continue;
            }
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class && bytes.get(i + 1) == Some(&b'?') => {
                let rest = &p[i + 2..];
                if rest.starts_with('=')
                    || rest.starts_with('!')
                    || rest.starts_with("<=")
                    || rest.starts_with("<!")
                {
                    return Err("a lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`) in a regular expression".into());
                }
                if rest.starts_with("P=") {
                    return Err("a named backreference (`(?P=name)`) in a regular expression".into());
                }
                if rest.starts_with('#') {
                    return Err("a comment group (`(?#…)`) in a regular expression".into());
                }
                if rest.starts_with('(') {
                    return Err("a conditional group in a regular expression".into());
                }
            }
            b'{' if !in_class => {
                // Python reads `{` that does not start `{m}`, `{m,}`, `{,n}` or `{m,n}` literally.
                let close = p[i..].find('}').map(|j| &p[i + 1..i + j]);
                let quantifier = close.is_some_and(|q| {
                    let (a, b) = q.split_once(',').unwrap_or((q, "0"));
                    !q.is_empty()
                        && a.chars().all(|c| c.is_ascii_digit())
                        && b.chars().all(|c| c.is_ascii_digit())
                        && !(a.is_empty() && b.is_empty())
                });
                if !quantifier {
                    return Err("a literal `{` in a regular expression (write `\\{`)".into());
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}
