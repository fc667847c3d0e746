//! Lowering a Python `rule()` to the IR, where it is a combination of field predicates: the
//! conditions it cannot return `True` without become `Detection` steps, so dispatch (on
//! `eventName`, say), the fast path's field projection and the catalog apply to Python rules
//! too. The Python still decides: the steps only rule events out before it runs.
//!
//! Exact or not at all. A condition is lowered only when the IR says exactly what CPython says
//! of it for every event: `event.get("k")` and `event.deep_get("a", "b")` compared with `==`,
//! `!=`, `in`, `not in` (string literals or constants of strings), `is None`, truthiness and
//! `not`, also through a local assigned the field once; `startswith`/`endswith`; `any`/`all` of
//! a generator over a constant's strings; `"text" in field.lower()` (a step only: on a list
//! Python raises where the IR's `IContains` may hold). Only necessary conditions are taken: the
//! leading `if …: return False` guards, and the conjuncts of `return a and b` or
//! `return all([a, b])` (an expression that raises instead gives no alert either). A `rule()`
//! lowered completely (its steps are all of it) is not run by the engine: only when no condition
//! that can raise in Python is negated, where the IR would say true (`startswith` on a null, a
//! list looked up in a set), and none may hold where Python raises (`loose`). One reading
//! differs: a step matches keys ASCII case-insensitively as declarative rules do, where Panther
//! also matches a non-ASCII key that `str.lower()` maps to the ASCII one (the Kelvin sign `K`
//! to `k`).
//! Must not: decide anything the Python does not (the steps are implied by `rule()`).

use ruff_python_ast::{self as ast, CmpOp, Expr, Stmt, UnaryOp};
use ruff_text_size::Ranged;

use super::modules::{Program, PyModule};
use crate::ir::{self, Lit, Path, Segment, Test};

/// What lowering found in `rule()`.
pub struct Lowered {
    /// Conditions `rule()` cannot return `True` without, with the `.py` line of each.
    pub steps: Vec<(u32, ir::Expr)>,
    /// Whether the steps are all of `rule()`: it returns `True` exactly when they all hold (and
    /// `False` otherwise, never another value or an exception), so the Python need not run.
    pub complete: bool,
    /// The conditions in the steps that may raise in Python (printed IR), for a caller that
    /// inlines the function.
    raising: Vec<String>,
}

/// The necessary conditions of `rule()` that lower exactly.
pub fn guards(program: &Program, module: &PyModule) -> Lowered {
    // With module state, `rule()` runs on every event, as in CPython: what it assigns may be
    // read later, so no guard may skip it.
    if !module.state.is_empty() {
        return Lowered { steps: Vec::new(), complete: false, raising: Vec::new() };
    }
    match module.function("rule") {
        Some(f) => lower_function(program, module, f, 0),
        None => Lowered { steps: Vec::new(), complete: false, raising: Vec::new() },
    }
}

/// The conditions a function of the event cannot return `True` without (`complete` when it
/// returns `True` exactly when they hold, and `False` otherwise).
fn lower_function(program: &Program, module: &PyModule, f: &ast::StmtFunctionDef, depth: usize) -> Lowered {
    let (mut out, raising) = lower_body(program, module, f, depth);
    out.raising = raising;
    out
}

fn lower_body(
    program: &Program,
    module: &PyModule,
    f: &ast::StmtFunctionDef,
    depth: usize,
) -> (Lowered, Vec<String>) {
    let (out, cx) = lower_steps(program, module, f, depth);
    let raising = cx.map(|c| c.raising.into_inner()).unwrap_or_default();
    (out, raising)
}

