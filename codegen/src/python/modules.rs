//! The Python program: every module a rule can import, with what each module defines at its
//! top level (functions, constants, imports), so names resolve at compile time.

use std::collections::BTreeMap;

use ruff_python_ast::{self as ast, Expr, ModModule, Stmt};

use crate::diag::{Diagnostic, SourceFile};

/// What a top-level name of a module refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Import {
    /// `import m` / `import m as n`: a whole module.
    Module(String),
    /// `from m import x`: a name of another module.
    Item { module: String, name: String },
}

/// One parsed Python module.
pub struct PyModule {
    /// The name it is imported by (a helper's `GlobalID`), or the rule's module name.
    pub name: String,
    /// The Rust module its shared functions go to (helpers and data models), or `None` for a
    /// rule file (whose functions go to the rule's own module).
    pub rust_module: Option<String>,
    pub file: SourceFile,
    pub ast: ModModule,
    /// Top-level `def`s, by name: the index of the statement (and, for a `def` nested at the
    /// top of another function's body, hoisted as `inner_in_outer`, the index inside it).
    pub functions: BTreeMap<String, (usize, Option<usize>)>,
    /// For each function (by its name here), the functions defined in its body: their names
    /// there and their hoisted names.
    pub nested: BTreeMap<String, BTreeMap<String, String>>,
    /// Top-level classes: for each, the index of its statement and its methods (name to the
    /// hoisted name in `functions`).
    pub classes: BTreeMap<String, (usize, BTreeMap<String, String>)>,
    /// Top-level assignments `NAME = value`, by name: the index of the (last) statement.
    pub constants: BTreeMap<String, usize>,
    pub imports: BTreeMap<String, Import>,
    /// Names assigned more than once at the top level: not constants.
    pub reassigned: Vec<String>,
    /// Names some function declares `global`: module state, kept from call to call (see the
    /// runtime's `py::state`).
    pub state: std::collections::BTreeSet<String>,
    /// For a rule's module: the names its test cases mock (`Mocks:`), which its own calls
    /// look up first.
    pub mocked: std::collections::BTreeSet<String>,
}

