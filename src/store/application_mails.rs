//! The mails that carried applications, as the secretariat lists them
//! (`mailra applications …`, issue 11): each mail with its officer, its
//! institution and the counts of its files and rows, found by verdict,
//! errors, day, institution and officer; and the soft delete of an errored
//! one (`mails.deleted_at`), which hides it from the list and erases nothing.
//!
//! An application mail is one signed by a registered officer (`officer_id`
//! known: it was meant to carry applications, even when none could be read)
//! or one with application files recorded.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Result, StoreError, time_col, ts};
use crate::model::{RowOutcomeKind, Verdict};

/// One application mail with what the lists show of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationMail {
    /// The mail's number: the application's ID.
    pub id: i64,
    pub received_at: OffsetDateTime,
    pub message_id: Option<String>,
    pub from_addr: Option<String>,
    /// The signing officer's registered address.
    pub officer: Option<String>,
    /// The officer's institution.
    pub institution: Option<String>,
    pub subject: Option<String>,
    pub verdict: Verdict,
    pub detail: String,
    /// Whether its applications were carried out (in whole or in part).
    pub executed: bool,
    pub folder: Option<String>,
    pub rule: Option<String>,
    pub keywords: Vec<String>,
    /// The forms of its files, sorted, each once.
    pub forms: Vec<String>,
    /// Application files recorded.
    pub files: i64,
    /// Rows carried out (issued, renewed, revoked).
    pub rows_ok: i64,
    /// Rows with errors.
    pub rows_error: i64,
    /// Whether it counts as errored (verdict invalid or partial, or a row error).
    pub errored: bool,
    pub deleted_at: Option<OffsetDateTime>,
    pub deleted_by: Option<String>,
}

/// Which application mails a query returns; `Default` matches every one not
/// deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationMailFilter {
    /// Only this mail.
    pub mail_id: Option<i64>,
    /// Only held ones (verdict held).
    pub held: bool,
    /// Only errored ones (see [`ApplicationMail::errored`]).
    pub errors: bool,
    /// Only mails received at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only mails of officers of this institution (its exact name).
    pub institution: Option<String>,
    /// Only mails of this officer (address, any case; the registered one or the From).
    pub officer: Option<String>,
    /// Deleted ones too.
    pub include_deleted: bool,
}

/// `?6` = the error outcome.
const ERRORED: &str = "(m.verdict IN (?7, ?8) OR EXISTS (
        SELECT 1 FROM application_rows r JOIN applications a ON a.id = r.application_id
        WHERE a.mail_id = m.id AND r.outcome = ?6))";

