//! The issuing CA: its certificate, key and chain, and where it publishes
//! (CRL and certificate URLs). It signs server certificates through the
//! server profile and CRLs through [`super::crl`].

use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::X509;
use time::OffsetDateTime;

use super::CaError;
use super::crl::{self, Crl, RevokedEntry};
use super::keys::describe_key;
use super::profile::server::{self, Publication};
use crate::model::{CaKind, Dn, IssueRow, Serial};

/// The issuing CA: its certificate, private key, and the chain above it.
pub struct IssuingCa {
    cert: X509,
    key: PKey<Private>,
    chain: Vec<X509>,
    publication: Option<Publication>,
}

impl std::fmt::Debug for IssuingCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuingCa")
            .field("subject", &Dn::display_x509_name(self.cert.subject_name()))
            .field("chain", &self.chain.len())
            .field("publication", &self.publication)
            .finish_non_exhaustive()
    }
}

impl IssuingCa {
    /// From a certificate and its key; `chain` is the certificates above it.
    /// It signs CRLs at once; server certificates only once it knows where
    /// it publishes ([`IssuingCa::with_publication`]).
    pub fn new(cert: X509, key: PKey<Private>, chain: Vec<X509>) -> Result<Self, CaError> {
        if !cert.public_key()?.public_eq(&key) {
            return Err(CaError::KeyMismatch);
        }
        Ok(IssuingCa {
            cert,
            key,
            chain,
            publication: None,
        })
    }

    /// The certificate file may carry the chain after the issuing certificate.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, CaError> {
        let mut certs = X509::stack_from_pem(cert_pem)?.into_iter();
        let cert = certs.next().ok_or(CaError::NoCertificate)?;
        let key = PKey::private_key_from_pem(key_pem)?;
        IssuingCa::new(cert, key, certs.collect())
    }

    /// The URLs and policy its server certificates carry.
    pub fn with_publication(mut self, publication: Publication) -> Self {
        self.publication = Some(publication);
        self
    }

    pub fn publication(&self) -> Option<&Publication> {
        self.publication.as_ref()
    }

    pub fn cert(&self) -> &X509 {
        &self.cert
    }

    pub(crate) fn key(&self) -> &PKey<Private> {
        &self.key
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

    /// Issues a profile 3 / 11 server certificate for `row` at `issued_at`,
    /// valid for `days` days, capped at the BR limit in force then
    /// ([`server::max_server_days`]; 0 is refused). See [`super::profile`]
    /// for the validity convention.
    ///
    /// Refuses unless the CSR signature verifies, the CSR key matches the
    /// profile, the CSR subject equals `row.dn`, and the CN is among the
    /// dNSNames (the subject is taken from `row.dn`, the SAN from `row.dns_names`).
    ///
    /// The digest follows the CA key (SHA-256 for RSA, SHA-384 for P-384), so
    /// a profile 11 certificate needs the ECDSA issuing CA to be
    /// `ecdsa-with-SHA384` ([`super::issue_checked`] enforces the pairing).
    pub fn issue_server(
        &self,
        row: &IssueRow,
        serial: Serial,
        issued_at: OffsetDateTime,
        days: u32,
    ) -> Result<X509, CaError> {
        let csr = crate::policy::server::decode_csr(&row.csr_der).map_err(|_| CaError::CsrParse)?;
        let Some(key) = csr.key else {
            return Err(server::missing_key(row.profile, csr.key_desc));
        };
        if csr.signature_ok != Some(true) {
            return Err(CaError::CsrSignature);
        }
        server::sign(self, row, &csr.subject, &key, serial, issued_at, days)
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
