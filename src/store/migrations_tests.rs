//! Tests of the schema migrations: each applies once, and databases left by
//! earlier versions migrate with their rows intact.

use super::*;

#[test]
fn migrations_apply_once_and_reopen_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    drop(crate::store::open(&path).unwrap());
    let conn = crate::store::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, MIGRATIONS.len() as i64);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_single_ca_database_migrates_and_its_rows_belong_to_the_rsa_ca() {
    use crate::model::{CaKind, Serial};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    // A database as the previous version left it: schema 1, one revoked
    // certificate and two CRLs.
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO institutions(id, name, st, l, created_at) VALUES (1, 'Example University', 'Tokyo', 'Chiyoda-ku', '2025-01-01T00:00:00Z');
             INSERT INTO certificates(serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after, status, pem, admin_mail, issued_at)
                 VALUES ('0A', 1, 11, 'CN=www.example.ac.jp', 'h', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'revoked', 'pem', 'a@example.ac.jp', '2025-01-01T00:00:00Z');
             INSERT INTO revocations(serial, revoked_at, reason, comment) VALUES ('0A', '2025-02-01T00:00:00Z', 1, '');
             INSERT INTO crls(number, this_update, next_update, der) VALUES (1, '2025-01-01T00:00:00Z', '2025-01-08T00:00:00Z', x'01');
             INSERT INTO crls(number, this_update, next_update, der) VALUES (2, '2025-02-01T00:00:00Z', '2025-02-08T00:00:00Z', x'02');",
        )
        .unwrap();
    }
    let conn = crate::store::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, MIGRATIONS.len() as i64);
    // The old certificate (even a profile 11 one) was signed by the RSA CA.
    let serial = Serial::from_hex("0A").unwrap();
    let cert = crate::store::certificate(&conn, &serial).unwrap().unwrap();
    assert_eq!(cert.ca, Some(CaKind::Rsa));
    assert_eq!(
        crate::store::revocations(&conn, CaKind::Rsa).unwrap().len(),
        1
    );
    assert!(
        crate::store::revocations(&conn, CaKind::Ec)
            .unwrap()
            .is_empty()
    );
    assert!(crate::store::revocation(&conn, &serial).unwrap().is_some());
    // Its CRLs are the RSA CA's; numbering goes on from them, the ECDSA CA starts at 1.
    let (number, _, _, der) = crate::store::latest_crl(&conn, CaKind::Rsa)
        .unwrap()
        .unwrap();
    assert_eq!((number, der), (2, vec![2]));
    assert_eq!(
        crate::store::next_crl_number(&conn, CaKind::Rsa).unwrap(),
        3
    );
    assert_eq!(crate::store::next_crl_number(&conn, CaKind::Ec).unwrap(), 1);
    assert!(
        crate::store::latest_crl(&conn, CaKind::Ec)
            .unwrap()
            .is_none()
    );
    // Both CAs may now hold the same CRL number.
    let t = time::macros::datetime!(2025-03-01 00:00:00 UTC);
    crate::store::insert_crl(&conn, CaKind::Ec, 1, t, t + time::Duration::days(7), b"e").unwrap();
    crate::store::insert_crl(&conn, CaKind::Rsa, 3, t, t + time::Duration::days(7), b"r").unwrap();
    assert!(
        crate::store::insert_crl(&conn, CaKind::Ec, 1, t, t, b"again").is_err(),
        "a CRL number is used once per CA"
    );
    assert_eq!(crate::store::next_crl_number(&conn, CaKind::Ec).unwrap(), 2);
}

