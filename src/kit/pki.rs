//! Signing identities for application mails.
//!
//! Officers are made with the CA's own S/MIME builder
//! ([`ca::new_mail_cert`]), as `mailra init` makes the robot. The S/MIME
//! attack tests also need certificates no profile would make — a CA flag, a
//! server EKU, an expired validity, no address, a 1024-bit or P-256 key, a
//! chosen serial to put on a CRL: [`Spec`] and [`make`] build those, in this
//! one place, over the same base as every profile.

use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::X509NameBuilder;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use time::{Duration, OffsetDateTime};

use crate::ca::profile::Draft;
use crate::ca::{self, CaError, KeyPair};
use crate::mail::sign::Signer;
use crate::model::Serial;

/// `who` signing mails, with `ca` in the chain it sends.
pub fn signer(who: &KeyPair, ca: &KeyPair) -> Signer {
    Signer {
        cert: who.cert.clone(),
        key: who.key.clone(),
        chain: vec![ca.cert.clone()],
    }
}

/// An officer's signing identity: an S/MIME certificate for `email` (common
/// name `cn`) issued by the officer CA `ca` at `now` for `days` days.
pub fn officer(
    ca: &KeyPair,
    email: &str,
    cn: &str,
    now: OffsetDateTime,
    days: u32,
) -> Result<Signer, CaError> {
    Ok(signer(&ca::new_mail_cert(ca, email, cn, now, days)?, ca))
}

/// The secretariat's own CA (`[secretariat] trust_anchor`): apart from the
/// officer CA, so no officer's certificate ever signs a command mail.
pub fn secretariat_ca(now: OffsetDateTime) -> Result<KeyPair, CaError> {
    ca::new_ca(
        "mailra Secretariat CA",
        "mailra Secretariat",
        now,
        3650,
        ca::KeyKind::Rsa2048,
    )
}

/// A secretariat member's signing identity under the secretariat CA `ca`
/// (the same S/MIME profile as an officer's).
pub fn secretariat_member(
    ca: &KeyPair,
    email: &str,
    now: OffsetDateTime,
) -> Result<Signer, CaError> {
    officer(ca, email, "Secretariat Member", now, 365)
}

/// The key of a [`Spec`] certificate.
#[derive(Clone, Copy)]
pub enum Key {
    Rsa(u32),
    P256,
}

/// The extended key usage of a [`Spec`] certificate.
#[derive(Clone, Copy)]
pub enum Eku {
    EmailProtection,
    ServerAuth,
    CodeSigning,
}

/// A certificate as a test wants it, flaws included. Subject
/// `C=JP, O=mailra test, CN=cn`.
pub struct Spec<'a> {
    pub cn: &'a str,
    /// The subject's O= (`mailra test` when `None`).
    pub org: Option<&'a str>,
    /// The subjectAltName rfc822Name, if any.
    pub email: Option<&'a str>,
    /// basicConstraints CA:TRUE with keyCertSign and cRLSign.
    pub ca: bool,
    pub eku: Option<Eku>,
    pub serial: u32,
    /// Validity relative to now, in days.
    pub from_days: i64,
    pub to_days: i64,
    pub key: Key,
}

impl<'a> Spec<'a> {
    /// A well-formed officer certificate: RSA 2048, emailProtection, the
    /// address in subjectAltName, valid from 30 days ago for a year.
    pub fn officer(cn: &'a str, email: &'a str, serial: u32) -> Self {
        Spec {
            cn,
            org: None,
            email: Some(email),
            ca: false,
            eku: Some(Eku::EmailProtection),
            serial,
            from_days: -30,
            to_days: 365,
            key: Key::Rsa(2048),
        }
    }

    /// A root CA: RSA 2048, valid from a year ago for ten years.
    pub fn root(cn: &'a str, serial: u32) -> Self {
        Spec {
            cn,
            org: None,
            email: None,
            ca: true,
            eku: None,
            serial,
            from_days: -365,
            to_days: 3650,
            key: Key::Rsa(2048),
        }
    }
}

fn key(kind: Key) -> Result<PKey<Private>, CaError> {
    Ok(match kind {
        Key::Rsa(bits) => PKey::from_rsa(Rsa::generate(bits)?)?,
        Key::P256 => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            PKey::from_ec_key(EcKey::generate(&group)?)?
        }
    })
}

/// Builds the certificate `spec` describes, signed by `issuer` (self-signed
/// when None).
pub fn make(spec: &Spec<'_>, issuer: Option<&KeyPair>) -> Result<KeyPair, CaError> {
    let key = key(spec.key)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("C", "JP")?;
    name.append_entry_by_text("O", spec.org.unwrap_or("mailra test"))?;
    name.append_entry_by_text("CN", spec.cn)?;
    let name = name.build();
    let days = u32::try_from(spec.to_days - spec.from_days)
        .map_err(|_| CaError::BadTime("a validity that ends before it starts".into()))?;
    let start = OffsetDateTime::now_utc() + Duration::days(spec.from_days);
    let serial = Serial::from_bytes(&spec.serial.to_be_bytes());
    let issuer_name = issuer.map_or(&*name, |i| i.cert.subject_name());
    let mut d = Draft::new(&serial, issuer_name, &name, &key, start, days)?;
    if spec.ca {
        crate::ca::profile::ca::ca_extensions(&mut d)?;
    } else {
        d.add(BasicConstraints::new().build()?)?;
        d.add(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()?,
        )?;
    }
    if let Some(eku) = spec.eku {
        let mut e = ExtendedKeyUsage::new();
        match eku {
            Eku::EmailProtection => e.email_protection(),
            Eku::ServerAuth => e.server_auth(),
            Eku::CodeSigning => e.code_signing(),
        };
        d.add(e.build()?)?;
    }
    d.key_ids(issuer.map(|i| &*i.cert))?;
    if let Some(email) = spec.email {
        let san = SubjectAlternativeName::new()
            .email(email)
            .build(&d.builder().x509v3_context(issuer.map(|i| &*i.cert), None))?;
        d.add(san)?;
    }
    let cert = d.sign(issuer.map_or(&key, |i| &i.key))?;
    Ok(KeyPair { cert, key })
}
