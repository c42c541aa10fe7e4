//! Cells of an .xlsx/.xlsm, streamed: `worksheet_range()` allocates a grid
//! over the sheet's extent (549 GB for a cell at XFD1048576) before a single
//! check can run, so every cell comes from calamine's cells reader and is
//! counted against the [`Budget`] as it comes.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{
    DataRef, Dimensions, Reader, SheetType, SheetVisible, Xlsx, XlsxError, XlsxFormulaMetadata,
};

use super::{Budget, Cell, Sheet, Spent, Value, Workbook, WorkbookError};

fn damaged(e: XlsxError) -> WorkbookError {
    match e {
        XlsxError::Password => WorkbookError::Encrypted,
        e => WorkbookError::Malformed(e.to_string()),
    }
}

/// Reads a package that passed the zip pre-check.
pub(super) fn read(bytes: &[u8], budget: &Budget) -> Result<Workbook, WorkbookError> {
    let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(damaged)?;
    let metadata = xlsx.sheets_metadata().to_vec();
    let mut wb = Workbook {
        has_macros: metadata
            .iter()
            .any(|s| matches!(s.typ, SheetType::MacroSheet | SheetType::Vba)),
        sheets: Vec::new(),
    };
    let mut spent = Spent::new(budget);
    for meta in metadata {
        if meta.typ != SheetType::WorkSheet {
            // Chart and dialog sheets hold no cells; macro sheets set has_macros.
            continue;
        }
        let mut sheet = Sheet {
            name: meta.name.clone(),
            visible: meta.visible == SheetVisible::Visible,
            cells: cells(&mut xlsx, &meta.name, &mut spent)?,
            merged: Vec::new(),
        };
        styles(&mut xlsx, &mut sheet)?;
        let merged = xlsx
            .merge_cells_by_sheet_name(&meta.name)
            .map_err(damaged)?;
        spent.merged(merged.len())?;
        sheet.merged = merged.iter().map(area).collect();
        wb.sheets.push(sheet);
    }
    Ok(wb)
}

pub(super) fn area(d: &Dimensions) -> (u32, u32, u32, u32) {
    (d.start.0, d.start.1, d.end.0, d.end.1)
}

/// The non-empty cells of a sheet, in stream order, each counted.
fn cells(
    xlsx: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    spent: &mut Spent,
) -> Result<Vec<Cell>, WorkbookError> {
    let mut reader = xlsx.worksheet_cells_reader(name).map_err(damaged)?;
    let mut out = Vec::new();
    // Shared-formula templates by their index, as met: the metadata API,
    // unlike `next_cell_with_formula`, does not size a table by the index
    // the file announces.
    let mut shared: HashMap<usize, (String, (u32, u32))> = HashMap::new();
    while let Some(rec) = reader.next_cell_with_formula_metadata().map_err(damaged)? {
        let (row, col) = rec.pos;
        let formula = match rec.formula {
            None => None,
            Some(XlsxFormulaMetadata::Normal { formula }) => Some(formula),
            Some(XlsxFormulaMetadata::Shared {
                shared_index,
                range,
                formula,
            }) => {
                let start = range.map(|r| r.start).unwrap_or(rec.pos);
                shared.insert(shared_index, (formula.clone(), start));
                Some(formula)
            }
            Some(XlsxFormulaMetadata::SharedDerived { shared_index }) => Some(
                shared
                    .get(&shared_index)
                    .and_then(|(f, start)| calamine::expand_shared_formula(f, *start, rec.pos).ok())
                    .unwrap_or_default(),
            ),
            Some(_) => Some(String::new()),
        };
        let value = match formula {
            Some(formula) => Value::Formula {
                formula,
                cached: cached_text(&rec.value),
            },
            None => match value(&rec.value) {
                Some(v) => v,
                None => continue,
            },
        };
        spent.cell(name, row, col, text_len(&value))?;
        out.push(Cell { row, col, value });
    }
    Ok(out)
}

/// The number formats of a sheet's numbers and dates, from a second pass
/// over its styled cells (only the cells already read are looked up).
fn styles(xlsx: &mut Xlsx<Cursor<&[u8]>>, sheet: &mut Sheet) -> Result<(), WorkbookError> {
    let at: HashMap<(u32, u32), usize> = sheet
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.value, Value::Number { .. } | Value::Date { .. }))
        .map(|(i, c)| ((c.row, c.col), i))
        .collect();
    if at.is_empty() {
        return Ok(());
    }
    let mut reader = xlsx.worksheet_cells_reader(&sheet.name).map_err(damaged)?;
    while let Some((row, col, id)) = reader.next_style_id().map_err(damaged)? {
        let Some(&i) = at.get(&(row, col)) else {
            continue;
        };
        let code = reader
            .styles()
            .get(id)
            .and_then(|s| s.number_format.as_ref())
            .map(|f| f.format_code.clone())
            .filter(|c| !c.is_empty() && c != "General");
        match &mut sheet.cells[i].value {
            Value::Number { format, .. } | Value::Date { format, .. } => *format = code,
            _ => {}
        }
    }
    Ok(())
}

/// A stored value as a [`Value`]; `None` for an empty cell.
pub(super) fn value(v: &DataRef) -> Option<Value> {
    Some(match v {
        DataRef::Empty => return None,
        DataRef::String(s) => Value::Text(s.clone()),
        DataRef::SharedString(s) => Value::Text((*s).to_string()),
        DataRef::Int(i) => number(*i as f64),
        DataRef::Float(f) => number(*f),
        DataRef::Bool(b) => Value::Bool(*b),
        DataRef::DateTime(d) => Value::Date {
            serial: d.as_f64(),
            format: None,
        },
        // A cell typed as an ISO 8601 date (`t="d"`): a date with no serial;
        // the text is kept as its format so it can be shown.
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Value::Date {
            serial: 0.0,
            format: Some(s.clone()),
        },
        DataRef::Error(e) => Value::Error(e.to_string()),
    })
}

/// A number; one that is not finite (no writer stores one) is an error
/// value, so the JSON answer of the child stays valid.
fn number(f: f64) -> Value {
    if f.is_finite() {
        Value::Number {
            value: f,
            format: None,
        }
    } else {
        Value::Error("#NUM!".into())
    }
}

/// The cached result of a formula as text (empty if none was stored).
pub(super) fn cached_text(v: &DataRef) -> String {
    match v {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(true) => "TRUE".into(),
        DataRef::Bool(false) => "FALSE".into(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => f.to_string(),
        DataRef::DateTime(d) => d.as_f64().to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    }
}

/// Bytes of text a value carries, for the budget.
pub(super) fn text_len(v: &Value) -> usize {
    match v {
        Value::Text(s) | Value::Error(s) => s.len(),
        Value::Formula { formula, cached } => formula.len() + cached.len(),
        Value::Number { format, .. } | Value::Date { format, .. } => {
            format.as_ref().map_or(0, |f| f.len())
        }
        Value::Bool(_) => 0,
    }
}
