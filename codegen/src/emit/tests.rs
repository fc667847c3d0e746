//! The tests file: one `#[test]` per YAML test case, in one module per rule file, so that
//! `cargo test <rule file stem>` runs one rule's tests and `cargo test <stem>::<test>` one test.
//!
//! Must not: hold test logic; each test is a call to the runtime's `testing::Case::check`.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::{Layout, doc_safe, file_header, format_file, str_lit};
use crate::ir::{Rule, TestCase};

pub(super) fn tests_file(rules: &[Rule], layout: &Layout) -> String {
    let header =
        file_header(&format!("the `Tests:` of the rule files under {}", layout.sources()), "change the YAML");
    let runtime = layout.runtime();
    let registry: TokenStream = layout.registry_path.parse().expect("registry path is a Rust path");
    let modules = rules.iter().filter(|r| !r.tests.is_empty()).map(|rule| {
        let module = format_ident!("{}", rule.module);
        let doc = doc_safe(&format!(" `{}` ({})", rule.id, rule.source));
        if rule.python.as_ref().is_some_and(|p| !p.state.is_empty()) {
            // Module state carries from case to case in `pat test`: each test replays the
            // cases before it, in file order, on a fresh import.
            let cases = rule.tests.iter().map(|case| case_expr(case, &runtime));
            let tests = rule.tests.iter().enumerate().map(|(i, case)| {
                let function = format_ident!("{}", case.function);
                quote! {
                    #[test]
                    fn #function() {
                        Case::check_in_sequence(&RULE, CASES, #i);
                    }
                }
            });
            return quote! {
                #[doc = #doc]
                mod #module {
                    use super::Case;
                    use #registry::#module::RULE;

                    /// The cases in file order (the rule keeps module state between them).
                    const CASES: &[Case<'static>] = &[#(#cases),*];

                    #(#tests)*
                }
            };
        }
        let tests = rule.tests.iter().map(|case| test_fn(case, &runtime));
        quote! {
            #[doc = #doc]
            mod #module {
                use super::Case;
                use #registry::#module::RULE;

                #(#tests)*
            }
        }
    });
    // No inner attributes or docs: the file is `include!`d into a test crate root, which keeps
    // rustfmt (which does not follow `include!`) away from generated code.
    let tokens = quote! {
        use #runtime::testing::Case;

        #(#modules)*
    };
    format_file(&header, tokens)
}

fn test_fn(case: &TestCase, runtime: &TokenStream) -> TokenStream {
    let function = format_ident!("{}", case.function);
    let case_expr = case_expr(case, runtime);
    quote! {
        #[test]
        fn #function() {
            #case_expr.check(&RULE);
        }
    }
}

/// The `Case` of a test case, as a constant expression.
fn case_expr(case: &TestCase, runtime: &TokenStream) -> TokenStream {
    let name = str_lit(&case.name);
    let line = Literal::u32_unsuffixed(case.line);
    let expected = case.expected;
    let log = str_lit(&case.log);
    let new = quote!(Case::new(#name, #line, #expected, #log));
    let e = &case.expect;
    let mut fields = Vec::new();
    if let Some(t) = &e.title {
        let t = str_lit(t);
        fields.push(quote!(title: Some(#t)));
    }
    if let Some(d) = &e.dedup {
        let d = str_lit(d);
        fields.push(quote!(dedup: Some(#d)));
    }
    if let Some(s) = e.severity {
        let s = format_ident!("{}", s.name());
        fields.push(quote!(severity: Some(#runtime::Severity::#s)));
    }
    if let Some(c) = &e.context {
        let c = str_lit(c);
        fields.push(quote!(context: Some(#c)));
    }
    if !case.mocks.is_empty() {
        let mocks = case.mocks.iter().map(|m| {
            let name = str_lit(&m.name);
            match &m.value {
                crate::ir::MockValue::Str(v) => {
                    let v = str_lit(v);
                    quote!((#name, #runtime::py::MockValue::Str(#v)))
                }
                crate::ir::MockValue::Bool(b) => quote!((#name, #runtime::py::MockValue::Bool(#b))),
            }
        });
        fields.push(quote!(mocks: &[#(#mocks),*]));
    }
    if fields.is_empty() { new } else { quote!(Case { #(#fields,)* ..#new }) }
}
