//! Match expressions (rule-format.md §3): their shapes, the condition table, and the constants
//! each condition takes, checked and prepared (lower-cased, CIDRs parsed, sets built).
//!
//! Must not: know how a condition is evaluated; that is the runtime's and the emitter's job.

use std::net::IpAddr;

use super::path::SPECIFIER_KEYS;
use super::{Ctx, Mapping};
use crate::ir::{Cidr, CompareOp, Expr, IpKind, Lit, Num, Ordering, Path, Quantifier, Step, Test};
use crate::names;
use crate::yaml::{Node, Value};

/// What a condition is, before its operands are known.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Always(bool),
    Equals,
    IEquals,
    StartsWith,
    IStartsWith,
    EndsWith,
    IEndsWith,
    Contains,
    IContains,
    Has,
    Compare(Ordering),
    IsIn,
    Exists,
    IsNull,
    IsNullOrEmpty,
    IsIp(IpKind),
    InCidr,
    CidrContains,
    Glob,
    Elements(Quantifier),
}

/// Every condition name, its kind, and whether it is the negated form.
const CONDITIONS: &[(&str, Kind, bool)] = &[
    ("Equals", Kind::Equals, false),
    ("DoesNotEqual", Kind::Equals, true),
    ("IEquals", Kind::IEquals, false),
    ("IDoesNotEqual", Kind::IEquals, true),
    ("StartsWith", Kind::StartsWith, false),
    ("DoesNotStartWith", Kind::StartsWith, true),
    ("IStartsWith", Kind::IStartsWith, false),
    ("IDoesNotStartWith", Kind::IStartsWith, true),
    ("EndsWith", Kind::EndsWith, false),
    ("DoesNotEndWith", Kind::EndsWith, true),
    ("IEndsWith", Kind::IEndsWith, false),
    ("IDoesNotEndWith", Kind::IEndsWith, true),
    ("Contains", Kind::Contains, false),
    ("DoesNotContain", Kind::Contains, true),
    ("IContains", Kind::IContains, false),
    ("IDoesNotContain", Kind::IContains, true),
    ("Has", Kind::Has, false),
    ("DoesNotHave", Kind::Has, true),
    ("IsGreaterThan", Kind::Compare(Ordering::Greater), false),
    ("IsGreaterThanOrEqual", Kind::Compare(Ordering::GreaterOrEqual), false),
    ("IsGreaterThanOrEquals", Kind::Compare(Ordering::GreaterOrEqual), false),
    ("IsLessThan", Kind::Compare(Ordering::Less), false),
    ("IsLessThanOrEqual", Kind::Compare(Ordering::LessOrEqual), false),
    ("IsLessThanOrEquals", Kind::Compare(Ordering::LessOrEqual), false),
    ("IsIn", Kind::IsIn, false),
    ("IsNotIn", Kind::IsIn, true),
    ("Exists", Kind::Exists, false),
    ("DoesNotExist", Kind::Exists, true),
    ("IsNull", Kind::IsNull, false),
    ("IsNotNull", Kind::IsNull, true),
    ("IsNullOrEmpty", Kind::IsNullOrEmpty, false),
    ("IsNotNullOrEmpty", Kind::IsNullOrEmpty, true),
    ("IsIPAddress", Kind::IsIp(IpKind::Any), false),
    ("IsIPv4Address", Kind::IsIp(IpKind::V4), false),
    ("IsIPv6Address", Kind::IsIp(IpKind::V6), false),
    ("IsIPAddressPublic", Kind::IsIp(IpKind::Public), false),
    ("IsIPAddressPrivate", Kind::IsIp(IpKind::Private), false),
    ("IsIPAddressInCIDR", Kind::InCidr, false),
    ("IsIPAddressNotInCIDR", Kind::InCidr, true),
    ("CIDRContainsIPAddresses", Kind::CidrContains, false),
    ("CIDRDoesNotContainIPAddresses", Kind::CidrContains, true),
    // Extension: Python `fnmatch` globs (`*`, `?`, `[seq]`, `[!seq]`), case-sensitive.
    ("MatchesGlob", Kind::Glob, false),
    ("DoesNotMatchGlob", Kind::Glob, true),
    ("AnyElement", Kind::Elements(Quantifier::Any), false),
    ("AllElements", Kind::Elements(Quantifier::All), false),
    ("NoElement", Kind::Elements(Quantifier::None), false),
    ("OnlyOneElement", Kind::Elements(Quantifier::OnlyOne), false),
    ("AlwaysTrue", Kind::Always(true), false),
    ("AlwaysFalse", Kind::Always(false), false),
];

