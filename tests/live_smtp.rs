//! The SMTP sender against a real Postfix on loopback: a drain of many
//! replies is one SMTP session (Postfix logs `connect from` and, at its end,
//! `disconnect from … mail=N` per session), and a kept connection the server
//! dropped (a Postfix restart between drains; a relay's per-session message
//! limit mid-drain, played by a small scripted server) is replaced without a
//! failed reply.

mod support;

use mailra::kit;
use mailra::service::sender::{Drained, SmtpSender};
use mailra::store;
use support::live::{self, ADMIN, Servers, WAIT};
use support::*;

fn fixture() -> (Servers, Fixture) {
    let servers = Servers::start(&[kit::ROBOT, O1, ADMIN]);
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
            robot = kit::ROBOT
        );
        store::enqueue(
            &f.env.conn,
            &store::NewReply {
                mail_id: None,
                message_id: &id,
                from: kit::ROBOT,
                recipients: &[O1.to_string()],
                kind: "receipt",
                subject: &format!("{tag} {i}"),
                raw: raw.as_bytes(),
            },
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

/// The `disconnect from` lines of the SMTP sessions Postfix logged so far,
/// without the start-up script's probes (a connect and nothing else).
fn sessions(srv: &Servers) -> Vec<String> {
    srv.log("postfix")
        .lines()
        .filter(|l| l.contains("smtpd") && l.contains(": disconnect from"))
        .filter(|l| !l.ends_with(" commands=0/0"))
        .map(str::to_string)
        .collect()
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
        !sessions(&srv).is_empty()
    });
    let ends = sessions(&srv);
    assert_eq!(
        ends.len(),
        1,
        "one SMTP session for 20 replies:\n{}",
        srv.log("postfix")
    );
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
        rows.iter()
            .all(|r| r.status == store::OutboxStatus::Sent && r.attempts == 1),
        "{rows:#?}"
    );
    let got = live::wait_for(srv.imap, O1, "INBOX", 10, WAIT);
    assert_eq!(got.len(), 10, "each reply delivered once");
}

/// An SMTP server on loopback that ends each session after `limit` messages
/// the way relays with a per-session limit do: it answers NOOP as usual, and
/// the next MAIL with 421 before closing. Returns its port and the number of
/// sessions it has seen.
fn limited_server(limit: usize) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sessions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = sessions.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut out) = stream else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            let mut input = BufReader::new(out.try_clone().unwrap());
            let _ = out.write_all(b"220 limited ESMTP\r\n");
            let mut done = 0;
            let mut line = String::new();
            loop {
                line.clear();
                if input.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let answer: &[u8] = match verb.as_str() {
                    "EHLO" | "HELO" => b"250 limited\r\n",
                    "MAIL" if done == limit => {
                        let _ = out.write_all(b"421 4.7.0 too many messages in this session\r\n");
                        break;
                    }
                    "MAIL" | "RCPT" | "NOOP" | "RSET" => b"250 2.0.0 ok\r\n",
                    "DATA" => {
                        let _ = out.write_all(b"354 go ahead\r\n");
                        while line != ".\r\n" {
                            line.clear();
                            if input.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                        }
                        done += 1;
                        b"250 2.0.0 queued\r\n"
                    }
                    "QUIT" => {
                        let _ = out.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => b"502 5.5.2 not implemented\r\n",
                };
                if out.write_all(answer).is_err() {
                    break;
                }
            }
        }
    });
    (port, sessions)
}

#[test]
fn smtp_reconnects_when_the_server_ends_a_session_mid_drain() {
    let (port, seen) = limited_server(5);
    let f = Fixture::with_init(|a| {
        a.smtp = Some(format!("smtp://127.0.0.1:{port}"));
        a.allow_plaintext = true;
    });
    queue(&f, "limited", 12);
    let smtp = f.env.cfg.smtp.clone().unwrap();
    let d = rt().block_on(async {
        let sender = SmtpSender::new(&smtp).unwrap();
        let d = sender.drain(&f.env.conn, now, || false).await.unwrap();
        sender.close().await;
        d
    });
    assert_eq!(
        d,
        Drained {
            sent: 12,
            ..Default::default()
        },
        "the refused MAIL is tried again at once on a new connection, not after a backoff"
    );
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "5 + 5 + 2"
    );
}
