//! Excel workbooks (.xlsx, .xlsm, .xls) turned into plain cells.
//!
//! Officers keep their lists in Excel and code-signing revocations only
//! exist as an Excel form. A workbook is untrusted input that can abort the
//! process reading it (see `shared/notes/excel-untrusted.md`), so what the
//! rest of mailra sees is never a calamine type but the normalised
//! [`Workbook`] below: every cell with its address and what kind of value the
//! file stored there, so the form readers can refuse a serial stored as a
//! number, a value Excel turned into a date or a formula, at that cell.

mod cells;

/// The A1-style name of a 0-based position (`G7`); it lives in `model`, where
/// a row error prints it.
pub use crate::model::cell_name;
pub use cells::{Cell, Sheet, Value, Workbook};

/// Why a workbook yields no cells: each told to the officer as the reason
/// the file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkbookError {
    #[error("the file is not an Excel workbook (.xlsx, .xlsm or .xls)")]
    NotAWorkbook,
    #[error("the workbook is larger than {limit_mb} MB")]
    TooLarge { limit_mb: u64 },
    #[error("the workbook is encrypted or password-protected; send it without a password")]
    Encrypted,
    #[error("the workbook contains macros; save it as .xlsx without macros")]
    Macros,
    #[error("the workbook could not be read safely: {0}")]
    Unsafe(String),
    #[error("the workbook is damaged: {0}")]
    Malformed(String),
}
