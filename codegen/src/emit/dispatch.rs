//! One module per log type: its rules, and a dispatch that names, for each value of a
//! discriminating field (for CloudTrail, `eventName`, then `eventSource`, …), the only rules
//! that can match.
//!
//! A discriminator is a field that rules require, in a top-level `Detection` expression, to
//! equal one of a few strings (`Equals`, `IsIn`, or an `Any` of those). The first is the field
//! most rules require; each next one, the field most of the remaining rules require (at least
//! two of them; at most [`MAX_DISCRIMINATORS`] in all). Each rule is dispatched on one field; a
//! rule that requires none runs on every event of the log type.
//! Must not: change which events a rule matches; dispatch only skips rules that cannot.

use std::collections::{BTreeMap, BTreeSet};

use quote::{format_ident, quote};

use super::expr::path_tokens;
use super::{GeneratedFile, Layout, doc_safe, format_file, str_lit};
use crate::ir::{Expr, Lit, Path, Rule, Segment, Test};
use crate::names;

/// The folder, inside the module folder, of the log type modules.
pub const FOLDER: &str = "by_log_type";

/// More fields would read more of each event than the rules they spare.
const MAX_DISCRIMINATORS: usize = 4;

pub(super) fn files(rules: &[Rule], layout: &Layout) -> Vec<GeneratedFile> {
    let mut groups: BTreeMap<&str, Vec<&Rule>> = BTreeMap::new();
    for rule in rules {
        for log_type in &rule.log_types {
            groups.entry(log_type.as_str()).or_default().push(rule);
        }
    }
    let mut taken: Vec<String> = Vec::new();
    let mut modules = Vec::new();
    let mut files = Vec::new();
    for (log_type, group) in &groups {
        let base = names::snake_case(log_type, "log_").unwrap_or_else(|| "log_type".into());
        let module = names::unique(&base, &taken);
        taken.push(module.clone());
        files.push(GeneratedFile {
            path: format!("{}/{FOLDER}/{module}.rs", layout.module_dir),
            contents: log_type_module(log_type, group, layout),
        });
        modules.push((module, *log_type));
    }
    files.push(GeneratedFile {
        path: format!("{}/{FOLDER}/mod.rs", layout.module_dir),
        contents: index(&modules, layout),
    });
    files
}

fn header(layout: &Layout) -> String {
    super::file_header(&format!("the rule files under {}", layout.sources()), "add or change a rule file")
}

fn index(modules: &[(String, &str)], layout: &Layout) -> String {
    let idents: Vec<_> = modules.iter().map(|(m, _)| format_ident!("{}", m)).collect();
    let runtime = layout.runtime();
    let docs = modules.iter().map(|(_, t)| doc_safe(&format!(" `{t}`")));
    let tokens = quote! {
        //! The compiled rules by log type: the fields each log type's rules read, and which rules
        //! can match an event.

        #(
            #[doc = #docs]
            pub mod #idents;
        )*

        /// Every log type some rule sees.
        pub static ALL: &[&#runtime::LogType] = &[#(&#idents::LOG_TYPE),*];
    };
    format_file(&header(layout), tokens)
}

