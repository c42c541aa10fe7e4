//! The annotated reply: an application file with errors, carried back to the
//! officer as an .xlsx so they can fix it in place.
//!
//! rust_xlsxwriter cannot modify a file, so the workbook is rebuilt from the
//! values read (a TSV becomes a sheet in its column order): every value
//! written as text (IDs never become numbers), every faulty cell filled with
//! Excel's "bad" colours and a note giving the rule it breaks (all of them,
//! when a cell breaks several), and a second sheet listing every error with a
//! link to its cell. Pure: it returns the bytes of the .xlsx.
//!
//! **Row N of the sheet is line N of the file** (a TSV line, or the sheet row
//! a workbook's record came from), so the "line 7" of the reply's text, the
//! cell `G7` of the error list and row 7 of the sheet are one place. The
//! form's header (Japanese and English, as `mailra forms template` writes it)
//! is written in row 1 only when that row is free: a workbook whose header
//! row was skipped, or a TSV whose first line was blank. A TSV's first line
//! is a record, so its sheet has no header; the error list names every
//! field instead.
//!
//! A row-level error (no field) marks the row's first cell; a whole-file
//! error (line 0) appears in the error list only. What Excel cannot hold (a
//! line past row 1,048,576, a field past column XFD, a value longer than
//! 32,767 characters, more than 65,530 links) is cut or listed without a
//! link, never a failure.

use std::collections::BTreeMap;

use rust_xlsxwriter::utility::column_number_to_name;
use rust_xlsxwriter::{
    Color, Format, FormatAlign, FormatBorder, IgnoreError, Note, Url, Workbook, Worksheet,
    XlsxError,
};

use super::xlsx_forms::Column;
use crate::model::RowError;

/// The name of the error-list sheet.
pub const ERRORS_SHEET: &str = "エラー一覧 (Errors)";

/// Excel's limits.
const MAX_ROWS: usize = 1_048_576;
const MAX_COLS: usize = 16_384;
const MAX_CELL_CHARS: usize = 32_767;
const MAX_LINKS: usize = 65_530;
/// A note holds less than a cell (rust_xlsxwriter keeps room for an author).
const MAX_NOTE_CHARS: usize = 32_767 - 54;

/// Excel's "bad" cell style: light red fill, dark red text.
const FAULT_FILL: u32 = 0xFFC7CE;
const FAULT_FONT: u32 = 0x9C0006;
const HEADER_FILL: u32 = 0xDDEBF7;

/// The name of the annotated reply of `file_name`: `server.tsv` →
/// `server-errors.xlsx`.
pub fn attachment_name(file_name: &str) -> String {
    match stem(file_name) {
        "" => "application-errors.xlsx".into(),
        s => format!("{s}-errors.xlsx"),
    }
}

/// The data sheet's name: the file's stem, made a valid sheet name (no
/// `[]:*?/\`, no control characters, no apostrophe at either end, at most 31
/// UTF-16 units, not Excel's reserved "History", not the error sheet's name).
pub fn sheet_name(file_name: &str) -> String {
    let cleaned: String = stem(file_name)
        .chars()
        .map(|c| {
            if "[]:*?/\\".contains(c) || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut name = String::new();
    let mut units = 0;
    for c in cleaned.trim_matches('\'').chars() {
        units += c.len_utf16();
        if units > 31 {
            break;
        }
        name.push(c);
    }
    let name = name.trim_matches('\'').trim().to_string();
    if name.is_empty() || name == ERRORS_SHEET {
        "Sheet1".into()
    } else if name.eq_ignore_ascii_case("history") {
        format!("{name}_")
    } else {
        name
    }
}

/// The file name without its directory and extension.
fn stem(file_name: &str) -> &str {
    let base = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file_name)
        .trim();
    match base.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s,
        _ => base,
    }
}

