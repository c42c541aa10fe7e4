//! The signer's certificate: a chain to the officer CA (never a system
//! store), valid now and at the signing time; an end-entity certificate fit
//! for e-mail protection and not the robot's own; not revoked by the officer
//! CA's CRLs; and an address equal to the mail's From. Everything that needs
//! the trust anchors or the certificate's contents lives here.

use der::Decode;
use der::oid::AssociatedOid;
use openssl::nid::Nid;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{CrlStatus, X509, X509NameRef, X509StoreContext};
use time::OffsetDateTime;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

use super::Trust;
use super::cms::oid;
use super::headers::clip;
use super::signing_time::fmt_time;

const OID_EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";

/// A certificate name for verdict texts: encoded order, values clipped.
pub(super) fn name_to_string(name: &X509NameRef) -> String {
    match crate::model::Dn::from_x509_name(name) {
        Ok(dn) => {
            dn.0.iter()
                .map(|(key, val)| format!("{key}={}", clip(val, 100)))
                .collect::<Vec<_>>()
                .join(", ")
        }
        Err(e) => format!("<{e}>"),
    }
}

pub(super) fn verify_chain(
    cert: &X509,
    certs: &[(x509_cert::Certificate, X509)],
    trust: &Trust,
    now: OffsetDateTime,
    signing_time: Option<OffsetDateTime>,
) -> Result<String, String> {
    if trust.officer_cas.is_empty() {
        return Err("no officer CA configured".into());
    }
    let inner = || -> Result<Result<String, String>, openssl::error::ErrorStack> {
        let mut sb = X509StoreBuilder::new()?;
        for ca in &trust.officer_cas {
            sb.add_cert(ca.clone())?;
        }
        let mut param = X509VerifyParam::new()?;
        param.set_time(now.unix_timestamp() as _);
        sb.set_param(&param)?;
        let store = sb.build();
        let mut untrusted = Stack::new()?;
        for (_, x) in certs {
            untrusted.push(x.clone())?;
        }
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&store, cert, &untrusted, |c| {
            let ok = c.verify_cert()?;
            Ok(if ok {
                let top = c
                    .chain()
                    .and_then(|ch| ch.iter().last().map(|x| name_to_string(x.subject_name())))
                    .unwrap_or_default();
                Ok(format!("chains to {top} at {}", fmt_time(now)))
            } else {
                Err(format!(
                    "no valid chain to the officer CA at {}: {}",
                    fmt_time(now),
                    c.error().error_string()
                ))
            })
        })
    };
    let res = inner().map_err(|_| "chain verification failed".to_string())??;
    if let Some(st) = signing_time {
        let (_, x) = certs
            .iter()
            .find(|(_, x)| x.to_der().ok() == cert.to_der().ok())
            .ok_or("signer certificate missing")?;
        let not_before = asn1_to_unix(x.not_before());
        let not_after = asn1_to_unix(x.not_after());
        let t = st.unix_timestamp();
        if not_before.is_none_or(|nb| t < nb) || not_after.is_none_or(|na| t > na) {
            return Err(format!(
                "the signer certificate was not valid at the signing time {}",
                fmt_time(st)
            ));
        }
    }
    Ok(res)
}

fn asn1_to_unix(t: &openssl::asn1::Asn1TimeRef) -> Option<i64> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(d.days as i64 * 86_400 + d.secs as i64)
}

