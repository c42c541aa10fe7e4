//! `mailra status` (issue 11): the robot's state on one screen, with a
//! level a monitoring system reads from the exit status (0 ok, 1 warning,
//! 2 critical).
//!
//! Every line is read from the instance alone — the store, the Maildir
//! inbox, and the heartbeat the running robot writes at each intake pass
//! (`store::heartbeat`) — never from the IMAP server or the daemon, so the
//! command answers fast even when they are down. The judgments (each line's
//! level and the words saying why) are pure functions of numbers, times and
//! [`Thresholds`] (`judge`).

mod judge;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};
use time::{Duration, OffsetDateTime, UtcOffset};

use super::Result;
use super::maintenance::MaintenanceState;
use crate::mail::maildir;
use crate::model::{CertStatus, Verdict};
use crate::ra::Env;
use crate::store::{self, Intake, OutboxStatus, Period};

/// How the robot is doing: exit status 0, 1, 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Critical,
}

impl Level {
    pub fn exit_code(self) -> u8 {
        match self {
            Level::Ok => 0,
            Level::Warning => 1,
            Level::Critical => 2,
        }
    }

    /// The word on the screen: `OK`, `WARNING`, `CRITICAL`.
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Where each line turns from OK to a warning. The defaults are what
/// `mailra status` uses; tests pass their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// A mail waiting in the inbox longer than this is a warning (15 min).
    pub inbox_lag: Duration,
    /// A running robot (`mailra run`) silent longer than its own longest
    /// wait between passes (its `--interval`, the IMAP IDLE timeout or
    /// polling interval) plus this is a warning (10 min).
    pub silence: Duration,
    /// A reply pending in the outbox longer than this is a warning (1 h).
    pub outbox_pending: Duration,
    /// A mail held for review longer than this is a warning (3 days).
    pub held_age: Duration,
    /// A CRL whose nextUpdate is nearer than this is a warning (1 day);
    /// past it, critical.
    pub crl_due: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            inbox_lag: Duration::minutes(15),
            silence: Duration::minutes(10),
            outbox_pending: Duration::hours(1),
            held_age: Duration::days(3),
            crl_due: Duration::days(1),
        }
    }
}

/// The secretariat's time zone: "today" is a calendar day in Japan
/// (Asia/Tokyo, UTC+9, no daylight saving time).
pub const JST: UtcOffset = time::macros::offset!(+9);
const TIME_ZONE: &str = "Asia/Tokyo (UTC+09:00, no DST)";

fn rfc3339<S: Serializer>(t: &OffsetDateTime, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&store::ts(*t))
}

fn rfc3339_opt<S: Serializer>(
    t: &Option<OffsetDateTime>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

/// The inbox: mails not taken yet.
#[derive(Debug, Clone, Serialize)]
pub struct Inbox {
    pub level: Level,
    pub note: String,
    pub intake: Intake,
    /// How many mails wait; None when not known (IMAP before any pass).
    pub waiting: Option<u64>,
    /// When the oldest of them arrived.
    #[serde(serialize_with = "rfc3339_opt")]
    pub oldest: Option<OffsetDateTime>,
    /// How long it has waited, in seconds.
    pub lag_seconds: Option<i64>,
    /// When this was seen: now (Maildir, read directly) or the robot's last
    /// heartbeat (IMAP).
    #[serde(serialize_with = "rfc3339_opt")]
    pub as_of: Option<OffsetDateTime>,
}

/// The robot's last sign of life.
#[derive(Debug, Clone, Serialize)]
pub struct Robot {
    pub level: Level,
    pub note: String,
    /// None: no robot has run on this instance.
    #[serde(serialize_with = "rfc3339_opt")]
    pub last_seen: Option<OffsetDateTime>,
    pub silent_seconds: Option<i64>,
    pub intake: Option<Intake>,
    /// True: `mailra run`; false: `mailra run --once`.
    pub daemon: Option<bool>,
    /// The longest the robot waits between two passes.
    pub every_seconds: Option<u64>,
}

/// The mails received today (a calendar day in Japan).
#[derive(Debug, Clone, Serialize)]
pub struct Today {
    pub level: Level,
    pub note: String,
    /// `YYYY-MM-DD`, the day in Japan.
    pub date: String,
    pub time_zone: &'static str,
    #[serde(serialize_with = "rfc3339")]
    pub from: OffsetDateTime,
    #[serde(serialize_with = "rfc3339")]
    pub until: OffsetDateTime,
    pub total: u64,
    /// Every verdict, with 0 for those not seen today.
    pub by_verdict: BTreeMap<&'static str, u64>,
}

/// The mails held for the secretariat's review.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    pub level: Level,
    pub note: String,
    pub count: u64,
    #[serde(serialize_with = "rfc3339_opt")]
    pub oldest: Option<OffsetDateTime>,
}

