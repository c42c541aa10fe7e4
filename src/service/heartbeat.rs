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

/// One pass over the IMAP mailbox: started with the UIDs found, told of
/// each one taken, so the heartbeat always says how many still wait and
/// when the oldest of them arrived.
pub struct ImapPass {
    beat: Heartbeat,
    /// The mails still to take, by UID, with their INTERNALDATE.
    arrivals: Vec<(u32, OffsetDateTime)>,
    /// Those whose INTERNALDATE the server did not give.
    unknown: usize,
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
        let (level, capacity) = pool(env);
        let mut pass = ImapPass {
            unknown: uids.len().saturating_sub(arrivals.len()),
            arrivals,
            beat: Heartbeat {
                at: env.clock.now(),
                intake: Intake::Imap,
                daemon: !once,
                every_seconds: every.as_secs().max(1),
                waiting: uids.len() as u64,
                oldest_waiting: None,
                key_pool_level: level,
                key_pool_capacity: capacity,
            },
        };
        pass.fill();
        write(env, &pass.beat);
        pass
    }

    fn fill(&mut self) {
        self.beat.waiting = (self.arrivals.len() + self.unknown) as u64;
        self.beat.oldest_waiting = self.arrivals.iter().map(|(_, t)| *t).min();
    }

    /// Mail `uid` was taken (processed and filed).
    pub fn taken(&mut self, env: &Env, uid: u32) {
        let before = self.arrivals.len();
        self.arrivals.retain(|(u, _)| *u != uid);
        if self.arrivals.len() == before {
            self.unknown = self.unknown.saturating_sub(1);
        }
        self.fill();
        self.beat.at = env.clock.now();
        self.beat.key_pool_level = env.keys.level() as u64;
        write(env, &self.beat);
    }
}
