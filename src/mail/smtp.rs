//! The SMTP transport: sends raw bytes to an envelope through lettre's async
//! SMTP transport, keeping its connection between sends (lettre's pool of
//! one connection, tested with NOOP before reuse and reopened when the server
//! dropped it), so a drain of many replies is one SMTP session, not one per
//! reply. What to send, when to retry and what a failure means for a reply
//! is the sender's business (`service::sender`), not the transport's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::mail::endpoint::{Endpoint, Security, explain_tls};

/// Where and how to connect: plain values, filled from the configuration.
#[derive(Debug, Clone)]
pub struct SmtpParams {
    pub endpoint: Endpoint,
    pub password: Option<String>,
    /// For each SMTP command and the connection.
    pub timeout: Duration,
    /// How long an unused connection is kept open between drains.
    pub idle: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP set-up: {0}")]
    Setup(String),
}

/// A send that did not reach the server's acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// In the operator's terms (TLS problems name the setting that fixes them).
    pub text: String,
    /// The server refused for good (5xx), or the envelope cannot be sent.
    pub permanent: bool,
}

impl SendError {
    fn permanent(text: String) -> SendError {
        SendError {
            text,
            permanent: true,
        }
    }
}

pub struct SmtpTransport {
    /// Always `Some` but inside `Drop`: lettre's pool spawns tasks when it is
    /// dropped, which needs the runtime it was made on.
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    runtime: tokio::runtime::Handle,
    endpoint: Endpoint,
    /// The last send went through, so the connection was alive: a transient
    /// failure now is likely a connection the server closed under us.
    warm: AtomicBool,
}

impl SmtpTransport {
    /// Must be called inside a Tokio runtime: the kept connection lives on it.
    pub fn new(p: &SmtpParams) -> Result<SmtpTransport, SmtpError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| SmtpError::Setup(format!("needs a Tokio runtime: {e}")))?;
        let e = &p.endpoint;
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
            .timeout(Some(p.timeout))
            // One sender, one reply at a time: one connection.
            .pool_config(PoolConfig::new().max_size(1).idle_timeout(p.idle));
        if let (Some(user), Some(pw)) = (&e.user, &p.password) {
            b = b.credentials(Credentials::new(user.clone(), pw.clone()));
        }
        Ok(SmtpTransport {
            transport: Some(b.build()),
            runtime,
            endpoint: e.clone(),
            warm: AtomicBool::new(false),
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// One SMTP transaction of `raw` from `from` to `to`: the server's answer,
    /// or why not. A transient failure right after a successful send (the
    /// server closed the kept connection: a restart, a per-session limit) is
    /// tried once more at once, on a new connection.
    pub async fn send(&self, from: &str, to: &[&str], raw: &[u8]) -> Result<String, SendError> {
        let from = from
            .parse()
            .map_err(|e| SendError::permanent(format!("bad sender {from}: {e}")))?;
        let to = to
            .iter()
            .map(|r| {
                r.parse()
                    .map_err(|e| SendError::permanent(format!("bad recipient {r}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(from), to)
            .map_err(|e| SendError::permanent(format!("envelope: {e}")))?;
        let mut r = self.once(&envelope, raw).await;
        if matches!(&r, Err(e) if !e.permanent) && self.warm.load(Ordering::Relaxed) {
            tracing::debug!(smtp = %self.endpoint, "the kept SMTP connection failed; trying a new one");
            r = self.once(&envelope, raw).await;
        }
        self.warm.store(r.is_ok(), Ordering::Relaxed);
        r
    }

    async fn once(&self, envelope: &Envelope, raw: &[u8]) -> Result<String, SendError> {
        // lettre hands a used connection back to its pool from a spawned
        // task; let it run first, or this send would open a second one.
        tokio::task::yield_now().await;
        let t = self.transport.as_ref().expect("present until dropped");
        match t.send_raw(envelope, raw).await {
            Ok(resp) => Ok(resp.message().collect::<Vec<_>>().join(" ")),
            Err(e) => Err(SendError {
                text: explain_tls("smtp", &e.to_string()),
                permanent: e.is_permanent(),
            }),
        }
    }

    /// Says QUIT on the kept connection (it would otherwise stay open until
    /// the idle time is up or the process ends); waits at most 5 s. The
    /// transport sends nothing after this.
    pub async fn close(&self) {
        if let Some(t) = &self.transport {
            // The last send's connection back in the pool first (see `once`).
            tokio::task::yield_now().await;
            let _ = tokio::time::timeout(Duration::from_secs(5), t.shutdown()).await;
        }
    }
}

impl Drop for SmtpTransport {
    fn drop(&mut self) {
        let _on = self.runtime.enter();
        drop(self.transport.take());
    }
}