fn lower_steps<'p>(
    program: &'p Program,
    module: &'p PyModule,
    f: &ast::StmtFunctionDef,
    depth: usize,
) -> (Lowered, Option<Lower<'p>>) {
    let mut out = Lowered { steps: Vec::new(), complete: false, raising: Vec::new() };
    let params = &f.parameters;
    if params.args.len() + params.posonlyargs.len() != 1
        || params.vararg.is_some()
        || !params.kwonlyargs.is_empty()
    {
        return (out, None);
    }
    let Some(event) =
        params.posonlyargs.iter().chain(params.args.iter()).next().map(|p| p.parameter.name.id.to_string())
    else {
        return (out, None);
    };
    let mut cx = Lower {
        program,
        module,
        event,
        depth,
        aliases: Default::default(),
        may_raise: Default::default(),
        raising: Default::default(),
        loose: Default::default(),
    };
    let mut assigned = std::collections::BTreeMap::<String, usize>::new();
    count_assigned(&f.body, &mut assigned);
    let line =
        |node: &dyn Ranged| u32::try_from(module.file.line(node.range().start().to_usize())).unwrap_or(0);
    for (i, stmt) in f.body.iter().enumerate() {
        match stmt {
            Stmt::Expr(e) if i == 0 && matches!(&*e.value, Expr::StringLiteral(_)) => continue,
            // `name = condition`, `name = event.get(…)` or `name = [literals]`, assigned only
            // here: an alias.
            Stmt::Assign(a)
                if a.targets.len() == 1
                    && matches!(&a.targets[0], Expr::Name(n) if assigned.get(n.id.as_str()) == Some(&1) && n.id.as_str() != cx.event)
                    && (cx.condition(&a.value).is_some()
                        || cx.field(&a.value).is_some()
                        || cx.strings(&a.value).is_some()
                        || cx.string(&a.value).is_some()) =>
            {
                let Expr::Name(n) = &a.targets[0] else { unreachable!("checked") };
                cx.aliases.insert(n.id.to_string(), (*a.value).clone());
            }
            // `if cond: return False`: the function needs `not cond`.
            Stmt::If(s) if s.elif_else_clauses.is_empty() && returns_false(&s.body) => {
                for (c, negate) in cx.needed_not(&s.test) {
                    match cx.condition(c) {
                        Some(e) => out.steps.push((line(c), if negate { cx.negate(e) } else { e })),
                        None => return (out, Some(cx)),
                    }
                }
            }
            // `if c: return True` then `return False`: exactly `c`.
            Stmt::If(s)
                if s.elif_else_clauses.is_empty()
                    && matches!(s.body.as_slice(), [Stmt::Return(r)] if matches!(r.value.as_deref(), Some(Expr::BooleanLiteral(b)) if b.value))
                    && matches!(f.body.get(i + 1), Some(Stmt::Return(r)) if matches!(r.value.as_deref(), Some(Expr::BooleanLiteral(b)) if !b.value))
                    && f.body.len() == i + 2
                    && cx.condition(&s.test).is_some() =>
            {
                let c = cx.condition(&s.test).expect("checked");
                out.steps.push((line(&*s.test), c));
                out.complete = !cx.may_raise.get() && !cx.loose.get();
                return (out, Some(cx));
            }
            // `if a: …` … `if b: …` then `return False`: a True return is inside some branch, so
            // one of the tests held (the event does not change; lowered tests read only it).
            Stmt::If(_) => {
                let rest = &f.body[i..];
                let Some((last, branches)) = rest.split_last() else { return (out, Some(cx)) };
                if !matches!(last, Stmt::Return(r) if matches!(r.value.as_deref(), Some(Expr::BooleanLiteral(b)) if !b.value))
                {
                    return (out, Some(cx));
                }
                let mut tests = Vec::new();
                for b in branches {
                    let Stmt::If(s) = b else { return (out, Some(cx)) };
                    if !s.elif_else_clauses.iter().all(|c| c.test.is_some()) {
                        return (out, Some(cx));
                    }
                    for test in std::iter::once(&*s.test)
                        .chain(s.elif_else_clauses.iter().filter_map(|c| c.test.as_ref()))
                    {
                        match cx.condition(test) {
                            Some(e) => tests.push(e),
                            None => return (out, Some(cx)),
                        }
                    }
                }
                let needed = if tests.len() == 1 { tests.pop().expect("one") } else { ir::Expr::Any(tests) };
                out.steps.push((line(stmt), needed));
                return (out, Some(cx));
            }
            // `return a and b`, `return all([a, b])`: each lowered conjunct is needed.
            Stmt::Return(r) => {
                let Some(v) = &r.value else { return (out, Some(cx)) };
                if matches!(&**v, Expr::BooleanLiteral(b) if b.value) {
                    out.complete = !cx.may_raise.get() && !cx.loose.get();
                    return (out, Some(cx));
                }
                let conjuncts = cx.conjuncts(v);
                let mut all_lowered = true;
                for c in &conjuncts {
                    match cx.condition(c) {
                        Some(e) => out.steps.push((line(*c), e)),
                        None => {
                            all_lowered = false;
                            // A later step must not rule the event out before a write to the
                            // key-value store that Python makes here.
                            if reaches_store(program, module, f.name.id.as_str()) {
                                break;
                            }
                        }
                    }
                }
                // A bool for sure: `all(…)`, or `and` of comparisons, `not`s and lowered helpers.
                let boolean = cx.is_all(v) || conjuncts.iter().all(|c| cx.boolean(c));
                out.complete = all_lowered && boolean && !cx.may_raise.get() && !cx.loose.get();
                return (out, Some(cx));
            }
            _ => return (out, Some(cx)),
        }
    }
    (out, Some(cx))
}

