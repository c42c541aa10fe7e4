//! Tests of the secretariat's tools: `mailra status` on real instance
//! directories — the real binary for what a monitoring system sees (exit
//! status, the screen, the JSON object), and `ops::status` with its own
//! "now" for what only time brings (a CRL running out, a review left for
//! days).

use std::process::{Command, Output};
use std::time::SystemTime;

use mailra::model::{CaKind, Verdict};
use mailra::ops::status::{self, Level};
use mailra::store::{self, Heartbeat, Intake};
use serde_json::Value;
use time::Duration;

use crate::support::{EX, Fixture, O1, issue_tsv, now, signer};

fn mailra(f: &Fixture, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(args)
        .arg("--dir")
        .arg(f.dir.path())
        .env_remove("MAILRA_DIR")
        .output()
        .unwrap()
}

/// `mailra status`: (exit status, screen).
fn screen(f: &Fixture) -> (i32, String) {
    let o = mailra(f, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap(), out)
}

/// `mailra status --json`: (exit status, the one object).
fn json(f: &Fixture) -> (i32, Value) {
    let o = mailra(f, &["status", "--json"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 1, "one JSON object on one line: {out}");
    (
        o.status.code().unwrap(),
        serde_json::from_str(&out).unwrap(),
    )
}

/// The screen's line of `check` (`inbox`, `crl rsa`, …).
fn line<'a>(screen: &'a str, check: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with(&format!("{check} ")))
        .unwrap_or_else(|| panic!("no {check} line in\n{screen}"))
}

/// The state column of the screen's line of `check`.
fn state<'a>(screen: &'a str, check: &str) -> &'a str {
    line(screen, check)[check.len()..]
        .split_whitespace()
        .next()
        .unwrap()
}

fn problems(v: &Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

fn age(path: &std::path::Path, by: std::time::Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - by)
        .unwrap();
}

