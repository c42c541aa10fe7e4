//! The embedded CA: how certificates and CRLs look (SPEC §6) and who signs them.
//!
//! The policy layer decides *whether* a row may be issued; this module decides
//! *how* a certificate looks and still re-checks the facts it signs (CSR
//! signature, key type, subject) because a CA never signs on trust.
//!
//! - [`profile`]: one builder per certificate profile family (server, client
//!   and S/MIME over generated keys, CA, the robot's and officers' mail
//!   certificates) over one common base (serial, names, validity, key ids,
//!   signing); `mailra init`, the demo and the tests generate their PKI with
//!   the same builders the CA issues with;
//! - the gates: [`issue_checked`] (server certificates from CSRs),
//!   [`issue_generated_checked`] (client 5/13/14 and S/MIME 7/15/16
//!   certificates over keys the CA generated: S/MIME ones are
//!   organization-validated, strict, per the CA/B Forum S/MIME BRs, see
//!   [`profile::client`]), [`revoke_checked`];
//! - [`IssuingCa`] (issuing.rs): an issuing CA with its publication URLs;
//! - keys.rs: keys, key pairs, CSRs, and [`generate_rsa2048`] (bulk key
//!   generation on every core); keypool.rs: the warm [`KeyPool`] of
//!   RSA-2048 keys generated while idle, in memory only, each handed out once;
//! - p12.rs: [`build_p12`], the PKCS#12 of a generated key, its certificate
//!   and chain under the access PIN, [`P12Encryption`] compatible (3DES,
//!   SHA-1 MAC; default) or modern (AES-256, SHA-256 MAC); pin.rs: access PINs;
//! - crl.rs: CRLs; serial.rs: serial sources.
//!
//! Clock, serial and PIN sources are parameters so that callers and tests control them.

mod crl;
mod issuing;
mod keypool;
mod keys;
mod p12;
mod pin;
pub mod profile;
mod serial;

pub use crl::{Crl, RevokedEntry};
pub use issuing::IssuingCa;
pub use keypool::{Hold, KeyPool};
pub use keys::{KeyKind, KeyPair, generate_rsa2048, new_key, new_server_csr};
pub use p12::{P12_ITERATIONS, P12Encryption, build_p12};
pub use pin::{PIN_ALPHABET, PIN_LEN, PinSource, RandomPins};
pub use profile::ca::new_ca;
pub use profile::client::{
    SMIME_OV_STRICT, add_months, check_organization_identifier, client_days,
};
pub use profile::mail::new_mail_cert;
pub use profile::server::{BR_CEILING_DAYS, Publication, issuer_file, max_server_days};
pub use serial::{RandomSerials, SerialSource};

use openssl::pkey::{PKey, PKeyRef, Private};
use openssl::x509::X509;
use time::OffsetDateTime;

use crate::model::{CaKind, ClientIssueRow, FormFamily, IssueRow, Serial};

/// Errors of the embedded CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("openssl: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    #[error("DER encoding: {0}")]
    Der(#[from] der::Error),
    #[error("the CA certificate file contains no certificate")]
    NoCertificate,
    #[error("the CA private key does not match the CA certificate")]
    KeyMismatch,
    #[error("profile {profile} needs {expected}, the CSR has {found}")]
    ProfileKey {
        profile: u8,
        expected: &'static str,
        found: String,
    },
    #[error("the CSR subject {csr} differs from the requested DN {row}")]
    SubjectMismatch { csr: String, row: String },
    #[error(transparent)]
    Dn(#[from] crate::model::DnConvError),
    #[error("the subjectAltName dNSNames {dns_names:?} do not include the CN {cn:?}")]
    CnNotInSan { cn: String, dns_names: Vec<String> },
    #[error("serial must be positive and at most 20 bytes")]
    BadSerial,
    #[error("invalid time: {0}")]
    BadTime(String),
    #[error("profile {profile} is signed by the {expected} issuing CA, this CA's key is {found}")]
    CaForProfile {
        profile: u8,
        expected: CaKind,
        found: String,
    },
    #[error("no {0} issuing CA is configured (mailra.toml [ca] ec_cert / ec_key)")]
    NotConfigured(CaKind),
    #[error(
        "this CA has no publication URLs (mailra.toml [ca] publish_url): its certificates would lack the CRL and caIssuers URLs the BRs require"
    )]
    NoPublication,
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("policy re-check before signing failed: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Policy(Vec<crate::model::RowError>),
    #[error("certificate {serial} is not a valid certificate of {institution}; not revoked")]
    NotRevocable { serial: Serial, institution: String },
    #[error(
        "certificate {serial} is a {kind:?} certificate, which this form does not revoke; not revoked"
    )]
    WrongKind {
        serial: Serial,
        kind: crate::model::CertKind,
    },
    #[error("profile {0} is not a client or S/MIME profile (5, 7, 13, 14, 15, 16)")]
    NotClientProfile(u8),
    #[error("an S/MIME certificate needs the user mail as its CN: CN {cn:?}, user mail {mail:?}")]
    SmimeMail { cn: String, mail: String },
    #[error(
        "an organization-validated S/MIME certificate names the institution's organizationIdentifier (S/MIME BR 7.1.4.2.2), and none is registered for it"
    )]
    NoOrganizationIdentifier,
    #[error("the institution's organizationIdentifier {value:?} is not valid: {why}")]
    BadOrganizationIdentifier { value: String, why: String },
    #[error("the generated key is refused: {0}")]
    WeakKey(crate::policy::goodkey::WeakKey),
    #[error("PKCS#12 access PIN: {0}")]
    Pin(&'static str),
    #[error("PKCS#12 friendly name {0:?} contains a NUL character")]
    P12Name(String),
}

