//! Live mail figures against a private Dovecot + Postfix on loopback (the same
//! servers the tests use, see scripts/mail-servers), with `mailra run` as a
//! real child process:
//!   - latency from APPEND to the signed receipt arriving in the officer's
//!     mailbox, for a 1-row mail (target under 2 s with IDLE);
//!   - the time to drain 200 queued mails (each a valid 1-row application),
//!     and the mails/second.
//!
//! Prints the figures; no pass/fail here.

#[path = "../tests/support/live.rs"]
#[allow(dead_code)]
mod live;

use std::time::{Duration, Instant};

use live::{ADMIN, Robot, Servers};
use mailra::ca::{self, KeyKind, KeyPair};
use mailra::config::Config;
use mailra::demo::{self, FileSpec};
use mailra::init::{self, InitArgs};
use mailra::mail::sign::Signer;
use mailra::store;
use time::OffsetDateTime;

const OFFICER: &str = "officer@example.ac.jp";
const QUEUED: usize = 200;

fn main() {
    let srv = Servers::start(&[demo::ROBOT, OFFICER, ADMIN]);
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("robot.password");
    std::fs::write(&pw, live::PASSWORD).unwrap();
    let now = OffsetDateTime::now_utc();
    let inst = dir.path().join("instance");
    init::init(
        &InitArgs {
            dir: inst.clone(),
            robot_address: Some(demo::ROBOT.into()),
            imap: Some(srv.imap_url(demo::ROBOT)),
            imap_password_file: Some(pw),
            smtp: Some(srv.smtp_url()),
            allow_plaintext: true,
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let cfg = Config::load(&inst).unwrap();
    let conn = store::open(&cfg.database).unwrap();
    let ex = "Example University";
    store::add_institution(
        &conn,
        ex,
        "Tokyo",
        "Chiyoda-ku",
        &["example.ac.jp".into()],
        now,
    )
    .unwrap();
    // Registered a month ago, so the default rule holding a new officer's
    // requests for review does not apply.
    store::add_officer(&conn, OFFICER, ex, now - time::Duration::days(30)).unwrap();
    let ca = KeyPair::load(
        &inst.join("pki/officer-ca.pem"),
        &inst.join("pki/officer-ca.key"),
    )
    .unwrap();
    let kp = ca::new_mail_cert(&ca, OFFICER, "Officer", now, 365).unwrap();
    let officer = Signer {
        cert: kp.cert,
        key: kp.key,
        chain: vec![ca.cert.clone()],
    };
    let mut n = 0;
    let mut mail = |kind: KeyKind| {
        n += 1;
        let dn = demo::server_dn(&format!("h{n}.example.ac.jp"), ex, "Chiyoda-ku", "Tokyo");
        let key = ca::new_key(kind).unwrap();
        let csr = demo::csr_one_line(&ca::new_server_csr(&dn, &key).unwrap()).unwrap();
        let profile = if kind == KeyKind::P384 { 11 } else { 3 };
        let line = demo::issue_line(&dn, profile, &csr, "", ADMIN, "");
        let files = [FileSpec {
            name: "server.tsv".into(),
            data: demo::sjis(&line),
        }];
        demo::application_mail(
            &officer,
            OFFICER,
            demo::ROBOT,
            "サーバ証明書発行申請",
            &files,
            false,
            OffsetDateTime::now_utc(),
        )
        .unwrap()
    };
    let receipts = || {
        live::messages(srv.imap, OFFICER, "INBOX")
            .iter()
            .filter(|m| m.header("X-Mailra-Verdict").as_deref() == Some("accepted"))
            .count()
    };

    // 1. APPEND → receipt latency, robot idle in IDLE.
    let robot = Robot::start(&inst, &[]);
    std::thread::sleep(Duration::from_secs(2));
    let mut lat = Vec::new();
    for i in 0..5 {
        let raw = mail(KeyKind::Rsa2048);
        let t = Instant::now();
        live::append(srv.imap, demo::ROBOT, "INBOX", &raw);
        while receipts() < i + 1 {
            assert!(t.elapsed() < Duration::from_secs(60), "no receipt");
            std::thread::sleep(Duration::from_millis(10));
        }
        lat.push(t.elapsed());
    }
    assert!(robot.stop());
    lat.sort();
    let median = lat[lat.len() / 2];

    // 2. 200 mails queued while the robot is down, then drained.
    eprintln!("queueing {QUEUED} mails…");
    for _ in 0..QUEUED {
        live::append(srv.imap, demo::ROBOT, "INBOX", &mail(KeyKind::P384));
    }
    let before = receipts();
    let t = Instant::now();
    let robot = Robot::start(&inst, &[]);
    let all_sent = || {
        store::outbox_rows(&conn, None)
            .map(|r| {
                r.len() >= 2 * (QUEUED + 5)
                    && r.iter().all(|m| m.status == store::OutboxStatus::Sent)
            })
            .unwrap_or(false)
    };
    while !(all_sent() && live::messages(srv.imap, demo::ROBOT, "INBOX").is_empty()) {
        assert!(t.elapsed() < Duration::from_secs(600), "drain too slow");
        std::thread::sleep(Duration::from_millis(50));
    }
    let drained = t.elapsed();
    let delivered = Instant::now();
    while receipts() < before + QUEUED {
        assert!(
            delivered.elapsed() < Duration::from_secs(120),
            "receipts missing"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(robot.stop());

    println!(
        "mailra live mail benchmark (Dovecot + Postfix on 127.0.0.1, `mailra run` release build)"
    );
    println!(
        "  APPEND → signed receipt in the officer's INBOX, 1-row mail, IDLE: median {:.0} ms (min {:.0}, max {:.0}; target < 2000 ms)",
        median.as_secs_f64() * 1000.0,
        lat[0].as_secs_f64() * 1000.0,
        lat[lat.len() - 1].as_secs_f64() * 1000.0
    );
    println!(
        "  drain {QUEUED} queued 1-row mails (verify, issue, 2 signed replies each via SMTP, MOVE): {:.1} s = {:.1} mails/s",
        drained.as_secs_f64(),
        QUEUED as f64 / drained.as_secs_f64()
    );
}