#[test]
fn migration_10_keeps_every_certificate_and_what_refers_to_it() {
    use crate::model::{CaKind, CertKind, Profile, Serial};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    // A database as version 9 left it: a server, a client and an S/MIME
    // certificate, one revoked, one renewed, one reminded.
    {
        let mut conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..9] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 9).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(
            "INSERT INTO institutions(id, name, st, l, created_at) VALUES (1, 'Example University', 'Tokyo', 'Chiyoda-ku', '2025-01-01T00:00:00Z');
             INSERT INTO certificates(serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after, status, pem, admin_mail, issued_at, ca, fqdn)
                 VALUES ('0A', 1, 11, 'CN=www.example.ac.jp', 'h1', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'revoked', 'pem', 'a@example.ac.jp', '2025-01-01T00:00:00Z', 'ec', 'www.example.ac.jp');
             INSERT INTO certificates(serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after, status, pem, admin_mail, renewed_from, issued_at, ca)
                 VALUES ('0B', 1, 3, 'CN=www.example.ac.jp', 'h2', '2025-02-01T00:00:00Z', '2026-02-01T00:00:00Z', 'valid', 'pem', 'a@example.ac.jp', '0A', '2025-02-01T00:00:00Z', 'rsa');
             INSERT INTO certificates(serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after, status, pem, admin_mail, issued_at, ca, user_mail, download_method)
                 VALUES ('0C', 1, 15, 'CN=u@example.ac.jp', 'h3', '2025-03-01T00:00:00Z', '2026-03-01T00:00:00Z', 'valid', 'pem', 'a@example.ac.jp', '2025-03-01T00:00:00Z', 'rsa', 'u@example.ac.jp', 1);
             INSERT INTO certificates(serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after, status, pem, admin_mail, issued_at, ca)
                 VALUES ('0D', 1, 5, 'CN=Taro', 'h4', '2025-03-01T00:00:00Z', '2026-03-01T00:00:00Z', 'valid', 'pem', 'a@example.ac.jp', '2025-03-01T00:00:00Z', 'rsa');
             INSERT INTO revocations(serial, revoked_at, reason, comment) VALUES ('0A', '2025-02-15T00:00:00Z', 4, '');
             INSERT INTO reminders(kind, serial, sent_at) VALUES ('expiry-digest', '0B', '2025-12-01T00:00:00Z');",
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let conn = crate::store::open(&path).unwrap();
    let fks: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(fks, "foreign keys are on again after migrating");
    let get = |h: &str| {
        crate::store::certificate(&conn, &Serial::from_hex(h).unwrap())
            .unwrap()
            .unwrap()
    };
    for (serial, kind, profile, ca) in [
        ("0A", CertKind::Server, Profile::ServerP384, CaKind::Ec),
        ("0B", CertKind::Server, Profile::ServerRsa2048, CaKind::Rsa),
        ("0C", CertKind::Smime, Profile::Smime13Months, CaKind::Rsa),
        ("0D", CertKind::Client, Profile::Client48Months, CaKind::Rsa),
    ] {
        let c = get(serial);
        assert_eq!(
            (c.kind, c.profile, c.ca, c.import_ca, c.imported_at),
            (kind, Some(profile), Some(ca), None, None),
            "{serial}"
        );
    }
    assert_eq!(
        get("0B").renewed_from,
        Some(Serial::from_hex("0A").unwrap())
    );
    assert_eq!(get("0C").user_mail.as_deref(), Some("u@example.ac.jp"));
    assert_eq!(
        crate::store::server_details(&conn, &Serial::from_hex("0A").unwrap())
            .unwrap()
            .unwrap()
            .fqdn,
        "www.example.ac.jp"
    );
    assert_eq!(
        crate::store::revocations(&conn, CaKind::Ec).unwrap().len(),
        1
    );
    let n: i64 = conn
        .query_row("SELECT count(*) FROM reminders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    // Indexes kept.
    for index in ["certificates_spki", "certificates_renewed_from"] {
        let found: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [index],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1, "{index}");
    }
    // An imported certificate: no profile, an import CA; a row with
    // neither CA nor import CA, or neither profile nor import, is refused.
    let insert = |serial: &str, profile: &str, ca: &str, import_ca: &str, imported: &str| {
        conn.execute(
            &format!(
                "INSERT INTO certificates(serial, institution_id, profile, subject_dn, spki_sha256, not_before, not_after,
                     status, pem, admin_mail, issued_at, ca, kind, import_ca, imported_at)
                 VALUES ('{serial}', 1, {profile}, 'CN=x', 'h', '2025-01-01T00:00:00Z', '2027-01-01T00:00:00Z',
                     'valid', 'pem', '', '2025-01-01T00:00:00Z', {ca}, 'codesign', {import_ca}, {imported})"
            ),
            [],
        )
    };
    let t = "'2025-06-01T00:00:00Z'";
    assert!(insert("E1", "NULL", "NULL", "'codesign-ca'", t).is_ok());
    assert!(insert("E2", "NULL", "NULL", "NULL", t).is_err());
    assert!(insert("E3", "NULL", "'rsa'", "'codesign-ca'", t).is_err());
    assert!(insert("E4", "NULL", "'rsa'", "NULL", "NULL").is_err());
    let e1 = get("E1");
    assert_eq!(
        (e1.kind, e1.profile, e1.ca, e1.import_ca.as_deref()),
        (CertKind::CodeSigning, None, None, Some("codesign-ca"))
    );
}

#[test]
fn migrations_14_and_15_keep_every_message_byte_for_byte_in_its_own_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    // A database as version 13 left it: a received mail, its reply, the
    // messages in their rows (binary, with a NUL and a high byte).
    let mail: &[u8] = b"From: a@example.ac.jp\r\n\r\nbody \x00\xff";
    let reply: &[u8] = b"From: robot@example.ac.jp\r\n\r\nreply \x00\xfe";
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..13] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 13).unwrap();
        conn.execute(
            "INSERT INTO mails(id, received_at, source, raw, raw_sha256, verdict, detail, filed_at)
             VALUES (7, '2026-01-01T00:00:00Z', 'maildir:x', ?1, 'h', 'accepted', '', '2026-01-01T00:00:00Z')",
            [mail],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO outbox(id, mail_id, created_at, message_id, sender, recipients, kind, subject, raw, status)
             VALUES (3, 7, '2026-01-01T00:00:00Z', '<m@x>', 'robot@example.ac.jp', 'a@example.ac.jp', 'result', 's', ?1, 'pending')",
            [reply],
        )
        .unwrap();
    }
    let conn = crate::store::open(&path).unwrap();
    let stored = crate::store::mail(&conn, 7).unwrap().unwrap();
    assert_eq!(stored.raw, mail);
    assert_eq!(
        crate::store::outbox_raw(&conn, 3).unwrap(),
        Some(reply.to_vec())
    );
    for table in ["mails", "outbox"] {
        let cols: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(!cols.iter().any(|c| c == "raw"), "{table}: {cols:?}");
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(
        crate::store::open(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[test]
fn outbox_look_ups_use_their_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open(&dir.path().join("t.sqlite")).unwrap();
    for (query, index) in [
        (
            "SELECT id FROM outbox WHERE status = ?1 ORDER BY id",
            "outbox_status",
        ),
        (
            "SELECT id FROM outbox WHERE mail_id = ?1 ORDER BY id",
            "outbox_mail",
        ),
    ] {
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
            .unwrap()
            .query_map(["x"], |r| r.get::<_, String>(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(plan.iter().any(|p| p.contains(index)), "{query}: {plan:?}");
    }
}
