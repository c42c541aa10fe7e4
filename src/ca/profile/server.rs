//! Server certificates, SPEC §6 profiles 3 (RSA 2048, sha256WithRSA) and 11
//! (P-384, ecdsa-with-SHA384), as OV certificates of the CA/B Forum TLS
//! Baseline Requirements (§7.1.2.7): `lint_cabf_serverauth_cert` must find
//! no error in them.
//!
//! Extensions: basicConstraints CA:FALSE (critical); keyUsage
//! digitalSignature (+ keyEncipherment for RSA, critical); EKU serverAuth +
//! clientAuth; subjectAltName with the dNSNames (the CN among them);
//! certificatePolicies with 2.23.140.1.2.2 (OV) first, then the CA's own
//! policy OID with its CPS URL when configured; cRLDistributionPoints and
//! authorityInfoAccess caIssuers, both http:// URLs under the instance's
//! publication URL ([`Publication`]); subject and authority key identifiers.
//! Nothing the BRs forbid (no nameConstraints, no policy mappings, …).
//!
//! Validity: the smaller of what is asked and the BR maximum in force at
//! issuance ([`max_server_days`]).

use der::asn1::{Any, Ia5String};
use der::oid::ObjectIdentifier;
use der::oid::db::rfc5280::{ID_AD_CA_ISSUERS, ID_QT_CPS};
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKeyRef, Public};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509NameRef};
use time::OffsetDateTime;
use time::macros::datetime;
use x509_cert::ext::pkix::certpolicy::{PolicyInformation, PolicyQualifierInfo};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, CertificatePolicies, CrlDistributionPoints,
};

use super::Draft;
use crate::ca::keys::{describe_key, ec_curve};
use crate::ca::{CaError, IssuingCa};
use crate::model::{CaKind, Dn, IssueRow, Profile, Serial};

/// The CA/B Forum reserved policy OID for organization-validated TLS certificates.
pub const OV_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.140.1.2.2");

/// The BR maximum before ballot SC-081 took effect (398 days); also the
/// largest `ca.server_days` an operator may ask for.
pub const BR_CEILING_DAYS: u32 = 398;

/// Ballot SC-081: (issued on or after, at most days), newest first.
const BR_LIMITS: [(OffsetDateTime, u32); 3] = [
    (datetime!(2029-03-15 00:00:00 UTC), 47),
    (datetime!(2027-03-15 00:00:00 UTC), 100),
    (datetime!(2026-03-15 00:00:00 UTC), 200),
];

/// The longest validity (days) the TLS BRs allow for a server certificate
/// issued at `issued_at`: 398 days, 200 from 2026-03-15, 100 from 2027-03-15,
/// 47 from 2029-03-15 (SPEC §6).
pub fn max_server_days(issued_at: OffsetDateTime) -> u32 {
    BR_LIMITS
        .iter()
        .find(|(from, _)| issued_at >= *from)
        .map_or(BR_CEILING_DAYS, |(_, days)| *days)
}

/// Where an instance publishes its CA material for relying parties, and the
/// policy it states (`mailra.toml` `[ca] publish_url`, `policy_oid`, `cps_url`).
///
/// A web server serves the CRL folder at `base_url`: each issuing CA's CRL
/// (`ca.crl`, `ca-ec.crl`) and its certificate in DER (`ca.cer`, `ca-ec.cer`),
/// which the server certificates name in cRLDistributionPoints and
/// authorityInfoAccess caIssuers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// `http://…/`, ending in a slash (the BRs require http for both URLs).
    pub base_url: String,
    /// The CA's own certificate policy OID, after the OV OID.
    pub policy_oid: Option<ObjectIdentifier>,
    /// The CPS URL, as an id-qt-cps qualifier of the CA's own policy (or of
    /// the OV policy when no own OID is given).
    pub cps_url: Option<String>,
}

impl Publication {
    /// The URL of `kind`'s CRL.
    pub fn crl_url(&self, kind: CaKind) -> String {
        format!("{}{}.crl", self.base_url, kind.crl_stem())
    }
    /// The URL of `kind`'s certificate (DER).
    pub fn issuer_url(&self, kind: CaKind) -> String {
        format!("{}{}", self.base_url, issuer_file(kind))
    }
}

/// The file name of `kind`'s certificate in the CRL folder: `ca.cer`, `ca-ec.cer`.
pub fn issuer_file(kind: CaKind) -> String {
    format!("{}.cer", kind.crl_stem())
}

fn profile_key(profile: Profile) -> &'static str {
    match profile {
        Profile::ServerP384 => "ECDSA P-384",
        _ => "RSA 2048",
    }
}

pub(super) fn check_profile_key<T: HasPublic>(
    profile: Profile,
    key: &PKeyRef<T>,
) -> Result<(), CaError> {
    let ok = match profile {
        Profile::ServerP384 => {
            key.ec_key().ok().as_deref().and_then(ec_curve) == Some(Nid::SECP384R1)
        }
        _ => key.id() == Id::RSA && key.bits() == 2048,
    };
    if ok {
        Ok(())
    } else {
        Err(CaError::ProfileKey {
            profile: profile.id(),
            expected: profile_key(profile),
            found: describe_key(key),
        })
    }
}

