//! `reminders list/run`: the 2-2-9 reminders and expiry digests.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use time::OffsetDateTime;

use super::{DirArg, open_env, print_json, print_table, table};
use crate::config::Config;
use crate::ops;

#[derive(Subcommand)]
pub(super) enum RemindersCmd {
    /// Open 2-2-9 reminders (renewed certificates whose old one is still
    /// valid: when due, whether sent) and the certificates due for the next
    /// expiry digests.
    List {
        #[command(flatten)]
        dir: DirArg,
        /// One JSON object per reminder.
        #[arg(long)]
        json: bool,
    },
    /// Run the reminder jobs now (as `mailra run` does every interval) and
    /// print what was queued.
    Run {
        #[command(flatten)]
        dir: DirArg,
        /// One JSON object per queued mail.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(what: RemindersCmd, now: OffsetDateTime) -> Result<ExitCode> {
    match what {
        RemindersCmd::List { dir, json } => {
            let cfg = Config::load(&dir.dir)?;
            let conn = crate::store::open(&cfg.database)?;
            let rows = ops::reminders::list(&conn, now, cfg.reminders.digest_days)?;
            if json {
                for r in &rows {
                    print_json(r)?;
                }
            } else if rows.is_empty() {
                println!("no reminder is open");
            } else {
                let mut t = table(&[
                    "kind",
                    "serial",
                    "new serial",
                    "CN",
                    "institution",
                    "due",
                    "state",
                ]);
                for r in &rows {
                    let state = match (r.sent, r.due) {
                        (true, _) => "sent",
                        (false, true) => "due now",
                        (false, false) => "waiting",
                    };
                    t.add_row(vec![
                        r.kind,
                        &r.serial,
                        r.new_serial.as_deref().unwrap_or("-"),
                        &r.cn,
                        &r.institution,
                        &r.due_at,
                        state,
                    ]);
                }
                print_table(&t);
            }
        }
        RemindersCmd::Run { dir, json } => {
            let env = open_env(&dir.dir)?;
            let queued = ops::reminders::run(&env, now)?;
            if json {
                for q in &queued {
                    print_json(q)?;
                }
            } else if queued.is_empty() {
                println!("no reminder was due");
            } else {
                for q in &queued {
                    println!(
                        "queued {} for {} ({}) to {}{} as outbox #{}",
                        q.kind,
                        q.institution,
                        q.serials.join(" "),
                        q.to.join(", "),
                        if q.cc.is_empty() {
                            String::new()
                        } else {
                            format!(", cc {}", q.cc.join(", "))
                        },
                        q.outbox_id
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
