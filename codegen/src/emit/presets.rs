//! The `presets` module: each built-in `TemplateValues` preset that some rule uses
//! (`codegen/src/check/template_presets.yml`), compiled once into `presets/<name>.rs` (its path
//! constants, public, and one function per value) rather than into every rule that uses it.
//! A rule imports the functions and lists the preset's paths in its `fields`, so that the event
//! view picks them out (it recognises a path by the address of its `static`).
//!
//! Must not: depend on the rule using a preset; a preset's values are the same in every rule
//! (checked from the built-in file alone), so the first rule that uses it stands for all.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::expr::{Emitter, Paths};
use super::rule::{template_value, value_exprs, value_paths};
use super::{GeneratedFile, Layout, doc_safe, file_header, format_file};
use crate::ir::{Rule, TemplateValue};

/// The presets the rules use: each name with a rule whose values stand for it (its values only).
fn used(rules: &[Rule]) -> BTreeMap<&str, Rule> {
    let mut out = BTreeMap::new();
    for rule in rules {
        for v in &rule.template_values {
            if let Some(name) = v.preset.as_deref() {
                out.entry(name).or_insert_with(|| preset_rule(rule, name));
            }
        }
    }
    out
}

/// `rule` reduced to the values of the preset `name`: what its functions are compiled from.
fn preset_rule(rule: &Rule, name: &str) -> Rule {
    let mut r = rule.clone();
    r.template_values.retain(|v| v.preset.as_deref() == Some(name));
    r
}

/// The path constants of a preset's values, named as in its module.
pub(super) fn paths(values: &[&TemplateValue]) -> Paths {
    let mut all = Vec::new();
    values.iter().for_each(|v| value_paths(v, &mut all));
    Paths::reserving(all, &[]).hoisting_sets(values.iter().flat_map(|v| value_exprs(v))).public()
}

/// `super::presets::aws_actor_user::TYPE`, …: the paths a rule lists in its `fields` for the
/// presets it uses, and the `use` of their functions.
pub(super) fn rule_items(rule: &Rule) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut by_preset: BTreeMap<&str, Vec<&TemplateValue>> = BTreeMap::new();
    for v in &rule.template_values {
        if let Some(name) = v.preset.as_deref() {
            by_preset.entry(name).or_default().push(v);
        }
    }
    let mut fields = Vec::new();
    let mut uses = Vec::new();
    for (name, values) in by_preset {
        let module = format_ident!("{}", name);
        fields
            .extend(paths(&values).idents().map(|p| quote!(super::presets::#module::#p)).collect::<Vec<_>>());
        let functions = values.iter().map(|v| format_ident!("{}", v.name));
        uses.push(quote!(use super::presets::#module::{#(#functions),*};));
    }
    (fields, uses)
}

/// `presets/mod.rs` and one file per preset used; nothing when no rule uses one.
pub(super) fn files(rules: &[Rule], layout: &Layout) -> Vec<GeneratedFile> {
    let used = used(rules);
    if used.is_empty() {
        return Vec::new();
    }
    const SOURCE: &str = "codegen/src/check/template_presets.yml";
    let runtime = layout.runtime();
    let names: Vec<_> = used.keys().map(|n| format_ident!("{}", n)).collect();
    let docs = used.keys().map(|n| doc_safe(&format!(" `Preset: {n}`.")));
    let mut files = vec![GeneratedFile {
        path: format!("{}/presets/mod.rs", layout.module_dir),
        contents: format_file(
            &file_header(
                &format!("the presets the rules under {} use", layout.sources()),
                "change the rules",
            ),
            quote! {
                //! The built-in `TemplateValues` presets the rules use, each compiled once: the rules
                //! call their functions and list their paths in `fields`.
                #(
                    #[doc = #docs]
                    pub mod #names;
                )*
            },
        ),
    }];
    for (name, rule) in &used {
        let values: Vec<&TemplateValue> = rule.template_values.iter().collect();
        let paths = paths(&values);
        let emitter = Emitter { paths: &paths, locals: BTreeMap::new() };
        let constants = paths.constants();
        let functions = values.iter().map(|v| template_value(rule, v, &emitter));
        let doc = doc_safe(&format!(
            " `TemplateValues: [{{Preset: {name}}}]` (`{SOURCE}`), compiled once for the rules that use it."
        ));
        files.push(GeneratedFile {
            path: format!("{}/presets/{name}.rs", layout.module_dir),
            contents: format_file(
                &file_header(SOURCE, "change the preset"),
                quote! {
                    #![doc = #doc]

                    use #runtime::prelude::*;

                    #constants
                    #(#functions)*
                },
            ),
        });
    }
    files
}
