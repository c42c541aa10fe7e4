//! Maintenance mode (issue 11): while it is on, a new mail is kept for
//! later (recorded with verdict `deferred`, raw bytes and all, and filed
//! into the holding folder), its officer told once per maintenance period;
//! after it ends the kept mails are processed in arrival order, each as if
//! it had just arrived.
//!
//! Exactly once, through a crash at any point:
//! - keeping a mail is one transaction (its row, the audit event, the claim
//!   of the officer's notice — `maintenance_notices`' primary key allows one
//!   per officer per period — and the notice in the outbox); the intake files
//!   the mail after the commit, and a crash in between is recognised by
//!   `ra::take` (recorded, not filed) as for any outcome;
//! - processing a kept mail afterwards updates its own row in the mail's one
//!   transaction (certificates, replies, audit), and only while the row still
//!   says `deferred` (`store::update_reopened_mail`): a crash before the
//!   commit leaves it deferred (processed again, nothing was done), after the
//!   commit it is no longer deferred (never processed again, and the signed
//!   content's exactly-once guard holds anyway); two robots racing on it
//!   commit once, the other's transaction fails;
//! - moving it out of the holding folder comes after the commit: for the
//!   Maildir, a mail whose row left the holding folder while the file is
//!   still there is moved at every resume ([`store::refiles_from`]); for
//!   IMAP, the intake's pending refiles (`service::imap`) do the same.

use time::OffsetDateTime;

use super::answer::{Answering, Outgoing, queue_mail};
use super::mail::{Incoming, Known, Mail, RESUME, Review};
use super::{Env, Flow, Outcome, RaError, Verdict, sha256_hex};
use crate::intake::smime;
use crate::policy::rules::{Decision, MAINTENANCE};
use crate::render::notices::MaintenanceNotice;
use crate::store::{self, MaintenancePeriod};

/// Who ends a period that reached its `until` time (the audit's actor).
pub const ENDED_BY_UNTIL: &str = "until";

/// The maintenance period in force at `now`: the open one, unless `now` is
/// past its `until` — that period is then recorded as ended (at its
/// `until`, by [`ENDED_BY_UNTIL`]) and None is returned.
pub fn current_period(
    conn: &rusqlite::Connection,
    now: OffsetDateTime,
) -> Result<Option<MaintenancePeriod>, store::StoreError> {
    let Some(p) = store::open_period(conn)? else {
        return Ok(None);
    };
    match p.until {
        Some(until) if now >= until => {
            // Inside the caller's transaction if there is one.
            let tx = conn
                .is_autocommit()
                .then(|| conn.unchecked_transaction())
                .transpose()?;
            if store::end_period(conn, p.id, until, ENDED_BY_UNTIL)? {
                store::audit(
                    conn,
                    now,
                    ENDED_BY_UNTIL,
                    "maintenance-off",
                    None,
                    None,
                    &format!("maintenance period #{} reached its end time", p.id),
                )?;
            }
            if let Some(tx) = tx {
                tx.commit()?;
            }
            Ok(None)
        }
        _ => Ok(Some(p)),
    }
}

/// Whether maintenance is open (possibly just past its end time) or kept
/// mails wait: a robot waiting for new mail should then look again soon, so
/// the end is noticed without a new mail.
pub fn pending(conn: &rusqlite::Connection) -> Result<bool, store::StoreError> {
    Ok(store::open_period(conn)?.is_some() || store::deferred_count(conn)? > 0)
}

/// Keeps a mail for after maintenance; hands it back when maintenance is
/// off (after processing the mails kept before it, so the order holds).
pub(crate) fn intercept(
    env: &mut Env,
    incoming: Incoming,
    report: &smime::Report,
) -> Result<Flow, RaError> {
    let now = incoming.now;
    match current_period(&env.conn, now)? {
        Some(period) => keep(env, incoming, report, &period).map(Flow::Done),
        None => {
            // Maintenance ended since the intake's last resume: what was kept
            // goes first.
            if store::deferred_count(&env.conn)? > 0 {
                resume(env, now)?;
            }
            Ok(Flow::Go(incoming))
        }
    }
}

