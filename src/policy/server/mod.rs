//! Validation of the server-certificate forms 5-3-1 (issue), 5-3-2 (renew) and
//! 5-3-3 (revoke): every rule of SPEC §4, turned into typed [`ServerRequest`]s.
//!
//! Decisions only: the registry and the certificate store come in through [`Context`];
//! a check whose data is absent is skipped, which is how `mailra check FILE.tsv` works
//! offline for officers. A file with any invalid row is not executed at all, so every
//! error of every row is collected instead of stopping at the first.
//!
//! By concern: `fields` names the fields and their limits, `detect` recognises the
//! form, `csr` decodes and checks field 7, `rows` checks each row of each form; this
//! module puts a file together and re-checks an issue row before the CA signs it.

mod csr;
mod detect;
mod fields;
mod rows;
#[cfg(test)]
mod tests;

pub use csr::{CheckedCsr, CsrError, DecodedCsr, check_csr, decode_csr, decode_csr_field};
pub use detect::detect_kind;
pub use fields::{
    CELL_RULES, FIELDS, MAX_COMMENT_LEN, MAX_CSR_LEN, MAX_DNS_FIELD_LEN, MAX_DNS_NAMES,
    MAX_MAIL_LEN, MAX_NAME_LEN, MAX_RECORDS, MAX_SERIAL_LEN, MAX_SOFTWARE_LEN, check_mail,
    parse_serial,
};

use crate::intake::application::Records;
use crate::intake::record::Record;
use crate::model::{
    Dn, FormFamily, FormKind, Institution, IssueRow, LookupError, Profile, Request, RowError,
    ServerRequest,
};
use crate::policy::check::{Checked, Context};
use crate::policy::dn;
use crate::policy::keyreuse;
use crate::policy::rows::{RowCheck, duplicate_serials};
use fields::{err, field_name};

