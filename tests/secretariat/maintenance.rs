//! Maintenance mode on a real instance with the Maildir intake: turned on
//! and off with the real binary, mails arriving meanwhile kept in the
//! holding folder with one signed notice per officer per period (none for
//! an unsigned mail), then processed in arrival order after `off`, nothing
//! lost; a period with an end time ends by itself on the robot's clock.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use mailra::clock::FixedClock;
use mailra::kit::{self, mail::FileSpec};
use mailra::ra::{Outcome, Verdict};
use mailra::store;

use crate::support::*;

fn mailra(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env_remove("MAILRA_DIR")
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn state(f: &Fixture) -> serde_json::Value {
    serde_json::from_str(&ok(&mailra(f.dir.path(), &["maintenance", "--json"]))).unwrap()
}

/// Drops `raw` into the Maildir inbox as `name`.
fn deliver(f: &Fixture, name: &str, raw: &[u8]) {
    let new = f.path("maildir/new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(new.join(name), raw).unwrap();
}

/// One pass of the robot's Maildir intake, in process.
fn pass(f: &mut Fixture) -> Vec<Outcome> {
    mailra::service::maildir::process(&mut f.env, &|| false).unwrap()
}

/// A one-row issuance from officer 2 (Sample Institute of Technology).
fn sample_mail(f: &Fixture, cn: &str) -> Vec<u8> {
    let dn = kit::forms::server_dn(cn, SAMPLE, "Suita-shi", "Osaka");
    let csr = kit::forms::csr_field(&rsa(), &dn).unwrap();
    let line = kit::forms::issue_line(&dn, 3, &csr, "", "admin@sample-tech.ac.jp", "");
    f.mail(&f.o2, O2, "発行", &line)
}

/// The files in a Maildir folder's `cur/` (`""`: the inbox's `new/`).
fn files_in(f: &Fixture, folder: &str) -> Vec<PathBuf> {
    let dir = if folder.is_empty() {
        f.path("maildir/new")
    } else {
        f.path(&format!("maildir/.{folder}/cur"))
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Every mail file of the Maildir, in any folder.
fn every_filed(f: &Fixture) -> usize {
    std::fs::read_dir(f.path("maildir"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| std::fs::read_dir(e.path().join("cur")).unwrap().count())
        .sum::<usize>()
        + files_in(f, "").len()
}

/// The maintenance notices written so far: (To, raw).
fn notices(f: &Fixture) -> Vec<(String, String)> {
    f.replies()
        .into_iter()
        .filter_map(|(_, raw)| {
            let m = mail_parser::MessageParser::default()
                .parse(raw.as_bytes())
                .unwrap();
            let verdict = m.header("X-Mailra-Verdict")?.as_text()?.to_string();
            let to = m.to()?.first()?.address()?.to_string();
            (verdict == "deferred").then_some((to, raw.clone()))
        })
        .collect()
}

#[test]
fn mails_kept_during_maintenance_are_told_once_and_processed_in_order_after_off() {
    let mut f = Fixture::new();
    let dir = f.dir.path().to_path_buf();
    let on = ok(&mailra(
        &dir,
        &[
            "maintenance",
            "on",
            "--message",
            "CA鍵更新作業のため停止中です / CA key renewal in progress",
        ],
    ));
    assert!(on.starts_with("maintenance on since "), "{on}");
    let s = state(&f);
    assert_eq!(s["on"], true);
    assert_eq!(s["by"], "secretariat (tester)");
    assert!(s["since"].as_str().unwrap().ends_with('Z'), "{s}");

    // First pass: officer A's first mail and an unsigned one claiming A.
    let a1 = one_row_to(&f, "www1.example.ac.jp", "admin@example.ac.jp");
    let files = [FileSpec {
        name: "application.tsv".into(),
        data: kit::forms::sjis(&issue_tsv("forged.example.ac.jp")),
    }];
    let forged = kit::mail::unsigned_mail(O1, kit::ROBOT, "発行", &files).unwrap();
    deliver(&f, "1.eml", &a1);
    deliver(&f, "2.eml", &forged);
    let first = pass(&mut f);
    // Second pass: officer B's mail and A's second one.
    deliver(&f, "3.eml", &sample_mail(&f, "www.sample-tech.ac.jp"));
    deliver(
        &f,
        "4.eml",
        &one_row_to(&f, "www2.example.ac.jp", "admin@example.ac.jp"),
    );
    let second = pass(&mut f);
    let kept: Vec<&Outcome> = first.iter().chain(&second).collect();
    assert_eq!(kept.len(), 4);
    for o in &kept {
        assert_eq!(o.verdict, Verdict::Deferred, "{o:?}");
        assert_eq!(o.folder, "Maintenance");
    }
    assert_eq!(
        kept.iter().map(|o| o.replies).collect::<Vec<_>>(),
        [1, 0, 1, 0],
        "one notice to A, none for the unsigned mail, one to B, none again to A"
    );
    // All four kept in the holding folder, nothing carried out.
    assert_eq!(files_in(&f, "Maintenance").len(), 4);
    assert!(files_in(&f, "").is_empty());
    assert_eq!(f.cert_count(), 0);
    let told = notices(&f);
    let mut to: Vec<&str> = told.iter().map(|(t, _)| t.as_str()).collect();
    to.sort();
    assert_eq!(to, [O1, O2]);
    for (_, raw) in &told {
        assert!(verifies(&f, raw.as_bytes()), "the notice is signed");
        assert!(text_of(raw).contains("CA key renewal in progress"), "{raw}");
    }
    assert_eq!(f.replies().len(), 2, "no other reply");
    let s = state(&f);
    assert_eq!(
        (s["waiting"].as_i64(), s["notices"].as_i64()),
        (Some(4), Some(2))
    );

    // A later pass finds nothing new and tells nobody again.
    assert!(pass(&mut f).is_empty());
    assert_eq!(f.replies().len(), 2);

    let off = ok(&mailra(&dir, &["maintenance", "off"]));
    assert!(off.starts_with("maintenance off"), "{off}");
    assert!(off.contains("mails kept: 4"), "{off}");
    // The robot's next pass (the real daemon, once) processes them in order.
    let run = ok(&mailra(&dir, &["run", "--once"]));
    let lines: Vec<&str> = run.lines().collect();
    assert_eq!(lines.len(), 4, "{run}");
    for (line, (name, verdict)) in lines.iter().zip([
        ("1.eml", "accepted"),
        ("2.eml", "rejected"),
        ("3.eml", "accepted"),
        ("4.eml", "accepted"),
    ]) {
        assert!(
            line.starts_with(&format!("{name}: {verdict}")),
            "{line} / {run}"
        );
    }
    // Processed in arrival order (the audit trail's order), each on its own
    // row; a certificate for each mail that carried one.
    let ids: Vec<i64> = kept.iter().map(|o| o.mail_id).collect();
    let resumed: Vec<i64> = store::audit_events(&f.env.conn)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "maintenance-resume")
        .filter_map(|e| e.mail_id)
        .collect();
    assert_eq!(resumed, ids);
    let mut issued_by: Vec<i64> = store::certificates(&f.env.conn)
        .unwrap()
        .iter()
        .map(|c| c.mail_id.unwrap())
        .collect();
    issued_by.sort();
    assert_eq!(issued_by, [ids[0], ids[2], ids[3]]);
    for (id, verdict) in ids.iter().zip([
        Verdict::Accepted,
        Verdict::Rejected,
        Verdict::Accepted,
        Verdict::Accepted,
    ]) {
        let m = store::mail(&f.env.conn, *id).unwrap().unwrap();
        assert_eq!(m.verdict, verdict, "mail #{id}: {}", m.detail);
    }
    // Nothing lost: every mail left the holding folder for its new one.
    assert!(files_in(&f, "Maintenance").is_empty());
    assert_eq!(files_in(&f, "Processed.Issued").len(), 3);
    assert_eq!(every_filed(&f), 4);
    // The results went out: per certificate the officer's receipt and the
    // administrator's notice, and the rejection of the unsigned mail.
    assert_eq!(f.replies().len(), 2 + 3 * 2 + 1);
    let s = state(&f);
    assert_eq!(
        (s["on"].as_bool(), s["waiting"].as_i64()),
        (Some(false), Some(0))
    );

    // A crash between a kept mail's commit and its move out of the holding
    // folder leaves it processed (its row says so) with its file still
    // there: the next pass only moves it, nothing is done twice.
    let moved = files_in(&f, "Processed.Issued").remove(0);
    std::fs::rename(&moved, f.path("maildir/.Maintenance/cur/1.eml:2,S")).unwrap();
    f.env
        .conn
        .execute(
            "UPDATE mails SET filed_to = 'Maintenance' WHERE id = ?1",
            [ids[0]],
        )
        .unwrap();
    assert!(pass(&mut f).is_empty(), "nothing processed again");
    assert!(files_in(&f, "Maintenance").is_empty());
    assert_eq!(files_in(&f, "Processed.Issued").len(), 3);
    assert_eq!((f.cert_count(), f.replies().len()), (3, 9));
    assert!(matches!(
        mailra(&dir, &["maintenance", "off"]).status.code(),
        Some(c) if c != 0
    ));

    // A new period: A is told again, once.
    ok(&mailra(&dir, &["maintenance", "on", "--message", "again"]));
    deliver(
        &f,
        "5.eml",
        &one_row_to(&f, "www3.example.ac.jp", "admin@example.ac.jp"),
    );
    deliver(
        &f,
        "6.eml",
        &one_row_to(&f, "www4.example.ac.jp", "admin@example.ac.jp"),
    );
    let third = pass(&mut f);
    assert_eq!(third.iter().map(|o| o.replies).collect::<Vec<_>>(), [1, 0]);
    let told = notices(&f);
    assert_eq!(told.iter().filter(|(t, _)| t == O1).count(), 2);
    assert!(text_of(&told.last().unwrap().1).contains("again"));
    let audit: Vec<String> = store::audit_events(&f.env.conn)
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("maintenance-"))
        .map(|e| e.action)
        .collect();
    assert_eq!(
        audit,
        [
            "maintenance-on",
            "maintenance-off",
            "maintenance-resume",
            "maintenance-resume",
            "maintenance-resume",
            "maintenance-resume",
            "maintenance-on"
        ]
    );
}

#[test]
fn a_period_with_an_end_time_ends_by_itself_on_the_robots_clock() {
    let mut f = Fixture::new();
    let dir = f.dir.path().to_path_buf();
    let t0 = now().replace_nanosecond(0).unwrap();
    let until_text = (t0 + time::Duration::hours(1))
        .to_offset(time::macros::offset!(+9))
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap();
    let until = mailra::ops::maintenance::parse_until(&until_text).unwrap();
    let on = ok(&mailra(
        &dir,
        &[
            "maintenance",
            "on",
            "--message",
            "停止中",
            "--until",
            &until_text,
        ],
    ));
    assert!(on.contains(&format!("until {until_text}")), "{on}");
    f.env.clock = Arc::new(FixedClock::new(t0));
    deliver(&f, "1.eml", &one_row(&f, "www.example.ac.jp"));
    let kept = pass(&mut f);
    assert_eq!(kept[0].verdict, Verdict::Deferred);
    let told = notices(&f);
    assert_eq!(told.len(), 1);
    assert!(
        text_of(&told[0].1).contains(&until_text),
        "the notice names the end"
    );
    // Past the end time: the next pass processes the kept mail.
    f.env.clock = Arc::new(FixedClock::new(until + time::Duration::minutes(1)));
    let done = pass(&mut f);
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].mail_id, done[0].verdict),
        (kept[0].mail_id, Verdict::Accepted)
    );
    assert_eq!(f.cert_count(), 1);
    assert_eq!(files_in(&f, "Processed.Issued").len(), 1);
    let s = state(&f);
    assert_eq!(s["on"], false);
    assert_eq!(s["ended_by"], "until");
    assert_eq!(s["ended_at"], store::ts(until));
}

