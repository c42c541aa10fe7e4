//! The whole pipeline on real signed mails, a real SQLite file and the real
//! openssl CLI: what a registration officer and the secretariat care about.

mod support;

use mailra::kit::forms::{csr_field, issue_line, renew_line, revoke_line};
use mailra::model::{CaKind, CertStatus, RowOutcomeKind};
use mailra::ra::Verdict;
use mailra::store;
use support::*;

/// The bytes of the attachment `name` of a reply, if it has one.
fn attachment(raw: &str, name: &str) -> Option<Vec<u8>> {
    use mail_parser::MimeHeaders;
    let m = mail_parser::MessageParser::default().parse(raw.as_bytes())?;
    m.attachments()
        .find(|a| a.attachment_name() == Some(name))
        .map(|a| a.contents().to_vec())
}

/// The PEM file of the issuing CA of `kind` in a fixture.
fn ca_file(f: &Fixture, kind: CaKind) -> String {
    let rel = match kind {
        CaKind::Rsa => "pki/ca.pem",
        CaKind::Ec => "pki/ca-ec.pem",
    };
    f.path(rel).display().to_string()
}

fn verify_reply(f: &Fixture, path: &std::path::Path) -> bool {
    let ca = f.path("pki/officer-ca.pem");
    openssl(&[
        "smime",
        "-verify",
        "-in",
        path.to_str().unwrap(),
        "-CAfile",
        ca.to_str().unwrap(),
        "-out",
        "/dev/null",
    ])
    .0
}

#[test]
fn issued_certificates_verify_against_the_ca_and_every_reply_is_signed() {
    let mut f = Fixture::new();
    let tsv = [
        issue_tsv_key("www.example.ac.jp", &rsa(), 3),
        issue_tsv_with("mail.example.ac.jp", &rsa(), 3, "postmaster@example.ac.jp"),
        issue_tsv_key("lms.example.ac.jp", &p384(), 11),
    ]
    .join("\r\n");
    let raw = f.mail(&f.o1, O1, "サーバ証明書発行申請", &tsv);
    let o = f.process(&raw);
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.issued.len(), 3);
    for c in store::certificates(&f.env.conn).unwrap() {
        let p = write(f.dir.path(), "c.pem", c.pem.as_bytes());
        let (ok, text) = openssl(&["verify", "-CAfile", &ca_file(&f, c.ca.unwrap()), &p]);
        assert!(ok, "{text}");
        let (_, text) = openssl(&["x509", "-in", &p, "-noout", "-text"]);
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
        assert!(text.contains(
            &format!("DNS:{}", c.subject_dn.split(',').next().unwrap().trim_start_matches("CN="))
        ));
    }
    // Officer receipt + one notice per admin address and issuing CA (carrying
    // each of that admin's certificates from that CA, and that CA's chain);
    // all verify with the robot's CA.
    let replies = f.replies();
    assert_eq!(replies.len(), 4);
    for (p, text) in &replies {
        assert!(verify_reply(&f, p), "reply {} does not verify", p.display());
        assert!(text.contains("multipart/signed"));
    }
    let notice_to = |admin: &str, cn: &str| -> String {
        let n: Vec<_> = replies
            .iter()
            .filter(|(_, t)| {
                t.contains("X-Mailra-Verdict: issued")
                    && t.contains(&format!("To: {admin}"))
                    && t.contains(cn)
            })
            .collect();
        assert_eq!(n.len(), 1, "one notice to {admin} naming {cn}");
        n[0].1.clone()
    };
    let by_cn = |cn: &str| {
        store::certificates(&f.env.conn)
            .unwrap()
            .into_iter()
            .find(|c| c.subject_dn.starts_with(&format!("CN={cn},")))
            .unwrap()
    };
    let rsa_notice = notice_to("admin@example.ac.jp", "www.example.ac.jp");
    let ec_notice = notice_to("admin@example.ac.jp", "lms.example.ac.jp");
    let other = notice_to("postmaster@example.ac.jp", "mail.example.ac.jp");
    for (text, cn, ca) in [
        (&rsa_notice, "www.example.ac.jp", CaKind::Rsa),
        (&ec_notice, "lms.example.ac.jp", CaKind::Ec),
        (&other, "mail.example.ac.jp", CaKind::Rsa),
    ] {
        let c = by_cn(cn);
        assert_eq!(c.ca, Some(ca), "{cn}");
        assert!(
            text.contains(&format!("{cn}-{}.pem", c.serial.to_hex())),
            "{text}"
        );
        assert!(text.contains(&c.serial.to_string()), "{text}");
        // chain.pem is the chain of the CA that signed the certificate in it.
        let der = |pem: &[u8]| -> Vec<Vec<u8>> {
            openssl::x509::X509::stack_from_pem(pem)
                .unwrap()
                .iter()
                .map(|c| c.to_der().unwrap())
                .collect()
        };
        let chain = attachment(text, "chain.pem").expect("chain.pem attached");
        assert_eq!(
            der(&chain),
            der(&std::fs::read(ca_file(&f, ca)).unwrap()),
            "{cn}"
        );
    }
    assert!(!rsa_notice.contains("lms.example.ac.jp"));
    assert!(!ec_notice.contains("www.example.ac.jp"));
    assert!(!other.contains("www.example.ac.jp"));
}

