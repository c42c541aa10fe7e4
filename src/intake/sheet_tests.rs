use super::*;
use crate::intake::application::{Records, workbook_records};
use crate::intake::workbook::Cell;

/// Test builders of normalised workbooks (also used by `policy`'s tests).
pub(crate) mod build {
    use crate::intake::workbook::{Cell, Sheet, Value, Workbook};

    pub(crate) fn t(s: &str) -> Option<Value> {
        Some(Value::Text(s.into()))
    }
    pub(crate) fn n(value: f64) -> Option<Value> {
        Some(Value::Number {
            value,
            format: None,
        })
    }
    pub(crate) fn nf(value: f64, format: &str) -> Option<Value> {
        Some(Value::Number {
            value,
            format: Some(format.into()),
        })
    }
    pub(crate) fn date(serial: f64) -> Option<Value> {
        Some(Value::Date {
            serial,
            format: Some("yyyy/m/d".into()),
        })
    }
    pub(crate) fn formula(f: &str, cached: &str) -> Option<Value> {
        Some(Value::Formula {
            formula: f.into(),
            cached: cached.into(),
        })
    }

    /// A visible sheet whose rows start at sheet row `first` (1-based),
    /// each from column A; `None` is a cell the file does not have.
    pub(crate) fn sheet(name: &str, first: u32, rows: Vec<Vec<Option<Value>>>) -> Sheet {
        let mut cells = Vec::new();
        for (r, row) in rows.into_iter().enumerate() {
            for (c, v) in row.into_iter().enumerate() {
                if let Some(value) = v {
                    cells.push(Cell {
                        row: first - 1 + r as u32,
                        col: c as u32,
                        value,
                    });
                }
            }
        }
        Sheet {
            name: name.into(),
            visible: true,
            cells,
            merged: Vec::new(),
        }
    }

    pub(crate) fn book(sheets: Vec<Sheet>) -> Workbook {
        Workbook {
            sheets,
            has_macros: false,
        }
    }

    /// `Sheet1` holding `rows` from A1.
    pub(crate) fn sheet1(rows: Vec<Vec<Option<Value>>>) -> Workbook {
        book(vec![sheet("Sheet1", 1, rows)])
    }

    /// The workbook an officer gets by typing a TSV file's records into
    /// Sheet1 from A1 (one record per row, at its line): every field a text
    /// cell, except the fields in `numbers` Excel stores as numbers.
    pub(crate) fn from_records(
        records: &crate::intake::application::Records,
        numbers: &[usize],
    ) -> Workbook {
        let mut cells = Vec::new();
        for (line, fields) in records.as_read() {
            for (i, f) in fields.iter().enumerate() {
                if f.is_empty() {
                    continue;
                }
                let value = match f.parse::<f64>() {
                    Ok(v) if numbers.contains(&(i + 1)) => Value::Number {
                        value: v,
                        format: None,
                    },
                    _ => Value::Text(f.clone()),
                };
                cells.push(Cell {
                    row: line as u32 - 1,
                    col: i as u32,
                    value,
                });
            }
        }
        book(vec![Sheet {
            name: "Sheet1".into(),
            visible: true,
            cells,
            merged: Vec::new(),
        }])
    }
}

use build::*;

/// Rows as read (row, fields), or the whole-file error.
type Read = Result<Vec<(usize, Vec<String>)>, String>;

fn read_rows(wb: &Workbook) -> Read {
    let records: Records = workbook_records("a.xlsx", wb).map_err(|e| e.to_string())?;
    Ok(records.as_read().map(|(l, f)| (l, f.to_vec())).collect())
}

fn rows(expected: &[(usize, &[&str])]) -> Read {
    Ok(expected
        .iter()
        .map(|(l, f)| (*l, f.iter().map(|s| s.to_string()).collect()))
        .collect())
}

const DN: &str = "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";

