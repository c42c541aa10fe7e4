//! One certificate builder per SPEC §6 profile family, over one common base.
//!
//! - [`server`]: profiles 3 and 11, OV server certificates following the CA/B
//!   Forum TLS Baseline Requirements;
//! - [`client`]: profiles 5/13/14 (client) and 7/15/16 (S/MIME, OV strict per
//!   the CA/B Forum S/MIME Baseline Requirements) over keys the CA generates;
//! - [`ca`]: the CA certificates `mailra init` generates (issuing CAs, officer
//!   CA, robot CA);
//! - [`mail`]: S/MIME certificates (the robot's, and officers' in the demo and tests).
//!
//! The base ([`Draft`]) sets what every profile shares: version 3, a serial,
//! issuer, subject and key, the validity and the key identifiers, and signs.
//!
//! **Validity, one convention for all profiles.** notBefore is the issuance
//! instant less [`BACKDATE`] (one hour: relying parties whose clocks run a
//! little behind must not see a "not yet valid" certificate; Let's Encrypt
//! does the same, the BRs allow up to 48 hours); notAfter is notBefore plus
//! `days` × 86 400 s less one second, because RFC 5280 counts both ends: the
//! validity period is then exactly `days` days, as the BR limits count it.

pub mod ca;
pub mod client;
pub mod mail;
pub mod server;

use der::Encode;
use der::oid::AssociatedOid;
use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::pkey::{HasPublic, PKeyRef, Private};
use openssl::x509::extension::{AuthorityKeyIdentifier, SubjectKeyIdentifier};
use openssl::x509::{X509, X509Builder, X509Extension, X509NameRef, X509Ref};
use time::{Duration, OffsetDateTime};

use super::CaError;
use super::keys::digest_for;
use super::serial::serial_to_asn1;
use crate::model::Serial;

/// How far notBefore lies before the issuance instant.
pub const BACKDATE: Duration = Duration::hours(1);

/// The validity of a certificate issued at `issued_at` for `days` days:
/// `(notBefore, notAfter)` by the convention of this module.
pub fn validity(
    issued_at: OffsetDateTime,
    days: u32,
) -> Result<(OffsetDateTime, OffsetDateTime), CaError> {
    if days == 0 {
        return Err(CaError::BadTime("validity of zero days".into()));
    }
    let not_before = issued_at - BACKDATE;
    let not_after = not_before + Duration::days(i64::from(days)) - Duration::seconds(1);
    Ok((not_before, not_after))
}

/// A certificate being built: the fields every profile shares are set.
pub(crate) struct Draft {
    b: X509Builder,
}

impl Draft {
    /// Version 3, serial, issuer and subject names, subject key, validity.
    pub(crate) fn new<T: HasPublic>(
        serial: &Serial,
        issuer: &X509NameRef,
        subject: &X509NameRef,
        key: &PKeyRef<T>,
        issued_at: OffsetDateTime,
        days: u32,
    ) -> Result<Draft, CaError> {
        let (nb, na) = validity(issued_at, days)?;
        let mut b = X509::builder()?;
        b.set_version(2)?;
        let serial = serial_to_asn1(serial)?;
        b.set_serial_number(&serial)?;
        b.set_issuer_name(issuer)?;
        b.set_subject_name(subject)?;
        b.set_pubkey(key)?;
        let (nb, na) = (
            Asn1Time::from_unix(nb.unix_timestamp())?,
            Asn1Time::from_unix(na.unix_timestamp())?,
        );
        b.set_not_before(&nb)?;
        b.set_not_after(&na)?;
        Ok(Draft { b })
    }

    pub(crate) fn builder(&mut self) -> &mut X509Builder {
        &mut self.b
    }

    pub(crate) fn add(&mut self, ext: X509Extension) -> Result<(), CaError> {
        self.b.append_extension(ext)?;
        Ok(())
    }

    /// An extension encoded with the RustCrypto `x509-cert` types (those the
    /// openssl crate has no builder for: policies, CRL DP, AIA).
    pub(crate) fn add_der<T: AssociatedOid + Encode>(
        &mut self,
        value: &T,
        critical: bool,
    ) -> Result<(), CaError> {
        let oid = Asn1Object::from_str(&T::OID.to_string())?;
        let der = Asn1OctetString::new_from_bytes(&value.to_der()?)?;
        self.add(X509Extension::new_from_der(&oid, critical, &der)?)
    }

    /// subjectKeyIdentifier, and authorityKeyIdentifier (key id) unless
    /// self-signed (`issuer` None): RFC 5280 §4.2.1.1 lets a root omit it.
    pub(crate) fn key_ids(&mut self, issuer: Option<&X509Ref>) -> Result<(), CaError> {
        let ski = SubjectKeyIdentifier::new().build(&self.b.x509v3_context(issuer, None))?;
        self.add(ski)?;
        if let Some(issuer) = issuer {
            let aki = AuthorityKeyIdentifier::new()
                .keyid(true)
                .build(&self.b.x509v3_context(Some(issuer), None))?;
            self.add(aki)?;
        }
        Ok(())
    }

    /// Signs with the issuer's key; the digest follows the key (SHA-384 for
    /// P-384, SHA-256 otherwise).
    pub(crate) fn sign(mut self, key: &PKeyRef<Private>) -> Result<X509, CaError> {
        self.b.sign(key, digest_for(key))?;
        Ok(self.b.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn validity_is_backdated_and_exactly_days_long() {
        let at = datetime!(2026-04-01 09:00:00 UTC);
        let cases = [
            (
                1,
                datetime!(2026-04-01 08:00:00 UTC),
                datetime!(2026-04-02 07:59:59 UTC),
            ),
            (
                200,
                datetime!(2026-04-01 08:00:00 UTC),
                datetime!(2026-10-18 07:59:59 UTC),
            ),
        ];
        for (days, nb, na) in cases {
            assert_eq!(validity(at, days).unwrap(), (nb, na), "{days}");
            // RFC 5280 counts both ends: the period is exactly `days` days.
            assert_eq!(
                na - nb + Duration::seconds(1),
                Duration::days(i64::from(days))
            );
        }
        assert!(matches!(validity(at, 0), Err(CaError::BadTime(_))));
    }
}
