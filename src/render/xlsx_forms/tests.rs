use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};

use super::*;

fn sheet_xml(bytes: &[u8], n: usize) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{n}.xml"))
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

fn cell(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("not a text cell: {other:?}"),
    }
}

/// A coded column: (index, header, the drop-down list as written in the sheet).
type Coded = (usize, &'static str, &'static str);

/// (kind, field count, its coded columns).
const KINDS: [(FormKind, usize, &[Coded]); 6] = [
    (
        FormKind::ServerIssue,
        13,
        &[(1, "プロファイルID / Profile ID", "\"3,11\"")],
    ),
    (
        FormKind::ServerRenew,
        13,
        &[(1, "プロファイルID / Profile ID", "\"3,11\"")],
    ),
    (
        FormKind::ServerRevoke,
        13,
        &[(4, "失効理由 / Revocation reason", "\"0,1,3,4,5\"")],
    ),
    (
        FormKind::ClientIssue,
        15,
        &[
            (1, "プロファイルID / Profile ID", "\"5,7,13,14,15,16\""),
            (2, "ダウンロード方法 / Download method", "\"1,2\""),
        ],
    ),
    (
        FormKind::ClientRenew,
        15,
        &[
            (1, "プロファイルID / Profile ID", "\"5,7,13,14,15,16\""),
            (2, "ダウンロード方法 / Download method", "\"1,2\""),
        ],
    ),
    (
        FormKind::ClientRevoke,
        15,
        &[(4, "失効理由 / Revocation reason", "\"0,1,3,4,5\"")],
    ),
];

#[test]
fn every_template_reads_back_with_its_headers_and_a_full_example_row() {
    for (kind, fields, coded) in KINDS {
        let bytes = template(kind).unwrap();
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), [kind.code(), EXAMPLE_SHEET], "{kind:?}");

        let form = wb.worksheet_range(kind.code()).unwrap();
        assert_eq!(form.get_size(), (1, fields), "{kind:?}: header only");
        let header: Vec<String> = form.rows().next().unwrap().iter().map(cell).collect();
        assert_eq!(header[0], "サブジェクトDN / Subject DN", "{kind:?}");
        for (c, label, _) in coded {
            assert_eq!(header[*c], *label, "{kind:?}");
        }
        assert!(
            header.iter().all(|h| h.contains(" / ")),
            "{kind:?}: every header in Japanese and English: {header:?}"
        );

        let ex = wb.worksheet_range(EXAMPLE_SHEET).unwrap();
        let rows: Vec<Vec<String>> = ex.rows().map(|r| r.iter().map(cell).collect()).collect();
        assert_eq!(
            rows[0], header,
            "{kind:?}: the example sheet has the same header"
        );
        assert_eq!(rows[1].len(), fields, "{kind:?}");
        assert_eq!(
            rows[1],
            example(kind),
            "{kind:?}: the example row as written"
        );
        assert!(rows[1][0].starts_with("CN="), "{kind:?}");
        // Every coded value of the example is one the drop-down offers, and
        // every column the form wants empty is empty.
        for ((value, column), name) in rows[1].iter().zip(columns(kind)).zip(&header) {
            let list = choices(kind.family(), column.choice);
            if !list.is_empty() {
                assert!(list.contains(value), "{kind:?} {name}: {value}");
            }
            if column.is_unused() {
                assert_eq!(value, "", "{kind:?} {name}");
            }
        }
    }
}

#[test]
fn the_form_sheet_has_drop_downs_text_columns_and_a_frozen_header() {
    for (kind, fields, coded) in KINDS {
        let bytes = template(kind).unwrap();
        let xml = sheet_xml(&bytes, 1);
        assert_eq!(
            xml.matches("<dataValidation ").count(),
            coded.len(),
            "{kind:?}: {xml}"
        );
        for (c, _, list) in coded {
            let letter = (b'A' + *c as u8) as char;
            let range = format!("sqref=\"{letter}2:{letter}{}\"", DATA_ROWS + 1);
            let at = xml
                .find(&range)
                .unwrap_or_else(|| panic!("{kind:?}: no validation on {range}: {xml}"));
            let rest = &xml[at..];
            let formula =
                &rest[rest.find("<formula1>").unwrap() + 10..rest.find("</formula1>").unwrap()];
            assert_eq!(formula, *list, "{kind:?} column {letter}");
        }
        // Method 3 (browser) is refused by mailra, so it is not offered.
        assert!(!xml.contains("\"1,2,3\""), "{kind:?}");
        assert!(
            xml.contains("state=\"frozen\"") && xml.contains("ySplit=\"1\""),
            "{kind:?}: header row frozen: {xml}"
        );
        // Every column carries the text format (`@` is built-in format 49).
        let cols: Vec<&str> = xml
            .match_indices("<col ")
            .map(|(i, _)| &xml[i..i + xml[i..].find('>').unwrap()])
            .collect();
        let attr = |tag: &str, name: &str| -> usize {
            tag.split(&format!(" {name}=\""))
                .nth(1)
                .unwrap_or_else(|| panic!("{kind:?}: no {name} in {tag}"))
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        // Equal neighbours share one <col min max>: together they cover the form.
        let covered: Vec<usize> = cols
            .iter()
            .flat_map(|t| attr(t, "min")..=attr(t, "max"))
            .collect();
        assert_eq!(
            covered,
            (1..=fields).collect::<Vec<_>>(),
            "{kind:?}: {cols:?}"
        );
        let mut zip = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
        let mut styles = String::new();
        zip.by_name("xl/styles.xml")
            .unwrap()
            .read_to_string(&mut styles)
            .unwrap();
        let xfs: Vec<&str> = styles
            .split("<cellXfs")
            .nth(1)
            .unwrap()
            .split("</cellXfs>")
            .next()
            .unwrap()
            .split("<xf ")
            .skip(1)
            .collect();
        for tag in cols {
            let style = attr(tag, "style");
            assert!(
                xfs[style].contains("numFmtId=\"49\""),
                "{kind:?}: {tag} is not text: {}",
                xfs[style]
            );
        }
    }
}

#[test]
fn the_sheet_reader_knows_every_template_header() {
    for kind in FormKind::ALL {
        for c in columns(kind) {
            for label in [c.label(), c.ja.to_string(), c.en.to_string()] {
                assert!(
                    crate::intake::sheet::is_header_word(&label),
                    "{kind:?}: {label} is not a header word of intake::sheet"
                );
            }
        }
    }
}
