//! Outbox transport (placeholder).
