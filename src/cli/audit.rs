//! `mailra audit`: the audit trail, as a table or one JSON object per event.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{DirArg, open_db, print_json, print_table, table};
use crate::ops::{self, audit::AuditQuery};

#[derive(Args)]
pub(super) struct AuditArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Only events since DATE (YYYY-MM-DD: from 00:00 JST, UTC+9) or an
    /// RFC 3339 time with offset.
    #[arg(long, value_name = "DATE|TIME")]
    since: Option<String>,
    /// Only events about this mail (an application's ID).
    #[arg(long, value_name = "ID")]
    mail: Option<i64>,
    /// Only events about this certificate (decimal or 0x-hex).
    #[arg(long)]
    serial: Option<String>,
    /// One JSON object per event.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(a: AuditArgs) -> Result<ExitCode> {
    let q = AuditQuery {
        since: a.since.as_deref().map(ops::when::since).transpose()?,
        mail_id: a.mail,
        serial: a.serial,
    };
    let events = ops::audit::events(&open_db(&a.dir.dir)?, &q)?;
    if a.json {
        for e in &events {
            print_json(e)?;
        }
    } else if events.is_empty() {
        println!("no event");
    } else {
        let mut t = table(&["at", "actor", "action", "mail", "serial", "detail"]);
        for e in &events {
            t.add_row(vec![
                e.at.clone(),
                e.actor.clone(),
                e.action.clone(),
                e.mail_id.map_or_else(|| "-".into(), |m| m.to_string()),
                e.serial.clone().unwrap_or_else(|| "-".into()),
                e.detail.clone(),
            ]);
        }
        print_table(&t);
    }
    Ok(ExitCode::SUCCESS)
}
