//! `reminders list` and `reminders run`: what the reminder jobs have open
//! (2-2-9 reminders for renewals whose old certificate is still valid, the
//! certificates the next expiry digests will list) and running them now.

use std::collections::HashMap;

use rusqlite::Connection;
use serde::Serialize;
use time::OffsetDateTime;

use super::Result;
use crate::ra::Env;
use crate::ra::reminders::{self, Queued};
use crate::store;

/// One open reminder, as `reminders list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReminderView {
    /// `renewal-revoke` (2-2-9) or `expiry-digest`.
    pub kind: &'static str,
    /// The certificate concerned (2-2-9: the old one), `0x` hex.
    pub serial: String,
    /// 2-2-9: the certificate that renewed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_serial: Option<String>,
    pub cn: String,
    pub institution: String,
    /// 2-2-9: when the reminder is due; digest: when the certificate expires
    /// (RFC 3339, UTC).
    pub due_at: String,
    /// Whether the job would send it if run now.
    pub due: bool,
    pub sent: bool,
}

fn cn_of(dn: &str) -> String {
    crate::policy::dn::parse(dn)
        .ok()
        .and_then(|d| d.cn().map(str::to_string))
        .unwrap_or_default()
}

/// The open 2-2-9 reminders (sent or not) and the certificates due for the
/// next digests, at `now` with a window of `digest_days`.
pub fn list(conn: &Connection, now: OffsetDateTime, digest_days: u32) -> Result<Vec<ReminderView>> {
    let agenda = reminders::agenda(conn, now, digest_days)?;
    let names: HashMap<i64, String> = store::institutions(conn)?
        .into_iter()
        .map(|i| (i.id, i.name))
        .collect();
    let inst = |id: i64| names.get(&id).cloned().unwrap_or_default();
    let mut out = Vec::new();
    for r in &agenda.renewals {
        let cn = store::certificate(conn, &r.old)?
            .map(|c| cn_of(&c.subject_dn))
            .unwrap_or_default();
        out.push(ReminderView {
            kind: store::ReminderKind::RenewalRevoke.as_str(),
            serial: r.old.to_string(),
            new_serial: Some(r.new.to_string()),
            cn,
            institution: inst(r.institution_id),
            due_at: store::ts(r.due_at),
            due: r.due(now),
            sent: r.sent,
        });
    }
    for p in &agenda.digests {
        for s in &p.serials {
            let Some(c) = store::certificate(conn, s)? else {
                continue;
            };
            out.push(ReminderView {
                kind: store::ReminderKind::ExpiryDigest.as_str(),
                serial: s.to_string(),
                new_serial: None,
                cn: cn_of(&c.subject_dn),
                institution: inst(p.institution_id),
                due_at: store::ts(c.not_after),
                due: p.due,
                sent: false,
            });
        }
    }
    Ok(out)
}

/// Runs the reminder jobs due at `now`; returns what was queued.
pub fn run(env: &Env, now: OffsetDateTime) -> Result<Vec<Queued>> {
    Ok(reminders::run_due(env, now)?)
}