#[test]
fn a_fresh_instance_is_ok_and_says_no_robot_has_run() {
    let f = Fixture::new();
    let (code, s) = screen(&f);
    assert_eq!(code, 0, "{s}");
    assert!(s.starts_with("mailra status: OK ("), "{s}");
    assert!(line(&s, "robot").contains("no robot has run"), "{s}");
    assert!(line(&s, "today").contains("JST, UTC+9"), "{s}");
    // No certificate issued yet: no CRL is needed (not a warning).
    for ca in ["crl rsa", "crl ec"] {
        assert!(
            state(&s, ca) == "OK" && line(&s, ca).contains("no CRL yet; none needed"),
            "{s}"
        );
    }
    assert!(line(&s, "key pool").contains("n/a"), "{s}");
    assert!(line(&s, "maintenance").contains("maintenance off"), "{s}");

    let (code, v) = json(&f);
    assert_eq!(code, 0);
    assert_eq!(v["level"], "ok");
    assert_eq!(problems(&v), Vec::<String>::new());
    assert!(store::parse_ts(v["at"].as_str().unwrap()).is_some(), "{v}");
    assert_eq!(v["inbox"]["intake"], "maildir");
    assert_eq!(v["inbox"]["waiting"], 0);
    assert_eq!(v["robot"]["last_seen"], Value::Null);
    assert_eq!(v["today"]["time_zone"], "Asia/Tokyo (UTC+09:00, no DST)");
    assert_eq!(v["today"]["total"], 0);
    assert_eq!(
        v["today"]["by_verdict"].as_object().unwrap().len(),
        mailra::model::Verdict::ALL.len()
    );
    assert_eq!(v["held"]["count"], 0);
    assert_eq!(
        (v["outbox"]["pending"].clone(), v["outbox"]["dead"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(v["expiring"]["days"], 30);
    let crls = v["crls"].as_array().unwrap();
    assert_eq!(
        crls.iter()
            .map(|c| c["ca"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["rsa", "ec"]
    );
    assert!(
        crls.iter()
            .all(|c| c["number"].is_null() && c["level"] == "ok")
    );
    assert_eq!(v["maintenance"]["state"]["on"], false);
    assert_eq!(v["key_pool"]["keys"], Value::Null);
}

#[test]
fn a_mail_left_unprocessed_past_the_threshold_is_a_warning_until_the_robot_takes_it() {
    let f = Fixture::new();
    let inbox = f.env.cfg.maildir.clone();
    let raw = b"From: someone@example.org\r\nTo: robot@example.ac.jp\r\nSubject: hello\r\n\r\nnot signed\r\n";
    let path = mailra::mail::maildir::deliver(&inbox, "1764500000.M1P1.host", raw).unwrap();
    // Just arrived: waiting, not late.
    let (code, v) = json(&f);
    assert_eq!((code, v["inbox"]["waiting"].clone()), (0, 1.into()), "{v}");

    age(&path, std::time::Duration::from_secs(20 * 60));
    let (code, s) = screen(&f);
    assert_eq!(code, 1, "{s}");
    assert!(s.starts_with("mailra status: WARNING"), "{s}");
    let inbox_line = line(&s, "inbox");
    assert!(
        state(&s, "inbox") == "WARNING"
            && inbox_line.contains("1 mail waiting, the oldest for 20 min (more than 15 min)"),
        "{s}"
    );
    let (code, v) = json(&f);
    assert_eq!(code, 1);
    assert_eq!(v["level"], "warning");
    let p = problems(&v);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("inbox: 1 mail waiting"), "{p:?}");
    assert!(
        v["inbox"]["lag_seconds"].as_i64().unwrap() >= 20 * 60,
        "{v}"
    );

    // The robot takes it: the inbox is empty and its pass is recorded.
    let o = mailra(&f, &["run", "--once"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, s) = screen(&f);
    assert_eq!(code, 0, "{s}");
    assert!(line(&s, "inbox").contains("no mail waiting"), "{s}");
    assert!(
        line(&s, "robot").contains("`mailra run --once` (maildir)"),
        "{s}"
    );
    assert!(line(&s, "today").contains("1 mail received"), "{s}");
    let hb = store::heartbeat(&f.env.conn).unwrap().unwrap();
    assert_eq!(
        (hb.intake, hb.daemon, hb.waiting),
        (Intake::Maildir, false, 0)
    );
}

#[test]
fn a_crl_past_its_next_update_is_critical() {
    let f = Fixture::new();
    // A CRL of the real RSA CA, made ten days ago for a week.
    let made = now() - Duration::days(10);
    let next = made + Duration::days(7);
    let crl = f.env.ca.crl(&[], made, next, 1).unwrap();
    store::insert_crl(&f.env.conn, CaKind::Rsa, 1, made, next, &crl.der).unwrap();
    let (code, s) = screen(&f);
    assert_eq!(code, 2, "{s}");
    assert!(s.starts_with("mailra status: CRITICAL"), "{s}");
    let rsa = line(&s, "crl rsa");
    assert!(
        state(&s, "crl rsa") == "CRITICAL"
            && rsa.contains("CRL #1 made 10 d 0 h ago is past its nextUpdate"),
        "{s}"
    );
    assert_eq!(state(&s, "crl ec"), "OK", "{s}");
    let (code, v) = json(&f);
    assert_eq!(code, 2);
    assert_eq!(v["level"], "critical");
    assert_eq!(v["crls"][0]["past_next_update"], true);
    assert_eq!(v["crls"][0]["number"], 1);
    assert_eq!(v["crls"][0]["next_update"], store::ts(next));
    assert!(problems(&v)[0].starts_with("crl rsa: "), "{v}");

    // `mailra crl` makes fresh ones (nextUpdate in [ca] crl_days = 7)...
    let o = mailra(&f, &["crl"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t0 = now();
    assert_eq!(status::status(&f.env, t0).unwrap().level, Level::Ok);
    // ... a warning the last day, critical once past.
    let day6 = status::status(&f.env, t0 + Duration::hours(6 * 24 + 12)).unwrap();
    assert_eq!(day6.level, Level::Warning, "{day6}");
    assert!(
        day6.problems.iter().all(|p| p.contains("run `mailra crl`")),
        "{day6}"
    );
    let day8 = status::status(&f.env, t0 + Duration::days(8)).unwrap();
    assert_eq!(day8.level, Level::Critical, "{day8}");
    assert_eq!(day8.problems.len(), 2, "both CAs: {day8}");
}

#[test]
fn a_ca_that_issued_certificates_without_a_crl_is_a_warning() {
    let mut f = Fixture::new();
    let raw = f.mail(
        &f.o1,
        O1,
        "サーバ証明書発行申請",
        &issue_tsv("www.example.ac.jp"),
    );
    assert_eq!(f.process(&raw).verdict, Verdict::Accepted);
    let (code, s) = screen(&f);
    assert_eq!(code, 1, "{s}");
    assert!(
        line(&s, "crl rsa")
            .contains("no CRL yet although this CA issued 1 certificate: run `mailra crl`"),
        "{s}"
    );
    // The ECDSA CA issued nothing: it needs none.
    assert_eq!(state(&s, "crl ec"), "OK", "{s}");
    mailra::ra::refresh_crl(&mut f.env, now()).unwrap();
    let (code, v) = json(&f);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["crls"][0]["issued"], 1);
}

#[test]
fn a_dead_reply_is_a_warning_and_an_old_pending_one_too() {
    let f = Fixture::new();
    let recipients = [O1.to_string()];
    let reply = |id: &'static str| store::NewReply {
        mail_id: None,
        message_id: id,
        from: mailra::kit::ROBOT,
        recipients: &recipients,
        kind: "test",
        subject: "a reply",
        raw: b"Subject: a reply\r\n\r\nhello\r\n",
    };
    let id = store::enqueue(&f.env.conn, &reply("<dead@x>"), now()).unwrap();
    store::attempt_failed(&f.env.conn, id, "550 no such user", None).unwrap();
    let (code, s) = screen(&f);
    assert_eq!(code, 1, "{s}");
    let outbox = line(&s, "outbox");
    assert!(
        state(&s, "outbox") == "WARNING"
            && outbox.contains("1 reply dead")
            && outbox.contains("mailra outbox retry"),
        "{s}"
    );
    let (_, v) = json(&f);
    assert_eq!(
        (v["outbox"]["dead"].clone(), v["outbox"]["pending"].clone()),
        (1.into(), 0.into())
    );
    assert_eq!(problems(&v).len(), 1, "{v}");

    // A reply pending for two hours: the relay is not taking them.
    let two_hours_ago = now() - Duration::hours(2);
    store::enqueue(&f.env.conn, &reply("<late@x>"), two_hours_ago).unwrap();
    let (code, v) = json(&f);
    assert_eq!(code, 1);
    assert_eq!(v["outbox"]["pending"], 1);
    assert_eq!(v["outbox"]["oldest_pending"], store::ts(two_hours_ago));
    let p = problems(&v);
    assert!(
        p[0].contains("1 reply pending, the oldest for 2 h 0 min") && p[0].contains("1 reply dead"),
        "{p:?}"
    );
}

#[test]
fn held_mails_are_counted_and_one_left_for_days_is_a_warning() {
    let mut f = Fixture::new();
    // The shipped rule holds requests of officers registered this week.
    let newcomer = "newcomer@example.ac.jp";
    store::add_officer(&f.env.conn, newcomer, EX, now()).unwrap();
    let s = signer(&f.officer_ca, newcomer);
    let raw = f.mail(
        &s,
        newcomer,
        "サーバ証明書発行申請",
        &issue_tsv("www.example.ac.jp"),
    );
    let o = f.process(&raw);
    assert_eq!(o.verdict, Verdict::Held, "{o:?}");

    let (code, v) = json(&f);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["held"]["count"], 1);
    assert!(store::parse_ts(v["held"]["oldest"].as_str().unwrap()).is_some());
    assert_eq!(v["today"]["by_verdict"]["held"], 1);
    assert_eq!(v["today"]["total"], 1);
    let (_, s) = screen(&f);
    assert!(line(&s, "held").contains("1 mail held for review"), "{s}");

    let later = status::status(&f.env, now() + Duration::days(4)).unwrap();
    assert_eq!(later.held.level, Level::Warning);
    assert!(
        later
            .problems
            .iter()
            .any(|p| p.starts_with("held: 1 mail held for review, the oldest for 4 d")),
        "{later}"
    );
}

#[test]
fn a_silent_daemon_is_a_warning_and_its_key_pool_is_shown() {
    let f = Fixture::new();
    let mut hb = Heartbeat {
        at: now() - Duration::hours(1),
        intake: Intake::Maildir,
        daemon: true,
        every_seconds: 2,
        waiting: 0,
        oldest_waiting: None,
        key_pool_level: 37,
        key_pool_capacity: 100,
    };
    store::beat(&f.env.conn, &hb).unwrap();
    let (code, s) = screen(&f);
    assert_eq!(code, 1, "{s}");
    assert!(
        line(&s, "robot").contains("the robot has made no pass for 60 minutes"),
        "{s}"
    );
    assert!(line(&s, "key pool").contains("37/100 keys ready"), "{s}");
    let (_, v) = json(&f);
    assert_eq!(v["robot"]["daemon"], true);
    assert_eq!(
        (
            v["key_pool"]["keys"].clone(),
            v["key_pool"]["capacity"].clone()
        ),
        (37.into(), 100.into())
    );

    hb.at = now();
    store::beat(&f.env.conn, &hb).unwrap();
    let (code, s) = screen(&f);
    assert_eq!(code, 0, "{s}");
    assert!(line(&s, "robot").contains("alive"), "{s}");
}

#[test]
fn an_imap_inbox_is_judged_from_the_heartbeat_without_the_server() {
    // No server listens there: status must not need it.
    let f = Fixture::with_init(|a| {
        a.imap = Some("imap://robot@127.0.0.1:9".into());
        a.allow_plaintext = true;
    });
    let (code, v) = json(&f);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["inbox"]["intake"], "imap");
    assert_eq!(
        v["inbox"]["waiting"],
        Value::Null,
        "not known before a pass"
    );

    let oldest = now() - Duration::minutes(30);
    store::beat(
        &f.env.conn,
        &Heartbeat {
            at: now(),
            intake: Intake::Imap,
            daemon: true,
            every_seconds: 25 * 60,
            waiting: 3,
            oldest_waiting: Some(oldest),
            key_pool_level: 0,
            key_pool_capacity: 0,
        },
    )
    .unwrap();
    let (code, s) = screen(&f);
    assert_eq!(code, 1, "{s}");
    assert!(
        line(&s, "inbox").contains("3 mails waiting, the oldest for 30 min (more than 15 min)"),
        "{s}"
    );
    assert!(line(&s, "key pool").contains("off"), "{s}");
    let (_, v) = json(&f);
    assert_eq!(v["inbox"]["oldest"], store::ts(oldest));
}

/// The wiring in the IMAP intake: the transport gives each waiting mail's
/// INTERNALDATE, and a pass of the real robot leaves its heartbeat, which
/// `mailra status` reads without the server.
#[test]
fn the_imap_robot_leaves_a_heartbeat_status_reads_without_the_server() {
    use crate::support::live::{self, PASSWORD, Servers};
    let srv = Servers::start(&[mailra::kit::ROBOT, O1]);
    let f = crate::support::instance(&srv, "INBOX");
    // Unsigned, from an officer whose mailbox takes the reply.
    let unsigned = format!(
        "From: {O1}\r\nTo: {}\r\nSubject: hello\r\n\r\nnot signed\r\n",
        mailra::kit::ROBOT
    );
    live::append(srv.imap, mailra::kit::ROBOT, "INBOX", unsigned.as_bytes());
    live::append(
        srv.imap,
        mailra::kit::ROBOT,
        "INBOX",
        b"Subject: two\r\n\r\nx\r\n",
    );
    let imap = f.env.cfg.imap.clone().unwrap();
    let arrivals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut s = mailra::mail::imap::connect(&imap.endpoint, PASSWORD)
                .await
                .unwrap();
            s.select("INBOX").await.unwrap();
            let a = mailra::mail::imap::arrivals(&mut s, &[1, 2]).await.unwrap();
            mailra::mail::imap::logout(s).await;
            a
        });
    assert_eq!(
        arrivals.iter().map(|a| a.0).collect::<Vec<_>>(),
        [1, 2],
        "{arrivals:?}"
    );
    assert!(
        arrivals
            .iter()
            .all(|(_, t)| (now() - *t).abs() < Duration::minutes(2)),
        "{arrivals:?}"
    );

    let o = mailra(&f, &["run", "--once"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hb = store::heartbeat(&f.env.conn).unwrap().unwrap();
    assert_eq!(
        (hb.intake, hb.daemon, hb.waiting, hb.oldest_waiting),
        (Intake::Imap, false, 0, None)
    );
    assert_eq!(hb.every_seconds, imap.idle.as_secs(), "Dovecot has IDLE");
    // Dovecot down, status still answers from the heartbeat.
    srv.ctl("dovecot-stop");
    let (code, s) = screen(&f);
    assert_eq!(code, 0, "{s}");
    assert!(
        line(&s, "inbox").contains("no mail waiting (IMAP, as the robot saw it"),
        "{s}"
    );
    assert!(
        line(&s, "robot").contains("`mailra run --once` (imap)"),
        "{s}"
    );
}
