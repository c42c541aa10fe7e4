//! The reply queue as the operator sees it: what is waiting, dead or
//! partly refused, and putting a dead reply back in line.

use rusqlite::Connection;
use time::OffsetDateTime;

use super::{OpsError, Result};
use crate::store::{self, OutboxRow};

/// Replies not yet delivered (pending, dead) or with refused recipients;
/// with `all`, the other sent ones too. Oldest first.
pub fn list(conn: &Connection, all: bool) -> Result<Vec<OutboxRow>> {
    Ok(store::outbox_rows(conn, None)?
        .into_iter()
        .filter(|r| all || r.status != store::OutboxStatus::Sent || !r.refused.is_empty())
        .collect())
}

/// Puts a reply that was not sent back in line; it is resent unchanged.
pub fn retry(conn: &Connection, id: i64, by: &str, now: OffsetDateTime) -> Result<()> {
    store::retry_outbox(conn, id).map_err(|e| match e {
        store::StoreError::NotFound(_) => {
            OpsError::NotFound(format!("there is no reply #{id} in the outbox"))
        }
        e => e.into(),
    })?;
    store::audit(
        conn,
        now,
        by,
        "outbox-retry",
        None,
        None,
        &format!("outbox #{id} queued again"),
    )?;
    Ok(())
}
