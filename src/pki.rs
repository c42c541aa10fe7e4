//! PKI material generation (placeholder).
