//! Rebuild when a locale file changes: `rust_i18n::i18n!` reads them while
//! compiling, which cargo does not track on its own.
fn main() {
    println!("cargo:rerun-if-changed=locales");
}
