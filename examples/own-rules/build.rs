fn main() {
    codegen::Builder::new().rules("rules").generated("src/rules").compile();
}
