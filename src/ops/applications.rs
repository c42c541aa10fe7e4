//! `mailra applications …` (issue 11): the mails carrying applications,
//! their rows and outcomes, the replies they got, and the secretariat's
//! decisions on them. An application's ID is the number of the mail that
//! carried it (the number `review list` shows), so `review` is an exact alias
//! of `approve` and `reject`.
//!
//! Which mails are applications: those signed by a registered officer (they
//! were meant to carry applications, even when no file could be read) and
//! those with application files recorded. Mails of strangers, automatic
//! mails and our own are in the mail log, not here. Deleted ones are hidden.

use rusqlite::Connection;
use serde::Serialize;
use time::OffsetDateTime;

use super::{OpsError, Result};
use crate::model::RowOutcomeKind;
use crate::ra::{Env, Outcome};
use crate::store;

/// Which applications `list` returns; `Default` is every one not deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppFilter {
    /// Only held ones (waiting for review).
    pub held: bool,
    /// Only errored ones: verdict invalid or partial, or a row with an error.
    pub errors: bool,
    /// Only mails received at or after this time (see `ops::when::since`).
    pub since: Option<OffsetDateTime>,
    /// Only mails of officers of this institution (its registered name).
    pub institution: Option<String>,
    /// Only mails of this officer (mail address).
    pub officer: Option<String>,
}

/// One application as `applications list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AppSummary {
    /// The mail's number: the application's ID.
    pub id: i64,
    pub received_at: String,
    /// The mail's From.
    pub from: Option<String>,
    /// The signing officer's registered address.
    pub officer: Option<String>,
    pub institution: Option<String>,
    pub subject: Option<String>,
    pub verdict: crate::model::Verdict,
    /// The forms of its files (e.g. `5-3-1`).
    pub forms: Vec<String>,
    /// Application files recorded.
    pub files: i64,
    /// Rows carried out (issued, renewed, revoked).
    pub rows_ok: i64,
    /// Rows with an error.
    pub rows_error: i64,
    /// Verdict invalid or partial, or a row error (`--errors`).
    pub errors: bool,
    pub folder: Option<String>,
    /// The filing rule that decided (None: the built-in fallback).
    pub rule: Option<String>,
}

/// One application in full (`applications show`).
#[derive(Debug, Clone, Serialize)]
pub struct AppDetail {
    #[serde(flatten)]
    pub summary: AppSummary,
    pub message_id: Option<String>,
    /// The one-line account of what became of the mail.
    pub detail: String,
    pub keywords: Vec<String>,
    /// Whether its applications were carried out (in whole or in part).
    pub executed: bool,
    /// When it was deleted (`applications delete`), and by whom.
    pub deleted_at: Option<String>,
    pub deleted_by: Option<String>,
    pub files: Vec<AppFile>,
    pub replies: Vec<AppReply>,
}

/// One application file of a mail.
#[derive(Debug, Clone, Serialize)]
pub struct AppFile {
    pub name: String,
    pub form: Option<String>,
    /// executed, checked, held or refused.
    pub status: crate::model::ApplicationStatus,
    pub sha256: String,
    pub rows: Vec<AppRow>,
}

/// One recorded row of a file.
#[derive(Debug, Clone, Serialize)]
pub struct AppRow {
    /// 1-based line (for a workbook, the row of its sheet).
    pub line: usize,
    /// error, issued, renewed or revoked.
    pub outcome: &'static str,
    /// The certificate issued, renewed or revoked (hex).
    pub serial: Option<String>,
    /// For an error, the rule it broke (with the field or cell).
    pub detail: String,
}

/// A reply sent (or queued) for the mail; never its content.
#[derive(Debug, Clone, Serialize)]
pub struct AppReply {
    pub message_id: String,
    pub recipients: Vec<String>,
    pub subject: String,
    /// The template: officer_result, held, rejected, …
    pub kind: String,
    /// pending, sent or dead.
    pub status: store::OutboxStatus,
    pub created_at: String,
    pub sent_at: Option<String>,
}

/// What `delete` did.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    pub id: i64,
    pub deleted_at: String,
    pub deleted_by: String,
}

fn outcome_word(o: RowOutcomeKind) -> &'static str {
    match o {
        RowOutcomeKind::Error => "error",
        RowOutcomeKind::Issued => "issued",
        RowOutcomeKind::Renewed => "renewed",
        RowOutcomeKind::Revoked => "revoked",
    }
}