/// Signs a profile 3 / 11 certificate for `row` with `ca`. Refuses a key
/// that does not fit the profile, a CSR subject other than `row.dn`, a CN
/// missing from the dNSNames, and a CA without publication URLs.
pub(crate) fn sign(
    ca: &IssuingCa,
    row: &IssueRow,
    csr_subject: &X509NameRef,
    csr_key: &PKeyRef<Public>,
    serial: Serial,
    issued_at: OffsetDateTime,
    days: u32,
) -> Result<X509, CaError> {
    check_profile_key(row.profile, csr_key)?;
    let csr_dn = Dn::from_x509_name_cn_first(csr_subject)?;
    // Both in the forms' CN-first order, so the subject is encoded C first.
    let cn_first = row
        .dn
        .0
        .first()
        .is_some_and(|(a, _)| a.eq_ignore_ascii_case("CN"));
    if !cn_first || !csr_dn.same_as(&row.dn) {
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
    if days == 0 {
        return Err(CaError::BadTime("validity of zero days".into()));
    }
    let days = days.min(max_server_days(issued_at));
    let publication = ca.publication().ok_or(CaError::NoPublication)?;
    let kind = CaKind::for_profile(row.profile);

    let subject = row.dn.to_x509_name()?;
    let mut d = Draft::new(
        &serial,
        ca.cert().subject_name(),
        &subject,
        csr_key,
        issued_at,
        days,
    )?;
    d.add(BasicConstraints::new().critical().build()?)?;
    let mut ku = KeyUsage::new();
    ku.critical().digital_signature();
    if row.profile == Profile::ServerRsa2048 {
        ku.key_encipherment();
    }
    d.add(ku.build()?)?;
    d.add(
        ExtendedKeyUsage::new()
            .server_auth()
            .client_auth()
            .build()?,
    )?;
    let mut san = SubjectAlternativeName::new();
    for n in &row.dns_names {
        san.dns(n);
    }
    let san = san.build(&d.builder().x509v3_context(Some(ca.cert()), None))?;
    d.add(san)?;
    if let Some(p) = policies(Some(OV_POLICY), publication)? {
        d.add_der(&p, false)?;
    }
    d.add_der(&crl_dp(&publication.crl_url(kind))?, false)?;
    d.add_der(&aia(&publication.issuer_url(kind))?, false)?;
    d.key_ids(Some(ca.cert()))?;
    d.sign(ca.key())
}

fn uri(url: &str) -> Result<GeneralName, CaError> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(url)?))
}

/// certificatePolicies: the CA/B Forum `reserved` OID first (with the CPS
/// qualifier when the CA states no own OID), then the CA's own OID with the
/// CPS URL. `None` when there is neither (a client certificate of a CA
/// without an own policy OID carries no policies).
pub(super) fn policies(
    reserved: Option<ObjectIdentifier>,
    p: &Publication,
) -> Result<Option<CertificatePolicies>, CaError> {
    let cps = p
        .cps_url
        .as_deref()
        .map(|u| -> Result<_, CaError> {
            Ok(vec![PolicyQualifierInfo {
                policy_qualifier_id: ID_QT_CPS,
                qualifier: Some(Any::encode_from(&Ia5String::new(u)?)?),
            }])
        })
        .transpose()?;
    let mut v = Vec::new();
    if let Some(reserved) = reserved {
        v.push(PolicyInformation {
            policy_identifier: reserved,
            policy_qualifiers: if p.policy_oid.is_none() {
                cps.clone()
            } else {
                None
            },
        });
    }
    if let Some(oid) = p.policy_oid {
        v.push(PolicyInformation {
            policy_identifier: oid,
            policy_qualifiers: cps,
        });
    }
    Ok((!v.is_empty()).then_some(CertificatePolicies(v)))
}

pub(super) fn crl_dp(url: &str) -> Result<CrlDistributionPoints, CaError> {
    Ok(CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
        reasons: None,
        crl_issuer: None,
    }]))
}

pub(super) fn aia(url: &str) -> Result<AuthorityInfoAccessSyntax, CaError> {
    Ok(AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: ID_AD_CA_ISSUERS,
        access_location: uri(url)?,
    }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_limit_at_issuance() {
        let cases = [
            (datetime!(2025-12-31 23:59:59 UTC), 398),
            (datetime!(2026-03-14 23:59:59 UTC), 398),
            (datetime!(2026-03-15 00:00:00 UTC), 200),
            (datetime!(2027-03-14 23:59:59 UTC), 200),
            (datetime!(2027-03-15 00:00:00 UTC), 100),
            (datetime!(2029-03-14 23:59:59 UTC), 100),
            (datetime!(2029-03-15 00:00:00 UTC), 47),
            (datetime!(2040-01-01 00:00:00 UTC), 47),
        ];
        for (at, days) in cases {
            assert_eq!(max_server_days(at), days, "{at}");
        }
    }

    #[test]
    fn publication_urls_per_ca() {
        let p = Publication {
            base_url: "http://certs.example.ac.jp/mailra/".into(),
            policy_oid: None,
            cps_url: None,
        };
        let cases = [
            (
                CaKind::Rsa,
                "http://certs.example.ac.jp/mailra/ca.crl",
                "http://certs.example.ac.jp/mailra/ca.cer",
            ),
            (
                CaKind::Ec,
                "http://certs.example.ac.jp/mailra/ca-ec.crl",
                "http://certs.example.ac.jp/mailra/ca-ec.cer",
            ),
        ];
        for (kind, crl, cer) in cases {
            assert_eq!(p.crl_url(kind), crl);
            assert_eq!(p.issuer_url(kind), cer);
        }
    }
}
