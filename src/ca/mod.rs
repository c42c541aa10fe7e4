//! The embedded issuing CA: turns a validated issuance row into a signed X.509
//! server certificate and a list of revocations into a signed CRL.
//!
//! The policy layer decides *whether* a row may be issued; this module decides
//! *how* a certificate looks (SPEC §6) and still re-checks the facts it signs
//! (CSR signature, key type, subject) because a CA never signs on trust.
//! Clock and serial source are parameters so that callers and tests control them.

mod crl;

pub use crl::{Crl, RevokedEntry};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::EcKeyRef;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, PKeyRef, Private, Public};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Name, X509NameBuilder, X509NameRef};
use time::OffsetDateTime;

use crate::model::{CaKind, Dn, IssueRow, Profile, Serial};

/// Upper bound of a server certificate's validity (SPEC §6, below the BR's 398).
pub const MAX_SERVER_DAYS: u32 = 396;

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
    #[error("the CSR cannot be parsed")]
    CsrParse,
    #[error("the CSR signature does not verify")]
    CsrSignature,
    #[error("profile {profile} needs {expected}, the CSR has {found}")]
    ProfileKey {
        profile: u8,
        expected: &'static str,
        found: String,
    },
    #[error("the CSR subject {csr} differs from the requested DN {row}")]
    SubjectMismatch { csr: String, row: String },
    #[error("DN attribute {attr}={value} cannot be encoded")]
    DnAttribute { attr: String, value: String },
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
    #[error("policy re-check before signing failed: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Policy(Vec<crate::model::RowError>),
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
    not_before: OffsetDateTime,
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
    ca.sign_server(row, &csr.subject, &csr.key, serial, not_before, days)
}

/// Where certificate serial numbers come from.
pub trait SerialSource {
    fn next_serial(&mut self) -> Serial;
}

/// Serials of 127 bits from the OpenSSL CSPRNG: 16 random bytes with the top
/// bit cleared (positive in DER without a padding byte), never zero.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomSerials;

impl SerialSource for RandomSerials {
    fn next_serial(&mut self) -> Serial {
        loop {
            let mut b = [0u8; 16];
            // rand_bytes only fails if the CSPRNG cannot be seeded; a CA must
            // not continue with predictable serials then.
            openssl::rand::rand_bytes(&mut b).expect("OpenSSL CSPRNG unavailable");
            b[0] &= 0x7f;
            // Keep at least 64 significant bits (a leading zero byte would
            // otherwise shorten the serial below the BR minimum).
            if b[0] != 0 {
                return Serial::from_bytes(&b);
            }
        }
    }
}

/// The issuing CA: its certificate, private key, and the chain above it.
pub struct IssuingCa {
    cert: X509,
    key: PKey<Private>,
    chain: Vec<X509>,
}

