//! IP addresses and networks for the `IsIPAddress…` and `CIDR…` conditions.
//!
//! Owns address parsing of event fields, network overlap, and Python's `ipaddress` notions of
//! private and globally routable addresses (the tables of CPython 3.13, which fixed
//! CVE-2024-4032 and were backported to 3.11.10 and 3.12.4).
//! Must not: parse rule constants; codegen prepares them as [`Cidr`] constants.

use std::net::IpAddr;

use crate::value::Val;

/// An IPv4 or IPv6 network (a single address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// The address bits; IPv4 uses the low 32.
    bits: u128,
    prefix: u8,
    v4: bool,
}

impl Cidr {
    pub const fn v4(octets: [u8; 4], prefix: u8) -> Cidr {
        Cidr { bits: u32::from_be_bytes(octets) as u128, prefix, v4: true }
    }

    pub const fn v6(segments: [u16; 8], prefix: u8) -> Cidr {
        let mut bits = 0u128;
        let mut i = 0;
        while i < 8 {
            bits = (bits << 16) | segments[i] as u128;
            i += 1;
        }
        Cidr { bits, prefix, v4: false }
    }

    fn host(addr: IpAddr) -> Cidr {
        match addr {
            IpAddr::V4(a) => Cidr { bits: u32::from(a).into(), prefix: 32, v4: true },
            IpAddr::V6(a) => Cidr { bits: u128::from(a), prefix: 128, v4: false },
        }
    }

    /// An address, or `address/prefix` with host bits ignored (Python's `strict=False`).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let host = Cidr::host(addr.parse().ok()?);
        let prefix = match prefix {
            None => return Some(host),
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => p.parse::<u8>().ok()?,
            Some(_) => return None,
        };
        (prefix <= host.width()).then_some(Cidr { prefix, ..host })
    }

    fn width(&self) -> u8 {
        if self.v4 { 32 } else { 128 }
    }

    fn mask(&self, prefix: u8) -> u128 {
        let width = self.width();
        if prefix == 0 {
            return 0;
        }
        let all = if self.v4 { u128::from(u32::MAX) } else { u128::MAX };
        (all << (width - prefix)) & all
    }

    /// Whether the two networks share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        if self.v4 != other.v4 {
            return false;
        }
        let mask = self.mask(self.prefix.min(other.prefix));
        self.bits & mask == other.bits & mask
    }

    fn contains(&self, bits: u128) -> bool {
        let mask = self.mask(self.prefix);
        self.bits & mask == bits & mask
    }
}

// CPython `ipaddress` tables (3.13): private networks and their exceptions.
const V4_PRIVATE: &[Cidr] = &[
    Cidr::v4([0, 0, 0, 0], 8),
    Cidr::v4([10, 0, 0, 0], 8),
    Cidr::v4([127, 0, 0, 0], 8),
    Cidr::v4([169, 254, 0, 0], 16),
    Cidr::v4([172, 16, 0, 0], 12),
    Cidr::v4([192, 0, 0, 0], 24),
    Cidr::v4([192, 0, 0, 170], 31),
    Cidr::v4([192, 0, 2, 0], 24),
    Cidr::v4([192, 168, 0, 0], 16),
    Cidr::v4([198, 18, 0, 0], 15),
    Cidr::v4([198, 51, 100, 0], 24),
    Cidr::v4([203, 0, 113, 0], 24),
    Cidr::v4([240, 0, 0, 0], 4),
    Cidr::v4([255, 255, 255, 255], 32),
];
const V4_PRIVATE_EXCEPTIONS: &[Cidr] = &[Cidr::v4([192, 0, 0, 9], 32), Cidr::v4([192, 0, 0, 10], 32)];
/// Shared address space (RFC 6598): neither private nor global.
const V4_SHARED: Cidr = Cidr::v4([100, 64, 0, 0], 10);
const V6_PRIVATE: &[Cidr] = &[
    Cidr::v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
    Cidr::v6([0, 0, 0, 0, 0, 0, 0, 0], 128),
    Cidr::v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96),
    Cidr::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
    Cidr::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
    Cidr::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
    Cidr::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
    Cidr::v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),
    Cidr::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
    Cidr::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
    Cidr::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
];
const V6_PRIVATE_EXCEPTIONS: &[Cidr] = &[
    Cidr::v6([0x2001, 1, 0, 0, 0, 0, 0, 1], 128),
    Cidr::v6([0x2001, 1, 0, 0, 0, 0, 0, 2], 128),
    Cidr::v6([0x2001, 3, 0, 0, 0, 0, 0, 0], 32),
    Cidr::v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48),
    Cidr::v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28),
    Cidr::v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28),
];

