//! Client and S/MIME certificates end to end (issue 9): signed 5-4-1/2/3
//! mails processed by the robot, and what the people get — checked with
//! the openssl CLI and crate: the PKCS#12 opens with the PIN from the
//! *other* mail, holds the key of a certificate that chains to the issuing
//! CA with the profile's EKU, SAN and validity; a P12 and its PIN never share
//! a mail; the officer's PIN list is encrypted to the officer; the bundle has
//! one P12 per row and a matching `client.txt`; a revocation reaches the CRL;
//! the outbox keeps no P12 or PIN once sent.

mod support;

use mail_parser::{MessageParser, MimeHeaders};
use mailra::kit::forms::{
    ClientLine, client_dn, client_issue_line, client_renew_line, client_revoke_line,
};
use mailra::model::{CertStatus, P12Encryption};
use mailra::ra::Verdict;
use mailra::store;
use openssl::pkcs12::Pkcs12;
use support::*;

const ADMIN: &str = "admin@example.ac.jp";
const ADMIN2: &str = "lab-admin@example.ac.jp";

/// A reply as its recipient reads it (decrypted with the officer's key when
/// it came encrypted).
#[derive(Debug)]
struct Got {
    to: String,
    subject: String,
    text: String,
    encrypted: bool,
    /// Whether the signature verifies against the robot's CA.
    verified: bool,
    files: Vec<(String, Vec<u8>)>,
    raw: Vec<u8>,
}

fn fixture() -> Fixture {
    Fixture::new()
}

fn pem_files(f: &Fixture, signer: &mailra::mail::sign::Signer, stem: &str) -> (String, String) {
    (
        write(
            f.dir.path(),
            &format!("{stem}.crt"),
            &signer.cert.to_pem().unwrap(),
        ),
        write(
            f.dir.path(),
            &format!("{stem}.key"),
            &signer.key.private_key_to_pem_pkcs8().unwrap(),
        ),
    )
}

/// Every reply queued, read as its recipient would.
fn received(f: &Fixture) -> Vec<Got> {
    let (cert, key) = pem_files(f, &f.o1, "officer1");
    f.replies()
        .into_iter()
        .map(|(path, raw)| {
            let outer = MessageParser::default().parse(raw.as_bytes()).unwrap();
            let to = outer
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            let subject = outer.subject().unwrap_or_default().to_string();
            let encrypted = raw.contains("smime-type=enveloped-data");
            let inner = if encrypted {
                let out = f.path("decrypted.eml");
                let (ok, err) = openssl(&[
                    "cms",
                    "-decrypt",
                    "-in",
                    path.to_str().unwrap(),
                    "-recip",
                    &cert,
                    "-inkey",
                    &key,
                    "-out",
                    out.to_str().unwrap(),
                ]);
                assert!(ok, "{subject}: the officer cannot decrypt it: {err}");
                std::fs::read(&out).unwrap()
            } else {
                raw.clone().into_bytes()
            };
            let verified = verifies(f, &inner);
            let msg = MessageParser::default().parse(&inner).unwrap();
            let text = msg.body_text(0).unwrap_or_default().into_owned();
            let files = msg
                .attachments()
                .filter_map(|a| Some((a.attachment_name()?.to_string(), a.contents().to_vec())))
                .filter(|(n, _)| !n.ends_with(".p7s"))
                .collect();
            Got {
                to,
                subject,
                text,
                encrypted,
                verified,
                files,
                raw: inner,
            }
        })
        .collect()
}

/// The value after `label` on its line.
fn field<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(str::trim)
}

