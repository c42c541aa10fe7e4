//! Rows naming an existing certificate: renewal (5-4-2) and revocation (5-4-3),
//! against an in-memory certificate look-up.

use super::*;
use crate::model::{ClientRenewRow, ClientRequest, ClientRevokeRow, Request, RevocationReason};

fn certs() -> Certs {
    Certs(vec![
        summary(1, CertStatus::Valid, 7, Profile::Client13Months),
        summary(2, CertStatus::Revoked, 7, Profile::Client13Months),
        summary(3, CertStatus::Valid, 8, Profile::Client13Months),
        summary(4, CertStatus::Valid, 7, Profile::ServerRsa2048),
        CertSummary {
            // Issued without the student-number OU.
            dn: dn::parse(
                "CN=KOKURITSU HANAKO,OU=Cyber Science Infrastructure Development Department,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
            )
            .unwrap(),
            ..summary(5, CertStatus::Valid, 7, Profile::Smime13Months)
        },
    ])
}

#[test]
fn renewal_rules() {
    let i = inst();
    let certs = certs();
    let ctx = Context {
        institution: Some(&i),
        certs: Some(&certs),
        ..Context::default()
    };
    let row = |serial: &str| with(issue_fields(), &[(4, serial)]);
    let browser = format!(
        "line 1: field 3 (download method): {}",
        super::rows::BROWSER_REFUSED
    );
    let cases: Vec<(Vec<Vec<String>>, Vec<&str>)> = vec![
        (vec![row("1")], vec![]),
        (vec![row("0x01")], vec![]),
        (
            vec![row("2")],
            vec!["line 1: field 4 (serial): certificate 0x02 is already revoked"],
        ),
        (
            vec![row("3")],
            vec!["line 1: field 4 (serial): certificate 0x03 belongs to another institution"],
        ),
        (
            vec![row("4")],
            vec![
                "line 1: field 4 (serial): certificate 0x04 is a server certificate (profile 3); name it in a server form (5-3-2 to renew, 5-3-3 to revoke; 13 fields per row)",
            ],
        ),
        (
            vec![row("9")],
            vec!["line 1: field 4 (serial): no certificate with serial 0x09 was issued by this CA"],
        ),
        (
            vec![row("5")],
            vec![
                "line 1: field 1 (subject DN): must equal the DN of the certificate being renewed, OU included (CN=KOKURITSU HANAKO,OU=Cyber Science Infrastructure Development Department,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP)",
            ],
        ),
        (
            vec![row(&"1".repeat(33))],
            vec!["line 1: field 4 (serial): is 33 characters, at most 32 allowed"],
        ),
        (
            vec![row("12AB")],
            vec![
                "line 1: field 4 (serial): must be decimal (1234) or hexadecimal with a 0x prefix (0x04D2), not `12AB` (hexadecimal needs the 0x prefix)",
            ],
        ),
        (
            vec![with(row("1"), &[(5, "1"), (7, "x")])],
            vec![
                "line 1: field 5 (unused): must be empty in a 5-4-2 row",
                "line 1: field 7 (unused): must be empty in a 5-4-2 row",
            ],
        ),
        (
            // The request part follows the 5-4-1 rules.
            vec![with(row("1"), &[(3, "3")])],
            vec![&browser],
        ),
        (
            vec![
                row("1"),
                with(
                    row("0x1"),
                    &[(1, &format!("CN=B,{O}")), (14, "b@example.ac.jp")],
                ),
            ],
            vec![
                "line 2: field 1 (subject DN): must equal the DN of the certificate being renewed, OU included (CN=KOKURITSU HANAKO,OU=12345678,OU=Cyber Science Infrastructure Development Department,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP)",
                "line 2: field 4 (serial): serial 0x01 already appears on line 1; name each certificate once per file",
            ],
        ),
    ];
    for (n, (rows, expected)) in cases.into_iter().enumerate() {
        let c = check_file(&file(&rows), &ctx);
        assert_eq!(lines(&c), expected, "case {n}");
        assert_eq!(c.kind, Some(FormKind::ClientRenew), "case {n}");
    }
    let c = check_file(&file(&[row("1")]), &ctx);
    assert_eq!(
        c.rows,
        [Request::Client(ClientRequest::Renew(ClientRenewRow {
            request: issue_row(1),
            old_serial: Serial::from_bytes(&[1]),
        }))]
    );
}