#[test]
fn profile_11_is_signed_by_the_ecdsa_ca_and_revoked_on_its_own_crl() {
    let mut f = Fixture::new();
    let tsv = [
        issue_tsv_key("www.example.ac.jp", &rsa(), 3),
        issue_tsv_key("lms.example.ac.jp", &p384(), 11),
    ]
    .join("\r\n");
    let o = f.process(&f.mail(&f.o1, O1, "発行", &tsv));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    let certs = store::certificates(&f.env.conn).unwrap();
    let find = |cn: &str| {
        certs
            .iter()
            .find(|c| c.subject_dn.starts_with(&format!("CN={cn},")))
            .unwrap()
            .clone()
    };
    let (rsa_cert, ec_cert) = (find("www.example.ac.jp"), find("lms.example.ac.jp"));
    let (rsa_ca, ec_ca) = (ca_file(&f, CaKind::Rsa), ca_file(&f, CaKind::Ec));
    let rsa_pem = write(f.dir.path(), "rsa.pem", rsa_cert.pem.as_bytes());
    let ec_pem = write(f.dir.path(), "ec.pem", ec_cert.pem.as_bytes());
    // Each verifies against its own CA and not against the other.
    for (cert, ca, other, sig) in [
        (&ec_pem, &ec_ca, &rsa_ca, "ecdsa-with-SHA384"),
        (&rsa_pem, &rsa_ca, &ec_ca, "sha256WithRSAEncryption"),
    ] {
        let (ok, text) = openssl(&["verify", "-CAfile", ca, cert]);
        assert!(ok && text.contains(": OK"), "{cert}: {text}");
        let (ok, text) = openssl(&["verify", "-CAfile", other, cert]);
        assert!(!ok, "{cert} must not verify against {other}: {text}");
        let (_, text) = openssl(&["x509", "-in", cert, "-noout", "-text"]);
        assert!(
            text.contains(&format!("Signature Algorithm: {sig}")),
            "{text}"
        );
    }
    let (_, text) = openssl(&["x509", "-in", &ec_pem, "-noout", "-text"]);
    assert!(
        text.contains("Issuer: C = JP, O = mailra Certificate Service, CN = mailra ECC Server CA"),
        "{text}"
    );
    assert!(text.contains("ASN1 OID: secp384r1"), "{text}");

    // Revoking the P-384 certificate remakes only the ECDSA CA's CRL.
    let ec_crl = f.path("crl/ca-ec.crl.pem").display().to_string();
    let rsa_crl = f.path("crl/ca.crl.pem").display().to_string();
    let revoke = revoke_line(
        &ex_dn("lms.example.ac.jp"),
        &ec_cert.serial.to_string(),
        5,
        "廃止",
    );
    let o = f.process(&f.mail(&f.o1, O1, "失効", &revoke));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert!(f.path("crl/ca-ec.crl").is_file());
    assert!(
        !f.path("crl/ca.crl.pem").exists(),
        "the RSA CA's CRL is not remade for an ECDSA revocation"
    );
    let serial_hex = ec_cert.serial.to_hex();
    let crl_text = |crl: &str, ca: &str| {
        let (ok, text) = openssl(&["crl", "-in", crl, "-CAfile", ca, "-noout", "-text"]);
        assert!(ok && text.contains("verify OK"), "{crl}: {text}");
        text
    };
    let text = crl_text(&ec_crl, &ec_ca);
    assert!(
        text.contains("Signature Algorithm: ecdsa-with-SHA384"),
        "{text}"
    );
    assert!(text.contains(&serial_hex), "{text}");
    assert!(text.contains("Cessation Of Operation"), "{text}");
    assert!(
        text.contains("X509v3 CRL Number: \n                1\n"),
        "{text}"
    );
    let (ok, text) = openssl(&[
        "verify",
        "-crl_check",
        "-CRLfile",
        &ec_crl,
        "-CAfile",
        &ec_ca,
        &ec_pem,
    ]);
    assert!(!ok && text.contains("certificate revoked"), "{text}");

    // Then the RSA one: its CRL lists it alone; the ECDSA CRL is not remade.
    let revoke = revoke_line(
        &ex_dn("www.example.ac.jp"),
        &rsa_cert.serial.to_string(),
        4,
        "",
    );
    let ec_crl_before = std::fs::read(&ec_crl).unwrap();
    let o = f.process(&f.mail(&f.o1, O1, "失効", &revoke));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(std::fs::read(&ec_crl).unwrap(), ec_crl_before);
    let text = crl_text(&rsa_crl, &rsa_ca);
    assert!(text.contains(&rsa_cert.serial.to_hex()), "{text}");
    assert!(text.contains("Superseded"), "{text}");
    // Each CA numbers its own CRLs: this is the RSA CA's first.
    assert!(
        text.contains("X509v3 CRL Number: \n                1\n"),
        "{text}"
    );
    assert!(
        !text.contains(&serial_hex),
        "the RSA CA's CRL must not list the ECDSA CA's certificate: {text}"
    );
    let (ok, text) = openssl(&[
        "verify",
        "-crl_check",
        "-CRLfile",
        &rsa_crl,
        "-CAfile",
        &rsa_ca,
        &rsa_pem,
    ]);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
}

