//! Commands by signed mail (issue 11) on a real instance directory, through
//! `mailra process` (the binary, as the robot's intake wires it): the
//! secretariat's signed mail is obeyed line by line and answered with a
//! signed transcript; an officer's mail, a forged or wrongly signed "From:
//! secretariat" mail, a command mail with application files and a replayed
//! command mail are not obeyed.

use std::process::{Command, Output};

use mailra::kit::{self, mail::FileSpec};
use mailra::model::Verdict;
use mailra::store;
use serde_json::Value;

use super::support::{self, *};

fn mailra(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(args)
        .env_remove("MAILRA_DIR")
        .output()
        .unwrap()
}

/// Runs `mailra process --json` on one mail; its outcome.
fn process(f: &Fixture, name: &str, raw: &[u8]) -> Value {
    let path = support::write(f.dir.path(), name, raw);
    let dir = f.dir.path().to_str().unwrap();
    let o = mailra(&["process", "--dir", dir, "--json", &path]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(out.lines().next().unwrap()).unwrap()
}

/// An application mail of an officer registered today: the shipped rule
/// holds it for review. Returns its mail number.
fn held(f: &Fixture, officer: &str, cn: &str) -> i64 {
    if store::officer_by_email(&f.env.conn, officer)
        .unwrap()
        .is_none()
    {
        store::add_officer(&f.env.conn, officer, EX, now()).unwrap();
    }
    let signer = support::signer(&f.officer_ca, officer);
    let raw = f.mail(&signer, officer, "サーバ証明書発行申請", &issue_tsv(cn));
    let o = process(f, &format!("{cn}.eml"), &raw);
    assert_eq!(o["verdict"], "held", "{o}");
    o["mail_id"].as_i64().unwrap()
}

fn verdict(f: &Fixture, id: i64) -> Verdict {
    store::mail(&f.env.conn, id).unwrap().unwrap().verdict
}

/// The replies to `to` with this `X-Mailra-Verdict`.
fn replies_to(f: &Fixture, to: &str, verdict: &str) -> Vec<String> {
    f.replies()
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| {
            t.contains(&format!("X-Mailra-Verdict: {verdict}")) && t.contains(&format!("To: {to}"))
        })
        .collect()
}

/// The one signed transcript sent to the secretariat member, as text.
fn transcript(f: &Fixture) -> String {
    let r = replies_to(f, SEC, "command");
    assert_eq!(r.len(), 1, "one transcript to the secretariat");
    assert!(
        support::verifies(f, r[0].as_bytes()),
        "the transcript is signed by the robot"
    );
    text_of(&r[0])
}

/// Asserts that the texts occur in `hay` in this order.
fn in_order(hay: &str, needles: &[&str]) {
    let mut at = 0;
    for n in needles {
        let Some(i) = hay[at..].find(n) else {
            panic!("{n:?} not found (in order) in:\n{hay}");
        };
        at += i + n.len();
    }
}

fn audit_by(f: &Fixture, actor: &str, action: &str) -> usize {
    store::audit_events(&f.env.conn)
        .unwrap()
        .iter()
        .filter(|e| e.actor == actor && e.action == action)
        .count()
}

const NEWCOMER: &str = "newcomer@example.ac.jp";

#[test]
fn a_secretariat_mail_approves_and_rejects_line_by_line_with_a_signed_transcript() {
    let f = Fixture::new();
    let a = held(&f, NEWCOMER, "www.example.ac.jp");
    let b = held(&f, NEWCOMER, "lms.example.ac.jp");
    assert_eq!(f.cert_count(), 0);
    let body = format!(
        "> quoted approve {b}\n\napprove {a}\nfrobnicate now\nreject {b} 書類不備のため\nthanks\napprove {b}\n"
    );
    let o = process(&f, "commands.eml", &f.command_mail(&body));
    assert_eq!(o["verdict"], "command", "{o}");
    assert_eq!(o["folder"], "Secretariat/Commands");

    // Approved: carried out, a certificate issued; rejected: refused.
    assert_eq!(verdict(&f, a), Verdict::Accepted);
    assert_eq!(f.cert_count(), 1);
    assert_eq!(verdict(&f, b), Verdict::Rejected);
    // The officer gets the normal answers: the result, and the refusal with the reason.
    assert_eq!(replies_to(&f, NEWCOMER, "accepted").len(), 1);
    let refusal = replies_to(&f, NEWCOMER, "rejected");
    assert_eq!(refusal.len(), 1);
    assert!(text_of(&refusal[0]).contains("書類不備のため"));

    // Each command echoed with its result, the unknown line reported and
    // the next one still done; nothing after `thanks`, no quoted line.
    let t = transcript(&f);
    in_order(
        &t,
        &[
            &format!("> approve {a}"),
            &format!("approved: mail #{a} accepted"),
            "> frobnicate now",
            "unknown command \"frobnicate\"",
            &format!("> reject {b} 書類不備のため"),
            &format!("rejected: mail #{b} rejected"),
        ],
    );
    assert!(!t.contains("quoted"), "{t}");
    assert_eq!(t.matches("> approve").count(), 1, "{t}");

    // Audited under the member's name.
    let actor = format!("secretariat ({SEC})");
    assert_eq!(audit_by(&f, &actor, "review-approve"), 1);
    assert_eq!(audit_by(&f, &actor, "review-reject"), 1);
    assert_eq!(audit_by(&f, &actor, "mail-command"), 3);
}

