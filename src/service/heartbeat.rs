//! The running robot's heartbeat (`store::heartbeat`): written at each
//! intake pass and touched after each mail, so `mailra status` — another
//! process — tells whether the robot is alive, how many mails wait and since
//! when, and how full the warm key pool is, without reaching the IMAP server.
//!
//! Monitoring never stops the robot: a heartbeat that cannot be written is
//! logged and the intake goes on.

use std::time::Duration;

use time::OffsetDateTime;

use crate::mail::imap::{self as transport, Session};
use crate::mail::maildir;
use crate::ra::Env;
use crate::store::{self, Heartbeat, Intake};

fn write(env: &Env, h: &Heartbeat) {
    if let Err(e) = store::beat(&env.conn, h) {
        tracing::warn!(error = %e, "cannot write the heartbeat `mailra status` reads");
    }
}

fn pool(env: &Env) -> (u64, u64) {
    (env.keys.level() as u64, env.keys.capacity() as u64)
}

/// After a pass over the Maildir inbox: what is left in `new/` (mails that
/// came during the pass) and the key pool. `every` is the wait between passes.
pub fn maildir_pass(env: &Env, every: Duration, once: bool) {
    let left = maildir::waiting(&env.cfg.maildir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot look at the Maildir inbox for the heartbeat");
        Vec::new()
    });
    let (level, capacity) = pool(env);
    write(
        env,
        &Heartbeat {
            at: env.clock.now(),
            intake: Intake::Maildir,
            daemon: !once,
            every_seconds: every.as_secs().max(1),
            waiting: left.len() as u64,
            oldest_waiting: left.iter().map(|(_, t)| *t).min(),
            key_pool_level: level,
            key_pool_capacity: capacity,
        },
    );
}

/// After a mail was taken: the robot is alive in the middle of a pass.
pub fn touch(env: &Env) {
    if let Err(e) = store::touch(&env.conn, env.clock.now(), env.keys.level() as u64) {
        tracing::warn!(error = %e, "cannot write the heartbeat `mailra status` reads");
    }
}

/// The mails of an IMAP pass still to take: their INTERNALDATE by UID, and
/// how many the server gave none for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Waiting {
    arrivals: Vec<(u32, OffsetDateTime)>,
    unknown: usize,
}

impl Waiting {
    fn new(uids: &[u32], arrivals: Vec<(u32, OffsetDateTime)>) -> Waiting {
        Waiting {
            unknown: uids.len().saturating_sub(arrivals.len()),
            arrivals,
        }
    }

    fn taken(&mut self, uid: u32) {
        let before = self.arrivals.len();
        self.arrivals.retain(|(u, _)| *u != uid);
        if self.arrivals.len() == before {
            self.unknown = self.unknown.saturating_sub(1);
        }
    }

    fn count(&self) -> u64 {
        (self.arrivals.len() + self.unknown) as u64
    }

    fn oldest(&self) -> Option<OffsetDateTime> {
        self.arrivals.iter().map(|(_, t)| *t).min()
    }
}

/// One pass over the IMAP mailbox: started with the UIDs found, told of
/// each one taken, so the heartbeat always says how many still wait and
/// when the oldest of them arrived.
pub struct ImapPass {
    beat: Heartbeat,
    waiting: Waiting,
}

impl ImapPass {
    /// Writes the heartbeat of a pass about to take `uids`. `every` is the
    /// longest wait before the next pass (the IDLE timeout, or polling).
    pub async fn start(
        env: &Env,
        s: &mut Session,
        uids: &[u32],
        every: Duration,
        once: bool,
    ) -> ImapPass {
        let arrivals = if uids.is_empty() {
            Vec::new()
        } else {
            transport::arrivals(s, uids).await.unwrap_or_else(|e| {
                tracing::debug!(error = %e, "no INTERNALDATE for the heartbeat");
                Vec::new()
            })
        };
        let waiting = Waiting::new(uids, arrivals);
        let (level, capacity) = pool(env);
        let beat = Heartbeat {
            at: env.clock.now(),
            intake: Intake::Imap,
            daemon: !once,
            every_seconds: every.as_secs().max(1),
            waiting: waiting.count(),
            oldest_waiting: waiting.oldest(),
            key_pool_level: level,
            key_pool_capacity: capacity,
        };
        write(env, &beat);
        ImapPass { beat, waiting }
    }

    /// Mail `uid` was taken (processed and filed).
    pub fn taken(&mut self, env: &Env, uid: u32) {
        self.waiting.taken(uid);
        self.beat.waiting = self.waiting.count();
        self.beat.oldest_waiting = self.waiting.oldest();
        self.beat.at = env.clock.now();
        self.beat.key_pool_level = env.keys.level() as u64;
        write(env, &self.beat);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn each_mail_taken_leaves_the_rest_waiting_with_their_oldest_arrival() {
        let t = |m: i64| datetime!(2026-11-30 03:00:00 UTC) + time::Duration::minutes(m);
        // UIDs 5..=8; the server gave no INTERNALDATE for 7.
        let mut w = Waiting::new(&[5, 6, 7, 8], vec![(5, t(0)), (6, t(2)), (8, t(1))]);
        // (uid taken, waiting after, oldest after)
        let table = [
            (5, 3, Some(t(1))),
            (6, 2, Some(t(1))),
            (7, 1, Some(t(1))),
            (8, 0, None),
            // Taken twice (a resumed mail): nothing below zero.
            (8, 0, None),
        ];
        assert_eq!((w.count(), w.oldest()), (4, Some(t(0))));
        for (uid, count, oldest) in table {
            w.taken(uid);
            assert_eq!((w.count(), w.oldest()), (count, oldest), "after {uid}");
        }
    }
}