fn log_type_module(log_type: &str, rules: &[&Rule], layout: &Layout) -> String {
    let runtime = layout.runtime();
    let mut remaining: Vec<&Rule> = rules.to_vec();
    let mut dispatchers = Vec::new();
    while dispatchers.len() < MAX_DISCRIMINATORS {
        let Some((field, count)) = choose_discriminator(&remaining) else { break };
        if count < 2 && !dispatchers.is_empty() {
            break;
        }
        let mut by_value: BTreeMap<String, Vec<&Rule>> = BTreeMap::new();
        remaining.retain(|rule| match required_values(rule, &field) {
            Some(values) => {
                values.into_iter().for_each(|v| by_value.entry(v).or_default().push(rule));
                false
            }
            None => true,
        });
        dispatchers.push((field, by_value));
    }
    let rule_ref = |r: &Rule| {
        let m = format_ident!("{}", r.module);
        quote!(&#m::RULE)
    };
    let modules: BTreeSet<&str> = rules.iter().map(|r| r.module.as_str()).collect();
    let modules = modules.into_iter().map(|m| format_ident!("{}", m));
    let all = rules.iter().map(|r| rule_ref(r));
    let always_refs = remaining.iter().map(|r| rule_ref(r));
    let name = str_lit(log_type);
    // The module's own static is taken.
    let mut static_names: Vec<String> = vec!["LOG_TYPE".into()];
    let mut entries = Vec::new();
    let mut tables = Vec::new();
    for (field, by_value) in &dispatchers {
        let base = format!("BY_{}", names::constant_case(&field.text));
        let name = names::unique(&base, &static_names);
        static_names.push(name.clone());
        let ident = format_ident!("{}", name);
        // A `static` of its own: a path remembers where it was found, which needs an address.
        let path_name = names::unique(&names::constant_case(&field.text), &static_names);
        static_names.push(path_name.clone());
        let path_ident = format_ident!("{}", path_name);
        let path = path_tokens(field);
        entries.push(quote!(Discriminator { field: &#path_ident, values: #ident }));
        let path_doc = doc_safe(&format!(" `{}`, the field dispatched on.", field.text));
        tables.push(quote! {
            #[doc = #path_doc]
            static #path_ident: Path = #path;
        });
        let rows = by_value.iter().map(|(value, group)| {
            let value = str_lit(value);
            let refs = group.iter().map(|r| rule_ref(r));
            quote!((#value, &[#(#refs),*]),)
        });
        let doc = doc_safe(&format!(
            " The rules dispatched on `{}`, by its value: an event with another value runs none of them.",
            field.text
        ));
        tables.push(quote! {
            #[doc = #doc]
            static #ident: &[(&str, &[&Rule])] = &[
                #(#rows)*
            ];
        });
    }
    let doc = doc_safe(&format!(" `{log_type}`: its rules, and which of them can match an event."));
    // The rule modules are named relatively (beside `by_log_type`), so that the registry can be
    // mounted anywhere in a crate; only the tests file needs its absolute path.
    let tokens = quote! {
        #![doc = #doc]

        use #runtime::prelude::*;
        use super::super::{#(#modules),*};

        /// The log type's rules and how to dispatch its events.
        pub static LOG_TYPE: LogType = LogType {
            name: #name,
            rules: &[#(#all),*],
            dispatch: &[#(#entries),*],
            always: &[#(#always_refs),*],
        };

        #(#tables)*
    };
    format_file(&header(layout), tokens)
}

/// The path that most rules require to equal one of a few strings, and how many do.
fn choose_discriminator(rules: &[&Rule]) -> Option<(Path, usize)> {
    let mut counts: BTreeMap<Path, usize> = BTreeMap::new();
    for rule in rules {
        let mut seen = BTreeSet::new();
        for step in &rule.detection {
            candidate_paths(&step.expr, &mut seen);
        }
        for p in seen {
            *counts.entry(p).or_default() += 1;
        }
    }
    counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
}

fn candidate_paths(expr: &Expr, out: &mut BTreeSet<Path>) {
    match expr {
        Expr::Test { path, negated: false, test: Test::Equals(Lit::Str(_)) | Test::IsIn(_), .. }
            if path.segments.iter().all(|s| matches!(s, Segment::Key(_)))
                && !path.segments.is_empty()
                && values_of(expr, path).is_some() =>
        {
            out.insert(path.clone());
        }
        Expr::Any(children) => {
            let mut common: Option<BTreeSet<Path>> = None;
            for child in children {
                let mut paths = BTreeSet::new();
                candidate_paths(child, &mut paths);
                common = Some(match common {
                    None => paths,
                    Some(c) => c.intersection(&paths).cloned().collect(),
                });
            }
            out.extend(common.unwrap_or_default());
        }
        Expr::All(children) => children.iter().for_each(|c| candidate_paths(c, out)),
        _ => {}
    }
}

/// The strings `path` must equal for `expr` to hold, if `expr` requires that.
fn values_of(expr: &Expr, path: &Path) -> Option<BTreeSet<String>> {
    match expr {
        Expr::Test { path: p, test: Test::Equals(Lit::Str(s)), negated: false } if p == path => {
            Some([s.clone()].into())
        }
        Expr::Test { path: p, test: Test::IsIn(lits), negated: false } if p == path => {
            lits.iter().map(|l| if let Lit::Str(s) = l { Some(s.clone()) } else { None }).collect()
        }
        Expr::Any(children) if !children.is_empty() => {
            let mut all = BTreeSet::new();
            for child in children {
                all.extend(values_of(child, path)?);
            }
            Some(all)
        }
        Expr::All(children) => children.iter().find_map(|c| values_of(c, path)),
        _ => None,
    }
}

/// The discriminator values a rule requires, if it requires some.
fn required_values(rule: &Rule, discriminator: &Path) -> Option<BTreeSet<String>> {
    rule.detection.iter().find_map(|step| values_of(&step.expr, discriminator))
}