fn in_table(bits: u128, table: &[Cidr]) -> bool {
    table.iter().any(|net| net.contains(bits))
}

/// Python's `ip_address(text).is_private`.
pub fn is_private(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a).into();
            in_table(bits, V4_PRIVATE) && !in_table(bits, V4_PRIVATE_EXCEPTIONS)
        }
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                let bits = u128::from(a);
                in_table(bits, V6_PRIVATE) && !in_table(bits, V6_PRIVATE_EXCEPTIONS)
            }
        },
    }
}

/// Python's `ip_address(text).is_global`.
pub fn is_global(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !V4_SHARED.contains(u32::from(a).into()) && !is_private(addr),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => is_global(IpAddr::V4(v4)),
            None => !is_private(addr),
        },
    }
}

/// Python's `ip_network(text).is_private`: both ends of the network in one private network of
/// the table, and neither in an exception.
pub fn network_is_private(first: IpAddr, last: IpAddr) -> bool {
    let (a, b) = (Cidr::host(first), Cidr::host(last));
    let (table, exceptions) =
        if a.v4 { (V4_PRIVATE, V4_PRIVATE_EXCEPTIONS) } else { (V6_PRIVATE, V6_PRIVATE_EXCEPTIONS) };
    table.iter().any(|n| n.contains(a.bits) && n.contains(b.bits))
        && exceptions.iter().all(|n| !n.contains(a.bits) && !n.contains(b.bits))
}

/// Python's `ip_network(text).is_global`.
pub fn network_is_global(first: IpAddr, last: IpAddr) -> bool {
    let shared = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            V4_SHARED.contains(u32::from(a).into()) && V4_SHARED.contains(u32::from(b).into())
        }
        _ => false,
    };
    !shared && !network_is_private(first, last)
}