#[test]
fn a_mail_arriving_after_off_waits_for_the_mails_kept_before_it() {
    let mut f = Fixture::new();
    let t0 = now();
    let conn = &f.env.conn;
    mailra::ops::maintenance::on(conn, "down", None, "sec", t0).unwrap();
    let kept = f.process(&one_row(&f, "www1.example.ac.jp"));
    assert_eq!((kept.verdict, kept.replies), (Verdict::Deferred, 1));
    mailra::ops::maintenance::off(&f.env.conn, "sec", now()).unwrap();
    // A mail handed to the pipeline directly (no intake pass in between):
    // the kept one is processed first.
    let fresh = f.process(&one_row(&f, "www2.example.ac.jp"));
    assert_eq!(fresh.verdict, Verdict::Accepted);
    let kept_now = store::mail(&f.env.conn, kept.mail_id).unwrap().unwrap();
    assert_eq!(kept_now.verdict, Verdict::Accepted);
    let events = store::audit_events(&f.env.conn).unwrap();
    let at = |pred: &dyn Fn(&store::AuditEvent) -> bool| events.iter().position(pred).unwrap();
    assert!(
        at(&|e| e.action == "maintenance-resume" && e.mail_id == Some(kept.mail_id))
            < at(&|e| e.mail_id == Some(fresh.mail_id)),
        "{events:#?}"
    );
    assert_eq!(f.cert_count(), 2);
}

