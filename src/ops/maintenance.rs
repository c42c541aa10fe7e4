//! `mailra maintenance on|off|show` (issue 11): the secretariat turns
//! maintenance mode on with a message for officers (and, optionally, the
//! time it ends by itself) and off again. While it is on, the robot keeps
//! every new mail and tells each officer once (`ra::maintenance`); after it
//! ends the robot's next pass processes the kept mails in arrival order.
//!
//! `on` while on changes the message and end time of the period in force
//! (no new period: officers already told are not told again); `off` while
//! off is a Conflict. Both are audited (`maintenance-on`,
//! `maintenance-update`, `maintenance-off`).

use std::fmt;

use rusqlite::Connection;
use serde::Serialize;
use time::OffsetDateTime;

use super::{OpsError, Result};
use crate::ra::maintenance::current_period;
use crate::render::views::stamp;
use crate::store::{self, MaintenancePeriod};

/// Whether maintenance is on, since when, until when, with which message.
/// Times are RFC 3339 (UTC, `store::ts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaintenanceState {
    pub on: bool,
    /// The period in force, or (off) the last one; None: never on.
    pub period: Option<i64>,
    /// When the period began.
    pub since: Option<String>,
    /// Who turned it on.
    pub by: Option<String>,
    /// What officers are told.
    pub message: Option<String>,
    /// When the period ends (ended) by itself, if set.
    pub until: Option<String>,
    /// (off) When the last period ended, and by whom (`until`: at its end time).
    pub ended_at: Option<String>,
    pub ended_by: Option<String>,
    /// Mails kept and not yet processed (after `off`: until the robot's
    /// next pass).
    pub waiting: i64,
    /// Officers told in the period (one notice each).
    pub notices: i64,
}

impl MaintenanceState {
    fn of(conn: &Connection, p: Option<MaintenancePeriod>, on: bool) -> Result<MaintenanceState> {
        let waiting = store::deferred_count(conn)?;
        let Some(p) = p else {
            return Ok(MaintenanceState {
                waiting,
                ..MaintenanceState::default()
            });
        };
        Ok(MaintenanceState {
            on,
            period: Some(p.id),
            since: Some(store::ts(p.started_at)),
            by: Some(p.started_by.clone()),
            message: Some(p.message.clone()),
            until: p.until.map(store::ts),
            ended_at: p.ended_at.map(store::ts),
            ended_by: p.ended_by.clone(),
            waiting,
            notices: store::notices_in_period(conn, p.id)?,
        })
    }
}

/// A stored time as people read it (JST).
fn jst(t: &str) -> String {
    store::parse_ts(t)
        .map(stamp)
        .unwrap_or_else(|| t.to_string())
}

impl fmt::Display for MaintenanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.on {
            write!(f, "maintenance on")?;
            if let (Some(since), Some(by)) = (&self.since, &self.by) {
                write!(f, " since {} (by {by})", jst(since))?;
            }
            match &self.until {
                Some(u) => writeln!(f, ", until {}", jst(u))?,
                None => writeln!(f, ", until turned off")?,
            }
            writeln!(f, "message: {}", self.message.as_deref().unwrap_or(""))?;
            write!(
                f,
                "mails kept: {}; officers told: {}",
                self.waiting, self.notices
            )
        } else {
            write!(f, "maintenance off")?;
            if let (Some(at), Some(by)) = (&self.ended_at, &self.ended_by) {
                write!(f, " (the last period ended {} by {by})", jst(at))?;
            }
            if self.waiting > 0 {
                write!(
                    f,
                    "\nmails kept: {} (processed at the robot's next pass)",
                    self.waiting
                )?;
            }
            Ok(())
        }
    }
}

/// Turns maintenance on (a new period) with the message officers are told;
/// while on, changes the message and end time of the period in force.
pub fn on(
    conn: &Connection,
    message: &str,
    until: Option<OffsetDateTime>,
    by: &str,
    now: OffsetDateTime,
) -> Result<MaintenanceState> {
    let message = message.trim();
    if message.is_empty() {
        return Err(OpsError::Invalid(
            "maintenance needs a message for the officers (--message)".into(),
        ));
    }
    if let Some(u) = until
        && u <= now
    {
        return Err(OpsError::Invalid(format!(
            "the end time {} is not in the future",
            stamp(u)
        )));
    }
    let tx = conn.unchecked_transaction()?;
    let until_text = until.map(stamp).unwrap_or_else(|| "-".into());
    match current_period(&tx, now)? {
        Some(p) => {
            store::update_period(&tx, p.id, message, until)?;
            store::audit(
                &tx,
                now,
                by,
                "maintenance-update",
                None,
                None,
                &format!("period #{}: until {until_text}; message: {message}", p.id),
            )?;
        }
        None => {
            let id = store::start_period(&tx, message, until, by, now)?;
            store::audit(
                &tx,
                now,
                by,
                "maintenance-on",
                None,
                None,
                &format!("period #{id}: until {until_text}; message: {message}"),
            )?;
        }
    }
    tx.commit()?;
    state(conn, now)
}

