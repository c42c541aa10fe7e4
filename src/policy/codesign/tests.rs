use super::*;
use crate::intake::workbook::{Cell, Sheet, Value, Workbook};
use crate::model::{CertLookup, CertSummary, Dn, Institution, KeyHolder, RevocationReason, Serial};
use crate::policy::check::fake::{Failing, Method};

struct Certs(Vec<CertSummary>);
impl CertLookup for Certs {
    fn by_serial(&self, s: &Serial) -> Result<Option<CertSummary>, LookupError> {
        Ok(self.0.iter().find(|c| &c.serial == s).cloned())
    }
    fn key_holders(&self, _: &str) -> Result<Vec<KeyHolder>, LookupError> {
        Ok(Vec::new())
    }
}

fn inst() -> Institution {
    Institution {
        id: 7,
        name: "Example University".into(),
        st: "Tokyo".into(),
        l: "Chiyoda-ku".into(),
        domains: vec!["example.ac.jp".into()],
        organization_identifier: None,
        p12_encryption: None,
    }
}

fn cert(serial: u8, inst_id: i64, kind: CertKind, status: CertStatus) -> CertSummary {
    CertSummary {
        serial: Serial::from_bytes(&[serial]),
        dn: Dn(vec![
            ("CN".into(), "Example University Code Signing".into()),
            ("O".into(), "Example University".into()),
            ("C".into(), "JP".into()),
        ]),
        institution_id: inst_id,
        status,
        spki_sha256: String::new(),
        profile: None,
        kind,
    }
}

fn store() -> Certs {
    Certs(vec![
        cert(0x0A, 7, CertKind::CodeSigning, CertStatus::Valid),
        cert(0x0B, 8, CertKind::CodeSigning, CertStatus::Valid),
        cert(0x0C, 7, CertKind::Server, CertStatus::Valid),
        cert(0x0D, 7, CertKind::CodeSigning, CertStatus::Revoked),
    ])
}

/// The form in the template's layout (values in column C from row 3), with
/// `set` changing values by field.
fn form(set: &[(Field, &str)]) -> Workbook {
    let mut cells = Vec::new();
    for (i, l) in LABELS.iter().enumerate() {
        let r = 2 + i as u32;
        cells.push(Cell {
            row: r,
            col: 0,
            value: Value::Text(l.text()),
        });
        let v = set
            .iter()
            .find(|(f, _)| *f == l.field)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| crate::render::xlsx_forms::codesign::example(l.field));
        if !v.is_empty() {
            cells.push(Cell {
                row: r,
                col: 2,
                value: Value::Text(v.into()),
            });
        }
    }
    Workbook {
        sheets: vec![Sheet {
            name: "4-2".into(),
            visible: true,
            cells,
            merged: vec![],
        }],
        has_macros: false,
    }
}

fn check(wb: &Workbook) -> Checked {
    let i = inst();
    let certs = store();
    let ctx = Context {
        institution: Some(&i),
        certs: Some(&certs),
        ..Context::default()
    };
    check_codesign(wb, &ctx).unwrap()
}

#[test]
fn a_valid_form_is_one_code_signing_revocation() {
    let c = check(&form(&[(Field::Serial, "0x0A"), (Field::Reason, "1")]));
    assert_eq!(c.errors, vec![]);
    assert_eq!(c.kind, Some(FormKind::CodeSignRevoke));
    let [Request::CodeSigning(row)] = c.rows.as_slice() else {
        panic!("{c:?}");
    };
    assert_eq!(row.serial, Serial::from_bytes(&[0x0A]));
    assert_eq!(row.reason, RevocationReason::KeyCompromise);
    assert_eq!(
        row.admin_mail.as_deref(),
        Some("taro.kokuritsu@example.ac.jp")
    );
    assert_eq!(row.line, 9, "the serial's row");
    // Decimal serials, a DN instead of the CN, no admin mail: valid too.
    let c = check(&form(&[
        (Field::Serial, "10"),
        (Field::AdminMail, ""),
        (
            Field::Subject,
            "CN=Example University Code Signing,O=Example University,C=JP",
        ),
        (Field::Comment, ""),
    ]));
    assert_eq!(c.errors, vec![]);
    let [Request::CodeSigning(row)] = c.rows.as_slice() else {
        panic!("{c:?}");
    };
    assert_eq!(row.admin_mail, None);
}

