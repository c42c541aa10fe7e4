//! `mailra init`: creates an instance directory with its `mailra.toml`, its
//! PKI material (given or generated) and an empty database.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use openssl::pkey::PKey;
use openssl::x509::X509;
use time::OffsetDateTime;

use crate::ca::{self, KeyKind, KeyPair};
use crate::config::{self, RawCa, RawConfig, RawPaths, RawRobot, RawRules, RawTrust};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct InitArgs {
    /// Instance directory to create.
    #[arg(long, env = "MAILRA_DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Existing officer CA certificate(s), PEM (trust anchors for incoming mail).
    #[arg(long)]
    pub officer_ca: Option<PathBuf>,
    /// The robot's existing S/MIME certificate (PEM, chain may follow).
    #[arg(long, requires = "robot_key")]
    pub robot_cert: Option<PathBuf>,
    #[arg(long, requires = "robot_cert")]
    pub robot_key: Option<PathBuf>,
    /// Existing issuing CA certificate (PEM, chain may follow) and key: the RSA
    /// CA that signs profile 3.
    #[arg(long, requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    #[arg(long, requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
    /// Existing ECDSA P-384 issuing CA certificate (PEM, chain may follow) and
    /// key: the CA that signs profile 11.
    #[arg(long, requires = "ca_ec_key")]
    pub ca_ec_cert: Option<PathBuf>,
    #[arg(long, requires = "ca_ec_cert")]
    pub ca_ec_key: Option<PathBuf>,
    /// The http:// URL where a web server publishes the CRL folder (`crl/`): named in
    /// every server certificate as CRL distribution point and caIssuers
    /// (default: http://<domain of the robot address>/mailra/).
    #[arg(long)]
    pub publish_url: Option<String>,
    /// The robot's mail address (default: from --robot-cert, else ra-robot@certs.example.ac.jp).
    #[arg(long)]
    pub robot_address: Option<String>,
    /// Address copied on every officer reply.
    #[arg(long)]
    pub secretariat: Option<String>,
    /// Read mail from IMAP: imap://USER@host:port/MAILBOX (STARTTLS when offered) or imaps://…
    #[arg(long)]
    pub imap: Option<String>,
    /// File whose first line is the IMAP password (referenced, not copied).
    #[arg(long, requires = "imap")]
    pub imap_password_file: Option<PathBuf>,
    /// Send replies by SMTP: smtp://[USER@]host:port (STARTTLS) or smtps://…
    #[arg(long)]
    pub smtp: Option<String>,
    /// File whose first line is the SMTP password (referenced, not copied).
    #[arg(long, requires = "smtp")]
    pub smtp_password_file: Option<PathBuf>,
    /// Allow IMAP/SMTP without TLS when the server offers none: loopback hosts only (tests).
    #[arg(long)]
    pub allow_plaintext: bool,
    /// A CA certificate (PEM) to trust for the IMAP and SMTP servers' TLS, besides the
    /// system's trust store (e.g. the university's own CA). Referenced, not copied.
    #[arg(long)]
    pub tls_ca_file: Option<PathBuf>,
}

fn write_key(path: &Path, key: &PKey<openssl::pkey::Private>) -> Result<()> {
    use std::io::Write;
    let pem = key.private_key_to_pem_pkcs8()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
        .and_then(|mut f| f.write_all(&pem))
        .with_context(|| format!("writing {}", path.display()))
}

fn abs_string(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

fn copy_in(src: &Path, dest: &Path) -> Result<()> {
    std::fs::copy(src, dest)
        .with_context(|| format!("copying {} to {}", src.display(), dest.display()))?;
    Ok(())
}

fn cert_email(cert: &X509) -> Option<String> {
    cert.subject_alt_names()
        .and_then(|sans| sans.iter().find_map(|n| n.email().map(str::to_string)))
        .map(|s| s.to_ascii_lowercase())
}

/// What `init` made: the instance folder and what the operator must know.
#[derive(Debug, Clone)]
pub struct Created {
    pub dir: PathBuf,
    pub notes: Vec<String>,
}

impl std::fmt::Display for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "instance created in {}", self.dir.display())?;
        for n in &self.notes {
            writeln!(f, "\nnote: {n}")?;
        }
        Ok(())
    }
}