#[test]
fn header_row_detected_or_not() {
    let cases: Vec<(&str, Workbook, Read)> = vec![
        (
            "template labels",
            sheet1(vec![
                vec![
                    t("サブジェクトDN / Subject DN"),
                    t("プロファイルID / Profile ID"),
                ],
                vec![t(DN), n(3.0)],
            ]),
            rows(&[(2, &[DN, "3"])]),
        ),
        (
            "one half of a label, full-width and in another case",
            sheet1(vec![
                vec![t("ＳＵＢＪＥＣＴ　ＤＮ"), t("備考")],
                vec![t(DN), t("3")],
            ]),
            rows(&[(2, &[DN, "3"])]),
        ),
        (
            "the English field names of the replies",
            sheet1(vec![vec![t(" subject DN "), t("serial")], vec![t(DN)]]),
            rows(&[(2, &[DN])]),
        ),
        (
            "no header: the first row is a record",
            sheet1(vec![vec![t(DN), t("3")], vec![t(DN), t("11")]]),
            rows(&[(1, &[DN, "3"]), (2, &[DN, "11"])]),
        ),
        (
            "unknown words are data",
            sheet1(vec![vec![t("名前"), t("番号")], vec![t(DN)]]),
            rows(&[(1, &["名前", "番号"]), (2, &[DN])]),
        ),
        (
            "a number in the first row: data",
            sheet1(vec![vec![t("Subject DN"), n(3.0)], vec![t(DN)]]),
            rows(&[(1, &["Subject DN", "3"]), (2, &[DN])]),
        ),
        (
            "a DN in column A: data, even next to header words",
            sheet1(vec![vec![t(DN), t("serial")]]),
            rows(&[(1, &[DN, "serial"])]),
        ),
        (
            "only the first non-empty row may be a header",
            sheet1(vec![vec![t(DN)], vec![t("Subject DN")]]),
            rows(&[(1, &[DN]), (2, &["Subject DN"])]),
        ),
        (
            "a header and nothing else",
            sheet1(vec![vec![t("Subject DN"), t("Profile ID")]]),
            Err("the sheet Sheet1 contains no application rows".into()),
        ),
    ];
    for (name, wb, expected) in cases {
        assert_eq!(read_rows(&wb), expected, "{name}");
    }
}

#[test]
fn which_sheet_and_where() {
    let hidden = |cells: Vec<Vec<Option<Value>>>| {
        let mut s = sheet("Old list", 1, cells);
        s.visible = false;
        s
    };
    let mut merged = sheet1(vec![
        vec![t(DN), n(3.0), None, t("0x0A")],
        // What some writers leave in the covered cells of a merged area.
        vec![t(DN), n(11.0), t("stale"), t("0x0B")],
    ]);
    // B2:C2
    merged.sheets[0].merged = vec![(1, 1, 1, 2)];
    let cases: Vec<(&str, Workbook, Read)> = vec![
        (
            "starts at row 5, with empty rows among the rows",
            book(vec![sheet(
                "申請",
                5,
                vec![vec![t(DN), n(3.0)], vec![], vec![None, t("  ")], vec![t(DN)]],
            )]),
            rows(&[(5, &[DN, "3"]), (8, &[DN])]),
        ),
        (
            "the first visible sheet; later sheets are not read",
            book(vec![
                {
                    let mut s = sheet("Hidden empty", 1, vec![vec![t("  ")]]);
                    s.visible = false;
                    s
                },
                sheet("Sheet1", 1, vec![vec![t(DN)]]),
                sheet("Example (記入例)", 1, vec![vec![t("CN=example")]]),
            ]),
            rows(&[(1, &[DN])]),
        ),
        (
            "merged cells: the top-left value only",
            merged,
            rows(&[(1, &[DN, "3", "", "0x0A"]), (2, &[DN, "11", "", "0x0B"])]),
        ),
        (
            "data in a hidden sheet",
            book(vec![sheet("Sheet1", 1, vec![vec![t(DN)]]), hidden(vec![vec![t("x")]])]),
            Err("the hidden sheet 'Old list' holds data, and data in hidden sheets is never read; delete that sheet (or its data) and send the file again".into()),
        ),
        (
            "no sheet",
            book(vec![]),
            Err("the workbook has no sheet".into()),
        ),
        (
            "no visible sheet",
            book(vec![hidden(vec![])]),
            Err("the workbook has no visible sheet; the application rows must be on the first visible sheet".into()),
        ),
        (
            "an empty sheet",
            sheet1(vec![vec![], vec![t(" ")]]),
            Err("the sheet Sheet1 contains no application rows".into()),
        ),
        (
            "data far to the right",
            book(vec![Sheet {
                cells: vec![
                    Cell { row: 0, col: 0, value: Value::Text(DN.into()) },
                    Cell { row: 6, col: 16_383, value: Value::Text("x".into()) },
                ],
                ..sheet("Sheet1", 1, vec![])
            }]),
            Err("Sheet1!XFD7 holds data: application rows have at most 64 columns (13 for server forms, 15 for client forms)".into()),
        ),
    ];
    for (name, wb, expected) in cases {
        assert_eq!(read_rows(&wb), expected, "{name}");
    }
}

