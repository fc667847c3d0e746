//! `urllib.parse` of CPython 3.11.7: `urlparse` (its `ParseResult`, a named 6-tuple),
//! `parse_qs` and `unquote`, on `str` arguments, step for step as `Lib/urllib/parse.py` does.
//! Bytes (and the other types `_coerce_args` decodes) and a non-ASCII network location (which
//! CPython checks under NFKC normalisation, a table not modelled here) raise an error no
//! `except` catches.

use super::super::{Exc, Obj, R};
use super::Native;

/// The fields of a `ParseResult`, in order.
pub const FIELDS: [&str; 6] = ["scheme", "netloc", "path", "params", "query", "fragment"];

const SCHEME_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.";
const USES_PARAMS: &[&str] = &[
    "", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtsps", "rtspu", "sip", "sips",
    "mms", "sftp", "tel",
];

fn text<'a>(x: &'a Obj<'_>, function: &str) -> R<&'a str> {
    x.as_str().ok_or_else(|| {
        Exc::unsupported(format!("`{function}` of a '{}' (only str is compiled)", x.type_name()))
    })
}

/// `urllib.parse.urlparse(url)`.
pub fn urlparse<'e>(url: &Obj<'e>) -> R<Obj<'e>> {
    let url = text(url, "urlparse")?;
    // urlsplit: only the left is stripped; tabs and newlines go anywhere.
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut scheme = String::new();
    let mut rest = url.as_str();
    if let Some(i) = rest.find(':')
        && i > 0
        && rest.as_bytes()[0].is_ascii_alphabetic()
        && rest[..i].chars().all(|c| SCHEME_CHARS.contains(c))
    {
        scheme = rest[..i].to_lowercase();
        rest = &rest[i + 1..];
    }
    let mut netloc = "";
    if rest.starts_with("//") {
        let delim = ['/', '?', '#']
            .iter()
            .filter_map(|c| rest[2..].find(*c).map(|i| i + 2))
            .min()
            .unwrap_or(rest.len());
        netloc = &rest[2..delim];
        rest = &rest[delim..];
        if netloc.contains('[') != netloc.contains(']') {
            return Err(Exc::value_error("Invalid IPv6 URL"));
        }
        if netloc.contains('[') && netloc.contains(']') {
            let after = netloc.split_once('[').map_or("", |(_, a)| a);
            check_bracketed_host(after.split_once(']').map_or(after, |(h, _)| h))?;
        }
    }
    let (mut path, mut query, mut fragment) = (rest, "", "");
    if let Some((p, f)) = path.split_once('#') {
        (path, fragment) = (p, f);
    }
    if let Some((p, q)) = path.split_once('?') {
        (path, query) = (p, q);
    }
    if !netloc.is_ascii() {
        return Err(Exc::unsupported("`urlparse` of a URL whose network location is not ASCII"));
    }
    let mut params = "";
    if USES_PARAMS.contains(&scheme.as_str()) && path.contains(';') {
        let i = match path.rfind('/') {
            Some(slash) => path[slash..].find(';').map(|i| i + slash),
            None => path.find(';'),
        };
        if let Some(i) = i {
            (path, params) = (&path[..i], &path[i + 1..]);
        }
    }
    let fields = [scheme.as_str(), netloc, path, params, query, fragment].map(str::to_string);
    Ok(Obj::Native(std::rc::Rc::new(Native::ParseResult(Box::new(fields)))))
}

/// `_check_bracketed_host`: an IPvFuture (`v1.x`) or an IPv6 address.
fn check_bracketed_host(host: &str) -> R<()> {
    if let Some(rest) = host.strip_prefix('v') {
        let (hex, tail) = rest.split_once('.').unwrap_or((rest, ""));
        let ok = !hex.is_empty()
            && hex.chars().all(|c| c.is_ascii_hexdigit())
            && !tail.is_empty()
            && !tail.contains('\n');
        return if ok { Ok(()) } else { Err(Exc::value_error("IPvFuture address is invalid")) };
    }
    match super::ipaddress::address(&Obj::string(host.to_string()), super::ipaddress::Kind::Any)? {
        Obj::Native(n) if matches!(*n, Native::Ip(std::net::IpAddr::V4(_))) => {
            Err(Exc::value_error("An IPv4 address cannot be in brackets"))
        }
        _ => Ok(()),
    }
}

/// A field of a `ParseResult` (`parsed.query`), or CPython's `AttributeError`.
pub fn attribute<'e>(x: &Obj<'e>, name: &str) -> R<Obj<'e>> {
    if let Obj::Native(n) = x
        && let Native::ParseResult(fields) = &**n
        && let Some(i) = FIELDS.iter().position(|f| *f == name)
    {
        return Ok(Obj::string(fields[i].clone()));
    }
    Err(Exc::attribute_error(x, name))
}

/// `urllib.parse.unquote(string)`: `%XX` escapes in each run of ASCII characters decoded as
/// UTF-8, an invalid sequence replaced by U+FFFD.
pub fn unquote<'e>(s: &Obj<'e>) -> R<Obj<'e>> {
    let text = text(s, "unquote")?;
    if !text.contains('%') {
        return Ok(s.clone());
    }
    Ok(Obj::string(unquote_str(text)))
}