/// Creates the instance; refuses to overwrite an existing one.
pub fn init(args: &InitArgs, now: OffsetDateTime) -> Result<PathBuf> {
    create(args, now).map(|c| c.dir)
}

/// The robot's S/MIME certificate under `ca`, written with the CA after it.
fn write_robot(pki_dir: &Path, ca: &KeyPair, address: &str, now: OffsetDateTime) -> Result<()> {
    let robot = ca::new_mail_cert(ca, address, "mailra robot", now, 825)?;
    std::fs::write(
        pki_dir.join("robot.pem"),
        [robot.cert.to_pem()?, ca.cert.to_pem()?].concat(),
    )?;
    write_key(&pki_dir.join("robot.key"), &robot.key)
}

/// [`init`], with the notes to show the operator.
pub fn create(args: &InitArgs, now: OffsetDateTime) -> Result<Created> {
    let mut notes = Vec::new();
    let dir = &args.dir;
    if dir.join(config::FILE_NAME).exists() {
        bail!(
            "{} already holds an instance ({} exists)",
            dir.display(),
            config::FILE_NAME
        );
    }
    let pki_dir = dir.join("pki");
    std::fs::create_dir_all(&pki_dir).with_context(|| format!("creating {}", pki_dir.display()))?;

    // Officer CA: the trust anchor. When generated, its key stays in pki/ so the
    // secretariat (or the demo) can issue officer certificates with it.
    let officer_ca = match &args.officer_ca {
        Some(p) => {
            copy_in(p, &pki_dir.join("officer-ca.pem"))?;
            None
        }
        None => {
            let ca = ca::new_ca(
                "mailra Officer CA",
                "mailra Secretariat",
                now,
                3650,
                KeyKind::Rsa2048,
            )?;
            std::fs::write(pki_dir.join("officer-ca.pem"), ca.cert.to_pem()?)?;
            write_key(&pki_dir.join("officer-ca.key"), &ca.key)?;
            Some(ca)
        }
    };
    let robot_address = match (&args.robot_address, &args.robot_cert) {
        (Some(a), _) => a.to_ascii_lowercase(),
        (None, Some(c)) => {
            let pem = std::fs::read(c).with_context(|| format!("reading {}", c.display()))?;
            cert_email(&X509::from_pem(&pem)?)
                .context("--robot-cert carries no e-mail address; give --robot-address")?
        }
        (None, None) => "ra-robot@certs.example.ac.jp".to_string(),
    };
    let publish_url = match &args.publish_url {
        Some(u) => u.clone(),
        None => {
            let domain = robot_address.rsplit('@').next().unwrap_or("localhost");
            let u = format!("http://{domain}/mailra/");
            notes.push(format!(
                "Server certificates will name {u}ca.crl (CRL) and {u}ca.cer (issuing CA) and \
                 the same for ca-ec: serve the folder crl/ there over plain http (README, \
                 \"Publishing CRLs\"), or change ca.publish_url in mailra.toml before issuing."
            ));
            u
        }
    };
    match (&args.robot_cert, &args.robot_key) {
        (Some(c), Some(k)) => {
            copy_in(c, &pki_dir.join("robot.pem"))?;
            copy_in(k, &pki_dir.join("robot.key"))?;
        }
        _ => {
            // Under the generated officer CA (one CA for the whole demo-sized
            // instance); with a given officer CA, whose key we do not have,
            // under a robot CA of the instance's own.
            let robot_ca = match &officer_ca {
                Some(ca) => ca.clone(),
                None => {
                    let ca = ca::new_ca(
                        "mailra Robot CA",
                        "mailra Secretariat",
                        now,
                        3650,
                        KeyKind::Rsa2048,
                    )?;
                    std::fs::write(pki_dir.join("robot-ca.pem"), ca.cert.to_pem()?)?;
                    write_key(&pki_dir.join("robot-ca.key"), &ca.key)?;
                    notes.push(format!(
                        "The robot's certificate was issued by a robot CA of this instance, {}: \
                         officers' mail clients trust the robot's signed replies only once that \
                         CA is installed as trusted for e-mail (or replace pki/robot.pem and \
                         pki/robot.key by a robot certificate from a CA they already trust).",
                        abs_string(&pki_dir.join("robot-ca.pem"))
                    ));
                    ca
                }
            };
            write_robot(&pki_dir, &robot_ca, &robot_address, now)?;
        }
    }
    // The issuing CAs: RSA for profile 3, ECDSA P-384 for profile 11 (SPEC §6).
    for (given, name, cn, kind) in [
        (
            (&args.ca_cert, &args.ca_key),
            "ca",
            "mailra Server CA",
            KeyKind::Rsa2048,
        ),
        (
            (&args.ca_ec_cert, &args.ca_ec_key),
            "ca-ec",
            "mailra ECC Server CA",
            KeyKind::P384,
        ),
    ] {
        let (pem, key) = (
            pki_dir.join(format!("{name}.pem")),
            pki_dir.join(format!("{name}.key")),
        );
        match given {
            (Some(c), Some(k)) => {
                copy_in(c, &pem)?;
                copy_in(k, &key)?;
            }
            _ => {
                let ca = ca::new_ca(cn, "mailra Certificate Service", now, 3650, kind)?;
                std::fs::write(&pem, ca.cert.to_pem()?)?;
                write_key(&key, &ca.key)?;
            }
        }
    }
    let raw = RawConfig {
        robot: RawRobot {
            address: Some(robot_address),
            cert: Some("pki/robot.pem".into()),
            key: Some("pki/robot.key".into()),
            secretariat: args.secretariat.clone(),
            max_message_mb: Some(20),
        },
        paths: RawPaths {
            database: Some("mailra.sqlite".into()),
            maildir: Some("maildir".into()),
            outbox: Some("outbox".into()),
            crl_dir: Some("crl".into()),
            templates: None,
        },
        trust: RawTrust {
            officer_ca: Some("pki/officer-ca.pem".into()),
            officer_crl: None,
            allow_legacy_digests: Some(false),
            max_age_days: Some(14),
        },
        ca: RawCa {
            cert: Some("pki/ca.pem".into()),
            key: Some("pki/ca.key".into()),
            ec_cert: Some("pki/ca-ec.pem".into()),
            ec_key: Some("pki/ca-ec.key".into()),
            server_days: None,
            crl_days: Some(7),
            publish_url: Some(publish_url.clone()),
            policy_oid: None,
            cps_url: None,
            p12_encryption: Some(crate::ca::P12Encryption::default().as_str().into()),
            key_pool: Some(config::DEFAULT_KEY_POOL),
            import_cas: Vec::new(),
        },
        imap: args.imap.as_ref().map(|url| crate::config::RawImap {
            url: Some(url.clone()),
            password_file: args.imap_password_file.as_deref().map(abs_string),
            allow_plaintext: args.allow_plaintext.then_some(true),
            ca_file: args.tls_ca_file.as_deref().map(abs_string),
            ..Default::default()
        }),
        smtp: args.smtp.as_ref().map(|url| crate::config::RawSmtp {
            url: Some(url.clone()),
            password_file: args.smtp_password_file.as_deref().map(abs_string),
            allow_plaintext: args.allow_plaintext.then_some(true),
            ca_file: args.tls_ca_file.as_deref().map(abs_string),
            ..Default::default()
        }),
        rules: RawRules {
            dir: Some("rules".into()),
        },
        reminders: crate::config::RawReminders {
            digest_days: Some(30),
            interval_minutes: Some(60),
        },
        // Commands by signed mail: off until the secretariat's CA is set
        // up (docs/mail-commands.md).
        secretariat: None,
    };
    let text = format!(
        "# mailra instance configuration (see README.md, \"Configuration\").\n# Paths are relative to this folder.\n\n{}",
        comment_ca_keys(&toml::to_string(&raw)?)
    );
    std::fs::write(dir.join(config::FILE_NAME), text)?;
    // The shipped filing rules, for the operator to adapt (an existing file is kept).
    let rules_dir = dir.join("rules");
    std::fs::create_dir_all(&rules_dir)
        .with_context(|| format!("creating {}", rules_dir.display()))?;
    let default_rules = rules_dir.join(crate::policy::rules::DEFAULT_FILE);
    if !default_rules.exists() {
        std::fs::write(&default_rules, crate::policy::rules::DEFAULT_RULES)
            .with_context(|| format!("writing {}", default_rules.display()))?;
    }
    // Check what was written exactly as every later command will.
    let cfg = config::Config::load(dir)?;
    crate::mail::maildir::ensure(&cfg.maildir)?;
    let env = crate::ra::Env::open(cfg)?;
    drop(env);
    Ok(Created {
        dir: std::path::absolute(dir)?,
        notes,
    })
}

