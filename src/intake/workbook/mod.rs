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

pub use cells::{Cell, Sheet, Value, Workbook, cell_name};