/// Fits a file's records to the server forms, detects the form and validates
/// every row. `Err` when a certificate look-up failed (see `policy::forms::check`).
pub fn check_records(records: &Records, ctx: &Context) -> Result<Checked, LookupError> {
    let file = match records.fit(FIELDS, MAX_RECORDS, &fields::CELL_RULES) {
        Ok(f) => f,
        Err(errors) => {
            return Ok(Checked {
                errors: errors
                    .into_iter()
                    .map(|mut e| {
                        if let Some(n) = e.field {
                            e.field_name = field_name(None, n);
                        }
                        e
                    })
                    .collect(),
                ..Checked::default()
            });
        }
    };
    let (kind, mut errors, fits) = detect::detect(&file.records);
    let mut rows = Vec::new();
    if let Some(kind) = kind {
        if matches!(kind, FormKind::ServerIssue | FormKind::ServerRenew) {
            csr::check_all(&csrs_to_check(&file.records, &fits));
        }
        for (rec, _) in file.records.iter().zip(&fits).filter(|(_, f)| **f) {
            let mut row = RowCheck::new(rec, kind, field_name);
            let req = match kind {
                FormKind::ServerIssue => row.issue(ctx)?.map(ServerRequest::Issue),
                FormKind::ServerRenew => row.renew(ctx)?.map(ServerRequest::Renew),
                FormKind::ServerRevoke => row.revoke(ctx)?.map(ServerRequest::Revoke),
                FormKind::ClientIssue
                | FormKind::ClientRenew
                | FormKind::ClientRevoke
                | FormKind::CodeSignRevoke => {
                    unreachable!("server files are only classified as server forms")
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
        errors.extend(
            keyreuse::repeated_in_file(&rows, Dn::same_as)
                .into_iter()
                .map(|(line, e)| err(line, Some(kind), 7, CsrError::Reused(e).to_string())),
        );
    }
    errors.sort_by_key(|e| (e.line, e.field.unwrap_or(0)));
    Ok(Checked {
        kind,
        rows: rows.into_iter().map(Request::Server).collect(),
        errors,
        warnings: file.warnings,
    })
}

/// A mail's application file as the checks across files see it.
#[derive(Debug, Clone, Copy)]
pub struct FileRows<'a> {
    pub name: &'a str,
    /// The sheet its rows were read from (a workbook), for the cell names.
    pub sheet: Option<&'a str>,
    pub rows: &'a [Request],
}

/// The rows of a mail's files whose CSR (field 7) carries the key of a row
/// of an earlier file for another subject, as (file index, error on the
/// later row). A key repeated within one file is [`check_records`]' error.
pub fn keys_repeated_across_files(files: &[FileRows]) -> Vec<(usize, RowError)> {
    let server_rows: Vec<Vec<&ServerRequest>> = files
        .iter()
        .map(|f| {
            f.rows
                .iter()
                .filter_map(|r| match r {
                    Request::Server(s) => Some(s),
                    _ => None,
                })
                .collect()
        })
        .collect();
    // One file (the usual mail): nothing to compare, no CSR to read again.
    if server_rows.iter().filter(|rows| !rows.is_empty()).count() < 2 {
        return Vec::new();
    }
    keyreuse::repeated_across_files(&server_rows, Dn::same_as)
        .into_iter()
        .map(|r| {
            let first = &files[r.first_file];
            let place = match first.sheet {
                // Field 7 is column G.
                Some(sheet) => format!("{}!G{}", crate::model::sheet_ref(sheet), r.first_line),
                None => format!("line {}", r.first_line),
            };
            let rule = CsrError::Reused(keyreuse::KeyReuse::OtherFile {
                file: first.name.to_string(),
                place,
            });
            let mut e = err(r.line, None, 7, rule.to_string());
            e.sheet = files[r.file].sheet.map(str::to_owned);
            (r.file, e)
        })
        .collect()
}

/// The CSRs (field 7) of the issue and renewal rows that fit the form, each
/// with the profile its row asks (field 2), as far as both can be read; the
/// row checks report whatever cannot.
fn csrs_to_check(records: &[Record], fits: &[bool]) -> Vec<(Vec<u8>, Profile)> {
    records
        .iter()
        .zip(fits)
        .filter(|(_, f)| **f)
        .filter_map(|(rec, _)| {
            let profile = rec
                .fields
                .get(1)?
                .parse::<u8>()
                .ok()
                .and_then(Profile::from_id)?;
            let der = decode_csr_field(rec.fields.get(6)?).ok()?;
            (profile.family() == FormFamily::Server).then_some((der, profile))
        })
        .collect()
}

/// Re-checks a validated issue row against the institution before signing: the DN rules,
/// the dNSNames, and the CSR (key, signature, subject). The CA calls this so that a row
/// validated earlier (or built elsewhere) is never signed unchecked. Returns the
/// checked CSR so the CA signs the very key it checked, without decoding it again.
pub fn precheck_issue(row: &IssueRow, inst: &Institution) -> Result<CheckedCsr, Vec<RowError>> {
    let k = Some(FormKind::ServerIssue);
    let line = row.line;
    let mut errors: Vec<RowError> = dn::check_server(&row.dn)
        .into_iter()
        .chain(dn::check_institution(
            &row.dn,
            &inst.name,
            &inst.st,
            &inst.l,
            &inst.domains,
        ))
        .map(|e| err(line, k, 1, e.to_string()))
        .collect();
    if !row
        .dn
        .cn()
        .is_some_and(|cn| cn.eq_ignore_ascii_case(&row.fqdn))
    {
        errors.push(err(line, k, 11, "must equal the CN of field 1"));
    }
    if row.dns_names.first().map(String::as_str) != row.dn.cn() {
        errors.push(err(line, k, 13, "must start with the CN of field 1"));
    }
    for name in &row.dns_names {
        if let Err(e) = dn::check_fqdn(name, MAX_DNS_FIELD_LEN) {
            errors.push(err(line, k, 13, format!("dNSName {name} {e}")));
        } else if !dn::in_domains(name, &inst.domains) {
            errors.push(err(
                line,
                k,
                13,
                format!(
                    "dNSName {name} is not inside the institution's domains ({})",
                    inst.domains.join(", ")
                ),
            ));
        }
    }
    let csr = match check_csr(&row.csr_der, row.profile) {
        Ok(csr) => {
            if let Err(e) = dn::check_csr_subject(&row.dn, &csr.subject) {
                errors.push(err(line, k, 1, e.to_string()));
            }
            Some(csr)
        }
        Err(es) => {
            errors.extend(es.into_iter().map(|e| err(line, k, 7, e.to_string())));
            None
        }
    };
    match csr {
        Some(csr) if errors.is_empty() => Ok(csr),
        _ => Err(errors),
    }
}
