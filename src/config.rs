//! Instance configuration: `mailra.toml` in the instance directory.
//!
//! Two stages, like ripgrep: [`RawConfig`] is what serde reads (everything
//! optional); [`Config::load`] checks it against the file system and collects
//! *every* problem, each with the file and key, before anything starts.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mail::endpoint::{self, Endpoint, Protocol};

mod publication;

pub const FILE_NAME: &str = "mailra.toml";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub robot: RawRobot,
    #[serde(default)]
    pub paths: RawPaths,
    #[serde(default)]
    pub trust: RawTrust,
    #[serde(default)]
    pub ca: RawCa,
    /// Live intake; without it the Maildir inbox is read.
    pub imap: Option<RawImap>,
    /// Live sending; without it replies go to the outbox folder as .eml.
    pub smtp: Option<RawSmtp>,
    #[serde(default)]
    pub rules: RawRules,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImap {
    /// `imap://user@host:port/MAILBOX` or `imaps://…`.
    pub url: Option<String>,
    /// File holding the password (first line); relative to the instance.
    pub password_file: Option<String>,
    /// PEM CA certificates to trust instead of the system store.
    pub ca_file: Option<String>,
    /// Plain IMAP when the server offers no STARTTLS: loopback only.
    pub allow_plaintext: Option<bool>,
    /// Polling interval when the server has no IDLE (seconds).
    pub poll_seconds: Option<u64>,
    /// IDLE is re-issued after this many minutes (RFC 2177: under 29).
    pub idle_minutes: Option<u64>,
    /// Folder for mails that could not be processed at all.
    pub quarantine: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    /// `smtp://[user@]host:port` (STARTTLS) or `smtps://…`.
    pub url: Option<String>,
    pub password_file: Option<String>,
    pub ca_file: Option<String>,
    pub allow_plaintext: Option<bool>,
    /// After this many failed attempts a reply is marked dead.
    pub max_attempts: Option<u32>,
    /// Backoff between attempts: doubles from min to max (seconds).
    pub retry_min_seconds: Option<u64>,
    pub retry_max_seconds: Option<u64>,
    pub timeout_seconds: Option<u64>,
}

/// A password read from its file; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub endpoint: Endpoint,
    pub password: Option<Secret>,
    pub poll: std::time::Duration,
    pub idle: std::time::Duration,
    pub quarantine: String,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub endpoint: Endpoint,
    pub password: Option<Secret>,
    pub max_attempts: u32,
    pub retry_min: std::time::Duration,
    pub retry_max: std::time::Duration,
    pub timeout: std::time::Duration,
}