/// Opens a P12 with the openssl CLI (no `-legacy`) and the crate; returns
/// the certificate's PEM text dump.
fn open_p12(f: &Fixture, name: &str, der: &[u8], pin: &str) -> String {
    let p = write(f.dir.path(), name, der);
    let out = f.path(&format!("{name}.pem"));
    let (ok, err) = openssl(&[
        "pkcs12",
        "-in",
        &p,
        "-passin",
        &format!("pass:{pin}"),
        "-nodes",
        "-out",
        out.to_str().unwrap(),
    ]);
    assert!(
        ok,
        "{name}: the openssl CLI cannot open it with its PIN: {err}"
    );
    let parsed = Pkcs12::from_der(der).unwrap().parse2(pin).unwrap();
    let (key, cert) = (parsed.pkey.unwrap(), parsed.cert.unwrap());
    assert!(
        cert.public_key().unwrap().public_eq(&key),
        "{name}: key does not match"
    );
    assert_eq!(
        parsed.ca.map(|c| c.len()),
        Some(1),
        "{name}: the chain is missing"
    );
    assert!(Pkcs12::from_der(der).unwrap().parse2("wrong-pin").is_err());
    let (ok, verify) = openssl(&[
        "verify",
        "-CAfile",
        f.path("pki/ca.pem").to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{name}: does not chain to the issuing CA: {verify}");
    let (_, text) = openssl(&["x509", "-in", out.to_str().unwrap(), "-noout", "-text"]);
    text
}

/// Every file of a ZIP, read back.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut data).unwrap();
            (f.name().unwrap().to_string(), data)
        })
        .collect()
}

fn months_between(f: &Fixture, serial: &str) -> i64 {
    let c = store::certificate(
        &f.env.conn,
        &mailra::model::Serial::from_hex(serial).unwrap(),
    )
    .unwrap()
    .unwrap();
    let (a, b) = (c.not_before.date(), c.not_after.date());
    (b.year() as i64 - a.year() as i64) * 12 + (b.month() as i64 - a.month() as i64)
}

fn line(dn_cn: &str, l: ClientLine<'_>) -> String {
    client_issue_line(
        &client_dn(dn_cn, &["Faculty of Science"], EX, "Chiyoda-ku", "Tokyo"),
        &l,
    )
}

