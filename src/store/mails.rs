//! The `mails` table: every mail received, kept byte for byte with its
//! verdict, its filing and whether its applications were carried out (the
//! exactly-once key), and the look-ups duplicate detection and review need.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Period, Result, StoreError, applications, time_col, ts};
use crate::model::Verdict;

/// What the store keeps of one received mail.
#[derive(Debug, Clone)]
pub struct MailRecord<'a> {
    pub received_at: OffsetDateTime,
    pub source: &'a str,
    pub raw: &'a [u8],
    pub raw_sha256: &'a str,
    pub message_id: Option<&'a str>,
    pub from_addr: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub signed_sha256: Option<&'a str>,
    /// SHA-256 of the SubjectPublicKeyInfo of the signing certificate, when
    /// a registered officer signed (verified): that key is never certified.
    pub signer_spki_sha256: Option<&'a str>,
    pub officer_id: Option<i64>,
    pub verdict: Verdict,
    pub detail: &'a str,
    pub dry_run: bool,
    /// True when the mail's applications were carried out (the exactly-once key).
    pub executed: bool,
    /// The IMAP folder the rules filed it into.
    pub folder: &'a str,
    /// The IMAP keywords the rules set.
    pub keywords: &'a [String],
    /// The deciding rule (None: the built-in fallback).
    pub rule: Option<&'a str>,
}

pub fn insert_mail(conn: &Connection, m: &MailRecord) -> Result<i64> {
    conn.execute(
        "INSERT INTO mails(received_at, source, raw_sha256, message_id, from_addr, subject, signed_sha256,
                           officer_id, verdict, detail, dry_run, executed, folder, keywords, rule,
                           signer_spki_sha256)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            ts(m.received_at),
            m.source,
            m.raw_sha256,
            m.message_id,
            m.from_addr,
            m.subject,
            m.signed_sha256,
            m.officer_id,
            m.verdict,
            m.detail,
            m.dry_run,
            m.executed,
            m.folder,
            m.keywords.join(" "),
            m.rule,
            m.signer_spki_sha256
        ],
    )?;
    let id = conn.last_insert_rowid();
    // The bytes in a table of their own (migration 15): later updates of the
    // mail's row (verdict, filing) then leave the message alone.
    conn.prepare_cached("INSERT INTO mail_raw(mail_id, raw) VALUES (?1, ?2)")?
        .execute(params![id, m.raw])?;
    Ok(id)
}

/// Records the outcome of reviewing a held mail on the mail's own row: the
/// verdict, detail and filing change. The applications recorded while it was
/// held are either dropped, for the caller to record them anew
/// (`replace_applications`), or kept as refused. Refuses a mail that is no
/// longer held (approved or rejected meanwhile), so a review happens at most once.
pub fn update_held_mail(
    conn: &Connection,
    id: i64,
    m: &MailRecord,
    replace_applications: bool,
) -> Result<i64> {
    update_reopened_mail(conn, id, m, replace_applications, Verdict::Held)
}

/// As [`update_held_mail`], for a mail with verdict `was` (held for review,
/// or deferred during maintenance): refused unless the mail still has that
/// verdict, so a mail is taken up again at most once.
pub fn update_reopened_mail(
    conn: &Connection,
    id: i64,
    m: &MailRecord,
    replace_applications: bool,
    was: Verdict,
) -> Result<i64> {
    let n = conn.execute(
        "UPDATE mails SET signed_sha256 = coalesce(?2, signed_sha256), officer_id = coalesce(?3, officer_id),
                          verdict = ?4, detail = ?5, dry_run = ?6, executed = ?7, folder = ?8, keywords = ?9,
                          rule = ?10, signer_spki_sha256 = coalesce(?12, signer_spki_sha256)
         WHERE id = ?1 AND verdict = ?11",
        params![
            id,
            m.signed_sha256,
            m.officer_id,
            m.verdict,
            m.detail,
            m.dry_run,
            m.executed,
            m.folder,
            m.keywords.join(" "),
            m.rule,
            was,
            m.signer_spki_sha256
        ],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(match was {
            Verdict::Held => format!("mail #{id} is no longer held for review"),
            _ => format!("mail #{id} is no longer {}", was.as_str()),
        }));
    }
    if replace_applications {
        applications::delete_of_mail(conn, id)?;
    } else {
        applications::refuse_of_mail(conn, id)?;
    }
    Ok(id)
}

