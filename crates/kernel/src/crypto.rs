//! Encryption of personal data at rest.
//!
//! One 32-byte master key, kept in a file beside the database, yields two
//! sub-keys (HMAC-SHA256 of a fixed label): one encrypts ID numbers with
//! AES-256-GCM, the other computes a keyed digest of them so the database can
//! keep them unique and find them without decrypting.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Nonce};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of the master key in bytes.
pub const KEY_LEN: usize = 32;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const VERSION_PREFIX: &str = "v1:";
const ENCRYPTION_LABEL: &[u8] = b"jinlin id-number encryption v1";
const DIGEST_LABEL: &[u8] = b"jinlin id-number digest v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the key is not base64 of exactly {KEY_LEN} bytes")]
    InvalidKey,
    #[error("the ciphertext is not in the `v1:` format")]
    Malformed,
    #[error("the ciphertext does not decrypt with this key (wrong key or tampered)")]
    Decrypt,
}

/// The master key and the sub-keys derived from it.
///
/// `Debug` never shows key material.
#[derive(Clone)]
pub struct Secrets {
    master: [u8; KEY_LEN],
    cipher: Aes256Gcm,
    digest_key: [u8; KEY_LEN],
}

impl Secrets {
    /// Builds the secrets from a 32-byte master key.
    pub fn from_bytes(master: [u8; KEY_LEN]) -> Secrets {
        let encryption_key = derive(&master, ENCRYPTION_LABEL);
        let digest_key = derive(&master, DIGEST_LABEL);
        Secrets {
            master,
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(encryption_key)),
            digest_key,
        }
    }

    /// Builds the secrets from the standard base64 of a 32-byte master key
    /// (surrounding whitespace ignored).
    pub fn from_base64(encoded: &str) -> Result<Secrets, CryptoError> {
        let bytes = BASE64
            .decode(encoded.trim())
            .map_err(|_| CryptoError::InvalidKey)?;
        let master: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::InvalidKey)?;
        Ok(Secrets::from_bytes(master))
    }

    /// A new random master key.
    pub fn generate() -> Secrets {
        let mut master = [0u8; KEY_LEN];
        rand::fill(&mut master);
        Secrets::from_bytes(master)
    }

    /// The master key as standard base64, as stored in the key file.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.master)
    }

    /// Encrypts with AES-256-GCM under a fresh random 96-bit nonce:
    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag). Two calls on one value give
    /// different outputs.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce_bytes = [0u8; NONCE_LEN];
        rand::fill(&mut nonce_bytes);
        let nonce = Nonce::<Aes256Gcm>::from(nonce_bytes);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("AES-GCM encrypts any text shorter than 64 GiB");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        format!("{VERSION_PREFIX}{}", BASE64.encode(out))
    }

    /// Reverses [`Secrets::encrypt`]; fails on a wrong key or any change to
    /// the stored text.
    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        let encoded = stored
            .strip_prefix(VERSION_PREFIX)
            .ok_or(CryptoError::Malformed)?;
        let bytes = BASE64.decode(encoded).map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce_bytes, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce =
            Nonce::<Aes256Gcm>::try_from(nonce_bytes).map_err(|_| CryptoError::Malformed)?;
        let plaintext = self
            .cipher
            .decrypt(&nonce, ciphertext)
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plaintext).map_err(|_| CryptoError::Decrypt)
    }

    /// Lower-case hex HMAC-SHA256 of `plaintext` under the digest sub-key:
    /// the same for the same value and key, so it can back a unique index.
    pub fn digest(&self, plaintext: &str) -> String {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.digest_key)
            .expect("HMAC takes keys of any length");
        mac.update(plaintext.as_bytes());
        let code = mac.finalize().into_bytes();
        code.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(..)")
    }
}

fn derive(master: &[u8; KEY_LEN], label: &[u8]) -> [u8; KEY_LEN] {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(master).expect("HMAC takes keys of any length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Reads the base64 master key at `path`, or, when the file does not exist,
/// generates one and writes it there (creating the parent directory; the
/// file is readable by its owner only on unix).
pub fn load_or_create_key_file(path: &Path) -> io::Result<Secrets> {
    match fs::read_to_string(path) {
        Ok(text) => return parse_key_file(path, &text),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let secrets = Secrets::generate();
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{}\n", secrets.to_base64()).as_bytes())?;
            file.sync_all()?;
            Ok(secrets)
        }
        // Another process created it first: use theirs.
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            parse_key_file(path, &fs::read_to_string(path)?)
        }
        Err(err) => Err(err),
    }
}