/// Explains the certificate-publication keys in the written `[ca]` section
/// and the PKCS#12 and key-pool keys, and lists the optional ones, commented
/// out, with their defaults.
fn comment_ca_keys(toml: &str) -> String {
    let explain = "# The http:// URL where a web server serves the crl/ folder (CRLs and CA\n\
                   # certificates): every server certificate names it (CRL distribution point,\n\
                   # caIssuers). Must be reachable by relying parties.\n";
    let optional = "# Optional (unset by default):\n\
                    # server_days = 90       # validity bound; the CA/B Forum maximum in force at issuance\n\
                    #                        # always applies (200 days, 100 from 2027-03-15, 47 from 2029-03-15)\n\
                    # policy_oid = \"1.3.6.1.4.1.99999.1.1\"   # the CA's own policy, after 2.23.140.1.2.2\n\
                    # cps_url = \"https://certs.example.ac.jp/cps/\"\n";
    let p12 = "# PKCS#12 files of generated keys: \"compatible\" (3DES, SHA-1 MAC) opens on every\n\
               # system; \"modern\" (AES-256, SHA-256 MAC) is stronger but older macOS/iOS/Android/\n\
               # Windows refuse it with a misleading \"wrong password\". Per institution: the registry.\n";
    let pool =
        "# RSA-2048 keys `mailra run` generates ahead while idle, in memory only (0: off).\n";
    let mut out = String::new();
    for line in toml.lines() {
        if line.starts_with("p12_encryption =") {
            out.push_str(p12);
        } else if line.starts_with("key_pool =") {
            out.push_str(pool);
        }
        if line.starts_with("publish_url =") {
            out.push_str(explain);
            out.push_str(line);
            out.push('\n');
            out.push_str(optional);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_ca_section_explains_p12_encryption_and_the_key_pool() {
        let dir = tempfile::tempdir().unwrap();
        let args = InitArgs {
            dir: dir.path().to_path_buf(),
            publish_url: Some("http://certs.example.ac.jp/mailra/".into()),
            ..Default::default()
        };
        init(&args, time::OffsetDateTime::now_utc()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(config::FILE_NAME)).unwrap();
        for want in [
            "# PKCS#12 files of generated keys: \"compatible\" (3DES, SHA-1 MAC) opens on every\n# system;",
            "p12_encryption = \"compatible\"\n",
            "# RSA-2048 keys `mailra run` generates ahead while idle, in memory only (0: off).\nkey_pool = 100\n",
        ] {
            assert!(text.contains(want), "{want:?} missing in:\n{text}");
        }
        let cfg = config::Config::load(dir.path()).unwrap();
        assert_eq!(cfg.p12_encryption, crate::ca::P12Encryption::Compatible);
        assert_eq!(cfg.key_pool, config::DEFAULT_KEY_POOL);
    }
}
