//! Everything one processing pass needs, loaded and checked once at start-up.

use openssl::pkey::PKey;
use openssl::x509::{X509, X509Crl};
use rusqlite::Connection;

use crate::ca::{IssuingCa, RandomSerials, SerialSource};
use crate::config::Config;
use crate::intake::smime::Trust;
use crate::mail::sign::Signer;
use crate::render::Renderer;
use crate::store;

pub struct Env {
    pub cfg: Config,
    pub conn: Connection,
    pub trust: Trust,
    pub ca: IssuingCa,
    pub signer: Signer,
    pub renderer: Renderer,
    pub serials: Box<dyn SerialSource + Send>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{path}: {what}")]
    Material { path: String, what: String },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, EnvError> {
    std::fs::read(path).map_err(|e| EnvError::Material {
        path: path.display().to_string(),
        what: e.to_string(),
    })
}

fn bad(path: &std::path::Path, what: impl std::fmt::Display) -> EnvError {
    EnvError::Material {
        path: path.display().to_string(),
        what: what.to_string(),
    }
}

/// Reads a PEM file of one or more certificates (first = the end entity).
pub fn load_certs(path: &std::path::Path) -> Result<Vec<X509>, EnvError> {
    let certs = X509::stack_from_pem(&read(path)?).map_err(|e| bad(path, e))?;
    if certs.is_empty() {
        return Err(bad(path, "no certificate in the file"));
    }
    Ok(certs)
}

impl Env {
    pub fn open(cfg: Config) -> Result<Env, EnvError> {
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
            .map_err(|e| bad(&cfg.ca_cert, e))?;
        let renderer = Renderer::new(cfg.templates.as_deref())?;
        std::fs::create_dir_all(&cfg.outbox).map_err(|e| bad(&cfg.outbox, e))?;
        std::fs::create_dir_all(&cfg.crl_dir).map_err(|e| bad(&cfg.crl_dir, e))?;
        let conn = store::open(&cfg.database)?;
        let trust = Trust {
            officer_cas,
            officer_crls,
            robot_cert: Some(robot[0].clone()),
            allow_legacy_digests: cfg.allow_legacy_digests,
            max_age: time::Duration::days(cfg.max_age_days),
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
            signer,
            renderer,
            serials: Box::new(RandomSerials),
        })
    }
}

impl Env {
    /// The embedded default: with no `[smtp]`, replies are written to the
    /// outbox folder right after the commit. With SMTP, the sender task
    /// delivers them (see `mail::smtp`), and this does nothing.
    pub fn deliver_local(
        &self,
        now: time::OffsetDateTime,
    ) -> Result<usize, crate::mail::outbox::OutboxError> {
        if self.cfg.smtp.is_some() {
            return Ok(0);
        }
        crate::mail::outbox::drain(&self.conn, &self.cfg.outbox, now)
    }
}
