//! The bulk import of institutions and officers (`mailra registry import`).
//!
//! The file is parsed by `intake::registry`; here every row is checked
//! against policy, against the other rows and against the registry, and
//! every error is reported with its line before anything is written. Then
//! all changes are written in one transaction. Importing the same file again
//! changes nothing: rows that match the registry count as unchanged.
//!
//! What the registry holds wins where a difference would change what
//! certificates say: a different ST, L or organizationIdentifier of a
//! registered institution is an error (an organizationIdentifier is changed
//! deliberately, with `registry institution set --org-id`; one is added to an
//! institution that has none). A different PKCS#12 encryption, a preference,
//! is updated, as is an officer's registration date. An empty cell changes
//! nothing.

use std::collections::HashMap;

use rusqlite::Connection;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::registry::registration_time;
use super::{OpsError, Result, day};
use crate::intake::registry::{self as file, Column, ImportError, Row};
use crate::model::P12Encryption;
use crate::policy;
use crate::store::{self, registry::RegistryWrite};

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub institutions_added: usize,
    /// Registered institutions that got new domains, their
    /// organizationIdentifier or another PKCS#12 encryption.
    pub institutions_updated: usize,
    pub institutions_unchanged: usize,
    pub officers_added: usize,
    /// Registered officers whose registration date was corrected.
    pub officers_updated: usize,
    pub officers_unchanged: usize,
    /// Nothing was written: the file was only checked.
    pub dry_run: bool,
}

impl ImportReport {
    pub fn changes(&self) -> usize {
        self.institutions_added
            + self.institutions_updated
            + self.officers_added
            + self.officers_updated
    }
}

/// Checks the file and, unless `dry_run`, writes it. An error in any row
/// is [`OpsError::Import`] with every error found, and nothing is written.
pub fn import(
    conn: &Connection,
    bytes: &[u8],
    dry_run: bool,
    by: &str,
    now: OffsetDateTime,
) -> Result<ImportReport> {
    let (writes, mut report) = plan(conn, bytes, now)?;
    report.dry_run = dry_run;
    if !dry_run && !writes.is_empty() {
        let detail = format!(
            "registry import: {} institution(s) added, {} updated; {} officer(s) added, {} updated",
            report.institutions_added,
            report.institutions_updated,
            report.officers_added,
            report.officers_updated
        );
        store::registry::apply(
            conn,
            &writes,
            &store::registry::AuditNote {
                at: now,
                actor: by,
                action: "registry-import",
                detail: &detail,
            },
        )?;
    }
    Ok(report)
}

