//! A workbook's application sheet is checked exactly like the TSV file of
//! the same records: same kind, same rows, same errors — located at the
//! sheet's cells instead of lines and fields.

use std::path::Path;

use super::*;
use crate::intake::application::{Records, records, workbook_records};
use crate::intake::sheet::tests::build::{date, formula, from_records, n, nf, sheet1, t};
use crate::intake::workbook::{Value, Workbook};
use crate::model::{FormKind, Institution};

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn tsv(name: &str) -> Records {
    records(name, &sample(name)).unwrap()
}

fn example_university() -> Institution {
    Institution {
        id: 1,
        name: "Example University".into(),
        st: "Tokyo".into(),
        l: "Chiyoda-ku".into(),
        domains: vec!["example.ac.jp".into()],
        organization_identifier: Some("NTRJP-1234567890123".into()),
        p12_encryption: None,
    }
}

fn checked(records: &Records) -> Checked {
    let inst = example_university();
    let ctx = Context {
        institution: Some(&inst),
        ..Context::default()
    };
    check(records, &ctx).unwrap()
}

/// The codes Excel stores as numbers when the column is not formatted as
/// text: profile ID, download method, reason.
const CODES: &[usize] = &[2, 3, 5];

#[test]
fn good_samples_typed_into_a_sheet_are_the_same_rows() {
    let cases = [
        ("server-issue.tsv", FormKind::ServerIssue, 13),
        ("server-renew.tsv", FormKind::ServerRenew, 13),
        ("server-revoke.tsv", FormKind::ServerRevoke, 13),
        ("client-issue.tsv", FormKind::ClientIssue, 15),
        ("client-renew.tsv", FormKind::ClientRenew, 15),
        ("client-revoke.tsv", FormKind::ClientRevoke, 15),
    ];
    for (name, kind, fields) in cases {
        let tsv = tsv(name);
        let wb = from_records(&tsv, CODES);
        assert!(
            wb.sheets[0]
                .cells
                .iter()
                .any(|c| matches!(c.value, Value::Number { .. })),
            "{name}: the codes are numbers in the sheet"
        );
        let sheet = workbook_records("list.xlsx", &wb).unwrap();
        let rules = if fields == 13 {
            &server::CELL_RULES[..]
        } else {
            &client::CELL_RULES[..]
        };
        assert_eq!(
            sheet.fit(fields, 99, rules).unwrap().records,
            tsv.fit(fields, 99, rules).unwrap().records,
            "{name}: the same records"
        );
        let (want, got) = (checked(&tsv), checked(&sheet));
        assert_eq!(want.kind, Some(kind), "{name}");
        assert!(want.errors.is_empty(), "{name}: {:?}", want.errors);
        assert!(!want.rows.is_empty(), "{name}");
        assert_eq!(got.kind, want.kind, "{name}");
        assert_eq!(got.rows, want.rows, "{name}: the same rows");
        assert_eq!(got.errors, want.errors, "{name}");
    }
}

#[test]
fn broken_samples_typed_into_a_sheet_break_the_same_rules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/broken");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tsv"))
        .collect();
    names.sort();
    let mut compared = 0;
    for name in names {
        let Ok(tsv) = records(&name, &sample(&format!("broken/{name}"))) else {
            continue; // not a Shift_JIS file: nothing to type into a sheet
        };
        let want = checked(&tsv);
        // A field TSV could not decode reads as empty: its sheet differs.
        if want.errors.iter().any(|e| e.rule.contains("JIS")) {
            continue;
        }
        let wb = from_records(&tsv, &[]);
        let sheet = workbook_records("list.xlsx", &wb).unwrap();
        let got = checked(&sheet);
        assert!(!want.errors.is_empty(), "{name}");
        assert_eq!(got.kind, want.kind, "{name}");
        let shown: Vec<String> = got.errors.iter().map(|e| e.to_string()).collect();
        for (g, w) in got.errors.iter().zip(&want.errors) {
            assert_eq!(g.sheet.as_deref(), Some("Sheet1"), "{name}");
            assert_eq!(
                RowError {
                    sheet: None,
                    ..g.clone()
                },
                *w,
                "{name}: the same error"
            );
            let text = g.to_string();
            assert!(
                text.starts_with("Sheet1!")
                    || text.starts_with("Sheet1 row ")
                    || text.starts_with("file: "),
                "{name}: {text}"
            );
        }
        assert_eq!(got.errors.len(), want.errors.len(), "{name}: {shown:?}");
        compared += 1;
    }
    assert!(compared >= 8, "only {compared} broken samples compared");
}

/// The fields of a sample's first record as sheet cells (text), for
/// editing one cell.
fn first_row(name: &str) -> Vec<Option<Value>> {
    let r = tsv(name);
    let (_, fields) = r.as_read().next().unwrap();
    fields
        .iter()
        .map(|f| (!f.is_empty()).then(|| Value::Text(f.clone())))
        .collect()
}

fn with(name: &str, edits: &[(usize, Option<Value>)]) -> Workbook {
    let mut row = first_row(name);
    for (field, v) in edits {
        if row.len() < *field {
            row.resize(*field, None);
        }
        row[field - 1] = v.clone();
    }
    let header = vec![
        t("サブジェクトDN / Subject DN"),
        t("プロファイルID / Profile ID"),
    ];
    sheet1(vec![header, row])
}

