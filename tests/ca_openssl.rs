//! The embedded CA's output checked by the real `openssl` CLI: issued server
//! certificates, CRLs and generated S/MIME certificates must be accepted by
//! the reference implementation, not only by our own code.

use std::path::{Path, PathBuf};
use std::process::Command;

use mailra::ca::{
    self, CaError, IssuingCa, KeyKind, KeyPair, Publication, RandomSerials, RevokedEntry,
    SerialSource,
};
use mailra::kit::forms::{issue_row, server_dn};
use mailra::model::{Dn, IssueRow, Profile, RevocationReason};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use time::{Duration, OffsetDateTime};

const CN: &str = "www.example.ac.jp";
const ALT: &str = "alt.example.ac.jp";

struct Out {
    ok: bool,
    text: String,
}

fn openssl(dir: &Path, args: &[&str]) -> Out {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl CLI");
    Out {
        ok: o.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn dn(cn: &str) -> Dn {
    server_dn(cn, "Example University", "Chiyoda-ku", "Tokyo")
}

fn row(profile: Profile, key: &PKey<Private>) -> IssueRow {
    issue_row(&dn(CN), profile, key, "admin@example.ac.jp", &[CN, ALT]).unwrap()
}

fn issuing(kind: KeyKind) -> (KeyPair, IssuingCa) {
    let now = OffsetDateTime::now_utc();
    let kp = ca::new_ca("Test Issuing CA", "Example CA Org", now, 3650, kind).unwrap();
    let ca = IssuingCa::new(kp.cert.clone(), kp.key.clone(), vec![])
        .unwrap()
        .with_publication(publication());
    (kp, ca)
}

fn publication() -> Publication {
    Publication {
        base_url: "http://certs.example.ac.jp/mailra/".into(),
        policy_oid: None,
        cps_url: None,
    }
}

fn profile_key(p: Profile) -> KeyKind {
    match p {
        Profile::ServerP384 => KeyKind::P384,
        _ => KeyKind::Rsa2048,
    }
}

fn institution() -> mailra::model::Institution {
    mailra::model::Institution {
        id: 1,
        name: "Example University".into(),
        st: "Tokyo".into(),
        l: "Chiyoda-ku".into(),
        domains: vec!["example.ac.jp".into()],
        organization_identifier: Some("NTRJP-1234567890123".into()),
        p12_encryption: None,
    }
}

/// Issues through the CA's one public gate, which re-checks policy first.
fn issue(ca: &IssuingCa, profile: Profile, days: u32) -> X509 {
    let key = ca::new_key(profile_key(profile)).unwrap();
    ca::issue_checked(
        ca,
        &institution(),
        &row(profile, &key),
        RandomSerials.next_serial(),
        OffsetDateTime::now_utc(),
        days,
    )
    .unwrap()
}

#[test]
fn issued_server_certificates_pass_openssl() {
    // (profile, CA key, signature algorithm, key usage)
    let cases = [
        (
            Profile::ServerRsa2048,
            KeyKind::Rsa2048,
            "sha256WithRSAEncryption",
            "Digital Signature, Key Encipherment",
        ),
        (
            Profile::ServerP384,
            KeyKind::P384,
            "ecdsa-with-SHA384",
            "Digital Signature\n",
        ),
    ];
    for (profile, ca_kind, sig_alg, ku) in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (kp, ca) = issuing(ca_kind);
        write(d, "ca.pem", &ca.chain_pem());
        let cert = issue(&ca, profile, 1000);
        write(d, "cert.pem", &cert.to_pem().unwrap());

        let v = openssl(d, &["verify", "-CAfile", "ca.pem", "cert.pem"]);
        assert!(
            v.ok && v.text.contains("cert.pem: OK"),
            "{profile:?}: {}",
            v.text
        );

        let t = openssl(d, &["x509", "-in", "cert.pem", "-noout", "-text"]).text;
        let expected = [
            "Version: 3 (0x2)",
            &format!("Signature Algorithm: {sig_alg}"),
            "Subject: C = JP, ST = Tokyo, L = Chiyoda-ku, O = Example University, CN = www.example.ac.jp",
            "Issuer: C = JP, O = Example CA Org, CN = Test Issuing CA",
            "X509v3 Key Usage: critical",
            ku,
            "TLS Web Server Authentication, TLS Web Client Authentication",
            "X509v3 Basic Constraints: critical\n                CA:FALSE",
            "DNS:www.example.ac.jp, DNS:alt.example.ac.jp",
            "X509v3 Subject Key Identifier",
            "X509v3 Authority Key Identifier",
            "X509v3 Certificate Policies: \n                Policy: 2.23.140.1.2.2",
            "X509v3 CRL Distribution Points: \n                Full Name:\n                  URI:http://certs.example.ac.jp/mailra/",
            "CA Issuers - URI:http://certs.example.ac.jp/mailra/",
        ];
        for e in expected {
            assert!(t.contains(e), "{profile:?}: missing {e:?} in\n{t}");
        }
        assert!(!t.contains("Negative"), "{t}");
        let ski = kp.cert.subject_key_id().unwrap().as_slice();
        let aki = cert.authority_key_id().unwrap().as_slice();
        assert_eq!(aki, ski);

        // 1000 days asked, capped at the BR limit of today (200 days since
        // 2026-03-15), counted from notBefore (an hour before now).
        let max = i64::from(ca::max_server_days(OffsetDateTime::now_utc()));
        let within = |days: i64| {
            let secs = (days * 86_400).to_string();
            openssl(
                d,
                &["x509", "-in", "cert.pem", "-noout", "-checkend", &secs],
            )
            .ok
        };
        assert!(
            within(max - 1),
            "{profile:?} must be valid for {max} - 1 days"
        );
        assert!(!within(max), "{profile:?} must expire within {max} days");

        let serial = openssl(d, &["x509", "-in", "cert.pem", "-noout", "-serial"]).text;
        let hex = serial.trim().strip_prefix("serial=").unwrap();
        assert!(hex.len() >= 16, "serial {hex} shorter than 64 bits");
        assert!(
            u8::from_str_radix(&hex[..1], 16).unwrap() < 8,
            "serial {hex} would be negative"
        );
    }
}

/// The CA's own gate signs each profile only with the CA that SPEC §6 gives
/// it: profile 3 with the RSA CA, profile 11 with the ECDSA P-384 CA (so it
/// comes out ecdsa-with-SHA384, never sha384WithRSAEncryption).
#[test]
fn issue_checked_signs_each_profile_only_with_its_own_ca() {
    let inst = institution();
    let (_, rsa_ca) = issuing(KeyKind::Rsa2048);
    let (_, ec_ca) = issuing(KeyKind::P384);
    // A P-256 CA, self-signed by hand (ca::new_ca makes RSA or P-384 only).
    let p256_ca = {
        let key = PKey::from_ec_key(
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "P-256 CA").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        IssuingCa::new(b.build(), key, vec![]).unwrap()
    };
    assert_eq!(rsa_ca.kind(), Some(mailra::model::CaKind::Rsa));
    assert_eq!(ec_ca.kind(), Some(mailra::model::CaKind::Ec));
    assert_eq!(p256_ca.kind(), None);
    let now = OffsetDateTime::now_utc();
    for (profile, ca, ok) in [
        (Profile::ServerRsa2048, &rsa_ca, true),
        (Profile::ServerP384, &ec_ca, true),
        (Profile::ServerP384, &rsa_ca, false),
        (Profile::ServerRsa2048, &ec_ca, false),
        (Profile::ServerP384, &p256_ca, false),
    ] {
        let key = ca::new_key(profile_key(profile)).unwrap();
        let r = mailra::ca::issue_checked(
            ca,
            &inst,
            &row(profile, &key),
            RandomSerials.next_serial(),
            now,
            30,
        );
        match (r, ok) {
            (Ok(cert), true) => {
                let dir = tempfile::tempdir().unwrap();
                write(dir.path(), "ca.pem", &ca.chain_pem());
                write(dir.path(), "c.pem", &cert.to_pem().unwrap());
                let v = openssl(dir.path(), &["verify", "-CAfile", "ca.pem", "c.pem"]);
                assert!(v.ok, "{profile:?}: {}", v.text);
                let sig = match profile {
                    Profile::ServerP384 => "ecdsa-with-SHA384",
                    _ => "sha256WithRSAEncryption",
                };
                let t = openssl(dir.path(), &["x509", "-in", "c.pem", "-noout", "-text"]).text;
                assert!(t.contains(&format!("Signature Algorithm: {sig}")), "{t}");
            }
            (Err(CaError::CaForProfile { profile: p, .. }), false) => {
                assert_eq!(p, profile.id());
            }
            (r, _) => panic!("{profile:?} with {ca:?}: {:?}", r.map(|_| ())),
        }
    }
}

#[test]
fn serials_differ_between_issuances() {
    let (_, ca) = issuing(KeyKind::Rsa2048);
    let a = issue(&ca, Profile::ServerRsa2048, 30);
    let b = issue(&ca, Profile::ServerRsa2048, 30);
    let sa = a.serial_number().to_bn().unwrap();
    let sb = b.serial_number().to_bn().unwrap();
    assert_ne!(sa, sb);
    assert!(sa.num_bits() >= 64 && sb.num_bits() >= 64);
}

#[test]
fn crl_revokes_with_reasons() {
    for ca_kind in [KeyKind::Rsa2048, KeyKind::P384] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (_, ca) = issuing(ca_kind);
        write(d, "ca.pem", &ca.chain_pem());
        let profile = match ca_kind {
            KeyKind::Rsa2048 => Profile::ServerRsa2048,
            KeyKind::P384 => Profile::ServerP384,
        };
        let compromised = issue(&ca, profile, 90);
        let superseded = issue(&ca, profile, 90);
        let unspecified = issue(&ca, profile, 90);
        let good = issue(&ca, profile, 90);
        for (name, c) in [
            ("revoked.pem", &compromised),
            ("superseded.pem", &superseded),
            ("good.pem", &good),
        ] {
            write(d, name, &c.to_pem().unwrap());
        }

        let now = OffsetDateTime::now_utc();
        let serial = |c: &X509| {
            mailra::model::Serial::from_bytes(&c.serial_number().to_bn().unwrap().to_vec())
        };
        let entries = [
            (&compromised, RevocationReason::KeyCompromise),
            (&superseded, RevocationReason::Superseded),
            (&unspecified, RevocationReason::Unspecified),
        ]
        .map(|(c, reason)| RevokedEntry {
            serial: serial(c),
            revoked_at: now - Duration::minutes(5),
            reason,
        });
        let crl = ca.crl(&entries, now, now + Duration::days(7), 42).unwrap();
        write(d, "crl.pem", &crl.pem);

        let parsed = openssl::x509::X509Crl::from_pem(&crl.pem).unwrap();
        assert_eq!(parsed.to_der().unwrap(), crl.der, "PEM and DER differ");

        let v = openssl(d, &["crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout"]);
        assert!(
            v.ok && v.text.contains("verify OK"),
            "{ca_kind:?}: {}",
            v.text
        );

        let t = openssl(d, &["crl", "-in", "crl.pem", "-noout", "-text"]).text;
        let mut expected = vec![
            "Version 2 (0x1)".to_string(),
            "X509v3 CRL Number: \n                42".into(),
            "X509v3 Authority Key Identifier".into(),
            "Next Update:".into(),
        ];
        for (c, reason) in [
            (&compromised, "Key Compromise"),
            (&superseded, "Superseded"),
        ] {
            let hex = serial(c).to_hex();
            expected.push(format!("Serial Number: {hex}\n        Revocation Date: "));
            let at = t
                .find(&hex)
                .unwrap_or_else(|| panic!("{hex} missing in\n{t}"));
            let block = &t[at..];
            let next = block[1..]
                .find("Serial Number")
                .map_or(block.len(), |i| i + 1);
            assert!(block[..next].contains(reason), "{reason} for {hex} in\n{t}");
        }
        expected.push(serial(&unspecified).to_hex());
        for e in &expected {
            assert!(t.contains(e.as_str()), "{ca_kind:?}: missing {e:?} in\n{t}");
        }
        // reasonCode omitted for unspecified (RFC 5280 §5.3.1).
        assert_eq!(t.matches("X509v3 CRL Reason Code").count(), 2, "{t}");

        let check = |cert: &str| {
            openssl(
                d,
                &[
                    "verify",
                    "-crl_check",
                    "-CRLfile",
                    "crl.pem",
                    "-CAfile",
                    "ca.pem",
                    cert,
                ],
            )
        };
        for revoked in ["revoked.pem", "superseded.pem"] {
            let r = check(revoked);
            assert!(
                !r.ok && r.text.contains("certificate revoked"),
                "{revoked}: {}",
                r.text
            );
        }
        let g = check("good.pem");
        assert!(g.ok && g.text.contains("good.pem: OK"), "{}", g.text);
    }
}

