//! On Linux, the binary is linked with `src/layout.ld`, which puts the code a hook runs together
//! at the start of the text (the script says why). Nothing else is built or generated here.

fn main() {
    println!("cargo:rerun-if-changed=src/layout.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/layout.ld");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    }
}