fn errors_of(wb: &Workbook) -> Vec<String> {
    checked(&workbook_records("list.xlsx", wb).unwrap())
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn excel_damage_is_refused_at_the_cell() {
    const RETYPE: &str = "format the column as text and type it again";
    let cases: Vec<(&str, Workbook, Vec<String>)> = vec![
        (
            "a 20-digit serial stored as a number",
            with("server-revoke.tsv", &[(4, n(12345678901234567890.0))]),
            vec![format!(
                "Sheet1!D2 (serial): a serial stored as a number: Excel keeps only 15 significant digits and drops leading zeros; {RETYPE}"
            )],
        ),
        (
            "a client serial stored as a number",
            with("client-revoke.tsv", &[(4, n(1234567812345678123.0))]),
            vec![format!(
                "Sheet1!D2 (serial): a serial stored as a number: Excel keeps only 15 significant digits and drops leading zeros; {RETYPE}"
            )],
        ),
        (
            "a PIN shown with leading zeros",
            with("client-issue.tsv", &[(3, n(2.0)), (15, nf(12345.0, "000000"))]),
            vec![format!(
                "Sheet1!O2 (access PIN): a PIN stored as a number: leading zeros may have been dropped (shown with format 000000); {RETYPE}"
            )],
        ),
        (
            "a P12 file name stored as a number",
            with("client-issue.tsv", &[(12, n(1234.0))]),
            vec![format!(
                "Sheet1!L2 (P12 file name): a P12 file name stored as a number: Excel keeps only 15 significant digits and drops leading zeros; {RETYPE}"
            )],
        ),
        (
            "a date in a free-text field",
            with("server-issue.tsv", &[(8, date(46084.0))]),
            vec![format!(
                "Sheet1!H2 (admin name): Excel turned the value into a date (shown with format yyyy/m/d); {RETYPE}"
            )],
        ),
        (
            "a formula",
            with("server-issue.tsv", &[(11, formula("LOWER(A2)", "www.example.ac.jp"))]),
            vec!["Sheet1!K2 (admin FQDN): a formula (=LOWER(A2)); type the value itself — formulas are never evaluated".into()],
        ),
        (
            "a profile ID with a fraction",
            with("server-issue.tsv", &[(2, n(3.5))]),
            vec!["Sheet1!B2 (profile ID): the number 3.5 is not a whole number; a code is a whole number such as 3".into()],
        ),
        (
            "a revocation reason stored as a number is a code",
            with("server-revoke.tsv", &[(5, n(9.0))]),
            vec!["Sheet1!E2 (reason): must be 0 (unspecified), 1 (keyCompromise), 3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation), not `9`".into()],
        ),
        (
            "a form rule, at its cell",
            with("server-issue.tsv", &[(10, t("taro"))]),
            vec!["Sheet1!J2 (admin mail): `taro` is not a mail address (no @)".into()],
        ),
        (
            "too many cells in a row",
            with("server-issue.tsv", &[(14, t("x"))]),
            vec!["Sheet1 row 2: the row has 14 fields, 13 expected; fields 14 to 14 are not empty".into()],
        ),
        (
            "data past the last column of every form",
            with("server-issue.tsv", &[(16, t("x"))]),
            vec!["file: Sheet1!P2 has data: application rows have 13 fields (server forms 5-3-1, 5-3-2, 5-3-3) or 15 fields (client forms 5-4-1, 5-4-2, 5-4-3)".into()],
        ),
    ];
    for (name, wb, expected) in cases {
        assert_eq!(errors_of(&wb), expected, "{name}");
    }
}

#[test]
fn accepted_codes_read_as_their_text() {
    // Profile 3.0 and download method 2.0 are "3" and "2".
    for (name, edits) in [
        ("server-issue.tsv", vec![(2, n(3.0))]),
        ("client-issue.tsv", vec![(2, n(13.0)), (3, n(2.0))]),
    ] {
        let wb = with(name, &edits);
        assert_eq!(errors_of(&wb), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn a_header_row_tells_a_short_client_revocation_from_a_server_one() {
    // Fields 1 to 6 only: the rows alone read as a server revocation.
    let row = || {
        vec![
            t("CN=SHINSEI ICHIRO,OU=Faculty of Engineering,O=Example University,ST=Tokyo,C=JP"),
            None,
            None,
            t("0x0A1B2C3D4E5F"),
            n(3.0),
            t("所属変更"),
        ]
    };
    let mut header: Vec<Option<Value>> = vec![t("（空欄） / (leave empty)"); 15];
    header[0] = t("サブジェクトDN / Subject DN");
    header[3] = t("シリアル番号 / Serial number");
    let cases = [
        (sheet1(vec![row()]), FormKind::ServerRevoke),
        (sheet1(vec![header, row()]), FormKind::ClientRevoke),
    ];
    for (wb, kind) in cases {
        let c = checked(&workbook_records("list.xlsx", &wb).unwrap());
        assert_eq!(c.kind, Some(kind));
    }
}

#[test]
fn tsv_errors_still_read_by_line_and_field() {
    let r = tsv("server-issue.tsv");
    let (_, fields) = r.as_read().next().unwrap();
    let mut fields = fields.to_vec();
    fields[9] = "taro".into();
    let bytes = crate::kit::forms::sjis(&fields.join("\t"));
    let c = checked(&records("a.tsv", &bytes).unwrap());
    let shown: Vec<String> = c.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        shown,
        ["line 1: field 10 (admin mail): `taro` is not a mail address (no @)"]
    );
}
