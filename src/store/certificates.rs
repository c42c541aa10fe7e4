//! The `certificates` table: every certificate issued or imported, with its
//! status, the CA that signed it and the hash of its key (for the key-reuse
//! rules).

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Period, Result, StoreError, time_col, ts};
use crate::model::{
    CaKind, CertKind, CertStatus, DownloadMethod, Profile, RevocationReason, Serial,
};

#[derive(Debug, Clone)]
pub struct CertRecord {
    pub serial: Serial,
    pub institution_id: i64,
    /// The profile it was issued under; `None` for an imported certificate
    /// (`mailra registry import-cert`) that has no profile of SPEC §6.
    pub profile: Option<Profile>,
    /// What it is for (from the profile, or the EKU of an imported one).
    pub kind: CertKind,
    pub subject_dn: String,
    pub spki_sha256: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub status: CertStatus,
    pub pem: String,
    pub admin_mail: String,
    pub renewed_from: Option<Serial>,
    pub issued_at: OffsetDateTime,
    pub mail_id: Option<i64>,
    /// The instance's issuing CA that signed it (and whose CRL lists it
    /// once revoked); `None` for a certificate of an import CA.
    pub ca: Option<CaKind>,
    /// The import CA (`[ca] import_cas`, by name) that signed it, when the
    /// instance does not hold its key: its revocations are exported.
    pub import_ca: Option<String>,
    /// When it was imported (`None`: mailra issued it).
    pub imported_at: Option<OffsetDateTime>,
    /// The DN as applied for, when it differs from the subject (S/MIME).
    pub applied_dn: Option<String>,
    /// The user's address (client and S/MIME certificates).
    pub user_mail: Option<String>,
}

impl CertRecord {
    /// The profile a renewal row names: its own, or for an imported server
    /// certificate the instance's server profile of the same CA (3; 11 for
    /// the ECDSA CA). `None`: no profile a form could name.
    pub fn renewal_profile(&self) -> Option<Profile> {
        self.profile.or(match (self.kind, self.ca) {
            (CertKind::Server, Some(CaKind::Ec)) => Some(Profile::ServerP384),
            (CertKind::Server, _) => Some(Profile::ServerRsa2048),
            _ => None,
        })
    }
    /// The DN the officer applied with (what renewal and revocation rows
    /// must repeat).
    pub fn dn_as_applied(&self) -> &str {
        self.applied_dn.as_deref().unwrap_or(&self.subject_dn)
    }
}

pub fn insert_certificate(conn: &Connection, c: &CertRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO certificates(serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after,
                                  status, pem, admin_mail, renewed_from, issued_at, mail_id, ca,
                                  applied_dn, user_mail, kind, import_ca, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?
    .execute(
        params![
            c.serial.to_hex(),
            c.institution_id,
            c.profile.map(|p| p.id()),
            c.subject_dn,
            c.spki_sha256,
            ts(c.not_before),
            ts(c.not_after),
            c.status,
            c.pem,
            c.admin_mail,
            c.renewed_from.as_ref().map(|s| s.to_hex()),
            ts(c.issued_at),
            c.mail_id,
            c.ca,
            c.applied_dn,
            c.user_mail,
            c.kind,
            c.import_ca,
            c.imported_at.map(ts),
        ],
    )?;
    Ok(())
}

/// Changes the address a certificate's notices go to (a revocation row may
/// name a new one).
pub fn set_admin_mail(conn: &Connection, serial: &Serial, admin_mail: &str) -> Result<()> {
    conn.execute(
        "UPDATE certificates SET admin_mail = ?2 WHERE serial = ?1",
        params![serial.to_hex(), admin_mail],
    )?;
    Ok(())
}

/// Changes a client certificate's user address (a 5-4-3 row may name a new one).
pub fn set_user_mail(conn: &Connection, serial: &Serial, user_mail: &str) -> Result<()> {
    conn.execute(
        "UPDATE certificates SET user_mail = ?2 WHERE serial = ?1",
        params![serial.to_hex(), user_mail],
    )?;
    Ok(())
}

const CERT_COLS: &str =
    "serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after, status, pem,
                         admin_mail, renewed_from, issued_at, mail_id, ca, applied_dn, user_mail, kind,
                         import_ca, imported_at";

fn cert_from_row(r: &rusqlite::Row) -> rusqlite::Result<CertRecord> {
    let bad = |i: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("bad {what}").into(),
        )
    };
    let serial: String = r.get(0)?;
    let profile: Option<u8> = r.get(2)?;
    let renewed: Option<String> = r.get(10)?;
    let imported_at: Option<String> = r.get(18)?;
    Ok(CertRecord {
        serial: Serial::from_hex(&serial).ok_or_else(|| bad(0, "serial"))?,
        institution_id: r.get(1)?,
        profile: profile
            .map(|p| Profile::from_id(p).ok_or_else(|| bad(2, "profile")))
            .transpose()?,
        kind: r.get(16)?,
        subject_dn: r.get(3)?,
        spki_sha256: r.get(4)?,
        not_before: time_col(r, 5)?,
        not_after: time_col(r, 6)?,
        status: r.get(7)?,
        pem: r.get(8)?,
        admin_mail: r.get(9)?,
        renewed_from: renewed.and_then(|s| Serial::from_hex(&s)),
        issued_at: time_col(r, 11)?,
        mail_id: r.get(12)?,
        ca: r.get(13)?,
        applied_dn: r.get(14)?,
        user_mail: r.get(15)?,
        import_ca: r.get(17)?,
        imported_at: imported_at
            .map(|t| super::parse_ts(&t).ok_or_else(|| bad(18, "import time")))
            .transpose()?,
    })
}