#[test]
fn imap_a_mail_kept_during_maintenance_is_processed_and_refiled_after_off() {
    use crate::support::live::{self, ADMIN, Servers, WAIT};
    let srv = Servers::start(&[kit::ROBOT, O1, ADMIN]);
    let f = instance(&srv, "INBOX");
    let dir = f.dir.path().to_path_buf();
    ok(&mailra(
        &dir,
        &["maintenance", "on", "--message", "停止中 / down"],
    ));
    let raw = append_app(&srv, &f, "www.example.ac.jp");
    ok(&mailra(&dir, &["run", "--once"]));
    // Kept in the holding folder, byte for byte; the officer told once.
    assert!(live::messages(srv.imap, kit::ROBOT, "INBOX").is_empty());
    let kept = live::messages(srv.imap, kit::ROBOT, "Maintenance");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].raw, raw);
    let told = live::wait_for(srv.imap, O1, "INBOX", 1, WAIT);
    assert_eq!(
        told[0].header("X-Mailra-Verdict").as_deref(),
        Some("deferred")
    );
    assert!(verifies(&f, &told[0].raw));
    assert_eq!(f.cert_count(), 0);

    ok(&mailra(&dir, &["maintenance", "off"]));
    let run = ok(&mailra(&dir, &["run", "--once"]));
    assert!(run.contains(": accepted"), "{run}");
    assert!(live::messages(srv.imap, kit::ROBOT, "Maintenance").is_empty());
    let processed = live::messages(srv.imap, kit::ROBOT, "Processed/Issued");
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].raw, raw);
    assert_eq!(f.cert_count(), 1);
    let officer = wait_receipts(&srv, 1);
    assert_eq!(receipts(&officer), 1);
}

