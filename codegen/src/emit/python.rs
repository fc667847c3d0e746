//! The module generated for a Python rule (its `RULE` with the compiled Panther functions) and
//! the shared modules of the helper definitions Python rules use (`py/<module>.rs`).
//!
//! Must not: translate Python (see `python`); the functions arrive as Rust source text.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{GeneratedFile, Layout, doc_safe, file_header, format_file};
use crate::ir::{Rule, SharedItem};

/// The body of a Python rule's module: `RULE`, `PYTHON` and the compiled functions.
pub(super) fn module(
    rule: &Rule,
    runtime: &TokenStream,
    docs: TokenStream,
    meta: TokenStream,
    filters: Option<(TokenStream, Vec<proc_macro2::Ident>, Vec<proc_macro2::Ident>)>,
) -> TokenStream {
    let py = rule.python.as_ref().expect("a Python rule");
    let items: TokenStream = py.items.parse().expect("the Python front end emits valid Rust");
    let function = |name: &str| -> TokenStream {
        if py.functions.iter().any(|f| f == name) {
            let id = format_ident!("{}", name);
            quote!(Some(#id))
        } else {
            quote!(None)
        }
    };
    let [title, dedup, alert_context, severity, description, reference, runbook, destinations] = [
        "title",
        "dedup",
        "alert_context",
        "severity",
        "description",
        "reference",
        "runbook",
        "destinations",
    ]
    .map(function);
    let source = &py.file;
    let id = &rule.id;
    let state = py.state.iter().map(|s| format_ident!("{}", s));
    let inline_filters = !rule.filters.is_empty();
    let models = py.data_models.iter().map(|(log_type, module)| {
        let m = format_ident!("{}", module);
        quote!((#log_type, &super::py::#m::DATA_MODEL))
    });
    let rule_doc = doc_safe(&format!(" The rule `{}`: its metadata and compiled functions.", rule.id));
    // The fields its lowered conditions require: `rule()` runs only when they all hold.
    let (decide, fields, required, filter_items) = match filters {
        // `rule()` is exactly its lowered steps: the engine decides without the Python.
        Some((items, fields, required)) if py.lowered => {
            (quote!(|event| decide(event)), quote!(&[#(&#fields),*]), quote!(&[#(&#required),*]), items)
        }
        Some((items, fields, required)) => (
            quote!(|event| decide(event).or_else(|| PYTHON.decide(event))),
            quote!(&[#(&#fields),*]),
            quote!(&[#(&#required),*]),
            items,
        ),
        None => (quote!(|event| PYTHON.decide(event)), quote!(&[]), quote!(&[]), quote!()),
    };
    let python_doc = doc_safe(&format!(" The Panther functions of `{source}`, compiled."));
    quote! {
        #docs

        use #runtime::prelude::*;
        use #runtime::py::{self, Obj, R};

        #[doc = #rule_doc]
        pub static RULE: Rule = Rule {
            meta: #meta,
            fields: #fields,
            required: #required,
            decide: #decide,
            decide_view: #decide,
            title: None,
            group_by: None,
            context: None,
            severity: None,
            python: Some(&PYTHON),
        };

        #[doc = #python_doc]
        static PYTHON: py::Python = py::Python {
            id: #id,
            source: #source,
            rule,
            title: #title,
            dedup: #dedup,
            alert_context: #alert_context,
            severity: #severity,
            description: #description,
            reference: #reference,
            runbook: #runbook,
            destinations: #destinations,
            data_models: &[#(#models),*],
            inline_filters: #inline_filters,
            state: &[#(&#state),*],
        };

        #filter_items
        #items
    }
}

/// `py/mod.rs` and one file per helper module that some compiled rule uses.
pub(super) fn shared_files(rules: &[Rule], layout: &Layout) -> Vec<GeneratedFile> {
    let mut modules: BTreeMap<&str, (&str, BTreeMap<&str, &SharedItem>)> = BTreeMap::new();
    for rule in rules {
        for item in rule.python.iter().flat_map(|p| &p.shared) {
            modules.entry(&item.module).or_insert((&item.source, BTreeMap::new())).1.insert(&item.name, item);
        }
    }
    let mut files = Vec::new();
    let names: Vec<_> = modules.keys().map(|m| format_ident!("{}", m)).collect();
    let docs = modules.values().map(|(source, _)| doc_safe(&format!(" Compiled from `{source}`.")));
    let header = file_header(&format!("the Python helpers under {}", layout.sources()), "change the .py");
    let runtime = layout.runtime();
    files.push(GeneratedFile {
        path: format!("{}/py/mod.rs", layout.module_dir),
        contents: format_file(
            &header,
            quote! {
                //! The helper modules (`global` analyses and data models) that compiled Python rules
                //! call: only the definitions some rule uses.
                #(
                    #[doc = #docs]
                    pub mod #names;
                )*
            },
        ),
    });
    for (module, (source, items)) in modules {
        let header = file_header(source, "change the .py");
        let items: Vec<TokenStream> = items.values().map(|i| i.items.parse().expect("valid Rust")).collect();
        // Constants alone need neither `Obj` nor `R`.
        let uses_values = items.iter().any(|t| mentions(t, "Obj") || mentions(t, "R"));
        let doc = doc_safe(&format!(" `{source}`: the definitions compiled rules use."));
        let imports = if uses_values {
            quote!(
                use #runtime::py::{self, Obj, R};
            )
        } else {
            quote!(
                use #runtime::py;
            )
        };
        files.push(GeneratedFile {
            path: format!("{}/py/{module}.rs", layout.module_dir),
            contents: format_file(
                &header,
                quote! {
                    #![doc = #doc]

                    #imports

                    #(#items)*
                },
            ),
        });
    }
    files
}

/// Whether `tokens` hold the identifier `name`.
fn mentions(tokens: &TokenStream, name: &str) -> bool {
    tokens.clone().into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == name,
        proc_macro2::TokenTree::Group(g) => mentions(&g.stream(), name),
        _ => false,
    })
}
