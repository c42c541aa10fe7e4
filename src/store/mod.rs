//! The state store: one SQLite file (WAL) holding the registry, every mail,
//! application, certificate, revocation, CRL, the outbox and the audit log.
//!
//! Functions take a `&Connection` so the RA can run them inside one
//! transaction: certificates, outbox replies and audit events of one mail are
//! committed together or not at all (that is what makes a crash between
//! issuing and replying harmless).

mod live;
mod migrations;
pub mod registry;

pub use live::*;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use crate::model::{
    ApplicationStatus, CaKind, CertStatus, Institution, Officer, Profile, RevocationReason, Serial,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("database schema version {found} is newer than this mailra ({known}); upgrade mailra")]
    TooNew { found: i64, known: i64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Opens (creating if needed) the database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    migrations::migrate(&mut conn)?;
    Ok(conn)
}

pub fn ts(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn parse_ts(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

// ---------------------------------------------------------------- registry

pub fn add_institution(
    conn: &Connection,
    name: &str,
    st: &str,
    l: &str,
    domains: &[String],
    now: OffsetDateTime,
) -> Result<i64> {
    let tx = conn.unchecked_transaction()?;
    let id = registry::insert_institution(&tx, name, st, l, domains, now)?;
    tx.commit()?;
    Ok(id)
}

fn load_institution(conn: &Connection, row: (i64, String, String, String)) -> Result<Institution> {
    let (id, name, st, l) = row;
    let mut stmt = conn.prepare_cached(
        "SELECT domain FROM institution_domains WHERE institution_id = ?1 ORDER BY domain",
    )?;
    let domains = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<std::result::Result<Vec<String>, _>>()?;
    Ok(Institution {
        id,
        name,
        st,
        l,
        domains,
    })
}

fn institution_where(
    conn: &Connection,
    clause: &str,
    p: &dyn rusqlite::ToSql,
) -> Result<Option<Institution>> {
    let row = conn
        .query_row(
            &format!("SELECT id, name, st, l FROM institutions WHERE {clause}"),
            [p],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    row.map(|r| load_institution(conn, r)).transpose()
}

pub fn institution_by_name(conn: &Connection, name: &str) -> Result<Option<Institution>> {
    institution_where(conn, "name = ?1", &name)
}

pub fn institution(conn: &Connection, id: i64) -> Result<Option<Institution>> {
    institution_where(conn, "id = ?1", &id)
}

pub fn institutions(conn: &Connection) -> Result<Vec<Institution>> {
    let mut stmt = conn.prepare("SELECT id, name, st, l FROM institutions ORDER BY name")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|r| load_institution(conn, r))
        .collect()
}

/// Removes an institution that has no officers and no certificates.
pub fn remove_institution(conn: &Connection, name: &str) -> Result<()> {
    let inst = institution_by_name(conn, name)?
        .ok_or_else(|| StoreError::NotFound(format!("no institution {name:?}")))?;
    let officers: i64 = conn.query_row(
        "SELECT count(*) FROM officers WHERE institution_id = ?1",
        [inst.id],
        |r| r.get(0),
    )?;
    let certs: i64 = conn.query_row(
        "SELECT count(*) FROM certificates WHERE institution_id = ?1",
        [inst.id],
        |r| r.get(0),
    )?;
    if officers > 0 || certs > 0 {
        return Err(StoreError::Conflict(format!(
            "institution {name:?} still has {officers} officer(s) and {certs} certificate(s); it is kept for the record"
        )));
    }
    conn.execute(
        "DELETE FROM institution_domains WHERE institution_id = ?1",
        [inst.id],
    )?;
    conn.execute("DELETE FROM institutions WHERE id = ?1", [inst.id])?;
    Ok(())
}

/// Registers an officer; `registered_at` is when the officer was registered
/// (the rules' `officer_registered_within_days` counts from it).
pub fn add_officer(
    conn: &Connection,
    email: &str,
    institution_name: &str,
    registered_at: OffsetDateTime,
) -> Result<i64> {
    let inst = institution_by_name(conn, institution_name)?.ok_or_else(|| {
        StoreError::NotFound(format!("no institution {institution_name:?}; add it first"))
    })?;
    let email = email.trim().to_ascii_lowercase();
    if officer_by_email(conn, &email)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "officer {email} is already registered"
        )));
    }
    conn.execute(
        "INSERT INTO officers(email, institution_id, created_at) VALUES (?1, ?2, ?3)",
        params![email, inst.id, ts(registered_at)],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn officer_by_email(conn: &Connection, email: &str) -> Result<Option<Officer>> {
    Ok(conn
        .query_row(
            "SELECT id, email, institution_id FROM officers WHERE email = ?1 AND removed_at IS NULL",
            [email.to_ascii_lowercase()],
            |r| Ok(Officer { id: r.get(0)?, email: r.get(1)?, institution_id: r.get(2)? }),
        )
        .optional()?)
}

/// When an officer was registered.
pub fn officer_registered_at(conn: &Connection, id: i64) -> Result<Option<OffsetDateTime>> {
    let t: Option<String> = conn
        .query_row("SELECT created_at FROM officers WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(t.as_deref().and_then(parse_ts))
}

/// Officers with their institution's name.
pub fn officers(conn: &Connection) -> Result<Vec<(Officer, String)>> {
    let mut stmt = conn.prepare(
        "SELECT o.id, o.email, o.institution_id, i.name FROM officers o JOIN institutions i ON i.id = o.institution_id
         WHERE o.removed_at IS NULL ORDER BY i.name, o.email",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                Officer {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    institution_id: r.get(2)?,
                },
                r.get(3)?,
            ))
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Removing an officer keeps the row (mails and audit refer to it) but ends their authority.
pub fn remove_officer(conn: &Connection, email: &str, now: OffsetDateTime) -> Result<()> {
    let n = conn.execute(
        "UPDATE officers SET removed_at = ?2, email = email || '#removed-' || id WHERE email = ?1 AND removed_at IS NULL",
        params![email.to_ascii_lowercase(), ts(now)],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("no officer {email}")));
    }
    Ok(())
}

