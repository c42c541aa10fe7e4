//! `mailra registry import-cert`: the service's bulk import of certificates
//! already issued — by the instance's own CAs before mailra ran, or by a CA
//! configured for import (`[ca] import_cas`, code signing above all) — so
//! that they can be revoked like any certificate mailra issued.
//!
//! Every certificate is checked on its own (readable, chains to a
//! configured CA, not expired, a purpose mailra knows, an institution, not
//! already in the store) and every problem is reported with its file. The
//! good ones are recorded (one transaction), the bad ones listed: the files
//! are independent certificates, not one application, and a second run
//! reports the recorded ones as present. `--dry-run` checks without writing.

use std::path::{Path, PathBuf};

use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509, X509StoreContext};
use rusqlite::Connection;
use serde::Serialize;
use time::OffsetDateTime;

use super::{OpsError, Result};
use crate::config::Config;
use crate::intake::certfile::{self, FileCert};
use crate::model::{CaKind, CertStatus, Dn, Institution, Serial};
use crate::store::{self, CertRecord};

/// A certificate that was (or, dry run, would be) recorded.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedCert {
    pub file: String,
    pub serial: String,
    /// `server`, `client`, `smime` or `codesign`.
    pub kind: &'static str,
    pub institution: String,
    pub subject: String,
    /// `rsa`, `ec` or the import CA's name.
    pub ca: String,
    pub not_after: String,
}

/// Why one certificate (or a whole file) was not imported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportProblem {
    /// The file, with `#n` (1-based) when it holds several certificates.
    pub file: String,
    pub problem: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct CertImportReport {
    pub dry_run: bool,
    pub imported: Vec<ImportedCert>,
    pub problems: Vec<ImportProblem>,
}

/// Who issued a certificate, among the configured CAs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Issuer {
    Own(CaKind),
    Import(String),
}

/// The configured CAs: a verification store holding all of them, and which
/// certificate is which CA.
struct Trust {
    store: X509Store,
    known: Vec<(Vec<u8>, Issuer)>,
}

fn trust(cfg: &Config) -> Result<Trust> {
    let load = |p: &Path| -> Result<Vec<X509>> { crate::ra::load_certs(p).map_err(OpsError::from) };
    let mut files: Vec<(Vec<X509>, Option<Issuer>)> =
        vec![(load(&cfg.ca_cert)?, Some(Issuer::Own(CaKind::Rsa)))];
    if let Some(ec) = &cfg.ec_ca {
        files.push((load(&ec.cert)?, Some(Issuer::Own(CaKind::Ec))));
    }
    for ica in &cfg.import_cas {
        files.push((load(&ica.path)?, Some(Issuer::Import(ica.name.clone()))));
    }
    let ssl = |e: openssl::error::ErrorStack| OpsError::Invalid(format!("CA certificates: {e}"));
    let mut b = X509StoreBuilder::new().map_err(ssl)?;
    // "Not expired" is checked against mailra's clock, not the system's;
    // a configured CA need not be a root.
    b.set_flags(X509VerifyFlags::NO_CHECK_TIME | X509VerifyFlags::PARTIAL_CHAIN)
        .map_err(ssl)?;
    let mut known = Vec::new();
    for (certs, issuer) in files {
        for (i, c) in certs.iter().enumerate() {
            let der = c.to_der().map_err(ssl)?;
            // The first certificate of an own CA file is the issuing CA
            // (a chain may follow); every certificate of an import file is
            // that import CA's.
            let who = match &issuer {
                Some(Issuer::Own(k)) if i == 0 => Some(Issuer::Own(*k)),
                Some(Issuer::Own(_)) => None,
                other => other.clone(),
            };
            if let Some(who) = who {
                known.push((der, who));
            }
            // The same CA may be configured twice; the store refuses a copy.
            let _ = b.add_cert(c.clone());
        }
    }
    Ok(Trust {
        store: b.build(),
        known,
    })
}

impl Trust {
    /// The configured CA the certificate chains to (the first configured
    /// certificate above it), or why not.
    fn issuer(&self, cert: &X509, others: &[X509]) -> std::result::Result<Issuer, String> {
        let mut chain = Stack::new().map_err(|e| e.to_string())?;
        for o in others {
            chain.push(o.clone()).map_err(|e| e.to_string())?;
        }
        let mut ctx = X509StoreContext::new().map_err(|e| e.to_string())?;
        ctx.init(&self.store, cert, &chain, |c| {
            if !c.verify_cert()? {
                return Ok(Err(format!(
                    "does not chain to a configured CA ({})",
                    c.error().error_string()
                )));
            }
            let ders: Vec<Vec<u8>> = c
                .chain()
                .map(|s| s.iter().skip(1).filter_map(|x| x.to_der().ok()).collect())
                .unwrap_or_default();
            Ok(ders
                .iter()
                .find_map(|d| {
                    self.known
                        .iter()
                        .find(|(k, _)| k == d)
                        .map(|(_, i)| i.clone())
                })
                .ok_or_else(|| "does not chain to a configured CA".to_string()))
        })
        .map_err(|e| e.to_string())?
    }
}

