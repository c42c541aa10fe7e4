//! `registry`: member institutions and registration officers, one by one or
//! imported in bulk from the secretariat's own list.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use time::{Date, OffsetDateTime};

use super::{DirArg, open_db, print_json, print_table, table};
use crate::intake::registry::parse_date;
use crate::model::P12Encryption;
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
    /// Record certificates already issued (the service's bulk import), so
    /// they can be revoked like the ones mailra issues: PEM files (one or
    /// more certificates; CA certificates in them are taken as the chain),
    /// DER files, or directories of them. Each must chain to the instance's
    /// issuing CAs or to a CA of mailra.toml [ca] import_cas, be unexpired,
    /// carry an EKU (server, client, S/MIME, code signing) and not be in the
    /// store yet. Every problem is listed with its file; the good
    /// certificates are recorded all the same (exit status 1 if any problem).
    ImportCert {
        #[command(flatten)]
        dir: DirArg,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The institution of every certificate (registry ID or name);
        /// without it, each certificate's O= names a registered institution.
        #[arg(long, value_name = "ID|NAME")]
        institution: Option<String>,
        /// Check everything and list what would be recorded, without writing.
        #[arg(long)]
        dry_run: bool,
        /// The report as one JSON object.
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
        /// The organizationIdentifier its S/MIME certificates carry:
        /// NTRJP- and the 13-digit corporate number (法人番号), or the bare
        /// number. Without it, S/MIME profiles (7, 15, 16) are refused.
        #[arg(long = "org-id", value_name = "NTRJP-…")]
        org_id: Option<String>,
        /// Its PKCS#12 encryption, if not the instance default
        /// (mailra.toml [ca] p12_encryption).
        #[arg(long, value_name = "compatible|modern", value_parser = p12_encryption_arg)]
        p12_encryption: Option<P12Encryption>,
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
    /// digest (on unless turned off), its organizationIdentifier, its
    /// PKCS#12 encryption. All given changes are made, or none.
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
        /// Set the organizationIdentifier (NTRJP- and the 13-digit corporate
        /// number, 法人番号, or the bare number).
        #[arg(long = "org-id", value_name = "NTRJP-…", conflicts_with = "no_org_id")]
        org_id: Option<String>,
        /// Clear the organizationIdentifier (S/MIME profiles are then refused).
        #[arg(long = "no-org-id")]
        no_org_id: bool,
        /// compatible, modern, or default (the instance's, mailra.toml [ca]
        /// p12_encryption).
        #[arg(long, value_name = "compatible|modern|default", value_parser = p12_setting_arg)]
        p12_encryption: Option<P12Setting>,
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

/// `--p12-encryption` of `set`: an encryption, or (`None`) the default.
#[derive(Debug, Clone, Copy)]
pub(super) struct P12Setting(Option<P12Encryption>);

fn p12_setting_arg(s: &str) -> Result<P12Setting, String> {
    ops::registry::p12_setting(s)
        .map(P12Setting)
        .map_err(|e| e.to_string())
}

fn p12_encryption_arg(s: &str) -> Result<P12Encryption, String> {
    match p12_setting_arg(s)?.0 {
        Some(e) => Ok(e),
        None => Err(
            "give compatible or modern; without --p12-encryption the instance default applies"
                .into(),
        ),
    }
}

/// An organizationIdentifier for people: `-` when none is registered.
fn org_id_cell(v: Option<&str>) -> String {
    v.unwrap_or("-").to_string()
}

/// A PKCS#12 encryption for people: `default` when the instance's applies.
fn p12_cell(v: Option<P12Encryption>) -> String {
    v.map_or("default", P12Encryption::as_str).to_string()
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
        RegistryCmd::ImportCert {
            dir,
            paths,
            institution,
            dry_run,
            json,
        } => {
            let cfg = crate::config::Config::load(&dir.dir)?;
            let mut conn = crate::store::open(&cfg.database)?;
            let r = ops::certimport::import_certs(
                &mut conn,
                &cfg,
                &paths,
                institution.as_deref(),
                dry_run,
                OPERATOR,
                now,
            )?;
            if json {
                print_json(&r)?;
            } else {
                for c in &r.imported {
                    println!(
                        "{}: {} {} certificate {} of {} ({}, CA {}, until {})",
                        c.file,
                        if dry_run { "would import" } else { "imported" },
                        c.kind,
                        c.serial,
                        c.institution,
                        c.subject,
                        c.ca,
                        c.not_after
                    );
                }
                for p in &r.problems {
                    println!("{}: {}", p.file, p.problem);
                }
                println!(
                    "{} certificate(s) {}, {} problem(s)",
                    r.imported.len(),
                    if dry_run {
                        "would be imported (dry run: nothing was written)"
                    } else {
                        "imported"
                    },
                    r.problems.len()
                );
            }
            return Ok(if r.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
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
            org_id,
            p12_encryption,
        } => {
            let conn = open_db(&dir.dir)?;
            let new = ops::registry::NewInstitution {
                name,
                st,
                l,
                domains,
                organization_identifier: org_id,
                p12_encryption,
            };
            let i = ops::registry::add_institution(&conn, &new, OPERATOR, now)?;
            println!(
                "institution {:?} added (organizationIdentifier {}, PKCS#12 encryption {})",
                i.name,
                org_id_cell(i.organization_identifier.as_deref()),
                p12_cell(i.p12_encryption)
            );
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
                let mut t = table(&[
                    "institution",
                    "ST",
                    "L",
                    "domains",
                    "organizationIdentifier",
                    "PKCS#12",
                ]);
                for i in &list {
                    t.add_row(vec![
                        i.name.clone(),
                        i.st.clone(),
                        i.l.clone(),
                        i.domains.join(" "),
                        org_id_cell(i.organization_identifier.as_deref()),
                        p12_cell(i.p12_encryption),
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
            org_id,
            no_org_id,
            p12_encryption,
        } => {
            let settings = ops::registry::InstitutionSettings {
                expiry_digest: (digest || no_digest).then_some(digest),
                organization_identifier: match (org_id, no_org_id) {
                    (Some(v), _) => Some(Some(v)),
                    (None, true) => Some(None),
                    (None, false) => None,
                },
                p12_encryption: p12_encryption.map(|p| p.0),
            };
            if settings.is_empty() {
                anyhow::bail!(
                    "nothing to set: give --no-digest or --digest, --org-id or --no-org-id, --p12-encryption"
                );
            }
            let conn = open_db(&dir.dir)?;
            let i = ops::registry::set_institution(&conn, &name, &settings, OPERATOR, now)?;
            if let Some(on) = settings.expiry_digest {
                println!(
                    "institution {name:?}: expiry digests {}",
                    if on { "on" } else { "off" }
                );
            }
            if settings.organization_identifier.is_some() {
                println!(
                    "institution {name:?}: organizationIdentifier {}",
                    org_id_cell(i.organization_identifier.as_deref())
                );
            }
            if settings.p12_encryption.is_some() {
                println!(
                    "institution {name:?}: PKCS#12 encryption {}",
                    p12_cell(i.p12_encryption)
                );
            }
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
