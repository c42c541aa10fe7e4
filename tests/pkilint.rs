//! DigiCert's `pkilint` finds no ERROR (or FATAL) in what the embedded CA
//! produces: server certificates of profiles 3 and 11 against the CA/B Forum
//! TLS Baseline Requirements, S/MIME certificates of profiles 7, 15 and 16
//! against the CA/B Forum S/MIME Baseline Requirements, client certificates
//! of profiles 5, 13 and 14 and the CA certificates `mailra init` generates
//! against RFC 5280, and the CRLs against the BR CRL profile.
//!
//! pkilint is a Python package (`pip install pkilint`; scripts/test installs
//! it). Without it these tests fail, saying so: they never pass unchecked.

use std::path::{Path, PathBuf};
use std::process::Command;

use mailra::ca::{
    self, IssuingCa, KeyKind, Publication, RandomSerials, RevokedEntry, SerialSource,
};
use mailra::config::Config;
use mailra::init::{self, InitArgs};
use mailra::kit::forms::{issue_row, server_dn};
use mailra::model::{
    CaKind, ClientIssueRow, Dn, DownloadMethod, Institution, IssueRow, Profile, RevocationReason,
};
use time::{Duration, OffsetDateTime};

const CN: &str = "www.example.ac.jp";

/// Runs a pkilint command on `file`; returns its findings of severity ERROR
/// or FATAL, and the whole output for the failure message.
fn lint(tool: &str, args: &[&str], file: &Path) -> (Vec<String>, String) {
    let out = Command::new(tool)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {tool} ({e}): install pkilint with `pip install pkilint` (scripts/test does)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("Traceback"),
        "{tool} crashed on {}:\n{text}",
        file.display()
    );
    let bad = text
        .lines()
        .filter(|l| l.contains("(ERROR)") || l.contains("(FATAL)"))
        .map(str::to_string)
        .collect();
    (bad, text)
}

fn assert_clean(tool: &str, args: &[&str], file: &Path) {
    let (bad, text) = lint(tool, args, file);
    assert!(
        bad.is_empty(),
        "{tool} reports errors for {}:\n{text}",
        file.display()
    );
}

fn dn(cn: &str) -> Dn {
    server_dn(cn, "Example University", "Chiyoda-ku", "Tokyo")
}

fn row(profile: Profile) -> IssueRow {
    let key = ca::new_key(match profile {
        Profile::ServerP384 => KeyKind::P384,
        _ => KeyKind::Rsa2048,
    })
    .unwrap();
    issue_row(
        &dn(CN),
        profile,
        &key,
        "admin@example.ac.jp",
        &[CN, "alt.example.ac.jp"],
    )
    .unwrap()
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

/// A fresh instance as `mailra init` makes it, with the optional policy keys set.
fn instance() -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let args = InitArgs {
        dir: dir.path().to_path_buf(),
        publish_url: Some("http://certs.example.ac.jp/mailra/".into()),
        ..Default::default()
    };
    init::init(&args, OffsetDateTime::now_utc()).unwrap();
    let toml = dir.path().join(mailra::config::FILE_NAME);
    let text = std::fs::read_to_string(&toml).unwrap().replacen(
        "[ca]\n",
        "[ca]\npolicy_oid = \"1.3.6.1.4.1.99999.1.1\"\ncps_url = \"https://certs.example.ac.jp/cps/\"\n",
        1,
    );
    std::fs::write(&toml, text).unwrap();
    let cfg = Config::load(dir.path()).unwrap();
    (dir, cfg)
}

