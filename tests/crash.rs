//! Crash safety, proven: `mailra run` (IMAP in, SMTP out, real Dovecot and
//! Postfix) is SIGKILLed at each dangerous point — held there by the
//! test-only `MAILRA_FAULT` switch — and restarted. Afterwards every
//! certificate exists exactly once, every reply was delivered once (a reply
//! the server had accepted just before the kill may arrive twice, but with
//! one Message-ID), the mail is filed, and the audit log agrees.

mod support;

use std::time::Duration;

use mailra::kit::{
    self,
    forms::{csr_field, issue_line},
};
use mailra::store;
use support::live::{self, ADMIN, Robot, Servers, until};
use support::*;

const WAIT: Duration = Duration::from_secs(90);

fn fixture() -> (Servers, Fixture) {
    let servers = Servers::start(&[kit::ROBOT, O1, ADMIN]);
    let f = instance(&servers, "INBOX");
    (servers, f)
}

/// A signed mail with `rows` profile 11 rows (P-384 keys: quick to make).
fn application(f: &Fixture, rows: usize) -> Vec<u8> {
    let lines: Vec<String> = (0..rows)
        .map(|i| {
            let dn = ex_dn(&format!("host{i:02}.example.ac.jp"));
            issue_line(&dn, 11, &csr_field(&p384(), &dn).unwrap(), "", ADMIN, "")
        })
        .collect();
    f.mail(&f.o1, O1, "サーバ証明書発行申請", &lines.join("\r\n"))
}

fn distinct_ids(msgs: &[live::Msg]) -> usize {
    let mut ids: Vec<_> = msgs.iter().filter_map(|m| m.header("Message-ID")).collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

/// Kills the robot at `fault` while it handles a `rows`-row mail, restarts it,
/// and checks that everything happened exactly once.
fn crash_at(fault: &str, rows: usize) {
    let (srv, f) = fixture();
    let marker = f.dir.path().join("fault-reached");
    let robot = Robot::start(
        f.dir.path(),
        &[
            ("MAILRA_FAULT", fault),
            ("MAILRA_FAULT_MARKER", marker.to_str().unwrap()),
        ],
    );
    let mail = application(&f, rows);
    live::append(srv.imap, kit::ROBOT, "INBOX", &mail);
    live::wait_file(&marker, WAIT);
    robot.kill9();

    let robot = Robot::start(f.dir.path(), &[]);
    // Filed, and its replies all sent.
    until("the mail to be filed", || {
        live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty()
            && live::messages(srv.imap, kit::ROBOT, "Processed/Issued").len() == 1
    });
    until("every reply to be sent", || all_sent(&f));
    // Officer: the receipt + the admin notice (Cc); admin: one notice.
    let officer = live::wait_for(srv.imap, O1, "INBOX", 2, WAIT);
    let admin = live::wait_for(srv.imap, ADMIN, "INBOX", 1, WAIT);
    std::thread::sleep(Duration::from_millis(500)); // a late duplicate would show now
    let officer = live::messages(srv.imap, O1, "INBOX")
        .len()
        .max(officer.len());
    let officer_msgs = live::messages(srv.imap, O1, "INBOX");
    let admin_msgs = live::messages(srv.imap, ADMIN, "INBOX");
    assert_eq!(distinct_ids(&officer_msgs), 2, "{fault}: officer replies");
    assert_eq!(distinct_ids(&admin_msgs), 1, "{fault}: admin notices");
    if fault == "after-smtp-accept" {
        // The receipt (the first reply) was accepted, then the robot died
        // before recording it: it is sent again, with the same Message-ID.
        assert_eq!(officer, 3, "{fault}: the receipt is resent once");
    } else {
        assert_eq!(officer, 2, "{fault}: nothing delivered twice");
        assert_eq!(
            admin.len().max(admin_msgs.len()),
            1,
            "{fault}: nothing delivered twice"
        );
    }
    let processed = live::messages(srv.imap, kit::ROBOT, "Processed/Issued");
    assert_eq!(
        processed[0].raw, mail,
        "{fault}: the mail is kept as it came"
    );

    // The store: each certificate once, one executed mail, audit agrees.
    let certs = store::certificates(&f.env.conn).unwrap();
    assert_eq!(
        certs.len(),
        rows,
        "{fault}: certificates issued exactly once"
    );
    let mut cns: Vec<_> = certs.iter().map(|c| c.subject_dn.clone()).collect();
    cns.sort();
    cns.dedup();
    assert_eq!(cns.len(), rows, "{fault}: no subject issued twice");
    let mails = store::mails(&f.env.conn, &store::MailFilter::default()).unwrap();
    assert_eq!(mails.iter().filter(|m| m.executed).count(), 1, "{fault}");
    assert_eq!(
        mails.iter().filter(|m| m.filed_at.is_none()).count(),
        0,
        "{fault}"
    );
    assert_eq!(mails.len(), 1, "{fault}: not processed again");
    let issued: Vec<_> = store::audit_events(&f.env.conn)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "issue")
        .collect();
    assert_eq!(
        issued.len(),
        rows,
        "{fault}: one audit event per certificate"
    );
    let serials: std::collections::BTreeSet<_> =
        issued.iter().filter_map(|e| e.serial.clone()).collect();
    assert_eq!(serials.len(), rows);
    assert!(robot.stop(), "{fault}: the restarted robot stops cleanly");
}

#[test]
fn killed_after_the_commit_before_any_reply_is_sent() {
    crash_at("after-commit", 2);
}

#[test]
fn killed_after_the_replies_are_sent_before_the_mail_is_moved() {
    crash_at("before-move", 2);
}

#[test]
fn killed_after_the_smtp_server_accepted_a_reply_before_it_was_marked_sent() {
    crash_at("after-smtp-accept", 2);
}

#[test]
fn killed_in_the_middle_of_a_99_row_file() {
    crash_at("row:50", 99);
}

/// Regression (CI failure on stop 13): a mail appended while another was
/// being taken was announced by the server in the middle of those commands
/// and never again, so the robot went into IDLE and left it in the INBOX
/// until the IDLE timeout. It must be taken right after the first.
#[test]
fn a_mail_arriving_while_another_is_taken_is_not_left_waiting_for_the_idle_timeout() {
    let (srv, f) = fixture();
    let marker = f.dir.path().join("pause-reached");
    let robot = Robot::start(
        f.dir.path(),
        &[
            ("MAILRA_FAULT", "pause:before-file"),
            ("MAILRA_FAULT_MARKER", marker.to_str().unwrap()),
        ],
    );
    let first = application(&f, 1);
    live::append(srv.imap, kit::ROBOT, "INBOX", &first);
    live::wait_file(&marker, WAIT);
    // The robot has taken the first mail; its next IMAP command files it.
    live::append(
        srv.imap,
        kit::ROBOT,
        "INBOX",
        b"From: x@example.ac.jp\r\nTo: mailra@certs.example.ac.jp\r\nSubject: hello\r\n\r\nnot signed\r\n",
    );
    std::fs::write(format!("{}.go", marker.display()), "").unwrap();
    // IDLE waits a minute here; the second mail must be filed well before.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the second mail was left in the INBOX"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        live::messages(srv.imap, kit::ROBOT, "Rejected/Unsigned").len(),
        1
    );
    assert_eq!(
        live::messages(srv.imap, kit::ROBOT, "Processed/Issued").len(),
        1
    );
    assert!(robot.stop(), "run exits cleanly on SIGTERM");
}