/// Replaces the one-line account of what became of a mail (set once its
/// applications were carried out and the summary is known).
pub fn set_mail_detail(conn: &Connection, id: i64, detail: &str) -> Result<()> {
    conn.execute(
        "UPDATE mails SET detail = ?2 WHERE id = ?1",
        params![id, detail],
    )?;
    Ok(())
}

/// A stored mail, as the review needs it.
#[derive(Debug, Clone)]
pub struct StoredMail {
    pub id: i64,
    pub received_at: OffsetDateTime,
    pub source: String,
    pub raw: Vec<u8>,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub verdict: Verdict,
    pub detail: String,
    /// Whether its applications were carried out.
    pub executed: bool,
    pub folder: Option<String>,
    pub keywords: Vec<String>,
    pub rule: Option<String>,
    /// When it was filed (None: recorded, not yet moved).
    pub filed_at: Option<OffsetDateTime>,
    /// The forms of its application files.
    pub forms: Vec<String>,
}

const MAIL_COLS: &str =
    "id, received_at, source, raw, from_addr, subject, verdict, detail, folder, keywords, rule,
     executed, filed_at";
/// A mail's row with its bytes (kept apart since migration 15).
const MAIL_FROM: &str = "mails JOIN mail_raw ON mail_raw.mail_id = mails.id";

fn stored_mail(conn: &Connection, r: &rusqlite::Row) -> rusqlite::Result<StoredMail> {
    let id: i64 = r.get(0)?;
    let keywords: String = r.get(9)?;
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT form FROM applications WHERE mail_id = ?1 AND form IS NOT NULL ORDER BY form",
    )?;
    let forms = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    let filed_at = match r.get::<_, Option<String>>(12)? {
        None => None,
        Some(_) => Some(time_col(r, 12)?),
    };
    Ok(StoredMail {
        id,
        received_at: time_col(r, 1)?,
        source: r.get(2)?,
        raw: r.get(3)?,
        from_addr: r.get(4)?,
        subject: r.get(5)?,
        verdict: r.get(6)?,
        detail: r.get(7)?,
        folder: r.get(8)?,
        keywords: keywords.split_whitespace().map(str::to_string).collect(),
        rule: r.get(10)?,
        executed: r.get(11)?,
        filed_at,
        forms,
    })
}

pub fn mail(conn: &Connection, id: i64) -> Result<Option<StoredMail>> {
    Ok(conn
        .query_row(
            &format!("SELECT {MAIL_COLS} FROM {MAIL_FROM} WHERE id = ?1"),
            [id],
            |r| stored_mail(conn, r),
        )
        .optional()?)
}

/// Which mails `mails` lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailFilter {
    /// Only mails with this verdict.
    pub verdict: Option<Verdict>,
    /// Only mails received in this period.
    pub received: Period,
}

