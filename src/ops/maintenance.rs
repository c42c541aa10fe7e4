//! `mailra maintenance on|off` (issue 11). STUB: helper "maintenance"
//! implements it.

use std::fmt;

use rusqlite::Connection;
use serde::Serialize;
use time::OffsetDateTime;

use super::Result;

/// Whether maintenance is on, since when, until when, with which message.
#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceState {
    pub on: bool,
}

impl fmt::Display for MaintenanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "maintenance {}", if self.on { "on" } else { "off" })
    }
}

/// Turns maintenance on (a new period) with the message officers are told.
pub fn on(
    _conn: &Connection,
    _message: &str,
    _until: Option<OffsetDateTime>,
    _by: &str,
    _now: OffsetDateTime,
) -> Result<MaintenanceState> {
    Err(super::OpsError::Invalid(
        "maintenance: not built yet".into(),
    ))
}

/// Ends the maintenance period; kept mails are processed by the robot's next pass.
pub fn off(_conn: &Connection, _by: &str, _now: OffsetDateTime) -> Result<MaintenanceState> {
    Err(super::OpsError::Invalid(
        "maintenance: not built yet".into(),
    ))
}

/// The state as of `now` (a period past its `until` is off).
pub fn state(_conn: &Connection, _now: OffsetDateTime) -> Result<MaintenanceState> {
    Ok(MaintenanceState { on: false })
}
