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