// ---------------------------------------------------------------- mails

/// What the store keeps of one received mail.
#[derive(Debug, Clone)]
pub struct MailRecord<'a> {
    pub received_at: OffsetDateTime,
    pub source: &'a str,
    pub raw: &'a [u8],
    pub raw_sha256: &'a str,
    pub message_id: Option<&'a str>,
    pub from_addr: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub signed_sha256: Option<&'a str>,
    pub officer_id: Option<i64>,
    pub verdict: &'a str,
    pub detail: &'a str,
    pub dry_run: bool,
    /// True when the mail's applications were carried out (the exactly-once key).
    pub executed: bool,
    /// The IMAP folder the rules filed it into.
    pub folder: &'a str,
    /// The IMAP keywords the rules set.
    pub keywords: &'a [String],
    /// The deciding rule (None: the built-in fallback).
    pub rule: Option<&'a str>,
}

pub fn insert_mail(conn: &Connection, m: &MailRecord) -> Result<i64> {
    conn.execute(
        "INSERT INTO mails(received_at, source, raw, raw_sha256, message_id, from_addr, subject, signed_sha256,
                           officer_id, verdict, detail, dry_run, executed, folder, keywords, rule)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            ts(m.received_at),
            m.source,
            m.raw,
            m.raw_sha256,
            m.message_id,
            m.from_addr,
            m.subject,
            m.signed_sha256,
            m.officer_id,
            m.verdict,
            m.detail,
            m.dry_run,
            m.executed,
            m.folder,
            m.keywords.join(" "),
            m.rule
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Records the outcome of reviewing a held mail on the mail's own row: the
/// verdict, detail and filing change. The applications recorded while it was
/// held are either dropped, for the caller to record them anew
/// (`replace_applications`), or kept as refused. Refuses a mail that is no
/// longer held (approved or rejected meanwhile), so a review happens at most once.
pub fn update_held_mail(
    conn: &Connection,
    id: i64,
    m: &MailRecord,
    replace_applications: bool,
) -> Result<i64> {
    let n = conn.execute(
        "UPDATE mails SET signed_sha256 = coalesce(?2, signed_sha256), officer_id = coalesce(?3, officer_id),
                          verdict = ?4, detail = ?5, dry_run = ?6, executed = ?7, folder = ?8, keywords = ?9,
                          rule = ?10
         WHERE id = ?1 AND verdict = 'held'",
        params![
            id,
            m.signed_sha256,
            m.officer_id,
            m.verdict,
            m.detail,
            m.dry_run,
            m.executed,
            m.folder,
            m.keywords.join(" "),
            m.rule
        ],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!(
            "mail #{id} is no longer held for review"
        )));
    }
    if replace_applications {
        conn.execute(
            "DELETE FROM application_rows WHERE application_id IN (SELECT id FROM applications WHERE mail_id = ?1)",
            [id],
        )?;
        conn.execute("DELETE FROM applications WHERE mail_id = ?1", [id])?;
    } else {
        conn.execute(
            "UPDATE applications SET status = 'refused' WHERE mail_id = ?1",
            [id],
        )?;
    }
    Ok(id)
}

