//! mailra over TLS against Dovecot and Postfix with a test CA: implicit TLS
//! (imaps, smtps with AUTH) and STARTTLS, the servers' certificates checked
//! against the configured CA file (by DNS name and by IP address). And the
//! refusals: a certificate the robot does not trust, a password the server
//! refuses, and a server without STARTTLS when plaintext is not allowed; no
//! mail is read or sent in clear, and every reason reaches the operator.

mod support;

use std::process::Command;

use mailra::kit;
use mailra::store;
use support::live::{self, ADMIN, Options, Robot, Servers};
use support::*;

fn tls_servers() -> Servers {
    Servers::start_with(
        &Options {
            tls: true,
            ..Default::default()
        },
        &[kit::ROBOT, O1, ADMIN],
    )
}

fn robot_user() -> String {
    kit::ROBOT.replace('@', "%40")
}

/// Dovecot's count of logins as the robot over TLS (the test's own client
/// logs in without TLS; Dovecot calls that "secured" on loopback).
fn robot_tls_logins(srv: &Servers) -> usize {
    srv.log("dovecot")
        .lines()
        .filter(|l| l.contains(&format!("Login: user=<{}>", kit::ROBOT)) && l.contains(", TLS,"))
        .count()
}

/// Postfix's count of TLS sessions it accepted.
fn smtp_tls_sessions(srv: &Servers) -> usize {
    srv.log("postfix")
        .matches("TLS connection established from")
        .count()
}

/// `mailra run --once`: (success, stderr).
fn run_once(f: &Fixture) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(["run", "--once", "--dir"])
        .arg(f.dir.path())
        .env("MAILRA_LOG", "mailra=info")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn implicit_tls_and_starttls_check_the_servers_certificate_against_the_ca_file() {
    let srv = tls_servers();
    // imaps to a DNS name of the certificate, smtps (AUTH required) to its
    // IP address.
    let f = instance_at(
        &srv,
        format!("imaps://{}@localhost:{}/INBOX", robot_user(), srv.imaps),
        format!("smtps://{}@127.0.0.1:{}", robot_user(), srv.smtps),
        |a| {
            a.tls_ca_file = Some(srv.ca_file());
            a.smtp_password_file = Some(srv.dir.path().join("robot.password"));
        },
    );
    let robot = Robot::start(f.dir.path(), &[]);
    append_app(&srv, &f, "a.example.ac.jp");
    let got = wait_receipts(&srv, 1);
    for m in &got {
        assert!(verifies(&f, &m.raw));
    }
    assert!(robot.stop());
    let implicit_sessions = smtp_tls_sessions(&srv);
    assert!(implicit_sessions >= 1, "{}", srv.log("postfix"));
    assert!(
        srv.log("postfix")
            .contains(&format!("sasl_username={}", kit::ROBOT)),
        "the robot authenticated:\n{}",
        srv.log("postfix")
    );
    let implicit_logins = robot_tls_logins(&srv);
    assert!(implicit_logins >= 1, "{}", srv.log("dovecot"));

    // STARTTLS on the plain ports, plaintext not allowed.
    live::set_key(
        f.dir.path(),
        "imap",
        "url",
        Some(&format!(
            "\"imap://{}@127.0.0.1:{}/INBOX\"",
            robot_user(),
            srv.imap
        )),
    );
    live::set_key(
        f.dir.path(),
        "smtp",
        "url",
        Some(&format!("\"smtp://localhost:{}\"", srv.smtp)),
    );
    live::set_key(f.dir.path(), "smtp", "password_file", None);
    let robot = Robot::start(f.dir.path(), &[]);
    append_app(&srv, &f, "b.example.ac.jp");
    wait_receipts(&srv, 2);
    live::until("every reply sent", || all_sent(&f));
    assert!(robot.stop());
    assert_eq!(store::certificates(&f.env.conn).unwrap().len(), 2);
    assert!(
        smtp_tls_sessions(&srv) > implicit_sessions,
        "the STARTTLS submission was encrypted:\n{}",
        srv.log("postfix")
    );
    assert!(
        robot_tls_logins(&srv) > implicit_logins,
        "the robot logged in after STARTTLS:\n{}",
        srv.log("dovecot")
    );
}

