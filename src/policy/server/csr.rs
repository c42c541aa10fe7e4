//! Field 7, the CSR: decoding the one-line base64 body, taking the PKCS#10
//! request apart, and checking its key and signature against the profile.

use der::Decode;
use openssl::asn1::Asn1Object;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use openssl::x509::X509Name;
use thiserror::Error;

use super::fields::MAX_CSR_LEN;
use crate::model::Profile;
use crate::policy::goodkey::{self, KeyRule, WeakKey};
use crate::policy::keyreuse::KeyReuse;

/// What is wrong with a CSR (field 7); its Display is the rule in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CsrError {
    #[error("is required")]
    Missing,
    #[error(
        "contains the -----BEGIN/END CERTIFICATE REQUEST----- lines; write only the base64 body between them, on one line"
    )]
    PemArmor,
    #[error("is {0} characters, at most {MAX_CSR_LEN} allowed")]
    TooLong(usize),
    #[error("may contain only base64 characters (A-Z a-z 0-9 + / =) on one line, not {0}")]
    BadChars(String),
    #[error("is not valid base64")]
    Base64,
    #[error("is not a PKCS#10 certificate request")]
    NotCsr,
    #[error("profile {profile} needs {needed} key, the CSR has {found}")]
    Key {
        profile: u8,
        needed: &'static str,
        found: String,
    },
    #[error(
        "profile {profile} CSRs must be signed with {allowed}, this one is signed with {found}"
    )]
    SigAlg {
        profile: u8,
        allowed: &'static str,
        found: String,
    },
    #[error("the CSR's signature does not verify (the CSR is damaged or was edited)")]
    BadSignature,
    #[error(
        "the CSR's rsaEncryption key must carry NULL algorithm parameters (RFC 3279); regenerate the CSR with a standard tool"
    )]
    RsaParams,
    #[error(transparent)]
    Weak(#[from] WeakKey),
    #[error(transparent)]
    Reused(#[from] KeyReuse),
}

const RSA_SIGS: [(&str, &str); 5] = [
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
];
const EC_SIGS: [(&str, &str); 2] = [
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
];
const OTHER_SIGS: [(&str, &str); 3] = [
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
];

/// A CSR that passed every check of field 7.
pub struct CheckedCsr {
    pub subject: X509Name,
    pub key: PKey<Public>,
    /// SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex.
    pub spki_sha256: String,
}

impl std::fmt::Debug for CheckedCsr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedCsr")
            .field("spki_sha256", &self.spki_sha256)
            .finish_non_exhaustive()
    }
}

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Decodes field 7 (base64 body on one line) into DER.
pub fn decode_csr_field(s: &str) -> Result<Vec<u8>, CsrError> {
    use base64::Engine;
    if s.is_empty() {
        return Err(CsrError::Missing);
    }
    if s.contains("-----BEGIN") || s.contains("-----END") || s.contains("CERTIFICATE REQUEST") {
        return Err(CsrError::PemArmor);
    }
    let len = s.chars().count();
    if len > MAX_CSR_LEN {
        return Err(CsrError::TooLong(len));
    }
    let bad: Vec<String> = s
        .chars()
        .filter(|&c| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
        .map(|c| {
            if c == ' ' {
                "space".to_string()
            } else {
                format!("'{c}'")
            }
        })
        .fold(Vec::new(), |mut v, c| {
            if !v.contains(&c) {
                v.push(c);
            }
            v
        });
    if !bad.is_empty() {
        return Err(CsrError::BadChars(bad.join(" ")));
    }
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| CsrError::Base64)
}

