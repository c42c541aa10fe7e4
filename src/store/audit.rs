//! The `audit` table: who did what and when, one event per act (issuing,
//! revoking, reviewing, registry changes), appended in the transaction of
//! the act itself.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::{Result, ts};
use crate::model::Serial;

pub fn audit(
    conn: &Connection,
    now: OffsetDateTime,
    actor: &str,
    action: &str,
    mail_id: Option<i64>,
    serial: Option<&Serial>,
    detail: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit(at, actor, action, mail_id, serial, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(
        params![ts(now), actor, action, mail_id, serial.map(|s| s.to_hex()), detail],
    )?;
    Ok(())
}

/// One event of the audit log.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Its place in the log (events are numbered as they are appended).
    pub id: i64,
    /// When, as stored (RFC 3339, UTC).
    pub at: String,
    pub actor: String,
    pub action: String,
    pub mail_id: Option<i64>,
    /// The certificate's serial, upper-case hex as stored.
    pub serial: Option<String>,
    pub detail: String,
}

/// Which audit events [`audit_events_where`] returns; `Default` is all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only events about this mail.
    pub mail_id: Option<i64>,
    /// Only events about this certificate.
    pub serial: Option<Serial>,
}

/// Every event of the audit log, oldest first.
pub fn audit_events(conn: &Connection) -> Result<Vec<AuditEvent>> {
    audit_events_where(conn, &AuditFilter::default())
}

/// The events that pass `filter`, oldest first.
pub fn audit_events_where(conn: &Connection, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, mail_id, serial, detail FROM audit
         WHERE (?1 IS NULL OR julianday(at) >= julianday(?1))
           AND (?2 IS NULL OR mail_id = ?2)
           AND (?3 IS NULL OR serial = ?3)
         ORDER BY id",
    )?;
    let rows = stmt
        .query_map(
            params![
                filter.since.map(ts),
                filter.mail_id,
                filter.serial.as_ref().map(|s| s.to_hex())
            ],
            |r| {
                Ok(AuditEvent {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    mail_id: r.get(4)?,
                    serial: r.get(5)?,
                    detail: r.get(6)?,
                })
            },
        )?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::db;
    use time::macros::datetime;

    #[test]
    fn audit_events_are_found_by_time_mail_and_serial() {
        let (_dir, conn) = db();
        let s = Serial::from_bytes(&[0x0a, 0xbc]);
        let other = Serial::from_bytes(&[0x01]);
        let t1 = datetime!(2025-04-01 09:00 UTC);
        let t2 = datetime!(2025-04-02 09:00:00.25 UTC);
        audit(&conn, t1, "robot", "issue", None, Some(&s), "a").unwrap();
        audit(&conn, t2, "robot", "revoke", None, Some(&other), "b").unwrap();
        audit(
            &conn,
            t2,
            "secretariat",
            "delete-application",
            None,
            None,
            "c",
        )
        .unwrap();
        let details = |f: AuditFilter| -> Vec<String> {
            audit_events_where(&conn, &f)
                .unwrap()
                .into_iter()
                .map(|e| e.detail)
                .collect()
        };
        let cases = [
            (AuditFilter::default(), vec!["a", "b", "c"]),
            (
                AuditFilter {
                    serial: Some(s.clone()),
                    ..Default::default()
                },
                vec!["a"],
            ),
            (
                AuditFilter {
                    since: Some(datetime!(2025-04-02 09:00 UTC)),
                    ..Default::default()
                },
                vec!["b", "c"],
            ),
            (
                AuditFilter {
                    since: Some(datetime!(2025-04-02 09:00:01 UTC)),
                    ..Default::default()
                },
                vec![],
            ),
            (
                AuditFilter {
                    mail_id: Some(1),
                    ..Default::default()
                },
                vec![],
            ),
        ];
        for (f, expected) in cases {
            assert_eq!(details(f.clone()), expected, "{f:?}");
        }
        let all = audit_events(&conn).unwrap();
        assert_eq!(all[0].serial.as_deref(), Some("0ABC"));
        assert!(all[0].id < all[1].id);
    }
}