const COMBINATORS: [&str; 4] = ["All", "Any", "OnlyOne", "None"];
const EXPR_KEYS: &[&str] = &[
    "Key",
    "DeepKey",
    "KeyPath",
    "Enrichment",
    "Condition",
    "Value",
    "Values",
    "Expressions",
    "All",
    "Any",
    "OnlyOne",
    "None",
];
/// The conditions a multi-key expression takes (each with its negated and `I…` forms), for
/// messages.
const MULTI_KEY_CONDITIONS: &str = "Equals, IEquals, StartsWith, EndsWith, Contains, Has, IsIn, the orderings, \
     IsIPAddressInCIDR, CIDRContainsIPAddresses, MatchesGlob, and their negated and `I…` forms";

/// Where an expression sits decides what it may be.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Place {
    Detection,
    /// `InlineFilters`: no list comprehensions, no multi-key expressions (§4.3).
    Filter,
    /// The `Expressions` of a list comprehension: an expression without a key tests the
    /// element itself (an extension, for lists of strings or numbers).
    Element,
}

impl Ctx<'_> {
    /// The top-level expressions of `Detection` or `InlineFilters`, with top-level `All`s
    /// flattened so that a failing test can name the innermost step that decided.
    pub fn steps(&mut self, node: &Node, key: &str, filter: bool) -> Option<Vec<Step>> {
        let items = self.list(node, key)?;
        if items.is_empty() && key == "Detection" {
            self.report(
                self.error(node.span, "`Detection` is empty: the rule would match every event")
                    .label("no expressions")
                    .help("add match expressions, or `- Condition: AlwaysTrue` if every event should match"),
            );
            return None;
        }
        let place = if filter { Place::Filter } else { Place::Detection };
        let mut steps = Vec::new();
        let mut ok = true;
        self.flatten(items, place, &mut steps, &mut ok);
        ok.then_some(steps)
    }

    fn flatten(&mut self, items: &[Node], place: Place, steps: &mut Vec<Step>, ok: &mut bool) {
        for item in items {
            if let Some([(k, v)]) = item.as_map()
                && k.as_str() == Some("All")
                && v.as_seq().is_some_and(|s| !s.is_empty())
            {
                self.flatten(v.as_seq().unwrap_or_default(), place, steps, ok);
                continue;
            }
            match self.expr(item, place) {
                Some(expr) => steps.push(Step { line: self.line(item.span), expr }),
                None => *ok = false,
            }
        }
    }

    /// A list of match expressions (all must hold): `Conditions`, combinators.
    pub fn expressions(&mut self, node: &Node, key: &str, filter: bool) -> Option<Vec<Expr>> {
        self.expressions_in(node, key, if filter { Place::Filter } else { Place::Detection })
    }

    fn expressions_in(&mut self, node: &Node, key: &str, place: Place) -> Option<Vec<Expr>> {
        let items = self.list(node, key)?;
        let exprs: Vec<Option<Expr>> = items.iter().map(|item| self.expr(item, place)).collect();
        exprs.into_iter().collect()
    }

    fn expr(&mut self, node: &Node, place: Place) -> Option<Expr> {
        let m = self.mapping(node, "match expression", EXPR_KEYS)?;
        let unknown = m.entries.iter().any(|(k, _)| k.as_str().is_none_or(|k| !EXPR_KEYS.contains(&k)));
        let combinators: Vec<&Node> = COMBINATORS.iter().filter_map(|c| m.key(c)).collect();
        if let Some(first) = combinators.first() {
            if m.entries.len() > 1 {
                let other =
                    m.entries.iter().map(|(k, _)| k).find(|k| k.span != first.span).expect("two keys");
                self.report(
                    self.error(
                        other.span,
                        format!(
                            "`{}` cannot sit beside the combinator `{}`",
                            other.key_text(),
                            first.key_text()
                        ),
                    )
                    .label("move this into the combinator's list")
                    .related(&self.file.path.clone(), first.span, "combinator")
                    .help("a combinator is a mapping with one key: `- All: [expression, expression]`"),
                );
                return None;
            }
            let name = first.key_text();
            let children = self.expressions_in(m.get(&name)?, &name, place)?;
            return Some(match name.as_str() {
                "All" => Expr::All(children),
                "Any" => Expr::Any(children),
                "OnlyOne" => Expr::OnlyOne(children),
                _ => Expr::None(children),
            });
        }
        let cond_node = self.required(
            &m,
            "Condition",
            "match expression",
            "add `Condition:` (e.g. `Equals`), or group expressions with `All`, `Any`, `OnlyOne` or `None`",
        )?;
        let cond_name = self.string(cond_node, "Condition")?;
        let Some(&(_, kind, negated)) = CONDITIONS.iter().find(|(n, _, _)| *n == cond_name) else {
            let help = match names::nearest(cond_name, CONDITIONS.iter().map(|(n, _, _)| *n)) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "see rule-format.md §3.1 for the conditions".to_string(),
            };
            self.report(
                self.error(cond_node.span, format!("unknown condition `{cond_name}`"))
                    .label("not a condition")
                    .help(help),
            );
            return None;
        };
        let path = self.specifier(&m).ok()?;
        if unknown {
            return None;
        }
        let op =
            Operands { place, cond: cond_name, cond_node, m, value: m.get("Value"), values: m.get("Values") };
        let expressions = m.key("Expressions");
        if let (Some(e), false) = (expressions, matches!(kind, Kind::Elements(_))) {
            self.report(
                self.error(e.span, format!("`{cond_name}` takes no `Expressions`"))
                    .label("only for list comprehensions")
                    .help("`Expressions` belongs to AnyElement, AllElements, NoElement and OnlyOneElement"),
            );
            return None;
        }
        match kind {
            Kind::Always(b) => {
                if let Some((k, _)) = m.entries.iter().find(|(k, _)| k.as_str() != Some("Condition")) {
                    self.report(
                        self.error(k.span, format!("`{cond_name}` takes no `{}`", k.key_text()))
                            .label("remove this")
                            .help(format!("`{cond_name}` stands alone: `- Condition: {cond_name}`")),
                    );
                    return None;
                }
                Some(Expr::Always(b))
            }
            _ if path.is_none() && is_multi_key(op.values) => self.multi_key(kind, negated, &op, place),
            Kind::Elements(quantifier) => {
                if place == Place::Filter {
                    self.report(
                        self.error(cond_node.span, format!("`{cond_name}` is not allowed in InlineFilters"))
                            .label("list comprehension")
                            .help("move this expression into `Detection`"),
                    );
                    return None;
                }
                let path = self.need_path(path, &op)?;
                if let Some(v) = m.key("Value").or(m.key("Values")) {
                    self.report(
                        self.error(
                            v.span,
                            format!("`{cond_name}` takes `Expressions`, not `{}`", v.key_text()),
                        )
                        .label("remove this")
                        .help("the expressions are tested against each element of the list"),
                    );
                    return None;
                }
                let body_node = self.required(
                    &m,
                    "Expressions",
                    "list comprehension",
                    "add `Expressions:` with the match expressions each element is tested against",
                )?;
                let body = self.expressions_in(body_node, "Expressions", Place::Element)?;
                Some(Expr::Elements { path, quantifier, body })
            }
            Kind::Exists | Kind::IsNull | Kind::IsNullOrEmpty | Kind::IsIp(_) => {
                let path = self.need_path(path, &op)?;
                let inverted = self.predicate_value(&op)?;
                let test = match kind {
                    Kind::Exists => Test::Exists,
                    Kind::IsNull => Test::IsNull,
                    Kind::IsNullOrEmpty => Test::IsNullOrEmpty,
                    Kind::IsIp(k) => Test::IsIp(k),
                    _ => unreachable!("predicate kinds"),
                };
                Some(Expr::Test { path, test, negated: negated != inverted })
            }
            Kind::IsIn => {
                let path = self.need_path(path, &op)?;
                let lits = self.values_list(&op)?;
                Some(Expr::Test { path, test: Test::IsIn(lits), negated })
            }
            Kind::Glob => {
                let path = self.need_path(path, &op)?;
                let nodes = self.one_or_many(&op)?;
                let globs: Option<Vec<String>> =
                    nodes.iter().map(|n| self.string(n, "Value").map(str::to_string)).collect();
                Some(Expr::Test { path, test: Test::MatchesGlob(globs?), negated })
            }
            Kind::InCidr | Kind::CidrContains => {
                let path = self.need_path(path, &op)?;
                let nodes = self.one_or_many(&op)?;
                let test = if kind == Kind::InCidr {
                    let cidrs: Option<Vec<Cidr>> = nodes.iter().map(|n| self.cidr(n)).collect();
                    Test::InCidr(cidrs?)
                } else {
                    let addrs: Option<Vec<IpAddr>> = nodes.iter().map(|n| self.ip(n)).collect();
                    Test::CidrContains(addrs?)
                };
                Some(Expr::Test { path, test, negated })
            }
            _ => {
                let path = self.need_path(path, &op)?;
                let value = self.single_value(&op)?;
                let test = self.value_test(kind, &op, value)?;
                Some(Expr::Test { path, test, negated })
            }
        }
    }

    fn need_path(&mut self, path: Option<Path>, op: &Operands) -> Option<Path> {
        if path.is_none() && op.place == Place::Element {
            return Some(Path { segments: Vec::new(), text: "the element".into() });
        }
        if path.is_none() {
            self.report(
                self.error(op.cond_node.span, format!("`{}` needs a key to test", op.cond))
                    .label("of which field?")
                    .help(
                        "add `Key`, `DeepKey`, `KeyPath` or `Enrichment`, e.g. `KeyPath: userIdentity.type`",
                    ),
            );
        }
        path
    }

    /// `Value: true` (or nothing) keeps a predicate; `Value: false` inverts it.
    /// Returns whether it is inverted.
    fn predicate_value(&mut self, op: &Operands) -> Option<bool> {
        if let Some(v) = op.m.key("Values") {
            self.report(
                self.error(v.span, format!("`{}` takes no `Values`", op.cond))
                    .label("remove this")
                    .help(format!("`{}` tests the field itself", op.cond)),
            );
            return None;
        }
        match op.value.map(|v| &v.value) {
            None | Some(Value::Bool(true)) => Some(false),
            Some(Value::Bool(false)) => Some(true),
            Some(_) => {
                let v = op.value.expect("value present");
                self.report(
                    self.error(
                        v.span,
                        format!("`{}` takes no `Value` other than `true` or `false`", op.cond),
                    )
                    .label("unexpected value")
                    .help(format!("remove `Value`; `Value: false` would invert `{}`", op.cond)),
                );
                None
            }
        }
    }

    fn single_value<'n>(&mut self, op: &Operands<'n>) -> Option<&'n Node> {
        match (op.value, op.m.key("Values")) {
            (Some(v), None) => Some(v),
            (_, Some(values)) => {
                let help = if matches!(op.cond, "Equals" | "DoesNotEqual") {
                    format!(
                        "to test membership in a list use `{}` with `Values`",
                        if op.cond == "Equals" { "IsIn" } else { "IsNotIn" }
                    )
                } else {
                    format!(
                        "`{}` compares with one value: write `Value: ...`, or combine several expressions with `Any`",
                        op.cond
                    )
                };
                self.report(
                    self.error(values.span, format!("`{}` takes `Value`, not `Values`", op.cond))
                        .label("a list is not allowed here")
                        .help(help),
                );
                None
            }
            (None, None) => {
                self.report(
                    self.error(op.cond_node.span, format!("`{}` needs a `Value`", op.cond))
                        .label("compared with what?")
                        .help(format!("add `Value:` below `Condition: {}`", op.cond)),
                );
                None
            }
        }
    }

    fn values_list(&mut self, op: &Operands) -> Option<Vec<Lit>> {
        let Some(values) = op.values else {
            let at = op.m.key("Value").map_or(op.cond_node.span, |k| k.span);
            self.report(
                self.error(at, format!("`{}` takes a list in `Values`", op.cond))
                    .label(if op.value.is_some() { "found `Value`" } else { "no `Values`" })
                    .help(format!(
                        "write `Values: [first, second]`, or use `{}` with `Value` for one value",
                        if op.cond == "IsIn" { "Equals" } else { "DoesNotEqual" }
                    )),
            );
            return None;
        };
        let items = self.list(values, "Values")?;
        if items.is_empty() {
            self.report(
                self.error(
                    values.span,
                    format!(
                        "`Values` is empty: `{}` would {}",
                        op.cond,
                        if op.cond == "IsIn" { "never match" } else { "always match" }
                    ),
                )
                .label("empty list")
                .help("list at least one value"),
            );
            return None;
        }
        let lits: Vec<Option<Lit>> = items.iter().map(|n| self.lit(n, op.cond)).collect();
        lits.into_iter().collect()
    }

    fn one_or_many<'n>(&mut self, op: &Operands<'n>) -> Option<Vec<&'n Node>> {
        match (op.value, op.values) {
            (Some(v), None) => Some(vec![v]),
            (None, Some(vs)) => {
                let items = self.list(vs, "Values")?;
                if items.is_empty() {
                    self.report(
                        self.error(vs.span, "`Values` is empty")
                            .label("empty list")
                            .help("list at least one value"),
                    );
                    return None;
                }
                Some(items.iter().collect())
            }
            (Some(_), Some(vs)) => {
                self.report(
                    self.error(
                        op.m.key("Values").map_or(vs.span, |k| k.span),
                        format!("`{}` takes `Value` or `Values`, not both", op.cond),
                    )
                    .label("second operand")
                    .help("keep one of them"),
                );
                None
            }
            (None, None) => {
                self.report(
                    self.error(op.cond_node.span, format!("`{}` needs a `Value` or `Values`", op.cond))
                        .label("compared with what?")
                        .help("add `Value: 10.0.0.0/8` (or a list in `Values`)"),
                );
                None
            }
        }
    }

    /// A constant as the rule wrote it: string, number or boolean.
    fn lit(&mut self, node: &Node, cond: &str) -> Option<Lit> {
        let lit = match &node.value {
            Value::Str(s) => Lit::Str(s.clone()),
            Value::Bool(b) => Lit::Bool(*b),
            Value::Int(i) => Lit::Num(int_num(*i)),
            Value::Float(f) if f.is_nan() => {
                self.report(
                    self.error(node.span, "NaN is equal to nothing").label("NaN").help("use a number"),
                );
                return None;
            }
            Value::Float(f) => Lit::Num(Num::Float(*f)),
            Value::Null => {
                self.report(
                    self.error(node.span, format!("`{cond}` cannot compare with null"))
                        .label("null")
                        .help("to test for null use `IsNull`; to match the text \"null\", quote it"),
                );
                return None;
            }
            Value::Seq(_) | Value::Map(_) => {
                self.report(
                    self.error(
                        node.span,
                        format!("`{cond}` compares with a string, number or boolean, found {}", node.kind()),
                    )
                    .label("not a single value")
                    .help("for several values use `IsIn` with `Values: [a, b]`"),
                );
                return None;
            }
        };
        Some(lit)
    }

    fn value_test(&mut self, kind: Kind, op: &Operands, node: &Node) -> Option<Test> {
        let lit = self.lit(node, op.cond)?;
        let text = |cx: &mut Self| -> Option<String> {
            match &lit {
                Lit::Str(s) => Some(s.clone()),
                _ => {
                    cx.report(
                        cx.error(
                            node.span,
                            format!(
                                "`{}` compares strings: `Value` must be a string, found {}",
                                op.cond,
                                node.kind()
                            ),
                        )
                        .label("not a string")
                        .help(format!("quote it: `Value: \"{}\"`", node.key_text())),
                    );
                    None
                }
            }
        };
        Some(match kind {
            Kind::Equals => Test::Equals(lit),
            Kind::Contains => Test::Contains(lit),
            Kind::Has => Test::Has(lit),
            Kind::IEquals => Test::IEquals(text(self)?.to_lowercase()),
            Kind::IContains => Test::IContains(text(self)?.to_lowercase()),
            Kind::IStartsWith => Test::IStartsWith(text(self)?.to_lowercase()),
            Kind::IEndsWith => Test::IEndsWith(text(self)?.to_lowercase()),
            Kind::StartsWith => Test::StartsWith(text(self)?),
            Kind::EndsWith => Test::EndsWith(text(self)?),
            Kind::Compare(ordering) => match lit {
                Lit::Num(n) => Test::Compare(ordering, n),
                _ => {
                    let help = match &node.value {
                        Value::Str(s) if s.trim().parse::<f64>().is_ok() => {
                            format!("remove the quotes: `Value: {}`", s.trim())
                        }
                        _ => "use a number, e.g. `Value: 10`".to_string(),
                    };
                    self.report(
                        self.error(
                            node.span,
                            format!(
                                "`{}` compares numbers: `Value` must be a number, found {}",
                                op.cond,
                                node.kind()
                            ),
                        )
                        .label("not a number")
                        .help(help),
                    );
                    return None;
                }
            },
            _ => unreachable!("value conditions only"),
        })
    }

    /// `Condition` + `Values: [specifier, specifier]`: the first field tested against the
    /// second field's value, for every condition that takes a `Value` (or `Values`).
    fn multi_key(&mut self, kind: Kind, negated: bool, op: &Operands, place: Place) -> Option<Expr> {
        let compare = match kind {
            Kind::Equals => CompareOp::Equals,
            Kind::IEquals => CompareOp::IEquals,
            Kind::StartsWith => CompareOp::StartsWith,
            Kind::IStartsWith => CompareOp::IStartsWith,
            Kind::EndsWith => CompareOp::EndsWith,
            Kind::IEndsWith => CompareOp::IEndsWith,
            Kind::Contains => CompareOp::Contains,
            Kind::IContains => CompareOp::IContains,
            Kind::Has => CompareOp::Has,
            Kind::IsIn => CompareOp::IsIn,
            Kind::Compare(o) => CompareOp::Ordering(o),
            Kind::InCidr => CompareOp::InCidr,
            Kind::CidrContains => CompareOp::CidrContains,
            Kind::Glob => CompareOp::MatchesGlob,
            Kind::Exists
            | Kind::IsNull
            | Kind::IsNullOrEmpty
            | Kind::IsIp(_)
            | Kind::Elements(_)
            | Kind::Always(_) => {
                let cond = op.cond;
                let (label, why) = match kind {
                    Kind::Elements(_) => (
                        "a list comprehension",
                        format!(
                            "`{cond}` tests each element of one list against its `Expressions`: write `KeyPath: <list>` and `Expressions: [...]`"
                        ),
                    ),
                    Kind::Always(_) => ("takes no field", format!("`{cond}` stands alone")),
                    _ => (
                        "a predicate: tests one field, takes no value",
                        format!(
                            "`{cond}` has no value to take from a second field: test each field with its own expression (`- KeyPath: a` / `Condition: {cond}`), combined with `All` or `Any`"
                        ),
                    ),
                };
                self.report(
                    self.error(op.cond_node.span, format!("`{cond}` cannot compare two fields"))
                        .label(label)
                        .help(format!(
                            "{why}; multi-key expressions take the conditions that compare with a `Value`: {MULTI_KEY_CONDITIONS}"
                        )),
                );
                return None;
            }
        };
        let values = op.values.expect("multi-key has Values");
        if place == Place::Filter {
            self.report(
                self.error(
                    op.m.key("Values").map_or(values.span, |k| k.span),
                    "multi-key expressions are not allowed in InlineFilters",
                )
                .label("two fields compared")
                .help("move this expression into `Detection`"),
            );
            return None;
        }
        if let Some(v) = op.m.key("Value") {
            self.report(
                self.error(v.span, "a multi-key expression takes no `Value`")
                    .label("remove this")
                    .help("the two fields in `Values` are compared with each other"),
            );
            return None;
        }
        let items = values.as_seq().unwrap_or_default();
        if items.len() != 2 {
            self.report(
                self.error(
                    values.span,
                    format!("a multi-key expression compares exactly two fields, found {}", items.len()),
                )
                .label("expected two key specifiers")
                .help("write `Values: [{KeyPath: a}, {KeyPath: b}]`"),
            );
            return None;
        }
        let left = self.specifier_node(&items[0], "multi-key operand");
        let right = self.specifier_node(&items[1], "multi-key operand");
        Some(Expr::Compare { left: left?, op: compare, right: right?, negated })
    }

    fn cidr(&mut self, node: &Node) -> Option<Cidr> {
        let text = self.string(node, "Value")?;
        match parse_cidr(text) {
            Ok(c) => Some(c),
            Err(why) => {
                self.report(
                    self.error(node.span, format!("`{text}` is not a CIDR: {why}"))
                        .label("bad CIDR")
                        .help("write an address and a prefix length, e.g. `10.0.0.0/8` or `2001:db8::/32`"),
                );
                None
            }
        }
    }

    fn ip(&mut self, node: &Node) -> Option<IpAddr> {
        let text = self.string(node, "Value")?;
        match text.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.report(
                    self.error(node.span, format!("`{text}` is not an IP address"))
                        .label("bad address")
                        .help("write an IPv4 or IPv6 address, e.g. `10.1.2.3` or `2001:db8::1`"),
                );
                None
            }
        }
    }
}

