//! The SMTP transport: sends raw bytes to an envelope over lettre's SMTP
//! client, keeping one connection between sends, so a drain of many replies
//! is one SMTP session, not one per reply. A kept connection is tested with
//! NOOP before reuse and replaced when the server dropped it; it is closed
//! after `idle` without use.
//!
//! Why not lettre's pooled `AsyncSmtpTransport`: it opens its sockets with
//! Nagle's algorithm on, and lettre writes the message and the closing
//! `CRLF.CRLF` separately, so every message waited for the server's delayed
//! ACK (40 ms on Linux): 20 replies a second at most, however fast the
//! server (lettre PR #1159, not yet released). Here the socket is opened with
//! `TCP_NODELAY` and handed to lettre's `AsyncSmtpConnection`, which still
//! speaks the protocol (EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA).
//!
//! What to send, when to retry and what a failure means for a reply is the
//! sender's business (`service::sender`), not the transport's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_native_tls::{TlsConnector, TlsStream, native_tls};

use crate::mail::endpoint::{Endpoint, Security, explain_tls, no_starttls};

/// Where and how to connect: plain values, filled from the configuration.
#[derive(Debug, Clone)]
pub struct SmtpParams {
    pub endpoint: Endpoint,
    pub password: Option<String>,
    /// For connecting, and for each transaction.
    pub timeout: Duration,
    /// How long an unused connection is kept open.
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

    fn transient(text: String) -> SendError {
        SendError {
            text,
            permanent: false,
        }
    }
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> SendError {
        SendError {
            text: explain_tls("smtp", &e.to_string()),
            permanent: e.is_permanent(),
        }
    }
}

struct Kept {
    conn: AsyncSmtpConnection,
    since: Instant,
}

pub struct SmtpTransport {
    p: SmtpParams,
    /// For STARTTLS (lettre upgrades the connection).
    starttls: TlsParameters,
    /// For implicit TLS (smtps), set up before lettre sees the stream.
    implicit: TlsConnector,
    kept: Mutex<Option<Kept>>,
    /// The last send went through, so the connection was alive: a transient
    /// failure now is likely a connection the server closed under us.
    warm: AtomicBool,
}

impl SmtpTransport {
    pub fn new(p: &SmtpParams) -> Result<SmtpTransport, SmtpError> {
        let e = &p.endpoint;
        let setup = |what: String| SmtpError::Setup(what);
        let mut starttls = TlsParameters::builder(e.host.clone());
        let mut implicit = native_tls::TlsConnector::builder();
        implicit.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
        if let Some(ca) = &e.ca_file {
            let pem = std::fs::read(ca).map_err(|err| setup(format!("{}: {err}", ca.display())))?;
            for cert in openssl::x509::X509::stack_from_pem(&pem)
                .map_err(|err| setup(format!("{}: {err}", ca.display())))?
            {
                let pem = cert.to_pem().map_err(|err| setup(err.to_string()))?;
                starttls = starttls.add_root_certificate(
                    Certificate::from_pem(&pem).map_err(|err| setup(err.to_string()))?,
                );
                implicit.add_root_certificate(
                    native_tls::Certificate::from_pem(&pem)
                        .map_err(|err| setup(err.to_string()))?,
                );
            }
        }
        Ok(SmtpTransport {
            p: p.clone(),
            starttls: starttls.build().map_err(|err| setup(err.to_string()))?,
            implicit: TlsConnector::from(implicit.build().map_err(|err| setup(err.to_string()))?),
            kept: Mutex::new(None),
            warm: AtomicBool::new(false),
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.p.endpoint
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
            tracing::debug!(smtp = %self.p.endpoint, "the kept SMTP connection failed; trying a new one");
            r = self.once(&envelope, raw).await;
        }
        self.warm.store(r.is_ok(), Ordering::Relaxed);
        r
    }

    async fn once(&self, envelope: &Envelope, raw: &[u8]) -> Result<String, SendError> {
        let mut kept = self.kept.lock().await;
        let mut reused = None;
        if let Some(mut k) = kept.take() {
            let fresh = k.since.elapsed() < self.p.idle;
            if fresh
                && tokio::time::timeout(self.p.timeout, k.conn.test_connected())
                    .await
                    .unwrap_or(false)
            {
                reused = Some(k.conn);
            } else {
                let _ = tokio::time::timeout(self.p.timeout, k.conn.abort()).await;
            }
        }
        let mut conn = match reused {
            Some(c) => c,
            None => self.timed(self.connect()).await?,
        };
        let r = self
            .timed(async { Ok(conn.send(envelope, raw).await?) })
            .await;
        if r.is_ok() && !conn.has_broken() {
            *kept = Some(Kept {
                conn,
                since: Instant::now(),
            });
        }
        r.map(|resp| resp.message().collect::<Vec<_>>().join(" "))
    }

    /// A new connection: TCP without Nagle, TLS as configured, EHLO, AUTH.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let e = &self.p.endpoint;
        let tcp = TcpStream::connect((e.host.as_str(), e.port))
            .await
            .map_err(|err| {
                SendError::transient(format!("Connection error: {err} ({}:{})", e.host, e.port))
            })?;
        tcp.set_nodelay(true)
            .map_err(|err| SendError::transient(format!("Connection error: {err}")))?;
        let hello = ClientId::default();
        let mut conn = match e.security {
            Security::Implicit => {
                let tls = self.implicit.connect(&e.host, tcp).await.map_err(|err| {
                    SendError::transient(explain_tls("smtp", &format!("Connection error: {err}")))
                })?;
                AsyncSmtpConnection::connect_with_transport(Box::new(Tls(tls)), &hello).await?
            }
            Security::StartTls { allow_plaintext } => {
                let mut c =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello).await?;
                if c.can_starttls() {
                    c.starttls(self.starttls.clone(), &hello).await?;
                } else if !allow_plaintext {
                    c.abort().await;
                    return Err(SendError::transient(no_starttls("smtp")));
                }
                c
            }
        };
        if let (Some(user), Some(pw)) = (&e.user, &self.p.password) {
            let creds = Credentials::new(user.clone(), pw.clone());
            if let Err(err) = conn.auth(DEFAULT_MECHANISMS, &creds).await {
                conn.abort().await;
                return Err(err.into());
            }
        }
        Ok(conn)
    }

    async fn timed<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, SendError>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(self.p.timeout, f).await {
            Ok(r) => r,
            Err(_) => Err(SendError::transient(format!(
                "no answer from {} within {:?}",
                self.p.endpoint, self.p.timeout
            ))),
        }
    }

    /// Closes the kept connection (QUIT) if it has not been used for the
    /// idle time; the sender calls this while it waits for work.
    pub async fn close_idle(&self) {
        let mut kept = self.kept.lock().await;
        if kept
            .as_ref()
            .is_some_and(|k| k.since.elapsed() >= self.p.idle)
        {
            self.quit(kept.take()).await;
        }
    }

    /// Closes the kept connection (QUIT), waiting at most 5 s.
    pub async fn close(&self) {
        let k = self.kept.lock().await.take();
        self.quit(k).await;
    }

    async fn quit(&self, k: Option<Kept>) {
        if let Some(mut k) = k {
            let _ = tokio::time::timeout(Duration::from_secs(5), k.conn.quit()).await;
        }
    }
}

/// An implicit-TLS stream as lettre's client takes it.
#[derive(Debug)]
struct Tls(TlsStream<TcpStream>);

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().get_ref().get_ref().peer_addr()
    }
}

impl tokio::io::AsyncRead for Tls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Tls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
