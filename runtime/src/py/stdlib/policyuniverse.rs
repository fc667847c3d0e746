//! `policyuniverse` (Netflix's IAM policy library, which Panther's runtime ships): the part
//! that rules reach, `Policy(document)` and `Statement(statement)` with their attributes and
//! `is_internet_accessible()`, ported from policyuniverse 1.5.1.20231109 (`policy.py`,
//! `statement.py`, `arn.py`, `organization.py`, `common.py`; Copyright 2017 Netflix, Inc.,
//! Apache License 2.0).
//!
//! A `Policy` and a `Statement` are objects ([`Obj::Instance`]) with the attributes their
//! `__init__` sets (`policy`, `statements`; `statement`, `condition_entries`, `principals`,
//! `actions`), read back at each call as CPython does, so that what a rule does to them shows.
//! A condition entry is the named tuple `Condition(category, value)`. Every step goes through
//! the runtime's Python operations, so Panther's case-insensitive wrappers (a policy taken from
//! the event rather than `json.loads`) behave as they do under CPython, and a malformed document
//! raises what policyuniverse raises (`AttributeError` for a statement that is not a mapping,
//! `TypeError` for an unhashable principal, …). Two things are an error here instead:
//! a principal set whose verdict depends on CPython's set order (an internet-accessible
//! principal beside one that raises), and values of types whose methods are not modelled (a
//! mocked value, an object of a class of the rule).
//!
//! The `policyuniverse` action data (`action_summary`, `actions_expanded`) is not ported: those
//! methods are rejected at build time.

use std::rc::Rc;

use super::super::event::{is_mapping, mapping_get};
use super::super::instance::{self, Class};
use super::super::ops::{Kind, kind};
use super::super::{Exc, NamedTuple, Obj, R, contains, eq, getitem, hashable, iter, len, truthy};
use super::Native;

/// `policyuniverse.policy.Policy`: its attributes, properties and methods (for `hasattr`).
pub static POLICY: Class = Class {
    module: "policyuniverse.policy",
    name: "Policy",
    methods: &[
        "principals",
        "condition_entries",
        "action_summary",
        "is_internet_accessible",
        "internet_accessible_actions",
        "whos_allowed",
    ],
};

/// `policyuniverse.statement.Statement`.
pub static STATEMENT: Class = Class {
    module: "policyuniverse.statement",
    name: "Statement",
    methods: &[
        "effect",
        "actions_expanded",
        "_actions",
        "action_summary",
        "uses_not_principal",
        "resources",
        "whos_allowed",
        "_principals",
        "_add_or_extend",
        "_condition_entries",
        "condition_arns",
        "condition_accounts",
        "condition_orgids",
        "condition_orgpaths",
        "condition_userids",
        "condition_cidrs",
        "condition_vpcs",
        "condition_vpces",
        "_condition_field",
        "is_internet_accessible",
        "is_condition_internet_accessible",
        "_is_condition_entry_internet_accessible",
        "_cidr_internet_accessible",
        "_userid_internet_accessible",
        "_arn_internet_accessible",
        "_organization_internet_accessible",
    ],
};

/// `ConditionTuple = namedtuple("Condition", "category value")`.
const CONDITION: (&str, &[&str]) = ("Condition", &["category", "value"]);

/// The condition keys policyuniverse reads, by `key.lower()`, and their category.
const KEY_MAPPING: &[(&str, &str)] = &[
    ("aws:sourcearn", "arn"),
    ("aws:principalarn", "arn"),
    ("aws:sourceowner", "account"),
    ("aws:sourceaccount", "account"),
    ("aws:principalaccount", "account"),
    ("aws:principalorgid", "organization"),
    ("aws:principalorgpaths", "organization"),
    ("kms:calleraccount", "account"),
    ("aws:userid", "userid"),
    ("aws:sourceip", "cidr"),
    ("aws:sourcevpc", "vpc"),
    ("aws:sourcevpce", "vpce"),
    ("saml:aud", "saml-endpoint"),
];

fn is_class(x: &Obj<'_>, class: &'static Class) -> bool {
    matches!(x, Obj::Instance(i) if std::ptr::eq(i.class, class))
}