/// The operands of one condition, for building messages.
struct Operands<'n> {
    place: Place,
    cond: &'n str,
    cond_node: &'n Node,
    m: Mapping<'n>,
    value: Option<&'n Node>,
    values: Option<&'n Node>,
}

fn is_multi_key(values: Option<&Node>) -> bool {
    values.and_then(Node::as_seq).is_some_and(|items| {
        !items.is_empty()
            && items.iter().all(|i| {
                i.as_map().is_some_and(|m| {
                    m.iter().any(|(k, _)| k.as_str().is_some_and(|k| SPECIFIER_KEYS.contains(&k)))
                })
            })
    })
}

fn int_num(i: i128) -> Num {
    if let Ok(i) = i64::try_from(i) {
        Num::Int(i)
    } else if let Ok(u) = u64::try_from(i) {
        Num::UInt(u)
    } else {
        Num::Float(i as f64)
    }
}

/// `addr/prefix` (or a bare address: one host). Host bits are cleared, as Python's
/// `ip_network(text, strict=False)` does.
pub fn parse_cidr(text: &str) -> Result<Cidr, String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr.trim().parse().map_err(|_| format!("`{}` is not an IP address", addr.trim()))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => match p.trim().parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(format!("the prefix length must be a number from 0 to {max}")),
        },
    };
    let addr = match addr {
        IpAddr::V4(v4) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    };
    Ok(Cidr { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap(), Cidr { addr: "10.0.0.0".parse().unwrap(), prefix: 8 });
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap(), Cidr { addr: "10.0.0.0".parse().unwrap(), prefix: 8 });
        assert_eq!(parse_cidr("1.2.3.4").unwrap().prefix, 32);
        assert_eq!(
            parse_cidr("2001:db8::1/32").unwrap(),
            Cidr { addr: "2001:db8::".parse().unwrap(), prefix: 32 }
        );
        assert_eq!(parse_cidr("0.0.0.0/0").unwrap().prefix, 0);
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0/8").is_err());
        assert!(parse_cidr("banana").is_err());
    }

    #[test]
    fn every_condition_name_is_unique() {
        let mut names: Vec<&str> = CONDITIONS.iter().map(|(n, _, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CONDITIONS.len());
    }
}
