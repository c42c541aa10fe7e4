//! Excel workbooks (.xlsx, .xlsm, .xls) turned into plain cells.
//!
//! Officers keep their lists in Excel and code-signing revocations only
//! exist as an Excel form. A workbook is untrusted input that can abort the
//! process reading it (see `shared/notes/excel-untrusted.md`), so what the
//! rest of mailra sees is never a calamine type but the normalised
//! [`Workbook`] below: every cell with its address and what kind of value the
//! file stored there, so the form readers can refuse a serial stored as a
//! number, a value Excel turned into a date or a formula, at that cell.
//!
//! [`read`] is the in-process reader: a size cap, the container sniffed by
//! its magic bytes, a zip pre-check (part count, declared sizes, compression
//! ratio, shared-string counts) before calamine sees an .xlsx, then cells
//! streamed under a [`Budget`]. It holds off every small file known to abort
//! calamine in an .xlsx; an .xls is parsed eagerly by calamine and only the
//! child process `ra::workbook` runs it in (memory, CPU and time limits)
//! protects against it (and against tables calamine fills in `Xlsx::new` in
//! proportion to a part's declared size, such as styles). mailra calls
//! [`read`] only in that child.

mod cells;
mod sniff;
mod xls;
mod xlsx;
mod zipcheck;

/// The A1-style name of a 0-based position (`G7`); it lives in `model`, where
/// a row error prints it.
pub use crate::model::cell_name;
pub use cells::{Cell, Sheet, Value, Workbook};
pub use sniff::{Container, sniff};

use serde::{Deserialize, Serialize};

/// What a workbook may hold before it is refused: each limit is well above
/// an application file (a form sheet has at most a few thousand rows of 15
/// columns) and well below what would hurt the process reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// The file itself (`TooLarge`). Default 16 MiB.
    pub max_file_bytes: u64,
    /// Parts (zip entries) of an .xlsx. Default 1000.
    pub max_parts: usize,
    /// Declared uncompressed size of one part. Default 32 MiB.
    pub max_part_bytes: u64,
    /// Declared uncompressed size of all parts together. Default 64 MiB.
    pub max_total_bytes: u64,
    /// Uncompressed/compressed ratio of a part larger than 1 MiB: above it
    /// the part is a compression bomb. Default 256 (deflate tops at ~1032;
    /// real sheets compress 5–50 times).
    pub max_ratio: u64,
    /// Strings a shared-string table may announce (`uniqueCount`). Default 1,000,000.
    pub max_shared_strings: u64,
    /// A non-empty cell must lie in the first `max_rows` rows… Default 5000.
    pub max_rows: u32,
    /// …and the first `max_cols` columns (A–BL). Default 64.
    pub max_cols: u32,
    /// Non-empty cells of all sheets together. Default 100,000.
    pub max_cells: usize,
    /// Bytes of text (strings, formulas, formats) of all cells together. Default 16 MiB.
    pub max_text_bytes: usize,
    /// Merged areas of all sheets together. Default 1,000 (a form has a few
    /// dozen; the sheet reader compares every cell with every area).
    pub max_merged: usize,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_file_bytes: 16 << 20,
            max_parts: 1000,
            max_part_bytes: 32 << 20,
            max_total_bytes: 64 << 20,
            max_ratio: 256,
            max_shared_strings: 1_000_000,
            max_rows: 5000,
            max_cols: 64,
            max_cells: 100_000,
            max_text_bytes: 16 << 20,
            max_merged: 1_000,
        }
    }
}

/// Reads a workbook (.xlsx, .xlsm or .xls, told apart by its bytes) into
/// plain cells, or refuses it. Pure: no I/O. A workbook with macros is read
/// (`has_macros` set): the caller refuses it.
///
/// Run it in the sandboxed child (`ra::workbook`): for an .xls, calamine's
/// eager parser can still abort the process on a crafted file.
pub fn read(bytes: &[u8], budget: &Budget) -> Result<Workbook, WorkbookError> {
    if bytes.len() as u64 > budget.max_file_bytes {
        return Err(WorkbookError::TooLarge {
            limit_mb: budget.max_file_bytes >> 20,
        });
    }
    match sniff(bytes)? {
        Container::Zip => {
            let package = zipcheck::check(bytes, budget)?;
            let mut wb = guarded(|| xlsx::read(bytes, budget))?;
            wb.has_macros |= package.has_macros;
            Ok(wb)
        }
        Container::Cfb => guarded(|| xls::read(bytes, budget)),
    }
}

