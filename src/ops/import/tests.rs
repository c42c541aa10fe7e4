//! The import against a real registry: what each file changes, every
//! error with its line, and that a second import changes nothing.

use super::*;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2025-06-10 08:00 UTC);
const HEAD: &str = "institution\tst\tl\tdomains\tofficer\tregistered_on\n";

/// A registry with Example University and its officer, registered 2020-01-01.
fn registry() -> (tempfile::TempDir, Connection) {
    let d = tempfile::tempdir().unwrap();
    let conn = store::open(&d.path().join("t.db")).unwrap();
    let ex = ["example.ac.jp".to_string()];
    store::add_institution(&conn, "Example University", "Tokyo", "Chiyoda-ku", &ex, NOW).unwrap();
    store::add_officer(
        &conn,
        "officer@example.ac.jp",
        "Example University",
        datetime!(2020-01-01 00:00 UTC),
    )
    .unwrap();
    (d, conn)
}

fn report(added: [usize; 2], updated: [usize; 2], unchanged: [usize; 2]) -> ImportReport {
    ImportReport {
        institutions_added: added[0],
        officers_added: added[1],
        institutions_updated: updated[0],
        officers_updated: updated[1],
        institutions_unchanged: unchanged[0],
        officers_unchanged: unchanged[1],
        dry_run: false,
    }
}

#[test]
fn imports_against_the_registry() {
    let ok = |r| Ok::<_, Vec<&str>>(r);
    for (rows, expected) in [
        (
            "Example University\tTokyo\tChiyoda-ku\texample.ac.jp\tofficer@example.ac.jp\t2020-01-01\n",
            ok(report([0, 0], [0, 0], [1, 1])),
        ),
        // No date: the registered date stands.
        (
            "Example University\t\t\t\tofficer@example.ac.jp\t\n",
            ok(report([0, 0], [0, 0], [1, 1])),
        ),
        (
            "Example University\t\t\tex.jp\tofficer@example.ac.jp\t2019-04-01\n",
            ok(report([0, 0], [1, 1], [0, 0])),
        ),
        (
            "New College\tNara\tNara-shi\tnew.ac.jp\ta@new.ac.jp\t2019-04-01\nNew College\t\t\t\tb@new.ac.jp\t2019-04-01\n",
            ok(report([1, 2], [0, 0], [0, 0])),
        ),
        (
            "Example University\tOsaka\tChiyoda-ku\t\t\t\n",
            Err(vec![
                "line 2, st: institution \"Example University\" is registered with ST \"Tokyo\", not \"Osaka\"",
            ]),
        ),
        (
            "New College\tNara\tNara-shi\texample.ac.jp\t\t\n",
            Err(vec![
                "line 2, domains: domain example.ac.jp is already registered to \"Example University\"",
            ]),
        ),
        (
            "New College\tNara\tNara-shi\tnew.ac.jp\tofficer@example.ac.jp\t\n",
            Err(vec![
                "line 2, officer: officer officer@example.ac.jp is registered to \"Example University\"; remove them there first",
            ]),
        ),
        (
            "New College\t\tNara-shi\tnew.ac.jp\t\t\nOther College\tNara\tNara-shi\tnew.ac.jp\tx@new.ac.jp\t2025-06-11\n",
            Err(vec![
                "line 2, st: the new institution \"New College\" needs its ST",
                "line 3, domains: domain new.ac.jp is also given to \"New College\" on line 2",
                "line 3, registered_on: the registration date 2025-06-11 is in the future",
            ]),
        ),
    ] {
        let (_d, conn) = registry();
        let got = plan(&conn, format!("{HEAD}{rows}").as_bytes(), NOW)
            .map(|(_, r)| r)
            .map_err(|e| match e {
                OpsError::Import(e) => e.iter().map(ToString::to_string).collect(),
                e => vec![e.to_string()],
            });
        let expected: std::result::Result<_, Vec<String>> =
            expected.map_err(|e| e.iter().map(|s| s.to_string()).collect());
        assert_eq!(got, expected, "{rows}");
    }
}

#[test]
fn an_import_is_written_whole_and_a_second_changes_nothing() {
    let (_d, conn) = registry();
    let file = format!(
        "{HEAD}Example University\t\t\tex.jp\tofficer@example.ac.jp\t2019-04-01\nNew College\tNara\tNara-shi\tnew.ac.jp\ta@new.ac.jp\t2018-04-01\n"
    );
    let first = import(&conn, file.as_bytes(), false, "tester", NOW).unwrap();
    assert_eq!(first, report([1, 1], [1, 1], [0, 0]));
    let again = import(&conn, file.as_bytes(), false, "tester", NOW).unwrap();
    assert_eq!(again, report([0, 0], [0, 0], [2, 2]));
    let officers = store::registry::officer_entries(&conn).unwrap();
    let dates: Vec<(&str, String)> = officers
        .iter()
        .map(|o| (o.email.as_str(), day(o.registered_at)))
        .collect();
    assert_eq!(
        dates,
        [
            ("officer@example.ac.jp", "2019-04-01".to_string()),
            ("a@new.ac.jp", "2018-04-01".to_string())
        ]
    );
    let imports = store::audit_events(&conn)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "registry-import")
        .count();
    assert_eq!(imports, 1, "the second import wrote nothing");
}

