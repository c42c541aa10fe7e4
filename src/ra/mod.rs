//! The registration-authority workflow: the only layer that sequences I/O.
//!
//! One mail goes: verify (intake::smime) → authorise the signer (store) →
//! extract files (intake::mime) → validate every row (policy) → in ONE
//! transaction: record the mail, have the CA issue/revoke, queue the signed
//! replies, write audit events → after commit: publish the CRL, drain the
//! outbox. A crash before the commit leaves nothing behind; a crash after it
//! leaves replies in the outbox table, sent on the next start.

mod answer;
mod env;
mod execute;
mod intake;
mod keys;
mod replies;
pub mod review;

pub use crate::model::Verdict;
pub use env::{Env, EnvError, RulesSource, load_rule_files, load_rules};
pub use intake::{Taken, filed, take};

use openssl::sha::sha256;
use serde::Serialize;
use time::OffsetDateTime;

use crate::intake::application::{self, AttachmentKind, ReadError};
use crate::intake::{mime, smime};
use crate::model::{ApplicationFile, CaKind, RowError, Serial};
use crate::policy::forms::{self, Checked};
use crate::store;
use answer::Rejection;

/// What happened to one mail, for the CLI and the daemon's log.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub source: String,
    pub mail_id: i64,
    pub verdict: Verdict,
    /// The failed check, for rejections.
    pub check: Option<String>,
    pub summary: String,
    pub issued: Vec<String>,
    pub revoked: Vec<String>,
    pub replies: usize,
    /// The IMAP folder the filing rules chose (`/`-separated).
    pub folder: String,
    /// The IMAP keywords to set on the mail.
    pub keywords: Vec<String>,
    /// The deciding rule (None: the built-in fallback).
    pub rule: Option<String>,
}

