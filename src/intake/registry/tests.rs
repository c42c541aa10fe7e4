//! The import file's parser as tables: each file as a secretariat saves it
//! and the rows or errors it must give.

use super::*;
use time::macros::date;

fn row(
    line: usize,
    inst: &str,
    st: Option<&str>,
    l: Option<&str>,
    domains: &[&str],
    officer: Option<&str>,
    on: Option<Date>,
) -> Row {
    Row {
        line,
        institution: inst.into(),
        st: st.map(Into::into),
        l: l.map(Into::into),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        officer: officer.map(Into::into),
        registered_on: on,
        organization_identifier: None,
        p12_encryption: None,
    }
}

#[test]
fn files_in_each_encoding_and_separator() {
    let ex = |line| {
        row(
            line,
            "Example University",
            Some("Tokyo"),
            Some("Chiyoda-ku"),
            &["example.ac.jp", "ex.jp"],
            Some("officer@example.ac.jp"),
            Some(date!(2021 - 04 - 01)),
        )
    };
    let utf8_tsv = "institution\tst\tl\tdomains\tofficer\tregistered_on\nExample University\tTokyo\tChiyoda-ku\texample.ac.jp ex.jp\tOfficer@Example.ac.jp\t2021-04-01\n";
    let bom_csv = "\u{feff}機関名,都道府県,市区町村,ドメイン,メールアドレス,登録日\r\n\"Example University\",Tokyo,Chiyoda-ku,\"example.ac.jp;ex.jp\",officer@example.ac.jp,2021/4/1\r\n";
    let (sjis, _, _) = SHIFT_JIS.encode(
        "機関名\t都道府県\t市区町村\tドメイン\t担当者\t登録日\r\n\r\nExample University\tTokyo\tChiyoda-ku\texample.ac.jp,ex.jp.\tofficer@example.ac.jp\t2021-04-01\r\n",
    );
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(utf8_tsv.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    for (name, bytes, expected) in [
        ("utf-8 tsv", utf8_tsv.as_bytes().to_vec(), vec![ex(2)]),
        (
            "utf-8 bom csv, quoted",
            bom_csv.as_bytes().to_vec(),
            vec![ex(2)],
        ),
        ("shift_jis tsv, blank line", sjis.into_owned(), vec![ex(3)]),
        ("utf-16le tsv", utf16, vec![ex(2)]),
    ] {
        assert_eq!(parse(&bytes), Ok(expected), "{name}");
    }
}

#[test]
fn optional_columns_and_institution_rows() {
    let file = "Officer,Institution\nA@x.ac.jp,X Univ\n,Y Univ\n";
    assert_eq!(
        parse(file.as_bytes()),
        Ok(vec![
            row(2, "X Univ", None, None, &[], Some("a@x.ac.jp"), None),
            row(3, "Y Univ", None, None, &[], None, None),
        ])
    );
}

#[test]
fn every_error_with_its_line_and_column() {
    let e = |line, col, msg: &str| ImportError::new(line, col, msg);
    for (file, expected) in [
        ("", vec![e(1, None, "the file is empty")]),
        (
            "institution,officer\n",
            vec![e(1, None, "the file has a header but no rows")],
        ),
        (
            "institution,colour\nX,red\n",
            vec![e(
                1,
                None,
                "unknown column \"colour\"; the first line names the columns: institution, st, l, domains, officer, registered_on, organization_identifier, p12_encryption",
            )],
        ),
        (
            "officer,mail\na@b.jp,c@d.jp\n",
            vec![e(1, Some(Column::Officer), "column \"mail\" appears twice")],
        ),
        (
            "institution,officer,registered_on\r\n\r\n\r\nX,a@x.jp,soon\r\n",
            vec![e(
                4,
                Some(Column::RegisteredOn),
                "\"soon\" is not a date (YYYY-MM-DD)",
            )],
        ),
        (
            "officer\na@b.jp\n",
            vec![e(
                1,
                None,
                "the first line must name the columns, among them \"institution\"",
            )],
        ),
        (
            "institution,officer,registered_on\nX,a@x.jp,2021-02-30\n,b@x.jp,\nX,,2020-01-01\nX,c@x.jp,2020-01-01,extra\n",
            vec![
                e(
                    2,
                    Some(Column::RegisteredOn),
                    "\"2021-02-30\" is not a date (YYYY-MM-DD)",
                ),
                e(3, Some(Column::Institution), "the institution is missing"),
                e(
                    4,
                    Some(Column::RegisteredOn),
                    "a registration date without an officer",
                ),
                e(
                    5,
                    None,
                    "field 4 (\"extra\") has no column in the first line",
                ),
            ],
        ),
    ] {
        assert_eq!(parse(file.as_bytes()), Err(expected), "{file:?}");
    }
    // Bytes that are neither UTF-8 nor Shift_JIS, on lines 2 and 3.
    let bad = b"institution\n\x82\xA0 ok\n\x85\x40\xFF\n";
    let errs = parse(bad).unwrap_err();
    assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), [3]);
    assert_eq!(
        errs[0].to_string(),
        "line 3: the text is neither UTF-8 nor Shift_JIS; save the file as UTF-8 or Shift_JIS"
    );
    assert_eq!(
        e(5, Some(Column::RegisteredOn), "x").to_string(),
        "line 5, registered_on: x"
    );
}

