//! `#[db_test]` turns `async fn name(db: TestDb) { … }` into a module `name`
//! with two tests, `name::sqlite` and `name::postgres`, each handed a fresh,
//! migrated database of its kind.

use proc_macro::TokenStream;
use quote::quote;
use syn::{ItemFn, parse_macro_input};

#[proc_macro_attribute]
pub fn db_test(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[db_test] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let function = parse_macro_input!(item as ItemFn);
    if function.sig.asyncness.is_none() || function.sig.inputs.len() != 1 {
        return syn::Error::new_spanned(
            &function.sig,
            "#[db_test] wants `async fn name(db: TestDb)`",
        )
        .to_compile_error()
        .into();
    }
    let name = &function.sig.ident;
    let attrs = &function.attrs;
    let mut inner = function.clone();
    inner.sig.ident = syn::Ident::new("run", name.span());
    inner.attrs.clear();
    let expanded = quote! {
        #(#attrs)*
        mod #name {
            #[allow(unused_imports)]
            use super::*;

            #inner

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = ::jinlin_testkit::TestDb::sqlite().await;
                ::jinlin_testkit::Outcome::check(run(db).await);
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = ::jinlin_testkit::TestDb::postgres().await;
                ::jinlin_testkit::Outcome::check(run(db).await);
            }
        }
    };
    expanded.into()
}