/// A stored mail, as the review needs it.
#[derive(Debug, Clone)]
pub struct StoredMail {
    pub id: i64,
    pub received_at: OffsetDateTime,
    pub source: String,
    pub raw: Vec<u8>,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub verdict: String,
    pub detail: String,
    pub folder: Option<String>,
    pub keywords: Vec<String>,
    pub rule: Option<String>,
    /// The forms of its application files.
    pub forms: Vec<String>,
}

const MAIL_COLS: &str =
    "id, received_at, source, raw, from_addr, subject, verdict, detail, folder, keywords, rule";

fn stored_mail(conn: &Connection, r: &rusqlite::Row) -> rusqlite::Result<StoredMail> {
    let id: i64 = r.get(0)?;
    let received: String = r.get(1)?;
    let keywords: String = r.get(9)?;
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT form FROM applications WHERE mail_id = ?1 AND form IS NOT NULL ORDER BY form",
    )?;
    let forms = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(StoredMail {
        id,
        received_at: parse_ts(&received).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                "bad time".into(),
            )
        })?,
        source: r.get(2)?,
        raw: r.get(3)?,
        from_addr: r.get(4)?,
        subject: r.get(5)?,
        verdict: r.get(6)?,
        detail: r.get(7)?,
        folder: r.get(8)?,
        keywords: keywords.split_whitespace().map(str::to_string).collect(),
        rule: r.get(10)?,
        forms,
    })
}

pub fn mail(conn: &Connection, id: i64) -> Result<Option<StoredMail>> {
    Ok(conn
        .query_row(
            &format!("SELECT {MAIL_COLS} FROM mails WHERE id = ?1"),
            [id],
            |r| stored_mail(conn, r),
        )
        .optional()?)
}

/// The mails held for review, oldest first.
pub fn held_mails(conn: &Connection) -> Result<Vec<StoredMail>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {MAIL_COLS} FROM mails WHERE verdict = 'held' ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([], |r| stored_mail(conn, r))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// When mail `id` arrived, as stored.
pub fn mail_received_at(conn: &Connection, id: i64) -> Result<String> {
    Ok(
        conn.query_row("SELECT received_at FROM mails WHERE id = ?1", [id], |r| {
            r.get(0)
        })?,
    )
}