/// The annotated workbook of the file `file_name`: `rows` are its records as
/// read (line, fields from column A; see
/// `intake::application::Records::as_read`), `columns` the form's columns
/// when the form is known (for the header and the field names), `errors`
/// every error of the file. Returns the bytes of the .xlsx.
pub fn workbook<'r>(
    file_name: &str,
    rows: impl IntoIterator<Item = (usize, &'r [String])>,
    columns: Option<&[Column]>,
    errors: &[RowError],
) -> Result<Vec<u8>, XlsxError> {
    let rows: Vec<(usize, &[String])> = rows
        .into_iter()
        .filter(|(line, _)| (1..=MAX_ROWS).contains(line))
        .collect();
    // A file read from a workbook keeps its sheet's name (its errors carry
    // it), so `Sheet1!G7` in the mail is the same place in the copy.
    let sheet = errors
        .iter()
        .find_map(|e| e.sheet.clone())
        .filter(|s| s.as_str() != ERRORS_SHEET)
        .unwrap_or_else(|| sheet_name(file_name));
    let f = Formats::new();

    // Every faulty cell with the errors it carries, in the errors' order.
    let mut faults: BTreeMap<(u32, u16), Vec<&RowError>> = BTreeMap::new();
    for e in errors {
        if let Some(cell) = cell_of(e) {
            faults.entry(cell).or_default().push(e);
        }
    }
    let header = columns.filter(|_| {
        !rows.iter().any(|(line, _)| *line == 1) && !faults.keys().any(|(r, _)| *r == 0)
    });

    let mut wb = Workbook::new();
    wb.set_default_format(&f.base, 18, 72)?;
    let ws = wb.add_worksheet();
    ws.set_name(&sheet)?;
    let mut last = (0u32, 0u16);
    let mut widths: BTreeMap<u16, usize> = BTreeMap::new();
    if let Some(cols) = header {
        for (c, column) in cols.iter().enumerate().take(MAX_COLS) {
            ws.write_string_with_format(0, c as u16, column.label(), &f.header)?;
        }
        ws.set_row_height(0, 45)?;
        ws.set_freeze_panes(1, 0)?;
        last.1 = last.1.max(cols.len().saturating_sub(1) as u16);
    }
    for (line, fields) in &rows {
        let r = (*line - 1) as u32;
        last.0 = last.0.max(r);
        for (c, value) in fields.iter().enumerate().take(MAX_COLS) {
            let c = c as u16;
            last.1 = last.1.max(c);
            let format = if faults.contains_key(&(r, c)) {
                &f.fault
            } else {
                &f.text
            };
            let value = cut(value, MAX_CELL_CHARS);
            let w = widths.entry(c).or_default();
            *w = (*w).max(display_width(value));
            if value.is_empty() {
                if faults.contains_key(&(r, c)) {
                    ws.write_blank(r, c, format)?;
                }
            } else {
                ws.write_string_with_format(r, c, value, format)?;
            }
        }
    }
    let lengths: BTreeMap<usize, usize> = rows.iter().map(|(l, f)| (*l, f.len())).collect();
    for (&(r, c), errs) in &faults {
        let written = lengths
            .get(&(r as usize + 1))
            .is_some_and(|n| (c as usize) < *n);
        if !written {
            ws.write_blank(r, c, &f.fault)?;
        }
        last = (last.0.max(r), last.1.max(c));
        let text = note_text(errs, columns);
        let lines: usize = text.lines().map(|l| 1 + display_width(l) / 44).sum();
        let note = Note::new(cut(&text, MAX_NOTE_CHARS))
            .set_author("mailra")
            .add_author_prefix(false)
            .set_font_name(FONT)
            .set_font_size(9)
            .set_width(300)
            .set_height((lines.clamp(2, 30) * 16) as u32);
        ws.insert_note(r, c, &note)?;
    }
    for c in 0..=last.1 {
        let known = columns
            .and_then(|cols| cols.get(c as usize))
            .map(|k| k.width);
        let measured = widths
            .get(&c)
            .map_or(8.0, |w| (*w as f64 + 2.0).clamp(8.0, 60.0));
        ws.set_column_width(c, known.unwrap_or(measured))?;
        ws.set_column_format(c, &f.text)?;
    }
    ws.ignore_error_range(0, 0, last.0, last.1, IgnoreError::NumberStoredAsText)?;

    error_sheet(wb.add_worksheet(), &sheet, columns, errors, &f)?;
    wb.save_to_buffer()
}