/// A CSR taken apart with the pure-Rust `x509-cert` parser. The key is
/// rebuilt as a legacy OpenSSL RSA/EC key from the SPKI bits: OpenSSL 3.0's
/// provider decoders (behind `X509Req::from_der`, `PKey::public_key_from_der`)
/// and encoders (behind `X509Builder::set_pubkey` for a provider key) cost
/// several times a certificate signature, and a 99-row file pays them per row.
pub struct DecodedCsr {
    pub subject: X509Name,
    /// RSA and EC keys; `None` for any other key type.
    pub key: Option<PKey<Public>>,
    /// "RSA 2048", "ECDSA P-384", "Ed25519", … for error messages.
    pub key_desc: String,
    pub key_oid: String,
    /// Whether the key's rsaEncryption parameters are the NULL RFC 3279 requires.
    pub rsa_params_null: bool,
    pub sig_oid: String,
    /// `Some(ok)` when the signature algorithm is one mailra knows (the
    /// `*_SIGS` tables) and the key could be rebuilt; `None` otherwise.
    pub signature_ok: Option<bool>,
    /// DER SubjectPublicKeyInfo exactly as the CSR encodes it.
    pub spki_der: Vec<u8>,
}

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

fn sig_digest(oid: &str) -> Option<(Id, MessageDigest)> {
    Some(match oid {
        "1.2.840.113549.1.1.4" => (Id::RSA, MessageDigest::md5()),
        "1.2.840.113549.1.1.5" => (Id::RSA, MessageDigest::sha1()),
        "1.2.840.113549.1.1.11" => (Id::RSA, MessageDigest::sha256()),
        "1.2.840.113549.1.1.12" => (Id::RSA, MessageDigest::sha384()),
        "1.2.840.113549.1.1.13" => (Id::RSA, MessageDigest::sha512()),
        "1.2.840.10045.4.1" => (Id::EC, MessageDigest::sha1()),
        "1.2.840.10045.4.3.2" => (Id::EC, MessageDigest::sha256()),
        "1.2.840.10045.4.3.3" => (Id::EC, MessageDigest::sha384()),
        "1.2.840.10045.4.3.4" => (Id::EC, MessageDigest::sha512()),
        _ => return None,
    })
}

/// Decodes a DER PKCS#10 request (see [`DecodedCsr`]); `NotCsr` if it is not
/// one, or if its RSA/EC key does not decode.
pub fn decode_csr(der: &[u8]) -> Result<DecodedCsr, CsrError> {
    use der::{Encode, Reader};
    let req = x509_cert::request::CertReq::from_der(der).map_err(|_| CsrError::NotCsr)?;
    // The exact signed bytes: the first element of the outer SEQUENCE.
    let info = der::SliceReader::new(der)
        .and_then(|mut r| {
            der::Header::decode(&mut r)?;
            r.tlv_bytes()
        })
        .map_err(|_| CsrError::NotCsr)?;
    let subject = req
        .info
        .subject
        .to_der()
        .ok()
        .and_then(|d| X509Name::from_der(&d).ok())
        .ok_or(CsrError::NotCsr)?;
    let spki = &req.info.public_key;
    let key_oid = spki.algorithm.oid.to_string();
    let bits = spki.subject_public_key.as_bytes().ok_or(CsrError::NotCsr)?;
    let (key, key_desc) = match key_oid.as_str() {
        RSA_ENCRYPTION => {
            let rsa = Rsa::public_key_from_der_pkcs1(bits).map_err(|_| CsrError::NotCsr)?;
            let desc = format!("RSA {}", rsa.n().num_bits());
            (
                Some(PKey::from_rsa(rsa).map_err(|_| CsrError::NotCsr)?),
                desc,
            )
        }
        EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                .and_then(|oid| Asn1Object::from_str(&oid.to_string()).ok())
                .map(|o| o.nid());
            match curve {
                Some(nid) => {
                    let group = EcGroup::from_curve_name(nid).map_err(|_| CsrError::NotCsr)?;
                    let mut ctx = BigNumContext::new().map_err(|_| CsrError::NotCsr)?;
                    let point = EcPoint::from_bytes(&group, bits, &mut ctx).map_err(|_| {
                        goodkey::undecodable_point(&group, bits)
                            .map_or(CsrError::NotCsr, CsrError::Weak)
                    })?;
                    let ec =
                        EcKey::from_public_key(&group, &point).map_err(|_| CsrError::NotCsr)?;
                    let desc = match nid {
                        Nid::X9_62_PRIME256V1 => "ECDSA P-256".into(),
                        Nid::SECP384R1 => "ECDSA P-384".into(),
                        Nid::SECP521R1 => "ECDSA P-521".into(),
                        n => format!("ECDSA {}", n.short_name().unwrap_or("(unnamed curve)")),
                    };
                    (
                        Some(PKey::from_ec_key(ec).map_err(|_| CsrError::NotCsr)?),
                        desc,
                    )
                }
                None => (None, "ECDSA (explicit curve)".into()),
            }
        }
        "1.3.101.112" => (None, "Ed25519".into()),
        "1.3.101.113" => (None, "Ed448".into()),
        "1.2.840.10040.4.1" => (None, "DSA".into()),
        _ => (None, "an unsupported key type".into()),
    };
    let rsa_params_null = spki
        .algorithm
        .parameters
        .as_ref()
        .is_some_and(|p| der::Tagged::tag(p) == der::Tag::Null && p.value().is_empty());
    let sig_oid = req.algorithm.oid.to_string();
    let signature_ok = match (&key, sig_digest(&sig_oid), req.signature.as_bytes()) {
        (Some(k), Some((family, md)), Some(sig)) => Some(
            k.id() == family
                && Verifier::new(md, k)
                    .and_then(|mut v| {
                        v.update(info)?;
                        v.verify(sig)
                    })
                    .unwrap_or(false),
        ),
        (Some(_), Some(_), None) => Some(false),
        _ => None,
    };
    let spki_der = spki.to_der().map_err(|_| CsrError::NotCsr)?;
    Ok(DecodedCsr {
        subject,
        key,
        key_desc,
        key_oid,
        rsa_params_null,
        sig_oid,
        signature_ok,
        spki_der,
    })
}

