//! The SMTP sender against a real Postfix on loopback: a drain of many
//! replies is one SMTP session (Postfix logs `connect from` and, at its end,
//! `disconnect from … mail=N` per session), and a kept connection the server
//! dropped (a Postfix restart) is replaced without a failed reply.

mod support;

use mailra::demo;
use mailra::service::sender::{Drained, SmtpSender};
use mailra::store;
use support::live::{self, ADMIN, Servers, WAIT};
use support::*;

fn fixture() -> (Servers, Fixture) {
    let servers = Servers::start(&[demo::ROBOT, O1, ADMIN]);
    let f = instance(&servers, "INBOX");
    (servers, f)
}

/// Queues `n` plain replies from the robot to officer 1 (`tag` in their
/// Subject and Message-ID).
fn queue(f: &Fixture, tag: &str, n: usize) {
    for i in 0..n {
        let id = format!("<{tag}-{i}@mailra.test>");
        let raw = format!(
            "From: {robot}\r\nTo: {O1}\r\nSubject: {tag} {i}\r\nMessage-ID: {id}\r\n\r\nreply {i}\r\n",
            robot = demo::ROBOT
        );
        store::enqueue(
            &f.env.conn,
            None,
            &id,
            demo::ROBOT,
            &[O1.to_string()],
            "receipt",
            &format!("{tag} {i}"),
            raw.as_bytes(),
            now(),
        )
        .unwrap();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The SMTP sessions Postfix logged so far: (connects, `disconnect from` lines).
fn sessions(srv: &Servers) -> (usize, Vec<String>) {
    let log = srv.log("postfix");
    let connects = log
        .lines()
        .filter(|l| l.contains("smtpd") && l.contains(": connect from"))
        .count();
    let ends = log
        .lines()
        .filter(|l| l.contains("smtpd") && l.contains(": disconnect from"))
        .map(str::to_string)
        .collect();
    (connects, ends)
}

#[test]
fn smtp_keeps_one_connection_across_a_drain() {
    let (srv, f) = fixture();
    queue(&f, "drain", 20);
    let smtp = f.env.cfg.smtp.clone().unwrap();
    let rt = rt();
    rt.block_on(async {
        let sender = SmtpSender::new(&smtp).unwrap();
        let d = sender.drain(&f.env.conn, now, || false).await.unwrap();
        assert_eq!(
            d,
            Drained {
                sent: 20,
                ..Default::default()
            }
        );
        sender.close().await;
    });
    live::until("Postfix logs the end of the session", || {
        !sessions(&srv).1.is_empty()
    });
    let (connects, ends) = sessions(&srv);
    assert_eq!(
        connects,
        1,
        "one SMTP session for 20 replies:\n{}",
        srv.log("postfix")
    );
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert!(
        ends[0].contains(" mail=20 ") && ends[0].contains(" data=20 "),
        "all 20 replies in that session: {}",
        ends[0]
    );
    let got = live::wait_for(srv.imap, O1, "INBOX", 20, WAIT);
    assert_eq!(got.len(), 20, "each reply delivered once");
}

#[test]
fn smtp_reconnects_when_postfix_restarts_between_drains() {
    let (srv, f) = fixture();
    let smtp = f.env.cfg.smtp.clone().unwrap();
    let rt = rt();
    rt.block_on(async {
        let sender = SmtpSender::new(&smtp).unwrap();
        queue(&f, "before", 5);
        let d = sender.drain(&f.env.conn, now, || false).await.unwrap();
        assert_eq!(d.sent, 5);
        // The kept connection is cut under the sender.
        srv.wait_queue_empty();
        srv.ctl("postfix-stop");
        srv.ctl("postfix-start");
        queue(&f, "after", 5);
        let d = sender.drain(&f.env.conn, now, || false).await.unwrap();
        assert_eq!(
            d,
            Drained {
                sent: 5,
                ..Default::default()
            },
            "no reply waits for a retry: the sender reconnected"
        );
        sender.close().await;
    });
    let rows = store::outbox_rows(&f.env.conn, None).unwrap();
    assert!(
        rows.iter().all(|r| r.status == "sent" && r.attempts == 1),
        "{rows:#?}"
    );
    let got = live::wait_for(srv.imap, O1, "INBOX", 10, WAIT);
    assert_eq!(got.len(), 10, "each reply delivered once");
}
