//! Python's `ipaddress`: `ip_address`, `ip_network` and the `IPv4…`/`IPv6…` constructors,
//! with CPython's strict parsing (no leading zeros in IPv4 octets) and its `is_private` /
//! `is_global` tables (those of `crate::ip`). An IPv6 scope id (`%eth0`) is not modelled:
//! an error, not another answer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::super::{Exc, Obj, R, repr};
use super::Native;

/// Which constructor: the error class and message differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Any,
    V4,
    V6,
}

fn v4(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty()
            || p.len() > 3
            || !p.bytes().all(|b| b.is_ascii_digit())
            || (p.len() > 1 && p.starts_with('0'))
        {
            return None;
        }
        octets[i] = p.parse::<u16>().ok().filter(|&v| v <= 255)? as u8;
    }
    Some(Ipv4Addr::from(octets))
}

fn v6(text: &str) -> R<Option<Ipv6Addr>> {
    if text.contains('%') {
        return Err(Exc::unsupported("an IPv6 address with a scope id"));
    }
    // Python also requires an embedded IPv4 part to be strict.
    if let Some(i) = text.rfind(':')
        && text[i + 1..].contains('.')
        && v4(&text[i + 1..]).is_none()
    {
        return Ok(None);
    }
    Ok(text.parse::<Ipv6Addr>().ok())
}

fn text_of(x: &Obj<'_>) -> String {
    match x {
        Obj::Str(s) => s.as_str().to_string(),
        other => super::super::str_of(other),
    }
}

/// `ip_address(x)`, `IPv4Address(x)`, `IPv6Address(x)`.
pub fn address<'e>(x: &Obj<'e>, kind: Kind) -> R<Obj<'e>> {
    if let Obj::Native(n) = x
        && let Native::Ip(ip) = **n
        && (kind == Kind::Any || (kind == Kind::V4) == ip.is_ipv4())
    {
        return Ok(x.clone());
    }
    if let Obj::Int(_) | Obj::Bool(_) = x {
        return Err(Exc::unsupported("an IP address from an integer"));
    }
    let text = text_of(x);
    let parsed = match kind {
        Kind::V4 => v4(&text).map(IpAddr::V4),
        Kind::V6 => v6(&text)?.map(IpAddr::V6),
        Kind::Any => match v4(&text) {
            Some(a) => Some(IpAddr::V4(a)),
            None => v6(&text)?.map(IpAddr::V6),
        },
    };
    match parsed {
        Some(ip) => Ok(Obj::Native(std::rc::Rc::new(Native::Ip(ip)))),
        None => Err(match kind {
            Kind::Any => {
                Exc::value_error(format!("{} does not appear to be an IPv4 or IPv6 address", repr(x)))
            }
            Kind::V4 => Exc::new(
                "ipaddress.AddressValueError",
                format!("Expected 4 octets in {}", repr(&Obj::string(text))),
            ),
            Kind::V6 => Exc::new(
                "ipaddress.AddressValueError",
                format!("At least 3 parts expected in {}", repr(&Obj::string(text))),
            ),
        }),
    }
}

/// `ip_network(x, strict=True)` and the `IPv4Network`/`IPv6Network` constructors.
pub fn network<'e>(x: &Obj<'e>, strict: bool, kind: Kind) -> R<Obj<'e>> {
    let text = text_of(x);
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a.to_string(), Some(p.to_string())),
        None => (text.clone(), None),
    };
    let bad = || match kind {
        Kind::Any => Exc::value_error(format!("{} does not appear to be an IPv4 or IPv6 network", repr(x))),
        _ => Exc::new("ipaddress.AddressValueError", format!("invalid network {}", repr(x))),
    };
    let ip = match kind {
        Kind::V4 => v4(&addr).map(IpAddr::V4),
        Kind::V6 => v6(&addr)?.map(IpAddr::V6),
        Kind::Any => match v4(&addr) {
            Some(a) => Some(IpAddr::V4(a)),
            None => v6(&addr)?.map(IpAddr::V6),
        },
    }
    .ok_or_else(bad)?;
    let width: u8 = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
            p.parse::<u8>().ok().filter(|&v| v <= width).ok_or_else(|| {
                Exc::new("ipaddress.NetmaskValueError", format!("{p:?} is not a valid netmask"))
            })?
        }
        Some(_) => return Err(Exc::unsupported("a network with a netmask that is not a prefix length")),
    };
    let bits = bits_of(ip);
    let mask = mask(width, prefix);
    if strict && bits & !mask != 0 {
        return Err(Exc::value_error(format!("{text} has host bits set")));
    }
    Ok(Obj::Native(std::rc::Rc::new(Native::Net { addr: from_bits(bits & mask, ip.is_ipv4()), prefix })))
}

