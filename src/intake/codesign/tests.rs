use super::*;
use crate::intake::workbook::{Cell, Sheet, Value, Workbook};

fn t(row: u32, col: u32, s: &str) -> Cell {
    Cell {
        row,
        col,
        value: Value::Text(s.into()),
    }
}

fn book(cells: Vec<Cell>, merged: Vec<(u32, u32, u32, u32)>) -> Workbook {
    let mut cells = cells;
    cells.sort_by_key(|c| (c.row, c.col));
    Workbook {
        sheets: vec![Sheet {
            name: "Sheet1".into(),
            visible: true,
            cells,
            merged,
        }],
        has_macros: false,
    }
}

/// The standard layout: a label in column A, its value in column C, from
/// `first` on, in `order`.
fn standard(first: u32, labels: &[&str], values: &[&str]) -> Vec<Cell> {
    let mut v = vec![t(0, 0, layout::TITLE)];
    for (i, (l, val)) in labels.iter().zip(values).enumerate() {
        v.push(t(first + i as u32, 0, l));
        if !val.is_empty() {
            v.push(t(first + i as u32, 2, val));
        }
    }
    v
}

const LABELS_TEMPLATE: [&str; 10] = [
    "申請日 (Application date)",
    "利用機関名 (Institution name)",
    "住所 (Address)",
    "申請者（利用管理者）氏名 (Applicant (admin) name)",
    "申請者（利用管理者）所属 (Applicant (admin) department)",
    "利用管理者メールアドレス (Admin mail)",
    "シリアル番号 (Certificate serial)",
    "サブジェクト（CN/DN） (Subject CN/DN)",
    "失効理由 (Revocation reason)",
    "失効理由コメント (Reason comment)",
];

const VALUES: [&str; 10] = [
    "2026-04-01",
    "学校法人申請学園 Example University",
    "東京都千代田区一ツ橋2-1-2",
    "国立 太郎",
    "情報基盤センター",
    "taro@example.ac.jp",
    "0x0A1B2C3D",
    "Example University Code Signing",
    "1",
    "鍵の紛失",
];

/// (field, text, value cell) of every field read.
fn read_all(wb: &Workbook) -> Vec<(Field, String, Option<String>)> {
    let form = read(wb).unwrap_or_else(|e| panic!("{e:?}"));
    form.values
        .iter()
        .map(|v| {
            (
                v.field,
                v.text.clone(),
                v.value_at.map(|(r, c)| cell_name(r, c)),
            )
        })
        .collect()
}

fn expected(rows: &[u32], col: &str) -> Vec<(Field, String, Option<String>)> {
    LABELS
        .iter()
        .zip(VALUES)
        .zip(rows)
        .map(|((l, v), r)| (l.field, v.to_string(), Some(format!("{col}{}", r + 1))))
        .collect()
}

#[test]
fn the_template_layout_reads_every_field_from_the_cell_right_of_its_label() {
    let wb = book(standard(2, &LABELS_TEMPLATE, &VALUES), vec![]);
    assert!(is_codesign_form(&wb));
    assert_eq!(
        read_all(&wb),
        expected(&[2, 3, 4, 5, 6, 7, 8, 9, 10, 11], "C")
    );
}