/// The CA's own gate: re-checks the issuance policy for the institution
/// before it signs, so a bug upstream can never make it sign a DN or a
/// domain the officer was not entitled to, and refuses to sign a profile
/// with the wrong CA (profile 11 must come out ecdsa-with-SHA384, SPEC §6).
pub fn issue_checked(
    ca: &IssuingCa,
    inst: &crate::model::Institution,
    row: &IssueRow,
    serial: Serial,
    issued_at: OffsetDateTime,
    days: u32,
) -> Result<X509, CaError> {
    let expected = CaKind::for_profile(row.profile);
    if ca.kind() != Some(expected) {
        return Err(CaError::CaForProfile {
            profile: row.profile.id(),
            expected,
            found: ca.key_description(),
        });
    }
    let csr = crate::policy::server::precheck_issue(row, inst).map_err(CaError::Policy)?;
    profile::server::sign(ca, row, &csr.subject, &csr.key, serial, issued_at, days)
}

/// One server certificate of a batch: the CA that signs it, the row, its serial.
pub struct IssueJob<'a> {
    pub ca: &'a IssuingCa,
    pub row: &'a IssueRow,
    pub serial: Serial,
}

/// [`issue_checked`] for every row of a mail at once, on every core (a
/// signature is most of a row's cost, and the rows do not depend on each
/// other). Each job passes the same gate as alone; the answers come back in
/// the jobs' order.
pub fn issue_checked_all(
    jobs: &[IssueJob<'_>],
    inst: &crate::model::Institution,
    issued_at: OffsetDateTime,
    days: u32,
) -> Vec<Result<X509, CaError>> {
    use rayon::prelude::*;
    jobs.par_iter()
        .map(|j| issue_checked(j.ca, inst, j.row, j.serial.clone(), issued_at, days))
        .collect()
}

/// The CA's gate for client and S/MIME certificates over keys it generated
/// (profiles 5/13/14 and 7/15/16): refuses a profile of another family, a CA
/// of the wrong kind, a key other than a sound RSA 2048 key
/// ([`crate::policy::goodkey`]), and whatever the client forms' policy
/// re-check refuses (`policy::client::precheck_issue`: the institution's
/// DN values, S/MIME CN = user mail, …); then signs ([`profile::client`]).
/// S/MIME certificates carry the institution's registered
/// organizationIdentifier (e.g. `NTRJP-1234567890123`); client
/// certificates do without.
pub fn issue_generated_checked(
    ca: &IssuingCa,
    inst: &crate::model::Institution,
    row: &ClientIssueRow,
    key: &PKeyRef<Private>,
    serial: Serial,
    issued_at: OffsetDateTime,
) -> Result<X509, CaError> {
    let profile = row.profile;
    if profile.family() != FormFamily::Client {
        return Err(CaError::NotClientProfile(profile.id()));
    }
    let expected = CaKind::for_profile(profile);
    if ca.kind() != Some(expected) {
        return Err(CaError::CaForProfile {
            profile: profile.id(),
            expected,
            found: ca.key_description(),
        });
    }
    let public = PKey::public_key_from_der(&key.public_key_to_der()?)?;
    let rule = crate::policy::goodkey::KeyRule::for_profile(profile);
    crate::policy::goodkey::check(&public, &rule).map_err(CaError::WeakKey)?;
    crate::policy::client::precheck_issue(row, inst).map_err(CaError::Policy)?;
    let org_id = inst.organization_identifier.as_deref();
    profile::client::sign(ca, row, org_id, key, serial, issued_at)
}

/// What the CA knows of a certificate someone asks it to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocable {
    pub serial: Serial,
    pub institution_id: i64,
    pub status: crate::model::CertStatus,
    pub kind: crate::model::CertKind,
}

