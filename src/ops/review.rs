//! The secretariat's review of held mails: the list, and approving or
//! rejecting one. The workflow itself is `ra::review`; this is its entry
//! point for commands, with errors sorted into the user's and mailra's.

use serde::Serialize;
use time::OffsetDateTime;

use super::Result;
use crate::ra::{self, Env, Outcome};
use crate::store;

/// A mail waiting for review.
#[derive(Debug, Clone, Serialize)]
pub struct HeldMail {
    pub id: i64,
    pub received_at: String,
    pub from: Option<String>,
    pub subject: Option<String>,
    /// The rule that held it.
    pub rule: Option<String>,
    pub forms: Vec<String>,
    pub detail: String,
    pub folder: Option<String>,
    pub keywords: Vec<String>,
    pub source: String,
}

/// The mails held for review, oldest first.
pub fn held(env: &Env) -> Result<Vec<HeldMail>> {
    Ok(ra::review::held(env)?
        .into_iter()
        .map(|m| HeldMail {
            id: m.id,
            received_at: store::ts(m.received_at),
            from: m.from_addr,
            subject: m.subject,
            rule: m.rule,
            forms: m.forms,
            detail: m.detail,
            folder: m.folder,
            keywords: m.keywords,
            source: m.source,
        })
        .collect())
}

/// Carries a held mail out; `by` is the reviewer for the audit log.
pub fn approve(env: &mut Env, id: i64, by: &str, now: OffsetDateTime) -> Result<Outcome> {
    Ok(ra::review::approve(env, id, by, now)?)
}

/// Refuses a held mail with a reason told to the officer.
pub fn reject(
    env: &mut Env,
    id: i64,
    reason: &str,
    by: &str,
    now: OffsetDateTime,
) -> Result<Outcome> {
    Ok(ra::review::reject(env, id, reason, by, now)?)
}
