//! Member institutions and their registration officers, one at a time
//! (the bulk import is `ops::import`). Every change is audited under `by`.

use rusqlite::Connection;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::{OpsError, Result, day};
use crate::model::{Institution, P12Encryption};
use crate::policy;
use crate::store::{self, registry::RegistryWrite};

/// An institution as the registry lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstitutionView {
    pub name: String,
    pub st: String,
    pub l: String,
    pub domains: Vec<String>,
    /// What its S/MIME certificates carry as organizationIdentifier; `None`:
    /// none registered (S/MIME profiles are refused).
    pub organization_identifier: Option<String>,
    /// Its own PKCS#12 encryption; `None`: the instance default
    /// (`mailra.toml [ca] p12_encryption`).
    pub p12_encryption: Option<P12Encryption>,
}

impl From<Institution> for InstitutionView {
    fn from(i: Institution) -> Self {
        InstitutionView {
            name: i.name,
            st: i.st,
            l: i.l,
            domains: i.domains,
            organization_identifier: i.organization_identifier,
            p12_encryption: i.p12_encryption,
        }
    }
}

/// An institution to register (`registry institution add`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewInstitution {
    /// Registered English name (O=).
    pub name: String,
    pub st: String,
    pub l: String,
    pub domains: Vec<String>,
    /// As the secretariat wrote it: `NTRJP-` + the corporate number, or the
    /// bare 13-digit number (stored with `NTRJP-`).
    pub organization_identifier: Option<String>,
    /// `None`: the instance default.
    pub p12_encryption: Option<P12Encryption>,
}

/// A change to a registered institution's settings (`registry institution
/// set`); `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstitutionSettings {
    /// Expiry digests on or off.
    pub expiry_digest: Option<bool>,
    /// `Some(None)` clears the organizationIdentifier; `Some(Some(v))` sets
    /// it (as for [`NewInstitution::organization_identifier`]).
    pub organization_identifier: Option<Option<String>>,
    /// `Some(None)` returns to the instance default.
    pub p12_encryption: Option<Option<P12Encryption>>,
}

impl InstitutionSettings {
    pub fn is_empty(&self) -> bool {
        *self == InstitutionSettings::default()
    }
}

/// The organizationIdentifier to store for what the secretariat wrote
/// (a bare 13-digit corporate number gets `NTRJP-`), or why it is refused.
pub fn organization_identifier(written: &str) -> Result<String> {
    let v = policy::orgid::normalize(written);
    policy::orgid::check_registered(&v).map_err(OpsError::Invalid)?;
    Ok(v)
}

/// A PKCS#12 encryption setting as written: `compatible`, `modern`, or
/// (`Ok(None)`) `default`, the instance's; any case.
pub fn p12_setting(written: &str) -> Result<Option<P12Encryption>> {
    let w = written.trim().to_ascii_lowercase();
    if w == "default" {
        return Ok(None);
    }
    w.parse().map(Some).map_err(|_| {
        OpsError::Invalid(format!(
            "{written:?} is not a PKCS#12 encryption: give compatible (3DES, opens everywhere), modern (AES-256; older Apple, Android and Windows systems refuse it) or default (the instance's, mailra.toml [ca] p12_encryption)"
        ))
    })
}

fn describe_p12(v: Option<P12Encryption>) -> &'static str {
    v.map_or("the instance default", P12Encryption::as_str)
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
/// stand in a server DN, that each domain is a host name and that its
/// organizationIdentifier (if given) is valid; audited.
pub fn add_institution(
    conn: &Connection,
    new: &NewInstitution,
    by: &str,
    now: OffsetDateTime,
) -> Result<InstitutionView> {
    let NewInstitution {
        name,
        st,
        l,
        domains,
        ..
    } = new;
    let mut problems = policy::check_institution_registration(name, st, l, domains);
    let org_id = match new
        .organization_identifier
        .as_deref()
        .map(organization_identifier)
    {
        Some(Err(e)) => {
            problems.push(format!("--org-id: {e}"));
            None
        }
        Some(Ok(v)) => Some(v),
        None => None,
    };
    if !problems.is_empty() {
        return Err(OpsError::Invalid(problems.join("\n")));
    }
    let mut writes = vec![RegistryWrite::AddInstitution {
        name: name.clone(),
        st: st.clone(),
        l: l.clone(),
        domains: domains.clone(),
    }];
    if org_id.is_some() {
        writes.push(RegistryWrite::SetOrganizationIdentifier {
            institution: name.clone(),
            value: org_id.clone(),
        });
    }
    if new.p12_encryption.is_some() {
        writes.push(RegistryWrite::SetP12Encryption {
            institution: name.clone(),
            value: new.p12_encryption,
        });
    }
    let detail = format!(
        "institution {name:?} added (ST={st}, L={l}, {}; organizationIdentifier {}; PKCS#12 encryption {})",
        domains.join(" "),
        org_id.as_deref().unwrap_or("none"),
        describe_p12(new.p12_encryption)
    );
    store::registry::apply(
        conn,
        &writes,
        &store::registry::AuditNote {
            at: now,
            actor: by,
            action: "registry-institution-add",
            detail: &detail,
        },
    )?;
    institution(conn, name)
}

