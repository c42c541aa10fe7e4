//! Reminders on the injected clock: the 2-2-9 reminder (an old server
//! certificate left unrevoked 14 days after its renewal) and the expiry
//! digest with its pre-filled renewal file, which the officer signs and
//! sends back to renew. No waiting: a fixed clock is moved and the
//! scheduler's tick runs the jobs at its "now".

#[path = "reminders/client_digest.rs"]
mod client_digest;
mod support;

use std::process::{Command, Output};
use std::sync::Arc;

use mailra::clock::{Clock, FixedClock};
use mailra::kit::{self, mail::FileSpec};
use mailra::mail::sign::Signer;
use mailra::model::{CertStatus, Serial};
use mailra::ra::{self, Verdict};
use mailra::service::scheduler;
use mailra::store;
use openssl::pkey::{PKey, Private};
use support::*;
use time::Duration;

/// An instance on a fixed clock at the wall clock's now (the officers'
/// certificates are valid from it for a year); server certificates are
/// valid for `server_days`.
fn instance(server_days: u32) -> (Fixture, Arc<FixedClock>) {
    let mut f = Fixture::new();
    let clock = Arc::new(FixedClock::new(now().replace_nanosecond(0).unwrap()));
    f.env.clock = clock.clone();
    f.env.cfg.server_days = server_days;
    // Mails signed now are processed up to two months later here.
    f.env.trust.max_age = Duration::days(90);
    (f, clock)
}

/// A signed mail from `signer` carrying one TSV file. openssl stamps the
/// signature with the wall clock's time, so the mail is dated now and the
/// instance (see [`instance`]) accepts it when the fixed clock is ahead.
fn mail_at(signer: &Signer, from: &str, tsv: &str) -> Vec<u8> {
    mail_bytes(signer, from, kit::forms::sjis(tsv))
}

fn mail_bytes(signer: &Signer, from: &str, data: Vec<u8>) -> Vec<u8> {
    let files = [FileSpec {
        name: "application.tsv".into(),
        data,
    }];
    kit::mail::application_mail(signer, from, kit::ROBOT, "申請", &files, false, now()).unwrap()
}

/// Processes a mail at the clock's now; it must be accepted.
fn accept(f: &mut Fixture, clock: &FixedClock, raw: &[u8]) -> ra::Outcome {
    let o = ra::process(&mut f.env, raw, "test", clock.now()).unwrap();
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    o
}

/// Issues one server certificate for `cn` of Example University through a
/// signed 5-3-1 mail; returns its serial.
fn issue(f: &mut Fixture, clock: &FixedClock, cn: &str) -> Serial {
    let raw = mail_at(&f.o1, O1, &issue_tsv(cn));
    let o = accept(f, clock, &raw);
    mailra::cli::parse_serial(&o.issued[0]).unwrap()
}

/// Renews `old` (DN of `cn`) with a new key through a signed 5-3-2 mail.
fn renew(f: &mut Fixture, clock: &FixedClock, cn: &str, old: &Serial) -> Serial {
    let dn = ex_dn(cn);
    let csr = kit::forms::csr_field(&rsa(), &dn).unwrap();
    let line = kit::forms::renew_line(
        &dn,
        3,
        &old.to_string(),
        &csr,
        "国立　太郎",
        "newadmin@example.ac.jp",
    );
    let raw = mail_at(&f.o1, O1, &line);
    let o = accept(f, clock, &raw);
    mailra::cli::parse_serial(&o.issued[0]).unwrap()
}

fn revoke(f: &mut Fixture, clock: &FixedClock, cn: &str, serial: &Serial) {
    let line = kit::forms::revoke_line(&ex_dn(cn), &serial.to_string(), 4, "");
    let raw = mail_at(&f.o1, O1, &line);
    accept(f, clock, &raw);
}

/// The outbox rows of a kind (template name).
fn outbox_of(f: &Fixture, kind: &str) -> Vec<store::OutboxRow> {
    store::outbox_rows(&f.env.conn, None)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == kind)
        .collect()
}

