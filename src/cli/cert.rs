//! `cert list/show/revoked`: the issued and imported certificates, and the
//! revocations to hand to a CA whose key this instance does not hold.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::{DirArg, open_db, print_json, print_table, table};
use crate::ops;

#[derive(Subcommand)]
pub(super) enum CertCmd {
    List {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long)]
        json: bool,
    },
    Show {
        #[command(flatten)]
        dir: DirArg,
        /// Serial, decimal or 0x-hex.
        serial: String,
    },
    /// The revoked certificates of one CA: `rsa`, `ec` (what their CRLs
    /// list) or an import CA of `[ca] import_cas` by name (its file name
    /// without extension) — the list the secretariat hands to that CA.
    Revoked {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// One JSON object per revocation.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(what: CertCmd) -> Result<ExitCode> {
    match what {
        CertCmd::List { dir, json } => {
            let certs = ops::cert::list(&open_db(&dir.dir)?)?;
            if json {
                for c in &certs {
                    print_json(c)?;
                }
            } else if certs.is_empty() {
                println!("no certificate has been issued");
            } else {
                let mut t = table(&["serial", "status", "not after", "institution", "subject"]);
                for c in &certs {
                    t.add_row(vec![
                        c.serial.as_str(),
                        c.status,
                        &c.not_after,
                        &c.institution,
                        &c.subject,
                    ]);
                }
                print_table(&t);
            }
        }
        CertCmd::Revoked { dir, ca, json } => {
            let list = ops::cert::revoked(&open_db(&dir.dir)?, &ca)?;
            if json {
                for r in &list {
                    print_json(r)?;
                }
            } else if list.is_empty() {
                println!("no certificate of CA {ca} has been revoked");
            } else {
                let mut t = table(&["serial", "revoked at", "reason", "issuer", "subject"]);
                for r in &list {
                    let reason = format!("{} {}", r.reason_code, r.reason);
                    t.add_row(vec![
                        r.serial.as_str(),
                        &r.revoked_at,
                        &reason,
                        &r.issuer,
                        &r.subject,
                    ]);
                }
                print_table(&t);
            }
        }
        CertCmd::Show { dir, serial } => {
            let c = ops::cert::show(&open_db(&dir.dir)?, &serial)?;
            println!("serial: {} ({})", c.cert.serial, c.cert.serial_decimal);
            println!("subject: {}", c.cert.subject);
            match c.cert.profile {
                Some(p) => println!("profile: {p} ({})", c.cert.kind),
                None => println!("profile: none ({}, imported)", c.cert.kind),
            }
            println!("issuing CA: {} ({})", c.ca_name, c.cert.ca);
            println!("valid: {} to {}", c.cert.not_before, c.cert.not_after);
            match &c.revocation {
                Some(r) => println!(
                    "status: revoked at {} ({} {})",
                    r.revoked_at, r.reason_code, r.reason
                ),
                None => println!("status: valid"),
            }
            if let Some(r) = &c.cert.renewed_from {
                println!("renews: {r}");
            }
            print!("{}", c.pem);
        }
    }
    Ok(ExitCode::SUCCESS)
}
