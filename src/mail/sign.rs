//! S/MIME signing (placeholder).
