//! Server-form (5-3-1/2/3) row validation (placeholder).