#[test]
fn an_officer_cannot_command() {
    let f = Fixture::new();
    let a = held(&f, NEWCOMER, "www.example.ac.jp");
    let raw = kit::mail::command_mail(&f.o1, O1, kit::ROBOT, &format!("approve {a}\n"), &[], now())
        .unwrap();
    let o = process(&f, "officer.eml", &raw);
    assert_eq!(
        o["verdict"], "invalid",
        "the officer's mail meets the normal pipeline: {o}"
    );
    assert_eq!(verdict(&f, a), Verdict::Held, "nothing approved");
    assert_eq!(f.cert_count(), 0);
    assert_eq!(replies_to(&f, O1, "invalid").len(), 1, "the normal answer");
    assert!(replies_to(&f, O1, "command").is_empty());
}

#[test]
fn a_mail_from_a_secretariat_address_not_signed_by_the_secretariat_is_not_obeyed() {
    let f = Fixture::new();
    let a = held(&f, NEWCOMER, "www.example.ac.jp");
    let body = format!("approve {a}\n");
    let intruder = "intruder@secretariat.example.ac.jp";
    let unsigned = format!(
        "From: {SEC}\r\nTo: {}\r\nSubject: commands\r\nDate: {}\r\nMessage-ID: <forged@secretariat.example.ac.jp>\r\n\r\napprove {a}\r\n",
        kit::ROBOT,
        kit::mail::rfc2822(now())
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // An officer's certificate (another address) on a "From: secretariat".
        (
            "officer-cert",
            kit::mail::command_mail(&f.o1, SEC, kit::ROBOT, &body, &[], now()).unwrap(),
            "address",
        ),
        // A certificate for the secretariat's address, but from the officer CA.
        (
            "officer-ca",
            kit::mail::command_mail(
                &support::signer(&f.officer_ca, SEC),
                SEC,
                kit::ROBOT,
                &body,
                &[],
                now(),
            )
            .unwrap(),
            "officer",
        ),
        // Not signed at all.
        ("unsigned", unsigned.into_bytes(), "structure"),
        // The secretariat's CA, but an address not in `addresses`.
        (
            "not-listed",
            kit::mail::command_mail(
                &kit::pki::secretariat_member(&f.secretariat_ca, intruder, now()).unwrap(),
                intruder,
                kit::ROBOT,
                &body,
                &[],
                now(),
            )
            .unwrap(),
            "chain",
        ),
    ];
    for (name, raw, check) in cases {
        let o = process(&f, &format!("{name}.eml"), &raw);
        assert_eq!(o["verdict"], "rejected", "{name}: {o}");
        assert_eq!(o["check"], check, "{name}: {o}");
        assert_eq!(verdict(&f, a), Verdict::Held, "{name}: nothing approved");
    }
    assert_eq!(f.cert_count(), 0);
    assert!(replies_to(&f, SEC, "command").is_empty());
    assert_eq!(
        audit_by(&f, &format!("secretariat ({SEC})"), "mail-command"),
        0
    );
}

#[test]
fn a_command_mail_with_application_files_is_refused_entirely() {
    let f = Fixture::new();
    let a = held(&f, NEWCOMER, "www.example.ac.jp");
    let files = [FileSpec {
        name: "application.tsv".into(),
        data: kit::forms::sjis(&issue_tsv("mail.example.ac.jp")),
    }];
    let raw = kit::mail::command_mail(
        &f.sec,
        SEC,
        kit::ROBOT,
        &format!("approve {a}\n"),
        &files,
        now(),
    )
    .unwrap();
    let o = process(&f, "both.eml", &raw);
    assert_eq!(o["verdict"], "command", "{o}");
    assert!(o["summary"].as_str().unwrap().starts_with("refused"), "{o}");
    assert_eq!(verdict(&f, a), Verdict::Held, "nothing obeyed");
    assert_eq!(f.cert_count(), 0, "nothing issued either");
    let t = transcript(&f);
    assert!(
        t.contains("None of the commands of this mail was carried out"),
        "{t}"
    );
    assert!(t.contains("application files"), "{t}");
    assert!(!t.contains("> approve"), "{t}");
}

