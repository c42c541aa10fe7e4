//! `cert list/show`: the issued certificates.

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
        CertCmd::Show { dir, serial } => {
            let c = ops::cert::show(&open_db(&dir.dir)?, &serial)?;
            println!("serial: {} ({})", c.cert.serial, c.cert.serial_decimal);
            println!("subject: {}", c.cert.subject);
            println!("profile: {}", c.cert.profile);
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
