//! The operations behind the secretariat's commands: the registry
//! (institutions, officers, bulk import), applications and their review,
//! the audit trail, certificates (search, export, the report), the
//! robot's status, maintenance mode and the outbox.
//!
//! They sit below the command line so that every entry point — the CLI and
//! the commands by signed mail (`commands`, which `ra` calls back through
//! `ra::command::Commands`) — does the same thing: each takes what it needs
//! (a connection or the RA environment, who acts, `now`), returns typed
//! values (`Serialize`, for `--json`; `Display` for a transcript) or an
//! [`OpsError`], and never prints or reads the process environment. May
//! use `ra`, `store`, `policy`, `intake`, `config`, `render` and `mail`'s
//! Maildir reader; never `cli`, `service` or `demo`.

pub mod applications;
pub mod audit;
pub mod cert;
pub mod certimport;
pub mod certsearch;
pub mod commands;
pub mod import;
pub mod maintenance;
pub mod outbox;
pub mod registry;
pub mod reminders;
pub mod report;
pub mod review;
pub mod status;
pub mod when;

use crate::intake::registry::ImportError;
use crate::ra::RaError;
use crate::store::StoreError;

/// What can go wrong in an operation: a mistake in the request (the user
/// can fix it) or an internal error (the operator must look).
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The request names something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts what is registered or done.
    #[error("{0}")]
    Conflict(String),
    /// A value in the request is wrong.
    #[error("{0}")]
    Invalid(String),
    /// An import file with errors; nothing was written.
    #[error("{} error(s) in the file; nothing was imported", .0.len())]
    Import(Vec<ImportError>),
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
    /// The workflow failed (signing, rendering, the CA, …).
    #[error(transparent)]
    Ra(RaError),
    /// A workbook could not be written (`cert export`, `report`).
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

impl From<RaError> for OpsError {
    fn from(e: RaError) -> Self {
        match e {
            RaError::NoSuchMail(_) => OpsError::NotFound(e.to_string()),
            RaError::NotHeld { .. } => OpsError::Conflict(e.to_string()),
            RaError::NoReason => OpsError::Invalid(e.to_string()),
            e => OpsError::Ra(e),
        }
    }
}

impl OpsError {
    /// Whether the request was at fault (rather than mailra or its database).
    pub fn is_user_mistake(&self) -> bool {
        matches!(
            self,
            OpsError::NotFound(_)
                | OpsError::Conflict(_)
                | OpsError::Invalid(_)
                | OpsError::Import(_)
        )
    }
}

impl From<StoreError> for OpsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => OpsError::NotFound(m),
            StoreError::Conflict(m) => OpsError::Conflict(m),
            e => OpsError::Store(e),
        }
    }
}

impl From<rusqlite::Error> for OpsError {
    fn from(e: rusqlite::Error) -> Self {
        OpsError::Store(e.into())
    }
}

pub type Result<T> = std::result::Result<T, OpsError>;

/// A date as the registry shows it: `YYYY-MM-DD` (UTC).
pub(crate) fn day(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).date().to_string()
}