/// Values whose methods policyuniverse would call but this runtime cannot answer for: a
/// `MagicMock` (every attribute exists) or an object of the rule's own classes.
fn not_modelled(x: &Obj<'_>) -> R<()> {
    match x {
        Obj::Instance(i) if !std::ptr::eq(i.class, &POLICY) && !std::ptr::eq(i.class, &STATEMENT) => {
            Err(Exc::unsupported(format!("policyuniverse given an object of the class `{}`", i.class.name)))
        }
        Obj::Native(n) if matches!(**n, Native::MagicMock(_)) => {
            Err(Exc::unsupported("policyuniverse given a mocked value (a MagicMock)"))
        }
        _ => Ok(()),
    }
}

/// `common.is_array`: a sequence other than a string.
fn is_array(x: &Obj<'_>) -> bool {
    matches!(kind(x), Kind::List | Kind::Tuple)
}

/// `common.ensure_array`.
fn ensure_array<'e>(x: Obj<'e>) -> R<Vec<Obj<'e>>> {
    if is_array(&x) { iter(&x) } else { Ok(vec![x]) }
}

/// `obj.get(key)` as policyuniverse calls it on a document.
fn get<'e>(obj: &Obj<'e>, key: &'static str, default: Obj<'e>) -> R<Obj<'e>> {
    not_modelled(obj)?;
    mapping_get(obj, &Obj::str(key), default)
}

/// `Policy(policy)`.
pub fn policy<'e>(document: &Obj<'e>) -> R<Obj<'e>> {
    let obj = instance::instance(&POLICY);
    instance::setattr(&obj, "policy", document.clone())?;
    let statements = Obj::list(Vec::new());
    instance::setattr(&obj, "statements", statements.clone())?;
    let structure = ensure_array(get(document, "Statement", Obj::list(Vec::new()))?)?;
    for s in structure {
        let s = statement(&s)?;
        if let Obj::List(l) = &statements {
            l.borrow_mut().push(s);
        }
    }
    Ok(obj)
}

/// `Statement(statement)`: its attributes in `__init__`'s order (and so its exceptions).
pub fn statement<'e>(raw: &Obj<'e>) -> R<Obj<'e>> {
    let obj = instance::instance(&STATEMENT);
    instance::setattr(&obj, "statement", raw.clone())?;
    instance::setattr(&obj, "condition_entries", Obj::list(condition_entries(raw)?))?;
    instance::setattr(&obj, "principals", principals(raw)?)?;
    instance::setattr(&obj, "actions", actions(raw)?)?;
    Ok(obj)
}

/// `Statement._actions`.
fn actions<'e>(raw: &Obj<'e>) -> R<Obj<'e>> {
    let actions = get(raw, "Action", Obj::None)?;
    if !truthy(&actions) {
        return Obj::set(Vec::new());
    }
    Obj::set(ensure_array(actions)?)
}

/// `Statement._principals`: `Principal` as a string or list, or its `AWS`, `Service` and
/// `Federated` entries.
fn principals<'e>(raw: &Obj<'e>) -> R<Obj<'e>> {
    let principal = get(raw, "Principal", Obj::None)?;
    let mut out: Vec<Obj<'e>> = Vec::new();
    if !truthy(&principal) {
        return Obj::set(out);
    }
    if is_mapping(&principal) {
        for key in ["AWS", "Service", "Federated"] {
            let key = Obj::str(key);
            if contains(&principal, &key)? {
                add_or_extend(getitem(&principal, &key)?, &mut out)?;
            }
        }
    } else {
        add_or_extend(principal, &mut out)?;
    }
    Obj::set(out)
}

/// `Statement._add_or_extend`: `set.update(set(value))` or `set.add(value)`.
fn add_or_extend<'e>(value: Obj<'e>, out: &mut Vec<Obj<'e>>) -> R<()> {
    let values = if is_array(&value) { iter(&value)? } else { vec![value] };
    for v in &values {
        hashable(v)?;
    }
    for v in values {
        if !out.iter().any(|o| eq(o, &v)) {
            out.push(v);
        }
    }
    Ok(())
}