pub fn certificate(conn: &Connection, serial: &Serial) -> Result<Option<CertRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {CERT_COLS} FROM certificates WHERE serial = ?1"),
            [serial.to_hex()],
            cert_from_row,
        )
        .optional()?)
}

pub fn certificates(conn: &Connection) -> Result<Vec<CertRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {CERT_COLS} FROM certificates ORDER BY issued_at, serial"
    ))?;
    let rows = stmt
        .query_map([], cert_from_row)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Which certificates [`find_certificates`] returns: every field given
/// must match (`None`, `false` and an open [`Period`]: no condition).
#[derive(Debug, Clone, Default)]
pub struct CertFilter {
    pub serial: Option<Serial>,
    /// A fragment of the subject DN, compared case-insensitively (ASCII).
    pub subject_contains: Option<String>,
    /// A fragment of the institution's name, compared case-insensitively (ASCII).
    pub institution_contains: Option<String>,
    pub institution_id: Option<i64>,
    /// The administrator's or the user's address, compared case-insensitively.
    pub mail: Option<String>,
    pub profile: Option<Profile>,
    pub kind: Option<CertKind>,
    pub status: Option<CertStatus>,
    /// Only certificates whose notAfter is later than this.
    pub unexpired_at: Option<OffsetDateTime>,
    /// Only certificates whose notAfter is this or earlier.
    pub expired_at: Option<OffsetDateTime>,
    /// When notAfter falls.
    pub expires: Period,
    /// When the certificate was issued or imported.
    pub issued: Period,
    /// Only certificates mailra issued (not imported ones).
    pub issued_here: bool,
    /// `Some(true)`: only renewals (`renewed_from` set); `Some(false)`: none.
    pub renewal: Option<bool>,
}

const FILTER_WHERE: &str = "(?1 IS NULL OR serial = ?1)
    AND (?2 IS NULL OR instr(lower(subject_dn), lower(?2)) > 0)
    AND (?3 IS NULL OR institution_id IN
         (SELECT id FROM institutions WHERE instr(lower(name), lower(?3)) > 0))
    AND (?4 IS NULL OR institution_id = ?4)
    AND (?5 IS NULL OR lower(admin_mail) = lower(?5) OR lower(user_mail) = lower(?5))
    AND (?6 IS NULL OR profile = ?6)
    AND (?7 IS NULL OR kind = ?7)
    AND (?8 IS NULL OR status = ?8)
    AND (?9 IS NULL OR julianday(not_after) > julianday(?9))
    AND (?10 IS NULL OR julianday(not_after) <= julianday(?10))
    AND (?11 IS NULL OR julianday(not_after) >= julianday(?11))
    AND (?12 IS NULL OR julianday(not_after) < julianday(?12))
    AND (?13 IS NULL OR julianday(issued_at) >= julianday(?13))
    AND (?14 IS NULL OR julianday(issued_at) < julianday(?14))
    AND (?15 = 0 OR imported_at IS NULL)
    AND (?16 IS NULL OR (renewed_from IS NOT NULL) = ?16)";

