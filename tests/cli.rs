//! The `mailra` binary as an operator and an officer use it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mailra(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(args)
        .env_remove("MAILRA_DIR")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn demo_runs_twice_and_shows_every_expected_verdict() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("demo");
    let dir = dir.to_str().unwrap();
    for run in 0..2 {
        let o = mailra(&["demo", "--dir", dir]);
        let t = text(&o);
        assert!(o.status.success(), "run {run}: {t}");
        for (mail, verdict) in [
            ("01-issue-rsa2048", "accepted"),
            ("02-issue-p384-opaque", "accepted"),
            ("03-renewal", "accepted"),
            ("04-revocation", "accepted"),
            ("05-dry-run", "checked"),
            ("06-unsigned", "rejected"),
            ("07-tampered", "rejected"),
            ("08-other-ca", "rejected"),
            ("09-from-mismatch", "rejected"),
            ("10-other-institution", "invalid"),
            ("11-broken-rows", "invalid"),
            ("12-replay-of-01", "duplicate"),
            ("13-key-compromise", "held"),
        ] {
            let line = t
                .lines()
                .find(|l| l.starts_with(mail))
                .unwrap_or_else(|| panic!("{mail} missing:\n{t}"));
            assert!(
                line.split_whitespace().nth(1) == Some(verdict),
                "{mail}: {line}"
            );
        }
        // One CRL per issuing CA.
        for crl in ["crl/ca.crl.pem", "crl/ca-ec.crl.pem"] {
            assert!(t.contains(crl), "run {run}: {crl} not shown:\n{t}");
        }
    }
    // 3 certificates issued (2 + the renewal) on top of 3 seeded; one revoked,
    // one revocation (keyCompromise) held for review.
    let revoked = || {
        let o = mailra(&["cert", "list", "--dir", dir, "--json"]);
        let certs: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(certs.len(), 6, "{certs:?}");
        certs.iter().filter(|c| c["status"] == "revoked").count()
    };
    assert_eq!(revoked(), 1);
    let o = mailra(&["cert", "list", "--dir", dir, "--json"]);
    let certs: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Mail 02's profile 11 certificate comes from the ECDSA CA, every other from the RSA CA.
    for c in &certs {
        let ca = if c["profile"] == 11 { "ec" } else { "rsa" };
        assert_eq!(c["ca"], ca, "{c}");
    }
    assert_eq!(certs.iter().filter(|c| c["ca"] == "ec").count(), 1);
    let p384 = certs.iter().find(|c| c["ca"] == "ec").unwrap();
    let o = mailra(&[
        "cert",
        "show",
        "--dir",
        dir,
        p384["serial"].as_str().unwrap(),
    ]);
    let shown = text(&o);
    assert!(shown.contains("issuing CA: ECDSA P-384 (ec)"), "{shown}");
    let pem = shown
        .find("-----BEGIN CERTIFICATE-----")
        .map(|i| &shown[i..])
        .unwrap();
    let cert = support::write(d.path(), "p384.pem", pem.as_bytes());
    let ca_ec = Path::new(dir).join("pki/ca-ec.pem");
    let (ok, out) = support::openssl(&["verify", "-CAfile", ca_ec.to_str().unwrap(), &cert]);
    assert!(ok, "{out}");
    let (_, out) = support::openssl(&["x509", "-in", &cert, "-noout", "-text"]);
    assert!(
        out.contains("Signature Algorithm: ecdsa-with-SHA384"),
        "{out}"
    );
    // The mails are filed in the folders of the default rules.
    for (folder, mail) in [
        (".Processed.Issued", "01-issue-rsa2048.eml:2,S"),
        (".Processed.Revoked", "04-revocation.eml:2,S"),
        (".Rejected.Unsigned", "06-unsigned.eml:2,S"),
        (".Rejected.Signature", "07-tampered.eml:2,S"),
        (".Rejected.Invalid", "11-broken-rows.eml:2,S"),
        (".Review", "13-key-compromise.eml:2,S"),
    ] {
        let p = Path::new(dir)
            .join("maildir")
            .join(folder)
            .join("cur")
            .join(mail);
        assert!(p.exists(), "{} missing", p.display());
    }
    // The secretariat approves the held revocation: carried out once, refiled.
    let o = mailra(&["review", "list", "--dir", dir, "--json"]);
    let held: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(held.len(), 1, "{}", text(&o));
    assert_eq!(held[0]["rule"], "hold-key-compromise");
    let id = held[0]["id"].to_string();
    let o = mailra(&["review", "approve", "--dir", dir, &id, "--by", "tester"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("accepted: 0 issued, 1 revoked"),
        "{}",
        text(&o)
    );
    assert_eq!(revoked(), 2);
    let o = mailra(&["review", "approve", "--dir", dir, &id]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is not held for review"), "{}", text(&o));
    assert_eq!(revoked(), 2);
    assert!(
        Path::new(dir)
            .join("maildir/.Processed.Revoked/cur/13-key-compromise.eml:2,S")
            .exists()
    );
    // A folder the demo did not make is never removed.
    let other = d.path().join("precious");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep"), "x").unwrap();
    let o = mailra(&["demo", "--dir", other.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(other.join("keep").exists());
}

#[test]
fn check_reports_every_error_of_the_broken_samples_and_passes_the_good_ones() {
    for good in ["server-issue.tsv", "server-renew.tsv", "server-revoke.tsv"] {
        let o = mailra(&["check", repo(&format!("samples/{good}")).to_str().unwrap()]);
        assert!(o.status.success(), "{good}: {}", text(&o));
    }
    let mut n = 0;
    for e in std::fs::read_dir(repo("samples/broken")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "tsv") {
            continue;
        }
        n += 1;
        let o = mailra(&["check", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}: {}", p.display(), text(&o));
        let expected = std::fs::read_to_string(p.with_extension("expected")).unwrap();
        let out = text(&o);
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                out.contains(line),
                "{}: expected {line:?} in\n{out}",
                p.display()
            );
        }
    }
    assert!(n >= 10, "only {n} broken samples");
}

/// Thunderbird's own S/MIME test messages: mailra agrees with every verdict.
#[test]
fn verify_agrees_with_thunderbird_on_its_test_corpus() {
    let tb = repo("tests/fixtures/thunderbird-smime");
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("inst");
    // An instance trusting Thunderbird's test CA, with a robot certificate of our own.
    let robot_ca = mailra::ca::new_ca(
        "Robot CA",
        "Test",
        support::now(),
        30,
        mailra::ca::KeyKind::Rsa2048,
    )
    .unwrap();
    let robot =
        mailra::ca::new_mail_cert(&robot_ca, "robot@example.org", "robot", support::now(), 30)
            .unwrap();
    let rc = support::write(d.path(), "robot.pem", &robot.cert.to_pem().unwrap());
    let rk = support::write(
        d.path(),
        "robot.key",
        &robot.key.private_key_to_pem_pkcs8().unwrap(),
    );
    let dir_s = dir.to_str().unwrap();
    let o = mailra(&[
        "init",
        "--dir",
        dir_s,
        "--officer-ca",
        tb.join("TestCA.pem").to_str().unwrap(),
        "--robot-cert",
        &rc,
        "--robot-key",
        &rk,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    register(
        dir_s,
        ["Example Org", "Tokyo", "Chiyoda-ku", "example.com"],
        "Alice@example.com",
    );
    let at = "2023-11-21T21:00:00Z";
    for (file, good, check) in [
        ("alice.dsig.SHA256.multipart.eml", true, ""),
        ("alice.dsig.SHA512.multipart.eml", true, ""),
        ("alice.sig.SHA256.opaque.eml", true, ""),
        ("alice.sig.SHA512.opaque.eml", true, ""),
        ("alice.dsig.SHA1.multipart.eml", false, "algorithms"),
        ("alice.dsig.SHA256.multipart.bad.eml", false, "digest"),
        (
            "alice.dsig.SHA256.multipart.mismatch-econtent.eml",
            false,
            "structure",
        ),
        (
            "alice.future.dsig.SHA256.multipart.eml",
            false,
            "signing-time",
        ),
        (
            "alice.plain.dsig.SHA256.multipart.dave.dsig.SHA256.multipart.eml",
            false,
            "structure",
        ),
        ("alice.env.eml", false, "structure"),
    ] {
        let o = mailra(&[
            "verify",
            "--dir",
            dir_s,
            tb.join(file).to_str().unwrap(),
            "--at",
            at,
        ]);
        let t = text(&o);
        assert_eq!(o.status.success(), good, "{file}: {t}");
        if good {
            assert!(
                t.contains("GOOD signature from registered officer alice@example.com"),
                "{file}: {t}"
            );
        } else {
            assert!(
                t.contains(&format!("verdict: BAD ({check})")),
                "{file}: expected {check}: {t}"
            );
        }
    }
    // Without --at the same good mail is too old (and Alice's certificate may have expired).
    let o = mailra(&[
        "verify",
        "--dir",
        dir_s,
        tb.join("alice.dsig.SHA256.multipart.eml").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
}

#[test]
fn process_prints_one_json_object_per_mail_and_init_refuses_to_overwrite() {
    let mut f = support::Fixture::new();
    let dn = support::ex_dn("www.example.ac.jp");
    let line = mailra::kit::forms::issue_line(
        &dn,
        3,
        &mailra::kit::forms::csr_field(&support::rsa(), &dn).unwrap(),
        "",
        "a@example.ac.jp",
        "",
    );
    let good = f.mail(&f.o1, support::O1, "発行", &line);
    let p1 = support::write(f.dir.path(), "good.eml", &good);
    let p2 = support::write(
        f.dir.path(),
        "garbage.eml",
        b"this is not a mail at all\r\n",
    );
    let dir = f.dir.path().to_str().unwrap().to_string();
    // The fixture's connection stays open: WAL lets the CLI work beside it.
    let o = mailra(&["process", "--dir", &dir, "--json", &p1, &p2]);
    assert!(o.status.success(), "{}", text(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["verdict"], "accepted");
    assert_eq!(lines[0]["issued"].as_array().unwrap().len(), 1);
    assert_eq!(lines[1]["verdict"], "rejected");
    assert_eq!(f.cert_count(), 1);
    let serial = lines[0]["issued"][0].as_str().unwrap();
    let o = mailra(&["cert", "show", "--dir", &dir, serial]);
    assert!(
        text(&o).contains("status: valid") && text(&o).contains("BEGIN CERTIFICATE"),
        "{}",
        text(&o)
    );
    // `mailra crl`: the path of each issuing CA's CRL, made on demand.
    let o = mailra(&["crl", "--dir", &dir]);
    assert!(o.status.success(), "{}", text(&o));
    let paths: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        paths,
        [
            f.path("crl/ca.crl.pem").display().to_string(),
            f.path("crl/ca-ec.crl.pem").display().to_string()
        ]
    );
    for (crl, ca) in [("ca.crl.pem", "ca.pem"), ("ca-ec.crl.pem", "ca-ec.pem")] {
        let (ok, out) = support::openssl(&[
            "crl",
            "-in",
            f.path(&format!("crl/{crl}")).to_str().unwrap(),
            "-CAfile",
            f.path(&format!("pki/{ca}")).to_str().unwrap(),
            "-noout",
        ]);
        assert!(ok && out.contains("verify OK"), "{crl}: {out}");
    }
    let o = mailra(&["init", "--dir", &dir]);
    assert!(!o.status.success() && text(&o).contains("already holds an instance"));
    let _ = f.process(&good);
}

#[test]
fn run_watches_the_maildir_files_each_mail_and_stops_on_sigterm() {
    let f = support::Fixture::new();
    let dir = f.dir.path().to_str().unwrap().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(["run", "--dir", &dir, "--interval", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Should an assertion fail, the daemon is stopped rather than left behind.
    let mut child = KillOnDrop(Some(child));
    let dn = support::ex_dn("www.example.ac.jp");
    let line = mailra::kit::forms::issue_line(
        &dn,
        3,
        &mailra::kit::forms::csr_field(&support::rsa(), &dn).unwrap(),
        "",
        "a@example.ac.jp",
        "",
    );
    let good = f.mail(&f.o1, support::O1, "発行", &line);
    mailra::mail::maildir::deliver(&f.path("maildir"), "1700000000.good.eml", &good).unwrap();
    mailra::mail::maildir::deliver(&f.path("maildir"), "1700000001.junk.eml", b"no mail here")
        .unwrap();
    // Filed by the default rules: `Processed/Issued` is `.Processed.Issued`.
    let processed = f.path("maildir/.Processed.Issued/cur/1700000000.good.eml:2,S");
    let rejected = f.path("maildir/.Rejected.Unsigned/cur/1700000001.junk.eml:2,S");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(processed.exists() && rejected.exists()) {
        assert!(
            std::time::Instant::now() < deadline,
            "mails were not filed in time"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let child = child.0.take().unwrap();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "run must exit cleanly on SIGTERM");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1700000000.good.eml: accepted"), "{stdout}");
    assert_eq!(f.cert_count(), 1);
    assert_eq!(
        std::fs::read(&processed).unwrap(),
        good,
        "the mail is kept as it came"
    );
}

#[test]
fn init_brings_an_existing_ecdsa_ca_and_refuses_one_that_is_not_p384() {
    let d = tempfile::tempdir().unwrap();
    let now = support::now();
    let given = |name: &str, kind| {
        let ca = mailra::ca::new_ca(name, "Example CA Org", now, 30, kind).unwrap();
        (
            support::write(d.path(), &format!("{name}.pem"), &ca.cert_pem().unwrap()),
            support::write(d.path(), &format!("{name}.key"), &ca.key_pem().unwrap()),
        )
    };
    let (ec_pem, ec_key) = given("ec", mailra::ca::KeyKind::P384);
    let dir = d.path().join("inst");
    let dir_s = dir.to_str().unwrap();
    let o = mailra(&[
        "init",
        "--dir",
        dir_s,
        "--ca-ec-cert",
        &ec_pem,
        "--ca-ec-key",
        &ec_key,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(dir.join("pki/ca-ec.pem")).unwrap(),
        std::fs::read(&ec_pem).unwrap()
    );
    let toml = std::fs::read_to_string(dir.join("mailra.toml")).unwrap();
    assert!(
        toml.contains("ec_cert = \"pki/ca-ec.pem\"") && toml.contains("ec_key = \"pki/ca-ec.key\""),
        "{toml}"
    );
    // The RSA issuing CA was generated beside it.
    assert!(dir.join("pki/ca.pem").is_file());

    // Half a pair is a usage error; an RSA key is not an ECDSA P-384 CA.
    let o = mailra(&[
        "init",
        "--dir",
        &format!("{dir_s}2"),
        "--ca-ec-cert",
        &ec_pem,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--ca-ec-key"), "{}", text(&o));
    let (rsa_pem, rsa_key) = given("rsa", mailra::ca::KeyKind::Rsa2048);
    let o = mailra(&[
        "init",
        "--dir",
        &format!("{dir_s}3"),
        "--ca-ec-cert",
        &rsa_pem,
        "--ca-ec-key",
        &rsa_key,
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("must have a P-384 key, this one is RSA 2048"),
        "{}",
        text(&o)
    );
}

#[test]
fn rules_check_lists_every_error_and_broken_rules_stop_the_robot_from_starting() {
    // The broken fixtures, given as files: every expected line, non-zero exit.
    let broken = repo("tests/fixtures/rules/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&broken)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    // Run beside the files, so the messages name them as the .expected files do.
    let mut args = vec!["rules", "check"];
    args.extend(
        files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap()),
    );
    let o = Command::new(env!("CARGO_BIN_EXE_mailra"))
        .args(&args)
        .current_dir(&broken)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    let mut n = 0;
    for p in &files {
        for line in std::fs::read_to_string(p.with_extension("expected"))
            .unwrap()
            .lines()
        {
            n += 1;
            assert!(out.contains(line), "expected {line:?} in\n{out}");
        }
    }
    assert!(out.contains(&format!("{n} error(s)")), "{out}");

    // A healthy instance: the rules init wrote check clean.
    let f = support::Fixture::new();
    let dir = f.dir.path().to_str().unwrap().to_string();
    let o = mailra(&["rules", "check", "--dir", &dir]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 file(s) in"), "{}", text(&o));

    // Two broken files in the instance's rules folder: `rules check` and
    // `process` (like `run`) report every error of both, and nothing starts.
    for name in ["bad-folders", "unknown-key"] {
        std::fs::copy(
            broken.join(format!("{name}.toml")),
            f.path(&format!("rules/{name}.toml")),
        )
        .unwrap();
    }
    let expected: Vec<String> = ["bad-folders", "unknown-key"]
        .iter()
        .flat_map(|name| {
            std::fs::read_to_string(broken.join(format!("{name}.expected")))
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let mail = support::write(f.dir.path(), "m.eml", b"From: a@b.jp\r\n\r\nhello\r\n");
    for args in [
        vec!["rules", "check", "--dir", &dir],
        vec!["process", "--dir", &dir, &mail],
        vec!["run", "--dir", &dir, "--once"],
    ] {
        let o = mailra(&args);
        assert!(!o.status.success(), "{args:?} must fail: {}", text(&o));
        let out = text(&o);
        for line in &expected {
            assert!(
                out.contains(line.as_str()),
                "{args:?}: {line:?} missing in\n{out}"
            );
        }
    }
    assert_eq!(f.cert_count(), 0);
    let mails = mailra::store::mails(&f.env.conn, &Default::default())
        .unwrap()
        .len();
    assert_eq!(mails, 0, "nothing was processed");
}

/// Issue 8 defect 4: `init --officer-ca` alone used to fail ("give --robot-cert
/// and --robot-key"). The robot's certificate is now issued by a robot CA of
/// the instance's own, init says that officers must trust it, and the robot's
/// replies verify against it.
#[test]
fn init_with_officer_ca_generates_robot_cert() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("inst");
    let dir_s = dir.to_str().unwrap();
    // The university's officer CA: only its certificate is given to init.
    let officer_ca = mailra::ca::new_ca(
        "University Officer CA",
        "Example University",
        support::now(),
        365,
        mailra::ca::KeyKind::Rsa2048,
    )
    .unwrap();
    let oca = support::write(d.path(), "officer-ca.pem", &officer_ca.cert_pem().unwrap());
    let o = mailra(&[
        "init",
        "--dir",
        dir_s,
        "--officer-ca",
        &oca,
        "--robot-address",
        "ra@certs.example.ac.jp",
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let robot_ca = dir.join("pki/robot-ca.pem");
    assert!(
        out.contains(&robot_ca.display().to_string()) && out.contains("trust"),
        "init must say that officers need the robot CA:\n{out}"
    );
    assert!(dir.join("pki/robot-ca.key").is_file());
    assert!(!dir.join("pki/officer-ca.key").exists());
    let robot_ca_s = robot_ca.to_str().unwrap();
    let robot = dir.join("pki/robot.pem");
    let (ok, t) = support::openssl(&[
        "verify",
        "-purpose",
        "smimesign",
        "-CAfile",
        robot_ca_s,
        robot.to_str().unwrap(),
    ]);
    assert!(ok && t.contains(": OK"), "{t}");

    // An officer's mail gets a reply signed by the robot.
    register(
        dir_s,
        ["Example University", "Tokyo", "Chiyoda-ku", "example.ac.jp"],
        "officer@example.ac.jp",
    );
    let officer = support::signer(&officer_ca, "officer@example.ac.jp");
    let tsv = "5-3-1\nnot a valid row\n";
    let mail = mailra::kit::mail::application_mail(
        &officer,
        "officer@example.ac.jp",
        "ra@certs.example.ac.jp",
        "[check] application",
        &[mailra::kit::mail::FileSpec {
            name: "application.tsv".into(),
            data: mailra::kit::forms::sjis(tsv),
        }],
        false,
        support::now(),
    )
    .unwrap();
    let m = support::write(d.path(), "mail.eml", &mail);
    let o = mailra(&["process", "--dir", dir_s, &m]);
    assert!(
        o.status.success() || o.status.code() == Some(1),
        "{}",
        text(&o)
    );
    let replies: Vec<PathBuf> = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert!(!replies.is_empty(), "no reply in the outbox: {}", text(&o));
    for r in &replies {
        let verify = |ca: &str| {
            support::openssl(&[
                "smime",
                "-verify",
                "-in",
                r.to_str().unwrap(),
                "-CAfile",
                ca,
                "-out",
                "/dev/null",
            ])
        };
        let (ok, t) = verify(robot_ca_s);
        assert!(ok, "{}: {t}", r.display());
        // The officer CA alone does not vouch for the robot: hence the note.
        assert!(
            !verify(&oca).0,
            "{} verified without the robot CA",
            r.display()
        );
    }
}

/// The lines of a command's standard output.
fn stdout_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The JSON objects a `--json` command printed, one per line.
fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout_lines(o)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn verify_verdict_is_on_its_own_line() {
    let f = support::Fixture::new();
    let dir = f.dir.path().to_str().unwrap().to_string();
    let dn = support::ex_dn("www.example.ac.jp");
    let line = mailra::kit::forms::issue_line(
        &dn,
        3,
        &mailra::kit::forms::csr_field(&support::rsa(), &dn).unwrap(),
        "",
        "a@example.ac.jp",
        "",
    );
    let good = support::write(
        f.dir.path(),
        "good.eml",
        &f.mail(&f.o1, support::O1, "発行", &line),
    );
    let unsigned = support::write(f.dir.path(), "plain.eml", b"From: a@b.jp\r\n\r\nhello\r\n");
    for (mail, ok, verdict) in [
        (
            &good,
            true,
            "verdict: GOOD signature from registered officer",
        ),
        (&unsigned, false, "verdict: BAD ("),
    ] {
        let o = mailra(&["verify", "--dir", &dir, mail]);
        assert_eq!(o.status.success(), ok, "{}", text(&o));
        let lines = stdout_lines(&o);
        assert!(
            lines.iter().any(|l| l.starts_with(verdict)),
            "{verdict:?} does not start a line:\n{}",
            text(&o)
        );
        // Nothing else is glued to a line: every line but the verdict is one check
        // or the summary, and "verdict:" appears nowhere else.
        assert_eq!(
            lines.iter().filter(|l| l.contains("verdict:")).count(),
            1,
            "{}",
            text(&o)
        );
    }
}

/// A fresh instance made by `mailra init`, robot address as in the test kit.
fn fresh_instance(d: &Path) -> String {
    let dir = d.join("inst");
    let dir = dir.to_str().unwrap().to_string();
    let o = mailra(&["init", "--dir", &dir, "--robot-address", mailra::kit::ROBOT]);
    assert!(o.status.success(), "{}", text(&o));
    dir
}

fn registry_json(dir: &str) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let i = mailra(&["registry", "institution", "list", "--dir", dir, "--json"]);
    let o = mailra(&["registry", "officer", "list", "--dir", dir, "--json"]);
    assert!(i.status.success() && o.status.success());
    (json_lines(&i), json_lines(&o))
}

#[test]
fn registry_import_of_shift_jis_tsv_and_utf8_csv_twice_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let dir = fresh_instance(d.path());
    // The shipped sample, saved as Shift_JIS with Japanese column names (as
    // Excel on a Japanese Windows saves "text (tab-separated)").
    let tsv = std::fs::read_to_string(repo("samples/registry.tsv")).unwrap();
    let japanese = tsv.replacen(
        "institution\tst\tl\tdomains\tofficer\tregistered_on",
        "機関名\t都道府県\t市区町村\tドメイン\t担当者\t登録日",
        1,
    );
    assert_ne!(japanese, tsv);
    let sjis = support::write(
        d.path(),
        "registry-sjis.tsv",
        &mailra::kit::forms::sjis(&japanese),
    );
    let import = |file: &str| {
        let o = mailra(&["registry", "import", "--dir", &dir, file, "--json"]);
        assert!(o.status.success(), "{file}: {}", text(&o));
        json_lines(&o).remove(0)
    };
    let first = import(&sjis);
    assert_eq!(first["institutions_added"], 3, "{first}");
    assert_eq!(first["officers_added"], 3, "{first}");
    let (institutions, officers) = registry_json(&dir);
    assert_eq!(institutions.len(), 3);
    let ex = institutions
        .iter()
        .find(|i| i["name"] == "Example University")
        .unwrap();
    assert_eq!(ex["st"], "Tokyo");
    assert_eq!(
        ex["domains"],
        serde_json::json!(["ex-univ.jp", "example.ac.jp"])
    );
    // The sample's organizationIdentifier and PKCS#12 encryption columns
    // (the CSV gives bare corporate numbers: the same values).
    assert_eq!(ex["organization_identifier"], "NTRJP-9234567890123");
    assert_eq!(ex["p12_encryption"], serde_json::Value::Null);
    let sample = institutions
        .iter()
        .find(|i| i["name"] == "Sample Institute of Technology")
        .unwrap();
    assert_eq!(sample["organization_identifier"], "NTRJP-8234567890124");
    assert_eq!(sample["p12_encryption"], "modern");
    let dated: Vec<(String, String)> = officers
        .iter()
        .map(|o| {
            (
                o["email"].as_str().unwrap().to_string(),
                o["registered_on"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        dated.contains(&("officer@example.ac.jp".into(), "2019-04-01".into())),
        "{dated:?}"
    );
    assert!(
        dated.contains(&("tanto@sample-tech.ac.jp".into(), "2021-04-01".into())),
        "{dated:?}"
    );

    // The same registry as a UTF-8 CSV with a byte-order mark, and the first
    // file again: nothing changes.
    for file in [repo("samples/registry.csv").to_str().unwrap(), &sjis] {
        let again = import(file);
        for (k, n) in [
            ("institutions_added", 0),
            ("institutions_updated", 0),
            ("institutions_unchanged", 3),
            ("officers_added", 0),
            ("officers_updated", 0),
            ("officers_unchanged", 3),
        ] {
            assert_eq!(again[k], n, "{file}: {k}: {again}");
        }
    }
    assert_eq!(registry_json(&dir), (institutions, officers));
    let o = mailra(&["registry", "import", "--dir", &dir, &sjis]);
    assert!(text(&o).contains("nothing changed"), "{}", text(&o));
}

#[test]
fn registry_import_with_errors_writes_nothing_and_lists_every_error_line() {
    let d = tempfile::tempdir().unwrap();
    let dir = fresh_instance(d.path());
    let file = support::write(
        d.path(),
        "broken.csv",
        concat!(
            "institution,st,l,domains,officer,registered_on\n",
            "Example University,Tokyo,Chiyoda-ku,example.ac.jp,officer@example.ac.jp,2019-04-01\n",
            "Example University,Osaka,,,second@example.ac.jp,2019-04-01\n",
            "Sample Institute of Technology,Osaka,Suita-shi,sample-tech.ac.jp,not-a-mail,2020-01-01\n",
            "Other University,Kyoto,Sakyo-ku,example.ac.jp,other@other.ac.jp,2020-02-30\n",
            "\n",
            "Third College,Nara,Nara-shi,third.ac.jp,officer@example.ac.jp,2019-04-01\n",
        )
        .as_bytes(),
    );
    let o = mailra(&["registry", "import", "--dir", &dir, &file]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    for expected in [
        "line 3, st: \"Osaka\" differs from \"Tokyo\" on line 2",
        "line 4, officer: \"not-a-mail\" is not a mail address",
        "line 5, domains: domain example.ac.jp is also given to \"Example University\" on line 2",
        "line 5, registered_on: \"2020-02-30\" is not a date",
        "line 7, officer: officer officer@example.ac.jp is already on line 2",
        "5 error(s); nothing was imported",
    ] {
        assert!(out.contains(expected), "{expected:?} missing in\n{out}");
    }
    assert_eq!(registry_json(&dir), (vec![], vec![]), "nothing was written");

    // A conflict with the registry is an error too: an officer registered
    // to another institution.
    let good = support::write(
        d.path(),
        "good.tsv",
        b"institution\tst\tl\tdomains\tofficer\nExample University\tTokyo\tChiyoda-ku\texample.ac.jp\tofficer@example.ac.jp\n",
    );
    assert!(
        mailra(&["registry", "import", "--dir", &dir, &good])
            .status
            .success()
    );
    let moved = support::write(
        d.path(),
        "moved.tsv",
        b"institution\tst\tl\tdomains\tofficer\nOther University\tKyoto\tSakyo-ku\tother.ac.jp\tofficer@example.ac.jp\n",
    );
    let o = mailra(&["registry", "import", "--dir", &dir, &moved]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(
            "line 2, officer: officer officer@example.ac.jp is registered to \"Example University\""
        ),
        "{}",
        text(&o)
    );
    assert_eq!(registry_json(&dir).0.len(), 1, "Other University not added");
}

/// Defect: on a first deployment every officer counted as registered today,
/// so the shipped rule holding requests of officers registered in the last 7
/// days held every request for a week.
#[test]
fn first_deployment_officers_are_not_held() {
    let d = tempfile::tempdir().unwrap();
    let dir = fresh_instance(d.path());
    let file = support::write(
        d.path(),
        "registry.tsv",
        concat!(
            "institution\tst\tl\tdomains\tofficer\tregistered_on\n",
            "Example University\tTokyo\tChiyoda-ku\texample.ac.jp\tofficer@example.ac.jp\t2019-04-01\n",
            "Example University\t\t\t\tnewcomer@example.ac.jp\t\n",
        )
        .as_bytes(),
    );
    let o = mailra(&["registry", "import", "--dir", &dir, &file]);
    assert!(o.status.success(), "{}", text(&o));
    let officer_ca = mailra::ca::KeyPair::load(
        &Path::new(&dir).join("pki/officer-ca.pem"),
        &Path::new(&dir).join("pki/officer-ca.key"),
    )
    .unwrap();
    let mail = |from: &str, cn: &str| {
        let dn = support::ex_dn(cn);
        let line = mailra::kit::forms::issue_line(
            &dn,
            3,
            &mailra::kit::forms::csr_field(&support::rsa(), &dn).unwrap(),
            "",
            "admin@example.ac.jp",
            "",
        );
        let raw = mailra::kit::mail::application_mail(
            &support::signer(&officer_ca, from),
            from,
            mailra::kit::ROBOT,
            "サーバ証明書発行申請",
            &[mailra::kit::mail::FileSpec {
                name: "application.tsv".into(),
                data: mailra::kit::forms::sjis(&line),
            }],
            false,
            support::now(),
        )
        .unwrap();
        support::write(d.path(), &format!("{cn}.eml"), &raw)
    };
    let old = mail("officer@example.ac.jp", "www.example.ac.jp");
    let new = mail("newcomer@example.ac.jp", "lms.example.ac.jp");
    let o = mailra(&["process", "--dir", &dir, "--json", &old, &new]);
    assert!(o.status.success(), "{}", text(&o));
    let out = json_lines(&o);
    assert_eq!(
        out[0]["verdict"], "accepted",
        "registered in 2019: {}",
        out[0]
    );
    assert_eq!(out[0]["issued"].as_array().unwrap().len(), 1);
    // The rule still holds the request of an officer registered today.
    assert_eq!(out[1]["verdict"], "held", "registered today: {}", out[1]);

    // `officer add --registered-on` gives the same date one officer at a time.
    let o = mailra(&[
        "registry",
        "officer",
        "add",
        "--dir",
        &dir,
        "--email",
        "veteran@example.ac.jp",
        "--institution",
        "Example University",
        "--registered-on",
        "2020-10-01",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let veteran = mail("veteran@example.ac.jp", "mail.example.ac.jp");
    let o = mailra(&["process", "--dir", &dir, "--json", &veteran]);
    assert_eq!(json_lines(&o)[0]["verdict"], "accepted", "{}", text(&o));
}

/// Registers an institution (name, ST, L, domain) and one officer of it
/// with the CLI, as a secretariat would.
fn register(dir: &str, [name, st, l, domain]: [&str; 4], officer: &str) {
    for args in [
        vec![
            "registry",
            "institution",
            "add",
            "--dir",
            dir,
            "--name",
            name,
            "--st",
            st,
            "--l",
            l,
            "--domain",
            domain,
        ],
        vec![
            "registry",
            "officer",
            "add",
            "--dir",
            dir,
            "--email",
            officer,
            "--institution",
            name,
        ],
    ] {
        let o = mailra(&args);
        assert!(o.status.success(), "{}", text(&o));
    }
}

/// The organizationIdentifier (S/MIME BR) and the PKCS#12 encryption of an
/// institution: given at `add`, changed and cleared with `set`, shown by
/// `list` (for people and as JSON); a wrong value is refused with its
/// reason and exit status 2, and changes nothing.
#[test]
fn registry_institution_org_id_and_p12_encryption_are_set_cleared_and_listed() {
    let d = tempfile::tempdir().unwrap();
    let dir = fresh_instance(d.path());
    let run = |args: &[&str]| {
        let mut all = vec!["registry", "institution"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--dir", &dir]);
        mailra(&all)
    };
    let ok = |args: &[&str]| {
        let o = run(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        text(&o)
    };
    let refused = |args: &[&str], why: &str| {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(why),
            "{args:?}: {why:?} missing in {}",
            text(&o)
        );
    };
    // (organization_identifier, p12_encryption) of each institution, by name.
    let listed = || {
        let (list, _) = registry_json(&dir);
        list.iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_string(),
                    i["organization_identifier"].clone(),
                    i["p12_encryption"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let ex = "Example University";
    let sample = "Sample Institute of Technology";
    let row =
        |name: &str, org: serde_json::Value, p12: serde_json::Value| (name.to_string(), org, p12);
    use serde_json::Value::Null;
    use serde_json::json;

    // A bare corporate number is stored with NTRJP-.
    let out = ok(&[
        "add",
        "--name",
        ex,
        "--st",
        "Tokyo",
        "--l",
        "Chiyoda-ku",
        "--domain",
        "example.ac.jp",
        "--org-id",
        "9234567890123",
        "--p12-encryption",
        "modern",
    ]);
    assert!(out.contains("NTRJP-9234567890123"), "{out}");
    ok(&[
        "add",
        "--name",
        sample,
        "--st",
        "Osaka",
        "--l",
        "Suita-shi",
        "--domain",
        "sample-tech.ac.jp",
    ]);
    let start = vec![
        row(ex, json!("NTRJP-9234567890123"), json!("modern")),
        row(sample, Null, Null),
    ];
    assert_eq!(listed(), start);

    // Wrong values: refused, with why, and nothing changes.
    refused(
        &["set", "--name", ex, "--org-id", "NTRJP-1234567890123"],
        "its check digit (the first) should be 9",
    );
    refused(
        &[
            "set",
            "--name",
            ex,
            "--org-id",
            "JP-9234567890123",
            "--no-digest",
        ],
        "is not an organizationIdentifier",
    );
    refused(
        &["set", "--name", ex, "--p12-encryption", "aes"],
        "\"aes\" is not a PKCS#12 encryption",
    );
    refused(
        &[
            "add",
            "--name",
            "Third College",
            "--st",
            "Nara",
            "--l",
            "Nara-shi",
            "--domain",
            "third.ac.jp",
            "--org-id",
            "NTRJP-923456789012",
        ],
        "a corporate number (法人番号) has 13 digits, not 12",
    );
    refused(
        &["set", "--name", "Nowhere", "--no-org-id"],
        "no institution \"Nowhere\"",
    );
    refused(&["set", "--name", ex], "nothing to set");
    refused(
        &[
            "set",
            "--name",
            ex,
            "--org-id",
            "NTRJP-9234567890123",
            "--no-org-id",
        ],
        "cannot be used with",
    );
    assert_eq!(listed(), start, "nothing changed");

    // Cleared, back to the default; then set again.
    let out = ok(&[
        "set",
        "--name",
        ex,
        "--no-org-id",
        "--p12-encryption",
        "default",
    ]);
    assert!(out.contains("organizationIdentifier -"), "{out}");
    assert!(out.contains("PKCS#12 encryption default"), "{out}");
    ok(&[
        "set",
        "--name",
        sample,
        "--org-id",
        "NTRJP-8234567890124",
        "--p12-encryption",
        "compatible",
    ]);
    assert_eq!(
        listed(),
        [
            row(ex, Null, Null),
            row(sample, json!("NTRJP-8234567890124"), json!("compatible")),
        ]
    );
    let table = ok(&["list"]);
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing in\n{table}"))
            .split_whitespace()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
    };
    assert!(table.contains("organizationIdentifier"), "{table}");
    assert_eq!(line(ex), ["default", "-"], "{table}");
    assert_eq!(
        line(sample),
        ["compatible", "NTRJP-8234567890124"],
        "{table}"
    );
}

#[test]
fn forms_template_writes_a_workbook_that_reads_back_and_refuses_an_unknown_form() {
    use calamine::{Data, Reader, Xlsx};
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("client-issue.xlsx");
    let o = mailra(&[
        "forms",
        "template",
        "client-issue",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("5-4-1"), "{}", text(&o));
    let mut wb: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let sheets = wb.sheet_names();
    assert_eq!(sheets.len(), 2, "{sheets:?}");
    let form = wb.worksheet_range(&sheets[0]).unwrap();
    let header: Vec<&Data> = form.rows().next().unwrap().iter().collect();
    assert_eq!(header.len(), 15);
    assert_eq!(
        header[2],
        &Data::String("ダウンロード方法 / Download method".into())
    );
    let example = wb.worksheet_range(&sheets[1]).unwrap();
    assert_eq!(example.rows().nth(1).unwrap().len(), 15);

    // The form code selects the same form; an unknown form writes nothing.
    let by_code = d.path().join("5-3-3.xlsx");
    let o = mailra(&[
        "forms",
        "template",
        "5-3-3",
        "-o",
        by_code.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let wb: Xlsx<_> = calamine::open_workbook(&by_code).unwrap();
    assert_eq!(wb.sheet_names()[0], "5-3-3");
    let bad = d.path().join("bad.xlsx");
    let o = mailra(&[
        "forms",
        "template",
        "code-signing",
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown form"), "{}", text(&o));
    assert!(!bad.exists());
}

#[test]
fn check_reads_workbooks_in_the_sandbox_and_reports_a_refused_one() {
    use mailra::kit::workbooks;
    let d = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "far.xlsx",
            workbooks::far_cells(),
            "file: the workbook is larger than an application file: sheet \"Sheet1\" has a value at XFD1048576, outside the first 5000 rows and 64 columns read",
        ),
        (
            "macro.xlsm",
            workbooks::with_macros(),
            "file: the workbook contains macros; save it as .xlsx without macros",
        ),
        (
            "bomb.xlsx",
            workbooks::zip_bomb(30),
            "file: the workbook could not be read safely: its part xl/sharedStrings.xml inflates",
        ),
        (
            "list.xls",
            b"a\tb\tc\r\n".to_vec(),
            "file: the file is not an Excel workbook (.xlsx, .xlsm or .xls)",
        ),
    ];
    for (name, bytes, expected) in cases {
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let o = mailra(&["check", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        assert!(text(&o).contains(expected), "{name}: {}", text(&o));
    }
    // The child's subcommand is not offered to users.
    let help = text(&mailra(&["--help"]));
    assert!(!help.contains("read-workbook"), "{help}");
}

#[test]
fn forms_template_codesign_revoke_writes_the_labelled_form_and_its_example() {
    use calamine::{Data, Reader, Xlsx};
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("codesign.xlsx");
    let o = mailra(&[
        "forms",
        "template",
        "codesign-revoke",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("コード署名用証明書失効申請"),
        "{}",
        text(&o)
    );
    let mut wb: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let sheets = wb.sheet_names();
    assert_eq!(sheets, ["4-2", "Example (記入例)"]);
    let form = wb.worksheet_range("4-2").unwrap();
    let labels: Vec<String> = form
        .rows()
        .filter_map(|r| match r.first() {
            Some(Data::String(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    for label in [
        "利用機関名 (Institution name)",
        "シリアル番号 (Certificate serial)",
        "失効理由 (Revocation reason)",
    ] {
        assert!(labels.iter().any(|l| l == label), "{label}: {labels:?}");
    }
    let example = wb.worksheet_range("Example (記入例)").unwrap();
    let serial_row = example
        .rows()
        .find(|r| r.first() == Some(&Data::String("シリアル番号 (Certificate serial)".into())))
        .unwrap();
    assert_eq!(serial_row[2], Data::String("0x0A1B2C3D4E5F".into()));
}
