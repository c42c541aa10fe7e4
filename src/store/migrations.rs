//! Schema migrations, numbered from the first version on. A migration is
//! never edited once released; a change is a new entry at the end.

use rusqlite::Connection;

use super::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE institutions(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        st TEXT NOT NULL,
        l TEXT NOT NULL,
        created_at TEXT NOT NULL);
    CREATE TABLE institution_domains(
        institution_id INTEGER NOT NULL REFERENCES institutions(id),
        domain TEXT NOT NULL UNIQUE,
        PRIMARY KEY(institution_id, domain));
    CREATE TABLE officers(
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        institution_id INTEGER NOT NULL REFERENCES institutions(id),
        created_at TEXT NOT NULL,
        removed_at TEXT);
    CREATE TABLE mails(
        id INTEGER PRIMARY KEY,
        received_at TEXT NOT NULL,
        source TEXT NOT NULL,
        raw BLOB NOT NULL,
        raw_sha256 TEXT NOT NULL,
        message_id TEXT,
        from_addr TEXT,
        subject TEXT,
        signed_sha256 TEXT,
        officer_id INTEGER REFERENCES officers(id),
        verdict TEXT NOT NULL,
        detail TEXT NOT NULL,
        dry_run INTEGER NOT NULL DEFAULT 0,
        executed INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX mails_raw ON mails(raw_sha256);
    -- exactly once: signed content is carried out by at most one mail
    CREATE UNIQUE INDEX mails_executed ON mails(signed_sha256) WHERE executed = 1;
    CREATE TABLE applications(
        id INTEGER PRIMARY KEY,
        mail_id INTEGER NOT NULL REFERENCES mails(id),
        filename TEXT NOT NULL,
        form TEXT,
        sha256 TEXT NOT NULL,
        status TEXT NOT NULL);
    CREATE TABLE application_rows(
        id INTEGER PRIMARY KEY,
        application_id INTEGER NOT NULL REFERENCES applications(id),
        line INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        serial TEXT,
        detail TEXT NOT NULL);
    CREATE TABLE certificates(
        serial TEXT PRIMARY KEY,
        institution_id INTEGER NOT NULL REFERENCES institutions(id),
        profile INTEGER NOT NULL,
        subject_dn TEXT NOT NULL,
        spki_sha256 TEXT NOT NULL,
        not_before TEXT NOT NULL,
        not_after TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('valid', 'revoked')),
        pem TEXT NOT NULL,
        admin_mail TEXT NOT NULL,
        renewed_from TEXT REFERENCES certificates(serial),
        issued_at TEXT NOT NULL,
        mail_id INTEGER REFERENCES mails(id));
    CREATE INDEX certificates_spki ON certificates(spki_sha256);
    CREATE TABLE revocations(
        serial TEXT PRIMARY KEY REFERENCES certificates(serial),
        revoked_at TEXT NOT NULL,
        reason INTEGER NOT NULL,
        comment TEXT,
        mail_id INTEGER REFERENCES mails(id));
    CREATE TABLE crls(
        number INTEGER PRIMARY KEY,
        this_update TEXT NOT NULL,
        next_update TEXT NOT NULL,
        der BLOB NOT NULL);
    CREATE TABLE outbox(
        id INTEGER PRIMARY KEY,
        mail_id INTEGER REFERENCES mails(id),
        created_at TEXT NOT NULL,
        message_id TEXT NOT NULL UNIQUE,
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        raw BLOB NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        sent_at TEXT,
        transport_id TEXT);
    CREATE TABLE audit(
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        mail_id INTEGER REFERENCES mails(id),
        serial TEXT,
        detail TEXT NOT NULL);
    "#,
    // 2: filing by rules (folder, IMAP keywords, the deciding rule) and the
    // review of held mails.
    r#"
    ALTER TABLE mails ADD COLUMN folder TEXT;
    ALTER TABLE mails ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
    ALTER TABLE mails ADD COLUMN rule TEXT;
    CREATE INDEX mails_verdict ON mails(verdict);
    "#,
];

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
