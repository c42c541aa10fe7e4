//! The registry: institutions (with their domains) and their officers. One
//! at a time as the secretariat's commands add them, or in bulk as an import
//! does, in one transaction: all of it or nothing. Also the registry views
//! the secretariat's commands show.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Result, StoreError, parse_ts, ts};
use crate::model::{Institution, Officer};

pub fn add_institution(
    conn: &Connection,
    name: &str,
    st: &str,
    l: &str,
    domains: &[String],
    now: OffsetDateTime,
) -> Result<i64> {
    let tx = conn.unchecked_transaction()?;
    let id = insert_institution(&tx, name, st, l, domains, now)?;
    tx.commit()?;
    Ok(id)
}

/// An institution's row: id, name, ST, L, organizationIdentifier, PKCS#12 encryption.
type InstitutionRow = (i64, String, String, String, Option<String>, Option<String>);

const INSTITUTION_COLS: &str = "id, name, st, l, organization_identifier, p12_encryption";

fn institution_row(r: &rusqlite::Row) -> rusqlite::Result<InstitutionRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn load_institution(conn: &Connection, row: InstitutionRow) -> Result<Institution> {
    let (id, name, st, l, organization_identifier, p12) = row;
    let p12_encryption = p12
        .map(|v| {
            v.parse().map_err(|_| StoreError::Unreadable {
                what: "institution PKCS#12 encryption",
                value: format!("{v} ({name})"),
            })
        })
        .transpose()?;
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
        organization_identifier,
        p12_encryption,
    })
}

fn institution_where(
    conn: &Connection,
    clause: &str,
    p: &dyn rusqlite::ToSql,
) -> Result<Option<Institution>> {
    let row = conn
        .query_row(
            &format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE {clause}"),
            [p],
            institution_row,
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
    let mut stmt = conn.prepare(&format!(
        "SELECT {INSTITUTION_COLS} FROM institutions ORDER BY name"
    ))?;
    let rows = stmt
        .query_map([], institution_row)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|r| load_institution(conn, r))
        .collect()
}

/// Sets (or with `None` clears) an institution's organizationIdentifier.
pub fn set_organization_identifier(
    conn: &Connection,
    name: &str,
    value: Option<&str>,
) -> Result<()> {
    let n = conn.execute(
        "UPDATE institutions SET organization_identifier = ?2 WHERE name = ?1",
        params![name, value],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("no institution {name:?}")));
    }
    Ok(())
}

/// Sets (or with `None` returns to the instance default) an institution's
/// PKCS#12 encryption.
pub fn set_p12_encryption(
    conn: &Connection,
    name: &str,
    value: Option<crate::model::P12Encryption>,
) -> Result<()> {
    let n = conn.execute(
        "UPDATE institutions SET p12_encryption = ?2 WHERE name = ?1",
        params![name, value.map(|v| v.as_str())],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("no institution {name:?}")));
    }
    Ok(())
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

// ---------------------------------------------------------------- in bulk

/// One change an import makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryWrite {
    AddInstitution {
        name: String,
        st: String,
        l: String,
        domains: Vec<String>,
    },
    /// Domains added to an institution already registered.
    AddDomains {
        institution: String,
        domains: Vec<String>,
    },
    AddOfficer {
        email: String,
        institution: String,
        registered_at: OffsetDateTime,
    },
    /// A registered officer's registration date corrected.
    SetRegistered {
        email: String,
        registered_at: OffsetDateTime,
    },
    /// An institution's organizationIdentifier set (or, `None`, cleared).
    SetOrganizationIdentifier {
        institution: String,
        value: Option<String>,
    },
    /// An institution's PKCS#12 encryption set (or, `None`, back to the
    /// instance default).
    SetP12Encryption {
        institution: String,
        value: Option<crate::model::P12Encryption>,
    },
    /// An institution's expiry digests turned on or off.
    SetExpiryDigest { institution: String, on: bool },
}

/// What the audit log records of a bulk change.
pub struct AuditNote<'a> {
    pub at: OffsetDateTime,
    pub actor: &'a str,
    pub action: &'a str,
    pub detail: &'a str,
}

