//! Lists, dicts and sets in module state: where the runtime may keep one as a copy
//! (`py::store_fresh`) because no code can tell the copy from CPython's shared object.
//!
//! That holds for `X = value` when the value is built by the assignment itself (so nothing else
//! refers to it: [`fresh_container`]) and every read of `X` in the module only inspects or copies
//! the container (so no reference escapes to be changed later or compared by identity:
//! [`escaping_read`]); changes of `X` in place are rejected on their own (`state_misuse`). The
//! runtime checks the rest: the container's items must be immutable.
//!
//! Must not: decide how a read or a store compiles; it only answers whether a copy is exact.

use std::collections::BTreeSet;

use ruff_python_ast::visitor::{Visitor, walk_expr, walk_interpolated_string_element, walk_stmt};
use ruff_python_ast::{self as ast, CmpOp, Comprehension, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::span;
use crate::diag::Span;
use crate::python::modules::{Import, Program, PyModule};

/// Builtins that read their arguments without keeping them (a result that holds the items
/// holds only immutable ones, as the runtime checks on store). Not `min`/`max`, which return
/// one of their arguments.
const READING_BUILTINS: &[&str] = &[
    "len",
    "list",
    "set",
    "frozenset",
    "tuple",
    "sorted",
    "dict",
    "str",
    "repr",
    "bool",
    "any",
    "all",
    "sum",
    "isinstance",
];

/// Methods that read their arguments without keeping them (or copy their items), called on any
/// value; and, for a container `X`, its methods other than these mutators (which `state_misuse`
/// rejects anyway) only read it.
const READING_METHODS: &[&str] = &[
    "join",
    "format",
    "union",
    "intersection",
    "difference",
    "symmetric_difference",
    "issubset",
    "issuperset",
    "isdisjoint",
    "update",
    "extend",
    "difference_update",
    "intersection_update",
    "count",
    "index",
];

/// Methods that change their object in place (and any `_`-prefixed one, as `__ior__`).
pub const MUTATORS: &[&str] = &[
    "append",
    "extend",
    "insert",
    "remove",
    "pop",
    "clear",
    "update",
    "add",
    "discard",
    "setdefault",
    "sort",
    "reverse",
    "popitem",
    "difference_update",
    "intersection_update",
    "symmetric_difference_update",
];

/// Whether `name` is Python's builtin of that name in `module` (not one of its own names).
fn builtin(module: &PyModule, name: &str) -> bool {
    !(module.functions.contains_key(name)
        || module.classes.contains_key(name)
        || module.constants.contains_key(name)
        || module.imports.contains_key(name)
        || module.state.contains(name))
}

/// Whether `e` builds a new object that no other name refers to when the assignment binds it: a
/// display, a comprehension, `list()`/`set()`/`dict()`/`frozenset()`/`sorted()` (the builtins),
/// or a binary operation (`a | b`, `a + b`: CPython's containers return a new one).
pub fn fresh_container(module: &PyModule, e: &Expr) -> bool {
    match e {
        Expr::List(_)
        | Expr::Dict(_)
        | Expr::Set(_)
        | Expr::ListComp(_)
        | Expr::DictComp(_)
        | Expr::SetComp(_)
        | Expr::BinOp(_) => true,
        Expr::Call(c) => matches!(
            &*c.func,
            Expr::Name(n) if matches!(n.id.as_str(), "list" | "set" | "dict" | "frozenset" | "sorted")
                && builtin(module, n.id.as_str())
        ),
        _ => false,
    }
}

/// Why a read of module state keeps a copy from being exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// The container is changed in place (`X[k] = v`, `X.add(v)`).
    Changed,
    /// The container itself may be kept (bound to a name, put in a container, returned, passed
    /// to a function that may keep it) or compared by identity.
    Kept,
}

/// The first read of module state `name` in `module` whose value may escape: be bound to a name,
/// put in a container, returned, passed to a function that may keep it, compared by identity, or
/// changed in place. `None` when every read only inspects or copies it.
pub fn escaping_read(program: &Program, module: &PyModule, name: &str) -> Option<(Span, Escape)> {
    let mut v = Reads { program, module, name, consumed: BTreeSet::new(), found: None };
    v.visit_body(&module.ast.body);
    v.found
}

struct Reads<'m> {
    program: &'m Program,
    module: &'m PyModule,
    name: &'m str,
    /// The expressions whose value is only inspected or copied where they stand (parents are
    /// visited first, and mark their children here).
    consumed: BTreeSet<(u32, u32)>,
    found: Option<(Span, Escape)>,
}

fn key(r: TextRange) -> (u32, u32) {
    (r.start().to_u32(), r.end().to_u32())
}

