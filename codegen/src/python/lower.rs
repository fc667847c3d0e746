//! Lowering a Python `rule()` to the IR, where it is a combination of field predicates: the
//! conditions it cannot return `True` without become `Detection` steps, so dispatch (on
//! `eventName`, say), the fast path's field projection and the catalog apply to Python rules
//! too. The Python still decides: the steps only rule events out before it runs.
//!
//! Exact or not at all. A condition is lowered only when the IR says exactly what CPython says
//! of it for every event: `event.get("k")` and `event.deep_get("a", "b")` compared with `==`,
//! `!=`, `in`, `not in` (string literals or constants of strings), `is None`, truthiness and
//! `not`. Only necessary conditions are taken: the leading `if …: return False` guards, and the
//! conjuncts of `return a and b` or `return all([a, b])` (an expression that raises instead gives
//! no alert either). One reading differs: a step matches keys ASCII case-insensitively as
//! declarative rules do, where Panther also matches a non-ASCII key that `str.lower()` maps to
//! the ASCII one (the Kelvin sign `K` to `k`).
//! Must not: decide anything the Python does not (the steps are implied by `rule()`).

use ruff_python_ast::{self as ast, CmpOp, Expr, Stmt, UnaryOp};
use ruff_text_size::Ranged;

use super::modules::{Import, Program, PyModule};
use crate::ir::{self, Lit, Path, Segment, Test};

/// What lowering found in `rule()`.
pub struct Lowered {
    /// Conditions `rule()` cannot return `True` without, with the `.py` line of each.
    pub steps: Vec<(u32, ir::Expr)>,
    /// Whether the steps are all of `rule()`: it returns `True` exactly when they all hold (and
    /// `False` otherwise, never another value or an exception), so the Python need not run.
    pub complete: bool,
}

/// The necessary conditions of `rule()` that lower exactly.
pub fn guards(program: &Program, module: &PyModule) -> Lowered {
    let mut out = Lowered { steps: Vec::new(), complete: false };
    let Some(f) = module.function("rule") else { return out };
    let Some(event) = f.parameters.args.first().map(|p| p.parameter.name.id.to_string()) else { return out };
    let cx = Lower { program, module, event };
    let line = |node: &dyn Ranged| u32::try_from(module.file.line(node.range().start().to_usize())).unwrap_or(0);
    for (i, stmt) in f.body.iter().enumerate() {
        match stmt {
            Stmt::Expr(e) if i == 0 && matches!(&*e.value, Expr::StringLiteral(_)) => continue,
            // `if cond: return False`: the rule needs `not cond`.
            Stmt::If(s) if s.elif_else_clauses.is_empty() && returns_false(&s.body) => {
                for c in cx.disjuncts(&s.test) {
                    match cx.condition(c) {
                        Some(e) => out.steps.push((line(c), not(e))),
                        None => return out,
                    }
                }
            }
            // `return a and b`, `return all([a, b])`: each lowered conjunct is needed.
            Stmt::Return(r) => {
                let Some(v) = &r.value else { return out };
                if matches!(&**v, Expr::BooleanLiteral(b) if b.value) {
                    out.complete = true;
                    return out;
                }
                let conjuncts = cx.conjuncts(v);
                let mut all_lowered = true;
                for c in &conjuncts {
                    match cx.condition(c) {
                        Some(e) => out.steps.push((line(*c), e)),
                        None => all_lowered = false,
                    }
                }
                // A bool for sure: `all(…)`, or `and` of comparisons and `not`s.
                let boolean = cx.is_all(v) || conjuncts.iter().all(|c| is_boolean(c));
                out.complete = all_lowered && boolean;
                return out;
            }
            _ => return out,
        }
    }
    out
}

/// An expression whose value is always a `bool` (a comparison or a `not`).
fn is_boolean(e: &Expr) -> bool {
    matches!(e, Expr::Compare(_)) || matches!(e, Expr::UnaryOp(u) if u.op == UnaryOp::Not)
}

fn returns_false(body: &[Stmt]) -> bool {
    matches!(body, [Stmt::Return(r)] if matches!(r.value.as_deref(), Some(Expr::BooleanLiteral(b)) if !b.value))
}

fn not(e: ir::Expr) -> ir::Expr {
    match e {
        ir::Expr::Test { path, test, negated } => ir::Expr::Test { path, test, negated: !negated },
        other => ir::Expr::None(vec![other]),
    }
}

struct Lower<'p> {
    program: &'p Program,
    module: &'p PyModule,
    /// The name of `rule()`'s parameter.
    event: String,
}

