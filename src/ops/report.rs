//! `mailra report` (issue 11): the certificates issued, renewed and
//! revoked in a date range as one workbook. STUB: helper "search-report"
//! implements it.

use rusqlite::Connection;
use serde::Serialize;
use time::Date;

use super::Result;

/// What to report on: JST calendar days `from..=to`, optionally one institution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub from: Date,
    pub to: Date,
    pub institution: Option<String>,
}

/// The workbook and its counts.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub issued: usize,
    pub renewed: usize,
    pub revoked: usize,
    /// A file name for it (`report-FROM-TO.xlsx`).
    pub file_name: String,
    #[serde(skip)]
    pub xlsx: Vec<u8>,
}

/// Builds the report; `progress(done, total)` is called as rows are written.
pub fn build(
    _conn: &Connection,
    _spec: &ReportSpec,
    _progress: &mut dyn FnMut(u64, u64),
) -> Result<Report> {
    Err(super::OpsError::Invalid("report: not built yet".into()))
}
