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

/// `datetime` constants are computed with the runtime's own calendar arithmetic.
#[path = "../../../runtime/src/py/stdlib/calendar.rs"]
#[allow(dead_code)] // (not every function of it is needed here)
mod calendar;
mod classes;
mod desugar;
mod lower;
mod modules;
/// The runtime checks the patterns a rule computes with this same function.
#[path = "../../../runtime/src/py/stdlib/re_check.rs"]
mod re_check;
mod translate;

pub use modules::{Import, Program, PyModule};
pub use re_check::check_pattern;
pub use translate::{CompiledRule, HelperModule, ModelSpec, ModelTarget, compile_rules};

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
pub fn link(
    rules: &mut Vec<Rule>,
    globals: &[Global],
    models: &[DataModel],
    files: &[SourceFile],
    diags: &mut Vec<Diagnostic>,
) {
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
                Diagnostic::error(
                    &g.source,
                    g.span,
                    format!("helper `{}` names `{}`, which does not exist", g.id, g.file),
                )
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
    let specs = model_specs(models, files, &mut program, diags);
    let mut wanted = Vec::new();
    let mut failed = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let Some(py) = &rule.python else { continue };
        let Some(file) = find(&py.file) else {
            let span = find(&rule.source)
                .and_then(|f| crate::check::top_level_key_span(f, "Filename"))
                .unwrap_or_default();
            diags.push(
                Diagnostic::error(
                    &rule.source,
                    span,
                    format!("`Filename` names `{}`, which does not exist", py.file),
                )
                .label("no such file")
                .help("put the rule's `.py` beside its YAML, with the name `Filename` gives"),
            );
            failed.push(i);
            continue;
        };
        let name = format!("rule {}", rule.module);
        match PyModule::new(name.clone(), None, file.clone()) {
            Ok(mut m) => {
                m.mocked = rule.tests.iter().flat_map(|t| t.mocks.iter().map(|m| m.name.clone())).collect();
                program.modules.insert(name.clone(), m);
                // Panther picks a data model by the event's `p_log_type`: the rule's log types,
                // and those its test logs name.
                let mut log_types = rule.log_types.clone();
                for case in &rule.tests {
                    if let Ok(serde_json::Value::Object(log)) =
                        serde_json::from_str::<serde_json::Value>(&case.log)
                        && let Some(serde_json::Value::String(t)) = log.get("p_log_type")
                        && !log_types.contains(t)
                    {
                        log_types.push(t.clone());
                    }
                }
                wanted.push((i, rule.id.clone(), name, log_types));
            }
            Err(d) => {
                diags.push(d);
                failed.push(i);
            }
        }
    }
    let list: Vec<(String, String, Vec<String>)> =
        wanted.iter().map(|(_, id, m, t)| (id.clone(), m.clone(), t.clone())).collect();
    let results = compile_rules(&program, &specs, &list);
    for ((i, _, _, _), result) in wanted.iter().zip(results) {
        match result {
            Ok(compiled) => {
                let module =
                    program.get(&wanted.iter().find(|w| w.0 == *i).expect("wanted").2).expect("module");
                // What `rule()` cannot return True without, as IR steps (see `lower`).
                let lowered = lower::guards(&program, module);
                rules[*i].detection =
                    lowered.steps.into_iter().map(|(line, expr)| crate::ir::Step { line, expr }).collect();
                let py = rules[*i].python.as_mut().expect("a Python rule");
                py.lowered = lowered.complete;
                py.functions = compiled.functions;
                py.data_models = compiled.data_models;
                py.constants = compiled.constants;
                py.state = compiled.state;

                py.items = compiled.items;
                py.shared = compiled
                    .shared
                    .into_iter()
                    .map(|s| SharedItem {
                        module: s.rust_module,
                        source: s.source,
                        name: s.name,
                        items: s.items,
                    })
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

/// The enabled data models, one per log type (the first wins, as in Panther), with their
/// `.py` modules added to the program.
fn model_specs(
    models: &[DataModel],
    files: &[SourceFile],
    program: &mut Program,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ModelSpec> {
    let mut specs: Vec<ModelSpec> = Vec::new();
    for model in models.iter().filter(|m| m.enabled) {
        let rust_module = format!(
            "model_{}",
            crate::names::snake_case(&model.id, "").unwrap_or_else(|| "data_model".into())
        );
        let module = match &model.file {
            Some(path) => match files.iter().find(|f| &f.path == path) {
                Some(file) => {
                    let name = format!("datamodel {}", model.id);
                    match PyModule::new(name.clone(), Some(rust_module.clone()), file.clone()) {
                        Ok(m) => {
                            program.modules.insert(name.clone(), m);
                            Some(name)
                        }
                        Err(d) => {
                            diags.push(d);
                            continue;
                        }
                    }
                }
                None => {
                    diags.push(
                        Diagnostic::error(
                            &model.source,
                            Span::default(),
                            format!("data model `{}` names `{path}`, which does not exist", model.id),
                        )
                        .help("put the data model's `.py` beside its YAML"),
                    );
                    continue;
                }
            },
            None => None,
        };
        let mut mappings = Vec::new();
        let mut ok = true;
        for m in &model.mappings {
            match &m.target {
                crate::check::support::Target::Method(f) => {
                    mappings.push((m.name.clone(), ModelTarget::Method(f.clone())))
                }
                crate::check::support::Target::Path(p) => match json_path(p) {
                    Some(keys) => mappings.push((m.name.clone(), ModelTarget::Path(keys))),
                    None => {
                        diags.push(
                            Diagnostic::error(&model.source, m.span, format!("the data model path `{p}` is not supported"))
                                .label("not a plain field path")
                                .help("compiled data models read `$.a.b.c` paths of plain fields (no wildcards, indexes or filters)"),
                        );
                        ok = false;
                    }
                },
            }
        }
        if !ok {
            continue;
        }
        let log_types: Vec<String> = model
            .log_types
            .iter()
            .filter(|t| !specs.iter().any(|s| s.log_types.contains(t)))
            .cloned()
            .collect();
        specs.push(ModelSpec {
            id: model.id.clone(),
            source: model.source.clone(),
            log_types,
            module,
            rust_module,
            mappings,
        });
    }
    specs
}

/// The keys of a JSONPath made of plain fields (`$.a.b`, `a.b`), as `jsonpath_ng` reads them.
fn json_path(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix("$.").unwrap_or(path);
    let keys: Vec<String> = rest.split('.').map(str::to_string).collect();
    let plain = |k: &String| {
        k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    (!keys.is_empty() && keys.iter().all(plain)).then_some(keys)
}
