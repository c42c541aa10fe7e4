//! Listing sheets: the one way mailra writes a table of records into a
//! workbook for the secretariat (`cert export --format xlsx`, `report`).
//!
//! Every sheet has a bold header row that stays frozen, an autofilter over
//! the whole table, fixed column widths, IDs (serials, profile numbers) as
//! text cells that Excel cannot turn into numbers (it keeps 15 significant
//! digits and drops leading zeros), and times as real
//! Excel date-times in Japan time — Excel has no time zone, so the header
//! says `(JST)`.

use rust_xlsxwriter::{
    ExcelDateTime, Format, FormatAlign, FormatBorder, IgnoreError, Worksheet, XlsxError,
};
use time::OffsetDateTime;

/// The Japanese font the service's workbooks use.
const FONT: &str = "ＭＳ Ｐゴシック";
const HEADER_FILL: u32 = 0xDDEBF7;
/// Japan is UTC+9 all year.
const JST_SECONDS: i64 = 9 * 3600;

/// One column: its header and its width in characters.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub head: &'static str,
    pub width: f64,
}

/// Shorthand for a [`Column`].
pub const fn col(head: &'static str, width: f64) -> Column {
    Column { head, width }
}

/// One cell's value and how it is written.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Free text.
    Text(String),
    /// An identifier (serial, profile, reason code): text, never a number.
    Id(String),
    /// A moment, written as a date-time in JST.
    Time(OffsetDateTime),
    /// A count.
    Count(u64),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
    pub fn id(s: impl Into<String>) -> Cell {
        Cell::Id(s.into())
    }
    /// Text, or an empty cell for `None`.
    pub fn opt(s: Option<impl Into<String>>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }
    /// An ID, or an empty cell for `None`.
    pub fn opt_id(s: Option<impl Into<String>>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Id(s.into()))
    }
}

/// The formats of a listing.
pub struct Formats {
    header: Format,
    text: Format,
    time: Format,
    count: Format,
    bold_count: Format,
    bold_text: Format,
}

impl Default for Formats {
    fn default() -> Self {
        Formats::new()
    }
}

impl Formats {
    pub fn new() -> Formats {
        let base = Format::new()
            .set_font_name(FONT)
            .set_font_size(11)
            .set_font_charset(128);
        // Built-in format 49 is Excel's own "Text" (`@`).
        let text = base.clone().set_num_format_index(49);
        Formats {
            header: text
                .clone()
                .set_bold()
                .set_background_color(rust_xlsxwriter::Color::RGB(HEADER_FILL))
                .set_border_bottom(FormatBorder::Thin)
                .set_align(FormatAlign::Center),
            bold_text: text.clone().set_bold(),
            text,
            time: base
                .clone()
                .set_num_format("yyyy-mm-dd hh:mm:ss")
                .set_align(FormatAlign::Left),
            bold_count: base.clone().set_bold(),
            count: base,
        }
    }
}

/// A time as Excel's date-time of its Japan wall-clock time.
pub fn jst(t: OffsetDateTime) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_timestamp(t.unix_timestamp() + JST_SECONDS)
}

/// Writes the header row of `ws` (frozen) and sets the column widths.
pub fn header(ws: &mut Worksheet, columns: &[Column], f: &Formats) -> Result<(), XlsxError> {
    for (c, column) in columns.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, column.head, &f.header)?;
        ws.set_column_width(c as u16, column.width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Writes one row of cells at `row` (bold for a total line).
pub fn row(
    ws: &mut Worksheet,
    row: u32,
    cells: &[Cell],
    bold: bool,
    f: &Formats,
) -> Result<(), XlsxError> {
    let (text, count) = if bold {
        (&f.bold_text, &f.bold_count)
    } else {
        (&f.text, &f.count)
    };
    for (c, cell) in cells.iter().enumerate() {
        let c = c as u16;
        match cell {
            Cell::Text(s) | Cell::Id(s) => {
                ws.write_string_with_format(row, c, s, text)?;
            }
            Cell::Time(t) => {
                ws.write_datetime_with_format(row, c, &jst(*t)?, &f.time)?;
            }
            Cell::Count(n) => {
                ws.write_number_with_format(row, c, *n as f64, count)?;
            }
            Cell::Empty => {
                ws.write_blank(row, c, text)?;
            }
        }
    }
    Ok(())
}

/// Closes a table of `rows` data rows under the header: the autofilter
/// over it, and no "number stored as text" warnings on the ID cells.
pub fn finish(ws: &mut Worksheet, columns: usize, rows: u32) -> Result<(), XlsxError> {
    let last = columns.saturating_sub(1) as u16;
    ws.autofilter(0, 0, rows, last)?;
    ws.ignore_error_range(0, 0, rows.max(1), last, IgnoreError::NumberStoredAsText)?;
    Ok(())
}

/// A whole listing: header, rows, filter; `tick` is called after each row.
pub fn sheet(
    ws: &mut Worksheet,
    columns: &[Column],
    rows: impl IntoIterator<Item = Vec<Cell>>,
    f: &Formats,
    tick: &mut dyn FnMut(),
) -> Result<u32, XlsxError> {
    header(ws, columns, f)?;
    let mut n = 0u32;
    for cells in rows {
        n += 1;
        row(ws, n, &cells, false, f)?;
        tick();
    }
    finish(ws, columns.len(), n)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_written_as_japan_wall_clock() {
        for (t, expected) in [
            (
                datetime!(2026-11-30 15:30:05 UTC),
                ExcelDateTime::from_ymd(2026, 12, 1)
                    .unwrap()
                    .and_hms(0, 30, 5)
                    .unwrap(),
            ),
            (
                datetime!(2026-04-01 09:00:00 +09:00),
                ExcelDateTime::from_ymd(2026, 4, 1)
                    .unwrap()
                    .and_hms(9, 0, 0)
                    .unwrap(),
            ),
        ] {
            assert_eq!(
                jst(t).unwrap().to_excel().to_bits(),
                expected.to_excel().to_bits(),
                "{t}"
            );
        }
    }
}
