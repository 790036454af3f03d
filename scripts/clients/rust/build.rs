//! Generates the listo client with progenitor's `Generator` from the document run.sh wrote
//! (`LISTO_SPEC`), into `$OUT_DIR/listo.rs` (kept there so a failing build can be read).
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-env-changed=LISTO_SPEC");
    let spec_path =
        env::var("LISTO_SPEC").expect("LISTO_SPEC: the path of `listo openapi`'s output");
    println!("cargo:rerun-if-changed={spec_path}");
    let file = fs::File::open(&spec_path).unwrap_or_else(|e| panic!("{spec_path}: {e}"));
    let spec = serde_json::from_reader(file).expect("the document is not OpenAPI 3.0 JSON");
    // Builder style (`client.get_task().id(1).send()`): the calls read like the requests they make.
    let mut settings = progenitor::GenerationSettings::default();
    settings.with_interface(progenitor::InterfaceStyle::Builder);
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .expect("progenitor could not generate the client");
    let ast = syn::parse2(tokens).expect("progenitor generated code that does not parse");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("listo.rs");
    fs::write(out, prettyplease::unparse(&ast)).unwrap();
}
