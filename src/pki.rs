//! Generating PKI material: the CAs and S/MIME certificates `mailra init`
//! writes for a new installation, and the keys/CSRs the demo and tests use
//! in place of real officers and servers.
//!
//! Generated certificates start one hour before `now` to tolerate clock skew
//! between this host and the relying parties.

use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder, X509Ref, X509Req};
use time::OffsetDateTime;

use crate::ca::{self, CaError, RandomSerials, SerialSource};
use crate::model::Dn;

/// Errors while generating keys, certificates or CSRs.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("openssl: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    #[error(transparent)]
    Ca(#[from] CaError),
    #[error("validity must be at least one day")]
    ZeroDays,
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A certificate with its private key.
#[derive(Clone)]
pub struct KeyPair {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl KeyPair {
    /// Reads a PEM certificate (the first of the file) and its PEM private key.
    pub fn load(cert: &std::path::Path, key: &std::path::Path) -> Result<KeyPair, PkiError> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|source| PkiError::Io {
                path: p.display().to_string(),
                source,
            })
        };
        Ok(KeyPair {
            cert: X509::from_pem(&read(cert)?)?,
            key: PKey::private_key_from_pem(&read(key)?)?,
        })
    }
    pub fn cert_pem(&self) -> Result<Vec<u8>, PkiError> {
        Ok(self.cert.to_pem()?)
    }
    /// The private key as unencrypted PKCS#8 PEM (`mailra init` writes it 0600).
    pub fn key_pem(&self) -> Result<Vec<u8>, PkiError> {
        Ok(self.key.private_key_to_pem_pkcs8()?)
    }
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field(
                "subject",
                &ca::x509_name_to_dn(self.cert.subject_name()).to_string(),
            )
            .finish_non_exhaustive()
    }
}

/// Key algorithms the service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa2048,
    P384,
}

pub fn new_key(kind: KeyKind) -> Result<PKey<Private>, PkiError> {
    Ok(match kind {
        KeyKind::Rsa2048 => PKey::from_rsa(Rsa::generate(2048)?)?,
        KeyKind::P384 => {
            let group = EcGroup::from_curve_name(Nid::SECP384R1)?;
            PKey::from_ec_key(EcKey::generate(&group)?)?
        }
    })
}

/// SHA-384 for EC (P-384) keys, SHA-256 otherwise.
fn digest_for(key: &PKey<Private>) -> MessageDigest {
    if key.id() == Id::EC {
        MessageDigest::sha384()
    } else {
        MessageDigest::sha256()
    }
}

/// Serial, version, validity and subject key shared by all generated certs.
fn base_builder(
    key: &PKey<Private>,
    now: OffsetDateTime,
    days: u32,
) -> Result<X509Builder, PkiError> {
    if days == 0 {
        return Err(PkiError::ZeroDays);
    }
    let serial = RandomSerials.next_serial();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial = openssl::bn::BigNum::from_slice(serial.as_bytes())?.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    let nb = now.unix_timestamp() - 3600;
    let not_before = Asn1Time::from_unix(nb)?;
    let not_after = Asn1Time::from_unix(nb + i64::from(days) * 86_400)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    b.set_pubkey(key)?;
    Ok(b)
}

fn key_ids(b: &mut X509Builder, issuer: Option<&X509Ref>) -> Result<(), PkiError> {
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(issuer, None))?;
    b.append_extension(ski)?;
    if let Some(issuer) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(issuer), None))?;
        b.append_extension(aki)?;
    }
    Ok(())
}

/// A self-signed root CA (`C=JP, O=org, CN=cn`), keyCertSign + cRLSign.
pub fn new_ca(
    cn: &str,
    org: &str,
    now: OffsetDateTime,
    days: u32,
    key: KeyKind,
) -> Result<KeyPair, PkiError> {
    let key = new_key(key)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "JP")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, org)?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    let name = name.build();

    let mut b = base_builder(&key, now, days)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .digital_signature()
            .build()?,
    )?;
    // Self-signed: SKI only; an AKI equal to the SKI adds nothing for a root.
    key_ids(&mut b, None)?;
    b.sign(&key, digest_for(&key))?;
    Ok(KeyPair {
        cert: b.build(),
        key,
    })
}

