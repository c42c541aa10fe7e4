//! CRL v2 generation.
//!
//! The TBSCertList is built with the RustCrypto `x509-cert` types and its DER
//! signed with the CA key through OpenSSL, so the CA key never leaves OpenSSL.
//!
//! Layout: version v2; thisUpdate/nextUpdate as UTCTime (GeneralizedTime from
//! 2050 on, RFC 5280 §5.1.2.4); one entry per revoked serial with its
//! revocationDate and, except for `unspecified`, a reasonCode entry extension
//! (RFC 5280 §5.3.1: the extension SHOULD be absent rather than carry 0);
//! CRL extensions authorityKeyIdentifier and cRLNumber. An empty CRL omits
//! revokedCertificates entirely, as DER requires for an empty optional list.

use std::time::Duration;

use der::asn1::{Any, BitString, GeneralizedTime, OctetString, Uint, UtcTime};
use der::oid::AssociatedOid;
use der::oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, SHA_256_WITH_RSA_ENCRYPTION};
use der::{Decode, Encode};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKeyRef, Private};
use openssl::sign::Signer;
use openssl::x509::X509;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::pkix::crl::{CrlNumber, CrlReason};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

use super::CaError;
use crate::model::{RevocationReason, Serial};

/// One revoked certificate as it goes into the CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    pub serial: Serial,
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
}

/// A signed CRL in both encodings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    pub der: Vec<u8>,
    pub pem: Vec<u8>,
}

pub(super) fn build(
    ca: &X509,
    key: &PKeyRef<Private>,
    revoked: &[RevokedEntry],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    crl_number: u64,
) -> Result<Crl, CaError> {
    if next_update <= this_update {
        return Err(CaError::BadTime(
            "nextUpdate must be after thisUpdate".into(),
        ));
    }
    let (md, alg) = signature_alg(key);
    let issuer = Name::from_der(&ca.subject_name().to_der()?)?;

    let entries = revoked
        .iter()
        .map(revoked_cert)
        .collect::<Result<Vec<_>, _>>()?;

    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_id(ca)?)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number = CrlNumber(Uint::new(&crl_number.to_be_bytes())?);
    let extensions = vec![extension(&aki)?, extension(&number)?];

    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: alg.clone(),
        issuer,
        this_update: to_time(this_update)?,
        next_update: Some(to_time(next_update)?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(extensions),
    };
    let tbs_der = tbs.to_der()?;
    let mut signer = Signer::new(md, key)?;
    // For EC keys OpenSSL already returns the DER ECDSA-Sig-Value.
    let sig = signer.sign_oneshot_to_vec(&tbs_der)?;
    let list = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(&sig)?,
    };
    let der = list.to_der()?;
    Ok(Crl {
        pem: pem("X509 CRL", &der),
        der,
    })
}

