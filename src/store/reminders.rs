//! The reminders' table group: the reminders sent (once per kind and
//! certificate), what a server row said beyond the DN (so a digest can
//! pre-fill the renewal row), the institutions' expiry-digest switch, and
//! the look-ups the reminder jobs need (who applied, who the officers are).

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Result, StoreError, time_col, ts};
use crate::model::{CertKind, CertStatus, Officer, Serial};

/// The kinds of reminder, each sent at most once per certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderKind {
    /// 2-2-9: the old certificate of a renewal is still not revoked (keyed by
    /// the old certificate's serial).
    RenewalRevoke,
    /// The certificate was listed in an expiry digest.
    ExpiryDigest,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::RenewalRevoke => "renewal-revoke",
            ReminderKind::ExpiryDigest => "expiry-digest",
        }
    }

    pub fn from_name(s: &str) -> Option<ReminderKind> {
        [ReminderKind::RenewalRevoke, ReminderKind::ExpiryDigest]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A reminder sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentReminder {
    pub kind: ReminderKind,
    pub serial: Serial,
    pub sent_at: OffsetDateTime,
    pub outbox_id: Option<i64>,
}

/// Records a reminder of `kind` for `serial`. A second one of the same kind
/// for the same certificate is a conflict (the primary key), so a reminder
/// recorded in the transaction of its queued mail is sent once.
pub fn record_reminder(
    conn: &Connection,
    kind: ReminderKind,
    serial: &Serial,
    sent_at: OffsetDateTime,
    outbox_id: Option<i64>,
) -> Result<()> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO reminders(kind, serial, sent_at, outbox_id) VALUES (?1, ?2, ?3, ?4)",
        params![kind.as_str(), serial.to_hex(), ts(sent_at), outbox_id],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "a {} reminder for {serial} was sent already",
            kind.as_str()
        )));
    }
    Ok(())
}

/// Every reminder sent, oldest first.
pub fn reminders(conn: &Connection) -> Result<Vec<SentReminder>> {
    let mut stmt = conn.prepare(
        "SELECT kind, serial, sent_at, outbox_id FROM reminders ORDER BY sent_at, serial",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                time_col(r, 2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(kind, serial, sent_at, outbox_id)| {
            Ok(SentReminder {
                kind: ReminderKind::from_name(&kind).ok_or(StoreError::Unreadable {
                    what: "reminder kind",
                    value: kind.clone(),
                })?,
                serial: Serial::from_hex(&serial).ok_or(StoreError::Unreadable {
                    what: "reminder serial",
                    value: serial.clone(),
                })?,
                sent_at,
                outbox_id,
            })
        })
        .collect()
}

/// What the reminder jobs need of a certificate (no PEM: every certificate
/// is read at each run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertBrief {
    pub serial: Serial,
    pub institution_id: i64,
    pub kind: CertKind,
    pub not_after: OffsetDateTime,
    pub issued_at: OffsetDateTime,
    pub status: CertStatus,
    pub renewed_from: Option<Serial>,
}

/// Every certificate, briefly.
pub fn certificate_briefs(conn: &Connection) -> Result<Vec<CertBrief>> {
    let mut stmt = conn.prepare(
        "SELECT serial, institution_id, kind, not_after, issued_at, status, renewed_from
         FROM certificates ORDER BY issued_at, serial",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let bad = |i: usize, what: &str| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    format!("bad {what}").into(),
                )
            };
            let serial: String = r.get(0)?;
            let renewed: Option<String> = r.get(6)?;
            Ok(CertBrief {
                serial: Serial::from_hex(&serial).ok_or_else(|| bad(0, "serial"))?,
                institution_id: r.get(1)?,
                kind: r.get(2)?,
                not_after: time_col(r, 3)?,
                issued_at: time_col(r, 4)?,
                status: r.get(5)?,
                renewed_from: renewed.and_then(|s| Serial::from_hex(&s)),
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// What a server row said beyond the DN: the renewal row of an expiry
/// digest is pre-filled from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerDetails {
    pub admin_name: String,
    pub admin_dept: String,
    pub fqdn: String,
    pub software: String,
    /// The subjectAltName dNSNames, the CN first (as the row was read).
    pub dns_names: Vec<String>,
}

/// Keeps the row details of a server certificate.
pub fn set_server_details(conn: &Connection, serial: &Serial, d: &ServerDetails) -> Result<()> {
    conn.prepare_cached(
        "UPDATE certificates SET admin_name = ?2, admin_dept = ?3, fqdn = ?4, software = ?5, dns_names = ?6
         WHERE serial = ?1",
    )?
    .execute(
        params![
            serial.to_hex(),
            d.admin_name,
            d.admin_dept,
            d.fqdn,
            d.software,
            serde_json::to_string(&d.dns_names).unwrap_or_else(|_| "[]".into())
        ],
    )?;
    Ok(())
}

/// The row details of a server certificate; None for a certificate issued
/// before they were kept (or not a server certificate).
pub fn server_details(conn: &Connection, serial: &Serial) -> Result<Option<ServerDetails>> {
    let row = conn
        .query_row(
            "SELECT admin_name, admin_dept, fqdn, software, dns_names FROM certificates
             WHERE serial = ?1 AND fqdn IS NOT NULL",
            [serial.to_hex()],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()?;
    row.map(|(name, dept, fqdn, software, dns)| {
        let dns_names = match dns {
            None => vec![],
            Some(j) => serde_json::from_str(&j).map_err(|_| StoreError::Unreadable {
                what: "dNSName list",
                value: j.clone(),
            })?,
        };
        Ok(ServerDetails {
            admin_name: name.unwrap_or_default(),
            admin_dept: dept.unwrap_or_default(),
            fqdn,
            software: software.unwrap_or_default(),
            dns_names,
        })
    })
    .transpose()
}

/// Turns an institution's expiry digests on or off (by name).
pub fn set_expiry_digest(conn: &Connection, institution: &str, on: bool) -> Result<()> {
    let n = conn.execute(
        "UPDATE institutions SET expiry_digest = ?2 WHERE name = ?1",
        params![institution, on],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "no institution {institution:?}"
        )));
    }
    Ok(())
}

