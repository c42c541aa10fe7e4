//! `mailra report`: the certificates issued, renewed and revoked in a date
//! range as an xlsx workbook, with a progress bar on a terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{DirArg, open_db};
use crate::ops::certsearch::date_arg;
use crate::ops::report::{self, ReportSpec};

#[derive(Args)]
pub(super) struct ReportArgs {
    #[command(flatten)]
    dir: DirArg,
    /// First JST day of the range (YYYY-MM-DD), included.
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    from: time::Date,
    /// Last JST day of the range (YYYY-MM-DD), included.
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    to: time::Date,
    /// Only this institution (its registered name, exactly).
    #[arg(long, value_name = "NAME")]
    institution: Option<String>,
    /// The workbook to write (default: report-FROM-TO.xlsx in the current folder).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(super) fn run(a: ReportArgs) -> Result<ExitCode> {
    let conn = open_db(&a.dir.dir)?;
    let spec = ReportSpec {
        from: a.from,
        to: a.to,
        institution: a.institution,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_message("report");
        b
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let r = report::build(&conn, &spec, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let r = r?;
    let out = a
        .output
        .unwrap_or_else(|| Path::new(&r.file_name).to_path_buf());
    std::fs::write(&out, &r.xlsx).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "issued {}, renewed {}, revoked {} ({} – {} JST): {}",
        r.issued,
        r.renewed,
        r.revoked,
        spec.from,
        spec.to,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
