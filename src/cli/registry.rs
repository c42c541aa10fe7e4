//! `registry`: member institutions and registration officers, one by one or
//! imported in bulk from the secretariat's own list.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use time::{Date, OffsetDateTime};

use super::{DirArg, open_db, print_json, print_table, table};
use crate::intake::registry::parse_date;
use crate::ops::{self, OpsError};

/// Who changes the registry from the command line, for the audit log.
const OPERATOR: &str = "operator";

#[derive(Subcommand)]
pub(super) enum RegistryCmd {
    /// Member institutions.
    Institution {
        #[command(subcommand)]
        what: InstitutionCmd,
    },
    /// Registration officers.
    Officer {
        #[command(subcommand)]
        what: OfficerCmd,
    },
    /// Register institutions and officers from a TSV or CSV file (UTF-8 or
    /// Shift_JIS; see the README for the columns). Every row is checked
    /// first; if any is wrong, every error is listed and nothing is written.
    /// Importing the same file again changes nothing.
    Import {
        #[command(flatten)]
        dir: DirArg,
        file: PathBuf,
        /// Check the file and tell what would change, without writing.
        #[arg(long)]
        dry_run: bool,
        /// The summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(super) enum InstitutionCmd {
    Add {
        #[command(flatten)]
        dir: DirArg,
        /// Registered English name (used as O=).
        #[arg(long)]
        name: String,
        #[arg(long)]
        st: String,
        #[arg(long)]
        l: String,
        /// A registered domain (repeat for several).
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
    },
    List {
        #[command(flatten)]
        dir: DirArg,
        /// One JSON object per institution.
        #[arg(long)]
        json: bool,
    },
    Remove {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        name: String,
    },
    /// Change an institution's settings: whether its officers get the expiry
    /// digest (on unless turned off).
    Set {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        name: String,
        /// No expiry digests for this institution.
        #[arg(long, conflicts_with = "digest")]
        no_digest: bool,
        /// Expiry digests again.
        #[arg(long)]
        digest: bool,
    },
}

#[derive(Subcommand)]
pub(super) enum OfficerCmd {
    Add {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        email: String,
        #[arg(long)]
        institution: String,
        /// When the officer was registered (YYYY-MM-DD), if not today: the
        /// rules' `officer_registered_within_days` counts from it.
        #[arg(long, value_parser = date_arg)]
        registered_on: Option<Date>,
    },
    List {
        #[command(flatten)]
        dir: DirArg,
        /// One JSON object per officer.
        #[arg(long)]
        json: bool,
    },
    Remove {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        email: String,
    },
}

fn date_arg(s: &str) -> Result<Date, String> {
    parse_date(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

pub(super) fn run(what: RegistryCmd, now: OffsetDateTime) -> Result<ExitCode> {
    match what {
        RegistryCmd::Institution { what } => institution(what, now)?,
        RegistryCmd::Officer { what } => officer(what, now)?,
        RegistryCmd::Import {
            dir,
            file,
            dry_run,
            json,
        } => return import(&dir, &file, dry_run, json, now),
    }
    Ok(ExitCode::SUCCESS)
}

fn institution(what: InstitutionCmd, now: OffsetDateTime) -> Result<()> {
    match what {
        InstitutionCmd::Add {
            dir,
            name,
            st,
            l,
            domains,
        } => {
            let conn = open_db(&dir.dir)?;
            ops::registry::add_institution(&conn, &name, &st, &l, &domains, OPERATOR, now)?;
            println!("institution {name:?} added");
        }
        InstitutionCmd::List { dir, json } => {
            let list = ops::registry::institutions(&open_db(&dir.dir)?)?;
            if json {
                for i in &list {
                    print_json(i)?;
                }
            } else if list.is_empty() {
                println!("no institution is registered");
            } else {
                let mut t = table(&["institution", "ST", "L", "domains"]);
                for i in &list {
                    t.add_row(vec![
                        i.name.clone(),
                        i.st.clone(),
                        i.l.clone(),
                        i.domains.join(" "),
                    ]);
                }
                print_table(&t);
            }
        }
        InstitutionCmd::Remove { dir, name } => {
            ops::registry::remove_institution(&open_db(&dir.dir)?, &name, OPERATOR, now)?;
            println!("institution {name:?} removed");
        }
        InstitutionCmd::Set {
            dir,
            name,
            no_digest,
            digest,
        } => {
            if !no_digest && !digest {
                anyhow::bail!("nothing to set: give --no-digest or --digest");
            }
            let conn = open_db(&dir.dir)?;
            ops::registry::set_expiry_digest(&conn, &name, digest, OPERATOR, now)?;
            println!(
                "institution {name:?}: expiry digests {}",
                if digest { "on" } else { "off" }
            );
        }
    }
    Ok(())
}

fn officer(what: OfficerCmd, now: OffsetDateTime) -> Result<()> {
    match what {
        OfficerCmd::Add {
            dir,
            email,
            institution,
            registered_on,
        } => {
            let conn = open_db(&dir.dir)?;
            let o = ops::registry::add_officer(
                &conn,
                &email,
                &institution,
                registered_on,
                OPERATOR,
                now,
            )?;
            println!(
                "officer {} added to {:?}, registered on {}",
                o.email, o.institution, o.registered_on
            );
        }
        OfficerCmd::List { dir, json } => {
            let list = ops::registry::officers(&open_db(&dir.dir)?)?;
            if json {
                for o in &list {
                    print_json(o)?;
                }
            } else if list.is_empty() {
                println!("no officer is registered");
            } else {
                let mut t = table(&["officer", "institution", "registered on"]);
                for o in &list {
                    t.add_row(vec![&o.email, &o.institution, &o.registered_on]);
                }
                print_table(&t);
            }
        }
        OfficerCmd::Remove { dir, email } => {
            ops::registry::remove_officer(&open_db(&dir.dir)?, &email, OPERATOR, now)?;
            println!("officer {email} removed");
        }
    }
    Ok(())
}

fn import(
    dir: &DirArg,
    file: &std::path::Path,
    dry_run: bool,
    json: bool,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let conn = open_db(&dir.dir)?;
    let name = file.display();
    match ops::import::import(&conn, &bytes, dry_run, OPERATOR, now) {
        Ok(r) => {
            if json {
                print_json(&r)?;
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{name}: institutions: {} added, {} updated, {} unchanged",
                r.institutions_added, r.institutions_updated, r.institutions_unchanged
            );
            println!(
                "{name}: officers: {} added, {} updated, {} unchanged",
                r.officers_added, r.officers_updated, r.officers_unchanged
            );
            if dry_run {
                println!("{name}: dry run: nothing was written");
            } else if r.changes() == 0 {
                println!("{name}: the registry already matches the file; nothing changed");
            } else {
                println!("{name}: {} change(s) written", r.changes());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(OpsError::Import(errors)) => {
            for e in &errors {
                println!("{name}: {e}");
            }
            println!("{name}: {} error(s); nothing was imported", errors.len());
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
