//! Table tests of the outbox queries (`store::outbox`): queueing, marking
//! sent, and wiping a secret reply's message.

use super::*;
use crate::store::testing::db;
use base64::Engine as _;

const PIN: &str = "PIN-u7Kq2Wm9XzR4tBv8NcYh3p";

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-30 00:00:00 UTC)
}

/// A message as a P12 notice is: the P12's bytes (base64) and, for the
/// test's sake, its PIN, padded past SQLite's page size so it spills to
/// overflow pages.
fn message(p12: &[u8]) -> Vec<u8> {
    let mut raw = b"Subject: x\r\n\r\n".to_vec();
    raw.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(p12)
            .as_bytes(),
    );
    raw.extend_from_slice(format!("\r\n{PIN}\r\n").as_bytes());
    raw.extend_from_slice(p12);
    raw
}

fn queue(conn: &Connection, secret: bool, msgid: &str, raw: &[u8]) -> i64 {
    let rcpt = vec![
        "admin@example.ac.jp".to_string(),
        "o@example.ac.jp".to_string(),
    ];
    let r = NewReply {
        mail_id: None,
        message_id: msgid,
        from: "ra@example.ac.jp",
        recipients: &rcpt,
        kind: "client_issued",
        subject: "クライアント証明書発行受付通知",
        raw,
    };
    if secret {
        enqueue_secret(conn, &r, t0()).unwrap()
    } else {
        enqueue(conn, &r, t0()).unwrap()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every byte SQLite keeps: the database file and its write-ahead log.
fn on_disk(dir: &tempfile::TempDir) -> Vec<u8> {
    let mut all = std::fs::read(dir.path().join("t.sqlite")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("t.sqlite-wal")) {
        all.extend(wal);
    }
    all
}

fn p12_bytes() -> Vec<u8> {
    let mut b = vec![0u8; 6000];
    openssl::rand::rand_bytes(&mut b).unwrap();
    b
}

#[test]
fn a_sent_secret_reply_leaves_no_pin_or_p12_in_the_database_file() {
    let (dir, conn) = db();
    let p12 = p12_bytes();
    let raw = message(&p12);
    let id = queue(&conn, true, "<s@x>", &raw);
    let kept = queue(
        &conn,
        false,
        "<n@x>",
        b"Subject: y\r\n\r\nordinary reply\r\n",
    );
    scrub(&conn).unwrap();
    // The search finds them while the reply waits (the test can fail).
    let before = on_disk(&dir);
    assert!(contains(&before, PIN.as_bytes()));
    assert!(contains(&before, &p12[1000..1064]));

    let tx = conn.unchecked_transaction().unwrap();
    assert!(mark_sent(&tx, id, t0(), "250 ok").unwrap());
    assert!(!mark_sent(&tx, kept, t0(), "250 ok").unwrap());
    tx.commit().unwrap();
    scrub(&conn).unwrap();

    let after = on_disk(&dir);
    assert!(
        !contains(&after, PIN.as_bytes()),
        "the PIN is still in the file"
    );
    for at in (0..p12.len() - 64).step_by(500) {
        assert!(!contains(&after, &p12[at..at + 64]), "P12 bytes at {at}");
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&p12);
    assert!(!contains(&after, &b64.as_bytes()[100..164]));

    // What is left: the stub, and the listing as before.
    let m = &outbox_where(&conn, "id = ?1", &id).unwrap()[0];
    assert_eq!(m.status, OutboxStatus::Sent);
    let stub = wiped_stub(&m.raw).unwrap();
    assert_eq!(
        stub,
        WipedStub {
            message_id: "<s@x>".into(),
            size: raw.len(),
            recipients: vec!["admin@example.ac.jp".into(), "o@example.ac.jp".into()],
        }
    );
    let rows = outbox_rows(&conn, None).unwrap();
    assert_eq!(rows[0].message_id, "<s@x>");
    assert_eq!(rows[0].subject, "クライアント証明書発行受付通知");
    assert_eq!(rows[0].recipients.len(), 2);
    // An ordinary reply keeps its message.
    let n = &outbox_where(&conn, "id = ?1", &kept).unwrap()[0];
    assert_eq!(n.raw, b"Subject: y\r\n\r\nordinary reply\r\n");
    assert!(wiped_stub(&n.raw).is_none());
}

#[test]
fn a_secret_reply_stays_whole_until_every_recipient_has_it() {
    let (_dir, conn) = db();
    let raw = message(&p12_bytes());
    let id = queue(&conn, true, "<s@x>", &raw);
    // Failed attempts, dead: kept for the retry.
    attempt_failed(&conn, id, "421 busy", Some(t0())).unwrap();
    attempt_failed(&conn, id, "550 no", None).unwrap();
    assert_eq!(outbox_where(&conn, "id = ?1", &id).unwrap()[0].raw, raw);
    retry_outbox(&conn, id).unwrap();
    // One by one: one has it, still whole; the other refused: wiped.
    recipient_delivered(&conn, id, "admin@example.ac.jp", t0()).unwrap();
    assert_eq!(outbox_where(&conn, "id = ?1", &id).unwrap()[0].raw, raw);
    recipient_refused(&conn, id, "o@example.ac.jp", "550 unknown").unwrap();
    // (refused last: the sender marks it sent, which wipes it.)
    assert!(mark_sent(&conn, id, t0(), "sent to the other recipients").unwrap());
    let m = &outbox_where(&conn, "id = ?1", &id).unwrap()[0];
    assert_eq!(wiped_stub(&m.raw).unwrap().size, raw.len());

    // Delivered to the last one: wiped at once, and marking it sent
    // later keeps the stub as it is (the size of the real message).
    let id = queue(&conn, true, "<t@x>", &raw);
    recipient_delivered(&conn, id, "o@example.ac.jp", t0()).unwrap();
    recipient_delivered(&conn, id, "admin@example.ac.jp", t0()).unwrap();
    let m = &outbox_where(&conn, "id = ?1", &id).unwrap()[0];
    assert_eq!(m.status, OutboxStatus::Pending);
    let stub = wiped_stub(&m.raw).unwrap();
    assert_eq!(stub.size, raw.len());
    mark_sent(&conn, id, t0(), "sent to every recipient earlier").unwrap();
    let again = &outbox_where(&conn, "id = ?1", &id).unwrap()[0];
    assert_eq!(again.raw, m.raw);
}
