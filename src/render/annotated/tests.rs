use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};

use super::*;
use crate::intake::application;
use crate::model::FormKind;
use crate::render::xlsx_forms::columns;

fn part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("not a text cell: {other:?}"),
    }
}

/// The value of cell `A1`-style `at` of a sheet, as text.
fn value(wb: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str, row: u32, col: u32) -> String {
    let range = wb.worksheet_range(sheet).unwrap();
    range.get_value((row, col)).map(text).unwrap_or_default()
}

/// The attributes of one element, found by its attribute `key="…"`.
fn element<'x>(xml: &'x str, tag: &str, key: &str) -> &'x str {
    let at = xml.find(key).unwrap_or_else(|| panic!("no {key} in {xml}"));
    let start = xml[..at].rfind(tag).unwrap();
    let end = at + xml[at..].find('>').unwrap();
    &xml[start..end]
}

fn attr<'x>(element: &'x str, name: &str) -> &'x str {
    let key = format!(" {name}=\"");
    let at = element
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {element}"))
        + key.len();
    &element[at..at + element[at..].find('"').unwrap()]
}

/// The n-th (0-based) `<tag …>` element inside `<list …>…</list>`.
fn nth<'x>(xml: &'x str, list: &str, tag: &str, n: usize) -> &'x str {
    let start = xml.find(&format!("<{list}")).unwrap();
    let end = start + xml[start..].find(&format!("</{list}>")).unwrap();
    let inner = &xml[start + xml[start..].find('>').unwrap() + 1..end];
    let open = format!("<{tag}");
    let mut parts = inner.split(&open);
    parts.next();
    let item = parts.nth(n).unwrap_or_else(|| panic!("no {tag} #{n}"));
    // Up to the end of this element (a fill's colour is a child element).
    item.split(&format!("</{tag}>")).next().unwrap()
}

/// The fill colour of cell `cell` of sheet 1, if it has one.
fn fill_of(bytes: &[u8], cell: &str) -> Option<String> {
    let sheet = part(bytes, "xl/worksheets/sheet1.xml");
    let styles = part(bytes, "xl/styles.xml");
    let c = element(&sheet, "<c ", &format!("r=\"{cell}\""));
    let s: usize = attr(c, "s").parse().unwrap();
    let xf = nth(&styles, "cellXfs", "xf", s);
    let fill: usize = attr(xf, "fillId").parse().unwrap();
    let fill = nth(&styles, "fills", "fill", fill);
    fill.find("fgColor rgb=\"")
        .map(|at| fill[at + 13..at + 21].to_string())
}

const SERIAL20: &str = "12345678901234567890";

fn tsv() -> Vec<u8> {
    let line = |v: &[&str]| {
        let mut f = vec![""; 13];
        f[..v.len()].copy_from_slice(v);
        f.join("\t")
    };
    let lines = [
        line(&["CN=www.example.ac.jp,O=Example,C=JP", "3"]),
        line(&[
            "CN=a.example.ac.jp,O=Example,C=JP",
            "0012",
            "",
            SERIAL20,
            "",
            "",
            "xyz",
            "国立　太郎",
        ]),
        // The third line is short: a row-level error.
        ["CN=b.example.ac.jp", "3"].join("\t"),
    ];
    crate::kit::forms::sjis(&lines.join("\r\n"))
}

// `..Default::default()`: another field may be added to RowError.
#[allow(clippy::needless_update)]
fn err(line: usize, field: Option<usize>, rule: &str) -> RowError {
    RowError {
        line,
        field,
        field_name: if field.is_some() { "CSR" } else { "" },
        rule: rule.into(),
        ..Default::default()
    }
}

fn errors() -> Vec<RowError> {
    vec![
        err(3, None, "the row has 2 fields, 13 expected"),
        err(2, Some(7), "not a PEM certificate request"),
        err(0, None, "more than 1000 records"),
        err(2, Some(7), "the key is too small"),
        err(2, Some(14), "an extra field"),
    ]
}

fn annotated_tsv() -> Vec<u8> {
    let records = application::records("server-issue.tsv", &tsv()).unwrap();
    let cols = columns(FormKind::ServerIssue);
    workbook(
        "server-issue.tsv",
        records.as_read(),
        Some(&cols),
        &errors(),
    )
    .unwrap()
}