#[test]
fn an_instance_without_an_ecdsa_ca_refuses_profile_11_rows() {
    let mut f = Fixture::without_ecdsa_ca();
    assert!(f.env.ec_ca.is_none());
    let refused = "line 1: field 2 (profile ID): profile 11 (ECDSA P-384) is not offered: no ECDSA issuing CA is configured";
    let tsv = issue_tsv_key("lms.example.ac.jp", &p384(), 11);
    for subject in ["[check] 発行", "発行"] {
        let o = f.process(&f.mail(&f.o1, O1, subject, &tsv));
        let expected = if subject.starts_with("[check]") {
            Verdict::Checked
        } else {
            Verdict::Invalid
        };
        assert_eq!(o.verdict, expected, "{subject}: {o:?}");
        assert!(o.issued.is_empty());
        assert_eq!(f.cert_count(), 0, "{subject}");
        // The officer is told why, in the reply to this very mail.
        let reply = f
            .replies()
            .into_iter()
            .map(|(_, t)| t)
            .find(|t| t.contains(&format!("X-Mailra-Verdict: {}", o.verdict.as_str())))
            .expect("officer reply");
        let body = text_of(&reply);
        assert!(body.contains(refused), "{subject}: {body}");
    }
    let errors: Vec<String> = row_errors(&f);
    // Dry run and real run alike: one row error, the profile.
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|e| e.starts_with(refused)), "{errors:?}");
    // Profile 3 is still issued, by the RSA CA; `mailra crl` has one CRL.
    let o = f.process(&f.mail(
        &f.o1,
        O1,
        "発行",
        &issue_tsv_key("www.example.ac.jp", &rsa(), 3),
    ));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(
        store::certificates(&f.env.conn).unwrap()[0].ca,
        Some(CaKind::Rsa)
    );
    let crls = mailra::ra::refresh_crl(&mut f.env, now()).unwrap();
    assert_eq!(crls.len(), 1);
    assert_eq!(crls[0].0, CaKind::Rsa);
    assert!(!f.path("crl/ca-ec.crl.pem").exists());
}

