//! Whole files: which family a file is, and the record limits (the golden
//! sample files are checked by `tests/samples.rs`).

use super::*;

/// A 13-field 5-3-3 row.
fn server_revoke() -> Vec<String> {
    let mut f = revoke_fields("1");
    f.truncate(13);
    f
}

#[test]
fn family_by_field_count() {
    let no_tabs = |mut f: Vec<String>| {
        while f.last().is_some_and(String::is_empty) {
            f.pop();
        }
        f
    };
    let profile5_bundle = with(
        issue_fields(),
        &[(2, "5"), (3, "2"), (11, ""), (13, ""), (14, "")],
    );
    let cases: Vec<(&str, Rows, Result<FormKind, &str>, usize)> = vec![
        (
            "15 fields",
            vec![revoke_fields("1")],
            Ok(FormKind::ClientRevoke),
            0,
        ),
        (
            "13 fields",
            vec![server_revoke()],
            Ok(FormKind::ServerRevoke),
            0,
        ),
        (
            "client issue without trailing tabs: the download method tells",
            vec![no_tabs(profile5_bundle)],
            Ok(FormKind::ClientIssue),
            1,
        ),
        (
            "one row of 15, one short",
            vec![
                issue_fields(),
                no_tabs(with(
                    issue_fields(),
                    &[(1, &format!("CN=B,{O}")), (14, "b@example.ac.jp")],
                )),
            ],
            Ok(FormKind::ClientIssue),
            1,
        ),
        (
            "client revocation with a new user mail and 14 fields: data in field 14, no CSR",
            vec![no_tabs(with(
                revoke_fields("1"),
                &[(14, "new@example.ac.jp")],
            ))],
            Ok(FormKind::ClientRevoke),
            1,
        ),
        (
            "server revocation without trailing tabs stays a server form",
            vec![no_tabs(server_revoke())],
            Ok(FormKind::ServerRevoke),
            1,
        ),
        (
            "16 fields, the last empty",
            vec![{
                let mut f = issue_fields();
                f.push(String::new());
                f
            }],
            Ok(FormKind::ClientIssue),
            1,
        ),
        (
            "data in field 16",
            vec![issue_fields(), {
                let mut f = issue_fields();
                f.push("x".into());
                f
            }],
            Err(
                "file: line 2 has data in field 16: application rows have 13 fields (server forms 5-3-1, 5-3-2, 5-3-3) or 15 fields (client forms 5-4-1, 5-4-2, 5-4-3)",
            ),
            0,
        ),
    ];
    for (what, rows, expected, warnings) in cases {
        let c = check_file(&file(&rows), &Context::default());
        match expected {
            Ok(kind) => {
                assert_eq!(lines(&c), Vec::<String>::new(), "{what}");
                assert_eq!(c.kind, Some(kind), "{what}");
                assert_eq!(c.rows.len(), rows.len(), "{what}");
            }
            Err(e) => {
                assert_eq!(lines(&c), [e], "{what}");
                assert_eq!(c.kind, None, "{what}");
            }
        }
        assert_eq!(c.warnings.len(), warnings, "{what}: {:?}", c.warnings);
    }
}

/// `n` distinct valid issue rows with download method `method`.
fn many(n: usize, method: &str) -> Vec<Vec<String>> {
    (0..n)
        .map(|k| {
            with(
                issue_fields(),
                &[
                    (1, &format!("CN=User {k},OU={k},{O}")),
                    (3, method),
                    (14, &format!("u{k}@example.ac.jp")),
                ],
            )
        })
        .collect()
}

#[test]
fn record_limits() {
    let i = inst();
    let ctx = with_inst(&i);
    let revocations: Vec<Vec<String>> = (0..100).map(|k| revoke_fields(&k.to_string())).collect();
    let cases: Vec<(&str, Rows, Result<usize, &str>)> = vec![
        ("99 rows, method 1", many(99, "1"), Ok(99)),
        (
            "100 rows, method 1",
            many(100, "1"),
            Err(
                "file: the file has 100 records; at most 99 are allowed per file (1000 only for issuance or renewal with download method 2, P12一括)",
            ),
        ),
        ("1000 rows, method 2", many(1000, "2"), Ok(1000)),
        (
            "1001 rows, method 2",
            many(1001, "2"),
            Err(
                "file: the file has 1001 records; at most 1000 are allowed per file with download method 2 (P12一括)",
            ),
        ),
        (
            "100 revocations",
            revocations,
            Err(
                "file: the file has 100 records; at most 99 are allowed per file (1000 only for issuance or renewal with download method 2, P12一括)",
            ),
        ),
    ];
    for (what, rows, expected) in cases {
        let c = check_file(&file(&rows), &ctx);
        match expected {
            Ok(n) => {
                assert_eq!(lines(&c), Vec::<String>::new(), "{what}");
                assert_eq!(c.rows.len(), n, "{what}");
            }
            Err(e) => {
                assert_eq!(lines(&c), [e], "{what}");
                assert!(c.rows.is_empty(), "{what}");
            }
        }
    }
}
