//! S/MIME verification against Thunderbird's corpus, against mails signed by our own
//! signer with a generated PKI (each rule broken once), and our signed replies against
//! the real `openssl smime -verify`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use mailra::ca::KeyPair;
use mailra::intake::mime;
use mailra::intake::smime::{Check, Shape, Trust, verify};
use mailra::kit::mail::{altered, rfc2822};
use mailra::kit::pki::{Eku, Key, Spec, make, signer};
use mailra::mail::sign::{assemble, sign_detached, sign_opaque};
use openssl::sha::sha256;
use openssl::x509::{X509, X509Crl};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

// ----------------------------------------------------------------------------------------
// 1. Thunderbird corpus
// ----------------------------------------------------------------------------------------

fn tb_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/thunderbird-smime"
    ))
}

fn tb_trust() -> Trust {
    let pem = std::fs::read(tb_dir().join("TestCA.pem")).unwrap();
    Trust::new(vec![X509::from_pem(&pem).unwrap()])
}

#[test]
fn thunderbird_corpus_verdicts() {
    let now = datetime!(2023-11-21 21:00:00 UTC);
    let trust = tb_trust();
    let cases: &[(&str, Option<Check>)] = &[
        ("alice.dsig.SHA256.multipart.eml", None),
        ("alice.dsig.SHA512.multipart.eml", None),
        ("alice.sig.SHA256.opaque.eml", None),
        ("alice.sig.SHA512.opaque.eml", None),
        ("alice.dsig.SHA1.multipart.eml", Some(Check::Algorithms)),
        ("alice.dsig.SHA256.multipart.bad.eml", Some(Check::Digest)),
        (
            "alice.dsig.SHA256.multipart.mismatch-econtent.eml",
            Some(Check::Structure),
        ),
        (
            "alice.future.dsig.SHA256.multipart.eml",
            Some(Check::SigningTime),
        ),
        (
            "alice.plain.dsig.SHA256.multipart.dave.dsig.SHA256.multipart.eml",
            Some(Check::Structure),
        ),
        ("alice.env.eml", Some(Check::Structure)),
    ];
    for (file, expected) in cases {
        let raw = std::fs::read(tb_dir().join(file)).unwrap();
        let report = verify(&raw, &trust, now);
        match (expected, &report.outcome) {
            (None, Ok(v)) => {
                assert_eq!(v.signer_email, "alice@example.com", "{file}");
                assert!(v.signer_subject.contains("CN=Alice"), "{file}");
                assert!(
                    String::from_utf8_lossy(&v.content)
                        .contains("This is a test message from Alice to Bob."),
                    "{file}"
                );
            }
            (Some(check), Err(f)) => assert_eq!(f.check, *check, "{file}: {report}"),
            _ => panic!("{file}: expected {expected:?}, got\n{report}"),
        }
    }
}

#[test]
fn thunderbird_sha1_accepted_only_when_legacy_allowed() {
    let raw = std::fs::read(tb_dir().join("alice.dsig.SHA1.multipart.eml")).unwrap();
    let mut trust = tb_trust();
    trust.allow_legacy_digests = true;
    let report = verify(&raw, &trust, datetime!(2023-11-21 21:00:00 UTC));
    let v = report.outcome.as_ref().expect("legacy allowed");
    assert_eq!(v.digest_name, "SHA-1");
}

#[test]
fn thunderbird_opaque_and_detached_shapes() {
    let now = datetime!(2023-11-21 21:00:00 UTC);
    let cases = [
        (
            "alice.dsig.SHA256.multipart.eml",
            Shape::Detached,
            "SHA-256",
        ),
        ("alice.sig.SHA512.opaque.eml", Shape::Opaque, "SHA-512"),
    ];
    for (file, shape, digest) in cases {
        let raw = std::fs::read(tb_dir().join(file)).unwrap();
        let v = verify(&raw, &tb_trust(), now).outcome.unwrap();
        assert_eq!((v.shape, v.digest_name), (shape, digest), "{file}");
    }
}

