//! Application files: the one place that decides which attachments are
//! application files, and turns one into records.
//!
//! `ra` reads the files this module accepts and ignores the others; the
//! filing rules' `attachment` condition sees the same [`AttachmentKind`]. A
//! file's records are plain strings with their line: recognising the form and
//! checking its fields is `policy`'s job, which fits the records to the form's
//! field count and record limit with [`Records::fit`]. TSV files and the
//! application sheet of a workbook (`intake::sheet`) give records alike; a
//! workbook's cells are taken by each field's [`CellRule`], which `policy`
//! passes with the form family's fields.

use serde::Serialize;
use thiserror::Error;

pub use super::record::{Record, Table};
pub use super::sheet::CellRule;
use super::sheet::{self, SheetError};
use super::tsv::{self, TsvError};
use crate::model::RowError;

/// What kind of file a mail carries, by its name. The name decides, not the
/// MIME type: mail clients label the same `.tsv` file `text/plain`,
/// `text/tab-separated-values` or `application/octet-stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    /// `.tsv` or `.txt`: the TSV forms.
    Tsv,
    /// `.xlsx`, `.xlsm` or `.xls`: Excel workbooks (read in a sandboxed
    /// child process, whatever their bytes turn out to be).
    Xlsx,
    Other,
}

impl AttachmentKind {
    pub fn of(filename: &str) -> AttachmentKind {
        let n = filename.to_ascii_lowercase();
        if n.ends_with(".tsv") || n.ends_with(".txt") {
            AttachmentKind::Tsv
        } else if n.ends_with(".xlsx") || n.ends_with(".xlsm") || n.ends_with(".xls") {
            AttachmentKind::Xlsx
        } else {
            AttachmentKind::Other
        }
    }

    /// Whether files of this kind are read as applications.
    pub fn is_application(self) -> bool {
        match self {
            AttachmentKind::Tsv | AttachmentKind::Xlsx => true,
            AttachmentKind::Other => false,
        }
    }
}

/// Why a file yields no records at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    #[error("not an application file (only .tsv and .txt are read)")]
    NotApplication,
    #[error(transparent)]
    Tsv(#[from] TsvError),
    #[error(transparent)]
    Sheet(#[from] SheetError),
    /// A workbook refused as a whole (hostile, encrypted, with macros, …).
    #[error(transparent)]
    Workbook(#[from] super::workbook::WorkbookError),
}

impl ReadError {
    /// The whole-file error (line 0) a form reports.
    pub fn to_row_error(&self) -> RowError {
        RowError {
            line: 0,
            field: None,
            field_name: "",
            rule: self.to_string(),
            ..Default::default()
        }
    }
}

/// The records of one application file, as read, before its form is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Tsv(tsv::Lines),
    Sheet(sheet::Rows),
}

impl Records {
    /// The records fitted to a form of `fields` fields and at most `max`
    /// records, with the format's leniency (for TSV: missing trailing tabs,
    /// each a warning; for a sheet: missing trailing cells), or every error
    /// of every record. `cells` says how each field takes a workbook cell
    /// that is not text (unused for TSV; a field past it is free text).
    pub fn fit(
        &self,
        fields: usize,
        max: usize,
        cells: &[CellRule],
    ) -> Result<Table, Vec<RowError>> {
        match &self.source {
            Source::Tsv(lines) => tsv::fit(lines, fields, max),
            Source::Sheet(rows) => sheet::fit(rows, fields, max, cells),
        }
    }

    /// The sheet the records were read from, when the file is a workbook:
    /// every error of such a file is located by sheet and cell
    /// ([`RowError::sheet`]).
    pub fn sheet_name(&self) -> Option<&str> {
        match &self.source {
            Source::Tsv(_) => None,
            Source::Sheet(rows) => Some(&rows.sheet),
        }
    }

    /// The form's field count a sheet's header row declares (its width), when
    /// the sheet has one; `None` for TSV.
    pub fn header_width(&self) -> Option<usize> {
        match &self.source {
            Source::Tsv(_) => None,
            Source::Sheet(rows) => rows.header_width,
        }
    }

    /// The records as read, before [`Records::fit`]: each line with its
    /// fields as written (as many as its tabs make; a field that did not
    /// decode is empty). What tells the form families apart, and how many
    /// records there are.
    ///
    /// For a sheet: each row with its sheet row number and its cells as text
    /// from column A (a number as its decimal text, before the form's
    /// [`CellRule`]s judge it).
    pub fn as_read(&self) -> Box<dyn Iterator<Item = (usize, &[String])> + '_> {
        match &self.source {
            Source::Tsv(lines) => {
                Box::new(lines.lines.iter().map(|l| (l.line, l.fields.as_slice())))
            }
            Source::Sheet(rows) => Box::new(rows.rows.iter().map(|r| (r.row, r.fields.as_slice()))),
        }
    }
}

/// Reads the TSV application file `name`; `NotApplication` for any other
/// file (a workbook is read by the sandboxed reader, then
/// [`workbook_records`]).
pub fn records(name: &str, bytes: &[u8]) -> Result<Records, ReadError> {
    match AttachmentKind::of(name) {
        AttachmentKind::Tsv => Ok(Records {
            source: Source::Tsv(tsv::read(bytes)?),
        }),
        AttachmentKind::Xlsx | AttachmentKind::Other => Err(ReadError::NotApplication),
    }
}

/// The records of a workbook's application sheet: the first visible sheet,
/// in a TSV form's column order from column A, an optional header row
/// skipped (the rules are `intake::sheet`'s). Data in a hidden sheet, or no
/// row at all, refuses the whole file.
pub fn workbook_records(
    _name: &str,
    workbook: &super::workbook::Workbook,
) -> Result<Records, ReadError> {
    Ok(Records {
        source: Source::Sheet(sheet::read(workbook)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_files_by_name() {
        let cases = [
            ("server-issue.tsv", AttachmentKind::Tsv, true),
            ("SERVER.TXT", AttachmentKind::Tsv, true),
            ("list.xlsx", AttachmentKind::Xlsx, true),
            ("macro.xlsm", AttachmentKind::Xlsx, true),
            ("old.XLS", AttachmentKind::Xlsx, true),
            ("notes.pdf", AttachmentKind::Other, false),
            ("tsv", AttachmentKind::Other, false),
        ];
        for (name, kind, read) in cases {
            assert_eq!(AttachmentKind::of(name), kind, "{name}");
            assert_eq!(kind.is_application(), read, "{name}");
            // Only TSV files are read as text; workbooks go to the sandbox.
            assert_eq!(
                records(name, b"a\tb\n").is_ok(),
                kind == AttachmentKind::Tsv,
                "{name}: read as TSV"
            );
        }
    }

    #[test]
    fn whole_file_refusals() {
        let cases: Vec<(&str, &[u8], &str)> = vec![
            (
                "a.pdf",
                b"a\tb\n",
                "file: not an application file (only .tsv and .txt are read)",
            ),
            (
                "a.tsv",
                b"\r\n\t\t\n",
                "file: the file contains no application rows",
            ),
            (
                "a.tsv",
                b"\xEF\xBB\xBFa\tb\n",
                "file: the file is UTF-8 (it starts with a UTF-8 byte-order mark); save it as Shift_JIS",
            ),
        ];
        for (name, bytes, expected) in cases {
            let e = records(name, bytes).unwrap_err();
            assert_eq!(e.to_row_error().to_string(), expected, "{name}");
        }
    }
}