#[test]
fn organization_identifier_and_p12_encryption_columns() {
    let with = |r: Row, org: Option<&str>, p12: Option<P12Encryption>| Row {
        organization_identifier: org.map(Into::into),
        p12_encryption: p12,
        ..r
    };
    let bare = |line| row(line, "X Univ", Some("Tokyo"), None, &[], None, None);
    let e = |line, col, msg: &str| ImportError::new(line, Some(col), msg);
    for (file, expected) in [
        (
            "institution\tst\torganization_identifier\tp12_encryption\nX Univ\tTokyo\tNTRJP-9234567890123\tmodern\n",
            Ok(vec![with(
                bare(2),
                Some("NTRJP-9234567890123"),
                Some(P12Encryption::Modern),
            )]),
        ),
        // Japanese names; a bare corporate number; the value's case.
        (
            "機関名,都道府県,法人番号,PKCS12暗号化\nX Univ,Tokyo,9234567890123,Compatible\nX Univ,Tokyo,,\n",
            Ok(vec![
                with(
                    bare(2),
                    Some("NTRJP-9234567890123"),
                    Some(P12Encryption::Compatible),
                ),
                bare(3),
            ]),
        ),
        (
            "institution,st,Org-ID,PKCS#12暗号化\nX Univ,Tokyo,VATDE-123456789,\n",
            Ok(vec![with(bare(2), Some("VATDE-123456789"), None)]),
        ),
        // Whether an organizationIdentifier is valid is decided above
        // (policy); an unknown encryption is an error here.
        (
            "institution,st,法人番号,p12_encryption\nX Univ,Tokyo,123,aes\n",
            Err(vec![e(
                2,
                Column::P12Encryption,
                "\"aes\" is not a PKCS#12 encryption: compatible or modern (leave it empty for the instance default)",
            )]),
        ),
    ] {
        assert_eq!(parse(file.as_bytes()), expected, "{file:?}");
    }
}

#[test]
fn dates() {
    for (s, d) in [
        ("2021-04-01", Some(date!(2021 - 04 - 01))),
        ("2021/4/1", Some(date!(2021 - 04 - 01))),
        ("2024-02-29", Some(date!(2024 - 02 - 29))),
        ("2023-02-29", None),
        ("21-04-01", None),
        ("2021-04", None),
        ("2021-4-1-1", None),
        ("2021-0a-01", None),
        ("", None),
    ] {
        assert_eq!(parse_date(s), d, "{s}");
    }
}