impl std::fmt::Debug for IssuingCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuingCa")
            .field(
                "subject",
                &x509_name_to_dn(self.cert.subject_name()).to_string(),
            )
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl IssuingCa {
    /// From a certificate and its key; `chain` is the certificates above it.
    pub fn new(cert: X509, key: PKey<Private>, chain: Vec<X509>) -> Result<Self, CaError> {
        if !cert.public_key()?.public_eq(&key) {
            return Err(CaError::KeyMismatch);
        }
        Ok(IssuingCa { cert, key, chain })
    }

    /// The certificate file may carry the chain after the issuing certificate.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, CaError> {
        let mut certs = X509::stack_from_pem(cert_pem)?.into_iter();
        let cert = certs.next().ok_or(CaError::NoCertificate)?;
        let key = PKey::private_key_from_pem(key_pem)?;
        IssuingCa::new(cert, key, certs.collect())
    }

    pub fn cert(&self) -> &X509 {
        &self.cert
    }

    /// Which profile family this CA's key signs: RSA → [`CaKind::Rsa`],
    /// ECDSA P-384 → [`CaKind::Ec`]; any other key → `None`.
    pub fn kind(&self) -> Option<CaKind> {
        match self.key.id() {
            Id::RSA => Some(CaKind::Rsa),
            Id::EC => (self.key.ec_key().ok().and_then(|k| k.group().curve_name())
                == Some(Nid::SECP384R1))
            .then_some(CaKind::Ec),
            _ => None,
        }
    }

    /// The CA key in words (`RSA 2048`, `EC secp384r1`), for messages.
    pub fn key_description(&self) -> String {
        self.cert
            .public_key()
            .map(|k| describe_key(&k))
            .unwrap_or_else(|_| "an unreadable key".into())
    }

    /// The issuing certificate followed by its chain, PEM.
    pub fn chain_pem(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for c in std::iter::once(&self.cert).chain(&self.chain) {
            // to_pem of a parsed certificate only fails on allocation failure.
            if let Ok(p) = c.to_pem() {
                out.extend_from_slice(&p);
            }
        }
        out
    }

    /// Issues a profile 3 / 11 server certificate for `row`, valid from
    /// `not_before` for `days` days (capped at [`MAX_SERVER_DAYS`]; 0 is refused).
    ///
    /// Refuses unless the CSR signature verifies, the CSR key matches the
    /// profile, the CSR subject equals `row.dn`, and the CN is among the
    /// dNSNames (the subject is taken from `row.dn`, the SAN from `row.dns_names`).
    ///
    /// The digest follows the profile (SHA-256 for 3, SHA-384 for 11); the
    /// signature algorithm family follows this CA's key, so an ECDSA profile
    /// 11 certificate needs an EC issuing CA to be `ecdsa-with-SHA384`.
    pub fn issue_server(
        &self,
        row: &IssueRow,
        serial: Serial,
        not_before: OffsetDateTime,
        days: u32,
    ) -> Result<X509, CaError> {
        let csr = crate::policy::server::decode_csr(&row.csr_der).map_err(|_| CaError::CsrParse)?;
        let Some(key) = csr.key else {
            return Err(CaError::ProfileKey {
                profile: row.profile.id(),
                expected: profile_key(row.profile),
                found: csr.key_desc,
            });
        };
        if csr.signature_ok != Some(true) {
            return Err(CaError::CsrSignature);
        }
        self.sign_server(row, &csr.subject, &key, serial, not_before, days)
    }

    /// [`Self::issue_server`] for a CSR already decoded and signature-checked
    /// (by [`issue_checked`]'s policy re-check); still refuses a key, subject or
    /// SAN that does not fit the row.
    fn sign_server(
        &self,
        row: &IssueRow,
        csr_subject: &X509NameRef,
        csr_key: &PKeyRef<Public>,
        serial: Serial,
        not_before: OffsetDateTime,
        days: u32,
    ) -> Result<X509, CaError> {
        check_profile_key(row.profile, csr_key)?;
        let csr_dn = x509_name_to_dn(csr_subject);
        if !dn_eq(&csr_dn, &row.dn) {
            return Err(CaError::SubjectMismatch {
                csr: csr_dn.to_string(),
                row: row.dn.to_string(),
            });
        }
        let cn = row.dn.cn().unwrap_or_default();
        if cn.is_empty() || !row.dns_names.iter().any(|n| n.eq_ignore_ascii_case(cn)) {
            return Err(CaError::CnNotInSan {
                cn: cn.to_string(),
                dns_names: row.dns_names.clone(),
            });
        }
        let serial = serial_to_asn1(&serial)?;
        if days == 0 {
            return Err(CaError::BadTime("validity of zero days".into()));
        }
        let days = days.min(MAX_SERVER_DAYS);

        let mut b = X509::builder()?;
        b.set_version(2)?;
        b.set_serial_number(&serial)?;
        b.set_issuer_name(self.cert.subject_name())?;
        let subject = dn_to_x509_name(&row.dn)?;
        b.set_subject_name(&subject)?;
        b.set_pubkey(csr_key)?;
        let (nb, na) = validity(not_before, days)?;
        b.set_not_before(&nb)?;
        b.set_not_after(&na)?;

        b.append_extension(BasicConstraints::new().critical().build()?)?;
        let mut ku = KeyUsage::new();
        ku.critical().digital_signature();
        if row.profile == Profile::ServerRsa2048 {
            ku.key_encipherment();
        }
        b.append_extension(ku.build()?)?;
        b.append_extension(
            ExtendedKeyUsage::new()
                .server_auth()
                .client_auth()
                .build()?,
        )?;
        let mut san = SubjectAlternativeName::new();
        for n in &row.dns_names {
            san.dns(n);
        }
        let san = san.build(&b.x509v3_context(Some(&self.cert), None))?;
        b.append_extension(san)?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(&self.cert), None))?;
        b.append_extension(ski)?;
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(&self.cert), None))?;
        b.append_extension(aki)?;

        let md = match row.profile {
            Profile::ServerRsa2048 => MessageDigest::sha256(),
            Profile::ServerP384 => MessageDigest::sha384(),
        };
        b.sign(&self.key, md)?;
        Ok(b.build())
    }

    /// A v2 CRL over `revoked`, signed by this CA (see [`crl`] for the layout).
    pub fn crl(
        &self,
        revoked: &[RevokedEntry],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        crl_number: u64,
    ) -> Result<Crl, CaError> {
        crl::build(
            &self.cert,
            &self.key,
            revoked,
            this_update,
            next_update,
            crl_number,
        )
    }
}

