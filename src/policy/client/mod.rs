//! Validation of the client-certificate forms 5-4-1 (issue), 5-4-2 (renew)
//! and 5-4-3 (revoke): every rule of SPEC §4, turned into typed
//! [`ClientRequest`]s. The CA generates the keys of these certificates, so
//! the rows carry no CSR; they say whose certificate it is (DN, user mail),
//! which profile (client 5, 13, 14; S/MIME 7, 15, 16) and how the PKCS#12
//! reaches its holder (download method, P12 file name, access PIN).
//!
//! Decisions only, like `policy::server`: the registry and the certificate
//! store come in through [`Context`], a check whose data is absent is
//! skipped, and every error of every row is collected.
//!
//! Decisions this module makes where the seeds leave room:
//! - **Download method 3** (ブラウザ個別, browser enrolment) is refused with a
//!   row error on field 3: a mail-only robot has no browser side to enrol
//!   from; the officer is told to use 1 (one PKCS#12 per row) or 2 (bundle).
//! - **Record limit**: 99 rows per file; 1000 when the file's download
//!   method (its first row's field 3) is 2, for issuance and renewal alike
//!   (a renewal issues PKCS#12s just as issuance does). The whole-file error
//!   says which limit applied.
//! - **P12 file name** (field 12) defaults to the CN, with `/` and `:`
//!   replaced by `_`; it is required for profile 7 unless the method is 2
//!   (the seeds say "profiles 6 and 7"; there is no profile 6 here).
//! - **S/MIME** (7, 15, 16): the CN must equal the user mail exactly (the
//!   local part of an address is case-sensitive); a difference in case only
//!   is reported as such. The access PIN must be empty.
//! - **S/MIME needs an organizationIdentifier**: the S/MIME BRs make these
//!   certificates organization-validated, so a row of profile 7, 15 or 16
//!   for an institution without a registered organizationIdentifier is a
//!   field-2 error telling the officer to ask the secretariat to register
//!   the corporate number (`mailra registry institution set --org-id`).
//! - **Duplicates in one file**: the same DN twice (OU counts: two people of
//!   the same name differ by their OU, as the seeds intend), the same user
//!   mail twice, or the same P12 file name twice (case-insensitively: two
//!   files of one name in a bundle would overwrite each other) are refused.
//! - Renewal and revocation name a certificate of this institution, of a
//!   client profile, not revoked, with the row's DN (OU included).
//!
//! By concern: `fields` names the fields and their limits, `detect` recognises
//! the form, `rows` checks each row of each form and the rows of a file
//! together; this module puts a file together and re-checks an issue row
//! before the CA signs it.

mod detect;
mod fields;
mod rows;
#[cfg(test)]
mod tests;

pub use detect::detect_kind;
pub use fields::{
    CELL_RULES, FIELDS, MAX_COMMENT_LEN, MAX_NAME_LEN, MAX_P12_NAME_LEN, MAX_PIN_LEN, MAX_RECORDS,
    MAX_RECORDS_BUNDLE, MAX_SERIAL_LEN, MIN_PIN_LEN, P12_NAME_SYMBOLS, PIN_SYMBOLS, check_p12_name,
    check_pin, default_p12_name,
};

use crate::intake::application::Records;
use crate::model::{
    ClientIssueRow, ClientRequest, DownloadMethod, FormFamily, FormKind, Institution, LookupError,
    Request, RowError,
};
use crate::policy::check::{Checked, Context};
use crate::policy::dn;
use crate::policy::rows::{RowCheck, duplicate_serials, field_error};
use fields::field_name;

/// The whole-file error of a file with too many records, naming the limit
/// that applied; `None` within it.
fn too_many(records: &Records) -> Option<RowError> {
    let found = records.as_read().count();
    let bundle = records
        .as_read()
        .next()
        .is_some_and(|(_, f)| f.get(2).is_some_and(|m| m.trim() == "2"));
    let rule = if bundle && found > MAX_RECORDS_BUNDLE {
        format!(
            "the file has {found} records; at most {MAX_RECORDS_BUNDLE} are allowed per file with download method 2 (P12一括)"
        )
    } else if !bundle && found > MAX_RECORDS {
        format!(
            "the file has {found} records; at most {MAX_RECORDS} are allowed per file ({MAX_RECORDS_BUNDLE} only for issuance or renewal with download method 2, P12一括)"
        )
    } else {
        return None;
    };
    Some(RowError {
        line: 0,
        field: None,
        field_name: "",
        rule,
        ..Default::default()
    })
}

