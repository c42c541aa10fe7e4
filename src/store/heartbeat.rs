//! The `heartbeat` table: one row the running robot rewrites at each intake
//! pass (and touches after each mail), so `mailra status` can tell whether
//! the robot is alive, how far behind its inbox is and how full its warm key
//! pool is — without reaching the IMAP server or the daemon's memory.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Result, parse_ts, time_col, ts};

/// Where the robot takes its mail from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Intake {
    /// The Maildir inbox (the embedded default).
    Maildir,
    /// An IMAP mailbox (`[imap]` configured).
    Imap,
}

impl Intake {
    pub fn as_str(self) -> &'static str {
        match self {
            Intake::Maildir => "maildir",
            Intake::Imap => "imap",
        }
    }

    pub fn from_name(s: &str) -> Option<Intake> {
        [Intake::Maildir, Intake::Imap]
            .into_iter()
            .find(|i| i.as_str() == s)
    }
}

impl std::fmt::Display for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ToSql for Intake {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Intake {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        Intake::from_name(s).ok_or_else(|| {
            FromSqlError::Other(format!("unknown intake {s:?} in the database").into())
        })
    }
}

/// The robot's last sign of life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// When it was written: the start of an intake pass, or a mail taken.
    pub at: OffsetDateTime,
    pub intake: Intake,
    /// True for `mailra run` (it will make another pass), false for `run --once`.
    pub daemon: bool,
    /// The longest the robot waits between two passes (its polling interval,
    /// or the IMAP IDLE timeout).
    pub every_seconds: u64,
    /// Mails waiting to be taken, as the robot last saw them.
    pub waiting: u64,
    /// When the oldest of them arrived (Maildir: its file's time; IMAP: its
    /// INTERNALDATE), if known.
    pub oldest_waiting: Option<OffsetDateTime>,
    pub key_pool_level: u64,
    pub key_pool_capacity: u64,
}

/// Writes the heartbeat (replacing the previous one).
pub fn beat(conn: &Connection, h: &Heartbeat) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO heartbeat(id, at, intake, daemon, every_seconds, waiting, oldest_waiting,
                                          key_pool_level, key_pool_capacity)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            ts(h.at),
            h.intake,
            h.daemon,
            h.every_seconds as i64,
            h.waiting as i64,
            h.oldest_waiting.map(ts),
            h.key_pool_level as i64,
            h.key_pool_capacity as i64
        ],
    )?;
    Ok(())
}

/// Moves the heartbeat's time (a mail was taken in the middle of a pass);
/// nothing when no pass has written one.
pub fn touch(conn: &Connection, at: OffsetDateTime, key_pool_level: u64) -> Result<()> {
    conn.execute(
        "UPDATE heartbeat SET at = ?1, key_pool_level = ?2 WHERE id = 1",
        params![ts(at), key_pool_level as i64],
    )?;
    Ok(())
}

/// The last heartbeat, if a robot ever wrote one.
pub fn heartbeat(conn: &Connection) -> Result<Option<Heartbeat>> {
    Ok(conn
        .query_row(
            "SELECT at, intake, daemon, every_seconds, waiting, oldest_waiting, key_pool_level,
                    key_pool_capacity FROM heartbeat WHERE id = 1",
            [],
            |r| {
                let oldest: Option<String> = r.get(5)?;
                Ok(Heartbeat {
                    at: time_col(r, 0)?,
                    intake: r.get(1)?,
                    daemon: r.get(2)?,
                    every_seconds: r.get::<_, i64>(3)?.max(0) as u64,
                    waiting: r.get::<_, i64>(4)?.max(0) as u64,
                    oldest_waiting: match oldest {
                        None => None,
                        Some(s) => Some(parse_ts(&s).ok_or_else(|| {
                            rusqlite::Error::FromSqlConversionFailure(
                                5,
                                rusqlite::types::Type::Text,
                                format!("unreadable time {s:?}").into(),
                            )
                        })?),
                    },
                    key_pool_level: r.get::<_, i64>(6)?.max(0) as u64,
                    key_pool_capacity: r.get::<_, i64>(7)?.max(0) as u64,
                })
            },
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::db;
    use time::macros::datetime;

    #[test]
    fn one_heartbeat_is_kept_and_touched() {
        let (_dir, conn) = db();
        assert_eq!(heartbeat(&conn).unwrap(), None);
        let t0 = datetime!(2026-11-30 03:00:00 UTC);
        // Touching before any pass writes nothing.
        touch(&conn, t0, 1).unwrap();
        assert_eq!(heartbeat(&conn).unwrap(), None);
        let mut h = Heartbeat {
            at: t0,
            intake: Intake::Imap,
            daemon: true,
            every_seconds: 1500,
            waiting: 3,
            oldest_waiting: Some(t0 - time::Duration::minutes(5)),
            key_pool_level: 7,
            key_pool_capacity: 100,
        };
        beat(&conn, &h).unwrap();
        assert_eq!(heartbeat(&conn).unwrap().as_ref(), Some(&h));
        let t1 = t0 + time::Duration::seconds(30);
        touch(&conn, t1, 9).unwrap();
        h.at = t1;
        h.key_pool_level = 9;
        assert_eq!(heartbeat(&conn).unwrap().as_ref(), Some(&h));
        // A later pass replaces it.
        let h2 = Heartbeat {
            intake: Intake::Maildir,
            daemon: false,
            waiting: 0,
            oldest_waiting: None,
            ..h
        };
        beat(&conn, &h2).unwrap();
        assert_eq!(heartbeat(&conn).unwrap(), Some(h2));
    }
}