fn unquote_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let ascii = rest.find(|c: char| !c.is_ascii()).unwrap_or(rest.len());
        if ascii == 0 {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&unquote_bytes(&rest[..ascii])));
        rest = &rest[ascii..];
    }
    out
}

/// `unquote_to_bytes` of an ASCII string.
fn unquote_bytes(s: &str) -> Vec<u8> {
    let mut parts = s.split('%');
    let mut out = parts.next().unwrap_or("").as_bytes().to_vec();
    for item in parts {
        let hex = item.get(..2).filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
        match hex {
            Some(h) => {
                out.push(u8::from_str_radix(h, 16).expect("two hex digits"));
                out.extend_from_slice(&item.as_bytes()[2..]);
            }
            None => {
                out.push(b'%');
                out.extend_from_slice(item.as_bytes());
            }
        }
    }
    out
}

/// `urllib.parse.parse_qs(qs)` with its defaults: blank values and fields without `=` are
/// dropped, `+` is a space, names and values unquoted; each name maps to its values in order.
pub fn parse_qs<'e>(qs: &Obj<'e>) -> R<Obj<'e>> {
    let qs = text(qs, "parse_qs")?;
    let mut out = super::super::Dict::default();
    for field in qs.split('&') {
        let Some((name, value)) = field.split_once('=') else { continue };
        if value.is_empty() {
            continue;
        }
        let name = Obj::string(unquote_str(&name.replace('+', " ")));
        let value = Obj::string(unquote_str(&value.replace('+', " ")));
        match out.get(&name)? {
            Some(Obj::List(values)) => values.borrow_mut().push(value),
            _ => out.insert(name, Obj::list(vec![value]))?,
        }
    }
    Ok(Obj::Dict(std::rc::Rc::new(std::cell::RefCell::new(out))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> String {
        match urlparse(&Obj::string(url.to_string())) {
            Ok(x) => crate::py::repr(&x),
            Err(e) => e.to_string(),
        }
    }

    /// Each pinned against CPython 3.11.7's `urllib.parse`.
    #[test]
    fn urlparse_as_cpython() {
        assert_eq!(
            parsed("https://acct.blob.core.windows.net/c/b.txt?sp=rwd&se=2024-01-01#frag"),
            "ParseResult(scheme='https', netloc='acct.blob.core.windows.net', path='/c/b.txt', params='', query='sp=rwd&se=2024-01-01', fragment='frag')"
        );
        assert_eq!(
            parsed("/api/v1/namespaces/default/pods/p/exec?command=tar&command=cf"),
            "ParseResult(scheme='', netloc='', path='/api/v1/namespaces/default/pods/p/exec', params='', query='command=tar&command=cf', fragment='')"
        );
        assert_eq!(
            parsed("http://h/a;x/b;p?q"),
            "ParseResult(scheme='http', netloc='h', path='/a;x/b', params='p', query='q', fragment='')"
        );
        assert_eq!(
            parsed("  \tHTTP://h\n/?a#b?c"),
            "ParseResult(scheme='http', netloc='h', path='/', params='', query='a', fragment='b?c')"
        );
        assert_eq!(
            parsed("1abc:x"),
            "ParseResult(scheme='', netloc='', path='1abc:x', params='', query='', fragment='')"
        );
        assert_eq!(
            parsed("http://[::1]:80/"),
            "ParseResult(scheme='http', netloc='[::1]:80', path='/', params='', query='', fragment='')"
        );
        assert_eq!(parsed("http://[::1/"), "ValueError: Invalid IPv6 URL");
        assert_eq!(parsed("http://[1.2.3.4]/"), "ValueError: An IPv4 address cannot be in brackets");
        let p = urlparse(&Obj::str("http://a/b")).unwrap();
        assert!(crate::py::eq(&p, &Obj::tuple(["http", "a", "/b", "", "", ""].map(Obj::str).to_vec())));
        assert_eq!(
            crate::py::str_of(&p),
            "ParseResult(scheme='http', netloc='a', path='/b', params='', query='', fragment='')"
        );
        // `ParseResult` is a named tuple: a `tuple` and a `Sequence`, not a `list`.
        use crate::py::{Type, isinstance};
        assert!(isinstance(&p, &[Type::Tuple]) && isinstance(&p, &[Type::Sequence]));
        assert!(!isinstance(&p, &[Type::List]));
        assert_eq!(
            parsed("mailto:a@b;c"),
            "ParseResult(scheme='mailto', netloc='', path='a@b;c', params='', query='', fragment='')"
        );
    }

    #[test]
    fn unquote_and_parse_qs_as_cpython() {
        let u = |s: &str| unquote_str(s);
        assert_eq!(u("%2Fvar%2frun%2Fsecrets"), "/var/run/secrets");
        assert_eq!(u("%C3%A9t%C3%A9 é %zz %4"), "été é %zz %4");
        assert_eq!(u("%FF%C3"), "\u{fffd}\u{fffd}");
        assert_eq!(u("%E2%82%41%F0%9F%98"), "\u{fffd}A\u{fffd}");
        assert_eq!(u("%ED%A0%80x"), "\u{fffd}\u{fffd}\u{fffd}x");
        let q = parse_qs(&Obj::str("command=tar&command=cf&x=&y&sp=r+w%2Bd&&a=1=2")).unwrap();
        assert_eq!(crate::py::repr(&q), "{'command': ['tar', 'cf'], 'sp': ['r w+d'], 'a': ['1=2']}");
    }
}
