//! The module generated for one rule: its docs, `RULE` (metadata plus compiled functions), its
//! path constants, `decide`, and the alert outputs the YAML asks for.
//!
//! Must not: emit anything the YAML does not say; a rule without `AlertTitle` gets no `alert_title`
//! function (the runtime supplies Panther's defaults).

use std::collections::BTreeMap;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::expr::{Code, Emitter, Paths, mentions, paths_of, reads};
use super::{doc_lines, doc_safe, str_lit};
use crate::ir::{
    ContextEntry, ContextValue, Data, Expr, Path, Placeholder, Rule, Severity, Skip, Step, Template,
    TemplatePart, TemplateValue,
};

/// The module of one rule; `runtime` is the path of the runtime crate (`::detections_runtime`).
pub(super) fn module(rule: &Rule, runtime: &TokenStream) -> TokenStream {
    let docs = module_docs(rule).into_iter().map(|line| {
        let line = doc_safe(&line);
        quote!(#![doc = #line])
    });
    let reserved =
        rule.python.as_ref().map(|p| [p.constants.clone(), p.state.clone()].concat()).unwrap_or_default();
    let paths = Paths::reserving(all_paths(rule), &reserved).hoisting_sets(all_exprs(rule));
    let emitter = Emitter { paths: &paths, locals: BTreeMap::new() };
    if rule.python.is_some() {
        // A Python rule's `InlineFilters` run compiled, before `rule()` (as Panther runs them
        // in production; `pat test` skips them, and so do the rule's tests).
        // Its lowered conditions (`python::lower`) run there too.
        let filters = (!rule.filters.is_empty() || !rule.detection.is_empty()).then(|| {
            let constants = paths.constants();
            let decide = decide(rule, &emitter);
            let fields = paths.idents().cloned().collect::<Vec<_>>();
            (quote!(#constants #decide), fields, required_idents(rule, &paths))
        });
        return super::python::module(rule, runtime, quote!(#(#docs)*), meta(rule), filters);
    }
    let constants = paths.constants();
    let decide = decide(rule, &emitter);
    let event = format_ident!("event");
    // A parameter the body does not read is `_event`.
    let param = |body: &TokenStream| if mentions(body, &event) { quote!(event) } else { quote!(_event) };
    // A preset's values are compiled once, in the `presets` module (see `presets`).
    let template_values =
        rule.template_values.iter().filter(|v| v.preset.is_none()).map(|v| template_value(rule, v, &emitter));
    let (preset_fields, preset_uses) = super::presets::rule_items(rule);
    // An output that can raise (`!split`, Panther's PantherFlow helper) returns a `Result`; the
    // rule's entry gives Panther's fallback instead: the RuleID as title, the default dedup
    // string, `{"_error": ...}` as context.
    let text_fn = |name: &str, template: &Template, doc: String| {
        let ident = format_ident!("{}", name);
        let rendered = format_call(rule, &template.parts, &paths);
        let (ret, body) = if rendered.raises {
            (quote!(Result<String, String>), rendered.ok_block())
        } else {
            (quote!(String), rendered.block())
        };
        let doc = doc_safe(&doc);
        let event = param(&body);
        quote! {
            #[doc = #doc]
            pub fn #ident<E: Event + ?Sized>(#event: &E) -> #ret {
                #body
            }
        }
    };
    let title = rule
        .title
        .as_ref()
        .map(|t| text_fn("alert_title", t, format!(" `AlertTitle`: {}", code_doc(&t.text))));
    let dedup = rule
        .dedup
        .as_ref()
        .map(|t| text_fn("alert_dedup", t, format!(" `AlertDedup`: {}", code_doc(&t.text))));
    let group_by = (!rule.group_by.is_empty()).then(|| {
        let parts: Vec<TemplatePart> = rule
            .group_by
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                let sep = (i > 0).then(|| TemplatePart::Text(":".into()));
                sep.into_iter().chain([TemplatePart::Field(Placeholder::path(p.clone()))])
            })
            .collect();
        let body = format_call(rule, &parts, &paths).block();
        let doc = doc_safe(&format!(
            " `GroupBy`: the dedup string, {} joined with `:`.",
            rule.group_by.iter().map(|p| format!("`{}`", p.text)).collect::<Vec<_>>().join(", ")
        ));
        quote! {
            #[doc = #doc]
            pub fn group_by<E: Event + ?Sized>(event: &E) -> String {
                #body
            }
        }
    });
    let context_raises = rule.context_can_raise();
    let context = (!rule.context.is_empty()).then(|| {
        let mut lets = Vec::new();
        let entries: Vec<(TokenStream, &ContextEntry)> = rule
            .context
            .iter()
            .map(|e| {
                let value = match &e.value {
                    ContextValue::Path(path) => {
                        let path = paths.ident(path);
                        quote!(event.field(&#path).to_json())
                    }
                    ContextValue::Template(t) => {
                        let rendered = format_call(rule, &t.parts, &paths);
                        let value = rendered.expression();
                        quote!(Json::String(#value))
                    }
                    ContextValue::Choice(p) => {
                        let value = choice(p, &paths);
                        quote!(#value.to_json())
                    }
                    ContextValue::Data(d) => data(d, &paths),
                    ContextValue::PantherflowInvestigation => {
                        lets.push(quote!(let investigation = pantherflow_investigation(event)?;));
                        quote!(investigation)
                    }
                };
                (value, e)
            })
            .collect();
        // The entries up to the first with `Conditions` in one `context([...])`; the rest set
        // their key in turn (Python's `if ...: context[key] = ...`).
        let split = entries.iter().position(|(_, e)| !e.conditions.is_empty()).unwrap_or(entries.len());
        let (first, rest) = entries.split_at(split);
        let first = first.iter().map(|(value, e)| {
            let name = str_lit(&e.name);
            quote!((#name, #value))
        });
        let (stmts, built) = if rest.is_empty() {
            (quote!(), quote!(context([#(#first),*])))
        } else {
            let event = format_ident!("event");
            let sets = rest.iter().map(|(value, e)| {
                let name = str_lit(&e.name);
                let set = quote!(entries.insert(#name.into(), #value););
                if e.conditions.is_empty() {
                    set
                } else {
                    let parts = e.conditions.iter().map(|c| emitter.expr(c, &event, false));
                    let holds = Code::and(parts.collect()).tokens();
                    quote!(if #holds { #set })
                }
            });
            (quote!(let mut entries = context([#(#first),*]); #(#sets)*), quote!(entries))
        };
        let (ret, body, doc) = if context_raises {
            (
                quote!(Result<Context, String>),
                quote!(#(#lets)* #stmts Ok(#built)),
                " `AlertContext`: each key with the value found (`null` when missing); `Err` when\n a value raises, as Panther's helper does.",
            )
        } else {
            (
                quote!(Context),
                quote!(#stmts #built),
                " `AlertContext`: each key with the value found (`null` when missing).",
            )
        };
        let event = param(&body);
        let doc = doc.lines().map(|l| quote!(#[doc = #l]));
        quote! {
            #(#doc)*
            pub fn alert_context<E: Event + ?Sized>(#event: &E) -> #ret {
                #body
            }
        }
    });
    let severity = dynamic_severity(rule, &emitter);
    let function = |present: bool, name: &str| -> TokenStream {
        let ident = format_ident!("{}", name);
        if present { quote!(Some(|event| #ident(event))) } else { quote!(None) }
    };
    let id = str_lit(&rule.id);
    let title_fn = match &rule.title {
        Some(t) if rule.can_raise(t) => {
            quote!(Some(|event| alert_title(event).unwrap_or_else(|_| String::from(#id))))
        }
        title => function(title.is_some(), "alert_title"),
    };
    let group_by_fn = match &rule.dedup {
        Some(t) if rule.can_raise(t) => quote!(Some(|event| alert_dedup(event).unwrap_or_default())),
        Some(_) => function(true, "alert_dedup"),
        None => function(!rule.group_by.is_empty(), "group_by"),
    };
    let context_fn = if context_raises {
        quote!(Some(|event| alert_context(event).unwrap_or_else(raised_context)))
    } else {
        function(!rule.context.is_empty(), "alert_context")
    };
    let severity_fn = function(!rule.dynamic_severities.is_empty(), "dynamic_severity");
    let meta = meta(rule);
    let fields = paths.idents().map(|p| quote!(#p)).chain(preset_fields);
    let required = required_idents(rule, &paths);
    let rule_doc = doc_safe(&format!(" The rule `{}`: its metadata and compiled functions.", rule.id));
    quote! {
        #(#docs)*

        use #runtime::prelude::*;
        #(#preset_uses)*

        #[doc = #rule_doc]
        pub static RULE: Rule = Rule {
            meta: #meta,
            fields: &[#(&#fields),*],
            required: &[#(&#required),*],
            decide: |event| decide(event),
            decide_view: |event| decide(event),
            title: #title_fn,
            group_by: #group_by_fn,
            context: #context_fn,
            severity: #severity_fn,
            python: None,
        };

        #constants
        #decide
        #(#template_values)*
        #title
        #dedup
        #group_by
        #context
        #severity
    }
}

/// The constants of the fields the rule cannot match without (see `crate::required`).
fn required_idents(rule: &Rule, paths: &Paths) -> Vec<Ident> {
    crate::required::required_paths(rule).iter().map(|p| paths.ident(p).clone()).collect()
}

fn all_paths(rule: &Rule) -> Vec<crate::ir::Path> {
    let mut out = Vec::new();
    for step in rule.filters.iter().chain(&rule.detection) {
        paths_of(&step.expr, &mut out);
    }
    for v in rule.template_values.iter().filter(|v| v.preset.is_none()) {
        value_paths(v, &mut out);
    }
    out.extend(rule.title.iter().chain(&rule.dedup).flat_map(template_paths));
    out.extend(rule.group_by.iter().cloned());
    for c in &rule.context {
        match &c.value {
            ContextValue::Path(p) => out.push(p.clone()),
            ContextValue::Template(t) => out.extend(template_paths(t)),
            ContextValue::Choice(p) => out.extend(p.paths.iter().cloned()),
            ContextValue::Data(d) => data_paths(d, &mut out),
            ContextValue::PantherflowInvestigation => {}
        }
        c.conditions.iter().for_each(|e| paths_of(e, &mut out));
    }
    for d in &rule.dynamic_severities {
        d.conditions.iter().for_each(|c| paths_of(c, &mut out));
    }
    out
}

fn template_paths(t: &Template) -> Vec<Path> {
    t.parts
        .iter()
        .filter_map(|p| if let TemplatePart::Field(f) = p { Some(f.paths.clone()) } else { None })
        .flatten()
        .collect()
}

/// The paths a template value reads, in order.
pub(super) fn value_paths(v: &TemplateValue, out: &mut Vec<Path>) {
    for case in &v.cases {
        case.conditions.iter().for_each(|c| paths_of(c, out));
        out.extend(template_paths(&case.template));
    }
}

/// The conditions of a template value's cases.
pub(super) fn value_exprs(v: &TemplateValue) -> impl Iterator<Item = &Expr> {
    v.cases.iter().flat_map(|c| &c.conditions)
}

/// Every condition of the rule (but for the presets' values), in the order of `all_paths`.
fn all_exprs(rule: &Rule) -> Vec<&Expr> {
    let steps = rule.filters.iter().chain(&rule.detection).map(|s| &s.expr);
    let cases = rule.template_values.iter().filter(|v| v.preset.is_none()).flat_map(value_exprs);
    let context = rule.context.iter().flat_map(|c| &c.conditions);
    let severities = rule.dynamic_severities.iter().flat_map(|d| &d.conditions);
    steps.chain(cases).chain(context).chain(severities).collect()
}

fn data_paths(d: &Data, out: &mut Vec<Path>) {
    match d {
        Data::Constant(_) => {}
        Data::Choice(p) => out.extend(p.paths.iter().cloned()),
        Data::List(items) => items.iter().for_each(|i| data_paths(i, out)),
        Data::Map(entries) => entries.iter().for_each(|(_, v)| data_paths(v, out)),
    }
}

/// A `KeyData` value as an expression building its JSON.
fn data(d: &Data, paths: &Paths) -> TokenStream {
    match d {
        Data::Constant(serde_json::Value::Null) => quote!(Json::Null),
        Data::Constant(serde_json::Value::Bool(b)) => quote!(Json::Bool(#b)),
        Data::Constant(serde_json::Value::String(s)) => {
            let s = str_lit(s);
            quote!(Json::from(#s))
        }
        Data::Constant(serde_json::Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => {
                let i = Literal::i64_unsuffixed(i);
                quote!(Json::from(#i))
            }
            (None, Some(f)) => {
                let f = Literal::f64_unsuffixed(f);
                quote!(Json::from(#f))
            }
            _ => unreachable!("YAML numbers are i64 or f64 here"),
        },
        Data::Constant(other) => {
            let text = str_lit(&other.to_string());
            quote!(json_constant(#text))
        }
        Data::Choice(p) => {
            let value = choice(p, paths);
            quote!(#value.to_json())
        }
        Data::List(items) => {
            if items.is_empty() {
                return quote!(Json::Array(Vec::new()));
            }
            let items = items.iter().map(|i| data(i, paths));
            quote!(Json::Array(vec![#(#items),*]))
        }
        Data::Map(entries) => {
            let entries = entries.iter().map(|(k, v)| {
                let k = str_lit(k);
                let v = data(v, paths);
                quote!((#k, #v))
            });
            quote!(Json::Object(context([#(#entries),*])))
        }
    }
}

fn module_docs(rule: &Rule) -> Vec<String> {
    let mut lines = vec![match &rule.display_name {
        Some(name) => format!(" `{}`: {}.", rule.id, quote_doc(name).trim_end_matches('.')),
        None => format!(" `{}`.", rule.id),
    }];
    if let Some(d) = &rule.description {
        lines.push(String::new());
        lines.extend(doc_lines(d));
    }
    let sources = rule.log_types.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
    lines.push(String::new());
    lines.push(format!(
        " Severity {}; {} {sources}.",
        rule.severity.name(),
        if rule.scheduled { "scheduled queries" } else { "log types" }
    ));
    if !rule.create_alert {
        lines.push(" A signal: matches are recorded, no alert is raised.".into());
    }
    if rule.threshold > 1 {
        lines.push(format!(
            " Alerts after {} matches within {} minutes.",
            rule.threshold, rule.dedup_period_minutes
        ));
    }
    if !rule.enabled {
        lines.push(" Disabled: compiled and tested, not run.".into());
    }
    if let Some(r) = &rule.reference {
        lines.push(String::new());
        lines.extend(doc_lines(&format!("Reference: {r}")));
    }
    lines
}

/// User text shown as code in a doc sentence (no escaping needed), unless it holds a backtick.
fn code_doc(text: &str) -> String {
    if text.contains('`') || text.contains('\n') { quote_doc(text) } else { format!("`{text}`") }
}

/// User text inside a doc sentence: escaped like other doc text, on one line.
fn quote_doc(text: &str) -> String {
    doc_lines(&text.replace('\n', " ")).concat().trim().to_string()
}

fn decide(rule: &Rule, emitter: &Emitter) -> TokenStream {
    let event = format_ident!("event");
    let mut read = Vec::new();
    rule.filters.iter().chain(&rule.detection).for_each(|s| paths_of(&s.expr, &mut read));
    // A detection of constants (`AlwaysTrue`) reads no field.
    let param = if read.is_empty() { format_ident!("_event") } else { event.clone() };
    let all: Vec<(&Step, bool)> =
        rule.filters.iter().map(|s| (s, true)).chain(rule.detection.iter().map(|s| (s, false))).collect();
    // After `optimise`, only the last step can be a constant: one that never holds, deciding
    // every event that gets that far.
    let (end, checked) = match all.split_last() {
        Some(((step, _), before)) if step.expr == Expr::Always(false) => {
            let line = Literal::u32_unsuffixed(step.line);
            (quote!(Some(#line)), before)
        }
        _ => (quote!(None), all.as_slice()),
    };
    let steps = checked.iter().map(|(step, filter)| {
        // A field the test reads more than once is read once, into a local named for it
        // (InlineFilters hand each value over, so they read their own).
        let mut counts = BTreeMap::new();
        if !filter {
            reads(&step.expr, &mut counts);
        }
        // Two constants can want one local (`VALUE` is renamed `value_field`, like
        // `VALUE_FIELD`): the second gets another.
        let mut taken = Vec::new();
        let locals: BTreeMap<Path, Ident> = counts
            .into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(path, _)| {
                let local = crate::names::unique(&local_name(emitter.paths.ident(&path)), &taken);
                taken.push(local.clone());
                (path, format_ident!("{}", local))
            })
            .collect();
        let reads = locals.iter().map(|(path, local)| {
            let name = emitter.paths.ident(path);
            quote!(let #local = #event.field(&#name);)
        });
        let step_emitter = Emitter { paths: emitter.paths, locals: locals.clone() };
        let fails = step_emitter.expr(&step.expr, &event, *filter).not().tokens();
        let line = Literal::u32_unsuffixed(step.line);
        quote! {
            #(#reads)*
            if #fails {
                return Some(#line);
            }
        }
    });
    let doc = if let Some(py) = &rule.python {
        if py.lowered {
            " `rule()`, lowered (with `InlineFilters`, if any): `None` when `event` matches, else the line\n (of the YAML or the `.py`) of the first condition that does not hold."
        } else {
            " What `rule()` cannot return `True` without, lowered (with `InlineFilters`, if any):\n `None` when the Python must decide, else the line (of the YAML or the `.py`) of the first\n condition that does not hold."
        }
    } else if rule.filters.is_empty() {
        " `Detection`: `None` when `event` matches, else the YAML line of the first top-level\n expression that does not hold."
    } else {
        " `InlineFilters`, then `Detection`: `None` when `event` matches, else the YAML line of the\n first top-level expression that does not hold."
    };
    let doc = doc.lines().map(|l| quote!(#[doc = #l]));
    quote! {
        #(#doc)*
        pub fn decide<E: Event + ?Sized>(#param: &E) -> Option<u32> {
            #(#steps)*
            #end
        }
    }
}

fn dynamic_severity(rule: &Rule, emitter: &Emitter) -> Option<TokenStream> {
    if rule.dynamic_severities.is_empty() {
        return None;
    }
    let event = format_ident!("event");
    let mut branches = Vec::new();
    let mut fallback = severity(rule.severity);
    for d in &rule.dynamic_severities {
        let target = severity(d.severity);
        if d.conditions.is_empty() {
            // Always holds: it decides, and any later entry is dead.
            fallback = target;
            break;
        }
        let parts = d.conditions.iter().map(|c| emitter.expr(c, &event, false));
        let holds = Code::and(parts.collect()).tokens();
        branches.push(quote! {
            if #holds {
                return #target;
            }
        });
    }
    let body = quote! {
        #(#branches)*
        #fallback
    };
    let param = if mentions(&body, &event) { event } else { format_ident!("_event") };
    Some(quote! {
        /// `DynamicSeverities`: the first entry whose conditions all hold, else `Severity`.
        pub fn dynamic_severity<E: Event + ?Sized>(#param: &E) -> Severity {
            #body
        }
    })
}

fn severity(s: Severity) -> TokenStream {
    let ident = format_ident!("{}", s.name());
    quote!(Severity::#ident)
}

/// A rendered template: `let` statements, then the expression that builds the string.
struct Rendered {
    lets: Vec<TokenStream>,
    value: TokenStream,
    /// Whether a `let` raises (with `?`): the enclosing function returns a `Result`.
    raises: bool,
}

impl Rendered {
    /// As the body of a function that returns `Result<String, String>`.
    fn ok_block(self) -> TokenStream {
        let Rendered { lets, value, .. } = self;
        quote!(#(#lets)* Ok(#value))
    }

    /// As a function body.
    fn block(self) -> TokenStream {
        let Rendered { lets, value, .. } = self;
        quote!(#(#lets)* #value)
    }

    /// As one expression: a block only when there are statements.
    fn expression(self) -> TokenStream {
        if self.lets.is_empty() { self.value } else { self.block_braced() }
    }

    fn block_braced(self) -> TokenStream {
        let body = self.block();
        quote!({ #body })
    }
}

/// `format!("text {field} more {other}")` after a `let` per field and template value, or a
/// plain string without them. The format string reads like the YAML template.
fn format_call(rule: &Rule, parts: &[TemplatePart], paths: &Paths) -> Rendered {
    let mut fmt = String::new();
    let mut lets: Vec<TokenStream> = Vec::new();
    let mut raises = false;
    // One local per distinct placeholder: the same field with other fallbacks is another.
    // Template values keep their own names, so field locals stay clear of them all.
    let mut bound: Vec<(&TemplatePart, String)> = Vec::new();
    for part in parts {
        let var = match part {
            TemplatePart::Text(t) => {
                fmt.push_str(&t.replace('{', "{{").replace('}', "}}"));
                continue;
            }
            _ if bound.iter().any(|(p, _)| *p == part) => {
                bound.iter().find(|(p, _)| *p == part).map(|(_, v)| v.clone()).expect("bound")
            }
            TemplatePart::Value(name) => {
                let ident = format_ident!("{}", name);
                if rule.value_can_raise(name) {
                    raises = true;
                    lets.push(quote!(let #ident = #ident(event)?;));
                } else {
                    lets.push(quote!(let #ident = #ident(event);));
                }
                bound.push((part, name.clone()));
                name.clone()
            }
            TemplatePart::Walk(walk) => {
                raises = true;
                let keys = walk.keys.iter().map(|k| str_lit(k));
                let default = match &walk.default {
                    Some(d) => {
                        let d = str_lit(d);
                        quote!(Some(#d))
                    }
                    None => quote!(None),
                };
                let return_val = walk.return_val.name();
                let function = if walk.type_name { quote!(deep_walk_type) } else { quote!(deep_walk) };
                let call = quote!(#function(event, &[#(#keys),*], #default, #return_val)?);
                if let [_] = parts {
                    let value = if walk.type_name { quote!(#call.to_string()) } else { call };
                    return Rendered { lets: Vec::new(), value, raises };
                }
                // Named for the last key (`imageId`: `image_id`).
                let last = walk.keys.last().expect("a key");
                let base = local_name(&format_ident!("{}", crate::names::constant_case(last)));
                let base = if walk.type_name { format!("{base}_type") } else { base };
                let taken: Vec<String> = bound
                    .iter()
                    .map(|(_, b)| b.clone())
                    .chain(rule.template_values.iter().map(|v| v.name.clone()))
                    .collect();
                let var = crate::names::unique(&base, &taken);
                bound.push((part, var.clone()));
                let ident = format_ident!("{}", var);
                lets.push(quote!(let #ident = #call;));
                var
            }
            TemplatePart::Field(placeholder) => {
                let constant = paths.ident(&placeholder.paths[0]);
                let taken: Vec<String> = bound
                    .iter()
                    .map(|(_, b)| b.clone())
                    .chain(rule.template_values.iter().map(|v| v.name.clone()))
                    .collect();
                let var = crate::names::unique(&local_name(constant), &taken);
                bound.push((part, var.clone()));
                let ident = format_ident!("{}", var);
                let value = choice(placeholder, paths);
                let text = if placeholder.can_raise() {
                    raises = true;
                    let splits = placeholder.splits.iter().map(|(sep, n)| {
                        let sep = str_lit(sep);
                        let n = Literal::i64_unsuffixed(*n);
                        quote!((#sep, #n))
                    });
                    quote!(split_pieces(&#value, &[#(#splits),*])?)
                } else if placeholder.type_name {
                    quote!(#value.py_type_name())
                } else if placeholder.python {
                    quote!(#value.py_str())
                } else {
                    value
                };
                if let [_] = parts {
                    // The whole template: its text, without a local.
                    let value = if placeholder.type_name {
                        quote!(#text.to_string())
                    } else if placeholder.can_raise() || placeholder.python {
                        text
                    } else {
                        quote!(#text.to_string())
                    };
                    return Rendered { lets: Vec::new(), value, raises };
                }
                lets.push(quote!(let #ident = #text;));
                var
            }
        };
        fmt.push_str(&format!("{{{var}}}"));
    }
    if let ([TemplatePart::Value(name)], [_]) = (parts, lets.as_slice()) {
        let ident = format_ident!("{}", name);
        let value = if raises { quote!(#ident(event)?) } else { quote!(#ident(event)) };
        return Rendered { lets: Vec::new(), value, raises };
    }
    if lets.is_empty() {
        let text: String =
            parts.iter().map(|p| if let TemplatePart::Text(t) = p { t.as_str() } else { "" }).collect();
        let text = str_lit(&text);
        return Rendered { lets: Vec::new(), value: quote!(String::from(#text)), raises };
    }
    let fmt = str_lit(&fmt);
    Rendered { lets, value: quote!(format!(#fmt)), raises }
}

/// The value a placeholder picks: each alternative unless the separator after it passes it
/// over (`|` `.or`, `||` `.or_truthy`, `??` `.or_present`), nested from the right, so that
/// `{a || b | 'D'}` is `a.or_truthy(b.or(D))`, as Python's `a or deep_get(b, default=D)`.
fn choice(placeholder: &Placeholder, paths: &Paths) -> TokenStream {
    let fields = placeholder.paths.iter().map(|p| {
        let constant = paths.ident(p);
        quote!(event.field(&#constant))
    });
    let default = placeholder.default.iter().map(|d| match d {
        serde_json::Value::String(s) => {
            let s = str_lit(s);
            quote!(Val::Str(#s))
        }
        serde_json::Value::Bool(b) => quote!(Val::Bool(#b)),
        serde_json::Value::Number(n) => {
            let n = Literal::i64_unsuffixed(n.as_i64().expect("an integer literal"));
            quote!(Val::Num(Num::Int(#n)))
        }
        // A plain list, as `Each` is (Python's `[]`, not Panther's wrapper).
        serde_json::Value::Array(_) => quote!(Val::Each(Items::new())),
        other => {
            let text = str_lit(&other.to_string());
            quote!(Val::Raw(#text))
        }
    });
    let mut alternatives: Vec<TokenStream> = fields.chain(default).collect();
    let mut value = alternatives.pop().expect("a field");
    for (alternative, skip) in alternatives.into_iter().zip(&placeholder.skips).rev() {
        value = match skip {
            Skip::MissingOrNull => quote!(#alternative.or(#value)),
            Skip::Falsy => quote!(#alternative.or_truthy(#value)),
            Skip::Missing => quote!(#alternative.or_present(#value)),
        };
    }
    value
}

/// A `TemplateValues` entry as a function: the first case whose conditions hold.
pub(super) fn template_value(rule: &Rule, value: &TemplateValue, emitter: &Emitter) -> TokenStream {
    let event = format_ident!("event");
    let name = format_ident!("{}", value.name);
    let raises = rule.value_can_raise(&value.name);
    let ok = |v: TokenStream| if raises { quote!(Ok(#v)) } else { v };
    let mut branches = Vec::new();
    let mut fallback = ok(quote!(String::new()));
    for case in &value.cases {
        let rendered = format_call(rule, &case.template.parts, emitter.paths);
        let value = if case.raises {
            let text = rendered.expression();
            quote!(Err(#text))
        } else {
            ok(rendered.expression())
        };
        if case.conditions.is_empty() {
            // Always holds: it decides, and any later case is dead.
            fallback = value;
            break;
        }
        let parts = case.conditions.iter().map(|c| emitter.expr(c, &event, false));
        let holds = Code::and(parts.collect()).tokens();
        branches.push(quote! {
            if #holds {
                return #value;
            }
        });
    }
    let body = quote! {
        #(#branches)*
        #fallback
    };
    let param = if mentions(&body, &event) { event } else { format_ident!("_event") };
    let doc = doc_safe(&format!(
        " `TemplateValues` `{}`: the template of the first case whose conditions hold{}.",
        value.name,
        if value.cases.last().is_some_and(|c| c.conditions.is_empty()) { "" } else { ", else nothing" }
    ));
    let ret = if raises { quote!(Result<String, String>) } else { quote!(String) };
    quote! {
        #[doc = #doc]
        pub fn #name<E: Event + ?Sized>(#param: &E) -> #ret {
            #body
        }
    }
}

/// The local variable for a path constant: `INSTANCE_ID` becomes `instance_id`; never a
/// keyword, nor a name the generated code uses otherwise (the `event` parameter, list elements,
/// closure parameters, functions of the prelude).
fn local_name(constant: &proc_macro2::Ident) -> String {
    const TAKEN: &[&str] =
        &["event", "value", "filter", "exactly_one", "context", "walk", "deep_walk", "deep_walk_type"];
    let lower = constant.to_string().to_lowercase();
    match crate::names::snake_case(&lower, "field_") {
        Some(n) if !TAKEN.contains(&n.as_str()) && !n.starts_with("element") && !n.starts_with('_') => n,
        _ => format!("{lower}_field"),
    }
}

fn meta(rule: &Rule) -> TokenStream {
    let opt = |s: &Option<String>| match s {
        Some(s) => {
            let s = str_lit(s);
            quote!(Some(#s))
        }
        None => quote!(None),
    };
    let strs = |v: &[String]| {
        let v = v.iter().map(|s| str_lit(s));
        quote!(&[#(#v),*])
    };
    let id = str_lit(&rule.id);
    let display_name = opt(&rule.display_name);
    let source = str_lit(&rule.source);
    let enabled = rule.enabled;
    let scheduled = rule.scheduled;
    let log_types = strs(&rule.log_types);
    let severity = severity(rule.severity);
    let create_alert = rule.create_alert;
    let dedup = Literal::u32_unsuffixed(rule.dedup_period_minutes);
    let threshold = Literal::u32_unsuffixed(rule.threshold);
    let tags = strs(&rule.tags);
    let reports = rule.reports.iter().map(|(k, v)| {
        let k = str_lit(k);
        let v = strs(v);
        quote!((#k, #v))
    });
    let description = opt(&rule.description);
    let reference = opt(&rule.reference);
    let runbook = opt(&rule.runbook);
    let summary = strs(&rule.summary_attributes);
    let outputs = strs(&rule.output_ids);
    let alert_title = opt(&rule.title.as_ref().map(|t| t.text.clone()));
    quote! {
        RuleMeta {
            id: #id,
            display_name: #display_name,
            source: #source,
            enabled: #enabled,
            scheduled: #scheduled,
            log_types: #log_types,
            severity: #severity,
            create_alert: #create_alert,
            dedup_period_minutes: #dedup,
            threshold: #threshold,
            tags: #tags,
            reports: &[#(#reports),*],
            description: #description,
            reference: #reference,
            runbook: #runbook,
            summary_attributes: #summary,
            output_ids: #outputs,
            alert_title: #alert_title,
        }
    }
}
