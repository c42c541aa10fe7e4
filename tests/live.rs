//! `mailra run` against a real Dovecot (IMAP) and Postfix (SMTP) on loopback:
//! mail APPENDed to the robot's INBOX is processed, the signed reply arrives
//! in the officer's mailbox through Postfix → LMTP → Dovecot, and the original
//! is filed into its folder with keywords. Also: a Dovecot restart and a
//! Postfix outage while the robot runs.

mod support;

use std::time::Duration;

use mailra::demo;
use mailra::store;
use support::live::{self, ADMIN, Robot, SECRETARIAT, Servers};
use support::*;

use support::live::WAIT;

/// Servers with mailboxes for the robot, two officers, an admin and the
/// secretariat, and a mailra instance initialised with --imap/--smtp.
fn live_fixture() -> (Servers, Fixture) {
    let servers = Servers::start(&[demo::ROBOT, O1, O2, ADMIN, SECRETARIAT]);
    let f = instance(&servers, "INBOX");
    (servers, f)
}

#[test]
fn appended_application_is_answered_by_smtp_and_filed_with_keywords() {
    let (srv, f) = live_fixture();
    let robot = Robot::start(f.dir.path(), &[]);
    let good = one_row(&f, "www.example.ac.jp");
    live::append(srv.imap, demo::ROBOT, "INBOX", &good);
    live::append(srv.imap, demo::ROBOT, "INBOX", b"From: x@example.ac.jp\r\nTo: mailra@certs.example.ac.jp\r\nSubject: hello\r\n\r\nnot signed\r\n");

    // The officer gets the signed receipt and a copy (Cc) of the admin's
    // notice; the unsigned mail's sender has no mailbox here.
    let officer = live::wait_for(srv.imap, O1, "INBOX", 2, WAIT);
    assert_eq!(receipts(&officer), 1, "one receipt for one mail");
    for m in &officer {
        assert!(verifies(&f, &m.raw), "every reply's signature verifies");
    }
    let admin = live::wait_for(srv.imap, ADMIN, "INBOX", 1, WAIT);
    assert!(verifies(&f, &admin[0].raw));
    assert!(admin[0].text().contains("chain.pem"));

    // Both originals left the INBOX for their folders, kept byte for byte.
    live::until("INBOX not emptied", || {
        live::messages(srv.imap, demo::ROBOT, "INBOX").is_empty()
    });
    let processed = live::messages(srv.imap, demo::ROBOT, "Processed/Issued");
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].raw, good);
    assert!(
        processed[0]
            .flags
            .iter()
            .any(|f| f.contains("mailra-issued")),
        "{:?}",
        processed[0].flags
    );
    let rejected = live::messages(srv.imap, demo::ROBOT, "Rejected/Unsigned");
    assert_eq!(rejected.len(), 1);

    let certs = store::certificates(&f.env.conn).unwrap();
    assert_eq!(certs.len(), 1);
    assert!(
        admin[0].text().contains(&certs[0].serial.to_string()),
        "the notice names the certificate"
    );
    assert!(robot.stop(), "run exits cleanly on SIGTERM");
}

#[test]
fn survives_a_dovecot_restart_and_a_postfix_outage() {
    let (srv, f) = live_fixture();
    let robot = Robot::start(f.dir.path(), &[]);
    live::append(
        srv.imap,
        demo::ROBOT,
        "INBOX",
        &one_row(&f, "a.example.ac.jp"),
    );
    // Receipt and notice all delivered, so the restart cuts no LMTP delivery
    // (which Postfix would retry: a duplicate made by the test, not the robot).
    live::wait_for(srv.imap, O1, "INBOX", 2, WAIT);
    live::wait_for(srv.imap, ADMIN, "INBOX", 1, WAIT);
    srv.wait_queue_empty();

    // Dovecot goes away under the robot's IDLE and comes back.
    srv.ctl("dovecot-stop");
    std::thread::sleep(Duration::from_secs(2));
    srv.ctl("dovecot-start");
    live::append(
        srv.imap,
        demo::ROBOT,
        "INBOX",
        &one_row(&f, "b.example.ac.jp"),
    );
    wait_receipts(&srv, 2);

    // Postfix is down (once everything so far has gone out, so no reply is
    // cut mid-transaction): the mail is processed and filed, the reply waits.
    live::until("replies not sent", || {
        !(store::outbox_rows(&f.env.conn, None)
            .unwrap()
            .iter()
            .any(|r| r.status != "sent"))
    });
    srv.ctl("postfix-stop");
    live::append(
        srv.imap,
        demo::ROBOT,
        "INBOX",
        &one_row(&f, "c.example.ac.jp"),
    );
    live::until("a failed attempt recorded", || {
        store::outbox_rows(&f.env.conn, Some("pending"))
            .unwrap()
            .iter()
            .any(|r| r.attempts >= 1 && r.last_error.is_some())
    });
    assert_eq!(receipts(&live::messages(srv.imap, O1, "INBOX")), 2);
    srv.ctl("postfix-start");
    let got = wait_receipts(&srv, 3);
    assert_eq!(receipts(&got), 3, "each receipt exactly once");
    assert_eq!(store::certificates(&f.env.conn).unwrap().len(), 3);
    live::until("every reply sent once Postfix is back", || {
        store::outbox_rows(&f.env.conn, None)
            .unwrap()
            .iter()
            .all(|r| r.status == "sent")
    });
    // 3 receipts + 3 notices (Cc'd to the officer), each delivered once.
    let got = live::wait_for(srv.imap, O1, "INBOX", 6, WAIT);
    let mut ids: Vec<_> = got.iter().filter_map(|m| m.header("Message-ID")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (got.len(), ids.len()),
        (6, 6),
        "{:#?}",
        got.iter()
            .map(|m| (
                m.header("Message-ID"),
                m.header("Subject"),
                m.header("X-Mailra-Verdict")
            ))
            .collect::<Vec<_>>()
    );
    let log = robot.log_text();
    let lost = log.matches("IMAP connection lost").count();
    assert!(
        (1..=2).contains(&lost),
        "connection loss logged once per outage, not per retry ({lost}):\n{log}"
    );
    assert!(log.contains("IMAP connection restored"), "{log}");
    assert_eq!(log.matches("SMTP delivery failing").count(), 1, "{log}");
    assert!(log.contains("SMTP delivery restored"), "{log}");
    assert!(robot.stop());
}

