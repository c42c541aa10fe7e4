//! 5-4-1: every field rule, and the rows a valid file gives.

use super::*;
use crate::model::{ClientRequest, Request};

fn row(set: &[(usize, &str)]) -> Vec<String> {
    with(issue_fields(), set)
}
fn smime(set: &[(usize, &str)]) -> Vec<String> {
    with(smime_fields(), set)
}

#[test]
fn issue_field_rules() {
    let i = inst();
    let ctx = with_inst(&i);
    let long65 = "x".repeat(65);
    let dn251 = format!("CN={},{O}", "A".repeat(251 - 3 - O.len() - 1));
    let ou65 = format!("CN=A,OU={long65},{O}");
    let l65 = format!("CN=A,O=Example University,L={long65},ST=Tokyo,C=JP");
    let mail79 = format!("{}@example.ac.jp", "m".repeat(79 - 14));
    let browser = format!(
        "line 1: field 3 (download method): {}",
        rows::BROWSER_REFUSED
    );
    let l_not_registered = format!(
        "line 1: field 1 (subject DN): L= must be the registered locality `Chiyoda-ku`, not `{long65}`"
    );
    let cases: Vec<(Vec<Vec<String>>, Vec<&str>)> = vec![
        // Valid rows: one OU, repeated OUs, no OU, only ST, only L, CN with @ and _.
        (vec![row(&[])], vec![]),
        (
            vec![row(&[(1, &format!("CN=KOKURITSU HANAKO,{O}"))])],
            vec![],
        ),
        (
            vec![row(&[(
                1,
                "CN=K. O'Neil (2),O=Example University,ST=Tokyo,C=JP",
            )])],
            vec![],
        ),
        (
            vec![row(&[(
                1,
                "CN=hanako_k@lab:1/2=x,O=Example University,L=Chiyoda-ku,C=JP",
            )])],
            vec![],
        ),
        // Field 1.
        (
            vec![row(&[(
                1,
                "CN=A,O=Example University,OU=Lab,L=Chiyoda-ku,ST=Tokyo,C=JP",
            )])],
            vec![
                "line 1: field 1 (subject DN): must be in the order CN,OU,O,L,ST,C (OU may repeat or be left out, and one of L and ST may be left out), not CN,O,OU,L,ST,C",
            ],
        ),
        (
            vec![row(&[(
                1,
                "C=JP,ST=Tokyo,L=Chiyoda-ku,O=Example University,CN=A",
            )])],
            vec![
                "line 1: field 1 (subject DN): must be in the order CN,OU,O,L,ST,C (OU may repeat or be left out, and one of L and ST may be left out), not C,ST,L,O,CN",
            ],
        ),
        (
            vec![row(&[(1, "CN=A,O=Example University,C=JP")])],
            vec![
                "line 1: field 1 (subject DN): L= or ST= is missing: at least one of them is required",
            ],
        ),
        (
            vec![row(&[(1, "OU=Lab,O=Example University,L=Chiyoda-ku,C=JP")])],
            vec!["line 1: field 1 (subject DN): CN= is missing"],
        ),
        (
            vec![row(&[(1, &format!("CN=Hanako#1,{O}"))])],
            vec![
                "line 1: field 1 (subject DN): CN= may contain only half-width letters, digits, space and '(),-./:=@_, not '#'",
            ],
        ),
        (
            vec![row(&[(1, &format!("CN=国立 花子,{O}"))])],
            vec![
                "line 1: field 1 (subject DN): CN= may contain only half-width letters, digits, space and '(),-./:=@_, not '国' '立' '花' '子'",
            ],
        ),
        (
            vec![row(&[(1, &format!("CN=A,OU=lab@x_y,{O}"))])],
            vec![
                "line 1: field 1 (subject DN): OU= may contain only half-width letters, digits, space and '(),-./:=, not '@' '_'",
            ],
        ),
        (
            vec![row(&[(1, &ou65)])],
            vec!["line 1: field 1 (subject DN): OU= is 65 characters, at most 64 allowed"],
        ),
        (
            vec![row(&[(1, &l65)])],
            vec![
                "line 1: field 1 (subject DN): L= is 65 characters, at most 64 allowed",
                &l_not_registered,
            ],
        ),
        (
            vec![row(&[(1, &format!("CN={long65},{O}"))])],
            vec!["line 1: field 1 (subject DN): CN= is 65 characters, at most 64 allowed"],
        ),
        (
            vec![row(&[(1, &dn251)])],
            vec!["line 1: field 1 (subject DN): is 251 characters, at most 250 allowed"],
        ),
        (
            vec![row(&[(
                1,
                "CN=A,O=Other University,L=Minato-ku,ST=Osaka,C=JP",
            )])],
            vec![
                "line 1: field 1 (subject DN): O= must be the registered institution name `Example University`, not `Other University`",
                "line 1: field 1 (subject DN): ST= must be the registered prefecture `Tokyo`, not `Osaka`",
                "line 1: field 1 (subject DN): L= must be the registered locality `Chiyoda-ku`, not `Minato-ku`",
            ],
        ),
        (
            vec![row(&[(
                1,
                "CN=A,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=US",
            )])],
            vec!["line 1: field 1 (subject DN): C= must be JP, not US"],
        ),
        (
            vec![row(&[(
                1,
                &format!("CN=A,emailAddress=a@example.ac.jp,{O}"),
            )])],
            vec![
                "line 1: field 1 (subject DN): attribute EMAILADDRESS is not allowed in a client certificate DN (only CN, OU, O, L, ST and C)",
            ],
        ),
        (
            vec![row(&[(1, &format!("CN=A,CN=B,{O}"))])],
            vec!["line 1: field 1 (subject DN): CN= appears more than once"],
        ),
        // Field 2.
        (
            vec![row(&[(2, "3")])],
            vec![
                "line 1: field 2 (profile ID): profile 3 is a server certificate profile; client forms take 5, 7, 13, 14, 15 or 16 (server certificates are requested with form 5-3-1, 13 fields per row, and a CSR)",
            ],
        ),
        (
            vec![row(&[(2, "11")])],
            vec![
                "line 1: field 2 (profile ID): profile 11 is a server certificate profile; client forms take 5, 7, 13, 14, 15 or 16 (server certificates are requested with form 5-3-1, 13 fields per row, and a CSR)",
            ],
        ),
        (
            vec![row(&[(2, "6")])],
            vec![
                "line 1: field 2 (profile ID): must be 5 (client, 48 months), 7 (S/MIME, 823 days), 13 (client, 13 months), 14 (client, 25 months), 15 (S/MIME, 13 months) or 16 (S/MIME, 25 months), not `6`",
            ],
        ),
        (
            vec![row(&[(2, "")])],
            vec!["line 1: field 2 (profile ID): is required"],
        ),
        // Field 3.
        (vec![row(&[(3, "3")])], vec![&browser]),
        (
            vec![row(&[(3, "4")])],
            vec!["line 1: field 3 (download method): must be 1 (P12個別) or 2 (P12一括), not `4`"],
        ),
        (
            vec![row(&[(3, "")])],
            vec!["line 1: field 3 (download method): is required (1 P12個別 or 2 P12一括)"],
        ),
        (
            vec![
                row(&[]),
                row(&[(1, &format!("CN=B,{O}")), (3, "2"), (14, "b@example.ac.jp")]),
            ],
            vec![
                "line 2: field 3 (download method): is 2 but the file's download method is 1 (its first row, line 1); use one download method per file",
            ],
        ),
        // Fields 5 to 7 (a serial in field 4 makes the row a renewal: see `detection`).
        (
            vec![row(&[(5, "1"), (6, "x"), (7, "MIIB")])],
            vec![
                "line 1: field 5 (unused): must be empty in a 5-4-1 row",
                "line 1: field 6 (unused): must be empty in a 5-4-1 row",
                "line 1: field 7 (unused): must be empty in a 5-4-1 row",
            ],
        ),
        // Names and departments.
        (
            vec![row(&[
                (8, &long65),
                (9, &long65),
                (11, &long65),
                (13, &long65),
            ])],
            vec![
                "line 1: field 8 (admin name): is 65 characters, at most 64 allowed",
                "line 1: field 9 (admin dept): is 65 characters, at most 64 allowed",
                "line 1: field 11 (user name): is 65 characters, at most 64 allowed",
                "line 1: field 13 (user dept): is 65 characters, at most 64 allowed",
            ],
        ),
        // Field 10.
        (
            vec![row(&[(10, "")])],
            vec!["line 1: field 10 (admin mail): is required"],
        ),
        (
            vec![row(&[(10, "taro")])],
            vec!["line 1: field 10 (admin mail): `taro` is not a mail address (no @)"],
        ),
        (
            vec![row(&[(10, &mail79)])],
            vec!["line 1: field 10 (admin mail): is 79 characters, at most 78 allowed"],
        ),
        // Field 12.
        (
            vec![row(&[(12, "a/b@c")])],
            vec![
                "line 1: field 12 (P12 file name): may contain only half-width letters, digits, space and '(),-.=, not '/' '@'",
            ],
        ),
        (
            vec![row(&[(12, &long65)])],
            vec!["line 1: field 12 (P12 file name): is 65 characters, at most 64 allowed"],
        ),
        (
            vec![smime(&[(2, "7")])],
            vec![
                "line 1: field 12 (P12 file name): is required for profile 7 unless the download method is 2 (P12一括)",
            ],
        ),
        (vec![smime(&[(2, "7"), (3, "2")])], vec![]),
        (vec![smime(&[(2, "7"), (12, "hanako")])], vec![]),
        // Field 14.
        (
            vec![row(&[(14, "")])],
            vec![
                "line 1: field 14 (user mail): is required (it may be left empty only for profile 5 with download method 2)",
            ],
        ),
        (
            vec![row(&[(2, "5"), (14, "")])],
            vec![
                "line 1: field 14 (user mail): is required (it may be left empty only for profile 5 with download method 2)",
            ],
        ),
        (vec![row(&[(2, "5"), (3, "2"), (14, "")])], vec![]),
        (
            vec![row(&[(14, "hanako@")])],
            vec!["line 1: field 14 (user mail): `hanako@` is not a valid mail address"],
        ),
        // S/MIME: CN equals the user mail, no PIN.
        (
            vec![smime(&[(14, "other@example.ac.jp")])],
            vec![
                "line 1: field 1 (subject DN): CN= must equal the user mail (field 14) for S/MIME profile 15: `other@example.ac.jp`, not `hanako@example.ac.jp`",
            ],
        ),
        (
            vec![smime(&[(2, "16"), (14, "Hanako@example.ac.jp")])],
            vec![
                "line 1: field 1 (subject DN): CN= `hanako@example.ac.jp` and the user mail (field 14) `Hanako@example.ac.jp` differ only in letter case; for S/MIME profile 16 they must be identical (the part before @ is case-sensitive)",
            ],
        ),
        (
            vec![smime(&[(14, "")])],
            vec![
                "line 1: field 14 (user mail): is required (it may be left empty only for profile 5 with download method 2)",
            ],
        ),
        (
            vec![smime(&[(3, "2"), (15, "abcdef12")])],
            vec![
                "line 1: field 15 (access PIN): must be empty for the S/MIME profiles 7, 15 and 16: their access PIN is always generated",
            ],
        ),
        // Field 15.
        (vec![row(&[(3, "2"), (15, "Ab1!Ab1!")])], vec![]),
        (
            vec![row(&[(15, "Ab1!Ab1!")])],
            vec![
                "line 1: field 15 (access PIN): is only allowed with download method 2 (P12一括); with method 1 the PIN is generated and mailed separately",
            ],
        ),
        (
            vec![row(&[(3, "2"), (15, "abc12")])],
            vec!["line 1: field 15 (access PIN): is 5 characters, 6 to 36 allowed"],
        ),
        (
            vec![row(&[(3, "2"), (15, "pass word")])],
            vec![
                "line 1: field 15 (access PIN): may contain only half-width letters, digits and !#$%&*+,-./:;=?@^_`|~(){}[]<> (never space, \\, ' or \"), not ' '",
            ],
        ),
        (
            vec![row(&[(3, "2"), (15, "パスワード123")])],
            vec![
                "line 1: field 15 (access PIN): may contain only half-width letters, digits and !#$%&*+,-./:;=?@^_`|~(){}[]<> (never space, \\, ' or \"), not 'パ' 'ス' 'ワ' 'ー' 'ド'",
            ],
        ),
        // Duplicates within the file.
        (
            vec![row(&[]), row(&[(14, "other@example.ac.jp"), (12, "other")])],
            vec![
                "line 2: field 1 (subject DN): the same DN as line 1; ask for each certificate once per file",
            ],
        ),
        (
            vec![row(&[]), row(&[(1, &format!("CN=B,{O}"))])],
            vec![
                "line 2: field 14 (user mail): hanako@example.ac.jp is already the user mail of line 1; one row per user and file",
            ],
        ),
        (
            // The same name, told apart by the OU: fine, but the P12 files need names.
            vec![
                row(&[]),
                row(&[
                    (1, &format!("CN=KOKURITSU HANAKO,OU=87654321,{O}")),
                    (14, "h2@example.ac.jp"),
                ]),
            ],
            vec![
                "line 2: field 12 (P12 file name): the P12 file name `KOKURITSU HANAKO` is already used on line 1 (field 12, or the CN when field 12 is empty); give each row its own file name",
            ],
        ),
        (
            vec![
                row(&[(12, "hanako")]),
                row(&[
                    (1, &format!("CN=B,{O}")),
                    (14, "b@example.ac.jp"),
                    (12, "HANAKO"),
                ]),
            ],
            vec![
                "line 2: field 12 (P12 file name): the P12 file name `HANAKO` is already used on line 1 (field 12, or the CN when field 12 is empty); give each row its own file name",
            ],
        ),
        (
            vec![
                row(&[]),
                row(&[
                    (1, &format!("CN=KOKURITSU HANAKO,OU=87654321,{O}")),
                    (14, "h2@example.ac.jp"),
                    (12, "hanako2"),
                ]),
            ],
            vec![],
        ),
    ];
    for (n, (rows, expected)) in cases.into_iter().enumerate() {
        let c = check_file(&file(&rows), &ctx);
        assert_eq!(lines(&c), expected, "case {n}");
        assert_eq!(c.kind, Some(FormKind::ClientIssue), "case {n}");
        assert!(c.warnings.is_empty(), "case {n}: {:?}", c.warnings);
        if expected.is_empty() {
            assert_eq!(c.rows.len(), rows.len(), "case {n}");
        }
    }
}

