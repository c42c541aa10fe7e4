//! `outbox list/retry`: the replies waiting, dead or partly refused.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use time::OffsetDateTime;

use super::{DirArg, open_db, print_json, print_table, table};
use crate::ops;

#[derive(Subcommand)]
pub(super) enum OutboxCmd {
    /// Replies not yet delivered (pending and dead) or with refused recipients;
    /// --all adds the other sent ones.
    List {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        all: bool,
        /// One JSON object per reply.
        #[arg(long)]
        json: bool,
    },
    /// Put a dead reply back in line; it is resent unchanged (same Message-ID).
    Retry {
        #[command(flatten)]
        dir: DirArg,
        id: i64,
    },
}

pub(super) fn run(what: OutboxCmd, now: OffsetDateTime) -> Result<ExitCode> {
    match what {
        OutboxCmd::List { dir, all, json } => {
            let rows = ops::outbox::list(&open_db(&dir.dir)?, all)?;
            if json {
                for r in &rows {
                    print_json(r)?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            if rows.is_empty() {
                println!("nothing waiting in the outbox");
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = table(&["#", "status", "tries", "created", "to", "subject"]);
            for r in &rows {
                t.add_row(vec![
                    r.id.to_string(),
                    r.status.to_string(),
                    r.attempts.to_string(),
                    r.created_at.clone(),
                    r.recipients.join(", "),
                    r.subject.clone(),
                ]);
            }
            print_table(&t);
            // What went wrong, below the table: errors are too long for a column.
            for r in &rows {
                if let Some(e) = &r.last_error {
                    println!("#{} last error: {e}", r.id);
                }
                for (addr, error) in &r.refused {
                    println!("#{} refused {addr}: {error}", r.id);
                }
            }
        }
        OutboxCmd::Retry { dir, id } => {
            ops::outbox::retry(&open_db(&dir.dir)?, id, "operator", now)?;
            println!("outbox #{id} queued again; a running `mailra run` sends it within seconds");
        }
    }
    Ok(ExitCode::SUCCESS)
}
