//! Filing rules and the review of held mails, on real signed mails, a real
//! SQLite file and the real openssl CLI.

mod support;

use std::path::Path;

use mailra::kit::forms::revoke_line;
use mailra::model::{ApplicationStatus, CertStatus};
use mailra::policy::rules;
use mailra::ra::{self, Verdict, review};
use mailra::store;
use support::*;

// ------------------------------------------------------------ rule files

/// Each `tests/fixtures/rules/broken/NAME.toml` reports exactly the lines of
/// `NAME.expected`, in order.
#[test]
fn broken_rule_files_report_exactly_the_expected_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules/broken");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for p in &files {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(p).unwrap();
        let expected = std::fs::read_to_string(p.with_extension("expected")).unwrap();
        let expected: Vec<&str> = expected.lines().collect();
        assert!(!expected.is_empty(), "{name}: empty .expected");
        let got: Vec<String> = match rules::parse(&[(name.clone(), text)]) {
            Ok(_) => vec![],
            Err(e) => e.errors.iter().map(ToString::to_string).collect(),
        };
        assert_eq!(got, expected, "{name}");
    }
    assert!(files.len() >= 8, "only {} broken rule files", files.len());
}

#[test]
fn the_shipped_rules_are_what_init_writes_and_what_applies_without_a_folder() {
    let f = Fixture::new();
    let written = std::fs::read_to_string(f.path("rules/default.toml")).unwrap();
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/default.toml"))
            .unwrap();
    assert_eq!(written, shipped);
    // Without the folder the embedded copy applies.
    let (r, source) = ra::load_rules(&f.path("no-such-folder")).unwrap();
    assert_eq!(source, ra::RulesSource::BuiltIn);
    assert_eq!(
        r.names().collect::<Vec<_>>(),
        f.env.rules.names().collect::<Vec<_>>()
    );
}

// ------------------------------------------------------------ helpers

/// Issues one certificate for `cn` and returns its serial.
fn issued(f: &mut Fixture, cn: &str) -> String {
    let o = f.process(&f.mail(&f.o1, O1, "発行", &issue_tsv(cn)));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    o.issued[0].clone()
}

fn key_compromise_mail(f: &Fixture, cn: &str, serial: &str) -> Vec<u8> {
    f.mail(
        &f.o1,
        O1,
        "失効申請",
        &revoke_line(&ex_dn(cn), serial, 1, "秘密鍵漏洩"),
    )
}

fn status(f: &Fixture, serial: &str) -> CertStatus {
    let s = mailra::cli::parse_serial(serial).unwrap();
    store::certificate(&f.env.conn, &s).unwrap().unwrap().status
}

fn crl_number(f: &Fixture) -> Option<u64> {
    store::latest_crl(&f.env.conn, mailra::model::CaKind::Rsa)
        .unwrap()
        .map(|c| c.0)
}

/// The replies queued for one mail: (raw, decoded text of the signed body).
fn replies_for(f: &Fixture, mail_id: i64) -> Vec<(Vec<u8>, String)> {
    store::outbox_for_mail(&f.env.conn, mail_id)
        .unwrap()
        .into_iter()
        .map(|m| {
            let text = mail_parser::MessageParser::default()
                .parse(&m.raw)
                .and_then(|p| p.body_text(0).map(|t| t.into_owned()))
                .unwrap_or_default();
            (m.raw, text)
        })
        .collect()
}

fn header<'a>(raw: &'a [u8], name: &str) -> Option<&'a str> {
    std::str::from_utf8(raw)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

fn application_statuses(f: &Fixture, mail_id: i64) -> Vec<ApplicationStatus> {
    store::applications_of_mail(&f.env.conn, mail_id)
        .unwrap()
        .into_iter()
        .map(|a| a.status)
        .collect()
}

fn audit_actions(f: &Fixture, mail_id: i64) -> Vec<(String, String)> {
    store::audit_events(&f.env.conn)
        .unwrap()
        .into_iter()
        .filter(|e| e.mail_id == Some(mail_id))
        .map(|e| (e.actor, e.action))
        .collect()
}

