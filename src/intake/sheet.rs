//! A workbook's application sheet read as the rows of a TSV form.
//!
//! Officers keep their lists in Excel: a workbook whose first visible sheet
//! holds the rows of a TSV form, in the form's column order from column A,
//! is processed exactly like the TSV file (same rules, same errors), with
//! every error placed at its cell (`Sheet1!G7`). What Excel adds on top of
//! TSV is what it does to values: a serial stored as a number has lost
//! digits, a PIN its leading zeros, a value that looked like a date became
//! one, a formula's result is whatever the writer cached. A cell whose value
//! may not be what the officer meant is refused at the cell with the likely
//! cause, never silently changed. Pure: it reads the normalised
//! [`Workbook`] the sandboxed reader returns.
//!
//! The rules, in order:
//! - data in a **hidden sheet** refuses the file (hidden data is never read
//!   and must not travel unseen); the **first visible sheet** is read, the
//!   others (such as the template's example sheet) are ignored;
//! - **merged cells**: the value is in the top-left cell, the others are empty;
//! - a row is empty when it has no cell, or only text cells of spaces; empty
//!   rows before the first row with data are ignored (a list may start
//!   anywhere below A1), empty rows among the rows are skipped with a warning;
//! - **header row**: the first non-empty row is a header, and skipped, when
//!   every cell of it is text, its column A holds no `=` (column A of every
//!   form is the subject DN, `CN=…`), and at least one cell is a known header
//!   word — a column label of `mailra forms template` in Japanese or English
//!   (`サブジェクトDN / Subject DN`, either half), or the English field name the
//!   replies use (`subject DN`, `serial`…), compared without case, surrounding
//!   spaces or full-width forms. Any other first row is a record. The
//!   header's width (13 or 15 columns) tells the form family where the rows
//!   stop short of the last column;
//! - each later non-empty row is a record: its fields are the cells of columns
//!   A, B, … in order (field 1 is column A); missing trailing cells are empty
//!   fields, without the warning TSV gives for missing tabs;
//! - cell values become field text by the field's [`CellRule`], which each
//!   form family declares next to its field definitions; text cells are kept
//!   as stored and checked by the TSV character rules.

use thiserror::Error;

use super::record::Table;
use super::tsv::{self, Line, Lines};
use super::workbook::{Sheet, Value, Workbook};
use crate::model::{RowError, cell_name, sheet_ref};

/// How a field takes a cell that is not text (a text cell is always taken
/// as stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellRule {
    /// A small code (profile ID, download method, reason code): a whole
    /// number becomes its decimal text (`3.0` → `"3"`); a fraction is refused.
    Code,
    /// An identifier (serial, access PIN, P12 file name), named for the
    /// officer: only a text cell is taken, since Excel may already have
    /// changed a number (15 significant digits, leading zeros dropped).
    Id(&'static str),
    /// Free text (names, departments, mail, comments…): a number becomes its
    /// decimal text, exactly as stored.
    Free,
}

/// Why a workbook yields no application rows.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SheetError {
    #[error("the workbook has no sheet")]
    NoSheet,
    #[error(
        "the workbook has no visible sheet; the application rows must be on the first visible sheet"
    )]
    NoVisibleSheet,
    #[error(
        "the hidden sheet {sheet} holds data, and data in hidden sheets is never read; delete that sheet (or its data) and send the file again"
    )]
    HiddenData { sheet: String },
    #[error(
        "{cell} holds data: application rows have at most {max} columns (13 for server forms, 15 for client forms)"
    )]
    TooWide { cell: String, max: usize },
    #[error("the sheet {sheet} contains no application rows")]
    Empty { sheet: String },
}

/// Columns read at most: far past every form (13 or 15), so that a cell far
/// to the right is reported by the form rules, yet a sheet with data in
/// column XFD costs nothing.
pub const MAX_COLUMNS: usize = 64;

/// The application sheet as read, before the form (and so each field's
/// [`CellRule`]) is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// The sheet's name, for the errors' location.
    pub sheet: String,
    pub rows: Vec<Row>,
    /// The header row's width (columns A to its last label), when the sheet
    /// has one: the form's field count as the officer's template says, where
    /// the rows may stop short (a client revocation without new mail
    /// addresses ends at column F, like a server revocation).
    pub header_width: Option<usize>,
    /// Empty rows skipped among the rows.
    pub warnings: Vec<RowError>,
}