#[test]
fn revocation_is_in_the_crl_with_its_reason_and_openssl_rejects_the_certificate() {
    let mut f = Fixture::new();
    let raw = f.mail(
        &f.o1,
        O1,
        "発行",
        &issue_tsv_key("www.example.ac.jp", &rsa(), 3),
    );
    let issued = f.process(&raw).issued;
    assert_eq!(issued.len(), 1);
    let serial = &issued[0];
    let revoke = revoke_line(&ex_dn("www.example.ac.jp"), serial, 1, "鍵の漏洩");
    // The default rules hold every keyCompromise revocation for review.
    let held = f.process(&f.mail(&f.o1, O1, "失効", &revoke));
    assert_eq!(held.verdict, Verdict::Held, "{held:?}");
    let o = mailra::ra::review::approve(&mut f.env, held.mail_id, "secretariat", now()).unwrap();
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.revoked, vec![serial.clone()]);
    // A profile 3 certificate: the RSA CA's CRL, under its old name.
    let crl = f.path("crl/ca.crl.pem");
    let ca = f.path("pki/ca.pem");
    let (ok, text) = openssl(&[
        "crl",
        "-in",
        crl.to_str().unwrap(),
        "-CAfile",
        ca.to_str().unwrap(),
        "-noout",
        "-text",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
    assert!(text.contains(serial.trim_start_matches("0x")), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    let cert = store::certificates(&f.env.conn).unwrap().remove(0);
    assert_eq!(cert.status, CertStatus::Revoked);
    let p = write(f.dir.path(), "revoked.pem", cert.pem.as_bytes());
    let (ok, text) = openssl(&[
        "verify",
        "-crl_check",
        "-CRLfile",
        crl.to_str().unwrap(),
        "-CAfile",
        ca.to_str().unwrap(),
        &p,
    ]);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    // Revoking it again is refused, and nothing changes.
    let again = f.process(&f.mail(&f.o1, O1, "失効", &revoke));
    assert_eq!(again.verdict, Verdict::Invalid, "{again:?}");
}

#[test]
fn renewal_issues_a_new_certificate_and_refuses_the_old_key() {
    let mut f = Fixture::new();
    let key = rsa();
    let dn = ex_dn("www.example.ac.jp");
    let old = f
        .process(&f.mail(
            &f.o1,
            O1,
            "発行",
            &issue_tsv_key("www.example.ac.jp", &key, 3),
        ))
        .issued
        .remove(0);
    // Same key: refused.
    let same = renew_line(
        &dn,
        3,
        &old,
        &csr_field(&key, &dn).unwrap(),
        "国立　太郎",
        "admin@example.ac.jp",
    );
    let o = f.process(&f.mail(&f.o1, O1, "更新", &same));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert_eq!(f.cert_count(), 1);
    // New key: a new certificate that names the old one.
    let new = renew_line(
        &dn,
        3,
        &old,
        &csr_field(&rsa(), &dn).unwrap(),
        "国立　太郎",
        "admin@example.ac.jp",
    );
    let o = f.process(&f.mail(&f.o1, O1, "更新", &new));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    let serial = mailra::cli::parse_serial(&o.issued[0]).unwrap();
    let rec = store::certificate(&f.env.conn, &serial).unwrap().unwrap();
    assert_eq!(rec.renewed_from.map(|s| s.to_string()), Some(old));
}

#[test]
fn bad_mails_are_rejected_with_a_signed_reply_and_nothing_is_issued() {
    let mut f = Fixture::new();
    let tsv = issue_tsv_key("www.example.ac.jp", &rsa(), 3);
    let good = f.mail(&f.o1, O1, "発行", &tsv);
    let rogue_ca =
        mailra::ca::new_ca("Rogue", "Rogue", now(), 30, mailra::ca::KeyKind::Rsa2048).unwrap();
    let rogue = signer(&rogue_ca, O1);
    let unregistered = signer(&f.officer_ca, "stranger@example.ac.jp");
    let mut tampered = good.clone();
    let at = tampered
        .windows(15)
        .position(|w| w == b"application.tsv")
        .unwrap();
    tampered[at] = b'A';
    let files = [mailra::kit::mail::FileSpec {
        name: "application.tsv".into(),
        data: mailra::kit::forms::sjis(&tsv),
    }];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "unsigned",
            mailra::kit::mail::unsigned_mail(O1, mailra::kit::ROBOT, "発行", &files).unwrap(),
            "structure",
        ),
        ("tampered", tampered, "digest"),
        ("other CA", f.mail(&rogue, O1, "発行", &tsv), "chain"),
        (
            "From mismatch",
            f.mail(&f.o1, "other@example.ac.jp", "発行", &tsv),
            "address",
        ),
        (
            "unregistered officer",
            f.mail(&unregistered, "stranger@example.ac.jp", "発行", &tsv),
            "officer",
        ),
    ];
    for (name, raw, check) in cases {
        let before = f.replies().len();
        let o = f.process(&raw);
        assert_eq!(o.verdict, Verdict::Rejected, "{name}: {o:?}");
        assert_eq!(o.check.as_deref(), Some(check), "{name}: {o:?}");
        assert_eq!(f.cert_count(), 0, "{name} issued something");
        let replies = f.replies();
        assert_eq!(replies.len(), before + 1, "{name}: one rejection reply");
        let (path, text) = replies
            .iter()
            .find(|(_, t)| t.contains("X-Mailra-Verdict: rejected") && !t.is_empty())
            .unwrap();
        assert!(
            verify_reply(&f, path),
            "{name}: rejection reply must be signed"
        );
        assert!(
            !text.contains("Apache httpd"),
            "{name}: the reply must not quote the content"
        );
    }
    // The mails are all kept.
    let kept = store::mails(
        &f.env.conn,
        &store::MailFilter {
            verdict: Some(Verdict::Rejected),
            ..Default::default()
        },
    )
    .unwrap()
    .len();
    assert_eq!(kept, 5);
}

