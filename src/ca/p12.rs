//! PKCS#12 files for generated keys: the key, its certificate and the chain,
//! protected by the access PIN, in one of two encryption profiles
//! (facts in `shared/notes/pkcs12-and-keys.md`):
//!
//! - [`P12Encryption::Compatible`] (the shipped default):
//!   pbeWithSHA1And3-KeyTripleDES-CBC for key and certificate bags, HMAC-SHA1
//!   MAC. Imports on every system found; with the generated 22-character PINs
//!   (> 112 bits) it meets the S/MIME BR floor.
//! - [`P12Encryption::Modern`]: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for
//!   both bags, HMAC-SHA256 MAC. Fails on macOS ≤ 14, iOS ≤ 17, Android ≤ 13
//!   and others, with a misleading "wrong password".
//!
//! Both with 2048 iterations (Windows refused very high counts) and OpenSSL's
//! 8-byte salt (16-byte salts failed on macOS); both need only OpenSSL 3's
//! default provider (never RC2-40). PINs must be ASCII without NUL: some
//! importers break on anything else, and OpenSSL cannot take a NUL.

use std::str::FromStr;

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKeyRef, Private};
use openssl::stack::Stack;
use openssl::x509::{X509, X509Ref};

use super::CaError;

/// Iterations of the key derivation and of the MAC.
pub const P12_ITERATIONS: u32 = 2048;

/// How a PKCS#12 file is encrypted (`mailra.toml` `[ca] p12_encryption`,
/// overridable per institution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum P12Encryption {
    /// 3DES bags, SHA-1 MAC: opens everywhere.
    #[default]
    Compatible,
    /// PBKDF2-SHA256 + AES-256-CBC bags, SHA-256 MAC: stronger, but older
    /// Apple, Android and Windows systems refuse it.
    Modern,
}

impl P12Encryption {
    pub const ALL: [P12Encryption; 2] = [P12Encryption::Compatible, P12Encryption::Modern];

    /// The configuration value: `compatible`, `modern`.
    pub fn as_str(self) -> &'static str {
        match self {
            P12Encryption::Compatible => "compatible",
            P12Encryption::Modern => "modern",
        }
    }

    /// The algorithms in words, for notices.
    pub fn describe(self) -> &'static str {
        match self {
            P12Encryption::Compatible => "3DES (pbeWithSHA1And3-KeyTripleDES-CBC), SHA-1 MAC",
            P12Encryption::Modern => "AES-256-CBC (PBES2, PBKDF2-SHA256), SHA-256 MAC",
        }
    }

    fn algorithms(self) -> (Nid, MessageDigest) {
        match self {
            P12Encryption::Compatible => (
                Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC,
                MessageDigest::sha1(),
            ),
            P12Encryption::Modern => (Nid::AES_256_CBC, MessageDigest::sha256()),
        }
    }
}

impl std::fmt::Display for P12Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for P12Encryption {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        P12Encryption::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not \"compatible\" or \"modern\""))
    }
}

/// A DER PKCS#12 with `key`, its `cert` (bag friendly name
/// `friendly_name`) and the `chain` (issuing CA first), protected by `pin`.
/// Refuses an empty PIN or one with a NUL or a non-ASCII character.
pub fn build_p12(
    friendly_name: &str,
    key: &PKeyRef<Private>,
    cert: &X509Ref,
    chain: &[X509],
    pin: &str,
    enc: P12Encryption,
) -> Result<Vec<u8>, CaError> {
    if pin.is_empty() {
        return Err(CaError::Pin("empty"));
    }
    if !pin.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(CaError::Pin(
            "only printable ASCII characters are accepted (no NUL, no control or non-ASCII character)",
        ));
    }
    if friendly_name.contains('\0') {
        return Err(CaError::P12Name(friendly_name.to_string()));
    }
    let mut stack = Stack::new()?;
    for c in chain {
        stack.push(c.clone())?;
    }
    let (alg, md) = enc.algorithms();
    let p12 = Pkcs12::builder()
        .name(friendly_name)
        .pkey(key)
        .cert(cert)
        .ca(stack)
        .key_algorithm(alg)
        .cert_algorithm(alg)
        .key_iter(P12_ITERATIONS)
        .mac_iter(P12_ITERATIONS)
        .mac_md(md)
        .build2(pin)?;
    Ok(p12.to_der()?)
}

#[cfg(test)]
mod tests;