fn summary(m: &store::ApplicationMail) -> AppSummary {
    AppSummary {
        id: m.id,
        received_at: store::ts(m.received_at),
        from: m.from_addr.clone(),
        officer: m.officer.clone(),
        institution: m.institution.clone(),
        subject: m.subject.clone(),
        verdict: m.verdict,
        forms: m.forms.clone(),
        files: m.files,
        rows_ok: m.rows_ok,
        rows_error: m.rows_error,
        errors: m.errored,
        folder: m.folder.clone(),
        rule: m.rule.clone(),
    }
}

/// The applications that pass `filter`, oldest first. An institution name
/// that is not registered is the user's mistake, not an empty list.
pub fn list(conn: &Connection, filter: &AppFilter) -> Result<Vec<AppSummary>> {
    if let Some(name) = &filter.institution {
        let known = store::institutions(conn)?
            .iter()
            .any(|i| i.name.eq_ignore_ascii_case(name));
        if !known {
            return Err(OpsError::NotFound(format!("no institution named {name:?}")));
        }
    }
    let f = store::ApplicationMailFilter {
        held: filter.held,
        errors: filter.errors,
        since: filter.since,
        institution: filter.institution.clone(),
        officer: filter.officer.clone(),
        ..Default::default()
    };
    Ok(store::application_mails(conn, &f)?
        .iter()
        .map(summary)
        .collect())
}

fn find(conn: &Connection, id: i64) -> Result<store::ApplicationMail> {
    store::application_mail(conn, id)?.ok_or_else(|| {
        OpsError::NotFound(format!("no application #{id} (no mail #{id} carried one)"))
    })
}

/// Application `id` in full: the mail, every file with every row, the
/// replies (a deleted one too: `show` is how its record is read back).
pub fn show(conn: &Connection, id: i64) -> Result<AppDetail> {
    let m = find(conn, id)?;
    let files = store::applications_of_mail(conn, id)?
        .into_iter()
        .map(|a| AppFile {
            name: a.filename,
            form: a.form,
            status: a.status,
            sha256: a.sha256,
            rows: a
                .rows
                .into_iter()
                .map(|r| AppRow {
                    line: r.line,
                    outcome: outcome_word(r.outcome),
                    serial: r.serial.map(|s| s.to_hex()),
                    detail: r.detail,
                })
                .collect(),
        })
        .collect();
    let replies = store::outbox_rows_of_mail(conn, id)?
        .into_iter()
        .map(|r| AppReply {
            message_id: r.message_id,
            recipients: r.recipients,
            subject: r.subject,
            kind: r.kind,
            status: r.status,
            created_at: r.created_at,
            sent_at: r.sent_at,
        })
        .collect();
    Ok(AppDetail {
        summary: summary(&m),
        message_id: m.message_id.clone(),
        detail: m.detail.clone(),
        keywords: m.keywords.clone(),
        executed: m.executed,
        deleted_at: m.deleted_at.map(store::ts),
        deleted_by: m.deleted_by.clone(),
        files,
        replies,
    })
}

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

/// Deletes an errored application that carried nothing out: it leaves the
/// lists; its mail, files and rows stay in the database, and the audit log
/// records who deleted it (action `delete-application`). A held one must be
/// decided instead, and one carried out (even in part) is a record of
/// certificates: both are refused.
pub fn delete(conn: &Connection, id: i64, by: &str, now: OffsetDateTime) -> Result<Deleted> {
    let tx = conn.unchecked_transaction()?;
    let m = find(&tx, id)?;
    let refuse = |why: String| Err(OpsError::Conflict(format!("application #{id} {why}")));
    if let (Some(at), by) = (m.deleted_at, &m.deleted_by) {
        return refuse(format!(
            "was deleted already, at {} by {}",
            store::ts(at),
            by.as_deref().unwrap_or("-")
        ));
    }
    if m.verdict == crate::model::Verdict::Held {
        return refuse(format!(
            "is held for review: approve or reject it (`mailra applications approve {id}` / `reject {id} --reason …`); only errored ones can be deleted"
        ));
    }
    if m.executed {
        return refuse(format!(
            "was carried out ({}): its certificates refer to it; only errored ones that carried nothing out can be deleted",
            m.verdict.as_str()
        ));
    }
    if !m.errored {
        return refuse(format!(
            "has no errors ({}); only errored ones can be deleted",
            m.verdict.as_str()
        ));
    }
    store::mark_mail_deleted(&tx, id, by, now)?;
    let what = format!(
        "deleted application #{id} ({}, {} row error(s), from {}, received {})",
        m.verdict.as_str(),
        m.rows_error,
        m.from_addr.as_deref().unwrap_or("-"),
        store::ts(m.received_at)
    );
    store::audit(&tx, now, by, "delete-application", Some(id), None, &what)?;
    tx.commit()?;
    Ok(Deleted {
        id,
        deleted_at: store::ts(now),
        deleted_by: by.to_string(),
    })
}
