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
use super::profile::server::Publication;
use crate::model::{CaKind, Dn};

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

    /// The issuing certificate followed by the chain above it (what a
    /// PKCS#12 carries beside its certificate).
    pub fn chain(&self) -> Vec<X509> {
        std::iter::once(&self.cert)
            .chain(&self.chain)
            .cloned()
            .collect()
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

#[cfg(test)]
mod tests {
    use openssl::pkey::{PKey, Private};
    use time::OffsetDateTime;

    use super::*;
    use crate::ca::{self, CaError, KeyKind, KeyPair, Publication, RandomSerials, SerialSource};
    use crate::kit::forms::{issue_row, server_dn};
    use crate::model::{Dn, IssueRow, Profile};

    const CN: &str = "www.example.ac.jp";
    const ALT: &str = "alt.example.ac.jp";

    fn dn(cn: &str) -> Dn {
        server_dn(cn, "Example University", "Chiyoda-ku", "Tokyo")
    }

    fn row(profile: Profile, key: &PKey<Private>) -> IssueRow {
        issue_row(&dn(CN), profile, key, "admin@example.ac.jp", &[CN, ALT]).unwrap()
    }

    /// Signs `row` with the CA's profile builder directly, beneath the
    /// policy re-check of [`super::super::issue_checked`] (as the builder
    /// sees a row once policy has passed it).
    fn sign_row(
        ca: &IssuingCa,
        row: &IssueRow,
        serial: crate::model::Serial,
        at: OffsetDateTime,
        days: u32,
    ) -> Result<openssl::x509::X509, CaError> {
        let csr = crate::policy::server::decode_csr(&row.csr_der).unwrap();
        let key = csr.key.unwrap();
        crate::ca::profile::server::sign(ca, row, &csr.subject, &key, serial, at, days)
    }

    fn issuing(kind: KeyKind) -> (KeyPair, IssuingCa) {
        let now = OffsetDateTime::now_utc();
        let kp = ca::new_ca("Test Issuing CA", "Example CA Org", now, 3650, kind).unwrap();
        let ca = IssuingCa::new(kp.cert.clone(), kp.key.clone(), vec![])
            .unwrap()
            .with_publication(Publication {
                base_url: "http://certs.example.ac.jp/mailra/".into(),
                policy_oid: None,
                cps_url: None,
            });
        (kp, ca)
    }

    /// The CA's own refusals beneath the policy re-check of
    /// [`super::super::issue_checked`]: defence in depth, reachable only here.
    #[test]
    fn issue_server_refuses_what_it_cannot_vouch_for() {
        let (kp, ca) = issuing(KeyKind::Rsa2048);
        let rsa = ca::new_key(KeyKind::Rsa2048).unwrap();
        let ec = ca::new_key(KeyKind::P384).unwrap();
        let rsa3072 = PKey::from_rsa(openssl::rsa::Rsa::generate(3072).unwrap()).unwrap();
        let p256 = PKey::from_ec_key(
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();

        // A CSR changed after signing never reaches the builder: the policy
        // re-check of the one public gate refuses it.
        let mut tampered = row(Profile::ServerRsa2048, &rsa);
        let last = tampered.csr_der.len() - 1;
        tampered.csr_der[last] ^= 0x01;
        let inst = crate::model::Institution {
            id: 1,
            name: "Example University".into(),
            st: "Tokyo".into(),
            l: "Chiyoda-ku".into(),
            domains: vec!["example.ac.jp".into()],
            organization_identifier: None,
            p12_encryption: None,
        };
        let refused = ca::issue_checked(
            &ca,
            &inst,
            &tampered,
            RandomSerials.next_serial(),
            OffsetDateTime::now_utc(),
            90,
        );
        assert!(
            matches!(&refused, Err(CaError::Policy(e)) if e.iter().any(|e| e.to_string().contains("does not verify"))),
            "{:?}",
            refused.map(|_| ())
        );
        let mut other_dn = row(Profile::ServerRsa2048, &rsa);
        other_dn.dn = dn("other.example.ac.jp");
        let mut no_cn_in_san = row(Profile::ServerRsa2048, &rsa);
        no_cn_in_san.dns_names = vec![ALT.into()];
        let mut reordered = row(Profile::ServerRsa2048, &rsa);
        reordered.dn.0.swap(1, 2);

        type Expect = fn(&CaError) -> bool;
        let cases: Vec<(&str, IssueRow, Expect)> = vec![
            ("RSA key, profile 11", row(Profile::ServerP384, &rsa), |e| {
                matches!(e, CaError::ProfileKey { profile: 11, .. })
            }),
            (
                "P-384 key, profile 3",
                row(Profile::ServerRsa2048, &ec),
                |e| matches!(e, CaError::ProfileKey { profile: 3, .. }),
            ),
            (
                "RSA 3072, profile 3",
                row(Profile::ServerRsa2048, &rsa3072),
                |e| matches!(e, CaError::ProfileKey { found, .. } if found == "RSA 3072"),
            ),
            ("P-256, profile 11", row(Profile::ServerP384, &p256), |e| {
                matches!(e, CaError::ProfileKey { profile: 11, .. })
            }),
            ("CSR subject differs", other_dn, |e| {
                matches!(e, CaError::SubjectMismatch { .. })
            }),
            ("CN missing from dNSNames", no_cn_in_san, |e| {
                matches!(e, CaError::CnNotInSan { .. })
            }),
            ("row DN reordered", reordered, |e| {
                matches!(e, CaError::SubjectMismatch { .. })
            }),
        ];
        for (name, r, expected) in cases {
            let res = sign_row(
                &ca,
                &r,
                RandomSerials.next_serial(),
                OffsetDateTime::now_utc(),
                90,
            );
            match res {
                Err(e) => assert!(expected(&e), "{name}: wrong error {e}"),
                Ok(_) => panic!("{name}: issued"),
            }
        }
        let zero_days = sign_row(
            &ca,
            &row(Profile::ServerRsa2048, &rsa),
            RandomSerials.next_serial(),
            OffsetDateTime::now_utc(),
            0,
        );
        assert!(matches!(zero_days, Err(CaError::BadTime(_))));
        // A CA that does not know where it publishes cannot name its CRL and
        // caIssuers URLs, which the BRs require: it refuses.
        let unpublished = IssuingCa::new(kp.cert.clone(), kp.key.clone(), vec![]).unwrap();
        assert!(matches!(
            sign_row(
                &unpublished,
                &row(Profile::ServerRsa2048, &rsa),
                RandomSerials.next_serial(),
                OffsetDateTime::now_utc(),
                90
            ),
            Err(CaError::NoPublication)
        ));
        // The same CA does issue the untouched row.
        assert!(
            sign_row(
                &ca,
                &row(Profile::ServerRsa2048, &rsa),
                RandomSerials.next_serial(),
                OffsetDateTime::now_utc(),
                90
            )
            .is_ok()
        );
    }
}
