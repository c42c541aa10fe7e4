//! The normalised cells of a workbook: what the sandboxed reader sends back
//! and what the TSV-like sheet reader and the code-signing form reader use.

use serde::{Deserialize, Serialize};

/// A workbook as read: its sheets in workbook order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Workbook {
    pub sheets: Vec<Sheet>,
    /// The file carries macros (an `xl/vbaProject.bin` part, or VBA storage
    /// in an .xls); they are never run.
    pub has_macros: bool,
}

/// One sheet: its name, whether Excel shows it, its non-empty cells in row
/// then column order, and its merged areas.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sheet {
    pub name: String,
    /// False for hidden and very hidden sheets.
    pub visible: bool,
    pub cells: Vec<Cell>,
    /// Merged areas as (first row, first column, last row, last column),
    /// 0-based; the value is in the first cell.
    pub merged: Vec<(u32, u32, u32, u32)>,
}

/// One non-empty cell, at its absolute 0-based position (`row` 0, `col` 0 is A1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub row: u32,
    pub col: u32,
    pub value: Value,
}

/// What the file stored in a cell — kept apart so a reader can tell what
/// the officer typed from what Excel made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A text cell (shared or inline string), as stored.
    Text(String),
    /// A number, with the number format it is shown with when there is one
    /// (`"0000"` shows that leading zeros were only displayed).
    Number {
        value: f64,
        format: Option<String>,
    },
    /// A number shown as a date or time (its serial, and the format).
    Date {
        serial: f64,
        format: Option<String>,
    },
    Bool(bool),
    /// An error value such as `#N/A`.
    Error(String),
    /// A formula (text without `=`), never evaluated, with the cached result
    /// the writer stored as text (empty if none).
    Formula {
        formula: String,
        cached: String,
    },
}
