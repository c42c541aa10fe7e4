//! `mailra applications list/show/approve/reject/delete`: the mails carrying
//! applications, what became of every row, and the secretariat's decisions.
//! `mailra review approve/reject` run the same code (`approve`, `reject`).

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use time::OffsetDateTime;

use super::{DirArg, open_db, open_env, print_json, print_outcome, print_table, table};
use crate::ops::{self, applications::AppFilter};
use crate::ra::Env;

#[derive(Subcommand)]
pub(super) enum ApplicationsCmd {
    /// The application mails, oldest first (deleted ones hidden).
    List {
        #[command(flatten)]
        dir: DirArg,
        /// Only those held for review.
        #[arg(long)]
        held: bool,
        /// Only errored ones (verdict invalid or partial, or a row error).
        #[arg(long)]
        errors: bool,
        /// Only those received since DATE (YYYY-MM-DD: from 00:00 JST, UTC+9)
        /// or an RFC 3339 time with offset.
        #[arg(long, value_name = "DATE|TIME")]
        since: Option<String>,
        /// Only those of officers of this institution (its registered name).
        #[arg(long, value_name = "NAME")]
        institution: Option<String>,
        /// Only those of this officer (mail address).
        #[arg(long, value_name = "MAIL")]
        officer: Option<String>,
        /// One JSON object per application.
        #[arg(long)]
        json: bool,
    },
    /// One application: the mail, every file and row, the replies sent.
    Show {
        #[command(flatten)]
        dir: DirArg,
        /// The application's ID (its mail's number).
        id: i64,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Carry a held application out; the officer gets the normal signed result.
    Approve(ApproveArgs),
    /// Refuse a held application; the officer gets a signed rejection with the reason.
    Reject(RejectArgs),
    /// Delete an errored application that carried nothing out: hidden from
    /// `list`, kept in the database and in the audit log.
    Delete {
        #[command(flatten)]
        dir: DirArg,
        id: i64,
        /// Who deletes, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
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

/// `applications approve ID` and `review approve ID`.
#[derive(Args)]
pub(super) struct ApproveArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The application's ID: its mail's number (`applications list`, `review list`).
    id: i64,
    /// Who approves, for the audit log (default: $USER).
    #[arg(long)]
    by: Option<String>,
}

/// `applications reject ID --reason …` and `review reject ID --reason …`.
#[derive(Args)]
pub(super) struct RejectArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The application's ID: its mail's number.
    id: i64,
    /// The reason, told to the officer.
    #[arg(long)]
    reason: String,
    /// Who rejects, for the audit log (default: $USER).
    #[arg(long)]
    by: Option<String>,
}

/// `applications approve` and `review approve`: the same code.
pub(super) fn approve(a: ApproveArgs, now: OffsetDateTime) -> Result<()> {
    let mut env = open_env(&a.dir.dir)?;
    let o = ops::applications::approve(&mut env, a.id, &super::actor(a.by), now)?;
    print_outcome(&o, false);
    refile_in_imap(&env);
    Ok(())
}

/// `applications reject` and `review reject`: the same code.
pub(super) fn reject(a: RejectArgs, now: OffsetDateTime) -> Result<()> {
    let mut env = open_env(&a.dir.dir)?;
    let o = ops::applications::reject(&mut env, a.id, &a.reason, &super::actor(a.by), now)?;
    print_outcome(&o, false);
    refile_in_imap(&env);
    Ok(())
}

fn or_dash(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

pub(super) fn run(what: ApplicationsCmd, now: OffsetDateTime) -> Result<ExitCode> {
    match what {
        ApplicationsCmd::List {
            dir,
            held,
            errors,
            since,
            institution,
            officer,
            json,
        } => {
            let filter = AppFilter {
                held,
                errors,
                since: since.as_deref().map(ops::when::since).transpose()?,
                institution,
                officer,
            };
            let apps = ops::applications::list(&open_db(&dir.dir)?, &filter)?;
            if json {
                for a in &apps {
                    print_json(a)?;
                }
            } else if apps.is_empty() {
                println!("no application");
            } else {
                let mut t = table(&[
                    "#",
                    "received",
                    "officer",
                    "institution",
                    "verdict",
                    "forms",
                    "files",
                    "rows ok",
                    "errors",
                    "folder",
                    "subject",
                ]);
                for a in &apps {
                    t.add_row(vec![
                        a.id.to_string(),
                        a.received_at.clone(),
                        or_dash(&a.officer.clone().or(a.from.clone())),
                        or_dash(&a.institution),
                        a.verdict.as_str().to_string(),
                        a.forms.join(","),
                        a.files.to_string(),
                        a.rows_ok.to_string(),
                        a.rows_error.to_string(),
                        or_dash(&a.folder),
                        or_dash(&a.subject),
                    ]);
                }
                print_table(&t);
            }
        }
        ApplicationsCmd::Show { dir, id, json } => {
            let d = ops::applications::show(&open_db(&dir.dir)?, id)?;
            if json {
                print_json(&d)?;
            } else {
                print_detail(&d);
            }
        }
        ApplicationsCmd::Approve(a) => approve(a, now)?,
        ApplicationsCmd::Reject(a) => reject(a, now)?,
        ApplicationsCmd::Delete { dir, id, by } => {
            let d = ops::applications::delete(&open_db(&dir.dir)?, id, &super::actor(by), now)?;
            println!(
                "application #{} deleted by {} (kept in the database and the audit log)",
                d.id, d.deleted_by
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_detail(d: &ops::applications::AppDetail) {
    let s = &d.summary;
    let mut lines = vec![
        format!("application #{}", s.id),
        format!("  received:    {}", s.received_at),
        format!("  from:        {}", or_dash(&s.from)),
        format!("  officer:     {}", or_dash(&s.officer)),
        format!("  institution: {}", or_dash(&s.institution)),
        format!("  subject:     {}", or_dash(&s.subject)),
        format!("  message-id:  {}", or_dash(&d.message_id)),
        format!("  verdict:     {}", s.verdict.as_str()),
        format!("  detail:      {}", d.detail),
        format!("  folder:      {}", or_dash(&s.folder)),
        format!(
            "  rule:        {}",
            s.rule.as_deref().unwrap_or("(built-in)")
        ),
    ];
    if let Some(at) = &d.deleted_at {
        lines.push(format!(
            "  deleted:     {at} by {}",
            d.deleted_by.as_deref().unwrap_or("-")
        ));
    }
    println!("{}", lines.join("\n"));
    for f in &d.files {
        println!(
            "\nfile {} (form {}, {})",
            f.name,
            f.form.as_deref().unwrap_or("?"),
            f.status.as_str()
        );
        if f.rows.is_empty() {
            println!("  no row recorded");
            continue;
        }
        let mut t = table(&["line", "outcome", "serial", "detail"]);
        for r in &f.rows {
            t.add_row(vec![
                r.line.to_string(),
                r.outcome.to_string(),
                r.serial.clone().unwrap_or_else(|| "-".into()),
                r.detail.clone(),
            ]);
        }
        print_table(&t);
    }
    if d.files.is_empty() {
        println!("\nno application file recorded");
    }
    if d.replies.is_empty() {
        println!("\nno reply");
        return;
    }
    println!("\nreplies");
    let mut t = table(&["kind", "status", "to", "sent", "subject", "message-id"]);
    for r in &d.replies {
        t.add_row(vec![
            r.kind.clone(),
            r.status.as_str().to_string(),
            r.recipients.join(", "),
            r.sent_at.clone().unwrap_or_else(|| "-".into()),
            r.subject.clone(),
            r.message_id.clone(),
        ]);
    }
    print_table(&t);
}
