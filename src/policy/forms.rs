//! The form families' dispatcher: recognises which family a file's records
//! belong to and hands them to that family's validator (`policy::server`,
//! `policy::client`). What a check may consult ([`Context`]) and what it
//! returns ([`Checked`]) are the same for every family, and so is how a
//! check that could not be completed ends: a [`LookupError`] instead of a
//! verdict.

pub use super::check::{Checked, Context};
use crate::intake::application::{self, Records};
use crate::model::{FormFamily, LookupError, RowError, cell_name, sheet_ref};
use crate::policy::{client, server};

/// Recognises the family of a file's records and validates them by its rules.
/// `Err` when a certificate look-up failed: the file was not checked, and
/// nothing may be told to the officer about it.
///
/// The errors and warnings of a file read from a workbook's sheet carry the
/// sheet's name, so each reads as a cell (`Sheet1!G7`) or a row.
pub fn check(records: &Records, ctx: &Context) -> Result<Checked, LookupError> {
    let mut checked = match family(records) {
        Ok(FormFamily::Server) => server::check_records(records, ctx)?,
        Ok(FormFamily::Client) => client::check_records(records, ctx)?,
        // Never a family of records: the code-signing form is a workbook
        // read by its labels (`policy::codesign::check_codesign`).
        Ok(FormFamily::CodeSigning) => unreachable!("records are server or client rows"),
        Err(e) => Checked {
            errors: vec![e],
            ..Checked::default()
        },
    };
    if let Some(sheet) = records.sheet_name() {
        for e in checked.errors.iter_mut().chain(&mut checked.warnings) {
            e.sheet = Some(sheet.to_string());
        }
    }
    Ok(checked)
}

/// Reads the application file `name` and checks it: [`check`] on its records,
/// or the reason it has none as a whole-file error.
pub fn check_file(name: &str, bytes: &[u8], ctx: &Context) -> Result<Checked, LookupError> {
    match application::records(name, bytes) {
        Ok(records) => check(&records, ctx),
        Err(e) => Ok(Checked::unreadable(&e)),
    }
}

/// The family a file's records belong to, by the field count of its records
/// as written: 13 fields (a fully filled record, every tab written) is a
/// server form, 15 a client form. A sheet's header row, when it has one,
/// counts as such a record (its labels span the form's columns).
///
/// Officers' files are not always that tidy: a spreadsheet may drop the
/// trailing tabs of empty fields or add an empty column. Where the widest
/// record is not 13 or 15, the content decides, leniently, and only where no
/// ambiguity arises:
/// - data past field 15 fits no form: one whole-file error naming both counts;
/// - a first record with a download method (field 3, filled in every 5-4-1 and
///   5-4-2 row and empty in every server row) is a client form;
/// - data in field 14 or 15 with no CSR (field 7) in any record is a client
///   form (a server row has no field 14, and every server issue or renewal row
///   has a CSR);
/// - anything else stays a server form, as before the client forms existed.
///   A client revocation whose rows all lack their trailing tabs reads the
///   same as a server revocation (fields 1–10 are alike); it is then checked as
///   5-3-3, which refuses to revoke a client certificate and names form 5-4-3.
fn family(records: &Records) -> Result<FormFamily, RowError> {
    // A sheet's header row counts as a fully filled record.
    let mut widest = records.header_width().unwrap_or(0);
    let mut data = (0, 0); // (last field with data, its line)
    let mut method = false;
    let mut csr = false;
    for (i, (line, fields)) in records.as_read().enumerate() {
        widest = widest.max(fields.len());
        if let Some(last) = fields.iter().rposition(|f| !f.trim().is_empty())
            && last + 1 > data.0
        {
            data = (last + 1, line);
        }
        let filled = |n: usize| fields.get(n - 1).is_some_and(|f| !f.trim().is_empty());
        method |= i == 0 && filled(3);
        csr |= filled(7);
    }
    let (server, client) = (server::FIELDS, client::FIELDS);
    if data.0 > client {
        return Err(RowError {
            line: 0,
            field: None,
            field_name: "",
            rule: format!(
                "{}: application rows have {server} fields (server forms 5-3-1, 5-3-2, 5-3-3) or {client} fields (client forms 5-4-1, 5-4-2, 5-4-3)",
                match records.sheet_name() {
                    Some(sheet) => format!(
                        "{}!{} has data",
                        sheet_ref(sheet),
                        cell_name(
                            u32::try_from(data.1 - 1).unwrap_or(u32::MAX),
                            u32::try_from(data.0 - 1).unwrap_or(u32::MAX)
                        )
                    ),
                    None => format!("line {} has data in field {}", data.1, data.0),
                }
            ),
            ..Default::default()
        });
    }
    Ok(if widest == server {
        FormFamily::Server
    } else if widest == client || method || (data.0 > server && !csr) {
        FormFamily::Client
    } else {
        FormFamily::Server
    })
}

#[cfg(test)]
#[path = "forms_sheet_tests.rs"]
mod sheet_tests;
