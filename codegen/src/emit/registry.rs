//! The registry module: `pub mod` for every rule and `ALL`, the list of every compiled rule.
//!
//! Must not: filter or reorder rules; the engine narrows the registry at run time.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Layout, doc_safe, file_header, format_file};
use crate::ir::Rule;

pub(super) fn registry(rules: &[Rule], layout: &Layout) -> String {
    let header =
        file_header(&format!("the rule files under {}", layout.sources()), "add or change a rule file");
    let folders = layout.sources_as(|d| format!("`{d}/`"));
    let doc = doc_safe(&format!(" Every compiled rule: one module per rule file under {folders}."));
    let runtime = layout.runtime();
    let modules: Vec<_> = rules.iter().map(|r| format_ident!("{}", r.module)).collect();
    let docs = rules.iter().map(|r| doc_safe(&format!(" `{}`, from `{}`.", r.id, r.source)));
    let presets = rules.iter().any(|r| r.template_values.iter().any(|v| v.preset.is_some())).then(|| {
        quote!(
            pub mod presets;
        )
    });
    let tokens: TokenStream = quote! {
        #![doc = #doc]

        pub mod by_log_type;
        #presets
        pub mod py;

        #(
            #[doc = #docs]
            pub mod #modules;
        )*

        /// Every rule, in the order of their files.
        pub static ALL: &[&#runtime::Rule] = &[#(&#modules::RULE),*];
    };
    format_file(&header, tokens)
}
