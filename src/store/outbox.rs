//! The `outbox` table: every reply the robot signed, kept until it is sent
//! (or given up as dead), with its retries and, when sent one recipient at a
//! time, who has it and who refused it.
//!
//! A reply queued with [`enqueue_secret`] carries a secret (a PKCS#12, access
//! PINs): once every recipient has it, its message is replaced, in the same
//! statement that records it, by a stub naming its Message-ID, size and
//! recipients ([`wiped_stub`]); the connection's `secure_delete` zeroes the
//! freed pages, and [`scrub`] moves the change out of the write-ahead log.
//! Until then (pending, dead) the message stays whole, to be sent or retried.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Result, StoreError, parse_ts, ts};

/// Where a reply stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// Accepted by the SMTP server.
    Sent,
    /// Given up after its retries; `mailra outbox retry` puts it back in line.
    Dead,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 3] = [
        OutboxStatus::Pending,
        OutboxStatus::Sent,
        OutboxStatus::Dead,
    ];

    /// The word stored (and shown).
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Dead => "dead",
        }
    }

    pub fn from_name(s: &str) -> Option<OutboxStatus> {
        OutboxStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    pub status: OutboxStatus,
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

/// A signed reply to queue in the outbox.
#[derive(Debug, Clone, Copy)]
pub struct NewReply<'a> {
    /// The mail it answers (None: a notice of the robot's own).
    pub mail_id: Option<i64>,
    pub message_id: &'a str,
    pub from: &'a str,
    pub recipients: &'a [String],
    /// What kind of reply (the template's name).
    pub kind: &'a str,
    pub subject: &'a str,
    /// The complete signed message.
    pub raw: &'a [u8],
}

/// Queues a reply (pending); returns its id.
pub fn enqueue(conn: &Connection, r: &NewReply<'_>, now: OffsetDateTime) -> Result<i64> {
    insert(conn, r, false, now)
}

/// Queues a reply that carries a secret (a PKCS#12, access PINs): its
/// message is wiped to a stub once sent. Returns its id.
pub fn enqueue_secret(conn: &Connection, r: &NewReply<'_>, now: OffsetDateTime) -> Result<i64> {
    insert(conn, r, true, now)
}

fn insert(conn: &Connection, r: &NewReply<'_>, secret: bool, now: OffsetDateTime) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox(mail_id, created_at, message_id, sender, recipients, kind, subject, status, secret)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        r.mail_id,
        ts(now),
        r.message_id,
        r.from,
        serde_json::to_string(r.recipients).unwrap_or_default(),
        r.kind,
        r.subject,
        OutboxStatus::Pending,
        secret
    ])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO outbox_raw(outbox_id, raw) VALUES (?1, ?2)")?
        .execute(params![id, r.raw])?;
    Ok(id)
}

/// The message of a queued reply as stored now (a sent secret one: its stub).
pub fn outbox_raw(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT raw FROM outbox_raw WHERE outbox_id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

fn outbox_where(
    conn: &Connection,
    clause: &str,
    p: &dyn rusqlite::ToSql,
) -> Result<Vec<OutboxMail>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT id, mail_id, message_id, sender, recipients, kind, subject, r.raw, status, attempts,
                delivered_to, refused
         FROM outbox JOIN outbox_raw r ON r.outbox_id = outbox.id WHERE {clause} ORDER BY id"
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
    outbox_where(conn, "status = ?1", &OutboxStatus::Pending)
}

pub fn outbox_for_mail(conn: &Connection, mail_id: i64) -> Result<Vec<OutboxMail>> {
    outbox_where(conn, "mail_id = ?1", &mail_id)
}

/// Wipes a sent secret reply's message to its stub (SQL over the reply's
/// values before it is marked wiped): what it was, not what it said. Binds
/// `:id` and `:wiped_at`; a reply that is not secret, or already wiped, is
/// left alone. Run before [`WIPED_AT`].
const WIPE_RAW: &str = "UPDATE outbox_raw SET raw = CAST(
        'X-Mailra-Wiped: this reply carried a PKCS#12 or access PINs; its content was erased once sent' || char(13, 10) ||
        'Message-ID: ' || o.message_id || char(13, 10) ||
        'Size: ' || length(outbox_raw.raw) || char(13, 10) ||
        'Recipients: ' || o.recipients || char(13, 10) ||
        'Wiped-At: ' || :wiped_at || char(13, 10) AS BLOB)
    FROM outbox o
    WHERE o.id = outbox_raw.outbox_id AND outbox_raw.outbox_id = :id
      AND o.secret = 1 AND o.wiped_at IS NULL";

/// The outbox columns set with [`WIPE_RAW`] (in an `UPDATE outbox SET`).
const WIPED_AT: &str =
    "wiped_at = CASE WHEN secret = 1 THEN coalesce(wiped_at, :wiped_at) ELSE wiped_at END";