#[test]
fn every_broken_rule_is_named_with_its_cell_and_label() {
    let long = "x".repeat(129);
    type Case<'a> = (Vec<(Field, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            vec![(Field::Serial, "0A")],
            vec![
                "'4-2'!C9 (certificate serial): must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `0A` (hexadecimal needs the 0x prefix)",
            ],
        ),
        (
            vec![(Field::Serial, "0x0A"), (Field::Reason, "2")],
            vec![
                "'4-2'!C11 (revocation reason): must be 0 (unspecified), 1 (keyCompromise), 3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation), not `2`",
            ],
        ),
        (
            vec![(Field::Serial, "0x0A"), (Field::AdminMail, "taro@@example")],
            vec!["'4-2'!C8 (admin mail): `taro@@example` is not a valid mail address"],
        ),
        (
            vec![
                (Field::Serial, "0x0A"),
                (Field::Institution, "Sample Institute"),
            ],
            vec![
                "'4-2'!C4 (institution name): must be your institution's registered name (Example University)",
            ],
        ),
        (
            vec![
                (Field::Serial, "0x0A"),
                (Field::Address, ""),
                (Field::Comment, long.as_str()),
            ],
            vec![
                "'4-2'!A5 (address): is required",
                "'4-2'!C12 (reason comment): is 129 characters, at most 128 allowed",
            ],
        ),
        (
            vec![(Field::Serial, "0x0E")],
            vec!["'4-2'!C9 (certificate serial): no certificate with serial 0x0E is registered"],
        ),
        (
            vec![(Field::Serial, "0x0B")],
            vec!["'4-2'!C9 (certificate serial): certificate 0x0B belongs to another institution"],
        ),
        (
            vec![(Field::Serial, "0x0C")],
            vec![
                "'4-2'!C9 (certificate serial): certificate 0x0C is a server certificate, not a code-signing one; revoke it with form 5-3-3",
            ],
        ),
        (
            vec![(Field::Serial, "0x0D")],
            vec!["'4-2'!C9 (certificate serial): certificate 0x0D is already revoked"],
        ),
        (
            vec![
                (Field::Serial, "0x0A"),
                (Field::Subject, "Other Code Signing"),
            ],
            vec!["'4-2'!C10 (subject cn/dn): must be the CN or the DN of certificate 0x0A"],
        ),
    ];
    for (set, want) in cases {
        let c = check(&form(&set));
        assert!(c.rows.is_empty(), "{set:?}");
        let got: Vec<String> = c.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(got.len(), want.len(), "{set:?}: {got:#?}");
        for (g, w) in got.iter().zip(&want) {
            // The label as the form prints it: case aside, the same words.
            assert!(
                g.to_lowercase().starts_with(&w.to_lowercase()),
                "{set:?}:\n got {g}\nwant {w}"
            );
        }
    }
}

#[test]
fn the_institution_may_be_written_after_its_legal_entity_name() {
    for (written, registered, ok) in [
        ("Example University", "Example University", true),
        (
            "ｅｘａｍｐｌｅ　ｕｎｉｖｅｒｓｉｔｙ",
            "Example University",
            true,
        ),
        (
            "学校法人申請学園 Example University",
            "Example University",
            true,
        ),
        ("学校法人申請学園　申請大学", "申請大学", true),
        ("学校法人申請学園申請大学", "申請大学", true),
        ("国立大学法人申請大学", "申請大学", true),
        ("申請大学病院", "申請大学", false),
        ("別申請大学", "申請大学", false),
        ("Sample Example University", "Example University", false),
        (
            "National University Corporation Example University",
            "Example University",
            true,
        ),
        ("Example", "Example University", false),
        ("", "Example University", false),
    ] {
        assert_eq!(
            same_institution(written, registered),
            ok,
            "{written} / {registered}"
        );
    }
}

#[test]
fn a_failed_look_up_is_never_a_form_error() {
    let i = inst();
    let certs = store();
    let failing = Failing {
        method: Method::BySerial,
        certs: &certs,
    };
    let ctx = Context {
        institution: Some(&i),
        certs: Some(&failing),
        ..Context::default()
    };
    assert!(check_codesign(&form(&[(Field::Serial, "0x0A")]), &ctx).is_err());
}

#[test]
fn a_workbook_without_the_form_is_one_error() {
    let c = check(&Workbook::default());
    assert!(c.rows.is_empty());
    assert_eq!(c.errors.len(), 1);
    assert!(c.errors[0].rule.contains("no sheet carries"), "{c:?}");
}