#[test]
fn revocation_rules() {
    let i = inst();
    let certs = certs();
    let ctx = Context {
        institution: Some(&i),
        certs: Some(&certs),
        ..Context::default()
    };
    let long129 = "x".repeat(129);
    let cases: Vec<(Vec<Vec<String>>, Vec<&str>)> = vec![
        (vec![revoke_fields("1")], vec![]),
        (
            vec![revoke_fields("2")],
            vec!["line 1: field 4 (serial): certificate 0x02 is already revoked"],
        ),
        (
            vec![revoke_fields("3")],
            vec!["line 1: field 4 (serial): certificate 0x03 belongs to another institution"],
        ),
        (
            vec![revoke_fields("4")],
            vec![
                "line 1: field 4 (serial): certificate 0x04 is a server certificate (profile 3); name it in a server form (5-3-2 to renew, 5-3-3 to revoke; 13 fields per row)",
            ],
        ),
        (
            vec![revoke_fields("0x09")],
            vec!["line 1: field 4 (serial): no certificate with serial 0x09 was issued by this CA"],
        ),
        (
            vec![revoke_fields("5")],
            vec![
                "line 1: field 1 (subject DN): must equal the DN of the certificate being revoked (CN=KOKURITSU HANAKO,OU=Cyber Science Infrastructure Development Department,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP)",
            ],
        ),
        (
            vec![with(revoke_fields("1"), &[(5, "2"), (6, &long129)])],
            vec![
                "line 1: field 5 (reason): must be 0 (unspecified), 1 (keyCompromise), 3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation), not `2`",
                "line 1: field 6 (reason comment): is 129 characters, at most 128 allowed",
            ],
        ),
        (
            vec![with(revoke_fields("1"), &[(5, "")])],
            vec!["line 1: field 5 (reason): is required (0, 1, 3, 4 or 5)"],
        ),
        (
            vec![with(revoke_fields("1"), &[(10, "admin"), (14, "user@")])],
            vec![
                "line 1: field 10 (new admin mail): `admin` is not a mail address (no @)",
                "line 1: field 14 (new user mail): `user@` is not a valid mail address",
            ],
        ),
        (
            vec![with(
                revoke_fields("1"),
                &[
                    (7, "x"),
                    (8, "x"),
                    (9, "x"),
                    (11, "x"),
                    (12, "x"),
                    (13, "x"),
                    (15, "x"),
                ],
            )],
            vec![
                "line 1: field 7 (unused): must be empty in a 5-4-3 row",
                "line 1: field 8 (unused): must be empty in a 5-4-3 row",
                "line 1: field 9 (unused): must be empty in a 5-4-3 row",
                "line 1: field 11 (unused): must be empty in a 5-4-3 row",
                "line 1: field 12 (unused): must be empty in a 5-4-3 row",
                "line 1: field 13 (unused): must be empty in a 5-4-3 row",
                "line 1: field 15 (unused): must be empty in a 5-4-3 row",
            ],
        ),
        (
            vec![revoke_fields("1"), revoke_fields("0x0001")],
            vec![
                "line 2: field 4 (serial): serial 0x01 already appears on line 1; name each certificate once per file",
            ],
        ),
    ];
    for (n, (rows, expected)) in cases.into_iter().enumerate() {
        let c = check_file(&file(&rows), &ctx);
        assert_eq!(lines(&c), expected, "case {n}");
        assert_eq!(c.kind, Some(FormKind::ClientRevoke), "case {n}");
    }
    let row = with(
        revoke_fields("1"),
        &[
            (5, "3"),
            (6, "所属変更"),
            (10, "new-admin@example.ac.jp"),
            (14, "new-user@example.ac.jp"),
        ],
    );
    let c = check_file(
        &file(&[
            row,
            with(
                revoke_fields("0x05"),
                &[(
                    1,
                    "C=JP,ST=Tokyo,L=Chiyoda-ku,O=Example University,OU=Cyber Science Infrastructure Development Department,CN=KOKURITSU HANAKO",
                )],
            ),
        ]),
        &ctx,
    );
    // The second row gives the DN in X.509 order: the same DN, exactly reversed.
    assert_eq!(lines(&c), Vec::<String>::new());
    assert_eq!(
        c.rows[0],
        Request::Client(ClientRequest::Revoke(ClientRevokeRow {
            line: 1,
            dn: dn::parse(DN).unwrap(),
            serial: Serial::from_bytes(&[1]),
            reason: RevocationReason::AffiliationChanged,
            comment: "所属変更".into(),
            admin_mail: Some("new-admin@example.ac.jp".into()),
            user_mail: Some("new-user@example.ac.jp".into()),
        }))
    );
}

/// A client revocation whose rows lost every trailing tab reads as a server
/// revocation (fields 1 to 10 are alike); it must not revoke a client
/// certificate through the server path, and says which form to use.
#[test]
fn client_certificate_named_in_a_server_revocation_is_refused() {
    let i = inst();
    let certs = certs();
    let ctx = Context {
        institution: Some(&i),
        certs: Some(&certs),
        ..Context::default()
    };
    let mut row = revoke_fields("1");
    row.truncate(6);
    let c = check_file(&file(&[row]), &ctx);
    assert_eq!(c.kind, Some(FormKind::ServerRevoke));
    assert_eq!(
        lines(&c),
        [
            "line 1: field 4 (serial): certificate 0x01 is a client certificate (profile 13); name it in a client form (5-4-2 to renew, 5-4-3 to revoke; 15 fields per row)"
        ]
    );
}
