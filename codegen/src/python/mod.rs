//! The Python front end: Panther's Python rules (`Filename: x.py`), global helper modules and
//! data models, compiled to Rust over the runtime's `py` values.
//!
//! ```text
//! .py files ──► parse (ruff's parser) ──► Program (modules: imports, functions, constants)
//!                                              │
//! rule YAML (metadata, tests) ──► translate each function a rule needs ──► Rust items
//! ```
//!
//! Owns which Python files form the program (a rule's `.py`, every `global` helper by its
//! `GlobalID`, every `datamodel`'s `.py`), name resolution across them, and the translation
//! (`translate`). A construct the translation cannot reproduce exactly is a diagnostic at
//! `file.py:line:col` naming the construct and the rule that needs it: never a guess.
//! Must not: read files (sources arrive as [`SourceFile`]s) or touch the YAML front end.

mod modules;
mod translate;

pub use modules::{Import, Program, PyModule};
pub use translate::{CompiledRule, HelperModule, check_pattern, compile_rules};

use crate::diag::{Diagnostic, SourceFile, Span};

/// Parses one Python file; a syntax error is a diagnostic at its line and column.
pub fn parse(file: &SourceFile) -> Result<ruff_python_ast::ModModule, Diagnostic> {
    match ruff_python_parser::parse_module(&file.text) {
        Ok(parsed) => Ok(parsed.into_syntax()),
        Err(e) => {
            let range = e.location;
            let span = Span::new(range.start().to_usize(), range.end().to_usize());
            Err(Diagnostic::error(&file.path, span, format!("Python syntax error: {}", e.error))
                .label("here")
                .help("the file must be valid Python 3: run it through `python3 -m py_compile` to see CPython's message"))
        }
    }
}

use std::collections::BTreeMap;

use crate::check::support::{DataModel, Global};
use crate::ir::{Rule, SharedItem};

/// Compiles the Python of every rule that has some, in place: fills `rule.python`, and removes
/// (with a diagnostic) each rule whose Python cannot be compiled exactly. `files` holds the
/// `.py` sources the rules, `globals` and `models` name.
pub fn link(rules: &mut Vec<Rule>, globals: &[Global], models: &[DataModel], files: &[SourceFile], diags: &mut Vec<Diagnostic>) {
    let _ = models;
    if !rules.iter().any(|r| r.python.is_some()) {
        return;
    }
    let find = |path: &str| files.iter().find(|f| f.path == path);
    let mut program = Program::default();
    let mut ids: BTreeMap<&str, &Global> = BTreeMap::new();
    for g in globals {
        if let Some(first) = ids.insert(&g.id, g) {
            diags.push(
                Diagnostic::error(&g.source, g.span, format!("duplicate GlobalID `{}`", g.id))
                    .related(&first.source, first.span, "first defined here")
                    .help("every helper module needs its own GlobalID"),
            );
            continue;
        }
        let Some(file) = find(&g.file) else {
            diags.push(
                Diagnostic::error(&g.source, g.span, format!("helper `{}` names `{}`, which does not exist", g.id, g.file))
                    .help("put the helper's `.py` beside its YAML"),
            );
            continue;
        };
        let rust_module = crate::names::snake_case(&g.id, "helper_").unwrap_or_else(|| g.id.clone());
        match PyModule::new(g.id.clone(), Some(rust_module), file.clone()) {
            Ok(m) => {
                program.modules.insert(g.id.clone(), m);
            }
            Err(d) => diags.push(d),
        }
    }
    let mut wanted = Vec::new();
    let mut failed = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let Some(py) = &rule.python else { continue };
        let Some(file) = find(&py.file) else {
            let span = find(&rule.source)
                .and_then(|f| crate::check::top_level_key_span(f, "Filename"))
                .unwrap_or_default();
            diags.push(
                Diagnostic::error(&rule.source, span, format!("`Filename` names `{}`, which does not exist", py.file))
                    .label("no such file")
                    .help("put the rule's `.py` beside its YAML, with the name `Filename` gives"),
            );
            failed.push(i);
            continue;
        };
        let name = format!("rule {}", rule.module);
        match PyModule::new(name.clone(), None, file.clone()) {
            Ok(m) => {
                program.modules.insert(name.clone(), m);
                wanted.push((i, rule.id.clone(), name));
            }
            Err(d) => {
                diags.push(d);
                failed.push(i);
            }
        }
    }
    let list: Vec<(String, String)> = wanted.iter().map(|(_, id, m)| (id.clone(), m.clone())).collect();
    let (results, _helpers) = compile_rules(&program, &list);
    for ((i, _, _), result) in wanted.iter().zip(results) {
        match result {
            Ok(compiled) => {
                let py = rules[*i].python.as_mut().expect("a Python rule");
                py.functions = compiled.functions;
                py.items = compiled.items;
                py.shared = compiled
                    .shared
                    .into_iter()
                    .map(|s| SharedItem { module: s.rust_module, source: s.source, name: s.name, items: s.items })
                    .collect();
            }
            Err(mut d) => {
                diags.append(&mut d);
                failed.push(*i);
            }
        }
    }
    failed.sort();
    for i in failed.into_iter().rev() {
        rules.remove(i);
    }
}