/// The stored mails that pass `filter`, oldest first.
pub fn mails(conn: &Connection, filter: &MailFilter) -> Result<Vec<StoredMail>> {
    let (from, until) = filter.received.bounds();
    let mut stmt = conn.prepare(&format!(
        "SELECT {MAIL_COLS} FROM {MAIL_FROM}
         WHERE (?1 IS NULL OR verdict = ?1)
           AND (?2 IS NULL OR julianday(received_at) >= julianday(?2))
           AND (?3 IS NULL OR julianday(received_at) < julianday(?3))
         ORDER BY id"
    ))?;
    let rows = stmt
        .query_map(params![filter.verdict, from, until], |r| {
            stored_mail(conn, r)
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The mails held for review, oldest first.
pub fn held_mails(conn: &Connection) -> Result<Vec<StoredMail>> {
    mails(
        conn,
        &MailFilter {
            verdict: Some(Verdict::Held),
            ..MailFilter::default()
        },
    )
}

/// How many mails of each verdict were received in `period` (`mailra
/// status`: today's mails); verdicts with none are left out.
pub fn verdict_counts(conn: &Connection, period: Period) -> Result<Vec<(Verdict, u64)>> {
    let (from, until) = period.bounds();
    let mut stmt = conn.prepare(
        "SELECT verdict, count(*) FROM mails
         WHERE (?1 IS NULL OR julianday(received_at) >= julianday(?1))
           AND (?2 IS NULL OR julianday(received_at) < julianday(?2))
         GROUP BY verdict ORDER BY verdict",
    )?;
    let rows = stmt
        .query_map(params![from, until], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many mails have `verdict` now, and when the oldest of them was
/// received (`mailra status`: the mails held for review), without reading
/// the mails themselves.
pub fn verdict_backlog(
    conn: &Connection,
    verdict: Verdict,
) -> Result<(u64, Option<OffsetDateTime>)> {
    let (n, oldest): (i64, Option<String>) = conn.query_row(
        "SELECT count(*), (SELECT received_at FROM mails WHERE verdict = ?1 ORDER BY id LIMIT 1)
         FROM mails WHERE verdict = ?1",
        [verdict],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let oldest = match oldest {
        None => None,
        Some(s) => Some(super::parse_ts(&s).ok_or(StoreError::Unreadable {
            what: "mail receipt time",
            value: s,
        })?),
    };
    Ok((n.max(0) as u64, oldest))
}

/// When mail `id` was received, as stored (RFC 3339).
pub fn mail_received_at(conn: &Connection, id: i64) -> Result<String> {
    Ok(
        conn.query_row("SELECT received_at FROM mails WHERE id = ?1", [id], |r| {
            r.get(0)
        })?,
    )
}

/// The first mail that used this signed content up (carried it out, or
/// checked it as a dry run), other than mail `except`.
pub fn mail_using_content(
    conn: &Connection,
    signed_sha256: &str,
    except: Option<i64>,
) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT id, received_at FROM mails
             WHERE signed_sha256 = ?1 AND id <> ?2
               AND (executed = 1 OR verdict = ?3)
             ORDER BY executed DESC, id LIMIT 1",
            params![signed_sha256, except.unwrap_or(-1), Verdict::Checked],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// The keys (SPKI SHA-256, hex) of every officer certificate that signed a
/// mail of a registered officer, each once.
pub fn officer_signing_keys(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT signer_spki_sha256 FROM mails WHERE signer_spki_sha256 IS NOT NULL",
    )?;
    let keys = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(keys)
}

/// The first mail with exactly these raw bytes, if any (the same mail seen twice).
pub fn mail_by_raw(conn: &Connection, raw_sha256: &str) -> Result<Option<(i64, Verdict)>> {
    Ok(conn
        .query_row(
            "SELECT id, verdict FROM mails WHERE raw_sha256 = ?1 AND verdict <> ?2 ORDER BY id LIMIT 1",
            params![raw_sha256, Verdict::Duplicate],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{db, mail_at};
    use time::macros::datetime;

    #[test]
    fn verdicts_are_counted_per_period_and_the_oldest_held_is_found() {
        let (_dir, conn) = db();
        let d1 = datetime!(2025-04-01 09:00:00 UTC);
        let d2 = datetime!(2025-04-02 09:00:00.5 UTC);
        mail_at(&conn, d1, Verdict::Held, "h1");
        mail_at(&conn, d2, Verdict::Held, "h2");
        mail_at(&conn, d2, Verdict::Accepted, "a");
        mail_at(&conn, d2, Verdict::Accepted, "b");
        let day2 = Period {
            from: Some(datetime!(2025-04-02 00:00:00 UTC)),
            until: Some(datetime!(2025-04-03 00:00:00 UTC)),
        };
        assert_eq!(
            verdict_counts(&conn, day2).unwrap(),
            [(Verdict::Accepted, 2), (Verdict::Held, 1)]
        );
        assert_eq!(
            verdict_backlog(&conn, Verdict::Held).unwrap(),
            (2, Some(d1))
        );
        assert_eq!(
            verdict_backlog(&conn, Verdict::Rejected).unwrap(),
            (0, None)
        );
    }

    #[test]
    fn mails_are_listed_by_verdict_and_by_the_day_they_arrived() {
        let (_dir, conn) = db();
        let d1 = datetime!(2025-04-01 09:00:00 UTC);
        let d2 = datetime!(2025-04-02 09:00:00.5 UTC);
        let a = mail_at(&conn, d1, Verdict::Accepted, "a");
        let h = mail_at(&conn, d2, Verdict::Held, "h");
        let r = mail_at(&conn, d2, Verdict::Rejected, "r");
        let ids = |f: MailFilter| -> Vec<i64> {
            mails(&conn, &f)
                .unwrap()
                .into_iter()
                .map(|m| m.id)
                .collect()
        };
        let cases = [
            (MailFilter::default(), vec![a, h, r]),
            (
                MailFilter {
                    verdict: Some(Verdict::Held),
                    ..Default::default()
                },
                vec![h],
            ),
            (
                MailFilter {
                    received: Period {
                        from: Some(datetime!(2025-04-02 00:00 UTC)),
                        until: None,
                    },
                    ..Default::default()
                },
                vec![h, r],
            ),
            (
                MailFilter {
                    received: Period {
                        from: None,
                        until: Some(datetime!(2025-04-02 09:00:00.5 UTC)),
                    },
                    ..Default::default()
                },
                vec![a],
            ),
            (
                MailFilter {
                    verdict: Some(Verdict::Accepted),
                    received: Period {
                        from: Some(d2),
                        until: None,
                    },
                },
                vec![],
            ),
        ];
        for (filter, expected) in cases {
            assert_eq!(ids(filter), expected, "{filter:?}");
        }
        assert_eq!(
            held_mails(&conn)
                .unwrap()
                .iter()
                .map(|m| m.id)
                .collect::<Vec<_>>(),
            vec![h]
        );
        let m = mail(&conn, h).unwrap().unwrap();
        assert_eq!((m.verdict, m.received_at), (Verdict::Held, d2));
        assert_eq!(m.filed_at, None);
        assert_eq!(mail_received_at(&conn, a).unwrap(), ts(d1));
    }

    #[test]
    fn a_reviewed_mail_cannot_be_reviewed_again() {
        let (_dir, conn) = db();
        let t = datetime!(2025-04-01 09:00:00 UTC);
        let id = mail_at(&conn, t, Verdict::Held, "h");
        let app = applications::insert_application(
            &conn,
            id,
            "a.tsv",
            Some("server-new"),
            "00",
            crate::model::ApplicationStatus::Held,
        )
        .unwrap();
        let rec = MailRecord {
            received_at: t,
            source: "test",
            raw: b"",
            raw_sha256: "h",
            message_id: None,
            from_addr: None,
            subject: None,
            signed_sha256: None,
            signer_spki_sha256: None,
            officer_id: None,
            verdict: Verdict::Rejected,
            detail: "refused on review",
            dry_run: false,
            executed: false,
            folder: "Processed/Rejected",
            keywords: &[],
            rule: None,
        };
        update_held_mail(&conn, id, &rec, false).unwrap();
        let apps = applications::applications_of_mail(&conn, id).unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].id, app);
        assert_eq!(
            apps[0].status,
            crate::model::ApplicationStatus::Refused,
            "kept as refused"
        );
        assert_eq!(mail(&conn, id).unwrap().unwrap().verdict, Verdict::Rejected);
        assert!(matches!(
            update_held_mail(&conn, id, &rec, false),
            Err(StoreError::Conflict(_))
        ));
    }
}
