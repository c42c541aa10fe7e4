//! `mailra cert search` / `cert export` (issue 11): certificates found by
//! serial, DN fragment, institution, mail, profile, status and expiry.
//! STUB: helper "search-report" implements it.

use rusqlite::Connection;

use super::Result;
use super::cert::CertView;

/// What to look for; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertQuery {
    pub serial: Option<String>,
}

impl CertQuery {
    /// Reads the words of a mail command (`cert search --cn www --status valid`
    /// without `cert search`): the same options as the command line.
    pub fn from_words(_words: &[&str]) -> std::result::Result<CertQuery, String> {
        Err("cert search: not built yet".into())
    }
}

/// The certificates matching `q`.
pub fn search(_conn: &Connection, _q: &CertQuery) -> Result<Vec<CertView>> {
    Err(super::OpsError::Invalid(
        "cert search: not built yet".into(),
    ))
}