/// SHA-256 with RSA; for EC keys the digest matches the curve (P-384 →
/// SHA-384, else SHA-256), as root programs require for ECDSA.
fn signature_alg(key: &PKeyRef<Private>) -> (MessageDigest, AlgorithmIdentifierOwned) {
    if key.id() == Id::EC {
        let p384 = key.ec_key().ok().and_then(|k| k.group().curve_name()) == Some(Nid::SECP384R1);
        let (md, oid) = if p384 {
            (MessageDigest::sha384(), ECDSA_WITH_SHA_384)
        } else {
            (MessageDigest::sha256(), ECDSA_WITH_SHA_256)
        };
        (
            md,
            AlgorithmIdentifierOwned {
                oid,
                parameters: None,
            },
        )
    } else {
        (
            MessageDigest::sha256(),
            AlgorithmIdentifierOwned {
                oid: SHA_256_WITH_RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
        )
    }
}

fn revoked_cert(e: &RevokedEntry) -> Result<RevokedCert, CaError> {
    let b = e.serial.as_bytes();
    if b.is_empty() {
        return Err(CaError::BadSerial);
    }
    let reason = match e.reason {
        RevocationReason::Unspecified => None,
        RevocationReason::KeyCompromise => Some(CrlReason::KeyCompromise),
        RevocationReason::AffiliationChanged => Some(CrlReason::AffiliationChanged),
        RevocationReason::Superseded => Some(CrlReason::Superseded),
        RevocationReason::CessationOfOperation => Some(CrlReason::CessationOfOperation),
    };
    Ok(RevokedCert {
        serial_number: SerialNumber::new(b).map_err(|_| CaError::BadSerial)?,
        revocation_date: to_time(e.revoked_at)?,
        crl_entry_extensions: reason.map(|r| extension(&r).map(|x| vec![x])).transpose()?,
    })
}

fn extension<T: AssociatedOid + Encode>(value: &T) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: T::OID,
        critical: false,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// The CA's subjectKeyIdentifier, or (if it has none) the RFC 5280 §4.2.1.2
/// method 1 value: SHA-1 of the subjectPublicKey bits.
fn key_id(ca: &X509) -> Result<Vec<u8>, CaError> {
    if let Some(ski) = ca.subject_key_id() {
        return Ok(ski.as_slice().to_vec());
    }
    let cert = Certificate::from_der(&ca.to_der()?)?;
    let bits = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key;
    Ok(openssl::sha::sha1(bits.raw_bytes()).to_vec())
}

/// UTCTime through 2049, GeneralizedTime after (RFC 5280 §5.1.2.4).
fn to_time(t: OffsetDateTime) -> Result<Time, CaError> {
    let secs = u64::try_from(t.unix_timestamp())
        .map_err(|_| CaError::BadTime(format!("{t} is before 1970")))?;
    let d = Duration::from_secs(secs);
    Ok(if t.year() < 2050 {
        Time::UtcTime(UtcTime::from_unix_duration(d)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(d)?)
    })
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn time_encoding_switches_at_2050() {
        let cases = [
            (datetime!(2025-04-01 12:00:00 UTC), true),
            (datetime!(2049-12-31 23:59:59 UTC), true),
            (datetime!(2050-01-01 00:00:00 UTC), false),
        ];
        for (t, utc) in cases {
            let enc = to_time(t).unwrap();
            assert_eq!(matches!(enc, Time::UtcTime(_)), utc, "{t}");
            assert_eq!(enc.to_unix_duration().as_secs() as i64, t.unix_timestamp());
        }
        assert!(to_time(datetime!(1969-12-31 23:59:59 UTC)).is_err());
    }

    #[test]
    fn entry_serials_and_reasons() {
        let at = datetime!(2025-04-01 12:00:00 UTC);
        // None: refused; Some(None): no reasonCode extension.
        type Expected = Option<Option<CrlReason>>;
        let cases: &[(&[u8], RevocationReason, Expected)] = &[
            (&[], RevocationReason::KeyCompromise, None),
            (&[1; 21], RevocationReason::KeyCompromise, None),
            (&[0x12, 0x34], RevocationReason::Unspecified, Some(None)),
            (
                &[0x12],
                RevocationReason::Superseded,
                Some(Some(CrlReason::Superseded)),
            ),
            (
                &[0x7f; 16],
                RevocationReason::CessationOfOperation,
                Some(Some(CrlReason::CessationOfOperation)),
            ),
        ];
        for (bytes, reason, expected) in cases {
            let e = RevokedEntry {
                serial: Serial::from_bytes(bytes),
                revoked_at: at,
                reason: *reason,
            };
            let got = revoked_cert(&e).ok().map(|rc| {
                assert_eq!(rc.serial_number.as_bytes(), e.serial.as_bytes());
                rc.crl_entry_extensions.map(|x| {
                    assert_eq!(x.len(), 1);
                    assert_eq!(x[0].extn_id, CrlReason::OID);
                    CrlReason::from_der(x[0].extn_value.as_bytes()).unwrap()
                })
            });
            assert_eq!(&got, expected, "{bytes:?} {reason:?}");
        }
    }

    #[test]
    fn pem_wraps_at_64() {
        let p = String::from_utf8(pem("X509 CRL", &[0u8; 100])).unwrap();
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(lines[0], "-----BEGIN X509 CRL-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END X509 CRL-----"));
        use base64::Engine;
        let body: String = lines[1..lines.len() - 1].concat();
        let back = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        assert_eq!(back, vec![0u8; 100]);
    }
}
