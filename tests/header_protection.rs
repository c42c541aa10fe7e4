//! Only signed content counts: the outer, unsigned headers may make a mail do
//! less, never more. Protected headers (RFC 9788 `hp="clear"`, Thunderbird's
//! older `protected-headers="v1"`) are honoured on mails coming in, and the
//! robot's own replies carry them.

mod support;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use mail_parser::MimeHeaders;
use mailra::intake::smime;
use mailra::kit;
use mailra::mail::sign::{self, Signer};
use mailra::ra::Verdict;
use support::*;

/// The MIME entity an officer's client signs: a text part and one TSV file.
fn entity(tsv: &str) -> Vec<u8> {
    MultiPart::mixed()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body("申請ファイルを送付します。\r\n".to_string()),
        )
        .singlepart(Attachment::new("application.tsv".into()).body(
            kit::forms::sjis(tsv),
            ContentType::parse("text/tab-separated-values").unwrap(),
        ))
        .formatted()
}

/// How the signed content marks its protected headers.
#[derive(Clone, Copy, Debug)]
enum Style {
    /// RFC 9788.
    Hp,
    /// Thunderbird's `protected-headers="v1"`.
    V1,
}

/// A signed mail whose signed content carries `inner` headers (protected),
/// under the outer `From`/`Subject`.
fn protected_mail(
    signer: &Signer,
    style: Style,
    inner: &[(&str, String)],
    outer_from: &str,
    outer_subject: &str,
    tsv: &str,
) -> Vec<u8> {
    let mut e = sign::protect_headers(inner, &entity(tsv));
    if let Style::V1 = style {
        e = String::from_utf8(e)
            .unwrap()
            .replace("hp=\"clear\"", "protected-headers=\"v1\"")
            .into_bytes();
    }
    signed_under(signer, &e, outer_from, outer_subject)
}

fn signed_under(signer: &Signer, entity: &[u8], from: &str, subject: &str) -> Vec<u8> {
    let signed = sign::sign_detached(entity, signer).unwrap();
    sign::assemble(
        &[
            ("From", from.to_string()),
            ("To", kit::ROBOT.to_string()),
            ("Subject", subject.to_string()),
            ("Date", smime_date()),
            ("Message-ID", mailra::mail::compose::new_message_id(from)),
        ],
        &signed,
    )
}

fn smime_date() -> String {
    now()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap()
}

/// Replaces the outer Subject of a raw mail (outside the signature).
fn with_outer_subject(raw: &[u8], subject: &str) -> Vec<u8> {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let mut out = String::new();
    let mut done = false;
    for line in text.split_inclusive("\r\n") {
        if !done && line.starts_with("Subject:") {
            out.push_str(&format!("Subject: {subject}\r\n"));
            done = true;
        } else {
            out.push_str(line);
        }
    }
    assert!(done);
    out.into_bytes()
}

#[test]
fn dry_run_cannot_be_replayed_into_a_real_request() {
    let mut f = Fixture::new();
    let raw = f.mail(&f.o1, O1, "[check] 発行", &issue_tsv("www.example.ac.jp"));
    let o = f.process(&raw);
    assert_eq!(o.verdict, Verdict::Checked, "{o:?}");
    // The same signed content, the `[check]` removed from the unsigned Subject.
    let replay = with_outer_subject(&raw, "=?UTF-8?B?55m66KGM?=");
    let o = f.process(&replay);
    assert_eq!(o.verdict, Verdict::Duplicate, "{o:?}");
    assert!(o.issued.is_empty());
    assert_eq!(
        f.cert_count(),
        0,
        "nothing may be issued for a replayed dry run"
    );
    // A freshly signed mail with the same file is carried out.
    let fresh = f.mail(&f.o1, O1, "発行", &issue_tsv("lms.example.ac.jp"));
    assert_eq!(f.process(&fresh).verdict, Verdict::Accepted);
    assert_eq!(f.cert_count(), 1);
}

#[test]
fn protected_check_subject_cannot_be_removed_outside() {
    for style in [Style::Hp, Style::V1] {
        let mut f = Fixture::new();
        let raw = protected_mail(
            &f.o1,
            style,
            &[("From", O1.into()), ("Subject", "[check] 発行".into())],
            O1,
            "発行",
            &issue_tsv("www.example.ac.jp"),
        );
        let o = f.process(&raw);
        assert_eq!(o.verdict, Verdict::Checked, "{style:?}: {o:?}");
        assert_eq!(f.cert_count(), 0, "{style:?}");
    }
}

