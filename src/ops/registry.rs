//! Member institutions and their registration officers, one at a time
//! (the bulk import is `ops::import`). Every change is audited under `by`.

use rusqlite::Connection;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::{OpsError, Result, day};
use crate::policy;
use crate::store;

/// An institution as the registry lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstitutionView {
    pub name: String,
    pub st: String,
    pub l: String,
    pub domains: Vec<String>,
}

/// An officer as the registry lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficerView {
    pub email: String,
    pub institution: String,
    /// `YYYY-MM-DD`.
    pub registered_on: String,
}

impl From<store::registry::OfficerEntry> for OfficerView {
    fn from(e: store::registry::OfficerEntry) -> Self {
        OfficerView {
            email: e.email,
            institution: e.institution,
            registered_on: day(e.registered_at),
        }
    }
}

/// Registers an institution after checking that its name, ST and L can
/// stand in a server DN and that each domain is a host name.
pub fn add_institution(
    conn: &Connection,
    name: &str,
    st: &str,
    l: &str,
    domains: &[String],
    by: &str,
    now: OffsetDateTime,
) -> Result<InstitutionView> {
    let problems = policy::check_institution_registration(name, st, l, domains);
    if !problems.is_empty() {
        return Err(OpsError::Invalid(problems.join("\n")));
    }
    store::add_institution(conn, name, st, l, domains, now)?;
    store::audit(
        conn,
        now,
        by,
        "registry-institution-add",
        None,
        None,
        &format!(
            "institution {name:?} added (ST={st}, L={l}, {})",
            domains.join(" ")
        ),
    )?;
    let i = store::institution_by_name(conn, name)?
        .ok_or_else(|| OpsError::NotFound(format!("no institution {name:?}")))?;
    Ok(InstitutionView {
        name: i.name,
        st: i.st,
        l: i.l,
        domains: i.domains,
    })
}

pub fn institutions(conn: &Connection) -> Result<Vec<InstitutionView>> {
    Ok(store::institutions(conn)?
        .into_iter()
        .map(|i| InstitutionView {
            name: i.name,
            st: i.st,
            l: i.l,
            domains: i.domains,
        })
        .collect())
}

/// Turns an institution's expiry digests on or off (`registry institution
/// set --no-digest` / `--digest`); audited.
pub fn set_expiry_digest(
    conn: &Connection,
    name: &str,
    on: bool,
    by: &str,
    now: OffsetDateTime,
) -> Result<()> {
    store::set_expiry_digest(conn, name, on)?;
    store::audit(
        conn,
        now,
        by,
        "registry-institution-set",
        None,
        None,
        &format!(
            "institution {name:?}: expiry digests {}",
            if on { "on" } else { "off" }
        ),
    )?;
    Ok(())
}

/// Removes an institution that has no officers and no certificates.
pub fn remove_institution(
    conn: &Connection,
    name: &str,
    by: &str,
    now: OffsetDateTime,
) -> Result<()> {
    store::remove_institution(conn, name)?;
    store::audit(
        conn,
        now,
        by,
        "registry-institution-remove",
        None,
        None,
        &format!("institution {name:?} removed"),
    )?;
    Ok(())
}

/// The registration time of an officer registered on `date` (`None`:
/// registered now). A date in the future is refused.
pub fn registration_time(date: Option<Date>, now: OffsetDateTime) -> Result<OffsetDateTime> {
    match date {
        None => Ok(now),
        Some(d) if d > now.to_offset(time::UtcOffset::UTC).date() => Err(OpsError::Invalid(
            format!("the registration date {d} is in the future"),
        )),
        Some(d) => Ok(d.midnight().assume_utc()),
    }
}

/// Registers an officer of a registered institution, as registered on
/// `registered_on` (default: now).
pub fn add_officer(
    conn: &Connection,
    email: &str,
    institution: &str,
    registered_on: Option<Date>,
    by: &str,
    now: OffsetDateTime,
) -> Result<OfficerView> {
    if !policy::is_mail_address(email) {
        return Err(OpsError::Invalid(format!(
            "{email:?} is not a mail address"
        )));
    }
    let at = registration_time(registered_on, now)?;
    store::add_officer(conn, email, institution, at)?;
    store::audit(
        conn,
        now,
        by,
        "registry-officer-add",
        None,
        None,
        &format!(
            "officer {} added to {institution:?}, registered on {}",
            email.trim().to_ascii_lowercase(),
            day(at)
        ),
    )?;
    let entry = store::registry::officer_entry(conn, email.trim())?
        .ok_or_else(|| OpsError::NotFound(format!("no officer {email}")))?;
    Ok(entry.into())
}

pub fn officers(conn: &Connection) -> Result<Vec<OfficerView>> {
    Ok(store::registry::officer_entries(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Ends an officer's authority (the row is kept for the record).
pub fn remove_officer(conn: &Connection, email: &str, by: &str, now: OffsetDateTime) -> Result<()> {
    store::remove_officer(conn, email, now)?;
    store::audit(
        conn,
        now,
        by,
        "registry-officer-remove",
        None,
        None,
        &format!("officer {email} removed"),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn registration_dates() {
        let now = datetime!(2025-06-10 08:00 UTC);
        for (date, expected) in [
            (None, Ok(now)),
            (
                Some(date!(2021 - 04 - 01)),
                Ok(datetime!(2021-04-01 00:00 UTC)),
            ),
            (
                Some(date!(2025 - 06 - 10)),
                Ok(datetime!(2025-06-10 00:00 UTC)),
            ),
            (
                Some(date!(2025 - 06 - 11)),
                Err("the registration date 2025-06-11 is in the future"),
            ),
        ] {
            let got = registration_time(date, now).map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_string), "{date:?}");
        }
    }
}
