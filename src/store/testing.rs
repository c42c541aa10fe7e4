//! Fixtures for the store's unit tests: a real SQLite file in a temporary
//! directory, and rows the tests build on.

use rusqlite::Connection;
use time::OffsetDateTime;

use super::*;
use crate::model::{CaKind, CertStatus, Profile, Serial, Verdict};

/// A fresh database with one institution (id 1).
pub fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = open(&dir.path().join("t.sqlite")).unwrap();
    let t0 = time::macros::datetime!(2025-01-01 00:00:00 UTC);
    add_institution(&conn, "Example University", "Tokyo", "Chiyoda-ku", &[], t0).unwrap();
    (dir, conn)
}

/// A mail received at `at` with this verdict; `tag` makes its bytes unique.
pub fn mail_at(conn: &Connection, at: OffsetDateTime, verdict: Verdict, tag: &str) -> i64 {
    insert_mail(
        conn,
        &MailRecord {
            received_at: at,
            source: "test",
            raw: tag.as_bytes(),
            raw_sha256: tag,
            message_id: None,
            from_addr: Some("officer@example.ac.jp"),
            subject: Some(tag),
            signed_sha256: None,
            signer_spki_sha256: None,
            officer_id: None,
            verdict,
            detail: "",
            dry_run: false,
            executed: false,
            folder: "INBOX",
            keywords: &[],
            rule: None,
        },
    )
    .unwrap()
}

/// A valid certificate of institution 1 with a one-byte serial.
pub fn cert(conn: &Connection, serial: u8, ca: CaKind, at: OffsetDateTime) -> Serial {
    let serial = Serial::from_bytes(&[serial]);
    insert_certificate(
        conn,
        &CertRecord {
            serial: serial.clone(),
            institution_id: 1,
            profile: Some(match ca {
                CaKind::Rsa => Profile::ServerRsa2048,
                CaKind::Ec => Profile::ServerP384,
            }),
            kind: crate::model::CertKind::Server,
            subject_dn: "CN=www.example.ac.jp".into(),
            spki_sha256: String::new(),
            not_before: at,
            not_after: at + time::Duration::days(396),
            status: CertStatus::Valid,
            pem: String::new(),
            admin_mail: "a@example.ac.jp".into(),
            renewed_from: None,
            issued_at: at,
            mail_id: None,
            ca: Some(ca),
            import_ca: None,
            imported_at: None,
            applied_dn: None,
            user_mail: None,
        },
    )
    .unwrap();
    serial
}