/// An expression whose value is always a `bool` (a comparison or a `not`).
fn is_boolean(e: &Expr) -> bool {
    match e {
        Expr::Compare(_) => true,
        Expr::UnaryOp(u) => u.op == UnaryOp::Not,
        Expr::BoolOp(b) => b.values.iter().all(is_boolean),
        _ => false,
    }
}

/// Whether these conditions all test one field with the same kind of test, unnegated (so a
/// value that makes one raise in Python makes each raise).
fn one_field_one_way(parts: &[ir::Expr]) -> bool {
    fn tests(e: &ir::Expr, out: &mut Vec<(Path, std::mem::Discriminant<Test>)>) -> bool {
        match e {
            ir::Expr::Test { path, test, negated: false } => {
                out.push((path.clone(), std::mem::discriminant(test)));
                true
            }
            ir::Expr::Any(parts) => parts.iter().all(|p| tests(p, out)),
            _ => false,
        }
    }
    let mut found = Vec::new();
    parts.iter().all(|p| tests(p, &mut found)) && found.windows(2).all(|w| w[0] == w[1])
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
    /// The name of the function's parameter (the event).
    event: String,
    /// How many helper calls deep this function is.
    depth: usize,
    /// Locals assigned once, before the conditions, to a lowered condition or a literal:
    /// read as what they were assigned (the event does not change).
    aliases: std::collections::BTreeMap<String, Expr>,
    /// Whether a lowered condition is negated where Python may raise instead of being false
    /// (`not x.startswith(…)` on a null): such a function is never lowered completely. (Where
    /// the condition is not negated, Python's exception and the IR's false both mean no alert.)
    may_raise: std::cell::Cell<bool>,
    /// The conditions that may raise in Python (as their IR, printed).
    raising: std::cell::RefCell<Vec<String>>,
    /// Whether a lowered condition may hold in the IR where Python raises (`"x" in f.lower()`
    /// on a list field): right as a step (Python gives no alert either way), but such a
    /// function is never lowered completely.
    loose: std::cell::Cell<bool>,
}

