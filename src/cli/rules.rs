//! `rules check`: the filing rules validated without starting the robot.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::DirArg;
use crate::config::Config;
use crate::ra;

#[derive(Subcommand)]
pub(super) enum RulesCmd {
    /// Validate the instance's rule files (or the given files) without starting.
    Check {
        #[command(flatten)]
        dir: DirArg,
        /// Rule files to check instead of the instance's rules folder.
        files: Vec<PathBuf>,
    },
}

pub(super) fn run(what: RulesCmd) -> Result<ExitCode> {
    match what {
        RulesCmd::Check { dir, files } => check(&dir.dir, &files),
    }
}

fn check(dir: &Path, files: &[PathBuf]) -> Result<ExitCode> {
    let checked = if files.is_empty() {
        let rules_dir = Config::rules_dir(dir)?;
        ra::load_rules(&rules_dir).map(|(r, source)| {
            let from = match source {
                ra::RulesSource::Files(p) => {
                    format!("{} file(s) in {}", p.len(), rules_dir.display())
                }
                ra::RulesSource::BuiltIn => format!(
                    "the built-in defaults ({} does not exist)",
                    rules_dir.display()
                ),
            };
            (r, from)
        })
    } else {
        ra::load_rule_files(files).map(|r| (r, format!("{} file(s)", files.len())))
    };
    match checked {
        Ok((rules, from)) => {
            println!("{} rule(s) from {from}: no errors", rules.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            for line in &e.errors {
                println!("{line}");
            }
            println!(
                "{} error(s); mailra will not start with these rules",
                e.errors.len()
            );
            Ok(ExitCode::from(1))
        }
    }
}