#[test]
fn a_replayed_command_mail_is_not_obeyed_twice() {
    let f = Fixture::new();
    let a = held(&f, NEWCOMER, "www.example.ac.jp");
    let raw = f.command_mail(&format!("approve {a}\nfrobnicate\n"));
    let o = process(&f, "first.eml", &raw);
    assert_eq!(o["verdict"], "command", "{o}");
    let actor = format!("secretariat ({SEC})");
    assert_eq!(audit_by(&f, &actor, "mail-command"), 2);
    // The same bytes again, and the same signed content under new outer
    // headers (a resent or replayed mail).
    let resent = kit::mail::altered(&raw, b"Message-ID: <", b"Message-ID: <replayed.").unwrap();
    for (name, raw) in [("again", raw.clone()), ("resent", resent)] {
        let o = process(&f, &format!("{name}.eml"), &raw);
        assert_eq!(o["verdict"], "duplicate", "{name}: {o}");
    }
    assert_eq!(audit_by(&f, &actor, "mail-command"), 2, "obeyed once");
    assert_eq!(f.cert_count(), 1);
    assert_eq!(replies_to(&f, SEC, "command").len(), 1, "one transcript");
}

/// Regression: command mails were used once by their signed content alone,
/// so the same words signed again ("status" the next morning) were refused
/// as a duplicate, and an officer's mail with the same words became a
/// duplicate of the secretariat's. A command is used once per signature.
#[test]
fn the_same_command_signed_again_is_obeyed_again() {
    let f = Fixture::new();
    let first = process(&f, "status-1.eml", &f.command_mail("status\n"));
    assert_eq!(first["verdict"], "command", "{first}");
    // A new signature: openssl stamps the signing time to the second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = process(&f, "status-2.eml", &f.command_mail("status\n"));
    assert_eq!(second["verdict"], "command", "signed again: {second}");
    assert_eq!(replies_to(&f, SEC, "command").len(), 2, "two transcripts");
}

/// `status` answers with the same screen as `mailra status`.
#[test]
fn status_by_mail_answers_the_status_screen() {
    let f = Fixture::new();
    let o = process(&f, "status.eml", &f.command_mail("status\n"));
    assert_eq!(o["verdict"], "command", "{o}");
    let t = transcript(&f);
    let screen = mailra::ops::status::status(&f.env, now())
        .expect("ops::status works")
        .to_string();
    // The headline without its time: the robot's clock and this one may be
    // a second apart (the test failed once at a second's boundary).
    let headline = screen.lines().next().unwrap();
    let (state, _time) = headline.split_once(" (").unwrap();
    assert_eq!(state, "mailra status: OK", "{screen}");
    in_order(
        &t,
        &["> status", state, "inbox", "robot", "outbox", "crl rsa"],
    );
    assert!(!t.contains("error:"), "{t}");
}

/// `report FROM TO` answers with the workbook attached.
#[test]
fn report_by_mail_attaches_the_workbook() {
    use calamine::{Reader, Xlsx};
    use mail_parser::MimeHeaders;
    let mut f = Fixture::new();
    let issued = f.process(&f.mail(&f.o1, O1, "発行", &issue_tsv("www.example.ac.jp")));
    assert_eq!(issued.verdict, Verdict::Accepted, "{issued:?}");
    let today = now().to_offset(time::macros::offset!(+9)).date();
    let o = process(
        &f,
        "report.eml",
        &f.command_mail(&format!("report {today} {today}\n")),
    );
    assert_eq!(o["verdict"], "command", "{o}");
    let t = transcript(&f);
    in_order(
        &t,
        &[
            &format!("> report {today} {today}"),
            "issued 1,",
            "attached",
        ],
    );
    let reply = &replies_to(&f, SEC, "command")[0];
    let m = mail_parser::MessageParser::default()
        .parse(reply.as_bytes())
        .unwrap();
    let xlsx: Vec<Vec<u8>> = m
        .attachments()
        .filter(|a| a.attachment_name().is_some_and(|n| n.ends_with(".xlsx")))
        .map(|a| a.contents().to_vec())
        .collect();
    assert_eq!(xlsx.len(), 1, "the report attached");
    let mut wb = Xlsx::new(std::io::Cursor::new(xlsx[0].clone())).unwrap();
    let sheets = wb.sheet_names();
    assert!(!sheets.is_empty());
    let issued_rows: usize = sheets
        .iter()
        .filter_map(|s| wb.worksheet_range(s).ok())
        .map(|r| {
            r.rows()
                .filter(|row| {
                    row.iter()
                        .any(|c| c.to_string().contains("www.example.ac.jp"))
                })
                .count()
        })
        .sum();
    assert!(issued_rows >= 1, "the issued certificate is in the report");
}

