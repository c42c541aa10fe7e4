//! Instance configuration: `mailra.toml` in the instance directory.
//!
//! Two stages, like ripgrep: [`RawConfig`] is what serde reads (everything
//! optional); [`Config::load`] checks it against the file system and collects
//! *every* problem, each with the file and key, before anything starts.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
    #[serde(default)]
    pub rules: RawRules,
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
    pub cert: Option<String>,
    pub key: Option<String>,
    pub server_days: Option<u32>,
    pub crl_days: Option<u32>,
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
    pub server_days: u32,
    pub crl_days: u32,
    /// Folder of filing rules (may not exist: then the built-in defaults apply).
    pub rules_dir: PathBuf,
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
        let server_days = raw.ca.server_days.unwrap_or(396);
        if !(1..=396).contains(&server_days) {
            problems.push(format!(
                "{f}: key ca.server_days: {server_days} is outside 1..=396 (CA/B Forum limit)"
            ));
        }
        let crl_days = raw.ca.crl_days.unwrap_or(7);
        if !(1..=31).contains(&crl_days) {
            problems.push(format!(
                "{f}: key ca.crl_days: {crl_days} is outside 1..=31"
            ));
        }
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
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
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
            server_days,
            crl_days,
            rules_dir: sub(&raw.rules.dir, "rules"),
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
        ] {
            assert!(text.contains(key), "{key} not reported in:\n{text}");
        }
        assert_eq!(err.problems.len(), 8, "{text}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<RawConfig, _> = toml::from_str("[robot]\nadress = \"x@y.jp\"\n");
        assert!(r.unwrap_err().to_string().contains("adress"));
    }
}
