//! The rule compiler: Panther rule YAML in, specialised Rust out.
//!
//! A pipeline of pure functions with I/O at its edges:
//!
//! ```text
//! load (files) -> yaml (spanned tree) -> check (IR + diagnostics) -> optimise -> emit (Rust text) -> sync (files)
//! ```
//!
//! [`compile`] is the pure middle; [`build::run`] drives it from a `build.rs`; the `codegen`
//! binary offers `check`, `test`, `expand`, `run`, `describe` and `generate` on the command line.

pub mod build;
pub mod check;
pub mod describe;
pub mod diag;
pub mod emit;
pub mod ir;
pub mod load;
pub mod names;
pub mod optimise;
pub mod python;
pub mod reference;
pub mod sync;
pub mod yaml;

pub use diag::{Diagnostic, SourceFile};
pub use emit::{GeneratedFile, Layout};

/// The result of compiling a rule set.
#[derive(Debug)]
pub struct Compiled {
    /// The rules that passed checking.
    pub rules: Vec<ir::Rule>,
    /// Generated files; empty when any rule has an error (nothing half-generated).
    pub files: Vec<GeneratedFile>,
    /// Every error and warning, by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks every source and, if none has an error, generates the code for all of them.
pub fn compile(sources: &[SourceFile], layout: &Layout) -> Compiled {
    let (rules, diagnostics) = check::check_all(sources);
    let files =
        if diagnostics.iter().any(Diagnostic::is_error) { Vec::new() } else { emit::emit(&rules, layout) };
    Compiled { rules, files, diagnostics }
}

/// [`compile`], generating the rules that passed even when others have errors (a conformance
/// run over a whole repository); the errors stay in `diagnostics`.
pub fn compile_keep_going(sources: &[SourceFile], layout: &Layout) -> Compiled {
    let (rules, diagnostics) = check::check_all(sources);
    let files = emit::emit(&rules, layout);
    Compiled { rules, files, diagnostics }
}
