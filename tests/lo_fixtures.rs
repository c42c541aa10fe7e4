//! The LibreOffice-made workbook fixtures (tests/data/lo/, written by
//! `scripts/make-lo-fixtures` from the TSV samples) hold what they claim to:
//! read back in-process with calamine, the text-imported .xlsx and .xls carry
//! every field of their TSV as a text cell at its row and column and nothing
//! else, and the default-import variants carry the numbers LibreOffice made
//! of the ID fields. This proves the fixtures, not mailra's reader.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader, open_workbook_auto};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const FORMS: [&str; 6] = [
    "server-issue",
    "server-renew",
    "server-revoke",
    "client-issue",
    "client-renew",
    "client-revoke",
];

/// The sample's fields per line, decoded from Shift_JIS.
fn tsv_fields(form: &str) -> Vec<Vec<String>> {
    let bytes = std::fs::read(root().join("samples").join(format!("{form}.tsv"))).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad, "{form}.tsv is Shift_JIS");
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The first sheet's non-empty cells as ((row, col), value), 0-based absolute.
fn cells(path: &Path) -> Vec<((u32, u32), Data)> {
    let mut wb = open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let names = wb.sheet_names();
    assert_eq!(names.len(), 1, "{}: one sheet", path.display());
    let range = wb.worksheet_range(&names[0]).unwrap();
    let (r0, c0) = range.start().unwrap_or((0, 0));
    range
        .used_cells()
        .filter(|(_, _, v)| !matches!(v, Data::Empty))
        .map(|(r, c, v)| ((r0 + r as u32, c0 + c as u32), v.clone()))
        .collect()
}

/// The TSV's non-empty fields as ((row, col), text).
fn expected_cells(form: &str) -> Vec<((u32, u32), String)> {
    let mut out = Vec::new();
    for (r, fields) in tsv_fields(form).iter().enumerate() {
        for (c, f) in fields.iter().enumerate() {
            if !f.is_empty() {
                out.push(((r as u32, c as u32), f.clone()));
            }
        }
    }
    out
}

#[test]
fn text_imported_fixtures_hold_every_tsv_field_as_text() {
    for form in FORMS {
        let expected = expected_cells(form);
        assert!(expected.len() > 5, "{form}: the sample has fields");
        for ext in ["xlsx", "xls"] {
            let path = root().join("tests/data/lo").join(format!("{form}.{ext}"));
            let got: Vec<((u32, u32), String)> = cells(&path)
                .into_iter()
                .map(|(pos, v)| match v {
                    Data::String(s) => (pos, s),
                    other => panic!("{form}.{ext} {pos:?}: not a text cell: {other:?}"),
                })
                .collect();
            assert_eq!(got, expected, "{form}.{ext}");
        }
    }
}

#[test]
fn default_import_fixtures_hold_ids_as_numbers() {
    // (form, (row, col), the TSV's text, the number LibreOffice stored)
    let cases: [(&str, (u32, u32), &str, f64); 4] = [
        // A 19-digit decimal serial: a float that lost its last digits.
        (
            "server-revoke",
            (0, 3),
            "1234567812345678123",
            1.23456781234568e18,
        ),
        ("server-revoke", (0, 4), "4", 4.0),
        // The profile ID of a renewal row.
        ("server-renew", (0, 1), "3", 3.0),
        ("server-revoke", (1, 4), "5", 5.0),
    ];
    for (form, pos, text, number) in cases {
        let path = root()
            .join("tests/data/lo")
            .join(format!("{form}.default-import.xlsx"));
        let got = cells(&path);
        let expected = expected_cells(form);
        assert!(
            expected.contains(&(pos, text.to_string())),
            "{form} {pos:?} is {text} in the TSV"
        );
        let value = got.iter().find(|(p, _)| *p == pos).map(|(_, v)| v);
        match value {
            Some(Data::Float(f)) => assert_eq!(*f, number, "{form} {pos:?}"),
            Some(Data::Int(i)) => assert_eq!(*i as f64, number, "{form} {pos:?}"),
            other => panic!("{form} {pos:?}: expected the number {number}, got {other:?}"),
        }
        // Every other field is still there, as text.
        assert_eq!(got.len(), expected.len(), "{form}: one cell per field");
        for ((p, v), (q, t)) in got.iter().zip(&expected) {
            assert_eq!(p, q, "{form}");
            if let Data::String(s) = v {
                assert_eq!(s, t, "{form} {p:?}");
            }
        }
    }
}

/// Through mailra's own reader (the sandboxed child) and the form checks:
/// each text-imported fixture, .xlsx and .xls, gives exactly the rows of its
/// TSV; the default-import server revocation, whose 19-digit serial
/// LibreOffice stored as a number, is refused at that cell (a file with an
/// error is not carried out at all).
#[test]
fn mailra_reads_the_libreoffice_workbooks_like_their_tsv_and_refuses_a_numeric_serial() {
    use mailra::policy::forms::{Context, check, check_file};
    use mailra::ra::workbook::{self, WorkbookReader};
    let reader = WorkbookReader::new(env!("CARGO_BIN_EXE_mailra").into());
    let ctx = Context::default();
    let lo = root().join("tests/data/lo");
    for form in FORMS {
        let tsv = std::fs::read(root().join("samples").join(format!("{form}.tsv"))).unwrap();
        let want = check_file(&format!("{form}.tsv"), &tsv, &ctx).unwrap();
        for ext in ["xlsx", "xls"] {
            let name = format!("{form}.{ext}");
            let bytes = std::fs::read(lo.join(&name)).unwrap();
            let records = workbook::records(&reader, &name, &bytes)
                .unwrap()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got = check(&records, &ctx).unwrap();
            assert_eq!(got.errors, vec![], "{name}");
            assert_eq!(got.kind, want.kind, "{name}");
            assert_eq!(got.rows, want.rows, "{name}: the TSV's rows");
        }
    }
    let name = "server-revoke.default-import.xlsx";
    let bytes = std::fs::read(lo.join(name)).unwrap();
    let records = workbook::records(&reader, name, &bytes).unwrap().unwrap();
    let got = check(&records, &ctx).unwrap();
    let errors: Vec<String> = got.errors.iter().map(ToString::to_string).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("!D1 (serial): a serial stored as a number")),
        "{errors:#?}"
    );
}
