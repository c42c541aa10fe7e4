//! Table tests of the certificate queries (`store::certificates`).

use super::*;
use crate::store::testing::{cert, db};
use time::macros::datetime;

#[test]
fn find_certificates_applies_every_condition_given() {
    let (_dir, conn) = db();
    let t = datetime!(2026-04-01 00:00:00 UTC);
    let day = time::Duration::DAY;
    let a = cert(&conn, 1, CaKind::Rsa, t);
    let b = cert(&conn, 2, CaKind::Ec, t + 10 * day);
    let mut c = certificate(&conn, &a).unwrap().unwrap();
    // Imported: no profile, an import CA, a user address.
    c.serial = Serial::from_bytes(&[3]);
    c.profile = None;
    c.kind = CertKind::Client;
    c.ca = None;
    c.import_ca = Some("old-ca".into());
    c.imported_at = Some(t + 20 * day);
    c.issued_at = t + 20 * day;
    c.user_mail = Some("User@Example.ac.jp".into());
    c.subject_dn = "CN=Hanako Suzuki,O=Example University".into();
    insert_certificate(&conn, &c).unwrap();
    // A renewal of `a`, then `a` revoked.
    let mut d = certificate(&conn, &b).unwrap().unwrap();
    d.serial = Serial::from_bytes(&[4]);
    d.renewed_from = Some(a.clone());
    d.issued_at = t + 30 * day;
    d.not_after = t + 500 * day;
    insert_certificate(&conn, &d).unwrap();
    crate::store::revoke(
        &conn,
        &crate::store::Revocation {
            serial: a.clone(),
            revoked_at: t + 31 * day,
            reason: RevocationReason::Superseded,
            comment: String::new(),
        },
        None,
    )
    .unwrap();
    let f = CertFilter::default;
    let at = |d: i64| Some(t + time::Duration::days(d));
    for (filter, want) in [
        (f(), vec![1, 2, 3, 4]),
        (
            CertFilter {
                serial: Some(b.clone()),
                ..f()
            },
            vec![2],
        ),
        (
            CertFilter {
                subject_contains: Some("hanako SUZUKI".into()),
                ..f()
            },
            vec![3],
        ),
        (
            CertFilter {
                subject_contains: Some("www.".into()),
                ..f()
            },
            vec![1, 2, 4],
        ),
        (
            CertFilter {
                institution_contains: Some("example UNIV".into()),
                ..f()
            },
            vec![1, 2, 3, 4],
        ),
        (
            CertFilter {
                institution_contains: Some("Sample".into()),
                ..f()
            },
            vec![],
        ),
        (
            CertFilter {
                institution_id: Some(2),
                ..f()
            },
            vec![],
        ),
        (
            CertFilter {
                mail: Some("user@example.AC.JP".into()),
                ..f()
            },
            vec![3],
        ),
        (
            CertFilter {
                mail: Some("A@example.ac.jp".into()),
                ..f()
            },
            vec![1, 2, 3, 4],
        ),
        (
            CertFilter {
                mail: Some("example.ac.jp".into()),
                ..f()
            },
            vec![],
        ),
        (
            CertFilter {
                profile: Some(Profile::ServerP384),
                ..f()
            },
            vec![2, 4],
        ),
        (
            CertFilter {
                kind: Some(CertKind::Client),
                ..f()
            },
            vec![3],
        ),
        (
            CertFilter {
                status: Some(CertStatus::Revoked),
                ..f()
            },
            vec![1],
        ),
        // notAfter of 1 and 3: t+396; of 2: t+406; of 4: t+500.
        (
            CertFilter {
                status: Some(CertStatus::Valid),
                unexpired_at: at(400),
                ..f()
            },
            vec![2, 4],
        ),
        (
            CertFilter {
                status: Some(CertStatus::Valid),
                expired_at: at(400),
                ..f()
            },
            vec![3],
        ),
        (
            CertFilter {
                expires: Period {
                    from: at(396),
                    until: at(407),
                },
                ..f()
            },
            vec![1, 2, 3],
        ),
        (
            CertFilter {
                expires: Period {
                    from: at(397),
                    until: None,
                },
                ..f()
            },
            vec![2, 4],
        ),
        (
            CertFilter {
                issued: Period {
                    from: at(10),
                    until: at(30),
                },
                ..f()
            },
            vec![2, 3],
        ),
        (
            CertFilter {
                issued_here: true,
                ..f()
            },
            vec![1, 2, 4],
        ),
        (
            CertFilter {
                renewal: Some(true),
                ..f()
            },
            vec![4],
        ),
        (
            CertFilter {
                renewal: Some(false),
                issued_here: true,
                ..f()
            },
            vec![1, 2],
        ),
    ] {
        let got: Vec<u8> = find_certificates(&conn, &filter)
            .unwrap()
            .iter()
            .map(|c| c.serial.as_bytes()[0])
            .collect();
        assert_eq!(got, want, "{filter:?}");
    }
}

#[test]
fn a_certificate_reads_back_as_stored_and_its_admin_mail_can_change() {
    let (_dir, conn) = db();
    let t = datetime!(2025-04-01 00:00:00 UTC);
    let s = cert(&conn, 7, CaKind::Ec, t);
    let c = certificate(&conn, &s).unwrap().unwrap();
    assert_eq!(
        (
            c.status,
            c.ca,
            c.profile,
            c.issued_at,
            c.admin_mail.as_str()
        ),
        (
            CertStatus::Valid,
            Some(CaKind::Ec),
            Some(Profile::ServerP384),
            t,
            "a@example.ac.jp"
        )
    );
    set_admin_mail(&conn, &s, "new@example.ac.jp").unwrap();
    assert_eq!(
        certificate(&conn, &s).unwrap().unwrap().admin_mail,
        "new@example.ac.jp"
    );
    assert!(
        certificate(&conn, &Serial::from_bytes(&[9]))
            .unwrap()
            .is_none()
    );
}
