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

pub use crate::model::P12Encryption;

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKeyRef, Private};
use openssl::stack::Stack;
use openssl::x509::{X509, X509Ref};

use super::CaError;

/// Iterations of the key derivation and of the MAC.
pub const P12_ITERATIONS: u32 = 2048;

/// The bags' and MAC's algorithms of an encryption profile.
fn algorithms(enc: P12Encryption) -> (Nid, MessageDigest) {
    match enc {
        P12Encryption::Compatible => (
            Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC,
            MessageDigest::sha1(),
        ),
        P12Encryption::Modern => (Nid::AES_256_CBC, MessageDigest::sha256()),
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
    let (alg, md) = algorithms(enc);
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