fn issuing(cfg: &Config, kind: CaKind, publication: Publication) -> IssuingCa {
    let (cert, key) = match kind {
        CaKind::Rsa => (cfg.ca_cert.clone(), cfg.ca_key.clone()),
        CaKind::Ec => {
            let p = cfg.ec_ca.clone().unwrap();
            (p.cert, p.key)
        }
    };
    IssuingCa::from_pem(&std::fs::read(cert).unwrap(), &std::fs::read(key).unwrap())
        .unwrap()
        .with_publication(publication)
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn server_certificates_of_profiles_3_and_11_pass_pkilint() {
    let (dir, cfg) = instance();
    let plain = Publication {
        policy_oid: None,
        cps_url: None,
        ..cfg.publication.clone()
    };
    let now = OffsetDateTime::now_utc();
    // With the CA's own policy and CPS, and with the OV policy alone.
    for publication in [cfg.publication.clone(), plain] {
        for profile in [Profile::ServerRsa2048, Profile::ServerP384] {
            let ca = issuing(&cfg, CaKind::for_profile(profile), publication.clone());
            let cert = ca::issue_checked(
                &ca,
                &institution(),
                &row(profile),
                RandomSerials.next_serial(),
                now,
                cfg.server_days,
            )
            .unwrap();
            let f = write(dir.path(), "server.pem", &cert.to_pem().unwrap());
            assert_clean("lint_cabf_serverauth_cert", &["lint", "-d"], &f);
        }
    }
}

#[test]
fn a_server_certificate_over_the_br_limit_is_an_error_to_pkilint() {
    // The oracle itself: the same certificate with one day too many is
    // reported, so a clean result above means something.
    let (dir, cfg) = instance();
    let ca = issuing(&cfg, CaKind::Rsa, cfg.publication.clone());
    let now = OffsetDateTime::now_utc();
    let cert = ca::issue_checked(
        &ca,
        &institution(),
        &row(Profile::ServerRsa2048),
        RandomSerials.next_serial(),
        now,
        400,
    )
    .unwrap();
    let f = write(dir.path(), "server.pem", &cert.to_pem().unwrap());
    assert_clean("lint_cabf_serverauth_cert", &["lint", "-d"], &f);

    // The same fields a year long, made by hand past the CA's BR cap.
    let long = {
        let c = &cert;
        let mut b = openssl::x509::X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(c.serial_number()).unwrap();
        b.set_subject_name(c.subject_name()).unwrap();
        b.set_issuer_name(c.issuer_name()).unwrap();
        b.set_pubkey(&c.public_key().unwrap()).unwrap();
        b.set_not_before(c.not_before()).unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(365).unwrap())
            .unwrap();
        let key = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(&cfg.ca_key).unwrap())
            .unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        b.build()
    };
    let f = write(dir.path(), "long.pem", &long.to_pem().unwrap());
    let (bad, text) = lint("lint_cabf_serverauth_cert", &["lint", "-d"], &f);
    assert!(
        bad.iter().any(|l| l.contains("validity_period")),
        "pkilint did not flag a 365-day certificate:\n{text}"
    );
}

#[test]
fn crls_pass_pkilint() {
    let (dir, cfg) = instance();
    let now = OffsetDateTime::now_utc();
    for kind in [CaKind::Rsa, CaKind::Ec] {
        let ca = issuing(&cfg, kind, cfg.publication.clone());
        let entries: Vec<RevokedEntry> = [
            RevocationReason::KeyCompromise,
            RevocationReason::Superseded,
            RevocationReason::Unspecified,
            RevocationReason::CessationOfOperation,
            RevocationReason::AffiliationChanged,
        ]
        .into_iter()
        .map(|reason| RevokedEntry {
            serial: RandomSerials.next_serial(),
            revoked_at: now - Duration::hours(2),
            reason,
        })
        .collect();
        for (name, revoked) in [("empty", &[][..]), ("full", &entries[..])] {
            let crl = ca
                .crl(
                    revoked,
                    now,
                    now + Duration::days(i64::from(cfg.crl_days)),
                    7,
                )
                .unwrap();
            let f = write(
                dir.path(),
                &format!("{}-{name}.crl", kind.crl_stem()),
                &crl.der,
            );
            assert_clean("lint_crl", &["lint", "-t", "CRL", "-p", "BR"], &f);
        }
    }
}

#[test]
fn generated_ca_certificates_pass_pkilint() {
    let (dir, _cfg) = instance();
    for name in ["ca.pem", "ca-ec.pem", "officer-ca.pem"] {
        assert_clean(
            "lint_pkix_cert",
            &["lint"],
            &dir.path().join("pki").join(name),
        );
    }
    // The robot CA that init makes when the officer CA is given.
    let robot_ca = ca::new_ca(
        "mailra Robot CA",
        "mailra Secretariat",
        OffsetDateTime::now_utc(),
        3650,
        KeyKind::Rsa2048,
    )
    .unwrap();
    let f = write(dir.path(), "robot-ca.pem", &robot_ca.cert_pem().unwrap());
    assert_clean("lint_pkix_cert", &["lint"], &f);
}