#[test]
fn empty_rows_among_the_rows_are_warned() {
    let wb = book(vec![sheet(
        "Sheet1",
        2,
        vec![
            vec![t("Subject DN")],
            vec![],
            vec![t(DN)],
            vec![t(DN)],
            vec![],
            vec![],
            vec![],
            vec![t(DN)],
        ],
    )]);
    let records = workbook_records("a.xlsx", &wb).unwrap();
    let table = records.fit(2, 99, &[]).unwrap();
    let lines: Vec<usize> = table.records.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 5, 9]);
    let warnings: Vec<String> = table.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        [
            "Sheet1 row 3: empty row skipped",
            "Sheet1 row 6: empty rows 6 to 8 skipped"
        ]
    );
}

#[test]
fn cell_values_by_field_rule() {
    let serial = CellRule::Id("serial");
    let pin = CellRule::Id("PIN");
    let cases: Vec<(Option<Value>, CellRule, Result<&str, &str>)> = vec![
        // Text: as stored, by the TSV character rules.
        (t(" 0012 "), pin, Ok(" 0012 ")),
        (
            t("12345678901234567890"),
            serial,
            Ok("12345678901234567890"),
        ),
        (t("国立　太郎"), CellRule::Free, Ok("国立　太郎")),
        (
            t("①"),
            CellRule::Free,
            Err(
                "character ① (0x8740) is a Windows-31J extension outside JIS X 0208; replace it with a JIS X 0208 character",
            ),
        ),
        (
            t("a\nb"),
            CellRule::Free,
            Err("control character 0x0A is not allowed"),
        ),
        // Codes: whole numbers only.
        (n(3.0), CellRule::Code, Ok("3")),
        (n(-0.0), CellRule::Code, Ok("0")),
        (
            n(3.5),
            CellRule::Code,
            Err("the number 3.5 is not a whole number; a code is a whole number such as 3"),
        ),
        (
            n(1e15),
            CellRule::Code,
            Err(
                "a number of more than 15 digits: Excel keeps only 15 significant digits, so it may already have changed; format the column as text and type it again",
            ),
        ),
        // Identifiers: text only.
        (
            n(12345678901234567000.0),
            serial,
            Err(
                "a serial stored as a number: Excel keeps only 15 significant digits and drops leading zeros; format the column as text and type it again",
            ),
        ),
        (
            n(3.0),
            serial,
            Err(
                "a serial stored as a number: Excel keeps only 15 significant digits and drops leading zeros; format the column as text and type it again",
            ),
        ),
        (
            nf(12.0, "000000"),
            pin,
            Err(
                "a PIN stored as a number: leading zeros may have been dropped (shown with format 000000); format the column as text and type it again",
            ),
        ),
        // Free text: the number as stored.
        (n(2024.0), CellRule::Free, Ok("2024")),
        (n(2.4), CellRule::Free, Ok("2.4")),
        (n(0.1), CellRule::Free, Ok("0.1")),
        (
            n(0.1 + 0.2),
            CellRule::Free,
            Err(
                "a number of more than 15 digits: Excel keeps only 15 significant digits, so it may already have changed; format the column as text and type it again",
            ),
        ),
        (
            n(f64::NAN),
            CellRule::Free,
            Err("not a number Excel can hold; format the column as text and type it again"),
        ),
        // Never taken, in any field.
        (
            date(46084.0),
            CellRule::Free,
            Err(
                "Excel turned the value into a date (shown with format yyyy/m/d); format the column as text and type it again",
            ),
        ),
        (
            formula("1+1", "2"),
            CellRule::Code,
            Err("a formula (=1+1); type the value itself — formulas are never evaluated"),
        ),
        (
            Some(Value::Bool(true)),
            CellRule::Free,
            Err("a TRUE/FALSE value (TRUE); type the value itself as text"),
        ),
        (
            Some(Value::Error("#N/A".into())),
            serial,
            Err("the cell shows the error #N/A; type the value itself"),
        ),
    ];
    for (v, rule, expected) in cases {
        let v = v.unwrap();
        assert_eq!(
            field_text(&v, rule),
            expected.map(str::to_string).map_err(str::to_string),
            "{v:?} as {rule:?}"
        );
    }
}

