//! The test harness: a real mailra instance in a temp folder (generated PKI,
//! real SQLite file) with its officers ([`Fixture`]), the live-server
//! helpers (`live`), and the openssl CLI. Mails, forms and certificates come
//! from the library's test kit (`mailra::kit`), as the demo's do.
#![allow(dead_code)]

pub mod live;

use std::path::{Path, PathBuf};
use std::process::Command;

use mailra::ca::{self, KeyKind, KeyPair};
use mailra::config::Config;
use mailra::init::{self, InitArgs};
use mailra::kit::{self, mail::FileSpec};
use mailra::mail::sign::Signer;
use mailra::model::Dn;
use mailra::ra::{self, Env, Outcome};
use mailra::store;
use openssl::pkey::{PKey, Private};
use time::OffsetDateTime;

pub const EX: &str = "Example University";
pub const SAMPLE: &str = "Sample Institute of Technology";
/// The organizationIdentifiers (NTRJP- + a corporate number with its check
/// digit) the fixture registers for [`EX`] and [`SAMPLE`].
pub const EX_ORG_ID: &str = "NTRJP-9234567890123";
pub const SAMPLE_ORG_ID: &str = "NTRJP-8234567890124";
pub const O1: &str = "officer@example.ac.jp";
pub const O2: &str = "tanto@sample-tech.ac.jp";
/// A secretariat member (`[secretariat] addresses`), who may command by mail.
pub const SEC: &str = "kanri@secretariat.example.ac.jp";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub env: Env,
    pub officer_ca: KeyPair,
    pub o1: Signer,
    pub o2: Signer,
    /// The secretariat's CA (`pki/secretariat-ca.pem`, the
    /// `[secretariat] trust_anchor`) and the member [`SEC`] under it.
    pub secretariat_ca: KeyPair,
    pub sec: Signer,
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl Fixture {
    /// An instance as `mailra init` makes it: RSA and ECDSA P-384 issuing CAs.
    pub fn new() -> Fixture {
        Fixture::with_init(|_| {})
    }

    /// An instance made before the ECDSA issuing CA existed: `mailra.toml`
    /// has no `ca.ec_cert` / `ca.ec_key` and there is no `pki/ca-ec.*`.
    pub fn without_ecdsa_ca() -> Fixture {
        Fixture::build(|_| {}, false)
    }

    /// An instance made by `init` with extra arguments (IMAP, SMTP, …).
    pub fn with_init(adjust: impl FnOnce(&mut InitArgs)) -> Fixture {
        Fixture::build(adjust, true)
    }

    fn build(adjust: impl FnOnce(&mut InitArgs), ecdsa_ca: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut args = InitArgs {
            dir: dir.path().to_path_buf(),
            robot_address: Some(kit::ROBOT.into()),
            ..Default::default()
        };
        adjust(&mut args);
        init::init(&args, now()).unwrap();
        let toml_path = dir.path().join(mailra::config::FILE_NAME);
        let mut raw: mailra::config::RawConfig =
            toml::from_str(&std::fs::read_to_string(&toml_path).unwrap()).unwrap();
        // No warm key pool: the `mailra run` children of the live tests would
        // each spend ~25 s of CPU filling one, on a two-core machine that
        // runs several of them at once.
        raw.ca.key_pool = Some(0);
        if !ecdsa_ca {
            raw.ca.ec_cert = None;
            raw.ca.ec_key = None;
            std::fs::remove_file(dir.path().join("pki/ca-ec.pem")).unwrap();
            std::fs::remove_file(dir.path().join("pki/ca-ec.key")).unwrap();
        }
        // Commands by signed mail from SEC, under a CA of the secretariat's own.
        let secretariat_ca = kit::pki::secretariat_ca(now()).unwrap();
        std::fs::write(
            dir.path().join("pki/secretariat-ca.pem"),
            secretariat_ca.cert.to_pem().unwrap(),
        )
        .unwrap();
        raw.secretariat = Some(mailra::config::RawSecretariat {
            addresses: Some(vec![SEC.into()]),
            trust_anchor: Some("pki/secretariat-ca.pem".into()),
        });
        let sec = kit::pki::secretariat_member(&secretariat_ca, SEC, now()).unwrap();
        std::fs::write(&toml_path, toml::to_string(&raw).unwrap()).unwrap();
        let officer_ca = KeyPair::load(
            &dir.path().join("pki/officer-ca.pem"),
            &dir.path().join("pki/officer-ca.key"),
        )
        .unwrap();
        let mut env = Env::open(Config::load(dir.path()).unwrap()).unwrap();
        // The robot reads workbooks by running its own executable as a
        // sandboxed child; a test binary is not mailra.
        env.workbooks.exe = env!("CARGO_BIN_EXE_mailra").into();
        store::add_institution(
            &env.conn,
            EX,
            "Tokyo",
            "Chiyoda-ku",
            &["example.ac.jp".into()],
            now(),
        )
        .unwrap();
        store::add_institution(
            &env.conn,
            SAMPLE,
            "Osaka",
            "Suita-shi",
            &["sample-tech.ac.jp".into()],
            now(),
        )
        .unwrap();
        // Organization-validated S/MIME certificates need the institutions'
        // organizationIdentifiers (corporate numbers with right check digits).
        store::set_organization_identifier(&env.conn, EX, Some(EX_ORG_ID)).unwrap();
        store::set_organization_identifier(&env.conn, SAMPLE, Some(SAMPLE_ORG_ID)).unwrap();
        // Registered a month ago: the default rule holding requests from
        // officers registered in the last 7 days does not apply to them.
        let earlier = now() - time::Duration::days(30);
        store::add_officer(&env.conn, O1, EX, earlier).unwrap();
        store::add_officer(&env.conn, O2, SAMPLE, earlier).unwrap();
        let o1 = signer(&officer_ca, O1);
        let o2 = signer(&officer_ca, O2);
        Fixture {
            dir,
            env,
            officer_ca,
            o1,
            o2,
            secretariat_ca,
            sec,
        }
    }

    /// A command mail from the secretariat member [`SEC`]: `body` signed.
    pub fn command_mail(&self, body: &str) -> Vec<u8> {
        kit::mail::command_mail(&self.sec, SEC, kit::ROBOT, body, &[], now()).unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn process(&mut self, raw: &[u8]) -> Outcome {
        ra::process(&mut self.env, raw, "test", now()).unwrap()
    }

    pub fn cert_count(&self) -> usize {
        store::certificates(&self.env.conn).unwrap().len()
    }

    /// A signed application mail from `signer` carrying one TSV file.
    pub fn mail(&self, signer: &Signer, from: &str, subject: &str, tsv: &str) -> Vec<u8> {
        self.mail_files(signer, from, subject, &[("application.tsv", tsv)])
    }

    /// A signed application mail from `signer` carrying TSV files, as
    /// (name, text) in order.
    pub fn mail_files(
        &self,
        signer: &Signer,
        from: &str,
        subject: &str,
        tsvs: &[(&str, &str)],
    ) -> Vec<u8> {
        let files: Vec<FileSpec> = tsvs
            .iter()
            .map(|(name, tsv)| FileSpec {
                name: name.to_string(),
                data: kit::forms::sjis(tsv),
            })
            .collect();
        kit::mail::application_mail(signer, from, kit::ROBOT, subject, &files, false, now())
            .unwrap()
    }

    /// Every reply in the outbox folder, as (path, raw).
    pub fn replies(&self) -> Vec<(PathBuf, String)> {
        let mut v: Vec<_> = std::fs::read_dir(self.path("outbox"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|p| {
                let s = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                (p, s)
            })
            .collect();
        v.sort();
        v
    }
}

pub fn signer(ca: &KeyPair, email: &str) -> Signer {
    kit::pki::officer(ca, email, "Test Officer", now(), 365).unwrap()
}

pub fn ex_dn(cn: &str) -> Dn {
    kit::forms::server_dn(cn, EX, "Chiyoda-ku", "Tokyo")
}

/// A 5-3-1 line for `cn` of Example University: profile `profile`, a CSR of
/// `key`, administrator `admin`.
pub fn issue_tsv_with(cn: &str, key: &PKey<Private>, profile: u8, admin: &str) -> String {
    let dn = ex_dn(cn);
    let csr = kit::forms::csr_field(key, &dn).unwrap();
    kit::forms::issue_line(&dn, profile, &csr, "国立　太郎", admin, "")
}

/// The same with administrator admin@example.ac.jp.
pub fn issue_tsv_key(cn: &str, key: &PKey<Private>, profile: u8) -> String {
    issue_tsv_with(cn, key, profile, "admin@example.ac.jp")
}

/// A 5-3-1 line for `cn` (profile 3, a fresh RSA key, admin@example.ac.jp).
pub fn issue_tsv(cn: &str) -> String {
    issue_tsv_key(cn, &rsa(), 3)
}

pub fn rsa() -> PKey<Private> {
    ca::new_key(KeyKind::Rsa2048).unwrap()
}

pub fn p384() -> PKey<Private> {
    ca::new_key(KeyKind::P384).unwrap()
}

/// Runs openssl with args; returns (success, stdout+stderr).
pub fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl CLI");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p.display().to_string()
}

/// Whether every reply in the instance's outbox table was sent.
pub fn all_sent(f: &Fixture) -> bool {
    let rows = store::outbox_rows(&f.env.conn, None).unwrap();
    !rows.is_empty() && rows.iter().all(|r| r.status == store::OutboxStatus::Sent)
}

/// A live instance: `mailra init` with --imap (the robot's `mailbox`), --smtp
/// and --allow-plaintext against `servers`, retries after 1–2 s.
pub fn instance(servers: &live::Servers, mailbox: &str) -> Fixture {
    let imap = servers
        .imap_url(mailra::kit::ROBOT)
        .replace("/INBOX", &format!("/{mailbox}"));
    instance_at(servers, imap, servers.smtp_url(), |a| {
        a.allow_plaintext = true
    })
}

/// A live instance reading `imap` and sending through `smtp` as the robot,
/// with `adjust` for further `init` options; retries after 1–2 s.
pub fn instance_at(
    servers: &live::Servers,
    imap: String,
    smtp: String,
    adjust: impl FnOnce(&mut InitArgs),
) -> Fixture {
    let pw = servers.dir.path().join("robot.password");
    std::fs::write(&pw, live::PASSWORD).unwrap();
    let f = Fixture::with_init(|a| {
        a.imap = Some(imap);
        a.imap_password_file = Some(pw.clone());
        a.smtp = Some(smtp);
        adjust(a);
    });
    live::configure(
        f.dir.path(),
        "smtp",
        "retry_min_seconds = 1\nretry_max_seconds = 2",
    );
    f
}

/// A signed 1-row issuance application from officer 1, for `cn`.
pub fn one_row(f: &Fixture, cn: &str) -> Vec<u8> {
    one_row_to(f, cn, live::ADMIN)
}

/// The same, naming `admin` as the certificate's administrator.
pub fn one_row_to(f: &Fixture, cn: &str, admin: &str) -> Vec<u8> {
    let dn = ex_dn(cn);
    let line = kit::forms::issue_line(
        &dn,
        3,
        &kit::forms::csr_field(&rsa(), &dn).unwrap(),
        "",
        admin,
        "",
    );
    f.mail(&f.o1, O1, "サーバ証明書発行申請", &line)
}

/// APPENDs a fresh 1-row application for `cn` to the robot's INBOX; returns it.
pub fn append_app(srv: &live::Servers, f: &Fixture, cn: &str) -> Vec<u8> {
    let raw = one_row(f, cn);
    live::append(srv.imap, kit::ROBOT, "INBOX", &raw);
    raw
}

/// The officer's receipts among the messages (notices are Cc'd too).
pub fn receipts(msgs: &[live::Msg]) -> usize {
    msgs.iter()
        .filter(|m| m.header("X-Mailra-Verdict").as_deref() == Some("accepted"))
        .count()
}

/// Waits until the officer holds `n` receipts.
pub fn wait_receipts(srv: &live::Servers, n: usize) -> Vec<live::Msg> {
    let deadline = std::time::Instant::now() + live::WAIT;
    loop {
        let m = live::messages(srv.imap, O1, "INBOX");
        if receipts(&m) >= n {
            return m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} receipts, expected {n}",
            receipts(&m)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Whether `m`'s S/MIME signature verifies against the officer CA.
pub fn verifies(f: &Fixture, raw: &[u8]) -> bool {
    let p = write(f.dir.path(), "reply.eml", raw);
    let ca = f.path("pki/officer-ca.pem");
    openssl(&[
        "smime",
        "-verify",
        "-in",
        &p,
        "-CAfile",
        ca.to_str().unwrap(),
        "-out",
        "/dev/null",
    ])
    .0
}

/// Every text part of a reply, decoded.
pub fn text_of(raw: &str) -> String {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    (0..m.text_body_count())
        .filter_map(|i| m.body_text(i))
        .collect::<Vec<_>>()
        .join("\n")
}
