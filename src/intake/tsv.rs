//! Shift_JIS TSV decoding into records (placeholder).