#[test]
fn an_officer_cannot_act_for_another_institution() {
    let mut f = Fixture::new();
    // Officer 2 (Sample Institute) asks for a certificate in example.ac.jp.
    let dn = mailra::kit::forms::server_dn("www.example.ac.jp", SAMPLE, "Suita-shi", "Osaka");
    let line = issue_line(
        &dn,
        3,
        &csr_field(&rsa(), &dn).unwrap(),
        "",
        "admin@sample-tech.ac.jp",
        "",
    );
    let o = f.process(&f.mail(&f.o2, O2, "発行", &line));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert_eq!(f.cert_count(), 0);
    // Officer 2 tries to revoke Example University's certificate.
    let serial = f
        .process(&f.mail(
            &f.o1,
            O1,
            "発行",
            &issue_tsv_key("www.example.ac.jp", &rsa(), 3),
        ))
        .issued
        .remove(0);
    let o = f.process(&f.mail(
        &f.o2,
        O2,
        "失効",
        &revoke_line(&ex_dn("www.example.ac.jp"), &serial, 5, ""),
    ));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert!(o.revoked.is_empty());
    assert_eq!(
        store::certificates(&f.env.conn).unwrap()[0].status,
        CertStatus::Valid
    );
}

#[test]
fn a_file_with_broken_rows_is_not_executed_and_every_error_is_reported() {
    let mut f = Fixture::new();
    let good = issue_tsv_key("www.example.ac.jp", &rsa(), 3);
    let bad_dn = ex_dn("bad_host.example.ac.jp");
    let bad = issue_line(&bad_dn, 7, "notacsr", "", "not-an-address", "");
    let o = f.process(&f.mail(&f.o1, O1, "発行", &[good, bad].join("\r\n")));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert_eq!(
        f.cert_count(),
        0,
        "the valid first row must not be issued either"
    );
    assert!(
        f.replies()
            .iter()
            .any(|(_, t)| t.contains("X-Mailra-Verdict: invalid")),
        "the officer gets the error report"
    );
    let errors: Vec<String> = row_errors(&f);
    assert!(errors.len() >= 4, "{errors:?}");
    for needle in [
        "line 2: field 2",
        "line 2: field 7",
        "line 2: field 10",
        "line 2: field 1",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "{needle} missing in {errors:?}"
        );
    }
}

#[test]
fn replaying_a_processed_mail_issues_nothing() {
    let mut f = Fixture::new();
    let raw = f.mail(
        &f.o1,
        O1,
        "発行",
        &issue_tsv_key("www.example.ac.jp", &rsa(), 3),
    );
    assert_eq!(f.process(&raw).issued.len(), 1);
    // The same bytes again.
    let o = f.process(&raw);
    assert_eq!(o.verdict, Verdict::Duplicate);
    // The same signed content under new outer headers (a re-forwarded mail).
    let text = String::from_utf8_lossy(&raw).replace("Subject: ", "Subject: Fwd: ");
    let o = f.process(text.as_bytes());
    assert_eq!(o.verdict, Verdict::Duplicate, "{o:?}");
    assert_eq!(f.cert_count(), 1);
    assert!(
        f.replies()
            .iter()
            .any(|(_, t)| t.contains("X-Mailra-Verdict: duplicate"))
    );
}