#[test]
fn method_1_delivers_each_p12_and_its_pin_in_separate_mails_that_open() {
    let mut f = fixture();
    let client = line(
        "Hanako Suzuki",
        ClientLine {
            profile: 13,
            method: 1,
            admin_mail: ADMIN,
            user_name: "鈴木 花子",
            p12_name: "hanako",
            user_mail: "hanako@example.ac.jp",
            ..Default::default()
        },
    );
    let smime = line(
        "taro@example.ac.jp",
        ClientLine {
            profile: 16,
            method: 1,
            admin_mail: ADMIN,
            user_name: "山田 太郎",
            user_mail: "taro@example.ac.jp",
            ..Default::default()
        },
    );
    let legacy = line(
        "jiro@example.ac.jp",
        ClientLine {
            profile: 7,
            method: 1,
            admin_mail: ADMIN,
            p12_name: "jiro-smime",
            user_mail: "jiro@example.ac.jp",
            ..Default::default()
        },
    );
    let o = f.process(&f.mail(
        &f.o1,
        O1,
        "クライアント証明書発行",
        &format!("{client}\n{smime}\n{legacy}\n"),
    ));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.issued.len(), 3);
    let got = received(&f);
    // The officer's result, and per row one P12 mail and one PIN mail.
    assert_eq!(
        got.len(),
        7,
        "{:#?}",
        got.iter().map(|g| &g.subject).collect::<Vec<_>>()
    );
    assert!(
        got.iter().all(|g| g.verified),
        "every reply is signed by the robot"
    );
    for (serial, p12_name, eku, months) in [
        (
            &o.issued[0],
            "hanako.p12",
            "TLS Web Client Authentication",
            13,
        ),
        (
            &o.issued[1],
            "taro@example.ac.jp.p12",
            "E-mail Protection",
            25,
        ),
        // Profile 7: 823 days, checked below.
        (&o.issued[2], "jiro-smime.p12", "E-mail Protection", 0),
    ] {
        let p12_mail: Vec<&Got> = got
            .iter()
            .filter(|g| g.files.iter().any(|(n, _)| n == p12_name))
            .collect();
        assert_eq!(p12_mail.len(), 1, "{p12_name}: one mail carries it");
        let p12_mail = p12_mail[0];
        assert_eq!(p12_mail.to, ADMIN);
        assert!(
            p12_mail.subject.contains("クライアント証明書発行受付通知"),
            "{}",
            p12_mail.subject
        );
        let pin_mail = got
            .iter()
            .find(|g| g.subject.contains("アクセスPIN発行通知") && g.text.contains(p12_name))
            .unwrap_or_else(|| panic!("{p12_name}: no PIN mail"));
        assert_eq!(pin_mail.to, ADMIN);
        assert!(pin_mail.files.is_empty(), "the PIN mail carries no file");
        let pin = field(&pin_mail.text, "Access PIN:").unwrap();
        assert!(pin.len() >= 22, "a generated PIN has 22+ characters: {pin}");
        assert!(
            !p12_mail.text.contains(pin),
            "the PIN is not in the P12 mail"
        );
        assert!(
            !String::from_utf8_lossy(&p12_mail.raw).contains(pin),
            "nor anywhere in it"
        );
        assert!(
            p12_mail.text.contains("3DES"),
            "the notice says the encryption used"
        );
        let der = &p12_mail
            .files
            .iter()
            .find(|(n, _)| n == p12_name)
            .unwrap()
            .1;
        let text = open_p12(&f, p12_name, der, pin);
        assert!(text.contains(eku), "{p12_name}: EKU {eku}:\n{text}");
        if months > 0 {
            assert_eq!(
                months_between(&f, serial.trim_start_matches("0x")),
                months,
                "{p12_name}"
            );
        } else {
            let c = store::certificate(
                &f.env.conn,
                &mailra::model::Serial::from_hex(serial.trim_start_matches("0x")).unwrap(),
            )
            .unwrap()
            .unwrap();
            // RFC 5280 counts both ends: notAfter = notBefore + 823 days - 1 s.
            assert_eq!(
                c.not_after - c.not_before,
                time::Duration::days(823) - time::Duration::seconds(1)
            );
        }
    }
    // The S/MIME certificate: the user's address in the SAN and as the CN,
    // the institution's organizationIdentifier in the subject.
    let smime_mail = got
        .iter()
        .find(|g| g.files.iter().any(|(n, _)| n == "taro@example.ac.jp.p12"))
        .unwrap();
    let pin_mail = got
        .iter()
        .find(|g| g.subject.contains("アクセスPIN") && g.text.contains("taro@example.ac.jp.p12"))
        .unwrap();
    let text = open_p12(
        &f,
        "smime.p12",
        &smime_mail.files[0].1,
        field(&pin_mail.text, "Access PIN:").unwrap(),
    );
    assert!(text.contains("email:taro@example.ac.jp"), "{text}");
    assert!(text.contains(EX_ORG_ID), "{text}");
    // Nothing of the keys stays: the outbox rows of the P12 and PIN mails
    // are stubs once delivered, and the database file holds no PIN.
    let db = std::fs::read(f.path("mailra.sqlite")).unwrap();
    let pin = field(&pin_mail.text, "Access PIN:").unwrap();
    assert!(
        !db.windows(pin.len()).any(|w| w == pin.as_bytes()),
        "the PIN is still in the database"
    );
}

