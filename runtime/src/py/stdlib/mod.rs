//! The standard-library modules compiled rules use, as native code: `re` (Python's regular
//! expressions on the `regex` crate, exact or an error), `shlex.split`, `datetime`, and the
//! objects of `ipaddress`, `urllib.parse` and `datetime` ([`Native`]); and the third-party
//! `policyuniverse` and `dateutil.parser.parse` that Panther's runtime ships.

pub mod bytes;
pub mod calendar;
pub mod datetime;
pub mod dateutil;
pub mod difflib;
pub mod ipaddress;
pub mod policyuniverse;
pub mod re;
pub mod re_check;
pub mod shlex;
pub mod url;
pub mod uuid;

use std::cmp::Ordering;

use super::{Obj, R};

/// An object of a standard-library type other than the built-in containers.
#[derive(Debug, Clone, PartialEq)]
pub enum Native {
    /// `ipaddress.ip_address(…)`.
    Ip(std::net::IpAddr),
    /// `ipaddress.ip_network(…)`: the network address (host bits clear) and prefix length.
    Net { addr: std::net::IpAddr, prefix: u8 },
    /// The `MagicMock` a test case's `Mocks:` puts in place of the named module variable
    /// (`patch.multiple` with `MagicMock(return_value=…)`): truthy, an empty container, `1`
    /// as a number, equal only to itself.
    MagicMock(&'static str),
    /// `urllib.parse.urlparse(…)`: a named tuple of its six fields (see [`url::FIELDS`]).
    ParseResult(Box<[String; 6]>),
    /// `datetime.datetime`.
    DateTime(datetime::DateTime),
    /// `datetime.timedelta`.
    TimeDelta(datetime::TimeDelta),
    /// `bytes` (from `str.encode` and `base64.b64decode`; see [`bytes`]).
    Bytes(Box<[u8]>),
}

impl Native {
    pub fn type_name(&self) -> &'static str {
        match self {
            Native::Ip(std::net::IpAddr::V4(_)) => "IPv4Address",
            Native::Ip(std::net::IpAddr::V6(_)) => "IPv6Address",
            Native::Net { addr: std::net::IpAddr::V4(_), .. } => "IPv4Network",
            Native::Net { .. } => "IPv6Network",
            Native::MagicMock(_) => "MagicMock",
            Native::ParseResult(_) => "ParseResult",
            Native::DateTime(_) => "datetime",
            Native::TimeDelta(_) => "timedelta",
            Native::Bytes(_) => "bytes",
        }
    }

    pub fn repr(&self) -> String {
        match self {
            Native::Ip(ip) => format!("{}('{ip}')", self.type_name()),
            Native::Net { addr, prefix } => format!("{}('{addr}/{prefix}')", self.type_name()),
            // CPython prints the object's address, which changes from run to run.
            Native::MagicMock(_) => "<MagicMock id='0'>".to_string(),
            Native::ParseResult(fields) => {
                let parts: Vec<String> = url::FIELDS
                    .iter()
                    .zip(fields.iter())
                    .map(|(name, value)| format!("{name}={}", super::fmt::repr_string(value)))
                    .collect();
                format!("ParseResult({})", parts.join(", "))
            }
            Native::DateTime(d) => d.repr(),
            Native::TimeDelta(t) => t.repr(),
            Native::Bytes(b) => bytes::repr(b),
        }
    }

    pub fn truthy(&self) -> bool {
        match self {
            Native::TimeDelta(t) => t.0 != 0,
            Native::Bytes(b) => !b.is_empty(),
            _ => true,
        }
    }

    /// The ordering of two values of one orderable type (`Ok(None)`: not orderable), or
    /// CPython's error (naive and aware dates).
    pub fn order(&self, other: &Native) -> R<Option<Ordering>> {
        Ok(match (self, other) {
            (Native::Ip(a), Native::Ip(b)) if a.is_ipv4() == b.is_ipv4() => Some(a.cmp(b)),
            (Native::DateTime(a), Native::DateTime(b)) => Some(datetime::order_datetimes(a, b)?),
            (Native::TimeDelta(a), Native::TimeDelta(b)) => Some(a.cmp(b)),
            (Native::Bytes(a), Native::Bytes(b)) => Some(a.cmp(b)),
            _ => None,
        })
    }

    /// `x in self`: an address in a network.
    pub fn contains(&self, x: &Obj<'_>) -> R<bool> {
        match (self, x) {
            (Native::Net { addr, prefix }, Obj::Native(n)) => match &**n {
                Native::Ip(ip) if ip.is_ipv4() == addr.is_ipv4() => {
                    let width = if addr.is_ipv4() { 32 } else { 128 };
                    let m = ipaddress::mask(width, *prefix);
                    Ok(ipaddress::bits_of(*ip) & m == ipaddress::bits_of(*addr))
                }
                _ => Ok(false),
            },
            (Native::Net { .. }, other) => Err(super::Exc::attribute_error(other, "_version")),
            (Native::MagicMock(_), _) => Ok(false),
            (Native::ParseResult(fields), x) => Ok(fields.iter().any(|f| x.as_str() == Some(f.as_str()))),
            (Native::Bytes(b), x) => bytes::contains(b, x),
            _ => Err(super::Exc::type_error(format!(
                "argument of type '{}' is not iterable",
                self.type_name()
            ))),
        }
    }

    pub fn iter<'e>(&self) -> R<Vec<Obj<'e>>> {
        match self {
            Native::MagicMock(_) => return Ok(Vec::new()),
            Native::ParseResult(fields) => {
                return Ok(fields.iter().map(|f| Obj::string(f.clone())).collect());
            }
            Native::Bytes(b) => return Ok(b.iter().map(|&c| Obj::Int(i64::from(c))).collect()),
            _ => {}
        }
        Err(super::Exc::type_error(format!("'{}' object is not iterable", self.type_name())))
    }

