//! Maintenance mode (issue 11): the maintenance periods (at most one open,
//! which the schema guarantees), the notices sent to officers in each (one
//! per officer per period: the primary key), and the look-ups the resume
//! after a period needs (the mails kept meanwhile, in arrival order, and
//! those a crash left in the holding folder of the Maildir).

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Result, StoreError, time_col, ts};
use crate::model::Verdict;

/// One maintenance period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenancePeriod {
    pub id: i64,
    pub started_at: OffsetDateTime,
    pub started_by: String,
    /// What officers are told.
    pub message: String,
    /// When it ends by itself, if set.
    pub until: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub ended_by: Option<String>,
}

fn opt_time(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Option<OffsetDateTime>> {
    match r.get::<_, Option<String>>(i)? {
        None => Ok(None),
        Some(_) => time_col(r, i).map(Some),
    }
}

fn period(r: &rusqlite::Row) -> rusqlite::Result<MaintenancePeriod> {
    Ok(MaintenancePeriod {
        id: r.get(0)?,
        started_at: time_col(r, 1)?,
        started_by: r.get(2)?,
        message: r.get(3)?,
        until: opt_time(r, 4)?,
        ended_at: opt_time(r, 5)?,
        ended_by: r.get(6)?,
    })
}

const PERIOD_COLS: &str = "id, started_at, started_by, message, until, ended_at, ended_by";

/// The period not yet recorded as ended (it may be past its `until`: the
/// caller decides, see [`end_period`]).
pub fn open_period(conn: &Connection) -> Result<Option<MaintenancePeriod>> {
    Ok(conn
        .query_row(
            &format!("SELECT {PERIOD_COLS} FROM maintenance_periods WHERE ended_at IS NULL"),
            [],
            period,
        )
        .optional()?)
}

/// The most recent period (open or ended).
pub fn last_period(conn: &Connection) -> Result<Option<MaintenancePeriod>> {
    Ok(conn
        .query_row(
            &format!("SELECT {PERIOD_COLS} FROM maintenance_periods ORDER BY id DESC LIMIT 1"),
            [],
            period,
        )
        .optional()?)
}

/// Opens a new period; a Conflict when one is open already.
pub fn start_period(
    conn: &Connection,
    message: &str,
    until: Option<OffsetDateTime>,
    by: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    match conn.execute(
        "INSERT INTO maintenance_periods(started_at, started_by, message, until) VALUES (?1, ?2, ?3, ?4)",
        params![ts(now), by, message, until.map(ts)],
    ) {
        Ok(_) => Ok(conn.last_insert_rowid()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict("maintenance is already on".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Changes the message and `until` of an open period.
pub fn update_period(
    conn: &Connection,
    id: i64,
    message: &str,
    until: Option<OffsetDateTime>,
) -> Result<()> {
    let n = conn.execute(
        "UPDATE maintenance_periods SET message = ?2, until = ?3 WHERE id = ?1 AND ended_at IS NULL",
        params![id, message, until.map(ts)],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!(
            "maintenance period #{id} has ended"
        )));
    }
    Ok(())
}

/// Records the end of a period; false when it was recorded as ended already
/// (by someone else meanwhile).
pub fn end_period(conn: &Connection, id: i64, at: OffsetDateTime, by: &str) -> Result<bool> {
    let n = conn.execute(
        "UPDATE maintenance_periods SET ended_at = ?2, ended_by = ?3 WHERE id = ?1 AND ended_at IS NULL",
        params![id, ts(at), by],
    )?;
    Ok(n == 1)
}

/// Claims the one notice of `officer_id` in period `period_id`, for the
/// mail `mail_id`: true when this call claimed it, false when the officer
/// was noticed already in this period.
pub fn claim_notice(
    conn: &Connection,
    period_id: i64,
    officer_id: i64,
    mail_id: i64,
    now: OffsetDateTime,
) -> Result<bool> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO maintenance_notices(period_id, officer_id, sent_at, mail_id)
         VALUES (?1, ?2, ?3, ?4)",
        params![period_id, officer_id, ts(now), mail_id],
    )?;
    Ok(n == 1)
}

/// Records which outbox row carries a claimed notice.
pub fn set_notice_outbox(
    conn: &Connection,
    period_id: i64,
    officer_id: i64,
    outbox_id: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE maintenance_notices SET outbox_id = ?3 WHERE period_id = ?1 AND officer_id = ?2",
        params![period_id, officer_id, outbox_id],
    )?;
    Ok(())
}

/// How many officers were told in period `period_id`.
pub fn notices_in_period(conn: &Connection, period_id: i64) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM maintenance_notices WHERE period_id = ?1",
        [period_id],
        |r| r.get(0),
    )?)
}

/// How many mails wait for the end of maintenance.
pub fn deferred_count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM mails WHERE verdict = ?1",
        [Verdict::Deferred],
        |r| r.get(0),
    )?)
}

