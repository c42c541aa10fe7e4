//! Excel workbooks in the column order of a TSV form, through the whole
//! pipeline (signed mail → sandboxed reader → the form's rules → CA →
//! replies): carried out exactly like the TSV, and an ID Excel damaged is
//! refused at its cell, with the annotated copy pointing at that cell.

mod support;

use std::process::Command;

use mail_parser::MimeHeaders;

use mailra::kit::{self, forms::revoke_line, mail::FileSpec, workbooks};
use mailra::model::FormKind;
use mailra::ra::Verdict;
use mailra::render::xlsx_forms;
use mailra::store;
use support::*;

fn header(kind: FormKind) -> Vec<String> {
    xlsx_forms::columns(kind)
        .iter()
        .map(|c| c.label())
        .collect()
}

fn workbook_mail(f: &Fixture, subject: &str, name: &str, data: Vec<u8>) -> Vec<u8> {
    let files = [FileSpec {
        name: name.into(),
        data,
    }];
    kit::mail::application_mail(&f.o1, O1, kit::ROBOT, subject, &files, false, now()).unwrap()
}

fn reply_texts(f: &Fixture) -> Vec<String> {
    f.replies().iter().map(|(_, raw)| text_of(raw)).collect()
}

#[test]
fn a_server_workbook_is_carried_out_like_its_tsv_and_a_numeric_serial_is_refused_at_its_cell() {
    let mut f = Fixture::new();
    let tsv = [
        issue_tsv("www.example.ac.jp"),
        issue_tsv("mail.example.ac.jp"),
    ]
    .join("\n");
    let h = header(FormKind::ServerIssue);
    let h: Vec<&str> = h.iter().map(String::as_str).collect();
    // The profile ID typed as a number, as Excel stores it.
    let xlsx = workbooks::form_sheet("申請", Some(&h), &tsv, &[2]).unwrap();
    let o = f.process(&workbook_mail(&f, "発行", "servers.xlsx", xlsx));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.issued.len(), 2, "{o:?}");
    let certs = store::certificates(&f.env.conn).unwrap();
    let mut cns: Vec<String> = certs.iter().map(|c| c.subject_dn.clone()).collect();
    cns.sort();
    assert!(cns[0].contains("CN=mail.example.ac.jp") && cns[1].contains("CN=www.example.ac.jp"));
    let text = reply_texts(&f).join("\n");
    assert!(
        text.contains("申請シート 2行目:") && text.contains("申請 row 3:"),
        "the rows are named by sheet and row: {text}"
    );
    let serial = certs
        .iter()
        .find(|c| c.subject_dn.contains("CN=www."))
        .unwrap()
        .serial
        .to_string();

    // A revocation whose serial was typed as a (decimal) number: Excel kept
    // 15 digits of it. Refused at D2, nothing revoked, the copy points there.
    let dec = u128::from_str_radix(serial.trim_start_matches("0x"), 16).unwrap();
    let line = revoke_line(&ex_dn("www.example.ac.jp"), &dec.to_string(), 4, "更新");
    let h = header(FormKind::ServerRevoke);
    let h: Vec<&str> = h.iter().map(String::as_str).collect();
    let xlsx = workbooks::form_sheet("失効", Some(&h), &line, &[4, 5]).unwrap();
    let o = f.process(&workbook_mail(&f, "失効", "revoke.xlsx", xlsx));
    assert!(o.revoked.is_empty(), "{o:?}");
    let text = reply_texts(&f).join("\n");
    assert!(
        text.contains("失効!D2 (serial): a serial stored as a number"),
        "the refusal names the cell: {text}"
    );
    assert!(text.contains("revoke-errors.xlsx"), "{text}");
    // The annotated copy keeps the sheet's name and marks D2 with the rule.
    let copy = f
        .replies()
        .iter()
        .find_map(|(_, raw)| {
            let m = mail_parser::MessageParser::default()
                .parse(raw.as_bytes())
                .unwrap();
            m.attachments()
                .find(|a| a.attachment_name() == Some("revoke-errors.xlsx"))
                .map(|a| a.contents().to_vec())
        })
        .expect("the annotated copy is attached");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(copy)).unwrap();
    let mut book = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/workbook.xml").unwrap(), &mut book).unwrap();
    assert!(book.contains("name=\"失効\""), "{book}");
    let mut notes = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/comments1.xml").unwrap(), &mut notes)
        .unwrap();
    assert!(
        notes.contains("ref=\"D2\"") && notes.contains("a serial stored as a number"),
        "{notes}"
    );

    // Typed as text (and the reason as a number): revoked, on the CRL.
    let xlsx = workbooks::form_sheet(
        "失効",
        Some(&h),
        &revoke_line(&ex_dn("www.example.ac.jp"), &serial, 4, "更新"),
        &[5],
    )
    .unwrap();
    let o = f.process(&workbook_mail(&f, "失効", "revoke.xlsx", xlsx));
    assert_eq!(o.revoked, vec![serial.clone()], "{o:?}");
}

#[test]
fn mailra_check_reads_a_good_workbook_and_names_the_cell_of_an_error() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.xlsx");
    std::fs::write(
        &good,
        workbooks::form_sheet("Sheet1", None, &issue_tsv("www.example.ac.jp"), &[2]).unwrap(),
    )
    .unwrap();
    let bad = d.path().join("bad.xlsx");
    let line = issue_tsv("www.example.ac.jp").replace("admin@example.ac.jp", "not-a-mail");
    std::fs::write(
        &bad,
        workbooks::form_sheet("Sheet1", None, &line, &[]).unwrap(),
    )
    .unwrap();
    let run = |p: &std::path::Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_mailra"))
            .args(["check", p.to_str().unwrap()])
            .env_remove("MAILRA_DIR")
            .output()
            .unwrap();
        let t = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code(), t)
    };
    let (code, text) = run(&good);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&bad);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("Sheet1!J1 (admin mail)"), "{text}");
}