impl Lower<'_> {
    fn conjuncts<'e>(&self, e: &'e Expr) -> Vec<&'e Expr> {
        match e {
            Expr::BoolOp(b) if b.op == ast::BoolOp::And => b.values.iter().flat_map(|v| self.conjuncts(v)).collect(),
            Expr::Call(c)
                if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "all" && !self.shadowed("all"))
                    && c.arguments.keywords.is_empty()
                    && c.arguments.args.len() == 1 =>
            {
                match &c.arguments.args[0] {
                    Expr::List(l) => l.elts.iter().flat_map(|v| self.conjuncts(v)).collect(),
                    Expr::Tuple(l) => l.elts.iter().flat_map(|v| self.conjuncts(v)).collect(),
                    _ => vec![e],
                }
            }
            _ => vec![e],
        }
    }

    fn is_all(&self, e: &Expr) -> bool {
        matches!(e, Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "all" && !self.shadowed("all")))
    }

    fn disjuncts<'e>(&self, e: &'e Expr) -> Vec<&'e Expr> {
        match e {
            Expr::BoolOp(b) if b.op == ast::BoolOp::Or => b.values.iter().flat_map(|v| self.disjuncts(v)).collect(),
            _ => vec![e],
        }
    }

    /// Whether a builtin's name is redefined in the module (then it is not the builtin).
    fn shadowed(&self, name: &str) -> bool {
        self.module.functions.contains_key(name) || self.module.constants.contains_key(name) || self.module.imports.contains_key(name)
    }

    /// A condition as an IR expression with the same truth for every event.
    fn condition(&self, e: &Expr) -> Option<ir::Expr> {
        match e {
            Expr::UnaryOp(u) if u.op == UnaryOp::Not => self.condition(&u.operand).map(not),
            Expr::Compare(c) if c.ops.len() == 1 => {
                let (op, right) = (c.ops[0], &c.comparators[0]);
                let (path, default) = self.field(&c.left)?;
                match op {
                    CmpOp::Is | CmpOp::IsNot if matches!(right, Expr::NoneLiteral(_)) && default.is_none() => {
                        Some(ir::Expr::Test { path, test: Test::IsNull, negated: op == CmpOp::IsNot })
                    }
                    CmpOp::Eq | CmpOp::NotEq => {
                        let s = self.string(right)?;
                        if default.as_deref() == Some(s.as_str()) {
                            return None;
                        }
                        Some(ir::Expr::Test { path, test: Test::Equals(Lit::Str(s)), negated: op == CmpOp::NotEq })
                    }
                    CmpOp::In | CmpOp::NotIn => {
                        let values = self.strings(right)?;
                        if default.as_ref().is_some_and(|d| values.contains(d)) || values.is_empty() {
                            return None;
                        }
                        Some(ir::Expr::Test {
                            path,
                            test: Test::IsIn(values.into_iter().map(Lit::Str).collect()),
                            negated: op == CmpOp::NotIn,
                        })
                    }
                    _ => None,
                }
            }
            // Truthiness of a field: falsy exactly when missing, null, false, 0, "", [] or {}.
            _ => {
                let (path, default) = self.field(e)?;
                if default.is_some() {
                    return None;
                }
                Some(ir::Expr::Test { path, test: Test::IsNullOrEmpty, negated: true })
            }
        }
    }

    /// `event.get("k"[, "default"])` or `event.deep_get("a", "b"[, default="d"])`: the path,
    /// and the string default (`None` for Python's `None`).
    fn field(&self, e: &Expr) -> Option<(Path, Option<String>)> {
        let Expr::Call(c) = e else { return None };
        let Expr::Attribute(a) = &*c.func else { return None };
        let Expr::Name(recv) = &*a.value else { return None };
        if recv.id.as_str() != self.event {
            return None;
        }
        let literal = |e: &Expr| match e {
            Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
            _ => None,
        };
        let default = |e: Option<&Expr>| -> Option<Option<String>> {
            match e {
                None | Some(Expr::NoneLiteral(_)) => Some(None),
                Some(Expr::StringLiteral(s)) => Some(Some(s.value.to_str().to_string())),
                _ => None,
            }
        };
        match a.attr.id.as_str() {
            "get" if c.arguments.keywords.is_empty() && (1..=2).contains(&c.arguments.args.len()) => {
                let key = literal(&c.arguments.args[0])?;
                let d = default(c.arguments.args.get(1))?;
                Some((path(&[key]), d))
            }
            "deep_get" if !c.arguments.args.is_empty() => {
                let keys = c.arguments.args.iter().map(literal).collect::<Option<Vec<_>>>()?;
                let mut d = Some(None);
                for k in c.arguments.keywords.iter() {
                    if k.arg.as_ref().is_some_and(|a| a.id.as_str() == "default") {
                        d = default(Some(&k.value));
                    } else {
                        return None;
                    }
                }
                Some((path(&keys), d?))
            }
            _ => None,
        }
    }

    fn string(&self, e: &Expr) -> Option<String> {
        match self.resolve(e)? {
            Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
            _ => None,
        }
    }

    /// A tuple, list or set of string literals (or a module constant holding one).
    fn strings(&self, e: &Expr) -> Option<Vec<String>> {
        let items = match self.resolve(e)? {
            Expr::Tuple(t) => &t.elts,
            Expr::List(t) => &t.elts,
            Expr::Set(t) => &t.elts,
            Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if matches!(n.id.as_str(), "set" | "frozenset") && !self.shadowed(n.id.as_str()))
                && c.arguments.keywords.is_empty() && c.arguments.args.len() == 1 =>
            {
                match &c.arguments.args[0] {
                    Expr::Tuple(t) => &t.elts,
                    Expr::List(t) => &t.elts,
                    Expr::Set(t) => &t.elts,
                    _ => return None,
                }
            }
            _ => return None,
        };
        items.iter().map(|i| self.string(i)).collect()
    }

    /// A literal, or the value of a module constant (of this module or an imported one).
    fn resolve<'a>(&'a self, e: &'a Expr) -> Option<&'a Expr> {
        let Expr::Name(n) = e else { return Some(e) };
        let mut module = self.module;
        let mut name = n.id.to_string();
        for _ in 0..8 {
            if module.reassigned.contains(&name) {
                return None;
            }
            if let Some(v) = module.constant(&name) {
                return Some(v);
            }
            match module.imports.get(&name) {
                Some(Import::Item { module: m, name: next }) => {
                    module = self.program.get(m)?;
                    name = next.clone();
                }
                _ => return None,
            }
        }
        None
    }
}

fn path(keys: &[String]) -> Path {
    Path { segments: keys.iter().map(|k| Segment::Key(k.clone())).collect(), text: keys.join(".") }
}
