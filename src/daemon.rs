//! `mailra run`: watches the Maildir inbox until told to stop. A stop signal
//! (Ctrl-C, SIGTERM) is honoured between mails: the mail in hand is finished
//! and filed first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

use crate::ra::{self, Env};

pub fn run(env: &mut Env, interval: Duration, once: bool) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    {
        let stop = stop.clone();
        rt.spawn(async move {
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("SIGTERM handler");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            tokio::signal::ctrl_c().await.ok();
            stop.store(true, Ordering::SeqCst);
        });
    }
    tracing::info!(maildir = %env.cfg.maildir.display(), "watching the inbox");
    // Replies left in the outbox by a crash are sent before anything else.
    crate::mail::outbox::drain(&env.conn, &env.cfg.outbox, OffsetDateTime::now_utc())?;
    loop {
        let outcomes = ra::process_maildir(env, OffsetDateTime::now_utc, &|| {
            stop.load(Ordering::SeqCst)
        })?;
        for o in &outcomes {
            crate::cli::print_outcome(o, false);
        }
        if once || stop.load(Ordering::SeqCst) {
            break;
        }
        let until = std::time::Instant::now() + interval;
        while std::time::Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    tracing::info!("stopped");
    Ok(())
}
