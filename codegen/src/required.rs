//! The fields a rule cannot match without: for each, an event where the field is missing fails
//! some top-level step of the rule, whatever its other fields hold.
//!
//! The engine skips a rule when the event view found none of one of these fields (one check of
//! what the pass over the bytes already found, instead of calling the rule), so only provable
//! cases count: every step of `Detection` must hold, and each step's requirement follows the
//! runtime's reading of a missing field (`detections_runtime::Val::Missing`):
//! - a positive condition fails on a missing field, except `IsNull` and `IsNullOrEmpty`, which
//!   hold; a negated one (`DoesNot…`, `IsNot…`) fails exactly where its positive form holds;
//! - a multi-key condition fails when either field is missing (its negated form holds);
//! - a list comprehension fails on a missing list, except `NoElement`, which holds;
//! - an `All` requires what any part requires; an `Any` or `OnlyOne`, what every part requires
//!   (no part can hold without it); a `None` and constants require nothing.
//!
//! `InlineFilters` require nothing: a missing field passes them. Only paths of keys count (a
//! view finds those by key alone). A Python rule's lowered conditions are steps like any other:
//! its `rule()` runs only when they all hold, so a field they require is required.
//! Must not: require a field whose absence some event could still match without.

use std::collections::BTreeSet;

use crate::ir::{Expr, Path, Quantifier, Rule, Segment, Test};

/// The paths `rule` cannot match without, in the order they first appear in its steps.
pub fn required_paths(rule: &Rule) -> Vec<Path> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for step in &rule.detection {
        for path in required(&step.expr) {
            if seen.insert(path.clone()) {
                out.push(path);
            }
        }
    }
    out
}

/// The paths whose absence makes `expr` (read against the event) false, in order of appearance.
fn required(expr: &Expr) -> Vec<Path> {
    match expr {
        Expr::Always(_) | Expr::None(_) => Vec::new(),
        Expr::All(parts) => parts.iter().flat_map(required).collect(),
        Expr::Any(parts) | Expr::OnlyOne(parts) => {
            let Some((first, rest)) = parts.split_first() else { return Vec::new() };
            let rest: Vec<BTreeSet<Path>> = rest.iter().map(|p| required(p).into_iter().collect()).collect();
            required(first).into_iter().filter(|p| rest.iter().all(|r| r.contains(p))).collect()
        }
        Expr::Test { path, test, negated } => {
            let holds_on_missing = matches!(test, Test::IsNull | Test::IsNullOrEmpty) != *negated;
            keys_only(path).filter(|_| !holds_on_missing).into_iter().collect()
        }
        Expr::Compare { left, right, negated: false, .. } => {
            keys_only(left).into_iter().chain(keys_only(right)).collect()
        }
        Expr::Compare { negated: true, .. } => Vec::new(),
        Expr::Elements { path, quantifier, .. } => match quantifier {
            Quantifier::Any | Quantifier::All | Quantifier::OnlyOne => keys_only(path).into_iter().collect(),
            Quantifier::None => Vec::new(),
        },
    }
}

/// `path`, when it is a non-empty path of keys.
fn keys_only(path: &Path) -> Option<Path> {
    (!path.segments.is_empty() && path.segments.iter().all(|s| matches!(s, Segment::Key(_))))
        .then(|| path.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{CompareOp, Lit};

    fn path(text: &str) -> Path {
        Path { segments: text.split('.').map(|k| Segment::Key(k.into())).collect(), text: text.into() }
    }

    fn test(p: &str, test: Test, negated: bool) -> Expr {
        Expr::Test { path: path(p), test, negated }
    }

    fn texts(expr: &Expr) -> Vec<String> {
        required(expr).into_iter().map(|p| p.text).collect()
    }

    #[test]
    fn conditions_that_fail_on_a_missing_field_require_it() {
        assert_eq!(texts(&test("a", Test::Equals(Lit::Str("x".into())), false)), ["a"]);
        assert_eq!(texts(&test("a.b", Test::Exists, false)), ["a.b"]);
        assert_eq!(texts(&test("a", Test::IsNull, true)), ["a"], "IsNotNull");
        assert_eq!(texts(&test("a", Test::IsNullOrEmpty, true)), ["a"], "IsNotNullOrEmpty");
        // Those that hold on a missing field require nothing.
        assert!(texts(&test("a", Test::IsNull, false)).is_empty());
        assert!(texts(&test("a", Test::IsNullOrEmpty, false)).is_empty());
        assert!(texts(&test("a", Test::Exists, true)).is_empty());
        assert!(texts(&test("a", Test::Equals(Lit::Str("x".into())), true)).is_empty());
    }

    #[test]
    fn combinators() {
        let eq = |p: &str| test(p, Test::IContains("x".into()), false);
        assert_eq!(texts(&Expr::All(vec![eq("a"), eq("b"), eq("a")])), ["a", "b", "a"]);
        assert_eq!(texts(&Expr::Any(vec![Expr::All(vec![eq("a"), eq("b")]), eq("b")])), ["b"]);
        assert_eq!(texts(&Expr::OnlyOne(vec![eq("a"), Expr::All(vec![eq("c"), eq("a")])])), ["a"]);
        assert!(texts(&Expr::Any(vec![eq("a"), test("a", Test::IsNull, false)])).is_empty());
        assert!(texts(&Expr::None(vec![eq("a")])).is_empty());
        assert!(texts(&Expr::Any(vec![])).is_empty());
        let compare =
            |negated| Expr::Compare { left: path("l"), op: CompareOp::Equals, right: path("r"), negated };
        assert_eq!(texts(&compare(false)), ["l", "r"]);
        assert!(texts(&compare(true)).is_empty());
        let elements = |quantifier| Expr::Elements { path: path("list"), quantifier, body: vec![eq("x")] };
        assert_eq!(texts(&elements(Quantifier::Any)), ["list"]);
        assert_eq!(texts(&elements(Quantifier::All)), ["list"]);
        assert!(texts(&elements(Quantifier::None)).is_empty());
    }

    #[test]
    fn only_paths_of_keys() {
        let indexed =
            Path { segments: vec![Segment::Key("a".into()), Segment::Index(0)], text: "a[0]".into() };
        let each = Path { segments: vec![Segment::Key("a".into()), Segment::Each], text: "a[*]".into() };
        for p in [indexed, each] {
            assert!(required(&Expr::Test { path: p, test: Test::Exists, negated: false }).is_empty());
        }
    }
}
