//! Compiles every rule under `rules/` into `src/rules/` and `tests/rules.rs` (committed), or,
//! with `CI=true`, fails if those files are stale. See the `codegen` crate.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("crate in a workspace");
    codegen::build::run(root, &codegen::Layout::detections());
}