/// `Statement._condition_entries`: the entries of the `ARN…`, `String(Equals|Like)…` and
/// `IpAddress…` operators whose keys policyuniverse knows.
fn condition_entries<'e>(raw: &Obj<'e>) -> R<Vec<Obj<'e>>> {
    let mut out = Vec::new();
    let condition = get(raw, "Condition", Obj::None)?;
    if !truthy(&condition) {
        return Ok(out);
    }
    not_modelled(&condition)?;
    if kind(&condition) != Kind::Dict {
        return Err(Exc::attribute_error(&condition, "keys"));
    }
    for operator in iter(&condition)? {
        let Obj::Str(op) = &operator else {
            return Err(Exc::type_error(format!(
                "expected string or bytes-like object, got '{}'",
                operator.type_name()
            )));
        };
        if !relevant_operator(op.as_str()) {
            continue;
        }
        let entries = getitem(&condition, &operator)?;
        not_modelled(&entries)?;
        if kind(&entries) != Kind::Dict {
            return Err(Exc::attribute_error(&entries, "items"));
        }
        for (key, value) in super::super::dict_items(&entries)? {
            let lowered = match &key {
                Obj::Str(k) => k.as_str().to_lowercase(),
                other => {
                    not_modelled(other)?;
                    return Err(Exc::attribute_error(other, "lower"));
                }
            };
            let Some(&(_, category)) = KEY_MAPPING.iter().find(|(k, _)| *k == lowered) else { continue };
            let values = if is_array(&value) { iter(&value)? } else { vec![value] };
            for v in values {
                out.push(condition_tuple(category, v));
            }
        }
    }
    Ok(out)
}

fn condition_tuple<'e>(category: &'static str, value: Obj<'e>) -> Obj<'e> {
    Obj::NamedTuple(Rc::new(NamedTuple {
        name: CONDITION.0,
        fields: CONDITION.1,
        items: Box::new([Obj::str(category), value]),
    }))
}

/// Whether one of policyuniverse's three operator patterns `re.match`es (a prefix, ignoring
/// case): `((ForAllValues|ForAnyValue):)?` then `ARN(Equals|Like)`, `String(Equals|Like)` or
/// `IpAddress`.
fn relevant_operator(op: &str) -> bool {
    let rests = [ci_prefix(op, "forallvalues:"), ci_prefix(op, "foranyvalue:"), Some(op)];
    rests.into_iter().flatten().any(|rest| {
        ["arnequals", "arnlike", "stringequals", "stringlike", "ipaddress"]
            .iter()
            .any(|lit| ci_prefix(rest, lit).is_some())
    })
}

/// `text` after a prefix matching `lit` (ASCII lower case and `:`) as CPython's `re.IGNORECASE`
/// matches a literal letter: the character's simple lower case is the letter, or it is one of
/// the equivalents `re` adds (`ı` for `i`, `ſ` for `s`). `İ` lowers to `i` and the Kelvin sign
/// to `k`.
fn ci_prefix<'a>(text: &'a str, lit: &str) -> Option<&'a str> {
    let mut chars = text.char_indices();
    for l in lit.chars() {
        let (_, c) = chars.next()?;
        let same = c == l
            || (l.is_ascii_alphabetic() && c.is_ascii() && c.to_ascii_lowercase() == l)
            || (l == 'i' && matches!(c, '\u{130}' | '\u{131}'))
            || (l == 'k' && c == '\u{212a}')
            || (l == 's' && c == '\u{17f}');
        if !same {
            return None;
        }
    }
    Some(chars.as_str())
}