/// An RSA 2048 S/MIME signing/encryption certificate for `email`, issued by `ca`.
pub fn new_mail_cert(
    ca: &KeyPair,
    email: &str,
    cn: &str,
    now: OffsetDateTime,
    days: u32,
) -> Result<KeyPair, PkiError> {
    let key = new_key(KeyKind::Rsa2048)?;
    let mut name = X509NameBuilder::new()?;
    for e in ca.cert.subject_name().entries() {
        let nid = e.object().nid();
        if nid == Nid::COUNTRYNAME || nid == Nid::ORGANIZATIONNAME {
            name.append_entry(e)?;
        }
    }
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    name.append_entry_by_nid(Nid::PKCS9_EMAILADDRESS, email)?;
    let name = name.build();

    let mut b = base_builder(&key, now, days)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(ca.cert.subject_name())?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .non_repudiation()
            .key_encipherment()
            .build()?,
    )?;
    b.append_extension(ExtendedKeyUsage::new().email_protection().build()?)?;
    let san = SubjectAlternativeName::new()
        .email(email)
        .build(&b.x509v3_context(Some(&ca.cert), None))?;
    b.append_extension(san)?;
    key_ids(&mut b, Some(&ca.cert))?;
    b.sign(&ca.key, digest_for(&ca.key))?;
    Ok(KeyPair {
        cert: b.build(),
        key,
    })
}

/// A server CSR for a form-order DN, subject in X.509 order (C … CN);
/// SHA-256 for RSA keys, SHA-384 for P-384 keys.
pub fn new_server_csr(dn: &Dn, key: &PKey<Private>) -> Result<X509Req, PkiError> {
    let mut b = X509Req::builder()?;
    let subject = ca::dn_to_x509_name(dn)?;
    b.set_subject_name(&subject)?;
    b.set_pubkey(key)?;
    b.sign(key, digest_for(key))?;
    Ok(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-04-01 09:00:00 UTC);

    #[test]
    fn ca_is_self_signed_and_backdated() {
        for kind in [KeyKind::Rsa2048, KeyKind::P384] {
            let ca = new_ca("Test CA", "Example", NOW, 10, kind).unwrap();
            assert!(ca.cert.verify(&ca.key).unwrap(), "{kind:?}");
            let nb = Asn1Time::from_unix(NOW.unix_timestamp() - 3600).unwrap();
            assert_eq!(
                ca.cert.not_before().compare(&nb).unwrap(),
                std::cmp::Ordering::Equal
            );
            assert!(ca.cert.subject_key_id().is_some());
        }
    }

    #[test]
    fn zero_days_is_refused() {
        assert!(matches!(
            new_ca("x", "y", NOW, 0, KeyKind::P384),
            Err(PkiError::ZeroDays)
        ));
    }

    #[test]
    fn csr_subject_round_trips() {
        let dn = Dn(vec![
            ("CN".into(), "www.example.ac.jp".into()),
            ("O".into(), "Example University".into()),
            ("L".into(), "Chiyoda-ku".into()),
            ("ST".into(), "Tokyo".into()),
            ("C".into(), "JP".into()),
        ]);
        for kind in [KeyKind::Rsa2048, KeyKind::P384] {
            let key = new_key(kind).unwrap();
            let csr = new_server_csr(&dn, &key).unwrap();
            assert!(csr.verify(&key).unwrap());
            assert_eq!(ca::x509_name_to_dn(csr.subject_name()), dn);
            let first = csr.subject_name().entries().next().unwrap();
            assert_eq!(first.object().nid(), Nid::COUNTRYNAME);
        }
    }
}
