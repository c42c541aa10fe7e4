//! The SMTP sender: drains the outbox table through the SMTP transport
//! (`mail::smtp`, one kept connection for the whole drain). A reply is marked
//! sent only after the server accepted it, so a crash in between resends it —
//! unchanged, with the same Message-ID, which mail clients use to show it
//! once. A transient failure is retried with capped exponential backoff; a
//! permanent one (5xx), or `max_attempts` failures, marks the reply dead,
//! visible in `mailra outbox list` until `mailra outbox retry ID`. An outage
//! is logged once when it starts and once when it ends, not per reply.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use super::ServiceError;
use crate::config::{Config, SmtpConfig};
use crate::mail::smtp::{SendError, SmtpTransport};
use crate::store::{self, OutboxMail};

pub struct SmtpSender {
    transport: SmtpTransport,
    max_attempts: u32,
    retry_min: Duration,
    retry_max: Duration,
    /// The last delivery error, so an outage is logged once, not per reply
    /// and attempt, and its end once.
    last_error: RefCell<Option<String>>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

impl SmtpSender {
    pub fn new(cfg: &SmtpConfig) -> Result<SmtpSender, ServiceError> {
        Ok(SmtpSender {
            transport: SmtpTransport::new(&cfg.params())?,
            max_attempts: cfg.max_attempts,
            retry_min: cfg.retry_min,
            retry_max: cfg.retry_max,
            last_error: Default::default(),
        })
    }

    /// The wait before attempt `attempts + 1`: min·2^(attempts-1), capped.
    pub fn backoff(&self, attempts: u32) -> Duration {
        backoff(self.retry_min, self.retry_max, attempts)
    }

    /// Sends every reply that is due. `stop` is checked between replies.
    pub async fn drain(
        &self,
        conn: &Connection,
        now: impl Fn() -> OffsetDateTime,
        stop: impl Fn() -> bool,
    ) -> Result<Drained, ServiceError> {
        let mut d = Drained::default();
        for m in store::due_outbox(conn, now())? {
            if stop() {
                break;
            }
            crate::fault::hold();
            match self.send(conn, &m, now()).await? {
                Ok(response) => {
                    crate::fault::point("after-smtp-accept");
                    if store::mark_sent(conn, m.id, now(), &response)? {
                        // Its key or PINs are gone from the row: from the log too.
                        if let Err(e) = store::scrub(conn) {
                            tracing::warn!(outbox = m.id, error = %e, "write-ahead log not emptied after a wipe; the next wipe tries again");
                        }
                    }
                    if self.last_error.borrow_mut().take().is_some() {
                        tracing::info!(smtp = %self.transport.endpoint(), "SMTP delivery restored");
                    }
                    tracing::info!(outbox = m.id, message_id = %m.message_id, "reply sent");
                    d.sent += 1;
                }
                Err(SendError {
                    text: error,
                    permanent,
                }) => {
                    let attempts = m.attempts as u32 + 1;
                    let dead = permanent || attempts >= self.max_attempts;
                    let next = (!dead).then(|| {
                        now() + time::Duration::try_from(self.backoff(attempts)).unwrap_or_default()
                    });
                    store::attempt_failed(conn, m.id, &error, next)?;
                    if dead {
                        tracing::error!(outbox = m.id, attempts, %error, "reply is dead; `mailra outbox retry {}` resends it", m.id);
                        d.dead += 1;
                    } else {
                        let mut last = self.last_error.borrow_mut();
                        if last.as_deref() != Some(error.as_str()) {
                            tracing::warn!(smtp = %self.transport.endpoint(), %error, "SMTP delivery failing; replies wait in the outbox and are retried with backoff");
                        }
                        tracing::debug!(outbox = m.id, attempts, %error, "reply not sent; will retry");
                        *last = Some(error);
                        d.retried += 1;
                    }
                }
            }
        }
        Ok(d)
    }

