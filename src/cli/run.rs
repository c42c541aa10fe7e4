//! `process`, `run` and `crl`: the pipeline on mail files, the service, and
//! the CRLs on demand.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use time::OffsetDateTime;

use super::{open_env, print_outcome};
use crate::ra;

/// Runs each mail file through the pipeline, one line (or JSON object) each.
pub(super) fn process(
    dir: &Path,
    json: bool,
    mails: &[PathBuf],
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let mut env = open_env(dir)?;
    let mut failed = false;
    // As the daemon: mails kept during a maintenance that has ended first.
    for o in ra::maintenance::resume(&mut env, now)? {
        print_outcome(&o, json);
    }
    for m in mails {
        let raw = std::fs::read(m).with_context(|| format!("reading {}", m.display()))?;
        match ra::process(&mut env, &raw, &m.display().to_string(), now) {
            Ok(o) => {
                // A file given on the command line stays where it is.
                ra::filed(&env, o.mail_id, "(file)", now)?;
                print_outcome(&o, json)
            }
            Err(e) => {
                failed = true;
                eprintln!("{}: internal error: {e}", m.display());
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The service, until Ctrl-C / SIGTERM (or one pass with `once`).
pub(super) fn daemon(dir: &Path, interval: u64, once: bool) -> Result<ExitCode> {
    let mut env = open_env(dir)?;
    crate::service::daemon::run(
        &mut env,
        std::time::Duration::from_secs(interval.max(1)),
        once,
        |o| super::print_outcome(o, false),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The path of each issuing CA's CRL, made anew when stale.
pub(super) fn crl(dir: &Path, now: OffsetDateTime) -> Result<ExitCode> {
    let mut env = open_env(dir)?;
    for (_, path) in ra::refresh_crl(&mut env, now)? {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
