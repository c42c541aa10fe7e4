//! `mailra status`: the robot's state on one screen (or one JSON object),
//! with the exit status a monitoring system reads: 0 ok, 1 warning,
//! 2 critical (`ops::status`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use time::OffsetDateTime;

use super::{open_env, print_json};
use crate::ops;

pub(super) fn run(dir: &Path, json: bool, now: OffsetDateTime) -> Result<ExitCode> {
    let s = ops::status::status(&open_env(dir)?, now)?;
    if json {
        print_json(&s)?;
    } else {
        print!("{s}");
    }
    Ok(ExitCode::from(s.level.exit_code()))
}