fn raw_of(f: &Fixture, id: i64) -> Vec<u8> {
    store::outbox_raw(&f.env.conn, id).unwrap().unwrap()
}

fn text_of(raw: &[u8]) -> String {
    let m = mail_parser::MessageParser::default().parse(raw).unwrap();
    (0..m.text_body_count())
        .filter_map(|i| m.body_text(i))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bytes of attachment `name` as a mail client saves them: the body
/// as sent, only its transfer encoding (base64) undone.
fn attachment(raw: &[u8], name: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use mail_parser::MimeHeaders;
    let m = mail_parser::MessageParser::default().parse(raw)?;
    let a = m
        .attachments()
        .find(|a| a.attachment_name() == Some(name))?;
    assert_eq!(a.encoding, mail_parser::Encoding::Base64);
    let body: Vec<u8> = m.raw_message[a.offset_body as usize..a.offset_end as usize]
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn header(raw: &[u8], name: &str) -> String {
    let m = mail_parser::MessageParser::default().parse(raw).unwrap();
    m.header_raw(name).unwrap_or_default().trim().to_string()
}

fn tick_kinds(f: &Fixture) -> Vec<&'static str> {
    scheduler::tick(&f.env)
        .unwrap()
        .into_iter()
        .map(|q| q.kind)
        .collect()
}

#[test]
fn the_2_2_9_reminder_goes_once_on_day_14_to_the_admin_and_the_officer_signed() {
    let (mut f, clock) = instance(200);
    let old = issue(&mut f, &clock, "www.example.ac.jp");
    clock.advance(Duration::days(1));
    let renewed_at = clock.now();
    let new = renew(&mut f, &clock, "www.example.ac.jp", &old);

    clock.set(renewed_at + Duration::days(13));
    assert_eq!(tick_kinds(&f), Vec::<&str>::new(), "day 13: nothing");
    assert!(outbox_of(&f, "renewal_reminder").is_empty());

    clock.set(renewed_at + Duration::days(14));
    let queued = scheduler::tick(&f.env).unwrap();
    assert_eq!(queued.len(), 1, "day 14: {queued:?}");
    assert_eq!(queued[0].serials, [old.to_string()]);

    clock.set(renewed_at + Duration::days(15));
    assert_eq!(tick_kinds(&f), Vec::<&str>::new(), "day 15: nothing new");

    let rows = outbox_of(&f, "renewal_reminder");
    assert_eq!(rows.len(), 1, "exactly one reminder");
    let mut rcpt = rows[0].recipients.clone();
    rcpt.sort();
    assert_eq!(
        rcpt,
        ["admin@example.ac.jp", "newadmin@example.ac.jp", O1],
        "the old and new admin, the officer who applied"
    );
    assert!(
        rows[0]
            .subject
            .starts_with("サーバ用証明書更新(旧証明書の失効申請)再通知")
    );
    let raw = raw_of(&f, rows[0].id);
    assert!(
        verifies(&f, &raw),
        "the reminder is S/MIME-signed by the robot"
    );
    let body = text_of(&raw);
    for want in [
        old.to_string(),
        old.to_decimal(),
        new.to_string(),
        "www.example.ac.jp".to_string(),
    ] {
        assert!(body.contains(&want), "{want} not in:\n{body}");
    }
    assert_eq!(header(&raw, "X-Mailra-Serial"), old.to_string());
    // Written to the outbox folder like every reply (no SMTP here).
    assert!(
        f.replies()
            .iter()
            .any(|(_, r)| r.contains("X-Mailra-Reminder: 2-2-9"))
    );

    // `reminders list` shows it as sent.
    let list = mailra::ops::reminders::list(&f.env.conn, clock.now(), 30).unwrap();
    let r = list.iter().find(|r| r.kind == "renewal-revoke").unwrap();
    assert_eq!((r.sent, r.due), (true, false));
    assert_eq!(r.new_serial.as_deref(), Some(new.to_string().as_str()));
}

#[test]
fn no_2_2_9_reminder_once_the_old_certificate_is_revoked() {
    let (mut f, clock) = instance(200);
    let old = issue(&mut f, &clock, "www.example.ac.jp");
    let renewed_at = clock.now();
    renew(&mut f, &clock, "www.example.ac.jp", &old);
    clock.advance(Duration::days(5));
    revoke(&mut f, &clock, "www.example.ac.jp", &old);
    clock.set(renewed_at + Duration::days(14));
    assert!(scheduler::tick(&f.env).unwrap().is_empty());
    assert!(outbox_of(&f, "renewal_reminder").is_empty());
    assert!(
        mailra::ops::reminders::list(&f.env.conn, clock.now(), 30)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_digest_starts_30_days_before_expiry_lists_each_certificate_once_in_one_mail() {
    let (mut f, clock) = instance(60);
    let a = issue(&mut f, &clock, "www.example.ac.jp");
    let b = issue(&mut f, &clock, "mail.example.ac.jp");
    let not_after = store::certificate(&f.env.conn, &a)
        .unwrap()
        .unwrap()
        .not_after;

    clock.set(not_after - Duration::days(31));
    assert_eq!(
        tick_kinds(&f),
        Vec::<&str>::new(),
        "31 days before: nothing"
    );
    clock.set(not_after - Duration::days(30));
    let queued = scheduler::tick(&f.env).unwrap();
    assert_eq!(queued.len(), 1, "one mail for the institution: {queued:?}");
    let mut listed = queued[0].serials.clone();
    listed.sort();
    let mut want = vec![a.to_string(), b.to_string()];
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(queued[0].to, [O1]);
    clock.set(not_after - Duration::days(29));
    assert_eq!(
        tick_kinds(&f),
        Vec::<&str>::new(),
        "29 days before: listed already"
    );
    clock.set(not_after - Duration::days(2));
    assert_eq!(tick_kinds(&f), Vec::<&str>::new(), "never listed again");

    let rows = outbox_of(&f, "expiry_digest");
    assert_eq!(rows.len(), 1);
    let raw = raw_of(&f, rows[0].id);
    assert!(verifies(&f, &raw));
    let file = attachment(&raw, "server-renewal.tsv").expect("the renewal file");
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&file);
    assert!(!bad);
    assert_eq!(text.matches("\r\n").count(), 2, "{text}");
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 13, "{line}");
        assert!(
            fields[3].starts_with("0x") && fields[6].is_empty(),
            "{line}"
        );
        assert_eq!(fields[9], "admin@example.ac.jp");
    }
}

