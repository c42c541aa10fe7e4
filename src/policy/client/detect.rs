//! Form recognition: which client form a file is, from its records (TSV
//! files carry no header).

use super::fields::FIELDS;
use crate::intake::application::Record;
use crate::model::{FormKind, RowError};
use crate::policy::rows::{self, Forms};

fn classify(rec: &Record) -> Option<FormKind> {
    let request = !rec.fields[1].is_empty() || !rec.fields[2].is_empty();
    let serial = !rec.fields[3].is_empty();
    match (request, serial) {
        (true, false) => Some(FormKind::ClientIssue),
        (true, true) => Some(FormKind::ClientRenew),
        (false, true) => Some(FormKind::ClientRevoke),
        (false, false) => None,
    }
}

fn describe(kind: FormKind) -> &'static str {
    match kind {
        FormKind::ClientIssue => "a profile and no serial",
        FormKind::ClientRenew => "a profile and a serial",
        FormKind::ClientRevoke => "a serial and no profile",
        FormKind::ServerIssue
        | FormKind::ServerRenew
        | FormKind::ServerRevoke
        | FormKind::CodeSignRevoke => {
            unreachable!("client files are only classified as client forms")
        }
    }
}

/// Detects the form of a client file by content: a profile (field 2) or a
/// download method (field 3) without a serial (field 4) is 5-4-1, with a
/// serial 5-4-2; a serial without either is 5-4-3 (its reason, field 5, is
/// then required). One form per file, and the first row decides, as for the
/// server forms.
pub fn detect_kind(records: &[Record]) -> Result<FormKind, Vec<RowError>> {
    match detect(records) {
        (Some(kind), errors, _) if errors.is_empty() => Ok(kind),
        (_, errors, _) => Err(errors),
    }
}

pub(super) fn detect(records: &[Record]) -> (Option<FormKind>, Vec<RowError>, Vec<bool>) {
    rows::detect(
        records,
        &Forms {
            fields: FIELDS,
            classify,
            describe,
            unknown: "cannot tell which form this row is: it has neither a profile (field 2) nor a serial (field 4)",
        },
    )
}