/// The files named: a directory stands for the files in it (not its
/// sub-directories, not hidden files), in name order.
fn expand(paths: &[PathBuf], problems: &mut Vec<ImportProblem>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(p) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| {
                        f.is_file()
                            && !f
                                .file_name()
                                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    })
                    .collect(),
                Err(e) => {
                    problems.push(problem(p, None, format!("cannot be read: {e}")));
                    continue;
                }
            };
            files.sort();
            out.extend(files);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            problems.push(problem(p, None, "no such file or directory".into()));
        }
    }
    out
}

fn problem(file: &Path, n: Option<usize>, problem: String) -> ImportProblem {
    ImportProblem {
        file: label(file, n),
        problem,
    }
}

fn label(file: &Path, n: Option<usize>) -> String {
    match n {
        Some(n) => format!("{}#{n}", file.display()),
        None => file.display().to_string(),
    }
}

/// The institution an option names: its registry ID or its name.
pub fn institution_arg(conn: &Connection, arg: &str) -> Result<Institution> {
    let by_id = arg
        .parse::<i64>()
        .ok()
        .map(|id| store::institution(conn, id))
        .transpose()?
        .flatten();
    match by_id {
        Some(i) => Ok(i),
        None => store::institution_by_name(conn, arg)?
            .ok_or_else(|| OpsError::NotFound(format!("no institution {arg:?} (ID or name)"))),
    }
}

/// The registered institution whose name the subject's O= gives (compared
/// without case and outer spaces), or why not.
fn institution_of(
    cert: &X509,
    institutions: &[Institution],
) -> std::result::Result<Institution, String> {
    let orgs: Vec<String> = cert
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::ORGANIZATIONNAME)
        .filter_map(|e| e.data().to_string().ok().map(|s| s.trim().to_string()))
        .collect();
    if orgs.is_empty() {
        return Err("the subject has no O= to find its institution by; give --institution".into());
    }
    let found: Vec<&Institution> = institutions
        .iter()
        .filter(|i| orgs.iter().any(|o| o.eq_ignore_ascii_case(i.name.trim())))
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "O={} is no registered institution; register it or give --institution",
            orgs.join(", O=")
        )),
        many => Err(format!(
            "O={} matches several institutions ({}); give --institution",
            orgs.join(", O="),
            many.iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Checks every certificate of `paths` and records the good ones (unless
/// `dry_run`). `institution`: every certificate's institution (ID or name);
/// without it, each one's O=.
pub fn import_certs(
    conn: &mut Connection,
    cfg: &Config,
    paths: &[PathBuf],
    institution: Option<&str>,
    dry_run: bool,
    actor: &str,
    now: OffsetDateTime,
) -> Result<CertImportReport> {
    let forced = institution.map(|a| institution_arg(conn, a)).transpose()?;
    let institutions = store::institutions(conn)?;
    let trust = trust(cfg)?;
    let mut problems = Vec::new();
    let files = expand(paths, &mut problems);
    let mut good: Vec<(CertRecord, ImportedCert)> = Vec::new();
    for file in &files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                problems.push(problem(file, None, format!("cannot be read: {e}")));
                continue;
            }
        };
        let certs = match certfile::parse(&bytes) {
            Ok(c) => c,
            Err(e) => {
                problems.push(problem(file, None, e.to_string()));
                continue;
            }
        };
        // CA certificates in the file are its chain, not certificates to import.
        let chain: Vec<X509> = certs
            .iter()
            .filter(|c| c.is_ca)
            .map(|c| c.x509.clone())
            .collect();
        let leaves: Vec<&FileCert> = certs.iter().filter(|c| !c.is_ca).collect();
        if leaves.is_empty() {
            problems.push(problem(file, None, "holds only CA certificates".into()));
            continue;
        }
        let several = leaves.len() > 1;
        for (n, c) in leaves.iter().enumerate() {
            let at = label(file, several.then_some(n + 1));
            let taken: Vec<&Serial> = good.iter().map(|(r, _)| &r.serial).collect();
            let who = institution_for(&forced, &c.x509, &institutions);
            match check_one(conn, &trust, &chain, c, who, &taken, now)? {
                Ok((rec, ca)) => {
                    let view = ImportedCert {
                        file: at,
                        serial: rec.serial.to_string(),
                        kind: rec.kind.as_str(),
                        institution: institutions
                            .iter()
                            .find(|i| i.id == rec.institution_id)
                            .map(|i| i.name.clone())
                            .unwrap_or_default(),
                        subject: rec.subject_dn.clone(),
                        ca,
                        not_after: store::ts(rec.not_after),
                    };
                    good.push((rec, view));
                }
                Err(why) => problems.extend(why.into_iter().map(|p| ImportProblem {
                    file: at.clone(),
                    problem: p,
                })),
            }
        }
    }
    if !dry_run && !good.is_empty() {
        let tx = conn.transaction()?;
        for (rec, view) in &good {
            store::insert_certificate(&tx, rec)?;
            store::audit(
                &tx,
                now,
                actor,
                "import-cert",
                None,
                Some(&rec.serial),
                &format!(
                    "{} {} from {} ({})",
                    view.kind, view.subject, view.ca, view.file
                ),
            )?;
        }
        tx.commit()?;
    }
    Ok(CertImportReport {
        dry_run,
        imported: good.into_iter().map(|(_, v)| v).collect(),
        problems,
    })
}

