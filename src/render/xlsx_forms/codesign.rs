//! The blank code-signing revocation form (`mailra forms template
//! codesign-revoke`): one labelled field per row — the label (Japanese and
//! English) over columns A:B, the value cell over C:E (formatted as text, the
//! reason with a drop-down), a hint in F — then notes rows; a second sheet
//! shows it filled. The labels come from `intake::codesign::layout`, the
//! same table the reader looks for.

use rust_xlsxwriter::{
    Color, DataValidation, Format, FormatAlign, FormatBorder, IgnoreError, Workbook, Worksheet,
    XlsxError,
};

use super::EXAMPLE_SHEET;
use crate::intake::codesign::layout::{self, Field, LABELS, NOTES, TITLE};
use crate::model::{FormKind, RevocationReason};

/// The row of the first field (0-based): the title, then an empty row.
pub const FIRST_ROW: u32 = 2;
/// The value column (C).
pub const VALUE_COL: u16 = 2;

/// The example the second sheet shows, per field.
pub fn example(field: Field) -> &'static str {
    match field {
        Field::ApplicationDate => "2026-04-01",
        Field::Institution => "学校法人申請学園 Example University",
        Field::Address => "東京都千代田区一ツ橋2-1-2",
        Field::AdminName => "国立 太郎",
        Field::AdminDept => "学術基盤推進部基盤企画課",
        Field::AdminMail => "taro.kokuritsu@example.ac.jp",
        Field::Serial => "0x0A1B2C3D4E5F",
        Field::Subject => "Example University Code Signing",
        Field::Reason => "5",
        Field::Comment => "配布終了のため / distribution ended",
    }
}

/// The workbook: the form sheet (blank) and the example sheet.
pub fn template() -> Result<Vec<u8>, XlsxError> {
    filled(&|_| String::new())
}

/// The workbook with the form sheet filled in by `values` (an empty value
/// leaves the cell blank), and the example sheet: how an officer sends it,
/// and how `samples/codesign-revoke.xlsx` is made.
pub fn filled(values: &dyn Fn(Field) -> String) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(FormKind::CodeSignRevoke.code())?;
    sheet(ws, values)?;
    let ex = wb.add_worksheet();
    ex.set_name(EXAMPLE_SHEET)?;
    sheet(ex, &|f| example(f).to_string())?;
    wb.save_to_buffer()
}

fn sheet(ws: &mut Worksheet, values: &dyn Fn(Field) -> String) -> Result<(), XlsxError> {
    let title = Format::new().set_bold().set_font_size(14);
    let label = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color(Color::RGB(0xDDEBF7));
    // Built-in format 49 is Excel's own "Text" (`@`): IDs stay as typed.
    let value = Format::new()
        .set_num_format_index(49)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color(Color::RGB(0xFFF2CC));
    let hint = Format::new()
        .set_font_size(9)
        .set_text_wrap()
        .set_font_color(Color::RGB(0x595959));
    ws.set_column_range_width(0, 1, 16.0)?;
    ws.set_column_range_width(2, 4, 18.0)?;
    ws.set_column_width(5, 60.0)?;
    ws.merge_range(0, 0, 0, 5, TITLE, &title)?;
    for (i, l) in LABELS.iter().enumerate() {
        let r = FIRST_ROW + i as u32;
        ws.set_row_height(r, 30)?;
        ws.merge_range(r, 0, r, 1, &l.text(), &label)?;
        ws.merge_range(r, VALUE_COL, r, 4, &values(l.field), &value)?;
        let h = match (l.required, l.hint) {
            (true, "") => "※ 必須 / required".to_string(),
            (true, h) => format!("※ 必須 / required — {h}"),
            (false, "") => "※ 任意 / optional".to_string(),
            (false, h) => format!("※ {h}"),
        };
        ws.write_string_with_format(r, 5, h, &hint)?;
        if l.field == Field::Reason {
            let list: Vec<String> = RevocationReason::ALL
                .iter()
                .map(|r| r.code().to_string())
                .collect();
            let v = DataValidation::new()
                .allow_list_strings(&list)?
                .set_input_title(l.ja)?
                .set_input_message(format!("{} / {}", list.join(", "), l.en))?
                .set_error_title(l.text())?
                .set_error_message(format!("{} のいずれか / one of them", list.join(", ")))?;
            ws.add_data_validation(r, VALUE_COL, r, VALUE_COL, &v)?;
        }
    }
    let notes_row = FIRST_ROW + LABELS.len() as u32 + 1;
    for (i, n) in NOTES.iter().enumerate() {
        ws.write_string(notes_row + i as u32, 0, *n)?;
    }
    let last = FIRST_ROW + LABELS.len() as u32;
    ws.ignore_error_range(
        FIRST_ROW,
        VALUE_COL,
        last,
        4,
        IgnoreError::NumberStoredAsText,
    )?;
    Ok(())
}

