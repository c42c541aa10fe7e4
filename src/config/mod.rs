//! Instance configuration: `mailra.toml` in the instance directory.
//!
//! Two stages, like ripgrep: [`RawConfig`] is what serde reads (everything
//! optional); [`Config::load`] checks it against the file system and collects
//! *every* problem, each with the file and key, before anything starts.
//!
//! - raw.rs: the serde types of the file;
//! - servers.rs: the `[imap]` and `[smtp]` sections (endpoints, passwords);
//! - publication.rs: the `[ca]` publication and policy keys;
//! - import_cas.rs: `[ca] import_cas`, the CAs of imported certificates;
//! - secretariat.rs: `[secretariat]`, who may command the robot by signed mail.

use std::path::{Path, PathBuf};

mod import_cas;
mod publication;
mod raw;
mod secretariat;
mod servers;

pub use import_cas::ImportCa;
pub use raw::{
    RawCa, RawConfig, RawImap, RawPaths, RawReminders, RawRobot, RawRules, RawSecretariat, RawSmtp,
    RawTrust,
};
pub use secretariat::Secretariat;
pub use servers::{ImapConfig, Secret, SmtpConfig};

pub const FILE_NAME: &str = "mailra.toml";

/// `[ca] key_pool` when unset: about 25 s of one core to fill, ~1 MB of memory.
pub const DEFAULT_KEY_POOL: usize = 100;
/// The largest `[ca] key_pool` accepted (a 10,000-row day at most; tens of MB).
pub const MAX_KEY_POOL: usize = 10_000;

/// A checked configuration: every path absolute and every required file present.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub robot_address: String,
    pub secretariat: Option<String>,
    pub robot_cert: PathBuf,
    pub robot_key: PathBuf,
    pub database: PathBuf,
    pub maildir: PathBuf,
    pub outbox: PathBuf,
    pub crl_dir: PathBuf,
    pub templates: Option<PathBuf>,
    pub officer_ca: PathBuf,
    pub officer_crl: Option<PathBuf>,
    pub allow_legacy_digests: bool,
    pub max_age_days: i64,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    /// The ECDSA P-384 issuing CA for profile 11; without it profile 11 is not offered.
    pub ec_ca: Option<CaPaths>,
    /// `[ca] import_cas`: other CAs whose certificates may be imported.
    pub import_cas: Vec<ImportCa>,
    /// The longest server validity asked for; the CA caps it at the BR
    /// maximum in force at issuance ([`crate::ca::max_server_days`]).
    pub server_days: u32,
    pub crl_days: u32,
    /// Where the CRLs and CA certificates are published, and the policy stated.
    pub publication: crate::ca::Publication,
    /// The instance's PKCS#12 encryption (an institution may override it).
    pub p12_encryption: crate::ca::P12Encryption,
    /// Capacity of the warm key pool (`0`: no pool).
    pub key_pool: usize,
    /// The largest mail the robot sends (`[robot] max_message_mb`, default
    /// 20): a P12 bundle above it goes out in numbered parts.
    pub max_message_bytes: usize,
    pub imap: Option<ImapConfig>,
    pub smtp: Option<SmtpConfig>,
    /// Folder of filing rules (may not exist: then the built-in defaults apply).
    pub rules_dir: PathBuf,
    /// `[reminders]`: the expiry-digest window and how often `mailra run`
    /// runs the reminder jobs.
    pub reminders: Reminders,
    /// `[secretariat]`: who may command the robot by signed mail (None: no
    /// mail is a command). Not [`Config::secretariat`], the address copied
    /// on replies.
    pub commands: Option<Secretariat>,
}

/// The checked `[reminders]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminders {
    /// Certificates expiring within this many days go into a digest.
    pub digest_days: u32,
    /// Between two runs of the reminder jobs inside `mailra run`.
    pub interval: std::time::Duration,
}

impl Default for Reminders {
    fn default() -> Self {
        Reminders {
            digest_days: 30,
            interval: std::time::Duration::from_secs(3600),
        }
    }
}