#[test]
fn method_2_bundles_per_admin_and_the_pin_list_goes_encrypted_to_the_officer() {
    let mut f = fixture();
    store::set_p12_encryption(&f.env.conn, EX, Some(P12Encryption::Modern)).unwrap();
    let rows: Vec<String> = [
        ("Student One", ADMIN, "s1"),
        ("Student Two", ADMIN, "s2"),
        ("Lab Member", ADMIN2, ""),
    ]
    .iter()
    .map(|(cn, admin, p12)| {
        line(
            cn,
            ClientLine {
                profile: 14,
                method: 2,
                admin_mail: admin,
                p12_name: p12,
                user_mail: "user@example.ac.jp",
                pin: if *p12 == "s1" { "Chosen-PIN_2026" } else { "" },
                ..Default::default()
            },
        )
    })
    .collect();
    // Each user mail must differ.
    let rows: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| r.replace("user@example.ac.jp", &format!("user{i}@example.ac.jp")))
        .collect();
    let o = f.process(&f.mail(&f.o1, O1, "一括発行", &(rows.join("\n") + "\n")));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.issued.len(), 3);
    let got = received(&f);
    // The officer's result, a bundle per admin, the PIN list.
    assert_eq!(
        got.len(),
        4,
        "{:#?}",
        got.iter().map(|g| (&g.subject, &g.to)).collect::<Vec<_>>()
    );
    let list = got
        .iter()
        .find(|g| g.files.iter().any(|(n, _)| n == "clientAllPin.txt"))
        .expect("a PIN list");
    assert_eq!(list.to, O1);
    assert!(list.encrypted, "the PIN list is encrypted to the officer");
    assert!(list.verified);
    assert!(
        !list
            .files
            .iter()
            .any(|(n, _)| n.ends_with(".zip") || n.ends_with(".p12"))
    );
    let (pins, _, bad) = encoding_rs::SHIFT_JIS.decode(&list.files[0].1);
    assert!(!bad);
    let pin_of = |p12: &str| -> String {
        pins.lines()
            .find(|l| l.starts_with(&format!("{p12}.p12\t")))
            .unwrap_or_else(|| panic!("{p12} not in clientAllPin.txt:\n{pins}"))
            .split('\t')
            .nth(3)
            .unwrap()
            .to_string()
    };
    assert_eq!(pin_of("s1"), "Chosen-PIN_2026", "the officer's PIN is used");
    let mut opened = 0;
    for admin in [ADMIN, ADMIN2] {
        let bundle = got
            .iter()
            .find(|g| g.to == admin && g.files.iter().any(|(n, _)| n.ends_with(".zip")))
            .unwrap_or_else(|| panic!("no bundle for {admin}"));
        assert!(bundle.verified);
        assert!(
            bundle.text.contains("AES-256"),
            "the notice says modern encryption"
        );
        let files = unzip(&bundle.files[0].1);
        let client_txt = &files.iter().find(|(n, _)| n == "client.txt").unwrap().1;
        let (client_txt, _, bad) = encoding_rs::SHIFT_JIS.decode(client_txt);
        assert!(!bad);
        let p12s: Vec<&(String, Vec<u8>)> =
            files.iter().filter(|(n, _)| n.ends_with(".p12")).collect();
        assert_eq!(
            p12s.len(),
            client_txt.lines().count(),
            "one client.txt line per P12"
        );
        for (n, der) in p12s {
            let stem = n.trim_end_matches(".p12");
            let text = open_p12(&f, n, der, &pin_of(stem));
            assert!(text.contains("TLS Web Client Authentication"));
            assert!(
                client_txt.lines().any(|l| l.contains(&format!("\t{stem}"))),
                "{client_txt}"
            );
            opened += 1;
        }
    }
    assert_eq!(opened, 3, "every row's P12 is in a bundle and opens");
    // Modern encryption, as the institution asked.
    let (_, info) = {
        let files = unzip(&got.iter().find(|g| g.to == ADMIN2).unwrap().files[0].1);
        let (name, p12) = files.iter().find(|(n, _)| n.ends_with(".p12")).unwrap();
        let p = write(f.dir.path(), "info.p12", p12);
        let pin = pin_of(name.trim_end_matches(".p12"));
        openssl(&[
            "pkcs12",
            "-info",
            "-in",
            &p,
            "-passin",
            &format!("pass:{pin}"),
            "-noout",
        ])
    };
    assert!(info.contains("AES-256-CBC"), "{info}");
    // No mail carries both a P12 and a PIN.
    for g in &got {
        let carries_p12 = g
            .files
            .iter()
            .any(|(n, _)| n.ends_with(".zip") || n.ends_with(".p12"));
        let carries_pin =
            g.files.iter().any(|(n, _)| n.contains("Pin")) || g.text.contains("Chosen-PIN_2026");
        assert!(
            !(carries_p12 && carries_pin),
            "{}: P12 and PIN in one mail",
            g.subject
        );
    }
}

