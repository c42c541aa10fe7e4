//! The annotated reply on the whole pipeline (real signed mails, a real
//! SQLite file): an officer whose file has errors gets it back as an .xlsx
//! with every error at its cell; an officer whose file is fine gets none.

mod support;

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};
use mailra::kit::forms::issue_line;
use mailra::kit::{self, mail::FileSpec};
use mailra::model::RowOutcomeKind;
use mailra::ra::Verdict;
use mailra::store;
use support::*;

/// Every attachment of a reply but its S/MIME signature: (name, bytes).
fn attachments(raw: &str) -> Vec<(String, Vec<u8>)> {
    use mail_parser::MimeHeaders;
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    m.attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .filter(|(name, _)| name != "smime.p7s")
        .collect()
}

/// The officer's result among the replies (the one with the verdict given).
fn officer_reply(f: &Fixture, verdict: &str) -> String {
    let replies: Vec<String> = f
        .replies()
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.contains(&format!("X-Mailra-Verdict: {verdict}")) && t.contains(O1))
        .collect();
    assert_eq!(replies.len(), 1, "one officer reply: {verdict}");
    replies[0].clone()
}

fn cell(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("not a text cell: {other:?}"),
    }
}

fn zip_part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut xml).unwrap();
    xml
}

/// `(line, field)` of a stored error "line 2: field 7 (CSR): …".
fn place(detail: &str) -> (usize, Option<usize>) {
    let rest = detail.strip_prefix("line ").expect(detail);
    let (line, rest) = rest.split_once(':').unwrap();
    let field = rest
        .trim_start()
        .strip_prefix("field ")
        .map(|r| r.split(' ').next().unwrap().parse().unwrap());
    (line.parse().unwrap(), field)
}

#[test]
fn a_file_with_errors_comes_back_annotated_at_the_right_cells() {
    let mut f = Fixture::new();
    let good = issue_tsv_key("www.example.ac.jp", &rsa(), 3);
    let bad_dn = ex_dn("bad_host.example.ac.jp");
    let bad = issue_line(&bad_dn, 7, "notacsr", "国立　太郎", "not-an-address", "");
    let o = f.process(&f.mail(&f.o1, O1, "発行", &[good.clone(), bad].join("\r\n")));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");

    let reply = officer_reply(&f, "invalid");
    let files = attachments(&reply);
    assert_eq!(
        files.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["application-errors.xlsx"]
    );
    let body = text_of(&reply);
    assert!(
        body.contains("添付ファイル application-errors.xlsx")
            && body.contains("The attached application-errors.xlsx"),
        "{body}"
    );
    let bytes = files[0].1.clone();

    // The values as sent, at their lines, as text.
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(wb.sheet_names(), ["application", "エラー一覧 (Errors)"]);
    let sheet = wb.worksheet_range("application").unwrap();
    let at = |r: u32, c: u32| sheet.get_value((r, c)).map(cell).unwrap_or_default();
    assert_eq!(at(0, 0), good.split('\t').next().unwrap());
    assert_eq!(at(1, 0), bad_dn.to_string());
    assert_eq!(at(1, 1), "7");
    assert_eq!(at(1, 6), "notacsr");
    assert_eq!(at(1, 7), "国立　太郎");

    // Every error the officer is told of is in the list, with a link to its
    // cell, and each cell with a field error carries a note.
    let stored: Vec<String> = store::rows_with_outcome(
        &f.env.conn,
        RowOutcomeKind::Error,
        &store::ApplicationFilter::default(),
    )
    .unwrap()
    .into_iter()
    .map(|r| r.detail)
    .collect();
    assert!(stored.len() >= 4, "{stored:?}");
    let list = wb.worksheet_range("エラー一覧 (Errors)").unwrap();
    let listed: Vec<Vec<String>> = list
        .rows()
        .skip(1)
        .map(|r| r.iter().map(cell).collect())
        .collect();
    assert_eq!(listed.len(), stored.len(), "{listed:?}");
    let links = zip_part(&bytes, "xl/worksheets/sheet2.xml");
    let notes = zip_part(&bytes, "xl/comments1.xml");
    for detail in &stored {
        let (line, field) = place(detail);
        assert_eq!(line, 2, "{detail}");
        let col = (b'A' + field.unwrap_or(1) as u8 - 1) as char;
        let cell = format!("{col}{line}");
        assert!(
            listed
                .iter()
                .any(|r| r[0] == format!("application!{cell}") && detail.ends_with(&r[2])),
            "{detail} not listed at {cell}: {listed:?}"
        );
        assert!(
            links.contains(&format!("location=\"'application'!{cell}\"")),
            "{cell}: {links}"
        );
        assert!(
            notes.contains(&format!("<comment ref=\"{cell}\"")),
            "{cell}: {notes}"
        );
    }
    for cell in ["B2", "G2", "J2"] {
        assert!(
            notes.contains(&format!("<comment ref=\"{cell}\"")),
            "{cell}: {notes}"
        );
    }
    assert!(
        !notes.contains("ref=\"A1\"") && !notes.contains("ref=\"G1\""),
        "the good line has no note"
    );
}

#[test]
fn a_file_without_errors_or_unreadable_gets_no_annotated_copy() {
    let mut f = Fixture::new();
    let raw = f.mail(
        &f.o1,
        O1,
        "発行",
        &issue_tsv_key("www.example.ac.jp", &rsa(), 3),
    );
    assert_eq!(f.process(&raw).verdict, Verdict::Accepted);
    let reply = officer_reply(&f, "accepted");
    assert!(
        attachments(&reply).is_empty(),
        "no attachment on a clean result"
    );
    assert!(!text_of(&reply).contains("-errors.xlsx"));

    // A file refused as a whole (UTF-8 with a byte-order mark): no cell to mark.
    let mut f = Fixture::new();
    let mut data = b"\xEF\xBB\xBF".to_vec();
    data.extend(issue_tsv_key("www.example.ac.jp", &rsa(), 3).as_bytes());
    let files = [FileSpec {
        name: "utf8.tsv".into(),
        data,
    }];
    let raw =
        kit::mail::application_mail(&f.o1, O1, kit::ROBOT, "発行", &files, false, now()).unwrap();
    assert_eq!(f.process(&raw).verdict, Verdict::Invalid);
    let reply = officer_reply(&f, "invalid");
    assert!(text_of(&reply).contains("UTF-8"), "the refusal is told");
    assert!(
        attachments(&reply).is_empty(),
        "no annotated copy of an unreadable file"
    );
}
