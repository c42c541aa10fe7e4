//! The robot as a service, above the workflow (`ra`): the daemon and its
//! loops — IMAP or Maildir intake, the outbox sender, the reminder
//! scheduler — which decide *when*
//! things run; `ra` decides *what* happens to a mail, `mail` only moves bytes.

pub mod daemon;
pub mod heartbeat;
pub mod imap;
pub mod maildir;
pub mod scheduler;
pub mod sender;

/// What goes wrong in the service's loops: a transport, or the record of
/// what was done. Told to the operator (logged); the loops reconnect or try
/// again, and a mail in hand stays where it was.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Ra(#[from] crate::ra::RaError),
}

impl From<crate::mail::imap::ImapError> for ServiceError {
    fn from(e: crate::mail::imap::ImapError) -> Self {
        ServiceError::Mail(e.into())
    }
}

impl From<crate::mail::smtp::SmtpError> for ServiceError {
    fn from(e: crate::mail::smtp::SmtpError) -> Self {
        ServiceError::Mail(e.into())
    }
}

impl From<crate::mail::maildir::MaildirError> for ServiceError {
    fn from(e: crate::mail::maildir::MaildirError) -> Self {
        ServiceError::Mail(e.into())
    }
}
