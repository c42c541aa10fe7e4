//! The IMAP intake: reads the robot's mailbox with async-imap, hands each new
//! mail to the RA in UID order, then files it (MOVE, or COPY + \Deleted +
//! EXPUNGE without MOVE) into the folder chosen for it, with keywords.
//!
//! Exactly once: the mailbox position (UIDVALIDITY, last UID) is kept in
//! SQLite and advanced only after a mail is filed; a mail processed but not
//! yet filed when the robot died is recognised by `ra::take` and only filed.
//! A UIDVALIDITY change rescans the mailbox from the start, which is safe for
//! the same reasons (and the signed-content digest guards issuance anyway).
//!
//! Connection trouble (server restart, network, timeouts) ends the session
//! with an error; the caller reconnects with capped exponential backoff and
//! logs each change of state once.

use std::collections::{BTreeMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::types::Flag;
use futures_util::TryStreamExt;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio_native_tls::{TlsConnector, TlsStream, native_tls};

use crate::config::ImapConfig;
use crate::mail::endpoint::{Security, explain_tls};
use crate::mail::folder_name as wire;
use crate::ra::{self, Env, Taken};
use crate::store;

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
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Ra(#[from] ra::RaError),
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

const NET_TIMEOUT: Duration = Duration::from_secs(60);

async fn timed<T, E>(f: impl std::future::Future<Output = Result<T, E>>) -> Result<T, ImapError>
where
    ImapError: From<E>,
{
    match tokio::time::timeout(NET_TIMEOUT, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(ImapError::Timeout(NET_TIMEOUT)),
    }
}

fn tls_connector(cfg: &ImapConfig) -> Result<TlsConnector, ImapError> {
    let mut b = native_tls::TlsConnector::builder();
    if let Some(ca) = &cfg.endpoint.ca_file {
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

/// Connects, secures (implicit TLS or STARTTLS) and logs in.
pub async fn connect(cfg: &ImapConfig) -> Result<Session, ImapError> {
    let e = &cfg.endpoint;
    let addr = format!("{}:{}", e.host, e.port);
    let tcp = tokio::time::timeout(NET_TIMEOUT, TcpStream::connect(&addr))
        .await
        .map_err(|_| ImapError::Timeout(NET_TIMEOUT))?
        .map_err(|err| ImapError::Connect(addr.clone(), err.to_string()))?;
    let tls = |tcp| async {
        tls_connector(cfg)?
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
    let pw = cfg
        .password
        .as_ref()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    match tokio::time::timeout(NET_TIMEOUT, client.login(&user, &pw)).await {
        Err(_) => Err(ImapError::Timeout(NET_TIMEOUT)),
        Ok(Err((err, _))) => Err(ImapError::Login {
            user,
            error: err.to_string(),
        }),
        Ok(Ok(s)) => Ok(s),
    }
}

/// What the intake shares with the rest of the daemon.
pub struct Wiring {
    /// Woken after each mail so the SMTP sender sends its replies at once.
    pub kick: Arc<Notify>,
    pub stop: watch::Receiver<bool>,
    /// Process what is there, then return (no IDLE / polling).
    pub once: bool,
}

/// Connection state across reconnects, so each change is logged once.
#[derive(Default)]
struct Health {
    last_error: Option<String>,
}

/// Runs until stopped: connect, process, wait (IDLE or polling), and on any
/// connection trouble reconnect with backoff (1 s doubling to 60 s).
pub async fn run(env: &mut Env, cfg: &ImapConfig, mut w: Wiring) -> Result<(), ImapError> {
    let mut health = Health::default();
    let mut backoff = Duration::from_secs(1);
    loop {
        if *w.stop.borrow() {
            return Ok(());
        }
        match session(env, cfg, &mut w, &mut health).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                if w.once {
                    return Err(e);
                }
                let msg = e.to_string();
                if health.last_error.as_deref() != Some(msg.as_str()) {
                    tracing::warn!(imap = %cfg.endpoint, error = %msg, "IMAP connection lost; reconnecting with backoff");
                    backoff = Duration::from_secs(1);
                } else {
                    tracing::debug!(imap = %cfg.endpoint, error = %msg, "still failing");
                }
                health.last_error = Some(msg);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = w.stop.changed() => return Ok(()),
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

async fn session(
    env: &mut Env,
    cfg: &ImapConfig,
    w: &mut Wiring,
    health: &mut Health,
) -> Result<(), ImapError> {
    let mut s = connect(cfg).await?;
    let caps = timed(s.capabilities()).await?;
    let idle = caps.has_str("IDLE");
    let mut filer = Filer::new(cfg, &caps);
    if health.last_error.take().is_some() {
        tracing::info!(imap = %cfg.endpoint, "IMAP connection restored");
    } else {
        tracing::info!(imap = %cfg.endpoint, idle, r#move = filer.can_move, "IMAP connected");
    }
    let mailbox = cfg
        .endpoint
        .mailbox
        .clone()
        .unwrap_or_else(|| "INBOX".into());
    loop {
        refile_reviewed(env, &mut s, &mut filer).await?;
        let mb = timed(s.select(wire(&mailbox))).await?;
        let uv = mb.uid_validity.unwrap_or(0);
        let last = match store::imap_position(&env.conn, &mailbox)? {
            Some((v, l)) if v == uv => l,
            Some((v, _)) => {
                tracing::warn!(
                    mailbox,
                    old = v,
                    new = uv,
                    "UIDVALIDITY changed: rescanning; mails already processed are recognised by their content"
                );
                0
            }
            None => 0,
        };
        let found = timed(s.uid_search(format!("UID {}:*", last.saturating_add(1)))).await?;
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        for uid in uids {
            if *w.stop.borrow() {
                break;
            }
            take_one(env, &mut s, &mut filer, (&mailbox, uv, uid), w).await?;
        }
        if *w.stop.borrow() || w.once {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
            return Ok(());
        }
        if idle {
            let mut h = s.idle();
            timed(h.init()).await?;
            let (wait, interrupt) = h.wait_with_timeout(cfg.idle);
            tokio::select! {
                r = wait => { r?; }
                _ = w.stop.changed() => { drop(interrupt); }
            }
            s = timed(h.done()).await?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(cfg.poll) => {}
                _ = w.stop.changed() => {}
            }
        }
    }
}

/// Takes message `uid` of `mailbox` (with UIDVALIDITY `uv`): processes it
/// (or recognises it), files it, and advances the mailbox position.
async fn take_one(
    env: &mut Env,
    s: &mut Session,
    filer: &mut Filer,
    (mailbox, uv, uid): (&str, u32, u32),
    w: &Wiring,
) -> Result<(), ImapError> {
    let raw = {
        let mut st = timed(s.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")).await?;
        let mut raw = None;
        while let Some(f) = timed(st.try_next()).await? {
            if f.uid == Some(uid) {
                raw = f.body().map(<[u8]>::to_vec);
            }
        }
        raw
    };
    let now = OffsetDateTime::now_utc();
    let Some(raw) = raw else {
        // Expunged by someone else meanwhile: nothing to do.
        store::set_imap_position(&env.conn, mailbox, uv, uid, now)?;
        return Ok(());
    };
    let source = format!("imap:{mailbox};UIDVALIDITY={uv};UID={uid}");
    let (folder, keywords, mail_id) = match ra::take(env, &raw, &source, now) {
        Ok((o, taken)) => {
            if taken == Taken::Processed {
                crate::cli::print_outcome(&o, false);
            }
            tracing::info!(
                uid,
                verdict = o.verdict.as_str(),
                resumed = taken == Taken::Resumed,
                "{}",
                o.summary
            );
            crate::fault::point("after-commit");
            w.kick.notify_one();
            if crate::fault::armed("before-move") {
                wait_until_sent(env, o.mail_id).await;
                crate::fault::point("before-move");
            }
            (o.folder, o.keywords, Some(o.mail_id))
        }
        Err(e) => {
            tracing::error!(uid, error = %e, folder = %filer.quarantine, "internal error; the mail is kept in quarantine");
            (filer.quarantine.clone(), vec![ERROR_KEYWORD.into()], None)
        }
    };
    let went = filer.file(s, uid, &folder, &keywords).await?;
    if let Some(id) = mail_id {
        filed(env, id, &folder, &went)?;
    }
    store::set_imap_position(&env.conn, mailbox, uv, uid, OffsetDateTime::now_utc())?;
    Ok(())
}

/// Connects and moves the mails the secretariat reviewed out of the review
/// folder now (`mailra review approve/reject`), instead of at the running
/// robot's next pass. Returns how many were moved.
pub async fn refile_now(env: &Env, cfg: &ImapConfig) -> Result<usize, ImapError> {
    let mut s = connect(cfg).await?;
    let caps = timed(s.capabilities()).await?;
    let n = refile_reviewed(env, &mut s, &mut Filer::new(cfg, &caps)).await?;
    let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
    Ok(n)
}

/// Moves each reviewed mail from the folder it was held in to the folder its
/// outcome chose, replacing the robot's old `mailra-*` keywords with the new
/// keywords. The mail is found by its bytes (a review folder is small).
/// Returns how many were moved.
async fn refile_reviewed(
    env: &Env,
    s: &mut Session,
    filer: &mut Filer,
) -> Result<usize, ImapError> {
    let pending = store::pending_refiles(&env.conn)?;
    let mut moved = 0;
    let mut by_folder: BTreeMap<&str, Vec<&store::Refile>> = BTreeMap::new();
    for r in &pending {
        by_folder.entry(r.from.as_str()).or_default().push(r);
    }
    for (from, group) in by_folder {
        // (uid, sha-256, the robot's keywords) of each mail in the folder.
        let mut present: Vec<(u32, String, Vec<String>)> = Vec::new();
        match timed(s.select(wire(from))).await {
            Ok(_) => {
                let mut st = timed(s.uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])")).await?;
                while let Some(f) = timed(st.try_next()).await? {
                    let (Some(uid), Some(body)) = (f.uid, f.body()) else {
                        continue;
                    };
                    let ours = f
                        .flags()
                        .filter_map(|fl| match fl {
                            Flag::Custom(k) if k.starts_with("mailra-") => Some(k.to_string()),
                            _ => None,
                        })
                        .collect();
                    present.push((uid, ra::sha256_hex(body), ours));
                }
            }
            Err(ImapError::Imap(async_imap::error::Error::No(_))) => {}
            Err(e) => return Err(e),
        }
        for r in group {
            let Some((uid, _, ours)) = present.iter().find(|p| p.1 == r.raw_sha256) else {
                // Recorded as done so it is not looked for at every pass.
                tracing::warn!(mail = r.id, folder = from, to = %r.to, "a reviewed mail is no longer in the folder it was held in (moved by hand?); not refiled");
                ra::filed(env, r.id, &r.to, OffsetDateTime::now_utc())?;
                continue;
            };
            let stale: Vec<&str> = ours
                .iter()
                .filter(|k| !r.keywords.contains(k))
                .map(String::as_str)
                .collect();
            if !stale.is_empty() {
                let st =
                    timed(s.uid_store(uid.to_string(), format!("-FLAGS ({})", stale.join(" "))))
                        .await?;
                timed(st.try_collect::<Vec<_>>()).await?;
            }
            let went = filer.file(s, *uid, &r.to, &r.keywords).await?;
            filed(env, r.id, &r.to, &went)?;
            tracing::info!(mail = r.id, from, to = %went, "refiled after review");
            moved += 1;
        }
    }
    Ok(moved)
}

/// For the `before-move` fault point: lets the sender deliver this mail's
/// replies first (bounded, so a broken SMTP cannot hang a test forever).
async fn wait_until_sent(env: &Env, mail_id: i64) {
    for _ in 0..300 {
        let all_sent = store::outbox_for_mail(&env.conn, mail_id)
            .map(|v| v.iter().all(|m| m.status == "sent"))
            .unwrap_or(false);
        if all_sent {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The keyword of a mail in quarantine.
const ERROR_KEYWORD: &str = "mailra-error";

/// Records where a mail went; `went` differs from `meant` when the server
/// refused the folder and the mail went to quarantine (recorded as its
/// folder too, so it is not refiled at every pass).
fn filed(env: &Env, id: i64, meant: &str, went: &str) -> Result<(), ImapError> {
    if went != meant {
        store::set_mail_folder(&env.conn, id, went)?;
    }
    ra::filed(env, id, went, OffsetDateTime::now_utc())?;
    Ok(())
}

/// Files mails in one session: what the server can do, the folders known to
/// exist, and where mails go that cannot be filed where they should.
struct Filer {
    can_move: bool,
    uidplus: bool,
    quarantine: String,
    folders: HashSet<String>,
    /// Logged once per session.
    keywords_refused: bool,
}

impl Filer {
    fn new(cfg: &ImapConfig, caps: &async_imap::types::Capabilities) -> Filer {
        Filer {
            can_move: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
            quarantine: cfg.quarantine.clone(),
            folders: HashSet::new(),
            keywords_refused: false,
        }
    }

    /// Moves message `uid` into `folder` with `keywords`, or into quarantine
    /// when the server refuses that folder itself (a name it does not allow,
    /// no rights): trying again could not help, and would hold up every later
    /// mail. Returns where the mail went.
    async fn file(
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