#[test]
fn empty_crl_verifies_and_refuses_backwards_times() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, ca) = issuing(KeyKind::Rsa2048);
    write(d, "ca.pem", &ca.chain_pem());
    let now = OffsetDateTime::now_utc();
    let crl = ca.crl(&[], now, now + Duration::days(1), 1).unwrap();
    write(d, "crl.pem", &crl.pem);
    let v = openssl(
        d,
        &[
            "crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout", "-text",
        ],
    );
    assert!(v.ok && v.text.contains("verify OK"), "{}", v.text);
    assert!(v.text.contains("No Revoked Certificates"), "{}", v.text);

    assert!(matches!(ca.crl(&[], now, now, 2), Err(CaError::BadTime(_))));
}

#[test]
fn issuing_ca_from_pem_with_chain() {
    let now = OffsetDateTime::now_utc();
    let (kp, _) = issuing(KeyKind::Rsa2048);
    let root = ca::new_ca("Root", "Example", now, 10, KeyKind::P384).unwrap();
    let mut pem = kp.cert_pem().unwrap();
    pem.extend(root.cert_pem().unwrap());
    let key_pem = kp.key_pem().unwrap();

    let ca = IssuingCa::from_pem(&pem, &key_pem).unwrap();
    assert_eq!(ca.cert().to_der().unwrap(), kp.cert.to_der().unwrap());
    assert_eq!(ca.chain_pem(), pem);

    let wrong_key = root.key_pem().unwrap();
    assert!(matches!(
        IssuingCa::from_pem(&pem, &wrong_key),
        Err(CaError::KeyMismatch)
    ));
    assert!(matches!(
        IssuingCa::from_pem(b"", &key_pem),
        Err(CaError::NoCertificate) | Err(CaError::Openssl(_))
    ));
}