// ------------------------------------------------------------ hold and review

#[test]
fn a_key_compromise_revocation_is_held_then_approved_and_carried_out_once() {
    let mut f = Fixture::new();
    let serial = issued(&mut f, "www.example.ac.jp");
    let crl_before = crl_number(&f);

    let o = f.process(&key_compromise_mail(&f, "www.example.ac.jp", &serial));
    assert_eq!(o.verdict, Verdict::Held, "{o:?}");
    assert_eq!(o.rule.as_deref(), Some("hold-key-compromise"));
    assert_eq!(o.folder, "Review");
    assert_eq!(o.keywords, ["mailra-key-compromise", "mailra-held"]);
    assert!(o.revoked.is_empty());
    assert_eq!(status(&f, &serial), CertStatus::Valid, "nothing revoked");
    assert_eq!(crl_number(&f), crl_before, "CRL unchanged");
    // The officer is told, in a signed mail, that the request waits for review.
    let replies = replies_for(&f, o.mail_id);
    assert_eq!(replies.len(), 1);
    let (raw, text) = &replies[0];
    assert_eq!(header(raw, "X-Mailra-Verdict"), Some("held"));
    assert_eq!(header(raw, "To"), Some(O1));
    assert!(verifies(&f, raw), "the held reply must verify");
    assert!(
        text.contains("事務局") && text.contains("held for the secretariat's review"),
        "{text}"
    );
    // Recorded with its filing.
    let held = review::held(&f.env).unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, o.mail_id);
    assert_eq!(held[0].rule.as_deref(), Some("hold-key-compromise"));
    assert_eq!(held[0].folder.as_deref(), Some("Review"));
    assert_eq!(held[0].forms, ["5-3-3"]);
    assert_eq!(
        application_statuses(&f, o.mail_id),
        [ApplicationStatus::Held]
    );

    // Approved three weeks later: the 14-day maximum age counts from arrival.
    let later = now() + time::Duration::days(21);
    let a = review::approve(&mut f.env, o.mail_id, "secretariat (tester)", later).unwrap();
    assert_eq!(a.verdict, Verdict::Accepted, "{a:?}");
    assert_eq!(a.mail_id, o.mail_id, "the held mail's own record");
    assert_eq!(a.revoked, vec![serial.clone()]);
    assert_eq!(
        (a.folder.as_str(), a.rule.as_deref()),
        ("Processed/Revoked", Some("revoked"))
    );
    assert_eq!(status(&f, &serial), CertStatus::Revoked);
    assert_eq!(
        application_statuses(&f, o.mail_id),
        [ApplicationStatus::Executed]
    );
    let crl = f.path("crl/ca.crl.pem");
    let (ok, crl_text) = openssl(&["crl", "-in", crl.to_str().unwrap(), "-noout", "-text"]);
    assert!(
        ok && crl_text.contains(serial.trim_start_matches("0x")),
        "{crl_text}"
    );
    assert!(crl_text.contains("Key Compromise"), "{crl_text}");
    // The officer gets the normal signed result; the admin the revocation notice.
    let replies = replies_for(&f, o.mail_id);
    let verdicts: Vec<_> = replies
        .iter()
        .map(|(r, _)| header(r, "X-Mailra-Verdict").unwrap_or("-"))
        .collect();
    assert_eq!(verdicts, ["held", "accepted", "revoked"]);
    for (raw, _) in &replies {
        assert!(verifies(&f, raw));
    }

    // Approving twice carries nothing out twice.
    let again = review::approve(&mut f.env, o.mail_id, "secretariat", later);
    assert!(
        matches!(again, Err(mailra::ra::RaError::NotHeld { .. })),
        "{again:?}"
    );
    assert_eq!(
        store::revocations(&f.env.conn, mailra::model::CaKind::Rsa)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(replies_for(&f, o.mail_id).len(), 3);
    let m = store::mail(&f.env.conn, o.mail_id).unwrap().unwrap();
    assert_eq!(
        (m.verdict, m.executed, m.folder, m.keywords),
        (
            Verdict::Accepted,
            true,
            Some("Processed/Revoked".into()),
            vec!["mailra-revoked".to_string()]
        )
    );
    let actions = audit_actions(&f, o.mail_id);
    assert!(actions.contains(&(O1.into(), "held".into())), "{actions:?}");
    assert!(
        actions.contains(&("secretariat (tester)".into(), "review-approve".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&(O1.into(), "revoke".into())),
        "{actions:?}"
    );
}

#[test]
fn the_same_content_held_twice_is_carried_out_once() {
    let mut f = Fixture::new();
    let serial = issued(&mut f, "www.example.ac.jp");
    let raw = key_compromise_mail(&f, "www.example.ac.jp", &serial);
    let first = f.process(&raw);
    // The same signed content re-sent under new outer headers while held.
    let fwd = String::from_utf8_lossy(&raw).replace("Subject: ", "Subject: Fwd: ");
    let second = f.process(fwd.as_bytes());
    assert_eq!(
        (first.verdict, second.verdict),
        (Verdict::Held, Verdict::Held)
    );
    assert_eq!(review::held(&f.env).unwrap().len(), 2);
    let a = review::approve(&mut f.env, first.mail_id, "secretariat", now()).unwrap();
    assert_eq!(a.revoked, vec![serial.clone()]);
    let b = review::approve(&mut f.env, second.mail_id, "secretariat", now()).unwrap();
    assert_eq!(b.verdict, Verdict::Duplicate, "{b:?}");
    assert!(b.revoked.is_empty());
    assert_eq!(b.folder, "Duplicate");
    assert_eq!(
        store::revocations(&f.env.conn, mailra::model::CaKind::Rsa)
            .unwrap()
            .len(),
        1
    );
    assert!(review::held(&f.env).unwrap().is_empty());
}

#[test]
fn a_rejected_review_carries_nothing_out_and_tells_the_officer_why() {
    let mut f = Fixture::new();
    // An officer registered today: the default rules hold every request of theirs.
    let newcomer = "newcomer@example.ac.jp";
    store::add_officer(&f.env.conn, newcomer, EX, now()).unwrap();
    let signer = signer(&f.officer_ca, newcomer);
    let o = f.process(&f.mail(&signer, newcomer, "発行", &issue_tsv("new.example.ac.jp")));
    assert_eq!(o.verdict, Verdict::Held, "{o:?}");
    assert_eq!(o.rule.as_deref(), Some("hold-new-officer"));
    assert_eq!(o.keywords, ["mailra-new-officer", "mailra-held"]);
    assert_eq!(f.cert_count(), 0);
    // A dry run of the same officer is answered at once: nothing to hold.
    let dry = f.process(&f.mail(
        &signer,
        newcomer,
        "[check] 発行",
        &issue_tsv("dry.example.ac.jp"),
    ));
    assert_eq!(dry.verdict, Verdict::Checked);

    let reason = "申請者の確認が取れないため / applicant not confirmed";
    assert!(matches!(
        review::reject(&mut f.env, o.mail_id, "  ", "secretariat", now()),
        Err(mailra::ra::RaError::NoReason)
    ));
    let r = review::reject(&mut f.env, o.mail_id, reason, "secretariat (tester)", now()).unwrap();
    assert_eq!(r.verdict, Verdict::Rejected, "{r:?}");
    assert_eq!(r.check.as_deref(), Some("review"));
    assert_eq!(r.folder, "Rejected/Review");
    assert_eq!(f.cert_count(), 0, "nothing issued");
    assert_eq!(
        application_statuses(&f, o.mail_id),
        [ApplicationStatus::Refused]
    );
    let replies = replies_for(&f, o.mail_id);
    assert_eq!(replies.len(), 2);
    let (raw, text) = &replies[1];
    assert_eq!(header(raw, "X-Mailra-Verdict"), Some("rejected"));
    assert_eq!(header(raw, "X-Mailra-Check"), Some("review"));
    assert_eq!(header(raw, "To"), Some(newcomer));
    assert!(verifies(&f, raw));
    assert!(text.contains(reason), "{text}");
    assert!(text.contains("Decided by: the secretariat"), "{text}");
    // Once decided, it cannot be approved any more.
    assert!(matches!(
        review::approve(&mut f.env, o.mail_id, "secretariat", now()),
        Err(mailra::ra::RaError::NotHeld { .. })
    ));
    assert_eq!(f.cert_count(), 0);
    let actions = audit_actions(&f, o.mail_id);
    assert!(
        actions.contains(&("secretariat (tester)".into(), "review-reject".into())),
        "{actions:?}"
    );
}

// ------------------------------------------------------------ filing

#[test]
fn maildir_mails_land_in_the_folder_their_rule_names() {
    let mut f = Fixture::new();
    // A site rule before the defaults: urgent mails, with a copy to a list.
    std::fs::write(
        f.path("rules/00-site.toml"),
        r#"
[[rule]]
name = "urgent"
subject = "[urgent]"
verdict = "accepted"
folder = "Urgent/Today"
keywords = ["urgent", "$Important"]
notify = "ra-list@certs.example.ac.jp"
"#,
    )
    .unwrap();
    f.env.rules = ra::load_rules(&f.path("rules")).unwrap().0;
    let maildir = f.path("maildir");
    let urgent = f.mail(&f.o1, O1, "[URGENT] 発行", &issue_tsv("a.example.ac.jp"));
    let plain = f.mail(&f.o1, O1, "発行", &issue_tsv("b.example.ac.jp"));
    let files = [mailra::kit::mail::FileSpec {
        name: "application.tsv".into(),
        data: mailra::kit::forms::sjis(&issue_tsv("c.example.ac.jp")),
    }];
    let unsigned =
        mailra::kit::mail::unsigned_mail(O1, mailra::kit::ROBOT, "発行", &files).unwrap();
    for (name, raw) in [
        ("1.urgent", &urgent),
        ("2.plain", &plain),
        ("3.unsigned", &unsigned),
    ] {
        mailra::mail::maildir::deliver(&maildir, name, raw).unwrap();
    }
    let out = mailra::service::maildir::process(&mut f.env, &|| false).unwrap();
    let filed: Vec<_> = out
        .iter()
        .map(|o| (o.source.as_str(), o.folder.as_str(), o.rule.as_deref()))
        .collect();
    assert_eq!(
        filed,
        [
            ("1.urgent", "Urgent/Today", Some("urgent")),
            ("2.plain", "Processed/Issued", Some("issued")),
            ("3.unsigned", "Rejected/Unsigned", Some("unsigned")),
        ]
    );
    for (folder, name, raw) in [
        (".Urgent.Today", "1.urgent", &urgent),
        (".Processed.Issued", "2.plain", &plain),
        (".Rejected.Unsigned", "3.unsigned", &unsigned),
    ] {
        let p = maildir.join(folder).join("cur").join(format!("{name}:2,S"));
        assert_eq!(&std::fs::read(&p).unwrap(), raw, "{}", p.display());
    }
    assert!(mailra::mail::maildir::pending(&maildir).unwrap().is_empty());
    // Keywords are kept in the database; the list is copied on the officer's reply.
    let kw = store::mail(&f.env.conn, out[0].mail_id)
        .unwrap()
        .unwrap()
        .keywords;
    assert_eq!(kw, ["urgent", "$Important"]);
    let receipt = replies_for(&f, out[0].mail_id)
        .into_iter()
        .find(|(r, _)| header(r, "X-Mailra-Verdict") == Some("accepted"))
        .unwrap();
    assert_eq!(
        header(&receipt.0, "Cc"),
        Some("ra-list@certs.example.ac.jp")
    );
}
