//! Client and S/MIME certificates over keys the CA generates, through the
//! CA's gate (`ca::issue_generated_checked`), checked with the real openssl
//! CLI: they chain to the issuing CA for their purpose, carry the EKU, SAN,
//! subject and validity of their profile; and the gate refuses what it must
//! not sign whatever policy said.

use std::path::Path;
use std::process::Command;

use mailra::ca::{
    self, CaError, IssuingCa, KeyKind, KeyPair, Publication, RandomSerials, SerialSource,
};
use mailra::model::{ClientIssueRow, Dn, DownloadMethod, Institution, Profile};
use openssl::asn1::Asn1Time;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use time::OffsetDateTime;
use time::macros::datetime;

const MAIL: &str = "taro.yamada@example.ac.jp";
const ORG_ID: &str = "NTRJP-1234567890123";

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl CLI");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// An issuing CA valid from 2026-01-01 for ten years.
fn issuing(kind: KeyKind) -> (KeyPair, IssuingCa) {
    let from = datetime!(2026-01-01 00:00 UTC);
    let kp = ca::new_ca("Test Issuing CA", "Example CA Org", from, 3650, kind).unwrap();
    let ca = IssuingCa::new(kp.cert.clone(), kp.key.clone(), vec![])
        .unwrap()
        .with_publication(Publication {
            base_url: "http://certs.example.ac.jp/mailra/".into(),
            policy_oid: None,
            cps_url: None,
        });
    (kp, ca)
}

fn institution() -> Institution {
    Institution {
        id: 1,
        name: "Example University".into(),
        st: "Tokyo".into(),
        l: "Chiyoda-ku".into(),
        domains: vec!["example.ac.jp".into()],
        organization_identifier: Some("NTRJP-1234567890123".into()),
        p12_encryption: None,
    }
}

fn row(profile: Profile, cn: &str, o: &str, mail: Option<&str>) -> ClientIssueRow {
    ClientIssueRow {
        line: 1,
        dn: Dn(vec![
            ("CN".into(), cn.into()),
            ("OU".into(), "Faculty of Science".into()),
            ("O".into(), o.into()),
            ("L".into(), "Chiyoda-ku".into()),
            ("ST".into(), "Tokyo".into()),
            ("C".into(), "JP".into()),
        ]),
        profile,
        method: DownloadMethod::P12Each,
        admin_name: String::new(),
        admin_dept: String::new(),
        admin_mail: "admin@example.ac.jp".into(),
        user_name: String::new(),
        p12_name: "taro".into(),
        user_dept: String::new(),
        user_mail: mail.map(str::to_string),
        pin: None,
    }
}

fn sign(
    ca: &IssuingCa,
    org_id: Option<&str>,
    row: &ClientIssueRow,
    key: &PKey<Private>,
    at: OffsetDateTime,
) -> Result<X509, CaError> {
    ca::issue_generated_checked(
        ca,
        &Institution {
            organization_identifier: org_id.map(str::to_string),
            ..institution()
        },
        row,
        key,
        RandomSerials.next_serial(),
        at,
    )
}

