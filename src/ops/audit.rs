//! `mailra audit` (issue 11): the audit trail — who did what and when — read
//! back with filters, for the command line and commands by mail alike.

use rusqlite::Connection;
use serde::Serialize;
use time::OffsetDateTime;

use super::{OpsError, Result};
use crate::store;

/// Which events `events` returns; `Default` is all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events at or after this time (see `ops::when::since`).
    pub since: Option<OffsetDateTime>,
    /// Only events about this mail (an application's ID).
    pub mail_id: Option<i64>,
    /// Only events about this certificate: decimal or `0x`-hex.
    pub serial: Option<String>,
}

/// One event of the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// Its number in the log (events are numbered as they are appended).
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who: the robot, an officer's address, `secretariat (name)`.
    pub actor: String,
    /// What: issue, revoke, accepted, held, review-approve, delete-application, …
    pub action: String,
    pub mail_id: Option<i64>,
    /// The certificate's serial, upper-case hex (no prefix).
    pub serial: Option<String>,
    pub detail: String,
}

/// The events that pass `q`, oldest first.
pub fn events(conn: &Connection, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let serial = match &q.serial {
        None => None,
        Some(s) => Some(super::cert::parse_serial(s).ok_or_else(|| {
            OpsError::Invalid(format!("{s:?} is not a serial (decimal or 0x-hex)"))
        })?),
    };
    let f = store::AuditFilter {
        since: q.since,
        mail_id: q.mail_id,
        serial,
    };
    Ok(store::audit_events_where(conn, &f)?
        .into_iter()
        .map(|e| AuditEntry {
            id: e.id,
            // Stored by `store::ts`; read back and written again so that the
            // form is the listings' whatever an older mailra stored.
            at: store::parse_ts(&e.at).map(store::ts).unwrap_or(e.at),
            actor: e.actor,
            action: e.action,
            mail_id: e.mail_id,
            serial: e.serial,
            detail: e.detail,
        })
        .collect())
}