#[test]
fn issue_rows_are_typed() {
    let i = inst();
    let ctx = with_inst(&i);
    let bundle_pin = row(&[
        (2, "5"),
        (3, "2"),
        (14, ""),
        (15, "Ab1!Ab1!"),
        (12, "hanako-2024"),
    ]);
    let bundle_smime = smime(&[
        (2, "7"),
        (3, "2"),
        (1, &format!("CN=b@example.ac.jp,{O}")),
        (14, "b@example.ac.jp"),
    ]);
    let c = check_file(&file(&[bundle_pin, bundle_smime]), &ctx);
    assert_eq!(lines(&c), Vec::<String>::new());
    assert_eq!(
        c.rows,
        [
            Request::Client(ClientRequest::Issue(ClientIssueRow {
                profile: Profile::Client48Months,
                method: DownloadMethod::P12Bundle,
                p12_name: "hanako-2024".into(),
                user_mail: None,
                pin: Some("Ab1!Ab1!".into()),
                ..issue_row(1)
            })),
            Request::Client(ClientRequest::Issue(ClientIssueRow {
                dn: dn::parse(&format!("CN=b@example.ac.jp,{O}")).unwrap(),
                profile: Profile::Smime823Days,
                method: DownloadMethod::P12Bundle,
                // No field 12: the CN.
                p12_name: "b@example.ac.jp".into(),
                user_mail: Some("b@example.ac.jp".into()),
                ..issue_row(2)
            })),
        ]
    );
    // Method 1, client profile: the P12 named after the CN, the PIN generated later.
    let c = check_file(&file(&[row(&[])]), &ctx);
    assert_eq!(
        c.rows,
        [Request::Client(ClientRequest::Issue(issue_row(1)))]
    );
    // Without the registry (`mailra check` offline) the same row is valid too.
    let c = check_file(&file(&[row(&[])]), &Context::default());
    assert_eq!(
        c.rows,
        [Request::Client(ClientRequest::Issue(issue_row(1)))]
    );
}