/// Carries out every write and records the audit event, in one transaction.
pub fn apply(conn: &Connection, writes: &[RegistryWrite], note: &AuditNote) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    for w in writes {
        match w {
            RegistryWrite::AddInstitution {
                name,
                st,
                l,
                domains,
            } => {
                insert_institution(&tx, name, st, l, domains, note.at)?;
            }
            RegistryWrite::AddDomains {
                institution,
                domains,
            } => {
                let id = institution_id(&tx, institution)?;
                insert_domains(&tx, id, domains)?;
            }
            RegistryWrite::AddOfficer {
                email,
                institution,
                registered_at,
            } => {
                add_officer(&tx, email, institution, *registered_at)?;
            }
            RegistryWrite::SetRegistered {
                email,
                registered_at,
            } => {
                let n = tx.execute(
                    "UPDATE officers SET created_at = ?2 WHERE email = ?1 AND removed_at IS NULL",
                    params![email.to_ascii_lowercase(), ts(*registered_at)],
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!("no officer {email}")));
                }
            }
            RegistryWrite::SetOrganizationIdentifier { institution, value } => {
                set_organization_identifier(&tx, institution, value.as_deref())?;
            }
            RegistryWrite::SetP12Encryption { institution, value } => {
                set_p12_encryption(&tx, institution, *value)?;
            }
            RegistryWrite::SetExpiryDigest { institution, on } => {
                super::set_expiry_digest(&tx, institution, *on)?;
            }
        }
    }
    super::audit(
        &tx,
        note.at,
        note.actor,
        note.action,
        None,
        None,
        note.detail,
    )?;
    tx.commit()?;
    Ok(())
}

fn institution_id(conn: &Connection, name: &str) -> Result<i64> {
    conn.query_row("SELECT id FROM institutions WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("no institution {name:?}")))
}

/// Inserts an institution and its domains (the caller holds the transaction).
pub(super) fn insert_institution(
    conn: &Connection,
    name: &str,
    st: &str,
    l: &str,
    domains: &[String],
    now: OffsetDateTime,
) -> Result<i64> {
    if institution_by_name(conn, name)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "institution {name:?} is already registered"
        )));
    }
    conn.execute(
        "INSERT INTO institutions(name, st, l, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, st, l, ts(now)],
    )?;
    let id = conn.last_insert_rowid();
    insert_domains(conn, id, domains)?;
    Ok(id)
}

fn insert_domains(conn: &Connection, institution_id: i64, domains: &[String]) -> Result<()> {
    for d in domains {
        let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
        if let Some(owner) = domain_owner(conn, &d)? {
            return Err(StoreError::Conflict(format!(
                "domain {d} is already registered to {owner:?}"
            )));
        }
        conn.execute(
            "INSERT INTO institution_domains(institution_id, domain) VALUES (?1, ?2)",
            params![institution_id, d],
        )?;
    }
    Ok(())
}

/// The institution a domain is registered to.
pub fn domain_owner(conn: &Connection, domain: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT i.name FROM institution_domains d JOIN institutions i ON i.id = d.institution_id WHERE d.domain = ?1",
            [domain.to_ascii_lowercase()],
            |r| r.get(0),
        )
        .optional()?)
}

/// A registered officer as the registry lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerEntry {
    pub email: String,
    pub institution: String,
    pub registered_at: OffsetDateTime,
}

fn officer_entries_where(
    conn: &Connection,
    clause: &str,
    p: &dyn rusqlite::ToSql,
) -> Result<Vec<OfficerEntry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT o.email, i.name, o.created_at FROM officers o JOIN institutions i ON i.id = o.institution_id
         WHERE o.removed_at IS NULL AND ({clause}) ORDER BY i.name, o.email"
    ))?;
    let rows = stmt
        .query_map([p], |r| {
            let at: String = r.get(2)?;
            Ok(OfficerEntry {
                email: r.get(0)?,
                institution: r.get(1)?,
                registered_at: parse_ts(&at).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        2,
                        rusqlite::types::Type::Text,
                        format!("unreadable registration time {at:?}").into(),
                    )
                })?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The active officers with their institution and registration time.
pub fn officer_entries(conn: &Connection) -> Result<Vec<OfficerEntry>> {
    officer_entries_where(conn, "?1", &1)
}

/// One active officer, by mail address.
pub fn officer_entry(conn: &Connection, email: &str) -> Result<Option<OfficerEntry>> {
    Ok(
        officer_entries_where(conn, "o.email = ?1", &email.to_ascii_lowercase())?
            .into_iter()
            .next(),
    )
}
