//! The robot as a service, above the workflow (`ra`): the daemon and its
//! loops — IMAP or Maildir intake, the outbox sender — which decide *when*
//! things run; `ra` decides *what* happens to a mail, `mail` only moves bytes.

pub mod daemon;
pub mod imap;
pub mod maildir;
pub mod sender;

/// What goes wrong in the service's loops: a transport, or the record of
/// what was done. Told to the operator (logged); the loops reconnect or try
/// again, and a mail in hand stays where it was.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Imap(#[from] crate::mail::imap::ImapError),
    #[error(transparent)]
    Smtp(#[from] crate::mail::smtp::SmtpError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Ra(#[from] crate::ra::RaError),
}
