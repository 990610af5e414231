//! Random secrets handed to clients (session cookies, API tokens,
//! invitation links). Only their SHA-256 is stored.

use sha2::{Digest, Sha256};

/// 256 random bits as 64 hex characters.
pub fn new_token() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    let c = uuid::Uuid::new_v4();
    // Three v4 UUIDs carry 366 random bits; keep 256 of them.
    let mut bytes = Vec::with_capacity(48);
    bytes.extend_from_slice(a.as_bytes());
    bytes.extend_from_slice(b.as_bytes());
    bytes.extend_from_slice(c.as_bytes());
    let digest = Sha256::digest(&bytes);
    hex(&digest)
}

/// What the database keeps of a token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token());
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), a);
    }
}
