//! The secretariat's review of mails a filing rule held: list, approve
//! (carry the mail out exactly as if it had not been held) or reject (tell
//! the officer why). Both update the held mail's own row, are audited under
//! the reviewer's name, and move the mail out of the review folder.

use time::OffsetDateTime;

use super::answer::Rejection;
use super::mail::{Incoming, Known, Mail, Review};
use super::{Env, Outcome, RaError, sha256_hex};
use crate::intake::smime;
use crate::store::{self, StoredMail};

/// The mails waiting for review, oldest first.
pub fn held(env: &Env) -> Result<Vec<StoredMail>, RaError> {
    Ok(store::held_mails(&env.conn)?)
}

fn held_mail(env: &Env, id: i64) -> Result<StoredMail, RaError> {
    let m = store::mail(&env.conn, id)?.ok_or(RaError::NoSuchMail(id))?;
    if m.verdict != crate::model::Verdict::Held {
        return Err(RaError::NotHeld {
            id,
            verdict: m.verdict.as_str().into(),
        });
    }
    Ok(m)
}

/// The stored mail verified again as of its arrival (so waiting for review
/// does not make it too old), in a context that updates its row.
fn reopen(
    env: &Env,
    m: &StoredMail,
    review: Review,
    now: OffsetDateTime,
) -> (Incoming, smime::Report) {
    let report = smime::verify(&m.raw, &env.trust, m.received_at);
    let incoming = Incoming::new(&report, &m.source, &m.raw, &sha256_hex(&m.raw), now)
        .reviewed(m.received_at, review);
    (incoming, report)
}

/// Carries a held mail out as if it had not been held: the officer gets the
/// normal signed result. The exactly-once guard still holds: a mail approved
/// twice, or whose signed content was carried out by another mail meanwhile,
/// is not carried out again.
pub fn approve(
    env: &mut Env,
    id: i64,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Outcome, RaError> {
    let m = held_mail(env, id)?;
    let review = Review {
        mail_id: id,
        actor: actor.to_string(),
        action: "approve",
        note: String::new(),
    };
    let (incoming, report) = reopen(env, &m, review, now);
    let o = super::run(env, incoming, &report)?;
    refile(env, &m, &o, now);
    Ok(o)
}

/// Refuses a held mail: nothing is carried out, the officer gets a signed
/// rejection with the secretariat's reason.
pub fn reject(
    env: &mut Env,
    id: i64,
    reason: &str,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Outcome, RaError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(RaError::NoReason);
    }
    let m = held_mail(env, id)?;
    let review = Review {
        mail_id: id,
        actor: actor.to_string(),
        action: "reject",
        note: reason.to_string(),
    };
    let (incoming, report) = reopen(env, &m, review, now);
    let mut known = Known::default();
    if let Ok(v) = &report.outcome
        && let Some(officer) = store::officer_by_email(&env.conn, &v.signer_email)?
    {
        known = Known {
            officer_since: store::officer_registered_at(&env.conn, officer.id)?,
            institution: store::institution(&env.conn, officer.institution_id)?.map(|i| i.name),
            officer: Some(officer),
            ..Known::default()
        };
    }
    let o = Mail { incoming, known }.reject(
        env,
        Rejection::Review {
            reason: reason.to_string(),
        },
    )?;
    refile(env, &m, &o, now);
    Ok(o)
}

/// Moves the mail in the Maildir inbox from the folder it was held in to
/// the one it is filed in now. The database is the record; a mail that is
/// not in the Maildir (it came from `mailra process`) is left alone, and one
/// read from IMAP is moved by the IMAP side (`service::imap::refile_now`, or the
/// robot's next pass), which finds it by the changed folder in its row.
fn refile(env: &Env, m: &StoredMail, o: &Outcome, now: OffsetDateTime) {
    let Some(from) = m.folder.as_deref() else {
        return;
    };
    if from == o.folder {
        return;
    }
    match crate::mail::maildir::refile(&env.cfg.maildir, &m.source, from, &o.folder) {
        Ok(Some(p)) => {
            tracing::info!(mail = m.id, to = %p.display(), "refiled after review");
            if let Err(e) = store::mark_filed(&env.conn, m.id, &o.folder, now) {
                tracing::warn!(mail = m.id, error = %e, "could not record the refiling");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(mail = m.id, error = %e, "could not refile the reviewed mail"),
    }
}
