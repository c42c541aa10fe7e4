//! Distinguished-name parsing and rules (placeholder).