#[test]
fn thunderbird_outside_validity_or_untrusted() {
    let raw = std::fs::read(tb_dir().join("alice.dsig.SHA256.multipart.eml")).unwrap();
    // Chain to an unrelated CA only.
    let other = Trust::new(vec![pki().other_ca.cert.clone()]);
    let f = verify(&raw, &other, datetime!(2023-11-21 21:00:00 UTC))
        .outcome
        .unwrap_err();
    assert_eq!(f.check, Check::Chain);
    // Alice's certificate has expired by 2029; the signature is also too old by then.
    let f = verify(&raw, &tb_trust(), datetime!(2029-01-01 00:00:00 UTC))
        .outcome
        .unwrap_err();
    assert_eq!(f.check, Check::Chain);
}

// ----------------------------------------------------------------------------------------
// 2. Generated PKI
// ----------------------------------------------------------------------------------------

struct Pki {
    ca: KeyPair,
    other_ca: KeyPair,
    officer: KeyPair,
    foreign_officer: KeyPair,
    robot: KeyPair,
    ca_flagged: KeyPair,
    expired: KeyPair,
    revoked: KeyPair,
    server_eku: KeyPair,
    ec_officer: KeyPair,
    weak_rsa: KeyPair,
    /// PEM (X509Crl is not Clone).
    crl: Option<Vec<u8>>,
}

const OFFICER: &str = "Officer@Univ.example.ac.jp";
const ROBOT: &str = "robot@ra.example.jp";

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let ca = test_ca("mailra test officer CA", 1);
        let other_ca = test_ca("unrelated CA", 2);
        let officer = make(&Spec::officer("officer", OFFICER, 10), Some(&ca)).unwrap();
        let foreign_officer =
            make(&Spec::officer("officer", OFFICER, 10), Some(&other_ca)).unwrap();
        let robot = make(&Spec::officer("robot", ROBOT, 12), Some(&ca)).unwrap();
        let ca_flagged = make(
            &Spec {
                ca: true,
                eku: None,
                ..Spec::officer("sub CA", "subca@univ.example.ac.jp", 13)
            },
            Some(&ca),
        )
        .unwrap();
        let expired = make(
            &Spec {
                from_days: -400,
                to_days: -30,
                ..Spec::officer("expired", "old@univ.example.ac.jp", 14)
            },
            Some(&ca),
        )
        .unwrap();
        let revoked = make(
            &Spec::officer("revoked", "revoked@univ.example.ac.jp", 11),
            Some(&ca),
        )
        .unwrap();
        let server_eku = make(
            &Spec {
                eku: Some(Eku::ServerAuth),
                ..Spec::officer("server", "server@univ.example.ac.jp", 15)
            },
            Some(&ca),
        )
        .unwrap();
        let ec_officer = make(
            &Spec {
                key: Key::P256,
                ..Spec::officer("ec", "ec@univ.example.ac.jp", 16)
            },
            Some(&ca),
        )
        .unwrap();
        let weak_rsa = make(
            &Spec {
                key: Key::Rsa(1024),
                ..Spec::officer("weak", "weak@univ.example.ac.jp", 17)
            },
            Some(&ca),
        )
        .unwrap();
        let crl = gen_crl(&ca, 11);
        Pki {
            ca,
            other_ca,
            officer,
            foreign_officer,
            robot,
            ca_flagged,
            expired,
            revoked,
            server_eku,
            ec_officer,
            weak_rsa,
            crl,
        }
    })
}

fn test_ca(cn: &str, serial: u32) -> KeyPair {
    make(&Spec::root(cn, serial), None).unwrap()
}

/// The openssl crate cannot build CRLs: use `openssl ca -gencrl`. None if the CLI fails.
fn gen_crl(ca: &KeyPair, revoked_serial: u32) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ca.pem"), ca.cert.to_pem().unwrap()).unwrap();
    std::fs::write(d.join("ca.key"), ca.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let fmt = time::macros::format_description!(
        "[year repr:last_two][month][day][hour][minute][second]Z"
    );
    let now = OffsetDateTime::now_utc();
    std::fs::write(
        d.join("index.txt"),
        format!(
            "R\t{}\t{}\t{:02X}\tunknown\t/CN=revoked\n",
            (now + Duration::days(365)).format(&fmt).unwrap(),
            (now - Duration::days(1)).format(&fmt).unwrap(),
            revoked_serial
        ),
    )
    .unwrap();
    std::fs::write(d.join("crlnumber"), "01\n").unwrap();
    std::fs::write(
        d.join("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = CA_default\n[CA_default]\ndatabase = {0}/index.txt\n\
             crlnumber = {0}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n",
            d.display()
        ),
    )
    .unwrap();
    let out = Command::new("openssl")
        .args(["ca", "-gencrl", "-batch", "-config"])
        .arg(d.join("ca.cnf"))
        .arg("-cert")
        .arg(d.join("ca.pem"))
        .arg("-keyfile")
        .arg(d.join("ca.key"))
        .arg("-out")
        .arg(d.join("crl.pem"))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "openssl ca -gencrl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    std::fs::read(d.join("crl.pem")).ok()
}