/// The writes a file calls for, or every error in it.
pub fn plan(
    conn: &Connection,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<(Vec<RegistryWrite>, ImportReport)> {
    let (rows, mut errors) = file::read(bytes);
    let mut report = ImportReport::default();
    let mut writes = Vec::new();
    institutions(conn, &rows, &mut writes, &mut report, &mut errors)?;
    officers(conn, &rows, now, &mut writes, &mut report, &mut errors)?;
    if errors.is_empty() {
        Ok((writes, report))
    } else {
        errors.sort_by_key(|e| e.line);
        Err(OpsError::Import(errors))
    }
}

/// The one value a column has over an institution's rows; a second,
/// different value is an error on its line.
fn one_value(
    rows: &[&Row],
    col: Column,
    get: impl Fn(&Row) -> Option<String>,
    errors: &mut Vec<ImportError>,
) -> Option<(String, usize)> {
    let mut first: Option<(String, usize)> = None;
    for r in rows {
        let Some(v) = get(r) else { continue };
        match &first {
            None => first = Some((v, r.line)),
            Some((f, line)) if *f != v => errors.push(ImportError::new(
                r.line,
                Some(col),
                format!("{v:?} differs from {f:?} on line {line} for the same institution"),
            )),
            Some(_) => {}
        }
    }
    first
}

fn institutions(
    conn: &Connection,
    rows: &[Row],
    writes: &mut Vec<RegistryWrite>,
    report: &mut ImportReport,
    errors: &mut Vec<ImportError>,
) -> Result<()> {
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Vec<&Row>> = HashMap::new();
    for r in rows {
        let g = groups.entry(&r.institution).or_default();
        if g.is_empty() {
            order.push(&r.institution);
        }
        g.push(r);
    }
    // Domain → (institution, line), across the file.
    let mut claimed: HashMap<&str, (&str, usize)> = HashMap::new();
    for name in order {
        let group = &groups[name];
        let first = group[0].line;
        let st = one_value(group, Column::St, |r| r.st.clone(), errors);
        let l = one_value(group, Column::L, |r| r.l.clone(), errors);
        let org_id = organization_identifier(group, errors);
        let p12 = one_value(
            group,
            Column::P12Encryption,
            |r| r.p12_encryption.map(|e| e.to_string()),
            errors,
        )
        .and_then(|(v, _)| v.parse::<P12Encryption>().ok());
        let mut domains: Vec<(&str, usize)> = Vec::new();
        for r in group {
            for d in &r.domains {
                if !domains.iter().any(|(x, _)| x == d) {
                    domains.push((d, r.line));
                }
            }
        }
        for (d, line) in &domains {
            match claimed.get(d) {
                Some((other, at)) => errors.push(ImportError::new(
                    *line,
                    Some(Column::Domains),
                    format!("domain {d} is also given to {other:?} on line {at}"),
                )),
                None => {
                    claimed.insert(*d, (name, *line));
                }
            }
        }
        let registered = store::institution_by_name(conn, name)?;
        let new_domains: Vec<(&str, usize)> = domains
            .iter()
            .filter(|(d, _)| {
                registered
                    .as_ref()
                    .is_none_or(|i| !i.domains.iter().any(|x| x == d))
            })
            .copied()
            .collect();
        for (d, line) in &new_domains {
            if let Err(e) = policy::dn::check_fqdn(d, 64) {
                errors.push(ImportError::new(
                    *line,
                    Some(Column::Domains),
                    format!("{d}: {e}"),
                ));
            }
            if let Some(owner) = store::registry::domain_owner(conn, d)?
                && owner != name
            {
                errors.push(ImportError::new(
                    *line,
                    Some(Column::Domains),
                    format!("domain {d} is already registered to {owner:?}"),
                ));
            }
        }
        let new_domains: Vec<String> = new_domains.iter().map(|(d, _)| d.to_string()).collect();
        match registered {
            Some(i) => {
                for (col, given, stored) in [(Column::St, &st, &i.st), (Column::L, &l, &i.l)] {
                    if let Some((v, line)) = given
                        && v != stored
                    {
                        errors.push(ImportError::new(
                            *line,
                            Some(col),
                            format!(
                                "institution {name:?} is registered with {} {stored:?}, not {v:?}",
                                col.label()
                            ),
                        ));
                    }
                }
                let before = writes.len();
                if !new_domains.is_empty() {
                    writes.push(RegistryWrite::AddDomains {
                        institution: name.to_string(),
                        domains: new_domains,
                    });
                }
                match (&org_id, &i.organization_identifier) {
                    (Some((v, _)), None) => writes.push(RegistryWrite::SetOrganizationIdentifier {
                        institution: name.to_string(),
                        value: Some(v.clone()),
                    }),
                    (Some((v, line)), Some(stored)) if v != stored => {
                        errors.push(ImportError::new(
                            *line,
                            Some(Column::OrganizationIdentifier),
                            format!(
                                "institution {name:?} is registered with organizationIdentifier {stored:?}, not {v:?}; to change it, use `mailra registry institution set --name {name:?} --org-id {v}`"
                            ),
                        ));
                    }
                    _ => {}
                }
                if p12.is_some() && p12 != i.p12_encryption {
                    writes.push(RegistryWrite::SetP12Encryption {
                        institution: name.to_string(),
                        value: p12,
                    });
                }
                if writes.len() == before {
                    report.institutions_unchanged += 1;
                } else {
                    report.institutions_updated += 1;
                }
            }
            None => {
                let missing = |col: Column| {
                    ImportError::new(
                        first,
                        Some(col),
                        format!("the new institution {name:?} needs its {}", col.label()),
                    )
                };
                if st.is_none() {
                    errors.push(missing(Column::St));
                }
                if l.is_none() {
                    errors.push(missing(Column::L));
                }
                if new_domains.is_empty() {
                    errors.push(missing(Column::Domains));
                }
                let (Some((st, _)), Some((l, _))) = (st, l) else {
                    continue;
                };
                for p in policy::check_institution_registration(name, &st, &l, &[]) {
                    errors.push(ImportError::new(first, None, p));
                }
                report.institutions_added += 1;
                writes.push(RegistryWrite::AddInstitution {
                    name: name.to_string(),
                    st,
                    l,
                    domains: new_domains,
                });
                if let Some((v, _)) = org_id {
                    writes.push(RegistryWrite::SetOrganizationIdentifier {
                        institution: name.to_string(),
                        value: Some(v),
                    });
                }
                if p12.is_some() {
                    writes.push(RegistryWrite::SetP12Encryption {
                        institution: name.to_string(),
                        value: p12,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The institution's organizationIdentifier over its rows, if given: one
/// value, valid for the registry (a corporate number's check digit too);
/// each wrong value is an error on its line.
fn organization_identifier(
    group: &[&Row],
    errors: &mut Vec<ImportError>,
) -> Option<(String, usize)> {
    let col = Column::OrganizationIdentifier;
    let mut valid = true;
    for r in group {
        if let Some(v) = &r.organization_identifier
            && let Err(why) = policy::orgid::check_registered(v)
        {
            errors.push(ImportError::new(r.line, Some(col), why));
            valid = false;
        }
    }
    let one = one_value(group, col, |r| r.organization_identifier.clone(), errors);
    one.filter(|_| valid)
}

fn officers(
    conn: &Connection,
    rows: &[Row],
    now: OffsetDateTime,
    writes: &mut Vec<RegistryWrite>,
    report: &mut ImportReport,
    errors: &mut Vec<ImportError>,
) -> Result<()> {
    // Mail → (institution, date, line), across the file.
    let mut seen: HashMap<&str, (&str, Option<Date>, usize)> = HashMap::new();
    for r in rows {
        let Some(email) = r.officer.as_deref() else {
            continue;
        };
        if !policy::is_mail_address(email) {
            errors.push(ImportError::new(
                r.line,
                Some(Column::Officer),
                format!("{email:?} is not a mail address"),
            ));
            continue;
        }
        if let Some((inst, date, line)) = seen.get(email) {
            if *inst != r.institution || *date != r.registered_on {
                errors.push(ImportError::new(
                    r.line,
                    Some(Column::Officer),
                    format!("officer {email} is already on line {line}, with other data"),
                ));
            }
            continue;
        }
        seen.insert(email, (&r.institution, r.registered_on, r.line));
        let at = registration_time(r.registered_on, now).unwrap_or_else(|e| {
            errors.push(ImportError::new(
                r.line,
                Some(Column::RegisteredOn),
                e.to_string(),
            ));
            now
        });
        match store::registry::officer_entry(conn, email)? {
            Some(o) if o.institution != r.institution => errors.push(ImportError::new(
                r.line,
                Some(Column::Officer),
                format!(
                    "officer {email} is registered to {:?}; remove them there first",
                    o.institution
                ),
            )),
            Some(o) => match r.registered_on {
                Some(d) if day(o.registered_at) != d.to_string() => {
                    report.officers_updated += 1;
                    writes.push(RegistryWrite::SetRegistered {
                        email: email.to_string(),
                        registered_at: at,
                    });
                }
                _ => report.officers_unchanged += 1,
            },
            None => {
                report.officers_added += 1;
                writes.push(RegistryWrite::AddOfficer {
                    email: email.to_string(),
                    institution: r.institution.clone(),
                    registered_at: at,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