/// A 5-4-1 row as policy passes it on: the DN in the forms' order.
fn client_row(profile: Profile, cn: &str, mail: Option<&str>) -> ClientIssueRow {
    let dn = Dn(vec![
        ("CN".into(), cn.into()),
        ("OU".into(), "Faculty of Science".into()),
        ("OU".into(), "s1234567".into()),
        ("O".into(), "Example University".into()),
        ("L".into(), "Chiyoda-ku".into()),
        ("ST".into(), "Tokyo".into()),
        ("C".into(), "JP".into()),
    ]);
    ClientIssueRow {
        line: 1,
        dn,
        profile,
        method: DownloadMethod::P12Each,
        admin_name: "Admin".into(),
        admin_dept: "IT Center".into(),
        admin_mail: "admin@example.ac.jp".into(),
        user_name: "Taro Yamada".into(),
        p12_name: cn.into(),
        user_dept: "Science".into(),
        user_mail: mail.map(str::to_string),
        pin: None,
    }
}

#[test]
fn smime_certificates_of_profiles_7_15_16_pass_the_smime_brs() {
    let (dir, cfg) = instance();
    let plain = Publication {
        policy_oid: None,
        cps_url: None,
        ..cfg.publication.clone()
    };
    let now = OffsetDateTime::now_utc();
    let mail = "taro.yamada@example.ac.jp";
    for publication in [cfg.publication.clone(), plain] {
        let ca = issuing(&cfg, CaKind::Rsa, publication);
        for profile in [
            Profile::Smime823Days,
            Profile::Smime13Months,
            Profile::Smime25Months,
        ] {
            let key = ca::new_key(KeyKind::Rsa2048).unwrap();
            let cert = ca::issue_generated_checked(
                &ca,
                &institution(),
                &client_row(profile, mail, Some(mail)),
                &key,
                RandomSerials.next_serial(),
                now,
            )
            .unwrap();
            let f = write(dir.path(), "smime.pem", &cert.to_pem().unwrap());
            let (bad, text) = lint("lint_cabf_smime_cert", &["lint", "-d", "-o"], &f);
            assert!(
                bad.is_empty(),
                "profile {}: pkilint reports errors:\n{text}",
                profile.id()
            );
            // Linted as what it claims to be: organization-validated, strict.
            assert!(text.contains("ORGANIZATION-STRICT"), "{text}");
        }
    }
}

#[test]
fn client_certificates_of_profiles_5_13_14_pass_pkilint() {
    let (dir, cfg) = instance();
    let ca = issuing(&cfg, CaKind::Rsa, cfg.publication.clone());
    let now = OffsetDateTime::now_utc();
    for profile in [
        Profile::Client48Months,
        Profile::Client13Months,
        Profile::Client25Months,
    ] {
        let key = ca::new_key(KeyKind::Rsa2048).unwrap();
        let cert = ca::issue_generated_checked(
            &ca,
            &Institution {
                organization_identifier: None,
                ..institution()
            },
            &client_row(profile, "Taro Yamada", Some("taro.yamada@example.ac.jp")),
            &key,
            RandomSerials.next_serial(),
            now,
        )
        .unwrap();
        let f = write(dir.path(), "client.pem", &cert.to_pem().unwrap());
        assert_clean("lint_pkix_cert", &["lint"], &f);
        // The oracle: linted as an S/MIME certificate, which it is not (no
        // emailProtection, no rfc822Name, no organizationIdentifier), it
        // fails, so the clean S/MIME results above mean something.
        let (bad, text) = lint(
            "lint_cabf_smime_cert",
            &["lint", "-t", "ORGANIZATION-STRICT"],
            &f,
        );
        assert!(
            bad.iter().any(|l| l.contains("ERROR")),
            "pkilint passed a client certificate as S/MIME:\n{text}"
        );
    }
}
