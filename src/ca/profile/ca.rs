//! CA certificates: the self-signed CAs `mailra init` generates when none is
//! given (the issuing CAs for profiles 3 and 11, the officer CA, the robot CA).
//!
//! RFC 5280 root profile, as `lint_pkix_cert` checks it: basicConstraints
//! CA (critical), keyUsage keyCertSign + cRLSign + digitalSignature
//! (critical), subjectKeyIdentifier; no authorityKeyIdentifier (self-signed).

use openssl::nid::Nid;
use openssl::x509::X509NameBuilder;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use time::OffsetDateTime;

use super::Draft;
use crate::ca::CaError;
use crate::ca::keys::{KeyKind, KeyPair, new_key};
use crate::ca::serial::{RandomSerials, SerialSource};

/// A self-signed CA `C=JP, O=org, CN=cn` with a new key of `kind`, valid for
/// `days` days from `now` (see [`super::validity`]).
pub fn new_ca(
    cn: &str,
    org: &str,
    now: OffsetDateTime,
    days: u32,
    kind: KeyKind,
) -> Result<KeyPair, CaError> {
    let key = new_key(kind)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "JP")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, org)?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    let name = name.build();

    let serial = RandomSerials.next_serial();
    let mut d = Draft::new(&serial, &name, &name, &key, now, days)?;
    ca_extensions(&mut d)?;
    d.key_ids(None)?;
    let cert = d.sign(&key)?;
    Ok(KeyPair { cert, key })
}

/// The extensions of every CA certificate: CA:TRUE, and keyCertSign,
/// cRLSign, digitalSignature (critical both).
pub(crate) fn ca_extensions(d: &mut Draft) -> Result<(), CaError> {
    d.add(BasicConstraints::new().critical().ca().build()?)?;
    d.add(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .digital_signature()
            .build()?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
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
            Err(CaError::BadTime(_))
        ));
    }
}
