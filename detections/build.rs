//! Compiles every rule under `rules/` (at the workspace root) into `src/rules/` and
//! `tests/generated/rules.rs`, committed; with `CI=true`, fails if they are stale. See
//! `codegen::Builder` (`codegen generate` does the same from the command line).

fn main() {
    codegen::Builder::new().rules("../rules").generated("src/rules").compile();
}