/// The certificates that pass `filter`, in the order they were issued.
pub fn find_certificates(conn: &Connection, filter: &CertFilter) -> Result<Vec<CertRecord>> {
    let (expires_from, expires_until) = filter.expires.bounds();
    let (issued_from, issued_until) = filter.issued.bounds();
    let mut stmt = conn.prepare(&format!(
        "SELECT {CERT_COLS} FROM certificates WHERE {FILTER_WHERE} ORDER BY issued_at, serial"
    ))?;
    let rows = stmt
        .query_map(
            params![
                filter.serial.as_ref().map(|s| s.to_hex()),
                filter.subject_contains,
                filter.institution_contains,
                filter.institution_id,
                filter.mail,
                filter.profile.map(|p| p.id()),
                filter.kind,
                filter.status,
                filter.unexpired_at.map(ts),
                filter.expired_at.map(ts),
                expires_from,
                expires_until,
                issued_from,
                issued_until,
                filter.issued_here,
                filter.renewal,
            ],
            cert_from_row,
        )?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A certificate issued for a key, with the reason of its revocation if revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub serial: Serial,
    pub subject_dn: String,
    pub revoked_for: Option<RevocationReason>,
}

/// Every certificate issued for the key with this SPKI hash (for the
/// key-reuse rules, policy::keyreuse).
pub fn key_uses(conn: &Connection, spki_sha256: &str) -> Result<Vec<KeyUse>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.serial, c.subject_dn, r.reason FROM certificates c
         LEFT JOIN revocations r ON r.serial = c.serial
         WHERE c.spki_sha256 = ?1 ORDER BY c.issued_at, c.serial",
    )?;
    let rows = stmt
        .query_map([spki_sha256], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // A damaged row is an error, not a guess: read as "unspecified" it could
    // hide a key compromise from the key-reuse rules.
    rows.into_iter()
        .map(|(serial, subject_dn, reason)| {
            let bad = |what, value: String| StoreError::Unreadable { what, value };
            let revoked_for = match reason {
                None => None,
                Some(c) => Some(
                    u8::try_from(c)
                        .ok()
                        .and_then(RevocationReason::from_code)
                        .ok_or_else(|| {
                            bad("revocation reason", format!("{c} (serial {serial})"))
                        })?,
                ),
            };
            Ok(KeyUse {
                serial: Serial::from_hex(&serial)
                    .ok_or_else(|| bad("certificate serial", serial.clone()))?,
                subject_dn,
                revoked_for,
            })
        })
        .collect()
}

/// What a 5-4-1 row said of a client or S/MIME certificate beyond its DN
/// and the user's address (those are in [`CertRecord`]): what a pre-filled
/// 5-4-2 renewal row repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDetails {
    pub admin_name: String,
    pub admin_dept: String,
    pub user_name: String,
    pub user_dept: String,
    /// The PKCS#12 file name without `.p12`.
    pub p12_name: String,
    pub method: DownloadMethod,
}

/// Keeps the row details of a client or S/MIME certificate.
pub fn set_client_details(conn: &Connection, serial: &Serial, d: &ClientDetails) -> Result<()> {
    conn.execute(
        "UPDATE certificates SET admin_name = ?2, admin_dept = ?3, user_name = ?4, user_dept = ?5,
                                 p12_name = ?6, download_method = ?7
         WHERE serial = ?1",
        params![
            serial.to_hex(),
            d.admin_name,
            d.admin_dept,
            d.user_name,
            d.user_dept,
            d.p12_name,
            d.method.code()
        ],
    )?;
    Ok(())
}

/// The row details of a client or S/MIME certificate; `None` for any other.
pub fn client_details(conn: &Connection, serial: &Serial) -> Result<Option<ClientDetails>> {
    let row = conn
        .query_row(
            "SELECT admin_name, admin_dept, user_name, user_dept, p12_name, download_method
             FROM certificates WHERE serial = ?1 AND download_method IS NOT NULL",
            [serial.to_hex()],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    row.map(|(an, ad, un, ud, p12, m)| {
        let method = u8::try_from(m)
            .ok()
            .and_then(DownloadMethod::from_code)
            .ok_or_else(|| StoreError::Unreadable {
                what: "download method",
                value: format!("{m} (serial {serial})"),
            })?;
        Ok(ClientDetails {
            admin_name: an.unwrap_or_default(),
            admin_dept: ad.unwrap_or_default(),
            user_name: un.unwrap_or_default(),
            user_dept: ud.unwrap_or_default(),
            p12_name: p12.unwrap_or_default(),
            method,
        })
    })
    .transpose()
}

#[cfg(test)]
#[path = "certificates_tests.rs"]
mod tests;