/// Checks a CSR's key and signature algorithm against the profile and its signature.
///
/// The answer depends on the bytes and the profile alone, and every
/// issuance checks each CSR twice (when its file is read, and again by the
/// CA just before it signs): the last answers are remembered per thread,
/// keyed by the SHA-256 of the exact DER, so the second check costs a hash
/// instead of a signature verification and the weak-key arithmetic.
pub fn check_csr(der: &[u8], profile: Profile) -> Result<CheckedCsr, Vec<CsrError>> {
    memo::check_csr(der, profile, check_csr_uncached)
}

/// Checks many CSRs at once on every core and remembers the answers, so the
/// row checks that follow one by one (and the CA's re-check before signing)
/// find them ready: the signature and key checks are most of a row's cost.
pub(super) fn check_all(items: &[(Vec<u8>, Profile)]) {
    use rayon::prelude::*;
    items.par_iter().for_each(|(der, profile)| {
        let _ = check_csr(der, *profile);
    });
}

/// A small process-wide memory of [`check_csr`]'s answers, shared by the
/// threads that check a file's rows and sign its certificates.
mod memo {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    use super::{CheckedCsr, CsrError};
    use crate::model::Profile;

    type Answer = Result<CheckedCsr, Vec<CsrError>>;

    /// Enough for a 1000-row file checked twice; forgotten wholesale when full.
    const CAPACITY: usize = 1024;

    type Answers = HashMap<([u8; 32], Profile), Answer>;
    static ANSWERS: LazyLock<Mutex<Answers>> = LazyLock::new(|| Mutex::new(HashMap::new()));

    /// The memory, even if a thread panicked while holding it (the map is
    /// only ever read or replaced whole entry by entry, never left half-made).
    fn answers() -> std::sync::MutexGuard<'static, Answers> {
        ANSWERS.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn copy(a: &Answer) -> Answer {
        match a {
            Ok(c) => match c.subject.to_owned() {
                Ok(subject) => Ok(CheckedCsr {
                    subject,
                    key: c.key.clone(),
                    spki_sha256: c.spki_sha256.clone(),
                }),
                Err(_) => Err(vec![CsrError::NotCsr]),
            },
            Err(e) => Err(e.clone()),
        }
    }