impl Lower<'_> {
    fn conjuncts<'e>(&self, e: &'e Expr) -> Vec<&'e Expr> {
        match e {
            Expr::BoolOp(b) if b.op == ast::BoolOp::And => {
                b.values.iter().flat_map(|v| self.conjuncts(v)).collect()
            }
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

    /// Whether a lowered conjunct's value is always a `bool`: a comparison, a `not`,
    /// `str.startswith`/`endswith` (on the string a lowered field must be), `any`/`all`/`bool`,
    /// or a helper lowered completely.
    fn boolean(&self, e: &Expr) -> bool {
        match e {
            Expr::Name(n) if self.aliases.contains_key(n.id.as_str()) => {
                self.boolean(&self.aliases[n.id.as_str()])
            }
            Expr::BoolOp(b) => b.values.iter().all(|v| self.boolean(v)),
            Expr::Call(c) => {
                matches!(&*c.func, Expr::Attribute(a) if matches!(a.attr.id.as_str(), "startswith" | "endswith"))
                    || matches!(&*c.func, Expr::Name(n) if matches!(n.id.as_str(), "any" | "all" | "bool") && !self.shadowed(n.id.as_str()))
                    || self.helper(e).is_some()
            }
            _ => is_boolean(e),
        }
    }

    /// `any(cond for x in STRINGS)` / `all(…)`: the condition with each string in place of `x`,
    /// as `Any` / `All` (the loop variable stands only for the constant's items).
    fn over_strings(&self, e: &Expr) -> Option<ir::Expr> {
        use ruff_python_ast::visitor::transformer::Transformer;
        let Expr::Call(c) = e else { return None };
        let Expr::Name(f) = &*c.func else { return None };
        let any = match f.id.as_str() {
            "any" => true,
            "all" => false,
            _ => return None,
        };
        if self.shadowed(f.id.as_str()) || !c.arguments.keywords.is_empty() || c.arguments.args.len() != 1 {
            return None;
        }
        let Expr::Generator(g) = &c.arguments.args[0] else { return None };
        let [comp] = g.generators.as_slice() else { return None };
        let Expr::Name(var) = &comp.target else { return None };
        if !comp.ifs.is_empty() || comp.is_async || var.id.as_str() == self.event {
            return None;
        }
        // The element must not bind names of its own (a nested comprehension or lambda).
        if has_scope(&g.elt) {
            return None;
        }
        let items = match self.resolve(&comp.iter)? {
            Expr::Tuple(t) => &t.elts,
            Expr::List(t) => &t.elts,
            _ => return None,
        };
        let items: Vec<Expr> = items.iter().map(|i| self.resolve(i).cloned()).collect::<Option<_>>()?;
        if items.is_empty() || !items.iter().all(|i| matches!(i, Expr::StringLiteral(_))) {
            return None;
        }
        let parts = items
            .iter()
            .map(|item| {
                let mut elt = (*g.elt).clone();
                Substitute { name: var.id.as_str(), value: item }.visit_expr(&mut elt);
                self.condition(&elt)
            })
            .collect::<Option<Vec<_>>>()?;
        if any {
            self.note_disjuncts(&parts, true);
        }
        Some(if any { ir::Expr::Any(parts) } else { ir::Expr::All(parts) })
    }

    fn is_all(&self, e: &Expr) -> bool {
        matches!(e, Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "all" && !self.shadowed("all")))
    }

    /// What `if test: return False` requires: each part with whether it must be false (`true`)
    /// or true (`false`): `a or b` needs both false, `not (a and b)` needs both true.
    fn needed_not<'e>(&self, test: &'e Expr) -> Vec<(&'e Expr, bool)> {
        match test {
            Expr::BoolOp(b) if b.op == ast::BoolOp::Or => {
                b.values.iter().flat_map(|v| self.needed_not(v)).collect()
            }
            Expr::UnaryOp(u) if u.op == UnaryOp::Not => {
                self.conjuncts(&u.operand).into_iter().map(|c| (c, false)).collect()
            }
            _ => vec![(test, true)],
        }
    }

    /// `helper(event)`: a function of the program that lowers completely, as one condition.
    fn helper(&self, e: &Expr) -> Option<ir::Expr> {
        if self.depth >= 4 {
            return None;
        }
        let Expr::Call(c) = e else { return None };
        let Expr::Name(f) = &*c.func else { return None };
        if !c.arguments.keywords.is_empty() || c.arguments.args.len() != 1 {
            return None;
        }
        if !matches!(&c.arguments.args[0], Expr::Name(n) if n.id.as_str() == self.event) {
            return None;
        }
        let (module, def) = self.function(f.id.as_str())?;
        let lowered = lower_function(self.program, module, def, self.depth + 1);
        if !lowered.complete {
            return None;
        }
        self.raising.borrow_mut().extend(lowered.raising.iter().cloned());
        let mut steps: Vec<ir::Expr> = lowered.steps.into_iter().map(|(_, e)| e).collect();
        Some(if steps.len() == 1 { steps.pop().expect("one") } else { ir::Expr::All(steps) })
    }

    /// A function named in this module (defined here, or imported from a helper).
    fn function(&self, name: &str) -> Option<(&PyModule, &ast::StmtFunctionDef)> {
        let (module, name) = self.program.origin(self.module, name)?;
        Some((module, module.function(&name)?))
    }

    /// Whether a builtin's name is redefined in the module (then it is not the builtin).
    fn shadowed(&self, name: &str) -> bool {
        self.module.functions.contains_key(name)
            || self.module.constants.contains_key(name)
            || self.module.imports.contains_key(name)
    }

    /// A condition as an IR expression with the same truth for every event.
    fn condition(&self, e: &Expr) -> Option<ir::Expr> {
        if let Expr::Name(n) = e
            && let Some(value) = self.aliases.get(n.id.as_str())
        {
            return self.condition(value);
        }
        if let Some(h) = self.helper(e) {
            return Some(h);
        }
        if let Some(e) = self.over_strings(e) {
            return Some(e);
        }
        match e {
            Expr::UnaryOp(u) if u.op == UnaryOp::Not => self.condition(&u.operand).map(|e| self.negate(e)),
            // `bool(x)`: the truth of `x`.
            Expr::Call(c)
                if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "bool" && !self.shadowed("bool"))
                    && c.arguments.keywords.is_empty()
                    && c.arguments.args.len() == 1 =>
            {
                self.condition(&c.arguments.args[0])
            }
            // `"text" in field.lower()` (lower-case ASCII text): the field's string contains it,
            // ignoring case as `str.lower` does. A list field raises in Python where `IContains`
            // may hold (see `loose`); a missing, null or other field is false or raises.
            Expr::Compare(c)
                if c.ops.len() == 1
                    && matches!(c.ops[0], CmpOp::In | CmpOp::NotIn)
                    && let Some(text) = self.string(&c.left)
                    && let Expr::Call(call) = &c.comparators[0]
                    && let Expr::Attribute(a) = &*call.func
                    && a.attr.id.as_str() == "lower"
                    && call.arguments.args.is_empty()
                    && call.arguments.keywords.is_empty()
                    && text.is_ascii()
                    && text == text.to_ascii_lowercase()
                    && let Some((path, default)) = self.field(&a.value) =>
            {
                // A default that contains the text would match a missing field.
                if default.as_ref().is_some_and(|d| d.to_lowercase().contains(text.as_str())) {
                    return None;
                }
                self.loose.set(true);
                let e = ir::Expr::Test { path, test: Test::IContains(text), negated: false };
                self.raising.borrow_mut().push(format!("{e:?}"));
                Some(if c.ops[0] == CmpOp::NotIn { self.negate(e) } else { e })
            }
            // `all([a, b])` / `any([a, b])` of conditions.
            Expr::Call(c)
                if matches!(&*c.func, Expr::Name(n) if matches!(n.id.as_str(), "all" | "any") && !self.shadowed(n.id.as_str()))
                    && c.arguments.keywords.is_empty()
                    && c.arguments.args.len() == 1
                    && matches!(&c.arguments.args[0], Expr::List(_) | Expr::Tuple(_)) =>
            {
                let (Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. })) =
                    &c.arguments.args[0]
                else {
                    unreachable!("matched")
                };
                let parts = elts.iter().map(|v| self.condition(v)).collect::<Option<Vec<_>>>()?;
                if !self.is_all(e) {
                    self.note_disjuncts(&parts, false);
                }
                Some(if self.is_all(e) { ir::Expr::All(parts) } else { ir::Expr::Any(parts) })
            }
            // `field.startswith("p")` / `.endswith(("a", "b"))`: a string field with that prefix or
            // suffix (a missing or non-string field is no match here, an exception in Python).
            Expr::Call(c)
                if matches!(&*c.func, Expr::Attribute(a) if matches!(a.attr.id.as_str(), "startswith" | "endswith"))
                    && c.arguments.keywords.is_empty()
                    && c.arguments.args.len() == 1 =>
            {
                let Expr::Attribute(a) = &*c.func else { unreachable!("matched") };
                let (path, default) = self.field(&a.value)?;
                let affixes = match self.string(&c.arguments.args[0]) {
                    Some(one) => vec![one],
                    None => self.strings(&c.arguments.args[0])?,
                };
                let test = |x: String| {
                    if a.attr.id.as_str() == "startswith" { Test::StartsWith(x) } else { Test::EndsWith(x) }
                };
                // A default that has the affix would match a missing field.
                if default.as_ref().is_some_and(|d| {
                    affixes.iter().any(|x| {
                        if a.attr.id.as_str() == "startswith" {
                            d.starts_with(x.as_str())
                        } else {
                            d.ends_with(x.as_str())
                        }
                    })
                }) {
                    return None;
                }
                let mut tests: Vec<ir::Expr> = affixes
                    .into_iter()
                    .map(|x| ir::Expr::Test { path: path.clone(), test: test(x), negated: false })
                    .collect();
                let e = if tests.len() == 1 { tests.pop().expect("one") } else { ir::Expr::Any(tests) };
                // On a value that is not a string Python raises.
                self.raising.borrow_mut().push(format!("{e:?}"));
                Some(e)
            }
            // The truth of `a and b` / `a or b` is the truths' conjunction / disjunction.
            Expr::BoolOp(b) => {
                let parts = b.values.iter().map(|v| self.condition(v)).collect::<Option<Vec<_>>>()?;
                if b.op == ast::BoolOp::Or {
                    self.note_disjuncts(&parts, true);
                }
                Some(match b.op {
                    ast::BoolOp::And => ir::Expr::All(parts),
                    ast::BoolOp::Or => ir::Expr::Any(parts),
                })
            }
            Expr::Compare(c) if c.ops.len() == 1 => {
                let (op, right) = (c.ops[0], &c.comparators[0]);
                let (path, default) = self.field(&c.left)?;
                match op {
                    CmpOp::Is | CmpOp::IsNot
                        if matches!(right, Expr::NoneLiteral(_)) && default.is_none() =>
                    {
                        Some(ir::Expr::Test { path, test: Test::IsNull, negated: op == CmpOp::IsNot })
                    }
                    // `is True`/`is False`: the JSON boolean itself (not 1 or 0).
                    CmpOp::Is | CmpOp::IsNot
                        if matches!(right, Expr::BooleanLiteral(_)) && default.is_none() =>
                    {
                        let Expr::BooleanLiteral(b) = right else { unreachable!("matched") };
                        Some(ir::Expr::Test {
                            path,
                            test: Test::Equals(Lit::Bool(b.value)),
                            negated: op == CmpOp::IsNot,
                        })
                    }
                    CmpOp::Eq | CmpOp::NotEq => {
                        let s = self.string(right)?;
                        if default.as_deref() == Some(s.as_str()) {
                            return None;
                        }
                        Some(ir::Expr::Test {
                            path,
                            test: Test::Equals(Lit::Str(s)),
                            negated: op == CmpOp::NotEq,
                        })
                    }
                    CmpOp::In | CmpOp::NotIn => {
                        let values = self.strings(right)?;
                        let hashed = self.hashed(right);
                        if default.as_ref().is_some_and(|d| values.contains(d)) || values.is_empty() {
                            return None;
                        }
                        let positive = ir::Expr::Test {
                            path,
                            test: Test::IsIn(values.into_iter().map(Lit::Str).collect()),
                            negated: false,
                        };
                        // `[…] in {…}` hashes the field's value: a list or an object raises.
                        if hashed {
                            self.raising.borrow_mut().push(format!("{positive:?}"));
                        }
                        Some(if op == CmpOp::NotIn { self.negate(positive) } else { positive })
                    }
                    _ => None,
                }
            }
            // Truthiness of a field: falsy exactly when missing, null, false, 0, "", [] or {}
            // (a default of "" is as falsy as None).
            _ => {
                let (path, default) = self.field(e)?;
                if default.as_deref().is_some_and(|d| !d.is_empty()) {
                    return None;
                }
                Some(ir::Expr::Test { path, test: Test::IsNullOrEmpty, negated: true })
            }
        }
    }

    /// `event.get("k"[, "default"])` or `event.deep_get("a", "b"[, default="d"])`: the path,
    /// and the string default (`None` for Python's `None`).
    fn field(&self, e: &Expr) -> Option<(Path, Option<String>)> {
        // A local assigned the field once before: the field (the event does not change).
        if let Expr::Name(n) = e
            && let Some(value) = self.aliases.get(n.id.as_str())
        {
            return self.field(value);
        }
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

    /// Disjuncts (`a or b`, `any(…)`) that may raise in Python: Python stops at the first that
    /// raises (`lazy`; a list display, `any([a, b])`, raises if any element does), where the
    /// IR's `Any` reads on and may hold, so such a function is not lowered completely (see
    /// `may_raise`). Unless every disjunct tests one field the same way (`f.startswith(a) or
    /// f.startswith(b)`): then they raise together, and the IR says false.
    fn note_disjuncts(&self, parts: &[ir::Expr], lazy: bool) {
        let checked = if lazy { &parts[..parts.len().saturating_sub(1)] } else { parts };
        if checked.iter().any(|e| self.contains_raising(e)) && !one_field_one_way(parts) {
            self.may_raise.set(true);
        }
    }

    /// Whether `e` holds a condition that may raise in Python (one of `raising`).
    fn contains_raising(&self, e: &ir::Expr) -> bool {
        let printed = format!("{e:?}");
        self.raising.borrow().iter().any(|r| printed.contains(r.as_str()))
    }

    /// `not e`, noting when `e` may raise in Python (see `may_raise`).
    fn negate(&self, e: ir::Expr) -> ir::Expr {
        if self.contains_raising(&e) {
            self.may_raise.set(true);
        }
        not(e)
    }

    /// Whether `in` on this container hashes the needle (a set, or a dictionary's keys).
    fn hashed(&self, e: &Expr) -> bool {
        if let Expr::Call(c) = e
            && let Expr::Attribute(a) = &*c.func
            && a.attr.id.as_str() == "keys"
        {
            return true;
        }
        // Tuples and lists compare with `==`; anything else is taken to hash.
        !matches!(self.resolve(e), Some(Expr::Tuple(_) | Expr::List(_)))
    }

    /// A tuple, list or set of string literals (or a module constant holding one).
    fn strings(&self, e: &Expr) -> Option<Vec<String>> {
        // `CONSTANT.keys()`: the keys of a dictionary constant.
        if let Expr::Call(c) = e
            && let Expr::Attribute(a) = &*c.func
            && a.attr.id.as_str() == "keys"
            && c.arguments.args.is_empty()
            && c.arguments.keywords.is_empty()
            && let Expr::Dict(d) = self.resolve(&a.value)?
        {
            return d.items.iter().map(|i| i.key.as_ref().and_then(|k| self.string(k))).collect();
        }
        let items = match self.resolve(e)? {
            Expr::Tuple(t) => &t.elts,
            Expr::List(t) => &t.elts,
            Expr::Set(t) => &t.elts,
            Expr::Call(c)
                if matches!(&*c.func, Expr::Name(n) if matches!(n.id.as_str(), "set" | "frozenset") && !self.shadowed(n.id.as_str()))
                    && c.arguments.keywords.is_empty()
                    && c.arguments.args.len() == 1 =>
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
        if let Some(value) = self.aliases.get(n.id.as_str()) {
            return Some(value);
        }
        // A variable a test mocks is a MagicMock in that test: its value is not the constant.
        if self.module.mocked.contains(n.id.as_str()) {
            return None;
        }
        let (module, name) = self.program.origin(self.module, n.id.as_str())?;
        if module.reassigned.contains(&name) || module.state.contains(&name) {
            return None;
        }
        module.constant(&name)
    }
}

/// Whether the function `name` of `module` may call a helper of the key-value store
/// (`panther_detection_helpers.caching`), in its body (nested functions and lambdas included)
/// or in a function of the program it names.
fn reaches_store(program: &Program, module: &PyModule, name: &str) -> bool {
    use ruff_python_ast::visitor::{Visitor, walk_expr};
    struct V<'p> {
        program: &'p Program,
        module: &'p PyModule,
        seen: &'p mut std::collections::BTreeSet<(String, String)>,
        found: bool,
    }
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Name(n) = e
                && !self.found
            {
                self.found = name_reaches(self.program, self.module, n.id.as_str(), self.seen);
            }
            walk_expr(self, e);
        }
    }
    fn name_reaches(
        program: &Program,
        module: &PyModule,
        name: &str,
        seen: &mut std::collections::BTreeSet<(String, String)>,
    ) -> bool {
        let (mut module, mut name) = (module, name.to_string());
        for _ in 0..16 {
            if module.functions.contains_key(&name) {
                if !seen.insert((module.name.clone(), name.clone())) {
                    return false;
                }
                let Some(f) = module.function(&name) else { return false };
                let mut v = V { program, module, seen, found: false };
                for s in &f.body {
                    v.visit_stmt(s);
                }
                // Functions defined in its body are reached by their names there.
                let inner: Vec<String> =
                    module.nested.get(&name).map(|m| m.values().cloned().collect()).unwrap_or_default();
                let mut found = v.found;
                for hoisted in inner {
                    found = found || name_reaches(program, module, &hoisted, seen);
                }
                return found;
            }
            match module.imports.get(&name) {
                Some(super::modules::Import::Item { module: m, name: n }) => {
                    if m == "panther_detection_helpers.caching" {
                        return true;
                    }
                    match program.get(m) {
                        Some(next) => {
                            module = next;
                            name = n.clone();
                        }
                        None => return false,
                    }
                }
                Some(super::modules::Import::Module(m)) => return m.starts_with("panther_detection_helpers"),
                None => return false,
            }
        }
        false
    }
    let mut seen = std::collections::BTreeSet::new();
    name_reaches(program, module, name, &mut seen)
}

