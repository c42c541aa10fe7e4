//! The state of the IMAP edge: where each mail was filed (and whether a
//! review changed where it belongs), and how far each mailbox was read.
//! A crash between recording a mail and moving it is repaired from here.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Result, ts};
use crate::model::Verdict;

/// A mail recorded (its outcome committed) but not yet filed.
#[derive(Debug, Clone)]
pub struct Unfiled {
    pub id: i64,
    pub verdict: Verdict,
    pub detail: String,
    pub folder: Option<String>,
    pub keywords: Vec<String>,
    pub rule: Option<String>,
}

/// A mail recorded but not yet filed (a crash hit between the commit and the
/// move), or, with `same_source`, any mail with these bytes whose source
/// starts so (the same IMAP mailbox seen again after a UIDVALIDITY change).
pub fn unfiled_mail_by_raw(
    conn: &Connection,
    raw_sha256: &str,
    same_source: Option<&str>,
) -> Result<Option<Unfiled>> {
    let like = same_source.map(|p| format!("{}%", p.replace('%', "\\%").replace('_', "\\_")));
    Ok(conn
        .query_row(
            "SELECT id, verdict, detail, folder, keywords, rule FROM mails
             WHERE raw_sha256 = ?1 AND verdict <> ?3
               AND (filed_at IS NULL OR (?2 IS NOT NULL AND source LIKE ?2 ESCAPE '\\'))
             ORDER BY id LIMIT 1",
            params![raw_sha256, like, Verdict::Duplicate],
            |r| {
                let kw: String = r.get(4)?;
                Ok(Unfiled {
                    id: r.get(0)?,
                    verdict: r.get(1)?,
                    detail: r.get(2)?,
                    folder: r.get(3)?,
                    keywords: kw.split_whitespace().map(str::to_string).collect(),
                    rule: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Where a mail belongs, when that changed after processing (the server
/// refused the rules' folder and the mail went to quarantine).
pub fn set_mail_folder(conn: &Connection, mail_id: i64, folder: &str) -> Result<()> {
    conn.execute(
        "UPDATE mails SET folder = ?2 WHERE id = ?1",
        params![mail_id, folder],
    )?;
    Ok(())
}

pub fn mark_filed(
    conn: &Connection,
    mail_id: i64,
    folder: &str,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "UPDATE mails SET filed_at = ?2, filed_to = ?3 WHERE id = ?1",
        params![mail_id, ts(now), folder],
    )?;
    Ok(())
}

/// A mail read from IMAP whose filing changed after it was filed: the
/// secretariat reviewed a held mail, which still sits in the review folder,
/// or a mail kept during maintenance was processed (and possibly held by a
/// rule), which still sits in the holding folder.
#[derive(Debug, Clone)]
pub struct Refile {
    pub id: i64,
    pub raw_sha256: String,
    /// Where it sits now.
    pub from: String,
    /// Where it belongs, with which keywords.
    pub to: String,
    pub keywords: Vec<String>,
}

pub fn pending_refiles(conn: &Connection) -> Result<Vec<Refile>> {
    let mut stmt = conn.prepare(
        "SELECT id, raw_sha256, filed_to, folder, keywords FROM mails
         WHERE source LIKE 'imap:%' AND filed_at IS NOT NULL AND (verdict <> ?1 OR filed_to = ?2)
           AND folder IS NOT NULL AND filed_to IS NOT NULL AND folder <> filed_to
         ORDER BY id",
    )?;
    let rows = stmt
        .query_map(
            params![Verdict::Held, crate::policy::rules::MAINTENANCE],
            |r| {
                let kw: String = r.get(4)?;
                Ok(Refile {
                    id: r.get(0)?,
                    raw_sha256: r.get(1)?,
                    from: r.get(2)?,
                    to: r.get(3)?,
                    keywords: kw.split_whitespace().map(str::to_string).collect(),
                })
            },
        )?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// (uidvalidity, last processed UID) of a mailbox.
pub fn imap_position(conn: &Connection, mailbox: &str) -> Result<Option<(u32, u32)>> {
    Ok(conn
        .query_row(
            "SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ?1",
            [mailbox],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub fn set_imap_position(
    conn: &Connection,
    mailbox: &str,
    uidvalidity: u32,
    last_uid: u32,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "INSERT INTO imap_state(mailbox, uidvalidity, last_uid, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = ?2, last_uid = ?3, updated_at = ?4",
        params![mailbox, uidvalidity, last_uid, ts(now)],
    )?;
    Ok(())
}
