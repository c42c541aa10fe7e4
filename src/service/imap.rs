//! The IMAP intake loop: reads the robot's mailbox, hands each new mail to
//! the RA in UID order, then files it (through `mail::imap`) into the folder
//! chosen for it, with keywords.
//!
//! Exactly once: the mailbox position (UIDVALIDITY, last UID) is kept in
//! SQLite and advanced only after a mail is filed; a mail processed but not
//! yet filed when the robot died is recognised by `ra::take` and only filed.
//! A UIDVALIDITY change rescans the mailbox from the start, which is safe for
//! the same reasons (and the signed-content digest guards issuance anyway).
//!
//! Connection trouble (server restart, network, timeouts) ends the session
//! with an error; the loop reconnects with capped exponential backoff and
//! logs each change of state once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::ServiceError;
use crate::config::ImapConfig;
use crate::mail::folder_name as wire;
use crate::mail::imap::{self as transport, ERROR_KEYWORD, Filer, ImapError, Session, timed};
use crate::ra::{self, Env, Outcome, Taken};
use crate::store;

async fn connect(cfg: &ImapConfig) -> Result<Session, ImapError> {
    let pw = cfg.password.as_ref().map(|p| p.0.as_str()).unwrap_or("");
    transport::connect(&cfg.endpoint, pw).await
}

/// What the intake shares with the rest of the daemon.
pub struct Wiring {
    /// Woken after each mail so the SMTP sender sends its replies at once.
    pub kick: Arc<Notify>,
    pub stop: watch::Receiver<bool>,
    /// Process what is there, then return (no IDLE / polling).
    pub once: bool,
    /// Told of each mail processed (the CLI prints it).
    pub report: fn(&Outcome),
}

/// Connection state across reconnects, so each change is logged once.
#[derive(Default)]
struct Health {
    last_error: Option<String>,
}

/// Runs until stopped: connect, process, wait (IDLE or polling), and on any
/// connection trouble reconnect with backoff (1 s doubling to 60 s).
pub async fn run(env: &mut Env, cfg: &ImapConfig, mut w: Wiring) -> Result<(), ServiceError> {
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
) -> Result<(), ServiceError> {
    let mut s = connect(cfg).await?;
    let caps = timed(s.capabilities()).await?;
    let idle = caps.has_str("IDLE");
    let mut filer = Filer::new(&cfg.quarantine, &caps);
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
        // Mails kept during a maintenance that has ended go first, in order
        // (moved out of the holding folder by the refiling below).
        for o in ra::maintenance::resume(env, env.clock.now())? {
            (w.report)(&o);
            w.kick.notify_one();
        }
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
        let took_some = !uids.is_empty();
        let every = if idle { cfg.idle } else { cfg.poll };
        let mut beat = super::heartbeat::ImapPass::start(env, &mut s, &uids, every, w.once).await;
        for uid in uids {
            if *w.stop.borrow() {
                break;
            }
            take_one(env, &mut s, &mut filer, (&mailbox, uv, uid), w).await?;
            beat.taken(env, uid);
        }
        if *w.stop.borrow() || w.once {
            transport::logout(s).await;
            return Ok(());
        }
        // The server announces a mail that arrives while others are being
        // taken with an EXISTS in the middle of those commands, never again
        // in the IDLE that follows: look again until a pass finds nothing
        // new, and only then wait. The announcements themselves are
        // drained so their bounded channel never fills.
        while s.unsolicited_responses.try_recv().is_ok() {}
        if took_some {
            continue;
        }
        if idle {
            // During maintenance, look every minute for its end.
            let idle_for = if ra::maintenance::pending(&env.conn)? {
                cfg.idle.min(Duration::from_secs(60))
            } else {
                cfg.idle
            };
            let mut h = s.idle();
            timed(h.init()).await?;
            let (wait, interrupt) = h.wait_with_timeout(idle_for);
            tokio::select! {
                r = wait => { r.map_err(ImapError::from)?; }
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
) -> Result<(), ServiceError> {
    let raw = transport::fetch(s, uid).await?;
    let now = env.clock.now();
    let Some(raw) = raw else {
        // Expunged by someone else meanwhile: nothing to do.
        store::set_imap_position(&env.conn, mailbox, uv, uid, now)?;
        return Ok(());
    };
    let source = format!("imap:{mailbox};UIDVALIDITY={uv};UID={uid}");
    let (folder, keywords, mail_id) = match ra::take(env, &raw, &source, now) {
        Ok((o, taken)) => {
            if taken == Taken::Processed {
                (w.report)(&o);
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
    crate::fault::pause("before-file");
    let went = filer.file(s, uid, &folder, &keywords).await?;
    if let Some(id) = mail_id {
        filed(env, id, &folder, &went)?;
    }
    store::set_imap_position(&env.conn, mailbox, uv, uid, env.clock.now())?;
    Ok(())
}

/// Connects and moves the mails the secretariat reviewed out of the review
/// folder now (`mailra review approve/reject`), instead of at the running
/// robot's next pass. Returns how many were moved.
pub async fn refile_now(env: &Env, cfg: &ImapConfig) -> Result<usize, ServiceError> {
    let mut s = connect(cfg).await?;
    let caps = timed(s.capabilities()).await?;
    let n = refile_reviewed(env, &mut s, &mut Filer::new(&cfg.quarantine, &caps)).await?;
    transport::logout(s).await;
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
) -> Result<usize, ServiceError> {
    let pending = store::pending_refiles(&env.conn)?;
    let mut moved = 0;
    let mut by_folder: BTreeMap<&str, Vec<&store::Refile>> = BTreeMap::new();
    for r in &pending {
        by_folder.entry(r.from.as_str()).or_default().push(r);
    }
    for (from, group) in by_folder {
        let present: Vec<(transport::Held, String)> = transport::fetch_folder(s, from)
            .await?
            .into_iter()
            .map(|h| {
                let sha = ra::sha256_hex(&h.raw);
                (h, sha)
            })
            .collect();
        for r in group {
            let Some((held, _)) = present.iter().find(|p| p.1 == r.raw_sha256) else {
                // Recorded as done so it is not looked for at every pass.
                tracing::warn!(mail = r.id, folder = from, to = %r.to, "a reviewed mail is no longer in the folder it was held in (moved by hand?); not refiled");
                ra::filed(env, r.id, &r.to, env.clock.now())?;
                continue;
            };
            let stale: Vec<&str> = held
                .keywords
                .iter()
                .filter(|k| !r.keywords.contains(k))
                .map(String::as_str)
                .collect();
            transport::remove_keywords(s, held.uid, &stale).await?;
            let went = filer.file(s, held.uid, &r.to, &r.keywords).await?;
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
            .map(|v| v.iter().all(|m| m.status == store::OutboxStatus::Sent))
            .unwrap_or(false);
        if all_sent {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Records where a mail went; `went` differs from `meant` when the server
/// refused the folder and the mail went to quarantine (recorded as its
/// folder too, so it is not refiled at every pass).
fn filed(env: &Env, id: i64, meant: &str, went: &str) -> Result<(), ServiceError> {
    if went != meant {
        store::set_mail_folder(&env.conn, id, went)?;
    }
    ra::filed(env, id, went, env.clock.now())?;
    Ok(())
}
