//! Simplifies checked IR before emission, so that the generated code has no dead branches.
//!
//! Owns constant folding (`AlwaysTrue`/`AlwaysFalse` and empty combinators), dropping
//! top-level steps that always hold, cutting the steps after one that never holds, and dropping
//! `DynamicSeverities` entries that can never be reached. The verdict of every event is unchanged.
//! Must not: change what a rule means, or touch anything but expressions.

use crate::ir::{DynamicSeverity, Expr, Rule, Step};

/// The rule with its expressions folded.
pub fn optimise(mut rule: Rule) -> Rule {
    let filters = std::mem::take(&mut rule.filters);
    let detection = std::mem::take(&mut rule.detection);
    // A step that never holds decides every event: nothing after it (filters included) runs.
    let mut steps = Vec::new();
    let mut cut = false;
    for (is_filter, step) in
        filters.into_iter().map(|s| (true, s)).chain(detection.into_iter().map(|s| (false, s)))
    {
        if cut {
            break;
        }
        let expr = fold(step.expr);
        match expr {
            Expr::Always(true) => continue,
            Expr::Always(false) => cut = true,
            _ => {}
        }
        steps.push((is_filter, Step { line: step.line, expr }));
    }
    rule.filters = steps.iter().filter(|(f, _)| *f).map(|(_, s)| s.clone()).collect();
    rule.detection = steps.into_iter().filter(|(f, _)| !*f).map(|(_, s)| s).collect();

    let mut severities = Vec::new();
    for entry in std::mem::take(&mut rule.dynamic_severities) {
        let conditions = match fold(Expr::All(entry.conditions)) {
            Expr::Always(false) => continue,
            Expr::Always(true) => Vec::new(),
            Expr::All(parts) => parts,
            other => vec![other],
        };
        let always = conditions.is_empty();
        severities.push(DynamicSeverity { severity: entry.severity, conditions });
        if always {
            break;
        }
    }
    rule.dynamic_severities = severities;
    rule
}

/// Folds constants out of an expression.
pub fn fold(expr: Expr) -> Expr {
    match expr {
        Expr::All(xs) => {
            let mut parts = Vec::new();
            for x in xs.into_iter().map(fold) {
                match x {
                    Expr::Always(true) => {}
                    Expr::Always(false) => return Expr::Always(false),
                    other => parts.push(other),
                }
            }
            single(parts, true, Expr::All)
        }
        Expr::Any(xs) => {
            let mut parts = Vec::new();
            for x in xs.into_iter().map(fold) {
                match x {
                    Expr::Always(false) => {}
                    Expr::Always(true) => return Expr::Always(true),
                    other => parts.push(other),
                }
            }
            single(parts, false, Expr::Any)
        }
        Expr::None(xs) => match fold(Expr::Any(xs)) {
            Expr::Always(b) => Expr::Always(!b),
            Expr::Any(parts) => Expr::None(parts),
            one => Expr::None(vec![one]),
        },
        Expr::OnlyOne(xs) => {
            let folded: Vec<Expr> = xs.into_iter().map(fold).collect();
            let trues = folded.iter().filter(|x| matches!(x, Expr::Always(true))).count();
            let rest: Vec<Expr> = folded.into_iter().filter(|x| !matches!(x, Expr::Always(_))).collect();
            match trues {
                0 => single(rest, false, Expr::OnlyOne),
                // The constant is the one: every other child must fail.
                1 => fold(Expr::None(rest)),
                _ => Expr::Always(false),
            }
        }
        Expr::Elements { path, quantifier, body } => {
            let body = match fold(Expr::All(body)) {
                Expr::Always(true) => Vec::new(),
                Expr::All(parts) => parts,
                other => vec![other],
            };
            Expr::Elements { path, quantifier, body }
        }
        other => other,
    }
}

fn single(mut parts: Vec<Expr>, empty: bool, make: fn(Vec<Expr>) -> Expr) -> Expr {
    match parts.len() {
        0 => Expr::Always(empty),
        1 => parts.pop().expect("one part"),
        _ => make(parts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Path, Segment, Test};

    fn test(key: &str) -> Expr {
        Expr::Test {
            path: Path { segments: vec![Segment::Key(key.into())], text: key.into() },
            test: Test::Exists,
            negated: false,
        }
    }

    #[test]
    fn folds_constants_and_empty_combinators() {
        use Expr::Always;
        assert_eq!(fold(Expr::All(vec![])), Always(true));
        assert_eq!(fold(Expr::Any(vec![])), Always(false));
        assert_eq!(fold(Expr::None(vec![])), Always(true));
        assert_eq!(fold(Expr::OnlyOne(vec![])), Always(false));
        assert_eq!(fold(Expr::All(vec![Always(true), test("a")])), test("a"));
        assert_eq!(fold(Expr::All(vec![Always(false), test("a")])), Always(false));
        assert_eq!(
            fold(Expr::Any(vec![Always(false), test("a"), test("b")])),
            Expr::Any(vec![test("a"), test("b")])
        );
        assert_eq!(fold(Expr::None(vec![Always(true), test("a")])), Always(false));
        assert_eq!(fold(Expr::None(vec![Always(false), test("a")])), Expr::None(vec![test("a")]));
        assert_eq!(fold(Expr::OnlyOne(vec![Always(true), test("a")])), Expr::None(vec![test("a")]));
        assert_eq!(fold(Expr::OnlyOne(vec![Always(true), Always(true)])), Always(false));
        assert_eq!(
            fold(Expr::OnlyOne(vec![Always(false), test("a"), test("b")])),
            Expr::OnlyOne(vec![test("a"), test("b")])
        );
        assert_eq!(fold(Expr::OnlyOne(vec![Always(true)])), Always(true));
    }
}
