//! `mailra run`: the robot as a service. Intake is IMAP when `[imap]` is
//! configured, else the Maildir inbox; replies leave by SMTP when `[smtp]` is
//! configured (`service::sender`, on its own thread, draining the outbox table), else as .eml files.
//! The reminder jobs run on a thread of their own (`service::scheduler`).
//! A stop signal (Ctrl-C, SIGTERM) is honoured between mails: the mail in hand
//! is finished and filed first; replies not yet sent stay in the outbox table
//! and go out on the next start.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::ra::{Env, Outcome};

/// Runs the robot until a stop signal (or, with `once`, one pass). Each
/// mail processed is handed to `report` (the CLI prints it).
pub fn run(
    env: &mut Env,
    interval: Duration,
    once: bool,
    report: fn(&Outcome),
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    // Detached: it lives until a signal comes or the process ends.
    std::thread::spawn({
        let stop_tx = stop_tx.clone();
        move || wait_for_signal(stop_tx)
    });
    // The warm key pool: filled while idle, only in a running robot (a
    // one-shot pass generates what it needs).
    if !once && env.keys.capacity() != env.cfg.key_pool {
        env.keys = crate::ca::KeyPool::new(env.cfg.key_pool);
        tracing::info!(keys = env.cfg.key_pool, "warm key pool on");
    }
    let kick = Arc::new(Notify::new());
    let sender = env.cfg.smtp.clone().map(|smtp| {
        let cfg = env.cfg.clone();
        let clock = env.clock.clone();
        let (kick, stop) = (kick.clone(), stop_rx.clone());
        std::thread::spawn(move || super::sender::run(cfg, smtp, clock, kick, stop, once))
    });
    // The reminder jobs: with `once`, one tick here before the intake (no
    // kick: the sender's one last pass, kicked when the intake is done,
    // delivers what it queued too); otherwise their own thread, every
    // `[reminders] interval_minutes`.
    let scheduler = if once {
        if let Err(e) = super::scheduler::tick(env) {
            tracing::error!(error = %e, "reminder jobs");
        }
        None
    } else {
        let cfg = env.cfg.clone();
        let clock = env.clock.clone();
        let (kick, stop) = (kick.clone(), stop_rx.clone());
        Some(std::thread::spawn(move || {
            super::scheduler::run(cfg, clock, kick, stop)
        }))
    };
    let intake = match env.cfg.imap.clone() {
        Some(imap) => rt
            .block_on(super::imap::run(
                env,
                &imap,
                super::imap::Wiring {
                    kick: kick.clone(),
                    stop: stop_rx.clone(),
                    once,
                    report,
                },
            ))
            .map_err(anyhow::Error::from),
        None => rt.block_on(maildir_loop(
            env,
            interval,
            once,
            stop_rx.clone(),
            &kick,
            report,
        )),
    };
    if once {
        // Let the sender deliver what this pass queued, then stop it.
        kick.notify_one();
    } else {
        let _ = stop_tx.send(true);
    }
    if let Some(h) = scheduler {
        match h.join() {
            Ok(Err(e)) => tracing::error!(error = %e, "reminder scheduler failed"),
            Err(_) => tracing::error!("reminder scheduler panicked"),
            Ok(Ok(())) => {}
        }
    }
    if let Some(h) = sender {
        match h.join() {
            Ok(Err(e)) => tracing::error!(error = %e, "SMTP sender failed"),
            Err(_) => tracing::error!("SMTP sender panicked"),
            Ok(Ok(())) => {}
        }
    }
    tracing::info!("stopped");
    intake
}

fn wait_for_signal(stop: watch::Sender<bool>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        #[cfg(unix)]
        {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await.ok();
        tracing::info!("stop requested; finishing the mail in hand");
        let _ = stop.send(true);
    });
}

async fn maildir_loop(
    env: &mut Env,
    interval: Duration,
    once: bool,
    mut stop: watch::Receiver<bool>,
    kick: &Notify,
    report: fn(&Outcome),
) -> anyhow::Result<()> {
    tracing::info!(maildir = %env.cfg.maildir.display(), "watching the Maildir inbox");
    // Replies left in the outbox by a crash are written before anything else.
    env.deliver_local(env.clock.now())?;
    loop {
        let stopped = stop.clone();
        let outcomes = super::maildir::process(env, &|| *stopped.borrow())?;
        super::heartbeat::maildir_pass(env, interval, once);
        for o in &outcomes {
            report(o);
        }
        if !outcomes.is_empty() {
            kick.notify_one();
        }
        if once || *stop.borrow() {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}