/// `a.subnet_of(b)` (`supernet_of` swaps them): CPython's `_is_subnet_of`, whose
/// `AttributeError` on a value that is not a network becomes a `TypeError`.
pub fn is_subnet_of<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    let net = |x: &Obj<'e>| match x {
        Obj::Native(n) => match **n {
            Native::Net { addr, prefix } => Some((addr, prefix)),
            _ => None,
        },
        _ => None,
    };
    let (Some((a_addr, a_prefix)), Some((b_addr, b_prefix))) = (net(a), net(b)) else {
        return Err(Exc::type_error(format!(
            "Unable to test subnet containment between {} and {}",
            crate::py::str_of(a),
            crate::py::str_of(b)
        )));
    };
    if a_addr.is_ipv4() != b_addr.is_ipv4() {
        return Err(Exc::type_error(format!(
            "{} and {} are not of the same version",
            crate::py::str_of(a),
            crate::py::str_of(b)
        )));
    }
    let width = if a_addr.is_ipv4() { 32 } else { 128 };
    let range = |addr: IpAddr, prefix: u8| {
        let bits = bits_of(addr);
        (bits, bits | (!mask(width, prefix) & mask(width, width)))
    };
    let ((a_lo, a_hi), (b_lo, b_hi)) = (range(a_addr, a_prefix), range(b_addr, b_prefix));
    Ok(Obj::Bool(b_lo <= a_lo && b_hi >= a_hi))
}

pub(super) fn bits_of(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a).into(),
        IpAddr::V6(a) => u128::from(a),
    }
}

pub(super) fn from_bits(bits: u128, v4: bool) -> IpAddr {
    if v4 { IpAddr::V4(Ipv4Addr::from(bits as u32)) } else { IpAddr::V6(Ipv6Addr::from(bits)) }
}

pub(super) fn mask(width: u8, prefix: u8) -> u128 {
    let all = if width == 32 { u128::from(u32::MAX) } else { u128::MAX };
    if prefix == 0 { 0 } else { (all << (width - prefix)) & all }
}

/// The attributes compiled rules read (`ip.is_private`, `net.is_global`, `ip.version`, …).
pub fn attribute<'e>(x: &Obj<'e>, name: &str) -> R<Obj<'e>> {
    let Obj::Native(n) = x else { return Err(Exc::attribute_error(x, name)) };
    let value = match (&**n, name) {
        (Native::Ip(ip), "is_private") => Obj::Bool(crate::ip::is_private(*ip)),
        (Native::Ip(ip), "is_global") => Obj::Bool(crate::ip::is_global(*ip)),
        (Native::Ip(ip), "is_loopback") => Obj::Bool(match ip {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => a.is_loopback(),
        }),
        (Native::Ip(ip), "is_multicast") => Obj::Bool(ip.is_multicast()),
        (Native::Ip(IpAddr::V4(a)), "is_link_local") => Obj::Bool(a.is_link_local()),
        (Native::Ip(IpAddr::V6(a)), "is_link_local") => Obj::Bool((u128::from(*a) >> 118) == 0x3fa),
        (Native::Ip(ip), "version") => Obj::Int(if ip.is_ipv4() { 4 } else { 6 }),
        (Native::Net { addr, prefix }, "is_private" | "is_global") => {
            let width = if addr.is_ipv4() { 32 } else { 128 };
            let all = if width == 32 { u128::from(u32::MAX) } else { u128::MAX };
            let last = from_bits(bits_of(*addr) | (!mask(width, *prefix) & all), addr.is_ipv4());
            let f = if name == "is_private" {
                crate::ip::network_is_private
            } else {
                crate::ip::network_is_global
            };
            Obj::Bool(f(*addr, last))
        }
        (Native::Net { addr, .. }, "network_address") => Obj::Native(std::rc::Rc::new(Native::Ip(*addr))),
        (Native::Net { prefix, .. }, "prefixlen") => Obj::Int(i64::from(*prefix)),
        (Native::Net { addr, .. }, "version") => Obj::Int(if addr.is_ipv4() { 4 } else { 6 }),
        _ => return Err(Exc::attribute_error(x, name)),
    };
    Ok(value)
}