/// Numbers are finite in every workbook read (the reader stores what the
/// file holds), so comparing rows is an equivalence.
impl Eq for Rows {}

/// One non-empty row below the header.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based sheet row number.
    pub row: usize,
    /// The cells of columns A, B, … up to the last non-empty one.
    pub cells: Vec<Option<Value>>,
    /// The cells as text, before the form's rules: what tells the form
    /// families apart (a number as its decimal text, a formula as its cached
    /// result, a date as its serial).
    pub fields: Vec<String>,
}

/// Reads the application sheet of a workbook (see the module's rules).
pub fn read(workbook: &Workbook) -> Result<Rows, SheetError> {
    if workbook.sheets.is_empty() {
        return Err(SheetError::NoSheet);
    }
    if let Some(hidden) = workbook
        .sheets
        .iter()
        .find(|s| !s.visible && s.cells.iter().any(|c| !is_blank(&c.value)))
    {
        return Err(SheetError::HiddenData {
            sheet: sheet_ref(&hidden.name),
        });
    }
    let sheet = workbook
        .sheets
        .iter()
        .find(|s| s.visible)
        .ok_or(SheetError::NoVisibleSheet)?;
    let mut rows = grid(sheet)?;
    let mut header_width = None;
    let mut previous: Option<usize> = None;
    if rows.first().is_some_and(|(_, cells)| is_header(cells)) {
        let (row, cells) = rows.remove(0);
        header_width = Some(cells.len());
        previous = Some(row);
    }
    let mut out = Rows {
        sheet: sheet.name.clone(),
        rows: Vec::new(),
        header_width,
        warnings: Vec::new(),
    };
    for (row, cells) in rows {
        if let Some(p) = previous.filter(|&p| row > p + 1) {
            let rule = if row == p + 2 {
                "empty row skipped".to_string()
            } else {
                format!("empty rows {} to {} skipped", p + 1, row - 1)
            };
            out.warnings.push(RowError {
                line: p + 1,
                rule,
                sheet: Some(sheet.name.clone()),
                ..Default::default()
            });
        }
        previous = Some(row);
        let fields = cells
            .iter()
            .map(|c| c.map(as_read).unwrap_or_default())
            .collect();
        out.rows.push(Row {
            row,
            cells: cells.into_iter().map(|c| c.cloned()).collect(),
            fields,
        });
    }
    if out.rows.is_empty() {
        return Err(SheetError::Empty {
            sheet: sheet_ref(&sheet.name),
        });
    }
    Ok(out)
}

/// A non-empty row: its 1-based number and its cells from column A.
type GridRow<'a> = (usize, Vec<Option<&'a Value>>);

/// The sheet's non-empty rows (1-based row number, cells from column A to
/// the last non-blank one), in row order; merged cells other than the
/// top-left one are left out.
fn grid(sheet: &Sheet) -> Result<Vec<GridRow<'_>>, SheetError> {
    let covered = |row: u32, col: u32| {
        sheet.merged.iter().any(|&(r0, c0, r1, c1)| {
            (r0..=r1).contains(&row) && (c0..=c1).contains(&col) && (row, col) != (r0, c0)
        })
    };
    let mut cells: Vec<_> = sheet
        .cells
        .iter()
        .filter(|c| !is_blank(&c.value) && !covered(c.row, c.col))
        .collect();
    cells.sort_by_key(|c| (c.row, c.col));
    if let Some(far) = cells.iter().find(|c| c.col as usize >= MAX_COLUMNS) {
        return Err(SheetError::TooWide {
            cell: format!("{}!{}", sheet_ref(&sheet.name), cell_name(far.row, far.col)),
            max: MAX_COLUMNS,
        });
    }
    let mut rows: Vec<GridRow> = Vec::new();
    for c in cells {
        let row = c.row as usize + 1;
        if rows.last().is_none_or(|(r, _)| *r != row) {
            rows.push((row, Vec::new()));
        }
        if let Some((_, line)) = rows.last_mut() {
            let col = c.col as usize;
            if line.len() <= col {
                line.resize(col + 1, None);
            }
            // Two cells at one address cannot come from a workbook; the
            // first is kept.
            line[col].get_or_insert(&c.value);
        }
    }
    Ok(rows)
}