impl Reads<'_> {
    fn mark(&mut self, e: &Expr) {
        self.consumed.insert(key(e.range()));
    }

    fn is_consumed(&self, e: &Expr) -> bool {
        self.consumed.contains(&key(e.range()))
    }

    /// Whether calling `f` only reads its arguments.
    fn reading_call(&self, f: &Expr) -> bool {
        match f {
            Expr::Name(n) => {
                let n = n.id.as_str();
                (READING_BUILTINS.contains(&n) && builtin(self.module, n))
                    // The key-value store helpers (compiled to the runtime's `py::kv`, or a
                    // test's MagicMock) read the set or dict they are given.
                    || matches!(
                        self.module.imports.get(n),
                        Some(Import::Item { module, .. }) if module == "panther_detection_helpers.caching"
                    )
            }
            // A method of a builtin type, unless a class of the program has one of that name
            // (which may keep its argument).
            Expr::Attribute(a) => {
                let method = a.attr.id.as_str();
                READING_METHODS.contains(&method)
                    && !self
                        .program
                        .modules
                        .values()
                        .any(|m| m.classes.values().any(|(_, methods)| methods.contains_key(method)))
            }
            _ => false,
        }
    }
}

impl<'a> Visitor<'a> for Reads<'_> {
    fn visit_stmt(&mut self, s: &'a Stmt) {
        if self.found.is_some() {
            return;
        }
        match s {
            Stmt::If(i) => {
                self.mark(&i.test);
                for c in &i.elif_else_clauses {
                    if let Some(t) = &c.test {
                        self.mark(t);
                    }
                }
            }
            Stmt::While(w) => self.mark(&w.test),
            Stmt::For(f) => self.mark(&f.iter),
            Stmt::Assert(a) => self.mark(&a.test),
            Stmt::Expr(e) => self.mark(&e.value),
            // `y += X` / `y |= X` add X's items to `y`, not X itself.
            Stmt::AugAssign(a) => self.mark(&a.value),
            _ => {}
        }
        walk_stmt(self, s);
    }

    fn visit_expr(&mut self, e: &'a Expr) {
        if self.found.is_some() {
            return;
        }
        let consumed = self.is_consumed(e);
        let is_state = |x: &Expr| matches!(x, Expr::Name(n) if n.id.as_str() == self.name);
        let changed = match e {
            Expr::Subscript(s) => !s.ctx.is_load() && is_state(&s.value),
            Expr::Call(c) => matches!(&*c.func, Expr::Attribute(a)
                if is_state(&a.value) && (MUTATORS.contains(&a.attr.id.as_str()) || a.attr.id.starts_with('_'))),
            _ => false,
        };
        if changed {
            self.found = Some((span(e), Escape::Changed));
            return;
        }
        match e {
            Expr::Name(n) if n.ctx.is_load() && n.id.as_str() == self.name && !consumed => {
                self.found = Some((span(e), Escape::Kept));
                return;
            }
            // `a or b` is one of its operands: read only where the whole is.
            Expr::BoolOp(b) if consumed => b.values.iter().for_each(|v| self.mark(v)),
            Expr::If(i) => {
                self.mark(&i.test);
                if consumed {
                    self.mark(&i.body);
                    self.mark(&i.orelse);
                }
            }
            Expr::BinOp(b) => {
                self.mark(&b.left);
                self.mark(&b.right);
            }
            Expr::UnaryOp(u) => self.mark(&u.operand),
            // `X is Y` tells a copy from the original.
            Expr::Compare(c) if !c.ops.iter().any(|op| matches!(op, CmpOp::Is | CmpOp::IsNot)) => {
                self.mark(&c.left);
                c.comparators.iter().for_each(|x| self.mark(x));
            }
            Expr::Call(c) => {
                if self.reading_call(&c.func) {
                    c.arguments.args.iter().for_each(|a| self.mark(a));
                    c.arguments.keywords.iter().for_each(|k| self.mark(&k.value));
                }
                // `X.method(…)`: reading X unless the method changes it (a bound method that is
                // not called at once keeps X, so only a call's receiver counts).
                if let Expr::Attribute(a) = &*c.func
                    && !MUTATORS.contains(&a.attr.id.as_str())
                    && !a.attr.id.starts_with('_')
                {
                    self.mark(&a.value);
                }
            }
            // An item of X is immutable (the runtime keeps no other), so reading one keeps
            // nothing of X.
            Expr::Subscript(s) if s.ctx.is_load() => {
                self.mark(&s.value);
                self.mark(&s.slice);
            }
            Expr::Starred(s) if consumed => self.mark(&s.value),
            // `[*X]`, `{*X}`, `{**X}` copy X's items into a new container.
            Expr::List(l) => l.elts.iter().filter(|x| x.is_starred_expr()).for_each(|x| self.mark(x)),
            Expr::Tuple(t) => t.elts.iter().filter(|x| x.is_starred_expr()).for_each(|x| self.mark(x)),
            Expr::Set(s) => s.elts.iter().filter(|x| x.is_starred_expr()).for_each(|x| self.mark(x)),
            Expr::Dict(d) => d.items.iter().filter(|i| i.key.is_none()).for_each(|i| self.mark(&i.value)),
            _ => {}
        }
        walk_expr(self, e);
    }

    fn visit_comprehension(&mut self, c: &'a Comprehension) {
        self.mark(&c.iter);
        c.ifs.iter().for_each(|x| self.mark(x));
        ruff_python_ast::visitor::walk_comprehension(self, c);
    }

    fn visit_interpolated_string_element(&mut self, element: &'a ast::InterpolatedStringElement) {
        if let ast::InterpolatedStringElement::Interpolation(i) = element {
            self.mark(&i.expression);
        }
        walk_interpolated_string_element(self, element);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;

    fn module(text: &str) -> PyModule {
        let file = SourceFile { path: "m.py".into(), text: text.into() };
        PyModule::new("m".into(), None, file).expect("valid Python")
    }

    /// The first read of `X` that escapes in a program of module `text` alone, with where it is.
    fn first_escape(text: &str) -> Option<String> {
        let program = Program { modules: [("m".to_string(), module(text))].into() };
        let m = &program.modules["m"];
        escaping_read(&program, m, "X").map(|(s, why)| {
            let (line, col) = m.file.line_col(s.start);
            format!("{line}:{col} {} {why:?}", &text[s.start..s.end])
        })
    }

    /// The text of the first read of `X` that escapes, if any.
    fn escaping(body: &str) -> Option<String> {
        first_escape(&format!("X = set()\n\ndef rule(event):\n    global X\n    X = {{1}}\n{body}"))
    }

    #[test]
    fn reads_that_inspect_or_copy_do_not_escape() {
        for read in [
            "    return len(X) > 1 and 2 in X",
            "    return list(X) + sorted(X)",
            "    return f\"{X}\"",
            "    return {\"k\": list(X), \"n\": X[0], \"m\": X.get(1)}",
            "    for x in X:\n        pass\n    return [y for y in X if X]",
            "    return X | {2}",
            "    if X or not X:\n        return 1",
            "    return [*X, *sorted(X)]",
            "    return \", \".join(X)",
        ] {
            assert_eq!(escaping(&format!("{read}\n")), None, "{read}");
        }
    }

    #[test]
    fn reads_that_may_keep_or_change_the_container_escape() {
        for (read, expected) in [
            ("    y = X\n", "6:9 X Kept"),
            ("    return X\n", "6:12 X Kept"),
            ("    return {\"k\": X}\n", "6:18 X Kept"),
            ("    return helper(X)\n", "6:19 X Kept"),
            ("    return X or []\n", "6:12 X Kept"),
            ("    return X is X\n", "6:12 X Kept"),
            ("    f = X.add\n", "6:9 X Kept"),
            ("    return max(X, {2})\n", "6:16 X Kept"),
            ("    return [X]\n", "6:13 X Kept"),
            ("    X[0] = 1\n", "6:5 X[0] Changed"),
            ("    X.add(2)\n", "6:5 X.add(2) Changed"),
        ] {
            assert_eq!(escaping(read).as_deref(), Some(expected), "{read}");
        }
    }

    #[test]
    fn a_class_method_named_as_a_reading_method_may_keep_its_argument() {
        let text = "class Keeper:\n    def update(self, x):\n        self.kept = x\n\ndef rule(event):\n    global X\n    X = {1}\n    Keeper().update(X)\n";
        assert_eq!(first_escape(text).as_deref(), Some("8:21 X Kept"));
    }

    #[test]
    fn fresh_containers_are_built_by_the_assignment() {
        let m = module("def list(x):\n    return x\n");
        let value =
            |text: &str| ruff_python_parser::parse_expression(text).expect("an expression").into_expr();
        assert!(fresh_container(&m, &value("{1, 2}")));
        assert!(fresh_container(&m, &value("a | b")));
        assert!(fresh_container(&m, &value("set(a)")));
        assert!(!fresh_container(&m, &value("list(a)")), "`list` is the module's own function");
        assert!(!fresh_container(&m, &value("a")));
        assert!(!fresh_container(&m, &value("helper(a)")));
    }
}