#[test]
fn a_check_subject_validates_without_executing() {
    let mut f = Fixture::new();
    let raw = f.mail(
        &f.o1,
        O1,
        "[check] サーバ証明書発行申請",
        &issue_tsv_key("www.example.ac.jp", &rsa(), 3),
    );
    let o = f.process(&raw);
    assert_eq!(o.verdict, Verdict::Checked, "{o:?}");
    assert_eq!(f.cert_count(), 0);
    let raw = f.mail(
        &f.o1,
        O1,
        "[確認] 申請",
        &issue_tsv_key("lms.example.ac.jp", &rsa(), 3),
    );
    assert_eq!(f.process(&raw).verdict, Verdict::Checked);
    assert_eq!(f.cert_count(), 0);
}

#[test]
fn the_audit_log_records_who_did_what_for_which_mail() {
    let mut f = Fixture::new();
    let raw = f.mail(
        &f.o1,
        O1,
        "発行",
        &issue_tsv_key("www.example.ac.jp", &rsa(), 3),
    );
    let o = f.process(&raw);
    let events = store::audit_events(&f.env.conn).unwrap();
    let issue = events
        .iter()
        .find(|e| e.action == "issue")
        .expect("issue event");
    assert_eq!(issue.actor, O1);
    assert_eq!(issue.mail_id, Some(o.mail_id));
    assert_eq!(
        issue.serial.as_deref(),
        Some(o.issued[0].trim_start_matches("0x"))
    );
    // Replies were queued in the same transaction and are marked sent.
    let out = store::outbox_for_mail(&f.env.conn, o.mail_id).unwrap();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|m| m.status == store::OutboxStatus::Sent));
}

/// The error details recorded for the rows of every application.
fn row_errors(f: &Fixture) -> Vec<String> {
    store::rows_with_outcome(
        &f.env.conn,
        RowOutcomeKind::Error,
        &store::ApplicationFilter::default(),
    )
    .unwrap()
    .into_iter()
    .map(|r| r.detail)
    .collect()
}

/// Regression (issue 8, defect 2): an RSA-2048 CSR with public exponent 3 was issued.
#[test]
fn weak_key_exponent_3_is_not_issued() {
    let mut f = Fixture::new();
    let e3 = openssl::pkey::PKey::from_rsa(
        openssl::rsa::Rsa::generate_with_e(2048, &openssl::bn::BigNum::from_u32(3).unwrap())
            .unwrap(),
    )
    .unwrap();
    let o = f.process(&f.mail(
        &f.o1,
        O1,
        "発行",
        &issue_tsv_key("www.example.ac.jp", &e3, 3),
    ));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert!(o.issued.is_empty());
    assert_eq!(f.cert_count(), 0, "nothing may be issued");
    assert_eq!(
        row_errors(&f),
        vec!["line 1: field 7 (CSR): the CSR's RSA public exponent is 3; only 65537 is accepted"]
    );
    assert!(
        f.replies()
            .iter()
            .any(|(_, t)| t.contains("X-Mailra-Verdict: invalid")),
        "the officer gets the error report"
    );
}

#[test]
fn a_key_of_another_subject_or_revoked_for_key_compromise_is_not_certified() {
    let mut f = Fixture::new();
    let key = rsa();
    let www = f.process(&f.mail(
        &f.o1,
        O1,
        "発行",
        &issue_tsv_key("www.example.ac.jp", &key, 3),
    ));
    assert_eq!(www.verdict, Verdict::Accepted, "{www:?}");
    let serial = www.issued[0].clone();
    // The same key for another host of the same institution: refused.
    let o = f.process(&f.mail(
        &f.o1,
        O1,
        "発行",
        &issue_tsv_key("mail.example.ac.jp", &key, 3),
    ));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert_eq!(f.cert_count(), 1);
    assert_eq!(
        row_errors(&f),
        vec![format!(
            "line 1: field 7 (CSR): the CSR's key is already certified for another subject (certificate {serial}, {}); each subject needs its own key pair",
            ex_dn("www.example.ac.jp")
        )]
    );
    // Revoked for keyCompromise: the key is never certified again, not even
    // for the subject it was certified for.
    let revoke = revoke_line(&ex_dn("www.example.ac.jp"), &serial, 1, "鍵の漏洩");
    let held = f.process(&f.mail(&f.o1, O1, "失効", &revoke));
    let o = mailra::ra::review::approve(&mut f.env, held.mail_id, "secretariat", now()).unwrap();
    assert_eq!(o.revoked, vec![serial.clone()], "{o:?}");
    let o = f.process(&f.mail(
        &f.o1,
        O1,
        "発行",
        &issue_tsv_key("www.example.ac.jp", &key, 3),
    ));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert_eq!(f.cert_count(), 1);
    assert_eq!(
        row_errors(&f).last().unwrap(),
        &format!(
            "line 1: field 7 (CSR): the CSR's key is the key of certificate {serial}, revoked for keyCompromise; a compromised key is never certified again, generate a new key pair"
        )
    );
}