#[test]
fn a_client_certificate_is_renewed_and_revoked_and_the_crl_lists_it() {
    let mut f = fixture();
    let dn = client_dn(
        "Hanako Suzuki",
        &["Faculty of Science", "S1234"],
        EX,
        "Chiyoda-ku",
        "Tokyo",
    );
    let ask = ClientLine {
        profile: 5,
        method: 1,
        admin_mail: ADMIN,
        p12_name: "hanako",
        user_mail: "hanako@example.ac.jp",
        ..Default::default()
    };
    let first = f.process(&f.mail(&f.o1, O1, "発行", &client_issue_line(&dn, &ask)));
    assert_eq!(first.verdict, Verdict::Accepted, "{first:?}");
    let old = first.issued[0].clone();
    let renewed = f.process(&f.mail(&f.o1, O1, "更新", &client_renew_line(&dn, &old, &ask)));
    assert_eq!(
        renewed.verdict,
        Verdict::Accepted,
        "{renewed:?} {:?}",
        received(&f)
            .iter()
            .filter(|g| g.text.contains("field"))
            .map(|g| g.text.clone())
            .collect::<Vec<_>>()
    );
    let new = renewed.issued[0].clone();
    assert_ne!(new, old);
    let rec = store::certificate(
        &f.env.conn,
        &mailra::model::Serial::from_hex(new.trim_start_matches("0x")).unwrap(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(rec.renewed_from.map(|s| s.to_string()), Some(old.clone()));
    let revoked = f.process(&f.mail(
        &f.o1,
        O1,
        "失効",
        &client_revoke_line(&dn, &old, 4, "renewed"),
    ));
    assert_eq!(revoked.verdict, Verdict::Accepted, "{revoked:?}");
    assert_eq!(revoked.revoked, vec![old.clone()]);
    let old_rec = store::certificate(
        &f.env.conn,
        &mailra::model::Serial::from_hex(old.trim_start_matches("0x")).unwrap(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(old_rec.status, CertStatus::Revoked);
    let (_, crl) = openssl(&[
        "crl",
        "-in",
        f.path("crl/ca.crl.pem").to_str().unwrap(),
        "-noout",
        "-text",
    ]);
    let hex = old.trim_start_matches("0x").to_ascii_uppercase();
    assert!(crl.contains(&hex), "{crl}");
    assert!(crl.contains("Superseded"), "{crl}");
    let notice = received(&f)
        .into_iter()
        .find(|g| g.subject.contains("クライアント証明書失効完了通知"))
        .expect("a revocation notice");
    assert_eq!(notice.to, ADMIN);
    assert!(notice.text.contains("Hanako Suzuki"), "{}", notice.text);
    assert!(
        String::from_utf8_lossy(&notice.raw).contains(O1),
        "the officer is copied"
    );
}

#[test]
fn an_smime_row_without_the_institutions_organization_identifier_is_refused() {
    let mut f = Fixture::new();
    store::set_organization_identifier(&f.env.conn, EX, None).unwrap();
    let smime = line(
        "taro@example.ac.jp",
        ClientLine {
            profile: 15,
            method: 1,
            admin_mail: ADMIN,
            user_mail: "taro@example.ac.jp",
            ..Default::default()
        },
    );
    let o = f.process(&f.mail(&f.o1, O1, "発行", &smime));
    assert_eq!(f.cert_count(), 0, "nothing issued: {o:?}");
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    let reply = received(&f).pop().unwrap();
    assert!(
        reply.text.contains("field 2") && reply.text.contains("corporate number"),
        "{}",
        reply.text
    );
    // Registered, the same row is issued.
    store::set_organization_identifier(&f.env.conn, EX, Some(EX_ORG_ID)).unwrap();
    let o = f.process(&f.mail(&f.o1, O1, "発行", &smime));
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
}