impl PyModule {
    pub fn new(name: String, rust_module: Option<String>, file: SourceFile) -> Result<PyModule, Diagnostic> {
        let mut ast = super::parse(&file)?;
        super::desugar::rewrite(&mut ast, &file.text);
        let mut functions = BTreeMap::new();
        let mut nested = BTreeMap::new();
        let mut constants = BTreeMap::new();
        let mut classes = BTreeMap::new();
        let mut imports = BTreeMap::new();
        let mut reassigned = Vec::new();
        for (i, stmt) in ast.body.iter().enumerate() {
            match stmt {
                Stmt::FunctionDef(f) => {
                    functions.insert(f.name.id.to_string(), (i, None));
                    let mut inner = BTreeMap::new();
                    for (j, s) in f.body.iter().enumerate() {
                        if let Stmt::FunctionDef(g) = s {
                            let hoisted = format!("{}_in_{}", g.name.id.trim_start_matches('_'), f.name.id);
                            functions.insert(hoisted.clone(), (i, Some(j)));
                            inner.insert(g.name.id.to_string(), hoisted);
                        }
                    }
                    if !inner.is_empty() {
                        for hoisted in inner.values() {
                            nested.insert(hoisted.clone(), inner.clone());
                        }
                        nested.insert(f.name.id.to_string(), inner);
                    }
                }
                Stmt::ClassDef(c) => {
                    // Methods are hoisted as `class_method` functions (the first free name).
                    let mut methods = BTreeMap::new();
                    let class = crate::names::constant_case(c.name.id.as_str()).to_ascii_lowercase();
                    for (j, s) in c.body.iter().enumerate() {
                        if let Stmt::FunctionDef(g) = s {
                            let base = format!("{class}_{}", g.name.id.trim_matches('_'));
                            let taken: Vec<String> = functions.keys().cloned().collect();
                            let hoisted = crate::names::unique(&base, &taken);
                            functions.insert(hoisted.clone(), (i, Some(j)));
                            methods.insert(g.name.id.to_string(), hoisted);
                        }
                    }
                    classes.insert(c.name.id.to_string(), (i, methods));
                }
                Stmt::Assign(a) => {
                    for target in &a.targets {
                        if let Expr::Name(n) = target
                            && constants.insert(n.id.to_string(), i).is_some()
                        {
                            reassigned.push(n.id.to_string());
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(_)) = (&*a.target, &a.value) {
                        constants.insert(n.id.to_string(), i);
                    }
                }
                Stmt::Import(imp) => {
                    for alias in &imp.names {
                        let full = alias.name.id.to_string();
                        let bound = match &alias.asname {
                            Some(a) => a.id.to_string(),
                            None => full.split('.').next().unwrap_or(&full).to_string(),
                        };
                        let module = if alias.asname.is_some() { full.clone() } else { bound.clone() };
                        imports.insert(bound, Import::Module(module));
                    }
                }
                Stmt::ImportFrom(imp) => {
                    let module = imp.module.as_ref().map(|m| m.id.to_string()).unwrap_or_default();
                    for alias in &imp.names {
                        let name = alias.name.id.to_string();
                        let bound = alias.asname.as_ref().map_or(name.clone(), |a| a.id.to_string());
                        imports.insert(bound, Import::Item { module: module.clone(), name });
                    }
                }
                _ => {}
            }
        }
        let mut globals = Vec::new();
        for stmt in &ast.body {
            if let Stmt::FunctionDef(f) = stmt {
                collect_globals(&f.body, &mut globals);
            }
        }
        let state = globals.into_iter().collect();
        reassigned.sort();
        reassigned.dedup();
        Ok(PyModule {
            name,
            rust_module,
            file,
            ast,
            functions,
            nested,
            classes,
            constants,
            imports,
            reassigned,
            state,
            mocked: Default::default(),
        })
    }

    pub fn function(&self, name: &str) -> Option<&ast::StmtFunctionDef> {
        let &(i, inner) = self.functions.get(name)?;
        let body = match (&self.ast.body[i], inner) {
            (Stmt::FunctionDef(f), None) => return Some(f),
            (Stmt::FunctionDef(f), Some(_)) => &f.body,
            (Stmt::ClassDef(c), Some(_)) => &c.body,
            _ => return None,
        };
        match &body[inner?] {
            Stmt::FunctionDef(g) => Some(g),
            _ => None,
        }
    }

    /// The class that defines the hoisted function `name`, if it is a method.
    pub fn class_of_method(&self, name: &str) -> Option<&ast::StmtClassDef> {
        match self.functions.get(name) {
            Some(&(i, Some(_))) => match &self.ast.body[i] {
                Stmt::ClassDef(c) => Some(c),
                _ => None,
            },
            _ => None,
        }
    }

    /// The value of a top-level constant `NAME = value`.
    pub fn constant(&self, name: &str) -> Option<&Expr> {
        match self.constants.get(name).map(|&i| &self.ast.body[i]) {
            Some(Stmt::Assign(a)) => Some(&a.value),
            Some(Stmt::AnnAssign(a)) => a.value.as_deref(),
            _ => None,
        }
    }
}

/// The names of every `global` statement in `body`, its blocks and the functions defined in it.
pub(super) fn collect_globals(body: &[Stmt], out: &mut Vec<String>) {
    for stmt in body {
        match stmt {
            Stmt::Global(g) => out.extend(g.names.iter().map(|n| n.id.to_string())),
            Stmt::FunctionDef(f) => collect_globals(&f.body, out),
            Stmt::With(s) => collect_globals(&s.body, out),
            Stmt::If(s) => {
                collect_globals(&s.body, out);
                for c in &s.elif_else_clauses {
                    collect_globals(&c.body, out);
                }
            }
            Stmt::For(s) => {
                collect_globals(&s.body, out);
                collect_globals(&s.orelse, out);
            }
            Stmt::While(s) => {
                collect_globals(&s.body, out);
                collect_globals(&s.orelse, out);
            }
            Stmt::Try(s) => {
                collect_globals(&s.body, out);
                for h in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    collect_globals(&h.body, out);
                }
                collect_globals(&s.orelse, out);
                collect_globals(&s.finalbody, out);
            }
            _ => {}
        }
    }
}

/// Every importable module (helpers by `GlobalID`, data model files by their Rust module).
#[derive(Default)]
pub struct Program {
    pub modules: BTreeMap<String, PyModule>,
}

impl Program {
    pub fn get(&self, name: &str) -> Option<&PyModule> {
        self.modules.get(name)
    }

    /// The module that defines what `name` means in `module` (itself, or the module a
    /// `from m import name` chain leads to) and the name there; `None` past a module outside
    /// the program.
    pub fn origin<'p>(&'p self, module: &'p PyModule, name: &str) -> Option<(&'p PyModule, String)> {
        let mut module = module;
        let mut name = name.to_string();
        for _ in 0..16 {
            match module.imports.get(&name) {
                Some(Import::Item { module: m, name: next })
                    if !module.functions.contains_key(&name) && !module.constants.contains_key(&name) =>
                {
                    module = self.get(m)?;
                    name = next.clone();
                }
                _ => return Some((module, name)),
            }
        }
        None
    }
}
