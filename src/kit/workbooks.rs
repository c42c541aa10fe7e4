//! Workbooks the tests build: an ordinary one (rust_xlsxwriter) and hostile
//! .xlsx packages made part by part with the zip crate — each small, each one
//! that aborts or stalls a process handing it to calamine naively (see
//! `shared/notes/excel-untrusted.md`). Seeds for the workbook reader's tests
//! and fuzzing.

use std::io::{Cursor, Write};

use rust_xlsxwriter::{Format, Workbook as XlsxWriter, XlsxError};
use zip::write::SimpleFileOptions;

/// A zip of `(name, content)` parts, deflated.
pub fn package(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in parts {
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
        )
        .expect("a zip part");
        w.write_all(content).expect("a zip part");
    }
    w.finish().expect("a zip").into_inner()
}

const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

/// A one-sheet .xlsx whose `sheet1.xml` has `dimension` (e.g. `A1:B2`) and
/// `sheet_data` (the `<row>` elements), plus `extra` parts.
pub fn xlsx(dimension: &str, sheet_data: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{sheet_data}</sheetData></worksheet>"#
    );
    let mut parts: Vec<(&str, &[u8])> = vec![
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
    ];
    parts.extend_from_slice(extra);
    package(&parts)
}

/// A shared-string table announcing `unique_count` strings, holding `body`.
pub fn shared_strings(unique_count: &str, body: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="{unique_count}">{body}</sst>"#
    )
    .into_bytes()
}

/// Two numbers, at A1 and XFD1048576: a grid over them is 549 GB
/// (tafia/calamine#693).
pub fn far_cells() -> Vec<u8> {
    xlsx(
        "A1:XFD1048576",
        r#"<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row>"#,
        &[],
    )
}

/// A shared-string table announcing 10^12 strings: calamine reserves them
/// in `Xlsx::new` (tafia/calamine#684).
pub fn huge_unique_count() -> Vec<u8> {
    let sst = shared_strings("1000000000000", "<si><t>x</t></si>");
    xlsx(
        "A1",
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#,
        &[("xl/sharedStrings.xml", &sst)],
    )
}

/// A shared-string table of one string of `mb` MiB of spaces, deflated a
/// thousand times (a zip bomb).
pub fn zip_bomb(mb: usize) -> Vec<u8> {
    let sst = shared_strings("1", &format!("<si><t>{}</t></si>", " ".repeat(mb << 20)));
    xlsx(
        "A1",
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#,
        &[("xl/sharedStrings.xml", &sst)],
    )
}

/// A sheet declaring the whole grid as its extent, with one real cell.
pub fn huge_dimension() -> Vec<u8> {
    xlsx(
        "A1:XFD1048576",
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>only</t></is></c></row>"#,
        &[],
    )
}

/// A shared formula announcing index 4,000,000,000: a table sized by the
/// index is 160 GB.
pub fn huge_shared_formula_index() -> Vec<u8> {
    xlsx(
        "A1:A2",
        r#"<row r="1"><c r="A1"><f t="shared" si="4000000000" ref="A1:A2">1+1</f><v>2</v></c></row><row r="2"><c r="A2"><f t="shared" si="4000000000"/><v>2</v></c></row>"#,
        &[],
    )
}

/// An ordinary workbook with a VBA project part (an .xlsm).
pub fn with_macros() -> Vec<u8> {
    xlsx(
        "A1",
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>"#,
        &[(
            "xl/vbaProject.bin",
            b"\xD0\xCF\x11\xE0 not a real VBA project",
        )],
    )
}

/// An ordinary workbook as Excel users make them: texts, a PIN shown as
/// `0000`, a date, a formula with its cached result, a boolean, a merged
/// title, and a hidden second sheet.
pub fn ordinary() -> Result<Vec<u8>, XlsxError> {
    let mut wb = XlsxWriter::new();
    let s = wb.add_worksheet().set_name("申請")?;
    s.merge_range(0, 0, 0, 2, "サーバ証明書発行申請", &Format::new())?;
    s.write_string(1, 0, "www.example.ac.jp")?;
    s.write_number_with_format(1, 1, 12, &Format::new().set_num_format("0000"))?;
    s.write_number(1, 2, 3.5)?;
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 4, 1)?;
    s.write_datetime_with_format(2, 0, &date, &Format::new().set_num_format("yyyy-mm-dd"))?;
    s.write_formula(2, 1, rust_xlsxwriter::Formula::new("=1+1").set_result("2"))?;
    s.write_boolean(2, 2, true)?;
    let h = wb.add_worksheet().set_name("hidden")?;
    h.write_string(0, 0, "secret")?;
    h.set_hidden(true);
    wb.save_to_buffer()
}

/// A workbook as an officer keeps a TSV form in Excel: sheet `name`, an
/// optional header row, then one row per line of `tsv` from column A, every
/// field a text cell except in the 1-based `numeric` columns, where a field
/// that reads as a number is stored as one (what Excel makes of a typed
/// value in a column not formatted as text).
pub fn form_sheet(
    name: &str,
    header: Option<&[&str]>,
    tsv: &str,
    numeric: &[usize],
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = XlsxWriter::new();
    let s = wb.add_worksheet().set_name(name)?;
    let mut row = 0;
    if let Some(h) = header {
        for (c, v) in h.iter().enumerate() {
            s.write_string(0, c as u16, *v)?;
        }
        row = 1;
    }
    for line in tsv.lines().filter(|l| !l.trim().is_empty()) {
        for (c, v) in line.split('\t').enumerate() {
            if v.is_empty() {
                continue;
            }
            match v.parse::<f64>() {
                Ok(n) if numeric.contains(&(c + 1)) => s.write_number(row, c as u16, n)?,
                _ => s.write_string(row, c as u16, v)?,
            };
        }
        row += 1;
    }
    wb.save_to_buffer()
}
