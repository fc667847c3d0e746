//! Which attributes the Python types compiled rules hold have, for `hasattr`: the names of
//! `dir()` of each type (or, for Panther's wrappers, of an instance) without the special `__…__`
//! ones, as CPython 3.11 and panther_core 0.16.3 list them (generated with `dir()` in the
//! fixtures' venv).

/// `builtins.NoneType`.
pub const NONE: &[&str] = &[];
/// `builtins.bool`.
pub const BOOL: &[&str] = &[
    "as_integer_ratio",
    "bit_count",
    "bit_length",
    "conjugate",
    "denominator",
    "from_bytes",
    "imag",
    "numerator",
    "real",
    "to_bytes",
];
/// `builtins.int`.
pub const INT: &[&str] = &[
    "as_integer_ratio",
    "bit_count",
    "bit_length",
    "conjugate",
    "denominator",
    "from_bytes",
    "imag",
    "numerator",
    "real",
    "to_bytes",
];
/// `builtins.float`.
pub const FLOAT: &[&str] = &["as_integer_ratio", "conjugate", "fromhex", "hex", "imag", "is_integer", "real"];
/// `builtins.str`.
pub const STR: &[&str] = &[
    "capitalize",
    "casefold",
    "center",
    "count",
    "encode",
    "endswith",
    "expandtabs",
    "find",
    "format",
    "format_map",
    "index",
    "isalnum",
    "isalpha",
    "isascii",
    "isdecimal",
    "isdigit",
    "isidentifier",
    "islower",
    "isnumeric",
    "isprintable",
    "isspace",
    "istitle",
    "isupper",
    "join",
    "ljust",
    "lower",
    "lstrip",
    "maketrans",
    "partition",
    "removeprefix",
    "removesuffix",
    "replace",
    "rfind",
    "rindex",
    "rjust",
    "rpartition",
    "rsplit",
    "rstrip",
    "split",
    "splitlines",
    "startswith",
    "strip",
    "swapcase",
    "title",
    "translate",
    "upper",
    "zfill",
];
/// `builtins.list`.
pub const LIST: &[&str] =
    &["append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort"];
