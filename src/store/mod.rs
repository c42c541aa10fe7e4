//! The state store: one SQLite file (WAL) holding the registry, every mail,
//! application, certificate, revocation, CRL, the outbox and the audit log.
//!
//! Functions take a `&Connection` so the RA can run them inside one
//! transaction: certificates, outbox replies and audit events of one mail are
//! committed together or not at all (that is what makes a crash between
//! issuing and replying harmless).
//!
//! No SQL lives outside this folder. It is split by table group, a file each:
//! `registry` (institutions, officers), `mails` (each mail's bytes in
//! `mail_raw`, so its verdict and filing do not rewrite them), `applications` (with their
//! rows), `certificates`, `crls` (with revocations), `outbox` (each reply's
//! message in `outbox_raw`, so marking it sent does not rewrite it), `audit`,
//! `heartbeat` (the running robot's last sign of life),
//! `imap` (where mails were filed, how far each IMAP mailbox was read) and
//! `reminders` (reminders sent, the row details a renewal file is pre-filled
//! with, the institutions' expiry-digest switch), `application_mails`
//! (the mails carrying applications as the secretariat lists them, their
//! soft delete) and `maintenance` (the maintenance periods and the notices
//! sent in them).
//! Closed sets (verdicts, statuses, row outcomes) cross this API as enums;
//! `columns` says how each is kept as TEXT. Everything is re-exported here so
//! callers write `store::xyz` whatever file it lives in.

mod application_mails;
mod applications;
mod audit;
mod certificates;
mod columns;
mod crls;
mod heartbeat;
mod imap;
mod mails;
mod maintenance;
mod migrations;
mod outbox;
pub mod registry;
mod reminders;

pub use application_mails::*;
pub use applications::*;
pub use audit::*;
pub use certificates::*;
pub use crls::*;
pub use heartbeat::*;
pub use imap::*;
pub use mails::*;
pub use maintenance::*;
pub use outbox::*;
pub use registry::{
    add_institution, add_officer, institution, institution_by_name, institutions, officer_by_email,
    officer_registered_at, officers, remove_institution, remove_officer,
    set_organization_identifier, set_p12_encryption,
};
pub use reminders::*;

use std::path::Path;

use rusqlite::Connection;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// A stored value this mailra cannot read back (a damaged row).
    #[error("unreadable {what} in the database: {value:?}")]
    Unreadable { what: &'static str, value: String },
    #[error("database schema version {found} is newer than this mailra ({known}); upgrade mailra")]
    TooNew { found: i64, known: i64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Opens (creating if needed) the database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Deleted and overwritten content is zeroed, not left in free pages: a
    // wiped outbox row (a PKCS#12, PINs) must not linger in the file.
    conn.pragma_update(None, "secure_delete", true)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // A mail's pass uses a few dozen statements, most once per row: each is
    // prepared once and kept (rusqlite keeps 16 by default).
    conn.set_prepared_statement_cache_capacity(64);
    migrations::migrate(&mut conn)?;
    Ok(conn)
}

pub fn ts(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn parse_ts(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// A stored time read back, or a conversion error naming column `i`.
fn time_col(r: &rusqlite::Row, i: usize) -> rusqlite::Result<OffsetDateTime> {
    let s: String = r.get(i)?;
    parse_ts(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unreadable time {s:?}").into(),
        )
    })
}

/// A half-open span of time `[from, until)`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

impl Period {
    /// The bounds as stored text, for `julianday(?)` comparisons (the stored
    /// RFC 3339 times vary in their fractional digits, so they are compared
    /// as times, not as text).
    fn bounds(&self) -> (Option<String>, Option<String>) {
        (self.from.map(ts), self.until.map(ts))
    }
}

#[cfg(test)]
mod testing;