fn trust() -> Trust {
    let p = pki();
    let mut t = Trust::new(vec![p.ca.cert.clone()]);
    t.robot_cert = Some(p.robot.cert.clone());
    t.officer_crls = p
        .crl
        .iter()
        .map(|pem| X509Crl::from_pem(pem).unwrap())
        .collect();
    t
}

const TSV: &[u8] = b"\x83e\x83X\x83g\tserver.example.ac.jp\r\n";

fn entity() -> Vec<u8> {
    use base64::Engine as _;
    format!(
        "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nPlease issue.\r\n--inner\r\n\
         Content-Type: text/tab-separated-values; charset=Shift_JIS\r\n\
         Content-Disposition: attachment; filename=\"apply.tsv\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--inner--\r\n",
        base64::engine::general_purpose::STANDARD.encode(TSV)
    )
    .into_bytes()
}

fn headers(from: &str, date: OffsetDateTime) -> Vec<(&'static str, String)> {
    vec![
        ("From", from.to_string()),
        ("To", ROBOT.to_string()),
        ("Subject", "サーバ証明書 申請".to_string()),
        ("Date", rfc2822(date)),
        ("Message-ID", "<t1@univ.example.ac.jp>".to_string()),
    ]
}

fn detached_mail(who: &KeyPair, from: &str, date: OffsetDateTime) -> Vec<u8> {
    let s = sign_detached(&entity(), &signer(who, &pki().ca)).unwrap();
    assemble(&headers(from, date), &s)
}

fn good() -> Vec<u8> {
    detached_mail(&pki().officer, OFFICER, OffsetDateTime::now_utc())
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    altered(hay, from, to).expect("pattern present")
}

fn wrap_mixed(first: &[u8], from: &str) -> Vec<u8> {
    let body = [
        b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\n".as_slice(),
        first,
        b"\r\n--outer\r\nContent-Type: text/plain\r\n\
          Content-Disposition: attachment; filename=\"extra.tsv\"\r\n\r\nrow\r\n--outer--\r\n",
    ]
    .concat();
    assemble(&headers(from, OffsetDateTime::now_utc()), &body)
}

#[test]
fn own_signatures_verify() {
    let p = pki();
    let now = OffsetDateTime::now_utc();
    let e = entity();
    let opaque = assemble(
        &headers(OFFICER, now),
        &sign_opaque(&e, &signer(&p.officer, &p.ca)).unwrap(),
    );
    let lf_only: Vec<u8> = replace_all_crlf(&good());
    let cases = [
        ("detached", good(), Shape::Detached),
        ("opaque", opaque, Shape::Opaque),
        ("LF-only detached", lf_only, Shape::Detached),
    ];
    for (name, raw, shape) in cases {
        let report = verify(&raw, &trust(), OffsetDateTime::now_utc());
        let v = report
            .outcome
            .as_ref()
            .unwrap_or_else(|f| panic!("{name}: {f}\n{report}"));
        assert_eq!(v.signer_email, OFFICER.to_ascii_lowercase(), "{name}");
        assert_eq!(v.shape, shape, "{name}");
        assert_eq!(v.content, e, "{name}");
        assert_eq!(v.content_sha256, hex::encode(sha256(&e)), "{name}");
        assert_eq!(v.digest_name, "SHA-256", "{name}");
        assert_eq!(report.from.as_deref(), Some("officer@univ.example.ac.jp"));
        assert_eq!(report.subject.as_deref(), Some("サーバ証明書 申請"));
        // Every check ran and passed.
        assert_eq!(report.checks.len(), 11, "{name}\n{report}");
        assert!(report.checks.iter().all(|c| c.ok));
        // And the signed content carries the TSV byte for byte.
        let body = mime::extract(&v.content).unwrap();
        assert_eq!(body.text.trim_end(), "Please issue.");
        assert_eq!(body.attachments.len(), 1);
        assert_eq!(body.attachments[0].filename, "apply.tsv");
        assert_eq!(body.attachments[0].data, TSV);
    }
    if p.crl.is_some() {
        let report = verify(&good(), &trust(), OffsetDateTime::now_utc());
        assert!(report.to_string().contains("not revoked"), "{report}");
    }
}