/// `[not_before, not_before + days)`: RFC 5280 validity includes both ends,
/// so notAfter is one second short of the full days.
fn validity(not_before: OffsetDateTime, days: u32) -> Result<(Asn1Time, Asn1Time), CaError> {
    let nb = not_before.unix_timestamp();
    let na = nb + i64::from(days) * 86_400 - 1;
    Ok((Asn1Time::from_unix(nb)?, Asn1Time::from_unix(na)?))
}

fn serial_to_asn1(serial: &Serial) -> Result<Asn1Integer, CaError> {
    let b = serial.as_bytes();
    if b.is_empty() || b.len() > 20 || (b.len() == 20 && b[0] & 0x80 != 0) {
        return Err(CaError::BadSerial);
    }
    Ok(BigNum::from_slice(b)?.to_asn1_integer()?)
}

fn profile_key(profile: Profile) -> &'static str {
    match profile {
        Profile::ServerRsa2048 => "RSA 2048",
        Profile::ServerP384 => "ECDSA P-384",
    }
}

fn check_profile_key(profile: Profile, key: &PKeyRef<Public>) -> Result<(), CaError> {
    let expected = profile_key(profile);
    let ok = match profile {
        Profile::ServerRsa2048 => key.id() == Id::RSA && key.bits() == 2048,
        Profile::ServerP384 => {
            key.ec_key().ok().as_deref().and_then(ec_curve) == Some(Nid::SECP384R1)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(CaError::ProfileKey {
            profile: profile.id(),
            expected,
            found: describe_key(key),
        })
    }
}

fn ec_curve(k: &EcKeyRef<Public>) -> Option<Nid> {
    k.group().curve_name()
}

fn describe_key(key: &PKeyRef<Public>) -> String {
    match key.id() {
        Id::RSA => format!("RSA {}", key.bits()),
        Id::EC => match key.ec_key().ok().as_deref().and_then(ec_curve) {
            Some(nid) => format!("EC {}", nid.short_name().unwrap_or("?")),
            None => "EC (unnamed curve)".into(),
        },
        _ => format!("key type {:?}", key.id()),
    }
}

/// Same attributes in the same order, names case-insensitive, values exact.
fn dn_eq(a: &Dn, b: &Dn) -> bool {
    a.0.len() == b.0.len()
        && a.0
            .iter()
            .zip(&b.0)
            .all(|((ka, va), (kb, vb))| ka.eq_ignore_ascii_case(kb) && va == vb)
}

/// Builds an X.509 name from a form-order (CN-first) DN, in X.509 order
/// (C, ST, L, O, OU, CN), i.e. the reverse of the form order.
pub fn dn_to_x509_name(dn: &Dn) -> Result<X509Name, CaError> {
    let mut b = X509NameBuilder::new()?;
    for (attr, value) in dn.0.iter().rev() {
        b.append_entry_by_text(attr, value)
            .map_err(|_| CaError::DnAttribute {
                attr: attr.clone(),
                value: value.clone(),
            })?;
    }
    Ok(b.build())
}

/// Converts an X.509 name to the forms' CN-first order.
///
/// Names in X.509 order (C first) are reversed; a name already written
/// CN-first (some CSR tools do) is kept as is, so that both orders the forms
/// accept map to the same `Dn`. Attributes use OpenSSL short names (`CN`,
/// `O`, `OU`, `L`, `ST`, `C`, `emailAddress`) or the dotted OID.
pub fn x509_name_to_dn(name: &X509NameRef) -> Dn {
    let mut out: Vec<(String, String)> = name
        .entries()
        .map(|e| {
            let obj = e.object();
            let attr = match obj.nid().short_name() {
                Ok(s) if obj.nid() != Nid::UNDEF => s.to_string(),
                _ => obj.to_string(),
            };
            let value = e
                .data()
                .to_string()
                .unwrap_or_else(|_| String::from_utf8_lossy(e.data().as_slice()).into_owned());
            (attr, value)
        })
        .collect();
    let cn_first = out.first().is_some_and(|(a, _)| a == "CN");
    if !cn_first {
        out.reverse();
    }
    Dn(out)
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

    fn dn(pairs: &[(&str, &str)]) -> Dn {
        Dn(pairs
            .iter()
            .map(|(a, v)| (a.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn random_serials_are_positive_and_long() {
        let mut s = RandomSerials;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let serial = s.next_serial();
            let b = serial.as_bytes();
            assert_eq!(b.len(), 16, "serial {serial}");
            assert_eq!(b[0] & 0x80, 0, "top bit set in {serial}");
            assert_ne!(b[0], 0);
            assert!(seen.insert(serial));
        }
    }

    #[test]
    fn serial_bounds() {
        let cases: &[(&[u8], bool)] = &[
            (&[], false),
            (&[0, 0], false),
            (&[1], true),
            (&[0x7f; 20], true),
            (&[0x80; 20], false),
            (&[1; 21], false),
        ];
        for (bytes, ok) in cases {
            let r = serial_to_asn1(&Serial::from_bytes(bytes));
            assert_eq!(r.is_ok(), *ok, "{bytes:?}");
        }
    }

    #[test]
    fn name_round_trip_and_order() {
        let form = dn(&[
            ("CN", "www.example.ac.jp"),
            ("OU", "Lab"),
            ("O", "Example University"),
            ("L", "Chiyoda-ku"),
            ("ST", "Tokyo"),
            ("C", "JP"),
        ]);
        let name = dn_to_x509_name(&form).unwrap();
        let order: Vec<String> = name
            .entries()
            .map(|e| e.object().nid().short_name().unwrap().to_string())
            .collect();
        assert_eq!(order, ["C", "ST", "L", "O", "OU", "CN"]);
        assert_eq!(x509_name_to_dn(&name), form);

        // A CN-first encoded name maps to the same Dn.
        let mut b = X509NameBuilder::new().unwrap();
        for (a, v) in &form.0 {
            b.append_entry_by_text(a, v).unwrap();
        }
        assert_eq!(x509_name_to_dn(&b.build()), form);
    }

    #[test]
    fn name_with_unknown_attribute_is_rejected() {
        let bad = dn(&[("CN", "a.example.ac.jp"), ("NOPE", "x")]);
        assert!(matches!(
            dn_to_x509_name(&bad),
            Err(CaError::DnAttribute { .. })
        ));
    }

    #[test]
    fn dn_equality() {
        let a = dn(&[("CN", "x"), ("C", "JP")]);
        let cases = [
            (dn(&[("cn", "x"), ("c", "JP")]), true),
            (dn(&[("CN", "X"), ("C", "JP")]), false),
            (dn(&[("C", "JP"), ("CN", "x")]), false),
            (dn(&[("CN", "x")]), false),
        ];
        for (b, expected) in cases {
            assert_eq!(dn_eq(&a, &b), expected, "{b}");
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
