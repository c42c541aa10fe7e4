//! Issued certificates as the secretariat looks them up.

use std::collections::HashMap;

use rusqlite::Connection;
use serde::Serialize;

use super::{OpsError, Result};
use crate::model::{CertStatus, Serial};
use crate::policy::server as server_policy;
use crate::store::{self, CertRecord};

/// One certificate in a list.
#[derive(Debug, Clone, Serialize)]
pub struct CertView {
    /// Hex, as certificates print it.
    pub serial: String,
    pub serial_decimal: String,
    /// `valid` or `revoked`; a search (`ops::certsearch`) says `expired`
    /// for a certificate not revoked whose notAfter has passed.
    pub status: &'static str,
    /// The profile ID; `None` for an imported certificate without one.
    pub profile: Option<u8>,
    /// `server`, `client`, `smime` or `codesign`.
    pub kind: &'static str,
    pub subject: String,
    pub institution: String,
    pub not_before: String,
    pub not_after: String,
    pub admin_mail: String,
    pub renewed_from: Option<String>,
    /// `rsa` or `ec`, or the name of the import CA (`[ca] import_cas`).
    pub ca: String,
    /// Imported (`mailra registry import-cert`) rather than issued.
    pub imported: bool,
    /// The user's address (client and S/MIME certificates).
    pub user_mail: Option<String>,
}

/// A revocation of a certificate.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationView {
    pub revoked_at: String,
    pub reason_code: u8,
    pub reason: &'static str,
}

/// One certificate in full.
#[derive(Debug, Clone, Serialize)]
pub struct CertDetail {
    #[serde(flatten)]
    pub cert: CertView,
    /// The issuing CA's name (e.g. `ECDSA P-384`).
    pub ca_name: String,
    pub revocation: Option<RevocationView>,
    pub pem: String,
}

pub(super) fn view(c: &CertRecord, institution: String) -> CertView {
    CertView {
        serial: c.serial.to_string(),
        serial_decimal: c.serial.to_decimal(),
        status: match c.status {
            CertStatus::Valid => "valid",
            CertStatus::Revoked => "revoked",
        },
        profile: c.profile.map(|p| p.id()),
        kind: c.kind.as_str(),
        subject: c.subject_dn.clone(),
        institution,
        not_before: store::ts(c.not_before),
        not_after: store::ts(c.not_after),
        admin_mail: c.admin_mail.clone(),
        renewed_from: c.renewed_from.as_ref().map(|s| s.to_string()),
        ca: ca_name(c),
        imported: c.imported_at.is_some(),
        user_mail: c.user_mail.clone(),
    }
}

/// `rsa`, `ec` or the import CA's name.
fn ca_name(c: &CertRecord) -> String {
    match (&c.ca, &c.import_ca) {
        (Some(k), _) => k.as_str().to_string(),
        (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    }
}

pub(super) fn institution_names(conn: &Connection) -> Result<HashMap<i64, String>> {
    Ok(store::institutions(conn)?
        .into_iter()
        .map(|i| (i.id, i.name))
        .collect())
}

/// Every certificate issued.
pub fn list(conn: &Connection) -> Result<Vec<CertView>> {
    let names = institution_names(conn)?;
    Ok(store::certificates(conn)?
        .iter()
        .map(|c| view(c, names.get(&c.institution_id).cloned().unwrap_or_default()))
        .collect())
}

/// A serial as officers and operators write it: decimal or `0x`-hex (the form rule).
pub fn parse_serial(s: &str) -> Option<Serial> {
    server_policy::parse_serial(s.trim()).ok()
}

/// The certificate with `serial` (decimal or `0x`-hex).
pub fn show(conn: &Connection, serial: &str) -> Result<CertDetail> {
    let s = parse_serial(serial).ok_or_else(|| {
        OpsError::Invalid(format!("{serial:?} is not a serial (decimal or 0x-hex)"))
    })?;
    let c = store::certificate(conn, &s)?
        .ok_or_else(|| OpsError::NotFound(format!("no certificate with serial {s}")))?;
    let names = institution_names(conn)?;
    let revocation = store::revocation(conn, &s)?.map(|r| RevocationView {
        revoked_at: store::ts(r.revoked_at),
        reason_code: r.reason.code(),
        reason: r.reason.name(),
    });
    Ok(CertDetail {
        cert: view(
            &c,
            names.get(&c.institution_id).cloned().unwrap_or_default(),
        ),
        ca_name: match c.ca {
            Some(k) => k.to_string(),
            None => format!("import CA {} (key not held here)", ca_name(&c)),
        },
        revocation,
        pem: c.pem.clone(),
    })
}

/// A revocation as the CA that must publish it needs it.
#[derive(Debug, Clone, Serialize)]
pub struct RevokedView {
    pub serial: String,
    pub serial_decimal: String,
    pub revoked_at: String,
    pub reason_code: u8,
    pub reason: &'static str,
    pub comment: String,
    pub subject: String,
    /// The issuer DN of the certificate.
    pub issuer: String,
    pub institution: String,
    pub kind: &'static str,
}

/// The revocations of the certificates one CA issued: `rsa` or `ec` (the
/// instance's own, on their CRLs) or an import CA by name (not on any CRL
/// the instance makes: the secretariat hands this list to that CA).
pub fn revoked(conn: &Connection, ca: &str) -> Result<Vec<RevokedView>> {
    let list = match crate::model::CaKind::parse(ca) {
        Some(kind) => store::revocations(conn, kind)?,
        None => store::import_ca_revocations(conn, ca)?,
    };
    let names = institution_names(conn)?;
    list.into_iter()
        .map(|r| {
            let c = store::certificate(conn, &r.serial)?.ok_or_else(|| {
                OpsError::NotFound(format!("revoked certificate {} not in the store", r.serial))
            })?;
            let issuer = openssl::x509::X509::from_pem(c.pem.as_bytes())
                .map(|x| crate::model::Dn::display_x509_name(x.issuer_name()))
                .unwrap_or_default();
            Ok(RevokedView {
                serial: r.serial.to_string(),
                serial_decimal: r.serial.to_decimal(),
                revoked_at: store::ts(r.revoked_at),
                reason_code: r.reason.code(),
                reason: r.reason.name(),
                comment: r.comment,
                subject: c.subject_dn.clone(),
                issuer,
                institution: names.get(&c.institution_id).cloned().unwrap_or_default(),
                kind: c.kind.as_str(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn serials_in_decimal_and_hex() {
        for (input, hex) in [
            ("0x112210E261FEC92B", Some("112210E261FEC92B")),
            ("0x112210e261fec92b", Some("112210E261FEC92B")),
            // The seed's two examples (5-3-2 field 4) are the same serial.
            ("1234567812345678123", Some("112210E261FEC92B")),
            ("0x", None),
            ("12a", None),
            ("", None),
        ] {
            assert_eq!(
                super::parse_serial(input).map(|s| s.to_hex()),
                hex.map(str::to_string),
                "{input}"
            );
        }
    }
}