pub(super) fn check_signer_cert(
    c: &x509_cert::Certificate,
    x: &X509,
    trust: &Trust,
) -> Result<String, String> {
    if let Some(robot) = &trust.robot_cert
        && robot.to_der().ok() == x.to_der().ok()
    {
        return Err("the mail is signed with the robot's own certificate".into());
    }
    let mut seen_eku = false;
    let mut seen_ku = false;
    for ext in c.tbs_certificate.extensions.iter().flatten() {
        let v = ext.extn_value.as_bytes();
        if ext.extn_id == BasicConstraints::OID {
            let bc = BasicConstraints::from_der(v).map_err(|_| "basicConstraints malformed")?;
            if bc.ca {
                return Err("the signer certificate is a CA certificate".into());
            }
        } else if ext.extn_id == KeyUsage::OID {
            seen_ku = true;
            let ku = KeyUsage::from_der(v).map_err(|_| "keyUsage malformed")?;
            if !ku.digital_signature() && !ku.non_repudiation() {
                return Err("key usage allows neither digitalSignature nor nonRepudiation".into());
            }
        } else if ext.extn_id == ExtendedKeyUsage::OID {
            seen_eku = true;
            let eku = ExtendedKeyUsage::from_der(v).map_err(|_| "extKeyUsage malformed")?;
            if !eku.0.contains(&oid(OID_EMAIL_PROTECTION)) {
                return Err("extended key usage lacks emailProtection".into());
            }
        }
    }
    Ok(format!(
        "end-entity certificate{}{}",
        if seen_ku { ", key usage ok" } else { "" },
        if seen_eku { ", emailProtection" } else { "" }
    ))
}

pub(super) fn check_revocation(x: &X509, trust: &Trust) -> Result<String, String> {
    if trust.officer_crls.is_empty() {
        return Ok("no CRL configured".into());
    }
    let issuer = x.issuer_name().to_der().ok();
    let mut checked = 0;
    for crl in &trust.officer_crls {
        if crl.issuer_name().to_der().ok() != issuer {
            continue;
        }
        let ca = trust
            .officer_cas
            .iter()
            .find(|ca| ca.subject_name().to_der().ok() == issuer);
        let Some(ca) = ca else { continue };
        let sig_ok = ca
            .public_key()
            .and_then(|k| crl.verify(&k))
            .unwrap_or(false);
        if !sig_ok {
            return Err("the officer CA's CRL has an invalid signature".into());
        }
        checked += 1;
        match crl.get_by_cert(x) {
            CrlStatus::NotRevoked => {}
            CrlStatus::Revoked(r) | CrlStatus::RemoveFromCrl(r) => {
                return Err(format!(
                    "the signer certificate is revoked (since {})",
                    r.revocation_date()
                ));
            }
        }
    }
    if checked == 0 {
        Ok("no CRL for the signer's issuer".into())
    } else {
        Ok(format!("not revoked ({checked} CRL checked)"))
    }
}

/// SAN rfc822Names, else the subject's emailAddress attributes; lower-case.
fn cert_addresses(x: &X509) -> Vec<String> {
    let san: Vec<String> = x
        .subject_alt_names()
        .map(|names| {
            names
                .iter()
                .filter_map(|g| g.email().map(|e| e.trim().to_ascii_lowercase()))
                .collect()
        })
        .unwrap_or_default();
    if !san.is_empty() {
        return san;
    }
    x.subject_name()
        .entries_by_nid(Nid::PKCS9_EMAILADDRESS)
        .filter_map(|e| {
            e.data()
                .to_string()
                .ok()
                .map(|s| s.trim().to_ascii_lowercase())
        })
        .collect()
}

/// The From address against the signer certificate's addresses; an outer From
/// differing from the signed (protected) one is refused.
pub(super) fn check_address(
    x: &X509,
    from: Option<&String>,
    signed_from: Option<&Result<String, String>>,
) -> Result<String, String> {
    let cert_emails = cert_addresses(x);
    match (from, signed_from) {
        (_, Some(Err(reason))) => Err(reason.clone()),
        (Some(outer), Some(Ok(signed))) if outer != signed => Err(format!(
            "the outer From {outer} differs from the signed (protected) From {signed}"
        )),
        (None, _) => Err("no usable From address to compare".to_string()),
        (Some(from), _) => {
            if cert_emails.is_empty() {
                Err("the signer certificate carries no e-mail address".into())
            } else if cert_emails.iter().any(|e| e == from) {
                Ok(format!("certificate address {from} equals From"))
            } else {
                Err(format!(
                    "From {from} is not the certificate's address ({})",
                    cert_emails.join(", ")
                ))
            }
        }
    }
}
