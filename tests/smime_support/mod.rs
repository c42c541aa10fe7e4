//! A throw-away test PKI built with the openssl crate: officer CA, officers, robot,
//! an unrelated CA, a CA-flagged and an expired certificate.
#![allow(dead_code)]

use mailra::mail::sign::Signer;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509NameBuilder};
use time::OffsetDateTime;

pub struct Identity {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl Identity {
    pub fn signer(&self, ca: &Identity) -> Signer {
        Signer {
            cert: self.cert.clone(),
            key: self.key.clone(),
            chain: vec![ca.cert.clone()],
        }
    }
}

pub struct Spec<'a> {
    pub cn: &'a str,
    pub email: Option<&'a str>,
    pub ca: bool,
    pub eku: Option<&'a str>,
    pub serial: u32,
    /// Validity relative to now, in days.
    pub from_days: i64,
    pub to_days: i64,
    pub key: KeyKind,
}

#[derive(Clone, Copy)]
pub enum KeyKind {
    Rsa(u32),
    P256,
}

impl<'a> Spec<'a> {
    pub fn officer(cn: &'a str, email: &'a str, serial: u32) -> Self {
        Spec {
            cn,
            email: Some(email),
            ca: false,
            eku: Some("emailProtection"),
            serial,
            from_days: -30,
            to_days: 365,
            key: KeyKind::Rsa(2048),
        }
    }
}

fn key(kind: KeyKind) -> PKey<Private> {
    match kind {
        KeyKind::Rsa(bits) => PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap(),
        KeyKind::P256 => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
            PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
        }
    }
}

pub fn make(spec: &Spec<'_>, issuer: Option<&Identity>) -> Identity {
    let key = key(spec.key);
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("C", "JP").unwrap();
    name.append_entry_by_text("O", "mailra test").unwrap();
    name.append_entry_by_text("CN", spec.cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&Asn1Integer::from_bn(&BigNum::from_u32(spec.serial).unwrap()).unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&name, |i| i.cert.subject_name()))
        .unwrap();
    b.set_pubkey(&key).unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    b.set_not_before(&Asn1Time::from_unix(now + spec.from_days * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + spec.to_days * 86_400).unwrap())
        .unwrap();
    if spec.ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .digital_signature()
                .build()
                .unwrap(),
        )
        .unwrap();
    } else {
        b.append_extension(BasicConstraints::new().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    if let Some(eku) = spec.eku {
        let mut e = ExtendedKeyUsage::new();
        match eku {
            "emailProtection" => e.email_protection(),
            _ => e.server_auth(),
        };
        b.append_extension(e.build().unwrap()).unwrap();
    }
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(ski).unwrap();
    if let Some(i) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(&i.cert), None))
            .unwrap();
        b.append_extension(aki).unwrap();
    }
    if let Some(email) = spec.email {
        let san = SubjectAlternativeName::new()
            .email(email)
            .build(&b.x509v3_context(issuer.map(|i| &*i.cert), None))
            .unwrap();
        b.append_extension(san).unwrap();
    }
    let signing_key = issuer.map_or(&key, |i| &i.key);
    b.sign(signing_key, MessageDigest::sha256()).unwrap();
    Identity {
        cert: b.build(),
        key,
    }
}

pub fn ca(cn: &str, serial: u32) -> Identity {
    make(
        &Spec {
            cn,
            email: None,
            ca: true,
            eku: None,
            serial,
            from_days: -365,
            to_days: 3650,
            key: KeyKind::Rsa(2048),
        },
        None,
    )
}

/// RFC 5322 date for a Date header.
pub fn rfc2822(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc2822)
        .unwrap()
}
