//! The `applications` and `application_rows` tables: each application file of
//! a mail with what became of it, and the outcome of each of its rows. The
//! query functions find them by mail, by status, by outcome and by the day
//! their mail arrived (for reviews, reports and tests alike).

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::{Period, Result, time_col};
use crate::model::{ApplicationStatus, RowOutcomeKind, Serial};

pub fn insert_application(
    conn: &Connection,
    mail_id: i64,
    filename: &str,
    form: Option<&str>,
    sha256: &str,
    status: ApplicationStatus,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO applications(mail_id, filename, form, sha256, status) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![mail_id, filename, form, sha256, status],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn insert_row(
    conn: &Connection,
    application_id: i64,
    line: usize,
    outcome: RowOutcomeKind,
    serial: Option<&Serial>,
    detail: &str,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO application_rows(application_id, line, outcome, serial, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(
        params![application_id, line as i64, outcome, serial.map(|s| s.to_hex()), detail],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Drops the applications of a mail and their rows (a reviewed mail's are
/// recorded anew).
pub(super) fn delete_of_mail(conn: &Connection, mail_id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM application_rows WHERE application_id IN (SELECT id FROM applications WHERE mail_id = ?1)",
        [mail_id],
    )?;
    conn.execute("DELETE FROM applications WHERE mail_id = ?1", [mail_id])?;
    Ok(())
}

/// Marks every application of a mail refused (a held mail rejected on review).
pub(super) fn refuse_of_mail(conn: &Connection, mail_id: i64) -> Result<()> {
    conn.execute(
        "UPDATE applications SET status = ?2 WHERE mail_id = ?1",
        params![mail_id, ApplicationStatus::Refused],
    )?;
    Ok(())
}

/// One stored application file with its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: i64,
    pub mail_id: i64,
    /// When its mail arrived.
    pub received_at: OffsetDateTime,
    pub filename: String,
    pub form: Option<String>,
    pub sha256: String,
    pub status: ApplicationStatus,
    /// Its rows in the order they were recorded.
    pub rows: Vec<ApplicationRow>,
}

/// The recorded outcome of one row of an application file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    pub id: i64,
    pub application_id: i64,
    /// 1-based line in the file.
    pub line: usize,
    pub outcome: RowOutcomeKind,
    /// The certificate issued, renewed or revoked.
    pub serial: Option<Serial>,
    /// For an error, the rule it broke.
    pub detail: String,
}

/// Which applications a query returns; every field left `None` matches all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplicationFilter {
    pub mail_id: Option<i64>,
    pub status: Option<ApplicationStatus>,
    /// Only applications of mails received in this period.
    pub received: Period,
}

/// `WHERE` over `applications a JOIN mails m`, binding ?1..?4 from a filter.
const APP_WHERE: &str = "(?1 IS NULL OR a.mail_id = ?1) AND (?2 IS NULL OR a.status = ?2)
    AND (?3 IS NULL OR julianday(m.received_at) >= julianday(?3))
    AND (?4 IS NULL OR julianday(m.received_at) < julianday(?4))";

/// The applications that pass `filter`, in the order they were recorded,
/// each with its rows.
pub fn applications(conn: &Connection, filter: &ApplicationFilter) -> Result<Vec<Application>> {
    let (from, until) = filter.received.bounds();
    let mut stmt = conn.prepare(&format!(
        "SELECT a.id, a.mail_id, m.received_at, a.filename, a.form, a.sha256, a.status
         FROM applications a JOIN mails m ON m.id = a.mail_id
         WHERE {APP_WHERE} ORDER BY a.id"
    ))?;
    let mut apps = stmt
        .query_map(params![filter.mail_id, filter.status, from, until], |r| {
            Ok(Application {
                id: r.get(0)?,
                mail_id: r.get(1)?,
                received_at: time_col(r, 2)?,
                filename: r.get(3)?,
                form: r.get(4)?,
                sha256: r.get(5)?,
                status: r.get(6)?,
                rows: Vec::new(),
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for a in &mut apps {
        a.rows = rows_where(conn, "r.application_id = ?1", &a.id)?;
    }
    Ok(apps)
}

/// The applications of one mail, with their rows.
pub fn applications_of_mail(conn: &Connection, mail_id: i64) -> Result<Vec<Application>> {
    applications(
        conn,
        &ApplicationFilter {
            mail_id: Some(mail_id),
            ..ApplicationFilter::default()
        },
    )
}

/// The rows with this outcome, of the applications that pass `filter`, in
/// the order they were recorded (e.g. every row error of a day's mails).
pub fn rows_with_outcome(
    conn: &Connection,
    outcome: RowOutcomeKind,
    filter: &ApplicationFilter,
) -> Result<Vec<ApplicationRow>> {
    let (from, until) = filter.received.bounds();
    let mut stmt = conn.prepare(&format!(
        "SELECT r.id, r.application_id, r.line, r.outcome, r.serial, r.detail
         FROM application_rows r JOIN applications a ON a.id = r.application_id
         JOIN mails m ON m.id = a.mail_id
         WHERE r.outcome = ?5 AND {APP_WHERE} ORDER BY r.id"
    ))?;
    let rows = stmt
        .query_map(
            params![filter.mail_id, filter.status, from, until, outcome],
            row_from,
        )?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn rows_where(
    conn: &Connection,
    clause: &str,
    p: &dyn rusqlite::ToSql,
) -> Result<Vec<ApplicationRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT r.id, r.application_id, r.line, r.outcome, r.serial, r.detail
         FROM application_rows r WHERE {clause} ORDER BY r.id"
    ))?;
    let rows = stmt
        .query_map([p], row_from)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn row_from(r: &rusqlite::Row) -> rusqlite::Result<ApplicationRow> {
    let serial: Option<String> = r.get(4)?;
    Ok(ApplicationRow {
        id: r.get(0)?,
        application_id: r.get(1)?,
        line: r.get::<_, i64>(2)? as usize,
        outcome: r.get(3)?,
        serial: match serial {
            None => None,
            Some(s) => Some(Serial::from_hex(&s).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    4,
                    rusqlite::types::Type::Text,
                    format!("unreadable serial {s:?}").into(),
                )
            })?),
        },
        detail: r.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::store::testing::{db, mail_at};
    use time::macros::datetime;

    #[test]
    fn applications_and_their_rows_are_found_by_mail_status_outcome_and_day() {
        let (_dir, conn) = db();
        let d1 = datetime!(2025-04-01 09:00:00 UTC);
        let d2 = datetime!(2025-04-02 09:00:00 UTC);
        let m1 = mail_at(&conn, d1, Verdict::Partial, "m1");
        let m2 = mail_at(&conn, d2, Verdict::Held, "m2");
        let ok = insert_application(
            &conn,
            m1,
            "ok.tsv",
            Some("server-new"),
            "aa",
            ApplicationStatus::Executed,
        )
        .unwrap();
        let bad = insert_application(
            &conn,
            m1,
            "bad.tsv",
            Some("server-new"),
            "bb",
            ApplicationStatus::Refused,
        )
        .unwrap();
        let held =
            insert_application(&conn, m2, "h.tsv", None, "cc", ApplicationStatus::Held).unwrap();
        let serial = Serial::from_bytes(&[0x12, 0x34]);
        insert_row(&conn, ok, 2, RowOutcomeKind::Issued, Some(&serial), "").unwrap();
        insert_row(
            &conn,
            bad,
            3,
            RowOutcomeKind::Error,
            None,
            "line 3: bad FQDN",
        )
        .unwrap();
        insert_row(
            &conn,
            bad,
            4,
            RowOutcomeKind::Error,
            None,
            "line 4: bad key",
        )
        .unwrap();
        insert_row(
            &conn,
            held,
            2,
            RowOutcomeKind::Error,
            None,
            "line 2: held error",
        )
        .unwrap();

        let of_m1 = applications_of_mail(&conn, m1).unwrap();
        assert_eq!(
            of_m1
                .iter()
                .map(|a| (a.filename.as_str(), a.status))
                .collect::<Vec<_>>(),
            [
                ("ok.tsv", ApplicationStatus::Executed),
                ("bad.tsv", ApplicationStatus::Refused)
            ]
        );
        assert_eq!(of_m1[0].received_at, d1);
        assert_eq!(of_m1[0].rows.len(), 1);
        assert_eq!(of_m1[0].rows[0].serial.as_ref(), Some(&serial));
        assert_eq!(of_m1[0].rows[0].outcome, RowOutcomeKind::Issued);
        assert_eq!(
            of_m1[1].rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            [3, 4]
        );

        let ids = |f: ApplicationFilter| -> Vec<i64> {
            applications(&conn, &f)
                .unwrap()
                .into_iter()
                .map(|a| a.id)
                .collect()
        };
        let on_day2 = Period {
            from: Some(datetime!(2025-04-02 00:00 UTC)),
            until: None,
        };
        let cases = [
            (ApplicationFilter::default(), vec![ok, bad, held]),
            (
                ApplicationFilter {
                    status: Some(ApplicationStatus::Held),
                    ..Default::default()
                },
                vec![held],
            ),
            (
                ApplicationFilter {
                    status: Some(ApplicationStatus::Checked),
                    ..Default::default()
                },
                vec![],
            ),
            (
                ApplicationFilter {
                    received: on_day2,
                    ..Default::default()
                },
                vec![held],
            ),
            (
                ApplicationFilter {
                    received: Period {
                        from: None,
                        until: Some(d2),
                    },
                    ..Default::default()
                },
                vec![ok, bad],
            ),
        ];
        for (filter, expected) in cases {
            assert_eq!(ids(filter), expected, "{filter:?}");
        }

        let details = |f: ApplicationFilter| -> Vec<String> {
            rows_with_outcome(&conn, RowOutcomeKind::Error, &f)
                .unwrap()
                .into_iter()
                .map(|r| r.detail)
                .collect()
        };
        assert_eq!(
            details(ApplicationFilter::default()),
            ["line 3: bad FQDN", "line 4: bad key", "line 2: held error"]
        );
        assert_eq!(
            details(ApplicationFilter {
                mail_id: Some(m2),
                ..Default::default()
            }),
            ["line 2: held error"]
        );
        assert_eq!(
            details(ApplicationFilter {
                received: Period {
                    from: None,
                    until: Some(d2)
                },
                ..Default::default()
            }),
            ["line 3: bad FQDN", "line 4: bad key"]
        );
        assert!(
            rows_with_outcome(
                &conn,
                RowOutcomeKind::Revoked,
                &ApplicationFilter::default()
            )
            .unwrap()
            .is_empty()
        );
    }
}
