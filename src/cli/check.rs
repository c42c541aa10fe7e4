//! `verify` and `check`: what mailra thinks of a mail's signature and of an
//! application file, without carrying anything out.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use time::OffsetDateTime;

use super::open_env;
use crate::intake::application::AttachmentKind;
use crate::intake::smime;
use crate::policy::forms::{self, Checked};
use crate::ra;
use crate::store;

/// The S/MIME verdict of a mail, each check on its own line, then the
/// `verdict:` line.
pub(super) fn verify(
    dir: &Path,
    mail: &Path,
    at: Option<&str>,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let at = match at {
        Some(t) => OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("--at {t:?} is not an RFC 3339 time"))?,
        None => now,
    };
    let env = open_env(dir)?;
    let raw = std::fs::read(mail).with_context(|| format!("reading {}", mail.display()))?;
    let report = smime::verify(&raw, &env.trust, at);
    // The report does not end its last line.
    println!("{report}");
    let officer = match &report.outcome {
        Ok(v) => store::officer_by_email(&env.conn, &v.signer_email)?,
        Err(_) => None,
    };
    match (&report.outcome, officer) {
        (Ok(v), Some(_)) => {
            println!("ok    officer: {} is a registered officer", v.signer_email);
            println!(
                "verdict: GOOD signature from registered officer {}",
                v.signer_email
            );
            Ok(ExitCode::SUCCESS)
        }
        (Ok(v), None) => {
            println!(
                "FAIL  officer: {} is not a registered officer",
                v.signer_email
            );
            println!("verdict: BAD (officer)");
            Ok(ExitCode::from(1))
        }
        (Err(f), _) => {
            println!("verdict: BAD ({}): {}", f.check.name(), f.reason);
            Ok(ExitCode::from(1))
        }
    }
}

/// Every error and warning of an application file (.tsv/.txt, or a
/// workbook: .xlsx, .xlsm, .xls), checked offline.
pub(super) fn check(file: &Path) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = file.display();
    let ctx = forms::Context::default();
    // Offline: no certificates to look up, so no look-up can fail.
    let checked = if AttachmentKind::of(&name.to_string()) == AttachmentKind::Xlsx {
        // A workbook is read in the same sandboxed child as the robot's.
        let reader = ra::workbook::WorkbookReader::current();
        match ra::workbook::contents(&reader, &name.to_string(), &bytes)? {
            Ok(ra::workbook::Contents::Records(records)) => forms::check(&records, &ctx)?,
            Ok(ra::workbook::Contents::CodeSigning(wb)) => {
                crate::policy::codesign::check_codesign(&wb, &ctx)?
            }
            Err(e) => Checked::unreadable(&e),
        }
    } else {
        forms::check_file(&name.to_string(), &bytes, &ctx)?
    };
    for w in &checked.warnings {
        println!("{name}: warning: {w}");
    }
    for e in &checked.errors {
        println!("{name}: {e}");
    }
    let form = checked
        .kind
        .map(|k| format!("{} {}", k.code(), k.label()))
        .unwrap_or_else(|| "form not recognised".into());
    if checked.errors.is_empty() {
        println!("{name}: {form}: {} row(s), no errors", checked.rows.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{name}: {form}: {} error(s); the file would not be executed",
            checked.errors.len()
        );
        Ok(ExitCode::from(1))
    }
}
