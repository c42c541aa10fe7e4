//! The code-signing revocation form read by its labels, not by fixed cells
//! (SPEC §4): each label is looked for on the sheet (full-width or
//! half-width, with or without spaces and a trailing colon, Japanese or
//! English alone), and its value is the next non-empty cell to its right —
//! or, where the label is one of a header row of labels, the cell below it.
//! A moved row, an inserted note line, merged cells or a label variant
//! therefore do not break it. Pure: a normalised [`Workbook`] in, the texts
//! of the fields (with their cells) out.
//!
//! The serial must be a text cell, as every ID field: a number has lost
//! digits or leading zeros already, a date was a value Excel reinterpreted,
//! a formula is never evaluated — each refused at its cell with its cause.

pub mod layout;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::intake::workbook::{Cell, Sheet, Value, Workbook, cell_name};
pub use layout::{Field, LABELS, Label};

/// A field as read: where its label and its value are, and the value's text
/// (trimmed; empty when the form leaves it empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormValue {
    pub field: Field,
    /// (row, col) of the label, 0-based.
    pub label_at: (u32, u32),
    /// (row, col) of the value cell; `None` when no value was found.
    pub value_at: Option<(u32, u32)>,
    pub text: String,
}

/// A filled form: the sheet it is on and every field found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSignForm {
    pub sheet: String,
    pub values: Vec<FormValue>,
}

impl CodeSignForm {
    pub fn get(&self, field: Field) -> Option<&FormValue> {
        self.values.iter().find(|v| v.field == field)
    }
    /// The text of a field (empty if absent).
    pub fn text(&self, field: Field) -> &str {
        self.get(field).map_or("", |v| v.text.as_str())
    }
    /// Where a message about `field` points: its value cell, else its label.
    pub fn at(&self, field: Field) -> Option<(u32, u32)> {
        self.get(field).map(|v| v.value_at.unwrap_or(v.label_at))
    }
}

/// A problem at a cell of the form (or of the whole form when `at` is None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub sheet: String,
    pub at: Option<(u32, u32)>,
    pub field: Option<Field>,
    pub rule: String,
}

impl std::fmt::Display for CellError {
    /// `Sheet1!C7 (certificate serial): …`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.field.map(|fl| layout::label(fl).name().to_lowercase());
        match (self.at, name) {
            (Some((r, c)), Some(n)) => {
                write!(f, "{}!{} ({n}): {}", self.sheet, cell_name(r, c), self.rule)
            }
            (Some((r, c)), None) => write!(f, "{}!{}: {}", self.sheet, cell_name(r, c), self.rule),
            (None, Some(n)) => write!(f, "{} ({n}): {}", self.sheet, self.rule),
            (None, None) => write!(f, "{}: {}", self.sheet, self.rule),
        }
    }
}

/// Where each field's label is, (row, col).
type Labels = HashMap<Field, (u32, u32)>;

/// The fewest labels (the serial's among them) that make a sheet this form.
const MIN_LABELS: usize = 4;

/// Whether the workbook is a code-signing revocation form (a visible sheet
/// carrying its labels), rather than a sheet of TSV-like rows.
pub fn is_codesign_form(wb: &Workbook) -> bool {
    form_sheet(wb).is_some()
}

/// The first visible sheet that carries the form's labels, with them: at
/// least [`MIN_LABELS`], the serial's and one that only this form has (the
/// institution's name or address). The header row of a TSV form's sheet
/// (5-3-3: serial, reason, comment, admin mail…) carries several of the
/// other labels and must stay a sheet of rows.
fn form_sheet(wb: &Workbook) -> Option<(&Sheet, Labels)> {
    wb.sheets.iter().filter(|s| s.visible).find_map(|s| {
        let labels = find_labels(s);
        let own = labels.contains_key(&Field::Institution) || labels.contains_key(&Field::Address);
        (labels.len() >= MIN_LABELS && labels.contains_key(&Field::Serial) && own)
            .then_some((s, labels))
    })
}

/// Reads the form: every field's value, or every problem at once.
pub fn read(wb: &Workbook) -> Result<CodeSignForm, Vec<CellError>> {
    let Some((sheet, labels)) = form_sheet(wb) else {
        return Err(vec![CellError {
            sheet: wb
                .sheets
                .first()
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            at: None,
            field: None,
            rule: format!(
                "no sheet carries the code-signing revocation form's labels (at least {MIN_LABELS}, {} among them)",
                layout::label(Field::Serial).text()
            ),
        }]);
    };
    let mut errors = Vec::new();
    let mut values = Vec::new();
    let err = |at, field, rule: String| CellError {
        sheet: sheet.name.clone(),
        at,
        field: Some(field),
        rule,
    };
    for l in &LABELS {
        let Some(&label_at) = labels.get(&l.field) else {
            if l.required {
                errors.push(err(
                    None,
                    l.field,
                    format!("the form has no label {}", l.text()),
                ));
            }
            continue;
        };
        let cell = value_cell(sheet, &labels, label_at);
        let text = match cell {
            None => String::new(),
            Some(c) => match text_of(l.field, &c.value) {
                Ok(t) => t,
                Err(rule) => {
                    errors.push(err(Some((c.row, c.col)), l.field, rule));
                    String::new()
                }
            },
        };
        values.push(FormValue {
            field: l.field,
            label_at,
            value_at: cell.map(|c| (c.row, c.col)),
            text,
        });
    }
    if errors.is_empty() {
        Ok(CodeSignForm {
            sheet: sheet.name.clone(),
            values,
        })
    } else {
        Err(errors)
    }
}