fn replace_all_crlf(raw: &[u8]) -> Vec<u8> {
    String::from_utf8(raw.to_vec())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes()
}

#[test]
fn broken_rules_fail_at_the_right_check() {
    let p = pki();
    let now = OffsetDateTime::now_utc();
    let good = good();
    let inner_signed = sign_detached(&entity(), &signer(&p.officer, &p.ca)).unwrap();
    let nested = assemble(
        &headers(OFFICER, now),
        &sign_detached(&inner_signed, &signer(&p.officer, &p.ca)).unwrap(),
    );
    let unsigned = assemble(&headers(OFFICER, now), &entity());
    let rfc822_attached = assemble(
        &headers(OFFICER, now),
        &[
            b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\n\
              Content-Type: text/plain\r\n\r\nsee attached\r\n--outer\r\n\
              Content-Type: message/rfc822\r\n\r\n"
                .as_slice(),
            &good,
            b"\r\n--outer--\r\n",
        ]
        .concat(),
    );
    let rfc822_top = assemble(
        &headers(OFFICER, now),
        &[b"Content-Type: message/rfc822\r\n\r\n".as_slice(), &good].concat(),
    );
    let mut dup_from = headers(OFFICER, now);
    dup_from.push(("From", OFFICER.to_string()));
    let dup_from = assemble(
        &dup_from,
        &sign_detached(&entity(), &signer(&p.officer, &p.ca)).unwrap(),
    );
    let mut sender = headers(OFFICER, now);
    sender.push(("Sender", "someone@else.example".to_string()));
    let sender = assemble(
        &sender,
        &sign_detached(&entity(), &signer(&p.officer, &p.ca)).unwrap(),
    );
    let two_from = replace(
        &good,
        format!("From: {OFFICER}").as_bytes(),
        format!("From: {OFFICER}, other@univ.example.ac.jp").as_bytes(),
    );
    let three_parts = {
        let text = String::from_utf8(good.clone()).unwrap();
        let b = text
            .split("boundary=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let end = format!("--{b}--\r\n");
        assert!(text.ends_with(&end));
        let extra = format!("--{b}\r\nContent-Type: text/plain\r\n\r\nextra\r\n{end}");
        text.replace(&end, &extra).into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, OffsetDateTime, Check)> = vec![
        (
            "tampered after signing",
            replace(&good, b"Please issue.", b"Please issuf."),
            now,
            Check::Digest,
        ),
        (
            "signed by another CA",
            detached_mail(&p.foreign_officer, OFFICER, now),
            now,
            Check::Chain,
        ),
        (
            "From is not the signer",
            detached_mail(&p.officer, "other@univ.example.ac.jp", now),
            now,
            Check::Address,
        ),
        ("unsigned", unsigned, now, Check::Structure),
        (
            "signed part beside an unsigned attachment",
            wrap_mixed(
                &sign_detached(&entity(), &signer(&p.officer, &p.ca)).unwrap(),
                OFFICER,
            ),
            now,
            Check::Structure,
        ),
        (
            "signed mail attached as message/rfc822",
            rfc822_attached,
            now,
            Check::Structure,
        ),
        (
            "signed mail as top-level message/rfc822",
            rfc822_top,
            now,
            Check::Structure,
        ),
        ("signature inside signature", nested, now, Check::Structure),
        ("duplicate From", dup_from, now, Check::Envelope),
        ("two From addresses", two_from, now, Check::Envelope),
        ("Sender differs from From", sender, now, Check::Envelope),
        (
            "three parts in multipart/signed",
            three_parts,
            now,
            Check::Structure,
        ),
        (
            "signing time older than max_age",
            good.clone(),
            now + Duration::days(15),
            Check::SigningTime,
        ),
        (
            "Date header 2 h from signing time",
            detached_mail(&p.officer, OFFICER, now - Duration::hours(2)),
            now,
            Check::SigningTime,
        ),
        (
            "signing time in the future",
            good.clone(),
            now - Duration::minutes(30),
            Check::SigningTime,
        ),
        (
            "signed with the robot's certificate",
            detached_mail(&p.robot, ROBOT, now),
            now,
            Check::SignerCertificate,
        ),
        (
            "signer is a CA certificate",
            detached_mail(&p.ca_flagged, "subca@univ.example.ac.jp", now),
            now,
            Check::SignerCertificate,
        ),
        (
            "signer certificate without emailProtection",
            detached_mail(&p.server_eku, "server@univ.example.ac.jp", now),
            now,
            Check::SignerCertificate,
        ),
        (
            "expired signer certificate",
            detached_mail(&p.expired, "old@univ.example.ac.jp", now),
            now,
            Check::Chain,
        ),
    ];
    for (name, raw, at, expected) in cases {
        let report = verify(&raw, &trust(), at);
        match &report.outcome {
            Err(f) => assert_eq!(f.check, expected, "{name}: {f}\n{report}"),
            Ok(_) => panic!("{name}: verified but must fail at {expected}\n{report}"),
        }
        let text = report.to_string();
        assert!(text.contains("FAIL"), "{name}: {text}");
        // Never quote the content back.
        assert!(!text.contains("Please issue"), "{name}: {text}");
    }
}

#[test]
fn mixed_failure_names_the_parts_outside() {
    let p = pki();
    let raw = wrap_mixed(
        &sign_detached(&entity(), &signer(&p.officer, &p.ca)).unwrap(),
        OFFICER,
    );
    let f = verify(&raw, &trust(), OffsetDateTime::now_utc())
        .outcome
        .unwrap_err();
    assert!(f.reason.contains("extra.tsv"), "{}", f.reason);
}

#[test]
fn revoked_signer_fails_at_revocation() {
    let p = pki();
    let Some(_) = &p.crl else {
        eprintln!("skipped: `openssl ca -gencrl` unavailable");
        return;
    };
    let now = OffsetDateTime::now_utc();
    let raw = detached_mail(&p.revoked, "revoked@univ.example.ac.jp", now);
    let f = verify(&raw, &trust(), now).outcome.unwrap_err();
    assert_eq!(f.check, Check::Revocation, "{f}");
    // Without the CRL the same mail verifies.
    let mut t = trust();
    t.officer_crls.clear();
    assert!(verify(&raw, &t, now).outcome.is_ok());
    // A CRL signed by another CA is not trusted.
    let foreign = gen_crl(&p.other_ca, 11).expect("crl");
    let mut t = trust();
    t.officer_crls = vec![X509Crl::from_pem(&foreign).unwrap()];
    assert!(
        verify(&raw, &t, now).outcome.is_ok(),
        "foreign CRL must be ignored"
    );
}

// ----------------------------------------------------------------------------------------
// 3. Our replies verify with the real openssl CLI
// ----------------------------------------------------------------------------------------

#[test]
fn reply_verifies_with_openssl_cli() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, p.ca.cert.to_pem().unwrap()).unwrap();
    let entity = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
                  サーバ証明書を発行しました。\r\nThe certificate was issued.\r\n";
    let signed = sign_detached(entity.as_bytes(), &signer(&p.robot, &p.ca)).unwrap();
    let reply = assemble(
        &[
            ("From", ROBOT.to_string()),
            ("To", OFFICER.to_string()),
            ("Subject", "サーバ証明書発行受付通知".to_string()),
            ("Date", rfc2822(OffsetDateTime::now_utc())),
            ("Message-ID", "<r1@ra.example.jp>".to_string()),
        ],
        &signed,
    );
    let eml = dir.path().join("reply.eml");
    std::fs::write(&eml, &reply).unwrap();
    for args in [
        vec!["smime", "-verify", "-in"],
        vec!["cms", "-verify", "-in"],
    ] {
        let out = Command::new("openssl")
            .args(&args)
            .arg(&eml)
            .arg("-CAfile")
            .arg(&ca_pem)
            .output()
            .expect("openssl CLI");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("The certificate was issued."));
    }
    // And mailra accepts it too when the robot is not the configured robot.
    let t = Trust::new(vec![p.ca.cert.clone()]);
    let v = verify(&reply, &t, OffsetDateTime::now_utc())
        .outcome
        .unwrap();
    assert_eq!(v.signer_email, ROBOT);
    // The opaque form as well.
    let opaque = assemble(
        &[
            ("From", ROBOT.to_string()),
            ("Date", rfc2822(OffsetDateTime::now_utc())),
        ],
        &sign_opaque(entity.as_bytes(), &signer(&p.robot, &p.ca)).unwrap(),
    );
    std::fs::write(&eml, &opaque).unwrap();
    let st = Command::new("openssl")
        .args(["smime", "-verify", "-in"])
        .arg(&eml)
        .arg("-CAfile")
        .arg(&ca_pem)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

