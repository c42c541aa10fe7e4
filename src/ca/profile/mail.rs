//! S/MIME certificates (SPEC §6 profiles 7/15/16 family): the robot's own
//! signing certificate that `mailra init` generates, and the officers'
//! certificates of the demo and the tests.
//!
//! RSA 2048, keyUsage digitalSignature + nonRepudiation + keyEncipherment
//! (critical), EKU emailProtection, the address in subjectAltName rfc822Name
//! and in the subject's emailAddress.

use openssl::nid::Nid;
use openssl::x509::X509NameBuilder;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use time::OffsetDateTime;

use super::Draft;
use crate::ca::CaError;
use crate::ca::keys::{KeyKind, KeyPair, new_key};
use crate::ca::serial::{RandomSerials, SerialSource};

/// An RSA 2048 S/MIME signing/encryption certificate for `email`, issued by
/// `ca`; the subject is the CA's C and O with `CN=cn, emailAddress=email`.
pub fn new_mail_cert(
    ca: &KeyPair,
    email: &str,
    cn: &str,
    now: OffsetDateTime,
    days: u32,
) -> Result<KeyPair, CaError> {
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

    let serial = RandomSerials.next_serial();
    let mut d = Draft::new(&serial, ca.cert.subject_name(), &name, &key, now, days)?;
    d.add(BasicConstraints::new().critical().build()?)?;
    d.add(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .non_repudiation()
            .key_encipherment()
            .build()?,
    )?;
    d.add(ExtendedKeyUsage::new().email_protection().build()?)?;
    let san = SubjectAlternativeName::new()
        .email(email)
        .build(&d.builder().x509v3_context(Some(&ca.cert), None))?;
    d.add(san)?;
    d.key_ids(Some(&ca.cert))?;
    let cert = d.sign(&ca.key)?;
    Ok(KeyPair { cert, key })
}