/// `builtins.tuple`.
pub const TUPLE: &[&str] = &["count", "index"];
/// `builtins.dict`.
pub const DICT: &[&str] = &[
    "clear",
    "copy",
    "fromkeys",
    "get",
    "items",
    "keys",
    "pop",
    "popitem",
    "setdefault",
    "update",
    "values",
];
/// `builtins.set`.
pub const SET: &[&str] = &[
    "add",
    "clear",
    "copy",
    "difference",
    "difference_update",
    "discard",
    "intersection",
    "intersection_update",
    "isdisjoint",
    "issubset",
    "issuperset",
    "pop",
    "remove",
    "symmetric_difference",
    "symmetric_difference_update",
    "union",
    "update",
];
/// `builtins.frozenset`.
pub const FROZENSET: &[&str] = &[
    "copy",
    "difference",
    "intersection",
    "isdisjoint",
    "issubset",
    "issuperset",
    "symmetric_difference",
    "union",
];
/// `re.Pattern`.
pub const PATTERN: &[&str] = &[
    "findall",
    "finditer",
    "flags",
    "fullmatch",
    "groupindex",
    "groups",
    "match",
    "pattern",
    "scanner",
    "search",
    "split",
    "sub",
    "subn",
];
/// `re.Match`.
pub const MATCH: &[&str] = &[
    "end",
    "endpos",
    "expand",
    "group",
    "groupdict",
    "groups",
    "lastgroup",
    "lastindex",
    "pos",
    "re",
    "regs",
    "span",
    "start",
    "string",
];
/// `ipaddress.IPv4Address`.
pub const IPV4_ADDRESS: &[&str] = &[
    "_ALL_ONES",
    "_check_int_address",
    "_check_packed_address",
    "_constants",
    "_explode_shorthand_ip_string",
    "_get_address_key",
    "_ip",
    "_ip_int_from_prefix",
    "_ip_int_from_string",
    "_make_netmask",
    "_max_prefixlen",
    "_netmask_cache",
    "_parse_octet",
    "_prefix_from_ip_int",
    "_prefix_from_ip_string",
    "_prefix_from_prefix_string",
    "_report_invalid_netmask",
    "_reverse_pointer",
    "_split_addr_prefix",
    "_string_from_ip_int",
    "_version",
    "compressed",
    "exploded",
    "is_global",
    "is_link_local",
    "is_loopback",
    "is_multicast",
    "is_private",
    "is_reserved",
    "is_unspecified",
    "max_prefixlen",
    "packed",
    "reverse_pointer",
    "version",
];
/// `ipaddress.IPv6Address`.
pub const IPV6_ADDRESS: &[&str] = &[
    "_ALL_ONES",
    "_HEXTET_COUNT",
    "_HEX_DIGITS",
    "_check_int_address",
    "_check_packed_address",
    "_compress_hextets",
    "_constants",
    "_explode_shorthand_ip_string",
    "_get_address_key",
    "_ip",
    "_ip_int_from_prefix",
    "_ip_int_from_string",
    "_make_netmask",
    "_max_prefixlen",
    "_netmask_cache",
    "_parse_hextet",
    "_prefix_from_ip_int",
    "_prefix_from_ip_string",
    "_prefix_from_prefix_string",
    "_report_invalid_netmask",
    "_reverse_pointer",
    "_scope_id",
    "_split_addr_prefix",
    "_split_scope_id",
    "_string_from_ip_int",
    "_version",
    "compressed",
    "exploded",
    "ipv4_mapped",
    "is_global",
    "is_link_local",
    "is_loopback",
    "is_multicast",
    "is_private",
    "is_reserved",
    "is_site_local",
    "is_unspecified",
    "max_prefixlen",
    "packed",
    "reverse_pointer",
    "scope_id",
    "sixtofour",
    "teredo",
    "version",
];
/// `ipaddress.IPv4Network`.
pub const IPV4_NETWORK: &[&str] = &[
    "_ALL_ONES",
    "_address_class",
    "_check_int_address",
    "_check_packed_address",
    "_constants",
    "_explode_shorthand_ip_string",
    "_get_networks_key",
    "_ip_int_from_prefix",
    "_ip_int_from_string",
    "_is_subnet_of",
    "_make_netmask",
    "_max_prefixlen",
    "_netmask_cache",
    "_parse_octet",
    "_prefix_from_ip_int",
    "_prefix_from_ip_string",
    "_prefix_from_prefix_string",
    "_prefixlen",
    "_report_invalid_netmask",
    "_reverse_pointer",
    "_split_addr_prefix",
    "_string_from_ip_int",
    "_version",
    "address_exclude",
    "broadcast_address",
    "compare_networks",
    "compressed",
    "exploded",
    "hostmask",
    "hosts",
    "is_global",
    "is_link_local",
    "is_loopback",
    "is_multicast",
    "is_private",
    "is_reserved",
    "is_unspecified",
    "max_prefixlen",
    "netmask",
    "network_address",
    "num_addresses",
    "overlaps",
    "prefixlen",
    "reverse_pointer",
    "subnet_of",
    "subnets",
    "supernet",
    "supernet_of",
    "version",
    "with_hostmask",
    "with_netmask",
    "with_prefixlen",
];
/// `ipaddress.IPv6Network`.
pub const IPV6_NETWORK: &[&str] = &[
    "_ALL_ONES",
    "_HEXTET_COUNT",
    "_HEX_DIGITS",
    "_address_class",
    "_check_int_address",
    "_check_packed_address",
    "_compress_hextets",
    "_constants",
    "_explode_shorthand_ip_string",
    "_get_networks_key",
    "_ip_int_from_prefix",
    "_ip_int_from_string",
    "_is_subnet_of",
    "_make_netmask",
    "_max_prefixlen",
    "_netmask_cache",
    "_parse_hextet",
    "_prefix_from_ip_int",
    "_prefix_from_ip_string",
    "_prefix_from_prefix_string",
    "_prefixlen",
    "_report_invalid_netmask",
    "_reverse_pointer",
    "_split_addr_prefix",
    "_split_scope_id",
    "_string_from_ip_int",
    "_version",
    "address_exclude",
    "broadcast_address",
    "compare_networks",
    "compressed",
    "exploded",
    "hostmask",
    "hosts",
    "is_global",
    "is_link_local",
    "is_loopback",
    "is_multicast",
    "is_private",
    "is_reserved",
    "is_site_local",
    "is_unspecified",
    "max_prefixlen",
    "netmask",
    "network_address",
    "num_addresses",
    "overlaps",
    "prefixlen",
    "reverse_pointer",
    "subnet_of",
    "subnets",
    "supernet",
    "supernet_of",
    "version",
    "with_hostmask",
    "with_netmask",
    "with_prefixlen",
];
/// `panther_core.enriched_event.PantherEvent`.
pub const EVENT: &[&str] = &[
    "_CONVERSIONS",
    "_abc_impl",
    "_add_lookup_function",
    "_build_case_insensitive_keymap",
    "_case_insensitive_keymap",
    "_case_insensitive_lookup",
    "_container",
    "_ensure_immutable",
    "_get_json_path",
    "_get_method",
    "_keymap_fully_built",
    "_keymap_key_iterator",
    "_shallow_copy",
    "_validate",
    "copy",
    "data_model",
    "deep_get",
    "deep_walk",
    "event_time_epoch",
    "get",
    "items",
    "json_encoder",
    "keys",
    "lookup",
    "lookup_function",
    "mutable_type",
    "raw_view",
    "register",
    "to_dict",
    "udm",
    "udm_path",
    "values",
];
/// `panther_core.immutable.ImmutableCaseInsensitiveDict`.
pub const JSON_OBJECT: &[&str] = &[
    "_CONVERSIONS",
    "_abc_impl",
    "_build_case_insensitive_keymap",
    "_case_insensitive_keymap",
    "_case_insensitive_lookup",
    "_container",
    "_ensure_immutable",
    "_keymap_fully_built",
    "_keymap_key_iterator",
    "_shallow_copy",
    "copy",
    "deep_get",
    "get",
    "items",
    "keys",
    "mutable_type",
    "raw_view",
    "register",
    "to_dict",
    "values",
];
/// `panther_core.immutable.ImmutableList`.
pub const JSON_ARRAY: &[&str] = &[
    "_CONVERSIONS",
    "_abc_impl",
    "_container",
    "_ensure_immutable",
    "_shallow_copy",
    "as_list",
    "copy",
    "count",
    "index",
    "mutable_type",
    "register",
];

