//! The IMAP transport: a session (plain, STARTTLS or implicit TLS) logged in
//! with async-imap, and the filing primitives the intake needs — fetch a
//! message, move it into a folder (MOVE, or COPY + \Deleted + EXPUNGE
//! without MOVE) with keywords, or into quarantine when the server refuses
//! the folder. What to fetch and where to file it is decided above, in
//! `service::imap`; this module knows nothing of the store or the workflow.

use std::collections::HashSet;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::types::Flag;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_native_tls::{TlsConnector, TlsStream, native_tls};

use crate::mail::endpoint::{Endpoint, Security, explain_tls};
use crate::mail::folder_name as wire;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("connecting to {0}: {1}")]
    Connect(String, String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{}", crate::mail::endpoint::no_starttls("imap"))]
    NoStartTls,
    #[error("login as {user} refused: {error}")]
    Login { user: String, error: String },
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// Plain TCP or TLS, so one session type covers imap://, STARTTLS and imaps://.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type Session = async_imap::Session<Stream>;

pub const NET_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs one IMAP exchange with the network timeout.
pub async fn timed<T, E>(f: impl std::future::Future<Output = Result<T, E>>) -> Result<T, ImapError>
where
    ImapError: From<E>,
{
    match tokio::time::timeout(NET_TIMEOUT, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(ImapError::Timeout(NET_TIMEOUT)),
    }
}

fn tls_connector(e: &Endpoint) -> Result<TlsConnector, ImapError> {
    let mut b = native_tls::TlsConnector::builder();
    if let Some(ca) = &e.ca_file {
        let pem =
            std::fs::read(ca).map_err(|e| ImapError::Tls(format!("{}: {e}", ca.display())))?;
        for c in openssl::x509::X509::stack_from_pem(&pem)
            .map_err(|e| ImapError::Tls(format!("{}: {e}", ca.display())))?
        {
            let pem = c.to_pem().map_err(|e| ImapError::Tls(e.to_string()))?;
            b.add_root_certificate(
                native_tls::Certificate::from_pem(&pem)
                    .map_err(|e| ImapError::Tls(e.to_string()))?,
            );
        }
    }
    Ok(TlsConnector::from(
        b.build().map_err(|e| ImapError::Tls(e.to_string()))?,
    ))
}

/// Connects, secures (implicit TLS or STARTTLS) and logs in as the
/// endpoint's user with `password`.
pub async fn connect(e: &Endpoint, password: &str) -> Result<Session, ImapError> {
    let addr = format!("{}:{}", e.host, e.port);
    let tcp = tokio::time::timeout(NET_TIMEOUT, TcpStream::connect(&addr))
        .await
        .map_err(|_| ImapError::Timeout(NET_TIMEOUT))?
        .map_err(|err| ImapError::Connect(addr.clone(), err.to_string()))?;
    let tls = |tcp| async {
        tls_connector(e)?
            .connect(&e.host, tcp)
            .await
            .map(|s| Stream::Tls(Box::new(s)))
            .map_err(|err| ImapError::Tls(explain_tls("imap", &err.to_string())))
    };
    let client = match e.security {
        Security::Implicit => {
            let mut c = async_imap::Client::new(tls(tcp).await?);
            timed(c.read_response()).await?.ok_or(ImapError::Closed)?;
            c
        }
        Security::StartTls { allow_plaintext } => {
            let mut c = async_imap::Client::new(Stream::Plain(tcp));
            timed(c.read_response()).await?.ok_or(ImapError::Closed)?;
            match timed(c.run_command_and_check_ok("STARTTLS", None)).await {
                Ok(()) => {
                    let Stream::Plain(tcp) = c.into_inner() else {
                        unreachable!("the stream is plain before STARTTLS")
                    };
                    async_imap::Client::new(tls(tcp).await?)
                }
                Err(ImapError::Imap(_)) if allow_plaintext => c,
                Err(ImapError::Imap(_)) => return Err(ImapError::NoStartTls),
                Err(other) => return Err(other),
            }
        }
    };
    let user = e.user.clone().unwrap_or_default();
    match tokio::time::timeout(NET_TIMEOUT, client.login(&user, password)).await {
        Err(_) => Err(ImapError::Timeout(NET_TIMEOUT)),
        Ok(Err((err, _))) => Err(ImapError::Login {
            user,
            error: err.to_string(),
        }),
        Ok(Ok(s)) => Ok(s),
    }
}

/// The keyword of a mail in quarantine.
pub const ERROR_KEYWORD: &str = "mailra-error";

/// Files mails in one session: what the server can do, the folders known to
/// exist, and where mails go that cannot be filed where they should.
pub struct Filer {
    pub can_move: bool,
    uidplus: bool,
    pub quarantine: String,
    folders: HashSet<String>,
    /// Logged once per session.
    keywords_refused: bool,
}

impl Filer {
    pub fn new(quarantine: &str, caps: &async_imap::types::Capabilities) -> Filer {
        Filer {
            can_move: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
            quarantine: quarantine.to_string(),
            folders: HashSet::new(),
            keywords_refused: false,
        }
    }

    /// Moves message `uid` into `folder` with `keywords`, or into quarantine
    /// when the server refuses that folder itself (a name it does not allow,
    /// no rights): trying again could not help, and would hold up every later
    /// mail. Returns where the mail went.
    pub async fn file(
        &mut self,
        s: &mut Session,
        uid: u32,
        folder: &str,
        keywords: &[String],
    ) -> Result<String, ImapError> {
        match self.move_to(s, uid, folder, keywords).await {
            Ok(()) => Ok(folder.to_string()),
            Err(ImapError::Imap(
                async_imap::error::Error::No(e) | async_imap::error::Error::Bad(e),
            )) if folder != self.quarantine => {
                tracing::error!(uid, folder, error = %e, quarantine = %self.quarantine, "the server refused to file the mail there (check the rules); it goes to quarantine");
                let q = self.quarantine.clone();
                self.move_to(s, uid, &q, &[ERROR_KEYWORD.into()]).await?;
                Ok(q)
            }
            Err(e) => Err(e),
        }
    }

    /// MOVE, or COPY + \Deleted + EXPUNGE, into `folder` (created if needed).
    async fn move_to(
        &mut self,
        s: &mut Session,
        uid: u32,
        folder: &str,
        keywords: &[String],
    ) -> Result<(), ImapError> {
        if !self.folders.contains(folder) {
            match timed(s.create(wire(folder))).await {
                Ok(()) => {}
                // Dovecot: NO [ALREADYEXISTS]; others word it differently. A
                // real problem shows up at the MOVE below.
                Err(ImapError::Imap(async_imap::error::Error::No(_))) => {}
                Err(e) => return Err(e),
            }
            self.folders.insert(folder.to_string());
        }
        let set = uid.to_string();
        if !keywords.is_empty() {
            let stored = async {
                let st =
                    timed(s.uid_store(&set, format!("+FLAGS ({})", keywords.join(" ")))).await?;
                timed(st.try_collect::<Vec<_>>()).await
            }
            .await;
            match stored {
                Ok(_) => {}
                // Keywords help the secretariat's mail client; a server that
                // keeps none (or no more) must not stop the filing itself.
                Err(ImapError::Imap(
                    async_imap::error::Error::No(e) | async_imap::error::Error::Bad(e),
                )) => {
                    if !self.keywords_refused {
                        tracing::warn!(error = %e, "the server does not keep the rules' keywords; filing without them");
                        self.keywords_refused = true;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if self.can_move {
            timed(s.uid_mv(&set, wire(folder))).await?;
        } else {
            timed(s.uid_copy(&set, wire(folder))).await?;
            let st = timed(s.uid_store(&set, "+FLAGS (\\Deleted)")).await?;
            timed(st.try_collect::<Vec<_>>()).await?;
            if self.uidplus {
                let st = timed(s.uid_expunge(&set)).await?;
                timed(st.try_collect::<Vec<_>>()).await?;
            } else {
                let st = timed(s.expunge()).await?;
                timed(st.try_collect::<Vec<_>>()).await?;
            }
        }
        Ok(())
    }
}

/// The full bytes of message `uid` in the selected mailbox (None: expunged
/// meanwhile by someone else). The message is not marked \Seen.
pub async fn fetch(s: &mut Session, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
    let mut st = timed(s.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")).await?;
    let mut raw = None;
    while let Some(f) = timed(st.try_next()).await? {
        if f.uid == Some(uid) {
            raw = f.body().map(<[u8]>::to_vec);
        }
    }
    Ok(raw)
}

/// When each of the messages `uids` of the selected mailbox arrived (its
/// INTERNALDATE), by UID; a message expunged meanwhile is left out.
pub async fn arrivals(
    s: &mut Session,
    uids: &[u32],
) -> Result<Vec<(u32, time::OffsetDateTime)>, ImapError> {
    let (Some(first), Some(last)) = (uids.iter().min(), uids.iter().max()) else {
        return Ok(Vec::new());
    };
    let mut st = timed(s.uid_fetch(format!("{first}:{last}"), "(UID INTERNALDATE)")).await?;
    let mut out = Vec::new();
    while let Some(f) = timed(st.try_next()).await? {
        if let (Some(uid), Some(d)) = (f.uid, f.internal_date())
            && uids.contains(&uid)
            && let Ok(t) = time::OffsetDateTime::from_unix_timestamp(d.timestamp())
        {
            out.push((uid, t));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// One message of a folder: its UID, bytes and the robot's `mailra-*` keywords.
pub struct Held {
    pub uid: u32,
    pub raw: Vec<u8>,
    pub keywords: Vec<String>,
}

/// Every message of `folder` (empty when the folder does not exist).
pub async fn fetch_folder(s: &mut Session, folder: &str) -> Result<Vec<Held>, ImapError> {
    let mut out = Vec::new();
    match timed(s.select(wire(folder))).await {
        Ok(_) => {
            let mut st = timed(s.uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])")).await?;
            while let Some(f) = timed(st.try_next()).await? {
                let (Some(uid), Some(body)) = (f.uid, f.body()) else {
                    continue;
                };
                let keywords = f
                    .flags()
                    .filter_map(|fl| match fl {
                        Flag::Custom(k) if k.starts_with("mailra-") => Some(k.to_string()),
                        _ => None,
                    })
                    .collect();
                out.push(Held {
                    uid,
                    raw: body.to_vec(),
                    keywords,
                });
            }
        }
        Err(ImapError::Imap(async_imap::error::Error::No(_))) => {}
        Err(e) => return Err(e),
    }
    Ok(out)
}

/// Removes `keywords` from message `uid` of the selected mailbox.
pub async fn remove_keywords(
    s: &mut Session,
    uid: u32,
    keywords: &[&str],
) -> Result<(), ImapError> {
    if keywords.is_empty() {
        return Ok(());
    }
    let st =
        timed(s.uid_store(uid.to_string(), format!("-FLAGS ({})", keywords.join(" ")))).await?;
    timed(st.try_collect::<Vec<_>>()).await?;
    Ok(())
}

/// Logs out politely, without waiting long for a server that is gone.
pub async fn logout(mut s: Session) {
    let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
}