/// The CA's own gate before it revokes: re-checks at the last moment what
/// policy checked when the row was read — the certificate is one of this
/// institution's, still valid, and of a kind the form revokes (`kinds`) —
/// and returns the CRL entry to record.
pub fn revoke_checked(
    cert: &Revocable,
    inst: &crate::model::Institution,
    reason: crate::model::RevocationReason,
    kinds: &[crate::model::CertKind],
    at: OffsetDateTime,
) -> Result<RevokedEntry, CaError> {
    if cert.institution_id != inst.id || cert.status != crate::model::CertStatus::Valid {
        return Err(CaError::NotRevocable {
            serial: cert.serial.clone(),
            institution: inst.name.clone(),
        });
    }
    if !kinds.contains(&cert.kind) {
        return Err(CaError::WrongKind {
            serial: cert.serial.clone(),
            kind: cert.kind,
        });
    }
    Ok(RevokedEntry {
        serial: cert.serial.clone(),
        revoked_at: at,
        reason,
    })
}

/// A certificate's notBefore / notAfter as a time (`None`: out of range).
pub fn asn1_to_time(t: &openssl::asn1::Asn1TimeRef) -> Option<OffsetDateTime> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    OffsetDateTime::from_unix_timestamp(d.days as i64 * 86400 + d.secs as i64).ok()
}

/// SHA-256 of a DER SubjectPublicKeyInfo, lower-case hex.
pub fn spki_sha256(spki_der: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(spki_der))
}

/// [`spki_sha256`] of a certificate's key, over the SPKI bytes exactly as the
/// certificate encodes them (read with the `x509-cert` parser: re-encoding
/// the key through OpenSSL 3's encoder costs more than signing). Empty only
/// for a certificate that does not parse, which no real hash equals.
pub fn cert_spki_sha256(cert: &X509) -> String {
    use der::{Decode, Encode};
    cert.to_der()
        .ok()
        .and_then(|d| x509_cert::Certificate::from_der(&d).ok())
        .and_then(|c| c.tbs_certificate.subject_public_key_info.to_der().ok())
        .map(|d| spki_sha256(&d))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revocation_gate_refuses_another_institution_a_revoked_or_another_kind() {
        use crate::model::{CertKind, CertStatus, Institution, RevocationReason};
        let inst = Institution {
            id: 7,
            name: "Example University".into(),
            st: "Tokyo".into(),
            l: "Chiyoda-ku".into(),
            domains: vec![],
            organization_identifier: None,
            p12_encryption: None,
        };
        let cert = |institution_id, status, kind| Revocable {
            serial: Serial::from_bytes(&[0x0A]),
            institution_id,
            status,
            kind,
        };
        let (v, r) = (CertStatus::Valid, CertStatus::Revoked);
        let code = [CertKind::CodeSigning];
        let client = [CertKind::Client, CertKind::Smime];
        let cases: Vec<(Revocable, &[CertKind], Option<&str>)> = vec![
            (cert(7, v, CertKind::CodeSigning), &code, None),
            (cert(7, v, CertKind::Smime), &client, None),
            (
                cert(8, v, CertKind::CodeSigning),
                &code,
                Some("not a valid certificate of Example University"),
            ),
            (
                cert(7, r, CertKind::CodeSigning),
                &code,
                Some("not a valid certificate"),
            ),
            (
                cert(7, v, CertKind::Server),
                &code,
                Some("Server certificate, which this form does not revoke"),
            ),
            (
                cert(7, v, CertKind::CodeSigning),
                &client,
                Some("CodeSigning certificate"),
            ),
        ];
        for (c, kinds, want) in cases {
            let got = revoke_checked(
                &c,
                &inst,
                RevocationReason::Superseded,
                kinds,
                OffsetDateTime::UNIX_EPOCH,
            );
            match (got, want) {
                (Ok(e), None) => assert_eq!(e.serial, c.serial),
                (Err(e), Some(w)) => assert!(e.to_string().contains(w), "{e}"),
                (got, want) => panic!("{got:?} / {want:?}"),
            }
        }
    }

    #[test]
    fn spki_hash_is_lower_hex_sha256() {
        assert_eq!(
            spki_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