#[test]
fn fitted_like_tsv_errors_at_the_cell() {
    let rules = [CellRule::Free, CellRule::Code, CellRule::Id("serial")];
    type Fitted<'a> = Result<Vec<(usize, Vec<&'a str>)>, Vec<&'a str>>;
    let cases: Vec<(Workbook, usize, Fitted)> = vec![
        (
            // Missing trailing cells are empty fields, without a warning.
            sheet1(vec![vec![t("a"), n(3.0)], vec![t("b"), t("x"), t("0012")]]),
            99,
            Ok(vec![(1, vec!["a", "3", ""]), (2, vec!["b", "x", "0012"])]),
        ),
        (
            sheet1(vec![
                vec![t("a"), n(3.5), n(12.0)],
                vec![t("b"), t("1"), t("2"), None, t("extra")],
            ]),
            99,
            Err(vec![
                "Sheet1!B1 (cell): the number 3.5 is not a whole number; a code is a whole number such as 3",
                "Sheet1!C1 (cell): a serial stored as a number: Excel keeps only 15 significant digits and drops leading zeros; format the column as text and type it again",
                "Sheet1 row 2: the row has 5 fields, 3 expected; fields 4 to 5 are not empty",
            ]),
        ),
        (
            sheet1(vec![vec![t("a")], vec![t("b")], vec![t("c")]]),
            2,
            Err(vec![
                "file: the file has 3 records; at most 2 are allowed per file",
            ]),
        ),
    ];
    for (wb, max, expected) in cases {
        let records = workbook_records("a.xlsx", &wb).unwrap();
        assert_eq!(records.sheet_name(), Some("Sheet1"));
        let got = match records.fit(3, max, &rules) {
            Ok(table) => {
                assert!(table.warnings.is_empty(), "{:?}", table.warnings);
                Ok(table
                    .records
                    .iter()
                    .map(|r| (r.line, r.fields.clone()))
                    .collect::<Vec<_>>())
            }
            Err(es) => Err(es.iter().map(|e| e.to_string()).collect::<Vec<_>>()),
        };
        let expected = expected
            .map(|rs| {
                rs.into_iter()
                    .map(|(l, f)| (l, f.into_iter().map(str::to_string).collect::<Vec<_>>()))
                    .collect::<Vec<_>>()
            })
            .map_err(|es| es.into_iter().map(str::to_string).collect::<Vec<_>>());
        assert_eq!(got, expected);
    }
}