#[test]
fn a_reply_that_keeps_failing_is_dead_until_retried_by_the_operator() {
    let (srv, f) = live_fixture();
    live::configure(f.dir.path(), "smtp", "max_attempts = 2");
    srv.ctl("postfix-stop");
    let robot = Robot::start(f.dir.path(), &[]);
    live::append(
        srv.imap,
        demo::ROBOT,
        "INBOX",
        &one_row(&f, "www.example.ac.jp"),
    );
    live::until("replies not marked dead", || {
        store::outbox_rows(&f.env.conn, Some("dead")).unwrap().len() >= 2
    });
    let dir = f.dir.path().to_str().unwrap();
    let list = std::process::Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(["outbox", "list", "--dir", dir])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success());
    assert_eq!(text.matches(" dead ").count(), 2, "{text}");
    assert!(text.contains("last error:"), "{text}");

    srv.ctl("postfix-start");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        receipts(&live::messages(srv.imap, O1, "INBOX")),
        0,
        "dead stays dead"
    );
    for r in store::outbox_rows(&f.env.conn, Some("dead")).unwrap() {
        let st = std::process::Command::new(env!("CARGO_BIN_EXE_mailra"))
            .args(["outbox", "retry", "--dir", dir, &r.id.to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }
    let got = wait_receipts(&srv, 1);
    assert_eq!(receipts(&got), 1);
    live::until("retried replies not sent", || {
        store::outbox_rows(&f.env.conn, None)
            .unwrap()
            .iter()
            .all(|r| r.status == "sent")
    });
    // A sent reply is never sent twice, even on request.
    let id = store::outbox_rows(&f.env.conn, None).unwrap()[0]
        .id
        .to_string();
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(["outbox", "retry", "--dir", dir, &id])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already sent"));
    assert!(robot.stop());
}

#[test]
fn a_uidvalidity_change_neither_skips_new_mail_nor_answers_old_mail_again() {
    let servers = Servers::start(&[demo::ROBOT, O1, ADMIN]);
    live::recreate(servers.imap, demo::ROBOT, "Robot", false);
    let f = instance(&servers, "Robot");
    let srv = &servers;
    let robot = Robot::start(f.dir.path(), &[]);
    let first = one_row(&f, "a.example.ac.jp");
    live::append(srv.imap, demo::ROBOT, "Robot", &first);
    wait_receipts(srv, 1);
    assert!(robot.stop());

    // The mailbox is rebuilt (new UIDVALIDITY): a new mail gets UID 1 again,
    // and the first mail comes back from a backup.
    std::thread::sleep(Duration::from_millis(1100));
    live::recreate(srv.imap, demo::ROBOT, "Robot", true);
    let second = one_row(&f, "b.example.ac.jp");
    live::append(srv.imap, demo::ROBOT, "Robot", &second);
    live::append(srv.imap, demo::ROBOT, "Robot", &first);
    let robot = Robot::start(f.dir.path(), &[]);
    wait_receipts(srv, 2);
    live::until("mailbox not emptied", || {
        live::messages(srv.imap, demo::ROBOT, "Robot").is_empty()
    });
    std::thread::sleep(Duration::from_secs(1));
    let officer = live::messages(srv.imap, O1, "INBOX");
    let verdicts: Vec<_> = officer
        .iter()
        .filter_map(|m| m.header("X-Mailra-Verdict"))
        .collect();
    // Two receipts and two notices (Cc); no "already processed" answer.
    assert_eq!(receipts(&officer), 2, "{verdicts:?}");
    assert_eq!(
        officer.len(),
        4,
        "the old mail is not answered again: {verdicts:?}"
    );
    assert_eq!(store::certificates(&f.env.conn).unwrap().len(), 2);
    let filed = live::messages(srv.imap, demo::ROBOT, "Processed/Issued");
    assert_eq!(
        filed.len(),
        3,
        "the returning mail is filed again, not lost"
    );
    let log = robot.log_text();
    assert!(log.contains("UIDVALIDITY changed"), "{log}");
    assert!(robot.stop());
}
