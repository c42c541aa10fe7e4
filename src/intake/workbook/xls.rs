//! An .xls (BIFF in a Compound File), or an OOXML workbook encrypted with a
//! password (which comes in a Compound File too).
//!
//! calamine parses every sheet of an .xls eagerly in `Xls::new` and sizes its
//! grid by the DIMENSIONS record the file declares: a 9 KB crafted file aborts
//! the process there, before anything can be checked. There is no streaming
//! path, so only the child process that runs this (`ra::workbook`, with
//! memory and CPU limits) protects against such a file; what is read is still
//! counted against the [`Budget`].

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, SheetType, SheetVisible, Xls, XlsError, XlsOptions, Xlsx, XlsxError};

use super::xlsx::area;
use super::{Budget, Cell, Sheet, Spent, Value, Workbook, WorkbookError};

fn damaged(e: XlsError) -> WorkbookError {
    match e {
        XlsError::Password => WorkbookError::Encrypted,
        e => WorkbookError::Malformed(e.to_string()),
    }
}

/// Reads a Compound File: an encrypted OOXML package is refused, anything
/// else is read as an .xls.
pub(super) fn read(bytes: &[u8], budget: &Budget) -> Result<Workbook, WorkbookError> {
    // calamine's own test for an `EncryptedPackage` stream; any other error
    // just says this is no zip.
    if let Err(XlsxError::Password) = Xlsx::new(Cursor::new(bytes)) {
        return Err(WorkbookError::Encrypted);
    }
    let mut xls =
        Xls::new_with_options(Cursor::new(bytes), XlsOptions::default()).map_err(damaged)?;
    let metadata = xls.sheets_metadata().to_vec();
    let mut wb = Workbook {
        // A VBA storage that does not parse is still macros.
        has_macros: !matches!(xls.vba_project(), Ok(None))
            || metadata
                .iter()
                .any(|s| matches!(s.typ, SheetType::MacroSheet | SheetType::Vba)),
        sheets: Vec::new(),
    };
    let mut spent = Spent::new(budget);
    for meta in metadata {
        if meta.typ != SheetType::WorkSheet {
            continue;
        }
        let name = meta.name.clone();
        let values = xls.worksheet_range(&name).map_err(damaged)?;
        let formulas = xls.worksheet_formula(&name).map_err(damaged)?;
        let (fr, fc) = formulas.start().unwrap_or_default();
        let formulas: HashMap<(u32, u32), &String> = formulas
            .used_cells()
            .map(|(r, c, f)| ((fr + r as u32, fc + c as u32), f))
            .collect();
        let (vr, vc) = values.start().unwrap_or_default();
        let mut cells = Vec::new();
        for (r, c, v) in values.used_cells() {
            let (row, col) = (vr + r as u32, vc + c as u32);
            let value = match formulas.get(&(row, col)) {
                Some(f) => Value::Formula {
                    formula: (*f).clone(),
                    cached: cached_text(v),
                },
                None => match value(v) {
                    Some(v) => v,
                    None => continue,
                },
            };
            spent.cell(&name, row, col, super::xlsx::text_len(&value))?;
            cells.push(Cell { row, col, value });
        }
        // A formula whose cached result is empty has no value cell.
        for (&(row, col), f) in &formulas {
            if values
                .get_value((row, col))
                .is_none_or(|v| *v == Data::Empty)
            {
                let value = Value::Formula {
                    formula: (*f).clone(),
                    cached: String::new(),
                };
                spent.cell(&name, row, col, f.len())?;
                cells.push(Cell { row, col, value });
            }
        }
        cells.sort_by_key(|c| (c.row, c.col));
        let merged = xls.merge_cells_by_sheet_name(&name).map_err(damaged)?;
        spent.merged(merged.len())?;
        wb.sheets.push(Sheet {
            name,
            visible: meta.visible == SheetVisible::Visible,
            cells,
            merged: merged.iter().map(area).collect(),
        });
    }
    Ok(wb)
}

fn value(v: &Data) -> Option<Value> {
    super::xlsx::value(&data_ref(v))
}

fn cached_text(v: &Data) -> String {
    super::xlsx::cached_text(&data_ref(v))
}

/// The borrowed form of a value, so both formats share one mapping.
fn data_ref(v: &Data) -> calamine::DataRef<'_> {
    use calamine::DataRef as R;
    match v {
        Data::Int(i) => R::Int(*i),
        Data::Float(f) => R::Float(*f),
        Data::String(s) => R::SharedString(s),
        Data::Bool(b) => R::Bool(*b),
        Data::DateTime(d) => R::DateTime(*d),
        Data::DateTimeIso(s) => R::DateTimeIso(s.clone()),
        Data::DurationIso(s) => R::DurationIso(s.clone()),
        Data::Error(e) => R::Error(e.clone()),
        Data::Empty => R::Empty,
    }
}