#[test]
fn mail_cert_is_valid_for_smime_signing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let now = OffsetDateTime::now_utc();
    let ca = ca::new_ca("Officer CA", "Example", now, 365, KeyKind::Rsa2048).unwrap();
    let mail = ca::new_mail_cert(&ca, "ra@example.ac.jp", "RA Officer", now, 365).unwrap();
    write(d, "ca.pem", &ca.cert.to_pem().unwrap());
    write(d, "mail.pem", &mail.cert.to_pem().unwrap());

    let v = openssl(
        d,
        &[
            "verify",
            "-purpose",
            "smimesign",
            "-CAfile",
            "ca.pem",
            "mail.pem",
        ],
    );
    assert!(v.ok && v.text.contains("mail.pem: OK"), "{}", v.text);
    let t = openssl(d, &["x509", "-in", "mail.pem", "-noout", "-text"]).text;
    for e in [
        "email:ra@example.ac.jp",
        "emailAddress = ra@example.ac.jp",
        "E-mail Protection",
        "Digital Signature, Non Repudiation, Key Encipherment",
        "CA:FALSE",
        "X509v3 Authority Key Identifier",
    ] {
        assert!(t.contains(e), "missing {e:?} in\n{t}");
    }
    assert!(mail.cert.public_key().unwrap().public_eq(&mail.key));
}