#[test]
fn the_keys_of_the_robot_the_cas_and_the_signing_officer_are_not_certified() {
    let mut f = Fixture::new();
    let load = |rel: &str| {
        openssl::pkey::PKey::private_key_from_pem(&std::fs::read(f.path(rel)).unwrap()).unwrap()
    };
    let robot = f.env.signer.key.clone();
    let (rsa_ca, ec_ca) = (load("pki/ca.key"), load("pki/ca-ec.key"));
    let officer = f.o1.key.clone();
    let tsv = [
        issue_tsv_key("www.example.ac.jp", &robot, 3),
        issue_tsv_key("mail.example.ac.jp", &rsa_ca, 3),
        issue_tsv_key("lms.example.ac.jp", &ec_ca, 11),
        issue_tsv_key("vpn.example.ac.jp", &officer, 3),
    ]
    .join("\r\n");
    let o = f.process(&f.mail(&f.o1, O1, "発行", &tsv));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert_eq!(f.cert_count(), 0);
    let rule = |line: usize, holder: &str| {
        format!(
            "line {line}: field 7 (CSR): the CSR's key is the key of {holder}; that key must never be certified, generate a new key pair"
        )
    };
    assert_eq!(
        row_errors(&f),
        vec![
            rule(1, "the robot's signing certificate"),
            rule(2, "the RSA issuing CA"),
            rule(3, "the ECDSA issuing CA"),
            rule(4, "the officer certificate that signed this mail"),
        ]
    );
}

/// Regression: only the key of the officer who signed the mail at hand was
/// refused; another registered officer's signing key was certified.
#[test]
fn the_signing_key_of_any_registered_officer_is_not_certified() {
    let mut f = Fixture::new();
    // Another institution's officer mails the robot (a broken file is
    // enough: the signature and the signer were verified); a stranger,
    // whose certificate chains to the officer CA but who is not
    // registered, is rejected, and their key stays free.
    let o = f.process(&f.mail(&f.o2, O2, "発行", "x"));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    let stranger = signer(&f.officer_ca, "stranger@example.ac.jp");
    let o = f.process(&f.mail(
        &stranger,
        "stranger@example.ac.jp",
        "発行",
        &issue_tsv("x.example.ac.jp"),
    ));
    assert_eq!(o.verdict, Verdict::Rejected, "{o:?}");
    let tsv = [
        issue_tsv_key("www.example.ac.jp", &f.o2.key, 3),
        issue_tsv_key("mail.example.ac.jp", &stranger.key, 3),
    ]
    .join("\r\n");
    let o = f.process(&f.mail(&f.o1, O1, "発行", &tsv));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert_eq!(f.cert_count(), 0);
    // The first error is the other officer's broken file; line 2 (the
    // stranger's key) has none.
    assert_eq!(
        row_errors(&f),
        vec![
            "line 1: cannot tell which form this row is: it has neither a CSR (field 7) nor a serial (field 4)",
            "line 1: field 7 (CSR): the CSR's key is the key of a registered officer's signing certificate; that key must never be certified, generate a new key pair"
        ]
    );
}

#[test]
fn one_key_for_two_subjects_in_one_file_is_not_certified() {
    let mut f = Fixture::new();
    let key = rsa();
    let tsv = [
        issue_tsv_key("www.example.ac.jp", &key, 3),
        issue_tsv_key("mail.example.ac.jp", &rsa(), 3),
        issue_tsv_key("lms.example.ac.jp", &key, 3),
    ]
    .join("\r\n");
    let o = f.process(&f.mail(&f.o1, O1, "発行", &tsv));
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert_eq!(f.cert_count(), 0);
    assert_eq!(
        row_errors(&f),
        vec![
            "line 3: field 7 (CSR): the CSR's key is also the key of line 1, for another subject; each subject needs its own key pair"
        ]
    );
}

