//! Python functions to Rust functions over the runtime's `py` values.
//!
//! Every Python function becomes `fn name<'e>(params: Obj<'e>, …) -> R<Obj<'e>>`: statements
//! become Rust statements, expressions direct calls into `py` (no name is looked up at run
//! time: locals, module functions, helper functions, constants and builtins are resolved here),
//! exceptions `Err` values propagated with `?`. Conditions stay `bool` where Python only tests
//! truthiness, so `if a == b and x:` compiles to `py::eq(&a, &b) && py::truthy(&x)`.
//!
//! Owns the table of what is supported (builtins, methods, standard-library functions) and the
//! rejections: any other construct is a diagnostic at its `file.py:line:col`.
//! Must not: approximate. What CPython would do differently is rejected, or raises at run time
//! (an error, never a different answer).

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};
use ruff_python_ast::visitor::transformer::{Transformer, walk_expr};
use ruff_python_ast::{self as ast, CmpOp, Expr, Number, Operator, Stmt, UnaryOp};
use ruff_text_size::Ranged;

use super::classes;

mod dates;
mod state;
use super::modules::{Import, Program, PyModule};
use crate::diag::{Diagnostic, Span};

/// The Panther functions a rule module may define, in the order the runtime lists them.
pub const RULE_FUNCTIONS: &[&str] = &[
    "rule",
    "title",
    "dedup",
    "alert_context",
    "severity",
    "description",
    "reference",
    "runbook",
    "destinations",
];

/// A rule's compiled Python: the Rust items of its module and which Panther functions it has.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledRule {
    /// Rust items (functions and constants), as source text.
    pub items: String,
    /// The Panther functions the file defines (`rule` always).
    pub functions: Vec<String>,
    /// The definitions of helper modules it needs.
    pub shared: Vec<HelperModule>,
    /// The log types whose data models it needs (for `event.udm`), with each model's module.
    pub data_models: Vec<(String, String)>,
    /// The Rust names of its module's constants.
    pub constants: Vec<String>,
    /// The Rust names of its module-state variables (`global X`).
    pub state: Vec<String>,
}

/// A data model, for `event.udm`: which log types it serves and how it maps each name.
pub struct ModelSpec {
    pub id: String,
    /// The data model's YAML file.
    pub source: String,
    pub log_types: Vec<String>,
    /// The program module of its `.py`, if it has one.
    pub module: Option<String>,
    /// The Rust module its `DATA_MODEL` and methods go to.
    pub rust_module: String,
    /// Each name: a path of keys (from `Path`), or a method of the module.
    pub mappings: Vec<(String, ModelTarget)>,
}

pub enum ModelTarget {
    Path(Vec<String>),
    Method(String),
}

/// One compiled definition of a helper module, shared by the rules that call it.
#[derive(Clone, Debug, PartialEq)]
pub struct HelperModule {
    pub rust_module: String,
    /// The `.py` it comes from.
    pub source: String,
    pub name: String,
    pub items: String,
}

/// A reference from compiled code to a top-level definition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Def {
    Function(String, String),
    Constant(String, String),
    /// A module variable some function declares `global` (module state).
    Global(String, String),
}

/// What translating one definition produced.
#[derive(Clone)]
struct Item {
    tokens: TokenStream,
    deps: BTreeSet<Def>,
    /// Whether the definition calls `.udm(…)` (so the rule needs its log types' data models).
    udm: bool,
}

/// An unsupported construct: where, what, and how to get around it.
#[derive(Clone)]
struct Reject {
    span: Span,
    what: String,
    help: Option<String>,
}

type T<V> = Result<V, Reject>;

fn reject<V>(node: &impl Ranged, what: impl Into<String>) -> T<V> {
    Err(Reject { span: span(node), what: what.into(), help: None })
}

fn span(node: &impl Ranged) -> Span {
    let r = node.range();
    Span::new(r.start().to_usize(), r.end().to_usize())
}