#[test]
fn client_and_smime_certificates_verify_for_their_purpose_with_openssl() {
    let (kp, ca) = issuing(KeyKind::Rsa2048);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), kp.cert.to_pem().unwrap()).unwrap();
    let at = datetime!(2026-01-31 09:00 UTC);
    // (profile, CN, purpose, EKU, SAN, notAfter)
    let cases = [
        (
            Profile::Client48Months,
            "Taro Yamada",
            "sslclient",
            "TLS Web Client Authentication",
            None,
            datetime!(2030-01-31 07:59:59 UTC),
        ),
        (
            Profile::Client13Months,
            "Taro Yamada",
            "sslclient",
            "TLS Web Client Authentication",
            None,
            datetime!(2027-02-28 07:59:59 UTC),
        ),
        (
            Profile::Client25Months,
            "Taro Yamada",
            "sslclient",
            "TLS Web Client Authentication",
            None,
            datetime!(2028-02-29 07:59:59 UTC),
        ),
        (
            Profile::Smime823Days,
            MAIL,
            "smimesign",
            "E-mail Protection",
            Some(MAIL),
            datetime!(2028-05-03 07:59:59 UTC),
        ),
        (
            Profile::Smime13Months,
            MAIL,
            "smimeencrypt",
            "E-mail Protection",
            Some(MAIL),
            datetime!(2027-02-28 07:59:59 UTC),
        ),
        (
            Profile::Smime25Months,
            MAIL,
            "smimesign",
            "E-mail Protection",
            Some(MAIL),
            datetime!(2028-02-29 07:59:59 UTC),
        ),
    ];
    let keys = ca::generate_rsa2048(cases.len()).unwrap();
    for ((profile, cn, purpose, eku, san, not_after), key) in cases.into_iter().zip(&keys) {
        let r = row(profile, cn, "Example University", Some(MAIL));
        let cert = sign(&ca, Some(ORG_ID), &r, key, at).unwrap();
        assert!(cert.public_key().unwrap().public_eq(key));
        let want = Asn1Time::from_unix(not_after.unix_timestamp()).unwrap();
        assert_eq!(
            cert.not_after().compare(&want).unwrap(),
            std::cmp::Ordering::Equal,
            "{profile:?}"
        );

        let f = format!("{}.pem", profile.id());
        std::fs::write(dir.path().join(&f), cert.to_pem().unwrap()).unwrap();
        let at_s = (at.unix_timestamp() + 60).to_string();
        let (ok, text) = openssl(
            dir.path(),
            &[
                "verify", "-CAfile", "ca.pem", "-purpose", purpose, "-attime", &at_s, &f,
            ],
        );
        assert!(ok, "{profile:?}: {text}");
        let (_, text) = openssl(dir.path(), &["x509", "-in", &f, "-noout", "-text"]);
        assert!(text.contains(eku), "{profile:?}: {text}");
        assert!(
            text.contains("Digital Signature, Key Encipherment"),
            "{text}"
        );
        assert!(
            text.contains("Signature Algorithm: sha256WithRSAEncryption"),
            "{text}"
        );
        assert!(
            text.contains("URI:http://certs.example.ac.jp/mailra/ca.crl"),
            "{text}"
        );
        assert!(
            text.contains("CA Issuers - URI:http://certs.example.ac.jp/mailra/ca.cer"),
            "{text}"
        );
        match san {
            Some(mail) => {
                assert!(text.contains(&format!("email:{mail}")), "{text}");
                assert!(text.contains("Policy: 2.23.140.1.5.2.3"), "{text}");
                assert!(!text.contains("TLS Web Client"), "{text}");
                // The OV subject: organization and its identifier, CN = mail, no OU.
                let (_, subj) = openssl(
                    dir.path(),
                    &[
                        "x509", "-in", &f, "-noout", "-subject", "-nameopt", "RFC2253",
                    ],
                );
                assert_eq!(
                    subj.trim(),
                    format!(
                        "subject=CN={mail},organizationIdentifier={ORG_ID},O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP"
                    ),
                );
            }
            None => {
                assert!(!text.contains("Subject Alternative Name"), "{text}");
                assert!(!text.contains("E-mail Protection"), "{text}");
                assert!(
                    text.contains("CN = Taro Yamada") && text.contains("OU = Faculty of Science"),
                    "{text}"
                );
            }
        }
    }
}

/// (what, CA, organizationIdentifier, row, key, the refusal expected)
type RefusalCase<'a> = (
    &'a str,
    &'a IssuingCa,
    Option<&'a str>,
    ClientIssueRow,
    &'a PKey<Private>,
    fn(&CaError) -> bool,
);