/// A cell with nothing in it: an empty text or spaces only (what TSV
/// treats as a blank line).
fn is_blank(v: &Value) -> bool {
    matches!(v, Value::Text(s) if s.chars().all(|c| c == ' '))
}

/// See the module's header-row rule.
fn is_header(cells: &[Option<&Value>]) -> bool {
    let texts: Vec<&str> = cells
        .iter()
        .flatten()
        .filter_map(|v| match v {
            Value::Text(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    let all_text = texts.len() == cells.iter().flatten().count();
    let dn_like = matches!(cells.first(), Some(Some(Value::Text(s))) if s.contains('='));
    all_text && !dn_like && texts.iter().any(|t| is_header_word(t))
}

/// Column labels of `mailra forms template` (`render::xlsx_forms`), each
/// half, and the English field names the replies use.
const HEADER_WORDS: &[&str] = &[
    "サブジェクトDN",
    "Subject DN",
    "プロファイルID",
    "Profile ID",
    "ダウンロード方法",
    "Download method",
    "シリアル番号",
    "Serial number",
    "serial",
    "失効理由",
    "Revocation reason",
    "reason",
    "失効理由コメント",
    "Reason comment",
    "CSR",
    "CSR (PEM body on one line)",
    "管理者氏名",
    "Admin name",
    "管理者所属",
    "Admin department",
    "admin dept",
    "管理者メールアドレス",
    "Admin mail",
    "新管理者メールアドレス",
    "New admin mail (if changed)",
    "new admin mail",
    "管理者FQDN",
    "Admin FQDN (= CN)",
    "admin FQDN",
    "ソフトウェア名・バージョン",
    "Software name and version",
    "software",
    "dNSName",
    "dNSName (subjectAltName)",
    "利用者氏名",
    "User name",
    "P12ファイル名",
    "P12 file name",
    "利用者所属",
    "User department",
    "user dept",
    "利用者メールアドレス",
    "User mail",
    "新利用者メールアドレス",
    "New user mail (if changed)",
    "new user mail",
    "アクセスPIN",
    "Access PIN",
    "（空欄）",
    "(leave empty)",
];

/// Whether a cell's text is a known header word: the whole text or one of
/// its `/`-separated halves, compared after [`fold`].
pub fn is_header_word(text: &str) -> bool {
    let folded = fold(text);
    let known = |t: &str| HEADER_WORDS.iter().any(|w| fold(w) == t);
    known(&folded) || folded.split('/').any(|part| known(part.trim()))
}

/// Full-width ASCII and the ideographic space made half-width (what an
/// officer's IME types for `Ｓｅｒｉａｌ`, `：` or a full-width space).
pub fn half_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// Text as compared loosely: [`half_width`], lower case, runs of spaces made
/// one, trimmed.
pub fn fold(text: &str) -> String {
    half_width(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A cell as text before the form's rules (see [`Row::fields`]).
fn as_read(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Number { value, .. } => number_text(*value),
        Value::Date { serial, .. } => number_text(*serial),
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Value::Error(e) => e.clone(),
        Value::Formula { cached, .. } => cached.clone(),
    }
}

/// A number's shortest exact decimal text, without exponent (`3`, `3.5`,
/// `0.1`); `-0` is `0`.
fn number_text(v: f64) -> String {
    if v == 0.0 { "0".into() } else { format!("{v}") }
}

/// Digits Excel keeps of a number (Microsoft KB269370): a number written
/// with more may already differ from what was typed.
const EXCEL_DIGITS: usize = 15;

fn significant_digits(text: &str) -> usize {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    let digits = if text.contains('.') {
        digits
    } else {
        digits.trim_end_matches('0')
    };
    digits.len()
}

const RETYPE: &str = "format the column as text and type it again";

/// The text a field takes from a cell under `rule`, or the rule the cell
/// breaks.
pub fn field_text(v: &Value, rule: CellRule) -> Result<String, String> {
    match v {
        Value::Text(s) => {
            tsv::check_text(s).map_err(|e| e.to_string())?;
            Ok(s.clone())
        }
        Value::Number { value, format } => number(*value, format.as_deref(), rule),
        Value::Date { format, .. } => Err(format!(
            "Excel turned the value into a date{}; {RETYPE}",
            format
                .as_deref()
                .map(|f| format!(" (shown with format {f})"))
                .unwrap_or_default()
        )),
        Value::Formula { formula, .. } => {
            let mut shown: String = formula.chars().take(40).collect();
            if shown.len() < formula.len() {
                shown.push('…');
            }
            Err(format!(
                "a formula (={shown}); type the value itself — formulas are never evaluated"
            ))
        }
        Value::Bool(b) => Err(format!(
            "a TRUE/FALSE value ({}); type the value itself as text",
            if *b { "TRUE" } else { "FALSE" }
        )),
        Value::Error(e) => Err(format!(
            "the cell shows the error {e}; type the value itself"
        )),
    }
}

fn number(v: f64, format: Option<&str>, rule: CellRule) -> Result<String, String> {
    if !v.is_finite() {
        return Err(format!("not a number Excel can hold; {RETYPE}"));
    }
    let too_long = || {
        format!(
            "a number of more than {EXCEL_DIGITS} digits: Excel keeps only {EXCEL_DIGITS} significant digits, so it may already have changed; {RETYPE}"
        )
    };
    let text = number_text(v);
    match rule {
        CellRule::Id(what) => Err(match zero_padded(format) {
            Some(f) => format!(
                "a {what} stored as a number: leading zeros may have been dropped (shown with format {f}); {RETYPE}"
            ),
            None => format!(
                "a {what} stored as a number: Excel keeps only {EXCEL_DIGITS} significant digits and drops leading zeros; {RETYPE}"
            ),
        }),
        _ if significant_digits(&text) > EXCEL_DIGITS || v.abs() >= 1e15 => Err(too_long()),
        CellRule::Code if v.fract() != 0.0 => Err(format!(
            "the number {text} is not a whole number; a code is a whole number such as 3"
        )),
        CellRule::Code | CellRule::Free => Ok(text),
    }
}

/// The number format when it shows leading zeros (`0000`, `000000`), which
/// only the display kept.
fn zero_padded(format: Option<&str>) -> Option<&str> {
    let f = format?;
    let first = f.split(';').next().unwrap_or(f);
    (first.len() >= 2 && first.chars().all(|c| c == '0')).then_some(f)
}

/// Fits the sheet's rows to a form of `fields` fields and at most `max`
/// records, each cell taken by its field's rule in `rules` (a field past the
/// table is free text): the TSV fitting rules ([`tsv::fit`]), every error
/// and warning located on the sheet.
pub fn fit(
    rows: &Rows,
    fields: usize,
    max: usize,
    rules: &[CellRule],
) -> Result<Table, Vec<RowError>> {
    let lines = Lines {
        lines: rows
            .rows
            .iter()
            .map(|r| {
                let mut errors = Vec::new();
                let mut texts: Vec<String> = r
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(i, cell)| {
                        let rule = rules.get(i).copied().unwrap_or(CellRule::Free);
                        match cell.as_ref().map(|v| field_text(v, rule)) {
                            None => String::new(),
                            Some(Ok(t)) => t,
                            Some(Err(e)) => {
                                errors.push(RowError {
                                    line: r.row,
                                    field: Some(i + 1),
                                    field_name: "cell",
                                    rule: e,
                                    ..Default::default()
                                });
                                String::new()
                            }
                        }
                    })
                    .collect();
                if texts.len() < fields {
                    texts.resize(fields, String::new());
                }
                Line {
                    line: r.row,
                    fields: texts,
                    errors,
                }
            })
            .collect(),
        warnings: rows.warnings.clone(),
    };
    let locate = |mut e: RowError| {
        e.sheet = Some(rows.sheet.clone());
        e
    };
    match tsv::fit(&lines, fields, max) {
        Ok(mut t) => {
            t.warnings = t.warnings.into_iter().map(locate).collect();
            Ok(t)
        }
        Err(es) => Err(es.into_iter().map(locate).collect()),
    }
}

#[cfg(test)]
#[path = "sheet_tests.rs"]
pub(crate) mod tests;