/// The error list: location (a link to the cell), field, rule.
fn error_sheet(
    ws: &mut Worksheet,
    sheet: &str,
    columns: Option<&[Column]>,
    errors: &[RowError],
    f: &Formats,
) -> Result<(), XlsxError> {
    ws.set_name(ERRORS_SHEET)?;
    let heads = ["場所 / Location", "項目 / Field", "エラー / Rule"];
    for (c, (head, width)) in heads.into_iter().zip([28.0, 44.0, 90.0]).enumerate() {
        ws.write_string_with_format(0, c as u16, head, &f.header)?;
        ws.set_column_width(c as u16, width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let mut sorted: Vec<&RowError> = errors.iter().collect();
    sorted.sort_by_key(|e| (e.line, e.field.unwrap_or(0)));
    let quoted = sheet.replace('\'', "''");
    let mut links = 0;
    for (i, e) in sorted.iter().enumerate() {
        let r = i as u32 + 1;
        if r as usize >= MAX_ROWS {
            break;
        }
        match cell_of(e) {
            Some((row, col)) => {
                let cell = cell_ref(row, col);
                let text = format!("{sheet}!{cell}");
                if links < MAX_LINKS {
                    let url = Url::new(format!("internal:'{quoted}'!{cell}")).set_text(&text);
                    ws.write_url_with_format(r, 0, &url, &f.link)?;
                    links += 1;
                } else {
                    ws.write_string_with_format(r, 0, &text, &f.text)?;
                }
            }
            None if e.line == 0 => {
                ws.write_string_with_format(r, 0, "ファイル全体 / whole file", &f.text)?;
            }
            None => {
                let text = format!("{}行目 / line {}", e.line, e.line);
                ws.write_string_with_format(r, 0, &text, &f.text)?;
            }
        }
        ws.write_string_with_format(r, 1, field_label(e, columns), &f.text)?;
        ws.write_string_with_format(r, 2, cut(&e.rule, MAX_CELL_CHARS), &f.wrap)?;
    }
    if !sorted.is_empty() {
        ws.autofilter(0, 0, sorted.len().min(MAX_ROWS - 1) as u32, 2)?;
    }
    Ok(())
}

/// The cell an error marks (0-based row and column): its field's, or the
/// row's first for a row-level error; none for a whole-file error or a place
/// past Excel's limits.
fn cell_of(e: &RowError) -> Option<(u32, u16)> {
    if e.line == 0 || e.line > MAX_ROWS {
        return None;
    }
    let col = match e.field {
        Some(n) if n > MAX_COLS => return None,
        Some(n) => n.saturating_sub(1),
        None => 0,
    };
    Some(((e.line - 1) as u32, col as u16))
}

/// `G7` for row 6, column 6 (0-based).
fn cell_ref(row: u32, col: u16) -> String {
    format!("{}{}", column_number_to_name(col), row + 1)
}

/// How an error's field is named: `G (7): CSR / CSR (PEM body on one line)`.
fn field_label(e: &RowError, columns: Option<&[Column]>) -> String {
    match e.field {
        Some(n) => {
            let letter = if (1..=MAX_COLS).contains(&n) {
                column_number_to_name((n - 1) as u16)
            } else {
                "-".into()
            };
            let known = columns
                .and_then(|cols| cols.get(n.wrapping_sub(1)))
                .map(Column::label);
            let name = known.unwrap_or_else(|| e.field_name.to_string());
            if name.is_empty() {
                format!("{letter} ({n})")
            } else {
                format!("{letter} ({n}): {name}")
            }
        }
        None if e.line == 0 => "ファイル全体 / whole file".into(),
        None => "行全体 / whole row".into(),
    }
}

/// The note of a faulty cell: every rule it breaks, one per line.
fn note_text(errs: &[&RowError], columns: Option<&[Column]>) -> String {
    let first = errs
        .first()
        .map(|e| field_label(e, columns))
        .unwrap_or_default();
    let mut text = format!("エラー / Error: {first}");
    for e in errs {
        text.push_str("\n• ");
        let label = field_label(e, columns);
        if label != first {
            text.push_str(&label);
            text.push_str(": ");
        }
        text.push_str(&e.rule);
    }
    text
}

/// At most `max` UTF-16 units of `s` (Excel counts in UTF-16).
fn cut(s: &str, max: usize) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &s[..i];
        }
    }
    s
}

/// Width in Excel character units: a CJK character takes two.
fn display_width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// A Japanese-capable font every Office for Windows and Mac has.
const FONT: &str = "ＭＳ Ｐゴシック";

struct Formats {
    /// The workbook's default: the Japanese font.
    base: Format,
    /// Excel's Text format (`@`): what every value cell carries.
    text: Format,
    fault: Format,
    header: Format,
    wrap: Format,
    link: Format,
}

impl Formats {
    fn new() -> Formats {
        let base = Format::new()
            .set_font_name(FONT)
            .set_font_size(11)
            .set_font_charset(128);
        // Built-in format 49 is Excel's own "Text" (`@`).
        let text = base.clone().set_num_format_index(49);
        Formats {
            fault: text
                .clone()
                .set_background_color(Color::RGB(FAULT_FILL))
                .set_font_color(Color::RGB(FAULT_FONT)),
            header: text
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Top)
                .set_border_bottom(FormatBorder::Thin)
                .set_background_color(Color::RGB(HEADER_FILL)),
            wrap: text.clone().set_text_wrap().set_align(FormatAlign::Top),
            link: base
                .clone()
                .set_font_color(Color::RGB(0x0563C1))
                .set_underline(rust_xlsxwriter::FormatUnderline::Single),
            text,
            base,
        }
    }
}

#[cfg(test)]
mod tests;
