//! Certificate files the secretariat imports (`mailra registry import-cert`):
//! PEM with one or more certificates, or one DER certificate. Pure: bytes →
//! the certificates and what their extensions say (purpose, CA flag, mail
//! address); whether they chain, expire or exist is decided by the caller.

use der::oid::AssociatedOid;
use openssl::nid::Nid;
use openssl::x509::X509;
use x509_cert::der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};

use crate::model::CertKind;

/// The largest file read (a certificate is a few KB; a bundle of a few hundred).
pub const MAX_FILE_BYTES: usize = 4 << 20;

/// Why a file holds no certificate mailra can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertFileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {} MB", MAX_FILE_BYTES >> 20)]
    TooLarge,
    #[error("not a PEM or DER certificate file")]
    NotCertificate,
    #[error("a certificate in the file cannot be read: {0}")]
    Malformed(String),
}

/// One certificate of a file.
#[derive(Debug, Clone)]
pub struct FileCert {
    pub x509: X509,
    /// basicConstraints CA:TRUE (a chain certificate, not one to import).
    pub is_ca: bool,
    /// From the extended key usage; `None`: no EKU or no purpose mailra knows.
    pub kind: Option<CertKind>,
    /// The first rfc822Name of the subjectAltName, else the subject's
    /// emailAddress (lower case).
    pub mail: Option<String>,
}

/// Reads a certificate file.
pub fn parse(bytes: &[u8]) -> Result<Vec<FileCert>, CertFileError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(CertFileError::Empty);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(CertFileError::TooLarge);
    }
    let pem = bytes
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----");
    let certs = if pem {
        X509::stack_from_pem(bytes).map_err(|e| CertFileError::Malformed(e.to_string()))?
    } else if bytes.first() == Some(&0x30) {
        vec![X509::from_der(bytes).map_err(|_| CertFileError::NotCertificate)?]
    } else {
        return Err(CertFileError::NotCertificate);
    };
    if certs.is_empty() {
        return Err(CertFileError::NotCertificate);
    }
    certs.into_iter().map(facts).collect()
}

fn facts(x509: X509) -> Result<FileCert, CertFileError> {
    let bad = |what: &str| CertFileError::Malformed(what.to_string());
    let der = x509.to_der().map_err(|e| bad(&e.to_string()))?;
    let c = x509_cert::Certificate::from_der(&der).map_err(|e| bad(&e.to_string()))?;
    let (mut is_ca, mut kind, mut mail) = (false, None, None);
    for ext in c.tbs_certificate.extensions.iter().flatten() {
        let v = ext.extn_value.as_bytes();
        if ext.extn_id == BasicConstraints::OID {
            is_ca = BasicConstraints::from_der(v)
                .map_err(|_| bad("basicConstraints malformed"))?
                .ca;
        } else if ext.extn_id == ExtendedKeyUsage::OID {
            let eku = ExtendedKeyUsage::from_der(v).map_err(|_| bad("extKeyUsage malformed"))?;
            let oids: Vec<String> = eku.0.iter().map(|o| o.to_string()).collect();
            kind = CertKind::from_eku_oids(&oids);
        } else if ext.extn_id == SubjectAltName::OID {
            let san = SubjectAltName::from_der(v).map_err(|_| bad("subjectAltName malformed"))?;
            mail = san.0.iter().find_map(|n| match n {
                GeneralName::Rfc822Name(m) => Some(m.as_str().to_ascii_lowercase()),
                _ => None,
            });
        }
    }
    if mail.is_none() {
        mail = x509
            .subject_name()
            .entries_by_nid(Nid::PKCS9_EMAILADDRESS)
            .next()
            .and_then(|e| e.data().to_string().ok())
            .map(|s| s.to_ascii_lowercase());
    }
    Ok(FileCert {
        x509,
        is_ca,
        kind,
        mail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::pki::{Eku, Spec, make};

    #[test]
    fn pem_der_and_garbage() {
        let root = make(&Spec::root("Root", 1), None).unwrap();
        let leaf = make(&Spec::officer("Leaf", "Leaf@Example.ac.jp", 2), Some(&root)).unwrap();
        let mut code = Spec::officer("Code", "c@example.ac.jp", 3);
        code.eku = Some(Eku::CodeSigning);
        code.email = None;
        let code = make(&code, Some(&root)).unwrap();
        let mut two = leaf.cert.to_pem().unwrap();
        two.extend(root.cert.to_pem().unwrap());
        type Expect = Result<Vec<(bool, Option<CertKind>, Option<&'static str>)>, CertFileError>;
        let cases: Vec<(Vec<u8>, Expect)> = vec![
            (
                two,
                Ok(vec![
                    (false, Some(CertKind::Smime), Some("leaf@example.ac.jp")),
                    (true, None, None),
                ]),
            ),
            (
                code.cert.to_der().unwrap(),
                Ok(vec![(false, Some(CertKind::CodeSigning), None)]),
            ),
            (b"".to_vec(), Err(CertFileError::Empty)),
            (b" \n".to_vec(), Err(CertFileError::Empty)),
            (b"hello".to_vec(), Err(CertFileError::NotCertificate)),
            (
                vec![0x30, 0x03, 1, 2, 3],
                Err(CertFileError::NotCertificate),
            ),
            (vec![b'x'; MAX_FILE_BYTES + 1], Err(CertFileError::TooLarge)),
        ];
        for (i, (input, expected)) in cases.into_iter().enumerate() {
            let got = parse(&input).map(|v| {
                v.iter()
                    .map(|c| (c.is_ca, c.kind, c.mail.clone()))
                    .collect::<Vec<_>>()
            });
            let expected = expected.map(|v| {
                v.into_iter()
                    .map(|(a, k, m)| (a, k, m.map(str::to_string)))
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, expected, "case {i}");
        }
        // A PEM header with a damaged body is named as such.
        let broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(parse(broken), Err(CertFileError::Malformed(_))));
    }
}