    pub(super) fn check_csr(
        der: &[u8],
        profile: Profile,
        check: fn(&[u8], Profile) -> Answer,
    ) -> Answer {
        let key = (openssl::sha::sha256(der), profile);
        if let Some(hit) = answers().get(&key).map(copy) {
            return hit;
        }
        let answer = check(der, profile);
        let mut m = answers();
        if m.len() >= CAPACITY {
            m.clear();
        }
        m.insert(key, copy(&answer));
        answer
    }
}

fn check_csr_uncached(der: &[u8], profile: Profile) -> Result<CheckedCsr, Vec<CsrError>> {
    let csr = decode_csr(der).map_err(|e| vec![e])?;
    let mut errs = Vec::new();
    let rule = KeyRule::for_profile(profile);
    let (sigs, allowed) = match profile {
        Profile::ServerP384 => (&EC_SIGS[..], "ecdsa-with-SHA256 or ecdsa-with-SHA384"),
        _ => (
            &RSA_SIGS[..],
            "sha1/sha256/sha384/sha512/md5WithRSAEncryption",
        ),
    };
    // The profile's key kind and size, then the known weaknesses (goodkey).
    match csr.key.as_deref().map(|k| goodkey::check(k, &rule)) {
        None | Some(Err(WeakKey::Kind(_))) => errs.push(CsrError::Key {
            profile: profile.id(),
            needed: rule.needed,
            found: csr.key_desc.clone(),
        }),
        Some(Err(weak)) => errs.push(CsrError::Weak(weak)),
        Some(Ok(())) => {}
    }
    let oid = &csr.sig_oid;
    if !sigs.iter().any(|(o, _)| o == oid) {
        let found = RSA_SIGS
            .iter()
            .chain(&EC_SIGS)
            .chain(&OTHER_SIGS)
            .find(|(o, _)| o == oid)
            .map_or(oid.clone(), |(_, n)| n.to_string());
        errs.push(CsrError::SigAlg {
            profile: profile.id(),
            allowed,
            found,
        });
    }
    // The SPKI is hashed as the CSR encodes it, and OpenSSL re-encodes
    // rsaEncryption with NULL parameters in the certificate; a CSR without
    // them would hash differently from its own certificate, and the renewal
    // "different key" check would not see the same key.
    if csr.key_oid == RSA_ENCRYPTION && !csr.rsa_params_null {
        errs.push(CsrError::RsaParams);
    }
    if csr.signature_ok == Some(false) {
        errs.push(CsrError::BadSignature);
    }
    match csr.key {
        Some(key) if errs.is_empty() => Ok(CheckedCsr {
            subject: csr.subject,
            key,
            spki_sha256: hex::encode(openssl::sha::sha256(&csr.spki_der)),
        }),
        _ => Err(errs),
    }
}

#[cfg(test)]
mod memo_tests {
    use super::*;
    use crate::kit::forms::server_dn;

    /// The remembered answer is the answer: the same for the same bytes and
    /// profile, never served for another profile or other bytes.
    #[test]
    fn a_remembered_answer_is_the_computed_one() {
        let key = crate::ca::new_key(crate::ca::KeyKind::Rsa2048).unwrap();
        let dn = server_dn(
            "www.example.ac.jp",
            "Example University",
            "Chiyoda-ku",
            "Tokyo",
        );
        let der = crate::ca::new_server_csr(&dn, &key)
            .unwrap()
            .to_der()
            .unwrap();
        let first = check_csr(&der, Profile::ServerRsa2048).unwrap();
        let again = check_csr(&der, Profile::ServerRsa2048).unwrap();
        assert_eq!(first.spki_sha256, again.spki_sha256);
        assert!(first.key.public_eq(&again.key));
        assert_eq!(
            first.subject.to_der().unwrap(),
            again.subject.to_der().unwrap()
        );
        assert!(check_csr(&der, Profile::ServerP384).is_err());
        let mut tampered = der.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(check_csr(&tampered, Profile::ServerRsa2048).is_err());
        assert!(check_csr(&der, Profile::ServerRsa2048).is_ok());
    }
}