/// The first mail that used this signed content up (carried it out, or
/// checked it as a dry run), other than mail `except`.
pub fn mail_using_content(
    conn: &Connection,
    signed_sha256: &str,
    except: Option<i64>,
) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT id, received_at FROM mails
             WHERE signed_sha256 = ?1 AND id <> ?2
               AND (executed = 1 OR verdict = 'checked')
             ORDER BY executed DESC, id LIMIT 1",
            rusqlite::params![signed_sha256, except.unwrap_or(-1)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// The first mail with exactly these raw bytes, if any (the same mail seen twice).
pub fn mail_by_raw(conn: &Connection, raw_sha256: &str) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT id, verdict FROM mails WHERE raw_sha256 = ?1 AND verdict <> 'duplicate' ORDER BY id LIMIT 1",
            [raw_sha256],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub fn insert_application(
    conn: &Connection,
    mail_id: i64,
    filename: &str,
    form: Option<&str>,
    sha256: &str,
    status: ApplicationStatus,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO applications(mail_id, filename, form, sha256, status) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![mail_id, filename, form, sha256, status.as_str()],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn insert_row(
    conn: &Connection,
    application_id: i64,
    line: usize,
    outcome: &str,
    serial: Option<&Serial>,
    detail: &str,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO application_rows(application_id, line, outcome, serial, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![application_id, line as i64, outcome, serial.map(|s| s.to_hex()), detail],
    )?;
    Ok(conn.last_insert_rowid())
}

// ---------------------------------------------------------------- certificates

#[derive(Debug, Clone)]
pub struct CertRecord {
    pub serial: Serial,
    pub institution_id: i64,
    pub profile: Profile,
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
    /// The issuing CA that signed it (and whose CRL lists it once revoked).
    pub ca: CaKind,
}

pub fn insert_certificate(conn: &Connection, c: &CertRecord) -> Result<()> {
    conn.execute(
        "INSERT INTO certificates(serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after,
                                  status, pem, admin_mail, renewed_from, issued_at, mail_id, ca)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            c.serial.to_hex(),
            c.institution_id,
            c.profile.id(),
            c.subject_dn,
            c.spki_sha256,
            ts(c.not_before),
            ts(c.not_after),
            status_str(c.status),
            c.pem,
            c.admin_mail,
            c.renewed_from.as_ref().map(|s| s.to_hex()),
            ts(c.issued_at),
            c.mail_id,
            c.ca.as_str()
        ],
    )?;
    Ok(())
}

fn status_str(s: CertStatus) -> &'static str {
    match s {
        CertStatus::Valid => "valid",
        CertStatus::Revoked => "revoked",
    }
}

const CERT_COLS: &str =
    "serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after, status, pem,
                         admin_mail, renewed_from, issued_at, mail_id, ca";

fn cert_from_row(r: &rusqlite::Row) -> rusqlite::Result<CertRecord> {
    let bad = |i: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("bad {what}").into(),
        )
    };
    let serial: String = r.get(0)?;
    let profile: u8 = r.get(2)?;
    let status: String = r.get(7)?;
    let renewed: Option<String> = r.get(10)?;
    let ca: String = r.get(13)?;
    Ok(CertRecord {
        serial: Serial::from_hex(&serial).ok_or_else(|| bad(0, "serial"))?,
        institution_id: r.get(1)?,
        profile: Profile::from_id(profile).ok_or_else(|| bad(2, "profile"))?,
        subject_dn: r.get(3)?,
        spki_sha256: r.get(4)?,
        not_before: parse_ts(&r.get::<_, String>(5)?).ok_or_else(|| bad(5, "time"))?,
        not_after: parse_ts(&r.get::<_, String>(6)?).ok_or_else(|| bad(6, "time"))?,
        status: if status == "revoked" {
            CertStatus::Revoked
        } else {
            CertStatus::Valid
        },
        pem: r.get(8)?,
        admin_mail: r.get(9)?,
        renewed_from: renewed.and_then(|s| Serial::from_hex(&s)),
        issued_at: parse_ts(&r.get::<_, String>(11)?).ok_or_else(|| bad(11, "time"))?,
        mail_id: r.get(12)?,
        ca: CaKind::parse(&ca).ok_or_else(|| bad(13, "ca"))?,
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

#[derive(Debug, Clone)]
pub struct Revocation {
    pub serial: Serial,
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
    pub comment: String,
}

/// Marks a valid certificate revoked; refuses a second revocation.
pub fn revoke(conn: &Connection, r: &Revocation, mail_id: Option<i64>) -> Result<()> {
    let n = conn.execute(
        "UPDATE certificates SET status = 'revoked' WHERE serial = ?1 AND status = 'valid'",
        [r.serial.to_hex()],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!(
            "certificate {} is not a valid certificate of this CA",
            r.serial
        )));
    }
    conn.execute(
        "INSERT INTO revocations(serial, revoked_at, reason, comment, mail_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![r.serial.to_hex(), ts(r.revoked_at), r.reason.code(), r.comment, mail_id],
    )?;
    Ok(())
}

