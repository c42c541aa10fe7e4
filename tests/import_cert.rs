//! `mailra registry import-cert` and `mailra cert revoked` on a real
//! instance directory: certificates mailra did not issue are checked one by
//! one, every problem reported with its file, the good ones recorded so
//! they can be revoked, and a second run finds them present.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use mailra::ca::KeyPair;
use mailra::kit::pki::{Eku, Key, Spec, make};
use mailra::model::{CertKind, RevocationReason};
use mailra::store;
use support::{EX, Fixture, live::configure};

fn mailra(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env_remove("MAILRA_DIR")
        .output()
        .unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// (file name, problem) of a report, sorted.
fn problems(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let file = p["file"].as_str().unwrap();
            let name = Path::new(file).file_name().unwrap().to_string_lossy();
            (
                name.into_owned(),
                p["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn imported(report: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = report["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let file = c["file"].as_str().unwrap();
            let name = Path::new(file).file_name().unwrap().to_string_lossy();
            (
                name.into_owned(),
                c["kind"].as_str().unwrap().to_string(),
                c["ca"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// An end-entity certificate of `org` with purpose `eku`, signed by `issuer`.
fn leaf(
    issuer: &KeyPair,
    cn: &str,
    org: &str,
    eku: Eku,
    email: Option<&str>,
    serial: u32,
    days: (i64, i64),
) -> KeyPair {
    make(
        &Spec {
            cn,
            org: Some(org),
            email,
            ca: false,
            eku: Some(eku),
            serial,
            from_days: days.0,
            to_days: days.1,
            key: Key::Rsa(2048),
        },
        Some(issuer),
    )
    .unwrap()
}

#[test]
fn import_cert_reports_each_problem_with_its_file_records_the_good_and_finds_them_again() {
    let f = Fixture::new();
    let dir = f.dir.path();
    let own = KeyPair::load(&f.path("pki/ca.pem"), &f.path("pki/ca.key")).unwrap();
    let import_ca = make(&Spec::root("Code Signing Import CA", 900), None).unwrap();
    let unknown_ca = make(&Spec::root("Unknown CA", 901), None).unwrap();
    std::fs::write(
        f.path("pki/codesign-ca.pem"),
        import_ca.cert.to_pem().unwrap(),
    )
    .unwrap();
    configure(dir, "ca", "import_cas = [\"pki/codesign-ca.pem\"]");

    let certs = f.path("certs");
    std::fs::create_dir(&certs).unwrap();
    let ok = (-30, 300);
    let server = leaf(
        &own,
        "www.example.ac.jp",
        EX,
        Eku::ServerAuth,
        Some("Admin@example.ac.jp"),
        0x51,
        ok,
    );
    let code = leaf(
        &import_ca,
        "Example University Code Signing",
        EX,
        Eku::CodeSigning,
        None,
        0x52,
        ok,
    );
    let smime = leaf(
        &import_ca,
        "user@example.ac.jp",
        EX,
        Eku::EmailProtection,
        Some("user@example.ac.jp"),
        0x53,
        ok,
    );
    let expired = leaf(
        &import_ca,
        "old code",
        EX,
        Eku::CodeSigning,
        None,
        0x54,
        (-400, -30),
    );
    let foreign = leaf(&unknown_ca, "foreign", EX, Eku::CodeSigning, None, 0x55, ok);
    let nowhere = leaf(
        &import_ca,
        "nowhere",
        "Nowhere College",
        Eku::CodeSigning,
        None,
        0x56,
        ok,
    );
    let present = leaf(&own, "client", EX, Eku::ServerAuth, None, 0x57, ok);
    let pem = |k: &KeyPair| k.cert.to_pem().unwrap();
    let mut fullchain = pem(&smime);
    fullchain.extend(pem(&import_ca));
    for (name, data) in [
        ("01-server.pem", pem(&server)),
        ("02-codesign.der", code.cert.to_der().unwrap()),
        ("03-expired.pem", pem(&expired)),
        ("04-unknown-ca.pem", pem(&foreign)),
        ("05-copy-of-01.crt", pem(&server)),
        ("06-present.pem", pem(&present)),
        ("07-garbage.txt", b"this is not a certificate\n".to_vec()),
        ("08-fullchain.pem", fullchain),
        ("09-other-org.pem", pem(&nowhere)),
    ] {
        std::fs::write(certs.join(name), data).unwrap();
    }
    // One of them was imported before, with its institution given.
    let before = f.path("present.pem");
    std::fs::write(&before, pem(&present)).unwrap();
    let o = mailra(
        dir,
        &[
            "registry",
            "import-cert",
            before.to_str().unwrap(),
            "--institution",
            EX,
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    let certs_arg = certs.to_str().unwrap();
    let expected_problems = |first_run: bool| {
        let mut v = vec![
            ("03-expired.pem", "expired on "),
            ("04-unknown-ca.pem", "does not chain to a configured CA"),
            (
                "05-copy-of-01.crt",
                if first_run {
                    "serial 0x51 appears twice in this import"
                } else {
                    "already present (serial 0x51)"
                },
            ),
            ("06-present.pem", "already present (serial 0x57)"),
            ("07-garbage.txt", "not a PEM or DER certificate file"),
            (
                "09-other-org.pem",
                "O=Nowhere College is no registered institution",
            ),
        ];
        if !first_run {
            v.extend([
                ("01-server.pem", "already present (serial 0x51)"),
                ("02-codesign.der", "already present (serial 0x52)"),
                ("08-fullchain.pem", "already present (serial 0x53)"),
            ]);
        }
        v.sort();
        v
    };
    let check_problems = |report: &serde_json::Value, first_run: bool| {
        let got = problems(report);
        let want = expected_problems(first_run);
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for ((file, p), (wfile, wp)) in got.iter().zip(&want) {
            assert_eq!(file, wfile, "{got:#?}");
            assert!(
                p.starts_with(wp),
                "{file}: {p:?} does not start with {wp:?}"
            );
        }
    };
    let good = vec![
        (
            "01-server.pem".to_string(),
            "server".to_string(),
            "rsa".to_string(),
        ),
        (
            "02-codesign.der".into(),
            "codesign".into(),
            "codesign-ca".into(),
        ),
        (
            "08-fullchain.pem".into(),
            "smime".into(),
            "codesign-ca".into(),
        ),
    ];

    // A dry run checks everything and writes nothing.
    let o = mailra(
        dir,
        &["registry", "import-cert", certs_arg, "--dry-run", "--json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let r = json(&o);
    check_problems(&r, true);
    assert_eq!(imported(&r), good);
    assert_eq!(store::certificates(&f.env.conn).unwrap().len(), 1);

    let o = mailra(dir, &["registry", "import-cert", certs_arg, "--json"]);
    assert_eq!(o.status.code(), Some(1), "problems make the exit status 1");
    let r = json(&o);
    check_problems(&r, true);
    assert_eq!(imported(&r), good);

    // Recorded: the store and `cert list` show them with kind and CA.
    let all = store::certificates(&f.env.conn).unwrap();
    assert_eq!(all.len(), 4);
    let by = |serial: u8| {
        all.iter()
            .find(|c| c.serial.as_bytes() == [serial])
            .unwrap()
    };
    let s = by(0x51);
    assert_eq!(
        (s.kind, s.profile, s.ca, s.import_ca.as_deref()),
        (
            CertKind::Server,
            None,
            Some(mailra::model::CaKind::Rsa),
            None
        )
    );
    assert_eq!(s.admin_mail, "admin@example.ac.jp");
    assert!(
        s.subject_dn.contains("CN=www.example.ac.jp"),
        "{}",
        s.subject_dn
    );
    let c = by(0x52);
    assert_eq!(
        (c.kind, c.ca, c.import_ca.as_deref()),
        (CertKind::CodeSigning, None, Some("codesign-ca"))
    );
    assert_eq!(c.admin_mail, "");
    assert_eq!(c.spki_sha256, mailra::ca::cert_spki_sha256(&code.cert));
    assert_eq!(
        c.institution_id,
        store::institution_by_name(&f.env.conn, EX)
            .unwrap()
            .unwrap()
            .id
    );
    assert!(c.imported_at.is_some());
    assert_eq!(by(0x53).kind, CertKind::Smime);
    let o = mailra(dir, &["cert", "list", "--json"]);
    let listed: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let code_row = listed.iter().find(|v| v["serial"] == "0x52").unwrap();
    assert_eq!(code_row["kind"], "codesign");
    assert_eq!(code_row["ca"], "codesign-ca");
    assert_eq!(code_row["imported"], true);
    assert_eq!(code_row["profile"], serde_json::Value::Null);

    // A second run finds every good one present and records nothing.
    let o = mailra(dir, &["registry", "import-cert", certs_arg, "--json"]);
    let r = json(&o);
    check_problems(&r, false);
    assert!(imported(&r).is_empty());
    assert_eq!(store::certificates(&f.env.conn).unwrap().len(), 4);

    // Revoked, the code-signing certificate is on no CRL of the instance but
    // in the export for its CA.
    store::revoke(
        &f.env.conn,
        &store::Revocation {
            serial: c.serial.clone(),
            revoked_at: support::now(),
            reason: RevocationReason::KeyCompromise,
            comment: "key lost".into(),
        },
        None,
    )
    .unwrap();
    let o = mailra(dir, &["cert", "revoked", "--ca", "codesign-ca", "--json"]);
    assert!(o.status.success());
    let r = json(&o);
    assert_eq!(r["serial"], "0x52");
    assert_eq!(r["reason_code"], 1);
    assert!(
        r["issuer"]
            .as_str()
            .unwrap()
            .contains("Code Signing Import CA"),
        "{r}"
    );
    for ca in ["rsa", "ec"] {
        let o = mailra(dir, &["cert", "revoked", "--ca", ca, "--json"]);
        assert!(o.status.success());
        assert!(
            o.stdout.is_empty(),
            "{ca}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

#[test]
fn import_cert_with_an_unknown_institution_or_a_broken_import_ca_stops_before_anything() {
    let f = Fixture::new();
    let dir = f.dir.path();
    let p = f.path("x.pem");
    std::fs::write(&p, "x").unwrap();
    let o = mailra(
        dir,
        &[
            "registry",
            "import-cert",
            p.to_str().unwrap(),
            "--institution",
            "No Such University",
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("No Such University"));
    // The configuration check names every bad import CA entry at once.
    std::fs::write(f.path("pki/garbage.pem"), "garbage").unwrap();
    configure(
        dir,
        "ca",
        "import_cas = [\"pki/absent.pem\", \"pki/garbage.pem\"]",
    );
    let o = mailra(dir, &["registry", "import-cert", p.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("ca.import_cas[0]: file") && err.contains("not found"),
        "{err}"
    );
    assert!(
        err.contains("ca.import_cas[1]: file") && err.contains("holds no PEM certificate"),
        "{err}"
    );
}