#[test]
fn layout_variants_read_the_same_values() {
    // (case, cells, merged, rows of the values in LABELS order, value column)
    type Case = (
        &'static str,
        Vec<Cell>,
        Vec<(u32, u32, u32, u32)>,
        Vec<u32>,
        &'static str,
    );
    let mut cases: Vec<Case> = Vec::new();

    // Rows moved: the serial first, the date last, further down the sheet.
    let order = [9, 1, 2, 3, 4, 5, 0, 6, 7, 8];
    let labels: Vec<&str> = order.iter().map(|&i| LABELS_TEMPLATE[i]).collect();
    let values: Vec<&str> = order.iter().map(|&i| VALUES[i]).collect();
    let mut rows = vec![0; 10];
    for (pos, &i) in order.iter().enumerate() {
        rows[i] = 20 + pos as u32;
    }
    cases.push((
        "moved rows",
        standard(20, &labels, &values),
        vec![],
        rows,
        "C",
    ));

    // A note line inserted between two fields, and a note right of a value.
    let mut cells = standard(2, &LABELS_TEMPLATE, &VALUES);
    for c in &mut cells {
        if c.row >= 7 {
            c.row += 1;
        }
    }
    cells.push(t(7, 0, "※ 以下は証明書の情報です / the certificate"));
    cells.push(t(9, 4, "※ 文字列で / as text"));
    cases.push((
        "inserted note line",
        cells,
        vec![],
        vec![2, 3, 4, 5, 6, 8, 9, 10, 11, 12],
        "C",
    ));

    // Labels merged over A:B, values merged over D:G (value in D).
    let mut cells = vec![t(0, 0, layout::TITLE)];
    let mut merged = vec![(0, 0, 0, 6)];
    for (i, (l, v)) in LABELS_TEMPLATE.iter().zip(VALUES).enumerate() {
        let r = 3 + i as u32;
        cells.push(t(r, 0, l));
        cells.push(t(r, 3, v));
        merged.push((r, 0, r, 1));
        merged.push((r, 3, r, 6));
    }
    cases.push(("merged cells", cells, merged, (3..13).collect(), "D"));

    // Full-width, colon, marks, and Japanese or English alone.
    let variants = [
        "申請日：",
        "＊利用機関名",
        "Address:",
        "氏名",
        "所属",
        "Ｅ－ｍａｉｌ",
        "シリアル番号（Ｓｅｒｉａｌ　ｎｕｍｂｅｒ）：",
        "Subject DN",
        "失効理由 ※",
        "コメント",
    ];
    cases.push((
        "label variants",
        standard(2, &variants, &VALUES),
        vec![],
        (2..12).collect(),
        "C",
    ));

    // Two labels in one cell on two lines, Japanese / English.
    let slashed: Vec<String> = LABELS
        .iter()
        .map(|l| format!("{}\n{}", l.ja, l.en))
        .collect();
    let slashed: Vec<&str> = slashed.iter().map(String::as_str).collect();
    cases.push((
        "two-line labels",
        standard(2, &slashed, &VALUES),
        vec![],
        (2..12).collect(),
        "C",
    ));

    for (name, cells, merged, rows, col) in cases {
        let wb = book(cells, merged);
        assert!(is_codesign_form(&wb), "{name}");
        assert_eq!(read_all(&wb), expected(&rows, col), "{name}");
    }
}