/// The revocations of the certificates `ca` issued (what its CRL lists).
pub fn revocations(conn: &Connection, ca: CaKind) -> Result<Vec<Revocation>> {
    revocations_where(conn, "c.ca = ?1", &ca.as_str())
}

fn revocations_where(
    conn: &Connection,
    clause: &str,
    p: &dyn rusqlite::ToSql,
) -> Result<Vec<Revocation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT r.serial, r.revoked_at, r.reason, r.comment FROM revocations r
         JOIN certificates c ON c.serial = r.serial WHERE {clause} ORDER BY r.revoked_at, r.serial"
    ))?;
    let rows = stmt
        .query_map([p], |r| {
            let s: String = r.get(0)?;
            let t: String = r.get(1)?;
            let reason: u8 = r.get(2)?;
            Ok((s, t, reason, r.get::<_, Option<String>>(3)?))
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(s, t, reason, c)| {
            Some(Revocation {
                serial: Serial::from_hex(&s)?,
                revoked_at: parse_ts(&t)?,
                reason: RevocationReason::from_code(reason)?,
                comment: c.unwrap_or_default(),
            })
        })
        .collect())
}

pub fn revocation(conn: &Connection, serial: &Serial) -> Result<Option<Revocation>> {
    Ok(revocations_where(conn, "r.serial = ?1", &serial.to_hex())?
        .into_iter()
        .next())
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
    Ok(rows
        .into_iter()
        .map(|(serial, subject_dn, reason)| KeyUse {
            serial: Serial::from_hex(&serial).unwrap_or_else(|| Serial::from_bytes(&[])),
            subject_dn,
            revoked_for: reason.map(|c| {
                u8::try_from(c)
                    .ok()
                    .and_then(RevocationReason::from_code)
                    .unwrap_or(RevocationReason::Unspecified)
            }),
        })
        .collect())
}

// ---------------------------------------------------------------- CRLs
//
// Each issuing CA has its own CRL, with its own cRLNumber sequence.

pub fn next_crl_number(conn: &Connection, ca: CaKind) -> Result<u64> {
    let n: Option<i64> = conn.query_row(
        "SELECT max(number) FROM crls WHERE ca = ?1",
        [ca.as_str()],
        |r| r.get(0),
    )?;
    Ok(n.unwrap_or(0) as u64 + 1)
}

pub fn insert_crl(
    conn: &Connection,
    ca: CaKind,
    number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    der: &[u8],
) -> Result<()> {
    conn.execute(
        "INSERT INTO crls(ca, number, this_update, next_update, der) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            ca.as_str(),
            number as i64,
            ts(this_update),
            ts(next_update),
            der
        ],
    )?;
    Ok(())
}

/// The newest CRL: (number, this_update, next_update, der).
pub type CrlRow = (u64, OffsetDateTime, OffsetDateTime, Vec<u8>);