/// `x.name` for the attributes and properties of policyuniverse's objects and named tuples,
/// and for the attributes of the rule's own classes (`None` when `x` is neither).
pub fn attribute<'e>(x: &Obj<'e>, name: &str) -> Option<R<Obj<'e>>> {
    if is_class(x, &STATEMENT) && name == "effect" {
        return Some(instance::getattr(x, "statement").and_then(|s| get(&s, "Effect", Obj::None)));
    }
    if is_class(x, &POLICY) && matches!(name, "principals" | "condition_entries") {
        return Some(policy_union(x, name));
    }
    match x {
        Obj::NamedTuple(t) => Some(match t.field(name) {
            Some(v) => Ok(v.clone()),
            None => match super::super::hasattr(x, &Obj::str(name)) {
                Ok(false) => Err(Exc::attribute_error(x, name)),
                _ => Err(Exc::unsupported(format!("the attribute `{name}` of a named tuple"))),
            },
        }),
        Obj::Instance(_) => Some(instance::getattr(x, name)),
        _ => None,
    }
}

/// `Policy.principals` / `Policy.condition_entries`: the union of its statements' sets.
fn policy_union<'e>(policy: &Obj<'e>, name: &str) -> R<Obj<'e>> {
    let mut all = Vec::new();
    for s in iter(&instance::getattr(policy, "statements")?)? {
        not_statement(&s, name)?;
        all.extend(iter(&instance::getattr(&s, name)?)?);
    }
    Obj::set(all)
}

fn not_statement(s: &Obj<'_>, what: &str) -> R<()> {
    if is_class(s, &STATEMENT) {
        return Ok(());
    }
    not_modelled(s)?;
    Err(Exc::attribute_error(s, what))
}

