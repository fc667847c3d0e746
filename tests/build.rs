//! Compiles the fixture rules under `tests/rules/` exactly as `detections` compiles `rules/`:
//! into `src/rules/` and `tests/generated/rules.rs` (committed, checked in CI).

fn main() {
    codegen::Builder::new().rules("rules").generated("src/rules").compile();
}
