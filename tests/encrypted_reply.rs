//! Replies carrying keys or PINs are encrypted to the officer: what the
//! officer's mail client does with them, checked with the openssl CLI — it
//! decrypts with the officer's key, the decrypted mail verifies against the
//! robot's CA, nobody else can decrypt, and the Subject stays readable
//! outside.

use std::path::Path;
use std::process::{Command, Output};

use mailra::kit::{self, pki};
use mailra::mail::compose::{self, Reply};
use mailra::mail::sign::Signer;

const OFFICER: &str = "officer@example.ac.jp";
const OTHER: &str = "someone-else@example.ac.jp";
const SECRET: &str = "ACCESS-PIN-kq7WzX4mRt9vPh2JcN8aYe";

struct Pki {
    robot_ca: mailra::ca::KeyPair,
    robot: Signer,
    officer: Signer,
    other: Signer,
}

fn pki() -> Pki {
    let now = time::OffsetDateTime::now_utc();
    let robot_ca = pki::make(&pki::Spec::root("robot CA", 1), None).unwrap();
    let officer_ca = pki::make(&pki::Spec::root("officer CA", 2), None).unwrap();
    Pki {
        robot: pki::officer(&robot_ca, kit::ROBOT, "mailra", now, 30).unwrap(),
        officer: pki::officer(&officer_ca, OFFICER, "officer", now, 30).unwrap(),
        other: pki::officer(&officer_ca, OTHER, "other", now, 30).unwrap(),
        robot_ca,
    }
}

fn reply() -> Reply {
    Reply {
        from: kit::ROBOT.into(),
        to: vec![OFFICER.into()],
        cc: vec![],
        subject: "アクセスPIN発行通知 / Access PINs".into(),
        body: "PIN一覧を添付します。\n".into(),
        attachments: vec![(
            "clientAllPin.txt".into(),
            "text/plain; charset=Shift_JIS".into(),
            format!("alice.p12\t0A\talice\t{SECRET}\r\n").into_bytes(),
        )],
        in_reply_to: Some("<orig@example.ac.jp>".into()),
        tags: vec![("Verdict".into(), "executed".into())],
    }
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p.display().to_string()
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap()
}

fn pem(s: &Signer) -> (Vec<u8>, Vec<u8>) {
    (
        s.cert.to_pem().unwrap(),
        s.key.private_key_to_pem_pkcs8().unwrap(),
    )
}

#[test]
fn an_encrypted_reply_decrypts_with_the_officers_key_and_verifies_against_the_robot_ca() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let composed = compose::compose_encrypted(
        &reply(),
        &p.robot,
        time::OffsetDateTime::now_utc(),
        std::slice::from_ref(&p.officer.cert),
    )
    .unwrap();
    let raw = composed.raw;
    let text = String::from_utf8(raw.clone()).unwrap();
    // Outside: the header fields, readable; the content, not.
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains("Subject: =?UTF-8?B?"),
        "the Subject stays outside: {head}"
    );
    assert!(head.contains(&format!("Message-ID: {}", composed.message_id)));
    assert!(head.contains("Auto-Submitted: auto-replied") && head.contains("X-Mailra-Verdict"));
    assert!(
        head.contains("Content-Type: application/pkcs7-mime; smime-type=enveloped-data"),
        "{head}"
    );
    assert!(!text.contains(SECRET) && !text.contains("clientAllPin"));
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(parsed.subject(), Some("アクセスPIN発行通知 / Access PINs"));

    let msg = write(dir.path(), "mail.eml", &raw);
    let (cert, key) = pem(&p.officer);
    let cert = write(dir.path(), "officer.pem", &cert);
    let key = write(dir.path(), "officer.key", &key);
    let out = write(dir.path(), "decrypted.eml", b"");
    let dec = openssl(&[
        "smime", "-decrypt", "-in", &msg, "-recip", &cert, "-inkey", &key, "-out", &out,
    ]);
    assert!(
        dec.status.success(),
        "{}",
        String::from_utf8_lossy(&dec.stderr)
    );
    let decrypted = std::fs::read_to_string(&out).unwrap();
    assert!(
        decrypted.starts_with("Content-Type: multipart/signed;"),
        "{decrypted}"
    );
    assert!(decrypted.contains("hp=\"cipher\""), "{decrypted}");
    assert!(decrypted.contains("HP-Outer: From: mailra@"), "{decrypted}");
    // `openssl cms` decrypts it alike.
    let cms = openssl(&[
        "cms", "-decrypt", "-in", &msg, "-recip", &cert, "-inkey", &key,
    ]);
    assert!(
        cms.status.success(),
        "{}",
        String::from_utf8_lossy(&cms.stderr)
    );
    assert_eq!(cms.stdout, std::fs::read(&out).unwrap());

    // Then the signature: good, by the robot, under the robot's CA.
    let ca = write(
        dir.path(),
        "robot-ca.pem",
        &p.robot_ca.cert.to_pem().unwrap(),
    );
    let content = write(dir.path(), "content.txt", b"");
    let ver = openssl(&[
        "smime", "-verify", "-in", &out, "-CAfile", &ca, "-purpose", "any", "-out", &content,
    ]);
    assert!(
        ver.status.success(),
        "{}",
        String::from_utf8_lossy(&ver.stderr)
    );
    let content = std::fs::read_to_string(&content).unwrap();
    assert!(content.contains("Subject: =?UTF-8?B?"), "{content}");
    assert!(content.contains("clientAllPin.txt"), "{content}");
    // Against another CA it does not verify.
    let wrong = write(
        dir.path(),
        "wrong-ca.pem",
        &p.officer.cert.to_pem().unwrap(),
    );
    let ver = openssl(&[
        "smime", "-verify", "-in", &out, "-CAfile", &wrong, "-purpose", "any",
    ]);
    assert!(!ver.status.success());
}