#[test]
fn an_opted_out_institution_gets_no_digest_and_the_others_still_do() {
    let (mut f, clock) = instance(20);
    issue(&mut f, &clock, "www.example.ac.jp");
    // A certificate of the other institution, from its officer.
    let dn = kit::forms::server_dn("www.sample-tech.ac.jp", SAMPLE, "Suita-shi", "Osaka");
    let csr = kit::forms::csr_field(&rsa(), &dn).unwrap();
    let line = kit::forms::issue_line(&dn, 3, &csr, "", "admin@sample-tech.ac.jp", "");
    let raw = mail_at(&f.o2, O2, &line);
    accept(&mut f, &clock, &raw);
    mailra::ops::registry::set_expiry_digest(&f.env.conn, EX, false, "operator", clock.now())
        .unwrap();
    let queued = scheduler::tick(&f.env).unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(
        (queued[0].institution.as_str(), &queued[0].to[..]),
        (SAMPLE, &[O2.to_string()][..])
    );
}

#[test]
fn renewed_and_revoked_certificates_are_left_out_of_the_digest() {
    let (mut f, clock) = instance(40);
    let kept = issue(&mut f, &clock, "www.example.ac.jp");
    let renewed = issue(&mut f, &clock, "mail.example.ac.jp");
    let revoked = issue(&mut f, &clock, "vpn.example.ac.jp");
    // The renewal itself is valid long after the window.
    f.env.cfg.server_days = 200;
    renew(&mut f, &clock, "mail.example.ac.jp", &renewed);
    revoke(&mut f, &clock, "vpn.example.ac.jp", &revoked);
    clock.advance(Duration::days(20));
    let queued = scheduler::tick(&f.env).unwrap();
    let digest: Vec<_> = queued
        .iter()
        .filter(|q| q.kind == "expiry-digest")
        .collect();
    assert_eq!(digest.len(), 1);
    assert_eq!(digest[0].serials, [kept.to_string()]);
}

