//! The scheduler: inside `mailra run`, it runs the reminder jobs (2-2-9
//! reminders, expiry digests; `ra::reminders`) and remakes each CRL once
//! half of its validity has passed (`ra::renew_due_crls`) every `[reminders]
//! interval_minutes`, on its own thread and SQLite connection like the
//! sender, so a long IMAP IDLE or a slow relay never delays it. What is due
//! is decided at the injected clock's "now" (`Env::clock`), never by how
//! long the thread slept: tests move a fixed clock and call [`tick`].

use std::sync::Arc;

use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::config::Config;
use crate::ra::reminders::{self, Queued};
use crate::ra::{Env, RaError};

/// Runs the jobs due at the environment's "now" once; returns what was queued.
pub fn tick(env: &Env) -> Result<Vec<Queued>, RaError> {
    let now = env.clock.now();
    // A CRL job that fails is told to the operator and tried at the next
    // tick; it never keeps the reminders from going out.
    match crate::ra::renew_due_crls(env, now) {
        Ok(cas) => {
            for ca in cas {
                tracing::info!(ca = %ca, "CRL remade and published");
            }
        }
        Err(e) => tracing::error!(error = %e, "CRL renewal"),
    }
    let queued = reminders::run_due(env, now)?;
    for q in &queued {
        tracing::info!(kind = q.kind, institution = %q.institution, serials = %q.serials.join(" "), outbox = q.outbox_id, "reminder queued");
    }
    Ok(queued)
}

/// The scheduler's thread: a tick at start, then one every interval until
/// `stop` turns true. Each tick that queued mail kicks the SMTP sender.
pub fn run(
    cfg: Config,
    clock: Arc<dyn Clock>,
    kick: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let interval = cfg.reminders.interval;
    let mut env = Env::open(cfg)?;
    env.clock = clock;
    tracing::info!(every = ?interval, digest_days = env.cfg.reminders.digest_days, "reminder scheduler started");
    rt.block_on(async {
        loop {
            match tick(&env) {
                Ok(q) if !q.is_empty() => kick.notify_one(),
                Ok(_) => {}
                // Told to the operator; the next tick tries again (nothing
                // was recorded for a job whose transaction failed).
                Err(e) => tracing::error!(error = %e, "reminder jobs"),
            }
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => break,
            }
        }
    });
    Ok(())
}
