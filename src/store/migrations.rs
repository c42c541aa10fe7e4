//! Schema migrations, numbered from the first version on. A migration is
//! never edited once released; a change is a new entry at the end.

use rusqlite::{Connection, OptionalExtension};

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
    // 2: a second (ECDSA P-384) issuing CA. Every certificate records the CA
    // that signed it; CRLs are kept per CA, each with its own cRLNumber
    // sequence. Everything before this version was signed by the RSA CA.
    r#"
    ALTER TABLE certificates ADD COLUMN ca TEXT NOT NULL DEFAULT 'rsa' CHECK (ca IN ('rsa', 'ec'));
    CREATE TABLE crls_per_ca(
        ca TEXT NOT NULL CHECK (ca IN ('rsa', 'ec')),
        number INTEGER NOT NULL,
        this_update TEXT NOT NULL,
        next_update TEXT NOT NULL,
        der BLOB NOT NULL,
        PRIMARY KEY(ca, number));
    INSERT INTO crls_per_ca(ca, number, this_update, next_update, der)
        SELECT 'rsa', number, this_update, next_update, der FROM crls;
    DROP TABLE crls;
    ALTER TABLE crls_per_ca RENAME TO crls;
    "#,
    // 3: live mail. Where each mail was filed (NULL: processed but not yet
    // moved, so a restart files it without answering it again); the IMAP
    // position per mailbox; when a failed reply may be tried again.
    r#"
    ALTER TABLE mails ADD COLUMN filed_at TEXT;
    ALTER TABLE mails ADD COLUMN filed_to TEXT;
    UPDATE mails SET filed_at = received_at;
    CREATE INDEX mails_unfiled ON mails(raw_sha256) WHERE filed_at IS NULL;
    CREATE TABLE imap_state(
        mailbox TEXT PRIMARY KEY,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        updated_at TEXT NOT NULL);
    ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
    "#,
    // 4: filing by rules (folder, IMAP keywords, the deciding rule) and the
    // review of held mails.
    r#"
    ALTER TABLE mails ADD COLUMN folder TEXT;
    ALTER TABLE mails ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
    ALTER TABLE mails ADD COLUMN rule TEXT;
    CREATE INDEX mails_verdict ON mails(verdict);
    "#,
    // 5: a reply's recipients one by one, when the server refused some of
    // them: who has it (never sent twice) and who was refused, and why.
    r#"
    ALTER TABLE outbox ADD COLUMN delivered_to TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE outbox ADD COLUMN refused TEXT NOT NULL DEFAULT '[]';
    -- The IMAP intake looks for reviewed mails to refile at every pass.
    CREATE INDEX mails_refile ON mails(id) WHERE folder <> filed_to;
    "#,
    // 6: the outbox is looked up by status (every pass of the senders) and
    // by mail; without indexes each look-up read every stored reply, blobs
    // included (status sits after the raw message in the row).
    r#"
    CREATE INDEX outbox_status ON outbox(status);
    CREATE INDEX outbox_mail ON outbox(mail_id);
    "#,
    // 7: reminders. What a server row said beyond the DN (admin name and
    // dept, FQDN, software, the dNSNames as a JSON array), so an expiry
    // digest can pre-fill the renewal row (NULL for certificates issued
    // before); whether an institution's officers get expiry digests; and
    // each reminder sent, once per kind and certificate (the 2-2-9 reminder
    // names the old certificate, a digest each certificate it lists).
    r#"
    ALTER TABLE certificates ADD COLUMN admin_name TEXT;
    ALTER TABLE certificates ADD COLUMN admin_dept TEXT;
    ALTER TABLE certificates ADD COLUMN fqdn TEXT;
    ALTER TABLE certificates ADD COLUMN software TEXT;
    ALTER TABLE certificates ADD COLUMN dns_names TEXT;
    CREATE INDEX certificates_renewed_from ON certificates(renewed_from) WHERE renewed_from IS NOT NULL;
    ALTER TABLE institutions ADD COLUMN expiry_digest INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE reminders(
        kind TEXT NOT NULL CHECK (kind IN ('renewal-revoke', 'expiry-digest')),
        serial TEXT NOT NULL REFERENCES certificates(serial),
        sent_at TEXT NOT NULL,
        outbox_id INTEGER REFERENCES outbox(id),
        PRIMARY KEY(kind, serial));
    "#,
    // 8: client and S/MIME certificates. The DN as applied for (an S/MIME
    // certificate's subject carries less than the row gave) and what else
    // a 5-4-1 row said (user's name, dept and address, the P12 file name,
    // the download method), so a renewal row can be pre-filled; an
    // institution's PKCS#12 encryption when it differs from the instance's,
    // and its organizationIdentifier (S/MIME BR: NTRJP- and the corporate
    // number) for S/MIME subjects.
    r#"
    ALTER TABLE certificates ADD COLUMN applied_dn TEXT;
    ALTER TABLE certificates ADD COLUMN user_name TEXT;
    ALTER TABLE certificates ADD COLUMN user_dept TEXT;
    ALTER TABLE certificates ADD COLUMN user_mail TEXT;
    ALTER TABLE certificates ADD COLUMN p12_name TEXT;
    ALTER TABLE certificates ADD COLUMN download_method INTEGER;
    ALTER TABLE institutions ADD COLUMN p12_encryption TEXT;
    ALTER TABLE institutions ADD COLUMN organization_identifier TEXT;
    "#,
    // 9: replies carrying secrets (a PKCS#12, access PINs) are marked, and
    // their message is replaced by a stub once sent (`wiped_at` says when).
    r#"
    ALTER TABLE outbox ADD COLUMN secret INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN wiped_at TEXT;
    "#,
    // 10: certificates mailra did not issue (`mailra registry import-cert`).
    // They have a kind (from the EKU: server, client, smime, codesign) but
    // in general no profile ID, and their issuer is either one of the
    // instance's CAs (`ca`) or a CA configured for import whose key the
    // instance does not hold (`import_ca`, the name of `[ca] import_cas`
    // entry; its revocations are exported, not put on a CRL). SQLite needs
    // a table rebuild to change NOT NULL and CHECK constraints; every row
    // is kept (kind from the profile), and so are its indexes.
    r#"
    CREATE TABLE certificates_v10(
        serial TEXT PRIMARY KEY,
        institution_id INTEGER NOT NULL REFERENCES institutions(id),
        profile INTEGER,
        subject_dn TEXT NOT NULL,
        spki_sha256 TEXT NOT NULL,
        not_before TEXT NOT NULL,
        not_after TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('valid', 'revoked')),
        pem TEXT NOT NULL,
        admin_mail TEXT NOT NULL,
        renewed_from TEXT REFERENCES certificates(serial),
        issued_at TEXT NOT NULL,
        mail_id INTEGER REFERENCES mails(id),
        ca TEXT CHECK (ca IN ('rsa', 'ec')),
        admin_name TEXT,
        admin_dept TEXT,
        fqdn TEXT,
        software TEXT,
        dns_names TEXT,
        applied_dn TEXT,
        user_name TEXT,
        user_dept TEXT,
        user_mail TEXT,
        p12_name TEXT,
        download_method INTEGER,
        kind TEXT NOT NULL CHECK (kind IN ('server', 'client', 'smime', 'codesign')),
        import_ca TEXT,
        imported_at TEXT,
        CHECK ((ca IS NULL) <> (import_ca IS NULL)),
        CHECK (profile IS NOT NULL OR imported_at IS NOT NULL));
    INSERT INTO certificates_v10(serial, institution_id, profile, subject_dn, spki_sha256, not_before,
            not_after, status, pem, admin_mail, renewed_from, issued_at, mail_id, ca, admin_name,
            admin_dept, fqdn, software, dns_names, applied_dn, user_name, user_dept, user_mail,
            p12_name, download_method, kind)
        SELECT serial, institution_id, profile, subject_dn, spki_sha256, not_before,
            not_after, status, pem, admin_mail, renewed_from, issued_at, mail_id, ca, admin_name,
            admin_dept, fqdn, software, dns_names, applied_dn, user_name, user_dept, user_mail,
            p12_name, download_method,
            CASE WHEN profile IN (3, 11) THEN 'server'
                 WHEN profile IN (7, 15, 16) THEN 'smime'
                 ELSE 'client' END
        FROM certificates;
    DROP TABLE certificates;
    ALTER TABLE certificates_v10 RENAME TO certificates;
    CREATE INDEX certificates_spki ON certificates(spki_sha256);
    CREATE INDEX certificates_renewed_from ON certificates(renewed_from) WHERE renewed_from IS NOT NULL;
    CREATE INDEX certificates_import_ca ON certificates(import_ca) WHERE import_ca IS NOT NULL;
    "#,
    // 11: `mailra applications delete`: an
    // errored application's mail is hidden from the lists, never erased (its
    // raw bytes stay; the audit log says who deleted it and when).
    r#"
    ALTER TABLE mails ADD COLUMN deleted_at TEXT;
    ALTER TABLE mails ADD COLUMN deleted_by TEXT;
    "#,
    // 12: the robot's heartbeat: one row, rewritten at
    // each intake pass of `mailra run`, so `mailra status` tells how the
    // robot is doing without reaching the IMAP server (`store::heartbeat`).
    r#"
    CREATE TABLE heartbeat(
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at TEXT NOT NULL,
        intake TEXT NOT NULL CHECK (intake IN ('maildir', 'imap')),
        daemon INTEGER NOT NULL,
        every_seconds INTEGER NOT NULL,
        waiting INTEGER NOT NULL,
        oldest_waiting TEXT,
        key_pool_level INTEGER NOT NULL,
        key_pool_capacity INTEGER NOT NULL);
    "#,
    // 13: maintenance mode: the maintenance periods (at most one
    // open: the unique partial index) and the notices sent in each: one per
    // officer per period, which the primary key guarantees.
    r#"
    CREATE TABLE maintenance_periods(
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        started_by TEXT NOT NULL,
        message TEXT NOT NULL,
        until TEXT,
        ended_at TEXT,
        ended_by TEXT);
    CREATE UNIQUE INDEX maintenance_one_open ON maintenance_periods((ended_at IS NULL))
        WHERE ended_at IS NULL;
    CREATE TABLE maintenance_notices(
        period_id INTEGER NOT NULL REFERENCES maintenance_periods(id),
        officer_id INTEGER NOT NULL REFERENCES officers(id),
        sent_at TEXT NOT NULL,
        mail_id INTEGER REFERENCES mails(id),
        outbox_id INTEGER REFERENCES outbox(id),
        PRIMARY KEY(period_id, officer_id));
    "#,
    // 14: a reply's message in a table of its own. SQLite rewrites a whole
    // row when one of its columns changes size, so marking a reply sent
    // (status, sent_at) rewrote its message too, tens of kilobytes each:
    // a third of what a 99-row mail wrote to the log.
    r#"
    CREATE TABLE outbox_raw(
        outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id),
        raw BLOB NOT NULL);
    INSERT INTO outbox_raw(outbox_id, raw) SELECT id, raw FROM outbox;
    ALTER TABLE outbox DROP COLUMN raw;
    "#,
    // 15: a received mail's bytes in a table of their own, for the same
    // reason as 14: recording its verdict, filing it and refiling it after a
    // review changed columns of its row and rewrote the whole message.
    r#"
    CREATE TABLE mail_raw(
        mail_id INTEGER PRIMARY KEY REFERENCES mails(id),
        raw BLOB NOT NULL);
    INSERT INTO mail_raw(mail_id, raw) SELECT id, raw FROM mails;
    ALTER TABLE mails DROP COLUMN raw;
    "#,
    // 16: the key of the officer certificate that signed a mail (a
    // registered officer's, verified): no CSR may carry the signing key of
    // any officer, not only of the officer whose mail is at hand.
    r#"
    ALTER TABLE mails ADD COLUMN signer_spki_sha256 TEXT;
    CREATE INDEX mails_signer_key ON mails(signer_spki_sha256)
        WHERE signer_spki_sha256 IS NOT NULL;
    "#,
];

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    // A table rebuild (migration 10) drops a table other tables refer to:
    // foreign keys are off while migrating (the pragma is a no-op inside a
    // transaction) and checked before each migration commits.
    let fks: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let done = run_migrations(conn, found);
    conn.pragma_update(None, "foreign_keys", fks)?;
    done
}

fn run_migrations(conn: &mut Connection, found: i64) -> Result<()> {
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        let broken: Option<String> = tx
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()?;
        if let Some(table) = broken {
            return Err(StoreError::Conflict(format!(
                "migration {}: a row of {table} refers to a missing row",
                i + 1
            )));
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "migrations_tests.rs"]
mod tests;