/// One registered institution.
pub fn institution(conn: &Connection, name: &str) -> Result<InstitutionView> {
    Ok(store::institution_by_name(conn, name)?
        .ok_or_else(|| OpsError::NotFound(format!("no institution {name:?}")))?
        .into())
}

pub fn institutions(conn: &Connection) -> Result<Vec<InstitutionView>> {
    Ok(store::institutions(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Changes a registered institution's settings, all or none, in one audited
/// transaction: expiry digests, organizationIdentifier (checked: a
/// corporate number's check digit too), PKCS#12 encryption. Returns the
/// institution as it now is.
pub fn set_institution(
    conn: &Connection,
    name: &str,
    settings: &InstitutionSettings,
    by: &str,
    now: OffsetDateTime,
) -> Result<InstitutionView> {
    if settings.is_empty() {
        return Err(OpsError::Invalid(format!(
            "nothing to change for institution {name:?}"
        )));
    }
    let before = institution(conn, name)?;
    let mut writes = Vec::new();
    let mut changes = Vec::new();
    let institution_name = || name.to_string();
    if let Some(on) = settings.expiry_digest {
        writes.push(RegistryWrite::SetExpiryDigest {
            institution: institution_name(),
            on,
        });
        changes.push(format!("expiry digests {}", if on { "on" } else { "off" }));
    }
    if let Some(v) = &settings.organization_identifier {
        let value = v.as_deref().map(organization_identifier).transpose()?;
        changes.push(format!(
            "organizationIdentifier {} (was {})",
            value.as_deref().unwrap_or("none"),
            before.organization_identifier.as_deref().unwrap_or("none")
        ));
        writes.push(RegistryWrite::SetOrganizationIdentifier {
            institution: institution_name(),
            value,
        });
    }
    if let Some(value) = settings.p12_encryption {
        changes.push(format!(
            "PKCS#12 encryption {} (was {})",
            describe_p12(value),
            describe_p12(before.p12_encryption)
        ));
        writes.push(RegistryWrite::SetP12Encryption {
            institution: institution_name(),
            value,
        });
    }
    let detail = format!("institution {name:?}: {}", changes.join("; "));
    store::registry::apply(
        conn,
        &writes,
        &store::registry::AuditNote {
            at: now,
            actor: by,
            action: "registry-institution-set",
            detail: &detail,
        },
    )?;
    institution(conn, name)
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
    let settings = InstitutionSettings {
        expiry_digest: Some(on),
        ..InstitutionSettings::default()
    };
    set_institution(conn, name, &settings, by, now).map(drop)
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

    #[test]
    fn institution_settings_are_checked_then_written_whole_and_audited() {
        let d = tempfile::tempdir().unwrap();
        let conn = store::open(&d.path().join("t.db")).unwrap();
        let now = datetime!(2025-06-10 08:00 UTC);
        let new = NewInstitution {
            name: "Example University".into(),
            st: "Tokyo".into(),
            l: "Chiyoda-ku".into(),
            domains: vec!["example.ac.jp".into()],
            organization_identifier: Some("９２３４５６７８９０１２３".into()),
            p12_encryption: None,
        };
        let added = add_institution(&conn, &new, "tester", now).unwrap();
        assert_eq!(
            (
                added.organization_identifier.as_deref(),
                added.p12_encryption
            ),
            (Some("NTRJP-9234567890123"), None)
        );
        // A bad organizationIdentifier stops the other changes too.
        let bad = InstitutionSettings {
            expiry_digest: Some(false),
            organization_identifier: Some(Some("NTRJP-9234567890124".into())),
            p12_encryption: Some(Some(P12Encryption::Modern)),
        };
        let e = set_institution(&conn, "Example University", &bad, "tester", now).unwrap_err();
        assert!(e.is_user_mistake(), "{e}");
        assert_eq!(institution(&conn, "Example University").unwrap(), added);
        let clear = InstitutionSettings {
            organization_identifier: Some(None),
            p12_encryption: Some(Some(P12Encryption::Modern)),
            ..InstitutionSettings::default()
        };
        let after = set_institution(&conn, "Example University", &clear, "tester", now).unwrap();
        assert_eq!(
            (after.organization_identifier, after.p12_encryption),
            (None, Some(P12Encryption::Modern))
        );
        let audit: Vec<(String, String)> = store::audit_events(&conn)
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.detail))
            .collect();
        assert_eq!(
            audit,
            [
                (
                    "registry-institution-add".to_string(),
                    "institution \"Example University\" added (ST=Tokyo, L=Chiyoda-ku, example.ac.jp; organizationIdentifier NTRJP-9234567890123; PKCS#12 encryption the instance default)".to_string()
                ),
                (
                    "registry-institution-set".to_string(),
                    "institution \"Example University\": organizationIdentifier none (was NTRJP-9234567890123); PKCS#12 encryption modern (was the instance default)".to_string()
                ),
            ]
        );
        for (written, expected) in [
            ("modern", Ok(Some(P12Encryption::Modern))),
            ("Compatible", Ok(Some(P12Encryption::Compatible))),
            ("default", Ok(None)),
            ("aes", Err(())),
        ] {
            assert_eq!(p12_setting(written).map_err(drop), expected, "{written}");
        }
    }
}