/// The renewal file with a CSR of `key` in field 7 of its row for `dn_cn`.
fn fill_csr(file: &[u8], key: &PKey<Private>, cn: &str) -> Vec<u8> {
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(file);
    let rows: Vec<String> = text
        .lines()
        .map(|l| {
            let mut fields: Vec<String> = l.split('\t').map(str::to_string).collect();
            fields[6] = kit::forms::csr_field(key, &ex_dn(cn)).unwrap();
            fields.join("\t")
        })
        .collect();
    kit::forms::sjis(&(rows.join("\r\n") + "\r\n"))
}

#[test]
fn a_returned_digest_renews_the_listed_certificate_once() {
    let (mut f, clock) = instance(40);
    let old = issue(&mut f, &clock, "www.example.ac.jp");
    let not_after = store::certificate(&f.env.conn, &old)
        .unwrap()
        .unwrap()
        .not_after;
    f.env.cfg.server_days = 200;

    clock.set(not_after - Duration::days(20));
    let queued = scheduler::tick(&f.env).unwrap();
    assert_eq!(queued.len(), 1);
    let raw = raw_of(&f, queued[0].outbox_id);
    let file = attachment(&raw, "server-renewal.tsv").unwrap();

    // The officer adds a CSR, signs the file and sends it back.
    let filled = fill_csr(&file, &rsa(), "www.example.ac.jp");
    let answer = mail_bytes(&f.o1, O1, filled);
    let o = accept(&mut f, &clock, &answer);
    assert_eq!(o.issued.len(), 1, "{o:?}");

    let renewals: Vec<_> = store::certificates(&f.env.conn)
        .unwrap()
        .into_iter()
        .filter(|c| c.renewed_from.as_ref() == Some(&old))
        .collect();
    assert_eq!(renewals.len(), 1, "renewed once");
    let new = &renewals[0];
    assert_eq!(new.status, CertStatus::Valid);
    assert_eq!(
        new.admin_mail, "admin@example.ac.jp",
        "pre-filled admin kept"
    );
    assert_eq!(
        store::certificate(&f.env.conn, &old)
            .unwrap()
            .unwrap()
            .subject_dn,
        new.subject_dn
    );

    // The digest sends nothing new for it, now or later in its window.
    for days in [0, 1, 10] {
        clock.set(not_after - Duration::days(20) + Duration::days(days));
        let q = scheduler::tick(&f.env).unwrap();
        assert!(
            q.iter().all(|q| q.kind != "expiry-digest"),
            "day +{days}: {q:?}"
        );
    }
    assert_eq!(outbox_of(&f, "expiry_digest").len(), 1);
}

fn mailra(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(args)
        .env_remove("MAILRA_DIR")
        .output()
        .unwrap()
}

