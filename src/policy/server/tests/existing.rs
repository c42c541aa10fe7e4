//! Rows naming an existing certificate: renewal (5-3-2) and revocation (5-3-3).

use super::*;
use crate::model::{Request, RevocationReason};

#[test]
fn renewal_rules() {
    let i = inst();
    let certs = Certs(vec![
        summary(1, CertStatus::Valid, 7, rsa2048()),
        summary(2, CertStatus::Revoked, 7, rsa2048()),
        summary(3, CertStatus::Valid, 8, rsa2048()),
        crate::model::CertSummary {
            dn: dn::parse("CN=old.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP")
                .unwrap(),
            ..summary(4, CertStatus::Valid, 7, rsa2048())
        },
    ]);
    let ctx = Context {
        institution: Some(&i),
        certs: Some(&certs),
        ecdsa_ca: None,
        reserved_keys: &[],
    };
    let new_key = csr(DN, rsa2048_b());
    let row = |serial: &str, csr: &str| {
        let mut f = issue_fields(csr);
        f[3] = serial.into();
        f
    };
    let cases: Vec<(Vec<Vec<String>>, Vec<&str>)> = vec![
        (vec![row("1", &new_key)], vec![]),
        (
            vec![row("0x01", &csr(DN, rsa2048()))],
            vec![
                "line 1: field 7 (CSR): reuses the key of the certificate being renewed; generate a new key pair",
            ],
        ),
        (
            vec![row("2", &new_key)],
            vec!["line 1: field 4 (serial): certificate 0x02 is already revoked"],
        ),
        (
            vec![row("3", &new_key)],
            vec!["line 1: field 4 (serial): certificate 0x03 belongs to another institution"],
        ),
        (
            vec![row("9", &new_key)],
            vec!["line 1: field 4 (serial): no certificate with serial 0x09 was issued by this CA"],
        ),
        (
            vec![row("4", &new_key)],
            vec![
                "line 1: field 1 (subject DN): must equal the DN of the certificate being renewed (CN=old.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP)",
            ],
        ),
        (
            vec![row("1", &new_key), row("0x1", &new_key)],
            vec![
                "line 2: field 4 (serial): serial 0x01 already appears on line 1; name each certificate once per file",
            ],
        ),
        (
            vec![{
                let mut f = row("1", &new_key);
                f[4] = "1".into();
                f
            }],
            vec!["line 1: field 5 (unused): must be empty in a 5-3-2 row"],
        ),
    ];
    for (n, (rows, expected)) in cases.into_iter().enumerate() {
        let c = check_file(&file(&rows), &ctx);
        assert_eq!(lines(&c), expected, "case {n}");
        assert_eq!(c.kind, Some(FormKind::ServerRenew));
    }
    let c = check_file(&file(&[row("1", &new_key)]), &ctx);
    match &c.rows[..] {
        [Request::Server(ServerRequest::Renew(r))] => {
            assert_eq!(r.old_serial, Serial::from_bytes(&[1]))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn revocation_rules() {
    let i = inst();
    let certs = Certs(vec![
        summary(1, CertStatus::Valid, 7, rsa2048()),
        summary(2, CertStatus::Revoked, 7, rsa2048()),
        summary(3, CertStatus::Valid, 8, rsa2048()),
    ]);
    let ctx = Context {
        institution: Some(&i),
        certs: Some(&certs),
        ecdsa_ca: None,
        reserved_keys: &[],
    };
    let row = |dn: &str, serial: &str, reason: &str| {
        let mut f = vec![String::new(); 13];
        f[0] = dn.into();
        f[3] = serial.into();
        f[4] = reason.into();
        f[5] = "サーバ廃止のため".into();
        f
    };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (row(DN, "1", "5"), vec![]),
        (
            row(DN, "1", "2"),
            vec![
                "line 1: field 5 (reason): must be 0 (unspecified), 1 (keyCompromise), 3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation), not `2`",
            ],
        ),
        (
            row(DN, "1", ""),
            vec!["line 1: field 5 (reason): is required (0, 1, 3, 4 or 5)"],
        ),
        (
            row(DN, "2", "1"),
            vec!["line 1: field 4 (serial): certificate 0x02 is already revoked"],
        ),
        (
            row(DN, "3", "1"),
            vec!["line 1: field 4 (serial): certificate 0x03 belongs to another institution"],
        ),
        (
            row(
                "CN=web.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP",
                "1",
                "0",
            ),
            vec![
                "line 1: field 1 (subject DN): must equal the DN of the certificate being revoked (CN=www.example.ac.jp,O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP)",
            ],
        ),
        (
            {
                let mut f = row(DN, "1", "4");
                f[9] = "new-admin@example.ac.jp".into();
                f
            },
            vec![],
        ),
        (
            {
                let mut f = row(DN, "1", "4");
                f[9] = "new admin".into();
                f
            },
            vec!["line 1: field 10 (admin mail): must be half-width, without spaces"],
        ),
        (
            {
                let mut f = row(DN, "1", "4");
                f[5] = "あ".repeat(129);
                f
            },
            vec!["line 1: field 6 (reason comment): is 129 characters, at most 128 allowed"],
        ),
        (
            {
                let mut f = row(DN, "1", "4");
                f[1] = "3".into();
                f[12] = "x".into();
                f
            },
            vec![
                "line 1: field 2 (unused): must be empty in a 5-3-3 row",
                "line 1: field 13 (unused): must be empty in a 5-3-3 row",
            ],
        ),
    ];
    for (n, (f, expected)) in cases.into_iter().enumerate() {
        let c = check_file(&file(&[f]), &ctx);
        assert_eq!(lines(&c), expected, "case {n}");
    }
    // Offline, the store checks are skipped.
    let c = check_file(&file(&[row(DN, "2", "1")]), &Context::default());
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    match &c.rows[..] {
        [Request::Server(ServerRequest::Revoke(r))] => {
            assert_eq!(r.reason, RevocationReason::KeyCompromise);
            assert_eq!(r.admin_mail, None);
        }
        other => panic!("{other:?}"),
    }
}