impl Val<'_> {
    fn ip(&self) -> Option<IpAddr> {
        match self {
            Val::Str(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// `IsIPAddress`: a string that parses as an IPv4 or IPv6 address.
    pub fn is_ip(&self) -> bool {
        self.ip().is_some()
    }

    /// `IsIPv4Address`.
    pub fn is_ipv4(&self) -> bool {
        self.ip().is_some_and(|a| a.is_ipv4())
    }

    /// `IsIPv6Address`.
    pub fn is_ipv6(&self) -> bool {
        self.ip().is_some_and(|a| a.is_ipv6())
    }

    /// `IsIPAddressPublic`: a globally routable address.
    pub fn is_public_ip(&self) -> bool {
        self.ip().is_some_and(is_global)
    }

    /// `IsIPAddressPrivate`.
    pub fn is_private_ip(&self) -> bool {
        self.ip().is_some_and(is_private)
    }

    /// `IsIPAddressInCIDR`: the address or network in the field overlaps one of `cidrs`.
    pub fn in_cidr(&self, cidrs: &[Cidr]) -> bool {
        self.network().is_some_and(|net| cidrs.iter().any(|c| c.overlaps(&net)))
    }

    /// `CIDRContainsIPAddresses`: the field is a network holding one of `hosts`.
    pub fn cidr_contains(&self, hosts: &[Cidr]) -> bool {
        self.network().is_some_and(|net| hosts.iter().any(|h| net.overlaps(h)))
    }

    /// Multi-key `IsIPAddressInCIDR`: the second field is a string that parses as a CIDR (or an
    /// address), and the address or network in the first field overlaps it.
    pub fn in_cidr_field(&self, other: &Val<'_>) -> bool {
        match (self.network(), other.network()) {
            (Some(net), Some(cidr)) => cidr.overlaps(&net),
            _ => false,
        }
    }

    /// Multi-key `CIDRContainsIPAddresses`: the second field is a string that parses as an IP
    /// address, and the first field is a network holding it.
    pub fn cidr_contains_field(&self, other: &Val<'_>) -> bool {
        match (self.network(), other.ip()) {
            (Some(net), Some(addr)) => net.overlaps(&Cidr::host(addr)),
            _ => false,
        }
    }

    fn network(&self) -> Option<Cidr> {
        match self {
            Val::Str(s) => Cidr::parse(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(s: &str) -> bool {
        is_private(s.parse().unwrap())
    }

    fn global(s: &str) -> bool {
        is_global(s.parse().unwrap())
    }

    #[test]
    fn private_and_global_follow_python() {
        for p in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "192.0.2.5",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(private(p), "{p} is private");
            assert!(!global(p), "{p} is not global");
        }
        for g in ["8.8.8.8", "1.1.1.1", "52.95.110.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "192.0.0.9"]
        {
            assert!(global(g), "{g} is global");
            assert!(!private(g), "{g} is not private");
        }
        // Shared address space: neither.
        assert!(!private("100.64.0.1") && !global("100.64.0.1"));
        assert!(!private("2001:4:112::1"));
    }

    #[test]
    fn networks() {
        let ten = Cidr::v4([10, 0, 0, 0], 8);
        assert!(ten.overlaps(&Cidr::parse("10.9.8.7").unwrap()));
        assert!(ten.overlaps(&Cidr::parse("10.1.0.0/16").unwrap()));
        assert!(ten.overlaps(&Cidr::parse("0.0.0.0/0").unwrap()));
        assert!(!ten.overlaps(&Cidr::parse("11.0.0.1").unwrap()));
        assert!(!ten.overlaps(&Cidr::parse("::ffff:10.0.0.1").unwrap()));
        let doc = Cidr::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32);
        assert!(doc.overlaps(&Cidr::parse("2001:db8:1::5").unwrap()));
        assert!(!doc.overlaps(&Cidr::parse("2001:db9::5").unwrap()));
        assert_eq!(Cidr::parse("10.0.0.1/33"), None);
        assert_eq!(Cidr::parse("10.0.0.1/"), None);
        assert_eq!(Cidr::parse("10.0.0.1/+8"), None);
        assert_eq!(Cidr::parse("banana"), None);
    }

    #[test]
    fn conditions_on_values() {
        assert!(Val::Str("8.8.8.8").is_public_ip());
        assert!(Val::Str("10.0.0.1").is_private_ip());
        assert!(Val::Str("::1").is_ipv6() && !Val::Str("::1").is_ipv4());
        assert!(!Val::Str("not an ip").is_ip());
        assert!(!Val::Str("01.2.3.4").is_ip(), "leading zeros are rejected, as by Python");
        assert!(!Val::Missing.is_ip());
        assert!(Val::Str("10.2.3.4").in_cidr(&[Cidr::v4([192, 168, 0, 0], 16), Cidr::v4([10, 0, 0, 0], 8)]));
        assert!(Val::Str("10.0.0.0/8").cidr_contains(&[Cidr::v4([10, 1, 1, 1], 32)]));
        assert!(!Val::Str("10.0.0.0/8").cidr_contains(&[Cidr::v4([11, 1, 1, 1], 32)]));
    }

    #[test]
    fn conditions_between_two_fields() {
        let s = Val::Str;
        assert!(s("10.1.2.3").in_cidr_field(&s("10.0.0.0/8")) && s("10.1.2.3").in_cidr_field(&s("10.1.2.3")));
        assert!(
            s("10.0.0.0/16").in_cidr_field(&s("10.0.0.0/8"))
                && !s("11.0.0.1").in_cidr_field(&s("10.0.0.0/8"))
        );
        for bad in ["10.0.0.0/33", " 10.0.0.0/8", "10.0.0.0/+8", "banana", ""] {
            assert!(!s("10.1.2.3").in_cidr_field(&s(bad)), "{bad:?} does not parse");
        }
        assert!(!s("10.1.2.3").in_cidr_field(&Val::Missing) && !s("10.1.2.3").in_cidr_field(&Val::Null));
        assert!(s("10.0.0.0/8").cidr_contains_field(&s("10.9.8.7")));
        assert!(!s("10.0.0.0/8").cidr_contains_field(&s("10.1.0.0/16")), "an address, not a network");
        assert!(
            !s("10.0.0.0/40").cidr_contains_field(&s("10.0.0.1"))
                && !s("10.0.0.0/8").cidr_contains_field(&Val::Missing)
        );
    }
}