/// What [`wiped_stub`] reads back from a wiped reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WipedStub {
    pub message_id: String,
    /// The size of the message sent, in bytes.
    pub size: usize,
    pub recipients: Vec<String>,
}

/// The facts a wiped reply's stub keeps (None: not a stub).
pub fn wiped_stub(raw: &[u8]) -> Option<WipedStub> {
    let text = std::str::from_utf8(raw).ok()?;
    if !text.starts_with("X-Mailra-Wiped:") {
        return None;
    }
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    Some(WipedStub {
        message_id: field("Message-ID:")?,
        size: field("Size:")?.parse().ok()?,
        recipients: serde_json::from_str(&field("Recipients:")?).ok()?,
    })
}

/// Records that a reply was sent; a secret one is wiped to its stub at
/// the same time (one savepoint). Returns whether it was a secret one (then call [`scrub`]
/// once the transaction is committed).
pub fn mark_sent(
    conn: &Connection,
    id: i64,
    now: OffsetDateTime,
    transport_id: &str,
) -> Result<bool> {
    // Both statements or neither, inside a caller's transaction or not: a
    // message wiped but still pending would be sent again as its stub.
    conn.execute_batch("SAVEPOINT mark_sent")?;
    match mark_sent_in(conn, id, now, transport_id) {
        Ok(wiped) => {
            conn.execute_batch("RELEASE mark_sent")?;
            Ok(wiped)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO mark_sent; RELEASE mark_sent");
            Err(e)
        }
    }
}

fn mark_sent_in(
    conn: &Connection,
    id: i64,
    now: OffsetDateTime,
    transport_id: &str,
) -> Result<bool> {
    conn.prepare_cached(WIPE_RAW)?
        .execute(rusqlite::named_params! { ":id": id, ":wiped_at": ts(now) })?;
    let wiped: Option<bool> = conn
        .prepare_cached(&format!(
            "UPDATE outbox SET status = :status, sent_at = :wiped_at, attempts = attempts + 1,
                    last_error = NULL, transport_id = :transport, {WIPED_AT}
             WHERE id = :id RETURNING secret = 1"
        ))?
        .query_row(
            rusqlite::named_params! {
                ":id": id,
                ":wiped_at": ts(now),
                ":transport": transport_id,
                ":status": OutboxStatus::Sent,
            },
            |r| r.get(0),
        )
        .optional()?;
    Ok(wiped.unwrap_or(false))
}

/// Moves committed changes out of the write-ahead log into the database
/// file and empties the log, so that the pre-wipe pages of a sent secret
/// reply survive nowhere. Best effort: with a reader in the way the log is
/// emptied by a later call.
pub fn scrub(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

pub fn mark_failed(conn: &Connection, id: i64, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

/// Pending replies whose next attempt is due.
pub fn due_outbox(conn: &Connection, now: OffsetDateTime) -> Result<Vec<OutboxMail>> {
    // julianday(): the stored RFC 3339 times vary in their fractional digits,
    // so they are compared as times, not as text.
    outbox_where(
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

/// Records that one recipient of a reply sent one by one has it; once every
/// recipient is dealt with, a secret reply is wiped to its stub in the same
/// transaction.
pub fn recipient_delivered(
    conn: &Connection,
    id: i64,
    rcpt: &str,
    now: OffsetDateTime,
) -> Result<()> {
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
    // Every recipient dealt with: nobody needs the message any more (it is
    // marked sent next; a crash in between leaves nothing to send again).
    let m = outbox_where(&tx, "id = ?1", &id)?;
    if m.first().is_some_and(|m| m.remaining().is_empty()) {
        let p = rusqlite::named_params! { ":id": id, ":wiped_at": ts(now) };
        tx.execute(WIPE_RAW, p)?;
        tx.execute(&format!("UPDATE outbox SET {WIPED_AT} WHERE id = :id"), p)?;
    }
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
    pub status: OutboxStatus,
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

/// Outbox rows, newest last; `status` filters.
pub fn outbox_rows(conn: &Connection, status: Option<OutboxStatus>) -> Result<Vec<OutboxRow>> {
    outbox_rows_where(conn, "?1 IS NULL OR status = ?1", &status)
}

/// The replies to mail `mail_id` (never their content), oldest first.
pub fn outbox_rows_of_mail(conn: &Connection, mail_id: i64) -> Result<Vec<OutboxRow>> {
    outbox_rows_where(conn, "mail_id = ?1", &mail_id)
}

fn outbox_rows_where(
    conn: &Connection,
    clause: &str,
    p: &dyn rusqlite::ToSql,
) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT id, mail_id, created_at, status, attempts, recipients, kind, subject, message_id,
                last_error, next_attempt_at, sent_at, refused
         FROM outbox WHERE {clause} ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([p], |r| {
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
            None => StoreError::NotFound(format!("outbox #{id}")),
            Some(_) => StoreError::Conflict(format!(
                "outbox #{id} was already sent; it is not sent twice"
            )),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