/// The application mails that pass `filter`, oldest first.
pub fn application_mails(
    conn: &Connection,
    filter: &ApplicationMailFilter,
) -> Result<Vec<ApplicationMail>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT m.id, m.received_at, m.message_id, m.from_addr, o.email, i.name, m.subject,
                m.verdict, m.detail, m.executed, m.folder, m.rule, m.keywords,
                (SELECT count(*) FROM applications a WHERE a.mail_id = m.id),
                (SELECT count(*) FROM application_rows r JOIN applications a ON a.id = r.application_id
                   WHERE a.mail_id = m.id AND r.outcome <> ?6),
                (SELECT count(*) FROM application_rows r JOIN applications a ON a.id = r.application_id
                   WHERE a.mail_id = m.id AND r.outcome = ?6),
                {ERRORED}, m.deleted_at, m.deleted_by
         FROM mails m
         LEFT JOIN officers o ON o.id = m.officer_id
         LEFT JOIN institutions i ON i.id = o.institution_id
         WHERE (m.officer_id IS NOT NULL OR EXISTS (SELECT 1 FROM applications a WHERE a.mail_id = m.id))
           AND (?1 IS NULL OR m.id = ?1)
           AND (?2 = 0 OR m.verdict = ?9)
           AND (?3 = 0 OR {ERRORED})
           AND (?4 IS NULL OR julianday(m.received_at) >= julianday(?4))
           AND (?5 IS NULL OR lower(i.name) = lower(?5))
           AND (?10 IS NULL OR lower(o.email) = lower(?10) OR lower(m.from_addr) = lower(?10))
           AND (?11 = 1 OR m.deleted_at IS NULL)
         ORDER BY m.id"
    ))?;
    let rows = stmt
        .query_map(
            params![
                filter.mail_id,
                filter.held,
                filter.errors,
                filter.since.map(ts),
                filter.institution,
                RowOutcomeKind::Error,
                Verdict::Invalid,
                Verdict::Partial,
                Verdict::Held,
                filter.officer,
                filter.include_deleted,
            ],
            |r| {
                let keywords: String = r.get(12)?;
                let deleted_at = match r.get::<_, Option<String>>(17)? {
                    None => None,
                    Some(_) => Some(time_col(r, 17)?),
                };
                Ok(ApplicationMail {
                    id: r.get(0)?,
                    received_at: time_col(r, 1)?,
                    message_id: r.get(2)?,
                    from_addr: r.get(3)?,
                    officer: r.get(4)?,
                    institution: r.get(5)?,
                    subject: r.get(6)?,
                    verdict: r.get(7)?,
                    detail: r.get(8)?,
                    executed: r.get(9)?,
                    folder: r.get(10)?,
                    rule: r.get(11)?,
                    keywords: keywords.split_whitespace().map(str::to_string).collect(),
                    forms: Vec::new(),
                    files: r.get(13)?,
                    rows_ok: r.get(14)?,
                    rows_error: r.get(15)?,
                    errored: r.get(16)?,
                    deleted_at,
                    deleted_by: r.get(18)?,
                })
            },
        )?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut forms = conn.prepare_cached(
        "SELECT DISTINCT form FROM applications WHERE mail_id = ?1 AND form IS NOT NULL ORDER BY form",
    )?;
    let mut out = rows;
    for m in &mut out {
        m.forms = forms
            .query_map([m.id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
    }
    Ok(out)
}

/// Application mail `id`, deleted or not (None: no such mail, or one that
/// carried no application).
pub fn application_mail(conn: &Connection, id: i64) -> Result<Option<ApplicationMail>> {
    Ok(application_mails(
        conn,
        &ApplicationMailFilter {
            mail_id: Some(id),
            include_deleted: true,
            ..Default::default()
        },
    )?
    .pop())
}

/// Marks mail `id` deleted by `by` at `now`; refuses one deleted already.
/// Nothing else changes: its bytes, applications and rows stay.
pub fn mark_mail_deleted(conn: &Connection, id: i64, by: &str, now: OffsetDateTime) -> Result<()> {
    let n = conn.execute(
        "UPDATE mails SET deleted_at = ?2, deleted_by = ?3 WHERE id = ?1 AND deleted_at IS NULL",
        params![id, ts(now), by],
    )?;
    if n == 1 {
        return Ok(());
    }
    let exists: Option<i64> = conn
        .query_row("SELECT id FROM mails WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    Err(match exists {
        None => StoreError::NotFound(format!("no mail #{id}")),
        Some(_) => StoreError::Conflict(format!("mail #{id} was deleted already")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ApplicationStatus;
    use crate::store::testing::{db, mail_at};
    use crate::store::{add_institution, add_officer, insert_application, insert_row};
    use time::macros::datetime;

    fn signed_by(conn: &Connection, mail: i64, email: &str) {
        let o = crate::store::officer_by_email(conn, email)
            .unwrap()
            .unwrap();
        conn.execute(
            "UPDATE mails SET officer_id = ?2 WHERE id = ?1",
            params![mail, o.id],
        )
        .unwrap();
    }

    #[test]
    fn application_mails_are_found_by_verdict_errors_day_institution_and_officer() {
        let (_dir, conn) = db();
        let t0 = datetime!(2025-01-01 00:00 UTC);
        add_institution(&conn, "Sample Institute", "Osaka", "Suita-shi", &[], t0).unwrap();
        add_officer(&conn, "a@example.ac.jp", "Example University", t0).unwrap();
        add_officer(&conn, "b@sample.ac.jp", "Sample Institute", t0).unwrap();
        let d1 = datetime!(2025-04-01 09:00 UTC);
        let d2 = datetime!(2025-04-02 09:00 UTC);
        let ok = mail_at(&conn, d1, Verdict::Accepted, "ok");
        signed_by(&conn, ok, "a@example.ac.jp");
        let app = insert_application(
            &conn,
            ok,
            "a.tsv",
            Some("5-3-1"),
            "x",
            ApplicationStatus::Executed,
        )
        .unwrap();
        insert_row(&conn, app, 2, RowOutcomeKind::Issued, None, "").unwrap();
        let bad = mail_at(&conn, d2, Verdict::Invalid, "bad");
        signed_by(&conn, bad, "b@sample.ac.jp");
        let app =
            insert_application(&conn, bad, "b.tsv", None, "y", ApplicationStatus::Refused).unwrap();
        insert_row(&conn, app, 3, RowOutcomeKind::Error, None, "line 3: bad").unwrap();
        let held = mail_at(&conn, d2, Verdict::Held, "held");
        signed_by(&conn, held, "a@example.ac.jp");
        // A rejected mail of nobody known carried no application: not listed.
        let _stranger = mail_at(&conn, d2, Verdict::Rejected, "stranger");

        let ids = |f: ApplicationMailFilter| -> Vec<i64> {
            application_mails(&conn, &f)
                .unwrap()
                .into_iter()
                .map(|m| m.id)
                .collect()
        };
        let cases = [
            (ApplicationMailFilter::default(), vec![ok, bad, held]),
            (
                ApplicationMailFilter {
                    held: true,
                    ..Default::default()
                },
                vec![held],
            ),
            (
                ApplicationMailFilter {
                    errors: true,
                    ..Default::default()
                },
                vec![bad],
            ),
            (
                ApplicationMailFilter {
                    since: Some(datetime!(2025-04-02 00:00 UTC)),
                    ..Default::default()
                },
                vec![bad, held],
            ),
            (
                ApplicationMailFilter {
                    institution: Some("example university".into()),
                    ..Default::default()
                },
                vec![ok, held],
            ),
            (
                ApplicationMailFilter {
                    officer: Some("B@Sample.ac.jp".into()),
                    ..Default::default()
                },
                vec![bad],
            ),
        ];
        for (filter, expected) in cases {
            assert_eq!(ids(filter.clone()), expected, "{filter:?}");
        }
        let b = application_mail(&conn, bad).unwrap().unwrap();
        assert_eq!(
            (b.files, b.rows_ok, b.rows_error, b.errored),
            (1, 0, 1, true)
        );
        assert_eq!(b.institution.as_deref(), Some("Sample Institute"));
        let o = application_mail(&conn, ok).unwrap().unwrap();
        assert_eq!((o.rows_ok, o.rows_error, o.errored), (1, 0, false));
        assert_eq!(o.forms, ["5-3-1"]);

        let later = datetime!(2025-04-03 00:00 UTC);
        mark_mail_deleted(&conn, bad, "secretariat", later).unwrap();
        assert_eq!(ids(ApplicationMailFilter::default()), vec![ok, held]);
        let b = application_mail(&conn, bad).unwrap().unwrap();
        assert_eq!(b.deleted_at, Some(later));
        assert_eq!(b.deleted_by.as_deref(), Some("secretariat"));
        assert!(matches!(
            mark_mail_deleted(&conn, bad, "x", later),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            mark_mail_deleted(&conn, 999, "x", later),
            Err(StoreError::NotFound(_))
        ));
    }
}