#[test]
fn values_come_back_as_the_same_text_at_their_line() {
    let bytes = annotated_tsv();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), ["server-issue", ERRORS_SHEET]);
    let range = wb.worksheet_range("server-issue").unwrap();
    assert!(
        range
            .used_cells()
            .all(|(_, _, d)| matches!(d, Data::String(_))),
        "every value is a text cell"
    );
    // Row N is line N: the TSV's first line is a record, so no header.
    let cases = [
        ((0, 0), "CN=www.example.ac.jp,O=Example,C=JP"),
        ((0, 1), "3"),
        ((1, 1), "0012"),
        ((1, 3), SERIAL20),
        ((1, 6), "xyz"),
        ((1, 7), "国立　太郎"),
        ((2, 0), "CN=b.example.ac.jp"),
        ((2, 1), "3"),
    ];
    for ((r, c), expected) in cases {
        assert_eq!(
            value(&mut wb, "server-issue", r, c),
            expected,
            "{}",
            cell_ref(r, c as u16)
        );
    }
}

#[test]
fn faulty_cells_carry_a_fill_and_a_note_with_every_rule() {
    let bytes = annotated_tsv();
    let comments = part(&bytes, "xl/comments1.xml");
    let note = |cell: &str| {
        let at = comments
            .find(&format!("<comment ref=\"{cell}\""))
            .unwrap_or_else(|| panic!("no note on {cell}: {comments}"));
        let rest = &comments[at..];
        rest[..rest.find("</comment>").unwrap()].to_string()
    };
    let g2 = note("G2");
    assert!(g2.contains("not a PEM certificate request"), "{g2}");
    assert!(
        g2.contains("the key is too small"),
        "one note, every rule: {g2}"
    );
    assert!(g2.contains("CSR / CSR (PEM body on one line)"), "{g2}");
    assert!(note("A3").contains("the row has 2 fields, 13 expected"));
    assert!(note("N2").contains("an extra field"));
    assert_eq!(comments.matches("<comment ref=").count(), 3, "{comments}");
    assert!(
        !comments.contains("more than 1000 records"),
        "a whole-file error goes to the error list only"
    );

    let bad = Some("FFFFC7CE".to_string());
    for cell in ["G2", "A3", "N2"] {
        assert_eq!(fill_of(&bytes, cell), bad, "{cell} is highlighted");
    }
    for cell in ["A1", "B2", "D2", "B3"] {
        assert_ne!(fill_of(&bytes, cell), bad, "{cell} is not highlighted");
    }
    let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(
        sheet.contains("numberStoredAsText=\"1\""),
        "no green triangles on IDs: {sheet}"
    );
}

#[test]
fn the_error_sheet_lists_every_error_with_a_link_to_its_cell() {
    let bytes = annotated_tsv();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
    let list = wb.worksheet_range(ERRORS_SHEET).unwrap();
    let rows: Vec<Vec<String>> = list.rows().map(|r| r.iter().map(text).collect()).collect();
    let expected = [
        ["場所 / Location", "項目 / Field", "エラー / Rule"].map(String::from),
        [
            "ファイル全体 / whole file",
            "ファイル全体 / whole file",
            "more than 1000 records",
        ]
        .map(String::from),
        [
            "server-issue!G2",
            "G (7): CSR / CSR (PEM body on one line)",
            "not a PEM certificate request",
        ]
        .map(String::from),
        [
            "server-issue!G2",
            "G (7): CSR / CSR (PEM body on one line)",
            "the key is too small",
        ]
        .map(String::from),
        ["server-issue!N2", "N (14): CSR", "an extra field"].map(String::from),
        [
            "server-issue!A3",
            "行全体 / whole row",
            "the row has 2 fields, 13 expected",
        ]
        .map(String::from),
    ];
    assert_eq!(rows, expected);

    let xml = part(&bytes, "xl/worksheets/sheet2.xml");
    for (at, target) in [
        ("A3", "'server-issue'!G2"),
        ("A4", "'server-issue'!G2"),
        ("A5", "'server-issue'!N2"),
        ("A6", "'server-issue'!A3"),
    ] {
        let link = element(&xml, "<hyperlink ", &format!("ref=\"{at}\""));
        assert_eq!(attr(link, "location"), target, "{link}");
    }
    assert_eq!(xml.matches("<hyperlink ").count(), 4, "{xml}");
    assert!(xml.contains("state=\"frozen\""), "{xml}");
}