/// The ids of the mails kept during maintenance, in arrival order (the time
/// they arrived, then their number).
pub fn deferred_mail_ids(conn: &Connection) -> Result<Vec<i64>> {
    let mut stmt = conn
        .prepare("SELECT id FROM mails WHERE verdict = ?1 ORDER BY julianday(received_at), id")?;
    let ids = stmt
        .query_map([Verdict::Deferred], |r| r.get(0))?
        .collect::<std::result::Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// A mail of the Maildir (or a file) filed into `folder` whose filing has
/// changed since: (id, source, where it belongs now).
pub fn refiles_from(conn: &Connection, folder: &str) -> Result<Vec<(i64, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT id, source, folder FROM mails
         WHERE filed_to = ?1 AND folder IS NOT NULL AND folder <> filed_to
           AND source NOT LIKE 'imap:%'
         ORDER BY id",
    )?;
    let rows = stmt
        .query_map([folder], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{db, mail_at};
    use time::macros::datetime;

    #[test]
    fn one_open_period_at_a_time_and_one_notice_per_officer_per_period() {
        let (_dir, conn) = db();
        let t = datetime!(2025-04-01 09:00:00 UTC);
        assert_eq!(open_period(&conn).unwrap(), None);
        let p = start_period(&conn, "down", None, "sec", t).unwrap();
        assert!(matches!(
            start_period(&conn, "again", None, "sec", t),
            Err(StoreError::Conflict(_))
        ));
        let open = open_period(&conn).unwrap().unwrap();
        assert_eq!((open.id, open.message.as_str()), (p, "down"));
        let o =
            crate::store::add_officer(&conn, "o@example.ac.jp", "Example University", t).unwrap();
        let m = mail_at(&conn, t, Verdict::Deferred, "m");
        assert!(claim_notice(&conn, p, o, m, t).unwrap());
        assert!(!claim_notice(&conn, p, o, m, t).unwrap(), "a second notice");
        assert_eq!(notices_in_period(&conn, p).unwrap(), 1);
        assert!(end_period(&conn, p, t, "sec").unwrap());
        assert!(!end_period(&conn, p, t, "sec").unwrap(), "ended once");
        let q = start_period(&conn, "down again", Some(t), "sec", t).unwrap();
        assert!(claim_notice(&conn, q, o, m, t).unwrap(), "a new period");
        assert_eq!(last_period(&conn).unwrap().unwrap().until, Some(t));
    }

    #[test]
    fn an_imap_mail_processed_after_maintenance_is_refiled_even_when_held() {
        let (_dir, conn) = db();
        let t = datetime!(2025-04-01 09:00:00 UTC);
        let mut ids = Vec::new();
        for (tag, verdict, folder) in [
            ("a", Verdict::Held, "Review"),
            ("b", Verdict::Accepted, "Processed"),
            ("c", Verdict::Deferred, "Maintenance"),
        ] {
            let id = crate::store::insert_mail(
                &conn,
                &crate::store::MailRecord {
                    received_at: t,
                    source: &format!("imap:INBOX;UIDVALIDITY=1;UID={tag}"),
                    raw: tag.as_bytes(),
                    raw_sha256: tag,
                    message_id: None,
                    from_addr: None,
                    subject: None,
                    signed_sha256: None,
                    signer_spki_sha256: None,
                    officer_id: None,
                    verdict,
                    detail: "",
                    dry_run: false,
                    executed: false,
                    folder,
                    keywords: &[],
                    rule: None,
                },
            )
            .unwrap();
            crate::store::mark_filed(&conn, id, "Maintenance", t).unwrap();
            ids.push(id);
        }
        let pending: Vec<(i64, String)> = crate::store::pending_refiles(&conn)
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.to))
            .collect();
        assert_eq!(
            pending,
            [
                (ids[0], "Review".to_string()),
                (ids[1], "Processed".to_string())
            ]
        );
    }

    #[test]
    fn deferred_mails_come_in_arrival_order() {
        let (_dir, conn) = db();
        // Stored times with and without fractions: compared as times.
        let late = mail_at(
            &conn,
            datetime!(2025-04-01 09:00:01 UTC),
            Verdict::Deferred,
            "a",
        );
        let early = mail_at(
            &conn,
            datetime!(2025-04-01 09:00:00.5 UTC),
            Verdict::Deferred,
            "b",
        );
        let same = mail_at(
            &conn,
            datetime!(2025-04-01 09:00:01 UTC),
            Verdict::Deferred,
            "c",
        );
        mail_at(
            &conn,
            datetime!(2025-04-01 08:00:00 UTC),
            Verdict::Accepted,
            "d",
        );
        assert_eq!(deferred_mail_ids(&conn).unwrap(), vec![early, late, same]);
        assert_eq!(deferred_count(&conn).unwrap(), 3);
    }
}
