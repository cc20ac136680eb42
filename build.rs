//! On Linux, the binary is linked with `src/layout.ld`, which puts the code a hook runs together
//! at the start of the text (the script says why). GNU ld and lld read it; gold and mold cannot,
//! so with either of those chosen (`-fuse-ld=` in the flags, or the linker's name) it is left out,
//! with a warning. Nothing else is built or generated here.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=src/layout.ld");
    // The linker is chosen by the flags (which cargo reruns this for) or by name; cargo does not
    // rerun a build script when only the linker changes, so say which variables name it.
    let target = env::var("TARGET").unwrap_or_default().to_uppercase().replace(['-', '.'], "_");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_{target}_LINKER");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let linker = env::var("RUSTC_LINKER").unwrap_or_default();
    if [flags, linker].iter().any(|s| s.contains("gold") || s.contains("mold")) {
        println!(
            "cargo:warning=linking without src/layout.ld (gold and mold do not read it): hooks fault in more of their code"
        );
        return;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/layout.ld");
    // `-T<path>`, which the C compiler driver passes on and a linker run directly (`rust-lld`)
    // reads too; `-Wl,-T,<path>` would split a path with a comma in it, and rust-lld rejects it.
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
}