#[test]
fn a_header_is_written_only_when_row_1_is_free() {
    // A workbook whose header row (row 1) was skipped by the reader: its
    // records start at row 2, and the header goes back into row 1.
    let cols = columns(FormKind::ServerIssue);
    let line2: Vec<String> = ["CN=x", "3"].map(String::from).to_vec();
    let rows = [(2, line2.as_slice())];
    let bytes = workbook("list.xlsx", rows, Some(&cols), &[err(2, Some(2), "r")]).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(wb.sheet_names()[0], "list");
    assert_eq!(value(&mut wb, "list", 0, 0), "サブジェクトDN / Subject DN");
    assert_eq!(value(&mut wb, "list", 1, 0), "CN=x");
    assert_eq!(value(&mut wb, "list", 1, 1), "3");
    assert!(part(&bytes, "xl/comments1.xml").contains("<comment ref=\"B2\""));
    assert!(part(&bytes, "xl/worksheets/sheet1.xml").contains("state=\"frozen\""));

    // Form unknown: no header, the field named by the rule's own name.
    let bytes = workbook("list.xlsx", rows, None, &[err(2, Some(2), "r")]).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(value(&mut wb, "list", 0, 0), "");
    assert_eq!(value(&mut wb, ERRORS_SHEET, 1, 1), "B (2): CSR");
}

#[test]
fn sheet_and_attachment_names() {
    let cases = [
        (
            "server-issue.tsv",
            "server-issue",
            "server-issue-errors.xlsx",
        ),
        (
            "サーバ証明書発行申請.TXT",
            "サーバ証明書発行申請",
            "サーバ証明書発行申請-errors.xlsx",
        ),
        ("a[1]:b*c?.tsv", "a_1__b_c_", "a[1]:b*c?-errors.xlsx"),
        ("'quoted'.tsv", "quoted", "'quoted'-errors.xlsx"),
        (
            "a-very-long-file-name-of-forty-characters.tsv",
            "a-very-long-file-name-of-forty-",
            "a-very-long-file-name-of-forty-characters-errors.xlsx",
        ),
        ("History.tsv", "History_", "History-errors.xlsx"),
        (".tsv", ".tsv", ".tsv-errors.xlsx"),
        ("", "Sheet1", "application-errors.xlsx"),
        ("dir/list.xlsx", "list", "list-errors.xlsx"),
    ];
    for (file, sheet, attachment) in cases {
        assert_eq!(sheet_name(file), sheet, "{file}");
        rust_xlsxwriter::utility::check_sheet_name(&sheet_name(file)).unwrap();
        assert_eq!(attachment_name(file), attachment, "{file}");
    }
}

#[test]
fn what_excel_cannot_hold_is_cut_or_listed_without_a_link() {
    let long = "x".repeat(40_000);
    let line1 = vec![long.clone()];
    let rows = [(1, line1.as_slice()), (2_000_000, line1.as_slice())];
    let errs = [
        err(2_000_000, Some(1), "past the last row"),
        err(1, Some(20_000), "past the last column"),
        err(1, Some(1), &long),
    ];
    let bytes = workbook("big.tsv", rows, None, &errs).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(value(&mut wb, "big", 0, 0).len(), 32_767);
    let list = wb.worksheet_range(ERRORS_SHEET).unwrap();
    let first: Vec<String> = list.rows().map(|r| text(&r[0])).collect();
    assert_eq!(
        first,
        [
            "場所 / Location",
            "big!A1",
            "1行目 / line 1",
            "2000000行目 / line 2000000"
        ]
    );
}

/// The second consumer: LibreOffice opens the workbook and keeps the values,
/// the notes, both sheets and the links (converted to .ods to look inside).
/// Run with `--ignored` where `soffice` is installed.
#[test]
#[ignore = "needs LibreOffice (soffice)"]
fn libreoffice_opens_it_with_notes_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("server-issue-errors.xlsx");
    std::fs::write(&xlsx, annotated_tsv()).unwrap();
    let status = std::process::Command::new("soffice")
        .arg("--headless")
        .arg(format!(
            "-env:UserInstallation=file://{}/lo",
            dir.path().display()
        ))
        .args(["--convert-to", "ods", "--outdir"])
        .arg(dir.path())
        .arg(&xlsx)
        .status()
        .expect("soffice runs");
    assert!(status.success());
    let ods = std::fs::read(dir.path().join("server-issue-errors.ods")).unwrap();
    let content = part(&ods, "content.xml");
    assert_eq!(content.matches("<office:annotation").count(), 3);
    assert!(content.contains("table:name=\"server-issue\""));
    assert!(content.contains(&format!("table:name=\"{ERRORS_SHEET}\"")));
    assert!(content.contains("xlink:href=\"#&apos;server-issue&apos;.G2\""));
    assert!(content.contains(">0012<") && content.contains(SERIAL20));
}