/// Replaces a generator's variable by one item's literal.
struct Substitute<'a> {
    name: &'a str,
    value: &'a Expr,
}

impl ruff_python_ast::visitor::transformer::Transformer for Substitute<'_> {
    fn visit_expr(&self, expr: &mut Expr) {
        if let Expr::Name(n) = expr
            && n.id.as_str() == self.name
        {
            *expr = self.value.clone();
            return;
        }
        ruff_python_ast::visitor::transformer::walk_expr(self, expr);
    }
}

/// Whether an expression binds names of its own (a comprehension, lambda or `:=`).
fn has_scope(e: &Expr) -> bool {
    use ruff_python_ast::visitor::{Visitor, walk_expr};
    struct V(bool);
    impl<'a> Visitor<'a> for V {
        fn visit_expr(&mut self, e: &'a Expr) {
            if matches!(
                e,
                Expr::Generator(_)
                    | Expr::ListComp(_)
                    | Expr::SetComp(_)
                    | Expr::DictComp(_)
                    | Expr::Lambda(_)
                    | Expr::Named(_)
            ) {
                self.0 = true;
            }
            walk_expr(self, e);
        }
    }
    let mut v = V(false);
    v.visit_expr(e);
    v.0
}

/// How many times each name is assigned in a function body (anywhere in it).
fn count_assigned(body: &[Stmt], out: &mut std::collections::BTreeMap<String, usize>) {
    use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
    struct V<'a>(&'a mut std::collections::BTreeMap<String, usize>);
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Name(n) = e
                && !n.ctx.is_load()
            {
                *self.0.entry(n.id.to_string()).or_default() += 1;
            }
            walk_expr(self, e);
        }
        fn visit_stmt(&mut self, s: &'a Stmt) {
            if let Stmt::AugAssign(a) = s
                && let Expr::Name(n) = &*a.target
            {
                *self.0.entry(n.id.to_string()).or_default() += 2;
            }
            walk_stmt(self, s);
        }
    }
    let mut v = V(out);
    for s in body {
        v.visit_stmt(s);
    }
}

fn path(keys: &[String]) -> Path {
    Path { segments: keys.iter().map(|k| Segment::Key(k.clone())).collect(), text: keys.join(".") }
}
