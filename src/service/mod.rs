//! The robot as a service, above the workflow (`ra`): the daemon and its
//! loops — IMAP or Maildir intake, the outbox sender — which decide *when*
//! things run; `ra` decides *what* happens to a mail, `mail` only moves bytes.

pub mod daemon;
pub mod imap;
pub mod maildir;
pub mod sender;