#[test]
fn without_a_secretariat_section_no_mail_is_a_command() {
    let f = Fixture::new();
    let a = held(&f, NEWCOMER, "www.example.ac.jp");
    let toml_path = f.path(mailra::config::FILE_NAME);
    let mut raw: mailra::config::RawConfig =
        toml::from_str(&std::fs::read_to_string(&toml_path).unwrap()).unwrap();
    raw.secretariat = None;
    std::fs::write(&toml_path, toml::to_string(&raw).unwrap()).unwrap();
    let o = process(
        &f,
        "commands.eml",
        &f.command_mail(&format!("approve {a}\n")),
    );
    // A mail like any other: its signer's chain is not the officer CA.
    assert_eq!(
        (&o["verdict"], &o["check"]),
        (&"rejected".into(), &"chain".into()),
        "{o}"
    );
    assert_eq!(verdict(&f, a), Verdict::Held);
}

/// Maintenance by mail: `maintenance on` keeps officers' mails, and
/// `maintenance off` by mail is obeyed during maintenance (a secretariat's
/// command mail is never kept), while the same line from an officer is not.
#[test]
fn maintenance_is_turned_on_and_off_by_mail_and_off_is_obeyed_during_maintenance() {
    let mut f = Fixture::new();
    let on = process(
        &f,
        "on.eml",
        &f.command_mail("maintenance on CA 更新作業のため停止中です\n"),
    );
    assert_eq!(on["verdict"], "command", "{on}");
    let state = mailra::ops::maintenance::state(&f.env.conn, now()).unwrap();
    assert!(state.on, "{state}");
    assert!(
        state
            .message
            .as_deref()
            .is_some_and(|m| m.contains("CA 更新作業")),
        "{state}"
    );

    // An officer's application waits; an officer's "maintenance off" too.
    let app = f.mail(&f.o1, O1, "申請", &issue_tsv("www.example.ac.jp"));
    let kept = process(&f, "app.eml", &app);
    assert_eq!(kept["verdict"], "deferred", "{kept}");
    let forged_off =
        kit::mail::command_mail(&f.o1, O1, kit::ROBOT, "maintenance off\n", &[], now()).unwrap();
    let o = process(&f, "officer-off.eml", &forged_off);
    assert_eq!(
        o["verdict"], "deferred",
        "an officer cannot end maintenance: {o}"
    );
    assert!(
        mailra::ops::maintenance::state(&f.env.conn, now())
            .unwrap()
            .on
    );
    assert_eq!(f.cert_count(), 0, "nothing issued during maintenance");

    let off = process(&f, "off.eml", &f.command_mail("maintenance off\n"));
    assert_eq!(off["verdict"], "command", "obeyed, not kept: {off}");
    assert!(
        !mailra::ops::maintenance::state(&f.env.conn, now())
            .unwrap()
            .on
    );
    let transcripts = replies_to(&f, SEC, "command");
    assert_eq!(transcripts.len(), 2, "one transcript per command mail");
    assert!(
        transcripts
            .iter()
            .any(|t| text_of(t).contains("> maintenance off")),
        "{transcripts:?}"
    );

    // The kept application is carried out by the next pass.
    let done = mailra::ra::maintenance::resume(&mut f.env, now()).unwrap();
    assert_eq!(done.len(), 2, "both kept mails: {done:?}");
    assert_eq!(done[0].verdict, Verdict::Accepted, "{done:?}");
    assert_eq!(
        done[1].verdict,
        Verdict::Invalid,
        "no application file: {done:?}"
    );
    assert_eq!(f.cert_count(), 1);
}

/// `cert search` by mail takes the command line's words and lists what it
/// finds; a wrong option is reported on its line and the next line is done.
#[test]
fn cert_search_by_mail_lists_the_certificates_found() {
    let mut f = Fixture::new();
    let issued = f.process(&f.mail(&f.o1, O1, "発行", &issue_tsv("www.example.ac.jp")));
    assert_eq!(issued.verdict, Verdict::Accepted, "{issued:?}");
    let serial = &issued.issued[0];
    let o = process(
        &f,
        "search.eml",
        &f.command_mail("cert search --colour blue\ncert search --dn WWW.EXAMPLE --status valid\ncert search --dn nothing-like-this\n"),
    );
    assert_eq!(o["verdict"], "command", "{o}");
    let t = transcript(&f);
    in_order(
        &t,
        &[
            "> cert search --colour blue",
            "--colour",
            "> cert search --dn WWW.EXAMPLE --status valid",
            serial.trim_start_matches("0x"),
            "> cert search --dn nothing-like-this",
        ],
    );
    let after_last = t
        .split("> cert search --dn nothing-like-this")
        .nth(1)
        .unwrap();
    assert!(
        !after_last.contains(serial.trim_start_matches("0x")),
        "a search that matches nothing lists nothing: {after_last}"
    );
}