fn institution_for(
    forced: &Option<Institution>,
    cert: &X509,
    all: &[Institution],
) -> std::result::Result<Institution, String> {
    match forced {
        Some(i) => Ok(i.clone()),
        None => institution_of(cert, all),
    }
}

/// Every problem of one certificate, or its record and its CA's name.
fn check_one(
    conn: &Connection,
    trust: &Trust,
    chain: &[X509],
    c: &FileCert,
    institution: std::result::Result<Institution, String>,
    taken: &[&Serial],
    now: OffsetDateTime,
) -> Result<std::result::Result<(CertRecord, String), Vec<String>>> {
    let x = &c.x509;
    let mut why = Vec::new();
    let serial = x
        .serial_number()
        .to_bn()
        .map(|b| Serial::from_bytes(&b.to_vec()))
        .map_err(|e| OpsError::Invalid(e.to_string()))?;
    let issuer = trust.issuer(x, chain).map_err(|e| why.push(e)).ok();
    let times = (
        crate::ca::asn1_to_time(x.not_before()),
        crate::ca::asn1_to_time(x.not_after()),
    );
    let (not_before, not_after) = match times {
        (Some(a), Some(b)) => (a, b),
        _ => {
            why.push("its validity dates cannot be read".into());
            (now, now)
        }
    };
    if not_after <= now {
        why.push(format!("expired on {}", super::day(not_after)));
    }
    if c.kind.is_none() {
        why.push(
            "no extended key usage mailra knows (serverAuth, clientAuth, emailProtection, codeSigning)"
                .into(),
        );
    }
    let institution = institution.map_err(|e| why.push(e)).ok();
    if taken.contains(&&serial) {
        why.push(format!("serial {serial} appears twice in this import"));
    } else if let Some(old) = store::certificate(conn, &serial)? {
        let same_issuer = X509::from_pem(old.pem.as_bytes())
            .ok()
            .and_then(|o| o.issuer_name().to_der().ok())
            == x.issuer_name().to_der().ok();
        why.push(if same_issuer {
            format!("already present (serial {serial})")
        } else {
            format!(
                "serial {serial} is already used by another certificate in the store \
                 (of another issuer); not imported"
            )
        });
    }
    let (Some(issuer), Some(kind), Some(inst), true) =
        (issuer, c.kind, institution, why.is_empty())
    else {
        return Ok(Err(why));
    };
    let (ca, import_ca) = match &issuer {
        Issuer::Own(k) => (Some(*k), None),
        Issuer::Import(n) => (None, Some(n.clone())),
    };
    let ca_name = match &issuer {
        Issuer::Own(k) => k.as_str().to_string(),
        Issuer::Import(n) => n.clone(),
    };
    let pem = x.to_pem().map_err(|e| OpsError::Invalid(e.to_string()))?;
    Ok(Ok((
        CertRecord {
            serial,
            institution_id: inst.id,
            profile: None,
            kind,
            subject_dn: Dn::display_x509_name(x.subject_name()),
            spki_sha256: crate::ca::cert_spki_sha256(x),
            not_before,
            not_after,
            status: CertStatus::Valid,
            pem: String::from_utf8_lossy(&pem).into_owned(),
            admin_mail: c.mail.clone().unwrap_or_default(),
            renewed_from: None,
            issued_at: not_before,
            mail_id: None,
            ca,
            import_ca,
            imported_at: Some(now),
            applied_dn: None,
            user_mail: None,
        },
        ca_name,
    )))
}