/// The robot killed right after a kept mail's processing was committed,
/// before it left the holding folder, then started again: every kept mail
/// is processed exactly once and moved out (with `--features
/// fault-injection`, as `scripts/test` runs the suite).
#[cfg(feature = "fault-injection")]
#[test]
fn a_robot_killed_in_the_middle_of_the_resume_processes_nothing_twice() {
    let mut f = Fixture::new();
    let dir = f.dir.path().to_path_buf();
    mailra::ops::maintenance::on(&f.env.conn, "down", None, "sec", now()).unwrap();
    deliver(&f, "1.eml", &one_row(&f, "www1.example.ac.jp"));
    deliver(&f, "2.eml", &one_row(&f, "www2.example.ac.jp"));
    assert_eq!(pass(&mut f).len(), 2);
    mailra::ops::maintenance::off(&f.env.conn, "sec", now()).unwrap();
    let marker = dir.join("fault-reached");
    let mut robot = Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(["run", "--once", "--dir"])
        .arg(&dir)
        .env("MAILRA_FAULT", "resume-after-commit")
        .env("MAILRA_FAULT_MARKER", &marker)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::support::live::wait_file(&marker, std::time::Duration::from_secs(60));
    robot.kill().unwrap();
    robot.wait().unwrap();
    // The first kept mail is done (committed), still in the holding folder.
    assert_eq!(f.cert_count(), 1);
    assert_eq!(files_in(&f, "Maintenance").len(), 2);
    let run = ok(&mailra(&dir, &["run", "--once"]));
    assert_eq!(
        run.lines().count(),
        1,
        "only the second is processed: {run}"
    );
    assert!(run.starts_with("2.eml: accepted"), "{run}");
    assert_eq!(f.cert_count(), 2);
    assert!(files_in(&f, "Maintenance").is_empty());
    assert_eq!(files_in(&f, "Processed.Issued").len(), 2);
    // One notice, then per mail the receipt and the administrator's notice.
    assert_eq!(f.replies().len(), 1 + 2 * 2);
}

#[test]
fn a_kept_mail_is_decided_as_a_fresh_arrival_so_a_hold_rule_still_holds_it() {
    let mut f = Fixture::new();
    // Registered today: the default rule holds this officer's requests.
    let new = "new@example.ac.jp";
    store::add_officer(&f.env.conn, new, EX, now()).unwrap();
    let signer = signer(&f.officer_ca, new);
    mailra::ops::maintenance::on(&f.env.conn, "down", None, "sec", now()).unwrap();
    let kept = f.process(&f.mail(&signer, new, "発行", &issue_tsv("www.example.ac.jp")));
    assert_eq!((kept.verdict, kept.replies), (Verdict::Deferred, 1));
    mailra::ops::maintenance::off(&f.env.conn, "sec", now()).unwrap();
    let done = mailra::ra::maintenance::resume(&mut f.env, now()).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].mail_id, done[0].verdict, done[0].rule.as_deref()),
        (kept.mail_id, Verdict::Held, Some("hold-new-officer"))
    );
    assert_eq!(f.cert_count(), 0);
    // The secretariat's approval then carries it out, as for any held mail.
    let approved =
        mailra::ops::applications::approve(&mut f.env, kept.mail_id, "sec", now()).unwrap();
    assert_eq!(approved.verdict, Verdict::Accepted);
    assert_eq!(f.cert_count(), 1);
    assert!(
        mailra::ra::maintenance::resume(&mut f.env, now())
            .unwrap()
            .is_empty()
    );
}
