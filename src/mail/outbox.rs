//! Delivers the outbox table. The embedded default is lettre's file
//! transport: each reply becomes an `.eml` file in the instance's outbox
//! folder. A reply is marked sent only after the transport accepted it.

use std::path::Path;

use lettre::address::Envelope;
use lettre::{FileTransport, Transport};
use rusqlite::Connection;
use time::OffsetDateTime;

use crate::store;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// Sends every pending reply; returns how many were sent. A reply that fails
/// stays pending with its error recorded (and is tried again on the next pass).
pub fn drain(conn: &Connection, dir: &Path, now: OffsetDateTime) -> Result<usize, OutboxError> {
    std::fs::create_dir_all(dir).ok();
    let transport = FileTransport::new(dir);
    let mut sent = 0;
    for m in store::pending_outbox(conn)? {
        let envelope = m
            .from
            .parse()
            .ok()
            .zip(
                m.recipients
                    .iter()
                    .map(|r| r.parse())
                    .collect::<Result<Vec<_>, _>>()
                    .ok(),
            )
            .and_then(|(from, to)| Envelope::new(Some(from), to).ok());
        let Some(envelope) = envelope else {
            store::mark_failed(conn, m.id, "bad sender or recipient address")?;
            continue;
        };
        match transport.send_raw(&envelope, &m.raw) {
            Ok(id) => {
                store::mark_sent(conn, m.id, now, &id)?;
                sent += 1;
            }
            Err(e) => store::mark_failed(conn, m.id, &e.to_string())?,
        }
    }
    Ok(sent)
}