impl SmtpConfig {
    /// What the SMTP transport needs to connect. The connection is kept for a
    /// minute after the last reply, so replies of mails that follow each other
    /// go out on it too.
    pub fn params(&self) -> crate::mail::smtp::SmtpParams {
        crate::mail::smtp::SmtpParams {
            endpoint: self.endpoint.clone(),
            password: self.password.as_ref().map(|p| p.0.clone()),
            timeout: self.timeout,
            idle: std::time::Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRobot {
    /// The robot's own address (From of every reply).
    pub address: Option<String>,
    /// PEM certificate (with chain) the robot signs replies with.
    pub cert: Option<String>,
    pub key: Option<String>,
    /// Optional secretariat address copied on every officer reply.
    pub secretariat: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPaths {
    pub database: Option<String>,
    /// Maildir the robot reads (embedded default inbox).
    pub maildir: Option<String>,
    /// Folder lettre's file transport writes replies to (embedded default outbox).
    pub outbox: Option<String>,
    pub crl_dir: Option<String>,
    /// Optional folder with templates overriding the built-in ones.
    pub templates: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrust {
    /// PEM file with the officer CA certificate(s): the only trust anchors.
    pub officer_ca: Option<String>,
    /// Optional CRL(s) of the officer CA (PEM or DER).
    pub officer_crl: Option<String>,
    pub allow_legacy_digests: Option<bool>,
    pub max_age_days: Option<i64>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCa {
    /// The RSA issuing CA (profile 3): PEM certificate (chain may follow) and key.
    pub cert: Option<String>,
    pub key: Option<String>,
    /// The optional ECDSA P-384 issuing CA (profile 11); both or neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec_key: Option<String>,
    /// Upper bound of server certificate validity (days); without it the BR
    /// maximum in force at issuance. Always capped at that maximum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_days: Option<u32>,
    pub crl_days: Option<u32>,
    /// http:// URL where a web server publishes the CRL folder: named in every
    /// server certificate (CRL distribution point, caIssuers).
    pub publish_url: Option<String>,
    /// The CA's own certificate policy OID (after 2.23.140.1.2.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_oid: Option<String>,
    /// URL of the CA's CPS, as a policy qualifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cps_url: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    /// Folder of filing rules (`*.toml`); when it does not exist the built-in
    /// defaults (`rules/default.toml` of the source) apply.
    pub dir: Option<String>,
}

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
    /// The longest server validity asked for; the CA caps it at the BR
    /// maximum in force at issuance ([`crate::ca::max_server_days`]).
    pub server_days: u32,
    pub crl_days: u32,
    /// Where the CRLs and CA certificates are published, and the policy stated.
    pub publication: crate::ca::Publication,
    pub imap: Option<ImapConfig>,
    pub smtp: Option<SmtpConfig>,
    /// Folder of filing rules (may not exist: then the built-in defaults apply).
    pub rules_dir: PathBuf,
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
        let publication = publication::check(
            &mut problems,
            &f,
            raw.ca.publish_url.as_deref(),
            raw.ca.policy_oid.as_deref(),
            raw.ca.cps_url.as_deref(),
        );
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
        let imap = raw.imap.as_ref().and_then(|r| {
            let endpoint = live_endpoint(
                &mut problems,
                &f,
                &dir,
                Protocol::Imap,
                "imap",
                &r.url,
                &r.ca_file,
                r.allow_plaintext,
            )?;
            let password = password(&mut problems, &f, &dir, "imap", &r.password_file);
            if endpoint.user.is_none() {
                problems.push(format!(
                    "{f}: key imap.url: no user (imap://USER@host/MAILBOX)"
                ));
            }
            let poll = r.poll_seconds.unwrap_or(60);
            if !(1..=3600).contains(&poll) {
                problems.push(format!(
                    "{f}: key imap.poll_seconds: {poll} is outside 1..=3600"
                ));
            }
            let idle = r.idle_minutes.unwrap_or(25);
            if !(1..=28).contains(&idle) {
                problems.push(format!(
                    "{f}: key imap.idle_minutes: {idle} is outside 1..=28 (servers drop IDLE after 29 minutes)"
                ));
            }
            Some(ImapConfig {
                endpoint,
                password,
                poll: std::time::Duration::from_secs(poll),
                idle: std::time::Duration::from_secs(idle * 60),
                quarantine: r.quarantine.clone().unwrap_or_else(|| "Quarantine".into()),
            })
        });
        let smtp = raw.smtp.as_ref().and_then(|r| {
            let endpoint = live_endpoint(
                &mut problems,
                &f,
                &dir,
                Protocol::Smtp,
                "smtp",
                &r.url,
                &r.ca_file,
                r.allow_plaintext,
            )?;
            let password = password(&mut problems, &f, &dir, "smtp", &r.password_file);
            if password.is_some() != endpoint.user.is_some() {
                problems.push(format!(
                    "{f}: key smtp.password_file: a user in smtp.url and a password_file go together"
                ));
            }
            let max_attempts = r.max_attempts.unwrap_or(10);
            if !(1..=100).contains(&max_attempts) {
                problems.push(format!(
                    "{f}: key smtp.max_attempts: {max_attempts} is outside 1..=100"
                ));
            }
            let min = r.retry_min_seconds.unwrap_or(30);
            let max = r.retry_max_seconds.unwrap_or(3600);
            if min == 0 || max < min {
                problems.push(format!(
                    "{f}: key smtp.retry_max_seconds: need 0 < retry_min_seconds ({min}) <= retry_max_seconds ({max})"
                ));
            }
            Some(SmtpConfig {
                endpoint,
                password,
                max_attempts,
                retry_min: std::time::Duration::from_secs(min),
                retry_max: std::time::Duration::from_secs(max),
                timeout: std::time::Duration::from_secs(r.timeout_seconds.unwrap_or(60)),
            })
        });
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
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
            server_days,
            crl_days,
            publication,
            rules_dir: sub(&raw.rules.dir, "rules"),
            dir,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn live_endpoint(
    problems: &mut Vec<String>,
    f: &str,
    dir: &Path,
    proto: Protocol,
    section: &str,
    url: &Option<String>,
    ca_file: &Option<String>,
    allow_plaintext: Option<bool>,
) -> Option<Endpoint> {
    let ca = ca_file.as_ref().map(|c| dir.join(c));
    if let Some(c) = &ca
        && !c.is_file()
    {
        problems.push(format!(
            "{f}: key {section}.ca_file: file {} not found",
            c.display()
        ));
    }
    let Some(url) = url else {
        problems.push(format!("{f}: key {section}.url: missing"));
        return None;
    };
    match endpoint::parse(proto, url, allow_plaintext.unwrap_or(false), ca) {
        Ok(e) => Some(e),
        Err(e) => {
            problems.push(format!("{f}: key {section}.url: {e}"));
            None
        }
    }
}

fn password(
    problems: &mut Vec<String>,
    f: &str,
    dir: &Path,
    section: &str,
    file: &Option<String>,
) -> Option<Secret> {
    let p = dir.join(file.as_ref()?);
    match std::fs::read_to_string(&p) {
        Ok(t) => {
            let pw = t.lines().next().unwrap_or("").to_string();
            if pw.is_empty() {
                problems.push(format!(
                    "{f}: key {section}.password_file: {} is empty",
                    p.display()
                ));
            }
            Some(Secret(pw))
        }
        Err(e) => {
            problems.push(format!(
                "{f}: key {section}.password_file: cannot read {} ({e})",
                p.display()
            ));
            None
        }
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
    fn unknown_keys_are_refused() {
        let r: Result<RawConfig, _> = toml::from_str("[robot]\nadress = \"x@y.jp\"\n");
        assert!(r.unwrap_err().to_string().contains("adress"));
    }
}
