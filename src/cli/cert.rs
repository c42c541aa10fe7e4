//! `cert list/show/revoked/search/export`: the issued and imported
//! certificates, searched and exported, and the revocations to hand to a CA
//! whose key this instance does not hold.

use std::process::ExitCode;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use time::OffsetDateTime;

use super::{DirArg, open_db, print_json, print_table, table};
use crate::ops;
use crate::render::cert_export::TextEncoding;

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
    /// Certificates by serial, DN fragment, institution, mail, profile, kind,
    /// status or expiry (every filter given must match).
    Search {
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        query: ops::certsearch::CertQuery,
        /// One JSON object per certificate.
        #[arg(long)]
        json: bool,
    },
    /// A search written to a file: TSV (Shift_JIS unless --encoding utf8) or xlsx.
    Export {
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        query: ops::certsearch::CertQuery,
        #[arg(long, value_enum)]
        format: ops::certsearch::ExportFormat,
        /// The TSV's text encoding.
        #[arg(long, value_enum, default_value_t = Encoding::Sjis)]
        encoding: Encoding,
        /// The file to write.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
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

/// `--encoding` of `cert export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Encoding {
    Sjis,
    Utf8,
}

pub(super) fn run(what: CertCmd, now: OffsetDateTime) -> Result<ExitCode> {
    match what {
        CertCmd::Search {
            dir,
            mut query,
            json,
        } => {
            query.at = Some(now);
            let certs = ops::certsearch::search(&open_db(&dir.dir)?, &query)?;
            if json {
                for c in &certs {
                    print_json(c)?;
                }
            } else if certs.is_empty() {
                println!("no certificate matches");
            } else {
                let mut t = table(&[
                    "serial",
                    "status",
                    "profile",
                    "not after",
                    "institution",
                    "subject",
                ]);
                for c in &certs {
                    let profile = c.profile.map(|p| p.to_string()).unwrap_or("-".into());
                    t.add_row(vec![
                        c.serial.as_str(),
                        c.status,
                        &profile,
                        &c.not_after,
                        &c.institution,
                        &c.subject,
                    ]);
                }
                print_table(&t);
                println!("{} certificate(s)", certs.len());
            }
        }
        CertCmd::Export {
            dir,
            mut query,
            format,
            encoding,
            output,
        } => {
            query.at = Some(now);
            let encoding = match encoding {
                Encoding::Sjis => TextEncoding::ShiftJis,
                Encoding::Utf8 => TextEncoding::Utf8,
            };
            let e = ops::certsearch::export(&open_db(&dir.dir)?, &query, format, encoding)?;
            std::fs::write(&output, &e.bytes)
                .with_context(|| format!("writing {}", output.display()))?;
            println!("{} certificate(s) written to {}", e.count, output.display());
        }
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