/// Ends the maintenance period; kept mails are processed by the robot's next pass.
pub fn off(conn: &Connection, by: &str, now: OffsetDateTime) -> Result<MaintenanceState> {
    let tx = conn.unchecked_transaction()?;
    let Some(p) = current_period(&tx, now)? else {
        tx.commit()?;
        return Err(OpsError::Conflict("maintenance is not on".into()));
    };
    if !store::end_period(&tx, p.id, now, by)? {
        return Err(OpsError::Conflict("maintenance is not on".into()));
    }
    let waiting = store::deferred_count(&tx)?;
    store::audit(
        &tx,
        now,
        by,
        "maintenance-off",
        None,
        None,
        &format!("period #{}: {waiting} kept mail(s) to process", p.id),
    )?;
    tx.commit()?;
    state(conn, now)
}

/// The state as of `now` (a period past its `until` is off, and recorded as
/// ended then).
pub fn state(conn: &Connection, now: OffsetDateTime) -> Result<MaintenanceState> {
    match current_period(conn, now)? {
        Some(p) => MaintenanceState::of(conn, Some(p), true),
        None => MaintenanceState::of(conn, store::last_period(conn)?, false),
    }
}

/// Reads an end time: RFC 3339 (`2026-12-01T18:00:00+09:00`), or
/// `YYYY-MM-DD HH:MM` in Japan time.
pub fn parse_until(s: &str) -> Result<OffsetDateTime> {
    let s = s.trim();
    if let Some(t) = store::parse_ts(s) {
        return Ok(t);
    }
    let jst = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::PrimitiveDateTime::parse(s, jst)
        .map(|t| t.assume_offset(time::macros::offset!(+9)))
        .map_err(|_| {
            OpsError::Invalid(format!(
                "{s:?}: give the end time as RFC 3339 (2026-12-01T18:00:00+09:00) or YYYY-MM-DD HH:MM (Japan time)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn end_times_are_rfc3339_or_japan_time() {
        let cases = [
            (
                "2026-12-01T18:00:00+09:00",
                Some(datetime!(2026-12-01 09:00 UTC)),
            ),
            (
                "2026-12-01T09:00:00Z",
                Some(datetime!(2026-12-01 09:00 UTC)),
            ),
            ("2026-12-01 18:00", Some(datetime!(2026-12-01 09:00 UTC))),
            (" 2026-12-01 00:30 ", Some(datetime!(2026-11-30 15:30 UTC))),
            ("2026-12-01", None),
            ("2026-12-01 25:00", None),
            ("tomorrow", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_until(input).ok(), expected, "{input}");
        }
    }

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = store::open(&dir.path().join("t.sqlite")).unwrap();
        (dir, conn)
    }

    #[test]
    fn on_off_and_the_end_time_recorded_lazily() {
        let (_dir, conn) = db();
        let t0 = datetime!(2026-12-01 00:00 UTC);
        let hour = time::Duration::hours(1);
        assert!(!state(&conn, t0).unwrap().on);
        assert!(matches!(off(&conn, "sec", t0), Err(OpsError::Conflict(_))));
        assert!(matches!(
            on(&conn, "  ", None, "sec", t0),
            Err(OpsError::Invalid(_))
        ));
        assert!(matches!(
            on(&conn, "m", Some(t0), "sec", t0),
            Err(OpsError::Invalid(_))
        ));
        let s = on(&conn, "down", Some(t0 + hour), "sec", t0).unwrap();
        assert!(s.on);
        assert_eq!(s.message.as_deref(), Some("down"));
        assert_eq!(s.until, Some(store::ts(t0 + hour)));
        // On again: the same period, a new message and end.
        let s2 = on(&conn, "longer", Some(t0 + hour * 2), "sec", t0).unwrap();
        assert_eq!(s2.period, s.period);
        assert_eq!(s2.message.as_deref(), Some("longer"));
        // Still on just before its end, off at it, ended by `until`.
        assert!(
            state(&conn, t0 + hour * 2 - time::Duration::SECOND)
                .unwrap()
                .on
        );
        let after = state(&conn, t0 + hour * 3).unwrap();
        assert!(!after.on);
        assert_eq!(after.ended_at, Some(store::ts(t0 + hour * 2)));
        assert_eq!(after.ended_by.as_deref(), Some("until"));
        assert!(matches!(
            off(&conn, "sec", t0 + hour * 3),
            Err(OpsError::Conflict(_))
        ));
        // A new period, ended by hand.
        let s3 = on(&conn, "again", None, "alice", t0 + hour * 4).unwrap();
        assert_ne!(s3.period, s.period);
        let s4 = off(&conn, "bob", t0 + hour * 5).unwrap();
        assert!(!s4.on);
        assert_eq!(s4.ended_by.as_deref(), Some("bob"));
        let actions: Vec<(String, String)> = store::audit_events(&conn)
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action))
            .collect();
        let want = [
            ("sec", "maintenance-on"),
            ("sec", "maintenance-update"),
            ("until", "maintenance-off"),
            ("alice", "maintenance-on"),
            ("bob", "maintenance-off"),
        ];
        assert_eq!(actions, want.map(|(a, b)| (a.to_string(), b.to_string())));
    }
}
