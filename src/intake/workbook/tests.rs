//! The in-process reader on workbooks the tests build: an ordinary one read
//! in full, and hostile .xlsx packages refused (or read harmlessly) in
//! bounded time — each of them aborts a process that reads it naively.

use std::time::{Duration, Instant};

use super::*;
use crate::kit::workbooks as kit;

fn cell(row: u32, col: u32, value: Value) -> Cell {
    Cell { row, col, value }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn an_ordinary_workbook_read_in_full() {
    let wb = read(&kit::ordinary().unwrap(), &Budget::default()).unwrap();
    assert!(!wb.has_macros);
    assert_eq!(wb.sheets.len(), 2);
    let s = &wb.sheets[0];
    assert_eq!((s.name.as_str(), s.visible), ("申請", true));
    assert_eq!(s.merged, vec![(0, 0, 0, 2)]);
    let number = |value, format: Option<&str>| Value::Number {
        value,
        format: format.map(String::from),
    };
    assert_eq!(
        s.cells,
        vec![
            cell(0, 0, text("サーバ証明書発行申請")),
            cell(1, 0, text("www.example.ac.jp")),
            // The PIN 0012 the officer saw is the number 12 shown as 0000.
            cell(1, 1, number(12.0, Some("0000"))),
            cell(1, 2, number(3.5, None)),
            cell(
                2,
                0,
                Value::Date {
                    serial: 46113.0,
                    format: Some("yyyy-mm-dd".into())
                }
            ),
            cell(
                2,
                1,
                Value::Formula {
                    formula: "1+1".into(),
                    cached: "2".into()
                }
            ),
            cell(2, 2, Value::Bool(true)),
        ]
    );
    let h = &wb.sheets[1];
    assert_eq!((h.name.as_str(), h.visible), ("hidden", false));
    assert_eq!(h.cells, vec![cell(0, 0, text("secret"))]);
}

/// What a hostile file must come to: a refusal of this kind whose reason
/// says this, or a harmless read.
enum Expect {
    Refused(fn(&WorkbookError) -> bool, &'static str),
    Read(fn(&Workbook) -> bool),
}

#[test]
fn hostile_workbooks_refused_in_bounded_time() {
    use Expect::*;
    let mut truncated = kit::ordinary().unwrap();
    truncated.truncate(truncated.len() / 2);
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "cells at A1 and XFD1048576 (a 549 GB grid)",
            kit::far_cells(),
            Refused(
                |e| matches!(e, WorkbookError::Exceeds(_)),
                "sheet \"Sheet1\" has a value at XFD1048576, outside the first 5000 rows and 64 columns read",
            ),
        ),
        (
            "sharedStrings uniqueCount 10^12",
            kit::huge_unique_count(),
            Refused(
                |e| matches!(e, WorkbookError::Unsafe(_)),
                "announces 1000000000000 strings",
            ),
        ),
        (
            "a 30 MB string table deflated to kilobytes",
            kit::zip_bomb(30),
            Refused(
                |e| matches!(e, WorkbookError::Unsafe(_)),
                "(a compression bomb)",
            ),
        ),
        (
            "a 100 MB string table",
            kit::zip_bomb(100),
            Refused(
                |e| matches!(e, WorkbookError::Exceeds(_)),
                "its part xl/sharedStrings.xml declares 100 MB uncompressed",
            ),
        ),
        ("macros", kit::with_macros(), Read(|wb| wb.has_macros)),
        (
            // Streamed: the declared extent sizes nothing.
            "a declared dimension of the whole grid",
            kit::huge_dimension(),
            Read(|wb| wb.sheets[0].cells == vec![cell(0, 0, text("only"))]),
        ),
        (
            "a shared formula index of 4e9",
            kit::huge_shared_formula_index(),
            Read(|wb| {
                let f = Value::Formula {
                    formula: "1+1".into(),
                    cached: "2".into(),
                };
                wb.sheets[0].cells == vec![cell(0, 0, f.clone()), cell(1, 0, f)]
            }),
        ),
        (
            "random bytes named .xlsx",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            Refused(
                |e| *e == WorkbookError::NotAWorkbook,
                "not an Excel workbook",
            ),
        ),
        (
            "a zip signature and garbage",
            b"PK\x03\x04 and nothing of a zip".to_vec(),
            Refused(
                |e| matches!(e, WorkbookError::Malformed(_)),
                "not a readable zip package",
            ),
        ),
        (
            "half a workbook",
            truncated,
            Refused(|e| matches!(e, WorkbookError::Malformed(_)), "damaged"),
        ),
        (
            "a 17 MB file",
            vec![b'P'; 17 << 20],
            Refused(
                |e| *e == WorkbookError::TooLarge { limit_mb: 16 },
                "larger than 16 MB",
            ),
        ),
    ];
    for (what, bytes, expected) in cases {
        let started = Instant::now();
        let got = read(&bytes, &Budget::default());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: took {:?}",
            started.elapsed()
        );
        match (expected, got) {
            (Refused(kind, reason), Err(e)) => {
                assert!(kind(&e), "{what}: {e:?}");
                assert!(e.to_string().contains(reason), "{what}: {e}");
            }
            (Read(ok), Ok(wb)) => assert!(ok(&wb), "{what}: {wb:?}"),
            (_, got) => panic!("{what}: {got:?}"),
        }
    }
}

#[test]
fn budget_counts_cells_across_sheets() {
    let rows: String = (1..=3)
        .map(|r| {
            format!(r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>{r}</v></c></row>"#)
        })
        .collect();
    let bytes = kit::xlsx("A1:B3", &rows, &[]);
    let budget = |max_cells| Budget {
        max_cells,
        ..Budget::default()
    };
    assert_eq!(read(&bytes, &budget(6)).unwrap().sheets[0].cells.len(), 6);
    assert_eq!(
        read(&bytes, &budget(5)),
        Err(WorkbookError::Exceeds("more than 5 non-empty cells".into()))
    );
}
