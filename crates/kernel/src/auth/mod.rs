//! Who is asking, and what they may reach. Every handler asks the one
//! question `principal.can(access, &position)`; nothing else decides scope.

pub mod accounts;
pub mod cache;
pub mod entity;
mod password;
mod principal;
mod role;
pub mod session;
mod token;

pub use password::{PasswordError, hash_password, verify_password};
pub use principal::{
    AuthVia, Grant, MaybePrincipal, Principal, User, load, load_principal, note_token_use,
};
pub use role::{Access, Role};
pub use token::{hash_token, new_token};
