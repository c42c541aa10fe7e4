//! Everything one processing pass needs, loaded and checked once at start-up.

use std::path::{Path, PathBuf};

use openssl::pkey::PKey;
use openssl::x509::{X509, X509Crl};
use rusqlite::Connection;

use super::RaError;
use crate::ca::{CaError, IssuingCa, PinSource, RandomPins, RandomSerials, SerialSource};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::intake::smime::Trust;
use crate::mail::sign::Signer;
use crate::model::{CaKind, Profile};
use crate::policy::rules::{self, RuleError, RuleSet, RulesError};
use crate::render::Renderer;
use crate::store;

pub struct Env {
    pub cfg: Config,
    pub conn: Connection,
    pub trust: Trust,
    /// The RSA issuing CA (profile 3).
    pub ca: IssuingCa,
    /// The ECDSA P-384 issuing CA (profile 11), when configured.
    pub ec_ca: Option<IssuingCa>,
    pub signer: Signer,
    pub renderer: Renderer,
    /// The filing rules, every file checked at start-up.
    pub rules: RuleSet,
    pub serials: Box<dyn SerialSource + Send>,
    /// Where the access PINs of generated keys come from.
    pub pins: Box<dyn PinSource + Send>,
    /// Where "now" comes from on every path (the daemon's loops included).
    pub clock: std::sync::Arc<dyn Clock>,
    /// Pre-generated keys for client certificates: off (0) unless the
    /// daemon turns it on (`[ca] key_pool`); a one-shot command generates
    /// what it needs.
    pub keys: crate::ca::KeyPool,
    /// How workbooks are read: in a child process running this executable
    /// (`mailra read-workbook`). Tests set its `exe` to the mailra binary.
    pub workbooks: super::workbook::WorkbookReader,
    /// What a secretariat's command mail can do (`ops` implements it; the
    /// wiring installs it). None: command mails are refused.
    pub commands: Option<std::sync::Arc<dyn super::command::Commands>>,
    /// The trust of command mails (`[secretariat] trust_anchor` with every
    /// rule of [`Env::trust`]); None without a `[secretariat]` section.
    pub command_trust: Option<Trust>,
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, RaError> {
    std::fs::read(path).map_err(|e| RaError::Material {
        path: path.display().to_string(),
        what: e.to_string(),
    })
}

fn bad(path: &std::path::Path, what: impl std::fmt::Display) -> RaError {
    RaError::Material {
        path: path.display().to_string(),
        what: what.to_string(),
    }
}

/// Reads a PEM file of one or more certificates (first = the end entity).
pub fn load_certs(path: &std::path::Path) -> Result<Vec<X509>, RaError> {
    let certs = X509::stack_from_pem(&read(path)?).map_err(|e| bad(path, e))?;
    if certs.is_empty() {
        return Err(bad(path, "no certificate in the file"));
    }
    Ok(certs)
}

/// Where the rules of an instance come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesSource {
    /// The `*.toml` files of the rules folder, in name order.
    Files(Vec<PathBuf>),
    /// The folder does not exist: the shipped defaults.
    BuiltIn,
}

