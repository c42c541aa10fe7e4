//! Mail at the edges: composing and S/MIME-signing outgoing mail, and transports.

pub mod compose;
pub mod endpoint;
pub mod imap;
pub mod maildir;
pub mod outbox;
pub mod sign;
pub mod smtp;