    /// Sends a reply to every recipient that does not have it yet: in one
    /// transaction, and when the server refuses that for good, one by one,
    /// so that one refused address (a mistyped admin) does not keep the reply
    /// from the others. Each recipient that has it is recorded at once and
    /// never sent to again. Ok(the server's answer) when at least one
    /// recipient has it and none can be tried again; Err(why) otherwise.
    async fn send(
        &self,
        conn: &Connection,
        m: &OutboxMail,
        now: OffsetDateTime,
    ) -> Result<Result<String, SendError>, ServiceError> {
        let remaining = m.remaining();
        if remaining.is_empty() {
            // Every recipient was dealt with before a crash or a transient error.
            return Ok(match m.delivered_to.is_empty() {
                false => Ok("sent to every recipient earlier".into()),
                true => Err(SendError {
                    text: "the server refused every recipient".into(),
                    permanent: true,
                }),
            });
        }
        let all = self.transport.send(&m.from, &remaining, &m.raw).await;
        if remaining.len() < 2 || !matches!(&all, Err(e) if e.permanent) {
            return Ok(all);
        }
        let mut answer = None;
        let mut reasons: Vec<String> = Vec::new();
        for r in remaining {
            match self.transport.send(&m.from, &[r], &m.raw).await {
                Ok(a) => {
                    store::recipient_delivered(conn, m.id, r, now)?;
                    answer = Some(a);
                }
                Err(e) if e.permanent => {
                    tracing::warn!(outbox = m.id, recipient = r, error = %e.text, "the server refused a recipient; the others get the reply");
                    store::recipient_refused(conn, m.id, r, &e.text)?;
                    if !reasons.contains(&e.text) {
                        reasons.push(e.text);
                    }
                }
                Err(transient) => return Ok(Err(transient)),
            }
        }
        Ok(match answer {
            Some(a) => Ok(a),
            None if !m.delivered_to.is_empty() => Ok("sent to the other recipients earlier".into()),
            // Usually one reason for all (a refused password, a refused message).
            None => Err(SendError {
                text: reasons.join("; "),
                permanent: true,
            }),
        })
    }

    /// Closes the kept connection (QUIT).
    pub async fn close(&self) {
        self.transport.close().await;
    }

    /// Closes the kept connection if it has not been used for a while.
    pub async fn close_idle(&self) {
        self.transport.close_idle().await;
    }
}

pub fn backoff(min: Duration, max: Duration, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    min.saturating_mul(1u32 << exp).min(max)
}

/// How often an idle sender looks at the outbox table anyway (replies put
/// back by `mailra outbox retry` from another process).
const IDLE_LOOK: Duration = Duration::from_secs(5);

/// The SMTP sender on its own thread and SQLite connection: it never waits
/// for the intake, and the intake never waits for a slow relay. It drains
/// when kicked (a mail was processed), when a retry falls due, and every
/// few seconds; it stops when `stop` turns true, or with `once` after one
/// more pass once kicked.
pub fn run(
    cfg: Config,
    smtp: SmtpConfig,
    clock: Arc<dyn crate::clock::Clock>,
    kick: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    once: bool,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let conn = store::open(&cfg.database)?;
    rt.block_on(async {
        let sender = SmtpSender::new(&smtp)?;
        tracing::info!(smtp = %smtp.endpoint, "SMTP sender started");
        loop {
            let stopping = stop.clone();
            match sender
                .drain(&conn, || clock.now(), || *stopping.borrow())
                .await
            {
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox"),
            }
            if *stop.borrow() {
                break;
            }
            if once {
                // `run --once`: one more pass after the intake's kick, then done.
                kick.notified().await;
                let _ = sender.drain(&conn, || clock.now(), || false).await;
                break;
            }
            let wait = match store::next_due(&conn) {
                Ok(Some(t)) => {
                    let d = t - clock.now();
                    Duration::try_from(d)
                        .unwrap_or(Duration::ZERO)
                        .min(IDLE_LOOK)
                }
                _ => IDLE_LOOK,
            };
            sender.close_idle().await;
            tokio::select! {
                _ = kick.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
        sender.close().await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let s = Duration::from_secs;
        let got: Vec<u64> = (1..=9)
            .map(|a| backoff(s(30), s(3600), a).as_secs())
            .collect();
        assert_eq!(got, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(s(1), s(2), 100), s(2));
    }
}