/// A cell's value as the field's text, or why the cell cannot be one.
fn text_of(field: Field, v: &Value) -> Result<String, String> {
    let id = field == Field::Serial;
    match v {
        Value::Text(s) => Ok(s.trim().to_string()),
        Value::Number { value, .. } if id => Err(format!(
            "is stored as a number ({value}): Excel keeps 15 significant digits and drops leading zeros, \
             so the serial may already be changed; format the cell as text (文字列) and type the serial again"
        )),
        // A reason code typed without the text format is still the code.
        Value::Number { value, .. } if value.fract() == 0.0 && value.abs() < 1e15 => {
            Ok(format!("{}", *value as i64))
        }
        Value::Number { value, .. } => Ok(value.to_string()),
        Value::Date { serial, .. } if field == Field::ApplicationDate => excel_date(*serial)
            .ok_or_else(|| format!("holds a date Excel cannot show ({serial})")),
        Value::Date { .. } => Err(
            "Excel turned the value into a date; format the cell as text (文字列) and type it again"
                .into(),
        ),
        Value::Formula { formula, .. } => Err(format!(
            "holds a formula (={formula}); formulas are never evaluated: type the value itself"
        )),
        Value::Bool(b) => Err(format!("holds the logical value {b}; type the value as text")),
        Value::Error(e) => Err(format!("holds the error value {e}")),
    }
}

/// An Excel date serial (1900 date system) as `YYYY-MM-DD`.
fn excel_date(serial: f64) -> Option<String> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    // Serial 1 is 1900-01-01; Excel counts a 29 February 1900 that never
    // was, so from serial 61 on the epoch is 1899-12-30.
    let epoch = time::macros::date!(1899 - 12 - 30);
    let days = serial.floor() as i64 + if serial < 61.0 { 1 } else { 0 };
    let d = epoch.checked_add(time::Duration::days(days))?;
    Some(d.to_string())
}

/// Every label on the sheet: the first cell naming each field.
fn find_labels(sheet: &Sheet) -> Labels {
    let mut found = HashMap::new();
    for c in &sheet.cells {
        if let Value::Text(t) = &c.value
            && let Some(f) = label_of(t)
        {
            found.entry(f).or_insert((c.row, c.col));
        }
    }
    found
}

/// The field a cell's text labels, if any.
pub fn label_of(text: &str) -> Option<Field> {
    let cands = candidates(text);
    LABELS.iter().find_map(|l| {
        let mut names = [l.ja, l.en].into_iter().chain(l.aliases.iter().copied());
        names
            .any(|n| {
                let n = norm(n);
                cands.contains(&n)
            })
            .then_some(l.field)
    })
}

/// The ways a label cell can be read: the whole text; a trailing
/// parenthesised part and what precedes it (`利用機関名 (Institution name)`);
/// the parts around `/` or a line break.
fn candidates(text: &str) -> Vec<String> {
    let wide = widen(text);
    let mut parts = vec![wide.clone()];
    parts.extend(wide.split(['/', '\n']).map(str::to_string));
    let mut out = Vec::new();
    for p in parts {
        let p = p.trim().to_string();
        if let Some((head, inner)) = split_trailing_paren(&p) {
            out.push(norm(head));
            out.push(norm(inner));
        }
        out.push(norm(&p));
    }
    out.retain(|c| !c.is_empty());
    out
}

/// `head (inner)` → (head, inner), the parenthesis matched from the end.
fn split_trailing_paren(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_end_matches([':', ' ']);
    if !s.ends_with(')') {
        return None;
    }
    let mut depth = 0;
    for (i, c) in s.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&s[..i], &s[i + 1..s.len() - 1]));
                }
            }
            _ => {}
        }
    }
    None
}

/// Full-width ASCII and the ideographic space made half-width (the part of
/// NFKC that matters for labels).
fn widen(s: &str) -> String {
    super::sheet::half_width(s)
}

/// A label as compared: half-width, no spaces, lower case, without marks
/// (`*`, `※`) around it or a colon after it.
fn norm(s: &str) -> String {
    let s: String = widen(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    s.trim_matches(|c| c == '*' || c == '※')
        .trim_end_matches(':')
        .trim_matches(|c| c == '*' || c == '※')
        .to_string()
}

/// The merged area a cell is the first of, as (last row, last col).
fn merged_end(sheet: &Sheet, at: (u32, u32)) -> (u32, u32) {
    sheet
        .merged
        .iter()
        .find(|m| (m.0, m.1) == at)
        .map_or(at, |m| (m.2, m.3))
}

/// Whether a cell is a note rather than a value (`※ …`).
fn is_note(c: &Cell) -> bool {
    matches!(&c.value, Value::Text(t) if widen(t).trim_start().starts_with('※'))
}

/// The value cell of the label at `at`: to the right (the next non-empty
/// cell of the row past the label's merged area, unless it is another
/// label); or, when the label sits in a row of labels (a header), below it
/// (the first non-empty cell of its columns in the rows beneath). Notes
/// (`※ …`) are skipped.
fn value_cell<'a>(sheet: &'a Sheet, labels: &Labels, at: (u32, u32)) -> Option<&'a Cell> {
    let is_label = |c: &Cell| labels.values().any(|&l| l == (c.row, c.col));
    let (last_row, last_col) = merged_end(sheet, at);
    let header = labels.values().filter(|l| l.0 == at.0).count() > 1;
    if !header {
        let right = sheet
            .cells
            .iter()
            .filter(|c| c.row == at.0 && c.col > last_col && !is_note(c))
            .min_by_key(|c| c.col)?;
        return (!is_label(right)).then_some(right);
    }
    let below = sheet
        .cells
        .iter()
        .filter(|c| c.row > last_row && (at.1..=last_col).contains(&c.col) && !is_note(c))
        .min_by_key(|c| (c.row, c.col))?;
    (!is_label(below)).then_some(below)
}