/// The reply queue.
#[derive(Debug, Clone, Serialize)]
pub struct Outbox {
    pub level: Level,
    pub note: String,
    pub pending: u64,
    #[serde(serialize_with = "rfc3339_opt")]
    pub oldest_pending: Option<OffsetDateTime>,
    pub dead: u64,
}

/// Valid certificates reaching their notAfter within the digest window.
#[derive(Debug, Clone, Serialize)]
pub struct Expiring {
    pub level: Level,
    pub note: String,
    /// The window: `[reminders] digest_days`.
    pub days: u32,
    pub count: u64,
    /// The first notAfter among them.
    #[serde(serialize_with = "rfc3339_opt")]
    pub first: Option<OffsetDateTime>,
}

/// One issuing CA's newest CRL.
#[derive(Debug, Clone, Serialize)]
pub struct Crl {
    pub level: Level,
    pub note: String,
    /// `rsa` or `ec`.
    pub ca: &'static str,
    /// Certificates this CA issued (valid or revoked).
    pub issued: u64,
    /// The newest CRL's cRLNumber; None: no CRL yet.
    pub number: Option<u64>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub this_update: Option<OffsetDateTime>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub next_update: Option<OffsetDateTime>,
    /// Seconds since its thisUpdate.
    pub age_seconds: Option<i64>,
    pub past_next_update: bool,
}

/// Maintenance mode.
#[derive(Debug, Clone, Serialize)]
pub struct Maintenance {
    pub level: Level,
    pub note: String,
    pub state: MaintenanceState,
}

/// The warm key pool of the running robot.
#[derive(Debug, Clone, Serialize)]
pub struct KeyPool {
    pub level: Level,
    pub note: String,
    /// Keys ready; None when no `mailra run` reported one.
    pub keys: Option<u64>,
    pub capacity: Option<u64>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub as_of: Option<OffsetDateTime>,
}

/// Everything `mailra status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The worst level of the lines below.
    pub level: Level,
    /// Every line that is not OK, in words (`inbox: …`).
    pub problems: Vec<String>,
    /// When the status was taken.
    #[serde(serialize_with = "rfc3339")]
    pub at: OffsetDateTime,
    pub inbox: Inbox,
    pub robot: Robot,
    pub today: Today,
    pub held: Held,
    pub outbox: Outbox,
    pub expiring: Expiring,
    /// One per issuing CA.
    pub crls: Vec<Crl>,
    pub maintenance: Maintenance,
    pub key_pool: KeyPool,
}

impl Status {
    /// The screen's lines: (what, level, words), in order.
    pub fn lines(&self) -> Vec<(String, Level, &str)> {
        let mut v = vec![
            (
                "inbox".to_string(),
                self.inbox.level,
                self.inbox.note.as_str(),
            ),
            ("robot".into(), self.robot.level, &self.robot.note),
            ("today".into(), self.today.level, &self.today.note),
            ("held".into(), self.held.level, &self.held.note),
            ("outbox".into(), self.outbox.level, &self.outbox.note),
            ("expiring".into(), self.expiring.level, &self.expiring.note),
        ];
        for c in &self.crls {
            v.push((format!("crl {}", c.ca), c.level, &c.note));
        }
        v.push((
            "maintenance".into(),
            self.maintenance.level,
            &self.maintenance.note,
        ));
        v.push(("key pool".into(), self.key_pool.level, &self.key_pool.note));
        v
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.at.to_offset(JST);
        writeln!(
            f,
            "mailra status: {} ({} {:02}:{:02}:{:02} JST)",
            self.level,
            local.date(),
            local.hour(),
            local.minute(),
            local.second()
        )?;
        let mut t = crate::render::table::table(&["check", "state", "detail"]);
        for (what, level, note) in self.lines() {
            t.add_row(vec![what, level.word().to_string(), note.to_string()]);
        }
        writeln!(f, "{}", crate::render::table::text(&t))
    }
}