/// `x.is_internet_accessible()` on a `Policy` (any statement) or a `Statement`.
pub fn is_internet_accessible(x: &Obj<'_>) -> R<bool> {
    if is_class(x, &POLICY) {
        for s in iter(&instance::getattr(x, "statements")?)? {
            not_statement(&s, "is_internet_accessible")?;
            if statement_internet_accessible(&s)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if is_class(x, &STATEMENT) {
        return statement_internet_accessible(x);
    }
    instance::no_method(x, "is_internet_accessible").map(|_| false)
}

/// `x.is_condition_internet_accessible()` on a `Statement`.
pub fn is_condition_internet_accessible(x: &Obj<'_>) -> R<bool> {
    if !is_class(x, &STATEMENT) {
        return instance::no_method(x, "is_condition_internet_accessible").map(|_| false);
    }
    let entries = instance::getattr(x, "condition_entries")?;
    if len(&entries)? == 0 {
        return Ok(true);
    }
    for entry in iter(&entries)? {
        if entry_internet_accessible(&entry)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `x.uses_not_principal()` on a `Statement`.
pub fn uses_not_principal(x: &Obj<'_>) -> R<bool> {
    if !is_class(x, &STATEMENT) {
        return instance::no_method(x, "uses_not_principal").map(|_| false);
    }
    let raw = instance::getattr(x, "statement")?;
    not_modelled(&raw)?;
    contains(&raw, &Obj::str("NotPrincipal"))
}

/// `Statement.is_internet_accessible`.
fn statement_internet_accessible(s: &Obj<'_>) -> R<bool> {
    let effect = attribute(s, "effect").expect("a statement")?;
    if !eq(&effect, &Obj::str("Allow")) {
        return Ok(false);
    }
    if !is_condition_internet_accessible(s)? {
        return Ok(false);
    }
    if uses_not_principal(s)? {
        return Ok(true);
    }
    let principals = instance::getattr(s, "principals")?;
    let results: Vec<R<bool>> = iter(&principals)?.iter().map(arn_internet_accessible).collect();
    if kind(&principals) != Kind::Set {
        // A sequence (a rule replaced the set): in order, as the loop goes.
        for r in results {
            if r? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    // CPython visits a set in hash order, which varies from process to process: the verdict is
    // its own only if it does not depend on which principal comes first.
    let accessible = results.iter().any(|r| matches!(r, Ok(true)));
    match results.into_iter().find_map(Result::err) {
        Some(_) if accessible => Err(Exc::unsupported(
            "policyuniverse's verdict on these principals depends on CPython's set order (one is \
             internet-accessible, another raises)",
        )),
        Some(e) => Err(e),
        None => Ok(accessible),
    }
}

/// `Statement._is_condition_entry_internet_accessible`.
fn entry_internet_accessible(entry: &Obj<'_>) -> R<bool> {
    let category = match attribute(entry, "category") {
        Some(r) => r?,
        None => {
            not_modelled(entry)?;
            return Err(Exc::attribute_error(entry, "category"));
        }
    };
    let value = attribute(entry, "value").expect("the entry has attributes")?;
    let is = |c: &str| eq(&category, &Obj::str(c));
    if is("arn") {
        return arn_internet_accessible(&value);
    }
    if is("organization") {
        return Ok(organization_internet_accessible(text(&value, "split")?));
    }
    if is("userid") {
        // Trailing wildcards are fine for user ids (`AROAIIIIIIIIIIIIIIIII:*`).
        let userid = text(&value, "find")?;
        let first_star = userid.chars().position(|c| c == '*').map_or(-1, |i| i as i64);
        return Ok(first_star != userid.chars().count() as i64 - 1);
    }
    if is("cidr") {
        return Ok(text(&value, "endswith")?.ends_with("/0"));
    }
    not_modelled(&value)?;
    contains(&value, &Obj::str("*"))
}

/// The string a `str` method is called on, or `AttributeError` as CPython raises it.
fn text<'a>(x: &'a Obj<'_>, method: &str) -> R<&'a str> {
    not_modelled(x)?;
    x.as_str().ok_or_else(|| Exc::attribute_error(x, method))
}

/// `Statement._arn_internet_accessible`: `*`, an ARN with an empty or `*` account (S3 aside),
/// or a value no pattern of `ARN` parses that contains `*`.
fn arn_internet_accessible(x: &Obj<'_>) -> R<bool> {
    not_modelled(x)?;
    let Obj::Str(s) = x else {
        // `ARN(raw)` runs `re.search` on it.
        return Err(Exc::type_error(format!(
            "expected string or bytes-like object, got '{}'",
            x.type_name()
        )));
    };
    let s = s.as_str();
    if s == "*" {
        return Ok(true);
    }
    if let Some((tech, account)) = parse_arn(s)? {
        return Ok(tech != "s3" && (account.is_empty() || account == "*"));
    }
    // An account number, `….amazonaws.com` or `….aws.internal` parses (and is not
    // accessible); anything else is judged by its `*`. Digits hold no `*`, so only the
    // service patterns can change the answer.
    if !s.contains('*') {
        return Ok(false);
    }
    Ok(!(aws_service(s) || aws_internal(s)))
}

/// The subjects `…$` (without `re.MULTILINE`) may end on: the text, and the text before a final
/// newline.
fn ends(s: &str) -> impl Iterator<Item = &str> {
    std::iter::once(s).chain(s.strip_suffix('\n'))
}

/// `^arn:([^:]*):([^:]*):([^:]*):(|\*|[\d]{12}|cloudfront|aws):(.+)$`: the service and the
/// account, when it matches.
fn parse_arn(s: &str) -> R<Option<(&str, &str)>> {
    let Some(rest) = s.strip_prefix("arn:") else { return Ok(None) };
    let mut parts = rest.splitn(5, ':');
    let (Some(_partition), Some(tech), Some(_region), Some(account), Some(name)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let account_ok = matches!(account, "" | "*" | "cloudfront" | "aws") || twelve_digits(account)?;
    // `(.+)$`: at least one character, no newline but a final one.
    let name_ok = ends(name).any(|n| !n.is_empty() && !n.contains('\n'));
    Ok((account_ok && name_ok).then_some((tech, account)))
}

/// `[\d]{12}`: twelve decimal digits, Python's `\d` being any Unicode decimal digit (`Nd`).
/// The `regex` crate's `\d` is the same class in a later Unicode version, which added digits
/// only outside the Basic Multilingual Plane: a digit there is an error, the rest is exact.
fn twelve_digits(s: &str) -> R<bool> {
    static DIGITS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let digits = DIGITS.get_or_init(|| regex::Regex::new(r"\A\d{12}\z").expect("a valid pattern"));
    if !digits.is_match(s) {
        return Ok(false);
    }
    if s.chars().any(|c| c as u32 > 0xffff) {
        return Err(Exc::unsupported(
            "an account number in an ARN with digits outside the Basic Multilingual Plane",
        ));
    }
    Ok(true)
}

/// `^(([^.]+)(.[^.]+)?)\.amazon(aws)?\.com$`.
fn aws_service(s: &str) -> bool {
    ends(s).any(|t| {
        [".amazon.com", ".amazonaws.com"].iter().any(|suffix| t.strip_suffix(suffix).is_some_and(host_part))
    })
}

/// `[^.]+(.[^.]+)?` (`.` is any character but a newline): no dot, or one dot neither first
/// nor last.
fn host_part(p: &str) -> bool {
    let dots = p.matches('.').count();
    !p.is_empty() && (dots == 0 || (dots == 1 && !p.starts_with('.') && !p.ends_with('.')))
}

/// `^([^.]+).aws.internal$`.
fn aws_internal(s: &str) -> bool {
    ends(s).any(|t| {
        let chars: Vec<char> = t.chars().collect();
        let n = chars.len();
        if n < 14 {
            return false;
        }
        let (head, tail) = chars.split_at(n - 13);
        tail[0] != '\n'
            && tail[1..4] == ['a', 'w', 's']
            && tail[4] != '\n'
            && tail[5..].iter().copied().eq("internal".chars())
            && !head.contains(&'.')
    })
}

/// `Statement._organization_internet_accessible` over `Organization(org)`: `o-*`, or, when the
/// path does not parse, any `o-*` in it.
fn organization_internet_accessible(org: &str) -> bool {
    let mut organization = None;
    let mut error = false;
    let (mut parent_ou, mut child_ous) = (false, false);
    for (i, component) in org.split('/').enumerate() {
        match i {
            0 => {
                if component.starts_with("o-") || component == "*" {
                    organization = Some(component);
                } else {
                    error = true;
                }
            }
            1 => error = !(component.starts_with("r-") || component == "*"),
            _ if parent_ou || child_ous => error = true,
            _ if component.is_empty() => parent_ou = true,
            _ if component == "*" => (child_ous, parent_ou) = (true, true),
            _ if component == "ou-*" => child_ous = true,
            _ => error = !component.starts_with("ou-"),
        }
        if error {
            break;
        }
    }
    if error { org.contains("o-*") } else { organization == Some("o-*") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_match_as_re_ignorecase_prefixes() {
        assert!(relevant_operator("StringEquals"));
        assert!(relevant_operator("forAnyValue:stringlikeIfExists"));
        assert!(relevant_operator("IpAddressXYZ"));
        assert!(relevant_operator("ARNLIKE"));
        assert!(relevant_operator("\u{130}pAddress"));
        assert!(relevant_operator("\u{17f}tringEquals"));
        assert!(!relevant_operator("StringNotEquals"));
        assert!(!relevant_operator("NotIpAddress"));
        assert!(!relevant_operator("ForAllValues:NumericEquals"));
    }

    #[test]
    fn arns_as_policyuniverse_reads_them() {
        let t = |s: &str| arn_internet_accessible(&Obj::str(s)).unwrap();
        assert!(t("*"));
        assert!(t("arn:aws:iam::*:root"));
        assert!(t("arn:aws:iam:::role/x"));
        assert!(!t("arn:aws:iam::123456789012:root"));
        assert!(!t("arn:aws:s3:::bucket/*"));
        assert!(t("arn:aws:iam::12345678901x:role/*"));
        assert!(!t("*.amazonaws.com"));
        assert!(!t("a*xaws.internal"));
        assert!(t("a.b.c*.amazonaws.com"));
        assert!(arn_internet_accessible(&Obj::Int(1)).is_err());
    }

    #[test]
    fn organizations() {
        assert!(organization_internet_accessible("o-*"));
        assert!(!organization_internet_accessible("o-abc/r-x/ou-*"));
        assert!(organization_internet_accessible("x/o-*"));
        assert!(organization_internet_accessible("o-*/x"));
        assert!(!organization_internet_accessible("o-1/x"));
        assert!(organization_internet_accessible("o-*/r-1/ou-*/ou-2"));
    }
}
