//! `review list/approve/reject`: the secretariat decides on held mails
//! (`approve` and `reject` are `applications approve/reject`).

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use time::OffsetDateTime;

use super::{DirArg, open_env, print_json, print_table, table};
use crate::ops;

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
    Approve(super::applications::ApproveArgs),
    /// Refuse a held mail; the officer gets a signed rejection with the reason.
    Reject(super::applications::RejectArgs),
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
        // The same code as `applications approve/reject`: an exact alias.
        ReviewCmd::Approve(a) => super::applications::approve(a, now)?,
        ReviewCmd::Reject(a) => super::applications::reject(a, now)?,
    }
    Ok(ExitCode::SUCCESS)
}
