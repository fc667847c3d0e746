//! The classes a rule's Python defines, as far as they compile: plain classes whose body holds
//! methods (and a docstring), with at most one base, itself such a class (or `object`), and no
//! special method but `__init__`. Without special methods an instance has CPython's default
//! `object` behaviour (true, equal only to itself, hashable), so its methods are all there is
//! to compile; with single inheritance, the method resolution order is the chain of bases, and
//! `super()` in a method is the rest of that chain.
//!
//! Owns: the class chain of a class ([`mro`]), which function a method name resolves to, which
//! classes have a method (for a call on a value of unknown class), and the attribute names
//! methods set on `self`. Must not: emit code (the translation does).

use std::collections::BTreeSet;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::modules::{Program, PyModule};

/// A class of the program: its module and its definition.
#[derive(Clone, Copy)]
pub struct Class<'p> {
    pub module: &'p PyModule,
    pub def: &'p ast::StmtClassDef,
}

impl<'p> Class<'p> {
    pub fn name(&self) -> &'p str {
        self.def.name.id.as_str()
    }

    /// The hoisted function of the method `name` defined in this class's own body.
    pub fn own_method(&self, name: &str) -> Option<&'p str> {
        let (_, methods) = self.module.classes.get(self.name())?;
        methods.get(name).map(String::as_str)
    }

    /// Every method name the class's own body defines.
    pub fn own_methods(&self) -> impl Iterator<Item = &'p str> + 'p {
        let module = self.module;
        let name = self.name();
        module.classes.get(name).into_iter().flat_map(|(_, m)| m.keys().map(String::as_str))
    }
}

/// The class `name` of `module`, following imports.
pub fn find<'p>(program: &'p Program, module: &'p PyModule, name: &str) -> Option<Class<'p>> {
    let (module, name) = program.origin(module, name)?;
    let &(i, _) = module.classes.get(&name)?;
    match &module.ast.body[i] {
        Stmt::ClassDef(def) => Some(Class { module, def }),
        _ => None,
    }
}

/// The class and its bases, nearest first (its method resolution order), or the first thing
/// that keeps it from compiling. `builtin_methods` are the method names compiled code gives
/// the built-in types: a class may not define one (a call `x.get()` is compiled for them).
pub fn mro<'p>(
    program: &'p Program,
    class: Class<'p>,
    builtin_methods: &dyn Fn(&str) -> bool,
) -> Result<Vec<Class<'p>>, (TextRange, String)> {
    let mut chain = vec![class];
    let mut current = class;
    loop {
        let def = current.def;
        let name = current.name();
        if let Some(d) = def.decorator_list.first() {
            return Err((d.range(), format!("a decorated class (`{name}`)")));
        }
        if def.type_params.is_some() {
            return Err((def.range, format!("type parameters of the class `{name}`")));
        }
        for s in &def.body {
            match s {
                Stmt::FunctionDef(f) => {
                    let m = f.name.id.as_str();
                    if m.starts_with("__") && m.ends_with("__") && m != "__init__" {
                        return Err((
                            f.name.range,
                            format!("the special method `{m}` of the class `{name}`"),
                        ));
                    }
                    if builtin_methods(m) {
                        return Err((
                            f.name.range,
                            format!(
                                "the method `{m}` of the class `{name}`, named as a method of a built-in type"
                            ),
                        ));
                    }
                }
                Stmt::Pass(_) => {}
                Stmt::Expr(e) if matches!(&*e.value, Expr::StringLiteral(_)) => {}
                other => {
                    return Err((other.range(), format!("this statement in the body of the class `{name}`")));
                }
            }
        }
        let base = match def.arguments.as_deref() {
            None => None,
            Some(args) => {
                if let Some(k) = args.keywords.first() {
                    return Err((k.range(), format!("a keyword in the bases of the class `{name}`")));
                }
                match &args.args[..] {
                    [] => None,
                    [Expr::Name(n)] if n.id.as_str() == "object" => None,
                    [Expr::Name(n)] => match find(program, current.module, n.id.as_str()) {
                        Some(base) => Some(base),
                        None => return Err((n.range, format!("the base class `{}` of `{name}`", n.id))),
                    },
                    [one] => return Err((one.range(), format!("this base of the class `{name}`"))),
                    [_, second, ..] => {
                        return Err((second.range(), format!("more than one base class (`{name}`)")));
                    }
                }
            }
        };
        match base {
            None => return Ok(chain),
            Some(b) => {
                if chain.len() > 16 || chain.iter().any(|c| std::ptr::eq(c.def, b.def)) {
                    return Err((def.range, format!("the bases of the class `{name}`")));
                }
                chain.push(b);
                current = b;
            }
        }
    }
}

/// The class in `chain` that defines `method` first, and the method's hoisted function.
pub fn resolve<'p>(chain: &[Class<'p>], method: &str) -> Option<(Class<'p>, &'p str)> {
    chain.iter().find_map(|c| c.own_method(method).map(|f| (*c, f)))
}

/// Every method name of the chain (for `hasattr` on an instance).
pub fn all_methods(chain: &[Class<'_>]) -> Vec<String> {
    let names: BTreeSet<&str> = chain.iter().flat_map(|c| c.own_methods()).collect();
    names.into_iter().map(str::to_string).collect()
}

/// Every class of the program that compiles, with its chain.
pub fn all<'p>(program: &'p Program, builtin_methods: &dyn Fn(&str) -> bool) -> Vec<Vec<Class<'p>>> {
    let mut out = Vec::new();
    for module in program.modules.values() {
        for (name, &(i, _)) in &module.classes {
            let Stmt::ClassDef(def) = &module.ast.body[i] else { continue };
            let _ = name;
            if let Ok(chain) = mro(program, Class { module, def }, builtin_methods) {
                out.push(chain);
            }
        }
    }
    out
}

/// Whether some class of the program defines a method `name`.
pub fn any_defines(program: &Program, name: &str) -> bool {
    program.modules.values().any(|m| m.classes.values().any(|(_, methods)| methods.contains_key(name)))
}

/// The attribute names the methods of the program's classes assign on their first parameter
/// (`self.x = …`).
pub fn instance_attributes(program: &Program) -> BTreeSet<String> {
    use ruff_python_ast::statement_visitor::{StatementVisitor, walk_stmt};
    struct V<'a> {
        this: &'a str,
        out: BTreeSet<String>,
    }
    impl<'a> StatementVisitor<'a> for V<'_> {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            let targets: Vec<&Expr> = match s {
                Stmt::Assign(a) => a.targets.iter().collect(),
                Stmt::AnnAssign(a) => vec![&*a.target],
                Stmt::AugAssign(a) => vec![&*a.target],
                _ => Vec::new(),
            };
            for t in targets {
                if let Expr::Attribute(a) = t
                    && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == self.this)
                {
                    self.out.insert(a.attr.id.to_string());
                }
            }
            walk_stmt(self, s);
        }
    }
    let mut out = BTreeSet::new();
    for module in program.modules.values() {
        for &(i, _) in module.classes.values() {
            let Stmt::ClassDef(def) = &module.ast.body[i] else { continue };
            for s in &def.body {
                if let Stmt::FunctionDef(f) = s
                    && let Some(this) = f.parameters.posonlyargs.iter().chain(&f.parameters.args).next()
                {
                    let mut v = V { this: this.parameter.name.id.as_str(), out: BTreeSet::new() };
                    v.visit_body(&f.body);
                    out.extend(v.out);
                }
            }
        }
    }
    out
}
