//! Pure intake: turns raw bytes (mail, S/MIME, application files) into typed
//! input. No I/O.

pub mod application;
pub mod certfile;
pub mod codesign;
pub mod mime;
pub mod record;
pub mod registry;
pub mod sheet;
pub mod smime;
pub mod tsv;
pub mod workbook;
