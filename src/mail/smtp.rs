//! The SMTP sender: drains the outbox table through lettre's async SMTP
//! transport. A reply is marked sent only after the server accepted it, so a
//! crash in between resends it — unchanged, with the same Message-ID, which
//! mail clients use to show it once. A transient failure is retried with
//! capped exponential backoff; a permanent one (5xx), or `max_attempts`
//! failures, marks the reply dead, visible in `mailra outbox list` until
//! `mailra outbox retry ID`.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rusqlite::Connection;
use time::OffsetDateTime;

use crate::config::SmtpConfig;
use crate::mail::endpoint::{Security, explain_tls};
use crate::store::{self, OutboxMail};

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP set-up: {0}")]
    Setup(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    cfg: SmtpConfig,
    /// The last delivery error, so an outage is logged once, not per reply
    /// and attempt, and its end once.
    last_error: std::cell::RefCell<Option<String>>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

impl SmtpSender {
    pub fn new(cfg: &SmtpConfig) -> Result<SmtpSender, SmtpError> {
        let e = &cfg.endpoint;
        let mut params = TlsParameters::builder(e.host.clone());
        if let Some(ca) = &e.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|err| SmtpError::Setup(format!("{}: {err}", ca.display())))?;
            for cert in openssl::x509::X509::stack_from_pem(&pem)
                .map_err(|err| SmtpError::Setup(format!("{}: {err}", ca.display())))?
            {
                let der = cert
                    .to_pem()
                    .map_err(|err| SmtpError::Setup(err.to_string()))?;
                params = params.add_root_certificate(
                    Certificate::from_pem(&der).map_err(|err| SmtpError::Setup(err.to_string()))?,
                );
            }
        }
        let params = params
            .build()
            .map_err(|err| SmtpError::Setup(err.to_string()))?;
        let tls = match e.security {
            Security::Implicit => Tls::Wrapper(params),
            Security::StartTls {
                allow_plaintext: false,
            } => Tls::Required(params),
            Security::StartTls {
                allow_plaintext: true,
            } => Tls::Opportunistic(params),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(e.host.clone())
            .port(e.port)
            .tls(tls)
            .timeout(Some(cfg.timeout));
        if let (Some(user), Some(pw)) = (&e.user, &cfg.password) {
            b = b.credentials(Credentials::new(user.clone(), pw.0.clone()));
        }
        Ok(SmtpSender {
            transport: b.build(),
            cfg: cfg.clone(),
            last_error: Default::default(),
        })
    }

    /// The wait before attempt `attempts + 1`: min·2^(attempts-1), capped.
    pub fn backoff(&self, attempts: u32) -> Duration {
        backoff(self.cfg.retry_min, self.cfg.retry_max, attempts)
    }

    /// Sends every reply that is due. `stop` is checked between replies.
    pub async fn drain(
        &self,
        conn: &Connection,
        now: impl Fn() -> OffsetDateTime,
        stop: impl Fn() -> bool,
    ) -> Result<Drained, SmtpError> {
        let mut d = Drained::default();
        for m in store::due_outbox(conn, now())? {
            if stop() {
                break;
            }
            crate::fault::hold();
            match self.send(conn, &m).await? {
                Ok(response) => {
                    crate::fault::point("after-smtp-accept");
                    store::mark_sent(conn, m.id, now(), &response)?;
                    if self.last_error.borrow_mut().take().is_some() {
                        tracing::info!(smtp = %self.cfg.endpoint, "SMTP delivery restored");
                    }
                    tracing::info!(outbox = m.id, message_id = %m.message_id, "reply sent");
                    d.sent += 1;
                }
                Err((error, permanent)) => {
                    let attempts = m.attempts as u32 + 1;
                    let dead = permanent || attempts >= self.cfg.max_attempts;
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
                            tracing::warn!(smtp = %self.cfg.endpoint, %error, "SMTP delivery failing; replies wait in the outbox and are retried with backoff");
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
    /// recipient has it and none can be tried again; Err((error, permanent?))
    /// otherwise.
    async fn send(
        &self,
        conn: &Connection,
        m: &OutboxMail,
    ) -> Result<Result<String, (String, bool)>, SmtpError> {
        let remaining = m.remaining();
        if remaining.is_empty() {
            // Every recipient was dealt with before a crash or a transient error.
            return Ok(match m.delivered_to.is_empty() {
                false => Ok("sent to every recipient earlier".into()),
                true => Err(("the server refused every recipient".into(), true)),
            });
        }
        let all = self.transaction(m, &remaining).await;
        if remaining.len() < 2 || !matches!(all, Err((_, true))) {
            return Ok(all);
        }
        let mut answer = None;
        let mut reasons: Vec<String> = Vec::new();
        for r in remaining {
            match self.transaction(m, &[r]).await {
                Ok(a) => {
                    store::recipient_delivered(conn, m.id, r)?;
                    answer = Some(a);
                }
                Err((e, true)) => {
                    tracing::warn!(outbox = m.id, recipient = r, error = %e, "the server refused a recipient; the others get the reply");
                    store::recipient_refused(conn, m.id, r, &e)?;
                    if !reasons.contains(&e) {
                        reasons.push(e);
                    }
                }
                Err(transient) => return Ok(Err(transient)),
            }
        }
        Ok(match answer {
            Some(a) => Ok(a),
            None if !m.delivered_to.is_empty() => Ok("sent to the other recipients earlier".into()),
            // Usually one reason for all (a refused password, a refused message).
            None => Err((reasons.join("; "), true)),
        })
    }

    /// One SMTP transaction to `to`: (error text, permanent?) on failure.
    async fn transaction(&self, m: &OutboxMail, to: &[&str]) -> Result<String, (String, bool)> {
        let from = m
            .from
            .parse()
            .map_err(|e| (format!("bad sender {}: {e}", m.from), true))?;
        let to = to
            .iter()
            .map(|r| {
                r.parse()
                    .map_err(|e| (format!("bad recipient {r}: {e}"), true))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let envelope =
            Envelope::new(Some(from), to).map_err(|e| (format!("envelope: {e}"), true))?;
        match self.transport.send_raw(&envelope, &m.raw).await {
            Ok(resp) => Ok(resp.message().collect::<Vec<_>>().join(" ")),
            Err(e) => Err((explain_tls("smtp", &e.to_string()), e.is_permanent())),
        }
    }
}

pub fn backoff(min: Duration, max: Duration, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    min.saturating_mul(1u32 << exp).min(max)
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
