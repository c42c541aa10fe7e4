//! `mailra applications …` and `mailra audit`, run as the real binary on a
//! real instance directory: mails processed by the robot (accepted, with a
//! row error, held), then listed, shown, decided, deleted and audited.

use std::process::{Command, Output};

use mailra::ra::Verdict;
use mailra::store;
use serde_json::Value;
use time::OffsetDateTime;

use super::support::*;

/// Runs `mailra ARGS --dir <instance>`.
fn mailra(f: &Fixture, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(args)
        .arg("--dir")
        .arg(f.dir.path())
        .env_remove("MAILRA_DIR")
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs it, asserts it succeeded, returns its output.
fn ok(f: &Fixture, args: &[&str]) -> String {
    let o = mailra(f, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs it, asserts it failed, returns what it said.
fn fails(f: &Fixture, args: &[&str]) -> String {
    let o = mailra(f, args);
    assert!(!o.status.success(), "{args:?} succeeded: {}", text(&o));
    text(&o)
}

/// The JSON objects of a `--json` listing, one per line.
fn json(f: &Fixture, args: &[&str]) -> Vec<Value> {
    ok(f, args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn ids(v: &[Value]) -> Vec<i64> {
    v.iter().map(|o| o["id"].as_i64().unwrap()).collect()
}

/// The day (JST) `t` falls on, as `--since` takes it.
fn jst_day(t: OffsetDateTime) -> String {
    t.to_offset(time::macros::offset!(+9)).date().to_string()
}

/// What the fixture's officers sent: one application carried out (officer
/// 1), one with a row error (officer 2 asks for a name of the other
/// institution), one held (an officer registered today). Returns the ids.
struct Mails {
    accepted: i64,
    serial: String,
    errored: i64,
    held: i64,
    newcomer: mailra::mail::sign::Signer,
}

const NEWCOMER: &str = "newcomer@example.ac.jp";

fn three_mails(f: &mut Fixture) -> Mails {
    let o = f.process(&f.mail(&f.o1, O1, "発行", &issue_tsv("www.example.ac.jp")));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    let (accepted, serial) = (o.mail_id, o.issued[0].clone());
    let dn = mailra::kit::forms::server_dn("www.example.ac.jp", SAMPLE, "Suita-shi", "Osaka");
    let line = mailra::kit::forms::issue_line(
        &dn,
        3,
        &mailra::kit::forms::csr_field(&rsa(), &dn).unwrap(),
        "",
        "admin@sample-tech.ac.jp",
        "",
    );
    let o = f.process(&f.mail(&f.o2, O2, "発行 (誤り)", &line));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    let errored = o.mail_id;
    store::add_officer(&f.env.conn, NEWCOMER, EX, now()).unwrap();
    let newcomer = signer(&f.officer_ca, NEWCOMER);
    let held = held_mail(f, &newcomer, "new.example.ac.jp");
    Mails {
        accepted,
        serial,
        errored,
        held,
        newcomer,
    }
}

fn held_mail(f: &mut Fixture, newcomer: &mailra::mail::sign::Signer, cn: &str) -> i64 {
    let o = f.process(&f.mail(newcomer, NEWCOMER, "発行", &issue_tsv(cn)));
    assert_eq!(o.verdict, Verdict::Held, "{o:?}");
    o.mail_id
}

#[test]
fn applications_list_shows_each_mail_with_its_counts_and_every_filter_narrows_it() {
    let mut f = Fixture::new();
    let m = three_mails(&mut f);
    // A stranger's mail carries no application: not listed.
    let stranger = signer(&f.officer_ca, "someone@elsewhere.ac.jp");
    let o = f.process(&f.mail(&stranger, "someone@elsewhere.ac.jp", "hi", "x"));
    assert_eq!(o.verdict, Verdict::Rejected, "{o:?}");

    let all = json(&f, &["applications", "list", "--json"]);
    assert_eq!(ids(&all), [m.accepted, m.errored, m.held]);
    let (a, e, h) = (&all[0], &all[1], &all[2]);
    assert_eq!(a["verdict"], "accepted");
    assert_eq!(a["officer"], O1);
    assert_eq!(a["institution"], EX);
    assert_eq!(a["forms"], serde_json::json!(["5-3-1"]));
    assert_eq!(
        (a["files"].as_i64(), a["rows_ok"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (a["rows_error"].as_i64(), &a["errors"]),
        (Some(0), &Value::Bool(false))
    );
    assert!(a["received_at"].as_str().unwrap().ends_with('Z'), "{a}");
    assert_eq!(e["verdict"], "invalid");
    assert_eq!(e["institution"], SAMPLE);
    assert_eq!(e["from"], O2);
    assert_eq!(
        (e["rows_ok"].as_i64(), e["rows_error"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(e["errors"], true);
    assert_eq!(h["verdict"], "held");
    assert_eq!(h["rule"], "hold-new-officer");
    assert_eq!(h["folder"], "Review");

    let cases: [(&[&str], Vec<i64>); 8] = [
        (&["--held"], vec![m.held]),
        (&["--errors"], vec![m.errored]),
        (&["--institution", SAMPLE], vec![m.errored]),
        (&["--institution", EX], vec![m.accepted, m.held]),
        (&["--officer", O1], vec![m.accepted]),
        (&["--officer", "NEWCOMER@example.ac.jp"], vec![m.held]),
        (&["--held", "--institution", SAMPLE], vec![]),
        (
            &["--since", &jst_day(now() - time::Duration::days(1))],
            vec![m.accepted, m.errored, m.held],
        ),
    ];
    for (filter, expected) in cases {
        let mut args = vec!["applications", "list", "--json"];
        args.extend_from_slice(filter);
        assert_eq!(ids(&json(&f, &args)), expected, "{filter:?}");
    }
    let tomorrow = jst_day(now() + time::Duration::days(1));
    assert!(
        json(
            &f,
            &["applications", "list", "--json", "--since", &tomorrow]
        )
        .is_empty()
    );
    let in_an_hour = store::ts(now() + time::Duration::hours(1));
    assert!(
        json(
            &f,
            &["applications", "list", "--json", "--since", &in_an_hour]
        )
        .is_empty()
    );

    // For people: a table with a row per application.
    let table = ok(&f, &["applications", "list"]);
    assert!(
        table.contains("verdict") && table.contains("institution"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.contains(O2))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("invalid") && row.contains(SAMPLE), "{row}");
    assert_eq!(
        ok(
            &f,
            &["applications", "list", "--held", "--institution", SAMPLE]
        )
        .trim(),
        "no application"
    );
    // Mistakes are told, not an empty list.
    let e = fails(
        &f,
        &[
            "applications",
            "list",
            "--institution",
            "No Such University",
        ],
    );
    assert!(e.contains("no institution named"), "{e}");
    let e = fails(&f, &["applications", "list", "--since", "2026/11/01"]);
    assert!(e.contains("neither a date"), "{e}");
}

#[test]
fn applications_show_gives_the_row_error_the_filing_rule_and_the_reply_sent() {
    let mut f = Fixture::new();
    let m = three_mails(&mut f);
    let id = m.errored.to_string();
    let stored = store::mail(&f.env.conn, m.errored).unwrap().unwrap();
    let rows = store::rows_with_outcome(
        &f.env.conn,
        mailra::model::RowOutcomeKind::Error,
        &store::ApplicationFilter {
            mail_id: Some(m.errored),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    let replies = store::outbox_rows_of_mail(&f.env.conn, m.errored).unwrap();
    assert_eq!(replies.len(), 1);

    let d = &json(&f, &["applications", "show", &id, "--json"])[0];
    assert_eq!(d["id"].as_i64(), Some(m.errored));
    assert_eq!(d["verdict"], "invalid");
    assert_eq!(d["from"], O2);
    assert_eq!(d["subject"], "発行 (誤り)");
    assert_eq!(d["rule"], serde_json::json!(stored.rule));
    assert_eq!(d["folder"], serde_json::json!(stored.folder));
    assert!(
        d["message_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{d}"
    );
    let file = &d["files"][0];
    assert_eq!(file["name"], "application.tsv");
    assert_eq!(file["status"], "refused");
    let row = &file["rows"][0];
    assert_eq!(row["outcome"], "error");
    assert_eq!(row["line"].as_u64(), Some(rows[0].line as u64));
    assert_eq!(row["detail"], rows[0].detail.as_str());
    assert_eq!(row["serial"], Value::Null);
    let reply = &d["replies"][0];
    assert_eq!(reply["recipients"], serde_json::json!([O2]));
    assert_eq!(reply["message_id"], replies[0].message_id.as_str());
    assert_eq!(reply["status"], "sent");
    assert!(reply["sent_at"].as_str().is_some(), "{reply}");
    assert!(reply.get("raw").is_none(), "never the reply's content");

    // For people: the same, readable.
    let shown = ok(&f, &["applications", "show", &id]);
    assert!(shown.contains(&rows[0].detail), "{shown}");
    assert!(
        shown.contains(stored.rule.as_deref().unwrap_or("(built-in)")),
        "{shown}"
    );
    assert!(shown.contains(&replies[0].message_id), "{shown}");
    assert!(shown.contains(&replies[0].kind), "{shown}");

    // An accepted one shows the serial its row issued.
    let a = &json(
        &f,
        &["applications", "show", &m.accepted.to_string(), "--json"],
    )[0];
    let hex = mailra::cli::parse_serial(&m.serial).unwrap().to_hex();
    assert_eq!(a["files"][0]["rows"][0]["outcome"], "issued");
    assert_eq!(a["files"][0]["rows"][0]["serial"], hex.as_str());
    let e = fails(&f, &["applications", "show", "9999"]);
    assert!(e.contains("no application #9999"), "{e}");
}

/// The replies to a mail as (X-Mailra-Verdict, To).
fn verdicts_told(f: &Fixture, mail_id: i64) -> Vec<(String, String)> {
    store::outbox_for_mail(&f.env.conn, mail_id)
        .unwrap()
        .iter()
        .map(|m| {
            let raw = String::from_utf8_lossy(&m.raw).into_owned();
            let h = |n: &str| {
                raw.lines()
                    .find_map(|l| l.strip_prefix(&format!("{n}: ")))
                    .unwrap_or_default()
                    .to_string()
            };
            (h("X-Mailra-Verdict"), h("To"))
        })
        .collect()
}

#[test]
fn held_applications_are_approved_and_rejected_through_applications_and_the_review_alias() {
    let mut f = Fixture::new();
    let m = three_mails(&mut f);
    let more: Vec<i64> = ["b", "c", "d"]
        .iter()
        .map(|n| held_mail(&mut f, &m.newcomer, &format!("{n}.example.ac.jp")))
        .collect();
    let (a, b, c, d) = (m.held, more[0], more[1], more[2]);
    assert_eq!(
        ids(&json(&f, &["applications", "list", "--held", "--json"])),
        [a, b, c, d]
    );
    let certs = f.cert_count();
    let reason = "申請者の確認が取れないため";
    for (cmd, approve, reject) in [("applications", a, b), ("review", c, d)] {
        let out = ok(
            &f,
            &[cmd, "approve", &approve.to_string(), "--by", "tester"],
        );
        assert!(out.contains("accepted"), "{cmd}: {out}");
        let out = ok(
            &f,
            &[cmd, "reject", &reject.to_string(), "--reason", reason],
        );
        assert!(out.contains("rejected"), "{cmd}: {out}");
        // Approved: the certificate is issued and the officer gets the result.
        let shown = &json(
            &f,
            &["applications", "show", &approve.to_string(), "--json"],
        )[0];
        assert_eq!(shown["verdict"], "accepted", "{cmd}");
        assert_eq!(shown["files"][0]["rows"][0]["outcome"], "issued", "{cmd}");
        assert!(
            verdicts_told(&f, approve).contains(&("accepted".into(), NEWCOMER.into())),
            "{cmd}: {:?}",
            verdicts_told(&f, approve)
        );
        // Rejected: nothing issued, the officer is told why.
        assert_eq!(
            verdicts_told(&f, reject).last(),
            Some(&("rejected".into(), NEWCOMER.into())),
            "{cmd}"
        );
        let events = json(&f, &["audit", "--mail", &reject.to_string(), "--json"]);
        let refusal = events
            .iter()
            .find(|e| e["action"] == "review-reject")
            .unwrap_or_else(|| panic!("{events:?}"));
        assert_eq!(refusal["actor"], "secretariat (tester)", "$USER by default");
        assert!(refusal["detail"].as_str().unwrap().contains(reason));
    }
    assert_eq!(f.cert_count(), certs + 2, "one certificate per approval");
    assert!(json(&f, &["applications", "list", "--held", "--json"]).is_empty());
    // Decided once: not again, through either name.
    for cmd in ["applications", "review"] {
        let e = fails(&f, &[cmd, "approve", &a.to_string()]);
        assert!(e.contains("is not held for review"), "{cmd}: {e}");
    }
}

#[test]
fn an_errored_application_is_deleted_from_the_list_and_kept_in_the_audit_log() {
    let mut f = Fixture::new();
    let m = three_mails(&mut f);
    let id = m.errored.to_string();

    let e = fails(&f, &["applications", "delete", &m.held.to_string()]);
    assert!(e.contains("is held for review"), "{e}");
    let e = fails(&f, &["applications", "delete", &m.accepted.to_string()]);
    assert!(e.contains("was carried out"), "{e}");
    let e = fails(&f, &["applications", "delete", "9999"]);
    assert!(e.contains("no application #9999"), "{e}");

    let out = ok(&f, &["applications", "delete", &id, "--by", "tester"]);
    assert!(out.contains(&format!("application #{id} deleted")), "{out}");
    assert_eq!(
        ids(&json(&f, &["applications", "list", "--json"])),
        [m.accepted, m.held]
    );
    assert!(json(&f, &["applications", "list", "--errors", "--json"]).is_empty());
    let e = fails(&f, &["applications", "delete", &id]);
    assert!(e.contains("was deleted already"), "{e}");
    // Nothing is lost: the record reads back, the mail's bytes stay.
    let shown = &json(&f, &["applications", "show", &id, "--json"])[0];
    assert_eq!(shown["deleted_by"], "secretariat (tester)");
    assert_eq!(shown["files"][0]["rows"][0]["outcome"], "error");
    assert!(
        !store::mail(&f.env.conn, m.errored)
            .unwrap()
            .unwrap()
            .raw
            .is_empty()
    );
    let events = json(&f, &["audit", "--mail", &id, "--json"]);
    assert_eq!(
        events
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["invalid", "delete-application"]
    );
    let del = &events[1];
    assert_eq!(del["actor"], "secretariat (tester)");
    assert_eq!(del["mail_id"].as_i64(), Some(m.errored));
    assert!(del["detail"].as_str().unwrap().contains(O2), "{del}");
}

#[test]
fn audit_lists_the_trail_by_mail_serial_and_day_in_japan() {
    let mut f = Fixture::new();
    let m = three_mails(&mut f);
    let hex = mailra::cli::parse_serial(&m.serial).unwrap().to_hex();
    // Two events of long ago, on either side of midnight in Japan
    // (2020-01-02 00:00 JST is 2020-01-01 15:00 UTC).
    let t = |s: &str| store::parse_ts(s).unwrap();
    store::audit(
        &f.env.conn,
        t("2020-01-01T10:00:00Z"),
        "robot",
        "old",
        None,
        None,
        "a",
    )
    .unwrap();
    store::audit(
        &f.env.conn,
        t("2020-01-01T16:00:00Z"),
        "robot",
        "old",
        None,
        None,
        "b",
    )
    .unwrap();

    let all = json(&f, &["audit", "--json"]);
    assert!(all.len() >= 5, "{all:?}");
    for e in &all {
        for k in ["id", "at", "actor", "action", "mail_id", "serial", "detail"] {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
        assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
    }
    let issue = all
        .iter()
        .find(|e| e["action"] == "issue")
        .unwrap_or_else(|| panic!("{all:?}"));
    assert_eq!(
        issue["serial"],
        hex.as_str(),
        "a hex string, never a number"
    );
    assert_eq!(issue["mail_id"].as_i64(), Some(m.accepted));

    let by_serial = json(&f, &["audit", "--serial", &format!("0x{hex}"), "--json"]);
    assert!(!by_serial.is_empty());
    assert!(
        by_serial.iter().all(|e| e["serial"] == hex.as_str()),
        "{by_serial:?}"
    );
    let by_mail = json(&f, &["audit", "--mail", &m.accepted.to_string(), "--json"]);
    let actions: Vec<&str> = by_mail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["issue", "mail-executed"]);
    assert!(
        by_mail
            .iter()
            .all(|e| e["mail_id"].as_i64() == Some(m.accepted))
    );

    let details = |since: &str| -> Vec<String> {
        json(&f, &["audit", "--json", "--since", since])
            .iter()
            .map(|e| e["detail"].as_str().unwrap().to_string())
            .filter(|d| d == "a" || d == "b")
            .collect()
    };
    assert_eq!(details("2020-01-01"), ["a", "b"]);
    assert_eq!(details("2020-01-02"), ["b"], "the day starts at 00:00 JST");
    assert_eq!(details("2020-01-01T15:00:01Z"), ["b"]);
    assert_eq!(details("2020-01-01T16:00:01+00:00"), Vec::<String>::new());
    assert_eq!(
        json(&f, &["audit", "--json", "--since", "2020-01-01"]).len(),
        all.len()
    );
    let tomorrow = jst_day(now() + time::Duration::days(1));
    assert_eq!(ok(&f, &["audit", "--since", &tomorrow]).trim(), "no event");

    // For people: a table.
    let table = ok(&f, &["audit", "--mail", &m.accepted.to_string()]);
    assert!(
        table.contains("actor") && table.contains("issue"),
        "{table}"
    );
    assert!(table.contains(&hex), "{table}");
    let e = fails(&f, &["audit", "--serial", "not-a-serial"]);
    assert!(e.contains("is not a serial"), "{e}");
}
