//! Mail at the edges: S/MIME signing of outgoing mail and transports.

pub mod outbox;
pub mod sign;