use super::stdlib::Native;
use super::{Const, Exc, Obj, R};
use serde_json::Value;

/// `x.name` for an attribute compiled code reads by name: of a `policyuniverse` object or named
/// tuple, or of an object of the rule's classes; `AttributeError` where the type has no such
/// attribute, an error where it has one this runtime does not model.
pub fn attribute<'e>(x: &Obj<'e>, name: &str) -> R<Obj<'e>> {
    match super::stdlib::policyuniverse::attribute(x, name) {
        Some(r) => r,
        None => super::instance::getattr(x, name),
    }
}

/// `getattr(x, name[, default])`: [`attribute`], with `default` for an `AttributeError`.
pub fn getattr<'e>(x: &Obj<'e>, name: &Obj<'e>, default: Option<Obj<'e>>) -> R<Obj<'e>> {
    let Obj::Str(n) = name else {
        return Err(Exc::type_error(format!("attribute name must be string, not '{}'", name.type_name())));
    };
    if n.as_str().starts_with("__") {
        return Err(Exc::unsupported(format!("getattr with the special name {:?}", n.as_str())));
    }
    match (attribute(x, n.as_str()), default) {
        (Err(e), Some(d)) if e.kind == "AttributeError" && !e.internal => Ok(d),
        (r, _) => r,
    }
}

