//! `mailra applications …` (issue 11): the mails carrying applications,
//! their rows and outcomes, and the secretariat's decisions on them. An
//! application's ID is the number of the mail that carried it (the number
//! `review` shows). STUB: helper "applications" implements the rest.

use time::OffsetDateTime;

use super::Result;
use crate::ra::{Env, Outcome};

/// Carries a held application out (`review approve`).
pub fn approve(env: &mut Env, id: i64, by: &str, now: OffsetDateTime) -> Result<Outcome> {
    super::review::approve(env, id, by, now)
}

/// Refuses a held application with a reason told to the officer.
pub fn reject(
    env: &mut Env,
    id: i64,
    reason: &str,
    by: &str,
    now: OffsetDateTime,
) -> Result<Outcome> {
    super::review::reject(env, id, reason, by, now)
}