/// Compiles the Python of every rule: `rules` are `(rule id, module name in program)`. Returns
/// each rule's result: its items and the helper definitions it needs, or the diagnostics that
/// reject it.
pub fn compile_rules(
    program: &Program,
    models: &[ModelSpec],
    rules: &[(String, String, Vec<String>)],
) -> Vec<Result<CompiledRule, Vec<Diagnostic>>> {
    let mut cache: BTreeMap<Def, Result<Item, (String, Reject)>> = BTreeMap::new();
    let mut results = Vec::new();
    for (id, module_name, log_types) in rules {
        let module = program.get(module_name).expect("rule modules are in the program");
        let compiled = compile_rule(program, module, &mut cache).and_then(|(compiled, needed, udm)| {
            if !udm {
                return Ok((compiled, needed));
            }
            link_models(program, models, log_types, &mut cache).map(|(mut needed_models, tables)| {
                let mut compiled = compiled;
                compiled.data_models = tables.iter().map(|(t, m, _)| (t.clone(), m.clone())).collect();
                for (_, m, tokens) in tables.into_iter().filter(|t| !t.2.is_empty()) {
                    compiled.shared.push(HelperModule {
                        rust_module: m.clone(),
                        source: models
                            .iter()
                            .find(|s| s.rust_module == m)
                            .map(|s| s.source.clone())
                            .unwrap_or_default(),
                        name: "DATA_MODEL".into(),
                        items: tokens,
                    });
                }
                needed_models.extend(needed);
                (compiled, needed_models)
            })
        });
        match compiled {
            Ok((mut compiled, needed)) => {
                for def in needed {
                    let (Def::Function(m, name) | Def::Constant(m, name) | Def::Global(m, name)) = &def;
                    let (Some(Ok(item)), Some(helper)) = (cache.get(&def), program.get(m)) else { continue };
                    let Some(rust_module) = helper.rust_module.clone() else { continue };
                    let tokens = &item.tokens;
                    compiled.shared.push(HelperModule {
                        rust_module,
                        source: helper.file.path.clone(),
                        name: name.clone(),
                        items: quote!(#tokens).to_string(),
                    });
                }
                results.push(Ok(compiled));
            }
            Err((path, r)) => {
                let mut d =
                    Diagnostic::error(&path, r.span, format!("rule `{id}` cannot be compiled: {}", r.what))
                        .label("not supported");
                if path != module.file.path {
                    d = d.related(&module.file.path, Span::default(), format!("needed by rule `{id}`"));
                }
                d = d.help(r.help.unwrap_or_else(|| {
                    "rewrite this part with the supported Python subset (see README: Python rules), or \
                     express the rule as a declarative `Detection:`"
                        .to_string()
                }));
                results.push(Err(vec![d]));
            }
        }
    }
    results
}

/// The data models of `log_types` for a rule that calls `udm`: their methods compiled (through
/// the cache, so a method is translated once), and each model's `DATA_MODEL` static.
#[allow(clippy::type_complexity)]
fn link_models(
    program: &Program,
    models: &[ModelSpec],
    log_types: &[String],
    cache: &mut BTreeMap<Def, Result<Item, (String, Reject)>>,
) -> Result<(BTreeSet<Def>, Vec<(String, String, String)>), (String, Reject)> {
    let mut needed = BTreeSet::new();
    // (log type, model module, the model's `DATA_MODEL` item: empty after its first log type)
    let mut tables = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for log_type in log_types {
        let Some(spec) = models.iter().find(|m| m.log_types.contains(log_type)) else { continue };
        if !done.insert(&spec.rust_module) {
            tables.push((log_type.clone(), spec.rust_module.clone(), String::new()));
            continue;
        }
        let mut entries = Vec::new();
        for (name, target) in &spec.mappings {
            match target {
                ModelTarget::Path(keys) => entries.push(quote!((#name, py::Mapping::Path(&[#(#keys),*])))),
                ModelTarget::Method(method) => {
                    let module = spec.module.as_ref().and_then(|m| program.get(m)).ok_or_else(|| {
                        (
                            spec.source.clone(),
                            Reject {
                                span: Span::default(),
                                what: format!("data model method `{method}` without a `.py`"),
                                help: None,
                            },
                        )
                    })?;
                    // The method may be imported from a helper (`from helpers import get_user`).
                    let not_defined = || {
                        (
                            spec.source.clone(),
                            Reject {
                                span: Span::default(),
                                what: format!(
                                    "data model method `{method}`, which `{}` does not define",
                                    module.file.path
                                ),
                                help: None,
                            },
                        )
                    };
                    let (target, fname) = program.origin(module, method).ok_or_else(not_defined)?;
                    let fmodule = target.name.clone();
                    let f = target.function(&fname).ok_or_else(not_defined)?;
                    if f.parameters.args.len() + f.parameters.posonlyargs.len() != 1
                        || f.parameters.vararg.is_some()
                        || !f.parameters.kwonlyargs.is_empty()
                    {
                        return Err((
                            target.file.path.clone(),
                            Reject {
                                span: span(f),
                                what: format!(
                                    "data model method `{method}` that does not take exactly the event"
                                ),
                                help: None,
                            },
                        ));
                    }
                    // Compile the method and what it reaches.
                    let mut pending = vec![Def::Function(fmodule.clone(), fname.clone())];
                    while let Some(def) = pending.pop() {
                        if !needed.insert(def.clone()) {
                            continue;
                        }
                        let item = cached(program, cache, &def)?;
                        pending.extend(item.deps.iter().cloned());
                    }
                    let id = fn_ident(&fname);
                    let path = if fmodule == module.name {
                        quote!(#id)
                    } else {
                        let m = format_ident!("{}", target.rust_module.clone().unwrap_or_default());
                        quote!(super::#m::#id)
                    };
                    entries.push(quote!((#name, py::Mapping::Method(#path))));
                }
            }
        }
        let id = &spec.id;
        let doc = format!(" The data model `{id}` (`{}`), for `event.udm`.", spec.source);
        let tokens = quote! {
            #[doc = #doc]
            pub static DATA_MODEL: py::DataModel = py::DataModel { id: #id, mappings: &[#(#entries),*] };
        };
        tables.push((log_type.clone(), spec.rust_module.clone(), tokens.to_string()));
    }
    Ok((needed, tables))
}

/// Compiles a rule module's Panther functions and everything they reach. Returns the rule's
/// items and the shared definitions (of helper modules) it needs.
fn compile_rule(
    program: &Program,
    module: &PyModule,
    cache: &mut BTreeMap<Def, Result<Item, (String, Reject)>>,
) -> Result<(CompiledRule, BTreeSet<Def>, bool), (String, Reject)> {
    if module.function("rule").is_none() {
        return Err((
            module.file.path.clone(),
            Reject {
                span: Span::default(),
                what: "the file defines no `rule(event)` function".into(),
                help: Some(
                    "a Python rule defines `def rule(event):` returning whether the event matches".into(),
                ),
            },
        ));
    }
    for name in &module.mocked {
        let what = if module.state.contains(name) {
            // Read and written through `py::load_mocked`/`store_mocked`: the test's MagicMock,
            // then what the case assigns, while it is mocked.
            continue;
        } else if module.reassigned.contains(name) {
            format!(
                "a test mocks `{name}`, a module variable assigned more than once at module level, that a MagicMock would replace"
            )
        } else if module.constants.contains_key(name) {
            // Read through `py::mocked_variable`: the test's MagicMock while it is mocked.
            continue;
        } else if !module.functions.contains_key(name) && !module.imports.contains_key(name) {
            format!("a test mocks `{name}`, which the rule's module does not define")
        } else {
            continue;
        };
        return Err((
            module.file.path.clone(),
            Reject {
                span: Span::default(),
                what,
                help: Some("mock the functions the rule's module calls".into()),
            },
        ));
    }
    let functions: Vec<String> =
        RULE_FUNCTIONS.iter().filter(|f| module.function(f).is_some()).map(|f| f.to_string()).collect();
    let mut pending: Vec<Def> =
        functions.iter().map(|f| Def::Function(module.name.clone(), f.clone())).collect();
    let mut seen: BTreeSet<Def> = BTreeSet::new();
    let mut local_items: Vec<(Def, TokenStream)> = Vec::new();
    let mut shared = BTreeSet::new();
    let mut udm = false;
    while let Some(def) = pending.pop() {
        if !seen.insert(def.clone()) {
            continue;
        }
        let item = cached(program, cache, &def)?;
        pending.extend(item.deps.iter().cloned());
        udm |= item.udm;
        let (Def::Function(m, _) | Def::Constant(m, _) | Def::Global(m, _)) = &def;
        if *m == module.name {
            local_items.push((def, item.tokens));
        } else {
            shared.insert(def);
        }
    }
    local_items.sort_by(|a, b| a.0.cmp(&b.0));
    // Panther's functions first (in the runtime's order), then the file's other definitions.
    let rank = |d: &Def| match d {
        Def::Function(_, n) => RULE_FUNCTIONS.iter().position(|f| f == n).unwrap_or(usize::MAX),
        Def::Constant(..) | Def::Global(..) => usize::MAX,
    };
    local_items.sort_by_key(|(d, _)| rank(d));
    let constants = local_items
        .iter()
        .filter_map(
            |(d, _)| if let Def::Constant(_, n) = d { Some(const_ident(n).to_string()) } else { None },
        )
        .collect();
    let state = local_items
        .iter()
        .filter_map(|(d, _)| if let Def::Global(_, n) = d { Some(const_ident(n).to_string()) } else { None })
        .collect();
    let items = local_items.into_iter().map(|(_, t)| t);
    Ok((
        CompiledRule {
            items: quote!(#(#items)*).to_string(),
            functions,
            shared: Vec::new(),
            data_models: Vec::new(),
            constants,
            state,
        },
        shared,
        udm,
    ))
}

/// A definition translated once per compilation (rules share helpers).
fn cached(
    program: &Program,
    cache: &mut BTreeMap<Def, Result<Item, (String, Reject)>>,
    def: &Def,
) -> Result<Item, (String, Reject)> {
    if let Some(r) = cache.get(def) {
        return r.clone();
    }
    let r = translate_def(program, def);
    cache.insert(def.clone(), r.clone());
    r
}

fn translate_def(program: &Program, def: &Def) -> Result<Item, (String, Reject)> {
    let (module_name, name) = match def {
        Def::Function(m, n) | Def::Constant(m, n) | Def::Global(m, n) => (m, n),
    };
    let module = program.get(module_name).expect("definitions refer to known modules");
    let at = |r: Reject| (module.file.path.clone(), r);
    match def {
        Def::Function(..) => {
            let f = module.function(name).expect("resolved functions exist");
            let mut cx = FnCx::new(program, module, f).map_err(at)?;
            cx.nested = module.nested.get(name).cloned().unwrap_or_default();
            if let Some(class) = module.class_of_method(name) {
                let Some(this) = f.parameters.posonlyargs.iter().chain(&f.parameters.args).next() else {
                    return Err(at(Reject {
                        span: span(f),
                        what: "a method without `self`".into(),
                        help: None,
                    }));
                };
                cx.class = Some((
                    module.name.clone(),
                    class.name.id.to_string(),
                    this.parameter.name.id.to_string(),
                ));
            }
            cx.current = name.clone();
            if module.class_of_method(name).is_none() {
                cx.captured = captures(program, module, name).map_err(at)?;
                for c in &cx.captured {
                    cx.locals.insert(c.clone(), Storage::Plain);
                }
            }
            let tokens = cx.function(f, name).map_err(at)?;
            Ok(Item { tokens, deps: cx.deps, udm: cx.udm })
        }
        Def::Constant(..) => {
            let value = module.constant(name).expect("resolved constants exist");
            let ident = const_ident(name);
            let doc = format!(" `{name}` of `{}`.", module.file.path);
            let deps = BTreeSet::new();
            let Some(c) = constant(program, module, value, 0) else {
                return Err(at(Reject {
                    span: span(value),
                    what: format!("module variable `{name}` is not a constant (a literal, or `re.compile` or `ip_network` of one)"),
                    help: Some("compiled rules read module variables that are literals: strings, numbers, lists, tuples, sets and dictionaries of them (with `**` of constant dictionaries), other constants, `re.compile` of a literal, and `ipaddress.ip_network` of an IPv4 literal".into()),
                }));
            };
            let tokens = quote! { #[doc = #doc] pub static #ident: py::Const = #c; };
            Ok(Item { tokens, deps, udm: false })
        }
        Def::Global(..) => {
            let ident = const_ident(name);
            let doc = format!(
                " `{name}` of `{}`: module state, which its functions assign (`global {name}`).",
                module.file.path
            );
            let initial = match module.constants.get(name) {
                None => quote!(None),
                Some(_) => {
                    let value = module.constant(name).expect("assigned names have a value");
                    let c = (!module.reassigned.contains(name))
                        .then(|| constant(program, module, value, 0))
                        .flatten()
                        .ok_or_else(|| at(Reject {
                            span: span(value),
                            what: format!("module state `{name}` whose module-level value is not a constant (a literal, or `re.compile` or `ip_network` of one)"),
                            help: None,
                        }))?;
                    quote!(Some(&#c))
                }
            };
            let tokens = quote! {
                #[doc = #doc]
                static #ident: py::Global = py::Global::new(#name, #initial);
            };
            Ok(Item { tokens, deps: BTreeSet::new(), udm: false })
        }
    }
}

fn const_ident(name: &str) -> Ident {
    format_ident!("{}", name.to_uppercase().trim_start_matches('_').to_string().replace("__", "_"))
}

/// A literal module constant as a `py::Const` expression: literals, containers of them,
/// references to other constants (`event_type.LOGIN`, `OTHER`), and `re.compile` of a literal.
fn constant(program: &Program, module: &PyModule, e: &Expr, depth: usize) -> Option<TokenStream> {
    if depth > 16 {
        return None;
    }
    let constant = |e: &Expr| constant(program, module, e, depth + 1);
    Some(match e {
        Expr::Name(n) => {
            let (m, v) = constant_value(program, module, n.id.as_str())?;
            return self::constant(program, m, v, depth + 1);
        }
        Expr::Attribute(a) => {
            let Expr::Name(n) = &*a.value else { return None };
            let Some(Import::Module(m)) = module.imports.get(n.id.as_str()) else { return None };
            let helper = program.get(m)?;
            let (m, v) = constant_value(program, helper, a.attr.id.as_str())?;
            return self::constant(program, m, v, depth + 1);
        }
        Expr::NoneLiteral(_) => quote!(py::Const::None),
        Expr::BooleanLiteral(b) => {
            let v = b.value;
            quote!(py::Const::Bool(#v))
        }
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => {
                let v = Literal::i64_unsuffixed(i.as_i64()?);
                quote!(py::Const::Int(#v))
            }
            Number::Float(f) => {
                let v = Literal::f64_suffixed(*f);
                quote!(py::Const::Float(#v))
            }
            Number::Complex { .. } => return None,
        },
        Expr::UnaryOp(u) if u.op == UnaryOp::USub => match &*u.operand {
            Expr::NumberLiteral(n) => match &n.value {
                Number::Int(i) => {
                    let v = Literal::i64_unsuffixed(-i.as_i64()?);
                    quote!(py::Const::Int(#v))
                }
                Number::Float(f) => {
                    let v = Literal::f64_suffixed(-*f);
                    quote!(py::Const::Float(#v))
                }
                _ => return None,
            },
            _ => return None,
        },
        Expr::StringLiteral(s) => {
            let v = s.value.to_str();
            quote!(py::Const::Str(#v))
        }
        Expr::List(l) => {
            let items = l.elts.iter().map(constant).collect::<Option<Vec<_>>>()?;
            quote!(py::Const::List(&[#(#items),*]))
        }
        Expr::Tuple(l) => {
            let items = l.elts.iter().map(constant).collect::<Option<Vec<_>>>()?;
            quote!(py::Const::Tuple(&[#(#items),*]))
        }
        Expr::Set(l) => {
            let items = l.elts.iter().map(constant).collect::<Option<Vec<_>>>()?;
            if !distinct(program, module, &l.elts, depth) {
                return None;
            }
            quote!(py::Const::Set(&[#(#items),*]))
        }
        Expr::Dict(d) => {
            let mut entries = Vec::new();
            dict_entries(program, module, d, depth, &mut entries)?;
            let entries = entries.into_iter().map(|(_, k, v)| quote!((#k, #v)));
            quote!(py::Const::Dict(&[#(#entries),*]))
        }
        Expr::Call(c) if let Some((addr, prefix)) = network_literal(module, c) => {
            let [a, b, c, d] = addr.octets();
            quote!(py::Const::Net(std::net::IpAddr::V4(std::net::Ipv4Addr::new(#a, #b, #c, #d)), #prefix))
        }
        Expr::Call(c) if matches!(&*c.func, Expr::Attribute(a) if a.attr.id.as_str() == "compile" && matches!(&*a.value, Expr::Name(m) if m.id.as_str() == "re")) =>
        {
            let (pattern, flags) = regex_args(c).ok()?;
            let flags = Literal::i64_unsuffixed(flags);
            quote!(py::Const::Regex(#pattern, #flags))
        }
        // `[f(x) for x in ITEMS]` over a constant collection of literals: the list built at
        // import, element by element (`[re.compile(p) for p in PATTERNS]`).
        Expr::ListComp(c) if c.generators.len() == 1 => {
            let g = &c.generators[0];
            let Expr::Name(var) = &g.target else { return None };
            if g.is_async || !g.ifs.is_empty() {
                return None;
            }
            let items = literal_items(program, module, &g.iter, depth)?;
            let elements = items
                .iter()
                .map(|item| {
                    let mut elt = (*c.elt).clone();
                    Substitute { name: var.id.as_str(), value: item }.visit_expr(&mut elt);
                    constant(&elt)
                })
                .collect::<Option<Vec<_>>>()?;
            quote!(py::Const::List(&[#(#elements),*]))
        }
        // `timedelta(hours=12)`, `datetime(2030, 6, 2)` of integer literals.
        Expr::Call(c) if dates::date_constant(module, c).is_some() => dates::date_constant(module, c)?,
        // `set([...])`, `frozenset({...})`, `tuple([...])`, `list(...)` of literals.
        Expr::Call(c) if c.arguments.keywords.is_empty() && c.arguments.args.len() <= 1 => {
            let Expr::Name(f) = &*c.func else { return None };
            let inner = match c.arguments.args.first() {
                None => Vec::new(),
                Some(Expr::List(l)) => l.elts.clone(),
                Some(Expr::Tuple(l)) => l.elts.clone(),
                Some(Expr::Set(l)) => l.elts.clone(),
                _ => return None,
            };
            let items = inner.iter().map(constant).collect::<Option<Vec<_>>>()?;
            match f.id.as_str() {
                "set" | "frozenset" => {
                    if !distinct(program, module, &inner, depth) {
                        return None;
                    }
                    quote!(py::Const::Set(&[#(#items),*]))
                }
                "tuple" => quote!(py::Const::Tuple(&[#(#items),*])),
                "list" => quote!(py::Const::List(&[#(#items),*])),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The items of a constant list, tuple or set (written out, or a module constant) when every
/// one is a plain literal (so it means the same wherever it is substituted).
fn literal_items(program: &Program, module: &PyModule, e: &Expr, depth: usize) -> Option<Vec<Expr>> {
    if depth > 16 {
        return None;
    }
    let items = match e {
        Expr::Name(n) => {
            let (m, v) = constant_value(program, module, n.id.as_str())?;
            return literal_items(program, m, v, depth + 1);
        }
        Expr::List(l) => &l.elts,
        Expr::Tuple(l) => &l.elts,
        _ => return None,
    };
    let plain = |e: &Expr| {
        matches!(
            e,
            Expr::StringLiteral(_) | Expr::NumberLiteral(_) | Expr::BooleanLiteral(_) | Expr::NoneLiteral(_)
        )
    };
    items.iter().all(plain).then(|| items.clone())
}

/// Replaces a comprehension's variable by one item's literal.
struct Substitute<'a> {
    name: &'a str,
    value: &'a Expr,
}

impl Transformer for Substitute<'_> {
    fn visit_expr(&self, expr: &mut Expr) {
        if let Expr::Name(n) = expr
            && n.id.as_str() == self.name
        {
            *expr = self.value.clone();
            return;
        }
        walk_expr(self, expr);
    }
}

/// The value of a module-level constant `name` of `module`, following imports.
fn constant_value<'p>(
    program: &'p Program,
    module: &'p PyModule,
    name: &str,
) -> Option<(&'p PyModule, &'p Expr)> {
    let (module, name) = program.origin(module, name)?;
    if module.reassigned.contains(&name) || module.state.contains(&name) {
        return None;
    }
    Some((module, module.constant(&name)?))
}

/// The entries of a constant dictionary display, as CPython builds it at import: in order,
/// `**OTHER` merging another constant dictionary's, a repeated key keeping its first place and
/// taking the last value. Each entry: its key's identity ([`const_key`]), key, value.
fn dict_entries(
    program: &Program,
    module: &PyModule,
    d: &ast::ExprDict,
    depth: usize,
    out: &mut Vec<(String, TokenStream, TokenStream)>,
) -> Option<()> {
    if depth > 16 {
        return None;
    }
    for item in &d.items {
        let Some(key) = &item.key else {
            let (m, inner) = resolve_constant(program, module, &item.value, depth + 1)?;
            let Expr::Dict(inner) = inner else { return None };
            dict_entries(program, m, inner, depth + 1, out)?;
            continue;
        };
        let id = const_key(program, module, key, depth + 1)?;
        let k = constant(program, module, key, depth + 1)?;
        let v = constant(program, module, &item.value, depth + 1)?;
        match out.iter_mut().find(|(existing, _, _)| *existing == id) {
            Some(entry) => entry.2 = v,
            None => out.push((id, k, v)),
        }
    }
    Some(())
}

/// Follows a name (or `module.NAME`) to the constant expression it stands for.
fn resolve_constant<'p>(
    program: &'p Program,
    module: &'p PyModule,
    e: &'p Expr,
    depth: usize,
) -> Option<(&'p PyModule, &'p Expr)> {
    if depth > 16 {
        return None;
    }
    let (m, v) = match e {
        Expr::Name(n) => constant_value(program, module, n.id.as_str())?,
        Expr::Attribute(a) => {
            let Expr::Name(n) = &*a.value else { return None };
            let Some(Import::Module(m)) = module.imports.get(n.id.as_str()) else { return None };
            constant_value(program, program.get(m)?, a.attr.id.as_str())?
        }
        _ => return Some((module, e)),
    };
    resolve_constant(program, m, v, depth + 1)
}

/// `ipaddress.ip_network("a.b.c.d/p")` (or `IPv4Network`, strict) of an IPv4 literal that
/// CPython accepts exactly so: decimal octets without leading zeros, a decimal prefix length,
/// no host bits set. Anything else (IPv6, netmasks, `strict=False`) is not a constant here.
fn network_literal(module: &PyModule, c: &ast::ExprCall) -> Option<(std::net::Ipv4Addr, u8)> {
    let callee = match &*c.func {
        Expr::Name(f)
            if !module.functions.contains_key(f.id.as_str())
                && !module.constants.contains_key(f.id.as_str()) =>
        {
            match module.imports.get(f.id.as_str())? {
                Import::Item { module: m, name } if m == "ipaddress" => name.as_str(),
                _ => return None,
            }
        }
        Expr::Attribute(a) => match (&*a.value, module.imports.get(a.value.as_name_expr()?.id.as_str())?) {
            (Expr::Name(_), Import::Module(m)) if m == "ipaddress" => a.attr.id.as_str(),
            _ => return None,
        },
        _ => return None,
    };
    if !matches!(callee, "ip_network" | "IPv4Network") || !c.arguments.keywords.is_empty() {
        return None;
    }
    let [Expr::StringLiteral(text)] = &c.arguments.args[..] else { return None };
    let text = text.value.to_str();
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, p),
        None => (text, "32"),
    };
    let decimal = |s: &str, max: u32| -> Option<u32> {
        let ok = !s.is_empty()
            && s.len() <= 3
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        ok.then(|| s.parse::<u32>().ok()).flatten().filter(|&v| v <= max)
    };
    let octets: Vec<u8> = addr.split('.').map(|o| decimal(o, 255).map(|v| v as u8)).collect::<Option<_>>()?;
    let [a, b, c2, d] = octets[..] else { return None };
    let prefix = decimal(prefix, 32)? as u8;
    let bits = u32::from_be_bytes([a, b, c2, d]);
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    (bits & !mask == 0).then(|| (std::net::Ipv4Addr::from(bits), prefix))
}

/// A hashable constant's identity at build time (set members, dictionary keys): two are equal
/// exactly when the Python values are equal. `None` for what is not known so exactly (floats,
/// booleans, which equal `1` and `0`).
fn const_key(program: &Program, module: &PyModule, e: &Expr, depth: usize) -> Option<String> {
    if depth > 16 {
        return None;
    }
    let (module, e) = resolve_constant(program, module, e, depth)?;
    Some(match e {
        Expr::StringLiteral(s) => format!("s:{:?}", s.value.to_str()),
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => format!("i:{}", i.as_i64()?),
            _ => return None,
        },
        Expr::UnaryOp(u) if u.op == UnaryOp::USub => match &*u.operand {
            Expr::NumberLiteral(ast::ExprNumberLiteral { value: Number::Int(i), .. }) => {
                format!("i:{}", -i.as_i64()?)
            }
            _ => return None,
        },
        Expr::NoneLiteral(_) => "n".into(),
        Expr::Tuple(t) => {
            let keys = t
                .elts
                .iter()
                .map(|e| const_key(program, module, e, depth + 1))
                .collect::<Option<Vec<_>>>()?;
            format!("t:{keys:?}")
        }
        Expr::Call(c) => {
            let (addr, prefix) = network_literal(module, c)?;
            format!("net:{addr}/{prefix}")
        }
        _ => return None,
    })
}

/// Whether set members are distinct constants ([`const_key`]): duplicates (or `1` and `True`)
/// would make a constant that differs from what Python builds.
fn distinct(program: &Program, module: &PyModule, items: &[Expr], depth: usize) -> bool {
    let mut seen = BTreeSet::new();
    items.iter().all(|e| const_key(program, module, e, depth + 1).is_some_and(|k| seen.insert(k)))
}

/// The literal pattern and flags of a `re` call; patterns whose meaning differs between
/// Python's `re` and the `regex` crate are rejected.
fn regex_args(c: &ast::ExprCall) -> T<(String, i64)> {
    match regex_args_in(c, None, 1, None)? {
        Some(found) => Ok(found),
        None => reject(c, "a regular expression that is not a string literal or a constant"),
    }
}

/// The pattern and flags of a `re` call when the pattern is known at build time: a literal, a
/// module constant holding a string, or `local` (a local variable provably holding a literal).
/// `None`: the pattern is computed at run time. A known pattern whose meaning differs between
/// Python's `re` and the `regex` crate is rejected here.
fn regex_args_in(
    c: &ast::ExprCall,
    scope: Option<(&Program, &PyModule)>,
    flags_at: usize,
    local: Option<&ast::ExprStringLiteral>,
) -> T<Option<(String, i64)>> {
    let literal = match c.arguments.args.first() {
        Some(Expr::StringLiteral(p)) => Some(p),
        Some(Expr::Name(n)) => local.or_else(|| {
            scope.and_then(|(program, module)| match constant_value(program, module, n.id.as_str()) {
                Some((_, Expr::StringLiteral(p))) => Some(p),
                _ => None,
            })
        }),
        _ => None,
    };
    let flags = regex_call_flags(c, flags_at)?;
    let Some(p) = literal else { return Ok(None) };
    let pattern = p.value.to_str().to_string();
    super::check_pattern(&pattern).map_err(|what| Reject {
        span: span(p),
        what,
        help: Some(
            "Python's `re` and the compiled engine differ on this construct; rewrite the pattern without it"
                .into(),
        ),
    })?;
    Ok(Some((pattern, flags)))
}

/// The flags of a `re` call (positional at `flags_at`, or `flags=`): `re.I`, `re.M`, `re.S`,
/// `re.X` and their `|`.
fn regex_call_flags(c: &ast::ExprCall, flags_at: usize) -> T<i64> {
    let flag_expr = c.arguments.args.get(flags_at).or_else(|| {
        c.arguments
            .keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "flags"))
            .map(|k| &k.value)
    });
    match flag_expr {
        None => Ok(0),
        Some(f) => regex_flags(f).ok_or_else(|| Reject {
            span: span(f),
            what: "regular expression flags other than re.I, re.M, re.S, re.X".into(),
            help: None,
        }),
    }
}

fn regex_flags(e: &Expr) -> Option<i64> {
    match e {
        Expr::Attribute(a) if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "re") => {
            match a.attr.id.as_str() {
                "I" | "IGNORECASE" => Some(2),
                "M" | "MULTILINE" => Some(8),
                "S" | "DOTALL" => Some(16),
                "X" | "VERBOSE" => Some(64),
                _ => None,
            }
        }
        Expr::BinOp(b) if b.op == Operator::BitOr => Some(regex_flags(&b.left)? | regex_flags(&b.right)?),
        _ => None,
    }
}

/// How a local variable is stored: plain, or (when it may be read before Python binds it)
/// as an `Option` read through `py::bound`, so that the read raises `UnboundLocalError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Storage {
    Plain,
    MaybeUnbound,
}

/// A compiled expression: a Rust expression of type `Obj`, of type `bool`, or a local variable
/// (an `Obj` that can be borrowed without a temporary).
#[derive(Clone)]
enum Code {
    Obj(TokenStream),
    Bool(TokenStream),
    Place(TokenStream),
}

impl Code {
    fn obj(self) -> TokenStream {
        match self {
            Code::Obj(t) => t,
            Code::Bool(t) => quote!(Obj::Bool(#t)),
            Code::Place(t) => quote!(#t.clone()),
        }
    }
    fn by_ref(self) -> TokenStream {
        match self {
            Code::Obj(t) => quote!(&#t),
            Code::Bool(t) => quote!(&Obj::Bool(#t)),
            Code::Place(t) => quote!(&#t),
        }
    }
    fn cond(self) -> TokenStream {
        match self {
            Code::Bool(t) => t,
            Code::Obj(t) => quote!(py::truthy(&#t)),
            Code::Place(t) => quote!(py::truthy(&#t)),
        }
    }
}

/// A function's parameters, for binding call arguments at compile time.
struct Signature {
    positional: Vec<(String, Option<Expr>)>,
    varargs: Option<String>,
    keyword_only: Vec<(String, Option<Expr>)>,
}

fn signature(params: &ast::Parameters, at: &impl Ranged) -> T<Signature> {
    if params.kwarg.is_some() {
        return reject(at, "a `**kwargs` parameter");
    }
    let p = |p: &ast::ParameterWithDefault| (p.parameter.name.id.to_string(), p.default.as_deref().cloned());
    Ok(Signature {
        positional: params.posonlyargs.iter().chain(params.args.iter()).map(p).collect(),
        varargs: params.vararg.as_ref().map(|v| v.name.id.to_string()),
        keyword_only: params.kwonlyargs.iter().map(p).collect(),
    })
}

/// Translating one function.
struct FnCx<'p> {
    program: &'p Program,
    module: &'p PyModule,
    locals: BTreeMap<String, Storage>,
    deps: BTreeSet<Def>,
    /// Names bound by enclosing comprehensions and lambdas (innermost last).
    scoped: Vec<String>,
    tmp: usize,
    udm: bool,
    /// Enclosing loops and `try` bodies (compiled as closures), innermost last.
    frames: Vec<Frame>,
    /// Locals first bound by a top-level `name = value` statement: declared there with `let`
    /// (mutable when assigned again), not up front.
    declared_at: BTreeMap<String, (usize, bool)>,
    /// The index of the top-level statement being compiled (`None` inside blocks).
    top_statement: Option<usize>,
    /// Functions defined in this function's body (or, for one of them, its siblings): name to
    /// hoisted name.
    nested: BTreeMap<String, String>,
    /// The caught exception's Rust variable in each enclosing `except` (for a bare `raise`).
    caught: Vec<Ident>,
    /// The names this function declares `global`: module state it assigns.
    globals: BTreeSet<String>,
    /// Locals assigned once, a string literal (for patterns known at build time).
    constant_locals: BTreeMap<String, ast::ExprStringLiteral>,
    /// For a method: its class (module and name) and its first parameter (`self`).
    class: Option<(String, String, String)>,
    /// The function's name in its module (hoisted name for a nested one).
    current: String,
    /// For a nested function: the variables of its enclosing function it reads, received as
    /// leading arguments (see [`captures`]).
    captured: Vec<String>,
    /// Locals that only `for` loops bind and only their bodies read (see [`loop_only`]): bound
    /// by the Rust loop itself, as Python's binding after the loop is never observed.
    loop_locals: BTreeSet<String>,
    /// Locals declared with `let` where a nested block first assigns them (see
    /// [`block_declaration`]): the target's range, and whether it is assigned again.
    declared_in: BTreeMap<String, (ruff_text_size::TextRange, bool)>,
}

#[derive(Clone, PartialEq, Eq)]
enum Frame {
    /// A loop; with `for … else`, the flag its `break`s set (the `else` runs without one).
    Loop(Option<Ident>),
    Try,
}

const BUILTINS: &[&str] = &[
    "len",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "set",
    "frozenset",
    "tuple",
    "sorted",
    "any",
    "all",
    "min",
    "max",
    "sum",
    "abs",
    "isinstance",
    "enumerate",
    "zip",
    "range",
    "round",
    "repr",
    "reversed",
    "ord",
    "chr",
    "print",
    "next",
    "hasattr",
    "getattr",
];

impl<'p> FnCx<'p> {
    fn new(program: &'p Program, module: &'p PyModule, f: &ast::StmtFunctionDef) -> T<FnCx<'p>> {
        let mut cx = FnCx {
            program,
            module,
            locals: BTreeMap::new(),
            deps: BTreeSet::new(),
            scoped: Vec::new(),
            tmp: 0,
            udm: false,
            frames: Vec::new(),
            caught: Vec::new(),
            declared_at: BTreeMap::new(),
            top_statement: None,
            nested: BTreeMap::new(),
            globals: BTreeSet::new(),
            constant_locals: BTreeMap::new(),
            class: None,
            current: String::new(),
            captured: Vec::new(),
            loop_locals: BTreeSet::new(),
            declared_in: BTreeMap::new(),
        };
        let globals = find_globals(&f.body);
        if let Some(g) = globals.iter().next()
            && module.rust_module.is_some()
        {
            return reject(
                f,
                format!("`global {g}` in a helper module: state shared by every rule that imports it"),
            );
        }
        let sig = signature(&f.parameters, f)?;
        let mut assigned = BTreeSet::new();
        for (name, _) in sig.positional.iter().chain(&sig.keyword_only) {
            assigned.insert(name.clone());
        }
        if let Some(v) = &sig.varargs {
            assigned.insert(v.clone());
        }
        let params = assigned.clone();
        if let Some(p) = globals.iter().find(|g| params.contains(*g)) {
            return reject(f, format!("`global {p}` of a parameter"));
        }
        find_assigned(&f.body, &mut assigned);
        let mut walrus = BTreeSet::new();
        walrus_targets(&f.body, &mut walrus);
        assigned.extend(walrus.iter().cloned());
        // What `global` names is module state, not a local.
        assigned.retain(|n| !globals.contains(n));
        walrus.retain(|n| !globals.contains(n));
        // Module state is a `static` of the rule's module: a local of the same Rust name
        // cannot be declared beside it.
        if let Some(clash) =
            assigned.iter().find(|n| module.state.iter().any(|s| const_ident(s) == local_ident(n)))
        {
            return reject(f, format!("a local variable `{clash}` named as the module state `{clash}`"));
        }
        // A class of the program (`IPInfoLocation(event)`), and a module variable whose
        // module-level value is a list, dict or set (`x = set()`), for `state_misuse`.
        let is_class =
            |name: &str| program.origin(module, name).is_some_and(|(m, n)| m.classes.contains_key(&n));
        let container_state = |name: &str| module.constant(name).is_some_and(container_display);
        // A fresh container the runtime keeps as a copy (`FnCx::fresh_state`), or the read that
        // prevents it.
        let kept_copy = |name: &str, value: &Expr| {
            if module.mocked.contains(name) || !state::fresh_container(module, value) {
                return Err(None);
            }
            state::escaping_read(program, module, name).map_or(Ok(()), |read| Err(Some(read)))
        };
        if let Some((at, what)) =
            state_misuse(&f.body, &module.state, &globals, &is_class, &container_state, &kept_copy)
        {
            return Err(Reject { span: at, what, help: None });
        }
        cx.globals = globals;
        let mut maybe = BTreeSet::new();
        let mut bound = params;
        flow(&f.body, &mut bound, &assigned, &mut maybe);
        // A `try` body is a closure: what it assigns must already be initialized (as unbound).
        let mut in_try = BTreeSet::new();
        assigned_in_try(&f.body, false, &mut in_try);
        maybe.extend(in_try.into_iter().filter(|n| !bound_params_contains(&f.parameters, n)));
        maybe.extend(walrus.into_iter().filter(|n| !bound_params_contains(&f.parameters, n)));
        let mut counts = BTreeMap::new();
        count_assignments(&f.body, &mut counts);
        cx.constant_locals = literal_assignments(&f.body)
            .into_iter()
            .filter(|(n, _)| counts.get(n) == Some(&1) && !bound_params_contains(&f.parameters, n))
            .collect();
        for name in assigned {
            let storage = if maybe.contains(&name) { Storage::MaybeUnbound } else { Storage::Plain };
            if storage == Storage::Plain {
                let first = f.body.iter().position(|s| {
                    let mut names = Vec::new();
                    if let Stmt::Assign(a) = s {
                        a.targets.iter().for_each(|t| target_names(t, &mut names));
                    }
                    names.contains(&name)
                });
                let simple = first.is_some_and(|i| matches!(&f.body[i], Stmt::Assign(a) if a.targets.len() == 1 && matches!(&a.targets[0], Expr::Name(_))));
                if let (Some(i), true) = (first, simple) {
                    // Assigned (or read) in an earlier statement's nested block: keep it up front.
                    let earlier = f.body[..i].iter().any(|s| stmt_mentions(s, &name));
                    if !earlier {
                        cx.declared_at.insert(name.clone(), (i, counts.get(&name).copied().unwrap_or(0) > 1));
                    }
                }
            }
            if storage == Storage::Plain
                && !cx.declared_at.contains_key(&name)
                && !bound_params_contains(&f.parameters, &name)
                && loop_only(&f.body, &name)
            {
                cx.loop_locals.insert(name.clone());
            } else if storage == Storage::Plain
                && !cx.declared_at.contains_key(&name)
                && !bound_params_contains(&f.parameters, &name)
                && let Some(range) = block_declaration(&f.body, &name)
            {
                cx.declared_in.insert(name.clone(), (range, counts.get(&name).copied().unwrap_or(0) > 1));
            }
            cx.locals.insert(name, storage);
        }
        Ok(cx)
    }

    /// The string literal a local variable holds wherever it is read: assigned once in the
    /// function, by `name = "literal"`, not a parameter, and bound at every read.
    fn constant_local(&self, n: &ast::ExprName) -> Option<ast::ExprStringLiteral> {
        let name = n.id.as_str();
        if self.scoped.iter().any(|s| s == name) || self.locals.get(name) != Some(&Storage::Plain) {
            return None;
        }
        self.constant_locals.get(name).cloned()
    }

    fn fresh(&mut self, base: &str) -> Ident {
        self.tmp += 1;
        format_ident!("{}_{}", base, self.tmp)
    }

    /// The function `f`, emitted under `name` (its own, or its hoisted name).
    fn function(&mut self, f: &ast::StmtFunctionDef, name: &str) -> T<TokenStream> {
        if !f.decorator_list.is_empty() {
            return reject(&f.decorator_list[0], "a decorated function");
        }
        if f.is_async {
            return reject(f, "an `async` function");
        }
        let sig = signature(&f.parameters, f)?;
        for (_, default) in sig.positional.iter().chain(&sig.keyword_only) {
            if let Some(d) = default
                && !self.immutable_default(d)
            {
                return reject(d, "a default value that is not a constant (Python shares it between calls)");
            }
        }
        let fn_name = name;
        let name = fn_ident(name);
        let mut params = Vec::new();
        let mut prologue = Vec::new();
        for c in &self.captured {
            let id = local_ident(c);
            params.push(quote!(#id: Obj<'e>));
        }
        for (p, _) in &sig.positional {
            let id = local_ident(p);
            params.push(quote!(#id: Obj<'e>));
        }
        if let Some(v) = &sig.varargs {
            let id = local_ident(v);
            params.push(quote!(#id: Vec<Obj<'e>>));
            prologue.push(quote!(let #id = Obj::tuple(#id);));
        }
        for (p, _) in &sig.keyword_only {
            let id = local_ident(p);
            params.push(quote!(#id: Obj<'e>));
        }
        let param_names: BTreeSet<String> = sig
            .positional
            .iter()
            .chain(&sig.keyword_only)
            .map(|(n, _)| n.clone())
            .chain(sig.varargs.clone())
            .chain(self.captured.iter().cloned())
            .collect();
        // Parameters that are assigned again are rebound mutably; other locals are declared up
        // front (Rust checks that each is assigned before it is read).
        let mut rebinds = BTreeSet::new();
        find_reassigned_params(&f.body, &param_names, &mut rebinds);
        for p in &rebinds {
            let id = local_ident(p);
            prologue.push(quote!(let mut #id = #id;));
        }
        for (name, storage) in &self.locals {
            if param_names.contains(name) {
                if *storage == Storage::MaybeUnbound {
                    return reject(
                        f,
                        format!("parameter `{name}` deleted or rebound in a way that may leave it unbound"),
                    );
                }
                continue;
            }
            let id = local_ident(name);
            if self.declared_at.contains_key(name)
                || self.loop_locals.contains(name)
                || self.declared_in.contains_key(name)
            {
                continue;
            }
            prologue.push(match storage {
                Storage::Plain => quote!(let mut #id: Obj<'e>;),
                Storage::MaybeUnbound => quote!(let mut #id: Option<Obj<'e>> = None;),
            });
        }
        let body = self.body(&f.body)?;
        let falls_through = !ends_in_return(&f.body);
        // A final `return v` reads as Rust's tail expression.
        let body = tail_expression(body);
        let tail = if falls_through { quote!(Ok(Obj::None)) } else { quote!() };
        let doc = docstring(&f.body).map(|d| {
            let lines: Vec<String> = d.lines().map(|l| format!(" {}", l.trim())).collect();
            quote!(#(#[doc = #lines])*)
        });
        let origin = if let Some((_, class, _)) = &self.class {
            format!(" `{class}.{}` of `{}`.", f.name.id, self.module.file.path)
        } else if fn_name == f.name.id.as_str() {
            format!(" `{}` of `{}`.", f.name.id, self.module.file.path)
        } else {
            format!(
                " `{}` of `{}` (defined inside `{}`).",
                f.name.id,
                self.module.file.path,
                fn_name.rsplit("_in_").next().unwrap_or("")
            )
        };
        // Declared up front, or by a `let mut` (assigned again: Rust may find a value unread).
        let hoisted = self.locals.keys().any(|n| {
            !param_names.contains(n)
                && match (self.declared_at.get(n), self.declared_in.get(n)) {
                    (Some(&(_, mutable)), _) | (_, Some(&(_, mutable))) => mutable,
                    _ => !self.loop_locals.contains(n) || assigned_in_loop(&f.body, n),
                }
        });
        let unused = if hoisted || !rebinds.is_empty() {
            quote!(#[allow(unused_mut, unused_assignments)])
        } else {
            quote!()
        };
        let params_used = params_used(&f.body, &param_names);
        let allow_unused = if params_used { quote!() } else { quote!(#[allow(unused_variables)]) };
        Ok(quote! {
            #[doc = #origin]
            #doc
            #unused
            #allow_unused
            pub fn #name<'e>(#(#params),*) -> R<Obj<'e>> {
                #(#prologue)*
                #body
                #tail
            }
        })
    }

    /// A literal, a module constant, or a local bound wherever it is read: evaluating it can
    /// neither raise nor do anything else, so when does not matter.
    fn inert(&self, e: &Expr) -> bool {
        match e {
            Expr::NoneLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::StringLiteral(_) => true,
            Expr::Name(n) => {
                let name = n.id.as_str();
                self.scoped.iter().any(|s| s == name)
                    || self.locals.get(name) == Some(&Storage::Plain)
                    || (!self.locals.contains_key(name) && self.module.constants.contains_key(name))
            }
            _ => false,
        }
    }

    fn immutable_default(&self, e: &Expr) -> bool {
        match e {
            Expr::NoneLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::StringLiteral(_) => true,
            Expr::UnaryOp(u) => matches!(&*u.operand, Expr::NumberLiteral(_)),
            Expr::Tuple(t) => t.elts.iter().all(|e| self.immutable_default(e)),
            Expr::Name(n) => self.module.constants.contains_key(n.id.as_str()),
            _ => false,
        }
    }

    fn block(&mut self, body: &[Stmt]) -> T<TokenStream> {
        let top = self.top_statement.take();
        let r = self.block_inner(body);
        self.top_statement = top;
        r
    }

    fn block_inner(&mut self, body: &[Stmt]) -> T<TokenStream> {
        let mut out = Vec::new();
        for (i, stmt) in body.iter().enumerate() {
            // A docstring is not code.
            if i == 0 && matches!(stmt, Stmt::Expr(e) if matches!(&*e.value, Expr::StringLiteral(_))) {
                continue;
            }
            out.push(self.stmt(stmt)?);
        }
        Ok(quote!(#(#out)*))
    }

    /// The function's own body: its top-level statements know their index (where locals
    /// first assigned there are declared).
    fn body(&mut self, body: &[Stmt]) -> T<TokenStream> {
        let mut out = Vec::new();
        for (i, stmt) in body.iter().enumerate() {
            if i == 0 && matches!(stmt, Stmt::Expr(e) if matches!(&*e.value, Expr::StringLiteral(_))) {
                continue;
            }
            self.top_statement = Some(i);
            let code = self.stmt(stmt);
            self.top_statement = None;
            out.push(code?);
        }
        Ok(quote!(#(#out)*))
    }

    fn stmt(&mut self, stmt: &Stmt) -> T<TokenStream> {
        Ok(match stmt {
            Stmt::Return(r) => {
                let v = match &r.value {
                    Some(v) => self.expr(v)?.obj(),
                    None => quote!(Obj::None),
                };
                self.return_value(v)
            }
            Stmt::Pass(_) => quote!(),
            Stmt::Break(_) => self.jump(quote!(break), quote!(Break)),
            Stmt::Continue(_) => self.jump(quote!(continue), quote!(Continue)),
            Stmt::Expr(e) => match &*e.value {
                Expr::StringLiteral(_) => quote!(),
                Expr::Call(c) if is_print(c) => quote!(),
                Expr::Call(c) if let Some((f, mocked)) = self.kv_function(c) => {
                    let v = self.kv_call(c, &f, mocked.as_deref(), true)?.obj();
                    quote!(let _ = #v;)
                }
                v => {
                    let v = self.expr(v)?.obj();
                    quote!(let _ = #v;)
                }
            },
            Stmt::If(s) => {
                let test = self.expr(&s.test)?.cond();
                let body = self.block(&s.body)?;
                let mut out = quote!(if #test { #body });
                for clause in &s.elif_else_clauses {
                    let body = self.block(&clause.body)?;
                    out = match &clause.test {
                        Some(t) => {
                            let t = self.expr(t)?.cond();
                            quote!(#out else if #t { #body })
                        }
                        None => quote!(#out else { #body }),
                    };
                }
                out
            }
            Stmt::For(s) => {
                if s.is_async {
                    return reject(s, "`async for`");
                }
                let iter = self.expr(&s.iter)?.by_ref();
                let (item, bind) = self.loop_target(s)?;
                let broke = (!s.orelse.is_empty() && contains_break(&s.body)).then(|| self.fresh("broke"));
                self.frames.push(Frame::Loop(broke.clone()));
                let body = self.block(&s.body);
                self.frames.pop();
                let body = body?;
                if s.orelse.is_empty() {
                    quote! {
                        for #item in py::iter(#iter)? {
                            #bind
                            #body
                        }
                    }
                } else {
                    let orelse = self.block(&s.orelse)?;
                    if let Some(broke) = broke {
                        quote! {
                            let mut #broke = false;
                            for #item in py::iter(#iter)? {
                                #bind
                                #body
                            }
                            if !#broke { #orelse }
                        }
                    } else {
                        quote! {
                            for #item in py::iter(#iter)? {
                                #bind
                                #body
                            }
                            #orelse
                        }
                    }
                }
            }
            Stmt::While(s) => {
                if !s.orelse.is_empty() {
                    return reject(s, "`while … else`");
                }
                let test = self.expr(&s.test)?.cond();
                self.frames.push(Frame::Loop(None));
                let body = self.block(&s.body);
                self.frames.pop();
                let body = body?;
                quote!(while #test { #body })
            }
            Stmt::Assign(a) => {
                let value = self.expr(&a.value)?.obj();
                if let [Expr::Name(n)] = &a.targets[..]
                    && self.fresh_state(n.id.as_str(), &a.value)
                {
                    let id = self.global_ref(n.id.as_str());
                    quote!(py::store_fresh(&#id, &#value);)
                } else if a.targets.len() == 1 {
                    self.assign_target(&a.targets[0], value)?
                } else {
                    let tmp = self.fresh("value");
                    let mut out = vec![quote!(let #tmp = #value;)];
                    for t in &a.targets {
                        out.push(self.assign_target(t, quote!(#tmp.clone()))?);
                    }
                    quote!(#(#out)*)
                }
            }
            Stmt::AnnAssign(a) => match &a.value {
                Some(v) => {
                    let v = self.expr(v)?.obj();
                    self.assign_target(&a.target, v)?
                }
                None => quote!(),
            },
            Stmt::AugAssign(a) => {
                let op = match a.op {
                    Operator::Add => quote!(py::iadd),
                    Operator::Sub => quote!(py::sub),
                    Operator::Mult => quote!(py::mul),
                    Operator::Div => quote!(py::truediv),
                    Operator::FloorDiv => quote!(py::floordiv),
                    Operator::Mod => quote!(py::modulo),
                    Operator::BitOr => quote!(py::ior),
                    Operator::BitAnd => quote!(py::bitand),
                    _ => return reject(a, format!("the augmented assignment `{}=`", a.op.as_str())),
                };
                match &*a.target {
                    Expr::Name(n) => {
                        let current = self.name(n)?.by_ref();
                        let value = self.expr(&a.value)?.by_ref();
                        let v = quote!(#op(#current, #value)?);
                        self.assign_target(&a.target, v)?
                    }
                    Expr::Subscript(s) => {
                        let target = self.fresh("target");
                        let key = self.fresh("key");
                        let t = self.expr(&s.value)?.obj();
                        let k = self.index(&s.slice)?.obj();
                        let value = self.expr(&a.value)?.by_ref();
                        quote! {
                            let #target = #t;
                            let #key = #k;
                            py::setitem(&#target, #key.clone(), #op(&py::getitem(&#target, &#key)?, #value)?)?;
                        }
                    }
                    other => return reject(other, "an augmented assignment to this target"),
                }
            }
            Stmt::Raise(r) => {
                let message = match &r.exc {
                    None => match self.caught.last() {
                        Some(e) => quote!(#e),
                        None => return reject(r, "a bare `raise` outside `except`"),
                    },
                    Some(e) => match &**e {
                        Expr::Call(c) => {
                            let Expr::Name(n) = &*c.func else {
                                return reject(&**e, "raising this exception");
                            };
                            let kind = exception_name(n.id.as_str()).ok_or_else(|| Reject {
                                span: span(n),
                                what: format!("raising `{}`", n.id),
                                help: None,
                            })?;
                            let msg = match c.arguments.args.first() {
                                Some(m) => {
                                    let m = self.expr(m)?.by_ref();
                                    quote!(py::str_of(#m))
                                }
                                None => quote!(String::new()),
                            };
                            quote!(py::Exc::new(#kind, #msg))
                        }
                        Expr::Name(n) => {
                            let kind = exception_name(n.id.as_str()).ok_or_else(|| Reject {
                                span: span(n),
                                what: format!("raising `{}`", n.id),
                                help: None,
                            })?;
                            quote!(py::Exc::new(#kind, String::new()))
                        }
                        other => return reject(other, "raising this exception"),
                    },
                };
                quote!(return Err(#message);)
            }
            Stmt::FunctionDef(f) => {
                if self.top_statement.is_none() || !self.nested.contains_key(f.name.id.as_str()) {
                    return reject(f, "a function defined inside a nested block");
                }
                // Hoisted to a function of its own (see `PyModule::nested`).
                quote!()
            }
            Stmt::ClassDef(c) => return reject(c, "a class"),
            Stmt::Try(t) => self.try_stmt(t)?,
            Stmt::With(w) => return reject(w, "`with`"),
            // Resolved when the function is set up (`FnCx::globals`): nothing runs.
            Stmt::Global(_) => quote!(),
            Stmt::Nonlocal(g) => return reject(g, "`nonlocal`"),
            Stmt::Import(i) => return reject(i, "an import inside a function"),
            Stmt::ImportFrom(i) => return reject(i, "an import inside a function"),
            Stmt::Delete(d) => {
                let mut out = Vec::new();
                for t in &d.targets {
                    match t {
                        Expr::Subscript(s) => {
                            let v = self.expr(&s.value)?.by_ref();
                            let k = self.index(&s.slice)?.by_ref();
                            out.push(quote!(py::delitem(#v, #k)?;));
                        }
                        other => return reject(other, "`del` of this target"),
                    }
                }
                quote!(#(#out)*)
            }
            Stmt::Assert(a) => return reject(a, "`assert`"),
            Stmt::Match(m) => {
                let (at, what) = super::desugar::unsupported(m).unwrap_or((m.range, "`match`".into()));
                return Err(Reject {
                    span: Span::new(at.start().to_usize(), at.end().to_usize()),
                    what,
                    help: None,
                });
            }
            other => return reject(other, "this statement"),
        })
    }

    /// `return v`: from the function, or, inside a `try` body (a closure), as a flow value.
    fn return_value(&self, v: TokenStream) -> TokenStream {
        if self.frames.contains(&Frame::Try) {
            quote!(return Ok(py::Flow::Return(#v));)
        } else {
            quote!(return Ok(#v);)
        }
    }

    /// `break`/`continue`: of the innermost loop, or out of a `try` body around it. A `break`
    /// of a `for … else` loop also records that the `else` must not run.
    fn jump(&self, plain: TokenStream, flow: TokenStream) -> TokenStream {
        match self.frames.last() {
            Some(Frame::Try) => quote!(return Ok(py::Flow::#flow);),
            Some(Frame::Loop(Some(broke))) if plain.to_string() == "break" => {
                quote!(#broke = true; break;)
            }
            _ => quote!(#plain;),
        }
    }

    /// `try`/`except`/`else`: the body runs in a closure whose `?` stops at the `try`; a
    /// Python exception of a handled class runs the handler, any other propagates.
    /// Errors the compiled runtime raises for what it does not model are never caught.
    fn try_stmt(&mut self, t: &ast::StmtTry) -> T<TokenStream> {
        if t.is_star {
            return reject(t, "`except*`");
        }
        if !t.finalbody.is_empty() {
            return reject(&t.finalbody[0], "`finally`");
        }
        self.frames.push(Frame::Try);
        let body = self.block(&t.body);
        self.frames.pop();
        let body = body?;
        let outcome = self.fresh("outcome");
        let error = self.fresh("error");
        let mut arms = Vec::new();
        for h in &t.handlers {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            if let Some(name) = &h.name {
                let mut used = false;
                for s in &h.body {
                    used |= stmt_reads(s, name.id.as_str());
                }
                if used {
                    return reject(name, "using the caught exception object");
                }
            }
            let classes = match &h.type_ {
                None => vec!["BaseException".to_string()],
                Some(e) => match &**e {
                    Expr::Tuple(items) => {
                        items.elts.iter().map(|e| self.exception_class(e)).collect::<T<Vec<_>>>()?
                    }
                    e => vec![self.exception_class(e)?],
                },
            };
            self.caught.push(error.clone());
            let handler = self.block(&h.body);
            self.caught.pop();
            let handler = handler?;
            arms.push(quote!(Err(#error) if #error.is_instance(&[#(#classes),*]) => { #handler }));
        }
        let orelse = self.block(&t.orelse)?;
        let ret = self.return_value(quote!(v));
        let brk = self.jump(quote!(break), quote!(Break));
        let cont = self.jump(quote!(continue), quote!(Continue));
        let in_loop = self.frames.iter().any(|f| matches!(f, Frame::Loop(_)));
        let loop_arms = if in_loop {
            quote! {
                Ok(py::Flow::Break) => { #brk }
                Ok(py::Flow::Continue) => { #cont }
            }
        } else {
            quote!(Ok(py::Flow::Break | py::Flow::Continue) => unreachable!("no loop around this try"),)
        };
        let normal = if ends_in_return(&t.body) { quote!() } else { quote!(Ok(py::Flow::Normal)) };
        Ok(quote! {
            let #outcome: R<py::Flow<'e>> = (|| {
                #body
                #normal
            })();
            match #outcome {
                Ok(py::Flow::Normal) => { #orelse }
                Ok(py::Flow::Return(v)) => { #ret }
                #loop_arms
                #(#arms)*
                Err(#error) => return Err(#error),
            }
        })
    }

    /// The name of an exception class in an `except` clause, as the runtime knows it.
    fn exception_class(&self, e: &Expr) -> T<String> {
        let name = match e {
            Expr::Name(n) => match self.resolve(self.module, n.id.as_str(), n) {
                Ok(Resolved::Std(m, c)) => format!("{m}.{c}"),
                _ => n.id.to_string(),
            },
            Expr::Attribute(a) => {
                let mut parts = vec![a.attr.id.to_string()];
                let mut cur = &*a.value;
                while let Expr::Attribute(inner) = cur {
                    parts.push(inner.attr.id.to_string());
                    cur = &inner.value;
                }
                let Expr::Name(n) = cur else { return reject(e, "this exception class") };
                let base = match self.resolve(self.module, n.id.as_str(), n) {
                    Ok(Resolved::Module(m)) => m,
                    // `parser.ParserError` of `from dateutil import parser`.
                    Ok(Resolved::Std(m, c)) if m == "dateutil" && c == "parser" => "dateutil.parser".into(),
                    _ => n.id.to_string(),
                };
                parts.push(base);
                parts.reverse();
                parts.join(".")
            }
            _ => return reject(e, "this exception class"),
        };
        const KNOWN: &[&str] = &[
            "BaseException",
            "Exception",
            "ValueError",
            "TypeError",
            "KeyError",
            "IndexError",
            "LookupError",
            "AttributeError",
            "ZeroDivisionError",
            "ArithmeticError",
            "UnicodeError",
            "UnicodeDecodeError",
            "UnicodeEncodeError",
            "StopIteration",
            "json.JSONDecodeError",
            "json.decoder.JSONDecodeError",
            "ipaddress.AddressValueError",
            "ipaddress.NetmaskValueError",
            "binascii.Error",
            "re.error",
            "dateutil.parser.ParserError",
        ];
        let canonical = match name.as_str() {
            "json.decoder.JSONDecodeError" => "json.JSONDecodeError".to_string(),
            other => other.to_string(),
        };
        if !KNOWN.contains(&name.as_str()) {
            return reject(e, format!("catching `{name}`"));
        }
        Ok(canonical)
    }

    /// Binds `value` (an `Obj` expression) to an assignment target.
    fn assign_target(&mut self, target: &Expr, value: TokenStream) -> T<TokenStream> {
        Ok(match target {
            Expr::Name(n) => {
                let name = n.id.as_str();
                if self.scoped.iter().any(|s| s == name) {
                    let id = local_ident(name);
                    return Ok(quote!(#id = #value;));
                }
                if self.globals.contains(name) {
                    let id = self.global_ref(name);
                    if self.module.mocked.contains(name) {
                        return Ok(quote!(py::store_mocked(&#id, &#value);));
                    }
                    return Ok(quote!(py::store(&#id, &#value);));
                }
                match self.locals.get(name) {
                    Some(Storage::Plain) => {
                        let id = local_ident(name);
                        if let Some(&(range, mutable)) = self.declared_in.get(name)
                            && range == n.range
                        {
                            return Ok(if mutable {
                                quote!(let mut #id = #value;)
                            } else {
                                quote!(let #id = #value;)
                            });
                        }
                        match (self.declared_at.get(name), self.top_statement) {
                            (Some(&(at, mutable)), Some(now)) if at == now => {
                                if mutable {
                                    quote!(let mut #id = #value;)
                                } else {
                                    quote!(let #id = #value;)
                                }
                            }
                            _ => quote!(#id = #value;),
                        }
                    }
                    Some(Storage::MaybeUnbound) => {
                        let id = local_ident(name);
                        quote!(#id = Some(#value);)
                    }
                    None => return reject(n, format!("assignment to `{name}` outside the function's scope")),
                }
            }
            Expr::Tuple(t) if !t.elts.iter().any(|e| matches!(e, Expr::Starred(_))) => {
                self.unpack(&t.elts, value)?
            }
            Expr::List(t) if !t.elts.iter().any(|e| matches!(e, Expr::Starred(_))) => {
                self.unpack(&t.elts, value)?
            }
            // `a, *rest, b = value`: one starred target takes the middle items as a list.
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                let stars: Vec<usize> = elts
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| matches!(e, Expr::Starred(_)))
                    .map(|(i, _)| i)
                    .collect();
                let [star] = stars[..] else { return reject(target, "several starred assignment targets") };
                let after = elts.len() - star - 1;
                let parts = self.fresh("parts");
                let mut out = vec![quote!(let #parts = py::unpack_star(&#value, #star, #after)?;)];
                for (i, t) in elts.iter().enumerate() {
                    let t = match t {
                        Expr::Starred(s) => &*s.value,
                        t => t,
                    };
                    out.push(self.assign_target(t, quote!(#parts[#i].clone()))?);
                }
                quote!(#(#out)*)
            }
            Expr::Subscript(s) => {
                if matches!(&*s.slice, Expr::Slice(_)) {
                    return reject(s, "assignment to a slice");
                }
                let v = self.expr(&s.value)?.by_ref();
                let k = self.index(&s.slice)?.obj();
                quote!(py::setitem(#v, #k, #value)?;)
            }
            Expr::Attribute(a) => {
                // The value first, then the object, as Python evaluates them.
                let name = a.attr.id.as_str();
                let t = self.fresh("value");
                let obj = self.expr(&a.value)?.by_ref();
                quote!({ let #t = #value; py::instance::setattr(#obj, #name, #t)?; })
            }
            other => return reject(other, "this assignment target"),
        })
    }

    /// The Rust loop variable of `for target in …` and the statements that bind the target from
    /// it. A loop-local name (see [`loop_only`]) is the loop variable itself (`for item in`, or
    /// `let` from the unpacked item); any other target is assigned from a fresh loop variable.
    fn loop_target(&mut self, s: &ast::StmtFor) -> T<(TokenStream, TokenStream)> {
        // `None` for a name the body never mentions.
        let binding = |n: &ast::ExprName| {
            let name = n.id.as_str();
            let id = local_ident(name);
            if !s.body.iter().any(|b| stmt_mentions(b, name)) {
                None
            } else if s.body.iter().any(|b| stmt_assigns(b, name)) {
                Some(quote!(mut #id))
            } else {
                Some(quote!(#id))
            }
        };
        match &*s.target {
            Expr::Name(n) if self.loop_locals.contains(n.id.as_str()) => {
                let pattern = binding(n).unwrap_or_else(|| quote!(_));
                Ok((pattern, quote!()))
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. })
                if elts
                    .iter()
                    .any(|e| matches!(e, Expr::Name(n) if self.loop_locals.contains(n.id.as_str())))
                    && !elts.iter().any(|e| matches!(e, Expr::Starred(_))) =>
            {
                let item = self.fresh("item");
                let parts = self.fresh("parts");
                let count = elts.len();
                let mut binds = Vec::new();
                for (i, e) in elts.iter().enumerate() {
                    match e {
                        Expr::Name(n) if self.loop_locals.contains(n.id.as_str()) => {
                            if let Some(pattern) = binding(n) {
                                binds.push(quote!(let #pattern = #parts[#i].clone();));
                            }
                        }
                        e => binds.push(self.assign_target(e, quote!(#parts[#i].clone()))?),
                    }
                }
                let bind = if binds.is_empty() {
                    // Nothing read: the item is unpacked only for the error of a wrong length.
                    quote!(py::unpack(&#item, #count)?;)
                } else {
                    quote!(let #parts = py::unpack(&#item, #count)?; #(#binds)*)
                };
                Ok((quote!(#item), bind))
            }
            target => {
                let item = self.fresh("item");
                let bind = self.assign_target(target, quote!(#item))?;
                Ok((quote!(#item), bind))
            }
        }
    }

    fn unpack(&mut self, targets: &[Expr], value: TokenStream) -> T<TokenStream> {
        let n = targets.len();
        let parts = self.fresh("parts");
        let mut out = vec![quote!(let #parts = py::unpack(&#value, #n)?;)];
        for (i, t) in targets.iter().enumerate() {
            out.push(self.assign_target(t, quote!(#parts[#i].clone()))?);
        }
        Ok(quote!(#(#out)*))
    }

    fn name(&mut self, n: &ast::ExprName) -> T<Code> {
        let name = n.id.as_str();
        if self.scoped.iter().any(|s| s == name) {
            let id = local_ident(name);
            return Ok(Code::Place(quote!(#id)));
        }
        if let Some(storage) = self.locals.get(name) {
            let id = local_ident(name);
            return Ok(match storage {
                Storage::Plain => Code::Place(quote!(#id)),
                Storage::MaybeUnbound => Code::Obj(quote!(py::bound(&#id, #name)?.clone())),
            });
        }
        if self.module.state.contains(name) {
            let id = self.global_ref(name);
            if self.module.mocked.contains(name) {
                return Ok(Code::Obj(quote!(py::load_mocked(&#id)?)));
            }
            return Ok(Code::Obj(quote!(py::load(&#id)?)));
        }
        if self.module.mocked.contains(name) {
            if self.module.constants.contains_key(name) {
                // A module variable a test mocks: Panther's test runner puts a MagicMock there.
                let value = self.constant_ref(&self.module.name.clone(), name);
                return Ok(Code::Obj(quote!(py::mocked_variable(#name).unwrap_or_else(|| #value))));
            }
            return reject(n, format!("the mocked function `{name}` used as a value"));
        }
        match name {
            "True" => return Ok(Code::Bool(quote!(true))),
            "False" => return Ok(Code::Bool(quote!(false))),
            "None" => return Ok(Code::Obj(quote!(Obj::None))),
            _ => {}
        }
        match self.resolve(self.module, name, n)? {
            Resolved::Constant(module, cname) => Ok(Code::Obj(self.constant_ref(&module, &cname))),
            Resolved::Function(module, fname) => {
                let path = self.fn_path(&module, &fname);
                let arity = self
                    .program
                    .get(&module)
                    .and_then(|m| m.function(&fname))
                    .map(|f| f.parameters.args.len() + f.parameters.posonlyargs.len());
                match arity {
                    Some(1)
                        if self.program.get(&module).and_then(|m| m.function(&fname)).is_some_and(|f| {
                            f.parameters.vararg.is_none() && f.parameters.kwonlyargs.is_empty()
                        }) =>
                    {
                        Ok(Code::Obj(quote!(Obj::func(|args: &[Obj<'e>]| #path(py::arg(args, 0))))))
                    }
                    _ => reject(n, format!("the function `{name}` used as a value")),
                }
            }
            _ => reject(n, format!("the name `{name}` as a value")),
        }
    }

    /// Whether `name = value` stores a list, dict or set in module state that the runtime may
    /// keep as a copy (`py::store_fresh`; see `state`): `name` is declared `global` here and no
    /// test mocks it, `value` is built by the assignment, and every read of `name` in the module
    /// only inspects or copies it.
    fn fresh_state(&self, name: &str, value: &Expr) -> bool {
        self.globals.contains(name)
            && !self.module.mocked.contains(name)
            && !self.scoped.iter().any(|s| s == name)
            && state::fresh_container(self.module, value)
            && state::escaping_read(self.program, self.module, name).is_none()
    }

    /// The `py::Global` static of module variable `name` of this module (module state).
    fn global_ref(&mut self, name: &str) -> Ident {
        self.deps.insert(Def::Global(self.module.name.clone(), name.to_string()));
        const_ident(name)
    }

    fn constant_ref(&mut self, module: &str, name: &str) -> TokenStream {
        self.deps.insert(Def::Constant(module.to_string(), name.to_string()));
        let id = const_ident(name);
        let path = if module == self.module.name {
            quote!(#id)
        } else {
            let m = self.program.get(module).and_then(|m| m.rust_module.clone()).unwrap_or_default();
            let m = format_ident!("{}", m);
            if self.module.rust_module.is_some() {
                quote!(super::#m::#id)
            } else {
                quote!(super::py::#m::#id)
            }
        };
        quote!(Obj::from_const(&#path))
    }

    fn fn_path(&mut self, module: &str, name: &str) -> TokenStream {
        self.deps.insert(Def::Function(module.to_string(), name.to_string()));
        let id = fn_ident(name);
        if module == self.module.name {
            quote!(#id)
        } else {
            let m = self.program.get(module).and_then(|m| m.rust_module.clone()).unwrap_or_default();
            let m = format_ident!("{}", m);
            if self.module.rust_module.is_some() {
                quote!(super::#m::#id)
            } else {
                quote!(super::py::#m::#id)
            }
        }
    }

    /// What a module-level name of `module` refers to, following `from m import x` chains.
    fn resolve(&self, module: &PyModule, name: &str, at: &impl Ranged) -> T<Resolved> {
        let mut module = module;
        let mut name = name.to_string();
        for _ in 0..16 {
            if module.state.contains(&name) {
                return reject(at, format!("module state `{name}` (`global {name}`) used here"));
            }
            if module.functions.contains_key(&name) {
                return Ok(Resolved::Function(module.name.clone(), name));
            }
            if module.classes.contains_key(&name) {
                return Ok(Resolved::Class(module.name.clone(), name));
            }
            if module.constants.contains_key(&name) {
                if module.reassigned.contains(&name) {
                    return reject(at, format!("module variable `{name}` that is assigned more than once"));
                }
                return Ok(Resolved::Constant(module.name.clone(), name));
            }
            match module.imports.get(&name) {
                Some(Import::Item { module: m, name: n }) => match self.program.get(m) {
                    Some(next) => {
                        module = next;
                        name = n.clone();
                    }
                    None => return Ok(Resolved::Std(m.clone(), n.clone())),
                },
                Some(Import::Module(m)) => return Ok(Resolved::Module(m.clone())),
                None => {
                    if BUILTINS.contains(&name.as_str()) {
                        return Ok(Resolved::Builtin(name));
                    }
                    return reject(
                        at,
                        format!("the name `{name}`, which is not defined in `{}`", module.file.path),
                    );
                }
            }
        }
        reject(at, format!("the import chain of `{name}`"))
    }

    fn expr(&mut self, e: &Expr) -> T<Code> {
        Ok(match e {
            Expr::NoneLiteral(_) => Code::Obj(quote!(Obj::None)),
            Expr::BooleanLiteral(b) => {
                let v = b.value;
                Code::Bool(quote!(#v))
            }
            Expr::NumberLiteral(n) => match &n.value {
                Number::Int(i) => match i.as_i64() {
                    Some(v) => {
                        let v = Literal::i64_unsuffixed(v);
                        Code::Obj(quote!(Obj::Int(#v)))
                    }
                    None => return reject(n, "an integer beyond 64 bits"),
                },
                Number::Float(f) => {
                    let v = Literal::f64_suffixed(*f);
                    Code::Obj(quote!(Obj::Float(#v)))
                }
                Number::Complex { .. } => return reject(n, "a complex number"),
            },
            Expr::StringLiteral(s) => {
                let v = s.value.to_str();
                Code::Obj(quote!(Obj::str(#v)))
            }
            Expr::BytesLiteral(b) => return reject(b, "a bytes literal"),
            Expr::FString(f) => self.fstring(f)?,
            Expr::Name(n) => self.name(n)?,
            Expr::BoolOp(b) => self.boolop(b)?,
            Expr::UnaryOp(u) => match u.op {
                UnaryOp::Not => {
                    let c = paren(self.expr(&u.operand)?.cond());
                    Code::Bool(quote!(!#c))
                }
                UnaryOp::USub => {
                    if let Expr::NumberLiteral(n) = &*u.operand {
                        match &n.value {
                            Number::Int(i) if i.as_i64().is_some() => {
                                let v = Literal::i64_unsuffixed(-i.as_i64().unwrap_or(0));
                                return Ok(Code::Obj(quote!(Obj::Int(#v))));
                            }
                            Number::Float(f) => {
                                let v = Literal::f64_suffixed(-*f);
                                return Ok(Code::Obj(quote!(Obj::Float(#v))));
                            }
                            _ => {}
                        }
                    }
                    let v = self.expr(&u.operand)?.by_ref();
                    Code::Obj(quote!(py::neg(#v)?))
                }
                UnaryOp::UAdd => return reject(u, "unary `+`"),
                UnaryOp::Invert => return reject(u, "`~`"),
            },
            Expr::BinOp(b) => {
                let f = match b.op {
                    Operator::Add => quote!(py::add),
                    Operator::Sub => quote!(py::sub),
                    Operator::Mult => quote!(py::mul),
                    Operator::Div => quote!(py::truediv),
                    Operator::FloorDiv => quote!(py::floordiv),
                    Operator::Mod => quote!(py::modulo),
                    Operator::BitOr => quote!(py::bitor),
                    Operator::BitAnd => quote!(py::bitand),
                    Operator::Pow => quote!(py::pow),
                    _ => return reject(b, format!("the operator `{}`", b.op.as_str())),
                };
                let l = self.expr(&b.left)?.by_ref();
                let r = self.expr(&b.right)?.by_ref();
                Code::Obj(quote!(#f(#l, #r)?))
            }
            Expr::Compare(c) => self.compare(c)?,
            Expr::If(i) => {
                let test = self.expr(&i.test)?.cond();
                let body = self.expr(&i.body)?.obj();
                let orelse = self.expr(&i.orelse)?.obj();
                Code::Obj(quote!(if #test { #body } else { #orelse }))
            }
            Expr::List(l) => {
                let items = self.elements(&l.elts)?;
                Code::Obj(quote!(Obj::list(#items)))
            }
            Expr::Tuple(l) => {
                let items = self.elements(&l.elts)?;
                Code::Obj(quote!(Obj::tuple(#items)))
            }
            Expr::Set(l) => {
                let items = self.elements(&l.elts)?;
                Code::Obj(quote!(Obj::set(#items)?))
            }
            Expr::Dict(d) if d.items.iter().any(|i| i.key.is_none()) => {
                // `{**a, k: v}`: entries added left to right, a mapping's as it is reached.
                let entries = self.fresh("entries");
                let mut steps = Vec::new();
                for item in &d.items {
                    let v = self.expr(&item.value)?;
                    steps.push(match &item.key {
                        None => {
                            let m = v.by_ref();
                            quote!(#entries.extend(py::dict_unpack(#m)?);)
                        }
                        Some(k) => {
                            let k = self.expr(k)?.obj();
                            let v = v.obj();
                            quote!({ let k = #k; #entries.push((k, #v)); })
                        }
                    });
                }
                Code::Obj(quote!({
                    let mut #entries = Vec::new();
                    #(#steps)*
                    Obj::dict(#entries)?
                }))
            }
            Expr::Dict(d) => {
                let mut entries = Vec::new();
                for item in &d.items {
                    let Some(k) = &item.key else { unreachable!("`**` entries are handled above") };
                    let k = self.expr(k)?.obj();
                    let v = self.expr(&item.value)?.obj();
                    entries.push(quote!((#k, #v)));
                }
                Code::Obj(quote!(Obj::dict(vec![#(#entries),*])?))
            }
            Expr::Subscript(s) => {
                let v = self.expr(&s.value)?.by_ref();
                match &*s.slice {
                    Expr::Slice(sl) => {
                        let part = |cx: &mut Self, e: &Option<Box<Expr>>| -> T<TokenStream> {
                            Ok(match e {
                                Some(e) => cx.expr(e)?.by_ref(),
                                None => quote!(&Obj::None),
                            })
                        };
                        let lo = part(self, &sl.lower)?;
                        let hi = part(self, &sl.upper)?;
                        let step = part(self, &sl.step)?;
                        Code::Obj(quote!(py::slice(#v, #lo, #hi, #step)?))
                    }
                    other => {
                        let k = self.index(other)?.by_ref();
                        Code::Obj(quote!(py::getitem(#v, #k)?))
                    }
                }
            }
            Expr::Call(c) => self.call(c)?,
            Expr::ListComp(c) => self.comprehension(&c.generators, Collect::List(&c.elt))?,
            Expr::SetComp(c) => self.comprehension(&c.generators, Collect::Set(&c.elt))?,
            Expr::DictComp(c) => {
                let Some(key) = &c.key else { return reject(c, "`**` in a dictionary comprehension") };
                self.comprehension(&c.generators, Collect::Dict(key, &c.value))?
            }
            Expr::Generator(g) => self.comprehension(&g.generators, Collect::List(&g.elt))?,
            Expr::Lambda(l) => self.lambda(l)?,
            Expr::Attribute(a) => self.attribute(a)?,
            Expr::Named(n) => {
                let Expr::Name(target) = &*n.target else {
                    return reject(n, "this assignment expression target");
                };
                let v = self.expr(&n.value)?.obj();
                let bind = self.assign_target(&n.target, quote!(#v))?;
                let read = self.name(target)?.obj();
                Code::Obj(quote!({ #bind #read }))
            }
            Expr::Starred(s) => return reject(s, "`*` unpacking here"),
            Expr::Slice(s) => return reject(s, "a slice here"),
            other => return reject(other, "this expression"),
        })
    }

    /// `module.NAME`: a constant of a helper module (`event_type.SUCCESSFUL_LOGIN`).
    fn attribute(&mut self, a: &ast::ExprAttribute) -> T<Code> {
        if let Expr::Name(n) = &*a.value
            && !self.locals.contains_key(n.id.as_str())
            && !self.scoped.iter().any(|s| s == n.id.as_str())
            && let Ok(Resolved::Module(m)) = self.resolve(self.module, n.id.as_str(), n)
            && let Some(helper) = self.program.get(&m)
        {
            return match self.resolve(helper, a.attr.id.as_str(), a)? {
                Resolved::Constant(module, name) => Ok(Code::Obj(self.constant_ref(&module, &name))),
                _ => reject(a, format!("`{m}.{}` as a value", a.attr.id)),
            };
        }
        const IP_ATTRIBUTES: &[&str] = &[
            "is_private",
            "is_global",
            "is_loopback",
            "is_multicast",
            "is_link_local",
            "version",
            "network_address",
            "prefixlen",
        ];
        let name = a.attr.id.as_str();
        // The attributes of `policyuniverse`'s objects and condition tuples, in a module that
        // imports it (elsewhere they stay rejected at build time).
        if POLICYUNIVERSE_ATTRIBUTES.contains(&name) && imports_policyuniverse(self.module) {
            let v = self.expr(&a.value)?.by_ref();
            return Ok(Code::Obj(quote!(py::attribute(#v, #name)?)));
        }
        if classes::instance_attributes(self.program).contains(name) {
            if IP_ATTRIBUTES.contains(&name) {
                return reject(
                    a,
                    format!("the attribute `.{name}`, which both addresses and objects of a class have"),
                );
            }
            if dates::DATE_ATTRIBUTES.contains(&name) {
                return reject(
                    a,
                    format!("the attribute `.{name}`, which both dates and objects of a class have"),
                );
            }
            let v = self.expr(&a.value)?.by_ref();
            return Ok(Code::Obj(quote!(py::instance::getattr(#v, #name)?)));
        }
        if dates::DATE_ATTRIBUTES.contains(&name) {
            let v = self.expr(&a.value)?.by_ref();
            return Ok(Code::Obj(quote!(py::stdlib::datetime::attribute(#v, #name)?)));
        }
        if IP_ATTRIBUTES.contains(&name) {
            let v = self.expr(&a.value)?.by_ref();
            return Ok(Code::Obj(quote!(py::stdlib::ipaddress::attribute(#v, #name)?)));
        }
        // The fields of `urllib.parse.urlparse`'s result (AttributeError on anything else).
        if ["scheme", "netloc", "path", "params", "query", "fragment"].contains(&name) {
            let v = self.expr(&a.value)?.by_ref();
            return Ok(Code::Obj(quote!(py::stdlib::url::attribute(#v, #name)?)));
        }
        reject(a, format!("the attribute `.{}`", a.attr.id))
    }

    /// A subscript key (a tuple key is written without parentheses: `d[a, b]`).
    fn index(&mut self, e: &Expr) -> T<Code> {
        self.expr(e)
    }

    /// Arguments as a borrowed slice (`&[a, b]`), or a vector when one is `*` unpacked.
    fn key_slice(&mut self, elts: &[Expr]) -> T<TokenStream> {
        if elts.iter().any(|e| matches!(e, Expr::Starred(_))) {
            let v = self.elements(elts)?;
            return Ok(quote!(&#v));
        }
        let items = elts.iter().map(|e| self.expr(e).map(Code::obj)).collect::<T<Vec<_>>>()?;
        Ok(quote!(&[#(#items),*]))
    }

    fn elements(&mut self, elts: &[Expr]) -> T<TokenStream> {
        if elts.iter().any(|e| matches!(e, Expr::Starred(_))) {
            let mut parts = Vec::new();
            for e in elts {
                parts.push(match e {
                    Expr::Starred(s) => {
                        let v = self.expr(&s.value)?.by_ref();
                        (true, quote!(py::iter(#v)?))
                    }
                    e => (false, self.expr(e)?.obj()),
                });
            }
            return Ok(vec_of(parts));
        }
        let items = elts.iter().map(|e| self.expr(e).map(Code::obj)).collect::<T<Vec<_>>>()?;
        Ok(if items.is_empty() { quote!(Vec::new()) } else { quote!(vec![#(#items),*]) })
    }

    fn boolop(&mut self, b: &ast::ExprBoolOp) -> T<Code> {
        let codes = b.values.iter().map(|v| self.expr(v)).collect::<T<Vec<_>>>()?;
        // Where every operand is a bool, `and`/`or` are Rust's.
        if codes.iter().all(|c| matches!(c, Code::Bool(_))) {
            // Each operand parenthesised: Python's `(a or b) and c` must not read as `a || b && c`.
            let parts = codes.into_iter().map(|c| paren(c.cond()));
            return Ok(Code::Bool(match b.op {
                ast::BoolOp::And => quote!(#(#parts)&&*),
                ast::BoolOp::Or => quote!(#(#parts)||*),
            }));
        }
        // Otherwise they return an operand, as Python's do.
        let mut iter = codes.into_iter().rev();
        let mut acc = iter.next().expect("a boolean operation has operands").obj();
        for code in iter {
            let v = self.fresh("operand");
            let first = code.obj();
            acc = match b.op {
                ast::BoolOp::And => quote!({ let #v = #first; if py::truthy(&#v) { #acc } else { #v } }),
                ast::BoolOp::Or => quote!({ let #v = #first; if py::truthy(&#v) { #v } else { #acc } }),
            };
        }
        Ok(Code::Obj(acc))
    }

    /// A truth test only: `and`/`or` in a condition need not return operands.
    fn compare(&mut self, c: &ast::ExprCompare) -> T<Code> {
        let mut operands = vec![self.expr(&c.left)?];
        for e in c.comparators.iter() {
            operands.push(self.expr(e)?);
        }
        if c.ops.len() == 1 {
            let (l, r) = (operands[0].clone().by_ref(), operands[1].clone().by_ref());
            return Ok(Code::Bool(compare_op(c.ops[0], l, r)));
        }
        // Chained: each middle operand evaluated once, stopping at the first false.
        let names: Vec<Ident> = (0..operands.len()).map(|_| self.fresh("operand")).collect();
        let mut out = Vec::new();
        let first = &names[0];
        let v0 = operands[0].clone().obj();
        out.push(quote!(let #first = #v0;));
        // Each check introduces the next operand; nest them so that later operands are only
        // evaluated when earlier comparisons hold.
        let mut acc = quote!(true);
        for (i, _) in c.ops.iter().enumerate().rev() {
            let (a, b) = (&names[i], &names[i + 1]);
            let vb = operands[i + 1].clone().obj();
            let test = compare_op(c.ops[i], quote!(&#a), quote!(&#b));
            acc = quote!({ let #b = #vb; #test && #acc });
        }
        Ok(Code::Bool(quote!({ #(#out)* #acc })))
    }

    /// An f-string as one `format!`: its literal text in the format string (braces doubled),
    /// each replacement field a `{}` whose argument is the field's text (evaluated in order).
    fn fstring(&mut self, f: &ast::ExprFString) -> T<Code> {
        let mut format = String::new();
        let mut args = Vec::new();
        let literal =
            |format: &mut String, text: &str| format.push_str(&text.replace('{', "{{").replace('}', "}}"));
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => literal(&mut format, &l.value),
                ast::FStringPart::FString(fs) => {
                    for element in &fs.elements {
                        match element {
                            ast::InterpolatedStringElement::Literal(l) => literal(&mut format, &l.value),
                            ast::InterpolatedStringElement::Interpolation(i) => {
                                if i.debug_text.is_some() {
                                    return reject(i, "an f-string `=` specifier");
                                }
                                let v = self.expr(&i.expression)?.by_ref();
                                let value = match i.conversion {
                                    ast::ConversionFlag::None | ast::ConversionFlag::Str => v,
                                    ast::ConversionFlag::Repr => quote!(&py::repr_obj(#v)),
                                    ast::ConversionFlag::Ascii => {
                                        return reject(i, "the f-string conversion `!a`");
                                    }
                                };
                                let text = match &i.format_spec {
                                    None => quote!(py::str_of(#value)),
                                    Some(spec) => {
                                        let mut s = String::new();
                                        for el in &spec.elements {
                                            match el {
                                                ast::InterpolatedStringElement::Literal(l) => {
                                                    s.push_str(&l.value)
                                                }
                                                ast::InterpolatedStringElement::Interpolation(n) => {
                                                    return reject(n, "a computed f-string format spec");
                                                }
                                            }
                                        }
                                        quote!(py::format_spec(#value, #s)?)
                                    }
                                };
                                format.push_str("{}");
                                args.push(text);
                            }
                        }
                    }
                }
            }
        }
        Ok(Code::Obj(quote!(Obj::string(format!(#format #(, #args)*)))))
    }

    fn lambda(&mut self, l: &ast::ExprLambda) -> T<Code> {
        let names: Vec<String> = match &l.parameters {
            None => Vec::new(),
            Some(p) => {
                if p.vararg.is_some()
                    || p.kwarg.is_some()
                    || !p.kwonlyargs.is_empty()
                    || p.args.iter().chain(p.posonlyargs.iter()).any(|a| a.default.is_some())
                {
                    return reject(l, "a lambda with defaults or `*` parameters");
                }
                p.posonlyargs.iter().chain(p.args.iter()).map(|a| a.parameter.name.id.to_string()).collect()
            }
        };
        // Captured locals are read when the lambda runs, so they are cloned in; reassigning one
        // after creating the lambda would differ from Python's late binding: rejected.
        let mut reads = BTreeSet::new();
        names_read(&l.body, &mut reads);
        let captured: Vec<String> = reads
            .into_iter()
            .filter(|n| !names.contains(n) && (self.locals.contains_key(n) || self.scoped.contains(n)))
            .collect();
        let n_scoped = self.scoped.len();
        self.scoped.extend(names.iter().cloned());
        let body = self.expr(&l.body);
        self.scoped.truncate(n_scoped);
        let body = body?.obj();
        let binds = names.iter().enumerate().map(|(i, n)| {
            let id = local_ident(n);
            quote!(let #id = py::arg(args, #i);)
        });
        let mut captures = Vec::new();
        for c in &captured {
            let id = local_ident(c);
            let value = match self.locals.get(c) {
                Some(Storage::MaybeUnbound) => quote!(py::bound(&#id, #c)?.clone()),
                _ => quote!(#id.clone()),
            };
            captures.push(quote!(let #id = #value;));
        }
        // A lambda without parameters does not name its (empty) arguments.
        let args = if names.is_empty() { quote!(_) } else { quote!(args) };
        Ok(Code::Obj(quote!({
            #(#captures)*
            Obj::func(move |#args: &[Obj<'e>]| { #(#binds)* Ok(#body) })
        })))
    }

    fn comprehension(&mut self, generators: &[ast::Comprehension], collect: Collect<'_>) -> T<Code> {
        let out = self.fresh("out");
        let n_scoped = self.scoped.len();
        let result = self.comprehension_body(generators, &collect, &out);
        self.scoped.truncate(n_scoped);
        let body = result?;
        let (init, finish) = match collect {
            Collect::List(_) => (quote!(Vec::new()), quote!(Obj::list(#out))),
            Collect::Set(_) => (quote!(Vec::new()), quote!(Obj::set(#out)?)),
            Collect::Dict(..) => (quote!(Vec::new()), quote!(Obj::dict(#out)?)),
        };
        Ok(Code::Obj(quote!({
            let mut #out = #init;
            #body
            #finish
        })))
    }

    fn comprehension_body(
        &mut self,
        generators: &[ast::Comprehension],
        collect: &Collect<'_>,
        out: &Ident,
    ) -> T<TokenStream> {
        self.generator_loops(generators, &mut |cx| {
            Ok(match collect {
                Collect::List(e) | Collect::Set(e) => {
                    let v = cx.expr(e)?.obj();
                    quote!(#out.push(#v);)
                }
                Collect::Dict(k, v) => {
                    let k = cx.expr(k)?.obj();
                    let v = cx.expr(v)?.obj();
                    quote!(#out.push((#k, #v));)
                }
            })
        })
    }

    /// The nested `for` loops (and `if` filters) of a comprehension's generators around
    /// `innermost`. Each iterable is evaluated where Python evaluates it; the targets are
    /// scoped to the comprehension (a plain name is the loop variable itself).
    fn generator_loops(
        &mut self,
        generators: &[ast::Comprehension],
        innermost: &mut dyn FnMut(&mut Self) -> T<TokenStream>,
    ) -> T<TokenStream> {
        let Some((first, rest)) = generators.split_first() else { return innermost(self) };
        if first.is_async {
            return reject(first, "an `async` comprehension");
        }
        let iter = self.expr(&first.iter)?.by_ref();
        let (item, decls, bind) = if let Expr::Name(n) = &first.target {
            self.scoped.push(n.id.to_string());
            (local_ident(n.id.as_str()), Vec::new(), quote!())
        } else if let Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) =
            &first.target
            && elts.iter().all(|e| matches!(e, Expr::Name(_)))
        {
            // `for a, b in …`: each name bound by a `let` from the unpacked item.
            let item = self.fresh("item");
            let parts = self.fresh("parts");
            let count = elts.len();
            let binds = elts.iter().enumerate().map(|(i, e)| {
                let id = local_ident(e.as_name_expr().map_or("", |n| n.id.as_str()));
                quote!(let #id = #parts[#i].clone();)
            });
            let bind = quote!(let #parts = py::unpack(&#item, #count)?; #(#binds)*);
            self.scoped.extend(elts.iter().filter_map(|e| e.as_name_expr()).map(|n| n.id.to_string()));
            (item, Vec::new(), bind)
        } else {
            let mut targets = Vec::new();
            target_names(&first.target, &mut targets);
            let item = self.fresh("item");
            let decls: Vec<_> = targets
                .iter()
                .map(|t| {
                    let id = local_ident(t);
                    quote!(let #id: Obj<'e>;)
                })
                .collect();
            self.scoped.extend(targets.iter().cloned());
            let bind = self.assign_target(&first.target, quote!(#item))?;
            (item, decls, bind)
        };
        let mut conds = Vec::new();
        for cond in &first.ifs {
            conds.push(self.expr(cond)?.cond());
        }
        let inner = self.generator_loops(rest, innermost)?;
        let several = conds.len() > 1;
        let conds: Vec<_> = conds.into_iter().map(|c| if several { paren(c) } else { c }).collect();
        let guarded = if conds.is_empty() { inner } else { quote!(if #(#conds)&&* { #inner }) };
        Ok(quote! {
            for #item in py::iter(#iter)? {
                #(#decls)*
                #bind
                #guarded
            }
        })
    }

    fn call(&mut self, c: &ast::ExprCall) -> T<Code> {
        match &*c.func {
            Expr::Attribute(a) => self.method_call(c, a),
            Expr::Name(n) => {
                let name = n.id.as_str();
                // A local, or module state (which holds a MagicMock while a test mocks it).
                if self.locals.contains_key(name)
                    || self.scoped.iter().any(|s| s == name)
                    || (self.module.state.contains(name) && !self.nested.contains_key(name))
                {
                    let f = self.name(n)?.by_ref();
                    let args = self.plain_args(c)?;
                    return Ok(Code::Obj(quote!(py::call(#f, &#args)?)));
                }
                let resolved = match self.nested.get(name) {
                    Some(hoisted) => Resolved::Function(self.module.name.clone(), hoisted.clone()),
                    None => self.resolve(self.module, name, n)?,
                };
                if let Resolved::Std(m, f) = &resolved
                    && m == KV_MODULE
                {
                    let mocked = self.module.mocked.contains(name).then_some(name);
                    return self.kv_call(c, &f.clone(), mocked, false);
                }
                if self.module.mocked.contains(name) && !self.nested.contains_key(name) {
                    return self.mocked_call(c, name, resolved);
                }
                match resolved {
                    Resolved::Function(module, fname) => self.user_call(c, &module, &fname),
                    Resolved::Builtin(b) => self.builtin(c, &b),
                    Resolved::Std(m, f) => self.std_call(c, &m, &f),
                    Resolved::Constant(..) => reject(n, format!("calling the module variable `{name}`")),
                    Resolved::Module(m) => reject(n, format!("calling the module `{m}`")),
                    Resolved::Class(m, class) => self.instantiate(c, &m, &class),
                }
            }
            other => reject(other, "calling this expression"),
        }
    }

    /// A call of a name that a test case mocks: the arguments are evaluated (as Python does
    /// before calling the `MagicMock`), then the mock's value is the result, if one is active.
    fn mocked_call(&mut self, c: &ast::ExprCall, name: &str, resolved: Resolved) -> T<Code> {
        let Resolved::Function(module, fname) = resolved else {
            return reject(c, format!("mocking `{name}`, which is not a function of the rule's program"));
        };
        let mut binds = Vec::new();
        let mut args = Vec::new();
        for a in c.arguments.args.iter() {
            if matches!(a, Expr::Starred(_)) {
                return reject(a, "`*` arguments to a mocked function");
            }
            let v = self.expr(a)?.obj();
            let id = self.fresh("arg");
            binds.push(quote!(let #id = #v;));
            args.push(id);
        }
        if !c.arguments.keywords.is_empty() {
            return reject(c, "keyword arguments to a mocked function");
        }
        let original =
            self.user_call_with(c, &module, &fname, args.iter().map(|a| quote!(#a)).collect())?.obj();
        Ok(Code::Obj(quote!({
            #(#binds)*
            match py::mocked(#name) {
                Some(value) => value,
                None => #original,
            }
        })))
    }

    /// Positional arguments only, evaluated left to right into a `Vec`.
    fn plain_args(&mut self, c: &ast::ExprCall) -> T<TokenStream> {
        if !c.arguments.keywords.is_empty() {
            return reject(&c.arguments.keywords[0], "a keyword argument here");
        }
        self.elements(&c.arguments.args)
    }

    /// A call with positional arguments already evaluated (into locals).
    fn user_call_with(
        &mut self,
        c: &ast::ExprCall,
        module: &str,
        name: &str,
        given: Vec<TokenStream>,
    ) -> T<Code> {
        let program = self.program;
        let m = program.get(module).expect("resolved module");
        let f = m.function(name).expect("resolved function");
        let sig = signature(&f.parameters, f)?;
        let mut args = self.captured_args(c, module, name)?;
        let mut given = given.into_iter();
        for (p, default) in &sig.positional {
            args.push(match (given.next(), default) {
                (Some(v), _) => quote!(#v.clone()),
                (None, Some(d)) => self.default_value(m, d)?,
                (None, None) => return reject(c, format!("missing argument `{p}` of `{name}`")),
            });
        }
        let rest: Vec<TokenStream> = given.map(|v| quote!(#v.clone())).collect();
        if sig.varargs.is_some() {
            args.push(if rest.is_empty() { quote!(Vec::new()) } else { quote!(vec![#(#rest),*]) });
        } else if !rest.is_empty() {
            return reject(c, format!("too many arguments to `{name}`"));
        }
        for (p, default) in &sig.keyword_only {
            args.push(match default {
                Some(d) => self.default_value(m, d)?,
                None => return reject(c, format!("missing argument `{p}` of `{name}`")),
            });
        }
        let path = self.fn_path(module, name);
        Ok(Code::Obj(quote!(#path(#(#args),*)?)))
    }

    /// The values of the enclosing function's variables that nested function `name` reads
    /// (its leading arguments), when this is that enclosing function.
    fn captured_args(&self, c: &ast::ExprCall, module: &str, name: &str) -> T<Vec<TokenStream>> {
        let m = self.program.get(module).expect("resolved module");
        if m.class_of_method(name).is_some() || !matches!(m.functions.get(name), Some((_, Some(_)))) {
            return Ok(Vec::new());
        }
        let captured = captures(self.program, m, name)?;
        if captured.is_empty() {
            return Ok(Vec::new());
        }
        let enclosing = match m.functions.get(name).map(|&(i, _)| &m.ast.body[i]) {
            Some(Stmt::FunctionDef(outer)) => outer.name.id.to_string(),
            _ => String::new(),
        };
        if module != self.module.name || enclosing != self.current {
            return reject(
                c,
                format!(
                    "calling `{name}`, which reads variables of `{enclosing}`, from outside `{enclosing}`"
                ),
            );
        }
        captured
            .iter()
            .map(|v| match self.locals.get(v) {
                Some(Storage::Plain) => {
                    let id = local_ident(v);
                    Ok(quote!(#id.clone()))
                }
                _ => reject(
                    c,
                    format!("a nested function reading `{v}`, which may be unbound when it is called"),
                ),
            })
            .collect()
    }

    fn user_call(&mut self, c: &ast::ExprCall, module: &str, name: &str) -> T<Code> {
        let program = self.program;
        let m = program.get(module).expect("resolved module");
        let f = m.function(name).expect("resolved function");
        let sig = signature(&f.parameters, f)?;
        let mut slots: Vec<Option<TokenStream>> = vec![None; sig.positional.len()];
        let mut varargs = Vec::new();
        let mut kwonly: Vec<Option<TokenStream>> = vec![None; sig.keyword_only.len()];
        for (i, a) in c.arguments.args.iter().enumerate() {
            if let Expr::Starred(st) = a {
                // `f(x, *rest)`: the unpacked items go to `*args` once the named slots are full.
                if i < slots.len() || sig.varargs.is_none() {
                    return reject(a, "`*` arguments that fill named parameters");
                }
                let v = self.expr(&st.value)?.by_ref();
                varargs.push(quote!(Extend(py::iter(#v)?)));
                continue;
            }
            let v = self.expr(a)?.obj();
            if i < slots.len() {
                slots[i] = Some(v);
            } else if sig.varargs.is_some() {
                varargs.push(quote!(Push(#v)));
            } else {
                return reject(a, format!("too many arguments to `{name}`"));
            }
        }
        for k in c.arguments.keywords.iter() {
            let Some(arg) = &k.arg else { return reject(k, "`**` arguments in a call") };
            let v = self.expr(&k.value)?.obj();
            if let Some(i) = sig.positional.iter().position(|(p, _)| p == arg.id.as_str()) {
                if slots[i].is_some() {
                    return reject(k, format!("`{}` given twice", arg.id));
                }
                slots[i] = Some(v);
            } else if let Some(i) = sig.keyword_only.iter().position(|(p, _)| p == arg.id.as_str()) {
                kwonly[i] = Some(v);
            } else {
                return reject(k, format!("`{name}` has no parameter `{}`", arg.id));
            }
        }
        let mut args = self.captured_args(c, module, name)?;
        for (slot, (p, default)) in slots.into_iter().zip(&sig.positional) {
            args.push(match (slot, default) {
                (Some(v), _) => v,
                (None, Some(d)) => self.default_value(m, d)?,
                (None, None) => return reject(c, format!("missing argument `{p}` of `{name}`")),
            });
        }
        if sig.varargs.is_some() {
            let parts = varargs.iter().map(|p| {
                let p: Vec<proc_macro2::TokenTree> = p.clone().into_iter().collect();
                match (&p[0], &p[1]) {
                    (proc_macro2::TokenTree::Ident(k), proc_macro2::TokenTree::Group(g)) if k == "Extend" => {
                        (true, g.stream())
                    }
                    (_, proc_macro2::TokenTree::Group(g)) => (false, g.stream()),
                    _ => unreachable!("varargs parts are Push(…) or Extend(…)"),
                }
            });
            args.push(vec_of(parts.collect()));
        }
        for (slot, (p, default)) in kwonly.into_iter().zip(&sig.keyword_only) {
            args.push(match (slot, default) {
                (Some(v), _) => v,
                (None, Some(d)) => self.default_value(m, d)?,
                (None, None) => return reject(c, format!("missing argument `{p}` of `{name}`")),
            });
        }
        let path = self.fn_path(module, name);
        Ok(Code::Obj(quote!(#path(#(#args),*)?)))
    }

    /// A parameter's default, compiled in the scope of the function's module.
    fn default_value(&mut self, module: &PyModule, d: &Expr) -> T<TokenStream> {
        if let Expr::Name(n) = d
            && n.id.as_str() != "None"
        {
            return match self.resolve(module, n.id.as_str(), n)? {
                Resolved::Constant(m, c) => Ok(self.constant_ref(&m, &c)),
                _ => reject(d, "this default value"),
            };
        }
        let saved_locals = std::mem::take(&mut self.locals);
        let r = self.expr(d).map(Code::obj);
        self.locals = saved_locals;
        r
    }

    fn builtin(&mut self, c: &ast::ExprCall, name: &str) -> T<Code> {
        let args = &c.arguments.args;
        let kw = |k: &str| {
            c.arguments.keywords.iter().find(|x| x.arg.as_ref().is_some_and(|a| a.id.as_str() == k))
        };
        for k in &c.arguments.keywords {
            let allowed: &[&str] = match name {
                "sorted" => &["key", "reverse"],
                "min" | "max" => &["key", "default"],
                "sum" => &["start"],
                "enumerate" => &["start"],
                "int" => &["base"],
                _ => &[],
            };
            match &k.arg {
                Some(a) if allowed.contains(&a.id.as_str()) => {}
                _ => return reject(k, format!("this keyword argument to `{name}`")),
            }
        }
        if args.iter().any(|a| matches!(a, Expr::Starred(_))) {
            return reject(c, "`*` arguments in a call");
        }
        let arity = |lo: usize, hi: usize| -> T<()> {
            if args.len() < lo || args.len() > hi {
                return reject(c, format!("`{name}` with {} arguments", args.len()));
            }
            Ok(())
        };
        let one = |cx: &mut Self| -> T<TokenStream> {
            arity(1, 1)?;
            Ok(cx.expr(&args[0])?.by_ref())
        };
        Ok(match name {
            "len" => {
                let a = one(self)?;
                Code::Obj(quote!(Obj::Int(py::len(#a)?)))
            }
            "str" if args.is_empty() => Code::Obj(quote!(Obj::str(""))),
            // `str(uuid.uuid4())`: a fresh random UUID (the runtime's `uuid` module says why this
            // is CPython's meaning though no value can equal CPython's).
            "str"
                if args.len() == 1
                    && matches!(&args[0], Expr::Call(u) if self.names_std(&u.func, "uuid", "uuid4")
                    && u.arguments.args.is_empty()
                    && u.arguments.keywords.is_empty()) =>
            {
                Code::Obj(quote!(Obj::string(py::stdlib::uuid::uuid4_string())))
            }
            "str" => {
                let a = one(self)?;
                Code::Obj(quote!(py::str(#a)))
            }
            "repr" => {
                let a = one(self)?;
                Code::Obj(quote!(py::repr_obj(#a)))
            }
            "getattr" => {
                arity(2, 3)?;
                let x = self.expr(&args[0])?.by_ref();
                let n = self.expr(&args[1])?.by_ref();
                let d = match args.get(2) {
                    Some(d) => {
                        let d = self.expr(d)?.obj();
                        quote!(Some(#d))
                    }
                    None => quote!(None),
                };
                Code::Obj(quote!(py::getattr(#x, #n, #d)?))
            }
            "hasattr" => {
                arity(2, 2)?;
                let x = self.expr(&args[0])?.by_ref();
                let n = self.expr(&args[1])?.by_ref();
                Code::Bool(quote!(py::hasattr(#x, #n)?))
            }
            "bool" => {
                let a = self
                    .expr(args.first().ok_or_else(|| Reject {
                        span: span(c),
                        what: "`bool()`".into(),
                        help: None,
                    })?)?
                    .cond();
                Code::Bool(a)
            }
            "int" => {
                arity(1, 2)?;
                let a = self.expr(&args[0])?.by_ref();
                let base = match (args.get(1), kw("base")) {
                    (Some(b), _) => Some(self.expr(b)?.by_ref()),
                    (None, Some(k)) => Some(self.expr(&k.value)?.by_ref()),
                    (None, None) => None,
                };
                match base {
                    Some(b) => Code::Obj(quote!(py::int(#a, Some(#b))?)),
                    None => Code::Obj(quote!(py::int(#a, None)?)),
                }
            }
            "float" => {
                let a = one(self)?;
                Code::Obj(quote!(py::float(#a)?))
            }
            "list" if args.is_empty() => Code::Obj(quote!(Obj::list(Vec::new()))),
            "list" => {
                let a = one(self)?;
                Code::Obj(quote!(py::list(#a)?))
            }
            "tuple" if args.is_empty() => Code::Obj(quote!(Obj::tuple(Vec::new()))),
            "tuple" => {
                let a = one(self)?;
                Code::Obj(quote!(py::tuple(#a)?))
            }
            "set" | "frozenset" if args.is_empty() => Code::Obj(quote!(Obj::set(Vec::new())?)),
            "set" | "frozenset" => {
                let a = one(self)?;
                Code::Obj(quote!(py::set(#a)?))
            }
            "dict" if args.is_empty() => Code::Obj(quote!(Obj::dict(Vec::new())?)),
            "dict" => {
                let a = one(self)?;
                Code::Obj(quote!(py::dict(#a)?))
            }
            "any" | "all" => {
                arity(1, 1)?;
                if let Expr::Generator(g) = &args[0] {
                    return self.short_circuit(g, name == "any");
                }
                let a = self.expr(&args[0])?.by_ref();
                let f = format_ident!("{}", name);
                Code::Bool(quote!(py::#f(#a)?))
            }
            "abs" => {
                let a = one(self)?;
                Code::Obj(quote!(py::abs(#a)?))
            }
            "round" => {
                arity(1, 2)?;
                let a = self.expr(&args[0])?.by_ref();
                let n = match args.get(1) {
                    Some(n) => self.expr(n)?.by_ref(),
                    None => quote!(&Obj::None),
                };
                Code::Obj(quote!(py::round(#a, #n)?))
            }
            "sum" => {
                arity(1, 2)?;
                let a = self.expr(&args[0])?.by_ref();
                let start = match (args.get(1), kw("start")) {
                    (Some(s), _) => self.expr(s)?.obj(),
                    (None, Some(k)) => self.expr(&k.value)?.obj(),
                    _ => quote!(Obj::Int(0)),
                };
                Code::Obj(quote!(py::sum(#a, #start)?))
            }
            "sorted" => {
                arity(1, 1)?;
                let a = self.expr(&args[0])?.by_ref();
                let key = match kw("key") {
                    Some(k) => self.expr(&k.value)?.by_ref(),
                    None => quote!(&Obj::None),
                };
                let rev = match kw("reverse") {
                    Some(k) => self.expr(&k.value)?.by_ref(),
                    None => quote!(&Obj::Bool(false)),
                };
                Code::Obj(quote!(py::sorted(#a, #key, #rev)?))
            }
            "min" | "max" => {
                if args.is_empty() {
                    return reject(c, format!("`{name}()` without arguments"));
                }
                let items = self.elements(args)?;
                let key = match kw("key") {
                    Some(k) => self.expr(&k.value)?.by_ref(),
                    None => quote!(&Obj::None),
                };
                let default = match kw("default") {
                    Some(k) => {
                        let d = self.expr(&k.value)?.obj();
                        quote!(Some(#d))
                    }
                    None => quote!(None),
                };
                let f = format_ident!("{}", name);
                Code::Obj(quote!(py::#f(&#items, #key, #default)?))
            }
            "isinstance" => {
                arity(2, 2)?;
                let a = self.expr(&args[0])?.by_ref();
                let types = self.types(&args[1])?;
                Code::Bool(quote!(py::isinstance(#a, &[#(#types),*])))
            }
            "enumerate" => {
                arity(1, 2)?;
                let a = self.expr(&args[0])?.by_ref();
                let start = match (args.get(1), kw("start")) {
                    (Some(Expr::NumberLiteral(n)), _)
                    | (None, Some(ast::Keyword { value: Expr::NumberLiteral(n), .. })) => match &n.value {
                        Number::Int(i) => Literal::i64_unsuffixed(i.as_i64().unwrap_or(0)),
                        _ => return reject(c, "a non-integer `enumerate` start"),
                    },
                    (None, None) => Literal::i64_unsuffixed(0),
                    _ => return reject(c, "a computed `enumerate` start"),
                };
                Code::Obj(quote!(Obj::list(py::enumerate(#a, #start)?)))
            }
            "zip" => {
                let items = self.elements(args)?;
                Code::Obj(quote!(Obj::list(py::zip(&#items)?)))
            }
            "range" => {
                let items = self.elements(args)?;
                Code::Obj(quote!(Obj::list(py::range(&#items)?)))
            }
            "reversed" => {
                let a = one(self)?;
                Code::Obj(quote!(py::reversed(#a)?))
            }
            "ord" => {
                let a = one(self)?;
                Code::Obj(quote!(py::ord(#a)?))
            }
            "chr" => {
                let a = one(self)?;
                Code::Obj(quote!(py::chr(#a)?))
            }
            "print" => Code::Obj(quote!(Obj::None)),
            "next" => {
                arity(1, 2)?;
                let Expr::Generator(g) = &args[0] else {
                    return reject(c, "`next` of something other than a generator expression");
                };
                let default = match args.get(1) {
                    // CPython evaluates the default before the generator runs; compiled, it is
                    // evaluated only when nothing is found, which is the same only for a value
                    // that cannot raise.
                    Some(d) if !self.inert(d) => {
                        return reject(d, "a `next` default that is not a constant or a variable");
                    }
                    Some(d) => self.expr(d)?.obj(),
                    None => quote!(Err(py::Exc::new("StopIteration", ""))?),
                };
                let found = self.fresh("first");
                let n_scoped = self.scoped.len();
                let r = self.first_body(&g.generators, &g.elt, &found);
                self.scoped.truncate(n_scoped);
                let body = r?;
                let label = syn_label(&found);
                Code::Obj(quote!({
                    let mut #found: Option<Obj<'e>> = None;
                    #label: {
                        #body
                    }
                    match #found {
                        Some(v) => v,
                        None => #default,
                    }
                }))
            }
            other => return reject(c, format!("the builtin `{other}`")),
        })
    }

    /// `any(… for …)` / `all(… for …)`: stops at the first deciding element, as the generator
    /// would (later elements are not evaluated and cannot raise).
    fn short_circuit(&mut self, g: &ast::ExprGenerator, any: bool) -> T<Code> {
        let found = self.fresh("found");
        let n_scoped = self.scoped.len();
        let r = self.short_circuit_body(&g.generators, &g.elt, any, &found);
        self.scoped.truncate(n_scoped);
        let body = r?;
        let init = !any;
        let label = syn_label(&found);
        Ok(Code::Bool(quote!({
            let mut #found = #init;
            #label: {
                #body
            }
            #found
        })))
    }

    fn short_circuit_body(
        &mut self,
        generators: &[ast::Comprehension],
        elt: &Expr,
        any: bool,
        found: &Ident,
    ) -> T<TokenStream> {
        let label = syn_label(found);
        self.generator_loops(generators, &mut |cx| {
            let test = cx.expr(elt)?.cond();
            // `any` stops at the first true element (True), `all` at the first false (False).
            Ok(if any {
                quote!(if #test { #found = true; break #label; })
            } else {
                quote!(if !(#test) { #found = false; break #label; })
            })
        })
    }

    /// The loops of `next(… for …)`: the first element, then stop.
    fn first_body(&mut self, generators: &[ast::Comprehension], elt: &Expr, found: &Ident) -> T<TokenStream> {
        let label = syn_label(found);
        self.generator_loops(generators, &mut |cx| {
            let v = cx.expr(elt)?.obj();
            Ok(quote!(#found = Some(#v); break #label;))
        })
    }

    fn types(&mut self, e: &Expr) -> T<Vec<TokenStream>> {
        let one = |cx: &mut Self, e: &Expr| -> T<TokenStream> {
            let name = match e {
                Expr::Name(n) => match cx.resolve(cx.module, n.id.as_str(), n) {
                    Ok(Resolved::Builtin(b)) => b,
                    Ok(Resolved::Std(m, n)) => format!("{m}.{n}"),
                    _ => n.id.to_string(),
                },
                Expr::Attribute(a) => match &*a.value {
                    Expr::Name(m) => format!("{}.{}", m.id, a.attr.id),
                    _ => return reject(e, "this type in `isinstance`"),
                },
                Expr::NoneLiteral(_) => "NoneType".into(),
                _ => return reject(e, "this type in `isinstance`"),
            };
            let ty = match name.as_str() {
                "str" => quote!(py::Type::Str),
                "int" => quote!(py::Type::Int),
                "float" => quote!(py::Type::Float),
                "bool" => quote!(py::Type::Bool),
                "dict" => quote!(py::Type::Dict),
                "list" => quote!(py::Type::List),
                "tuple" => quote!(py::Type::Tuple),
                "set" => quote!(py::Type::Set),
                "collections.abc.Mapping" | "typing.Mapping" | "collections.Mapping" | "Mapping" => {
                    quote!(py::Type::Mapping)
                }
                "collections.abc.Sequence" | "typing.Sequence" | "Sequence" => quote!(py::Type::Sequence),
                "collections.abc.Iterable" | "typing.Iterable" | "Iterable" => quote!(py::Type::Iterable),
                "bytes" | "bytearray" => quote!(py::Type::Bytes),
                "unittest.mock.MagicMock" | "mock.MagicMock" => quote!(py::Type::MagicMock),
                "panther_core.immutable.ImmutableList" => quote!(py::Type::ImmutableList),
                "panther_core.immutable.ImmutableCaseInsensitiveDict" => quote!(py::Type::ImmutableDict),
                _ => return reject(e, format!("`isinstance` with the type `{name}`")),
            };
            Ok(ty)
        };
        match e {
            Expr::Tuple(t) => t.elts.iter().map(|e| one(self, e)).collect(),
            e => Ok(vec![one(self, e)?]),
        }
    }

    fn std_call(&mut self, c: &ast::ExprCall, module: &str, name: &str) -> T<Code> {
        match (module, name) {
            ("fnmatch", "fnmatch") | ("fnmatch", "fnmatchcase") => {
                let items = self.plain_args(c)?;
                if c.arguments.args.len() != 2 {
                    return reject(c, "`fnmatch` without two arguments");
                }
                let f = format_ident!("{}", name);
                Ok(Code::Obj(quote!(py::stdlib::#f(&#items)?)))
            }
            ("shlex", "split") => {
                if c.arguments.args.len() != 1 || !c.arguments.keywords.is_empty() {
                    return reject(c, "`shlex.split` with `comments` or `posix`");
                }
                let s = self.expr(&c.arguments.args[0])?.by_ref();
                Ok(Code::Obj(quote!(py::stdlib::shlex::split(#s)?)))
            }
            // An `OrderedDict` behaves as a dict for what rules do with it (insertion order,
            // lookups, keys); its repr and order-sensitive `==` are not modelled: documented.
            ("collections", "OrderedDict")
                if c.arguments.args.is_empty() && c.arguments.keywords.is_empty() =>
            {
                Ok(Code::Obj(quote!(Obj::dict(Vec::new())?)))
            }
            ("urllib.parse", f @ ("urlparse" | "unquote" | "parse_qs")) => {
                if c.arguments.args.len() != 1
                    || !c.arguments.keywords.is_empty()
                    || matches!(c.arguments.args[0], Expr::Starred(_))
                {
                    return reject(c, format!("`urllib.parse.{f}` with other arguments than the string"));
                }
                let a = self.expr(&c.arguments.args[0])?.by_ref();
                let f = format_ident!("{}", f);
                Ok(Code::Obj(quote!(py::stdlib::url::#f(#a)?)))
            }
            ("policyuniverse.policy", "Policy") | ("policyuniverse.statement", "Statement") => {
                if c.arguments.args.len() != 1
                    || !c.arguments.keywords.is_empty()
                    || matches!(c.arguments.args[0], Expr::Starred(_))
                {
                    return reject(c, format!("`{name}` with other arguments than the document"));
                }
                let a = self.expr(&c.arguments.args[0])?.by_ref();
                let f = format_ident!("{}", name.to_ascii_lowercase());
                Ok(Code::Obj(quote!(py::stdlib::policyuniverse::#f(#a)?)))
            }
            ("datetime", class @ ("datetime" | "timedelta")) => self.date_construct(c, class),
            ("base64", "b64decode") => self.b64decode(c),
            ("time", _) => self.time_call(c, name),
            ("functools", "reduce") => {
                let args = &c.arguments.args;
                if !c.arguments.keywords.is_empty() || !(2..=3).contains(&args.len()) {
                    return reject(c, "`reduce` with these arguments");
                }
                let f = self.expr(&args[0])?.by_ref();
                let xs = self.expr(&args[1])?.by_ref();
                let init = match args.get(2) {
                    Some(i) => {
                        let i = self.expr(i)?.obj();
                        quote!(Some(#i))
                    }
                    None => quote!(None),
                };
                Ok(Code::Obj(quote!(py::reduce(#f, #xs, #init)?)))
            }
            ("ipaddress", f @ ("ip_address" | "IPv4Address" | "IPv6Address")) => {
                if c.arguments.args.len() != 1 || !c.arguments.keywords.is_empty() {
                    return reject(c, format!("`{f}` with these arguments"));
                }
                let a = self.expr(&c.arguments.args[0])?.by_ref();
                let kind = match f {
                    "ip_address" => quote!(Any),
                    "IPv4Address" => quote!(V4),
                    _ => quote!(V6),
                };
                Ok(Code::Obj(quote!(py::stdlib::ipaddress::address(#a, py::stdlib::ipaddress::Kind::#kind)?)))
            }
            ("ipaddress", f @ ("ip_network" | "IPv4Network" | "IPv6Network")) => {
                if c.arguments.args.is_empty() || c.arguments.args.len() > 2 {
                    return reject(c, format!("`{f}` with these arguments"));
                }
                let a = self.expr(&c.arguments.args[0])?.by_ref();
                let strict_expr = c.arguments.args.get(1).or_else(|| {
                    c.arguments
                        .keywords
                        .iter()
                        .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "strict"))
                        .map(|k| &k.value)
                });
                if c.arguments
                    .keywords
                    .iter()
                    .any(|k| k.arg.as_ref().is_none_or(|a| a.id.as_str() != "strict"))
                {
                    return reject(c, format!("`{f}` with these keyword arguments"));
                }
                let strict = match strict_expr {
                    None => quote!(true),
                    Some(e) => self.expr(e)?.cond(),
                };
                let kind = match f {
                    "ip_network" => quote!(Any),
                    "IPv4Network" => quote!(V4),
                    _ => quote!(V6),
                };
                Ok(Code::Obj(
                    quote!(py::stdlib::ipaddress::network(#a, #strict, py::stdlib::ipaddress::Kind::#kind)?),
                ))
            }
            _ => reject(c, format!("`{module}.{name}`")),
        }
    }

    /// `base64.b64decode(s[, validate=…])`, `altchars` left out (or `None`).
    fn b64decode(&mut self, c: &ast::ExprCall) -> T<Code> {
        let args = &c.arguments.args;
        if args.is_empty() || args.iter().any(|a| matches!(a, Expr::Starred(_))) {
            return reject(c, "`b64decode` without its string argument");
        }
        let mut altchars = args.get(1);
        let mut validate = args.get(2);
        if args.len() > 3 {
            return reject(c, "`b64decode` with more than 3 arguments");
        }
        for k in &c.arguments.keywords {
            match k.arg.as_ref().map(|a| a.id.as_str()) {
                Some("altchars") if altchars.is_none() => altchars = Some(&k.value),
                Some("validate") if validate.is_none() => validate = Some(&k.value),
                _ => return reject(k, "this keyword argument to `b64decode`"),
            }
        }
        if altchars.is_some_and(|a| !matches!(a, Expr::NoneLiteral(_))) {
            return reject(c, "`b64decode` with `altchars`");
        }
        let s = self.expr(&args[0])?.obj();
        let validate = match validate {
            None => quote!(Obj::Bool(false)),
            Some(v) => self.expr(v)?.obj(),
        };
        let (vs, vv) = (self.fresh("s"), self.fresh("validate"));
        Ok(Code::Obj(quote!({
            let #vs = #s;
            let #vv = #validate;
            py::stdlib::bytes::b64decode(&#vs, &#vv)?
        })))
    }

    /// Whether `e` names `module.name` of the standard library (`name` imported from it, or
    /// `module.name`).
    fn names_std(&self, e: &Expr, module: &str, name: &str) -> bool {
        let unbound = |n: &str| !self.locals.contains_key(n) && !self.scoped.iter().any(|s| s == n);
        match e {
            Expr::Name(n) if unbound(n.id.as_str()) => {
                matches!(self.resolve(self.module, n.id.as_str(), n), Ok(Resolved::Std(m, f)) if m == module && f == name)
            }
            Expr::Attribute(a) => match &*a.value {
                Expr::Name(n) if unbound(n.id.as_str()) && a.attr.id.as_str() == name => {
                    matches!(self.resolve(self.module, n.id.as_str(), n), Ok(Resolved::Module(m)) if m == module)
                        && self.program.get(module).is_none()
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// `SequenceMatcher(None, a, b[, autojunk=…]).ratio()` (the runtime's `difflib` port):
    /// `isjunk` must be `None`, written as such.
    fn sequence_matcher_ratio(&mut self, sm: &ast::ExprCall, call: &ast::ExprCall) -> T<Code> {
        let args = &sm.arguments.args;
        if !call.arguments.args.is_empty() || !call.arguments.keywords.is_empty() {
            return reject(call, "`ratio()` with arguments");
        }
        if args.len() != 3
            || !matches!(args[0], Expr::NoneLiteral(_))
            || args.iter().any(|a| matches!(a, Expr::Starred(_)))
        {
            return reject(
                sm,
                "`SequenceMatcher` other than `SequenceMatcher(None, a, b)` (an `isjunk` function)",
            );
        }
        let a = self.expr(&args[1])?.obj();
        let b = self.expr(&args[2])?.obj();
        let mut autojunk = quote!(true);
        for k in &sm.arguments.keywords {
            match &k.arg {
                Some(n) if n.id.as_str() == "autojunk" => autojunk = self.expr(&k.value)?.cond(),
                _ => return reject(k, "this keyword argument to `SequenceMatcher`"),
            }
        }
        let (va, vb) = (self.fresh("a"), self.fresh("b"));
        Ok(Code::Obj(quote!({
            let #va = #a;
            let #vb = #b;
            py::stdlib::difflib::ratio(&#va, &#vb, #autojunk)?
        })))
    }

    fn method_call(&mut self, c: &ast::ExprCall, a: &ast::ExprAttribute) -> T<Code> {
        let method = a.attr.id.as_str();
        // `datetime.fromisoformat(…)` & co.: a class method of `datetime`.
        if let Some(class) = self.date_class(&a.value) {
            return self.date_class_method(c, class, method);
        }
        // `parser.parse(s)` of `from dateutil import parser`.
        if self.is_dateutil_parser(&a.value) {
            return self.dateutil_call(c, method);
        }
        // `module.function(...)`: a helper module or the standard library.
        if let Expr::Name(n) = &*a.value
            && !self.locals.contains_key(n.id.as_str())
            && !self.scoped.iter().any(|s| s == n.id.as_str())
            && let Ok(Resolved::Module(m)) = self.resolve(self.module, n.id.as_str(), n)
        {
            if let Some(helper) = self.program.get(&m) {
                if helper.functions.contains_key(method) {
                    let name = helper.name.clone();
                    return self.user_call(c, &name, method);
                }
                return reject(a, format!("`{m}.{method}`, which `{m}` does not define as a function"));
            }
            return self.std_module_call(c, &m, method);
        }
        // `super().m(…)` in a method: the next class of the chain that defines `m`.
        if let Expr::Call(s) = &*a.value
            && matches!(&*s.func, Expr::Name(n) if n.id.as_str() == "super")
            && s.arguments.args.is_empty()
            && s.arguments.keywords.is_empty()
        {
            return self.super_call(c, method);
        }
        // `SequenceMatcher(None, a, b).ratio()`: the one use of `difflib` that compiles.
        if method == "ratio"
            && let Expr::Call(inner) = &*a.value
            && self.names_std(&inner.func, "difflib", "SequenceMatcher")
        {
            return self.sequence_matcher_ratio(inner, c);
        }
        // A method of `policyuniverse`'s objects (the receiver's type is known at run time).
        if POLICYUNIVERSE_METHODS.contains(&method) && imports_policyuniverse(self.module) {
            if classes::any_defines(self.program, method) {
                return reject(
                    a,
                    format!(
                        "the method `.{method}()`, which both policyuniverse and a class of the program define"
                    ),
                );
            }
            if !c.arguments.args.is_empty() || !c.arguments.keywords.is_empty() {
                return reject(c, format!("`.{method}()` with arguments"));
            }
            let recv = self.expr(&a.value)?.by_ref();
            let f = format_ident!("{}", method);
            return Ok(Code::Bool(quote!(py::stdlib::policyuniverse::#f(#recv)?)));
        }
        // A method some class of the program defines: chosen by the receiver's class.
        if !is_builtin_method(method) && classes::any_defines(self.program, method) {
            return self.dispatch(c, a, method);
        }
        if c.arguments.args.iter().any(|a| matches!(a, Expr::Starred(_)))
            && !matches!(method, "deep_get" | "deep_walk")
        {
            return reject(c, "`*` arguments in a call");
        }
        let recv = self.expr(&a.value)?.by_ref();
        let kw = |k: &str| {
            c.arguments.keywords.iter().find(|x| x.arg.as_ref().is_some_and(|a| a.id.as_str() == k))
        };
        match method {
            "udm" => {
                self.udm = true;
                let keys = self.key_slice(&c.arguments.args)?;
                for k in &c.arguments.keywords {
                    if k.arg.as_ref().is_none_or(|a| a.id.as_str() != "default") {
                        return reject(k, "this keyword argument to `udm`");
                    }
                }
                let default = match kw("default") {
                    Some(k) => self.expr(&k.value)?.obj(),
                    None => quote!(Obj::None),
                };
                return Ok(Code::Obj(quote!(py::meth::udm(#recv, #keys, #default)?)));
            }
            "deep_get" | "deep_walk" => {
                let keys = self.key_slice(&c.arguments.args)?;
                for k in &c.arguments.keywords {
                    match &k.arg {
                        Some(a)
                            if a.id.as_str() == "default"
                                || (method == "deep_walk" && a.id.as_str() == "return_val") => {}
                        _ => return reject(k, format!("this keyword argument to `{method}`")),
                    }
                }
                let default = match kw("default") {
                    Some(k) => self.expr(&k.value)?.obj(),
                    None => quote!(Obj::None),
                };
                if method == "deep_get" {
                    return Ok(Code::Obj(quote!(py::meth::deep_get(#recv, #keys, #default)?)));
                }
                let rv = match kw("return_val") {
                    Some(k) => self.expr(&k.value)?.by_ref(),
                    None => quote!(&Obj::str("all")),
                };
                return Ok(Code::Obj(quote!(py::meth::deep_walk(#recv, #keys, #default, #rv)?)));
            }
            "format" => {
                let args = self.elements(&c.arguments.args)?;
                let spreads = c.arguments.keywords.iter().any(|k| k.arg.is_none());
                let mut kws = Vec::new();
                for k in &c.arguments.keywords {
                    let v = self.expr(&k.value)?;
                    kws.push(match (&k.arg, spreads) {
                        (Some(name), false) => {
                            let (name, v) = (name.id.as_str(), v.obj());
                            quote!((#name, #v))
                        }
                        (Some(name), true) => {
                            let (name, v) = (name.id.as_str(), v.obj());
                            quote!(.named(#name, #v)?)
                        }
                        (None, _) => {
                            let v = v.by_ref();
                            quote!(.spread(#v)?)
                        }
                    });
                }
                if spreads {
                    // `**mapping`: the keywords are merged at run time, after the string and the
                    // positional arguments are evaluated.
                    let (r, a) = (self.fresh("recv"), self.fresh("args"));
                    return Ok(Code::Obj(quote!({
                        let #r = #recv;
                        let #a = #args;
                        py::meth::FormatKwargs::default()#(#kws)*.format(#r, &#a)?
                    })));
                }
                return Ok(Code::Obj(quote!(py::meth::format_kw(#recv, &#args, &[#(#kws),*])?)));
            }
            _ => {}
        }
        if method == "strftime" {
            self.check_strftime(c)?;
        }
        let Some((function, params)) = METHODS.iter().find(|(m, _)| *m == method).map(|(m, p)| (*m, *p))
        else {
            return reject(a, format!("the method `.{method}()`"));
        };
        let mut slots: Vec<Option<TokenStream>> = vec![None; params.len()];
        if c.arguments.args.len() > params.len() {
            return reject(c, format!("`.{method}()` with {} arguments", c.arguments.args.len()));
        }
        for (i, arg) in c.arguments.args.iter().enumerate() {
            slots[i] = Some(self.expr(arg)?.obj());
        }
        for k in &c.arguments.keywords {
            let Some(name) = &k.arg else { return reject(k, "`**` arguments in a call") };
            let Some(i) = params.iter().position(|p| *p == name.id.as_str()) else {
                return reject(k, format!("the keyword argument `{}` of `.{method}()`", name.id));
            };
            slots[i] = Some(self.expr(&k.value)?.obj());
        }
        // Trailing arguments not given are left out; a gap is filled with `None`, which every
        // method below reads as "not given".
        let given = slots.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
        let args = slots[..given].iter().map(|s| s.clone().unwrap_or_else(|| quote!(Obj::None)));
        let f = method_fn(function);
        Ok(Code::Obj(quote!(py::meth::#f(#recv, &[#(#args),*])?)))
    }

    /// The arguments of a call, evaluated in order into variables: positional (a `*` one as a
    /// `Vec` of its items), then keywords.
    #[allow(clippy::type_complexity)]
    fn eval_args(&mut self, c: &ast::ExprCall) -> T<(Vec<Arg>, Vec<(String, Ident)>, Vec<TokenStream>)> {
        let (mut pos, mut kws, mut lets) = (Vec::new(), Vec::new(), Vec::new());
        for a in c.arguments.args.iter() {
            if let Expr::Starred(s) = a {
                let v = self.expr(&s.value)?.by_ref();
                let id = self.fresh("items");
                lets.push(quote!(let #id = py::iter(#v)?;));
                pos.push(Arg::Star(id));
                continue;
            }
            let v = self.expr(a)?.obj();
            let id = self.fresh("arg");
            lets.push(quote!(let #id = #v;));
            pos.push(Arg::One(id));
        }
        for k in c.arguments.keywords.iter() {
            let Some(name) = &k.arg else { return reject(k, "`**` arguments to a method of a class") };
            let v = self.expr(&k.value)?.obj();
            let id = self.fresh("arg");
            lets.push(quote!(let #id = #v;));
            kws.push((name.id.to_string(), id));
        }
        Ok((pos, kws, lets))
    }

    /// Evaluated arguments bound to the parameters of the function `fname` of `module` (`this`
    /// first, when given): the Rust arguments, or why they do not fit.
    fn bind(
        &mut self,
        module: &str,
        fname: &str,
        this: Option<TokenStream>,
        pos: &[Arg],
        kws: &[(String, Ident)],
    ) -> T<Result<Vec<TokenStream>, String>> {
        let program = self.program;
        let m = program.get(module).expect("resolved module");
        let f = m.function(fname).expect("resolved function");
        let sig = signature(&f.parameters, f)?;
        let this = this.map(Arg::Tokens);
        let mut slots: Vec<Option<TokenStream>> = vec![None; sig.positional.len()];
        // What goes to `*args`: items pushed one by one, or extended by a `*` argument.
        let mut rest = Vec::new();
        let mut filled = 0;
        for g in this.iter().chain(pos) {
            match (g, slots.get_mut(filled)) {
                (Arg::Star(_), Some(_)) => {
                    return Ok(Err(format!("`*` arguments that fill named parameters of `{}`", f.name.id)));
                }
                (Arg::Star(s), None) => rest.push((true, quote!(#s.iter().cloned()))),
                (Arg::One(a), Some(slot)) => {
                    *slot = Some(quote!(#a.clone()));
                    filled += 1;
                }
                (Arg::Tokens(t), Some(slot)) => {
                    *slot = Some(t.clone());
                    filled += 1;
                }
                (Arg::One(a), None) => rest.push((false, quote!(#a.clone()))),
                (Arg::Tokens(t), None) => rest.push((false, t.clone())),
            }
        }
        if !rest.is_empty() && sig.varargs.is_none() {
            return Ok(Err(format!("too many positional arguments to `{}`", f.name.id)));
        }
        let mut kwonly: Vec<Option<TokenStream>> = vec![None; sig.keyword_only.len()];
        for (k, v) in kws {
            if let Some(i) = sig.positional.iter().position(|(p, _)| p == k) {
                if slots[i].is_some() {
                    return Ok(Err(format!("`{k}` given twice to `{}`", f.name.id)));
                }
                slots[i] = Some(quote!(#v.clone()));
            } else if let Some(i) = sig.keyword_only.iter().position(|(p, _)| p == k) {
                kwonly[i] = Some(quote!(#v.clone()));
            } else {
                return Ok(Err(format!("`{}` has no parameter `{k}`", f.name.id)));
            }
        }
        let mut args = Vec::new();
        for (slot, (p, default)) in slots.into_iter().zip(&sig.positional) {
            args.push(match (slot, default) {
                (Some(v), _) => v,
                (None, Some(d)) => self.default_value(m, d)?,
                (None, None) => return Ok(Err(format!("missing argument `{p}` of `{}`", f.name.id))),
            });
        }
        if sig.varargs.is_some() {
            args.push(vec_of(rest));
        }
        for (slot, (p, default)) in kwonly.into_iter().zip(&sig.keyword_only) {
            args.push(match (slot, default) {
                (Some(v), _) => v,
                (None, Some(d)) => self.default_value(m, d)?,
                (None, None) => return Ok(Err(format!("missing argument `{p}` of `{}`", f.name.id))),
            });
        }
        Ok(Ok(args))
    }

    /// The class chain of a class of the program, or a rejection at `at`.
    fn class_chain(&self, at: &impl Ranged, module: &str, name: &str) -> T<Vec<classes::Class<'p>>> {
        let program = self.program;
        let m = program.get(module).expect("resolved module");
        let class = classes::find(program, m, name).expect("resolved class");
        classes::mro(program, class, &is_builtin_method).map_err(|(range, what)| {
            let line = m.file.text[..range.start().to_usize()].matches('\n').count() + 1;
            Reject {
                span: span(at),
                what: format!("the class `{name}` of `{}` (line {line}): {what}", m.file.path),
                help: Some(
                    "classes compile with methods, `__init__` and one base class of the program".into(),
                ),
            }
        })
    }

    /// `Class(…)`: a new instance, its `__init__` (found in the class chain) called on it.
    fn instantiate(&mut self, c: &ast::ExprCall, module: &str, name: &str) -> T<Code> {
        let chain = self.class_chain(c, module, name)?;
        let (pos, kws, lets) = self.eval_args(c)?;
        let obj = self.fresh("instance");
        let init = match classes::resolve(&chain, "__init__") {
            Some((owner, f)) => {
                let owner_module = owner.module.name.clone();
                let args =
                    self.bind(&owner_module, f, Some(quote!(#obj.clone())), &pos, &kws)?.map_err(|why| {
                        Reject { span: span(c), what: format!("`{name}(…)`: {why}"), help: None }
                    })?;
                let path = self.fn_path(&owner_module, f);
                quote!(py::instance::init_result(#path(#(#args),*)?)?;)
            }
            None if pos.is_empty() && kws.is_empty() => quote!(),
            None => return reject(c, format!("`{name}(…)` with arguments, without `__init__`")),
        };
        let methods = classes::all_methods(&chain);
        let class_module = chain[0].module.name.clone();
        Ok(Code::Obj(quote!({
            static CLASS: py::instance::Class =
                py::instance::Class { module: #class_module, name: #name, methods: &[#(#methods),*] };
            #(#lets)*
            let #obj = py::instance::instance(&CLASS);
            #init
            #obj
        })))
    }

    /// `recv.method(…)` for a method some class of the program defines: the method of the
    /// receiver's class (each class that has one is compared), else `AttributeError`.
    fn dispatch(&mut self, c: &ast::ExprCall, a: &ast::ExprAttribute, method: &str) -> T<Code> {
        let recv = self.expr(&a.value)?.obj();
        let r = self.fresh("recv");
        let (pos, kws, arg_lets) = self.eval_args(c)?;
        let mut arms = Vec::new();
        let mut having = Vec::new();
        for chain in classes::all(self.program, &is_builtin_method) {
            let Some((owner, f)) = classes::resolve(&chain, method) else { continue };
            let (class_module, class_name) = (chain[0].module.name.clone(), chain[0].name());
            let owner_module = owner.module.name.clone();
            let call = match self.bind(&owner_module, f, Some(quote!(#r.clone())), &pos, &kws)? {
                Ok(args) => {
                    let path = self.fn_path(&owner_module, f);
                    quote!(#path(#(#args),*)?)
                }
                Err(why) => {
                    let why = format!("calling `{class_name}.{method}()`: {why}");
                    quote!(Err::<Obj<'e>, _>(py::Exc::unsupported(#why))?)
                }
            };
            arms.push(quote!(Some((#class_module, #class_name)) => #call,));
            having.push(quote!(Some((#class_module, #class_name))));
        }
        // Python looks the method up before it evaluates the arguments.
        let lookup = if having.is_empty() {
            quote!(py::instance::no_method(&#r, #method)?;)
        } else {
            quote!(if !matches!(py::instance::class_of(&#r), #(#having)|*) {
                py::instance::no_method(&#r, #method)?;
            })
        };
        Ok(Code::Obj(quote!({
            let #r = #recv;
            #lookup
            #(#arg_lets)*
            match py::instance::class_of(&#r) {
                #(#arms)*
                _ => py::instance::no_method(&#r, #method)?,
            }
        })))
    }

    /// `super().method(…)` in a method: the method of the next class of the chain.
    fn super_call(&mut self, c: &ast::ExprCall, method: &str) -> T<Code> {
        let Some((module, class, this)) = self.class.clone() else {
            return reject(c, "`super()` outside a method of a class");
        };
        let chain = self.class_chain(c, &module, &class)?;
        let Some((owner, f)) = classes::resolve(&chain[1..], method) else {
            return reject(c, format!("`super().{method}()`: no base class of `{class}` defines it"));
        };
        let (pos, kws, lets) = self.eval_args(c)?;
        let this = local_ident(&this);
        let owner_module = owner.module.name.clone();
        let args = self.bind(&owner_module, f, Some(quote!(#this.clone())), &pos, &kws)?.map_err(|why| {
            Reject { span: span(c), what: format!("`super().{method}(…)`: {why}"), help: None }
        })?;
        let path = self.fn_path(&owner_module, f);
        Ok(Code::Obj(quote!({
            #(#lets)*
            #path(#(#args),*)?
        })))
    }

    fn std_module_call(&mut self, c: &ast::ExprCall, module: &str, name: &str) -> T<Code> {
        match (module, name) {
            ("re", "match" | "search" | "fullmatch" | "findall" | "sub" | "split" | "compile") => {
                let flags_at = match name {
                    "compile" => 1,
                    "sub" => 4,
                    _ => 2,
                };
                let args = &c.arguments.args;
                let local = match args.first() {
                    Some(Expr::Name(n)) => self.constant_local(n),
                    _ => None,
                };
                let known = regex_args_in(c, Some((self.program, self.module)), flags_at, local.as_ref())?;
                // A local's pattern is checked here, and read from the local at run time.
                let known = if local.is_some() { None } else { known };
                let extra_kw = c
                    .arguments
                    .keywords
                    .iter()
                    .any(|k| k.arg.as_ref().is_none_or(|a| a.id.as_str() != "flags"));
                if extra_kw {
                    return reject(c, format!("keyword arguments to `re.{name}`"));
                }
                let wanted = match name {
                    "compile" => 1,
                    "match" | "search" | "fullmatch" | "findall" => {
                        if args.len() > 3 {
                            return reject(c, format!("`re.{name}` with flags as a positional argument"));
                        }
                        2
                    }
                    "split" => {
                        if args.len() != 2 {
                            return reject(c, "`re.split` with maxsplit or flags");
                        }
                        2
                    }
                    _ => {
                        if args.len() != 3 {
                            return reject(c, "`re.sub` with count or flags");
                        }
                        3
                    }
                };
                if args.len() < wanted {
                    return reject(c, format!("`re.{name}` without enough arguments"));
                }
                // The arguments, evaluated in order before the pattern is compiled (as Python
                // does: a computed pattern that fails raises after its arguments).
                let mut lets = Vec::new();
                let mut refs = Vec::new();
                let first = if known.is_some() { 1 } else { 0 };
                for a in &args[first..wanted] {
                    let v = self.expr(a)?;
                    if known.is_some() {
                        // A known pattern cannot fail: the arguments are read in place.
                        refs.push(v.by_ref());
                        continue;
                    }
                    let t = self.fresh("re_arg");
                    let v = v.obj();
                    lets.push(quote!(let #t = #v;));
                    refs.push(quote!(&#t));
                }
                let pat = match known {
                    Some((pattern, flags)) => quote!(py::stdlib::re::pattern(#pattern, #flags)),
                    None => {
                        let flags = regex_call_flags(c, flags_at)?;
                        let p = refs.remove(0);
                        quote!(py::stdlib::re::compile_obj(#p, #flags)?)
                    }
                };
                let call = match name {
                    "compile" => quote!(Obj::Regex(#pat)),
                    "match" | "search" | "fullmatch" => {
                        let s = &refs[0];
                        let how = match name {
                            "match" => quote!(Match),
                            "search" => quote!(Search),
                            _ => quote!(Full),
                        };
                        quote!(#pat.find(#s, py::stdlib::re::How::#how)?)
                    }
                    "findall" => {
                        let s = &refs[0];
                        quote!(#pat.findall(#s)?)
                    }
                    "split" => {
                        let s = &refs[0];
                        quote!(#pat.split(#s)?)
                    }
                    _ => {
                        let (r, s) = (&refs[0], &refs[1]);
                        quote!(#pat.sub(#r, #s, 0)?)
                    }
                };
                Ok(Code::Obj(if lets.is_empty() { call } else { quote!({ #(#lets)* #call }) }))
            }
            ("json", "loads") => {
                let items = self.plain_args(c)?;
                Ok(Code::Obj(quote!(py::stdlib::json_loads(&#items)?)))
            }
            ("json", "dumps") => {
                if c.arguments.args.len() != 1 {
                    return reject(c, "`json.dumps` with these arguments");
                }
                let v = self.expr(&c.arguments.args[0])?.by_ref();
                for k in &c.arguments.keywords {
                    let Some(a) = &k.arg else { return reject(k, "`**` arguments") };
                    match a.id.as_str() {
                        "sort_keys" | "default" | "indent" | "separators" | "ensure_ascii" => {
                            return reject(k, format!("`json.dumps` with `{}`", a.id));
                        }
                        other => return reject(k, format!("`json.dumps` with `{other}`")),
                    }
                }
                Ok(Code::Obj(quote!(py::stdlib::json_dumps(#v)?)))
            }
            ("fnmatch", "fnmatch" | "fnmatchcase") => self.std_call(c, module, name),
            ("shlex", "split") => self.std_call(c, module, name),
            ("datetime" | "time", _) => self.std_call(c, module, name),
            ("ipaddress", _) => self.std_call(c, module, name),
            ("base64", "b64decode") => self.std_call(c, module, name),
            (KV_MODULE, _) => self.kv_call(c, name, None, false),
            // Logging changes no result: the arguments are evaluated (their exceptions
            // propagate), the record goes nowhere a rule can see (`logging` reports its own
            // formatting errors on stderr instead of raising).
            ("logging", "debug" | "info" | "warning" | "error" | "critical") => {
                let mut binds = Vec::new();
                for a in &c.arguments.args {
                    if matches!(a, Expr::Starred(_)) {
                        return reject(a, format!("`*` arguments to `logging.{name}`"));
                    }
                    let v = self.expr(a)?.obj();
                    binds.push(quote!(let _ = #v;));
                }
                for k in &c.arguments.keywords {
                    if !k.arg.as_ref().is_some_and(|a| {
                        matches!(a.id.as_str(), "exc_info" | "stack_info" | "stacklevel" | "extra")
                    }) {
                        return reject(k, format!("this keyword argument to `logging.{name}`"));
                    }
                    let v = self.expr(&k.value)?.obj();
                    binds.push(quote!(let _ = #v;));
                }
                Ok(Code::Obj(quote!({ #(#binds)* Obj::None })))
            }
            _ => reject(c, format!("`{module}.{name}`")),
        }
    }
}

impl FnCx<'_> {
    /// The caching helper a call names (as its rule module binds it), and whether the rule's
    /// tests mock that name.
    fn kv_function(&self, c: &ast::ExprCall) -> Option<(String, Option<String>)> {
        let Expr::Name(n) = &*c.func else { return None };
        let name = n.id.as_str();
        if self.locals.contains_key(name)
            || self.scoped.iter().any(|s| s == name)
            || self.nested.contains_key(name)
        {
            return None;
        }
        match self.resolve(self.module, name, n) {
            Ok(Resolved::Std(m, f)) if m == KV_MODULE => {
                Some((f, self.module.mocked.contains(name).then(|| name.to_string())))
            }
            _ => None,
        }
    }

    /// A call of a caching helper of `panther_detection_helpers.caching` (the runtime's
    /// `py::kv`, over the engine's key-value store). The arguments are evaluated in source
    /// order and bound to the helper's parameters; under a test case's `Mocks:` of the name
    /// (`mocked`), the mock's value is the result once the arguments are evaluated, as
    /// `MagicMock` does. `discarded`: the call is a statement, so a helper whose result is a
    /// `decimal.Decimal` may be called.
    fn kv_call(&mut self, c: &ast::ExprCall, name: &str, mocked: Option<&str>, discarded: bool) -> T<Code> {
        let Some(&(_, params, decimal)) = KV_FUNCTIONS.iter().find(|f| f.0 == name) else {
            return reject(c, format!("`{KV_MODULE}.{name}`"));
        };
        if decimal && !discarded {
            return reject(
                c,
                format!(
                    "the value of `{name}` (a `decimal.Decimal` in Panther, which compiled rules do not model)"
                ),
            );
        }
        let mut binds = Vec::new();
        let mut slots: Vec<Option<Ident>> = vec![None; params.len()];
        for (i, a) in c.arguments.args.iter().enumerate() {
            if matches!(a, Expr::Starred(_)) {
                return reject(a, format!("`*` arguments to `{name}`"));
            }
            if i >= params.len() {
                return reject(a, format!("too many arguments to `{name}`"));
            }
            let v = self.expr(a)?.obj();
            let id = self.fresh("arg");
            binds.push(quote!(let #id = #v;));
            slots[i] = Some(id);
        }
        for k in &c.arguments.keywords {
            let Some(arg) = &k.arg else { return reject(k, format!("`**` arguments to `{name}`")) };
            let Some(i) = params.iter().position(|(p, _)| *p == arg.id.as_str()) else {
                return reject(k, format!("the keyword argument `{}` of `{name}`", arg.id));
            };
            if slots[i].is_some() {
                return reject(k, format!("`{}` given twice to `{name}`", arg.id));
            }
            let v = self.expr(&k.value)?.obj();
            let id = self.fresh("arg");
            binds.push(quote!(let #id = #v;));
            slots[i] = Some(id);
        }
        let mut args = Vec::new();
        for (slot, (p, default)) in slots.iter().zip(params.iter()) {
            args.push(match (slot, default) {
                (Some(id), _) => quote!(&#id),
                (None, Some(KvDefault::False)) => quote!(&Obj::Bool(false)),
                (None, Some(KvDefault::None)) => quote!(&Obj::None),
                (None, Some(KvDefault::Int(i))) => {
                    let i = Literal::i64_unsuffixed(*i);
                    quote!(&Obj::Int(#i))
                }
                (None, None) => return reject(c, format!("missing argument `{p}` of `{name}`")),
            });
        }
        let f = format_ident!("{}", name);
        let call = if decimal {
            quote!({ py::kv::#f(#(#args),*)?; Obj::None })
        } else {
            quote!(py::kv::#f(#(#args),*)?)
        };
        let call = match mocked {
            Some(m) => quote!(match py::mocked(#m) { Some(value) => value, None => #call }),
            None => call,
        };
        Ok(Code::Obj(quote!({ #(#binds)* #call })))
    }
}

/// The module of Panther's key-value store helpers.
const KV_MODULE: &str = "panther_detection_helpers.caching";

/// A default value of a caching helper's parameter.
enum KvDefault {
    False,
    None,
    Int(i64),
}

/// Ninety days in seconds: the helpers' default TTL (`_EPOCH_SECONDS_DELTA_DEFAULT`).
const KV_TTL: i64 = 90 * 24 * 60 * 60;

/// The caching helpers compiled rules may call (`panther_detection_helpers` 1.0.2): their
/// parameters with defaults (`None`: required), and whether Panther returns a
/// `decimal.Decimal` (such a call may only be a statement). `kv_table` and `ttl_expired` are
/// DynamoDB's own objects and stay rejected.
#[allow(clippy::type_complexity)]
const KV_FUNCTIONS: &[(&str, &[(&str, Option<KvDefault>)], bool)] = &[
    ("get_string_set", &[("key", None), ("force_ttl_check", Some(KvDefault::False))], false),
    ("put_string_set", &[("key", None), ("val", None), ("epoch_seconds", Some(KvDefault::None))], false),
    (
        "add_to_string_set",
        &[("key", None), ("val", None), ("epoch_seconds", Some(KvDefault::Int(KV_TTL)))],
        false,
    ),
    (
        "remove_from_string_set",
        &[("key", None), ("val", None), ("epoch_seconds", Some(KvDefault::Int(KV_TTL)))],
        false,
    ),
    ("reset_string_set", &[("key", None)], false),
    ("get_dictionary", &[("key", None), ("force_ttl_check", Some(KvDefault::False))], false),
    ("put_dictionary", &[("key", None), ("val", None), ("epoch_seconds", Some(KvDefault::None))], false),
    (
        "increment_counter",
        &[("key", None), ("val", Some(KvDefault::Int(1))), ("epoch_seconds", Some(KvDefault::Int(KV_TTL)))],
        true,
    ),
    ("get_counter", &[("key", None), ("force_ttl_check", Some(KvDefault::False))], true),
    ("reset_counter", &[("key", None)], false),
    ("set_key_expiration", &[("key", None), ("epoch_seconds", None)], false),
    (
        "evaluate_threshold",
        &[
            ("key", None),
            ("threshold", Some(KvDefault::Int(10))),
            ("expiry_seconds", Some(KvDefault::Int(3600))),
        ],
        false,
    ),
    ("check_account_age", &[("key", None)], false),
];

/// The attributes of `policyuniverse`'s `Policy`, `Statement` and `Condition` that compile.
const POLICYUNIVERSE_ATTRIBUTES: &[&str] = &[
    "policy",
    "statements",
    "statement",
    "condition_entries",
    "principals",
    "actions",
    "effect",
    "category",
    "value",
];

/// The methods of `policyuniverse`'s objects that compile (the runtime's port).
const POLICYUNIVERSE_METHODS: &[&str] =
    &["is_internet_accessible", "is_condition_internet_accessible", "uses_not_principal"];

/// Whether `module` imports from `policyuniverse`.
fn imports_policyuniverse(module: &PyModule) -> bool {
    module.imports.values().any(|i| match i {
        Import::Module(m) | Import::Item { module: m, .. } => {
            m == "policyuniverse" || m.starts_with("policyuniverse.")
        }
    })
}

/// Whether compiled code gives a built-in type the method `name` (a class may not define one).
fn is_builtin_method(name: &str) -> bool {
    matches!(name, "udm" | "deep_get" | "deep_walk" | "format") || METHODS.iter().any(|(m, _)| *m == name)
}

/// Python methods compiled rules may call, with their parameter names (for keyword arguments).
const METHODS: &[(&str, &[&str])] = &[
    ("get", &["key", "default"]),
    ("subnet_of", &["other"]),
    ("supernet_of", &["other"]),
    ("keys", &[]),
    ("values", &[]),
    ("items", &[]),
    ("setdefault", &["key", "default"]),
    ("update", &["other"]),
    ("pop", &["key", "default"]),
    ("copy", &[]),
    ("to_dict", &[]),
    ("as_list", &[]),
    ("lower", &[]),
    ("upper", &[]),
    ("casefold", &[]),
    ("strip", &["chars"]),
    ("lstrip", &["chars"]),
    ("rstrip", &["chars"]),
    ("startswith", &["prefix"]),
    ("endswith", &["suffix"]),
    ("split", &["sep", "maxsplit"]),
    ("rsplit", &["sep", "maxsplit"]),
    ("splitlines", &[]),
    ("join", &["iterable"]),
    ("replace", &["old", "new", "count"]),
    ("find", &["sub"]),
    ("rfind", &["sub"]),
    ("index", &["value"]),
    ("count", &["value"]),
    ("isdigit", &[]),
    ("isnumeric", &[]),
    ("isdecimal", &[]),
    ("isalpha", &[]),
    ("isalnum", &[]),
    ("isspace", &[]),
    ("islower", &[]),
    ("isupper", &[]),
    ("title", &[]),
    ("capitalize", &[]),
    ("swapcase", &[]),
    ("partition", &["sep"]),
    ("rpartition", &["sep"]),
    ("removeprefix", &["prefix"]),
    ("removesuffix", &["suffix"]),
    ("zfill", &["width"]),
    ("append", &["object"]),
    ("extend", &["iterable"]),
    ("insert", &["index", "object"]),
    ("remove", &["value"]),
    ("reverse", &[]),
    ("sort", &["key", "reverse"]),
    ("add", &["elem"]),
    ("discard", &["elem"]),
    ("union", &["other"]),
    ("intersection", &["other"]),
    ("difference", &["other"]),
    ("issubset", &["other"]),
    ("issuperset", &["other"]),
    ("isdisjoint", &["other"]),
    ("group", &["group"]),
    ("groups", &[]),
    ("groupdict", &[]),
    ("match", &["string"]),
    ("search", &["string"]),
    ("fullmatch", &["string"]),
    ("findall", &["string"]),
    ("timestamp", &[]),
    ("isoformat", &[]),
    ("strftime", &["format"]),
    ("total_seconds", &[]),
    ("isprintable", &[]),
    ("isascii", &[]),
    ("ljust", &["width", "fillchar"]),
    ("encode", &["encoding", "errors"]),
    ("decode", &["encoding", "errors"]),
];

/// The `py::meth` function of a method (Rust keywords and clashes get a suffix).
fn method_fn(method: &str) -> Ident {
    match method {
        "items" => format_ident!("items_of"),
        "match" => format_ident!("match_"),
        other => format_ident!("{}", other),
    }
}

enum Resolved {
    Function(String, String),
    Constant(String, String),
    Module(String),
    Builtin(String),
    /// A name imported from a module outside the program (the standard library).
    Std(String, String),
    /// A class of the program: its module and name.
    Class(String, String),
}

/// A positional argument of a call whose arguments are evaluated first.
enum Arg {
    One(Ident),
    /// `*xs`: the items (a `Vec`).
    Star(Ident),
    /// An expression given as it is (the object of a method).
    Tokens(TokenStream),
}

enum Collect<'a> {
    List(&'a Expr),
    Set(&'a Expr),
    Dict(&'a Expr, &'a Expr),
}

fn syn_label(found: &Ident) -> TokenStream {
    format!("'{found}").parse().expect("a lifetime")
}

fn compare_op(op: CmpOp, l: TokenStream, r: TokenStream) -> TokenStream {
    match op {
        CmpOp::Eq => quote!(py::eq(#l, #r)),
        CmpOp::NotEq => quote!(py::ne(#l, #r)),
        CmpOp::Lt => quote!(py::lt(#l, #r)?),
        CmpOp::LtE => quote!(py::le(#l, #r)?),
        CmpOp::Gt => quote!(py::gt(#l, #r)?),
        CmpOp::GtE => quote!(py::ge(#l, #r)?),
        CmpOp::Is => quote!(py::is(#l, #r)),
        CmpOp::IsNot => quote!(!py::is(#l, #r)),
        CmpOp::In => quote!(py::contains(#r, #l)?),
        CmpOp::NotIn => quote!(!py::contains(#r, #l)?),
    }
}

/// A Rust expression as an operand: parenthesised unless it is a single call, path or literal.
fn paren(e: TokenStream) -> TokenStream {
    let trees: Vec<proc_macro2::TokenTree> = e.clone().into_iter().collect();
    let atomic = match trees.as_slice() {
        [proc_macro2::TokenTree::Group(_)]
        | [proc_macro2::TokenTree::Literal(_)]
        | [proc_macro2::TokenTree::Ident(_)] => true,
        // `path::to::f(args)` and `f(args)?`: identifiers and `::`, then one parenthesised group.
        _ => {
            let mut rest = trees.as_slice();
            if let [.., proc_macro2::TokenTree::Punct(q)] = rest
                && q.as_char() == '?'
            {
                rest = &rest[..rest.len() - 1];
            }
            matches!(rest.last(), Some(proc_macro2::TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis)
                && rest[..rest.len() - 1].iter().all(|t| match t {
                    proc_macro2::TokenTree::Ident(_) => true,
                    proc_macro2::TokenTree::Punct(p) => p.as_char() == ':',
                    _ => false,
                })
        }
    };
    if atomic { e } else { quote!((#e)) }
}

/// `…; return Ok(v);` as `…; Ok(v)`.
fn tail_expression(body: TokenStream) -> TokenStream {
    let tokens: Vec<proc_macro2::TokenTree> = body.clone().into_iter().collect();
    let n = tokens.len();
    // The last statement is `return Ok (…) ;`: four trees.
    if n >= 4
        && matches!(&tokens[n - 4], proc_macro2::TokenTree::Ident(i) if i == "return")
        && matches!(&tokens[n - 3], proc_macro2::TokenTree::Ident(i) if i == "Ok")
        && matches!(&tokens[n - 2], proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Parenthesis)
        && matches!(&tokens[n - 1], proc_macro2::TokenTree::Punct(p) if p.as_char() == ';')
    {
        let head: TokenStream = tokens[..n - 4].iter().cloned().collect();
        let ok = &tokens[n - 3];
        let value = &tokens[n - 2];
        return quote!(#head #ok #value);
    }
    body
}

fn is_print(c: &ast::ExprCall) -> bool {
    matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "print")
}

fn exception_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "ValueError" => "ValueError",
        "TypeError" => "TypeError",
        "KeyError" => "KeyError",
        "Exception" => "Exception",
        "RuntimeError" => "RuntimeError",
        "NotImplementedError" => "NotImplementedError",
        _ => return None,
    })
}

fn fn_ident(name: &str) -> Ident {
    if is_rust_keyword(name) { format_ident!("{}_", name) } else { format_ident!("{}", name) }
}

fn local_ident(name: &str) -> Ident {
    if is_rust_keyword(name) || name == "py" || name == "Obj" || name == "R" {
        format_ident!("{}_", name)
    } else {
        format_ident!("{}", name)
    }
}

fn is_rust_keyword(name: &str) -> bool {
    matches!(
        name,
        "as" | "break"
            | "const"
            | "continue"
            | "crate"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
            | "union"
            | "_"
    )
}

fn docstring(body: &[Stmt]) -> Option<String> {
    match body.first() {
        Some(Stmt::Expr(e)) => match &*e.value {
            Expr::StringLiteral(s) => Some(s.value.to_str().trim().to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn ends_in_return(body: &[Stmt]) -> bool {
    match body.last() {
        Some(Stmt::Return(_) | Stmt::Raise(_)) => true,
        Some(Stmt::If(s)) => {
            ends_in_return(&s.body)
                && s.elif_else_clauses.iter().any(|c| c.test.is_none())
                && s.elif_else_clauses.iter().all(|c| ends_in_return(&c.body))
        }
        _ => false,
    }
}

fn contains_break(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Break(_) => true,
        Stmt::If(i) => contains_break(&i.body) || i.elif_else_clauses.iter().any(|c| contains_break(&c.body)),
        Stmt::Try(t) => contains_break(&t.body),
        _ => false,
    })
}

/// How many times each name is a target of assignment (any statement or expression).
fn count_assignments(body: &[Stmt], out: &mut BTreeMap<String, usize>) {
    use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
    struct V<'a>(&'a mut BTreeMap<String, usize>);
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            let mut names = Vec::new();
            match s {
                Stmt::Assign(a) => a.targets.iter().for_each(|t| target_names(t, &mut names)),
                Stmt::AugAssign(a) => target_names(&a.target, &mut names),
                Stmt::AnnAssign(a) => target_names(&a.target, &mut names),
                Stmt::For(f) => {
                    target_names(&f.target, &mut names);
                    names.push(f.target.as_name_expr().map(|n| n.id.to_string()).unwrap_or_default());
                }
                _ => {}
            }
            for n in names {
                *self.0.entry(n).or_default() += 1;
            }
            walk_stmt(self, s);
        }
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Named(n) = e
                && let Expr::Name(t) = &*n.target
            {
                *self.0.entry(t.id.to_string()).or_default() += 2;
            }
            walk_expr(self, e);
        }
    }
    let mut v = V(out);
    for s in body {
        v.visit_stmt(s);
    }
}

/// The locals assigned a string literal by `name = "…"` (anywhere in the body).
fn literal_assignments(body: &[Stmt]) -> BTreeMap<String, ast::ExprStringLiteral> {
    use ruff_python_ast::statement_visitor::{StatementVisitor, walk_stmt};
    struct V(BTreeMap<String, ast::ExprStringLiteral>);
    impl<'a> StatementVisitor<'a> for V {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            match s {
                Stmt::Assign(a) => {
                    if let ([Expr::Name(n)], Expr::StringLiteral(l)) = (&a.targets[..], &*a.value) {
                        self.0.insert(n.id.to_string(), l.clone());
                    }
                }
                // A nested function's assignments are its own.
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
                _ => {}
            }
            walk_stmt(self, s);
        }
    }
    let mut v = V(BTreeMap::new());
    v.visit_body(body);
    v.0
}

/// A vector of items in order, each one item or (`true`) an iterator spliced in (`*x`):
/// `vec![a, b]` unless something is spliced, then pushed and extended one by one.
fn vec_of(parts: Vec<(bool, TokenStream)>) -> TokenStream {
    if parts.is_empty() {
        quote!(Vec::new())
    } else if parts.iter().all(|(spliced, _)| !spliced) {
        let items = parts.into_iter().map(|(_, t)| t);
        quote!(vec![#(#items),*])
    } else if let [(true, t)] = &parts[..] {
        quote!(Vec::from_iter(#t))
    } else {
        let steps = parts
            .into_iter()
            .map(|(spliced, t)| if spliced { quote!(items.extend(#t);) } else { quote!(items.push(#t);) });
        quote!({ let mut items = Vec::new(); #(#steps)* items })
    }
}

/// Whether a statement assigns the name (anywhere in it).
fn stmt_assigns(s: &Stmt, name: &str) -> bool {
    let mut assigned = BTreeSet::new();
    find_assigned(std::slice::from_ref(s), &mut assigned);
    assigned.contains(name)
}

/// Whether the body of a `for` loop binding `name` assigns it again (a `for mut` binding).
fn assigned_in_loop(body: &[Stmt], name: &str) -> bool {
    use ruff_python_ast::statement_visitor::{StatementVisitor, walk_stmt};
    struct V<'n>(&'n str, bool);
    impl<'a> StatementVisitor<'a> for V<'_> {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            if let Stmt::For(f) = s
                && binds_name(&f.target, self.0)
            {
                self.1 |= f.body.iter().any(|b| stmt_assigns(b, self.0));
            }
            walk_stmt(self, s);
        }
    }
    let mut v = V(name, false);
    v.visit_body(body);
    v.1
}

/// Whether a `for` target binds the name, as itself or as an item of a tuple or list.
fn binds_name(target: &Expr, name: &str) -> bool {
    let mut names = Vec::new();
    target_names(target, &mut names);
    names.iter().any(|n| n == name)
}

/// Whether the local `name` is bound only by `for` loops and mentioned only in their bodies, so
/// that the value Python leaves bound after a loop is never observed and the Rust loop variable
/// can be the local itself. Not when a loop's iterable or `else` mentions it, a loop inside
/// such a body binds it again, a nested function, class or lambda mentions it (it would read
/// the binding later), or a target binds it other than as a name or an item of a flat tuple.
fn loop_only(body: &[Stmt], name: &str) -> bool {
    use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
    struct V<'n> {
        name: &'n str,
        /// The loops binding the name around the current node.
        depth: usize,
        /// Nested functions, classes and lambdas around the current node.
        scopes: usize,
        loops: usize,
        outside: bool,
    }
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            match s {
                Stmt::For(f) if binds_name(&f.target, self.name) => {
                    let flat = match &*f.target {
                        Expr::Name(_) => true,
                        Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                            elts.iter().all(|e| !binds_name(e, self.name) || matches!(e, Expr::Name(_)))
                                && !elts.iter().any(|e| matches!(e, Expr::Starred(_)))
                        }
                        _ => false,
                    };
                    if self.depth > 0 || self.scopes > 0 || !flat {
                        self.outside = true;
                        return;
                    }
                    self.loops += 1;
                    self.visit_expr(&f.iter);
                    self.visit_body(&f.orelse);
                    self.depth += 1;
                    self.visit_body(&f.body);
                    self.depth -= 1;
                }
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {
                    self.scopes += 1;
                    walk_stmt(self, s);
                    self.scopes -= 1;
                }
                Stmt::Global(_) | Stmt::Nonlocal(_) | Stmt::Delete(_) => {
                    let mut found = false;
                    for_each_name(std::slice::from_ref(s), &[], &mut |n| found |= n.id.as_str() == self.name);
                    let names = match s {
                        Stmt::Global(g) => g.names.iter().map(|n| n.id.as_str()).collect(),
                        Stmt::Nonlocal(g) => g.names.iter().map(|n| n.id.as_str()).collect(),
                        _ => Vec::new(),
                    };
                    self.outside |= found || names.contains(&self.name);
                    walk_stmt(self, s);
                }
                _ => walk_stmt(self, s),
            }
        }
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                Expr::Name(n) if n.id.as_str() == self.name => {
                    self.outside |= self.depth == 0 || self.scopes > 0;
                }
                Expr::Lambda(_) => {
                    self.scopes += 1;
                    walk_expr(self, e);
                    self.scopes -= 1;
                }
                _ => walk_expr(self, e),
            }
        }
    }
    let mut v = V { name, depth: 0, scopes: 0, loops: 0, outside: false };
    v.visit_body(body);
    v.loops > 0 && !v.outside
}

/// Where to declare a local that a nested block (of an `if`, a loop, …) holds every mention of:
/// the range of the target of that block's first statement mentioning it, when that statement
/// is `name = value` (whose value does not read it). Each run of the block then assigns it
/// before any read, so no value from an earlier run (or from before the block) is observed, and
/// `let` there is exact. Not when a nested function, class or lambda mentions it (it would
/// read the binding later).
fn block_declaration(body: &[Stmt], name: &str) -> Option<ruff_text_size::TextRange> {
    fn blocks<'a>(body: &'a [Stmt], out: &mut Vec<&'a [Stmt]>) {
        let push = |b: &'a [Stmt], out: &mut Vec<&'a [Stmt]>| {
            out.push(b);
            blocks(b, out);
        };
        for s in body {
            match s {
                Stmt::If(i) => {
                    push(&i.body, out);
                    i.elif_else_clauses.iter().for_each(|c| push(&c.body, out));
                }
                Stmt::For(f) => {
                    push(&f.body, out);
                    push(&f.orelse, out);
                }
                Stmt::While(w) => {
                    push(&w.body, out);
                    push(&w.orelse, out);
                }
                Stmt::Try(t) => {
                    push(&t.body, out);
                    for h in &t.handlers {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        push(&h.body, out);
                    }
                    push(&t.orelse, out);
                    push(&t.finalbody, out);
                }
                _ => {}
            }
        }
    }
    let count = |stmts: &[Stmt], exprs: &[&Expr]| {
        let mut n = 0;
        for_each_name(stmts, exprs, &mut |e| n += usize::from(e.id.as_str() == name));
        n
    };
    let total = count(body, &[]);
    if total == 0 || mentioned_in_scope(body, name) {
        return None;
    }
    let mut all = Vec::new();
    blocks(body, &mut all);
    // Blocks holding every mention nest; in pre-order, the innermost comes last.
    let block = all.into_iter().filter(|b| count(b, &[]) == total).last()?;
    match block.iter().find(|s| stmt_mentions(s, name))? {
        Stmt::Assign(a)
            if a.targets.len() == 1
                && matches!(&a.targets[0], Expr::Name(n) if n.id.as_str() == name)
                && count(&[], &[&a.value]) == 0 =>
        {
            Some(a.targets[0].range())
        }
        _ => None,
    }
}

/// Whether a function, class or lambda defined in `body` mentions the name.
fn mentioned_in_scope(body: &[Stmt], name: &str) -> bool {
    use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
    struct V<'n>(&'n str, usize, bool);
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            let scope = matches!(s, Stmt::FunctionDef(_) | Stmt::ClassDef(_));
            self.1 += usize::from(scope);
            walk_stmt(self, s);
            self.1 -= usize::from(scope);
        }
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                Expr::Name(n) if n.id.as_str() == self.0 => self.2 |= self.1 > 0,
                Expr::Lambda(_) => {
                    self.1 += 1;
                    walk_expr(self, e);
                    self.1 -= 1;
                }
                _ => walk_expr(self, e),
            }
        }
    }
    let mut v = V(name, 0, false);
    v.visit_body(body);
    v.2
}

/// Whether a statement mentions the name at all.
fn stmt_mentions(s: &Stmt, name: &str) -> bool {
    let mut assigned = BTreeSet::new();
    find_assigned(std::slice::from_ref(s), &mut assigned);
    assigned.contains(name) || stmt_reads(s, name)
}

/// Names bound by assignment expressions (`if (x := …):`), which bind in the function's scope.
fn walrus_targets(body: &[Stmt], out: &mut BTreeSet<String>) {
    use ruff_python_ast::visitor::{Visitor, walk_expr};
    struct V<'a>(&'a mut BTreeSet<String>);
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Named(n) = e
                && let Expr::Name(t) = &*n.target
            {
                self.0.insert(t.id.to_string());
            }
            walk_expr(self, e);
        }
    }
    let mut v = V(out);
    for s in body {
        v.visit_stmt(s);
    }
}

/// Names assigned inside `try` bodies and handlers (compiled as closures and match arms).
fn assigned_in_try(body: &[Stmt], inside: bool, out: &mut BTreeSet<String>) {
    for s in body {
        match s {
            Stmt::Try(t) => {
                let mut names = BTreeSet::new();
                find_assigned(std::slice::from_ref(s), &mut names);
                out.extend(names);
                assigned_in_try(&t.body, true, out);
            }
            Stmt::If(i) => {
                assigned_in_try(&i.body, inside, out);
                for c in &i.elif_else_clauses {
                    assigned_in_try(&c.body, inside, out);
                }
            }
            Stmt::For(f) => {
                assigned_in_try(&f.body, inside, out);
                assigned_in_try(&f.orelse, inside, out);
            }
            Stmt::While(w) => assigned_in_try(&w.body, inside, out),
            _ => {}
        }
    }
}

fn bound_params_contains(p: &ast::Parameters, name: &str) -> bool {
    p.posonlyargs
        .iter()
        .chain(p.args.iter())
        .chain(p.kwonlyargs.iter())
        .any(|a| a.parameter.name.id.as_str() == name)
        || p.vararg.as_ref().is_some_and(|v| v.name.id.as_str() == name)
}

/// The variables of its enclosing function that the nested function `hoisted` reads: CPython
/// reads them from the enclosing call's cells when the nested function runs. Compiled, each is
/// passed as a leading argument, its value at the call; exact when the variable is bound once,
/// before the `def`, and never again (a parameter never rebound, or one top-level
/// `name = value` statement), so the value at any call is the one the cell holds. Otherwise
/// rejected.
fn captures(program: &Program, module: &PyModule, hoisted: &str) -> T<Vec<String>> {
    let Some(&(outer, Some(j))) = module.functions.get(hoisted) else { return Ok(Vec::new()) };
    let Stmt::FunctionDef(enclosing) = &module.ast.body[outer] else { return Ok(Vec::new()) };
    let f = module.function(hoisted).expect("hoisted functions exist");
    let own = FnCx::new(program, module, f)?.locals;
    let mut enclosing_locals = BTreeSet::new();
    find_assigned(&enclosing.body, &mut enclosing_locals);
    let params: BTreeSet<String> = enclosing.parameters.iter().map(|p| p.name().id.to_string()).collect();
    let mut reads = BTreeSet::new();
    for s in &f.body {
        stmt_names_read(s, &mut reads);
    }
    let mut out = Vec::new();
    for v in reads {
        if own.contains_key(&v) || !(enclosing_locals.contains(&v) || params.contains(&v)) {
            continue;
        }
        let bound_at: Vec<usize> =
            enclosing.body.iter().enumerate().filter(|(_, s)| may_bind(s, &v)).map(|(k, _)| k).collect();
        let once_before = match bound_at[..] {
            [] => params.contains(&v),
            [k] => {
                !params.contains(&v)
                    && k < j
                    && matches!(&enclosing.body[k], Stmt::Assign(a)
                        if matches!(&a.targets[..], [Expr::Name(n)] if n.id.as_str() == v))
            }
            _ => false,
        };
        if !once_before {
            return reject(
                f,
                format!(
                    "a function defined inside a function that reads its variable `{v}`, which is not bound once before the `def`"
                ),
            );
        }
        out.push(v);
    }
    Ok(out)
}

/// Whether a statement may bind `name` in the function whose body holds it (conservatively:
/// also in functions and comprehensions inside it, and in any `match`).
fn may_bind(s: &Stmt, name: &str) -> bool {
    use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
    struct V<'n> {
        name: &'n str,
        found: bool,
    }
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            let named = |id: &str| id == self.name;
            self.found |= match s {
                Stmt::FunctionDef(f) => named(f.name.id.as_str()),
                Stmt::ClassDef(c) => named(c.name.id.as_str()),
                Stmt::Import(i) => i.names.iter().any(|a| {
                    named(
                        a.asname
                            .as_ref()
                            .map_or(a.name.id.split('.').next().unwrap_or_default(), |n| n.id.as_str()),
                    )
                }),
                Stmt::ImportFrom(i) => i
                    .names
                    .iter()
                    .any(|a| named(a.asname.as_ref().map_or(a.name.id.as_str(), |n| n.id.as_str()))),
                Stmt::Global(g) => g.names.iter().any(|n| named(n.id.as_str())),
                Stmt::Nonlocal(g) => g.names.iter().any(|n| named(n.id.as_str())),
                Stmt::Try(t) => t.handlers.iter().any(|h| {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    h.name.as_ref().is_some_and(|n| named(n.id.as_str()))
                }),
                Stmt::Match(_) => true,
                _ => false,
            };
            walk_stmt(self, s);
        }
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Name(n) = e
                && !n.ctx.is_load()
                && n.id.as_str() == self.name
            {
                self.found = true;
            }
            walk_expr(self, e);
        }
    }
    let mut v = V { name, found: false };
    v.visit_stmt(s);
    v.found
}

/// Whether a statement reads the name `name`.
fn stmt_reads(s: &Stmt, name: &str) -> bool {
    let mut found = false;
    for_each_name(std::slice::from_ref(s), &[], &mut |n| found |= n.id.as_str() == name);
    found
}

/// A use of module state the runtime cannot keep exactly, with where it is: a list, dict or set
/// assigned to it (module state keeps immutable values only), or a change of it in place.
fn state_misuse(
    body: &[Stmt],
    state: &BTreeSet<String>,
    globals: &BTreeSet<String>,
    is_class: &dyn Fn(&str) -> bool,
    container_state: &dyn Fn(&str) -> bool,
    kept_copy: &dyn Fn(&str, &Expr) -> Result<(), Option<(Span, state::Escape)>>,
) -> Option<(Span, String)> {
    use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
    /// `isinstance(X, MagicMock)`: the name `X`. Under it, `X` holds a test's MagicMock, so an
    /// assignment to `X` there only ever runs inside a test case that mocks `X`, whose value
    /// the runtime keeps exactly for the rest of the case (`py::store_mocked`).
    fn mock_test(e: &Expr) -> Option<&str> {
        let Expr::Call(c) = e else { return None };
        let (Expr::Name(f), [Expr::Name(x), ty]) = (&*c.func, &c.arguments.args[..]) else { return None };
        let is_mock = match ty {
            Expr::Name(t) => t.id.as_str() == "MagicMock",
            Expr::Attribute(a) => a.attr.id.as_str() == "MagicMock",
            _ => false,
        };
        (f.id.as_str() == "isinstance" && is_mock && c.arguments.keywords.is_empty()).then(|| x.id.as_str())
    }
    struct V<'a> {
        state: &'a BTreeSet<String>,
        globals: &'a BTreeSet<String>,
        /// The names tested by the enclosing `if isinstance(X, MagicMock):` blocks.
        mock_guarded: Vec<String>,
        is_class: &'a dyn Fn(&str) -> bool,
        container_state: &'a dyn Fn(&str) -> bool,
        kept_copy: &'a dyn Fn(&str, &Expr) -> Result<(), Option<(Span, state::Escape)>>,
        found: Option<(Span, String)>,
    }
    impl V<'_> {
        fn named(&self, e: &Expr) -> Option<String> {
            match e {
                Expr::Name(n) if self.state.contains(n.id.as_str()) => Some(n.id.to_string()),
                Expr::Subscript(s) => self.named(&s.value),
                _ => None,
            }
        }
        /// What makes a value assigned to module state `target` mutable, when it is: a list,
        /// dict or set built there, an object of a class, or a set operation on a variable
        /// whose module-level value is a container (`x = set()`).
        fn mutable(&self, e: &Expr, target: &str) -> Option<&'static str> {
            match e {
                _ if container_display(e) => Some("a list, dict or set"),
                Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if (self.is_class)(n.id.as_str())) => {
                    Some("an object of a class")
                }
                Expr::BinOp(b)
                    if matches!(
                        b.op,
                        Operator::BitOr | Operator::BitAnd | Operator::Sub | Operator::BitXor
                    ) && (self.container_state)(target) =>
                {
                    Some("a set operation's result")
                }
                _ => None,
            }
        }
    }
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            if self.found.is_some() {
                return;
            }
            let targets: Vec<&Expr> = match s {
                Stmt::Assign(a) => a.targets.iter().collect(),
                Stmt::AugAssign(a) => vec![&*a.target],
                Stmt::Delete(d) => d.targets.iter().collect(),
                _ => Vec::new(),
            };
            for t in targets {
                if let Expr::Subscript(sub) = t
                    && let Some(name) = self.named(&sub.value)
                {
                    self.found = Some((span(t), format!("changing module state `{name}` in place")));
                    return;
                }
            }
            if let Stmt::If(i) = s
                && let Some(x) = mock_test(&i.test)
            {
                self.visit_expr(&i.test);
                self.mock_guarded.push(x.to_string());
                self.visit_body(&i.body);
                self.mock_guarded.pop();
                for clause in &i.elif_else_clauses {
                    if let Some(t) = &clause.test {
                        self.visit_expr(t);
                    }
                    self.visit_body(&clause.body);
                }
                return;
            }
            if let Stmt::Assign(a) = s {
                for t in &a.targets {
                    if let Expr::Name(n) = t
                        && self.globals.contains(n.id.as_str())
                        && !self.mock_guarded.iter().any(|g| g == n.id.as_str())
                        && let Some(what) = self.mutable(&a.value, n.id.as_str())
                    {
                        let kept = if a.targets.len() == 1 {
                            (self.kept_copy)(n.id.as_str(), &a.value)
                        } else {
                            Err(None)
                        };
                        match kept {
                            Ok(()) => continue,
                            Err(Some((read, state::Escape::Changed))) => {
                                self.found =
                                    Some((read, format!("changing module state `{}` in place", n.id)));
                                return;
                            }
                            Err(Some((read, state::Escape::Kept))) => {
                                self.found = Some((
                                    read,
                                    format!(
                                        "module state `{x}` read where the list, dict or set it holds may be kept or compared by identity (compiled rules keep one there only when every read inspects or copies it, as `len({x})`, `list({x})`, `v in {x}` or a loop over it do)",
                                        x = n.id
                                    ),
                                ));
                                return;
                            }
                            Err(None) => {}
                        }
                        self.found = Some((
                            span(&*a.value),
                            format!(
                                "{what} assigned to module state `{}` (compiled rules keep immutable values there)",
                                n.id
                            ),
                        ));
                        return;
                    }
                }
            }
            walk_stmt(self, s);
        }
        fn visit_expr(&mut self, e: &'a Expr) {
            if self.found.is_some() {
                return;
            }
            if let Expr::Call(c) = e
                && let Expr::Attribute(a) = &*c.func
                && state::MUTATORS.contains(&a.attr.id.as_str())
                && let Some(name) = self.named(&a.value)
            {
                self.found = Some((span(e), format!("changing module state `{name}` in place")));
                return;
            }
            walk_expr(self, e);
        }
    }
    let mut v =
        V { state, globals, mock_guarded: Vec::new(), is_class, container_state, kept_copy, found: None };
    v.visit_body(body);
    v.found
}

/// A list, dict or set built by the expression itself (a display, a comprehension,
/// `list()`/`dict()`/`set()`, `json.loads`, or a binary operation on one).
fn container_display(e: &Expr) -> bool {
    match e {
        Expr::List(_)
        | Expr::Dict(_)
        | Expr::Set(_)
        | Expr::ListComp(_)
        | Expr::DictComp(_)
        | Expr::SetComp(_) => true,
        Expr::Call(c) => match &*c.func {
            Expr::Name(n) => matches!(n.id.as_str(), "list" | "dict" | "set"),
            Expr::Attribute(a) => a.attr.id.as_str() == "loads",
            _ => false,
        },
        Expr::BinOp(b) => container_display(&b.left) || container_display(&b.right),
        _ => false,
    }
}

/// The names a function's `global` statements declare (anywhere in its body, outside the
/// functions defined in it).
fn find_globals(body: &[Stmt]) -> BTreeSet<String> {
    let mut v = Vec::new();
    let own: Vec<Stmt> = body.iter().filter(|s| !matches!(s, Stmt::FunctionDef(_))).cloned().collect();
    super::modules::collect_globals(&own, &mut v);
    v.into_iter().collect()
}

/// The names a target binds.
fn target_names(target: &Expr, out: &mut Vec<String>) {
    match target {
        Expr::Name(n) => out.push(n.id.to_string()),
        Expr::Tuple(t) => t.elts.iter().for_each(|e| target_names(e, out)),
        Expr::List(t) => t.elts.iter().for_each(|e| target_names(e, out)),
        Expr::Starred(s) => target_names(&s.value, out),
        _ => {}
    }
}

/// Every name a function body binds (its locals).
fn find_assigned(body: &[Stmt], out: &mut BTreeSet<String>) {
    for s in body {
        let mut names = Vec::new();
        match s {
            Stmt::Assign(a) => a.targets.iter().for_each(|t| target_names(t, &mut names)),
            Stmt::AnnAssign(a) if a.value.is_some() => target_names(&a.target, &mut names),
            Stmt::AugAssign(a) => target_names(&a.target, &mut names),
            Stmt::For(f) => {
                target_names(&f.target, &mut names);
                find_assigned(&f.body, out);
                find_assigned(&f.orelse, out);
            }
            Stmt::While(w) => {
                find_assigned(&w.body, out);
                find_assigned(&w.orelse, out);
            }
            Stmt::If(i) => {
                find_assigned(&i.body, out);
                for c in &i.elif_else_clauses {
                    find_assigned(&c.body, out);
                }
            }
            Stmt::Try(t) => {
                find_assigned(&t.body, out);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(n) = &h.name {
                        names.push(n.id.to_string());
                    }
                    find_assigned(&h.body, out);
                }
                find_assigned(&t.orelse, out);
                find_assigned(&t.finalbody, out);
            }
            _ => {}
        }
        out.extend(names);
    }
}

/// Definite assignment: walks `body` with the names certainly bound so far (`bound`), and
/// records in `maybe` every local read while not certainly bound.
fn flow(
    body: &[Stmt],
    bound: &mut BTreeSet<String>,
    locals: &BTreeSet<String>,
    maybe: &mut BTreeSet<String>,
) -> bool {
    // Returns whether control can fall off the end of `body`.
    for s in body {
        let reads = |e: &Expr, bound: &BTreeSet<String>, maybe: &mut BTreeSet<String>| {
            let mut names = BTreeSet::new();
            names_read(e, &mut names);
            for n in names {
                if locals.contains(&n) && !bound.contains(&n) {
                    maybe.insert(n);
                }
            }
        };
        match s {
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    reads(v, bound, maybe);
                }
                return false;
            }
            Stmt::Raise(r) => {
                if let Some(v) = &r.exc {
                    reads(v, bound, maybe);
                }
                return false;
            }
            Stmt::Break(_) | Stmt::Continue(_) => return false,
            Stmt::Expr(e) => reads(&e.value, bound, maybe),
            Stmt::Assign(a) => {
                reads(&a.value, bound, maybe);
                for t in &a.targets {
                    if !matches!(t, Expr::Name(_) | Expr::Tuple(_) | Expr::List(_)) {
                        reads(t, bound, maybe);
                    }
                    let mut names = Vec::new();
                    target_names(t, &mut names);
                    bound.extend(names);
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    reads(v, bound, maybe);
                    let mut names = Vec::new();
                    target_names(&a.target, &mut names);
                    bound.extend(names);
                }
            }
            Stmt::AugAssign(a) => {
                reads(&a.value, bound, maybe);
                reads(&a.target, bound, maybe);
            }
            Stmt::Delete(d) => d.targets.iter().for_each(|t| reads(t, bound, maybe)),
            Stmt::If(i) => {
                reads(&i.test, bound, maybe);
                let mut branches = Vec::new();
                let mut b = bound.clone();
                if flow(&i.body, &mut b, locals, maybe) {
                    branches.push(b);
                }
                let mut has_else = false;
                for c in &i.elif_else_clauses {
                    if let Some(t) = &c.test {
                        reads(t, bound, maybe);
                    } else {
                        has_else = true;
                    }
                    let mut b = bound.clone();
                    if flow(&c.body, &mut b, locals, maybe) {
                        branches.push(b);
                    }
                }
                if !has_else {
                    branches.push(bound.clone());
                }
                if branches.is_empty() {
                    return false;
                }
                let mut meet = branches[0].clone();
                for b in &branches[1..] {
                    meet = meet.intersection(b).cloned().collect();
                }
                *bound = meet;
            }
            Stmt::For(f) => {
                reads(&f.iter, bound, maybe);
                let mut b = bound.clone();
                let mut names = Vec::new();
                target_names(&f.target, &mut names);
                b.extend(names);
                flow(&f.body, &mut b, locals, maybe);
                let mut b2 = bound.clone();
                flow(&f.orelse, &mut b2, locals, maybe);
            }
            Stmt::While(w) => {
                reads(&w.test, bound, maybe);
                let mut b = bound.clone();
                flow(&w.body, &mut b, locals, maybe);
            }
            Stmt::Try(t) => {
                let mut b = bound.clone();
                flow(&t.body, &mut b, locals, maybe);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    let mut b = bound.clone();
                    flow(&h.body, &mut b, locals, maybe);
                }
            }
            _ => {}
        }
    }
    true
}

/// Calls `f` on every name expression below `stmts` and `exprs` (loads and stores).
fn for_each_name<'a>(stmts: &'a [Stmt], exprs: &[&'a Expr], f: &mut dyn FnMut(&'a ast::ExprName)) {
    use ruff_python_ast::visitor::{Visitor, walk_expr};
    struct V<'f, 'a>(&'f mut dyn FnMut(&'a ast::ExprName));
    impl<'a> Visitor<'a> for V<'_, 'a> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Name(n) = e {
                (self.0)(n);
            }
            walk_expr(self, e);
        }
    }
    let mut v = V(f);
    for s in stmts {
        v.visit_stmt(s);
    }
    for e in exprs {
        v.visit_expr(e);
    }
}

/// Every name an expression reads (including inside comprehensions and lambdas; names their
/// own targets bind are not excluded: reading them is harmless to the analysis).
fn names_read(e: &Expr, out: &mut BTreeSet<String>) {
    for_each_name(&[], &[e], &mut |n| {
        if n.ctx.is_load() {
            out.insert(n.id.to_string());
        }
    });
}

fn stmt_names_read(s: &Stmt, out: &mut BTreeSet<String>) {
    for_each_name(std::slice::from_ref(s), &[], &mut |n| {
        if n.ctx.is_load() {
            out.insert(n.id.to_string());
        }
    });
}

fn params_used(body: &[Stmt], params: &BTreeSet<String>) -> bool {
    let mut found = false;
    for_each_name(body, &[], &mut |n| found |= params.contains(n.id.as_str()));
    found || params.is_empty()
}

fn find_reassigned_params(body: &[Stmt], params: &BTreeSet<String>, out: &mut BTreeSet<String>) {
    let mut assigned = BTreeSet::new();
    find_assigned(body, &mut assigned);
    out.extend(assigned.into_iter().filter(|n| params.contains(n)));
}