/// The state of the instance as of `now`, with the default thresholds.
pub fn status(env: &Env, now: OffsetDateTime) -> Result<Status> {
    status_with(env, now, &Thresholds::default())
}

/// The state of the instance as of `now`, judged with `t`.
pub fn status_with(env: &Env, now: OffsetDateTime, t: &Thresholds) -> Result<Status> {
    let conn = &env.conn;
    let hb = store::heartbeat(conn)?;
    let inbox = inbox(env, hb.as_ref(), now, t);
    let (level, note) = judge::robot(hb.as_ref(), now, t);
    let robot = Robot {
        level,
        note,
        last_seen: hb.as_ref().map(|h| h.at),
        silent_seconds: hb.as_ref().map(|h| (now - h.at).whole_seconds()),
        intake: hb.as_ref().map(|h| h.intake),
        daemon: hb.as_ref().map(|h| h.daemon),
        every_seconds: hb.as_ref().map(|h| h.every_seconds),
    };
    let (count, oldest) = store::verdict_backlog(conn, Verdict::Held)?;
    let (level, note) = judge::held(count, oldest, now, t);
    let held = Held {
        level,
        note,
        count,
        oldest,
    };
    let pending = store::outbox_rows(conn, Some(OutboxStatus::Pending))?;
    let oldest_pending = pending
        .iter()
        .filter_map(|r| store::parse_ts(&r.created_at))
        .min();
    let dead = store::outbox_rows(conn, Some(OutboxStatus::Dead))?.len() as u64;
    let (level, note) = judge::outbox(pending.len() as u64, oldest_pending, dead, now, t);
    let outbox = Outbox {
        level,
        note,
        pending: pending.len() as u64,
        oldest_pending,
        dead,
    };
    let mut crls = Vec::new();
    for kind in env.ca_kinds() {
        let latest = store::latest_crl(conn, kind)?.map(|(n, this, next, _)| (n, this, next));
        let issued = store::issued_by(conn, kind)?;
        let (level, note) = judge::crl(latest, issued, now, t);
        crls.push(Crl {
            level,
            note,
            ca: kind.as_str(),
            issued,
            number: latest.map(|l| l.0),
            this_update: latest.map(|l| l.1),
            next_update: latest.map(|l| l.2),
            age_seconds: latest.map(|l| (now - l.1).whole_seconds()),
            past_next_update: latest.is_some_and(|l| now >= l.2),
        });
    }
    let state = super::maintenance::state(conn, now)?;
    let (level, note) = judge::maintenance(state.on, &state.to_string());
    let maintenance = Maintenance { level, note, state };
    let (level, note) = judge::key_pool(hb.as_ref(), now);
    let daemon = hb.as_ref().filter(|h| h.daemon);
    let key_pool = KeyPool {
        level,
        note,
        keys: daemon.map(|h| h.key_pool_level),
        capacity: daemon.map(|h| h.key_pool_capacity),
        as_of: daemon.map(|h| h.at),
    };
    let mut s = Status {
        level: Level::Ok,
        problems: Vec::new(),
        at: now,
        inbox,
        robot,
        today: today(env, now)?,
        held,
        outbox,
        expiring: expiring(env, now)?,
        crls,
        maintenance,
        key_pool,
    };
    let (level, problems) = {
        let lines = s.lines();
        (
            lines.iter().map(|l| l.1).max().unwrap_or(Level::Ok),
            lines
                .iter()
                .filter(|l| l.1 > Level::Ok)
                .map(|(what, _, note)| format!("{what}: {note}"))
                .collect(),
        )
    };
    s.level = level;
    s.problems = problems;
    Ok(s)
}

