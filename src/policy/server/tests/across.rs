//! One key for two subjects in two files of one mail
//! (`keys_repeated_across_files`): each file is checked on its own, so the
//! pair is only seen across the mail's files.

use super::*;

const MAIL_DN: &str = "CN=mail.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";

/// The checked rows of a one-row-per-(dn, key) issue file.
fn rows(subjects: &[(&str, &PKey<Private>)]) -> Vec<Request> {
    let i = inst();
    let ctx = offline(&i);
    let records: Vec<Vec<String>> = subjects
        .iter()
        .map(|(dn, key)| {
            let mut f = issue_fields(&csr(dn, key));
            f[0] = dn.to_string();
            f[10] = dn[3..dn.find(',').unwrap()].to_string();
            f
        })
        .collect();
    let checked = check_file(&file(&records), &ctx);
    assert!(checked.errors.is_empty(), "{:?}", lines(&checked));
    checked.rows
}

#[test]
fn a_key_of_an_earlier_file_for_another_subject_is_named_with_its_file_and_place() {
    let (a, b) = (rsa2048(), rsa2048_b());
    let www_a = rows(&[(DN, a)]);
    let www_a_mail_b = rows(&[(DN, a), (MAIL_DN, b)]);
    let mail_a = rows(&[(MAIL_DN, b), (MAIL_DN, a)]);
    type Case<'a> = (
        Vec<(&'a str, Option<&'a str>, &'a [Request])>,
        Vec<(usize, String)>,
    );
    let cases: Vec<Case> = vec![
        // The same key for the same subject in two files: no error here.
        (vec![("a.tsv", None, &www_a), ("b.tsv", None, &www_a_mail_b)], vec![]),
        // For another subject: named on the later row, with the earlier place.
        (
            vec![("a.tsv", None, &www_a), ("b.tsv", None, &mail_a)],
            vec![(1, "line 2: field 7 (CSR): the CSR's key is also the key of line 1 of a.tsv, for another subject; each subject needs its own key pair".into())],
        ),
        // A workbook names the cell, on either side.
        (
            vec![("a.xlsx", Some("Sheet 1"), &www_a), ("b.xlsx", Some("Form"), &mail_a)],
            vec![(1, "Form!G2 (CSR): the CSR's key is also the key of 'Sheet 1'!G1 of a.xlsx, for another subject; each subject needs its own key pair".into())],
        ),
        // Three files: the third is checked against both earlier ones.
        (
            vec![("a.tsv", None, &www_a), ("b.tsv", None, &www_a), ("c.tsv", None, &mail_a)],
            vec![(2, "line 2: field 7 (CSR): the CSR's key is also the key of line 1 of a.tsv, for another subject; each subject needs its own key pair".into())],
        ),
        // One file alone: nothing across files (its own check sees it).
        (vec![("a.tsv", None, &www_a)], vec![]),
    ];
    for (n, (files, expected)) in cases.into_iter().enumerate() {
        let views: Vec<FileRows> = files
            .iter()
            .map(|(name, sheet, rows)| FileRows {
                name,
                sheet: *sheet,
                rows,
            })
            .collect();
        let got: Vec<(usize, String)> = keys_repeated_across_files(&views)
            .into_iter()
            .map(|(i, e)| (i, e.to_string()))
            .collect();
        assert_eq!(got, expected, "case {n}");
    }
}
