//! Compiles the fixture rules under `tests/rules/` exactly as `detections` compiles `rules/`:
//! into `src/rules/` and `tests/generated/rules.rs` (committed, checked in CI).

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("crate in a workspace");
    let layout = codegen::Layout {
        rules_dir: "tests/rules".into(),
        module_dir: "tests/src/rules".into(),
        tests_file: "tests/tests/generated/rules.rs".into(),
        registry_path: "::integration_tests::rules".into(),
    };
    codegen::build::run(root, &layout);
}
