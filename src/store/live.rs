//! State of the live mail edges: where each mail was filed, the IMAP position
//! per mailbox, and the SMTP outbox's retries.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{OutboxMail, Result, parse_ts, ts};

/// A mail recorded (its outcome committed) but not yet filed.
#[derive(Debug, Clone)]
pub struct Unfiled {
    pub id: i64,
    pub verdict: String,
    pub detail: String,
    pub folder: Option<String>,
    pub keywords: Vec<String>,
    pub rule: Option<String>,
}

/// A mail recorded but not yet filed (a crash hit between the commit and the
/// move), or, with `same_source`, any mail with these bytes whose source
/// starts so (the same IMAP mailbox seen again after a UIDVALIDITY change).
pub fn unfiled_mail_by_raw(
    conn: &Connection,
    raw_sha256: &str,
    same_source: Option<&str>,
) -> Result<Option<Unfiled>> {
    let like = same_source.map(|p| format!("{}%", p.replace('%', "\\%").replace('_', "\\_")));
    Ok(conn
        .query_row(
            "SELECT id, verdict, detail, folder, keywords, rule FROM mails
             WHERE raw_sha256 = ?1 AND verdict <> 'duplicate'
               AND (filed_at IS NULL OR (?2 IS NOT NULL AND source LIKE ?2 ESCAPE '\\'))
             ORDER BY id LIMIT 1",
            rusqlite::params![raw_sha256, like],
            |r| {
                let kw: String = r.get(4)?;
                Ok(Unfiled {
                    id: r.get(0)?,
                    verdict: r.get(1)?,
                    detail: r.get(2)?,
                    folder: r.get(3)?,
                    keywords: kw.split_whitespace().map(str::to_string).collect(),
                    rule: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Where a mail belongs, when that changed after processing (the server
/// refused the rules' folder and the mail went to quarantine).
pub fn set_mail_folder(conn: &Connection, mail_id: i64, folder: &str) -> Result<()> {
    conn.execute(
        "UPDATE mails SET folder = ?2 WHERE id = ?1",
        params![mail_id, folder],
    )?;
    Ok(())
}

pub fn mark_filed(
    conn: &Connection,
    mail_id: i64,
    folder: &str,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "UPDATE mails SET filed_at = ?2, filed_to = ?3 WHERE id = ?1",
        params![mail_id, ts(now), folder],
    )?;
    Ok(())
}

/// A mail read from IMAP whose filing changed after it was filed: the
/// secretariat reviewed a held mail, which still sits in the review folder.
#[derive(Debug, Clone)]
pub struct Refile {
    pub id: i64,
    pub raw_sha256: String,
    /// Where it sits now.
    pub from: String,
    /// Where it belongs, with which keywords.
    pub to: String,
    pub keywords: Vec<String>,
}

pub fn pending_refiles(conn: &Connection) -> Result<Vec<Refile>> {
    let mut stmt = conn.prepare(
        "SELECT id, raw_sha256, filed_to, folder, keywords FROM mails
         WHERE source LIKE 'imap:%' AND filed_at IS NOT NULL AND verdict <> 'held'
           AND folder IS NOT NULL AND filed_to IS NOT NULL AND folder <> filed_to
         ORDER BY id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let kw: String = r.get(4)?;
            Ok(Refile {
                id: r.get(0)?,
                raw_sha256: r.get(1)?,
                from: r.get(2)?,
                to: r.get(3)?,
                keywords: kw.split_whitespace().map(str::to_string).collect(),
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// (uidvalidity, last processed UID) of a mailbox.
pub fn imap_position(conn: &Connection, mailbox: &str) -> Result<Option<(u32, u32)>> {
    Ok(conn
        .query_row(
            "SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ?1",
            [mailbox],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub fn set_imap_position(
    conn: &Connection,
    mailbox: &str,
    uidvalidity: u32,
    last_uid: u32,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "INSERT INTO imap_state(mailbox, uidvalidity, last_uid, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = ?2, last_uid = ?3, updated_at = ?4",
        params![mailbox, uidvalidity, last_uid, ts(now)],
    )?;
    Ok(())
}

/// Pending replies whose next attempt is due.
pub fn due_outbox(conn: &Connection, now: OffsetDateTime) -> Result<Vec<OutboxMail>> {
    // julianday(): the stored RFC 3339 times vary in their fractional digits,
    // so they are compared as times, not as text.
    super::outbox_where(
        conn,
        "status = 'pending' AND (next_attempt_at IS NULL OR julianday(next_attempt_at) <= julianday(?1))",
        &ts(now),
    )
}

/// The earliest time a pending reply is due (None: nothing pending).
pub fn next_due(conn: &Connection) -> Result<Option<OffsetDateTime>> {
    let mut stmt = conn.prepare(
        "SELECT next_attempt_at FROM outbox WHERE status = 'pending' ORDER BY next_attempt_at IS NOT NULL, next_attempt_at LIMIT 1",
    )?;
    let next: Option<Option<String>> = stmt.query_row([], |r| r.get(0)).optional()?;
    Ok(match next {
        None => None,
        Some(None) => Some(OffsetDateTime::UNIX_EPOCH),
        Some(Some(t)) => Some(parse_ts(&t).unwrap_or(OffsetDateTime::UNIX_EPOCH)),
    })
}

/// Records that one recipient of a reply sent one by one has it.
pub fn recipient_delivered(conn: &Connection, id: i64, rcpt: &str) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    let current: String =
        tx.query_row("SELECT delivered_to FROM outbox WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
    let mut list: Vec<String> = serde_json::from_str(&current).unwrap_or_default();
    list.push(rcpt.to_string());
    tx.execute(
        "UPDATE outbox SET delivered_to = ?2 WHERE id = ?1",
        params![id, serde_json::to_string(&list).unwrap_or_default()],
    )?;
    tx.commit()?;
    Ok(())
}

/// Records that the server refused one recipient of a reply for good.
pub fn recipient_refused(conn: &Connection, id: i64, rcpt: &str, error: &str) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    let current: String = tx.query_row("SELECT refused FROM outbox WHERE id = ?1", [id], |r| {
        r.get(0)
    })?;
    let mut list: Vec<(String, String)> = serde_json::from_str(&current).unwrap_or_default();
    list.push((rcpt.to_string(), error.to_string()));
    tx.execute(
        "UPDATE outbox SET refused = ?2 WHERE id = ?1",
        params![id, serde_json::to_string(&list).unwrap_or_default()],
    )?;
    tx.commit()?;
    Ok(())
}

/// Records a failed attempt: tried again at `next`, or dead when `next` is None.
pub fn attempt_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    next: Option<OffsetDateTime>,
) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                status = CASE WHEN ?3 IS NULL THEN 'dead' ELSE 'pending' END
         WHERE id = ?1",
        params![id, error, next.map(ts)],
    )?;
    Ok(())
}

/// One outbox row as `mailra outbox list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub mail_id: Option<i64>,
    pub created_at: String,
    pub status: String,
    pub attempts: i64,
    pub recipients: Vec<String>,
    pub kind: String,
    pub subject: String,
    pub message_id: String,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    /// Recipients the server refused for good: (address, its answer).
    pub refused: Vec<(String, String)>,
}

/// Outbox rows, newest last; `status` filters (pending/sent/dead).
pub fn outbox_rows(conn: &Connection, status: Option<&str>) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, mail_id, created_at, status, attempts, recipients, kind, subject, message_id,
                last_error, next_attempt_at, sent_at, refused
         FROM outbox WHERE ?1 IS NULL OR status = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([status], |r| {
            let rcpt: String = r.get(5)?;
            Ok(OutboxRow {
                id: r.get(0)?,
                mail_id: r.get(1)?,
                created_at: r.get(2)?,
                status: r.get(3)?,
                attempts: r.get(4)?,
                recipients: serde_json::from_str(&rcpt).unwrap_or_default(),
                kind: r.get(6)?,
                subject: r.get(7)?,
                message_id: r.get(8)?,
                last_error: r.get(9)?,
                next_attempt_at: r.get(10)?,
                sent_at: r.get(11)?,
                refused: serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or_default(),
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Puts a dead (or pending) reply back in line for an immediate attempt.
/// The stored message is resent unchanged, with its original Message-ID.
pub fn retry_outbox(conn: &Connection, id: i64) -> Result<()> {
    let n = conn.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = NULL, refused = '[]'
         WHERE id = ?1 AND status <> 'sent'",
        [id],
    )?;
    if n == 0 {
        let status: Option<String> = conn
            .query_row("SELECT status FROM outbox WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        return Err(match status {
            None => super::StoreError::NotFound(format!("outbox #{id}")),
            Some(_) => super::StoreError::Conflict(format!(
                "outbox #{id} was already sent; it is not sent twice"
            )),
        });
    }
    Ok(())
}