#[test]
fn an_untrusted_certificate_a_refused_password_or_a_missing_starttls_stops_the_robot() {
    let srv = tls_servers();
    let f = instance_at(
        &srv,
        format!("imaps://{}@127.0.0.1:{}/INBOX", robot_user(), srv.imaps),
        format!("smtps://127.0.0.1:{}", srv.smtps),
        |_| {},
    );
    append_app(&srv, &f, "a.example.ac.jp");

    // No CA file: the system's trust store does not know the test CA.
    let (ok, err) = run_once(&f);
    assert!(!ok, "{err}");
    assert!(
        err.contains("the server's certificate is not trusted (set imap.ca_file"),
        "{err}"
    );
    assert_eq!(robot_tls_logins(&srv), 0, "no login without trust");
    assert_eq!(live::messages(srv.imap, kit::ROBOT, "INBOX").len(), 1);
    assert!(store::certificates(&f.env.conn).unwrap().is_empty());

    // IMAP trusted, SMTP not: the mail is processed, the reply waits with
    // the reason, and nothing is handed to Postfix.
    live::configure(
        f.dir.path(),
        "imap",
        &format!("ca_file = \"{}\"", srv.ca_file().display()),
    );
    let (ok, err) = run_once(&f);
    assert!(ok, "{err}");
    assert_eq!(store::certificates(&f.env.conn).unwrap().len(), 1);
    let rows = store::outbox_rows(&f.env.conn, None).unwrap();
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r.status, store::OutboxStatus::Pending);
        let e = r.last_error.as_deref().unwrap_or_default();
        assert!(
            e.contains("the server's certificate is not trusted (set smtp.ca_file"),
            "{e}"
        );
    }
    assert_eq!(smtp_tls_sessions(&srv), 0);
    assert!(live::messages(srv.imap, O1, "INBOX").is_empty());

    // Trusted now, but the submission port refuses the robot's password:
    // a permanent error, so the replies are dead at once, with the reason.
    live::configure(
        f.dir.path(),
        "smtp",
        &format!("ca_file = \"{}\"", srv.ca_file().display()),
    );
    let wrong = srv.dir.path().join("wrong.password");
    std::fs::write(&wrong, "not-the-password").unwrap();
    live::set_key(
        f.dir.path(),
        "smtp",
        "url",
        Some(&format!(
            "\"smtps://{}@127.0.0.1:{}\"",
            robot_user(),
            srv.smtps
        )),
    );
    live::configure(
        f.dir.path(),
        "smtp",
        &format!("password_file = \"{}\"", wrong.display()),
    );
    std::thread::sleep(std::time::Duration::from_millis(2100)); // the retry is due
    let (ok, err) = run_once(&f);
    assert!(ok, "{err}");
    for r in store::outbox_rows(&f.env.conn, None).unwrap() {
        assert_eq!(r.status, store::OutboxStatus::Dead);
        let e = r.last_error.as_deref().unwrap_or_default();
        assert!(
            e.contains("535") && e.contains("authentication failed"),
            "{e}"
        );
    }
    assert!(live::messages(srv.imap, O1, "INBOX").is_empty());

    // Servers that offer no TLS at all.
    let plain = Servers::start(&[kit::ROBOT, O1, ADMIN]);
    let g = instance_at(&plain, plain.imap_url(kit::ROBOT), plain.smtp_url(), |_| {});
    live::append(
        plain.imap,
        kit::ROBOT,
        "INBOX",
        &one_row(&g, "b.example.ac.jp"),
    );
    let (ok, err) = run_once(&g);
    assert!(!ok, "{err}");
    assert!(
        err.contains("the server offers no STARTTLS and plaintext is not allowed"),
        "{err}"
    );
    assert_eq!(live::messages(plain.imap, kit::ROBOT, "INBOX").len(), 1);

    live::configure(g.dir.path(), "imap", "allow_plaintext = true");
    let (ok, err) = run_once(&g);
    assert!(ok, "{err}");
    assert_eq!(store::certificates(&g.env.conn).unwrap().len(), 1);
    for r in store::outbox_rows(&g.env.conn, None).unwrap() {
        assert_eq!(r.status, store::OutboxStatus::Pending);
        let e = r.last_error.as_deref().unwrap_or_default();
        assert!(
            e.contains("no STARTTLS and plaintext is not allowed (set smtp.allow_plaintext"),
            "{e}"
        );
    }
    assert!(live::messages(plain.imap, O1, "INBOX").is_empty());
}