    /// `str(x)`.
    pub fn str(&self) -> String {
        match self {
            Native::Ip(ip) => ip.to_string(),
            Native::Net { addr, prefix } => format!("{addr}/{prefix}"),
            Native::MagicMock(_) | Native::ParseResult(_) | Native::Bytes(_) => self.repr(),
            Native::DateTime(d) => d.isoformat(' '),
            Native::TimeDelta(t) => t.str(),
        }
    }
}

/// `fnmatch.fnmatchcase(name, pattern)`.
pub fn fnmatchcase<'e>(args: &[Obj<'e>]) -> R<Obj<'e>> {
    match (args.first(), args.get(1)) {
        (Some(Obj::Str(name)), Some(Obj::Str(pat))) => {
            Ok(Obj::Bool(crate::value::glob_match(pat.as_str(), name.as_str())))
        }
        _ => Err(super::Exc::type_error("fnmatch() arguments must be strings")),
    }
}

/// `fnmatch.fnmatch(name, pattern)`: on POSIX (where Panther runs) `os.path.normcase` leaves
/// names unchanged, so this is `fnmatchcase`.
pub fn fnmatch<'e>(args: &[Obj<'e>]) -> R<Obj<'e>> {
    fnmatchcase(args)
}

/// `json.loads(s)`: objects become dictionaries (plain, case-sensitive), arrays lists.
pub fn json_loads<'e>(args: &[Obj<'e>]) -> R<Obj<'e>> {
    let Some(Obj::Str(s)) = args.first() else {
        return Err(super::Exc::type_error(format!(
            "the JSON object must be str, bytes or bytearray, not {}",
            args.first().map_or("NoneType", |a| a.type_name())
        )));
    };
    let value: serde_json::Value = serde_json::from_str(s.as_str())
        .map_err(|e| super::Exc::new("json.JSONDecodeError", e.to_string()))?;
    from_value(value)
}

fn from_value<'e>(v: serde_json::Value) -> R<Obj<'e>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => Obj::None,
        Value::Bool(b) => Obj::Bool(b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Obj::Int(i),
            (None, Some(f)) if n.is_f64() => Obj::Float(f),
            _ => return Err(super::Exc::overflow()),
        },
        Value::String(s) => Obj::string(s),
        Value::Array(a) => Obj::list(a.into_iter().map(from_value).collect::<R<_>>()?),
        Value::Object(m) => {
            Obj::dict(m.into_iter().map(|(k, v)| Ok((Obj::string(k), from_value(v)?))).collect::<R<_>>()?)?
        }
    })
}

/// `json.dumps(x)` with its defaults: `", "` and `": "` separators, non-ASCII escaped.
pub fn json_dumps<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    let mut out = String::new();
    dump(&mut out, x, false)?;
    Ok(Obj::string(out))
}

/// `json.dumps(x, default=PantherEvent.json_encoder, allow_nan=False)`: how Panther writes an
/// alert context (its wrappers as their raw container).
pub fn json_dumps_panther<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    let mut out = String::new();
    dump(&mut out, x, true)?;
    Ok(Obj::string(out))
}

fn dump(out: &mut String, x: &Obj<'_>, panther: bool) -> R<()> {
    use super::ops::{Kind, kind};
    match x {
        Obj::None => out.push_str("null"),
        Obj::Bool(true) => out.push_str("true"),
        Obj::Bool(false) => out.push_str("false"),
        Obj::Int(i) => out.push_str(&i.to_string()),
        Obj::Float(f) if !f.is_finite() && panther => {
            return Err(super::Exc::value_error("Out of range float values are not JSON compliant"));
        }
        Obj::Float(f) if f.is_nan() => out.push_str("NaN"),
        Obj::Float(f) if f.is_infinite() => out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" }),
        Obj::Json(_) | Obj::Event(_) if !panther => {
            return Err(super::Exc::type_error(format!(
                "Object of type {} is not JSON serializable",
                x.type_name()
            )));
        }
        Obj::Float(f) => out.push_str(&super::fmt::float_repr(*f)),
        Obj::Str(s) => dump_str(out, s.as_str()),
        _ => match kind(x) {
            Kind::List | Kind::Tuple => {
                out.push('[');
                for (i, item) in super::items(x)?.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    dump(out, item, panther)?;
                }
                out.push(']');
            }
            Kind::Dict => {
                out.push('{');
                for (i, (k, v)) in super::dict_items(x)?.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    match k {
                        Obj::Str(s) => dump_str(out, s.as_str()),
                        Obj::Int(_) | Obj::Float(_) | Obj::Bool(_) | Obj::None => {
                            let mut key = String::new();
                            dump(&mut key, k, panther)?;
                            dump_str(out, &key);
                        }
                        other => {
                            return Err(super::Exc::type_error(format!(
                                "keys must be str, int, float, bool or None, not {}",
                                other.type_name()
                            )));
                        }
                    }
                    out.push_str(": ");
                    dump(out, v, panther)?;
                }
                out.push('}');
            }
            _ if panther => {
                return Err(super::Exc::type_error(format!(
                    "object of type <class '{}'> is not JSON serializable",
                    x.class_path()
                )));
            }
            _ => {
                return Err(super::Exc::type_error(format!(
                    "Object of type {} is not JSON serializable",
                    x.type_name()
                )));
            }
        },
    }
    Ok(())
}

fn dump_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
