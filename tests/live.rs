//! `mailra run` against a real Dovecot (IMAP) and Postfix (SMTP) on loopback:
//! mail APPENDed to the robot's INBOX is processed, the signed reply arrives
//! in the officer's mailbox through Postfix → LMTP → Dovecot, and the original
//! is filed into its folder with keywords. Also: a Dovecot restart and a
//! Postfix outage while the robot runs.

mod support;

use std::time::Duration;

use mailra::kit;
use mailra::store;
use support::live::{self, ADMIN, Options, Robot, SECRETARIAT, Servers};
use support::*;

use support::live::WAIT;

/// Servers with mailboxes for the robot, two officers, an admin and the
/// secretariat, and a mailra instance initialised with --imap/--smtp.
fn live_fixture() -> (Servers, Fixture) {
    let servers = Servers::start(&[kit::ROBOT, O1, O2, ADMIN, SECRETARIAT]);
    let f = instance(&servers, "INBOX");
    (servers, f)
}

#[test]
fn appended_application_is_answered_by_smtp_and_filed_with_keywords() {
    let (srv, f) = live_fixture();
    let robot = Robot::start(f.dir.path(), &[]);
    let good = append_app(&srv, &f, "www.example.ac.jp");
    live::append(srv.imap, kit::ROBOT, "INBOX", b"From: x@example.ac.jp\r\nTo: mailra@certs.example.ac.jp\r\nSubject: hello\r\n\r\nnot signed\r\n");

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
        live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty()
    });
    let processed = live::messages(srv.imap, kit::ROBOT, "Processed/Issued");
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
    let rejected = live::messages(srv.imap, kit::ROBOT, "Rejected/Unsigned");
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
    append_app(&srv, &f, "a.example.ac.jp");
    // Receipt and notice all delivered, so the restart cuts no LMTP delivery
    // (which Postfix would retry: a duplicate made by the test, not the robot).
    live::wait_for(srv.imap, O1, "INBOX", 2, WAIT);
    live::wait_for(srv.imap, ADMIN, "INBOX", 1, WAIT);
    srv.wait_queue_empty();

    // Dovecot goes away under the robot's IDLE and comes back.
    srv.ctl("dovecot-stop");
    std::thread::sleep(Duration::from_secs(2));
    srv.ctl("dovecot-start");
    append_app(&srv, &f, "b.example.ac.jp");
    wait_receipts(&srv, 2);

    // Postfix is down (once everything so far has gone out, so no reply is
    // cut mid-transaction): the mail is processed and filed, the reply waits.
    live::until("replies not sent", || {
        !(store::outbox_rows(&f.env.conn, None)
            .unwrap()
            .iter()
            .any(|r| r.status != store::OutboxStatus::Sent))
    });
    srv.ctl("postfix-stop");
    append_app(&srv, &f, "c.example.ac.jp");
    live::until("a failed attempt recorded", || {
        store::outbox_rows(&f.env.conn, Some(store::OutboxStatus::Pending))
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
            .all(|r| r.status == store::OutboxStatus::Sent)
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
    append_app(&srv, &f, "www.example.ac.jp");
    live::until("replies not marked dead", || {
        store::outbox_rows(&f.env.conn, Some(store::OutboxStatus::Dead))
            .unwrap()
            .len()
            >= 2
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
    for r in store::outbox_rows(&f.env.conn, Some(store::OutboxStatus::Dead)).unwrap() {
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
            .all(|r| r.status == store::OutboxStatus::Sent)
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
    let servers = Servers::start(&[kit::ROBOT, O1, ADMIN]);
    live::recreate(servers.imap, kit::ROBOT, "Robot", false);
    let f = instance(&servers, "Robot");
    let srv = &servers;
    let robot = Robot::start(f.dir.path(), &[]);
    let first = one_row(&f, "a.example.ac.jp");
    live::append(srv.imap, kit::ROBOT, "Robot", &first);
    wait_receipts(srv, 1);
    assert!(robot.stop());

    // The mailbox is rebuilt (new UIDVALIDITY): a new mail gets UID 1 again,
    // and the first mail comes back from a backup.
    std::thread::sleep(Duration::from_millis(1100));
    live::recreate(srv.imap, kit::ROBOT, "Robot", true);
    let second = one_row(&f, "b.example.ac.jp");
    live::append(srv.imap, kit::ROBOT, "Robot", &second);
    live::append(srv.imap, kit::ROBOT, "Robot", &first);
    let robot = Robot::start(f.dir.path(), &[]);
    wait_receipts(srv, 2);
    live::until("mailbox not emptied", || {
        live::messages(srv.imap, kit::ROBOT, "Robot").is_empty()
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
    let filed = live::messages(srv.imap, kit::ROBOT, "Processed/Issued");
    assert_eq!(
        filed.len(),
        3,
        "the returning mail is filed again, not lost"
    );
    let log = robot.log_text();
    assert!(log.contains("UIDVALIDITY changed"), "{log}");
    assert!(robot.stop());
}

/// Asserts that `m` carries each keyword of `has` and none of `lacks`.
fn assert_flags(m: &live::Msg, has: &[&str], lacks: &[&str]) {
    let set = |k: &&str| m.flags.iter().any(|f| f.contains(*k));
    assert!(
        has.iter().all(set) && !lacks.iter().any(set),
        "flags {:?}: want {has:?}, not {lacks:?}",
        m.flags
    );
}

/// `mailra ARGS… --dir DIR`: (success, stdout, stderr).
fn mailra(f: &Fixture, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(args)
        .arg("--dir")
        .arg(f.dir.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn reviewed_mails_leave_the_imap_review_folder_for_their_outcomes_folder() {
    let (srv, f) = live_fixture();
    let robot = Robot::start(f.dir.path(), &[]);
    for cn in ["a.example.ac.jp", "b.example.ac.jp"] {
        append_app(&srv, &f, cn);
    }
    wait_receipts(&srv, 2);
    let certs = store::certificates(&f.env.conn).unwrap();
    let serial_of = |cn: &str| {
        certs
            .iter()
            .find(|c| c.subject_dn.contains(cn))
            .unwrap()
            .serial
            .to_string()
    };
    let compromised: Vec<Vec<u8>> = ["a.example.ac.jp", "b.example.ac.jp"]
        .iter()
        .map(|cn| {
            let tsv = kit::forms::revoke_line(&ex_dn(cn), &serial_of(cn), 1, "鍵の漏洩");
            f.mail(&f.o1, O1, "失効申請", &tsv)
        })
        .collect();
    for m in &compromised {
        live::append(srv.imap, kit::ROBOT, "INBOX", m);
    }
    live::until("two mails held in Review", || {
        live::messages(srv.imap, kit::ROBOT, "Review").len() == 2
    });
    let held = mailra::ra::review::held(&f.env).unwrap();
    assert_eq!(held.len(), 2);
    let (approve, reject) = (held[0].id, held[1].id);
    let (a_raw, r_raw) = (&compromised[0], &compromised[1]);

    // Approved: moved at once by the CLI, with the outcome's keywords only.
    let (ok, out, err) = mailra(
        &f,
        &["review", "approve", &approve.to_string(), "--by", "test"],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("moved out of the review folder"), "{out}{err}");
    let revoked = live::messages(srv.imap, kit::ROBOT, "Processed/Revoked");
    assert_eq!(revoked.len(), 1);
    assert_eq!(&revoked[0].raw, a_raw, "the approved mail, unchanged");
    assert_flags(
        &revoked[0],
        &["mailra-revoked"],
        &["mailra-held", "mailra-key-compromise"],
    );
    let review = live::messages(srv.imap, kit::ROBOT, "Review");
    assert_eq!(review.len(), 1);
    assert_eq!(&review[0].raw, r_raw);
    let serial = serial_of("a.example.ac.jp");
    let c = store::certificate(&f.env.conn, &mailra::cli::parse_serial(&serial).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(c.status, mailra::model::CertStatus::Revoked);

    // Rejected while Dovecot is down: the CLI says so, and the running robot
    // moves the mail when it is back.
    srv.ctl("dovecot-stop");
    let (ok, out, err) = mailra(
        &f,
        &[
            "review",
            "reject",
            &reject.to_string(),
            "--reason",
            "確認できません",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(
        err.contains("stays in the review folder until the robot's next pass"),
        "{out}{err}"
    );
    srv.ctl("dovecot-start");
    live::until("the rejected mail refiled by the robot", || {
        live::messages(srv.imap, kit::ROBOT, "Rejected/Review").len() == 1
    });
    let refused = live::messages(srv.imap, kit::ROBOT, "Rejected/Review");
    assert_eq!(&refused[0].raw, r_raw);
    assert_flags(&refused[0], &["mailra-refused"], &["mailra-held"]);
    assert!(live::messages(srv.imap, kit::ROBOT, "Review").is_empty());
    assert_eq!(
        store::certificates(&f.env.conn)
            .unwrap()
            .iter()
            .filter(|c| c.status == mailra::model::CertStatus::Revoked)
            .count(),
        1,
        "the rejected request revoked nothing"
    );
    assert!(robot.log_text().contains("refiled after review"));
    assert!(robot.stop());
}

#[test]
fn a_mail_the_robot_cannot_process_is_kept_in_quarantine_until_retried() {
    let (srv, f) = live_fixture();
    // The database refuses to record mails, as a full disk would.
    f.env
        .conn
        .execute_batch(
            "CREATE TRIGGER test_disk_full BEFORE INSERT ON mails
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    let robot = Robot::start(f.dir.path(), &[]);
    let mail = append_app(&srv, &f, "q.example.ac.jp");
    live::until("the mail quarantined", || {
        live::messages(srv.imap, kit::ROBOT, "Quarantine").len() == 1
    });
    let q = live::messages(srv.imap, kit::ROBOT, "Quarantine");
    assert_eq!(q[0].raw, mail, "kept byte for byte");
    assert_flags(&q[0], &["mailra-error"], &[]);
    assert!(live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty());
    assert!(store::certificates(&f.env.conn).unwrap().is_empty());
    assert!(store::outbox_rows(&f.env.conn, None).unwrap().is_empty());
    let log = robot.log_text();
    assert!(
        log.contains("internal error; the mail is kept in quarantine")
            && log.contains("database or disk is full"),
        "{log}"
    );

    // The operator fixes the cause and moves the mail back to INBOX.
    f.env
        .conn
        .execute_batch("DROP TRIGGER test_disk_full")
        .unwrap();
    live::move_message(srv.imap, kit::ROBOT, "Quarantine", q[0].uid, "INBOX");
    wait_receipts(&srv, 1);
    live::until("the mail filed", || {
        live::messages(srv.imap, kit::ROBOT, "Processed/Issued").len() == 1
    });
    assert!(live::messages(srv.imap, kit::ROBOT, "Quarantine").is_empty());
    assert_eq!(store::certificates(&f.env.conn).unwrap().len(), 1);
    assert!(robot.stop());
}

#[test]
fn without_move_or_idle_mails_are_polled_and_filed_by_copy_delete_and_expunge() {
    // Dovecot announces neither MOVE nor IDLE nor (at first) UIDPLUS.
    let srv = Servers::start_with(
        &Options {
            imap_capability: Some("IMAP4rev1 LITERAL+ NAMESPACE"),
            ..Default::default()
        },
        &[kit::ROBOT, O1, ADMIN],
    );
    let f = instance(&srv, "INBOX");
    live::configure(f.dir.path(), "imap", "poll_seconds = 1");
    let good = one_row(&f, "a.example.ac.jp");
    let unsigned = b"From: x@example.ac.jp\r\nTo: mailra@certs.example.ac.jp\r\nSubject: hello\r\n\r\nnot signed\r\n";
    live::append(srv.imap, kit::ROBOT, "INBOX", &good);
    let robot = Robot::start(f.dir.path(), &[]);
    // Arrives while the robot polls.
    live::until("the first mail filed", || {
        live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty()
    });
    live::append(srv.imap, kit::ROBOT, "INBOX", unsigned);
    live::until("INBOX emptied", || {
        live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty()
    });
    let issued = live::messages(srv.imap, kit::ROBOT, "Processed/Issued");
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].raw, good);
    // The copy is not \Deleted, only the original was.
    assert_flags(&issued[0], &["mailra-issued"], &["Deleted"]);
    let rejected = live::messages(srv.imap, kit::ROBOT, "Rejected/Unsigned");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].raw, unsigned);
    wait_receipts(&srv, 1);
    let log = robot.log_text();
    assert!(
        log.contains("idle=false") && log.contains("move=false"),
        "{log}"
    );
    assert!(robot.stop());

    // With UIDPLUS (UID EXPUNGE) but still no MOVE.
    let conf = srv.dir.path().join("dovecot.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replace(
            "imap_capability = IMAP4rev1 LITERAL+ NAMESPACE",
            "imap_capability = IMAP4rev1 IDLE LITERAL+ NAMESPACE UIDPLUS",
        ),
    )
    .unwrap();
    srv.ctl("dovecot-stop");
    srv.ctl("dovecot-start");
    let robot = Robot::start(f.dir.path(), &[]);
    let second = append_app(&srv, &f, "b.example.ac.jp");
    wait_receipts(&srv, 2);
    live::until("INBOX emptied", || {
        live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty()
    });
    let issued = live::messages(srv.imap, kit::ROBOT, "Processed/Issued");
    assert_eq!(issued.len(), 2);
    assert_eq!(issued[1].raw, second);
    assert_eq!(store::certificates(&f.env.conn).unwrap().len(), 2);
    assert!(robot.stop());
}

/// Regression: a rule's Japanese folder name went to the server as raw
/// UTF-8, which IMAP4rev1 servers refuse, so the robot retried that mail
/// forever. Folder names now travel in modified UTF-7.
#[test]
fn a_japanese_folder_name_from_the_rules_is_created_in_modified_utf7() {
    let (srv, f) = live_fixture();
    std::fs::write(
        f.dir.path().join("rules/00-local.toml"),
        "[[rule]]\nverdict = \"accepted\"\nfolder = \"処理済み/発行\"\nkeywords = [\"mailra-issued\"]\n",
    )
    .unwrap();
    let robot = Robot::start(f.dir.path(), &[]);
    let mail = append_app(&srv, &f, "www.example.ac.jp");
    wait_receipts(&srv, 1);
    live::until("the mail filed", || {
        live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty()
    });
    // The name as RFC 3501 5.1.3 spells 処理済み/発行, worked out by hand.
    let filed = live::messages(srv.imap, kit::ROBOT, "&UeZ0Bm4IMH8-/&dnqITA-");
    assert_eq!(filed.len(), 1);
    assert_eq!(filed[0].raw, mail);
    assert_flags(&filed[0], &["mailra-issued"], &[]);
    assert!(robot.stop());
}

/// A folder the server refuses (Dovecot refuses names beginning with `~`)
/// must not hold up the mailbox: the mail goes to quarantine, marked, and
/// every later mail is still processed, each answered once.
#[test]
fn a_folder_the_server_refuses_sends_the_mail_to_quarantine_and_the_robot_goes_on() {
    let (srv, f) = live_fixture();
    std::fs::write(
        f.dir.path().join("rules/00-local.toml"),
        "[[rule]]\nverdict = \"accepted\"\nfolder = \"~Archive\"\n",
    )
    .unwrap();
    let robot = Robot::start(f.dir.path(), &[]);
    let a = append_app(&srv, &f, "a.example.ac.jp");
    let b = append_app(&srv, &f, "b.example.ac.jp");
    wait_receipts(&srv, 2);
    live::until("both mails quarantined", || {
        live::messages(srv.imap, kit::ROBOT, "Quarantine").len() == 2
    });
    let q = live::messages(srv.imap, kit::ROBOT, "Quarantine");
    assert_eq!((&q[0].raw, &q[1].raw), (&a, &b));
    for m in &q {
        assert_flags(m, &["mailra-error"], &[]);
    }
    assert!(live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty());
    let log = robot.log_text();
    assert_eq!(
        log.matches("the server refused to file the mail there")
            .count(),
        2,
        "{log}"
    );
    // Nothing is refiled or answered again later.
    std::thread::sleep(Duration::from_secs(2));
    assert!(robot.stop());
    assert_eq!(receipts(&live::messages(srv.imap, O1, "INBOX")), 2);
    assert_eq!(store::certificates(&f.env.conn).unwrap().len(), 2);
    assert!(store::pending_refiles(&f.env.conn).unwrap().is_empty());
}

/// A reply to an address that bounces: the bounce comes back to the robot's
/// INBOX, and is filed without an answer (no mail loop with the MTA).
#[test]
fn a_bounce_of_a_reply_is_filed_and_never_answered() {
    const GHOST: &str = "ghost@example.ac.jp";
    let srv = Servers::start_with(
        &Options {
            undeliverable: vec![GHOST],
            ..Default::default()
        },
        &[kit::ROBOT, O1, ADMIN],
    );
    let f = instance(&srv, "INBOX");
    let robot = Robot::start(f.dir.path(), &[]);
    live::append(
        srv.imap,
        kit::ROBOT,
        "INBOX",
        &one_row_to(&f, "www.example.ac.jp", GHOST),
    );
    // The receipt, and the notice's copy: the notice itself bounces.
    live::wait_for(srv.imap, O1, "INBOX", 2, WAIT);
    live::until("the bounce filed", || {
        !live::messages(srv.imap, kit::ROBOT, "Ignored").is_empty()
    });
    let ignored = live::messages(srv.imap, kit::ROBOT, "Ignored");
    assert_eq!(ignored.len(), 1);
    assert!(
        ignored[0].text().contains(GHOST),
        "the bounce of the notice: {}",
        ignored[0].text()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(robot.stop());
    let rows = store::outbox_rows(&f.env.conn, None).unwrap();
    assert_eq!(
        rows.len(),
        2,
        "receipt and notice only, nothing for the bounce"
    );
    assert_eq!(live::messages(srv.imap, O1, "INBOX").len(), 2);
}

/// A notice to an admin address the server refuses (550 at RCPT) still
/// reaches the officer in Cc, once; the refusal is on record and shown.
#[test]
fn a_refused_recipient_does_not_keep_the_reply_from_the_others() {
    const NOBODY: &str = "nobody@example.ac.jp";
    let (srv, f) = live_fixture();
    let robot = Robot::start(f.dir.path(), &[]);
    live::append(
        srv.imap,
        kit::ROBOT,
        "INBOX",
        &one_row_to(&f, "www.example.ac.jp", NOBODY),
    );
    let got = live::wait_for(srv.imap, O1, "INBOX", 2, WAIT);
    live::until("every reply dealt with", || {
        store::outbox_rows(&f.env.conn, Some(store::OutboxStatus::Pending))
            .unwrap()
            .is_empty()
    });
    assert!(robot.stop());
    let notice = got
        .iter()
        .find(|m| m.header("To").is_some_and(|t| t.contains(NOBODY)))
        .expect("the officer's copy of the notice");
    assert!(verifies(&f, &notice.raw));
    assert_eq!(live::messages(srv.imap, O1, "INBOX").len(), 2, "each once");
    let rows = store::outbox_rows(&f.env.conn, None).unwrap();
    assert!(
        rows.iter().all(|r| r.status == store::OutboxStatus::Sent),
        "{rows:#?}"
    );
    let refused: Vec<_> = rows.iter().flat_map(|r| r.refused.clone()).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, NOBODY);
    assert!(refused[0].1.contains("550"), "{refused:?}");
    let (ok, out, _) = mailra(&f, &["outbox", "list"]);
    assert!(ok);
    assert!(
        out.contains(&format!("refused {NOBODY}: ")),
        "the operator sees it: {out}"
    );
}