// ----------------------------------------------------------------------------------------
// Algorithms, CMS-level tampering, robustness
// ----------------------------------------------------------------------------------------

#[test]
fn key_algorithms() {
    let p = pki();
    let now = OffsetDateTime::now_utc();
    let ok = verify(
        &detached_mail(&p.ec_officer, "ec@univ.example.ac.jp", now),
        &trust(),
        now,
    );
    assert!(ok.outcome.is_ok(), "ECDSA P-256 must verify:\n{ok}");
    let weak = verify(
        &detached_mail(&p.weak_rsa, "weak@univ.example.ac.jp", now),
        &trust(),
        now,
    );
    let f = weak.outcome.unwrap_err();
    assert_eq!(f.check, Check::Algorithms);
    assert!(f.reason.contains("1024"), "{}", f.reason);
}

/// Decodes the p7s of one of our detached mails, lets `f` change it, and puts it back.
fn mutate_p7s(mail: &[u8], f: impl FnOnce(&mut cms::signed_data::SignedData)) -> Vec<u8> {
    use base64::Engine as _;
    use der::{Decode, Encode};
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = String::from_utf8(mail.to_vec()).unwrap();
    let start_marker = "Content-Description: S/MIME Cryptographic Signature\r\n\r\n";
    let start = text.find(start_marker).unwrap() + start_marker.len();
    let end = start + text[start..].find("--").unwrap();
    let der = b64.decode(text[start..end].replace("\r\n", "")).unwrap();
    let mut ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
    let mut sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    f(&mut sd);
    ci.content = der::Any::encode_from(&sd).unwrap();
    let new_b64 = b64.encode(ci.to_der().unwrap());
    let mut lines = String::new();
    for chunk in new_b64.as_bytes().chunks(76) {
        lines.push_str(std::str::from_utf8(chunk).unwrap());
        lines.push_str("\r\n");
    }
    format!("{}{}{}", &text[..start], lines, &text[end..]).into_bytes()
}

