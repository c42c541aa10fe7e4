//! `mailra status` (issue 11): the robot's state on one screen, with a
//! level a monitoring system reads from the exit status. STUB: helper
//! "status" implements it.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

use super::Result;
use crate::ra::Env;

/// How the robot is doing: exit status 0, 1, 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Critical,
}

impl Level {
    pub fn exit_code(self) -> u8 {
        match self {
            Level::Ok => 0,
            Level::Warning => 1,
            Level::Critical => 2,
        }
    }
}

/// Everything `mailra status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub level: Level,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status: {:?}", self.level)
    }
}

/// The state of the instance as of `now`.
pub fn status(_env: &Env, _now: OffsetDateTime) -> Result<Status> {
    Err(super::OpsError::Invalid("status: not built yet".into()))
}
