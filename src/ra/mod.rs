//! The registration-authority workflow: the only layer that sequences I/O.
//!
//! One mail goes: verify (intake::smime) → authorise the signer (store) →
//! extract files (intake::mime) → validate every row (policy) → in ONE
//! transaction: record the mail, have the CA issue/revoke, queue the signed
//! replies, write audit events → after commit: publish the CRL, drain the
//! outbox. A crash before the commit leaves nothing behind; a crash after it
//! leaves replies in the outbox table, sent on the next start.

mod answer;
mod client;
pub mod command;
mod crl;
mod done;
mod env;
mod execute;
mod intake;
mod keys;
mod mail;
pub mod maintenance;
mod notify;
pub mod reminders;
mod replies;
pub mod review;
mod steps;
pub mod workbook;

pub use crate::model::Verdict;
pub use env::{Env, RulesSource, load_certs, load_rule_files, load_rules};
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
/// The workflow's error: everything that stops a mail (or a review, or
/// opening the environment) for a reason the operator must look at — the
/// mail is processed again later — or a secretariat request that names the
/// wrong mail. What is told to an officer is an [`answer::Rejection`] or a
/// row error, never this.
#[derive(Debug, thiserror::Error)]
pub enum RaError {
    /// A file the instance needs (key, certificate, trust anchor) is
    /// missing or unusable.
    #[error("{path}: {what}")]
    Material { path: String, what: String },
    #[error(transparent)]
    Rules(#[from] crate::policy::rules::RulesError),
    /// Review: no such mail.
    #[error("there is no mail #{0}")]
    NoSuchMail(i64),
    /// Review: the mail is not held.
    #[error("mail #{id} is not held for review (its verdict is {verdict})")]
    NotHeld { id: i64, verdict: String },
    /// Review: a rejection without a reason for the officer.
    #[error("a rejection needs a reason for the officer")]
    NoReason,
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
    /// A P12 bundle could not be built (the rows were valid: the robot's limit).
    #[error("building the P12 bundle: {0}")]
    Bundle(#[from] crate::render::bundle::BundleError),
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

/// Where a step that may take a mail over leaves it: answered (done), or
/// handed back to go on through the pipeline.
pub(crate) enum Flow {
    Done(Outcome),
    Go(mail::Incoming),
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
    let incoming = mail::Incoming::new(&report, source, raw, &raw_sha, now);
    run(env, incoming, &report)
}

/// The pipeline of one mail: screen → verify → authorise → used before? →
/// extract and check → decide → (invalid | dry run | hold | execute). Each
/// step returns a value; what is learned is gathered here into [`mail::Known`].
pub(crate) fn run(
    env: &mut Env,
    incoming: mail::Incoming,
    report: &smime::Report,
) -> Result<Outcome, RaError> {
    let unknown = |incoming| mail::Mail {
        incoming,
        known: mail::Known::default(),
    };
    let incoming = if incoming.review.is_none() {
        match steps::screen(env, &incoming)? {
            Some(steps::Screened::Automatic) => {
                return unknown(incoming).finish_without_reply(
                    env,
                    Verdict::Ignored,
                    "our own or an automatic mail: not answered",
                );
            }
            Some(steps::Screened::SeenBefore { first_id, first_at }) => {
                return unknown(incoming).duplicate(env, first_id, &first_at);
            }
            None => {}
        }
        // A secretariat's command mail is obeyed whatever the mode (so that
        // `maintenance off` by mail works during maintenance); anything else
        // waits while maintenance is on.
        let incoming = match command::intercept(env, incoming, report)? {
            Flow::Done(o) => return Ok(o),
            Flow::Go(incoming) => incoming,
        };
        match maintenance::intercept(env, incoming, report)? {
            Flow::Done(o) => return Ok(o),
            Flow::Go(incoming) => incoming,
        }
    } else {
        incoming
    };
    let verified = match &report.outcome {
        Ok(v) => v,
        Err(f) => return unknown(incoming).reject(env, Rejection::Signature(f.clone())),
    };
    let signer = match steps::authorise(env, verified)? {
        Ok(signer) => signer,
        Err(why) => return unknown(incoming).reject(env, why),
    };
    let known = mail::Known::signed_by(
        signer.officer,
        signer.registered_at,
        &signer.institution.name,
        verified,
    );
    if let Some((first_id, first_at)) = steps::used_before(env, &incoming, verified)? {
        return mail::Mail { incoming, known }.duplicate(env, first_id, &first_at);
    }
    let inst = signer.institution;
    let (files, notes, known) = match steps::extract_and_check(env, &inst, verified)? {
        steps::Extracted::Files {
            files,
            notes,
            attachments,
        } => {
            let known = known.with_files(attachments, &files);
            (files, notes, known)
        }
        steps::Extracted::Unreadable(note) => {
            return mail::Mail { incoming, known }.invalid(env, &inst, vec![], vec![note]);
        }
    };
    let mail = mail::Mail { incoming, known };
    match steps::decide(env, &mail, report, &files) {
        steps::Plan::Invalid => mail.invalid(env, &inst, files, notes),
        steps::Plan::DryRun => mail.dry_run(env, &inst, files, notes),
        steps::Plan::Hold(decision) => mail.held(env, &inst, files, notes, decision),
        steps::Plan::Execute(decision) => {
            execute::execute(env, mail, decision, &inst, files, notes)
        }
    }
}

/// The scheduled CRL job: each issuing CA that has issued certificates gets
/// a new CRL once half of its current one's validity has passed (or it has
/// none, or it is stale), so the published CRL never runs past its
/// nextUpdate while the robot runs. Returns the CAs whose CRL was remade.
pub fn renew_due_crls(env: &Env, now: OffsetDateTime) -> Result<Vec<CaKind>, RaError> {
    let mut renewed = Vec::new();
    for kind in env.ca_kinds() {
        let due = match store::latest_crl(&env.conn, kind)? {
            None => store::issued_by(&env.conn, kind)? > 0,
            Some((_, this_update, next_update, _)) => {
                now >= this_update + (next_update - this_update) / 2
                    || store::crl_is_stale(&env.conn, kind, now)?
            }
        };
        if due {
            let tx = env.conn.unchecked_transaction()?;
            crl::make_crl(env, &tx, kind, now)?;
            tx.commit()?;
            crl::publish_crl(env, kind)?;
            renewed.push(kind);
        }
    }
    Ok(renewed)
}

pub fn refresh_crl(
    env: &mut Env,
    now: OffsetDateTime,
) -> Result<Vec<(CaKind, std::path::PathBuf)>, RaError> {
    let mut out = Vec::new();
    for kind in env.ca_kinds() {
        if store::crl_is_stale(&env.conn, kind, now)? {
            let tx = env.conn.unchecked_transaction()?;
            crl::make_crl(env, &tx, kind, now)?;
            tx.commit()?;
        }
        out.push((kind, crl::publish_crl(env, kind)?));
    }
    Ok(out)
}

impl From<crate::mail::compose::ComposeError> for RaError {
    fn from(e: crate::mail::compose::ComposeError) -> Self {
        RaError::Mail(e.into())
    }
}