/// Regression: a key repeated for two subjects was caught within one file,
/// not across two files of the same mail (both were certified).
#[test]
fn one_key_for_two_subjects_in_two_files_of_one_mail_is_not_certified() {
    let mut f = Fixture::new();
    let key = rsa();
    let first = issue_tsv_key("www.example.ac.jp", &key, 3);
    let second = [
        issue_tsv_key("mail.example.ac.jp", &rsa(), 3),
        issue_tsv_key("lms.example.ac.jp", &key, 3),
    ]
    .join("\r\n");
    let raw = f.mail_files(
        &f.o1,
        O1,
        "発行",
        &[("first.tsv", &first), ("second.tsv", &second)],
    );
    let o = f.process(&raw);
    // The first file is carried out; the second, with its error, is not.
    assert_eq!(f.cert_count(), 1, "{o:?}");
    let issued = store::certificates(&f.env.conn).unwrap();
    assert!(issued[0].subject_dn.contains("CN=www.example.ac.jp"));
    assert_eq!(
        row_errors(&f),
        vec![
            "line 2: field 7 (CSR): the CSR's key is also the key of line 1 of first.tsv, for another subject; each subject needs its own key pair"
        ]
    );
}

/// Serials "MAILRA"…01, 01, 02, 02, …: a source that repeats itself.
struct Stuttering(u8);

impl mailra::ca::SerialSource for Stuttering {
    fn next_serial(&mut self) -> mailra::model::Serial {
        self.0 += 1;
        mailra::model::Serial::from_bytes(&[
            0x4d,
            0x41,
            0x49,
            0x4c,
            0x52,
            0x41,
            0,
            0,
            0,
            self.0.div_ceil(2),
        ])
    }
}

/// The rows of a mail are signed together, on every core, before any is
/// recorded: a serial the source repeats within the mail must still go to
/// one certificate only, each row must get the certificate made for it, in
/// row order, whichever CA signs it.
#[test]
fn certificates_signed_together_get_one_serial_each_in_row_order() {
    let mut f = Fixture::new();
    f.env.serials = Box::new(Stuttering(0));
    let hosts = [
        ("www.example.ac.jp", 3),
        ("lms.example.ac.jp", 11),
        ("mail.example.ac.jp", 3),
        ("wiki.example.ac.jp", 3),
        ("git.example.ac.jp", 11),
    ];
    let tsv = hosts
        .iter()
        .map(|(h, p)| issue_tsv_key(h, &if *p == 3 { rsa() } else { p384() }, *p))
        .collect::<Vec<_>>()
        .join("\r\n");
    let o = f.process(&f.mail(&f.o1, O1, "サーバ証明書発行申請", &tsv));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    let apps = store::applications_of_mail(&f.env.conn, o.mail_id).unwrap();
    let rows = &apps[0].rows;
    assert_eq!(rows.len(), hosts.len());
    let mut seen = std::collections::HashSet::new();
    for (i, (row, (host, profile))) in rows.iter().zip(hosts).enumerate() {
        assert_eq!(row.line, i + 1);
        let serial = row.serial.clone().expect("an issued row names its serial");
        // Serials …01, …02, …: the repeats skipped, in row order.
        assert_eq!(
            serial.to_hex().to_ascii_lowercase(),
            format!("4d41494c52410000000{}", i + 1)
        );
        assert!(seen.insert(serial.clone()));
        let c = store::certificate(&f.env.conn, &serial).unwrap().unwrap();
        assert!(
            c.subject_dn.starts_with(&format!("CN={host},")),
            "{}",
            c.subject_dn
        );
        let p = write(f.dir.path(), "c.pem", c.pem.as_bytes());
        let (ok, text) = openssl(&["verify", "-CAfile", &ca_file(&f, c.ca.unwrap()), &p]);
        assert!(ok, "{host}: {text}");
        let (_, text) = openssl(&["x509", "-in", &p, "-noout", "-serial", "-subject"]);
        assert!(
            text.to_ascii_lowercase()
                .contains(&format!("serial=4d41494c52410000000{}", i + 1)),
            "{text}"
        );
        assert!(text.contains(host), "{text}");
        let expected = if profile == 3 {
            CaKind::Rsa
        } else {
            CaKind::Ec
        };
        assert_eq!(c.ca, Some(expected), "{host}");
    }
}