fn edit_attrs(
    sd: &mut cms::signed_data::SignedData,
    f: impl FnOnce(&mut Vec<x509_cert::attr::Attribute>),
) {
    let mut sis = std::mem::take(&mut sd.signer_infos.0).into_vec();
    let mut attrs = sis[0].signed_attrs.take().unwrap().into_vec();
    f(&mut attrs);
    sis[0].signed_attrs = Some(der::asn1::SetOfVec::try_from(attrs).unwrap());
    sd.signer_infos.0 = der::asn1::SetOfVec::try_from(sis).unwrap();
}

#[test]
fn cms_level_tampering() {
    use der::asn1::ObjectIdentifier as Oid;
    let good = good();
    let signing_time = Oid::new_unwrap("1.2.840.113549.1.9.5");
    let content_type = Oid::new_unwrap("1.2.840.113549.1.9.3");
    let md5 = Oid::new_unwrap("1.2.840.113549.2.5");
    type Mutation = Box<dyn FnOnce(&mut cms::signed_data::SignedData)>;
    // Check::Envelope marks the cases that must still verify.
    let cases: Vec<(&str, Mutation, Check)> = vec![
        ("untouched re-encoding", Box::new(|_| {}), Check::Envelope),
        (
            "signer identified by subjectKeyIdentifier",
            Box::new(|sd| {
                let ski = pki()
                    .officer
                    .cert
                    .subject_key_id()
                    .unwrap()
                    .as_slice()
                    .to_vec();
                let mut sis = std::mem::take(&mut sd.signer_infos.0).into_vec();
                sis[0].sid = cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(
                    x509_cert::ext::pkix::SubjectKeyIdentifier(
                        der::asn1::OctetString::new(ski).unwrap(),
                    ),
                );
                sd.signer_infos.0 = der::asn1::SetOfVec::try_from(sis).unwrap();
            }),
            Check::Envelope,
        ),
        (
            "no signing time",
            Box::new(move |sd| edit_attrs(sd, |a| a.retain(|x| x.oid != signing_time))),
            Check::SignedAttributes,
        ),
        (
            "content-type attribute differs from eContentType",
            Box::new(move |sd| {
                edit_attrs(sd, |a| {
                    for x in a.iter_mut().filter(|x| x.oid == content_type) {
                        let v = der::Any::encode_from(&Oid::new_unwrap("1.2.840.113549.1.7.2"))
                            .unwrap();
                        x.values = der::asn1::SetOfVec::try_from(vec![v]).unwrap();
                    }
                })
            }),
            Check::SignedAttributes,
        ),
        (
            "no signed attributes",
            Box::new(|sd| {
                let mut sis = std::mem::take(&mut sd.signer_infos.0).into_vec();
                sis[0].signed_attrs = None;
                sd.signer_infos.0 = der::asn1::SetOfVec::try_from(sis).unwrap();
            }),
            Check::SignedAttributes,
        ),
        (
            "MD5 digest",
            Box::new(move |sd| {
                let mut sis = std::mem::take(&mut sd.signer_infos.0).into_vec();
                sis[0].digest_alg.oid = md5;
                sd.signer_infos.0 = der::asn1::SetOfVec::try_from(sis).unwrap();
            }),
            Check::Algorithms,
        ),
        (
            "signature bytes changed",
            Box::new(|sd| {
                let mut sis = std::mem::take(&mut sd.signer_infos.0).into_vec();
                let mut sig = sis[0].signature.as_bytes().to_vec();
                sig[10] ^= 1;
                sis[0].signature = der::asn1::OctetString::new(sig).unwrap();
                sd.signer_infos.0 = der::asn1::SetOfVec::try_from(sis).unwrap();
            }),
            Check::Signature,
        ),
        (
            "two signer infos",
            Box::new(|sd| {
                let mut sis = std::mem::take(&mut sd.signer_infos.0).into_vec();
                let mut second = sis[0].clone();
                let mut sig = second.signature.as_bytes().to_vec();
                sig[0] ^= 1;
                second.signature = der::asn1::OctetString::new(sig).unwrap();
                sis.push(second);
                sd.signer_infos.0 = der::asn1::SetOfVec::try_from(sis).unwrap();
            }),
            Check::Structure,
        ),
        (
            "p7s carries eContent",
            Box::new(|sd| {
                sd.encap_content_info.econtent = Some(
                    der::Any::encode_from(&der::asn1::OctetString::new(b"other".to_vec()).unwrap())
                        .unwrap(),
                );
            }),
            Check::Structure,
        ),
        (
            "signer certificate removed",
            Box::new(|sd| sd.certificates = None),
            Check::Structure,
        ),
    ];
    for (name, mutation, expected) in cases {
        let raw = mutate_p7s(&good, mutation);
        let report = verify(&raw, &trust(), OffsetDateTime::now_utc());
        match (&report.outcome, expected) {
            // The control case: our re-encoding alone must not break anything.
            (Ok(_), Check::Envelope) => {}
            (Err(f), e) if e != Check::Envelope => {
                assert_eq!(f.check, e, "{name}: {f}\n{report}")
            }
            _ => panic!("{name}: expected {expected}, got\n{report}"),
        }
    }
}

#[test]
fn truncated_and_garbled_mails_never_verify_nor_panic() {
    let good = good();
    let trust = trust();
    let now = OffsetDateTime::now_utc();
    for cut in (0..good.len()).step_by(37) {
        let r = verify(&good[..cut], &trust, now);
        assert!(r.outcome.is_err(), "cut at {cut} verified");
    }
    // Every byte of the signed entity matters.
    let start = good
        .windows(b"Content-Type: multipart/mixed".len())
        .position(|w| w == b"Content-Type: multipart/mixed")
        .unwrap();
    let len = entity().len();
    for i in (start..start + len).step_by(7) {
        let mut garbled = good.clone();
        garbled[i] = garbled[i].wrapping_add(1);
        assert!(
            verify(&garbled, &trust, now).outcome.is_err(),
            "garbled at {i}"
        );
    }
}