#[test]
fn a_key_that_is_not_a_recipients_cannot_decrypt() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let raw = compose::compose_encrypted(
        &reply(),
        &p.robot,
        time::OffsetDateTime::now_utc(),
        std::slice::from_ref(&p.officer.cert),
    )
    .unwrap()
    .raw;
    let msg = write(dir.path(), "mail.eml", &raw);
    let (cert, key) = pem(&p.other);
    let cert = write(dir.path(), "other.pem", &cert);
    let key = write(dir.path(), "other.key", &key);
    for cmd in ["smime", "cms"] {
        // With its certificate (no matching recipient info) and without
        // (every recipient info tried with this key).
        for with_cert in [true, false] {
            let mut args = vec![cmd, "-decrypt", "-in", &msg, "-inkey", &key];
            if with_cert {
                args.extend(["-recip", &cert]);
            }
            let dec = openssl(&args);
            let out = String::from_utf8_lossy(&dec.stdout);
            assert!(
                !dec.status.success() || !out.contains("clientAllPin"),
                "{cmd} with_cert={with_cert} decrypted: {out}"
            );
            assert!(!out.contains(SECRET));
        }
    }
}

#[test]
fn several_recipients_each_decrypt_and_an_unencrypted_reply_is_only_signed() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let raw = compose::compose_encrypted(
        &reply(),
        &p.robot,
        time::OffsetDateTime::now_utc(),
        &[p.officer.cert.clone(), p.other.cert.clone()],
    )
    .unwrap()
    .raw;
    let msg = write(dir.path(), "mail.eml", &raw);
    for who in [&p.officer, &p.other] {
        let (cert, key) = pem(who);
        let cert = write(dir.path(), "c.pem", &cert);
        let key = write(dir.path(), "k.pem", &key);
        let dec = openssl(&[
            "cms", "-decrypt", "-in", &msg, "-recip", &cert, "-inkey", &key,
        ]);
        assert!(
            dec.status.success(),
            "{}",
            String::from_utf8_lossy(&dec.stderr)
        );
        assert!(String::from_utf8_lossy(&dec.stdout).contains("multipart/signed"));
    }
    // No certificates: the reply as before, signed with hp="clear".
    let plain = compose::compose(&reply(), &p.robot, time::OffsetDateTime::now_utc())
        .unwrap()
        .raw;
    let text = String::from_utf8(plain).unwrap();
    assert!(text.contains("multipart/signed") && text.contains("hp=\"clear\""));
    assert!(!text.contains("enveloped-data") && !text.contains("HP-Outer"));
}
