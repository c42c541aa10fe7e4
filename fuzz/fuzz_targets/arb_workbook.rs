//! An arbitrary normalised `Workbook` (what the sandboxed reader hands
//! back), built from the fuzz bytes through mirror types (the main crate does
//! not depend on `arbitrary`). Positions are mostly small, so cells land on
//! a form's columns and rows, with now and then any `u32`; texts are drawn
//! from field-like values as well as free strings. Shared by the targets
//! that take a workbook (`#[path]`-included).

use arbitrary::{Arbitrary, Unstructured};
use mailra::intake::workbook::{Cell, Sheet, Value, Workbook};

/// The workbook the fuzz bytes describe, if they describe one.
pub fn from_bytes(data: &[u8]) -> Option<Workbook> {
    FWorkbook::arbitrary_take_rest(Unstructured::new(data))
        .ok()
        .map(workbook)
}

#[derive(Debug, Arbitrary)]
struct FWorkbook {
    sheets: Vec<FSheet>,
    has_macros: bool,
}

#[derive(Debug, Arbitrary)]
struct FSheet {
    name: String,
    visible: bool,
    cells: Vec<FCell>,
    merged: Vec<(Pos, Pos, Pos, Pos)>,
}

#[derive(Debug, Arbitrary)]
struct FCell {
    row: Pos,
    col: Pos,
    value: FValue,
}

#[derive(Debug, Arbitrary)]
enum Pos {
    Small(u8),
    Any(u32),
}

impl Pos {
    fn get(&self) -> u32 {
        match *self {
            Pos::Small(n) => u32::from(n % 32),
            Pos::Any(n) => n,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Text {
    Free(String),
    Known(u8),
}

/// Values that pass or nearly pass the forms' field rules.
const KNOWN: &[&str] = &[
    "利用機関名",
    "住所",
    "シリアル番号",
    "失効理由",
    "Institution name",
    "Certificate serial",
    "※ note",
    "",
    "3",
    "11",
    "1",
    "2",
    "0",
    "0x0123456789ABCDEF0123",
    "01234567890123456789",
    "4",
    "5",
    "www.example.ac.jp",
    "CN=www.example.ac.jp,O=Example University,C=JP",
    "officer@example.ac.jp",
    "Example University",
    "keyCompromise",
    "superseded",
    "-----BEGIN CERTIFICATE REQUEST-----",
    "0012",
];

impl Text {
    fn get(self) -> String {
        match self {
            Text::Free(s) => s,
            Text::Known(i) => KNOWN[usize::from(i) % KNOWN.len()].to_string(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum FValue {
    Text(Text),
    Number { value: f64, format: Option<String> },
    Date { serial: f64, format: Option<String> },
    Bool(bool),
    Error(String),
    Formula { formula: String, cached: Text },
}

impl FValue {
    fn get(self) -> Value {
        match self {
            FValue::Text(t) => Value::Text(t.get()),
            FValue::Number { value, format } => Value::Number { value, format },
            FValue::Date { serial, format } => Value::Date { serial, format },
            FValue::Bool(b) => Value::Bool(b),
            FValue::Error(e) => Value::Error(e),
            FValue::Formula { formula, cached } => Value::Formula {
                formula,
                cached: cached.get(),
            },
        }
    }
}

fn workbook(f: FWorkbook) -> Workbook {
    Workbook {
        has_macros: f.has_macros,
        sheets: f
            .sheets
            .into_iter()
            .map(|s| Sheet {
                name: s.name,
                visible: s.visible,
                cells: s
                    .cells
                    .into_iter()
                    .map(|c| Cell {
                        row: c.row.get(),
                        col: c.col.get(),
                        value: c.value.get(),
                    })
                    .collect(),
                merged: s
                    .merged
                    .into_iter()
                    .map(|(a, b, c, d)| (a.get(), b.get(), c.get(), d.get()))
                    .collect(),
            })
            .collect(),
    }
}