#[test]
fn the_gate_refuses_what_the_ca_must_not_sign() {
    let (_, rsa) = issuing(KeyKind::Rsa2048);
    let (_, ec) = issuing(KeyKind::P384);
    let inst_o = "Example University";
    let at = OffsetDateTime::now_utc();
    let good = ca::new_key(KeyKind::Rsa2048).unwrap();
    let p384 = ca::new_key(KeyKind::P384).unwrap();
    let rsa1024 = PKey::from_rsa(openssl::rsa::Rsa::generate(1024).unwrap()).unwrap();
    let smime = row(Profile::Smime13Months, MAIL, inst_o, Some(MAIL));
    let cases: Vec<RefusalCase> = vec![
        (
            "server profile",
            &rsa,
            Some(ORG_ID),
            row(Profile::ServerRsa2048, MAIL, inst_o, Some(MAIL)),
            &good,
            |e| matches!(e, CaError::NotClientProfile(3)),
        ),
        ("ECDSA CA", &ec, Some(ORG_ID), smime.clone(), &good, |e| {
            matches!(e, CaError::CaForProfile { .. })
        }),
        ("P-384 key", &rsa, Some(ORG_ID), smime.clone(), &p384, |e| {
            matches!(e, CaError::WeakKey(_))
        }),
        (
            "RSA 1024 key",
            &rsa,
            Some(ORG_ID),
            smime.clone(),
            &rsa1024,
            |e| matches!(e, CaError::WeakKey(_)),
        ),
        (
            "other O",
            &rsa,
            Some(ORG_ID),
            row(Profile::Client13Months, "Taro", "Other University", None),
            &good,
            |e| {
                matches!(e, CaError::Policy(_))
                    && e.to_string().contains("O= must be the registered")
            },
        ),
        (
            "CN not the mail",
            &rsa,
            Some(ORG_ID),
            row(Profile::Smime13Months, "Taro Yamada", inst_o, Some(MAIL)),
            &good,
            |e| matches!(e, CaError::Policy(_)) && e.to_string().contains("user mail"),
        ),
        (
            "no user mail",
            &rsa,
            Some(ORG_ID),
            row(Profile::Smime823Days, MAIL, inst_o, None),
            &good,
            |e| matches!(e, CaError::Policy(_)) && e.to_string().contains("user mail"),
        ),
        (
            "no organizationIdentifier",
            &rsa,
            None,
            smime.clone(),
            &good,
            // The policy re-check of the gate refuses it first (field 2).
            |e| {
                matches!(e, CaError::Policy(_))
                    && e.to_string()
                        .contains("none is registered for `Example University`")
            },
        ),
        (
            "bad organizationIdentifier",
            &rsa,
            Some("1234567890123"),
            smime.clone(),
            &good,
            |e| matches!(e, CaError::BadOrganizationIdentifier { .. }),
        ),
    ];
    for (what, ca, org_id, r, key, check) in cases {
        match sign(ca, org_id, &r, key, at) {
            Err(e) => assert!(check(&e), "{what}: wrong refusal {e}"),
            Ok(_) => panic!("{what}: signed"),
        }
    }
    // The same S/MIME row with everything in order is signed; a client
    // certificate needs no organizationIdentifier.
    assert!(sign(&rsa, Some(ORG_ID), &smime, &good, at).is_ok());
    let client = row(Profile::Client48Months, "Taro Yamada", inst_o, None);
    assert!(sign(&rsa, None, &client, &good, at).is_ok());
}

#[test]
fn a_p12_of_an_issued_certificate_carries_the_chain_and_opens_with_the_cli() {
    let (kp, ca) = issuing(KeyKind::Rsa2048);
    let dir = tempfile::tempdir().unwrap();
    let key = ca::new_key(KeyKind::Rsa2048).unwrap();
    let r = row(
        Profile::Smime25Months,
        MAIL,
        "Example University",
        Some(MAIL),
    );
    let cert = sign(&ca, Some(ORG_ID), &r, &key, OffsetDateTime::now_utc()).unwrap();
    for enc in ca::P12Encryption::ALL {
        let der = ca::build_p12(
            "taro",
            &key,
            &cert,
            std::slice::from_ref(&kp.cert),
            "Pin-Ok_22charsABCDEFGH",
            enc,
        )
        .unwrap();
        let f = dir.path().join("t.p12");
        std::fs::write(&f, der).unwrap();
        let (ok, text) = openssl(
            dir.path(),
            &[
                "pkcs12",
                "-in",
                "t.p12",
                "-passin",
                "pass:Pin-Ok_22charsABCDEFGH",
                "-nodes",
            ],
        );
        assert!(ok, "{enc}: {text}");
        assert_eq!(
            text.matches("BEGIN CERTIFICATE").count(),
            2,
            "{enc}: {text}"
        );
        assert!(text.contains("friendlyName: taro"), "{enc}: {text}");
    }
}