#[test]
fn reminders_list_shows_open_reminders_for_people_and_as_json_lines() {
    // The binary runs on the wall clock: a renewal today, certificates
    // valid for 20 days (inside the 30-day digest window).
    let mut f = Fixture::new();
    f.env.cfg.server_days = 20;
    let raw = one_row_to(&f, "www.example.ac.jp", "admin@example.ac.jp");
    let o = f.process(&raw);
    let old = o.issued[0].clone();
    let dn = ex_dn("www.example.ac.jp");
    let line = kit::forms::renew_line(
        &dn,
        3,
        &old,
        &kit::forms::csr_field(&rsa(), &dn).unwrap(),
        "",
        "admin@example.ac.jp",
    );
    let o = f.process(&f.mail(&f.o1, O1, "更新", &line));
    let new = o.issued[0].clone();
    let dir = f.dir.path().to_str().unwrap().to_string();

    let out = mailra(&["reminders", "list", "--dir", &dir]);
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{t}");
    let renewal = t
        .lines()
        .find(|l| l.contains("renewal-revoke"))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        renewal.contains(&old) && renewal.contains(&new) && renewal.contains("waiting"),
        "{renewal}"
    );
    let digest = t
        .lines()
        .find(|l| l.contains("expiry-digest"))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        digest.contains(&new) && digest.contains("due now"),
        "{digest}"
    );
    assert!(
        !t.lines()
            .any(|l| l.contains("expiry-digest") && l.contains(&old)),
        "renewed: left out\n{t}"
    );

    let out = mailra(&["reminders", "list", "--dir", &dir, "--json"]);
    assert!(out.status.success());
    let objs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 2, "{objs:?}");
    assert_eq!(objs[0]["kind"], "renewal-revoke");
    assert_eq!(objs[0]["serial"], old.as_str());
    assert_eq!(objs[0]["new_serial"], new.as_str());
    assert_eq!(objs[0]["sent"], false);
    assert_eq!(objs[1]["kind"], "expiry-digest");
    assert_eq!(objs[1]["serial"], new.as_str());

    // Opting the institution out takes its certificates off the list.
    let set = |flag: &str| {
        let out = mailra(&[
            "registry",
            "institution",
            "set",
            "--dir",
            &dir,
            "--name",
            EX,
            flag,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    set("--no-digest");
    let t =
        String::from_utf8_lossy(&mailra(&["reminders", "list", "--dir", &dir]).stdout).into_owned();
    assert!(!t.contains("expiry-digest"), "{t}");
    assert!(t.contains("renewal-revoke"), "{t}");
    set("--digest");

    // `reminders run` sends the digest now, and only once.
    let out = mailra(&["reminders", "run", "--dir", &dir]);
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("queued expiry-digest for Example University") && t.contains(&new),
        "{t}"
    );
    let t =
        String::from_utf8_lossy(&mailra(&["reminders", "run", "--dir", &dir]).stdout).into_owned();
    assert!(t.contains("no reminder was due"), "{t}");
}

/// The published CRL file of the RSA CA, parsed by openssl.
fn published_crl(f: &Fixture) -> openssl::x509::X509Crl {
    let path = f
        .env
        .cfg
        .crl_dir
        .join(format!("{}.crl", mailra::model::CaKind::Rsa.crl_stem()));
    openssl::x509::X509Crl::from_der(&std::fs::read(&path).unwrap()).unwrap()
}

/// Regression: nothing remade a CRL while the robot ran, so a published CRL
/// ran past its nextUpdate a week after the first issuance unless the
/// operator ran `mailra crl` from cron (`mailra status` then says critical).
#[test]
fn the_scheduler_remakes_the_crl_once_half_its_validity_has_passed() {
    let (mut f, clock) = instance(200);
    let ca = mailra::model::CaKind::Rsa;
    scheduler::tick(&f.env).unwrap();
    assert!(
        store::latest_crl(&f.env.conn, ca).unwrap().is_none(),
        "a CA that issued nothing needs no CRL"
    );
    issue(&mut f, &clock, "www.example.ac.jp");
    scheduler::tick(&f.env).unwrap();
    let (first, this_update, next_update, _) = store::latest_crl(&f.env.conn, ca).unwrap().unwrap();
    let published = published_crl(&f);
    assert!(published.next_update().is_some());

    clock.advance((next_update - this_update) / 2 - Duration::minutes(1));
    scheduler::tick(&f.env).unwrap();
    assert_eq!(
        store::latest_crl(&f.env.conn, ca).unwrap().unwrap().0,
        first,
        "not yet due"
    );

    clock.advance(Duration::minutes(2));
    scheduler::tick(&f.env).unwrap();
    let (second, this_update2, _, der) = store::latest_crl(&f.env.conn, ca).unwrap().unwrap();
    assert!(second > first, "a new CRL number");
    assert_eq!(this_update2, clock.now());
    assert_eq!(
        published_crl(&f).to_der().unwrap(),
        der,
        "the new CRL is the one published"
    );
}