#[test]
fn outer_check_still_makes_a_protected_request_a_dry_run() {
    let mut f = Fixture::new();
    let raw = protected_mail(
        &f.o1,
        Style::Hp,
        &[("From", O1.into()), ("Subject", "発行".into())],
        O1,
        "[check] 発行",
        &issue_tsv("www.example.ac.jp"),
    );
    assert_eq!(f.process(&raw).verdict, Verdict::Checked);
    assert_eq!(f.cert_count(), 0);
}

#[test]
fn a_protected_request_is_carried_out() {
    let mut f = Fixture::new();
    let raw = protected_mail(
        &f.o1,
        Style::V1,
        &[("From", O1.into()), ("Subject", "発行".into())],
        O1,
        "...",
        &issue_tsv("www.example.ac.jp"),
    );
    let report = smime::verify(&raw, &f.env.trust, now());
    assert!(report.protected_headers);
    assert_eq!(report.subject.as_deref(), Some("発行"));
    assert_eq!(report.outer_subject.as_deref(), Some("..."));
    assert_eq!(f.process(&raw).verdict, Verdict::Accepted);
    assert_eq!(f.cert_count(), 1);
}

#[test]
fn outer_from_differing_from_the_protected_from_is_rejected() {
    for style in [Style::Hp, Style::V1] {
        let mut f = Fixture::new();
        // Signed by officer 1, the signed From names someone else; the outer
        // From was set to the signer's address to pass the address check.
        let raw = protected_mail(
            &f.o1,
            style,
            &[
                ("From", "someone@example.ac.jp".into()),
                ("Subject", "発行".into()),
            ],
            O1,
            "発行",
            &issue_tsv("www.example.ac.jp"),
        );
        let report = smime::verify(&raw, &f.env.trust, now());
        let failure = report.outcome.as_ref().unwrap_err();
        assert_eq!(failure.check, smime::Check::Address, "{style:?}");
        assert!(
            failure
                .reason
                .contains("differs from the signed (protected) From"),
            "{style:?}: {}",
            failure.reason
        );
        let o = f.process(&raw);
        assert_eq!(o.verdict, Verdict::Rejected, "{style:?}");
        assert_eq!(f.cert_count(), 0);
    }
}

#[test]
fn replies_carry_rfc9788_header_protection_and_verify() {
    let mut f = Fixture::new();
    let raw = f.mail(&f.o1, O1, "発行", &issue_tsv("www.example.ac.jp"));
    assert_eq!(f.process(&raw).verdict, Verdict::Accepted);
    let replies = f.replies();
    assert!(!replies.is_empty());
    for (path, text) in &replies {
        // openssl verifies the signature over the protected entity.
        let (ok, out) = openssl(&[
            "smime",
            "-verify",
            "-in",
            path.to_str().unwrap(),
            "-CAfile",
            f.path("pki/officer-ca.pem").to_str().unwrap(),
            "-out",
            "/dev/null",
        ]);
        assert!(ok, "{out}");
        // The structure Thunderbird reads: multipart/signed whose first part
        // is the signed entity, its Content-Type marked hp="clear", carrying
        // the same Subject, From, To, Date and Message-ID as the outer header.
        let msg = mail_parser::MessageParser::default()
            .parse(text.as_bytes())
            .unwrap();
        let outer_ct = msg.content_type().unwrap();
        assert_eq!(outer_ct.ctype(), "multipart");
        assert_eq!(outer_ct.subtype(), Some("signed"));
        let signed_part = &msg.parts[1];
        let inner = mail_parser::MessageParser::default()
            .parse(
                &text.as_bytes()[signed_part.raw_header_offset() as usize
                    ..signed_part.raw_end_offset() as usize],
            )
            .unwrap();
        assert_eq!(inner.content_type().unwrap().attribute("hp"), Some("clear"));
        assert_eq!(inner.subject(), msg.subject(), "{text}");
        assert_eq!(inner.message_id(), msg.message_id());
        assert_eq!(
            inner.from().unwrap().first().unwrap().address(),
            msg.from().unwrap().first().unwrap().address()
        );
        assert_eq!(
            inner.date().map(|d| d.to_timestamp()),
            msg.date().map(|d| d.to_timestamp())
        );
        // mailra itself reads the reply's protected Subject as the signed one.
        let report = smime::verify(text.as_bytes(), &f.env.trust, now());
        assert!(report.protected_headers, "{}", path.display());
        assert_eq!(report.subject.as_deref(), msg.subject());
    }
}