#[test]
fn organization_identifiers_and_p12_encryptions() {
    const HEAD2: &str = "institution\tst\tl\tdomains\torganization_identifier\tp12_encryption\n";
    let ok = |r| Ok::<_, Vec<&str>>(r);
    for (rows, expected) in [
        (
            "Example University\t\t\t\tNTRJP-9234567890123\t\n",
            ok(report([0, 0], [1, 0], [0, 0])),
        ),
        (
            "Example University\t\t\t\t9234567890123\tmodern\n",
            ok(report([0, 0], [1, 0], [0, 0])),
        ),
        (
            "Example University\t\t\t\t\t\n",
            ok(report([0, 0], [0, 0], [1, 0])),
        ),
        (
            "New College\tNara\tNara-shi\tnew.ac.jp\t8234567890124\tcompatible\nNew College\t\t\t\tNTRJP-8234567890124\t\n",
            ok(report([1, 0], [0, 0], [0, 0])),
        ),
        (
            "New College\tNara\tNara-shi\tnew.ac.jp\tNTRJP-1234567890123\t\nExample University\t\t\t\tNTR-1\t\n",
            Err(vec![
                "line 2, organization_identifier: \"NTRJP-1234567890123\": 1234567890123 is not a corporate number (法人番号): its check digit (the first) should be 9 for the other 12 digits; check the number against the National Tax Agency's 法人番号公表サイト",
                "line 3, organization_identifier: \"NTR-1\" is not an organizationIdentifier (country \"\" must be two upper-case letters (ISO 3166)); for a Japanese institution give NTRJP- and its 13-digit corporate number (法人番号), e.g. NTRJP-9234567890123",
            ]),
        ),
        (
            "New College\tNara\tNara-shi\tnew.ac.jp\t9234567890123\tmodern\nNew College\t\t\t\t8234567890124\tcompatible\n",
            Err(vec![
                "line 3, organization_identifier: \"NTRJP-8234567890124\" differs from \"NTRJP-9234567890123\" on line 2 for the same institution",
                "line 3, p12_encryption: \"compatible\" differs from \"modern\" on line 2 for the same institution",
            ]),
        ),
        (
            "Example University\t\t\t\t\tAES\n",
            Err(vec![
                "line 2, p12_encryption: \"AES\" is not a PKCS#12 encryption: compatible or modern (leave it empty for the instance default)",
            ]),
        ),
    ] {
        let (_d, conn) = registry();
        let got = plan(&conn, format!("{HEAD2}{rows}").as_bytes(), NOW)
            .map(|(_, r)| r)
            .map_err(|e| match e {
                OpsError::Import(e) => e.iter().map(ToString::to_string).collect(),
                e => vec![e.to_string()],
            });
        let expected: std::result::Result<_, Vec<String>> =
            expected.map_err(|e| e.iter().map(|s| s.to_string()).collect());
        assert_eq!(got, expected, "{rows}");
    }
}

#[test]
fn imported_organization_identifiers_are_stored_once_and_a_different_one_is_refused() {
    let (_d, conn) = registry();
    let file = "institution\tst\tl\tdomains\t法人番号\tPKCS12暗号化\nExample University\t\t\t\t9234567890123\tmodern\nNew College\tNara\tNara-shi\tnew.ac.jp\tNTRJP-8234567890124\t\n";
    let first = import(&conn, file.as_bytes(), false, "tester", NOW).unwrap();
    assert_eq!(first, report([1, 0], [1, 0], [0, 0]));
    let stored = |name| {
        let i = store::institution_by_name(&conn, name).unwrap().unwrap();
        (i.organization_identifier, i.p12_encryption)
    };
    assert_eq!(
        stored("Example University"),
        (
            Some("NTRJP-9234567890123".into()),
            Some(P12Encryption::Modern)
        )
    );
    assert_eq!(
        stored("New College"),
        (Some("NTRJP-8234567890124".into()), None)
    );
    // Again, and a file without the columns: nothing changes.
    let again = import(&conn, file.as_bytes(), false, "tester", NOW).unwrap();
    assert_eq!(again, report([0, 0], [0, 0], [2, 0]));
    let plain = format!("{HEAD}Example University\t\t\t\t\t\n");
    let plain = import(&conn, plain.as_bytes(), false, "tester", NOW).unwrap();
    assert_eq!(plain, report([0, 0], [0, 0], [1, 0]));
    assert_eq!(stored("Example University").1, Some(P12Encryption::Modern));
    // Another corporate number for a registered one is refused; another
    // encryption is updated.
    let other = "institution\torganization_identifier\tp12_encryption\nExample University\tNTRJP-8234567890124\t\nNew College\t\tmodern\n";
    let refused = import(&conn, other.as_bytes(), false, "tester", NOW).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "1 error(s) in the file; nothing was imported"
    );
    let OpsError::Import(errors) = refused else {
        unreachable!()
    };
    assert_eq!(
        errors[0].to_string(),
        "line 2, organization_identifier: institution \"Example University\" is registered with organizationIdentifier \"NTRJP-9234567890123\", not \"NTRJP-8234567890124\"; to change it, use `mailra registry institution set --name \"Example University\" --org-id NTRJP-8234567890124`"
    );
    assert_eq!(stored("New College").1, None, "nothing was written");
    let p12_only = "institution\tp12_encryption\nNew College\tmodern\n";
    let r = import(&conn, p12_only.as_bytes(), false, "tester", NOW).unwrap();
    assert_eq!(r, report([0, 0], [1, 0], [0, 0]));
    assert_eq!(stored("New College").1, Some(P12Encryption::Modern));
}
