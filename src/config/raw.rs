//! What serde reads from `mailra.toml`: every key optional, unknown keys
//! refused. [`super::Config::check`] turns it into a checked configuration.

use serde::{Deserialize, Serialize};

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
    #[serde(default, skip_serializing_if = "RawReminders::is_empty")]
    pub reminders: RawReminders,
    /// Commands by signed mail (issue 11); without it no mail is a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secretariat: Option<RawSecretariat>,
}

/// `[secretariat]`: who may command the robot by signed mail, and the CA
/// their signing certificates chain to (not the officers' CA).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecretariat {
    /// The members' addresses (the From and the certificate's address).
    pub addresses: Option<Vec<String>>,
    /// PEM file with the secretariat CA certificate(s).
    pub trust_anchor: Option<String>,
}

/// `[reminders]`: the 2-2-9 reminders and the expiry digests `mailra run`
/// sends on its own.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReminders {
    /// A certificate goes into its institution's expiry digest this many
    /// days before it expires (default 30).
    pub digest_days: Option<u32>,
    /// How often `mailra run` looks for reminders due (minutes, default 60).
    pub interval_minutes: Option<u64>,
}

impl RawReminders {
    fn is_empty(&self) -> bool {
        self.digest_days.is_none() && self.interval_minutes.is_none()
    }
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
    /// The largest mail the robot sends, in MB (a P12 bundle above it is
    /// split into parts).
    pub max_message_mb: Option<u32>,
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
    /// How PKCS#12 files of generated keys are encrypted: `compatible`
    /// (3DES, SHA-1 MAC; the default) or `modern` (AES-256, SHA-256 MAC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p12_encryption: Option<String>,
    /// RSA-2048 keys `mailra run` keeps generated ahead, in memory only; 0: off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_pool: Option<usize>,
    /// PEM files of other CAs whose certificates `mailra registry
    /// import-cert` accepts (each named by its file name without extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub import_cas: Vec<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    /// Folder of filing rules (`*.toml`); when it does not exist the built-in
    /// defaults (`rules/default.toml` of the source) apply.
    pub dir: Option<String>,
}