/// Fits a file's records to the client forms, detects the form and validates
/// every row. `Err` when a certificate look-up failed (see `policy::forms::check`).
pub fn check_records(records: &Records, ctx: &Context) -> Result<Checked, LookupError> {
    let limit = too_many(records);
    let file = match records.fit(FIELDS, usize::MAX, &fields::CELL_RULES) {
        Ok(f) if limit.is_none() => f,
        fitted => {
            let more = fitted.err().unwrap_or_default();
            return Ok(Checked {
                errors: limit
                    .into_iter()
                    .chain(more.into_iter().map(|mut e| {
                        if let Some(n) = e.field {
                            e.field_name = field_name(None, n);
                        }
                        e
                    }))
                    .collect(),
                ..Checked::default()
            });
        }
    };
    let (kind, mut errors, fits) = detect::detect(&file.records);
    let mut rows = Vec::new();
    if let Some(kind) = kind {
        let fitting = || file.records.iter().zip(&fits).filter(|(_, f)| **f);
        let method: rows::FileMethod = fitting().next().and_then(|(rec, _)| {
            let m = rec.fields[2].parse::<u8>().ok()?;
            Some((DownloadMethod::from_code(m)?, rec.line))
        });
        for (rec, _) in fitting() {
            let mut row = RowCheck::new(rec, kind, field_name);
            let req = match kind {
                FormKind::ClientIssue => {
                    rows::issue(&mut row, ctx, method).map(ClientRequest::Issue)
                }
                FormKind::ClientRenew => {
                    rows::renew(&mut row, ctx, method)?.map(ClientRequest::Renew)
                }
                FormKind::ClientRevoke => rows::revoke(&mut row, ctx)?.map(ClientRequest::Revoke),
                FormKind::ServerIssue
                | FormKind::ServerRenew
                | FormKind::ServerRevoke
                | FormKind::CodeSignRevoke => {
                    unreachable!("client files are only classified as client forms")
                }
            };
            errors.append(&mut row.errors);
            rows.extend(req);
        }
        errors.extend(duplicate_serials(
            &file.records,
            &fits,
            kind,
            field_name,
            MAX_SERIAL_LEN,
        ));
        let issued: Vec<&ClientIssueRow> = rows
            .iter()
            .filter_map(|r| match r {
                ClientRequest::Issue(r) => Some(r),
                ClientRequest::Renew(r) => Some(&r.request),
                ClientRequest::Revoke(_) => None,
            })
            .collect();
        errors.extend(rows::duplicates(&issued, kind));
    }
    errors.sort_by_key(|e| (e.line, e.field.unwrap_or(0)));
    Ok(Checked {
        kind,
        rows: rows.into_iter().map(Request::Client).collect(),
        errors,
        warnings: file.warnings,
    })
}

/// Re-checks a validated issue row against the institution right before the
/// CA generates its key and signs: the client DN rules, the institution's O,
/// ST and L, a client profile, a download method the robot delivers, and for
/// S/MIME the CN equal to the user mail, no officer-chosen PIN and an
/// organizationIdentifier registered for the institution. The CA
/// calls this so that a row validated earlier (or built elsewhere, such as
/// from a renewal digest) is never signed unchecked.
pub fn precheck_issue(row: &ClientIssueRow, inst: &Institution) -> Result<(), Vec<RowError>> {
    let k = Some(FormKind::ClientIssue);
    let line = row.line;
    let e = |n: usize, rule: String| field_error(field_name, line, k, n, rule);
    let mut errors: Vec<RowError> = dn::check_client(&row.dn)
        .into_iter()
        .chain(dn::check_registered(&row.dn, &inst.name, &inst.st, &inst.l))
        .map(|x| e(1, x.to_string()))
        .collect();
    if row.profile.family() != FormFamily::Client {
        errors.push(e(
            2,
            format!(
                "profile {} is not a client certificate profile (5, 7, 13, 14, 15 or 16)",
                row.profile.id()
            ),
        ));
    }
    if row.method == DownloadMethod::Browser {
        errors.push(e(3, rows::BROWSER_REFUSED.to_string()));
    }
    if row.profile.is_smime() {
        if inst.organization_identifier.is_none() {
            errors.push(e(
                2,
                rows::no_organization_identifier(row.profile, &inst.name),
            ));
        }
        match (&row.user_mail, row.dn.cn()) {
            (None, _) => errors.push(e(14, "is required for an S/MIME profile".into())),
            (Some(mail), Some(cn)) => {
                if let Err(x) = rows::smime_cn(cn, mail, row.profile) {
                    errors.push(e(1, x));
                }
            }
            (Some(_), None) => {} // reported by the DN rules (CN= is missing)
        }
        if row.pin.is_some() {
            errors.push(e(
                15,
                "must be empty for the S/MIME profiles 7, 15 and 16: their access PIN is always generated".into(),
            ));
        }
    }
    if let Some(pin) = &row.pin {
        if row.method != DownloadMethod::P12Bundle {
            errors.push(e(
                15,
                "is only allowed with download method 2 (P12一括)".into(),
            ));
        }
        if let Err(x) = check_pin(pin) {
            errors.push(e(15, x));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