fn parse_key_file(path: &Path, text: &str) -> io::Result<Secrets> {
    Secrets::from_base64(text).map_err(|err| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("key file {}: {err}", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11010519491231002X";

    #[test]
    fn round_trip() {
        let secrets = Secrets::generate();
        let stored = secrets.encrypt(ID);
        assert!(stored.starts_with("v1:"));
        assert!(!stored.contains(ID));
        assert_eq!(secrets.decrypt(&stored).unwrap(), ID);
        assert_eq!(secrets.decrypt(&secrets.encrypt("")).unwrap(), "");
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let secrets = Secrets::generate();
        let stored = secrets.encrypt(ID);
        let mut bytes = BASE64.decode(&stored[3..]).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 0x01;
            let tampered = format!("v1:{}", BASE64.encode(&bytes));
            assert_eq!(
                secrets.decrypt(&tampered),
                Err(CryptoError::Decrypt),
                "byte {i}"
            );
            bytes[i] ^= 0x01;
        }
        assert_eq!(
            secrets.decrypt(&stored[..stored.len() - 4]),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(secrets.decrypt(&stored[3..]), Err(CryptoError::Malformed));
        assert_eq!(secrets.decrypt("v1:!!"), Err(CryptoError::Malformed));
        assert_eq!(secrets.decrypt("v1:AAAA"), Err(CryptoError::Malformed));
        assert_eq!(
            Secrets::generate().decrypt(&stored),
            Err(CryptoError::Decrypt),
            "another key"
        );
    }

    #[test]
    fn two_encryptions_differ() {
        let secrets = Secrets::generate();
        let a = secrets.encrypt(ID);
        let b = secrets.encrypt(ID);
        assert_ne!(a, b);
        assert_eq!(secrets.decrypt(&a).unwrap(), secrets.decrypt(&b).unwrap());
    }

    #[test]
    fn digest_is_stable_and_key_dependent() {
        let secrets = Secrets::from_bytes([7; KEY_LEN]);
        let digest = secrets.digest(ID);
        assert_eq!(digest.len(), 64);
        assert!(
            digest
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(digest, Secrets::from_bytes([7; KEY_LEN]).digest(ID));
        assert_eq!(
            digest,
            Secrets::from_base64(&secrets.to_base64())
                .unwrap()
                .digest(ID)
        );
        assert_ne!(digest, secrets.digest("110105194912310021"));
        assert_ne!(digest, Secrets::from_bytes([8; KEY_LEN]).digest(ID));
        // The digest key is not the master key itself.
        let mut plain = <HmacSha256 as KeyInit>::new_from_slice(&[7; KEY_LEN]).unwrap();
        plain.update(ID.as_bytes());
        let plain: String = plain
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_ne!(digest, plain);
    }

    #[test]
    fn key_must_be_32_bytes_of_base64() {
        assert_eq!(
            Secrets::from_base64(&BASE64.encode([1u8; 31])).unwrap_err(),
            CryptoError::InvalidKey
        );
        assert_eq!(
            Secrets::from_base64(&BASE64.encode([1u8; 33])).unwrap_err(),
            CryptoError::InvalidKey
        );
        assert_eq!(
            Secrets::from_base64("not base64!").unwrap_err(),
            CryptoError::InvalidKey
        );
        let key = BASE64.encode([1u8; 32]);
        let secrets = Secrets::from_base64(&format!("  {key}\n")).unwrap();
        assert_eq!(secrets.to_base64(), key);
        assert_eq!(format!("{secrets:?}"), "Secrets(..)");
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(
            Secrets::generate().to_base64(),
            Secrets::generate().to_base64()
        );
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("master.key");
        let created = load_or_create_key_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let reloaded = load_or_create_key_file(&path).unwrap();
        assert_eq!(reloaded.to_base64(), created.to_base64());
        assert_eq!(reloaded.decrypt(&created.encrypt(ID)).unwrap(), ID);
        assert_eq!(
            fs::read_to_string(&path).unwrap().trim(),
            created.to_base64()
        );
    }

    #[test]
    fn corrupt_key_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        fs::write(&path, "short").unwrap();
        let err = load_or_create_key_file(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(fs::read_to_string(&path).unwrap(), "short");
    }
}
