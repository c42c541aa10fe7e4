//! A record of an application file and a file's records fitted to a form:
//! what every file format (TSV today, Excel next) turns into, so `policy`
//! checks rows without knowing where they came from.

use crate::model::RowError;

/// One record of a form, fitted to the form's field count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line number in the file.
    pub line: usize,
    /// Exactly the form's number of fields.
    pub fields: Vec<String>,
}

/// A file's records fitted to a form, and what was tolerated on the way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub records: Vec<Record>,
    pub warnings: Vec<RowError>,
}