/// The newest CRL of `ca`, if any.
pub fn latest_crl(conn: &Connection, ca: CaKind) -> Result<Option<CrlRow>> {
    let row = conn
        .query_row(
            "SELECT number, this_update, next_update, der FROM crls WHERE ca = ?1
             ORDER BY number DESC LIMIT 1",
            [ca.as_str()],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(row.and_then(|(n, t, u, d)| Some((n as u64, parse_ts(&t)?, parse_ts(&u)?, d))))
}

/// Whether `ca` needs a new CRL: it has none, the newest is past its
/// nextUpdate, or one of its certificates was revoked after it was made.
pub fn crl_is_stale(conn: &Connection, ca: CaKind, now: OffsetDateTime) -> Result<bool> {
    let Some((_, this_update, next_update, _)) = latest_crl(conn, ca)? else {
        return Ok(true);
    };
    if next_update <= now {
        return Ok(true);
    }
    let newer: i64 = conn.query_row(
        "SELECT count(*) FROM revocations r JOIN certificates c ON c.serial = r.serial
         WHERE c.ca = ?1 AND r.revoked_at > ?2",
        params![ca.as_str(), ts(this_update)],
        |r| r.get(0),
    )?;
    Ok(newer > 0)
}

// ---------------------------------------------------------------- outbox

#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub id: i64,
    pub mail_id: Option<i64>,
    pub message_id: String,
    pub from: String,
    pub recipients: Vec<String>,
    pub kind: String,
    pub subject: String,
    pub raw: Vec<u8>,
    pub status: String,
    pub attempts: i64,
    /// Recipients that have it already (when sent one by one).
    pub delivered_to: Vec<String>,
    /// Recipients the server refused for good: (address, the server's answer).
    pub refused: Vec<(String, String)>,
}

impl OutboxMail {
    /// The recipients still to be sent to.
    pub fn remaining(&self) -> Vec<&str> {
        self.recipients
            .iter()
            .filter(|r| {
                !self.delivered_to.contains(r) && !self.refused.iter().any(|(a, _)| a == *r)
            })
            .map(String::as_str)
            .collect()
    }
}