/// The label of a field (for the CLI and tests).
pub fn label_text(field: Field) -> String {
    layout::label(field).text()
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use calamine::{Data, Reader, Xlsx};

    use super::*;
    use crate::intake::codesign;
    use crate::intake::workbook::{Cell, Sheet, Value, Workbook as Book};

    /// A sheet of the template read back with calamine into the normalised
    /// cells the reader takes (tests only: the robot reads workbooks in a
    /// sandbox).
    fn normalised(bytes: &[u8], name: &str) -> Sheet {
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
        let merged = wb
            .merge_cells_by_sheet_name(name)
            .unwrap()
            .iter()
            .map(|d| (d.start.0, d.start.1, d.end.0, d.end.1))
            .collect();
        let range = wb.worksheet_range(name).unwrap();
        let (r0, c0) = range.start().unwrap();
        let cells = range
            .used_cells()
            .filter_map(|(r, c, d)| {
                let value = match d {
                    Data::String(s) if !s.is_empty() => Value::Text(s.clone()),
                    Data::Float(f) => Value::Number {
                        value: *f,
                        format: None,
                    },
                    _ => return None,
                };
                Some(Cell {
                    row: r0 + r as u32,
                    col: c0 + c as u32,
                    value,
                })
            })
            .collect();
        Sheet {
            name: name.into(),
            visible: true,
            cells,
            merged,
        }
    }

    #[test]
    fn the_example_sheet_reads_back_by_its_labels_and_the_blank_form_is_detected() {
        let bytes = template().unwrap();
        let ex = normalised(&bytes, EXAMPLE_SHEET);
        let form = codesign::read(&Book {
            sheets: vec![ex],
            has_macros: false,
        })
        .unwrap();
        for l in &LABELS {
            assert_eq!(form.text(l.field), example(l.field), "{:?}", l.field);
            let (r, c) = form.get(l.field).unwrap().value_at.unwrap();
            assert_eq!(
                (c, r - FIRST_ROW),
                (2, LABELS.iter().position(|x| x == l).unwrap() as u32)
            );
        }
        let blank = normalised(&bytes, FormKind::CodeSignRevoke.code());
        let blank = Book {
            sheets: vec![blank],
            has_macros: false,
        };
        assert!(codesign::is_codesign_form(&blank));
        // Every value of the blank form is empty; hints are not read as values.
        let read = codesign::read(&blank).unwrap();
        assert!(read.values.iter().all(|v| v.text.is_empty()), "{read:?}");
    }

    #[test]
    fn the_value_cells_are_text_and_the_reason_has_a_drop_down() {
        let bytes = template().unwrap();
        let xml = super::super::tests_support::sheet_xml(&bytes, 1);
        let reason_row = FIRST_ROW
            + LABELS
                .iter()
                .position(|l| l.field == Field::Reason)
                .unwrap() as u32
            + 1;
        assert!(xml.contains(&format!("sqref=\"C{reason_row}\"")), "{xml}");
        assert!(xml.contains("<formula1>\"0,1,3,4,5\"</formula1>"), "{xml}");
        assert!(xml.contains("<mergeCell ref=\"C3:E3\"/>"), "{xml}");
        assert!(xml.contains("<mergeCell ref=\"A3:B3\"/>"), "{xml}");
    }
}