/// Records the mail as kept (filed into the holding folder by the intake)
/// and, when its signature verifies and its signer is a registered officer
/// not told yet in this period, queues the one signed notice. An unsigned
/// or forged mail is never answered (no backscatter to a forged From), and
/// automatic mail never gets here (screened before).
fn keep(
    env: &mut Env,
    incoming: Incoming,
    report: &smime::Report,
    period: &MaintenancePeriod,
) -> Result<Outcome, RaError> {
    let now = incoming.now;
    let officer = match &report.outcome {
        Ok(v) => store::officer_by_email(&env.conn, &v.signer_email)?,
        Err(_) => None,
    };
    let mail = Mail {
        incoming,
        known: Known {
            officer: officer.clone(),
            ..Known::default()
        },
    };
    let d = Decision::fallback(Verdict::Deferred);
    let detail = format!(
        "kept during maintenance (period #{}): processed when it ends",
        period.id
    );
    let tx = env.conn.unchecked_transaction()?;
    let id = mail.record(&tx, Verdict::Deferred, &detail, false, &d)?;
    let actor = mail.incoming.from.as_deref().unwrap_or("-");
    store::audit(&tx, now, actor, "deferred", Some(id), None, &detail)?;
    let mut replies = 0;
    if let Some(o) = &officer
        && store::claim_notice(&tx, period.id, o.id, id, now)?
    {
        let view = MaintenanceNotice::new(
            &mail.facts_for_reply(env),
            &o.email,
            &period.message,
            period.until,
        );
        let mut out = Outgoing::new("maintenance", &view);
        out.to = vec![o.email.clone()];
        out.tags = vec![("Verdict".into(), Verdict::Deferred.as_str().into())];
        let answering = Answering {
            mail_id: Some(id),
            in_reply_to: mail.incoming.message_id.clone(),
        };
        let outbox = queue_mail(env, &tx, &answering, out, now)?;
        store::set_notice_outbox(&tx, period.id, o.id, outbox)?;
        replies = 1;
    }
    tx.commit()?;
    env.deliver_local(now)?;
    Ok(Outcome {
        source: mail.incoming.source.clone(),
        mail_id: id,
        verdict: Verdict::Deferred,
        check: None,
        summary: if replies == 1 {
            format!("{detail}; the officer was told")
        } else {
            detail
        },
        issued: vec![],
        revoked: vec![],
        replies,
        folder: d.folder,
        keywords: d.keywords,
        rule: None,
    })
}

/// When maintenance is off, processes every kept mail in arrival order
/// (arrival time, then mail number) as if it had just arrived — verified
/// as of its arrival, its row updated, the filing rules applied (a hold
/// rule holds it) — and moves each out of the holding folder of the
/// Maildir (IMAP: the intake's pending refiles move it). A kept mail that
/// meets an internal error stays kept, logged, and is tried again at the
/// next call; the others go on. Returns what became of each; nothing while
/// maintenance is on.
pub fn resume(env: &mut Env, now: OffsetDateTime) -> Result<Vec<Outcome>, RaError> {
    if current_period(&env.conn, now)?.is_some() {
        return Ok(vec![]);
    }
    let mut out = Vec::new();
    for id in store::deferred_mail_ids(&env.conn)? {
        // Each processed at its own moment, as a fresh arrival would be.
        let at = env.clock.now().max(now);
        match resume_one(env, id, at) {
            Ok(Some(o)) => {
                crate::fault::point("resume-after-commit");
                tracing::info!(mail = id, verdict = o.verdict.as_str(), folder = %o.folder, "processed after maintenance: {}", o.summary);
                out.push(o);
            }
            Ok(None) => {}
            // Another robot processed it meanwhile: its row is no longer
            // deferred, so this transaction wrote nothing.
            Err(RaError::Store(store::StoreError::Conflict(why))) => {
                tracing::info!(mail = id, "{why}: processed elsewhere");
            }
            Err(e) => {
                tracing::error!(mail = id, error = %e, "internal error on a mail kept during maintenance; it stays kept and is tried again")
            }
        }
    }
    refile(env, now);
    Ok(out)
}

/// Processes kept mail `id`; None when it is no longer kept (another
/// robot took it meanwhile).
fn resume_one(env: &mut Env, id: i64, now: OffsetDateTime) -> Result<Option<Outcome>, RaError> {
    let Some(m) = store::mail(&env.conn, id)? else {
        return Ok(None);
    };
    if m.verdict != Verdict::Deferred {
        return Ok(None);
    }
    let report = smime::verify(&m.raw, &env.trust, m.received_at);
    let review = Review {
        mail_id: id,
        actor: "robot".into(),
        action: RESUME,
        note: String::new(),
    };
    let incoming = Incoming::new(&report, &m.source, &m.raw, &sha256_hex(&m.raw), now)
        .reviewed(m.received_at, review);
    super::run(env, incoming, &report).map(Some)
}

/// Moves each Maildir mail whose row left the holding folder out of it (a
/// mail read from IMAP is moved by the IMAP intake; one given to `mailra
/// process` stays where it is). One no longer in the holding folder is
/// recorded as filed, so it is not looked for at every pass.
fn refile(env: &Env, now: OffsetDateTime) {
    let moved = match store::refiles_from(&env.conn, MAINTENANCE) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "cannot list the mails to move out of the holding folder");
            return;
        }
    };
    for (id, source, to) in moved {
        match crate::mail::maildir::refile(&env.cfg.maildir, &source, MAINTENANCE, &to) {
            Ok(found) => {
                if found.is_none() {
                    tracing::warn!(mail = id, folder = MAINTENANCE, to = %to, "a mail kept during maintenance is no longer in the holding folder (moved by hand?); not moved");
                }
                if let Err(e) = store::mark_filed(&env.conn, id, &to, now) {
                    tracing::warn!(mail = id, error = %e, "could not record the refiling");
                }
            }
            Err(e) => {
                tracing::warn!(mail = id, error = %e, "could not move the mail out of the holding folder; tried again at the next pass")
            }
        }
    }
}