#[allow(clippy::too_many_arguments)]
pub fn enqueue(
    conn: &Connection,
    mail_id: Option<i64>,
    message_id: &str,
    from: &str,
    recipients: &[String],
    kind: &str,
    subject: &str,
    raw: &[u8],
    now: OffsetDateTime,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO outbox(mail_id, created_at, message_id, sender, recipients, kind, subject, raw, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending')",
        params![
            mail_id,
            ts(now),
            message_id,
            from,
            serde_json::to_string(recipients).unwrap_or_default(),
            kind,
            subject,
            raw
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn outbox_where(
    conn: &Connection,
    clause: &str,
    p: &dyn rusqlite::ToSql,
) -> Result<Vec<OutboxMail>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT id, mail_id, message_id, sender, recipients, kind, subject, raw, status, attempts,
                delivered_to, refused
         FROM outbox WHERE {clause} ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([p], |r| {
            let rcpt: String = r.get(4)?;
            Ok(OutboxMail {
                id: r.get(0)?,
                mail_id: r.get(1)?,
                message_id: r.get(2)?,
                from: r.get(3)?,
                recipients: serde_json::from_str(&rcpt).unwrap_or_default(),
                kind: r.get(5)?,
                subject: r.get(6)?,
                raw: r.get(7)?,
                status: r.get(8)?,
                attempts: r.get(9)?,
                delivered_to: serde_json::from_str(&r.get::<_, String>(10)?).unwrap_or_default(),
                refused: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn pending_outbox(conn: &Connection) -> Result<Vec<OutboxMail>> {
    outbox_where(conn, "status = ?1", &"pending")
}

pub fn outbox_for_mail(conn: &Connection, mail_id: i64) -> Result<Vec<OutboxMail>> {
    outbox_where(conn, "mail_id = ?1", &mail_id)
}

pub fn mark_sent(
    conn: &Connection,
    id: i64,
    now: OffsetDateTime,
    transport_id: &str,
) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL, transport_id = ?3 WHERE id = ?1",
        params![id, ts(now), transport_id],
    )?;
    Ok(())
}

pub fn mark_failed(conn: &Connection, id: i64, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- audit

pub fn audit(
    conn: &Connection,
    now: OffsetDateTime,
    actor: &str,
    action: &str,
    mail_id: Option<i64>,
    serial: Option<&Serial>,
    detail: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO audit(at, actor, action, mail_id, serial, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![ts(now), actor, action, mail_id, serial.map(|s| s.to_hex()), detail],
    )?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub mail_id: Option<i64>,
    pub serial: Option<String>,
    pub detail: String,
}

pub fn audit_events(conn: &Connection) -> Result<Vec<AuditEvent>> {
    let mut stmt =
        conn.prepare("SELECT at, actor, action, mail_id, serial, detail FROM audit ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(AuditEvent {
                at: r.get(0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                mail_id: r.get(3)?,
                serial: r.get(4)?,
                detail: r.get(5)?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn cert(conn: &Connection, serial: u8, ca: CaKind, at: OffsetDateTime) -> Serial {
        let serial = Serial::from_bytes(&[serial]);
        insert_certificate(
            conn,
            &CertRecord {
                serial: serial.clone(),
                institution_id: 1,
                profile: match ca {
                    CaKind::Rsa => Profile::ServerRsa2048,
                    CaKind::Ec => Profile::ServerP384,
                },
                subject_dn: "CN=www.example.ac.jp".into(),
                spki_sha256: String::new(),
                not_before: at,
                not_after: at + time::Duration::days(396),
                status: CertStatus::Valid,
                pem: String::new(),
                admin_mail: "a@example.ac.jp".into(),
                renewed_from: None,
                issued_at: at,
                mail_id: None,
                ca,
            },
        )
        .unwrap();
        serial
    }

    #[test]
    fn each_ca_has_its_own_revocation_list_and_staleness() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("t.sqlite")).unwrap();
        let t0 = datetime!(2025-04-01 00:00:00 UTC);
        add_institution(&conn, "Example University", "Tokyo", "Chiyoda-ku", &[], t0).unwrap();
        let rsa = cert(&conn, 1, CaKind::Rsa, t0);
        let ec = cert(&conn, 2, CaKind::Ec, t0);
        assert_eq!(certificate(&conn, &ec).unwrap().unwrap().ca, CaKind::Ec);
        let week = time::Duration::days(7);
        for kind in CaKind::ALL {
            assert!(crl_is_stale(&conn, kind, t0).unwrap(), "{kind}: no CRL yet");
            insert_crl(&conn, kind, 1, t0, t0 + week, b"crl").unwrap();
            assert!(!crl_is_stale(&conn, kind, t0).unwrap(), "{kind}");
        }
        let t1 = t0 + time::Duration::hours(1);
        let revoke_at = |serial: &Serial| Revocation {
            serial: serial.clone(),
            revoked_at: t1,
            reason: RevocationReason::KeyCompromise,
            comment: String::new(),
        };
        revoke(&conn, &revoke_at(&ec), None).unwrap();
        // Only the ECDSA CA's CRL is out of date, and only it lists the serial.
        assert!(crl_is_stale(&conn, CaKind::Ec, t1).unwrap());
        assert!(!crl_is_stale(&conn, CaKind::Rsa, t1).unwrap());
        let serials = |kind| -> Vec<Serial> {
            revocations(&conn, kind)
                .unwrap()
                .into_iter()
                .map(|r| r.serial)
                .collect()
        };
        assert_eq!(serials(CaKind::Ec), vec![ec.clone()]);
        assert!(serials(CaKind::Rsa).is_empty());
        revoke(&conn, &revoke_at(&rsa), None).unwrap();
        assert_eq!(serials(CaKind::Rsa), vec![rsa.clone()]);
        assert_eq!(serials(CaKind::Ec), vec![ec]);
        // Past nextUpdate: stale whatever happened.
        assert!(crl_is_stale(&conn, CaKind::Rsa, t0 + week).unwrap());
    }
}