/// An internal error: told to the operator, never to the officer. The mail
/// it happened on is left where it was, to be processed again.
#[derive(Debug, thiserror::Error)]
pub enum RaError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("rendering a reply: {0}")]
    Render(#[from] crate::render::RenderError),
    #[error("composing a reply: {0}")]
    Compose(#[from] crate::mail::compose::ComposeError),
    #[error("CA: {0}")]
    Ca(#[from] crate::ca::CaError),
    #[error("publishing the CRL: {0}")]
    Io(#[from] std::io::Error),
}

pub(crate) fn sha256_hex(b: &[u8]) -> String {
    hex::encode(sha256(b))
}

/// Is this a dry run? Officers put `[check]` or `[確認]` in the Subject.
pub fn is_dry_run(subject: Option<&str>) -> bool {
    subject.is_some_and(|s| s.to_ascii_lowercase().contains("[check]") || s.contains("[確認]"))
}

/// Processes one mail end to end. `source` names where it came from (a path,
/// later an IMAP UID) for the record.
pub fn process(
    env: &mut Env,
    raw: &[u8],
    source: &str,
    now: OffsetDateTime,
) -> Result<Outcome, RaError> {
    let raw_sha = sha256_hex(raw);
    let report = smime::verify(raw, &env.trust, now);
    let ctx = replies::MailCtx::new(env, &report, source, raw, &raw_sha, now);
    run(env, ctx, &report)
}

/// The pipeline after verification; a held mail the secretariat approves
/// goes through it again (`ctx.review` set: the mail's row is updated, and no
/// rule holds it a second time).
pub(crate) fn run(
    env: &mut Env,
    mut ctx: replies::MailCtx,
    report: &smime::Report,
) -> Result<Outcome, RaError> {
    if ctx.review.is_none() {
        if ctx.is_loop() {
            return ctx.finish_without_reply(
                env,
                Verdict::Ignored,
                "our own or an automatic mail: not answered",
            );
        }
        if let Some((first_id, _)) = store::mail_by_raw(&env.conn, &ctx.raw_sha)? {
            let first_at = first_received(env, first_id)?;
            return ctx.duplicate(env, first_id, &first_at);
        }
    }
    let verified = match &report.outcome {
        Ok(v) => v,
        Err(f) => return ctx.reject(env, Rejection::Signature(f.clone())),
    };
    let Some(officer) = store::officer_by_email(&env.conn, &verified.signer_email)? else {
        return ctx.reject(
            env,
            Rejection::NotOfficer {
                signer: verified.signer_email.clone(),
            },
        );
    };
    ctx.officer_since = store::officer_registered_at(&env.conn, officer.id)?;
    ctx.officer = Some(officer.clone());
    let institution = store::institution(&env.conn, officer.institution_id)?.ok_or_else(|| {
        store::StoreError::NotFound(format!("institution #{}", officer.institution_id))
    })?;
    ctx.institution = Some(institution.name.clone());
    ctx.signed_sha = Some(verified.content_sha256.clone());
    // Signed content is used once: carried out, or checked as a dry run. A dry run re-sent without `[check]` in the outer Subject is a
    // duplicate; the officer signs a fresh mail to have it carried out.
    let this_mail = ctx.review.as_ref().map(|r| r.mail_id);
    if let Some((first_id, first_at)) =
        store::mail_using_content(&env.conn, &verified.content_sha256, this_mail)?
    {
        return ctx.duplicate(env, first_id, &first_at);
    }

    let body = match mime::extract(&verified.content) {
        Ok(b) => {
            ctx.attachments = Some(
                b.attachments
                    .iter()
                    .map(|a| AttachmentKind::of(&a.filename))
                    .collect(),
            );
            b
        }
        Err(e) => {
            return ctx.invalid(
                env,
                &institution,
                vec![],
                vec![format!("the signed content could not be read: {e}")],
            );
        }
    };
    let reserved_keys = keys::reserved_keys(env, &verified.signer_cert_der);
    let mut notes = Vec::new();
    let mut files = Vec::new();
    for a in &body.attachments {
        let lookup = Lookup(&env.conn);
        let ctx = forms::Context {
            institution: Some(&institution),
            certs: Some(&lookup),
            ecdsa_ca: Some(env.ec_ca.is_some()),
            reserved_keys: &reserved_keys,
        };
        let checked = match application::records(&a.filename, &a.data) {
            Ok(records) => forms::check(&records, &ctx),
            Err(e @ ReadError::NotApplication) => {
                notes.push(format!("{}: {e}; ignored", a.filename));
                continue;
            }
            Err(e) => Checked::unreadable(&e),
        };
        files.push(ApplicationFile {
            name: a.filename.clone(),
            sha256: sha256_hex(&a.data),
            kind: checked.kind,
            rows: checked.rows,
            errors: checked.errors,
            warnings: checked.warnings,
        });
    }
    cross_file_checks(&mut files);
    ctx.note_files(&files);
    if files.is_empty() {
        notes.push("no application file (.tsv or .txt) was found inside the signed content".into());
        return ctx.invalid(env, &institution, files, notes);
    }
    // The outer Subject may only make a mail do less: `[check]` in either the
    // signed or the outer Subject makes a dry run.
    if is_dry_run(report.subject.as_deref()) || is_dry_run(report.outer_subject.as_deref()) {
        return ctx.dry_run(env, &institution, files, notes);
    }
    if files.iter().all(|f| !f.ok()) {
        return ctx.invalid(env, &institution, files, notes);
    }
    // Decided before anything is carried out: a rule may hold the request.
    let facts = ctx.facts(execute::verdict_of(&files), None);
    let decision = if ctx.review.is_some() {
        env.rules.evaluate_approved(&facts)
    } else {
        env.rules.evaluate(&facts)
    };
    let hold = decision.hold;
    ctx.decision = Some(decision);
    if hold {
        return ctx.held(env, &institution, files, notes);
    }
    execute::execute(env, ctx, &institution, files, notes)
}

/// The same certificate may be named only once per mail, across all its files.
fn cross_file_checks(files: &mut [ApplicationFile]) {
    let mut seen: std::collections::HashMap<Serial, (String, usize)> = Default::default();
    for f in files.iter_mut() {
        let mut extra = Vec::new();
        for r in &f.rows {
            let Some((serial, line)) = r.named_certificate() else {
                continue;
            };
            if let Some((other, other_line)) = seen.get(serial) {
                if other != &f.name {
                    extra.push(RowError {
                        line,
                        field: Some(4),
                        field_name: "serial",
                        rule: format!(
                            "certificate {serial} is already named in {other} line {other_line}"
                        ),
                    });
                }
            } else {
                seen.insert(serial.clone(), (f.name.clone(), line));
            }
        }
        f.errors.extend(extra);
    }
}

fn first_received(env: &Env, mail_id: i64) -> Result<String, RaError> {
    Ok(store::mail_received_at(&env.conn, mail_id)?)
}

/// Publishes the newest CRL of each issuing CA to `crl_dir` (DER and PEM:
/// `ca.crl` for the RSA CA, `ca-ec.crl` for the ECDSA CA), regenerating it
/// first if one of its certificates was revoked since or it is past its
/// nextUpdate. Returns each CA with the path of its PEM CRL.
pub fn refresh_crl(
    env: &mut Env,
    now: OffsetDateTime,
) -> Result<Vec<(CaKind, std::path::PathBuf)>, RaError> {
    let mut out = Vec::new();
    for kind in env.ca_kinds() {
        if store::crl_is_stale(&env.conn, kind, now)? {
            let tx = env.conn.unchecked_transaction()?;
            execute::make_crl(env, &tx, kind, now)?;
            tx.commit()?;
        }
        out.push((kind, execute::publish_crl(env, kind)?));
    }
    Ok(out)
}

/// The policy layer's read access to issued certificates, on the store.
struct Lookup<'a>(&'a rusqlite::Connection);

impl crate::model::CertLookup for Lookup<'_> {
    fn by_serial(&self, serial: &Serial) -> Option<crate::model::CertSummary> {
        let c = store::certificate(self.0, serial).ok()??;
        Some(crate::model::CertSummary {
            serial: c.serial,
            dn: crate::policy::dn::parse(&c.subject_dn).unwrap_or_default(),
            institution_id: c.institution_id,
            status: c.status,
            spki_sha256: c.spki_sha256,
            profile: c.profile,
        })
    }

    fn key_holders(&self, spki_sha256: &str) -> Vec<crate::model::KeyHolder> {
        // Like by_serial, the trait has no error channel yet: a failed query
        // is logged and reads as "no holder".
        let uses = store::key_uses(self.0, spki_sha256).unwrap_or_else(|e| {
            tracing::error!(error = %e, "key-reuse look-up failed");
            Vec::new()
        });
        uses.into_iter()
            .map(|u| crate::model::KeyHolder {
                serial: u.serial,
                dn: crate::policy::dn::parse(&u.subject_dn).unwrap_or_default(),
                revoked_for: u.revoked_for,
            })
            .collect()
    }
}