/// Certificate and key file of an issuing CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// All problems found in one configuration file.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    /// Reads and checks `DIR/mailra.toml`.
    pub fn load(dir: &Path) -> Result<Config, ConfigError> {
        let file = dir.join(FILE_NAME);
        let text = std::fs::read_to_string(&file).map_err(|e| ConfigError {
            problems: vec![format!(
                "{}: cannot read ({e}); create an instance with `mailra init --dir {}`",
                file.display(),
                dir.display()
            )],
        })?;
        let raw: RawConfig = toml::from_str(&text).map_err(|e| ConfigError {
            problems: vec![format!("{}: {e}", file.display())],
        })?;
        Config::check(dir, &file, raw)
    }

    /// The rules folder of the instance in `dir`, reading only that key, so
    /// `mailra rules check` works while other keys are still being fixed.
    pub fn rules_dir(dir: &Path) -> Result<PathBuf, ConfigError> {
        let file = dir.join(FILE_NAME);
        let problem = |what: String| ConfigError {
            problems: vec![format!("{}: {what}", file.display())],
        };
        let text =
            std::fs::read_to_string(&file).map_err(|e| problem(format!("cannot read ({e})")))?;
        let raw: RawConfig = toml::from_str(&text).map_err(|e| problem(e.to_string()))?;
        Ok(dir.join(raw.rules.dir.as_deref().unwrap_or("rules")))
    }

    /// The second stage: every key checked, every problem collected.
    pub fn check(dir: &Path, file: &Path, raw: RawConfig) -> Result<Config, ConfigError> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut problems = Vec::new();
        let f = file.display().to_string();
        let mut need_file = |key: &str, v: &Option<String>, default: Option<&str>| -> PathBuf {
            let Some(v) = v.as_deref().or(default) else {
                problems.push(format!("{f}: key {key}: missing"));
                return PathBuf::new();
            };
            let p = dir.join(v);
            if !p.is_file() {
                problems.push(format!("{f}: key {key}: file {} not found", p.display()));
            }
            p
        };
        let robot_cert = need_file("robot.cert", &raw.robot.cert, None);
        let robot_key = need_file("robot.key", &raw.robot.key, None);
        let officer_ca = need_file("trust.officer_ca", &raw.trust.officer_ca, None);
        let ca_cert = need_file("ca.cert", &raw.ca.cert, None);
        let ca_key = need_file("ca.key", &raw.ca.key, None);
        let officer_crl = raw
            .trust
            .officer_crl
            .as_ref()
            .map(|_| need_file("trust.officer_crl", &raw.trust.officer_crl, None));
        let ec_ca = match (&raw.ca.ec_cert, &raw.ca.ec_key) {
            (None, None) => None,
            (Some(_), Some(_)) => Some(CaPaths {
                cert: need_file("ca.ec_cert", &raw.ca.ec_cert, None),
                key: need_file("ca.ec_key", &raw.ca.ec_key, None),
            }),
            (Some(_), None) => {
                problems.push(format!(
                    "{f}: key ca.ec_key: missing (ca.ec_cert is set; give both or neither)"
                ));
                None
            }
            (None, Some(_)) => {
                problems.push(format!(
                    "{f}: key ca.ec_cert: missing (ca.ec_key is set; give both or neither)"
                ));
                None
            }
        };
        let import_cas = import_cas::check(&mut problems, &f, &dir, &raw.ca.import_cas);
        let robot_address = match raw.robot.address.as_deref() {
            Some(a) if crate::policy::is_mail_address(a) => a.to_ascii_lowercase(),
            Some(a) => {
                problems.push(format!(
                    "{f}: key robot.address: {a:?} is not a mail address"
                ));
                String::new()
            }
            None => {
                problems.push(format!("{f}: key robot.address: missing"));
                String::new()
            }
        };
        if let Some(s) = &raw.robot.secretariat
            && !crate::policy::is_mail_address(s)
        {
            problems.push(format!(
                "{f}: key robot.secretariat: {s:?} is not a mail address"
            ));
        }
        let max_age_days = raw.trust.max_age_days.unwrap_or(14);
        if !(1..=365).contains(&max_age_days) {
            problems.push(format!(
                "{f}: key trust.max_age_days: {max_age_days} is outside 1..=365"
            ));
        }
        let ceiling = crate::ca::BR_CEILING_DAYS;
        let server_days = raw.ca.server_days.unwrap_or(ceiling);
        if !(1..=ceiling).contains(&server_days) {
            problems.push(format!(
                "{f}: key ca.server_days: {server_days} is outside 1..={ceiling} (CA/B Forum limit; \
                 leave it out for the BR maximum in force at issuance)"
            ));
        }
        let crl_days = raw.ca.crl_days.unwrap_or(7);
        if !(1..=10).contains(&crl_days) {
            problems.push(format!(
                "{f}: key ca.crl_days: {crl_days} is outside 1..=10 (CA/B Forum TLS BR 4.9.7: nextUpdate at most 10 days after thisUpdate)"
            ));
        }
        let p12_encryption = match raw.ca.p12_encryption.as_deref() {
            None => crate::ca::P12Encryption::default(),
            Some(v) => v.parse().unwrap_or_else(|why| {
                problems.push(format!(
                    "{f}: key ca.p12_encryption: {why} (compatible: 3DES, opens everywhere; \
                     modern: AES-256, refused by older Apple/Android/Windows systems)"
                ));
                crate::ca::P12Encryption::default()
            }),
        };
        let key_pool = raw.ca.key_pool.unwrap_or(DEFAULT_KEY_POOL);
        if key_pool > MAX_KEY_POOL {
            problems.push(format!(
                "{f}: key ca.key_pool: {key_pool} is outside 0..={MAX_KEY_POOL} (keys held in memory; 0 turns the pool off)"
            ));
        }
        let max_message_mb = raw.robot.max_message_mb.unwrap_or(20);
        if !(1..=100).contains(&max_message_mb) {
            problems.push(format!(
                "{f}: key robot.max_message_mb: {max_message_mb} is outside 1..=100 (the largest mail the mail system takes, in MB)"
            ));
        }
        let publication = publication::check(
            &mut problems,
            &f,
            raw.ca.publish_url.as_deref(),
            raw.ca.policy_oid.as_deref(),
            raw.ca.cps_url.as_deref(),
        );
        let digest_days = raw.reminders.digest_days.unwrap_or(30);
        if !(1..=120).contains(&digest_days) {
            problems.push(format!(
                "{f}: key reminders.digest_days: {digest_days} is outside 1..=120"
            ));
        }
        let interval_minutes = raw.reminders.interval_minutes.unwrap_or(60);
        if !(1..=1440).contains(&interval_minutes) {
            problems.push(format!(
                "{f}: key reminders.interval_minutes: {interval_minutes} is outside 1..=1440"
            ));
        }
        let reminders = Reminders {
            digest_days,
            interval: std::time::Duration::from_secs(interval_minutes * 60),
        };
        let sub = |v: &Option<String>, d: &str| dir.join(v.as_deref().unwrap_or(d));
        let templates = raw.paths.templates.as_ref().map(|t| dir.join(t));
        if let Some(t) = &templates
            && !t.is_dir()
        {
            problems.push(format!(
                "{f}: key paths.templates: folder {} not found",
                t.display()
            ));
        }
        let imap = raw
            .imap
            .as_ref()
            .and_then(|r| servers::imap(&mut problems, &f, &dir, r));
        let smtp = raw
            .smtp
            .as_ref()
            .and_then(|r| servers::smtp(&mut problems, &f, &dir, r));
        let commands = raw.secretariat.as_ref().and_then(|r| {
            secretariat::check(
                &mut problems,
                &f,
                &dir,
                r,
                raw.robot.address.as_deref(),
                &officer_ca,
            )
        });
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            commands,
            imap,
            smtp,
            robot_address,
            secretariat: raw.robot.secretariat.map(|s| s.to_ascii_lowercase()),
            robot_cert,
            robot_key,
            database: sub(&raw.paths.database, "mailra.sqlite"),
            maildir: sub(&raw.paths.maildir, "maildir"),
            outbox: sub(&raw.paths.outbox, "outbox"),
            crl_dir: sub(&raw.paths.crl_dir, "crl"),
            templates,
            officer_ca,
            officer_crl,
            allow_legacy_digests: raw.trust.allow_legacy_digests.unwrap_or(false),
            max_age_days,
            ca_cert,
            ca_key,
            ec_ca,
            import_cas,
            server_days,
            crl_days,
            publication,
            p12_encryption,
            key_pool,
            max_message_bytes: max_message_mb as usize * 1_000_000,
            rules_dir: sub(&raw.rules.dir, "rules"),
            reminders,
            dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_at_once_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let raw: RawConfig = toml::from_str(
            "[robot]\naddress = \"not-an-address\"\n[trust]\nmax_age_days = 0\n[ca]\nserver_days = 500\n",
        )
        .unwrap();
        let err = Config::check(dir.path(), Path::new("mailra.toml"), raw).unwrap_err();
        let text = err.to_string();
        for key in [
            "robot.cert: missing",
            "robot.key: missing",
            "trust.officer_ca: missing",
            "ca.cert: missing",
            "ca.key: missing",
            "robot.address",
            "trust.max_age_days",
            "ca.server_days",
            "ca.publish_url",
        ] {
            assert!(text.contains(key), "{key} not reported in:\n{text}");
        }
        assert_eq!(err.problems.len(), 9, "{text}");
    }

    /// Writes the files a minimal valid configuration names.
    fn minimal(dir: &Path, ca_extra: &str) -> RawConfig {
        for f in [
            "robot.pem",
            "robot.key",
            "officer-ca.pem",
            "ca.pem",
            "ca.key",
        ] {
            std::fs::write(dir.join(f), "x").unwrap();
        }
        toml::from_str(&format!(
            "[robot]\naddress = \"ra@example.ac.jp\"\ncert = \"robot.pem\"\nkey = \"robot.key\"\n\
             [trust]\nofficer_ca = \"officer-ca.pem\"\n[ca]\ncert = \"ca.pem\"\nkey = \"ca.key\"\npublish_url = \"http://certs.example.ac.jp/mailra/\"\n{ca_extra}"
        ))
        .unwrap()
    }

    #[test]
    fn the_ecdsa_ca_is_optional_but_needs_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let check = |extra: &str| Config::check(d, Path::new("mailra.toml"), minimal(d, extra));

        // Neither key: an instance without the ECDSA CA.
        assert_eq!(check("").unwrap().ec_ca, None);

        // One without the other: the missing one is named.
        for (extra, missing) in [
            ("ec_cert = \"ca-ec.pem\"\n", "key ca.ec_key: missing"),
            ("ec_key = \"ca-ec.key\"\n", "key ca.ec_cert: missing"),
        ] {
            let err = check(extra).unwrap_err();
            assert_eq!(err.problems.len(), 1, "{err}");
            assert!(err.problems[0].contains(missing), "{err}");
        }

        // Both, but the files are absent: each one reported with its key.
        let both = "ec_cert = \"ca-ec.pem\"\nec_key = \"ca-ec.key\"\n";
        let err = check(both).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.problems[0].contains("key ca.ec_cert: file"), "{err}");
        assert!(err.problems[1].contains("key ca.ec_key: file"), "{err}");

        std::fs::write(d.join("ca-ec.pem"), "x").unwrap();
        std::fs::write(d.join("ca-ec.key"), "x").unwrap();
        let cfg = check(both).unwrap();
        let ec = cfg.ec_ca.unwrap();
        assert_eq!(ec.cert, std::path::absolute(d).unwrap().join("ca-ec.pem"));
        assert_eq!(ec.key, std::path::absolute(d).unwrap().join("ca-ec.key"));
    }

    #[test]
    fn import_cas_are_named_by_file_and_every_problem_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let check = |extra: &str| Config::check(d, Path::new("mailra.toml"), minimal(d, extra));
        assert!(check("").unwrap().import_cas.is_empty());
        let root =
            crate::kit::pki::make(&crate::kit::pki::Spec::root("Import Root", 1), None).unwrap();
        std::fs::write(d.join("codesign-ca.pem"), root.cert.to_pem().unwrap()).unwrap();
        std::fs::write(d.join("garbage.pem"), "not a certificate").unwrap();
        let cfg = check("import_cas = [\"codesign-ca.pem\"]\n").unwrap();
        assert_eq!(cfg.import_cas.len(), 1);
        assert_eq!(cfg.import_cas[0].name, "codesign-ca");
        let err = check(
            "import_cas = [\"codesign-ca.pem\", \"absent.pem\", \"garbage.pem\", \"x/codesign-ca.pem\", \"rsa.pem\"]\n",
        )
        .unwrap_err();
        let expected = [
            "key ca.import_cas[1]: file",
            "key ca.import_cas[2]: file",
            "key ca.import_cas[3]: \"x/codesign-ca.pem\": another entry",
            "key ca.import_cas[4]: \"rsa.pem\": the file's name",
        ];
        assert_eq!(err.problems.len(), expected.len(), "{err}");
        for (p, e) in err.problems.iter().zip(expected) {
            assert!(p.contains(e), "{p} / {e}");
        }
        assert!(err.problems[0].contains("not found"), "{err}");
        assert!(
            err.problems[1].contains("holds no PEM certificate"),
            "{err}"
        );
    }

    #[test]
    fn live_mail_sections_are_checked_with_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let raw: RawConfig = toml::from_str(
            "[imap]\nurl = \"imap://robot@mail.example.ac.jp\"\nallow_plaintext = true\npassword_file = \"nope\"\nidle_minutes = 30\n\
             [smtp]\nurl = \"smtp://u@relay.example.ac.jp\"\n",
        )
        .unwrap();
        let err = Config::check(dir.path(), Path::new("mailra.toml"), raw).unwrap_err();
        let text = err.to_string();
        for want in [
            "key imap.url: allow_plaintext is only accepted for a loopback host",
            "key smtp.password_file: a user in smtp.url and a password_file go together",
        ] {
            assert!(text.contains(want), "{want} not reported in:\n{text}");
        }
        let raw: RawConfig = toml::from_str(
            "[imap]\nurl = \"imap://robot@127.0.0.1:1143\"\nallow_plaintext = true\npassword_file = \"nope\"\nidle_minutes = 30\n",
        )
        .unwrap();
        let text = Config::check(dir.path(), Path::new("mailra.toml"), raw)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("key imap.password_file: cannot read"),
            "{text}"
        );
        assert!(
            text.contains("key imap.idle_minutes: 30 is outside 1..=28"),
            "{text}"
        );
    }

    #[test]
    fn p12_encryption_and_key_pool() {
        use crate::ca::P12Encryption;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let check = |extra: &str| Config::check(d, Path::new("mailra.toml"), minimal(d, extra));
        let cases = [
            ("", Some((P12Encryption::Compatible, DEFAULT_KEY_POOL))),
            (
                "p12_encryption = \"modern\"\nkey_pool = 0\n",
                Some((P12Encryption::Modern, 0)),
            ),
            (
                "p12_encryption = \"compatible\"\nkey_pool = 1000\n",
                Some((P12Encryption::Compatible, 1000)),
            ),
            ("p12_encryption = \"legacy\"\n", None),
            ("key_pool = 10001\n", None),
        ];
        for (extra, want) in cases {
            match (check(extra), want) {
                (Ok(cfg), Some((enc, pool))) => {
                    assert_eq!((cfg.p12_encryption, cfg.key_pool), (enc, pool), "{extra}");
                }
                (Err(e), None) => assert_eq!(e.problems.len(), 1, "{extra}: {e}"),
                (r, _) => panic!("{extra}: {:?}", r.map(|c| (c.p12_encryption, c.key_pool))),
            }
        }
        // Both wrong: both reported at once, each with its key.
        let err = check("p12_encryption = \"aes\"\nkey_pool = 20000\n").unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 2, "{text}");
        assert!(
            text.contains("key ca.p12_encryption: \"aes\" is not"),
            "{text}"
        );
        assert!(text.contains("key ca.key_pool: 20000"), "{text}");
        // A negative size is refused by the reader.
        assert!(toml::from_str::<RawConfig>("[ca]\nkey_pool = -1\n").is_err());
    }

    #[test]
    fn the_reminders_section_has_defaults_and_checked_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cfg = Config::check(d, Path::new("mailra.toml"), minimal(d, "")).unwrap();
        assert_eq!(cfg.reminders, Reminders::default());
        assert_eq!(cfg.reminders.digest_days, 30);
        let mut raw = minimal(d, "");
        raw.reminders = toml::from_str("digest_days = 45\ninterval_minutes = 10\n").unwrap();
        let cfg = Config::check(d, Path::new("mailra.toml"), raw).unwrap();
        assert_eq!(
            cfg.reminders,
            Reminders {
                digest_days: 45,
                interval: std::time::Duration::from_secs(600)
            }
        );
        let mut raw = minimal(d, "");
        raw.reminders = toml::from_str("digest_days = 0\ninterval_minutes = 0\n").unwrap();
        let err = Config::check(d, Path::new("mailra.toml"), raw).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.problems[0].contains("reminders.digest_days"), "{err}");
        assert!(
            err.problems[1].contains("reminders.interval_minutes"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<RawConfig, _> = toml::from_str("[robot]\nadress = \"x@y.jp\"\n");
        assert!(r.unwrap_err().to_string().contains("adress"));
    }
}
