//! The judgments of `mailra status`: each line's level and the words saying
//! why, from plain numbers and times (no I/O), so every threshold is
//! tested as a table.

use time::{Duration, OffsetDateTime};

use super::{Level, Thresholds};
use crate::store::Heartbeat;

/// A line's level and what it says (why, when it is not OK).
pub type Judgment = (Level, String);

/// A duration for people: `42 s`, `15 min`, `3 h 5 min`, `2 d 4 h`.
pub fn span(d: Duration) -> String {
    let s = d.whole_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..172_800 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `1 mail`, `2 mails`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The inbox: how many mails wait and for how long the oldest has.
/// `waiting` is None when it is not known (IMAP, and no robot pass yet).
pub fn inbox(
    waiting: Option<u64>,
    oldest: Option<OffsetDateTime>,
    now: OffsetDateTime,
    t: &Thresholds,
) -> Judgment {
    let Some(n) = waiting else {
        return (
            Level::Ok,
            "not known: no robot has looked at the IMAP mailbox yet".into(),
        );
    };
    if n == 0 {
        return (Level::Ok, "no mail waiting".into());
    }
    let mails = count(n, "mail", "mails");
    match oldest {
        None => (
            Level::Ok,
            format!("{mails} waiting (arrival time not known)"),
        ),
        Some(o) if now - o > t.inbox_lag => (
            Level::Warning,
            format!(
                "{mails} waiting, the oldest for {} (more than {}): the robot is not taking its mail",
                span(now - o),
                span(t.inbox_lag)
            ),
        ),
        Some(o) => (
            Level::Ok,
            format!("{mails} waiting, the oldest for {}", span(now - o)),
        ),
    }
}

/// The robot's liveness, from its last heartbeat.
pub fn robot(hb: Option<&Heartbeat>, now: OffsetDateTime, t: &Thresholds) -> Judgment {
    let Some(h) = hb else {
        return (
            Level::Ok,
            "no robot has run on this instance yet (`mailra run`)".into(),
        );
    };
    let silent = now - h.at;
    if !h.daemon {
        return (
            Level::Ok,
            format!(
                "last pass by `mailra run --once` ({}) {} ago",
                h.intake,
                span(silent)
            ),
        );
    }
    let every = Duration::seconds(h.every_seconds as i64);
    if silent > every + t.silence {
        return (
            Level::Warning,
            format!(
                "the robot has made no pass for {} minutes (it passes at least every {}): is `mailra run` running, and its {} intake reachable?",
                silent.whole_minutes(),
                span(every),
                h.intake
            ),
        );
    }
    (
        Level::Ok,
        format!(
            "`mailra run` ({}) alive: last sign {} ago",
            h.intake,
            span(silent)
        ),
    )
}

/// The mails held for the secretariat's review.
pub fn held(
    n: u64,
    oldest: Option<OffsetDateTime>,
    now: OffsetDateTime,
    t: &Thresholds,
) -> Judgment {
    if n == 0 {
        return (Level::Ok, "no mail held for review".into());
    }
    let mails = count(n, "mail", "mails");
    match oldest {
        Some(o) if now - o > t.held_age => (
            Level::Warning,
            format!(
                "{mails} held for review, the oldest for {} (more than {}): see `mailra review list`",
                span(now - o),
                span(t.held_age)
            ),
        ),
        Some(o) => (
            Level::Ok,
            format!("{mails} held for review, the oldest for {}", span(now - o)),
        ),
        None => (Level::Ok, format!("{mails} held for review")),
    }
}

/// The outbox: replies waiting, and replies given up.
pub fn outbox(
    pending: u64,
    oldest_pending: Option<OffsetDateTime>,
    dead: u64,
    now: OffsetDateTime,
    t: &Thresholds,
) -> Judgment {
    let mut problems = Vec::new();
    let mut said = match oldest_pending {
        Some(o) if pending > 0 => {
            let age = now - o;
            if age > t.outbox_pending {
                problems.push(format!(
                    "{} pending, the oldest for {} (more than {}): is the SMTP relay reachable?",
                    count(pending, "reply", "replies"),
                    span(age),
                    span(t.outbox_pending)
                ));
            }
            format!(
                "{} pending, the oldest for {}",
                count(pending, "reply", "replies"),
                span(age)
            )
        }
        _ => format!("{} pending", count(pending, "reply", "replies")),
    };
    if dead > 0 {
        problems.push(format!(
            "{} dead (given up after the retries): see `mailra outbox list`, then `mailra outbox retry ID`",
            count(dead, "reply", "replies")
        ));
    }
    if problems.is_empty() {
        said.push_str("; none dead");
        (Level::Ok, said)
    } else {
        (Level::Warning, problems.join("; "))
    }
}

/// One issuing CA's CRL: `latest` is (cRLNumber, thisUpdate, nextUpdate) of
/// its newest CRL; `issued` how many certificates the CA issued.
pub fn crl(
    latest: Option<(u64, OffsetDateTime, OffsetDateTime)>,
    issued: u64,
    now: OffsetDateTime,
    t: &Thresholds,
) -> Judgment {
    let Some((number, this_update, next_update)) = latest else {
        if issued == 0 {
            return (
                Level::Ok,
                "no CRL yet; none needed before this CA issues a certificate".into(),
            );
        }
        return (
            Level::Warning,
            format!(
                "no CRL yet although this CA issued {}: run `mailra crl` (and publish crl/)",
                count(issued, "certificate", "certificates")
            ),
        );
    };
    let made = format!("CRL #{number} made {} ago", span(now - this_update));
    if now >= next_update {
        return (
            Level::Critical,
            format!(
                "{made} is past its nextUpdate ({}) by {}: relying parties refuse it; run `mailra crl` now",
                crate::store::ts(next_update),
                span(now - next_update)
            ),
        );
    }
    let left = next_update - now;
    if left < t.crl_due {
        return (
            Level::Warning,
            format!(
                "{made} reaches its nextUpdate in {} (less than {}): run `mailra crl`",
                span(left),
                span(t.crl_due)
            ),
        );
    }
    (Level::Ok, format!("{made}, next update in {}", span(left)))
}

/// Maintenance mode (`on`, and the state in words): on, mails are kept
/// unprocessed.
pub fn maintenance(on: bool, state: &str) -> Judgment {
    if on {
        (
            Level::Warning,
            format!("{state}: new mails are kept, not processed"),
        )
    } else {
        (Level::Ok, state.to_string())
    }
}

/// The warm key pool, as of the last heartbeat of a running robot.
pub fn key_pool(hb: Option<&Heartbeat>, now: OffsetDateTime) -> Judgment {
    match hb {
        Some(h) if h.daemon && h.key_pool_capacity == 0 => {
            (Level::Ok, "off ([ca] key_pool = 0)".into())
        }
        Some(h) if h.daemon => (
            Level::Ok,
            format!(
                "{}/{} keys ready (as of {} ago)",
                h.key_pool_level,
                h.key_pool_capacity,
                span(now - h.at)
            ),
        ),
        _ => (
            Level::Ok,
            "n/a (the pool lives in a running `mailra run`)".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Intake;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-30 03:00:00 UTC);

    fn min(n: i64) -> Duration {
        Duration::minutes(n)
    }

    #[test]
    fn spans_read_as_people_say_them() {
        for (d, expected) in [
            (Duration::seconds(-5), "0 s"),
            (Duration::seconds(42), "42 s"),
            (min(15), "15 min"),
            (min(185), "3 h 5 min"),
            (Duration::hours(52), "2 d 4 h"),
        ] {
            assert_eq!(span(d), expected, "{d}");
        }
    }

    #[test]
    fn an_old_waiting_mail_is_a_warning() {
        let t = Thresholds::default();
        // (waiting, oldest's age in minutes, expected level, words)
        let table = [
            (None, None, Level::Ok, "not known"),
            (Some(0), None, Level::Ok, "no mail waiting"),
            (
                Some(2),
                Some(3),
                Level::Ok,
                "2 mails waiting, the oldest for 3 min",
            ),
            (Some(1), Some(15), Level::Ok, "1 mail waiting"),
            (
                Some(1),
                Some(16),
                Level::Warning,
                "1 mail waiting, the oldest for 16 min (more than 15 min)",
            ),
            (Some(4), None, Level::Ok, "arrival time not known"),
        ];
        for (waiting, age, level, words) in table {
            let (l, said) = inbox(waiting, age.map(|m| NOW - min(m)), NOW, &t);
            assert_eq!(l, level, "{waiting:?} {age:?}: {said}");
            assert!(said.contains(words), "{said}");
        }
    }

    fn beat(daemon: bool, silent_minutes: i64, every_seconds: u64) -> Heartbeat {
        Heartbeat {
            at: NOW - min(silent_minutes),
            intake: Intake::Imap,
            daemon,
            every_seconds,
            waiting: 0,
            oldest_waiting: None,
            key_pool_level: 40,
            key_pool_capacity: 100,
        }
    }

    #[test]
    fn a_silent_daemon_is_a_warning_a_past_one_shot_run_is_not() {
        let t = Thresholds::default();
        // (heartbeat, expected level, words)
        let table = [
            (None, Level::Ok, "no robot has run"),
            (Some(beat(true, 1, 2)), Level::Ok, "alive"),
            // IDLE: a pass at least every 25 minutes, plus 10 minutes of grace.
            (Some(beat(true, 34, 1500)), Level::Ok, "alive"),
            (
                Some(beat(true, 36, 1500)),
                Level::Warning,
                "no pass for 36 minutes",
            ),
            (
                Some(beat(true, 11, 2)),
                Level::Warning,
                "no pass for 11 minutes",
            ),
            (Some(beat(false, 600, 2)), Level::Ok, "run --once"),
        ];
        for (hb, level, words) in table {
            let (l, said) = robot(hb.as_ref(), NOW, &t);
            assert_eq!(l, level, "{hb:?}: {said}");
            assert!(said.contains(words), "{said}");
        }
    }

    #[test]
    fn dead_replies_and_a_stuck_outbox_are_warnings() {
        let t = Thresholds::default();
        // (pending, oldest's age in minutes, dead, expected level, words)
        let table = [
            (0, None, 0, Level::Ok, "0 replies pending; none dead"),
            (
                2,
                Some(59),
                0,
                Level::Ok,
                "2 replies pending, the oldest for 59 min",
            ),
            (1, Some(61), 0, Level::Warning, "SMTP relay"),
            (0, None, 1, Level::Warning, "1 reply dead"),
            (3, Some(120), 2, Level::Warning, "3 replies pending"),
        ];
        for (pending, age, dead, level, words) in table {
            let (l, said) = outbox(pending, age.map(|m| NOW - min(m)), dead, NOW, &t);
            assert_eq!(l, level, "{pending} {age:?} {dead}: {said}");
            assert!(said.contains(words), "{said}");
        }
        let (_, both) = outbox(3, Some(NOW - min(120)), 2, NOW, &t);
        assert!(both.contains("2 replies dead"), "{both}");
    }

    #[test]
    fn a_crl_past_its_next_update_is_critical() {
        let t = Thresholds::default();
        let day = Duration::days(1);
        // (latest CRL as (made, next update) relative to now, issued, level, words)
        let table = [
            (None, 0, Level::Ok, "none needed"),
            (None, 3, Level::Warning, "issued 3 certificates"),
            (
                Some((-day, 6 * day)),
                3,
                Level::Ok,
                "next update in 6 d 0 h",
            ),
            (
                Some((-6 * day, day - min(1))),
                3,
                Level::Warning,
                "run `mailra crl`",
            ),
            (
                Some((-7 * day, Duration::ZERO)),
                3,
                Level::Critical,
                "past its nextUpdate",
            ),
            (Some((-8 * day, -day)), 0, Level::Critical, "by 24 h 0 min"),
        ];
        for (latest, issued, level, words) in table {
            let latest = latest.map(|(made, next)| (4, NOW + made, NOW + next));
            let (l, said) = crl(latest, issued, NOW, &t);
            assert_eq!(l, level, "{latest:?} {issued}: {said}");
            assert!(said.contains(words), "{said}");
        }
    }

    #[test]
    fn a_long_held_mail_is_a_warning() {
        let t = Thresholds::default();
        let table = [
            (0, None, Level::Ok, "no mail held"),
            (
                2,
                Some(Duration::days(2)),
                Level::Ok,
                "2 mails held for review",
            ),
            (
                1,
                Some(Duration::days(4)),
                Level::Warning,
                "`mailra review list`",
            ),
        ];
        for (n, age, level, words) in table {
            let (l, said) = held(n, age.map(|a| NOW - a), NOW, &t);
            assert_eq!(l, level, "{n} {age:?}: {said}");
            assert!(said.contains(words), "{said}");
        }
    }

    #[test]
    fn maintenance_on_is_a_warning_and_the_key_pool_only_informs() {
        assert_eq!(maintenance(false, "maintenance off").0, Level::Ok);
        let (l, said) = maintenance(true, "maintenance on");
        assert_eq!(l, Level::Warning);
        assert!(said.contains("not processed"), "{said}");
        for (hb, words) in [
            (None, "n/a"),
            (Some(beat(false, 1, 2)), "n/a"),
            (Some(beat(true, 1, 2)), "40/100 keys ready"),
        ] {
            let (l, said) = key_pool(hb.as_ref(), NOW);
            assert_eq!(l, Level::Ok);
            assert!(said.contains(words), "{said}");
        }
    }
}