#[test]
fn a_header_row_of_labels_takes_the_values_below() {
    let mut cells = vec![t(0, 0, layout::TITLE)];
    for (i, (l, v)) in LABELS_TEMPLATE.iter().zip(VALUES).enumerate() {
        cells.push(t(2, i as u32, l));
        cells.push(t(3, i as u32, v));
    }
    let wb = book(cells, vec![]);
    let got = read_all(&wb);
    let want: Vec<_> = LABELS
        .iter()
        .zip(VALUES)
        .enumerate()
        .map(|(i, (l, v))| (l.field, v.to_string(), Some(cell_name(3, i as u32))))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn an_empty_optional_value_is_empty_not_the_next_label_or_a_note() {
    let mut values = VALUES;
    values[5] = "";
    values[9] = "";
    let mut cells = standard(2, &LABELS_TEMPLATE, &values);
    cells.push(t(7, 3, "※ 任意 / optional"));
    let wb = book(cells, vec![]);
    let form = read(&wb).unwrap();
    assert_eq!(form.text(Field::AdminMail), "");
    assert_eq!(form.get(Field::AdminMail).unwrap().value_at, None);
    assert_eq!(form.text(Field::Comment), "");
    assert_eq!(form.text(Field::Serial), "0x0A1B2C3D");
}

#[test]
fn id_cells_must_be_text_and_formulas_are_refused_at_their_cell() {
    let serial_at = (8, 2);
    let with = |v: Value| {
        let mut cells = standard(2, &LABELS_TEMPLATE, &VALUES);
        for c in &mut cells {
            if (c.row, c.col) == serial_at {
                c.value = v.clone();
            }
        }
        book(cells, vec![])
    };
    for (value, cause) in [
        (
            Value::Number {
                value: 1.2345678901234567e19,
                format: None,
            },
            "is stored as a number",
        ),
        (
            Value::Date {
                serial: 45748.0,
                format: Some("yyyy/mm/dd".into()),
            },
            "Excel turned the value into a date",
        ),
        (
            Value::Formula {
                formula: "A1&B1".into(),
                cached: "0x0A".into(),
            },
            "holds a formula (=A1&B1)",
        ),
        (Value::Bool(true), "logical value"),
        (Value::Error("#N/A".into()), "error value #N/A"),
    ] {
        let errs = read(&with(value)).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        let msg = errs[0].to_string();
        assert!(msg.starts_with("Sheet1!C9 (certificate serial): "), "{msg}");
        assert!(msg.contains(cause), "{msg}");
    }
}

#[test]
fn a_reason_typed_as_a_number_and_a_date_cell_are_read_as_meant() {
    let mut cells = standard(2, &LABELS_TEMPLATE, &VALUES);
    for c in &mut cells {
        match (c.row, c.col) {
            (2, 2) => {
                c.value = Value::Date {
                    serial: 46113.0,
                    format: Some("yyyy/m/d".into()),
                }
            }
            (10, 2) => {
                c.value = Value::Number {
                    value: 4.0,
                    format: None,
                }
            }
            _ => {}
        }
    }
    let form = read(&book(cells, vec![])).unwrap();
    assert_eq!(form.text(Field::ApplicationDate), "2026-04-01");
    assert_eq!(form.text(Field::Reason), "4");
}

#[test]
fn other_sheets_are_not_this_form() {
    // A TSV-like sheet: a header row of a server form and data rows.
    let tsv = book(
        vec![
            t(0, 0, "サブジェクトDN / Subject DN"),
            t(0, 3, "シリアル番号 / Serial number"),
            t(0, 4, "失効理由 / Revocation reason"),
            t(
                1,
                0,
                "CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            ),
            t(1, 3, "0x0A"),
            t(1, 4, "1"),
        ],
        vec![],
    );
    assert!(!is_codesign_form(&tsv));
    assert!(!is_codesign_form(&Workbook::default()));
    // The form on a hidden sheet is not read.
    let mut hidden = book(standard(2, &LABELS_TEMPLATE, &VALUES), vec![]);
    hidden.sheets[0].visible = false;
    assert!(!is_codesign_form(&hidden));
    let e = read(&hidden).unwrap_err();
    assert!(e[0].to_string().contains("no sheet carries"), "{e:?}");
}

#[test]
fn a_missing_required_label_is_named() {
    let mut labels = LABELS_TEMPLATE;
    labels[2] = "Something else";
    let errs = read(&book(standard(2, &labels, &VALUES), vec![])).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0].to_string(),
        "Sheet1 (address): the form has no label 住所 (Address)"
    );
}

#[test]
fn labels_are_recognised_in_every_spelling() {
    for (text, field) in [
        ("利用機関名", Some(Field::Institution)),
        ("利用機関名：", Some(Field::Institution)),
        ("利用機関名 (Institution name)", Some(Field::Institution)),
        ("利用機関名 / Institution name", Some(Field::Institution)),
        ("ｲﾝｽﾃｨﾃｭｰｼｮﾝ", None),
        ("INSTITUTION NAME", Some(Field::Institution)),
        (
            "Ｉｎｓｔｉｔｕｔｉｏｎ　ｎａｍｅ：",
            Some(Field::Institution),
        ),
        (
            "サブジェクト（CN/DN） (Subject CN/DN)",
            Some(Field::Subject),
        ),
        ("失効理由", Some(Field::Reason)),
        ("失効理由コメント", Some(Field::Comment)),
        ("失効理由コード", Some(Field::Reason)),
        ("シリアル", None),
        ("0x0A1B", None),
        ("", None),
    ] {
        assert_eq!(label_of(text), field, "{text:?}");
    }
}

/// Regression: the header row `mailra forms template` writes for 5-3-3
/// (serial, reason, comment, admin mail…) carried enough of this form's
/// labels to be taken for it, so a server revocation sheet was read as a
/// code-signing form missing its institution and address.
#[test]
fn a_tsv_form_sheet_with_its_template_header_is_not_taken_for_this_form() {
    use crate::model::FormKind;
    for kind in FormKind::ALL
        .into_iter()
        .filter(|k| *k != FormKind::CodeSignRevoke)
    {
        let cols = crate::render::xlsx_forms::columns(kind);
        let mut cells: Vec<Cell> = cols
            .iter()
            .enumerate()
            .map(|(c, col)| t(0, c as u32, &col.label()))
            .collect();
        cells.push(t(1, 0, "CN=www.example.ac.jp,O=Example University,C=JP"));
        cells.push(t(1, 3, "0x0A"));
        assert!(!is_codesign_form(&book(cells, vec![])), "{kind:?}");
    }
}
