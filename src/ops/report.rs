//! `mailra report` (issue 11): the certificates issued, renewed and
//! revoked in a date range as one workbook (`render::report`) — the
//! service's bulk download of certificate information for a period.
//!
//! Decisions: the range is JST calendar days, both ends included; a
//! certificate counts as issued or renewed on the day mailra signed it
//! (`issued_at`), and certificates imported with `registry import-cert`
//! are not issued here, so neither sheet lists them (their revocations are
//! on the revoked sheet: a revocation is made here whoever issued the
//! certificate). `--institution` is a registered name, exactly.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;
use time::Date;

use super::cert::institution_names;
use super::certsearch::jst_days;
use super::{OpsError, Result};
use crate::render::report::{self as sheets, IssuedLine, ReportData, RevokedLine, SummaryLine};
use crate::store::{self, CertFilter, CertRecord};

/// What to report on: JST calendar days `from..=to`, optionally one institution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub from: Date,
    pub to: Date,
    pub institution: Option<String>,
}

/// The workbook and its counts.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub issued: usize,
    pub renewed: usize,
    pub revoked: usize,
    /// A file name for it (`report-FROM-TO.xlsx`).
    pub file_name: String,
    #[serde(skip)]
    pub xlsx: Vec<u8>,
}

/// A summary line's key: institution, profile, kind.
type SummaryKey = (String, Option<u8>, &'static str);

fn issued_line(c: &CertRecord, institution: String) -> IssuedLine {
    IssuedLine {
        serial: c.serial.to_string(),
        serial_decimal: c.serial.to_decimal(),
        renewed_from: c.renewed_from.as_ref().map(|s| s.to_string()),
        institution,
        profile: c.profile.map(|p| p.id()),
        kind: c.kind.as_str(),
        subject: c.subject_dn.clone(),
        issued_at: c.issued_at,
        not_before: c.not_before,
        not_after: c.not_after,
        admin_mail: c.admin_mail.clone(),
        user_mail: c.user_mail.clone(),
        ca: c.ca.map(|k| k.as_str().to_string()).unwrap_or_default(),
    }
}

/// What the workbook will show, read from the store.
pub fn data(conn: &Connection, spec: &ReportSpec) -> Result<ReportData> {
    if spec.from > spec.to {
        return Err(OpsError::Invalid(format!(
            "--from {} is after --to {}",
            spec.from, spec.to
        )));
    }
    let institution_id = match &spec.institution {
        None => None,
        Some(name) => Some(
            store::institution_by_name(conn, name)?
                .ok_or_else(|| OpsError::NotFound(format!("no institution named {name:?}")))?
                .id,
        ),
    };
    let names = institution_names(conn)?;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
    let period = jst_days(Some(spec.from), Some(spec.to));
    let issued_in = |renewal| CertFilter {
        institution_id,
        issued: period,
        issued_here: true,
        renewal: Some(renewal),
        ..Default::default()
    };
    let issued: Vec<IssuedLine> = store::find_certificates(conn, &issued_in(false))?
        .iter()
        .map(|c| issued_line(c, name(c.institution_id)))
        .collect();
    let renewed: Vec<IssuedLine> = store::find_certificates(conn, &issued_in(true))?
        .iter()
        .map(|c| issued_line(c, name(c.institution_id)))
        .collect();
    let mut revoked = Vec::new();
    for r in store::revocations_in(conn, &period, institution_id)? {
        let c = store::certificate(conn, &r.serial)?.ok_or_else(|| {
            OpsError::NotFound(format!("revoked certificate {} not in the store", r.serial))
        })?;
        revoked.push(RevokedLine {
            serial: r.serial.to_string(),
            serial_decimal: r.serial.to_decimal(),
            revoked_at: r.revoked_at,
            reason_code: r.reason.code(),
            reason: r.reason.name(),
            institution: name(c.institution_id),
            profile: c.profile.map(|p| p.id()),
            kind: c.kind.as_str(),
            subject: c.subject_dn.clone(),
            comment: r.comment,
        });
    }
    let mut counts: BTreeMap<SummaryKey, (u64, u64, u64)> = BTreeMap::new();
    for l in &issued {
        counts
            .entry((l.institution.clone(), l.profile, l.kind))
            .or_default()
            .0 += 1;
    }
    for l in &renewed {
        counts
            .entry((l.institution.clone(), l.profile, l.kind))
            .or_default()
            .1 += 1;
    }
    for l in &revoked {
        counts
            .entry((l.institution.clone(), l.profile, l.kind))
            .or_default()
            .2 += 1;
    }
    let summary = counts
        .into_iter()
        .map(
            |((institution, profile, kind), (issued, renewed, revoked))| SummaryLine {
                institution,
                profile,
                kind,
                issued,
                renewed,
                revoked,
            },
        )
        .collect();
    Ok(ReportData {
        from: spec.from,
        to: spec.to,
        institution: spec.institution.clone(),
        issued,
        renewed,
        revoked,
        summary,
    })
}

/// Builds the report; `progress(done, total)` is called as rows are written.
pub fn build(
    conn: &Connection,
    spec: &ReportSpec,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report> {
    let d = data(conn, spec)?;
    let xlsx = sheets::workbook(&d, progress)?;
    Ok(Report {
        issued: d.issued.len(),
        renewed: d.renewed.len(),
        revoked: d.revoked.len(),
        file_name: format!("report-{}-{}.xlsx", spec.from, spec.to),
        xlsx,
    })
}
