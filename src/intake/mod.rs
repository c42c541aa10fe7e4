//! Pure intake: turns raw bytes (mail, S/MIME, TSV) into typed input. No I/O.

pub mod mime;
pub mod registry;
pub mod smime;
pub mod tsv;
