//! `maintenance [show]`, `maintenance on --message … [--until …]` and
//! `maintenance off`: maintenance mode, for the secretariat.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use time::OffsetDateTime;

use super::{DirArg, open_db, print_json};
use crate::ops::maintenance::{self, MaintenanceState};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct MaintenanceArgs {
    #[command(subcommand)]
    what: Option<MaintenanceCmd>,
    /// Without a subcommand: the state, as `show` prints it.
    #[command(flatten)]
    show: ShowArgs,
}

#[derive(Args, Clone)]
pub(super) struct ShowArgs {
    #[command(flatten)]
    dir: DirArg,
    /// One JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub(super) enum MaintenanceCmd {
    /// Whether maintenance is on, since when, until when, the message, and
    /// how many mails are kept.
    Show(ShowArgs),
    /// Turn maintenance on: new mails are kept (in the folder `Maintenance`)
    /// and each officer is told once, with the message; when already on,
    /// the message and end time are changed.
    On {
        #[command(flatten)]
        show: ShowArgs,
        /// What the officers are told.
        #[arg(long)]
        message: String,
        /// When maintenance ends by itself: RFC 3339, or `YYYY-MM-DD HH:MM` (Japan time).
        #[arg(long)]
        until: Option<String>,
        /// Who turns it on, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Turn maintenance off: the robot's next pass processes the kept mails
    /// in arrival order.
    Off {
        #[command(flatten)]
        show: ShowArgs,
        /// Who turns it off, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
}

fn print(s: &MaintenanceState, json: bool) -> Result<()> {
    if json {
        print_json(s)
    } else {
        println!("{s}");
        Ok(())
    }
}

fn dir(show: &ShowArgs) -> &PathBuf {
    &show.dir.dir
}

pub(super) fn run(args: MaintenanceArgs, now: OffsetDateTime) -> Result<ExitCode> {
    match args.what {
        None => {
            let conn = open_db(dir(&args.show))?;
            print(&maintenance::state(&conn, now)?, args.show.json)?;
        }
        Some(MaintenanceCmd::Show(show)) => {
            let conn = open_db(dir(&show))?;
            print(&maintenance::state(&conn, now)?, show.json)?;
        }
        Some(MaintenanceCmd::On {
            show,
            message,
            until,
            by,
        }) => {
            let until = until.as_deref().map(maintenance::parse_until).transpose()?;
            let conn = open_db(dir(&show))?;
            print(
                &maintenance::on(&conn, &message, until, &super::actor(by), now)?,
                show.json,
            )?;
        }
        Some(MaintenanceCmd::Off { show, by }) => {
            let conn = open_db(dir(&show))?;
            print(&maintenance::off(&conn, &super::actor(by), now)?, show.json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