/// Reads and checks the rule files of `dir` (every `*.toml`, in file-name
/// order), or the shipped defaults when the folder does not exist.
pub fn load_rules(dir: &Path) -> Result<(RuleSet, RulesSource), RulesError> {
    if !dir.exists() {
        return Ok((RuleSet::builtin(), RulesSource::BuiltIn));
    }
    let unreadable = |what: String| RulesError {
        errors: vec![RuleError {
            file: dir.display().to_string(),
            line: 0,
            key: String::new(),
            message: what,
        }],
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| unreadable(format!("cannot read the rules folder ({e})")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    Ok((load_rule_files(&paths)?, RulesSource::Files(paths)))
}

/// Reads and checks the given rule files, in this order.
pub fn load_rule_files(paths: &[PathBuf]) -> Result<RuleSet, RulesError> {
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::read_to_string(p) {
            Ok(t) => texts.push((p.display().to_string(), t)),
            Err(e) => errors.push(RuleError {
                file: p.display().to_string(),
                line: 0,
                key: String::new(),
                message: format!("cannot read ({e})"),
            }),
        }
    }
    match rules::parse(&texts) {
        Ok(r) if errors.is_empty() => Ok(r),
        Ok(_) => Err(RulesError { errors }),
        Err(e) => {
            errors.extend(e.errors);
            Err(RulesError { errors })
        }
    }
}

impl Env {
    pub fn open(cfg: Config) -> Result<Env, RaError> {
        let (rules, source) = load_rules(&cfg.rules_dir)?;
        if source == RulesSource::BuiltIn {
            tracing::info!(dir = %cfg.rules_dir.display(), "no rules folder: the built-in filing rules apply");
        } else if rules.is_empty() {
            tracing::warn!(dir = %cfg.rules_dir.display(), "no filing rules: every mail goes to the folder of its verdict, nothing is held");
        }
        let robot = load_certs(&cfg.robot_cert)?;
        let robot_key = PKey::private_key_from_pem(&read(&cfg.robot_key)?)
            .map_err(|e| bad(&cfg.robot_key, e))?;
        if !robot[0]
            .public_key()
            .map(|k| k.public_eq(&robot_key))
            .unwrap_or(false)
        {
            return Err(bad(
                &cfg.robot_key,
                "this key does not belong to the robot certificate",
            ));
        }
        let officer_cas = load_certs(&cfg.officer_ca)?;
        let officer_crls = match &cfg.officer_crl {
            Some(p) => {
                let b = read(p)?;
                let crl = X509Crl::from_pem(&b)
                    .or_else(|_| X509Crl::from_der(&b))
                    .map_err(|e| bad(p, e))?;
                vec![crl]
            }
            None => vec![],
        };
        let ca = IssuingCa::from_pem(&read(&cfg.ca_cert)?, &read(&cfg.ca_key)?)
            .map_err(|e| bad(&cfg.ca_cert, e))?
            .with_publication(cfg.publication.clone());
        if ca.kind() != Some(CaKind::Rsa) {
            return Err(bad(
                &cfg.ca_key,
                format!(
                    "the issuing CA (ca.key) signs profile 3 with sha256WithRSAEncryption and must have an RSA key, this one is {}",
                    ca.key_description()
                ),
            ));
        }
        let ec_ca = match &cfg.ec_ca {
            Some(p) => {
                let ca = IssuingCa::from_pem(&read(&p.cert)?, &read(&p.key)?)
                    .map_err(|e| bad(&p.cert, e))?
                    .with_publication(cfg.publication.clone());
                if ca.kind() != Some(CaKind::Ec) {
                    return Err(bad(
                        &p.key,
                        format!(
                            "the ECDSA issuing CA (ca.ec_key) must have a P-384 key, this one is {}",
                            ca.key_description()
                        ),
                    ));
                }
                Some(ca)
            }
            None => None,
        };
        let renderer = Renderer::new(cfg.templates.as_deref())?;
        std::fs::create_dir_all(&cfg.outbox).map_err(|e| bad(&cfg.outbox, e))?;
        std::fs::create_dir_all(&cfg.crl_dir).map_err(|e| bad(&cfg.crl_dir, e))?;
        // Each CA's certificate beside its CRL: the caIssuers URL names it.
        for (kind, ca) in [(CaKind::Rsa, Some(&ca)), (CaKind::Ec, ec_ca.as_ref())] {
            if let Some(ca) = ca {
                let path = cfg.crl_dir.join(crate::ca::issuer_file(kind));
                let der = ca.cert().to_der().map_err(|e| bad(&path, e))?;
                if std::fs::read(&path).ok().as_deref() != Some(&der[..]) {
                    std::fs::write(&path, &der).map_err(|e| bad(&path, e))?;
                }
            }
        }
        let conn = store::open(&cfg.database)?;
        let trust = Trust {
            officer_cas,
            officer_crls,
            robot_cert: Some(robot[0].clone()),
            allow_legacy_digests: cfg.allow_legacy_digests,
            max_age: time::Duration::days(cfg.max_age_days),
        };
        let command_trust = match &cfg.commands {
            Some(sec) => Some(super::command::trust(
                &trust,
                load_certs(&sec.trust_anchor)?,
            )),
            None => None,
        };
        let signer = Signer {
            cert: robot[0].clone(),
            key: robot_key,
            chain: robot[1..].to_vec(),
        };
        Ok(Env {
            cfg,
            conn,
            trust,
            ca,
            ec_ca,
            signer,
            renderer,
            rules,
            serials: Box::new(RandomSerials),
            pins: Box::new(RandomPins),
            clock: std::sync::Arc::new(SystemClock),
            keys: crate::ca::KeyPool::new(0),
            workbooks: super::workbook::WorkbookReader::current(),
            commands: None,
            command_trust,
        })
    }

    /// The issuing CA of a kind, if this instance has one.
    pub fn issuing_ca(&self, kind: CaKind) -> Option<&IssuingCa> {
        match kind {
            CaKind::Rsa => Some(&self.ca),
            CaKind::Ec => self.ec_ca.as_ref(),
        }
    }

    /// The CA that signs `profile`: the RSA CA for profile 3, the ECDSA CA for
    /// profile 11 (an error when this instance has none; policy refuses such
    /// rows before they get here).
    pub fn ca_for_profile(&self, profile: Profile) -> Result<(CaKind, &IssuingCa), CaError> {
        let kind = CaKind::for_profile(profile);
        self.issuing_ca(kind)
            .map(|ca| (kind, ca))
            .ok_or(CaError::NotConfigured(kind))
    }

    /// The kinds of issuing CA this instance has (each publishes its own CRL).
    pub fn ca_kinds(&self) -> Vec<CaKind> {
        CaKind::ALL
            .into_iter()
            .filter(|k| self.issuing_ca(*k).is_some())
            .collect()
    }
}

impl Env {
    /// The embedded default: with no `[smtp]`, replies are written to the
    /// outbox folder (lettre's file transport) right after the commit, each
    /// marked sent once written; one that cannot be written stays pending with
    /// its error and is tried again on the next call. With SMTP, the sender
    /// (`service::sender`) delivers them, and this does nothing.
    pub fn deliver_local(&self, now: time::OffsetDateTime) -> Result<usize, store::StoreError> {
        if self.cfg.smtp.is_some() {
            return Ok(0);
        }
        // One writer at a time in this process (the intake and the reminder
        // scheduler both call this): a reply is written once.
        static LOCAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = LOCAL.lock().unwrap_or_else(|e| e.into_inner());
        // Every file first, then their marks in one transaction: a crash in
        // between writes them again on the next start, unchanged (same
        // Message-ID), which is what a resent reply is anyway.
        let written: Vec<_> = store::pending_outbox(&self.conn)?
            .into_iter()
            .map(|m| {
                let r =
                    crate::mail::outbox::write(&self.cfg.outbox, &m.from, &m.recipients, &m.raw);
                (m.id, r)
            })
            .collect();
        let tx = self.conn.unchecked_transaction()?;
        let mut sent = 0;
        let mut wiped = false;
        for (id, r) in written {
            match r {
                Ok(transport_id) => {
                    // A reply carrying a key or PINs is wiped to a stub here.
                    wiped |= store::mark_sent(&tx, id, now, &transport_id)?;
                    sent += 1;
                }
                Err(e) => store::mark_failed(&tx, id, &e)?,
            }
        }
        tx.commit()?;
        if wiped {
            store::scrub(&self.conn)?;
        }
        Ok(sent)
    }
}