/// Whether an institution's officers get expiry digests.
pub fn expiry_digest(conn: &Connection, institution_id: i64) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT expiry_digest FROM institutions WHERE id = ?1",
            [institution_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false))
}

/// The registered (not removed) officers of an institution, by address.
pub fn institution_officers(conn: &Connection, institution_id: i64) -> Result<Vec<Officer>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, email, institution_id FROM officers
         WHERE institution_id = ?1 AND removed_at IS NULL ORDER BY email",
    )?;
    let rows = stmt
        .query_map([institution_id], |r| {
            Ok(Officer {
                id: r.get(0)?,
                email: r.get(1)?,
                institution_id: r.get(2)?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The officer who signed the mail a certificate was issued by, if that
/// officer is still registered.
pub fn applying_officer(conn: &Connection, serial: &Serial) -> Result<Option<Officer>> {
    Ok(conn
        .query_row(
            "SELECT o.id, o.email, o.institution_id FROM certificates c
             JOIN mails m ON m.id = c.mail_id
             JOIN officers o ON o.id = m.officer_id
             WHERE c.serial = ?1 AND o.removed_at IS NULL",
            [serial.to_hex()],
            |r| {
                Ok(Officer {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    institution_id: r.get(2)?,
                })
            },
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CaKind;
    use crate::store::testing::{cert, db};
    use time::macros::datetime;

    #[test]
    fn a_reminder_is_recorded_once_per_kind_and_certificate() {
        let (_dir, conn) = db();
        let t = datetime!(2026-01-01 00:00 UTC);
        let s = cert(&conn, 1, CaKind::Rsa, t);
        record_reminder(&conn, ReminderKind::RenewalRevoke, &s, t, None).unwrap();
        assert!(matches!(
            record_reminder(&conn, ReminderKind::RenewalRevoke, &s, t, None),
            Err(StoreError::Conflict(_))
        ));
        record_reminder(&conn, ReminderKind::ExpiryDigest, &s, t, None).unwrap();
        let kinds: Vec<_> = reminders(&conn)
            .unwrap()
            .into_iter()
            .map(|r| r.kind)
            .collect();
        assert_eq!(
            kinds,
            [ReminderKind::RenewalRevoke, ReminderKind::ExpiryDigest]
        );
    }

    #[test]
    fn server_details_read_back_and_are_absent_for_older_certificates() {
        let (_dir, conn) = db();
        let s = cert(&conn, 2, CaKind::Rsa, datetime!(2026-01-01 00:00 UTC));
        assert_eq!(server_details(&conn, &s).unwrap(), None);
        let d = ServerDetails {
            admin_name: "国立　太郎".into(),
            admin_dept: "情報基盤センター".into(),
            fqdn: "www.example.ac.jp".into(),
            software: "nginx".into(),
            dns_names: vec!["www.example.ac.jp".into(), "web.example.ac.jp".into()],
        };
        set_server_details(&conn, &s, &d).unwrap();
        assert_eq!(server_details(&conn, &s).unwrap(), Some(d));
    }

    #[test]
    fn digests_are_on_by_default_and_can_be_turned_off() {
        let (_dir, conn) = db();
        assert!(expiry_digest(&conn, 1).unwrap());
        set_expiry_digest(&conn, "Example University", false).unwrap();
        assert!(!expiry_digest(&conn, 1).unwrap());
        assert!(matches!(
            set_expiry_digest(&conn, "Nowhere", false),
            Err(StoreError::NotFound(_))
        ));
    }
}
