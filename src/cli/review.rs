//! `review list/approve/reject`: the secretariat decides on held mails.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use time::OffsetDateTime;

use super::{DirArg, open_env, print_json, print_outcome, print_table, table};
use crate::ops;
use crate::ra::Env;

#[derive(Subcommand)]
pub(super) enum ReviewCmd {
    /// The mails waiting for review.
    List {
        #[command(flatten)]
        dir: DirArg,
        /// One JSON object per mail.
        #[arg(long)]
        json: bool,
    },
    /// Carry a held mail out; the officer gets the normal signed result.
    Approve {
        #[command(flatten)]
        dir: DirArg,
        /// The mail number (`review list`).
        id: i64,
        /// Who approves, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Refuse a held mail; the officer gets a signed rejection with the reason.
    Reject {
        #[command(flatten)]
        dir: DirArg,
        id: i64,
        /// The reason, told to the officer.
        #[arg(long)]
        reason: String,
        /// Who rejects, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
}

/// The reviewer's name for the audit log.
fn reviewer(by: Option<String>) -> String {
    let who = by
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty());
    match who {
        Some(w) => format!("secretariat ({})", w.trim()),
        None => "secretariat".into(),
    }
}

/// After a review, moves the mail out of the IMAP review folder at once; if
/// the server cannot be reached, the running robot does it at its next pass.
fn refile_in_imap(env: &Env) {
    let Some(imap) = &env.cfg.imap else {
        return;
    };
    let moved = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| Ok(rt.block_on(crate::service::imap::refile_now(env, imap))?));
    match moved {
        Ok(n) if n > 0 => println!("moved out of the review folder in IMAP"),
        Ok(_) => {}
        Err(e) => eprintln!(
            "note: the mail stays in the review folder until the robot's next pass (IMAP: {e})"
        ),
    }
}

pub(super) fn run(what: ReviewCmd, now: OffsetDateTime) -> Result<ExitCode> {
    match what {
        ReviewCmd::List { dir, json } => {
            let held = ops::review::held(&open_env(&dir.dir)?)?;
            if json {
                for m in &held {
                    print_json(m)?;
                }
            } else if held.is_empty() {
                println!("no mail is held for review");
            } else {
                let mut t = table(&[
                    "#", "received", "from", "forms", "rule", "subject", "detail",
                ]);
                for m in &held {
                    t.add_row(vec![
                        m.id.to_string(),
                        m.received_at.clone(),
                        m.from.clone().unwrap_or_else(|| "-".into()),
                        m.forms.join(","),
                        m.rule.clone().unwrap_or_else(|| "-".into()),
                        m.subject.clone().unwrap_or_else(|| "-".into()),
                        m.detail.clone(),
                    ]);
                }
                print_table(&t);
            }
        }
        ReviewCmd::Approve { dir, id, by } => {
            let mut env = open_env(&dir.dir)?;
            let o = ops::review::approve(&mut env, id, &reviewer(by), now)?;
            print_outcome(&o, false);
            refile_in_imap(&env);
        }
        ReviewCmd::Reject {
            dir,
            id,
            reason,
            by,
        } => {
            let mut env = open_env(&dir.dir)?;
            let o = ops::review::reject(&mut env, id, &reason, &reviewer(by), now)?;
            print_outcome(&o, false);
            refile_in_imap(&env);
        }
    }
    Ok(ExitCode::SUCCESS)
}