/// Runs calamine, turning a panic inside it into a file that could not be
/// read safely. calamine 0.38 panics on some malformed input where overflow
/// checks are on (a merged-cell reference such as `AAAAAAAAAA1` overflows
/// its column arithmetic; fuzzing found it), and its inflater panics when the
/// child's memory limit leaves it no room: either way the officer is told
/// the file could not be read safely, never that it is fine. An abort
/// (allocation failure) cannot be caught: that is what the child process is
/// for.
fn guarded<T>(parse: impl FnOnce() -> Result<T, WorkbookError>) -> Result<T, WorkbookError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(WorkbookError::Unsafe(format!(
            "the reader stopped on it ({what})"
        )))
    })
}

/// Checks a workbook already read against `budget`, as the reader counted
/// it: what the parent does with the child's answer, so a child that went
/// wrong cannot hand the robot more than the reader would have read.
pub fn within(wb: &Workbook, budget: &Budget) -> Result<(), WorkbookError> {
    let mut spent = Spent::new(budget);
    for s in &wb.sheets {
        spent.merged(s.merged.len())?;
        for c in &s.cells {
            let text = match &c.value {
                Value::Text(t) | Value::Error(t) => t.len(),
                Value::Number { format, .. } | Value::Date { format, .. } => {
                    format.as_ref().map_or(0, String::len)
                }
                Value::Formula { formula, cached } => formula.len() + cached.len(),
                Value::Bool(_) => 0,
            };
            spent.cell(&s.name, c.row, c.col, text)?;
        }
    }
    Ok(())
}

/// Counts what is read against the [`Budget`], across sheets.
pub(crate) struct Spent<'a> {
    budget: &'a Budget,
    cells: usize,
    text: usize,
    merged: usize,
}

impl<'a> Spent<'a> {
    pub(crate) fn new(budget: &'a Budget) -> Spent<'a> {
        Spent {
            budget,
            cells: 0,
            text: 0,
            merged: 0,
        }
    }

    /// One more non-empty cell at (`row`, `col`) holding `text_len` bytes of text.
    pub(crate) fn cell(
        &mut self,
        sheet: &str,
        row: u32,
        col: u32,
        text_len: usize,
    ) -> Result<(), WorkbookError> {
        let b = self.budget;
        if row >= b.max_rows || col >= b.max_cols {
            return Err(WorkbookError::Exceeds(format!(
                "sheet {sheet:?} has a value at {}, outside the first {} rows and {} columns read",
                cell_name(row, col),
                b.max_rows,
                b.max_cols
            )));
        }
        self.cells += 1;
        if self.cells > b.max_cells {
            return Err(WorkbookError::Exceeds(format!(
                "more than {} non-empty cells",
                b.max_cells
            )));
        }
        self.text += text_len;
        if self.text > b.max_text_bytes {
            return Err(WorkbookError::Exceeds(format!(
                "more than {} MB of text in its cells",
                b.max_text_bytes >> 20
            )));
        }
        Ok(())
    }

    /// `n` more merged areas.
    pub(crate) fn merged(&mut self, n: usize) -> Result<(), WorkbookError> {
        self.merged += n;
        if self.merged > self.budget.max_merged {
            return Err(WorkbookError::Exceeds(format!(
                "more than {} merged areas",
                self.budget.max_merged
            )));
        }
        Ok(())
    }
}

/// Why a workbook yields no cells: each told to the officer as the reason
/// the file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
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
    /// Past the reader's [`Budget`]: more than an application file holds.
    #[error("the workbook is larger than an application file: {0}")]
    Exceeds(String),
}

#[cfg(test)]
mod tests;