/// `hasattr(x, name)`. What this runtime does not tell apart is an error: a special name, a
/// set that may be a `frozenset`, a dictionary that may be an `OrderedDict`, a function.
pub fn hasattr(x: &Obj<'_>, name: &Obj<'_>) -> R<bool> {
    let Obj::Str(name) = name else {
        return Err(Exc::type_error(format!("attribute name must be string, not '{}'", name.type_name())));
    };
    let name = name.as_str();
    if name.starts_with("__") {
        return Err(Exc::unsupported(format!("hasattr with the special name {name:?}")));
    }
    let has = |table: &[&str]| table.contains(&name);
    let table = match x {
        Obj::None => NONE,
        Obj::Bool(_) => BOOL,
        Obj::Int(_) => INT,
        Obj::Float(_) => FLOAT,
        Obj::Str(_) => STR,
        Obj::Json(Value::Object(_)) => JSON_OBJECT,
        Obj::Json(_) => JSON_ARRAY,
        Obj::Event(e) if e.is_event() => EVENT,
        Obj::Event(_) => JSON_OBJECT,
        Obj::Const(Const::List(_)) | Obj::List(_) => LIST,
        Obj::Const(Const::Tuple(_)) | Obj::Tuple(_) => TUPLE,
        Obj::Const(Const::Dict(_)) | Obj::Dict(_) => {
            if name == "move_to_end" {
                return Err(Exc::unsupported(
                    "hasattr(…, \"move_to_end\") on a dict that may be an OrderedDict",
                ));
            }
            DICT
        }
        Obj::Const(Const::Set(_)) | Obj::Set(_) => {
            if has(SET) != has(FROZENSET) {
                return Err(Exc::unsupported(format!(
                    "hasattr(…, {name:?}) on a set that may be a frozenset"
                )));
            }
            SET
        }
        Obj::Const(Const::Regex(..)) | Obj::Regex(_) => PATTERN,
        Obj::Const(Const::Str(_)) => STR,
        Obj::Const(Const::None) => NONE,
        Obj::Const(Const::Bool(_)) => BOOL,
        Obj::Const(Const::Int(_)) => INT,
        Obj::Const(Const::Float(_)) => FLOAT,
        Obj::Const(Const::Net(std::net::IpAddr::V4(_), _)) => IPV4_NETWORK,
        Obj::Const(Const::Net(..)) => IPV6_NETWORK,
        Obj::Match(_) => MATCH,
        // Read as a `Native` value, never held as this.
        Obj::Const(Const::Date(_)) => return Err(Exc::unsupported("hasattr on a datetime or timedelta")),
        Obj::Native(n) => match &**n {
            Native::Ip(std::net::IpAddr::V4(_)) => IPV4_ADDRESS,
            Native::Ip(_) => IPV6_ADDRESS,
            Native::Net { addr: std::net::IpAddr::V4(_), .. } => IPV4_NETWORK,
            Native::Net { .. } => IPV6_NETWORK,
            // A `MagicMock` makes up attributes as they are asked for (except some), and a
            // `ParseResult` has many besides its fields: neither table is kept.
            Native::MagicMock(_) => return Err(Exc::unsupported("hasattr on a mocked value (a MagicMock)")),
            Native::ParseResult(_) => return Err(Exc::unsupported("hasattr on a urllib.parse ParseResult")),
            Native::DateTime(_) | Native::TimeDelta(_) => {
                return Err(Exc::unsupported("hasattr on a datetime or timedelta"));
            }
            Native::Bytes(_) => return Err(super::stdlib::bytes::unmodelled("hasattr")),
        },
        Obj::Func(_) => return Err(Exc::unsupported("hasattr on a function")),
        Obj::Instance(i) => return Ok(super::instance::has(i, name)),
        // A named tuple: its fields, the tuple's methods and those `namedtuple` adds.
        Obj::NamedTuple(t) => {
            return Ok(t.fields.contains(&name)
                || has(TUPLE)
                || ["_asdict", "_field_defaults", "_fields", "_make", "_replace"].contains(&name));
        }
    };
    Ok(has(table))
}