/// The inbox: the Maildir's `new/` read directly, or for IMAP what the
/// robot saw at its last pass.
fn inbox(env: &Env, hb: Option<&store::Heartbeat>, now: OffsetDateTime, t: &Thresholds) -> Inbox {
    let intake = if env.cfg.imap.is_some() {
        Intake::Imap
    } else {
        Intake::Maildir
    };
    let (waiting, oldest, as_of) = match intake {
        Intake::Maildir => match maildir::waiting(&env.cfg.maildir) {
            Ok(w) => (
                Some(w.len() as u64),
                w.iter().map(|(_, t)| *t).min(),
                Some(now),
            ),
            Err(e) => {
                return Inbox {
                    level: Level::Critical,
                    note: format!("cannot read the Maildir inbox: {e}"),
                    intake,
                    waiting: None,
                    oldest: None,
                    lag_seconds: None,
                    as_of: None,
                };
            }
        },
        Intake::Imap => match hb.filter(|h| h.intake == Intake::Imap) {
            Some(h) => (Some(h.waiting), h.oldest_waiting, Some(h.at)),
            None => (None, None, None),
        },
    };
    let (level, mut note) = judge::inbox(waiting, oldest, now, t);
    if let (Intake::Imap, Some(at)) = (intake, as_of) {
        note.push_str(&format!(
            " (IMAP, as the robot saw it {} ago)",
            judge::span(now - at)
        ));
    }
    Inbox {
        level,
        note,
        intake,
        waiting,
        oldest,
        lag_seconds: oldest.map(|o| (now - o).whole_seconds()),
        as_of,
    }
}

/// Today's mails by verdict; today is the calendar day in Japan.
fn today(env: &Env, now: OffsetDateTime) -> Result<Today> {
    let date = now.to_offset(JST).date();
    let from = date.midnight().assume_offset(JST);
    let until = from + Duration::days(1);
    let mut by_verdict: BTreeMap<&'static str, u64> =
        Verdict::ALL.iter().map(|v| (v.as_str(), 0)).collect();
    let period = Period {
        from: Some(from),
        until: Some(until),
    };
    for (v, n) in store::verdict_counts(&env.conn, period)? {
        by_verdict.insert(v.as_str(), n);
    }
    let total = by_verdict.values().sum();
    let seen: Vec<String> = Verdict::ALL
        .iter()
        .filter(|v| by_verdict[v.as_str()] > 0)
        .map(|v| format!("{} {}", v.as_str(), by_verdict[v.as_str()]))
        .collect();
    let note = if total == 0 {
        format!("no mail received on {date} (JST, UTC+9)")
    } else {
        format!(
            "{} received on {date} (JST, UTC+9): {}",
            judge::count(total, "mail", "mails"),
            seen.join(", ")
        )
    };
    Ok(Today {
        level: Level::Ok,
        note,
        date: date.to_string(),
        time_zone: TIME_ZONE,
        from,
        until,
        total,
        by_verdict,
    })
}

/// Valid certificates expiring within the digest window (information: the
/// expiry digests tell the institutions).
fn expiring(env: &Env, now: OffsetDateTime) -> Result<Expiring> {
    let days = env.cfg.reminders.digest_days;
    let soon: Vec<OffsetDateTime> = store::certificate_briefs(&env.conn)?
        .into_iter()
        .filter(|c| {
            c.status == CertStatus::Valid
                && crate::policy::reminders::in_digest_window(c.not_after, now, days)
        })
        .map(|c| c.not_after)
        .collect();
    let first = soon.iter().min().copied();
    let count = soon.len() as u64;
    let mut note = format!(
        "{} valid {} within {days} days",
        count,
        if count == 1 {
            "certificate expires"
        } else {
            "certificates expire"
        }
    );
    if let Some(f) = first {
        note.push_str(&format!(" (the first on {}, JST)", f.to_offset(JST).date()));
    }
    Ok(Expiring {
        level: Level::Ok,
        note,
        days,
        count,
        first,
    })
}
