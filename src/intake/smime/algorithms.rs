//! Algorithms and the signature itself: which digest and signature algorithms
//! and key sizes are accepted (SHA-2, RSA ≥ 2048 or ECDSA P-256/P-384; SHA-1
//! and MD5 only when the operator allows legacy digests), the digest of the
//! signed content against the signed message-digest, and the signature over
//! the signed attributes. Kept apart so the accepted set is in one place.

use cms::signed_data::{SignedAttributes, SignerInfo};
use der::Encode;
use openssl::hash::{MessageDigest, hash};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;

fn digest_by_oid(o: &str) -> Option<(MessageDigest, &'static str, bool)> {
    Some(match o {
        "2.16.840.1.101.3.4.2.1" => (MessageDigest::sha256(), "SHA-256", false),
        "2.16.840.1.101.3.4.2.2" => (MessageDigest::sha384(), "SHA-384", false),
        "2.16.840.1.101.3.4.2.3" => (MessageDigest::sha512(), "SHA-512", false),
        "1.3.14.3.2.26" => (MessageDigest::sha1(), "SHA-1", true),
        "1.2.840.113549.2.5" => (MessageDigest::md5(), "MD5", true),
        _ => return None,
    })
}

/// Signature algorithm: (key kind, hash it implies if any, name).
fn sig_alg_by_oid(o: &str) -> Option<(Id, Option<&'static str>, &'static str)> {
    Some(match o {
        "1.2.840.113549.1.1.1" => (Id::RSA, None, "RSA PKCS#1 v1.5"),
        "1.2.840.113549.1.1.11" => (Id::RSA, Some("SHA-256"), "sha256WithRSAEncryption"),
        "1.2.840.113549.1.1.12" => (Id::RSA, Some("SHA-384"), "sha384WithRSAEncryption"),
        "1.2.840.113549.1.1.13" => (Id::RSA, Some("SHA-512"), "sha512WithRSAEncryption"),
        "1.2.840.113549.1.1.5" => (Id::RSA, Some("SHA-1"), "sha1WithRSAEncryption"),
        "1.2.840.113549.1.1.4" => (Id::RSA, Some("MD5"), "md5WithRSAEncryption"),
        "1.2.840.10045.2.1" => (Id::EC, None, "ECDSA"),
        "1.2.840.10045.4.3.2" => (Id::EC, Some("SHA-256"), "ecdsa-with-SHA256"),
        "1.2.840.10045.4.3.3" => (Id::EC, Some("SHA-384"), "ecdsa-with-SHA384"),
        "1.2.840.10045.4.3.4" => (Id::EC, Some("SHA-512"), "ecdsa-with-SHA512"),
        "1.2.840.10045.4.1" => (Id::EC, Some("SHA-1"), "ecdsa-with-SHA1"),
        _ => return None,
    })
}

type DigestChoice = (MessageDigest, &'static str);

/// Ok((digest, name, detail)) or Err((digest usable for further checks, reason)).
#[allow(clippy::type_complexity)]
pub(super) fn check_algorithms(
    si: &SignerInfo,
    key: Option<&PKey<Public>>,
    allow_legacy: bool,
) -> Result<(MessageDigest, &'static str, String), (Option<DigestChoice>, String)> {
    let d_oid = si.digest_alg.oid.to_string();
    let Some((md, dname, legacy)) = digest_by_oid(&d_oid) else {
        return Err((None, format!("digest algorithm {d_oid} is not supported")));
    };
    let usable = Some((md, dname));
    let s_oid = si.signature_algorithm.oid.to_string();
    let Some((kind, implied, sname)) = sig_alg_by_oid(&s_oid) else {
        return Err((
            None,
            format!("signature algorithm {s_oid} is not supported (RSA PKCS#1 v1.5 or ECDSA)"),
        ));
    };
    if legacy && !allow_legacy {
        return Err((usable, format!("{dname} is no longer accepted as digest")));
    }
    if let Some(h) = implied
        && h != dname
    {
        return Err((
            None,
            format!("signature algorithm {sname} does not match digest {dname}"),
        ));
    }
    let Some(key) = key else {
        return Err((None, "the signer's public key is unreadable".into()));
    };
    if key.id() != kind {
        return Err((
            None,
            format!("signature algorithm {sname} does not match the signer's key type"),
        ));
    }
    let key_desc = match kind {
        Id::RSA => {
            let bits = key.bits();
            if bits < 2048 {
                return Err((usable, format!("RSA key of {bits} bits (2048 required)")));
            }
            format!("RSA {bits}")
        }
        _ => {
            let curve = key.ec_key().ok().and_then(|k| k.group().curve_name());
            match curve {
                Some(Nid::X9_62_PRIME256V1) => "ECDSA P-256".to_string(),
                Some(Nid::SECP384R1) => "ECDSA P-384".to_string(),
                _ => return Err((usable, "EC key on a curve other than P-256/P-384".into())),
            }
        }
    };
    Ok((md, dname, format!("{dname}, {sname}, {key_desc}")))
}

pub(super) fn verify_signature(
    md: MessageDigest,
    sa: &SignedAttributes,
    sig: &[u8],
    key: &PKey<Public>,
) -> Result<String, String> {
    // The signature covers the DER of the attributes with the universal SET OF tag (the
    // encoding of the SetOfVec itself), not the [0] IMPLICIT form found in the SignerInfo.
    let der = sa
        .to_der()
        .map_err(|_| "signed attributes cannot be encoded")?;
    let ok = Verifier::new(md, key)
        .and_then(|mut v| {
            v.update(&der)?;
            v.verify(sig)
        })
        .unwrap_or(false);
    if ok {
        Ok("signature over the signed attributes is valid".into())
    } else {
        Err("the signature does not verify with the signer's public key".into())
    }
}

/// The digest of the signed content compared with the signed message-digest.
pub(super) fn check_digest(
    md: MessageDigest,
    name: &str,
    content: &[u8],
    signed_digest: &[u8],
) -> Result<String, String> {
    match hash(md, content) {
        Ok(d) if d.as_ref() == signed_digest => Ok(format!("{name} of the signed content matches")),
        Ok(_) => Err(format!(
            "{name} of the signed content does not match the signed message-digest \
             (content changed after signing)"
        )),
        Err(_) => Err(format!("{name} digest unavailable")),
    }
}
