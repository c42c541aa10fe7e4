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
pub mod reminders;
mod replies;
pub mod review;
mod steps;

pub use crate::model::Verdict;
pub use env::{Env, EnvError, RulesSource, load_rule_files, load_rules};
pub use intake::{Taken, filed, take};

use openssl::sha::sha256;
use serde::Serialize;
use time::OffsetDateTime;

use crate::intake::smime;
use crate::model::CaKind;
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
    #[error("mail: {0}")]
    Mail(#[from] crate::mail::MailError),
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
/// rule holds it a second time). It reads as its steps: screen → verify →
/// authorise → (content used before?) → extract and check → decide → carry
/// out or answer; each step takes what it needs and returns a value.
pub(crate) fn run(
    env: &mut Env,
    mut ctx: replies::MailCtx,
    report: &smime::Report,
) -> Result<Outcome, RaError> {
    if ctx.review.is_none() {
        match steps::screen(env, &ctx)? {
            Some(steps::Screened::Automatic) => {
                return ctx.finish_without_reply(
                    env,
                    Verdict::Ignored,
                    "our own or an automatic mail: not answered",
                );
            }
            Some(steps::Screened::SeenBefore { first_id, first_at }) => {
                return ctx.duplicate(env, first_id, &first_at);
            }
            None => {}
        }
    }
    let verified = match &report.outcome {
        Ok(v) => v,
        Err(f) => return ctx.reject(env, Rejection::Signature(f.clone())),
    };
    let signer = match steps::authorise(env, verified)? {
        Ok(signer) => signer,
        Err(why) => return ctx.reject(env, why),
    };
    ctx.learn_signer(&signer, verified);
    if let Some((first_id, first_at)) = steps::used_before(env, &ctx, verified)? {
        return ctx.duplicate(env, first_id, &first_at);
    }
    let inst = signer.institution;
    let (files, notes) = match steps::extract_and_check(env, &inst, verified)? {
        steps::Extracted::Files {
            files,
            notes,
            attachments,
        } => {
            ctx.attachments = Some(attachments);
            ctx.note_files(&files);
            (files, notes)
        }
        steps::Extracted::Unreadable(note) => {
            return ctx.invalid(env, &inst, vec![], vec![note]);
        }
    };
    match steps::decide(env, &ctx, report, &files) {
        steps::Plan::Invalid => ctx.invalid(env, &inst, files, notes),
        steps::Plan::DryRun => ctx.dry_run(env, &inst, files, notes),
        steps::Plan::Hold(decision) => {
            ctx.decision = Some(decision);
            ctx.held(env, &inst, files, notes)
        }
        steps::Plan::Execute(decision) => {
            ctx.decision = Some(decision);
            execute::execute(env, ctx, &inst, files, notes)
        }
    }
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

impl From<crate::mail::compose::ComposeError> for RaError {
    fn from(e: crate::mail::compose::ComposeError) -> Self {
        RaError::Mail(e.into())
    }
}
