//! Embedded CA (placeholder).