/// S/MIME certificates are organization-validated: a row of profile 7, 15 or
/// 16 for an institution without a registered organizationIdentifier is
/// refused on field 2, issuance and renewal alike; client profiles and
/// `mailra check` offline (no institution known) are not concerned.
#[test]
fn smime_profiles_need_the_institutions_organization_identifier() {
    let with_org_id = inst();
    let without = Institution {
        organization_identifier: None,
        ..inst()
    };
    let refused = |line: usize, p: u8| {
        format!(
            "line {line}: field 2 (profile ID): profile {p} is an S/MIME certificate, which must carry the institution's organizationIdentifier (S/MIME Baseline Requirements: NTRJP- and its 13-digit corporate number, 法人番号), and none is registered for `Example University`; use a client profile (5, 13 or 14) or ask the secretariat to register the institution's corporate number"
        )
    };
    let smime7 = smime(&[(2, "7"), (12, "hanako")]);
    let smime16 = smime(&[(2, "16")]);
    let cases: Vec<(Option<&Institution>, Rows, Vec<String>)> = vec![
        (Some(&with_org_id), vec![smime(&[])], vec![]),
        (Some(&with_org_id), vec![smime7.clone()], vec![]),
        (Some(&without), vec![row(&[])], vec![]),
        (Some(&without), vec![row(&[(2, "5")])], vec![]),
        (Some(&without), vec![row(&[(2, "14")])], vec![]),
        (None, vec![smime(&[])], vec![]),
        (Some(&without), vec![smime(&[])], vec![refused(1, 15)]),
        (Some(&without), vec![smime7], vec![refused(1, 7)]),
        (Some(&without), vec![smime16.clone()], vec![refused(1, 16)]),
        // Its other rules are still checked.
        (
            Some(&without),
            vec![smime(&[(3, "2"), (15, "abcdef12")])],
            vec![
                refused(1, 15),
                "line 1: field 15 (access PIN): must be empty for the S/MIME profiles 7, 15 and 16: their access PIN is always generated".into(),
            ],
        ),
        // Renewal (5-4-2) too.
        (
            Some(&without),
            vec![with(smime16, &[(4, "0x01")])],
            vec![refused(1, 16)],
        ),
    ];
    for (n, (institution, rows, expected)) in cases.into_iter().enumerate() {
        let ctx = Context {
            institution,
            ..Context::default()
        };
        let c = check_file(&file(&rows), &ctx);
        assert_eq!(lines(&c), expected, "case {n}");
        if expected.is_empty() {
            assert_eq!(c.rows.len(), rows.len(), "case {n}");
        } else {
            assert!(c.rows.is_empty(), "case {n}");
        }
    }
}
