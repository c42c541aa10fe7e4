//! Taking a mail from an inbox (Maildir or IMAP) exactly once.
//!
//! A mail's outcome is committed before the mail is moved out of the inbox.
//! If the robot dies in between, the mail is still in the inbox on restart:
//! [`take`] recognises it (same bytes, recorded, never filed) and returns the
//! recorded outcome without processing or answering it again; the caller then
//! files it and calls [`filed`].

use time::OffsetDateTime;

use super::{Env, Outcome, RaError, Verdict, process, sha256_hex};
use crate::store;

/// How a mail left the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Processed now.
    Processed,
    /// Processed before a crash; only filing was left.
    Resumed,
}

pub fn take(
    env: &mut Env,
    raw: &[u8],
    source: &str,
    now: OffsetDateTime,
) -> Result<(Outcome, Taken), RaError> {
    // An IMAP server never holds the same message twice in one mailbox, so the
    // same bytes from the same mailbox (`imap:MAILBOX;UIDVALIDITY=…`) are the
    // same message seen again after a UIDVALIDITY change: filed, not answered.
    let mailbox = source
        .starts_with("imap:")
        .then(|| source.split(";UIDVALIDITY=").next().unwrap_or(source))
        .map(|m| format!("{m};"));
    if let Some(u) = store::unfiled_mail_by_raw(&env.conn, &sha256_hex(raw), mailbox.as_deref())? {
        let verdict: Verdict = u.verdict;
        let folder = u
            .folder
            .unwrap_or_else(|| crate::policy::rules::fallback_folder(verdict).to_string());
        return Ok((
            Outcome {
                source: source.to_string(),
                mail_id: u.id,
                verdict,
                check: None,
                summary: format!("resumed after a restart: {}", u.detail),
                issued: vec![],
                revoked: vec![],
                replies: 0,
                folder,
                keywords: u.keywords,
                rule: u.rule,
            },
            Taken::Resumed,
        ));
    }
    Ok((process(env, raw, source, now)?, Taken::Processed))
}

/// Records that the mail now sits in `folder`.
pub fn filed(env: &Env, mail_id: i64, folder: &str, now: OffsetDateTime) -> Result<(), RaError> {
    store::mark_filed(&env.conn, mail_id, folder, now)?;
    Ok(())
}
