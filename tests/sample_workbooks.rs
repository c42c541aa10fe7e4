//! The sample workbooks: `samples/NAME.xlsx` is `samples/NAME.tsv` filled
//! into the form's workbook (`mailra forms template` with the rows typed in
//! as text), as an officer who keeps the list in Excel sends it. Read through
//! the sandboxed reader (the mailra binary as the child), each must give
//! exactly the rows its TSV gives. The ignored test
//! `generate_sample_workbooks` rewrites them from the TSV samples:
//! `cargo test --test sample_workbooks -- --ignored`. `codesign-revoke.xlsx`
//! is the code-signing revocation form filled with the template's example.

use std::fs;
use std::path::{Path, PathBuf};

use mailra::intake::application;
use mailra::intake::codesign::Field;
use mailra::model::FormKind;
use mailra::policy::codesign::check_codesign;
use mailra::policy::forms::{Context, check, check_file};
use mailra::ra::workbook::{self, WorkbookReader};
use mailra::render::xlsx_forms::{self, codesign, codesign::example};

const FORMS: [(&str, FormKind); 6] = [
    ("server-issue", FormKind::ServerIssue),
    ("server-renew", FormKind::ServerRenew),
    ("server-revoke", FormKind::ServerRevoke),
    ("client-issue", FormKind::ClientIssue),
    ("client-renew", FormKind::ClientRenew),
    ("client-revoke", FormKind::ClientRevoke),
];

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

#[test]
fn each_sample_workbook_gives_the_rows_of_its_tsv() {
    let reader = WorkbookReader::new(env!("CARGO_BIN_EXE_mailra").into());
    let ctx = Context::default();
    for (name, kind) in FORMS {
        // The workbook's header takes row 1: its records are in rows 2…, as
        // the TSV's would be after an empty first line.
        let mut tsv = b"\r\n".to_vec();
        tsv.extend(fs::read(samples().join(format!("{name}.tsv"))).unwrap());
        let from_tsv = check_file(&format!("{name}.tsv"), &tsv, &ctx).unwrap();
        assert_eq!(from_tsv.errors, vec![], "{name}.tsv");
        let file = format!("{name}.xlsx");
        let bytes = fs::read(samples().join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let records = workbook::records(&reader, &file, &bytes)
            .unwrap()
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(records.sheet_name(), Some(kind.code()), "{file}");
        let from_sheet = check(&records, &ctx).unwrap();
        assert_eq!(from_sheet.errors, vec![], "{file}");
        assert_eq!(from_sheet.kind, Some(kind), "{file}");
        assert!(!from_sheet.rows.is_empty(), "{file}");
        assert_eq!(
            from_sheet.rows, from_tsv.rows,
            "{file}: the same rows as the TSV"
        );
    }
}

#[test]
fn the_code_signing_sample_is_read_by_its_labels_and_checks_clean_offline() {
    let reader = WorkbookReader::new(env!("CARGO_BIN_EXE_mailra").into());
    let bytes = fs::read(samples().join("codesign-revoke.xlsx")).unwrap();
    let wb = match workbook::contents(&reader, "codesign-revoke.xlsx", &bytes).unwrap() {
        Ok(workbook::Contents::CodeSigning(wb)) => wb,
        other => panic!("not read as the code-signing form: {other:?}"),
    };
    let form = mailra::intake::codesign::read(&wb).unwrap();
    assert_eq!(form.text(Field::Serial), example(Field::Serial));
    assert_eq!(form.text(Field::Reason), "5");
    let c = check_codesign(&wb, &Context::default()).unwrap();
    assert_eq!(c.errors, vec![]);
    assert_eq!(c.kind, Some(FormKind::CodeSignRevoke));
    assert_eq!(c.rows.len(), 1);
}

#[test]
#[ignore = "rewrites the committed sample workbooks"]
fn generate_sample_workbooks() {
    for (name, kind) in FORMS {
        let tsv = fs::read(samples().join(format!("{name}.tsv"))).unwrap();
        let records = application::records(&format!("{name}.tsv"), &tsv).unwrap();
        let rows: Vec<Vec<String>> = records.as_read().map(|(_, f)| f.to_vec()).collect();
        let xlsx = xlsx_forms::filled(kind, &rows).unwrap();
        fs::write(samples().join(format!("{name}.xlsx")), xlsx).unwrap();
    }
    let xlsx = codesign::filled(&|f| example(f).to_string()).unwrap();
    fs::write(samples().join("codesign-revoke.xlsx"), xlsx).unwrap();
}
